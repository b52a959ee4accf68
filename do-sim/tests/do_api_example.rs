//! do-api's example program (`do-api/examples/tour.rs`), run against the simulator as written:
//! the code a library user starts from compiles and works.

#[path = "../../do-api/examples/tour.rs"]
#[allow(dead_code)]
mod tour;

use do_sim::{Sim, SimConfig};

#[tokio::test]
async fn the_do_api_tour_runs_against_the_simulator() {
    let sim = Sim::start(SimConfig::blue_green_and_fleet().time_scale(0.05))
        .await
        .unwrap();
    let (prod, fallback) = (
        sim.droplet("prod").unwrap(),
        sim.droplet("fallback").unwrap(),
    );
    let ip = sim.reserved_ips()[0].ip;
    let lines = tour::tour(&sim.client(), "PROD", "FALLBACK").await.unwrap();
    assert_eq!(
        lines[0],
        format!(
            "live: prod ({}), standby: fallback ({})",
            prod.id, fallback.id
        )
    );
    assert!(
        lines[1].starts_with(&format!("reserved IP {ip} moved to fallback by action "))
            && lines[1].ends_with("(completed)"),
        "{lines:#?}"
    );
    assert_eq!(lines[2], "droplet 1: not found");
    assert!(lines[3].starts_with("rate limit: "), "{lines:#?}");
    assert_eq!(sim.reserved_ips()[0].holder, Some(fallback.id));
    sim.shutdown().await;
}
