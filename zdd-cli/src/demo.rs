//! `zdd-do demo`: the simulator in-process with a blue-green pair behind a reserved IP and three
//! droplets behind a load balancer; steady traffic through both; a promote, a rollback and a
//! rolling deploy; then a report a person reads at a glance (and `--output json` for machines),
//! with the benchmark figures: each deploy against its lower bound, the rolling deploy against
//! the fixed `sleep 30` + `sleep 40` approach, API calls, and requests sent and failed.

use std::io::Write;
use std::time::Duration;

use do_api::load_balancers::HealthCheck;
use do_sim::traffic::{Load, LoadConfig, LoadReport};
use do_sim::{DropletSpec, LbSpec, ReservedIpSpec, Sim, SimConfig};
use serde::Serialize;
use zdd_core::bluegreen::{self, BlueGreenConfig, Mode, Outcome as BgOutcome};
use zdd_core::events::EventSink;
use zdd_core::health::HealthPolicy;
use zdd_core::hook::{DropletHook, HookTarget};
use zdd_core::lock::LockSettings;
use zdd_core::rolling::{self, LbRef, Outcome as RollOutcome, RollingConfig};

use super::{Early, print_json};
use crate::cli::{self, Output};
use crate::exit;

/// DigitalOcean's default load-balancer health check (`resources/load_balancers/models/
/// health_check.yml`: every 10 s, 5 s timeout, unhealthy after 5, healthy after 3), so the fixed
/// `sleep 30` + `sleep 40` per droplet that pipelines use today is compared on its own ground.
fn do_default_health_check() -> HealthCheck {
    HealthCheck::http(80, "/health")
        .check_interval_seconds(10)
        .response_timeout_seconds(5)
        .unhealthy_threshold(5)
        .healthy_threshold(3)
}

/// DigitalOcean-time constants of the scenario (scaled by `--time-scale`).
const ACTION_LATENCY: Duration = Duration::from_secs(2);
const BOOT_TIME: Duration = Duration::from_secs(3);
/// Today's pipelines: `sleep 30` after taking a droplet out, `sleep 40` after putting it back.
const FIXED_SLEEPS: Duration = Duration::from_secs(30 + 40);
/// Probes in a row the demo's health checks require, and their interval.
const SUCCESSES: u32 = 3;
const PROBE_INTERVAL: Duration = Duration::from_millis(100);

/// Deploys through the simulator's control interface: the in-process twin of
/// `--exec 'zdd-do sim deploy'`.
struct SimDeploy<'a> {
    sim: &'a Sim,
    version: String,
}

impl DropletHook for SimDeploy<'_> {
    async fn run(&self, target: &HookTarget) -> Result<(), String> {
        self.sim
            .deploy(target.id, &self.version)
            .map_err(|e| e.to_string())
    }
}

/// One deploy's figures.
#[derive(Debug, Serialize)]
struct DeployFigures {
    what: String,
    outcome: String,
    message: String,
    #[serde(with = "zdd_core::report::secs")]
    wall: Duration,
    #[serde(with = "zdd_core::report::secs")]
    lower_bound: Duration,
    lower_bound_formula: String,
    ratio: f64,
    target: String,
    within_target: bool,
    api_calls: u64,
    steps: Vec<(String, f64)>,
}

/// What one entry point saw.
#[derive(Debug, Serialize)]
struct Traffic {
    entry: String,
    url: String,
    report: LoadReport,
    /// One character per second: the versions that answered (`1`, `2`, `+` both), `x` failures.
    timeline: String,
}

#[derive(Debug, Serialize)]
struct DemoReport {
    ok: bool,
    time_scale: f64,
    #[serde(with = "zdd_core::report::secs")]
    total: Duration,
    deploys: Vec<DeployFigures>,
    /// The rolling deploy with fixed sleeps instead, on the same settings.
    #[serde(with = "zdd_core::report::secs")]
    fixed_sleep_roll: Duration,
    fixed_sleep_formula: String,
    traffic: Vec<Traffic>,
    sim_api_calls: u64,
}

fn timeline(r: &LoadReport) -> String {
    r.buckets
        .iter()
        .map(|b| {
            if b.failed > 0 {
                'x'
            } else {
                match (b.versions.contains_key("v1"), b.versions.contains_key("v2")) {
                    (true, false) => '1',
                    (false, true) => '2',
                    (true, true) => '+',
                    _ => '.',
                }
            }
        })
        .collect()
}

/// Until each load has had its number of successful answers, or 10 s (the report then shows
/// why).
async fn answered(targets: &[(&Load, u64)]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while targets.iter().any(|(l, n)| l.report().ok < *n) && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn gate_min(successes: u32) -> Duration {
    PROBE_INTERVAL * successes.saturating_sub(1)
}

pub(super) async fn run(
    g: &cli::Global,
    d: &cli::DemoArgs,
    sink: &dyn EventSink,
) -> Result<i32, Early> {
    let usage = |m: String| Early(exit::USAGE, m);
    if !(d.time_scale.is_finite() && d.time_scale > 0.0 && d.time_scale <= 1.0) {
        return Err(usage(format!(
            "--time-scale {} must be in (0, 1]",
            d.time_scale
        )));
    }
    if !(d.rate.is_finite() && (1.0..=5000.0).contains(&d.rate)) {
        return Err(usage(format!(
            "--rate {} must be between 1 and 5000 requests per second",
            d.rate
        )));
    }
    let started = tokio::time::Instant::now();
    let cfg = SimConfig::new()
        .droplet(DropletSpec::new("blue").tag("PROD"))
        .droplet(DropletSpec::new("green").tag("FALLBACK"))
        .reserved_ip(ReservedIpSpec::held_by("blue"))
        .droplet(DropletSpec::new("web-1").tag("web"))
        .droplet(DropletSpec::new("web-2").tag("web"))
        .droplet(DropletSpec::new("web-3").tag("web"))
        .load_balancer(LbSpec::tagged("web-lb", "web").health_check(do_default_health_check()))
        .action_latency(ACTION_LATENCY)
        .boot_time(BOOT_TIME)
        .time_scale(d.time_scale);
    let sim = Sim::start(cfg)
        .await
        .map_err(|e| usage(format!("the simulator could not start: {e}")))?;
    let client = sim.client();
    let rip = sim
        .reserved_ips()
        .first()
        .map(|r| r.ip)
        .expect("scenario has a reserved IP");
    let lb = sim
        .load_balancers()
        .first()
        .cloned()
        .expect("scenario has a load balancer");
    let port = sim.app_port();
    let boot = sim.scaled(BOOT_TIME);
    let latency = sim.scaled(ACTION_LATENCY);

    // Steady traffic through both entry points for the whole demo (stopped at the end).
    let load = |url: String| {
        Load::start(
            LoadConfig::new(url)
                .rate(d.rate)
                .concurrency(32)
                .duration(Duration::from_secs(600))
                .timeout(Duration::from_secs(2))
                .bucket(Duration::from_secs(1)),
        )
    };
    let rip_url = sim.url_of(rip);
    let lb_url = lb.url.clone();
    let rip_load = load(rip_url.clone());
    let lb_load = load(lb_url.clone());
    // Deploy once both entry points have answered a quarter second's worth of requests.
    let warm = (d.rate / 4.0).ceil() as u64;
    answered(&[(&rip_load, warm), (&lb_load, warm)]).await;

    // The lock's settle must outlast the API's create-to-list latency: milliseconds here, so it
    // is scaled like DigitalOcean's other times.
    let lock = LockSettings {
        settle: sim.scaled(LockSettings::default().settle),
        ..LockSettings::default()
    };
    let check = |version: Option<&str>| HealthPolicy {
        port: Some(port),
        path: "/health".into(),
        expect_body: version.map(|v| format!("\"version\":\"{v}\"")),
        successes: SUCCESSES,
        interval: PROBE_INTERVAL,
        request_timeout: Duration::from_secs(1),
        deadline: Duration::from_secs(30),
        ..HealthPolicy::default()
    };
    let bg = |version: Option<&str>| BlueGreenConfig {
        reserved_ip: Some(rip),
        health: check(version),
        assign_wait: do_api::WaitOptions::with_timeout(Duration::from_secs(30))
            .interval(Duration::from_millis(100), Duration::from_millis(500)),
        version: version.map(str::to_owned),
        lock: Some(lock.clone()),
        ..BlueGreenConfig::default()
    };
    let mut deploys = Vec::new();
    let mut ok = true;
    let never = std::future::pending::<()>;
    let bg_lower = |with_boot: bool| {
        let b = if with_boot { boot } else { Duration::ZERO };
        (
            b + gate_min(SUCCESSES) + latency + gate_min(SUCCESSES),
            format!(
                "{}gate {} probes {}ms apart + assign latency {:.1}s + the same probes through the IP",
                if with_boot {
                    format!("boot {:.1}s + ", b.as_secs_f64())
                } else {
                    String::new()
                },
                SUCCESSES,
                PROBE_INTERVAL.as_millis(),
                latency.as_secs_f64()
            ),
        )
    };

    // 1. Promote v2 onto the standby.
    let hook = SimDeploy {
        sim: &sim,
        version: "v2".into(),
    };
    let r = bluegreen::run(
        &client,
        &bg(Some("v2")),
        Mode::Promote,
        Some(&hook),
        sink,
        never(),
    )
    .await;
    ok &= r.outcome == BgOutcome::Switched;
    let (lb_promote, formula) = bg_lower(true);
    deploys.push(figures(
        "promote v2 (blue-green)",
        &format!("{:?}", r.outcome),
        &r.message,
        r.total,
        lb_promote,
        formula,
        1.10,
        0.5,
        r.api_calls,
        &r.steps,
    ));

    // 2. Roll back to v1.
    let r = bluegreen::run(
        &client,
        &bg(Some("v1")),
        Mode::Rollback,
        None::<&SimDeploy>,
        sink,
        never(),
    )
    .await;
    ok &= r.outcome == BgOutcome::Switched;
    let (lb_rollback, formula) = bg_lower(false);
    deploys.push(figures(
        "rollback to v1",
        &format!("{:?}", r.outcome),
        &r.message,
        r.total,
        lb_rollback,
        formula,
        1.10,
        0.5,
        r.api_calls,
        &r.steps,
    ));

    // 3. Rolling deploy of v2 behind the load balancer.
    let hook = SimDeploy {
        sim: &sim,
        version: "v2".into(),
    };
    let roll_cfg = RollingConfig {
        health: check(Some("v2")),
        version: Some("v2".into()),
        wait_scale: d.time_scale,
        lock: Some(lock.clone()),
        ..RollingConfig::new(LbRef::Id(lb.id.clone()))
    };
    let r = rolling::run(
        &client,
        &roll_cfg,
        Some(&hook),
        None::<&SimDeploy>,
        sink,
        never(),
    )
    .await;
    ok &= r.outcome == RollOutcome::Rolled;
    let waits: Duration = r
        .batches
        .iter()
        .flat_map(|b| b.waits.iter())
        .map(|w| w.applied)
        .sum();
    let n = r.droplets.len() as u32;
    let roll_lower = waits + (boot + gate_min(SUCCESSES)) * n;
    let formula = format!(
        "waits computed from the load balancer's settings {:.1}s + {n} × (boot {:.1}s + gate {} probes {}ms apart)",
        waits.as_secs_f64(),
        boot.as_secs_f64(),
        SUCCESSES,
        PROBE_INTERVAL.as_millis()
    );
    deploys.push(figures(
        "roll v2 (3 droplets, load balancer)",
        &format!("{:?}", r.outcome),
        &r.message,
        r.total,
        roll_lower,
        formula,
        1.15,
        0.0,
        r.api_calls,
        &r.steps,
    ));
    let fixed = (sim.scaled(FIXED_SLEEPS) + boot) * n;
    let fixed_formula = format!(
        "{n} × (sleep 30 s + sleep 40 s, scaled ×{} = {:.1}s, + boot {:.1}s)",
        d.time_scale,
        sim.scaled(FIXED_SLEEPS).as_secs_f64(),
        boot.as_secs_f64()
    );

    // A little traffic after the last deploy, so the report shows what answers now.
    let (rip_after, lb_after) = (rip_load.report().ok + warm, lb_load.report().ok + warm);
    answered(&[(&rip_load, rip_after), (&lb_load, lb_after)]).await;
    rip_load.stop();
    lb_load.stop();
    let traffic = vec![
        Traffic {
            entry: "reserved IP".into(),
            url: rip_url,
            timeline: String::new(),
            report: rip_load.finish().await,
        },
        Traffic {
            entry: "load balancer".into(),
            url: lb_url,
            timeline: String::new(),
            report: lb_load.finish().await,
        },
    ]
    .into_iter()
    .map(|mut t| {
        t.timeline = timeline(&t.report);
        t
    })
    .collect::<Vec<_>>();
    ok &= traffic
        .iter()
        .all(|t| t.report.failed == 0 && t.report.sent > 0);
    let report = DemoReport {
        ok,
        time_scale: d.time_scale,
        total: started.elapsed(),
        deploys,
        fixed_sleep_roll: fixed,
        fixed_sleep_formula: fixed_formula,
        traffic,
        sim_api_calls: sim.stats().api_calls.values().sum(),
    };
    sim.shutdown().await;
    match g.output {
        Output::Json => print_json(&report),
        Output::Human => print_human(&report),
    }
    Ok(if ok { exit::OK } else { exit::DEMO_FAILED })
}

#[allow(clippy::too_many_arguments)]
fn figures(
    what: &str,
    outcome: &str,
    message: &str,
    wall: Duration,
    lower_bound: Duration,
    formula: String,
    factor: f64,
    slack_s: f64,
    api_calls: u64,
    steps: &[zdd_core::report::StepTiming],
) -> DeployFigures {
    let ratio = if lower_bound.is_zero() {
        0.0
    } else {
        wall.as_secs_f64() / lower_bound.as_secs_f64()
    };
    DeployFigures {
        what: what.into(),
        outcome: outcome.to_lowercase(),
        message: message.into(),
        wall,
        lower_bound,
        lower_bound_formula: formula,
        ratio,
        target: if slack_s > 0.0 {
            format!("≤ {factor:.2}× + {slack_s}s")
        } else {
            format!("≤ {factor:.2}×")
        },
        within_target: wall.as_secs_f64() <= lower_bound.as_secs_f64() * factor + slack_s,
        api_calls,
        steps: steps
            .iter()
            .map(|s| {
                (
                    s.step.label().to_owned(),
                    (s.duration.as_secs_f64() * 1000.0).round() / 1000.0,
                )
            })
            .collect(),
    }
}

fn print_human(r: &DemoReport) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "zdd-do demo: {} in {:.1}s (DigitalOcean times scaled ×{})",
        if r.ok {
            "every deploy succeeded and no request failed"
        } else {
            "SOMETHING FAILED (see below)"
        },
        r.total.as_secs_f64(),
        r.time_scale
    );
    let _ = writeln!(out, "\ntraffic");
    for t in &r.traffic {
        let rep = &t.report;
        let _ = writeln!(
            out,
            "  {:<14} {:>6} sent  {:>3} failed  {:>6.1} req/s  p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms",
            t.entry,
            rep.sent,
            rep.failed,
            rep.rate(),
            rep.p50_ms,
            rep.p95_ms,
            rep.p99_ms
        );
        let _ = writeln!(
            out,
            "  {:<14} versions over time (1 s each): {}",
            "", t.timeline
        );
    }
    let _ = writeln!(
        out,
        "  legend: 1 = v1 answered, 2 = v2, + = both, x = a request failed"
    );
    let _ = writeln!(out, "\ndeploys");
    for d in &r.deploys {
        let _ = writeln!(
            out,
            "  {:<36} {:<9} {:>5.1}s  lower bound {:>5.1}s  ratio {:.2} (target {}{})  {} API calls",
            d.what,
            d.outcome,
            d.wall.as_secs_f64(),
            d.lower_bound.as_secs_f64(),
            d.ratio,
            d.target,
            if d.within_target { ", met" } else { ", MISSED" },
            d.api_calls
        );
        // Repeated steps (one per droplet in a roll) are summed: `drain ×6 4.5s`.
        let mut totals: Vec<(&str, usize, f64)> = Vec::new();
        for (name, t) in &d.steps {
            match totals.iter_mut().find(|(n, _, _)| n == name) {
                Some(e) => {
                    e.1 += 1;
                    e.2 += t;
                }
                None => totals.push((name, 1, *t)),
            }
        }
        let steps: Vec<String> = totals
            .iter()
            .map(|(s, n, t)| {
                if *n > 1 {
                    format!("{s} ×{n} {t:.1}s")
                } else {
                    format!("{s} {t:.1}s")
                }
            })
            .collect();
        let _ = writeln!(out, "    steps: {}", steps.join(", "));
        let _ = writeln!(out, "    lower bound: {}", d.lower_bound_formula);
    }
    if let Some(roll) = r.deploys.last() {
        let _ = writeln!(
            out,
            "\nthe same rolling deploy with fixed sleeps: {:.1}s ({}); zdd-do took {:.1}s and checked health instead of hoping",
            r.fixed_sleep_roll.as_secs_f64(),
            r.fixed_sleep_formula,
            roll.wall.as_secs_f64()
        );
    }
    let _ = writeln!(
        out,
        "simulated DigitalOcean API calls in all: {}",
        r.sim_api_calls
    );
    let _ = writeln!(
        out,
        "\nrehearse your own pipeline against the simulator: zdd-do sim"
    );
}
