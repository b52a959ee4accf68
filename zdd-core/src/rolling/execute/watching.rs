//! Watched waits for a roll: the shared machinery ([`crate::rotation::watching`]) over this
//! run's pool, settings and report.

use super::*;
use crate::rotation::{self, Watch};

impl Run<'_> {
    /// Decide how this run sees droplets leave and join: watched (a
    /// [`crate::rolling::watch::Watcher`]) or computed (the reason goes to the plan, the events
    /// and the report).
    pub(super) async fn setup_watch(&mut self, pool: &[Droplet]) {
        let serving: Vec<Droplet> = pool
            .iter()
            .filter(|d| !self.out.contains(&d.id) && !self.unhealthy_at_start.contains(&d.id))
            .cloned()
            .collect();
        let (watcher, report) = rotation::setup_watch(
            &self.steps,
            &self.cfg.watch,
            self.lb(),
            self.gate(),
            &serving,
            pool,
        )
        .await;
        self.watcher = watcher;
        self.watch_report = report;
    }

    /// How long a watch may take before it counts as failed.
    pub(super) fn watch_deadline(&self) -> Duration {
        rotation::watch_deadline(
            self.cfg.watch.deadline,
            &self.put_back_waits(),
            &self.take_out_waits(),
            self.gate().policy.request_timeout,
        )
    }

    fn watch(&self) -> Watch<'_> {
        Watch {
            steps: &self.steps,
            watcher: self.watcher.as_ref().expect("watching"),
            deadline: self.watch_deadline(),
        }
    }

    /// Watch until `leaving` no longer answer through the load balancer ([`Watch::gone`]).
    pub(super) async fn watch_gone(
        &self,
        leaving: &[Droplet],
        serving: usize,
        computed: Duration,
    ) -> Result<(Wait, Instant), String> {
        self.watch().gone(leaving, serving, computed).await
    }

    /// The in-flight allowance: all of it, or what is left since `since`.
    pub(super) async fn in_flight_allowance(&self, since: Option<Instant>) -> Wait {
        rotation::in_flight_allowance(&self.steps, self.cfg.drain_wait, self.cfg.wait_scale, since)
            .await
    }

    /// Watch until each of `ds` answered through the load balancer (`sightings` times); the
    /// report records when each was first seen.
    pub(super) async fn watch_seen(
        &mut self,
        ds: &[Droplet],
    ) -> Result<Wait, (Vec<DropletId>, String)> {
        let computed = self.put_back_waits().iter().map(|w| w.computed).sum();
        let sighted = self
            .watch()
            .seen(ds, self.cfg.watch.sightings, computed)
            .await?;
        for (id, after) in sighted.first {
            if let Some(r) = self.report_mut(id) {
                r.seen_through_lb_after = Some(after);
            }
        }
        Ok(sighted.wait)
    }
}
