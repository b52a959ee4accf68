//! do-sim: a local DigitalOcean with real traffic.
//!
//! Mocked answers prove that a tool sends the right requests; they cannot prove that no
//! request fails while it deploys. The simulator runs, in one process and on loopback only:
//!
//! - an **API server** on `127.0.0.1` with the subset of the API v2 that do-api covers
//!   (droplets, droplet actions, tags, reserved and floating IPs, load balancers, actions,
//!   and the Monitoring API's load-balancer metrics, computed from the traffic served),
//!   stateful and in memory, with the official answer shapes (do-api's models decode every
//!   answer), status codes, `ratelimit-*` headers, pagination with real `links.pages.next`,
//!   and actions that go from `in-progress` to `completed` after a latency, in wall time;
//! - **droplets** that are real HTTP servers, each on its own `127.S.x.y` address ([`app`
//!   behaviour](crate#droplet-apps)); their public (and private) IPv4 in the API is that
//!   address;
//! - **load balancers** that are real reverse proxies on their own address, with DigitalOcean's
//!   health check semantics;
//! - **reserved IPs** that are real TCP forwarders on their own address to the droplet they are
//!   assigned to; assignment happens when the action completes, and a move breaks the
//!   connections open through the IP and refuses new ones for a blackout, as on DigitalOcean
//!   ([the model](crate#the-model));
//! - **fault injection** ([`Faults`]) and **control endpoints** under `/_sim` (see
//!   [`control`](crate#control-endpoints));
//! - a **traffic generator**, [`traffic::Load`], and the formulas of the figures a benchmark
//!   reports from it ([`bench`](mod@bench): lower bounds, the fixed-sleep baseline, targets).
//!
//! Droplets, load balancers and reserved IPs all listen on one port, [`Sim::app_port`], each on
//! its own address, so `http://<ip>:<port>/health` works for any of them.
//!
//! ```no_run
//! use do_sim::{Sim, SimConfig};
//!
//! # async fn run() -> Result<(), do_sim::SimError> {
//! let sim = Sim::start(SimConfig::blue_green_and_fleet().time_scale(0.1)).await?;
//! let client = sim.client();
//! let prod = sim.droplet("prod").unwrap();
//! sim.deploy(prod.id, "v2")?;
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Droplet apps
//!
//! `GET /` (any path but `/health`) answers 200 `{"droplet_id":N,"name":"..","version":".."}`
//! with headers `x-droplet-id` and `x-app-version`; `?sleep_ms=N` holds the answer. `GET
//! /health` answers 200 when ready, 503 after `POST /drain` or when never healthy. `POST
//! /connection-close[?seconds=N]` stops keeping connections alive for N seconds (default 60):
//! answers say `Connection: close` and idle connections close (what zdd-do's pre-switch hook asks
//! of the live droplet before a reserved IP moves). A deploy
//! restarts the app: requests in flight finish, then for the boot time every connection is
//! reset, then the new version answers. Droplets created through the API boot when their
//! create action completes; powered-off droplets reset connections.
//!
//! A **flawed release** ([`Flaw`]: from a snapshot made with [`ImageSpec::failing`] /
//! [`ImageSpec::slower`] or `POST /_sim/images`, or a version deployed with a flaw,
//! [`Faults::flawed_version`]) passes its health check but fails its users: every `GET` but
//! `/health` waits the added latency first (wall time, not scaled: it is the app's own response
//! time, not a DigitalOcean duration), then the n-th one since the app process started answers
//! 500 `{"droplet_id","name","version","error":"the release failed this request"}` when
//! ⌊n·share⌋ > ⌊(n−1)·share⌋. Deterministic, so that a test can rely on the share: 0.05 fails
//! exactly the 20th, 40th, ... request. A deploy of a version without flaw clears it.
//!
//! # Control endpoints
//!
//! On the API server, without a token: `GET /_sim/state`, `GET /_sim/stats`,
//! `POST /_sim/droplets/{id|name|ip}/deploy` (`{"version":"v2"}` or `?version=v2`),
//! `POST /_sim/droplets/{d}/drain`, `POST /_sim/droplets/{d}/never_healthy[?on=false]`,
//! `GET|PUT /_sim/faults`, `POST /_sim/images` (`{"name":"app-v2","version":"v2"}`, optional
//! `"never_healthy": true`, `"fail_share": 0.05` (0 to 1) and `"added_latency_ms": 200` (wall
//! time): a snapshot of a broken or flawed release). A deploy hook can run
//! `curl -fsS -X POST "$SIM/_sim/droplets/$DROPLET_IP/deploy?version=$VERSION"`.
//!
//! # Time
//!
//! DigitalOcean durations (action latency, boot time, health check seconds, idle timeouts) are
//! multiplied by [`SimConfig::time_scale`]. The blackout after a reserved IP's move is not: it is
//! the network's, and a faster rehearsal does not shorten it. The Monitoring API's metrics
//! period ([`SimConfig::metrics_period`]) is scaled too, then rounded to whole seconds (at least
//! 1 s). A flawed release's added latency ([`Flaw`]) is not scaled: it is the app's own response
//! time.
//!
//! # The model
//!
//! Every behaviour the simulator models, where it comes from, and what it assumes where
//! DigitalOcean documents nothing. Where a choice had to be made, the harsher one was taken:
//! the simulator is the proof that a deploy drops no request, so it must not be kinder than
//! DigitalOcean.
//!
//! | behaviour | modelled as | source, or assumption |
//! | --- | --- | --- |
//! | reserved IP move (assign or unassign completed, holder deleted) | every connection open through the IP breaks: one with a request in flight is reset at once, an idle one when the client next sends (its next request fails before any answer) | digitalocean/flipop, README, TODO: "Moving IPs has a cost. It breaks all active connections, has a momentary period where connections will fail, and risks errors" |
//! | blackout after a move | new connections are reset for 1 s ([`IpMoves`], wall time) | assumption: flipop's "momentary period" has no figure and DigitalOcean's docs promise only that reserved IPs "instantly remap"; 1 s is harsher than the 0.3 s an outside measurement used |
//! | when a move takes effect | when the assign (or unassign) action completes, not when it is accepted | assumption: the API answers with an `in-progress` action (`reserved_ips_actions`); nothing says the remap happens earlier |
//! | action latency | 3 s by default, in wall time whether or not anyone polls | assumption: not published |
//! | droplet create | `new` until its create action completes 60 s later ([`SimConfig::create_latency`]), then `active` while its app boots (the boot time); deleting it stops its server | assumption: DigitalOcean publishes no create time; a minute is at the slow end of what users see, so the surge of a replace is not flattered |
//! | reserved IP locked during an action | a second action is refused with 422 | the API's `locked` field (`models/reserved_ip.yml`) |
//! | droplet deploy, reboot, power on | the app restarts: requests in flight finish, new connections are reset for the boot time (5 s by default) | assumption: a process restart as systemd does it; boot time is not published |
//! | load balancer health checks | every `check_interval_seconds`, `GET path` passing below 400 within `response_timeout_seconds`; out after `unhealthy_threshold` failures in a row, in after `healthy_threshold` passes | `resources/load_balancers/models/health_check.yml` |
//! | a droplet that joins a load balancer | starts unhealthy: no request until `healthy_threshold` passes | `health_check.yml`: "must pass for a backend Droplet to be marked healthy and be re-added to the pool" |
//! | a droplet that leaves a load balancer | no new request from that moment; requests already sent complete | assumption: DigitalOcean documents no deregistration delay; zdd-do watches instead of trusting either way |
//! | `enable_backend_keepalive` | backend connections are reused only when true (default false) | `models/load_balancer_base.yml` |
//! | `http_idle_timeout_seconds` | a client connection idle that long (default 60, scaled) is closed; a request being served finishes first | `models/load_balancer_base.yml` |
//! | forwarding rules | the proxy listens on and sends to the app port, and the rules in the API say so (requested ports are replaced), so the entry point can be derived from the API | deviation: loopback addresses, one port |
//! | `https` health checks and rules | plain HTTP | deviation: no TLS |
//! | the API's transport | plain HTTP on 127.0.0.1 by default; with [`SimConfig::tls`], HTTPS with a certificate for `127.0.0.1` and `localhost` signed by a CA generated at start ([`Sim::ca_pem`]) | deviation: DigitalOcean's API is HTTPS under a public CA; official clients (pydo) refuse to send a token over plain HTTP |
//! | images | public base images by slug (`ubuntu-22-04-x64`, `ubuntu-24-04-x64`, `debian-12-x64`) and private snapshots by id ([`ImageSpec`], `POST /_sim/images`); a droplet created from a snapshot runs the release baked into it, one from a base image the default version; an unknown image or size is refused with 422 "You specified an invalid image (size) for Droplet creation." | `resources/images/models/image.yml` (private images are found by id only, `images_get.yml`); the image message as users report it from the API (matt-major-zz/do-wrapper#37, pry0cc/axiom#92); the size message is assumed by analogy |
//! | sizes | four Basic sizes with DigitalOcean's list prices (`s-1vcpu-1gb` $6 a month, $0.00893 an hour, ...), offered in the simulator's region | `resources/sizes/models/size.yml`; DigitalOcean's pricing page; per-second billing since 1 January 2026 |
//! | droplet limit | `GET /v2/account` reports it (25 by default); a create that would exceed it is refused with 422 `unprocessable_entity` "creating this/these droplet(s) will exceed your droplet limit" | `models/account.yml` (`droplet_limit`); the message as users report it from the API (OpenRouterLabs/spawn#3059, pry0cc/axiom#422) |
//! | rate limit | 5,000 requests per rolling hour with `ratelimit-*` headers, then real 429s; injected 429s with `Retry-After` on demand ([`Faults`]) | DigitalOcean API reference, "Rate Limit" |
//! | pagination | `per_page` up to 200, `links.pages.next` | the API reference's `links` model |
//! | answer shapes | the official description's models, which do-api decodes | `specification/` |
//! | flawed releases | a release ([`Flaw`]) fails a share of its users' requests with 500 (deterministically: the n-th `GET` since the process started fails when ⌊n·share⌋ grows) and/or answers them late (wall time), while `/health` stays 200 and the load balancer keeps it in rotation | assumption, not a DigitalOcean behaviour: what a bad release looks like to its users; one that passes its health check is what only canary analysis (the users' answers, the load balancer's metrics) can catch |
//! | Monitoring API: load-balancer metrics | `GET /v2/monitoring/metrics/load_balancer/{droplets_http_responses, droplets_http_response_time_95p, droplets_health_checks, frontend_http_responses}?lb_id&start&end` from what the proxy served and its health checks: answers a second per droplet and class, each droplet's 95th-percentile response time (s, from sending the request to the answer's head; a 502 of the proxy's own is the droplet's 5xx, timed to the failure; from a histogram of 16 bins per doubling, so never below the true value and at most 4.4 % above), the share of its health checks passed, the load balancer's own answers a second per class (its 503 and 502 included); closed periods only, a sample at its period's end, none where a droplet had no data (where it answered, 0 for a class it has a series for but did not answer with); auth, quota and faults as every `/v2` call; an unknown `lb_id` is a 404, a missing or malformed parameter a 400 | the shape: `resources/monitoring/models/metrics.yml`, `metrics_data.yml`, `metrics_result.yml` and the `monitoring_get_lb_*.yml` operations; the labels `lb_id` (every series), `droplet_id` (per droplet) and `class` (`2xx`, `5xx`, ...) are the simulator's assumption: DigitalOcean documents only `lb_id` for load-balancer metrics |
//! | metrics resolution | one sample per [`SimConfig::metrics_period`] (60 s, scaled, whole seconds, at least 1 s), buckets aligned to unix time; the last 1500 periods are kept | assumption: DigitalOcean documents no resolution for these metrics (the spec says nothing; the control panel's graphs show per-minute points) |

mod api;
mod app;
pub mod bench;
mod config;
mod control;
mod forward;
mod images;
mod lb;
mod metrics;
mod state;
mod stats;
mod tls;
pub mod traffic;
mod util;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use do_api::load_balancers::ForwardingRule;
use do_api::load_balancers::{EntryProtocol, TargetProtocol};
use do_api::{ActionId, DropletId, LoadBalancerId};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use config::{
    DropletSpec, Faults, Flaw, ImageSpec, IpMoves, LbSpec, LbTarget, ReservedIpSpec, SIM_TOKEN,
    SimConfig,
};
pub use control::{remote_deploy, remote_snapshot};
pub use stats::{IpStats, LbStats, SimStats};

use crate::app::App;
use crate::state::{DropletRec, Health, IpRec, Shared};
use crate::util::{AddrAlloc, HostKind};

/// What can go wrong starting or driving a simulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The configuration is inconsistent.
    #[error("simulator configuration: {0}")]
    Config(String),
    /// A socket could not be bound.
    #[error("simulator could not listen: {0}")]
    Bind(#[from] std::io::Error),
    /// No such droplet, load balancer or reserved IP.
    #[error("{0}")]
    NotFound(String),
    /// A condition was not met in time.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        waited: Duration,
    },
}

/// A droplet as the simulator sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DropletInfo {
    /// Its id.
    pub id: DropletId,
    /// Its name.
    pub name: String,
    /// Its loopback address (public and private IPv4 in the API).
    pub addr: Ipv4Addr,
    /// `http://addr:port/`.
    pub url: String,
    /// `new`, `active` or `off`.
    pub status: String,
    /// The version its app runs (or is booting).
    pub version: String,
    /// Whether `/health` passes now.
    pub ready: bool,
    /// Whether its app accepts connections (booted, powered on).
    pub up: bool,
    /// Whether it was drained.
    pub drained: bool,
    /// Its tags.
    pub tags: Vec<String>,
    /// Requests its app has answered.
    pub requests_served: u64,
    /// The flaw of the release it runs, if any ([`Flaw`]).
    pub flaw: Option<Flaw>,
}

/// A load balancer as the simulator sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LbInfo {
    /// Its id.
    pub id: LoadBalancerId,
    /// Its name.
    pub name: String,
    /// Its loopback address (`ip` in the API).
    pub addr: Ipv4Addr,
    /// `http://addr:port/`.
    pub url: String,
    /// `new` or `active`.
    pub status: String,
    /// The tag it selects droplets by, if any.
    pub tag: Option<String>,
    /// Droplets it covers.
    pub members: Vec<DropletId>,
    /// Droplets it sends traffic to (covered and healthy).
    pub in_rotation: Vec<DropletId>,
    /// Requests sent on to a droplet and not answered yet, by droplet (absent = none): wait
    /// for zero after taking a droplet out, before restarting it.
    pub in_flight: std::collections::BTreeMap<DropletId, u64>,
}

/// A reserved IP as the simulator sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ReservedIpInfo {
    /// Its loopback address.
    pub ip: Ipv4Addr,
    /// `http://ip:port/`.
    pub url: String,
    /// The droplet it forwards to.
    pub holder: Option<DropletId>,
    /// The action in progress on it.
    pub pending_action: Option<ActionId>,
}

/// Everything at once (`GET /_sim/state`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SimView {
    /// The API's base URL.
    pub api_url: String,
    /// The port every droplet, load balancer and reserved IP listens on.
    pub app_port: u16,
    /// Droplets by id.
    pub droplets: Vec<DropletInfo>,
    /// Load balancers.
    pub load_balancers: Vec<LbInfo>,
    /// Reserved IPs.
    pub reserved_ips: Vec<ReservedIpInfo>,
}

impl std::fmt::Display for SimView {
    /// What `zdd-do sim` can print: the API URL, then every host with its address.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "API             {} (any bearer token)", self.api_url)?;
        writeln!(f, "app port        {}", self.app_port)?;
        writeln!(f, "droplets")?;
        for d in &self.droplets {
            writeln!(
                f,
                "  {:<10} {:<14} {:<28} {:<8} {:<9} tags {}",
                d.id,
                d.name,
                d.url,
                d.version,
                if d.ready { "ready" } else { "not ready" },
                d.tags.join(",")
            )?;
        }
        if !self.load_balancers.is_empty() {
            writeln!(f, "load balancers")?;
        }
        for lb in &self.load_balancers {
            writeln!(
                f,
                "  {:<10} {:<28} {} in rotation {}/{}",
                lb.name,
                lb.url,
                lb.tag
                    .as_deref()
                    .map_or_else(|| "droplets".to_owned(), |t| format!("tag {t},")),
                lb.in_rotation.len(),
                lb.members.len()
            )?;
        }
        if !self.reserved_ips.is_empty() {
            writeln!(f, "reserved IPs")?;
        }
        for ip in &self.reserved_ips {
            let holder = ip
                .holder
                .and_then(|h| self.droplets.iter().find(|d| d.id == h));
            writeln!(
                f,
                "  {:<15} {:<28} -> {}",
                ip.ip,
                ip.url,
                holder.map_or_else(|| "nobody".to_owned(), |d| format!("{} ({})", d.name, d.id))
            )?;
        }
        Ok(())
    }
}

/// A running simulator. Dropping it stops every server; [`Sim::shutdown`] also waits for the
/// API server to finish.
#[derive(Debug)]
pub struct Sim {
    sh: Arc<Shared>,
    api_addr: SocketAddr,
    api_task: Option<tokio::task::JoinHandle<()>>,
    ca_pem: Option<String>,
}

fn url(addr: Ipv4Addr, port: u16) -> String {
    format!("http://{}/", SocketAddr::from((addr, port)))
}

pub(crate) fn view(sh: &Shared) -> SimView {
    let st = sh.lock();
    let port = sh.port;
    let droplets = st
        .droplets
        .values()
        .map(|d| {
            let v = d.app.view();
            DropletInfo {
                id: DropletId(d.id),
                name: d.name.clone(),
                addr: d.app.addr,
                url: url(d.app.addr, port),
                status: d.status.to_owned(),
                version: v.version,
                ready: v.ready,
                up: v.up,
                drained: v.drained,
                tags: d.tags.clone(),
                requests_served: v.served,
                flaw: (!v.flaw.is_none()).then_some(v.flaw),
            }
        })
        .collect();
    let load_balancers = st
        .lbs
        .values()
        .map(|lb| {
            let members = st.members(lb);
            let in_rotation = members
                .iter()
                .filter(|d| lb.health.get(d).is_some_and(|h| h.healthy))
                .map(|d| DropletId(*d))
                .collect();
            LbInfo {
                id: LoadBalancerId(lb.id.clone()),
                name: lb.name.clone(),
                addr: lb.addr,
                url: url(lb.addr, port),
                status: lb.status.to_owned(),
                tag: lb.tag.clone(),
                members: members.into_iter().map(DropletId).collect(),
                in_rotation,
                in_flight: lb
                    .in_flight
                    .iter()
                    .map(|(d, n)| (DropletId(*d), *n))
                    .collect(),
            }
        })
        .collect();
    let reserved_ips = st
        .ips
        .values()
        .map(|r| ReservedIpInfo {
            ip: r.ip,
            url: url(r.ip, port),
            holder: r.holder.map(DropletId),
            pending_action: r.pending.map(ActionId),
        })
        .collect();
    SimView {
        api_url: format!("{}/", sh.base()),
        app_port: port,
        droplets,
        load_balancers,
        reserved_ips,
    }
}

pub(crate) fn stats_of(sh: &Shared) -> SimStats {
    let st = sh.lock();
    let s = &st.stats;
    SimStats {
        api_total: s.api_calls.values().sum(),
        api_calls: s.api_calls.clone(),
        unauthorized: s.unauthorized,
        injected_429: s.injected_429,
        injected_5xx: s.injected_5xx,
        rate_limited: s.rate_limited,
        actions_started: s.actions_started,
        actions_errored: s.actions_errored,
        deploys: s.deploys,
        load_balancers: st
            .lbs
            .values()
            .map(|lb| (lb.name.clone(), lb.stats.clone()))
            .collect(),
        reserved_ips: st
            .ips
            .values()
            .map(|r| (r.ip.to_string(), r.stats.clone()))
            .collect(),
    }
}

pub(crate) fn set_faults_in(sh: &Shared, f: Faults) {
    let mut st = sh.lock();
    st.errored_left = f.errored_actions;
    st.faults = f;
}

fn check_config(cfg: &SimConfig) -> Result<(), SimError> {
    let names: Vec<&str> = cfg.droplets.iter().map(|d| d.name.as_str()).collect();
    for (i, n) in names.iter().enumerate() {
        if n.is_empty() {
            return Err(SimError::Config("a droplet has an empty name".into()));
        }
        if names[..i].contains(n) {
            return Err(SimError::Config(format!(
                "two droplets are named `{n}`; names identify droplets here"
            )));
        }
    }
    for ip in &cfg.reserved_ips {
        if let Some(h) = &ip.holder
            && !names.contains(&h.as_str())
        {
            return Err(SimError::Config(format!(
                "a reserved IP is held by `{h}`, which is not a droplet"
            )));
        }
    }
    for lb in &cfg.load_balancers {
        if let LbTarget::Droplets(ds) = &lb.target
            && let Some(d) = ds.iter().find(|d| !names.contains(&d.as_str()))
        {
            return Err(SimError::Config(format!(
                "load balancer `{}` lists `{d}`, which is not a droplet",
                lb.name
            )));
        }
    }
    if !(cfg.time_scale.is_finite() && cfg.time_scale > 0.0) {
        return Err(SimError::Config(format!(
            "time scale {} must be a positive number",
            cfg.time_scale
        )));
    }
    Ok(())
}

impl Sim {
    /// Start every server of `cfg`: the API on 127.0.0.1, then droplets, reserved IPs and load
    /// balancers on their own loopback addresses and one common port. Droplets configured here
    /// run their version from the start, and load balancers consider the droplets they cover
    /// healthy from the start.
    pub async fn start(cfg: SimConfig) -> Result<Sim, SimError> {
        check_config(&cfg)?;
        let mut alloc = AddrAlloc::new(util::pick_block());
        let mut addrs = Vec::new();
        let next = |alloc: &mut AddrAlloc, kind| {
            alloc
                .next(kind)
                .ok_or_else(|| SimError::Config("too many hosts for one simulator".into()))
        };
        for _ in &cfg.droplets {
            addrs.push(next(&mut alloc, HostKind::Droplet)?);
        }
        let n_d = addrs.len();
        for _ in &cfg.reserved_ips {
            addrs.push(next(&mut alloc, HostKind::ReservedIp)?);
        }
        let n_ip = addrs.len();
        for _ in &cfg.load_balancers {
            addrs.push(next(&mut alloc, HostKind::LoadBalancer)?);
        }
        // Keep at least one address so that the common port exists even for an empty account.
        let probe_addr = next(&mut alloc, HostKind::Droplet)?;
        addrs.push(probe_addr);
        let (port, mut listeners) = util::bind_common(&addrs).await?;
        listeners.pop();
        let api = TcpListener::bind((Ipv4Addr::LOCALHOST, cfg.api_port)).await?;
        let api_addr = api.local_addr()?;
        let tls = if cfg.tls {
            Some(tls::generate().map_err(|e| SimError::Config(format!("TLS: {e}")))?)
        } else {
            None
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let cfg_copy = cfg.clone();
        let sh = Arc::new(Shared::new(cfg, port, alloc));
        let _ = sh.api_base.set(format!("{scheme}://{api_addr}"));
        let mut listeners = listeners.into_iter();
        {
            let mut st = sh.lock();
            let mut by_name = std::collections::HashMap::new();
            // Droplets present at start were created from the first base image.
            let base_image = images::image_json(&st.images[0], &cfg_copy.region);
            for (spec, addr) in cfg_copy.droplets.iter().zip(&addrs[..n_d]) {
                let listener = listeners.next().expect("one listener per address");
                let id = st.next_droplet;
                st.next_droplet += 1;
                let app = App::new(id, *addr, &spec.name, &spec.version, true);
                app.set_broken(spec.never_healthy);
                app.set_flaw(cfg_copy.faults.flaw_of(&spec.version));
                let gone = watch::channel(false).0;
                tokio::spawn(app::serve(
                    app.clone(),
                    listener,
                    sh.stop.subscribe(),
                    gone.subscribe(),
                ));
                for t in &spec.tags {
                    st.ensure_tag(t);
                }
                st.droplets.insert(
                    id,
                    DropletRec {
                        id,
                        name: spec.name.clone(),
                        tags: spec.tags.clone(),
                        status: "active",
                        created_at: util::now_iso(),
                        region: cfg_copy.region.clone(),
                        size: "s-1vcpu-1gb".into(),
                        image: base_image.clone(),
                        app,
                        gone,
                    },
                );
                by_name.insert(spec.name.clone(), id);
            }
            for (spec, addr) in cfg_copy.reserved_ips.iter().zip(&addrs[n_d..n_ip]) {
                let listener = listeners.next().expect("one listener per address");
                let gone = watch::channel(false).0;
                tokio::spawn(forward::serve(
                    sh.clone(),
                    *addr,
                    listener,
                    sh.stop.subscribe(),
                    gone.subscribe(),
                ));
                st.ips.insert(
                    *addr,
                    IpRec {
                        ip: *addr,
                        region: cfg_copy.region.clone(),
                        holder: spec.holder.as_ref().map(|h| by_name[h]),
                        pending: None,
                        stats: IpStats::default(),
                        gone,
                        moved: watch::channel(0).0,
                        blackout_until: None,
                    },
                );
            }
            for (spec, addr) in cfg_copy.load_balancers.iter().zip(&addrs[n_ip..]) {
                let listener = listeners.next().expect("one listener per address");
                let mut hc = spec.health_check.clone();
                hc.port = port;
                let (tag, droplet_ids) = match &spec.target {
                    LbTarget::Tag(t) => {
                        st.ensure_tag(t);
                        (Some(t.clone()), Vec::new())
                    }
                    LbTarget::Droplets(ds) => (None, ds.iter().map(|d| by_name[d]).collect()),
                };
                let parts = api::LbSpecParts {
                    name: spec.name.clone(),
                    region: cfg_copy.region.clone(),
                    rules: vec![ForwardingRule::new(
                        EntryProtocol::Http,
                        port,
                        TargetProtocol::Http,
                        port,
                    )],
                    hc,
                    sticky: None,
                    tag,
                    droplet_ids,
                    settings: Default::default(),
                };
                let id = api::insert_lb(&sh, &mut st, *addr, listener, parts, "active");
                let members = st.members(&st.lbs[&id]);
                if let Some(lb) = st.lbs.get_mut(&id) {
                    let passes = lb.hc.healthy_threshold;
                    for m in members {
                        lb.health.insert(
                            m,
                            Health {
                                healthy: true,
                                passes,
                                fails: 0,
                            },
                        );
                    }
                }
            }
        }
        let router = api::router(sh.clone());
        let mut stop = sh.stop.subscribe();
        let ca_pem = tls.as_ref().map(|t| t.ca_pem.clone());
        let api_task = match tls {
            Some(tls) => tokio::spawn(tls::serve(tls, api, router, stop)),
            None => tokio::spawn(async move {
                let _ = axum::serve(api, router)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|s| *s).await;
                    })
                    .await;
            }),
        };
        Ok(Sim {
            sh,
            api_addr,
            api_task: Some(api_task),
            ca_pem,
        })
    }

    /// The API's base URL: `http://127.0.0.1:PORT/`, or `https://` with [`SimConfig::tls`].
    pub fn api_url(&self) -> String {
        format!("{}/", self.sh.base())
    }

    /// With [`SimConfig::tls`], the PEM certificate of the CA that signed the API's certificate
    /// (made at start, for this run only): what a client must trust. `None` over plain HTTP.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The API server's address.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The id of the image named `name` (a snapshot of [`SimConfig::images`] or one added with
    /// `POST /_sim/images`; the first of that name).
    pub fn image_id(&self, name: &str) -> Option<do_api::ImageId> {
        let st = self.sh.lock();
        st.images
            .iter()
            .find(|i| i.name == name)
            .map(|i| do_api::ImageId(i.id))
    }

    /// A token to send (any non-empty bearer token is accepted).
    pub fn token(&self) -> &'static str {
        SIM_TOKEN
    }

    /// A do-api client builder pointed at this simulator, with its token.
    pub fn client_builder(&self) -> do_api::ClientBuilder {
        let b = do_api::Client::builder()
            .base_url(self.api_url())
            .token(do_api::Token::new(SIM_TOKEN).expect("constant token is valid"));
        match self.ca_pem() {
            Some(pem) => b.root_certificates_pem(pem),
            None => b,
        }
    }

    /// A do-api client for this simulator with default settings.
    pub fn client(&self) -> do_api::Client {
        self.client_builder()
            .build()
            .expect("a loopback base URL and a token make a client")
    }

    /// The port every droplet, load balancer and reserved IP listens on.
    pub fn app_port(&self) -> u16 {
        self.sh.port
    }

    /// `http://addr:app_port/`.
    pub fn url_of(&self, addr: Ipv4Addr) -> String {
        url(addr, self.sh.port)
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &SimConfig {
        &self.sh.cfg
    }

    /// `d` in simulator wall time (multiplied by the time scale).
    pub fn scaled(&self, d: Duration) -> Duration {
        self.sh.scaled(d)
    }

    /// The Monitoring API's metrics period in wall time ([`SimConfig::metrics_period`] scaled,
    /// rounded to whole seconds, at least 1 s): samples are this far apart, at multiples of it
    /// in unix time.
    pub fn metrics_period(&self) -> Duration {
        Duration::from_secs(self.sh.cfg.metrics_period_secs())
    }

    /// Everything at once.
    pub fn view(&self) -> SimView {
        view(&self.sh)
    }

    /// Every droplet.
    pub fn droplets(&self) -> Vec<DropletInfo> {
        self.view().droplets
    }

    /// The droplet named `name` (or with that id or address).
    pub fn droplet(&self, name: &str) -> Option<DropletInfo> {
        let id = self.sh.lock().find_droplet(name)?;
        self.droplets().into_iter().find(|d| d.id.0 == id)
    }

    /// Droplet `id`.
    pub fn droplet_by_id(&self, id: DropletId) -> Option<DropletInfo> {
        self.droplets().into_iter().find(|d| d.id == id)
    }

    /// Every load balancer.
    pub fn load_balancers(&self) -> Vec<LbInfo> {
        self.view().load_balancers
    }

    /// The load balancer named `name`.
    pub fn load_balancer(&self, name: &str) -> Option<LbInfo> {
        self.load_balancers().into_iter().find(|l| l.name == name)
    }

    /// Every reserved IP.
    pub fn reserved_ips(&self) -> Vec<ReservedIpInfo> {
        self.view().reserved_ips
    }

    /// Deploy `version` to droplet `id`: its app restarts (requests in flight finish, new
    /// connections are reset during the boot time) and then answers with `version`.
    pub fn deploy(&self, id: DropletId, version: &str) -> Result<(), SimError> {
        if self.sh.deploy(id.0, version) {
            Ok(())
        } else {
            Err(SimError::NotFound(format!("no droplet {id}")))
        }
    }

    fn with_app(&self, id: DropletId, f: impl FnOnce(&App)) -> Result<(), SimError> {
        let st = self.sh.lock();
        let rec = st
            .droplets
            .get(&id.0)
            .ok_or_else(|| SimError::NotFound(format!("no droplet {id}")))?;
        f(&rec.app);
        Ok(())
    }

    /// Make droplet `id`'s health check fail from now on (until its next deploy).
    pub fn drain(&self, id: DropletId) -> Result<(), SimError> {
        self.with_app(id, App::drain)
    }

    /// Make droplet `id` never healthy (or healthy again).
    pub fn set_never_healthy(&self, id: DropletId, on: bool) -> Result<(), SimError> {
        self.with_app(id, |a| a.set_broken(on))
    }

    /// Replace the faults (this also resets the count of actions to end errored).
    pub fn set_faults(&self, f: Faults) {
        set_faults_in(&self.sh, f);
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        self.sh.lock().faults.clone()
    }

    /// The counters.
    pub fn stats(&self) -> SimStats {
        stats_of(&self.sh)
    }

    /// Poll `cond` every 5 ms until it holds, or fail after `timeout`.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        mut cond: impl FnMut(&Sim) -> bool,
    ) -> Result<(), SimError> {
        let start = tokio::time::Instant::now();
        loop {
            if cond(self) {
                return Ok(());
            }
            if start.elapsed() >= timeout {
                return Err(SimError::Timeout {
                    what: what.to_owned(),
                    waited: start.elapsed(),
                });
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Stop every server and wait for the API server to finish.
    pub async fn shutdown(mut self) {
        self.sh.stop.send_replace(true);
        if let Some(t) = self.api_task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.sh.stop.send_replace(true);
    }
}
