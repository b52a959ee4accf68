//! The plan as data, for `--dry-run` and the report.

use super::*;
use crate::rolling::steps::{PlannedDroplet, RollStep};

impl Run<'_> {
    pub(super) fn describe_plan(&self, p: &RollPlan, has_update: bool) -> Vec<RollStep> {
        let mut out = Vec::new();
        let gate = self.planned.summary().gate_url.unwrap_or_default();
        let w = &self.watch_report;
        let watching = self.watcher.is_some();
        out.push(RollStep::Watch {
            how: w.how,
            url: w.url.clone(),
            identity: w
                .identity
                .as_ref()
                .map(|i| format!("{}: {}", i.how, i.evidence)),
            accept_any_certificate: w.accept_any_certificate,
            reason: w.reason.clone(),
        });
        let (early, why) = self.put_back_decision();
        out.push(RollStep::PutBackWhen {
            early,
            why: why.clone(),
        });
        let budget = self.api_budget(p);
        if let RollStep::ApiBudget {
            per_minute,
            per_hour,
            limit_per_minute,
            limit_per_hour,
            ..
        } = &budget
            && (per_minute > limit_per_minute || per_hour > limit_per_hour)
        {
            let msg = format!(
                "this plan could make {per_minute} API calls in a minute and {per_hour} in an hour, over DigitalOcean's {limit_per_minute} and {limit_per_hour}: the client slows down on 429s, but other tools on the same token share the limit; use a batch delay or fewer batches"
            );
            self.steps.warn(msg.clone());
            out.push(budget);
            out.push(RollStep::Warning { message: msg });
        } else {
            out.push(budget);
        }
        let take_out: Vec<Wait> = self.take_out_waits();
        let put_back = self.put_back_waits();
        for b in &p.batches {
            out.push(RollStep::Batch {
                index: b.index,
                droplets: b
                    .members
                    .iter()
                    .map(|m| PlannedDroplet {
                        id: m.droplet.id,
                        name: m.droplet.name.clone(),
                    })
                    .collect(),
                resume: b.resume,
            });
            if !b.resume {
                out.push(RollStep::CheckStaying { gate: gate.clone() });
                out.push(RollStep::TakeOut {
                    marker: p.marker.clone(),
                    membership: p.membership.clone(),
                    drain: self.cfg.drain.clone(),
                });
                for wait in &take_out {
                    match (&self.watcher, wait.kind) {
                        (Some(w), WaitKind::LbSync | WaitKind::Detection) => {
                            out.push(RollStep::WatchGone {
                                url: w.entry.url.clone(),
                            });
                        }
                        _ => out.push(RollStep::Wait(wait.clone())),
                    }
                }
            }
            if has_update {
                out.push(RollStep::Update);
            }
            let put = RollStep::PutBack {
                membership: p.membership.clone(),
                early,
            };
            if early {
                out.push(put.clone());
            }
            out.push(RollStep::HealthGate {
                gate: gate.clone(),
                successes: self.gate().policy.successes,
                deadline: self.gate().policy.deadline,
            });
            if !early {
                out.push(put);
            }
            out.push(RollStep::Unmark {
                marker: p.marker.clone(),
            });
            match &self.watcher {
                Some(w) => out.push(RollStep::WatchLb {
                    url: w.entry.url.clone(),
                    sightings: self.cfg.watch.sightings,
                    deadline: self.watch_deadline(),
                }),
                None => out.extend(put_back.iter().cloned().map(RollStep::Wait)),
            }
            if let Some(c) = &self.cfg.canary
                && p.batches.iter().find(|b| !b.resume).map(|b| b.index) == Some(b.index)
            {
                out.push(RollStep::Analysis {
                    window: c.window,
                    judges: [
                        (c.judges.probes, crate::canary::JudgeKind::Probes),
                        (c.judges.lb_metrics, crate::canary::JudgeKind::LbMetrics),
                        (c.judges.check, crate::canary::JudgeKind::Check),
                    ]
                    .into_iter()
                    .filter_map(|(on, k)| on.then_some(k))
                    .collect(),
                    path: c.path.clone(),
                    thresholds: c.thresholds.clone(),
                });
            }
            if b.index < p.batches.len() && !self.cfg.batch_delay.is_zero() {
                out.push(RollStep::BatchDelay(waits::batch_delay(
                    self.cfg.batch_delay,
                    self.cfg.wait_scale,
                )));
            }
        }
        let counted = |list: &[Wait], kinds: &[WaitKind]| -> Duration {
            list.iter()
                .filter(|w| !watching || !kinds.contains(&w.kind))
                .map(|w| w.applied)
                .sum()
        };
        let take_out_total = counted(&take_out, &[WaitKind::LbSync, WaitKind::Detection]);
        let put_back_total = counted(&put_back, &[WaitKind::LbSync, WaitKind::Routing]);
        let waited: Duration = p
            .batches
            .iter()
            .map(|b| {
                let out = if b.resume {
                    Duration::ZERO
                } else {
                    take_out_total
                };
                out + put_back_total
            })
            .sum::<Duration>()
            + waits::scaled(self.cfg.batch_delay, self.cfg.wait_scale)
                * (p.batches.len().saturating_sub(1) as u32);
        out.push(RollStep::TotalWaits { applied: waited });
        if let Some(l) = &self.cfg.lock
            && waited > l.ttl
        {
            let msg = format!(
                "the waits alone ({}s) exceed the deploy lock's TTL ({}s): another run could take the lock as stale midway; raise the lock TTL",
                waits::fmt_secs(waited),
                l.ttl.as_secs()
            );
            self.steps.warn(msg.clone());
            out.push(RollStep::Warning { message: msg });
        }
        out.push(RollStep::OnFailure {
            action: self.cfg.on_failure,
        });
        out
    }

    /// The run's API calls against DigitalOcean's limits (250 a minute, 5,000 an hour per
    /// token: the API reference's rate-limit section): the observation, the marker, four calls a
    /// batch (mark, leave, join, unmark), and the lock's renewals (a create and a delete every
    /// quarter lease). A batch cannot be shorter than the load balancer's fastest possible
    /// put-back, `(healthy_threshold - 1)` check intervals, which bounds the batches in a
    /// minute or an hour.
    fn api_budget(&self, p: &RollPlan) -> RollStep {
        let batches = p.batches.len();
        let calls = 7 + 4 * batches;
        let hc = self.lb_health();
        let fastest = waits::scaled(
            Duration::from_secs(u64::from(hc.check_interval_seconds.max(1)))
                * hc.healthy_threshold.saturating_sub(1).max(1),
            self.cfg.wait_scale,
        )
        .max(Duration::from_millis(1));
        let in_window = |window: Duration| -> usize {
            ((window.as_secs_f64() / fastest.as_secs_f64()).ceil() as usize + 1).min(batches)
        };
        let lock_per = |window: Duration| -> usize {
            self.cfg.lock.as_ref().map_or(0, |l| {
                let every = (l.lease / 4).max(Duration::from_secs(1));
                2 * (window.as_secs_f64() / every.as_secs_f64()).ceil() as usize
            })
        };
        let minute = Duration::from_secs(60);
        let hour = Duration::from_secs(3600);
        RollStep::ApiBudget {
            calls,
            lock_per_minute: lock_per(minute),
            per_minute: (7 + 4 * in_window(minute)).min(calls) + lock_per(minute),
            per_hour: (7 + 4 * in_window(hour)).min(calls) + lock_per(hour),
            limit_per_minute: 250,
            limit_per_hour: 5000,
        }
    }
}
