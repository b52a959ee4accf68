//! A refusal: the state was not as a strategy needs it, so nothing will be done. Shared by
//! every strategy's planner.

use do_api::droplets::Droplet;
use serde::Serialize;

/// Why nothing will be done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{reason}; found: {found}")]
pub struct Refusal {
    /// What is wrong.
    pub reason: String,
    /// What was found (droplets, tags, where the IP points).
    pub found: String,
}

/// One line per droplet: `123 web-1 [PROD] active nyc3`.
pub fn describe(d: &Droplet) -> String {
    format!(
        "{} {} [{}] {} {}",
        d.id,
        d.name,
        d.tags.join(","),
        d.status,
        d.region_slug().unwrap_or("?")
    )
}

/// `none`, or each droplet described (`1 web-1 [PROD] active nyc3`), `; `-separated.
pub fn describe_all(ds: &[Droplet]) -> String {
    if ds.is_empty() {
        "none".to_owned()
    } else {
        ds.iter().map(describe).collect::<Vec<_>>().join("; ")
    }
}
