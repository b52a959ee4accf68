//! Reserved IPs: `/v2/reserved_ips` and `/v2/reserved_ips/{ip}/actions`
//! (`resources/reserved_ips/` in the official spec: `reservedIPs_list`, `reservedIPs_create`,
//! `reservedIPs_get`, `reservedIPs_delete`, `reservedIPsActions_list`, `reservedIPsActions_post`,
//! `reservedIPsActions_get`).
//!
//! Floating IPs ([`crate::floating_ips`]) are the same API under its older name: same model,
//! same request bodies, same answers with `floating_ip(s)` keys. The logic lives here once, in
//! [`IpHandler`], generic over an [`IpKind`] that names the path segment and JSON keys:
//! [`ReservedIps`] is `IpHandler<Reserved>`, [`FloatingIps`](crate::floating_ips::FloatingIps)
//! is `IpHandler<Floating>`.
//!
//! Addresses are [`Ipv4Addr`](std::net::Ipv4Addr)s, the type of [`ReservedIp::ip`], so the
//! address read from one answer goes straight into the next call:
//!
//! ```no_run
//! # async fn run(client: do_api::Client) -> do_api::Result<()> {
//! for rip in client.reserved_ips().list().await? {
//!     if rip.is_assigned() {
//!         client.reserved_ips().unassign(rip.ip).await?;
//!     }
//! }
//! # Ok(()) }
//! ```

mod handler;
mod model;
mod request;

pub(crate) use handler::sealed;
pub use handler::{IpHandler, IpKind, Reserved, ReservedIps};
pub use model::{CreatedReservedIp, ReservedIp};
pub use request::CreateReservedIp;
