//! Blue-green through a load balancer, against the stateful fake: the exact mutating calls,
//! the state after, the report. Droplets are put in and taken out of the load balancer (its
//! tag, or its list of ids) instead of moving a reserved IP.

use std::net::Ipv4Addr;
use std::time::Duration;

use fake_do::{FakeDo, FakeIdentity};
use serde_json::json;
use zdd_core::bluegreen::{
    self, BlueGreenConfig, BlueGreenReport, LbRef, LbSettings, LockSettings, Mode, Outcome,
    PlannedStep, WaitHow, WatchSettings,
};
use zdd_core::events::CollectingSink;
use zdd_core::health::HealthPolicy;
use zdd_core::hook::NoHook;
use zdd_core::rolling::{self, RollingConfig, WaitKind};

use fake_do::FLEET_LB_ID as LB_ID;

/// `live` droplets in load balancer `web-lb` (tag `web`, or their ids), `standby` droplets
/// out of it ([`FakeDo::lb_fleet`]).
async fn fleet(live: u64, standby: u64, by_ids: bool) -> FakeDo {
    FakeDo::lb_fleet(live, standby, by_ids).await
}

/// Waits scaled by 0.01 (drain 2 s -> 20 ms, sync 1 s -> 10 ms), watched.
fn config() -> BlueGreenConfig {
    BlueGreenConfig {
        load_balancer: Some(LbSettings {
            drain_wait: Duration::from_secs(2),
            lb_sync_wait: Duration::from_secs(1),
            wait_scale: 0.01,
            ..LbSettings::new(LbRef::Id(LB_ID.into()))
        }),
        health: HealthPolicy {
            successes: 2,
            interval: Duration::from_millis(20),
            deadline: Duration::from_millis(600),
            request_timeout: Duration::from_millis(500),
            expect_body: Some("v2".into()),
            ..HealthPolicy::default()
        },
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

/// [`config`] with the load balancer's settings changed by `f`.
fn with_lb(f: impl FnOnce(&mut LbSettings)) -> BlueGreenConfig {
    let mut cfg = config();
    f(cfg.load_balancer.as_mut().unwrap());
    cfg
}

async fn run(fake: &FakeDo, cfg: &BlueGreenConfig, mode: Mode) -> BlueGreenReport {
    run_until(fake, cfg, mode, std::future::pending()).await
}

/// [`run`], interrupted when `cancel` resolves.
async fn run_until(
    fake: &FakeDo,
    cfg: &BlueGreenConfig,
    mode: Mode,
    cancel: impl std::future::Future<Output = ()>,
) -> BlueGreenReport {
    let sink = CollectingSink::default();
    bluegreen::run(&fake.client(), cfg, mode, None::<&NoHook>, &sink, cancel).await
}

/// A promote interrupted right after its `k`-th mutating call.
async fn promote_crashing_after(fake: &FakeDo, k: usize) -> BlueGreenReport {
    let crash = fake.crash_after(k);
    run_until(fake, &config(), Mode::Promote, async move {
        crash.notified().await
    })
    .await
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn tags(fake: &FakeDo, id: u64) -> Vec<String> {
    let mut t = fake.state().droplet_tags(id);
    t.sort();
    t
}

fn in_lb(fake: &FakeDo) -> Vec<u64> {
    fake.state().lb_droplets(LB_ID)
}

fn assert_clean(fake: &FakeDo) {
    assert!(
        fake.lock_tags().is_empty(),
        "lock left: {:?}",
        fake.lock_tags()
    );
    fake.assert_no_unexpected();
}

/// Green (2) alone in the load balancer, tagged `PROD` (and `green_tags`), blue (1) the
/// standby; no lock left.
fn assert_green_live(fake: &FakeDo, green_tags: &[&str]) {
    assert_eq!(in_lb(fake), [2]);
    assert_eq!(tags(fake, 1), ["FALLBACK"]);
    assert_eq!(tags(fake, 2), green_tags);
    assert_clean(fake);
}

/// The tag move from blue (1) to green (2), in its crash-safe order.
const TAGS_TO_GREEN: [&str; 4] = ["+FALLBACK 1", "+PROD 2", "-PROD 1", "-FALLBACK 2"];

fn calls(before: &[&str], after: &[&str]) -> Vec<String> {
    let mut v = s(before);
    v.extend(s(&TAGS_TO_GREEN));
    v.extend(s(after));
    v
}

#[tokio::test]
async fn promote_through_a_tag_load_balancer() {
    let fake = fleet(1, 1, false).await;
    let report = run(&fake, &config(), Mode::Promote).await;
    assert_eq!(report.outcome, Outcome::Switched, "{}", report.message);
    // Green joins before blue leaves; the tags move after.
    assert_eq!(
        fake.short_mutations(),
        calls(&["create LOCK", "+web 2", "-web 1"], &["delete LOCK"])
    );
    assert_green_live(&fake, &["PROD", "web"]);
    assert_eq!(
        report.message,
        "promoted 2 (green-1) through load balancer web-lb; standby now: 1 (blue-1), out of it"
    );
    // Both waits were watched through the load balancer; then the in-flight allowance.
    let waits: Vec<(WaitKind, WaitHow)> = report.waits.iter().map(|w| (w.kind, w.how)).collect();
    assert_eq!(
        waits,
        [
            (WaitKind::Routing, WaitHow::Observed),
            (WaitKind::Leave, WaitHow::Observed),
            (WaitKind::Drain, WaitHow::Computed),
        ]
    );
    // The report shows the tags as they are now.
    let mut live_tags = report.live.as_ref().unwrap().tags.clone();
    live_tags.sort();
    assert_eq!(live_tags, ["PROD", "web"]);
    assert_eq!(report.standby.as_ref().unwrap().tags, ["FALLBACK"]);
    // The JSON report names the load balancer, not a reserved IP.
    let v = serde_json::to_value(&report).unwrap();
    assert!(v.get("reserved_ip").is_none(), "{v}");
    assert_eq!(v["load_balancer"]["name"], "web-lb");
    assert_eq!(v["load_balancer"]["membership"]["tag"], "web");
    assert_eq!(v["watch"]["how"], "observed");
    // The steps (repeats in a row once: the in-flight allowance is slept only when some of it
    // is left after watching).
    let mut steps: Vec<&str> = report.steps.iter().map(|s| s.step.label()).collect();
    steps.dedup();
    assert_eq!(
        steps,
        [
            "observe",
            "health gate",
            "lock",
            "observe",
            "put back into rotation",
            "verify",
            "take out of rotation",
            "drain",
            "move tags",
            "unlock"
        ]
    );
}

#[tokio::test]
async fn promote_through_a_load_balancer_of_droplet_ids_adds_and_removes_ids() {
    let fake = fleet(1, 1, true).await;
    let report = run(&fake, &config(), Mode::Promote).await;
    assert_eq!(report.outcome, Outcome::Switched, "{}", report.message);
    assert_eq!(
        fake.short_mutations(),
        calls(&["create LOCK", "lb+2", "lb-1"], &["delete LOCK"])
    );
    assert_green_live(&fake, &["PROD"]);
}

#[tokio::test]
async fn two_groups_switch_together() {
    let fake = fleet(2, 2, true).await;
    let report = run(&fake, &config(), Mode::Promote).await;
    assert_eq!(report.outcome, Outcome::Switched, "{}", report.message);
    assert_eq!(
        fake.short_mutations(),
        s(&[
            "create LOCK",
            "lb+3,4",
            "lb-1,2",
            "+FALLBACK 1",
            "+FALLBACK 2",
            "+PROD 3",
            "+PROD 4",
            "-PROD 1",
            "-PROD 2",
            "-FALLBACK 3",
            "-FALLBACK 4",
            "delete LOCK"
        ])
    );
    assert_eq!(in_lb(&fake), [3, 4]);
    // Groups are listed; `live` and `standby` name one droplet only.
    assert!(report.live.is_none());
    let live: Vec<u64> = report.live_droplets.iter().map(|d| d.id.0).collect();
    let standby: Vec<u64> = report.standby_droplets.iter().map(|d| d.id.0).collect();
    assert_eq!((live, standby), (vec![3, 4], vec![1, 2]));
    assert_clean(&fake);
}

#[tokio::test]
async fn rollback_takes_the_same_way_back() {
    let fake = fleet(1, 1, false).await;
    let report = run(&fake, &config(), Mode::Promote).await;
    assert_eq!(report.outcome, Outcome::Switched, "{}", report.message);
    fake.clear_log();
    // The standby (blue) holds the previous version; the gate does not ask for `v2`.
    let cfg = BlueGreenConfig {
        health: HealthPolicy {
            expect_body: None,
            ..config().health
        },
        ..config()
    };
    let report = run(&fake, &cfg, Mode::Rollback).await;
    assert_eq!(report.outcome, Outcome::Switched, "{}", report.message);
    assert!(
        report.message.starts_with("rolled back to 1 (blue-1)"),
        "{}",
        report.message
    );
    assert_eq!(
        fake.short_mutations(),
        s(&[
            "create LOCK",
            "+web 1",
            "-web 2",
            "+FALLBACK 2",
            "+PROD 1",
            "-PROD 2",
            "-FALLBACK 1",
            "delete LOCK"
        ])
    );
    assert_eq!(in_lb(&fake), [1]);
    assert_eq!(tags(&fake, 1), ["PROD", "web"]);
    assert_eq!(tags(&fake, 2), ["FALLBACK"]);
    assert_clean(&fake);
}

#[tokio::test]
async fn a_standby_never_seen_serving_is_taken_out_again() {
    let fake = fleet(1, 1, false).await;
    // Healthy when probed directly, but the load balancer never sends it a request.
    fake.state().lb_never_routes.insert(2);
    let cfg = with_lb(|l| {
        l.watch = WatchSettings {
            deadline: Some(Duration::from_millis(500)),
            ..WatchSettings::default()
        }
    });
    let report = run(&fake, &cfg, Mode::Promote).await;
    assert_eq!(report.outcome, Outcome::NotReady, "{}", report.message);
    assert!(
        report
            .message
            .starts_with("2 (green-1) never answered through http://127.0.0.60:"),
        "{}",
        report.message
    );
    assert!(
        report.message.ends_with(
            "2 (green-1) taken out of load balancer web-lb again: 1 (blue-1) never left it, nothing changed"
        ),
        "{}",
        report.message
    );
    assert_eq!(
        fake.short_mutations(),
        s(&["create LOCK", "+web 2", "-web 2", "delete LOCK"])
    );
    assert_eq!(in_lb(&fake), [1]);
    assert_eq!(tags(&fake, 1), ["PROD", "web"]);
    assert_eq!(tags(&fake, 2), ["FALLBACK"]);
    assert_eq!(report.live.as_ref().unwrap().id.0, 1);
    assert_clean(&fake);
}

#[tokio::test]
async fn a_failed_gate_changes_nothing() {
    let fake = fleet(1, 1, false).await;
    fake.set_app(2, 503, "starting");
    let report = run(&fake, &config(), Mode::Promote).await;
    assert_eq!(report.outcome, Outcome::NotReady, "{}", report.message);
    assert!(
        report
            .message
            .starts_with("droplet 2 (green-1) failed the health gate"),
        "{}",
        report.message
    );
    assert_eq!(fake.short_mutations(), s(&["create LOCK", "delete LOCK"]));
    assert_eq!(in_lb(&fake), [1]);
    assert_clean(&fake);
}

/// A run interrupted after each of its mutating calls; the next run finishes it, each change
/// made once across both, and blue never leaves before green served.
#[tokio::test]
async fn an_interrupted_promote_is_finished_by_the_next_run() {
    // create LOCK, +web 2, -web 1, four tag moves, delete LOCK.
    for k in 1..=8 {
        let fake = fleet(1, 1, false).await;
        let first = promote_crashing_after(&fake, k).await;
        let want = if k == 8 {
            Outcome::Switched
        } else {
            Outcome::Interrupted
        };
        assert_eq!(first.outcome, want, "k={k}: {}", first.message);
        assert!(fake.lock_tags().is_empty(), "k={k}: lock left");
        let before = fake.short_mutations();
        fake.clear_log();
        let second = run(&fake, &config(), Mode::Promote).await;
        let want = match k {
            1 => Outcome::Switched,
            // Every tag landed: green serves `v2`, nothing to do.
            7 | 8 => Outcome::AlreadyLive,
            _ => Outcome::Resumed,
        };
        assert_eq!(
            second.outcome, want,
            "k={k}: first did {before:?}; {}",
            second.message
        );
        let after = fake.short_mutations();
        for m in ["+web 2", "-web 1"].iter().chain(&TAGS_TO_GREEN) {
            let n = before.iter().chain(&after).filter(|c| c == m).count();
            assert_eq!(
                n, 1,
                "k={k}: `{m}` ran {n} times: {before:?} then {after:?}"
            );
        }
        assert!(
            !after.iter().any(|c| c == "-web 2" || c == "+web 1"),
            "k={k}: {after:?}"
        );
        assert_green_live(&fake, &["PROD", "web"]);
    }
}

#[tokio::test]
async fn both_in_continues_and_half_moved_tags_are_finished() {
    // Green joined, blue has not left.
    let fake = fleet(1, 1, false).await;
    fake.state().droplets.get_mut(&2).unwrap()["tags"] = json!(["FALLBACK", "web"]);
    let report = run(&fake, &config(), Mode::Promote).await;
    assert_eq!(report.outcome, Outcome::Resumed, "{}", report.message);
    assert_eq!(
        fake.short_mutations(),
        calls(&["create LOCK", "-web 1"], &["delete LOCK"])
    );
    assert!(
        matches!(report.plan[0], PlannedStep::ResumeLb { .. }),
        "{:?}",
        report.plan
    );
    assert_clean(&fake);

    // Blue is out, the tags are half moved (steps 1 and 2 landed).
    let fake = fleet(1, 1, false).await;
    {
        let mut st = fake.state();
        st.droplets.get_mut(&1).unwrap()["tags"] = json!(["PROD", "FALLBACK"]);
        st.droplets.get_mut(&2).unwrap()["tags"] = json!(["FALLBACK", "PROD", "web"]);
    }
    let report = run(&fake, &config(), Mode::Promote).await;
    assert_eq!(report.outcome, Outcome::Resumed, "{}", report.message);
    assert_eq!(
        fake.short_mutations(),
        s(&["create LOCK", "-PROD 1", "-FALLBACK 2", "delete LOCK"])
    );
    assert_green_live(&fake, &["PROD", "web"]);
}

#[tokio::test]
async fn an_interrupted_switch_to_a_broken_droplet_is_switched_back() {
    // Blue left, green serves alone, the tags untouched: but green now fails its check.
    let fake = fleet(1, 1, false).await;
    {
        let mut st = fake.state();
        st.droplets.get_mut(&1).unwrap()["tags"] = json!(["PROD"]);
        st.droplets.get_mut(&2).unwrap()["tags"] = json!(["FALLBACK", "web"]);
    }
    fake.set_app(2, 500, "green-1 v2 broken");
    let report = run(&fake, &config(), Mode::Promote).await;
    assert_eq!(report.outcome, Outcome::SwitchedBack, "{}", report.message);
    // The tags first (already as before), then blue back in, green out.
    assert_eq!(
        fake.short_mutations(),
        s(&["create LOCK", "+web 1", "-web 2", "delete LOCK"])
    );
    assert_eq!(in_lb(&fake), [1]);
    assert_eq!(tags(&fake, 1), ["PROD", "web"]);
    assert_eq!(tags(&fake, 2), ["FALLBACK"]);
    assert_clean(&fake);
}

#[tokio::test]
async fn states_that_make_no_sense_are_refused() {
    // Nobody in the load balancer.
    let fake = fleet(1, 1, false).await;
    fake.state().droplets.get_mut(&1).unwrap()["tags"] = json!(["PROD"]);
    let report = run(&fake, &config(), Mode::Promote).await;
    assert_eq!(report.outcome, Outcome::Refused, "{}", report.message);
    assert!(
        report.message.starts_with("no droplet carrying `PROD` or `FALLBACK` is in load balancer web-lb; found: PROD: 1 blue-1 [PROD] active nyc3; FALLBACK: 2 green-1 [FALLBACK] active nyc3"),
        "{}",
        report.message
    );
    assert_eq!(fake.short_mutations(), s(&["create LOCK", "delete LOCK"]));
    assert_clean(&fake);

    // A load balancer selecting by the live tag itself.
    let fake = fleet(1, 1, false).await;
    fake.state().load_balancers.get_mut(LB_ID).unwrap()["tag"] = json!("PROD");
    let report = run(&fake, &config(), Mode::Promote).await;
    assert_eq!(report.outcome, Outcome::Refused, "{}", report.message);
    assert!(
        report
            .message
            .starts_with("load balancer web-lb selects droplets by the live tag `PROD`"),
        "{}",
        report.message
    );
    assert_eq!(fake.short_mutations(), s(&["create LOCK", "delete LOCK"]));
}

#[tokio::test]
async fn the_lock_is_the_load_balancers_shared_with_roll() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 1;
    // A roll of this load balancer holds the lock: promote waits for nobody and changes nothing.
    let fake = fleet(1, 1, false).await;
    let roll_lock = format!("zdd-lock:lb-{LB_ID}:{now}:a-roll");
    fake.state().tags.insert(roll_lock.clone());
    let report = run(&fake, &config(), Mode::Promote).await;
    assert_eq!(report.outcome, Outcome::Locked, "{}", report.message);
    assert!(report.message.contains(&roll_lock), "{}", report.message);
    assert_eq!(fake.short_mutations(), s(&["create LOCK", "delete LOCK"]));
    assert_eq!(in_lb(&fake), [1]);

    // A promote holding it keeps a roll of the same load balancer out.
    let fake = fleet(1, 1, false).await;
    let promote_lock = format!("zdd-lock:lb-{LB_ID}:{now}:a-promote");
    fake.state().tags.insert(promote_lock.clone());
    let sink = CollectingSink::default();
    let roll = rolling::run(
        &fake.client(),
        &RollingConfig::new(LbRef::Id(LB_ID.into())),
        None::<&NoHook>,
        None::<&NoHook>,
        &sink,
        std::future::pending(),
    )
    .await;
    assert_eq!(roll.outcome, Outcome::Locked, "{}", roll.message);
    assert!(roll.message.contains(&promote_lock), "{}", roll.message);

    // And the lock promote takes is that one scope.
    let fake = fleet(1, 1, false).await;
    promote_crashing_after(&fake, 1).await;
    let created = fake.state().log[..]
        .iter()
        .find(|c| c.is_mutating())
        .map(|c| c.body["name"].as_str().unwrap_or("").to_owned())
        .unwrap();
    assert!(
        created.starts_with(&format!("zdd-lock:lb-{LB_ID}:")),
        "{created}"
    );
}

#[tokio::test]
async fn dry_run_plans_typed_steps_and_changes_nothing() {
    let fake = fleet(1, 1, false).await;
    let cfg = BlueGreenConfig {
        dry_run: true,
        ..config()
    };
    let report = run(&fake, &cfg, Mode::Promote).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{}", report.message);
    assert!(fake.short_mutations().is_empty());
    let kinds: Vec<String> = report
        .plan
        .iter()
        .map(|p| {
            serde_json::to_value(p).unwrap()["step"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "watch",
            "health_gate",
            "join",
            "see_serving",
            "leave",
            "see_gone",
            "tag",
            "tag",
            "tag",
            "tag"
        ]
    );
    let lines: Vec<String> = report.plan.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        lines[2],
        "put 2 (green-1) into load balancer web-lb (tag `web`)"
    );
    assert_eq!(
        lines[4],
        "take 1 (blue-1) out of load balancer web-lb (untag `web`)"
    );
    assert!(
        lines[3].starts_with("watch http://127.0.0.60:"),
        "{lines:#?}"
    );

    // Nothing names the droplets: the waits are computed, and the plan says why.
    let fake = fleet(1, 1, false).await;
    fake.state().identity = FakeIdentity::None;
    let report = run(&fake, &cfg, Mode::Promote).await;
    match &report.plan[0] {
        PlannedStep::Watch { how, reason, .. } => {
            assert_eq!(*how, WaitHow::Computed);
            assert!(reason.is_some());
        }
        other => panic!("{other:?}"),
    }
    match &report.plan[3] {
        PlannedStep::SeeServing { how, waits, .. } => {
            assert_eq!(*how, WaitHow::Computed);
            let kinds: Vec<WaitKind> = waits.iter().map(|w| w.kind).collect();
            assert_eq!(kinds, [WaitKind::LbSync, WaitKind::Routing]);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn computed_waits_switch_when_nothing_names_the_droplets() {
    let fake = fleet(1, 1, false).await;
    fake.state().identity = FakeIdentity::None;
    let report = run(&fake, &config(), Mode::Promote).await;
    assert_eq!(report.outcome, Outcome::Switched, "{}", report.message);
    assert_eq!(
        fake.short_mutations(),
        calls(&["create LOCK", "+web 2", "-web 1"], &["delete LOCK"])
    );
    let waits: Vec<(WaitKind, WaitHow)> = report.waits.iter().map(|w| (w.kind, w.how)).collect();
    assert_eq!(
        waits,
        [
            (WaitKind::LbSync, WaitHow::Computed),
            (WaitKind::Routing, WaitHow::Computed),
            (WaitKind::LbSync, WaitHow::Computed),
            (WaitKind::Drain, WaitHow::Computed),
        ]
    );
    assert_clean(&fake);
}

#[tokio::test]
async fn a_reserved_ip_and_a_load_balancer_together_change_nothing() {
    let fake = fleet(1, 1, false).await;
    let cfg = BlueGreenConfig {
        reserved_ip: Some(Ipv4Addr::new(127, 0, 0, 20)),
        ..config()
    };
    let report = run(&fake, &cfg, Mode::Promote).await;
    assert_eq!(report.outcome, Outcome::ConfigError, "{}", report.message);
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}
