//! The result of `promote` and `rollback`: the human summary, and the dotenv report; and
//! `status` through a load balancer.

use std::io::Write;

use zdd_core::bluegreen::{BlueGreenReport, DropletSummary, LbStatusReport, Mode, Outcome, Roles};

use super::wire_name;

/// The dotenv report (`--dotenv`) for GitLab's `artifacts:reports:dotenv`.
///
/// Through a load balancer, `ZDD_LOAD_BALANCER` is its name, and a group of live (or standby)
/// droplets is listed comma-separated.
pub fn dotenv(report: &BlueGreenReport, code: i32) -> Vec<(&'static str, String)> {
    let list = |one: &Option<DropletSummary>,
                group: &[DropletSummary],
                f: fn(&DropletSummary) -> String| {
        match one {
            Some(d) => f(d),
            None => group.iter().map(f).collect::<Vec<_>>().join(","),
        }
    };
    let id = |d: &DropletSummary| d.id.to_string();
    let name = |d: &DropletSummary| d.name.clone();
    let mut out = vec![
        ("ZDD_OUTCOME", wire_name(&report.outcome)),
        ("ZDD_EXIT_CODE", code.to_string()),
        (
            "ZDD_RESERVED_IP",
            report
                .reserved_ip
                .map(|i| i.to_string())
                .unwrap_or_default(),
        ),
        (
            "ZDD_LIVE_DROPLET_ID",
            list(&report.live, &report.live_droplets, id),
        ),
        (
            "ZDD_LIVE_DROPLET_NAME",
            list(&report.live, &report.live_droplets, name),
        ),
        (
            "ZDD_STANDBY_DROPLET_ID",
            list(&report.standby, &report.standby_droplets, id),
        ),
        (
            "ZDD_STANDBY_DROPLET_NAME",
            list(&report.standby, &report.standby_droplets, name),
        ),
    ];
    if let Some(lb) = &report.load_balancer {
        out.insert(3, ("ZDD_LOAD_BALANCER", lb.name.clone()));
    }
    out
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
    if let Some(lb) = &r.load_balancer {
        let names = |ds: &[DropletSummary]| {
            ds.iter()
                .map(|d| format!("{} ({})", d.id, d.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "  load balancer {}: live {}, standby {}",
            lb.name,
            names(&r.live_droplets),
            names(&r.standby_droplets)
        );
    }
    for w in &r.waits {
        let _ = writeln!(out, "  wait {w}");
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

/// The summary of `status` through a load balancer on stdout.
pub fn print_lb_status(r: &LbStatusReport, roles: &Roles, code: i32) {
    let mut out = std::io::stdout().lock();
    let role = |d: &DropletSummary| {
        let mut roles_of = Vec::new();
        if d.tags.contains(&roles.live_tag) {
            roles_of.push("live");
        }
        if d.tags.contains(&roles.standby_tag) {
            roles_of.push("standby");
        }
        roles_of.join("+")
    };
    let show = |d: &DropletSummary| {
        format!(
            "{} {} [{}] {} ({})",
            d.id,
            d.name,
            d.tags.join(","),
            d.status,
            role(d)
        )
    };
    let lb = &r.load_balancer;
    let _ = writeln!(
        out,
        "load balancer {} ({}), {}:",
        lb.name, lb.id, lb.membership
    );
    for d in &r.in_lb {
        let _ = writeln!(out, "  in:  {}", show(d));
    }
    for d in &r.out_of_lb {
        let _ = writeln!(out, "  out: {}", show(d));
    }
    if !r.others.is_empty() {
        let ids: Vec<String> = r.others.iter().map(|i| i.to_string()).collect();
        let _ = writeln!(out, "  also in it, with neither tag: {}", ids.join(", "));
    }
    super::status::health_and_state(&mut out, &r.health, r.state, &r.drift, code);
}
