//! Request bodies of the reserved (and floating) IP endpoints.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::ids::{DropletId, ProjectId};

/// The body of `POST /v2/reserved_ips` (`resources/reserved_ips/models/reserved_ip_create.yml`):
/// `oneOf` "Assign to Droplet" (`droplet_id`) or "Reserve to Region" (`region`, optional
/// `project_id`). Build it with [`Self::in_region`] or [`Self::for_droplet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[must_use]
pub struct CreateReservedIp {
    #[serde(skip_serializing_if = "Option::is_none")]
    droplet_id: Option<DropletId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    project_id: Option<ProjectId>,
}

impl CreateReservedIp {
    /// Reserve a new IP to a region (`{"region": "nyc3"}`), assigned to no droplet.
    pub fn in_region(region_slug: impl Into<String>) -> Self {
        CreateReservedIp {
            droplet_id: None,
            region: Some(region_slug.into()),
            project_id: None,
        }
    }

    /// Reserve a new IP in the droplet's region and assign it to the droplet
    /// (`{"droplet_id": N}`). The assignment is an action: see
    /// [`IpHandler::create_with_links`](super::IpHandler::create_with_links) for its id.
    pub fn for_droplet(droplet: DropletId) -> Self {
        CreateReservedIp {
            droplet_id: Some(droplet),
            region: None,
            project_id: None,
        }
    }

    /// Put the new IP in this project. Only with [`Self::in_region`]: the spec has no
    /// `project_id` in the "Assign to Droplet" variant, so `create` refuses the combination.
    pub fn project_id(mut self, project: impl Into<ProjectId>) -> Self {
        self.project_id = Some(project.into());
        self
    }

    /// What `create` checks before sending; `what` names the resource in messages.
    pub(super) fn check(&self, what: &str) -> Result<()> {
        if let Some(region) = &self.region {
            if region.trim().is_empty() {
                return Err(Error::InvalidInput(format!(
                    "region slug is empty; give the region to reserve the {what} in, such as `nyc3`"
                )));
            }
        }
        if let Some(project) = &self.project_id {
            if project.as_str().trim().is_empty() {
                return Err(Error::InvalidInput(format!(
                    "project id is empty; leave it out to create the {what} in the default project"
                )));
            }
            if self.droplet_id.is_some() {
                return Err(Error::InvalidInput(format!(
                    "a project id can only be given when reserving a {what} to a region, not when creating it for a droplet"
                )));
            }
        }
        Ok(())
    }
}

/// `resources/reserved_ips/models/reserved_ip_actions.yml` (and `floating_ip_actions.yml`):
/// `{"type": "assign", "droplet_id": N}` or `{"type": "unassign"}`.
#[derive(Debug, Serialize)]
pub(super) struct IpActionBody {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    droplet_id: Option<DropletId>,
}

impl IpActionBody {
    /// `{"type": "assign", "droplet_id": N}`.
    pub(super) fn assign(droplet: DropletId) -> Self {
        IpActionBody {
            kind: "assign",
            droplet_id: Some(droplet),
        }
    }

    /// `{"type": "unassign"}`.
    pub(super) fn unassign() -> Self {
        IpActionBody {
            kind: "unassign",
            droplet_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_bodies_follow_the_one_of() {
        let region = CreateReservedIp::in_region("nyc3").project_id("746c6152");
        assert_eq!(
            serde_json::to_value(&region).unwrap(),
            serde_json::json!({"region": "nyc3", "project_id": "746c6152"})
        );
        assert!(region.check("reserved IP").is_ok());
        let droplet = CreateReservedIp::for_droplet(DropletId(2457247));
        assert_eq!(
            serde_json::to_value(&droplet).unwrap(),
            serde_json::json!({"droplet_id": 2457247})
        );
        let both = droplet.project_id("746c6152").check("reserved IP");
        assert!(matches!(both, Err(Error::InvalidInput(_))), "{both:?}");
        assert!(CreateReservedIp::in_region(" ").check("x").is_err());
    }
}
