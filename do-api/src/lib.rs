//! A typed async client for the DigitalOcean API v2: droplets and droplet actions, tags, load
//! balancers, reserved IPs (and the older floating IPs), and actions.
//!
//! Field names, paths and status codes follow the official OpenAPI description
//! (<https://github.com/digitalocean/openapi>, copied in `shared/do-openapi/`).
//!
//! ```no_run
//! use do_api::{Client, Token, WaitOptions};
//!
//! # async fn run() -> do_api::Result<()> {
//! let client = Client::new(Token::new(std::env::var("DIGITALOCEAN_ACCESS_TOKEN").unwrap())?)?;
//! let action = client.actions().get(36804636.into()).await?;
//! client.actions().wait(action.id, &WaitOptions::default()).await?;
//! # Ok(()) }
//! ```
//!
//! - Models are tolerant: unknown fields are ignored, enums DO may grow keep unknown values in
//!   `Unknown(String)`, anything nullable is an `Option`.
//! - Retries: 429 and refused connections on every request; 5xx only where repeating cannot
//!   duplicate work. `Retry-After` and `ratelimit-reset` set the wait. See [`RetryPolicy`].
//! - The token is never shown in `Debug`, errors or logs.

#![warn(missing_docs)]

mod macros;

pub(crate) use macros::string_enum;

pub mod actions;
pub mod client;
pub mod common;
pub mod droplets;
pub mod error;
pub mod floating_ips;
pub mod ids;
pub mod load_balancers;
pub mod pagination;
pub mod rate_limit;
pub mod reserved_ips;
pub mod retry;
pub mod tags;
pub(crate) mod validate;
pub mod wait;

pub use actions::{Action, ActionStatus, ActionType};
pub use client::{Client, ClientBuilder, Token};
pub use common::Region;
pub use droplets::{
    CreateDroplet, CreatedDroplets, Droplet, DropletAction, DropletFilter, DropletStatus, ImageRef,
    SshKeyRef,
};
pub use error::{ApiError, Error, Result};
pub use floating_ips::{CreateFloatingIp, FloatingIp};
pub use ids::{ActionId, DropletId, ImageId, LoadBalancerId, ProjectId, SshKeyId, VpcId};
pub use load_balancers::{ForwardingRule, LoadBalancer, LoadBalancerRequest, Selector};
pub use pagination::Page;
pub use rate_limit::RateLimit;
pub use reserved_ips::{CreateReservedIp, ReservedIp};
pub use retry::RetryPolicy;
pub use tags::{Tag, TagResource};
pub use wait::WaitOptions;

/// The README's Rust examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
