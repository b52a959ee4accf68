//! Running a replacement, its rollback and a finalize: find the load balancer, take its lock,
//! observe (one list of droplets gives the fleet, the droplets runs keep, and the account's
//! count), plan, then act, every step timed and reported through the event sink. What a run
//! leaves behind is in the droplets' tags ([`super::tags`]), so running the same command again
//! after a crash finishes the job, and `rollback` undoes it.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use do_api::droplets::{Droplet, DropletFilter};
use do_api::{Client, DropletId};
use tokio::time::Instant;

use super::config::ReplaceConfig;
use super::plan::CostEstimate;
use super::report::{ReplaceAction, ReplaceReport};
use crate::canary::{CanaryCheck, NoCheck};
use crate::events::{EventSink, Step, Subject};
use crate::health::HealthGate;
use crate::hook::{DropletHook, HookPurpose, HookTarget, NoHook};
use crate::lb::{LbRef, Membership};
use crate::lock::{DeployLock, now_unix, scope_for_lb};
use crate::report::DropletSummary;
use crate::rolling::waits::Wait;
use crate::rotation::{self, Through, Way, names};
use crate::runner::{Steps, check_lock, release_lock, take_lock};
use crate::{Error as Stop, Outcome};

mod back;
mod canary;
mod forward;

/// What one observation found.
struct Seen {
    /// The load balancer, read again.
    lb: do_api::load_balancers::LoadBalancer,
    /// Every droplet of the account.
    all: Vec<Droplet>,
    /// The droplets it selects.
    fleet: Vec<Droplet>,
    /// The droplets replace runs keep for it (`zdd-lb:<id>`).
    runs: Vec<Droplet>,
}

/// The parts of the report filled in as the run goes.
#[derive(Default)]
struct Partial {
    run_tag: Option<String>,
    plan: Vec<String>,
    api_requests_planned: Option<u64>,
    cost: Option<CostEstimate>,
    created: Vec<DropletSummary>,
    serving: Vec<DropletSummary>,
    previous: Vec<DropletSummary>,
    keep_until: Option<u64>,
    deleted: Vec<DropletSummary>,
    waits: Vec<Wait>,
    canary: Option<crate::canary::CanaryReport>,
}

struct Run<'a> {
    client: &'a Client,
    cfg: &'a ReplaceConfig,
    steps: Steps<'a>,
    through: Through,
    gate: HealthGate,
    lock: Option<DeployLock>,
    /// Droplets the load balancer selects, as last observed and changed by this run.
    in_lb: BTreeSet<DropletId>,
    /// Droplets this run tagged as its previous fleet.
    marked: BTreeSet<DropletId>,
    partial: Partial,
}

/// Replace the fleet behind the load balancer with new droplets ([`ReplaceConfig::new`] says
/// what they are made of); `install`, when given, runs on each new droplet once it is active,
/// before its health gate ([`super::NewDroplets::install`] names it). Never panics on API
/// trouble: every ending is an [`Outcome`] in the report. `cancel` resolving (Ctrl-C) stops at
/// the next await point and releases the lock; the same command finishes the job, `rollback`
/// undoes it.
pub async fn run<H: DropletHook>(
    client: &Client,
    cfg: &ReplaceConfig,
    install: Option<&H>,
    sink: &dyn EventSink,
    cancel: impl Future<Output = ()>,
) -> ReplaceReport {
    run_with_check(client, cfg, install, None::<&NoCheck>, sink, cancel).await
}

/// [`run`], with the user's own canary check (asked when [`ReplaceConfig::canary`] has
/// [`crate::canary::Judges::check`]).
pub async fn run_with_check<H: DropletHook, C: CanaryCheck>(
    client: &Client,
    cfg: &ReplaceConfig,
    install: Option<&H>,
    check: Option<&C>,
    sink: &dyn EventSink,
    cancel: impl Future<Output = ()>,
) -> ReplaceReport {
    execute(
        client,
        cfg,
        ReplaceAction::Replace,
        (install, check),
        sink,
        cancel,
    )
    .await
}

/// Put the previous fleet a replace kept back into the load balancer (health-gated, seen
/// serving), take the replacing droplets out (seen gone, in-flight allowance) and delete them.
pub async fn rollback(
    client: &Client,
    cfg: &ReplaceConfig,
    sink: &dyn EventSink,
    cancel: impl Future<Output = ()>,
) -> ReplaceReport {
    execute(
        client,
        cfg,
        ReplaceAction::Rollback,
        (None::<&NoHook>, None::<&NoCheck>),
        sink,
        cancel,
    )
    .await
}

/// Delete what replace runs keep for the load balancer: previous fleets (whatever their keep
/// time) and droplets of runs that never finished; never a droplet it selects.
pub async fn finalize(
    client: &Client,
    cfg: &ReplaceConfig,
    sink: &dyn EventSink,
    cancel: impl Future<Output = ()>,
) -> ReplaceReport {
    execute(
        client,
        cfg,
        ReplaceAction::Finalize,
        (None::<&NoHook>, None::<&NoCheck>),
        sink,
        cancel,
    )
    .await
}

/// Whether replace runs keep a previous fleet for `lb` (then `zdd-do rollback --lb` means
/// [`rollback`]). Two reads: the load balancer, the droplets tagged for it.
pub async fn has_previous(client: &Client, lb: &LbRef) -> Result<bool, do_api::Error> {
    let Some(lb) = crate::lb::lookup(client, lb).await? else {
        return Ok(false);
    };
    let kept = client
        .droplets()
        .list_by_tag(&super::tags::lb_tag(&lb.id))
        .await?;
    Ok(kept.iter().any(|d| super::tags::previous_of(d).is_some()))
}

async fn execute<H: DropletHook, C: CanaryCheck>(
    client: &Client,
    cfg: &ReplaceConfig,
    action: ReplaceAction,
    hooks: (Option<&H>, Option<&C>),
    sink: &dyn EventSink,
    cancel: impl Future<Output = ()>,
) -> ReplaceReport {
    let started = Instant::now();
    let calls_before = client.requests_sent();
    let steps = Steps::new(sink);
    let mut cancel = std::pin::pin!(cancel);
    let report = |stop: Stop, summary, partial: Partial, watch, steps: Steps<'_>| ReplaceReport {
        action,
        outcome: stop.outcome,
        message: stop.message,
        api_cause: stop.api_cause,
        load_balancer: summary,
        run_tag: partial.run_tag,
        plan: partial.plan,
        api_requests_planned: partial.api_requests_planned,
        cost: partial.cost,
        created: partial.created,
        serving: partial.serving,
        previous: partial.previous,
        keep_until: partial.keep_until,
        deleted: partial.deleted,
        canary: partial.canary,
        watch,
        waits: partial.waits,
        steps: steps.into_timings(),
        api_calls: client.requests_sent() - calls_before,
        total: started.elapsed(),
    };
    let prepared = async {
        cfg.check()
            .map_err(|m| Stop::new(Outcome::ConfigError, m))?;
        let lb = tokio::select! {
            biased;
            _ = cancel.as_mut() => return Err(Stop::new(Outcome::Interrupted, "interrupted before anything changed")),
            r = rotation::resolve_lb(&steps, client, &cfg.lb.lb) => r?,
        };
        Through::new(&cfg.target, &cfg.health, &cfg.lb, lb)
    }
    .await;
    let (through, gate) = match prepared {
        Ok(x) => x,
        Err(stop) => return report(stop, None, Partial::default(), None, steps),
    };
    let mut run = Run {
        client,
        cfg,
        steps,
        through,
        gate,
        lock: None,
        in_lb: BTreeSet::new(),
        marked: BTreeSet::new(),
        partial: Partial::default(),
    };
    let stop = match run.go(action, hooks, cancel).await {
        Ok((outcome, message)) => Stop::new(outcome, message),
        Err(stop) => stop,
    };
    let summary = Some(run.through.summary(&run.gate));
    let watch = run.through.watch_report.clone();
    report(stop, summary, run.partial, watch, run.steps)
}

/// `14:05:09 UTC` for a Unix time.
fn clock(unix: u64) -> String {
    let s = unix % 86_400;
    format!("{:02}:{:02}:{:02} UTC", s / 3600, s / 60 % 60, s % 60)
}

impl Run<'_> {
    async fn go<H: DropletHook, C: CanaryCheck>(
        &mut self,
        action: ReplaceAction,
        (install, check): (Option<&H>, Option<&C>),
        mut cancel: std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Result<(Outcome, String), Stop> {
        let lb = self.through.lb.clone();
        let unlock = format!("`zdd-do unlock --lb {}`", lb.id);
        self.lock = match (&self.cfg.lock, self.cfg.dry_run) {
            (Some(l), false) => {
                let cfg = l.config(scope_for_lb(&lb.id));
                Some(take_lock(&self.steps, self.client, &cfg, &unlock, &mut cancel).await?)
            }
            _ => None,
        };
        let again = match action {
            ReplaceAction::Replace => format!(
                "run the same command again to finish, or `zdd-do rollback --lb {}` to undo",
                lb.name
            ),
            ReplaceAction::Rollback => "run the same rollback again to finish".to_owned(),
            ReplaceAction::Finalize => "run the same finalize again to finish".to_owned(),
        };
        let result = tokio::select! {
            biased;
            _ = &mut cancel => Err(Stop::new(
                Outcome::Interrupted,
                format!("interrupted; what was done is recorded in the droplets' tags: {again}"),
            )),
            r = async {
                match action {
                    ReplaceAction::Replace => self.replace(install, check).await,
                    ReplaceAction::Rollback => self.roll_back().await,
                    ReplaceAction::Finalize => self.finalize().await,
                }
            } => r,
        };
        if let Some(lock) = self.lock.take() {
            release_lock(&self.steps, lock, &unlock).await;
        }
        result
    }

    fn lb_name(&self) -> String {
        self.through.lb.name.clone()
    }

    /// The load balancer, every droplet (the fleet it selects and what runs keep are read from
    /// that one list), as an observation step.
    async fn observe(&mut self) -> Result<Seen, Stop> {
        let s = self.steps.start(
            Step::Observe,
            format!(
                "load balancer {} and the droplets (its fleet, and those tagged `{}`)",
                self.lb_name(),
                super::tags::lb_tag(&self.through.lb.id)
            ),
        );
        let read = async {
            let lb = self
                .client
                .load_balancers()
                .get(&self.through.lb.id)
                .await?;
            let all = self.client.droplets().list(&DropletFilter::all()).await?;
            Ok::<_, do_api::Error>((lb, all))
        }
        .await;
        let (lb, all) = match read {
            Ok(x) => x,
            Err(e) => {
                self.steps.finish(s, false, e.chain());
                return Err(Stop::api("observing", &e));
            }
        };
        self.through.refresh(&lb);
        let fleet: Vec<Droplet> = all
            .iter()
            .filter(|d| match &self.through.membership {
                Membership::Tag(t) => d.has_tag(t),
                Membership::DropletIds => lb.droplet_ids.contains(&d.id),
            })
            .cloned()
            .collect();
        let kept = super::tags::lb_tag(&lb.id);
        let runs: Vec<Droplet> = all.iter().filter(|d| d.has_tag(&kept)).cloned().collect();
        self.in_lb = fleet.iter().map(|d| d.id).collect();
        self.steps.finish(
            s,
            true,
            format!(
                "load balancer {} selects {}; replace keeps {} droplet(s) for it; {} droplet(s) in the account",
                lb.name,
                if fleet.is_empty() {
                    "no droplet".to_owned()
                } else {
                    names(&fleet)
                },
                runs.len(),
                all.len()
            ),
        );
        Ok(Seen {
            lb,
            all,
            fleet,
            runs,
        })
    }

    /// Decide how droplets are seen joining and leaving: `serving` are in the load balancer
    /// now (the identity is learned from them), `pool` every droplet answers may name now;
    /// probes are paced for `side_by_side` droplets behind it at the busiest moment.
    async fn setup_watch(&mut self, serving: &[Droplet], pool: &[Droplet], side_by_side: usize) {
        let (watcher, report) = rotation::setup_watch(
            &self.steps,
            &self.through.settings.watch,
            &self.through.lb,
            &self.gate,
            serving,
            pool,
        )
        .await;
        self.through.watcher = watcher.map(|mut w| {
            w.pace_for(side_by_side);
            w
        });
        self.through.watch_report = Some(report);
    }

    /// How joining and leaving are seen, for the plan.
    fn how_seen(&self) -> &'static str {
        if self.through.watcher.is_some() {
            "watched through the load balancer"
        } else {
            "computed from its health check"
        }
    }

    /// Put `ds` into the load balancer or take them out, as a timed `step`.
    async fn rotate(&mut self, ds: &[Droplet], way: Way, step: Step) -> Result<(), do_api::Error> {
        if ds.is_empty() {
            return Ok(());
        }
        let verb = match way {
            Way::Join => "into",
            Way::Leave => "out of",
        };
        let s = self.steps.start_on(
            step,
            Subject::Droplets {
                ids: rotation::ids(ds),
            },
            format!(
                "{} {verb} load balancer {} ({})",
                names(ds),
                self.through.lb.name,
                self.through.membership
            ),
        );
        let ids = rotation::ids(ds);
        let r = rotation::rotate(
            self.client,
            &self.through.lb.id,
            &self.through.membership,
            &ids,
            way,
        )
        .await;
        match &r {
            Ok(()) => {
                self.steps.finish(s, true, "done");
                for id in ids {
                    match way {
                        Way::Join => self.in_lb.insert(id),
                        Way::Leave => self.in_lb.remove(&id),
                    };
                }
            }
            Err(e) => {
                self.steps.finish(s, false, e.chain());
            }
        }
        r
    }

    /// The droplets of `ds` the load balancer selects.
    fn in_lb(&self, ds: &[Droplet]) -> Vec<Droplet> {
        ds.iter()
            .filter(|d| self.in_lb.contains(&d.id))
            .cloned()
            .collect()
    }

    /// See `ds` answer through the load balancer (or sleep the computed window).
    async fn see_serving(&mut self, ds: &[Droplet]) -> Result<(), String> {
        let waits = self
            .through
            .see_serving(&self.steps, &self.gate, ds)
            .await?;
        self.partial.waits.extend(waits);
        Ok(())
    }

    /// See `ds` no longer answer (or sleep the sync slack), then the in-flight allowance.
    async fn see_gone(&mut self, ds: &[Droplet], serving: usize) -> Result<(), String> {
        let waits = self
            .through
            .see_gone(&self.steps, &self.gate, ds, serving, true)
            .await?;
        self.partial.waits.extend(waits);
        Ok(())
    }

    /// Create `tag` (DigitalOcean answers the same for one that exists) and put it on `ds`.
    async fn tag(&self, tag: &str, ds: &[Droplet]) -> Result<(), Stop> {
        if ds.is_empty() {
            return Ok(());
        }
        let s = self.steps.start_on(
            Step::TagMove,
            Subject::Droplets {
                ids: rotation::ids(ds),
            },
            format!("tag {} `{tag}`", names(ds)),
        );
        let r = async {
            self.client.tags().create(tag).await?;
            self.client
                .tags()
                .tag_droplets(tag, &rotation::ids(ds))
                .await
        }
        .await;
        match r {
            Ok(()) => {
                self.steps.finish(s, true, "done");
                Ok(())
            }
            Err(e) => {
                self.steps.finish(s, false, e.chain());
                Err(Stop::api(&format!("tagging {} `{tag}`", names(ds)), &e))
            }
        }
    }

    /// Remove each of the state tags `ds` carry (a warning when that fails: a later run or
    /// finalize removes them).
    async fn untag_state(&self, ds: &[Droplet], which: impl Fn(&str) -> bool) {
        let mut tags: Vec<&String> = ds
            .iter()
            .flat_map(|d| d.tags.iter())
            .filter(|t| which(t))
            .collect();
        tags.sort();
        tags.dedup();
        for tag in tags {
            let carriers: Vec<Droplet> = ds.iter().filter(|d| d.has_tag(tag)).cloned().collect();
            let s = self.steps.start_on(
                Step::TagMove,
                Subject::Droplets {
                    ids: rotation::ids(&carriers),
                },
                format!("untag {} `{tag}`", names(&carriers)),
            );
            match self
                .client
                .tags()
                .untag_droplets(tag, &rotation::ids(&carriers))
                .await
            {
                Ok(()) => {
                    self.steps.finish(s, true, "done");
                }
                Err(e) => {
                    self.steps.finish(s, false, e.chain());
                    self.steps
                        .warn(format!("could not remove `{tag}` ({})", e.chain()));
                }
            }
        }
    }

    /// Delete tags nothing carries any more (a warning when that fails).
    async fn delete_tags(&self, tags: &[String]) {
        for tag in tags {
            if let Err(e) = self.client.tags().delete(tag).await
                && !e.is_not_found()
            {
                self.steps.warn(format!(
                    "could not delete the tag `{tag}` ({}); it is harmless",
                    e.chain()
                ));
            }
        }
    }

    /// Delete droplets (one request each, all at once; one already gone counts as deleted).
    /// `Err` names those left.
    async fn delete(&mut self, ds: &[Droplet]) -> Result<(), String> {
        if ds.is_empty() {
            return Ok(());
        }
        let s = self.steps.start_on(
            Step::Delete,
            Subject::Droplets {
                ids: rotation::ids(ds),
            },
            names(ds),
        );
        let client = self.client;
        let results = futures_util::future::join_all(
            ds.iter()
                .map(|d| async move { client.droplets().delete(d.id).await }),
        )
        .await;
        let mut failed = Vec::new();
        for (d, r) in ds.iter().zip(results) {
            match r {
                Ok(()) => self.partial.deleted.push(d.into()),
                Err(e) if e.is_not_found() => self.partial.deleted.push(d.into()),
                Err(e) => failed.push(format!("{} ({}): {}", d.id, d.name, e.chain())),
            }
        }
        if failed.is_empty() {
            self.steps.finish(s, true, "deleted");
            Ok(())
        } else {
            let msg = format!("deleting failed for {}", failed.join("; "));
            self.steps.finish(s, false, msg.clone());
            Err(msg)
        }
    }

    /// Stop before a change when the lock was lost.
    fn lock_held(&self, then: impl FnOnce(String) -> Stop) -> Result<(), Stop> {
        check_lock(&self.steps, self.lock.as_ref()).map_err(then)
    }

    /// The waits a cut-over is planned with, one line each.
    fn wait_lines(&self) -> Vec<String> {
        let join: Duration = self.through.join_waits().iter().map(|w| w.applied).sum();
        let sync: Duration = self.through.sync_wait().iter().map(|w| w.applied).sum();
        let s = &self.through.settings;
        let allowance = crate::rolling::waits::scaled(s.drain_wait, s.wait_scale);
        let how = self.how_seen();
        vec![
            format!(
                "joining: {how} (computed window {}s, the load balancer's healthy threshold × interval plus sync slack)",
                crate::rolling::waits::fmt_secs(join)
            ),
            format!(
                "leaving: {how} (computed slack {}s), then an in-flight allowance of {}s",
                crate::rolling::waits::fmt_secs(sync),
                crate::rolling::waits::fmt_secs(allowance)
            ),
        ]
    }
}
