//! Turning parsed flags into core configs, running, rendering the result, choosing the exit code.

use std::io::Write;
use std::path::PathBuf;

use do_api::{Client, Token, WaitOptions};
use zdd_core::bluegreen::{
    self, BlueGreenConfig, BlueGreenReport, LockSettings, Mode, Outcome, Roles,
};
use zdd_core::health::{AddressKind, HealthField, HealthPolicy, Scheme};
use zdd_core::hook::NoHook;

use crate::cli::{self, Cli, Command, Output};
use crate::exit;
use crate::hook::{CommandHook, HookOutput};
use crate::render::{StderrSink, Style};

#[path = "demo.rs"]
mod demo;
#[path = "roll.rs"]
mod roll;
#[path = "sim.rs"]
mod sim;

/// A failure before anything ran: a one-line message and an exit code.
struct Early(i32, String);

/// Run the parsed command; returns the exit code.
pub async fn run(args: Cli) -> i32 {
    let style = style(args.global.events);
    let sink = StderrSink::new(style);
    let output = args.global.output;
    let result = match &args.command {
        Command::Promote(p) => promote(&args.global, p, &sink).await,
        Command::Rollback(r) => rollback(&args.global, r, &sink).await,
        Command::Status(s) => status(&args.global, s, &sink).await,
        Command::Unlock(u) => unlock(&args.global, u).await,
        Command::Sim(s) => sim::run(&args.global, s).await,
        Command::Demo(d) => demo::run(&args.global, d, &sink).await,
        Command::Roll(r) => roll::roll(&args.global, r, &sink).await,
    };
    match result {
        Ok(code) => code,
        Err(Early(code, message)) => {
            let message = if code == exit::API {
                with_token_hint(message)
            } else {
                message
            };
            report_early(output, style, code, &message);
            code
        }
    }
}

/// The events' style `--events` asks for.
pub fn style(events: cli::Events) -> Style {
    match events {
        cli::Events::Human => Style::Human {
            gitlab: std::env::var("GITLAB_CI").is_ok_and(|v| v == "true"),
        },
        cli::Events::Json => Style::JsonLines,
        cli::Events::None => Style::Quiet,
    }
}

/// A failure before anything ran: the JSON document on stdout with `--output json`, and one
/// line on stderr in the events' style.
pub fn report_early(output: Output, style: Style, code: i32, message: &str) {
    if output == Output::Json {
        print_json(
            &serde_json::json!({"outcome": outcome_name(code), "message": message, "exit_code": code}),
        );
    }
    crate::render::error(style, code, message);
}

fn outcome_name(code: i32) -> &'static str {
    match code {
        exit::USAGE => "config_error",
        exit::REFUSED => "refused",
        exit::LOCKED => "locked",
        exit::API => "api_error",
        _ => "error",
    }
}

/// A strategy's report as the JSON document on stdout, with the exit code added.
fn print_result_json(report: &impl serde::Serialize, code: i32) {
    let mut v = serde_json::to_value(report).unwrap_or_default();
    v["exit_code"] = code.into();
    print_json(&v);
}

fn print_json(v: &impl serde::Serialize) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, v);
    let _ = writeln!(out);
}

/// Where this run's token came from, for the message when DigitalOcean refuses it.
static TOKEN_SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// A message about a failed API call, with what to check when the failure is DigitalOcean
/// refusing the token (401): the variable or file it came from. do-api's errors show the
/// status as `401 unauthorized`.
pub fn with_token_hint(message: String) -> String {
    match TOKEN_SOURCE.get() {
        Some(source) if message.contains("401 unauthorized") => format!(
            "{message}. DigitalOcean refused the token from {source}: check that it is current, not revoked, and of this team"
        ),
        _ => message,
    }
}

/// The token: DIGITALOCEAN_ACCESS_TOKEN (doctl's name), DIGITALOCEAN_TOKEN, or --token-file.
fn token(g: &cli::Global) -> Result<Token, Early> {
    let usage = |m: String| Early(exit::USAGE, m);
    if let Some(path) = &g.token_file {
        let _ = TOKEN_SOURCE.set(format!("the token file {}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| {
            usage(format!(
                "cannot read the token file {}: {e}",
                path.display()
            ))
        })?;
        return Token::new(text).map_err(|e| usage(format!("token file {}: {e}", path.display())));
    }
    for var in ["DIGITALOCEAN_ACCESS_TOKEN", "DIGITALOCEAN_TOKEN"] {
        if let Ok(v) = std::env::var(var)
            && !v.trim().is_empty()
        {
            let _ = TOKEN_SOURCE.set(var.to_owned());
            return Token::new(v).map_err(|e| usage(format!("{var}: {e}")));
        }
    }
    Err(usage(
        "no API token: set DIGITALOCEAN_ACCESS_TOKEN (or DIGITALOCEAN_TOKEN) or pass --token-file"
            .into(),
    ))
}

fn client(g: &cli::Global) -> Result<Client, Early> {
    Client::builder()
        .token(token(g)?)
        .base_url(g.api_url.clone())
        .timeout(g.api_timeout)
        .build()
        .map_err(|e| Early(exit::USAGE, e.to_string()))
}

/// A health check from where to probe (which differs per command) and how (shared flags).
fn health_check(
    scheme: Option<cli::Scheme>,
    port: Option<u16>,
    path: &str,
    p: &cli::Probe,
) -> Result<HealthPolicy, String> {
    let check = HealthPolicy {
        scheme: match scheme {
            Some(cli::Scheme::Https) => Scheme::Https,
            Some(cli::Scheme::Http) | None => Scheme::Http,
        },
        port,
        path: path.to_owned(),
        address: match p.health_address {
            cli::Address::Public => AddressKind::Public,
            cli::Address::Private => AddressKind::Private,
        },
        status_min: p.health_status.0,
        status_max: p.health_status.1,
        expect_body: p.expect_body.clone(),
        request_timeout: p.health_timeout,
        successes: p.health_successes,
        interval: p.health_interval,
        deadline: p.health_deadline,
        insecure_tls: p.health_insecure,
    };
    check.check().map_err(|e| {
        let flags: Vec<&str> = e.fields.iter().map(|f| health_flag(*f)).collect();
        format!("{}: {}", flags.join(", "), e.message)
    })?;
    Ok(check)
}

/// The flag that sets a health check setting.
fn health_flag(f: HealthField) -> &'static str {
    match f {
        HealthField::StatusRange => "--health-status",
        HealthField::Successes => "--health-successes",
        HealthField::RequestTimeout => "--health-timeout",
        HealthField::Interval => "--health-interval",
        HealthField::Deadline => "--health-deadline",
        HealthField::ExpectBody => "--expect-body",
        _ => "a health flag",
    }
}

fn health(h: &cli::Health) -> Result<HealthPolicy, Early> {
    health_check(
        Some(h.health_scheme),
        h.health_port,
        &h.health_path,
        &h.probe,
    )
    .map_err(|m| Early(exit::USAGE, m))
}

/// The deploy lock's settings, or none with `--no-lock`.
fn lock_settings(l: &cli::Lock) -> Result<Option<LockSettings>, Early> {
    if l.no_lock {
        return Ok(None);
    }
    if l.lock_wait >= l.lock_ttl {
        // A run still waiting after the TTL would have its own lock tag removed as stale.
        return Err(Early(
            exit::USAGE,
            format!(
                "--lock-wait {} must be shorter than --lock-ttl {}",
                crate::duration::show(l.lock_wait),
                crate::duration::show(l.lock_ttl)
            ),
        ));
    }
    Ok(Some(LockSettings {
        ttl: l.lock_ttl,
        wait: l.lock_wait,
        settle: l.lock_settle,
        lease: l.lock_lease,
        ..LockSettings::default()
    }))
}

fn roles(p: &cli::Pair) -> Result<Roles, Early> {
    for (flag, tag) in [
        ("--live-tag", &p.live_tag),
        ("--standby-tag", &p.standby_tag),
    ] {
        do_api::tags::validate_name(tag).map_err(|e| Early(exit::USAGE, format!("{flag}: {e}")))?;
    }
    if p.live_tag == p.standby_tag {
        return Err(Early(
            exit::USAGE,
            format!(
                "--live-tag and --standby-tag are both `{}`; they must differ",
                p.live_tag
            ),
        ));
    }
    Ok(Roles {
        live_tag: p.live_tag.clone(),
        standby_tag: p.standby_tag.clone(),
    })
}

fn switch_config(s: &cli::Switch) -> Result<BlueGreenConfig, Early> {
    Ok(BlueGreenConfig {
        roles: roles(&s.pair)?,
        reserved_ip: s.pair.reserved_ip,
        health: health(&s.health)?,
        assign_wait: WaitOptions::with_timeout(s.assign_timeout),
        verify_deadline: s.verify_deadline,
        version: None,
        dry_run: s.dry_run,
        force: false,
        lock: lock_settings(&s.lock)?,
    })
}

/// Resolves on Ctrl-C or SIGTERM (GitLab cancels jobs with SIGTERM).
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn promote(g: &cli::Global, p: &cli::PromoteArgs, sink: &StderrSink) -> Result<i32, Early> {
    let mut cfg = switch_config(&p.switch)?;
    cfg.version = p.app_version.clone();
    if p.exec.as_deref().is_some_and(|c| c.trim().is_empty()) {
        return Err(Early(
            exit::USAGE,
            "--exec is empty; give a command or leave the flag out".into(),
        ));
    }
    let client = client(g)?;
    let hook = p.exec.as_ref().map(|c| CommandHook {
        command: c.clone(),
        timeout: p.exec_timeout,
        output: HookOutput::for_style(sink.style()),
    });
    let mut report = bluegreen::run(
        &client,
        &cfg,
        Mode::Promote,
        hook.as_ref(),
        sink,
        interrupted(),
    )
    .await;
    if report.outcome == Outcome::ApiError {
        report.message = with_token_hint(report.message);
    }
    finish(g, &report, p.switch.dotenv.as_ref(), sink)
}

async fn rollback(g: &cli::Global, r: &cli::RollbackArgs, sink: &StderrSink) -> Result<i32, Early> {
    let mut cfg = switch_config(&r.switch)?;
    cfg.force = r.force;
    let client = client(g)?;
    let mut report = bluegreen::run(
        &client,
        &cfg,
        Mode::Rollback,
        None::<&NoHook>,
        sink,
        interrupted(),
    )
    .await;
    if report.outcome == Outcome::ApiError {
        report.message = with_token_hint(report.message);
    }
    finish(g, &report, r.switch.dotenv.as_ref(), sink)
}

fn finish(
    g: &cli::Global,
    report: &BlueGreenReport,
    dotenv: Option<&PathBuf>,
    sink: &StderrSink,
) -> Result<i32, Early> {
    let code = exit::for_outcome(report.outcome);
    if let Some(path) = dotenv {
        let id = |d: &Option<bluegreen::DropletSummary>| {
            d.as_ref().map(|d| d.id.to_string()).unwrap_or_default()
        };
        let name = |d: &Option<bluegreen::DropletSummary>| {
            d.as_ref().map(|d| d.name.clone()).unwrap_or_default()
        };
        let pairs = [
            (
                "ZDD_OUTCOME",
                serde_json::to_value(report.outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
            ),
            ("ZDD_EXIT_CODE", code.to_string()),
            (
                "ZDD_RESERVED_IP",
                report
                    .reserved_ip
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
            ),
            ("ZDD_LIVE_DROPLET_ID", id(&report.live)),
            ("ZDD_LIVE_DROPLET_NAME", name(&report.live)),
            ("ZDD_STANDBY_DROPLET_ID", id(&report.standby)),
            ("ZDD_STANDBY_DROPLET_NAME", name(&report.standby)),
        ];
        crate::dotenv::write_or_warn(path, &pairs, sink.style());
    }
    match g.output {
        Output::Json => {
            print_result_json(report, code);
        }
        Output::Human => print_human(report, code),
    }
    Ok(code)
}

fn print_human(r: &BlueGreenReport, code: i32) {
    let mode = match r.mode {
        Mode::Promote => "promote",
        Mode::Rollback => "rollback",
    };
    let outcome = serde_json::to_value(r.outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{mode}: {outcome} (exit {code}): {}", r.message);
    if r.outcome == Outcome::DryRun || (!r.plan.is_empty() && r.steps.is_empty()) {
        for (i, step) in r.plan.iter().enumerate() {
            let _ = writeln!(out, "  {}. {step}", i + 1);
        }
    }
    if let (Some(ip), Some(live)) = (r.reserved_ip, &r.live) {
        let standby = r
            .standby
            .as_ref()
            .map(|s| format!(", standby {} ({})", s.id, s.name))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  reserved IP {ip}: live {} ({}){standby}",
            live.id, live.name
        );
    }
    if !r.steps.is_empty() {
        let steps: Vec<String> = r
            .steps
            .iter()
            .map(|s| format!("{} {:.1}s", s.step.label(), s.duration.as_secs_f64()))
            .collect();
        let _ = writeln!(out, "  steps: {}", steps.join(", "));
    }
    if let Some(a) = &r.assign {
        let reported = a
            .api_reported
            .map(|d| format!(", {:.0}s as DigitalOcean reports it", d.as_secs_f64()))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  assign action {}: completed after {:.1}s{reported}",
            a.action_id,
            a.observed.as_secs_f64()
        );
    }
    if let Some(t) = r.time_to_new_answer {
        let _ = writeln!(
            out,
            "  the reserved IP answered from the new droplet {:.1}s after the assign was sent",
            t.as_secs_f64()
        );
    }
    let _ = writeln!(
        out,
        "  {} API calls, {:.1}s in all",
        r.api_calls,
        r.total.as_secs_f64()
    );
}

async fn status(g: &cli::Global, s: &cli::StatusArgs, sink: &StderrSink) -> Result<i32, Early> {
    let cfg = BlueGreenConfig {
        roles: roles(&s.pair)?,
        reserved_ip: s.pair.reserved_ip,
        health: health(&s.health)?,
        lock: None,
        ..BlueGreenConfig::default()
    };
    let client = client(g)?;
    let report = bluegreen::status(&client, &cfg, s.check_health, sink)
        .await
        .map_err(|(o, m)| Early(exit::for_outcome(o), m))?;
    // Whether the droplet holding the reserved IP answered; one that was not probed (the IP
    // on nobody, or on an untagged droplet) did not.
    let live_healthy = s.check_health.then(|| {
        report
            .ip_droplet
            .as_ref()
            .is_some_and(|d| report.health.iter().any(|h| h.id == d.id && h.healthy))
    });
    let code = exit::for_status(&report.state, live_healthy);
    match g.output {
        Output::Json => print_result_json(&report, code),
        Output::Human => {
            let mut out = std::io::stdout().lock();
            let show = |d: &bluegreen::DropletSummary| {
                format!(
                    "{} {} [{}] {} public {} private {}",
                    d.id,
                    d.name,
                    d.tags.join(","),
                    d.status,
                    d.public_ipv4
                        .map(|i| i.to_string())
                        .unwrap_or_else(|| "-".into()),
                    d.private_ipv4
                        .map(|i| i.to_string())
                        .unwrap_or_else(|| "-".into())
                )
            };
            let _ = writeln!(
                out,
                "reserved IP {}: {}",
                report.reserved_ip,
                report
                    .ip_droplet
                    .as_ref()
                    .map(show)
                    .unwrap_or_else(|| "unassigned".into())
            );
            for d in &report.live_tagged {
                let _ = writeln!(out, "  {}: {}", cfg.roles.live_tag, show(d));
            }
            for d in &report.standby_tagged {
                let _ = writeln!(out, "  {}: {}", cfg.roles.standby_tag, show(d));
            }
            for h in &report.health {
                let _ = writeln!(
                    out,
                    "  health of {}: {} ({} {})",
                    h.id,
                    if h.healthy { "healthy" } else { "UNHEALTHY" },
                    h.url,
                    h.detail
                );
            }
            let _ = writeln!(out, "state: {} (exit {code})", report.state);
            for d in &report.drift {
                let _ = writeln!(out, "  drift: {d}");
            }
            if code == exit::STATUS_UNHEALTHY
                && let Some(d) = &report.ip_droplet
            {
                let _ = writeln!(
                    out,
                    "  the live droplet {} ({}) does not answer its health check",
                    d.id, d.name
                );
            }
        }
    }
    // The exit code tells a pipeline or a monitor what status found: 0 only when the IP and
    // the tags agree (and, with --check-health, the live droplet answers).
    Ok(code)
}

async fn unlock(g: &cli::Global, u: &cli::UnlockArgs) -> Result<i32, Early> {
    if u.reserved_ip.is_some() == u.lb.is_some() {
        return Err(Early(
            exit::USAGE,
            "give exactly one of --reserved-ip or --lb".into(),
        ));
    }
    let client = client(g)?;
    let scope = match (&u.reserved_ip, &u.lb) {
        (Some(ip), _) => zdd_core::lock::scope_for_ip(*ip),
        (None, Some(lb)) => match zdd_core::rolling::LbRef::parse(lb) {
            zdd_core::rolling::LbRef::Id(id) => zdd_core::lock::scope_for_lb(&id),
            // The lock is scoped by id: look the name up.
            zdd_core::rolling::LbRef::Name(name) => {
                match client
                    .load_balancers()
                    .find_by_name(&name)
                    .await
                    .map_err(|e| Early(exit::API, e.chain()))?
                {
                    Some(found) => zdd_core::lock::scope_for_lb(&found.id),
                    None => {
                        return Err(Early(
                            exit::REFUSED,
                            format!("no load balancer is named `{name}`"),
                        ));
                    }
                }
            }
        },
        (None, None) => unreachable!("checked above"),
    };
    let removed = zdd_core::lock::break_all(&client, &scope)
        .await
        .map_err(|e| Early(exit::API, e.chain()))?;
    match g.output {
        Output::Json => print_json(&serde_json::json!({"scope": scope, "removed": removed})),
        Output::Human => {
            let mut out = std::io::stdout().lock();
            if removed.is_empty() {
                let _ = writeln!(out, "no deploy lock held for {scope}");
            }
            for l in &removed {
                let _ = writeln!(out, "removed deploy lock {}", l.tag);
            }
        }
    }
    Ok(exit::OK)
}
