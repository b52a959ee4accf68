//! The API server: the subset of DigitalOcean's API v2 that do-api covers, plus the control
//! endpoints under `/_sim`.
//!
//! Every `/v2` answer carries `ratelimit-limit`, `ratelimit-remaining` and `ratelimit-reset`.
//! Order of checks on `/v2`: count the call, 401 without a bearer token, 429 when the hourly
//! quota is used up (real) or by injection, injected 5xx, added latency, then the operation.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use do_api::ActionType;
use do_api::load_balancers::{ForwardingRule, HealthCheck, StickySessions};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::state::{
    DropletRec, Effect, IpRec, LbRec, Shared, State as SimState, action_json, droplet_json,
    ip_json, lb_json, tag_json,
};
use crate::stats::{IpStats, LbStats, route_key};
use crate::util::{HostKind, now_iso, unix_now};

type Sh = Arc<Shared>;
type Q = Query<HashMap<String, String>>;
type ApiResult = Result<Response, ApiErr>;

/// A DigitalOcean error answer: `{"id": "...", "message": "...", "request_id": "..."}`.
#[derive(Debug)]
pub(crate) struct ApiErr {
    status: StatusCode,
    id: &'static str,
    message: String,
}

impl ApiErr {
    fn new(status: StatusCode, id: &'static str, message: impl Into<String>) -> Self {
        ApiErr {
            status,
            id,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        json_resp(
            self.status,
            json!({"id": self.id, "message": self.message, "request_id": "sim-request"}),
        )
    }
}

fn json_resp(status: StatusCode, v: Value) -> Response {
    let mut r = Response::new(Body::from(v.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn ok(status: StatusCode, v: Value) -> ApiResult {
    Ok(json_resp(status, v))
}

fn no_content() -> ApiResult {
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn not_found() -> ApiErr {
    ApiErr::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "The resource you were accessing could not be found.",
    )
}

fn unprocessable(msg: impl Into<String>) -> ApiErr {
    ApiErr::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable_entity",
        msg,
    )
}

fn bad_request(msg: impl Into<String>) -> ApiErr {
    ApiErr::new(StatusCode::BAD_REQUEST, "bad_request", msg)
}

fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiErr> {
    serde_json::from_slice(body).map_err(|e| bad_request(format!("invalid JSON body: {e}")))
}

fn internal(e: impl std::fmt::Display) -> ApiErr {
    ApiErr::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        format!("simulator: {e}"),
    )
}

/// A tag name as `resources/tags/models/tags.yml` allows: letters, digits, `:`, `-`, `_`, at
/// most 255 characters.
fn valid_tag(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_'))
}

/// One page of `items` with `links.pages` (`shared/pages.yml`) and `meta.total`.
fn paged(
    sh: &Shared,
    path: &str,
    q: &HashMap<String, String>,
    key: &str,
    items: Vec<Value>,
) -> Value {
    let per_page = q
        .get("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(20)
        .clamp(1, 200);
    let page = q
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let total = items.len();
    let last = total.div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let mut others: Vec<(&String, &String)> = q
        .iter()
        .filter(|(k, _)| k.as_str() != "page" && k.as_str() != "per_page")
        .collect();
    others.sort();
    let link = |p: usize| {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &others {
            ser.append_pair(k, v);
        }
        ser.append_pair("page", &p.to_string());
        ser.append_pair("per_page", &per_page.to_string());
        format!("{}{path}?{}", sh.base(), ser.finish())
    };
    let mut pages = Map::new();
    if page > 1 {
        pages.insert("first".into(), json!(link(1)));
        pages.insert("prev".into(), json!(link((page - 1).min(last))));
    }
    if page < last {
        pages.insert("last".into(), json!(link(last)));
        pages.insert("next".into(), json!(link(page + 1)));
    }
    json!({key: slice, "links": {"pages": pages}, "meta": {"total": total}})
}

// ---------------------------------------------------------------------------------------------
// Router and middleware
// ---------------------------------------------------------------------------------------------

/// Which name an IP collection goes by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IpKind {
    Reserved,
    Floating,
}

impl IpKind {
    fn many(self) -> &'static str {
        match self {
            IpKind::Reserved => "reserved_ips",
            IpKind::Floating => "floating_ips",
        }
    }
    fn one(self) -> &'static str {
        match self {
            IpKind::Reserved => "reserved_ip",
            IpKind::Floating => "floating_ip",
        }
    }
}

pub(crate) fn router(sh: Sh) -> Router {
    let ips = |k: IpKind| {
        Router::new()
            .route(
                "/",
                get(move |s, q| list_ips(k, s, q)).post(move |s, b| create_ip(k, s, b)),
            )
            .route(
                "/{ip}",
                get(move |s, p| get_ip(k, s, p)).delete(move |s, p| delete_ip(k, s, p)),
            )
            .route(
                "/{ip}/actions",
                get(move |s, p, q| list_ip_actions(k, s, p, q))
                    .post(move |s, p, b| post_ip_action(k, s, p, b)),
            )
            .route(
                "/{ip}/actions/{action}",
                get(move |s, p| get_ip_action(k, s, p)),
            )
    };
    let v2 = Router::new()
        .route("/account", get(get_account))
        .route("/images/{id}", get(get_image))
        .route("/sizes", get(list_sizes))
        .route(
            "/droplets",
            get(list_droplets)
                .post(create_droplets)
                .delete(delete_droplets_by_tag),
        )
        .route("/droplets/actions", post(droplet_actions_by_tag))
        .route("/droplets/{id}", get(get_droplet).delete(delete_droplet))
        .route(
            "/droplets/{id}/actions",
            get(list_droplet_actions).post(post_droplet_action),
        )
        .route("/droplets/{id}/actions/{action}", get(get_droplet_action))
        .route("/tags", get(list_tags).post(create_tag))
        .route("/tags/{name}", get(get_tag).delete(delete_tag))
        .route(
            "/tags/{name}/resources",
            post(tag_resources).delete(untag_resources),
        )
        .route("/actions", get(list_actions))
        .route("/actions/{id}", get(get_action))
        .route("/load_balancers", get(list_lbs).post(create_lb))
        .route(
            "/load_balancers/{id}",
            get(get_lb).put(update_lb).delete(delete_lb),
        )
        .route(
            "/load_balancers/{id}/droplets",
            post(add_lb_droplets).delete(remove_lb_droplets),
        )
        .route(
            "/load_balancers/{id}/forwarding_rules",
            post(add_lb_rules).delete(remove_lb_rules),
        )
        .route(
            "/monitoring/metrics/load_balancer/{metric}",
            get(lb_metrics),
        )
        .nest("/reserved_ips", ips(IpKind::Reserved))
        .nest("/floating_ips", ips(IpKind::Floating))
        .fallback(|| async { not_found() })
        .layer(middleware::from_fn_with_state(sh.clone(), v2_layer));
    Router::new()
        .nest("/v2", v2)
        .nest("/_sim", crate::control::router())
        .fallback(|| async { not_found() })
        .with_state(sh)
}

fn rate_headers(resp: &mut Response, limit: u64, remaining: u64, reset: u64) {
    let h = resp.headers_mut();
    for (k, v) in [
        ("ratelimit-limit", limit),
        ("ratelimit-remaining", remaining),
        ("ratelimit-reset", reset),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v.to_string()) {
            h.insert(k, v);
        }
    }
}

/// What the middleware decided before the handler runs.
enum Gate {
    Pass(Duration),
    Answer(Response),
}

async fn v2_layer(State(sh): State<Sh>, req: Request, next: Next) -> Response {
    // Inside the `/v2` nest the path has lost its prefix.
    let key = route_key(req.method().as_str(), &format!("/v2{}", req.uri().path()));
    let authed = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| !t.trim().is_empty());
    let is_get = req.method() == Method::GET || req.method() == Method::HEAD;
    let limit = sh.cfg.rate_limit;
    let now = unix_now();
    let (gate, remaining, reset) = {
        let mut st = sh.lock();
        *st.stats.api_calls.entry(key).or_default() += 1;
        while st
            .quota
            .front()
            .is_some_and(|t| now.saturating_sub(*t) >= 3600)
        {
            st.quota.pop_front();
        }
        let gate = if !authed {
            st.stats.unauthorized += 1;
            Gate::Answer(
                ApiErr::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "Unable to authenticate you.",
                )
                .into_response(),
            )
        } else if st.quota.len() as u64 >= limit {
            st.stats.rate_limited += 1;
            let wait = st
                .quota
                .front()
                .map_or(1, |t| (t + 3600).saturating_sub(now))
                .max(1);
            Gate::Answer(too_many(&wait.to_string()))
        } else {
            st.quota.push_back(now);
            let f = st.faults.clone();
            if st.rng.chance(f.rate_limited_share) {
                st.stats.injected_429 += 1;
                Gate::Answer(too_many(&secs_text(f.retry_after_secs)))
            } else if (is_get || f.server_errors_on_writes) && st.rng.chance(f.server_error_share) {
                st.stats.injected_5xx += 1;
                Gate::Answer(
                    ApiErr::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "server_error",
                        "Unexpected server-side error",
                    )
                    .into_response(),
                )
            } else {
                Gate::Pass(Duration::from_millis(f.api_latency_ms))
            }
        };
        let remaining = limit.saturating_sub(st.quota.len() as u64);
        let reset = st.quota.front().map_or(now + 3600, |t| t + 3600);
        (gate, remaining, reset)
    };
    let mut resp = match gate {
        Gate::Answer(r) => r,
        Gate::Pass(latency) => {
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            next.run(req).await
        }
    };
    rate_headers(&mut resp, limit, remaining, reset);
    resp
}

fn secs_text(s: f64) -> String {
    let s = s.max(0.0);
    if s.fract() == 0.0 {
        format!("{}", s as u64)
    } else {
        format!("{s:.3}")
    }
}

fn too_many(retry_after: &str) -> Response {
    let mut r = ApiErr::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
        "API Rate limit exceeded.",
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(retry_after) {
        r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    r
}

// ---------------------------------------------------------------------------------------------
// Droplets
// ---------------------------------------------------------------------------------------------

async fn list_droplets(State(sh): State<Sh>, Query(q): Q) -> ApiResult {
    let tag = q.get("tag_name").filter(|t| !t.is_empty());
    let name = q.get("name").filter(|t| !t.is_empty());
    if tag.is_some() && name.is_some() {
        return Err(unprocessable(
            "tag_name and name cannot be combined; filter by one of them",
        ));
    }
    let items: Vec<Value> = {
        let st = sh.lock();
        st.droplets
            .values()
            .filter(|d| tag.is_none_or(|t| d.tags.iter().any(|x| x == t)))
            .filter(|d| name.is_none_or(|n| d.name.eq_ignore_ascii_case(n)))
            .map(droplet_json)
            .collect()
    };
    ok(
        StatusCode::OK,
        paged(&sh, "/v2/droplets", &q, "droplets", items),
    )
}

async fn get_droplet(State(sh): State<Sh>, Path(id): Path<String>) -> ApiResult {
    let id: u64 = id.parse().map_err(|_| not_found())?;
    let st = sh.lock();
    let d = st.droplets.get(&id).ok_or_else(not_found)?;
    ok(StatusCode::OK, json!({"droplet": droplet_json(d)}))
}

#[derive(Deserialize)]
struct CreateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    names: Option<Vec<String>>,
    #[serde(default)]
    size: Option<String>,
    #[serde(default)]
    image: Option<Value>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
}

async fn create_droplets(State(sh): State<Sh>, body: Bytes) -> ApiResult {
    let b: CreateBody = parse(&body)?;
    let (single, names) = match (b.name, b.names) {
        (Some(n), None) => (true, vec![n]),
        (None, Some(ns)) if !ns.is_empty() && ns.len() <= 10 => (false, ns),
        (None, Some(_)) => return Err(unprocessable("names must list 1 to 10 droplet names")),
        (Some(_), Some(_)) => return Err(unprocessable("give either name or names, not both")),
        (None, None) => return Err(unprocessable("name is required")),
    };
    if names.iter().any(|n| {
        n.is_empty()
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
    }) {
        return Err(unprocessable(
            "droplet names may contain only letters, digits, `.` and `-`",
        ));
    }
    let size = b
        .size
        .filter(|s| !s.is_empty())
        .ok_or_else(|| unprocessable("size is required"))?;
    let image = b.image.ok_or_else(|| unprocessable("image is required"))?;
    if !crate::images::size_exists(&size) {
        return Err(unprocessable(
            "You specified an invalid size for Droplet creation.",
        ));
    }
    let tags = b.tags.unwrap_or_default();
    if let Some(bad) = tags.iter().find(|t| !valid_tag(t)) {
        return Err(unprocessable(format!("tag name `{bad}` is invalid")));
    }
    let region = b.region.unwrap_or_else(|| sh.cfg.region.clone());
    let (image, version, never_healthy, flaw) = {
        let st = sh.lock();
        let found = crate::images::resolve(&st.images, &image)
            .ok_or_else(|| unprocessable("You specified an invalid image for Droplet creation."))?;
        (
            crate::images::image_json(found, &region),
            found
                .version
                .clone()
                .unwrap_or_else(|| sh.cfg.new_droplet_version.clone()),
            found.never_healthy,
            found.flaw,
        )
    };
    {
        let st = sh.lock();
        if st.droplets.len() + names.len() > sh.cfg.droplet_limit as usize {
            return Err(unprocessable(
                "creating this/these droplet(s) will exceed your droplet limit",
            ));
        }
    }
    let mut bound = Vec::new();
    for _ in &names {
        bound.push(sh.bind_new(HostKind::Droplet).await.map_err(internal)?);
    }
    let mut droplets = Vec::new();
    let mut links = Vec::new();
    {
        let mut st = sh.lock();
        for t in &tags {
            st.ensure_tag(t);
        }
        for (name, (addr, listener)) in names.iter().zip(bound) {
            let id = st.next_droplet;
            st.next_droplet += 1;
            let app = App::new(id, addr, name, &version, false);
            if never_healthy {
                app.set_broken(true);
            }
            app.set_flaw(flaw);
            let gone = tokio::sync::watch::channel(false).0;
            tokio::spawn(crate::app::serve(
                app.clone(),
                listener,
                sh.stop.subscribe(),
                gone.subscribe(),
            ));
            let rec = DropletRec {
                id,
                name: name.clone(),
                tags: tags.clone(),
                status: "new",
                created_at: now_iso(),
                region: region.clone(),
                size: size.clone(),
                image: image.clone(),
                app,
                gone,
            };
            droplets.push(droplet_json(&rec));
            st.droplets.insert(id, rec);
            let action = sh.start_action(
                &mut st,
                ActionType::Create,
                id,
                "droplet",
                Effect::DropletActive(id),
            );
            links.push(json!({"id": action, "rel": "create", "href": format!("{}/v2/actions/{action}", sh.base())}));
        }
    }
    let body = if single {
        json!({"droplet": droplets[0], "links": {"actions": links}})
    } else {
        json!({"droplets": droplets, "links": {"actions": links}})
    };
    ok(StatusCode::ACCEPTED, body)
}

/// Remove droplet `id` and everything pointing at it.
fn destroy(st: &mut SimState, id: u64, moves: &crate::config::IpMoves) -> bool {
    let Some(rec) = st.droplets.remove(&id) else {
        return false;
    };
    rec.gone.send_replace(true);
    rec.app.power_off();
    for ip in st.ips.values_mut() {
        if ip.holder == Some(id) {
            ip.holder = None;
            ip.moved(moves);
        }
    }
    for lb in st.lbs.values_mut() {
        lb.droplet_ids.retain(|d| *d != id);
    }
    st.prune_health();
    true
}

async fn delete_droplet(State(sh): State<Sh>, Path(id): Path<String>) -> ApiResult {
    let id: u64 = id.parse().map_err(|_| not_found())?;
    if destroy(&mut sh.lock(), id, &sh.cfg.ip_moves) {
        no_content()
    } else {
        Err(not_found())
    }
}

async fn delete_droplets_by_tag(State(sh): State<Sh>, Query(q): Q) -> ApiResult {
    let tag = q
        .get("tag_name")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad_request("tag_name is required to delete droplets by tag"))?;
    let mut st = sh.lock();
    let ids: Vec<u64> = st
        .droplets
        .values()
        .filter(|d| d.tags.iter().any(|t| t == tag))
        .map(|d| d.id)
        .collect();
    for id in ids {
        destroy(&mut st, id, &sh.cfg.ip_moves);
    }
    no_content()
}

const BY_TAG: [&str; 8] = [
    "power_cycle",
    "power_on",
    "power_off",
    "shutdown",
    "enable_ipv6",
    "enable_backups",
    "disable_backups",
    "snapshot",
];

const DROPLET_ACTIONS: [&str; 17] = [
    "reboot",
    "power_cycle",
    "shutdown",
    "power_off",
    "power_on",
    "enable_backups",
    "disable_backups",
    "change_backup_policy",
    "restore",
    "password_reset",
    "resize",
    "rebuild",
    "rename",
    "change_kernel",
    "enable_ipv6",
    "snapshot",
    "enable_private_networking",
];

fn droplet_effect(kind: &str, id: u64, body: &Value) -> Result<Effect, ApiErr> {
    Ok(match kind {
        "power_off" | "shutdown" => Effect::PowerOff(id),
        "power_on" => Effect::PowerOn(id),
        "reboot" | "power_cycle" | "rebuild" | "restore" | "resize" => Effect::Reboot(id),
        "rename" => Effect::Rename(
            id,
            body.get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| unprocessable("rename needs a name"))?
                .to_owned(),
        ),
        _ => Effect::None,
    })
}

async fn post_droplet_action(
    State(sh): State<Sh>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let id: u64 = id.parse().map_err(|_| not_found())?;
    let v: Value = parse(&body)?;
    let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
    if !DROPLET_ACTIONS.contains(&kind) {
        return Err(unprocessable(format!(
            "`{kind}` is not a droplet action type"
        )));
    }
    let effect = droplet_effect(kind, id, &v)?;
    let mut st = sh.lock();
    if !st.droplets.contains_key(&id) {
        return Err(not_found());
    }
    let a = sh.start_action(&mut st, ActionType::from(kind), id, "droplet", effect);
    ok(
        StatusCode::CREATED,
        json!({"action": action_json(&st.actions[&a])}),
    )
}

async fn droplet_actions_by_tag(State(sh): State<Sh>, Query(q): Q, body: Bytes) -> ApiResult {
    let tag = q
        .get("tag_name")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unprocessable("tag_name is required"))?;
    let v: Value = parse(&body)?;
    let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
    if !BY_TAG.contains(&kind) {
        return Err(unprocessable(format!("`{kind}` cannot be sent by tag")));
    }
    let mut st = sh.lock();
    let ids: Vec<u64> = st
        .droplets
        .values()
        .filter(|d| d.tags.iter().any(|t| t == tag))
        .map(|d| d.id)
        .collect();
    let mut out = Vec::new();
    for id in ids {
        let effect = droplet_effect(kind, id, &v)?;
        let a = sh.start_action(&mut st, ActionType::from(kind), id, "droplet", effect);
        out.push(action_json(&st.actions[&a]));
    }
    ok(StatusCode::CREATED, json!({"actions": out}))
}

async fn list_droplet_actions(
    State(sh): State<Sh>,
    Path(id): Path<String>,
    Query(q): Q,
) -> ApiResult {
    let id: u64 = id.parse().map_err(|_| not_found())?;
    let items: Vec<Value> = {
        let st = sh.lock();
        if !st.droplets.contains_key(&id) {
            return Err(not_found());
        }
        st.actions
            .values()
            .rev()
            .filter(|a| a.resource_type == "droplet" && a.resource_id == id)
            .map(action_json)
            .collect()
    };
    ok(
        StatusCode::OK,
        paged(
            &sh,
            &format!("/v2/droplets/{id}/actions"),
            &q,
            "actions",
            items,
        ),
    )
}

async fn get_droplet_action(
    State(sh): State<Sh>,
    Path((id, action)): Path<(String, String)>,
) -> ApiResult {
    let id: u64 = id.parse().map_err(|_| not_found())?;
    let action: u64 = action.parse().map_err(|_| not_found())?;
    let st = sh.lock();
    let a = st
        .actions
        .get(&action)
        .filter(|a| a.resource_type == "droplet" && a.resource_id == id)
        .ok_or_else(not_found)?;
    ok(StatusCode::OK, json!({"action": action_json(a)}))
}

// ---------------------------------------------------------------------------------------------
// Actions
// ---------------------------------------------------------------------------------------------

async fn list_actions(State(sh): State<Sh>, Query(q): Q) -> ApiResult {
    let items: Vec<Value> = sh.lock().actions.values().rev().map(action_json).collect();
    ok(
        StatusCode::OK,
        paged(&sh, "/v2/actions", &q, "actions", items),
    )
}

/// `GET /v2/images/{id}`: by id, or a public image by slug.
async fn get_image(State(sh): State<Sh>, Path(id): Path<String>) -> ApiResult {
    let st = sh.lock();
    let found = crate::images::resolve(&st.images, &Value::String(id)).ok_or_else(not_found)?;
    ok(
        StatusCode::OK,
        json!({"image": crate::images::image_json(found, &sh.cfg.region)}),
    )
}

/// `GET /v2/sizes`.
async fn list_sizes(State(sh): State<Sh>, Query(q): Q) -> ApiResult {
    let items = crate::images::sizes_json(&sh.cfg.region);
    ok(StatusCode::OK, paged(&sh, "/v2/sizes", &q, "sizes", items))
}

/// `GET /v2/account`: a fixed simulated user, with the configured droplet limit.
async fn get_account(State(sh): State<Sh>) -> ApiResult {
    ok(
        StatusCode::OK,
        json!({"account": {
            "droplet_limit": sh.cfg.droplet_limit,
            "floating_ip_limit": 5,
            "email": "sim@do-sim.invalid",
            "name": "do-sim",
            "uuid": "d0517000000000000000000000000000000000de",
            "email_verified": true,
            "status": "active",
            "status_message": "",
        }}),
    )
}

async fn get_action(State(sh): State<Sh>, Path(id): Path<String>) -> ApiResult {
    let id: u64 = id.parse().map_err(|_| not_found())?;
    let st = sh.lock();
    let a = st.actions.get(&id).ok_or_else(not_found)?;
    ok(StatusCode::OK, json!({"action": action_json(a)}))
}

// ---------------------------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------------------------

async fn list_tags(State(sh): State<Sh>, Query(q): Q) -> ApiResult {
    let items: Vec<Value> = {
        let st = sh.lock();
        st.tags
            .iter()
            .map(|t| tag_json(&st, sh.base(), t))
            .collect()
    };
    ok(StatusCode::OK, paged(&sh, "/v2/tags", &q, "tags", items))
}

async fn create_tag(State(sh): State<Sh>, body: Bytes) -> ApiResult {
    let v: Value = parse(&body)?;
    let name = v.get("name").and_then(Value::as_str).unwrap_or_default();
    if !valid_tag(name) {
        return Err(bad_request(
            "tag names may contain letters, numbers, colons, dashes and underscores, up to 255 characters",
        ));
    }
    let mut st = sh.lock();
    st.ensure_tag(name);
    ok(
        StatusCode::CREATED,
        json!({"tag": tag_json(&st, sh.base(), name)}),
    )
}

async fn get_tag(State(sh): State<Sh>, Path(name): Path<String>) -> ApiResult {
    let st = sh.lock();
    if !st.tags.contains(&name) {
        return Err(not_found());
    }
    ok(
        StatusCode::OK,
        json!({"tag": tag_json(&st, sh.base(), &name)}),
    )
}

async fn delete_tag(State(sh): State<Sh>, Path(name): Path<String>) -> ApiResult {
    let mut st = sh.lock();
    if !st.tags.remove(&name) {
        return Err(not_found());
    }
    for d in st.droplets.values_mut() {
        d.tags.retain(|t| *t != name);
    }
    st.prune_health();
    no_content()
}

#[derive(Deserialize)]
struct ResourcesBody {
    resources: Vec<ResourceRef>,
}

#[derive(Deserialize)]
struct ResourceRef {
    resource_id: String,
    resource_type: String,
}

fn droplet_refs(st: &SimState, body: &Bytes) -> Result<Vec<u64>, ApiErr> {
    let b: ResourcesBody = parse(body)?;
    if b.resources.is_empty() {
        return Err(bad_request("resources must not be empty"));
    }
    let mut ids = Vec::new();
    for r in b.resources {
        if r.resource_type != "droplet" {
            continue;
        }
        let id: u64 = r
            .resource_id
            .parse()
            .map_err(|_| unprocessable(format!("`{}` is not a droplet id", r.resource_id)))?;
        if !st.droplets.contains_key(&id) {
            return Err(not_found());
        }
        ids.push(id);
    }
    Ok(ids)
}

async fn tag_resources(State(sh): State<Sh>, Path(name): Path<String>, body: Bytes) -> ApiResult {
    let mut st = sh.lock();
    if !st.tags.contains(&name) {
        return Err(not_found());
    }
    for id in droplet_refs(&st, &body)? {
        if let Some(d) = st.droplets.get_mut(&id)
            && !d.tags.contains(&name)
        {
            d.tags.push(name.clone());
        }
    }
    no_content()
}

async fn untag_resources(State(sh): State<Sh>, Path(name): Path<String>, body: Bytes) -> ApiResult {
    let mut st = sh.lock();
    if !st.tags.contains(&name) {
        return Err(not_found());
    }
    for id in droplet_refs(&st, &body)? {
        if let Some(d) = st.droplets.get_mut(&id) {
            d.tags.retain(|t| *t != name);
        }
    }
    st.prune_health();
    no_content()
}

// ---------------------------------------------------------------------------------------------
// Reserved and floating IPs
// ---------------------------------------------------------------------------------------------

fn parse_ip(s: &str) -> Result<Ipv4Addr, ApiErr> {
    s.parse().map_err(|_| not_found())
}

async fn list_ips(k: IpKind, State(sh): State<Sh>, Query(q): Q) -> ApiResult {
    let items: Vec<Value> = {
        let st = sh.lock();
        st.ips.values().map(|r| ip_json(&st, r)).collect()
    };
    ok(
        StatusCode::OK,
        paged(&sh, &format!("/v2/{}", k.many()), &q, k.many(), items),
    )
}

async fn get_ip(k: IpKind, State(sh): State<Sh>, Path(ip): Path<String>) -> ApiResult {
    let ip = parse_ip(&ip)?;
    let st = sh.lock();
    let r = st.ips.get(&ip).ok_or_else(not_found)?;
    ok(StatusCode::OK, json!({k.one(): ip_json(&st, r)}))
}

/// Start an IP action on `ip` (locked until it ends).
fn ip_action(
    sh: &Sh,
    st: &mut SimState,
    k: IpKind,
    ip: Ipv4Addr,
    droplet: Option<u64>,
) -> Result<u64, ApiErr> {
    let rec = st.ips.get(&ip).ok_or_else(not_found)?;
    if rec.pending.is_some() {
        return Err(unprocessable(format!(
            "The {} already has a pending event.",
            k.one().replace('_', " ")
        )));
    }
    let (kind, effect) = match droplet {
        Some(d) => {
            let target = st
                .droplets
                .get(&d)
                .ok_or_else(|| unprocessable(format!("droplet {d} was not found")))?;
            if target.region != rec.region {
                return Err(unprocessable(format!(
                    "droplet {d} is in {}, the IP in {}",
                    target.region, rec.region
                )));
            }
            (ActionType::AssignIp, Effect::Assign { ip, droplet: d })
        }
        None => {
            if rec.holder.is_none() {
                return Err(unprocessable(format!(
                    "The {} is not assigned to a droplet.",
                    k.one().replace('_', " ")
                )));
            }
            (ActionType::UnassignIp, Effect::Unassign { ip })
        }
    };
    let a = sh.start_action(st, kind, u64::from(u32::from(ip)), k.one(), effect);
    if let Some(rec) = st.ips.get_mut(&ip) {
        rec.pending = Some(a);
    }
    Ok(a)
}

async fn create_ip(k: IpKind, State(sh): State<Sh>, body: Bytes) -> ApiResult {
    let v: Value = parse(&body)?;
    let droplet = v.get("droplet_id").and_then(Value::as_u64);
    let region = v.get("region").and_then(Value::as_str).map(str::to_owned);
    let region = match (droplet, region) {
        (Some(d), None) => sh
            .lock()
            .droplets
            .get(&d)
            .map(|r| r.region.clone())
            .ok_or_else(|| unprocessable(format!("droplet {d} was not found")))?,
        (None, Some(r)) if !r.is_empty() => r,
        _ => return Err(unprocessable("give either droplet_id or region")),
    };
    let (addr, listener) = sh.bind_new(HostKind::ReservedIp).await.map_err(internal)?;
    let mut st = sh.lock();
    let gone = tokio::sync::watch::channel(false).0;
    tokio::spawn(crate::forward::serve(
        sh.clone(),
        addr,
        listener,
        sh.stop.subscribe(),
        gone.subscribe(),
    ));
    st.ips.insert(
        addr,
        IpRec {
            ip: addr,
            region,
            holder: None,
            pending: None,
            stats: IpStats::default(),
            gone,
            moved: tokio::sync::watch::channel(0).0,
            blackout_until: None,
        },
    );
    let mut links = json!({});
    if let Some(d) = droplet {
        let a = ip_action(&sh, &mut st, k, addr, Some(d))?;
        links = json!({
            "droplets": [{"id": d, "rel": "droplet", "href": format!("{}/v2/droplets/{d}", sh.base())}],
            "actions": [{"id": a, "rel": "assign_ip", "href": format!("{}/v2/actions/{a}", sh.base())}],
        });
    }
    ok(
        StatusCode::ACCEPTED,
        json!({k.one(): ip_json(&st, &st.ips[&addr]), "links": links}),
    )
}

async fn delete_ip(_k: IpKind, State(sh): State<Sh>, Path(ip): Path<String>) -> ApiResult {
    let ip = parse_ip(&ip)?;
    let rec = sh.lock().ips.remove(&ip).ok_or_else(not_found)?;
    rec.gone.send_replace(true);
    no_content()
}

async fn post_ip_action(
    k: IpKind,
    State(sh): State<Sh>,
    Path(ip): Path<String>,
    body: Bytes,
) -> ApiResult {
    let ip = parse_ip(&ip)?;
    let v: Value = parse(&body)?;
    let droplet = match v.get("type").and_then(Value::as_str) {
        Some("assign") => Some(
            v.get("droplet_id")
                .and_then(Value::as_u64)
                .ok_or_else(|| unprocessable("assign needs a droplet_id"))?,
        ),
        Some("unassign") => None,
        other => {
            return Err(unprocessable(format!(
                "`{}` is not an IP action; use assign or unassign",
                other.unwrap_or_default()
            )));
        }
    };
    let mut st = sh.lock();
    let a = ip_action(&sh, &mut st, k, ip, droplet)?;
    ok(
        StatusCode::CREATED,
        json!({"action": action_json(&st.actions[&a])}),
    )
}

async fn list_ip_actions(
    k: IpKind,
    State(sh): State<Sh>,
    Path(ip): Path<String>,
    Query(q): Q,
) -> ApiResult {
    let ip = parse_ip(&ip)?;
    let items: Vec<Value> = {
        let st = sh.lock();
        if !st.ips.contains_key(&ip) {
            return Err(not_found());
        }
        let n = u64::from(u32::from(ip));
        st.actions
            .values()
            .rev()
            .filter(|a| a.resource_id == n && a.resource_type != "droplet")
            .map(action_json)
            .collect()
    };
    ok(
        StatusCode::OK,
        paged(
            &sh,
            &format!("/v2/{}/{ip}/actions", k.many()),
            &q,
            "actions",
            items,
        ),
    )
}

async fn get_ip_action(
    _k: IpKind,
    State(sh): State<Sh>,
    Path((ip, action)): Path<(String, String)>,
) -> ApiResult {
    let ip = parse_ip(&ip)?;
    let action: u64 = action.parse().map_err(|_| not_found())?;
    let st = sh.lock();
    let n = u64::from(u32::from(ip));
    let a = st
        .actions
        .get(&action)
        .filter(|a| a.resource_id == n && a.resource_type != "droplet")
        .ok_or_else(not_found)?;
    ok(StatusCode::OK, json!({"action": action_json(a)}))
}

// ---------------------------------------------------------------------------------------------
// Load balancers
// ---------------------------------------------------------------------------------------------

/// The body of create and update (`models/load_balancer_create.yml`), the fields the
/// simulator acts on; the rest is echoed back.
struct LbBody {
    name: String,
    region: Option<String>,
    rules: Vec<ForwardingRule>,
    hc: HealthCheck,
    sticky: Option<StickySessions>,
    tag: Option<String>,
    droplet_ids: Vec<u64>,
    settings: Map<String, Value>,
}

/// The proxy listens on the app port and sends to it: the rules say so, whatever was asked, so
/// that a client can derive the entry point from the API alone.
fn actual_ports(rules: &mut [ForwardingRule], port: u16) {
    for r in rules {
        r.entry_port = port;
        r.target_port = port;
    }
}

fn lb_body(body: &Bytes, port: u16) -> Result<LbBody, ApiErr> {
    let v: Value = parse(body)?;
    let Value::Object(mut map) = v else {
        return Err(bad_request("the body must be a JSON object"));
    };
    let mut take = |k: &str| map.remove(k);
    let name = take("name")
        .and_then(|v| v.as_str().map(str::to_owned))
        .filter(|n| !n.is_empty())
        .ok_or_else(|| unprocessable("name is required"))?;
    let region = take("region").and_then(|v| v.as_str().map(str::to_owned));
    let rules: Vec<ForwardingRule> = match take("forwarding_rules") {
        Some(v) => serde_json::from_value(v)
            .map_err(|e| unprocessable(format!("forwarding_rules: {e}")))?,
        None => Vec::new(),
    };
    if rules.is_empty() {
        return Err(unprocessable("at least one forwarding rule is required"));
    }
    let mut rules = rules;
    actual_ports(&mut rules, port);
    let hc: HealthCheck = match take("health_check") {
        Some(Value::Null) | None => HealthCheck::default(),
        Some(v) => {
            serde_json::from_value(v).map_err(|e| unprocessable(format!("health_check: {e}")))?
        }
    };
    let sticky: Option<StickySessions> = match take("sticky_sessions") {
        Some(Value::Null) | None => None,
        Some(v) => Some(
            serde_json::from_value(v)
                .map_err(|e| unprocessable(format!("sticky_sessions: {e}")))?,
        ),
    };
    let tag = take("tag")
        .and_then(|v| v.as_str().map(str::to_owned))
        .filter(|t| !t.is_empty());
    let droplet_ids: Option<Vec<u64>> = match take("droplet_ids") {
        Some(Value::Null) | None => None,
        Some(v) => Some(
            serde_json::from_value(v).map_err(|e| unprocessable(format!("droplet_ids: {e}")))?,
        ),
    };
    if tag.is_some() && droplet_ids.as_ref().is_some_and(|d| !d.is_empty()) {
        return Err(unprocessable("droplet_ids and tag are mutually exclusive"));
    }
    if let Some(t) = &tag
        && !valid_tag(t)
    {
        return Err(unprocessable(format!("tag name `{t}` is invalid")));
    }
    for k in ["id", "ip", "ipv6", "status", "created_at"] {
        map.remove(k);
    }
    Ok(LbBody {
        name,
        region,
        rules,
        hc,
        sticky,
        tag,
        droplet_ids: droplet_ids.unwrap_or_default(),
        settings: map,
    })
}

/// Register a load balancer and start its proxy and health checks.
pub(crate) fn insert_lb(
    sh: &Sh,
    st: &mut SimState,
    addr: Ipv4Addr,
    listener: tokio::net::TcpListener,
    b: LbSpecParts,
    status: &'static str,
) -> String {
    let n = st.next_lb;
    st.next_lb += 1;
    let id = format!(
        "4de7ac8b-495b-4884-9a69-{:012x}",
        (u64::from(addr.octets()[1]) << 24) | n
    );
    let gone = tokio::sync::watch::channel(false).0;
    tokio::spawn(crate::lb::serve(
        sh.clone(),
        id.clone(),
        listener,
        sh.stop.subscribe(),
        gone.subscribe(),
    ));
    tokio::spawn(crate::lb::health_loop(
        sh.clone(),
        id.clone(),
        sh.stop.subscribe(),
        gone.subscribe(),
    ));
    st.lbs.insert(
        id.clone(),
        LbRec {
            id: id.clone(),
            name: b.name,
            addr,
            status,
            created_at: now_iso(),
            region: b.region,
            rules: b.rules,
            hc: b.hc,
            sticky: b.sticky,
            tag: b.tag,
            droplet_ids: b.droplet_ids,
            settings: b.settings,
            health: Default::default(),
            in_flight: Default::default(),
            rr: 0,
            stats: LbStats::default(),
            metrics: sh.new_metrics(),
            gone,
        },
    );
    id
}

/// What [`insert_lb`] needs.
pub(crate) struct LbSpecParts {
    pub name: String,
    pub region: String,
    pub rules: Vec<ForwardingRule>,
    pub hc: HealthCheck,
    pub sticky: Option<StickySessions>,
    pub tag: Option<String>,
    pub droplet_ids: Vec<u64>,
    pub settings: Map<String, Value>,
}

async fn create_lb(State(sh): State<Sh>, body: Bytes) -> ApiResult {
    let b = lb_body(&body, sh.port)?;
    let (addr, listener) = sh
        .bind_new(HostKind::LoadBalancer)
        .await
        .map_err(internal)?;
    let region = b.region.unwrap_or_else(|| sh.cfg.region.clone());
    let id = {
        let mut st = sh.lock();
        if let Some(t) = &b.tag {
            st.ensure_tag(t);
        }
        let parts = LbSpecParts {
            name: b.name,
            region,
            rules: b.rules,
            hc: b.hc,
            sticky: b.sticky,
            tag: b.tag,
            droplet_ids: b.droplet_ids,
            settings: b.settings,
        };
        insert_lb(&sh, &mut st, addr, listener, parts, "new")
    };
    // Active after the action latency, like a new load balancer coming up.
    let sh2 = sh.clone();
    let id2 = id.clone();
    let wait = sh.scaled(sh.cfg.action_latency);
    tokio::spawn(async move {
        tokio::time::sleep(wait).await;
        if let Some(lb) = sh2.lock().lbs.get_mut(&id2) {
            lb.status = "active";
        }
    });
    let st = sh.lock();
    ok(
        StatusCode::ACCEPTED,
        json!({"load_balancer": lb_json(&st, &st.lbs[&id])}),
    )
}

async fn list_lbs(State(sh): State<Sh>, Query(q): Q) -> ApiResult {
    let items: Vec<Value> = {
        let st = sh.lock();
        st.lbs.values().map(|lb| lb_json(&st, lb)).collect()
    };
    ok(
        StatusCode::OK,
        paged(&sh, "/v2/load_balancers", &q, "load_balancers", items),
    )
}

async fn get_lb(State(sh): State<Sh>, Path(id): Path<String>) -> ApiResult {
    let st = sh.lock();
    let lb = st.lbs.get(&id).ok_or_else(not_found)?;
    ok(StatusCode::OK, json!({"load_balancer": lb_json(&st, lb)}))
}

async fn update_lb(State(sh): State<Sh>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let b = lb_body(&body, sh.port)?;
    let mut st = sh.lock();
    if let Some(t) = &b.tag {
        st.ensure_tag(t);
    }
    let lb = st.lbs.get_mut(&id).ok_or_else(not_found)?;
    lb.name = b.name;
    if let Some(r) = b.region {
        lb.region = r;
    }
    lb.rules = b.rules;
    lb.hc = b.hc;
    lb.sticky = b.sticky;
    lb.tag = b.tag;
    lb.droplet_ids = b.droplet_ids;
    lb.settings = b.settings;
    st.prune_health();
    let lb = &st.lbs[&id];
    ok(StatusCode::OK, json!({"load_balancer": lb_json(&st, lb)}))
}

async fn delete_lb(State(sh): State<Sh>, Path(id): Path<String>) -> ApiResult {
    let lb = sh.lock().lbs.remove(&id).ok_or_else(not_found)?;
    lb.gone.send_replace(true);
    no_content()
}

#[derive(Deserialize)]
struct DropletIds {
    droplet_ids: Vec<u64>,
}

async fn add_lb_droplets(State(sh): State<Sh>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let b: DropletIds = parse(&body)?;
    let mut st = sh.lock();
    if let Some(missing) = b.droplet_ids.iter().find(|d| !st.droplets.contains_key(d)) {
        return Err(unprocessable(format!("droplet {missing} was not found")));
    }
    let lb = st.lbs.get_mut(&id).ok_or_else(not_found)?;
    if lb.tag.is_some() {
        return Err(unprocessable(
            "this load balancer selects droplets by tag; tag the droplets instead",
        ));
    }
    for d in b.droplet_ids {
        if !lb.droplet_ids.contains(&d) {
            lb.droplet_ids.push(d);
        }
    }
    no_content()
}

async fn remove_lb_droplets(
    State(sh): State<Sh>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let b: DropletIds = parse(&body)?;
    let mut st = sh.lock();
    let lb = st.lbs.get_mut(&id).ok_or_else(not_found)?;
    if lb.tag.is_some() {
        return Err(unprocessable(
            "this load balancer selects droplets by tag; untag the droplets instead",
        ));
    }
    lb.droplet_ids.retain(|d| !b.droplet_ids.contains(d));
    st.prune_health();
    no_content()
}

#[derive(Deserialize)]
struct Rules {
    forwarding_rules: Vec<ForwardingRule>,
}

async fn add_lb_rules(State(sh): State<Sh>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let mut b: Rules = parse(&body)?;
    actual_ports(&mut b.forwarding_rules, sh.port);
    let mut st = sh.lock();
    let lb = st.lbs.get_mut(&id).ok_or_else(not_found)?;
    for r in b.forwarding_rules {
        if !lb.rules.contains(&r) {
            lb.rules.push(r);
        }
    }
    no_content()
}

async fn remove_lb_rules(State(sh): State<Sh>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let mut b: Rules = parse(&body)?;
    actual_ports(&mut b.forwarding_rules, sh.port);
    let mut st = sh.lock();
    let lb = st.lbs.get_mut(&id).ok_or_else(not_found)?;
    lb.rules.retain(|r| !b.forwarding_rules.contains(r));
    no_content()
}

// ---------------------------------------------------------------------------------------------
// Monitoring
// ---------------------------------------------------------------------------------------------

/// `GET /v2/monitoring/metrics/load_balancer/{metric}?lb_id=&start=&end=`
/// (`resources/monitoring/monitoring_get_lb_*.yml`): the load balancer's metrics from the
/// traffic it served, over the closed periods whose end lies in `[start, end]` (unix seconds,
/// sent as strings). See [`crate::metrics`] for what is counted and the labels. Missing or
/// malformed parameters (or a start after the end) are a 400; an unknown load balancer or
/// metric a 404.
async fn lb_metrics(State(sh): State<Sh>, Path(metric): Path<String>, Query(q): Q) -> ApiResult {
    let metric = do_api::monitoring::LbMetric::ALL
        .into_iter()
        .find(|m| m.as_str() == metric)
        .ok_or_else(not_found)?;
    let lb_id = q
        .get("lb_id")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| bad_request("lb_id is required: the load balancer's id"))?;
    let unix = |k: &str| -> Result<u64, ApiErr> {
        let v = q
            .get(k)
            .ok_or_else(|| bad_request(format!("{k} is required: a unix timestamp in seconds")))?;
        v.trim()
            .parse::<u64>()
            .map_err(|_| bad_request(format!("{k} `{v}` is not a unix timestamp in seconds")))
    };
    let (start, end) = (unix("start")?, unix("end")?);
    if start > end {
        return Err(bad_request(format!(
            "start {start} is after end {end}: the window is empty"
        )));
    }
    let m = {
        let st = sh.lock();
        let lb = st.lbs.get(lb_id).ok_or_else(not_found)?;
        lb.metrics
            .query(metric, lb_id, start, end, crate::metrics::now_unix())
    };
    ok(StatusCode::OK, serde_json::to_value(&m).map_err(internal)?)
}
