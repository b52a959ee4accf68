//! Running blue-green: observe, plan, then hook, health gate, and the switch: through the
//! reserved IP (assign, confirm, verify, switch back on failure), or through a load balancer
//! (the standbys join, are seen serving, the live droplets leave and are seen gone, their
//! in-flight allowance); then the tag move. Every step is timed and reported through the event
//! sink.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use do_api::droplets::Droplet;
use do_api::{Client, DropletId};
use serde::Serialize;
use tokio::time::Instant;

use super::config::{BlueGreenConfig, Mode};
use super::lb_plan::{self, LbObservation, LbPlan};
use super::plan::{Observation, Plan, TagMove, plan, tag_moves};
use super::report::{AssignTiming, BlueGreenReport, Outcome};
use crate::events::{Event, EventSink, Step};
use crate::health::{HealthFailure, HealthGate};
use crate::hook::{DropletHook, HookTarget};
use crate::lock::{DeployLock, scope_for_ip, scope_for_lb};
use crate::report::DropletSummary;
use crate::rolling::Wait;
use crate::runner::{Steps, check_lock, release_lock, take_lock_during};

mod describe;
mod lb_describe;
mod lb_observe;
mod lb_status;
mod lb_switch;
mod observe;
mod pre_switch;
mod probe;
mod status;
mod switch;
mod tags;

pub use lb_status::{LbStatusReport, status_lb};
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

/// What observation found: around the reserved IP, or around the load balancer.
enum Observed {
    Ip(Observation),
    Lb(LbObservation),
}

/// What was observed (and gated) while the lock's claim settled.
struct Early {
    observed: Result<Observed, Stop>,
    /// The standbys' gate, when no update command had to run first: their ids, and the first
    /// failure ([`Run::gate_all`]).
    gated: Option<(Vec<DropletId>, Result<(), String>)>,
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
    /// Through a load balancer: it, and how droplets are seen joining and leaving it.
    through: Option<lb_observe::Through>,
    /// Through a load balancer: every live droplet, and every standby.
    live_group: Vec<DropletSummary>,
    standby_group: Vec<DropletSummary>,
    /// Through a load balancer: the waits applied.
    waits: Vec<Wait>,
}

impl<'a> Run<'a> {
    /// Which droplets are live and which standby, for the report: `live` and `standby` when
    /// each is one droplet; the groups through a load balancer.
    fn set_roles(&mut self, live: &[Droplet], standby: &[Droplet]) {
        let one = |ds: &[Droplet]| match ds {
            [d] => Some(d.into()),
            _ => None,
        };
        self.live = one(live);
        self.standby = one(standby);
        if self.through.is_some() {
            self.live_group = live.iter().map(Into::into).collect();
            self.standby_group = standby.iter().map(Into::into).collect();
        }
    }

    /// Observe around the reserved IP, or the load balancer.
    async fn observe(&self) -> Result<Observed, Stop> {
        match &self.through {
            Some(t) => lb_observe::observe(&self.steps, self.client, &self.cfg.roles, &t.lb)
                .await
                .map(Observed::Lb),
            None => {
                let ip = self.ip.expect("resolved before observing");
                observe::observe(&self.steps, self.client, &self.cfg.roles, ip)
                    .await
                    .map(Observed::Ip)
            }
        }
    }

    /// The standbys a fresh state switches to: gated early, while the lock's claim settles.
    fn switching_to(&self, o: &Observed) -> Option<Vec<Droplet>> {
        match o {
            Observed::Ip(o) => match plan(o, &self.cfg.roles) {
                Ok(Plan::Switch { to, .. }) => Some(vec![to]),
                _ => None,
            },
            Observed::Lb(o) => match lb_plan::plan(o, &self.cfg.roles) {
                Ok(LbPlan::Switch { to, .. }) => Some(to),
                _ => None,
            },
        }
    }

    async fn body<H: DropletHook>(
        &mut self,
        hook: Option<&H>,
        early: Option<Early>,
    ) -> Result<(Outcome, String), Stop> {
        let (observed, pre_gated) = match early {
            Some(e) => (Some(e.observed), e.gated),
            None => (None, None),
        };
        let obs = match observed {
            Some(obs) => obs?,
            None => self.observe().await?,
        };
        match obs {
            Observed::Ip(obs) => self.body_ip(obs, hook, pre_gated).await,
            Observed::Lb(obs) => self.body_lb(obs, hook, pre_gated).await,
        }
    }

    async fn body_ip<H: DropletHook>(
        &mut self,
        obs: Observation,
        hook: Option<&H>,
        pre_gated: Option<(Vec<DropletId>, Result<(), String>)>,
    ) -> Result<(Outcome, String), Stop> {
        let ip = obs.ip;
        let p =
            plan(&obs, &self.cfg.roles).map_err(|r| Stop::new(Outcome::Refused, r.to_string()))?;
        self.plan = self.describe_plan(&p, ip, hook.is_some() && self.mode == Mode::Promote);
        match &p {
            Plan::Switch { from, to } => {
                self.set_roles(std::slice::from_ref(from), std::slice::from_ref(to))
            }
            Plan::FinishTags { live, standby, .. } => {
                self.set_roles(std::slice::from_ref(live), std::slice::from_ref(standby))
            }
        }
        if self.cfg.dry_run {
            return Ok(self.dry_run());
        }
        match p {
            Plan::Switch { from, to } => {
                let gated = pre_gated.filter(|(ids, _)| *ids == [to.id]).map(|(_, r)| r);
                self.switch(ip, from, to, hook, gated).await
            }
            Plan::FinishTags {
                live,
                standby,
                moves,
            } => self.resume(ip, live, standby, moves).await,
        }
    }

    /// `promoted` or `rolled back to`, for the message of a switch.
    fn verb(&self) -> &'static str {
        match self.mode {
            Mode::Promote => "promoted",
            Mode::Rollback => "rolled back to",
        }
    }

    fn dry_run(&self) -> (Outcome, String) {
        (
            Outcome::DryRun,
            format!(
                "dry run: {} steps planned, nothing changed",
                self.plan.len()
            ),
        )
    }

    /// The update command for `to`, as a timed step; `Err` stops the run: nothing was switched.
    async fn update<H: DropletHook>(&self, to: &Droplet, hook: &H) -> Result<(), Stop> {
        let target = HookTarget::new(
            to,
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
        Ok(())
    }

    async fn switch<H: DropletHook>(
        &mut self,
        ip: Ipv4Addr,
        from: Droplet,
        to: Droplet,
        hook: Option<&H>,
        gated: Option<Result<(), String>>,
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
            self.update(&to, hook).await?;
        }
        if self.mode == Mode::Rollback && self.cfg.force {
            self.steps.warn("forced: skipping the health gate".into());
        } else if let Err(f) = match gated {
            // Gated while the lock's claim settled (no update command: nothing to wait for).
            Some(r) => r,
            None => {
                self.gate_all(std::slice::from_ref(&to), &self.gate.clone())
                    .await
            }
        } {
            return Err(Stop::new(
                Outcome::NotReady,
                format!("{f}; nothing was switched"),
            ));
        }
        if let Some(ps) = &self.cfg.pre_switch {
            pre_switch::pre_switch(&self.steps, &self.gate, ps, ip, &from).await?;
        }
        check_lock(&self.steps, self.lock.as_ref()).map_err(lock_lost)?;
        let assign_started = Instant::now();
        self.assign(Step::Assign, ip, &from, &to).await?;
        self.set_roles(std::slice::from_ref(&to), std::slice::from_ref(&from));
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
        Ok((
            Outcome::Switched,
            format!(
                "{} droplet {} ({}); {ip} verified; previous droplet {} ({}) is the standby",
                self.verb(),
                to.id,
                to.name,
                from.id,
                from.name
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
        through: None,
        live_group: Vec::new(),
        standby_group: Vec::new(),
        waits: Vec::new(),
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
        load_balancer: run.through.as_ref().map(|t| t.summary(&run.gate)),
        live: run.live,
        standby: run.standby,
        live_droplets: run.live_group,
        standby_droplets: run.standby_group,
        watch: run.through.and_then(|t| t.watch_report),
        waits: run.waits,
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
            .check()
            .map_err(|e| Stop::new(Outcome::ConfigError, e.message))?;
        let mut cancel = std::pin::pin!(cancel);
        let target = tokio::select! {
            biased;
            _ = &mut cancel => return Err(Stop::new(Outcome::Interrupted, "interrupted before anything changed")),
            r = self.resolve_target() => r?,
        };
        let unlock = format!("`zdd-do unlock` for {}", target.unlock);
        // The observation runs while the lock's claim settles, and so does the standbys' gate
        // when no update command comes first: read-only work that then costs no time of its
        // own. It holds when the claim wins at once (otherwise it is done again).
        let mut observed = None;
        let gate_early = hook.is_none() && !(self.mode == Mode::Rollback && self.cfg.force);
        self.lock = match (&self.cfg.lock, self.cfg.dry_run) {
            (Some(l), false) => {
                let cfg = l.config(target.scope.clone());
                let this = &*self;
                let observing = async move {
                    let observed = this.observe().await;
                    let gated = match (&observed, gate_early) {
                        (Ok(o), true) => match this.switching_to(o) {
                            Some(to) => Some((
                                to.iter().map(|d| d.id).collect(),
                                this.gate_all(&to, &this.gate).await,
                            )),
                            None => None,
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
                format!("interrupted; run the same command again to finish or undo (see `zdd-do status` for {})", target.status),
            )),
            r = self.body(hook, observed) => r,
        };
        if let Some(lock) = self.lock.take() {
            release_lock(&self.steps, lock, &unlock).await;
        }
        result
    }

    /// Find what traffic goes through: the reserved IP, or the load balancer (whose health
    /// check the gate's unset parts come from).
    async fn resolve_target(&mut self) -> Result<Target, Stop> {
        if let Some(settings) = &self.cfg.load_balancer {
            let lb = crate::rotation::resolve_lb(&self.steps, self.client, &settings.lb).await?;
            let (through, gate) =
                lb_observe::Through::new(&self.cfg.target, &self.cfg.health, settings, lb)?;
            let t = Target {
                scope: scope_for_lb(&through.lb.id),
                unlock: format!("load balancer {}", through.lb.id),
                status: format!("load balancer {}", through.lb.name),
            };
            self.gate = gate;
            self.through = Some(through);
            return Ok(t);
        }
        let ip = observe::resolve_ip(&self.steps, self.client, self.cfg).await?;
        self.ip = Some(ip);
        Ok(Target {
            scope: scope_for_ip(ip),
            unlock: format!("reserved IP {ip}"),
            status: format!("reserved IP {ip}"),
        })
    }
}

/// What traffic goes through, as the lock and messages name it.
struct Target {
    /// The lock's scope.
    scope: String,
    /// What `zdd-do unlock` is given.
    unlock: String,
    /// What `zdd-do status` is asked about.
    status: String,
}
