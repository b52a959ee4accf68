//! What the simulator counted: API calls, injected faults, actions, deploys, and the traffic
//! its load balancers and reserved IPs carried.

use std::collections::BTreeMap;

use serde::Serialize;

/// Traffic through one load balancer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LbStats {
    /// Requests received.
    pub requests: u64,
    /// Requests answered 503 because no droplet was in rotation.
    pub no_backend: u64,
    /// Requests answered 502 because the chosen droplet did not answer.
    pub backend_errors: u64,
    /// Requests sent on, by droplet id.
    pub by_droplet: BTreeMap<u64, u64>,
}

/// Traffic through one reserved IP.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct IpStats {
    /// Connections accepted.
    pub connections: u64,
    /// Connections reset because the IP was assigned to nobody.
    pub unassigned: u64,
    /// Connections reset because the droplet could not be reached.
    pub connect_errors: u64,
    /// Moves (assign or unassign completed) that reset connections.
    pub moves: u64,
    /// Open connections reset by a move.
    pub reset_by_move: u64,
    /// New connections refused during the blackout after a move.
    pub blackout: u64,
    /// Connections forwarded, by droplet id.
    pub by_droplet: BTreeMap<u64, u64>,
}

/// Counters kept under the state lock.
#[derive(Debug, Clone, Default)]
pub(crate) struct StatsInner {
    pub api_calls: BTreeMap<String, u64>,
    pub unauthorized: u64,
    pub injected_429: u64,
    pub injected_5xx: u64,
    pub rate_limited: u64,
    pub actions_started: u64,
    pub actions_errored: u64,
    pub deploys: u64,
}

/// A snapshot of the simulator's counters ([`crate::Sim::stats`], `GET /_sim/stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SimStats {
    /// `/v2` requests received, by `METHOD /v2/path/{id}` (ids replaced by `{id}`), faults and
    /// 401s included.
    pub api_calls: BTreeMap<String, u64>,
    /// All `/v2` requests received.
    pub api_total: u64,
    /// Requests answered 401 (no bearer token).
    pub unauthorized: u64,
    /// Injected 429s.
    pub injected_429: u64,
    /// Injected 5xx.
    pub injected_5xx: u64,
    /// Real 429s (hourly quota exhausted).
    pub rate_limited: u64,
    /// Actions started.
    pub actions_started: u64,
    /// Actions that ended `errored`.
    pub actions_errored: u64,
    /// Deploys (control endpoint or [`crate::Sim::deploy`]).
    pub deploys: u64,
    /// Load balancer traffic, by name.
    pub load_balancers: BTreeMap<String, LbStats>,
    /// Reserved IP traffic, by address.
    pub reserved_ips: BTreeMap<String, IpStats>,
}

impl SimStats {
    /// Calls of `key` (`"GET /v2/droplets"`).
    pub fn calls(&self, key: &str) -> u64 {
        self.api_calls.get(key).copied().unwrap_or(0)
    }
}

/// `GET /v2/droplets/123/actions/9` -> `GET /v2/droplets/{id}/actions/{id}`.
pub(crate) fn route_key(method: &str, path: &str) -> String {
    const WORDS: [&str; 9] = [
        "v2",
        "droplets",
        "actions",
        "tags",
        "resources",
        "reserved_ips",
        "floating_ips",
        "load_balancers",
        "forwarding_rules",
    ];
    // Monitoring paths name metrics, never ids.
    const MONITORING: [&str; 2] = ["metrics", "load_balancer"];
    let metric = |seg: &str| {
        MONITORING.contains(&seg)
            || do_api::monitoring::LbMetric::ALL
                .iter()
                .any(|m| m.as_str() == seg)
    };
    let mut out = String::from(method);
    out.push(' ');
    for (i, seg) in path.trim_matches('/').split('/').enumerate() {
        out.push('/');
        if i < 2 || WORDS.contains(&seg) || metric(seg) {
            out.push_str(seg);
        } else {
            out.push_str("{id}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::route_key;

    #[test]
    fn keys() {
        assert_eq!(route_key("GET", "/v2/droplets"), "GET /v2/droplets");
        assert_eq!(
            route_key("GET", "/v2/droplets/12/actions/9"),
            "GET /v2/droplets/{id}/actions/{id}"
        );
        assert_eq!(
            route_key("POST", "/v2/tags/PROD/resources"),
            "POST /v2/tags/{id}/resources"
        );
        assert_eq!(
            route_key("POST", "/v2/reserved_ips/127.1.3.1/actions"),
            "POST /v2/reserved_ips/{id}/actions"
        );
        assert_eq!(
            route_key("POST", "/v2/droplets/actions"),
            "POST /v2/droplets/actions"
        );
        assert_eq!(
            route_key(
                "GET",
                "/v2/monitoring/metrics/load_balancer/droplets_http_response_time_95p"
            ),
            "GET /v2/monitoring/metrics/load_balancer/droplets_http_response_time_95p"
        );
    }
}
