//! The tests of `tests/reserved_ips.rs` and `tests/floating_ips.rs`, written once: the two
//! resources are the same API under two names, so `ip_suite!` is invoked with each name's
//! handler, path segment, JSON key, fixture directories and `resource_type`.
//!
//! Every mock requires method, path and `auth()` (and the exact body for POSTs); the server's
//! catch-all fails the test on any other request.

/// Generate the suite for one of the two names.
macro_rules! ip_suite {
    (
        handler: $handler:ident,
        path: $seg:literal,
        key: $one:literal,
        ops: $ops:literal,
        action_ops: $action_ops:literal,
        fixture: $dash:literal,
        edge: $edge:literal $(,)?
    ) => {
        use std::net::Ipv4Addr;
        use std::time::Duration;

        use do_api::{ActionId, ActionStatus, ActionType, DropletId, Error};
        use do_api::reserved_ips::CreateReservedIp;
        use serde_json::json;
        use support::*;
        use wiremock::matchers::{body_json, method, path, query_param};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        const IP: Ipv4Addr = Ipv4Addr::new(45, 55, 96, 47);
        /// An address the account does not hold (404).
        const GONE: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 9);
        /// An address the token may not read (401).
        const SECRET: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
        const PROJECT: &str = "746c6152-2fa2-11ed-92d3-27aaa54e4988";

        /// A POST to `.../{IP}/actions` with exactly `body`.
        fn action_post(body: serde_json::Value) -> wiremock::MockBuilder {
            Mock::given(method("POST"))
                .and(path(concat!("/v2/", $seg, "/45.55.96.47/actions")))
                .and(auth())
                .and(body_json(body))
        }

        async fn mount_get_ip(server: &MockServer, fixture: &str) {
            Mock::given(method("GET"))
                .and(path(concat!("/v2/", $seg, "/45.55.96.47")))
                .and(auth())
                .respond_with(json_fixture(200, fixture))
                .expect(1)
                .mount(server)
                .await;
        }

        #[tokio::test]
        async fn list_follows_pages_and_decodes_the_official_example() {
            let server = server().await;
            Mock::given(method("GET"))
                .and(path(concat!("/v2/", $seg)))
                .and(query_param("page", "1"))
                .and(query_param("per_page", "200"))
                .and(auth())
                .respond_with(json_fixture(200, concat!("edge/", $edge, "_list_page1.json")))
                .expect(1)
                .mount(&server)
                .await;
            Mock::given(method("GET"))
                .and(path(concat!("/v2/", $seg)))
                .and(query_param("page", "2"))
                .and(query_param("per_page", "200"))
                .and(auth())
                .respond_with(json_fixture(200, concat!("official/", $ops, "_list/200-schema.json")))
                .expect(1)
                .mount(&server)
                .await;
            let ips = client(&server).$handler().list().await.unwrap();
            assert_eq!(ips.len(), 2);
            assert_eq!(ips[0].ip.to_string(), "203.0.113.7");
            let official = &ips[1];
            assert_eq!(official.ip, IP);
            assert_eq!(official.droplet, None);
            assert_eq!(official.droplet_id(), None);
            assert!(!official.locked);
            assert_eq!(official.region_slug(), Some("nyc3"));
            assert_eq!(official.region.as_ref().unwrap().name.as_deref(), Some("New York 3"));
            assert_eq!(official.project_id.as_ref().unwrap().as_str(), PROJECT);
        }

        #[tokio::test]
        async fn list_page_asks_for_that_page() {
            let server = server().await;
            Mock::given(method("GET"))
                .and(path(concat!("/v2/", $seg)))
                .and(query_param("page", "2"))
                .and(query_param("per_page", "200"))
                .and(auth())
                .respond_with(json_fixture(200, concat!("official/", $ops, "_list/200-schema.json")))
                .expect(1)
                .mount(&server)
                .await;
            let page = client(&server).$handler().list_page(2).await.unwrap();
            assert_eq!(page.page, 2);
            assert_eq!(page.next_page, None);
            assert_eq!(page.total, Some(1));
            assert_eq!(page.items[0].ip, IP);
        }

        #[tokio::test]
        async fn get_assigned_embeds_the_droplet() {
            let server = server().await;
            mount_get_ip(
                &server,
                concat!("official/", $ops, "_get/200-", $dash, "-assigned.json"),
            )
            .await;
            let ip = client(&server).$handler().get(IP).await.unwrap();
            assert_eq!(ip.ip, IP);
            assert_eq!(ip.droplet_id(), Some(DropletId(3164444)));
            assert!(ip.is_assigned());
            let droplet = ip.droplet.as_ref().unwrap();
            assert_eq!(droplet.name, "example.com");
            assert_eq!(droplet.public_ipv4(), Some("192.241.165.154".parse().unwrap()));
            assert!(!ip.locked);
            assert_eq!(ip.region_slug(), Some("nyc3"));
            assert_eq!(ip.project_id.as_ref().unwrap().as_str(), PROJECT);
        }

        #[tokio::test]
        async fn get_reserved_has_no_droplet() {
            let server = server().await;
            mount_get_ip(
                &server,
                concat!("official/", $ops, "_get/200-", $dash, "-reserved.json"),
            )
            .await;
            let ip = client(&server).$handler().get(IP).await.unwrap();
            assert_eq!(ip.ip, IP);
            assert_eq!(ip.droplet, None);
            assert_eq!(ip.droplet_id(), None);
            assert!(!ip.is_assigned());
            assert_eq!(ip.region_slug(), Some("nyc3"));
        }

        #[tokio::test]
        async fn get_404_is_not_found() {
            let server = server().await;
            Mock::given(method("GET"))
                .and(path(concat!("/v2/", $seg, "/45.55.96.47")))
                .and(auth())
                .respond_with(json_fixture(404, concat!("official/", $ops, "_get/404-example.json")))
                .expect(1)
                .mount(&server)
                .await;
            let err = client(&server).$handler().get(IP).await.unwrap_err();
            assert!(err.is_not_found(), "{err:?}");
            assert_eq!(err.api().unwrap().id.as_deref(), Some("not_found"));
        }

        /// `get_opt`: `None` only for a 404; a held IP is `Some`, any other error stays one.
        #[tokio::test]
        async fn get_opt_is_none_only_for_a_404() {
            let server = server().await;
            for (ip, status, fixture) in [
                (IP, 200, concat!("official/", $ops, "_get/200-", $dash, "-assigned.json")),
                (GONE, 404, concat!("official/", $ops, "_get/404-example.json")),
                (SECRET, 401, concat!("official/", $ops, "_get/401-example.json")),
            ] {
                Mock::given(method("GET"))
                    .and(path(format!(concat!("/v2/", $seg, "/{}"), ip)))
                    .and(auth())
                    .respond_with(json_fixture(status, fixture))
                    .expect(1)
                    .mount(&server)
                    .await;
            }
            let c = client(&server);
            let found = c.$handler().get_opt(IP).await.unwrap().expect("the IP is held");
            assert_eq!(found.ip, IP);
            assert_eq!(found.droplet_id(), Some(DropletId(3164444)));
            assert_eq!(c.$handler().get_opt(GONE).await.unwrap(), None);
            let err = c.$handler().get_opt(SECRET).await.unwrap_err();
            assert!(err.is_unauthorized(), "{err:?}");
            assert_eq!(c.requests_sent(), 3, "one request each, no retries");
        }

        #[tokio::test]
        async fn create_in_region_sends_region_and_project() {
            let server = server().await;
            Mock::given(method("POST"))
                .and(path(concat!("/v2/", $seg)))
                .and(auth())
                .and(body_json(json!({"region": "nyc3", "project_id": PROJECT})))
                .respond_with(json_fixture(
                    202,
                    concat!("official/", $ops, "_create/202-", $dash, "-reserving.json"),
                ))
                .expect(1)
                .mount(&server)
                .await;
            let created = client(&server)
                .$handler()
                .create_with_links(&CreateReservedIp::in_region("nyc3").project_id(PROJECT))
                .await
                .unwrap();
            assert_eq!(created.reserved_ip.ip, IP);
            assert_eq!(created.reserved_ip.droplet_id(), None);
            assert!(!created.reserved_ip.locked);
            assert_eq!(created.reserved_ip.region_slug(), Some("nyc3"));
            assert!(created.action_ids.is_empty() && created.droplet_ids.is_empty());
        }

        #[tokio::test]
        async fn create_for_droplet_sends_only_the_droplet_id() {
            let server = server().await;
            Mock::given(method("POST"))
                .and(path(concat!("/v2/", $seg)))
                .and(auth())
                .and(body_json(json!({"droplet_id": 213939433})))
                .respond_with(json_fixture(
                    202,
                    concat!("official/", $ops, "_create/202-", $dash, "-assigning.json"),
                ))
                .expect(2)
                .mount(&server)
                .await;
            let handler = client(&server);
            let body = CreateReservedIp::for_droplet(DropletId(213939433));
            let ip = handler.$handler().create(&body).await.unwrap();
            assert_eq!(ip.ip, IP);
            assert!(ip.locked, "the assignment is pending");
            let created = handler.$handler().create_with_links(&body).await.unwrap();
            assert_eq!(created.droplet_ids, vec![DropletId(213939433)]);
            assert_eq!(created.action_ids, vec![ActionId(1088924622)]);
        }

        #[tokio::test]
        async fn delete_sends_delete_and_accepts_204() {
            let server = server().await;
            Mock::given(method("DELETE"))
                .and(path(concat!("/v2/", $seg, "/45.55.96.47")))
                .and(auth())
                .respond_with(ResponseTemplate::new(204))
                .expect(1)
                .mount(&server)
                .await;
            client(&server).$handler().delete(IP).await.unwrap();
        }

        #[tokio::test]
        async fn assign_decodes_the_official_201() {
            let server = server().await;
            action_post(json!({"type": "assign", "droplet_id": 758604968}))
                .respond_with(json_fixture(
                    201,
                    concat!("official/", $action_ops, "_post/201-schema.json"),
                ))
                .expect(1)
                .mount(&server)
                .await;
            let action = client(&server)
                .$handler()
                .assign(IP, DropletId(758604968))
                .await
                .unwrap();
            assert_eq!(action.id, ActionId(72531856));
            assert_eq!(action.kind, ActionType::AssignIp);
            assert_eq!(action.status, ActionStatus::Completed);
            assert_eq!(action.resource_id, Some(758604968));
            assert_eq!(action.resource_type.as_deref(), Some($one));
            assert_eq!(action.region_slug.as_deref(), Some("nyc3"));
        }

        #[tokio::test]
        async fn assign_then_wait_for_the_action() {
            let server = server().await;
            action_post(json!({"type": "assign", "droplet_id": 3164444}))
                .respond_with(json_fixture(201, concat!("edge/", $edge, "_assign_in_progress.json")))
                .expect(1)
                .mount(&server)
                .await;
            Mock::given(method("GET"))
                .and(path("/v2/actions/36804636"))
                .and(auth())
                .respond_with(json_fixture(200, "edge/action_in_progress.json"))
                .up_to_n_times(1)
                .expect(1)
                .mount(&server)
                .await;
            Mock::given(method("GET"))
                .and(path("/v2/actions/36804636"))
                .and(auth())
                .respond_with(json_fixture(200, "edge/action_completed.json"))
                .expect(1)
                .mount(&server)
                .await;
            let client = client(&server);
            let action = client.$handler().assign(IP, DropletId(3164444)).await.unwrap();
            assert_eq!(action.status, ActionStatus::InProgress);
            assert_eq!(action.resource_type.as_deref(), Some($one));
            let done = client
                .actions()
                .wait(action.id, &fast_wait(Duration::from_secs(5)))
                .await
                .unwrap();
            assert!(done.is_completed());
            assert_eq!(done.id, action.id);
            assert_eq!(
                requests(&server).await,
                vec![
                    concat!("POST /v2/", $seg, "/45.55.96.47/actions").to_owned(),
                    "GET /v2/actions/36804636".to_owned(),
                    "GET /v2/actions/36804636".to_owned(),
                ]
            );
        }

        #[tokio::test]
        async fn unassign_sends_only_the_type() {
            let server = server().await;
            action_post(json!({"type": "unassign"}))
                .respond_with(json_fixture(
                    201,
                    concat!("official/", $action_ops, "_post/201-schema.json"),
                ))
                .expect(1)
                .mount(&server)
                .await;
            let action = client(&server).$handler().unassign(IP).await.unwrap();
            assert_eq!(action.id, ActionId(72531856));
            assert_eq!(action.resource_type.as_deref(), Some($one));
        }

        #[tokio::test]
        async fn list_actions_decodes_the_official_example() {
            let server = server().await;
            Mock::given(method("GET"))
                .and(path(concat!("/v2/", $seg, "/45.55.96.47/actions")))
                .and(query_param("page", "1"))
                .and(query_param("per_page", "200"))
                .and(auth())
                .respond_with(json_fixture(200, concat!("official/", $action_ops, "_list/200-schema.json")))
                .expect(1)
                .mount(&server)
                .await;
            let actions = client(&server).$handler().list_actions(IP).await.unwrap();
            assert_eq!(actions.len(), 1);
            assert_eq!(actions[0].id, ActionId(72531856));
            // The spec example is the action that reserved the IP.
            assert_eq!(actions[0].kind, ActionType::ReserveIp);
            assert_eq!(actions[0].resource_id, Some(758604197));
            assert_eq!(actions[0].resource_type.as_deref(), Some($one));
        }

        #[tokio::test]
        async fn get_action_decodes_the_official_example() {
            let server = server().await;
            Mock::given(method("GET"))
                .and(path(concat!("/v2/", $seg, "/45.55.96.47/actions/72531856")))
                .and(auth())
                .respond_with(json_fixture(200, concat!("official/", $action_ops, "_get/200-schema.json")))
                .expect(1)
                .mount(&server)
                .await;
            let action = client(&server)
                .$handler()
                .get_action(IP, ActionId(72531856))
                .await
                .unwrap();
            assert_eq!(action.id, ActionId(72531856));
            assert!(action.is_completed());
            assert_eq!(action.kind, ActionType::AssignIp);
            assert_eq!(action.completed_at.as_deref(), Some("2015-11-12T17:51:14Z"));
            assert_eq!(action.region.unwrap().slug.as_deref(), Some("nyc3"));
        }

        #[tokio::test]
        async fn assign_is_retried_after_a_503() {
            let server = server().await;
            action_post(json!({"type": "assign", "droplet_id": 758604968}))
                .respond_with(
                    ResponseTemplate::new(503)
                        .set_body_json(json!({"id": "service_unavailable", "message": "try again"})),
                )
                .up_to_n_times(1)
                .expect(1)
                .mount(&server)
                .await;
            action_post(json!({"type": "assign", "droplet_id": 758604968}))
                .respond_with(json_fixture(
                    201,
                    concat!("official/", $action_ops, "_post/201-schema.json"),
                ))
                .expect(1)
                .mount(&server)
                .await;
            let client = client(&server);
            let action = client.$handler().assign(IP, DropletId(758604968)).await.unwrap();
            assert_eq!(action.id, ActionId(72531856));
            assert_eq!(client.requests_sent(), 2);
        }

        #[tokio::test]
        async fn unassign_is_retried_after_a_503() {
            let server = server().await;
            action_post(json!({"type": "unassign"}))
                .respond_with(ResponseTemplate::new(503))
                .up_to_n_times(1)
                .expect(1)
                .mount(&server)
                .await;
            action_post(json!({"type": "unassign"}))
                .respond_with(json_fixture(
                    201,
                    concat!("official/", $action_ops, "_post/201-schema.json"),
                ))
                .expect(1)
                .mount(&server)
                .await;
            let action = client(&server).$handler().unassign(IP).await.unwrap();
            assert_eq!(action.id, ActionId(72531856));
        }

        #[tokio::test]
        async fn create_is_sent_once_on_503() {
            let server = server().await;
            Mock::given(method("POST"))
                .and(path(concat!("/v2/", $seg)))
                .and(auth())
                .and(body_json(json!({"region": "nyc3"})))
                .respond_with(
                    ResponseTemplate::new(503)
                        .set_body_json(json!({"id": "service_unavailable", "message": "try again"})),
                )
                .expect(1)
                .mount(&server)
                .await;
            let client = client(&server);
            let err = client
                .$handler()
                .create(&CreateReservedIp::in_region("nyc3"))
                .await
                .unwrap_err();
            assert_eq!(err.status(), Some(503));
            assert!(err.is_server_error());
            assert_eq!(client.requests_sent(), 1);
        }

        #[tokio::test]
        async fn assign_422_keeps_the_api_error() {
            let server = server().await;
            action_post(json!({"type": "assign", "droplet_id": 3164444}))
                .respond_with(json_fixture(422, concat!("edge/", $edge, "_assign_422.json")))
                .expect(1)
                .mount(&server)
                .await;
            let client = client(&server);
            let err = client
                .$handler()
                .assign(IP, DropletId(3164444))
                .await
                .unwrap_err();
            assert!(err.is_unprocessable(), "{err:?}");
            let api = err.api().unwrap();
            assert_eq!(api.id.as_deref(), Some("unprocessable_entity"));
            assert!(api.message.starts_with("Droplet already has a"), "{}", api.message);
            assert_eq!(
                api.request_id.as_deref(),
                Some("0b4b2a35-9d62-4f4b-8f2e-3d9c7a1e5b60")
            );
            assert_eq!(api.method, "POST");
            assert_eq!(api.path, concat!("/v2/", $seg, "/45.55.96.47/actions"));
            assert_eq!(client.requests_sent(), 1, "a 422 is not retried");
        }

        #[tokio::test]
        async fn bad_input_sends_nothing() {
            let server = server().await;
            let client = client(&server);
            let h = client.$handler();
            // Addresses are `Ipv4Addr`s: what the handlers refused as strings before anything
            // was sent cannot be built at all (and a `&str` does not compile, see the
            // `compile_fail` example on `IpHandler`).
            for bad in ["2604:a880::1", "not-an-ip", "", "45.55.96.47/32", "45.55.96"] {
                assert!(bad.parse::<Ipv4Addr>().is_err(), "{bad:?}");
            }
            for body in [
                CreateReservedIp::in_region(""),
                CreateReservedIp::in_region("nyc3").project_id(""),
                CreateReservedIp::for_droplet(DropletId(1)).project_id(PROJECT),
            ] {
                let err = h.create(&body).await.unwrap_err();
                assert!(matches!(err, Error::InvalidInput(_)), "{body:?}: {err:?}");
            }
            assert_eq!(client.requests_sent(), 0);
            assert!(requests(&server).await.is_empty());
        }

        #[tokio::test]
        async fn unknown_fields_decode() {
            let server = server().await;
            mount_get_ip(&server, concat!("edge/", $edge, "_unknown_fields.json")).await;
            let ip = client(&server).$handler().get(IP).await.unwrap();
            assert_eq!(ip.ip, IP);
            assert_eq!(ip.droplet_id(), Some(DropletId(3164444)));
            assert!(ip.locked);
            assert_eq!(ip.region_slug(), Some("nyc3"));
        }
    };
}
