//! Watched waits: learning how droplets name themselves, then seeing through the load
//! balancer when a droplet has left and when it is back; the computed waits where nothing can
//! be watched, with the reason.

use super::*;
use crate::rolling::identity::{self, Identity};
use crate::rolling::report::WatchReport;
use crate::rolling::waits::WaitHow;
use crate::rolling::watch::{self, CONFIDENCE, Entry, Gone, Seen, Watcher, probes_needed};

/// Droplets probed directly to learn the identity.
const LEARN_FROM: usize = 3;

impl Run<'_> {
    /// Decide how this run sees droplets leave and join: watched (a [`Watcher`]) or
    /// computed (the reason goes to the plan, the events and the report).
    pub(super) async fn setup_watch(&mut self, pool: &[Droplet]) {
        let s = self
            .steps
            .start(Step::Observe, "how droplets can be watched");
        match self.try_watch(pool).await {
            Ok((w, identity)) => {
                self.steps.finish(
                    s,
                    true,
                    format!(
                        "watching {} ({}); {}",
                        w.entry.url, identity.how, identity.evidence
                    ),
                );
                self.watch_report = WatchReport {
                    how: WaitHow::Observed,
                    url: Some(w.entry.url.clone()),
                    source: Some(w.entry.source.clone()),
                    accept_any_certificate: w.entry.accept_any_certificate,
                    identity: Some(identity),
                    reason: None,
                };
                self.watcher = Some(w);
            }
            Err(reason) => {
                self.steps
                    .finish(s, true, format!("computed waits: {reason}"));
                self.steps
                    .warn(format!("the waits are computed, not watched: {reason}"));
                self.watch_report = WatchReport {
                    how: WaitHow::Computed,
                    url: None,
                    source: None,
                    accept_any_certificate: false,
                    identity: None,
                    reason: Some(reason),
                };
            }
        }
    }

    async fn try_watch(&self, pool: &[Droplet]) -> Result<(Watcher, Identity), String> {
        if self.cfg.watch.computed_only {
            return Err("computed waits were asked for".into());
        }
        let entry = match &self.cfg.watch.url {
            Some(url) => Entry {
                url: url.clone(),
                accept_any_certificate: url.starts_with("https://"),
                source: "the URL given".into(),
            },
            None => watch::entry_from_lb(self.lb(), &self.gate().endpoint.path)?,
        };
        let serving: Vec<Droplet> = pool
            .iter()
            .filter(|d| !self.out.contains(&d.id) && !self.unhealthy_at_start.contains(&d.id))
            .cloned()
            .collect();
        let identity = match &self.cfg.watch.identity {
            Some(how) => Identity {
                how: how.clone(),
                learned: false,
                evidence: "as given".into(),
            },
            None => self.learn_identity(&serving).await?,
        };
        let w = Watcher::new(
            entry,
            identity.how.clone(),
            self.gate().policy.request_timeout,
        );
        if serving.is_empty() {
            return Err(
                "no healthy droplet is in rotation to watch through the load balancer".into(),
            );
        }
        // Through the load balancer, answers must name droplets of the pool: a baseline, which
        // also measures each droplet's share of the traffic.
        let want = (2 * serving.len()).clamp(6, 60);
        let mut named = 0;
        let r = w
            .watch(
                Duration::from_secs(2) + self.gate().policy.request_timeout,
                |s| {
                    if s.named
                        .as_deref()
                        .is_some_and(|n| pool.iter().any(|d| identity::names(n, d)))
                    {
                        named += 1;
                    }
                    named >= want
                },
            )
            .await;
        match r {
            Ok(_) => Ok((w, identity)),
            Err(_) if named > 0 => Ok((w, identity)),
            Err(end) => Err(format!(
                "answers through {} name no droplet of the load balancer ({} probes; last: {})",
                w.entry.url, end.samples, end.last
            )),
        }
    }

    /// Probe a few droplets directly and find the header or JSON field naming each.
    async fn learn_identity(&self, serving: &[Droplet]) -> Result<Identity, String> {
        let gate = self.any_version_check();
        let mut answers = Vec::new();
        let mut last_err = None;
        for d in serving.iter().take(LEARN_FROM) {
            let Ok(ip) = gate.address_of(d) else { continue };
            match gate.fetch(ip).await {
                Ok((headers, body)) => answers.push((d.clone(), headers, body)),
                Err(e) => last_err = Some(e),
            }
        }
        identity::choose(&answers, &gate.endpoint.path).map_err(|e| match last_err {
            Some(why) if answers.is_empty() => format!("{e} ({why})"),
            _ => e,
        })
    }

    /// How long a watch may take before it counts as failed.
    pub(super) fn watch_deadline(&self) -> Duration {
        self.cfg.watch.deadline.unwrap_or_else(|| {
            let window = waits::total_applied(&self.put_back_waits())
                .max(waits::total_applied(&self.take_out_waits()));
            window.mul_f64(3.0) + self.gate().policy.request_timeout
        })
    }

    /// Watch until `leaving` no longer answer through the load balancer: enough answers in a
    /// row from the other droplets at their share of the traffic. `serving` is how many
    /// droplets were in rotation with them. Returns the wait and when they stopped receiving
    /// requests (one of them last answered, or the watch started).
    pub(super) async fn watch_gone(
        &self,
        leaving: &[Droplet],
        serving: usize,
        computed: Duration,
    ) -> Result<(Wait, Instant), String> {
        let w = self.watcher.as_ref().expect("watching");
        let started = Instant::now();
        let expected = leaving.len() as f64 / serving.max(1) as f64;
        let share = w
            .observed_share(leaving, 20)
            .map_or(expected, |o| o.min(expected))
            .max(expected / 2.0);
        let needed = probes_needed(share, CONFIDENCE);
        let s = self.steps.start_on(
            Step::Drain,
            crate::events::Subject::Droplets {
                ids: Self::ids(leaving),
            },
            format!(
                "watch {} until {} no longer answer ({needed} answers in a row from other droplets)",
                w.entry.url,
                Self::names(leaving)
            ),
        );
        let mut gone = Gone::new(leaving, needed);
        let r = w.watch(self.watch_deadline(), |smp| gone.feed(smp)).await;
        match r {
            Ok(end) => {
                self.steps.finish(
                    s,
                    true,
                    format!(
                        "gone: {needed} answers in a row from other droplets after {}s",
                        waits::fmt_secs(end.took)
                    ),
                );
                let wait = Wait {
                    kind: WaitKind::Leave,
                    how: WaitHow::Observed,
                    computed,
                    applied: end.took,
                    why: format!(
                        "no answer from it in {needed} answers in a row through {} (it had {:.0}% of the traffic: 1 chance in 1,000 it was still in rotation)",
                        w.entry.url,
                        share * 100.0
                    ),
                };
                Ok((wait, gone.last_seen.unwrap_or(started)))
            }
            Err(end) => {
                let msg = format!(
                    "{} still answered through {} {}s after leaving the load balancer ({} probes, {} from it; last: {})",
                    Self::names(leaving),
                    w.entry.url,
                    waits::fmt_secs(end.took),
                    end.samples,
                    gone.seen,
                    end.last
                );
                self.steps.finish(s, false, msg.clone());
                Err(msg)
            }
        }
    }

    /// The in-flight allowance: all of it, or what is left since `since` (when the droplets
    /// were last seen answering through the load balancer).
    pub(super) async fn in_flight_allowance(&self, since: Option<Instant>) -> Wait {
        let full = waits::scaled(self.cfg.drain_wait, self.cfg.wait_scale);
        let observed = since.is_some();
        let left = since.map_or(full, |t| full.saturating_sub(t.elapsed()));
        let w = Wait {
            kind: WaitKind::Drain,
            how: WaitHow::Computed,
            computed: self.cfg.drain_wait,
            applied: left,
            why: if observed {
                "in-flight allowance: requests already sent to it finish; counted from its last answer through the load balancer".into()
            } else {
                "in-flight allowance: requests already sent to it finish".into()
            },
        };
        if !left.is_zero() {
            self.sleep_waits(Step::Drain, std::slice::from_ref(&w))
                .await;
        }
        w
    }

    /// Watch until each of `ds` answered through the load balancer (`sightings` times).
    pub(super) async fn watch_seen(
        &mut self,
        ds: &[Droplet],
    ) -> Result<Wait, (Vec<DropletId>, String)> {
        let w = self.watcher.as_ref().expect("watching");
        let deadline = self.watch_deadline();
        let sightings = self.cfg.watch.sightings;
        let s = self.steps.start(
            Step::Verify,
            format!(
                "watch {} until {} answer{} (within {}s)",
                w.entry.url,
                Self::names(ds),
                if sightings > 1 {
                    format!(" {sightings} times each")
                } else {
                    String::new()
                },
                waits::fmt_secs(deadline)
            ),
        );
        let started = Instant::now();
        let mut seen = Seen::new(ds, sightings);
        let r = w.watch(deadline, |smp| seen.feed(smp)).await;
        match r {
            Ok(end) => {
                self.steps
                    .finish(s, true, "every droplet answered through the load balancer");
                let url = w.entry.url.clone();
                for (id, at) in &seen.first {
                    if let Some(r) = self.report_mut(*id) {
                        r.seen_through_lb_after = Some(at.saturating_duration_since(started));
                    }
                }
                Ok(Wait {
                    kind: WaitKind::Routing,
                    how: WaitHow::Observed,
                    computed: self.put_back_waits().iter().map(|w| w.computed).sum(),
                    applied: end.took,
                    why: format!(
                        "answered through {url} ({sightings} time{} each)",
                        if sightings == 1 { "" } else { "s" }
                    ),
                })
            }
            Err(end) => {
                let missing: Vec<String> = seen
                    .missing()
                    .iter()
                    .map(|d| format!("{} ({})", d.id, d.name))
                    .collect();
                let msg = format!(
                    "{} never answered through {} within {}s ({} probes, last: {})",
                    missing.join(", "),
                    w.entry.url,
                    waits::fmt_secs(deadline),
                    end.samples,
                    end.last
                );
                self.steps.finish(s, false, msg.clone());
                Err((seen.missing().iter().map(|d| d.id).collect(), msg))
            }
        }
    }
}
