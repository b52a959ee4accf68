//! `/v2/monitoring/metrics/load_balancer/*`: a load balancer's own metrics, as `replace
//! --canary` reads them.
//!
//! `fixtures/edge/lb_metrics_mixed_samples.json` is hand-made: every shape a sample may take
//! (integer, float and string timestamps; `"NaN"`, `"+Inf"` and numeric values; unreadable
//! samples) and unknown fields. Its `made_up_label` is invented: DigitalOcean documents only the
//! `lb_id` label for load-balancer metrics.

mod support;

use do_api::{LbMetric, LoadBalancerId, MetricsStatus, Sample};
use support::*;
use wiremock::Mock;
use wiremock::matchers::{method, path, query_param};

const LB: &str = "4de7ac8b-495b-4884-9a69-1050c6793cd6";
/// The spec's example window (`resources/monitoring/parameters.yml`).
const START: u64 = 1620683817;
const END: u64 = 1620705417;

fn operation(m: LbMetric) -> &'static str {
    match m {
        LbMetric::DropletsHttpResponses => "monitoring_get_lb_droplets_http_responses",
        LbMetric::DropletsHttpResponseTime95p => {
            "monitoring_get_lb_droplets_http_response_time_95p"
        }
        LbMetric::DropletsHealthChecks => "monitoring_get_lb_droplets_health_checks",
        LbMetric::FrontendHttpResponses => "monitoring_get_lb_frontend_http_responses",
        other => panic!("no operation known for {other:?}"),
    }
}

/// Each metric: exactly `GET <path>?lb_id=&start=&end=` with the token, and the official
/// example (assembled from the schema's property examples) decoded.
#[tokio::test]
async fn each_metric_sends_the_documented_request_and_reads_the_example() {
    for m in LbMetric::ALL {
        let server = server().await;
        Mock::given(method("GET"))
            .and(path(m.path()))
            .and(query_param("lb_id", LB))
            .and(query_param("start", START.to_string()))
            .and(query_param("end", END.to_string()))
            .and(auth())
            .respond_with(json_fixture(
                200,
                &format!("official/{}/200-schema.json", operation(m)),
            ))
            .expect(1)
            .mount(&server)
            .await;
        let got = client(&server)
            .monitoring()
            .load_balancer(m, &LoadBalancerId::from(LB), START, END)
            .await
            .unwrap_or_else(|e| panic!("{m}: {}", e.chain()));
        // Nothing else in the query, in the documented order.
        assert_eq!(
            requests(&server).await,
            [format!(
                "GET {}?lb_id={LB}&start={START}&end={END}",
                m.path()
            )],
            "{m}"
        );
        assert_eq!(got.status, MetricsStatus::Success, "{m}");
        assert!(got.is_success());
        assert_eq!(got.data.result_type, "matrix");
        assert_eq!(got.data.result.len(), 1, "{m}");
        let s = &got.data.result[0];
        // The spec's only example label is a droplet metric's (`host_id`), not `lb_id`.
        assert_eq!(s.label("host_id"), Some("19201920"), "{m}");
        assert_eq!(
            s.values,
            [
                Sample::new(1435781430, Some(1.0)),
                Sample::new(1435781445, Some(1.0))
            ],
            "{m}"
        );
        // Served back, the model gives the example's JSON again (do-sim reuses it).
        assert_eq!(
            serde_json::to_value(&got).unwrap(),
            fixture_json(&format!("official/{}/200-schema.json", operation(m))),
            "{m}"
        );
    }
}

#[tokio::test]
async fn labels_nan_and_every_timestamp_shape_are_read() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path(
            "/v2/monitoring/metrics/load_balancer/droplets_http_response_time_95p",
        ))
        .and(query_param("lb_id", LB))
        .and(query_param("start", "1700000000"))
        .and(query_param("end", "1700000300"))
        .and(auth())
        .respond_with(json_fixture(200, "edge/lb_metrics_mixed_samples.json"))
        .expect(1)
        .mount(&server)
        .await;
    let m = client(&server)
        .monitoring()
        .load_balancer(
            LbMetric::DropletsHttpResponseTime95p,
            &LoadBalancerId::from(LB),
            1700000000,
            1700000300,
        )
        .await
        .unwrap();
    assert!(m.is_success());
    let [a, b] = &m.data.result[..] else {
        panic!("two series: {m:?}")
    };
    assert_eq!(a.label("lb_id"), Some(LB));
    assert_eq!(a.label("made_up_label"), Some("a"));
    assert_eq!(b.label("made_up_label"), Some("b"));
    assert_eq!(
        a.values,
        [
            // A numeric timestamp, a string one, a float one (rounded down); NaN and +Inf are
            // no value.
            Sample::new(1700000000, Some(0.5)),
            Sample::new(1700000060, None),
            Sample::new(1700000120, Some(2.0)),
            Sample::new(1700000180, None),
        ]
    );
    assert_eq!(a.sum(), 2.5);
    assert_eq!(
        a.between(1700000060, 1700000120)
            .map(|s| s.unix)
            .collect::<Vec<_>>(),
        [1700000060, 1700000120]
    );
    // A null timestamp and a non-pair are dropped, the readable sample (a numeric value) kept.
    assert_eq!(b.values, [Sample::new(1700000000, Some(3.0))]);
}

#[tokio::test]
async fn a_window_that_ends_before_it_starts_is_refused_unsent() {
    let server = server().await;
    let c = client(&server);
    let lb = LoadBalancerId::from(LB);
    let e = c
        .monitoring()
        .load_balancer(LbMetric::DropletsHealthChecks, &lb, END + 1, END)
        .await
        .unwrap_err();
    assert!(matches!(e, do_api::Error::InvalidInput(_)), "{e:?}");
    assert!(e.to_string().contains("starts after it ends"), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("start {} > end {END}", END + 1)),
        "{e}"
    );
    let e = c
        .monitoring()
        .load_balancer(
            LbMetric::DropletsHealthChecks,
            &LoadBalancerId::from(" "),
            START,
            END,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("load balancer id is empty"), "{e}");
    assert_eq!(c.requests_sent(), 0);
    assert!(requests(&server).await.is_empty());
}

/// A token without `monitoring:read`: 401 is an API error at once, not retried.
#[tokio::test]
async fn unauthorized_is_an_error_at_once() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path(LbMetric::FrontendHttpResponses.path()))
        .respond_with(json_fixture(
            401,
            "official/monitoring_get_lb_frontend_http_responses/401-example.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let e = c
        .monitoring()
        .load_balancer(
            LbMetric::FrontendHttpResponses,
            &LoadBalancerId::from(LB),
            START,
            END,
        )
        .await
        .unwrap_err();
    assert!(e.is_unauthorized(), "{e:?}");
    assert_eq!(e.status(), Some(401));
    assert_eq!(c.requests_sent(), 1);
}

/// 429, then 500 (a GET may be repeated), then the answer.
#[tokio::test]
async fn rate_limited_and_server_errors_are_retried() {
    let server = server().await;
    let p = LbMetric::DropletsHttpResponses.path();
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(json_fixture(
            429,
            "official/monitoring_get_lb_droplets_http_responses/429-example.json",
        ))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(json_fixture(
            500,
            "official/monitoring_get_lb_droplets_http_responses/500-example.json",
        ))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(p))
        .and(query_param("lb_id", LB))
        .respond_with(json_fixture(
            200,
            "official/monitoring_get_lb_droplets_http_responses/200-schema.json",
        ))
        .expect(1)
        .with_priority(3)
        .mount(&server)
        .await;
    let c = client(&server);
    let m = c
        .monitoring()
        .load_balancer(
            LbMetric::DropletsHttpResponses,
            &LoadBalancerId::from(LB),
            START,
            END,
        )
        .await
        .unwrap();
    assert_eq!(m.data.result.len(), 1);
    assert_eq!(requests(&server).await.len(), 3);
}
