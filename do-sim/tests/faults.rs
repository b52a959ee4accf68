//! Fault injection as a client sees it, and the control endpoints.

mod support;

use std::time::{Duration, Instant};

use do_api::droplets::DropletFilter;
use do_api::{Error, RetryPolicy};
use do_sim::{Faults, Sim, SimConfig};
use serde_json::{Value, json};
use support::*;

#[tokio::test]
async fn injected_429s_are_retried_after_retry_after() {
    let sim = Sim::start(
        SimConfig::blue_green_and_fleet()
            .time_scale(0.01)
            .seed(42)
            .faults(Faults::none().rate_limited(0.4, 0.02)),
    )
    .await
    .unwrap();
    let c = client(&sim);
    for _ in 0..20 {
        assert_eq!(
            c.droplets()
                .list(&DropletFilter::all())
                .await
                .unwrap()
                .len(),
            5
        );
    }
    // Writes too: 429 means nothing was done, so every method is retried.
    for i in 0..10 {
        c.tags().create(&format!("t-{i}")).await.unwrap();
    }
    let stats = sim.stats();
    assert!(stats.injected_429 >= 5, "{stats:?}");
    assert_eq!(stats.api_total, c.requests_sent());
    assert_eq!(c.requests_sent(), 30 + stats.injected_429);

    // Without retries the same faults surface as 429 with the hint.
    let strict = strict_client(&sim);
    let mut seen = None;
    for _ in 0..50 {
        if let Err(e) = strict.droplets().list(&DropletFilter::all()).await {
            seen = Some(e);
            break;
        }
    }
    match seen.expect("a 429 in 50 tries at 40 %") {
        Error::Api(a) => {
            assert_eq!(a.status, 429);
            assert_eq!(a.retry_after, Some(Duration::from_millis(20)));
            assert!(a.rate_limit.is_some());
        }
        other => panic!("{other}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn injected_5xx_hit_reads_only_by_default() {
    let sim = Sim::start(
        SimConfig::blue_green_and_fleet()
            .seed(7)
            .faults(Faults::none().server_errors(0.5)),
    )
    .await
    .unwrap();
    let strict = strict_client(&sim);
    // Writes are never hit (a client must not repeat them after a 5xx).
    for i in 0..20 {
        strict.tags().create(&format!("w-{i}")).await.unwrap();
    }
    let mut failed = 0;
    for _ in 0..20 {
        if let Err(e) = strict.tags().get("w-1").await {
            assert!(matches!(&e, Error::Api(a) if a.status == 500), "{e}");
            failed += 1;
        }
    }
    assert!((3..=17).contains(&failed), "{failed} of 20 at 50 %");
    // A retrying client gets through.
    let c = client(&sim);
    for _ in 0..20 {
        c.tags().get("w-1").await.unwrap();
    }
    assert_eq!(sim.stats().injected_5xx, failed + (c.requests_sent() - 20));

    // With writes included, a create can fail and is not repeated.
    sim.set_faults(
        Faults::none()
            .server_errors(1.0)
            .server_errors_on_writes(true),
    );
    let e = c.tags().create("never").await.unwrap_err();
    assert!(matches!(&e, Error::Api(a) if a.status == 500), "{e}");
    sim.set_faults(Faults::none());
    assert!(
        c.tags().get("never").await.is_err(),
        "the failed create did nothing"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn errored_actions_change_nothing() {
    let sim = Sim::start(
        SimConfig::blue_green_and_fleet()
            .time_scale(0.01)
            .faults(Faults::none().errored_actions(1)),
    )
    .await
    .unwrap();
    let c = client(&sim);
    let prod = sim.droplet("prod").unwrap();
    let fallback = sim.droplet("fallback").unwrap();
    let ip = sim.reserved_ips()[0].ip;
    let a = c.reserved_ips().assign(ip, fallback.id).await.unwrap();
    let e = c.actions().wait(a.id, &fast_wait()).await.unwrap_err();
    assert!(matches!(e, Error::ActionErrored { .. }), "{e}");
    let rip = c.reserved_ips().get(ip).await.unwrap();
    assert_eq!(rip.droplet_id(), Some(prod.id));
    assert!(!rip.locked, "unlocked after the error");
    // Only the next one: the retry completes.
    let a = c.reserved_ips().assign(ip, fallback.id).await.unwrap();
    c.actions().wait(a.id, &fast_wait()).await.unwrap();
    assert_eq!(
        c.reserved_ips().get(ip).await.unwrap().droplet_id(),
        Some(fallback.id)
    );
    let stats = sim.stats();
    assert_eq!((stats.actions_started, stats.actions_errored), (2, 1));
    sim.shutdown().await;
}

#[tokio::test]
async fn added_latency_and_the_hourly_quota() {
    let sim = Sim::start(
        SimConfig::blue_green_and_fleet()
            .rate_limit(3)
            .faults(Faults::none().api_latency(Duration::from_millis(80))),
    )
    .await
    .unwrap();
    let strict = strict_client(&sim);
    let t0 = Instant::now();
    strict.tags().list().await.unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(80));
    let rl = strict.rate_limit().unwrap();
    assert_eq!((rl.limit, rl.remaining), (3, 2));
    strict.tags().list().await.unwrap();
    strict.tags().list().await.unwrap();
    let e = strict.tags().list().await.unwrap_err();
    match e {
        Error::Api(a) => {
            assert_eq!(a.status, 429);
            assert_eq!(a.rate_limit.unwrap().remaining, 0);
            assert!(a.retry_after.unwrap() > Duration::from_secs(3000));
        }
        other => panic!("{other}"),
    }
    assert_eq!(sim.stats().rate_limited, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn never_healthy_versions_and_control_endpoints() {
    let sim = Sim::start(SimConfig::blue_green_and_fleet().time_scale(0.01))
        .await
        .unwrap();
    let http = http();
    let base = sim.api_url();
    let fallback = sim.droplet("fallback").unwrap();

    // Faults over HTTP.
    let r = http
        .put(format!("{base}_sim/faults"))
        .json(&json!({"never_healthy_versions": ["v3-broken"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(sim.faults().never_healthy_versions, vec!["v3-broken"]);

    // Deploy by address (what a hook has), then by name with a JSON body.
    let r = http
        .post(format!(
            "{base}_sim/droplets/{}/deploy?version=v2",
            fallback.addr
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["droplet_id"], fallback.id.0);
    sim.wait_for("v2", DEADLINE, |s| {
        s.droplet("fallback")
            .is_some_and(|d| d.ready && d.version == "v2")
    })
    .await
    .unwrap();
    assert_eq!(hit(&fallback.url).await.2.as_deref(), Some("v2"));

    let r = http
        .post(format!("{base}_sim/droplets/fallback/deploy"))
        .json(&json!({"version": "v3-broken"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    sim.wait_for("v3-broken to boot", DEADLINE, |s| {
        s.droplet("fallback")
            .is_some_and(|d| d.up && d.version == "v3-broken")
    })
    .await
    .unwrap();
    assert_eq!(hit(&format!("{}health", fallback.url)).await.0, 503);
    assert_eq!(hit(&fallback.url).await.0, 503);
    assert!(!sim.droplet("fallback").unwrap().ready);

    // Drain over HTTP; unknown droplets are 404; state and stats are JSON.
    let r = http
        .post(format!("{base}_sim/droplets/prod/drain"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let prod = sim.droplet("prod").unwrap();
    assert!(prod.drained);
    assert_eq!(hit(&format!("{}health", prod.url)).await.0, 503);
    assert_eq!(hit(&prod.url).await.0, 200, "a drained app still serves");
    let r = http
        .post(format!("{base}_sim/droplets/nobody/deploy?version=v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let state: Value = http
        .get(format!("{base}_sim/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["droplets"].as_array().unwrap().len(), 5);
    assert_eq!(state["app_port"], sim.app_port());
    assert_eq!(
        state["load_balancers"][0]["in_rotation"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let stats: Value = http
        .get(format!("{base}_sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["deploys"], 2);
    assert_eq!(stats["api_total"], 0, "control calls are not API calls");
    sim.shutdown().await;
}

#[tokio::test]
async fn fault_draws_follow_the_seed() {
    // Same seed, same faults; another seed, other faults.
    let outcomes = |seed| async move {
        let sim = Sim::start(
            SimConfig::new()
                .seed(seed)
                .faults(Faults::none().rate_limited(0.5, 0.0)),
        )
        .await
        .unwrap();
        let c = sim
            .client_builder()
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        let mut v = Vec::new();
        for _ in 0..16 {
            v.push(c.tags().list().await.is_ok());
        }
        sim.shutdown().await;
        v
    };
    let a = outcomes(3).await;
    assert_eq!(a, outcomes(3).await);
    assert_ne!(a, outcomes(4).await);
}

#[tokio::test]
async fn the_view_prints_every_address() {
    let sim = Sim::start(SimConfig::blue_green_and_fleet()).await.unwrap();
    let text = sim.view().to_string();
    assert!(text.contains(&sim.api_url()), "{text}");
    for d in sim.droplets() {
        assert!(text.contains(&d.url), "{text}");
    }
    assert!(
        text.contains(&sim.load_balancer("web-lb").unwrap().url),
        "{text}"
    );
    assert!(text.contains("-> prod ("), "{text}");
    sim.shutdown().await;
}
