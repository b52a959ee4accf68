//! The result of `promote` and `rollback`: the human summary, and the dotenv report.

use std::io::Write;

use zdd_core::bluegreen::{BlueGreenReport, DropletSummary, Mode, Outcome};

use super::wire_name;

/// The dotenv report (`--dotenv`) for GitLab's `artifacts:reports:dotenv`.
pub fn dotenv(report: &BlueGreenReport, code: i32) -> Vec<(&'static str, String)> {
    let id = |d: &Option<DropletSummary>| d.as_ref().map(|d| d.id.to_string()).unwrap_or_default();
    let name = |d: &Option<DropletSummary>| d.as_ref().map(|d| d.name.clone()).unwrap_or_default();
    vec![
        ("ZDD_OUTCOME", wire_name(&report.outcome)),
        ("ZDD_EXIT_CODE", code.to_string()),
        (
            "ZDD_RESERVED_IP",
            report
                .reserved_ip
                .map(|i| i.to_string())
                .unwrap_or_default(),
        ),
        ("ZDD_LIVE_DROPLET_ID", id(&report.live)),
        ("ZDD_LIVE_DROPLET_NAME", name(&report.live)),
        ("ZDD_STANDBY_DROPLET_ID", id(&report.standby)),
        ("ZDD_STANDBY_DROPLET_NAME", name(&report.standby)),
    ]
}

/// The summary on stdout.
pub fn print_human(r: &BlueGreenReport, code: i32) {
    let mode = match r.mode {
        Mode::Promote => "promote",
        Mode::Rollback => "rollback",
    };
    let outcome = wire_name(&r.outcome);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{mode}: {outcome} (exit {code}): {}", r.message);
    if r.outcome == Outcome::DryRun || (!r.plan.is_empty() && r.steps.is_empty()) {
        for (i, step) in r.plan.iter().enumerate() {
            let _ = writeln!(out, "  {}. {step}", i + 1);
        }
    }
    if let (Some(ip), Some(live)) = (r.reserved_ip, &r.live) {
        let standby = r
            .standby
            .as_ref()
            .map(|s| format!(", standby {} ({})", s.id, s.name))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  reserved IP {ip}: live {} ({}){standby}",
            live.id, live.name
        );
    }
    if !r.steps.is_empty() {
        let steps: Vec<String> = r
            .steps
            .iter()
            .map(|s| format!("{} {:.1}s", s.step.label(), s.duration.as_secs_f64()))
            .collect();
        let _ = writeln!(out, "  steps: {}", steps.join(", "));
    }
    if let Some(a) = &r.assign {
        let reported = a
            .api_reported
            .map(|d| format!(", {:.0}s as DigitalOcean reports it", d.as_secs_f64()))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  assign action {}: completed after {:.1}s{reported}",
            a.action_id,
            a.observed.as_secs_f64()
        );
    }
    if let Some(t) = r.time_to_new_answer {
        let _ = writeln!(
            out,
            "  the reserved IP answered from the new droplet {:.1}s after the assign was sent",
            t.as_secs_f64()
        );
    }
    let _ = writeln!(
        out,
        "  {} API calls, {:.1}s in all",
        r.api_calls,
        r.total.as_secs_f64()
    );
}
