//! Rotation: taking droplets out of the load balancer and putting them back (by tag or by id),
//! the marker that lets a later run find them, and the check of those that stay in.

use super::*;
use crate::rotation::Way;

impl Run<'_> {
    pub(super) fn take_out_waits(&self) -> Vec<Wait> {
        self.take_out_waits_for(&self.cfg.drain)
    }

    pub(super) fn take_out_waits_for(&self, drain: &Drain) -> Vec<Wait> {
        waits::take_out_waits(
            &self.lb_health(),
            drain,
            self.cfg.drain_wait,
            self.cfg.lb_sync_wait,
            self.cfg.wait_scale,
        )
    }

    pub(super) fn put_back_waits(&self) -> Vec<Wait> {
        waits::put_back_waits(
            &self.lb_health(),
            self.cfg.lb_sync_wait,
            self.cfg.wait_scale,
        )
    }

    pub(super) async fn ensure_marker(&mut self) -> Result<(), Stop> {
        if self.marker_created {
            return Ok(());
        }
        let marker = self.planned.marker.clone();
        if let Err(e) = self.client.tags().create(&marker).await {
            return Err(api_stop(&format!("creating the marker tag `{marker}`"), &e));
        }
        self.marker_created = true;
        Ok(())
    }

    /// Check, directly, that the droplets staying in rotation are healthy before `members`
    /// leave. `Err` stops the run before anything of this batch changes.
    pub(super) async fn check_staying(&mut self, members: &[Member]) -> Result<(), Stop> {
        let leaving: Vec<DropletId> = members
            .iter()
            .map(|m| m.droplet.id)
            .filter(|id| !self.out.contains(id))
            .collect();
        if leaving.is_empty() {
            return Ok(());
        }
        // Droplets that were unhealthy before the roll and are not updated yet serve nothing:
        // they are not judged again, and they do not count as capacity.
        let not_yet_fixed = |id: &DropletId| {
            self.unhealthy_at_start.contains(id)
                && self
                    .droplets
                    .iter()
                    .any(|r| r.droplet.id == *id && r.state == DropletState::Pending)
        };
        let staying_all: Vec<&Droplet> = self
            .pool
            .iter()
            .filter(|d| !self.out.contains(&d.id) && !leaving.contains(&d.id))
            .collect();
        let staying: Vec<Droplet> = staying_all
            .iter()
            .filter(|d| !not_yet_fixed(&d.id))
            .map(|d| (*d).clone())
            .collect();
        // Only unhealthy droplets leave, and only unhealthy ones stay (an outage): no capacity
        // is lost, and the fix has to start somewhere.
        let only_broken_leave = leaving.iter().all(not_yet_fixed);
        let stop = |changed: bool, msg: String| {
            if changed {
                Stop::new(
                    Outcome::Paused,
                    format!(
                        "{msg}; stopped before taking the next batch out: no droplet of this run is out of rotation; re-run to continue"
                    ),
                )
            } else {
                Stop::new(Outcome::Refused, format!("{msg}; nothing changed"))
            }
        };
        if staying_all.is_empty() {
            return Err(stop(
                self.changed,
                "taking this batch out would leave no droplet in rotation".into(),
            ));
        }
        if staying.is_empty() {
            if only_broken_leave {
                return Ok(());
            }
            return Err(stop(
                self.changed,
                "taking this batch out would leave no healthy droplet in rotation".into(),
            ));
        }
        let mut check = self.any_version_check();
        check.policy.successes = 1;
        let s = self.steps.start(
            Step::HealthGate,
            format!(
                "droplets staying in rotation: {}",
                staying
                    .iter()
                    .map(|d| d.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        // All at once: with many droplets staying, one after another would add up.
        let results = futures_util::future::join_all(staying.iter().map(|d| async {
            match self.direct_ip(d) {
                Ok(ip) => check
                    .wait_healthy(ip, self.steps.sink)
                    .await
                    .map(|_| ())
                    .map_err(|f| f.to_string()),
                Err(m) => Err(m),
            }
        }))
        .await;
        for (d, r) in staying.iter().zip(results) {
            if let Err(why) = r {
                let msg = format!(
                    "droplet {} ({}), which would stay in rotation, is not healthy: {why}",
                    d.id, d.name
                );
                self.steps.finish(s, false, msg.clone());
                return Err(stop(self.changed, msg));
            }
        }
        self.steps
            .finish(s, true, format!("{} healthy", staying.len()));
        Ok(())
    }

    pub(super) async fn sleep_waits(&self, step: Step, list: &[Wait]) {
        crate::rotation::sleep_waits(&self.steps, step, list).await;
    }

    pub(super) fn ids(ds: &[Droplet]) -> Vec<DropletId> {
        crate::rotation::ids(ds)
    }

    pub(super) fn names(ds: &[Droplet]) -> String {
        crate::rotation::names(ds)
    }

    /// Tag `ds` with the marker (before they leave, so that a crash leaves them findable).
    pub(super) async fn mark(&mut self, ds: &[Droplet]) -> Result<(), Stop> {
        let marker = self.planned.marker.clone();
        let r = self
            .client
            .tags()
            .tag_droplets(&marker, &Self::ids(ds))
            .await;
        self.changed = true;
        r.map_err(|e| api_stop(&format!("tagging with `{marker}`"), &e))
    }

    /// The load balancer stops selecting `ds`: its tag removed, or their ids.
    pub(super) async fn leave_lb(&self, ds: &[Droplet]) -> Result<(), do_api::Error> {
        self.rotate(ds, Way::Leave).await
    }

    /// The load balancer selects `ds` again: its tag, or their ids.
    pub(super) async fn join_lb(&self, ds: &[Droplet]) -> Result<(), do_api::Error> {
        self.rotate(ds, Way::Join).await
    }

    async fn rotate(&self, ds: &[Droplet], way: Way) -> Result<(), do_api::Error> {
        let p = &self.planned;
        crate::rotation::rotate(self.client, &p.lb.id, &p.membership, &Self::ids(ds), way).await
    }

    /// Take `ds` out of rotation as a timed step (the marker first, unless already there);
    /// records when they left.
    pub(super) async fn remove_from_lb(
        &mut self,
        ds: &[Droplet],
        tag_marker: bool,
    ) -> Result<(), Stop> {
        let marker = self.planned.marker.clone();
        let s = self.steps.start_on(
            Step::TakeOut,
            crate::events::Subject::Droplets { ids: Self::ids(ds) },
            Self::names(ds),
        );
        if tag_marker && let Err(e) = self.mark(ds).await {
            self.steps.finish(s, false, e.message.clone());
            return Err(e);
        }
        let started = Instant::now();
        let result = self.leave_lb(ds).await;
        self.api_latency = Some(started.elapsed());
        self.changed = true;
        match result {
            Ok(()) => {
                let now = Instant::now();
                for d in ds {
                    self.out.insert(d.id);
                    self.out_since.push((d.id, now));
                    if let Some(r) = self.report_mut(d.id) {
                        r.out_of_rotation = true;
                    }
                }
                self.steps.finish(s, true, "out of rotation");
                Ok(())
            }
            Err(e) => {
                self.steps.finish(s, false, e.chain());
                Err(api_stop(
                    &format!(
                        "taking {} out of rotation (re-run to resume: droplets carrying `{marker}` are handled first)",
                        Self::names(ds)
                    ),
                    &e,
                ))
            }
        }
    }

    /// Put `ds` back into the load balancer as a timed step (they keep the marker until
    /// [`Self::unmark`]).
    pub(super) async fn add_to_lb(&mut self, ds: &[Droplet], why: &str) -> Result<(), Stop> {
        let marker = self.planned.marker.clone();
        let s = self.steps.start_on(
            Step::PutBack,
            crate::events::Subject::Droplets { ids: Self::ids(ds) },
            format!("{}{why}", Self::names(ds)),
        );
        let r = self.join_lb(ds).await;
        self.changed = true;
        match r {
            Ok(()) => {
                self.steps.finish(s, true, "back in the load balancer");
                Ok(())
            }
            Err(e) => {
                self.steps.finish(s, false, e.chain());
                Err(api_stop(
                    &format!(
                        "putting {} back into rotation (re-run to resume: droplets carrying `{marker}` are handled first)",
                        Self::names(ds)
                    ),
                    &e,
                ))
            }
        }
    }

    /// Remove the marker from `ds`; on the last batch of a roll that went through, delete the
    /// marker tag instead ("Deleting a tag also untags all the resources that have previously
    /// been tagged with the Tag", tags_delete.yml): one call, and no empty tag left behind.
    pub(super) async fn unmark(&mut self, ds: &[Droplet], delete: bool) -> Result<(), Stop> {
        let marker = self.planned.marker.clone();
        let r = if delete {
            match self.client.tags().delete(&marker).await {
                Err(e) if e.is_not_found() => Ok(()),
                other => other,
            }
        } else {
            self.client
                .tags()
                .untag_droplets(&marker, &Self::ids(ds))
                .await
        };
        r.map_err(|e| {
            api_stop(
                &format!(
                    "removing `{marker}` from {} (they are back in rotation; re-run to clean up)",
                    Self::names(ds)
                ),
                &e,
            )
        })
    }

    /// `ds` are in rotation again: the report says so, with their time out of rotation.
    pub(super) fn back_in(&mut self, ds: &[Droplet]) {
        for d in ds {
            self.out.remove(&d.id);
            let since = self
                .out_since
                .iter()
                .rev()
                .find(|(id, _)| *id == d.id)
                .map(|(_, t)| *t);
            if let Some(r) = self.report_mut(d.id) {
                r.out_of_rotation = false;
                r.time_out_of_rotation = since.map(|t| t.elapsed());
            }
        }
    }
}
