//! `cargo bench -p zdd-cli --bench deploys [-- RUNS [TIME_SCALE]]` (`ZDD_BENCH_ONLY=replace`,
//! `ZDD_BENCH_SIZES=30` to run less): deploys measured against the
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
//! the reserved IP; a replace's is the create's latency (60 s), the boot, the gate and the
//! healthy detection, whatever the fleet's size; a rollback after it is compared with one
//! healthy detection (the kept fleet must be seen healthy again).

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
/// A new droplet is active this long after its create ([`SimConfig::create_latency`]).
const CREATE_LATENCY: Duration = Duration::from_secs(60);
/// Width of the traffic report's slices, in wall time.
const BUCKET: Duration = Duration::from_millis(50);
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
    let mut cfg = SimConfig::new()
        .image(do_sim::ImageSpec::snapshot("app-v2", "v2"))
        .create_latency(CREATE_LATENCY)
        .droplet_limit(200);
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
            .timeout(Duration::from_secs(5))
            .bucket(BUCKET),
    )
}

/// What a replace (and the rollback after it) measured.
struct Replaced {
    replace: Sample,
    /// API requests per droplet of the fleet.
    calls_per_droplet: f64,
    /// The whole rollback.
    rollback: Sample,
    /// From the rollback's start to the last answer from a replacing droplet, as the traffic
    /// saw it (DigitalOcean seconds).
    traffic_back: f64,
}

/// `replace` of a fresh `n`-droplet fleet from a snapshot, then `rollback --lb`, with traffic
/// through the load balancer.
async fn replace(n: usize, scale: f64) -> Replaced {
    use zdd_core::replace::{self, NewDroplets, ReplaceConfig};
    let sim = fleet(n, scale).await;
    let lb = sim.load_balancers()[0].clone();
    let load = traffic(&lb.url);
    let t0 = std::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (health, lock) = policy(&sim);
    let image = sim.image_id("app-v2").expect("the snapshot");
    let mut cfg = ReplaceConfig::new(
        zdd_core::bluegreen::LbSettings {
            wait_scale: scale,
            ..zdd_core::bluegreen::LbSettings::new(LbRef::Id(lb.id.clone()))
        },
        NewDroplets::from_image(image),
    );
    cfg.health = health;
    cfg.lock = Some(lock);
    cfg.active_wait = do_api::WaitOptions::with_timeout(sim.scaled(Duration::from_secs(300)))
        .interval(
            sim.scaled(Duration::from_secs(2)),
            sim.scaled(Duration::from_secs(10)),
        );
    let client = sim.client();
    let r = replace::run(
        &client,
        &cfg,
        None::<&Deploy>,
        &Quiet,
        std::future::pending(),
    )
    .await;
    steps("replace", &r.steps, scale);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let back_at = t0.elapsed();
    let b = replace::rollback(&client, &cfg, &Quiet, std::future::pending()).await;
    steps("rollback", &b.steps, scale);
    tokio::time::sleep(Duration::from_millis(300)).await;
    load.stop();
    let report = load.finish().await;
    sim.shutdown().await;
    let last_v2 = report
        .combined()
        .buckets
        .iter()
        .filter(|b| b.versions.contains_key("v2"))
        .map(|b| b.start_ms)
        .max()
        .unwrap_or(0);
    let traffic_back = (Duration::from_millis(last_v2) + BUCKET).saturating_sub(back_at);
    Replaced {
        replace: Sample {
            wall: r.total.as_secs_f64() / scale,
            failed: report.failed(),
            ok: r.outcome == zdd_core::Outcome::Replaced,
        },
        calls_per_droplet: r.api_calls as f64 / n as f64,
        rollback: Sample {
            wall: b.total.as_secs_f64() / scale,
            failed: 0,
            ok: b.outcome == zdd_core::Outcome::Switched,
        },
        traffic_back: traffic_back.as_secs_f64() / scale,
    }
}

/// With `ZDD_BENCH_STEPS` set, a run's steps in DigitalOcean seconds, on stderr.
fn steps(what: &str, steps: &[zdd_core::report::StepTiming], scale: f64) {
    if std::env::var_os("ZDD_BENCH_STEPS").is_some() {
        let line: Vec<String> = steps
            .iter()
            .map(|s| format!("{} {:.2}", s.step.label(), s.duration.as_secs_f64() / scale))
            .collect();
        eprintln!("{what} steps (DigitalOcean s): {}", line.join(", "));
    }
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
    let mut replaced: Vec<(usize, Replaced)> = Vec::new();
    // `ZDD_BENCH_ONLY=promote` (or roll, shutdown, script, batch) runs one scenario.
    let only = std::env::var("ZDD_BENCH_ONLY").unwrap_or_default();
    let run = |name: &str| only.is_empty() || only == name;
    // `ZDD_BENCH_SIZES=30` (or `3,10`) replaces only fleets of those sizes.
    let sizes: Vec<usize> = std::env::var("ZDD_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![3, 10, 30]);
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
        if run("replace") {
            for &n in &sizes {
                replaced.push((n, replace(n, scale).await));
            }
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
    // A replace: the create's latency, the boot, the gate (2 s), the load balancer's healthy
    // detection of the new droplets.
    let replace_floor = (CREATE_LATENCY + BOOT).as_secs_f64()
        + 2.0
        + f64::from(hc.healthy_threshold) * f64::from(hc.check_interval_seconds);
    let window = f64::from(hc.healthy_threshold) * f64::from(hc.check_interval_seconds);
    let by = |n: usize| -> Vec<&Replaced> {
        replaced
            .iter()
            .filter(|(m, _)| *m == n)
            .map(|(_, r)| r)
            .collect()
    };
    for &n in &sizes {
        let rs = by(n);
        if rs.is_empty() {
            continue;
        }
        let samples: Vec<Sample> = rs
            .iter()
            .map(|r| Sample {
                wall: r.replace.wall,
                failed: r.replace.failed,
                ok: r.replace.ok,
            })
            .collect();
        row(
            &format!("replace, {n} droplets"),
            &samples,
            replace_floor,
            if n == 30 {
                "≤ 1.5× the 3-droplet time"
            } else {
                ""
            },
        );
        let backs: Vec<Sample> = rs
            .iter()
            .map(|r| Sample {
                wall: r.rollback.wall,
                failed: r.rollback.failed,
                ok: r.rollback.ok,
            })
            .collect();
        row(
            &format!("rollback after replace, {n} droplets (whole command)"),
            &backs,
            window,
            "",
        );
        let traffic: Vec<Sample> = rs
            .iter()
            .map(|r| Sample {
                wall: r.traffic_back,
                failed: 0,
                ok: r.rollback.ok,
            })
            .collect();
        row(
            &format!(
                "rollback after replace, {n} droplets: until no answer from the replacing droplets"
            ),
            &traffic,
            window,
            "≤ 1.2× the healthy window",
        );
    }
    if !by(3).is_empty() && !by(30).is_empty() {
        let med = |n: usize| median(by(n).iter().map(|r| r.replace.wall).collect());
        let calls = |n: usize| median(by(n).iter().map(|r| r.calls_per_droplet).collect());
        println!(
            "\nreplace: 30 droplets / 3 droplets = {:.2} (target ≤ 1.5); API requests per droplet: {:.1} (3), {:.1} (10), {:.1} (30), against 5,000 an hour",
            med(30) / med(3),
            calls(3),
            calls(10),
            calls(30)
        );
    }
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
