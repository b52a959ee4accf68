//! Running a rolling deploy: observe, plan, then for each batch: check the droplets staying in,
//! take out, update, health-gate, put back, wait for the load balancer; on failure, pause or
//! roll back. Every step is timed and reported through the event sink.

use std::collections::BTreeSet;
use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use do_api::droplets::Droplet;
use do_api::load_balancers::{HealthCheck, LoadBalancer};
use do_api::{Client, DropletId, LoadBalancerId};
use serde::Serialize;
use tokio::time::Instant;

use super::plan::{
    Batch, HealthOverrides, Member, Membership, Observation, RollPlan, effective_check, plan,
};
use super::probe::{LbProbe, names};
use super::waits::{self, Drain, Wait};
use crate::events::{Event, EventSink, Step};
use crate::health::{AddressKind, HealthPolicy};
use crate::hook::{DropletHook, HookTarget};
use crate::lock::{DeployLock, LockSettings, scope_for_lb};
use crate::report::{DropletSummary, StepTiming, opt_secs, secs};
use crate::runner::{LockStop, Steps, check_lock, release_lock, take_lock};

/// Which load balancer: its id, or its name (looked up; two with that name is refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum LbRef {
    /// Its UUID.
    Id(LoadBalancerId),
    /// Its name.
    Name(String),
}

impl LbRef {
    /// A UUID-shaped value (`8-4-4-4-12` hex digits) is an id; anything else a name.
    pub fn parse(s: &str) -> LbRef {
        let s = s.trim();
        let groups: Vec<&str> = s.split('-').collect();
        let uuid = groups.len() == 5
            && groups
                .iter()
                .zip([8, 4, 4, 4, 12])
                .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
        if uuid {
            LbRef::Id(s.into())
        } else {
            LbRef::Name(s.to_owned())
        }
    }
}

/// What to do when a droplet fails (update command, health gate, or the load balancer not
/// routing to it again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Leave the failed droplet out of rotation and stop; a re-run resumes with it.
    Pause,
    /// Run the rollback hook on the droplets already updated, newest first, through the same
    /// protocol.
    Rollback,
}

/// Everything a rolling run needs to know.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollingConfig {
    /// The load balancer.
    pub lb: LbRef,
    /// Droplets taken out at once (`--max-unavailable`, at least 1).
    pub max_unavailable: usize,
    /// How a droplet is taken out.
    pub drain: Drain,
    /// Wait for in-flight requests after a droplet leaves rotation.
    #[serde(with = "secs")]
    pub drain_wait: Duration,
    /// Slack for the load balancer to notice a tag or droplet-list change (undocumented by
    /// DigitalOcean; see [`super::waits`]).
    #[serde(with = "secs")]
    pub lb_sync_wait: Duration,
    /// Pause between batches.
    #[serde(with = "secs")]
    pub batch_delay: Duration,
    /// The direct health gate's timings, status range, body, successes and deadline; its
    /// scheme, port and path come from the load balancer unless overridden.
    pub health: HealthPolicy,
    /// `--health-scheme/--health-port/--health-path`.
    pub health_overrides: HealthOverrides,
    /// Watch traffic through the load balancer instead of waiting the computed window.
    pub lb_probe: Option<LbProbe>,
    /// Pause or roll back on failure.
    pub on_failure: OnFailure,
    /// The version being deployed, passed to the hooks.
    pub version: Option<String>,
    /// Print the batches and waits, change nothing.
    pub dry_run: bool,
    /// The deploy lock (scoped to the load balancer); `None` runs without one.
    pub lock: Option<LockSettings>,
    /// Multiplies every computed wait (drain, detection, sync, routing, batch delay). 1.0 in
    /// production; tests and simulations use less. Reports show both values.
    pub wait_scale: f64,
}

impl RollingConfig {
    /// Defaults for `lb`: one at a time, remove mode, 10 s drain wait, 5 s sync slack, no
    /// batch delay, pause on failure, the default health gate, a lock, scale 1.
    pub fn new(lb: LbRef) -> Self {
        RollingConfig {
            lb,
            max_unavailable: 1,
            drain: Drain::Remove,
            drain_wait: Duration::from_secs(10),
            lb_sync_wait: Duration::from_secs(5),
            batch_delay: Duration::ZERO,
            health: HealthPolicy::default(),
            health_overrides: HealthOverrides::default(),
            lb_probe: None,
            on_failure: OnFailure::Pause,
            version: None,
            dry_run: false,
            lock: Some(LockSettings::default()),
            wait_scale: 1.0,
        }
    }
}

/// How a run ended. The CLI maps each to a documented exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every droplet was updated, health-gated and put back.
    Rolled,
    /// The plan was printed; nothing changed.
    DryRun,
    /// The state was not as expected, or the plan could empty the pool; nothing changed.
    Refused,
    /// Stopped midway: a droplet failed and is left out of rotation (marker tag), or a
    /// droplet staying in was unhealthy. The rest serve; re-run to resume.
    Paused,
    /// A droplet failed; the updated droplets were rolled back and are all back in rotation.
    RolledBack,
    /// A rollback failed: a droplet is out of rotation on an unknown version. Needs a human.
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
        matches!(self, Outcome::Rolled | Outcome::DryRun)
    }
}

/// Where a droplet ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropletState {
    /// Not reached.
    Pending,
    /// Updated, healthy, back in rotation.
    Updated,
    /// Failed; see `failed_step` and `error`.
    Failed,
    /// Rolled back and back in rotation.
    RolledBack,
    /// The rollback failed; out of rotation.
    RollbackFailed,
}

/// One droplet's part in the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DropletReport {
    /// The droplet as first observed.
    pub droplet: DropletSummary,
    /// Its batch (1-based).
    pub batch: usize,
    /// Left out by an earlier run, resumed first.
    pub resumed: bool,
    /// Where it ended up.
    pub state: DropletState,
    /// Whether it is out of rotation (carrying the marker tag) at the end.
    pub out_of_rotation: bool,
    /// The step that failed.
    pub failed_step: Option<Step>,
    /// Why.
    pub error: Option<String>,
    /// The update command's duration.
    #[serde(with = "opt_secs")]
    pub update: Option<Duration>,
    /// The health gate's duration.
    #[serde(with = "opt_secs")]
    pub health_gate: Option<Duration>,
    /// The rollback (command and gate).
    #[serde(with = "opt_secs")]
    pub rollback: Option<Duration>,
    /// From taking it out to the load balancer routing to it again (waited or observed).
    #[serde(with = "opt_secs")]
    pub time_out_of_rotation: Option<Duration>,
    /// With `--lb-probe`: from putting it back to its first answer through the load balancer.
    #[serde(with = "opt_secs")]
    pub seen_through_lb_after: Option<Duration>,
}

/// One batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchReport {
    /// 1-based; rollback batches continue the numbering.
    pub index: usize,
    /// `update` or `rollback`.
    pub purpose: String,
    /// Its droplets.
    pub droplets: Vec<DropletId>,
    /// Droplets left out by an earlier run.
    pub resume: bool,
    /// The waits applied, in order, with their reasons.
    pub waits: Vec<Wait>,
    /// Wall time.
    #[serde(with = "secs")]
    pub duration: Duration,
    /// Whether every droplet came back.
    pub ok: bool,
}

/// The load balancer, as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LbSummary {
    /// Id.
    pub id: LoadBalancerId,
    /// Name.
    pub name: String,
    /// How it selects droplets.
    pub membership: Membership,
    /// Its health check (defaults of the spec when absent).
    pub health_check: HealthCheck,
    /// The direct health gate URL, with `<droplet-ip>` for the address.
    pub gate_url: Option<String>,
}

/// What a rolling run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollingReport {
    /// How it ended.
    pub outcome: Outcome,
    /// One line for humans.
    pub message: String,
    /// The load balancer.
    pub load_balancer: Option<LbSummary>,
    /// The tag marking droplets we took out of rotation.
    pub marker_tag: Option<String>,
    /// `--max-unavailable`.
    pub max_unavailable: usize,
    /// `--wait-scale` (1 in production).
    pub wait_scale: f64,
    /// The plan: batches and computed waits, in order.
    pub plan: Vec<String>,
    /// The batches run.
    pub batches: Vec<BatchReport>,
    /// Every droplet, in plan order.
    pub droplets: Vec<DropletReport>,
    /// The steps run, with durations.
    pub steps: Vec<StepTiming>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Update,
    Rollback,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Update => "update",
            Purpose::Rollback => "rollback",
        }
    }
}

/// A droplet that failed in a batch.
struct Failure {
    droplet: Droplet,
    step: Step,
    error: String,
}

struct Run<'a> {
    client: &'a Client,
    cfg: &'a RollingConfig,
    steps: Steps<'a>,
    plan_lines: Vec<String>,
    lb: Option<LoadBalancer>,
    lb_summary: Option<LbSummary>,
    marker: Option<String>,
    membership: Option<Membership>,
    check: HealthPolicy,
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
}

impl<'a> Run<'a> {
    fn lb(&self) -> &LoadBalancer {
        self.lb.as_ref().expect("observed")
    }

    fn lb_health(&self) -> HealthCheck {
        self.lb().health_check.clone().unwrap_or_default()
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

    async fn resolve_lb(&mut self) -> Result<LoadBalancer, Stop> {
        let s = self.steps.start(
            Step::Observe,
            match &self.cfg.lb {
                LbRef::Id(id) => format!("load balancer {id}"),
                LbRef::Name(n) => format!("load balancer named `{n}`"),
            },
        );
        let r = match &self.cfg.lb {
            LbRef::Id(id) => self.client.load_balancers().get(id).await.map(Some),
            LbRef::Name(n) => self.client.load_balancers().find_by_name(n).await,
        };
        match r {
            Ok(Some(lb)) => {
                self.steps.finish(
                    s,
                    true,
                    format!(
                        "{} ({}) `{}`, {}",
                        lb.name,
                        lb.id,
                        lb.status,
                        super::plan::membership(&lb)
                    ),
                );
                Ok(lb)
            }
            Ok(None) => {
                let msg = format!(
                    "no load balancer is named `{}` in this account (check --lb and the token's team)",
                    match &self.cfg.lb {
                        LbRef::Name(n) => n.as_str(),
                        LbRef::Id(id) => id.as_str(),
                    }
                );
                self.steps.finish(s, false, msg.clone());
                Err(Stop(Outcome::Refused, msg))
            }
            Err(e) if e.is_not_found() => {
                let msg = "the load balancer does not exist in this account (check --lb and the token's team)".to_owned();
                self.steps.finish(s, false, msg.clone());
                Err(Stop(Outcome::Refused, msg))
            }
            Err(do_api::Error::InvalidInput(m)) => {
                self.steps.finish(s, false, m.clone());
                Err(Stop(Outcome::Refused, m))
            }
            Err(e) => {
                self.steps.finish(s, false, e.chain());
                Err(api_stop("reading the load balancer", &e))
            }
        }
    }

    async fn observe(&mut self, lb: LoadBalancer) -> Result<Observation, Stop> {
        let marker = super::plan::marker_tag(&lb.id);
        let membership = super::plan::membership(&lb);
        let s = self.steps.start(
            Step::Observe,
            format!(
                "droplets behind {} ({membership}) and tagged `{marker}`",
                lb.name
            ),
        );
        let result = async {
            let selected = match &membership {
                Membership::Tag(t) => self.client.droplets().list_by_tag(t).await?,
                Membership::DropletIds => {
                    let all = self
                        .client
                        .droplets()
                        .list(&do_api::droplets::DropletFilter::all())
                        .await?;
                    all.into_iter()
                        .filter(|d| lb.droplet_ids.contains(&d.id))
                        .collect()
                }
            };
            let marked = self.client.droplets().list_by_tag(&marker).await?;
            Ok::<_, do_api::Error>((selected, marked))
        }
        .await;
        match result {
            Ok((selected, marked)) => {
                let unhealthy = self.unhealthy_now(&selected).await;
                if let Membership::DropletIds = membership {
                    let missing: Vec<String> = lb
                        .droplet_ids
                        .iter()
                        .filter(|id| !selected.iter().any(|d| d.id == **id))
                        .map(|id| id.to_string())
                        .collect();
                    if !missing.is_empty() {
                        self.steps.warn(format!(
                            "the load balancer lists droplets that do not exist: {}",
                            missing.join(", ")
                        ));
                    }
                }
                self.steps.finish(
                    s,
                    true,
                    format!(
                        "{} in rotation, {} carrying `{marker}`",
                        selected.len(),
                        marked.len()
                    ),
                );
                for (d, why) in &unhealthy {
                    self.steps.warn(format!(
                        "droplet {} ({}) is not healthy before the roll ({why}): it serves nothing, so it is updated first",
                        d.id, d.name
                    ));
                }
                self.unhealthy_at_start = unhealthy.iter().map(|(d, _)| d.id).collect();
                Ok(Observation {
                    lb,
                    selected,
                    marked,
                    unhealthy: self.unhealthy_at_start.iter().copied().collect(),
                })
            }
            Err(e) => {
                self.steps.finish(s, false, e.chain());
                Err(api_stop("observing the droplets", &e))
            }
        }
    }

    /// One direct probe of each droplet (any version): those that fail, with why.
    async fn unhealthy_now(&self, droplets: &[Droplet]) -> Vec<(Droplet, String)> {
        let check = self.any_version_check();
        let mut out = Vec::new();
        for d in droplets {
            let r = match self.direct_ip(d) {
                Ok(ip) => check
                    .probe(&check.url_for(ip))
                    .await
                    .map_err(|f| f.to_string()),
                Err(m) => Err(m),
            };
            if let Err(why) = r {
                out.push((d.clone(), why));
            }
        }
        out
    }

    fn direct_ip(&self, d: &Droplet) -> Result<IpAddr, String> {
        let ip = match self.check.address {
            AddressKind::Public => d.public_ipv4(),
            AddressKind::Private => d.private_ipv4(),
        };
        ip.map(IpAddr::V4).ok_or_else(|| {
            format!(
                "droplet {} ({}) has no {} IPv4 address to health-check",
                d.id,
                d.name,
                match self.check.address {
                    AddressKind::Public => "public",
                    AddressKind::Private => "private",
                }
            )
        })
    }

    /// The check for droplets that may run either version: no expected body.
    fn any_version_check(&self) -> HealthPolicy {
        HealthPolicy {
            expect_body: None,
            ..self.check.clone()
        }
    }

    fn take_out_waits(&self) -> Vec<Wait> {
        waits::take_out_waits(
            &self.lb_health(),
            &self.cfg.drain,
            self.cfg.drain_wait,
            self.cfg.lb_sync_wait,
            self.cfg.wait_scale,
        )
    }

    fn put_back_waits(&self) -> Vec<Wait> {
        waits::put_back_waits(
            &self.lb_health(),
            self.cfg.lb_sync_wait,
            self.cfg.wait_scale,
        )
    }

    fn describe_plan(&self, p: &RollPlan, has_update: bool) -> Vec<String> {
        let mut out = Vec::new();
        let gate = self
            .lb_summary
            .as_ref()
            .and_then(|l| l.gate_url.clone())
            .unwrap_or_default();
        let take_out = self.take_out_waits();
        let put_back = self.put_back_waits();
        let how_out = match (&p.membership, &self.cfg.drain) {
            (Membership::Tag(t), Drain::Remove) => {
                format!("tag `{}`, untag `{t}`", p.marker)
            }
            (Membership::DropletIds, Drain::Remove) => {
                format!("tag `{}`, remove from the load balancer", p.marker)
            }
            (m, Drain::ShutdownUrl { path, method }) => format!(
                "tag `{}`, {method} {path} on the droplet and see its health check fail, then {}",
                p.marker,
                match m {
                    Membership::Tag(t) => format!("untag `{t}`"),
                    Membership::DropletIds => "remove from the load balancer".into(),
                }
            ),
        };
        let how_back = match &p.membership {
            Membership::Tag(t) => format!("tag `{t}`, untag `{}`", p.marker),
            Membership::DropletIds => format!("add to the load balancer, untag `{}`", p.marker),
        };
        for b in &p.batches {
            let list: Vec<String> = b
                .members
                .iter()
                .map(|m| format!("{} ({})", m.droplet.id, m.droplet.name))
                .collect();
            let resume = if b.resume {
                " [left out of rotation by an earlier run: resume]"
            } else {
                ""
            };
            out.push(format!("batch {}: {}{resume}", b.index, list.join(", ")));
            if !b.resume {
                out.push(format!(
                    "  check directly that the droplets staying in rotation pass {gate}"
                ));
                out.push(format!("  take out: {how_out}"));
                for w in &take_out {
                    out.push(format!("  wait {w}"));
                }
            }
            if has_update {
                out.push("  run the update command for each droplet".to_owned());
            }
            out.push(format!(
                "  health-gate each at {gate} ({} passing in a row within {}s)",
                self.check.successes,
                waits::fmt_secs(self.check.deadline)
            ));
            out.push(format!("  put back: {how_back}"));
            match &self.cfg.lb_probe {
                Some(probe) => out.push(format!(
                    "  watch {} until each droplet answers (within {}s)",
                    probe.url,
                    waits::fmt_secs(self.probe_deadline())
                )),
                None => {
                    for w in &put_back {
                        out.push(format!("  wait {w}"));
                    }
                }
            }
            if b.index < p.batches.len() && !self.cfg.batch_delay.is_zero() {
                out.push(format!(
                    "wait {}",
                    waits::batch_delay(self.cfg.batch_delay, self.cfg.wait_scale)
                ));
            }
        }
        let put_back_total = if self.cfg.lb_probe.is_some() {
            Duration::ZERO
        } else {
            waits::total_applied(&put_back)
        };
        let waited: Duration = p
            .batches
            .iter()
            .map(|b| {
                let out = if b.resume {
                    Duration::ZERO
                } else {
                    waits::total_applied(&take_out)
                };
                out + put_back_total
            })
            .sum::<Duration>()
            + waits::scaled(self.cfg.batch_delay, self.cfg.wait_scale)
                * (p.batches.len().saturating_sub(1) as u32);
        out.push(format!(
            "computed waits: {}s in all, plus the update commands and health gates",
            waits::fmt_secs(waited)
        ));
        if let Some(l) = &self.cfg.lock
            && waited > l.ttl
        {
            let msg = format!(
                "the waits alone ({}s) exceed the deploy lock's TTL ({}s): another run could take the lock as stale midway; raise --lock-ttl",
                waits::fmt_secs(waited),
                l.ttl.as_secs()
            );
            self.steps.warn(msg.clone());
            out.push(format!("warning: {msg}"));
        }
        let on_failure = match self.cfg.on_failure {
            OnFailure::Pause => "on failure: leave the failed droplet out of rotation and stop",
            OnFailure::Rollback => {
                "on failure: run the rollback command on the updated droplets, newest first"
            }
        };
        out.push(on_failure.to_owned());
        out
    }

    fn probe_deadline(&self) -> Duration {
        self.cfg
            .lb_probe
            .as_ref()
            .and_then(|p| p.deadline)
            .unwrap_or_else(|| {
                waits::total_applied(&self.put_back_waits()).mul_f64(3.0)
                    + self.check.request_timeout
            })
    }

    async fn body<H: DropletHook, R: DropletHook>(
        &mut self,
        lb: LoadBalancer,
        update: Option<&H>,
        rollback: Option<&R>,
    ) -> Result<(Outcome, String), Stop> {
        let obs = self.observe(lb).await?;
        let p = plan(&obs, self.cfg.max_unavailable)
            .map_err(|r| Stop(Outcome::Refused, r.to_string()))?;
        self.membership = Some(p.membership.clone());
        self.marker = Some(p.marker.clone());
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
                    Stop(
                        Outcome::Interrupted,
                        format!(
                            "{why}; stopped before batch {}: the droplets updated so far are back in rotation; run the same command again to finish",
                            batch.index
                        ),
                    )
                } else {
                    Stop(
                        Outcome::Locked,
                        format!("{why}; stopped before the first batch: nothing changed"),
                    )
                });
            }
            let failures = self
                .cycle(batch.index, batch, Purpose::Update, update, batch.resume)
                .await?;
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

    async fn ensure_marker(&mut self) -> Result<(), Stop> {
        if self.marker_created {
            return Ok(());
        }
        let marker = self.marker.clone().expect("planned");
        if let Err(e) = self.client.tags().create(&marker).await {
            return Err(api_stop(&format!("creating the marker tag `{marker}`"), &e));
        }
        self.marker_created = true;
        Ok(())
    }

    /// Check, directly, that the droplets staying in rotation are healthy before `members`
    /// leave. `Err` stops the run before anything of this batch changes.
    async fn check_staying(&mut self, members: &[Member]) -> Result<(), Stop> {
        let leaving: Vec<DropletId> = members
            .iter()
            .map(|m| m.droplet.id)
            .filter(|id| !self.out.contains(id))
            .collect();
        if leaving.is_empty() {
            return Ok(());
        }
        // Droplets that were unhealthy before the roll and are not updated yet serve nothing:
        // they are not judged again, and they do not count as capacity.
        let not_yet_fixed = |id: &DropletId| {
            self.unhealthy_at_start.contains(id)
                && self
                    .droplets
                    .iter()
                    .any(|r| r.droplet.id == *id && r.state == DropletState::Pending)
        };
        let staying_all: Vec<&Droplet> = self
            .pool
            .iter()
            .filter(|d| !self.out.contains(&d.id) && !leaving.contains(&d.id))
            .collect();
        let staying: Vec<Droplet> = staying_all
            .iter()
            .filter(|d| !not_yet_fixed(&d.id))
            .map(|d| (*d).clone())
            .collect();
        // Only unhealthy droplets leave, and only unhealthy ones stay (an outage): no capacity
        // is lost, and the fix has to start somewhere.
        let only_broken_leave = leaving.iter().all(not_yet_fixed);
        let stop = |changed: bool, msg: String| {
            if changed {
                Stop(
                    Outcome::Paused,
                    format!(
                        "{msg}; stopped before taking the next batch out: no droplet of this run is out of rotation; re-run to continue"
                    ),
                )
            } else {
                Stop(Outcome::Refused, format!("{msg}; nothing changed"))
            }
        };
        if staying_all.is_empty() {
            return Err(stop(
                self.changed,
                "taking this batch out would leave no droplet in rotation".into(),
            ));
        }
        if staying.is_empty() {
            if only_broken_leave {
                return Ok(());
            }
            return Err(stop(
                self.changed,
                "taking this batch out would leave no healthy droplet in rotation".into(),
            ));
        }
        let check = HealthPolicy {
            successes: 1,
            ..self.any_version_check()
        };
        let s = self.steps.start(
            Step::HealthGate,
            format!(
                "droplets staying in rotation: {}",
                staying
                    .iter()
                    .map(|d| d.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        for d in &staying {
            let r = match self.direct_ip(d) {
                Ok(ip) => check
                    .wait_healthy(ip, self.steps.sink)
                    .await
                    .map_err(|f| f.to_string()),
                Err(m) => Err(m),
            };
            if let Err(why) = r {
                let msg = format!(
                    "droplet {} ({}), which would stay in rotation, is not healthy: {why}",
                    d.id, d.name
                );
                self.steps.finish(s, false, msg.clone());
                return Err(stop(self.changed, msg));
            }
        }
        self.steps
            .finish(s, true, format!("{} healthy", staying.len()));
        Ok(())
    }

    async fn drain_url(&self, d: &Droplet, path: &str, method: &str) -> Result<(), String> {
        let ip = self.direct_ip(d)?;
        let url = HealthPolicy {
            path: path.to_owned(),
            ..self.check.clone()
        }
        .url_for(ip);
        let m = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| format!("`{method}` is not an HTTP method"))?;
        let http = reqwest::Client::builder()
            .timeout(self.check.request_timeout)
            .danger_accept_invalid_certs(self.check.insecure_tls)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let resp = http
            .request(m, &url)
            .send()
            .await
            .map_err(|e| format!("{method} {url}: {e}"))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("{method} {url} answered {}", resp.status()))
        }
    }

    /// Probe `d` until its health check fails (the app is draining), within the gate deadline.
    async fn see_failing(&self, d: &Droplet) -> Result<Duration, String> {
        let ip = self.direct_ip(d)?;
        let check = self.any_version_check();
        let url = check.url_for(ip);
        let started = Instant::now();
        loop {
            if check.probe(&url).await.is_err() {
                return Ok(started.elapsed());
            }
            if started.elapsed() + check.interval > check.deadline {
                return Err(format!(
                    "{url} still passes {}s after the drain call",
                    started.elapsed().as_secs()
                ));
            }
            tokio::time::sleep(check.interval).await;
        }
    }

    async fn sleep_waits(&mut self, step: Step, list: &[Wait]) {
        for w in list {
            let s = self.steps.start(step, format!("wait {w}"));
            tokio::time::sleep(w.applied).await;
            self.steps
                .finish(s, true, format!("waited {:.1}s", w.applied.as_secs_f64()));
        }
    }

    fn ids(ds: &[Droplet]) -> Vec<DropletId> {
        ds.iter().map(|d| d.id).collect()
    }

    fn names(ds: &[Droplet]) -> String {
        ds.iter()
            .map(|d| format!("{} ({})", d.id, d.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Remove from rotation: marker first (unless already there), then the load balancer's
    /// tag or id.
    async fn remove_from_lb(&mut self, ds: &[Droplet], tag_marker: bool) -> Result<(), Stop> {
        let ids = Self::ids(ds);
        let marker = self.marker.clone().expect("planned");
        let s = self.steps.start(Step::TakeOut, Self::names(ds));
        let result = async {
            if tag_marker {
                self.client.tags().tag_droplets(&marker, &ids).await?;
            }
            match self.membership.as_ref().expect("planned") {
                Membership::Tag(t) => self.client.tags().untag_droplets(t, &ids).await,
                Membership::DropletIds => {
                    self.client
                        .load_balancers()
                        .remove_droplets(&self.lb().id, &ids)
                        .await
                }
            }
        }
        .await;
        self.changed = true;
        match result {
            Ok(()) => {
                let now = Instant::now();
                for id in &ids {
                    self.out.insert(*id);
                    self.out_since.push((*id, now));
                    if let Some(r) = self.report_mut(*id) {
                        r.out_of_rotation = true;
                    }
                }
                self.steps.finish(s, true, "out of rotation");
                Ok(())
            }
            Err(e) => {
                self.steps.finish(s, false, e.chain());
                Err(api_stop(
                    &format!(
                        "taking {} out of rotation (re-run to resume: droplets carrying `{marker}` are handled first)",
                        Self::names(ds)
                    ),
                    &e,
                ))
            }
        }
    }

    /// Take `members` out of rotation (those still in), with the drain mode's waits.
    async fn take_out(&mut self, members: &[Member], report: &mut BatchReport) -> Result<(), Stop> {
        let leaving: Vec<Droplet> = members
            .iter()
            .filter(|m| !self.out.contains(&m.droplet.id))
            .map(|m| m.droplet.clone())
            .collect();
        if leaving.is_empty() {
            return Ok(());
        }
        self.ensure_marker().await?;
        match self.cfg.drain.clone() {
            Drain::Remove => {
                self.remove_from_lb(&leaving, true).await?;
                let w = self.take_out_waits();
                self.sleep_waits(Step::Drain, &w).await;
                report.waits.extend(w);
            }
            Drain::ShutdownUrl { path, method } => {
                // Marker first, so a crash while draining leaves the droplet findable.
                let marker = self.marker.clone().expect("planned");
                if let Err(e) = self
                    .client
                    .tags()
                    .tag_droplets(&marker, &Self::ids(&leaving))
                    .await
                {
                    return Err(api_stop(&format!("tagging with `{marker}`"), &e));
                }
                self.changed = true;
                let mut drained = 0;
                for d in &leaving {
                    let s = self.steps.start(
                        Step::Drain,
                        format!("{method} {path} on {} ({})", d.id, d.name),
                    );
                    let r = match self.drain_url(d, &path, &method).await {
                        Ok(()) => self.see_failing(d).await,
                        Err(e) => Err(e),
                    };
                    match r {
                        Ok(after) => {
                            drained += 1;
                            self.steps.finish(
                                s,
                                true,
                                format!("health check failing after {:.1}s", after.as_secs_f64()),
                            );
                        }
                        Err(e) => {
                            self.steps.finish(s, false, e.clone());
                            self.steps.warn(format!(
                                "drain URL on droplet {} did not make its health check fail ({e}); removing it from the load balancer and waiting --lb-sync-wait instead",
                                d.id
                            ));
                        }
                    }
                }
                let all = self.take_out_waits();
                let detection: Vec<Wait> = all
                    .iter()
                    .filter(|w| w.kind == waits::WaitKind::Detection)
                    .cloned()
                    .collect();
                if drained > 0 {
                    self.sleep_waits(Step::Drain, &detection).await;
                    report.waits.extend(detection);
                }
                self.remove_from_lb(&leaving, false).await?;
                let mut after: Vec<Wait> = Vec::new();
                if drained < leaving.len() {
                    after.extend(
                        waits::take_out_waits(
                            &self.lb_health(),
                            &Drain::Remove,
                            self.cfg.drain_wait,
                            self.cfg.lb_sync_wait,
                            self.cfg.wait_scale,
                        )
                        .into_iter()
                        .filter(|w| w.kind == waits::WaitKind::LbSync),
                    );
                }
                after.extend(all.into_iter().filter(|w| w.kind == waits::WaitKind::Drain));
                self.sleep_waits(Step::Drain, &after).await;
                report.waits.extend(after);
            }
        }
        Ok(())
    }

    /// Put `ds` back: the load balancer's tag or id, then untag the marker; then wait (or
    /// watch) until the load balancer routes to them. `Err` with a message when the
    /// load-balancer probe never saw one of them.
    async fn put_back(
        &mut self,
        ds: &[Droplet],
        report: &mut BatchReport,
        drop_marker: bool,
    ) -> Result<(), Stop> {
        if ds.is_empty() {
            return Ok(());
        }
        let ids = Self::ids(ds);
        let marker = self.marker.clone().expect("planned");
        let s = self.steps.start(Step::PutBack, Self::names(ds));
        let result = async {
            match self.membership.as_ref().expect("planned") {
                Membership::Tag(t) => self.client.tags().tag_droplets(t, &ids).await?,
                Membership::DropletIds => {
                    self.client
                        .load_balancers()
                        .add_droplets(&self.lb().id, &ids)
                        .await?
                }
            }
            if drop_marker {
                // "Deleting a tag also untags all the resources that have previously been
                // tagged with the Tag" (the spec, tags_delete.yml).
                match self.client.tags().delete(&marker).await {
                    Err(e) if e.is_not_found() => Ok(()),
                    other => other,
                }
            } else {
                self.client.tags().untag_droplets(&marker, &ids).await
            }
        }
        .await;
        self.changed = true;
        if let Err(e) = result {
            self.steps.finish(s, false, e.chain());
            return Err(api_stop(
                &format!(
                    "putting {} back into rotation (re-run to resume: droplets carrying `{marker}` are handled first)",
                    Self::names(ds)
                ),
                &e,
            ));
        }
        self.steps.finish(s, true, "back in the load balancer");
        match self.cfg.lb_probe.clone() {
            None => {
                let w = self.put_back_waits();
                self.sleep_waits(Step::PutBack, &w).await;
                report.waits.extend(w);
            }
            Some(probe) => {
                let deadline = self.probe_deadline();
                let s = self.steps.start(
                    Step::Verify,
                    format!(
                        "watch {} for {} (within {:.1}s)",
                        probe.url,
                        Self::names(ds),
                        deadline.as_secs_f64()
                    ),
                );
                match self.watch_lb(&probe, ds, deadline).await {
                    Ok(seen) => {
                        for (id, after) in seen {
                            if let Some(r) = self.report_mut(id) {
                                r.seen_through_lb_after = Some(after);
                            }
                        }
                        let took = self.steps.finish(
                            s,
                            true,
                            "every droplet answered through the load balancer",
                        );
                        report.waits.push(Wait {
                            kind: waits::WaitKind::Routing,
                            computed: waits::total_applied(&self.put_back_waits()),
                            applied: took,
                            why: format!("observed through {} instead of waiting", probe.url),
                        });
                    }
                    Err(msg) => {
                        self.steps.finish(s, false, msg.clone());
                        for d in ds {
                            self.out.remove(&d.id);
                            if let Some(r) = self.report_mut(d.id) {
                                r.out_of_rotation = false;
                            }
                        }
                        return Err(Stop(
                            Outcome::Paused,
                            format!(
                                "{msg}; the droplets are healthy and back in the load balancer, but traffic was not seen reaching them: stopped before the next batch; re-run to continue"
                            ),
                        ));
                    }
                }
            }
        }
        for d in ds {
            self.out.remove(&d.id);
            let since = self
                .out_since
                .iter()
                .rev()
                .find(|(id, _)| *id == d.id)
                .map(|(_, t)| *t);
            if let Some(r) = self.report_mut(d.id) {
                r.out_of_rotation = false;
                r.time_out_of_rotation = since.map(|t| t.elapsed());
            }
        }
        Ok(())
    }

    async fn watch_lb(
        &self,
        probe: &LbProbe,
        ds: &[Droplet],
        deadline: Duration,
    ) -> Result<Vec<(DropletId, Duration)>, String> {
        let http = reqwest::Client::builder()
            .timeout(self.check.request_timeout)
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        let mut seen: Vec<(DropletId, Duration)> = Vec::new();
        let mut answers = 0u32;
        let mut last: String;
        loop {
            match http.get(&probe.url).send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let body = resp.text().await.unwrap_or_default();
                    answers += 1;
                    match probe.identify.extract(&headers, &body) {
                        Some(named) => {
                            if let Some(d) = ds.iter().find(|d| names(&named, d))
                                && status.as_u16() < 400
                                && !seen.iter().any(|(id, _)| *id == d.id)
                            {
                                seen.push((d.id, started.elapsed()));
                            }
                            last = format!("answered by `{named}` ({status})");
                        }
                        None => last = format!("an answer ({status}) that names no droplet"),
                    }
                    self.steps.sink.emit(Event::HealthAttempt {
                        url: probe.url.clone(),
                        attempt: answers,
                        ok: status.is_success(),
                        detail: last.clone(),
                        consecutive: seen.len() as u32,
                    });
                }
                Err(e) => last = e.to_string(),
            }
            if seen.len() == ds.len() {
                return Ok(seen);
            }
            if started.elapsed() + self.check.interval > deadline {
                let missing: Vec<String> = ds
                    .iter()
                    .filter(|d| !seen.iter().any(|(id, _)| *id == d.id))
                    .map(|d| format!("{} ({})", d.id, d.name))
                    .collect();
                return Err(format!(
                    "{} never answered through {} within {:.1}s ({answers} answers, last: {last})",
                    missing.join(", "),
                    probe.url,
                    deadline.as_secs_f64()
                ));
            }
            tokio::time::sleep(self.check.interval).await;
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
            purpose: purpose.as_str().to_owned(),
            droplets: members.iter().map(|m| m.droplet.id).collect(),
            resume,
            waits: Vec::new(),
            duration: Duration::ZERO,
            ok: false,
        };
        let result = self.cycle_inner(members, purpose, hook, &mut report).await;
        report.duration = started.elapsed();
        report.ok = matches!(&result, Ok(f) if f.is_empty());
        self.batches.push(report);
        result
    }

    async fn cycle_inner<H: DropletHook>(
        &mut self,
        members: &[Member],
        purpose: Purpose,
        hook: Option<&H>,
        report: &mut BatchReport,
    ) -> Result<Vec<Failure>, Stop> {
        self.check_staying(members).await?;
        self.take_out(members, report).await?;
        let check = match purpose {
            Purpose::Update => self.check.clone(),
            Purpose::Rollback => self.any_version_check(),
        };
        let mut failures = Vec::new();
        let mut passed = Vec::new();
        for m in members {
            let d = &m.droplet;
            let hook_started = Instant::now();
            if let Some(hook) = hook {
                let target = HookTarget::new(d, self.cfg.version.as_deref(), purpose.as_str());
                let step = match purpose {
                    Purpose::Update => Step::Update,
                    Purpose::Rollback => Step::Rollback,
                };
                let s = self
                    .steps
                    .start(step, format!("droplet {} ({})", d.id, d.name));
                let r = hook.run(&target).await;
                let took = self.steps.finish(
                    s,
                    r.is_ok(),
                    r.clone().err().unwrap_or_else(|| "done".into()),
                );
                if purpose == Purpose::Update
                    && let Some(rep) = self.report_mut(d.id)
                {
                    rep.update = Some(took);
                }
                if let Err(e) = r {
                    failures.push(Failure {
                        droplet: d.clone(),
                        step,
                        error: format!("the {} command failed: {e}", purpose.as_str()),
                    });
                    self.record(purpose, d.id, hook_started.elapsed(), false);
                    continue;
                }
            }
            let gate = match self.direct_ip(d) {
                Ok(ip) => {
                    let s = self.steps.start(
                        Step::HealthGate,
                        format!("{} ({}) at {}", d.id, d.name, check.url_for(ip)),
                    );
                    let r = check.wait_healthy(ip, self.steps.sink).await;
                    let detail = match &r {
                        Ok(h) => format!(
                            "{} passing probes in a row after {} attempts",
                            check.successes, h.attempts
                        ),
                        Err(f) => f.to_string(),
                    };
                    let took = self.steps.finish(s, r.is_ok(), detail);
                    if purpose == Purpose::Update
                        && let Some(rep) = self.report_mut(d.id)
                    {
                        rep.health_gate = Some(took);
                    }
                    r.map(|_| ()).map_err(|f| f.to_string())
                }
                Err(m) => Err(m),
            };
            match gate {
                Ok(()) => {
                    self.record(purpose, d.id, hook_started.elapsed(), true);
                    passed.push(d.clone());
                }
                Err(e) => {
                    failures.push(Failure {
                        droplet: d.clone(),
                        step: Step::HealthGate,
                        error: format!("failed the health gate: {e}"),
                    });
                    self.record(purpose, d.id, hook_started.elapsed(), false);
                }
            }
        }
        for f in &failures {
            self.steps.warn(format!(
                "droplet {} ({}): {}; it stays out of rotation",
                f.droplet.id, f.droplet.name, f.error
            ));
            let (step, error) = (f.step, f.error.clone());
            if let Some(r) = self.report_mut(f.droplet.id) {
                r.failed_step = Some(step);
                r.error = Some(error);
            }
        }
        // With a rollback coming, the whole batch stays out: it is rolled back first.
        if !failures.is_empty()
            && purpose == Purpose::Update
            && self.cfg.on_failure == OnFailure::Rollback
        {
            return Ok(failures);
        }
        // The last droplets of a roll that went through: deleting the marker tag untags them
        // and leaves no empty tag behind, in one call.
        let last =
            purpose == Purpose::Update && failures.is_empty() && report.index == self.last_batch;
        self.put_back(&passed, report, last).await?;
        Ok(failures)
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

    async fn on_failure<R: DropletHook>(
        &mut self,
        batch: &Batch,
        done: &[Batch],
        failures: Vec<Failure>,
        rollback: Option<&R>,
    ) -> Result<(Outcome, String), Stop> {
        let marker = self.marker.clone().unwrap_or_default();
        let first = &failures[0];
        let what = format!(
            "droplet {} ({}): {}",
            first.droplet.id, first.droplet.name, first.error
        );
        let more = if failures.len() > 1 {
            format!(" (and {} more)", failures.len() - 1)
        } else {
            String::new()
        };
        if self.cfg.on_failure == OnFailure::Pause {
            let serving = self.others_in_rotation();
            return Ok((
                Outcome::Paused,
                format!(
                    "{what}{more}; it is out of rotation (tagged `{marker}`) and {serving} droplet(s) still serve; fix it and re-run to resume"
                ),
            ));
        }
        let Some(hook) = rollback else {
            return Err(Stop(
                Outcome::ConfigError,
                "--on-failure rollback needs a rollback command".into(),
            ));
        };
        self.steps.warn(format!(
            "{what}{more}; rolling back the updated droplets, newest first"
        ));
        // The failed batch first (it is out already), then earlier batches, newest first.
        let mut sequence: Vec<Member> = batch
            .members
            .iter()
            .rev()
            .map(|m| Member {
                droplet: m.droplet.clone(),
                in_rotation: false,
            })
            .collect();
        let first_len = sequence.len();
        for b in done.iter().rev() {
            for m in b.members.iter().rev() {
                sequence.push(Member {
                    droplet: m.droplet.clone(),
                    in_rotation: true,
                });
            }
        }
        let mut chunks: Vec<Vec<Member>> = vec![sequence[..first_len].to_vec()];
        for c in sequence[first_len..].chunks(self.cfg.max_unavailable) {
            chunks.push(c.to_vec());
        }
        let mut rolled = 0;
        let mut next_index = self.batches.last().map_or(1, |b| b.index + 1);
        for (i, members) in chunks.into_iter().enumerate() {
            if members.is_empty() {
                continue;
            }
            if i > 0 {
                self.batch_delay().await;
            }
            let b = Batch {
                index: next_index,
                members,
                resume: false,
            };
            next_index += 1;
            let failed = self
                .cycle(b.index, &b, Purpose::Rollback, Some(hook), false)
                .await
                .map_err(|Stop(o, m)| {
                    let o = if o == Outcome::Paused {
                        Outcome::Uncertain
                    } else {
                        o
                    };
                    Stop(o, format!("{what}; rolling back: {m}"))
                })?;
            if let Some(f) = failed.first() {
                return Err(Stop(
                    Outcome::Uncertain,
                    format!(
                        "{what}; rolling back droplet {} ({}) failed: {}; it is out of rotation (tagged `{marker}`); {} droplet(s) serve: needs a human",
                        f.droplet.id,
                        f.droplet.name,
                        f.error,
                        self.others_in_rotation()
                    ),
                ));
            }
            rolled += b.members.len();
        }
        Ok((
            Outcome::RolledBack,
            format!(
                "{what}{more}; rolled back {rolled} droplet(s) with the rollback command: all are back in rotation on the previous version"
            ),
        ))
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
    let started = Instant::now();
    let calls_before = client.requests_sent();
    let mut run = Run {
        client,
        cfg,
        steps: Steps::new(sink),
        plan_lines: Vec::new(),
        lb: None,
        lb_summary: None,
        marker: None,
        membership: None,
        check: cfg.health.clone(),
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
    };
    let (outcome, message) = match run.go(update, rollback, cancel).await {
        Ok(done) => done,
        Err(Stop(o, m)) => (o, m),
    };
    RollingReport {
        outcome,
        message,
        load_balancer: run.lb_summary,
        marker_tag: run.marker,
        max_unavailable: cfg.max_unavailable,
        wait_scale: cfg.wait_scale,
        plan: run.plan_lines,
        batches: run.batches,
        droplets: run.droplets,
        steps: run.steps.timings,
        api_calls: client.requests_sent() - calls_before,
        total: started.elapsed(),
    }
}

fn validate(cfg: &RollingConfig, has_rollback: bool) -> Result<(), String> {
    cfg.health.validate()?;
    if cfg.max_unavailable == 0 {
        return Err("--max-unavailable must be at least 1".into());
    }
    if !(cfg.wait_scale.is_finite() && cfg.wait_scale >= 0.0) {
        return Err(format!(
            "wait scale {} is not a non-negative number",
            cfg.wait_scale
        ));
    }
    if cfg.on_failure == OnFailure::Rollback && !has_rollback {
        return Err("--on-failure rollback needs --rollback-exec".into());
    }
    if let Drain::ShutdownUrl { path, method } = &cfg.drain {
        if !path.starts_with('/') {
            return Err(format!("drain path `{path}` must start with `/`"));
        }
        if reqwest::Method::from_bytes(method.as_bytes()).is_err() {
            return Err(format!("`{method}` is not an HTTP method"));
        }
    }
    if let Some(p) = &cfg.lb_probe
        && !(p.url.starts_with("http://") || p.url.starts_with("https://"))
    {
        return Err(format!(
            "--lb-probe `{}` must be an http:// or https:// URL",
            p.url
        ));
    }
    if let LbRef::Name(n) = &cfg.lb
        && n.trim().is_empty()
    {
        return Err("--lb is empty; give the load balancer's id or name".into());
    }
    Ok(())
}

impl Run<'_> {
    async fn go<H: DropletHook, R: DropletHook>(
        &mut self,
        update: Option<&H>,
        rollback: Option<&R>,
        cancel: impl Future<Output = ()>,
    ) -> Result<(Outcome, String), Stop> {
        validate(self.cfg, rollback.is_some()).map_err(|m| Stop(Outcome::ConfigError, m))?;
        let mut cancel = std::pin::pin!(cancel);
        let lb = tokio::select! {
            biased;
            _ = &mut cancel => return Err(Stop(Outcome::Interrupted, "interrupted before anything changed".into())),
            r = self.resolve_lb() => r?,
        };
        let hc = lb.health_check.clone().unwrap_or_default();
        self.check = effective_check(&self.cfg.health, &hc, &self.cfg.health_overrides)
            .map_err(|m| Stop(Outcome::ConfigError, m))?;
        self.lb_summary = Some(LbSummary {
            id: lb.id.clone(),
            name: lb.name.clone(),
            membership: super::plan::membership(&lb),
            health_check: hc,
            gate_url: Some(
                self.check
                    .url_for(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
                    .replace("0.0.0.0", "<droplet-ip>"),
            ),
        });
        self.marker = Some(super::plan::marker_tag(&lb.id));
        self.lb = Some(lb.clone());
        let scope = scope_for_lb(&lb.id);
        let unlock = format!("zdd-do unlock --lb {}", lb.id);
        self.lock = match (&self.cfg.lock, self.cfg.dry_run) {
            (Some(l), false) => {
                let cfg = l.config(scope);
                match take_lock(&mut self.steps, self.client, &cfg, &unlock, &mut cancel).await {
                    Ok(lock) => Some(lock),
                    Err(LockStop::Locked(m)) => return Err(Stop(Outcome::Locked, m)),
                    Err(LockStop::Api(m)) => return Err(Stop(Outcome::ApiError, m)),
                    Err(LockStop::Interrupted(m)) => return Err(Stop(Outcome::Interrupted, m)),
                }
            }
            _ => None,
        };
        let marker = self.marker.clone().unwrap_or_default();
        let result = tokio::select! {
            biased;
            _ = &mut cancel => Err(Stop(
                Outcome::Interrupted,
                format!("interrupted; droplets taken out carry `{marker}`: run the same command again to resume"),
            )),
            r = self.body(lb, update, rollback) => r,
        };
        if let Some(lock) = self.lock.take() {
            release_lock(&mut self.steps, lock, &unlock).await;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lb_refs() {
        assert_eq!(
            LbRef::parse("4de7ac8b-495b-4884-9a69-1050c6793cd6"),
            LbRef::Id("4de7ac8b-495b-4884-9a69-1050c6793cd6".into())
        );
        assert_eq!(LbRef::parse("web-lb"), LbRef::Name("web-lb".into()));
        assert_eq!(
            LbRef::parse("4de7ac8b-495b-4884-9a69-1050c6793cdz"),
            LbRef::Name("4de7ac8b-495b-4884-9a69-1050c6793cdz".into())
        );
    }

    #[test]
    fn config_checks() {
        let ok = RollingConfig::new(LbRef::Name("web".into()));
        assert!(validate(&ok, false).is_ok());
        let bad = RollingConfig {
            on_failure: OnFailure::Rollback,
            ..ok.clone()
        };
        assert_eq!(
            validate(&bad, false).unwrap_err(),
            "--on-failure rollback needs --rollback-exec"
        );
        assert!(validate(&bad, true).is_ok());
        let bad = RollingConfig {
            wait_scale: f64::NAN,
            ..ok.clone()
        };
        assert!(validate(&bad, false).is_err());
        let bad = RollingConfig {
            drain: Drain::ShutdownUrl {
                path: "drain".into(),
                method: "POST".into(),
            },
            ..ok.clone()
        };
        assert!(
            validate(&bad, false)
                .unwrap_err()
                .contains("must start with")
        );
        let bad = RollingConfig {
            max_unavailable: 0,
            ..ok
        };
        assert!(validate(&bad, false).is_err());
    }
}
