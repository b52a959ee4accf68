//! A droplet's app: a real HTTP/1.1 server on the droplet's own loopback address.
//!
//! - `GET /health` (or `HEAD`): 200 `{"status":"ok",...}` when ready; 503 while booting is not
//!   reachable (connections are reset), 503 `draining` after `POST /drain`, 503 `unhealthy` for
//!   a never-healthy app.
//! - `POST /drain`: health fails from now on, until the next deploy; requests are still served.
//! - `POST /connection-close[?seconds=N]`: stop keeping connections alive for N seconds (default
//!   60, wall time) or until the next restart: every answer says `Connection: close` and the
//!   connection closes after it, and a connection left idle for [`IDLE_GRACE`] after the call
//!   is closed (not at once: a request already on its way on it is answered, not cut). This is
//!   what a pre-switch hook asks of the live droplet before a reserved IP moves, so that only
//!   requests in flight meet the move's reset.
//! - any other `GET`: 200 `{"droplet_id":N,"name":"..","version":".."}` with headers
//!   `x-droplet-id` and `x-app-version`; `?sleep_ms=N` (at most 30 000) delays the answer, to
//!   hold a request in flight.
//! - a flawed release ([`Flaw`]): on that last path (not `/health`, `/drain` or
//!   `/connection-close`), every request first waits the flaw's added latency (wall time, not
//!   scaled: it is the app's own response time, not a DigitalOcean duration), then the n-th one
//!   since the process started (n from 1) answers 500 `{"droplet_id","name","version","error":
//!   "the release failed this request"}` when ⌊n·share⌋ > ⌊(n−1)·share⌋: deterministic, so a
//!   test can count on the share. `/health` stays 200. A deploy sets the new release's flaw (none
//!   for most), and a deploy, reboot or power-on starts the count again.
//!
//! A deploy is a process restart: the old process finishes the requests it is serving
//! (graceful), closes its idle connections, and until the new one has booted every new
//! connection is reset (as when nothing listens). Powered-off droplets reset connections too.

use std::convert::Infallible;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::config::Flaw;

/// How long a kept-alive connection may stay idle after keep-alive is turned off before the app
/// closes it: a request already on its way on it is answered (with `Connection: close`) rather
/// than cut by the close.
pub(crate) const IDLE_GRACE: Duration = Duration::from_millis(100);

/// Where an app is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Powered off or not created yet: connections are reset.
    Off,
    /// Restarting; ready at the instant given.
    Booting(Instant),
    /// Serving.
    Up,
}

#[derive(Debug)]
struct Inner {
    name: String,
    version: String,
    phase: Phase,
    drained: bool,
    never_healthy: bool,
    /// This droplet is never healthy whatever runs on it (a fault).
    broken_droplet: bool,
    generation: u64,
    served: u64,
    /// Connections are not kept alive until then.
    close_until: Option<Instant>,
    /// The running release's flaw.
    flaw: Flaw,
    /// Requests on the generic path since the process started (the flaw's n).
    flaw_n: u64,
}

/// One droplet's app.
#[derive(Debug)]
pub(crate) struct App {
    pub id: u64,
    pub addr: Ipv4Addr,
    inner: Mutex<Inner>,
    /// Bumped on every restart or stop; connections of older generations close gracefully.
    generation: watch::Sender<u64>,
    /// Bumped when keep-alive is turned off: idle connections close.
    close_idle: watch::Sender<u64>,
}

/// What an app shows of itself.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AppView {
    pub version: String,
    pub ready: bool,
    pub up: bool,
    pub drained: bool,
    pub served: u64,
    pub flaw: Flaw,
}

impl App {
    pub(crate) fn new(id: u64, addr: Ipv4Addr, name: &str, version: &str, up: bool) -> Arc<App> {
        Arc::new(App {
            id,
            addr,
            inner: Mutex::new(Inner {
                name: name.to_owned(),
                version: version.to_owned(),
                phase: if up { Phase::Up } else { Phase::Off },
                drained: false,
                never_healthy: false,
                broken_droplet: false,
                generation: 0,
                served: 0,
                close_until: None,
                flaw: Flaw::none(),
                flaw_n: 0,
            }),
            generation: watch::channel(0).0,
            close_idle: watch::channel(0).0,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn phase_now(inner: &mut Inner) -> Phase {
        if let Phase::Booting(at) = inner.phase
            && Instant::now() >= at
        {
            inner.phase = Phase::Up;
        }
        inner.phase
    }

    pub(crate) fn view(&self) -> AppView {
        let mut g = self.lock();
        let phase = Self::phase_now(&mut g);
        AppView {
            version: g.version.clone(),
            ready: phase == Phase::Up && !g.drained && !g.never_healthy && !g.broken_droplet,
            up: phase == Phase::Up,
            drained: g.drained,
            served: g.served,
            flaw: g.flaw,
        }
    }

    pub(crate) fn set_name(&self, name: &str) {
        self.lock().name = name.to_owned();
    }

    /// The running release's flaw (for a droplet created from a flawed snapshot, or present at
    /// start with a flawed version). The count starts again.
    pub(crate) fn set_flaw(&self, flaw: Flaw) {
        let mut g = self.lock();
        g.flaw = flaw;
        g.flaw_n = 0;
    }

    /// The flaw of the running release, and whether the request arriving now on the generic
    /// path fails.
    fn draw(&self) -> (Flaw, bool) {
        let mut g = self.lock();
        g.flaw_n += 1;
        (g.flaw, fails(g.flaw_n, g.flaw.fail_share))
    }

    /// Mark the droplet itself as never healthy (or not).
    pub(crate) fn set_broken(&self, on: bool) {
        self.lock().broken_droplet = on;
    }

    fn bump(&self, g: &mut Inner) {
        g.close_until = None;
        g.flaw_n = 0;
        g.generation += 1;
        let n = g.generation;
        self.generation.send_replace(n);
    }

    /// Restart with `version` (its flaw, `never_healthy`), ready after `boot`.
    pub(crate) fn deploy(&self, version: &str, boot: Duration, never_healthy: bool, flaw: Flaw) {
        let mut g = self.lock();
        g.version = version.to_owned();
        g.drained = false;
        g.never_healthy = never_healthy;
        g.flaw = flaw;
        g.phase = Phase::Booting(Instant::now() + boot);
        self.bump(&mut g);
    }

    /// Restart with the same version (reboot, power on).
    pub(crate) fn restart(&self, boot: Duration) {
        let mut g = self.lock();
        g.drained = false;
        g.phase = Phase::Booting(Instant::now() + boot);
        self.bump(&mut g);
    }

    /// Stop: every connection is closed gracefully, new ones are reset.
    pub(crate) fn power_off(&self) {
        let mut g = self.lock();
        g.phase = Phase::Off;
        self.bump(&mut g);
    }

    pub(crate) fn drain(&self) {
        self.lock().drained = true;
    }

    /// Stop keeping connections alive for `d`: answers say `Connection: close`, idle
    /// connections close now.
    pub(crate) fn close_connections(&self, d: Duration) {
        self.lock().close_until = Some(Instant::now() + d);
        self.close_idle.send_modify(|n| *n += 1);
    }

    fn closing(&self) -> bool {
        self.lock().close_until.is_some_and(|t| Instant::now() < t)
    }

    fn accepting(&self) -> bool {
        Self::phase_now(&mut self.lock()) == Phase::Up
    }
}

/// Serve `app` on `listener` until `stop` (the simulator's) or `gone` (the droplet's) turns true.
pub(crate) async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
    mut gone: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.wait_for(|s| *s) => break,
            _ = gone.wait_for(|s| *s) => break,
        };
        let Ok((stream, _)) = accepted else {
            // Too many open files and the like: pause instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if !app.accepting() {
            reset(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_conn(app.clone(), stream, stop.clone()));
    }
    app.power_off();
}

/// Close with RST, as a host where nothing listens would answer.
pub(crate) fn reset(stream: TcpStream) {
    #[allow(deprecated)]
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

async fn serve_conn(app: Arc<App>, stream: TcpStream, mut stop: watch::Receiver<bool>) {
    let mut gen_rx = app.generation.subscribe();
    let started = *gen_rx.borrow_and_update();
    let mut close_rx = app.close_idle.subscribe();
    let close_seen = *close_rx.borrow_and_update();
    let svc_app = app.clone();
    let svc = hyper::service::service_fn(move |req| handle(svc_app.clone(), req));
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = gen_rx.wait_for(|g| *g != started) => {}
        _ = async {
            let _ = close_rx.wait_for(|n| *n != close_seen).await;
            tokio::time::sleep(IDLE_GRACE).await;
        } => {}
        _ = stop.wait_for(|s| *s) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

type Resp = Response<Full<Bytes>>;

fn json_resp(status: StatusCode, app: &App, version: &str, body: serde_json::Value) -> Resp {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-droplet-id", app.id.to_string())
        .header("x-app-version", version)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn sleep_ms(req: &Request<Incoming>) -> Option<u64> {
    req.uri()
        .query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix("sleep_ms="))?
        .parse::<u64>()
        .ok()
        .map(|ms| ms.min(30_000))
}

async fn handle(app: Arc<App>, req: Request<Incoming>) -> Result<Resp, Infallible> {
    let mut resp = answer(&app, req).await;
    if app.closing() {
        resp.headers_mut().insert(
            hyper::header::CONNECTION,
            hyper::header::HeaderValue::from_static("close"),
        );
    }
    Ok(resp)
}

fn seconds(req: &Request<Incoming>) -> Option<u64> {
    req.uri()
        .query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix("seconds="))?
        .parse::<u64>()
        .ok()
}

async fn answer(app: &Arc<App>, req: Request<Incoming>) -> Resp {
    let (name, version, phase, drained, unhealthy) = {
        let mut g = app.lock();
        let phase = App::phase_now(&mut g);
        g.served += 1;
        (
            g.name.clone(),
            g.version.clone(),
            phase,
            g.drained,
            g.never_healthy || g.broken_droplet,
        )
    };
    let id = app.id;
    if phase != Phase::Up {
        // A request on a connection accepted just before a restart.
        return json_resp(
            StatusCode::SERVICE_UNAVAILABLE,
            app,
            &version,
            json!({"droplet_id": id, "name": name, "status": "starting"}),
        );
    }
    let path = req.uri().path();
    let method = req.method();
    let is_get = method == Method::GET || method == Method::HEAD;
    match (is_get, method == Method::POST, path) {
        (true, _, "/health") => {
            let (status, word) = if unhealthy {
                (StatusCode::SERVICE_UNAVAILABLE, "unhealthy")
            } else if drained {
                (StatusCode::SERVICE_UNAVAILABLE, "draining")
            } else {
                (StatusCode::OK, "ok")
            };
            json_resp(
                status,
                app,
                &version,
                json!({"status": word, "droplet_id": id, "name": name, "version": version}),
            )
        }
        (_, true, "/connection-close") => {
            let secs = seconds(&req).unwrap_or(60).min(3600);
            app.close_connections(Duration::from_secs(secs));
            json_resp(
                StatusCode::OK,
                app,
                &version,
                json!({"keep_alive": false, "seconds": secs, "droplet_id": id}),
            )
        }
        (_, true, "/drain") => {
            app.drain();
            json_resp(
                StatusCode::OK,
                app,
                &version,
                json!({"draining": true, "droplet_id": id}),
            )
        }
        (true, _, _) => {
            let (flaw, failed) = app.draw();
            if let Some(ms) = sleep_ms(&req) {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            if !flaw.added_latency.is_zero() {
                // The app's own response time: wall time, not scaled.
                tokio::time::sleep(flaw.added_latency).await;
            }
            if unhealthy {
                json_resp(
                    StatusCode::SERVICE_UNAVAILABLE,
                    app,
                    &version,
                    json!({"droplet_id": id, "name": name, "version": version, "error": "the app failed to start"}),
                )
            } else if failed {
                json_resp(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    app,
                    &version,
                    json!({"droplet_id": id, "name": name, "version": version, "error": "the release failed this request"}),
                )
            } else {
                json_resp(
                    StatusCode::OK,
                    app,
                    &version,
                    json!({"droplet_id": id, "name": name, "version": version}),
                )
            }
        }
        _ => json_resp(
            StatusCode::METHOD_NOT_ALLOWED,
            app,
            &version,
            json!({"error": "use GET /, GET /health, POST /drain or POST /connection-close"}),
        ),
    }
}

/// Whether the `n`-th request (from 1) of a release failing `share` of them fails:
/// ⌊n·share⌋ > ⌊(n−1)·share⌋, with the share taken to parts per billion so that the floor is
/// exact (0.05 fails exactly every 20th request, never the 19th by a rounding error).
pub(crate) fn fails(n: u64, share: f64) -> bool {
    if n == 0 || share.is_nan() {
        return false;
    }
    const PARTS: u128 = 1_000_000_000;
    let ppb = (share.clamp(0.0, 1.0) * PARTS as f64).round() as u128;
    let n = u128::from(n);
    n * ppb / PARTS > (n - 1) * ppb / PARTS
}

#[cfg(test)]
mod tests {
    use super::fails;

    fn failed(share: f64, upto: u64) -> Vec<u64> {
        (1..=upto).filter(|n| fails(*n, share)).collect()
    }

    #[test]
    fn a_flaw_fails_exactly_its_share() {
        assert_eq!(failed(0.05, 100), [20, 40, 60, 80, 100]);
        assert_eq!(failed(0.25, 8), [4, 8]);
        assert_eq!(failed(0.57, 100).len(), 57);
        assert_eq!(failed(0.1, 1000).len(), 100);
        assert_eq!(failed(1.0, 5), [1, 2, 3, 4, 5]);
        assert!(failed(0.0, 1000).is_empty());
        assert!(failed(f64::NAN, 10).is_empty());
        assert_eq!(failed(7.0, 3), [1, 2, 3], "clamped to 1");
        assert!(!fails(0, 1.0));
    }
}
