//! The result of `roll`: the human summary, and the dotenv report.

use std::io::Write;

use zdd_core::rolling::{self, DropletState, RollingReport};

use super::wire_name;

/// The dotenv report (`--dotenv`) for GitLab's `artifacts:reports:dotenv`.
pub fn dotenv(report: &RollingReport, code: i32) -> Vec<(&'static str, String)> {
    let ids = |want: fn(&rolling::DropletReport) -> bool| {
        report
            .droplets
            .iter()
            .filter(|d| want(d))
            .map(|d| d.droplet.id.to_string())
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
        (
            "ZDD_UPDATED_DROPLETS",
            ids(|d| d.state == DropletState::Updated),
        ),
        ("ZDD_OUT_OF_ROTATION", ids(|d| d.out_of_rotation)),
    ];
    keys.extend(super::replace::canary_dotenv(report.canary.as_ref()));
    keys
}

/// The summary on stdout.
pub fn print_human(r: &RollingReport, code: i32) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "roll: {} (exit {code}): {}",
        wire_name(&r.outcome),
        r.message
    );
    if let Some(lb) = &r.load_balancer {
        let hc = &lb.health_check;
        let _ = writeln!(
            out,
            "  load balancer {} ({}), {}; its health check: {} every {}s, timeout {}s, unhealthy after {}, healthy after {}",
            lb.name,
            lb.id,
            match &lb.membership {
                rolling::Membership::Tag(t) => format!("droplets tagged `{t}`"),
                rolling::Membership::DropletIds => "droplet ids".into(),
            },
            hc.protocol,
            hc.check_interval_seconds,
            hc.response_timeout_seconds,
            hc.unhealthy_threshold,
            hc.healthy_threshold
        );
    }
    if let Some(w) = &r.watch
        && !r.batches.is_empty()
    {
        let _ = match (&w.url, &w.identity, &w.reason) {
            (Some(url), Some(id), _) => writeln!(
                out,
                "  waits watched through {url} ({}: {})",
                id.how, id.evidence
            ),
            (_, _, Some(reason)) => writeln!(out, "  waits computed, not watched: {reason}"),
            _ => Ok(()),
        };
    }
    if r.batches.is_empty() {
        for line in &r.plan {
            let _ = writeln!(out, "  {line}");
        }
    }
    for b in &r.batches {
        let ids: Vec<String> = b.droplets.iter().map(|d| d.to_string()).collect();
        let _ = writeln!(
            out,
            "  batch {} ({}{}): {} {:.1}s {}",
            b.index,
            b.purpose,
            if b.resume { ", resumed" } else { "" },
            ids.join(","),
            b.duration.as_secs_f64(),
            if b.ok { "ok" } else { "FAILED" }
        );
        for w in &b.waits {
            let _ = match w.how {
                rolling::WaitHow::Observed => writeln!(out, "    {w}"),
                rolling::WaitHow::Computed => writeln!(out, "    waited {w}"),
            };
        }
    }
    if let Some(c) = &r.canary {
        for line in super::replace::canary_lines(c) {
            let _ = writeln!(out, "  {line}");
        }
    }
    for d in r.droplets.iter().filter(|_| !r.batches.is_empty()) {
        let secs = |x: Option<std::time::Duration>| {
            x.map(|x| format!("{:.1}s", x.as_secs_f64()))
                .unwrap_or_else(|| "-".into())
        };
        let _ = writeln!(
            out,
            "  droplet {} ({}): {}{} update {} gate {} out of rotation {}{}",
            d.droplet.id,
            d.droplet.name,
            wire_name(&d.state),
            if d.out_of_rotation {
                " [OUT OF ROTATION]"
            } else {
                ""
            },
            secs(d.update),
            secs(d.health_gate),
            secs(d.time_out_of_rotation),
            d.error
                .as_ref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(
        out,
        "  {} API calls, {:.1}s in all",
        r.api_calls,
        r.total.as_secs_f64()
    );
}
