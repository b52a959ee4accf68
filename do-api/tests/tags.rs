//! `/v2/tags`: create, get, list, delete, tag and untag resources.

mod support;

use do_api::DropletId;
use do_api::Error;
use do_api::tags::{ResourceType, TagResource};
use serde_json::json;
use support::*;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn create_sends_the_name_and_decodes_the_official_example() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/tags"))
        .and(auth())
        .and(body_json(json!({"name": "extra-awesome"})))
        .respond_with(json_fixture(201, "official/tags_create/201-schema.json"))
        .expect(1)
        .mount(&server)
        .await;
    let tag = client(&server)
        .tags()
        .create("extra-awesome")
        .await
        .unwrap();
    assert_eq!(tag.name, "extra-awesome");
    assert_eq!(tag.resources.count, 0);
    assert_eq!(tag.droplet_count(), 0);
    assert_eq!(tag.resources.volumes.as_ref().unwrap().count, 0);
    assert_eq!(tag.resources.last_tagged_uri, None);
}

#[tokio::test]
async fn create_answered_with_the_tags_400_shape_is_a_readable_api_error() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/tags"))
        .and(auth())
        .and(body_json(json!({"name": "zdorovo"})))
        .respond_with(
            json_fixture(400, "official/tags_create/400-invalidcharacters.json")
                .insert_header("x-request-id", "4d9d8375-3c56-4925-a3e7-eb137fed17e9"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).tags().create("zdorovo").await.unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!(api.status, 400);
    assert_eq!(api.id, None);
    assert!(
        api.message
            .starts_with("Error validating resource tag: \\\"tag-name"),
        "{}",
        api.message
    );
    assert!(api.message.contains("contains invalid characters"));
    assert_eq!(api.details.len(), 1, "messages is null, one root cause");
    assert!(api.details[0].starts_with("rpc error: code = InvalidArgument"));
    assert_eq!(
        api.request_id.as_deref(),
        Some("4d9d8375-3c56-4925-a3e7-eb137fed17e9")
    );
    let text = err.to_string();
    assert!(
        text.starts_with("DigitalOcean API POST /v2/tags answered 400: Error validating"),
        "{text}"
    );
    assert!(
        text.contains("; rpc error: code = InvalidArgument"),
        "{text}"
    );
}

#[tokio::test]
async fn create_is_retried_after_a_server_error_because_it_is_idempotent() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/tags"))
        .and(auth())
        .respond_with(json_fixture(500, "official/tags_create/500-example.json"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/tags"))
        .and(auth())
        .and(body_json(json!({"name": "extra-awesome"})))
        .respond_with(json_fixture(201, "official/tags_create/201-schema.json"))
        .expect(1)
        .mount(&server)
        .await;
    let tag = client(&server)
        .tags()
        .create("extra-awesome")
        .await
        .unwrap();
    assert_eq!(tag.name, "extra-awesome");
}

#[tokio::test]
async fn get_decodes_the_official_example_despite_its_double_nesting() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/tags/extra-awesome"))
        .and(auth())
        .respond_with(json_fixture(200, "official/tags_get/200-schema.json"))
        .expect(1)
        .mount(&server)
        .await;
    let tag = client(&server).tags().get("extra-awesome").await.unwrap();
    assert_eq!(tag.name, "extra-awesome");
    assert_eq!(tag.resources.count, 5);
    assert_eq!(
        tag.resources.last_tagged_uri.as_deref(),
        Some("https://api.digitalocean.com/v2/images/7555620")
    );
    let droplets = tag.resources.droplets.as_ref().unwrap();
    assert_eq!(droplets.count, 1);
    assert_eq!(
        droplets.last_tagged_uri.as_deref(),
        Some("https://api.digitalocean.com/v2/droplets/3164444")
    );
    assert_eq!(tag.resources.databases.as_ref().unwrap().count, 1);
}

#[tokio::test]
async fn get_decodes_the_live_shape_with_unknown_fields_and_the_last_tagged_droplet() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/tags/zdd-web"))
        .and(auth())
        .respond_with(json_fixture(200, "edge/tags_get_live_shape.json"))
        .expect(1)
        .mount(&server)
        .await;
    let tag = client(&server).tags().get("zdd-web").await.unwrap();
    assert_eq!(tag.name, "zdd-web");
    assert_eq!(tag.droplet_count(), 2);
    let droplet = tag
        .resources
        .droplets
        .as_ref()
        .unwrap()
        .last_tagged_droplet()
        .expect("last_tagged is a droplet");
    assert_eq!(droplet.id, DropletId(3164444));
    assert!(droplet.has_tag("zdd-web"));
}

#[tokio::test]
async fn get_of_a_missing_tag_is_not_found() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/tags/gone"))
        .and(auth())
        .respond_with(json_fixture(404, "official/tags_get/404-example.json"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).tags().get("gone").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

/// `get_opt`: `None` only for a 404; a found tag is `Some`, any other error stays one, and a
/// bad name is still refused before sending.
#[tokio::test]
async fn get_opt_is_none_only_for_a_404() {
    let server = server().await;
    for (name, status, fixture) in [
        ("extra-awesome", 200, "official/tags_get/200-schema.json"),
        ("gone", 404, "official/tags_get/404-example.json"),
        ("secret", 401, "official/tags_get/401-example.json"),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/v2/tags/{name}")))
            .and(auth())
            .respond_with(json_fixture(status, fixture))
            .expect(1)
            .mount(&server)
            .await;
    }
    let c = client(&server);
    let found = c.tags().get_opt("extra-awesome").await.unwrap();
    assert_eq!(found.expect("the tag exists").name, "extra-awesome");
    assert_eq!(c.tags().get_opt("gone").await.unwrap(), None);
    let err = c.tags().get_opt("secret").await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    let err = c.tags().get_opt("a b").await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert_eq!(
        c.requests_sent(),
        3,
        "one request each, none for the bad name"
    );
}

#[tokio::test]
async fn list_sends_paging_parameters_and_decodes_the_official_example() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/tags"))
        .and(query_param("page", "1"))
        .and(query_param("per_page", "200"))
        .and(auth())
        .respond_with(json_fixture(200, "official/tags_list/200-schema.json"))
        .expect(1)
        .mount(&server)
        .await;
    let tags = client(&server).tags().list().await.unwrap();
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].name, "extra-awesome");
    assert_eq!(tags[0].resources.count, 5);
    assert_eq!(tags[0].droplet_count(), 1);
}

#[tokio::test]
async fn list_page_asks_for_that_page() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/tags"))
        .and(query_param("page", "3"))
        .and(query_param("per_page", "200"))
        .and(auth())
        .respond_with(json_fixture(200, "official/tags_list/200-schema.json"))
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server).tags().list_page(3).await.unwrap();
    assert_eq!(page.page, 3);
    assert_eq!(page.next_page, None);
    assert_eq!(page.total, Some(1));
    assert_eq!(page.items[0].name, "extra-awesome");
}

#[tokio::test]
async fn delete_sends_delete() {
    let server = server().await;
    Mock::given(method("DELETE"))
        .and(path("/v2/tags/extra-awesome"))
        .and(auth())
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .tags()
        .delete("extra-awesome")
        .await
        .unwrap();
    let received = server.received_requests().await.unwrap();
    assert!(received[0].body.is_empty(), "a tag delete has no body");
}

#[tokio::test]
async fn tag_resources_sends_the_spec_example_body() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/tags/awesome/resources"))
        .and(auth())
        .and(body_json(json!({"resources": [
            {"resource_id": "9569411", "resource_type": "droplet"},
            {"resource_id": "7555620", "resource_type": "image"},
            {"resource_id": "3d80cb72-342b-4aaa-b92e-4e4abb24a933", "resource_type": "volume"}
        ]})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .tags()
        .tag_resources(
            "awesome",
            &[
                TagResource::droplet(DropletId(9569411)),
                TagResource::new("7555620", ResourceType::Image),
                TagResource::new("3d80cb72-342b-4aaa-b92e-4e4abb24a933", ResourceType::Volume),
            ],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn tag_droplets_sends_ids_as_strings_and_is_retried_after_a_server_error() {
    let server = server().await;
    let body = json!({"resources": [
        {"resource_id": "3164444", "resource_type": "droplet"},
        {"resource_id": "3164445", "resource_type": "droplet"}
    ]});
    Mock::given(method("POST"))
        .and(path("/v2/tags/zdd-web/resources"))
        .and(auth())
        .and(body_json(body.clone()))
        .respond_with(json_fixture(
            500,
            "official/tags_assign_resources/500-example.json",
        ))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/tags/zdd-web/resources"))
        .and(auth())
        .and(body_json(body))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .tags()
        .tag_droplets("zdd-web", &[DropletId(3164444), DropletId(3164445)])
        .await
        .unwrap();
}

#[tokio::test]
async fn untag_droplets_is_a_delete_with_a_json_body() {
    let server = server().await;
    Mock::given(method("DELETE"))
        .and(path("/v2/tags/zdd-web/resources"))
        .and(auth())
        .and(wiremock::matchers::header(
            "content-type",
            "application/json",
        ))
        .and(body_json(json!({"resources": [
            {"resource_id": "3164444", "resource_type": "droplet"}
        ]})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .tags()
        .untag_droplets("zdd-web", &[DropletId(3164444)])
        .await
        .unwrap();
}

#[tokio::test]
async fn untag_resources_of_a_missing_tag_is_not_found() {
    let server = server().await;
    Mock::given(method("DELETE"))
        .and(path("/v2/tags/gone/resources"))
        .and(auth())
        .respond_with(json_fixture(
            404,
            "official/tags_unassign_resources/404-example.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .tags()
        .untag_resources("gone", &[TagResource::new("7555620", ResourceType::Image)])
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn bad_input_sends_nothing() {
    let server = server().await;
    let c = client(&server);
    let tags = c.tags();
    let one = [DropletId(1)];
    let cases: Vec<(&str, Error)> = vec![
        ("create empty", tags.create("").await.unwrap_err()),
        ("create space", tags.create("bad tag").await.unwrap_err()),
        ("create unicode", tags.create("здорово").await.unwrap_err()),
        ("get dot", tags.get("a.b").await.unwrap_err()),
        ("get slash", tags.get("a/b").await.unwrap_err()),
        ("delete empty", tags.delete("").await.unwrap_err()),
        (
            "tag empty list",
            tags.tag_droplets("web", &[]).await.unwrap_err(),
        ),
        (
            "untag empty list",
            tags.untag_resources("web", &[]).await.unwrap_err(),
        ),
        (
            "tag bad name",
            tags.tag_droplets("a b", &one).await.unwrap_err(),
        ),
        (
            "untag bad name",
            tags.untag_droplets("", &one).await.unwrap_err(),
        ),
        (
            "empty resource id",
            tags.tag_resources("web", &[TagResource::new(" ", ResourceType::Volume)])
                .await
                .unwrap_err(),
        ),
    ];
    for (what, e) in &cases {
        assert!(matches!(e, Error::InvalidInput(_)), "{what}: {e}");
    }
    assert!(cases[0].1.to_string().contains("tag name is empty"));
    assert!(cases[1].1.to_string().contains("contains ` `"));
    assert!(
        cases[6].1.to_string().contains("no resources to tag"),
        "{}",
        cases[6].1
    );
    assert!(cases[10].1.to_string().contains("empty resource id"));
    assert_eq!(requests(&server).await, Vec::<String>::new());
    assert_eq!(c.requests_sent(), 0);
}
