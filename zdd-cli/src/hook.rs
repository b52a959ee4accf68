//! `--exec CMD`: the user's update command, run by `sh -c` with the droplet's details in
//! environment variables. The details are never spliced into the command string, so a droplet
//! name cannot inject shell syntax.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::task::JoinHandle;
use zdd_core::hook::{DropletHook, HookTarget};

/// Runs a shell command for a droplet.
#[derive(Debug, Clone)]
pub struct CommandHook {
    /// The command, run by `sh -c`.
    pub command: String,
    /// Kill it after this long.
    pub timeout: Duration,
    /// Where its output goes.
    pub output: HookOutput,
}

/// Where the command's output goes: never to our stdout, which holds the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookOutput {
    /// Both streams straight to our stderr, as they come.
    Stderr,
    /// Each line as a JSON object on stderr (`--events json`), so that every stderr line
    /// stays JSON: `{"event":"command_output","hook":"update","droplet_id":2,"stream":"stdout","line":"..."}`.
    JsonLines,
}

impl HookOutput {
    /// The output that goes with the events' style.
    pub fn for_style(style: crate::render::Style) -> Self {
        match style {
            crate::render::Style::JsonLines => HookOutput::JsonLines,
            crate::render::Style::Human { .. } | crate::render::Style::Quiet => HookOutput::Stderr,
        }
    }
}

/// How long to keep reading the command's output once it has exited: its pipes close at
/// once unless something it started in the background still holds them; that output is then
/// still forwarded while the deploy goes on, but not waited for.
const OUTPUT_GRACE: Duration = Duration::from_secs(2);

/// Forward `stream` line by line as JSON objects on stderr.
fn forward(
    stream: impl AsyncRead + Unpin + Send + 'static,
    name: &'static str,
    target: &HookTarget,
) -> JoinHandle<()> {
    let (hook, droplet_id) = (target.purpose.to_string(), target.id);
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buf);
                    crate::render::json_line(&serde_json::json!({
                        "event": "command_output",
                        "hook": hook,
                        "droplet_id": droplet_id,
                        "stream": name,
                        "line": text.trim_end_matches(['\n', '\r']),
                    }));
                }
            }
        }
    })
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
        ("ZDD_HOOK", t.purpose.to_string()),
    ]
}

impl DropletHook for CommandHook {
    async fn run(&self, target: &HookTarget) -> Result<(), String> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(&self.command)
            .envs(env_for(target))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        // The command's output is progress, not our result: keep stdout clean for
        // `--output json` by sending both streams to our stderr.
        match self.output {
            HookOutput::Stderr => cmd.stdout(std::io::stderr()).stderr(std::io::stderr()),
            HookOutput::JsonLines => cmd.stdout(Stdio::piped()).stderr(Stdio::piped()),
        };
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("could not start `sh -c`: {e}"))?;
        let readers: Vec<JoinHandle<()>> = [
            child.stdout.take().map(|s| forward(s, "stdout", target)),
            child.stderr.take().map(|s| forward(s, "stderr", target)),
        ]
        .into_iter()
        .flatten()
        .collect();
        let result = self.wait(&mut child).await;
        let grace = tokio::time::Instant::now() + OUTPUT_GRACE;
        for r in readers {
            let _ = tokio::time::timeout_at(grace, r).await;
        }
        result
    }
}

impl CommandHook {
    async fn wait(&self, child: &mut tokio::process::Child) -> Result<(), String> {
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
