//! `replace` with a canary, against the stateful fake: the first new droplet joins beside the
//! old fleet, takes traffic through the fake load balancer for the window, and is judged by
//! zdd-do's probes, the Monitoring API's load-balancer metrics (computed by the fake from what
//! its load balancer served) and a check. Releases: `app-v2` (good), `app-flaky` (healthy,
//! fails 1 request in 20), `app-slow` (healthy, answers 200 ms late).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use fake_do::{FLAKY_IMAGE, FakeDo, GOOD_IMAGE, SLOW_IMAGE};
use tokio::sync::Notify;
use zdd_core::Outcome;
use zdd_core::canary::{
    CanaryCheck, CanaryConfig, CanaryContext, CanarySize, CheckOutcome, JudgeKind, Judges, Verdict,
};
use zdd_core::events::{CollectingSink, Event, Step};
use zdd_core::hook::NoHook;
use zdd_core::replace::{self, ReplaceConfig, ReplaceReport};

/// One canary held 2 s, judged on at least 20 requests.
fn canary_config(image: u64, judges: Judges) -> ReplaceConfig {
    let mut cfg = config(image);
    let mut c = CanaryConfig::new(CanarySize::Count(1), Duration::from_secs(2));
    c.judges = judges;
    c.thresholds.min_requests = 20;
    cfg.canary = Some(c);
    cfg
}

const PROBES_AND_METRICS: Judges = Judges {
    probes: true,
    lb_metrics: true,
    check: false,
};

/// A check that answers `outcome` and remembers what it was given.
#[derive(Default)]
struct Check {
    outcome: Option<CheckOutcome>,
    seen: Mutex<Vec<CanaryContext>>,
    /// Hang (a crash during the analysis) after telling this.
    hang: Option<Arc<Notify>>,
}

impl CanaryCheck for Check {
    async fn check(&self, ctx: &CanaryContext) -> CheckOutcome {
        self.seen.lock().unwrap().push(ctx.clone());
        if let Some(n) = &self.hang {
            n.notify_one();
            std::future::pending::<()>().await;
        }
        self.outcome.clone().expect("an outcome")
    }

    fn describe(&self) -> String {
        "smoke-test.sh".into()
    }
}

async fn run_canary(
    fake: &FakeDo,
    cfg: &ReplaceConfig,
    check: Option<&Check>,
) -> (ReplaceReport, Vec<Event>) {
    let sink = CollectingSink::default();
    let report = replace::run_with_check(
        &fake.client(),
        cfg,
        None::<&NoHook>,
        check,
        &sink,
        std::future::pending(),
    )
    .await;
    (report, sink.events())
}

/// The calls of a replace of 3 whose canary (`9001`) joins first.
fn canary_calls() -> Vec<String> {
    s(&[
        "create LOCK",
        "new web-lb-R-1,web-lb-R-2,web-lb-R-3",
        &format!("create {LB_TAG}"),
        &format!("+{LB_TAG} 1,2,3"),
        "create zdd-prev:R",
        "+zdd-prev:R 1,2,3",
        "+web 9001",
        "+web 9002,9003",
        "-web 1,2,3",
        "create zdd-until:T",
        "+zdd-until:T 1,2,3",
        "delete LOCK",
    ])
}

/// The calls of a replace whose canary failed: it joined, left, and all three were deleted.
fn aborted_calls() -> Vec<String> {
    s(&[
        "create LOCK",
        "new web-lb-R-1,web-lb-R-2,web-lb-R-3",
        &format!("create {LB_TAG}"),
        &format!("+{LB_TAG} 1,2,3"),
        "create zdd-prev:R",
        "+zdd-prev:R 1,2,3",
        "+web 9001",
        "-web 9001",
        "rm 9001",
        "rm 9002",
        "rm 9003",
        "-zdd-prev:R 1,2,3",
        "delete zdd-prev:R",
        "delete zdd-run:R",
        "delete LOCK",
    ])
}

/// The old fleet serves as before, the new droplets are gone.
fn assert_aborted(fake: &FakeDo, report: &ReplaceReport) {
    assert_eq!(report.outcome, Outcome::RolledBack, "{}", report.message);
    assert_eq!(in_lb(fake), [1, 2, 3]);
    assert_eq!(droplet_ids(fake), [1, 2, 3]);
    assert_eq!(calls(fake, report), aborted_calls());
    assert!(
        report
            .message
            .contains("the old fleet never left load balancer web-lb"),
        "{}",
        report.message
    );
    assert_clean(fake);
}

/// The old droplets (1, 2, 3) answered through the load balancer from before the canary
/// joined until after it left: they never lost capacity.
fn judged(report: &ReplaceReport, kind: JudgeKind) -> (Verdict, String) {
    let c = report.canary.as_ref().expect("a canary report");
    let r = c
        .judges
        .iter()
        .find(|r| r.judge == kind)
        .unwrap_or_else(|| panic!("no {kind:?} judge in {:?}", c.judges));
    (r.verdict, r.reason.clone())
}

#[tokio::test]
async fn a_canary_that_passes_lets_the_rest_join() {
    let fake = FakeDo::replace_fleet(3, 3, false).await;
    let (report, events) =
        run_canary(&fake, &canary_config(GOOD_IMAGE, PROBES_AND_METRICS), None).await;
    assert_eq!(report.outcome, Outcome::Replaced, "{}", report.message);
    assert_eq!(calls(&fake, &report), canary_calls());
    assert_replaced(&fake, &report);
    let c = report.canary.as_ref().unwrap();
    assert_eq!(c.verdict, Verdict::Pass);
    assert_eq!(
        c.canaries.iter().map(|d| d.id.0).collect::<Vec<_>>(),
        [9001]
    );
    assert!(c.window_end > c.window_start, "{c:?}");
    for kind in [JudgeKind::Probes, JudgeKind::LbMetrics] {
        let (v, why) = judged(&report, kind);
        assert_eq!(v, Verdict::Pass, "{kind:?}: {why}");
        assert!(why.starts_with("error rate 0.0% against 0.0%"), "{why}");
    }
    // No failed request was counted; the metrics count every client's.
    let blast = c.failed_requests.as_ref().unwrap();
    assert_eq!(
        (blast.requests, blast.counted_by),
        (0, JudgeKind::LbMetrics)
    );
    // The events: the analysis as a step on the canary, each judge, the verdict.
    assert!(events.iter().any(|e| matches!(
        e,
        Event::StepFinished {
            step: Step::Analyse,
            ok: true,
            ..
        }
    )));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::CanaryJudged { .. }))
            .count(),
        2
    );
    assert!(events.iter().any(|e| matches!(e,
        Event::CanaryVerdict { verdict: Verdict::Pass, canaries, .. } if canaries.len() == 1)));
}

#[tokio::test]
async fn a_healthy_canary_failing_one_request_in_twenty_is_caught() {
    let fake = FakeDo::replace_fleet(3, 3, false).await;
    let (report, _) =
        run_canary(&fake, &canary_config(FLAKY_IMAGE, PROBES_AND_METRICS), None).await;
    assert_aborted(&fake, &report);
    let c = report.canary.as_ref().unwrap();
    assert_eq!(c.verdict, Verdict::Fail);
    for kind in [JudgeKind::Probes, JudgeKind::LbMetrics] {
        let (v, why) = judged(&report, kind);
        assert_eq!(v, Verdict::Fail, "{kind:?}: {why}");
        // About 5%: the window sees a slice of the canary's answers.
        assert!(why.starts_with("error rate "), "{why}");
        assert!(
            why.contains("% on the canaries (")
                && why.contains(
                    " against 0.0% on the old droplets; at most 1.0 points more is allowed"
                ),
            "{why}"
        );
    }
    // The blast radius: the canary's failed answers in the window, as the load balancer
    // counted them, in the report and the message.
    let failed = fake
        .state()
        .lb_served
        .iter()
        .filter(|s| s.droplet == 9001 && s.status == 500)
        .count() as u64;
    let blast = c.failed_requests.as_ref().unwrap();
    assert_eq!(blast.counted_by, JudgeKind::LbMetrics);
    assert!(
        blast.requests >= 1 && blast.requests <= failed,
        "{blast:?}, {failed} in all"
    );
    assert!(
        report
            .message
            .starts_with("the canary analysis failed (probes: error rate "),
        "{}",
        report.message
    );
    assert!(
        report.message.contains(&format!(
            "the canaries failed {} request(s) in the window",
            blast.requests
        )),
        "{}",
        report.message
    );
    // Only the canary failed anything; the old droplets never did.
    assert!(
        fake.state()
            .lb_served
            .iter()
            .all(|s| s.status < 500 || s.droplet == 9001)
    );
}

#[tokio::test]
async fn a_healthy_canary_answering_late_is_caught_by_its_latency() {
    let fake = FakeDo::replace_fleet(3, 3, false).await;
    let (report, _) = run_canary(&fake, &canary_config(SLOW_IMAGE, PROBES_AND_METRICS), None).await;
    assert_aborted(&fake, &report);
    for kind in [JudgeKind::Probes, JudgeKind::LbMetrics] {
        let (v, why) = judged(&report, kind);
        assert_eq!(v, Verdict::Fail, "{kind:?}: {why}");
        assert!(why.starts_with("p95 latency 2"), "{why}");
    }
}

#[tokio::test]
async fn no_metrics_yet_is_inconclusive_and_does_not_pass() {
    let fake = FakeDo::replace_fleet(3, 3, false).await;
    fake.state().metrics = false;
    let judges = Judges {
        probes: false,
        lb_metrics: true,
        check: false,
    };
    let (report, _) = run_canary(&fake, &canary_config(GOOD_IMAGE, judges), None).await;
    assert_aborted(&fake, &report);
    assert_eq!(
        report.canary.as_ref().unwrap().verdict,
        Verdict::Inconclusive
    );
    let (v, why) = judged(&report, JudgeKind::LbMetrics);
    assert_eq!(v, Verdict::Inconclusive);
    assert!(
        why.contains("no response metrics for the window yet"),
        "{why}"
    );
    assert!(
        report
            .message
            .starts_with("the canary analysis was inconclusive, which does not pass"),
        "{}",
        report.message
    );
}

const CHECK_ONLY: Judges = Judges {
    probes: false,
    lb_metrics: false,
    check: true,
};

#[tokio::test]
async fn the_users_check_passes_with_the_canaries_in_its_context() {
    let fake = FakeDo::replace_fleet(3, 3, false).await;
    let check = Check {
        outcome: Some(CheckOutcome::Pass),
        ..Check::default()
    };
    let (report, _) = run_canary(&fake, &canary_config(GOOD_IMAGE, CHECK_ONLY), Some(&check)).await;
    assert_eq!(report.outcome, Outcome::Replaced, "{}", report.message);
    assert_eq!(calls(&fake, &report), canary_calls());
    let seen = check.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let ctx = &seen[0];
    assert_eq!(
        ctx.canaries.iter().map(|d| d.id.0).collect::<Vec<_>>(),
        [9001]
    );
    assert_eq!(
        ctx.old.iter().map(|d| d.id.0).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(ctx.lb_name, "web-lb");
    assert!(ctx.window_end > ctx.window_start);
    let (v, why) = judged(&report, JudgeKind::Check);
    assert_eq!((v, why.as_str()), (Verdict::Pass, "`smoke-test.sh` passed"));
}

#[tokio::test]
async fn the_users_check_failing_aborts() {
    let fake = FakeDo::replace_fleet(3, 3, false).await;
    let check = Check {
        outcome: Some(CheckOutcome::Fail(
            "the command exited with status 1".into(),
        )),
        ..Check::default()
    };
    let (report, _) = run_canary(&fake, &canary_config(GOOD_IMAGE, CHECK_ONLY), Some(&check)).await;
    assert_aborted(&fake, &report);
    assert!(
        report.message.starts_with(
            "the canary analysis failed (check: `smoke-test.sh` failed: the command exited with status 1)"
        ),
        "{}",
        report.message
    );
}

#[tokio::test]
async fn a_crash_during_the_analysis_is_judged_again_by_the_same_command() {
    let fake = FakeDo::replace_fleet(3, 3, false).await;
    let cfg = canary_config(GOOD_IMAGE, CHECK_ONLY);
    let hung = Arc::new(Notify::new());
    let check = Check {
        hang: Some(hung.clone()),
        ..Check::default()
    };
    let first = replace::run_with_check(
        &fake.client(),
        &cfg,
        None::<&NoHook>,
        Some(&check),
        &CollectingSink::default(),
        hung.notified(),
    )
    .await;
    assert_eq!(first.outcome, Outcome::Interrupted, "{}", first.message);
    // Stopped mid-analysis: the canary serves beside the old fleet, the rest wait outside.
    assert_eq!(in_lb(&fake), [1, 2, 3, 9001]);
    assert!(fake.lock_tags().is_empty(), "{:?}", fake.lock_tags());
    fake.clear_log();
    let check = Check {
        outcome: Some(CheckOutcome::Pass),
        ..Check::default()
    };
    let (second, events) = run_canary(&fake, &cfg, Some(&check)).await;
    assert_eq!(second.outcome, Outcome::Replaced, "{}", second.message);
    // Judged again (never promoted on a verdict that was not reached), nothing created twice.
    assert_eq!(check.seen.lock().unwrap().len(), 1);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::CanaryVerdict {
            verdict: Verdict::Pass,
            ..
        }
    )));
    assert_eq!(
        calls(&fake, &second),
        s(&[
            "create LOCK",
            "+web 9002,9003",
            "-web 1,2,3",
            "create zdd-until:T",
            "+zdd-until:T 1,2,3",
            "delete LOCK",
        ])
    );
    assert_replaced(&fake, &second);
}

#[tokio::test]
async fn a_dry_run_shows_the_analysis_plan() {
    let fake = FakeDo::replace_fleet(3, 3, false).await;
    let mut cfg = canary_config(GOOD_IMAGE, PROBES_AND_METRICS);
    cfg.dry_run = true;
    let (report, _) = run_canary(&fake, &cfg, None).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{}", report.message);
    let plan = report.plan.join("\n");
    let run = report
        .run_tag
        .as_deref()
        .unwrap()
        .strip_prefix("zdd-run:")
        .unwrap()
        .to_owned();
    for line in [
        format!("canary: web-lb-{run}-1 (1 of 3) join load balancer web-lb first, beside the old fleet, and are seen serving"),
        "analysis: they take traffic for 2s, then are judged by zdd-do's probes of / through the load balancer, attributed to droplets by how they name themselves (watched); the load balancer's metrics from the Monitoring API (responses by class, p95, health checks per droplet)".to_owned(),
        "they fail when their error rate is more than 1.0 points above the old droplets', or their p95 latency above the old droplets' × 1.5 + 25 ms, or fewer than 20 requests reached them (inconclusive never passes)".to_owned(),
        format!("pass: web-lb-{run}-2, web-lb-{run}-3 join and are seen serving; fail or inconclusive: the canaries leave (seen gone), every new droplet is deleted, exit 5"),
    ] {
        assert!(plan.contains(&line), "missing {line:?} in\n{plan}");
    }
    assert_eq!(droplet_ids(&fake), [1, 2, 3]);
}
