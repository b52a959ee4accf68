//! After a replace: `rollback` (the kept fleet back in, seen serving; the replacing droplets
//! out, seen gone, deleted) and `finalize` (what runs keep, deleted).

use super::*;
use crate::replace::tags::{PREV_TAG_PREFIX, UNTIL_TAG_PREFIX, prev_tag, run_tag};
use crate::replace::undo::{finalize_plan, rollback_plan};

impl Run<'_> {
    pub(super) async fn roll_back(&mut self) -> Result<(Outcome, String), Stop> {
        let seen = self.observe().await?;
        let lb = self.lb_name();
        let p = rollback_plan(&lb, &seen.fleet, &seen.runs)
            .map_err(|r| Stop::new(Outcome::Refused, r.to_string()))?;
        self.partial.run_tag = Some(run_tag(&p.run));
        let pool: Vec<Droplet> = seen.fleet.iter().chain(&p.previous).cloned().collect();
        let serving = if seen.fleet.is_empty() {
            p.previous.clone()
        } else {
            seen.fleet.clone()
        };
        self.setup_watch(&serving, &pool, pool.len()).await;
        let joining: Vec<Droplet> = p
            .previous
            .iter()
            .filter(|d| !self.in_lb.contains(&d.id))
            .cloned()
            .collect();
        let leaving = self.in_lb(&p.new);
        self.partial.plan = vec![
            format!(
                "put {} into load balancer {lb} ({}) and see each serve, health-gating {} directly meanwhile",
                if joining.is_empty() {
                    "nothing (already in)".to_owned()
                } else {
                    names(&joining)
                },
                self.through.membership,
                names(&p.previous)
            ),
            format!(
                "take {} out and see them gone, then delete {}",
                if leaving.is_empty() {
                    "nothing (already out)".to_owned()
                } else {
                    names(&leaving)
                },
                if p.new.is_empty() {
                    "nothing".to_owned()
                } else {
                    names(&p.new)
                }
            ),
            format!(
                "remove `{}` and the keep time from the kept fleet",
                prev_tag(&p.run)
            ),
        ];
        self.partial.plan.extend(self.wait_lines());
        if self.cfg.dry_run {
            return Ok((
                Outcome::DryRun,
                format!(
                    "dry run: {} would serve again through {lb}, {} would be deleted; nothing changed",
                    names(&p.previous),
                    names(&p.new)
                ),
            ));
        }
        if p.only_tags_left(&seen.fleet) {
            self.untag_state(&p.previous, |t| {
                t.starts_with(PREV_TAG_PREFIX) || t.starts_with(UNTIL_TAG_PREFIX)
            })
            .await;
            self.forget_tags(&p.previous, &p.run).await;
            self.partial.serving = p.previous.iter().map(Into::into).collect();
            return Ok((
                Outcome::Resumed,
                format!(
                    "finished an interrupted rollback: {} serve through load balancer {lb}",
                    names(&p.previous)
                ),
            ));
        }
        self.lock_held(|why| Stop::new(Outcome::Locked, format!("{why}; nothing changed")))?;
        // The kept fleet joins at once: the load balancer routes to it only once its own checks
        // pass, which is the wait a rollback cannot avoid; the direct gate runs meanwhile. It
        // runs the previous release, so the new release's body is not expected.
        if let Err(e) = self.rotate(&joining, Way::Join, Step::SwitchBack).await {
            return Err(Stop::api(
                &format!(
                    "putting {} into load balancer {lb} (the replacing droplets still serve; run the rollback again)",
                    names(&joining)
                ),
                &e,
            ));
        }
        let check = self.gate.any_version();
        let (gated, seen) = tokio::join!(
            crate::runner::gate_all(&self.steps, &p.previous, &check),
            self.through
                .see_serving(&self.steps, &self.gate, &p.previous)
        );
        let failed = match (gated, seen) {
            (Err(why), _) => Some(format!("{why}: the kept fleet is not healthy")),
            (Ok(()), Err(why)) => Some(why),
            (Ok(()), Ok(waits)) => {
                self.partial.waits.extend(waits);
                None
            }
        };
        if let Some(why) = failed {
            let undo = self.rotate(&joining, Way::Leave, Step::TakeOut).await;
            return Err(Stop::new(
                Outcome::NotReady,
                match undo {
                    Ok(()) => format!(
                        "{why}; {} taken out of load balancer {lb} again: the replacing droplets serve as before",
                        names(&joining)
                    ),
                    Err(e) => format!(
                        "{why}; taking {} out again failed ({}): both fleets are in load balancer {lb}; run the rollback again",
                        names(&joining),
                        e.chain()
                    ),
                },
            ));
        }
        self.lock_held(|why| {
            Stop::new(
                Outcome::Interrupted,
                format!(
                    "{why}; stopped with both fleets in load balancer {lb}: run the rollback again to finish"
                ),
            )
        })?;
        if let Err(e) = self.rotate(&leaving, Way::Leave, Step::TakeOut).await {
            return Err(Stop::api(
                &format!(
                    "taking {} out of load balancer {lb} (both fleets serve; run the rollback again)",
                    names(&leaving)
                ),
                &e,
            ));
        }
        if !leaving.is_empty()
            && let Err(why) = self
                .see_gone(&leaving, leaving.len() + p.previous.len())
                .await
        {
            return Err(Stop::new(
                Outcome::Uncertain,
                format!(
                    "{why}: the load balancer may still send them requests, so they were not deleted; run the rollback again once it lets go"
                ),
            ));
        }
        self.partial.serving = p.previous.iter().map(Into::into).collect();
        if let Err(m) = self.delete(&p.new).await {
            return Err(Stop::new(
                Outcome::ApiError,
                format!(
                    "{} serve through load balancer {lb} again, but {m}: run the rollback again",
                    names(&p.previous)
                ),
            ));
        }
        self.untag_state(&p.previous, |t| {
            t.starts_with(PREV_TAG_PREFIX) || t.starts_with(UNTIL_TAG_PREFIX)
        })
        .await;
        self.forget_tags(&p.previous, &p.run).await;
        Ok((
            Outcome::Switched,
            format!(
                "rolled back: {} serve through load balancer {lb} again; the replacing droplets were deleted ({})",
                names(&p.previous),
                names(&p.new)
            ),
        ))
    }

    /// Delete the state tags of `run` once nothing carries them.
    async fn forget_tags(&self, kept: &[Droplet], run: &str) {
        let mut tags: Vec<String> = kept
            .iter()
            .flat_map(|d| d.tags.iter())
            .filter(|t| t.starts_with(PREV_TAG_PREFIX) || t.starts_with(UNTIL_TAG_PREFIX))
            .cloned()
            .collect();
        tags.push(run_tag(run));
        tags.sort();
        tags.dedup();
        self.delete_tags(&tags).await;
    }

    pub(super) async fn finalize(&mut self) -> Result<(Outcome, String), Stop> {
        let seen = self.observe().await?;
        let lb = self.lb_name();
        let p = finalize_plan(&lb, &seen.fleet, &seen.runs)
            .map_err(|r| Stop::new(Outcome::Refused, r.to_string()))?;
        self.partial.plan = vec![
            format!(
                "delete {}",
                if p.delete.is_empty() {
                    "nothing".to_owned()
                } else {
                    names(&p.delete)
                }
            ),
            format!(
                "never a droplet load balancer {lb} selects ({})",
                names(&seen.fleet)
            ),
        ];
        for (t, ids) in &p.untag {
            self.partial.plan.push(format!(
                "remove `{t}` from {}",
                ids.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if self.cfg.dry_run {
            return Ok((
                Outcome::DryRun,
                format!(
                    "dry run: {} droplet(s) would be deleted; nothing changed",
                    p.delete.len()
                ),
            ));
        }
        if p.is_empty() {
            return Ok((
                Outcome::Finalized,
                format!("replace keeps nothing for load balancer {lb}: nothing to delete"),
            ));
        }
        self.lock_held(|why| Stop::new(Outcome::Locked, format!("{why}; nothing changed")))?;
        if let Err(m) = self.delete(&p.delete).await {
            return Err(Stop::new(
                Outcome::ApiError,
                format!("{m}; run the finalize again"),
            ));
        }
        let marked: Vec<Droplet> = seen
            .fleet
            .iter()
            .filter(|d| p.untag.iter().any(|(_, ids)| ids.contains(&d.id)))
            .cloned()
            .collect();
        self.untag_state(&marked, |t| p.untag.iter().any(|(x, _)| x == t))
            .await;
        self.delete_tags(&p.delete_tags).await;
        Ok((
            Outcome::Finalized,
            if p.delete.is_empty() {
                format!("removed the marks an undone run left on load balancer {lb}'s droplets")
            } else {
                format!(
                    "deleted {} droplet(s) replace kept for load balancer {lb}: {}",
                    p.delete.len(),
                    names(&p.delete)
                )
            },
        ))
    }
}
