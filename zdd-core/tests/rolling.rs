//! Rolling-deploy scenarios against the stateful fake: the exact calls, the final tags, the
//! report. The `zdd-do roll` binary's exit codes are tested in `zdd-cli/tests/roll.rs`.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use do_api::Client;
use fake_do::{App, FakeDo, FakeIdentity, State};
use serde_json::json;
use zdd_core::bluegreen::LockSettings;
use zdd_core::events::{CollectingSink, Event};
use zdd_core::hook::{DropletHook, HookTarget};
use zdd_core::rolling::{
    self, Drain, DropletState, Identify, LbRef, OnFailure, Outcome, RollingConfig, RollingReport,
    WaitHow, WaitKind, WatchSettings,
};

mod common;

use fake_do::{POOL_LB_ID as LB_ID, POOL_LB_IP as LB_IP, POOL_MARKER as MARKER};

async fn pool(n: u64, by_ids: bool) -> FakeDo {
    FakeDo::lb_pool(n, by_ids).await
}

fn client(fake: &FakeDo) -> Client {
    fake.client()
}

use common::rolling_config as config;

/// [`config`] with waits scaled by 0.1: the load balancer's 1 s checks take 0.1 s, long
/// enough for the gate (probing every 20 ms) to react before the load balancer could route,
/// so batches go back while they boot.
fn early() -> RollingConfig {
    RollingConfig {
        wait_scale: 0.1,
        ..config()
    }
}

/// [`config`] with the computed waits and the put-back after the gate: the protocol without
/// watching, as it runs where nothing identifies droplets.
fn computed() -> RollingConfig {
    RollingConfig {
        watch: WatchSettings {
            computed_only: true,
            ..WatchSettings::default()
        },
        put_back_early: false,
        ..config()
    }
}

/// Sets the droplet's app to `<name> <version>` (or breaks it, or fails), and records calls.
struct AppHook {
    state: Arc<Mutex<State>>,
    version: &'static str,
    fail: Vec<u64>,
    broken: Vec<u64>,
    /// Droplets whose update "succeeds" but leaves the previous version running (200).
    stale: Vec<u64>,
    /// How long each update takes.
    delay: Duration,
    /// Droplets updated while a load balancer could still send them requests.
    while_routed: Mutex<Vec<u64>>,
    seen: Mutex<Vec<(u64, String, Option<String>)>>,
}

impl AppHook {
    fn new(fake: &FakeDo, version: &'static str) -> Self {
        AppHook {
            state: fake.state.clone(),
            version,
            fail: vec![],
            broken: vec![],
            stale: vec![],
            delay: Duration::ZERO,
            while_routed: Mutex::new(vec![]),
            seen: Mutex::new(vec![]),
        }
    }

    fn seen(&self) -> Vec<u64> {
        self.seen.lock().unwrap().iter().map(|s| s.0).collect()
    }
}

impl DropletHook for AppHook {
    async fn run(&self, t: &HookTarget) -> Result<(), String> {
        self.seen
            .lock()
            .unwrap()
            .push((t.id.0, t.purpose.to_string(), t.version.clone()));
        if t.purpose == zdd_core::hook::HookPurpose::Update
            && self.state.lock().unwrap().lb_routes_to(t.id.0)
        {
            self.while_routed.lock().unwrap().push(t.id.0);
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        if self.fail.contains(&t.id.0) {
            return Err("the command exited with status 3".into());
        }
        let app = if self.broken.contains(&t.id.0) {
            App {
                status: 503,
                body: "broken".into(),
            }
        } else if self.stale.contains(&t.id.0) {
            App {
                status: 200,
                body: format!("{} v1", t.name),
            }
        } else {
            App {
                status: 200,
                body: format!("{} {}", t.name, self.version),
            }
        };
        self.state.lock().unwrap().apps.insert(t.id.0, app);
        Ok(())
    }
}

/// [`roll`] without a rollback command, keeping the events.
async fn roll_seen(
    fake: &FakeDo,
    cfg: &RollingConfig,
    update: &AppHook,
) -> (RollingReport, CollectingSink) {
    let sink = CollectingSink::default();
    let report = rolling::run(
        &client(fake),
        cfg,
        Some(update),
        None::<&AppHook>,
        &sink,
        std::future::pending(),
    )
    .await;
    (report, sink)
}

/// [`config`] (or another) draining through the app's `/drain` (`POST`).
fn shutdown_url(base: RollingConfig) -> RollingConfig {
    RollingConfig {
        drain: Drain::ShutdownUrl {
            path: "/drain".into(),
            method: "POST".into(),
        },
        ..base
    }
}

async fn roll(
    fake: &FakeDo,
    cfg: &RollingConfig,
    update: &AppHook,
    rollback: Option<&AppHook>,
) -> RollingReport {
    let sink = CollectingSink::default();
    rolling::run(
        &client(fake),
        cfg,
        Some(update),
        rollback,
        &sink,
        std::future::pending(),
    )
    .await
}

/// Mutations with the lock tag's run-specific name replaced by `LOCK` and the marker by
/// `OUT`, as short lines: `+OUT 1` (tag), `-web 1` (untag), `lb-1` / `lb+1` (id list).
fn mutations(fake: &FakeDo) -> Vec<String> {
    fake.state()
        .log
        .iter()
        .filter(|c| c.is_mutating())
        .map(|c| {
            let path = c.path.replace("%3A", ":").replace("%3a", ":");
            let ids = |key: &str| -> String {
                let v = &c.body[key];
                v.as_array()
                    .map(|a| {
                        a.iter()
                            .map(|r| match r {
                                serde_json::Value::Object(_) => {
                                    r["resource_id"].as_str().unwrap_or("?").to_owned()
                                }
                                other => other.to_string(),
                            })
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default()
            };
            let short = |t: &str| -> String {
                if t.starts_with("zdd-lock:") {
                    "LOCK".into()
                } else if t == MARKER {
                    "OUT".into()
                } else {
                    t.to_owned()
                }
            };
            let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            match (c.method.as_str(), segs.as_slice()) {
                ("POST", ["v2", "tags"]) => {
                    format!("create {}", short(c.body["name"].as_str().unwrap_or("?")))
                }
                ("DELETE", ["v2", "tags", t]) => format!("delete {}", short(t)),
                ("POST", ["v2", "tags", t, "resources"]) => {
                    format!("+{} {}", short(t), ids("resources"))
                }
                ("DELETE", ["v2", "tags", t, "resources"]) => {
                    format!("-{} {}", short(t), ids("resources"))
                }
                ("POST", ["v2", "load_balancers", _, "droplets"]) => {
                    format!("lb+{}", ids("droplet_ids"))
                }
                ("DELETE", ["v2", "load_balancers", _, "droplets"]) => {
                    format!("lb-{}", ids("droplet_ids"))
                }
                _ => c.line(),
            }
        })
        .collect()
}

fn tags(fake: &FakeDo, id: u64) -> Vec<String> {
    let mut t: Vec<String> = fake
        .state()
        .droplet_tags(id)
        .into_iter()
        .map(|t| if t == MARKER { "OUT".into() } else { t })
        .collect();
    t.sort();
    t
}

fn bodies(fake: &FakeDo, n: u64) -> Vec<String> {
    (1..=n)
        .map(|i| fake.state().apps[&i].body.clone())
        .collect()
}

fn assert_clean(fake: &FakeDo) {
    assert!(
        fake.lock_tags().is_empty(),
        "lock left behind: {:?}",
        fake.lock_tags()
    );
    fake.assert_no_unexpected();
}

/// The largest number of droplets out of the `web` rotation at once, replaying the calls.
fn max_out(calls: &[String], n: u64) -> usize {
    let mut out = std::collections::BTreeSet::new();
    let mut most = 0;
    for c in calls {
        let (remove, ids) = if let Some(ids) = c.strip_prefix("-web ") {
            (true, ids)
        } else if let Some(ids) = c.strip_prefix("+web ") {
            (false, ids)
        } else if let Some(ids) = c.strip_prefix("lb-") {
            (true, ids)
        } else if let Some(ids) = c.strip_prefix("lb+") {
            (false, ids)
        } else {
            continue;
        };
        for id in ids.split(',') {
            let id: u64 = id.parse().unwrap();
            if remove {
                out.insert(id);
            } else {
                out.remove(&id);
            }
        }
        most = most.max(out.len());
        assert!(out.len() < n as usize, "the pool was emptied: {calls:#?}");
    }
    most
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[tokio::test]
async fn three_droplets_one_at_a_time_with_computed_waits() {
    let fake = pool(3, false).await;
    let hook = AppHook::new(&fake, "v2");
    let report = roll(&fake, &computed(), &hook, None).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
    let m = mutations(&fake);
    assert_eq!(m, s(THREE_ROLLED));
    assert_eq!(max_out(&m, 3), 1);
    for i in 1..=3 {
        assert_eq!(tags(&fake, i), vec!["web"], "droplet {i}");
    }
    assert_eq!(bodies(&fake, 3), ["web-1 v2", "web-2 v2", "web-3 v2"]);
    assert_eq!(
        hook.seen.lock().unwrap().clone(),
        vec![
            (1, "update".into(), Some("v2".into())),
            (2, "update".into(), Some("v2".into())),
            (3, "update".into(), Some("v2".into())),
        ]
    );
    // The reads: the load balancer, the lock, the droplets by tag and by marker; nothing else.
    let gets: Vec<String> = fake
        .state()
        .log
        .iter()
        .filter(|c| !c.is_mutating())
        .map(|c| c.line().replace("%3A", ":"))
        .collect();
    assert_eq!(
        gets,
        vec![
            format!("GET /v2/load_balancers/{LB_ID}"),
            "GET /v2/tags?page=1&per_page=200".to_owned(),
            "GET /v2/droplets?tag_name=web&page=1&per_page=200".to_owned(),
            format!("GET /v2/droplets?tag_name={MARKER}&page=1&per_page=200"),
        ]
    );
    // After a roll that went through, the marker tag is gone from the account (deleting it
    // untagged the last droplet, in the same call).
    assert!(
        !fake.state().all_tag_names().contains(MARKER),
        "the marker tag is left behind"
    );
    assert!((1..=3).all(|i| tags(&fake, i) == vec!["web"]));
    assert_eq!(report.api_calls, 19);
    // Report: three batches, each with the computed and applied waits and their reasons.
    assert_eq!(report.batches.len(), 3);
    for b in &report.batches {
        assert!(b.ok && !b.resume && b.purpose.as_str() == "update");
        let w: Vec<(WaitKind, u128, u128)> = b
            .waits
            .iter()
            .map(|w| (w.kind, w.computed.as_millis(), w.applied.as_millis()))
            .collect();
        let expected = vec![
            (WaitKind::LbSync, 1000, 10),
            (WaitKind::Drain, 2000, 20),
            (WaitKind::LbSync, 1000, 10),
            (WaitKind::Routing, 3000, 30),
        ];
        assert_eq!(w, expected, "batch {}", b.index);
        assert!(
            b.waits[3].why.contains("healthy threshold 2"),
            "{:?}",
            b.waits
        );
    }
    assert!(
        report
            .droplets
            .iter()
            .all(|d| d.state == DropletState::Updated
                && !d.out_of_rotation
                && d.update.is_some()
                && d.health_gate.is_some()
                && d.time_out_of_rotation.is_some())
    );
    let lb = report.load_balancer.as_ref().unwrap();
    assert_eq!(
        lb.gate_url.as_deref(),
        Some(format!("http://<droplet-ip>:{}/health", fake.app_port).as_str())
    );
    assert_clean(&fake);
}

#[tokio::test]
async fn four_droplets_in_batches_of_two() {
    let fake = pool(4, false).await;
    let hook = AppHook::new(&fake, "v2");
    let cfg = RollingConfig {
        max_unavailable: NonZeroUsize::new(2).unwrap(),
        batch_delay: Duration::from_secs(1),
        ..config()
    };
    let report = roll(&fake, &cfg, &hook, None).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
    let m = mutations(&fake);
    assert_eq!(
        m,
        s(&[
            "create LOCK",
            "create OUT",
            "+OUT 1,2",
            "-web 1,2",
            "+web 1,2",
            "-OUT 1,2",
            "+OUT 3,4",
            "-web 3,4",
            "+web 3,4",
            "delete OUT",
            "delete LOCK",
        ])
    );
    assert_eq!(max_out(&m, 4), 2);
    for i in 1..=4 {
        assert_eq!(tags(&fake, i), vec!["web"]);
    }
    assert_eq!(hook.seen(), [1, 2, 3, 4]);
    assert_eq!(report.batches.len(), 2);
    assert_eq!(report.batches[0].droplets.len(), 2);
    // The batch delay is reported after the first batch.
    assert_eq!(
        report.batches[0].waits.last().map(|w| (w.kind, w.applied)),
        Some((WaitKind::BatchDelay, Duration::from_millis(10)))
    );
    assert_clean(&fake);
}

#[tokio::test]
async fn a_batch_size_that_would_empty_the_pool_is_refused() {
    for (n, k) in [(3, 3), (3, 5), (1, 1)] {
        let fake = pool(n, false).await;
        let hook = AppHook::new(&fake, "v2");
        let cfg = RollingConfig {
            max_unavailable: NonZeroUsize::new(k).unwrap(),
            ..config()
        };
        let report = roll(&fake, &cfg, &hook, None).await;
        assert_eq!(
            report.outcome,
            Outcome::Refused,
            "{n}/{k}: {}",
            report.message
        );
        assert!(
            report.message.contains("out of rotation"),
            "{}",
            report.message
        );
        assert_eq!(mutations(&fake), s(&["create LOCK", "delete LOCK"]));
        assert!(hook.seen().is_empty());
        for i in 1..=n {
            assert_eq!(tags(&fake, i), vec!["web"]);
        }
        assert_clean(&fake);
    }
}

#[tokio::test]
async fn update_failure_pauses_with_the_droplet_out_of_rotation() {
    let fake = pool(3, false).await;
    let mut hook = AppHook::new(&fake, "v2");
    hook.fail = vec![2];
    let report = roll(&fake, &config(), &hook, None).await;
    assert_eq!(report.outcome, Outcome::Paused, "{}", report.message);
    assert!(
        report.message.contains(
            "droplet 2 (web-2): the update command failed: the command exited with status 3"
        ),
        "{}",
        report.message
    );
    assert!(
        report.message.contains("2 droplet(s) still serve"),
        "{}",
        report.message
    );
    assert_eq!(
        mutations(&fake),
        s(&[
            "create LOCK",
            "create OUT",
            "+OUT 1",
            "-web 1",
            "+web 1",
            "-OUT 1",
            "+OUT 2",
            "-web 2",
            "delete LOCK",
        ])
    );
    assert_eq!(tags(&fake, 1), vec!["web"]);
    assert_eq!(tags(&fake, 2), vec!["OUT"]);
    assert_eq!(tags(&fake, 3), vec!["web"]);
    assert_eq!(hook.seen(), [1, 2]);
    assert_eq!(bodies(&fake, 3), ["web-1 v2", "web-2 v1", "web-3 v1"]);
    let states: Vec<DropletState> = report.droplets.iter().map(|d| d.state).collect();
    assert_eq!(
        states,
        [
            DropletState::Updated,
            DropletState::Failed,
            DropletState::Pending
        ]
    );
    assert!(report.droplets[1].out_of_rotation);
    assert_eq!(
        report.droplets[1].failed_step,
        Some(zdd_core::events::Step::Update)
    );
    assert_clean(&fake);
}

#[tokio::test]
async fn update_failure_rolls_back_newest_first() {
    let fake = pool(3, false).await;
    let mut hook = AppHook::new(&fake, "v2");
    hook.fail = vec![3];
    let undo = AppHook::new(&fake, "v1");
    let cfg = RollingConfig {
        on_failure: OnFailure::Rollback,
        ..config()
    };
    let report = roll(&fake, &cfg, &hook, Some(&undo)).await;
    assert_eq!(report.outcome, Outcome::RolledBack, "{}", report.message);
    assert!(
        report.message.contains("rolled back 3 droplet(s)"),
        "{}",
        report.message
    );
    let m = mutations(&fake);
    assert_eq!(
        m,
        s(&[
            "create LOCK",
            "create OUT",
            "+OUT 1",
            "-web 1",
            "+web 1",
            "-OUT 1",
            "+OUT 2",
            "-web 2",
            "+web 2",
            "-OUT 2",
            "+OUT 3",
            "-web 3",
            // Rollback: 3 is out already; then 2, then 1 through the same protocol.
            "+web 3",
            "-OUT 3",
            "+OUT 2",
            "-web 2",
            "+web 2",
            "-OUT 2",
            "+OUT 1",
            "-web 1",
            "+web 1",
            "-OUT 1",
            "delete LOCK",
        ])
    );
    assert_eq!(max_out(&m, 3), 1);
    assert_eq!(hook.seen(), [1, 2, 3]);
    assert_eq!(undo.seen(), [3, 2, 1]);
    assert!(undo.seen.lock().unwrap().iter().all(|s| s.1 == "rollback"));
    for i in 1..=3 {
        assert_eq!(tags(&fake, i), vec!["web"]);
    }
    assert_eq!(bodies(&fake, 3), ["web-1 v1", "web-2 v1", "web-3 v1"]);
    assert!(
        report
            .droplets
            .iter()
            .all(|d| d.state == DropletState::RolledBack && d.rollback.is_some())
    );
    let purposes: Vec<&str> = report.batches.iter().map(|b| b.purpose.as_str()).collect();
    assert_eq!(
        purposes,
        [
            "update", "update", "update", "rollback", "rollback", "rollback"
        ]
    );
    assert_clean(&fake);
}

#[tokio::test]
async fn a_failing_rollback_is_uncertain() {
    let fake = pool(3, false).await;
    let mut hook = AppHook::new(&fake, "v2");
    hook.fail = vec![2];
    let mut undo = AppHook::new(&fake, "v1");
    undo.broken = vec![1];
    let cfg = RollingConfig {
        on_failure: OnFailure::Rollback,
        ..config()
    };
    let report = roll(&fake, &cfg, &hook, Some(&undo)).await;
    assert_eq!(report.outcome, Outcome::Uncertain, "{}", report.message);
    assert!(
        report
            .message
            .contains("rolling back droplet 1 (web-1) failed"),
        "{}",
        report.message
    );
    assert_eq!(tags(&fake, 1), vec!["OUT"]);
    assert_eq!(tags(&fake, 2), vec!["web"]);
    assert_eq!(tags(&fake, 3), vec!["web"]);
    assert_clean(&fake);
}

#[tokio::test]
async fn health_gate_failure_pauses() {
    let fake = pool(3, false).await;
    let mut hook = AppHook::new(&fake, "v2");
    hook.broken = vec![1];
    let report = roll(&fake, &config(), &hook, None).await;
    assert_eq!(report.outcome, Outcome::Paused, "{}", report.message);
    assert!(
        report.message.contains("failed the health gate"),
        "{}",
        report.message
    );
    assert!(report.message.contains("status 503"), "{}", report.message);
    assert_eq!(
        mutations(&fake),
        s(&[
            "create LOCK",
            "create OUT",
            "+OUT 1",
            "-web 1",
            "delete LOCK"
        ])
    );
    assert_eq!(tags(&fake, 1), vec!["OUT"]);
    assert_eq!(hook.seen(), [1]);

    // A wrong version also fails the gate (the expected body is the new version).
    let fake = pool(3, false).await;
    let old = AppHook::new(&fake, "v1");
    let report = roll(&fake, &config(), &old, None).await;
    assert_eq!(report.outcome, Outcome::Paused, "{}", report.message);
    assert!(
        report.message.contains("body does not contain `v2`"),
        "{}",
        report.message
    );
    assert_clean(&fake);
}

#[tokio::test]
async fn an_unhealthy_droplet_is_updated_first() {
    // Droplet 3 is down before the roll (the load balancer has dropped it): a fix must still
    // reach it, and it goes first since taking it out costs no capacity.
    let fake = pool(3, false).await;
    fake.set_app(3, 500, "down");
    let hook = AppHook::new(&fake, "v2");
    let (report, sink) = roll_seen(&fake, &config(), &hook).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
    assert_eq!(hook.seen(), [3, 1, 2]);
    assert!(
        sink.events()
            .iter()
            .any(|e| matches!(e, Event::Warning { message }
            if message.contains("droplet 3 (web-3) is not healthy before the roll"))),
        "{:#?}",
        sink.events()
    );
    assert_clean(&fake);

    // Every droplet down (an outage): the roll still starts, one at a time.
    let fake = pool(3, false).await;
    for i in 1..=3 {
        fake.set_app(i, 500, "down");
    }
    let hook = AppHook::new(&fake, "v2");
    let report = roll(&fake, &config(), &hook, None).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
    assert_eq!(hook.seen(), [1, 2, 3]);
    assert_clean(&fake);
}

/// A droplet that was healthy at the start and fails while it stays in rotation stops the roll
/// before the next batch leaves (it may be what keeps the site up).
#[tokio::test]
async fn a_droplet_failing_while_it_stays_in_rotation_pauses_before_the_next_batch() {
    struct BreaksThree(AppHook);
    impl DropletHook for BreaksThree {
        async fn run(&self, t: &HookTarget) -> Result<(), String> {
            let r = self.0.run(t).await;
            if t.id.0 == 1 {
                self.0.state.lock().unwrap().apps.insert(
                    3,
                    App {
                        status: 500,
                        body: "down".into(),
                    },
                );
            }
            r
        }
    }
    let fake = pool(3, false).await;
    let hook = BreaksThree(AppHook::new(&fake, "v2"));
    let report = rolling::run(
        &client(&fake),
        &config(),
        Some(&hook),
        None::<&AppHook>,
        &CollectingSink::default(),
        std::future::pending(),
    )
    .await;
    assert_eq!(report.outcome, Outcome::Paused, "{}", report.message);
    assert!(
        report
            .message
            .contains("droplet 3 (web-3), which would stay in rotation, is not healthy"),
        "{}",
        report.message
    );
    assert_eq!(hook.0.seen(), [1]);
    assert!(fake.lock_tags().is_empty());
}

/// A run crashes while droplet 2 is out of rotation; the next run finds it by its marker,
/// handles it first, then the others; nothing stays out.
#[tokio::test]
async fn a_droplet_left_out_by_a_crashed_run_is_resumed_first() {
    let fake = pool(3, false).await;
    // 1 create LOCK, 2 create OUT, 3-6 droplet 1, 7 +OUT 2, 8 -web 2: crash in the drain wait.
    let crash = fake.crash_after(8);
    let hook = AppHook::new(&fake, "v2");
    let sink = CollectingSink::default();
    let first = rolling::run(
        &client(&fake),
        &config(),
        Some(&hook),
        None::<&AppHook>,
        &sink,
        async move { crash.notified().await },
    )
    .await;
    assert_eq!(first.outcome, Outcome::Interrupted, "{}", first.message);
    assert!(
        first
            .message
            .contains("run the same command again to resume")
    );
    assert_eq!(tags(&fake, 2), vec!["OUT"]);
    assert_eq!(hook.seen(), [1]);
    assert!(
        fake.lock_tags().is_empty(),
        "an interrupted run releases its lock"
    );

    fake.clear_log();
    let hook = AppHook::new(&fake, "v2");
    let second = roll(&fake, &config(), &hook, None).await;
    assert_eq!(second.outcome, Outcome::Rolled, "{}", second.message);
    assert!(
        second
            .message
            .contains("starting with those an earlier run left out"),
        "{}",
        second.message
    );
    assert_eq!(
        mutations(&fake),
        s(&[
            "create LOCK",
            // Droplet 2 is out already: no take-out, straight to update, gate, put back.
            "+web 2",
            "-OUT 2",
            "create OUT",
            "+OUT 1",
            "-web 1",
            "+web 1",
            "-OUT 1",
            "+OUT 3",
            "-web 3",
            "+web 3",
            "delete OUT",
            "delete LOCK",
        ])
    );
    assert_eq!(hook.seen(), [2, 1, 3]);
    assert!(second.batches[0].resume && second.droplets[0].resumed);
    // No take-out waits for the resumed batch.
    assert_eq!(
        second.batches[0]
            .waits
            .iter()
            .map(|w| w.kind)
            .collect::<Vec<_>>(),
        [WaitKind::Routing]
    );
    for i in 1..=3 {
        assert_eq!(tags(&fake, i), vec!["web"], "droplet {i}");
    }
    assert_eq!(bodies(&fake, 3), ["web-1 v2", "web-2 v2", "web-3 v2"]);
    assert_clean(&fake);
}

#[tokio::test]
async fn shutdown_url_drain_waits_for_the_health_check_to_fail() {
    let fake = pool(2, false).await;
    fake.state().drain_path = Some("/drain".into());
    let hook = AppHook::new(&fake, "v2");
    let cfg = shutdown_url(computed());
    let report = roll(&fake, &cfg, &hook, None).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
    assert_eq!(
        mutations(&fake),
        s(&[
            "create LOCK",
            "create OUT",
            "+OUT 1",
            "-web 1",
            "+web 1",
            "-OUT 1",
            "+OUT 2",
            "-web 2",
            "+web 2",
            "delete OUT",
            "delete LOCK",
        ])
    );
    // Each droplet got the drain call, and a probe saw it failing, before it was updated.
    let log = fake.app_log();
    for i in 1..=2 {
        let drain = log
            .iter()
            .position(|l| *l == format!("droplet {i} POST /drain"))
            .unwrap_or_else(|| panic!("no drain call for {i}: {log:#?}"));
        assert!(
            log[drain + 1..]
                .iter()
                .any(|l| *l == format!("droplet {i} GET /health")),
            "{log:#?}"
        );
    }
    // The waits: detection window (1 s × 2 + 1 s), drain; then sync, routing.
    let w: Vec<(WaitKind, u128)> = report.batches[0]
        .waits
        .iter()
        .map(|w| (w.kind, w.computed.as_millis()))
        .collect();
    assert_eq!(
        w,
        [
            (WaitKind::Detection, 3000),
            (WaitKind::Drain, 2000),
            (WaitKind::LbSync, 1000),
            (WaitKind::Routing, 3000)
        ]
    );
    assert_eq!(bodies(&fake, 2), ["web-1 v2", "web-2 v2"]);
    assert_clean(&fake);
}

#[tokio::test]
async fn shutdown_url_that_does_not_drain_falls_back_to_remove_and_wait() {
    let fake = pool(2, false).await; // no drain path: the app ignores the call
    let hook = AppHook::new(&fake, "v2");
    let cfg = shutdown_url(computed());
    let (report, sink) = roll_seen(&fake, &cfg, &hook).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
    let kinds: Vec<WaitKind> = report.batches[0].waits.iter().map(|w| w.kind).collect();
    assert_eq!(
        kinds,
        [
            WaitKind::LbSync,
            WaitKind::Drain,
            WaitKind::LbSync,
            WaitKind::Routing
        ]
    );
    assert!(sink.events().iter().any(|e| matches!(e,
        zdd_core::events::Event::Warning { message } if message.contains("did not make its health check fail"))));
    assert_clean(&fake);
}

#[tokio::test]
async fn an_id_based_load_balancer_removes_and_adds_ids() {
    let fake = pool(3, true).await;
    let hook = AppHook::new(&fake, "v2");
    let report = roll(&fake, &config(), &hook, None).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
    let m = mutations(&fake);
    assert_eq!(
        m,
        s(&[
            "create LOCK",
            "create OUT",
            "+OUT 1",
            "lb-1",
            "lb+1",
            "-OUT 1",
            "+OUT 2",
            "lb-2",
            "lb+2",
            "-OUT 2",
            "+OUT 3",
            "lb-3",
            "lb+3",
            "delete OUT",
            "delete LOCK",
        ])
    );
    assert_eq!(max_out(&m, 3), 1);
    let mut ids = fake.state().lb_droplets(LB_ID);
    ids.sort();
    assert_eq!(ids, [1, 2, 3]);
    for i in 1..=3 {
        assert!(
            tags(&fake, i).is_empty(),
            "droplet {i}: {:?}",
            tags(&fake, i)
        );
    }
    // The droplets were read from the full list (one call), not one by one.
    assert!(
        fake.calls()
            .contains(&"GET /v2/droplets?page=1&per_page=200".to_owned()),
        "{:#?}",
        fake.calls()
    );
    assert_clean(&fake);

    // Resume works the same way: a droplet marked and missing from the list comes first.
    let fake = pool(3, true).await;
    {
        let mut st = fake.state();
        st.load_balancers.get_mut(LB_ID).unwrap()["droplet_ids"] = json!([1, 3]);
        st.tags.insert(MARKER.into());
        let d = st.droplets.get_mut(&2).unwrap();
        d["tags"] = json!([MARKER]);
    }
    let hook = AppHook::new(&fake, "v2");
    let report = roll(&fake, &config(), &hook, None).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
    assert_eq!(hook.seen(), [2, 1, 3]);
    assert_eq!(&mutations(&fake)[1..4], ["lb+2", "-OUT 2", "create OUT"]);
    assert_clean(&fake);
}

#[tokio::test]
async fn a_given_url_and_identity_are_watched() {
    let fake = pool(3, false).await;
    let hook = AppHook::new(&fake, "v2");
    let url = format!("http://{LB_IP}:{}/", fake.app_port);
    let cfg = RollingConfig {
        watch: WatchSettings {
            url: Some(url.clone()),
            identity: Some(Identify::Header("x-droplet".into())),
            ..WatchSettings::default()
        },
        ..config()
    };
    let report = roll(&fake, &cfg, &hook, None).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
    let watch = report.watch.as_ref().unwrap();
    assert_eq!(watch.how, WaitHow::Observed);
    assert_eq!(watch.url.as_deref(), Some(url.as_str()));
    assert_eq!(watch.source.as_deref(), Some("the URL given"));
    assert!(!watch.identity.as_ref().unwrap().learned);
    for d in &report.droplets {
        assert!(d.seen_through_lb_after.is_some(), "{d:?}");
    }
    let last = report.batches[0].waits.last().unwrap();
    assert_eq!(
        (last.kind, last.how),
        (WaitKind::Routing, WaitHow::Observed)
    );
    assert_eq!(last.why, format!("answered through {url} (2 times each)"));
    // The LB app routed to each droplet after it came back.
    let log = fake.app_log();
    for i in 1..=3 {
        assert!(
            log.iter()
                .any(|l| l.starts_with("lb ") && l.ends_with(&format!("-> {i}"))),
            "{log:#?}"
        );
    }

    // An identity the answers through the load balancer do not carry: computed waits, and
    // the report says why.
    let fake = pool(3, false).await;
    let hook = AppHook::new(&fake, "v2");
    let cfg = RollingConfig {
        watch: WatchSettings {
            url: Some(url.clone()),
            identity: Some(Identify::Header("x-served-by".into())),
            ..WatchSettings::default()
        },
        ..config()
    };
    let report = roll(&fake, &cfg, &hook, None).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
    let watch = report.watch.as_ref().unwrap();
    assert_eq!(watch.how, WaitHow::Computed);
    let reason = watch.reason.as_deref().unwrap();
    assert!(
        reason.starts_with(&format!(
            "answers through {url} name no droplet of the load balancer ("
        )),
        "{reason}"
    );
    assert!(
        report
            .batches
            .iter()
            .flat_map(|b| &b.waits)
            .all(|w| w.how == WaitHow::Computed),
        "{:?}",
        report.batches
    );
}

#[tokio::test]
async fn dry_run_prints_batches_and_waits_and_changes_nothing() {
    let fake = pool(4, false).await;
    let hook = AppHook::new(&fake, "v2");
    let cfg = RollingConfig {
        dry_run: true,
        max_unavailable: NonZeroUsize::new(3).unwrap(),
        ..computed()
    };
    let report = roll(&fake, &cfg, &hook, None).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{}", report.message);
    assert!(mutations(&fake).is_empty());
    assert!(hook.seen().is_empty());
    let plan = report
        .plan
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    // The plan is data: typed steps, with the batches' droplets and every wait as objects.
    let json = serde_json::to_value(&report.plan).unwrap();
    assert_eq!(json[0]["step"], "watch");
    assert_eq!(json[0]["how"], "computed");
    assert_eq!(json[0]["reason"], "computed waits were asked for");
    assert_eq!(json[1]["step"], "put_back_when");
    assert_eq!(json[1]["early"], false);
    assert_eq!(json[2]["step"], "api_budget");
    assert_eq!(json[2]["calls"], 7 + 4 * 2);
    assert_eq!(json[3]["step"], "batch");
    assert_eq!(json[3]["droplets"][2]["id"], 3);
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .any(|s| s["step"] == "wait" && s["kind"] == "drain" && s["computed"] == 2.0),
        "{json:#}"
    );
    assert!(
        plan.contains("batch 1: 1 (web-1), 2 (web-2), 3 (web-3)"),
        "{plan}"
    );
    assert!(plan.contains("batch 2: 4 (web-4)"), "{plan}");
    assert!(
        plan.contains("wait healthy detection 3s (applied 0.03s): health check every 1s × healthy threshold 2 + response timeout 1s"),
        "{plan}"
    );
    assert!(plan.contains("wait drain 2s (applied 0.02s)"), "{plan}");
    // Batch 1 (3 droplets) and batch 2: each 0.01 + 0.02 out, 0.01 + 0.03 back.
    assert!(plan.contains("computed waits: 0.14s in all"), "{plan}");
    assert!(!plan.contains("TTL"), "{plan}");
    let long = RollingConfig {
        wait_scale: 1.0,
        lock: Some(LockSettings {
            ttl: Duration::from_secs(10),
            ..LockSettings::default()
        }),
        ..cfg
    };
    let report = roll(&fake, &long, &hook, None).await;
    assert!(
        report.plan.iter().any(|l| l
            .to_string()
            .contains("the waits alone (14s) exceed the deploy lock's TTL (10s)")),
        "{:#?}",
        report.plan
    );
    assert!(report.batches.is_empty());
    assert_clean(&fake);
}

#[tokio::test]
async fn the_lock_is_scoped_to_the_load_balancer() {
    let fake = pool(3, false).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 1;
    let other = format!("zdd-lock:lb-{LB_ID}:{now}:other");
    fake.state().tags.insert(other.clone());
    let hook = AppHook::new(&fake, "v2");
    let report = roll(&fake, &config(), &hook, None).await;
    assert_eq!(report.outcome, Outcome::Locked, "{}", report.message);
    assert!(hook.seen().is_empty());
    assert_eq!(fake.lock_tags(), vec![other]);
    // A lock of a reserved IP does not block a load balancer.
    fake.state().tags.clear();
    fake.state()
        .tags
        .insert(format!("zdd-lock:ip-203-0-113-7:{now}:other"));
    let report = roll(&fake, &config(), &hook, None).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
}

#[tokio::test]
async fn a_load_balancer_is_found_by_name() {
    let fake = pool(2, false).await;
    let hook = AppHook::new(&fake, "v2");
    let cfg = RollingConfig {
        lb: LbRef::parse("web-lb"),
        ..config()
    };
    let report = roll(&fake, &cfg, &hook, None).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
    assert_eq!(
        fake.state().log[0].line(),
        "GET /v2/load_balancers?page=1&per_page=200"
    );
    let cfg = RollingConfig {
        lb: LbRef::parse("nope"),
        ..config()
    };
    let report = roll(&fake, &cfg, &hook, None).await;
    assert_eq!(report.outcome, Outcome::Refused);
    assert!(
        report.message.contains("no load balancer is named `nope`"),
        "{}",
        report.message
    );
}

/// Events carry typed subjects: each batch starts and finishes with its droplets' ids, and the
/// steps that act on droplets name them, so a caller follows a droplet without reading prose.
#[tokio::test]
async fn events_name_batches_and_droplets() {
    use zdd_core::events::Subject;
    use zdd_core::hook::HookPurpose;
    let fake = pool(2, false).await;
    let hook = AppHook::new(&fake, "v2");
    let (report, sink) = roll_seen(&fake, &config(), &hook).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
    let events = sink.events();
    let batches: Vec<(usize, Vec<u64>)> = events
        .iter()
        .filter_map(|e| match e {
            Event::BatchStarted {
                index,
                purpose: HookPurpose::Update,
                droplets,
            } => Some((*index, droplets.iter().map(|d| d.0).collect())),
            _ => None,
        })
        .collect();
    assert_eq!(batches, vec![(1, vec![1]), (2, vec![2])]);
    let finished: Vec<(usize, bool)> = events
        .iter()
        .filter_map(|e| match e {
            Event::BatchFinished { index, ok, .. } => Some((*index, *ok)),
            _ => None,
        })
        .collect();
    assert_eq!(finished, vec![(1, true), (2, true)]);
    let taken_out: Vec<Subject> = events
        .iter()
        .filter_map(|e| match e {
            Event::StepStarted {
                step: zdd_core::events::Step::TakeOut,
                subject,
                ..
            } => Some(subject.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        taken_out,
        vec![
            Subject::droplet(do_api::DropletId(1)),
            Subject::droplet(do_api::DropletId(2))
        ]
    );
    // As JSON lines: the event's kind, and the subject as an object.
    let json = serde_json::to_value(&events[events.len() - 1]).unwrap();
    assert!(json["event"].is_string(), "{json}");
    let started = events
        .iter()
        .find(|e| matches!(e, Event::BatchStarted { .. }))
        .unwrap();
    assert_eq!(
        serde_json::to_value(started).unwrap(),
        json!({"event": "batch_started", "index": 1, "purpose": "update", "droplets": [1]})
    );
}

/// The mutations of a roll of three droplets, one at a time, that went through.
const THREE_ROLLED: &[&str] = &[
    "create LOCK",
    "create OUT",
    "+OUT 1",
    "-web 1",
    "+web 1",
    "-OUT 1",
    "+OUT 2",
    "-web 2",
    "+web 2",
    "-OUT 2",
    "+OUT 3",
    "-web 3",
    "+web 3",
    "delete OUT",
    "delete LOCK",
];

/// (kind, how, computed ms) of each wait of each batch.
fn waits_of(report: &RollingReport) -> Vec<Vec<(WaitKind, WaitHow, u128)>> {
    report
        .batches
        .iter()
        .map(|b| {
            b.waits
                .iter()
                .map(|w| (w.kind, w.how, w.computed.as_millis()))
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn an_identity_header_is_learned_and_droplets_are_watched() {
    let fake = pool(3, false).await;
    let hook = AppHook::new(&fake, "v2");
    let report = roll(&fake, &early(), &hook, None).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
    // The same calls as with computed waits: watching costs no API call.
    assert_eq!(mutations(&fake), s(THREE_ROLLED));
    assert_eq!(report.api_calls, 19);
    let watch = report.watch.as_ref().unwrap();
    assert_eq!(watch.how, WaitHow::Observed);
    let url = format!("http://{LB_IP}:{}/health", fake.app_port);
    assert_eq!(watch.url.as_deref(), Some(url.as_str()));
    assert_eq!(
        watch.source.as_deref(),
        Some(
            format!(
                "the load balancer's address and its http forwarding rule on port {}",
                fake.app_port
            )
            .as_str()
        )
    );
    let id = watch.identity.as_ref().unwrap();
    assert_eq!(id.how, Identify::Header("x-droplet".into()));
    assert!(id.learned);
    // Each batch: watched leaving (computed would be the 1 s sync wait), the in-flight
    // allowance (computed: requests are not observable), watched coming back.
    for w in waits_of(&report) {
        assert_eq!(
            w,
            [
                (WaitKind::Leave, WaitHow::Observed, 1000),
                (WaitKind::Drain, WaitHow::Computed, 2000),
                (WaitKind::Routing, WaitHow::Observed, 4000),
            ]
        );
    }
    for d in &report.droplets {
        assert!(d.seen_through_lb_after.is_some(), "{d:?}");
    }
    // Nothing reached a droplet through the load balancer while it was out: each droplet's
    // requests through the load balancer stop at its take-out and start again after its
    // update (its new version answers).
    assert_eq!(bodies(&fake, 3), ["web-1 v2", "web-2 v2", "web-3 v2"]);
    let plan: Vec<String> = report.plan.iter().map(ToString::to_string).collect();
    assert_eq!(
        plan[0],
        format!(
            "watch droplets leave and join through {url} (header:x-droplet: header:x-droplet names the droplet in the direct answers of all 3 droplets probed)"
        )
    );
    assert!(
        plan[1].starts_with("put each batch back while it boots"),
        "{plan:#?}"
    );
    assert_clean(&fake);
}

#[tokio::test]
async fn an_identity_in_a_json_body_is_learned() {
    let fake = pool(3, false).await;
    fake.state().identity = FakeIdentity::Json;
    let hook = AppHook::new(&fake, "v2");
    let report = roll(&fake, &config(), &hook, None).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
    let id = report.watch.as_ref().unwrap().identity.clone().unwrap();
    assert_eq!(id.how, Identify::JsonField("served_by".into()));
    assert_eq!(mutations(&fake), s(THREE_ROLLED));
    assert!(
        waits_of(&report)
            .iter()
            .flatten()
            .any(|w| w.1 == WaitHow::Observed)
    );
    assert_clean(&fake);
}

#[tokio::test]
async fn nothing_naming_the_droplet_falls_back_to_computed_waits_and_says_why() {
    let fake = pool(3, false).await;
    fake.state().identity = FakeIdentity::None;
    let hook = AppHook::new(&fake, "v2");
    let (report, sink) = roll_seen(&fake, &config(), &hook).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
    assert_eq!(mutations(&fake), s(THREE_ROLLED));
    let watch = report.watch.as_ref().unwrap();
    assert_eq!(watch.how, WaitHow::Computed);
    let reason = "no response header or JSON field of /health names the droplet that answered (3 droplet(s) probed directly); say where with the identity setting";
    assert_eq!(watch.reason.as_deref(), Some(reason));
    assert_eq!(
        report.plan[0].to_string(),
        format!("computed waits, not watched: {reason}")
    );
    assert!(sink.events().iter().any(|e| matches!(e,
        Event::Warning { message } if *message == format!("the waits are computed, not watched: {reason}"))));
    // Every wait computed: sync and allowance out; back in while booting, so the healthy
    // window is counted from when the app answered.
    for w in waits_of(&report) {
        assert_eq!(
            w,
            [
                (WaitKind::LbSync, WaitHow::Computed, 1000),
                (WaitKind::Drain, WaitHow::Computed, 2000),
                (WaitKind::LbSync, WaitHow::Computed, 1000),
                (WaitKind::Routing, WaitHow::Computed, 3000),
            ]
        );
    }
    assert_clean(&fake);
}

#[tokio::test]
async fn a_droplet_the_load_balancer_never_routes_to_fails_like_a_failed_gate() {
    let fake = pool(3, false).await;
    let hook = AppHook::new(&fake, "v2");
    let cfg = RollingConfig {
        watch: WatchSettings {
            deadline: Some(Duration::from_secs(2)),
            ..WatchSettings::default()
        },
        ..config()
    };
    // Healthy, gated, put back: but the load balancer never sends it traffic.
    fake.state().lb_never_routes.insert(1);
    let report = roll(&fake, &cfg, &hook, None).await;
    assert_eq!(report.outcome, Outcome::Paused, "{}", report.message);
    assert!(
        report.message.contains("droplet 1 (web-1): healthy, but the load balancer never routed to it: 1 (web-1) never answered through"),
        "{}",
        report.message
    );
    // It left the load balancer again and keeps the marker: the next run starts with it.
    assert_eq!(
        mutations(&fake),
        s(&[
            "create LOCK",
            "create OUT",
            "+OUT 1",
            "-web 1",
            "+web 1",
            "-web 1",
            "delete LOCK",
        ])
    );
    assert_eq!(tags(&fake, 1), vec!["OUT"]);
    let d1 = &report.droplets[0];
    assert_eq!(d1.state, DropletState::Failed);
    assert_eq!(d1.failed_step, Some(zdd_core::events::Step::Verify));
    assert!(d1.out_of_rotation);
    assert_eq!(hook.seen(), [1]);
}

#[tokio::test]
async fn a_droplet_back_early_that_answers_wrongly_is_taken_out_at_once() {
    let fake = pool(3, false).await;
    let mut hook = AppHook::new(&fake, "v2");
    // The update "succeeds" but the old version keeps answering 200: the load balancer would
    // take it; the gate (expecting v2) does not.
    hook.stale = vec![1];
    let (report, sink) = roll_seen(&fake, &early(), &hook).await;
    assert_eq!(report.outcome, Outcome::Paused, "{}", report.message);
    assert_eq!(
        mutations(&fake),
        s(&[
            "create LOCK",
            "create OUT",
            "+OUT 1",
            "-web 1",
            "+web 1",
            "-web 1",
            "delete LOCK",
        ])
    );
    // Taken out at its first wrong answer, long before the gate's deadline.
    let events = sink.events();
    let warning = events
        .iter()
        .position(|e| matches!(e, Event::Warning { message } if message.contains("while back in the load balancer: taken out again until its gate passes")))
        .expect("a warning");
    let first_probe = events
        .iter()
        .position(|e| matches!(e, Event::HealthAttempt { url, .. } if url.contains(&fake_do::pool_ip(1).to_string())))
        .unwrap();
    let probes_before = events[first_probe..warning]
        .iter()
        .filter(|e| matches!(e, Event::HealthAttempt { .. }))
        .count();
    assert_eq!(probes_before, 1, "{events:#?}");
    assert_eq!(tags(&fake, 1), vec!["OUT"]);
}

#[tokio::test]
async fn a_batch_is_updated_and_gated_at_once_and_goes_back_while_booting() {
    let fake = pool(4, false).await;
    let mut hook = AppHook::new(&fake, "v2");
    hook.delay = Duration::from_millis(50);
    let cfg = RollingConfig {
        max_unavailable: NonZeroUsize::new(3).unwrap(),
        ..early()
    };
    let (report, sink) = roll_seen(&fake, &cfg, &hook).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
    let steps: Vec<(&str, bool)> = sink
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::StepStarted { step, .. } => Some((step.label(), true)),
            Event::StepFinished { step, .. } => Some((step.label(), false)),
            _ => None,
        })
        .collect();
    // Batch 1: the three update commands start before any ends; the batch goes back into
    // the load balancer before the gates start.
    let first_update_end = steps.iter().position(|s| *s == ("update", false)).unwrap();
    let started = steps[..first_update_end]
        .iter()
        .filter(|s| **s == ("update", true))
        .count();
    assert_eq!(started, 3, "{steps:?}");
    let put_back = steps
        .iter()
        .position(|s| *s == ("put back into rotation", true))
        .unwrap();
    assert!(put_back > first_update_end, "{steps:?}");
    let gates_after_put_back = steps[put_back..]
        .iter()
        .filter(|s| **s == ("health gate", true))
        .count();
    assert!(gates_after_put_back >= 3, "{steps:?}");
    // One call each: mark, leave, join, unmark.
    assert_eq!(
        mutations(&fake)[..6],
        s(&[
            "create LOCK",
            "create OUT",
            "+OUT 1,2,3",
            "-web 1,2,3",
            "+web 1,2,3",
            "-OUT 1,2,3"
        ])[..]
    );
    assert_eq!(report.api_calls, 7 + 4 * 2);
    assert_clean(&fake);
}

#[tokio::test]
async fn shutdown_url_mode_watches_the_droplet_leave() {
    let fake = pool(2, false).await;
    fake.state().drain_path = Some("/drain".into());
    let hook = AppHook::new(&fake, "v2");
    let cfg = shutdown_url(config());
    let report = roll(&fake, &cfg, &hook, None).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
    // Watched leaving once its drain call made the load balancer's check fail it (computed
    // would be the 3 s detection window), no sync wait after the take-out.
    for w in waits_of(&report) {
        assert_eq!(
            w,
            [
                (WaitKind::Leave, WaitHow::Observed, 3000),
                (WaitKind::Drain, WaitHow::Computed, 2000),
                (WaitKind::Routing, WaitHow::Observed, 4000),
            ]
        );
    }
    assert_eq!(bodies(&fake, 2), ["web-1 v2", "web-2 v2"]);
    assert_clean(&fake);
}

#[tokio::test]
async fn a_droplet_is_updated_only_once_the_load_balancer_let_go_of_it() {
    let fake = pool(3, false).await;
    // The load balancer sends each droplet that leaves 6 more requests.
    fake.state().lb_lag = 6;
    let hook = AppHook::new(&fake, "v2");
    let cfg = RollingConfig {
        watch: WatchSettings {
            deadline: Some(Duration::from_secs(5)),
            ..WatchSettings::default()
        },
        ..config()
    };
    let report = roll(&fake, &cfg, &hook, None).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
    assert_eq!(hook.seen(), [1, 2, 3]);
    assert!(
        hook.while_routed.lock().unwrap().is_empty(),
        "updated while the load balancer still routed to them: {:?}",
        hook.while_routed.lock().unwrap()
    );
    // It was seen answering after it left, and the watch went on until it stopped.
    let log = fake.app_log();
    assert!(
        log.iter()
            .filter(|l| l.starts_with("lb ") && l.ends_with("-> 1"))
            .count()
            > 6
    );
    assert_clean(&fake);
}
