//! What a canary is asked for: how many droplets, how long they are held, which judges look at
//! them and the thresholds each applies.

use std::time::Duration;

use serde::Serialize;

use crate::report::secs;

/// How many of the new droplets are canaries.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum CanarySize {
    /// This many droplets.
    Count(usize),
    /// This share of the new droplets, in percent, rounded up (at least one).
    Percent(f64),
}

impl CanarySize {
    /// The number of canaries among `total` new droplets: at least one, at most all of them
    /// (they are judged against the old droplets they join, which serve until they pass).
    pub fn of(self, total: usize) -> usize {
        let n = match self {
            CanarySize::Count(n) => n,
            CanarySize::Percent(p) => ((total as f64) * p / 100.0).ceil() as usize,
        };
        n.clamp(1, total.max(1))
    }
}

/// The judges a canary analysis asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Judges {
    /// zdd-do's own probes through the load balancer, each answer attributed to the droplet
    /// that served it.
    pub probes: bool,
    /// The load balancer's metrics from DigitalOcean's Monitoring API.
    pub lb_metrics: bool,
    /// The user's own check (a command; the caller supplies it as a
    /// [`super::CanaryCheck`]).
    pub check: bool,
}

impl Default for Judges {
    fn default() -> Self {
        Judges {
            probes: true,
            lb_metrics: false,
            check: false,
        }
    }
}

/// When a canary fails, compared with the droplets it joined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thresholds {
    /// The canaries fail when their error rate (answers ≥ 500, or none) is more than this
    /// above the old droplets' (a fraction: 0.01 is one percentage point).
    pub max_error_rate_increase: f64,
    /// The canaries fail when their 95th-percentile latency is above the old droplets' times
    /// this plus [`Thresholds::p95_slack`].
    pub max_p95_ratio: f64,
    /// Latency added to the allowed p95, so that a millisecond of jitter on a fast app is no
    /// regression.
    #[serde(with = "secs")]
    pub p95_slack: Duration,
    /// A judge that saw fewer requests than this reach the canaries (or the old droplets)
    /// cannot tell: inconclusive.
    pub min_requests: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_error_rate_increase: 0.01,
            max_p95_ratio: 1.5,
            p95_slack: Duration::from_millis(25),
            min_requests: 50,
        }
    }
}

/// A canary analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CanaryConfig {
    /// How many new droplets join first.
    pub size: CanarySize,
    /// How long they take traffic before they are judged.
    #[serde(with = "secs")]
    pub window: Duration,
    /// The path the probes ask through the load balancer (a page of the app, not its health
    /// check: a release can pass its health check and fail its users).
    pub path: String,
    /// Who judges.
    pub judges: Judges,
    /// When they fail the canaries.
    pub thresholds: Thresholds,
    /// The probes' target rate of answers from the canaries over the window (the rate is
    /// derived from the canaries' share of the fleet, between 5 and 100 probes a second).
    pub probe_target: u64,
}

/// The field of a [`CanaryConfig`] a check refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CanaryField {
    /// [`CanaryConfig::size`].
    Size,
    /// [`CanaryConfig::window`].
    Window,
    /// [`CanaryConfig::path`].
    Path,
    /// [`CanaryConfig::judges`].
    Judges,
    /// [`Thresholds::max_error_rate_increase`].
    MaxErrorRateIncrease,
    /// [`Thresholds::max_p95_ratio`].
    MaxP95Ratio,
    /// [`Thresholds::min_requests`].
    MinRequests,
}

impl CanaryConfig {
    /// `size` canaries held for `window`, judged by zdd-do's probes of `/` with the default
    /// thresholds.
    pub fn new(size: CanarySize, window: Duration) -> Self {
        CanaryConfig {
            size,
            window,
            path: "/".into(),
            judges: Judges::default(),
            thresholds: Thresholds::default(),
            probe_target: 600,
        }
    }

    /// Refuse what cannot be judged, naming the field.
    pub fn check(&self) -> Result<(), (CanaryField, String)> {
        match self.size {
            CanarySize::Count(0) => {
                return Err((
                    CanaryField::Size,
                    "a canary of 0 droplets judges nothing; give at least 1".into(),
                ));
            }
            CanarySize::Percent(p) if !(p > 0.0 && p < 100.0) => {
                return Err((
                    CanaryField::Size,
                    format!(
                        "a canary of {p}% is not a part of the fleet; give a share above 0 and below 100"
                    ),
                ));
            }
            _ => {}
        }
        if self.window < Duration::from_secs(1) {
            return Err((CanaryField::Window, "an analysis window under 1 s cannot see traffic; give at least 1s (minutes on a real fleet)".into()));
        }
        if !self.path.starts_with('/') {
            return Err((
                CanaryField::Path,
                format!("`{}` is not a path; give one starting with /", self.path),
            ));
        }
        let j = self.judges;
        if !(j.probes || j.lb_metrics || j.check) {
            return Err((
                CanaryField::Judges,
                "a canary needs at least one judge".into(),
            ));
        }
        let t = &self.thresholds;
        if !(0.0..=1.0).contains(&t.max_error_rate_increase) {
            return Err((
                CanaryField::MaxErrorRateIncrease,
                format!(
                    "an error-rate increase of {} points is not between 0 and 100",
                    t.max_error_rate_increase * 100.0
                ),
            ));
        }
        if !(t.max_p95_ratio >= 1.0 && t.max_p95_ratio.is_finite()) {
            return Err((
                CanaryField::MaxP95Ratio,
                format!(
                    "a p95 ratio of {} would fail a canary as fast as the old droplets; give 1 or more",
                    t.max_p95_ratio
                ),
            ));
        }
        if t.min_requests == 0 {
            return Err((
                CanaryField::MinRequests,
                "judging on 0 requests judges nothing; give at least 1".into(),
            ));
        }
        Ok(())
    }

    /// Probes a second through the load balancer so that about
    /// [`CanaryConfig::probe_target`] answers come from the `canaries` of `fleet` droplets
    /// over the window.
    pub fn probe_rate(&self, canaries: usize, fleet: usize) -> f64 {
        let share = canaries.max(1) as f64 / fleet.max(1) as f64;
        (self.probe_target as f64 / share / self.window.as_secs_f64()).clamp(5.0, 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canary_is_at_least_one_droplet_and_at_most_the_new_fleet() {
        assert_eq!(CanarySize::Count(1).of(10), 1);
        assert_eq!(CanarySize::Count(3).of(10), 3);
        assert_eq!(CanarySize::Count(12).of(10), 10);
        assert_eq!(CanarySize::Percent(10.0).of(10), 1);
        assert_eq!(CanarySize::Percent(25.0).of(10), 3);
        assert_eq!(CanarySize::Percent(1.0).of(3), 1);
        assert_eq!(CanarySize::Count(1).of(1), 1);
    }

    #[test]
    fn checks_name_the_field() {
        let ok = CanaryConfig::new(CanarySize::Count(1), Duration::from_secs(60));
        assert_eq!(ok.check(), Ok(()));
        let bad = |f: &dyn Fn(&mut CanaryConfig)| {
            let mut c = ok.clone();
            f(&mut c);
            c.check().unwrap_err().0
        };
        assert_eq!(bad(&|c| c.size = CanarySize::Count(0)), CanaryField::Size);
        assert_eq!(
            bad(&|c| c.size = CanarySize::Percent(100.0)),
            CanaryField::Size
        );
        assert_eq!(
            bad(&|c| c.window = Duration::from_millis(500)),
            CanaryField::Window
        );
        assert_eq!(bad(&|c| c.path = "health".into()), CanaryField::Path);
        assert_eq!(
            bad(&|c| c.judges = Judges {
                probes: false,
                lb_metrics: false,
                check: false
            }),
            CanaryField::Judges
        );
        assert_eq!(
            bad(&|c| c.thresholds.max_p95_ratio = 0.9),
            CanaryField::MaxP95Ratio
        );
        assert_eq!(
            bad(&|c| c.thresholds.min_requests = 0),
            CanaryField::MinRequests
        );
    }

    #[test]
    fn the_probe_rate_follows_the_canaries_share() {
        let c = CanaryConfig::new(CanarySize::Count(1), Duration::from_secs(120));
        // 600 answers from 1 canary of 4 in 120 s: 20 probes a second.
        assert!((c.probe_rate(1, 4) - 20.0).abs() < 1e-9);
        // Capped for short windows, floored for long ones.
        assert_eq!(c.probe_rate(1, 10), 50.0);
        let short = CanaryConfig::new(CanarySize::Count(1), Duration::from_secs(5));
        assert_eq!(short.probe_rate(1, 4), 100.0);
        let long = CanaryConfig::new(CanarySize::Count(1), Duration::from_secs(3600));
        assert_eq!(long.probe_rate(1, 2), 5.0);
    }
}
