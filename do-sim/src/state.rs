//! The simulator's state: droplets, tags, load balancers, reserved IPs and actions, how each
//! looks in an API answer (the shapes of the official description, which do-api's models
//! decode), and the changes actions make when they end.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use do_api::load_balancers::{ForwardingRule, HealthCheck, StickySessions};
use do_api::{ActionStatus, ActionType};
use http_body_util::combinators::BoxBody;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::App;
use crate::config::{Faults, SimConfig};
use crate::stats::{IpStats, LbStats, StatsInner};
use crate::util::{AddrAlloc, HostKind, Rng, now_iso};

/// The body type the load balancer forwards.
pub(crate) type ProxyBody = BoxBody<bytes::Bytes, hyper::Error>;

#[derive(Debug)]
pub(crate) struct DropletRec {
    pub id: u64,
    pub name: String,
    pub tags: Vec<String>,
    pub status: &'static str,
    pub created_at: String,
    pub region: String,
    pub size: String,
    /// The image it was created from, as `droplet.image` shows it.
    pub image: Value,
    pub app: Arc<App>,
    pub gone: watch::Sender<bool>,
}

/// One backend's health as a load balancer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Health {
    pub healthy: bool,
    pub passes: u32,
    pub fails: u32,
}

#[derive(Debug)]
pub(crate) struct LbRec {
    pub id: String,
    pub name: String,
    pub addr: Ipv4Addr,
    pub status: &'static str,
    pub created_at: String,
    pub region: String,
    pub rules: Vec<ForwardingRule>,
    pub hc: HealthCheck,
    pub sticky: Option<StickySessions>,
    pub tag: Option<String>,
    pub droplet_ids: Vec<u64>,
    /// Other settings sent on create or update, echoed back as sent.
    pub settings: Map<String, Value>,
    pub health: BTreeMap<u64, Health>,
    /// Requests sent on and not answered yet, by droplet.
    pub in_flight: BTreeMap<u64, u64>,
    pub rr: usize,
    pub stats: LbStats,
    /// What the Monitoring API reports for it.
    pub metrics: crate::metrics::LbMetrics,
    pub gone: watch::Sender<bool>,
}

impl LbRec {
    pub(crate) fn keepalive(&self) -> bool {
        self.settings
            .get("enable_backend_keepalive")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// `http_idle_timeout_seconds` (`models/load_balancer_base.yml`: default 60, 30 to 600): an
    /// idle client connection is closed after that long.
    pub(crate) fn idle_timeout_secs(&self) -> u64 {
        self.settings
            .get("http_idle_timeout_seconds")
            .and_then(Value::as_u64)
            .unwrap_or(60)
    }
}

#[derive(Debug)]
pub(crate) struct IpRec {
    pub ip: Ipv4Addr,
    pub region: String,
    pub holder: Option<u64>,
    pub pending: Option<u64>,
    pub stats: IpStats,
    pub gone: watch::Sender<bool>,
    /// Bumped when an assign or unassign completes: connections open through the IP are reset.
    pub moved: watch::Sender<u64>,
    /// New connections fail until then (the blackout after a move).
    pub blackout_until: Option<tokio::time::Instant>,
}

impl IpRec {
    /// A move completed (assign, unassign, or the holder deleted): with the move model on,
    /// every connection open through the IP is reset and new ones fail for the blackout.
    /// See [`crate::config::IpMoves`] for the sources.
    pub(crate) fn moved(&mut self, model: &crate::config::IpMoves) {
        if !model.resets {
            return;
        }
        self.moved.send_modify(|n| *n += 1);
        self.stats.moves += 1;
        if !model.blackout.is_zero() {
            self.blackout_until = Some(tokio::time::Instant::now() + model.blackout);
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ActionRec {
    pub id: u64,
    pub kind: ActionType,
    pub status: ActionStatus,
    pub started_at: String,
    pub completed_at: Option<String>,
    pub resource_id: u64,
    pub resource_type: &'static str,
    pub region: String,
}

/// What an action does when it completes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    None,
    DropletActive(u64),
    Assign { ip: Ipv4Addr, droplet: u64 },
    Unassign { ip: Ipv4Addr },
    PowerOff(u64),
    PowerOn(u64),
    Reboot(u64),
    Rename(u64, String),
}

#[derive(Debug)]
pub(crate) struct State {
    pub droplets: BTreeMap<u64, DropletRec>,
    pub tags: BTreeSet<String>,
    pub lbs: BTreeMap<String, LbRec>,
    pub ips: BTreeMap<Ipv4Addr, IpRec>,
    pub actions: BTreeMap<u64, ActionRec>,
    pub next_droplet: u64,
    pub next_action: u64,
    pub next_lb: u64,
    pub addrs: AddrAlloc,
    pub faults: Faults,
    pub errored_left: u32,
    pub rng: Rng,
    pub stats: StatsInner,
    /// Unix seconds of the requests counted against the hourly quota.
    pub quota: VecDeque<u64>,
    /// Images droplets can be created from: the public base images first, then snapshots.
    pub images: Vec<crate::images::ImageRec>,
}

/// Everything the servers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub st: Mutex<State>,
    pub cfg: SimConfig,
    pub port: u16,
    pub api_base: OnceLock<String>,
    pub stop: watch::Sender<bool>,
    pub proxy_keepalive: HttpClient<HttpConnector, ProxyBody>,
    pub proxy_fresh: HttpClient<HttpConnector, ProxyBody>,
}

impl Shared {
    pub(crate) fn new(cfg: SimConfig, port: u16, addrs: AddrAlloc) -> Shared {
        let build = |idle: usize| {
            let mut conn = HttpConnector::new();
            conn.set_nodelay(true);
            conn.set_connect_timeout(Some(Duration::from_secs(5)));
            HttpClient::builder(hyper_util::rt::TokioExecutor::new())
                .pool_max_idle_per_host(idle)
                .pool_idle_timeout(Duration::from_secs(30))
                .build(conn)
        };
        let faults = cfg.faults.clone();
        let mut images = crate::images::base_images();
        for (n, spec) in cfg.images.iter().enumerate() {
            images.push(crate::images::snapshot(
                crate::images::FIRST_SNAPSHOT_ID + n as u64,
                &spec.name,
                &spec.version,
                spec.never_healthy,
                spec.flaw,
            ));
        }
        Shared {
            st: Mutex::new(State {
                droplets: BTreeMap::new(),
                tags: BTreeSet::new(),
                lbs: BTreeMap::new(),
                ips: BTreeMap::new(),
                actions: BTreeMap::new(),
                next_droplet: 3_164_444,
                next_action: 36_804_636,
                next_lb: 1,
                addrs,
                errored_left: faults.errored_actions,
                faults,
                rng: Rng::new(cfg.seed),
                stats: StatsInner::default(),
                quota: VecDeque::new(),
                images,
            }),
            port,
            api_base: OnceLock::new(),
            stop: watch::channel(false).0,
            proxy_keepalive: build(32),
            proxy_fresh: build(0),
            cfg,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn scaled(&self, d: Duration) -> Duration {
        self.cfg.scaled(d)
    }

    pub(crate) fn base(&self) -> &str {
        self.api_base
            .get()
            .map_or("http://127.0.0.1", String::as_str)
    }

    /// A new address of `kind` with a listener on the app port; skips addresses where the
    /// port is taken.
    pub(crate) async fn bind_new(
        &self,
        kind: HostKind,
    ) -> std::io::Result<(Ipv4Addr, TcpListener)> {
        let mut last = None;
        for _ in 0..64 {
            let Some(addr) = self.lock().addrs.next(kind) else {
                break;
            };
            match TcpListener::bind((addr, self.port)).await {
                Ok(l) => return Ok((addr, l)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no loopback address left")))
    }

    /// Boot time, scaled.
    pub(crate) fn boot(&self) -> Duration {
        self.scaled(self.cfg.boot_time)
    }

    /// A load balancer's empty metrics, at the configured period.
    pub(crate) fn new_metrics(&self) -> crate::metrics::LbMetrics {
        crate::metrics::LbMetrics::new(self.cfg.metrics_period_secs())
    }

    /// Start an action that ends after the action latency (in wall time, whether or not
    /// anyone polls), with `effect` applied if it completes.
    pub(crate) fn start_action(
        self: &Arc<Self>,
        st: &mut State,
        kind: ActionType,
        resource_id: u64,
        resource_type: &'static str,
        effect: Effect,
    ) -> u64 {
        let id = st.next_action;
        st.next_action += 1;
        let errored = if st.errored_left > 0 {
            st.errored_left -= 1;
            true
        } else {
            false
        };
        st.stats.actions_started += 1;
        st.actions.insert(
            id,
            ActionRec {
                id,
                kind,
                status: ActionStatus::InProgress,
                started_at: now_iso(),
                completed_at: None,
                resource_id,
                resource_type,
                region: self.cfg.region.clone(),
            },
        );
        let sh = self.clone();
        let latency = self.scaled(match effect {
            Effect::DropletActive(_) => self.cfg.create_latency,
            _ => self.cfg.action_latency,
        });
        let mut stop = self.stop.subscribe();
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(latency) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            sh.finish_action(id, errored, &effect);
        });
        id
    }

    fn finish_action(&self, id: u64, errored: bool, effect: &Effect) {
        let mut st = self.lock();
        if let Some(a) = st.actions.get_mut(&id) {
            a.status = if errored {
                ActionStatus::Errored
            } else {
                ActionStatus::Completed
            };
            a.completed_at = Some(now_iso());
        }
        if errored {
            st.stats.actions_errored += 1;
        }
        // The reserved IP is unlocked either way.
        if let Effect::Assign { ip, .. } | Effect::Unassign { ip } = effect
            && let Some(rec) = st.ips.get_mut(ip)
            && rec.pending == Some(id)
        {
            rec.pending = None;
        }
        if !errored {
            self.apply(&mut st, effect);
        }
    }

    fn apply(&self, st: &mut State, effect: &Effect) {
        let boot = self.boot();
        match effect {
            Effect::None => {}
            Effect::DropletActive(d) | Effect::PowerOn(d) => {
                if let Some(rec) = st.droplets.get_mut(d) {
                    rec.status = "active";
                    rec.app.restart(boot);
                }
            }
            Effect::Reboot(d) => {
                if let Some(rec) = st.droplets.get_mut(d) {
                    rec.status = "active";
                    rec.app.restart(boot);
                }
            }
            Effect::PowerOff(d) => {
                if let Some(rec) = st.droplets.get_mut(d) {
                    rec.status = "off";
                    rec.app.power_off();
                }
            }
            Effect::Rename(d, name) => {
                if let Some(rec) = st.droplets.get_mut(d) {
                    rec.name = name.clone();
                    rec.app.set_name(name);
                }
            }
            Effect::Assign { ip, droplet } => {
                let exists = st.droplets.contains_key(droplet);
                if let Some(rec) = st.ips.get_mut(ip)
                    && exists
                {
                    rec.holder = Some(*droplet);
                    rec.moved(&self.cfg.ip_moves);
                }
            }
            Effect::Unassign { ip } => {
                if let Some(rec) = st.ips.get_mut(ip) {
                    rec.holder = None;
                    rec.moved(&self.cfg.ip_moves);
                }
            }
        }
    }

    /// Deploy `version` to droplet `id`: the app restarts and is ready after the boot time,
    /// with the version's flaw ([`Faults::flawed_versions`]; none clears the old one).
    pub(crate) fn deploy(&self, id: u64, version: &str) -> bool {
        let mut st = self.lock();
        let never = st
            .faults
            .never_healthy_versions
            .iter()
            .any(|v| v == version);
        let flaw = st.faults.flaw_of(version);
        let boot = self.boot();
        let Some(rec) = st.droplets.get(&id) else {
            return false;
        };
        rec.app.deploy(version, boot, never, flaw);
        st.stats.deploys += 1;
        true
    }
}

impl State {
    /// The droplets a load balancer covers now, in id order.
    pub(crate) fn members(&self, lb: &LbRec) -> Vec<u64> {
        match &lb.tag {
            Some(tag) => self
                .droplets
                .values()
                .filter(|d| d.tags.iter().any(|t| t == tag))
                .map(|d| d.id)
                .collect(),
            None => {
                let mut ids: Vec<u64> = lb
                    .droplet_ids
                    .iter()
                    .copied()
                    .filter(|id| self.droplets.contains_key(id))
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                ids
            }
        }
    }

    /// Forget the health of droplets that left a load balancer, so that one coming back
    /// starts unhealthy again.
    pub(crate) fn prune_health(&mut self) {
        let members: Vec<(String, Vec<u64>)> = self
            .lbs
            .values()
            .map(|lb| (lb.id.clone(), self.members(lb)))
            .collect();
        for (id, m) in members {
            if let Some(lb) = self.lbs.get_mut(&id) {
                lb.health.retain(|d, _| m.contains(d));
            }
        }
    }

    /// A droplet by id, name, or address (for the control endpoints).
    pub(crate) fn find_droplet(&self, key: &str) -> Option<u64> {
        if let Ok(id) = key.parse::<u64>()
            && self.droplets.contains_key(&id)
        {
            return Some(id);
        }
        if let Ok(ip) = key.parse::<Ipv4Addr>() {
            return self
                .droplets
                .values()
                .find(|d| d.app.addr == ip)
                .map(|d| d.id);
        }
        self.droplets.values().find(|d| d.name == key).map(|d| d.id)
    }

    /// Make sure `tag` exists.
    pub(crate) fn ensure_tag(&mut self, tag: &str) {
        if !self.tags.contains(tag) {
            self.tags.insert(tag.to_owned());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON shapes (resources/*/models in the official description)
// ---------------------------------------------------------------------------------------------

/// A region (`resources/regions/models/region.yml`).
pub(crate) fn region_json(slug: &str) -> Value {
    let name = match slug {
        "nyc1" => "New York 1",
        "nyc2" => "New York 2",
        "nyc3" => "New York 3",
        "sfo3" => "San Francisco 3",
        "ams3" => "Amsterdam 3",
        "fra1" => "Frankfurt 1",
        "lon1" => "London 1",
        "sgp1" => "Singapore 1",
        "tor1" => "Toronto 1",
        "blr1" => "Bangalore 1",
        "syd1" => "Sydney 1",
        other => other,
    };
    json!({
        "name": name,
        "slug": slug,
        "features": ["backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer"],
        "available": true,
        "sizes": crate::images::SIZES.iter().map(|s| s.0).collect::<Vec<_>>(),
    })
}

fn vpc_uuid(region: &str) -> String {
    let mut h: u32 = 2_166_136_261;
    for b in region.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(16_777_619);
    }
    format!("{h:08x}-dc84-11e8-981e-3cfdfeaae000")
}

const PROJECT_ID: &str = "746c6152-2fa2-11ed-92d3-27aaa54e4988";

/// A droplet (`resources/droplets/models/droplet.yml`). Its public and private IPv4
/// addresses are both its loopback address.
pub(crate) fn droplet_json(d: &DropletRec) -> Value {
    let addr = d.app.addr.to_string();
    json!({
        "id": d.id,
        "name": d.name,
        "memory": 1024,
        "vcpus": 1,
        "disk": 25,
        "locked": false,
        "status": d.status,
        "kernel": null,
        "created_at": d.created_at,
        "features": ["monitoring", "droplet_agent", "private_networking"],
        "backup_ids": [],
        "next_backup_window": null,
        "snapshot_ids": [],
        "image": d.image,
        "volume_ids": [],
        "size": {
            "slug": d.size, "memory": 1024, "vcpus": 1, "disk": 25, "transfer": 1.0,
            "price_monthly": 6.0, "price_hourly": 0.00893, "regions": [d.region],
            "available": true, "description": "Basic",
        },
        "size_slug": d.size,
        "networks": {
            "v4": [
                {"ip_address": addr, "netmask": "255.0.0.0", "gateway": "127.0.0.1", "type": "public"},
                {"ip_address": addr, "netmask": "255.0.0.0", "gateway": "nil", "type": "private"},
            ],
            "v6": [],
        },
        "region": region_json(&d.region),
        "tags": d.tags,
        "vpc_uuid": vpc_uuid(&d.region),
    })
}

/// An action (`resources/actions/models/action.yml`).
pub(crate) fn action_json(a: &ActionRec) -> Value {
    json!({
        "id": a.id,
        "status": a.status,
        "type": a.kind,
        "started_at": a.started_at,
        "completed_at": a.completed_at,
        "resource_id": a.resource_id,
        "resource_type": a.resource_type,
        "region": region_json(&a.region),
        "region_slug": a.region,
    })
}

/// A reserved or floating IP (`resources/reserved_ips/models/reserved_ip.yml`).
pub(crate) fn ip_json(st: &State, rec: &IpRec) -> Value {
    let droplet = rec
        .holder
        .and_then(|d| st.droplets.get(&d))
        .map_or(Value::Null, droplet_json);
    json!({
        "ip": rec.ip.to_string(),
        "droplet": droplet,
        "region": region_json(&rec.region),
        "locked": rec.pending.is_some(),
        "project_id": PROJECT_ID,
    })
}

/// A tag (`resources/tags/models/tags.yml`).
pub(crate) fn tag_json(st: &State, base: &str, name: &str) -> Value {
    let tagged: Vec<&DropletRec> = st
        .droplets
        .values()
        .filter(|d| d.tags.iter().any(|t| t == name))
        .collect();
    let last = tagged
        .last()
        .map(|d| format!("{base}/v2/droplets/{}", d.id));
    let empty = json!({"count": 0, "last_tagged_uri": ""});
    let mut droplets =
        json!({"count": tagged.len(), "last_tagged_uri": last.clone().unwrap_or_default()});
    if let Some(d) = tagged.last() {
        droplets["last_tagged"] = droplet_json(d);
    }
    json!({
        "name": name,
        "resources": {
            "count": tagged.len(),
            "last_tagged_uri": last.unwrap_or_default(),
            "droplets": droplets,
            "images": empty,
            "volumes": empty,
            "volume_snapshots": empty,
            "databases": empty,
        }
    })
}

/// A load balancer (`resources/load_balancers/models/load_balancer.yml`).
pub(crate) fn lb_json(st: &State, lb: &LbRec) -> Value {
    let mut v = json!({
        "id": lb.id,
        "name": lb.name,
        "project_id": PROJECT_ID,
        "ip": lb.addr.to_string(),
        "ipv6": "",
        "size_unit": 1,
        "size": "lb-small",
        "algorithm": "round_robin",
        "status": lb.status,
        "created_at": lb.created_at,
        "forwarding_rules": lb.rules,
        "health_check": lb.hc,
        "sticky_sessions": lb.sticky.clone().unwrap_or_else(StickySessions::none),
        "redirect_http_to_https": false,
        "enable_proxy_protocol": false,
        "enable_backend_keepalive": false,
        "http_idle_timeout_seconds": 60,
        "vpc_uuid": vpc_uuid(&lb.region),
        "disable_lets_encrypt_dns_records": false,
        "firewall": {"deny": [], "allow": []},
        "network": "EXTERNAL",
        "network_stack": "IPV4",
        "type": "REGIONAL",
        "domains": [],
        "target_load_balancer_ids": [],
        "region": region_json(&lb.region),
        "tag": lb.tag.clone().unwrap_or_default(),
        "droplet_ids": st.members(lb),
    });
    if let Value::Object(map) = &mut v {
        for (k, val) in &lb.settings {
            map.insert(k.clone(), val.clone());
        }
    }
    v
}
