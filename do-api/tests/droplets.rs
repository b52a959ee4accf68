//! `/v2/droplets` and droplet actions: every endpoint against the official examples, paging,
//! retries (create is never repeated), waiting, and input checked before sending.

mod support;

use std::time::Duration;

use do_api::droplets::{
    BackupPolicy, CreateDroplet, DropletAction, DropletFilter, DropletStatus, ImageRef,
};
use do_api::{ActionId, ActionStatus, ActionType, DropletId, Error, ImageId};
use serde_json::json;
use support::*;
use wiremock::matchers::{body_json, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The official single-droplet answer with another status.
fn droplet_with_status(status: &str) -> serde_json::Value {
    let mut body = fixture_json("official/droplets_get/200-single-droplet.json");
    body["droplet"]["status"] = json!(status);
    body
}

fn assert_invalid(err: Error, needle: &str) {
    match &err {
        Error::InvalidInput(msg) => assert!(msg.contains(needle), "`{msg}` lacks `{needle}`"),
        other => panic!("expected InvalidInput containing `{needle}`, got {other:?}"),
    }
}

async fn assert_nothing_sent(server: &MockServer) {
    assert_eq!(requests(server).await, Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// droplets_list
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn list_all_decodes_the_official_example() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets"))
        .and(query_param("page", "1"))
        .and(query_param("per_page", "200"))
        .and(query_param_is_missing("tag_name"))
        .and(query_param_is_missing("name"))
        .and(auth())
        .respond_with(json_fixture(
            200,
            "official/droplets_list/200-all-droplets.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let droplets = client(&server)
        .droplets()
        .list(&DropletFilter::all())
        .await
        .unwrap();
    let ids: Vec<u64> = droplets.iter().map(|d| d.id.0).collect();
    assert_eq!(ids, vec![3164444, 3164459, 3164412]);
    assert_eq!(droplets[1].name, "assets.example.com");
    assert!(droplets.iter().all(|d| d.is_active()));
    assert!(droplets[2].has_tag("env:stage"));
    // `links: {"pages": {}}` ends the list after one request.
    assert_eq!(
        requests(&server).await,
        vec!["GET /v2/droplets?page=1&per_page=200"]
    );
}

#[tokio::test]
async fn list_by_tag_sends_tag_name() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets"))
        .and(query_param("tag_name", "env:prod"))
        .and(query_param("page", "1"))
        .and(query_param("per_page", "200"))
        .and(auth())
        .respond_with(json_fixture(
            200,
            "official/droplets_list/200-droplets-filtered-by-tag.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let droplets = client(&server)
        .droplets()
        .list_by_tag("env:prod")
        .await
        .unwrap();
    assert_eq!(droplets.len(), 2);
    assert!(droplets.iter().all(|d| d.has_tag("env:prod")));
    assert_eq!(
        droplets[0].public_ipv4().unwrap().to_string(),
        "192.241.165.154"
    );
    assert_eq!(
        droplets[1].public_ipv4().unwrap().to_string(),
        "162.243.0.4"
    );
}

#[tokio::test]
async fn list_by_name_sends_name() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets"))
        .and(query_param("name", "solo-01"))
        .and(query_param_is_missing("tag_name"))
        .and(query_param("page", "1"))
        .and(auth())
        .respond_with(json_fixture(200, "edge/droplets_no_links.json"))
        .expect(1)
        .mount(&server)
        .await;
    let droplets = client(&server)
        .droplets()
        .list_by_name("solo-01")
        .await
        .unwrap();
    assert_eq!(droplets.len(), 1);
    assert_eq!(droplets[0].name, "solo-01");
    assert_eq!(droplets[0].id, DropletId(201));
}

#[tokio::test]
async fn list_page_returns_one_page_and_the_next_number() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets"))
        .and(query_param("tag_name", "zdd:web"))
        .and(query_param("page", "2"))
        .and(query_param("per_page", "200"))
        .and(auth())
        .respond_with(json_fixture(200, "edge/droplets_page2.json"))
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server)
        .droplets()
        .list_page(&DropletFilter::tag("zdd:web"), 2)
        .await
        .unwrap();
    assert_eq!(page.page, 2);
    assert_eq!(page.next_page, Some(3));
    assert_eq!(page.total, Some(5));
    assert_eq!(
        page.items.iter().map(|d| d.id.0).collect::<Vec<_>>(),
        vec![103, 104]
    );
}

// ---------------------------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------------------------

async fn mount_page(server: &MockServer, page: &str, fixture: &str) {
    Mock::given(method("GET"))
        .and(path("/v2/droplets"))
        .and(query_param("page", page))
        .and(query_param("per_page", "200"))
        .and(auth())
        .respond_with(json_fixture(200, fixture))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn list_follows_three_pages_by_number_only() {
    let server = server().await;
    mount_page(&server, "1", "edge/droplets_page1.json").await;
    mount_page(&server, "2", "edge/droplets_page2.json").await;
    mount_page(&server, "3", "edge/droplets_page3.json").await;
    let c = client(&server);
    let droplets = c.droplets().list(&DropletFilter::default()).await.unwrap();
    assert_eq!(
        droplets.iter().map(|d| d.id.0).collect::<Vec<_>>(),
        vec![101, 102, 103, 104, 105]
    );
    assert_eq!(droplets[4].name, "web-05");
    // The links point at https://api.digitalocean.com: only their page number was used, every
    // request went to our server.
    assert_eq!(
        requests(&server).await,
        vec![
            "GET /v2/droplets?page=1&per_page=200",
            "GET /v2/droplets?page=2&per_page=200",
            "GET /v2/droplets?page=3&per_page=200",
        ]
    );
    assert_eq!(c.requests_sent(), 3);
}

#[tokio::test]
async fn list_stops_on_a_link_back_to_page_one() {
    let server = server().await;
    mount_page(&server, "1", "edge/droplets_page1.json").await;
    mount_page(&server, "2", "edge/droplets_page_links_back.json").await;
    let err = client(&server)
        .droplets()
        .list(&DropletFilter::all())
        .await
        .unwrap_err();
    match &err {
        Error::Pagination { path, detail } => {
            assert_eq!(path, "/v2/droplets");
            assert!(detail.contains("page 2 links back to page 1"), "{detail}");
        }
        other => panic!("expected Pagination, got {other:?}"),
    }
}

#[tokio::test]
async fn list_without_links_is_one_page() {
    let server = server().await;
    mount_page(&server, "1", "edge/droplets_no_links.json").await;
    let c = client(&server);
    let droplets = c.droplets().list(&DropletFilter::all()).await.unwrap();
    assert_eq!(droplets.len(), 1);
    assert_eq!(droplets[0].id, DropletId(201));
    assert!(droplets[0].tags.is_empty());
    assert_eq!(c.requests_sent(), 1);
}

// ---------------------------------------------------------------------------------------------
// droplets_get
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn get_decodes_the_official_example() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets/3164444"))
        .and(auth())
        .respond_with(json_fixture(
            200,
            "official/droplets_get/200-single-droplet.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let d = client(&server)
        .droplets()
        .get(DropletId(3164444))
        .await
        .unwrap();
    assert_eq!(d.id, DropletId(3164444));
    assert_eq!(d.name, "example.com");
    assert_eq!(d.status, DropletStatus::Active);
    assert_eq!(d.region_slug(), Some("nyc3"));
    assert_eq!(d.size_slug.as_deref(), Some("s-1vcpu-1gb"));
    assert_eq!(d.private_ipv4().unwrap().to_string(), "10.128.192.124");
}

#[tokio::test]
async fn get_404_is_an_api_error() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets/1"))
        .and(auth())
        .respond_with(json_fixture(404, "official/droplets_get/404-example.json"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .droplets()
        .get(DropletId(1))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

/// `get_opt`: `None` only for a 404; a found droplet is `Some`, any other error stays one.
#[tokio::test]
async fn get_opt_is_none_only_for_a_404() {
    let server = server().await;
    for (id, status, fixture) in [
        (
            3164444,
            200,
            "official/droplets_get/200-single-droplet.json",
        ),
        (1, 404, "official/droplets_get/404-example.json"),
        (2, 401, "official/droplets_get/401-example.json"),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/v2/droplets/{id}")))
            .and(auth())
            .respond_with(json_fixture(status, fixture))
            .expect(1)
            .mount(&server)
            .await;
    }
    let c = client(&server);
    let found = c.droplets().get_opt(DropletId(3164444)).await.unwrap();
    assert_eq!(found.expect("the droplet exists").name, "example.com");
    assert_eq!(c.droplets().get_opt(DropletId(1)).await.unwrap(), None);
    let err = c.droplets().get_opt(DropletId(2)).await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert_eq!(c.requests_sent(), 3, "one request each, no retries");
}

#[tokio::test]
async fn get_is_retried_on_503() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets/3164444"))
        .and(auth())
        .respond_with(json_fixture(503, "official/droplets_get/500-example.json"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets/3164444"))
        .and(auth())
        .respond_with(json_fixture(
            200,
            "official/droplets_get/200-single-droplet.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let d = c.droplets().get(DropletId(3164444)).await.unwrap();
    assert_eq!(d.name, "example.com");
    assert_eq!(c.requests_sent(), 2);
}

#[tokio::test]
async fn unknown_fields_and_status_decode() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets/301"))
        .and(auth())
        .respond_with(json_fixture(200, "edge/droplets_unknown_fields.json"))
        .expect(1)
        .mount(&server)
        .await;
    let d = client(&server)
        .droplets()
        .get(DropletId(301))
        .await
        .unwrap();
    assert_eq!(d.status, DropletStatus::Unknown("migrating".into()));
    assert!(!d.is_active());
    assert_eq!(d.networks.v4.len(), 3);
    assert_eq!(
        d.networks.v4[2].kind,
        do_api::droplets::NetworkType::Unknown("shared".into())
    );
    assert_eq!(d.public_ipv4().unwrap().to_string(), "203.0.113.51");
    assert_eq!(d.region_slug(), Some("nyc3"));
}

// ---------------------------------------------------------------------------------------------
// droplets_create
// ---------------------------------------------------------------------------------------------

/// The shared part of both official request examples.
fn example_options(req: CreateDroplet) -> CreateDroplet {
    req.region("nyc3")
        .ssh_key(289794)
        .ssh_key("3b:16:e4:bf:8b:00:8b:b8:59:8c:a9:d3:f0:19:fa:45")
        .backups(true)
        .ipv6(true)
        .monitoring(true)
        .tags(["env:prod", "web"])
        .user_data("#cloud-config\nruncmd:\n  - touch /test.txt\n")
        .vpc_uuid("760e09ef-dc84-11e8-981e-3cfdfeaae000")
}

#[tokio::test]
async fn create_single_sends_the_official_request() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/droplets"))
        .and(auth())
        .and(wiremock::matchers::header(
            "content-type",
            "application/json",
        ))
        .and(body_json(fixture_json(
            "official/droplets_create/request-single-droplet-create-request.json",
        )))
        .respond_with(json_fixture(
            202,
            "official/droplets_create/202-single-droplet-create-response.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let req = example_options(CreateDroplet::new(
        "example.com",
        "s-1vcpu-1gb",
        "ubuntu-20-04-x64",
    ));
    assert_eq!(req.names(), vec!["example.com"]);
    let created = client(&server).droplets().create(&req).await.unwrap();
    assert_eq!(created.droplets.len(), 1);
    assert_eq!(created.droplets[0].id, DropletId(3164444));
    assert_eq!(created.droplets[0].status, DropletStatus::New);
    assert_eq!(created.action_ids(), vec![ActionId(7515)]);
    assert_eq!(created.actions[0].rel.as_deref(), Some("create"));
    assert_eq!(created.droplet_ids(), vec![DropletId(3164444)]);
}

#[tokio::test]
async fn create_many_sends_the_official_request() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/droplets"))
        .and(auth())
        .and(body_json(fixture_json(
            "official/droplets_create/request-multiple-droplet-create-request.json",
        )))
        .respond_with(json_fixture(
            202,
            "official/droplets_create/202-multiple-droplet-create-response.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let req = example_options(CreateDroplet::many(
        ["sub-01.example.com", "sub-02.example.com"],
        "s-1vcpu-1gb",
        ImageRef::Slug("ubuntu-20-04-x64".into()),
    ));
    let created = client(&server).droplets().create(&req).await.unwrap();
    assert_eq!(
        created
            .droplets
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>(),
        vec!["sub-01.example.com", "sub-02.example.com"]
    );
    assert_eq!(
        created.droplet_ids(),
        vec![DropletId(3164444), DropletId(3164445)]
    );
    assert_eq!(created.action_ids(), vec![ActionId(7515), ActionId(7516)]);
}

#[tokio::test]
async fn create_with_image_id_and_options_sends_only_what_was_set() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/droplets"))
        .and(auth())
        .and(body_json(json!({
            "name": "web-01",
            "size": "s-1vcpu-1gb",
            "image": 63663980,
            "backups": true,
            "backup_policy": {"plan": "weekly", "weekday": "SUN", "hour": 20},
            "with_droplet_agent": false
        })))
        .respond_with(json_fixture(
            202,
            "official/droplets_create/202-single-droplet-create-response.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let req = CreateDroplet::new("web-01", "s-1vcpu-1gb", ImageId(63663980))
        .backups(true)
        .backup_policy(BackupPolicy::weekly(do_api::droplets::Weekday::Sun).hour(20))
        .with_droplet_agent(false);
    let created = client(&server).droplets().create(&req).await.unwrap();
    assert_eq!(created.droplets[0].id, DropletId(3164444));
}

#[tokio::test]
async fn create_is_never_repeated_after_503() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/droplets"))
        .and(auth())
        .respond_with(json_fixture(
            503,
            "official/droplets_create/500-example.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let err = c
        .droplets()
        .create(&CreateDroplet::new(
            "web-01",
            "s-1vcpu-1gb",
            "ubuntu-22-04-x64",
        ))
        .await
        .unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!(api.status, 503);
    assert_eq!(api.id.as_deref(), Some("server_error"));
    assert_eq!(api.method, "POST");
    assert_eq!(c.requests_sent(), 1);
}

// ---------------------------------------------------------------------------------------------
// droplets_destroy, droplets_destroy_byTag
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn delete_sends_delete() {
    let server = server().await;
    Mock::given(method("DELETE"))
        .and(path("/v2/droplets/3164444"))
        .and(auth())
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .droplets()
        .delete(DropletId(3164444))
        .await
        .unwrap();
}

#[tokio::test]
async fn delete_404_is_an_api_error() {
    let server = server().await;
    Mock::given(method("DELETE"))
        .and(path("/v2/droplets/7"))
        .and(auth())
        .respond_with(json_fixture(
            404,
            "official/droplets_destroy/404-example.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .droplets()
        .delete(DropletId(7))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn delete_by_tag_sends_tag_name() {
    let server = server().await;
    Mock::given(method("DELETE"))
        .and(path("/v2/droplets"))
        .and(query_param("tag_name", "env:test"))
        .and(auth())
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .droplets()
        .delete_by_tag("env:test")
        .await
        .unwrap();
    assert_eq!(
        requests(&server).await,
        vec!["DELETE /v2/droplets?tag_name=env%3Atest"]
    );
}

// ---------------------------------------------------------------------------------------------
// wait_active
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn wait_active_polls_past_new() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets/3164444"))
        .and(auth())
        .respond_with(ResponseTemplate::new(200).set_body_json(droplet_with_status("new")))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets/3164444"))
        .and(auth())
        .respond_with(json_fixture(
            200,
            "official/droplets_get/200-single-droplet.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let d = client(&server)
        .droplets()
        .wait_active(DropletId(3164444), &fast_wait(Duration::from_secs(5)))
        .await
        .unwrap();
    assert!(d.is_active());
    assert_eq!(d.public_ipv4().unwrap().to_string(), "192.241.165.154");
}

#[tokio::test]
async fn wait_active_times_out_at_the_deadline() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets/3164444"))
        .and(auth())
        .respond_with(ResponseTemplate::new(200).set_body_json(droplet_with_status("new")))
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let err = client(&server)
        .droplets()
        .wait_active(DropletId(3164444), &fast_wait(Duration::from_millis(150)))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let text = err.to_string();
    assert!(text.starts_with("droplet 3164444 did not finish"), "{text}");
    assert!(text.contains("last seen: new"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(requests(&server).await.len() >= 2);
}

#[tokio::test]
async fn wait_active_fails_on_archive() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets/3164444"))
        .and(auth())
        .respond_with(ResponseTemplate::new(200).set_body_json(droplet_with_status("archive")))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .droplets()
        .wait_active(DropletId(3164444), &fast_wait(Duration::from_secs(5)))
        .await
        .unwrap_err();
    match &err {
        Error::ResourceErrored {
            what,
            status,
            expected,
        } => {
            assert_eq!(what, "droplet 3164444");
            assert_eq!(status, "archive");
            assert_eq!(expected, "active");
        }
        other => panic!("expected ResourceErrored, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Droplet actions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn action_post_sends_type_and_decodes() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/droplets/3164444/actions"))
        .and(auth())
        .and(body_json(json!({"type": "power_off"})))
        .respond_with(json_fixture(
            201,
            "official/dropletActions_post/201-schema.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let action = client(&server)
        .droplet_actions()
        .post(DropletId(3164444), &DropletAction::PowerOff)
        .await
        .unwrap();
    assert_eq!(action.id, ActionId(36804636));
    assert_eq!(action.status, ActionStatus::Completed);
    assert_eq!(action.resource_id, Some(3164444));
    assert_eq!(action.resource_type.as_deref(), Some("droplet"));
}

#[tokio::test]
async fn action_post_with_parameters_matches_the_spec_examples() {
    let server = server().await;
    let cases = [
        (
            DropletAction::EnableBackups {
                backup_policy: Some(BackupPolicy::daily().hour(20)),
            },
            json!({"type": "enable_backups", "backup_policy": {"plan": "daily", "hour": 20}}),
        ),
        (
            DropletAction::Resize {
                size: "s-2vcpu-2gb".into(),
                disk: Some(true),
            },
            json!({"type": "resize", "size": "s-2vcpu-2gb", "disk": true}),
        ),
        (
            DropletAction::rebuild("ubuntu-20-04-x64"),
            json!({"type": "rebuild", "image": "ubuntu-20-04-x64"}),
        ),
        (
            DropletAction::rename("nifty-new-name"),
            json!({"type": "rename", "name": "nifty-new-name"}),
        ),
        (
            DropletAction::snapshot("Nifty New Snapshot"),
            json!({"type": "snapshot", "name": "Nifty New Snapshot"}),
        ),
    ];
    for (_, body) in &cases {
        Mock::given(method("POST"))
            .and(path("/v2/droplets/3164444/actions"))
            .and(auth())
            .and(body_json(body.clone()))
            .respond_with(json_fixture(
                201,
                "official/dropletActions_post/201-schema.json",
            ))
            .expect(1)
            .mount(&server)
            .await;
    }
    let c = client(&server);
    for (action, _) in &cases {
        let got = c
            .droplet_actions()
            .post(DropletId(3164444), action)
            .await
            .unwrap();
        assert_eq!(got.id, ActionId(36804636));
    }
    assert_eq!(c.requests_sent(), cases.len() as u64);
}

#[tokio::test]
async fn idempotent_action_is_repeated_after_503() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/droplets/3164444/actions"))
        .and(auth())
        .and(body_json(json!({"type": "power_on"})))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/droplets/3164444/actions"))
        .and(auth())
        .and(body_json(json!({"type": "power_on"})))
        .respond_with(json_fixture(
            201,
            "official/dropletActions_post/201-schema.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let action = c
        .droplet_actions()
        .post(DropletId(3164444), &DropletAction::PowerOn)
        .await
        .unwrap();
    assert_eq!(action.id, ActionId(36804636));
    assert_eq!(c.requests_sent(), 2);
}

#[tokio::test]
async fn reboot_is_not_repeated_after_503() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/droplets/3164444/actions"))
        .and(auth())
        .and(body_json(json!({"type": "reboot"})))
        .respond_with(json_fixture(
            503,
            "official/dropletActions_post/500-example.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let err = c
        .droplet_actions()
        .post(DropletId(3164444), &DropletAction::Reboot)
        .await
        .unwrap_err();
    assert_eq!(err.api().map(|a| a.status), Some(503));
    assert_eq!(c.requests_sent(), 1);
}

#[tokio::test]
async fn action_post_by_tag_sends_tag_name() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/droplets/actions"))
        .and(query_param("tag_name", "zdd:web"))
        .and(auth())
        .and(body_json(json!({"type": "snapshot", "name": "pre-deploy"})))
        .respond_with(json_fixture(
            201,
            "official/dropletActions_post_byTag/201-schema.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let actions = client(&server)
        .droplet_actions()
        .post_by_tag("zdd:web", &DropletAction::snapshot("pre-deploy"))
        .await
        .unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].id, ActionId(36804636));
    assert_eq!(actions[0].resource_id, Some(3164444));
}

#[tokio::test]
async fn action_list_decodes_the_official_example() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets/3164444/actions"))
        .and(query_param("page", "1"))
        .and(query_param("per_page", "200"))
        .and(auth())
        .respond_with(json_fixture(
            200,
            "official/dropletActions_list/200-example.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let actions = client(&server)
        .droplet_actions()
        .list(DropletId(3164444))
        .await
        .unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].id, ActionId(982864273));
    assert_eq!(actions[0].kind, ActionType::Create);
    assert!(actions[0].is_completed());
}

#[tokio::test]
async fn action_list_page_sends_the_page() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets/3164444/actions"))
        .and(query_param("page", "4"))
        .and(query_param("per_page", "200"))
        .and(auth())
        .respond_with(json_fixture(
            200,
            "official/dropletActions_list/200-example.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server)
        .droplet_actions()
        .list_page(DropletId(3164444), 4)
        .await
        .unwrap();
    assert_eq!(page.page, 4);
    assert_eq!(page.next_page, None);
    assert_eq!(page.total, Some(1));
    assert_eq!(page.items[0].id, ActionId(982864273));
}

#[tokio::test]
async fn action_get_decodes_the_official_example() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/droplets/3164444/actions/36804636"))
        .and(auth())
        .respond_with(json_fixture(
            200,
            "official/dropletActions_get/200-schema.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let action = client(&server)
        .droplet_actions()
        .get(DropletId(3164444), ActionId(36804636))
        .await
        .unwrap();
    assert_eq!(action.id, ActionId(36804636));
    assert_eq!(action.region_slug.as_deref(), Some("nyc3"));
    assert_eq!(action.started_at.as_deref(), Some("2020-11-14T16:29:21Z"));
}

// ---------------------------------------------------------------------------------------------
// Input checked before sending (the catch-all would panic on any request)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn eleven_names_are_refused() {
    let server = server().await;
    let names: Vec<String> = (1..=11).map(|i| format!("web-{i:02}")).collect();
    let err = client(&server)
        .droplets()
        .create(&CreateDroplet::many(
            names,
            "s-1vcpu-1gb",
            "ubuntu-22-04-x64",
        ))
        .await
        .unwrap_err();
    assert_invalid(
        err,
        "11 droplet names given; DigitalOcean creates at most 10",
    );
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn empty_names_are_refused() {
    let server = server().await;
    let c = client(&server);
    let err = c
        .droplets()
        .create(&CreateDroplet::new("", "s-1vcpu-1gb", "ubuntu-22-04-x64"))
        .await
        .unwrap_err();
    assert_invalid(err, "droplet name is empty");
    let err = c
        .droplets()
        .create(&CreateDroplet::many(
            Vec::<String>::new(),
            "s-1vcpu-1gb",
            "ubuntu-22-04-x64",
        ))
        .await
        .unwrap_err();
    assert_invalid(err, "no droplet name given");
    let err = c
        .droplets()
        .list(&DropletFilter::name(""))
        .await
        .unwrap_err();
    assert_invalid(err, "droplet name filter is empty");
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn tags_with_a_space_are_refused() {
    let server = server().await;
    let c = client(&server);
    let err = c
        .droplets()
        .create(&CreateDroplet::new("web-01", "s-1vcpu-1gb", "ubuntu-22-04-x64").tag("zdd web"))
        .await
        .unwrap_err();
    assert_invalid(err, "tag name `zdd web` contains ` `");
    let err = c.droplets().list_by_tag("zdd web").await.unwrap_err();
    assert_invalid(err, "contains ` `");
    let err = c.droplets().delete_by_tag("zdd web").await.unwrap_err();
    assert_invalid(err, "contains ` `");
    let err = c.droplets().delete_by_tag("").await.unwrap_err();
    assert_invalid(err, "tag name is empty");
    let err = c
        .droplet_actions()
        .post_by_tag("zdd web", &DropletAction::PowerOff)
        .await
        .unwrap_err();
    assert_invalid(err, "contains ` `");
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn post_by_tag_refuses_types_not_allowed_by_tag() {
    let server = server().await;
    let c = client(&server);
    for action in [
        DropletAction::Reboot,
        DropletAction::rename("x"),
        DropletAction::rebuild(42),
    ] {
        let kind = action.kind();
        let err = c
            .droplet_actions()
            .post_by_tag("zdd:web", &action)
            .await
            .unwrap_err();
        assert_invalid(
            err,
            &format!("droplet action `{kind}` cannot be sent by tag"),
        );
    }
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn other_bad_input_is_refused() {
    let server = server().await;
    let c = client(&server);
    let err = c
        .droplets()
        .create(&CreateDroplet::new(
            "web_01",
            "s-1vcpu-1gb",
            "ubuntu-22-04-x64",
        ))
        .await
        .unwrap_err();
    assert_invalid(err, "droplet name `web_01` contains `_`");
    let err = c
        .droplets()
        .create(
            &CreateDroplet::new("web-01", "s-1vcpu-1gb", "ubuntu-22-04-x64")
                .backup_policy(BackupPolicy::daily().hour(3)),
        )
        .await
        .unwrap_err();
    assert_invalid(err, "backup hour 3 is not allowed");
    let err = c
        .droplets()
        .create(
            &CreateDroplet::new("web-01", "s-1vcpu-1gb", "ubuntu-22-04-x64")
                .user_data("x".repeat(64 * 1024 + 1)),
        )
        .await
        .unwrap_err();
    assert_invalid(err, "user_data is 65537 bytes");
    let err = c
        .droplet_actions()
        .post(DropletId(1), &DropletAction::resize(""))
        .await
        .unwrap_err();
    assert_invalid(err, "resize size slug is empty");
    let err = c
        .droplets()
        .list_page(&DropletFilter::all(), 0)
        .await
        .unwrap_err();
    assert_invalid(err, "page numbers start at 1");
    assert_nothing_sent(&server).await;
}
