//! Watching droplets through the load balancer's own address, instead of waiting computed
//! windows: a droplet taken out has left when enough answers in a row came from other
//! droplets; a droplet put back is in when it answered (twice). DigitalOcean does not report
//! what its load balancer thinks of a droplet (doctl cannot show it either:
//! digitalocean/doctl#1335), but every answer through it says who served it ([`identity`]).
//!
//! The trackers here are pure (fed samples, unit-tested); [`Watcher`] sends the probes.
//!
//! [`identity`]: super::identity

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::time::Duration;

use do_api::DropletId;
use do_api::droplets::Droplet;
use do_api::load_balancers::{EntryProtocol, LoadBalancer, TargetProtocol};
use serde::Serialize;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::identity::{Identify, names};

/// Where the load balancer is probed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The URL probed (the load balancer's address, a forwarding rule's entry port, the health
    /// gate's path), or the URL given.
    pub url: String,
    /// An https entry: probed without checking its certificate (the load balancer's
    /// certificate names the site, not its IP), for watching only.
    pub accept_any_certificate: bool,
    /// Where the URL comes from.
    pub source: String,
}

/// The load balancer's own entry point, from the API alone: its `ip` and a forwarding rule
/// (`http` first; then `https`/`http2`, probed without certificate checks; then `tcp` to an
/// `http` target). `path` is the path probed.
pub fn entry_from_lb(lb: &LoadBalancer, path: &str) -> Result<Entry, String> {
    let ip: Ipv4Addr = lb
        .ip
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or("the load balancer has no IP address yet")?
        .parse()
        .map_err(|_| "the load balancer's IP address is not an IPv4 address".to_owned())?;
    let pick = |want: &dyn Fn(&do_api::load_balancers::ForwardingRule) -> bool| {
        lb.forwarding_rules.iter().find(|r| want(r))
    };
    let (rule, https) = if let Some(r) = pick(&|r| r.entry_protocol == EntryProtocol::Http) {
        (r, false)
    } else if let Some(r) = pick(&|r| {
        matches!(
            r.entry_protocol,
            EntryProtocol::Https | EntryProtocol::Http2
        )
    }) {
        (r, true)
    } else if let Some(r) = pick(&|r| {
        r.entry_protocol == EntryProtocol::Tcp && r.target_protocol == TargetProtocol::Http
    }) {
        (r, false)
    } else {
        return Err(
            "the load balancer has no http, https or http2 forwarding rule to watch traffic through"
                .into(),
        );
    };
    let scheme = if https { "https" } else { "http" };
    let sep = if path.starts_with('/') { "" } else { "/" };
    Ok(Entry {
        url: format!("{scheme}://{ip}:{}{sep}{path}", rule.entry_port),
        accept_any_certificate: https,
        source: format!(
            "the load balancer's address and its {} forwarding rule on port {}",
            rule.entry_protocol, rule.entry_port
        ),
    })
}

/// Probes in a row that must come from other droplets before `share` of the traffic is
/// gone with `confidence`: the smallest `k` with `(1 - share)^k <= 1 - confidence`.
pub fn probes_needed(share: f64, confidence: f64) -> u32 {
    if share.is_nan() || confidence.is_nan() || share <= 0.0 || confidence <= 0.0 {
        return 1;
    }
    if share >= 1.0 || confidence >= 1.0 {
        return 1000;
    }
    let k = ((1.0 - confidence).ln() / (1.0 - share).ln()).ceil();
    (k as u32).clamp(1, 1000)
}

/// The confidence a take-out is watched to: one chance in a thousand that a droplet still in
/// rotation went unseen.
pub const CONFIDENCE: f64 = 0.999;

/// One probe through the load balancer.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The droplet the answer named, as written.
    pub named: Option<String>,
    /// An answer with a status below 400.
    pub ok: bool,
    /// Status, or why there was no answer.
    pub detail: String,
    /// The answer's status, if one came.
    pub status: Option<u16>,
    /// From sending to the whole answer (or the failure).
    pub took: Duration,
    /// When it was answered.
    pub at: Instant,
}

/// Watching droplets leave: done after `needed` answers in a row from droplets not leaving.
#[derive(Debug, Clone)]
pub struct Gone {
    leaving: Vec<Droplet>,
    needed: u32,
    misses: u32,
    /// When a leaving droplet last answered.
    pub last_seen: Option<Instant>,
    /// Answers from leaving droplets.
    pub seen: u32,
}

impl Gone {
    /// Watch `leaving` until `needed` answers in a row came from other droplets.
    pub fn new(leaving: &[Droplet], needed: u32) -> Gone {
        Gone {
            leaving: leaving.to_vec(),
            needed,
            misses: 0,
            last_seen: None,
            seen: 0,
        }
    }

    /// Take one sample; `true` once done. Answers naming no droplet and failed probes are no
    /// evidence either way.
    pub fn feed(&mut self, s: &Sample) -> bool {
        if let Some(n) = &s.named {
            if self.leaving.iter().any(|d| names(n, d)) {
                self.misses = 0;
                self.seen += 1;
                self.last_seen = Some(s.at);
            } else {
                self.misses += 1;
            }
        }
        self.done()
    }

    /// Whether enough answers in a row came from other droplets.
    pub fn done(&self) -> bool {
        self.misses >= self.needed
    }

    /// Answers in a row from other droplets so far, of those needed.
    pub fn progress(&self) -> (u32, u32) {
        (self.misses, self.needed)
    }
}

/// Watching droplets come back: done when each answered `sightings` times (with a status
/// below 400).
#[derive(Debug, Clone)]
pub struct Seen {
    want: Vec<Droplet>,
    sightings: u32,
    count: BTreeMap<DropletId, u32>,
    /// When each was first seen.
    pub first: BTreeMap<DropletId, Instant>,
}

impl Seen {
    /// Watch for `want`, each `sightings` times.
    pub fn new(want: &[Droplet], sightings: u32) -> Seen {
        Seen {
            want: want.to_vec(),
            sightings: sightings.max(1),
            count: BTreeMap::new(),
            first: BTreeMap::new(),
        }
    }

    /// Take one sample; `true` once done.
    pub fn feed(&mut self, s: &Sample) -> bool {
        if s.ok
            && let Some(n) = &s.named
            && let Some(d) = self.want.iter().find(|d| names(n, d))
        {
            *self.count.entry(d.id).or_default() += 1;
            self.first.entry(d.id).or_insert(s.at);
        }
        self.done()
    }

    /// Whether each was seen enough.
    pub fn done(&self) -> bool {
        self.want
            .iter()
            .all(|d| self.count.get(&d.id).copied().unwrap_or(0) >= self.sightings)
    }

    /// Those not seen enough yet.
    pub fn missing(&self) -> Vec<&Droplet> {
        self.want
            .iter()
            .filter(|d| self.count.get(&d.id).copied().unwrap_or(0) < self.sightings)
            .collect()
    }
}

/// Answers per named droplet over the whole run, for the observed traffic share.
#[derive(Debug, Default)]
struct Tally {
    by: BTreeMap<String, u32>,
    named: u32,
}

/// Sends probes through the load balancer.
#[derive(Debug)]
pub struct Watcher {
    http: reqwest::Client,
    /// What is probed.
    pub entry: Entry,
    /// How answers name droplets.
    pub identify: Identify,
    /// Mean pause between probe starts (each is randomised by ±50%).
    pub spacing: Duration,
    /// Probes in flight at once.
    pub concurrency: usize,
    tally: Mutex<Tally>,
}

/// What a watch ended with.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchEnd {
    /// Probes answered (or failed).
    pub samples: u32,
    /// Time taken.
    pub took: Duration,
    /// The last sample's detail.
    pub last: String,
}

impl Watcher {
    /// A watcher of `entry`; each probe gives up after `timeout`.
    pub fn new(entry: Entry, identify: Identify, timeout: Duration) -> Watcher {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .danger_accept_invalid_certs(entry.accept_any_certificate)
            .user_agent(concat!("zdd-do-watch/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("static reqwest configuration");
        Watcher {
            http,
            entry,
            identify,
            spacing: Duration::from_millis(10),
            concurrency: 8,
            tally: Mutex::new(Tally::default()),
        }
    }

    /// Probe fast enough that each of `droplets` behind the load balancer is met about four
    /// times a second: 100 probes a second (the default) up to 25 droplets, more beyond, so
    /// that seeing every droplet of a large fleet does not wait on the probes (a round-robin
    /// balancer meets each of `n` droplets once in `n` probes on average).
    pub fn pace_for(&mut self, droplets: usize) {
        let per_second = (4 * droplets).max(100) as u32;
        self.spacing = Duration::from_secs(1) / per_second;
        self.concurrency = (per_second as usize / 12).max(8);
    }

    /// The share of answers so far that named one of `ds`, when there were at least `min`
    /// named answers.
    pub fn observed_share(&self, ds: &[Droplet], min: u32) -> Option<f64> {
        let t = self.tally.lock().expect("tally");
        if t.named < min {
            return None;
        }
        let hits: u32 =
            t.by.iter()
                .filter(|(n, _)| ds.iter().any(|d| names(n, d)))
                .map(|(_, c)| *c)
                .sum();
        Some(f64::from(hits) / f64::from(t.named))
    }

    async fn probe(http: reqwest::Client, url: String, identify: Identify) -> Sample {
        let sent = Instant::now();
        match http.get(&url).send().await {
            Ok(resp) => {
                let status = resp.status();
                let headers = resp.headers().clone();
                let body = resp.text().await.unwrap_or_default();
                let named = identify.extract(&headers, &body).filter(|n| !n.is_empty());
                Sample {
                    detail: match &named {
                        Some(n) => format!("answered by `{n}` ({status})"),
                        None => format!("an answer ({status}) that names no droplet"),
                    },
                    named,
                    ok: status.as_u16() < 400,
                    status: Some(status.as_u16()),
                    took: sent.elapsed(),
                    at: Instant::now(),
                }
            }
            Err(e) => Sample {
                named: None,
                ok: false,
                status: None,
                took: sent.elapsed(),
                detail: crate::health::describe_reqwest(&e),
                at: Instant::now(),
            },
        }
    }

    /// Probe until `feed` says done (`Ok`) or `deadline` passes (`Err`; probes in flight
    /// then still count).
    pub async fn watch(
        &self,
        deadline: Duration,
        mut feed: impl FnMut(&Sample) -> bool,
    ) -> Result<WatchEnd, WatchEnd> {
        let started = Instant::now();
        let end_at = started + deadline;
        let mut set = JoinSet::new();
        let mut next = started;
        let mut end = WatchEnd {
            samples: 0,
            took: Duration::ZERO,
            last: "no answer yet".into(),
        };
        loop {
            let now = Instant::now();
            let open = now < end_at;
            while open && set.len() < self.concurrency && next <= now {
                set.spawn(Self::probe(
                    self.http.clone(),
                    self.entry.url.clone(),
                    self.identify.clone(),
                ));
                // Random spacing: probes sent at a fixed rhythm could fall in step with a
                // round-robin load balancer and other clients' requests, and always meet the
                // same droplet.
                next += crate::lock::jitter(self.spacing);
                if next < now {
                    next = now;
                }
            }
            if set.is_empty() && !open {
                end.took = started.elapsed();
                return Err(end);
            }
            let can_start = open && set.len() < self.concurrency;
            tokio::select! {
                Some(r) = set.join_next(), if !set.is_empty() => {
                    let Ok(s) = r else { continue };
                    end.samples += 1;
                    end.last.clone_from(&s.detail);
                    if let Some(n) = &s.named {
                        let mut t = self.tally.lock().expect("tally");
                        *t.by.entry(n.clone()).or_default() += 1;
                        t.named += 1;
                    }
                    if feed(&s) {
                        set.abort_all();
                        end.took = started.elapsed();
                        return Ok(end);
                    }
                }
                _ = tokio::time::sleep_until(next.min(end_at)), if can_start => {}
                _ = tokio::time::sleep_until(end_at), if !can_start && open => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn droplet(id: u64, name: &str) -> Droplet {
        serde_json::from_value(serde_json::json!({"id": id, "name": name, "status": "active"}))
            .unwrap()
    }

    fn sample(named: Option<&str>, ok: bool) -> Sample {
        Sample {
            named: named.map(str::to_owned),
            ok,
            status: Some(if ok { 200 } else { 503 }),
            took: Duration::ZERO,
            detail: String::new(),
            at: Instant::now(),
        }
    }

    #[test]
    fn probes_needed_follow_the_share() {
        // A third of the traffic: (2/3)^18 < 0.001 < (2/3)^17.
        assert_eq!(probes_needed(1.0 / 3.0, CONFIDENCE), 18);
        assert_eq!(probes_needed(0.5, CONFIDENCE), 10);
        assert_eq!(probes_needed(0.1, CONFIDENCE), 66);
        assert_eq!(probes_needed(1.0 / 30.0, CONFIDENCE), 204);
        assert_eq!(probes_needed(0.0, CONFIDENCE), 1);
        assert_eq!(probes_needed(f64::NAN, CONFIDENCE), 1);
        assert_eq!(probes_needed(1e-9, CONFIDENCE), 1000);
    }

    #[test]
    fn a_droplet_is_gone_after_enough_answers_from_others_in_a_row() {
        let leaving = [droplet(2, "web-2")];
        let mut g = Gone::new(&leaving, 3);
        assert!(!g.feed(&sample(Some("web-1"), true)));
        assert!(!g.feed(&sample(Some("web-3"), true)));
        // Seen again: start over.
        assert!(!g.feed(&sample(Some("2"), true)));
        assert_eq!(g.progress(), (0, 3));
        assert!(g.last_seen.is_some() && g.seen == 1);
        // Failures and anonymous answers are no evidence.
        assert!(!g.feed(&sample(None, false)));
        assert!(!g.feed(&sample(None, true)));
        assert!(!g.feed(&sample(Some("web-1"), true)));
        assert!(!g.feed(&sample(Some("web-3"), false)));
        assert!(g.feed(&sample(Some("web-1"), true)));
    }

    #[test]
    fn droplets_are_in_once_each_answered_enough() {
        let want = [droplet(1, "web-1"), droplet(2, "web-2")];
        let mut s = Seen::new(&want, 2);
        assert!(!s.feed(&sample(Some("web-1"), true)));
        // A failing answer does not count.
        assert!(!s.feed(&sample(Some("web-2"), false)));
        assert!(!s.feed(&sample(Some("web-2"), true)));
        assert!(!s.feed(&sample(Some("web-1"), true)));
        assert_eq!(s.missing().iter().map(|d| d.id.0).collect::<Vec<_>>(), [2]);
        assert!(s.feed(&sample(Some("web-2"), true)));
    }

    #[test]
    fn the_entry_point_comes_from_the_load_balancer() {
        let lb = |rules: serde_json::Value, ip: &str| -> LoadBalancer {
            serde_json::from_value(serde_json::json!({
                "id": "4de7ac8b-495b-4884-9a69-1050c6793cd6", "name": "web-lb", "status": "active",
                "ip": ip, "forwarding_rules": rules
            }))
            .unwrap()
        };
        let rule = |p: &str, port: u16, t: &str| {
            serde_json::json!({"entry_protocol": p, "entry_port": port,
                "target_protocol": t, "target_port": 8080})
        };
        let e = entry_from_lb(
            &lb(
                serde_json::json!([rule("https", 443, "http"), rule("http", 80, "http")]),
                "192.0.2.7",
            ),
            "/health",
        )
        .unwrap();
        assert_eq!(e.url, "http://192.0.2.7:80/health");
        assert!(!e.accept_any_certificate);
        let e = entry_from_lb(
            &lb(serde_json::json!([rule("https", 443, "http")]), "192.0.2.7"),
            "health",
        )
        .unwrap();
        assert_eq!(e.url, "https://192.0.2.7:443/health");
        assert!(e.accept_any_certificate);
        assert_eq!(
            e.source,
            "the load balancer's address and its https forwarding rule on port 443"
        );
        assert_eq!(
            entry_from_lb(
                &lb(serde_json::json!([rule("udp", 53, "udp")]), "192.0.2.7"),
                "/"
            )
            .unwrap_err(),
            "the load balancer has no http, https or http2 forwarding rule to watch traffic through"
        );
        assert_eq!(
            entry_from_lb(&lb(serde_json::json!([rule("http", 80, "http")]), ""), "/").unwrap_err(),
            "the load balancer has no IP address yet"
        );
    }
}
