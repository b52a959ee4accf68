//! Blue-green deploys: `promote`, `rollback`, `status`.
//!
//! On a reserved IP: two droplets, one tagged live (`PROD`) holding the reserved IP, one tagged
//! standby (`FALLBACK`) that has just received the new version. Promote health-gates the
//! standby, asks the live droplet to stop keeping connections alive ([`PreSwitch`], optional),
//! moves the IP, verifies through the IP (switching back on failure) and swaps the tags.
//!
//! Through a load balancer ([`BlueGreenConfig::load_balancer`]): the live droplets (a pair, or
//! two groups) are in it, the standbys are not. Promote health-gates the standbys, puts them
//! in, sees them serve through it, takes the live ones out, sees them gone, allows for requests
//! in flight and swaps the tags. No IP moves, so no connection is reset ([`lb_plan`]).

mod config;
mod execute;
mod fresh;
pub mod lb_plan;
pub mod plan;
mod pre_switch;
mod report;
pub mod steps;

pub use config::{BlueGreenConfig, BlueGreenField, InvalidBlueGreenConfig, LbSettings, Mode};
pub use execute::{
    DropletHealth, LbStatusReport, StatusReport, StatusState, run, status, status_lb,
};
pub use fresh::{RETIRED_TAG_PREFIX, promote_fresh};
pub use lb_plan::{LbObservation, LbPlan};
pub use pre_switch::PreSwitch;
pub use report::{AssignTiming, BlueGreenReport, Outcome};
pub use steps::PlannedStep;

pub use crate::lb::LbRef;
pub use crate::lock::LockSettings;
pub use crate::report::DropletSummary;
pub use crate::rolling::{Identify, LbSummary, Wait, WaitHow, WatchReport, WatchSettings};
pub use plan::{InvalidRoles, Observation, Plan, Refusal, RoleField, Roles, TagMove};
