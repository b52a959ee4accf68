//! One vocabulary for how a deploy ended, shared by every strategy; the CLI maps each to one
//! documented exit code. Serialized (and [`Outcome::as_str`]) in snake_case: `switched_back`.

use std::fmt;

use serde::Serialize;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Blue-green: traffic moved to the standby, verified, tags swapped.
    Switched,
    /// Blue-green: an interrupted run was finished (tags moved to match the IP).
    Resumed,
    /// Blue-green: the new version already answers through the reserved IP: nothing to do.
    AlreadyLive,
    /// Rolling: every droplet was updated, health-gated and put back.
    Rolled,
    /// Replace: new droplets serve through the load balancer; the old ones are out of it and
    /// kept for a rollback.
    Replaced,
    /// Replace `--finalize`: the droplets kept by replace runs were deleted (or none were).
    Finalized,
    /// The plan was printed; nothing changed.
    DryRun,
    /// The state was not as expected (or the plan could empty the pool); nothing changed.
    Refused,
    /// Blue-green: the update command or the health gate failed before the switch; nothing
    /// was switched.
    NotReady,
    /// Blue-green: switched, verification failed, traffic sent back to the previous droplet.
    SwitchedBack,
    /// Rolling: a droplet failed; the updated droplets were rolled back and are all back in
    /// rotation.
    RolledBack,
    /// Rolling: stopped midway: a droplet failed and is left out of rotation (marker tag), or
    /// a droplet staying in was unhealthy. The rest serve; re-run to resume.
    Paused,
    /// Undoing failed (a switch back, an assign, a rollback): where traffic goes, or what a
    /// droplet runs, is uncertain. Needs a human.
    Uncertain,
    /// Another run holds the deploy lock (or this run lost it before a change).
    Locked,
    /// A configuration value is unusable; nothing changed.
    ConfigError,
    /// The DigitalOcean API failed (or refused the token).
    ApiError,
    /// Interrupted (Ctrl-C, SIGTERM) before the end.
    Interrupted,
}

impl Outcome {
    /// Every outcome, for exhaustive tables and tests.
    pub const ALL: [Outcome; 17] = [
        Outcome::Switched,
        Outcome::Resumed,
        Outcome::AlreadyLive,
        Outcome::Rolled,
        Outcome::Replaced,
        Outcome::Finalized,
        Outcome::DryRun,
        Outcome::Refused,
        Outcome::NotReady,
        Outcome::SwitchedBack,
        Outcome::RolledBack,
        Outcome::Paused,
        Outcome::Uncertain,
        Outcome::Locked,
        Outcome::ConfigError,
        Outcome::ApiError,
        Outcome::Interrupted,
    ];

    /// The snake_case name, as in JSON reports and `ZDD_OUTCOME`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Switched => "switched",
            Outcome::Resumed => "resumed",
            Outcome::AlreadyLive => "already_live",
            Outcome::Rolled => "rolled",
            Outcome::Replaced => "replaced",
            Outcome::Finalized => "finalized",
            Outcome::DryRun => "dry_run",
            Outcome::Refused => "refused",
            Outcome::NotReady => "not_ready",
            Outcome::SwitchedBack => "switched_back",
            Outcome::RolledBack => "rolled_back",
            Outcome::Paused => "paused",
            Outcome::Uncertain => "uncertain",
            Outcome::Locked => "locked",
            Outcome::ConfigError => "config_error",
            Outcome::ApiError => "api_error",
            Outcome::Interrupted => "interrupted",
        }
    }

    /// Whether the run reached what was asked for.
    pub fn is_success(self) -> bool {
        matches!(
            self,
            Outcome::Switched
                | Outcome::Resumed
                | Outcome::AlreadyLive
                | Outcome::Rolled
                | Outcome::Replaced
                | Outcome::Finalized
                | Outcome::DryRun
        )
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serialized_names() {
        for o in Outcome::ALL {
            assert_eq!(
                serde_json::to_value(o).unwrap(),
                serde_json::Value::String(o.as_str().into()),
            );
            assert_eq!(o.to_string(), o.as_str());
        }
        assert_eq!(Outcome::SwitchedBack.as_str(), "switched_back");
    }
}
