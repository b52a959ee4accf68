//! Waiting for something to finish: a deadline and a poll schedule that starts short and backs
//! off (the shape of smithy-rs waiters: min delay, max delay, maximum total wait).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::retry::poll_schedule;

/// How long to wait and how often to look. The defaults ([`WaitOptions::default`]): give up
/// after 5 minutes, look at once, then after 0.5 s, the pause growing ×1.5 up to 5 s.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitOptions {
    /// Give up after this long (default 5 minutes).
    pub timeout: Duration,
    /// First pause between two looks (default 0.5 s).
    pub initial_interval: Duration,
    /// Longest pause between two looks (default 5 s).
    pub max_interval: Duration,
    /// Growth of the pause after each look (at least 1.0; default 1.5).
    pub factor: f32,
    /// The earliest the wait can end (an action just started cannot be done at once): the
    /// first look comes then instead of immediately, saving a call that could only say "not
    /// yet". `None` (the default): look at once.
    pub earliest: Option<Duration>,
}

impl Default for WaitOptions {
    /// 5 minutes; polls after 0.5 s, growing ×1.5 up to 5 s.
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::from_secs(300),
            initial_interval: Duration::from_millis(500),
            max_interval: Duration::from_secs(5),
            factor: 1.5,
            earliest: None,
        }
    }
}

impl WaitOptions {
    /// Default schedule with another timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        WaitOptions {
            timeout,
            ..Self::default()
        }
    }

    /// Same timeout, another poll schedule.
    pub fn interval(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_interval = initial;
        self.max_interval = max;
        self
    }

    /// The first look comes after `earliest`, not at once (see [`WaitOptions::earliest`]).
    pub fn earliest(mut self, earliest: Duration) -> Self {
        self.earliest = Some(earliest);
        self
    }
}

/// What one look found.
#[derive(Debug)]
pub(crate) enum Check<R> {
    /// Finished; stop with this value.
    Done(R),
    /// Not yet; the text says what was seen (for the timeout message).
    Pending(String),
    /// Finished badly; stop with this error.
    Failed(Error),
}

/// Look with `step` until it is done, failed, or `opts.timeout` has passed.
pub(crate) async fn until<R, F, Fut>(
    what: impl Into<String>,
    opts: &WaitOptions,
    mut step: F,
) -> Result<R>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Check<R>>>,
{
    let what = what.into();
    let start = Instant::now();
    let deadline = start + opts.timeout;
    let mut schedule = poll_schedule(opts.initial_interval, opts.max_interval, opts.factor);
    let mut last_seen = String::from("nothing yet");
    let timeout = |last_seen: String| Error::Timeout {
        what: what.clone(),
        waited: start.elapsed(),
        last_seen,
    };
    if let Some(first) = opts.earliest {
        tokio::time::sleep_until((start + first).min(deadline)).await;
    }
    loop {
        let check = match tokio::time::timeout_at(deadline, step()).await {
            Ok(check) => check?,
            Err(_) => return Err(timeout(last_seen)),
        };
        match check {
            Check::Done(r) => return Ok(r),
            Check::Failed(e) => return Err(e),
            Check::Pending(seen) => last_seen = seen,
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(timeout(last_seen));
        }
        let pause = schedule.next().unwrap_or(opts.max_interval);
        tokio::time::sleep_until((now + pause).min(deadline)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stops_when_done() {
        let mut n = 0;
        let opts = WaitOptions::with_timeout(Duration::from_secs(5))
            .interval(Duration::from_millis(1), Duration::from_millis(2));
        let r = until("thing", &opts, || {
            n += 1;
            let k = n;
            async move {
                Ok(if k < 3 {
                    Check::Pending(format!("look {k}"))
                } else {
                    Check::Done(k)
                })
            }
        })
        .await
        .unwrap();
        assert_eq!(r, 3);
    }

    #[tokio::test]
    async fn the_first_look_waits_for_the_earliest_end() {
        let opts = WaitOptions::with_timeout(Duration::from_secs(5))
            .interval(Duration::from_millis(100), Duration::from_millis(100))
            .earliest(Duration::from_millis(300));
        let start = Instant::now();
        let mut looks = Vec::new();
        let r = until("thing", &opts, || {
            looks.push(start.elapsed());
            let k = looks.len();
            async move {
                Ok(if k < 2 {
                    Check::Pending("not yet".into())
                } else {
                    Check::Done(k)
                })
            }
        })
        .await
        .unwrap();
        assert_eq!(r, 2);
        // No look at once: the first after 300 ms, the next one interval later.
        assert!(
            looks[0] >= Duration::from_millis(300) && looks[0] < Duration::from_millis(390),
            "{looks:?}"
        );
        assert!(
            looks[1] - looks[0] >= Duration::from_millis(100),
            "{looks:?}"
        );
    }

    #[tokio::test]
    async fn times_out_with_last_seen() {
        let opts = WaitOptions::with_timeout(Duration::from_millis(30))
            .interval(Duration::from_millis(5), Duration::from_millis(5));
        let e = until::<(), _, _>("action 7", &opts, || async {
            Ok(Check::Pending("in-progress".into()))
        })
        .await
        .unwrap_err();
        assert!(e.is_timeout());
        assert!(
            e.to_string().starts_with("action 7 did not finish within"),
            "{e}"
        );
        assert!(e.to_string().contains("last seen: in-progress"), "{e}");
    }
}
