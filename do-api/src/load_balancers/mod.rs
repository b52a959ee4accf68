//! Load balancers (`resources/load_balancers/` in the official spec): create, get, list,
//! update, delete, add/remove droplets and forwarding rules, and waiting until one is active.
//! Models: `resources/load_balancers/models/`.
//!
//! `PUT` replaces the whole load balancer: any attribute left out is reset to its default
//! (`loadBalancers_update.yml`). To change one setting, start from
//! [`LoadBalancer::to_request`], which carries every settable field over:
//!
//! ```no_run
//! # use do_api::{Client, LoadBalancerId};
//! # use do_api::load_balancers::HealthCheck;
//! # async fn run(client: Client, id: LoadBalancerId) -> do_api::Result<()> {
//! let lb = client.load_balancers().get(&id).await?;
//! let mut req = lb.to_request();
//! req.health_check = Some(HealthCheck::http(8080, "/healthz"));
//! client.load_balancers().update(&lb.id, &req).await?;
//! # Ok(()) }
//! ```
//!
//! Files: `model.rs` (what the API answers, and the settings both directions share: forwarding
//! rules, health check, sticky sessions, firewall, global settings), `request.rs` (the create
//! and update body), `handler.rs` (the handler).

mod handler;
mod model;
mod request;

pub use handler::LoadBalancers;
pub use model::{
    Cdn, Domain, EntryProtocol, Firewall, ForwardingRule, GlbSettings, HealthCheck,
    HealthCheckProtocol, LoadBalancer, LoadBalancerNetwork, LoadBalancerStatus, LoadBalancerType,
    NetworkStack, Selector, StickySessions, StickySessionsType, TargetProtocol, TlsCipherPolicy,
};
pub use request::LoadBalancerRequest;
