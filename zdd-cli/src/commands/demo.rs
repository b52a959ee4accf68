//! `zdd-do demo`: the simulator in-process with a blue-green pair behind a reserved IP, a
//! blue-green pair behind a load balancer and three droplets behind another; steady traffic
//! from three client kinds through each entry point; a promote and a rollback through the
//! reserved IP (with the pre-switch hook), the same through the load balancer, a rolling
//! deploy, and a replace of the fleet from a snapshot with the rollback after it; then a report a person reads at a glance (and `--output json` for machines): each
//! client kind's failed requests against its floor (through a reserved IP, the blackout term
//! plus the requests in flight, DigitalOcean's cost of a move; through a load balancer, 0),
//! each deploy against its lower bound, the rolling deploy against the fixed `sleep 30` +
//! `sleep 40` approach, and API calls.

use std::time::Duration;

use do_sim::bench::{self, Figure, MoveCost, Target};
use do_sim::traffic::{ClientKind, LoadConfig, Traffic};
use do_sim::{DropletSpec, IpMoves, LbSpec, ReservedIpSpec, Sim, SimConfig};
use zdd_core::bluegreen::{
    self, BlueGreenConfig, LbSettings, Mode, Outcome as BgOutcome, PreSwitch, Roles,
};
use zdd_core::events::EventSink;
use zdd_core::health::{HealthPolicy, HealthTarget};
use zdd_core::hook::{DropletHook, HookTarget};
use zdd_core::lock::LockSettings;
use zdd_core::rolling::{self, LbRef, Outcome as RollOutcome, RollingConfig};

use super::Early;
use crate::cli::{self, Output};
use crate::exit;
use crate::render::demo::{
    DemoReport, DeployFigures, EntryTraffic, KindFigures, ScriptRun, WaitSummary, print_human,
};
use crate::render::json::print_json;

/// DigitalOcean-time constants of the scenario (scaled by `--time-scale`).
const ACTION_LATENCY: Duration = Duration::from_secs(2);
const BOOT_TIME: Duration = Duration::from_secs(3);
/// A created droplet is active this long after its create.
const CREATE_LATENCY: Duration = Duration::from_secs(30);
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

/// Successful answers so far, all client kinds.
fn ok_of(t: &Traffic) -> u64 {
    t.report().combined().ok
}

/// Until each entry point has had its number of successful answers, or 10 s (the report then
/// shows why).
async fn answered(targets: &[(&Traffic, u64)]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while targets.iter().any(|(l, n)| ok_of(l) < *n) && tokio::time::Instant::now() < deadline {
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
        .droplet(DropletSpec::new("app-blue").tag("APP-LIVE"))
        .droplet(DropletSpec::new("app-green").tag("APP-STANDBY"))
        .load_balancer(LbSpec::droplets("app-lb", ["app-blue"]).health_check(lb_check.clone()))
        .droplet(DropletSpec::new("web-1").tag("web"))
        .droplet(DropletSpec::new("web-2").tag("web"))
        .droplet(DropletSpec::new("web-3").tag("web"))
        .load_balancer(LbSpec::tagged("web-lb", "web").health_check(lb_check.clone()))
        // The release a replace deploys: a snapshot with v4 baked in.
        .image(do_sim::ImageSpec::snapshot("app-v4", "v4"))
        .create_latency(CREATE_LATENCY)
        .action_latency(ACTION_LATENCY)
        .boot_time(BOOT_TIME)
        .ip_moves(IpMoves::harsh(d.ip_blackout))
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
        .load_balancer("web-lb")
        .expect("scenario has the fleet's load balancer");
    let app_lb = sim
        .load_balancer("app-lb")
        .expect("scenario has the pair's load balancer");
    let blackout = sim.config().ip_moves.blackout;
    let port = sim.app_port();
    let boot = sim.scaled(BOOT_TIME);
    let latency = sim.scaled(ACTION_LATENCY);

    // Steady traffic from the three client kinds through each entry point for the whole demo
    // (stopped at the end).
    let load = |url: String| {
        Traffic::start(
            LoadConfig::new(url)
                .rate(d.rate)
                .concurrency(48)
                .duration(Duration::from_secs(600))
                .timeout(Duration::from_secs(2))
                .bucket(Duration::from_secs(1)),
        )
    };
    let rip_url = sim.url_of(rip);
    let lb_url = lb.url.clone();
    let app_url = app_lb.url.clone();
    let rip_load = load(rip_url.clone());
    let lb_load = load(lb_url.clone());
    let app_load = load(app_url.clone());
    // Deploy once every entry point has answered a quarter second's worth of requests.
    let warm = (d.rate / 4.0).ceil() as u64;
    answered(&[(&rip_load, warm), (&lb_load, warm), (&app_load, warm)]).await;

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
    let target = HealthTarget {
        port: Some(port),
        path: Some("/health".into()),
        ..HealthTarget::default()
    };
    let bg = |version: Option<&str>| BlueGreenConfig {
        reserved_ip: Some(rip),
        health: check(version),
        target: target.clone(),
        assign_wait: do_api::WaitOptions::with_timeout(Duration::from_secs(30))
            .interval(Duration::from_millis(100), Duration::from_millis(500)),
        // The simulated apps' pre-switch URL: keep-alive off, idle connections closed.
        pre_switch: (!d.without_pre_switch).then(|| PreSwitch::new("/connection-close")),
        version: version.map(str::to_owned),
        lock: Some(lock.clone()),
        ..BlueGreenConfig::default()
    };
    let lb_bg = |version: Option<&str>| BlueGreenConfig {
        roles: Roles::new("APP-LIVE", "APP-STANDBY").expect("valid tags"),
        load_balancer: Some(LbSettings {
            wait_scale: d.time_scale,
            ..LbSettings::new(LbRef::Id(app_lb.id.clone()))
        }),
        health: check(version),
        target: target.clone(),
        version: version.map(str::to_owned),
        lock: Some(lock.clone()),
        ..BlueGreenConfig::default()
    };
    // Through a load balancer, the in-flight allowance after the live droplet stops receiving
    // requests is zdd-do's (a setting, not physics): the target allows it on top.
    let lb_target = Target {
        slack_s: BLUE_GREEN_TARGET.slack_s
            + LbSettings::new(LbRef::Id(app_lb.id.clone()))
                .drain_wait
                .as_secs_f64()
                * d.time_scale,
        ..BLUE_GREEN_TARGET
    };
    // The load balancer's health check, as the scenario set it up.
    let hc = lb_check;
    let detection = |with_boot: bool| {
        bench::rolling_floor(
            1,
            if with_boot { boot } else { Duration::ZERO },
            sim.scaled(Duration::from_secs(u64::from(hc.check_interval_seconds))),
            hc.healthy_threshold,
        )
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
            blackout,
        )
    };

    // 1-2. Promote v2 onto the standby through the reserved IP, and roll back to v1; 3-4. the
    // same through the pair's load balancer, where no IP moves. Promote runs the update.
    let hook = SimDeploy {
        sim: &sim,
        version: "v2".into(),
    };
    let switches = [
        (
            "promote v2 (blue-green)",
            bg(Some("v2")),
            Mode::Promote,
            bg_lower(true),
            BLUE_GREEN_TARGET,
        ),
        (
            "rollback to v1",
            bg(Some("v1")),
            Mode::Rollback,
            bg_lower(false),
            BLUE_GREEN_TARGET,
        ),
        (
            "promote v2 (blue-green, load balancer)",
            lb_bg(Some("v2")),
            Mode::Promote,
            detection(true),
            lb_target,
        ),
        (
            "rollback to v1 (load balancer)",
            lb_bg(Some("v1")),
            Mode::Rollback,
            detection(false),
            lb_target,
        ),
    ];
    for (what, cfg, mode, lower, target) in switches {
        let update = (mode == Mode::Promote).then_some(&hook);
        let r = bluegreen::run(&client, &cfg, mode, update, sink, never()).await;
        ok &= r.outcome == BgOutcome::Switched;
        deploys.push(figures(
            what,
            &r.outcome.to_string(),
            &r.message,
            r.total,
            lower,
            target,
            r.api_calls,
            &r.steps,
        ));
    }

    // 5. Rolling deploy of v2 behind the fleet's load balancer.
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
    let lb_failed_after_roll = lb_load.report().failed();

    // 6. The script pipelines run today, on the same fleet, v2 -> v3: untag, sleep 30, deploy,
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
    let script_failed = lb_load.report().failed() - lb_failed_after_roll;
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

    // 7-8. Replace the fleet (now v3) with three droplets made from the snapshot `app-v4`,
    // then roll back: the kept v3 fleet serves again and the new droplets are deleted.
    let replace_cfg = {
        let image = sim.image_id("app-v4").expect("scenario has the snapshot");
        let mut c = zdd_core::replace::ReplaceConfig::new(
            LbSettings {
                wait_scale: d.time_scale,
                ..LbSettings::new(LbRef::Id(lb.id.clone()))
            },
            zdd_core::replace::NewDroplets::from_image(image),
        );
        c.health = check(Some("v4"));
        c.lock = Some(lock.clone());
        c.active_wait = do_api::WaitOptions::with_timeout(Duration::from_secs(60)).interval(
            sim.scaled(Duration::from_secs(2)),
            sim.scaled(Duration::from_secs(2)),
        );
        c
    };
    let interval = sim.scaled(Duration::from_secs(u64::from(hc.check_interval_seconds)));
    let window = interval * hc.healthy_threshold;
    let create = sim.scaled(CREATE_LATENCY);
    let replace_lower = bench::Figure {
        duration: create + boot + PROBE_INTERVAL * (SUCCESSES - 1) + window,
        formula: format!(
            "create {:.1}s + boot {:.1}s + gate {:.1}s + healthy threshold {} × check interval {:.1}s, whatever the fleet's size",
            create.as_secs_f64(),
            boot.as_secs_f64(),
            (PROBE_INTERVAL * (SUCCESSES - 1)).as_secs_f64(),
            hc.healthy_threshold,
            interval.as_secs_f64()
        ),
    };
    let r = zdd_core::replace::run(&client, &replace_cfg, None::<&SimDeploy>, sink, never()).await;
    ok &= r.outcome == zdd_core::Outcome::Replaced;
    deploys.push(figures(
        "replace with v4 (3 new droplets, load balancer)",
        &r.outcome.to_string(),
        &r.message,
        r.total,
        replace_lower,
        lb_target,
        r.api_calls,
        &r.steps,
    ));
    let mut back_cfg = replace_cfg.clone();
    back_cfg.health = check(None);
    let r = zdd_core::replace::rollback(&client, &back_cfg, sink, never()).await;
    ok &= r.outcome == zdd_core::Outcome::Switched;
    deploys.push(figures(
        "rollback after replace (the kept v3 fleet)",
        &r.outcome.to_string(),
        &r.message,
        r.total,
        bench::Figure {
            duration: window,
            formula: format!(
                "healthy threshold {} × check interval {:.1}s: the kept fleet must be seen healthy again",
                hc.healthy_threshold,
                interval.as_secs_f64()
            ),
        },
        lb_target,
        r.api_calls,
        &r.steps,
    ));

    // A little traffic after the last deploy, so the report shows what answers now.
    let after = |t: &Traffic| ok_of(t) + warm;
    let (rip_after, lb_after, app_after) = (after(&rip_load), after(&lb_load), after(&app_load));
    answered(&[
        (&rip_load, rip_after),
        (&lb_load, lb_after),
        (&app_load, app_after),
    ])
    .await;
    for t in [&rip_load, &lb_load, &app_load] {
        t.stop();
    }
    let per_kind = d.rate / ClientKind::ALL.len() as f64;
    // Through the reserved IP: two moves (promote, rollback); through a load balancer: none.
    let traffic = vec![
        entry(
            "reserved IP",
            rip_url,
            rip_load.finish().await,
            Some((per_kind, 2, blackout)),
        ),
        entry(
            "load balancer (pair)",
            app_url,
            app_load.finish().await,
            None,
        ),
        entry(
            "load balancer (fleet)",
            lb_url,
            lb_load.finish().await,
            None,
        ),
    ];
    ok &= traffic
        .iter()
        .all(|t| t.kinds.iter().all(|k| k.failed <= k.floor && k.sent > 0));
    let report = DemoReport {
        ok,
        time_scale: d.time_scale,
        pre_switch: !d.without_pre_switch,
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

/// What one entry point's traffic saw, each client kind against its floor: through a reserved
/// IP that moved (`moves`: rate per kind, moves, blackout), the blackout term plus the requests
/// in flight; otherwise 0.
fn entry(
    name: &str,
    url: String,
    report: do_sim::traffic::TrafficReport,
    moves: Option<(f64, u32, Duration)>,
) -> EntryTraffic {
    let kinds = report
        .kinds
        .iter()
        .map(|(kind, r)| {
            let cost = moves.map(|(rate, n, blackout)| MoveCost::new(rate, r.mean(), n, blackout));
            KindFigures {
                kind: *kind,
                label: kind.label().into(),
                sent: r.sent,
                failed: r.failed,
                failures: r.failures.clone(),
                retried: r.retried,
                rate: r.rate(),
                p50_ms: r.p50_ms,
                p99_ms: r.p99_ms,
                floor: cost.map_or(0, |c| c.floor()),
                floor_formula: cost.map(|c| c.formula()),
            }
        })
        .collect();
    let combined = report.combined();
    EntryTraffic {
        entry: name.into(),
        url,
        timeline: bench::timeline(&combined),
        failures: bench::failure_line(&combined),
        moves: moves.map_or(0, |(_, n, _)| n),
        blackout_s: moves.map_or(0.0, |(_, _, b)| b.as_secs_f64()),
        kinds,
    }
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
