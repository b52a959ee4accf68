//! Running blue-green: observe, plan, then hook, health gate, assign, confirm, verify (switch
//! back on failure), tag move. Every step is timed and reported through the event sink.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use do_api::droplets::Droplet;
use do_api::{Client, DropletId, WaitOptions};
use serde::Serialize;
use tokio::time::Instant;

use super::plan::{Observation, Plan, Roles, TagMove, plan, tag_moves};
use crate::events::{Event, EventSink, Step};
use crate::health::{AddressKind, HealthFailure, HealthPolicy};
use crate::hook::{DropletHook, HookTarget};
use crate::lock::{DeployLock, LockSettings, scope_for_ip};
use crate::report::{DropletSummary, StepTiming, opt_secs, secs};
use crate::runner::{LockStop, Steps, check_lock, release_lock, take_lock};

/// Promote (the standby gets the new version and the traffic) or roll back (traffic goes back
/// to the standby, which holds the previous version). The protocol is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `zdd-do promote`.
    Promote,
    /// `zdd-do rollback`.
    Rollback,
}

/// Everything a blue-green run needs to know.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlueGreenConfig {
    /// The live and standby tags.
    pub roles: Roles,
    /// The reserved IP; found from the tagged droplets when `None`.
    pub reserved_ip: Option<Ipv4Addr>,
    /// The health check for the gate (on the droplet) and the verification (through the IP).
    pub health: HealthPolicy,
    /// How long to wait for the assign action.
    #[serde(skip)]
    pub assign_wait: WaitOptions,
    /// Verification through the reserved IP after a switch has its own short budget, and fails
    /// at the first answer with a failing status: traffic is already on the new droplet, so
    /// every second spent on a broken release is served to users.
    #[serde(with = "crate::report::secs")]
    pub verify_deadline: Duration,
    /// The version being deployed, passed to the update hook.
    pub version: Option<String>,
    /// Print the plan, change nothing.
    pub dry_run: bool,
    /// Rollback only: skip the health gate, and do not switch back when verification fails.
    pub force: bool,
    /// The deploy lock; `None` runs without one.
    pub lock: Option<LockSettings>,
}

impl Default for BlueGreenConfig {
    fn default() -> Self {
        BlueGreenConfig {
            roles: Roles::default(),
            reserved_ip: None,
            health: HealthPolicy::default(),
            assign_wait: WaitOptions::with_timeout(Duration::from_secs(120)),
            verify_deadline: Duration::from_secs(10),
            version: None,
            dry_run: false,
            force: false,
            lock: Some(LockSettings::default()),
        }
    }
}

/// How a run ended. The CLI maps each to a documented exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Traffic moved to the standby, verified, tags swapped.
    Switched,
    /// An interrupted run was finished (tags moved to match the IP).
    Resumed,
    /// The new version already answers through the reserved IP: nothing to do.
    AlreadyLive,
    /// The plan was printed; nothing changed.
    DryRun,
    /// The state was not as expected; nothing changed.
    Refused,
    /// The update command or the health gate failed before the switch; nothing changed.
    NotReady,
    /// Switched, verification failed, traffic sent back to the previous droplet.
    SwitchedBack,
    /// A switch back (or an assign) failed: where traffic goes is uncertain. Needs a human.
    Uncertain,
    /// Another run holds the deploy lock; nothing changed.
    Locked,
    /// A configuration value is unusable; nothing changed.
    ConfigError,
    /// The DigitalOcean API failed (or refused the token).
    ApiError,
    /// Interrupted (Ctrl-C, SIGTERM) before the end.
    Interrupted,
}

impl Outcome {
    /// Whether the run reached what was asked for.
    pub fn is_success(self) -> bool {
        matches!(
            self,
            Outcome::Switched | Outcome::Resumed | Outcome::AlreadyLive | Outcome::DryRun
        )
    }
}

/// The assign action's timing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssignTiming {
    /// The action id.
    pub action_id: u64,
    /// From sending the assign to seeing the action completed.
    #[serde(with = "secs")]
    pub observed: Duration,
    /// `completed_at - started_at` as DigitalOcean reports it.
    #[serde(with = "opt_secs")]
    pub api_reported: Option<Duration>,
}

/// What a blue-green run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlueGreenReport {
    /// `promote` or `rollback`.
    pub mode: Mode,
    /// How it ended.
    pub outcome: Outcome,
    /// One line for humans.
    pub message: String,
    /// The reserved IP.
    pub reserved_ip: Option<Ipv4Addr>,
    /// The droplet holding the IP at the end (the live one).
    pub live: Option<DropletSummary>,
    /// The other droplet (the standby).
    pub standby: Option<DropletSummary>,
    /// The planned steps, in order.
    pub plan: Vec<String>,
    /// The steps run, with durations.
    pub steps: Vec<StepTiming>,
    /// The assign action's timing (the last one, after a switch back).
    pub assign: Option<AssignTiming>,
    /// From sending the assign to the first answer through the IP that passed the check.
    #[serde(with = "opt_secs")]
    pub time_to_new_answer: Option<Duration>,
    /// HTTP requests sent to the DigitalOcean API.
    pub api_calls: u64,
    /// Wall time.
    #[serde(with = "secs")]
    pub total: Duration,
}

/// Why a run stopped early: the outcome and its message.
struct Stop(Outcome, String);

fn api_stop(context: &str, e: &do_api::Error) -> Stop {
    Stop(Outcome::ApiError, format!("{context}: {}", e.chain()))
}

fn unknown_ip(ip: Ipv4Addr) -> String {
    format!(
        "reserved IP {ip} does not exist in this account (check --reserved-ip and the token's team)"
    )
}

fn lock_lost(why: String) -> Stop {
    Stop(
        Outcome::Locked,
        format!("{why}; stopped before switching: nothing was switched"),
    )
}

struct Run<'a> {
    client: &'a Client,
    cfg: &'a BlueGreenConfig,
    mode: Mode,
    steps: Steps<'a>,
    plan: Vec<String>,
    live: Option<DropletSummary>,
    standby: Option<DropletSummary>,
    ip: Option<Ipv4Addr>,
    assign: Option<AssignTiming>,
    time_to_new_answer: Option<Duration>,
    lock: Option<DeployLock>,
}

impl<'a> Run<'a> {
    /// Find the reserved IP: the one given, or the one IP held by a droplet with either tag.
    async fn resolve_ip(&mut self) -> Result<Ipv4Addr, Stop> {
        if let Some(ip) = self.cfg.reserved_ip {
            // Not read before the lock: that read would be a 16th API call on every promote,
            // for the benefit of a typo, which the observation after the lock refuses anyway
            // (the lock tag is removed again; nothing else is touched).
            return Ok(ip);
        }
        let s = self
            .steps
            .start(Step::Observe, "find the reserved IP of the tagged droplets");
        let roles = &self.cfg.roles;
        let result = async {
            let mut ids = Vec::new();
            for tag in [&roles.live_tag, &roles.standby_tag] {
                ids.extend(
                    self.client
                        .droplets()
                        .list_by_tag(tag)
                        .await?
                        .into_iter()
                        .map(|d| d.id),
                );
            }
            let ips = self.client.reserved_ips().list().await?;
            Ok::<_, do_api::Error>(
                ips.into_iter()
                    .filter(|r| r.droplet_id().is_some_and(|id| ids.contains(&id)))
                    .map(|r| r.ip)
                    .collect::<Vec<Ipv4Addr>>(),
            )
        }
        .await;
        match result {
            Ok(ips) if ips.len() == 1 => {
                self.steps
                    .finish(s, true, format!("reserved IP {}", ips[0]));
                Ok(ips[0])
            }
            Ok(ips) => {
                let msg = if ips.is_empty() {
                    format!(
                        "no reserved IP is assigned to a droplet tagged `{}` or `{}`; pass --reserved-ip",
                        roles.live_tag, roles.standby_tag
                    )
                } else {
                    let list: Vec<String> = ips.iter().map(|i| i.to_string()).collect();
                    format!(
                        "several reserved IPs ({}) are on the tagged droplets; pass --reserved-ip",
                        list.join(", ")
                    )
                };
                self.steps.finish(s, false, msg.clone());
                Err(Stop(Outcome::Refused, msg))
            }
            Err(e) => {
                self.steps.finish(s, false, e.chain());
                Err(api_stop("finding the reserved IP", &e))
            }
        }
    }

    async fn observe(&mut self, ip: Ipv4Addr) -> Result<Observation, Stop> {
        let roles = &self.cfg.roles;
        let s = self.steps.start(
            Step::Observe,
            format!(
                "droplets tagged `{}` and `{}`, reserved IP {ip}",
                roles.live_tag, roles.standby_tag
            ),
        );
        let result = async {
            let live_tagged = self.client.droplets().list_by_tag(&roles.live_tag).await?;
            let standby_tagged = self
                .client
                .droplets()
                .list_by_tag(&roles.standby_tag)
                .await?;
            let rip = self.client.reserved_ips().get(ip).await?;
            Ok::<_, do_api::Error>(Observation {
                ip,
                ip_region: rip.region.as_ref().and_then(|r| r.slug.clone()),
                ip_droplet: rip.droplet.clone(),
                live_tagged,
                standby_tagged,
            })
        }
        .await;
        match result {
            Ok(obs) => {
                let holder = obs
                    .ip_droplet
                    .as_ref()
                    .map(|d| d.id.to_string())
                    .unwrap_or_else(|| "nobody".into());
                self.steps
                    .finish(s, true, format!("reserved IP {ip} on droplet {holder}"));
                Ok(obs)
            }
            Err(e) if e.is_not_found() => {
                let msg = unknown_ip(ip);
                self.steps.finish(s, false, msg.clone());
                Err(Stop(Outcome::Refused, msg))
            }
            Err(e) => {
                self.steps.finish(s, false, e.chain());
                Err(api_stop("observing", &e))
            }
        }
    }

    fn direct_ip(&self, d: &Droplet) -> Result<IpAddr, Stop> {
        let ip = match self.cfg.health.address {
            AddressKind::Public => d.public_ipv4(),
            AddressKind::Private => d.private_ipv4(),
        };
        ip.map(IpAddr::V4).ok_or_else(|| {
            Stop(
                Outcome::Refused,
                format!(
                    "droplet {} ({}) has no {} IPv4 address to health-check",
                    d.id,
                    d.name,
                    match self.cfg.health.address {
                        AddressKind::Public => "public",
                        AddressKind::Private => "private",
                    }
                ),
            )
        })
    }

    /// The check for the droplet traffic falls back to: the previous version, so the expected
    /// body (the new version's text) does not apply.
    fn fallback_check(&self) -> HealthPolicy {
        HealthPolicy {
            expect_body: None,
            ..self.cfg.health.clone()
        }
    }

    /// Health-check a droplet directly.
    async fn gate(&mut self, d: &Droplet, check: &HealthPolicy) -> Result<(), HealthFailure> {
        let ip = match self.direct_ip(d) {
            Ok(ip) => ip,
            Err(Stop(_, msg)) => {
                return Err(HealthFailure {
                    url: format!("droplet {}", d.id),
                    attempts: 0,
                    last: crate::health::ProbeFailure::Other { detail: msg },
                    duration: Duration::ZERO,
                });
            }
        };
        let s = self.steps.start(
            Step::HealthGate,
            format!("{} ({}) at {}", d.id, d.name, check.url_for(ip)),
        );
        match check.wait_healthy(ip, self.steps.sink).await {
            Ok(r) => {
                self.steps.finish(
                    s,
                    true,
                    format!(
                        "{} passing probes in a row after {} attempts",
                        check.successes, r.attempts
                    ),
                );
                Ok(())
            }
            Err(f) => {
                self.steps.finish(s, false, f.to_string());
                Err(f)
            }
        }
    }

    /// Health-check through the reserved IP; on success, returns the time to the first pass.
    async fn verify(
        &mut self,
        ip: Ipv4Addr,
        who: &Droplet,
        check: &HealthPolicy,
    ) -> Result<Duration, HealthFailure> {
        let url = check.url_for(IpAddr::V4(ip));
        let s = self.steps.start(
            Step::Verify,
            format!("droplet {} ({}) through {url}", who.id, who.name),
        );
        match check
            .wait_url_within(&url, self.steps.sink, self.cfg.verify_deadline, true)
            .await
        {
            Ok(r) => {
                self.steps.finish(
                    s,
                    true,
                    format!("answering through {ip} after {} attempts", r.attempts),
                );
                Ok(r.first_success_after)
            }
            Err(f) => {
                self.steps.finish(s, false, f.to_string());
                Err(f)
            }
        }
    }

    async fn ip_holder(&self, ip: Ipv4Addr) -> Result<Option<DropletId>, do_api::Error> {
        Ok(self.client.reserved_ips().get(ip).await?.droplet_id())
    }

    /// Assign `ip` to `to` and wait; confirm through the API that it points there.
    /// `Err(Stop)` says how it failed, including where the IP is now.
    async fn assign(
        &mut self,
        step: Step,
        ip: Ipv4Addr,
        from: &Droplet,
        to: &Droplet,
    ) -> Result<(), Stop> {
        let s = self.steps.start(
            step,
            format!(
                "reserved IP {ip}: droplet {} ({}) -> {} ({})",
                from.id, from.name, to.id, to.name
            ),
        );
        let sent = Instant::now();
        let sink = self.steps.sink;
        let result = async {
            let action = self.client.reserved_ips().assign(ip, to.id).await?;
            self.client
                .actions()
                .wait_with(action.id, &self.cfg.assign_wait, |a| {
                    sink.emit(Event::ActionProgress {
                        action_id: a.id.0,
                        status: a.status.to_string(),
                    })
                })
                .await
        }
        .await;
        match result {
            Ok(action) => {
                self.assign = Some(AssignTiming {
                    action_id: action.id.0,
                    observed: sent.elapsed(),
                    api_reported: action.duration(),
                });
                self.steps
                    .finish(s, true, format!("action {} completed", action.id));
            }
            Err(e) => {
                // Where is the IP now, once DigitalOcean has finished what it was doing with
                // it? That decides whether anything changed. An error proves little: a lost
                // answer to an assign that was carried out, retried into a 422 "locked by
                // another action", looks like a refusal while the IP is moving.
                let msg = e.chain();
                self.steps.finish(s, false, msg.clone());
                return match self.settle_ip(ip).await {
                    Ok(Some(id)) if id == to.id => {
                        self.steps.warn(format!("assign reported `{msg}`, but the IP now points at droplet {id}; continuing"));
                        self.confirm(ip, to).await
                    }
                    Ok(Some(id)) if id == from.id => Err(Stop(
                        Outcome::ApiError,
                        format!(
                            "assigning {ip} to droplet {} failed ({msg}); no action is running on the IP and it still points at droplet {id}: nothing changed",
                            to.id
                        ),
                    )),
                    Ok(holder) => Err(Stop(
                        Outcome::Uncertain,
                        format!(
                            "assigning {ip} to droplet {} failed ({msg}); the IP now points at {}. Check with `zdd-do status`",
                            to.id,
                            holder
                                .map(|h| format!("droplet {h}"))
                                .unwrap_or_else(|| "no droplet".into())
                        ),
                    )),
                    Err(why) => Err(Stop(
                        Outcome::Uncertain,
                        format!(
                            "assigning {ip} to droplet {} failed ({msg}), and where it ends up is unknown: {why}. Check with `zdd-do status`",
                            to.id
                        ),
                    )),
                };
            }
        }
        self.confirm(ip, to).await
    }

    /// After a failed assign: wait (within the assign timeout) for every action DigitalOcean
    /// still runs on `ip`, then read where it points. `Err` says why that is unknown.
    async fn settle_ip(&mut self, ip: Ipv4Addr) -> Result<Option<DropletId>, String> {
        let running: Vec<do_api::actions::Action> = self
            .client
            .reserved_ips()
            .list_actions(ip)
            .await
            .map_err(|e| format!("listing the IP's actions failed ({})", e.chain()))?
            .into_iter()
            .filter(|a| !a.is_completed() && !a.is_errored())
            .collect();
        for a in running {
            self.steps.note(format!(
                "action {} ({}) is still running on {ip}; waiting for it",
                a.id, a.kind
            ));
            let sink = self.steps.sink;
            match self
                .client
                .actions()
                .wait_with(a.id, &self.cfg.assign_wait, |a| {
                    sink.emit(Event::ActionProgress {
                        action_id: a.id.0,
                        status: a.status.to_string(),
                    })
                })
                .await
            {
                Ok(_) => {}
                Err(e) if e.is_timeout() => {
                    return Err(format!("action {} is still running ({})", a.id, e.chain()));
                }
                // Errored: it ended; where the IP points says the rest.
                Err(do_api::Error::ActionErrored { .. }) => {}
                Err(e) => {
                    return Err(format!(
                        "waiting for action {} failed ({})",
                        a.id,
                        e.chain()
                    ));
                }
            }
        }
        self.ip_holder(ip)
            .await
            .map_err(|e| format!("reading where it points failed ({})", e.chain()))
    }

    async fn confirm(&mut self, ip: Ipv4Addr, to: &Droplet) -> Result<(), Stop> {
        let s = self.steps.start(
            Step::Confirm,
            format!("reserved IP {ip} points at droplet {}", to.id),
        );
        match self.ip_holder(ip).await {
            Ok(Some(id)) if id == to.id => {
                self.steps.finish(s, true, format!("{ip} -> droplet {id}"));
                Ok(())
            }
            Ok(other) => {
                let msg = format!(
                    "the assign action completed but {ip} points at {}",
                    other
                        .map(|h| format!("droplet {h}"))
                        .unwrap_or_else(|| "no droplet".into())
                );
                self.steps.finish(s, false, msg.clone());
                Err(Stop(Outcome::Uncertain, msg))
            }
            Err(e) => {
                self.steps.finish(s, false, e.chain());
                Err(Stop(
                    Outcome::Uncertain,
                    format!("could not confirm where {ip} points: {}", e.chain()),
                ))
            }
        }
    }

    /// Keep the report's droplet summaries true to the tags after a move that went through.
    fn note_tag_move(&mut self, m: &TagMove) {
        for d in [self.live.as_mut(), self.standby.as_mut()]
            .into_iter()
            .flatten()
        {
            if d.id == m.droplet {
                d.tags.retain(|t| t != &m.tag);
                if m.add {
                    d.tags.push(m.tag.clone());
                }
            }
        }
    }

    async fn move_tags(&mut self, moves: &[TagMove]) -> Result<(), Stop> {
        if moves.is_empty() {
            return Ok(());
        }
        let s = self.steps.start(
            Step::TagMove,
            moves
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        );
        for m in moves {
            let r = if m.add {
                self.client.tags().tag_droplets(&m.tag, &[m.droplet]).await
            } else {
                self.client
                    .tags()
                    .untag_droplets(&m.tag, &[m.droplet])
                    .await
            };
            if let Err(e) = r {
                self.steps.finish(s, false, format!("{m}: {}", e.chain()));
                return Err(Stop(
                    Outcome::ApiError,
                    format!(
                        "traffic is on the verified droplet, but moving the tags failed at `{m}` ({}); run the same command again to finish",
                        e.chain()
                    ),
                ));
            }
            self.note_tag_move(m);
        }
        self.steps
            .finish(s, true, format!("{} tag changes", moves.len()));
        Ok(())
    }

    /// Traffic is on `bad` (unverified); send it back to `good` and put the tags right.
    async fn switch_back(
        &mut self,
        ip: Ipv4Addr,
        bad: &Droplet,
        good: &Droplet,
        why: &HealthFailure,
    ) -> Stop {
        self.steps.warn(format!(
            "verification through {ip} failed ({why}); switching back to droplet {} ({})",
            good.id, good.name
        ));
        if let Err(Stop(_, msg)) = self.assign(Step::SwitchBack, ip, bad, good).await {
            return Stop(
                Outcome::Uncertain,
                format!(
                    "verification failed ({why}) and switching back failed: {msg}. Traffic may be on an unhealthy droplet: needs a human"
                ),
            );
        }
        let fallback = self.fallback_check();
        if let Err(f) = self.verify(ip, good, &fallback).await {
            self.steps.warn(format!(
                "after switching back, {ip} does not pass the health check either: {f}"
            ));
        }
        let moves = tag_moves(good, bad, &self.cfg.roles);
        if let Err(Stop(_, msg)) = self.move_tags(&moves).await {
            self.steps.warn(msg);
        }
        self.live = Some(good.into());
        self.standby = Some(bad.into());
        Stop(
            Outcome::SwitchedBack,
            format!(
                "droplet {} ({}) failed verification through {ip} ({why}); traffic is back on droplet {} ({})",
                bad.id, bad.name, good.id, good.name
            ),
        )
    }

    fn describe_plan(&self, p: &Plan, ip: Ipv4Addr, update: bool) -> Vec<String> {
        let h = &self.cfg.health;
        let mut out = Vec::new();
        match p {
            Plan::Switch { from, to } => {
                if update {
                    out.push(format!(
                        "run the update command for droplet {} ({})",
                        to.id, to.name
                    ));
                }
                if !(self.mode == Mode::Rollback && self.cfg.force) {
                    let url = self
                        .direct_ip(to)
                        .map(|ip| h.url_for(ip))
                        .unwrap_or_else(|Stop(_, m)| m);
                    out.push(format!(
                        "health-gate droplet {} at {url} ({} passing in a row within {}s)",
                        to.id,
                        h.successes,
                        h.deadline.as_secs()
                    ));
                }
                out.push(format!(
                    "assign {ip} to droplet {} ({}), from droplet {} ({}), and wait for the action",
                    to.id, to.name, from.id, from.name
                ));
                out.push(format!(
                    "confirm through the API that {ip} points at droplet {}",
                    to.id
                ));
                out.push(format!(
                    "verify through {}; on failure, assign {ip} back to droplet {}",
                    h.url_for(IpAddr::V4(ip)),
                    from.id
                ));
                out.extend(
                    tag_moves(to, from, &self.cfg.roles)
                        .iter()
                        .map(|m| m.to_string()),
                );
            }
            Plan::FinishTags { live, moves, .. } => {
                out.push(format!(
                    "resume: {ip} already points at droplet {} ({}); verify through {}",
                    live.id,
                    live.name,
                    h.url_for(IpAddr::V4(ip))
                ));
                out.extend(moves.iter().map(|m| m.to_string()));
            }
        }
        out
    }

    async fn body<H: DropletHook>(
        &mut self,
        ip: Ipv4Addr,
        hook: Option<&H>,
    ) -> Result<(Outcome, String), Stop> {
        let obs = self.observe(ip).await?;
        let p = plan(&obs, &self.cfg.roles).map_err(|r| Stop(Outcome::Refused, r.to_string()))?;
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
            Plan::Switch { from, to } => self.switch(ip, from, to, hook).await,
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
    ) -> Result<(Outcome, String), Stop> {
        if self.mode == Mode::Promote && self.cfg.health.expect_body.is_some() {
            let url = self.cfg.health.url_for(IpAddr::V4(ip));
            if self.cfg.health.probe(&url).await.is_ok() {
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
            let target = HookTarget::new(&to, self.cfg.version.as_deref(), "update");
            let s = self
                .steps
                .start(Step::Update, format!("droplet {} ({})", to.id, to.name));
            if let Err(e) = hook.run(&target).await {
                self.steps.finish(s, false, e.clone());
                return Err(Stop(
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
            self.steps.warn("--force: skipping the health gate".into());
        } else if let Err(f) = self.gate(&to, &self.cfg.health.clone()).await {
            return Err(Stop(
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
        match self.verify(ip, &to, &self.cfg.health.clone()).await {
            Ok(first) => self.time_to_new_answer = Some(before_verify + first),
            Err(f) if self.mode == Mode::Rollback && self.cfg.force => {
                self.steps.warn(format!(
                    "--force: verification failed ({f}); keeping traffic on droplet {}",
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
        if let Err(f) = self.verify(ip, &live, &self.cfg.health.clone()).await {
            // The previous run switched but never verified, or the droplet broke since.
            let fallback = self.fallback_check();
            if self.gate(&standby, &fallback).await.is_err() {
                return Err(Stop(
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
    };
    let (outcome, message) = match run.go(hook, cancel).await {
        Ok(done) => done,
        Err(Stop(o, m)) => (o, m),
    };
    BlueGreenReport {
        mode,
        outcome,
        message,
        reserved_ip: run.ip,
        live: run.live,
        standby: run.standby,
        plan: run.plan,
        steps: run.steps.timings,
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
            .map_err(|m| Stop(Outcome::ConfigError, m))?;
        let h = &self.cfg.health;
        if h.interval.saturating_mul(h.successes.saturating_sub(1)) >= self.cfg.verify_deadline {
            return Err(Stop(
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
            _ = &mut cancel => return Err(Stop(Outcome::Interrupted, "interrupted before anything changed".into())),
            r = self.resolve_ip() => r?,
        };
        self.ip = Some(ip);
        let unlock = format!("zdd-do unlock --reserved-ip {ip}");
        self.lock = match (&self.cfg.lock, self.cfg.dry_run) {
            (Some(l), false) => {
                let cfg = l.config(scope_for_ip(ip));
                match take_lock(&mut self.steps, self.client, &cfg, &unlock, &mut cancel).await {
                    Ok(lock) => Some(lock),
                    Err(LockStop::Locked(m)) => return Err(Stop(Outcome::Locked, m)),
                    Err(LockStop::Api(m)) => return Err(Stop(Outcome::ApiError, m)),
                    Err(LockStop::Interrupted(m)) => return Err(Stop(Outcome::Interrupted, m)),
                }
            }
            _ => None,
        };
        let result = tokio::select! {
            biased;
            _ = &mut cancel => Err(Stop(
                Outcome::Interrupted,
                format!("interrupted; run the same command again to finish or undo (see `zdd-do status --reserved-ip {ip}`)"),
            )),
            r = self.body(ip, hook) => r,
        };
        if let Some(lock) = self.lock.take() {
            release_lock(&mut self.steps, lock, &unlock).await;
        }
        result
    }
}

/// Where things stand, for `zdd-do status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    /// The reserved IP.
    pub reserved_ip: Ipv4Addr,
    /// The droplet it points at.
    pub ip_droplet: Option<DropletSummary>,
    /// Droplets with the live tag.
    pub live_tagged: Vec<DropletSummary>,
    /// Droplets with the standby tag.
    pub standby_tagged: Vec<DropletSummary>,
    /// `consistent`, `interrupted` or `inconsistent`.
    pub state: String,
    /// Differences between the tags and the IP, and what to do about them.
    pub drift: Vec<String>,
    /// Health of each tagged droplet (direct check), when asked for.
    pub health: Vec<DropletHealth>,
}

/// One droplet's direct health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DropletHealth {
    /// Droplet id.
    pub id: DropletId,
    /// The URL probed.
    pub url: String,
    /// Whether it passed.
    pub healthy: bool,
    /// Status or failure.
    pub detail: String,
}

/// Observe and describe, changing nothing. `check_health` probes each droplet once.
pub async fn status(
    client: &Client,
    cfg: &BlueGreenConfig,
    check_health: bool,
    sink: &dyn EventSink,
) -> Result<StatusReport, (Outcome, String)> {
    let mut run = Run {
        client,
        cfg,
        mode: Mode::Promote,
        steps: Steps::new(sink),
        plan: Vec::new(),
        live: None,
        standby: None,
        ip: cfg.reserved_ip,
        assign: None,
        time_to_new_answer: None,
        lock: None,
    };
    let ip = run.resolve_ip().await.map_err(|Stop(o, m)| (o, m))?;
    let obs = run.observe(ip).await.map_err(|Stop(o, m)| (o, m))?;
    let (state, drift) = match plan(&obs, &cfg.roles) {
        Ok(Plan::Switch { .. }) => ("consistent".to_owned(), Vec::new()),
        Ok(Plan::FinishTags { live, moves, .. }) => (
            "interrupted".to_owned(),
            vec![format!(
                "{ip} points at droplet {} but the tags were not fully moved ({}); run `zdd-do promote` (or `rollback`) to finish",
                live.id,
                moves
                    .iter()
                    .map(|m| m.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )],
        ),
        Err(r) => ("inconsistent".to_owned(), vec![r.reason]),
    };
    let mut health = Vec::new();
    if check_health {
        let mut seen = Vec::new();
        for d in obs.live_tagged.iter().chain(&obs.standby_tagged) {
            if seen.contains(&d.id) {
                continue;
            }
            seen.push(d.id);
            match run.direct_ip(d) {
                Ok(addr) => {
                    let url = cfg.health.url_for(addr);
                    let r = cfg.health.probe(&url).await;
                    health.push(DropletHealth {
                        id: d.id,
                        url,
                        healthy: r.is_ok(),
                        detail: match r {
                            Ok(s) => format!("status {s}"),
                            Err(f) => f.to_string(),
                        },
                    });
                }
                Err(Stop(_, m)) => health.push(DropletHealth {
                    id: d.id,
                    url: String::new(),
                    healthy: false,
                    detail: m,
                }),
            }
        }
    }
    Ok(StatusReport {
        reserved_ip: ip,
        ip_droplet: obs.ip_droplet.as_ref().map(Into::into),
        live_tagged: obs.live_tagged.iter().map(Into::into).collect(),
        standby_tagged: obs.standby_tagged.iter().map(Into::into).collect(),
        state,
        drift,
        health,
    })
}
