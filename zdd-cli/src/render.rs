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
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{text}");
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
            Style::JsonLines => {
                if let Ok(json) = serde_json::to_string(&event) {
                    self.line(&json);
                }
            }
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
