//! Canary analysis: a few new droplets take real traffic next to the old ones for a window,
//! then judges compare them with the old droplets and the deploy goes on or is undone.
//!
//! - [`config`]: how many canaries, the window, the judges, the thresholds.
//! - [`judge`]: the pure comparison and verdicts (inconclusive never passes).
//! - [`metrics`]: the load balancer's metrics from DigitalOcean's Monitoring API as a judge.
//! - the probes judge and the user's check run in `analyse`, which a strategy calls once its
//!   canaries are seen serving.

mod analyse;
pub mod config;
pub mod judge;
pub mod metrics;

use std::future::Future;

use serde::Serialize;

pub use config::{CanaryConfig, CanaryField, CanarySize, Judges, Thresholds};
pub use judge::{Figures, JudgeKind, JudgeResult, Verdict};

pub(crate) use analyse::{Analysis, analyse};

use crate::report::DropletSummary;

/// What a canary analysis found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CanaryReport {
    /// The droplets judged.
    pub canaries: Vec<DropletSummary>,
    /// When the window began and ended (unix seconds).
    pub window_start: u64,
    /// See [`CanaryReport::window_start`].
    pub window_end: u64,
    /// The analysis's verdict.
    pub verdict: Verdict,
    /// Each judge's.
    pub judges: Vec<JudgeResult>,
    /// Requests the canaries failed during the window (their blast radius), when counted, and
    /// who counted them.
    pub failed_requests: Option<BlastRadius>,
    /// The analysis was not run again: an earlier attempt of the same run passed it (droplets
    /// join beyond the canaries only after a pass).
    pub passed_earlier: bool,
}

impl CanaryReport {
    /// Why the canaries do not go on (every judge that did not pass, with its figures, and
    /// their blast radius), or `None` when they passed.
    pub fn failure(&self) -> Option<String> {
        if self.verdict == Verdict::Pass {
            return None;
        }
        Some(format!(
            "the canary analysis {} ({}){}",
            if self.verdict == Verdict::Fail {
                "failed"
            } else {
                "was inconclusive, which does not pass"
            },
            self.judges
                .iter()
                .filter(|r| r.verdict != Verdict::Pass)
                .map(|r| format!("{}: {}", r.judge.label(), r.reason))
                .collect::<Vec<_>>()
                .join("; "),
            self.failed_requests
                .as_ref()
                .map(|b| format!(
                    "; the canaries failed {} request(s) in the window (counted by {})",
                    b.requests,
                    b.counted_by.label()
                ))
                .unwrap_or_default()
        ))
    }
}

/// Requests the canaries failed in the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlastRadius {
    /// How many.
    pub requests: u64,
    /// `lb_metrics` (every client's requests, estimated from the load balancer's rates) or
    /// `probes` (zdd-do's own probes only).
    pub counted_by: JudgeKind,
}

/// What the user's check is given: the canaries, the droplets they are compared with, and the
/// window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CanaryContext {
    /// The canaries.
    pub canaries: Vec<DropletSummary>,
    /// The old droplets serving beside them.
    pub old: Vec<DropletSummary>,
    /// The release the canaries run, when known.
    pub version: Option<String>,
    /// The load balancer's id.
    pub lb_id: String,
    /// Its name.
    pub lb_name: String,
    /// The window (unix seconds).
    pub window_start: u64,
    /// See [`CanaryContext::window_start`].
    pub window_end: u64,
}

/// What the user's check concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// Pass (a command exiting 0).
    Pass,
    /// Fail (a command exiting non-zero), and why.
    Fail(String),
    /// The check could not run or finish (not started, timed out, killed), and why.
    Inconclusive(String),
}

/// The user's own canary check.
pub trait CanaryCheck: Send + Sync {
    /// Judge the canaries of `ctx` once their window is over.
    fn check(&self, ctx: &CanaryContext) -> impl Future<Output = CheckOutcome> + Send;
    /// How reports name it (the command).
    fn describe(&self) -> String;
}

/// No check.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCheck;

impl CanaryCheck for NoCheck {
    async fn check(&self, _ctx: &CanaryContext) -> CheckOutcome {
        CheckOutcome::Inconclusive("no check was given".into())
    }

    fn describe(&self) -> String {
        "none".into()
    }
}
