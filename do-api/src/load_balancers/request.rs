//! The body of `POST /v2/load_balancers` and `PUT /v2/load_balancers/{id}`, built new or from
//! a fetched load balancer, and the bodies of the droplet and forwarding-rule calls.

use serde::Serialize;

use super::model::{
    Domain, Firewall, ForwardingRule, GlbSettings, HealthCheck, LoadBalancer, LoadBalancerNetwork,
    LoadBalancerType, NetworkStack, Selector, StickySessions, TlsCipherPolicy,
};
use crate::error::{Error, Result};
use crate::ids::{DropletId, LoadBalancerId, ProjectId, VpcId};
use crate::validate;

/// The body of `POST /v2/load_balancers` and `PUT /v2/load_balancers/{id}`
/// (`resources/load_balancers/models/load_balancer_create.yml`). Build with
/// [`LoadBalancerRequest::new`] and the setters, or from an existing load balancer with
/// [`LoadBalancer::to_request`]. Absent options are not sent. `droplet_ids` and `tag` are
/// mutually exclusive: each setter clears the other, and sending both is refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LoadBalancerRequest {
    /// Name.
    pub name: String,
    /// Region slug (required for regional load balancers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Deprecated size slug (AMS2, NYC2, SFO1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// Number of nodes, 1 to 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_unit: Option<u32>,
    /// Forwarding rules (at least one).
    pub forwarding_rules: Vec<ForwardingRule>,
    /// Health check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Sticky sessions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sticky_sessions: Option<StickySessions>,
    /// Redirect HTTP to HTTPS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_http_to_https: Option<bool>,
    /// PROXY protocol.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_proxy_protocol: Option<bool>,
    /// Backend keep-alive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_backend_keepalive: Option<bool>,
    /// HTTP idle timeout, 30 to 600 s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_idle_timeout_seconds: Option<u32>,
    /// VPC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_uuid: Option<VpcId>,
    /// Project (the default project when absent at creation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<ProjectId>,
    /// Skip Let's Encrypt DNS records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_lets_encrypt_dns_records: Option<bool>,
    /// Allow and deny rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firewall: Option<Firewall>,
    /// `EXTERNAL` or `INTERNAL` (fixed at creation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<LoadBalancerNetwork>,
    /// `IPV4` or `DUALSTACK` (fixed at creation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_stack: Option<NetworkStack>,
    /// `REGIONAL`, `REGIONAL_NETWORK` or `GLOBAL`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<LoadBalancerType>,
    /// `DEFAULT` or `STRONG`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cipher_policy: Option<TlsCipherPolicy>,
    /// Domains (global load balancers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domains: Option<Vec<Domain>>,
    /// Forwarding settings (global load balancers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub glb_settings: Option<GlbSettings>,
    /// Regional load balancers behind a global one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_load_balancer_ids: Option<Vec<LoadBalancerId>>,
    /// Droplets behind it (exclusive with `tag`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub droplet_ids: Option<Vec<DropletId>>,
    /// Droplet tag (exclusive with `droplet_ids`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

impl LoadBalancerRequest {
    /// A request with a name and a region slug; add forwarding rules and droplets (by tag or
    /// ids) with the setters.
    pub fn new(name: impl Into<String>, region: impl Into<String>) -> Self {
        LoadBalancerRequest {
            name: name.into(),
            region: Some(region.into()),
            size: None,
            size_unit: None,
            forwarding_rules: Vec::new(),
            health_check: None,
            sticky_sessions: None,
            redirect_http_to_https: None,
            enable_proxy_protocol: None,
            enable_backend_keepalive: None,
            http_idle_timeout_seconds: None,
            vpc_uuid: None,
            project_id: None,
            disable_lets_encrypt_dns_records: None,
            firewall: None,
            network: None,
            network_stack: None,
            kind: None,
            tls_cipher_policy: None,
            domains: None,
            glb_settings: None,
            target_load_balancer_ids: None,
            droplet_ids: None,
            tag: None,
        }
    }

    /// Add one forwarding rule.
    #[must_use]
    pub fn forwarding_rule(mut self, rule: ForwardingRule) -> Self {
        self.forwarding_rules.push(rule);
        self
    }

    /// Replace the forwarding rules.
    #[must_use]
    pub fn forwarding_rules(mut self, rules: Vec<ForwardingRule>) -> Self {
        self.forwarding_rules = rules;
        self
    }

    /// Balance over these droplets (clears any tag).
    #[must_use]
    pub fn droplet_ids(mut self, ids: impl IntoIterator<Item = DropletId>) -> Self {
        self.droplet_ids = Some(ids.into_iter().collect());
        self.tag = None;
        self
    }

    /// Balance over the droplets carrying `tag` (clears any droplet ids).
    #[must_use]
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self.droplet_ids = None;
        self
    }

    /// Deprecated size slug.
    #[must_use]
    pub fn size(mut self, slug: impl Into<String>) -> Self {
        self.size = Some(slug.into());
        self
    }

    /// Number of nodes.
    #[must_use]
    pub fn size_unit(mut self, n: u32) -> Self {
        self.size_unit = Some(n);
        self
    }

    /// Health check.
    #[must_use]
    pub fn health_check(mut self, hc: HealthCheck) -> Self {
        self.health_check = Some(hc);
        self
    }

    /// Sticky sessions.
    #[must_use]
    pub fn sticky_sessions(mut self, s: StickySessions) -> Self {
        self.sticky_sessions = Some(s);
        self
    }

    /// Redirect HTTP to HTTPS.
    #[must_use]
    pub fn redirect_http_to_https(mut self, on: bool) -> Self {
        self.redirect_http_to_https = Some(on);
        self
    }

    /// PROXY protocol.
    #[must_use]
    pub fn enable_proxy_protocol(mut self, on: bool) -> Self {
        self.enable_proxy_protocol = Some(on);
        self
    }

    /// Backend keep-alive.
    #[must_use]
    pub fn enable_backend_keepalive(mut self, on: bool) -> Self {
        self.enable_backend_keepalive = Some(on);
        self
    }

    /// HTTP idle timeout in seconds (30 to 600).
    #[must_use]
    pub fn http_idle_timeout_seconds(mut self, s: u32) -> Self {
        self.http_idle_timeout_seconds = Some(s);
        self
    }

    /// VPC.
    #[must_use]
    pub fn vpc_uuid(mut self, id: VpcId) -> Self {
        self.vpc_uuid = Some(id);
        self
    }

    /// Project.
    #[must_use]
    pub fn project_id(mut self, id: ProjectId) -> Self {
        self.project_id = Some(id);
        self
    }

    /// Skip Let's Encrypt DNS records.
    #[must_use]
    pub fn disable_lets_encrypt_dns_records(mut self, on: bool) -> Self {
        self.disable_lets_encrypt_dns_records = Some(on);
        self
    }

    /// Allow and deny rules.
    #[must_use]
    pub fn firewall(mut self, fw: Firewall) -> Self {
        self.firewall = Some(fw);
        self
    }

    /// `EXTERNAL` or `INTERNAL`.
    #[must_use]
    pub fn network(mut self, n: LoadBalancerNetwork) -> Self {
        self.network = Some(n);
        self
    }

    /// `IPV4` or `DUALSTACK`.
    #[must_use]
    pub fn network_stack(mut self, n: NetworkStack) -> Self {
        self.network_stack = Some(n);
        self
    }

    /// Load balancer type.
    #[must_use]
    pub fn kind(mut self, t: LoadBalancerType) -> Self {
        self.kind = Some(t);
        self
    }

    /// TLS cipher policy.
    #[must_use]
    pub fn tls_cipher_policy(mut self, p: TlsCipherPolicy) -> Self {
        self.tls_cipher_policy = Some(p);
        self
    }

    /// Check what can be checked locally (also done by create and update before sending).
    pub fn validate(&self) -> Result<()> {
        validate::non_empty("load balancer name", &self.name)?;
        if let Some(region) = &self.region {
            validate::non_empty("region slug", region)?;
        }
        if self.forwarding_rules.is_empty() {
            return Err(Error::InvalidInput(format!(
                "load balancer `{}` has no forwarding rules; add at least one",
                self.name
            )));
        }
        self.forwarding_rules
            .iter()
            .try_for_each(ForwardingRule::check)?;
        if self.tag.is_some() && self.droplet_ids.is_some() {
            return Err(Error::InvalidInput(format!(
                "load balancer `{}` sets both `tag` and `droplet_ids`; DigitalOcean accepts one or the other",
                self.name
            )));
        }
        if let Some(tag) = &self.tag {
            validate::tag_name(tag)?;
        }
        if let Some(s) = self.http_idle_timeout_seconds
            && !(30..=600).contains(&s)
        {
            return Err(Error::InvalidInput(format!(
                "http_idle_timeout_seconds is {s}; DigitalOcean accepts 30 to 600"
            )));
        }
        if let Some(n) = self.size_unit
            && !(1..=100).contains(&n)
        {
            return Err(Error::InvalidInput(format!(
                "size_unit is {n}; DigitalOcean accepts 1 to 100"
            )));
        }
        Ok(())
    }
}

impl LoadBalancer {
    /// A request that, sent with [`LoadBalancers::update`](super::LoadBalancers::update),
    /// leaves the load balancer as it is: every settable field is carried over (name, region
    /// slug, size or size unit, forwarding rules, health check, sticky sessions, the booleans,
    /// idle timeout, VPC, project, firewall, network, network stack, type, TLS policy, domains,
    /// GLB settings, target load balancers, and the tag or else the droplet ids). Change what
    /// you need, then update.
    ///
    /// Not carried: read-only fields, the deprecated `algorithm`, and `size` when `size_unit`
    /// is known (the two describe the same thing; `size_unit` replaces `size`).
    pub fn to_request(&self) -> LoadBalancerRequest {
        let (droplet_ids, tag) = match self.selector() {
            Selector::Tag(t) => (None, Some(t)),
            Selector::DropletIds(ids) => (Some(ids), None),
        };
        LoadBalancerRequest {
            name: self.name.clone(),
            region: self.region.as_ref().and_then(|r| r.slug.clone()),
            size: if self.size_unit.is_some() {
                None
            } else {
                self.size.clone()
            },
            size_unit: self.size_unit,
            forwarding_rules: self.forwarding_rules.clone(),
            health_check: self.health_check.clone(),
            sticky_sessions: self.sticky_sessions.clone(),
            redirect_http_to_https: self.redirect_http_to_https,
            enable_proxy_protocol: self.enable_proxy_protocol,
            enable_backend_keepalive: self.enable_backend_keepalive,
            http_idle_timeout_seconds: self.http_idle_timeout_seconds,
            vpc_uuid: self.vpc_uuid.clone(),
            project_id: self.project_id.clone(),
            disable_lets_encrypt_dns_records: self.disable_lets_encrypt_dns_records,
            firewall: self.firewall.clone(),
            network: self.network.clone(),
            network_stack: self.network_stack.clone(),
            kind: self.kind.clone(),
            tls_cipher_policy: self.tls_cipher_policy.clone(),
            domains: (!self.domains.is_empty()).then(|| self.domains.clone()),
            glb_settings: self.glb_settings.clone(),
            target_load_balancer_ids: (!self.target_load_balancer_ids.is_empty())
                .then(|| self.target_load_balancer_ids.clone()),
            droplet_ids,
            tag,
        }
    }
}

/// `{"droplet_ids": [...]}` (`loadBalancers_add_droplets`, `loadBalancers_remove_droplets`).
#[derive(Serialize)]
pub(super) struct DropletIdsBody<'a> {
    pub(super) droplet_ids: &'a [DropletId],
}

/// `{"forwarding_rules": [...]}` (`loadBalancers_add_forwardingRules`,
/// `loadBalancers_remove_forwardingRules`).
#[derive(Serialize)]
pub(super) struct ForwardingRulesBody<'a> {
    pub(super) forwarding_rules: &'a [ForwardingRule],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_and_droplet_ids_exclude_each_other() {
        let r = LoadBalancerRequest::new("lb", "nyc3")
            .droplet_ids([DropletId(1)])
            .tag("web");
        assert_eq!(r.droplet_ids, None);
        assert_eq!(r.tag.as_deref(), Some("web"));
        let r = r.droplet_ids([DropletId(2)]);
        assert_eq!(r.tag, None);
        assert_eq!(r.droplet_ids, Some(vec![DropletId(2)]));
    }
}
