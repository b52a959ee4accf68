//! `zdd-do demo`: the simulator in-process with a blue-green pair behind a reserved IP and three
//! droplets behind a load balancer; steady traffic through both; a promote, a rollback and a
//! rolling deploy; then a report a person reads at a glance (and `--output json` for machines),
//! with the benchmark figures: each deploy against its lower bound, the rolling deploy against
//! the fixed `sleep 30` + `sleep 40` approach, API calls, and requests sent and failed.

use std::time::Duration;

use do_sim::bench::{self, Figure, Target};
use do_sim::traffic::{Load, LoadConfig};
use do_sim::{DropletSpec, LbSpec, ReservedIpSpec, Sim, SimConfig};
use zdd_core::bluegreen::{self, BlueGreenConfig, Mode, Outcome as BgOutcome};
use zdd_core::events::EventSink;
use zdd_core::health::{HealthPolicy, HealthTarget};
use zdd_core::hook::{DropletHook, HookTarget};
use zdd_core::lock::LockSettings;
use zdd_core::rolling::{self, LbRef, Outcome as RollOutcome, RollingConfig};

use super::Early;
use crate::cli::{self, Output};
use crate::exit;
use crate::render::demo::{
    DemoReport, DeployFigures, ScriptRun, Traffic, WaitSummary, print_human,
};
use crate::render::json::print_json;

/// DigitalOcean-time constants of the scenario (scaled by `--time-scale`).
const ACTION_LATENCY: Duration = Duration::from_secs(2);
const BOOT_TIME: Duration = Duration::from_secs(3);
/// Probes in a row the demo's health checks require, and their interval.
const SUCCESSES: u32 = 3;
const PROBE_INTERVAL: Duration = Duration::from_millis(100);
/// A blue-green switch is held to 1.10 × its lower bound, plus half a second of API round
/// trips; a roll, whose waits dominate, to 1.15 ×.
const BLUE_GREEN_TARGET: Target = Target {
    factor: 1.10,
    slack_s: 0.5,
};
const ROLL_TARGET: Target = Target {
    factor: 1.15,
    slack_s: 0.0,
};

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

/// Until each load has had its number of successful answers, or 10 s (the report then shows
/// why).
async fn answered(targets: &[(&Load, u64)]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while targets.iter().any(|(l, n)| l.report().ok < *n) && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Run `zdd-do demo`; returns the exit code.
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
    let lb_check = bench::do_default_health_check();
    let cfg = SimConfig::new()
        .droplet(DropletSpec::new("blue").tag("PROD"))
        .droplet(DropletSpec::new("green").tag("FALLBACK"))
        .reserved_ip(ReservedIpSpec::held_by("blue"))
        .droplet(DropletSpec::new("web-1").tag("web"))
        .droplet(DropletSpec::new("web-2").tag("web"))
        .droplet(DropletSpec::new("web-3").tag("web"))
        .load_balancer(LbSpec::tagged("web-lb", "web").health_check(lb_check.clone()))
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
        target: HealthTarget {
            port: Some(port),
            path: Some("/health".into()),
            ..HealthTarget::default()
        },
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
        bench::blue_green_lower_bound(
            with_boot.then_some(boot),
            SUCCESSES,
            PROBE_INTERVAL,
            latency,
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
    deploys.push(figures(
        "promote v2 (blue-green)",
        &r.outcome.to_string(),
        &r.message,
        r.total,
        bg_lower(true),
        BLUE_GREEN_TARGET,
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
    deploys.push(figures(
        "rollback to v1",
        &r.outcome.to_string(),
        &r.message,
        r.total,
        bg_lower(false),
        BLUE_GREEN_TARGET,
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
    let n = r.droplets.len() as u32;
    // The load balancer's health check, as the scenario set it up.
    let hc = lb_check;
    let mut roll = figures(
        "roll v2 (3 droplets, load balancer)",
        &r.outcome.to_string(),
        &r.message,
        r.total,
        bench::rolling_floor(
            n,
            boot,
            sim.scaled(Duration::from_secs(u64::from(hc.check_interval_seconds))),
            hc.healthy_threshold,
        ),
        ROLL_TARGET,
        r.api_calls,
        &r.steps,
    );
    roll.waits = Some(WaitSummary::of(&r));
    deploys.push(roll);
    let lb_failed_after_roll = lb_load.report().failed;

    // 4. The script pipelines run today, on the same fleet, v2 -> v3: untag, sleep 30, deploy,
    // sleep 40, tag; measured, not computed.
    let ids: Vec<do_api::DropletId> = r.droplets.iter().map(|d| d.droplet.id).collect();
    let script = bench::fixed_sleep_script(
        &sim,
        &client,
        lb.tag.as_deref().unwrap_or("web"),
        &ids,
        "v3",
        (
            sim.scaled(Duration::from_secs(30)),
            sim.scaled(Duration::from_secs(40)),
        ),
    )
    .await;
    let script_failed = lb_load.report().failed - lb_failed_after_roll;
    let fixed = match script {
        Ok(wall) => ScriptRun {
            what: "untag, sleep 30, deploy, sleep 40, tag; each droplet in turn (v2 -> v3)".into(),
            wall,
            failed_requests: script_failed,
            error: None,
        },
        Err(e) => ScriptRun {
            what: "untag, sleep 30, deploy, sleep 40, tag; each droplet in turn (v2 -> v3)".into(),
            wall: Duration::ZERO,
            failed_requests: script_failed,
            error: Some(e),
        },
    };

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
        t.timeline = bench::timeline(&t.report);
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
        fixed_sleep_script: fixed,
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

/// One deploy's figures against its lower bound and target.
#[allow(clippy::too_many_arguments)]
fn figures(
    what: &str,
    outcome: &str,
    message: &str,
    wall: Duration,
    lower_bound: Figure,
    target: Target,
    api_calls: u64,
    steps: &[zdd_core::report::StepTiming],
) -> DeployFigures {
    DeployFigures {
        what: what.into(),
        outcome: outcome.to_lowercase(),
        message: message.into(),
        wall,
        ratio: bench::ratio(wall, lower_bound.duration),
        target: target.describe(),
        within_target: target.met(wall, lower_bound.duration),
        lower_bound: lower_bound.duration,
        lower_bound_formula: lower_bound.formula,
        api_calls,
        waits: None,
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
