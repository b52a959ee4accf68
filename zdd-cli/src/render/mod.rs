//! Everything the CLI shows: events on stderr ([`events`]: short timestamped lines with
//! durations, wrapped in collapsible sections under GitLab CI, or JSON lines), errors and
//! warnings, and each command's result on stdout (a human summary per command, or the JSON
//! document, [`json`]).

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

pub mod bluegreen;
#[cfg(feature = "sim")]
pub mod demo;
pub mod doctor;
mod events;
pub mod json;
pub mod replace;
pub mod roll;
#[cfg(feature = "sim")]
pub mod sim;
pub mod status;
pub mod unlock;

pub use events::StderrSink;

/// How events are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Lines for people.
    Human {
        /// Wrap steps in GitLab's collapsible sections.
        gitlab: bool,
    },
    /// One JSON object per line.
    JsonLines,
    /// Nothing.
    Quiet,
}

/// One line on stderr, written at once so that lines from other threads never interleave.
pub fn line(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(format!("{text}\n").as_bytes());
}

/// One JSON object as one line on stderr.
pub fn json_line(v: &impl serde::Serialize) {
    if let Ok(json) = serde_json::to_string(v) {
        line(&json);
    }
}

/// A failure that ends the run, on stderr: `error: ...`, or with JSON events an
/// `{"event":"error",...}` line.
pub fn error(style: Style, code: i32, message: &str) {
    match style {
        Style::JsonLines => json_line(&serde_json::json!({
            "event": "error",
            "message": message,
            "exit_code": code,
        })),
        Style::Human { .. } | Style::Quiet => line(&format!("error: {message}")),
    }
}

/// A warning from the CLI itself (not from a deploy), in the events' style; shown even with
/// `--events none`, as an error would be.
pub fn warning(style: Style, message: &str) {
    match style {
        Style::JsonLines => json_line(&serde_json::json!({
            "event": "warning",
            "message": message,
        })),
        Style::Human { .. } | Style::Quiet => line(&format!("[{}] warning: {message}", clock())),
    }
}

/// `HH:MM:SS` (UTC).
pub fn clock() -> String {
    let s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// The name a value has on the wire (its serde name): `switched`, `rolled_back`.
pub fn wire_name(v: &impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
