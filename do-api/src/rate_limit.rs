//! The `ratelimit-limit`, `ratelimit-remaining` and `ratelimit-reset` headers DigitalOcean sends
//! on every answer (`shared/headers.yml` in the official spec), and `Retry-After`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;

/// The rate-limit state DigitalOcean reported on one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Requests allowed per hour (`ratelimit-limit`).
    pub limit: u64,
    /// Requests left in the hourly quota (`ratelimit-remaining`).
    pub remaining: u64,
    /// Unix time at which the oldest counted request expires (`ratelimit-reset`).
    pub reset: u64,
}

impl RateLimit {
    /// Read the three headers; `None` unless all three are present and numeric.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let num =
            |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        Some(RateLimit {
            limit: num("ratelimit-limit")?,
            remaining: num("ratelimit-remaining")?,
            reset: num("ratelimit-reset")?,
        })
    }

    /// How long until `reset`, from now (zero if it is in the past).
    pub fn until_reset(&self) -> Duration {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        Duration::from_secs(self.reset.saturating_sub(now))
    }
}

/// `Retry-After` as delta-seconds (DigitalOcean sends seconds; an HTTP-date is ignored).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn parses_headers() {
        let mut h = HeaderMap::new();
        h.insert("ratelimit-limit", HeaderValue::from_static("5000"));
        h.insert("ratelimit-remaining", HeaderValue::from_static("4816"));
        h.insert("ratelimit-reset", HeaderValue::from_static("1444931833"));
        h.insert("retry-after", HeaderValue::from_static("3"));
        let rl = RateLimit::from_headers(&h).unwrap();
        assert_eq!((rl.limit, rl.remaining, rl.reset), (5000, 4816, 1444931833));
        assert_eq!(rl.until_reset(), Duration::ZERO);
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.remove("ratelimit-reset");
        assert_eq!(RateLimit::from_headers(&h), None);
    }
}
