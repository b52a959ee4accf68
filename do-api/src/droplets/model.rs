//! What the droplet endpoints answer: droplets (`models/droplet.yml`) and the create answer.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::common::Region;
use crate::ids::{ActionId, DropletId, ImageId, VpcId};

crate::string_enum! {
    /// A droplet's status (`new`, `active`, `off`, `archive`).
    pub enum DropletStatus {
        /// Being created.
        New => "new",
        /// Running.
        Active => "active",
        /// Powered off.
        Off => "off",
        /// Destroyed, kept for billing.
        Archive => "archive",
    }
}

crate::string_enum! {
    /// Whether an address is on the public internet or the VPC.
    pub enum NetworkType {
        /// Reachable from the internet.
        Public => "public",
        /// Reachable inside the VPC.
        Private => "private",
    }
}

/// A droplet (`resources/droplets/models/droplet.yml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Droplet {
    /// The droplet's id.
    pub id: DropletId,
    /// Its name (hostname).
    pub name: String,
    /// `new`, `active`, `off` or `archive`.
    pub status: DropletStatus,
    /// Memory in MiB.
    #[serde(default)]
    pub memory: Option<u64>,
    /// Virtual CPUs.
    #[serde(default)]
    pub vcpus: Option<u64>,
    /// Disk in GiB.
    #[serde(default)]
    pub disk: Option<u64>,
    /// Whether the droplet is locked against actions.
    #[serde(default)]
    pub locked: bool,
    /// Creation time (ISO 8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Enabled features (`backups`, `ipv6`, `private_networking`, ...).
    #[serde(default)]
    pub features: Vec<String>,
    /// Backup image ids.
    #[serde(default)]
    pub backup_ids: Vec<u64>,
    /// Snapshot image ids.
    #[serde(default)]
    pub snapshot_ids: Vec<u64>,
    /// Attached volume ids.
    #[serde(default)]
    pub volume_ids: Vec<String>,
    /// The image it was built from.
    #[serde(default)]
    pub image: Option<DropletImage>,
    /// Its size.
    #[serde(default)]
    pub size: Option<DropletSize>,
    /// Its size's slug.
    #[serde(default)]
    pub size_slug: Option<String>,
    /// Its addresses.
    #[serde(default)]
    pub networks: Networks,
    /// Its region.
    #[serde(default)]
    pub region: Option<Region>,
    /// Its tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Its VPC.
    #[serde(default)]
    pub vpc_uuid: Option<VpcId>,
}

impl Droplet {
    /// The first public IPv4 address.
    pub fn public_ipv4(&self) -> Option<Ipv4Addr> {
        self.ipv4_of(&NetworkType::Public)
    }

    /// The first private (VPC) IPv4 address.
    pub fn private_ipv4(&self) -> Option<Ipv4Addr> {
        self.ipv4_of(&NetworkType::Private)
    }

    fn ipv4_of(&self, kind: &NetworkType) -> Option<Ipv4Addr> {
        self.networks
            .v4
            .iter()
            .filter(|n| &n.kind == kind)
            .find_map(|n| n.ip_address.parse().ok())
    }

    /// The region's slug (`nyc3`).
    pub fn region_slug(&self) -> Option<&str> {
        self.region.as_ref()?.slug.as_deref()
    }

    /// Whether the droplet carries `tag` (tags are case-stable, so compared exactly).
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }

    /// `active`.
    pub fn is_active(&self) -> bool {
        self.status == DropletStatus::Active
    }
}

/// A droplet's addresses.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Networks {
    /// IPv4 addresses.
    #[serde(default)]
    pub v4: Vec<NetworkV4>,
    /// IPv6 addresses.
    #[serde(default)]
    pub v6: Vec<NetworkV6>,
}

/// One IPv4 address (`models/network_v4.yml`). `gateway` is the string `"nil"` on private
/// addresses in the official examples, so addresses stay strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NetworkV4 {
    /// The address.
    pub ip_address: String,
    /// Its netmask.
    #[serde(default)]
    pub netmask: Option<String>,
    /// Its gateway (`"nil"` when there is none).
    #[serde(default)]
    pub gateway: Option<String>,
    /// `public` or `private`.
    #[serde(rename = "type")]
    pub kind: NetworkType,
}

/// One IPv6 address (`models/network_v6.yml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NetworkV6 {
    /// The address.
    pub ip_address: String,
    /// Prefix length.
    #[serde(default)]
    pub netmask: Option<u32>,
    /// Its gateway.
    #[serde(default)]
    pub gateway: Option<String>,
    /// `public`.
    #[serde(rename = "type")]
    pub kind: NetworkType,
}

impl NetworkV6 {
    /// The address, parsed.
    pub fn ip(&self) -> Option<Ipv6Addr> {
        self.ip_address.parse().ok()
    }
}

/// The image a droplet runs (`resources/images/models/image.yml`, the fields we use).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DropletImage {
    /// Image id.
    #[serde(default)]
    pub id: Option<ImageId>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Distribution.
    #[serde(default)]
    pub distribution: Option<String>,
    /// Slug, for public images.
    #[serde(default)]
    pub slug: Option<String>,
    /// Whether the image is public.
    #[serde(default)]
    pub public: Option<bool>,
}

/// A droplet's size (`resources/sizes/models/size.yml`, the fields we use).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DropletSize {
    /// Slug such as `s-1vcpu-1gb`.
    pub slug: String,
    /// Memory in MiB.
    #[serde(default)]
    pub memory: Option<u64>,
    /// Virtual CPUs.
    #[serde(default)]
    pub vcpus: Option<u64>,
    /// Disk in GiB.
    #[serde(default)]
    pub disk: Option<u64>,
    /// Monthly price in USD.
    #[serde(default)]
    pub price_monthly: Option<f64>,
    /// Hourly price in USD.
    #[serde(default)]
    pub price_hourly: Option<f64>,
}

/// A link to an action started by a request (`shared/models/action_link.yml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActionLink {
    /// The action's id.
    pub id: ActionId,
    /// What it does (`create`).
    #[serde(default)]
    pub rel: Option<String>,
    /// Its URL (informational: fetch it with [`Client::actions`](crate::Client::actions),
    /// which uses our base URL).
    #[serde(default)]
    pub href: Option<String>,
}

/// The 202 answer of `POST /v2/droplets` (`responses/droplet_create.yml`): `{droplet, links}`
/// for one droplet or `{droplets, links}` for several, both exposed as a list.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawCreated")]
#[non_exhaustive]
pub struct CreatedDroplets {
    /// The new droplets (status `new`), in the order of the names sent.
    pub droplets: Vec<Droplet>,
    /// `links.actions`: one `create` action per droplet.
    pub actions: Vec<ActionLink>,
}

impl CreatedDroplets {
    /// The ids of the create actions, to wait on with [`crate::actions::Actions::wait`].
    pub fn action_ids(&self) -> Vec<ActionId> {
        self.actions.iter().map(|a| a.id).collect()
    }

    /// The ids of the new droplets.
    pub fn droplet_ids(&self) -> Vec<DropletId> {
        self.droplets.iter().map(|d| d.id).collect()
    }
}

#[derive(Deserialize)]
struct RawCreated {
    #[serde(default)]
    droplet: Option<Droplet>,
    #[serde(default)]
    droplets: Option<Vec<Droplet>>,
    #[serde(default)]
    links: Option<CreatedLinks>,
}

#[derive(Deserialize)]
struct CreatedLinks {
    #[serde(default)]
    actions: Option<Vec<ActionLink>>,
}

impl TryFrom<RawCreated> for CreatedDroplets {
    type Error = String;

    fn try_from(raw: RawCreated) -> Result<Self, String> {
        let droplets = match (raw.droplet, raw.droplets) {
            (Some(d), _) => vec![d],
            (None, Some(ds)) => ds,
            (None, None) => return Err("neither `droplet` nor `droplets` in the answer".into()),
        };
        let actions = raw.links.and_then(|l| l.actions).unwrap_or_default();
        Ok(CreatedDroplets { droplets, actions })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn official_single_droplet_example() {
        let body: serde_json::Value = serde_json::from_str(include_str!(
            "../../../fixtures/official/droplets_get/200-single-droplet.json"
        ))
        .unwrap();
        let d: Droplet = serde_json::from_value(body["droplet"].clone()).unwrap();
        assert_eq!(d.id, DropletId(3164444));
        assert!(d.is_active());
        assert_eq!(d.public_ipv4(), Some("192.241.165.154".parse().unwrap()));
        assert_eq!(d.private_ipv4(), Some("10.128.192.124".parse().unwrap()));
        assert_eq!(d.region_slug(), Some("nyc3"));
        assert!(d.has_tag("env:prod") && !d.has_tag("ENV:PROD"));
        assert_eq!(d.networks.v4[0].gateway.as_deref(), Some("nil"));
    }

    #[test]
    fn created_needs_a_droplet() {
        let e = serde_json::from_value::<CreatedDroplets>(json!({"links": {}})).unwrap_err();
        assert!(
            e.to_string().contains("neither `droplet` nor `droplets`"),
            "{e}"
        );
        let c: CreatedDroplets =
            serde_json::from_value(json!({"droplets": [], "links": {}})).unwrap();
        assert!(c.droplets.is_empty() && c.actions.is_empty());
    }
}
