//! `zdd-do sim`: the local simulator, standalone; `zdd-do sim deploy`: its deploy hook.

use std::io::Write;

use do_sim::{Faults, Sim, SimConfig};

use super::{Early, interrupted, print_json};
use crate::cli::{self, Output, SimAction};
use crate::exit;

pub(super) async fn run(g: &cli::Global, s: &cli::SimArgs) -> Result<i32, Early> {
    if let Some(SimAction::Deploy {
        droplet,
        app_version,
    }) = &s.action
    {
        let answer = do_sim::remote_deploy(&g.api_url, droplet, app_version)
            .await
            .map_err(|e| Early(exit::USAGE, format!("sim deploy: {e}")))?;
        match g.output {
            Output::Json => print_json(&answer),
            Output::Human => {
                let _ = writeln!(
                    std::io::stdout(),
                    "deployed {app_version} to droplet {droplet}"
                );
            }
        }
        return Ok(exit::OK);
    }
    let usage = |m: String| Early(exit::USAGE, m);
    if !(s.time_scale.is_finite() && s.time_scale > 0.0) {
        return Err(usage(format!(
            "--time-scale {} must be a positive number",
            s.time_scale
        )));
    }
    for (flag, share) in [("--fault-429", s.fault_429), ("--fault-5xx", s.fault_5xx)] {
        if !(0.0..=1.0).contains(&share) {
            return Err(usage(format!(
                "{flag} {share} is not a share between 0 and 1"
            )));
        }
    }
    let cfg = SimConfig::blue_green_and_fleet()
        .time_scale(s.time_scale)
        .api_port(s.api_port)
        .faults(
            Faults::default()
                .rate_limited(s.fault_429, 1.0)
                .server_errors(s.fault_5xx),
        );
    let sim = Sim::start(cfg)
        .await
        .map_err(|e| usage(format!("the simulator could not start: {e}")))?;
    let view = sim.view();
    match g.output {
        Output::Json => print_json(&view),
        Output::Human => {
            let rip = sim
                .reserved_ips()
                .first()
                .map(|r| r.ip.to_string())
                .unwrap_or_default();
            let lb = sim
                .load_balancers()
                .first()
                .map(|l| l.id.to_string())
                .unwrap_or_default();
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "{view}");
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "Rehearse a pipeline in another shell (Ctrl-C here stops the simulator):"
            );
            let _ = writeln!(
                out,
                "  export ZDD_DO_API_URL={} DIGITALOCEAN_ACCESS_TOKEN={} ZDD_HEALTH_PORT={} ZDD_HEALTH_PATH=/health",
                sim.api_url(),
                sim.token(),
                sim.app_port()
            );
            let _ = writeln!(
                out,
                "  zdd-do promote --reserved-ip {rip} --version v2 --exec 'zdd-do sim deploy'"
            );
            let _ = writeln!(
                out,
                "  zdd-do roll --lb {lb} --version v2 --exec 'zdd-do sim deploy'"
            );
            let _ = out.flush();
        }
    }
    interrupted().await;
    sim.shutdown().await;
    Ok(exit::OK)
}
