//! What a simulator starts with: droplets, reserved IPs, load balancers, timings and faults.

use std::collections::BTreeMap;
use std::time::Duration;

use do_api::load_balancers::HealthCheck;
use serde::{Deserialize, Serialize};

/// The token [`crate::Sim::token`] hands out. Any non-empty bearer token is accepted, as long as
/// one is sent (DigitalOcean answers 401 without one).
pub const SIM_TOKEN: &str = "sim-token-not-a-secret";

/// What a reserved IP's move does to traffic (an assign or unassign that completes, or the
/// holder deleted).
///
/// Source: DigitalOcean's own reserved-IP controller, digitalocean/flipop, README, "TODO":
/// "Moving IPs has a cost. It breaks all active connections, has a momentary period where
/// connections will fail, and risks errors." DigitalOcean's product docs promise only that
/// reserved IPs "instantly remap" between droplets; neither the length of the momentary period
/// nor the assign's network latency is published.
///
/// So, with `resets` on (the default), every connection open through the IP is reset (RST) when
/// the move completes, and every new connection is reset for `blackout` after it. The default
/// blackout is 1 s of wall time, not scaled by [`SimConfig::time_scale`]: "momentary" has no
/// figure, an outside measurement of a comparable model used 0.3 s, and a simulator that is our
/// proof errs on the harsh side; it is a network's convergence time, which a faster rehearsal
/// does not shorten. Turn `resets` off only to compare with the old, kinder model (connections
/// kept on the old droplet until they close).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct IpMoves {
    /// Reset open connections and refuse new ones for `blackout` when a move completes.
    pub resets: bool,
    /// How long new connections fail after a move (wall time).
    pub blackout: Duration,
}

impl Default for IpMoves {
    fn default() -> Self {
        IpMoves {
            resets: true,
            blackout: Duration::from_secs(1),
        }
    }
}

impl IpMoves {
    /// Resets and the given blackout.
    pub fn harsh(blackout: Duration) -> Self {
        IpMoves {
            resets: true,
            blackout,
        }
    }

    /// The old model: nothing is reset, open connections stay with the old droplet. For
    /// comparisons only; DigitalOcean does not behave so.
    pub fn kind() -> Self {
        IpMoves {
            resets: false,
            blackout: Duration::ZERO,
        }
    }
}

/// What a flawed release does to its users: it fails a share of their requests and answers them
/// late, while its `/health` keeps answering 200, so the load balancer keeps it in rotation. Only
/// the users' answers (and the Monitoring API's response metrics) show it: what canary analysis
/// has to catch. [`Flaw::default`] (or [`Flaw::none`]) is no flaw.
///
/// On a droplet's app, every `GET` (or `HEAD`) but `/health` first waits `added_latency`, then
/// fails deterministically: the n-th such request since the app process started (a deploy,
/// reboot or power-on starts a new one; n counts from 1) answers 500 when ⌊n·share⌋ >
/// ⌊(n−1)·share⌋, so a share of 0.05 fails exactly the 20th, 40th, ... request and a test can
/// rely on the count. The share is taken to parts per billion, so that the floor is exact.
///
/// `added_latency` is the app's own response time, real (wall) time, and is **not** multiplied
/// by [`SimConfig::time_scale`]: it is not a DigitalOcean duration.
///
/// As JSON (`PUT /_sim/faults`): `{"fail_share": 0.05, "added_latency_ms": 200}`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Flaw {
    /// Share of requests answered 500, from 0 to 1.
    pub fail_share: f64,
    /// Added to every answer but `/health`'s, in wall time (`added_latency_ms` in JSON).
    #[serde(rename = "added_latency_ms", with = "millis")]
    pub added_latency: Duration,
}

impl Flaw {
    /// No flaw.
    pub fn none() -> Self {
        Self::default()
    }

    /// Fails `fail_share` of requests (clamped to 0..=1; not a number is 0) and adds
    /// `added_latency` to each.
    pub fn new(fail_share: f64, added_latency: Duration) -> Self {
        Flaw::none()
            .fail_share(fail_share)
            .added_latency(added_latency)
    }

    /// Fail this share of requests (clamped to 0..=1; not a number is 0).
    #[must_use]
    pub fn fail_share(mut self, share: f64) -> Self {
        self.fail_share = if share.is_nan() {
            0.0
        } else {
            share.clamp(0.0, 1.0)
        };
        self
    }

    /// Answer this much later (wall time).
    #[must_use]
    pub fn added_latency(mut self, d: Duration) -> Self {
        self.added_latency = d;
        self
    }

    /// Whether it does nothing.
    pub fn is_none(&self) -> bool {
        let fails = self.fail_share > 0.0;
        !fails && self.added_latency.is_zero()
    }
}

/// A `Duration` as whole milliseconds in JSON.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// A private image the account has at start: a snapshot with a release baked in, what
/// `zdd-do replace --image` creates droplets from. A droplet created from it runs `version`
/// once it boots. Snapshots get ids from 170000001 up, in order ([`crate::Sim::image_id`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ImageSpec {
    /// Its name (snapshots are found by id, not name).
    pub name: String,
    /// The release a droplet created from it runs.
    pub version: String,
    /// Droplets created from it never pass a health check (a broken release).
    pub never_healthy: bool,
    /// The release's flaw: droplets created from it pass their health check but fail a share
    /// of their users' requests and/or answer late ([`Flaw`]). Default: none.
    pub flaw: Flaw,
}

impl ImageSpec {
    /// A snapshot named `name` with `version` baked in.
    pub fn snapshot(name: impl Into<String>, version: impl Into<String>) -> Self {
        ImageSpec {
            name: name.into(),
            version: version.into(),
            never_healthy: false,
            flaw: Flaw::none(),
        }
    }

    /// Droplets created from it never become healthy.
    #[must_use]
    pub fn never_healthy(mut self) -> Self {
        self.never_healthy = true;
        self
    }

    /// Droplets created from it answer `share` of their requests 500 (healthy all the same; see
    /// [`Flaw`]).
    #[must_use]
    pub fn failing(mut self, share: f64) -> Self {
        self.flaw = self.flaw.fail_share(share);
        self
    }

    /// Droplets created from it answer every request but `/health` `d` late (wall time, not
    /// scaled; see [`Flaw`]).
    #[must_use]
    pub fn slower(mut self, d: Duration) -> Self {
        self.flaw = self.flaw.added_latency(d);
        self
    }

    /// The release's flaw, whole.
    #[must_use]
    pub fn flaw(mut self, flaw: Flaw) -> Self {
        self.flaw = flaw;
        self
    }
}

/// A droplet present when the simulator starts.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DropletSpec {
    /// Its name (also what its app answers with).
    pub name: String,
    /// Its tags, in order.
    pub tags: Vec<String>,
    /// The app version it runs from the start (ready at once, no boot time).
    pub version: String,
    /// Its app never becomes healthy (see [`Faults`]).
    pub never_healthy: bool,
}

impl DropletSpec {
    /// A droplet named `name` running version `v1`, without tags.
    pub fn new(name: impl Into<String>) -> Self {
        DropletSpec {
            name: name.into(),
            tags: Vec::new(),
            version: "v1".into(),
            never_healthy: false,
        }
    }

    /// Add a tag.
    #[must_use]
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// The version it runs at start.
    #[must_use]
    pub fn version(mut self, v: impl Into<String>) -> Self {
        self.version = v.into();
        self
    }

    /// Make its app never healthy: `/health` and `/` answer 503, also after deploys.
    #[must_use]
    pub fn never_healthy(mut self) -> Self {
        self.never_healthy = true;
        self
    }
}

/// A reserved IP present when the simulator starts.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReservedIpSpec {
    /// The droplet (by name) it is assigned to, if any.
    pub holder: Option<String>,
}

impl ReservedIpSpec {
    /// Assigned to the droplet named `droplet`.
    pub fn held_by(droplet: impl Into<String>) -> Self {
        ReservedIpSpec {
            holder: Some(droplet.into()),
        }
    }

    /// Reserved in the region, assigned to nobody.
    pub fn unassigned() -> Self {
        ReservedIpSpec { holder: None }
    }
}

/// How a load balancer picks its droplets.
#[derive(Debug, Clone, PartialEq)]
pub enum LbTarget {
    /// Every droplet carrying this tag.
    Tag(String),
    /// These droplets, by name.
    Droplets(Vec<String>),
}

/// A load balancer present when the simulator starts. Its forwarding rule and health check
/// port are the app port; droplets matching it at start are healthy from the start.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LbSpec {
    /// Its name.
    pub name: String,
    /// Which droplets it balances over.
    pub target: LbTarget,
    /// Its health check (the port is replaced by the app port). Seconds are scaled by
    /// [`SimConfig::time_scale`].
    pub health_check: HealthCheck,
}

impl LbSpec {
    /// A tag-based load balancer with DigitalOcean's default health check timings on
    /// `GET /health` (interval 10 s, timeout 5 s, unhealthy after 5 failures, healthy after 3
    /// passes).
    pub fn tagged(name: impl Into<String>, tag: impl Into<String>) -> Self {
        LbSpec {
            name: name.into(),
            target: LbTarget::Tag(tag.into()),
            health_check: HealthCheck::http(80, "/health"),
        }
    }

    /// A load balancer over droplets given by name.
    pub fn droplets<I, S>(name: impl Into<String>, droplets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        LbSpec {
            name: name.into(),
            target: LbTarget::Droplets(droplets.into_iter().map(Into::into).collect()),
            health_check: HealthCheck::http(80, "/health"),
        }
    }

    /// Another health check.
    #[must_use]
    pub fn health_check(mut self, hc: HealthCheck) -> Self {
        self.health_check = hc;
        self
    }
}

/// Faults to inject. Every share is a probability between 0 and 1, drawn from the seeded
/// generator ([`SimConfig::seed`]). Settable at start and at run time
/// ([`crate::Sim::set_faults`], `PUT /_sim/faults`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Faults {
    /// Share of authenticated `/v2` requests answered `429 too_many_requests` with
    /// `Retry-After`, before anything is done.
    pub rate_limited_share: f64,
    /// `Retry-After` on injected 429s, in seconds (fractions are sent as decimals, which
    /// do-api honours; use whole seconds for other clients).
    pub retry_after_secs: f64,
    /// Share of requests answered `500 server_error` before anything is done. Only `GET`s
    /// unless [`Faults::server_errors_on_writes`]: a client must not repeat a write after a
    /// 5xx, so errors there fail runs rather than test retries.
    pub server_error_share: f64,
    /// Inject 5xx on `POST`, `PUT` and `DELETE` too (the request is then not carried out).
    pub server_errors_on_writes: bool,
    /// Latency added to every `/v2` answer, in milliseconds.
    pub api_latency_ms: u64,
    /// The next this-many actions end `errored` (with no effect) instead of `completed`.
    pub errored_actions: u32,
    /// Versions that never become healthy once deployed: `/health` and `/` answer 503.
    pub never_healthy_versions: Vec<String>,
    /// Versions that are flawed once deployed ([`crate::Sim::deploy`], `POST
    /// /_sim/droplets/{d}/deploy`, so `roll` and `promote` through a deploy hook), and for
    /// droplets configured to run them at start: healthy, but failing a share of requests
    /// and/or answering late ([`Flaw`]). A deploy of a version not listed clears the flaw.
    /// JSON: `{"v3": {"fail_share": 0.05, "added_latency_ms": 200}}`.
    pub flawed_versions: BTreeMap<String, Flaw>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            rate_limited_share: 0.0,
            retry_after_secs: 1.0,
            server_error_share: 0.0,
            server_errors_on_writes: false,
            api_latency_ms: 0,
            errored_actions: 0,
            never_healthy_versions: Vec::new(),
            flawed_versions: BTreeMap::new(),
        }
    }
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Answer `share` of requests 429 with `Retry-After: retry_after_secs`.
    #[must_use]
    pub fn rate_limited(mut self, share: f64, retry_after_secs: f64) -> Self {
        self.rate_limited_share = share;
        self.retry_after_secs = retry_after_secs;
        self
    }

    /// Answer `share` of `GET`s 500.
    #[must_use]
    pub fn server_errors(mut self, share: f64) -> Self {
        self.server_error_share = share;
        self
    }

    /// Also answer writes 500 (see the field).
    #[must_use]
    pub fn server_errors_on_writes(mut self, on: bool) -> Self {
        self.server_errors_on_writes = on;
        self
    }

    /// Add latency to every answer.
    #[must_use]
    pub fn api_latency(mut self, d: Duration) -> Self {
        self.api_latency_ms = d.as_millis() as u64;
        self
    }

    /// The next `n` actions end `errored`.
    #[must_use]
    pub fn errored_actions(mut self, n: u32) -> Self {
        self.errored_actions = n;
        self
    }

    /// Deploying `version` gives an app that never becomes healthy.
    #[must_use]
    pub fn never_healthy_version(mut self, version: impl Into<String>) -> Self {
        self.never_healthy_versions.push(version.into());
        self
    }

    /// Deploying `version` gives an app with `flaw` (healthy, but failing its users).
    #[must_use]
    pub fn flawed_version(mut self, version: impl Into<String>, flaw: Flaw) -> Self {
        self.flawed_versions.insert(version.into(), flaw);
        self
    }

    /// The flaw deploying `version` gives (none if it is not listed).
    pub fn flaw_of(&self, version: &str) -> Flaw {
        self.flawed_versions
            .get(version)
            .copied()
            .unwrap_or_default()
    }
}

/// Everything a [`crate::Sim`] starts with. Build with the methods; [`SimConfig::default`] is
/// an empty account in `nyc3`.
///
/// Time: durations DigitalOcean has (action latency, boot time, load balancer health checks,
/// which are whole seconds in the API) are given in "DigitalOcean time" and multiplied by
/// [`SimConfig::time_scale`] (1.0 = real time; 0.01 makes a 10 s health check interval 100 ms).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SimConfig {
    /// Droplets at start.
    pub droplets: Vec<DropletSpec>,
    /// Reserved IPs at start.
    pub reserved_ips: Vec<ReservedIpSpec>,
    /// Load balancers at start.
    pub load_balancers: Vec<LbSpec>,
    /// Time from an action's creation to its end (scaled). Default 3 s.
    pub action_latency: Duration,
    /// Time from a droplet's create to its create action's end, when it becomes `active` and
    /// its app starts booting (scaled). Default 60 s.
    pub create_latency: Duration,
    /// Time an app takes to become ready after a deploy, a reboot or a power on (scaled).
    /// Default 5 s.
    pub boot_time: Duration,
    /// Multiplier applied to every DigitalOcean duration. Default 1.0.
    pub time_scale: f64,
    /// Faults at start.
    pub faults: Faults,
    /// Seed of the generator that draws faults. Default 1.
    pub seed: u64,
    /// Region slug of everything. Default `nyc3`.
    pub region: String,
    /// Port of the API server on 127.0.0.1 (0 = any free port, the default).
    pub api_port: u16,
    /// Version that droplets created through the API run. Default `v1`.
    pub new_droplet_version: String,
    /// Requests allowed per rolling hour before real 429s (`ratelimit-limit`). Default 5000.
    pub rate_limit: u64,
    /// What a reserved IP's move does to connections. Default: [`IpMoves::default`] (resets and
    /// a 1 s blackout).
    pub ip_moves: IpMoves,
    /// How many droplets the account may have: `GET /v2/account` reports it, and a create that
    /// would exceed it is refused with DigitalOcean's 422 ("creating this/these droplet(s) will
    /// exceed your droplet limit"). Default 25, the official description's example.
    pub droplet_limit: u32,
    /// Private images (snapshots) at start; the public base images (`ubuntu-22-04-x64`,
    /// `ubuntu-24-04-x64`, `debian-12-x64`) are always there.
    pub images: Vec<ImageSpec>,
    /// Serve the API over HTTPS with a certificate generated at start, signed by a CA of its
    /// own ([`crate::Sim::ca_pem`]), as official clients that refuse to send a token over
    /// plain HTTP need. Default off.
    pub tls: bool,
    /// The resolution of the Monitoring API's load-balancer metrics: one sample per series per
    /// period, over buckets aligned to unix time (scaled like every DigitalOcean duration, then
    /// rounded to whole seconds and at least 1 s, since samples have whole-second timestamps).
    /// Default 60 s, an assumption: DigitalOcean documents no resolution. The last 1500
    /// periods are kept per load balancer (25 hours at 60 s).
    pub metrics_period: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            droplets: Vec::new(),
            reserved_ips: Vec::new(),
            load_balancers: Vec::new(),
            action_latency: Duration::from_secs(3),
            create_latency: Duration::from_secs(60),
            boot_time: Duration::from_secs(5),
            time_scale: 1.0,
            faults: Faults::default(),
            seed: 1,
            region: "nyc3".into(),
            api_port: 0,
            new_droplet_version: "v1".into(),
            rate_limit: 5000,
            ip_moves: IpMoves::default(),
            droplet_limit: 25,
            images: Vec::new(),
            tls: false,
            metrics_period: Duration::from_secs(60),
        }
    }
}

impl SimConfig {
    /// An empty account.
    pub fn new() -> Self {
        Self::default()
    }

    /// The demo scenario: a blue-green pair (`prod` tagged `PROD` holding a reserved IP,
    /// `fallback` tagged `FALLBACK` on standby) and a fleet of three droplets `web-1..3`
    /// tagged `web` behind a tag-based load balancer `web-lb` (health check `GET /health`
    /// every 3 s, timeout 3 s, unhealthy after 3 failures, healthy after 3 passes). Everyone
    /// runs `v1`.
    pub fn blue_green_and_fleet() -> Self {
        let hc = HealthCheck::http(80, "/health")
            .check_interval_seconds(3)
            .response_timeout_seconds(3)
            .unhealthy_threshold(3)
            .healthy_threshold(3);
        SimConfig::new()
            .droplet(DropletSpec::new("prod").tag("PROD"))
            .droplet(DropletSpec::new("fallback").tag("FALLBACK"))
            .reserved_ip(ReservedIpSpec::held_by("prod"))
            .droplet(DropletSpec::new("web-1").tag("web"))
            .droplet(DropletSpec::new("web-2").tag("web"))
            .droplet(DropletSpec::new("web-3").tag("web"))
            .load_balancer(LbSpec::tagged("web-lb", "web").health_check(hc))
            .action_latency(Duration::from_secs(2))
            .boot_time(Duration::from_secs(3))
    }

    /// The account's droplet limit.
    #[must_use]
    pub fn droplet_limit(mut self, n: u32) -> Self {
        self.droplet_limit = n;
        self
    }

    /// Add a private image (a snapshot).
    #[must_use]
    pub fn image(mut self, image: ImageSpec) -> Self {
        self.images.push(image);
        self
    }

    /// The Monitoring API's metrics period (scaled; see [`SimConfig::metrics_period`]).
    #[must_use]
    pub fn metrics_period(mut self, d: Duration) -> Self {
        self.metrics_period = d;
        self
    }

    /// The metrics period in wall time: scaled, rounded to whole seconds, at least 1 s.
    pub(crate) fn metrics_period_secs(&self) -> u64 {
        (self.scaled(self.metrics_period).as_secs_f64().round() as u64).max(1)
    }

    /// Serve the API over HTTPS (see [`SimConfig::tls`]).
    #[must_use]
    pub fn tls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }

    /// Add a droplet.
    #[must_use]
    pub fn droplet(mut self, d: DropletSpec) -> Self {
        self.droplets.push(d);
        self
    }

    /// Add a reserved IP.
    #[must_use]
    pub fn reserved_ip(mut self, ip: ReservedIpSpec) -> Self {
        self.reserved_ips.push(ip);
        self
    }

    /// Add a load balancer.
    #[must_use]
    pub fn load_balancer(mut self, lb: LbSpec) -> Self {
        self.load_balancers.push(lb);
        self
    }

    /// Action latency (scaled).
    #[must_use]
    pub fn action_latency(mut self, d: Duration) -> Self {
        self.action_latency = d;
        self
    }

    /// Create latency: a new droplet is `active` this long after its create (scaled).
    #[must_use]
    pub fn create_latency(mut self, d: Duration) -> Self {
        self.create_latency = d;
        self
    }

    /// Boot time after a deploy (scaled).
    #[must_use]
    pub fn boot_time(mut self, d: Duration) -> Self {
        self.boot_time = d;
        self
    }

    /// Time scale (clamped to at least 0.0001).
    #[must_use]
    pub fn time_scale(mut self, s: f64) -> Self {
        self.time_scale = s;
        self
    }

    /// Faults at start.
    #[must_use]
    pub fn faults(mut self, f: Faults) -> Self {
        self.faults = f;
        self
    }

    /// Seed for fault draws.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Region slug.
    #[must_use]
    pub fn region(mut self, slug: impl Into<String>) -> Self {
        self.region = slug.into();
        self
    }

    /// API port on 127.0.0.1 (0 = any).
    #[must_use]
    pub fn api_port(mut self, port: u16) -> Self {
        self.api_port = port;
        self
    }

    /// Version of droplets created through the API.
    #[must_use]
    pub fn new_droplet_version(mut self, v: impl Into<String>) -> Self {
        self.new_droplet_version = v.into();
        self
    }

    /// Hourly request quota.
    #[must_use]
    pub fn rate_limit(mut self, per_hour: u64) -> Self {
        self.rate_limit = per_hour;
        self
    }

    /// What a reserved IP's move does to connections.
    #[must_use]
    pub fn ip_moves(mut self, m: IpMoves) -> Self {
        self.ip_moves = m;
        self
    }

    /// `d` in simulator wall time.
    pub fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.time_scale.max(0.0001))
    }
}
