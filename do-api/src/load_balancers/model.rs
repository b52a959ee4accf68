//! What the load balancer endpoints answer, and the settings requests send back in the same
//! shape (forwarding rules, health check, sticky sessions, firewall, global settings).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::common::Region;
use crate::error::{Error, Result};
use crate::ids::{DropletId, LoadBalancerId, ProjectId, VpcId};

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

    /// Ports 1 to 65535; checked before any request that sends rules.
    pub(super) fn check(&self) -> Result<()> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_check_windows() {
        let hc = HealthCheck::http(80, "/");
        assert_eq!(hc.time_to_healthy(), Duration::from_secs(45));
        assert_eq!(hc.time_to_unhealthy(), Duration::from_secs(75));
        let tcp = serde_json::to_value(HealthCheck::tcp(22)).unwrap();
        assert!(tcp.get("path").is_none(), "{tcp}");
    }
}
