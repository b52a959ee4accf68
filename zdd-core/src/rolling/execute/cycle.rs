//! One batch: check the droplets that stay, take the batch out (watched, or computed waits),
//! run the update command and the health gate on all its droplets at once, put them back
//! (while they boot, or after their gates), and see the load balancer route to them.

use futures_util::future::join_all;

use super::*;
use crate::health::{FailFast, HealthFailure, ProbeFailure};
use crate::rolling::waits::WaitHow;

/// One droplet's update and gate.
struct Done {
    droplet: Droplet,
    /// The update command's duration.
    update: Option<Duration>,
    /// The gate's duration.
    gate: Option<Duration>,
    /// When its gate first passed a probe (the app was up).
    first_pass: Option<Instant>,
    /// From the start of its update to the end of its gate.
    took: Duration,
    /// The step that failed, and why.
    error: Option<(Step, String)>,
    /// Whether the load balancer selects it now.
    in_lb: bool,
}

/// An answer a load balancer would take as healthy while the gate does not.
fn accepted_but_wrong(f: &HealthFailure) -> bool {
    match &f.last {
        ProbeFailure::Status { status } => *status < 400,
        ProbeFailure::BodyMismatch { .. } => true,
        _ => false,
    }
}

impl Run<'_> {
    /// Droplets in rotation now (not taken out, by us or an earlier run).
    fn serving(&self) -> usize {
        self.pool
            .iter()
            .filter(|d| !self.out.contains(&d.id))
            .count()
    }

    /// Whether a batch goes back into the load balancer while it boots, and why (or why not).
    /// Safe when the load balancer cannot route to a droplet before the gate can react: it
    /// needs `healthy_threshold` passing checks `check_interval_seconds` apart, so at least
    /// `(healthy_threshold - 1) × interval` after the app first answers; the gate probes every
    /// `interval` of its own and pulls a wrongly answering droplet out with one API call.
    pub(super) fn put_back_decision(&self) -> (bool, String) {
        if !self.cfg.put_back_early {
            return (false, "after its health gate passes (asked for)".into());
        }
        let hc = self.lb_health();
        let route = waits::scaled(
            Duration::from_secs(u64::from(hc.check_interval_seconds))
                * hc.healthy_threshold.saturating_sub(1),
            self.cfg.wait_scale,
        );
        let api = self.api_latency.unwrap_or(Duration::from_secs(1));
        let react = self.gate().policy.interval + api * 2 + Duration::from_millis(50);
        if react < route {
            (
                true,
                format!(
                    "while it boots, so that the load balancer's checks run meanwhile: it routes only after {} passing checks {}s apart (at least {}s after the app answers), and the gate, probing every {}s, takes a wrongly answering droplet out within about {}s",
                    hc.healthy_threshold,
                    waits::fmt_secs(waits::scaled(
                        Duration::from_secs(u64::from(hc.check_interval_seconds)),
                        self.cfg.wait_scale
                    )),
                    waits::fmt_secs(route),
                    waits::fmt_secs(self.gate().policy.interval),
                    waits::fmt_secs(react)
                ),
            )
        } else {
            (
                false,
                format!(
                    "after its health gate passes: the load balancer could route to a booting droplet {}s after it answers, before the gate could take a wrong one out (about {}s)",
                    waits::fmt_secs(route),
                    waits::fmt_secs(react)
                ),
            )
        }
    }

    /// One batch through the protocol: the droplets that failed come back (left out of
    /// rotation); `Err` stops the run.
    pub(super) async fn cycle_inner<H: DropletHook>(
        &mut self,
        members: &[crate::rolling::plan::Member],
        purpose: Purpose,
        hook: Option<&H>,
        report: &mut BatchReport,
    ) -> Result<Vec<Failure>, Stop> {
        self.check_staying(members).await?;
        self.take_out(members, report).await?;
        let gate = match purpose {
            Purpose::Update => self.gate().clone(),
            Purpose::Rollback => self.any_version_check(),
        };
        let droplets: Vec<Droplet> = members.iter().map(|m| m.droplet.clone()).collect();
        // 1. The update commands, all at once.
        let started = Instant::now();
        let hooks = join_all(droplets.iter().map(|d| self.run_hook(d, purpose, hook))).await;
        let mut done: Vec<Done> = droplets
            .iter()
            .zip(hooks)
            .map(|(d, (update, r))| Done {
                droplet: d.clone(),
                update,
                gate: None,
                first_pass: None,
                took: started.elapsed(),
                error: r.err().map(|e| {
                    (
                        match purpose {
                            Purpose::Update => Step::Update,
                            Purpose::Rollback => Step::Rollback,
                        },
                        format!("the {} command failed: {e}", purpose.as_str()),
                    )
                }),
                in_lb: false,
            })
            .collect();
        let updated: Vec<Droplet> = done
            .iter()
            .filter(|m| m.error.is_none())
            .map(|m| m.droplet.clone())
            .collect();
        // 2. Back into the load balancer while booting, when that is safe.
        let (early, why) = self.put_back_decision();
        let early = early && !updated.is_empty();
        if early {
            self.add_to_lb(&updated, &format!(": {why}")).await?;
            for m in done.iter_mut().filter(|m| m.error.is_none()) {
                m.in_lb = true;
            }
        }
        // 3. The health gates, all at once.
        let gates = join_all(
            done.iter()
                .filter(|m| m.error.is_none())
                .map(|m| self.gate_member(&m.droplet, &gate, m.in_lb)),
        )
        .await;
        for (m, g) in done.iter_mut().filter(|m| m.error.is_none()).zip(gates) {
            m.gate = Some(g.took);
            m.first_pass = g.first_pass;
            m.in_lb = g.in_lb;
            m.took = started.elapsed();
            if let Err(e) = g.result {
                m.error = Some((Step::HealthGate, format!("failed the health gate: {e}")));
            }
        }
        // 4. Failed droplets leave the load balancer again; with a rollback coming, the whole
        // batch does (it is rolled back first).
        let rollback_next =
            purpose == Purpose::Update && self.cfg.on_failure == OnFailure::Rollback;
        let any_failed = done.iter().any(|m| m.error.is_some());
        if any_failed && rollback_next {
            self.leave_again(&mut done, true).await?;
            return Ok(self.ledger(purpose, &done));
        }
        self.leave_again(&mut done, false).await?;
        // 5. Put back those whose gate passed (those not back already) and see the load
        // balancer route to them; one it never routes to fails like a failed gate.
        let to_join: Vec<Droplet> = done
            .iter()
            .filter(|m| m.error.is_none() && !m.in_lb)
            .map(|m| m.droplet.clone())
            .collect();
        if !to_join.is_empty() {
            self.add_to_lb(&to_join, "").await?;
            for m in done.iter_mut().filter(|m| m.error.is_none()) {
                m.in_lb = true;
            }
        }
        let passed: Vec<Droplet> = done
            .iter()
            .filter(|m| m.error.is_none())
            .map(|m| m.droplet.clone())
            .collect();
        if !passed.is_empty() {
            let up_since = done.iter().filter_map(|m| m.first_pass).max();
            let not_seen = self
                .see_routed(&passed, early.then_some(up_since).flatten(), report)
                .await;
            if let Err((ids, why)) = not_seen {
                for m in done.iter_mut().filter(|m| ids.contains(&m.droplet.id)) {
                    m.error = Some((Step::Verify, why.clone()));
                }
                self.leave_again(&mut done, rollback_next).await?;
                if rollback_next {
                    return Ok(self.ledger(purpose, &done));
                }
            }
        }
        // 6. Unmark the droplets back in rotation. The last droplets of a roll that went
        // through: deleting the marker tag untags them and leaves no empty tag behind, in one
        // call.
        let back: Vec<Droplet> = done
            .iter()
            .filter(|m| m.error.is_none())
            .map(|m| m.droplet.clone())
            .collect();
        let failures = self.ledger(purpose, &done);
        if !back.is_empty() {
            let last = purpose == Purpose::Update
                && failures.is_empty()
                && report.index == self.last_batch;
            self.unmark(&back, last).await?;
            self.back_in(&back);
        }
        Ok(failures)
    }

    /// Droplets of the batch that failed (all of them with `whole_batch`) and are in the load
    /// balancer leave it again; they keep the marker.
    async fn leave_again(&mut self, done: &mut [Done], whole_batch: bool) -> Result<(), Stop> {
        let leaving: Vec<Droplet> = done
            .iter()
            .filter(|m| m.in_lb && (whole_batch || m.error.is_some()))
            .map(|m| m.droplet.clone())
            .collect();
        if leaving.is_empty() {
            return Ok(());
        }
        self.remove_from_lb(&leaving, false).await?;
        for m in done
            .iter_mut()
            .filter(|m| leaving.iter().any(|d| d.id == m.droplet.id))
        {
            m.in_lb = false;
        }
        Ok(())
    }

    /// Record each droplet's state and timings in the report; the failures, with a warning
    /// each.
    fn ledger(&mut self, purpose: Purpose, done: &[Done]) -> Vec<Failure> {
        let mut failures = Vec::new();
        for m in done {
            if purpose == Purpose::Update
                && let Some(rep) = self.report_mut(m.droplet.id)
            {
                rep.update = m.update;
                rep.health_gate = m.gate;
            }
            self.record(purpose, m.droplet.id, m.took, m.error.is_none());
            if let Some((step, error)) = &m.error {
                self.steps.warn(format!(
                    "droplet {} ({}): {error}; it stays out of rotation",
                    m.droplet.id, m.droplet.name
                ));
                if let Some(r) = self.report_mut(m.droplet.id) {
                    r.failed_step = Some(*step);
                    r.error = Some(error.clone());
                }
                failures.push(Failure {
                    droplet: m.droplet.clone(),
                    error: error.clone(),
                });
            }
        }
        failures
    }

    /// The update command on one droplet, as a timed step.
    async fn run_hook<H: DropletHook>(
        &self,
        d: &Droplet,
        purpose: Purpose,
        hook: Option<&H>,
    ) -> (Option<Duration>, Result<(), String>) {
        let Some(hook) = hook else {
            return (None, Ok(()));
        };
        let target = HookTarget::new(d, self.cfg.version.as_deref(), purpose);
        let step = match purpose {
            Purpose::Update => Step::Update,
            Purpose::Rollback => Step::Rollback,
        };
        let s = self.steps.start_on(
            step,
            crate::events::Subject::droplet(d.id),
            format!("droplet {} ({})", d.id, d.name),
        );
        let r = hook.run(&target).await;
        let took = self.steps.finish(
            s,
            r.is_ok(),
            r.clone().err().unwrap_or_else(|| "done".into()),
        );
        (Some(took), r)
    }

    /// The health gate of one droplet, as a timed step. A droplet back in the load balancer
    /// already that answers in a way the load balancer would take but the gate does not is
    /// taken out of it at once, and gated on; it goes back once it passes.
    async fn gate_member(&self, d: &Droplet, gate: &HealthGate, in_lb: bool) -> GateResult {
        let ip = match gate.address_of(d) {
            Ok(ip) => ip,
            Err(m) => {
                return GateResult {
                    took: Duration::ZERO,
                    first_pass: None,
                    result: Err(m),
                    in_lb,
                };
            }
        };
        let url = gate.url_for(ip);
        let s = self.steps.start_on(
            Step::HealthGate,
            crate::events::Subject::droplet(d.id),
            format!("{} ({}) at {url}", d.id, d.name),
        );
        let started = Instant::now();
        let policy = &gate.policy;
        let sink = self.steps.sink;
        let mut in_lb = in_lb;
        let fail_fast = if in_lb {
            FailFast::OnAcceptedAnswer
        } else {
            FailFast::Never
        };
        let mut r = policy
            .wait_url_within(&url, sink, policy.deadline, fail_fast)
            .await;
        if in_lb
            && let Err(f) = &r
            && accepted_but_wrong(f)
        {
            match self.leave_lb(std::slice::from_ref(d)).await {
                Ok(()) => {
                    in_lb = false;
                    self.steps.warn(format!(
                        "droplet {} ({}) answered {url} with {} while back in the load balancer: taken out again until its gate passes",
                        d.id, d.name, f.last
                    ));
                    let left = policy.deadline.saturating_sub(started.elapsed());
                    r = if left.is_zero() {
                        r
                    } else {
                        policy
                            .wait_url_within(&url, sink, left, FailFast::Never)
                            .await
                    };
                }
                Err(e) => {
                    let msg = format!(
                        "it answered {} and could not be taken out of the load balancer again: {}",
                        f.last,
                        e.chain()
                    );
                    self.steps.finish(s, false, msg.clone());
                    return GateResult {
                        took: started.elapsed(),
                        first_pass: None,
                        result: Err(msg),
                        in_lb,
                    };
                }
            }
        }
        let detail = match &r {
            Ok(h) => format!(
                "{} passing probes in a row after {} attempts",
                policy.successes, h.attempts
            ),
            Err(f) => f.to_string(),
        };
        let took = self.steps.finish(s, r.is_ok(), detail);
        GateResult {
            took,
            first_pass: r.as_ref().ok().map(|h| {
                // The run's first passing probe: counted back from the end of the gate.
                Instant::now() - (h.duration.saturating_sub(h.first_success_after))
            }),
            result: r.map(|_| ()).map_err(|f| f.to_string()),
            in_lb,
        }
    }

    /// Take `members` out of rotation (those still in): watched until the load balancer lets
    /// go of them, or the computed waits; then the in-flight allowance.
    pub(super) async fn take_out(
        &mut self,
        members: &[crate::rolling::plan::Member],
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
        let serving = self.serving();
        let watching = self.watcher.is_some();
        let sync = self.cfg.lb_sync_wait;
        let mut remove_now = leaving.clone();
        // When the last of them stopped receiving requests, as watched.
        let mut since: Option<Instant> = None;
        if let Drain::ShutdownUrl { path, method } = self.cfg.drain.clone() {
            // Marker first, so a crash while draining leaves the droplets findable.
            self.mark(&leaving).await?;
            let calls = join_all(leaving.iter().map(|d| self.drain_one(d, &path, &method))).await;
            let (drained, failed): (Vec<_>, Vec<_>) =
                leaving.iter().cloned().zip(calls).partition(|(_, ok)| *ok);
            let drained: Vec<Droplet> = drained.into_iter().map(|(d, _)| d).collect();
            remove_now = failed.into_iter().map(|(d, _)| d).collect();
            if !drained.is_empty() {
                if watching {
                    // The load balancer's own checks now fail them: watch them leave.
                    let detection = waits::unhealthy_window(&self.lb_health());
                    match self.watch_gone(&drained, serving, detection).await {
                        Ok((w, at)) => {
                            report.waits.push(w);
                            since = Some(at);
                        }
                        Err(m) => {
                            self.steps
                                .warn(format!("{m}; removing them from the load balancer instead"));
                            remove_now.extend(drained.iter().cloned());
                        }
                    }
                } else {
                    let detection: Vec<Wait> = self
                        .take_out_waits()
                        .into_iter()
                        .filter(|w| w.kind == WaitKind::Detection)
                        .collect();
                    self.sleep_waits(Step::Drain, &detection).await;
                    report.waits.extend(detection);
                }
            }
            let marked = leaving.clone();
            self.remove_from_lb(&marked, false).await?;
        } else {
            self.remove_from_lb(&leaving, true).await?;
        }
        if !remove_now.is_empty() {
            if watching {
                match self.watch_gone(&remove_now, serving, sync).await {
                    Ok((w, at)) => {
                        report.waits.push(w);
                        since = Some(since.map_or(at, |s| s.max(at)));
                    }
                    Err(m) => {
                        return Err(Stop::new(
                            Outcome::Paused,
                            format!(
                                "{m}: the load balancer still routes to it, so it was not updated; it carries `{}`: re-run to continue",
                                self.planned.marker
                            ),
                        ));
                    }
                }
            } else {
                let sync_wait: Vec<Wait> = self
                    .take_out_waits_for(&Drain::Remove)
                    .into_iter()
                    .filter(|w| w.kind == WaitKind::LbSync)
                    .collect();
                self.sleep_waits(Step::Drain, &sync_wait).await;
                report.waits.extend(sync_wait);
            }
        }
        let allowance = self.in_flight_allowance(since).await;
        report.waits.push(allowance);
        Ok(())
    }

    /// Call the drain URL of `d` and, when nothing watches the load balancer, see its health
    /// check fail directly; `false` (with a warning) when that did not work.
    async fn drain_one(&self, d: &Droplet, path: &str, method: &str) -> bool {
        let s = self.steps.start_on(
            Step::Drain,
            crate::events::Subject::droplet(d.id),
            format!("{method} {path} on {} ({})", d.id, d.name),
        );
        let r = match self.drain_url(d, path, method).await {
            Ok(()) if self.watcher.is_none() => self
                .see_failing(d)
                .await
                .map(|after| format!("health check failing after {:.1}s", after.as_secs_f64())),
            Ok(()) => Ok("drain URL called".to_owned()),
            Err(e) => Err(e),
        };
        match r {
            Ok(detail) => {
                self.steps.finish(s, true, detail);
                true
            }
            Err(e) => {
                self.steps.finish(s, false, e.clone());
                self.steps.warn(format!(
                    "drain URL on droplet {} did not make its health check fail ({e}); removing it from the load balancer instead",
                    d.id
                ));
                false
            }
        }
    }

    /// After putting `ds` back: watch the load balancer route to them, or wait the computed
    /// window (counted from when their apps first answered, `up_since`, if they went back
    /// while booting).
    async fn see_routed(
        &mut self,
        ds: &[Droplet],
        up_since: Option<Instant>,
        report: &mut BatchReport,
    ) -> Result<(), (Vec<DropletId>, String)> {
        if self.watcher.is_some() {
            return match self.watch_seen(ds).await {
                Ok(w) => {
                    report.waits.push(w);
                    Ok(())
                }
                Err((missing, msg)) => Err((
                    missing,
                    format!("healthy, but the load balancer never routed to it: {msg}"),
                )),
            };
        }
        let mut list = self.put_back_waits();
        if let Some(t) = up_since {
            // Back in since before they booted: the load balancer's checks started then; the
            // window runs from when the apps answered.
            let mut gone = t.elapsed();
            for w in &mut list {
                let cut = gone.min(w.applied);
                w.applied -= cut;
                gone -= cut;
                if !cut.is_zero() {
                    w.why.push_str(&format!(
                        " (counted from when the app first answered: {}s already passed)",
                        waits::fmt_secs(cut)
                    ));
                }
            }
        }
        debug_assert!(list.iter().all(|w| w.how == WaitHow::Computed));
        self.sleep_waits(Step::PutBack, &list).await;
        report.waits.extend(list);
        Ok(())
    }
}

/// What a droplet's gate came to.
struct GateResult {
    took: Duration,
    first_pass: Option<Instant>,
    result: Result<(), String>,
    in_lb: bool,
}
