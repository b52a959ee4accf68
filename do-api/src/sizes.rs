//! Droplet sizes (`resources/sizes/` in the official spec): what each costs and where it is
//! offered, to estimate what a deploy that creates droplets costs and to check the size exists
//! in the region. Model: `resources/sizes/models/size.yml`.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{Client, Request};
use crate::error::Result;
use crate::pagination::Page;

/// A droplet size (`size`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Size {
    /// Its slug, as droplets name it (`s-1vcpu-1gb`).
    pub slug: String,
    /// Memory, in MiB.
    #[serde(default)]
    pub memory: u64,
    /// Virtual CPUs.
    #[serde(default)]
    pub vcpus: u32,
    /// Disk, in GB.
    #[serde(default)]
    pub disk: u64,
    /// Outbound transfer included, in TB.
    #[serde(default)]
    pub transfer: f64,
    /// Monthly price, in US dollars.
    #[serde(default)]
    pub price_monthly: f64,
    /// Hourly price, in US dollars.
    #[serde(default)]
    pub price_hourly: f64,
    /// The regions it can be created in.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Whether it can be created at all now.
    #[serde(default)]
    pub available: bool,
    /// Its class: Basic, General Purpose, CPU-Optimized, Memory-Optimized, ...
    #[serde(default)]
    pub description: String,
}

impl Size {
    /// Whether a droplet of this size can be created in `region` now.
    pub fn offered_in(&self, region: &str) -> bool {
        self.available && self.regions.iter().any(|r| r == region)
    }
}

/// Sizes ([`Client::sizes`]).
#[derive(Debug, Clone, Copy)]
pub struct Sizes<'a> {
    client: &'a Client,
}

impl Client {
    /// Droplet sizes: list them.
    pub fn sizes(&self) -> Sizes<'_> {
        Sizes { client: self }
    }
}

impl Sizes<'_> {
    /// Every size: `GET /v2/sizes`, all pages.
    pub async fn list(&self) -> Result<Vec<Size>> {
        self.client
            .all(&Request::new(Method::GET, &["v2", "sizes"]), "sizes")
            .await
    }

    /// One page of `GET /v2/sizes`.
    pub async fn list_page(&self, page: u32) -> Result<Page<Size>> {
        self.client
            .page(&Request::new(Method::GET, &["v2", "sizes"]), "sizes", page)
            .await
    }
}
