//! [`LoadBalancers`]: the handler.

use reqwest::Method;

use super::model::{ForwardingRule, LoadBalancer, LoadBalancerStatus};
use super::request::{DropletIdsBody, ForwardingRulesBody, LoadBalancerRequest};
use crate::client::{Client, Request};
use crate::error::{Error, Result, none_if_not_found};
use crate::ids::{DropletId, LoadBalancerId};
use crate::pagination::Page;
use crate::validate;
use crate::wait::{Check, WaitOptions, until};

/// Handler for `/v2/load_balancers`. Get one with [`Client::load_balancers`].
#[derive(Debug, Clone, Copy)]
pub struct LoadBalancers<'c> {
    client: &'c Client,
}

impl Client {
    /// Load balancers: create, get, list, update, delete, droplets, forwarding rules, wait.
    pub fn load_balancers(&self) -> LoadBalancers<'_> {
        LoadBalancers { client: self }
    }
}

fn check_id(id: &LoadBalancerId) -> Result<&str> {
    validate::non_empty("load balancer id", id.as_str())
}

impl LoadBalancers<'_> {
    /// `POST /v2/load_balancers` (`loadBalancers_create.yml`, answers 202 with status `new`;
    /// see [`Self::wait_active`]). Not retried on 5xx or timeouts: a repeat could create a
    /// second load balancer; look it up with [`Self::find_by_name`] instead.
    pub async fn create(&self, req: &LoadBalancerRequest) -> Result<LoadBalancer> {
        req.validate()?;
        let r = Request::new(Method::POST, &["v2", "load_balancers"]).json(req)?;
        self.client.keyed(r, "load_balancer").await
    }

    /// `GET /v2/load_balancers/{lb_id}` (`loadBalancers_get.yml`).
    pub async fn get(&self, id: &LoadBalancerId) -> Result<LoadBalancer> {
        let id = check_id(id)?;
        self.client
            .keyed(
                Request::new(Method::GET, &["v2", "load_balancers", id]),
                "load_balancer",
            )
            .await
    }

    /// Like [`Self::get`], with `Ok(None)` when DigitalOcean answers 404 (no such load
    /// balancer); every other error is still an error, and an empty id is refused as in `get`.
    pub async fn get_opt(&self, id: &LoadBalancerId) -> Result<Option<LoadBalancer>> {
        none_if_not_found(self.get(id).await)
    }

    /// One page of `GET /v2/load_balancers` (`loadBalancers_list.yml`).
    pub async fn list_page(&self, page: u32) -> Result<Page<LoadBalancer>> {
        self.client
            .page(
                &Request::new(Method::GET, &["v2", "load_balancers"]),
                "load_balancers",
                page,
            )
            .await
    }

    /// Every page of `GET /v2/load_balancers`.
    pub async fn list(&self) -> Result<Vec<LoadBalancer>> {
        self.client
            .all(
                &Request::new(Method::GET, &["v2", "load_balancers"]),
                "load_balancers",
            )
            .await
    }

    /// The load balancer named `name`, if any (lists them all). Names are not unique at
    /// DigitalOcean: two load balancers with that name is [`Error::InvalidInput`] naming both
    /// ids, since acting on either could be wrong.
    pub async fn find_by_name(&self, name: &str) -> Result<Option<LoadBalancer>> {
        validate::non_empty("load balancer name", name)?;
        let mut found: Vec<LoadBalancer> = self
            .list()
            .await?
            .into_iter()
            .filter(|lb| lb.name == name)
            .collect();
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            n => Err(Error::InvalidInput(format!(
                "{n} load balancers are named `{name}` ({}); use an id instead",
                found
                    .iter()
                    .map(|lb| lb.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// `PUT /v2/load_balancers/{lb_id}` (`loadBalancers_update.yml`). Replaces the whole
    /// object: anything not in `req` is reset to its default, so build `req` with
    /// [`LoadBalancer::to_request`]. Repeatable (a PUT).
    pub async fn update(
        &self,
        id: &LoadBalancerId,
        req: &LoadBalancerRequest,
    ) -> Result<LoadBalancer> {
        let id = check_id(id)?;
        req.validate()?;
        let r = Request::new(Method::PUT, &["v2", "load_balancers", id]).json(req)?;
        self.client.keyed(r, "load_balancer").await
    }

    /// `DELETE /v2/load_balancers/{lb_id}` (`loadBalancers_delete.yml`, 204).
    pub async fn delete(&self, id: &LoadBalancerId) -> Result<()> {
        let id = check_id(id)?;
        self.client
            .empty(Request::new(Method::DELETE, &["v2", "load_balancers", id]))
            .await
            .map(drop)
    }

    /// `POST /v2/load_balancers/{lb_id}/droplets` (`loadBalancers_add_droplets.yml`, 204).
    /// A load balancer that selects droplets by tag answers 422. Not retried on 5xx.
    pub async fn add_droplets(&self, id: &LoadBalancerId, droplets: &[DropletId]) -> Result<()> {
        let r = droplets_request(Method::POST, id, droplets, "add to")?;
        self.client.empty(r).await.map(drop)
    }

    /// `DELETE /v2/load_balancers/{lb_id}/droplets` with a JSON body
    /// (`loadBalancers_remove_droplets.yml`, 204).
    pub async fn remove_droplets(&self, id: &LoadBalancerId, droplets: &[DropletId]) -> Result<()> {
        let r = droplets_request(Method::DELETE, id, droplets, "remove from")?;
        self.client.empty(r).await.map(drop)
    }

    /// `POST /v2/load_balancers/{lb_id}/forwarding_rules`
    /// (`loadBalancers_add_forwardingRules.yml`, 204). Not retried on 5xx.
    pub async fn add_forwarding_rules(
        &self,
        id: &LoadBalancerId,
        rules: &[ForwardingRule],
    ) -> Result<()> {
        let r = rules_request(Method::POST, id, rules, "add to")?;
        self.client.empty(r).await.map(drop)
    }

    /// `DELETE /v2/load_balancers/{lb_id}/forwarding_rules` with a JSON body
    /// (`loadBalancers_remove_forwardingRules.yml`, 204).
    pub async fn remove_forwarding_rules(
        &self,
        id: &LoadBalancerId,
        rules: &[ForwardingRule],
    ) -> Result<()> {
        let r = rules_request(Method::DELETE, id, rules, "remove from")?;
        self.client.empty(r).await.map(drop)
    }

    /// Poll until the load balancer is `active`. `errored` is [`Error::ResourceErrored`];
    /// `new` (or a status this client does not know) keeps waiting; running past
    /// `opts.timeout` is [`Error::Timeout`].
    pub async fn wait_active(
        &self,
        id: &LoadBalancerId,
        opts: &WaitOptions,
    ) -> Result<LoadBalancer> {
        check_id(id)?;
        let what = format!("load balancer {id}");
        let what = what.as_str();
        until(what, opts, || async move {
            let lb = self.get(id).await?;
            Ok(match lb.status {
                LoadBalancerStatus::Active => Check::Done(lb),
                LoadBalancerStatus::Errored => Check::Failed(Error::ResourceErrored {
                    what: what.to_owned(),
                    status: lb.status.to_string(),
                    expected: LoadBalancerStatus::Active.to_string(),
                }),
                ref other => Check::Pending(format!("status {other}")),
            })
        })
        .await
    }
}

fn droplets_request(
    method: Method,
    id: &LoadBalancerId,
    droplets: &[DropletId],
    verb: &str,
) -> Result<Request> {
    let id = check_id(id)?;
    if droplets.is_empty() {
        return Err(Error::InvalidInput(format!(
            "no droplets to {verb} load balancer {id}; give at least one"
        )));
    }
    Request::new(method, &["v2", "load_balancers", id, "droplets"]).json(&DropletIdsBody {
        droplet_ids: droplets,
    })
}

fn rules_request(
    method: Method,
    id: &LoadBalancerId,
    rules: &[ForwardingRule],
    verb: &str,
) -> Result<Request> {
    let id = check_id(id)?;
    if rules.is_empty() {
        return Err(Error::InvalidInput(format!(
            "no forwarding rules to {verb} load balancer {id}; give at least one"
        )));
    }
    rules.iter().try_for_each(ForwardingRule::check)?;
    Request::new(method, &["v2", "load_balancers", id, "forwarding_rules"]).json(
        &ForwardingRulesBody {
            forwarding_rules: rules,
        },
    )
}
