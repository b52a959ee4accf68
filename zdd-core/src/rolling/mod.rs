//! Rolling deploys behind a DigitalOcean load balancer: `roll`.
//!
//! N droplets sit behind a load balancer that selects them by tag (or by a list of ids). A
//! deploy updates them a few at a time (`max_unavailable`): each batch is taken out of rotation
//! (marked with a tag of ours so a crashed run's droplets are found again), drained, updated
//! by a hook, health-gated directly, and put back; the next batch waits until the load
//! balancer routes to it again. DigitalOcean does not report what its load balancer thinks of
//! a droplet, so the waits are computed from its health-check settings ([`waits`]), or traffic
//! is watched through it ([`probe`]).
//!
//! - [`plan`]: pure batch planning and refusals.
//! - [`waits`]: pure wait computations, with their sources.
//! - [`probe`]: recognising the droplet that answered through the load balancer.

mod config;
mod execute;
pub mod plan;
pub mod probe;
pub mod waits;

mod report;
pub mod steps;

pub use config::{InvalidRollingConfig, LbRef, OnFailure, RollingConfig, RollingField};
pub use execute::run;
pub use plan::{Membership, RollPlan, marker_tag};
pub use probe::{Identify, LbProbe};
pub use report::{BatchReport, DropletReport, DropletState, LbSummary, Outcome, RollingReport};
pub use steps::{PlannedDroplet, RollStep};
pub use waits::{Drain, Wait, WaitKind};
