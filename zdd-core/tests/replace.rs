//! `replace`, its rollback and finalize, against the stateful fake: the exact mutating calls,
//! the state after, the report. New droplets are created on the fake's spare addresses, whose
//! apps answer like the fleet's (`app-v2`), or never get healthy (`app-bad`).

mod common;

use std::time::Duration;

use common::*;
use fake_do::{BAD_IMAGE, FLEET_LB_ID as LB_ID, FakeDo, GOOD_IMAGE};
use zdd_core::Outcome;
use zdd_core::bluegreen::LbRef;
use zdd_core::events::CollectingSink;
use zdd_core::hook::NoHook;
use zdd_core::replace;

#[tokio::test]
async fn surge_then_cut_over_through_a_tag() {
    let fake = FakeDo::replace_fleet(3, 3, false).await;
    let report = run(&fake, &config(GOOD_IMAGE)).await;
    assert_eq!(report.outcome, Outcome::Replaced, "{}", report.message);
    assert_eq!(calls(&fake, &report), clean_calls());
    assert_replaced(&fake, &report);
    // One create for the three, from the snapshot, with the fleet's settings and the tags.
    let create = fake
        .state()
        .log
        .iter()
        .find(|c| c.method == "POST" && c.path == "/v2/droplets")
        .cloned()
        .unwrap();
    assert_eq!(create.body["image"], GOOD_IMAGE);
    assert_eq!(create.body["size"], "s-1vcpu-1gb");
    assert_eq!(create.body["region"], "nyc3");
    assert_eq!(
        create.body["vpc_uuid"],
        "760e09ef-dc84-11e8-981e-3cfdfeaae000"
    );
    assert_eq!(
        create.body["tags"],
        serde_json::json!([report.run_tag.clone().unwrap(), LB_TAG])
    );
    // The report.
    assert_eq!(report.created.len(), 3);
    assert_eq!(report.serving.len(), 3);
    assert_eq!(
        report.previous.iter().map(|d| d.id.0).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let until = report.keep_until.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        until > now + 14 * 60 && until <= now + 15 * 60,
        "{until} vs {now}"
    );
    assert!(
        report
            .message
            .contains("`zdd-do rollback --lb web-lb` puts them back"),
        "{}",
        report.message
    );
    assert!(report.deleted.is_empty());
    // The same command again: nothing to do.
    fake.clear_log();
    let again = run(&fake, &config(GOOD_IMAGE)).await;
    assert_eq!(again.outcome, Outcome::AlreadyLive, "{}", again.message);
    assert_eq!(fake.short_mutations(), ["create LOCK", "delete LOCK"]);
}

#[tokio::test]
async fn surge_then_cut_over_through_droplet_ids() {
    let fake = FakeDo::replace_fleet(2, 2, true).await;
    let report = run(&fake, &config(GOOD_IMAGE)).await;
    assert_eq!(report.outcome, Outcome::Replaced, "{}", report.message);
    let c = calls(&fake, &report);
    assert!(c.contains(&"lb+9001,9002".to_owned()), "{c:?}");
    assert!(c.contains(&"lb-1,2".to_owned()), "{c:?}");
    let join = c.iter().position(|x| x == "lb+9001,9002").unwrap();
    let leave = c.iter().position(|x| x == "lb-1,2").unwrap();
    assert!(join < leave, "{c:?}");
    assert_eq!(in_lb(&fake), [9001, 9002]);
    assert_clean(&fake);
}

#[tokio::test]
async fn new_droplets_that_never_get_healthy_are_deleted_and_the_old_never_leave() {
    let fake = FakeDo::replace_fleet(3, 3, false).await;
    let report = run(&fake, &config(BAD_IMAGE)).await;
    assert_eq!(report.outcome, Outcome::RolledBack, "{}", report.message);
    assert!(
        report.message.contains("failed the health gate")
            && report.message.contains("the new droplets were deleted")
            && report
                .message
                .contains("the old fleet never left load balancer web-lb"),
        "{}",
        report.message
    );
    assert_eq!(
        calls(&fake, &report),
        s(&[
            "create LOCK",
            "new web-lb-R-1,web-lb-R-2,web-lb-R-3",
            "rm 9001",
            "rm 9002",
            "rm 9003",
            "delete zdd-prev:R",
            "delete zdd-run:R",
            "delete LOCK",
        ])
    );
    assert_eq!(in_lb(&fake), [1, 2, 3]);
    assert_eq!(droplet_ids(&fake), [1, 2, 3]);
    for old in 1..=3 {
        assert_eq!(tags(&fake, old), ["web"]);
    }
    assert_eq!(report.deleted.len(), 3);
    assert_clean(&fake);
}

#[tokio::test]
async fn a_create_that_timed_out_but_happened_is_found_not_sent_again() {
    let fake = FakeDo::replace_fleet(3, 3, false).await;
    // The create is carried out, and its answer lost as a 500.
    fake.fault_after_effect("POST", "/v2/droplets", 1, 500);
    let report = run(&fake, &config(GOOD_IMAGE)).await;
    assert_eq!(report.outcome, Outcome::Replaced, "{}", report.message);
    assert_eq!(calls(&fake, &report), clean_calls());
    assert_replaced(&fake, &report);
    let creates = fake
        .state()
        .log
        .iter()
        .filter(|c| c.method == "POST" && c.path == "/v2/droplets")
        .count();
    assert_eq!(creates, 1);
}

#[tokio::test]
async fn a_create_refused_outright_changes_nothing() {
    let fake = FakeDo::replace_fleet(3, 3, false).await;
    fake.fault("POST", "/v2/droplets", 1, 422);
    let report = run(&fake, &config(GOOD_IMAGE)).await;
    assert_eq!(report.outcome, Outcome::ApiError, "{}", report.message);
    assert!(
        report.message.ends_with("nothing changed"),
        "{}",
        report.message
    );
    assert_eq!(droplet_ids(&fake), [1, 2, 3]);
    assert_eq!(in_lb(&fake), [1, 2, 3]);
    assert_clean(&fake);
}

#[tokio::test]
async fn the_droplet_limit_is_refused_before_anything_is_created() {
    let fake = FakeDo::replace_fleet(3, 3, false).await;
    fake.state().droplet_limit = Some(5);
    let report = run(&fake, &config(GOOD_IMAGE)).await;
    assert_eq!(report.outcome, Outcome::Refused, "{}", report.message);
    assert!(
        report.message.starts_with(
            "the account has 3 droplets and a limit of 5: creating 3 more would exceed it"
        ),
        "{}",
        report.message
    );
    assert_eq!(fake.short_mutations(), ["create LOCK", "delete LOCK"]);
    assert_clean(&fake);
}

#[tokio::test]
async fn a_dry_run_shows_the_creates_waits_and_cost_and_changes_nothing() {
    let fake = FakeDo::replace_fleet(3, 3, false).await;
    let mut cfg = config(GOOD_IMAGE);
    cfg.dry_run = true;
    let report = run(&fake, &cfg).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{}", report.message);
    assert!(fake.short_mutations().is_empty());
    let plan = report.plan.join("\n");
    assert!(plan.contains("create call 1: web-lb-"), "{plan}");
    assert!(
        plan.contains("joining: watched through the load balancer"),
        "{plan}"
    );
    assert!(plan.contains("about "), "{plan}");
    let cost = report.cost.unwrap();
    assert_eq!(cost.droplets, 3);
    assert!((cost.hourly_each - 0.00893).abs() < 1e-9);
    assert!(plan.contains("cost of the surge: 3 × $0.00893/h"), "{plan}");
    assert!(
        report.message.contains("3 new droplet(s) to create"),
        "{}",
        report.message
    );
}

#[tokio::test]
async fn a_crash_after_any_change_is_finished_by_running_the_same_command_again() {
    // How many changes a clean run makes (the lock's create and delete included).
    let n = clean_calls().len();
    for k in 1..n {
        let fake = FakeDo::replace_fleet(3, 6, false).await;
        let crash = fake.crash_after(k);
        let first = replace::run(
            &fake.client(),
            &config(GOOD_IMAGE),
            None::<&NoHook>,
            &CollectingSink::default(),
            async move { crash.notified().await },
        )
        .await;
        assert_eq!(
            first.outcome,
            Outcome::Interrupted,
            "k={k}: {}",
            first.message
        );
        // Whatever was done, the old fleet serves, or the new one does.
        let lb = in_lb(&fake);
        assert!(!lb.is_empty(), "k={k}: nothing in the load balancer");
        let again = run(&fake, &config(GOOD_IMAGE)).await;
        assert!(
            matches!(again.outcome, Outcome::Replaced | Outcome::AlreadyLive),
            "k={k}: {:?} {}",
            again.outcome,
            again.message
        );
        // Never a second create for a name: three new droplets in all.
        assert_replaced(&fake, &again);
    }
}

#[tokio::test]
async fn rollback_puts_the_kept_fleet_back_and_deletes_the_new_one() {
    let fake = FakeDo::replace_fleet(3, 3, false).await;
    let report = run(&fake, &config(GOOD_IMAGE)).await;
    assert_eq!(report.outcome, Outcome::Replaced, "{}", report.message);
    assert!(
        replace::has_previous(&fake.client(), &LbRef::Id(LB_ID.into()))
            .await
            .unwrap()
    );
    fake.clear_log();
    let back = rollback(&fake).await;
    assert_eq!(back.outcome, Outcome::Switched, "{}", back.message);
    let mut c = calls(&fake, &report);
    // The keep time's tag is deleted with the rest; its name varies.
    c.sort();
    let mut want = s(&[
        "create LOCK",
        "+web 1,2,3",
        "-web 9001,9002,9003",
        "rm 9001",
        "rm 9002",
        "rm 9003",
        "-zdd-prev:R 1,2,3",
        "-zdd-until:T 1,2,3",
        "delete zdd-prev:R",
        "delete zdd-run:R",
        "delete zdd-until:T",
        "delete LOCK",
    ]);
    want.sort();
    assert_eq!(c, want);
    // In order: the kept fleet joins before the new one leaves, which leaves before it is
    // deleted.
    let order = calls(&fake, &report);
    let pos = |x: &str| order.iter().position(|c| c == x).unwrap();
    assert!(pos("+web 1,2,3") < pos("-web 9001,9002,9003"));
    assert!(pos("-web 9001,9002,9003") < pos("rm 9001"));
    assert_eq!(in_lb(&fake), [1, 2, 3]);
    assert_eq!(droplet_ids(&fake), [1, 2, 3]);
    for old in 1..=3 {
        assert_eq!(tags(&fake, old), ["web", LB_TAG]);
    }
    assert!(
        back.message.starts_with(
            "rolled back: 1 (web-1), 2 (web-2), 3 (web-3) serve through load balancer web-lb again"
        ),
        "{}",
        back.message
    );
    assert_clean(&fake);
    // Nothing is kept any more: no second rollback.
    assert!(
        !replace::has_previous(&fake.client(), &LbRef::Id(LB_ID.into()))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn finalize_deletes_the_kept_fleet_and_the_next_deploy_waits_for_it() {
    let fake = FakeDo::replace_fleet(3, 6, false).await;
    let report = run(&fake, &config(GOOD_IMAGE)).await;
    assert_eq!(report.outcome, Outcome::Replaced, "{}", report.message);
    // A next deploy while the previous fleet is kept: refused, naming both ways out.
    fake.add_image(170_000_003, "app-v3");
    let next = run(&fake, &config(170_000_003)).await;
    assert_eq!(next.outcome, Outcome::Refused, "{}", next.message);
    assert!(
        next.message
            .contains("is kept for an instant rollback for 15 more minute(s)")
            && next
                .message
                .contains("`zdd-do replace --lb web-lb --finalize` deletes it now"),
        "{}",
        next.message
    );
    fake.clear_log();
    let fin = finalize(&fake).await;
    assert_eq!(fin.outcome, Outcome::Finalized, "{}", fin.message);
    let mut c = calls(&fake, &report);
    c.sort();
    let mut want = s(&[
        "create LOCK",
        "rm 1",
        "rm 2",
        "rm 3",
        "delete zdd-prev:R",
        "delete zdd-until:T",
        "delete LOCK",
    ]);
    want.sort();
    assert_eq!(c, want);
    assert_eq!(droplet_ids(&fake), [9001, 9002, 9003]);
    assert_eq!(in_lb(&fake), [9001, 9002, 9003]);
    assert_clean(&fake);
    // Nothing left to finalize; the next deploy runs.
    let fin = finalize(&fake).await;
    assert_eq!(fin.outcome, Outcome::Finalized, "{}", fin.message);
    assert!(fin.message.contains("nothing to delete"), "{}", fin.message);
    let next = run(&fake, &config(170_000_003)).await;
    assert_eq!(next.outcome, Outcome::Replaced, "{}", next.message);
    assert_eq!(in_lb(&fake), [9004, 9005, 9006]);
}

#[tokio::test]
async fn the_next_deploy_deletes_a_previous_fleet_whose_time_is_up() {
    let fake = FakeDo::replace_fleet(2, 4, false).await;
    let mut cfg = config(GOOD_IMAGE);
    cfg.keep_previous = Duration::ZERO;
    let report = run(&fake, &cfg).await;
    assert_eq!(report.outcome, Outcome::Replaced, "{}", report.message);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    fake.add_image(170_000_003, "app-v3");
    fake.clear_log();
    let next = run(&fake, &config(170_000_003)).await;
    assert_eq!(next.outcome, Outcome::Replaced, "{}", next.message);
    let c = fake.short_mutations();
    let mut first = c[1..3].to_vec();
    first.sort();
    assert_eq!(first, ["rm 1", "rm 2"], "{c:?}");
    // The previous fleet's tags go with it; then the deploy as usual.
    assert!(
        c[3].starts_with("delete zdd-prev:") && c[4].starts_with("delete zdd-until:"),
        "{c:?}"
    );
    assert!(c[5].starts_with("new web-lb-"), "{c:?}");
    assert_eq!(droplet_ids(&fake), [9001, 9002, 9003, 9004]);
    assert_eq!(in_lb(&fake), [9003, 9004]);
    assert_clean(&fake);
}

/// Records the droplets it installs on; fails for the ones named in `fail`.
#[derive(Default)]
struct Install {
    seen: std::sync::Mutex<Vec<(u64, Option<String>)>>,
    fail: Vec<u64>,
}

impl zdd_core::hook::DropletHook for Install {
    async fn run(&self, t: &zdd_core::hook::HookTarget) -> Result<(), String> {
        self.seen.lock().unwrap().push((t.id.0, t.version.clone()));
        if self.fail.contains(&t.id.0) {
            return Err("exit status 3".into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn an_install_command_runs_on_each_new_droplet_before_its_gate() {
    let fake = FakeDo::replace_fleet(2, 4, false).await;
    // The fleet's own image; the command installs the release.
    let mut cfg = config(GOOD_IMAGE);
    cfg.new.image = None;
    cfg.new.install = Some("./deploy/install.sh".into());
    cfg.version = Some("v2".into());
    let hook = Install::default();
    let report = replace::run(
        &fake.client(),
        &cfg,
        Some(&hook),
        &CollectingSink::default(),
        std::future::pending(),
    )
    .await;
    assert_eq!(report.outcome, Outcome::Replaced, "{}", report.message);
    let mut seen = hook.seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen,
        [(9001, Some("v2".to_owned())), (9002, Some("v2".to_owned()))]
    );
    let create = fake
        .state()
        .log
        .iter()
        .find(|c| c.method == "POST" && c.path == "/v2/droplets")
        .cloned()
        .unwrap();
    assert_eq!(create.body["image"], "ubuntu-22-04-x64");
    assert_eq!(in_lb(&fake), [9001, 9002]);
    assert_clean(&fake);

    // A command that fails on one droplet: the new ones are deleted, the old never left.
    let fake = FakeDo::replace_fleet(2, 4, false).await;
    let hook = Install {
        fail: vec![9002],
        ..Install::default()
    };
    let report = replace::run(
        &fake.client(),
        &cfg,
        Some(&hook),
        &CollectingSink::default(),
        std::future::pending(),
    )
    .await;
    assert_eq!(report.outcome, Outcome::RolledBack, "{}", report.message);
    assert!(
        report
            .message
            .starts_with("the install command failed for droplet 9002 (web-lb-"),
        "{}",
        report.message
    );
    assert_eq!(in_lb(&fake), [1, 2]);
    assert_eq!(droplet_ids(&fake), [1, 2]);
    assert_clean(&fake);
}
