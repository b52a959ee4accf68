//! The plan through a load balancer as data, for `--dry-run` and the report.

use super::*;
use crate::bluegreen::plan::group_tag_moves;
use crate::bluegreen::steps::PlannedStep;
use crate::rolling::steps::PlannedDroplet;
use crate::rolling::waits::WaitHow;

fn planned(ds: &[Droplet]) -> Vec<PlannedDroplet> {
    ds.iter()
        .map(|d| PlannedDroplet {
            id: d.id,
            name: d.name.clone(),
        })
        .collect()
}

impl Run<'_> {
    pub(super) fn describe_lb_plan(&self, p: &LbPlan, update: bool) -> Vec<PlannedStep> {
        let t = self.through();
        let lb = t.lb.name.clone();
        let report = t.watch_report.clone().unwrap_or_default();
        let how = report.how;
        let forced = self.mode == Mode::Rollback && self.cfg.force;
        let gate_steps = |ds: &[Droplet]| -> Vec<PlannedStep> {
            ds.iter()
                .map(|d| PlannedStep::HealthGate {
                    droplet: d.id,
                    url: self
                        .direct_ip(d)
                        .map(|ip| self.gate.url_for(ip))
                        .unwrap_or_else(|Stop { message: m, .. }| m),
                    successes: self.gate.policy.successes,
                    deadline: self.gate.policy.deadline,
                })
                .collect()
        };
        let see_serving = |ds: &[Droplet]| PlannedStep::SeeServing {
            droplets: planned(ds),
            how,
            url: report.url.clone(),
            deadline: (how == WaitHow::Observed).then(|| t.watch_deadline(&self.gate)),
            waits: if how == WaitHow::Computed {
                t.join_waits()
            } else {
                Vec::new()
            },
        };
        let leave_and_gone = |ds: &[Droplet]| {
            let mut waits = if how == WaitHow::Computed {
                t.sync_wait()
            } else {
                Vec::new()
            };
            waits.extend(t.allowance());
            [
                PlannedStep::Leave {
                    load_balancer: lb.clone(),
                    membership: t.membership.clone(),
                    droplets: planned(ds),
                },
                PlannedStep::SeeGone {
                    droplets: planned(ds),
                    how,
                    url: report.url.clone(),
                    waits,
                },
            ]
        };
        let tags = |live: &[Droplet], standby: &[Droplet]| {
            group_tag_moves(live, standby, &self.cfg.roles)
                .into_iter()
                .map(PlannedStep::Tag)
        };
        let mut out = Vec::new();
        if let LbPlan::Continue { from: old, to: new }
        | LbPlan::FinishTags {
            live: new,
            standby: old,
            ..
        } = p
        {
            out.push(PlannedStep::ResumeLb {
                load_balancer: lb.clone(),
                joined: planned(new),
                leaving: if matches!(p, LbPlan::Continue { .. }) {
                    planned(old)
                } else {
                    Vec::new()
                },
            });
        }
        out.push(PlannedStep::Watch {
            how,
            url: report.url.clone(),
            identity: report
                .identity
                .as_ref()
                .map(|i| format!("{}: {}", i.how, i.evidence)),
            reason: report.reason.clone(),
        });
        match p {
            LbPlan::Switch { from, to } => {
                if update {
                    out.extend(to.iter().map(|d| PlannedStep::Update {
                        droplet: d.id,
                        name: d.name.clone(),
                    }));
                }
                if !forced {
                    out.extend(gate_steps(to));
                }
                out.push(PlannedStep::Join {
                    load_balancer: lb.clone(),
                    membership: t.membership.clone(),
                    droplets: planned(to),
                });
                out.push(see_serving(to));
                out.extend(leave_and_gone(from));
                out.extend(tags(to, from));
            }
            LbPlan::Continue { from, to } => {
                if !forced {
                    out.extend(gate_steps(to));
                }
                out.push(see_serving(to));
                out.extend(leave_and_gone(from));
                out.extend(tags(to, from));
            }
            LbPlan::FinishTags { live, moves, .. } => {
                out.extend(gate_steps(live));
                if how == WaitHow::Observed {
                    out.push(see_serving(live));
                }
                out.extend(moves.iter().cloned().map(PlannedStep::Tag));
            }
        }
        out
    }
}
