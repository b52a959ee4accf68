//! The plan in words, for `--dry-run` and the report.

use super::*;

impl Run<'_> {
    pub(super) fn describe_plan(&self, p: &RollPlan, has_update: bool) -> Vec<String> {
        let mut out = Vec::new();
        let gate = self
            .lb_summary
            .as_ref()
            .and_then(|l| l.gate_url.clone())
            .unwrap_or_default();
        let take_out = self.take_out_waits();
        let put_back = self.put_back_waits();
        let how_out = match (&p.membership, &self.cfg.drain) {
            (Membership::Tag(t), Drain::Remove) => {
                format!("tag `{}`, untag `{t}`", p.marker)
            }
            (Membership::DropletIds, Drain::Remove) => {
                format!("tag `{}`, remove from the load balancer", p.marker)
            }
            (m, Drain::ShutdownUrl { path, method }) => format!(
                "tag `{}`, {method} {path} on the droplet and see its health check fail, then {}",
                p.marker,
                match m {
                    Membership::Tag(t) => format!("untag `{t}`"),
                    Membership::DropletIds => "remove from the load balancer".into(),
                }
            ),
        };
        let how_back = match &p.membership {
            Membership::Tag(t) => format!("tag `{t}`, untag `{}`", p.marker),
            Membership::DropletIds => format!("add to the load balancer, untag `{}`", p.marker),
        };
        for b in &p.batches {
            let list: Vec<String> = b
                .members
                .iter()
                .map(|m| format!("{} ({})", m.droplet.id, m.droplet.name))
                .collect();
            let resume = if b.resume {
                " [left out of rotation by an earlier run: resume]"
            } else {
                ""
            };
            out.push(format!("batch {}: {}{resume}", b.index, list.join(", ")));
            if !b.resume {
                out.push(format!(
                    "  check directly that the droplets staying in rotation pass {gate}"
                ));
                out.push(format!("  take out: {how_out}"));
                for w in &take_out {
                    out.push(format!("  wait {w}"));
                }
            }
            if has_update {
                out.push("  run the update command for each droplet".to_owned());
            }
            out.push(format!(
                "  health-gate each at {gate} ({} passing in a row within {}s)",
                self.check.successes,
                waits::fmt_secs(self.check.deadline)
            ));
            out.push(format!("  put back: {how_back}"));
            match &self.cfg.lb_probe {
                Some(probe) => out.push(format!(
                    "  watch {} until each droplet answers (within {}s)",
                    probe.url,
                    waits::fmt_secs(self.probe_deadline())
                )),
                None => {
                    for w in &put_back {
                        out.push(format!("  wait {w}"));
                    }
                }
            }
            if b.index < p.batches.len() && !self.cfg.batch_delay.is_zero() {
                out.push(format!(
                    "wait {}",
                    waits::batch_delay(self.cfg.batch_delay, self.cfg.wait_scale)
                ));
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
        out.push(format!(
            "computed waits: {}s in all, plus the update commands and health gates",
            waits::fmt_secs(waited)
        ));
        if let Some(l) = &self.cfg.lock
            && waited > l.ttl
        {
            let msg = format!(
                "the waits alone ({}s) exceed the deploy lock's TTL ({}s): another run could take the lock as stale midway; raise --lock-ttl",
                waits::fmt_secs(waited),
                l.ttl.as_secs()
            );
            self.steps.warn(msg.clone());
            out.push(format!("warning: {msg}"));
        }
        let on_failure = match self.cfg.on_failure {
            OnFailure::Pause => "on failure: leave the failed droplet out of rotation and stop",
            OnFailure::Rollback => {
                "on failure: run the rollback command on the updated droplets, newest first"
            }
        };
        out.push(on_failure.to_owned());
        out
    }
}
