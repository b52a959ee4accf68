//! Load-balancer metrics from the Monitoring API (`resources/monitoring/` in the official spec):
//! `GET /v2/monitoring/metrics/load_balancer/<metric>?lb_id=&start=&end=`, one operation per
//! [`LbMetric`] (`monitoring_get_lb_droplets_http_responses.yml` and its three siblings). Model:
//! `resources/monitoring/models/metrics.yml`, `metrics_data.yml`, `metrics_result.yml`.
//!
//! Needs the `monitoring:read` scope. The answer is a range query's matrix, in the shape
//! Prometheus gives: `{"status": "success", "data": {"resultType": "matrix", "result": [{"metric":
//! {<labels>}, "values": [[<unix>, "<value>"], ...]}]}}`, one [`Series`] per combination of
//! labels.
//!
//! **Which labels a series carries is not documented for these metrics.** The spec says only
//! that "load balancer metrics contain a `lb_id` label" (`metrics_result.yml`); its one example
//! shows a droplet metric's `host_id`. How the droplet metrics tell droplets apart, or the
//! response metrics tell status codes apart, DigitalOcean does not say: read labels with
//! [`Series::label`] and check what the live API sends before relying on a name.
//!
//! Samples are tolerant: a timestamp or a value may be a JSON integer, a float or a string (the
//! spec says `oneOf: integer, string`); a value that is not a finite number (`"NaN"`, `"+Inf"`,
//! `null`) is `None`; a sample whose timestamp cannot be read is dropped from its series
//! instead of failing the whole answer.
//!
//! ```no_run
//! use do_api::{Client, LoadBalancerId};
//! use do_api::monitoring::LbMetric;
//!
//! # async fn run(client: &Client) -> do_api::Result<()> {
//! let lb = LoadBalancerId::from("4de7ac8b-495b-4884-9a69-1050c6793cd6");
//! let m = client
//!     .monitoring()
//!     .load_balancer(LbMetric::DropletsHttpResponses, &lb, 1620683817, 1620705417)
//!     .await?;
//! for s in &m.data.result {
//!     println!("{:?}: {} samples, sum {}", s.metric, s.values.len(), s.sum());
//! }
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;

use reqwest::Method;
use serde::de::{Error as _, IgnoredAny};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::client::{Client, Request};
use crate::error::Result;
use crate::ids::LoadBalancerId;
use crate::validate;

/// A load-balancer metric of the Monitoring API: which `GET
/// /v2/monitoring/metrics/load_balancer/<metric>` to ask. The descriptions are the spec's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LbMetric {
    /// "Droplets HTTP rate of response code" (`monitoring_get_lb_droplets_http_responses`).
    DropletsHttpResponses,
    /// "Droplets 95th percentile HTTP response time in seconds"
    /// (`monitoring_get_lb_droplets_http_response_time_95p`).
    DropletsHttpResponseTime95p,
    /// "Droplets health check status" (`monitoring_get_lb_droplets_health_checks`).
    DropletsHealthChecks,
    /// "Frontend HTTP rate of response code" (`monitoring_get_lb_frontend_http_responses`).
    FrontendHttpResponses,
}

impl LbMetric {
    /// Every metric this client can ask for.
    pub const ALL: [LbMetric; 4] = [
        LbMetric::DropletsHttpResponses,
        LbMetric::DropletsHttpResponseTime95p,
        LbMetric::DropletsHealthChecks,
        LbMetric::FrontendHttpResponses,
    ];

    /// The last segment of its path: `droplets_http_responses`.
    pub fn as_str(self) -> &'static str {
        match self {
            LbMetric::DropletsHttpResponses => "droplets_http_responses",
            LbMetric::DropletsHttpResponseTime95p => "droplets_http_response_time_95p",
            LbMetric::DropletsHealthChecks => "droplets_health_checks",
            LbMetric::FrontendHttpResponses => "frontend_http_responses",
        }
    }

    /// Its path: `/v2/monitoring/metrics/load_balancer/droplets_http_responses`.
    pub fn path(self) -> &'static str {
        match self {
            LbMetric::DropletsHttpResponses => {
                "/v2/monitoring/metrics/load_balancer/droplets_http_responses"
            }
            LbMetric::DropletsHttpResponseTime95p => {
                "/v2/monitoring/metrics/load_balancer/droplets_http_response_time_95p"
            }
            LbMetric::DropletsHealthChecks => {
                "/v2/monitoring/metrics/load_balancer/droplets_health_checks"
            }
            LbMetric::FrontendHttpResponses => {
                "/v2/monitoring/metrics/load_balancer/frontend_http_responses"
            }
        }
    }
}

impl fmt::Display for LbMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::string_enum! {
    /// Whether the query succeeded (`status`).
    pub enum MetricsStatus {
        /// The query ran; `data` holds its result.
        Success => "success",
        /// The query failed.
        Error => "error",
    }
}

/// A metrics answer (`metrics.yml`). Serializes to the same shape, so a simulator can serve it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Metrics {
    /// Whether the query succeeded. An `error` answer is returned as is, not as an `Err`.
    pub status: MetricsStatus,
    /// The result (empty when absent).
    #[serde(default)]
    pub data: MetricsData,
}

impl Metrics {
    /// A successful answer with these series (`resultType` `matrix`).
    pub fn success(result: Vec<Series>) -> Self {
        Metrics {
            status: MetricsStatus::Success,
            data: MetricsData {
                result_type: "matrix".into(),
                result,
            },
        }
    }

    /// Whether `status` is `success`.
    pub fn is_success(&self) -> bool {
        self.status == MetricsStatus::Success
    }
}

/// The result of a metrics query (`metrics_data.yml`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MetricsData {
    /// `matrix` (the only value the spec has).
    #[serde(rename = "resultType", default)]
    pub result_type: String,
    /// One series per combination of labels.
    #[serde(default, deserialize_with = "null_as_default")]
    pub result: Vec<Series>,
}

/// One time series (`metrics_result.yml`): its labels and its samples.
///
/// DigitalOcean documents only that load-balancer metrics carry an `lb_id` label; any other
/// label name (which droplet, which status code) is undocumented: check what the API sends.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Series {
    /// The labels (`metric`). A label whose value is not a string is kept as its JSON text.
    #[serde(default, deserialize_with = "labels")]
    pub metric: BTreeMap<String, String>,
    /// The samples, oldest first as sent (`values`). Samples whose timestamp could not be read
    /// were left out.
    #[serde(default, deserialize_with = "samples")]
    pub values: Vec<Sample>,
}

impl Series {
    /// A series with these labels and samples.
    pub fn new<K, V>(labels: impl IntoIterator<Item = (K, V)>, values: Vec<Sample>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        Series {
            metric: labels
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            values,
        }
    }

    /// The value of label `key`, if the series has it. Only `lb_id` is documented for
    /// load-balancer metrics.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.metric.get(key).map(String::as_str)
    }

    /// The sum of the samples that have a value (`None` ones count as nothing). For a rate
    /// this is not a count of events: each sample is a rate at its instant.
    pub fn sum(&self) -> f64 {
        self.values.iter().filter_map(|s| s.value).sum()
    }

    /// The samples taken from `start` to `end` (unix seconds, both included).
    pub fn between(&self, start: i64, end: i64) -> impl Iterator<Item = &Sample> {
        self.values
            .iter()
            .filter(move |s| (start..=end).contains(&s.unix))
    }
}

/// One sample: `[<unix seconds>, "<value>"]` on the wire.
///
/// Reads a timestamp given as an integer, a float (rounded down) or a string of either, and a
/// value given as a number or a string; a value that is not a finite number (`"NaN"`, `"+Inf"`,
/// `null`, text) is `None`. Written back as `[<integer>, "<value>"]`, with `None` as `"NaN"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// When, in unix seconds.
    pub unix: i64,
    /// The value, `None` when the API sent no finite number.
    pub value: Option<f64>,
}

impl Sample {
    /// A sample at `unix` seconds.
    pub fn new(unix: i64, value: Option<f64>) -> Self {
        Sample { unix, value }
    }
}

impl Serialize for Sample {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        // Spelled as Prometheus does: shortest decimal, `NaN`, `+Inf`, `-Inf`.
        let value = match self.value {
            Some(v) if v.is_finite() => v.to_string(),
            Some(v) if v == f64::INFINITY => "+Inf".to_owned(),
            Some(v) if v == f64::NEG_INFINITY => "-Inf".to_owned(),
            _ => "NaN".to_owned(),
        };
        (self.unix, value).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Sample {
    /// Strict: a sample whose timestamp cannot be read is an error here (a [`Series`] drops
    /// it instead).
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        RawSample::deserialize(d)?.sample().ok_or_else(|| {
            D::Error::custom("a sample is `[<unix seconds>, <value>]` with a readable timestamp")
        })
    }
}

/// A number the API may send as an integer, a float or a string; anything else is `Other`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Int(i64),
    Float(f64),
    Text(String),
    Other(IgnoredAny),
}

impl Scalar {
    fn number(&self) -> Option<f64> {
        match self {
            Scalar::Int(i) => Some(*i as f64),
            Scalar::Float(f) => Some(*f),
            Scalar::Text(t) => t.trim().parse().ok(),
            Scalar::Other(_) => None,
        }
        .filter(|f: &f64| f.is_finite())
    }

    fn unix(&self) -> Option<i64> {
        match self {
            Scalar::Int(i) => Some(*i),
            Scalar::Text(t) => t.trim().parse().ok().or_else(|| self.float_unix()),
            _ => self.float_unix(),
        }
    }

    fn float_unix(&self) -> Option<i64> {
        // `as` saturates; a timestamp beyond i64 seconds is nonsense anyway.
        self.number().map(|f| f.floor() as i64)
    }
}

/// A sample as sent: a pair, or anything else (dropped).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawSample {
    Pair(Scalar, Scalar),
    Other(IgnoredAny),
}

impl RawSample {
    fn sample(self) -> Option<Sample> {
        match self {
            RawSample::Pair(t, v) => Some(Sample::new(t.unix()?, v.number())),
            RawSample::Other(_) => None,
        }
    }
}

/// `values`: the samples that can be read (`null` is none).
fn samples<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<Sample>, D::Error> {
    let raw: Option<Vec<RawSample>> = Option::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .filter_map(RawSample::sample)
        .collect())
}

/// `metric`: labels, a non-string value kept as its JSON text (`null` is none).
fn labels<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<BTreeMap<String, String>, D::Error> {
    let raw: Option<BTreeMap<String, serde_json::Value>> = Option::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect())
}

fn null_as_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::deserialize(d)?.unwrap_or_default())
}

/// The Monitoring API's metrics ([`Client::monitoring`]).
#[derive(Debug, Clone, Copy)]
pub struct Monitoring<'a> {
    client: &'a Client,
}

impl Client {
    /// The Monitoring API: load-balancer metrics.
    pub fn monitoring(&self) -> Monitoring<'_> {
        Monitoring { client: self }
    }
}

impl Monitoring<'_> {
    /// `GET /v2/monitoring/metrics/load_balancer/<metric>?lb_id=&start=&end=`: `metric` of
    /// load balancer `lb` from `start_unix` to `end_unix` (unix seconds). A start after the end
    /// or an empty id is [`crate::Error::InvalidInput`], and nothing is sent. Repeatable (a
    /// GET).
    pub async fn load_balancer(
        &self,
        metric: LbMetric,
        lb: &LoadBalancerId,
        start_unix: u64,
        end_unix: u64,
    ) -> Result<Metrics> {
        let lb = validate::non_empty("load balancer id", lb.as_str())?;
        validate::window("the metrics window", start_unix, end_unix)?;
        let req = Request::new(
            Method::GET,
            &[
                "v2",
                "monitoring",
                "metrics",
                "load_balancer",
                metric.as_str(),
            ],
        )
        .query("lb_id", lb)
        .query("start", start_unix)
        .query("end", end_unix);
        self.client.json(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(json: &str) -> Series {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn paths_end_with_the_name() {
        for m in LbMetric::ALL {
            assert_eq!(
                m.path(),
                format!("/v2/monitoring/metrics/load_balancer/{m}"),
                "{m:?}"
            );
        }
        assert_eq!(
            LbMetric::DropletsHttpResponseTime95p.as_str(),
            "droplets_http_response_time_95p"
        );
    }

    #[test]
    fn samples_of_every_shape() {
        let s = series(
            r#"{"metric": {"lb_id": "x", "n": 7}, "values": [
                [1435781430, "1"], ["1435781445", 2], [1435781460.9, "0.25"],
                ["1435781475.5", "NaN"], [1435781490, "+Inf"], [1435781505, null],
                [1435781520, "-Inf"], [1435781535, "oops"], [1435781550, 3.5]]}"#,
        );
        let got: Vec<(i64, Option<f64>)> = s.values.iter().map(|s| (s.unix, s.value)).collect();
        assert_eq!(
            got,
            [
                (1435781430, Some(1.0)),
                (1435781445, Some(2.0)),
                (1435781460, Some(0.25)),
                (1435781475, None),
                (1435781490, None),
                (1435781505, None),
                (1435781520, None),
                (1435781535, None),
                (1435781550, Some(3.5)),
            ]
        );
        assert_eq!(s.label("lb_id"), Some("x"));
        assert_eq!(s.label("n"), Some("7"), "a number label as its JSON text");
        assert_eq!(s.label("host_id"), None);
        assert_eq!(s.sum(), 6.75);
        assert_eq!(
            s.between(1435781445, 1435781460)
                .map(|s| s.unix)
                .collect::<Vec<_>>(),
            [1435781445, 1435781460]
        );
    }

    #[test]
    fn unreadable_samples_are_dropped_not_fatal() {
        let s = series(
            r#"{"metric": null, "values": [
                [null, "1"], "x", [1], [1, "2", 3], {"t": 1}, ["soon", "1"], ["NaN", "1"],
                [1435781430, "5"]]}"#,
        );
        assert_eq!(s.values, [Sample::new(1435781430, Some(5.0))]);
        assert!(s.metric.is_empty());
        let s = series(r#"{"values": null}"#);
        assert!(s.values.is_empty());
        // Alone, a sample is strict.
        assert!(serde_json::from_str::<Sample>("[null, \"1\"]").is_err());
        assert_eq!(
            serde_json::from_str::<Sample>("[\"12\", \"NaN\"]").unwrap(),
            Sample::new(12, None)
        );
    }

    #[test]
    fn status_and_data_are_tolerant() {
        let m: Metrics = serde_json::from_str(r#"{"status": "error", "error": "bad"}"#).unwrap();
        assert_eq!(m.status, MetricsStatus::Error);
        assert!(!m.is_success());
        assert!(m.data.result.is_empty());
        let m: Metrics = serde_json::from_str(
            r#"{"status": "partial", "data": {"resultType": "vector", "result": null, "x": 1}}"#,
        )
        .unwrap();
        assert_eq!(m.status, MetricsStatus::Unknown("partial".into()));
        assert_eq!(m.data.result_type, "vector");
        assert!(m.data.result.is_empty());
    }

    #[test]
    fn serializes_to_the_wire_shape() {
        let m = Metrics::success(vec![Series::new(
            [("lb_id", "4de7ac8b")],
            vec![
                Sample::new(1435781430, Some(1.0)),
                Sample::new(1435781445, Some(0.125)),
                Sample::new(1435781460, None),
                Sample::new(1435781475, Some(f64::INFINITY)),
                Sample::new(1435781490, Some(1e21)),
            ],
        )]);
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            serde_json::json!({
                "status": "success",
                "data": {"resultType": "matrix", "result": [{
                    "metric": {"lb_id": "4de7ac8b"},
                    "values": [
                        [1435781430, "1"], [1435781445, "0.125"], [1435781460, "NaN"],
                        [1435781475, "+Inf"], [1435781490, "1000000000000000000000"]
                    ]
                }]}
            })
        );
        // And back.
        let back: Metrics = serde_json::from_value(serde_json::to_value(&m).unwrap()).unwrap();
        assert_eq!(
            back.data.result[0].values[..3],
            m.data.result[0].values[..3]
        );
        assert_eq!(back.data.result[0].values[3].value, None);
    }
}
