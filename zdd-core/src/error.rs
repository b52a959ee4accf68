//! The error a strategy stops with: how the run ends ([`Outcome`]), a message for people, and,
//! for API failures, what kind of failure it was ([`ApiCause`]), so that callers add their own
//! advice without reading the message.

use serde::Serialize;

use crate::outcome::Outcome;

/// What kind of DigitalOcean API failure stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ApiCause {
    /// 401: the token was refused (expired, revoked, another team's).
    Unauthorized,
    /// 403: the token lacks a scope this call needs.
    Forbidden,
    /// 429 after the client's retries.
    RateLimited,
    /// 5xx after the client's retries.
    ServerError,
    /// No answer: connection refused, DNS, timeout.
    Unreachable,
    /// The API's TLS certificate was refused (not signed by a trusted CA).
    Certificate,
    /// Anything else (another status, an unexpected body).
    Other,
}

impl ApiCause {
    /// The kind of `e`.
    pub fn of(e: &do_api::Error) -> ApiCause {
        if e.status() == Some(401) {
            ApiCause::Unauthorized
        } else if e.status() == Some(403) {
            ApiCause::Forbidden
        } else if e.is_rate_limited() {
            ApiCause::RateLimited
        } else if e.is_server_error() {
            ApiCause::ServerError
        } else if e.is_tls() {
            ApiCause::Certificate
        } else if matches!(e, do_api::Error::Transport { .. }) {
            ApiCause::Unreachable
        } else {
            ApiCause::Other
        }
    }
}

/// Why a run stopped before its end. Every strategy returns its report with the outcome; this
/// is what its steps return on the way there, and what [`crate::bluegreen::status`] returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// How the run ends.
    pub outcome: Outcome,
    /// What happened, and what was (or was not) changed.
    pub message: String,
    /// For an API failure, its kind.
    pub api_cause: Option<ApiCause>,
}

impl Error {
    /// An error ending in `outcome`.
    pub fn new(outcome: Outcome, message: impl Into<String>) -> Self {
        Error {
            outcome,
            message: message.into(),
            api_cause: None,
        }
    }

    /// A DigitalOcean API failure while `context`.
    pub(crate) fn api(context: &str, e: &do_api::Error) -> Self {
        Error {
            api_cause: Some(ApiCause::of(e)),
            ..Error::new(Outcome::ApiError, format!("{context}: {}", e.chain()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_error_keeps_its_kind() {
        let e = Error::api(
            "reading the reserved IP",
            &do_api::Error::InvalidInput("x".into()),
        );
        assert_eq!(e.outcome, Outcome::ApiError);
        assert_eq!(e.api_cause, Some(ApiCause::Other));
        assert_eq!(e.message, "reading the reserved IP: invalid input: x");
        assert_eq!(Error::new(Outcome::Refused, "no").api_cause, None);
    }
}
