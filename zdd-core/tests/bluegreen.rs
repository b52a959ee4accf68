//! Blue-green scenarios against the stateful fake: the exact mutating calls, and the state after.

use std::net::Ipv4Addr;
use std::time::Duration;

use do_api::{Client, Token, WaitOptions};
use fake_do::{App, FakeDo};
use zdd_core::bluegreen::{
    self, BlueGreenConfig, BlueGreenReport, LockSettings, Mode, Outcome, PreSwitch,
};
use zdd_core::events::{CollectingSink, Event};
use zdd_core::health::{HealthPolicy, HealthTarget};
use zdd_core::hook::{DropletHook, HookTarget, NoHook};

const BLUE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);
const GREEN: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 12);
const OTHER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 13);
const RIP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 20);
const RIP_S: &str = "127.0.0.20";

/// blue (1, PROD) holds the IP; green (2, FALLBACK) runs v2.
async fn pair() -> FakeDo {
    let fake = FakeDo::start(
        &[
            (1, "blue", BLUE, &["PROD"]),
            (2, "green", GREEN, &["FALLBACK"]),
        ],
        &[(RIP, Some(1))],
    )
    .await;
    fake.set_app(1, 200, "blue v1");
    fake.set_app(2, 200, "green v2");
    fake
}

fn client(fake: &FakeDo) -> Client {
    fake.client()
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
            expect_body: Some("v2".into()),
            ..HealthPolicy::default()
        },
        assign_wait: WaitOptions::with_timeout(Duration::from_secs(5))
            .interval(Duration::from_millis(5), Duration::from_millis(20)),
        lock: Some(LockSettings {
            ttl: Duration::from_secs(1800),
            wait: Duration::ZERO,
            poll: Duration::from_millis(50),
            settle: Duration::from_millis(50),
            // Long enough that no renewal lands inside a scenario's exact call list; the lock
            // tests below shorten it.
            lease: Duration::from_secs(60),
        }),
        ..BlueGreenConfig::default()
    }
}

async fn promote(fake: &FakeDo, cfg: &BlueGreenConfig) -> BlueGreenReport {
    let sink = CollectingSink::default();
    bluegreen::run(
        &client(fake),
        cfg,
        Mode::Promote,
        None::<&NoHook>,
        &sink,
        std::future::pending(),
    )
    .await
}

/// Mutations with the lock tag's run-specific name replaced by `LOCK`.
fn mutations(fake: &FakeDo) -> Vec<String> {
    fake.mutations()
        .into_iter()
        .map(|m| {
            let Some(start) = m.find("zdd-lock:") else {
                return m;
            };
            let end = m[start..]
                .find(['"', ' '])
                .map(|e| start + e)
                .unwrap_or(m.len());
            format!("{}LOCK{}", &m[..start], &m[end..])
        })
        .collect()
}

fn tags(fake: &FakeDo, id: u64) -> Vec<String> {
    let mut t = fake.state().droplet_tags(id);
    t.sort();
    t
}

const LOCK_TAKE: &str = r#"POST /v2/tags {"name":"LOCK"}"#;
const LOCK_FREE: &str = "DELETE /v2/tags/LOCK";
const ASSIGN_GREEN: &str =
    r#"POST /v2/reserved_ips/127.0.0.20/actions {"droplet_id":2,"type":"assign"}"#;
const ASSIGN_BLUE: &str =
    r#"POST /v2/reserved_ips/127.0.0.20/actions {"droplet_id":1,"type":"assign"}"#;
const TAG_MOVES_TO_GREEN: [&str; 4] = [
    r#"POST /v2/tags/FALLBACK/resources {"resources":[{"resource_id":"1","resource_type":"droplet"}]}"#,
    r#"POST /v2/tags/PROD/resources {"resources":[{"resource_id":"2","resource_type":"droplet"}]}"#,
    r#"DELETE /v2/tags/PROD/resources {"resources":[{"resource_id":"1","resource_type":"droplet"}]}"#,
    r#"DELETE /v2/tags/FALLBACK/resources {"resources":[{"resource_id":"2","resource_type":"droplet"}]}"#,
];

fn assert_promoted(fake: &FakeDo) {
    assert_eq!(fake.state().ip_holder(RIP_S), Some(2));
    assert_eq!(tags(fake, 1), vec!["FALLBACK"]);
    assert_eq!(tags(fake, 2), vec!["PROD"]);
    assert!(
        fake.lock_tags().is_empty(),
        "lock left behind: {:?}",
        fake.lock_tags()
    );
    fake.assert_no_unexpected();
}

fn assert_untouched(fake: &FakeDo) {
    assert_eq!(fake.state().ip_holder(RIP_S), Some(1));
    assert_eq!(tags(fake, 1), vec!["PROD"]);
    assert_eq!(tags(fake, 2), vec!["FALLBACK"]);
    assert!(
        fake.lock_tags().is_empty(),
        "lock left behind: {:?}",
        fake.lock_tags()
    );
    fake.assert_no_unexpected();
}

#[tokio::test]
async fn happy_path_switches_verifies_and_swaps_tags() {
    let fake = pair().await;
    let report = promote(&fake, &config(&fake)).await;
    assert_eq!(report.outcome, Outcome::Switched, "{}", report.message);
    let mut expected = vec![LOCK_TAKE, ASSIGN_GREEN];
    expected.extend(TAG_MOVES_TO_GREEN);
    expected.push(LOCK_FREE);
    assert_eq!(mutations(&fake), expected);
    assert_promoted(&fake);
    assert_eq!(report.live.as_ref().unwrap().id.0, 2);
    assert_eq!(report.standby.as_ref().unwrap().id.0, 1);
    // The report shows the tags as they are now.
    assert_eq!(report.live.as_ref().unwrap().tags, vec!["PROD"]);
    assert_eq!(report.standby.as_ref().unwrap().tags, vec!["FALLBACK"]);
    assert!(
        report.api_calls <= 15,
        "{} API calls: {:#?}",
        report.api_calls,
        fake.calls()
    );
    assert!(report.time_to_new_answer.is_some());
    let a = report.assign.as_ref().unwrap();
    assert_eq!(a.api_reported, Some(Duration::from_secs(3)));
    // Steps in the order they ended: with no update command, the observation and the
    // standby's gate ran while the lock's claim settled.
    let steps: Vec<&str> = report.steps.iter().map(|s| s.step.label()).collect();
    assert_eq!(
        steps,
        [
            "observe",
            "health gate",
            "lock",
            "assign reserved IP",
            "confirm assignment",
            "verify",
            "move tags",
            "unlock"
        ]
    );
}

#[tokio::test]
async fn the_pre_switch_hook_closes_kept_alive_connections_before_the_ip_moves() {
    let fake = pair().await;
    fake.state().pre_switch_path = Some("/connection-close".into());
    let cfg = BlueGreenConfig {
        pre_switch: Some(PreSwitch::new("/connection-close")),
        ..config(&fake)
    };
    let report = promote(&fake, &cfg).await;
    assert_eq!(report.outcome, Outcome::Switched, "{}", report.message);
    // No API call more than without it: the hook talks to the app.
    let mut expected = vec![LOCK_TAKE, ASSIGN_GREEN];
    expected.extend(TAG_MOVES_TO_GREEN);
    expected.push(LOCK_FREE);
    assert_eq!(mutations(&fake), expected);
    assert_promoted(&fake);
    // The live droplet (blue) was called, then checked through the IP while it still held it,
    // before the IP moved (later answers through the IP come from green).
    let log = fake.app_log();
    let call = log
        .iter()
        .position(|l| l == "droplet 1 POST /connection-close")
        .unwrap_or_else(|| panic!("{log:#?}"));
    let check = call
        + log[call..]
            .iter()
            .position(|l| l == "ip 127.0.0.20 GET / -> 1")
            .unwrap_or_else(|| panic!("no check through the IP after the call: {log:#?}"));
    assert!(
        log[check..]
            .iter()
            .filter(|l| l.starts_with("ip "))
            .skip(1)
            .all(|l| l.ends_with("-> 2")),
        "{log:#?}"
    );
    let steps: Vec<&str> = report.steps.iter().map(|s| s.step.label()).collect();
    assert_eq!(
        steps,
        [
            "observe",
            "health gate",
            "lock",
            "pre-switch",
            "assign reserved IP",
            "confirm assignment",
            "verify",
            "move tags",
            "unlock"
        ]
    );
}

#[tokio::test]
async fn an_app_that_keeps_connections_alive_after_the_pre_switch_call_is_not_switched() {
    // The app answers the call (200) but not with `Connection: close` afterwards.
    let fake = pair().await;
    let cfg = BlueGreenConfig {
        pre_switch: Some(PreSwitch::new("/connection-close")),
        ..config(&fake)
    };
    let report = promote(&fake, &cfg).await;
    assert_eq!(report.outcome, Outcome::NotReady, "{}", report.message);
    assert!(
        report.message.starts_with(
            "the pre-switch hook failed: after POST /connection-close, http://127.0.0.20:"
        ) && report.message.contains("without `Connection: close`")
            && report.message.ends_with("nothing was switched"),
        "{}",
        report.message
    );
    assert_eq!(mutations(&fake), vec![LOCK_TAKE, LOCK_FREE]);
    assert_untouched(&fake);
}

#[tokio::test]
async fn health_gate_failure_changes_nothing() {
    let fake = pair().await;
    fake.set_app(2, 503, "starting");
    let report = promote(&fake, &config(&fake)).await;
    assert_eq!(report.outcome, Outcome::NotReady, "{}", report.message);
    assert!(
        report.message.contains("failed the health gate"),
        "{}",
        report.message
    );
    assert!(report.message.contains("status 503"), "{}", report.message);
    // The only writes are the lock's own tag, taken and released.
    assert_eq!(mutations(&fake), vec![LOCK_TAKE, LOCK_FREE]);
    assert_untouched(&fake);
}

#[tokio::test]
async fn wrong_version_on_the_standby_fails_the_gate() {
    let fake = pair().await;
    fake.set_app(2, 200, "green v1");
    let report = promote(&fake, &config(&fake)).await;
    assert_eq!(report.outcome, Outcome::NotReady);
    assert!(
        report.message.contains("body does not contain `v2`"),
        "{}",
        report.message
    );
    assert_untouched(&fake);
}

#[tokio::test]
async fn errored_assign_leaves_the_ip_on_the_live_droplet() {
    let fake = pair().await;
    fake.state().action_end = vec!["errored"];
    let report = promote(&fake, &config(&fake)).await;
    assert_eq!(report.outcome, Outcome::ApiError, "{}", report.message);
    assert!(report.message.contains("errored"), "{}", report.message);
    assert!(
        report
            .message
            .contains("still points at droplet 1: nothing changed"),
        "{}",
        report.message
    );
    assert_eq!(mutations(&fake), vec![LOCK_TAKE, ASSIGN_GREEN, LOCK_FREE]);
    assert_untouched(&fake);
}

#[tokio::test]
async fn failed_verification_switches_back() {
    let fake = pair().await;
    // green answers on its own address, but not through the reserved IP.
    fake.state().through_ip.insert(
        2,
        App {
            status: 502,
            body: "bad gateway".into(),
        },
    );
    let report = promote(&fake, &config(&fake)).await;
    assert_eq!(report.outcome, Outcome::SwitchedBack, "{}", report.message);
    assert!(
        report
            .message
            .contains("traffic is back on droplet 1 (blue)"),
        "{}",
        report.message
    );
    assert_eq!(
        mutations(&fake),
        vec![LOCK_TAKE, ASSIGN_GREEN, ASSIGN_BLUE, LOCK_FREE]
    );
    assert_untouched(&fake);
    assert_eq!(report.live.as_ref().unwrap().id.0, 1);
}

#[tokio::test]
async fn failed_switch_back_is_uncertain() {
    let fake = pair().await;
    fake.state().through_ip.insert(
        2,
        App {
            status: 502,
            body: "bad gateway".into(),
        },
    );
    // The first assign goes through; the switch back errors.
    fake.state().action_end = vec!["completed", "errored"];
    let report = promote(&fake, &config(&fake)).await;
    assert_eq!(report.outcome, Outcome::Uncertain, "{}", report.message);
    assert!(
        report.message.contains("needs a human"),
        "{}",
        report.message
    );
    assert_eq!(fake.state().ip_holder(RIP_S), Some(2));
    assert!(fake.lock_tags().is_empty());
}

/// Interrupt after each mutating call of a promote, then run promote again: it finishes the
/// job, never flips traffic back, and leaves the same final state as an uninterrupted run.
#[tokio::test]
async fn resume_after_an_interruption_at_every_point() {
    for k in 1..=7 {
        let fake = pair().await;
        let crash = fake.crash_after(k);
        let sink = CollectingSink::default();
        let cfg = config(&fake);
        let first = bluegreen::run(
            &client(&fake),
            &cfg,
            Mode::Promote,
            None::<&NoHook>,
            &sink,
            async move { crash.notified().await },
        )
        .await;
        let expected_first = if k == 7 {
            Outcome::Switched
        } else {
            Outcome::Interrupted
        };
        assert_eq!(first.outcome, expected_first, "k={k}: {}", first.message);
        assert!(
            fake.lock_tags().is_empty(),
            "k={k}: an interrupted run releases its lock"
        );
        let done_before = mutations(&fake);
        fake.clear_log();
        let second = promote(&fake, &cfg).await;
        let expected = match k {
            1 => Outcome::Switched, // only the lock was taken
            // Every tag move had landed: the state is final, the new version answers.
            6 | 7 => Outcome::AlreadyLive,
            _ => Outcome::Resumed,
        };
        assert_eq!(
            second.outcome, expected,
            "k={k}: first run did {done_before:#?}; {}",
            second.message
        );
        let second_calls = mutations(&fake);
        assert!(
            !second_calls.iter().any(|m| m == ASSIGN_BLUE),
            "k={k}: traffic flipped back: {second_calls:#?}"
        );
        if k >= 2 {
            assert!(
                !second_calls.iter().any(|m| m == ASSIGN_GREEN),
                "k={k}: assigned again: {second_calls:#?}"
            );
        }
        // Each tag move happens once across both runs.
        for m in TAG_MOVES_TO_GREEN {
            let n = done_before
                .iter()
                .chain(&second_calls)
                .filter(|c| *c == m)
                .count();
            assert_eq!(n, 1, "k={k}: `{m}` ran {n} times");
        }
        assert_promoted(&fake);
    }
}

#[tokio::test]
async fn resume_with_a_broken_new_droplet_switches_back() {
    let fake = pair().await;
    // A previous run moved the IP to green and crashed; green has broken since.
    fake.state().reserved_ips.get_mut(RIP_S).unwrap().1 = Some(2);
    fake.set_app(2, 500, "boom");
    let report = promote(&fake, &config(&fake)).await;
    assert_eq!(report.outcome, Outcome::SwitchedBack, "{}", report.message);
    assert_eq!(mutations(&fake), vec![LOCK_TAKE, ASSIGN_BLUE, LOCK_FREE]);
    assert_untouched(&fake);
}

#[tokio::test]
async fn already_live_is_a_no_op() {
    let fake = pair().await;
    fake.set_app(1, 200, "blue v2");
    let report = promote(&fake, &config(&fake)).await;
    assert_eq!(report.outcome, Outcome::AlreadyLive, "{}", report.message);
    assert_eq!(mutations(&fake), vec![LOCK_TAKE, LOCK_FREE]);
    assert_untouched(&fake);
}

#[tokio::test]
async fn dry_run_changes_nothing_and_takes_no_lock() {
    let fake = pair().await;
    let cfg = BlueGreenConfig {
        dry_run: true,
        ..config(&fake)
    };
    let report = promote(&fake, &cfg).await;
    assert_eq!(report.outcome, Outcome::DryRun);
    assert!(mutations(&fake).is_empty(), "{:#?}", mutations(&fake));
    assert_eq!(report.plan.len(), 4 + 4, "{:#?}", report.plan);
    assert!(
        report.plan[0]
            .to_string()
            .starts_with("health-gate droplet 2 at http://127.0.0.12:"),
        "{:#?}",
        report.plan
    );
    assert_eq!(report.plan[4].to_string(), "tag 1 (blue) with FALLBACK");
    // The plan is data: each step an object naming its kind and subjects.
    let json = serde_json::to_value(&report.plan).unwrap();
    assert_eq!(json[0]["step"], "health_gate");
    assert_eq!(json[0]["droplet"], 2);
    assert_eq!(json[1]["step"], "assign");
    assert_eq!(
        (json[1]["to"].as_u64(), json[1]["from"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(json[3]["step"], "verify");
    assert_eq!(json[3]["switch_back_to"], 1);
    assert_eq!(json[4]["step"], "tag");
    assert_eq!(json[4]["tag"], "FALLBACK");
    assert_untouched(&fake);
}

#[tokio::test]
async fn rollback_sends_traffic_back() {
    let fake = pair().await;
    assert_eq!(
        promote(&fake, &config(&fake)).await.outcome,
        Outcome::Switched
    );
    fake.clear_log();
    let cfg = BlueGreenConfig {
        health: HealthPolicy {
            expect_body: None,
            ..config(&fake).health
        },
        ..config(&fake)
    };
    let sink = CollectingSink::default();
    let report = bluegreen::run(
        &client(&fake),
        &cfg,
        Mode::Rollback,
        None::<&NoHook>,
        &sink,
        std::future::pending(),
    )
    .await;
    assert_eq!(report.outcome, Outcome::Switched, "{}", report.message);
    assert!(
        report
            .message
            .starts_with("rolled back to droplet 1 (blue)"),
        "{}",
        report.message
    );
    assert_untouched(&fake);
}

#[tokio::test]
async fn forced_rollback_skips_the_gate() {
    let fake = pair().await;
    assert_eq!(
        promote(&fake, &config(&fake)).await.outcome,
        Outcome::Switched
    );
    fake.set_app(1, 503, "old version is slow to answer");
    let health = HealthPolicy {
        expect_body: None,
        ..config(&fake).health
    };
    let sink = CollectingSink::default();
    let gated = BlueGreenConfig {
        health: health.clone(),
        ..config(&fake)
    };
    let report = bluegreen::run(
        &client(&fake),
        &gated,
        Mode::Rollback,
        None::<&NoHook>,
        &sink,
        std::future::pending(),
    )
    .await;
    assert_eq!(report.outcome, Outcome::NotReady);
    let forced = BlueGreenConfig {
        force: true,
        health,
        ..config(&fake)
    };
    let report = bluegreen::run(
        &client(&fake),
        &forced,
        Mode::Rollback,
        None::<&NoHook>,
        &sink,
        std::future::pending(),
    )
    .await;
    assert_eq!(report.outcome, Outcome::Switched, "{}", report.message);
    assert_untouched(&fake);
}

struct RecordingHook(std::sync::Mutex<Vec<HookTarget>>, Result<(), String>);

impl DropletHook for RecordingHook {
    async fn run(&self, target: &HookTarget) -> Result<(), String> {
        self.0.lock().unwrap().push(target.clone());
        self.1.clone()
    }
}

#[tokio::test]
async fn update_hook_runs_on_the_standby_first() {
    let fake = pair().await;
    let cfg = BlueGreenConfig {
        version: Some("v2".into()),
        ..config(&fake)
    };
    let hook = RecordingHook(Default::default(), Ok(()));
    let sink = CollectingSink::default();
    let report = bluegreen::run(
        &client(&fake),
        &cfg,
        Mode::Promote,
        Some(&hook),
        &sink,
        std::future::pending(),
    )
    .await;
    assert_eq!(report.outcome, Outcome::Switched, "{}", report.message);
    let seen = hook.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (
            seen[0].id.0,
            seen[0].name.as_str(),
            seen[0].version.as_deref()
        ),
        (2, "green", Some("v2"))
    );
    assert_eq!(seen[0].public_ipv4, Some(GREEN));

    let fake = pair().await;
    let failing = RecordingHook(
        Default::default(),
        Err("the command exited with status 3".into()),
    );
    let report = bluegreen::run(
        &client(&fake),
        &config(&fake),
        Mode::Promote,
        Some(&failing),
        &sink,
        std::future::pending(),
    )
    .await;
    assert_eq!(report.outcome, Outcome::NotReady);
    assert!(
        report.message.contains(
            "the update command failed for droplet 2 (green): the command exited with status 3"
        ),
        "{}",
        report.message
    );
    assert_untouched(&fake);
}

#[tokio::test]
async fn refusals_change_nothing() {
    type Setup = fn(&FakeDo);
    let cases: Vec<(&str, Setup, &str)> = vec![
        (
            "two PROD droplets",
            |f| {
                f.state()
                    .droplets
                    .insert(3, fake_do::droplet(3, "other", OTHER, &["PROD"], "nyc3"));
            },
            "expected exactly two droplets carrying `PROD` or `FALLBACK`, found 3",
        ),
        (
            "IP on a third droplet",
            |f| {
                f.state()
                    .droplets
                    .insert(3, fake_do::droplet(3, "other", OTHER, &[], "nyc3"));
                f.state().reserved_ips.get_mut(RIP_S).unwrap().1 = Some(3);
            },
            "points at droplet 3 (other), which carries neither",
        ),
        (
            "standby off",
            |f| {
                f.state().droplets.get_mut(&2).unwrap()["status"] = "off".into();
            },
            "droplet 2 (green) is `off`, not `active`",
        ),
        (
            "region mismatch",
            |f| {
                f.state().droplets.get_mut(&2).unwrap()["region"]["slug"] = "ams3".into();
            },
            "different regions (nyc3 and ams3)",
        ),
        (
            "both tags on the live droplet, no standby",
            |f| {
                f.state().droplets.get_mut(&1).unwrap()["tags"] =
                    serde_json::json!(["PROD", "FALLBACK"]);
                f.state().droplets.get_mut(&2).unwrap()["tags"] = serde_json::json!([]);
            },
            "found 1",
        ),
        (
            "both droplets PROD",
            |f| {
                f.state().droplets.get_mut(&2).unwrap()["tags"] = serde_json::json!(["PROD"]);
            },
            "both droplets carry `PROD`",
        ),
        (
            "IP unassigned",
            |f| {
                f.state().reserved_ips.get_mut(RIP_S).unwrap().1 = None;
            },
            "is not assigned to any droplet",
        ),
    ];
    for (name, setup, expected) in cases {
        let fake = pair().await;
        setup(&fake);
        let report = promote(&fake, &config(&fake)).await;
        assert_eq!(
            report.outcome,
            Outcome::Refused,
            "{name}: {}",
            report.message
        );
        assert!(
            report.message.contains(expected),
            "{name}: {}",
            report.message
        );
        assert!(
            report.message.contains("found: PROD:"),
            "{name}: the refusal lists what was found: {}",
            report.message
        );
        assert_eq!(mutations(&fake), vec![LOCK_TAKE, LOCK_FREE], "{name}");
        fake.assert_no_unexpected();
    }
}

#[tokio::test]
async fn unknown_reserved_ip_is_refused() {
    let fake = pair().await;
    let cfg = BlueGreenConfig {
        reserved_ip: Some(Ipv4Addr::new(127, 0, 0, 99)),
        ..config(&fake)
    };
    let report = promote(&fake, &cfg).await;
    assert_eq!(report.outcome, Outcome::Refused);
    assert!(
        report
            .message
            .contains("reserved IP 127.0.0.99 does not exist in this account"),
        "{}",
        report.message
    );
}

#[tokio::test]
async fn reserved_ip_is_found_from_the_tags() {
    let fake = pair().await;
    let cfg = BlueGreenConfig {
        reserved_ip: None,
        ..config(&fake)
    };
    let report = promote(&fake, &cfg).await;
    assert_eq!(report.outcome, Outcome::Switched, "{}", report.message);
    assert_eq!(report.reserved_ip, Some(RIP));
    assert_promoted(&fake);
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn lock_held_by_another_run() {
    let fake = pair().await;
    let theirs = format!("zdd-lock:ip-127-0-0-20:{}:otherrun", unix_now() - 10);
    fake.state().tags.insert(theirs.clone());
    let report = promote(&fake, &config(&fake)).await;
    assert_eq!(report.outcome, Outcome::Locked, "{}", report.message);
    assert!(report.message.contains(&theirs), "{}", report.message);
    assert_eq!(
        fake.lock_tags(),
        vec![theirs],
        "ours is removed, theirs stays"
    );
    assert_eq!(mutations(&fake), vec![LOCK_TAKE, LOCK_FREE]);
    assert_eq!(fake.state().ip_holder(RIP_S), Some(1));
}

#[tokio::test]
async fn lock_wait_proceeds_when_the_other_run_finishes() {
    let fake = pair().await;
    let theirs = format!("zdd-lock:ip-127-0-0-20:{}:otherrun", unix_now() - 10);
    fake.state().tags.insert(theirs.clone());
    let state = fake.state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        state.lock().unwrap().tags.remove(&theirs);
    });
    let mut cfg = config(&fake);
    cfg.lock.as_mut().unwrap().wait = Duration::from_secs(5);
    let report = promote(&fake, &cfg).await;
    assert_eq!(report.outcome, Outcome::Switched, "{}", report.message);
    assert_promoted(&fake);
}

#[tokio::test]
async fn an_observation_made_while_another_run_held_the_lock_is_taken_again() {
    // Another run holds the lock and, while ours observes during its first claim, finishes
    // its promote (green live) and releases. Ours must plan from what is true after that:
    // green is live, blue the standby, so ours promotes blue. Planning from its first look
    // (blue live) would "promote" green, the droplet already serving.
    let fake = pair().await;
    let theirs = format!("zdd-lock:ip-127-0-0-20:{}:otherrun", unix_now() - 10);
    fake.state().tags.insert(theirs.clone());
    fake.set_app(1, 200, "blue v2");
    let state = fake.state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let mut st = state.lock().unwrap();
        st.reserved_ips.get_mut(RIP_S).unwrap().1 = Some(2);
        st.droplets.get_mut(&1).unwrap()["tags"] = serde_json::json!(["FALLBACK"]);
        st.droplets.get_mut(&2).unwrap()["tags"] = serde_json::json!(["PROD"]);
        st.tags.remove(&theirs);
    });
    let mut cfg = config(&fake);
    cfg.lock.as_mut().unwrap().wait = Duration::from_secs(5);
    cfg.lock.as_mut().unwrap().settle = Duration::from_millis(300);
    cfg.health.expect_body = None;
    let report = promote(&fake, &cfg).await;
    assert_eq!(report.outcome, Outcome::Switched, "{}", report.message);
    let holder = fake.state().ip_holder(RIP_S);
    assert_eq!(holder, Some(1), "{}", report.message);
    assert_eq!(report.live.as_ref().unwrap().id.0, 1);
    // Another run's tag was listed right after our claim: nothing was observed during the
    // settle; one observation, after the lock.
    let steps: Vec<&str> = report.steps.iter().map(|s| s.step.label()).collect();
    assert_eq!(&steps[..2], ["lock", "observe"], "{steps:?}");
}

#[tokio::test]
async fn two_concurrent_promotes_switch_once() {
    let fake = pair().await;
    let cfg = config(&fake);
    let (a, b) = tokio::join!(promote(&fake, &cfg), promote(&fake, &cfg));
    let mut outcomes = [a.outcome, b.outcome];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    // Both see each other and step back; one claims first and switches. The other is refused
    // (the winner still holds the lock) or, when the winner was already done, finds the new
    // version live. Never a second switch.
    assert!(
        outcomes == [Outcome::Locked, Outcome::Switched]
            || outcomes == [Outcome::AlreadyLive, Outcome::Switched],
        "{outcomes:?}: {} / {}",
        a.message,
        b.message
    );
    assert_eq!(
        mutations(&fake)
            .iter()
            .filter(|m| m.contains("/actions"))
            .count(),
        1
    );
    assert_promoted(&fake);
}

#[tokio::test]
async fn stale_lock_is_removed() {
    let fake = pair().await;
    let stale = "zdd-lock:ip-127-0-0-20:1000:crashedrun".to_string();
    fake.state().tags.insert(stale.clone());
    let report = promote(&fake, &config(&fake)).await;
    assert_eq!(report.outcome, Outcome::Switched, "{}", report.message);
    assert!(
        fake.mutations()
            .contains(&format!("DELETE /v2/tags/{stale}")),
        "{:#?}",
        fake.mutations()
    );
    assert_promoted(&fake);
}

#[tokio::test]
async fn bad_token_is_an_api_failure() {
    let fake = pair().await;
    let c = Client::builder()
        .token(Token::new("wrong-token").unwrap())
        .base_url(fake.uri())
        .build()
        .unwrap();
    let sink = CollectingSink::default();
    let report = bluegreen::run(
        &c,
        &config(&fake),
        Mode::Promote,
        None::<&NoHook>,
        &sink,
        std::future::pending(),
    )
    .await;
    assert_eq!(report.outcome, Outcome::ApiError);
    assert!(
        report.message.contains("401 unauthorized"),
        "{}",
        report.message
    );
    assert!(
        !report.message.contains("wrong-token"),
        "the token must not appear: {}",
        report.message
    );
    assert_eq!(fake.state().ip_holder(RIP_S), Some(1));
}

#[tokio::test]
async fn status_reports_drift() {
    let fake = pair().await;
    let mut cfg = config(&fake);
    cfg.health.expect_body = None;
    let sink = CollectingSink::default();
    let s = bluegreen::status(&client(&fake), &cfg, true, &sink)
        .await
        .unwrap();
    assert_eq!(s.state, bluegreen::StatusState::Consistent);
    assert_eq!(s.ip_droplet.as_ref().unwrap().id.0, 1);
    assert_eq!(s.health.len(), 2);
    assert!(s.health.iter().all(|h| h.healthy), "{:?}", s.health);
    fake.set_app(2, 503, "down");
    let s = bluegreen::status(&client(&fake), &cfg, true, &sink)
        .await
        .unwrap();
    let green = s.health.iter().find(|h| h.id.0 == 2).unwrap();
    assert!(!green.healthy && green.detail == "status 503", "{green:?}");
    fake.state().reserved_ips.get_mut(RIP_S).unwrap().1 = Some(2);
    let s = bluegreen::status(&client(&fake), &cfg, false, &sink)
        .await
        .unwrap();
    assert_eq!(s.state, bluegreen::StatusState::Interrupted);
    assert!(s.drift[0].contains("run `zdd-do promote`"), "{:?}", s.drift);
    assert!(fake.mutations().is_empty());
}

/// A competitor that started at the same moment but whose tag shows only after ours was
/// created: the settle before the deciding look sees it, and the older one wins.
#[tokio::test]
async fn lock_settle_sees_a_competitor_listed_late() {
    let fake = pair().await;
    let mut cfg = config(&fake);
    cfg.lock.as_mut().unwrap().settle = Duration::from_millis(400);
    let state = fake.state.clone();
    let competitor = tokio::spawn(async move {
        // Wait until our lock tag exists, then make the competitor's (older) tag appear.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let created = state
                .lock()
                .unwrap()
                .tags
                .iter()
                .any(|t| t.starts_with("zdd-lock:"));
            if created {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the run never created its lock tag"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let older = format!("zdd-lock:ip-127-0-0-20:{}:000000000000", unix_now() - 1);
        state.lock().unwrap().tags.insert(older.clone());
        older
    });
    let report = promote(&fake, &cfg).await;
    let older = competitor.await.unwrap();
    assert_eq!(
        report.outcome,
        Outcome::Locked,
        "{}\n{:#?}",
        report.message,
        fake.calls()
    );
    assert!(report.message.contains(&older), "{}", report.message);
    assert_eq!(
        fake.state().ip_holder(RIP_S),
        Some(1),
        "the losing run must not switch"
    );
    assert_eq!(fake.lock_tags(), vec![older]);
}

/// Issue 13, item 1: run A names its lock tag first, but its create is answered late (a 429
/// with `Retry-After`); run B starts after A, finds itself alone and goes ahead. When A's tag
/// finally exists, A must not overtake B because its name is older: one switch, one winner.
#[tokio::test]
async fn a_late_lock_create_cannot_overtake_the_run_that_decided() {
    let fake = pair().await;
    fake.fault_retry_after("POST", "/v2/tags", 2);
    let mut cfg = config(&fake);
    // A lease long enough that A's own fence (its claim took 2 s to land) does not decide
    // this; the decision rule must.
    cfg.lock.as_mut().unwrap().lease = Duration::from_secs(8);
    // B is still health-gating when A's late create lands (about 2 s in).
    let mut slow = cfg.clone();
    slow.health.successes = 40;
    slow.health.interval = Duration::from_millis(60);
    slow.health.deadline = Duration::from_secs(10);
    let a = promote(&fake, &cfg);
    let b = async {
        tokio::time::sleep(Duration::from_millis(1050)).await;
        promote(&fake, &slow).await
    };
    let (a, b) = tokio::join!(a, b);
    assert_eq!(b.outcome, Outcome::Switched, "B: {}", b.message);
    assert!(
        matches!(a.outcome, Outcome::Locked | Outcome::AlreadyLive),
        "A must not switch: {:?} {}",
        a.outcome,
        a.message
    );
    let assigns: Vec<String> = mutations(&fake)
        .into_iter()
        .filter(|m| m.contains("/actions"))
        .collect();
    assert_eq!(
        assigns,
        vec![ASSIGN_GREEN.to_string()],
        "{:#?}",
        fake.calls()
    );
    assert_promoted(&fake);
}

/// Issue 13, item 4: a run killed while holding the lock (its tag no longer renewed) blocks
/// the next run for one lease, not for the TTL; a live holder, which renews, is never taken
/// over.
#[tokio::test]
async fn a_dead_holder_is_taken_over_after_its_lease_and_a_live_one_never() {
    let fake = pair().await;
    // A run killed a moment ago: a fresh tag with a 1 s lease that nobody renews.
    let dead = format!("zdd-lock:ip-127-0-0-20:{}:deadrun:1", unix_now());
    fake.state().tags.insert(dead.clone());
    let mut cfg = config(&fake);
    cfg.lock.as_mut().unwrap().lease = zdd_core::lock::MIN_LEASE;
    let sink = CollectingSink::default();
    let started = tokio::time::Instant::now();
    let report = tokio::time::timeout(
        Duration::from_secs(20),
        bluegreen::run(
            &client(&fake),
            &cfg,
            Mode::Promote,
            None::<&NoHook>,
            &sink,
            std::future::pending(),
        ),
    )
    .await
    .expect("the dead run's lock was not taken over within 20 s");
    assert_eq!(report.outcome, Outcome::Switched, "{}", report.message);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "taken over before the dead run's own 1 s lease had passed"
    );
    assert!(
        sink.events()
            .iter()
            .any(|e| matches!(e, Event::Warning { message }
            if message.contains(&dead) && message.contains("stopped renewing"))),
        "{:#?}",
        sink.events()
    );
    assert!(
        fake.mutations()
            .contains(&format!("DELETE /v2/tags/{dead}")),
        "{:#?}",
        fake.mutations()
    );
    assert_promoted(&fake);

    // A live holder renews every quarter lease (1 s here): a newcomer that waits 2.5 s sees
    // it renew, gives up (exit 7) and never takes it over.
    let fake = pair().await;
    let lock_cfg = zdd_core::lock::LockSettings {
        settle: Duration::from_millis(50),
        poll: Duration::from_millis(50),
        lease: zdd_core::lock::MIN_LEASE,
        ..Default::default()
    }
    .config("ip-127-0-0-20".into());
    let held =
        zdd_core::lock::DeployLock::acquire(&client(&fake), &lock_cfg, &CollectingSink::default())
            .await
            .unwrap();
    let mut cfg = config(&fake);
    cfg.lock.as_mut().unwrap().wait = Duration::from_millis(2500);
    let report = promote(&fake, &cfg).await;
    assert_eq!(report.outcome, Outcome::Locked, "{}", report.message);
    assert!(report.message.contains("is alive"), "{}", report.message);
    held.check().expect("the live holder kept its lock");
    let creates = fake
        .mutations()
        .iter()
        .filter(|m| m.contains(held.run_id()) && m.starts_with("POST /v2/tags"))
        .count();
    assert!(
        creates >= 3,
        "the holder renewed twice: {:#?}",
        fake.mutations()
    );
    held.release().await.unwrap();
    assert!(fake.lock_tags().is_empty(), "{:?}", fake.lock_tags());
    assert_untouched(&fake);
}

/// A holder whose renewals fail for half its lease stops before its next change: another run
/// may take over once the lease has passed, so this one must not switch.
#[tokio::test]
async fn a_holder_that_cannot_renew_stops_before_switching() {
    let fake = pair().await;
    let lock_cfg = zdd_core::lock::LockSettings {
        settle: Duration::from_millis(20),
        lease: zdd_core::lock::MIN_LEASE,
        ..Default::default()
    }
    .config("ip-127-0-0-20".into());
    let held =
        zdd_core::lock::DeployLock::acquire(&client(&fake), &lock_cfg, &CollectingSink::default())
            .await
            .unwrap();
    held.check().unwrap();
    // Every renewal is refused from now on.
    fake.fault("POST", "/v2/tags", 1000, 503);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let lost = held.check().unwrap_err();
    assert!(
        lost.reason.contains("could not be renewed"),
        "{}",
        lost.reason
    );
    held.release().await.unwrap();

    // The same through a promote: its gate outlasts half the lease while renewals fail.
    let fake = pair().await;
    let mut cfg = config(&fake);
    cfg.lock.as_mut().unwrap().lease = zdd_core::lock::MIN_LEASE;
    cfg.health.successes = 50;
    cfg.health.interval = Duration::from_millis(50);
    cfg.health.deadline = Duration::from_secs(10);
    let state = fake.state.clone();
    tokio::spawn(async move {
        // Once the lock is taken, renewals start failing.
        loop {
            let taken = state
                .lock()
                .unwrap()
                .tags
                .iter()
                .any(|t| t.starts_with("zdd-lock:"));
            if taken {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        state.lock().unwrap().faults.push(fake_do::Fault {
            method: "POST".into(),
            path_prefix: "/v2/tags".into(),
            times: 1000,
            status: 503,
            body: serde_json::json!({"id": "service_unavailable", "message": "injected"}),
            retry_after: None,
            after_effect: false,
        });
    });
    let report = promote(&fake, &cfg).await;
    assert_eq!(report.outcome, Outcome::Locked, "{}", report.message);
    assert!(
        report.message.contains("nothing was switched"),
        "{}",
        report.message
    );
    assert_eq!(fake.state().ip_holder(RIP_S), Some(1));
    assert!(
        !fake.mutations().iter().any(|m| m.contains("/actions")),
        "{:#?}",
        fake.mutations()
    );
}

/// Issue 13, item 2: the assign is carried out but its answer is lost (a 500 after the fact);
/// the retried assign meets DigitalOcean's 422 for an IP locked by the running action, which
/// takes a while. That is not "nothing changed": wait for the action, see where the IP went,
/// and finish.
#[tokio::test]
async fn a_lost_assign_answer_on_a_slow_action_is_followed_to_the_end() {
    let fake = pair().await;
    {
        let mut st = fake.state();
        st.slow_actions = true;
        st.action_polls = 20;
    }
    fake.fault_after_effect("POST", "/v2/reserved_ips/127.0.0.20/actions", 1, 500);
    let report = promote(&fake, &config(&fake)).await;
    assert_eq!(report.outcome, Outcome::Switched, "{}", report.message);
    let calls = fake.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("GET /v2/reserved_ips/127.0.0.20/actions?")),
        "the IP's running actions were looked at: {calls:#?}"
    );
    let mut expected = vec![LOCK_TAKE, ASSIGN_GREEN, ASSIGN_GREEN];
    expected.extend(TAG_MOVES_TO_GREEN);
    expected.push(LOCK_FREE);
    assert_eq!(mutations(&fake), expected);
    assert_promoted(&fake);
}

/// The same lost answer, with an action that never finishes within the assign timeout: the
/// outcome is uncertain (exit 6), never "nothing changed".
#[tokio::test]
async fn a_lost_assign_answer_on_a_stuck_action_is_uncertain() {
    let fake = pair().await;
    {
        let mut st = fake.state();
        st.slow_actions = true;
        st.action_polls = 100_000;
    }
    fake.fault_after_effect("POST", "/v2/reserved_ips/127.0.0.20/actions", 1, 500);
    let mut cfg = config(&fake);
    cfg.assign_wait = WaitOptions::with_timeout(Duration::from_millis(300))
        .interval(Duration::from_millis(5), Duration::from_millis(20));
    let report = promote(&fake, &cfg).await;
    assert_eq!(report.outcome, Outcome::Uncertain, "{}", report.message);
    assert!(
        report.message.contains("still running"),
        "{}",
        report.message
    );
    assert!(
        !report.message.contains("nothing changed"),
        "{}",
        report.message
    );
}

/// An errored assign, with nothing running on the IP any more and the IP where it was: that
/// one *is* "nothing changed" (exit 8).
#[tokio::test]
async fn an_errored_assign_with_nothing_running_changed_nothing() {
    let fake = pair().await;
    {
        let mut st = fake.state();
        st.slow_actions = true;
        st.action_polls = 2;
        st.action_end = vec!["errored"];
    }
    let report = promote(&fake, &config(&fake)).await;
    assert_eq!(report.outcome, Outcome::ApiError, "{}", report.message);
    assert!(
        report.message.contains("no action is running on the IP"),
        "{}",
        report.message
    );
    assert_untouched(&fake);
}

/// Issue 13, item 3: a release that passes the gate and breaks right after the switch is
/// switched back at the first failing answer through the reserved IP, not after the health
/// deadline: exactly one request reaches the broken release through the IP.
#[tokio::test]
async fn a_release_broken_after_the_switch_is_switched_back_at_the_first_failure() {
    let fake = pair().await;
    fake.state().through_ip.insert(
        2,
        App {
            status: 500,
            body: "internal error".into(),
        },
    );
    let mut cfg = config(&fake);
    cfg.health.deadline = Duration::from_secs(30);
    cfg.health.interval = Duration::from_millis(50);
    let report = promote(&fake, &cfg).await;
    assert_eq!(report.outcome, Outcome::SwitchedBack, "{}", report.message);
    assert!(report.message.contains("status 500"), "{}", report.message);
    let to_broken: Vec<String> = fake
        .app_log()
        .into_iter()
        .filter(|l| l.starts_with("ip 127.0.0.20 ") && l.ends_with("-> 2"))
        .collect();
    assert_eq!(to_broken.len(), 1, "{to_broken:#?}");
    assert_untouched(&fake);
}

/// An answer through the IP that is not the new version yet (an old page, as while a move
/// settles) is not a verdict: verification retries it within its own deadline, and fails at
/// that deadline (not the gate's) when it persists.
#[tokio::test]
async fn verification_has_its_own_deadline() {
    let fake = pair().await;
    fake.state().through_ip.insert(
        2,
        App {
            status: 200,
            body: "old page".into(),
        },
    );
    let mut cfg = config(&fake);
    cfg.health.deadline = Duration::from_secs(30);
    cfg.health.interval = Duration::from_millis(50);
    cfg.verify_deadline = Duration::from_millis(400);
    let report = promote(&fake, &cfg).await;
    assert_eq!(report.outcome, Outcome::SwitchedBack, "{}", report.message);
    assert!(
        report.message.contains("body does not contain `v2`"),
        "{}",
        report.message
    );
    let to_green = fake
        .app_log()
        .into_iter()
        .filter(|l| l.starts_with("ip 127.0.0.20 ") && l.ends_with("-> 2"))
        .count();
    assert!(
        (2..=12).contains(&to_green),
        "retried within 0.4 s at 50 ms: {to_green}"
    );
}
