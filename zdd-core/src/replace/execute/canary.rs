//! `replace --canary`: the first new droplets (by name) join beside the old fleet, take traffic
//! for the window and are judged; only a pass lets the rest join. A failure, or a verdict that
//! cannot be reached, takes them out (seen gone) and deletes every new droplet: the old fleet
//! never left.

use super::*;
use crate::canary::{Analysis, CanaryCheck, CanaryReport, Verdict, analyse};
use crate::replace::plan::ReplacePlan;

impl Run<'_> {
    /// The canaries among `active`: the first by name, as many as asked; none without a
    /// canary, or once the old fleet has left (an earlier attempt passed and finished).
    pub(super) fn canaries(&self, active: &[Droplet], p: &ReplacePlan) -> Vec<Droplet> {
        let Some(c) = &self.cfg.canary else {
            return Vec::new();
        };
        if p.old.is_empty() {
            return Vec::new();
        }
        let mut by_name: Vec<Droplet> = active.to_vec();
        by_name.sort_by(|a, b| a.name.cmp(&b.name));
        by_name.truncate(c.size.of(active.len()));
        by_name
    }

    /// The plan's lines for how the new droplets join.
    pub(super) fn join_lines(&self, p: &ReplacePlan) -> Vec<String> {
        let lb = &self.through.lb.name;
        let put = format!(
            "put the new droplets into load balancer {lb} ({}) and see each serve",
            self.through.membership
        );
        let Some(c) = self.cfg.canary.as_ref().filter(|_| !p.old.is_empty()) else {
            return vec![put];
        };
        let mut all = p.names();
        all.sort();
        let n = c.size.of(all.len());
        let t = &c.thresholds;
        let judges = [
            (c.judges.probes, format!(
                "zdd-do's probes of {} through the load balancer, attributed to droplets by how they name themselves ({})",
                c.path,
                if self.through.watcher.is_some() {
                    "watched"
                } else {
                    "not watchable: this judge will be inconclusive"
                }
            )),
            (c.judges.lb_metrics, "the load balancer's metrics from the Monitoring API (responses by class, p95, health checks per droplet)".to_owned()),
            (c.judges.check, "the check command, given the canaries in its environment".to_owned()),
        ];
        vec![
            format!(
                "canary: {} ({n} of {}) join load balancer {lb} first, beside the old fleet, and are seen serving",
                all[..n].join(", "),
                all.len()
            ),
            format!(
                "analysis: they take traffic for {}s, then are judged by {}",
                c.window.as_secs(),
                judges
                    .iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, j)| j.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            format!(
                "they fail when their error rate is more than {:.1} points above the old droplets', or their p95 latency above the old droplets' × {} + {} ms, or fewer than {} requests reached them (inconclusive never passes)",
                t.max_error_rate_increase * 100.0,
                t.max_p95_ratio,
                t.p95_slack.as_millis(),
                t.min_requests
            ),
            format!(
                "pass: {} join and are seen serving; fail or inconclusive: the canaries leave (seen gone), every new droplet is deleted, exit 5",
                if n < all.len() {
                    all[n..].join(", ")
                } else {
                    "no other droplet".to_owned()
                }
            ),
        ]
    }

    /// Put `ds` into the load balancer and see each serve; a failure to see them undoes the
    /// run (every one of `active` leaves and is deleted).
    pub(super) async fn join_and_see(
        &mut self,
        ds: &[Droplet],
        active: &[Droplet],
        p: &ReplacePlan,
    ) -> Result<(), Stop> {
        if ds.is_empty() {
            return Ok(());
        }
        let lb = self.lb_name();
        let joining: Vec<Droplet> = ds
            .iter()
            .filter(|d| !self.in_lb.contains(&d.id))
            .cloned()
            .collect();
        if let Err(e) = self.rotate(&joining, Way::Join, Step::PutBack).await {
            return Err(Stop::api(
                &format!(
                    "putting {} into load balancer {lb} (the old fleet still serves; run the same command again to finish, or `zdd-do rollback --lb {lb}` to undo)",
                    names(&joining)
                ),
                &e,
            ));
        }
        if let Err(why) = self.see_serving(ds).await {
            return Err(self.undo(active, p, why).await);
        }
        Ok(())
    }

    /// Judge the canaries (already serving): on a pass, go on; otherwise undo.
    pub(super) async fn canary_stage<C: CanaryCheck>(
        &mut self,
        active: &[Droplet],
        canaries: &[Droplet],
        p: &ReplacePlan,
        check: Option<&C>,
    ) -> Result<(), Stop> {
        let Some(cfg) = self.cfg.canary.as_ref() else {
            return Ok(());
        };
        let lb = self.lb_name();
        let rest_in: Vec<&Droplet> = active
            .iter()
            .filter(|d| !canaries.iter().any(|c| c.id == d.id) && self.in_lb.contains(&d.id))
            .collect();
        if !rest_in.is_empty() {
            // Droplets beyond the canaries join only after a pass.
            self.steps.note(format!(
                "the canary analysis passed in an earlier attempt of this run ({} already serve beside the canaries): not run again",
                rest_in.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ")
            ));
            self.partial.canary = Some(CanaryReport {
                canaries: canaries.iter().map(Into::into).collect(),
                window_start: 0,
                window_end: 0,
                verdict: Verdict::Pass,
                judges: Vec::new(),
                failed_requests: None,
                passed_earlier: true,
            });
            return Ok(());
        }
        let old = self.in_lb(&p.old);
        let report = {
            let a = Analysis {
                client: self.client,
                steps: &self.steps,
                cfg,
                lb: &self.through.lb,
                watcher: self.through.watcher.as_ref(),
                timeout: self.gate.policy.request_timeout,
                version: self.cfg.version.as_deref(),
            };
            analyse(&a, canaries, &old, check).await
        };
        let why = report.failure();
        self.partial.canary = Some(report);
        if let Some(why) = why {
            return Err(self.undo(active, p, why).await);
        }
        self.lock_held(|why| {
            Stop::new(
                Outcome::Interrupted,
                format!(
                    "{why}; stopped after the canaries passed: they serve beside the old fleet behind {lb}; run the same command again to finish (the analysis is not repeated once more droplets have joined), or `zdd-do rollback --lb {lb}` to undo"
                ),
            )
        })
    }
}
