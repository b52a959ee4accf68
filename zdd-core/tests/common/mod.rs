//! What the replace and canary scenario tests share: the fake's fleet behind `web-lb`, a fast
//! configuration, the runs, and the calls and state they are checked against.
#![allow(dead_code)]

use std::time::Duration;

use fake_do::{FLEET_LB_ID as LB_ID, FakeDo, GOOD_IMAGE};
use zdd_core::bluegreen::{LbRef, LbSettings, LockSettings};
use zdd_core::events::CollectingSink;
use zdd_core::health::HealthPolicy;
use zdd_core::hook::NoHook;
use zdd_core::replace::{self, NewDroplets, ReplaceConfig, ReplaceReport};
use zdd_core::rolling::RollingConfig;

pub fn new_droplets(image: u64) -> NewDroplets {
    NewDroplets::from_image(image)
}

/// Waits scaled by 0.01, watched; fast health checks and polls.
pub fn config(image: u64) -> ReplaceConfig {
    let lb = LbSettings {
        drain_wait: Duration::from_secs(2),
        lb_sync_wait: Duration::from_secs(1),
        wait_scale: 0.01,
        ..LbSettings::new(LbRef::Id(LB_ID.into()))
    };
    let mut cfg = ReplaceConfig::new(lb, new_droplets(image));
    cfg.health = HealthPolicy {
        successes: 2,
        interval: Duration::from_millis(20),
        deadline: Duration::from_millis(600),
        request_timeout: Duration::from_millis(500),
        ..HealthPolicy::default()
    };
    cfg.active_wait = do_api::WaitOptions::with_timeout(Duration::from_secs(5))
        .interval(Duration::from_millis(5), Duration::from_millis(5));
    cfg.lock = Some(LockSettings {
        ttl: Duration::from_secs(1800),
        wait: Duration::ZERO,
        poll: Duration::from_millis(50),
        settle: Duration::from_millis(50),
        lease: Duration::from_secs(60),
    });
    cfg
}

pub async fn run(fake: &FakeDo, cfg: &ReplaceConfig) -> ReplaceReport {
    replace::run(
        &fake.client(),
        cfg,
        None::<&NoHook>,
        &CollectingSink::default(),
        std::future::pending(),
    )
    .await
}

pub async fn rollback(fake: &FakeDo) -> ReplaceReport {
    replace::rollback(
        &fake.client(),
        &config(GOOD_IMAGE),
        &CollectingSink::default(),
        std::future::pending(),
    )
    .await
}

pub async fn finalize(fake: &FakeDo) -> ReplaceReport {
    replace::finalize(
        &fake.client(),
        &config(GOOD_IMAGE),
        &CollectingSink::default(),
        std::future::pending(),
    )
    .await
}

/// The mutating calls, the run id written `R` and keep times `T`.
pub fn calls(fake: &FakeDo, report: &ReplaceReport) -> Vec<String> {
    let run = report
        .run_tag
        .as_deref()
        .and_then(|t| t.strip_prefix("zdd-run:"))
        .unwrap_or("none")
        .to_owned();
    fake.short_mutations()
        .into_iter()
        .map(|c| {
            let c = c.replace(&run, "R");
            match c.find("zdd-until:") {
                Some(i) => {
                    let end = c[i..].find(' ').map_or(c.len(), |e| i + e);
                    format!("{}zdd-until:T{}", &c[..i], &c[end..])
                }
                None => c,
            }
        })
        .collect()
}

pub fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

pub fn tags(fake: &FakeDo, id: u64) -> Vec<String> {
    let mut t = fake.state().droplet_tags(id);
    t.sort();
    t
}

pub fn in_lb(fake: &FakeDo) -> Vec<u64> {
    fake.state().lb_droplets(LB_ID)
}

pub fn droplet_ids(fake: &FakeDo) -> Vec<u64> {
    fake.state().droplets.keys().copied().collect()
}

pub fn assert_clean(fake: &FakeDo) {
    assert!(
        fake.lock_tags().is_empty(),
        "lock left: {:?}",
        fake.lock_tags()
    );
    fake.assert_no_unexpected();
}

pub const LB_TAG: &str = "zdd-lb:7f1c2a3e-0b4d-4c5e-8f60-718293a4b5c6";

/// The calls of a clean replace of 3 droplets through the tag `web`.
pub fn clean_calls() -> Vec<String> {
    s(&[
        "create LOCK",
        "new web-lb-R-1,web-lb-R-2,web-lb-R-3",
        &format!("create {LB_TAG}"),
        &format!("+{LB_TAG} 1,2,3"),
        "create zdd-prev:R",
        "+zdd-prev:R 1,2,3",
        "+web 9001,9002,9003",
        "-web 1,2,3",
        "create zdd-until:T",
        "+zdd-until:T 1,2,3",
        "delete LOCK",
    ])
}

/// New droplets 9001..9003 alone in the load balancer; the old ones out of it, powered,
/// tagged as this run's previous fleet with a keep time.
pub fn assert_replaced(fake: &FakeDo, report: &ReplaceReport) {
    let run = report.run_tag.clone().unwrap();
    let id = run.strip_prefix("zdd-run:").unwrap();
    assert_eq!(in_lb(fake), [9001, 9002, 9003]);
    assert_eq!(droplet_ids(fake), [1, 2, 3, 9001, 9002, 9003]);
    for old in 1..=3 {
        let t = tags(fake, old);
        assert_eq!(t.len(), 3, "{t:?}");
        assert_eq!(t[0], LB_TAG);
        assert_eq!(t[1], format!("zdd-prev:{id}"));
        assert!(t[2].starts_with("zdd-until:"), "{t:?}");
    }
    for new in 9001..=9003 {
        assert_eq!(
            tags(fake, new),
            ["web".to_owned(), LB_TAG.to_owned(), run.clone()]
        );
    }
    assert_eq!(
        fake.state().droplets[&9002]["name"],
        format!("web-lb-{id}-2")
    );
    assert_clean(fake);
}

/// A rolling deploy of the fake's pool (`web-lb`, [`fake_do::POOL_LB_ID`]) to `v2`: waits
/// scaled by 0.01 (drain 2 s -> 20 ms, sync 1 s -> 10 ms, windows 3 s -> 30 ms), fast gates
/// expecting `v2` in the body.
pub fn rolling_config() -> RollingConfig {
    RollingConfig {
        health: HealthPolicy {
            successes: 2,
            interval: Duration::from_millis(20),
            deadline: Duration::from_millis(600),
            request_timeout: Duration::from_millis(500),
            expect_body: Some("v2".into()),
            ..HealthPolicy::default()
        },
        drain_wait: Duration::from_secs(2),
        lb_sync_wait: Duration::from_secs(1),
        version: Some("v2".into()),
        lock: Some(LockSettings {
            ttl: Duration::from_secs(1800),
            wait: Duration::ZERO,
            poll: Duration::from_millis(50),
            settle: Duration::from_millis(50),
            // No renewal inside a scenario's exact call list.
            lease: Duration::from_secs(60),
        }),
        wait_scale: 0.01,
        ..RollingConfig::new(zdd_core::rolling::LbRef::Id(fake_do::POOL_LB_ID.into()))
    }
}
