//! What `sim` prints once the simulator runs: its view, and commands to rehearse a pipeline.

use std::io::Write;

use do_sim::Sim;

/// `s` as one shell word: single-quoted, a `'` inside written `'\''`.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// How the printed commands call zdd-do: the running binary's own path, quoted, so that they
/// work when pasted whether or not zdd-do is on PATH (`cargo run` does not put it there).
pub fn self_command() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(sh_quote))
        .unwrap_or_else(|| "zdd-do".into())
}

/// The `--exec` argument that runs `zdd-do sim deploy` through `sh -c`, as one shell word.
fn exec_arg(zdd: &str) -> String {
    let inner = format!("{zdd} sim deploy");
    if inner.contains(['"', '$', '`', '\\', '!']) {
        sh_quote(&inner)
    } else {
        format!("\"{inner}\"")
    }
}

/// The simulator's view and ready-to-paste commands, on stdout.
pub fn print_human(sim: &Sim, ca_file: Option<&std::path::Path>) {
    let zdd = self_command();
    let exec = exec_arg(&zdd);
    // A simulator running faster than DigitalOcean: the roll's own allowances follow.
    let scale = sim.scaled(std::time::Duration::from_secs(1)).as_secs_f64();
    let wait_scale = if (scale - 1.0).abs() > 1e-9 {
        format!(" --wait-scale {scale}")
    } else {
        String::new()
    };
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
    let ca = ca_file.map(|p| sh_quote(&p.display().to_string()));
    let _ = writeln!(
        out,
        "  export ZDD_DO_API_URL={} DIGITALOCEAN_ACCESS_TOKEN={} ZDD_HEALTH_PORT={} ZDD_HEALTH_PATH=/health{}",
        sim.api_url(),
        sim.token(),
        sim.app_port(),
        ca.as_ref()
            .map(|c| format!(" ZDD_API_CA_FILE={c}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "  {zdd} promote --reserved-ip {rip} --version v2 --exec {exec} --pre-switch-path /connection-close"
    );
    let _ = writeln!(
        out,
        "  {zdd} roll --lb {lb} --version v2 --exec {exec}{wait_scale}"
    );
    if let Some(c) = &ca {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Point an existing script at the simulator (HTTPS, signed by a CA made for this run):"
        );
        let _ = writeln!(
            out,
            "  export REQUESTS_CA_BUNDLE={c}   # pydo trusts it; pass endpoint=\"{}\" to pydo.Client",
            sim.api_url().trim_end_matches('/')
        );
        let _ = writeln!(
            out,
            "  curl --cacert {c} -H 'Authorization: Bearer {}' {}v2/account",
            sim.token(),
            sim.api_url()
        );
    }
    let _ = out.flush();
}

/// What each client kind saw through each entry point (`zdd-do sim --traffic`), on stdout.
pub fn print_traffic(reports: &[(String, do_sim::traffic::TrafficReport)]) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "\ntraffic while the simulator ran:");
    for (entry, t) in reports {
        let _ = writeln!(out, "  {entry}");
        for (kind, r) in &t.kinds {
            let _ = writeln!(out, "    {:<27} {}", kind.label(), r.summary());
        }
    }
    let _ = out.flush();
}

/// `sim deploy` done.
pub fn print_deployed(droplet: &str, version: &str) {
    let _ = writeln!(std::io::stdout(), "deployed {version} to droplet {droplet}");
}

/// `zdd-do sim snapshot`: the new snapshot's id alone, for `--image $(zdd-do sim snapshot ...)`.
pub fn print_snapshot(id: u64) {
    let _ = writeln!(std::io::stdout(), "{id}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_for_the_shell() {
        assert_eq!(sh_quote("/opt/zdd do/zdd-do"), "'/opt/zdd do/zdd-do'");
        assert_eq!(sh_quote("/it's/zdd-do"), r"'/it'\''s/zdd-do'");
        assert_eq!(exec_arg("'/opt/zdd-do'"), "\"'/opt/zdd-do' sim deploy\"");
        // A path with a `$` stays literal: single quotes all the way.
        assert_eq!(
            exec_arg("'/opt/$x/zdd-do'"),
            r"''\''/opt/$x/zdd-do'\'' sim deploy'"
        );
    }
}
