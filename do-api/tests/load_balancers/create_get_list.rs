//! `loadBalancers_create` against every spec request example, `loadBalancers_get`, `get_opt`
//! and the lists.

use super::*;

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
