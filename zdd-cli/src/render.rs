//! Rendering events on stderr: short timestamped lines with durations, wrapped in collapsible
//! sections under GitLab CI; or JSON lines.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use zdd_core::events::{Event, EventSink};

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

/// Writes events to stderr.
#[derive(Debug)]
pub struct StderrSink {
    style: Style,
    section: AtomicU32,
    open: Mutex<Option<String>>,
}

impl StderrSink {
    /// A sink with the given style.
    pub fn new(style: Style) -> Self {
        StderrSink {
            style,
            section: AtomicU32::new(0),
            open: Mutex::new(None),
        }
    }

    fn line(&self, text: &str) {
        line(text);
    }

    /// The style events are shown in.
    pub fn style(&self) -> Style {
        self.style
    }
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

fn unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

impl EventSink for StderrSink {
    fn emit(&self, event: Event) {
        match self.style {
            Style::Quiet => {}
            Style::JsonLines => json_line(&event),
            Style::Human { gitlab } => {
                let t = clock();
                match event {
                    Event::StepStarted { step, detail } => {
                        if gitlab {
                            let n = self.section.fetch_add(1, Ordering::Relaxed);
                            let name = format!("zdd_{n}_{}", step.label().replace(' ', "_"));
                            self.line(&format!(
                                "\x1b[0Ksection_start:{}:{name}[collapsed=true]\r\x1b[0K[{t}] {}: {detail}",
                                unix(),
                                step.label()
                            ));
                            *self.open.lock().unwrap_or_else(|p| p.into_inner()) = Some(name);
                        } else {
                            self.line(&format!("[{t}] ==> {}: {detail}", step.label()));
                        }
                    }
                    Event::StepFinished {
                        step,
                        detail,
                        duration,
                        ok,
                    } => {
                        let mark = if ok { "ok" } else { "FAILED" };
                        self.line(&format!(
                            "[{t}] {mark} {} ({:.1}s): {detail}",
                            step.label(),
                            duration.as_secs_f64()
                        ));
                        if gitlab
                            && let Some(name) =
                                self.open.lock().unwrap_or_else(|p| p.into_inner()).take()
                        {
                            self.line(&format!("\x1b[0Ksection_end:{}:{name}\r\x1b[0K", unix()));
                        }
                    }
                    Event::HealthAttempt {
                        url,
                        attempt,
                        ok,
                        detail,
                        consecutive,
                    } => {
                        let mark = if ok { "pass" } else { "fail" };
                        self.line(&format!("[{t}]     probe {attempt} {url}: {mark} ({detail}), {consecutive} in a row"));
                    }
                    Event::ActionProgress { action_id, status } => {
                        self.line(&format!("[{t}]     action {action_id}: {status}"));
                    }
                    Event::Warning { message } => self.line(&format!("[{t}] warning: {message}")),
                    Event::Note { message } => self.line(&format!("[{t}] {message}")),
                    _ => {}
                }
            }
        }
    }
}
