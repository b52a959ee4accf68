//! Exit codes: a contract with CI. The README's table is generated from [`TABLE`] and a test
//! checks that they agree.

use zdd_core::Outcome;
use zdd_core::bluegreen::StatusState;

/// Success, including a no-op, a finished resume and a dry run; for `status`, the reserved IP
/// and the tags agree (and with `--check-health` the live droplet answers).
pub const OK: i32 = 0;
/// `demo` only: a deploy or a request failed (the report says which).
pub const DEMO_FAILED: i32 = 1;
/// Usage or configuration error (bad flag, missing token, unreadable file). Nothing changed.
pub const USAGE: i32 = 2;
/// Refused: the droplets, tags or IP are not as expected. Nothing changed.
pub const REFUSED: i32 = 3;
/// The update command or the health gate failed before the switch. Nothing changed.
pub const NOT_READY: i32 = 4;
/// The deploy failed and was undone: traffic is on the previous version (promote: switched
/// back after a failed verification; roll: the updated droplets were rolled back).
pub const SWITCHED_BACK: i32 = 5;
/// Switching back (or an assign) failed: traffic state uncertain, needs a human.
pub const UNCERTAIN: i32 = 6;
/// Another run holds the deploy lock, or this run lost it before switching. Traffic did not move.
pub const LOCKED: i32 = 7;
/// DigitalOcean API or authentication failure.
pub const API: i32 = 8;
/// Roll: a droplet failed; it is out of rotation, the rest still serve; re-run to resume.
pub const PAUSED: i32 = 9;
/// Status: a run was interrupted after the switch; the reserved IP is on the standby-tagged
/// droplet and the tags are behind. `promote` (or `rollback`) again finishes it.
pub const STATUS_INTERRUPTED: i32 = 10;
/// Status: inconsistent (the reserved IP on nobody or on a droplet without either tag,
/// ambiguous tags, a droplet not active): needs a human.
pub const STATUS_INCONSISTENT: i32 = 11;
/// Status with `--check-health`: the droplet holding the reserved IP does not answer its health
/// check (an unhealthy standby is shown, but is not an error).
pub const STATUS_UNHEALTHY: i32 = 12;
/// Interrupted (SIGINT/SIGTERM). Run the same command again to finish or undo.
pub const INTERRUPTED: i32 = 130;

/// `(code, meaning)` for the README.
pub const TABLE: &[(i32, &str)] = &[
    (
        OK,
        "success: switched, rolled, replaced or finalized, resumed an interrupted run, already live (no-op), or dry run; status: the reserved IP and the tags agree and, with `--check-health`, the live droplet answers",
    ),
    (
        DEMO_FAILED,
        "demo: a deploy or a request failed (the report says which)",
    ),
    (
        USAGE,
        "usage or configuration error (bad flag, duration out of range, missing token); nothing changed",
    ),
    (
        REFUSED,
        "refused: droplets, tags, reserved IP or load balancer not as expected; nothing changed",
    ),
    (
        NOT_READY,
        "update command or health gate failed before the switch; nothing changed",
    ),
    (
        SWITCHED_BACK,
        "deploy failed and was undone: traffic is on the previous version (promote: switched back; roll: rolled back; replace: the new droplets were deleted)",
    ),
    (
        UNCERTAIN,
        "undoing failed (switch back or roll back): traffic state uncertain, needs a human",
    ),
    (
        LOCKED,
        "another run holds the deploy lock, or this run lost it before switching; traffic did not move",
    ),
    (API, "DigitalOcean API or authentication failure"),
    (
        PAUSED,
        "roll: a droplet failed; it is out of rotation, the rest still serve; re-run to resume",
    ),
    (
        STATUS_INTERRUPTED,
        "status: a run was interrupted after the switch: the reserved IP is on the standby-tagged droplet, the tags are behind; run `promote` (or `rollback`) again to finish (`--lb` after a replace: a replace stopped half-way; run it again)",
    ),
    (
        STATUS_INCONSISTENT,
        "status: inconsistent: the reserved IP on nobody or on a droplet with neither tag, ambiguous tags, or a droplet not active; needs a human (`--lb` after a replace: droplets of a run no plan owns; `replace --finalize` deletes them)",
    ),
    (
        STATUS_UNHEALTHY,
        "status `--check-health`: the droplet holding the reserved IP does not answer its health check",
    ),
    (
        INTERRUPTED,
        "interrupted (SIGINT/SIGTERM); run the same command again to finish or undo",
    ),
];

/// The exit code of an outcome (every strategy's: one vocabulary, one mapping).
pub fn for_outcome(o: Outcome) -> i32 {
    match o {
        Outcome::Switched
        | Outcome::Resumed
        | Outcome::AlreadyLive
        | Outcome::Rolled
        | Outcome::Replaced
        | Outcome::Finalized
        | Outcome::DryRun => OK,
        Outcome::ConfigError => USAGE,
        Outcome::Refused => REFUSED,
        Outcome::NotReady => NOT_READY,
        Outcome::SwitchedBack | Outcome::RolledBack => SWITCHED_BACK,
        Outcome::Uncertain => UNCERTAIN,
        Outcome::Locked => LOCKED,
        Outcome::ApiError => API,
        Outcome::Paused => PAUSED,
        Outcome::Interrupted => INTERRUPTED,
    }
}

/// The exit code of `status --lb` for a fleet replace manages: 10 when a run stopped half-way,
/// 11 when droplets of a run no plan owns are left.
pub fn for_replace_status(s: zdd_core::replace::ReplaceState) -> i32 {
    match s {
        zdd_core::replace::ReplaceState::Consistent => OK,
        zdd_core::replace::ReplaceState::Unfinished => STATUS_INTERRUPTED,
        zdd_core::replace::ReplaceState::Orphans => STATUS_INCONSISTENT,
    }
}

/// The exit code of a rolling outcome: [`for_outcome`].
pub fn for_roll_outcome(o: Outcome) -> i32 {
    for_outcome(o)
}

/// The exit code of `status`: the most severe finding. `state` is core's judgement of the
/// IP and the tags; `live_healthy` whether the droplet holding the reserved IP
/// answered its health check (`None` without `--check-health`). An inconsistent state comes
/// first (needs a human), then a live droplet that does not answer (users see errors now), then
/// an interrupted run (traffic is fine, the tags are behind).
pub fn for_status(state: StatusState, live_healthy: Option<bool>) -> i32 {
    match (state, live_healthy) {
        (StatusState::Inconsistent, _) => STATUS_INCONSISTENT,
        (_, Some(false)) => STATUS_UNHEALTHY,
        (StatusState::Consistent, _) => OK,
        (StatusState::Interrupted, _) => STATUS_INTERRUPTED,
    }
}

/// The table as text, for `--help`.
pub fn help_text() -> String {
    let mut out = String::from("Exit codes:\n");
    for (code, meaning) in TABLE {
        out.push_str(&format!("  {code:>3}  {meaning}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's exit-code table says exactly what [`TABLE`] says.
    #[test]
    fn readme_table_matches() {
        let readme = include_str!("../../README.md");
        let rows: Vec<(i32, String)> = readme
            .lines()
            .skip_while(|l| !l.contains("<!-- exit-codes -->"))
            .take_while(|l| !l.contains("<!-- /exit-codes -->"))
            .filter_map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                let code = cells.get(1)?.trim_matches('`').parse().ok()?;
                Some((code, cells.get(2)?.to_string()))
            })
            .collect();
        let expected: Vec<(i32, String)> = TABLE.iter().map(|(c, m)| (*c, m.to_string())).collect();
        assert_eq!(
            rows, expected,
            "update the README's exit-code table from exit::TABLE"
        );
    }

    #[test]
    fn every_outcome_maps_to_a_documented_code() {
        let documented: Vec<i32> = TABLE.iter().map(|(c, _)| *c).collect();
        for o in Outcome::ALL {
            assert!(documented.contains(&for_outcome(o)), "{o}");
            assert_eq!(for_outcome(o) == OK, o.is_success(), "{o}");
        }
        assert_eq!(for_outcome(Outcome::Paused), 9);
        assert_eq!(for_outcome(Outcome::RolledBack), 5);
        assert_eq!(for_outcome(Outcome::SwitchedBack), 5);
        assert_eq!(for_outcome(Outcome::Locked), 7);
    }

    #[test]
    fn status_exits_0_only_when_consistent_and_healthy() {
        assert_eq!(for_status(StatusState::Consistent, None), OK);
        assert_eq!(for_status(StatusState::Consistent, Some(true)), OK);
        assert_eq!(for_status(StatusState::Consistent, Some(false)), 12);
        assert_eq!(for_status(StatusState::Interrupted, None), 10);
        assert_eq!(for_status(StatusState::Interrupted, Some(true)), 10);
        assert_eq!(for_status(StatusState::Interrupted, Some(false)), 12);
        assert_eq!(for_status(StatusState::Inconsistent, None), 11);
        assert_eq!(for_status(StatusState::Inconsistent, Some(false)), 11);
        // Existing codes are unchanged.
        assert_eq!(
            (
                OK,
                USAGE,
                REFUSED,
                NOT_READY,
                SWITCHED_BACK,
                UNCERTAIN,
                LOCKED,
                API,
                PAUSED
            ),
            (0, 2, 3, 4, 5, 6, 7, 8, 9)
        );
        assert_eq!(INTERRUPTED, 130);
    }

    #[test]
    fn codes_are_distinct() {
        let mut codes: Vec<i32> = TABLE.iter().map(|(c, _)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), TABLE.len());
    }
}
