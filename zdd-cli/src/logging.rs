//! Log records (`tracing`: do-api's retry warnings, debug lines with `ZDD_LOG`) on stderr, in
//! the shape `--events` gives the progress:
//!
//! - `human`: text lines, filtered by `ZDD_LOG` (default `warn`); ANSI colour only when stderr
//!   is a terminal and `NO_COLOR` is unset or empty (<https://no-color.org>).
//! - `json`: one JSON object per record, `{"event":"log","level":"warn",...}`, like the events
//!   around it, so that every stderr line parses.
//! - `none`: nothing, unless `ZDD_LOG` is set, which asks for log lines explicitly (as text).

use std::io::IsTerminal;

use serde_json::{Map, Value, json};
use tracing::field::{Field, Visit};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::cli::Events;

/// Install the subscriber for `events`.
pub fn init(events: Events) {
    let explicit = std::env::var("ZDD_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let filter = || {
        explicit
            .as_deref()
            .and_then(|f| EnvFilter::try_new(f).ok())
            .unwrap_or_else(|| EnvFilter::new("warn"))
    };
    let colour = colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let human = || {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter())
            .with_target(false)
            .with_ansi(colour)
            .finish()
            .try_init()
    };
    let _ = match events {
        Events::Human => human(),
        Events::None if explicit.is_some() => human(),
        Events::None => Ok(()),
        Events::Json => tracing_subscriber::registry()
            .with(filter())
            .with(JsonLines)
            .try_init(),
    };
}

/// Whether to colour log lines: only on a terminal, and never when `NO_COLOR` is set to
/// anything but the empty string.
pub fn colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Writes each record as one JSON line on stderr.
struct JsonLines;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for JsonLines {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let line = json!({
            "event": "log",
            "level": meta.level().as_str().to_ascii_lowercase(),
            "target": meta.target(),
            "message": fields.message.unwrap_or_default(),
            "fields": fields.rest,
        });
        crate::render::json_line(&line);
    }
}

/// A record's message and its other fields, as JSON values.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    rest: Map<String, Value>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(s) => s,
                other => other.to_string(),
            });
        } else {
            self.rest.insert(field.name().to_owned(), value);
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))));
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, None));
        assert!(!colour(false, Some(OsStr::new("1"))));
    }

    #[test]
    fn records_become_json_lines() {
        use tracing_subscriber::layer::SubscriberExt;
        let captured = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
        struct Capture(std::sync::Arc<std::sync::Mutex<Vec<Value>>>);
        impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
            fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
                let mut f = Fields::default();
                event.record(&mut f);
                self.0
                    .lock()
                    .unwrap()
                    .push(json!({"message": f.message, "fields": f.rest}));
            }
        }
        let subscriber = tracing_subscriber::registry().with(Capture(captured.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(method = %"GET", wait_ms = 1000u64, "retrying after: {}", "429");
        });
        assert_eq!(
            captured.lock().unwrap()[0],
            json!({"message": "retrying after: 429", "fields": {"method": "GET", "wait_ms": 1000}})
        );
    }
}
