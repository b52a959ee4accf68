//! Real traffic through the reserved IP and the load balancer while deploying by hand: done
//! right, no request fails; done wrong, the traffic counters show it.

mod support;

use std::time::Duration;

use do_sim::traffic::{Load, LoadConfig};
use do_sim::{Sim, SimConfig};
use support::*;

fn scenario() -> SimConfig {
    // Action 2 s, boot 3 s, health checks every 3 s: × 0.05 = 100 ms, 150 ms, 150 ms.
    SimConfig::blue_green_and_fleet().time_scale(0.05)
}

fn load(url: &str) -> Load {
    Load::start(
        LoadConfig::new(url)
            .rate(200.0)
            .concurrency(32)
            .duration(Duration::from_secs(20))
            .bucket(Duration::from_millis(100)),
    )
}

#[tokio::test]
async fn blue_green_switch_through_the_reserved_ip_loses_nothing() {
    let sim = Sim::start(scenario()).await.unwrap();
    let c = client(&sim);
    let fallback = sim.droplet("fallback").unwrap();
    let ip = sim.reserved_ips()[0].clone();
    let traffic = load(&ip.url);
    // The standby gets v2 while the reserved IP points at prod.
    sim.deploy(fallback.id, "v2").unwrap();
    sim.wait_for("fallback to boot v2", DEADLINE, |s| {
        s.droplet("fallback").unwrap().ready
    })
    .await
    .unwrap();
    let a = c.reserved_ips().assign(ip.ip, fallback.id).await.unwrap();
    c.actions().wait(a.id, &fast_wait()).await.unwrap();
    // Traffic has moved: wait until a few hundred milliseconds of v2 were served.
    sim.wait_for("v2 to serve a while", DEADLINE, |_| {
        traffic.report().by_version.get("v2").copied().unwrap_or(0) >= 40
    })
    .await
    .unwrap();
    let report = traffic.finish().await;
    assert_eq!(report.failed, 0, "{}", report.summary());
    assert!(report.sent >= 60, "{}", report.summary());
    assert_eq!(
        report.versions_in_order(),
        vec!["v1", "v2"],
        "{}",
        report.summary()
    );
    let last = report.buckets.iter().rev().find(|b| b.ok > 0).unwrap();
    assert_eq!(last.versions.keys().collect::<Vec<_>>(), vec!["v2"]);
    let stats = sim.stats();
    assert!(stats.reserved_ips[&ip.ip.to_string()].by_droplet[&fallback.id.0] >= 40);
    sim.shutdown().await;
}

#[tokio::test]
async fn rolling_deploy_behind_the_load_balancer_loses_nothing() {
    let sim = Sim::start(scenario()).await.unwrap();
    let c = client(&sim);
    let lb = sim.load_balancer("web-lb").unwrap();
    let traffic = load(&lb.url);
    for name in ["web-1", "web-2", "web-3"] {
        let d = sim.droplet(name).unwrap();
        // Out of rotation at once; wait for its requests in flight to finish.
        c.tags().untag_droplets("web", &[d.id]).await.unwrap();
        sim.wait_for("requests in flight to finish", DEADLINE, |s| {
            !s.load_balancer("web-lb")
                .unwrap()
                .in_flight
                .contains_key(&d.id)
        })
        .await
        .unwrap();
        let routed = |s: &Sim| {
            s.stats().load_balancers["web-lb"]
                .by_droplet
                .get(&d.id.0)
                .copied()
        };
        let before = routed(&sim);
        sim.deploy(d.id, "v2").unwrap();
        sim.wait_for("the droplet to boot", DEADLINE, |s| {
            s.droplet(name).unwrap().ready
        })
        .await
        .unwrap();
        assert_eq!(
            routed(&sim),
            before,
            "{name} got a request after leaving rotation"
        );
        c.tags().tag_droplets("web", &[d.id]).await.unwrap();
        sim.wait_for("the droplet to enter rotation", DEADLINE, |s| {
            s.load_balancer("web-lb")
                .unwrap()
                .in_rotation
                .contains(&d.id)
        })
        .await
        .unwrap();
    }
    let seen = traffic.report().sent;
    sim.wait_for("more traffic on v2", DEADLINE, |_| {
        traffic.report().sent >= seen + 30
    })
    .await
    .unwrap();
    let report = traffic.finish().await;
    assert_eq!(report.failed, 0, "{}", report.summary());
    assert_eq!(
        report.versions_in_order(),
        vec!["v1", "v2"],
        "{}",
        report.summary()
    );
    let last = report.buckets.iter().rev().find(|b| b.ok > 0).unwrap();
    assert_eq!(
        last.versions.keys().collect::<Vec<_>>(),
        vec!["v2"],
        "{report:?}"
    );
    assert_eq!(report.by_droplet.len(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn deploying_to_a_droplet_in_rotation_fails_requests() {
    // Boot 3 s × 0.2 = 600 ms, unhealthy after 3 × 600 ms: the load balancer keeps sending
    // to the restarting droplet for a while.
    let sim = Sim::start(SimConfig::blue_green_and_fleet().time_scale(0.2))
        .await
        .unwrap();
    let lb = sim.load_balancer("web-lb").unwrap();
    let web1 = sim.droplet("web-1").unwrap();
    let traffic = load(&lb.url);
    sim.wait_for("some traffic", DEADLINE, |_| traffic.report().ok >= 10)
        .await
        .unwrap();
    sim.deploy(web1.id, "v2").unwrap();
    sim.wait_for("failures", DEADLINE, |_| traffic.report().failed >= 5)
        .await
        .unwrap();
    let report = traffic.finish().await;
    assert!(
        report.failures.contains_key("status 502"),
        "{}",
        report.summary()
    );
    assert!(sim.stats().load_balancers["web-lb"].backend_errors >= 5);
    sim.shutdown().await;
}

#[tokio::test]
async fn switching_the_reserved_ip_to_a_booting_droplet_fails_requests() {
    let sim = Sim::start(SimConfig::blue_green_and_fleet().time_scale(0.2))
        .await
        .unwrap();
    let c = client(&sim);
    let fallback = sim.droplet("fallback").unwrap();
    let ip = sim.reserved_ips()[0].clone();
    let traffic = load(&ip.url);
    // Deploy and switch at once: 400 ms of action, then 200 ms of boot left to hit.
    sim.deploy(fallback.id, "v2").unwrap();
    let a = c.reserved_ips().assign(ip.ip, fallback.id).await.unwrap();
    c.actions().wait(a.id, &fast_wait()).await.unwrap();
    sim.wait_for("v2 answers", DEADLINE, |_| {
        traffic.report().by_version.contains_key("v2")
    })
    .await
    .unwrap();
    let report = traffic.finish().await;
    assert!(report.failed > 0, "{}", report.summary());
    assert!(
        report
            .failures
            .keys()
            .all(|k| k == "transport" || k == "connect"),
        "{}",
        report.summary()
    );
    sim.shutdown().await;
}
