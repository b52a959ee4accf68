//! Real traffic through the reserved IP and the load balancer while deploying by hand: done
//! right, no request fails; done wrong, the traffic counters show it.

mod support;

use std::time::Duration;

use do_sim::traffic::{ClientKind, Load, LoadConfig, Traffic};
use do_sim::{IpMoves, Sim, SimConfig};
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
async fn with_the_kind_model_a_switch_through_the_reserved_ip_loses_nothing() {
    // The old model, kept only to compare: open connections stay with the old droplet.
    let sim = Sim::start(scenario().ip_moves(IpMoves::kind()))
        .await
        .unwrap();
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
            .all(|k| k == "reset" || k == "connect"),
        "{}",
        report.summary()
    );
    sim.shutdown().await;
}

/// A keep-alive connection to `url` (http://ip:port/): send a GET on it, return status or the
/// error, without hiding a reset behind a retry.
struct RawConn(hyper::client::conn::http1::SendRequest<http_body_util::Empty<bytes::Bytes>>);

impl RawConn {
    async fn open(addr: std::net::SocketAddr) -> RawConn {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        RawConn(sender)
    }

    async fn get(&mut self) -> Result<(u16, Option<String>), String> {
        let req = hyper::Request::get("/")
            .header("host", "sim")
            .body(http_body_util::Empty::new())
            .unwrap();
        self.0
            .ready()
            .await
            .map_err(|e| format!("not ready: {e}"))?;
        let r = self.0.send_request(req).await.map_err(|e| format!("{e}"))?;
        let v = r
            .headers()
            .get("x-app-version")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let status = r.status().as_u16();
        http_body_util::BodyExt::collect(r.into_body())
            .await
            .map_err(|e| format!("{e}"))?;
        Ok((status, v))
    }
}

#[tokio::test]
async fn a_reserved_ip_move_resets_open_connections_and_refuses_new_ones_for_the_blackout() {
    let sim = Sim::start(scenario().ip_moves(IpMoves::harsh(Duration::from_millis(400))))
        .await
        .unwrap();
    let c = client(&sim);
    let fallback = sim.droplet("fallback").unwrap();
    let ip = sim.reserved_ips()[0].clone();
    let addr = std::net::SocketAddr::from((ip.ip, sim.app_port()));
    let mut pooled = RawConn::open(addr).await;
    assert_eq!(pooled.get().await.unwrap(), (200, Some("v1".into())));
    let a = c.reserved_ips().assign(ip.ip, fallback.id).await.unwrap();
    c.actions().wait(a.id, &fast_wait()).await.unwrap();
    let moved = tokio::time::Instant::now();
    // The connection that was open at the move is gone: the next request on it fails.
    let e = pooled.get().await.unwrap_err();
    // New connections fail during the blackout...
    let mut fresh = RawConn::open(addr).await;
    let during = fresh.get().await;
    assert!(
        moved.elapsed() < Duration::from_millis(400),
        "the test was too slow to look inside the blackout"
    );
    assert!(during.is_err(), "inside the blackout: {during:?}");
    // ...and reach the new holder after it.
    tokio::time::sleep(Duration::from_millis(450)).await;
    let mut after = RawConn::open(addr).await;
    assert_eq!(after.get().await.unwrap(), (200, Some("v1".into())));
    let stats = sim.stats().reserved_ips[&ip.ip.to_string()].clone();
    assert_eq!(stats.moves, 1, "{stats:?}");
    assert_eq!(stats.reset_by_move, 1, "{stats:?} ({e})");
    assert!(stats.blackout >= 1, "{stats:?}");
    assert!(stats.by_droplet[&fallback.id.0] >= 1, "{stats:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn each_client_kind_is_reported_apart_and_pooled_kinds_reuse_connections() {
    let sim = Sim::start(scenario()).await.unwrap();
    let lb = sim.load_balancer("web-lb").unwrap();
    let report = Traffic::start(
        LoadConfig::new(&lb.url)
            .rate(150.0)
            .max_requests(150)
            .duration(Duration::from_secs(5)),
    )
    .wait()
    .await;
    assert_eq!(report.kinds.len(), 3, "{}", report.summary());
    for kind in ClientKind::ALL {
        let r = report.kind(kind);
        assert_eq!((r.sent, r.failed), (50, 0), "{kind}: {}", r.summary());
        if kind.pooled() {
            assert!(
                r.connections < 25,
                "{kind} reuses: {} connections",
                r.connections
            );
        } else {
            assert_eq!(r.connections, 50, "{kind}");
        }
    }
    assert_eq!(report.combined().sent, 150);
    sim.shutdown().await;
}

#[tokio::test]
async fn connection_close_mode_closes_idle_connections_so_a_move_meets_no_pooled_one() {
    let sim = Sim::start(scenario()).await.unwrap();
    let prod = sim.droplet("prod").unwrap();
    let addr = std::net::SocketAddr::from((prod.addr, sim.app_port()));
    let mut busy = RawConn::open(addr).await;
    let mut idle = RawConn::open(addr).await;
    assert_eq!(busy.get().await.unwrap().0, 200);
    assert_eq!(idle.get().await.unwrap().0, 200);
    let r = http()
        .post(format!("{}connection-close?seconds=5", prod.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers().get("connection").map(|v| v.to_str().unwrap()),
        Some("close")
    );
    // A kept-alive connection used at once is answered, with `Connection: close`, then closed:
    // nothing is cut.
    assert_eq!(busy.get().await.unwrap().0, 200);
    let e = busy.get().await.unwrap_err();
    assert!(!e.contains("reset"), "{e}");
    // One left idle is closed by the app after a short grace.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(idle.0.is_closed(), "the idle connection is still open");
    // A new connection is served once, with `Connection: close`.
    let r = http().get(&prod.url).send().await.unwrap();
    assert_eq!(r.headers()["connection"], "close");
    sim.shutdown().await;
}
