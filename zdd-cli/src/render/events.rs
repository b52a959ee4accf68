//! Events on stderr: short timestamped lines with durations, wrapped in collapsible sections
//! under GitLab CI; or JSON lines.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use zdd_core::events::{Event, EventSink, Step, Subject};

use super::{Style, clock, json_line, line};

/// Writes events to stderr.
#[derive(Debug)]
pub struct StderrSink {
    style: Style,
    section: AtomicU32,
    /// Sections started and not ended yet: steps can overlap (the observation inside the
    /// lock's settle, a batch's droplets at once), so each ends its own.
    open: Mutex<Vec<(Step, Subject, String)>>,
}

impl StderrSink {
    /// A sink with the given style.
    pub fn new(style: Style) -> Self {
        StderrSink {
            style,
            section: AtomicU32::new(0),
            open: Mutex::new(Vec::new()),
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
                    Event::StepStarted {
                        step,
                        subject,
                        detail,
                    } => {
                        if gitlab {
                            let n = self.section.fetch_add(1, Ordering::Relaxed);
                            let name = format!("zdd_{n}_{}", step.label().replace(' ', "_"));
                            self.line(&format!(
                                "\x1b[0Ksection_start:{}:{name}[collapsed=true]\r\x1b[0K[{t}] {}: {detail}",
                                unix(),
                                step.label()
                            ));
                            self.open
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push((step, subject, name));
                        } else {
                            self.line(&format!("[{t}] ==> {}: {detail}", step.label()));
                        }
                    }
                    Event::StepFinished {
                        step,
                        subject,
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
                        if gitlab {
                            let name = {
                                let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
                                open.iter()
                                    .rposition(|(s, subj, _)| *s == step && *subj == subject)
                                    .map(|i| open.remove(i).2)
                            };
                            if let Some(name) = name {
                                self.line(&format!(
                                    "\x1b[0Ksection_end:{}:{name}\r\x1b[0K",
                                    unix()
                                ));
                            }
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
                    Event::BatchStarted {
                        index,
                        purpose,
                        droplets,
                    } => {
                        let ids: Vec<String> = droplets.iter().map(|d| d.to_string()).collect();
                        self.line(&format!(
                            "[{t}] batch {index} ({purpose}): droplets {}",
                            ids.join(", ")
                        ));
                    }
                    Event::BatchFinished {
                        index,
                        ok,
                        duration,
                    } => {
                        let mark = if ok { "ok" } else { "FAILED" };
                        self.line(&format!(
                            "[{t}] {mark} batch {index} ({:.1}s)",
                            duration.as_secs_f64()
                        ));
                    }
                    Event::RollbackStarted { droplets } => {
                        let ids: Vec<String> = droplets.iter().map(|d| d.to_string()).collect();
                        self.line(&format!(
                            "[{t}] rolling back droplets {}, newest first",
                            ids.join(", ")
                        ));
                    }
                    Event::CanaryJudged { result } => self.line(&format!(
                        "[{t}]   {} {}: {}",
                        result.judge.label(),
                        result.verdict,
                        result.reason
                    )),
                    Event::CanaryVerdict {
                        verdict,
                        canaries,
                        failed_requests,
                    } => {
                        let ids: Vec<String> = canaries.iter().map(|d| d.to_string()).collect();
                        self.line(&format!(
                            "[{t}] canary {}: {verdict}{}",
                            ids.join(", "),
                            failed_requests
                                .map(|b| format!(
                                    " ({} request(s) failed at the canaries in the window, counted by {})",
                                    b.requests,
                                    b.counted_by.label()
                                ))
                                .unwrap_or_default()
                        ));
                    }
                    Event::Warning { message } => self.line(&format!("[{t}] warning: {message}")),
                    Event::Note { message } => self.line(&format!("[{t}] {message}")),
                    _ => {}
                }
            }
        }
    }
}
