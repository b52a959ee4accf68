//! Zero-downtime deploy strategies for DigitalOcean, on top of [`do_api`].
//!
//! - [`bluegreen`]: move a reserved IP from the live droplet to a health-checked standby and
//!   swap the live/standby tags, with automatic switch-back and instant rollback.
//!
//! Core never prints and never reads flags or environment variables: it reports through an
//! [`events::EventSink`] and returns reports that callers render.

pub mod bluegreen;
pub mod events;
pub mod health;
pub mod hook;
pub mod lock;
pub mod report;
