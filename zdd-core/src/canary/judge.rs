//! Judging, pure: figures of the canaries and of the droplets they joined, compared under the
//! thresholds; each judge's verdict; the analysis's verdict. A judge that cannot measure says
//! why and is inconclusive, which never counts as a pass.

use std::time::Duration;

use serde::Serialize;

use super::config::Thresholds;

/// A judge's (or the analysis's) conclusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The canaries are no worse than the old droplets.
    Pass,
    /// The canaries are worse: they are taken out and deleted.
    Fail,
    /// Nothing could be measured well enough to tell: treated as a failure.
    Inconclusive,
}

impl Verdict {
    /// `pass`, `fail` or `inconclusive`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JudgeKind {
    /// zdd-do's probes through the load balancer.
    Probes,
    /// The load balancer's metrics (DigitalOcean Monitoring).
    LbMetrics,
    /// The user's check.
    Check,
}

impl JudgeKind {
    /// How reports name it.
    pub fn label(self) -> &'static str {
        match self {
            JudgeKind::Probes => "probes",
            JudgeKind::LbMetrics => "lb-metrics",
            JudgeKind::Check => "check",
        }
    }
}

/// What one group of droplets (the canaries, or the old ones) showed over the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Requests counted (for the load balancer's metrics: estimated from its rates).
    pub requests: f64,
    /// Of which failed (an answer of 500 or more, or none).
    pub errors: f64,
    /// 95th-percentile response time, in milliseconds, when measured.
    pub p95_ms: Option<f64>,
    /// Health checks the load balancer failed, when measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_checks_failed: Option<f64>,
}

impl Figures {
    /// The share of requests that failed, when any were counted.
    pub fn error_rate(&self) -> Option<f64> {
        (self.requests > 0.0).then(|| self.errors / self.requests)
    }
}

/// One judge's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JudgeResult {
    /// Who judged.
    pub judge: JudgeKind,
    /// What it concluded.
    pub verdict: Verdict,
    /// Why, in a sentence with the figures.
    pub reason: String,
    /// The canaries' figures, when measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary: Option<Figures>,
    /// The old droplets' figures over the same window, when measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Figures>,
}

impl JudgeResult {
    /// A judge that could not measure.
    pub fn inconclusive(judge: JudgeKind, reason: impl Into<String>) -> Self {
        JudgeResult {
            judge,
            verdict: Verdict::Inconclusive,
            reason: reason.into(),
            canary: None,
            old: None,
        }
    }
}

fn pct(r: f64) -> String {
    format!("{:.1}%", r * 100.0)
}

/// Compare the canaries with the old droplets under `t`: error rate first, then latency.
pub fn compare(judge: JudgeKind, canary: Figures, old: Figures, t: &Thresholds) -> JudgeResult {
    let result = |verdict, reason: String| JudgeResult {
        judge,
        verdict,
        reason,
        canary: Some(canary.clone()),
        old: Some(old.clone()),
    };
    let min = t.min_requests as f64;
    if canary.requests < min {
        return result(
            Verdict::Inconclusive,
            format!(
                "{:.0} request(s) reached the canaries; at least {} are needed to judge",
                canary.requests, t.min_requests
            ),
        );
    }
    if old.requests < min {
        return result(
            Verdict::Inconclusive,
            format!(
                "{:.0} request(s) reached the old droplets; at least {} are needed to compare",
                old.requests, t.min_requests
            ),
        );
    }
    let (cr, or) = (
        canary.error_rate().unwrap_or(0.0),
        old.error_rate().unwrap_or(0.0),
    );
    if let Some(failed) = canary.health_checks_failed.filter(|f| *f > 0.0) {
        return result(
            Verdict::Fail,
            format!("the load balancer's health checks failed the canaries {failed:.0} time(s)"),
        );
    }
    if cr > or + t.max_error_rate_increase {
        return result(
            Verdict::Fail,
            format!(
                "error rate {} on the canaries ({:.0} of {:.0}) against {} on the old droplets; at most {:.1} points more is allowed",
                pct(cr),
                canary.errors,
                canary.requests,
                pct(or),
                t.max_error_rate_increase * 100.0
            ),
        );
    }
    let errors = format!("error rate {} against {}", pct(cr), pct(or));
    match (canary.p95_ms, old.p95_ms) {
        (Some(c), Some(o)) => {
            let allowed = o * t.max_p95_ratio + t.p95_slack.as_secs_f64() * 1000.0;
            if c > allowed {
                result(
                    Verdict::Fail,
                    format!(
                        "p95 latency {c:.0} ms on the canaries against {o:.0} ms on the old droplets; at most {allowed:.0} ms is allowed ({errors})"
                    ),
                )
            } else {
                result(
                    Verdict::Pass,
                    format!("{errors}; p95 {c:.0} ms against {o:.0} ms (at most {allowed:.0} ms)"),
                )
            }
        }
        _ => result(Verdict::Pass, format!("{errors}; latency not measured")),
    }
}

/// The analysis's verdict: a failure anywhere fails; otherwise anything inconclusive (or no
/// judge at all) is inconclusive; only every judge passing passes.
pub fn combine(results: &[JudgeResult]) -> Verdict {
    if results.iter().any(|r| r.verdict == Verdict::Fail) {
        Verdict::Fail
    } else if results.is_empty() || results.iter().any(|r| r.verdict == Verdict::Inconclusive) {
        Verdict::Inconclusive
    } else {
        Verdict::Pass
    }
}

/// The 95th percentile of `samples` (nearest rank), in milliseconds.
pub fn p95_ms(samples: &mut [Duration]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let rank = ((samples.len() as f64) * 0.95).ceil() as usize;
    Some(samples[rank.clamp(1, samples.len()) - 1].as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figs(requests: f64, errors: f64, p95: f64) -> Figures {
        Figures {
            requests,
            errors,
            p95_ms: Some(p95),
            health_checks_failed: None,
        }
    }

    fn judge(c: Figures, o: Figures) -> JudgeResult {
        compare(JudgeKind::Probes, c, o, &Thresholds::default())
    }

    #[test]
    fn a_canary_like_the_old_droplets_passes() {
        let r = judge(figs(200.0, 1.0, 12.0), figs(600.0, 3.0, 11.0));
        assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    }

    #[test]
    fn an_error_rate_above_the_allowance_fails_with_its_figures() {
        let r = judge(figs(200.0, 10.0, 12.0), figs(600.0, 0.0, 11.0));
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(
            r.reason
                .starts_with("error rate 5.0% on the canaries (10 of 200) against 0.0%"),
            "{}",
            r.reason
        );
        // Just at the allowance: 1 point above the old droplets' rate passes.
        let r = judge(figs(200.0, 4.0, 12.0), figs(600.0, 6.0, 11.0));
        assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    }

    #[test]
    fn latency_fails_beyond_ratio_and_slack() {
        // 11 ms × 1.5 + 25 ms = 41.5 ms allowed.
        assert_eq!(
            judge(figs(200.0, 0.0, 41.0), figs(600.0, 0.0, 11.0)).verdict,
            Verdict::Pass
        );
        let r = judge(figs(200.0, 0.0, 212.0), figs(600.0, 0.0, 11.0));
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(
            r.reason
                .starts_with("p95 latency 212 ms on the canaries against 11 ms"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn too_few_requests_is_inconclusive_never_a_pass() {
        let r = judge(figs(20.0, 0.0, 1.0), figs(600.0, 0.0, 1.0));
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert!(
            r.reason.contains("20 request(s) reached the canaries"),
            "{}",
            r.reason
        );
        let r = judge(figs(200.0, 0.0, 1.0), figs(10.0, 0.0, 1.0));
        assert_eq!(r.verdict, Verdict::Inconclusive);
    }

    #[test]
    fn failed_health_checks_fail() {
        let mut c = figs(200.0, 0.0, 1.0);
        c.health_checks_failed = Some(2.0);
        assert_eq!(judge(c, figs(600.0, 0.0, 1.0)).verdict, Verdict::Fail);
    }

    #[test]
    fn the_analysis_passes_only_when_every_judge_passes() {
        let r = |v| JudgeResult {
            verdict: v,
            ..JudgeResult::inconclusive(JudgeKind::Probes, "")
        };
        assert_eq!(
            combine(&[r(Verdict::Pass), r(Verdict::Pass)]),
            Verdict::Pass
        );
        assert_eq!(
            combine(&[r(Verdict::Pass), r(Verdict::Inconclusive)]),
            Verdict::Inconclusive
        );
        assert_eq!(
            combine(&[r(Verdict::Inconclusive), r(Verdict::Fail)]),
            Verdict::Fail
        );
        assert_eq!(combine(&[]), Verdict::Inconclusive);
    }

    #[test]
    fn p95_is_the_nearest_rank() {
        let mut v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(p95_ms(&mut v), Some(95.0));
        assert_eq!(p95_ms(&mut [Duration::from_millis(7)]), Some(7.0));
        assert_eq!(p95_ms(&mut []), None);
    }
}
