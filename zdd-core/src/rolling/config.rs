//! What a rolling run is asked to do: the load balancer, batch size, drain, health gate, lock,
//! and the checks that make a configuration usable.

use std::num::NonZeroUsize;
use std::time::Duration;

use serde::Serialize;

use super::identity::Identify;
use super::waits::Drain;
use crate::health::{HealthField, HealthPolicy, HealthTarget};
use crate::lock::LockSettings;
use crate::report::secs;

pub use crate::lb::LbRef;

/// What to do when a droplet fails (update command, health gate, or the load balancer not
/// routing to it again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Leave the failed droplet out of rotation and stop; a re-run resumes with it.
    Pause,
    /// Run the rollback hook on the droplets already updated, newest first, through the same
    /// protocol.
    Rollback,
}

/// Everything a rolling run needs to know.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollingConfig {
    /// The load balancer.
    pub lb: LbRef,
    /// Droplets taken out at once (`--max-unavailable`, at least 1).
    pub max_unavailable: NonZeroUsize,
    /// How a droplet is taken out.
    pub drain: Drain,
    /// In-flight allowance: after a droplet stops receiving requests (its last answer through
    /// the load balancer, or the take-out when it cannot be watched), the time left for
    /// requests already sent to it. Requests are not observable from outside, so this is a
    /// setting: the longest request the app serves.
    #[serde(with = "secs")]
    pub drain_wait: Duration,
    /// Slack for the load balancer to notice a tag or droplet-list change (undocumented by
    /// DigitalOcean; see [`super::waits`]).
    #[serde(with = "secs")]
    pub lb_sync_wait: Duration,
    /// Pause between batches.
    #[serde(with = "secs")]
    pub batch_delay: Duration,
    /// How the direct health gate judges: status range, body, timings, successes, deadline.
    pub health: HealthPolicy,
    /// Where the gate probes; scheme, port and path left `None` come from the load
    /// balancer's health check.
    pub target: HealthTarget,
    /// How droplets are watched leaving and joining the load balancer.
    pub watch: WatchSettings,
    /// Put a batch back into the load balancer right after its update command, while it boots,
    /// so that the load balancer's own health checks run during boot; the gate runs meanwhile
    /// and pulls a droplet out at once if it answers wrongly. `false`: only after the gate.
    pub put_back_early: bool,
    /// Pause or roll back on failure.
    pub on_failure: OnFailure,
    /// The version being deployed, passed to the hooks.
    pub version: Option<String>,
    /// The first batch is a canary: after it is back in rotation it takes traffic beside the
    /// droplets not updated yet for the window and is judged; a failure rolls it back.
    pub canary: Option<crate::canary::CanaryConfig>,
    /// Print the batches and waits, change nothing.
    pub dry_run: bool,
    /// The deploy lock (scoped to the load balancer); `None` runs without one.
    pub lock: Option<LockSettings>,
    /// Multiplies every computed wait (drain, detection, sync, routing, batch delay). 1.0 in
    /// production; tests and simulations use less. Reports show both values.
    pub wait_scale: f64,
}

impl RollingConfig {
    /// Defaults for `lb`: one at a time, remove mode, 5 s in-flight allowance, 5 s sync slack
    /// (for computed waits), no batch delay, pause on failure, the default health gate, watched
    /// waits, put back while booting, a lock, scale 1.
    pub fn new(lb: LbRef) -> Self {
        RollingConfig {
            lb,
            max_unavailable: NonZeroUsize::MIN,
            drain: Drain::Remove,
            drain_wait: Duration::from_secs(5),
            lb_sync_wait: Duration::from_secs(5),
            batch_delay: Duration::ZERO,
            health: HealthPolicy::default(),
            target: HealthTarget::default(),
            watch: WatchSettings::default(),
            put_back_early: true,
            on_failure: OnFailure::Pause,
            version: None,
            canary: None,
            dry_run: false,
            lock: Some(LockSettings::default()),
            wait_scale: 1.0,
        }
    }
}

/// How a rolling run watches droplets through the load balancer ([`super::watch`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WatchSettings {
    /// Sleep the computed waits even where droplets could be watched.
    pub computed_only: bool,
    /// Where answers name their droplet; learned from the droplets when `None`.
    pub identity: Option<Identify>,
    /// Probe this URL instead of the load balancer's own address.
    pub url: Option<String>,
    /// Give up watching after this long; by default three times the computed window.
    #[serde(with = "crate::report::opt_secs")]
    pub deadline: Option<Duration>,
    /// Answers through the load balancer each droplet put back must give.
    pub sightings: u32,
}

impl Default for WatchSettings {
    /// Watch, learning the identity, through the load balancer's address; two sightings.
    fn default() -> Self {
        WatchSettings {
            computed_only: false,
            identity: None,
            url: None,
            deadline: None,
            sightings: 2,
        }
    }
}

/// A setting of [`WatchSettings`], as named by [`WatchSettings::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchField {
    /// [`WatchSettings::url`].
    Url,
    /// [`WatchSettings::sightings`].
    Sightings,
}

impl WatchSettings {
    /// The one check of the watch settings: the setting that is wrong, and what.
    pub fn check(&self) -> Result<(), (WatchField, String)> {
        if let Some(url) = &self.url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err((
                WatchField::Url,
                format!("the URL to watch, `{url}`, must be an http:// or https:// URL"),
            ));
        }
        if self.sightings == 0 {
            return Err((
                WatchField::Sightings,
                "a droplet put back must be seen at least once".into(),
            ));
        }
        Ok(())
    }
}

/// A setting of [`RollingConfig`], as named by [`InvalidRollingConfig`]; callers map it to
/// their own names (the CLI to its flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RollingField {
    /// `lb`.
    Lb,
    /// `wait_scale`.
    WaitScale,
    /// `on_failure`.
    OnFailure,
    /// The rollback hook (none was given).
    RollbackHook,
    /// The drain URL's path.
    DrainPath,
    /// The drain URL's method.
    DrainMethod,
    /// The URL watched instead of the load balancer's address.
    WatchUrl,
    /// The sightings a put-back droplet must give.
    Sightings,
    /// A setting of the health gate.
    Health(HealthField),
    /// A setting of the canary analysis.
    Canary(crate::canary::CanaryField),
}

/// Why a [`RollingConfig`] is refused: the settings involved (the first is the one to change)
/// and what is wrong, naming settings (never a flag).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidRollingConfig {
    /// The settings involved.
    pub fields: Vec<RollingField>,
    /// What is wrong.
    pub message: String,
}

impl RollingConfig {
    /// The one check of a rolling configuration; `has_rollback` says whether a rollback hook
    /// will be given. [`super::run`] refuses a configuration that fails it (nothing is sent).
    pub fn check(&self, has_rollback: bool) -> Result<(), InvalidRollingConfig> {
        use RollingField as F;
        let bad = |fields: &[RollingField], message: String| {
            Err(InvalidRollingConfig {
                fields: fields.to_vec(),
                message,
            })
        };
        if let Err(e) = self.health.check() {
            return Err(InvalidRollingConfig {
                fields: e.fields.into_iter().map(F::Health).collect(),
                message: e.message,
            });
        }
        if let Err(m) = super::waits::check_scale(self.wait_scale) {
            return bad(&[F::WaitScale], m);
        }
        if self.on_failure == OnFailure::Rollback && !has_rollback {
            return bad(
                &[F::OnFailure, F::RollbackHook],
                "rolling back on failure needs a rollback command".into(),
            );
        }
        if let Drain::ShutdownUrl { path, method } = &self.drain {
            if !path.starts_with('/') {
                return bad(
                    &[F::DrainPath],
                    format!("drain path `{path}` must start with `/`"),
                );
            }
            if reqwest::Method::from_bytes(method.as_bytes()).is_err() {
                return bad(
                    &[F::DrainMethod],
                    format!("`{method}` is not an HTTP method"),
                );
            }
        }
        if let Err((field, m)) = self.watch.check() {
            let field = match field {
                WatchField::Url => F::WatchUrl,
                WatchField::Sightings => F::Sightings,
            };
            return bad(&[field], m);
        }
        if let Err(m) = self.lb.check() {
            return bad(&[F::Lb], m);
        }
        if let Some(c) = &self.canary {
            if let Err((field, m)) = c.check() {
                return bad(&[F::Canary(field)], m);
            }
            if self.on_failure != OnFailure::Rollback {
                return bad(
                    &[F::OnFailure, F::Canary(crate::canary::CanaryField::Size)],
                    "a canary batch that fails its analysis is rolled back: roll back on failure, with a rollback command".into(),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lb_refs() {
        assert_eq!(
            LbRef::parse("4de7ac8b-495b-4884-9a69-1050c6793cd6"),
            LbRef::Id("4de7ac8b-495b-4884-9a69-1050c6793cd6".into())
        );
        assert_eq!(LbRef::parse("web-lb"), LbRef::Name("web-lb".into()));
        assert_eq!(
            LbRef::parse("4de7ac8b-495b-4884-9a69-1050c6793cdz"),
            LbRef::Name("4de7ac8b-495b-4884-9a69-1050c6793cdz".into())
        );
    }

    #[test]
    fn config_checks() {
        let ok = RollingConfig::new(LbRef::Name("web".into()));
        assert!(ok.check(false).is_ok());
        let bad = RollingConfig {
            on_failure: OnFailure::Rollback,
            ..ok.clone()
        };
        let e = bad.check(false).unwrap_err();
        assert_eq!(
            (e.fields, e.message.as_str()),
            (
                vec![RollingField::OnFailure, RollingField::RollbackHook],
                "rolling back on failure needs a rollback command"
            )
        );
        assert!(bad.check(true).is_ok());
        let bad = RollingConfig {
            wait_scale: f64::NAN,
            ..ok.clone()
        };
        assert_eq!(
            bad.check(false).unwrap_err().fields,
            [RollingField::WaitScale]
        );
        let bad = RollingConfig {
            drain: Drain::ShutdownUrl {
                path: "drain".into(),
                method: "POST".into(),
            },
            ..ok.clone()
        };
        let e = bad.check(false).unwrap_err();
        assert!(e.message.contains("must start with"), "{e}");
        assert_eq!(e.fields, [RollingField::DrainPath]);
        let bad = RollingConfig {
            health: HealthPolicy {
                successes: 0,
                ..HealthPolicy::default()
            },
            ..ok
        };
        assert_eq!(
            bad.check(false).unwrap_err().fields,
            [RollingField::Health(HealthField::Successes)]
        );
    }
}
