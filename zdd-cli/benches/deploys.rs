//! `cargo bench -p zdd-cli --bench deploys [-- RUNS [TIME_SCALE]]`: deploys measured against the
//! simulator with traffic through the entry point, at the settings of the watch-don't-sleep
//! issue (3 droplets; the load balancer checks every 10 s, 5 s timeout, healthy after 3,
//! unhealthy after 2; boot 10 s; assign latency 2 s), each scenario on a fresh simulator, `RUNS`
//! times (3 by default), at `TIME_SCALE` (0.1 by default: DigitalOcean's seconds are tenths).
//! Prints a Markdown table: median, min and max wall time in DigitalOcean seconds, the physical
//! floor it is compared with, and the requests that failed.
//!
//! Floors are physics, never zdd-do's own waits: a roll's is, per droplet, its boot plus the
//! load balancer's healthy detection (at most `healthy_threshold × interval` once it is up);
//! a promote's is the standby's boot, its gate, the assign's latency and the same gate through
//! the reserved IP.

// A benchmark's output is its table: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Duration;

use do_api::load_balancers::HealthCheck;
use do_sim::traffic::{LoadConfig, Traffic};
use do_sim::{DropletSpec, IpMoves, LbSpec, ReservedIpSpec, Sim, SimConfig, bench};
use zdd_core::bluegreen::{self, BlueGreenConfig, Mode};
use zdd_core::events::{Event, EventSink};
use zdd_core::health::{HealthPolicy, HealthTarget};
use zdd_core::hook::{DropletHook, HookTarget};
use zdd_core::lock::LockSettings;
use zdd_core::rolling::{self, Drain, LbRef, RollingConfig};

const BOOT: Duration = Duration::from_secs(10);
const ACTION_LATENCY: Duration = Duration::from_secs(2);
/// The simulator's blackout after a reserved IP's move ([`IpMoves`]), in DigitalOcean time.
const BLACKOUT: Duration = Duration::from_secs(1);
const RATE: f64 = 250.0;

fn health_check() -> HealthCheck {
    HealthCheck::http(80, "/health")
        .check_interval_seconds(10)
        .response_timeout_seconds(5)
        .unhealthy_threshold(2)
        .healthy_threshold(3)
}

struct Quiet;
impl EventSink for Quiet {
    fn emit(&self, _: Event) {}
}

struct Deploy<'a> {
    sim: &'a Sim,
    version: &'a str,
}

impl DropletHook for Deploy<'_> {
    async fn run(&self, t: &HookTarget) -> Result<(), String> {
        self.sim
            .deploy(t.id, self.version)
            .map_err(|e| e.to_string())
    }
}

/// One measured deploy: DigitalOcean seconds, failed requests.
struct Sample {
    wall: f64,
    failed: u64,
    ok: bool,
}

async fn fleet(n: usize, scale: f64) -> Sim {
    let mut cfg = SimConfig::new();
    for i in 1..=n {
        cfg = cfg.droplet(DropletSpec::new(format!("web-{i}")).tag("web"));
    }
    Sim::start(
        cfg.load_balancer(LbSpec::tagged("web-lb", "web").health_check(health_check()))
            .boot_time(BOOT)
            .action_latency(ACTION_LATENCY)
            .time_scale(scale),
    )
    .await
    .expect("the simulator starts")
}

fn traffic(url: &str) -> Traffic {
    Traffic::start(
        LoadConfig::new(url)
            .rate(RATE)
            .concurrency(64)
            .duration(Duration::from_secs(900))
            .timeout(Duration::from_secs(5)),
    )
}

fn policy(sim: &Sim) -> (HealthPolicy, LockSettings) {
    (
        // zdd-do's defaults (3 probes 1 s apart, 2 s timeout), in the simulator's time.
        HealthPolicy {
            successes: 3,
            interval: sim.scaled(Duration::from_secs(1)),
            request_timeout: sim
                .scaled(Duration::from_secs(2))
                .max(Duration::from_millis(200)),
            deadline: sim.scaled(Duration::from_secs(60)),
            ..HealthPolicy::default()
        },
        LockSettings {
            settle: sim.scaled(LockSettings::default().settle),
            ..LockSettings::default()
        },
    )
}

/// A roll of a fresh `n`-droplet fleet; returns the whole roll and its batches' durations.
async fn roll(n: usize, scale: f64, drain: Drain, max_unavailable: usize) -> (Sample, Vec<f64>) {
    let sim = fleet(n, scale).await;
    let lb = sim.load_balancers()[0].clone();
    let load = traffic(&lb.url);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (health, lock) = policy(&sim);
    let cfg = RollingConfig {
        health,
        drain,
        max_unavailable: std::num::NonZeroUsize::new(max_unavailable).unwrap(),
        version: Some("v2".into()),
        wait_scale: scale,
        lock: Some(lock),
        ..RollingConfig::new(LbRef::Id(lb.id.clone()))
    };
    let hook = Deploy {
        sim: &sim,
        version: "v2",
    };
    let r = rolling::run(
        &sim.client(),
        &cfg,
        Some(&hook),
        None::<&Deploy>,
        &Quiet,
        std::future::pending(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    load.stop();
    let report = load.finish().await;
    sim.shutdown().await;
    let batches = r
        .batches
        .iter()
        .map(|b| b.duration.as_secs_f64() / scale)
        .collect();
    (
        Sample {
            wall: r.total.as_secs_f64() / scale,
            failed: report.failed(),
            ok: r.outcome == rolling::Outcome::Rolled,
        },
        batches,
    )
}

async fn script(scale: f64) -> Sample {
    let sim = fleet(3, scale).await;
    let lb = sim.load_balancers()[0].clone();
    let load = traffic(&lb.url);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ids: Vec<_> = sim
        .droplets()
        .iter()
        .filter(|d| d.tags.iter().any(|t| t == "web"))
        .map(|d| d.id)
        .collect();
    let r = bench::fixed_sleep_script(
        &sim,
        &sim.client(),
        "web",
        &ids,
        "v2",
        (
            sim.scaled(Duration::from_secs(30)),
            sim.scaled(Duration::from_secs(40)),
        ),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    load.stop();
    let report = load.finish().await;
    sim.shutdown().await;
    Sample {
        wall: r.as_ref().map_or(0.0, |d| d.as_secs_f64() / scale),
        failed: report.failed(),
        ok: r.is_ok(),
    }
}

async fn promote(scale: f64, with_update: bool) -> Sample {
    let sim = Sim::start(
        SimConfig::new()
            .droplet(DropletSpec::new("blue").tag("PROD"))
            .droplet(DropletSpec::new("green").tag("FALLBACK"))
            .reserved_ip(ReservedIpSpec::held_by("blue"))
            .boot_time(BOOT)
            .action_latency(ACTION_LATENCY)
            // The blackout after a move, in DigitalOcean time like everything reported here.
            .ip_moves(IpMoves::harsh(BLACKOUT.mul_f64(scale)))
            .time_scale(scale),
    )
    .await
    .expect("the simulator starts");
    let rip = sim.reserved_ips()[0].clone();
    if !with_update {
        // The standby was deployed beforehand (another job): promote only switches.
        let green = sim
            .droplets()
            .iter()
            .find(|d| d.name == "green")
            .unwrap()
            .id;
        sim.deploy(green, "v2").unwrap();
        tokio::time::sleep(sim.scaled(BOOT) + Duration::from_millis(100)).await;
    }
    let load = traffic(&sim.url_of(rip.ip));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (health, lock) = policy(&sim);
    let cfg = BlueGreenConfig {
        reserved_ip: Some(rip.ip),
        health: HealthPolicy {
            expect_body: Some("\"version\":\"v2\"".into()),
            ..health
        },
        target: HealthTarget {
            port: Some(sim.app_port()),
            path: Some("/health".into()),
            ..HealthTarget::default()
        },
        assign_wait: do_api::WaitOptions::with_timeout(Duration::from_secs(60)).interval(
            sim.scaled(Duration::from_secs(1)),
            sim.scaled(Duration::from_secs(5)),
        ),
        version: Some("v2".into()),
        lock: Some(lock),
        ..BlueGreenConfig::default()
    };
    let hook = Deploy {
        sim: &sim,
        version: "v2",
    };
    let r = bluegreen::run(
        &sim.client(),
        &cfg,
        Mode::Promote,
        with_update.then_some(&hook),
        &Quiet,
        std::future::pending(),
    )
    .await;
    if std::env::var_os("ZDD_BENCH_STEPS").is_some() {
        let steps: Vec<String> = r
            .steps
            .iter()
            .map(|s| format!("{} {:.2}", s.step.label(), s.duration.as_secs_f64() / scale))
            .collect();
        eprintln!("promote steps (DigitalOcean s): {}", steps.join(", "));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    load.stop();
    let report = load.finish().await;
    sim.shutdown().await;
    Sample {
        wall: r.total.as_secs_f64() / scale,
        failed: report.failed(),
        ok: r.outcome == bluegreen::Outcome::Switched,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn row(what: &str, samples: &[Sample], floor: f64, target: &str) {
    if samples.is_empty() {
        return;
    }
    let walls: Vec<f64> = samples.iter().map(|s| s.wall).collect();
    let med = median(walls.clone());
    let (min, max) = (
        walls.iter().copied().fold(f64::MAX, f64::min),
        walls.iter().copied().fold(0.0, f64::max),
    );
    let failed: Vec<String> = samples.iter().map(|s| s.failed.to_string()).collect();
    let ok = samples.iter().all(|s| s.ok);
    println!(
        "| {what} | {med:.1} s | {min:.1}–{max:.1} s | {} | {target} | {} | {} |",
        if floor > 0.0 {
            format!("{floor:.0} s ({:.2}×)", med / floor)
        } else {
            "-".into()
        },
        failed.join(", "),
        if ok { "ok" } else { "FAILED" }
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let runs: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(3);
    let scale: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0.1);
    let hc = health_check();
    let per =
        BOOT.as_secs_f64() + f64::from(hc.healthy_threshold) * f64::from(hc.check_interval_seconds);
    let roll_floor = 3.0 * per;
    println!(
        "{runs} runs each at time scale {scale}, {RATE} req/s through the entry point; times in DigitalOcean seconds\n"
    );
    println!("| deploy | median | range | floor (ratio) | target | failed requests | outcome |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut rolls = Vec::new();
    let mut url_rolls = Vec::new();
    let mut scripts = Vec::new();
    let mut one = Vec::new();
    let mut ten = Vec::new();
    let mut promotes = Vec::new();
    let mut switches = Vec::new();
    let mut batch_samples = Vec::new();
    // `ZDD_BENCH_ONLY=promote` (or roll, shutdown, script, batch) runs one scenario.
    let only = std::env::var("ZDD_BENCH_ONLY").unwrap_or_default();
    let run = |name: &str| only.is_empty() || only == name;
    for _ in 0..runs {
        if run("roll") {
            rolls.push(roll(3, scale, Drain::Remove, 1).await.0);
        }
        if run("shutdown") {
            url_rolls.push(
                roll(
                    3,
                    scale,
                    Drain::ShutdownUrl {
                        path: "/drain".into(),
                        method: "POST".into(),
                    },
                    1,
                )
                .await
                .0,
            );
        }
        if run("script") {
            scripts.push(script(scale).await);
        }
        if run("batch") {
            let (s, batches) = roll(11, scale, Drain::Remove, 10).await;
            if let [b10, b1, ..] = batches[..] {
                ten.push(b10);
                one.push(b1);
            }
            batch_samples.push(s);
        }
        if run("promote") {
            promotes.push(promote(scale, true).await);
            switches.push(promote(scale, false).await);
        }
    }
    row(
        "roll, 3 droplets (defaults)",
        &rolls,
        roll_floor,
        "≤ 1.15× floor, < script",
    );
    row(
        "roll --drain shutdown-url, 3 droplets",
        &url_rolls,
        roll_floor,
        "< script",
    );
    row(
        "fixed-sleep script (untag, sleep 30, deploy, sleep 40, tag), 3 droplets",
        &scripts,
        roll_floor,
        "baseline",
    );
    row(
        "roll, 11 droplets, --max-unavailable 10 (whole run)",
        &batch_samples,
        0.0,
        "",
    );
    // Boot, the gate (3 probes 1 s apart: 2 s), the assign, the blackout, the same gate
    // through the IP.
    let bound = (BOOT + ACTION_LATENCY + BLACKOUT).as_secs_f64() + 2.0 * 2.0;
    row(
        "promote with the lock, update command included",
        &promotes,
        bound,
        "≤ 1.10× + 0.5 s",
    );
    row(
        "promote with the lock, standby deployed beforehand",
        &switches,
        bound - BOOT.as_secs_f64(),
        "≤ 1.10× + 0.5 s",
    );
    if !one.is_empty() {
        let (m1, m10) = (median(one), median(ten));
        println!(
            "\nbatch of 10: median {m10:.1} s; batch of 1: median {m1:.1} s; ratio {:.2} (target ≤ 1.3)",
            m10 / m1
        );
    }
    println!(
        "\nfloors: roll = 3 × (boot {:.0} s + healthy threshold {} × check interval {} s); promote = boot {:.0} s + assign latency {:.0} s + blackout {:.0} s + two gates of 3 probes 1 s apart (2 s each)",
        BOOT.as_secs_f64(),
        hc.healthy_threshold,
        hc.check_interval_seconds,
        BOOT.as_secs_f64(),
        ACTION_LATENCY.as_secs_f64(),
        BLACKOUT.as_secs_f64()
    );
}
