//! The error a strategy stops with: how the run ends ([`Outcome`]) and a message for people.

use crate::outcome::Outcome;

/// Why a run stopped before its end. Every strategy returns its report with the outcome; this
/// is what its steps return on the way there, and what [`crate::bluegreen::status`] returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// How the run ends.
    pub outcome: Outcome,
    /// What happened, and what was (or was not) changed.
    pub message: String,
}

impl Error {
    /// An error ending in `outcome`.
    pub fn new(outcome: Outcome, message: impl Into<String>) -> Self {
        Error {
            outcome,
            message: message.into(),
        }
    }

    /// A DigitalOcean API failure while `context`.
    pub(crate) fn api(context: &str, e: &do_api::Error) -> Self {
        Error::new(Outcome::ApiError, format!("{context}: {}", e.chain()))
    }
}
