//! `status`: observe and describe, changing nothing.

use super::*;

/// Where things stand, for `zdd-do status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    /// The reserved IP.
    pub reserved_ip: Ipv4Addr,
    /// The droplet it points at.
    pub ip_droplet: Option<DropletSummary>,
    /// Droplets with the live tag.
    pub live_tagged: Vec<DropletSummary>,
    /// Droplets with the standby tag.
    pub standby_tagged: Vec<DropletSummary>,
    /// Whether the tags agree with where the IP points.
    pub state: StatusState,
    /// Differences between the tags and the IP, and what to do about them.
    pub drift: Vec<String>,
    /// Health of each tagged droplet (direct check), when asked for.
    pub health: Vec<DropletHealth>,
}

/// Where things stand between the reserved IP and the tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusState {
    /// The IP is on the live-tagged droplet; the standby is tagged as such.
    Consistent,
    /// The IP is on the standby-tagged droplet: a switch finished, its tag move did not
    /// (running promote or rollback again finishes it).
    Interrupted,
    /// Anything else (the IP on nobody or a third droplet, ambiguous tags): needs a human.
    Inconsistent,
}

impl StatusState {
    /// `consistent`, `interrupted` or `inconsistent`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusState::Consistent => "consistent",
            StatusState::Interrupted => "interrupted",
            StatusState::Inconsistent => "inconsistent",
        }
    }
}

impl std::fmt::Display for StatusState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One droplet's direct health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DropletHealth {
    /// Droplet id.
    pub id: DropletId,
    /// The URL probed.
    pub url: String,
    /// Whether it passed.
    pub healthy: bool,
    /// Status or failure.
    pub detail: String,
}

/// Observe and describe, changing nothing. `check_health` probes each droplet once.
pub async fn status(
    client: &Client,
    cfg: &BlueGreenConfig,
    check_health: bool,
    sink: &dyn EventSink,
) -> Result<StatusReport, crate::Error> {
    let steps = Steps::new(sink);
    let gate = cfg.gate();
    let ip = observe::resolve_ip(&steps, client, cfg).await?;
    let obs = observe::observe(&steps, client, &cfg.roles, ip).await?;
    let (state, drift) = match plan(&obs, &cfg.roles) {
        Ok(Plan::Switch { .. }) => (StatusState::Consistent, Vec::new()),
        Ok(Plan::FinishTags { live, moves, .. }) => (
            StatusState::Interrupted,
            vec![format!(
                "{ip} points at droplet {} but the tags were not fully moved ({}); run `zdd-do promote` (or `rollback`) to finish",
                live.id,
                moves
                    .iter()
                    .map(|m| m.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )],
        ),
        Err(r) => (StatusState::Inconsistent, vec![r.reason]),
    };
    let health = if check_health {
        probe_each(&gate, obs.live_tagged.iter().chain(&obs.standby_tagged)).await
    } else {
        Vec::new()
    };
    Ok(StatusReport {
        reserved_ip: ip,
        ip_droplet: obs.ip_droplet.as_ref().map(Into::into),
        live_tagged: obs.live_tagged.iter().map(Into::into).collect(),
        standby_tagged: obs.standby_tagged.iter().map(Into::into).collect(),
        state,
        drift,
        health,
    })
}

/// One direct probe of each droplet (each once, though it may come twice).
pub(super) async fn probe_each(
    gate: &HealthGate,
    droplets: impl Iterator<Item = &Droplet>,
) -> Vec<DropletHealth> {
    let mut health = Vec::new();
    let mut seen = Vec::new();
    for d in droplets {
        if seen.contains(&d.id) {
            continue;
        }
        seen.push(d.id);
        match gate.address_of(d) {
            Ok(addr) => {
                let url = gate.url_for(addr);
                let r = gate.policy.probe(&url).await;
                health.push(DropletHealth {
                    id: d.id,
                    url,
                    healthy: r.is_ok(),
                    detail: match r {
                        Ok(s) => format!("status {s}"),
                        Err(f) => f.to_string(),
                    },
                });
            }
            Err(m) => health.push(DropletHealth {
                id: d.id,
                url: String::new(),
                healthy: false,
                detail: m,
            }),
        }
    }
    health
}
