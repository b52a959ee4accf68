//! Running an analysis: hold the canaries in rotation for the window while zdd-do's probes go
//! through the load balancer (each answer attributed to its droplet), then read the load
//! balancer's metrics and run the user's check, judge, and tell the events.

use std::time::Duration;

use do_api::Client;
use do_api::droplets::Droplet;
use do_api::load_balancers::LoadBalancer;

use super::judge::{Figures, JudgeKind, JudgeResult, Verdict, combine, compare, p95_ms};
use super::{BlastRadius, CanaryCheck, CanaryConfig, CanaryContext, CanaryReport, CheckOutcome};
use crate::events::{Event, Step, Subject};
use crate::lock::now_unix;
use crate::rolling::identity::names;
use crate::rolling::watch::{Entry, Sample, Watcher};
use crate::runner::Steps;

/// What an analysis runs against.
pub(crate) struct Analysis<'a> {
    pub client: &'a Client,
    pub steps: &'a Steps<'a>,
    pub cfg: &'a CanaryConfig,
    pub lb: &'a LoadBalancer,
    /// How the run watches the load balancer (its entry point and how answers name
    /// droplets); without it the probes cannot attribute answers.
    pub watcher: Option<&'a Watcher>,
    /// Each probe's timeout.
    pub timeout: Duration,
    /// The release the canaries run, for the check's environment.
    pub version: Option<&'a str>,
}

/// Probe answers, by group.
#[derive(Default)]
struct Tally {
    canary: Group,
    old: Group,
    unattributed: u64,
    unattributed_errors: u64,
}

#[derive(Default)]
struct Group {
    requests: u64,
    errors: u64,
    took: Vec<Duration>,
}

impl Group {
    fn add(&mut self, s: &Sample) {
        self.requests += 1;
        if s.status.is_none_or(|c| c >= 500) {
            self.errors += 1;
        }
        self.took.push(s.took);
    }

    fn figures(mut self) -> Figures {
        Figures {
            requests: self.requests as f64,
            errors: self.errors as f64,
            p95_ms: p95_ms(&mut self.took),
            health_checks_failed: None,
        }
    }
}

impl Tally {
    fn feed(&mut self, s: &Sample, canaries: &[Droplet], old: &[Droplet]) {
        let of = |ds: &[Droplet]| {
            s.named
                .as_deref()
                .is_some_and(|n| ds.iter().any(|d| names(n, d)))
        };
        if of(canaries) {
            self.canary.add(s);
        } else if of(old) {
            self.old.add(s);
        } else {
            self.unattributed += 1;
            if s.status.is_none_or(|c| c >= 500) {
                self.unattributed_errors += 1;
            }
        }
    }
}

/// The probes' URL: the watcher's entry point with the analysis path.
fn entry_for(w: &Watcher, path: &str) -> Result<Entry, String> {
    let mut url = reqwest::Url::parse(&w.entry.url).map_err(|e| {
        format!(
            "the load balancer's entry point `{}` is not a URL ({e})",
            w.entry.url
        )
    })?;
    let (p, q) = path
        .split_once('?')
        .map_or((path, None), |(p, q)| (p, Some(q)));
    url.set_path(p);
    url.set_query(q);
    Ok(Entry {
        url: url.to_string(),
        accept_any_certificate: w.entry.accept_any_certificate,
        source: w.entry.source.clone(),
    })
}

/// Probe through the load balancer for the window and judge. Without a way to attribute
/// answers to droplets, the window is still held and the judge is inconclusive, saying why.
async fn probe_window(a: &Analysis<'_>, canaries: &[Droplet], old: &[Droplet]) -> JudgeResult {
    let kind = JudgeKind::Probes;
    let Some(w) = a.watcher else {
        tokio::time::sleep(a.cfg.window).await;
        return JudgeResult::inconclusive(
            kind,
            "answers through the load balancer cannot be attributed to droplets (the waits are computed, not watched), so the probes cannot tell canaries from old droplets",
        );
    };
    let entry = match entry_for(w, &a.cfg.path) {
        Ok(e) => e,
        Err(m) => {
            tokio::time::sleep(a.cfg.window).await;
            return JudgeResult::inconclusive(kind, m);
        }
    };
    let url = entry.url.clone();
    let mut probe = Watcher::new(entry, w.identify.clone(), a.timeout);
    let rate = a.cfg.probe_rate(canaries.len(), canaries.len() + old.len());
    probe.spacing = Duration::from_secs_f64(1.0 / rate);
    probe.concurrency = ((rate / 12.0).ceil() as usize).max(8);
    let mut tally = Tally::default();
    let _ = probe
        .watch(a.cfg.window, |s| {
            tally.feed(s, canaries, old);
            false
        })
        .await;
    let Tally {
        canary,
        old: old_group,
        unattributed,
        unattributed_errors,
    } = tally;
    let mut r = compare(
        kind,
        canary.figures(),
        old_group.figures(),
        &a.cfg.thresholds,
    );
    let total = r.canary.as_ref().map_or(0.0, |f| f.requests)
        + r.old.as_ref().map_or(0.0, |f| f.requests)
        + unattributed as f64;
    if unattributed_errors > 0 {
        let share = unattributed_errors as f64 / total.max(1.0);
        r.reason = format!(
            "{}; {unattributed_errors} probe(s) of {url} failed with no droplet named",
            r.reason
        );
        if r.verdict == Verdict::Pass && share > a.cfg.thresholds.max_error_rate_increase {
            r.verdict = Verdict::Inconclusive;
            r.reason = format!(
                "{} (more than the allowance: they could be the canaries')",
                r.reason
            );
        }
    }
    r
}

async fn lb_metrics(
    a: &Analysis<'_>,
    canaries: &[Droplet],
    old: &[Droplet],
    start: u64,
    end: u64,
) -> JudgeResult {
    match super::metrics::fetch(a.client, &a.lb.id, start, end).await {
        Ok(m) => super::metrics::judge(
            &m,
            &canaries.iter().map(|d| d.id).collect::<Vec<_>>(),
            &old.iter().map(|d| d.id).collect::<Vec<_>>(),
            (end.saturating_sub(start)).max(1) as f64,
            &a.cfg.thresholds,
        ),
        Err(e) => JudgeResult::inconclusive(
            JudgeKind::LbMetrics,
            format!("the Monitoring API could not be read ({})", e.chain()),
        ),
    }
}

async fn user_check<C: CanaryCheck>(check: Option<&C>, ctx: &CanaryContext) -> JudgeResult {
    let kind = JudgeKind::Check;
    let Some(c) = check else {
        return JudgeResult::inconclusive(kind, "no check was given");
    };
    let (verdict, reason) = match c.check(ctx).await {
        CheckOutcome::Pass => (Verdict::Pass, format!("`{}` passed", c.describe())),
        CheckOutcome::Fail(why) => (Verdict::Fail, format!("`{}` failed: {why}", c.describe())),
        CheckOutcome::Inconclusive(why) => (
            Verdict::Inconclusive,
            format!("`{}` could not judge: {why}", c.describe()),
        ),
    };
    JudgeResult {
        verdict,
        reason,
        ..JudgeResult::inconclusive(kind, "")
    }
}

fn judges_named(cfg: &CanaryConfig) -> String {
    let j = cfg.judges;
    [
        (j.probes, "zdd-do's probes"),
        (j.lb_metrics, "the load balancer's metrics"),
        (j.check, "the check"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, n)| *n)
    .collect::<Vec<_>>()
    .join(", ")
}

/// Hold `canaries` (serving beside `old`) for the window and judge them.
pub(crate) async fn analyse<C: CanaryCheck>(
    a: &Analysis<'_>,
    canaries: &[Droplet],
    old: &[Droplet],
    check: Option<&C>,
) -> CanaryReport {
    let ids: Vec<_> = canaries.iter().map(|d| d.id).collect();
    let s = a.steps.start_on(
        Step::Analyse,
        Subject::Droplets { ids: ids.clone() },
        format!(
            "{} take traffic beside {} for {}s, judged by {}",
            crate::rotation::names(canaries),
            crate::rotation::names(old),
            a.cfg.window.as_secs(),
            judges_named(a.cfg)
        ),
    );
    let start = now_unix();
    let mut results = Vec::new();
    if a.cfg.judges.probes {
        results.push(probe_window(a, canaries, old).await);
    } else {
        tokio::time::sleep(a.cfg.window).await;
    }
    let end = now_unix();
    if a.cfg.judges.lb_metrics {
        results.push(lb_metrics(a, canaries, old, start, end).await);
    }
    if a.cfg.judges.check {
        let ctx = CanaryContext {
            canaries: canaries.iter().map(Into::into).collect(),
            old: old.iter().map(Into::into).collect(),
            version: a.version.map(str::to_owned),
            lb_id: a.lb.id.to_string(),
            lb_name: a.lb.name.clone(),
            window_start: start,
            window_end: end,
        };
        results.push(user_check(check, &ctx).await);
    }
    let verdict = combine(&results);
    let counted = |k: JudgeKind| {
        results
            .iter()
            .find(|r| r.judge == k)
            .and_then(|r| r.canary.as_ref())
            .map(|f| BlastRadius {
                requests: f.errors.round() as u64,
                counted_by: k,
            })
    };
    let failed_requests = counted(JudgeKind::LbMetrics).or_else(|| counted(JudgeKind::Probes));
    for r in &results {
        a.steps.emit(Event::CanaryJudged { result: r.clone() });
    }
    a.steps.emit(Event::CanaryVerdict {
        verdict,
        canaries: ids,
        failed_requests: failed_requests.clone(),
    });
    let summary = results
        .iter()
        .map(|r| format!("{} {}: {}", r.judge.label(), r.verdict, r.reason))
        .collect::<Vec<_>>()
        .join("; ");
    a.steps
        .finish(s, verdict == Verdict::Pass, format!("{verdict}: {summary}"));
    CanaryReport {
        canaries: canaries.iter().map(Into::into).collect(),
        window_start: start,
        window_end: end,
        verdict,
        judges: results,
        failed_requests,
        passed_earlier: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rolling::identity::Identify;

    #[test]
    fn the_probes_ask_the_analysis_path_at_the_entry_point() {
        let w = Watcher::new(
            Entry {
                url: "http://127.0.0.9:8080/health".into(),
                accept_any_certificate: false,
                source: "x".into(),
            },
            Identify::Header("x-droplet-id".into()),
            Duration::from_secs(1),
        );
        assert_eq!(entry_for(&w, "/").unwrap().url, "http://127.0.0.9:8080/");
        assert_eq!(
            entry_for(&w, "/api/ping?full=1").unwrap().url,
            "http://127.0.0.9:8080/api/ping?full=1"
        );
    }
}
