//! `--exec CMD`: the user's update command, run by `sh -c` with the droplet's details in
//! environment variables. The details are never spliced into the command string, so a droplet
//! name cannot inject shell syntax.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use zdd_core::hook::{DropletHook, HookTarget};

/// Runs a shell command for a droplet.
#[derive(Debug, Clone)]
pub struct CommandHook {
    /// The command, run by `sh -c`.
    pub command: String,
    /// Kill it after this long.
    pub timeout: Duration,
}

/// The environment the command sees.
pub fn env_for(t: &HookTarget) -> Vec<(&'static str, String)> {
    let ip = |ip: Option<std::net::Ipv4Addr>| ip.map(|i| i.to_string()).unwrap_or_default();
    vec![
        ("ZDD_DROPLET_ID", t.id.to_string()),
        ("ZDD_DROPLET_NAME", t.name.clone()),
        ("ZDD_DROPLET_PUBLIC_IPV4", ip(t.public_ipv4)),
        ("ZDD_DROPLET_PRIVATE_IPV4", ip(t.private_ipv4)),
        ("ZDD_VERSION", t.version.clone().unwrap_or_default()),
        ("ZDD_HOOK", t.purpose.clone()),
    ]
}

impl DropletHook for CommandHook {
    async fn run(&self, target: &HookTarget) -> Result<(), String> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(&self.command)
            .envs(env_for(target))
            .stdin(Stdio::null())
            // The command's output is progress, not our result: keep stdout clean for
            // `--output json` by sending both streams to our stderr.
            .stdout(std::io::stderr())
            .stderr(std::io::stderr())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("could not start `sh -c`: {e}"))?;
        match tokio::time::timeout(self.timeout, child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(match status.code() {
                Some(code) => format!("the command exited with status {code}"),
                None => "the command was killed by a signal".to_owned(),
            }),
            Ok(Err(e)) => Err(format!("waiting for the command failed: {e}")),
            Err(_) => {
                let _ = child.kill().await;
                Err(format!(
                    "the command did not finish within {}s and was killed",
                    self.timeout.as_secs()
                ))
            }
        }
    }
}
