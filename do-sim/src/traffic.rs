//! A traffic generator: steady `GET`s to one URL at a target rate, recording status, latency
//! and which droplet and version answered (headers `x-droplet-id`, `x-app-version`) over time.
//!
//! Bounded: it stops by itself after [`LoadConfig::duration`] or [`LoadConfig::max_requests`],
//! whichever comes first, and at most [`LoadConfig::concurrency`] requests are in flight.
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
    /// Reuse connections (default false: every request opens a connection, like distinct
    /// users, so that a reserved IP's switch shows at once).
    pub keep_alive: bool,
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
            keep_alive: false,
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

    /// Reuse connections.
    #[must_use]
    pub fn keep_alive(mut self, on: bool) -> Self {
        self.keep_alive = on;
        self
    }

    /// Bucket width of the report.
    #[must_use]
    pub fn bucket(mut self, d: Duration) -> Self {
        self.bucket = d;
        self
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
    /// Failures by kind (`status 503`, `connect`, `timeout`, `transport`).
    pub failures: BTreeMap<String, u64>,
    /// Latency percentiles over finished requests, in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
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
            p50_ms: pct(0.50),
            p95_ms: pct(0.95),
            p99_ms: pct(0.99),
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
    let client = match reqwest::Client::builder()
        .no_proxy()
        .timeout(cfg.timeout)
        .connect_timeout(cfg.timeout)
        .pool_max_idle_per_host(if cfg.keep_alive { cfg.concurrency } else { 0 })
        .tcp_nodelay(true)
        .build()
    {
        Ok(c) => c,
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
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
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
        let url = cfg.url.clone();
        let rec = rec.clone();
        set.spawn(async move {
            let t0 = Instant::now();
            let outcome = one(&client, &url).await;
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

async fn one(client: &reqwest::Client, url: &str) -> Outcome {
    let resp = match client.get(url).send().await {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(kind_of(&e)),
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
    if let Err(e) = resp.bytes().await {
        return Outcome::Failed(kind_of(&e));
    }
    if status.is_success() {
        Outcome::Ok { version, droplet }
    } else {
        Outcome::Failed(format!("status {}", status.as_u16()))
    }
}

fn kind_of(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connect".into()
    } else {
        "transport".into()
    }
}
