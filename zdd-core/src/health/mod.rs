//! Health checking a droplet directly, or through a reserved IP or load balancer. Where to probe
//! ([`HealthTarget`]: scheme, port, path, address; parts may come from the load balancer) is
//! kept apart from how to judge ([`HealthPolicy`]: status range, body substring, per-request
//! timeout, consecutive successes, deadline); a [`HealthGate`] is both. It says why it failed.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::events::{Event, EventSink};

mod target;

pub use target::{Endpoint, HealthGate, HealthTarget, TargetError};

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTPS (certificates are checked unless `insecure_tls`).
    Https,
}

impl Scheme {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// Which of a droplet's addresses to probe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressKind {
    /// The public IPv4.
    #[default]
    Public,
    /// The private (VPC) IPv4: for runners inside the VPC.
    Private,
}

/// How to decide that something is healthy: status range, body, per-probe timeout,
/// consecutive successes, pause between probes, deadline. Where to probe is a
/// [`HealthTarget`]; the two together are a [`HealthGate`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthPolicy {
    /// Lowest passing status.
    pub status_min: u16,
    /// Highest passing status.
    pub status_max: u16,
    /// A substring the body must contain.
    pub expect_body: Option<String>,
    /// Timeout of one probe.
    #[serde(with = "crate::serde_time::secs")]
    pub request_timeout: Duration,
    /// Passing probes in a row needed.
    pub successes: u32,
    /// Pause between probes.
    #[serde(with = "crate::serde_time::secs")]
    pub interval: Duration,
    /// Give up after this long.
    #[serde(with = "crate::serde_time::secs")]
    pub deadline: Duration,
    /// Accept any TLS certificate (droplets are probed by IP, which certificates rarely name).
    pub insecure_tls: bool,
}

impl Default for HealthPolicy {
    /// 200-399, 2 s per probe, 3 in a row, every 1 s, within 60 s.
    fn default() -> Self {
        HealthPolicy {
            status_min: 200,
            status_max: 399,
            expect_body: None,
            request_timeout: Duration::from_secs(2),
            successes: 3,
            interval: Duration::from_secs(1),
            deadline: Duration::from_secs(60),
            insecure_tls: false,
        }
    }
}

/// A setting of a [`HealthPolicy`], as named by [`InvalidHealthPolicy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HealthField {
    /// `status_min` and `status_max`.
    StatusRange,
    /// `successes`.
    Successes,
    /// `request_timeout`.
    RequestTimeout,
    /// `interval`.
    Interval,
    /// `deadline`.
    Deadline,
    /// `expect_body`.
    ExpectBody,
}

/// Why a [`HealthPolicy`] is refused: the settings involved (the first is the one to change)
/// and what is wrong with them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidHealthPolicy {
    /// The settings involved.
    pub fields: Vec<HealthField>,
    /// What is wrong, naming the settings (never a flag).
    pub message: String,
}

/// `500ms`, `2s`, `1.5s`, `2m`.
fn show(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

/// Why one probe failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ProbeFailure {
    /// Answered with a status outside the range.
    Status {
        /// The status.
        status: u16,
    },
    /// Answered in range, but without the expected text.
    BodyMismatch {
        /// The text looked for.
        expected: String,
        /// The start of the body.
        got: String,
    },
    /// No answer within the per-request timeout.
    Timeout,
    /// The connection was refused or failed.
    Connect {
        /// Details.
        detail: String,
    },
    /// Anything else (TLS, protocol).
    Other {
        /// Details.
        detail: String,
    },
}

impl fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeFailure::Status { status } => write!(f, "status {status}"),
            ProbeFailure::BodyMismatch { expected, got } => {
                write!(f, "body does not contain `{expected}` (got `{got}`)")
            }
            ProbeFailure::Timeout => f.write_str("timed out"),
            ProbeFailure::Connect { detail } => write!(f, "connection failed: {detail}"),
            ProbeFailure::Other { detail } => f.write_str(detail),
        }
    }
}

/// Which answers end a health check at once instead of being retried until its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailFast {
    /// None: every failure is retried.
    Never,
    /// An answer whose status is outside the range: something answered, and said no. For
    /// verifying through a reserved IP after a switch, where every second spent on a broken
    /// release is served to users.
    OnStatus,
    /// An answer a load balancer would take as healthy (status below 400) that fails this
    /// policy (its status is outside the range, or its body lacks the expected text): for a
    /// droplet already back in a load balancer, which could start routing to it.
    OnAcceptedAnswer,
}

/// The result of a passed health check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    /// The URL probed.
    pub url: String,
    /// Probes sent.
    pub attempts: u32,
    /// Time to the first passing probe.
    #[serde(with = "crate::serde_time::secs")]
    pub first_success_after: Duration,
    /// Time to the last probe needed.
    #[serde(with = "crate::serde_time::secs")]
    pub duration: Duration,
}

/// A failed health check.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error("{url} was not healthy within {}s after {attempts} probes (last: {last})", .duration.as_secs_f64().round())]
pub struct HealthFailure {
    /// The URL probed.
    pub url: String,
    /// Probes sent.
    pub attempts: u32,
    /// The last probe's failure.
    pub last: ProbeFailure,
    /// Time spent.
    #[serde(with = "crate::serde_time::secs")]
    pub duration: Duration,
}

impl HealthPolicy {
    /// Check that the settings make sense; the message names the bad setting.
    pub fn validate(&self) -> Result<(), String> {
        self.check().map_err(|e| e.message)
    }

    /// [`HealthPolicy::validate`], saying which settings are involved, so that a caller can
    /// name them in its own terms (a CLI names its flags).
    pub fn check(&self) -> Result<(), InvalidHealthPolicy> {
        use HealthField as F;
        let bad = |fields: &[HealthField], message: String| {
            Err(InvalidHealthPolicy {
                fields: fields.to_vec(),
                message,
            })
        };
        if self.status_min > self.status_max || self.status_min < 100 || self.status_max > 599 {
            return bad(
                &[F::StatusRange],
                format!(
                    "health status range {}-{} is not a range of HTTP statuses (e.g. 200-399)",
                    self.status_min, self.status_max
                ),
            );
        }
        if self.successes == 0 {
            return bad(
                &[F::Successes],
                "health successes must be at least 1".into(),
            );
        }
        if self.request_timeout.is_zero() {
            return bad(
                &[F::RequestTimeout],
                "health request timeout must be more than 0".into(),
            );
        }
        if self.interval.is_zero() {
            // Probes back to back: hundreds a second against a droplet that may be struggling.
            return bad(
                &[F::Interval],
                "health interval must be more than 0 (a pause of 0 sends probes back to back)"
                    .into(),
            );
        }
        if self.deadline.is_zero() {
            return bad(
                &[F::Deadline],
                "health deadline must be more than 0 (no probe would be judged)".into(),
            );
        }
        if self.deadline < self.request_timeout {
            return bad(
                &[F::Deadline, F::RequestTimeout],
                format!(
                    "health deadline {} is shorter than the health request timeout {}: not even one probe fits",
                    show(self.deadline),
                    show(self.request_timeout)
                ),
            );
        }
        // `successes` passing probes `interval` apart: the first and the last are
        // (successes - 1) intervals apart, and the last must be sent before the deadline.
        let spread = self.interval.checked_mul(self.successes - 1);
        if spread.is_none_or(|s| s >= self.deadline) {
            return bad(
                &[F::Deadline, F::Successes, F::Interval],
                format!(
                    "health deadline {} cannot fit {} passing probes {} apart",
                    show(self.deadline),
                    self.successes,
                    show(self.interval)
                ),
            );
        }
        if self.expect_body.as_deref() == Some("") {
            return bad(
                &[F::ExpectBody],
                "expected body text is empty; leave it out instead".into(),
            );
        }
        Ok(())
    }

    pub(crate) fn http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(self.request_timeout)
            .connect_timeout(self.request_timeout)
            // A fresh connection per probe: a kept-alive one could still lead to the droplet the
            // reserved IP pointed at before.
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none())
            .danger_accept_invalid_certs(self.insecure_tls)
            .user_agent(concat!("zdd-do-health/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("static reqwest configuration")
    }

    /// One probe of `url`.
    pub async fn probe(&self, url: &str) -> Result<u16, ProbeFailure> {
        probe_with(&self.http(), self, url).await
    }

    /// Probe `url` until `successes` probes in a row pass, or fail at the deadline.
    pub async fn wait_url(
        &self,
        url: &str,
        sink: &dyn EventSink,
    ) -> Result<HealthReport, HealthFailure> {
        self.wait_url_within(url, sink, self.deadline, FailFast::Never)
            .await
    }

    /// Like [`Self::wait_url`], with its own `deadline`, failing at once on the answers
    /// `fail_fast` names (refused connections and timeouts are always retried until the
    /// deadline).
    pub async fn wait_url_within(
        &self,
        url: &str,
        sink: &dyn EventSink,
        deadline: Duration,
        fail_fast: FailFast,
    ) -> Result<HealthReport, HealthFailure> {
        let http = self.http();
        let start = Instant::now();
        let deadline = start + deadline;
        let mut attempts = 0;
        let mut consecutive = 0;
        let mut first_success = None;
        loop {
            attempts += 1;
            let result = match tokio::time::timeout_at(
                deadline.max(Instant::now() + self.request_timeout),
                probe_with(&http, self, url),
            )
            .await
            {
                Ok(r) => r,
                Err(_) => Err(ProbeFailure::Timeout),
            };
            let (ok, detail) = match &result {
                Ok(status) => (true, format!("status {status}")),
                Err(f) => (false, f.to_string()),
            };
            if ok {
                consecutive += 1;
                first_success.get_or_insert_with(|| start.elapsed());
            } else {
                consecutive = 0;
            }
            sink.emit(Event::HealthAttempt {
                url: url.to_owned(),
                attempt: attempts,
                ok,
                detail,
                consecutive,
            });
            if consecutive >= self.successes {
                return Ok(HealthReport {
                    url: url.to_owned(),
                    attempts,
                    first_success_after: first_success.unwrap_or_default(),
                    duration: start.elapsed(),
                });
            }
            let clear = match (fail_fast, &result) {
                (FailFast::OnStatus, Err(ProbeFailure::Status { .. })) => true,
                (FailFast::OnAcceptedAnswer, Err(ProbeFailure::Status { status })) => *status < 400,
                (FailFast::OnAcceptedAnswer, Err(ProbeFailure::BodyMismatch { .. })) => true,
                _ => false,
            };
            let now = Instant::now();
            if clear || now + self.interval > deadline {
                let last = match result {
                    Err(f) => f,
                    // Passing, but not enough in a row before the deadline.
                    Ok(status) => ProbeFailure::Other {
                        detail: format!(
                            "status {status}, but only {consecutive} of {} passing probes in a row",
                            self.successes
                        ),
                    },
                };
                return Err(HealthFailure {
                    url: url.to_owned(),
                    attempts,
                    last,
                    duration: start.elapsed(),
                });
            }
            tokio::time::sleep(self.interval).await;
        }
    }
}

async fn probe_with(
    http: &reqwest::Client,
    check: &HealthPolicy,
    url: &str,
) -> Result<u16, ProbeFailure> {
    let resp = http.get(url).send().await.map_err(classify)?;
    let status = resp.status().as_u16();
    if !(check.status_min..=check.status_max).contains(&status) {
        return Err(ProbeFailure::Status { status });
    }
    if let Some(expected) = &check.expect_body {
        let body = resp.text().await.map_err(classify)?;
        if !body.contains(expected.as_str()) {
            let got: String = body
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(80)
                .collect();
            return Err(ProbeFailure::BodyMismatch {
                expected: expected.clone(),
                got,
            });
        }
    }
    Ok(status)
}

/// A failed request in one line: "timed out", or the innermost cause ("Connection refused
/// (os error 111)") rather than reqwest's "error sending request for url".
pub(crate) fn describe_reqwest(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut detail = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        detail = s.to_string();
        src = s.source();
    }
    detail
}

fn classify(e: reqwest::Error) -> ProbeFailure {
    if e.is_timeout() {
        ProbeFailure::Timeout
    } else if e.is_connect() {
        let mut detail = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            detail = s.to_string();
            src = s.source();
        }
        ProbeFailure::Connect { detail }
    } else {
        ProbeFailure::Other {
            detail: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(check: HealthPolicy) -> InvalidHealthPolicy {
        check.check().expect_err("refused")
    }

    #[test]
    fn the_default_is_valid() {
        assert_eq!(HealthPolicy::default().validate(), Ok(()));
    }

    #[test]
    fn zero_durations_are_refused_naming_the_field() {
        let e = refused(HealthPolicy {
            interval: Duration::ZERO,
            ..HealthPolicy::default()
        });
        assert_eq!(e.fields, [HealthField::Interval]);
        assert_eq!(
            e.message,
            "health interval must be more than 0 (a pause of 0 sends probes back to back)"
        );
        let e = refused(HealthPolicy {
            deadline: Duration::ZERO,
            ..HealthPolicy::default()
        });
        assert_eq!(e.fields, [HealthField::Deadline]);
        assert_eq!(
            e.message,
            "health deadline must be more than 0 (no probe would be judged)"
        );
        let e = refused(HealthPolicy {
            request_timeout: Duration::ZERO,
            ..HealthPolicy::default()
        });
        assert_eq!(e.fields, [HealthField::RequestTimeout]);
    }

    #[test]
    fn a_deadline_must_fit_the_probes() {
        let e = refused(HealthPolicy {
            deadline: Duration::from_secs(1),
            request_timeout: Duration::from_secs(2),
            ..HealthPolicy::default()
        });
        assert_eq!(
            e.fields,
            [HealthField::Deadline, HealthField::RequestTimeout]
        );
        assert_eq!(
            e.message,
            "health deadline 1s is shorter than the health request timeout 2s: not even one probe fits"
        );
        let e = refused(HealthPolicy {
            deadline: Duration::from_secs(2),
            successes: 3,
            interval: Duration::from_secs(1),
            request_timeout: Duration::from_millis(500),
            ..HealthPolicy::default()
        });
        assert_eq!(
            e.message,
            "health deadline 2s cannot fit 3 passing probes 1s apart"
        );
        // A huge count does not overflow.
        assert!(
            HealthPolicy {
                successes: u32::MAX,
                interval: Duration::from_secs(u64::MAX / 2),
                ..HealthPolicy::default()
            }
            .check()
            .is_err()
        );
        // Fast loopback settings, as the scenario tests use, are fine.
        assert_eq!(
            HealthPolicy {
                successes: 2,
                interval: Duration::from_millis(20),
                deadline: Duration::from_millis(600),
                request_timeout: Duration::from_millis(500),
                ..HealthPolicy::default()
            }
            .validate(),
            Ok(())
        );
    }

    #[test]
    fn messages_never_name_a_flag() {
        for check in [
            HealthPolicy {
                interval: Duration::ZERO,
                ..HealthPolicy::default()
            },
            HealthPolicy {
                deadline: Duration::ZERO,
                ..HealthPolicy::default()
            },
            HealthPolicy {
                deadline: Duration::from_millis(100),
                ..HealthPolicy::default()
            },
            HealthPolicy {
                successes: 0,
                ..HealthPolicy::default()
            },
            HealthPolicy {
                status_min: 400,
                status_max: 200,
                ..HealthPolicy::default()
            },
        ] {
            let e = refused(check);
            assert!(!e.message.contains("--"), "{}", e.message);
        }
    }
}
