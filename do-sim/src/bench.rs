//! Benchmark figures for deploys run against the simulator (`zdd-do demo`): what the platform
//! needs at least for a deploy (boot, an action's latency, the probes a health gate requires,
//! the waits a load balancer's settings impose), never the deploy tool's own sleeps; the fixed
//! `sleep 30` + `sleep 40` per droplet that pipelines use today, as the baseline; the target a
//! deploy is held to; and which versions answered a traffic run, second by second.
//!
//! Pure functions of durations and counts, so the formulas are unit-tested here and the figures
//! a report shows say how they were computed.

use std::time::Duration;

use do_api::load_balancers::HealthCheck;
use serde::Serialize;

use crate::traffic::LoadReport;

/// Today's pipelines: `sleep 30` after taking a droplet out of rotation, `sleep 40` after
/// putting it back, in DigitalOcean time (scale it like the simulator's other times).
pub const FIXED_SLEEPS: Duration = Duration::from_secs(30 + 40);

/// DigitalOcean's default load-balancer health check (`resources/load_balancers/models/
/// health_check.yml`: every 10 s, 5 s timeout, unhealthy after 5, healthy after 3), so the fixed
/// `sleep 30` + `sleep 40` per droplet that pipelines use today is compared on its own ground.
pub fn do_default_health_check() -> HealthCheck {
    HealthCheck::http(80, "/health")
        .check_interval_seconds(10)
        .response_timeout_seconds(5)
        .unhealthy_threshold(5)
        .healthy_threshold(3)
}

/// What reserved-IP moves cost one client kind at the least, on DigitalOcean as the simulator
/// models it ([`crate::IpMoves`]): every request that tries to connect during a blackout fails
/// (the *blackout term*: per move, the requests a steady sender starts in a window of that
/// length, at most ⌊rate × blackout⌋ + 1), and every request in flight when a move resets its
/// connection fails (the *in-flight count*: rate × mean response time, rounded up per move: a
/// request is whole). A client that keeps idle connections
/// through a move also loses one request per pooled connection (no retry) — the term a pre-switch
/// hook removes — which is not part of this floor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MoveCost {
    /// Requests per second of this client.
    pub rate: f64,
    /// Mean response time, in milliseconds.
    pub mean_ms: f64,
    /// Moves of the reserved IP.
    pub moves: u32,
    /// Blackout per move, in seconds.
    pub blackout_s: f64,
    /// Requests that meet a blackout.
    pub blackout_term: u64,
    /// Requests in flight at a move.
    pub in_flight: u64,
}

impl MoveCost {
    /// The cost of `moves` moves with `blackout` each, to a client sending `rate` requests per
    /// second that take `mean` each.
    pub fn new(rate: f64, mean: Duration, moves: u32, blackout: Duration) -> MoveCost {
        let per_move = |n: u64| n * u64::from(moves);
        let in_window = if blackout.is_zero() {
            0
        } else {
            (rate * blackout.as_secs_f64()).max(0.0).floor() as u64 + 1
        };
        MoveCost {
            rate,
            mean_ms: mean.as_secs_f64() * 1000.0,
            moves,
            blackout_s: blackout.as_secs_f64(),
            blackout_term: per_move(in_window),
            in_flight: per_move((rate * mean.as_secs_f64()).max(0.0).ceil() as u64),
        }
    }

    /// The floor: blackout term plus in-flight count.
    pub fn floor(&self) -> u64 {
        self.blackout_term + self.in_flight
    }

    /// `blackout 2 × (⌊41.7/s × 1.0s⌋ + 1) = 84 + in flight 2 × ⌈41.7/s × 1.2ms⌉ = 2`.
    pub fn formula(&self) -> String {
        format!(
            "blackout {m} × (⌊{r:.1}/s × {b:.1}s⌋ + 1) = {bt} + in flight {m} × ⌈{r:.1}/s × {l:.1}ms⌉ = {f}",
            m = self.moves,
            r = self.rate,
            b = self.blackout_s,
            bt = self.blackout_term,
            l = self.mean_ms,
            f = self.in_flight
        )
    }
}

/// A computed duration and how it was computed, for a person reading the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    /// The duration.
    pub duration: Duration,
    /// The formula with its terms filled in.
    pub formula: String,
}

/// The shortest health gate that requires `successes` passing probes `interval` apart: the
/// probes' own time aside, `successes - 1` intervals.
pub fn gate_min(successes: u32, interval: Duration) -> Duration {
    interval * successes.saturating_sub(1)
}

/// The lower bound of a blue-green switch: the standby's boot after its update (`None`: no
/// update, as in a rollback), its health gate, the assign action's latency, the blackout after
/// the move (no new connection gets through, [`crate::IpMoves`]), and the same probes through
/// the reserved IP.
pub fn blue_green_lower_bound(
    boot: Option<Duration>,
    successes: u32,
    interval: Duration,
    assign_latency: Duration,
    blackout: Duration,
) -> Figure {
    let gate = gate_min(successes, interval);
    Figure {
        duration: boot.unwrap_or_default() + gate + assign_latency + blackout + gate,
        formula: format!(
            "{}gate {} probes {}ms apart + assign latency {:.1}s + blackout {:.1}s + the same probes through the IP",
            boot.map(|b| format!("boot {:.1}s + ", b.as_secs_f64()))
                .unwrap_or_default(),
            successes,
            interval.as_millis(),
            assign_latency.as_secs_f64(),
            blackout.as_secs_f64()
        ),
    }
}

/// The physical floor of a rolling deploy of `droplets`, one at a time, behind a load balancer
/// checking every `interval` and routing after `healthy_threshold` passes: per droplet its boot
/// and the load balancer's healthy detection, which ends between `(healthy_threshold - 1)` and
/// `healthy_threshold` intervals after the app is up (the load balancer stops routing at
/// once, and in-flight requests finish in milliseconds here). The figure is the upper end,
/// `droplets × (boot + healthy_threshold × interval)`; the formula also gives the expected
/// middle. Never the deploy tool's own waits.
pub fn rolling_floor(
    droplets: u32,
    boot: Duration,
    interval: Duration,
    healthy_threshold: u32,
) -> Figure {
    let per = boot + interval * healthy_threshold;
    let expected = boot + interval.mul_f64(f64::from(healthy_threshold) - 0.5);
    Figure {
        duration: per * droplets,
        formula: format!(
            "{droplets} × (boot {:.1}s + healthy threshold {healthy_threshold} × check interval {:.1}s); expected {:.1}s",
            boot.as_secs_f64(),
            interval.as_secs_f64(),
            (expected * droplets).as_secs_f64()
        ),
    }
}

/// The script pipelines run today, for each droplet of `droplets` behind a load balancer
/// selecting `tag`: untag it, `sleep 30`, deploy `version`, `sleep 40`, tag it again; the
/// sleeps are `sleeps` (the simulator's scaling of 30 s and 40 s). Run for real against the
/// simulator (the API through `client`, the deploy through [`Sim::deploy`]), so that its time
/// and what it does to traffic are measured, not computed.
///
/// [`Sim::deploy`]: crate::Sim::deploy
pub async fn fixed_sleep_script(
    sim: &crate::Sim,
    client: &do_api::Client,
    tag: &str,
    droplets: &[do_api::DropletId],
    version: &str,
    sleeps: (Duration, Duration),
) -> Result<Duration, String> {
    let started = tokio::time::Instant::now();
    for d in droplets {
        client
            .tags()
            .untag_droplets(tag, &[*d])
            .await
            .map_err(|e| e.chain())?;
        tokio::time::sleep(sleeps.0).await;
        sim.deploy(*d, version).map_err(|e| e.to_string())?;
        tokio::time::sleep(sleeps.1).await;
        client
            .tags()
            .tag_droplets(tag, &[*d])
            .await
            .map_err(|e| e.chain())?;
    }
    Ok(started.elapsed())
}

/// How close to its lower bound a deploy must come: within `factor` times it, plus `slack_s`
/// seconds (for fixed costs the bound leaves out, such as API round trips).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// Allowed multiple of the lower bound.
    pub factor: f64,
    /// Allowed seconds on top.
    pub slack_s: f64,
}

impl Target {
    /// `≤ 1.10× + 0.5s`, or `≤ 1.15×` without slack.
    pub fn describe(&self) -> String {
        if self.slack_s > 0.0 {
            format!("≤ {:.2}× + {}s", self.factor, self.slack_s)
        } else {
            format!("≤ {:.2}×", self.factor)
        }
    }

    /// Whether a deploy that took `wall` meets the target over `lower_bound`.
    pub fn met(&self, wall: Duration, lower_bound: Duration) -> bool {
        wall.as_secs_f64() <= lower_bound.as_secs_f64() * self.factor + self.slack_s
    }
}

/// `wall` over `lower_bound`; 0 when there is no bound.
pub fn ratio(wall: Duration, lower_bound: Duration) -> f64 {
    if lower_bound.is_zero() {
        0.0
    } else {
        wall.as_secs_f64() / lower_bound.as_secs_f64()
    }
}

/// One character per bucket of a traffic run: the version that answered when only one did
/// (`1` for `v1`, the last character of its name), `+` when several did, `.` when none did.
/// Failures are on their own line, [`failure_line`], so that a second with a few failed
/// requests still shows who answered.
pub fn timeline(report: &LoadReport) -> String {
    report
        .buckets
        .iter()
        .map(|b| {
            let mut answered = b.versions.keys();
            match (answered.next(), answered.next()) {
                (None, _) => '.',
                (Some(v), None) => v.chars().last().unwrap_or('?'),
                (Some(_), Some(_)) => '+',
            }
        })
        .collect()
}

/// One character per bucket, under [`timeline`]: `x` where a request failed, a space elsewhere
/// (trailing spaces trimmed; empty when nothing failed).
pub fn failure_line(report: &LoadReport) -> String {
    let line: String = report
        .buckets
        .iter()
        .map(|b| if b.failed > 0 { 'x' } else { ' ' })
        .collect();
    line.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::Bucket;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn a_move_costs_the_blackout_term_and_the_in_flight_count_rounded_up_per_move() {
        let c = MoveCost::new(41.7, MS(2), 2, Duration::from_secs(1));
        assert_eq!((c.blackout_term, c.in_flight, c.floor()), (84, 2, 86));
        assert_eq!(
            c.formula(),
            "blackout 2 × (⌊41.7/s × 1.0s⌋ + 1) = 84 + in flight 2 × ⌈41.7/s × 2.0ms⌉ = 2"
        );
        // A whole number of requests per window can fit once more at its edges.
        assert_eq!(MoveCost::new(100.0, MS(0), 1, MS(1000)).blackout_term, 101);
        // No blackout, nothing in flight: nothing is lost.
        let c = MoveCost::new(40.0, Duration::ZERO, 2, Duration::ZERO);
        assert_eq!(c.floor(), 0);
    }

    #[test]
    fn a_gate_needs_one_interval_fewer_than_its_probes() {
        assert_eq!(gate_min(3, MS(100)), MS(200));
        assert_eq!(gate_min(1, MS(100)), Duration::ZERO);
        assert_eq!(gate_min(0, MS(100)), Duration::ZERO);
    }

    #[test]
    fn blue_green_bound_is_boot_gate_latency_and_gate_again() {
        let promote = blue_green_lower_bound(Some(MS(300)), 3, MS(100), MS(200), MS(1000));
        assert_eq!(promote.duration, MS(300 + 200 + 200 + 1000 + 200));
        assert_eq!(
            promote.formula,
            "boot 0.3s + gate 3 probes 100ms apart + assign latency 0.2s + blackout 1.0s + the same probes through the IP"
        );
        let rollback = blue_green_lower_bound(None, 3, MS(100), MS(200), Duration::ZERO);
        assert_eq!(rollback.duration, MS(600));
        assert_eq!(
            rollback.formula,
            "gate 3 probes 100ms apart + assign latency 0.2s + blackout 0.0s + the same probes through the IP"
        );
    }

    #[test]
    fn the_rolling_floor_is_boot_and_healthy_detection_per_droplet() {
        let f = rolling_floor(3, Duration::from_secs(10), Duration::from_secs(10), 3);
        assert_eq!(f.duration, Duration::from_secs(120));
        assert_eq!(
            f.formula,
            "3 × (boot 10.0s + healthy threshold 3 × check interval 10.0s); expected 105.0s"
        );
    }

    #[test]
    fn fixed_sleeps_are_seventy_seconds() {
        assert_eq!(FIXED_SLEEPS, Duration::from_secs(70));
    }

    #[test]
    fn the_default_health_check_is_digitaloceans() {
        let hc = do_default_health_check();
        assert_eq!(
            (
                hc.check_interval_seconds,
                hc.response_timeout_seconds,
                hc.unhealthy_threshold,
                hc.healthy_threshold
            ),
            (10, 5, 5, 3)
        );
    }

    #[test]
    fn targets_and_ratios() {
        let t = Target {
            factor: 1.10,
            slack_s: 0.5,
        };
        assert_eq!(t.describe(), "≤ 1.10× + 0.5s");
        assert!(t.met(MS(1590), MS(1000)));
        assert!(!t.met(MS(1610), MS(1000)));
        let t = Target {
            factor: 1.15,
            slack_s: 0.0,
        };
        assert_eq!(t.describe(), "≤ 1.15×");
        assert!(t.met(MS(1140), MS(1000)) && !t.met(MS(1160), MS(1000)));
        assert_eq!(ratio(MS(1500), MS(1000)), 1.5);
        assert_eq!(ratio(MS(1500), Duration::ZERO), 0.0);
    }

    #[test]
    fn timeline_marks_versions_and_failures() {
        let bucket = |versions: &[&str], failed: u64| Bucket {
            failed,
            versions: versions.iter().map(|v| (v.to_string(), 1)).collect(),
            ..Bucket::default()
        };
        let report = LoadReport {
            buckets: vec![
                bucket(&["v1"], 0),
                bucket(&["v1", "v2"], 0),
                bucket(&["v2"], 0),
                bucket(&["v2"], 1),
                bucket(&[], 0),
            ],
            ..LoadReport::default()
        };
        assert_eq!(timeline(&report), "1+22.");
        assert_eq!(failure_line(&report), "   x");
        let clean = LoadReport {
            buckets: vec![bucket(&["v1"], 0)],
            ..LoadReport::default()
        };
        assert_eq!(failure_line(&clean), "");
    }
}
