//! `zdd-do status`: where things stand, in the exit code.

use do_api::DropletId;
use zdd_core::bluegreen::{self, BlueGreenConfig, DropletHealth, LbRef, LbSettings};

use super::{Early, client, health, roles, switch};
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
        load_balancer: s.lb.as_deref().map(|l| LbSettings::new(LbRef::parse(l))),
        health,
        target,
        lock: None,
        ..BlueGreenConfig::default()
    };
    let client = client(g)?;
    if cfg.load_balancer.is_some() {
        // A reserved IP as well is refused (the other checks are the switch's).
        switch::check(&cfg)?;
        // A fleet replace manages: what serves, what is kept, what no run owns.
        if let Some(lb) = s.lb.as_deref()
            && let Some(report) = zdd_core::replace::status(&client, &LbRef::parse(lb), sink)
                .await
                .map_err(Early::core)?
        {
            let code = exit::for_replace_status(report.state);
            match g.output {
                Output::Json => render::json::print_result_json(&report, code),
                Output::Human => render::replace::print_status(&report, code),
            }
            return Ok(code);
        }
        let report = bluegreen::status_lb(&client, &cfg, s.check_health, sink)
            .await
            .map_err(Early::core)?;
        // Whether every droplet the load balancer serves answered.
        let live: Vec<DropletId> = report.in_lb.iter().map(|d| d.id).collect();
        let live_healthy = s.check_health.then(|| answered(&live, &report.health));
        let code = exit::for_status(report.state, live_healthy);
        match g.output {
            Output::Json => render::json::print_result_json(&report, code),
            Output::Human => render::bluegreen::print_lb_status(&report, &cfg.roles, code),
        }
        return Ok(code);
    }
    let report = bluegreen::status(&client, &cfg, s.check_health, sink)
        .await
        .map_err(Early::core)?;
    // Whether the droplet holding the reserved IP answered; one that was not probed (the IP
    // on nobody, or on an untagged droplet) did not.
    let live: Vec<DropletId> = report.ip_droplet.iter().map(|d| d.id).collect();
    let live_healthy = s.check_health.then(|| answered(&live, &report.health));
    let code = exit::for_status(report.state, live_healthy);
    match g.output {
        Output::Json => render::json::print_result_json(&report, code),
        Output::Human => render::status::print_human(&report, &cfg.roles, code),
    }
    // The exit code tells a pipeline or a monitor what status found: 0 only when the IP and
    // the tags agree (and, with --check-health, the live droplet answers).
    Ok(code)
}

/// Whether there are live droplets and every one answered its probe.
fn answered(live: &[DropletId], health: &[DropletHealth]) -> bool {
    !live.is_empty()
        && live
            .iter()
            .all(|id| health.iter().any(|h| h.id == *id && h.healthy))
}
