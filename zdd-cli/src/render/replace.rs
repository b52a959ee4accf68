//! The result of `replace`, its rollback and `--finalize`: the human summary, and the dotenv
//! report.

use std::io::Write;

use zdd_core::canary::{CanaryReport, JudgeKind};
use zdd_core::replace::{ReplaceAction, ReplaceReport};

use super::wire_name;

/// The dotenv report (`--dotenv`) for GitLab's `artifacts:reports:dotenv`.
pub fn dotenv(report: &ReplaceReport, code: i32) -> Vec<(&'static str, String)> {
    let ids = |ds: &[zdd_core::report::DropletSummary]| {
        ds.iter()
            .map(|d| d.id.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut keys = vec![
        ("ZDD_OUTCOME", wire_name(&report.outcome)),
        ("ZDD_EXIT_CODE", code.to_string()),
        (
            "ZDD_LB_ID",
            report
                .load_balancer
                .as_ref()
                .map(|l| l.id.to_string())
                .unwrap_or_default(),
        ),
        ("ZDD_RUN_TAG", report.run_tag.clone().unwrap_or_default()),
        ("ZDD_SERVING_DROPLETS", ids(&report.serving)),
        ("ZDD_PREVIOUS_DROPLETS", ids(&report.previous)),
        (
            "ZDD_KEEP_UNTIL",
            report.keep_until.map(|t| t.to_string()).unwrap_or_default(),
        ),
        ("ZDD_DELETED_DROPLETS", ids(&report.deleted)),
    ];
    keys.extend(canary_dotenv(report.canary.as_ref()));
    keys
}

/// The canary's verdict and figures, for the dotenv file: empty values when no analysis ran.
pub fn canary_dotenv(c: Option<&CanaryReport>) -> Vec<(&'static str, String)> {
    let judge = |k: JudgeKind| c.and_then(|c| c.judges.iter().find(|r| r.judge == k));
    let figure = |k: JudgeKind, f: &dyn Fn(&zdd_core::canary::Figures) -> Option<f64>| {
        judge(k)
            .and_then(|r| r.canary.as_ref())
            .and_then(f)
            .map(|v| format!("{v:.4}"))
            .unwrap_or_default()
    };
    let verdict = |k: JudgeKind| judge(k).map(|r| r.verdict.to_string()).unwrap_or_default();
    vec![
        (
            "ZDD_CANARY_VERDICT",
            c.map(|c| c.verdict.to_string()).unwrap_or_default(),
        ),
        (
            "ZDD_CANARY_DROPLETS",
            c.map(|c| {
                c.canaries
                    .iter()
                    .map(|d| d.id.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default(),
        ),
        (
            "ZDD_CANARY_FAILED_REQUESTS",
            c.and_then(|c| c.failed_requests.as_ref())
                .map(|b| b.requests.to_string())
                .unwrap_or_default(),
        ),
        ("ZDD_CANARY_PROBES_VERDICT", verdict(JudgeKind::Probes)),
        (
            "ZDD_CANARY_PROBES_ERROR_RATE",
            figure(JudgeKind::Probes, &|f| f.error_rate()),
        ),
        (
            "ZDD_CANARY_PROBES_P95_MS",
            figure(JudgeKind::Probes, &|f| f.p95_ms),
        ),
        (
            "ZDD_CANARY_LB_METRICS_VERDICT",
            verdict(JudgeKind::LbMetrics),
        ),
        (
            "ZDD_CANARY_LB_METRICS_ERROR_RATE",
            figure(JudgeKind::LbMetrics, &|f| f.error_rate()),
        ),
        (
            "ZDD_CANARY_LB_METRICS_P95_MS",
            figure(JudgeKind::LbMetrics, &|f| f.p95_ms),
        ),
        ("ZDD_CANARY_CHECK_VERDICT", verdict(JudgeKind::Check)),
    ]
}

/// The canary's lines of a summary.
pub fn canary_lines(c: &CanaryReport) -> Vec<String> {
    let ids = c
        .canaries
        .iter()
        .map(|d| format!("{} ({})", d.id, d.name))
        .collect::<Vec<_>>()
        .join(", ");
    if c.passed_earlier {
        return vec![format!("canary {ids}: passed in an earlier attempt")];
    }
    let mut lines = vec![format!(
        "canary {ids}: {} after {}s{}",
        c.verdict,
        c.window_end.saturating_sub(c.window_start),
        c.failed_requests
            .as_ref()
            .map(|b| format!(
                "; {} request(s) failed at the canaries in the window (counted by {})",
                b.requests,
                b.counted_by.label()
            ))
            .unwrap_or_default()
    )];
    for r in &c.judges {
        lines.push(format!("  {} {}: {}", r.judge.label(), r.verdict, r.reason));
    }
    lines
}

/// The summary on stdout.
pub fn print_human(r: &ReplaceReport, code: i32) {
    let mut out = std::io::stdout().lock();
    let what = match r.action {
        ReplaceAction::Replace => "replace",
        ReplaceAction::Rollback => "rollback",
        ReplaceAction::Finalize => "finalize",
    };
    let _ = writeln!(
        out,
        "{what}: {} (exit {code}): {}",
        wire_name(&r.outcome),
        r.message
    );
    if let Some(lb) = &r.load_balancer {
        let _ = writeln!(out, "  load balancer {} ({})", lb.name, lb.id);
    }
    if let Some(w) = &r.watch {
        let _ = match (&w.url, &w.identity, &w.reason) {
            (Some(url), Some(id), _) => writeln!(
                out,
                "  joining and leaving watched through {url} ({}: {})",
                id.how, id.evidence
            ),
            (_, _, Some(reason)) => writeln!(out, "  waits computed, not watched: {reason}"),
            _ => Ok(()),
        };
    }
    let list = |ds: &[zdd_core::report::DropletSummary]| {
        ds.iter()
            .map(|d| format!("{} ({})", d.id, d.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if r.steps.iter().all(|s| {
        s.step == zdd_core::events::Step::Observe || s.step == zdd_core::events::Step::Lock
    }) || r.outcome == zdd_core::Outcome::DryRun
    {
        for line in &r.plan {
            let _ = writeln!(out, "  {line}");
        }
    }
    for (label, ds) in [
        ("created", &r.created),
        ("serving", &r.serving),
        ("kept", &r.previous),
        ("deleted", &r.deleted),
    ] {
        if !ds.is_empty() {
            let _ = writeln!(out, "  {label}: {}", list(ds));
        }
    }
    if let Some(c) = &r.canary {
        for line in canary_lines(c) {
            let _ = writeln!(out, "  {line}");
        }
    }
    for w in &r.waits {
        let _ = writeln!(out, "  {w}");
    }
    let _ = writeln!(
        out,
        "  {} API calls, {:.1}s in all",
        r.api_calls,
        r.total.as_secs_f64()
    );
}

/// `status --lb` for a fleet replace manages, on stdout.
pub fn print_status(r: &zdd_core::replace::ReplaceStatus, code: i32) {
    let mut out = std::io::stdout().lock();
    let list = |ds: &[zdd_core::report::DropletSummary]| {
        if ds.is_empty() {
            return "none".to_owned();
        }
        ds.iter()
            .map(|d| format!("{} ({})", d.id, d.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        out,
        "status: {} (exit {code}): load balancer {} ({}), fleet managed by replace",
        wire_name(&r.state),
        r.load_balancer,
        r.load_balancer_id
    );
    let _ = writeln!(out, "  serving: {}", list(&r.serving));
    let _ = writeln!(
        out,
        "  kept for rollback: {}{}",
        list(&r.kept),
        r.kept_until
            .map(|t| format!(" until {t} (Unix time)"))
            .unwrap_or_default()
    );
    if !r.orphans.is_empty() {
        let _ = writeln!(out, "  owned by no run: {}", list(&r.orphans));
    }
    for d in &r.drift {
        let _ = writeln!(out, "  {d}");
    }
}
