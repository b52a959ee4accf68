//! Pure planning for rolling deploys: from what was observed (the load balancer, the droplets
//! it selects, the droplets carrying our marker tag) to batches, or a refusal that says what
//! was found. No I/O here; unit-tested without HTTP.
//!
//! A droplet is taken out of rotation in this order, so that a crash at any point leaves it
//! findable: 1. tag it with the marker `zdd-out:lb-<uuid>`, 2. remove the load balancer's tag
//! (or its id from the load balancer). It is put back in the reverse order: 1. the load
//! balancer's tag (or id), 2. untag the marker. A droplet carrying the marker and not selected
//! by the load balancer was left out by a crashed or paused run: it forms the first batch (it
//! is out already, so it is not counted against `--max-unavailable`). A droplet carrying both
//! is in rotation and is handled like any other.

use std::num::NonZeroUsize;

use do_api::droplets::Droplet;
use do_api::load_balancers::LoadBalancer;
use do_api::{DropletId, LoadBalancerId};

pub use crate::lb::{Membership, membership};
use crate::lock::scope_for_lb;
use crate::refusal::{Refusal, describe_all};

/// The marker tag of droplets we took out of `lb`'s rotation: `zdd-out:lb-<uuid>`.
pub fn marker_tag(lb: &LoadBalancerId) -> String {
    format!("zdd-out:{}", scope_for_lb(lb))
}

/// What observation found.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The load balancer.
    pub lb: LoadBalancer,
    /// The droplets it selects now (carrying its tag, or in its id list).
    pub selected: Vec<Droplet>,
    /// The droplets carrying our marker tag.
    pub marked: Vec<Droplet>,
    /// Selected droplets that failed a direct health probe before anything changed: they
    /// serve nothing (the load balancer has dropped them, or will), so they are updated first.
    pub unhealthy: Vec<DropletId>,
}

/// A droplet in a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The droplet.
    pub droplet: Droplet,
    /// Whether the load balancer selects it at the start (false: an earlier run left it out).
    pub in_rotation: bool,
}

/// Droplets handled together.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// 1-based.
    pub index: usize,
    /// Its droplets.
    pub members: Vec<Member>,
    /// Droplets an earlier run left out of rotation, handled first.
    pub resume: bool,
}

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub struct RollPlan {
    /// How droplets are taken out.
    pub membership: Membership,
    /// Our marker tag for this load balancer.
    pub marker: String,
    /// Every droplet, in the order they will be handled.
    pub pool: Vec<Droplet>,
    /// The batches, in order.
    pub batches: Vec<Batch>,
}

fn found(obs: &Observation) -> String {
    let list = describe_all;
    format!(
        "load balancer {} ({}) `{}` selecting {}: {}; left out by an earlier run: {}",
        obs.lb.name,
        obs.lb.id,
        obs.lb.status,
        membership(&obs.lb),
        list(&obs.selected),
        list(
            &obs.marked
                .iter()
                .filter(|m| !obs.selected.iter().any(|s| s.id == m.id))
                .cloned()
                .collect::<Vec<_>>()
        )
    )
}

/// Decide the batches, or refuse. `max_unavailable` droplets at most are taken out at once,
/// and at least one droplet always stays in rotation.
pub fn plan(obs: &Observation, max_unavailable: NonZeroUsize) -> Result<RollPlan, Refusal> {
    plan_with_canary(obs, max_unavailable, None)
}

/// [`plan`], with the first batch of the droplets in rotation a canary of `canary`'s size
/// (never all of them: at least one stays out of it); the others in batches of
/// `max_unavailable`.
pub fn plan_with_canary(
    obs: &Observation,
    max_unavailable: NonZeroUsize,
    canary: Option<crate::canary::CanarySize>,
) -> Result<RollPlan, Refusal> {
    let max_unavailable = max_unavailable.get();
    let refuse = |reason: String| {
        Err(Refusal {
            reason,
            found: found(obs),
        })
    };
    let lb = &obs.lb;
    if !lb.is_active() {
        return refuse(format!(
            "load balancer {} ({}) is `{}`, not `active`",
            lb.name, lb.id, lb.status
        ));
    }
    let mut out: Vec<Droplet> = obs
        .marked
        .iter()
        .filter(|m| !obs.selected.iter().any(|s| s.id == m.id))
        .cloned()
        .collect();
    out.sort_by_key(|d| d.id);
    out.dedup_by_key(|d| d.id);
    let mut rest: Vec<Droplet> = obs.selected.clone();
    // Unhealthy droplets first (taking them out costs no capacity, and the fix reaches them
    // first), then by id.
    rest.sort_by_key(|d| (!obs.unhealthy.contains(&d.id), d.id));
    rest.dedup_by_key(|d| d.id);
    let n = out.len() + rest.len();
    if n == 0 {
        return refuse(format!(
            "no droplet is behind load balancer {} ({})",
            lb.name,
            membership(lb)
        ));
    }
    for d in out.iter().chain(&rest) {
        if !d.is_active() {
            return refuse(format!(
                "droplet {} ({}) is `{}`, not `active`",
                d.id, d.name, d.status
            ));
        }
    }
    if out.is_empty() && max_unavailable >= n {
        return refuse(if n == 1 {
            format!(
                "load balancer {} has a single droplet: a rolling deploy would take it out of rotation; add a droplet, or use a blue-green deploy (`zdd-do promote`)",
                lb.name
            )
        } else {
            format!(
                "batches of {max_unavailable} would take all {n} droplets behind load balancer {} out of rotation at once; take at most {} at once",
                lb.name,
                n - 1
            )
        });
    }
    let mut batches = Vec::new();
    if !out.is_empty() {
        batches.push(Batch {
            index: 1,
            members: out
                .iter()
                .map(|d| Member {
                    droplet: d.clone(),
                    in_rotation: false,
                })
                .collect(),
            resume: true,
        });
    }
    let first = canary.map_or(0, |c| c.of(rest.len()).min(rest.len().saturating_sub(1)));
    let (head, tail) = rest.split_at(first);
    for chunk in std::iter::once(head)
        .filter(|h| !h.is_empty())
        .chain(tail.chunks(max_unavailable))
    {
        batches.push(Batch {
            index: batches.len() + 1,
            members: chunk
                .iter()
                .map(|d| Member {
                    droplet: d.clone(),
                    in_rotation: true,
                })
                .collect(),
            resume: false,
        });
    }
    Ok(RollPlan {
        membership: membership(lb),
        marker: marker_tag(&lb.id),
        pool: out.into_iter().chain(rest).collect(),
        batches,
    })
}

/// The rollback after `failed` went wrong, with `done` the batches that went through: the
/// failed batch first (its droplets are out already) in reverse order, then the earlier
/// batches' droplets, newest first, `max_unavailable` at a time. Batch numbers continue from
/// `next_index`.
pub fn rollback_batches(
    failed: &Batch,
    done: &[Batch],
    max_unavailable: NonZeroUsize,
    next_index: usize,
) -> Vec<Batch> {
    let out_already: Vec<Member> = failed
        .members
        .iter()
        .rev()
        .map(|m| Member {
            droplet: m.droplet.clone(),
            in_rotation: false,
        })
        .collect();
    let serving: Vec<Member> = done
        .iter()
        .rev()
        .flat_map(|b| b.members.iter().rev())
        .map(|m| Member {
            droplet: m.droplet.clone(),
            in_rotation: true,
        })
        .collect();
    std::iter::once(out_already)
        .chain(
            serving
                .chunks(max_unavailable.get())
                .map(<[Member]>::to_vec),
        )
        .filter(|members| !members.is_empty())
        .enumerate()
        .map(|(i, members)| Batch {
            index: next_index + i,
            members,
            resume: false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn droplet(id: u64, tags: &[&str], status: &str) -> Droplet {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "name": format!("web-{id}"),
            "status": status,
            "tags": tags,
            "region": {"slug": "nyc3"},
            "networks": {"v4": [{"ip_address": format!("203.0.113.{id}"), "type": "public"}]}
        }))
        .unwrap()
    }

    fn lb(tag: &str, ids: &[u64], status: &str) -> LoadBalancer {
        serde_json::from_value(serde_json::json!({
            "id": "4de7ac8b-495b-4884-9a69-1050c6793cd6",
            "name": "web-lb",
            "status": status,
            "tag": tag,
            "droplet_ids": ids,
            "health_check": {"protocol": "http", "port": 8080, "path": "/healthz",
                "check_interval_seconds": 10, "response_timeout_seconds": 5,
                "unhealthy_threshold": 3, "healthy_threshold": 5}
        }))
        .unwrap()
    }

    fn nz(n: usize) -> NonZeroUsize {
        NonZeroUsize::new(n).unwrap()
    }

    fn tagged(n: u64) -> Observation {
        Observation {
            lb: lb("web", &[], "active"),
            selected: (1..=n).map(|i| droplet(i, &["web"], "active")).collect(),
            marked: vec![],
            unhealthy: vec![],
        }
    }

    fn ids(p: &RollPlan) -> Vec<Vec<u64>> {
        p.batches
            .iter()
            .map(|b| b.members.iter().map(|m| m.droplet.id.0).collect())
            .collect()
    }

    #[test]
    fn batches_of_max_unavailable_in_id_order() {
        let mut obs = tagged(5);
        obs.selected.reverse();
        let p = plan(&obs, nz(1)).unwrap();
        assert_eq!(ids(&p), vec![vec![1], vec![2], vec![3], vec![4], vec![5]]);
        assert_eq!(p.membership, Membership::Tag("web".into()));
        assert_eq!(p.marker, "zdd-out:lb-4de7ac8b-495b-4884-9a69-1050c6793cd6");
        do_api::tags::validate_name(&p.marker).unwrap();
        assert_eq!(
            ids(&plan(&obs, nz(2)).unwrap()),
            vec![vec![1, 2], vec![3, 4], vec![5]]
        );
        assert_eq!(
            ids(&plan(&obs, nz(4)).unwrap()),
            vec![vec![1, 2, 3, 4], vec![5]]
        );
        assert_eq!(
            ids(&plan(&tagged(4), nz(2)).unwrap()),
            vec![vec![1, 2], vec![3, 4]]
        );
        let p = plan(&obs, nz(2)).unwrap();
        assert!(
            p.batches
                .iter()
                .all(|b| !b.resume && b.members.iter().all(|m| m.in_rotation))
        );
        assert_eq!(
            p.batches.iter().map(|b| b.index).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }

    #[test]
    fn a_batch_that_would_empty_the_pool_is_refused() {
        let r = plan(&tagged(3), nz(3)).unwrap_err();
        assert_eq!(
            r.reason,
            "batches of 3 would take all 3 droplets behind load balancer web-lb out of rotation at once; take at most 2 at once"
        );
        assert!(
            r.found
                .contains("selecting droplets tagged `web`: 1 web-1 [web] active nyc3;"),
            "{}",
            r.found
        );
        assert!(plan(&tagged(3), nz(7)).is_err());
        let r = plan(&tagged(1), nz(1)).unwrap_err();
        assert!(r.reason.contains("has a single droplet"), "{}", r.reason);
        assert!(plan(&tagged(2), nz(1)).is_ok());
    }

    #[test]
    fn other_refusals_say_what_is_wrong() {
        let r = plan(&tagged(0), nz(1)).unwrap_err();
        assert_eq!(
            r.reason,
            "no droplet is behind load balancer web-lb (droplets tagged `web`)"
        );
        let mut obs = tagged(3);
        obs.lb.status = "new".into();
        let r = plan(&obs, nz(1)).unwrap_err();
        assert!(r.reason.contains("is `new`, not `active`"), "{}", r.reason);
        let mut obs = tagged(3);
        obs.selected[1] = droplet(2, &["web"], "off");
        let r = plan(&obs, nz(1)).unwrap_err();
        assert_eq!(r.reason, "droplet 2 (web-2) is `off`, not `active`");
    }

    #[test]
    fn droplets_left_out_by_an_earlier_run_come_first() {
        let marker = marker_tag(&"4de7ac8b-495b-4884-9a69-1050c6793cd6".into());
        // Droplet 2 carries only the marker: out. Droplet 3 carries both (a take-out was
        // interrupted before the untag): in rotation, handled in turn.
        let two = droplet(2, &[&marker], "active");
        let three = droplet(3, &["web", &marker], "active");
        let obs = Observation {
            lb: lb("web", &[], "active"),
            selected: vec![
                droplet(1, &["web"], "active"),
                three.clone(),
                droplet(4, &["web"], "active"),
            ],
            marked: vec![three, two],
            unhealthy: vec![],
        };
        let p = plan(&obs, nz(1)).unwrap();
        assert_eq!(ids(&p), vec![vec![2], vec![1], vec![3], vec![4]]);
        assert!(p.batches[0].resume && !p.batches[0].members[0].in_rotation);
        assert!(!p.batches[1].resume);
        assert_eq!(
            p.pool.iter().map(|d| d.id.0).collect::<Vec<_>>(),
            [2, 1, 3, 4]
        );
        // The out droplet does not count against max-unavailable: 3 in rotation, batches of 3
        // would leave one (the resumed droplet, back by then).
        assert_eq!(
            ids(&plan(&obs, nz(3)).unwrap()),
            vec![vec![2], vec![1, 3, 4]]
        );
        // Every droplet out: the pool serves nothing already; putting them back is allowed.
        let all_out = Observation {
            lb: lb("web", &[], "active"),
            selected: vec![],
            marked: vec![droplet(1, &[&marker], "active")],
            unhealthy: vec![],
        };
        assert_eq!(ids(&plan(&all_out, nz(1)).unwrap()), vec![vec![1]]);
    }

    #[test]
    fn unhealthy_droplets_are_updated_first() {
        let mut obs = tagged(4);
        obs.unhealthy = vec![DropletId(3)];
        assert_eq!(
            ids(&plan(&obs, nz(1)).unwrap()),
            vec![vec![3], vec![1], vec![2], vec![4]]
        );
        obs.unhealthy = vec![DropletId(4), DropletId(2)];
        assert_eq!(
            ids(&plan(&obs, nz(2)).unwrap()),
            vec![vec![2, 4], vec![1, 3]]
        );
    }

    #[test]
    fn id_based_load_balancers_use_the_id_list() {
        let obs = Observation {
            lb: lb("", &[1, 2, 3], "active"),
            selected: (1..=3).map(|i| droplet(i, &[], "active")).collect(),
            marked: vec![],
            unhealthy: vec![],
        };
        let p = plan(&obs, nz(1)).unwrap();
        assert_eq!(p.membership, Membership::DropletIds);
        assert_eq!(ids(&p), vec![vec![1], vec![2], vec![3]]);
        let r = plan(&obs, nz(3)).unwrap_err();
        assert!(
            r.found.contains("selecting a list of droplet ids"),
            "{}",
            r.found
        );
    }

    #[test]
    fn a_rollback_starts_with_the_failed_batch_then_goes_newest_first() {
        let batch = |index: usize, ids: &[u64]| Batch {
            index,
            members: ids
                .iter()
                .map(|&id| Member {
                    droplet: droplet(id, &["web"], "active"),
                    in_rotation: true,
                })
                .collect(),
            resume: false,
        };
        let done = [batch(1, &[1, 2]), batch(2, &[3, 4])];
        let failed = batch(3, &[5, 6]);
        let rb = rollback_batches(&failed, &done, nz(3), 4);
        let shape: Vec<(usize, Vec<u64>, Vec<bool>)> = rb
            .iter()
            .map(|b| {
                (
                    b.index,
                    b.members.iter().map(|m| m.droplet.id.0).collect(),
                    b.members.iter().map(|m| m.in_rotation).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                (4, vec![6, 5], vec![false, false]),
                (5, vec![4, 3, 2], vec![true, true, true]),
                (6, vec![1], vec![true]),
            ]
        );
        // The first batch failed: only it is rolled back.
        let rb = rollback_batches(&batch(1, &[1]), &[], nz(1), 2);
        assert_eq!(rb.len(), 1);
        assert_eq!(rb[0].index, 2);
    }
}
