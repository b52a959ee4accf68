//! Images (`resources/images/` in the official spec): what a droplet is created from, a public
//! distribution image, a snapshot of a droplet, a backup or a custom image. Only reading one is
//! covered: enough to check, before anything is created, that the image a deploy names exists,
//! is available, and fits the size. Model: `resources/images/models/image.yml`.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{Client, Request};
use crate::droplets::ImageRef;
use crate::error::{Result, none_if_not_found};
use crate::ids::ImageId;

crate::string_enum! {
    /// What kind of image (`type`).
    pub enum ImageType {
        /// A public distribution or application image.
        Base => "base",
        /// A snapshot of a droplet.
        Snapshot => "snapshot",
        /// An automatic backup of a droplet.
        Backup => "backup",
        /// An image uploaded by the user.
        Custom => "custom",
        /// Internal to DigitalOcean.
        Admin => "admin",
    }
}

crate::string_enum! {
    /// Whether the image can be used (`status`).
    pub enum ImageStatus {
        /// Just created, not usable yet.
        New => "NEW",
        /// Ready to create droplets from.
        Available => "available",
        /// Being processed.
        Pending => "pending",
        /// Deleted.
        Deleted => "deleted",
        /// No longer offered.
        Retired => "retired",
    }
}

/// An image (`image`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Image {
    /// Its id.
    pub id: ImageId,
    /// Its name (a snapshot's is the name given when it was taken).
    #[serde(default)]
    pub name: String,
    /// What kind of image.
    #[serde(rename = "type", default)]
    pub kind: Option<ImageType>,
    /// The distribution it is based on.
    #[serde(default)]
    pub distribution: Option<String>,
    /// A public image's slug (private images have none).
    #[serde(default)]
    pub slug: Option<String>,
    /// Whether everyone can use it.
    #[serde(default)]
    pub public: bool,
    /// The regions it is available in.
    #[serde(default)]
    pub regions: Vec<String>,
    /// When it was created (ISO 8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// The smallest disk, in GB, a droplet created from it needs.
    #[serde(default)]
    pub min_disk_size: Option<u64>,
    /// Its size in GB.
    #[serde(default)]
    pub size_gigabytes: Option<f64>,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
    /// Its tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Whether it can be used.
    #[serde(default)]
    pub status: Option<ImageStatus>,
    /// Why an import failed, when it did.
    #[serde(default)]
    pub error_message: Option<String>,
}

impl Image {
    /// Whether droplets can be created from it now (`status` is `available`; an image that
    /// says nothing is taken as available, as older answers did not send `status`).
    pub fn is_available(&self) -> bool {
        matches!(self.status, None | Some(ImageStatus::Available))
    }
}

/// Images ([`Client::images`]).
#[derive(Debug, Clone, Copy)]
pub struct Images<'a> {
    client: &'a Client,
}

impl Client {
    /// Images: get one by id or slug.
    pub fn images(&self) -> Images<'_> {
        Images { client: self }
    }
}

impl Images<'_> {
    /// `GET /v2/images/{image_id}`, by id or, for a public image, by slug.
    pub async fn get(&self, image: impl Into<ImageRef>) -> Result<Image> {
        let key = match image.into() {
            ImageRef::Id(id) => id.to_string(),
            ImageRef::Slug(slug) => crate::validate::non_empty("image slug", &slug)?.to_owned(),
        };
        self.client
            .keyed(Request::new(Method::GET, &["v2", "images", &key]), "image")
            .await
    }

    /// [`Images::get`], with `None` for an image that does not exist (404).
    pub async fn get_opt(&self, image: impl Into<ImageRef>) -> Result<Option<Image>> {
        none_if_not_found(self.get(image).await)
    }
}
