//! Images and sizes: what a droplet is created from, and what it costs.
//!
//! The account has DigitalOcean's public base images (a few distribution slugs) and the private
//! snapshots [`crate::SimConfig::images`] lists (or `POST /_sim/images` adds), each naming the
//! release baked into it. A droplet created from a snapshot runs that release once it boots; one
//! created from a base image runs [`crate::SimConfig::new_droplet_version`] (what its user data
//! or a deploy hook would install). Creating from an image or size the account does not have is
//! refused as DigitalOcean refuses it.

use serde_json::{Value, json};

use crate::config::Flaw;

/// An image the simulated account can create droplets from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ImageRec {
    pub id: u64,
    pub name: String,
    /// Public base images have a slug; snapshots do not.
    pub slug: Option<String>,
    pub distribution: &'static str,
    /// The release a droplet created from it runs (`None`: the simulator's default version).
    pub version: Option<String>,
    /// A droplet created from it never passes a health check (a broken release).
    pub never_healthy: bool,
    /// A droplet created from it passes its health check but fails its users (none for
    /// public images).
    pub flaw: Flaw,
    pub created_at: String,
}

impl ImageRec {
    fn public(&self) -> bool {
        self.slug.is_some()
    }
}

/// DigitalOcean's public images the simulator offers: (id, slug, name, distribution).
const BASE_IMAGES: [(u64, &str, &str, &str); 3] = [
    (129_211_873, "ubuntu-22-04-x64", "22.04 (LTS) x64", "Ubuntu"),
    (160_102_001, "ubuntu-24-04-x64", "24.04 (LTS) x64", "Ubuntu"),
    (160_102_002, "debian-12-x64", "12 x64", "Debian"),
];

/// The first id given to a snapshot.
pub(crate) const FIRST_SNAPSHOT_ID: u64 = 170_000_001;

/// The public base images.
pub(crate) fn base_images() -> Vec<ImageRec> {
    BASE_IMAGES
        .iter()
        .map(|(id, slug, name, distribution)| ImageRec {
            id: *id,
            name: (*name).to_owned(),
            slug: Some((*slug).to_owned()),
            distribution,
            version: None,
            never_healthy: false,
            flaw: Flaw::none(),
            created_at: "2024-04-25T14:05:43Z".to_owned(),
        })
        .collect()
}

/// A snapshot with `version` baked in, broken or flawed as given.
pub(crate) fn snapshot(
    id: u64,
    name: &str,
    version: &str,
    never_healthy: bool,
    flaw: Flaw,
) -> ImageRec {
    ImageRec {
        id,
        name: name.to_owned(),
        slug: None,
        distribution: "Ubuntu",
        version: Some(version.to_owned()),
        never_healthy,
        flaw,
        created_at: crate::util::now_iso(),
    }
}

/// The image a create body's `image` names: an id (a number, or a string of digits) or a
/// public image's slug. `None` when the account has no such image.
pub(crate) fn resolve<'a>(images: &'a [ImageRec], image: &Value) -> Option<&'a ImageRec> {
    let id = match image {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => return None,
    };
    match (id, image.as_str()) {
        (Some(id), _) => images.iter().find(|i| i.id == id),
        (None, Some(slug)) => images
            .iter()
            .find(|i| i.public() && i.slug.as_deref() == Some(slug)),
        _ => None,
    }
}

/// `resources/images/models/image.yml`, offered in `region`.
pub(crate) fn image_json(i: &ImageRec, region: &str) -> Value {
    json!({
        "id": i.id,
        "name": i.name,
        "type": if i.public() { "base" } else { "snapshot" },
        "distribution": i.distribution,
        "slug": i.slug,
        "public": i.public(),
        "regions": [region],
        "created_at": i.created_at,
        "min_disk_size": if i.public() { 7 } else { 25 },
        "size_gigabytes": if i.public() { 2.36 } else { 1.2 },
        "description": "",
        "tags": [],
        "status": "available",
        "error_message": "",
    })
}

/// The sizes the simulator offers: (slug, memory MiB, vcpus, disk GB, transfer TB, monthly
/// USD, hourly USD). Prices are DigitalOcean's list prices for Basic droplets (its pricing
/// page, "Basic Droplets"); droplets are billed per second since 1 January 2026, with a 60 s
/// minimum.
pub(crate) const SIZES: [(&str, u64, u32, u64, f64, f64, f64); 4] = [
    ("s-1vcpu-1gb", 1024, 1, 25, 1.0, 6.0, 0.00893),
    ("s-1vcpu-2gb", 2048, 1, 50, 2.0, 12.0, 0.01786),
    ("s-2vcpu-2gb", 2048, 2, 60, 3.0, 18.0, 0.02679),
    ("s-2vcpu-4gb", 4096, 2, 80, 4.0, 24.0, 0.03571),
];

/// Whether the simulator offers `slug`.
pub(crate) fn size_exists(slug: &str) -> bool {
    SIZES.iter().any(|s| s.0 == slug)
}

/// `resources/sizes/models/size.yml`, every size, offered in `region`.
pub(crate) fn sizes_json(region: &str) -> Vec<Value> {
    SIZES
        .iter()
        .map(|(slug, memory, vcpus, disk, transfer, monthly, hourly)| {
            json!({
                "slug": slug, "memory": memory, "vcpus": vcpus, "disk": disk,
                "transfer": transfer, "price_monthly": monthly, "price_hourly": hourly,
                "regions": [region], "available": true, "description": "Basic",
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_is_found_by_id_or_public_slug_only() {
        let mut images = base_images();
        images.push(snapshot(
            FIRST_SNAPSHOT_ID,
            "app-v2",
            "v2",
            false,
            Flaw::none(),
        ));
        let found = |v: Value| resolve(&images, &v).map(|i| i.id);
        assert_eq!(found(json!("ubuntu-22-04-x64")), Some(129_211_873));
        assert_eq!(found(json!(FIRST_SNAPSHOT_ID)), Some(FIRST_SNAPSHOT_ID));
        assert_eq!(
            found(json!(FIRST_SNAPSHOT_ID.to_string())),
            Some(FIRST_SNAPSHOT_ID)
        );
        // A snapshot's name is not a slug.
        assert_eq!(found(json!("app-v2")), None);
        assert_eq!(found(json!("centos-6-x64")), None);
        assert_eq!(found(json!(1)), None);
        assert_eq!(found(json!(true)), None);
    }
}
