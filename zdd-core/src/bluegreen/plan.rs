//! Pure planning for blue-green: from what was observed to what to do, or a refusal that says
//! what was found. No I/O here; unit-tested without HTTP.
//!
//! The reserved IP's assignment is the source of truth. The tag move after a switch runs in
//! this order, so that both droplets always carry at least one of the two tags and a re-run can
//! find them (`H` holds the IP, `O` is the other; `L`/`S` the live/standby tags):
//!
//! | state | H | O |
//! | --- | --- | --- |
//! | just switched | S | L |
//! | 1. tag O with S | S | L,S |
//! | 2. tag H with L | L,S | L,S |
//! | 3. untag L from O | L,S | S |
//! | 4. untag S from H | L | S |
//!
//! A clean `H{L} O{S}` is a fresh start: switch to `O`. The four states before it, where `H`
//! carries `S`, are an interrupted switch: finish the tag move. Anything else is refused.

use std::fmt;
use std::net::Ipv4Addr;

use do_api::DropletId;
use do_api::droplets::Droplet;
use serde::Serialize;

/// The two tags that mark the live droplet and the standby.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Roles {
    /// The live droplet's tag (`PROD`).
    pub live_tag: String,
    /// The standby's tag (`FALLBACK`).
    pub standby_tag: String,
}

/// Which of the two role tags a [`InvalidRoles`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleField {
    /// The live droplet's tag.
    LiveTag,
    /// The standby's tag.
    StandbyTag,
}

/// Why two role tags are refused: the tags involved and what is wrong (never a flag).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidRoles {
    /// The tags involved.
    pub fields: Vec<RoleField>,
    /// What is wrong.
    pub message: String,
}

impl Roles {
    /// The one check of the role tags: each a valid DigitalOcean tag name, and different.
    pub fn new(live_tag: &str, standby_tag: &str) -> Result<Roles, InvalidRoles> {
        for (field, tag) in [
            (RoleField::LiveTag, live_tag),
            (RoleField::StandbyTag, standby_tag),
        ] {
            do_api::tags::validate_name(tag).map_err(|e| InvalidRoles {
                fields: vec![field],
                message: e.to_string(),
            })?;
        }
        if live_tag == standby_tag {
            return Err(InvalidRoles {
                fields: vec![RoleField::LiveTag, RoleField::StandbyTag],
                message: format!(
                    "the live and standby tags are both `{live_tag}`; they must differ"
                ),
            });
        }
        Ok(Roles {
            live_tag: live_tag.to_owned(),
            standby_tag: standby_tag.to_owned(),
        })
    }
}

impl Default for Roles {
    fn default() -> Self {
        Roles {
            live_tag: "PROD".into(),
            standby_tag: "FALLBACK".into(),
        }
    }
}

/// What observation found.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The reserved IP.
    pub ip: Ipv4Addr,
    /// The reserved IP's region slug.
    pub ip_region: Option<String>,
    /// The droplet the IP is assigned to, as the API embeds it.
    pub ip_droplet: Option<Droplet>,
    /// Droplets carrying the live tag.
    pub live_tagged: Vec<Droplet>,
    /// Droplets carrying the standby tag.
    pub standby_tagged: Vec<Droplet>,
}

/// A tag change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagMove {
    /// Add (`true`) or remove (`false`).
    pub add: bool,
    /// The tag.
    pub tag: String,
    /// The droplet.
    pub droplet: DropletId,
    /// Its name, for reports.
    pub droplet_name: String,
}

impl fmt::Display for TagMove {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.add { "tag" } else { "untag" };
        write!(
            f,
            "{verb} {} ({}) {} {}",
            self.droplet,
            self.droplet_name,
            if self.add { "with" } else { "from" },
            self.tag
        )
    }
}

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Traffic is on `from` (live-tagged); move it to `to` (standby-tagged), then swap tags.
    Switch {
        /// The droplet the IP is on now.
        from: Droplet,
        /// The droplet that will get the IP.
        to: Droplet,
    },
    /// A previous run moved the IP to `live` but did not finish the tag move.
    FinishTags {
        /// The droplet holding the IP (it becomes the live-tagged one).
        live: Droplet,
        /// The other droplet (it becomes the standby).
        standby: Droplet,
        /// The tag changes still needed, in order.
        moves: Vec<TagMove>,
    },
}

pub use crate::refusal::{Refusal, describe};

pub(crate) use crate::refusal::describe_all as list;

fn found(obs: &Observation, roles: &Roles) -> String {
    let ip = match &obs.ip_droplet {
        Some(d) => format!("{} -> droplet {} ({})", obs.ip, d.id, d.name),
        None => format!("{} -> unassigned", obs.ip),
    };
    format!(
        "{}; reserved IP {ip}",
        tagged(roles, &obs.live_tagged, &obs.standby_tagged)
    )
}

/// `PROD: <droplets>; FALLBACK: <droplets>`.
pub(crate) fn tagged(roles: &Roles, live_tagged: &[Droplet], standby_tagged: &[Droplet]) -> String {
    format!(
        "{}: {}; {}: {}",
        roles.live_tag,
        list(live_tagged),
        roles.standby_tag,
        list(standby_tagged)
    )
}

/// Decide what promote (or rollback: the same protocol) should do.
pub fn plan(obs: &Observation, roles: &Roles) -> Result<Plan, Refusal> {
    let refuse = |reason: String| {
        Err(Refusal {
            reason,
            found: found(obs, roles),
        })
    };
    let (l, s) = (roles.live_tag.as_str(), roles.standby_tag.as_str());
    if l == s {
        return refuse(format!("the live and standby tags are both `{l}`"));
    }
    if obs.live_tagged.is_empty() && obs.standby_tagged.is_empty() {
        return refuse(format!("no droplet carries `{l}` or `{s}`"));
    }
    let mut union: Vec<&Droplet> = Vec::new();
    for d in obs.live_tagged.iter().chain(&obs.standby_tagged) {
        if !union.iter().any(|u| u.id == d.id) {
            union.push(d);
        }
    }
    let Some(ip_droplet) = &obs.ip_droplet else {
        return refuse(format!(
            "reserved IP {} is not assigned to any droplet",
            obs.ip
        ));
    };
    let Some(holder) = union.iter().find(|d| d.id == ip_droplet.id).copied() else {
        return refuse(format!(
            "reserved IP {} points at droplet {} ({}), which carries neither `{l}` nor `{s}`",
            obs.ip, ip_droplet.id, ip_droplet.name
        ));
    };
    if union.len() != 2 {
        return refuse(format!(
            "expected exactly two droplets carrying `{l}` or `{s}`, found {}",
            union.len()
        ));
    }
    let other = union
        .iter()
        .find(|d| d.id != holder.id)
        .copied()
        .expect("two droplets");
    for d in [holder, other] {
        if !d.is_active() {
            return refuse(format!(
                "droplet {} ({}) is `{}`, not `active`",
                d.id, d.name, d.status
            ));
        }
    }
    let regions = [holder.region_slug(), other.region_slug()];
    if regions[0] != regions[1] {
        return refuse(format!(
            "droplets {} and {} are in different regions ({} and {})",
            holder.id,
            other.id,
            regions[0].unwrap_or("?"),
            regions[1].unwrap_or("?")
        ));
    }
    if let (Some(ip_region), Some(region)) = (obs.ip_region.as_deref(), regions[0])
        && ip_region != region
    {
        return refuse(format!(
            "reserved IP {} is in {ip_region} but the droplets are in {region}",
            obs.ip
        ));
    }
    let tags = |d: &Droplet| (d.has_tag(l), d.has_tag(s));
    match (tags(holder), tags(other)) {
        // Clean: traffic on the live droplet.
        ((true, false), (false, true)) => Ok(Plan::Switch {
            from: holder.clone(),
            to: other.clone(),
        }),
        // Interrupted after the switch: the four states of the tag move.
        ((false, true), (true, false))
        | ((false, true), (true, true))
        | ((true, true), (true, true))
        | ((true, true), (false, true)) => Ok(Plan::FinishTags {
            live: holder.clone(),
            standby: other.clone(),
            moves: tag_moves(holder, other, roles),
        }),
        ((true, _), (true, false)) | ((true, false), (true, true)) => {
            refuse(format!("both droplets carry `{l}`"))
        }
        _ => refuse(format!(
            "droplet {} holds the reserved IP, but the tags do not show which droplet is live",
            holder.id
        )),
    }
}

/// The tag changes that make `live` carry only the live tag and `standby` only the standby tag
/// (of the two), in the crash-safe order of the module docs.
pub fn tag_moves(live: &Droplet, standby: &Droplet, roles: &Roles) -> Vec<TagMove> {
    group_tag_moves(
        std::slice::from_ref(live),
        std::slice::from_ref(standby),
        roles,
    )
}

/// [`tag_moves`] for two groups of droplets: each step of the order for every droplet of its
/// group before the next step, so that a crash between any two calls leaves a state a re-run
/// recognises.
pub fn group_tag_moves(live: &[Droplet], standby: &[Droplet], roles: &Roles) -> Vec<TagMove> {
    let (l, s) = (&roles.live_tag, &roles.standby_tag);
    let mv = |add: bool, tag: &String, d: &Droplet| TagMove {
        add,
        tag: tag.clone(),
        droplet: d.id,
        droplet_name: d.name.clone(),
    };
    // 1. standby get S, 2. live get L, 3. standby lose L, 4. live lose S.
    let order = [
        (standby, s, true),
        (live, l, true),
        (standby, l, false),
        (live, s, false),
    ];
    order
        .into_iter()
        .flat_map(|(ds, tag, add)| {
            ds.iter()
                .filter(move |d| d.has_tag(tag) != add)
                .map(move |d| mv(add, tag, d))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn droplet(id: u64, tags: &[&str], status: &str, region: &str) -> Droplet {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "name": format!("web-{id}"),
            "status": status,
            "tags": tags,
            "region": {"slug": region},
            "networks": {"v4": [{"ip_address": format!("203.0.113.{id}"), "type": "public"}]}
        }))
        .unwrap()
    }

    fn obs(live: Vec<Droplet>, standby: Vec<Droplet>, holder: Option<Droplet>) -> Observation {
        Observation {
            ip: "198.51.100.7".parse().unwrap(),
            ip_region: Some("nyc3".into()),
            ip_droplet: holder,
            live_tagged: live,
            standby_tagged: standby,
        }
    }

    fn clean() -> (Droplet, Droplet) {
        (
            droplet(1, &["PROD"], "active", "nyc3"),
            droplet(2, &["FALLBACK"], "active", "nyc3"),
        )
    }

    fn refusal(o: &Observation) -> String {
        plan(o, &Roles::default()).unwrap_err().to_string()
    }

    #[test]
    fn clean_state_switches_to_the_standby() {
        let (a, b) = clean();
        let p = plan(
            &obs(vec![a.clone()], vec![b.clone()], Some(a.clone())),
            &Roles::default(),
        )
        .unwrap();
        assert_eq!(p, Plan::Switch { from: a, to: b });
    }

    #[test]
    fn tag_moves_after_a_switch_follow_the_safe_order() {
        let (a, b) = clean();
        // The IP is now on b: b becomes live.
        let moves: Vec<String> = tag_moves(&b, &a, &Roles::default())
            .iter()
            .map(|m| m.to_string())
            .collect();
        assert_eq!(
            moves,
            vec![
                "tag 1 (web-1) with FALLBACK",
                "tag 2 (web-2) with PROD",
                "untag 1 (web-1) from PROD",
                "untag 2 (web-2) from FALLBACK"
            ]
        );
    }

    #[test]
    fn every_interrupted_tag_move_state_resumes_without_switching() {
        // (holder tags, other tags, moves left)
        let states: [(&[&str], &[&str], usize); 4] = [
            (&["FALLBACK"], &["PROD"], 4),
            (&["FALLBACK"], &["PROD", "FALLBACK"], 3),
            (&["FALLBACK", "PROD"], &["PROD", "FALLBACK"], 2),
            (&["FALLBACK", "PROD"], &["FALLBACK"], 1),
        ];
        for (h_tags, o_tags, left) in states {
            let h = droplet(2, h_tags, "active", "nyc3");
            let o = droplet(1, o_tags, "active", "nyc3");
            let tagged = |t: &str| {
                [&h, &o]
                    .into_iter()
                    .filter(|d| d.has_tag(t))
                    .cloned()
                    .collect::<Vec<_>>()
            };
            let observation = obs(tagged("PROD"), tagged("FALLBACK"), Some(h.clone()));
            match plan(&observation, &Roles::default()).unwrap() {
                Plan::FinishTags {
                    live,
                    standby,
                    moves,
                } => {
                    assert_eq!((live.id, standby.id), (h.id, o.id));
                    assert_eq!(moves.len(), left, "{h_tags:?} {o_tags:?}: {moves:?}");
                }
                other => panic!("{h_tags:?} {o_tags:?}: expected FinishTags, got {other:?}"),
            }
        }
    }

    #[test]
    fn refusals_say_what_was_found() {
        let (a, b) = clean();
        let r = refusal(&obs(vec![], vec![], None));
        assert!(
            r.starts_with("no droplet carries `PROD` or `FALLBACK`"),
            "{r}"
        );

        let r = refusal(&obs(vec![a.clone()], vec![b.clone()], None));
        assert!(r.contains("is not assigned to any droplet"), "{r}");

        let third = droplet(9, &[], "active", "nyc3");
        let r = refusal(&obs(vec![a.clone()], vec![b.clone()], Some(third)));
        assert!(
            r.contains("points at droplet 9 (web-9), which carries neither"),
            "{r}"
        );
        assert!(
            r.contains(
                "PROD: 1 web-1 [PROD] active nyc3; FALLBACK: 2 web-2 [FALLBACK] active nyc3"
            ),
            "{r}"
        );

        let c = droplet(3, &["FALLBACK"], "active", "nyc3");
        let r = refusal(&obs(vec![a.clone()], vec![b.clone(), c], Some(a.clone())));
        assert!(r.contains("expected exactly two droplets"), "{r}");

        let r = refusal(&obs(vec![a.clone()], vec![], Some(a.clone())));
        assert!(
            r.contains("expected exactly two droplets carrying `PROD` or `FALLBACK`, found 1"),
            "{r}"
        );

        let both = droplet(2, &["PROD", "FALLBACK"], "active", "nyc3");
        let r = refusal(&obs(
            vec![a.clone(), both.clone()],
            vec![both],
            Some(a.clone()),
        ));
        assert!(r.contains("both droplets carry `PROD`"), "{r}");

        let off = droplet(2, &["FALLBACK"], "off", "nyc3");
        let r = refusal(&obs(vec![a.clone()], vec![off], Some(a.clone())));
        assert!(
            r.contains("droplet 2 (web-2) is `off`, not `active`"),
            "{r}"
        );

        let far = droplet(2, &["FALLBACK"], "active", "ams3");
        let r = refusal(&obs(vec![a.clone()], vec![far], Some(a.clone())));
        assert!(r.contains("different regions (nyc3 and ams3)"), "{r}");

        let (a2, b2) = (
            droplet(1, &["PROD"], "active", "ams3"),
            droplet(2, &["FALLBACK"], "active", "ams3"),
        );
        let r = refusal(&obs(vec![a2.clone()], vec![b2], Some(a2)));
        assert!(
            r.contains("reserved IP 198.51.100.7 is in nyc3 but the droplets are in ams3"),
            "{r}"
        );

        // Both standby-tagged, none live: not a state our tag move produces.
        let (h, o) = (
            droplet(1, &["FALLBACK"], "active", "nyc3"),
            droplet(2, &["FALLBACK"], "active", "nyc3"),
        );
        let r = refusal(&obs(vec![], vec![h.clone(), o], Some(h)));
        assert!(
            r.contains("the tags do not show which droplet is live"),
            "{r}"
        );

        let same = Roles {
            live_tag: "X".into(),
            standby_tag: "X".into(),
        };
        assert!(plan(&obs(vec![a.clone()], vec![b], Some(a)), &same).is_err());
    }
}
