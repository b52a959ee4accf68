//! The holder's side of the lease: while a run holds the lock, a background task renews it
//! every `lease / 4` by creating a tag with a fresh time and then deleting the previous one, so
//! that other runs see it change ([`super::watch`]).
//!
//! The holder fences itself: if no renewal has succeeded for `lease / 2` (counted from when the
//! last successful renewal was *sent*), or one of its tags was removed by someone else, the lock
//! is lost and [`super::DeployLock::check`] says so before the next change. An observer takes
//! over only after seeing the newest tag unchanged for a whole lease, which starts no earlier
//! than that tag's creation, so a holder has stopped itself for at least `lease / 2` before
//! anyone else can start (requests already sent then must land within that margin).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use do_api::Client;
use tokio::sync::watch;
use tokio::time::Instant;

use super::delete_tag;

/// Shared between the holder and its renewal task.
#[derive(Debug)]
pub(crate) struct Held {
    /// Our tags that exist, oldest first.
    pub tags: Vec<String>,
    /// When the last successful create (the claim or a renewal) was sent.
    pub last_ok: Instant,
    /// Why the lock is lost, once it is.
    pub lost: Option<String>,
    /// Renewals that failed and were retried, for the run's report.
    pub warnings: Vec<String>,
}

impl Held {
    pub fn new(claim: String, sent: Instant) -> Self {
        Held {
            tags: vec![claim],
            last_ok: sent,
            lost: None,
            warnings: Vec::new(),
        }
    }

    /// `Some(reason)` once the lock can no longer be trusted.
    pub fn lost(&self, lease: Duration, now: Instant) -> Option<String> {
        if let Some(why) = &self.lost {
            return Some(why.clone());
        }
        let since = now.saturating_duration_since(self.last_ok);
        (since >= lease / 2).then(|| {
            format!(
                "the deploy lock could not be renewed for {}s (half its {}s lease)",
                since.as_secs(),
                lease.as_secs()
            )
        })
    }
}

/// Renew until `stop` says so. Never gives up by itself: after the lock is lost it keeps its
/// tags (the holder still releases them), and stops renewing.
pub(crate) async fn run(
    client: Client,
    scope: String,
    run_id: String,
    lease: Duration,
    held: Arc<Mutex<Held>>,
    mut stop: watch::Receiver<bool>,
) {
    let every = lease / 4;
    let retry = (lease / 20).max(Duration::from_millis(50));
    let mut next = every;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(next) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        if lock(&held).lost.is_some() {
            return;
        }
        let sent = Instant::now();
        let tag = super::tag_name(&scope, super::now_unix(), &run_id, Some(lease));
        let previous = lock(&held).tags.clone();
        match client.tags().create(&tag).await {
            Ok(_) => {
                let mut h = lock(&held);
                if !h.tags.contains(&tag) {
                    h.tags.push(tag.clone());
                }
                h.last_ok = sent;
                next = every;
            }
            Err(e) => {
                lock(&held)
                    .warnings
                    .push(format!("renewing the deploy lock failed: {}", e.chain()));
                next = retry;
                continue;
            }
        }
        for old in previous.iter().filter(|t| **t != tag) {
            match client.tags().delete(old).await {
                Ok(()) => lock(&held).tags.retain(|t| t != old),
                Err(e) if e.is_not_found() => {
                    let mut h = lock(&held);
                    h.tags.retain(|t| t != old);
                    h.lost = Some(format!(
                        "the deploy lock tag `{old}` was removed by someone else (`zdd-do unlock`, or a run that judged this one gone)"
                    ));
                }
                // Left for the next round, or the release.
                Err(e) => lock(&held).warnings.push(format!(
                    "removing the previous lock tag `{old}` failed: {}",
                    e.chain()
                )),
            }
        }
    }
}

fn lock(held: &Mutex<Held>) -> std::sync::MutexGuard<'_, Held> {
    held.lock().unwrap_or_else(|p| p.into_inner())
}

/// Delete every tag the holder still has (release).
pub(crate) async fn remove_all(client: &Client, held: &Mutex<Held>) -> do_api::Result<()> {
    let tags = lock(held).tags.clone();
    let mut first_err = None;
    for t in tags {
        match delete_tag(client, &t).await {
            Ok(()) => lock(held).tags.retain(|x| *x != t),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    first_err.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_after_half_the_lease_without_a_renewal() {
        let t0 = Instant::now();
        let h = Held::new("t".into(), t0);
        let lease = Duration::from_secs(60);
        assert_eq!(h.lost(lease, t0 + Duration::from_secs(29)), None);
        let why = h.lost(lease, t0 + Duration::from_secs(30)).unwrap();
        assert!(why.contains("could not be renewed for 30s"), "{why}");
    }

    #[test]
    fn lost_when_marked() {
        let t0 = Instant::now();
        let mut h = Held::new("t".into(), t0);
        h.lost = Some("removed".into());
        assert_eq!(
            h.lost(Duration::from_secs(60), t0).as_deref(),
            Some("removed")
        );
    }
}
