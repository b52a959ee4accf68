//! Rolling deploys behind a DigitalOcean load balancer: `roll`.
//!
//! N droplets sit behind a load balancer that selects them by tag (or by a list of ids). A
//! deploy updates them a few at a time (`max_unavailable`): each batch is taken out of rotation
//! (marked with a tag of ours so a crashed run's droplets are found again), drained, updated
//! by a hook, health-gated directly, and put back; the next batch waits until the load
//! balancer routes to it again. DigitalOcean does not report what its load balancer thinks of
//! a droplet, so the waits are computed from its health-check settings ([`waits`]), or traffic
//! is watched through it ([`watch`]).
//!
//! - [`plan`]: pure batch planning and refusals.
//! - [`waits`]: pure wait computations, with their sources.
//! - [`identity`]: recognising the droplet that answered, learned from the droplets.
//! - [`watch`]: watching droplets leave and come back through the load balancer.

mod config;
mod execute;
pub mod identity;
pub mod plan;
pub mod waits;
pub mod watch;

mod report;
pub mod steps;

pub use config::{
    InvalidRollingConfig, LbRef, OnFailure, RollingConfig, RollingField, WatchField, WatchSettings,
};
pub use execute::{run, run_with_check};
pub use identity::{Identify, Identity};
pub use plan::{Membership, RollPlan, marker_tag, plan_with_canary};
pub use report::{
    BatchReport, DropletReport, DropletState, LbSummary, Outcome, RollingReport, WatchReport,
};
pub use steps::{PlannedDroplet, RollStep};
pub use waits::{Drain, Wait, WaitHow, WaitKind};
