//! `zdd-do sim`: the local simulator, standalone; `zdd-do sim deploy`: its deploy hook.

use std::time::Duration;

use do_sim::traffic::{LoadConfig, Traffic};
use do_sim::{Faults, IpMoves, Sim, SimConfig};

use super::{Early, interrupted};
use crate::cli::{self, Output, SimAction};
use crate::exit;
use crate::render::{self, json::print_json};

/// Run `zdd-do sim` until interrupted, or `zdd-do sim deploy`; returns the exit code.
pub(super) async fn run(g: &cli::Global, s: &cli::SimArgs) -> Result<i32, Early> {
    if let Some(SimAction::Deploy {
        droplet,
        app_version,
    }) = &s.action
    {
        let ca = super::api_ca(g)?;
        let answer = do_sim::remote_deploy(&g.api_url, ca.as_deref(), droplet, app_version)
            .await
            .map_err(|e| Early(exit::USAGE, format!("sim deploy: {e}")))?;
        match g.output {
            Output::Json => print_json(&answer),
            Output::Human => render::sim::print_deployed(droplet, app_version),
        }
        return Ok(exit::OK);
    }
    if let Some(SimAction::Snapshot {
        app_version,
        name,
        never_healthy,
        fail_share,
        added_latency,
        dotenv,
    }) = &s.action
    {
        if !(0.0..=1.0).contains(fail_share) {
            return Err(Early(
                exit::USAGE,
                format!(
                    "--fail-share {fail_share}: give a share from 0 to 1 (0.05 fails every 20th request)"
                ),
            ));
        }
        let ca = super::api_ca(g)?;
        let name = name.clone().unwrap_or_else(|| format!("app-{app_version}"));
        let answer = do_sim::remote_snapshot(
            &g.api_url,
            ca.as_deref(),
            &name,
            app_version,
            *never_healthy,
            do_sim::Flaw::new(*fail_share, *added_latency),
        )
        .await
        .map_err(|e| Early(exit::USAGE, format!("sim snapshot: {e}")))?;
        let id = answer["id"].as_u64().unwrap_or_default();
        if let Some(path) = dotenv {
            crate::dotenv::write(path, &[("ZDD_IMAGE", id.to_string())]).map_err(|e| {
                Early(
                    exit::USAGE,
                    format!("sim snapshot: cannot write {}: {e}", path.display()),
                )
            })?;
        }
        match g.output {
            Output::Json => print_json(&answer),
            Output::Human => render::sim::print_snapshot(id),
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
    if !(s.traffic.is_finite() && (0.0..=5000.0).contains(&s.traffic)) {
        return Err(usage(format!(
            "--traffic {} must be between 0 and 5000 requests per second",
            s.traffic
        )));
    }
    let cfg = SimConfig::blue_green_and_fleet()
        .time_scale(s.time_scale)
        .api_port(s.api_port)
        .ip_moves(IpMoves::harsh(s.ip_blackout))
        .tls(s.tls)
        .faults(
            Faults::default()
                .rate_limited(s.fault_429, 1.0)
                .server_errors(s.fault_5xx),
        );
    let sim = Sim::start(cfg)
        .await
        .map_err(|e| usage(format!("the simulator could not start: {e}")))?;
    let ca_file = match sim.ca_pem() {
        Some(pem) => {
            let path = s.tls_ca_file.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!("zdd-do-sim-ca-{}.pem", sim.api_addr().port()))
            });
            if let Err(e) = std::fs::write(&path, pem) {
                sim.shutdown().await;
                return Err(usage(format!(
                    "--tls-ca-file {}: cannot write the CA there ({e}); give a writable path",
                    path.display()
                )));
            }
            Some(path)
        }
        None => None,
    };
    match g.output {
        Output::Json => {
            let mut view = serde_json::to_value(sim.view()).unwrap_or_default();
            if let (Some(p), Some(o)) = (&ca_file, view.as_object_mut()) {
                o.insert("ca_file".into(), p.display().to_string().into());
            }
            print_json(&view)
        }
        Output::Human => render::sim::print_human(&sim, ca_file.as_deref()),
    }
    // Traffic through both entry points until Ctrl-C (a day at most), then what each client
    // kind saw.
    let entries: Vec<(String, String)> = sim
        .reserved_ips()
        .iter()
        .map(|r| (format!("reserved IP {}", r.ip), r.url.clone()))
        .chain(
            sim.load_balancers()
                .iter()
                .map(|l| (format!("load balancer {}", l.name), l.url.clone())),
        )
        .collect();
    let loads: Vec<(String, Traffic)> = if s.traffic > 0.0 {
        entries
            .into_iter()
            .map(|(name, url)| {
                let t = Traffic::start(
                    LoadConfig::new(url)
                        .rate(s.traffic)
                        .concurrency(48)
                        .duration(Duration::from_secs(86_400))
                        .timeout(Duration::from_secs(5)),
                );
                (name, t)
            })
            .collect()
    } else {
        Vec::new()
    };
    interrupted().await;
    let mut reports = Vec::new();
    for (name, t) in loads {
        reports.push((name, t.finish().await));
    }
    if !reports.is_empty() {
        match g.output {
            Output::Json => print_json(&reports),
            Output::Human => render::sim::print_traffic(&reports),
        }
    }
    sim.shutdown().await;
    if let Some(p) = ca_file {
        let _ = std::fs::remove_file(p);
    }
    Ok(exit::OK)
}
