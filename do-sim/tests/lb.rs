//! Load balancer health checks as DigitalOcean documents them, and rotation changes.

mod support;

use std::time::{Duration, Instant};

use do_api::load_balancers::HealthCheck;
use do_sim::{DropletSpec, LbSpec, Sim, SimConfig};
use support::*;

/// Interval 1 s, timeout 1 s, out after 3 failures, in after 2 passes; × 0.05 = 50 ms steps.
fn fleet() -> SimConfig {
    let hc = HealthCheck::http(80, "/health")
        .check_interval_seconds(1)
        .response_timeout_seconds(1)
        .unhealthy_threshold(3)
        .healthy_threshold(2);
    SimConfig::new()
        .time_scale(0.05)
        .droplet(DropletSpec::new("a").tag("web"))
        .droplet(DropletSpec::new("b").tag("web"))
        .droplet(DropletSpec::new("spare"))
        .load_balancer(LbSpec::tagged("lb", "web").health_check(hc))
}

fn in_rotation(sim: &Sim, name: &str) -> bool {
    let id = sim.droplet(name).unwrap().id;
    sim.load_balancer("lb").unwrap().in_rotation.contains(&id)
}

#[tokio::test]
async fn a_failing_droplet_leaves_rotation_after_the_unhealthy_window() {
    let sim = Sim::start(fleet()).await.unwrap();
    let a = sim.droplet("a").unwrap();
    let lb = sim.load_balancer("lb").unwrap();
    assert_eq!(lb.in_rotation.len(), 2, "covered droplets start healthy");
    let step = sim.scaled(Duration::from_secs(1));

    let t0 = Instant::now();
    let served0 = sim.droplet("a").unwrap().requests_served;
    sim.drain(a.id).unwrap();
    assert_eq!(hit(&format!("{}health", a.url)).await.0, 503);
    // Not out before the third failed check.
    tokio::time::sleep(step).await;
    assert!(in_rotation(&sim, "a"), "out after one interval");
    sim.wait_for("a to leave rotation", DEADLINE, |s| !in_rotation(s, "a"))
        .await
        .unwrap();
    let took = t0.elapsed();
    // The checks it failed (our own `/health` request aside): exactly the threshold, or one
    // more if a check ran between the switch and our look.
    let checks = sim.droplet("a").unwrap().requests_served - served0 - 1;
    assert!((3..=4).contains(&checks), "{checks} failed checks");
    // Three failures in a row, at least two intervals apart; at most three (interval +
    // timeout) periods plus scheduling slack.
    let hc = HealthCheck::http(80, "/")
        .unhealthy_threshold(3)
        .check_interval_seconds(1)
        .response_timeout_seconds(1);
    assert!(took >= step * 2, "left after {took:?}");
    assert!(
        took <= sim.scaled(hc.time_to_unhealthy()) + Duration::from_millis(300),
        "left after {took:?}"
    );
    // From now on, only b answers through the load balancer (the app still serves: drained
    // apps keep answering requests sent to them).
    for _ in 0..10 {
        let (status, id, _) = hit(&lb.url).await;
        assert_eq!((status, id), (200, Some(sim.droplet("b").unwrap().id.0)));
    }
    assert_eq!(hit(&a.url).await.0, 200);
    // A deploy clears the drain: back in after two passes.
    sim.deploy(a.id, "v2").unwrap();
    sim.wait_for("a to come back", DEADLINE, |s| in_rotation(s, "a"))
        .await
        .unwrap();
    sim.shutdown().await;
}

#[tokio::test]
async fn a_new_droplet_enters_after_the_healthy_threshold() {
    let sim = Sim::start(fleet()).await.unwrap();
    let c = client(&sim);
    let spare = sim.droplet("spare").unwrap();
    let step = sim.scaled(Duration::from_secs(1));
    let t0 = Instant::now();
    let served0 = spare.requests_served;
    c.tags().tag_droplets("web", &[spare.id]).await.unwrap();
    let lb = sim.load_balancer("lb").unwrap();
    assert!(lb.members.contains(&spare.id), "covered at once");
    assert!(
        !lb.in_rotation.contains(&spare.id),
        "but unhealthy until checked"
    );
    sim.wait_for("spare to enter rotation", DEADLINE, |s| {
        in_rotation(s, "spare")
    })
    .await
    .unwrap();
    let took = t0.elapsed();
    assert!(
        took >= step,
        "entered after {took:?}: two passes are an interval apart"
    );
    // Entered after exactly two passed checks (three if one ran before our look).
    let checks = sim.droplet("spare").unwrap().requests_served - served0;
    assert!((2..=3).contains(&checks), "{checks} checks");
    // It gets traffic now.
    let mut seen = false;
    for _ in 0..6 {
        seen |= hit(&lb.url).await.1 == Some(spare.id.0);
    }
    assert!(seen, "round-robin over three droplets reaches the new one");

    // Untagged and tagged again: it starts unhealthy again.
    c.tags().untag_droplets("web", &[spare.id]).await.unwrap();
    assert!(!in_rotation(&sim, "spare"));
    c.tags().tag_droplets("web", &[spare.id]).await.unwrap();
    assert!(
        !in_rotation(&sim, "spare"),
        "health is forgotten when a droplet leaves"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_never_healthy_droplet_never_enters() {
    let sim = Sim::start(fleet()).await.unwrap();
    let c = client(&sim);
    let spare = sim.droplet("spare").unwrap();
    sim.set_never_healthy(spare.id, true).unwrap();
    c.tags().tag_droplets("web", &[spare.id]).await.unwrap();
    // Ten intervals: five times the healthy threshold.
    tokio::time::sleep(sim.scaled(Duration::from_secs(10))).await;
    assert!(!in_rotation(&sim, "spare"));
    assert_eq!(hit(&format!("{}health", spare.url)).await.0, 503);
    sim.set_never_healthy(spare.id, false).unwrap();
    sim.wait_for("spare to enter once fixed", DEADLINE, |s| {
        in_rotation(s, "spare")
    })
    .await
    .unwrap();
    sim.shutdown().await;
}

#[tokio::test]
async fn untagging_stops_new_requests_at_once_and_lets_in_flight_ones_finish() {
    let sim = Sim::start(fleet()).await.unwrap();
    let c = client(&sim);
    let a = sim.droplet("a").unwrap();
    let b = sim.droplet("b").unwrap();
    let lb = sim.load_balancer("lb").unwrap();
    // Four slow requests: round-robin sends two to each droplet.
    let slow: Vec<_> = (0..4)
        .map(|_| {
            let url = format!("{}?sleep_ms=600", lb.url);
            tokio::spawn(async move { hit(&url).await })
        })
        .collect();
    sim.wait_for("the slow requests to arrive", DEADLINE, |s| {
        s.droplet("a").unwrap().requests_served >= 2 && s.droplet("b").unwrap().requests_served >= 2
    })
    .await
    .unwrap();
    c.tags().untag_droplets("web", &[a.id]).await.unwrap();
    for _ in 0..10 {
        assert_eq!(hit(&lb.url).await, (200, Some(b.id.0), Some("v1".into())));
    }
    let mut by = Vec::new();
    for h in slow {
        let (status, id, _) = h.await.unwrap();
        assert_eq!(status, 200);
        by.push(id.unwrap());
    }
    by.sort();
    assert_eq!(by, vec![a.id.0, a.id.0, b.id.0, b.id.0]);
    sim.shutdown().await;
}

#[tokio::test]
async fn no_droplet_in_rotation_is_a_503() {
    let sim = Sim::start(fleet()).await.unwrap();
    let c = client(&sim);
    let ids: Vec<_> = ["a", "b"]
        .iter()
        .map(|n| sim.droplet(n).unwrap().id)
        .collect();
    c.tags().untag_droplets("web", &ids).await.unwrap();
    let lb = sim.load_balancer("lb").unwrap();
    assert_eq!(hit(&lb.url).await.0, 503);
    let stats = sim.stats();
    assert_eq!(stats.load_balancers["lb"].no_backend, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_idle_client_connection_is_closed_after_http_idle_timeout_seconds() {
    // 30 s (the API's minimum) × 0.01 = 300 ms.
    let sim = Sim::start(fleet().time_scale(0.01)).await.unwrap();
    let c = client(&sim);
    let lb = c
        .load_balancers()
        .find_by_name("lb")
        .await
        .unwrap()
        .unwrap();
    let req = lb.to_request().http_idle_timeout_seconds(30);
    c.load_balancers().update(&lb.id, &req).await.unwrap();
    let addr = std::net::SocketAddr::from((sim.load_balancer("lb").unwrap().addr, sim.app_port()));
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    let closed = tokio::spawn(async move {
        let t0 = Instant::now();
        let _ = conn.await;
        t0.elapsed()
    });
    let get = || {
        hyper::Request::get("/")
            .header("host", "lb")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap()
    };
    // Busy connections stay open past the timeout...
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(500) {
        sender.ready().await.unwrap();
        let r = sender.send_request(get()).await.unwrap();
        assert_eq!(r.status(), 200);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // ...an idle one is closed by the load balancer after about 300 ms.
    let after = tokio::time::timeout(Duration::from_secs(3), closed)
        .await
        .expect("the load balancer closes the idle connection")
        .unwrap();
    assert!(
        after >= Duration::from_millis(500) + Duration::from_millis(250),
        "closed after {after:?}"
    );
    sim.shutdown().await;
}
