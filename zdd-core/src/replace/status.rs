//! `status --lb` for a load balancer whose fleet `replace` manages: what serves, what is kept
//! for a rollback (and until when), runs left half-way, and droplets no run owns any more.

use do_api::Client;
use do_api::droplets::{Droplet, DropletFilter};
use serde::Serialize;

use super::tags::{created_by, kept_until, lb_tag, previous_of};
use crate::events::{EventSink, Step};
use crate::lb::{LbRef, Membership, membership};
use crate::report::DropletSummary;
use crate::runner::Steps;

/// Where a replace-managed load balancer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplaceState {
    /// The fleet serves; anything kept is a previous fleet with a keep time.
    Consistent,
    /// A replace (or its rollback) stopped half-way: run it again to finish.
    Unfinished,
    /// Droplets of a run that no plan owns (not serving, not a kept fleet): `--finalize`
    /// deletes them.
    Orphans,
}

/// What `status` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplaceStatus {
    /// The load balancer's name.
    pub load_balancer: String,
    /// Its id.
    pub load_balancer_id: do_api::LoadBalancerId,
    /// The droplets it selects.
    pub serving: Vec<DropletSummary>,
    /// The previous fleet kept for `rollback --lb`, out of the load balancer.
    pub kept: Vec<DropletSummary>,
    /// Until when (Unix seconds).
    pub kept_until: Option<u64>,
    /// Droplets of runs no plan owns.
    pub orphans: Vec<DropletSummary>,
    /// The verdict.
    pub state: ReplaceState,
    /// What differs from a finished run, and what to do.
    pub drift: Vec<String>,
}

/// The pure part: the verdict from the fleet and the droplets runs keep.
pub fn describe(
    lb_name: &str,
    fleet: &[Droplet],
    runs: &[Droplet],
    now: u64,
) -> (ReplaceState, Vec<String>, Vec<Droplet>, Vec<Droplet>) {
    let in_fleet = |d: &Droplet| fleet.iter().any(|f| f.id == d.id);
    let kept: Vec<Droplet> = runs
        .iter()
        .filter(|d| previous_of(d).is_some() && !in_fleet(d))
        .cloned()
        .collect();
    let orphans: Vec<Droplet> = runs
        .iter()
        .filter(|d| !in_fleet(d) && previous_of(d).is_none() && created_by(d).is_some())
        .cloned()
        .collect();
    let mut drift = Vec::new();
    let mut state = ReplaceState::Consistent;
    let half_way = fleet.iter().any(|d| previous_of(d).is_some());
    if half_way {
        state = ReplaceState::Unfinished;
        drift.push(format!(
            "a replace stopped half-way: droplets it replaces still serve next to its new ones; run that replace again to finish, or `zdd-do rollback --lb {lb_name}` to undo"
        ));
    }
    if kept.iter().any(|d| kept_until(d).is_none()) {
        state = ReplaceState::Unfinished;
        drift.push(format!(
            "the kept fleet has no keep time: its replace stopped before the end; run it again to finish, or `zdd-do rollback --lb {lb_name}`"
        ));
    }
    if let Some(t) = kept.iter().filter_map(kept_until).max()
        && t <= now
    {
        drift.push(format!(
            "the kept fleet's time is up: the next deploy deletes it, or `zdd-do replace --lb {lb_name} --finalize` now"
        ));
    }
    if !orphans.is_empty() {
        if state == ReplaceState::Consistent {
            state = ReplaceState::Orphans;
        }
        drift.push(format!(
            "{} droplet(s) of a run no plan owns ({}): run that replace again to use them, or `zdd-do replace --lb {lb_name} --finalize` to delete them",
            orphans.len(),
            orphans
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    (state, drift, kept, orphans)
}

/// The status of `lb` when replace manages it (droplets carry `zdd-lb:<id>`); `None` when it
/// does not. Two reads: the load balancer, the droplets.
pub async fn status(
    client: &Client,
    lb: &LbRef,
    sink: &dyn EventSink,
) -> Result<Option<ReplaceStatus>, crate::Error> {
    let steps = Steps::new(sink);
    let lb = crate::rotation::resolve_lb(&steps, client, lb).await?;
    let s = steps.start(Step::Observe, "droplets kept by replace runs");
    let all = match client.droplets().list(&DropletFilter::all()).await {
        Ok(a) => a,
        Err(e) => {
            steps.finish(s, false, e.chain());
            return Err(crate::Error::api("reading the droplets", &e));
        }
    };
    let mark = lb_tag(&lb.id);
    let runs: Vec<Droplet> = all.iter().filter(|d| d.has_tag(&mark)).cloned().collect();
    steps.finish(
        s,
        true,
        format!("{} droplet(s) tagged `{mark}`", runs.len()),
    );
    if runs.is_empty() {
        return Ok(None);
    }
    let fleet: Vec<Droplet> = all
        .iter()
        .filter(|d| match membership(&lb) {
            Membership::Tag(t) => d.has_tag(&t),
            Membership::DropletIds => lb.droplet_ids.contains(&d.id),
        })
        .cloned()
        .collect();
    let now = crate::lock::now_unix();
    let (state, drift, kept, orphans) = describe(&lb.name, &fleet, &runs, now);
    Ok(Some(ReplaceStatus {
        load_balancer: lb.name.clone(),
        load_balancer_id: lb.id.clone(),
        serving: fleet.iter().map(Into::into).collect(),
        kept_until: kept.iter().filter_map(kept_until).max(),
        kept: kept.iter().map(Into::into).collect(),
        orphans: orphans.iter().map(Into::into).collect(),
        state,
        drift,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: u64, tags: &[&str]) -> Droplet {
        serde_json::from_value(
            serde_json::json!({"id": id, "name": format!("d{id}"), "status": "active", "tags": tags}),
        )
        .unwrap()
    }

    #[test]
    fn kept_fleets_half_way_runs_and_orphans() {
        let fleet = [d(11, &["web", "zdd-run:r2"])];
        let kept = d(1, &["zdd-prev:r2", "zdd-until:100"]);
        let (state, drift, k, o) = describe("web", &fleet, &[fleet[0].clone(), kept.clone()], 50);
        assert_eq!(
            (state, drift.len(), k.len(), o.len()),
            (ReplaceState::Consistent, 0, 1, 0)
        );
        // Past its time: said, still consistent.
        let (state, drift, _, _) = describe("web", &fleet, std::slice::from_ref(&kept), 100);
        assert_eq!(state, ReplaceState::Consistent);
        assert!(drift[0].contains("time is up"), "{drift:?}");
        // A run's droplet outside the load balancer: an orphan.
        let orphan = d(30, &["zdd-run:r3"]);
        let (state, drift, _, o) = describe("web", &fleet, &[kept.clone(), orphan], 50);
        assert_eq!((state, o.len()), (ReplaceState::Orphans, 1));
        assert!(drift[0].contains("--finalize"), "{drift:?}");
        // The replaced fleet still serving next to the new one: half-way.
        let both = [fleet[0].clone(), d(1, &["web", "zdd-prev:r2"])];
        let (state, _, _, _) = describe("web", &both, &both, 50);
        assert_eq!(state, ReplaceState::Unfinished);
    }
}
