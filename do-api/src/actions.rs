//! Actions: `GET /v2/actions`, `GET /v2/actions/{action_id}`, and waiting for one to finish
//! (`resources/actions/` in the official spec; model `resources/actions/models/action.yml`).

use std::time::Duration;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{Client, Request};
use crate::common::Region;
use crate::error::{Error, Result};
use crate::ids::ActionId;
use crate::pagination::Page;
use crate::wait::{Check, WaitOptions, until};

crate::string_enum! {
    /// An action's status: `in-progress`, `completed` or `errored`.
    pub enum ActionStatus {
        /// Still running.
        InProgress => "in-progress",
        /// Finished successfully.
        Completed => "completed",
        /// Finished with an error.
        Errored => "errored",
    }
}

impl Default for ActionStatus {
    /// The spec's default: `in-progress`.
    fn default() -> Self {
        Self::InProgress
    }
}

crate::string_enum! {
    /// What an action does. Droplet actions (`resources/droplets/models/droplet_actions.yml`),
    /// reserved/floating IP actions (`assign_ip`, `unassign_ip`) and the ones DO creates itself.
    pub enum ActionType {
        /// Creating a droplet.
        Create => "create",
        /// Destroying a droplet.
        Destroy => "destroy",
        /// Assigning a reserved or floating IP to a droplet.
        AssignIp => "assign_ip",
        /// Unassigning a reserved or floating IP.
        UnassignIp => "unassign_ip",
        /// Reserving a reserved or floating IP (seen in the spec's reserved IP action examples).
        ReserveIp => "reserve_ip",
        /// Enabling backups.
        EnableBackups => "enable_backups",
        /// Disabling backups.
        DisableBackups => "disable_backups",
        /// A graceful reboot.
        Reboot => "reboot",
        /// A hard reset.
        PowerCycle => "power_cycle",
        /// A graceful shutdown.
        Shutdown => "shutdown",
        /// A hard power off.
        PowerOff => "power_off",
        /// Powering on.
        PowerOn => "power_on",
        /// Restoring from a backup.
        Restore => "restore",
        /// Resetting the root password.
        PasswordReset => "password_reset",
        /// Resizing.
        Resize => "resize",
        /// Rebuilding from an image.
        Rebuild => "rebuild",
        /// Renaming.
        Rename => "rename",
        /// Changing the kernel.
        ChangeKernel => "change_kernel",
        /// Enabling IPv6.
        EnableIpv6 => "enable_ipv6",
        /// Taking a snapshot.
        Snapshot => "snapshot",
        /// Enabling private networking.
        EnablePrivateNetworking => "enable_private_networking",
        /// Changing the backup policy.
        ChangeBackupPolicy => "change_backup_policy",
    }
}

/// An action: something DigitalOcean does asynchronously on a resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Action {
    /// The action's id.
    pub id: ActionId,
    /// `in-progress`, `completed` or `errored`.
    #[serde(default)]
    pub status: ActionStatus,
    /// What the action does.
    #[serde(rename = "type")]
    pub kind: ActionType,
    /// When it started (ISO 8601).
    #[serde(default)]
    pub started_at: Option<String>,
    /// When it finished (ISO 8601), `null` while in progress.
    #[serde(default)]
    pub completed_at: Option<String>,
    /// The resource it acts on (a droplet id, or for IP actions the IP as a number).
    #[serde(default)]
    pub resource_id: Option<u64>,
    /// `droplet`, `reserved_ip`, `floating_ip`, ...
    #[serde(default)]
    pub resource_type: Option<String>,
    /// The region, when the API embeds it.
    #[serde(default)]
    pub region: Option<Region>,
    /// The region's slug.
    #[serde(default)]
    pub region_slug: Option<String>,
}

impl Action {
    /// `completed`.
    pub fn is_completed(&self) -> bool {
        self.status == ActionStatus::Completed
    }

    /// `errored`.
    pub fn is_errored(&self) -> bool {
        self.status == ActionStatus::Errored
    }

    /// Wall time between `started_at` and `completed_at`, when both parse as RFC 3339 UTC
    /// times of the shape DigitalOcean sends (`2020-11-14T16:29:21Z`); `None` while the action
    /// runs, or when the times are missing, malformed or out of order.
    pub fn duration(&self) -> Option<Duration> {
        let start = parse_utc(self.started_at.as_deref()?)?;
        let end = parse_utc(self.completed_at.as_deref()?)?;
        (end >= start).then(|| Duration::from_secs_f64(end - start))
    }
}

/// Handler for `/v2/actions`. Get one with [`Client::actions`].
#[derive(Debug, Clone, Copy)]
pub struct Actions<'c> {
    client: &'c Client,
}

impl Client {
    /// Actions: get, list, wait.
    pub fn actions(&self) -> Actions<'_> {
        Actions { client: self }
    }
}

impl Actions<'_> {
    /// `GET /v2/actions/{action_id}`.
    pub async fn get(&self, id: ActionId) -> Result<Action> {
        let id = id.to_string();
        self.client
            .keyed(Request::new(Method::GET, &["v2", "actions", &id]), "action")
            .await
    }

    /// One page of `GET /v2/actions` (the account's actions, newest first).
    pub async fn list_page(&self, page: u32) -> Result<Page<Action>> {
        self.client
            .page(
                &Request::new(Method::GET, &["v2", "actions"]),
                "actions",
                page,
            )
            .await
    }

    /// Every page of `GET /v2/actions`. An old account has many; prefer [`Self::list_page`].
    pub async fn list(&self) -> Result<Vec<Action>> {
        self.client
            .all(&Request::new(Method::GET, &["v2", "actions"]), "actions")
            .await
    }

    /// Wait until action `id` is `completed`. `errored` is [`Error::ActionErrored`]; running
    /// past `opts.timeout` is [`Error::Timeout`].
    pub async fn wait(&self, id: ActionId, opts: &WaitOptions) -> Result<Action> {
        self.wait_with(id, opts, |_| {}).await
    }

    /// Like [`Self::wait`], calling `on_poll` with every state seen (for progress reports).
    pub async fn wait_with(
        &self,
        id: ActionId,
        opts: &WaitOptions,
        mut on_poll: impl FnMut(&Action),
    ) -> Result<Action> {
        let on_poll = std::cell::RefCell::new(&mut on_poll);
        let on_poll = &on_poll;
        until(format!("action {id}"), opts, || async move {
            let action = self.get(id).await?;
            (on_poll.borrow_mut())(&action);
            Ok(check_action(action))
        })
        .await
    }
}

pub(crate) fn check_action(action: Action) -> Check<Action> {
    match action.status {
        ActionStatus::Completed => Check::Done(action),
        ActionStatus::Errored => Check::Failed(Error::ActionErrored {
            id: action.id,
            kind: action.kind.to_string(),
            status: action.status.to_string(),
            resource_type: action.resource_type,
            resource_id: action.resource_id,
        }),
        ref other => Check::Pending(format!("{} {}", action.kind, other)),
    }
}

/// Seconds since the epoch for `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
fn parse_utc(s: &str) -> Option<f64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.splitn(3, ':');
    let (hh, mm) = (
        t.next()?.parse::<i64>().ok()?,
        t.next()?.parse::<i64>().ok()?,
    );
    let ss = t.next()?.parse::<f64>().ok()?;
    if !(1..=12).contains(&m)
        || !(1..=31).contains(&day)
        || hh > 23
        || mm > 59
        || !(0.0..61.0).contains(&ss)
    {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hh * 3_600 + mm * 60) as f64 + ss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_survive() {
        let a: Action = serde_json::from_str(
            r#"{"id":1,"status":"paused","type":"teleport","resource_id":null,"extra":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(a.status, ActionStatus::Unknown("paused".into()));
        assert_eq!(a.kind, ActionType::Unknown("teleport".into()));
        let back = serde_json::to_value(&a).unwrap();
        assert_eq!(back["type"], "teleport");
        assert_eq!(back["status"], "paused");
    }

    #[test]
    fn duration_from_timestamps() {
        let a: Action = serde_json::from_str(
            r#"{"id":1,"status":"completed","type":"assign_ip","started_at":"2020-11-14T16:29:21Z","completed_at":"2020-11-14T16:30:06Z"}"#,
        )
        .unwrap();
        assert_eq!(a.duration(), Some(Duration::from_secs(45)));
        assert_eq!(parse_utc("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_utc("2000-03-01T00:00:00Z"), Some(951_868_800.0));
        assert_eq!(parse_utc("2020-13-01T00:00:00Z"), None);
    }
}
