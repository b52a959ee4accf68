//! `zdd-do status`: where things stand, in the exit code.

use zdd_core::bluegreen::{self, BlueGreenConfig};

use super::{Early, client, health, roles};
use crate::cli::{self, Output};
use crate::exit;
use crate::render::{self, StderrSink};

/// Run `zdd-do status`; returns the exit code.
pub(super) async fn run(
    g: &cli::Global,
    s: &cli::StatusArgs,
    sink: &StderrSink,
) -> Result<i32, Early> {
    let (target, health) = health(&s.health)?;
    let cfg = BlueGreenConfig {
        roles: roles(&s.pair)?,
        reserved_ip: s.pair.reserved_ip,
        health,
        target,
        lock: None,
        ..BlueGreenConfig::default()
    };
    let client = client(g)?;
    let report = bluegreen::status(&client, &cfg, s.check_health, sink)
        .await
        .map_err(Early::core)?;
    // Whether the droplet holding the reserved IP answered; one that was not probed (the IP
    // on nobody, or on an untagged droplet) did not.
    let live_healthy = s.check_health.then(|| {
        report
            .ip_droplet
            .as_ref()
            .is_some_and(|d| report.health.iter().any(|h| h.id == d.id && h.healthy))
    });
    let code = exit::for_status(report.state, live_healthy);
    match g.output {
        Output::Json => render::json::print_result_json(&report, code),
        Output::Human => render::status::print_human(&report, &cfg.roles, code),
    }
    // The exit code tells a pipeline or a monitor what status found: 0 only when the IP and
    // the tags agree (and, with --check-health, the live droplet answers).
    Ok(code)
}
