//! Shared pieces of the reports strategies return.

pub use crate::serde_time::{opt_secs, secs};

/// One step's timing.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StepTiming {
    /// Which step.
    pub step: crate::events::Step,
    /// What it acted on, how it ended.
    pub detail: String,
    /// How long it took.
    #[serde(with = "secs")]
    pub duration: std::time::Duration,
    /// Whether it succeeded.
    pub ok: bool,
}

/// A droplet, as reports show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DropletSummary {
    /// Id.
    pub id: do_api::DropletId,
    /// Name.
    pub name: String,
    /// Public IPv4.
    pub public_ipv4: Option<std::net::Ipv4Addr>,
    /// Private IPv4.
    pub private_ipv4: Option<std::net::Ipv4Addr>,
    /// Status.
    pub status: do_api::droplets::DropletStatus,
    /// Tags.
    pub tags: Vec<String>,
    /// Region slug.
    pub region: Option<String>,
}

impl From<&do_api::Droplet> for DropletSummary {
    fn from(d: &do_api::Droplet) -> Self {
        DropletSummary {
            id: d.id,
            name: d.name.clone(),
            public_ipv4: d.public_ipv4(),
            private_ipv4: d.private_ipv4(),
            status: d.status.clone(),
            tags: d.tags.clone(),
            region: d.region_slug().map(str::to_owned),
        }
    }
}
