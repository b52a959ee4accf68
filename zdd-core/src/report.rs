//! Shared pieces of the reports strategies return.

/// Serialize a `Duration` as seconds with millisecond precision (`1.234`).
pub mod secs {
    use std::time::Duration;

    use serde::Serializer;

    /// Serialize.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
    }
}

/// Serialize an `Option<Duration>` as seconds.
pub mod opt_secs {
    use std::time::Duration;

    use serde::Serializer;

    /// Serialize.
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::secs::serialize(d, s),
            None => s.serialize_none(),
        }
    }
}

/// One step's timing.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StepTiming {
    /// Which step.
    pub step: crate::events::Step,
    /// What it acted on, how it ended.
    pub detail: String,
    /// How long it took.
    #[serde(with = "secs")]
    pub duration: std::time::Duration,
    /// Whether it succeeded.
    pub ok: bool,
}
