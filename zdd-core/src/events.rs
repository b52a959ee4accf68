//! Events: core never prints; it tells a caller-supplied [`EventSink`] what happens, and the
//! caller (the CLI, a test, another tool) renders it.

use std::sync::Mutex;
use std::time::Duration;

use std::net::Ipv4Addr;

use do_api::{ActionId, ActionStatus, DropletId};
use serde::Serialize;

use crate::hook::HookPurpose;

/// A phase of a deploy, for progress and timing reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Taking the deploy lock.
    Lock,
    /// Reading droplets, tags, the reserved IP or the load balancer.
    Observe,
    /// Running the user's update command on a droplet.
    Update,
    /// Checking a droplet directly before it gets traffic.
    HealthGate,
    /// Asking the live droplet to stop keeping connections alive before the reserved IP moves.
    PreSwitch,
    /// Moving the reserved IP and waiting for the action.
    Assign,
    /// Checking through the API that the IP points where it should.
    Confirm,
    /// Checking through the reserved IP (or load balancer) that the new droplet answers.
    Verify,
    /// Moving the live/standby tags.
    TagMove,
    /// Sending traffic back after a failed verification.
    SwitchBack,
    /// Taking a droplet out of a load balancer's rotation.
    TakeOut,
    /// Waiting for in-flight requests to finish.
    Drain,
    /// Putting a droplet back into rotation.
    PutBack,
    /// Waiting between batches.
    BatchDelay,
    /// Undoing updates after a failure.
    Rollback,
    /// Creating droplets.
    Create,
    /// Waiting for new droplets to become active.
    Boot,
    /// Deleting droplets.
    Delete,
    /// Canary droplets taking traffic for a window, then judged.
    Analyse,
    /// Releasing the deploy lock.
    Unlock,
}

impl Step {
    /// A short human name.
    pub fn label(self) -> &'static str {
        match self {
            Step::Lock => "lock",
            Step::Observe => "observe",
            Step::Update => "update",
            Step::HealthGate => "health gate",
            Step::PreSwitch => "pre-switch",
            Step::Assign => "assign reserved IP",
            Step::Confirm => "confirm assignment",
            Step::Verify => "verify",
            Step::TagMove => "move tags",
            Step::SwitchBack => "switch back",
            Step::TakeOut => "take out of rotation",
            Step::Drain => "drain",
            Step::PutBack => "put back into rotation",
            Step::BatchDelay => "batch delay",
            Step::Rollback => "roll back",
            Step::Create => "create droplets",
            Step::Boot => "wait until active",
            Step::Delete => "delete droplets",
            Step::Analyse => "canary analysis",
            Step::Unlock => "unlock",
        }
    }
}

/// What a step acts on, typed, so that a caller can follow a droplet or a batch without
/// reading the prose in `detail`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    /// Nothing in particular (observing, the lock).
    #[default]
    None,
    /// Droplets.
    Droplets {
        /// Their ids.
        ids: Vec<DropletId>,
    },
    /// A reserved IP.
    ReservedIp {
        /// The address.
        ip: Ipv4Addr,
    },
}

impl Subject {
    /// One droplet.
    pub fn droplet(id: DropletId) -> Self {
        Subject::Droplets { ids: vec![id] }
    }

    fn is_none(&self) -> bool {
        matches!(self, Subject::None)
    }
}

/// Something that happened during a deploy.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A step began.
    StepStarted {
        /// Which step.
        step: Step,
        /// What it acts on.
        #[serde(default, skip_serializing_if = "Subject::is_none")]
        subject: Subject,
        /// What it acts on.
        detail: String,
    },
    /// A step ended (successfully or not; `ok` says which).
    StepFinished {
        /// Which step.
        step: Step,
        /// What it acted on.
        #[serde(default, skip_serializing_if = "Subject::is_none")]
        subject: Subject,
        /// What it acted on and how it ended.
        detail: String,
        /// How long it took.
        #[serde(with = "crate::serde_time::secs")]
        duration: Duration,
        /// Whether it succeeded.
        ok: bool,
    },
    /// One health probe.
    HealthAttempt {
        /// The URL probed.
        url: String,
        /// 1-based attempt number.
        attempt: u32,
        /// Whether this probe passed.
        ok: bool,
        /// Status or failure reason.
        detail: String,
        /// Passing probes in a row so far.
        consecutive: u32,
    },
    /// An action was polled.
    ActionProgress {
        /// The action id.
        action_id: ActionId,
        /// Its status.
        status: ActionStatus,
    },
    /// A batch of a rolling deploy began (before its droplets leave rotation).
    BatchStarted {
        /// 1-based; rollback batches continue the numbering.
        index: usize,
        /// Update or roll back.
        purpose: HookPurpose,
        /// Its droplets.
        droplets: Vec<DropletId>,
    },
    /// A batch ended.
    BatchFinished {
        /// Its index.
        index: usize,
        /// Whether every droplet came back.
        ok: bool,
        /// How long it took.
        #[serde(with = "crate::serde_time::secs")]
        duration: Duration,
    },
    /// A failure is being undone: the updated droplets are rolled back, newest first.
    RollbackStarted {
        /// The droplets to roll back, in order.
        droplets: Vec<DropletId>,
    },
    /// One judge of a canary analysis concluded.
    CanaryJudged {
        /// Its verdict, reason and figures.
        result: crate::canary::JudgeResult,
    },
    /// A canary analysis concluded.
    CanaryVerdict {
        /// Pass, fail or inconclusive (which does not pass).
        verdict: crate::canary::Verdict,
        /// The canaries judged.
        canaries: Vec<DropletId>,
        /// Requests the canaries failed in the window, when counted.
        failed_requests: Option<crate::canary::BlastRadius>,
    },
    /// Something the user should know that does not stop the deploy.
    Warning {
        /// The message.
        message: String,
    },
    /// A plain progress note.
    Note {
        /// The message.
        message: String,
    },
}

/// Receives events. Implementations must be cheap: they are called inline.
pub trait EventSink: Send + Sync {
    /// Handle one event.
    fn emit(&self, event: Event);
}

/// Drops every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl EventSink for NullSink {
    fn emit(&self, _event: Event) {}
}

/// Keeps every event, for tests and for callers that render at the end.
#[derive(Debug, Default)]
pub struct CollectingSink {
    events: Mutex<Vec<Event>>,
}

impl CollectingSink {
    /// A copy of the events so far.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl EventSink for CollectingSink {
    fn emit(&self, event: Event) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event);
    }
}

impl<F: Fn(Event) + Send + Sync> EventSink for F {
    fn emit(&self, event: Event) {
        self(event)
    }
}
