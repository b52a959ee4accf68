//! The plan as data: the steps a rolling run will take, serializable for
//! `--dry-run --output json`, with a line each ([`fmt::Display`]) for people (steps inside a
//! batch are indented).

use std::fmt;
use std::time::Duration;

use do_api::DropletId;
use serde::Serialize;

use super::config::OnFailure;
use super::plan::Membership;
use super::waits::{Drain, Wait, WaitHow, fmt_secs};
use crate::report::secs;

/// A droplet named in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedDroplet {
    /// Its id.
    pub id: DropletId,
    /// Its name.
    pub name: String,
}

/// One planned step.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum RollStep {
    /// How droplets are seen leaving and joining the load balancer.
    Watch {
        /// `observed` or `computed`.
        how: WaitHow,
        /// The URL watched.
        url: Option<String>,
        /// How answers name their droplet, and how that was found out.
        identity: Option<String>,
        /// The URL is https, probed without checking its certificate (for watching only).
        accept_any_certificate: bool,
        /// Why the waits are computed.
        reason: Option<String>,
    },
    /// When a batch goes back into the load balancer.
    PutBackWhen {
        /// While it boots (before its gate passes).
        early: bool,
        /// Why.
        why: String,
    },
    /// DigitalOcean's API rate limits against this run's calls.
    ApiBudget {
        /// Calls for the observation and the batches: `7 + 4 × batches`.
        calls: usize,
        /// Calls a minute renewing the deploy lock (two every quarter lease).
        lock_per_minute: usize,
        /// At most this many in any minute.
        per_minute: usize,
        /// At most this many in any hour.
        per_hour: usize,
        /// DigitalOcean's limit per minute.
        limit_per_minute: usize,
        /// DigitalOcean's limit per hour.
        limit_per_hour: usize,
    },
    /// Watch the batch leave the load balancer.
    WatchGone {
        /// The URL watched.
        url: String,
    },
    /// A batch starts.
    Batch {
        /// 1-based.
        index: usize,
        /// Its droplets.
        droplets: Vec<PlannedDroplet>,
        /// Left out of rotation by an earlier run: resumed.
        resume: bool,
    },
    /// Probe, directly, the droplets that stay in rotation.
    CheckStaying {
        /// The health-check URL (with `<droplet-ip>`).
        gate: String,
    },
    /// Take the batch out of rotation.
    TakeOut {
        /// The marker tag that lets a later run find it.
        marker: String,
        /// How the load balancer selects droplets.
        membership: Membership,
        /// How it is drained.
        drain: Drain,
    },
    /// A computed wait inside a batch.
    Wait(Wait),
    /// Run the update command for each droplet.
    Update,
    /// Probe each droplet directly until it passes.
    HealthGate {
        /// The health-check URL (with `<droplet-ip>`).
        gate: String,
        /// Passing probes in a row needed.
        successes: u32,
        /// Given up after.
        #[serde(with = "secs")]
        deadline: Duration,
    },
    /// Put the batch back into rotation.
    PutBack {
        /// How the load balancer selects droplets.
        membership: Membership,
        /// While it boots, before the gate.
        early: bool,
    },
    /// Remove the marker from the droplets whose gate passed.
    Unmark {
        /// The marker tag removed.
        marker: String,
    },
    /// Watch traffic through the load balancer until each droplet answers.
    WatchLb {
        /// The URL watched.
        url: String,
        /// Answers each droplet must give.
        sightings: u32,
        /// Given up after.
        #[serde(with = "secs")]
        deadline: Duration,
    },
    /// The canary batch takes traffic beside the droplets not updated yet for the window, then
    /// is judged; a failure (or inconclusive) takes it out again and rolls it back.
    Analysis {
        /// How long it takes traffic.
        #[serde(with = "secs")]
        window: Duration,
        /// Who judges.
        judges: Vec<crate::canary::JudgeKind>,
        /// The page the probes ask.
        path: String,
        /// When the canary fails.
        thresholds: crate::canary::Thresholds,
    },
    /// The pause between batches.
    BatchDelay(Wait),
    /// The computed waits added up.
    TotalWaits {
        /// Their sum, as applied.
        #[serde(with = "secs")]
        applied: Duration,
    },
    /// Something to know before running it.
    Warning {
        /// What.
        message: String,
    },
    /// What happens when a droplet fails.
    OnFailure {
        /// Pause or roll back.
        action: OnFailure,
    },
}

impl fmt::Display for RollStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RollStep::Watch {
                how: WaitHow::Observed,
                url,
                identity,
                accept_any_certificate,
                ..
            } => {
                write!(
                    f,
                    "watch droplets leave and join through {}",
                    url.as_deref().unwrap_or("the load balancer")
                )?;
                if let Some(i) = identity {
                    write!(f, " ({i})")?;
                }
                if *accept_any_certificate {
                    f.write_str("; its certificate is not checked (for watching only)")?;
                }
                Ok(())
            }
            RollStep::Watch { reason, .. } => write!(
                f,
                "computed waits, not watched: {}",
                reason.as_deref().unwrap_or("nothing to watch")
            ),
            RollStep::PutBackWhen { why, .. } => write!(f, "put each batch back {why}"),
            RollStep::ApiBudget {
                calls,
                lock_per_minute,
                per_minute,
                per_hour,
                limit_per_minute,
                limit_per_hour,
            } => write!(
                f,
                "API calls: {calls} for the observation and the batches, plus {lock_per_minute} a minute renewing the lock; at most {per_minute} in any minute and {per_hour} in any hour (DigitalOcean allows {limit_per_minute} a minute and {limit_per_hour} an hour per token)"
            ),
            RollStep::WatchGone { url } => write!(
                f,
                "  watch {url} until the batch no longer answers (answers in a row from the other droplets, at their share of the traffic)"
            ),
            RollStep::Batch {
                index,
                droplets,
                resume,
            } => {
                let list: Vec<String> = droplets
                    .iter()
                    .map(|d| format!("{} ({})", d.id, d.name))
                    .collect();
                write!(f, "batch {index}: {}", list.join(", "))?;
                if *resume {
                    f.write_str(" [left out of rotation by an earlier run: resume]")?;
                }
                Ok(())
            }
            RollStep::CheckStaying { gate } => write!(
                f,
                "  check directly that the droplets staying in rotation pass {gate}"
            ),
            RollStep::TakeOut {
                marker,
                membership,
                drain,
            } => {
                let remove = match membership {
                    Membership::Tag(t) => format!("untag `{t}`"),
                    Membership::DropletIds => "remove from the load balancer".into(),
                };
                match drain {
                    Drain::Remove => write!(f, "  take out: tag `{marker}`, {remove}"),
                    Drain::ShutdownUrl { path, method } => write!(
                        f,
                        "  take out: tag `{marker}`, {method} {path} on the droplet and see its health check fail, then {remove}"
                    ),
                }
            }
            RollStep::Wait(w) => write!(f, "  wait {w}"),
            RollStep::Update => {
                f.write_str("  run the update command on each droplet of the batch, all at once")
            }
            RollStep::HealthGate {
                gate,
                successes,
                deadline,
            } => write!(
                f,
                "  health-gate each at {gate} ({successes} passing in a row within {}s)",
                fmt_secs(*deadline)
            ),
            RollStep::PutBack { membership, early } => {
                match membership {
                    Membership::Tag(t) => write!(f, "  put back: tag `{t}`")?,
                    Membership::DropletIds => {
                        f.write_str("  put back: add to the load balancer")?
                    }
                }
                if *early {
                    f.write_str(" while booting (a droplet answering wrongly is taken out again)")?;
                }
                Ok(())
            }
            RollStep::Unmark { marker } => write!(f, "  untag `{marker}` once the gate passed"),
            RollStep::WatchLb {
                url,
                sightings,
                deadline,
            } => write!(
                f,
                "  watch {url} until each droplet answers {sightings} time(s) (within {}s)",
                fmt_secs(*deadline)
            ),
            RollStep::BatchDelay(w) => write!(f, "wait {w}"),
            RollStep::Analysis {
                window,
                judges,
                path,
                thresholds: t,
            } => write!(
                f,
                "canary: this batch takes traffic beside the droplets not updated yet for {}s, then is judged by {} (probes ask {path}); it fails above {:.1} points more errors or a p95 above the others' × {} + {} ms, or with fewer than {} requests (inconclusive never passes): then it leaves the load balancer and is rolled back",
                window.as_secs(),
                judges
                    .iter()
                    .map(|j| j.label())
                    .collect::<Vec<_>>()
                    .join(", "),
                t.max_error_rate_increase * 100.0,
                t.max_p95_ratio,
                t.p95_slack.as_millis(),
                t.min_requests
            ),
            RollStep::TotalWaits { applied } => write!(
                f,
                "computed waits: {}s in all, plus the update commands, health gates and watched waits",
                fmt_secs(*applied)
            ),
            RollStep::Warning { message } => write!(f, "warning: {message}"),
            RollStep::OnFailure { action } => f.write_str(match action {
                OnFailure::Pause => "on failure: leave the failed droplet out of rotation and stop",
                OnFailure::Rollback => {
                    "on failure: run the rollback command on the updated droplets, newest first"
                }
            }),
        }
    }
}
