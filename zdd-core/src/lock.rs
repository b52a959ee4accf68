//! A deploy lock kept in DigitalOcean itself, with no extra infrastructure.
//!
//! Each run creates a tag of its own, `zdd-lock:<scope>:<unix-time>:<run-id>`, lists the tags
//! under `zdd-lock:<scope>:`, and proceeds only if its own is the oldest live one (time, then
//! run id, breaks ties). The others delete theirs and wait, or give up. Tags older than the TTL
//! belong to crashed runs: they are removed. DigitalOcean keeps tags that tag nothing, so a lock
//! tag costs nothing and tags no resource.

use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use do_api::{Client, LoadBalancerId};
use serde::Serialize;
use tokio::time::Instant;

use crate::events::{Event, EventSink};

/// Lock settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LockConfig {
    /// What is locked: [`scope_for_ip`] or [`scope_for_lb`].
    pub scope: String,
    /// Locks older than this are stale (a crashed run) and removed.
    #[serde(with = "crate::report::secs")]
    pub ttl: Duration,
    /// How long to wait for another run's lock before giving up (zero: give up at once).
    #[serde(with = "crate::report::secs")]
    pub wait: Duration,
    /// Pause between two looks while waiting.
    #[serde(with = "crate::report::secs")]
    pub poll: Duration,
    /// Pause between creating our tag and the list that decides, so that a competitor whose
    /// tag was created at the same moment is seen. Sound while a tag shows in the list within
    /// this time of its name being chosen (API latency, retries included).
    #[serde(with = "crate::report::secs")]
    pub settle: Duration,
}

impl LockConfig {
    /// A lock on `scope` with a 30-minute TTL, no waiting, 5 s polls, a 2 s settle.
    pub fn new(scope: String) -> Self {
        LockConfig {
            scope,
            ttl: Duration::from_secs(1800),
            wait: Duration::ZERO,
            poll: Duration::from_secs(5),
            settle: Duration::from_secs(2),
        }
    }
}

/// Lock settings for a strategy; the scope comes from what is deployed (reserved IP, load
/// balancer).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LockSettings {
    /// Locks older than this are stale.
    #[serde(with = "crate::report::secs")]
    pub ttl: Duration,
    /// How long to wait for another run.
    #[serde(with = "crate::report::secs")]
    pub wait: Duration,
    /// Pause between looks while waiting.
    #[serde(with = "crate::report::secs")]
    pub poll: Duration,
    /// See [`LockConfig::settle`].
    #[serde(with = "crate::report::secs")]
    pub settle: Duration,
}

impl Default for LockSettings {
    fn default() -> Self {
        let d = LockConfig::new(String::new());
        LockSettings {
            ttl: d.ttl,
            wait: d.wait,
            poll: d.poll,
            settle: d.settle,
        }
    }
}

impl LockSettings {
    /// These settings on `scope`.
    pub fn config(&self, scope: String) -> LockConfig {
        LockConfig {
            scope,
            ttl: self.ttl,
            wait: self.wait,
            poll: self.poll,
            settle: self.settle,
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

/// One lock tag, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockTag {
    /// The whole tag name.
    pub tag: String,
    /// Unix time it was taken.
    pub since: u64,
    /// The run that took it.
    pub run_id: String,
}

impl LockTag {
    fn parse(scope: &str, tag: &str) -> Option<LockTag> {
        let rest = tag.strip_prefix(&prefix(scope))?;
        let (since, run_id) = rest.split_once(':')?;
        Some(LockTag {
            tag: tag.to_owned(),
            since: since.parse().ok()?,
            run_id: run_id.to_owned(),
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
    #[error("another deploy holds the lock `{}` (taken {}s ago); wait for it, or break it with `zdd-do unlock` if that run is gone", .holder.tag, .age.as_secs())]
    Held {
        /// The holder's tag.
        holder: LockTag,
        /// How long it has been held.
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

/// A held lock. Release it with [`DeployLock::release`] on every path.
#[derive(Debug)]
pub struct DeployLock {
    client: Client,
    tag: LockTag,
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// A run id unique enough to break ties between runs started in the same second.
pub fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
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

/// Remove every lock tag under `scope` (`zdd-do unlock`). Returns the tags removed.
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

/// A new lock tag name for `scope`: `zdd-lock:<scope>:<unix-time>:<run-id>`.
pub fn new_tag(scope: &str) -> String {
    format!("{}{}:{}", prefix(scope), now_unix(), new_run_id())
}

/// Delete a lock tag, for a run interrupted while taking the lock (already gone is fine).
pub async fn abandon(client: &Client, tag: &str) -> do_api::Result<()> {
    delete_tag(client, tag).await
}

impl DeployLock {
    /// Take the lock, waiting up to `cfg.wait` for another run to finish.
    pub async fn acquire(
        client: &Client,
        cfg: &LockConfig,
        sink: &dyn EventSink,
    ) -> Result<DeployLock, LockError> {
        Self::acquire_as(client, cfg, &new_tag(&cfg.scope), sink).await
    }

    /// Like [`Self::acquire`], with a tag from [`new_tag`] chosen by the caller, so that a
    /// caller interrupted midway can remove it with [`abandon`].
    pub async fn acquire_as(
        client: &Client,
        cfg: &LockConfig,
        tag: &str,
        sink: &dyn EventSink,
    ) -> Result<DeployLock, LockError> {
        let ours = LockTag::parse(&cfg.scope, tag).ok_or_else(|| {
            LockError::Api(do_api::Error::InvalidInput(format!(
                "`{tag}` is not a lock tag of scope `{}`",
                cfg.scope
            )))
        })?;
        do_api::validate::tag_name(&ours.tag).map_err(LockError::Api)?;
        let give_up_at = Instant::now() + cfg.wait;
        let mut announced = false;
        let mut unseen = 0;
        loop {
            // Create (again, after backing off: creating is idempotent) and wait `settle` before
            // the one list that decides: a competitor that created its tag at the same moment
            // shows by then.
            client
                .tags()
                .create(&ours.tag)
                .await
                .map_err(LockError::Api)?;
            tokio::time::sleep(cfg.settle).await;
            let now = now_unix();
            let mut live = Vec::new();
            for l in list(client, &cfg.scope).await.map_err(LockError::Api)? {
                if l.tag != ours.tag && l.age(now) > cfg.ttl {
                    sink.emit(Event::Warning {
                        message: format!(
                            "removing stale deploy lock `{}` ({}s old)",
                            l.tag,
                            l.age(now).as_secs()
                        ),
                    });
                    delete_tag(client, &l.tag).await.map_err(LockError::Api)?;
                } else {
                    live.push(l);
                }
            }
            let oldest = live.first().cloned();
            match oldest {
                Some(first) if first.tag != ours.tag => {
                    delete_tag(client, &ours.tag)
                        .await
                        .map_err(LockError::Api)?;
                    let age = first.age(now);
                    if Instant::now() + cfg.poll > give_up_at {
                        return Err(LockError::Held { holder: first, age });
                    }
                    if !announced {
                        sink.emit(Event::Note {
                            message: format!("waiting for the deploy lock held by `{}`", first.tag),
                        });
                        announced = true;
                    }
                    tokio::time::sleep(cfg.poll).await;
                }
                Some(_) => {
                    return Ok(DeployLock {
                        client: client.clone(),
                        tag: ours,
                    });
                }
                // The list did not show ours yet (eventual consistency): look again.
                None if unseen < 5 => {
                    unseen += 1;
                    tokio::time::sleep(cfg.poll.min(Duration::from_secs(1))).await;
                }
                None => return Err(LockError::NotVisible { tag: ours.tag }),
            }
        }
    }

    /// The lock's tag.
    pub fn tag(&self) -> &str {
        &self.tag.tag
    }

    /// Release the lock (delete our tag; already gone is fine).
    pub async fn release(self) -> do_api::Result<()> {
        delete_tag(&self.client, &self.tag.tag).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_valid_tag_names() {
        let ip = scope_for_ip("203.0.113.7".parse().unwrap());
        assert_eq!(ip, "ip-203-0-113-7");
        let tag = format!("{}1700000000:{}", prefix(&ip), new_run_id());
        do_api::validate::tag_name(&tag).unwrap();
        let lb = scope_for_lb(&"4de7ac8b-495b-4884-9a69-1050c6793cd6".into());
        do_api::validate::tag_name(&format!("{}1700000000:abc", prefix(&lb))).unwrap();
    }

    #[test]
    fn parse_lock_tags() {
        let l = LockTag::parse("ip-1-2-3-4", "zdd-lock:ip-1-2-3-4:1700000000:abc").unwrap();
        assert_eq!((l.since, l.run_id.as_str()), (1700000000, "abc"));
        assert!(LockTag::parse("ip-1-2-3-4", "zdd-lock:ip-1-2-3-40:1700000000:abc").is_none());
        assert!(LockTag::parse("ip-1-2-3-4", "zdd-lock:ip-1-2-3-4:soon:abc").is_none());
        assert_eq!(l.age(1700000060), Duration::from_secs(60));
    }

    #[test]
    fn run_ids_differ() {
        assert_ne!(new_run_id(), new_run_id());
    }
}
