//! Throughput of the simulator's load balancer and reserved IP on this machine.
//!
//! `cargo run --release -p do-sim --example throughput [RATE] [SECONDS]` (default 5000 req/s
//! for 5 s, each target, for each client kind). Traffic stays on loopback and stops by
//! itself.
#![allow(clippy::print_stdout)]

use std::time::Duration;

use do_sim::traffic::{ClientKind, Load, LoadConfig};
use do_sim::{Sim, SimConfig};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let rate: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5000.0);
    let secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let sim = Sim::start(SimConfig::blue_green_and_fleet())
        .await
        .expect("simulator starts");
    let lb = sim.load_balancer("web-lb").expect("scenario has web-lb");
    let ip = sim.reserved_ips()[0].clone();
    let prod = sim.droplet("prod").expect("scenario has prod");
    for (what, url) in [
        ("droplet (direct)", prod.url.clone()),
        ("load balancer", lb.url.clone()),
        ("reserved IP", ip.url.clone()),
    ] {
        for kind in ClientKind::ALL {
            let report = Load::start(
                LoadConfig::new(&url)
                    .rate(rate)
                    .concurrency(64)
                    .duration(Duration::from_secs(secs))
                    .client(kind),
            )
            .wait()
            .await;
            println!("{what:<17} {kind:<26}: {}", report.summary());
        }
    }
    sim.shutdown().await;
}
