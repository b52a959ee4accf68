//! `zdd-do demo`: the simulator in-process with a blue-green pair behind a reserved IP, a
//! blue-green pair behind a load balancer and three droplets behind another; steady traffic
//! from three client kinds through each entry point; a promote and a rollback through the
//! reserved IP (with the pre-switch hook), the same through the load balancer, a rolling
//! deploy, a replace of the fleet from a snapshot with the rollback after it, and a replace with
//! a canary of a release that passes its health check but fails 5% of its requests (caught by
//! the canary analysis, taken out and deleted); then a report a person reads at a glance (and
//! `--output json` for machines): each client kind's failed requests against its floor (through
//! a reserved IP, the blackout term plus the requests in flight, DigitalOcean's cost of a move;
//! through a load balancer, 0 outside the canary's window), each deploy's failed requests and
//! time against its lower bound, what the canary analysis found and what the traffic saw of the
//! canary, the rolling deploy against the fixed `sleep 30` + `sleep 40` approach, and API calls.

use std::time::Duration;

use do_sim::bench::{self, Figure, MoveCost, Target};
use do_sim::traffic::{ClientKind, LoadConfig, LoadReport, Traffic};
use do_sim::{DropletSpec, ImageSpec, IpMoves, LbSpec, ReservedIpSpec, Sim, SimConfig};
use zdd_core::bluegreen::{
    self, BlueGreenConfig, LbSettings, Mode, Outcome as BgOutcome, PreSwitch, Roles,
};
use zdd_core::canary::{CanaryConfig, CanarySize, JudgeResult, Judges, Verdict};
use zdd_core::events::EventSink;
use zdd_core::health::{HealthPolicy, HealthTarget};
use zdd_core::hook::{DropletHook, HookTarget};
use zdd_core::lock::LockSettings;
use zdd_core::rolling::{self, LbRef, Outcome as RollOutcome, RollingConfig};

use super::Early;
use crate::cli::{self, Output};
use crate::exit;
use crate::render::demo::{
    CanaryFigures, CanaryTraffic, DemoReport, DeployFigures, EntryTraffic, JudgeFigures,
    KindFigures, ScriptRun, Serving, WaitSummary, print_human,
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
/// The traffic's time slices: the report's timeline has one character per slice.
const BUCKET: Duration = Duration::from_secs(1);
/// The flawed release of the canary deploy: healthy, but it fails this share of its requests.
const CANARY_VERSION: &str = "v5";
const CANARY_FAIL_SHARE: f64 = 0.05;
/// How long the canary takes traffic before it is judged: 5 s of wall time at the default
/// time scale (0.1), never under 3 s, so that zdd-do's probes (100 a second through the load
/// balancer, a quarter of them reaching the one canary of four droplets) get well over the 50
/// answers from the canary a judge needs at least.
const CANARY_WINDOW: Duration = Duration::from_secs(50);
const CANARY_WINDOW_MIN: Duration = Duration::from_secs(3);
/// The Monitoring API's metrics period: 1 s of wall time at the default time scale, so that
/// about five closed periods fit the canary's window and the load balancer's metrics can judge
/// it. (The simulator's default, 60 s like DigitalOcean's graphs, would be 6 s here: longer
/// than the window, which would then hold no closed period and leave that judge inconclusive.)
const METRICS_PERIOD: Duration = Duration::from_secs(10);

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

/// Failed requests so far, all client kinds.
fn failed_of(t: &Traffic) -> u64 {
    t.report().failed()
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
        .image(ImageSpec::snapshot("app-v4", "v4"))
        // The release the canary catches: v5 passes its health check but fails 5% of its
        // requests.
        .image(ImageSpec::snapshot("app-v5", CANARY_VERSION).failing(CANARY_FAIL_SHARE))
        .metrics_period(METRICS_PERIOD)
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
                .bucket(BUCKET),
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
            RESERVED_IP,
            &rip_load,
            bg(Some("v2")),
            Mode::Promote,
            bg_lower(true),
            BLUE_GREEN_TARGET,
        ),
        (
            "rollback to v1",
            RESERVED_IP,
            &rip_load,
            bg(Some("v1")),
            Mode::Rollback,
            bg_lower(false),
            BLUE_GREEN_TARGET,
        ),
        (
            "promote v2 (blue-green, load balancer)",
            PAIR,
            &app_load,
            lb_bg(Some("v2")),
            Mode::Promote,
            detection(true),
            lb_target,
        ),
        (
            "rollback to v1 (load balancer)",
            PAIR,
            &app_load,
            lb_bg(Some("v1")),
            Mode::Rollback,
            detection(false),
            lb_target,
        ),
    ];
    for (what, entry, load, cfg, mode, lower, target) in switches {
        let update = (mode == Mode::Promote).then_some(&hook);
        let failed_before = failed_of(load);
        let r = bluegreen::run(&client, &cfg, mode, update, sink, never()).await;
        ok &= r.outcome == BgOutcome::Switched;
        let mut f = figures(
            what,
            &r.outcome.to_string(),
            &r.message,
            r.total,
            lower,
            target,
            r.api_calls,
            &r.steps,
        );
        f.failed_requests = failed_of(load) - failed_before;
        f.entry = entry.into();
        deploys.push(f);
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
    let failed_before = failed_of(&lb_load);
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
    let lb_failed_after_roll = failed_of(&lb_load);
    roll.failed_requests = lb_failed_after_roll - failed_before;
    deploys.push(roll);

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
    let failed_before = failed_of(&lb_load);
    let r = zdd_core::replace::run(&client, &replace_cfg, None::<&SimDeploy>, sink, never()).await;
    ok &= r.outcome == zdd_core::Outcome::Replaced;
    let mut f = figures(
        "replace with v4 (3 new droplets, load balancer)",
        &r.outcome.to_string(),
        &r.message,
        r.total,
        replace_lower.clone(),
        lb_target,
        r.api_calls,
        &r.steps,
    );
    f.failed_requests = failed_of(&lb_load) - failed_before;
    deploys.push(f);
    let mut back_cfg = replace_cfg.clone();
    back_cfg.health = check(None);
    let failed_before = failed_of(&lb_load);
    let r = zdd_core::replace::rollback(&client, &back_cfg, sink, never()).await;
    ok &= r.outcome == zdd_core::Outcome::Switched;
    let mut f = figures(
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
    );
    f.failed_requests = failed_of(&lb_load) - failed_before;
    deploys.push(f);

    // 9. Replace the v3 fleet with a canary: the snapshot `app-v5` passes its health check
    // but fails 5% of its requests. One new droplet joins beside the three old ones, takes
    // traffic for the window and is judged by zdd-do's probes and the load balancer's metrics;
    // it fails, leaves, and the new droplets are deleted (exit 5 from the CLI): the v3 fleet
    // never left. Requests fail only while the canary serves: its blast radius.
    let canary_window = sim.scaled(CANARY_WINDOW).max(CANARY_WINDOW_MIN);
    let canary_cfg = {
        let image = sim
            .image_id("app-v5")
            .expect("scenario has the flawed snapshot");
        let mut c = replace_cfg.clone();
        c.new = zdd_core::replace::NewDroplets::from_image(image);
        c.health = check(Some(CANARY_VERSION));
        c.version = Some(CANARY_VERSION.into());
        let mut canary = CanaryConfig::new(CanarySize::Count(1), canary_window);
        canary.judges = Judges {
            probes: true,
            lb_metrics: true,
            check: false,
        };
        c.canary = Some(canary);
        c
    };
    let canary_lower = bench::Figure {
        duration: create + boot + PROBE_INTERVAL * (SUCCESSES - 1) + window + canary_window,
        formula: format!(
            "{} + analysis window {:.1}s (asked for: the canary takes traffic that long before it is judged)",
            replace_lower
                .formula
                .replace(", whatever the fleet's size", ""),
            canary_window.as_secs_f64()
        ),
    };
    let failed_before = failed_of(&lb_load);
    let r = zdd_core::replace::run(&client, &canary_cfg, None::<&SimDeploy>, sink, never()).await;
    let verdict = r.canary.as_ref().map(|c| c.verdict);
    ok &= r.outcome == zdd_core::Outcome::RolledBack && verdict == Some(Verdict::Fail);
    let mut f = figures(
        &format!(
            "replace --canary 1 with {CANARY_VERSION} (fails {}% of requests)",
            CANARY_FAIL_SHARE * 100.0
        ),
        &r.outcome.to_string(),
        &r.message,
        r.total,
        canary_lower,
        lb_target,
        r.api_calls,
        &r.steps,
    );
    f.failed_requests = failed_of(&lb_load) - failed_before;
    let canary_figures = r.canary.as_ref().map(|c| CanaryFigures {
        version: CANARY_VERSION.into(),
        fail_share: CANARY_FAIL_SHARE,
        canaries: c.canaries.iter().map(|d| d.name.clone()).collect(),
        window: canary_window,
        verdict: c.verdict.to_string(),
        judges: c.judges.iter().map(judge_figures).collect(),
        failed_requests_reported: c.failed_requests.as_ref().map(|b| b.requests),
        counted_by: c
            .failed_requests
            .as_ref()
            .map(|b| b.counted_by.label().to_owned()),
        // What the load balancer sends to now, as the simulator has it.
        serving_after: serving(&sim, "web-lb"),
        deleted: r.deleted.iter().map(|d| d.name.clone()).collect(),
        traffic: CanaryTraffic::default(),
    });
    ok &= canary_figures.is_some();
    f.canary = canary_figures;
    deploys.push(f);

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
    // The fleet's traffic: the seconds in which the canary's release answered it, and what failed
    // then and at any other time.
    let fleet = lb_load.finish().await;
    let canary_span = served_span(&fleet.combined(), CANARY_VERSION);
    let canary_deploy = deploys.iter_mut().find_map(|d| d.canary.as_mut());
    if let Some(c) = canary_deploy {
        c.traffic = canary_traffic(FLEET, &fleet, CANARY_VERSION, canary_span);
        ok &= c.traffic.failed_outside == 0;
    }
    // Through the reserved IP: two moves (promote, rollback); through a load balancer: none.
    let traffic = vec![
        entry(
            RESERVED_IP,
            rip_url,
            rip_load.finish().await,
            Some((per_kind, 2, blackout)),
            None,
        ),
        entry(PAIR, app_url, app_load.finish().await, None, None),
        entry(FLEET, lb_url, fleet, None, canary_span),
    ];
    // What failed outside the canary's window is held to the floor; a failure at any other
    // time, or through another entry point, counts against it.
    ok &= traffic.iter().all(|t| {
        t.kinds
            .iter()
            .all(|k| k.failed_outside_canary <= k.floor && k.sent > 0)
    });
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

/// The entry points, as the report names them.
const RESERVED_IP: &str = "reserved IP";
const PAIR: &str = "load balancer (pair)";
const FLEET: &str = "load balancer (fleet)";

/// When a request of the traffic may have met `version`, in ms from the start of the traffic:
/// from the start of the first slice in which it answered to the end of the slice after its
/// last answer (a request started then may still have reached it; a slice is [`BUCKET`]).
/// `None` when it never answered. Slices are by the request's start.
fn served_span(r: &LoadReport, version: &str) -> Option<(u64, u64)> {
    let mut served = r
        .buckets
        .iter()
        .filter(|b| b.versions.contains_key(version))
        .map(|b| b.start_ms);
    let first = served.next()?;
    let last = served.next_back().unwrap_or(first);
    Some((first, last + 2 * BUCKET.as_millis() as u64))
}

/// Requests of `r` started in `span` (see [`served_span`]) that failed.
fn failed_within(r: &LoadReport, span: Option<(u64, u64)>) -> u64 {
    span.map_or(0, |(from, to)| {
        r.buckets
            .iter()
            .filter(|b| b.start_ms >= from && b.start_ms < to)
            .map(|b| b.failed)
            .sum()
    })
}

/// What the demo's own traffic through `entry` saw of the canary running `version` that
/// served in `span`.
fn canary_traffic(
    entry: &str,
    report: &do_sim::traffic::TrafficReport,
    version: &str,
    span: Option<(u64, u64)>,
) -> CanaryTraffic {
    let all = report.combined();
    let within = failed_within(&all, span);
    CanaryTraffic {
        entry: entry.into(),
        window_s: span.map(|(from, to)| (from as f64 / 1000.0, to as f64 / 1000.0)),
        answered: all.by_version.get(version).copied().unwrap_or(0),
        sent_while_serving: span.map_or(0, |(from, to)| {
            all.buckets
                .iter()
                .filter(|b| b.start_ms >= from && b.start_ms < to)
                .map(|b| b.ok + b.failed)
                .sum()
        }),
        failed_while_serving: within,
        failed_outside: all.failed - within,
    }
}

/// The droplets in `lb`'s rotation, by name, with the version each runs.
fn serving(sim: &Sim, lb: &str) -> Vec<Serving> {
    let mut out: Vec<Serving> = sim
        .load_balancer(lb)
        .map(|l| l.in_rotation)
        .unwrap_or_default()
        .iter()
        .filter_map(|id| sim.droplet_by_id(*id))
        .map(|d| Serving {
            name: d.name,
            version: d.version,
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// One judge's figures: the canaries' error rate against the old droplets'.
fn judge_figures(j: &JudgeResult) -> JudgeFigures {
    let rate = |f: Option<&zdd_core::canary::Figures>| f.and_then(|f| f.error_rate());
    JudgeFigures {
        judge: j.judge.label().into(),
        verdict: j.verdict.to_string(),
        reason: j.reason.clone(),
        canary_requests: j.canary.as_ref().map(|f| f.requests.round() as u64),
        canary_errors: j.canary.as_ref().map(|f| f.errors.round() as u64),
        canary_error_rate: rate(j.canary.as_ref()),
        canary_p95_ms: j.canary.as_ref().and_then(|f| f.p95_ms),
        old_requests: j.old.as_ref().map(|f| f.requests.round() as u64),
        old_errors: j.old.as_ref().map(|f| f.errors.round() as u64),
        old_error_rate: rate(j.old.as_ref()),
        old_p95_ms: j.old.as_ref().and_then(|f| f.p95_ms),
    }
}

/// What one entry point's traffic saw, each client kind against its floor: through a reserved
/// IP that moved (`moves`: rate per kind, moves, blackout), the blackout term plus the requests
/// in flight; otherwise 0. Failures in `canary` (the slices in which a canary served, see
/// [`served_span`]) are the canary's blast radius, counted apart; the floor holds for the rest.
fn entry(
    name: &str,
    url: String,
    report: do_sim::traffic::TrafficReport,
    moves: Option<(f64, u32, Duration)>,
    canary: Option<(u64, u64)>,
) -> EntryTraffic {
    let kinds = report
        .kinds
        .iter()
        .map(|(kind, r)| {
            let cost = moves.map(|(rate, n, blackout)| MoveCost::new(rate, r.mean(), n, blackout));
            let while_canary = failed_within(r, canary);
            KindFigures {
                kind: *kind,
                label: kind.label().into(),
                sent: r.sent,
                failed: r.failed,
                failed_while_canary_served: while_canary,
                failed_outside_canary: r.failed - while_canary,
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
        canary_window_s: canary.map(|(from, to)| (from as f64 / 1000.0, to as f64 / 1000.0)),
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
        entry: FLEET.into(),
        failed_requests: 0,
        canary: None,
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
