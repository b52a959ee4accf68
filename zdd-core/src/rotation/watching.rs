//! Watched waits: learning how droplets name themselves, then seeing through the load
//! balancer when droplets have left and when they serve; the computed waits where nothing can
//! be watched, with the reason.

use std::time::Duration;

use do_api::DropletId;
use do_api::droplets::Droplet;
use do_api::load_balancers::LoadBalancer;
use tokio::time::Instant;

use super::{ids, names, sleep_waits};
use crate::events::{Step, Subject};
use crate::health::HealthGate;
use crate::rolling::WatchReport;
use crate::rolling::WatchSettings;
use crate::rolling::identity::{self, Identity};
use crate::rolling::waits::{self, Wait, WaitHow, WaitKind};
use crate::rolling::watch::{self, CONFIDENCE, Entry, Gone, Seen, Watcher, probes_needed};
use crate::runner::Steps;

/// Droplets probed directly to learn the identity.
const LEARN_FROM: usize = 3;

/// Decide how a run sees droplets leave and join `lb`: watched (a [`Watcher`]) or computed
/// (the reason goes to the events and the report). `serving` are the droplets in rotation now
/// and healthy (the identity is learned from them); answers through the load balancer must name
/// droplets of `pool`.
pub(crate) async fn setup_watch(
    steps: &Steps<'_>,
    settings: &WatchSettings,
    lb: &LoadBalancer,
    gate: &HealthGate,
    serving: &[Droplet],
    pool: &[Droplet],
) -> (Option<Watcher>, WatchReport) {
    let s = steps.start(Step::Observe, "how droplets can be watched");
    match try_watch(settings, lb, gate, serving, pool).await {
        Ok((w, identity)) => {
            steps.finish(
                s,
                true,
                format!(
                    "watching {} ({}); {}",
                    w.entry.url, identity.how, identity.evidence
                ),
            );
            let report = WatchReport {
                how: WaitHow::Observed,
                url: Some(w.entry.url.clone()),
                source: Some(w.entry.source.clone()),
                accept_any_certificate: w.entry.accept_any_certificate,
                identity: Some(identity),
                reason: None,
            };
            (Some(w), report)
        }
        Err(reason) => {
            steps.finish(s, true, format!("computed waits: {reason}"));
            steps.warn(format!("the waits are computed, not watched: {reason}"));
            let report = WatchReport {
                how: WaitHow::Computed,
                url: None,
                source: None,
                accept_any_certificate: false,
                identity: None,
                reason: Some(reason),
            };
            (None, report)
        }
    }
}

async fn try_watch(
    settings: &WatchSettings,
    lb: &LoadBalancer,
    gate: &HealthGate,
    serving: &[Droplet],
    pool: &[Droplet],
) -> Result<(Watcher, Identity), String> {
    if settings.computed_only {
        return Err("computed waits were asked for".into());
    }
    let entry = match &settings.url {
        Some(url) => Entry {
            url: url.clone(),
            accept_any_certificate: url.starts_with("https://"),
            source: "the URL given".into(),
        },
        None => watch::entry_from_lb(lb, &gate.endpoint.path)?,
    };
    let identity = match &settings.identity {
        Some(how) => Identity {
            how: how.clone(),
            learned: false,
            evidence: "as given".into(),
        },
        None => learn_identity(gate, serving).await?,
    };
    let w = Watcher::new(entry, identity.how.clone(), gate.policy.request_timeout);
    if serving.is_empty() {
        return Err("no healthy droplet is in rotation to watch through the load balancer".into());
    }
    // Through the load balancer, answers must name droplets of the pool: a baseline, which
    // also measures each droplet's share of the traffic.
    let want = (2 * serving.len()).clamp(6, 60);
    let mut named = 0;
    let r = w
        .watch(Duration::from_secs(2) + gate.policy.request_timeout, |s| {
            if s.named
                .as_deref()
                .is_some_and(|n| pool.iter().any(|d| identity::names(n, d)))
            {
                named += 1;
            }
            named >= want
        })
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
async fn learn_identity(gate: &HealthGate, serving: &[Droplet]) -> Result<Identity, String> {
    let gate = gate.any_version();
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

/// How long a watch may take before it counts as failed: the deadline given, or three times
/// the longer computed window (putting back, taking out) plus one request's timeout.
pub(crate) fn watch_deadline(
    given: Option<Duration>,
    put_back: &[Wait],
    take_out: &[Wait],
    request_timeout: Duration,
) -> Duration {
    given.unwrap_or_else(|| {
        let window = waits::total_applied(put_back).max(waits::total_applied(take_out));
        window.mul_f64(3.0) + request_timeout
    })
}

/// The in-flight allowance, as a timed step: all of `drain_wait` (scaled), or what is left
/// since `since` (when the droplets were last seen answering through the load balancer).
pub(crate) async fn in_flight_allowance(
    steps: &Steps<'_>,
    drain_wait: Duration,
    scale: f64,
    since: Option<Instant>,
) -> Wait {
    let full = waits::scaled(drain_wait, scale);
    let observed = since.is_some();
    let left = since.map_or(full, |t| full.saturating_sub(t.elapsed()));
    let w = Wait {
        kind: WaitKind::Drain,
        how: WaitHow::Computed,
        computed: drain_wait,
        applied: left,
        why: if observed {
            "in-flight allowance: requests already sent to it finish; counted from its last answer through the load balancer".into()
        } else {
            "in-flight allowance: requests already sent to it finish".into()
        },
    };
    if !left.is_zero() {
        sleep_waits(steps, Step::Drain, std::slice::from_ref(&w)).await;
    }
    w
}

/// Seeing droplets leave and join through a [`Watcher`], as timed steps.
pub(crate) struct Watch<'a> {
    /// Where the steps go.
    pub steps: &'a Steps<'a>,
    /// What probes the load balancer.
    pub watcher: &'a Watcher,
    /// How long one watch may take ([`watch_deadline`]).
    pub deadline: Duration,
}

/// What [`Watch::seen`] saw: the wait, and when each droplet first answered (counted from the
/// start of the watch).
pub(crate) struct Sighted {
    /// The observed wait.
    pub wait: Wait,
    /// Each droplet's first answer, after the watch started.
    pub first: Vec<(DropletId, Duration)>,
}

impl Watch<'_> {
    /// Watch until `leaving` no longer answer through the load balancer: enough answers in a
    /// row from the other droplets at their share of the traffic. `serving` is how many
    /// droplets were in rotation with them; `computed` what would have been slept instead.
    /// Returns the wait and when they stopped receiving requests (one of them last answered,
    /// or the watch started).
    pub async fn gone(
        &self,
        leaving: &[Droplet],
        serving: usize,
        computed: Duration,
    ) -> Result<(Wait, Instant), String> {
        let w = self.watcher;
        let started = Instant::now();
        let expected = leaving.len() as f64 / serving.max(1) as f64;
        let share = w
            .observed_share(leaving, 20)
            .map_or(expected, |o| o.min(expected))
            .max(expected / 2.0);
        let needed = probes_needed(share, CONFIDENCE);
        let s = self.steps.start_on(
            Step::Drain,
            Subject::Droplets { ids: ids(leaving) },
            format!(
                "watch {} until {} no longer answer ({needed} answers in a row from other droplets)",
                w.entry.url,
                names(leaving)
            ),
        );
        let mut gone = Gone::new(leaving, needed);
        let r = w.watch(self.deadline, |smp| gone.feed(smp)).await;
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
                    names(leaving),
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

    /// Watch until each of `ds` answered through the load balancer `sightings` times (with a
    /// status below 400). `computed` is what would have been slept instead. `Err` names the
    /// droplets never seen enough.
    pub async fn seen(
        &self,
        ds: &[Droplet],
        sightings: u32,
        computed: Duration,
    ) -> Result<Sighted, (Vec<DropletId>, String)> {
        let w = self.watcher;
        let s = self.steps.start(
            Step::Verify,
            format!(
                "watch {} until {} answer{} (within {}s)",
                w.entry.url,
                names(ds),
                if sightings > 1 {
                    format!(" {sightings} times each")
                } else {
                    String::new()
                },
                waits::fmt_secs(self.deadline)
            ),
        );
        let started = Instant::now();
        let mut seen = Seen::new(ds, sightings);
        let r = w.watch(self.deadline, |smp| seen.feed(smp)).await;
        match r {
            Ok(end) => {
                self.steps
                    .finish(s, true, "every droplet answered through the load balancer");
                Ok(Sighted {
                    wait: Wait {
                        kind: WaitKind::Routing,
                        how: WaitHow::Observed,
                        computed,
                        applied: end.took,
                        why: format!(
                            "answered through {} ({sightings} time{} each)",
                            w.entry.url,
                            if sightings == 1 { "" } else { "s" }
                        ),
                    },
                    first: seen
                        .first
                        .iter()
                        .map(|(id, at)| (*id, at.saturating_duration_since(started)))
                        .collect(),
                })
            }
            Err(end) => {
                let missing: Vec<&Droplet> = seen.missing();
                let msg = format!(
                    "{} never answered through {} within {}s ({} probes, last: {})",
                    missing
                        .iter()
                        .map(|d| format!("{} ({})", d.id, d.name))
                        .collect::<Vec<_>>()
                        .join(", "),
                    w.entry.url,
                    waits::fmt_secs(self.deadline),
                    end.samples,
                    end.last
                );
                self.steps.finish(s, false, msg.clone());
                Err((missing.iter().map(|d| d.id).collect(), msg))
            }
        }
    }
}
