//! What a blue-green run is asked to do.

use std::net::Ipv4Addr;
use std::time::Duration;

use do_api::WaitOptions;
use serde::Serialize;

use super::plan::Roles;
use crate::health::{HealthGate, HealthPolicy, HealthTarget};
use crate::lock::LockSettings;

/// Promote (the standby gets the new version and the traffic) or roll back (traffic goes back
/// to the standby, which holds the previous version). The protocol is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `zdd-do promote`.
    Promote,
    /// `zdd-do rollback`.
    Rollback,
}

/// Everything a blue-green run needs to know.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlueGreenConfig {
    /// The live and standby tags.
    pub roles: Roles,
    /// The reserved IP; found from the tagged droplets when `None`.
    pub reserved_ip: Option<Ipv4Addr>,
    /// How the gate (on the droplet) and the verification (through the IP) judge.
    pub health: HealthPolicy,
    /// Where they probe (no load balancer: unset parts take the defaults).
    pub target: HealthTarget,
    /// How long to wait for the assign action.
    #[serde(skip)]
    pub assign_wait: WaitOptions,
    /// Verification through the reserved IP after a switch has its own short budget, and fails
    /// at the first answer with a failing status: traffic is already on the new droplet, so
    /// every second spent on a broken release is served to users.
    #[serde(with = "crate::report::secs")]
    pub verify_deadline: Duration,
    /// The version being deployed, passed to the update hook.
    pub version: Option<String>,
    /// Print the plan, change nothing.
    pub dry_run: bool,
    /// Rollback only: skip the health gate, and do not switch back when verification fails.
    pub force: bool,
    /// The deploy lock; `None` runs without one.
    pub lock: Option<LockSettings>,
}

impl Default for BlueGreenConfig {
    fn default() -> Self {
        BlueGreenConfig {
            roles: Roles::default(),
            reserved_ip: None,
            health: HealthPolicy::default(),
            target: HealthTarget::default(),
            assign_wait: WaitOptions::with_timeout(Duration::from_secs(120)),
            verify_deadline: Duration::from_secs(10),
            version: None,
            dry_run: false,
            force: false,
            lock: Some(LockSettings::default()),
        }
    }
}

impl BlueGreenConfig {
    /// The health gate: the target resolved (defaults for what is unset) with the policy.
    pub fn gate(&self) -> HealthGate {
        HealthGate::new(self.target.resolve_alone(), self.health.clone())
    }
}
