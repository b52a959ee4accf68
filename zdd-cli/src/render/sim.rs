//! What `sim` prints once the simulator runs: its view, and commands to rehearse a pipeline.

use std::io::Write;

use do_sim::Sim;

/// The simulator's view and ready-to-paste commands, on stdout.
pub fn print_human(sim: &Sim) {
    let view = sim.view();
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

/// `sim deploy` done.
pub fn print_deployed(droplet: &str, version: &str) {
    let _ = writeln!(std::io::stdout(), "deployed {version} to droplet {droplet}");
}
