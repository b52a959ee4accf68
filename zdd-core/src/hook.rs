//! Hooks that touch a droplet (update it to the new version, drain it). Core defines the trait;
//! the CLI implements it by running the user's command with the droplet's details in
//! environment variables (never spliced into the command string).

use std::future::Future;
use std::net::Ipv4Addr;

use do_api::DropletId;
use do_api::droplets::Droplet;
use serde::Serialize;

/// The droplet a hook acts on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookTarget {
    /// Droplet id.
    pub id: DropletId,
    /// Droplet name.
    pub name: String,
    /// Public IPv4, if any.
    pub public_ipv4: Option<Ipv4Addr>,
    /// Private (VPC) IPv4, if any.
    pub private_ipv4: Option<Ipv4Addr>,
    /// The version being deployed (`--version`), if given.
    pub version: Option<String>,
    /// What the hook is for: `update`, `rollback`, `drain`.
    pub purpose: String,
}

impl HookTarget {
    /// Describe `droplet` for a hook.
    pub fn new(droplet: &Droplet, version: Option<&str>, purpose: &str) -> Self {
        HookTarget {
            id: droplet.id,
            name: droplet.name.clone(),
            public_ipv4: droplet.public_ipv4(),
            private_ipv4: droplet.private_ipv4(),
            version: version.map(str::to_owned),
            purpose: purpose.to_owned(),
        }
    }
}

/// Something to run against a droplet. `Err` carries a one-line reason.
pub trait DropletHook: Send + Sync {
    /// Run the hook; a non-zero exit or any failure is `Err`.
    fn run(&self, target: &HookTarget) -> impl Future<Output = Result<(), String>> + Send;
}

/// A hook that does nothing (no `--exec` given).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHook;

impl DropletHook for NoHook {
    async fn run(&self, _target: &HookTarget) -> Result<(), String> {
        Ok(())
    }
}
