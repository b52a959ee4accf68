//! `roll --canary`: the first batch, once back in rotation and seen serving, takes traffic
//! beside the droplets not updated yet for the window and is judged; a failure (or a verdict
//! that cannot be reached) takes it out of rotation again (seen gone), and the rollback command
//! puts the previous version back on it.

use super::*;
use crate::canary::{Analysis, analyse};

impl Run<'_> {
    /// Judge the canary `batch` against the droplets of `later` batches still in rotation.
    /// `None` on a pass; otherwise the batch is out of rotation again and these are the
    /// failures to roll back.
    pub(super) async fn canary_batch<C: CanaryCheck>(
        &mut self,
        batch: &Batch,
        later: &[Droplet],
        check: Option<&C>,
    ) -> Result<Option<Vec<Failure>>, Stop> {
        let cfg = self.cfg;
        let Some(canary) = cfg.canary.as_ref() else {
            return Ok(None);
        };
        let canaries: Vec<Droplet> = batch.members.iter().map(|m| m.droplet.clone()).collect();
        let old: Vec<Droplet> = later
            .iter()
            .filter(|d| !self.out.contains(&d.id))
            .cloned()
            .collect();
        let report = {
            let a = Analysis {
                client: self.client,
                steps: &self.steps,
                cfg: canary,
                lb: &self.planned.lb,
                watcher: self.watcher.as_ref(),
                timeout: self.gate().policy.request_timeout,
                version: cfg.version.as_deref(),
            };
            analyse(&a, &canaries, &old, check).await
        };
        let why = report.failure();
        self.canary = Some(report);
        let Some(why) = why else {
            return Ok(None);
        };
        self.steps.warn(format!(
            "{why}; the canary batch leaves the load balancer to be rolled back"
        ));
        let mut out = BatchReport {
            index: batch.index,
            purpose: Purpose::Rollback,
            droplets: canaries.iter().map(|d| d.id).collect(),
            resume: false,
            waits: Vec::new(),
            duration: Duration::ZERO,
            ok: true,
        };
        if let Err(e) = self.take_out(&batch.members, &mut out).await {
            // Not take-out's own advice ("it was not updated; re-run"): the batch runs the
            // release that failed, and the same command would update it again and put it back.
            return Err(Stop {
                outcome: Outcome::Uncertain,
                message: format!(
                    "{why}; taking the canary batch out again failed ({}): it runs the release that failed and carries `{}`; put the previous version on it (`zdd-do roll` with the previous version's command handles droplets carrying that tag first)",
                    e.message, self.planned.marker
                ),
                api_cause: e.api_cause,
            });
        }
        if let Some(last) = self.batches.last_mut() {
            last.waits.extend(out.waits);
            last.ok = false;
        }
        Ok(Some(
            canaries
                .into_iter()
                .map(|droplet| Failure {
                    droplet,
                    error: why.clone(),
                })
                .collect(),
        ))
    }
}
