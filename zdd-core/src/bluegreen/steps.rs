//! The plan as data: the steps a blue-green run will take, serializable for
//! `--dry-run --output json`, with a sentence each ([`fmt::Display`]) for people.

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use do_api::DropletId;
use serde::Serialize;

use super::plan::TagMove;
use crate::lb::Membership;
use crate::report::{opt_secs, secs};
use crate::rolling::steps::PlannedDroplet;
use crate::rolling::waits::{Wait, WaitHow};

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
    /// Call the live droplet's pre-switch URL (keep-alive off), then check through the
    /// reserved IP, on a new connection, that answers say `Connection: close`.
    PreSwitch {
        /// The live droplet.
        droplet: DropletId,
        /// The URL called (or why there is none).
        url: String,
        /// The HTTP method.
        method: String,
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
    /// Through a load balancer: how droplets are seen joining and leaving it.
    Watch {
        /// `observed` (through the load balancer) or `computed` (slept).
        how: WaitHow,
        /// The URL watched.
        url: Option<String>,
        /// How answers name their droplet, and how that was found out.
        identity: Option<String>,
        /// Why the waits are computed.
        reason: Option<String>,
    },
    /// An interrupted switch through the load balancer: `joined` are in it already.
    ResumeLb {
        /// The load balancer's name.
        load_balancer: String,
        /// The droplets that joined it.
        joined: Vec<PlannedDroplet>,
        /// The droplets still to take out of it (none: they are out, the tags are behind).
        leaving: Vec<PlannedDroplet>,
    },
    /// Put droplets into the load balancer.
    Join {
        /// Its name.
        load_balancer: String,
        /// How it selects droplets (its tag, or a list of ids).
        membership: Membership,
        /// The droplets.
        droplets: Vec<PlannedDroplet>,
    },
    /// See the joined droplets answer through the load balancer (on failure they are taken out
    /// again), or wait the computed window.
    SeeServing {
        /// The droplets.
        droplets: Vec<PlannedDroplet>,
        /// Watched or computed.
        how: WaitHow,
        /// The URL watched.
        url: Option<String>,
        /// Watched: given up after.
        #[serde(with = "opt_secs")]
        deadline: Option<Duration>,
        /// Computed: the waits slept.
        waits: Vec<Wait>,
    },
    /// Take droplets out of the load balancer.
    Leave {
        /// Its name.
        load_balancer: String,
        /// How it selects droplets.
        membership: Membership,
        /// The droplets.
        droplets: Vec<PlannedDroplet>,
    },
    /// See the droplets taken out no longer answer (watched) or wait; then the in-flight
    /// allowance.
    SeeGone {
        /// The droplets.
        droplets: Vec<PlannedDroplet>,
        /// Watched or computed.
        how: WaitHow,
        /// The URL watched.
        url: Option<String>,
        /// The waits slept: computed ones, and the in-flight allowance.
        waits: Vec<Wait>,
    },
}

fn list(ds: &[PlannedDroplet]) -> String {
    ds.iter()
        .map(|d| format!("{} ({})", d.id, d.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn waits(ws: &[Wait]) -> String {
    ws.iter()
        .map(|w| w.to_string())
        .collect::<Vec<_>>()
        .join("; then ")
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
            PlannedStep::PreSwitch {
                droplet,
                url,
                method,
            } => write!(
                f,
                "{method} {url} on droplet {droplet} (keep-alive off), then check through the reserved IP that answers say `Connection: close`"
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
            PlannedStep::Watch {
                how: WaitHow::Observed,
                url,
                identity,
                ..
            } => write!(
                f,
                "watch droplets join and leave through {}{}",
                url.as_deref().unwrap_or("the load balancer"),
                identity
                    .as_deref()
                    .map(|i| format!(" ({i})"))
                    .unwrap_or_default()
            ),
            PlannedStep::Watch { reason, .. } => write!(
                f,
                "computed waits, not watched: {}",
                reason.as_deref().unwrap_or("nothing to watch")
            ),
            PlannedStep::ResumeLb {
                load_balancer,
                joined,
                leaving,
            } if leaving.is_empty() => write!(
                f,
                "resume: {} serve alone through load balancer {load_balancer}; check them, then move the tags",
                list(joined)
            ),
            PlannedStep::ResumeLb {
                load_balancer,
                joined,
                leaving,
            } => write!(
                f,
                "resume: {} joined load balancer {load_balancer}; {} still to take out",
                list(joined),
                list(leaving)
            ),
            PlannedStep::Join {
                load_balancer,
                membership,
                droplets,
            } => {
                let how = match membership {
                    Membership::Tag(t) => format!("tag `{t}`"),
                    Membership::DropletIds => "add the ids".into(),
                };
                write!(
                    f,
                    "put {} into load balancer {load_balancer} ({how})",
                    list(droplets)
                )
            }
            PlannedStep::SeeServing {
                droplets,
                how: WaitHow::Observed,
                url,
                deadline,
                ..
            } => write!(
                f,
                "watch {} until {} answer (within {}s); if not, take them out again",
                url.as_deref().unwrap_or("the load balancer"),
                list(droplets),
                deadline
                    .map(crate::rolling::waits::fmt_secs)
                    .unwrap_or_default()
            ),
            PlannedStep::SeeServing { waits: ws, .. } => write!(f, "wait {}", waits(ws)),
            PlannedStep::Leave {
                load_balancer,
                membership,
                droplets,
            } => {
                let how = match membership {
                    Membership::Tag(t) => format!("untag `{t}`"),
                    Membership::DropletIds => "remove the ids".into(),
                };
                write!(
                    f,
                    "take {} out of load balancer {load_balancer} ({how})",
                    list(droplets)
                )
            }
            PlannedStep::SeeGone {
                droplets,
                how: WaitHow::Observed,
                url,
                waits: ws,
            } => write!(
                f,
                "watch {} until {} no longer answer; then {}",
                url.as_deref().unwrap_or("the load balancer"),
                list(droplets),
                waits(ws)
            ),
            PlannedStep::SeeGone { waits: ws, .. } => write!(f, "wait {}", waits(ws)),
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
