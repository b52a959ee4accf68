//! What a blue-green run is asked to do.

use std::net::Ipv4Addr;
use std::time::Duration;

use do_api::WaitOptions;
use serde::Serialize;

use super::plan::Roles;
use crate::health::{HealthField, HealthGate, HealthPolicy, HealthTarget};
use crate::lb::LbRef;
use crate::lock::LockSettings;
use crate::report::secs;
use crate::rolling::{WatchField, WatchSettings};

/// Promote (the standby gets the new version and the traffic) or roll back (traffic goes back
/// to the standby, which holds the previous version). The protocol is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `zdd-do promote`.
    Promote,
    /// `zdd-do rollback`.
    Rollback,
}

/// Everything a blue-green run needs to know.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlueGreenConfig {
    /// The live and standby tags.
    pub roles: Roles,
    /// The reserved IP; found from the tagged droplets when `None` (and no load balancer is
    /// given).
    pub reserved_ip: Option<Ipv4Addr>,
    /// Switch through this load balancer instead of a reserved IP: the standbys join it and
    /// the live droplets leave it. No IP moves, so no connection is reset.
    pub load_balancer: Option<LbSettings>,
    /// How the gate (on the droplet) and the verification (through the IP) judge.
    pub health: HealthPolicy,
    /// Where they probe (no load balancer: unset parts take the defaults).
    pub target: HealthTarget,
    /// How long to wait for the assign action.
    #[serde(skip)]
    pub assign_wait: WaitOptions,
    /// Verification through the reserved IP after a switch has its own short budget, and fails
    /// at the first answer with a failing status: traffic is already on the new droplet, so
    /// every second spent on a broken release is served to users.
    #[serde(with = "crate::report::secs")]
    pub verify_deadline: Duration,
    /// Reserved IP only: before the IP moves, ask the live droplet to stop keeping connections
    /// alive, and check through the IP that it does; `None` skips it.
    pub pre_switch: Option<super::PreSwitch>,
    /// The version being deployed, passed to the update hook.
    pub version: Option<String>,
    /// Print the plan, change nothing.
    pub dry_run: bool,
    /// Rollback only: skip the health gate, and do not switch back when verification fails.
    pub force: bool,
    /// The deploy lock; `None` runs without one.
    pub lock: Option<LockSettings>,
}

impl Default for BlueGreenConfig {
    fn default() -> Self {
        BlueGreenConfig {
            roles: Roles::default(),
            reserved_ip: None,
            load_balancer: None,
            health: HealthPolicy::default(),
            target: HealthTarget::default(),
            assign_wait: WaitOptions::with_timeout(Duration::from_secs(120)),
            verify_deadline: Duration::from_secs(10),
            pre_switch: None,
            version: None,
            dry_run: false,
            force: false,
            lock: Some(LockSettings::default()),
        }
    }
}

impl BlueGreenConfig {
    /// The health gate: the target resolved (defaults for what is unset) with the policy.
    pub fn gate(&self) -> HealthGate {
        HealthGate::new(self.target.resolve_alone(), self.health.clone())
    }

    /// The one check of a blue-green configuration. [`super::run`] refuses a configuration
    /// that fails it (nothing is sent).
    pub fn check(&self) -> Result<(), InvalidBlueGreenConfig> {
        use BlueGreenField as F;
        let bad = |fields: &[BlueGreenField], message: String| {
            Err(InvalidBlueGreenConfig {
                fields: fields.to_vec(),
                message,
            })
        };
        if let Err(e) = self.health.check() {
            return Err(InvalidBlueGreenConfig {
                fields: e.fields.into_iter().map(F::Health).collect(),
                message: e.message,
            });
        }
        if let Some(ps) = &self.pre_switch {
            if let Err((method, m)) = ps.check() {
                return bad(
                    &[if method {
                        F::PreSwitchMethod
                    } else {
                        F::PreSwitch
                    }],
                    m,
                );
            }
            if self.load_balancer.is_some() {
                return bad(
                    &[F::PreSwitch, F::Lb],
                    "the pre-switch hook prepares a reserved IP's move; through a load balancer nothing moves and no connection is reset, so leave it out".into(),
                );
            }
        }
        let Some(lb) = &self.load_balancer else {
            let h = &self.health;
            if h.interval.saturating_mul(h.successes.saturating_sub(1)) >= self.verify_deadline {
                return bad(
                    &[F::VerifyDeadline, F::Health(HealthField::Successes)],
                    format!(
                        "verify deadline {:?} cannot fit {} passing probes {:?} apart",
                        self.verify_deadline, h.successes, h.interval
                    ),
                );
            }
            return Ok(());
        };
        if let Some(ip) = self.reserved_ip {
            return bad(
                &[F::ReservedIp, F::Lb],
                format!(
                    "both a reserved IP ({ip}) and a load balancer were given; blue-green switches traffic through one of them"
                ),
            );
        }
        if let Err(m) = lb.lb.check() {
            return bad(&[F::Lb], m);
        }
        if let Err((field, m)) = lb.watch.check() {
            let field = match field {
                WatchField::Url => F::WatchUrl,
                WatchField::Sightings => F::Sightings,
            };
            return bad(&[field], m);
        }
        if let Err(m) = crate::rolling::waits::check_scale(lb.wait_scale) {
            return bad(&[F::WaitScale], m);
        }
        Ok(())
    }
}

/// Blue-green through a load balancer: what [`BlueGreenConfig::load_balancer`] holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LbSettings {
    /// The load balancer.
    pub lb: LbRef,
    /// How droplets are seen joining and leaving it.
    pub watch: WatchSettings,
    /// In-flight allowance: after the live droplets stop receiving requests (their last
    /// answer through the load balancer, or their removal when they cannot be watched), the
    /// time left for requests already sent to them.
    #[serde(with = "secs")]
    pub drain_wait: Duration,
    /// Computed waits only: slack for the load balancer to notice a tag or droplet-list change.
    #[serde(with = "secs")]
    pub lb_sync_wait: Duration,
    /// Multiplies every computed wait; 1.0 in production, less in tests and simulations.
    pub wait_scale: f64,
}

impl LbSettings {
    /// Defaults for `lb`: watched (the identity learned, two sightings), a 5 s in-flight
    /// allowance, 5 s sync slack for computed waits, scale 1.
    pub fn new(lb: LbRef) -> Self {
        LbSettings {
            lb,
            watch: WatchSettings::default(),
            drain_wait: Duration::from_secs(5),
            lb_sync_wait: Duration::from_secs(5),
            wait_scale: 1.0,
        }
    }
}

/// A setting of [`BlueGreenConfig`], as named by [`InvalidBlueGreenConfig`]; callers map it to
/// their own names (the CLI to its flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BlueGreenField {
    /// `reserved_ip`.
    ReservedIp,
    /// `load_balancer` (its `lb`).
    Lb,
    /// `verify_deadline`.
    VerifyDeadline,
    /// `pre_switch` (its path).
    PreSwitch,
    /// `pre_switch` (its method).
    PreSwitchMethod,
    /// The URL watched instead of the load balancer's address.
    WatchUrl,
    /// The sightings a joining droplet must give.
    Sightings,
    /// The load balancer's `wait_scale`.
    WaitScale,
    /// A setting of the health gate.
    Health(HealthField),
}

/// Why a [`BlueGreenConfig`] is refused: the settings involved (the first is the one to change)
/// and what is wrong, naming settings (never a flag).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidBlueGreenConfig {
    /// The settings involved.
    pub fields: Vec<BlueGreenField>,
    /// What is wrong.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reserved_ip_and_a_load_balancer_together_are_refused() {
        let cfg = BlueGreenConfig {
            reserved_ip: Some(Ipv4Addr::new(203, 0, 113, 7)),
            load_balancer: Some(LbSettings::new(LbRef::parse("web-lb"))),
            ..BlueGreenConfig::default()
        };
        let e = cfg.check().unwrap_err();
        assert_eq!(e.fields, [BlueGreenField::ReservedIp, BlueGreenField::Lb]);
        assert_eq!(
            e.message,
            "both a reserved IP (203.0.113.7) and a load balancer were given; blue-green switches traffic through one of them"
        );
        let lb_only = BlueGreenConfig {
            reserved_ip: None,
            ..cfg.clone()
        };
        assert!(lb_only.check().is_ok());
        let mut empty = lb_only.clone();
        empty.load_balancer = Some(LbSettings::new(LbRef::parse(" ")));
        assert_eq!(empty.check().unwrap_err().fields, [BlueGreenField::Lb]);
        // The verify deadline is the reserved IP's: a load balancer is watched instead.
        let short = BlueGreenConfig {
            verify_deadline: Duration::from_millis(1),
            ..lb_only
        };
        assert!(short.check().is_ok());
        let ip_short = BlueGreenConfig {
            load_balancer: None,
            ..short
        };
        assert_eq!(
            ip_short.check().unwrap_err().fields[0],
            BlueGreenField::VerifyDeadline
        );
    }
}
