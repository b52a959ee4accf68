//! [`Droplets`] and [`DropletActions`]: the handlers.

use reqwest::Method;

use super::action::DropletAction;
use super::model::{CreatedDroplets, Droplet, DropletStatus};
use super::request::{CreateDroplet, DropletFilter};
use crate::actions::Action;
use crate::client::{Client, Repeat, Request};
use crate::error::{Error, Result, none_if_not_found};
use crate::ids::{ActionId, DropletId};
use crate::pagination::Page;
use crate::validate;
use crate::wait::{Check, WaitOptions, until};

/// Handler for `/v2/droplets`. Get one with [`Client::droplets`].
#[derive(Debug, Clone, Copy)]
pub struct Droplets<'c> {
    client: &'c Client,
}

/// Handler for `/v2/droplets/{id}/actions` and `/v2/droplets/actions`. Get one with
/// [`Client::droplet_actions`].
#[derive(Debug, Clone, Copy)]
pub struct DropletActions<'c> {
    client: &'c Client,
}

impl Client {
    /// Droplets: list, get, create, delete, wait until active.
    pub fn droplets(&self) -> Droplets<'_> {
        Droplets { client: self }
    }

    /// Droplet actions: post (on one droplet or by tag), list, get.
    pub fn droplet_actions(&self) -> DropletActions<'_> {
        DropletActions { client: self }
    }
}

impl Droplets<'_> {
    /// Every page of `GET /v2/droplets` (`droplets_list.yml`) matching `filter`, in order.
    pub async fn list(&self, filter: &DropletFilter) -> Result<Vec<Droplet>> {
        self.client.all(&filter.request()?, "droplets").await
    }

    /// One page (1-based) of `GET /v2/droplets` matching `filter`.
    pub async fn list_page(&self, filter: &DropletFilter, page: u32) -> Result<Page<Droplet>> {
        self.client.page(&filter.request()?, "droplets", page).await
    }

    /// Every droplet carrying `tag` (`GET /v2/droplets?tag_name=`).
    pub async fn list_by_tag(&self, tag: &str) -> Result<Vec<Droplet>> {
        self.list(&DropletFilter::tag(tag)).await
    }

    /// Every droplet named `name`, case-insensitively (`GET /v2/droplets?name=`).
    pub async fn list_by_name(&self, name: &str) -> Result<Vec<Droplet>> {
        self.list(&DropletFilter::name(name)).await
    }

    /// `GET /v2/droplets/{droplet_id}` (`droplets_get.yml`).
    pub async fn get(&self, id: DropletId) -> Result<Droplet> {
        let id = id.to_string();
        self.client
            .keyed(
                Request::new(Method::GET, &["v2", "droplets", &id]),
                "droplet",
            )
            .await
    }

    /// Like [`Self::get`], with `Ok(None)` when DigitalOcean answers 404 (no such droplet, or
    /// one already destroyed); every other error is still an error.
    pub async fn get_opt(&self, id: DropletId) -> Result<Option<Droplet>> {
        none_if_not_found(self.get(id).await)
    }

    /// `POST /v2/droplets` (`droplets_create.yml`): one droplet or several, see
    /// [`CreateDroplet`]. Checked before sending; never repeated after a 5xx or a timeout, since
    /// DigitalOcean may already be creating the droplets. Answer 202: the droplets (status
    /// `new`) and their create actions.
    pub async fn create(&self, req: &CreateDroplet) -> Result<CreatedDroplets> {
        req.validate()?;
        let request = Request::new(Method::POST, &["v2", "droplets"])
            .json(req)?
            .repeat(Repeat::Unsafe);
        self.client.json(request).await
    }

    /// `DELETE /v2/droplets/{droplet_id}` (`droplets_destroy.yml`, 204).
    pub async fn delete(&self, id: DropletId) -> Result<()> {
        let id = id.to_string();
        self.client
            .empty(Request::new(Method::DELETE, &["v2", "droplets", &id]))
            .await
            .map(drop)
    }

    /// `DELETE /v2/droplets?tag_name=` (`droplets_destroy_byTag.yml`, 204): deletes **every**
    /// droplet carrying `tag`. The tag is checked first (an empty tag is refused, never sent).
    pub async fn delete_by_tag(&self, tag: &str) -> Result<()> {
        let tag = validate::tag_name(tag)?;
        self.client
            .empty(Request::new(Method::DELETE, &["v2", "droplets"]).query("tag_name", tag))
            .await
            .map(drop)
    }

    /// Poll [`Self::get`] until the droplet is `active`. `new` and `off` (a power-on may be under
    /// way) and unknown statuses keep waiting; `archive` is [`Error::ResourceErrored`]; running
    /// past `opts.timeout` is [`Error::Timeout`].
    pub async fn wait_active(&self, id: DropletId, opts: &WaitOptions) -> Result<Droplet> {
        until(format!("droplet {id}"), opts, || async move {
            let droplet = self.get(id).await?;
            Ok(match &droplet.status {
                DropletStatus::Active => Check::Done(droplet),
                DropletStatus::Archive => Check::Failed(Error::ResourceErrored {
                    what: format!("droplet {id}"),
                    status: droplet.status.to_string(),
                    expected: DropletStatus::Active.to_string(),
                }),
                other => Check::Pending(other.to_string()),
            })
        })
        .await
    }
}

impl DropletActions<'_> {
    /// `POST /v2/droplets/{droplet_id}/actions` (`dropletActions_post.yml`, 201). Repeated after
    /// a 5xx or a timeout only when [`DropletAction::is_idempotent`].
    pub async fn post(&self, id: DropletId, action: &DropletAction) -> Result<Action> {
        action.validate()?;
        let id = id.to_string();
        let req = Request::new(Method::POST, &["v2", "droplets", &id, "actions"])
            .json(action)?
            .repeat(action.repeat());
        self.client.keyed(req, "action").await
    }

    /// `POST /v2/droplets/actions?tag_name=` (`dropletActions_post_byTag.yml`, 201): the action
    /// on every droplet carrying `tag`, one [`Action`] each. Only the types
    /// [`DropletAction::allowed_by_tag`] are accepted; others are refused before sending.
    pub async fn post_by_tag(&self, tag: &str, action: &DropletAction) -> Result<Vec<Action>> {
        let tag = validate::tag_name(tag)?;
        if !action.allowed_by_tag() {
            return Err(Error::InvalidInput(format!(
                "droplet action `{}` cannot be sent by tag; DigitalOcean allows only power_cycle, power_on, power_off, shutdown, enable_ipv6, enable_backups, disable_backups and snapshot by tag: post it to each droplet",
                action.kind()
            )));
        }
        action.validate()?;
        let req = Request::new(Method::POST, &["v2", "droplets", "actions"])
            .query("tag_name", tag)
            .json(action)?
            .repeat(action.repeat());
        let actions: Option<Vec<Action>> = self.client.keyed(req, "actions").await?;
        Ok(actions.unwrap_or_default())
    }

    /// Every page of `GET /v2/droplets/{droplet_id}/actions` (`dropletActions_list.yml`).
    pub async fn list(&self, id: DropletId) -> Result<Vec<Action>> {
        let id = id.to_string();
        self.client
            .all(
                &Request::new(Method::GET, &["v2", "droplets", &id, "actions"]),
                "actions",
            )
            .await
    }

    /// One page (1-based) of `GET /v2/droplets/{droplet_id}/actions`.
    pub async fn list_page(&self, id: DropletId, page: u32) -> Result<Page<Action>> {
        let id = id.to_string();
        self.client
            .page(
                &Request::new(Method::GET, &["v2", "droplets", &id, "actions"]),
                "actions",
                page,
            )
            .await
    }

    /// `GET /v2/droplets/{droplet_id}/actions/{action_id}` (`dropletActions_get.yml`).
    pub async fn get(&self, id: DropletId, action: ActionId) -> Result<Action> {
        let (id, action) = (id.to_string(), action.to_string());
        self.client
            .keyed(
                Request::new(Method::GET, &["v2", "droplets", &id, "actions", &action]),
                "action",
            )
            .await
    }
}
