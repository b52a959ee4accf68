//! `replace`: immutable replacement of the fleet behind a load balancer. New droplets are
//! created beside the old ones (a surge), health-gated, put into rotation and watched serving;
//! then the old ones are taken out and kept, for an instant rollback, until finalized.
//!
//! - [`mod@plan`]: the pure plan (what to create, adopt, take out, delete; the checks and the
//!   cost); [`undo`]: the pure plans of [`rollback`] and [`finalize`].
//! - [`tags`]: the state a run leaves on the droplets, so that any later run reads it back.
//! - [`run`], [`rollback`], [`finalize`]: the executors, with the lock, the events and a
//!   [`ReplaceReport`].

mod config;
mod execute;
pub mod plan;
mod report;
pub mod status;
pub mod tags;
pub mod undo;

pub use config::{DEFAULT_KEEP_PREVIOUS, ReplaceConfig};
pub use execute::{finalize, has_previous, rollback, run, run_with_check};
pub use plan::{
    CostEstimate, NewDroplets, Observation, RUN_TAG_PREFIX, ReplacePlan, Template, plan, run_id,
    run_of,
};
pub use report::{ReplaceAction, ReplaceReport};
pub use status::{ReplaceState, ReplaceStatus, status};
pub use undo::{FinalizePlan, RollbackPlan, finalize_plan, rollback_plan};
