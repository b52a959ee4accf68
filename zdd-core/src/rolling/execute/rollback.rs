//! After a failure: pause (leave the droplet out) or roll the updated droplets back, newest
//! first, through the same steps.

use super::*;

impl Run<'_> {
    pub(super) async fn on_failure<R: DropletHook>(
        &mut self,
        batch: &Batch,
        done: &[Batch],
        failures: Vec<Failure>,
        rollback: Option<&R>,
    ) -> Result<(Outcome, String), Stop> {
        let marker = self.planned.marker.clone();
        let first = &failures[0];
        let what = format!(
            "droplet {} ({}): {}",
            first.droplet.id, first.droplet.name, first.error
        );
        let more = if failures.len() > 1 {
            format!(" (and {} more)", failures.len() - 1)
        } else {
            String::new()
        };
        if self.cfg.on_failure == OnFailure::Pause {
            let serving = self.others_in_rotation();
            return Ok((
                Outcome::Paused,
                format!(
                    "{what}{more}; it is out of rotation (tagged `{marker}`) and {serving} droplet(s) still serve; fix it and re-run to resume"
                ),
            ));
        }
        let Some(hook) = rollback else {
            return Err(Stop::new(
                Outcome::ConfigError,
                "rolling back on failure needs a rollback command",
            ));
        };
        self.steps.warn(format!(
            "{what}{more}; rolling back the updated droplets, newest first"
        ));
        let next_index = self.batches.last().map_or(1, |b| b.index + 1);
        let sequence =
            super::super::plan::rollback_batches(batch, done, self.cfg.max_unavailable, next_index);
        self.steps.sink.emit(Event::RollbackStarted {
            droplets: sequence
                .iter()
                .flat_map(|b| b.members.iter().map(|m| m.droplet.id))
                .collect(),
        });
        let mut rolled = 0;
        for (i, b) in sequence.iter().enumerate() {
            if i > 0 {
                self.batch_delay().await;
            }
            let failed = self
                .cycle(b.index, b, Purpose::Rollback, Some(hook), false)
                .await
                .map_err(|e| {
                    let outcome = if e.outcome == Outcome::Paused {
                        Outcome::Uncertain
                    } else {
                        e.outcome
                    };
                    Stop {
                        outcome,
                        message: format!("{what}; rolling back: {}", e.message),
                        api_cause: e.api_cause,
                    }
                })?;
            if let Some(f) = failed.first() {
                return Err(Stop::new(
                    Outcome::Uncertain,
                    format!(
                        "{what}; rolling back droplet {} ({}) failed: {}; it is out of rotation (tagged `{marker}`); {} droplet(s) serve: needs a human",
                        f.droplet.id,
                        f.droplet.name,
                        f.error,
                        self.others_in_rotation()
                    ),
                ));
            }
            rolled += b.members.len();
        }
        Ok((
            Outcome::RolledBack,
            format!(
                "{what}{more}; rolled back {rolled} droplet(s) with the rollback command: all are back in rotation on the previous version"
            ),
        ))
    }
}
