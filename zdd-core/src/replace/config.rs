//! What a replace run (and its rollback and finalize) is asked to do.

use std::time::Duration;

use do_api::WaitOptions;
use serde::Serialize;

use super::plan::NewDroplets;
use crate::bluegreen::LbSettings;
use crate::health::{HealthPolicy, HealthTarget};
use crate::lock::LockSettings;
use crate::report::secs;
use crate::rolling::WatchField;

/// The default time a replaced fleet is kept for an instant rollback.
pub const DEFAULT_KEEP_PREVIOUS: Duration = Duration::from_secs(15 * 60);

/// Everything a replace run needs to know.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplaceConfig {
    /// The load balancer, and how droplets are seen joining and leaving it.
    pub lb: LbSettings,
    /// What the new droplets are made of (unused by rollback and finalize).
    pub new: NewDroplets,
    /// Where the direct health gate probes (unset parts: the load balancer's check).
    pub target: HealthTarget,
    /// How the gate judges.
    pub health: HealthPolicy,
    /// How long the replaced fleet is kept (powered, out of the load balancer) for `rollback`.
    #[serde(with = "secs")]
    pub keep_previous: Duration,
    /// How long new droplets may take to become active.
    #[serde(skip)]
    pub active_wait: WaitOptions,
    /// The version being deployed, passed to the install hook.
    pub version: Option<String>,
    /// First put only a few new droplets in, hold them for a window and judge them against
    /// the old fleet; the rest join only when they pass.
    pub canary: Option<crate::canary::CanaryConfig>,
    /// Print the plan, change nothing.
    pub dry_run: bool,
    /// The deploy lock (the load balancer's, shared with `roll`); `None` runs without one.
    pub lock: Option<LockSettings>,
}

impl ReplaceConfig {
    /// Defaults for `lb` and `new`: the previous fleet kept [`DEFAULT_KEEP_PREVIOUS`], new
    /// droplets given 5 minutes to become active (polled every 2 to 10 s), the lock.
    pub fn new(lb: LbSettings, new: NewDroplets) -> Self {
        ReplaceConfig {
            lb,
            new,
            target: HealthTarget::default(),
            health: HealthPolicy::default(),
            keep_previous: DEFAULT_KEEP_PREVIOUS,
            active_wait: WaitOptions::with_timeout(Duration::from_secs(300))
                .interval(Duration::from_secs(2), Duration::from_secs(10)),
            version: None,
            canary: None,
            dry_run: false,
            lock: Some(LockSettings::default()),
        }
    }

    /// The one check: `Err` is one line naming the setting and the fix; nothing is sent.
    pub fn check(&self) -> Result<(), String> {
        self.health.check().map_err(|e| e.message)?;
        self.lb.lb.check()?;
        self.lb.watch.check().map_err(|(f, m)| match f {
            WatchField::Url | WatchField::Sightings => m,
        })?;
        crate::rolling::waits::check_scale(self.lb.wait_scale)?;
        if let Some(c) = &self.canary {
            c.check().map_err(|(_, m)| m)?;
        }
        if let Some(u) = &self.new.user_data
            && u.len() > do_api::droplets::MAX_USER_DATA_BYTES
        {
            return Err(format!(
                "the user data is {} bytes; DigitalOcean takes at most {} (64 KiB): install the release from a script the user data downloads",
                u.len(),
                do_api::droplets::MAX_USER_DATA_BYTES
            ));
        }
        Ok(())
    }
}
