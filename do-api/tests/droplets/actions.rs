//! Droplet actions: post (one droplet or by tag), list, get; which are repeated after a 503.

use super::*;

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
