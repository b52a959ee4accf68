//! A typed async client for the DigitalOcean API v2: droplets and droplet actions, tags, load
//! balancers and their metrics, reserved IPs (and the older floating IPs), and actions.
//!
//! Field names, paths and status codes follow the official OpenAPI description
//! (<https://github.com/digitalocean/openapi>, copied in `shared/do-openapi/`).
//!
//! # A client, pointed where you want
//!
//! [`Client::builder`] takes the token and, optionally, a base URL (DigitalOcean's by default;
//! a local simulator such as `zdd-do sim`, a proxy or a mock otherwise), the user agent
//! (`do-api/<version>` unless you set one), a per-request timeout and a [`RetryPolicy`]. The
//! client is cheap to clone.
//!
//! ```no_run
//! use std::time::Duration;
//! use do_api::{Client, Token};
//!
//! # fn build() -> do_api::Result<Client> {
//! let client = Client::builder()
//!     .token(Token::new(std::env::var("DIGITALOCEAN_ACCESS_TOKEN").unwrap_or_default())?)
//!     .base_url("http://127.0.0.1:8080/") // leave out for api.digitalocean.com
//!     .user_agent("my-tool/1.0")
//!     .timeout(Duration::from_secs(30))
//!     .build()?;
//! # Ok(client) }
//! ```
//!
//! # Droplets by tag, and a reserved IP moved
//!
//! Lists follow every page for you. An action answers at once, `in-progress`; wait for it with
//! a deadline and a poll schedule that starts short and backs off ([`WaitOptions`]): an
//! `errored` action and a deadline passed are errors.
//!
//! ```no_run
//! use std::time::Duration;
//! use do_api::{Client, WaitOptions};
//!
//! # async fn run(client: &Client) -> do_api::Result<()> {
//! let live = client.droplets().list_by_tag("PROD").await?;
//! let standby = client.droplets().list_by_tag("FALLBACK").await?;
//! let ips = client.reserved_ips().list().await?;
//! let rip = ips.iter().find(|r| r.droplet_id() == Some(live[0].id)).unwrap();
//! let action = client.reserved_ips().assign(rip.ip, standby[0].id).await?;
//! let wait = WaitOptions::with_timeout(Duration::from_secs(120));
//! client.actions().wait(action.id, &wait).await?;
//! # Ok(()) }
//! ```
//!
//! The whole program, with its error handling, is `examples/tour.rs`; CI runs it against the
//! simulator.
//!
//! # Errors
//!
//! One [`Error`] type, whose predicates say what happened: [`Error::is_not_found`],
//! [`Error::is_unauthorized`] (401 or 403: a wrong token or a missing scope),
//! [`Error::is_rate_limited`] (429 after the client's own retries), [`Error::is_server_error`],
//! [`Error::is_connect`] (the request never reached the API), [`Error::is_tls`] (the API's
//! certificate was refused: trust its CA with [`ClientBuilder::root_certificates_pem`]),
//! [`Error::is_request_timeout`] (it
//! may have been acted on), [`Error::is_wait_timeout`] (a wait's deadline), [`Error::is_decode`]
//! (an answer that did not fit; the message names the JSON path). `Display` carries the cause
//! (`could not reach the DigitalOcean API for GET /v2/droplets: no connection (tcp connect
//! error: Connection refused (os error 111))`); the HTTP client's own types stay out of the
//! public API.
//!
//! ```no_run
//! # async fn run(client: &do_api::Client) -> do_api::Result<()> {
//! match client.droplets().get(do_api::DropletId(3164444)).await {
//!     Ok(d) => println!("{} is {}", d.name, d.status),
//!     Err(e) if e.is_not_found() => println!("no such droplet"),
//!     Err(e) if e.is_connect() => println!("API unreachable: {e}"),
//!     Err(e) => return Err(e),
//! }
//! # Ok(()) }
//! ```
//!
//! # What else
//!
//! - Models are tolerant: unknown fields are ignored, enums DO may grow keep unknown values in
//!   `Unknown(String)`, anything nullable is an `Option`.
//! - Retries: 429 and refused connections on every request (a refused TLS certificate never);
//!   5xx only where repeating cannot duplicate work. `Retry-After` and `ratelimit-reset` set the wait. See [`RetryPolicy`].
//!   [`Client::rate_limit`] shows the hourly headroom last seen.
//! - The token is never shown in `Debug`, errors or logs.
//! - A tokio runtime is needed (the HTTP client runs on it); do-api itself uses only tokio's
//!   `time`, so your crate picks the runtime's features.

#![warn(missing_docs)]

mod macros;

pub(crate) use macros::string_enum;

pub mod account;
pub mod actions;
pub mod client;
pub mod common;
pub mod droplets;
pub mod error;
pub mod floating_ips;
pub mod ids;
pub mod images;
pub mod load_balancers;
pub mod monitoring;
pub mod pagination;
pub mod rate_limit;
pub mod reserved_ips;
pub mod retry;
pub mod sizes;
pub mod tags;
pub(crate) mod validate;
pub mod wait;

pub use account::{Account, AccountStatus};
pub use actions::{Action, ActionStatus, ActionType};
pub use client::{Client, ClientBuilder, Token};
pub use common::Region;
pub use droplets::{
    CreateDroplet, CreatedDroplets, Droplet, DropletAction, DropletFilter, DropletStatus, ImageRef,
    SshKeyRef,
};
pub use error::{ApiError, Error, Result, TransportError, TransportKind};
pub use floating_ips::{CreateFloatingIp, FloatingIp};
pub use ids::{ActionId, DropletId, ImageId, LoadBalancerId, ProjectId, SshKeyId, VpcId};
pub use images::{Image, ImageStatus, ImageType};
pub use load_balancers::{ForwardingRule, LoadBalancer, LoadBalancerRequest, Selector};
pub use monitoring::{LbMetric, Metrics, MetricsData, MetricsStatus, Sample, Series};
pub use pagination::Page;
pub use rate_limit::RateLimit;
pub use reserved_ips::{CreateReservedIp, ReservedIp};
pub use retry::RetryPolicy;
pub use sizes::Size;
pub use tags::{Tag, TagResource};
pub use wait::WaitOptions;

/// The README's Rust examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
