//! Running blue-green: observe, plan, then hook, health gate, assign, confirm, verify (switch
//! back on failure), tag move. Every step is timed and reported through the event sink.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use do_api::droplets::Droplet;
use do_api::{Client, DropletId};
use serde::Serialize;
use tokio::time::Instant;

use super::config::{BlueGreenConfig, Mode};
use super::plan::{Observation, Plan, TagMove, plan, tag_moves};
use super::report::{AssignTiming, BlueGreenReport, Outcome};
use crate::events::{Event, EventSink, Step};
use crate::health::{HealthFailure, HealthGate};
use crate::hook::{DropletHook, HookTarget};
use crate::lock::{DeployLock, scope_for_ip};
use crate::report::DropletSummary;
use crate::runner::{Steps, check_lock, release_lock, take_lock_during};

mod describe;
mod observe;
mod probe;
mod status;
mod switch;
mod tags;

pub use status::{DropletHealth, StatusReport, StatusState, status};

/// Why a run stopped early: the outcome and its message.
type Stop = crate::Error;

fn api_stop(context: &str, e: &do_api::Error) -> Stop {
    Stop::api(context, e)
}

fn unknown_ip(ip: Ipv4Addr) -> String {
    format!(
        "reserved IP {ip} does not exist in this account (check the reserved IP given and the token's team)"
    )
}

fn lock_lost(why: String) -> Stop {
    Stop::new(
        Outcome::Locked,
        format!("{why}; stopped before switching: nothing was switched"),
    )
}

/// What was observed (and gated) while the lock's claim settled.
struct Early {
    observed: Result<Observation, Stop>,
    /// The standby's gate, when no update command had to run first.
    gated: Option<(DropletId, Result<(), HealthFailure>)>,
}

struct Run<'a> {
    client: &'a Client,
    cfg: &'a BlueGreenConfig,
    mode: Mode,
    steps: Steps<'a>,
    plan: Vec<crate::bluegreen::steps::PlannedStep>,
    live: Option<DropletSummary>,
    standby: Option<DropletSummary>,
    ip: Option<Ipv4Addr>,
    assign: Option<AssignTiming>,
    time_to_new_answer: Option<Duration>,
    lock: Option<DeployLock>,
    /// The health gate (target resolved, policy).
    gate: HealthGate,
}

impl<'a> Run<'a> {
    async fn body<H: DropletHook>(
        &mut self,
        ip: Ipv4Addr,
        hook: Option<&H>,
        early: Option<Early>,
    ) -> Result<(Outcome, String), Stop> {
        let (observed, pre_gated) = match early {
            Some(e) => (Some(e.observed), e.gated),
            None => (None, None),
        };
        let obs = match observed {
            Some(obs) => obs?,
            None => observe::observe(&self.steps, self.client, &self.cfg.roles, ip).await?,
        };
        let p =
            plan(&obs, &self.cfg.roles).map_err(|r| Stop::new(Outcome::Refused, r.to_string()))?;
        self.plan = self.describe_plan(&p, ip, hook.is_some() && self.mode == Mode::Promote);
        match &p {
            Plan::Switch { from, to } => {
                self.live = Some(from.into());
                self.standby = Some(to.into());
            }
            Plan::FinishTags { live, standby, .. } => {
                self.live = Some(live.into());
                self.standby = Some(standby.into());
            }
        }
        if self.cfg.dry_run {
            return Ok((
                Outcome::DryRun,
                format!(
                    "dry run: {} steps planned, nothing changed",
                    self.plan.len()
                ),
            ));
        }
        match p {
            Plan::Switch { from, to } => {
                let gated = pre_gated.filter(|(id, _)| *id == to.id).map(|(_, r)| r);
                self.switch(ip, from, to, hook, gated).await
            }
            Plan::FinishTags {
                live,
                standby,
                moves,
            } => self.resume(ip, live, standby, moves).await,
        }
    }

    async fn switch<H: DropletHook>(
        &mut self,
        ip: Ipv4Addr,
        from: Droplet,
        to: Droplet,
        hook: Option<&H>,
        gated: Option<Result<(), HealthFailure>>,
    ) -> Result<(Outcome, String), Stop> {
        if self.mode == Mode::Promote && self.cfg.health.expect_body.is_some() {
            let url = self.gate.url_for(IpAddr::V4(ip));
            if self.gate.policy.probe(&url).await.is_ok() {
                return Ok((
                    Outcome::AlreadyLive,
                    format!(
                        "{url} already answers with `{}`: the new version is live, nothing to do",
                        self.cfg.health.expect_body.as_deref().unwrap_or_default()
                    ),
                ));
            }
        }
        check_lock(&self.steps, self.lock.as_ref()).map_err(lock_lost)?;
        if let (Mode::Promote, Some(hook)) = (self.mode, hook) {
            let target = HookTarget::new(
                &to,
                self.cfg.version.as_deref(),
                crate::hook::HookPurpose::Update,
            );
            let s = self.steps.start_on(
                Step::Update,
                crate::events::Subject::droplet(to.id),
                format!("droplet {} ({})", to.id, to.name),
            );
            if let Err(e) = hook.run(&target).await {
                self.steps.finish(s, false, e.clone());
                return Err(Stop::new(
                    Outcome::NotReady,
                    format!(
                        "the update command failed for droplet {} ({}): {e}; nothing was switched",
                        to.id, to.name
                    ),
                ));
            }
            self.steps.finish(s, true, "done");
        }
        if self.mode == Mode::Rollback && self.cfg.force {
            self.steps.warn("forced: skipping the health gate".into());
        } else if let Err(f) = match gated {
            // Gated while the lock's claim settled (no update command: nothing to wait for).
            Some(r) => r,
            None => self.gate(&to, &self.gate.clone()).await,
        } {
            return Err(Stop::new(
                Outcome::NotReady,
                format!(
                    "droplet {} ({}) failed the health gate: {f}; nothing was switched",
                    to.id, to.name
                ),
            ));
        }
        check_lock(&self.steps, self.lock.as_ref()).map_err(lock_lost)?;
        let assign_started = Instant::now();
        self.assign(Step::Assign, ip, &from, &to).await?;
        self.live = Some((&to).into());
        self.standby = Some((&from).into());
        let before_verify = assign_started.elapsed();
        match self.verify(ip, &to, &self.gate.clone()).await {
            Ok(first) => self.time_to_new_answer = Some(before_verify + first),
            Err(f) if self.mode == Mode::Rollback && self.cfg.force => {
                self.steps.warn(format!(
                    "forced: verification failed ({f}); keeping traffic on droplet {}",
                    to.id
                ));
            }
            Err(f) => return Err(self.switch_back(ip, &to, &from, &f).await),
        }
        self.move_tags(&tag_moves(&to, &from, &self.cfg.roles))
            .await?;
        let verb = if self.mode == Mode::Promote {
            "promoted"
        } else {
            "rolled back to"
        };
        Ok((
            Outcome::Switched,
            format!(
                "{verb} droplet {} ({}); {ip} verified; previous droplet {} ({}) is the standby",
                to.id, to.name, from.id, from.name
            ),
        ))
    }

    async fn resume(
        &mut self,
        ip: Ipv4Addr,
        live: Droplet,
        standby: Droplet,
        moves: Vec<TagMove>,
    ) -> Result<(Outcome, String), Stop> {
        self.steps.sink.emit(Event::Note {
            message: format!(
                "resuming: {ip} already points at droplet {} ({}), the tags have not caught up",
                live.id, live.name
            ),
        });
        if let Err(f) = self.verify(ip, &live, &self.gate.clone()).await {
            // The previous run switched but never verified, or the droplet broke since.
            let fallback = self.fallback_check();
            if self.gate(&standby, &fallback).await.is_err() {
                return Err(Stop::new(
                    Outcome::Uncertain,
                    format!(
                        "{ip} points at droplet {} which fails verification ({f}), and droplet {} is not healthy either: needs a human",
                        live.id, standby.id
                    ),
                ));
            }
            return Err(self.switch_back(ip, &live, &standby, &f).await);
        }
        self.move_tags(&moves).await?;
        Ok((
            Outcome::Resumed,
            format!(
                "finished an interrupted switch: droplet {} ({}) is live on {ip}, droplet {} ({}) is the standby",
                live.id, live.name, standby.id, standby.name
            ),
        ))
    }
}

/// Run promote or rollback. Never panics on API trouble: every ending is an [`Outcome`] in the
/// report. `cancel` resolving (Ctrl-C) stops the run at the next await point and still releases
/// the lock; an interrupted switch is finished by running the command again.
pub async fn run<H: DropletHook>(
    client: &Client,
    cfg: &BlueGreenConfig,
    mode: Mode,
    hook: Option<&H>,
    sink: &dyn EventSink,
    cancel: impl Future<Output = ()>,
) -> BlueGreenReport {
    let started = Instant::now();
    let calls_before = client.requests_sent();
    let mut run = Run {
        client,
        cfg,
        mode,
        steps: Steps::new(sink),
        plan: Vec::new(),
        live: None,
        standby: None,
        ip: cfg.reserved_ip,
        assign: None,
        time_to_new_answer: None,
        lock: None,
        gate: cfg.gate(),
    };
    let (outcome, message, api_cause) = match run.go(hook, cancel).await {
        Ok((outcome, message)) => (outcome, message, None),
        Err(e) => (e.outcome, e.message, e.api_cause),
    };
    BlueGreenReport {
        mode,
        outcome,
        message,
        api_cause,
        reserved_ip: run.ip,
        live: run.live,
        standby: run.standby,
        plan: run.plan,
        steps: run.steps.into_timings(),
        assign: run.assign,
        time_to_new_answer: run.time_to_new_answer,
        api_calls: client.requests_sent() - calls_before,
        total: started.elapsed(),
    }
}

impl Run<'_> {
    async fn go<H: DropletHook>(
        &mut self,
        hook: Option<&H>,
        cancel: impl Future<Output = ()>,
    ) -> Result<(Outcome, String), Stop> {
        self.cfg
            .health
            .validate()
            .map_err(|m| Stop::new(Outcome::ConfigError, m))?;
        let h = &self.cfg.health;
        if h.interval.saturating_mul(h.successes.saturating_sub(1)) >= self.cfg.verify_deadline {
            return Err(Stop::new(
                Outcome::ConfigError,
                format!(
                    "verify deadline {:?} cannot fit {} passing probes {:?} apart",
                    self.cfg.verify_deadline, h.successes, h.interval
                ),
            ));
        }
        let mut cancel = std::pin::pin!(cancel);
        let ip = tokio::select! {
            biased;
            _ = &mut cancel => return Err(Stop::new(Outcome::Interrupted, "interrupted before anything changed")),
            r = observe::resolve_ip(&self.steps, self.client, self.cfg) => r?,
        };
        self.ip = Some(ip);
        let unlock = format!("`zdd-do unlock` for reserved IP {ip}");
        // The observation runs while the lock's claim settles, and so does the standby's gate
        // when no update command comes first: read-only work that then costs no time of its
        // own. It holds when the claim wins at once (otherwise it is done again).
        let mut observed = None;
        let gate_early = hook.is_none() && !(self.mode == Mode::Rollback && self.cfg.force);
        self.lock = match (&self.cfg.lock, self.cfg.dry_run) {
            (Some(l), false) => {
                let cfg = l.config(scope_for_ip(ip));
                let this = &*self;
                let observing = async move {
                    let observed =
                        observe::observe(&this.steps, this.client, &this.cfg.roles, ip).await;
                    let gated = match (&observed, gate_early) {
                        (Ok(o), true) => match plan(o, &this.cfg.roles) {
                            Ok(Plan::Switch { to, .. }) => {
                                Some((to.id, this.gate(&to, &this.gate).await))
                            }
                            _ => None,
                        },
                        _ => None,
                    };
                    Early { observed, gated }
                };
                let (lock, obs) = take_lock_during(
                    &self.steps,
                    self.client,
                    &cfg,
                    &unlock,
                    &mut cancel,
                    Some(observing),
                )
                .await?;
                observed = obs;
                Some(lock)
            }
            _ => None,
        };
        let result = tokio::select! {
                    biased;
                    _ = &mut cancel => Err(Stop::new(
        Outcome::Interrupted,
                        format!("interrupted; run the same command again to finish or undo (see `zdd-do status` for reserved IP {ip})"),
                    )),
                    r = self.body(ip, hook, observed) => r,
                };
        if let Some(lock) = self.lock.take() {
            release_lock(&self.steps, lock, &unlock).await;
        }
        result
    }
}
