//! Flawed releases: healthy to the load balancer, failing (or slow) for their users.

mod support;

use std::time::{Duration, Instant};

use do_api::droplets::CreateDroplet;
use do_sim::{DropletInfo, Faults, Flaw, ImageSpec, Sim, SimConfig};
use serde_json::{Value, json};
use support::*;

/// Create a droplet named `name` from image `image` and wait until its app is ready.
async fn create_from(sim: &Sim, name: &str, image: do_api::ImageId) -> DropletInfo {
    let c = client(sim);
    let created = c
        .droplets()
        .create(&CreateDroplet::new(name, "s-1vcpu-1gb", image))
        .await
        .unwrap();
    for a in created.action_ids() {
        c.actions().wait(a, &fast_wait()).await.unwrap();
    }
    sim.wait_for("the droplet to boot", DEADLINE, |s| {
        s.droplet(name).is_some_and(|d| d.ready)
    })
    .await
    .unwrap();
    sim.droplet(name).unwrap()
}

/// The statuses of `n` GETs of `url`, in order (one client: building one per request costs
/// more than the request).
async fn statuses(url: &str, n: usize) -> Vec<u16> {
    let http = http();
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(http.get(url).send().await.unwrap().status().as_u16());
    }
    out
}

/// The (1-based) positions of the 500s.
fn failed_at(statuses: &[u16]) -> Vec<usize> {
    statuses
        .iter()
        .enumerate()
        .filter(|(_, s)| **s == 500)
        .map(|(i, _)| i + 1)
        .collect()
}

#[tokio::test]
async fn a_failing_snapshot_is_healthy_yet_fails_exactly_its_share() {
    let sim = Sim::start(
        SimConfig::new()
            .time_scale(0.01)
            .image(ImageSpec::snapshot("app-v2-bad", "v2").failing(0.05))
            .image(ImageSpec::snapshot("app-v2-slow", "v2").slower(Duration::from_millis(200))),
    )
    .await
    .unwrap();
    let bad = create_from(&sim, "bad", sim.image_id("app-v2-bad").unwrap()).await;
    assert_eq!(bad.flaw, Some(Flaw::new(0.05, Duration::ZERO)));
    assert_eq!(hit(&format!("{}health", bad.url)).await.0, 200);

    let got = statuses(&bad.url, 100).await;
    assert_eq!(failed_at(&got), [20, 40, 60, 80, 100], "{got:?}");
    assert!(got.iter().all(|s| *s == 200 || *s == 500), "{got:?}");
    // Healthy all along: the health check is not the users' path.
    assert_eq!(hit(&format!("{}health", bad.url)).await.0, 200);
    assert!(sim.droplet("bad").unwrap().ready);
    // The 120th answer: a 500 with the usual headers and a body that says why.
    let _ = statuses(&bad.url, 19).await;
    let r = http().get(&bad.url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 500);
    assert_eq!(r.headers()["x-droplet-id"], bad.id.0.to_string().as_str());
    assert_eq!(r.headers()["x-app-version"], "v2");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"droplet_id": bad.id.0, "name": "bad", "version": "v2",
               "error": "the release failed this request"})
    );

    // A slow release: `/` at least 200 ms late (wall time, whatever the time scale), `/health`
    // at once.
    let slow = create_from(&sim, "slow", sim.image_id("app-v2-slow").unwrap()).await;
    assert_eq!(slow.flaw, Some(Flaw::new(0.0, Duration::from_millis(200))));
    let h = http();
    let timed = |url: String| {
        let req = h.get(url);
        async move {
            let t0 = Instant::now();
            let status = req.send().await.unwrap().status().as_u16();
            (status, t0.elapsed())
        }
    };
    for _ in 0..3 {
        let (status, took) = timed(slow.url.clone()).await;
        assert_eq!(status, 200);
        assert!(
            took >= Duration::from_millis(200),
            "answered after {took:?}"
        );
        let (status, took) = timed(format!("{}health", slow.url)).await;
        assert_eq!(status, 200);
        assert!(took < Duration::from_millis(150), "health after {took:?}");
    }

    // A deploy of a release without flaw clears it.
    sim.deploy(bad.id, "v3").unwrap();
    sim.wait_for("v3 to boot", DEADLINE, |s| {
        s.droplet("bad")
            .is_some_and(|d| d.ready && d.version == "v3")
    })
    .await
    .unwrap();
    assert_eq!(sim.droplet("bad").unwrap().flaw, None);
    assert!(failed_at(&statuses(&bad.url, 40).await).is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_flawed_version_is_flawed_once_deployed_and_the_count_starts_with_the_process() {
    let sim = Sim::start(
        SimConfig::blue_green_and_fleet()
            .time_scale(0.01)
            .faults(Faults::none().flawed_version("v2", Flaw::new(0.5, Duration::ZERO))),
    )
    .await
    .unwrap();
    let prod = sim.droplet("prod").unwrap();
    assert_eq!(prod.flaw, None, "v1 has no flaw");
    assert!(failed_at(&statuses(&prod.url, 6).await).is_empty());
    let ready = |v: &'static str| {
        move |s: &Sim| s.droplet("prod").is_some_and(|d| d.ready && d.version == v)
    };
    sim.deploy(prod.id, "v2").unwrap();
    sim.wait_for("v2", DEADLINE, ready("v2")).await.unwrap();
    // Every second request since the deploy; `/health` neither counts nor fails.
    assert_eq!(failed_at(&statuses(&prod.url, 3).await), [2]);
    assert_eq!(hit(&format!("{}health", prod.url)).await.0, 200);
    assert_eq!(failed_at(&statuses(&prod.url, 3).await), [1, 3]);
    // A redeploy of the same version starts the count again.
    sim.deploy(prod.id, "v2").unwrap();
    sim.wait_for("v2 again", DEADLINE, ready("v2"))
        .await
        .unwrap();
    assert_eq!(failed_at(&statuses(&prod.url, 4).await), [2, 4]);

    // Over the control API: a version's flaw in the faults...
    let http = http();
    let base = sim.api_url();
    let r = http
        .put(format!("{base}_sim/faults"))
        .json(&json!({"flawed_versions": {"v5": {"fail_share": 1.0, "added_latency_ms": 50}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        sim.faults().flaw_of("v5"),
        Flaw::new(1.0, Duration::from_millis(50))
    );
    sim.deploy(prod.id, "v5").unwrap();
    sim.wait_for("v5", DEADLINE, ready("v5")).await.unwrap();
    let t0 = Instant::now();
    assert_eq!(hit(&prod.url).await.0, 500);
    assert!(t0.elapsed() >= Duration::from_millis(50));
    // ...and a deploy of one without clears it.
    sim.deploy(prod.id, "v6").unwrap();
    sim.wait_for("v6", DEADLINE, ready("v6")).await.unwrap();
    assert!(failed_at(&statuses(&prod.url, 4).await).is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_flawed_snapshot_can_be_added_over_the_control_api() {
    let sim = Sim::start(SimConfig::new().time_scale(0.01)).await.unwrap();
    let http = http();
    let url = format!("{}_sim/images", sim.api_url());
    let r = http
        .post(&url)
        .json(
            &json!({"name": "app-v4", "version": "v4", "fail_share": 0.25, "added_latency_ms": 30}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let id = sim.image_id("app-v4").unwrap();
    let d = create_from(&sim, "d", id).await;
    assert_eq!(d.flaw, Some(Flaw::new(0.25, Duration::from_millis(30))));
    assert_eq!(failed_at(&statuses(&d.url, 8).await), [4, 8]);
    for bad in [
        json!({"name": "x", "version": "v", "fail_share": 1.5}),
        json!({"name": "x", "version": "v", "fail_share": "0.1"}),
        json!({"name": "x", "version": "v", "added_latency_ms": -3}),
        json!({"name": "x", "version": "v", "added_latency_ms": 2.5}),
    ] {
        let r = http.post(&url).json(&bad).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 400, "{bad}");
        let body: Value = r.json().await.unwrap();
        assert!(body["error"].as_str().is_some(), "{body}");
    }
    assert_eq!(sim.image_id("x"), None, "nothing was added");
    sim.shutdown().await;
}
