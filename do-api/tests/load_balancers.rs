//! `/v2/load_balancers`: create, get, list, update, delete, droplets, forwarding rules, waiting.

mod support;

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

/// Mount `POST /v2/load_balancers` expecting exactly the spec's request example `req` and
/// answering with the spec's response example `resp`; create with `built`.
async fn create_case(built: LoadBalancerRequest, req: &str, resp: &str) -> LoadBalancer {
    let server = server().await;
    let expected = fixture_json(&format!("official/loadBalancers_create/{req}"));
    assert_eq!(
        serde_json::to_value(&built).unwrap(),
        expected,
        "builder output differs from {req}"
    );
    Mock::given(method("POST"))
        .and(path("/v2/load_balancers"))
        .and(auth())
        .and(body_json(expected))
        .respond_with(json_fixture(
            202,
            &format!("official/loadBalancers_create/{resp}"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .load_balancers()
        .create(&built)
        .await
        .unwrap()
}

#[tokio::test]
async fn create_basic_request_equals_the_spec_example() {
    let req = LoadBalancerRequest::new("example-lb-01", "nyc3")
        .forwarding_rule(ForwardingRule::new(
            EntryProtocol::Http,
            80,
            TargetProtocol::Http,
            80,
        ))
        .forwarding_rule(
            ForwardingRule::new(EntryProtocol::Https, 443, TargetProtocol::Https, 443)
                .tls_passthrough(true),
        )
        .droplet_ids([DropletId(3164444), DropletId(3164445)])
        .project_id(ProjectId::from("9cc10173-e9ea-4176-9dbc-a4cee4c4ff30"))
        .http_idle_timeout_seconds(60)
        .firewall(Firewall::new(
            vec!["ip:1.2.3.4".into(), "cidr:2.3.4.0/24".into()],
            vec!["cidr:1.2.0.0/16".into(), "ip:2.3.4.5".into()],
        ));
    let lb = create_case(
        req,
        "request-basic-create-request.json",
        "202-basic-create-response.json",
    )
    .await;
    assert_eq!(lb.id, lb_id());
    assert_eq!(lb.status, LoadBalancerStatus::New);
    assert_eq!(lb.ip.as_deref(), Some("104.131.186.241"));
    assert_eq!(lb.forwarding_rules.len(), 2);
    assert_eq!(lb.forwarding_rules[1].tls_passthrough, Some(true));
    assert_eq!(
        lb.selector(),
        Selector::DropletIds(vec![DropletId(3164444), DropletId(3164445)])
    );
    assert_eq!(
        lb.firewall.unwrap().deny,
        vec!["cidr:1.2.0.0/16", "ip:2.3.4.5"]
    );
}

#[tokio::test]
async fn create_ssl_termination_request_equals_the_spec_example() {
    let req = LoadBalancerRequest::new("example-lb-01", "nyc3")
        .forwarding_rule(https_to_8080())
        .droplet_ids([DropletId(3164444), DropletId(3164445)]);
    let lb = create_case(
        req,
        "request-ssl-termination-create-request.json",
        "202-ssl-termination-create-response.json",
    )
    .await;
    assert_eq!(lb.forwarding_rules[0].entry_protocol, EntryProtocol::Https);
    assert_eq!(lb.forwarding_rules[0].target_port, 8080);
    assert_eq!(lb.forwarding_rules[0].certificate_id.as_deref(), Some(CERT));
}

#[tokio::test]
async fn create_by_tag_request_equals_the_spec_example() {
    let req = LoadBalancerRequest::new("example-lb-01", "nyc3")
        .droplet_ids([DropletId(1)])
        .forwarding_rule(https_to_8080())
        .tag("prod:web");
    let lb = create_case(
        req,
        "request-create-request-using-droplet-tag.json",
        "202-create-response-using-droplet-tag.json",
    )
    .await;
    // The answer lists the tagged droplets too; the selector is the tag.
    assert_eq!(lb.droplet_ids.len(), 2);
    assert_eq!(lb.selector(), Selector::Tag("prod:web".into()));
    assert_eq!(lb.droplet_tag(), Some("prod:web"));
}

#[tokio::test]
async fn create_sticky_sessions_and_health_check_request_equals_the_spec_example() {
    let req = LoadBalancerRequest::new("example-lb-01", "nyc3")
        .forwarding_rule(https_to_8080())
        .health_check(
            HealthCheck::http(8080, "/health")
                .check_interval_seconds(10)
                .response_timeout_seconds(5)
                .healthy_threshold(5)
                .unhealthy_threshold(3),
        )
        .sticky_sessions(StickySessions::cookies("LB_COOKIE", 300))
        .tag("prod:web");
    let lb = create_case(
        req,
        "request-sticky-sessions-and-custom-health-check.json",
        "202-sticky-sessions-and-custom-health-check.json",
    )
    .await;
    let hc = lb.health_check.unwrap();
    assert_eq!(hc.path, "/health");
    assert_eq!(hc.port, 8080);
    assert_eq!(hc.healthy_threshold, 5);
    assert_eq!(hc.unhealthy_threshold, 3);
    let sticky = lb.sticky_sessions.unwrap();
    assert_eq!(sticky.kind, StickySessionsType::Cookies);
    assert_eq!(sticky.cookie_name.as_deref(), Some("LB_COOKIE"));
    assert_eq!(sticky.cookie_ttl_seconds, Some(300));
}

#[tokio::test]
async fn create_is_not_retried_after_a_server_error() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/load_balancers"))
        .and(auth())
        .respond_with(json_fixture(
            500,
            "official/loadBalancers_create/500-example.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let req = LoadBalancerRequest::new("web", "nyc3")
        .forwarding_rule(https_to_8080())
        .tag("web");
    let err = client(&server)
        .load_balancers()
        .create(&req)
        .await
        .unwrap_err();
    assert!(err.is_server_error(), "{err}");
}

#[tokio::test]
async fn get_decodes_the_official_example() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path(LB_PATH))
        .and(auth())
        .respond_with(json_fixture(
            200,
            "official/loadBalancers_get/200-load-balancer-basic-response.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let lb = client(&server)
        .load_balancers()
        .get(&lb_id())
        .await
        .unwrap();
    assert_eq!(lb.name, "example-lb-01");
    assert_eq!(lb.status, LoadBalancerStatus::New);
    assert!(!lb.is_active());
    assert_eq!(lb.size.as_deref(), Some("lb-small"));
    assert_eq!(lb.size_unit, None);
    assert_eq!(lb.region.as_ref().unwrap().slug.as_deref(), Some("nyc3"));
    assert_eq!(
        lb.tag.as_deref(),
        Some(""),
        "the example sends an empty tag"
    );
    assert_eq!(lb.droplet_tag(), None);
    assert_eq!(
        lb.selector(),
        Selector::DropletIds(vec![DropletId(3164444), DropletId(3164445)])
    );
    let hc = lb.health_check.as_ref().unwrap();
    assert_eq!(hc.protocol, HealthCheckProtocol::Http);
    assert_eq!(hc.check_interval_seconds, 10);
    assert_eq!(hc.response_timeout_seconds, 5);
    assert_eq!(hc.time_to_healthy(), Duration::from_secs(75));
    assert_eq!(
        lb.sticky_sessions.as_ref().unwrap().kind,
        StickySessionsType::None
    );
    assert_eq!(lb.http_idle_timeout_seconds, Some(60));
    assert_eq!(
        lb.vpc_uuid,
        Some(VpcId::from("c33931f2-a26a-4e61-b85c-4e95a2ec431b"))
    );
    assert_eq!(lb.forwarding_rules[0].certificate_id.as_deref(), Some(""));
}

/// `get_opt`: `None` only for a 404; a found load balancer is `Some`, any other error stays
/// one, and an empty id is still refused before sending.
#[tokio::test]
async fn get_opt_is_none_only_for_a_404() {
    let server = server().await;
    for (id, status, fixture) in [
        (
            LB,
            200,
            "official/loadBalancers_get/200-load-balancer-basic-response.json",
        ),
        ("gone", 404, "official/loadBalancers_get/404-example.json"),
        ("secret", 401, "official/loadBalancers_get/401-example.json"),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/v2/load_balancers/{id}")))
            .and(auth())
            .respond_with(json_fixture(status, fixture))
            .expect(1)
            .mount(&server)
            .await;
    }
    let c = client(&server);
    let lbs = c.load_balancers();
    let found = lbs.get_opt(&lb_id()).await.unwrap();
    assert_eq!(
        found.expect("the load balancer exists").name,
        "example-lb-01"
    );
    assert_eq!(
        lbs.get_opt(&LoadBalancerId::from("gone")).await.unwrap(),
        None
    );
    let err = lbs
        .get_opt(&LoadBalancerId::from("secret"))
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    let err = lbs.get_opt(&LoadBalancerId::from("")).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert_eq!(
        c.requests_sent(),
        3,
        "one request each, none for the empty id"
    );
}

#[tokio::test]
async fn list_sends_paging_parameters_and_decodes_the_official_example() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/load_balancers"))
        .and(query_param("page", "1"))
        .and(query_param("per_page", "200"))
        .and(auth())
        .respond_with(json_fixture(
            200,
            "official/loadBalancers_list/200-all-load-balancers.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let lbs = client(&server).load_balancers().list().await.unwrap();
    assert_eq!(lbs.len(), 2);
    assert_eq!(lbs[0].id, lb_id());
    assert_eq!(lbs[1].name, "prod-web-lb-01");
    assert_eq!(lbs[1].status, LoadBalancerStatus::Active);
    assert_eq!(lbs[1].selector(), Selector::Tag("prod:web".into()));
    // A tag-selected load balancer becomes a request with the tag and without droplet ids.
    let body = serde_json::to_value(lbs[1].to_request()).unwrap();
    assert_eq!(body["tag"], "prod:web");
    assert!(body.get("droplet_ids").is_none(), "{body}");
}

#[tokio::test]
async fn list_page_asks_for_that_page() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/load_balancers"))
        .and(query_param("page", "2"))
        .and(query_param("per_page", "200"))
        .and(auth())
        .respond_with(json_fixture(
            200,
            "official/loadBalancers_list/200-all-load-balancers.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server).load_balancers().list_page(2).await.unwrap();
    assert_eq!(page.page, 2);
    assert_eq!(page.total, Some(2));
    assert_eq!(page.items.len(), 2);
}

fn official_lb() -> LoadBalancer {
    serde_json::from_value(
        fixture_json("official/loadBalancers_get/200-load-balancer-basic-response.json")
            ["load_balancer"]
            .clone(),
    )
    .unwrap()
}

/// What `to_request` must produce for the official get example: every settable field it has,
/// nothing read-only (`id`, `ip`, `status`, `created_at`), no deprecated `algorithm`, the
/// region as a slug, droplet ids (the tag is empty).
fn official_lb_as_request() -> Value {
    json!({
        "name": "example-lb-01",
        "region": "nyc3",
        "size": "lb-small",
        "forwarding_rules": [
            {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http",
             "target_port": 80, "certificate_id": "", "tls_passthrough": false},
            {"entry_protocol": "https", "entry_port": 443, "target_protocol": "https",
             "target_port": 443, "certificate_id": "", "tls_passthrough": true}
        ],
        "health_check": {"protocol": "http", "port": 80, "path": "/",
            "check_interval_seconds": 10, "response_timeout_seconds": 5,
            "healthy_threshold": 5, "unhealthy_threshold": 3},
        "sticky_sessions": {"type": "none"},
        "redirect_http_to_https": false,
        "enable_proxy_protocol": false,
        "enable_backend_keepalive": false,
        "http_idle_timeout_seconds": 60,
        "vpc_uuid": "c33931f2-a26a-4e61-b85c-4e95a2ec431b",
        "project_id": "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30",
        "disable_lets_encrypt_dns_records": false,
        "firewall": {"deny": ["cidr:1.2.0.0/16", "ip:2.3.4.5"],
                     "allow": ["ip:1.2.3.4", "cidr:2.3.4.0/24"]},
        "droplet_ids": [3164444, 3164445]
    })
}

async fn mount_update(server: &MockServer, body: Value) {
    Mock::given(method("PUT"))
        .and(path(LB_PATH))
        .and(auth())
        .and(body_json(body))
        .respond_with(json_fixture(
            200,
            "official/loadBalancers_update/200-load-balancer-update-response.json",
        ))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn update_from_a_fetched_load_balancer_changes_only_the_health_check() {
    let lb = official_lb();
    let unchanged = serde_json::to_value(lb.to_request()).unwrap();
    assert_eq!(unchanged, official_lb_as_request());

    let mut req = lb.to_request();
    req.health_check = Some(HealthCheck::http(8080, "/healthz").healthy_threshold(2));
    let mut expected = official_lb_as_request();
    expected["health_check"] = json!({"protocol": "http", "port": 8080, "path": "/healthz",
        "check_interval_seconds": 10, "response_timeout_seconds": 5,
        "healthy_threshold": 2, "unhealthy_threshold": 5});
    let sent = serde_json::to_value(&req).unwrap();
    let changed: Vec<&String> = sent
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, v)| unchanged.get(k.as_str()) != Some(v))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(changed, vec!["health_check"]);
    assert_eq!(
        sent.as_object().unwrap().len(),
        unchanged.as_object().unwrap().len()
    );

    let server = server().await;
    mount_update(&server, expected).await;
    let updated = client(&server)
        .load_balancers()
        .update(&lb.id, &req)
        .await
        .unwrap();
    assert_eq!(updated.name, "updated-example-lb-01");
    assert_eq!(updated.enable_proxy_protocol, Some(true));
}

#[tokio::test]
async fn update_matches_the_spec_update_example_apart_from_deprecated_fields() {
    let mut req = official_lb().to_request();
    req.name = "updated-example-lb-01".into();
    req.enable_proxy_protocol = Some(true);
    req.enable_backend_keepalive = Some(true);
    // The spec's update example, minus `algorithm` (deprecated, "no longer" settable) and with
    // `disable_lets_encrypt_dns_records` and `size` (in the fetched object, so carried over).
    let mut expected =
        fixture_json("official/loadBalancers_update/request-load-balancer-update-request.json");
    let map = expected.as_object_mut().unwrap();
    assert_eq!(map.remove("algorithm"), Some(json!("round_robin")));
    map.insert("disable_lets_encrypt_dns_records".into(), json!(false));
    map.insert("size".into(), json!("lb-small"));
    let server = server().await;
    mount_update(&server, expected).await;
    client(&server)
        .load_balancers()
        .update(&lb_id(), &req)
        .await
        .unwrap();
}

#[tokio::test]
async fn to_request_prefers_size_unit_and_carries_global_settings() {
    let lb: LoadBalancer = serde_json::from_value(
        fixture_json("edge/lb_unknown_values.json")["load_balancer"].clone(),
    )
    .unwrap();
    let body = serde_json::to_value(lb.to_request()).unwrap();
    assert_eq!(body["size_unit"], 3);
    assert!(body.get("size").is_none(), "size and size_unit: {body}");
    assert_eq!(body["tag"], "prod:web");
    assert!(body.get("droplet_ids").is_none());
    assert_eq!(body["type"], "REGIONAL_NETWORK");
    assert_eq!(body["network_stack"], "DUALSTACK");
    assert_eq!(body["tls_cipher_policy"], "PARANOID");
    assert_eq!(
        body["glb_settings"]["region_priorities"],
        json!({"nyc1": 1, "fra1": 2})
    );
    assert_eq!(body["domains"][0]["name"], "example.com");
    assert_eq!(
        body["target_load_balancer_ids"],
        json!(["7dbf91fe-cbdb-48dc-8290-c3a181554905"])
    );
    // Unknown enum values are sent back as they came.
    assert_eq!(body["forwarding_rules"][2]["entry_protocol"], "quic");
    assert_eq!(body["sticky_sessions"]["type"], "source_ip");
    for read_only in [
        "id",
        "ip",
        "ipv6",
        "status",
        "created_at",
        "algorithm",
        "future_field",
    ] {
        assert!(body.get(read_only).is_none(), "{read_only} in {body}");
    }
}

#[tokio::test]
async fn unknown_fields_and_enum_values_decode() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path(LB_PATH))
        .and(auth())
        .respond_with(json_fixture(200, "edge/lb_unknown_values.json"))
        .expect(1)
        .mount(&server)
        .await;
    let lb = client(&server)
        .load_balancers()
        .get(&lb_id())
        .await
        .unwrap();
    assert_eq!(lb.status, LoadBalancerStatus::Unknown("migrating".into()));
    assert_eq!(
        lb.forwarding_rules[2].entry_protocol,
        EntryProtocol::Unknown("quic".into())
    );
    assert_eq!(
        lb.forwarding_rules[2].target_protocol,
        TargetProtocol::Unknown("grpc".into())
    );
    assert_eq!(
        lb.health_check.as_ref().unwrap().protocol,
        HealthCheckProtocol::Unknown("grpc".into())
    );
    assert_eq!(
        lb.sticky_sessions.as_ref().unwrap().kind,
        StickySessionsType::Unknown("source_ip".into())
    );
    assert_eq!(lb.network, Some(LoadBalancerNetwork::External));
    assert_eq!(lb.network_stack, Some(NetworkStack::DualStack));
    assert_eq!(lb.kind, Some(LoadBalancerType::RegionalNetwork));
    assert_eq!(
        lb.tls_cipher_policy,
        Some(TlsCipherPolicy::Unknown("PARANOID".into()))
    );
    assert_eq!(lb.size_unit, Some(3));
    assert_eq!(lb.glb_settings.unwrap().failover_threshold, Some(50));
}

#[tokio::test]
async fn delete_sends_delete() {
    let server = server().await;
    Mock::given(method("DELETE"))
        .and(path(LB_PATH))
        .and(auth())
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .load_balancers()
        .delete(&lb_id())
        .await
        .unwrap();
}

#[tokio::test]
async fn delete_of_a_missing_load_balancer_is_not_found() {
    let server = server().await;
    Mock::given(method("DELETE"))
        .and(path(LB_PATH))
        .and(auth())
        .respond_with(json_fixture(
            404,
            "official/loadBalancers_delete/404-example.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .load_balancers()
        .delete(&lb_id())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn add_and_remove_droplets_send_the_ids() {
    let server = server().await;
    let body = json!({"droplet_ids": [3164444, 3164445]});
    for verb in ["POST", "DELETE"] {
        Mock::given(method(verb))
            .and(path(format!("{LB_PATH}/droplets")))
            .and(auth())
            .and(body_json(body.clone()))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
    }
    let c = client(&server);
    let ids = [DropletId(3164444), DropletId(3164445)];
    c.load_balancers()
        .add_droplets(&lb_id(), &ids)
        .await
        .unwrap();
    c.load_balancers()
        .remove_droplets(&lb_id(), &ids)
        .await
        .unwrap();
    assert_eq!(
        requests(&server).await,
        vec![
            format!("POST {LB_PATH}/droplets"),
            format!("DELETE {LB_PATH}/droplets")
        ]
    );
}

#[tokio::test]
async fn adding_droplets_to_a_tag_balancer_reports_the_422() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path(format!("{LB_PATH}/droplets")))
        .and(auth())
        .respond_with(json_fixture(422, "edge/lb_add_droplets_422.json"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .load_balancers()
        .add_droplets(&lb_id(), &[DropletId(1)])
        .await
        .unwrap_err();
    assert!(err.is_unprocessable(), "{err}");
    assert!(
        err.to_string().contains("configured with a Droplet tag"),
        "{err}"
    );
}

#[tokio::test]
async fn add_and_remove_forwarding_rules_send_the_rules() {
    let server = server().await;
    let body = json!({"forwarding_rules": [
        {"entry_protocol": "tcp", "entry_port": 3306, "target_protocol": "tcp", "target_port": 3306},
        {"entry_protocol": "https", "entry_port": 443, "target_protocol": "http",
         "target_port": 8080, "certificate_id": CERT}
    ]});
    for verb in ["POST", "DELETE"] {
        Mock::given(method(verb))
            .and(path(format!("{LB_PATH}/forwarding_rules")))
            .and(auth())
            .and(body_json(body.clone()))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
    }
    let rules = [
        ForwardingRule::new(EntryProtocol::Tcp, 3306, TargetProtocol::Tcp, 3306),
        https_to_8080(),
    ];
    let c = client(&server);
    c.load_balancers()
        .add_forwarding_rules(&lb_id(), &rules)
        .await
        .unwrap();
    c.load_balancers()
        .remove_forwarding_rules(&lb_id(), &rules)
        .await
        .unwrap();
}

#[tokio::test]
async fn wait_active_polls_while_new() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path(LB_PATH))
        .and(auth())
        .respond_with(json_fixture(
            200,
            "official/loadBalancers_get/200-load-balancer-basic-response.json",
        ))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(LB_PATH))
        .and(auth())
        .respond_with(json_fixture(200, "edge/lb_active.json"))
        .expect(1)
        .mount(&server)
        .await;
    let lb = client(&server)
        .load_balancers()
        .wait_active(&lb_id(), &fast_wait(Duration::from_secs(5)))
        .await
        .unwrap();
    assert!(lb.is_active());
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn wait_active_stops_on_errored() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path(LB_PATH))
        .and(auth())
        .respond_with(json_fixture(200, "edge/lb_errored.json"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .load_balancers()
        .wait_active(&lb_id(), &fast_wait(Duration::from_secs(5)))
        .await
        .unwrap_err();
    match &err {
        Error::ResourceErrored {
            what,
            status,
            expected,
        } => {
            assert_eq!(what, &format!("load balancer {LB}"));
            assert_eq!(status, "errored");
            assert_eq!(expected, "active");
        }
        other => panic!("expected ResourceErrored, got {other}"),
    }
}

#[tokio::test]
async fn wait_active_times_out_with_the_last_status() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path(LB_PATH))
        .and(auth())
        .respond_with(json_fixture(
            200,
            "official/loadBalancers_get/200-load-balancer-basic-response.json",
        ))
        .mount(&server)
        .await;
    let err = client(&server)
        .load_balancers()
        .wait_active(&lb_id(), &fast_wait(Duration::from_millis(150)))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("load balancer {LB} did not finish")),
        "{text}"
    );
    assert!(text.contains("last seen: status new"), "{text}");
    assert!(requests(&server).await.len() >= 2);
}

#[tokio::test]
async fn find_by_name_finds_one_none_or_refuses_duplicates() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/load_balancers"))
        .and(query_param("page", "1"))
        .and(auth())
        .respond_with(json_fixture(
            200,
            "official/loadBalancers_list/200-all-load-balancers.json",
        ))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/load_balancers"))
        .and(query_param("page", "1"))
        .and(auth())
        .respond_with(json_fixture(200, "edge/lb_list_duplicate_names.json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let found = c
        .load_balancers()
        .find_by_name("prod-web-lb-01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found.id,
        LoadBalancerId::from("56775c3f-04ab-4fb3-a7ed-40ef9bc8eece")
    );
    assert!(
        c.load_balancers()
            .find_by_name("nope")
            .await
            .unwrap()
            .is_none()
    );
    let err = c
        .load_balancers()
        .find_by_name("example-lb-01")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::InvalidInput(_)), "{text}");
    assert!(
        text.contains("2 load balancers are named `example-lb-01`"),
        "{text}"
    );
    assert!(text.contains(LB) && text.contains("56775c3f-04ab-4fb3-a7ed-40ef9bc8eece"));
}

#[tokio::test]
async fn bad_input_sends_nothing() {
    let server = server().await;
    let c = client(&server);
    let lbs = c.load_balancers();
    let good = LoadBalancerRequest::new("web", "nyc3")
        .forwarding_rule(https_to_8080())
        .tag("web");
    let mut both = good.clone();
    both.droplet_ids = Some(vec![DropletId(1)]);
    let empty = LoadBalancerId::from("");
    let rule = [https_to_8080()];
    let cases: Vec<(&str, Error, &str)> = vec![
        (
            "no rules",
            lbs.create(&LoadBalancerRequest::new("web", "nyc3").tag("web"))
                .await
                .unwrap_err(),
            "no forwarding rules",
        ),
        (
            "tag and ids",
            lbs.create(&both).await.unwrap_err(),
            "both `tag` and `droplet_ids`",
        ),
        (
            "bad tag",
            lbs.create(&good.clone().tag("prod web")).await.unwrap_err(),
            "contains ` `",
        ),
        (
            "empty name",
            lbs.create(&LoadBalancerRequest::new(" ", "nyc3").forwarding_rule(https_to_8080()))
                .await
                .unwrap_err(),
            "name is empty",
        ),
        (
            "port 0",
            lbs.create(&good.clone().forwarding_rule(ForwardingRule::new(
                EntryProtocol::Http,
                0,
                TargetProtocol::Http,
                80,
            )))
            .await
            .unwrap_err(),
            "port 0",
        ),
        (
            "idle timeout",
            lbs.create(&good.clone().http_idle_timeout_seconds(10))
                .await
                .unwrap_err(),
            "30 to 600",
        ),
        (
            "update both",
            lbs.update(&lb_id(), &both).await.unwrap_err(),
            "both",
        ),
        (
            "get empty id",
            lbs.get(&empty).await.unwrap_err(),
            "id is empty",
        ),
        (
            "update empty id",
            lbs.update(&empty, &good).await.unwrap_err(),
            "id is empty",
        ),
        (
            "delete empty id",
            lbs.delete(&empty).await.unwrap_err(),
            "id is empty",
        ),
        (
            "wait empty id",
            lbs.wait_active(&empty, &fast_wait(Duration::from_secs(1)))
                .await
                .unwrap_err(),
            "id is empty",
        ),
        (
            "add no droplets",
            lbs.add_droplets(&lb_id(), &[]).await.unwrap_err(),
            "no droplets to add to",
        ),
        (
            "remove no droplets",
            lbs.remove_droplets(&lb_id(), &[]).await.unwrap_err(),
            "no droplets to remove from",
        ),
        (
            "add no rules",
            lbs.add_forwarding_rules(&lb_id(), &[]).await.unwrap_err(),
            "no forwarding rules to add",
        ),
        (
            "remove no rules",
            lbs.remove_forwarding_rules(&lb_id(), &[])
                .await
                .unwrap_err(),
            "no forwarding rules to remove",
        ),
        (
            "rules on empty id",
            lbs.add_forwarding_rules(&empty, &rule).await.unwrap_err(),
            "id is empty",
        ),
        (
            "find empty name",
            lbs.find_by_name("").await.unwrap_err(),
            "name is empty",
        ),
    ];
    for (what, e, text) in &cases {
        assert!(matches!(e, Error::InvalidInput(_)), "{what}: {e}");
        assert!(e.to_string().contains(text), "{what}: {e}");
    }
    assert_eq!(requests(&server).await, Vec::<String>::new());
    assert_eq!(c.requests_sent(), 0);
}
