//! The plan as data: the steps a blue-green run will take, serializable for
//! `--dry-run --output json`, with a sentence each ([`fmt::Display`]) for people.

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use do_api::DropletId;
use serde::Serialize;

use super::plan::TagMove;
use crate::report::secs;

/// One planned step.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum PlannedStep {
    /// Run the update command for the standby.
    Update {
        /// The standby.
        droplet: DropletId,
        /// Its name.
        name: String,
    },
    /// Probe the standby directly until it passes.
    HealthGate {
        /// The standby.
        droplet: DropletId,
        /// The URL probed (or why there is none).
        url: String,
        /// Passing probes in a row needed.
        successes: u32,
        /// Given up after.
        #[serde(with = "secs")]
        deadline: Duration,
    },
    /// Assign the reserved IP to the standby and wait for the action.
    Assign {
        /// The reserved IP.
        ip: Ipv4Addr,
        /// The droplet it moves to.
        to: DropletId,
        /// Its name.
        to_name: String,
        /// The droplet it leaves.
        from: DropletId,
        /// Its name.
        from_name: String,
    },
    /// Read through the API where the IP points.
    Confirm {
        /// The reserved IP.
        ip: Ipv4Addr,
        /// Where it should point.
        droplet: DropletId,
    },
    /// Probe through the reserved IP; on failure, assign it back.
    Verify {
        /// The URL probed.
        url: String,
        /// The reserved IP.
        ip: Ipv4Addr,
        /// Where traffic goes back to on failure.
        switch_back_to: DropletId,
    },
    /// An interrupted switch: the IP already points at `droplet`; verify, then move the tags.
    Resume {
        /// The reserved IP.
        ip: Ipv4Addr,
        /// The droplet it points at.
        droplet: DropletId,
        /// Its name.
        name: String,
        /// The URL probed.
        url: String,
    },
    /// One tag change.
    Tag(TagMove),
}

impl fmt::Display for PlannedStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlannedStep::Update { droplet, name } => {
                write!(f, "run the update command for droplet {droplet} ({name})")
            }
            PlannedStep::HealthGate {
                droplet,
                url,
                successes,
                deadline,
            } => write!(
                f,
                "health-gate droplet {droplet} at {url} ({successes} passing in a row within {}s)",
                deadline.as_secs()
            ),
            PlannedStep::Assign {
                ip,
                to,
                to_name,
                from,
                from_name,
            } => write!(
                f,
                "assign {ip} to droplet {to} ({to_name}), from droplet {from} ({from_name}), and wait for the action"
            ),
            PlannedStep::Confirm { ip, droplet } => write!(
                f,
                "confirm through the API that {ip} points at droplet {droplet}"
            ),
            PlannedStep::Verify {
                url,
                ip,
                switch_back_to,
            } => write!(
                f,
                "verify through {url}; on failure, assign {ip} back to droplet {switch_back_to}"
            ),
            PlannedStep::Resume {
                ip,
                droplet,
                name,
                url,
            } => write!(
                f,
                "resume: {ip} already points at droplet {droplet} ({name}); verify through {url}"
            ),
            PlannedStep::Tag(m) => m.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_objects_with_a_kind_and_sentences_for_people() {
        let s = PlannedStep::Assign {
            ip: Ipv4Addr::new(203, 0, 113, 7),
            to: DropletId(2),
            to_name: "green".into(),
            from: DropletId(1),
            from_name: "blue".into(),
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["step"], "assign");
        assert_eq!(v["to"], 2);
        assert_eq!(v["ip"], "203.0.113.7");
        assert_eq!(
            s.to_string(),
            "assign 203.0.113.7 to droplet 2 (green), from droplet 1 (blue), and wait for the action"
        );
        let t = PlannedStep::Tag(TagMove {
            add: true,
            tag: "PROD".into(),
            droplet: DropletId(2),
            droplet_name: "green".into(),
        });
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(
            (v["step"].as_str(), v["tag"].as_str()),
            (Some("tag"), Some("PROD"))
        );
        assert_eq!(t.to_string(), "tag 2 (green) with PROD");
    }
}
