//! Floating IPs: `/v2/floating_ips` and `/v2/floating_ips/{ip}/actions`
//! (`resources/floating_ips/` in the official spec: `floatingIPs_list`, `floatingIPs_create`,
//! `floatingIPs_get`, `floatingIPs_delete`, `floatingIPsAction_list`, `floatingIPsAction_post`,
//! `floatingIPsAction_get`).
//!
//! Floating IPs are the older name of reserved IPs: the spec gives both the same model
//! (`models/floating_ip.yml` has the fields of `reserved_ip.yml`), the same create `oneOf` and
//! the same `assign`/`unassign` actions, under `floating_ip(s)` keys. The implementation is
//! [`IpHandler`] in [`crate::reserved_ips`]; this module only names the paths and keys.

use crate::client::Client;
use crate::reserved_ips::{
    CreateReservedIp, CreatedReservedIp, IpHandler, IpKind, ReservedIp, sealed,
};

/// A floating IP (`resources/floating_ips/models/floating_ip.yml`): the same shape as a
/// [`ReservedIp`].
pub type FloatingIp = ReservedIp;

/// The body of `POST /v2/floating_ips` (`resources/floating_ips/models/floating_ip_create.yml`):
/// the same `oneOf` as [`CreateReservedIp`].
pub type CreateFloatingIp = CreateReservedIp;

/// What `POST /v2/floating_ips` answers (`resources/floating_ips/responses/floating_ip_created.yml`).
pub type CreatedFloatingIp = CreatedReservedIp;

/// Floating IPs: `/v2/floating_ips`, answers keyed `floating_ip(s)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Floating {}

impl sealed::Sealed for Floating {}

impl IpKind for Floating {
    const PATH: &'static str = "floating_ips";
    const KEY: &'static str = "floating_ip";
    const NAME: &'static str = "floating IP";
}

/// Handler for `/v2/floating_ips` (`resources/floating_ips/`): [`IpHandler`] under the older
/// name. Get one with [`Client::floating_ips`].
pub type FloatingIps<'c> = IpHandler<'c, Floating>;

impl Client {
    /// Floating IPs (the older name of reserved IPs): list, get, create, delete, assign,
    /// unassign, and their actions.
    pub fn floating_ips(&self) -> FloatingIps<'_> {
        IpHandler::new(self)
    }
}
