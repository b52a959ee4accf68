//! The waits of a rolling deploy, computed from the load balancer's health check. Pure
//! functions, unit-tested.
//!
//! DigitalOcean does not report whether its load balancer considers a droplet healthy, so
//! zdd-do computes how long the load balancer may take to notice a change from the settings
//! documented in `resources/load_balancers/models/health_check.yml` of the official spec:
//!
//! - `check_interval_seconds`: "the number of seconds between two consecutive health checks";
//! - `response_timeout_seconds`: "the number of seconds the load balancer instance will wait
//!   for a response until marking a health check as failed";
//! - `unhealthy_threshold`: "the number of times a health check must fail for a backend
//!   Droplet to be marked unhealthy and be removed from the pool";
//! - `healthy_threshold`: "the number of times a health check must pass for a backend Droplet
//!   to be marked healthy and be re-added to the pool".
//!
//! A change happens at some point between two checks. The first check that sees it starts
//! less than one interval later (the phase), the `n`-th `n - 1` intervals after that, and its
//! verdict takes up to one response timeout. So the worst case is
//!
//! - **unhealthy** (a drained droplet leaves the pool): `interval × unhealthy_threshold +
//!   response_timeout`;
//! - **healthy** (a put-back droplet joins the pool): `interval × healthy_threshold +
//!   response_timeout`.
//!
//! (`do_api::load_balancers::HealthCheck::time_to_healthy` is a looser bound,
//! `(interval + timeout) × threshold`, that assumes each check may take a full timeout and
//! still start one interval after the previous one ended.)
//!
//! The spec says droplets are assigned to a tag-based load balancer "as they are tagged"
//! (`loadBalancers_create.yml`) and documents no delay, neither for tagging nor untagging. The
//! `--lb-sync-wait` slack (default 5 s) is added wherever the load balancer must notice a tag or
//! droplet-list change: after taking a droplet out by tag, and before the healthy window after
//! putting it back.
//!
//! Every wait is multiplied by a scale factor (`wait_scale`, 1.0 in production) so tests and
//! simulations can run the protocol with the computed waits shrunk; reports show both values.

use std::fmt;
use std::time::Duration;

use do_api::load_balancers::HealthCheck;
use serde::Serialize;

use crate::report::secs;

/// What a wait is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitKind {
    /// Slack for the load balancer to notice a tag or droplet-list change (`--lb-sync-wait`).
    LbSync,
    /// In-flight requests finishing (`--drain-wait`).
    Drain,
    /// The load balancer's health check noticing a drained droplet fail.
    Detection,
    /// The load balancer's health check noticing a put-back droplet pass.
    Routing,
    /// The pause between two batches (`--batch-delay`).
    BatchDelay,
    /// The load balancer letting go of a droplet taken out (watched through it).
    Leave,
}

/// Whether a wait was watched or computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitHow {
    /// Computed from settings and slept: nothing could be observed.
    Computed,
    /// Ended by what was seen through the load balancer.
    Observed,
}

impl fmt::Display for WaitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WaitKind::LbSync => "lb sync",
            WaitKind::Drain => "drain",
            WaitKind::Detection => "unhealthy detection",
            WaitKind::Routing => "healthy detection",
            WaitKind::BatchDelay => "batch delay",
            WaitKind::Leave => "leaving the load balancer",
        })
    }
}

/// One wait: its computed length, the length applied (scaled, or as observed), and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Wait {
    /// What it is for.
    pub kind: WaitKind,
    /// Watched or computed.
    pub how: WaitHow,
    /// As computed from the settings (for an observed wait: what would have been slept).
    #[serde(with = "secs")]
    pub computed: Duration,
    /// As applied: `computed × wait_scale`, or the time it took to observe.
    #[serde(with = "secs")]
    pub applied: Duration,
    /// Where the number comes from.
    pub why: String,
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.how {
            WaitHow::Computed => {
                write!(f, "{} {}s", self.kind, fmt_secs(self.computed))?;
                if self.applied != self.computed {
                    write!(f, " (applied {}s)", fmt_secs(self.applied))?;
                }
            }
            WaitHow::Observed => write!(
                f,
                "{} observed in {}s (computed {}s)",
                self.kind,
                fmt_secs(self.applied),
                fmt_secs(self.computed)
            )?,
        }
        write!(f, ": {}", self.why)
    }
}

/// `30`, `1.5`, `0.03`: seconds without trailing zeros.
pub fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if (s - s.round()).abs() < 1e-9 {
        format!("{s:.0}")
    } else {
        format!("{s:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    }
}

/// Worst case for the load balancer to mark a failing droplet unhealthy and stop routing to
/// it: `interval × unhealthy_threshold + response_timeout` (see the module docs).
pub fn unhealthy_window(hc: &HealthCheck) -> Duration {
    Duration::from_secs(
        u64::from(hc.check_interval_seconds) * u64::from(hc.unhealthy_threshold)
            + u64::from(hc.response_timeout_seconds),
    )
}

/// Worst case for the load balancer to mark a passing droplet healthy and route to it:
/// `interval × healthy_threshold + response_timeout` (see the module docs).
pub fn healthy_window(hc: &HealthCheck) -> Duration {
    Duration::from_secs(
        u64::from(hc.check_interval_seconds) * u64::from(hc.healthy_threshold)
            + u64::from(hc.response_timeout_seconds),
    )
}

/// `Err` (what is wrong) when `scale` is not a finite non-negative number.
pub fn check_scale(scale: f64) -> Result<(), String> {
    if scale.is_finite() && scale >= 0.0 {
        Ok(())
    } else {
        Err(format!("wait scale {scale} is not a non-negative number"))
    }
}

/// `d × scale` (a scale that is not a finite non-negative number counts as 1).
pub fn scaled(d: Duration, scale: f64) -> Duration {
    if scale.is_finite() && scale >= 0.0 {
        d.mul_f64(scale)
    } else {
        d
    }
}

/// How a droplet is taken out of rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Drain {
    /// Remove the load balancer's tag (or droplet id), then wait for in-flight requests.
    Remove,
    /// Call the app's drain URL first, so that the load balancer's health check fails; wait
    /// for the load balancer to notice; then remove the tag.
    ShutdownUrl {
        /// Path of the drain URL on the droplet (same scheme and port as the health gate).
        path: String,
        /// HTTP method (`POST` by default).
        method: String,
    },
}

/// The waits that settle a take-out, in order.
pub fn take_out_waits(
    hc: &HealthCheck,
    drain: &Drain,
    drain_wait: Duration,
    lb_sync_wait: Duration,
    scale: f64,
) -> Vec<Wait> {
    let w = |kind, computed, why: String| Wait {
        kind,
        how: WaitHow::Computed,
        computed,
        applied: scaled(computed, scale),
        why,
    };
    let drain_item = w(
        WaitKind::Drain,
        drain_wait,
        "in-flight allowance: requests already sent to the droplet finish".into(),
    );
    match drain {
        Drain::Remove => vec![
            w(
                WaitKind::LbSync,
                lb_sync_wait,
                "sync wait: DigitalOcean documents no delay for the load balancer to drop an untagged droplet".into(),
            ),
            drain_item,
        ],
        Drain::ShutdownUrl { .. } => vec![
            w(
                WaitKind::Detection,
                unhealthy_window(hc),
                format!(
                    "health check every {}s × unhealthy threshold {} + response timeout {}s",
                    hc.check_interval_seconds, hc.unhealthy_threshold, hc.response_timeout_seconds
                ),
            ),
            drain_item,
        ],
    }
}

/// The waits after putting a droplet back, before the next batch may leave: the load
/// balancer noticing the change, then its health check passing the droplet.
pub fn put_back_waits(hc: &HealthCheck, lb_sync_wait: Duration, scale: f64) -> Vec<Wait> {
    let w = |kind, computed, why: String| Wait {
        kind,
        how: WaitHow::Computed,
        computed,
        applied: scaled(computed, scale),
        why,
    };
    vec![
        w(
            WaitKind::LbSync,
            lb_sync_wait,
            "sync wait: DigitalOcean documents no delay for the load balancer to pick up a tagged droplet".into(),
        ),
        w(
            WaitKind::Routing,
            healthy_window(hc),
            format!(
                "health check every {}s × healthy threshold {} + response timeout {}s",
                hc.check_interval_seconds, hc.healthy_threshold, hc.response_timeout_seconds
            ),
        ),
    ]
}

/// The pause between batches.
pub fn batch_delay(delay: Duration, scale: f64) -> Wait {
    Wait {
        kind: WaitKind::BatchDelay,
        how: WaitHow::Computed,
        computed: delay,
        applied: scaled(delay, scale),
        why: "the pause asked for between batches".into(),
    }
}

/// Sum of the applied waits.
pub fn total_applied(waits: &[Wait]) -> Duration {
    waits.iter().map(|w| w.applied).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hc(interval: u32, timeout: u32, unhealthy: u32, healthy: u32) -> HealthCheck {
        HealthCheck::http(80, "/")
            .check_interval_seconds(interval)
            .response_timeout_seconds(timeout)
            .unhealthy_threshold(unhealthy)
            .healthy_threshold(healthy)
    }

    #[test]
    fn windows_follow_the_documented_formulas() {
        // The spec's defaults: every 10 s, 5 s timeout, unhealthy after 5, healthy after 3.
        let d = HealthCheck::default();
        assert_eq!(unhealthy_window(&d), Duration::from_secs(10 * 5 + 5));
        assert_eq!(healthy_window(&d), Duration::from_secs(10 * 3 + 5));
        // A fast setting: every 1 s, 1 s timeout, 2 and 2.
        let fast = hc(1, 1, 2, 2);
        assert_eq!(unhealthy_window(&fast), Duration::from_secs(3));
        assert_eq!(healthy_window(&fast), Duration::from_secs(3));
        // Thresholds and timeout move the windows independently.
        let h = hc(5, 3, 4, 2);
        assert_eq!(unhealthy_window(&h), Duration::from_secs(23));
        assert_eq!(healthy_window(&h), Duration::from_secs(13));
        // Tighter than do-api's (interval + timeout) × threshold bound, never looser than
        // threshold intervals.
        assert!(healthy_window(&d) <= d.time_to_healthy());
        assert!(unhealthy_window(&d) <= d.time_to_unhealthy());
        assert!(healthy_window(&d) >= Duration::from_secs(10 * 3));
    }

    #[test]
    fn scaling_applies_to_every_wait_and_is_reported() {
        assert_eq!(
            scaled(Duration::from_secs(10), 0.01),
            Duration::from_millis(100)
        );
        assert_eq!(
            scaled(Duration::from_secs(10), f64::NAN),
            Duration::from_secs(10)
        );
        assert_eq!(
            scaled(Duration::from_secs(10), -1.0),
            Duration::from_secs(10)
        );
        let waits = put_back_waits(&hc(10, 5, 3, 3), Duration::from_secs(5), 0.1);
        assert_eq!(
            waits
                .iter()
                .map(|w| (w.kind, w.computed, w.applied))
                .collect::<Vec<_>>(),
            vec![
                (
                    WaitKind::LbSync,
                    Duration::from_secs(5),
                    Duration::from_millis(500)
                ),
                (
                    WaitKind::Routing,
                    Duration::from_secs(35),
                    Duration::from_millis(3500)
                ),
            ]
        );
        assert_eq!(total_applied(&waits), Duration::from_secs(4));
        assert_eq!(
            waits[1].to_string(),
            "healthy detection 35s (applied 3.5s): health check every 10s × healthy threshold 3 + response timeout 5s"
        );
    }

    #[test]
    fn take_out_waits_depend_on_the_drain_mode() {
        let h = hc(10, 5, 3, 3);
        let remove = take_out_waits(
            &h,
            &Drain::Remove,
            Duration::from_secs(15),
            Duration::from_secs(5),
            1.0,
        );
        assert_eq!(
            remove
                .iter()
                .map(|w| (w.kind, w.applied.as_secs()))
                .collect::<Vec<_>>(),
            vec![(WaitKind::LbSync, 5), (WaitKind::Drain, 15)]
        );
        let url = take_out_waits(
            &h,
            &Drain::ShutdownUrl {
                path: "/drain".into(),
                method: "POST".into(),
            },
            Duration::from_secs(15),
            Duration::from_secs(5),
            1.0,
        );
        assert_eq!(
            url.iter()
                .map(|w| (w.kind, w.applied.as_secs()))
                .collect::<Vec<_>>(),
            vec![(WaitKind::Detection, 35), (WaitKind::Drain, 15)]
        );
        assert_eq!(
            url[0].to_string(),
            "unhealthy detection 35s: health check every 10s × unhealthy threshold 3 + response timeout 5s"
        );
        assert_eq!(
            batch_delay(Duration::from_millis(1500), 1.0).to_string(),
            "batch delay 1.5s: the pause asked for between batches"
        );
    }
}
