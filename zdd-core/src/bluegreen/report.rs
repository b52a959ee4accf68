//! What a blue-green run did.

use std::net::Ipv4Addr;
use std::time::Duration;

use serde::Serialize;

use super::config::Mode;
use crate::report::{DropletSummary, StepTiming, opt_secs, secs};
use crate::rolling::{LbSummary, Wait, WatchReport};

pub use crate::outcome::Outcome;

/// The assign action's timing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssignTiming {
    /// The action id.
    pub action_id: u64,
    /// From sending the assign to seeing the action completed.
    #[serde(with = "secs")]
    pub observed: Duration,
    /// `completed_at - started_at` as DigitalOcean reports it.
    #[serde(with = "opt_secs")]
    pub api_reported: Option<Duration>,
}

/// What a blue-green run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlueGreenReport {
    /// `promote` or `rollback`.
    pub mode: Mode,
    /// How it ended.
    pub outcome: Outcome,
    /// One line for humans.
    pub message: String,
    /// For an API failure, its kind (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_cause: Option<crate::ApiCause>,
    /// The reserved IP (absent through a load balancer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_ip: Option<Ipv4Addr>,
    /// The load balancer, when switching through one (absent with a reserved IP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LbSummary>,
    /// The droplet holding the IP (or alone in the load balancer) at the end: the live one.
    pub live: Option<DropletSummary>,
    /// The other droplet (the standby).
    pub standby: Option<DropletSummary>,
    /// Through a load balancer: every live droplet (a group can be several; `live` is set
    /// when it is one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub live_droplets: Vec<DropletSummary>,
    /// Through a load balancer: every standby.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub standby_droplets: Vec<DropletSummary>,
    /// Through a load balancer: how droplets were seen joining and leaving it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch: Option<WatchReport>,
    /// Through a load balancer: the waits applied (watched or computed), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waits: Vec<Wait>,
    /// The planned steps, in order.
    pub plan: Vec<super::steps::PlannedStep>,
    /// The steps run, with durations.
    pub steps: Vec<StepTiming>,
    /// The assign action's timing (the last one, after a switch back).
    pub assign: Option<AssignTiming>,
    /// From sending the assign to the first answer through the IP that passed the check.
    #[serde(with = "opt_secs")]
    pub time_to_new_answer: Option<Duration>,
    /// HTTP requests sent to the DigitalOcean API.
    pub api_calls: u64,
    /// Wall time.
    #[serde(with = "secs")]
    pub total: Duration,
}

impl BlueGreenReport {
    /// A run that ended with `stop` before (or instead of) the switch: nothing else known.
    pub(crate) fn stopped(mode: Mode, stop: crate::Error) -> BlueGreenReport {
        BlueGreenReport {
            mode,
            outcome: stop.outcome,
            message: stop.message,
            api_cause: stop.api_cause,
            reserved_ip: None,
            load_balancer: None,
            live: None,
            standby: None,
            live_droplets: Vec::new(),
            standby_droplets: Vec::new(),
            watch: None,
            waits: Vec::new(),
            plan: Vec::new(),
            steps: Vec::new(),
            assign: None,
            time_to_new_answer: None,
            api_calls: 0,
            total: Duration::ZERO,
        }
    }
}
