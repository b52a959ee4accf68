//! The result of `status`: the droplets, where the reserved IP points, drift, and health.

use std::io::Write;

use zdd_core::bluegreen::{DropletHealth, DropletSummary, Roles, StatusReport, StatusState};

use crate::exit;

/// The summary on stdout.
/// The lines every `status` ends with: each droplet's health, the state and its drift.
pub(crate) fn health_and_state(
    out: &mut impl Write,
    health: &[DropletHealth],
    state: StatusState,
    drift: &[String],
    code: i32,
) {
    for h in health {
        let _ = writeln!(
            out,
            "  health of {}: {} ({} {})",
            h.id,
            if h.healthy { "healthy" } else { "UNHEALTHY" },
            h.url,
            h.detail
        );
    }
    let _ = writeln!(out, "state: {state} (exit {code})");
    for d in drift {
        let _ = writeln!(out, "  drift: {d}");
    }
}

pub fn print_human(report: &StatusReport, roles: &Roles, code: i32) {
    let mut out = std::io::stdout().lock();
    let show = |d: &DropletSummary| {
        format!(
            "{} {} [{}] {} public {} private {}",
            d.id,
            d.name,
            d.tags.join(","),
            d.status,
            d.public_ipv4
                .map(|i| i.to_string())
                .unwrap_or_else(|| "-".into()),
            d.private_ipv4
                .map(|i| i.to_string())
                .unwrap_or_else(|| "-".into())
        )
    };
    let _ = writeln!(
        out,
        "reserved IP {}: {}",
        report.reserved_ip,
        report
            .ip_droplet
            .as_ref()
            .map(show)
            .unwrap_or_else(|| "unassigned".into())
    );
    for d in &report.live_tagged {
        let _ = writeln!(out, "  {}: {}", roles.live_tag, show(d));
    }
    for d in &report.standby_tagged {
        let _ = writeln!(out, "  {}: {}", roles.standby_tag, show(d));
    }
    health_and_state(&mut out, &report.health, report.state, &report.drift, code);
    if code == exit::STATUS_UNHEALTHY
        && let Some(d) = &report.ip_droplet
    {
        let _ = writeln!(
            out,
            "  the live droplet {} ({}) does not answer its health check",
            d.id, d.name
        );
    }
}
