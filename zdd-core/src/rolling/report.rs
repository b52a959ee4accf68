//! What a rolling run did: its outcome, batches, droplets and waits.

use std::time::Duration;

use std::net::{IpAddr, Ipv4Addr};

use do_api::load_balancers::{HealthCheck, LoadBalancer};
use do_api::{DropletId, LoadBalancerId};
use serde::Serialize;

use super::plan::Membership;
use super::waits::Wait;
use crate::events::Step;
use crate::health::HealthGate;
use crate::report::{DropletSummary, StepTiming, opt_secs, secs};

pub use crate::outcome::Outcome;

/// Where a droplet ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropletState {
    /// Not reached.
    Pending,
    /// Updated, healthy, back in rotation.
    Updated,
    /// Failed; see `failed_step` and `error`.
    Failed,
    /// Rolled back and back in rotation.
    RolledBack,
    /// The rollback failed; out of rotation.
    RollbackFailed,
}

/// One droplet's part in the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DropletReport {
    /// The droplet as first observed.
    pub droplet: DropletSummary,
    /// Its batch (1-based).
    pub batch: usize,
    /// Left out by an earlier run, resumed first.
    pub resumed: bool,
    /// Where it ended up.
    pub state: DropletState,
    /// Whether it is out of rotation (carrying the marker tag) at the end.
    pub out_of_rotation: bool,
    /// The step that failed.
    pub failed_step: Option<Step>,
    /// Why.
    pub error: Option<String>,
    /// The update command's duration.
    #[serde(with = "opt_secs")]
    pub update: Option<Duration>,
    /// The health gate's duration.
    #[serde(with = "opt_secs")]
    pub health_gate: Option<Duration>,
    /// The rollback (command and gate).
    #[serde(with = "opt_secs")]
    pub rollback: Option<Duration>,
    /// From taking it out to the load balancer routing to it again (waited or observed).
    #[serde(with = "opt_secs")]
    pub time_out_of_rotation: Option<Duration>,
    /// Watched: from the start of the watch after putting it back to its first answer through
    /// the load balancer.
    #[serde(with = "opt_secs")]
    pub seen_through_lb_after: Option<Duration>,
}

/// One batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchReport {
    /// 1-based; rollback batches continue the numbering.
    pub index: usize,
    /// `update` or `rollback`.
    pub purpose: crate::hook::HookPurpose,
    /// Its droplets.
    pub droplets: Vec<DropletId>,
    /// Droplets left out by an earlier run.
    pub resume: bool,
    /// The waits applied, in order, with their reasons.
    pub waits: Vec<Wait>,
    /// Wall time.
    #[serde(with = "secs")]
    pub duration: Duration,
    /// Whether every droplet came back.
    pub ok: bool,
}

/// How droplets were seen leaving and joining the load balancer: watched through it, or
/// computed waits (and why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WatchReport {
    /// `observed` or `computed`.
    pub how: super::waits::WaitHow,
    /// The URL watched.
    pub url: Option<String>,
    /// Where that URL comes from.
    pub source: Option<String>,
    /// The URL is https and its certificate is not checked (for watching only).
    pub accept_any_certificate: bool,
    /// How answers name their droplet.
    pub identity: Option<super::identity::Identity>,
    /// Why the waits are computed.
    pub reason: Option<String>,
}

impl Default for WatchReport {
    fn default() -> Self {
        WatchReport {
            how: super::waits::WaitHow::Computed,
            url: None,
            source: None,
            accept_any_certificate: false,
            identity: None,
            reason: Some("not decided yet".into()),
        }
    }
}

/// The load balancer, as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LbSummary {
    /// Id.
    pub id: LoadBalancerId,
    /// Name.
    pub name: String,
    /// How it selects droplets.
    pub membership: Membership,
    /// Its health check (defaults of the spec when absent).
    pub health_check: HealthCheck,
    /// The direct health gate URL, with `<droplet-ip>` for the address.
    pub gate_url: Option<String>,
}

impl LbSummary {
    /// `lb` as a report shows it: `health_check` is its check (the spec's defaults when
    /// absent), `gate` the direct health gate resolved against it.
    pub(crate) fn new(lb: &LoadBalancer, health_check: HealthCheck, gate: &HealthGate) -> Self {
        LbSummary {
            id: lb.id.clone(),
            name: lb.name.clone(),
            membership: crate::lb::membership(lb),
            health_check,
            gate_url: Some(
                gate.url_for(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
                    .replace("0.0.0.0", "<droplet-ip>"),
            ),
        }
    }
}

/// What a rolling run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollingReport {
    /// How it ended.
    pub outcome: Outcome,
    /// One line for humans.
    pub message: String,
    /// For an API failure, its kind (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_cause: Option<crate::ApiCause>,
    /// The load balancer.
    pub load_balancer: Option<LbSummary>,
    /// The tag marking droplets we took out of rotation.
    pub marker_tag: Option<String>,
    /// How droplets were seen leaving and joining (absent when the run stopped before).
    pub watch: Option<WatchReport>,
    /// `--max-unavailable`.
    pub max_unavailable: std::num::NonZeroUsize,
    /// `--wait-scale` (1 in production).
    pub wait_scale: f64,
    /// The plan: batches and computed waits, in order.
    pub plan: Vec<super::steps::RollStep>,
    /// The batches run.
    pub batches: Vec<BatchReport>,
    /// Every droplet, in plan order.
    pub droplets: Vec<DropletReport>,
    /// The canary analysis of the first batch, when one ran.
    pub canary: Option<crate::canary::CanaryReport>,
    /// The steps run, with durations.
    pub steps: Vec<StepTiming>,
    /// HTTP requests sent to the DigitalOcean API.
    pub api_calls: u64,
    /// Wall time.
    #[serde(with = "secs")]
    pub total: Duration,
}
