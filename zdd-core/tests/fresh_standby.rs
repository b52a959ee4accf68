//! `promote --image`: a fresh standby from the release's snapshot, against the stateful fake:
//! the exact mutating calls, the state after, the report.

use std::net::Ipv4Addr;
use std::time::Duration;

use do_api::WaitOptions;
use fake_do::{BAD_IMAGE, FakeDo, GOOD_IMAGE};
use zdd_core::Outcome;
use zdd_core::bluegreen::{self, BlueGreenConfig, BlueGreenReport, LockSettings};
use zdd_core::events::CollectingSink;
use zdd_core::health::{HealthPolicy, HealthTarget};
use zdd_core::replace::NewDroplets;

const BLUE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);
const GREEN: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 12);
const SPARE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 14);
const RIP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 20);

/// blue (1, PROD) holds the IP and runs v1; green (2, FALLBACK) runs v0, the release before;
/// one spare address; the snapshots `app-v2` and `app-bad`.
async fn pair() -> FakeDo {
    let fake = FakeDo::start_with_spare(
        &[
            (1, "blue", BLUE, &["PROD"]),
            (2, "green", GREEN, &["FALLBACK"]),
        ],
        &[(RIP, Some(1))],
        &[SPARE],
    )
    .await;
    fake.set_app(1, 200, "blue v1");
    fake.set_app(2, 200, "green v0");
    fake.add_image(GOOD_IMAGE, "app-v2");
    fake.add_image(BAD_IMAGE, "app-bad");
    fake.state().bad_images.insert(BAD_IMAGE);
    fake
}

fn config(fake: &FakeDo) -> BlueGreenConfig {
    BlueGreenConfig {
        reserved_ip: Some(RIP),
        target: HealthTarget {
            port: Some(fake.app_port),
            ..HealthTarget::default()
        },
        health: HealthPolicy {
            successes: 2,
            interval: Duration::from_millis(20),
            deadline: Duration::from_millis(600),
            request_timeout: Duration::from_millis(500),
            expect_body: Some("app-v2".into()),
            ..HealthPolicy::default()
        },
        assign_wait: WaitOptions::with_timeout(Duration::from_secs(5))
            .interval(Duration::from_millis(5), Duration::from_millis(20)),
        lock: Some(LockSettings {
            ttl: Duration::from_secs(1800),
            wait: Duration::ZERO,
            poll: Duration::from_millis(50),
            settle: Duration::from_millis(50),
            lease: Duration::from_secs(60),
        }),
        ..BlueGreenConfig::default()
    }
}

fn image(id: u64) -> NewDroplets {
    NewDroplets::from_image(id)
}

async fn promote(fake: &FakeDo, new: &NewDroplets) -> BlueGreenReport {
    bluegreen::promote_fresh(
        &fake.client(),
        &config(fake),
        new,
        &CollectingSink::default(),
        std::future::pending(),
    )
    .await
}

fn tags(fake: &FakeDo, id: u64) -> Vec<String> {
    let mut t = fake.state().droplet_tags(id);
    t.sort();
    t
}

/// The calls in short, the run id (from the fresh droplet's run tag) written `R`.
fn calls(fake: &FakeDo) -> Vec<String> {
    let run = tags(fake, 9001)
        .into_iter()
        .find_map(|t| t.strip_prefix("zdd-run:").map(str::to_owned))
        .expect("the fresh droplet carries its run tag");
    fake.short_mutations()
        .into_iter()
        .map(|c| c.replace(&run, "R"))
        .collect()
}

#[tokio::test]
async fn a_fresh_standby_takes_the_traffic_and_the_old_live_one_becomes_the_fallback() {
    let fake = pair().await;
    let report = promote(&fake, &image(GOOD_IMAGE)).await;
    assert_eq!(report.outcome, Outcome::Switched, "{}", report.message);
    let c = calls(&fake);
    assert_eq!(
        c,
        [
            "create LOCK",
            "new blue-R",
            "create zdd-retired:R",
            "+zdd-retired:R 2",
            "create FALLBACK",
            "+FALLBACK 9001",
            "-FALLBACK 2",
            // The promote: the reserved IP moves to the fresh droplet, then the tags swap.
            &format!(
                "POST /v2/reserved_ips/{RIP}/actions {{\"droplet_id\":9001,\"type\":\"assign\"}}"
            ),
            "+FALLBACK 1",
            "+PROD 9001",
            "-PROD 1",
            "-FALLBACK 9001",
            "rm 2",
            "delete zdd-retired:R",
            "delete LOCK",
        ],
        "{c:#?}"
    );
    assert_eq!(fake.state().ip_holder(&RIP.to_string()), Some(9001));
    let run = tags(&fake, 9001)
        .into_iter()
        .find(|t| t.starts_with("zdd-run:"))
        .unwrap();
    assert_eq!(tags(&fake, 9001), ["PROD".to_owned(), run]);
    assert_eq!(tags(&fake, 1), ["FALLBACK"]);
    assert!(
        !fake.state().droplets.contains_key(&2),
        "the old standby is deleted"
    );
    assert!(
        report
            .message
            .contains("the old standby was deleted: 2 (green)"),
        "{}",
        report.message
    );
    fake.assert_no_unexpected();
    // The same command again: live already, nothing switches back.
    fake.clear_log();
    let again = promote(&fake, &image(GOOD_IMAGE)).await;
    assert_eq!(again.outcome, Outcome::AlreadyLive, "{}", again.message);
    assert_eq!(calls(&fake), ["create LOCK", "delete LOCK"]);
    assert_eq!(fake.state().ip_holder(&RIP.to_string()), Some(9001));
}

#[tokio::test]
async fn a_fresh_standby_that_fails_its_gate_is_deleted_and_the_pair_is_as_before() {
    let fake = pair().await;
    let report = promote(&fake, &image(BAD_IMAGE)).await;
    assert_eq!(report.outcome, Outcome::NotReady, "{}", report.message);
    assert!(
        report.message.contains("failed the health gate")
            && report
                .message
                .contains("was deleted and the pair is as before"),
        "{}",
        report.message
    );
    assert_eq!(fake.state().ip_holder(&RIP.to_string()), Some(1));
    assert!(!fake.state().droplets.contains_key(&9001));
    assert_eq!(tags(&fake, 1), ["PROD"]);
    assert_eq!(tags(&fake, 2), ["FALLBACK"]);
    fake.assert_no_unexpected();
}

#[tokio::test]
async fn a_crash_after_any_change_is_finished_by_running_the_same_command_again() {
    for k in 1..15 {
        let fake = pair().await;
        let crash = fake.crash_after(k);
        let first = bluegreen::promote_fresh(
            &fake.client(),
            &config(&fake),
            &image(GOOD_IMAGE),
            &CollectingSink::default(),
            async move { crash.notified().await },
        )
        .await;
        assert!(
            matches!(first.outcome, Outcome::Interrupted | Outcome::Switched),
            "k={k}: {:?} {}",
            first.outcome,
            first.message
        );
        let again = promote(&fake, &image(GOOD_IMAGE)).await;
        assert!(
            matches!(
                again.outcome,
                Outcome::Switched | Outcome::Resumed | Outcome::AlreadyLive
            ),
            "k={k}: {:?} {}",
            again.outcome,
            again.message
        );
        // One fresh droplet, live; the old live one the fallback; the old standby gone.
        let ids: Vec<u64> = fake.state().droplets.keys().copied().collect();
        assert_eq!(ids, [1, 9001], "k={k}");
        assert_eq!(
            fake.state().ip_holder(&RIP.to_string()),
            Some(9001),
            "k={k}"
        );
        assert_eq!(tags(&fake, 1), ["FALLBACK"], "k={k}");
        assert!(tags(&fake, 9001).contains(&"PROD".to_owned()), "k={k}");
        assert!(fake.lock_tags().is_empty(), "k={k}");
        fake.assert_no_unexpected();
    }
}
