//! Shared helpers for the simulator's tests.
#![allow(dead_code)]

use std::time::Duration;

use do_api::{Client, RetryPolicy, WaitOptions};
use do_sim::Sim;

/// Every wait in these tests gives up after this long.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A do-api client for `sim` with fast retries (and a cap on server hints).
pub fn client(sim: &Sim) -> Client {
    sim.client_builder()
        .retry_policy(
            RetryPolicy::default()
                .with_max_retries(8)
                .with_min_delay(Duration::from_millis(1))
                .with_max_delay(Duration::from_millis(20))
                .with_max_server_wait(Duration::from_millis(200)),
        )
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A client that never retries.
pub fn strict_client(sim: &Sim) -> Client {
    sim.client_builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Fast polling for action waits.
pub fn fast_wait() -> WaitOptions {
    WaitOptions::with_timeout(DEADLINE)
        .interval(Duration::from_millis(5), Duration::from_millis(20))
}

/// A plain HTTP client that does not reuse connections and ignores proxy settings.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// `GET url`: (status, x-droplet-id, x-app-version).
pub async fn hit(url: &str) -> (u16, Option<u64>, Option<String>) {
    let r = http().get(url).send().await.unwrap();
    let h = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let id = h("x-droplet-id").and_then(|v| v.parse().ok());
    let v = h("x-app-version");
    (r.status().as_u16(), id, v)
}
