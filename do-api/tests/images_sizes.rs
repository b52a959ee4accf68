//! `/v2/images/{image_id}` and `/v2/sizes`: what `replace` reads before it creates anything.

mod support;

use do_api::{ImageId, ImageStatus};
use support::*;
use wiremock::Mock;
use wiremock::matchers::{method, path, query_param};

#[tokio::test]
async fn an_image_is_read_by_id_or_by_slug() {
    let server = server().await;
    for p in ["/v2/images/6918990", "/v2/images/ubuntu-16-04-x64"] {
        Mock::given(method("GET"))
            .and(path(p))
            .and(auth())
            .respond_with(json_fixture(200, "official/images_get/200-example.json"))
            .expect(1)
            .mount(&server)
            .await;
    }
    let c = client(&server);
    let by_id = c.images().get(ImageId(6918990)).await.unwrap();
    let by_slug = c.images().get("ubuntu-16-04-x64").await.unwrap();
    assert_eq!(by_id, by_slug);
    assert_eq!(by_id.id, ImageId(6918990));
    assert_eq!(by_id.slug.as_deref(), Some("ubuntu-16-04-x64"));
    assert_eq!(by_id.status, Some(ImageStatus::Available));
    assert!(by_id.is_available());
    assert_eq!(by_id.min_disk_size, Some(20));
    assert!(by_id.regions.iter().any(|r| r == "nyc3"));
}

#[tokio::test]
async fn a_missing_image_is_none_and_an_empty_slug_is_refused_unsent() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/images/404404"))
        .respond_with(json_fixture(404, "official/images_get/404-example.json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    assert_eq!(c.images().get_opt(ImageId(404404)).await.unwrap(), None);
    let e = c.images().get(" ").await.unwrap_err();
    assert!(e.to_string().contains("image slug"), "{e}");
    assert_eq!(c.requests_sent(), 1, "the empty slug was not sent");
}

#[tokio::test]
async fn sizes_are_listed_with_their_prices() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/sizes"))
        .and(query_param("page", "1"))
        .and(query_param("per_page", "200"))
        .and(auth())
        .respond_with(json_fixture(200, "official/sizes_list/200-schema.json"))
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server).sizes().list_page(1).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let s = &page.items[0];
    assert_eq!(s.slug, "s-1vcpu-1gb");
    assert_eq!(s.price_monthly, 5.0);
    assert!(
        (s.price_hourly - 0.00744).abs() < 1e-5,
        "{}",
        s.price_hourly
    );
    assert!(s.offered_in("nyc3"));
    assert!(!s.offered_in("mars1"));
    assert_eq!(page.next_page, Some(2));
}
