//! `droplets_create`, `droplets_destroy`, `droplets_destroy_byTag` and waiting until active.

use super::*;

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
