//! `roll` with a canary, against the stateful fake: the first batch, back in rotation, takes
//! traffic beside the droplets not updated yet and is judged; a pass lets the other batches
//! follow, a failure takes it out again and the rollback command puts the previous version
//! back on it. The update installs `v2`, or a flawed `v2` that is healthy but fails one
//! request in 20 through the load balancer.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::rolling_config;
use fake_do::{App, FakeDo, Fault, Flaw, State};
use zdd_core::canary::{CanaryConfig, CanarySize, JudgeKind, Verdict};
use zdd_core::events::CollectingSink;
use zdd_core::hook::{DropletHook, HookPurpose, HookTarget};
use zdd_core::rolling::{self, OnFailure, Outcome, RollingConfig, RollingReport};

/// Installs `<name> <version>` on a droplet (with `flaw`, a release that fails some requests),
/// and records which droplets it ran for.
struct Install {
    state: Arc<Mutex<State>>,
    version: &'static str,
    flaw: Option<Flaw>,
    /// Injected once the update has run (the take-outs after it meet it).
    fault_after: Option<Fault>,
    seen: Mutex<Vec<u64>>,
}

impl Install {
    fn new(fake: &FakeDo, version: &'static str, flaw: Option<Flaw>) -> Self {
        Install {
            state: fake.state.clone(),
            version,
            flaw,
            fault_after: None,
            seen: Mutex::new(Vec::new()),
        }
    }

    fn seen(&self) -> Vec<u64> {
        self.seen.lock().unwrap().clone()
    }
}

impl DropletHook for Install {
    async fn run(&self, t: &HookTarget) -> Result<(), String> {
        self.seen.lock().unwrap().push(t.id.0);
        let mut st = self.state.lock().unwrap();
        st.apps.insert(
            t.id.0,
            App {
                status: 200,
                body: format!("{} {}", t.name, self.version),
            },
        );
        match (self.flaw, t.purpose) {
            (Some(f), HookPurpose::Update) => st.flaws.insert(t.id.0, f),
            _ => st.flaws.remove(&t.id.0),
        };
        st.faults.extend(self.fault_after.clone());
        Ok(())
    }
}

/// [`rolling_config`] with a canary of one droplet held 2 s and judged by the probes on at
/// least 20 requests, rolled back on failure.
fn config() -> RollingConfig {
    let mut canary = CanaryConfig::new(CanarySize::Count(1), Duration::from_secs(2));
    canary.thresholds.min_requests = 20;
    RollingConfig {
        on_failure: OnFailure::Rollback,
        canary: Some(canary),
        ..rolling_config()
    }
}

async fn roll(
    fake: &FakeDo,
    cfg: &RollingConfig,
    update: &Install,
    undo: &Install,
) -> RollingReport {
    rolling::run(
        &fake.client(),
        cfg,
        Some(update),
        Some(undo),
        &CollectingSink::default(),
        std::future::pending(),
    )
    .await
}

/// The mutating calls, with the lock and marker tags written `LOCK` and `OUT`.
fn mutations(fake: &FakeDo) -> Vec<String> {
    fake.short_mutations()
        .into_iter()
        .map(|c| {
            let c = c.replace(fake_do::POOL_MARKER, "OUT");
            match c.find("zdd-lock:") {
                Some(i) => format!("{}LOCK", &c[..i]),
                None => c,
            }
        })
        .collect()
}

fn bodies(fake: &FakeDo) -> Vec<String> {
    let st = fake.state();
    (1..=4).map(|i| st.apps[&i].body.clone()).collect()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| (*x).to_owned()).collect()
}

#[tokio::test]
async fn a_canary_batch_that_passes_lets_the_others_follow() {
    let fake = FakeDo::lb_pool(4, false).await;
    let update = Install::new(&fake, "v2", None);
    let undo = Install::new(&fake, "v1", None);
    let report = roll(&fake, &config(), &update, &undo).await;
    assert_eq!(report.outcome, Outcome::Rolled, "{}", report.message);
    let c = report.canary.as_ref().expect("a canary report");
    assert_eq!(c.verdict, Verdict::Pass, "{:?}", c.judges);
    assert_eq!(c.canaries.iter().map(|d| d.id.0).collect::<Vec<_>>(), [1]);
    let probes = &c.judges[0];
    assert_eq!(probes.judge, JudgeKind::Probes);
    // Judged against the three droplets not updated yet.
    assert!(probes.old.as_ref().unwrap().requests >= 20.0, "{probes:?}");
    assert_eq!(update.seen(), [1, 2, 3, 4]);
    assert!(undo.seen().is_empty());
    assert_eq!(
        bodies(&fake),
        ["web-1 v2", "web-2 v2", "web-3 v2", "web-4 v2"]
    );
    let batches: Vec<Vec<u64>> = report
        .batches
        .iter()
        .map(|b| b.droplets.iter().map(|d| d.0).collect())
        .collect();
    assert_eq!(batches, [vec![1], vec![2], vec![3], vec![4]]);
    fake.assert_no_unexpected();
}

#[tokio::test]
async fn a_canary_batch_failing_its_users_leaves_and_is_rolled_back() {
    let fake = FakeDo::lb_pool(4, false).await;
    let flawed = Flaw {
        fail_every: 20,
        delay: Duration::ZERO,
    };
    let update = Install::new(&fake, "v2", Some(flawed));
    let undo = Install::new(&fake, "v1", None);
    let report = roll(&fake, &config(), &update, &undo).await;
    assert_eq!(report.outcome, Outcome::RolledBack, "{}", report.message);
    assert!(
        report
            .message
            .starts_with("droplet 1 (web-1): the canary analysis failed (probes: error rate "),
        "{}",
        report.message
    );
    assert!(
        report.message.ends_with("rolled back 1 droplet(s) with the rollback command: all are back in rotation on the previous version"),
        "{}",
        report.message
    );
    assert_eq!(report.canary.as_ref().unwrap().verdict, Verdict::Fail);
    // Only the canary got the release, and got the previous one back.
    assert_eq!(update.seen(), [1]);
    assert_eq!(undo.seen(), [1]);
    assert_eq!(
        bodies(&fake),
        ["web-1 v1", "web-2 v1", "web-3 v1", "web-4 v1"]
    );
    assert!(fake.state().flaws.is_empty());
    assert_eq!(
        mutations(&fake),
        s(&[
            "create LOCK",
            "create OUT",
            "+OUT 1",
            "-web 1",
            "+web 1",
            "-OUT 1",
            // The verdict: out again, marked, then rolled back through the same protocol.
            "+OUT 1",
            "-web 1",
            "+web 1",
            "-OUT 1",
            "delete LOCK",
        ])
    );
    fake.assert_no_unexpected();
}

#[tokio::test]
async fn a_canary_without_a_way_back_is_refused_before_anything_changes() {
    let fake = FakeDo::lb_pool(4, false).await;
    let update = Install::new(&fake, "v2", None);
    let cfg = RollingConfig {
        on_failure: OnFailure::Pause,
        ..config()
    };
    let report = rolling::run(
        &fake.client(),
        &cfg,
        Some(&update),
        None::<&Install>,
        &CollectingSink::default(),
        std::future::pending(),
    )
    .await;
    assert_eq!(report.outcome, Outcome::ConfigError, "{}", report.message);
    assert_eq!(
        report.message,
        "a canary batch that fails its analysis is rolled back: roll back on failure, with a rollback command"
    );
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}

#[tokio::test]
async fn a_dry_run_shows_the_canary_batch_and_its_analysis() {
    let fake = FakeDo::lb_pool(4, false).await;
    let update = Install::new(&fake, "v2", None);
    let undo = Install::new(&fake, "v1", None);
    let cfg = RollingConfig {
        dry_run: true,
        ..config()
    };
    let report = roll(&fake, &cfg, &update, &undo).await;
    assert_eq!(report.outcome, Outcome::DryRun, "{}", report.message);
    let lines: Vec<String> = report.plan.iter().map(ToString::to_string).collect();
    let analysis: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("canary: "))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(analysis.len(), 1, "{lines:#?}");
    assert_eq!(
        lines[analysis[0]],
        "canary: this batch takes traffic beside the droplets not updated yet for 2s, then is judged by probes (probes ask /); it fails above 1.0 points more errors or a p95 above the others' × 1.5 + 25 ms, or with fewer than 20 requests (inconclusive never passes): then it leaves the load balancer and is rolled back"
    );
    // After the first batch (droplet 1), before the second.
    let batch = |i: usize| {
        lines
            .iter()
            .position(|l| l.starts_with(&format!("batch {i}")))
            .unwrap_or_else(|| panic!("no batch {i} in {lines:#?}"))
    };
    assert!(
        batch(1) < analysis[0] && analysis[0] < batch(2),
        "{lines:#?}"
    );
    assert!(update.seen().is_empty());
    assert!(fake.mutations().is_empty(), "{:?}", fake.mutations());
}

#[tokio::test]
async fn a_failed_canary_that_cannot_be_taken_out_again_is_uncertain_and_says_what_it_runs() {
    let fake = FakeDo::lb_pool(4, false).await;
    let flawed = Flaw {
        fail_every: 20,
        delay: Duration::ZERO,
    };
    let mut update = Install::new(&fake, "v2", Some(flawed));
    // The next untag (the canary leaving again, after its analysis) is refused.
    update.fault_after = Some(Fault {
        method: "DELETE".into(),
        path_prefix: "/v2/tags/web/resources".into(),
        times: 1,
        status: 422,
        body: serde_json::json!({"id": "unprocessable_entity", "message": "injected 422"}),
        retry_after: None,
        after_effect: false,
    });
    let undo = Install::new(&fake, "v1", None);
    let report = roll(&fake, &config(), &update, &undo).await;
    assert_eq!(report.outcome, Outcome::Uncertain, "{}", report.message);
    assert!(
        report
            .message
            .starts_with("the canary analysis failed (probes: error rate "),
        "{}",
        report.message
    );
    assert!(
        report
            .message
            .contains("; taking the canary batch out again failed ("),
        "{}",
        report.message
    );
    assert!(
        report.message.ends_with(&format!(
            "it runs the release that failed and carries `{}`; put the previous version on it (`zdd-do roll` with the previous version's command handles droplets carrying that tag first)",
            fake_do::POOL_MARKER
        )),
        "{}",
        report.message
    );
    assert!(
        !report.message.contains("was not updated"),
        "{}",
        report.message
    );
    assert!(undo.seen().is_empty());
    assert_eq!(update.seen(), [1]);
}
