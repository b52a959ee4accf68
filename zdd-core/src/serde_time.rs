//! Durations in reports and events: seconds with millisecond precision (`1.234`).

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
