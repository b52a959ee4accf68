//! Blue-green deploys on a reserved IP: `promote`, `rollback`, `status`.
//!
//! Two droplets: one tagged live (`PROD`) holding the reserved IP, one tagged standby
//! (`FALLBACK`) that has just received the new version. Promote health-gates the standby,
//! moves the IP, verifies through the IP (switching back on failure) and swaps the tags.

mod config;
mod execute;
pub mod plan;
mod report;
pub mod steps;

pub use config::{BlueGreenConfig, Mode};
pub use execute::{DropletHealth, StatusReport, StatusState, run, status};
pub use report::{AssignTiming, BlueGreenReport, Outcome};
pub use steps::PlannedStep;

pub use crate::lock::LockSettings;
pub use crate::report::DropletSummary;
pub use plan::{InvalidRoles, Observation, Plan, Refusal, RoleField, Roles, TagMove};
