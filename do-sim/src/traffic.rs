//! A traffic generator: steady `GET`s to one URL at a target rate, recording status, latency
//! and which droplet and version answered (headers `x-droplet-id`, `x-app-version`) over time.
//!
//! Bounded: it stops by itself after [`LoadConfig::duration`] or [`LoadConfig::max_requests`],
//! whichever comes first, and at most [`LoadConfig::concurrency`] requests are in flight.
//!
//! Three kinds of client ([`ClientKind`]), because they meet a reserved IP's move differently:
//! a new connection per request (distinct users, scripts), pooled keep-alive connections without
//! retry (many API clients), and pooled keep-alive that retries an idempotent request once on a
//! fresh connection when a reused connection fails before any answer (what browsers and
//! `hyper`'s pool do). [`Traffic`] runs the three side by side and reports each apart. The
//! client is written here on `hyper`'s connection API, so that "reused" and "failed before the
//! answer" are known exactly, not guessed from an error message. `http://` only.
//!
//! ```no_run
//! # async fn run() {
//! use std::time::Duration;
//! use do_sim::traffic::{Load, LoadConfig};
//! let load = Load::start(LoadConfig::new("http://127.0.0.1:8080/").rate(200.0).duration(Duration::from_secs(5)));
//! // ... deploy ...
//! let report = load.finish().await;
//! assert_eq!(report.failed, 0, "{}", report.summary());
//! # }
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use serde::Serialize;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

/// What to send.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LoadConfig {
    /// The URL every request goes to.
    pub url: String,
    /// Requests per second to start (default 200).
    pub rate: f64,
    /// Most requests in flight (default 64); when reached, sending waits.
    pub concurrency: usize,
    /// Stop after this long (default 10 s).
    pub duration: Duration,
    /// Stop after this many requests (default: rate × duration, rounded up).
    pub max_requests: Option<u64>,
    /// Timeout of one request (default 5 s).
    pub timeout: Duration,
    /// How the client uses connections (default [`ClientKind::Fresh`]).
    pub client: ClientKind,
    /// Width of the time buckets of the report (default 250 ms).
    pub bucket: Duration,
}

impl LoadConfig {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        LoadConfig {
            url: url.into(),
            rate: 200.0,
            concurrency: 64,
            duration: Duration::from_secs(10),
            max_requests: None,
            timeout: Duration::from_secs(5),
            client: ClientKind::Fresh,
            bucket: Duration::from_millis(250),
        }
    }

    /// Requests per second.
    #[must_use]
    pub fn rate(mut self, r: f64) -> Self {
        self.rate = r;
        self
    }

    /// Most requests in flight.
    #[must_use]
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// How long to run.
    #[must_use]
    pub fn duration(mut self, d: Duration) -> Self {
        self.duration = d;
        self
    }

    /// Most requests to send.
    #[must_use]
    pub fn max_requests(mut self, n: u64) -> Self {
        self.max_requests = Some(n);
        self
    }

    /// Timeout of one request.
    #[must_use]
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// How the client uses connections.
    #[must_use]
    pub fn client(mut self, kind: ClientKind) -> Self {
        self.client = kind;
        self
    }

    /// Bucket width of the report.
    #[must_use]
    pub fn bucket(mut self, d: Duration) -> Self {
        self.bucket = d;
        self
    }
}

/// How a client uses connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientKind {
    /// A new connection per request (`Connection: close`).
    Fresh,
    /// Pooled keep-alive connections; a failure is a failure.
    KeepAlive,
    /// Pooled keep-alive connections; a request whose reused connection fails before any answer
    /// is sent once more on a new connection (the browsers' rule for idempotent requests).
    KeepAliveRetry,
}

impl ClientKind {
    /// The three kinds, in report order.
    pub const ALL: [ClientKind; 3] = [
        ClientKind::Fresh,
        ClientKind::KeepAlive,
        ClientKind::KeepAliveRetry,
    ];

    /// Short label: `new connection per request`, `keep-alive, no retry`, `keep-alive, retry once`.
    pub fn label(self) -> &'static str {
        match self {
            ClientKind::Fresh => "new connection per request",
            ClientKind::KeepAlive => "keep-alive, no retry",
            ClientKind::KeepAliveRetry => "keep-alive, retry once",
        }
    }

    /// Whether connections are pooled.
    pub fn pooled(self) -> bool {
        self != ClientKind::Fresh
    }
}

impl std::fmt::Display for ClientKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// One time slice of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Bucket {
    /// Start of the slice, from the start of the run.
    pub start_ms: u64,
    /// Requests started in the slice that succeeded (2xx).
    pub ok: u64,
    /// Requests started in the slice that failed.
    pub failed: u64,
    /// Successful answers by version.
    pub versions: BTreeMap<String, u64>,
}

/// What a run saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LoadReport {
    /// Requests sent (and finished).
    pub sent: u64,
    /// 2xx answers.
    pub ok: u64,
    /// Non-2xx answers and transport errors.
    pub failed: u64,
    /// Failures by kind: `status 503`; `connect` (no connection); `reset` (the connection
    /// failed before any answer: reset or closed); `reset (reused connection)` (the same on a
    /// pooled connection, not retried); `body` (failed while reading the answer); `timeout`.
    pub failures: BTreeMap<String, u64>,
    /// Requests sent a second time, on a new connection, because their reused connection
    /// failed before any answer ([`ClientKind::KeepAliveRetry`] only); counted once in `sent`.
    pub retried: u64,
    /// Connections opened.
    pub connections: u64,
    /// Latency percentiles over finished requests, in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Mean.
    pub mean_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Wall time of the run, in seconds.
    pub elapsed_s: f64,
    /// Successful answers by version (`x-app-version`).
    pub by_version: BTreeMap<String, u64>,
    /// Successful answers by droplet id (`x-droplet-id`).
    pub by_droplet: BTreeMap<String, u64>,
    /// The run over time.
    pub buckets: Vec<Bucket>,
}

impl LoadReport {
    /// Finished requests per second.
    pub fn rate(&self) -> f64 {
        if self.elapsed_s > 0.0 {
            self.sent as f64 / self.elapsed_s
        } else {
            0.0
        }
    }

    /// The mean response time.
    pub fn mean(&self) -> Duration {
        Duration::from_secs_f64(self.mean_ms.max(0.0) / 1000.0)
    }

    /// The versions in the order they were first seen answering.
    pub fn versions_in_order(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for b in &self.buckets {
            for v in b.versions.keys() {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
        }
        out
    }

    /// One line: `sent 2000, failed 0, 199.8 req/s, p50 1.2 ms, p95 2.0 ms, p99 3.1 ms, versions v1:900 v2:1100`.
    pub fn summary(&self) -> String {
        let versions: Vec<String> = self
            .by_version
            .iter()
            .map(|(v, n)| format!("{v}:{n}"))
            .collect();
        let failures: Vec<String> = self
            .failures
            .iter()
            .map(|(k, n)| format!("{k}:{n}"))
            .collect();
        format!(
            "sent {}, failed {}{}, {:.1} req/s, p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, versions {}",
            self.sent,
            self.failed,
            if failures.is_empty() {
                String::new()
            } else {
                format!(" ({})", failures.join(" "))
            },
            self.rate(),
            self.p50_ms,
            self.p95_ms,
            self.p99_ms,
            versions.join(" ")
        )
    }
}

#[derive(Debug, Default)]
struct Recorder {
    sent: u64,
    ok: u64,
    failed: u64,
    retried: u64,
    connections: u64,
    failures: BTreeMap<String, u64>,
    latencies_us: Vec<u64>,
    by_version: BTreeMap<String, u64>,
    by_droplet: BTreeMap<String, u64>,
    buckets: Vec<Bucket>,
}

/// A running load. Dropping it stops sending.
#[derive(Debug)]
pub struct Load {
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
    rec: Arc<Mutex<Recorder>>,
    started: Instant,
    ended: Arc<Mutex<Option<Instant>>>,
}

enum Outcome {
    Ok {
        version: Option<String>,
        droplet: Option<String>,
    },
    Failed(String),
}

impl Load {
    /// Start sending (on the current tokio runtime).
    pub fn start(cfg: LoadConfig) -> Load {
        let stop = watch::channel(false).0;
        let rec = Arc::new(Mutex::new(Recorder::default()));
        let started = Instant::now();
        let ended = Arc::new(Mutex::new(None));
        let task = tokio::spawn(run(
            cfg.clone(),
            stop.subscribe(),
            rec.clone(),
            started,
            ended.clone(),
        ));
        Load {
            stop,
            task: Some(task),
            rec,
            started,
            ended,
        }
    }

    /// Stop sending new requests (those in flight finish).
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// What was seen so far.
    pub fn report(&self) -> LoadReport {
        let end = self
            .ended
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or_else(Instant::now);
        let r = self.rec.lock().unwrap_or_else(|p| p.into_inner());
        let mut lat = r.latencies_us.clone();
        lat.sort_unstable();
        let pct = |p: f64| -> f64 {
            if lat.is_empty() {
                return 0.0;
            }
            let i = ((lat.len() as f64 - 1.0) * p).round() as usize;
            lat[i.min(lat.len() - 1)] as f64 / 1000.0
        };
        LoadReport {
            sent: r.sent,
            ok: r.ok,
            failed: r.failed,
            failures: r.failures.clone(),
            retried: r.retried,
            connections: r.connections,
            p50_ms: pct(0.50),
            p95_ms: pct(0.95),
            p99_ms: pct(0.99),
            mean_ms: if lat.is_empty() {
                0.0
            } else {
                lat.iter().sum::<u64>() as f64 / lat.len() as f64 / 1000.0
            },
            max_ms: lat.last().map_or(0.0, |m| *m as f64 / 1000.0),
            elapsed_s: end.duration_since(self.started).as_secs_f64(),
            by_version: r.by_version.clone(),
            by_droplet: r.by_droplet.clone(),
            buckets: r.buckets.clone(),
        }
    }

    /// Stop now, wait for the requests in flight, and report.
    pub async fn finish(mut self) -> LoadReport {
        self.stop();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        self.report()
    }

    /// Run to the end (duration or request count), then report.
    pub async fn wait(mut self) -> LoadReport {
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        self.report()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

async fn run(
    cfg: LoadConfig,
    mut stop: watch::Receiver<bool>,
    rec: Arc<Mutex<Recorder>>,
    started: Instant,
    ended: Arc<Mutex<Option<Instant>>>,
) {
    let client = match Client::new(&cfg.url, cfg.client, cfg.timeout, rec.clone()).await {
        Ok(c) => Arc::new(c),
        Err(e) => {
            let mut r = rec.lock().unwrap_or_else(|p| p.into_inner());
            *r.failures.entry(format!("client: {e}")).or_default() += 1;
            r.failed += 1;
            return;
        }
    };
    let rate = if cfg.rate.is_finite() && cfg.rate > 0.0 {
        cfg.rate
    } else {
        1.0
    };
    let max = cfg
        .max_requests
        .unwrap_or_else(|| (rate * cfg.duration.as_secs_f64()).ceil() as u64);
    let deadline = started + cfg.duration;
    let bucket = cfg.bucket.max(Duration::from_millis(1));
    let sem = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    // A late tick is not made up for: the rate is a ceiling, so that "requests in a window of
    // length t" is at most rate × t + 1 even on a busy machine.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut set = JoinSet::new();
    let mut issued = 0u64;
    while issued < max {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = tokio::time::sleep_until(deadline) => break,
            _ = stop.wait_for(|s| *s) => break,
        }
        if Instant::now() >= deadline {
            break;
        }
        let permit = tokio::select! {
            p = sem.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = tokio::time::sleep_until(deadline) => break,
            _ = stop.wait_for(|s| *s) => break,
        };
        issued += 1;
        let client = client.clone();
        let rec = rec.clone();
        set.spawn(async move {
            let t0 = Instant::now();
            let outcome = client.one().await;
            let took = t0.elapsed();
            let idx = (t0.duration_since(started).as_nanos() / bucket.as_nanos()) as usize;
            let mut r = rec.lock().unwrap_or_else(|p| p.into_inner());
            r.sent += 1;
            r.latencies_us.push(took.as_micros() as u64);
            while r.buckets.len() <= idx {
                let n = r.buckets.len() as u64;
                r.buckets.push(Bucket {
                    start_ms: n * bucket.as_millis() as u64,
                    ..Bucket::default()
                });
            }
            match outcome {
                Outcome::Ok { version, droplet } => {
                    r.ok += 1;
                    let v = version.unwrap_or_else(|| "?".into());
                    *r.by_version.entry(v.clone()).or_default() += 1;
                    *r.buckets[idx].versions.entry(v).or_default() += 1;
                    r.buckets[idx].ok += 1;
                    if let Some(d) = droplet {
                        *r.by_droplet.entry(d).or_default() += 1;
                    }
                }
                Outcome::Failed(kind) => {
                    r.failed += 1;
                    r.buckets[idx].failed += 1;
                    *r.failures.entry(kind).or_default() += 1;
                }
            }
            drop(permit);
        });
        while set.try_join_next().is_some() {}
    }
    while set.join_next().await.is_some() {}
    *ended.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

/// Why a request failed before its answer, and whether a retry may help.
enum SendError {
    /// No connection.
    Connect,
    /// The connection failed before any answer.
    Reset,
    /// The answer's head was not HTTP.
    Protocol,
}

/// The HTTP/1.1 client of one load: a pool of idle connections when the kind pools.
struct Client {
    addr: std::net::SocketAddr,
    host: String,
    path: String,
    kind: ClientKind,
    timeout: Duration,
    idle: Mutex<Vec<Sender>>,
    rec: Arc<Mutex<Recorder>>,
}

impl Client {
    async fn new(
        url: &str,
        kind: ClientKind,
        timeout: Duration,
        rec: Arc<Mutex<Recorder>>,
    ) -> Result<Client, String> {
        let uri: hyper::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("{url}: the traffic generator speaks http:// only"));
        }
        let host = uri.host().ok_or_else(|| format!("{url}: no host"))?;
        let port = uri.port_u16().unwrap_or(80);
        let addr = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("{url}: {e}"))?
            .next()
            .ok_or_else(|| format!("{url}: {host} has no address"))?;
        Ok(Client {
            addr,
            host: uri
                .authority()
                .map_or_else(|| host.to_owned(), |a| a.as_str().to_owned()),
            path: uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
            kind,
            timeout,
            idle: Mutex::new(Vec::new()),
            rec,
        })
    }

    async fn connect(&self) -> Result<Sender, SendError> {
        self.rec
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .connections += 1;
        let stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|_| SendError::Connect)?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|_| SendError::Connect)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// An idle pooled connection that is not known to be closed.
    fn pooled(&self) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(s) = idle.pop() {
            if !s.is_closed() && s.is_ready() {
                return Some(s);
            }
        }
        None
    }

    async fn send(
        &self,
        sender: &mut Sender,
    ) -> Result<hyper::Response<hyper::body::Incoming>, SendError> {
        let mut req = hyper::Request::get(self.path.as_str())
            .header(hyper::header::HOST, self.host.as_str())
            .header(hyper::header::USER_AGENT, "do-sim-traffic");
        if !self.kind.pooled() {
            req = req.header(hyper::header::CONNECTION, "close");
        }
        let req = req.body(Empty::new()).map_err(|_| SendError::Protocol)?;
        sender.ready().await.map_err(|_| SendError::Reset)?;
        sender.send_request(req).await.map_err(|e| {
            if e.is_parse() {
                SendError::Protocol
            } else {
                SendError::Reset
            }
        })
    }

    async fn one(&self) -> Outcome {
        match tokio::time::timeout(self.timeout, self.attempt()).await {
            Ok(o) => o,
            Err(_) => Outcome::Failed("timeout".into()),
        }
    }

    async fn attempt(&self) -> Outcome {
        let reused = if self.kind.pooled() {
            self.pooled()
        } else {
            None
        };
        let was_reused = reused.is_some();
        let mut sender = match reused {
            Some(s) => s,
            None => match self.connect().await {
                Ok(s) => s,
                Err(e) => return failed(&e, false),
            },
        };
        let resp = match self.send(&mut sender).await {
            Ok(r) => r,
            Err(SendError::Reset) if was_reused && self.kind == ClientKind::KeepAliveRetry => {
                self.rec.lock().unwrap_or_else(|p| p.into_inner()).retried += 1;
                sender = match self.connect().await {
                    Ok(s) => s,
                    Err(e) => return failed(&e, false),
                };
                match self.send(&mut sender).await {
                    Ok(r) => r,
                    Err(e) => return failed(&e, false),
                }
            }
            Err(e) => return failed(&e, was_reused),
        };
        let status = resp.status();
        let header = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let version = header("x-app-version");
        let droplet = header("x-droplet-id");
        let closing = header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
        if resp.into_body().collect().await.is_err() {
            return Outcome::Failed("body".into());
        }
        if self.kind.pooled() && !closing {
            self.idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(sender);
        }
        if status.is_success() {
            Outcome::Ok { version, droplet }
        } else {
            Outcome::Failed(format!("status {}", status.as_u16()))
        }
    }
}

fn failed(e: &SendError, reused: bool) -> Outcome {
    Outcome::Failed(
        match (e, reused) {
            (SendError::Connect, _) => "connect",
            (SendError::Reset, true) => "reset (reused connection)",
            (SendError::Reset, false) => "reset",
            (SendError::Protocol, _) => "protocol",
        }
        .into(),
    )
}

/// The three client kinds side by side against one URL, each at a third of the rate (and of the
/// concurrency and request budget), reported apart: a reserved IP's move costs each a different
/// number of requests.
#[derive(Debug)]
pub struct Traffic {
    loads: Vec<(ClientKind, Load)>,
}

impl Traffic {
    /// Start one load per [`ClientKind`] from `cfg` (its `client` is ignored; `rate`,
    /// `concurrency` and `max_requests` are shared out).
    pub fn start(cfg: LoadConfig) -> Traffic {
        let n = ClientKind::ALL.len();
        let loads = ClientKind::ALL
            .iter()
            .map(|&kind| {
                let mut c = cfg.clone().client(kind).rate(cfg.rate / n as f64);
                c.concurrency = (cfg.concurrency / n).max(1);
                c.max_requests = cfg.max_requests.map(|m| m.div_ceil(n as u64));
                (kind, Load::start(c))
            })
            .collect();
        Traffic { loads }
    }

    /// Stop sending new requests.
    pub fn stop(&self) {
        for (_, l) in &self.loads {
            l.stop();
        }
    }

    /// What was seen so far.
    pub fn report(&self) -> TrafficReport {
        TrafficReport {
            kinds: self.loads.iter().map(|(k, l)| (*k, l.report())).collect(),
        }
    }

    /// Stop now, wait for the requests in flight, and report.
    pub async fn finish(self) -> TrafficReport {
        self.stop();
        self.wait().await
    }

    /// Run to the end, then report.
    pub async fn wait(self) -> TrafficReport {
        let mut kinds = BTreeMap::new();
        for (k, l) in self.loads {
            kinds.insert(k, l.wait().await);
        }
        TrafficReport { kinds }
    }
}

/// What each client kind of a [`Traffic`] saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TrafficReport {
    /// By client kind.
    pub kinds: BTreeMap<ClientKind, LoadReport>,
}

impl TrafficReport {
    /// One kind's report (empty if that kind did not run).
    pub fn kind(&self, k: ClientKind) -> LoadReport {
        self.kinds.get(&k).cloned().unwrap_or_default()
    }

    /// Requests sent, all kinds.
    pub fn sent(&self) -> u64 {
        self.kinds.values().map(|r| r.sent).sum()
    }

    /// Requests failed, all kinds.
    pub fn failed(&self) -> u64 {
        self.kinds.values().map(|r| r.failed).sum()
    }

    /// One line per kind: `keep-alive, no retry: sent 600, failed 0, ...`.
    pub fn summary(&self) -> String {
        self.kinds
            .iter()
            .map(|(k, r)| format!("{k}: {}", r.summary()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The kinds added together, for timelines and version counts: counts and buckets are
    /// sums; the latency percentiles are the worst kind's.
    pub fn combined(&self) -> LoadReport {
        let mut out = LoadReport::default();
        for r in self.kinds.values() {
            out.sent += r.sent;
            out.ok += r.ok;
            out.failed += r.failed;
            out.retried += r.retried;
            out.connections += r.connections;
            for (k, n) in &r.failures {
                *out.failures.entry(k.clone()).or_default() += n;
            }
            out.p50_ms = out.p50_ms.max(r.p50_ms);
            out.p95_ms = out.p95_ms.max(r.p95_ms);
            out.p99_ms = out.p99_ms.max(r.p99_ms);
            out.mean_ms = out.mean_ms.max(r.mean_ms);
            out.max_ms = out.max_ms.max(r.max_ms);
            out.elapsed_s = out.elapsed_s.max(r.elapsed_s);
            for (v, n) in &r.by_version {
                *out.by_version.entry(v.clone()).or_default() += n;
            }
            for (d, n) in &r.by_droplet {
                *out.by_droplet.entry(d.clone()).or_default() += n;
            }
            for (i, b) in r.buckets.iter().enumerate() {
                if out.buckets.len() <= i {
                    out.buckets.push(Bucket {
                        start_ms: b.start_ms,
                        ..Bucket::default()
                    });
                }
                let o = &mut out.buckets[i];
                o.ok += b.ok;
                o.failed += b.failed;
                for (v, n) in &b.versions {
                    *o.versions.entry(v.clone()).or_default() += n;
                }
            }
        }
        out
    }
}
