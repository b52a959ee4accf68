//! Load balancers (`resources/load_balancers/` in the official spec): create, get, list,
//! update, delete, add/remove droplets and forwarding rules, and waiting until one is active.
//! Models: `resources/load_balancers/models/`.
//!
//! `PUT` replaces the whole load balancer: any attribute left out is reset to its default
//! (`loadBalancers_update.yml`). To change one setting, start from
//! [`LoadBalancer::to_request`], which carries every settable field over:
//!
//! ```no_run
//! # use do_api::{Client, LoadBalancerId};
//! # use do_api::load_balancers::HealthCheck;
//! # async fn run(client: Client, id: LoadBalancerId) -> do_api::Result<()> {
//! let lb = client.load_balancers().get(&id).await?;
//! let mut req = lb.to_request();
//! req.health_check = Some(HealthCheck::http(8080, "/healthz"));
//! client.load_balancers().update(&lb.id, &req).await?;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{Client, Request};
use crate::common::Region;
use crate::error::{Error, Result, none_if_not_found};
use crate::ids::{DropletId, LoadBalancerId, ProjectId, VpcId};
use crate::pagination::Page;
use crate::validate;
use crate::wait::{Check, WaitOptions, until};

crate::string_enum! {
    /// A load balancer's status (`load_balancer_base.yml`, `status`).
    pub enum LoadBalancerStatus {
        /// Being created or reconfigured.
        New => "new",
        /// Serving traffic.
        Active => "active",
        /// Creation or an update failed.
        Errored => "errored",
    }
}

crate::string_enum! {
    /// The protocol clients use to reach the load balancer (`forwarding_rule.yml`,
    /// `entry_protocol`).
    pub enum EntryProtocol {
        /// HTTP.
        Http => "http",
        /// HTTPS.
        Https => "https",
        /// HTTP/2.
        Http2 => "http2",
        /// HTTP/3.
        Http3 => "http3",
        /// Plain TCP.
        Tcp => "tcp",
        /// UDP (the target protocol must be UDP too).
        Udp => "udp",
    }
}

crate::string_enum! {
    /// The protocol the load balancer uses towards the droplets (`forwarding_rule.yml`,
    /// `target_protocol`).
    pub enum TargetProtocol {
        /// HTTP.
        Http => "http",
        /// HTTPS.
        Https => "https",
        /// HTTP/2.
        Http2 => "http2",
        /// Plain TCP.
        Tcp => "tcp",
        /// UDP (the entry protocol must be UDP too).
        Udp => "udp",
    }
}

crate::string_enum! {
    /// The protocol of health checks (`health_check.yml`, `protocol`).
    pub enum HealthCheckProtocol {
        /// An HTTP request to `path`; 2xx/3xx is healthy.
        Http => "http",
        /// An HTTPS request to `path`.
        Https => "https",
        /// A TCP connection.
        Tcp => "tcp",
    }
}

crate::string_enum! {
    /// Sticky sessions mode (`sticky_sessions.yml`, `type`).
    pub enum StickySessionsType {
        /// A cookie pins a client to one droplet.
        Cookies => "cookies",
        /// No stickiness.
        None => "none",
    }
}

crate::string_enum! {
    /// External or internal load balancer (`load_balancer_base.yml`, `network`; fixed at
    /// creation).
    pub enum LoadBalancerNetwork {
        /// Public IPs.
        External => "EXTERNAL",
        /// Reachable only inside the VPC.
        Internal => "INTERNAL",
    }
}

crate::string_enum! {
    /// IPv4 only or dual stack (`load_balancer_base.yml`, `network_stack`; fixed at creation).
    pub enum NetworkStack {
        /// IPv4 only.
        Ipv4 => "IPV4",
        /// IPv4 and IPv6.
        DualStack => "DUALSTACK",
    }
}

crate::string_enum! {
    /// Regional HTTP, regional network or global (`load_balancer_base.yml`, `type`).
    pub enum LoadBalancerType {
        /// Regional HTTP(S) load balancer.
        Regional => "REGIONAL",
        /// Regional TCP/UDP load balancer.
        RegionalNetwork => "REGIONAL_NETWORK",
        /// Global load balancer.
        Global => "GLOBAL",
    }
}

crate::string_enum! {
    /// TLS cipher policy (`load_balancer_base.yml`, `tls_cipher_policy`).
    pub enum TlsCipherPolicy {
        /// DigitalOcean's default suites.
        Default => "DEFAULT",
        /// Strong suites only.
        Strong => "STRONG",
    }
}

/// How traffic is forwarded from a port of the load balancer to a port of the droplets
/// (`resources/load_balancers/models/forwarding_rule.yml`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ForwardingRule {
    /// Protocol clients use.
    pub entry_protocol: EntryProtocol,
    /// Port the load balancer listens on.
    pub entry_port: u16,
    /// Protocol used towards the droplets.
    pub target_protocol: TargetProtocol,
    /// Port on the droplets.
    pub target_port: u16,
    /// TLS certificate for SSL termination (the API sends `""` when there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<String>,
    /// Pass TLS through to the droplets instead of terminating it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_passthrough: Option<bool>,
}

impl ForwardingRule {
    /// A rule with the four required fields.
    pub fn new(
        entry_protocol: EntryProtocol,
        entry_port: u16,
        target_protocol: TargetProtocol,
        target_port: u16,
    ) -> Self {
        ForwardingRule {
            entry_protocol,
            entry_port,
            target_protocol,
            target_port,
            certificate_id: None,
            tls_passthrough: None,
        }
    }

    /// Terminate TLS with this certificate.
    #[must_use]
    pub fn certificate_id(mut self, id: impl Into<String>) -> Self {
        self.certificate_id = Some(id.into());
        self
    }

    /// Pass TLS through to the droplets.
    #[must_use]
    pub fn tls_passthrough(mut self, on: bool) -> Self {
        self.tls_passthrough = Some(on);
        self
    }

    fn check(&self) -> Result<()> {
        if self.entry_port == 0 || self.target_port == 0 {
            return Err(Error::InvalidInput(format!(
                "forwarding rule {} {} -> {} {} has port 0; ports are 1 to 65535",
                self.entry_protocol, self.entry_port, self.target_protocol, self.target_port
            )));
        }
        Ok(())
    }
}

fn default_hc_protocol() -> HealthCheckProtocol {
    HealthCheckProtocol::Http
}
fn default_hc_port() -> u16 {
    80
}
fn default_hc_path() -> String {
    "/".to_owned()
}
fn default_interval() -> u32 {
    10
}
fn default_response_timeout() -> u32 {
    5
}
fn default_unhealthy() -> u32 {
    5
}
fn default_healthy() -> u32 {
    3
}

/// Health check settings (`resources/load_balancers/models/health_check.yml`). Fields absent
/// from an answer take the spec's defaults (http, port 80, `/`, every 10 s, 5 s timeout,
/// unhealthy after 5 failures, healthy after 3 passes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HealthCheck {
    /// `http`, `https` or `tcp`.
    #[serde(default = "default_hc_protocol")]
    pub protocol: HealthCheckProtocol,
    /// Port on the droplets.
    #[serde(default = "default_hc_port")]
    pub port: u16,
    /// Path for http/https checks (not sent when empty, as for tcp checks).
    #[serde(default = "default_hc_path", skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// Seconds between two checks.
    #[serde(default = "default_interval")]
    pub check_interval_seconds: u32,
    /// Seconds to wait for an answer before a check fails.
    #[serde(default = "default_response_timeout")]
    pub response_timeout_seconds: u32,
    /// Consecutive failures that take a droplet out of the pool.
    #[serde(default = "default_unhealthy")]
    pub unhealthy_threshold: u32,
    /// Consecutive passes that put a droplet back in the pool.
    #[serde(default = "default_healthy")]
    pub healthy_threshold: u32,
}

impl Default for HealthCheck {
    /// The spec's defaults: `http` on port 80, path `/`.
    fn default() -> Self {
        HealthCheck {
            protocol: default_hc_protocol(),
            port: default_hc_port(),
            path: default_hc_path(),
            check_interval_seconds: default_interval(),
            response_timeout_seconds: default_response_timeout(),
            unhealthy_threshold: default_unhealthy(),
            healthy_threshold: default_healthy(),
        }
    }
}

impl HealthCheck {
    /// An HTTP check of `path` on `port`, with the default timings.
    pub fn http(port: u16, path: impl Into<String>) -> Self {
        HealthCheck {
            port,
            path: path.into(),
            ..Self::default()
        }
    }

    /// An HTTPS check of `path` on `port`, with the default timings.
    pub fn https(port: u16, path: impl Into<String>) -> Self {
        HealthCheck {
            protocol: HealthCheckProtocol::Https,
            ..Self::http(port, path)
        }
    }

    /// A TCP connection check on `port`, with the default timings.
    pub fn tcp(port: u16) -> Self {
        HealthCheck {
            protocol: HealthCheckProtocol::Tcp,
            port,
            path: String::new(),
            ..Self::default()
        }
    }

    /// Seconds between checks.
    #[must_use]
    pub fn check_interval_seconds(mut self, s: u32) -> Self {
        self.check_interval_seconds = s;
        self
    }

    /// Seconds before a check times out.
    #[must_use]
    pub fn response_timeout_seconds(mut self, s: u32) -> Self {
        self.response_timeout_seconds = s;
        self
    }

    /// Failures before a droplet is taken out.
    #[must_use]
    pub fn unhealthy_threshold(mut self, n: u32) -> Self {
        self.unhealthy_threshold = n;
        self
    }

    /// Passes before a droplet is put back.
    #[must_use]
    pub fn healthy_threshold(mut self, n: u32) -> Self {
        self.healthy_threshold = n;
        self
    }

    /// Longest time for a healthy droplet to be put in the pool: `healthy_threshold` checks,
    /// each up to one interval plus one response timeout apart.
    pub fn time_to_healthy(&self) -> Duration {
        let per = u64::from(self.check_interval_seconds) + u64::from(self.response_timeout_seconds);
        Duration::from_secs(per * u64::from(self.healthy_threshold))
    }

    /// Longest time for a failing droplet to be taken out: `unhealthy_threshold` checks, each
    /// up to one interval plus one response timeout apart.
    pub fn time_to_unhealthy(&self) -> Duration {
        let per = u64::from(self.check_interval_seconds) + u64::from(self.response_timeout_seconds);
        Duration::from_secs(per * u64::from(self.unhealthy_threshold))
    }
}

/// Sticky sessions (`resources/load_balancers/models/sticky_sessions.yml`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StickySessions {
    /// `cookies` or `none`.
    #[serde(rename = "type")]
    pub kind: StickySessionsType,
    /// Cookie name (with `cookies`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_name: Option<String>,
    /// Cookie lifetime in seconds (with `cookies`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_ttl_seconds: Option<u32>,
}

impl StickySessions {
    /// No stickiness.
    pub fn none() -> Self {
        StickySessions {
            kind: StickySessionsType::None,
            cookie_name: None,
            cookie_ttl_seconds: None,
        }
    }

    /// A cookie named `name` that lives `ttl_seconds`.
    pub fn cookies(name: impl Into<String>, ttl_seconds: u32) -> Self {
        StickySessions {
            kind: StickySessionsType::Cookies,
            cookie_name: Some(name.into()),
            cookie_ttl_seconds: Some(ttl_seconds),
        }
    }
}

/// Allow and deny rules for incoming traffic (`resources/load_balancers/models/lb_firewall.yml`),
/// each `ip:1.2.3.4` or `cidr:1.2.0.0/16`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Firewall {
    /// Rules denying traffic.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Rules allowing traffic.
    #[serde(default)]
    pub allow: Vec<String>,
}

impl Firewall {
    /// Rules from two lists: `allow` first, then `deny`.
    pub fn new(allow: Vec<String>, deny: Vec<String>) -> Self {
        Firewall { deny, allow }
    }
}

/// A domain of a global load balancer (`resources/load_balancers/models/domains.yml`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Domain {
    /// The FQDN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether DigitalOcean manages the domain's DNS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_managed: Option<bool>,
    /// TLS certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<String>,
}

/// CDN settings of a global load balancer (`glb_settings.yml`, `cdn`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Cdn {
    /// Whether CDN caching is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_enabled: Option<bool>,
}

/// Forwarding settings of a global load balancer
/// (`resources/load_balancers/models/glb_settings.yml`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GlbSettings {
    /// `http`, `https` or `http2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_protocol: Option<TargetProtocol>,
    /// Port on the target backends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<u16>,
    /// CDN settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdn: Option<Cdn>,
    /// Region slug to priority (lower is preferred).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_priorities: Option<BTreeMap<String, i64>>,
    /// Failure percentage after which lower-priority regions take traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_threshold: Option<u32>,
}

/// Which droplets sit behind a load balancer: those with a tag, or a fixed list. The API
/// accepts one or the other, never both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Every droplet carrying this tag (added and removed as droplets are tagged).
    Tag(String),
    /// These droplets.
    DropletIds(Vec<DropletId>),
}

/// A load balancer (`resources/load_balancers/models/load_balancer.yml`, built on
/// `load_balancer_base.yml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LoadBalancer {
    /// Its UUID.
    pub id: LoadBalancerId,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// The project it belongs to.
    #[serde(default)]
    pub project_id: Option<ProjectId>,
    /// Public IPv4 address (empty or absent while `new`).
    #[serde(default)]
    pub ip: Option<String>,
    /// Public IPv6 address.
    #[serde(default)]
    pub ipv6: Option<String>,
    /// Number of nodes (most regions).
    #[serde(default)]
    pub size_unit: Option<u32>,
    /// Size slug (`lb-small`, ...; deprecated except in AMS2, NYC2, SFO1).
    #[serde(default)]
    pub size: Option<String>,
    /// Deprecated balancing algorithm (`round_robin`); no longer settable.
    #[serde(default)]
    pub algorithm: Option<String>,
    /// `new`, `active` or `errored`.
    pub status: LoadBalancerStatus,
    /// Creation time (ISO 8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Forwarding rules.
    #[serde(default)]
    pub forwarding_rules: Vec<ForwardingRule>,
    /// Health check settings.
    #[serde(default)]
    pub health_check: Option<HealthCheck>,
    /// Sticky sessions settings.
    #[serde(default)]
    pub sticky_sessions: Option<StickySessions>,
    /// Redirect port 80 HTTP to HTTPS on 443.
    #[serde(default)]
    pub redirect_http_to_https: Option<bool>,
    /// PROXY protocol towards the droplets.
    #[serde(default)]
    pub enable_proxy_protocol: Option<bool>,
    /// Keep-alive connections to the droplets.
    #[serde(default)]
    pub enable_backend_keepalive: Option<bool>,
    /// HTTP idle timeout (30 to 600 s).
    #[serde(default)]
    pub http_idle_timeout_seconds: Option<u32>,
    /// The VPC it is in.
    #[serde(default)]
    pub vpc_uuid: Option<VpcId>,
    /// Do not create DNS records for Let's Encrypt certificates.
    #[serde(default)]
    pub disable_lets_encrypt_dns_records: Option<bool>,
    /// Allow and deny rules.
    #[serde(default)]
    pub firewall: Option<Firewall>,
    /// `EXTERNAL` or `INTERNAL`.
    #[serde(default)]
    pub network: Option<LoadBalancerNetwork>,
    /// `IPV4` or `DUALSTACK`.
    #[serde(default)]
    pub network_stack: Option<NetworkStack>,
    /// `REGIONAL`, `REGIONAL_NETWORK` or `GLOBAL`.
    #[serde(default, rename = "type")]
    pub kind: Option<LoadBalancerType>,
    /// Domains (global load balancers).
    #[serde(default)]
    pub domains: Vec<Domain>,
    /// Forwarding settings (global load balancers).
    #[serde(default)]
    pub glb_settings: Option<GlbSettings>,
    /// Regional load balancers behind a global one.
    #[serde(default)]
    pub target_load_balancer_ids: Vec<LoadBalancerId>,
    /// `DEFAULT` or `STRONG`.
    #[serde(default)]
    pub tls_cipher_policy: Option<TlsCipherPolicy>,
    /// The region (absent for global load balancers).
    #[serde(default)]
    pub region: Option<Region>,
    /// The droplet tag it balances over; `""` (as the API sends) means none. See
    /// [`LoadBalancer::selector`].
    #[serde(default)]
    pub tag: Option<String>,
    /// The droplets behind it (with a tag, the droplets currently carrying it).
    #[serde(default)]
    pub droplet_ids: Vec<DropletId>,
}

impl LoadBalancer {
    /// `active`.
    pub fn is_active(&self) -> bool {
        self.status == LoadBalancerStatus::Active
    }

    /// The droplet tag, when one is set (`""` counts as none).
    pub fn droplet_tag(&self) -> Option<&str> {
        self.tag.as_deref().filter(|t| !t.is_empty())
    }

    /// How droplets are chosen: by tag when a non-empty tag is set, else by the id list.
    pub fn selector(&self) -> Selector {
        match self.droplet_tag() {
            Some(t) => Selector::Tag(t.to_owned()),
            None => Selector::DropletIds(self.droplet_ids.clone()),
        }
    }

    /// A request that, sent with [`LoadBalancers::update`], leaves the load balancer as it is:
    /// every settable field is carried over (name, region slug, size or size unit, forwarding
    /// rules, health check, sticky sessions, the booleans, idle timeout, VPC, project,
    /// firewall, network, network stack, type, TLS policy, domains, GLB settings, target load
    /// balancers, and the tag or else the droplet ids). Change what you need, then update.
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

#[derive(Serialize)]
struct DropletIdsBody<'a> {
    droplet_ids: &'a [DropletId],
}

#[derive(Serialize)]
struct ForwardingRulesBody<'a> {
    forwarding_rules: &'a [ForwardingRule],
}

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

    #[test]
    fn health_check_windows() {
        let hc = HealthCheck::http(80, "/");
        assert_eq!(hc.time_to_healthy(), Duration::from_secs(45));
        assert_eq!(hc.time_to_unhealthy(), Duration::from_secs(75));
        let tcp = serde_json::to_value(HealthCheck::tcp(22)).unwrap();
        assert!(tcp.get("path").is_none(), "{tcp}");
    }
}
