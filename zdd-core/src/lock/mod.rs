//! A deploy lock kept in DigitalOcean itself, with no extra infrastructure.
//!
//! Each attempt creates a tag of its own, `zdd-lock:<scope>:<unix-time>:<run-id>:<lease-secs>`,
//! waits `settle`, and lists the tags under `zdd-lock:<scope>:`. A run proceeds only if its tag
//! is the **only** live one: any other run's tag makes it remove its own and look again later.
//! The order in which tags were named decides nothing, so a create that is answered late (a 429
//! with `Retry-After`, a slow answer) cannot overtake a run that already decided: that run's tag
//! is in the list the late one reads, and the late one backs off. Two runs that see each other
//! both back off and try again after a random pause.
//!
//! Liveness: the holder renews its lock every `lease / 4` (`renew`); another run judges a
//! lock by watching its tags change on its own clock (`watch`) and removes it once it has
//! stayed unchanged for a whole lease (the holder died: a cancelled CI job, a killed runner). A
//! holder that cannot renew for `lease / 2` stops itself before its next change. Tags without a
//! lease (zdd-do before leases) are held until their time is older than the TTL.
//!
//! Sound while a created tag shows in the tag list within `settle` of the create's answer, and
//! while a change the holder started before fencing itself lands within `lease / 2`.
//! DigitalOcean keeps tags that tag nothing, so a lock tag costs nothing and tags no resource.

mod renew;
mod watch;

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use do_api::{Client, LoadBalancerId};
use serde::Serialize;
use tokio::sync::watch as signal;
use tokio::time::Instant;

use crate::events::{Event, EventSink};
use renew::Held;
use watch::{Liveness, Watch};

/// The shortest lease: renewals (every quarter lease) must be at least a second apart, so that
/// each tag carries a new time (tag times are whole seconds) and watchers see it change.
pub const MIN_LEASE: Duration = Duration::from_secs(4);

/// A lock: its scope and settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LockConfig {
    /// What is locked: [`scope_for_ip`] or [`scope_for_lb`].
    pub scope: String,
    /// How it is taken, held and judged.
    #[serde(flatten)]
    pub settings: LockSettings,
}

impl LockConfig {
    /// A lock on `scope` with [`LockSettings::default`].
    pub fn new(scope: String) -> Self {
        LockSettings::default().config(scope)
    }
}

/// How a deploy lock is taken, held and judged; the scope comes from what is deployed
/// (reserved IP, load balancer).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LockSettings {
    /// Lock tags whose time is older than this are removed whatever else is known (a backstop:
    /// it assumes runners' clocks agree within it).
    #[serde(with = "crate::report::secs")]
    pub ttl: Duration,
    /// How long to wait for another run's lock before giving up (zero: give up as soon as the
    /// holder is seen alive).
    #[serde(with = "crate::report::secs")]
    pub wait: Duration,
    /// Pause between two looks while waiting (randomised by ±50% so that two waiting runs do
    /// not keep meeting).
    #[serde(with = "crate::report::secs")]
    pub poll: Duration,
    /// Pause between creating our tag and the list that decides, so that a competitor whose
    /// tag was created before that list is seen. Sound while a tag shows in the list within
    /// this time of its create being answered.
    #[serde(with = "crate::report::secs")]
    pub settle: Duration,
    /// The holder renews every quarter of this; a lock unchanged for a whole lease, as another
    /// run watches it, belongs to a run that is gone and is taken over.
    #[serde(with = "crate::report::secs")]
    pub lease: Duration,
}

impl Default for LockSettings {
    /// A 30-minute TTL, no waiting, 5 s polls, a 2 s settle, a 60 s lease (renewed every 15 s).
    fn default() -> Self {
        LockSettings {
            ttl: Duration::from_secs(1800),
            wait: Duration::ZERO,
            poll: Duration::from_secs(5),
            settle: Duration::from_secs(2),
            lease: Duration::from_secs(60),
        }
    }
}

impl LockSettings {
    /// These settings on `scope`.
    pub fn config(&self, scope: String) -> LockConfig {
        LockConfig {
            scope,
            settings: self.clone(),
        }
    }
}

/// The lock scope of a reserved IP: `ip-203-0-113-7` (tags cannot contain dots).
pub fn scope_for_ip(ip: Ipv4Addr) -> String {
    format!("ip-{}", ip.to_string().replace('.', "-"))
}

/// The lock scope of a load balancer: `lb-<uuid>`.
pub fn scope_for_lb(id: &LoadBalancerId) -> String {
    let clean: String = id
        .as_str()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    format!("lb-{clean}")
}

fn prefix(scope: &str) -> String {
    format!("zdd-lock:{scope}:")
}

fn tag_name(scope: &str, since: u64, run_id: &str, lease: Option<Duration>) -> String {
    match lease {
        Some(l) => format!("{}{since}:{run_id}:{}", prefix(scope), l.as_secs().max(1)),
        None => format!("{}{since}:{run_id}", prefix(scope)),
    }
}

/// One lock tag, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockTag {
    /// The whole tag name.
    pub tag: String,
    /// Unix time it was created, by its run's clock.
    pub since: u64,
    /// The run that created it.
    pub run_id: String,
    /// The lease its run renews it within; `None` for tags of zdd-do before leases.
    #[serde(with = "crate::report::opt_secs")]
    pub lease: Option<Duration>,
}

impl LockTag {
    fn parse(scope: &str, tag: &str) -> Option<LockTag> {
        let rest = tag.strip_prefix(&prefix(scope))?;
        let (since, rest) = rest.split_once(':')?;
        let (run_id, lease) = match rest.split_once(':') {
            Some((run, lease)) => (run, Some(Duration::from_secs(lease.parse().ok()?))),
            None => (rest, None),
        };
        if run_id.is_empty() {
            return None;
        }
        Some(LockTag {
            tag: tag.to_owned(),
            since: since.parse().ok()?,
            run_id: run_id.to_owned(),
            lease,
        })
    }

    fn age(&self, now: u64) -> Duration {
        Duration::from_secs(now.saturating_sub(self.since))
    }
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds it.
    #[error("another deploy holds the lock `{}` (taken {}s ago) and is alive; wait for it, or break it with `zdd-do unlock` if that run is gone", .holder.tag, .age.as_secs())]
    Held {
        /// The holder's newest tag.
        holder: LockTag,
        /// How old that tag is, by our clock.
        age: Duration,
    },
    /// Our own lock tag never showed up in the tag list.
    #[error("the lock tag `{tag}` was created but never appeared in the tag list")]
    NotVisible {
        /// Our tag.
        tag: String,
    },
    /// The API failed.
    #[error("deploy lock")]
    Api(#[source] do_api::Error),
}

/// The lock was lost while held: the run must not start another change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct LockLost {
    /// What happened.
    pub reason: String,
}

/// A held lock, renewed in the background while it lives. Release it with
/// [`DeployLock::release`] on every path; [`DeployLock::check`] before each change.
#[derive(Debug)]
pub struct DeployLock {
    client: Client,
    tag: LockTag,
    lease: Duration,
    held: Arc<Mutex<Held>>,
    stop: signal::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Unix seconds now.
pub(crate) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// A run id unique enough to tell runs apart.
pub fn new_run_id() -> String {
    format!("{:012x}", random_u64() & 0xffff_ffff_ffff)
}

/// `d` scaled by a random factor in [0.5, 1.5).
pub(crate) fn jitter(d: Duration) -> Duration {
    d.mul_f64(0.5 + (random_u64() % 1000) as f64 / 1000.0)
}

/// The lock tags under `scope`, oldest first.
pub async fn list(client: &Client, scope: &str) -> do_api::Result<Vec<LockTag>> {
    let mut locks: Vec<LockTag> = client
        .tags()
        .list()
        .await?
        .into_iter()
        .filter_map(|t| LockTag::parse(scope, &t.name))
        .collect();
    locks.sort_by(|a, b| (a.since, &a.run_id).cmp(&(b.since, &b.run_id)));
    Ok(locks)
}

/// Remove every lock tag under `scope` (`zdd-do unlock`). Returns the tags removed. A live
/// holder finds out at its next renewal and stops before its next change.
pub async fn break_all(client: &Client, scope: &str) -> do_api::Result<Vec<LockTag>> {
    let locks = list(client, scope).await?;
    for l in &locks {
        delete_tag(client, &l.tag).await?;
    }
    Ok(locks)
}

async fn delete_tag(client: &Client, tag: &str) -> do_api::Result<()> {
    match client.tags().delete(tag).await {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

/// Delete every lock tag of run `run_id` under `scope`, for a run interrupted while taking the
/// lock (none left is fine).
pub async fn abandon(client: &Client, scope: &str, run_id: &str) -> do_api::Result<()> {
    for l in list(client, scope).await? {
        if l.run_id == run_id {
            delete_tag(client, &l.tag).await?;
        }
    }
    Ok(())
}

impl DeployLock {
    /// Take the lock, waiting up to `cfg.settings.wait` for another run to finish.
    pub async fn acquire(
        client: &Client,
        cfg: &LockConfig,
        sink: &dyn EventSink,
    ) -> Result<DeployLock, LockError> {
        Self::acquire_as(client, cfg, &new_run_id(), sink).await
    }

    /// Like [`Self::acquire`], as run `run_id` (from [`new_run_id`]), so that a caller
    /// interrupted midway can remove its tags with [`abandon`].
    pub async fn acquire_as(
        client: &Client,
        cfg: &LockConfig,
        run_id: &str,
        sink: &dyn EventSink,
    ) -> Result<DeployLock, LockError> {
        Self::acquire_during(client, cfg, run_id, sink, None::<std::future::Ready<()>>)
            .await
            .map(|(lock, _)| lock)
    }

    /// Like [`Self::acquire_as`], running `during` while the first claim settles, so that
    /// read-only work (observing what the run will change) costs no time of its own.
    ///
    /// `during` runs only when a list read right after our claim shows no other run's tag:
    /// a run holding the lock then could change things while we observe and release before
    /// the list that decides, which would not show it. With no other tag listed, a run could
    /// still have claimed just before us, unseen yet; it decides on a list after its own
    /// settle, which ends before ours, so it changes nothing in our window unless its whole
    /// deploy fits in the moment between the two claims. The output comes back only when
    /// that first claim won the lock; otherwise it is dropped (`None`): observe again.
    pub async fn acquire_during<T>(
        client: &Client,
        cfg: &LockConfig,
        run_id: &str,
        sink: &dyn EventSink,
        during: Option<impl Future<Output = T>>,
    ) -> Result<(DeployLock, Option<T>), LockError> {
        if run_id.is_empty() || run_id.contains(':') {
            return Err(LockError::Api(do_api::Error::InvalidInput(format!(
                "`{run_id}` is not a lock run id"
            ))));
        }
        if cfg.settings.lease < MIN_LEASE {
            return Err(LockError::Api(do_api::Error::InvalidInput(format!(
                "the lock lease is {:?}; it must be at least {}s (renewals a second apart carry new times)",
                cfg.settings.lease,
                MIN_LEASE.as_secs()
            ))));
        }
        do_api::tags::validate_name(&tag_name(
            &cfg.scope,
            now_unix(),
            run_id,
            Some(cfg.settings.lease),
        ))
        .map_err(LockError::Api)?;
        let give_up_at = Instant::now() + cfg.settings.wait;
        let mut watch = Watch::default();
        let mut announced = false;
        let mut unseen = 0;
        let mut during = during;
        let mut first_claim = true;
        loop {
            // Claim: create our tag (creating is idempotent, so a retried create is fine), wait
            // `settle`, and decide on the list read after it.
            let claim = tag_name(&cfg.scope, now_unix(), run_id, Some(cfg.settings.lease));
            let sent = Instant::now();
            client.tags().create(&claim).await.map_err(LockError::Api)?;
            // Only with no other run's tag listed right after our claim (see above).
            let quiet = match &during {
                Some(_) => list(client, &cfg.scope)
                    .await
                    .map_err(LockError::Api)?
                    .iter()
                    .all(|t| t.run_id == run_id),
                None => false,
            };
            let work = during.take().filter(|_| quiet);
            let done = match work {
                Some(work) => {
                    let (_, out) = tokio::join!(tokio::time::sleep(cfg.settings.settle), work);
                    Some(out)
                }
                None => {
                    tokio::time::sleep(cfg.settings.settle).await;
                    None
                }
            };
            let tags = list(client, &cfg.scope).await.map_err(LockError::Api)?;
            let verdict = watch.look(&tags, run_id, now_unix(), Instant::now(), cfg.settings.ttl);
            remove_stale(client, &verdict.stale, sink).await?;
            let won_first = std::mem::replace(&mut first_claim, false);
            if verdict.others.is_empty() {
                if verdict.ours_listed {
                    let out = if won_first { done } else { None };
                    return Ok((Self::held(client, cfg, run_id, claim, sent), out));
                }
                // The list did not show ours yet (eventual consistency): look again.
                delete_tag(client, &claim).await.map_err(LockError::Api)?;
                unseen += 1;
                if unseen > 5 {
                    return Err(LockError::NotVisible { tag: claim });
                }
                tokio::time::sleep(jitter(cfg.settings.poll.min(Duration::from_secs(1)))).await;
                continue;
            }
            // Someone else holds or contends: step back, and watch until the others are gone
            // (claim again), or known alive past our wait (give up).
            delete_tag(client, &claim).await.map_err(LockError::Api)?;
            let mut others = verdict.others;
            loop {
                if let Some(holder) = alive_holder(&others)
                    && Instant::now() + cfg.settings.poll > give_up_at
                {
                    let age = holder.age(now_unix());
                    return Err(LockError::Held { holder, age });
                }
                if !announced {
                    sink.emit(Event::Note {
                        message: format!(
                            "waiting for the deploy lock held by `{}`",
                            others[0].newest.tag
                        ),
                    });
                    announced = true;
                }
                tokio::time::sleep(jitter(cfg.settings.poll)).await;
                let tags = list(client, &cfg.scope).await.map_err(LockError::Api)?;
                let verdict =
                    watch.look(&tags, run_id, now_unix(), Instant::now(), cfg.settings.ttl);
                remove_stale(client, &verdict.stale, sink).await?;
                if verdict.others.is_empty() {
                    break;
                }
                others = verdict.others;
            }
        }
    }

    fn held(client: &Client, cfg: &LockConfig, run_id: &str, claim: String, sent: Instant) -> Self {
        let tag = LockTag::parse(&cfg.scope, &claim).expect("our own tag parses");
        let held = Arc::new(Mutex::new(Held::new(claim, sent)));
        let (stop, stopped) = signal::channel(false);
        let task = tokio::spawn(renew::run(
            client.clone(),
            cfg.scope.clone(),
            run_id.to_owned(),
            cfg.settings.lease,
            held.clone(),
            stopped,
        ));
        DeployLock {
            client: client.clone(),
            tag,
            lease: cfg.settings.lease,
            held,
            stop,
            task,
        }
    }

    /// The lock's first tag (renewals add newer ones with the same run id).
    pub fn tag(&self) -> &str {
        &self.tag.tag
    }

    /// The run id its tags carry.
    pub fn run_id(&self) -> &str {
        &self.tag.run_id
    }

    /// `Err` once the lock can no longer be trusted (renewals failing for half the lease, or
    /// our tag removed by someone else): the run must not start another change.
    pub fn check(&self) -> Result<(), LockLost> {
        let h = self.held.lock().unwrap_or_else(|p| p.into_inner());
        match h.lost(self.lease, Instant::now()) {
            Some(reason) => Err(LockLost { reason }),
            None => Ok(()),
        }
    }

    /// Warnings from renewals that failed and were retried, drained.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut self.held.lock().unwrap_or_else(|p| p.into_inner()).warnings)
    }

    /// Release the lock: stop renewing (a renewal under way finishes first, so that no tag is
    /// left behind), then delete our tags (already gone is fine).
    pub async fn release(self) -> do_api::Result<()> {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        renew::remove_all(&self.client, &self.held).await
    }
}

/// The newest tag of an other run known to be alive, if every other run is known alive.
fn alive_holder(others: &[watch::Other]) -> Option<LockTag> {
    if others.iter().all(|o| o.liveness == Liveness::Alive) {
        others.first().map(|o| o.newest.clone())
    } else {
        None
    }
}

async fn remove_stale(
    client: &Client,
    stale: &[watch::Stale],
    sink: &dyn EventSink,
) -> Result<(), LockError> {
    for s in stale {
        let names: Vec<&str> = s.tags.iter().map(|t| t.tag.as_str()).collect();
        sink.emit(Event::Warning {
            message: format!(
                "taking over the deploy lock `{}`: {}",
                names.join("`, `"),
                s.why
            ),
        });
        for t in &s.tags {
            delete_tag(client, &t.tag).await.map_err(LockError::Api)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_valid_tag_names() {
        let ip = scope_for_ip("203.0.113.7".parse().unwrap());
        assert_eq!(ip, "ip-203-0-113-7");
        let tag = tag_name(
            &ip,
            1700000000,
            &new_run_id(),
            Some(Duration::from_secs(60)),
        );
        do_api::tags::validate_name(&tag).unwrap();
        assert!(tag.ends_with(":60"), "{tag}");
        let lb = scope_for_lb(&"4de7ac8b-495b-4884-9a69-1050c6793cd6".into());
        do_api::tags::validate_name(&format!("{}1700000000:abc", prefix(&lb))).unwrap();
    }

    #[test]
    fn parse_lock_tags() {
        let l = LockTag::parse("ip-1-2-3-4", "zdd-lock:ip-1-2-3-4:1700000000:abc").unwrap();
        assert_eq!((l.since, l.run_id.as_str()), (1700000000, "abc"));
        assert!(LockTag::parse("ip-1-2-3-4", "zdd-lock:ip-1-2-3-40:1700000000:abc").is_none());
        assert!(LockTag::parse("ip-1-2-3-4", "zdd-lock:ip-1-2-3-4:soon:abc").is_none());
        assert_eq!(l.age(1700000060), Duration::from_secs(60));
        assert_eq!(l.lease, None);
        let l = LockTag::parse("ip-1-2-3-4", "zdd-lock:ip-1-2-3-4:1700000000:abc:60").unwrap();
        assert_eq!(
            (l.run_id.as_str(), l.lease),
            ("abc", Some(Duration::from_secs(60)))
        );
        assert!(LockTag::parse("ip-1-2-3-4", "zdd-lock:ip-1-2-3-4:1700000000:abc:x").is_none());
    }

    #[test]
    fn run_ids_differ() {
        assert_ne!(new_run_id(), new_run_id());
    }
}
