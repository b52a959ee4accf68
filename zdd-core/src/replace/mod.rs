//! `replace`: immutable replacement of the fleet behind a load balancer. New droplets are
//! created beside the old ones (a surge), health-gated, put into rotation and watched serving;
//! then the old ones are taken out and kept, for an instant rollback, until finalized.
//!
//! So far this module holds the pure plan ([`plan()`], in [`mod@plan`]); the executor, the
//! command and the rollback come next (issue 12).

pub mod plan;

pub use plan::{
    CostEstimate, NewDroplets, Observation, RUN_TAG_PREFIX, ReplacePlan, Template, plan, run_id,
    run_of,
};
