//! The plan as data, for `--dry-run` and the report.

use super::*;
use crate::bluegreen::steps::PlannedStep;

impl Run<'_> {
    pub(super) fn describe_plan(&self, p: &Plan, ip: Ipv4Addr, update: bool) -> Vec<PlannedStep> {
        let h = &self.gate;
        let mut out = Vec::new();
        match p {
            Plan::Switch { from, to } => {
                if update {
                    out.push(PlannedStep::Update {
                        droplet: to.id,
                        name: to.name.clone(),
                    });
                }
                if !(self.mode == Mode::Rollback && self.cfg.force) {
                    let url = self
                        .direct_ip(to)
                        .map(|ip| h.url_for(ip))
                        .unwrap_or_else(|Stop { message: m, .. }| m);
                    out.push(PlannedStep::HealthGate {
                        droplet: to.id,
                        url,
                        successes: h.policy.successes,
                        deadline: h.policy.deadline,
                    });
                }
                if let Some(ps) = &self.cfg.pre_switch {
                    let url = self
                        .direct_ip(from)
                        .map(|ip| h.endpoint.url_with_path(ip, &ps.path))
                        .unwrap_or_else(|Stop { message: m, .. }| m);
                    out.push(PlannedStep::PreSwitch {
                        droplet: from.id,
                        url,
                        method: ps.method.clone(),
                    });
                }
                out.push(PlannedStep::Assign {
                    ip,
                    to: to.id,
                    to_name: to.name.clone(),
                    from: from.id,
                    from_name: from.name.clone(),
                });
                out.push(PlannedStep::Confirm { ip, droplet: to.id });
                out.push(PlannedStep::Verify {
                    url: h.url_for(IpAddr::V4(ip)),
                    ip,
                    switch_back_to: from.id,
                });
                out.extend(
                    tag_moves(to, from, &self.cfg.roles)
                        .into_iter()
                        .map(PlannedStep::Tag),
                );
            }
            Plan::FinishTags { live, moves, .. } => {
                out.push(PlannedStep::Resume {
                    ip,
                    droplet: live.id,
                    name: live.name.clone(),
                    url: h.url_for(IpAddr::V4(ip)),
                });
                out.extend(moves.iter().cloned().map(PlannedStep::Tag));
            }
        }
        out
    }
}
