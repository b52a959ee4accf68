//! [`IpHandler`]: the reserved IP endpoints, once, for both names of the API.

use std::fmt;
use std::marker::PhantomData;
use std::net::Ipv4Addr;

use reqwest::Method;

use super::model::{CreatedReservedIp, ReservedIp};
use super::request::{CreateReservedIp, IpActionBody};
use crate::actions::Action;
use crate::client::{Client, Repeat, Request, decode};
use crate::error::{Error, Result, none_if_not_found};
use crate::ids::{ActionId, DropletId};
use crate::pagination::Page;

/// Keeps [`IpKind`] closed: the API has two names for reserved IPs, and no third.
pub(crate) mod sealed {
    /// Implemented by [`super::Reserved`] and [`crate::floating_ips::Floating`] only.
    pub trait Sealed {}
}

/// One of the two names of the reserved IP API: [`Reserved`] (`/v2/reserved_ips`) or
/// [`Floating`](crate::floating_ips::Floating) (`/v2/floating_ips`, the older name). It says
/// where [`IpHandler`] sends its requests and which keys it reads; the model
/// ([`ReservedIp`]) and the request bodies are the same for both, as in the spec.
///
/// Sealed: implemented by those two types only.
pub trait IpKind: sealed::Sealed + fmt::Debug + Copy + Send + Sync + 'static {
    /// The path segment under `/v2`, also the key of list answers: `reserved_ips`.
    const PATH: &'static str;
    /// The key of single answers: `reserved_ip`.
    const KEY: &'static str;
    /// How messages name one: `reserved IP`.
    const NAME: &'static str;
}

/// Reserved IPs: `/v2/reserved_ips`, answers keyed `reserved_ip(s)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reserved {}

impl sealed::Sealed for Reserved {}

impl IpKind for Reserved {
    const PATH: &'static str = "reserved_ips";
    const KEY: &'static str = "reserved_ip";
    const NAME: &'static str = "reserved IP";
}

/// Handler for `/v2/reserved_ips` (`resources/reserved_ips/`). Get one with
/// [`Client::reserved_ips`].
pub type ReservedIps<'c> = IpHandler<'c, Reserved>;

/// Handler for the reserved IP endpoints under one of their two names: [`ReservedIps`]
/// (`client.reserved_ips()`, `/v2/reserved_ips`) or
/// [`FloatingIps`](crate::floating_ips::FloatingIps) (`client.floating_ips()`,
/// `/v2/floating_ips`). Paths below are written for reserved IPs; for floating IPs read
/// `floating_ips`/`floating_ip` and the spec's `floatingIPs_*`/`floatingIPsAction_*`
/// operations.
///
/// Addresses are [`Ipv4Addr`]s, so an address that is not one cannot be sent; a string is
/// refused by the compiler, not by DigitalOcean:
///
/// ```compile_fail,E0308
/// # async fn run(client: do_api::Client) -> do_api::Result<()> {
/// client.reserved_ips().assign("203.0.113.7", do_api::DropletId(3164444)).await?;
/// # Ok(()) }
/// ```
///
/// ```no_run
/// # async fn run(client: do_api::Client) -> do_api::Result<()> {
/// let ip = std::net::Ipv4Addr::new(203, 0, 113, 7);
/// client.reserved_ips().assign(ip, do_api::DropletId(3164444)).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct IpHandler<'c, K: IpKind> {
    client: &'c Client,
    kind: PhantomData<K>,
}

impl Client {
    /// Reserved IPs: list, get, create, delete, assign, unassign, and their actions.
    pub fn reserved_ips(&self) -> ReservedIps<'_> {
        IpHandler::new(self)
    }
}

impl<'c, K: IpKind> IpHandler<'c, K> {
    pub(crate) fn new(client: &'c Client) -> Self {
        IpHandler {
            client,
            kind: PhantomData,
        }
    }

    /// `/v2/reserved_ips`.
    fn collection(&self) -> Request {
        Request::new(Method::GET, &["v2", K::PATH])
    }

    /// `/v2/reserved_ips/{ip}` followed by `rest`.
    fn one(method: Method, ip: Ipv4Addr, rest: &[&str]) -> Request {
        let ip = ip.to_string();
        let mut segments = vec!["v2", K::PATH, ip.as_str()];
        segments.extend_from_slice(rest);
        Request::new(method, &segments)
    }

    /// Every page of `GET /v2/reserved_ips` (`reservedIPs_list`): all the account's reserved
    /// IPs.
    pub async fn list(&self) -> Result<Vec<ReservedIp>> {
        self.client.all(&self.collection(), K::PATH).await
    }

    /// One page of `GET /v2/reserved_ips` (`reservedIPs_list`, 200 per page).
    pub async fn list_page(&self, page: u32) -> Result<Page<ReservedIp>> {
        self.client.page(&self.collection(), K::PATH, page).await
    }

    /// `GET /v2/reserved_ips/{reserved_ip}` (`reservedIPs_get`). An address the account does
    /// not hold is a 404, [`Error::is_not_found`]; [`Self::get_opt`] makes that `None`.
    pub async fn get(&self, ip: Ipv4Addr) -> Result<ReservedIp> {
        self.client
            .keyed(Self::one(Method::GET, ip, &[]), K::KEY)
            .await
    }

    /// Like [`Self::get`], with `Ok(None)` when DigitalOcean answers 404 (the account holds no
    /// such IP); every other error is still an error.
    pub async fn get_opt(&self, ip: Ipv4Addr) -> Result<Option<ReservedIp>> {
        none_if_not_found(self.get(ip).await)
    }

    /// `POST /v2/reserved_ips` (`reservedIPs_create`, answers 202): create a reserved IP in a
    /// region or for a droplet.
    ///
    /// Sent once: a 5xx or a timeout is not retried, since a repeated create could reserve
    /// (and bill) a second IP.
    pub async fn create(&self, body: &CreateReservedIp) -> Result<ReservedIp> {
        self.create_with_links(body).await.map(|c| c.reserved_ip)
    }

    /// Like [`Self::create`], also returning the answer's `links`: for an IP created for a
    /// droplet, the droplet and the id of the assignment action to wait for.
    pub async fn create_with_links(&self, body: &CreateReservedIp) -> Result<CreatedReservedIp> {
        body.check(K::NAME)?;
        let req = Request::new(Method::POST, &["v2", K::PATH])
            .json(body)?
            .repeat(Repeat::Unsafe);
        let resp = self.client.send(&req).await?;
        let map = decode(&req, &resp.body)?;
        CreatedReservedIp::from_answer(K::KEY, map).map_err(|detail| Error::Decode {
            method: req.method.to_string(),
            path: req.path(),
            detail,
        })
    }

    /// `DELETE /v2/reserved_ips/{reserved_ip}` (`reservedIPs_delete`, answers 204): release
    /// the IP.
    pub async fn delete(&self, ip: Ipv4Addr) -> Result<()> {
        self.client
            .empty(Self::one(Method::DELETE, ip, &[]))
            .await
            .map(|_| ())
    }

    /// `POST /v2/reserved_ips/{reserved_ip}/actions` with
    /// `{"type": "assign", "droplet_id": N}` (`reservedIPsActions_post`, answers 201 with the
    /// action): point the IP at `droplet`. Wait for the returned action with
    /// [`Actions::wait`](crate::actions::Actions::wait).
    ///
    /// Retried after a 5xx or a timeout: assigning sets where the IP points, so sending it
    /// again after a lost answer leaves the same state (the IP on `droplet`) and cannot add
    /// anything. At worst the repeat is refused with a 422 while the first attempt's action
    /// still holds the IP locked; [`Self::get`] then shows the outcome.
    pub async fn assign(&self, ip: Ipv4Addr, droplet: DropletId) -> Result<Action> {
        self.act(ip, IpActionBody::assign(droplet)).await
    }

    /// `POST /v2/reserved_ips/{reserved_ip}/actions` with `{"type": "unassign"}`
    /// (`reservedIPsActions_post`): detach the IP from its droplet, keeping it reserved.
    ///
    /// Retried after a 5xx or a timeout like [`Self::assign`]: unassigning twice leaves the IP
    /// unassigned either way (a repeat may be refused with a 422 if the first one already took
    /// effect).
    pub async fn unassign(&self, ip: Ipv4Addr) -> Result<Action> {
        self.act(ip, IpActionBody::unassign()).await
    }

    async fn act(&self, ip: Ipv4Addr, body: IpActionBody) -> Result<Action> {
        // Assign and unassign set a state rather than add something: see their docs.
        let req = Self::one(Method::POST, ip, &["actions"])
            .json(&body)?
            .repeat(Repeat::Safe);
        self.client.keyed(req, "action").await
    }

    /// Every page of `GET /v2/reserved_ips/{reserved_ip}/actions` (`reservedIPsActions_list`).
    pub async fn list_actions(&self, ip: Ipv4Addr) -> Result<Vec<Action>> {
        self.client
            .all(&Self::one(Method::GET, ip, &["actions"]), "actions")
            .await
    }

    /// `GET /v2/reserved_ips/{reserved_ip}/actions/{action_id}` (`reservedIPsActions_get`).
    pub async fn get_action(&self, ip: Ipv4Addr, action: ActionId) -> Result<Action> {
        let id = action.to_string();
        self.client
            .keyed(Self::one(Method::GET, ip, &["actions", &id]), "action")
            .await
    }
}
