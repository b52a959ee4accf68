//! The command line: every flag has a `ZDD_*` environment fallback.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::duration::{RANGES, flag as dur};

/// Zero-downtime deploys on DigitalOcean, made for CI.
///
/// The API token comes from DIGITALOCEAN_ACCESS_TOKEN or DIGITALOCEAN_TOKEN, or --token-file.
/// Exit codes: 0 ok, 1 demo failed, 2 usage, 3 refused, 4 not ready, 5 switched back,
/// 6 uncertain, 7 locked, 8 API failure, 9 roll paused; status: 10 interrupted run,
/// 11 inconsistent, 12 live droplet unhealthy; 130 interrupted (see the README and --help).
#[derive(Debug, Parser)]
#[command(name = "zdd-do", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// The command line as `main` parses it: [`Cli`], with each duration flag's valid range in its
/// help, and the exit codes after the long help.
pub fn command() -> clap::Command {
    with_ranges(Cli::command()).after_long_help(crate::exit::help_text())
}

/// The value of a global flag read from the raw command line (the last `--flag value` or
/// `--flag=value` before `--`), else from its environment variable: for a command line clap
/// refused, to answer in the format that was asked for.
pub fn raw_global(flag: &str, env: &str) -> Option<String> {
    raw_flag(
        std::env::args_os()
            .skip(1)
            .map(|a| a.to_string_lossy().into_owned()),
        flag,
    )
    .or_else(|| std::env::var(env).ok())
}

fn raw_flag(args: impl Iterator<Item = String>, flag: &str) -> Option<String> {
    let mut found = None;
    let mut args = args;
    while let Some(a) = args.next() {
        if a == "--" {
            break;
        }
        if a == flag {
            found = args.next();
        } else if let Some(v) = a.strip_prefix(flag).and_then(|v| v.strip_prefix('=')) {
            found = Some(v.to_owned());
        }
    }
    found
}

fn with_ranges(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(|a| {
        let Some(range) = a
            .get_long()
            .and_then(|l| RANGES.iter().find(|r| r.flag == l))
        else {
            return a;
        };
        let text = |h: Option<&clap::builder::StyledStr>| {
            format!(
                "{} [range: {}]",
                h.map(|h| h.to_string()).unwrap_or_default(),
                range.describe()
            )
        };
        let help = text(a.get_help());
        let a = match a.get_long_help() {
            Some(_) => {
                let long = text(a.get_long_help());
                a.long_help(long)
            }
            None => a,
        };
        a.value_name("DURATION").help(help)
    })
    .mut_subcommands(with_ranges)
}

#[derive(Debug, Args)]
pub struct Global {
    /// DigitalOcean API base URL (point it at `zdd-do sim` to rehearse). `zdd-do sim` itself
    /// ignores it and starts its own; `zdd-do sim deploy` uses it to reach the simulator.
    #[arg(long, env = "ZDD_DO_API_URL", default_value = do_api::client::DEFAULT_BASE_URL, global = true)]
    pub api_url: String,
    /// Also trust the CA certificates in this PEM file when calling the API (a TLS-inspecting
    /// proxy's CA, or the one `zdd-do sim --tls` writes).
    #[arg(long, env = "ZDD_API_CA_FILE", global = true)]
    pub api_ca_file: Option<PathBuf>,
    /// Read the API token from this file instead of the environment.
    #[arg(long, env = "ZDD_TOKEN_FILE", global = true)]
    pub token_file: Option<PathBuf>,
    /// Result format on stdout.
    #[arg(long, env = "ZDD_OUTPUT", value_enum, default_value_t = Output::Human, global = true)]
    pub output: Output,
    /// Progress on stderr: human lines, JSON lines, or nothing.
    #[arg(long, env = "ZDD_EVENTS", value_enum, default_value_t = Events::Human, global = true)]
    pub events: Events,
    /// Timeout of one API request.
    #[arg(long, env = "ZDD_API_TIMEOUT", value_parser = dur("api-timeout"), default_value = "30s", global = true)]
    pub api_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// A short summary for people.
    Human,
    /// The result document as JSON on stdout.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Events {
    /// Timestamped lines (collapsible sections when GITLAB_CI=true).
    Human,
    /// One JSON object per event.
    Json,
    /// No progress output.
    None,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make the standby live: update it, health-gate it, move the reserved IP (or, with --lb,
    /// put it into the load balancer and take the live one out), verify, swap tags.
    Promote(PromoteArgs),
    /// Send traffic back to the standby (the previous version), health-gated unless --force;
    /// through a load balancer with --lb.
    Rollback(RollbackArgs),
    /// Show both droplets, where the reserved IP points, and drift between tags and the IP;
    /// exit 0 only when they agree (10: interrupted run, 11: inconsistent, 12: live droplet
    /// unhealthy with --check-health).
    Status(StatusArgs),
    /// Check a setup once, before the first deploy: the token, the tagged droplets, the
    /// reserved IP or load balancer, the health endpoint as probed from here, the rights the
    /// deploy lock needs, the rate-limit headroom; print what to fix. Exits with the code a
    /// deploy would end with (8: the API or token, 3: the setup, 4: health); 0 when a deploy
    /// can run. Changes nothing (one tag is created and deleted, as the lock does).
    Doctor(DoctorArgs),
    /// Break a deploy lock left by a run that is gone.
    Unlock(UnlockArgs),
    /// Print a shell completion script on stdout (`zdd-do completions bash >
    /// /etc/bash_completion.d/zdd-do`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout (`zdd-do man > /usr/local/share/man/man1/zdd-do.1`).
    Man,
    /// Run the local DigitalOcean simulator (API, droplets, a load balancer, a reserved IP)
    /// until Ctrl-C, to rehearse a pipeline without an account; `sim deploy` is the hook that
    /// "deploys" a version to a simulated droplet.
    #[cfg(feature = "sim")]
    Sim(SimArgs),
    /// Deploy through a local simulator with traffic running (no account needed): a promote, a
    /// rollback, a rolling deploy, a replace and its rollback, and a canary caught failing 5% of
    /// its requests; then a report of requests, latency, versions and timings.
    #[cfg(feature = "sim")]
    Demo(DemoArgs),
    /// Update the droplets behind a load balancer a few at a time: take out, update,
    /// health-gate, put back, wait until the load balancer routes to them again.
    Roll(RollArgs),
    /// Replace the droplets behind a load balancer with new ones (an image with the release
    /// baked in, or user data that installs it): create them beside the old ones, health-gate,
    /// put them in, see them serve, take the old ones out and keep them for an instant
    /// `rollback --lb`; `--finalize` deletes what is kept.
    Replace(Box<ReplaceArgs>),
}

#[derive(Debug, Args)]
pub struct Pair {
    /// The reserved IP; when omitted, the one reserved IP held by the tagged droplets.
    #[arg(long, env = "ZDD_RESERVED_IP")]
    pub reserved_ip: Option<Ipv4Addr>,
    /// Tag of the live droplet.
    #[arg(long, env = "ZDD_LIVE_TAG", default_value = "PROD")]
    pub live_tag: String,
    /// Tag of the standby droplet.
    #[arg(long, env = "ZDD_STANDBY_TAG", default_value = "FALLBACK")]
    pub standby_tag: String,
}

#[derive(Debug, Args)]
pub struct Health {
    /// Health check scheme.
    #[arg(long, env = "ZDD_HEALTH_SCHEME", value_enum, default_value_t = Scheme::Http)]
    pub health_scheme: Scheme,
    /// Health check port (default 80 for http, 443 for https).
    #[arg(long, env = "ZDD_HEALTH_PORT")]
    pub health_port: Option<u16>,
    /// Health check path.
    #[arg(long, env = "ZDD_HEALTH_PATH", default_value = "/")]
    pub health_path: String,
    #[command(flatten)]
    pub probe: Probe,
}

/// How to probe, shared by every command that health-checks (where to probe differs).
#[derive(Debug, Args)]
pub struct Probe {
    /// Which droplet address to probe directly: public, or private (runner inside the VPC).
    #[arg(long, env = "ZDD_HEALTH_ADDRESS", value_enum, default_value_t = Address::Public)]
    pub health_address: Address,
    /// Passing status range, e.g. 200-399 or 200.
    #[arg(long, env = "ZDD_HEALTH_STATUS", default_value = "200-399", value_parser = status_range)]
    pub health_status: (u16, u16),
    /// Text the body must contain (e.g. the new version string; for roll, after an update).
    #[arg(long, env = "ZDD_EXPECT_BODY")]
    pub expect_body: Option<String>,
    /// Timeout of one probe.
    #[arg(long, env = "ZDD_HEALTH_TIMEOUT", value_parser = dur("health-timeout"), default_value = "2s")]
    pub health_timeout: Duration,
    /// Passing probes in a row required.
    #[arg(long, env = "ZDD_HEALTH_SUCCESSES", default_value_t = 3)]
    pub health_successes: u32,
    /// Pause between probes.
    #[arg(long, env = "ZDD_HEALTH_INTERVAL", value_parser = dur("health-interval"), default_value = "1s")]
    pub health_interval: Duration,
    /// Give up on health after this long.
    #[arg(long, env = "ZDD_HEALTH_DEADLINE", value_parser = dur("health-deadline"), default_value = "60s")]
    pub health_deadline: Duration,
    /// Accept any TLS certificate when probing over https (droplets are probed by IP).
    #[arg(long, env = "ZDD_HEALTH_INSECURE")]
    pub health_insecure: bool,
}

#[derive(Debug, Args)]
pub struct Lock {
    /// Wait this long for another run's deploy lock before giving up (exit 7).
    #[arg(long, env = "ZDD_LOCK_WAIT", value_parser = dur("lock-wait"), default_value = "0s")]
    pub lock_wait: Duration,
    /// Lock tags older than this are removed whatever else is known (a backstop; runners'
    /// clocks must agree within it).
    #[arg(long, env = "ZDD_LOCK_TTL", value_parser = dur("lock-ttl"), default_value = "30m")]
    pub lock_ttl: Duration,
    /// A running deploy renews its lock every quarter of this; a lock left unrenewed for a
    /// whole lease (its run was killed) is taken over by the next run.
    #[arg(long, env = "ZDD_LOCK_LEASE", value_parser = dur("lock-lease"), default_value = "60s")]
    pub lock_lease: Duration,
    /// Pause between creating the lock tag and the look that decides (catches a competitor
    /// that started at the same moment).
    #[arg(long, env = "ZDD_LOCK_SETTLE", value_parser = dur("lock-settle"), default_value = "2s")]
    pub lock_settle: Duration,
    /// Run without the deploy lock (only when something else serialises deploys).
    #[arg(long, env = "ZDD_NO_LOCK")]
    pub no_lock: bool,
}

#[derive(Debug, Args)]
pub struct Switch {
    #[command(flatten)]
    pub pair: Pair,
    /// Switch through this load balancer (its id or name) instead of a reserved IP: the
    /// standby joins it, is seen serving through it, then the live droplet leaves it (watched
    /// through the load balancer's address, else waits computed from its health check). No IP
    /// moves, so no open connection is reset. Not with --reserved-ip; the load balancer selects
    /// droplets by a tag of its own (not the live tag) or by droplet ids.
    #[arg(long, env = "ZDD_LB")]
    pub lb: Option<String>,
    #[command(flatten)]
    pub health: Health,
    #[command(flatten)]
    pub lock: Lock,
    /// Reserved IP only: just before the IP moves, call this path on the live droplet (the
    /// health check's scheme and port); the app must then answer every request with
    /// `Connection: close` and close its idle kept-alive connections, for a minute or so (Go:
    /// `srv.SetKeepAlivesEnabled(false)`). zdd-do checks through the IP, on a new connection,
    /// that answers say `Connection: close` before it moves the IP (else exit 4, nothing
    /// switched). A move on DigitalOcean breaks every open connection: without this, each
    /// kept-alive client connection fails its next request.
    #[arg(long, env = "ZDD_PRE_SWITCH_PATH")]
    pub pre_switch_path: Option<String>,
    /// HTTP method of --pre-switch-path.
    #[arg(long, env = "ZDD_PRE_SWITCH_METHOD", default_value = "POST")]
    pub pre_switch_method: String,
    /// Give up waiting for the reserved IP assign action after this long.
    #[arg(long, env = "ZDD_ASSIGN_TIMEOUT", value_parser = dur("assign-timeout"), default_value = "2m")]
    pub assign_timeout: Duration,
    /// After the switch, verification through the reserved IP must pass within this; an
    /// answer with a failing status switches back at once.
    #[arg(long, env = "ZDD_VERIFY_DEADLINE", value_parser = dur("verify-deadline"), default_value = "10s")]
    pub verify_deadline: Duration,
    /// Print the plan and change nothing.
    #[arg(long, env = "ZDD_DRY_RUN")]
    pub dry_run: bool,
    /// Write the outcome as KEY=VALUE lines for GitLab's artifacts:reports:dotenv.
    #[arg(long, env = "ZDD_DOTENV")]
    pub dotenv: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    #[command(flatten)]
    pub switch: Switch,
    /// Update command run (by `sh -c`) against the standby first; it gets ZDD_DROPLET_ID,
    /// ZDD_DROPLET_NAME, ZDD_DROPLET_PUBLIC_IPV4, ZDD_DROPLET_PRIVATE_IPV4, ZDD_VERSION.
    #[arg(long, env = "ZDD_EXEC")]
    pub exec: Option<String>,
    /// Kill the update command after this long.
    #[arg(long, env = "ZDD_EXEC_TIMEOUT", value_parser = dur("exec-timeout"), default_value = "10m")]
    pub exec_timeout: Duration,
    /// The version being deployed (passed to the update command as ZDD_VERSION).
    #[arg(long = "version", env = "ZDD_VERSION")]
    pub app_version: Option<String>,
    /// Instead of updating the standby, create a fresh one from this image (snapshot id, image
    /// id or slug) with the live droplet's size, region and VPC; it takes the standby's tag,
    /// the reserved IP moves to it, the old live droplet becomes the standby, and the old
    /// standby is deleted. Reserved IP only (not with --exec).
    #[arg(long, env = "ZDD_IMAGE")]
    pub image: Option<String>,
    /// With --image: cloud-init for the fresh standby (or alone: the live droplet's image with
    /// this user data).
    #[arg(long, env = "ZDD_USER_DATA")]
    pub user_data: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub switch: Switch,
    /// Skip the health gate, and keep traffic on the standby even if verification fails.
    #[arg(long, env = "ZDD_FORCE")]
    pub force: bool,
    /// After a replace: multiply every computed wait by this (tests and simulations only).
    #[arg(long, env = "ZDD_WAIT_SCALE", default_value_t = 1.0, hide = true)]
    pub wait_scale: f64,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub pair: Pair,
    /// Blue-green through this load balancer (id or name): show which tagged droplets it
    /// serves instead of where a reserved IP points.
    #[arg(long, env = "ZDD_LB")]
    pub lb: Option<String>,
    #[command(flatten)]
    pub health: Health,
    /// Also probe each droplet's health once; exit 12 when the droplet holding the reserved IP
    /// does not answer.
    #[arg(long = "check-health", env = "ZDD_CHECK_HEALTH")]
    pub check_health: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub pair: Pair,
    /// Check blue-green through this load balancer (id or name) instead of a reserved IP.
    #[arg(long, env = "ZDD_LB")]
    pub lb: Option<String>,
    #[command(flatten)]
    pub health: Health,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// Break the lock of this reserved IP's blue-green deploys.
    #[arg(long, env = "ZDD_RESERVED_IP")]
    pub reserved_ip: Option<Ipv4Addr>,
    /// Break the lock of this load balancer's (id) rolling deploys.
    #[arg(long, env = "ZDD_LB")]
    pub lb: Option<String>,
}

/// `zdd-do roll`. `--version` is the app's version here, not zdd-do's.
#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
pub struct RollArgs {
    /// The load balancer: its id, or its name.
    #[arg(long, env = "ZDD_LB")]
    pub lb: String,
    /// Droplets out of rotation at once.
    #[arg(long, env = "ZDD_MAX_UNAVAILABLE", default_value = "1")]
    pub max_unavailable: std::num::NonZeroUsize,
    /// Update command run (by `sh -c`) for each droplet while it is out of rotation; it gets
    /// ZDD_DROPLET_ID, ZDD_DROPLET_NAME, ZDD_DROPLET_PUBLIC_IPV4, ZDD_DROPLET_PRIVATE_IPV4,
    /// ZDD_VERSION, ZDD_HOOK=update. A non-zero exit is a failure.
    #[arg(long, env = "ZDD_EXEC")]
    pub exec: Option<String>,
    /// Kill the update (or rollback) command after this long.
    #[arg(long, env = "ZDD_EXEC_TIMEOUT", value_parser = dur("exec-timeout"), default_value = "10m")]
    pub exec_timeout: Duration,
    /// The version being deployed (passed to the commands as ZDD_VERSION).
    #[arg(long = "version", env = "ZDD_VERSION")]
    pub app_version: Option<String>,
    /// How to take a droplet out: `remove` its tag (or id), watch it leave, then the rest of
    /// --drain-wait; or `shutdown-url`: call --drain-path on it so the load balancer's health
    /// check fails, watch it leave (or wait the detection window), then remove it.
    #[arg(long, env = "ZDD_DRAIN", value_enum, default_value_t = DrainMode::Remove)]
    pub drain: DrainMode,
    /// Path of the app's drain URL (shutdown-url mode), on the health check's scheme and port.
    #[arg(long, env = "ZDD_DRAIN_PATH", default_value = "/drain")]
    pub drain_path: String,
    /// HTTP method of the drain URL.
    #[arg(long, env = "ZDD_DRAIN_METHOD", default_value = "POST")]
    pub drain_method: String,
    #[command(flatten)]
    pub watch: LbWatch,
    /// Put a droplet back only after its health gate passed, not while it boots (by default
    /// it goes back at once, so that the load balancer's own checks run during boot; it routes
    /// only after `healthy_threshold` passes).
    #[arg(long, env = "ZDD_PUT_BACK_AFTER_GATE")]
    pub put_back_after_gate: bool,
    /// Pause between batches.
    #[arg(long, env = "ZDD_BATCH_DELAY", value_parser = dur("batch-delay"), default_value = "0s")]
    pub batch_delay: Duration,
    /// On failure: `pause` (leave the failed droplet out of rotation, exit 9) or `rollback`
    /// (run --rollback-exec on the updated droplets, newest first, exit 5).
    #[arg(long, env = "ZDD_ON_FAILURE", value_enum, default_value_t = OnFailureArg::Pause)]
    pub on_failure: OnFailureArg,
    /// Rollback command (same environment, ZDD_HOOK=rollback), for --on-failure rollback.
    #[arg(long, env = "ZDD_ROLLBACK_EXEC")]
    pub rollback_exec: Option<String>,
    #[command(flatten)]
    pub canary: CanaryArgs,
    #[command(flatten)]
    pub health: RollHealth,
    #[command(flatten)]
    pub lock: Lock,
    /// Print the batches, how each wait ends (watched or computed) and the API budget; change
    /// nothing.
    #[arg(long, env = "ZDD_DRY_RUN")]
    pub dry_run: bool,
    /// Write the outcome as KEY=VALUE lines for GitLab's artifacts:reports:dotenv.
    #[arg(long, env = "ZDD_DOTENV")]
    pub dotenv: Option<PathBuf>,
}

/// How droplets are seen joining and leaving a load balancer (`replace`, and `rollback --lb`
/// after it).
#[derive(Debug, Args)]
pub struct LbWatch {
    /// In-flight allowance: time for requests already sent to a leaving droplet to finish,
    /// counted from its last answer through the load balancer. Requests cannot be seen from
    /// outside: set your longest request (uploads, long polls), or 0 if your app stops
    /// gracefully.
    #[arg(long, env = "ZDD_DRAIN_WAIT", value_parser = dur("drain-wait"), default_value = "5s")]
    pub drain_wait: Duration,
    /// Computed waits only: slack for the load balancer to notice a tag change (DigitalOcean
    /// documents no delay).
    #[arg(long, env = "ZDD_LB_SYNC_WAIT", value_parser = dur("lb-sync-wait"), default_value = "5s")]
    pub lb_sync_wait: Duration,
    /// How an answer names the droplet that served it: header:NAME, json:FIELD or body
    /// (value: the droplet's id, name or IPv4). Default: learned by probing the droplets.
    #[arg(long, env = "ZDD_IDENTITY", alias = "lb-probe-match")]
    pub identity: Option<String>,
    /// Watch this URL instead of the load balancer's own address (its IP, a forwarding rule's
    /// entry port, the health check path).
    #[arg(long, env = "ZDD_LB_PROBE")]
    pub lb_probe: Option<String>,
    /// Give up watching a droplet leave or come back after this long (default: 3 × the
    /// computed window).
    #[arg(long, env = "ZDD_LB_PROBE_TIMEOUT", value_parser = dur("lb-probe-timeout"))]
    pub lb_probe_timeout: Option<Duration>,
    /// Do not watch: sleep the waits computed from the load balancer's health check.
    #[arg(long, env = "ZDD_COMPUTED_WAITS")]
    pub computed_waits: bool,
    /// Multiply every computed wait by this (tests and simulations only).
    #[arg(long, env = "ZDD_WAIT_SCALE", default_value_t = 1.0, hide = true)]
    pub wait_scale: f64,
}

/// A judge of a canary analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JudgeArg {
    /// zdd-do's own probes of --analysis-path through the load balancer, each answer
    /// attributed to the droplet that served it.
    Probes,
    /// The load balancer's metrics from DigitalOcean's Monitoring API (the token needs
    /// `monitoring:read`).
    LbMetrics,
    /// The --analysis-exec command (implied by giving it).
    Exec,
}

/// Canary analysis: a few new droplets take traffic beside the old ones and are judged
/// before the rest follow.
#[derive(Debug, Args)]
pub struct CanaryArgs {
    /// Canary analysis: `replace` puts only this many new droplets in first; `roll` makes its
    /// first batch this many droplets (and needs --on-failure rollback). They take traffic
    /// beside the others for --analysis-window and are judged; the rest follow only when they
    /// pass (a failure takes them out: replace deletes them, roll rolls them back; exit 5).
    #[arg(long, env = "ZDD_CANARY", conflicts_with = "canary_percent")]
    pub canary: Option<usize>,
    /// As --canary, with a share of the droplets (rounded up, at least one).
    #[arg(long, env = "ZDD_CANARY_PERCENT")]
    pub canary_percent: Option<f64>,
    /// How long the canaries take traffic before they are judged.
    #[arg(long, env = "ZDD_ANALYSIS_WINDOW", value_parser = dur("analysis-window"), default_value = "2m")]
    pub analysis_window: Duration,
    /// Who judges (comma-separated): probes, lb-metrics, exec. An inconclusive judge fails
    /// the canary.
    #[arg(
        long,
        env = "ZDD_ANALYSIS_JUDGES",
        value_enum,
        value_delimiter = ',',
        default_value = "probes"
    )]
    pub analysis_judges: Vec<JudgeArg>,
    /// The page the probes ask through the load balancer (not the health check: a release
    /// can pass it and fail its users).
    #[arg(long, env = "ZDD_ANALYSIS_PATH", default_value = "/")]
    pub analysis_path: String,
    /// Your own check, run (by `sh -c`) when the window is over: exit 0 passes, another status
    /// fails, a timeout is inconclusive. It gets ZDD_CANARY_IDS, ZDD_CANARY_NAMES,
    /// ZDD_CANARY_PUBLIC_IPV4S, ZDD_CANARY_PRIVATE_IPV4S, ZDD_OLD_IDS, ZDD_LB_ID, ZDD_LB_NAME,
    /// ZDD_ANALYSIS_START, ZDD_ANALYSIS_END (unix seconds), ZDD_VERSION, ZDD_HOOK=analysis.
    #[arg(long, env = "ZDD_ANALYSIS_EXEC")]
    pub analysis_exec: Option<String>,
    /// Kill the check after this long (inconclusive).
    #[arg(long, env = "ZDD_ANALYSIS_EXEC_TIMEOUT", value_parser = dur("analysis-exec-timeout"), default_value = "5m")]
    pub analysis_exec_timeout: Duration,
    /// The canaries fail when their error rate (answers of 500 or more, or none) is more than
    /// this many percentage points above the old droplets'.
    #[arg(long, env = "ZDD_MAX_ERROR_RATE_INCREASE", default_value_t = 1.0)]
    pub max_error_rate_increase: f64,
    /// The canaries fail when their 95th-percentile latency is above the old droplets' times
    /// this plus --p95-slack.
    #[arg(long, env = "ZDD_MAX_P95_RATIO", default_value_t = 1.5)]
    pub max_p95_ratio: f64,
    /// See --max-p95-ratio.
    #[arg(long, env = "ZDD_P95_SLACK", value_parser = dur("p95-slack"), default_value = "25ms")]
    pub p95_slack: Duration,
    /// A judge that saw fewer requests reach the canaries (or the old droplets) is
    /// inconclusive.
    #[arg(long, env = "ZDD_MIN_REQUESTS", default_value_t = 50)]
    pub min_requests: u64,
}

/// `zdd-do replace`. `--version` is the app's version here, not zdd-do's.
#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
pub struct ReplaceArgs {
    /// The load balancer: its id, or its name.
    #[arg(long, env = "ZDD_LB")]
    pub lb: String,
    /// What the new droplets boot: a snapshot or image id, or an image slug (the release baked
    /// in). Default: the fleet's image, with --user-data installing the release.
    #[arg(long, env = "ZDD_IMAGE")]
    pub image: Option<String>,
    /// A cloud-init file (user data, at most 64 KiB) that installs the release.
    #[arg(long, env = "ZDD_USER_DATA")]
    pub user_data: Option<PathBuf>,
    /// Command run (by `sh -c`) for each new droplet once it is active, before its health
    /// gate, to install the release (ZDD_DROPLET_ID, ZDD_DROPLET_NAME, ZDD_DROPLET_PUBLIC_IPV4,
    /// ZDD_DROPLET_PRIVATE_IPV4, ZDD_VERSION, ZDD_HOOK=update). A failure deletes the new
    /// droplets (exit 5).
    #[arg(long, env = "ZDD_EXEC")]
    pub exec: Option<String>,
    /// Kill the install command after this long.
    #[arg(long, env = "ZDD_EXEC_TIMEOUT", value_parser = dur("exec-timeout"), default_value = "10m")]
    pub exec_timeout: Duration,
    /// The version being deployed (passed to the install command as ZDD_VERSION).
    #[arg(long = "version", env = "ZDD_VERSION")]
    pub app_version: Option<String>,
    /// How many new droplets (default: as many as the fleet has).
    #[arg(long, env = "ZDD_COUNT")]
    pub count: Option<std::num::NonZeroUsize>,
    /// Size slug of the new droplets (default: the fleet's).
    #[arg(long, env = "ZDD_SIZE")]
    pub size: Option<String>,
    /// Region slug (default: the fleet's).
    #[arg(long, env = "ZDD_REGION")]
    pub region: Option<String>,
    /// VPC UUID (default: the fleet's).
    #[arg(long, env = "ZDD_VPC")]
    pub vpc: Option<String>,
    /// SSH key id or fingerprint to embed (repeat, or comma-separate in ZDD_SSH_KEYS); the API
    /// does not show a droplet's keys, so they cannot be copied from the fleet.
    #[arg(long = "ssh-key", env = "ZDD_SSH_KEYS", value_delimiter = ',')]
    pub ssh_keys: Vec<String>,
    /// Install the monitoring agent: true or false (default: as the whole fleet has it).
    #[arg(long, env = "ZDD_MONITORING")]
    pub monitoring: Option<bool>,
    /// Another tag for the new droplets (repeat, or comma-separate in ZDD_TAGS); the fleet's
    /// own tags are copied, except the load balancer's, which they get once they pass their
    /// health gate.
    #[arg(long = "tag", env = "ZDD_TAGS", value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Keep the replaced fleet (powered, out of the load balancer) this long for an instant
    /// `zdd-do rollback --lb`; the next deploy after that time, or --finalize, deletes it.
    #[arg(long, env = "ZDD_KEEP_PREVIOUS", value_parser = dur("keep-previous"), default_value = "15m")]
    pub keep_previous: Duration,
    /// Give up on new droplets that are not active after this long (they are deleted, exit 5).
    #[arg(long, env = "ZDD_ACTIVE_TIMEOUT", value_parser = dur("active-timeout"), default_value = "5m")]
    pub active_timeout: Duration,
    /// Delete what replace keeps for the load balancer instead of deploying: the previous
    /// fleet (whatever its keep time) and droplets of runs that never finished; never a
    /// droplet the load balancer selects. --image and --user-data are ignored (a pipeline may
    /// set ZDD_IMAGE for every job).
    #[arg(long, env = "ZDD_FINALIZE")]
    pub finalize: bool,
    #[command(flatten)]
    pub canary: CanaryArgs,
    #[command(flatten)]
    pub watch: LbWatch,
    #[command(flatten)]
    pub health: RollHealth,
    #[command(flatten)]
    pub lock: Lock,
    /// Print the droplets it would create, the waits, the API calls and the cost; change
    /// nothing.
    #[arg(long, env = "ZDD_DRY_RUN")]
    pub dry_run: bool,
    /// Write the outcome as KEY=VALUE lines for GitLab's artifacts:reports:dotenv.
    #[arg(long, env = "ZDD_DOTENV")]
    pub dotenv: Option<PathBuf>,
}

/// The health gate of `roll`: scheme, port and path default to the load balancer's check.
#[derive(Debug, Args)]
pub struct RollHealth {
    /// Health check scheme (default: the load balancer's health check protocol).
    #[arg(long, env = "ZDD_HEALTH_SCHEME", value_enum)]
    pub health_scheme: Option<Scheme>,
    /// Health check port (default: the load balancer's health check port).
    #[arg(long, env = "ZDD_HEALTH_PORT")]
    pub health_port: Option<u16>,
    /// Health check path (default: the load balancer's health check path).
    #[arg(long, env = "ZDD_HEALTH_PATH")]
    pub health_path: Option<String>,
    #[command(flatten)]
    pub probe: Probe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DrainMode {
    /// Remove the tag (or id), watch it leave, then the rest of --drain-wait.
    Remove,
    /// Call the app's drain URL, watch the load balancer let go of it, then remove.
    ShutdownUrl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnFailureArg {
    /// Leave the failed droplet out of rotation and stop (exit 9); re-run to resume.
    Pause,
    /// Roll the updated droplets back with --rollback-exec (exit 5 when done).
    Rollback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scheme {
    Http,
    Https,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Address {
    Public,
    Private,
}

fn status_range(s: &str) -> Result<(u16, u16), String> {
    let bad = || format!("`{s}` is not a status range; use e.g. 200-399 or 200");
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        ),
        None => {
            let v = s.trim().parse().map_err(|_| bad())?;
            (v, v)
        }
    };
    if !(100..=599).contains(&a) || !(100..=599).contains(&b) || a > b {
        return Err(bad());
    }
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_valid() {
        command().debug_assert();
    }

    /// Every duration flag of every command has a range, its value parser enforces that range,
    /// and its help shows it.
    #[test]
    fn every_duration_flag_checks_its_range() {
        use crate::duration::{range_of, show};
        use clap::builder::ValueParser;
        let duration = ValueParser::new(crate::duration::parse).type_id();
        let root = command();
        let mut checked = Vec::new();
        // Every command and subcommand (`sim snapshot` too), with the path that reaches it.
        let mut subs: Vec<(Vec<&str>, &clap::Command)> = vec![(Vec::new(), &root)];
        let mut i = 0;
        while i < subs.len() {
            let (path, cmd) = subs[i].clone();
            for c in cmd.get_subcommands() {
                let mut p = path.clone();
                p.push(c.get_name());
                subs.push((p, c));
            }
            i += 1;
        }
        for (path, cmd) in subs {
            for arg in cmd.get_arguments() {
                if arg.get_value_parser().type_id() != duration {
                    continue;
                }
                let long = arg.get_long().expect("duration flags are long flags");
                let range = range_of(long);
                let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                assert!(
                    help.ends_with(&format!("[range: {}]", range.describe())),
                    "--{long}: {help}"
                );
                let parse = |value: String| {
                    let mut argv = vec!["zdd-do".to_owned()];
                    if path.is_empty() {
                        argv.push("status".into());
                    }
                    argv.extend(path.iter().map(|p| (*p).to_owned()));
                    match path.last() {
                        Some(&("roll" | "replace")) => argv.extend(["--lb".into(), "web".into()]),
                        Some(&"snapshot") => argv.extend(["--version".into(), "v1".into()]),
                        _ => {}
                    }
                    argv.extend([format!("--{long}"), value]);
                    command().try_get_matches_from(argv)
                };
                assert!(
                    parse(show(range.min)).is_ok(),
                    "--{long} {}",
                    show(range.min)
                );
                assert!(
                    parse(show(range.max)).is_ok(),
                    "--{long} {}",
                    show(range.max)
                );
                let over = parse(show(range.max + Duration::from_millis(1))).unwrap_err();
                assert_eq!(
                    over.kind(),
                    clap::error::ErrorKind::ValueValidation,
                    "--{long}"
                );
                if !range.min.is_zero() {
                    let under = parse(show(range.min - Duration::from_millis(1))).unwrap_err();
                    assert_eq!(under.kind(), clap::error::ErrorKind::ValueValidation);
                }
                checked.push(long.to_owned());
            }
        }
        for r in RANGES {
            assert!(
                checked.iter().any(|c| c == r.flag),
                "--{} is not a flag",
                r.flag
            );
        }
    }

    #[test]
    fn raw_flags() {
        let raw = |args: &[&str]| raw_flag(args.iter().map(|a| a.to_string()), "--events");
        assert_eq!(
            raw(&["status", "--events", "json"]).as_deref(),
            Some("json")
        );
        assert_eq!(raw(&["--events=json", "status"]).as_deref(), Some("json"));
        assert_eq!(
            raw(&["--events=json", "--events", "none"]).as_deref(),
            Some("none")
        );
        assert_eq!(raw(&["promote", "--", "--events", "json"]), None);
        assert_eq!(raw(&["--eventsjson"]), None);
    }

    #[test]
    fn status_ranges() {
        assert_eq!(status_range("200-399").unwrap(), (200, 399));
        assert_eq!(status_range("204").unwrap(), (204, 204));
        assert!(status_range("399-200").is_err());
        assert!(status_range("ok").is_err());
    }
}

#[cfg(feature = "sim")]
#[derive(Debug, Args)]
pub struct SimArgs {
    #[command(subcommand)]
    pub action: Option<SimAction>,
    /// Multiply DigitalOcean's times (action latency, boot time, health-check intervals) by this.
    #[arg(long, env = "ZDD_SIM_TIME_SCALE", default_value_t = 1.0)]
    pub time_scale: f64,
    /// Port of the simulated API on 127.0.0.1 (0: any free port).
    #[arg(long, env = "ZDD_SIM_API_PORT", default_value_t = 0)]
    pub api_port: u16,
    /// Share of API requests answered 429 with `Retry-After: 1` (0 to 1).
    #[arg(long, env = "ZDD_SIM_429", default_value_t = 0.0)]
    pub fault_429: f64,
    /// Share of API reads answered 500 (0 to 1).
    #[arg(long, env = "ZDD_SIM_5XX", default_value_t = 0.0)]
    pub fault_5xx: f64,
    /// Requests per second sent through the reserved IP and through the load balancer while the
    /// simulator runs, shared by three kinds of client (a new connection per request;
    /// keep-alive, no retry; keep-alive that retries once); on Ctrl-C, what each kind saw.
    /// 0: no traffic.
    #[arg(long, env = "ZDD_SIM_TRAFFIC", default_value_t = 0.0)]
    pub traffic: f64,
    /// After a reserved IP moves, new connections through it fail for this long (DigitalOcean
    /// publishes no figure; 1s is the simulator's harsh assumption). Open connections are reset
    /// by a move whatever this is.
    #[arg(long, env = "ZDD_SIM_IP_BLACKOUT", value_parser = dur("ip-blackout"), default_value = "1s")]
    pub ip_blackout: Duration,
    /// Serve the API over HTTPS, with a certificate made at start and signed by a CA made for
    /// this run (official clients such as pydo send a token only over HTTPS). The CA is
    /// written to --tls-ca-file, and the commands printed trust it.
    #[arg(long, env = "ZDD_SIM_TLS")]
    pub tls: bool,
    /// Where --tls writes its CA certificate (PEM), removed when the simulator stops. Default:
    /// zdd-do-sim-ca-<API port>.pem in the temporary directory.
    #[arg(long, env = "ZDD_SIM_TLS_CA_FILE", requires = "tls")]
    pub tls_ca_file: Option<PathBuf>,
}

#[cfg(feature = "sim")]
#[derive(Debug, Subcommand)]
pub enum SimAction {
    /// Deploy a version to a droplet of a running simulator (at --api-url / ZDD_DO_API_URL).
    /// In a `--exec` hook the droplet and version come from the environment zdd-do sets.
    Deploy {
        /// The droplet: id, name or address.
        #[arg(long, env = "ZDD_DROPLET_ID")]
        droplet: String,
        /// The version to deploy.
        #[arg(long = "version", env = "ZDD_VERSION")]
        app_version: String,
    },
    /// Add a snapshot with a version baked in to a running simulator, as your build makes one
    /// (Packer, a droplet's snapshot); prints its id, which `zdd-do replace --image` takes.
    Snapshot {
        /// The version the snapshot's droplets run.
        #[arg(long = "version", env = "ZDD_VERSION")]
        app_version: String,
        /// The snapshot's name (default: app-<version>).
        #[arg(long)]
        name: Option<String>,
        /// A release that never gets healthy (to rehearse a failed deploy).
        #[arg(long)]
        never_healthy: bool,
        /// A release that passes its health check but fails this share of its requests (0 to
        /// 1: 0.05 fails every 20th), to rehearse a canary caught by its analysis.
        #[arg(long, env = "ZDD_SIM_FAIL_SHARE", default_value_t = 0.0)]
        fail_share: f64,
        /// A release that answers this much later than the others (its health check does not).
        #[arg(long, env = "ZDD_SIM_ADDED_LATENCY", value_parser = dur("added-latency"), default_value = "0s")]
        added_latency: Duration,
        /// Also write `ZDD_IMAGE=<id>` to this file (a dotenv report for the deploy job).
        #[arg(long)]
        dotenv: Option<PathBuf>,
    },
}

#[cfg(feature = "sim")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Multiply DigitalOcean's times (health-check intervals, action latency, boot time) by this.
    #[arg(long, env = "ZDD_DEMO_TIME_SCALE", default_value_t = 0.1)]
    pub time_scale: f64,
    /// Requests per second sent through each entry point (the reserved IP, the load
    /// balancers), shared by the three client kinds.
    #[arg(long, env = "ZDD_DEMO_RATE", default_value_t = 250.0)]
    pub rate: f64,
    /// Switch the reserved IP without the pre-switch hook, to see what clients that keep
    /// connections alive lose (the demo then exits 1: they lose more than the floor).
    #[arg(long, env = "ZDD_DEMO_WITHOUT_PRE_SWITCH")]
    pub without_pre_switch: bool,
    /// After the reserved IP moves, new connections through it fail for this long (1s: the
    /// simulator's harsh assumption; 0 shows the other terms alone).
    #[arg(long, env = "ZDD_DEMO_IP_BLACKOUT", value_parser = dur("ip-blackout"), default_value = "1s")]
    pub ip_blackout: Duration,
}
