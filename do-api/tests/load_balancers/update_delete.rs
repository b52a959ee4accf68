//! `loadBalancers_update` from a fetched load balancer, tolerant decoding, delete, and the
//! droplet and forwarding-rule calls.

use super::*;

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
