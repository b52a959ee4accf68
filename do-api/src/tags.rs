//! Tags (`resources/tags/` in the official spec): create, get, list, delete, and tagging or
//! untagging resources. Model: `resources/tags/models/tags.yml`.
//!
//! Tag names are checked with [`validate_name`] before anything is sent (they also appear in
//! URL paths). Tag names are "case stable": use the capitalization the tag was created with.
//!
//! Retries: every tag call is sent as repeatable (`Repeat::Safe`: retried after 5xx and
//! timeouts, see [`crate::RetryPolicy`]), POSTs included, because none can duplicate work:
//! creating an existing tag returns that tag, tagging a resource that already carries the tag
//! changes nothing, and deleting or untagging twice leaves the same state (a repeated delete may
//! answer 404, which is reported as such).

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{Client, Repeat, Request};
use crate::droplets::Droplet;
use crate::error::{Error, Result, none_if_not_found};
use crate::ids::DropletId;
use crate::pagination::Page;
use crate::validate;

crate::string_enum! {
    /// The kind of resource a tag is applied to (`resources/tags/models/tags_resource.yml`,
    /// `resource_type`; the operation descriptions add `database`).
    pub enum ResourceType {
        /// A droplet.
        Droplet => "droplet",
        /// A managed database cluster.
        Database => "database",
        /// An image.
        Image => "image",
        /// A block storage volume.
        Volume => "volume",
        /// A volume snapshot.
        VolumeSnapshot => "volume_snapshot",
    }
}

/// One resource to tag or untag (an item of `resources` in
/// `resources/tags/models/tags_resource.yml`). The id is a string on the wire, even for
/// droplets (`"resource_id": "9569411"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TagResource {
    /// The resource's id, as a string.
    pub resource_id: String,
    /// The resource's kind.
    pub resource_type: ResourceType,
}

impl TagResource {
    /// Any resource, by id and kind.
    pub fn new(resource_id: impl Into<String>, resource_type: ResourceType) -> Self {
        TagResource {
            resource_id: resource_id.into(),
            resource_type,
        }
    }

    /// A droplet.
    pub fn droplet(id: DropletId) -> Self {
        TagResource::new(id.to_string(), ResourceType::Droplet)
    }
}

/// Statistics about the resources of one kind carrying a tag
/// (`resources/tags/models/tags_metadata.yml`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaggedResources {
    /// How many resources of this kind carry the tag.
    #[serde(default)]
    pub count: u64,
    /// API URI of the last resource tagged.
    #[serde(default)]
    pub last_tagged_uri: Option<String>,
    /// The last resource tagged, when the API embeds it (it does for droplets). Kept as raw
    /// JSON so that a partial object never breaks decoding; see
    /// [`TaggedResources::last_tagged_droplet`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_tagged: Option<serde_json::Value>,
}

impl TaggedResources {
    /// `last_tagged` decoded as a droplet, when it is one.
    pub fn last_tagged_droplet(&self) -> Option<Droplet> {
        self.last_tagged
            .as_ref()
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }
}

/// The `resources` summary embedded in a tag (`resources/tags/models/tags.yml`): totals and
/// per-kind statistics. Only resources the token may read are counted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TagResources {
    /// Resources of every kind carrying the tag.
    #[serde(default)]
    pub count: u64,
    /// API URI of the last resource tagged.
    #[serde(default)]
    pub last_tagged_uri: Option<String>,
    /// Droplets (needs `droplet:read`).
    #[serde(default)]
    pub droplets: Option<TaggedResources>,
    /// Images (needs `image:read`).
    #[serde(default)]
    pub images: Option<TaggedResources>,
    /// Volumes (needs `block_storage:read`).
    #[serde(default)]
    pub volumes: Option<TaggedResources>,
    /// Volume snapshots (needs `block_storage_snapshot:read`).
    #[serde(default)]
    pub volume_snapshots: Option<TaggedResources>,
    /// Databases (needs `database:read`).
    #[serde(default)]
    pub databases: Option<TaggedResources>,
}

/// A tag (`resources/tags/models/tags.yml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tag {
    /// The tag's name, in its canonical capitalization.
    pub name: String,
    /// What carries the tag.
    #[serde(default)]
    pub resources: TagResources,
}

impl Tag {
    /// How many droplets carry the tag (0 when the API did not say).
    pub fn droplet_count(&self) -> u64 {
        self.resources.droplets.as_ref().map_or(0, |d| d.count)
    }
}

/// Check a tag name the way every tag call here does before sending: 1 to 255 of letters,
/// digits, `_`, `-` and `:` (`resources/tags/models/tags.yml`, pattern `^[a-zA-Z0-9_\-\:]+$`,
/// maxLength 255). For callers that build tag names themselves and want to refuse a bad one
/// early; the error is [`Error::InvalidInput`] naming what is wrong.
///
/// ```
/// assert!(do_api::tags::validate_name("zdd-lock:ip-203-0-113-7").is_ok());
/// assert!(do_api::tags::validate_name("203.0.113.7").is_err());
/// ```
pub fn validate_name(name: &str) -> Result<()> {
    validate::tag_name(name).map(drop)
}

#[derive(Serialize)]
struct CreateBody<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct ResourcesBody<'a> {
    resources: &'a [TagResource],
}

/// Handler for `/v2/tags`. Get one with [`Client::tags`].
#[derive(Debug, Clone, Copy)]
pub struct Tags<'c> {
    client: &'c Client,
}

impl Client {
    /// Tags: create, get, list, delete, tag and untag resources.
    pub fn tags(&self) -> Tags<'_> {
        Tags { client: self }
    }
}

impl Tags<'_> {
    /// `POST /v2/tags` (`resources/tags/tags_create.yml`). Creating a tag that already exists
    /// returns the existing tag, so this is idempotent and retried like a GET; use it as
    /// "ensure the tag exists". A name DigitalOcean refuses answers 400 with
    /// `{error, messages, root_causes}`, reported as [`Error::Api`] with every part.
    pub async fn create(&self, name: &str) -> Result<Tag> {
        validate::tag_name(name)?;
        let req = Request::new(Method::POST, &["v2", "tags"])
            .json(&CreateBody { name })?
            .repeat(Repeat::Safe);
        self.client.keyed(req, "tag").await
    }

    /// `GET /v2/tags/{tag_id}` (`resources/tags/tags_get.yml`). 404 when no such tag.
    pub async fn get(&self, name: &str) -> Result<Tag> {
        validate::tag_name(name)?;
        let req = Request::new(Method::GET, &["v2", "tags", name]);
        let value: serde_json::Value = self.client.keyed(req.clone(), "tag").await?;
        // The spec's example (`resources/tags/responses/tags_existing.yml`) nests the tag twice
        // (`{"tag": {"tag": {...}}}`); accept that shape too, since a tag never has a `tag` field.
        let value = match value {
            serde_json::Value::Object(mut map)
                if !map.contains_key("name") && map.get("tag").is_some_and(|t| t.is_object()) =>
            {
                map.remove("tag").unwrap_or_default()
            }
            other => other,
        };
        serde_json::from_value(value).map_err(|e| Error::Decode {
            method: req.method.to_string(),
            path: req.path(),
            detail: format!("`tag`: {e}"),
        })
    }

    /// Like [`Self::get`], with `Ok(None)` when DigitalOcean answers 404 (no such tag); every
    /// other error is still an error, and a bad name is refused as in `get`.
    pub async fn get_opt(&self, name: &str) -> Result<Option<Tag>> {
        none_if_not_found(self.get(name).await)
    }

    /// One page of `GET /v2/tags` (`resources/tags/tags_list.yml`).
    pub async fn list_page(&self, page: u32) -> Result<Page<Tag>> {
        self.client
            .page(&Request::new(Method::GET, &["v2", "tags"]), "tags", page)
            .await
    }

    /// Every page of `GET /v2/tags`.
    pub async fn list(&self) -> Result<Vec<Tag>> {
        self.client
            .all(&Request::new(Method::GET, &["v2", "tags"]), "tags")
            .await
    }

    /// `DELETE /v2/tags/{tag_id}` (`resources/tags/tags_delete.yml`): deletes the tag and
    /// untags everything that carried it. 404 when no such tag.
    pub async fn delete(&self, name: &str) -> Result<()> {
        validate::tag_name(name)?;
        self.client
            .empty(Request::new(Method::DELETE, &["v2", "tags", name]))
            .await
            .map(drop)
    }

    /// `POST /v2/tags/{tag_id}/resources` (`resources/tags/tags_assign_resources.yml`): apply
    /// an existing tag to resources. Repeatable: tagging twice is harmless.
    pub async fn tag_resources(&self, name: &str, resources: &[TagResource]) -> Result<()> {
        let req = resources_request(Method::POST, name, resources, "tag")?;
        self.client.empty(req).await.map(drop)
    }

    /// `DELETE /v2/tags/{tag_id}/resources` with a JSON body
    /// (`resources/tags/tags_unassign_resources.yml`): remove the tag from resources.
    pub async fn untag_resources(&self, name: &str, resources: &[TagResource]) -> Result<()> {
        let req = resources_request(Method::DELETE, name, resources, "untag")?;
        self.client.empty(req).await.map(drop)
    }

    /// [`Self::tag_resources`] for droplets.
    pub async fn tag_droplets(&self, name: &str, droplets: &[DropletId]) -> Result<()> {
        let resources: Vec<TagResource> =
            droplets.iter().copied().map(TagResource::droplet).collect();
        self.tag_resources(name, &resources).await
    }

    /// [`Self::untag_resources`] for droplets.
    pub async fn untag_droplets(&self, name: &str, droplets: &[DropletId]) -> Result<()> {
        let resources: Vec<TagResource> =
            droplets.iter().copied().map(TagResource::droplet).collect();
        self.untag_resources(name, &resources).await
    }
}

/// The request for tagging (`POST`) or untagging (`DELETE`), after checking the input. Both are
/// repeatable: the result is the same however many times they are applied.
fn resources_request(
    method: Method,
    name: &str,
    resources: &[TagResource],
    verb: &str,
) -> Result<Request> {
    validate::tag_name(name)?;
    if resources.is_empty() {
        return Err(Error::InvalidInput(format!(
            "no resources to {verb} with `{name}`; give at least one"
        )));
    }
    if let Some(r) = resources.iter().find(|r| r.resource_id.trim().is_empty()) {
        return Err(Error::InvalidInput(format!(
            "a {} to {verb} with `{name}` has an empty resource id",
            r.resource_type
        )));
    }
    Ok(Request::new(method, &["v2", "tags", name, "resources"])
        .json(&ResourcesBody { resources })?
        .repeat(Repeat::Safe))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn droplet_ids_are_strings_on_the_wire() {
        let v = serde_json::to_value(TagResource::droplet(DropletId(9569411))).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"resource_id": "9569411", "resource_type": "droplet"})
        );
    }

    #[test]
    fn unknown_resource_type_round_trips() {
        let r: TagResource =
            serde_json::from_str(r#"{"resource_id":"x","resource_type":"bucket"}"#).unwrap();
        assert_eq!(r.resource_type, ResourceType::Unknown("bucket".into()));
        assert_eq!(serde_json::to_value(&r).unwrap()["resource_type"], "bucket");
    }
}
