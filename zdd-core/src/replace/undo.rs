//! Pure plans for what comes after a replacement: putting the previous fleet back
//! ([`rollback_plan`]) and deleting what runs kept ([`finalize_plan`]). From the load
//! balancer's fleet and the droplets runs keep for it ([`super::tags`]); no I/O here.

use do_api::droplets::Droplet;
use serde::Serialize;

use super::tags::{created_by, is_state_tag, previous_of};
use crate::refusal::{Refusal, describe_all};

/// Putting a kept previous fleet back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollbackPlan {
    /// The run being undone.
    pub run: String,
    /// The previous fleet (tagged `zdd-prev:<run>`): health-gated, put back, seen serving.
    pub previous: Vec<Droplet>,
    /// The run's droplets: taken out, seen gone, then deleted.
    pub new: Vec<Droplet>,
}

impl RollbackPlan {
    /// Whether an earlier attempt did everything but removing the previous fleet's tags.
    pub fn only_tags_left(&self, fleet: &[Droplet]) -> bool {
        self.new.is_empty()
            && self
                .previous
                .iter()
                .all(|d| fleet.iter().any(|f| f.id == d.id))
    }
}

/// Which kept previous fleet goes back, and which droplets leave; or why not.
pub fn rollback_plan(
    lb_name: &str,
    fleet: &[Droplet],
    runs: &[Droplet],
) -> Result<RollbackPlan, Refusal> {
    let found = || found(fleet, runs);
    let all = || {
        runs.iter()
            .chain(fleet.iter().filter(|f| !runs.iter().any(|r| r.id == f.id)))
    };
    let mut kept: Vec<&str> = all().filter_map(previous_of).collect();
    kept.sort_unstable();
    kept.dedup();
    let run = match kept.as_slice() {
        [] => {
            return Err(Refusal {
                reason: format!(
                    "no previous fleet is kept for load balancer {lb_name}: it was finalized (or deleted by a later deploy once its time was up), or this fleet was never replaced by `zdd-do replace`"
                ),
                found: found(),
            });
        }
        [one] => (*one).to_owned(),
        many => {
            return Err(Refusal {
                reason: format!(
                    "several replaced fleets are kept for load balancer {lb_name} (runs {}): this should not happen; delete the ones you do not want with `zdd-do replace --lb {lb_name} --finalize` after putting the right one back by hand",
                    many.join(", ")
                ),
                found: found(),
            });
        }
    };
    let previous: Vec<Droplet> = all()
        .filter(|d| previous_of(d) == Some(run.as_str()))
        .cloned()
        .collect();
    let new: Vec<Droplet> = all()
        .filter(|d| previous_of(d).is_none() && created_by(d) == Some(run.as_str()))
        .cloned()
        .collect();
    // The new droplets leave and are deleted: droplets of the fleet that neither run knows
    // keep serving, but never alone with none of the previous fleet to back them.
    Ok(RollbackPlan { run, previous, new })
}

/// Deleting what replace runs keep for a load balancer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinalizePlan {
    /// Kept droplets outside the load balancer: previous fleets, and droplets of runs that
    /// never finished. Deleted.
    pub delete: Vec<Droplet>,
    /// State tags left on droplets that serve (an undone run's marks): removed, per tag.
    pub untag: Vec<(String, Vec<do_api::DropletId>)>,
    /// State tags no droplet carries once this is done: deleted.
    pub delete_tags: Vec<String>,
}

impl FinalizePlan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.delete.is_empty() && self.untag.is_empty() && self.delete_tags.is_empty()
    }
}

/// What `--finalize` deletes; it never touches a droplet the load balancer selects, and
/// refuses while a replacement is half-way through its cut-over.
pub fn finalize_plan(
    lb_name: &str,
    fleet: &[Droplet],
    runs: &[Droplet],
) -> Result<FinalizePlan, Refusal> {
    let refuse = |reason: String| Refusal {
        reason,
        found: found(fleet, runs),
    };
    if fleet.is_empty() && !runs.is_empty() {
        return Err(refuse(format!(
            "load balancer {lb_name} selects no droplet: deleting what replace keeps for it would leave nothing to put back; put droplets back in first (`zdd-do rollback --lb {lb_name}`)"
        )));
    }
    // Half-way: the previous fleet and the run's droplets both in the load balancer.
    for d in fleet {
        if let Some(r) = previous_of(d)
            && fleet
                .iter()
                .any(|x| previous_of(x).is_none() && created_by(x) == Some(r))
        {
            return Err(refuse(format!(
                "replace {r} is half-way through its cut-over (its new droplets and the fleet they replace are both in load balancer {lb_name}): run that replace again to finish, or `zdd-do rollback --lb {lb_name}` to undo, then finalize"
            )));
        }
    }
    let delete: Vec<Droplet> = runs
        .iter()
        .filter(|d| !fleet.iter().any(|f| f.id == d.id))
        .cloned()
        .collect();
    let mut untag: Vec<(String, Vec<do_api::DropletId>)> = Vec::new();
    for d in fleet {
        for t in d.tags.iter().filter(|t| {
            t.starts_with(super::tags::PREV_TAG_PREFIX)
                || t.starts_with(super::tags::UNTIL_TAG_PREFIX)
        }) {
            match untag.iter_mut().find(|(x, _)| x == t) {
                Some((_, ids)) => ids.push(d.id),
                None => untag.push((t.clone(), vec![d.id])),
            }
        }
    }
    // Tags that only the deleted droplets (or the marks removed) carry.
    let survives = |t: &String| {
        fleet
            .iter()
            .any(|d| d.tags.contains(t) && !untag.iter().any(|(x, _)| x == t))
    };
    let mut delete_tags: Vec<String> = delete
        .iter()
        .flat_map(|d| d.tags.iter())
        .chain(untag.iter().map(|(t, _)| t))
        .filter(|t| is_state_tag(t) && !survives(t))
        .cloned()
        .collect();
    delete_tags.sort();
    delete_tags.dedup();
    Ok(FinalizePlan {
        delete,
        untag,
        delete_tags,
    })
}

fn found(fleet: &[Droplet], runs: &[Droplet]) -> String {
    format!(
        "the load balancer selects {}; kept by replace: {}",
        describe_all(fleet),
        describe_all(runs)
    )
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
    fn rollback_puts_the_kept_fleet_back_and_takes_the_run_out() {
        let fleet = [d(11, &["web", "zdd-run:r2"]), d(12, &["web", "zdd-run:r2"])];
        let runs = [
            fleet[0].clone(),
            fleet[1].clone(),
            d(1, &["zdd-run:r1", "zdd-prev:r2", "zdd-until:100"]),
            d(2, &["zdd-prev:r2", "zdd-until:100"]),
        ];
        let p = rollback_plan("web", &fleet, &runs).unwrap();
        assert_eq!(p.run, "r2");
        let ids = |ds: &[Droplet]| ds.iter().map(|d| d.id.0).collect::<Vec<_>>();
        assert_eq!(ids(&p.previous), [1, 2]);
        assert_eq!(ids(&p.new), [11, 12]);
        assert!(!p.only_tags_left(&fleet));
        // Nothing kept: refused, naming why that can be.
        let r = rollback_plan("web", &fleet, &fleet).unwrap_err();
        assert!(
            r.reason
                .starts_with("no previous fleet is kept for load balancer web"),
            "{r}"
        );
    }

    #[test]
    fn finalize_deletes_what_is_kept_outside_the_load_balancer_only() {
        let fleet = [d(11, &["web", "zdd-run:r2"])];
        let runs = [
            fleet[0].clone(),
            d(1, &["zdd-run:r1", "zdd-prev:r2", "zdd-until:100"]),
            d(30, &["zdd-run:r3"]),
        ];
        let p = finalize_plan("web", &fleet, &runs).unwrap();
        assert_eq!(p.delete.iter().map(|d| d.id.0).collect::<Vec<_>>(), [1, 30]);
        assert!(p.untag.is_empty());
        // r2's tag is still on the fleet: kept.
        assert_eq!(
            p.delete_tags,
            ["zdd-prev:r2", "zdd-run:r1", "zdd-run:r3", "zdd-until:100"]
        );
        // Half-way through a cut-over: refused.
        let fleet = [d(11, &["web", "zdd-run:r2"]), d(1, &["web", "zdd-prev:r2"])];
        let r = finalize_plan("web", &fleet, &fleet).unwrap_err();
        assert!(r.reason.contains("half-way through its cut-over"), "{r}");
        // Nothing serving: refused rather than deleting the last droplets.
        let r = finalize_plan("web", &[], &runs[1..]).unwrap_err();
        assert!(r.reason.contains("selects no droplet"), "{r}");
    }
}
