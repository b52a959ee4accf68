//! What the reserved (and floating) IP endpoints answer.

use std::net::Ipv4Addr;

use serde::{Deserialize, Deserializer, Serialize};

use crate::common::Region;
use crate::droplets::Droplet;
use crate::ids::{ActionId, DropletId, ProjectId};

/// A reserved IP (`resources/reserved_ips/models/reserved_ip.yml`; floating IPs share the shape,
/// `resources/floating_ips/models/floating_ip.yml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReservedIp {
    /// The address; it is also the reserved IP's identifier.
    pub ip: Ipv4Addr,
    /// The region it is reserved to.
    #[serde(default)]
    pub region: Option<Region>,
    /// The droplet it is assigned to; `None` when it is not assigned (`null` in the API).
    #[serde(default, deserialize_with = "nullable_droplet")]
    pub droplet: Option<Droplet>,
    /// Whether pending actions prevent new ones from being submitted.
    #[serde(default)]
    pub locked: bool,
    /// The project it belongs to (needs the `project:read` scope).
    #[serde(default)]
    pub project_id: Option<ProjectId>,
}

impl ReservedIp {
    /// The id of the droplet it is assigned to, if any.
    pub fn droplet_id(&self) -> Option<DropletId> {
        self.droplet.as_ref().map(|d| d.id)
    }

    /// Whether it is assigned to a droplet.
    pub fn is_assigned(&self) -> bool {
        self.droplet.is_some()
    }

    /// The slug of the region it is reserved to (`nyc3`).
    pub fn region_slug(&self) -> Option<&str> {
        self.region.as_ref()?.slug.as_deref()
    }
}

/// `droplet` is `null` when unassigned (the spec's `anyOf` has a nullable "null" object);
/// an empty object is read the same way rather than failing on a droplet without an id.
fn nullable_droplet<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Droplet>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Object(map)) if map.is_empty() => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// What `POST /v2/reserved_ips` answers (`resources/reserved_ips/responses/reserved_ip_created.yml`):
/// the new IP and, when it was created for a droplet, the links to that droplet and to the
/// assignment action (wait for it with [`crate::actions::Actions::wait`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CreatedReservedIp {
    /// The new reserved (or floating) IP.
    pub reserved_ip: ReservedIp,
    /// `links.droplets[].id`: the droplet it is being assigned to.
    pub droplet_ids: Vec<DropletId>,
    /// `links.actions[].id`: the assignment action(s) started with the creation.
    pub action_ids: Vec<ActionId>,
}

impl CreatedReservedIp {
    /// Read a create answer whose IP is under `key` (`reserved_ip` or `floating_ip`). The
    /// error is the detail of a decode error.
    pub(super) fn from_answer(
        key: &str,
        mut map: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, String> {
        let ip = map
            .remove(key)
            .ok_or_else(|| format!("no `{key}` in the answer"))?;
        let reserved_ip = serde_json::from_value(ip).map_err(|e| format!("`{key}`: {e}"))?;
        let links: CreateLinks = match map.remove("links") {
            None | Some(serde_json::Value::Null) => CreateLinks::default(),
            Some(v) => serde_json::from_value(v).map_err(|e| format!("`links`: {e}"))?,
        };
        let ids = |links: Option<Vec<Link>>| links.unwrap_or_default().into_iter().map(|l| l.id);
        Ok(CreatedReservedIp {
            reserved_ip,
            droplet_ids: ids(links.droplets).map(DropletId).collect(),
            action_ids: ids(links.actions).map(ActionId).collect(),
        })
    }
}

#[derive(Debug, Default, Deserialize)]
struct CreateLinks {
    #[serde(default)]
    droplets: Option<Vec<Link>>,
    #[serde(default)]
    actions: Option<Vec<Link>>,
}

/// `shared/models/action_link.yml`: `{id, rel, href}`; only the id is used.
#[derive(Debug, Deserialize)]
struct Link {
    id: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn droplet_null_or_empty_is_none() {
        for droplet in ["null", "{}"] {
            let ip: ReservedIp = serde_json::from_str(&format!(
                r#"{{"ip":"45.55.96.47","droplet":{droplet},"locked":false}}"#
            ))
            .unwrap();
            assert_eq!(ip.droplet_id(), None);
        }
        let ip: ReservedIp = serde_json::from_str(r#"{"ip":"45.55.96.47"}"#).unwrap();
        assert!(!ip.is_assigned() && !ip.locked);
        let bad = serde_json::from_str::<ReservedIp>(r#"{"ip":"45.55.96.47","droplet":{"x":1}}"#);
        assert!(bad.is_err());
    }
}
