//! Running a parsed command: dispatch to one module per command, and the context they share:
//! the token and the API client, the health, pair and lock flags turned into core settings,
//! the interrupt signal, and [`Early`], a failure before anything ran, with its exit code.
//! What a command shows is in [`crate::render`].

use do_api::{Client, Token};
use zdd_core::ApiCause;
use zdd_core::bluegreen::{LockSettings, RoleField, Roles};
use zdd_core::health::{AddressKind, HealthField, HealthPolicy, HealthTarget, Scheme};

use crate::cli::{self, Cli, Command, Output};
use crate::exit;
use crate::render::{StderrSink, Style};

mod canary;
#[cfg(feature = "sim")]
mod demo;
mod doctor;
mod promote;
mod replace;
mod roll;
mod rollback;
#[cfg(feature = "sim")]
mod sim;
mod status;
mod switch;
mod unlock;

/// A failure before anything ran: a one-line message and an exit code.
struct Early(i32, String);

/// Run the parsed command; returns the exit code.
pub async fn run(args: Cli) -> i32 {
    let style = style(args.global.events);
    let sink = StderrSink::new(style);
    let output = args.global.output;
    let result = match &args.command {
        Command::Promote(p) => promote::run(&args.global, p, &sink).await,
        Command::Rollback(r) => rollback::run(&args.global, r, &sink).await,
        Command::Status(s) => status::run(&args.global, s, &sink).await,
        Command::Doctor(d) => doctor::run(&args.global, d).await,
        Command::Unlock(u) => unlock::run(&args.global, u).await,
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "zdd-do", &mut std::io::stdout());
            Ok(exit::OK)
        }
        Command::Man => {
            let man = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command());
            match man.render(&mut std::io::stdout()) {
                Ok(()) => Ok(exit::OK),
                Err(e) => Err(Early(
                    exit::USAGE,
                    format!("could not write the manual page: {e}"),
                )),
            }
        }
        #[cfg(feature = "sim")]
        Command::Sim(s) => sim::run(&args.global, s).await,
        #[cfg(feature = "sim")]
        Command::Demo(d) => demo::run(&args.global, d, &sink).await,
        Command::Roll(r) => roll::run(&args.global, r, &sink).await,
        Command::Replace(r) => replace::run(&args.global, r, &sink).await,
    };
    match result {
        Ok(code) => code,
        Err(Early(code, message)) => {
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
        crate::render::json::print_json(
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

/// Where this run's token came from, for the message when DigitalOcean refuses it.
static TOKEN_SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// A message about a failed API call, with what to check when DigitalOcean refused the token
/// (401) or found it lacking a scope (403): the variable or file it came from; and how to trust
/// the API's CA when its certificate was refused.
pub fn with_token_hint(message: String, cause: Option<ApiCause>) -> String {
    match (TOKEN_SOURCE.get(), cause) {
        (Some(source), Some(ApiCause::Unauthorized)) => format!(
            "{message}. DigitalOcean refused the token from {source}: check that it is current, not revoked, and of this team"
        ),
        (Some(source), Some(ApiCause::Forbidden)) => format!(
            "{message}. The token from {source} is not allowed to do this: give it read and write access to droplets, tags, load balancers, reserved IPs and actions"
        ),
        (_, Some(ApiCause::Certificate)) => format!(
            "{message}. The API's certificate is not signed by a CA this machine trusts: give that CA's PEM file with --api-ca-file (or ZDD_API_CA_FILE)"
        ),
        _ => message,
    }
}

impl Early {
    /// A core error before or instead of a report: its exit code, and the token hint.
    fn core(e: zdd_core::Error) -> Early {
        Early(
            exit::for_outcome(e.outcome),
            with_token_hint(e.message, e.api_cause),
        )
    }

    /// A failed API call the CLI made through core (unlock).
    fn api(e: &do_api::Error) -> Early {
        Early(
            exit::API,
            with_token_hint(e.chain(), Some(zdd_core::ApiCause::of(e))),
        )
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
    let mut b = Client::builder()
        .token(token(g)?)
        .base_url(g.api_url.clone())
        .timeout(g.api_timeout)
        .user_agent(concat!("zdd-do/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = api_ca(g)? {
        b = b.root_certificates_pem(pem);
    }
    b.build().map_err(|e| Early(exit::USAGE, e.to_string()))
}

/// The PEM text of `--api-ca-file`, if given.
fn api_ca(g: &cli::Global) -> Result<Option<String>, Early> {
    let Some(p) = &g.api_ca_file else {
        return Ok(None);
    };
    let bad = |why: String| {
        Early(
            exit::USAGE,
            format!(
                "--api-ca-file {}: {why}; give the PEM file of the CA to trust",
                p.display()
            ),
        )
    };
    let text = std::fs::read_to_string(p).map_err(|e| bad(format!("cannot read it ({e})")))?;
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(bad(
            "no certificate in it (no BEGIN CERTIFICATE line)".into()
        ));
    }
    Ok(Some(text))
}

/// Where to probe; what is `None` comes from the load balancer (roll) or the defaults.
fn health_target(
    scheme: Option<cli::Scheme>,
    port: Option<u16>,
    path: Option<&str>,
    p: &cli::Probe,
) -> HealthTarget {
    HealthTarget {
        scheme: scheme.map(|s| match s {
            cli::Scheme::Https => Scheme::Https,
            cli::Scheme::Http => Scheme::Http,
        }),
        port,
        path: path.map(str::to_owned),
        address: match p.health_address {
            cli::Address::Public => AddressKind::Public,
            cli::Address::Private => AddressKind::Private,
        },
    }
}

/// How to judge a probe (the flags every health-checking command shares), checked by core and
/// refused in flag names.
fn health_policy(p: &cli::Probe) -> Result<HealthPolicy, String> {
    let policy = HealthPolicy {
        status_min: p.health_status.0,
        status_max: p.health_status.1,
        expect_body: p.expect_body.clone(),
        request_timeout: p.health_timeout,
        successes: p.health_successes,
        interval: p.health_interval,
        deadline: p.health_deadline,
        insecure_tls: p.health_insecure,
    };
    policy.check().map_err(|e| {
        let flags: Vec<&str> = e.fields.iter().map(|f| health_flag(*f)).collect();
        format!("{}: {}", flags.join(", "), e.message)
    })?;
    Ok(policy)
}

/// The flag that sets a health check setting.
pub(super) fn health_flag(f: HealthField) -> &'static str {
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

/// The blue-green health flags: where (every part given or defaulted by clap) and how.
fn health(h: &cli::Health) -> Result<(HealthTarget, HealthPolicy), Early> {
    let target = health_target(
        Some(h.health_scheme),
        h.health_port,
        Some(&h.health_path),
        &h.probe,
    );
    let policy = health_policy(&h.probe).map_err(|m| Early(exit::USAGE, m))?;
    Ok((target, policy))
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
    Roles::new(&p.live_tag, &p.standby_tag).map_err(|e| {
        let flags: Vec<&str> = e
            .fields
            .iter()
            .map(|f| match f {
                RoleField::LiveTag => "--live-tag",
                RoleField::StandbyTag => "--standby-tag",
            })
            .collect();
        Early(exit::USAGE, format!("{}: {}", flags.join(", "), e.message))
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
