//! The body of droplet actions (`resources/droplets/models/droplet_actions.yml`): what
//! [`DropletActions::post`](super::DropletActions::post) sends, and whether it may be repeated.

use serde::Serialize;

use super::request::{BackupPolicy, ImageRef, check_droplet_name};
use crate::actions::ActionType;
use crate::client::Repeat;
use crate::error::Result;
use crate::ids::ImageId;
use crate::validate;

/// The kind of a [`DropletAction`] and what it needs: `{"type": "...", ...params}` as in
/// `resources/droplets/models/droplet_actions.yml`.
///
/// Retries: [`DropletAction::is_idempotent`] decides whether a request that failed with a 5xx
/// or timed out is sent again.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DropletAction {
    /// Graceful reboot.
    Reboot,
    /// Hard reset.
    PowerCycle,
    /// Graceful shutdown (may fail inside the droplet; follow with `power_off`).
    Shutdown,
    /// Hard power off.
    PowerOff,
    /// Power on.
    PowerOn,
    /// Enable backups (`droplet_action_enable_backups`), daily unless a policy is given.
    EnableBackups {
        /// The backup policy.
        #[serde(skip_serializing_if = "Option::is_none")]
        backup_policy: Option<BackupPolicy>,
    },
    /// Disable backups.
    DisableBackups,
    /// Change the backup policy (`droplet_action_change_backup_policy`).
    ChangeBackupPolicy {
        /// The new policy.
        backup_policy: BackupPolicy,
    },
    /// Restore from a backup of this droplet (`droplet_action_restore`).
    Restore {
        /// The backup image's id.
        image: ImageId,
    },
    /// Reset the root password (mailed to the account).
    PasswordReset,
    /// Resize (`droplet_action_resize`).
    Resize {
        /// The new size slug.
        size: String,
        /// Also grow the disk (permanent: disks cannot shrink).
        #[serde(skip_serializing_if = "Option::is_none")]
        disk: Option<bool>,
    },
    /// Rebuild from an image, wiping the disk (`droplet_action_rebuild`).
    Rebuild {
        /// The image, by slug or id.
        image: ImageRef,
    },
    /// Rename (`droplet_action_rename`).
    Rename {
        /// The new name.
        name: String,
    },
    /// Change the kernel of a droplet with an externally managed kernel
    /// (`droplet_action_change_kernel`).
    ChangeKernel {
        /// The kernel's id.
        kernel: u64,
    },
    /// Enable IPv6 (cannot be undone).
    EnableIpv6,
    /// Take a snapshot (`droplet_action_snapshot`).
    Snapshot {
        /// The snapshot's name.
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Enable private networking. Not in the current spec's type list (private networking is
    /// automatic with VPCs); kept for older accounts and for [`ActionType::EnablePrivateNetworking`].
    EnablePrivateNetworking,
}

impl DropletAction {
    /// `enable_backups` with the default (daily) policy.
    pub fn enable_backups() -> Self {
        DropletAction::EnableBackups {
            backup_policy: None,
        }
    }

    /// `restore` from backup image `image`.
    pub fn restore(image: impl Into<ImageId>) -> Self {
        DropletAction::Restore {
            image: image.into(),
        }
    }

    /// `resize` to `size`, CPU and memory only (`disk` not sent).
    pub fn resize(size: impl Into<String>) -> Self {
        DropletAction::Resize {
            size: size.into(),
            disk: None,
        }
    }

    /// `rebuild` from `image` (slug or id).
    pub fn rebuild(image: impl Into<ImageRef>) -> Self {
        DropletAction::Rebuild {
            image: image.into(),
        }
    }

    /// `rename` to `name`.
    pub fn rename(name: impl Into<String>) -> Self {
        DropletAction::Rename { name: name.into() }
    }

    /// `snapshot` named `name`.
    pub fn snapshot(name: impl Into<String>) -> Self {
        DropletAction::Snapshot {
            name: Some(name.into()),
        }
    }

    /// The action's `type`.
    pub fn kind(&self) -> ActionType {
        match self {
            DropletAction::Reboot => ActionType::Reboot,
            DropletAction::PowerCycle => ActionType::PowerCycle,
            DropletAction::Shutdown => ActionType::Shutdown,
            DropletAction::PowerOff => ActionType::PowerOff,
            DropletAction::PowerOn => ActionType::PowerOn,
            DropletAction::EnableBackups { .. } => ActionType::EnableBackups,
            DropletAction::DisableBackups => ActionType::DisableBackups,
            DropletAction::ChangeBackupPolicy { .. } => ActionType::ChangeBackupPolicy,
            DropletAction::Restore { .. } => ActionType::Restore,
            DropletAction::PasswordReset => ActionType::PasswordReset,
            DropletAction::Resize { .. } => ActionType::Resize,
            DropletAction::Rebuild { .. } => ActionType::Rebuild,
            DropletAction::Rename { .. } => ActionType::Rename,
            DropletAction::ChangeKernel { .. } => ActionType::ChangeKernel,
            DropletAction::EnableIpv6 => ActionType::EnableIpv6,
            DropletAction::Snapshot { .. } => ActionType::Snapshot,
            DropletAction::EnablePrivateNetworking => ActionType::EnablePrivateNetworking,
        }
    }

    /// Whether doing the action twice leaves the droplet as doing it once would; only those are
    /// sent again after a 5xx or a timeout (DigitalOcean may have acted on the first attempt).
    ///
    /// - Repeated: `power_on`, `power_off`, `shutdown` (target power state), `enable_ipv6`,
    ///   `enable_private_networking`, `enable_backups`, `disable_backups`,
    ///   `change_backup_policy` (target setting), `rename`, `change_kernel` (target value).
    ///   If the first attempt did take effect, the repeat may be refused with a 4xx (for
    ///   example "already powered on"); that error is returned as is.
    /// - Never repeated: `reboot`, `power_cycle` (a second restart), `password_reset` (a second
    ///   password), `snapshot` (a second image), `restore`, `rebuild` (wipe the disk again),
    ///   `resize` (a long, billable operation that locks the droplet).
    pub fn is_idempotent(&self) -> bool {
        matches!(
            self,
            DropletAction::PowerOn
                | DropletAction::PowerOff
                | DropletAction::Shutdown
                | DropletAction::EnableIpv6
                | DropletAction::EnablePrivateNetworking
                | DropletAction::EnableBackups { .. }
                | DropletAction::DisableBackups
                | DropletAction::ChangeBackupPolicy { .. }
                | DropletAction::Rename { .. }
                | DropletAction::ChangeKernel { .. }
        )
    }

    /// Whether `POST /v2/droplets/actions?tag_name=` accepts it (`dropletActions_post_byTag.yml`:
    /// `power_cycle`, `power_on`, `power_off`, `shutdown`, `enable_ipv6`, `enable_backups`,
    /// `disable_backups`, `snapshot`).
    pub fn allowed_by_tag(&self) -> bool {
        matches!(
            self,
            DropletAction::PowerCycle
                | DropletAction::PowerOn
                | DropletAction::PowerOff
                | DropletAction::Shutdown
                | DropletAction::EnableIpv6
                | DropletAction::EnableBackups { .. }
                | DropletAction::DisableBackups
                | DropletAction::Snapshot { .. }
        )
    }

    pub(super) fn repeat(&self) -> Repeat {
        if self.is_idempotent() {
            Repeat::Safe
        } else {
            Repeat::Unsafe
        }
    }

    /// Everything checked before sending: non-empty size, name and image slug, a valid backup
    /// hour.
    pub fn validate(&self) -> Result<()> {
        match self {
            DropletAction::EnableBackups {
                backup_policy: Some(p),
            }
            | DropletAction::ChangeBackupPolicy { backup_policy: p } => p.check(),
            DropletAction::Resize { size, .. } => {
                validate::non_empty("resize size slug", size).map(drop)
            }
            DropletAction::Rebuild { image } => image.check(),
            DropletAction::Rename { name } => check_droplet_name(name),
            DropletAction::Snapshot { name: Some(n) } => {
                validate::non_empty("snapshot name", n).map(drop)
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::request::Weekday;
    use super::*;

    #[test]
    fn every_action_serializes_as_the_spec_says() {
        let cases = [
            (DropletAction::Reboot, json!({"type": "reboot"})),
            (DropletAction::PowerCycle, json!({"type": "power_cycle"})),
            (DropletAction::Shutdown, json!({"type": "shutdown"})),
            (DropletAction::PowerOff, json!({"type": "power_off"})),
            (DropletAction::PowerOn, json!({"type": "power_on"})),
            (
                DropletAction::enable_backups(),
                json!({"type": "enable_backups"}),
            ),
            (
                DropletAction::EnableBackups {
                    backup_policy: Some(BackupPolicy::daily().hour(20)),
                },
                json!({"type": "enable_backups", "backup_policy": {"plan": "daily", "hour": 20}}),
            ),
            (
                DropletAction::DisableBackups,
                json!({"type": "disable_backups"}),
            ),
            (
                DropletAction::ChangeBackupPolicy {
                    backup_policy: BackupPolicy::weekly(Weekday::Sun).hour(20),
                },
                json!({"type": "change_backup_policy",
                       "backup_policy": {"plan": "weekly", "weekday": "SUN", "hour": 20}}),
            ),
            (
                DropletAction::restore(12389723),
                json!({"type": "restore", "image": 12389723}),
            ),
            (
                DropletAction::PasswordReset,
                json!({"type": "password_reset"}),
            ),
            (
                DropletAction::resize("s-2vcpu-2gb"),
                json!({"type": "resize", "size": "s-2vcpu-2gb"}),
            ),
            (
                DropletAction::Resize {
                    size: "s-2vcpu-2gb".into(),
                    disk: Some(true),
                },
                json!({"type": "resize", "size": "s-2vcpu-2gb", "disk": true}),
            ),
            (
                DropletAction::rebuild("ubuntu-20-04-x64"),
                json!({"type": "rebuild", "image": "ubuntu-20-04-x64"}),
            ),
            (
                DropletAction::rebuild(ImageId(63663980)),
                json!({"type": "rebuild", "image": 63663980}),
            ),
            (
                DropletAction::rename("nifty-new-name"),
                json!({"type": "rename", "name": "nifty-new-name"}),
            ),
            (
                DropletAction::ChangeKernel { kernel: 12389723 },
                json!({"type": "change_kernel", "kernel": 12389723}),
            ),
            (DropletAction::EnableIpv6, json!({"type": "enable_ipv6"})),
            (
                DropletAction::snapshot("Nifty New Snapshot"),
                json!({"type": "snapshot", "name": "Nifty New Snapshot"}),
            ),
            (
                DropletAction::Snapshot { name: None },
                json!({"type": "snapshot"}),
            ),
            (
                DropletAction::EnablePrivateNetworking,
                json!({"type": "enable_private_networking"}),
            ),
        ];
        for (action, want) in cases {
            let got = serde_json::to_value(&action).unwrap();
            assert_eq!(got, want, "{action:?}");
            // `kind()` agrees with the `type` sent.
            assert_eq!(got["type"], action.kind().as_str(), "{action:?}");
            assert!(!matches!(action.kind(), ActionType::Unknown(_)));
        }
    }

    #[test]
    fn repeat_and_by_tag_classification() {
        let safe = [
            DropletAction::PowerOn,
            DropletAction::PowerOff,
            DropletAction::Shutdown,
            DropletAction::EnableIpv6,
            DropletAction::DisableBackups,
            DropletAction::rename("a"),
        ];
        for a in &safe {
            assert_eq!(a.repeat(), Repeat::Safe, "{a:?}");
        }
        let unsafe_ = [
            DropletAction::Reboot,
            DropletAction::PowerCycle,
            DropletAction::PasswordReset,
            DropletAction::snapshot("s"),
            DropletAction::restore(1),
            DropletAction::rebuild("x"),
            DropletAction::resize("s-1vcpu-1gb"),
        ];
        for a in &unsafe_ {
            assert_eq!(a.repeat(), Repeat::Unsafe, "{a:?}");
        }
        let by_tag: Vec<String> = [
            DropletAction::Reboot,
            DropletAction::PowerCycle,
            DropletAction::PowerOn,
            DropletAction::PowerOff,
            DropletAction::Shutdown,
            DropletAction::EnableIpv6,
            DropletAction::enable_backups(),
            DropletAction::DisableBackups,
            DropletAction::snapshot("s"),
            DropletAction::rename("a"),
            DropletAction::PasswordReset,
        ]
        .iter()
        .filter(|a| a.allowed_by_tag())
        .map(|a| a.kind().to_string())
        .collect();
        assert_eq!(
            by_tag,
            [
                "power_cycle",
                "power_on",
                "power_off",
                "shutdown",
                "enable_ipv6",
                "enable_backups",
                "disable_backups",
                "snapshot"
            ]
        );
    }
}
