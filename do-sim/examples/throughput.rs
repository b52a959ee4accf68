//! Throughput of the simulator's load balancer and reserved IP on this machine.
//!
//! `cargo run --release -p do-sim --example throughput [RATE] [SECONDS]` (default 5000 req/s
//! for 5 s, each target, with and without keep-alive). Traffic stays on loopback and stops by
//! itself.
#![allow(clippy::print_stdout)]

use std::time::Duration;

use do_sim::traffic::{Load, LoadConfig};
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
        for keep_alive in [false, true] {
            let report = Load::start(
                LoadConfig::new(&url)
                    .rate(rate)
                    .concurrency(64)
                    .duration(Duration::from_secs(secs))
                    .keep_alive(keep_alive),
            )
            .wait()
            .await;
            println!(
                "{what:<17} keep-alive {:<5}: {}",
                keep_alive,
                report.summary()
            );
        }
    }
    sim.shutdown().await;
}
