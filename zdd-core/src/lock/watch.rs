//! Judging other runs' locks from what the tag list shows over time, by our own clock.
//!
//! A live holder renews its lock: every `lease / 4` it creates a tag with a fresh time and
//! deletes the previous one ([`super::renew`]). An observer therefore knows a holder is alive
//! once it has seen that run's newest tag change, and knows it is gone once the newest tag has
//! stayed the same for the holder's whole lease, measured on the observer's own monotonic clock
//! from the moment it first saw that tag. Neither judgment compares two machines' clocks; the
//! time written into a tag only serves the `ttl` backstop (and legacy tags without a lease).
//!
//! Pure: the caller lists the tags and passes the times in.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::LockTag;

/// What we know of another run's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Liveness {
    /// Seen renewing while we watched, or a legacy lock (no lease: only the TTL ends it).
    Alive,
    /// Seen, not yet renewed, and its lease not yet over: a holder between renewals, a
    /// competitor about to back off, or a run that died.
    Unconfirmed,
}

/// Another run's lock as judged now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Other {
    /// Its newest tag.
    pub newest: LockTag,
    /// Every tag of that run (a renewal briefly leaves two).
    pub tags: Vec<LockTag>,
    /// What we know.
    pub liveness: Liveness,
}

/// A run whose lock is over: its tags are to be removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stale {
    /// Every tag of that run.
    pub tags: Vec<LockTag>,
    /// Why, for the warning.
    pub why: String,
}

/// The verdict on one look at the tag list.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// Other runs holding or contending.
    pub others: Vec<Other>,
    /// Runs whose lock is over.
    pub stale: Vec<Stale>,
    /// Whether our own run's tag was in the list.
    pub ours_listed: bool,
}

#[derive(Debug, Clone)]
struct Seen {
    newest: String,
    since: Instant,
    renewed: bool,
}

/// What we have seen of other runs, across looks.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    runs: HashMap<String, Seen>,
}

impl Watch {
    /// Judge one look at the lock tags of a scope. `ours` is our run id; `now_unix` our wall
    /// clock (for the TTL), `now` our monotonic clock (for leases).
    pub fn look(
        &mut self,
        tags: &[LockTag],
        ours: &str,
        now_unix: u64,
        now: Instant,
        ttl: Duration,
    ) -> Verdict {
        let mut by_run: HashMap<&str, Vec<&LockTag>> = HashMap::new();
        let mut verdict = Verdict::default();
        for t in tags {
            if t.run_id == ours {
                verdict.ours_listed = true;
            } else {
                by_run.entry(t.run_id.as_str()).or_default().push(t);
            }
        }
        // Runs that left the list are forgotten: if they come back, they are new.
        self.runs.retain(|run, _| by_run.contains_key(run.as_str()));
        let mut runs: Vec<(&str, Vec<&LockTag>)> = by_run.into_iter().collect();
        runs.sort_by(|a, b| a.0.cmp(b.0));
        for (run, mut list) in runs {
            list.sort_by_key(|t| t.since);
            let newest = (*list.last().expect("grouped runs have a tag")).clone();
            let all: Vec<LockTag> = list.iter().map(|t| (*t).clone()).collect();
            let age = newest.age(now_unix);
            if age > ttl {
                verdict.stale.push(Stale {
                    tags: all,
                    why: format!(
                        "its newest tag is {}s old, beyond the {}s TTL",
                        age.as_secs(),
                        ttl.as_secs()
                    ),
                });
                self.runs.remove(run);
                continue;
            }
            // A lease beyond the TTL (a tag of another tool, or garbage) counts as the TTL, so
            // that no tag makes others wait longer than that.
            let Some(lease) = newest.lease.map(|l| l.min(ttl)) else {
                verdict.others.push(Other {
                    newest,
                    tags: all,
                    liveness: Liveness::Alive,
                });
                continue;
            };
            let seen = self.runs.entry(run.to_owned()).or_insert_with(|| Seen {
                newest: newest.tag.clone(),
                since: now,
                renewed: false,
            });
            if seen.newest != newest.tag {
                seen.newest = newest.tag.clone();
                seen.since = now;
                seen.renewed = true;
            }
            let unchanged = now.saturating_duration_since(seen.since);
            if unchanged >= lease {
                verdict.stale.push(Stale {
                    tags: all,
                    why: format!(
                        "its holder stopped renewing it: unchanged for {}s, its lease is {}s",
                        unchanged.as_secs(),
                        lease.as_secs()
                    ),
                });
                self.runs.remove(run);
                continue;
            }
            verdict.others.push(Other {
                newest,
                tags: all,
                liveness: if seen.renewed {
                    Liveness::Alive
                } else {
                    Liveness::Unconfirmed
                },
            });
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(1800);

    fn tag(since: u64, run: &str, lease: Option<u64>) -> LockTag {
        let name = match lease {
            Some(l) => format!("zdd-lock:s:{since}:{run}:{l}"),
            None => format!("zdd-lock:s:{since}:{run}"),
        };
        LockTag::parse("s", &name).unwrap()
    }

    #[test]
    fn a_renewing_holder_is_alive_and_never_stale() {
        let mut w = Watch::default();
        let t0 = Instant::now();
        let v = w.look(&[tag(1000, "a", Some(60))], "me", 1000, t0, TTL);
        assert_eq!(v.others[0].liveness, Liveness::Unconfirmed);
        assert!(v.stale.is_empty() && !v.ours_listed);
        // 15 s later it has renewed (both tags listed for a moment).
        let v = w.look(
            &[tag(1000, "a", Some(60)), tag(1015, "a", Some(60))],
            "me",
            1015,
            t0 + Duration::from_secs(15),
            TTL,
        );
        assert_eq!(v.others[0].liveness, Liveness::Alive);
        assert_eq!(v.others[0].newest.since, 1015);
        assert_eq!(v.others[0].tags.len(), 2);
        // Renewals every 15 s keep it alive well past one lease.
        for k in 2..10u64 {
            let v = w.look(
                &[tag(1000 + 15 * k, "a", Some(60))],
                "me",
                1000 + 15 * k,
                t0 + Duration::from_secs(15 * k),
                TTL,
            );
            assert!(v.stale.is_empty(), "k={k}: {v:?}");
        }
    }

    #[test]
    fn a_holder_that_stops_renewing_is_stale_after_its_own_lease() {
        let mut w = Watch::default();
        let t0 = Instant::now();
        let l = [tag(1000, "a", Some(20))];
        assert!(w.look(&l, "me", 1000, t0, TTL).stale.is_empty());
        let v = w.look(&l, "me", 1019, t0 + Duration::from_secs(19), TTL);
        assert!(v.stale.is_empty());
        assert_eq!(v.others[0].liveness, Liveness::Unconfirmed);
        let v = w.look(&l, "me", 1020, t0 + Duration::from_secs(20), TTL);
        assert_eq!(v.stale.len(), 1, "{v:?}");
        assert!(v.stale[0].why.contains("stopped renewing"), "{v:?}");
        assert!(v.others.is_empty());
    }

    /// The lease is counted from when *we* first saw the tag, not from the time in its name:
    /// a holder whose clock runs behind ours is not judged dead on sight.
    #[test]
    fn the_time_in_the_name_does_not_shorten_the_lease() {
        let mut w = Watch::default();
        let t0 = Instant::now();
        let l = [tag(1000, "a", Some(60))];
        let v = w.look(&l, "me", 1500, t0, TTL);
        assert!(v.stale.is_empty());
        assert_eq!(v.others[0].liveness, Liveness::Unconfirmed);
    }

    #[test]
    fn a_lease_longer_than_the_ttl_counts_as_the_ttl() {
        let mut w = Watch::default();
        let t0 = Instant::now();
        let l = [tag(1000, "a", Some(99_999_999))];
        assert!(w.look(&l, "me", 1000, t0, TTL).stale.is_empty());
        let v = w.look(&l, "me", 1000, t0 + TTL, TTL);
        assert_eq!(v.stale.len(), 1, "{v:?}");
    }

    #[test]
    fn legacy_tags_are_alive_until_the_ttl() {
        let mut w = Watch::default();
        let t0 = Instant::now();
        let v = w.look(&[tag(1000, "old", None)], "me", 1010, t0, TTL);
        assert_eq!(v.others[0].liveness, Liveness::Alive);
        let v = w.look(&[tag(1000, "old", None)], "me", 1000 + 1801, t0, TTL);
        assert_eq!(v.stale.len(), 1);
        assert!(v.stale[0].why.contains("TTL"), "{v:?}");
    }

    #[test]
    fn our_own_tags_are_not_others_and_a_run_that_left_is_forgotten() {
        let mut w = Watch::default();
        let t0 = Instant::now();
        let v = w.look(
            &[tag(1000, "me", Some(60)), tag(1000, "b", Some(60))],
            "me",
            1000,
            t0,
            TTL,
        );
        assert!(v.ours_listed);
        assert_eq!(v.others.len(), 1);
        // b backs off, then claims again much later: judged afresh, not stale at once.
        let v = w.look(&[], "me", 1030, t0 + Duration::from_secs(30), TTL);
        assert!(v.others.is_empty() && v.stale.is_empty());
        let v = w.look(
            &[tag(1000, "b", Some(60))],
            "me",
            1070,
            t0 + Duration::from_secs(70),
            TTL,
        );
        assert!(v.stale.is_empty(), "{v:?}");
        assert_eq!(v.others[0].liveness, Liveness::Unconfirmed);
    }
}
