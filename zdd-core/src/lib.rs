//! Zero-downtime deploy strategies for DigitalOcean, on top of [`do_api`].
//!
//! - [`bluegreen`]: move a reserved IP from the live droplet to a health-checked standby and
//!   swap the live/standby tags, with automatic switch-back and instant rollback.
//! - [`rolling`]: update the droplets behind a load balancer a few at a time, taking each out
//!   of rotation, health-gating it and putting it back, with waits computed from the load
//!   balancer's health check; pause or roll back on failure, resume after a crash.
//! - [`unlock`]: break a deploy lock by hand; [`lb`]: find a load balancer by id or name.
//!
//! Core never prints and never reads flags or environment variables: it reports through an
//! [`events::EventSink`] and returns reports that callers render.

#![warn(missing_docs)]

pub mod bluegreen;
pub mod canary;
pub mod doctor;
mod error;
pub mod events;
pub mod health;
pub mod hook;
pub mod lb;
pub mod lock;
pub mod outcome;
pub mod refusal;
pub mod replace;
pub mod report;
pub mod rolling;
mod rotation;
mod runner;
pub mod serde_time;
pub mod unlock;

pub use error::{ApiCause, Error};
pub use outcome::Outcome;
pub use refusal::Refusal;
