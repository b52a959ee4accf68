//! `--exec CMD`: the user's update command, run by `sh -c` with the droplet's details in
//! environment variables. The details are never spliced into the command string, so a droplet
//! name cannot inject shell syntax.

use std::process::Stdio;
use std::time::Duration;

use do_api::DropletId;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::task::JoinHandle;
use zdd_core::canary::{CanaryCheck, CanaryContext, CheckOutcome};
use zdd_core::hook::{DropletHook, HookTarget};
use zdd_core::report::DropletSummary;

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

/// Forward `stream` line by line as JSON objects on stderr, naming the hook and the droplet
/// (none for the canary check, which is about several).
fn forward(
    stream: impl AsyncRead + Unpin + Send + 'static,
    name: &'static str,
    hook: String,
    droplet_id: Option<DropletId>,
) -> JoinHandle<()> {
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

/// How a command ended, when it did not exit 0.
enum Failed {
    /// It ran and exited with another status.
    Status(String),
    /// It could not be run to its end: not started, killed by a signal or by the timeout.
    NoVerdict(String),
}

impl Failed {
    fn message(self) -> String {
        match self {
            Failed::Status(m) | Failed::NoVerdict(m) => m,
        }
    }
}

/// Run `command` by `sh -c` with `env`, its output on our stderr (or as JSON lines naming
/// `hook` and `droplet_id`), killed after `timeout`.
async fn run_command(
    command: &str,
    env: Vec<(&'static str, String)>,
    timeout: Duration,
    output: HookOutput,
    hook: &str,
    droplet_id: Option<DropletId>,
) -> Result<(), Failed> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .envs(env)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    // The command's output is progress, not our result: keep stdout clean for
    // `--output json` by sending both streams to our stderr.
    match output {
        HookOutput::Stderr => cmd.stdout(std::io::stderr()).stderr(std::io::stderr()),
        HookOutput::JsonLines => cmd.stdout(Stdio::piped()).stderr(Stdio::piped()),
    };
    let mut child = cmd
        .spawn()
        .map_err(|e| Failed::NoVerdict(format!("could not start `sh -c`: {e}")))?;
    let readers: Vec<JoinHandle<()>> = [
        child
            .stdout
            .take()
            .map(|s| forward(s, "stdout", hook.to_owned(), droplet_id)),
        child
            .stderr
            .take()
            .map(|s| forward(s, "stderr", hook.to_owned(), droplet_id)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let result = wait(&mut child, timeout).await;
    let grace = tokio::time::Instant::now() + OUTPUT_GRACE;
    for r in readers {
        let _ = tokio::time::timeout_at(grace, r).await;
    }
    result
}

async fn wait(child: &mut tokio::process::Child, timeout: Duration) -> Result<(), Failed> {
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(match status.code() {
            Some(code) => Failed::Status(format!("the command exited with status {code}")),
            None => Failed::NoVerdict("the command was killed by a signal".to_owned()),
        }),
        Ok(Err(e)) => Err(Failed::NoVerdict(format!(
            "waiting for the command failed: {e}"
        ))),
        Err(_) => {
            let _ = child.kill().await;
            Err(Failed::NoVerdict(format!(
                "the command did not finish within {}s and was killed",
                timeout.as_secs()
            )))
        }
    }
}

impl DropletHook for CommandHook {
    async fn run(&self, target: &HookTarget) -> Result<(), String> {
        run_command(
            &self.command,
            env_for(target),
            self.timeout,
            self.output,
            target.purpose.as_str(),
            Some(target.id),
        )
        .await
        .map_err(Failed::message)
    }
}

/// `--analysis-exec CMD`: the user's canary check, run by `sh -c` once the window is over,
/// with the canaries and the window in environment variables.
#[derive(Debug, Clone)]
pub struct CommandCheck(pub CommandHook);

/// The environment the canary check sees.
pub fn check_env(ctx: &CanaryContext) -> Vec<(&'static str, String)> {
    let join = |ds: &[DropletSummary], f: &dyn Fn(&DropletSummary) -> String| {
        ds.iter().map(f).collect::<Vec<_>>().join(",")
    };
    let ip = |ip: Option<std::net::Ipv4Addr>| ip.map(|i| i.to_string()).unwrap_or_default();
    vec![
        ("ZDD_CANARY_IDS", join(&ctx.canaries, &|d| d.id.to_string())),
        ("ZDD_CANARY_NAMES", join(&ctx.canaries, &|d| d.name.clone())),
        (
            "ZDD_CANARY_PUBLIC_IPV4S",
            join(&ctx.canaries, &|d| ip(d.public_ipv4)),
        ),
        (
            "ZDD_CANARY_PRIVATE_IPV4S",
            join(&ctx.canaries, &|d| ip(d.private_ipv4)),
        ),
        ("ZDD_OLD_IDS", join(&ctx.old, &|d| d.id.to_string())),
        ("ZDD_LB_ID", ctx.lb_id.clone()),
        ("ZDD_LB_NAME", ctx.lb_name.clone()),
        ("ZDD_ANALYSIS_START", ctx.window_start.to_string()),
        ("ZDD_ANALYSIS_END", ctx.window_end.to_string()),
        ("ZDD_VERSION", ctx.version.clone().unwrap_or_default()),
        ("ZDD_HOOK", "analysis".to_owned()),
    ]
}

impl CanaryCheck for CommandCheck {
    async fn check(&self, ctx: &CanaryContext) -> CheckOutcome {
        let h = &self.0;
        match run_command(
            &h.command,
            check_env(ctx),
            h.timeout,
            h.output,
            "analysis",
            None,
        )
        .await
        {
            Ok(()) => CheckOutcome::Pass,
            Err(Failed::Status(m)) => CheckOutcome::Fail(m),
            Err(Failed::NoVerdict(m)) => CheckOutcome::Inconclusive(m),
        }
    }

    fn describe(&self) -> String {
        self.0.command.clone()
    }
}
