//! `/v2/load_balancers`: create, get, list, update, delete, droplets, forwarding rules, waiting.

#[path = "../support/mod.rs"]
mod support;

mod create_get_list;
mod update_delete;
mod wait_find_input;

use std::time::Duration;

use do_api::load_balancers::{
    EntryProtocol, Firewall, ForwardingRule, HealthCheck, HealthCheckProtocol, LoadBalancer,
    LoadBalancerNetwork, LoadBalancerRequest, LoadBalancerStatus, LoadBalancerType, NetworkStack,
    Selector, StickySessions, StickySessionsType, TargetProtocol, TlsCipherPolicy,
};
use do_api::{DropletId, Error, LoadBalancerId, ProjectId, VpcId};
use serde_json::{Value, json};
use support::*;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LB: &str = "4de7ac8b-495b-4884-9a69-1050c6793cd6";
const LB_PATH: &str = "/v2/load_balancers/4de7ac8b-495b-4884-9a69-1050c6793cd6";
const CERT: &str = "892071a0-bb95-49bc-8021-3afd67a210bf";

fn lb_id() -> LoadBalancerId {
    LoadBalancerId::from(LB)
}

fn https_to_8080() -> ForwardingRule {
    ForwardingRule::new(EntryProtocol::Https, 443, TargetProtocol::Http, 8080).certificate_id(CERT)
}
