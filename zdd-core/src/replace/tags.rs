//! The tags that carry a replacement's state on the droplets themselves, so that any later run
//! (another runner, after a crash) reads it back with one list call:
//!
//! - `zdd-lb:<load balancer id>`: a droplet `replace` manages for that load balancer (the ones
//!   it created, and the fleet it replaced while it is kept). One list by this tag finds them.
//! - `zdd-run:<run id>`: created by that run ([`super::plan::run_id`]), from the create on.
//! - `zdd-prev:<run id>`: the fleet that run replaces; it leaves the load balancer once the new
//!   droplets serve, and is kept for `rollback`.
//! - `zdd-until:<unix seconds>`: the previous fleet is kept until then; set when the run ends.
//!   A previous fleet without it belongs to a run that has not finished.
//!
//! DigitalOcean tag names take letters, digits, `:`, `-` and `_` (up to 255 characters), which
//! these are.

use do_api::LoadBalancerId;
use do_api::droplets::Droplet;

use super::plan::{RUN_TAG_PREFIX, run_of};

/// Prefix of the tag naming a droplet's load balancer.
pub const LB_TAG_PREFIX: &str = "zdd-lb:";
/// Prefix of the tag marking a run's previous fleet.
pub const PREV_TAG_PREFIX: &str = "zdd-prev:";
/// Prefix of the tag saying until when a previous fleet is kept.
pub const UNTIL_TAG_PREFIX: &str = "zdd-until:";

/// `zdd-lb:<id>`.
pub fn lb_tag(lb: &LoadBalancerId) -> String {
    format!("{LB_TAG_PREFIX}{lb}")
}

/// `zdd-prev:<run id>`.
pub fn prev_tag(run: &str) -> String {
    format!("{PREV_TAG_PREFIX}{run}")
}

/// `zdd-until:<unix seconds>`.
pub fn until_tag(unix: u64) -> String {
    format!("{UNTIL_TAG_PREFIX}{unix}")
}

/// `zdd-run:<run id>`.
pub fn run_tag(run: &str) -> String {
    format!("{RUN_TAG_PREFIX}{run}")
}

/// The run that created `d`.
pub fn created_by(d: &Droplet) -> Option<&str> {
    d.tags.iter().find_map(|t| run_of(t))
}

/// The run whose previous fleet `d` is.
pub fn previous_of(d: &Droplet) -> Option<&str> {
    d.tags.iter().find_map(|t| t.strip_prefix(PREV_TAG_PREFIX))
}

/// Until when `d` is kept (the latest, if it carries several).
pub fn kept_until(d: &Droplet) -> Option<u64> {
    d.tags
        .iter()
        .filter_map(|t| t.strip_prefix(UNTIL_TAG_PREFIX))
        .filter_map(|u| u.parse().ok())
        .max()
}

/// Whether `tag` is one of the state tags above (or a run tag): the tags a run removes or
/// deletes when it is done with them.
pub fn is_state_tag(tag: &str) -> bool {
    tag.starts_with(PREV_TAG_PREFIX)
        || tag.starts_with(UNTIL_TAG_PREFIX)
        || tag.starts_with(RUN_TAG_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn droplet(tags: &[&str]) -> Droplet {
        serde_json::from_value(
            serde_json::json!({"id": 1, "name": "a", "status": "active", "tags": tags}),
        )
        .unwrap()
    }

    #[test]
    fn state_is_read_back_from_tags() {
        let d = droplet(&[
            "web",
            "zdd-run:aaaa0001",
            "zdd-prev:bbbb0002",
            "zdd-until:1796000000",
            "zdd-until:1796000600",
        ]);
        assert_eq!(created_by(&d), Some("aaaa0001"));
        assert_eq!(previous_of(&d), Some("bbbb0002"));
        assert_eq!(kept_until(&d), Some(1_796_000_600));
        assert_eq!(kept_until(&droplet(&["zdd-until:soon"])), None);
        assert!(is_state_tag("zdd-until:1") && is_state_tag("zdd-run:x"));
        assert!(!is_state_tag("zdd-lb:x") && !is_state_tag("web"));
        for t in [
            lb_tag(&LoadBalancerId::from(
                "4de7ac8b-495b-4884-9a69-1050c6793cd6",
            )),
            prev_tag("bbbb0002"),
            until_tag(1_796_000_600),
            run_tag("aaaa0001"),
        ] {
            do_api::tags::validate_name(&t).unwrap();
        }
    }
}
