//! Running a rolling deploy: observe, plan, then for each batch: check the droplets staying in,
//! take out, update, health-gate, put back, wait for the load balancer; on failure, pause or
//! roll back. Every step is timed and reported through the event sink.

use std::collections::BTreeSet;
use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use do_api::droplets::Droplet;
use do_api::load_balancers::{HealthCheck, LoadBalancer};
use do_api::{Client, DropletId};
use tokio::time::Instant;

use super::config::{OnFailure, RollingConfig};
use super::plan::{Batch, Member, Membership, Observation, RollPlan, plan_with_canary};
use super::report::{BatchReport, DropletReport, DropletState, LbSummary, Outcome, RollingReport};
use super::waits::{self, Drain, Wait, WaitKind};
use crate::canary::{CanaryCheck, NoCheck};
use crate::events::{Event, EventSink, Step};
use crate::health::HealthGate;
use crate::hook::{DropletHook, HookTarget};
use crate::lock::{DeployLock, scope_for_lb};
use crate::runner::{Steps, check_lock, release_lock, take_lock};

mod canary;
mod cycle;
mod describe;
mod drain;
mod observe;
mod rollback;
mod rotation;
mod watching;

/// Why a run stopped early: the outcome and its message.
type Stop = crate::Error;

fn api_stop(context: &str, e: &do_api::Error) -> Stop {
    Stop::api(context, e)
}

use crate::hook::HookPurpose as Purpose;

/// A droplet that failed in a batch.
struct Failure {
    droplet: Droplet,
    error: String,
}

/// What is known once the load balancer is found, before anything is planned: every later
/// step works from it.
struct Planned {
    lb: LoadBalancer,
    /// Its health check (the spec's defaults when absent).
    lb_health: HealthCheck,
    /// `zdd-out:lb-<uuid>`.
    marker: String,
    /// How it selects droplets.
    membership: Membership,
    /// The direct health gate: the target resolved against the load balancer's check.
    gate: HealthGate,
    /// How long reading the load balancer took: the API's latency, as first seen.
    api_latency: Duration,
}

impl Planned {
    /// Resolve the health gate's target against `lb`'s check.
    fn new(cfg: &RollingConfig, lb: LoadBalancer, api_latency: Duration) -> Result<Planned, Stop> {
        let lb_health = lb.health_check.clone().unwrap_or_default();
        let endpoint = cfg
            .target
            .resolve(Some(&lb_health))
            .map_err(|e| Stop::new(Outcome::ConfigError, e.to_string()))?;
        Ok(Planned {
            marker: super::plan::marker_tag(&lb.id),
            membership: super::plan::membership(&lb),
            gate: HealthGate::new(endpoint, cfg.health.clone()),
            lb_health,
            lb,
            api_latency,
        })
    }

    fn summary(&self) -> LbSummary {
        LbSummary::new(&self.lb, self.lb_health.clone(), &self.gate)
    }
}

struct Run<'a> {
    client: &'a Client,
    cfg: &'a RollingConfig,
    steps: Steps<'a>,
    plan_lines: Vec<crate::rolling::steps::RollStep>,
    planned: Planned,
    pool: Vec<Droplet>,
    /// Droplets out of rotation now (by us or an earlier run).
    out: BTreeSet<DropletId>,
    /// When each out droplet left (or when this run found it out).
    out_since: Vec<(DropletId, Instant)>,
    batches: Vec<BatchReport>,
    droplets: Vec<DropletReport>,
    /// Whether anything changed yet (decides refused vs paused).
    changed: bool,
    marker_created: bool,
    lock: Option<DeployLock>,
    /// Droplets that failed a direct probe before anything changed (updated first).
    unhealthy_at_start: BTreeSet<DropletId>,
    /// Index of the plan's last batch.
    last_batch: usize,
    /// Watches droplets through the load balancer; `None`: computed waits.
    watcher: Option<crate::rolling::watch::Watcher>,
    /// How droplets are watched, or why they are not.
    watch_report: crate::rolling::report::WatchReport,
    /// How long the last take-out call took (for deciding an early put-back).
    api_latency: Option<Duration>,
    /// The canary analysis of the first batch.
    canary: Option<crate::canary::CanaryReport>,
}

impl<'a> Run<'a> {
    fn lb(&self) -> &LoadBalancer {
        &self.planned.lb
    }

    fn lb_health(&self) -> HealthCheck {
        self.planned.lb_health.clone()
    }

    fn gate(&self) -> &HealthGate {
        &self.planned.gate
    }

    fn report_mut(&mut self, id: DropletId) -> Option<&mut DropletReport> {
        self.droplets.iter_mut().find(|d| d.droplet.id == id)
    }

    fn others_in_rotation(&self) -> usize {
        self.pool
            .iter()
            .filter(|d| !self.out.contains(&d.id))
            .count()
    }

    async fn body<H: DropletHook, R: DropletHook, C: CanaryCheck>(
        &mut self,
        lb: LoadBalancer,
        (update, rollback, check): (Option<&H>, Option<&R>, Option<&C>),
    ) -> Result<(Outcome, String), Stop> {
        let obs = self.observe(lb).await?;
        let p = plan_with_canary(
            &obs,
            self.cfg.max_unavailable,
            self.cfg.canary.as_ref().map(|c| c.size),
        )
        .map_err(|r| Stop::new(Outcome::Refused, r.to_string()))?;
        let canary_batch = self
            .cfg
            .canary
            .as_ref()
            .and_then(|_| p.batches.iter().find(|b| !b.resume))
            .map(|b| b.index);
        self.pool = p.pool.clone();
        let started = Instant::now();
        for b in &p.batches {
            for m in &b.members {
                if !m.in_rotation {
                    self.out.insert(m.droplet.id);
                    self.out_since.push((m.droplet.id, started));
                }
                self.droplets.push(DropletReport {
                    droplet: (&m.droplet).into(),
                    batch: b.index,
                    resumed: b.resume,
                    state: DropletState::Pending,
                    out_of_rotation: !m.in_rotation,
                    failed_step: None,
                    error: None,
                    update: None,
                    health_gate: None,
                    rollback: None,
                    time_out_of_rotation: None,
                    seen_through_lb_after: None,
                });
            }
        }
        self.setup_watch(&p.pool).await;
        self.plan_lines = self.describe_plan(&p, update.is_some());
        self.last_batch = p.batches.last().map_or(0, |b| b.index);
        if self.cfg.dry_run {
            return Ok((
                Outcome::DryRun,
                format!(
                    "dry run: {} droplets in {} batches, nothing changed",
                    p.pool.len(),
                    p.batches.len()
                ),
            ));
        }
        let resumed = p.batches.first().is_some_and(|b| b.resume);
        if resumed {
            self.steps.note(format!(
                "resuming: {} droplet(s) left out of rotation by an earlier run are handled first",
                p.batches[0].members.len()
            ));
        }
        let mut done: Vec<Batch> = Vec::new();
        for (i, batch) in p.batches.iter().enumerate() {
            if i > 0 {
                self.batch_delay().await;
            }
            if let Err(why) = check_lock(&self.steps, self.lock.as_ref()) {
                return Err(if self.changed {
                    Stop::new(
                        Outcome::Interrupted,
                        format!(
                            "{why}; stopped before batch {}: the droplets updated so far are back in rotation; run the same command again to finish",
                            batch.index
                        ),
                    )
                } else {
                    Stop::new(
                        Outcome::Locked,
                        format!("{why}; stopped before the first batch: nothing changed"),
                    )
                });
            }
            let failures = self
                .cycle(batch.index, batch, Purpose::Update, update, batch.resume)
                .await?;
            if failures.is_empty() && Some(batch.index) == canary_batch {
                let later: Vec<Droplet> = p
                    .batches
                    .iter()
                    .filter(|b| b.index > batch.index)
                    .flat_map(|b| b.members.iter().map(|m| m.droplet.clone()))
                    .collect();
                if let Some(failures) = self.canary_batch(batch, &later, check).await? {
                    return self.on_failure(batch, &done, failures, rollback).await;
                }
            }
            if failures.is_empty() {
                done.push(batch.clone());
                continue;
            }
            return self.on_failure(batch, &done, failures, rollback).await;
        }
        Ok((
            Outcome::Rolled,
            format!(
                "updated {} droplets behind {} in {} batches{}; all back in rotation",
                p.pool.len(),
                self.lb().name,
                p.batches.len(),
                if resumed {
                    ", starting with those an earlier run left out"
                } else {
                    ""
                }
            ),
        ))
    }

    async fn batch_delay(&mut self) {
        if self.cfg.batch_delay.is_zero() {
            return;
        }
        let w = waits::batch_delay(self.cfg.batch_delay, self.cfg.wait_scale);
        let s = self.steps.start(Step::BatchDelay, w.to_string());
        tokio::time::sleep(w.applied).await;
        self.steps
            .finish(s, true, format!("{:.1}s", w.applied.as_secs_f64()));
        if let Some(last) = self.batches.last_mut() {
            last.waits.push(w);
        }
    }

    /// One batch through the protocol. Returns the droplets that failed (left out of
    /// rotation); `Err` stops the run (API failure, unhealthy droplets staying in, the load
    /// balancer not seen routing).
    async fn cycle<H: DropletHook>(
        &mut self,
        index: usize,
        batch: &Batch,
        purpose: Purpose,
        hook: Option<&H>,
        resume: bool,
    ) -> Result<Vec<Failure>, Stop> {
        let started = Instant::now();
        let members = &batch.members;
        let mut report = BatchReport {
            index,
            purpose,
            droplets: members.iter().map(|m| m.droplet.id).collect(),
            resume,
            waits: Vec::new(),
            duration: Duration::ZERO,
            ok: false,
        };
        self.steps.sink.emit(Event::BatchStarted {
            index,
            purpose,
            droplets: report.droplets.clone(),
        });
        let result = self.cycle_inner(members, purpose, hook, &mut report).await;
        report.duration = started.elapsed();
        report.ok = matches!(&result, Ok(f) if f.is_empty());
        self.steps.sink.emit(Event::BatchFinished {
            index,
            ok: report.ok,
            duration: report.duration,
        });
        self.batches.push(report);
        result
    }

    fn record(&mut self, purpose: Purpose, id: DropletId, took: Duration, ok: bool) {
        if let Some(r) = self.report_mut(id) {
            match (purpose, ok) {
                (Purpose::Update, true) => r.state = DropletState::Updated,
                (Purpose::Update, false) => r.state = DropletState::Failed,
                (Purpose::Rollback, true) => {
                    r.state = DropletState::RolledBack;
                    r.rollback = Some(took);
                }
                (Purpose::Rollback, false) => {
                    r.state = DropletState::RollbackFailed;
                    r.rollback = Some(took);
                }
            }
        }
    }
}

/// Run a rolling deploy. `update` runs on each droplet while it is out of rotation; `rollback`
/// (needed with [`OnFailure::Rollback`]) undoes it. Never panics on API trouble: every ending
/// is an [`Outcome`] in the report. `cancel` resolving (Ctrl-C) stops the run at the next
/// await point and still releases the lock; droplets it left out carry the marker tag and are
/// handled first by the next run.
pub async fn run<H: DropletHook, R: DropletHook>(
    client: &Client,
    cfg: &RollingConfig,
    update: Option<&H>,
    rollback: Option<&R>,
    sink: &dyn EventSink,
    cancel: impl Future<Output = ()>,
) -> RollingReport {
    run_with_check(
        client,
        cfg,
        (update, rollback, None::<&NoCheck>),
        sink,
        cancel,
    )
    .await
}

/// [`run`], with the user's own canary check (asked when [`RollingConfig::canary`] has
/// [`crate::canary::Judges::check`]): `hooks` are the update command, the rollback command and
/// the check.
pub async fn run_with_check<H: DropletHook, R: DropletHook, C: CanaryCheck>(
    client: &Client,
    cfg: &RollingConfig,
    hooks: (Option<&H>, Option<&R>, Option<&C>),
    sink: &dyn EventSink,
    cancel: impl Future<Output = ()>,
) -> RollingReport {
    let rollback = hooks.1;
    let started = Instant::now();
    let calls_before = client.requests_sent();
    let steps = Steps::new(sink);
    let mut cancel = std::pin::pin!(cancel);
    let report = |stop: Stop, planned: Option<&Planned>, steps: Steps<'_>| RollingReport {
        outcome: stop.outcome,
        message: stop.message,
        api_cause: stop.api_cause,
        load_balancer: planned.map(Planned::summary),
        marker_tag: planned.map(|p| p.marker.clone()),
        max_unavailable: cfg.max_unavailable,
        wait_scale: cfg.wait_scale,
        plan: Vec::new(),
        batches: Vec::new(),
        droplets: Vec::new(),
        canary: None,
        watch: None,
        steps: steps.into_timings(),
        api_calls: client.requests_sent() - calls_before,
        total: started.elapsed(),
    };
    let planned = match prepare(client, cfg, rollback.is_some(), &steps, &mut cancel).await {
        Ok(p) => p,
        Err(stop) => return report(stop, None, steps),
    };
    let mut run = Run {
        client,
        cfg,
        steps,
        plan_lines: Vec::new(),
        planned,
        pool: Vec::new(),
        out: BTreeSet::new(),
        out_since: Vec::new(),
        batches: Vec::new(),
        droplets: Vec::new(),
        changed: false,
        marker_created: false,
        lock: None,
        unhealthy_at_start: BTreeSet::new(),
        last_batch: 0,
        watcher: None,
        watch_report: crate::rolling::report::WatchReport::default(),
        api_latency: None,
        canary: None,
    };
    run.api_latency = Some(run.planned.api_latency);
    let stop = match run.go(hooks, cancel).await {
        Ok((outcome, message)) => Stop::new(outcome, message),
        Err(stop) => stop,
    };
    RollingReport {
        plan: run.plan_lines,
        batches: run.batches,
        droplets: run.droplets,
        canary: run.canary,
        watch: Some(run.watch_report),
        ..report(stop, Some(&run.planned), run.steps)
    }
}

/// Check the configuration, find the load balancer, resolve the health gate against it.
async fn prepare(
    client: &Client,
    cfg: &RollingConfig,
    has_rollback: bool,
    steps: &Steps<'_>,
    cancel: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Result<Planned, Stop> {
    cfg.check(has_rollback)
        .map_err(|e| Stop::new(Outcome::ConfigError, e.message))?;
    let asked = Instant::now();
    let lb = tokio::select! {
        biased;
        _ = cancel.as_mut() => return Err(Stop::new(Outcome::Interrupted, "interrupted before anything changed")),
        r = crate::rotation::resolve_lb(steps, client, &cfg.lb) => r?,
    };
    Planned::new(cfg, lb, asked.elapsed())
}

impl Run<'_> {
    async fn go<H: DropletHook, R: DropletHook, C: CanaryCheck>(
        &mut self,
        hooks: (Option<&H>, Option<&R>, Option<&C>),
        cancel: std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Result<(Outcome, String), Stop> {
        let mut cancel = cancel;
        let lb = self.planned.lb.clone();
        let scope = scope_for_lb(&lb.id);
        let unlock = format!("`zdd-do unlock` for load balancer {}", lb.id);
        self.lock = match (&self.cfg.lock, self.cfg.dry_run) {
            (Some(l), false) => {
                let cfg = l.config(scope);
                Some(take_lock(&self.steps, self.client, &cfg, &unlock, &mut cancel).await?)
            }
            _ => None,
        };
        let marker = self.planned.marker.clone();
        let result = tokio::select! {
            biased;
            _ = &mut cancel => Err(Stop::new(
                Outcome::Interrupted,
                format!("interrupted; droplets taken out carry `{marker}`: run the same command again to resume"),
            )),
            r = self.body(lb, hooks) => r,
        };
        if let Some(lock) = self.lock.take() {
            release_lock(&self.steps, lock, &unlock).await;
        }
        result
    }
}
