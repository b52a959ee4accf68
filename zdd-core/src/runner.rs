//! What both strategies' executors share: timed steps reported to the event sink, and the
//! deploy lock, taken under a cancel future (an interrupted take removes its tag) and released
//! on every path.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use do_api::Client;
use tokio::time::Instant;

use crate::Outcome;
use crate::events::{Event, EventSink, Step, Subject};
use crate::lock::{self, DeployLock, LockConfig, LockError};
use crate::report::StepTiming;

/// The sink, and the timings of the steps run so far (steps of a batch's droplets run at the
/// same time, so they are recorded through a shared reference).
pub(crate) struct Steps<'a> {
    pub sink: &'a dyn EventSink,
    timings: std::sync::Mutex<Vec<StepTiming>>,
}

/// A started step; give it back to [`Steps::finish`].
pub(crate) struct Started {
    step: Step,
    subject: Subject,
    at: Instant,
}

impl<'a> Steps<'a> {
    pub fn new(sink: &'a dyn EventSink) -> Self {
        Steps {
            sink,
            timings: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The timings recorded, in the order the steps finished.
    pub fn into_timings(self) -> Vec<StepTiming> {
        self.timings.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    pub fn start(&self, step: Step, detail: impl Into<String>) -> Started {
        self.start_on(step, Subject::None, detail)
    }

    /// Start a step that acts on `subject`.
    pub fn start_on(&self, step: Step, subject: Subject, detail: impl Into<String>) -> Started {
        self.sink.emit(Event::StepStarted {
            step,
            subject: subject.clone(),
            detail: detail.into(),
        });
        Started {
            step,
            subject,
            at: Instant::now(),
        }
    }

    /// End a step; returns how long it took.
    pub fn finish(&self, s: Started, ok: bool, detail: impl Into<String>) -> Duration {
        let detail = detail.into();
        let duration = s.at.elapsed();
        self.sink.emit(Event::StepFinished {
            step: s.step,
            subject: s.subject,
            detail: detail.clone(),
            duration,
            ok,
        });
        self.timings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(StepTiming {
                step: s.step,
                detail,
                duration,
                ok,
            });
        duration
    }

    pub fn warn(&self, message: String) {
        self.sink.emit(Event::Warning { message });
    }

    pub fn note(&self, message: String) {
        self.sink.emit(Event::Note { message });
    }

    /// Any other event.
    pub fn emit(&self, event: Event) {
        self.sink.emit(event);
    }
}

/// Take the lock as a timed step. `unlock` is the command that breaks it by hand
/// (`zdd-do unlock --reserved-ip 203.0.113.7`), for messages.
pub(crate) async fn take_lock<C: Future<Output = ()>>(
    steps: &Steps<'_>,
    client: &Client,
    cfg: &LockConfig,
    unlock: &str,
    cancel: &mut Pin<&mut C>,
) -> Result<DeployLock, crate::Error> {
    take_lock_during(
        steps,
        client,
        cfg,
        unlock,
        cancel,
        None::<std::future::Ready<()>>,
    )
    .await
    .map(|(lock, _)| lock)
}

/// [`take_lock`], running the read-only `during` while the claim settles
/// ([`DeployLock::acquire_during`]): its output when it still holds.
pub(crate) async fn take_lock_during<C: Future<Output = ()>, T>(
    steps: &Steps<'_>,
    client: &Client,
    cfg: &LockConfig,
    unlock: &str,
    cancel: &mut Pin<&mut C>,
    during: Option<impl Future<Output = T>>,
) -> Result<(DeployLock, Option<T>), crate::Error> {
    let run_id = lock::new_run_id();
    let s = steps.start(
        Step::Lock,
        format!("zdd-lock:{}: as run {run_id}", cfg.scope),
    );
    let acquired = tokio::select! {
        biased;
        _ = cancel.as_mut() => {
            // Our tag may exist already: remove it so it blocks nobody.
            if let Err(e) = lock::abandon(client, &cfg.scope, &run_id).await {
                steps.warn(format!("could not remove the lock tags of run {run_id} ({}); break it with {unlock}", e.chain()));
            }
            steps.finish(s, false, "interrupted");
            return Err(crate::Error::new(Outcome::Interrupted, "interrupted while taking the deploy lock; nothing changed"));
        }
        r = DeployLock::acquire_during(client, cfg, &run_id, steps.sink, during) => r,
    };
    match acquired {
        Ok((lock, out)) => {
            steps.finish(s, true, lock.tag().to_owned());
            Ok((lock, out))
        }
        Err(e @ LockError::Held { .. }) => {
            steps.finish(s, false, e.to_string());
            Err(crate::Error::new(Outcome::Locked, e.to_string()))
        }
        Err(LockError::Api(e)) => {
            steps.finish(s, false, e.chain());
            Err(crate::Error::api("taking the deploy lock", &e))
        }
        Err(e) => {
            steps.finish(s, false, e.to_string());
            Err(crate::Error::new(Outcome::ApiError, e.to_string()))
        }
    }
}

/// Before a change: `Err(message)` when the lock was lost while held (the run must stop
/// before the change); renewal warnings are passed on either way.
pub(crate) fn check_lock(steps: &Steps<'_>, lock: Option<&DeployLock>) -> Result<(), String> {
    let Some(lock) = lock else { return Ok(()) };
    for w in lock.take_warnings() {
        steps.warn(w);
    }
    lock.check().map_err(|e| e.reason)
}

/// Release the lock as a timed step; a failure is a warning (another run takes a lock that
/// is no longer renewed over after its lease).
pub(crate) async fn release_lock(steps: &Steps<'_>, lock: DeployLock, unlock: &str) {
    for w in lock.take_warnings() {
        steps.warn(w);
    }
    let tag = lock.tag().to_owned();
    let s = steps.start(Step::Unlock, tag.clone());
    match lock.release().await {
        Ok(()) => {
            steps.finish(s, true, tag);
        }
        Err(e) => {
            steps.finish(s, false, e.chain());
            steps.warn(format!(
                "could not release the deploy lock `{tag}` ({}); another run takes it over once its lease has passed unrenewed, or break it with {unlock}",
                e.chain()
            ));
        }
    }
}

/// Health-check a droplet directly, as a timed step.
pub(crate) async fn gate(
    steps: &Steps<'_>,
    d: &do_api::droplets::Droplet,
    check: &crate::health::HealthGate,
) -> Result<(), crate::health::HealthFailure> {
    let ip = match check.address_of(d) {
        Ok(ip) => ip,
        Err(msg) => {
            return Err(crate::health::HealthFailure {
                url: format!("droplet {}", d.id),
                attempts: 0,
                last: crate::health::ProbeFailure::Other { detail: msg },
                duration: Duration::ZERO,
            });
        }
    };
    let s = steps.start_on(
        Step::HealthGate,
        Subject::droplet(d.id),
        format!("{} ({}) at {}", d.id, d.name, check.url_for(ip)),
    );
    match check.wait_healthy(ip, steps.sink).await {
        Ok(r) => {
            steps.finish(
                s,
                true,
                format!(
                    "{} passing probes in a row after {} attempts",
                    check.policy.successes, r.attempts
                ),
            );
            Ok(())
        }
        Err(f) => {
            steps.finish(s, false, f.to_string());
            Err(f)
        }
    }
}

/// Health-check droplets directly, all at once; `Err` names the first that failed, and why.
pub(crate) async fn gate_all(
    steps: &Steps<'_>,
    ds: &[do_api::droplets::Droplet],
    check: &crate::health::HealthGate,
) -> Result<(), String> {
    let results = futures_util::future::join_all(ds.iter().map(|d| gate(steps, d, check))).await;
    for (d, r) in ds.iter().zip(results) {
        if let Err(f) = r {
            return Err(format!(
                "droplet {} ({}) failed the health gate: {f}",
                d.id, d.name
            ));
        }
    }
    Ok(())
}
