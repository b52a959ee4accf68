//! The plan in words, for `--dry-run` and the report.

use super::*;

impl Run<'_> {
    pub(super) fn describe_plan(&self, p: &Plan, ip: Ipv4Addr, update: bool) -> Vec<String> {
        let h = &self.cfg.health;
        let mut out = Vec::new();
        match p {
            Plan::Switch { from, to } => {
                if update {
                    out.push(format!(
                        "run the update command for droplet {} ({})",
                        to.id, to.name
                    ));
                }
                if !(self.mode == Mode::Rollback && self.cfg.force) {
                    let url = self
                        .direct_ip(to)
                        .map(|ip| h.url_for(ip))
                        .unwrap_or_else(|Stop { message: m, .. }| m);
                    out.push(format!(
                        "health-gate droplet {} at {url} ({} passing in a row within {}s)",
                        to.id,
                        h.successes,
                        h.deadline.as_secs()
                    ));
                }
                out.push(format!(
                    "assign {ip} to droplet {} ({}), from droplet {} ({}), and wait for the action",
                    to.id, to.name, from.id, from.name
                ));
                out.push(format!(
                    "confirm through the API that {ip} points at droplet {}",
                    to.id
                ));
                out.push(format!(
                    "verify through {}; on failure, assign {ip} back to droplet {}",
                    h.url_for(IpAddr::V4(ip)),
                    from.id
                ));
                out.extend(
                    tag_moves(to, from, &self.cfg.roles)
                        .iter()
                        .map(|m| m.to_string()),
                );
            }
            Plan::FinishTags { live, moves, .. } => {
                out.push(format!(
                    "resume: {ip} already points at droplet {} ({}); verify through {}",
                    live.id,
                    live.name,
                    h.url_for(IpAddr::V4(ip))
                ));
                out.extend(moves.iter().map(|m| m.to_string()));
            }
        }
        out
    }
}
