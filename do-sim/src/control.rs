//! Control endpoints under `/_sim` on the API server (no token needed; they are not part of
//! DigitalOcean's API and are not counted in the API statistics):
//!
//! | method and path | body or query | what it does |
//! |---|---|---|
//! | `GET /_sim/state` | | droplets, load balancers, reserved IPs, addresses ([`crate::SimView`]) |
//! | `GET /_sim/stats` | | counters ([`crate::SimStats`]) |
//! | `POST /_sim/droplets/{d}/deploy` | `{"version":"v2"}` or `?version=v2` | restart droplet `d` with that version; 202 `{"droplet_id","version","ready_in_ms"}` |
//! | `POST /_sim/droplets/{d}/drain` | | its health check fails from now on (until the next deploy) |
//! | `POST /_sim/droplets/{d}/never_healthy` | `?on=false` to undo | its app answers 503 whatever runs on it |
//! | `GET /_sim/faults`, `PUT /_sim/faults` | [`crate::Faults`] as JSON | read or replace the faults (`"flawed_versions": {"v3": {"fail_share": 0.05, "added_latency_ms": 200}}` flaws a version's deploys) |
//! | `POST /_sim/images` | `{"name":"app-v2","version":"v2"}`, optional `"never_healthy": true`, `"fail_share": 0.05` (0 to 1), `"added_latency_ms": 200` (wall time) | add a snapshot with that release baked in (broken, or flawed: [`crate::Flaw`]); 201 `{"id","image"}`, 400 for a missing name or version or a bad field |
//!
//! `{d}` is a droplet's id, name, or address, so that a deploy hook can use whichever it has.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::config::Faults;
use crate::state::Shared;

type Sh = Arc<Shared>;

fn answer(status: StatusCode, v: Value) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn unknown(key: &str) -> Response {
    answer(
        StatusCode::NOT_FOUND,
        json!({"error": format!("no droplet with id, name or address `{key}`")}),
    )
}

pub(crate) fn router() -> Router<Sh> {
    Router::new()
        .route("/state", get(state))
        .route("/stats", get(stats))
        .route("/droplets/{d}/deploy", post(deploy))
        .route("/droplets/{d}/drain", post(drain))
        .route("/droplets/{d}/never_healthy", post(never_healthy))
        .route("/faults", get(get_faults).put(put_faults))
        .route("/images", post(add_image))
}

async fn state(State(sh): State<Sh>) -> Response {
    answer(StatusCode::OK, json!(crate::view(&sh)))
}

async fn stats(State(sh): State<Sh>) -> Response {
    answer(StatusCode::OK, json!(crate::stats_of(&sh)))
}

async fn deploy(
    State(sh): State<Sh>,
    Path(d): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let from_body = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("version").and_then(Value::as_str).map(str::to_owned));
    let Some(version) = from_body
        .or_else(|| q.get("version").cloned())
        .filter(|v| !v.is_empty())
    else {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "give the version as {\"version\":\"v2\"} or ?version=v2"}),
        );
    };
    let Some(id) = sh.lock().find_droplet(&d) else {
        return unknown(&d);
    };
    sh.deploy(id, &version);
    answer(
        StatusCode::ACCEPTED,
        json!({"droplet_id": id, "version": version, "ready_in_ms": sh.boot().as_millis() as u64}),
    )
}

async fn drain(State(sh): State<Sh>, Path(d): Path<String>) -> Response {
    let st = sh.lock();
    let Some(rec) = st.find_droplet(&d).and_then(|id| st.droplets.get(&id)) else {
        return unknown(&d);
    };
    rec.app.drain();
    answer(
        StatusCode::OK,
        json!({"droplet_id": rec.id, "draining": true}),
    )
}

/// `POST /_sim/images {"name": "app-v2", "version": "v2", "never_healthy": false,
/// "fail_share": 0.05, "added_latency_ms": 200}`: a snapshot with `version` baked in, as a build
/// pipeline makes one (Packer, or a snapshot of a droplet), broken or flawed as asked (the last
/// three are optional). Answers its id and its `image` object.
async fn add_image(State(sh): State<Sh>, body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let text = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or("")
    };
    let (name, version) = (text("name"), text("version"));
    if name.is_empty() || version.is_empty() {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "give {\"name\": \"app-v2\", \"version\": \"v2\"} (and \"never_healthy\": true for a broken release)"}),
        );
    }
    let never_healthy = v
        .get("never_healthy")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let flaw = match flaw_of(&v) {
        Ok(f) => f,
        Err(e) => return answer(StatusCode::BAD_REQUEST, json!({ "error": e })),
    };
    let mut st = sh.lock();
    let id = st
        .images
        .iter()
        .map(|i| i.id + 1)
        .max()
        .unwrap_or(crate::images::FIRST_SNAPSHOT_ID)
        .max(crate::images::FIRST_SNAPSHOT_ID);
    let rec = crate::images::snapshot(id, name, version, never_healthy, flaw);
    let image = crate::images::image_json(&rec, &sh.cfg.region);
    st.images.push(rec);
    answer(StatusCode::CREATED, json!({"id": id, "image": image}))
}

/// The optional `fail_share` (0 to 1) and `added_latency_ms` (whole milliseconds) of a body.
fn flaw_of(v: &Value) -> Result<crate::config::Flaw, String> {
    let mut flaw = crate::config::Flaw::none();
    match v.get("fail_share") {
        None | Some(Value::Null) => {}
        Some(s) => match s.as_f64() {
            Some(share) if (0.0..=1.0).contains(&share) => flaw = flaw.fail_share(share),
            _ => return Err(format!("fail_share must be a number from 0 to 1, not {s}")),
        },
    }
    match v.get("added_latency_ms") {
        None | Some(Value::Null) => {}
        Some(ms) => match ms.as_u64() {
            Some(ms) => flaw = flaw.added_latency(std::time::Duration::from_millis(ms)),
            None => {
                return Err(format!(
                    "added_latency_ms must be a whole number of milliseconds, not {ms}"
                ));
            }
        },
    }
    Ok(flaw)
}

async fn never_healthy(
    State(sh): State<Sh>,
    Path(d): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let on = q.get("on").is_none_or(|v| v != "false");
    let st = sh.lock();
    let Some(rec) = st.find_droplet(&d).and_then(|id| st.droplets.get(&id)) else {
        return unknown(&d);
    };
    rec.app.set_broken(on);
    answer(
        StatusCode::OK,
        json!({"droplet_id": rec.id, "never_healthy": on}),
    )
}

async fn get_faults(State(sh): State<Sh>) -> Response {
    let f = sh.lock().faults.clone();
    answer(StatusCode::OK, json!(f))
}

async fn put_faults(State(sh): State<Sh>, body: Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(f) => {
            crate::set_faults_in(&sh, f.clone());
            answer(StatusCode::OK, json!(f))
        }
        Err(e) => answer(
            StatusCode::BAD_REQUEST,
            json!({"error": format!("not a faults object: {e}")}),
        ),
    }
}

/// Ask a running simulator (its API base URL, as `zdd-do sim` prints it) to deploy `version` to
/// droplet `droplet` (id, name or address): what a `--exec` hook calls to "deploy" in a
/// rehearsal. Returns the simulator's answer. `ca_pem` is the CA to trust when the simulator
/// serves HTTPS (`zdd-do sim --tls`).
pub async fn remote_deploy(
    api_url: &str,
    ca_pem: Option<&str>,
    droplet: &str,
    version: &str,
) -> Result<Value, String> {
    if version.trim().is_empty() {
        return Err("the version to deploy is empty".into());
    }
    post_control(
        api_url,
        ca_pem,
        &["droplets", droplet, "deploy"],
        json!({ "version": version }),
    )
    .await
}

/// `POST <api_url>/_sim/<segments...>` with `body`, to a running simulator (over HTTPS when
/// `ca_pem` is its CA): the JSON answer, or one line saying what went wrong.
async fn post_control(
    api_url: &str,
    ca_pem: Option<&str>,
    segments: &[&str],
    body: Value,
) -> Result<Value, String> {
    let mut url = url::Url::parse(api_url).map_err(|e| format!("`{api_url}` is not a URL: {e}"))?;
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    url.path_segments_mut()
        .map_err(|_| format!("`{api_url}` cannot take a path"))?
        .pop_if_empty()
        .push("_sim")
        .extend(segments);
    let mut http = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(10));
    if let Some(pem) = ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|e| format!("the CA file is not PEM: {e}"))?;
        http = http.tls_certs_merge(certs);
    }
    let http = http.build().map_err(|e| e.to_string())?;
    let resp = http
        .post(url.clone())
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("could not reach the simulator at {url}: {e}"))?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("the simulator answered {status}: {body}"))
    }
}

/// Add a snapshot with `version` baked in to a running simulator, as a build pipeline makes
/// one (Packer, or a snapshot of a droplet): `{"id": ..., "image": {...}}`.
pub async fn remote_snapshot(
    api_url: &str,
    ca_pem: Option<&str>,
    name: &str,
    version: &str,
    never_healthy: bool,
    flaw: crate::Flaw,
) -> Result<Value, String> {
    if version.trim().is_empty() || name.trim().is_empty() {
        return Err("the snapshot's name and version must not be empty".into());
    }
    post_control(
        api_url,
        ca_pem,
        &["images"],
        json!({
            "name": name,
            "version": version,
            "never_healthy": never_healthy,
            "fail_share": flaw.fail_share,
            "added_latency_ms": flaw.added_latency.as_millis() as u64,
        }),
    )
    .await
}
