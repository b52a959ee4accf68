//! `zdd-do sim` prints commands to rehearse a pipeline; pasted into a shell whose PATH has no
//! zdd-do (as after `cargo run`), they work, over plain HTTP and over HTTPS (`--tls`). With
//! `--tls`, DigitalOcean's official Python client (pydo) drives it too.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

/// A running `zdd-do sim` and the lines it printed, up to the last command.
struct Printed {
    _sim: Child,
    lines: Vec<String>,
}

impl Printed {
    /// The first printed line containing `what`, trimmed.
    fn find(&self, what: &str) -> String {
        self.lines
            .iter()
            .map(|l| l.trim())
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what:?} line in {:#?}", self.lines))
            .to_owned()
    }
}

/// Starts `zdd-do sim ARGS` with a PATH that has no zdd-do, and reads what it prints until the
/// line containing `last`.
async fn sim(args: &[&str], last: &str) -> Printed {
    let mut sim = tokio::process::Command::new(env!("CARGO_BIN_EXE_zdd-do"))
        .arg("sim")
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("zdd-do sim starts");
    let mut out = BufReader::new(sim.stdout.take().unwrap()).lines();
    let mut lines = Vec::new();
    let read = async {
        while let Some(line) = out.next_line().await.unwrap() {
            let done = line.contains(last);
            lines.push(line);
            if done {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("zdd-do sim printed its commands");
    Printed { _sim: sim, lines }
}

/// Runs `script` with `sh -c` and a PATH without zdd-do; its exit code and output.
async fn paste(script: &str) -> (Option<i32>, String) {
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .output(),
    )
    .await
    .expect("the pasted command finished")
    .unwrap();
    (
        out.status.code(),
        format!(
            "{script}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

async fn promote_and_roll_work_when_pasted(args: &[&str]) -> Printed {
    let printed = sim(args, " roll --lb ").await;
    let (export, promote, roll) = (
        printed.find("export ZDD_DO_API_URL"),
        printed.find(" promote "),
        printed.find(" roll "),
    );
    // The commands call the binary by its path, not by a name PATH would have to resolve.
    assert!(promote.starts_with('\''), "{promote}");
    for command in [&promote, &roll] {
        let (code, out) = paste(&format!("{export}\n{command}")).await;
        assert_eq!(code, Some(0), "{out}");
    }
    printed
}

#[tokio::test]
async fn the_printed_commands_work_when_pasted_without_zdd_do_on_path() {
    let printed = promote_and_roll_work_when_pasted(&["--time-scale", "0.1"]).await;
    let export = printed.find("export ZDD_DO_API_URL");
    assert!(export.contains("=http://127.0.0.1:"), "{export}");
    assert!(!export.contains("ZDD_API_CA_FILE"), "{export}");
}

/// Over HTTPS: the export line trusts the CA the simulator wrote, and so does the printed curl
/// command; without the CA, zdd-do refuses the certificate.
#[tokio::test]
async fn over_https_the_printed_commands_work_when_pasted() {
    let printed = sim(&["--tls", "--time-scale", "0.1"], "curl --cacert").await;
    let export = printed.find("export ZDD_DO_API_URL");
    assert!(export.contains("=https://127.0.0.1:"), "{export}");
    assert!(export.contains(" ZDD_API_CA_FILE='"), "{export}");
    let promote = printed.find(" promote ");
    let (code, out) = paste(&format!("{export}\n{promote}")).await;
    assert_eq!(code, Some(0), "{out}");

    let curl = printed.find("curl --cacert");
    let (code, out) = paste(&curl).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("\"droplet_limit\":25"), "{out}");

    // The same export without the CA: the certificate is not trusted, nothing is done.
    let untrusted = export
        .split(' ')
        .filter(|w| !w.starts_with("ZDD_API_CA_FILE="))
        .collect::<Vec<_>>()
        .join(" ");
    let status = printed.find(" promote ").replace(" promote ", " status ");
    let status = status[..status.find(" --version").unwrap()].to_owned();
    let (code, out) = paste(&format!("{untrusted}\n{status}")).await;
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("certificate"), "{out}");
}

/// pydo, unmodified, against `zdd-do sim --tls`: `examples/pydo/rehearse.py` lists droplets by
/// tag, reads the account, tags the standby, moves the reserved IP and waits for the action,
/// with nothing but the printed exports (and the endpoint a script takes from its
/// environment). `.ci/install-ci-tools.sh` installs pydo into a virtual environment.
#[tokio::test]
#[ignore = "needs pydo: run .ci/install-ci-tools.sh and set ZDD_PYDO_PYTHON to the python it prints"]
async fn pydo_drives_the_simulator_over_https() {
    let python = std::env::var("ZDD_PYDO_PYTHON")
        .expect("ZDD_PYDO_PYTHON: the python of a virtual environment with pydo");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/pydo/rehearse.py");
    let printed = sim(&["--tls", "--time-scale", "0.1"], "curl --cacert").await;
    let export = printed.find("export ZDD_DO_API_URL");
    let bundle = printed.find("export REQUESTS_CA_BUNDLE");
    let rip = printed.find("reserved IPs");
    let ip_line = printed
        .lines
        .iter()
        .skip_while(|l| !l.starts_with("reserved IPs"))
        .nth(1)
        .unwrap_or_else(|| panic!("no reserved IP after {rip:?}"))
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let (code, out) = paste(&format!(
        "{export}\n{bundle}\nRESERVED_IP={ip_line} RELEASE=v2 '{python}' '{script}'"
    ))
    .await;
    assert_eq!(code, Some(0), "{out}");
    let json_line = out
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON line in {out}"));
    let got: serde_json::Value = serde_json::from_str(json_line).unwrap();
    assert_eq!(
        got,
        serde_json::json!({
            "droplet_limit": 25,
            "live": "prod",
            "standby": "fallback",
            "tagged": ["fallback"],
            "action": {"id": got["action"]["id"], "type": "assign_ip", "status": "completed"},
            "holder": "fallback",
        }),
        "{out}"
    );
}
