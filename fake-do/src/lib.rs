//! A stateful fake of the DigitalOcean API on wiremock, for scenario tests: droplets with tags,
//! reserved IPs, tags, actions that complete after a number of polls, and real HTTP "apps" on
//! their own loopback addresses (one per droplet, and one per reserved IP that answers as the
//! droplet it is assigned to). Every call is logged; a request it does not know is recorded as
//! unexpected, answered 500, and fails the test through [`FakeDo::assert_no_unexpected`].
//!
//! Load balancers ([`FakeDo::add_load_balancer`]) are API state (get, list, add and remove
//! droplets; a tag-based one lists the droplets carrying its tag), plus an "LB app" on its own
//! loopback address that answers, round robin, as the next droplet the load balancer selects
//! whose own app is healthy, with an `x-droplet` header naming it. The health checking and
//! routing delays of a real load balancer are not simulated. A droplet app can be given a
//! drain path ([`State::drain_path`]): a request to it makes the app answer 503 from then on.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Notify;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The token the fake accepts.
pub const TOKEN: &str = "fake-token-for-tests";

/// One API call as the fake saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path.
    pub path: String,
    /// The query string.
    pub query: String,
    /// The JSON body (`Null` when none).
    pub body: Value,
}

impl Call {
    /// `POST /v2/tags/PROD/resources {"resources":[...]}`.
    pub fn line(&self) -> String {
        let mut s = format!("{} {}", self.method, self.path);
        if !self.query.is_empty() {
            s.push('?');
            s.push_str(&self.query);
        }
        if !self.body.is_null() {
            s.push(' ');
            s.push_str(&self.body.to_string());
        }
        s
    }

    /// Whether the call changes state.
    pub fn is_mutating(&self) -> bool {
        self.method != "GET"
    }

    /// The call in short, with deploy-lock tags as `LOCK`: `create TAG`, `delete TAG`,
    /// `+TAG 1,2` (tag droplets), `-TAG 1` (untag), `lb+1,2` / `lb-1` (a load balancer's
    /// droplet ids), `new a,b` (create droplets), `rm 9001` (delete one); anything else as
    /// [`Call::line`].
    pub fn short(&self) -> String {
        let tag = |t: &str| {
            let t = percent_decode(t);
            if t.starts_with("zdd-lock:") {
                "LOCK".to_owned()
            } else {
                t
            }
        };
        let ids = |key: &str| {
            self.body[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|r| match r["resource_id"].as_str() {
                            Some(id) => id.to_owned(),
                            None => r.to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default()
        };
        let segs: Vec<&str> = self.path.trim_start_matches('/').split('/').collect();
        match (self.method.as_str(), segs.as_slice()) {
            ("POST", ["v2", "tags"]) => {
                format!("create {}", tag(self.body["name"].as_str().unwrap_or("?")))
            }
            ("DELETE", ["v2", "tags", t]) => format!("delete {}", tag(t)),
            ("POST", ["v2", "tags", t, "resources"]) => format!("+{} {}", tag(t), ids("resources")),
            ("DELETE", ["v2", "tags", t, "resources"]) => {
                format!("-{} {}", tag(t), ids("resources"))
            }
            ("POST", ["v2", "load_balancers", _, "droplets"]) => {
                format!("lb+{}", ids("droplet_ids"))
            }
            ("POST", ["v2", "droplets"]) => format!(
                "new {}",
                self.body["names"]
                    .as_array()
                    .map(|a| a
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","))
                    .or_else(|| self.body["name"].as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
            ("DELETE", ["v2", "droplets", id]) => format!("rm {id}"),
            ("DELETE", ["v2", "load_balancers", _, "droplets"]) => {
                format!("lb-{}", ids("droplet_ids"))
            }
            _ => self.line(),
        }
    }
}

/// How a droplet's app answers.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    /// Status it answers with.
    pub status: u16,
    /// Body it answers with.
    pub body: String,
}

/// An action in flight.
#[derive(Debug, Clone)]
struct FakeAction {
    id: u64,
    kind: String,
    polls_left: u32,
    end: &'static str,
    effect: Option<(String, Option<u64>)>,
    resource_id: u64,
    resource_type: &'static str,
    /// A create: the droplet becomes `active` when the action completes.
    activates: Option<u64>,
}

/// A fault to inject: answer the next `times` calls matching `method` and `path_prefix` with
/// `status` and `body` instead of handling them.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Method to match.
    pub method: String,
    /// Path prefix to match.
    pub path_prefix: String,
    /// How many calls it catches.
    pub times: u32,
    /// Status to answer.
    pub status: u16,
    /// Body to answer.
    pub body: Value,
    /// A `Retry-After` header (seconds) on the answer.
    pub retry_after: Option<u64>,
    /// Carry the call out first, then answer with the fault: an answer lost after the fact.
    pub after_effect: bool,
}

/// How answers name the droplet that served them (directly and through a load balancer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FakeIdentity {
    /// A header `x-droplet` with the droplet's name.
    #[default]
    Header,
    /// A JSON body `{"served_by": <id>, "text": <the app's body>}`.
    Json,
    /// Nothing names the droplet.
    None,
}

/// The answer of droplet `id` (named `name`) with `app`, as [`State::identity`] says.
fn answer(identity: &FakeIdentity, id: u64, name: &str, app: &App) -> ResponseTemplate {
    let r = ResponseTemplate::new(app.status);
    match identity {
        FakeIdentity::Header => r
            .insert_header("x-droplet", name)
            .set_body_string(app.body.clone()),
        FakeIdentity::Json => r.set_body_json(json!({"served_by": id, "text": app.body})),
        FakeIdentity::None => r.set_body_string(app.body.clone()),
    }
}

/// A release that passes its health checks but fails its users: through the LB app, every
/// `fail_every`-th answer of such a droplet (paths other than the load balancer's health check)
/// is a 500, and every answer waits `delay` first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flaw {
    /// Every n-th answer fails (0: none).
    pub fail_every: u32,
    /// Added to every answer.
    pub delay: Duration,
}

/// One answer the LB app gave, for the Monitoring API's load-balancer metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    /// When (unix seconds).
    pub at: f64,
    /// Which load balancer.
    pub lb: String,
    /// Which droplet answered.
    pub droplet: u64,
    /// With what status.
    pub status: u16,
    /// After how long (the flaw's delay; the fake answers at once otherwise).
    pub took: Duration,
}

/// The fake's state; tests read and change it through [`FakeDo::state`].
#[derive(Debug, Default)]
pub struct State {
    /// Droplets by id (full JSON objects, official shape).
    pub droplets: BTreeMap<u64, Value>,
    /// Reserved IPs: ip -> (region, droplet id).
    pub reserved_ips: BTreeMap<String, (String, Option<u64>)>,
    /// Tags that exist without tagging anything (lock tags).
    pub tags: BTreeSet<String>,
    /// Apps by droplet id.
    pub apps: BTreeMap<u64, App>,
    /// How a reserved IP answers while droplet `id` holds it, when that differs from the
    /// droplet's own app (the app does not answer on the IP's path).
    pub through_ip: BTreeMap<u64, App>,
    /// Every call, in order.
    pub log: Vec<Call>,
    /// Load balancers by id (full JSON objects, official shape; a tag-based one's
    /// `droplet_ids` are computed from the tags when it is read).
    pub load_balancers: BTreeMap<String, Value>,
    /// Requests to a droplet app whose path is [`State::drain_path`] make that app answer 503
    /// `draining` from then on (and are answered 200 themselves).
    pub drain_path: Option<String>,
    /// Requests to a droplet app whose path is [`State::pre_switch_path`] make that app answer
    /// with `Connection: close` from then on, directly and through a reserved IP (and are
    /// answered 200 themselves, with it).
    pub pre_switch_path: Option<String>,
    /// Droplets whose apps answer with `Connection: close`.
    pub closing: BTreeSet<u64>,
    /// Every request the droplet, reserved-IP and load-balancer apps received, as
    /// `droplet <id> <METHOD> <path>`, `ip <ip> <METHOD> <path> -> <droplet id or none>` or
    /// `lb <id> <METHOD> <path> -> <droplet id or none>`.
    pub app_log: Vec<String>,
    /// Round-robin position of each LB app.
    lb_next: BTreeMap<String, usize>,
    /// How droplet and load-balancer answers name the droplet that served them.
    pub identity: FakeIdentity,
    /// Droplets the load balancers never route to, healthy or not (as when a firewall
    /// blocks the load balancer's health checks).
    pub lb_never_routes: BTreeSet<u64>,
    /// Requests a load balancer still sends to a droplet after it left its selection (a
    /// load balancer slow to let go; DigitalOcean documents no delay either way).
    pub lb_lag: u32,
    /// Droplets that left a load balancer and still get requests: how many more.
    pub lb_lingering: BTreeMap<u64, u32>,
    /// What each load balancer routed to at its last request.
    lb_last_pool: BTreeMap<String, Vec<u64>>,
    /// Requests the fake did not know.
    pub unexpected: Vec<String>,
    /// Faults to inject, first match wins.
    pub faults: Vec<Fault>,
    /// Polls an action stays `in-progress` before it ends.
    pub action_polls: u32,
    /// How the next actions end: `completed` or `errored`.
    pub action_end: Vec<&'static str>,
    /// Slow actions: reading a reserved IP does not finish the actions running on it (only
    /// polling them does), and a second assign while one runs is refused with 422, as
    /// DigitalOcean refuses an action on a resource locked by another.
    pub slow_actions: bool,
    actions: BTreeMap<u64, FakeAction>,
    next_action: u64,
    /// Notified after the n-th mutating call is applied (see [`FakeDo::crash_after`]).
    crash_after: Option<(usize, Arc<Notify>)>,
    /// Loopback addresses with an app listening and no droplet yet: a droplet created through
    /// the API takes the first ([`FakeDo::start_with_spare`]); a deleted one gives its back.
    pub spare: Vec<Ipv4Addr>,
    /// Images by id (as a string) and, for public ones, by slug: `image` objects.
    pub images: BTreeMap<String, Value>,
    /// Images (by id) whose droplets' apps answer 503: a release that never gets healthy.
    pub bad_images: BTreeSet<u64>,
    /// Images (by id) whose droplets have a [`Flaw`].
    pub image_flaws: BTreeMap<u64, Flaw>,
    /// Droplets (by id) with a [`Flaw`].
    pub flaws: BTreeMap<u64, Flaw>,
    /// Answers each flawed droplet gave through the LB app.
    flaw_count: BTreeMap<u64, u32>,
    /// Every answer of the LB apps ([`Served`]).
    pub lb_served: Vec<Served>,
    /// The Monitoring API answers with series computed from [`State::lb_served`] (`false`:
    /// with none, as for a window shorter than the metrics' period).
    pub metrics: bool,
    /// The account's droplet limit (`None`: 25).
    pub droplet_limit: Option<u32>,
    /// The id the next created droplet gets (0: 9001).
    pub next_droplet: u64,
}

impl State {
    fn mutating_count(&self) -> usize {
        self.log.iter().filter(|c| c.is_mutating()).count()
    }

    /// Tags of droplet `id`.
    pub fn droplet_tags(&self, id: u64) -> Vec<String> {
        self.droplets[&id]["tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The droplet a reserved IP points at.
    pub fn ip_holder(&self, ip: &str) -> Option<u64> {
        self.reserved_ips.get(ip).and_then(|(_, d)| *d)
    }

    /// The droplets a load balancer selects now: those carrying its tag, or its id list.
    pub fn lb_droplets(&self, lb: &str) -> Vec<u64> {
        let Some(l) = self.load_balancers.get(lb) else {
            return Vec::new();
        };
        match l["tag"].as_str().filter(|t| !t.is_empty()) {
            Some(tag) => self
                .droplets
                .keys()
                .copied()
                .filter(|id| self.droplet_tags(*id).iter().any(|t| t == tag))
                .collect(),
            None => l["droplet_ids"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default(),
        }
    }

    /// Whether a load balancer may still send droplet `id` a request: selected and healthy,
    /// or lingering after it left.
    pub fn lb_routes_to(&self, id: u64) -> bool {
        self.lb_lingering.get(&id).is_some_and(|n| *n > 0)
            || self
                .load_balancers
                .keys()
                .any(|lb| self.lb_rotation(lb).contains(&id))
    }

    /// Droplets a load balancer would route to: selected, and their app answers below 400.
    pub fn lb_rotation(&self, lb: &str) -> Vec<u64> {
        self.lb_droplets(lb)
            .into_iter()
            .filter(|id| self.apps.get(id).is_some_and(|a| a.status < 400))
            .filter(|id| !self.lb_never_routes.contains(id))
            .collect()
    }

    fn lb_json(&self, lb: &str) -> Value {
        let mut v = self.load_balancers[lb].clone();
        v["droplet_ids"] = json!(self.lb_droplets(lb));
        v
    }

    /// Every tag that exists: created ones and those on droplets.
    pub fn all_tag_names(&self) -> BTreeSet<String> {
        self.all_tags()
    }

    fn all_tags(&self) -> BTreeSet<String> {
        let mut all = self.tags.clone();
        for id in self.droplets.keys() {
            all.extend(self.droplet_tags(*id));
        }
        all
    }

    fn set_tags(&mut self, id: u64, tags: Vec<String>) {
        self.droplets.get_mut(&id).expect("droplet")["tags"] = json!(tags);
    }

    fn reserved_ip_json(&self, ip: &str) -> Value {
        let (region, holder) = &self.reserved_ips[ip];
        json!({
            "ip": ip,
            "region": {"name": region, "slug": region, "features": [], "available": true, "sizes": []},
            "droplet": holder.map(|d| self.droplets[&d].clone()),
            "locked": false,
            "project_id": "746c6152-2fa2-11ed-92d3-27aaa54e4988"
        })
    }
}

/// The fake API plus the app servers.
pub struct FakeDo {
    /// The API server.
    pub server: MockServer,
    /// Shared state.
    pub state: Arc<Mutex<State>>,
    /// The port every app listens on (on its own loopback address).
    pub app_port: u16,
    apps: Vec<MockServer>,
}

impl std::fmt::Debug for FakeDo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeDo")
            .field("uri", &self.server.uri())
            .finish()
    }
}

struct Api(Arc<Mutex<State>>);

fn ok(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(body)
        .insert_header("ratelimit-limit", "5000")
        .insert_header("ratelimit-remaining", "4990")
        .insert_header("ratelimit-reset", "1444931833")
}

fn no_content() -> ResponseTemplate {
    ResponseTemplate::new(204)
}

fn err(status: u16, id: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"id": id, "message": message, "request_id": "fake-request"}))
}

fn page(key: &str, items: Vec<Value>) -> Value {
    let n = items.len();
    json!({key: items, "links": {}, "meta": {"total": n}})
}

impl Respond for Api {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut st = self.0.lock().unwrap();
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let call = Call {
            method: req.method.to_string(),
            path: req.url.path().to_owned(),
            query: req.url.query().unwrap_or("").to_owned(),
            body: body.clone(),
        };
        st.log.push(call.clone());
        let authorized = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == format!("Bearer {TOKEN}"));
        if !authorized {
            return err(401, "unauthorized", "Unable to authenticate you.");
        }
        let mut fault = None;
        if let Some(i) = st.faults.iter().position(|f| {
            f.times > 0 && f.method == call.method && call.path.starts_with(&f.path_prefix)
        }) {
            st.faults[i].times -= 1;
            let f = st.faults[i].clone();
            let mut t = ResponseTemplate::new(f.status).set_body_json(f.body.clone());
            if let Some(s) = f.retry_after {
                t = t.insert_header("retry-after", s.to_string().as_str());
            }
            if !f.after_effect {
                return t;
            }
            fault = Some(t);
        }
        let resp = route(&mut st, &call, req);
        let resp = fault.unwrap_or(resp);
        if call.is_mutating()
            && let Some((n, notify)) = &st.crash_after
            && st.mutating_count() == *n
        {
            notify.notify_one();
        }
        resp
    }
}

fn query(req: &Request, key: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn route(st: &mut State, call: &Call, req: &Request) -> ResponseTemplate {
    let segs: Vec<String> = call
        .path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    match (call.method.as_str(), segs.as_slice()) {
        ("GET", ["v2", "account"]) => ok(
            200,
            json!({"account": {
                "droplet_limit": st.droplet_limit.unwrap_or(25), "floating_ip_limit": 5, "email": "fake@fake-do.invalid",
                "uuid": "fa4e0000000000000000000000000000000000de", "email_verified": true,
                "status": "active", "status_message": ""
            }}),
        ),
        ("GET", ["v2", "droplets"]) => {
            let tag = query(req, "tag_name");
            let new: Vec<u64> = st
                .droplets
                .iter()
                .filter(|(_, d)| d["status"] == "new")
                .map(|(id, _)| *id)
                .collect();
            for n in new {
                advance_boot(st, n);
            }
            let items: Vec<Value> = st
                .droplets
                .iter()
                .filter(|(id, _)| {
                    tag.as_ref()
                        .is_none_or(|t| st.droplet_tags(**id).contains(t))
                })
                .map(|(_, d)| d.clone())
                .collect();
            ok(200, page("droplets", items))
        }
        ("POST", ["v2", "droplets"]) => create_droplets(st, &call.body),
        ("DELETE", ["v2", "droplets", id]) => {
            let Some(id) = id
                .parse::<u64>()
                .ok()
                .filter(|id| st.droplets.contains_key(id))
            else {
                return err(
                    404,
                    "not_found",
                    "The resource you requested could not be found.",
                );
            };
            let d = st.droplets.remove(&id).expect("checked");
            st.apps.remove(&id);
            if let Some(ip) = public_ip(&d) {
                st.spare.push(ip);
            }
            no_content()
        }
        ("GET", ["v2", "monitoring", "metrics", "load_balancer", metric]) => {
            lb_metrics(st, req, metric)
        }
        ("GET", ["v2", "sizes"]) => ok(
            200,
            page(
                "sizes",
                vec![json!({
                    "slug": "s-1vcpu-1gb", "memory": 1024, "vcpus": 1, "disk": 25,
                    "transfer": 1.0, "price_monthly": 6.0, "price_hourly": 0.00893,
                    "regions": ["nyc3"], "available": true, "description": "Basic"
                })],
            ),
        ),
        ("GET", ["v2", "images", id]) => match st.images.get(*id) {
            Some(i) => ok(200, json!({"image": i})),
            None => err(
                404,
                "not_found",
                "The resource you requested could not be found.",
            ),
        },
        ("GET", ["v2", "droplets", id]) => {
            if let Ok(n) = id.parse::<u64>() {
                advance_boot(st, n);
            }
            match id.parse::<u64>().ok().and_then(|id| st.droplets.get(&id)) {
                Some(d) => ok(200, json!({"droplet": d})),
                None => err(
                    404,
                    "not_found",
                    "The resource you requested could not be found.",
                ),
            }
        }
        ("GET", ["v2", "reserved_ips"]) => {
            let items = st
                .reserved_ips
                .keys()
                .map(|ip| st.reserved_ip_json(ip))
                .collect();
            ok(200, page("reserved_ips", items))
        }
        ("GET", ["v2", "reserved_ips", ip, "actions"]) => {
            let ip_num = ip.parse::<Ipv4Addr>().map(u32::from).unwrap_or(0) as u64;
            // Actions whose polls ran out have ended: apply what they did before listing.
            let due: Vec<(String, Option<u64>)> = st
                .actions
                .values_mut()
                .filter(|a| a.resource_id == ip_num && a.polls_left == 0 && a.end == "completed")
                .filter_map(|a| a.effect.take())
                .collect();
            for (ip, target) in due {
                if let Some(r) = st.reserved_ips.get_mut(&ip) {
                    r.1 = target;
                }
            }
            let items = st
                .actions
                .values()
                .filter(|a| a.resource_id == ip_num)
                .map(|a| {
                    action_json(
                        a,
                        if a.polls_left > 0 {
                            "in-progress"
                        } else {
                            a.end
                        },
                    )
                })
                .collect();
            ok(200, page("actions", items))
        }
        ("GET", ["v2", "reserved_ips", ip]) => {
            // Time has passed: actions DigitalOcean was running on this IP have finished,
            // whether or not anybody polled them (unless actions are slow).
            if !st.slow_actions {
                complete_pending(st, ip);
            }
            if st.reserved_ips.contains_key(*ip) {
                ok(200, json!({"reserved_ip": st.reserved_ip_json(ip)}))
            } else {
                err(
                    404,
                    "not_found",
                    "The resource you requested could not be found.",
                )
            }
        }
        ("POST", ["v2", "reserved_ips", ip, "actions"]) => {
            if !st.reserved_ips.contains_key(*ip) {
                return err(
                    404,
                    "not_found",
                    "The resource you requested could not be found.",
                );
            }
            let (kind, target) =
                match (call.body["type"].as_str(), call.body["droplet_id"].as_u64()) {
                    (Some("assign"), Some(d)) if st.droplets.contains_key(&d) => {
                        ("assign_ip", Some(d))
                    }
                    (Some("unassign"), None) => ("unassign_ip", None),
                    _ => return err(422, "unprocessable_entity", "invalid action"),
                };
            let ip_num_busy = ip.parse::<Ipv4Addr>().map(u32::from).unwrap_or(0) as u64;
            if st.slow_actions
                && st
                    .actions
                    .values()
                    .any(|a| a.resource_id == ip_num_busy && a.polls_left > 0)
            {
                return err(
                    422,
                    "unprocessable_entity",
                    "Reserved IP is locked by another action. Please try again later.",
                );
            }
            st.next_action += 1;
            let id = 90_000_000 + st.next_action;
            let end = if st.action_end.is_empty() {
                "completed"
            } else {
                st.action_end.remove(0)
            };
            let ip_num = ip.parse::<Ipv4Addr>().map(u32::from).unwrap_or(0) as u64;
            let action = FakeAction {
                id,
                kind: kind.into(),
                polls_left: st.action_polls,
                end,
                effect: Some((ip.to_string(), target)),
                resource_id: ip_num,
                resource_type: "reserved_ip",
                activates: None,
            };
            st.actions.insert(id, action.clone());
            ok(201, json!({"action": action_json(&action, "in-progress")}))
        }
        ("GET", ["v2", "actions", id]) => {
            let Some(a) = id
                .parse::<u64>()
                .ok()
                .and_then(|id| st.actions.get(&id))
                .cloned()
            else {
                return err(
                    404,
                    "not_found",
                    "The resource you requested could not be found.",
                );
            };
            if a.polls_left > 0 {
                st.actions.get_mut(&a.id).unwrap().polls_left -= 1;
                return ok(200, json!({"action": action_json(&a, "in-progress")}));
            }
            if a.end == "completed"
                && let Some((ip, target)) = a.effect.clone()
            {
                st.reserved_ips.get_mut(&ip).unwrap().1 = target;
                st.actions.get_mut(&a.id).unwrap().effect = None;
            }
            if a.end == "completed"
                && let Some(d) = a.activates
                && let Some(droplet) = st.droplets.get_mut(&d)
            {
                droplet["status"] = json!("active");
            }
            ok(200, json!({"action": action_json(&a, a.end)}))
        }
        ("POST", ["v2", "tags"]) => {
            let Some(name) = call.body["name"].as_str() else {
                return err(422, "unprocessable_entity", "name is required");
            };
            st.tags.insert(name.to_owned());
            ok(
                201,
                json!({"tag": {"name": name, "resources": {"count": 0, "droplets": {"count": 0}}}}),
            )
        }
        ("GET", ["v2", "tags"]) => {
            let items = st
                .all_tags()
                .into_iter()
                .map(|n| json!({"name": n, "resources": {"count": 0}}))
                .collect();
            ok(200, page("tags", items))
        }
        ("DELETE", ["v2", "tags", name]) => {
            let name = name.to_string();
            if !st.all_tags().contains(&name) {
                return err(
                    404,
                    "not_found",
                    "The resource you requested could not be found.",
                );
            }
            st.tags.remove(&name);
            let ids: Vec<u64> = st.droplets.keys().copied().collect();
            for id in ids {
                let tags: Vec<String> = st
                    .droplet_tags(id)
                    .into_iter()
                    .filter(|t| *t != name)
                    .collect();
                st.set_tags(id, tags);
            }
            no_content()
        }
        (m @ ("POST" | "DELETE"), ["v2", "tags", name, "resources"]) => {
            let name = name.to_string();
            if !st.all_tags().contains(&name) {
                return err(
                    404,
                    "not_found",
                    "The resource you requested could not be found.",
                );
            }
            let Some(resources) = call.body["resources"].as_array() else {
                return err(422, "unprocessable_entity", "resources is required");
            };
            for r in resources {
                let Some(id) = r["resource_id"]
                    .as_str()
                    .and_then(|s| s.parse::<u64>().ok())
                else {
                    return err(
                        422,
                        "unprocessable_entity",
                        "resource_id must be a string id",
                    );
                };
                if !st.droplets.contains_key(&id) {
                    return err(404, "not_found", "droplet not found");
                }
                let mut tags = st.droplet_tags(id);
                if m == "POST" && !tags.contains(&name) {
                    tags.push(name.clone());
                }
                if m == "DELETE" {
                    tags.retain(|t| *t != name);
                }
                st.set_tags(id, tags);
            }
            no_content()
        }
        ("GET", ["v2", "load_balancers"]) => {
            let items = st.load_balancers.keys().map(|id| st.lb_json(id)).collect();
            ok(200, page("load_balancers", items))
        }
        ("GET", ["v2", "load_balancers", id]) => {
            if st.load_balancers.contains_key(*id) {
                ok(200, json!({"load_balancer": st.lb_json(id)}))
            } else {
                err(
                    404,
                    "not_found",
                    "The resource you requested could not be found.",
                )
            }
        }
        (m @ ("POST" | "DELETE"), ["v2", "load_balancers", id, "droplets"]) => {
            let Some(lb) = st.load_balancers.get(*id).cloned() else {
                return err(
                    404,
                    "not_found",
                    "The resource you requested could not be found.",
                );
            };
            if lb["tag"].as_str().is_some_and(|t| !t.is_empty()) {
                // loadBalancers_add_droplets.yml: not allowed with a droplet tag.
                return err(
                    422,
                    "unprocessable_entity",
                    "droplets cannot be added to or removed from a load balancer with a droplet tag",
                );
            }
            let Some(ids) = call.body["droplet_ids"].as_array() else {
                return err(422, "unprocessable_entity", "droplet_ids is required");
            };
            let ids: Vec<u64> = ids.iter().filter_map(Value::as_u64).collect();
            let mut current = st.lb_droplets(id);
            for d in ids {
                if m == "POST" && !current.contains(&d) {
                    if !st.droplets.contains_key(&d) {
                        return err(404, "not_found", "droplet not found");
                    }
                    current.push(d);
                }
                if m == "DELETE" {
                    current.retain(|c| *c != d);
                }
            }
            st.load_balancers.get_mut(*id).unwrap()["droplet_ids"] = json!(current);
            no_content()
        }
        _ => {
            st.unexpected.push(call.line());
            err(
                500,
                "unexpected_request",
                &format!("the fake does not know {}", call.line()),
            )
        }
    }
}

fn complete_pending(st: &mut State, ip: &str) {
    let ids: Vec<u64> = st
        .actions
        .values()
        .filter(|a| a.effect.as_ref().is_some_and(|(i, _)| i == ip))
        .map(|a| a.id)
        .collect();
    for id in ids {
        let a = st.actions.get_mut(&id).unwrap();
        a.polls_left = 0;
        if a.end == "completed"
            && let Some((ip, target)) = a.effect.take()
            && let Some(r) = st.reserved_ips.get_mut(&ip)
        {
            r.1 = target;
        }
    }
}

/// A droplet's public IPv4 address.
fn public_ip(d: &Value) -> Option<Ipv4Addr> {
    d["networks"]["v4"]
        .as_array()?
        .iter()
        .find(|n| n["type"] == "public")?["ip_address"]
        .as_str()?
        .parse()
        .ok()
}

/// `POST /v2/droplets` with `name` or `names`: each new droplet takes a spare address, is
/// `new` until its create action completes, and its app answers 200 `<name> <image name>`.
/// A new droplet's boot advances with time, which the fake counts in reads: each read of it
/// (alone, or in a list) counts as a poll of its create action, which makes it `active` when
/// it completes.
fn advance_boot(st: &mut State, id: u64) {
    if let Some(a) = st.actions.values_mut().find(|a| a.activates == Some(id)) {
        a.polls_left = a.polls_left.saturating_sub(1);
        if a.polls_left == 0
            && a.end == "completed"
            && let Some(d) = st.droplets.get_mut(&id)
        {
            d["status"] = json!("active");
        }
    }
}

fn create_droplets(st: &mut State, body: &Value) -> ResponseTemplate {
    let names: Vec<String> = match (body["name"].as_str(), body["names"].as_array()) {
        (Some(n), None) => vec![n.to_owned()],
        (None, Some(ns)) if (1..=10).contains(&ns.len()) => ns
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect(),
        _ => return err(422, "unprocessable_entity", "give name, or 1 to 10 names"),
    };
    let image_key = match &body["image"] {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return err(422, "unprocessable_entity", "image is required"),
    };
    let Some(image) = st.images.get(&image_key).cloned() else {
        return err(
            422,
            "unprocessable_entity",
            "You specified an invalid image for Droplet creation.",
        );
    };
    if st.spare.len() < names.len() {
        // A test setup mistake, not a DigitalOcean behaviour: fail loudly.
        st.unexpected.push(format!(
            "create of {names:?} with {} spare addresses",
            st.spare.len()
        ));
        return err(500, "no_spare_address", "fake-do has no spare address left");
    }
    let tags: Vec<&str> = body["tags"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let region = body["region"].as_str().unwrap_or("nyc3").to_owned();
    let mut droplets = Vec::new();
    let mut links = Vec::new();
    for name in names {
        if st.next_droplet == 0 {
            st.next_droplet = 9001;
        }
        let id = st.next_droplet;
        st.next_droplet += 1;
        let ip = st.spare.remove(0);
        let mut d = droplet(id, &name, ip, &tags, &region);
        d["status"] = json!("new");
        d["image"] = image.clone();
        if let Some(size) = body["size"].as_str() {
            d["size_slug"] = json!(size);
        }
        for t in &tags {
            st.tags.insert((*t).to_owned());
        }
        let bad = image["id"]
            .as_u64()
            .is_some_and(|i| st.bad_images.contains(&i));
        if let Some(f) = image["id"].as_u64().and_then(|i| st.image_flaws.get(&i)) {
            let f = *f;
            st.flaws.insert(id, f);
        }
        st.apps.insert(
            id,
            App {
                status: if bad { 503 } else { 200 },
                body: format!("{name} {}", image["name"].as_str().unwrap_or("")),
            },
        );
        st.droplets.insert(id, d.clone());
        st.next_action += 1;
        let action = FakeAction {
            id: 90_000_000 + st.next_action,
            kind: "create".into(),
            polls_left: st.action_polls,
            end: "completed",
            effect: None,
            resource_id: id,
            resource_type: "droplet",
            activates: Some(id),
        };
        links.push(json!({"id": action.id, "rel": "create", "href": format!("https://api.digitalocean.com/v2/actions/{}", action.id)}));
        st.actions.insert(action.id, action);
        droplets.push(d);
    }
    let body = if droplets.len() == 1 && body["name"].is_string() {
        json!({"droplet": droplets[0], "links": {"actions": links}})
    } else {
        json!({"droplets": droplets, "links": {"actions": links}})
    };
    ok(202, body)
}

fn action_json(a: &FakeAction, status: &str) -> Value {
    json!({
        "id": a.id,
        "status": status,
        "type": a.kind,
        "started_at": "2020-11-14T16:29:21Z",
        "completed_at": if status == "in-progress" { Value::Null } else { json!("2020-11-14T16:29:24Z") },
        "resource_id": a.resource_id,
        "resource_type": a.resource_type,
        "region_slug": "nyc3"
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Answers like the app of a droplet, or like whichever droplet holds a reserved IP.
struct AppResponder {
    state: Arc<Mutex<State>>,
    target: Target,
}

enum Target {
    Droplet(u64),
    /// A spare address: the droplet created on it, if any.
    Spare(Ipv4Addr),
    ReservedIp(String),
    LoadBalancer(String),
}

impl Respond for AppResponder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut st = self.state.lock().unwrap();
        let line = format!("{} {}", req.method, req.url.path());
        let spare_id;
        let target = match &self.target {
            Target::Spare(ip) => {
                let found = st
                    .droplets
                    .iter()
                    .find(|(_, d)| public_ip(d) == Some(*ip))
                    .map(|(id, _)| *id);
                match found {
                    Some(id) => {
                        spare_id = Target::Droplet(id);
                        &spare_id
                    }
                    None => {
                        return ResponseTemplate::new(502)
                            .set_body_string("no droplet on this address yet");
                    }
                }
            }
            t => t,
        };
        let id = match target {
            Target::Spare(_) => unreachable!("resolved above"),
            Target::Droplet(id) => {
                st.app_log.push(format!("droplet {id} {line}"));
                if st.drain_path.as_deref() == Some(req.url.path()) {
                    st.apps.insert(
                        *id,
                        App {
                            status: 503,
                            body: "draining".into(),
                        },
                    );
                    return ResponseTemplate::new(200).set_body_string("draining");
                }
                if st.pre_switch_path.as_deref() == Some(req.url.path()) {
                    st.closing.insert(*id);
                    return ResponseTemplate::new(200)
                        .insert_header("connection", "close")
                        .set_body_string("keep-alive off");
                }
                Some(*id)
            }
            Target::ReservedIp(ip) => {
                let holder = st.ip_holder(ip);
                st.app_log.push(format!(
                    "ip {ip} {line} -> {}",
                    holder.map_or("none".into(), |h| h.to_string())
                ));
                holder
            }
            Target::LoadBalancer(lb) => {
                let now = st.lb_rotation(lb);
                // A droplet that just left keeps getting `lb_lag` more requests.
                let before = st
                    .lb_last_pool
                    .insert(lb.clone(), now.clone())
                    .unwrap_or_default();
                let lag = st.lb_lag;
                for d in before.iter().filter(|d| !now.contains(d)) {
                    if lag > 0 {
                        st.lb_lingering.insert(*d, lag);
                    }
                }
                st.lb_lingering.retain(|d, n| *n > 0 && !now.contains(d));
                let mut pool = now;
                pool.extend(st.lb_lingering.keys().copied());
                pool.sort_unstable();
                let next = st.lb_next.entry(lb.clone()).or_default();
                let chosen = if pool.is_empty() {
                    None
                } else {
                    *next = (*next + 1) % pool.len();
                    Some(pool[*next])
                };
                if let Some(c) = chosen
                    && let Some(n) = st.lb_lingering.get_mut(&c)
                {
                    *n -= 1;
                }
                st.app_log.push(format!(
                    "lb {lb} {line} -> {}",
                    chosen.map_or("none".into(), |c| c.to_string())
                ));
                let Some(c) = chosen else {
                    return ResponseTemplate::new(503)
                        .set_body_string("no healthy droplet behind the load balancer");
                };
                let name = st.droplets[&c]["name"].as_str().unwrap_or("").to_owned();
                let mut app = st.apps[&c].clone();
                let health = st.load_balancers[lb]["health_check"]["path"]
                    .as_str()
                    .unwrap_or("/")
                    .to_owned();
                let flaw = st
                    .flaws
                    .get(&c)
                    .copied()
                    .filter(|_| req.url.path() != health);
                let took = flaw.map_or(Duration::ZERO, |f| f.delay);
                if let Some(f) = flaw.filter(|f| f.fail_every > 0) {
                    let n = st.flaw_count.entry(c).or_default();
                    *n += 1;
                    if *n % f.fail_every == 0 {
                        app = App {
                            status: 500,
                            body: "the release failed this request".into(),
                        };
                    }
                }
                st.lb_served.push(Served {
                    at: unix_now(),
                    lb: lb.clone(),
                    droplet: c,
                    status: app.status,
                    took,
                });
                return answer(&st.identity, c, &name, &app).set_delay(took);
            }
        };
        let through_ip = matches!(target, Target::ReservedIp(_));
        let app = id.and_then(|id| {
            if through_ip {
                st.through_ip.get(&id).or(st.apps.get(&id))
            } else {
                st.apps.get(&id)
            }
        });
        let closing = id.is_some_and(|id| st.closing.contains(&id));
        let close = |r: ResponseTemplate| {
            if closing {
                r.insert_header("connection", "close")
            } else {
                r
            }
        };
        match (app, id) {
            (Some(app), Some(id)) if !through_ip => {
                let name = st.droplets[&id]["name"].as_str().unwrap_or("").to_owned();
                close(answer(&st.identity, id, &name, app))
            }
            (Some(app), _) => {
                close(ResponseTemplate::new(app.status).set_body_string(app.body.clone()))
            }
            (None, _) => {
                ResponseTemplate::new(502).set_body_string("no droplet behind this address")
            }
        }
    }
}

/// A droplet in the official shape, with one public and one private address.
pub fn droplet(id: u64, name: &str, public: Ipv4Addr, tags: &[&str], region: &str) -> Value {
    json!({
        "id": id,
        "name": name,
        "memory": 1024, "vcpus": 1, "disk": 25, "locked": false,
        "status": "active",
        "created_at": "2020-07-21T18:37:44Z",
        "features": [], "backup_ids": [], "snapshot_ids": [], "volume_ids": [],
        "size_slug": "s-1vcpu-1gb",
        "image": {"id": 129_211_873, "name": "22.04 (LTS) x64", "slug": "ubuntu-22-04-x64"},
        "networks": {"v4": [
            {"ip_address": format!("10.10.0.{id}"), "netmask": "255.255.0.0", "gateway": "nil", "type": "private"},
            {"ip_address": public.to_string(), "netmask": "255.255.240.0", "gateway": "127.0.0.254", "type": "public"}
        ], "v6": []},
        "region": {"name": region, "slug": region, "features": [], "available": true, "sizes": []},
        "tags": tags,
        "vpc_uuid": "760e09ef-dc84-11e8-981e-3cfdfeaae000"
    })
}

/// Listeners on `addrs`, all on one port (retrying with another port if one is taken).
fn listeners(addrs: &[Ipv4Addr]) -> (u16, Vec<TcpListener>) {
    for _ in 0..50 {
        let first = TcpListener::bind(SocketAddr::from((addrs[0], 0))).expect("bind loopback");
        let port = first.local_addr().unwrap().port();
        let mut all = vec![first];
        let mut good = true;
        for a in &addrs[1..] {
            match TcpListener::bind(SocketAddr::from((*a, port))) {
                Ok(l) => all.push(l),
                Err(_) => {
                    good = false;
                    break;
                }
            }
        }
        if good {
            return (port, all);
        }
    }
    panic!("no common free port on {addrs:?}");
}

/// How a fake load balancer selects droplets.
#[derive(Debug, Clone)]
pub enum FakeSelector<'a> {
    /// Every droplet carrying this tag.
    Tag(&'a str),
    /// These droplets.
    DropletIds(&'a [u64]),
}

/// A load balancer for [`FakeDo::add_load_balancer`].
#[derive(Debug, Clone)]
pub struct FakeLb<'a> {
    /// Its id (a UUID at DigitalOcean).
    pub id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Which droplets it balances over.
    pub selector: FakeSelector<'a>,
    /// The loopback address its LB app answers on.
    pub ip: Ipv4Addr,
    /// Its `health_check` object (official shape).
    pub health_check: Value,
}

impl FakeDo {
    /// `n` droplets `web-1`.. (ids 1.., apps answering `web-i v1`, tagged `web`, or with
    /// `by_ids` selected by id) in load balancer `web-lb` ([`FLEET_LB_ID`]), `spare` free
    /// addresses for droplets created through the API, and the snapshots `app-v2`
    /// ([`GOOD_IMAGE`]) and `app-bad` ([`BAD_IMAGE`], never healthy): what `replace` runs on.
    pub async fn replace_fleet(n: u64, spare: u8, by_ids: bool) -> FakeDo {
        let names: Vec<String> = (1..=n).map(|i| format!("web-{i}")).collect();
        let tags: &[&str] = if by_ids { &[] } else { &["web"] };
        let droplets: Vec<(u64, &str, Ipv4Addr, &[&str])> = (1..=n)
            .map(|id| (id, names[id as usize - 1].as_str(), fleet_ip(id), tags))
            .collect();
        let spare: Vec<Ipv4Addr> = (0..spare)
            .map(|i| Ipv4Addr::new(127, 0, 0, 200 + i))
            .collect();
        let mut fake = FakeDo::start_with_spare(&droplets, &[], &spare).await;
        fake.add_image(GOOD_IMAGE, "app-v2");
        fake.add_image(BAD_IMAGE, "app-bad");
        fake.state().bad_images.insert(BAD_IMAGE);
        fake.add_image(FLAKY_IMAGE, "app-flaky");
        fake.add_image(SLOW_IMAGE, "app-slow");
        {
            let mut st = fake.state();
            st.image_flaws.insert(
                FLAKY_IMAGE,
                Flaw {
                    fail_every: 20,
                    delay: Duration::ZERO,
                },
            );
            st.image_flaws.insert(
                SLOW_IMAGE,
                Flaw {
                    fail_every: 0,
                    delay: Duration::from_millis(200),
                },
            );
            st.metrics = true;
        }
        let ids: Vec<u64> = (1..=n).collect();
        fake.add_web_lb(FLEET_LB_ID, FLEET_LB_IP, &ids, by_ids)
            .await;
        fake
    }

    /// A fake with `droplets` (id, name, public address on loopback, tags), reserved IPs
    /// (address on loopback, holder), all in `nyc3`; each droplet's app answers 200 `name`.
    pub async fn start(
        droplets: &[(u64, &str, Ipv4Addr, &[&str])],
        reserved: &[(Ipv4Addr, Option<u64>)],
    ) -> FakeDo {
        FakeDo::start_with_spare(droplets, reserved, &[]).await
    }

    /// [`FakeDo::start`], plus `spare` loopback addresses with an app listening: droplets
    /// created through the API (`POST /v2/droplets`) take them in order, so their apps answer
    /// health checks like the others'. The account has the public image `ubuntu-22-04-x64`
    /// (id 129211873); [`FakeDo::add_image`] adds snapshots.
    pub async fn start_with_spare(
        droplets: &[(u64, &str, Ipv4Addr, &[&str])],
        reserved: &[(Ipv4Addr, Option<u64>)],
        spare: &[Ipv4Addr],
    ) -> FakeDo {
        let state = Arc::new(Mutex::new(State::default()));
        {
            let mut st = state.lock().unwrap();
            for (id, name, ip, tags) in droplets {
                st.droplets
                    .insert(*id, droplet(*id, name, *ip, tags, "nyc3"));
                st.apps.insert(
                    *id,
                    App {
                        status: 200,
                        body: format!("{name} v1"),
                    },
                );
            }
            for (ip, holder) in reserved {
                st.reserved_ips
                    .insert(ip.to_string(), ("nyc3".into(), *holder));
            }
            st.action_polls = 1;
            st.spare = spare.to_vec();
            let base = json!({
                "id": 129_211_873, "name": "22.04 (LTS) x64", "distribution": "Ubuntu",
                "slug": "ubuntu-22-04-x64", "public": true, "regions": ["nyc3"],
                "type": "base", "status": "available"
            });
            st.images.insert("129211873".into(), base.clone());
            st.images.insert("ubuntu-22-04-x64".into(), base);
        }
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(Api(state.clone()))
            .mount(&server)
            .await;
        let mut addrs: Vec<Ipv4Addr> = droplets.iter().map(|d| d.2).collect();
        addrs.extend(reserved.iter().map(|r| r.0));
        addrs.extend(spare);
        let (app_port, ls) = listeners(&addrs);
        let mut apps = Vec::new();
        for (i, l) in ls.into_iter().enumerate() {
            let target = if i < droplets.len() {
                Target::Droplet(droplets[i].0)
            } else if i < droplets.len() + reserved.len() {
                Target::ReservedIp(reserved[i - droplets.len()].0.to_string())
            } else {
                Target::Spare(addrs[i])
            };
            let app = MockServer::builder().listener(l).start().await;
            Mock::given(any())
                .respond_with(AppResponder {
                    state: state.clone(),
                    target,
                })
                .mount(&app)
                .await;
            apps.push(app);
        }
        FakeDo {
            server,
            state,
            app_port,
            apps,
        }
    }

    /// A do-api client for this fake: its token, its URL, and fast retries (5 to 10 ms, no
    /// jitter) so that retried calls do not slow tests down.
    pub fn client(&self) -> do_api::Client {
        do_api::Client::builder()
            .token(do_api::Token::new(TOKEN).expect("the fake's token is valid"))
            .base_url(self.uri())
            .retry_policy(
                do_api::RetryPolicy::default()
                    .with_jitter(false)
                    .with_min_delay(std::time::Duration::from_millis(5))
                    .with_max_delay(std::time::Duration::from_millis(10)),
            )
            .build()
            .expect("a client for the fake")
    }

    /// The API base URL.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Lock the state.
    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// A private image (a snapshot) droplets can be created from, by id: their apps answer
    /// 200 `<name> <image name>`.
    pub fn add_image(&self, id: u64, name: &str) {
        self.state().images.insert(
            id.to_string(),
            json!({
                "id": id, "name": name, "distribution": "Ubuntu", "slug": null,
                "public": false, "regions": ["nyc3"], "type": "snapshot", "status": "available"
            }),
        );
    }

    /// Set how droplet `id`'s app answers.
    pub fn set_app(&self, id: u64, status: u16, body: &str) {
        self.state().apps.insert(
            id,
            App {
                status,
                body: body.into(),
            },
        );
    }

    /// Inject a fault.
    pub fn fault(&self, method: &str, path_prefix: &str, times: u32, status: u16) {
        self.state().faults.push(Fault {
            method: method.into(),
            path_prefix: path_prefix.into(),
            times,
            status,
            body: json!({"id": "injected", "message": format!("injected {status}")}),
            retry_after: None,
            after_effect: false,
        });
    }

    /// Answer the next call matching `method` and `path_prefix` with a 429 and
    /// `Retry-After: secs`, without carrying it out.
    pub fn fault_retry_after(&self, method: &str, path_prefix: &str, secs: u64) {
        self.state().faults.push(Fault {
            method: method.into(),
            path_prefix: path_prefix.into(),
            times: 1,
            status: 429,
            body: json!({"id": "too_many_requests", "message": "API Rate limit exceeded."}),
            retry_after: Some(secs),
            after_effect: false,
        });
    }

    /// Carry out the next `times` calls matching `method` and `path_prefix`, then answer them
    /// with `status` as if the answer was lost on the way back.
    pub fn fault_after_effect(&self, method: &str, path_prefix: &str, times: u32, status: u16) {
        self.state().faults.push(Fault {
            method: method.into(),
            path_prefix: path_prefix.into(),
            times,
            status,
            body: json!({"id": "server_error", "message": "Server Error"}),
            retry_after: None,
            after_effect: true,
        });
    }

    /// A `Notify` fired once the `n`-th mutating call has been applied.
    pub fn crash_after(&self, n: usize) -> Arc<Notify> {
        let notify = Arc::new(Notify::new());
        self.state().crash_after = Some((n, notify.clone()));
        notify
    }

    /// The mutating calls so far, as lines.
    pub fn mutations(&self) -> Vec<String> {
        self.state()
            .log
            .iter()
            .filter(|c| c.is_mutating())
            .map(Call::line)
            .collect()
    }

    /// The mutating calls so far, in short ([`Call::short`]).
    pub fn short_mutations(&self) -> Vec<String> {
        self.state()
            .log
            .iter()
            .filter(|c| c.is_mutating())
            .map(Call::short)
            .collect()
    }

    /// Every call so far, as lines.
    pub fn calls(&self) -> Vec<String> {
        self.state().log.iter().map(Call::line).collect()
    }

    /// Forget the log (between the runs of a scenario).
    pub fn clear_log(&self) {
        self.state().log.clear();
    }

    /// Panic if any request was not one the fake knows.
    pub fn assert_no_unexpected(&self) {
        let st = self.state();
        assert!(
            st.unexpected.is_empty(),
            "unexpected requests: {:#?}",
            st.unexpected
        );
    }

    /// The lock tags that exist now.
    pub fn lock_tags(&self) -> Vec<String> {
        self.state()
            .tags
            .iter()
            .filter(|t| t.starts_with("zdd-lock:"))
            .cloned()
            .collect()
    }

    /// Add a load balancer (see [`FakeLb`]) with its LB app on `lb.ip`, port [`Self::app_port`].
    pub async fn add_load_balancer(&mut self, lb: FakeLb<'_>) {
        let (tag, ids) = match &lb.selector {
            FakeSelector::Tag(t) => (t.to_string(), Vec::new()),
            FakeSelector::DropletIds(ids) => (String::new(), ids.to_vec()),
        };
        let value = json!({
            "id": lb.id,
            "name": lb.name,
            "ip": lb.ip.to_string(),
            "size_unit": 1,
            "status": "active",
            "created_at": "2017-02-01T22:22:58Z",
            // The entry port is the one its LB app really listens on: the entry point can be
            // derived from the API alone.
            "forwarding_rules": [{
                "entry_protocol": "http", "entry_port": self.app_port,
                "target_protocol": "http", "target_port": self.app_port,
                "certificate_id": "", "tls_passthrough": false
            }],
            "health_check": lb.health_check,
            "sticky_sessions": {"type": "none"},
            "region": {"name": "New York 3", "slug": "nyc3", "features": [], "available": true, "sizes": []},
            "tag": tag,
            "droplet_ids": ids,
            "redirect_http_to_https": false,
            "enable_proxy_protocol": false,
            "enable_backend_keepalive": false,
            "http_idle_timeout_seconds": 60,
            "vpc_uuid": "c33931f2-a26a-4e61-b85c-4e95a2ec431b",
            "project_id": "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30",
            "disable_lets_encrypt_dns_records": false,
            "network": "EXTERNAL",
            "network_stack": "IPV4",
            "type": "REGIONAL"
        });
        self.state().load_balancers.insert(lb.id.to_owned(), value);
        let listener = TcpListener::bind(SocketAddr::from((lb.ip, self.app_port)))
            .expect("bind the LB app on the apps' port");
        let app = MockServer::builder().listener(listener).start().await;
        Mock::given(any())
            .respond_with(AppResponder {
                state: self.state.clone(),
                target: Target::LoadBalancer(lb.id.to_owned()),
            })
            .mount(&app)
            .await;
        self.apps.push(app);
    }

    /// The requests the apps received (see [`State::app_log`]).
    pub fn app_log(&self) -> Vec<String> {
        self.state().app_log.clone()
    }

    /// Number of app servers (droplets + reserved IPs).
    pub fn app_count(&self) -> usize {
        self.apps.len()
    }
}

/// The load balancer of [`FakeDo::lb_pool`].
pub const POOL_LB_ID: &str = "4de7ac8b-495b-4884-9a69-1050c6793cd6";
/// Its address.
pub const POOL_LB_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 40);
/// The marker `zdd-do roll` puts on droplets it takes out of that load balancer's rotation.
pub const POOL_MARKER: &str = "zdd-out:lb-4de7ac8b-495b-4884-9a69-1050c6793cd6";

/// The address of droplet `web-i` in [`FakeDo::lb_pool`].
pub fn pool_ip(i: u64) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 30 + i as u8)
}

impl FakeDo {
    /// `n` droplets `web-1..n` (ids 1..n) behind a load balancer selecting `web` (or their ids),
    /// all answering `web-i v1`. The load balancer checks every 1 s, 1 s timeout, unhealthy
    /// after 2, healthy after 2: both windows are 3 s.
    pub async fn lb_pool(n: u64, by_ids: bool) -> FakeDo {
        let names: Vec<String> = (1..=n).map(|i| format!("web-{i}")).collect();
        let tags: &[&str] = if by_ids { &[] } else { &["web"] };
        let droplets: Vec<(u64, &str, Ipv4Addr, &[&str])> = (1..=n)
            .map(|i| (i, names[i as usize - 1].as_str(), pool_ip(i), tags))
            .collect();
        let mut fake = FakeDo::start(&droplets, &[]).await;
        let ids: Vec<u64> = (1..=n).collect();
        fake.add_web_lb(POOL_LB_ID, POOL_LB_IP, &ids, by_ids).await;
        fake
    }

    /// A load balancer `web-lb` (`id`, its app on `ip`) selecting the tag `web` or, with
    /// `by_ids`, the droplets `ids`; it checks `/health` every 1 s, 1 s timeout, unhealthy
    /// after 2, healthy after 2: both windows are 3 s.
    async fn add_web_lb(&mut self, id: &str, ip: Ipv4Addr, ids: &[u64], by_ids: bool) {
        let port = self.app_port;
        self.add_load_balancer(FakeLb {
            id,
            name: "web-lb",
            selector: if by_ids {
                FakeSelector::DropletIds(ids)
            } else {
                FakeSelector::Tag("web")
            },
            ip,
            health_check: json!({
                "protocol": "http", "port": port, "path": "/health",
                "check_interval_seconds": 1, "response_timeout_seconds": 1,
                "unhealthy_threshold": 2, "healthy_threshold": 2
            }),
        })
        .await;
    }
}

/// The snapshot of [`FakeDo::replace_fleet`] whose droplets serve (`app-v2`).
pub const GOOD_IMAGE: u64 = 170_000_001;
/// The snapshot of [`FakeDo::replace_fleet`] whose droplets never get healthy (`app-bad`).
pub const BAD_IMAGE: u64 = 170_000_002;
/// A snapshot whose droplets are healthy but fail one request in 20 ([`Flaw`]).
pub const FLAKY_IMAGE: u64 = 170_000_003;
/// A snapshot whose droplets are healthy but answer 200 ms late ([`Flaw`]).
pub const SLOW_IMAGE: u64 = 170_000_004;

/// The load balancer of [`FakeDo::lb_fleet`].
pub const FLEET_LB_ID: &str = "7f1c2a3e-0b4d-4c5e-8f60-718293a4b5c6";
/// Its address.
pub const FLEET_LB_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 60);

/// The address of droplet `id` in [`FakeDo::lb_fleet`].
pub fn fleet_ip(id: u64) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 50 + id as u8)
}

impl FakeDo {
    /// Blue-green through a load balancer: `live` droplets `blue-i` (ids from 1, tagged `PROD`,
    /// answering `blue-i v1`) in load balancer `web-lb`, which selects the tag `web` (or, with
    /// `by_ids`, their ids), and `standby` droplets `green-i` (the next ids, tagged `FALLBACK`,
    /// answering `green-i v2`) out of it. It checks as [`FakeDo::lb_pool`]'s does.
    pub async fn lb_fleet(live: u64, standby: u64, by_ids: bool) -> FakeDo {
        let names: Vec<String> = (1..=live)
            .map(|i| format!("blue-{i}"))
            .chain((1..=standby).map(|i| format!("green-{i}")))
            .collect();
        let live_tags: &[&str] = if by_ids { &["PROD"] } else { &["PROD", "web"] };
        let droplets: Vec<(u64, &str, Ipv4Addr, &[&str])> = (1..=live + standby)
            .map(|id| {
                let tags: &[&str] = if id <= live { live_tags } else { &["FALLBACK"] };
                (id, names[id as usize - 1].as_str(), fleet_ip(id), tags)
            })
            .collect();
        let mut fake = FakeDo::start(&droplets, &[]).await;
        for id in 1..=live + standby {
            let v = if id <= live { "v1" } else { "v2" };
            fake.set_app(id, 200, &format!("{} {v}", names[id as usize - 1]));
        }
        let ids: Vec<u64> = (1..=live).collect();
        fake.add_web_lb(FLEET_LB_ID, FLEET_LB_IP, &ids, by_ids)
            .await;
        fake
    }
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `GET /v2/monitoring/metrics/load_balancer/{metric}?lb_id&start&end`: one sample per series
/// at `end`, computed from what the LB app served in `[start, end + 1)`: responses a second by
/// droplet and class (`droplet_id`, `class` labels), each droplet's 95th-percentile time in
/// seconds, its health checks (1: passing), the frontend's responses a second by class.
fn lb_metrics(st: &State, req: &Request, metric: &str) -> ResponseTemplate {
    let (Some(lb), Some(start), Some(end)) = (
        query(req, "lb_id"),
        query(req, "start").and_then(|v| v.parse::<u64>().ok()),
        query(req, "end").and_then(|v| v.parse::<u64>().ok()),
    ) else {
        return err(400, "bad_request", "lb_id, start and end are required");
    };
    let served: Vec<&Served> = if st.metrics {
        st.lb_served
            .iter()
            .filter(|s| s.lb == lb && s.at >= start as f64 && s.at < (end + 1) as f64)
            .collect()
    } else {
        Vec::new()
    };
    let secs = (end.saturating_sub(start)).max(1) as f64;
    let class = |s: &Served| format!("{}xx", s.status / 100);
    let mut groups: BTreeMap<(String, String), Vec<&Served>> = BTreeMap::new();
    for s in &served {
        let key = match metric {
            "droplets_http_responses" => (s.droplet.to_string(), class(s)),
            "frontend_http_responses" => (String::new(), class(s)),
            "droplets_http_response_time_95p" | "droplets_health_checks" => {
                (s.droplet.to_string(), String::new())
            }
            _ => {
                return err(
                    404,
                    "not_found",
                    "The resource you requested could not be found.",
                );
            }
        };
        groups.entry(key).or_default().push(s);
    }
    let result: Vec<Value> = groups
        .into_iter()
        .map(|((droplet, class), ss)| {
            let value = match metric {
                "droplets_http_responses" | "frontend_http_responses" => ss.len() as f64 / secs,
                "droplets_http_response_time_95p" => {
                    let mut t: Vec<f64> = ss.iter().map(|s| s.took.as_secs_f64() + 0.001).collect();
                    t.sort_by(f64::total_cmp);
                    t[((t.len() as f64 * 0.95).ceil() as usize).clamp(1, t.len()) - 1]
                }
                _ => 1.0,
            };
            let mut labels = serde_json::Map::new();
            labels.insert("lb_id".into(), json!(lb));
            if !droplet.is_empty() {
                labels.insert("droplet_id".into(), json!(droplet));
            }
            if !class.is_empty() {
                labels.insert("class".into(), json!(class));
            }
            json!({"metric": labels, "values": [[end, value.to_string()]]})
        })
        .collect();
    ok(
        200,
        json!({"status": "success", "data": {"resultType": "matrix", "result": result}}),
    )
}
