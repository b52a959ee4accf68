//! Retry policy. Our own type in the public API; backon computes the jittered exponential
//! schedule underneath and stays an implementation detail.
//!
//! What is retried (decided in `client.rs`):
//! - 429 and connection failures (the request never reached DigitalOcean) on every method;
//! - 5xx and timeouts only where repeating cannot duplicate work (GET, PUT, DELETE, and actions
//!   that are idempotent by nature); never a droplet create.
//!
//! The wait before a retry is `Retry-After` if the answer had one, else the time until
//! `ratelimit-reset` when the quota is exhausted, both capped by [`RetryPolicy::max_server_wait`];
//! otherwise the next jittered exponential delay.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// How the client retries failed requests.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    max_retries: usize,
    min_delay: Duration,
    max_delay: Duration,
    max_server_wait: Duration,
    jitter: bool,
}

impl Default for RetryPolicy {
    /// 4 retries, 500 ms doubling up to 10 s with jitter, server hints honoured up to 60 s.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
            max_server_wait: Duration::from_secs(60),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// How many times a request may be repeated after the first attempt.
    pub fn with_max_retries(mut self, n: usize) -> Self {
        self.max_retries = n;
        self
    }

    /// First backoff delay (doubled on each retry).
    pub fn with_min_delay(mut self, d: Duration) -> Self {
        self.min_delay = d;
        self
    }

    /// Longest backoff delay.
    pub fn with_max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// Longest wait the client accepts from `Retry-After` or `ratelimit-reset`.
    pub fn with_max_server_wait(mut self, d: Duration) -> Self {
        self.max_server_wait = d;
        self
    }

    /// Turn jitter on or off (on by default; off makes delays predictable in tests).
    pub fn with_jitter(mut self, on: bool) -> Self {
        self.jitter = on;
        self
    }

    /// Retries after the first attempt.
    pub fn max_retries(&self) -> usize {
        self.max_retries
    }

    /// The cap on server-requested waits.
    pub fn max_server_wait(&self) -> Duration {
        self.max_server_wait
    }

    pub(crate) fn backoff(&self) -> ExponentialBuilder {
        let b = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_max_times(self.max_retries);
        if self.jitter { b.with_jitter() } else { b }
    }

    /// The delays backon would use, for display and tests.
    pub fn schedule(&self) -> Vec<Duration> {
        self.backoff().build().collect()
    }
}

/// A poll schedule for waiters: starts at `initial`, multiplies by `factor`, never above `max`.
/// Built on backon's exponential backoff without a retry limit; the waiter's deadline ends it.
pub(crate) fn poll_schedule(
    initial: Duration,
    max: Duration,
    factor: f32,
) -> impl Iterator<Item = Duration> + Send {
    ExponentialBuilder::default()
        .with_min_delay(initial)
        .with_max_delay(max.max(initial))
        .with_factor(factor.max(1.0))
        .without_max_times()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_without_jitter_doubles_and_caps() {
        let p = RetryPolicy::default()
            .with_jitter(false)
            .with_max_retries(5)
            .with_min_delay(Duration::from_secs(1))
            .with_max_delay(Duration::from_secs(5));
        let secs: Vec<u64> = p.schedule().iter().map(|d| d.as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 5, 5]);
        assert!(RetryPolicy::none().schedule().is_empty());
    }

    #[test]
    fn poll_schedule_backs_off_to_max() {
        let d: Vec<u128> =
            poll_schedule(Duration::from_millis(100), Duration::from_millis(500), 2.0)
                .take(5)
                .map(|d| d.as_millis())
                .collect();
        assert_eq!(d, vec![100, 200, 400, 500, 500]);
    }
}
