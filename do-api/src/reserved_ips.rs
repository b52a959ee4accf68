//! Reserved IPs: `/v2/reserved_ips` and `/v2/reserved_ips/{ip}/actions`
//! (`resources/reserved_ips/` in the official spec: `reservedIPs_list`, `reservedIPs_create`,
//! `reservedIPs_get`, `reservedIPs_delete`, `reservedIPsActions_list`, `reservedIPsActions_post`,
//! `reservedIPsActions_get`).
//!
//! Floating IPs ([`crate::floating_ips`]) are the same API under its older name: same model, same
//! request bodies, same answers with `floating_ip(s)` keys. The logic lives here once, in a
//! private implementation that takes the path segment and JSON keys as data; [`ReservedIps`] and
//! [`crate::floating_ips::FloatingIps`] are thin typed handlers over it.

use std::net::Ipv4Addr;

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};

use crate::actions::Action;
use crate::client::{Client, Repeat, Request, decode};
use crate::common::Region;
use crate::droplets::Droplet;
use crate::error::{Error, Result};
use crate::ids::{ActionId, DropletId, ProjectId};
use crate::pagination::Page;
use crate::validate;

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
    /// [`ReservedIps::create_with_links`] for its id.
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

    fn check(&self, what: &str) -> Result<()> {
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

/// `resources/reserved_ips/models/reserved_ip_actions.yml` (and `floating_ip_actions.yml`):
/// `{"type": "assign", "droplet_id": N}` or `{"type": "unassign"}`.
#[derive(Debug, Serialize)]
struct IpActionBody {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    droplet_id: Option<DropletId>,
}

/// The path segment and JSON keys of one of the two names of the API.
#[derive(Debug)]
pub(crate) struct IpApi {
    /// `reserved_ips`: the path segment, and the key of lists.
    pub many: &'static str,
    /// `reserved_ip`: the key of single answers.
    pub one: &'static str,
    /// `reserved IP`: for messages.
    pub what: &'static str,
}

/// `/v2/reserved_ips`.
pub(crate) const RESERVED_IPS: IpApi = IpApi {
    many: "reserved_ips",
    one: "reserved_ip",
    what: "reserved IP",
};

/// The implementation shared by [`ReservedIps`] and [`crate::floating_ips::FloatingIps`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct IpEndpoints<'c> {
    client: &'c Client,
    api: &'static IpApi,
}

impl<'c> IpEndpoints<'c> {
    pub(crate) fn new(client: &'c Client, api: &'static IpApi) -> Self {
        IpEndpoints { client, api }
    }

    fn collection(&self) -> Request {
        Request::new(Method::GET, &["v2", self.api.many])
    }

    /// The address, checked before anything is sent.
    fn address(&self, ip: &str) -> Result<String> {
        if ip.trim().is_empty() {
            return Err(Error::InvalidInput(format!(
                "{} address is empty; give one such as 203.0.113.7",
                self.api.what
            )));
        }
        Ok(validate::ipv4(ip)?.to_string())
    }

    pub(crate) async fn list(&self) -> Result<Vec<ReservedIp>> {
        self.client.all(&self.collection(), self.api.many).await
    }

    pub(crate) async fn list_page(&self, page: u32) -> Result<Page<ReservedIp>> {
        self.client
            .page(&self.collection(), self.api.many, page)
            .await
    }

    pub(crate) async fn get(&self, ip: &str) -> Result<ReservedIp> {
        let ip = self.address(ip)?;
        self.client
            .keyed(
                Request::new(Method::GET, &["v2", self.api.many, &ip]),
                self.api.one,
            )
            .await
    }

    pub(crate) async fn create_with_links(
        &self,
        body: &CreateReservedIp,
    ) -> Result<CreatedReservedIp> {
        body.check(self.api.what)?;
        let req = Request::new(Method::POST, &["v2", self.api.many])
            .json(body)?
            .repeat(Repeat::Unsafe);
        let resp = self.client.send(&req).await?;
        let mut map: serde_json::Map<String, serde_json::Value> = decode(&req, &resp.body)?;
        let decode_err = |detail: String| Error::Decode {
            method: req.method.to_string(),
            path: req.path(),
            detail,
        };
        let ip = map
            .remove(self.api.one)
            .ok_or_else(|| decode_err(format!("no `{}` in the answer", self.api.one)))?;
        let reserved_ip = serde_json::from_value(ip)
            .map_err(|e| decode_err(format!("`{}`: {e}", self.api.one)))?;
        let links: CreateLinks = match map.remove("links") {
            None | Some(serde_json::Value::Null) => CreateLinks::default(),
            Some(v) => {
                serde_json::from_value(v).map_err(|e| decode_err(format!("`links`: {e}")))?
            }
        };
        let ids = |links: Option<Vec<Link>>| links.unwrap_or_default().into_iter().map(|l| l.id);
        Ok(CreatedReservedIp {
            reserved_ip,
            droplet_ids: ids(links.droplets).map(DropletId).collect(),
            action_ids: ids(links.actions).map(ActionId).collect(),
        })
    }

    pub(crate) async fn delete(&self, ip: &str) -> Result<()> {
        let ip = self.address(ip)?;
        self.client
            .empty(Request::new(Method::DELETE, &["v2", self.api.many, &ip]))
            .await
            .map(|_| ())
    }

    async fn act(&self, ip: &str, body: IpActionBody) -> Result<Action> {
        let ip = self.address(ip)?;
        // Assign and unassign set a state rather than add something: see the handlers' docs.
        let req = Request::new(Method::POST, &["v2", self.api.many, &ip, "actions"])
            .json(&body)?
            .repeat(Repeat::Safe);
        self.client.keyed(req, "action").await
    }

    pub(crate) async fn assign(&self, ip: &str, droplet: DropletId) -> Result<Action> {
        self.act(
            ip,
            IpActionBody {
                kind: "assign",
                droplet_id: Some(droplet),
            },
        )
        .await
    }

    pub(crate) async fn unassign(&self, ip: &str) -> Result<Action> {
        self.act(
            ip,
            IpActionBody {
                kind: "unassign",
                droplet_id: None,
            },
        )
        .await
    }

    pub(crate) async fn list_actions(&self, ip: &str) -> Result<Vec<Action>> {
        let ip = self.address(ip)?;
        self.client
            .all(
                &Request::new(Method::GET, &["v2", self.api.many, &ip, "actions"]),
                "actions",
            )
            .await
    }

    pub(crate) async fn get_action(&self, ip: &str, action: ActionId) -> Result<Action> {
        let ip = self.address(ip)?;
        let id = action.to_string();
        self.client
            .keyed(
                Request::new(Method::GET, &["v2", self.api.many, &ip, "actions", &id]),
                "action",
            )
            .await
    }
}

/// Defines a public handler (`ReservedIps`, `FloatingIps`) whose methods forward to
/// [`IpEndpoints`], with docs naming the resource's own paths and spec files.
macro_rules! ip_handler {
    (
        $(#[$meta:meta])*
        handler: $name:ident,
        api: $api:path,
        path: $seg:literal,
        key: $one:literal,
        what: $what:literal,
        ops: $ops:literal,
        action_ops: $action_ops:literal $(,)?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name<'c> {
            inner: $crate::reserved_ips::IpEndpoints<'c>,
        }

        impl<'c> $name<'c> {
            pub(crate) fn new(client: &'c $crate::client::Client) -> Self {
                $name {
                    inner: $crate::reserved_ips::IpEndpoints::new(client, &$api),
                }
            }

            #[doc = concat!("Every page of `GET /v2/", $seg, "` (`", $ops, "_list`): all the account's ", $what, "s.")]
            pub async fn list(&self) -> $crate::error::Result<Vec<$crate::reserved_ips::ReservedIp>> {
                self.inner.list().await
            }

            #[doc = concat!("One page of `GET /v2/", $seg, "` (`", $ops, "_list`, 200 per page).")]
            pub async fn list_page(
                &self,
                page: u32,
            ) -> $crate::error::Result<$crate::pagination::Page<$crate::reserved_ips::ReservedIp>> {
                self.inner.list_page(page).await
            }

            #[doc = concat!("`GET /v2/", $seg, "/{", $one, "}` (`", $ops, "_get`). `ip` must be an IPv4 address; anything else is [`Error::InvalidInput`](crate::Error::InvalidInput) and nothing is sent.")]
            pub async fn get(&self, ip: &str) -> $crate::error::Result<$crate::reserved_ips::ReservedIp> {
                self.inner.get(ip).await
            }

            #[doc = concat!("`POST /v2/", $seg, "` (`", $ops, "_create`, answers 202): create a ", $what, " in a region or for a droplet.")]
            #[doc = ""]
            #[doc = "Sent once: a 5xx or a timeout is not retried, since a repeated create could reserve (and bill) a second IP."]
            pub async fn create(
                &self,
                body: &$crate::reserved_ips::CreateReservedIp,
            ) -> $crate::error::Result<$crate::reserved_ips::ReservedIp> {
                self.inner.create_with_links(body).await.map(|c| c.reserved_ip)
            }

            #[doc = concat!("Like [`Self::create`], also returning the answer's `links`: for a ", $what, " created for a droplet, the droplet and the id of the assignment action to wait for.")]
            pub async fn create_with_links(
                &self,
                body: &$crate::reserved_ips::CreateReservedIp,
            ) -> $crate::error::Result<$crate::reserved_ips::CreatedReservedIp> {
                self.inner.create_with_links(body).await
            }

            #[doc = concat!("`DELETE /v2/", $seg, "/{", $one, "}` (`", $ops, "_delete`, answers 204): release the ", $what, ".")]
            pub async fn delete(&self, ip: &str) -> $crate::error::Result<()> {
                self.inner.delete(ip).await
            }

            #[doc = concat!("`POST /v2/", $seg, "/{", $one, "}/actions` with `{\"type\": \"assign\", \"droplet_id\": N}` (`", $action_ops, "_post`, answers 201 with the action): point the ", $what, " at `droplet`. Wait for the returned action with [`Actions::wait`](crate::actions::Actions::wait).")]
            #[doc = ""]
            #[doc = "Sent as `Repeat::Safe`, so a 5xx or a timeout is retried: assigning sets where the IP points, so sending it again after a lost answer leaves the same state (the IP on `droplet`) and cannot add anything. At worst the repeat is refused with a 422 while the first attempt's action still holds the IP locked; `get` then shows the outcome."]
            pub async fn assign(
                &self,
                ip: &str,
                droplet: $crate::ids::DropletId,
            ) -> $crate::error::Result<$crate::actions::Action> {
                self.inner.assign(ip, droplet).await
            }

            #[doc = concat!("`POST /v2/", $seg, "/{", $one, "}/actions` with `{\"type\": \"unassign\"}` (`", $action_ops, "_post`): detach the ", $what, " from its droplet, keeping it reserved.")]
            #[doc = ""]
            #[doc = "Retried on 5xx and timeouts like [`Self::assign`]: unassigning twice leaves the IP unassigned either way (a repeat may be refused with a 422 if the first one already took effect)."]
            pub async fn unassign(&self, ip: &str) -> $crate::error::Result<$crate::actions::Action> {
                self.inner.unassign(ip).await
            }

            #[doc = concat!("Every page of `GET /v2/", $seg, "/{", $one, "}/actions` (`", $action_ops, "_list`).")]
            pub async fn list_actions(&self, ip: &str) -> $crate::error::Result<Vec<$crate::actions::Action>> {
                self.inner.list_actions(ip).await
            }

            #[doc = concat!("`GET /v2/", $seg, "/{", $one, "}/actions/{action_id}` (`", $action_ops, "_get`).")]
            pub async fn get_action(
                &self,
                ip: &str,
                action: $crate::ids::ActionId,
            ) -> $crate::error::Result<$crate::actions::Action> {
                self.inner.get_action(ip, action).await
            }
        }
    };
}
pub(crate) use ip_handler;

ip_handler! {
    /// Handler for `/v2/reserved_ips` (`resources/reserved_ips/`). Get one with
    /// [`Client::reserved_ips`]. IPs are given as strings and checked with
    /// [`validate::ipv4`] before anything is sent.
    handler: ReservedIps,
    api: RESERVED_IPS,
    path: "reserved_ips",
    key: "reserved_ip",
    what: "reserved IP",
    ops: "reservedIPs",
    action_ops: "reservedIPsActions",
}

impl Client {
    /// Reserved IPs: list, get, create, delete, assign, unassign, and their actions.
    pub fn reserved_ips(&self) -> ReservedIps<'_> {
        ReservedIps::new(self)
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
