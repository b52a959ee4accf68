//! The load balancer's own metrics (DigitalOcean's Monitoring API) as a judge: per-droplet
//! response rates by status class, 95th-percentile response time and health-check results,
//! summed into figures for the canaries and for the old droplets.
//!
//! DigitalOcean documents neither the resolution of these series nor the labels of the
//! per-droplet ones (only that load-balancer metrics carry `lb_id`). The droplet is read from
//! a `droplet_id` label (or `host_id`, the droplet metrics' name), the status class from
//! `class`, `code` or `status_code` (`5xx` or `503` alike); a series that names no droplet is
//! not attributed, and when none is, the judge says so and is inconclusive. Rates are per
//! second; a count is a rate times the spacing of its samples (the window, when a series has
//! one sample).

use std::collections::BTreeMap;

use do_api::monitoring::{LbMetric, Series};
use do_api::{Client, DropletId, LoadBalancerId};

use super::config::Thresholds;
use super::judge::{Figures, JudgeKind, JudgeResult, compare};

/// What the Monitoring API gave for one window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LbMetrics {
    /// `droplets_http_responses`: per droplet and status class, responses a second.
    pub responses: Vec<Series>,
    /// `droplets_http_response_time_95p`: per droplet, seconds.
    pub p95: Vec<Series>,
    /// `droplets_health_checks`: per droplet.
    pub health: Vec<Series>,
    /// `frontend_http_responses`: the load balancer's own answers by class, a second.
    pub frontend: Vec<Series>,
}

/// Read the four series for `lb` over `[start, end]` (unix seconds).
pub async fn fetch(
    client: &Client,
    lb: &LoadBalancerId,
    start: u64,
    end: u64,
) -> Result<LbMetrics, do_api::Error> {
    let m = client.monitoring();
    let get = |metric| m.load_balancer(metric, lb, start, end);
    Ok(LbMetrics {
        responses: get(LbMetric::DropletsHttpResponses).await?.data.result,
        p95: get(LbMetric::DropletsHttpResponseTime95p)
            .await?
            .data
            .result,
        health: get(LbMetric::DropletsHealthChecks).await?.data.result,
        frontend: get(LbMetric::FrontendHttpResponses).await?.data.result,
    })
}

/// The droplet a series is about, from its labels.
pub fn droplet_of(s: &Series) -> Option<DropletId> {
    ["droplet_id", "host_id", "droplet"]
        .iter()
        .find_map(|k| s.metric.get(*k))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(DropletId)
}

/// The status class (1 to 5) a series counts, from its labels.
pub fn class_of(s: &Series) -> Option<u8> {
    ["class", "code", "status_code"]
        .iter()
        .find_map(|k| s.metric.get(*k))
        .and_then(|v| v.trim().chars().next())
        .and_then(|c| c.to_digit(10))
        .and_then(|d| u8::try_from(d).ok())
}

/// The spacing of samples: the smallest gap between two of a series, or the window when no
/// series has two.
fn step(series: &[Series], window_secs: f64) -> f64 {
    series
        .iter()
        .flat_map(|s| {
            s.values
                .windows(2)
                .map(|w| (w[1].unix - w[0].unix).abs() as f64)
                .filter(|g| *g > 0.0)
        })
        .fold(None, |m: Option<f64>, g| Some(m.map_or(g, |m| m.min(g))))
        .unwrap_or(window_secs)
}

/// Sum of a series' finite values.
fn total(s: &Series) -> f64 {
    // A fold from +0: an empty `sum` of floats is -0, which prints as "-0".
    s.values
        .iter()
        .filter_map(|v| v.value)
        .fold(0.0, |a, v| a + v)
}

/// Figures for `group` from the metrics.
fn group_figures(m: &LbMetrics, group: &[DropletId], step: f64) -> Figures {
    let mine = |s: &&Series| droplet_of(s).is_some_and(|d| group.contains(&d));
    let mut f = Figures::default();
    for s in m.responses.iter().filter(mine) {
        let n = total(s) * step;
        f.requests += n;
        if class_of(s) == Some(5) {
            f.errors += n;
        }
    }
    let p95: Vec<f64> = m
        .p95
        .iter()
        .filter(mine)
        .flat_map(|s| s.values.iter().filter_map(|v| v.value))
        .collect();
    if !p95.is_empty() {
        f.p95_ms = Some(p95.iter().sum::<f64>() / p95.len() as f64 * 1000.0);
    }
    let checks: Vec<f64> = m
        .health
        .iter()
        .filter(mine)
        .flat_map(|s| s.values.iter().filter_map(|v| v.value))
        .collect();
    if !checks.is_empty() {
        f.health_checks_failed = Some(checks.iter().filter(|v| **v < 1.0).count() as f64);
    }
    f
}

/// Judge the canaries by the load balancer's metrics over a window of `window_secs`.
pub fn judge(
    m: &LbMetrics,
    canaries: &[DropletId],
    old: &[DropletId],
    window_secs: f64,
    t: &Thresholds,
) -> JudgeResult {
    let kind = JudgeKind::LbMetrics;
    if m.responses.is_empty() {
        return JudgeResult::inconclusive(
            kind,
            "the Monitoring API has no response metrics for the window yet (DigitalOcean documents no resolution: a window shorter than the metrics' period may have none)",
        );
    }
    if !m.responses.iter().any(|s| droplet_of(s).is_some()) {
        let labels: BTreeMap<&str, ()> = m
            .responses
            .iter()
            .flat_map(|s| s.metric.keys().map(|k| (k.as_str(), ())))
            .collect();
        return JudgeResult::inconclusive(
            kind,
            format!(
                "the response metrics name no droplet (labels: {})",
                labels.keys().copied().collect::<Vec<_>>().join(", ")
            ),
        );
    }
    let step = step(&m.responses, window_secs);
    let canary = group_figures(m, canaries, step);
    let old = group_figures(m, old, step);
    let mut r = compare(kind, canary, old, t);
    let frontend_errors: f64 = m
        .frontend
        .iter()
        .filter(|s| class_of(s) == Some(5))
        .map(|s| total(s) * step)
        .fold(0.0, |a, n| a + n);
    if !m.frontend.is_empty() {
        r.reason = format!(
            "{}; the load balancer answered about {frontend_errors:.0} error(s) in all",
            r.reason
        );
    }
    r
}

#[cfg(test)]
mod tests {
    use do_api::monitoring::Sample;

    use super::*;

    fn series(labels: &[(&str, &str)], values: &[(f64, f64)]) -> Series {
        Series::new(
            labels.iter().copied(),
            values
                .iter()
                .map(|(t, v)| Sample::new(*t as i64, Some(*v)))
                .collect(),
        )
    }

    /// Droplet 1 (the canary) and 2 (old), 10-second samples over 60 s.
    fn metrics(canary_5xx: f64, canary_p95: f64) -> LbMetrics {
        let six = |v: f64| -> Vec<(f64, f64)> {
            (1..=6).map(|i| (1000.0 + 10.0 * f64::from(i), v)).collect()
        };
        LbMetrics {
            responses: vec![
                series(
                    &[("droplet_id", "1"), ("class", "2xx")],
                    &six(10.0 - canary_5xx),
                ),
                series(&[("droplet_id", "1"), ("class", "5xx")], &six(canary_5xx)),
                series(&[("droplet_id", "2"), ("class", "2xx")], &six(10.0)),
            ],
            p95: vec![
                series(&[("droplet_id", "1")], &six(canary_p95)),
                series(&[("droplet_id", "2")], &six(0.010)),
            ],
            health: vec![
                series(&[("droplet_id", "1")], &six(1.0)),
                series(&[("droplet_id", "2")], &six(1.0)),
            ],
            frontend: vec![series(&[("class", "5xx")], &six(canary_5xx))],
        }
    }

    fn verdict(m: &LbMetrics) -> JudgeResult {
        judge(
            m,
            &[DropletId(1)],
            &[DropletId(2)],
            60.0,
            &Thresholds::default(),
        )
    }

    #[test]
    fn counts_are_rates_times_the_sample_spacing() {
        let r = verdict(&metrics(0.5, 0.012));
        assert_eq!(
            r.verdict,
            super::super::judge::Verdict::Fail,
            "{}",
            r.reason
        );
        let c = r.canary.expect("canary figures");
        assert_eq!((c.requests, c.errors), (600.0, 30.0));
        assert!(
            r.reason
                .starts_with("error rate 5.0% on the canaries (30 of 600)"),
            "{}",
            r.reason
        );
        assert!(
            r.reason.ends_with("answered about 30 error(s) in all"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn a_healthy_canary_passes_and_a_slow_one_fails() {
        assert_eq!(
            verdict(&metrics(0.0, 0.012)).verdict,
            super::super::judge::Verdict::Pass
        );
        let r = verdict(&metrics(0.0, 0.250));
        assert_eq!(r.verdict, super::super::judge::Verdict::Fail);
        assert!(r.reason.starts_with("p95 latency 250 ms"), "{}", r.reason);
    }

    #[test]
    fn a_load_balancer_without_errors_answered_0_not_minus_0() {
        let mut m = metrics(0.0, 0.012);
        m.frontend = vec![series(&[("class", "2xx")], &[(1010.0, 5.0)])];
        let r = verdict(&m);
        assert!(
            r.reason.ends_with("answered about 0 error(s) in all"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn no_metrics_or_unattributed_metrics_are_inconclusive() {
        let r = verdict(&LbMetrics::default());
        assert_eq!(r.verdict, super::super::judge::Verdict::Inconclusive);
        assert!(r.reason.contains("no response metrics"), "{}", r.reason);
        let mut m = metrics(0.0, 0.01);
        for s in &mut m.responses {
            s.metric.remove("droplet_id");
            s.metric.insert("lb_id".into(), "x".into());
        }
        let r = verdict(&m);
        assert_eq!(r.verdict, super::super::judge::Verdict::Inconclusive);
        assert!(
            r.reason.contains("name no droplet (labels: class, lb_id)"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn labels_in_other_spellings_are_read() {
        let s = series(&[("host_id", "7"), ("code", "503")], &[]);
        assert_eq!(
            (droplet_of(&s), class_of(&s)),
            (Some(DropletId(7)), Some(5))
        );
    }
}
