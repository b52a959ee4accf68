//! Models shared by several resources.

use serde::{Deserialize, Serialize};

/// A region as embedded in droplets, actions, reserved IPs and load balancers
/// (`resources/regions/models/region.yml`). Every field is optional so that the partial regions
/// some answers embed still decode.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Region {
    /// Short id such as `nyc3`.
    #[serde(default)]
    pub slug: Option<String>,
    /// Display name such as `New York 3`.
    #[serde(default)]
    pub name: Option<String>,
    /// Features available in the region.
    #[serde(default)]
    pub features: Vec<String>,
    /// Whether new droplets can be created there.
    #[serde(default)]
    pub available: Option<bool>,
    /// Size slugs available there.
    #[serde(default)]
    pub sizes: Vec<String>,
}
