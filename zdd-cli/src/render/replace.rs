//! The result of `replace`, its rollback and `--finalize`: the human summary, and the dotenv
//! report.

use std::io::Write;

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
    vec![
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
    ]
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
