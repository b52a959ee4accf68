//! Rotation: taking droplets out of the load balancer and putting them back (by tag or by id),
//! the marker that lets a later run find them, and the check of those that stay in.

use super::*;

impl Run<'_> {
    pub(super) fn take_out_waits(&self) -> Vec<Wait> {
        waits::take_out_waits(
            &self.lb_health(),
            &self.cfg.drain,
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
        for d in &staying {
            let r = match self.direct_ip(d) {
                Ok(ip) => check
                    .wait_healthy(ip, self.steps.sink)
                    .await
                    .map_err(|f| f.to_string()),
                Err(m) => Err(m),
            };
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

    pub(super) async fn sleep_waits(&mut self, step: Step, list: &[Wait]) {
        for w in list {
            let s = self.steps.start(step, format!("wait {w}"));
            tokio::time::sleep(w.applied).await;
            self.steps
                .finish(s, true, format!("waited {:.1}s", w.applied.as_secs_f64()));
        }
    }

    pub(super) fn ids(ds: &[Droplet]) -> Vec<DropletId> {
        ds.iter().map(|d| d.id).collect()
    }

    pub(super) fn names(ds: &[Droplet]) -> String {
        ds.iter()
            .map(|d| format!("{} ({})", d.id, d.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Remove from rotation: marker first (unless already there), then the load balancer's
    /// tag or id.
    pub(super) async fn remove_from_lb(
        &mut self,
        ds: &[Droplet],
        tag_marker: bool,
    ) -> Result<(), Stop> {
        let ids = Self::ids(ds);
        let marker = self.planned.marker.clone();
        let s = self.steps.start_on(
            Step::TakeOut,
            crate::events::Subject::Droplets { ids: Self::ids(ds) },
            Self::names(ds),
        );
        let result = async {
            if tag_marker {
                self.client.tags().tag_droplets(&marker, &ids).await?;
            }
            match &self.planned.membership {
                Membership::Tag(t) => self.client.tags().untag_droplets(t, &ids).await,
                Membership::DropletIds => {
                    self.client
                        .load_balancers()
                        .remove_droplets(&self.lb().id, &ids)
                        .await
                }
            }
        }
        .await;
        self.changed = true;
        match result {
            Ok(()) => {
                let now = Instant::now();
                for id in &ids {
                    self.out.insert(*id);
                    self.out_since.push((*id, now));
                    if let Some(r) = self.report_mut(*id) {
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

    /// Take `members` out of rotation (those still in), with the drain mode's waits.
    pub(super) async fn take_out(
        &mut self,
        members: &[Member],
        report: &mut BatchReport,
    ) -> Result<(), Stop> {
        let leaving: Vec<Droplet> = members
            .iter()
            .filter(|m| !self.out.contains(&m.droplet.id))
            .map(|m| m.droplet.clone())
            .collect();
        if leaving.is_empty() {
            return Ok(());
        }
        self.ensure_marker().await?;
        match self.cfg.drain.clone() {
            Drain::Remove => {
                self.remove_from_lb(&leaving, true).await?;
                let w = self.take_out_waits();
                self.sleep_waits(Step::Drain, &w).await;
                report.waits.extend(w);
            }
            Drain::ShutdownUrl { path, method } => {
                // Marker first, so a crash while draining leaves the droplet findable.
                let marker = self.planned.marker.clone();
                if let Err(e) = self
                    .client
                    .tags()
                    .tag_droplets(&marker, &Self::ids(&leaving))
                    .await
                {
                    return Err(api_stop(&format!("tagging with `{marker}`"), &e));
                }
                self.changed = true;
                let mut drained = 0;
                for d in &leaving {
                    let s = self.steps.start(
                        Step::Drain,
                        format!("{method} {path} on {} ({})", d.id, d.name),
                    );
                    let r = match self.drain_url(d, &path, &method).await {
                        Ok(()) => self.see_failing(d).await,
                        Err(e) => Err(e),
                    };
                    match r {
                        Ok(after) => {
                            drained += 1;
                            self.steps.finish(
                                s,
                                true,
                                format!("health check failing after {:.1}s", after.as_secs_f64()),
                            );
                        }
                        Err(e) => {
                            self.steps.finish(s, false, e.clone());
                            self.steps.warn(format!(
                                "drain URL on droplet {} did not make its health check fail ({e}); removing it from the load balancer and waiting the load balancer sync wait instead",
                                d.id
                            ));
                        }
                    }
                }
                let all = self.take_out_waits();
                let detection: Vec<Wait> = all
                    .iter()
                    .filter(|w| w.kind == waits::WaitKind::Detection)
                    .cloned()
                    .collect();
                if drained > 0 {
                    self.sleep_waits(Step::Drain, &detection).await;
                    report.waits.extend(detection);
                }
                self.remove_from_lb(&leaving, false).await?;
                let mut after: Vec<Wait> = Vec::new();
                if drained < leaving.len() {
                    after.extend(
                        waits::take_out_waits(
                            &self.lb_health(),
                            &Drain::Remove,
                            self.cfg.drain_wait,
                            self.cfg.lb_sync_wait,
                            self.cfg.wait_scale,
                        )
                        .into_iter()
                        .filter(|w| w.kind == waits::WaitKind::LbSync),
                    );
                }
                after.extend(all.into_iter().filter(|w| w.kind == waits::WaitKind::Drain));
                self.sleep_waits(Step::Drain, &after).await;
                report.waits.extend(after);
            }
        }
        Ok(())
    }

    /// Put `ds` back: the load balancer's tag or id, then untag the marker; then wait (or
    /// watch) until the load balancer routes to them. `Err` with a message when the
    /// load-balancer probe never saw one of them.
    pub(super) async fn put_back(
        &mut self,
        ds: &[Droplet],
        report: &mut BatchReport,
        drop_marker: bool,
    ) -> Result<(), Stop> {
        if ds.is_empty() {
            return Ok(());
        }
        let ids = Self::ids(ds);
        let marker = self.planned.marker.clone();
        let s = self.steps.start_on(
            Step::PutBack,
            crate::events::Subject::Droplets { ids: Self::ids(ds) },
            Self::names(ds),
        );
        let result = async {
            match &self.planned.membership {
                Membership::Tag(t) => self.client.tags().tag_droplets(t, &ids).await?,
                Membership::DropletIds => {
                    self.client
                        .load_balancers()
                        .add_droplets(&self.lb().id, &ids)
                        .await?
                }
            }
            if drop_marker {
                // "Deleting a tag also untags all the resources that have previously been
                // tagged with the Tag" (the spec, tags_delete.yml).
                match self.client.tags().delete(&marker).await {
                    Err(e) if e.is_not_found() => Ok(()),
                    other => other,
                }
            } else {
                self.client.tags().untag_droplets(&marker, &ids).await
            }
        }
        .await;
        self.changed = true;
        if let Err(e) = result {
            self.steps.finish(s, false, e.chain());
            return Err(api_stop(
                &format!(
                    "putting {} back into rotation (re-run to resume: droplets carrying `{marker}` are handled first)",
                    Self::names(ds)
                ),
                &e,
            ));
        }
        self.steps.finish(s, true, "back in the load balancer");
        match self.cfg.lb_probe.clone() {
            None => {
                let w = self.put_back_waits();
                self.sleep_waits(Step::PutBack, &w).await;
                report.waits.extend(w);
            }
            Some(probe) => {
                let deadline = self.probe_deadline();
                let s = self.steps.start(
                    Step::Verify,
                    format!(
                        "watch {} for {} (within {:.1}s)",
                        probe.url,
                        Self::names(ds),
                        deadline.as_secs_f64()
                    ),
                );
                match self.watch_lb(&probe, ds, deadline).await {
                    Ok(seen) => {
                        for (id, after) in seen {
                            if let Some(r) = self.report_mut(id) {
                                r.seen_through_lb_after = Some(after);
                            }
                        }
                        let took = self.steps.finish(
                            s,
                            true,
                            "every droplet answered through the load balancer",
                        );
                        report.waits.push(Wait {
                            kind: waits::WaitKind::Routing,
                            computed: waits::total_applied(&self.put_back_waits()),
                            applied: took,
                            why: format!("observed through {} instead of waiting", probe.url),
                        });
                    }
                    Err(msg) => {
                        self.steps.finish(s, false, msg.clone());
                        for d in ds {
                            self.out.remove(&d.id);
                            if let Some(r) = self.report_mut(d.id) {
                                r.out_of_rotation = false;
                            }
                        }
                        return Err(Stop::new(
                            Outcome::Paused,
                            format!(
                                "{msg}; the droplets are healthy and back in the load balancer, but traffic was not seen reaching them: stopped before the next batch; re-run to continue"
                            ),
                        ));
                    }
                }
            }
        }
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
        Ok(())
    }
}
