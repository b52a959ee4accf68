//! Hooks that touch a droplet (update it to the new version, drain it). Core defines the trait;
//! the CLI implements it by running the user's command with the droplet's details in
//! environment variables (never spliced into the command string).

use std::future::Future;
use std::net::Ipv4Addr;

use do_api::DropletId;
use do_api::droplets::Droplet;
use serde::Serialize;

/// What a hook is run for (`ZDD_HOOK` in the CLI's command environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HookPurpose {
    /// Put the new version on the droplet.
    Update,
    /// Put the previous version back (a rolling deploy's `--on-failure rollback`).
    Rollback,
}

impl HookPurpose {
    /// `update` or `rollback`.
    pub fn as_str(self) -> &'static str {
        match self {
            HookPurpose::Update => "update",
            HookPurpose::Rollback => "rollback",
        }
    }
}

impl std::fmt::Display for HookPurpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    /// What the hook is for.
    pub purpose: HookPurpose,
}

impl HookTarget {
    /// Describe `droplet` for a hook.
    pub fn new(droplet: &Droplet, version: Option<&str>, purpose: HookPurpose) -> Self {
        HookTarget {
            id: droplet.id,
            name: droplet.name.clone(),
            public_ipv4: droplet.public_ipv4(),
            private_ipv4: droplet.private_ipv4(),
            version: version.map(str::to_owned),
            purpose,
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
