//! The plan as data, for `--dry-run` and the report.

use super::*;
use crate::rolling::steps::{PlannedDroplet, RollStep};

impl Run<'_> {
    pub(super) fn describe_plan(&self, p: &RollPlan, has_update: bool) -> Vec<RollStep> {
        let mut out = Vec::new();
        let gate = self.planned.summary().gate_url.unwrap_or_default();
        let take_out = self.take_out_waits();
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
                out.extend(take_out.iter().cloned().map(RollStep::Wait));
            }
            if has_update {
                out.push(RollStep::Update);
            }
            out.push(RollStep::HealthGate {
                gate: gate.clone(),
                successes: self.gate().policy.successes,
                deadline: self.gate().policy.deadline,
            });
            out.push(RollStep::PutBack {
                marker: p.marker.clone(),
                membership: p.membership.clone(),
            });
            match &self.cfg.lb_probe {
                Some(probe) => out.push(RollStep::WatchLb {
                    url: probe.url.clone(),
                    deadline: self.probe_deadline(),
                }),
                None => out.extend(put_back.iter().cloned().map(RollStep::Wait)),
            }
            if b.index < p.batches.len() && !self.cfg.batch_delay.is_zero() {
                out.push(RollStep::BatchDelay(waits::batch_delay(
                    self.cfg.batch_delay,
                    self.cfg.wait_scale,
                )));
            }
        }
        let put_back_total = if self.cfg.lb_probe.is_some() {
            Duration::ZERO
        } else {
            waits::total_applied(&put_back)
        };
        let waited: Duration = p
            .batches
            .iter()
            .map(|b| {
                let out = if b.resume {
                    Duration::ZERO
                } else {
                    waits::total_applied(&take_out)
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
}
