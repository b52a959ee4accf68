//! Where to probe: a [`HealthTarget`] resolved (against a load balancer's check, or the
//! defaults) into an [`Endpoint`], and a [`HealthGate`]: an endpoint with a policy.

use std::net::IpAddr;

use do_api::droplets::Droplet;
use do_api::load_balancers::{HealthCheck as LbHealthCheck, HealthCheckProtocol};
use serde::Serialize;

use super::{AddressKind, HealthFailure, HealthPolicy, HealthReport, ProbeFailure, Scheme};
use crate::events::EventSink;

/// Where a droplet is probed: scheme, port, path, and which of its addresses. A part left
/// `None` is taken from the load balancer's health check when there is one, else from the
/// defaults (`http`, the scheme's port, `/`): see [`HealthTarget::resolve`], the one place
/// where this happens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HealthTarget {
    /// `http` or `https`.
    pub scheme: Option<Scheme>,
    /// Port.
    pub port: Option<u16>,
    /// Path (a missing leading `/` is added).
    pub path: Option<String>,
    /// Which droplet address to use for direct checks.
    pub address: AddressKind,
}

/// A [`HealthTarget`] with every part decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// Port.
    pub port: u16,
    /// Path, starting with `/`.
    pub path: String,
    /// Which droplet address to use for direct checks.
    pub address: AddressKind,
    /// The scheme is the load balancer's `https`: any certificate is accepted, as the load
    /// balancer itself does (droplets are probed by IP, which certificates rarely name).
    pub accept_any_certificate: bool,
}

/// Why a [`HealthTarget`] cannot be resolved against a load balancer's health check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// The load balancer checks with a protocol that has no HTTP equivalent (`tcp`), and no
    /// scheme was given.
    #[error(
        "the load balancer's health check is `{protocol}`, which zdd-do cannot gate on; set the health gate's scheme (and path) to gate over HTTP"
    )]
    NotHttp {
        /// The load balancer's protocol.
        protocol: String,
    },
}

impl HealthTarget {
    /// Decide every part: what is set here, else the load balancer's health check (`lb`),
    /// else the default. An `https` scheme taken from the load balancer accepts any
    /// certificate.
    pub fn resolve(&self, lb: Option<&LbHealthCheck>) -> Result<Endpoint, TargetError> {
        let (scheme, from_lb_https) = match (self.scheme, lb.map(|c| &c.protocol)) {
            (Some(s), _) => (s, false),
            (None, None) => (Scheme::Http, false),
            (None, Some(HealthCheckProtocol::Http)) => (Scheme::Http, false),
            (None, Some(HealthCheckProtocol::Https)) => (Scheme::Https, true),
            (None, Some(other)) => {
                return Err(TargetError::NotHttp {
                    protocol: other.to_string(),
                });
            }
        };
        let port = self.port.or(lb.map(|c| c.port)).unwrap_or(match scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        });
        let path = match (&self.path, lb) {
            (Some(p), _) => p.clone(),
            (None, Some(c)) if !c.path.is_empty() => c.path.clone(),
            (None, _) => "/".into(),
        };
        let path = if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        };
        Ok(Endpoint {
            scheme,
            port,
            path,
            address: self.address,
            accept_any_certificate: from_lb_https,
        })
    }

    /// [`HealthTarget::resolve`] without a load balancer: never fails.
    pub fn resolve_alone(&self) -> Endpoint {
        self.resolve(None)
            .expect("without a load balancer every part has a default")
    }
}

impl Endpoint {
    /// The URL for `ip`.
    pub fn url_for(&self, ip: IpAddr) -> String {
        self.url_with_path(ip, &self.path)
    }

    /// The URL for `ip` with another path (same scheme and port).
    pub fn url_with_path(&self, ip: IpAddr, path: &str) -> String {
        let host = match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        let sep = if path.starts_with('/') { "" } else { "/" };
        format!("{}://{host}:{}{sep}{path}", self.scheme.as_str(), self.port)
    }

    /// The droplet's address to probe, or why it has none.
    pub fn address_of(&self, d: &Droplet) -> Result<IpAddr, String> {
        let ip = match self.address {
            AddressKind::Public => d.public_ipv4(),
            AddressKind::Private => d.private_ipv4(),
        };
        ip.map(IpAddr::V4).ok_or_else(|| {
            format!(
                "droplet {} ({}) has no {} IPv4 address to health-check",
                d.id,
                d.name,
                match self.address {
                    AddressKind::Public => "public",
                    AddressKind::Private => "private",
                }
            )
        })
    }
}

/// A resolved target and a policy: probing droplets directly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthGate {
    /// Where.
    pub endpoint: Endpoint,
    /// How to judge.
    pub policy: HealthPolicy,
}

impl HealthGate {
    /// The gate for `endpoint` with `policy`; a certificate the endpoint says to accept is
    /// accepted.
    pub fn new(endpoint: Endpoint, mut policy: HealthPolicy) -> Self {
        policy.insecure_tls |= endpoint.accept_any_certificate;
        HealthGate { endpoint, policy }
    }

    /// The same gate for a droplet that may run either version: no expected body.
    pub fn any_version(&self) -> HealthGate {
        HealthGate {
            endpoint: self.endpoint.clone(),
            policy: HealthPolicy {
                expect_body: None,
                ..self.policy.clone()
            },
        }
    }

    /// The URL for `ip`.
    pub fn url_for(&self, ip: IpAddr) -> String {
        self.endpoint.url_for(ip)
    }

    /// The droplet's address to probe, or why it has none.
    pub fn address_of(&self, d: &Droplet) -> Result<IpAddr, String> {
        self.endpoint.address_of(d)
    }

    /// Probe `ip` until the policy's `successes` probes in a row pass, or fail at its
    /// deadline.
    pub async fn wait_healthy(
        &self,
        ip: IpAddr,
        sink: &dyn EventSink,
    ) -> Result<HealthReport, HealthFailure> {
        self.policy.wait_url(&self.url_for(ip), sink).await
    }

    /// One probe of `ip`.
    pub async fn probe_ip(&self, ip: IpAddr) -> Result<u16, ProbeFailure> {
        self.policy.probe(&self.url_for(ip)).await
    }

    /// `method path` on `ip` (same scheme and port as the probes): an app's drain or
    /// pre-switch URL. A 2xx answer is success; anything else says what happened.
    pub async fn call(&self, ip: IpAddr, path: &str, method: &str) -> Result<(), String> {
        let url = self.endpoint.url_with_path(ip, path);
        let m = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| format!("`{method}` is not an HTTP method"))?;
        let resp = self
            .policy
            .http()
            .request(m, &url)
            .send()
            .await
            .map_err(|e| format!("{method} {url}: {}", super::describe_reqwest(&e)))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("{method} {url} answered {}", resp.status()))
        }
    }

    /// Whether `ip` (a droplet, or a reserved IP in front of one) now ends its answers with
    /// `Connection: close`: one GET of the probe URL on a new connection. `Err` says what was
    /// seen instead.
    pub async fn closes_connections(&self, ip: IpAddr) -> Result<(), String> {
        let url = self.url_for(ip);
        let resp = self
            .policy
            .http()
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{url}: {}", super::describe_reqwest(&e)))?;
        let connection = resp
            .headers()
            .get(reqwest::header::CONNECTION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if connection
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("close"))
        {
            Ok(())
        } else {
            Err(format!(
                "{url} answered {} without `Connection: close`{}",
                resp.status(),
                if connection.is_empty() {
                    String::new()
                } else {
                    format!(" (Connection: {connection})")
                }
            ))
        }
    }

    /// One GET of `ip` whatever its status: the answer's headers and body (at most 64 KiB
    /// read), to learn how the app names itself.
    pub async fn fetch(&self, ip: IpAddr) -> Result<(reqwest::header::HeaderMap, String), String> {
        let url = self.url_for(ip);
        let resp = self
            .policy
            .http()
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{url}: {}", super::describe_reqwest(&e)))?;
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap_or_default();
        let body: String = body.chars().take(65_536).collect();
        Ok((headers, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_takes_the_load_balancers_check_unless_set() {
        let ip: IpAddr = "203.0.113.1".parse().unwrap();
        let hc = LbHealthCheck::http(8080, "/healthz");
        let e = HealthTarget::default().resolve(Some(&hc)).unwrap();
        assert_eq!(e.url_for(ip), "http://203.0.113.1:8080/healthz");
        assert!(!e.accept_any_certificate);
        let set = HealthTarget {
            scheme: Some(Scheme::Https),
            port: Some(8443),
            path: Some("/ready".into()),
            ..HealthTarget::default()
        };
        let e = set.resolve(Some(&hc)).unwrap();
        assert_eq!(e.url_for(ip), "https://203.0.113.1:8443/ready");
        assert!(!e.accept_any_certificate);
        // The load balancer's https: any certificate, as the load balancer itself does.
        let e = HealthTarget::default()
            .resolve(Some(&LbHealthCheck::https(443, "/")))
            .unwrap();
        assert!(e.accept_any_certificate && e.scheme == Scheme::Https);
        let gate = HealthGate::new(e, HealthPolicy::default());
        assert!(gate.policy.insecure_tls);
        let err = HealthTarget::default()
            .resolve(Some(&LbHealthCheck::tcp(22)))
            .unwrap_err();
        assert!(err.to_string().contains("health check is `tcp`"), "{err}");
        let e = HealthTarget {
            scheme: Some(Scheme::Http),
            ..HealthTarget::default()
        }
        .resolve(Some(&LbHealthCheck::tcp(8080)))
        .unwrap();
        assert_eq!(e.url_for(ip), "http://203.0.113.1:8080/");
    }

    #[test]
    fn without_a_load_balancer_the_defaults_apply() {
        let ip: IpAddr = "203.0.113.1".parse().unwrap();
        assert_eq!(
            HealthTarget::default().resolve_alone().url_for(ip),
            "http://203.0.113.1:80/"
        );
        let e = HealthTarget {
            scheme: Some(Scheme::Https),
            path: Some("health".into()),
            ..HealthTarget::default()
        }
        .resolve_alone();
        assert_eq!(e.url_for(ip), "https://203.0.113.1:443/health");
        assert_eq!(
            e.url_with_path(ip, "/drain"),
            "https://203.0.113.1:443/drain"
        );
    }
}
