//! Load balancers: a reverse proxy on the load balancer's own loopback address, round-robin
//! over the droplets it covers that its health checks consider healthy.
//!
//! Health checks follow `resources/load_balancers/models/health_check.yml`: every
//! `check_interval_seconds` each covered droplet is probed (`http`/`https`: `GET path`, passing
//! with a status below 400 within `response_timeout_seconds`; `https` is probed as plain HTTP,
//! there is no TLS here; `tcp`: a connection). A droplet leaves rotation after
//! `unhealthy_threshold` failures in a row and (re)enters after `healthy_threshold` passes in a
//! row. Seconds are multiplied by the time scale. Droplets that join a load balancer (tagged,
//! added, created) start unhealthy; those covered when the simulator starts begin healthy.
//!
//! A droplet that leaves the load balancer (untagged, removed, deleted) gets no new request from
//! that moment; requests already sent to it complete (see `LbInfo::in_flight` to wait for
//! them, as a deregistration delay would). Ports: the proxy listens on the app port and sends to
//! the app port; the forwarding rules in the API say so (`entry_port` and `target_port` are the
//! app port, whatever a create or update asked for), so the entry point can be derived from the
//! API alone. Backend connections are kept alive only with `enable_backend_keepalive`
//! (`models/load_balancer_base.yml`). A client connection idle for `http_idle_timeout_seconds`
//! (default 60, scaled) is closed; a request already being served finishes first.
//!
//! Every answer and every health check is recorded for the Monitoring API's load-balancer
//! metrics ([`crate::metrics`]): per droplet, the class of its answer and the time from sending
//! the request to the answer's head (a 502 of the proxy's own counts as the droplet's 5xx, timed
//! to the failure), and the health checks passed; for the frontend, every answer the load
//! balancer gave, its own 503 and 502 included.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use do_api::load_balancers::{HealthCheck, HealthCheckProtocol};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::state::{Health, ProxyBody, Shared};

/// Serve load balancer `id` on `listener` until the simulator stops or the load balancer is
/// deleted.
pub(crate) async fn serve(
    sh: Arc<Shared>,
    id: String,
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
        let Ok((stream, peer)) = accepted else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let sh = sh.clone();
        let id = id.clone();
        let mut stop = stop.clone();
        let mut gone = gone.clone();
        tokio::spawn(async move {
            let activity = Arc::new(Activity::default());
            let idle = {
                let st = sh.lock();
                let Some(lb) = st.lbs.get(&id) else { return };
                secs(&sh, lb.idle_timeout_secs().min(u64::from(u32::MAX)) as u32)
            };
            let svc = {
                let (sh, id, activity) = (sh.clone(), id.clone(), activity.clone());
                hyper::service::service_fn(move |req| {
                    let busy = activity.begin();
                    let fut = proxy(sh.clone(), id.clone(), peer, req);
                    async move {
                        let r = fut.await;
                        drop(busy);
                        r
                    }
                })
            };
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            loop {
                tokio::select! {
                    _ = conn.as_mut() => return,
                    _ = stop.wait_for(|s| *s) => break,
                    _ = gone.wait_for(|s| *s) => break,
                    _ = tokio::time::sleep(activity.idle_left(idle)) => {
                        if activity.idle_for(idle) {
                            break;
                        }
                    }
                }
            }
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        });
    }
}

/// When a client connection last finished a request, and how many it is serving: an idle
/// connection is closed after `http_idle_timeout_seconds`.
#[derive(Debug)]
struct Activity {
    busy: std::sync::atomic::AtomicUsize,
    last: std::sync::Mutex<tokio::time::Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            busy: std::sync::atomic::AtomicUsize::new(0),
            last: std::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }
}

struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        *self.0.last.lock().unwrap_or_else(|p| p.into_inner()) = tokio::time::Instant::now();
        self.0
            .busy
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Activity {
    fn begin(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Busy(self.clone())
    }

    fn since_last(&self) -> Duration {
        self.last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }

    /// Idle (no request being served) for at least `idle`.
    fn idle_for(&self, idle: Duration) -> bool {
        self.busy.load(std::sync::atomic::Ordering::SeqCst) == 0 && self.since_last() >= idle
    }

    /// How long until the connection could be idle for `idle` (at least 10 ms).
    fn idle_left(&self, idle: Duration) -> Duration {
        idle.saturating_sub(self.since_last())
            .max(Duration::from_millis(10))
    }
}

fn local(status: StatusCode, msg: &str) -> Response<ProxyBody> {
    let body = Full::new(Bytes::from(format!("{{\"error\":\"{msg}\"}}\n")))
        .map_err(|never| match never {})
        .boxed();
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

/// The next droplet in rotation, or `None`.
fn pick(sh: &Shared, id: &str) -> Option<(u64, Ipv4Addr, bool)> {
    let mut st = sh.lock();
    let members = {
        let lb = st.lbs.get(id)?;
        st.members(lb)
    };
    let addrs: Vec<(u64, Ipv4Addr)> = members
        .iter()
        .filter_map(|d| st.droplets.get(d).map(|r| (*d, r.app.addr)))
        .collect();
    let lb = st.lbs.get_mut(id)?;
    lb.stats.requests += 1;
    let ready: Vec<(u64, Ipv4Addr)> = addrs
        .into_iter()
        .filter(|(d, _)| lb.health.get(d).is_some_and(|h| h.healthy))
        .collect();
    if ready.is_empty() {
        lb.stats.no_backend += 1;
        return None;
    }
    lb.rr = lb.rr.wrapping_add(1);
    let (d, addr) = ready[lb.rr % ready.len()];
    *lb.stats.by_droplet.entry(d).or_default() += 1;
    *lb.in_flight.entry(d).or_default() += 1;
    Some((d, addr, lb.keepalive()))
}

/// Record an answer the load balancer gave (`status`), and the droplet's part in it (which
/// droplet, how long after sending) when it was sent on.
fn record(sh: &Shared, lb: &str, status: u16, sent: Option<(u64, tokio::time::Instant)>) {
    let took = sent.map(|(d, t)| (d, t.elapsed()));
    let at = crate::metrics::now_unix();
    if let Some(lb) = sh.lock().lbs.get_mut(lb) {
        if let Some((d, took)) = took {
            lb.metrics.backend(at, d, status, took);
        }
        lb.metrics.frontend(at, status);
    }
}

/// Counts a request as in flight to a droplet until its answer's head is back (or it fails,
/// or the client goes away).
struct InFlight {
    sh: Arc<Shared>,
    lb: String,
    droplet: u64,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(lb) = self.sh.lock().lbs.get_mut(&self.lb)
            && let Some(n) = lb.in_flight.get_mut(&self.droplet)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                lb.in_flight.remove(&self.droplet);
            }
        }
    }
}

async fn proxy(
    sh: Arc<Shared>,
    id: String,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    let Some((droplet, addr, keepalive)) = pick(&sh, &id) else {
        record(&sh, &id, StatusCode::SERVICE_UNAVAILABLE.as_u16(), None);
        return Ok(local(
            StatusCode::SERVICE_UNAVAILABLE,
            "no healthy droplet behind this load balancer",
        ));
    };
    let _in_flight = InFlight {
        sh: sh.clone(),
        lb: id.clone(),
        droplet,
    };
    let (mut parts, body) = req.into_parts();
    let pq = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let Ok(uri) = format!("http://{}{pq}", SocketAddr::from((addr, sh.port))).parse() else {
        // Not sent on: the load balancer's own answer.
        record(&sh, &id, StatusCode::BAD_REQUEST.as_u16(), None);
        return Ok(local(StatusCode::BAD_REQUEST, "bad request target"));
    };
    parts.uri = uri;
    if let Ok(v) = peer.ip().to_string().parse() {
        parts.headers.insert("x-forwarded-for", v);
    }
    let out = Request::from_parts(parts, body.boxed());
    let client = if keepalive {
        &sh.proxy_keepalive
    } else {
        &sh.proxy_fresh
    };
    let sent = tokio::time::Instant::now();
    match client.request(out).await {
        Ok(resp) => {
            record(&sh, &id, resp.status().as_u16(), Some((droplet, sent)));
            Ok(resp.map(|b| b.boxed()))
        }
        Err(_) => {
            if let Some(lb) = sh.lock().lbs.get_mut(&id) {
                lb.stats.backend_errors += 1;
            }
            record(
                &sh,
                &id,
                StatusCode::BAD_GATEWAY.as_u16(),
                Some((droplet, sent)),
            );
            Ok(local(StatusCode::BAD_GATEWAY, "the droplet did not answer"))
        }
    }
}

/// One health check of `addr`.
pub(crate) async fn probe(addr: SocketAddr, hc: &HealthCheck, timeout: Duration) -> bool {
    let attempt = async {
        let stream = TcpStream::connect(addr).await.ok()?;
        if hc.protocol == HealthCheckProtocol::Tcp {
            return Some(true);
        }
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .ok()?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let path = if hc.path.starts_with('/') {
            hc.path.clone()
        } else {
            format!("/{}", hc.path)
        };
        let req = Request::get(path)
            .header(hyper::header::HOST, addr.to_string())
            .header(hyper::header::USER_AGENT, "do-sim-lb-healthcheck")
            .body(Empty::<Bytes>::new())
            .ok()?;
        let resp = sender.send_request(req).await.ok()?;
        Some(resp.status().as_u16() < 400)
    };
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Some(true)))
}

fn secs(sh: &Shared, s: u32) -> Duration {
    sh.scaled(Duration::from_secs(u64::from(s.max(1))))
}

/// Check the droplets of load balancer `id` until it is deleted or the simulator stops.
pub(crate) async fn health_loop(
    sh: Arc<Shared>,
    id: String,
    mut stop: watch::Receiver<bool>,
    mut gone: watch::Receiver<bool>,
) {
    loop {
        let (targets, hc) = {
            let st = sh.lock();
            let Some(lb) = st.lbs.get(&id) else { return };
            let targets: Vec<(u64, SocketAddr)> = st
                .members(lb)
                .into_iter()
                .filter_map(|d| {
                    st.droplets
                        .get(&d)
                        .map(|r| (d, SocketAddr::from((r.app.addr, sh.port))))
                })
                .collect();
            (targets, lb.hc.clone())
        };
        let timeout = secs(&sh, hc.response_timeout_seconds);
        let interval = secs(&sh, hc.check_interval_seconds);
        let mut set = JoinSet::new();
        for (d, addr) in targets {
            let hc = hc.clone();
            set.spawn(async move { (d, probe(addr, &hc, timeout).await) });
        }
        let mut results = Vec::new();
        loop {
            tokio::select! {
                r = set.join_next() => match r {
                    Some(Ok(x)) => results.push(x),
                    Some(Err(_)) => {}
                    None => break,
                },
                _ = stop.wait_for(|s| *s) => return,
                _ = gone.wait_for(|s| *s) => return,
            }
        }
        {
            let mut st = sh.lock();
            let members = match st.lbs.get(&id) {
                Some(lb) => st.members(lb),
                None => return,
            };
            if let Some(lb) = st.lbs.get_mut(&id) {
                let up = lb.hc.healthy_threshold.max(1);
                let down = lb.hc.unhealthy_threshold.max(1);
                let at = crate::metrics::now_unix();
                for (d, ok) in results {
                    if !members.contains(&d) {
                        continue;
                    }
                    lb.metrics.health_check(at, d, ok);
                    let h = lb.health.entry(d).or_insert(Health {
                        healthy: false,
                        passes: 0,
                        fails: 0,
                    });
                    if ok {
                        h.passes += 1;
                        h.fails = 0;
                        if !h.healthy && h.passes >= up {
                            h.healthy = true;
                        }
                    } else {
                        h.fails += 1;
                        h.passes = 0;
                        if h.healthy && h.fails >= down {
                            h.healthy = false;
                        }
                    }
                }
                lb.health.retain(|d, _| members.contains(d));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.wait_for(|s| *s) => return,
            _ = gone.wait_for(|s| *s) => return,
        }
    }
}
