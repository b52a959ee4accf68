//! The Monitoring API's load-balancer metrics, computed from the traffic the proxy served.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use do_api::LoadBalancerId;
use do_api::load_balancers::HealthCheck;
use do_api::monitoring::{LbMetric, Metrics, Series};
use do_sim::{DropletSpec, Faults, Flaw, LbSpec, Sim, SimConfig};
use serde_json::Value;
use support::*;

/// Two droplets behind `lb`: `good` runs v1, `bad` runs v2, which fails one request in four
/// and answers 100 ms late. Health checks every 100 ms (timeout 500 ms); metrics every two
/// seconds (40 s × 0.05), so that a rate and a count differ.
fn config() -> SimConfig {
    let hc = HealthCheck::http(80, "/health")
        .check_interval_seconds(2)
        .response_timeout_seconds(10)
        .unhealthy_threshold(3)
        .healthy_threshold(2);
    SimConfig::new()
        .time_scale(0.05)
        .metrics_period(Duration::from_secs(40))
        .droplet(DropletSpec::new("good").tag("web"))
        .droplet(DropletSpec::new("bad").tag("web").version("v2"))
        .faults(Faults::none().flawed_version("v2", Flaw::new(0.25, Duration::from_millis(100))))
        .load_balancer(LbSpec::tagged("lb", "web").health_check(hc))
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The end of the period holding instant `t`, period `p` seconds.
fn bucket_end(t: f64, p: u64) -> u64 {
    ((t / p as f64).floor() as u64 + 1) * p
}

/// Sleep until `unix` (plus a little).
async fn sleep_until(unix: u64) {
    let left = unix as f64 + 0.05 - now();
    if left > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(left)).await;
    }
}

fn class(status: u16) -> String {
    format!("{}xx", status / 100)
}

/// What the client saw: answers by (droplet id or "", class).
type Tally = BTreeMap<(String, String), u64>;

async fn through(lb_url: &str, tally: &mut Tally) {
    let (status, droplet, _) = hit(lb_url).await;
    let d = droplet.map(|d| d.to_string()).unwrap_or_default();
    *tally.entry((d, class(status))).or_default() += 1;
}

/// Counts per (droplet_id, class) from rate series: rate × period summed, checked whole.
fn counts(series: &[Series], p: u64) -> Tally {
    let mut out = Tally::new();
    for s in series {
        let n = s.sum() * p as f64;
        assert!((n - n.round()).abs() < 1e-6, "{n} is not a count: {s:?}");
        let key = (
            s.label("droplet_id").unwrap_or_default().to_owned(),
            s.label("class").unwrap().to_owned(),
        );
        *out.entry(key).or_default() += n.round() as u64;
    }
    out.retain(|_, n| *n > 0);
    out
}

#[tokio::test]
async fn the_metrics_are_what_the_load_balancer_served() {
    let sim = Sim::start(config()).await.unwrap();
    let c = client(&sim);
    let p = sim.metrics_period().as_secs();
    assert_eq!(p, 2);
    let lb = sim.load_balancer("lb").unwrap();
    let lb_id = LoadBalancerId(lb.id.0.clone());
    let good = sim.droplet("good").unwrap().id.0.to_string();
    let bad = sim.droplet("bad").unwrap().id.0.to_string();
    let get = |m: LbMetric, start: u64, end: u64| {
        let (c, lb_id) = (c.clone(), lb_id.clone());
        async move { c.monitoring().load_balancer(m, &lb_id, start, end).await }
    };
    let start = now() as u64;

    // 40 requests, eight at a time: round-robin gives each droplet 20, of which the flawed one
    // fails exactly 5 (every fourth).
    let mut tally = Tally::new();
    for _ in 0..5 {
        let batch: Vec<_> = (0..8)
            .map(|_| {
                let url = lb.url.clone();
                tokio::spawn(async move {
                    let mut t = Tally::new();
                    through(&url, &mut t).await;
                    t
                })
            })
            .collect();
        for h in batch {
            for (k, n) in h.await.unwrap() {
                *tally.entry(k).or_default() += n;
            }
        }
    }
    let to_bad: u64 = tally
        .iter()
        .filter(|((d, _), _)| *d == bad)
        .map(|(_, n)| n)
        .sum();
    assert_eq!(to_bad, 20, "{tally:?}");
    assert_eq!(
        tally.get(&(bad.clone(), "5xx".into())).copied(),
        Some(5),
        "{tally:?}"
    );
    assert!(
        !tally.contains_key(&(good.clone(), "5xx".into())),
        "{tally:?}"
    );

    // A period that has not closed has no sample, even with answers in it.
    let mut checked = false;
    let mut asked = 0;
    for _ in 0..5 {
        let t_req = now();
        through(&lb.url, &mut tally).await;
        let m = get(LbMetric::DropletsHttpResponses, start, t_req as u64 + 100)
            .await
            .unwrap();
        asked += 1;
        let t_after = now();
        let open = bucket_end(t_req, p);
        for s in &m.data.result {
            assert!(s.values.iter().all(|v| (v.unix as f64) <= t_after), "{s:?}");
        }
        if bucket_end(t_after, p) == open {
            for s in &m.data.result {
                assert!(s.values.iter().all(|v| v.unix != open as i64), "{s:?}");
            }
            checked = true;
            break;
        }
    }
    assert!(checked, "never queried within the period of a request");

    // The load balancer's own 503 (no droplet in rotation) counts for the frontend only.
    let ids: Vec<_> = ["good", "bad"]
        .iter()
        .map(|n| sim.droplet(n).unwrap().id)
        .collect();
    c.tags().untag_droplets("web", &ids).await.unwrap();
    let mut front = Tally::new();
    through(&lb.url, &mut front).await;
    assert_eq!(front, Tally::from([((String::new(), "5xx".into()), 1)]));
    let last = now();

    // Once the last period closed, everything served is there.
    sleep_until(bucket_end(last, p)).await;
    let end = now() as u64 + 10;
    let responses = get(LbMetric::DropletsHttpResponses, start, end)
        .await
        .unwrap();
    let p95 = get(LbMetric::DropletsHttpResponseTime95p, start, end)
        .await
        .unwrap();
    let health = get(LbMetric::DropletsHealthChecks, start, end)
        .await
        .unwrap();
    let frontend = get(LbMetric::FrontendHttpResponses, start, end)
        .await
        .unwrap();
    for m in [&responses, &p95, &health, &frontend] {
        assert!(m.is_success());
        assert_eq!(m.data.result_type, "matrix");
        for s in &m.data.result {
            assert_eq!(s.label("lb_id"), Some(lb.id.0.as_str()), "{s:?}");
            for v in &s.values {
                assert_eq!(v.unix % p as i64, 0, "at a period's end: {s:?}");
                assert!(v.unix as u64 >= start && (v.unix as f64) <= now(), "{s:?}");
            }
        }
    }
    assert_eq!(counts(&responses.data.result, p), tally);
    for ((_, class), n) in &tally {
        *front.entry((String::new(), class.clone())).or_default() += n;
    }
    assert_eq!(counts(&frontend.data.result, p), front);
    assert!(
        frontend
            .data
            .result
            .iter()
            .all(|s| s.label("droplet_id").is_none()),
        "{frontend:?}"
    );
    assert!(
        responses
            .data
            .result
            .iter()
            .all(|s| s.label("droplet_id").is_some()),
        "the 503 is nobody's: {responses:?}"
    );

    let by_droplet = |m: &Metrics, d: &str| -> Vec<f64> {
        m.data
            .result
            .iter()
            .filter(|s| s.label("droplet_id") == Some(d))
            .flat_map(|s| s.values.iter().map(|v| v.value.unwrap()))
            .collect()
    };
    let (bad_p95, good_p95) = (by_droplet(&p95, &bad), by_droplet(&p95, &good));
    assert!(!bad_p95.is_empty() && !good_p95.is_empty(), "{p95:?}");
    assert!(
        bad_p95.iter().all(|v| *v >= 0.1),
        "the added 100 ms: {bad_p95:?}"
    );
    assert!(good_p95.iter().all(|v| *v < 0.1), "{good_p95:?}");
    for d in [&good, &bad] {
        let h = by_droplet(&health, d);
        assert!(!h.is_empty(), "{health:?}");
        assert!(
            h.iter().all(|v| *v == 1.0),
            "a flawed release passes: {h:?}"
        );
    }

    // Counted like every API call.
    let stats = sim.stats();
    assert_eq!(
        stats.calls("GET /v2/monitoring/metrics/load_balancer/droplets_http_responses"),
        asked + 1
    );
    assert_eq!(
        stats.calls("GET /v2/monitoring/metrics/load_balancer/frontend_http_responses"),
        1
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_input_unknown_load_balancers_auth_and_faults() {
    let sim = Sim::start(config()).await.unwrap();
    let lb = sim.load_balancer("lb").unwrap();
    let t = now() as u64;
    let base = format!("{}v2/monitoring/metrics/load_balancer", sim.api_url());
    let http = http();
    let ask = |path: String, token: bool| {
        let mut r = http.get(format!("{base}/{path}"));
        if token {
            r = r.bearer_auth(sim.token());
        }
        async move {
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let lb_id = &lb.id.0;
    let (status, body) = ask(
        format!("droplets_http_responses?lb_id={lb_id}&start={t}&end={t}"),
        true,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        serde_json::json!({"status": "success", "data": {"resultType": "matrix", "result": []}}),
        "no traffic, no sample"
    );
    for (query, why) in [
        (format!("start={t}&end={t}"), "no lb_id"),
        (format!("lb_id=&start={t}&end={t}"), "an empty lb_id"),
        (format!("lb_id={lb_id}&end={t}"), "no start"),
        (format!("lb_id={lb_id}&start={t}"), "no end"),
        (
            format!("lb_id={lb_id}&start=yesterday&end={t}"),
            "a start that is no timestamp",
        ),
        (format!("lb_id={lb_id}&start={t}&end=-1"), "a negative end"),
        (
            format!("lb_id={lb_id}&start={}&end={t}", t + 1),
            "a start after the end",
        ),
    ] {
        let (status, body) = ask(format!("droplets_health_checks?{query}"), true).await;
        assert_eq!(status, 400, "{why}: {body}");
        assert_eq!(body["id"], "bad_request", "{why}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
    let (status, body) = ask(
        format!("droplets_http_requests?lb_id={lb_id}&start={t}&end={t}"),
        true,
    )
    .await;
    assert_eq!(
        (status, &body["id"]),
        (404, &Value::from("not_found")),
        "an unknown metric"
    );
    let (status, body) = ask(
        format!("frontend_http_responses?lb_id={lb_id}&start={t}&end={t}"),
        false,
    )
    .await;
    assert_eq!((status, &body["id"]), (401, &Value::from("unauthorized")));

    // Through do-api: an unknown load balancer is a 404, injected faults hit these GETs too.
    let strict = strict_client(&sim);
    let unknown = LoadBalancerId("4de7ac8b-495b-4884-9a69-000000000000".into());
    let e = strict
        .monitoring()
        .load_balancer(LbMetric::DropletsHttpResponses, &unknown, t, t)
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    sim.set_faults(Faults::none().server_errors(1.0));
    let known = LoadBalancerId(lb_id.clone());
    let e = strict
        .monitoring()
        .load_balancer(LbMetric::FrontendHttpResponses, &known, t, t)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, do_api::Error::Api(a) if a.status == 500),
        "{e}"
    );
    sim.set_faults(Faults::none());
    strict
        .monitoring()
        .load_balancer(LbMetric::FrontendHttpResponses, &known, t, t)
        .await
        .unwrap();
    let stats = sim.stats();
    assert_eq!(stats.injected_5xx, 1);
    assert_eq!(stats.unauthorized, 1);
    assert_eq!(
        stats.calls("GET /v2/monitoring/metrics/load_balancer/droplets_health_checks"),
        7
    );
    sim.shutdown().await;
}
