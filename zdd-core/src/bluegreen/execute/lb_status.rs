//! `status` through a load balancer: which tagged droplets it serves, changing nothing.

use super::status::probe_each;
use super::*;
use crate::rolling::LbSummary;
use crate::rotation::names;

/// Where things stand through a load balancer, for `zdd-do status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LbStatusReport {
    /// The load balancer.
    pub load_balancer: LbSummary,
    /// Droplets carrying the live or standby tag that it serves, with their tags.
    pub in_lb: Vec<DropletSummary>,
    /// Droplets carrying either tag that it does not serve.
    pub out_of_lb: Vec<DropletSummary>,
    /// Droplets it also serves that carry neither tag.
    pub others: Vec<DropletId>,
    /// Whether the tags agree with what it serves.
    pub state: StatusState,
    /// Differences between the tags and what it serves, and what to do about them.
    pub drift: Vec<String>,
    /// Health of each tagged droplet (direct check), when asked for.
    pub health: Vec<DropletHealth>,
}

/// Observe through `cfg`'s load balancer and describe, changing nothing. `check_health` probes
/// each droplet once.
pub async fn status_lb(
    client: &Client,
    cfg: &BlueGreenConfig,
    check_health: bool,
    sink: &dyn EventSink,
) -> Result<LbStatusReport, crate::Error> {
    let steps = Steps::new(sink);
    let Some(settings) = &cfg.load_balancer else {
        return Err(Stop::new(
            Outcome::ConfigError,
            "no load balancer to show the status of",
        ));
    };
    let lb = crate::rotation::resolve_lb(&steps, client, &settings.lb).await?;
    let (through, gate) = lb_observe::Through::new(&cfg.target, &cfg.health, settings, lb)?;
    let obs = lb_observe::observe(&steps, client, &cfg.roles, &through.lb).await?;
    let (state, drift) = match lb_plan::plan(&obs, &cfg.roles) {
        Ok(LbPlan::Switch { .. }) => (StatusState::Consistent, Vec::new()),
        Ok(LbPlan::Continue { from, to }) => (
            StatusState::Interrupted,
            vec![format!(
                "{} joined load balancer {} next to {}: a switch stopped before taking them out; run `zdd-do promote` (or `rollback`) to finish",
                names(&to),
                obs.lb.name,
                names(&from)
            )],
        ),
        Ok(LbPlan::FinishTags { live, moves, .. }) => (
            StatusState::Interrupted,
            vec![format!(
                "load balancer {} serves {} but the tags were not fully moved ({}); run `zdd-do promote` (or `rollback`) to finish",
                obs.lb.name,
                names(&live),
                moves
                    .iter()
                    .map(|m| m.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )],
        ),
        Err(r) => (StatusState::Inconsistent, vec![r.reason]),
    };
    let mut tagged: Vec<&Droplet> = Vec::new();
    for d in obs.live_tagged.iter().chain(&obs.standby_tagged) {
        if !tagged.iter().any(|t| t.id == d.id) {
            tagged.push(d);
        }
    }
    let (inside, outside): (Vec<&Droplet>, Vec<&Droplet>) =
        tagged.iter().partition(|d| obs.selected.contains(&d.id));
    let health = if check_health {
        probe_each(&gate, tagged.iter().copied()).await
    } else {
        Vec::new()
    };
    Ok(LbStatusReport {
        load_balancer: through.summary(&gate),
        in_lb: inside.iter().map(|d| (*d).into()).collect(),
        out_of_lb: outside.iter().map(|d| (*d).into()).collect(),
        others: obs
            .selected
            .iter()
            .filter(|id| !tagged.iter().any(|d| d.id == **id))
            .copied()
            .collect(),
        state,
        drift,
        health,
    })
}
