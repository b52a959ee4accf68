//! `droplets_list` (one page, all pages, filters, paging guards) and `droplets_get`.

use super::*;

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
