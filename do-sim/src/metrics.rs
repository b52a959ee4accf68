//! The Monitoring API's load-balancer metrics, computed from the traffic each load balancer's
//! proxy actually served and the health checks it actually ran.
//!
//! Shape: `resources/monitoring/models/metrics.yml`, `metrics_data.yml` and
//! `metrics_result.yml` (a range query's matrix), built from do-api's own types. Served as
//! `GET /v2/monitoring/metrics/load_balancer/{metric}?lb_id=&start=&end=` for four metrics:
//!
//! | metric | one series per | value of a sample |
//! |---|---|---|
//! | `droplets_http_responses` | droplet and status class (`lb_id`, `droplet_id`, `class`) | answers of that class from that droplet a second over the period (count / period) |
//! | `droplets_http_response_time_95p` | droplet (`lb_id`, `droplet_id`) | its 95th-percentile response time in seconds |
//! | `droplets_health_checks` | droplet (`lb_id`, `droplet_id`) | the share of its health checks that passed (1 = all) |
//! | `frontend_http_responses` | status class (`lb_id`, `class`) | answers of that class the load balancer gave a second |
//!
//! **The labels `droplet_id` and `class` (`"2xx"`, `"5xx"`, ...) are the simulator's
//! assumption**: DigitalOcean documents only `lb_id` for load-balancer metrics.
//!
//! What is counted: for every request the proxy sent on to a droplet, that droplet, the class
//! of the answer (5xx for the proxy's own 502 when the droplet did not answer) and the time from
//! sending to the answer's head (to the failure, for a 502); for the frontend, every answer the
//! load balancer gave, its own 503 (no droplet in rotation) and 502 included; every health
//! check's result, per droplet. A request whose client went away before the answer's head is
//! not counted (the load balancer answered nobody).
//!
//! Time: fixed buckets of the metrics period `p` ([`crate::SimConfig::metrics_period`], whole
//! seconds of wall time) aligned to unix time: bucket k covers `[k·p, (k+1)·p)`, an answer falls
//! in the bucket of the instant it came back. Only closed buckets (end ≤ now) are served; a
//! sample's timestamp is its bucket's end; a query returns the samples whose timestamp lies in
//! `[start, end]`. A bucket in which a droplet gave no answer (or had no check) has no sample
//! for it: nothing is invented. Where a droplet did answer, every class series it has in the
//! window gets a sample (0 for a class it did not answer with), as a rate of a counter would.
//!
//! Memory: the last [`HISTORY`] buckets per load balancer (25 hours at the default 60 s; about
//! 25 minutes at 1 s); response times go into a histogram of 16 bins per doubling (each bin
//! about 4.4 % wide), kept sparse. The p95 is the upper edge of the bin holding the
//! nearest-rank 95th percentile, capped at the slowest answer: never below the true value, at
//! most one bin (4.4 %) above it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use do_api::monitoring::{LbMetric, Metrics, Sample, Series};

/// Buckets kept per load balancer.
pub(crate) const HISTORY: u64 = 1500;

/// Bins per doubling of the response-time histogram.
const BINS_PER_OCTAVE: f64 = 16.0;

/// Now, in unix seconds with a fraction.
pub(crate) fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// The class of `status`: 0 for 1xx ... 4 for 5xx (anything beyond counts as 5xx).
fn class_index(status: u16) -> usize {
    usize::from((status / 100).clamp(1, 5) - 1)
}

/// Response times: a sparse log-scale histogram, in microseconds.
#[derive(Debug, Clone, Default)]
struct Times {
    bins: BTreeMap<u16, u32>,
    count: u64,
    max: Duration,
}

impl Times {
    fn add(&mut self, d: Duration) {
        let us = (d.as_secs_f64() * 1e6).max(1.0);
        let bin = (us.log2() * BINS_PER_OCTAVE)
            .floor()
            .clamp(0.0, f64::from(u16::MAX)) as u16;
        *self.bins.entry(bin).or_default() += 1;
        self.count += 1;
        self.max = self.max.max(d);
    }

    /// The 95th percentile in seconds (nearest rank; see the module's docs).
    fn p95(&self) -> Option<f64> {
        let rank = (self.count as f64 * 0.95).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (bin, n) in &self.bins {
            seen += u64::from(*n);
            if seen >= rank {
                let upper_us = 2f64.powf(f64::from(*bin + 1) / BINS_PER_OCTAVE);
                return Some((upper_us / 1e6).min(self.max.as_secs_f64()));
            }
        }
        None
    }
}

/// One droplet in one bucket.
#[derive(Debug, Clone, Default)]
struct DropletBucket {
    by_class: [u64; 5],
    times: Times,
    checks: u32,
    passed: u32,
}

impl DropletBucket {
    fn answered(&self) -> bool {
        self.by_class.iter().any(|n| *n > 0)
    }
}

/// One period.
#[derive(Debug, Clone)]
struct Bucket {
    k: u64,
    droplets: BTreeMap<u64, DropletBucket>,
    frontend: [u64; 5],
}

/// One load balancer's metrics.
#[derive(Debug, Clone)]
pub(crate) struct LbMetrics {
    /// The period, whole seconds (at least 1).
    period: u64,
    /// Oldest first.
    buckets: VecDeque<Bucket>,
}

impl LbMetrics {
    pub(crate) fn new(period_secs: u64) -> Self {
        LbMetrics {
            period: period_secs.max(1),
            buckets: VecDeque::new(),
        }
    }

    /// The bucket of instant `at` (unix seconds), made if need be; `None` when it is older
    /// than the history kept.
    fn bucket(&mut self, at: f64) -> Option<&mut Bucket> {
        let k = (at.max(0.0) / self.period as f64).floor() as u64;
        let newest = self.buckets.back().map_or(k, |b| b.k.max(k));
        if k + HISTORY <= newest {
            return None;
        }
        while self
            .buckets
            .front()
            .is_some_and(|b| b.k + HISTORY <= newest)
        {
            self.buckets.pop_front();
        }
        let i = match self.buckets.binary_search_by_key(&k, |b| b.k) {
            Ok(i) => i,
            Err(i) => {
                self.buckets.insert(
                    i,
                    Bucket {
                        k,
                        droplets: BTreeMap::new(),
                        frontend: [0; 5],
                    },
                );
                i
            }
        };
        self.buckets.get_mut(i)
    }

    /// The load balancer answered its client with `status`, at `at` (unix seconds).
    pub(crate) fn frontend(&mut self, at: f64, status: u16) {
        if let Some(b) = self.bucket(at) {
            b.frontend[class_index(status)] += 1;
        }
    }

    /// Droplet `droplet`'s answer (or the proxy's 502 for it) came back at `at`, `took` after
    /// the request was sent.
    pub(crate) fn backend(&mut self, at: f64, droplet: u64, status: u16, took: Duration) {
        if let Some(b) = self.bucket(at) {
            let d = b.droplets.entry(droplet).or_default();
            d.by_class[class_index(status)] += 1;
            d.times.add(took);
        }
    }

    /// A health check of `droplet` ended at `at`.
    pub(crate) fn health_check(&mut self, at: f64, droplet: u64, passed: bool) {
        if let Some(b) = self.bucket(at) {
            let d = b.droplets.entry(droplet).or_default();
            d.checks += 1;
            d.passed += u32::from(passed);
        }
    }

    /// `metric` of load balancer `lb_id` over the closed buckets whose end lies in
    /// `[start, end]`, as of `now` (unix seconds).
    pub(crate) fn query(
        &self,
        metric: LbMetric,
        lb_id: &str,
        start: u64,
        end: u64,
        now: f64,
    ) -> Metrics {
        let p = self.period;
        let ts = |b: &Bucket| (b.k + 1) * p;
        let window: Vec<&Bucket> = self
            .buckets
            .iter()
            .filter(|b| ts(b) as f64 <= now && (start..=end).contains(&ts(b)))
            .collect();
        let sample = |b: &Bucket, v: f64| Sample::new(ts(b) as i64, Some(v));
        let rate = |n: u64| n as f64 / p as f64;
        let droplet_series = |d: u64, class: Option<usize>, values: Vec<Sample>| {
            let mut labels = vec![("lb_id", lb_id.to_owned()), ("droplet_id", d.to_string())];
            if let Some(c) = class {
                labels.push(("class", format!("{}xx", c + 1)));
            }
            Series::new(labels, values)
        };
        let droplets: BTreeSet<u64> = window
            .iter()
            .flat_map(|b| b.droplets.keys().copied())
            .collect();
        let per_droplet = |keep: &dyn Fn(&DropletBucket) -> Option<f64>| -> Vec<Series> {
            droplets
                .iter()
                .filter_map(|d| {
                    let values: Vec<Sample> = window
                        .iter()
                        .filter_map(|b| {
                            let v = b.droplets.get(d).and_then(keep)?;
                            Some(sample(b, v))
                        })
                        .collect();
                    (!values.is_empty()).then(|| droplet_series(*d, None, values))
                })
                .collect()
        };
        let result = match metric {
            LbMetric::DropletsHttpResponses => {
                let mut keys = BTreeSet::new();
                for b in &window {
                    for (d, db) in &b.droplets {
                        for (c, n) in db.by_class.iter().enumerate() {
                            if *n > 0 {
                                keys.insert((*d, c));
                            }
                        }
                    }
                }
                keys.into_iter()
                    .map(|(d, c)| {
                        let values = window
                            .iter()
                            .filter_map(|b| {
                                let db = b.droplets.get(&d).filter(|db| db.answered())?;
                                Some(sample(b, rate(db.by_class[c])))
                            })
                            .collect();
                        droplet_series(d, Some(c), values)
                    })
                    .collect()
            }
            LbMetric::DropletsHttpResponseTime95p => per_droplet(&|db| db.times.p95()),
            LbMetric::DropletsHealthChecks => per_droplet(&|db| {
                (db.checks > 0).then(|| f64::from(db.passed) / f64::from(db.checks))
            }),
            LbMetric::FrontendHttpResponses => {
                let classes: BTreeSet<usize> = window
                    .iter()
                    .flat_map(|b| (0..5).filter(|c| b.frontend[*c] > 0))
                    .collect();
                classes
                    .into_iter()
                    .map(|c| {
                        let values = window
                            .iter()
                            .filter(|b| b.frontend.iter().any(|n| *n > 0))
                            .map(|b| sample(b, rate(b.frontend[c])))
                            .collect();
                        Series::new(
                            [
                                ("lb_id", lb_id.to_owned()),
                                ("class", format!("{}xx", c + 1)),
                            ],
                            values,
                        )
                    })
                    .collect()
            }
            // A metric do-api learns later: the simulator has no figures for it.
            _ => Vec::new(),
        };
        Metrics::success(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A series as (sorted labels, samples).
    type Plain = (Vec<(String, String)>, Vec<(i64, f64)>);

    fn values(m: &Metrics) -> Vec<Plain> {
        m.data
            .result
            .iter()
            .map(|s| {
                (
                    s.metric
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    s.values
                        .iter()
                        .map(|x| (x.unix, x.value.unwrap()))
                        .collect(),
                )
            })
            .collect()
    }

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn closed_buckets_only_rates_per_period_and_no_invented_samples() {
        let mut m = LbMetrics::new(10);
        let ms = Duration::from_millis;
        // Bucket [100, 110): droplet 1 answers 2xx three times and 5xx once, droplet 2 once.
        for _ in 0..3 {
            m.backend(101.0, 1, 200, ms(10));
            m.frontend(101.0, 200);
        }
        m.backend(105.0, 1, 500, ms(10));
        m.frontend(105.0, 500);
        m.backend(109.9, 2, 204, ms(10));
        m.frontend(109.9, 204);
        m.frontend(109.9, 503);
        // Bucket [120, 130): droplet 1 only, 2xx; still open at 125.
        m.backend(121.0, 1, 200, ms(10));
        m.health_check(121.0, 2, true);
        let q = |metric, now| m.query(metric, "lb", 0, 1000, now);

        let r = q(LbMetric::DropletsHttpResponses, 125.0);
        assert_eq!(
            values(&r),
            [
                (
                    labels(&[("lb_id", "lb"), ("droplet_id", "1"), ("class", "2xx")]),
                    vec![(110, 0.3)]
                ),
                (
                    labels(&[("lb_id", "lb"), ("droplet_id", "1"), ("class", "5xx")]),
                    vec![(110, 0.1)]
                ),
                (
                    labels(&[("lb_id", "lb"), ("droplet_id", "2"), ("class", "2xx")]),
                    vec![(110, 0.1)]
                ),
            ]
        );
        // Once [120, 130) closes, droplet 1's 5xx gets a measured 0 there, droplet 2 nothing.
        let r = q(LbMetric::DropletsHttpResponses, 130.0);
        let v = values(&r);
        assert_eq!(v[0].1, [(110, 0.3), (130, 0.1)]);
        assert_eq!(v[1].1, [(110, 0.1), (130, 0.0)]);
        assert_eq!(v[2].1, [(110, 0.1)]);
        // The window is on the samples' timestamps, both ends included.
        let r = m.query(LbMetric::DropletsHttpResponses, "lb", 111, 130, 200.0);
        assert_eq!(
            values(&r),
            [(
                labels(&[("lb_id", "lb"), ("droplet_id", "1"), ("class", "2xx")]),
                vec![(130, 0.1)]
            )],
            "a class series exists where it counted something; droplet 2 has no sample"
        );
        let r = m.query(LbMetric::DropletsHttpResponses, "lb", 110, 110, 200.0);
        assert_eq!(values(&r).len(), 3);

        let r = q(LbMetric::FrontendHttpResponses, 130.0);
        assert_eq!(
            values(&r),
            [
                (
                    labels(&[("lb_id", "lb"), ("class", "2xx")]),
                    vec![(110, 0.4)]
                ),
                (
                    labels(&[("lb_id", "lb"), ("class", "5xx")]),
                    vec![(110, 0.2)]
                ),
            ]
        );
        let r = q(LbMetric::DropletsHealthChecks, 130.0);
        assert_eq!(
            values(&r),
            [(
                labels(&[("lb_id", "lb"), ("droplet_id", "2")]),
                vec![(130, 1.0)]
            )]
        );
        assert!(
            q(LbMetric::DropletsHealthChecks, 129.0)
                .data
                .result
                .is_empty()
        );
    }

    #[test]
    fn health_is_the_share_passed_and_p95_is_close_above() {
        let mut m = LbMetrics::new(1);
        for i in 0..4 {
            m.health_check(10.5, 7, i != 0);
        }
        for i in 1..=100u64 {
            m.backend(10.5, 7, 200, Duration::from_millis(i));
        }
        let h = m.query(LbMetric::DropletsHealthChecks, "lb", 0, 20, 11.0);
        assert_eq!(h.data.result[0].values, [Sample::new(11, Some(0.75))]);
        let p = m.query(LbMetric::DropletsHttpResponseTime95p, "lb", 0, 20, 11.0);
        let v = p.data.result[0].values[0].value.unwrap();
        assert!((0.095..=0.095 * 1.045).contains(&v), "{v}");
        // Capped at the slowest answer.
        let mut m = LbMetrics::new(1);
        m.backend(1.0, 1, 200, Duration::from_millis(200));
        let p = m.query(LbMetric::DropletsHttpResponseTime95p, "lb", 0, 20, 3.0);
        assert_eq!(p.data.result[0].values[0].value, Some(0.2));
    }

    #[test]
    fn history_is_bounded() {
        let mut m = LbMetrics::new(1);
        for t in 0..(HISTORY + 10) {
            m.frontend(t as f64, 200);
        }
        assert_eq!(m.buckets.len() as u64, HISTORY);
        assert_eq!(m.buckets[0].k, 10);
        // A late answer for a bucket still kept lands in it, in order.
        m.frontend(500.5, 500);
        assert_eq!(m.buckets.len() as u64, HISTORY);
        let r = m.query(LbMetric::FrontendHttpResponses, "lb", 501, 501, 1e9);
        assert_eq!(r.data.result.len(), 2);
        // One older than that is dropped.
        m.frontend(3.0, 500);
        assert_eq!(m.buckets[0].k, 10);
    }
}
