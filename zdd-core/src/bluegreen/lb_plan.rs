//! Pure planning for blue-green through a load balancer: from what was observed to what to do,
//! or a refusal that says what was found. No I/O here; unit-tested without HTTP.
//!
//! Membership in the load balancer is the source of truth, as the reserved IP's holder is for
//! the reserved-IP path. A switch from the live group `A` (tagged `L`) to the standby group `B`
//! (tagged `S`) runs in this order, so that a re-run can tell every state apart and finish it
//! (or undo it):
//!
//! | state | A | B | a re-run |
//! | --- | --- | --- | --- |
//! | fresh | `L`, in | `S`, out | switch to `B` |
//! | 1. `B` joins | `L`, in | `S`, in | continue: gate `B`, see it serve, take `A` out |
//! | 2. `A` leaves | `L`, out | `S`, in | finish the tag move |
//! | 3.–6. the tag move | out | in | finish the tag move |
//! | done | `S`, out | `L`, in | (fresh, the other way) |
//!
//! The tag move is the reserved IP's ([`super::plan`]), over groups: the droplets in the load
//! balancer play the part of the IP's holder. A standby that never answers through the load
//! balancer is taken out again (state 1 back to fresh).
//!
//! A load balancer that selects droplets by the live tag itself is refused: joining it would
//! tag the standby with the live tag, and while both carry both tags nothing would say which
//! one is new. A load balancer selecting by another tag, or by a list of droplet ids, works.

use do_api::DropletId;
use do_api::droplets::Droplet;
use do_api::load_balancers::LoadBalancer;

use super::plan::{Refusal, Roles, TagMove, group_tag_moves, tagged};
use crate::lb::{Membership, membership};

/// What observation found.
#[derive(Debug, Clone, PartialEq)]
pub struct LbObservation {
    /// The load balancer.
    pub lb: LoadBalancer,
    /// Every droplet it selects now (carrying its tag, or in its list of ids).
    pub selected: Vec<DropletId>,
    /// Droplets carrying the live tag.
    pub live_tagged: Vec<Droplet>,
    /// Droplets carrying the standby tag.
    pub standby_tagged: Vec<Droplet>,
}

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub enum LbPlan {
    /// Traffic is on `from` (live-tagged, in the load balancer): put `to` (standby-tagged, out)
    /// in, see them serve, take `from` out, swap the tags.
    Switch {
        /// The droplets serving now.
        from: Vec<Droplet>,
        /// The droplets that will serve.
        to: Vec<Droplet>,
    },
    /// A previous run put `to` in and stopped before taking `from` out: gate `to` again, see
    /// them serve, take `from` out, swap the tags (or take `to` out again when they fail).
    Continue {
        /// The live-tagged droplets, still in.
        from: Vec<Droplet>,
        /// The standby-tagged droplets, in already.
        to: Vec<Droplet>,
    },
    /// A previous run took `standby` out and did not finish the tag move: check `live`, then
    /// move the tags.
    FinishTags {
        /// The droplets in the load balancer (they become the live-tagged ones).
        live: Vec<Droplet>,
        /// The droplets out of it (they become the standbys).
        standby: Vec<Droplet>,
        /// The tag changes still needed, in order.
        moves: Vec<TagMove>,
    },
}

fn found(obs: &LbObservation, roles: &Roles) -> String {
    let selected: Vec<String> = obs.selected.iter().map(|id| id.to_string()).collect();
    format!(
        "{}; load balancer {} ({}) selects: {}",
        tagged(roles, &obs.live_tagged, &obs.standby_tagged),
        obs.lb.name,
        membership(&obs.lb),
        if selected.is_empty() {
            "none".into()
        } else {
            selected.join(", ")
        }
    )
}

fn ids(ds: &[&Droplet]) -> String {
    ds.iter()
        .map(|d| d.id.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decide what promote (or rollback: the same protocol) through a load balancer should do.
pub fn plan(obs: &LbObservation, roles: &Roles) -> Result<LbPlan, Refusal> {
    let refuse = |reason: String| {
        Err(Refusal {
            reason,
            found: found(obs, roles),
        })
    };
    let (l, s) = (roles.live_tag.as_str(), roles.standby_tag.as_str());
    let lb = &obs.lb;
    if l == s {
        return refuse(format!("the live and standby tags are both `{l}`"));
    }
    if !lb.is_active() {
        return refuse(format!(
            "load balancer {} ({}) is `{}`, not `active`",
            lb.name, lb.id, lb.status
        ));
    }
    if let Membership::Tag(t) = membership(lb)
        && (t == l || t == s)
    {
        let role = if t == l { "live" } else { "standby" };
        return refuse(format!(
            "load balancer {} selects droplets by the {role} tag `{t}`, so putting a droplet in would move the {role} tag itself; give the load balancer a tag of its own (carried by the live droplets) or a list of droplet ids",
            lb.name
        ));
    }
    let mut union: Vec<&Droplet> = Vec::new();
    for d in obs.live_tagged.iter().chain(&obs.standby_tagged) {
        if !union.iter().any(|u| u.id == d.id) {
            union.push(d);
        }
    }
    if union.is_empty() {
        return refuse(format!("no droplet carries `{l}` or `{s}`"));
    }
    if let Some(d) = union.iter().find(|d| !d.is_active()) {
        return refuse(format!(
            "droplet {} ({}) is `{}`, not `active`",
            d.id, d.name, d.status
        ));
    }
    let others: Vec<String> = obs
        .selected
        .iter()
        .filter(|id| !union.iter().any(|d| d.id == **id))
        .map(|id| id.to_string())
        .collect();
    if !others.is_empty() {
        return refuse(format!(
            "load balancer {} also serves droplets carrying neither `{l}` nor `{s}` ({}): a switch would leave them serving",
            lb.name,
            others.join(", ")
        ));
    }
    let (inside, outside): (Vec<&Droplet>, Vec<&Droplet>) =
        union.iter().partition(|d| obs.selected.contains(&d.id));
    if inside.is_empty() {
        return refuse(format!(
            "no droplet carrying `{l}` or `{s}` is in load balancer {}",
            lb.name
        ));
    }
    let tags = |d: &&Droplet| (d.has_tag(l), d.has_tag(s));
    let owned = |ds: &[&Droplet]| ds.iter().map(|d| (*d).clone()).collect::<Vec<_>>();
    let only = |ds: &[&Droplet], want: (bool, bool)| ds.iter().all(|d| tags(d) == want);
    if outside.is_empty() {
        // All in: the standbys joined, the live droplets have not left yet.
        let (from, to): (Vec<&Droplet>, Vec<&Droplet>) =
            inside.iter().partition(|d| tags(d) == (true, false));
        if !from.is_empty() && !to.is_empty() && only(&to, (false, true)) {
            return Ok(LbPlan::Continue {
                from: owned(&from),
                to: owned(&to),
            });
        }
        return refuse(format!(
            "every droplet carrying `{l}` or `{s}` is in load balancer {}, and the tags do not say which are joining (droplets carrying only `{l}` are leaving, droplets carrying only `{s}` joining)",
            lb.name
        ));
    }
    if only(&inside, (true, false)) && only(&outside, (false, true)) {
        return Ok(LbPlan::Switch {
            from: owned(&inside),
            to: owned(&outside),
        });
    }
    if tag_move_in_progress(&inside, &outside, l, s) {
        let (live, standby) = (owned(&inside), owned(&outside));
        let moves = group_tag_moves(&live, &standby, roles);
        return Ok(LbPlan::FinishTags {
            live,
            standby,
            moves,
        });
    }
    refuse(format!(
        "the tags do not match which droplets are in load balancer {} (in: {}; out: {})",
        lb.name,
        ids(&inside),
        ids(&outside)
    ))
}

/// Whether the tags of `inside` (becoming live) and `outside` (becoming standby) are a state the
/// tag move passes through, in its order: 1. `outside` get `S`, 2. `inside` get `L`, 3.
/// `outside` lose `L`, 4. `inside` lose `S`; each step for every droplet before the next.
fn tag_move_in_progress(inside: &[&Droplet], outside: &[&Droplet], l: &str, s: &str) -> bool {
    let any = |ds: &[&Droplet], tag: &str, has: bool| ds.iter().any(|d| d.has_tag(tag) == has);
    let all = |ds: &[&Droplet], tag: &str, has: bool| ds.iter().all(|d| d.has_tag(tag) == has);
    let step1_done = all(outside, s, true);
    let (step2_started, step2_done) = (any(inside, l, true), all(inside, l, true));
    let (step3_started, step3_done) = (any(outside, l, false), all(outside, l, false));
    let step4_started = any(inside, s, false);
    (!step2_started || step1_done)
        && (!step3_started || step2_done)
        && (!step4_started || step3_done)
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
        }))
        .unwrap()
    }

    /// Droplets `(id, tags)`; those in `inside` are selected by a load balancer over ids.
    fn obs(droplets: &[(u64, &[&str])], inside: &[u64]) -> LbObservation {
        let ds: Vec<Droplet> = droplets
            .iter()
            .map(|(id, tags)| droplet(*id, tags, "active"))
            .collect();
        let tagged = |t: &str| ds.iter().filter(|d| d.has_tag(t)).cloned().collect();
        LbObservation {
            lb: lb("", inside, "active"),
            selected: inside.iter().map(|i| DropletId(*i)).collect(),
            live_tagged: tagged("PROD"),
            standby_tagged: tagged("FALLBACK"),
        }
    }

    fn ids_of(ds: &[Droplet]) -> Vec<u64> {
        ds.iter().map(|d| d.id.0).collect()
    }

    fn refusal(o: &LbObservation) -> String {
        plan(o, &Roles::default()).unwrap_err().to_string()
    }

    #[test]
    fn fresh_state_switches_to_the_standbys() {
        let o = obs(&[(1, &["PROD"]), (2, &["FALLBACK"])], &[1]);
        match plan(&o, &Roles::default()).unwrap() {
            LbPlan::Switch { from, to } => {
                assert_eq!((ids_of(&from), ids_of(&to)), (vec![1], vec![2]))
            }
            other => panic!("{other:?}"),
        }
        // Two groups.
        let o = obs(
            &[
                (1, &["PROD"]),
                (2, &["PROD"]),
                (3, &["FALLBACK"]),
                (4, &["FALLBACK"]),
            ],
            &[1, 2],
        );
        match plan(&o, &Roles::default()).unwrap() {
            LbPlan::Switch { from, to } => {
                assert_eq!((ids_of(&from), ids_of(&to)), (vec![1, 2], vec![3, 4]))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn both_in_continues_with_taking_the_live_ones_out() {
        let o = obs(&[(1, &["PROD"]), (2, &["FALLBACK"])], &[1, 2]);
        match plan(&o, &Roles::default()).unwrap() {
            LbPlan::Continue { from, to } => {
                assert_eq!((ids_of(&from), ids_of(&to)), (vec![1], vec![2]))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_state_of_the_tag_move_finishes_it() {
        // 2 is in (becoming live), 1 out: (2's tags, 1's tags, moves left).
        let states: [(&[&str], &[&str], usize); 4] = [
            (&["FALLBACK"], &["PROD"], 4),
            (&["FALLBACK"], &["PROD", "FALLBACK"], 3),
            (&["FALLBACK", "PROD"], &["PROD", "FALLBACK"], 2),
            (&["FALLBACK", "PROD"], &["FALLBACK"], 1),
        ];
        for (in_tags, out_tags, left) in states {
            let o = obs(&[(1, out_tags), (2, in_tags)], &[2]);
            match plan(&o, &Roles::default()).unwrap() {
                LbPlan::FinishTags {
                    live,
                    standby,
                    moves,
                } => {
                    assert_eq!((ids_of(&live), ids_of(&standby)), (vec![2], vec![1]));
                    assert_eq!(moves.len(), left, "{in_tags:?} {out_tags:?}: {moves:?}");
                }
                other => panic!("{in_tags:?} {out_tags:?}: {other:?}"),
            }
        }
        // Groups, a crash inside step 1: one of the two standbys-to-be has its tag already.
        let o = obs(
            &[
                (1, &["PROD", "FALLBACK"]),
                (2, &["PROD"]),
                (3, &["FALLBACK"]),
                (4, &["FALLBACK"]),
            ],
            &[3, 4],
        );
        match plan(&o, &Roles::default()).unwrap() {
            LbPlan::FinishTags { moves, .. } => assert_eq!(
                moves.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
                [
                    "tag 2 (web-2) with FALLBACK",
                    "tag 3 (web-3) with PROD",
                    "tag 4 (web-4) with PROD",
                    "untag 1 (web-1) from PROD",
                    "untag 2 (web-2) from PROD",
                    "untag 3 (web-3) from FALLBACK",
                    "untag 4 (web-4) from FALLBACK"
                ]
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn states_the_order_never_produces_are_refused() {
        // The live tag left droplet 1 before droplet 2 (in) got it.
        let r = refusal(&obs(&[(1, &["FALLBACK"]), (2, &["FALLBACK"])], &[2]));
        assert!(
            r.contains(
                "the tags do not match which droplets are in load balancer web-lb (in: 2; out: 1)"
            ),
            "{r}"
        );
        // A live droplet out of the load balancer next to one in it.
        let r = refusal(&obs(
            &[(1, &["PROD"]), (2, &["PROD"]), (3, &["FALLBACK"])],
            &[1],
        ));
        assert!(r.contains("(in: 1; out: 2, 3)"), "{r}");
        // Everything in, and no standby to say which is joining.
        let r = refusal(&obs(&[(1, &["PROD"]), (2, &["PROD", "FALLBACK"])], &[1, 2]));
        assert!(r.contains("the tags do not say which are joining"), "{r}");
    }

    #[test]
    fn refusals_say_what_was_found() {
        let r = refusal(&obs(&[(1, &["PROD"]), (2, &["FALLBACK"])], &[]));
        assert_eq!(
            r,
            "no droplet carrying `PROD` or `FALLBACK` is in load balancer web-lb; found: PROD: 1 web-1 [PROD] active nyc3; FALLBACK: 2 web-2 [FALLBACK] active nyc3; load balancer web-lb (a list of droplet ids) selects: none"
        );
        let r = refusal(&obs(&[(1, &["PROD"]), (2, &["FALLBACK"])], &[1, 9]));
        assert!(
            r.starts_with("load balancer web-lb also serves droplets carrying neither `PROD` nor `FALLBACK` (9)"),
            "{r}"
        );
        let r = refusal(&obs(&[], &[]));
        assert!(
            r.starts_with("no droplet carries `PROD` or `FALLBACK`"),
            "{r}"
        );
        let mut o = obs(&[(1, &["PROD"]), (2, &["FALLBACK"])], &[1]);
        o.standby_tagged[0].status = do_api::droplets::DropletStatus::Off;
        assert!(refusal(&o).contains("droplet 2 (web-2) is `off`, not `active`"));
        let mut o = obs(&[(1, &["PROD"]), (2, &["FALLBACK"])], &[1]);
        o.lb = lb("", &[1], "new");
        assert!(refusal(&o).contains("is `new`, not `active`"));
        for tag in ["PROD", "FALLBACK"] {
            let mut o = obs(&[(1, &["PROD"]), (2, &["FALLBACK"])], &[1]);
            o.lb = lb(tag, &[], "active");
            let r = refusal(&o);
            assert!(
                r.contains(&format!("tag `{tag}`, so putting a droplet in would move")),
                "{r}"
            );
        }
    }
}
