//! What a replace, its rollback or a finalize did.

use std::time::Duration;

use serde::Serialize;

use super::plan::CostEstimate;
use crate::Outcome;
use crate::report::{DropletSummary, StepTiming, secs};
use crate::rolling::waits::Wait;
use crate::rolling::{LbSummary, WatchReport};

/// Which command ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplaceAction {
    /// `zdd-do replace`.
    Replace,
    /// `zdd-do rollback --lb` after a replace.
    Rollback,
    /// `zdd-do replace --finalize`.
    Finalize,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplaceReport {
    /// Which command.
    pub action: ReplaceAction,
    /// How it ended.
    pub outcome: Outcome,
    /// One line for humans.
    pub message: String,
    /// For an API failure, its kind (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_cause: Option<crate::ApiCause>,
    /// The load balancer.
    pub load_balancer: Option<LbSummary>,
    /// The run's tag (`zdd-run:<id>`): the replace's own, or the one rolled back.
    pub run_tag: Option<String>,
    /// The plan, in order, one line per step (waits say whether they are watched or computed).
    pub plan: Vec<String>,
    /// API requests the plan expected to make.
    pub api_requests_planned: Option<u64>,
    /// What the new droplets cost while both fleets run, when the size's price is known.
    pub cost: Option<CostEstimate>,
    /// Droplets created by this run.
    pub created: Vec<DropletSummary>,
    /// The fleet serving at the end (when known).
    pub serving: Vec<DropletSummary>,
    /// The fleet kept out of the load balancer for a rollback.
    pub previous: Vec<DropletSummary>,
    /// Until when it is kept (Unix seconds).
    pub keep_until: Option<u64>,
    /// Droplets deleted (expired previous fleets, failed new droplets, a rolled-back run,
    /// finalized ones).
    pub deleted: Vec<DropletSummary>,
    /// The canary analysis, when one ran (`ReplaceConfig::canary`).
    pub canary: Option<crate::canary::CanaryReport>,
    /// How droplets were seen joining and leaving (absent when the run stopped before).
    pub watch: Option<WatchReport>,
    /// The waits applied, with their reasons.
    pub waits: Vec<Wait>,
    /// The steps run, with durations.
    pub steps: Vec<StepTiming>,
    /// HTTP requests sent to the DigitalOcean API.
    pub api_calls: u64,
    /// Wall time.
    #[serde(with = "secs")]
    pub total: Duration,
}
