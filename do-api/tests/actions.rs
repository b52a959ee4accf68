//! `/v2/actions`: get, list, and waiting.

mod support;

use std::time::Duration;

use do_api::{ActionId, ActionStatus, ActionType, Error};
use support::*;
use wiremock::Mock;
use wiremock::matchers::{method, path, query_param};

#[tokio::test]
async fn get_decodes_the_official_example() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/actions/36804636"))
        .and(auth())
        .and(wiremock::matchers::header(
            "user-agent",
            concat!("do-api/", env!("CARGO_PKG_VERSION")),
        ))
        .respond_with(json_fixture(200, "official/actions_get/200-schema.json"))
        .expect(1)
        .mount(&server)
        .await;
    let action = client(&server)
        .actions()
        .get(ActionId(36804636))
        .await
        .unwrap();
    assert_eq!(action.id, ActionId(36804636));
    assert_eq!(action.status, ActionStatus::Completed);
    assert_eq!(action.kind, ActionType::Create);
    assert_eq!(action.resource_id, Some(3164444));
    assert_eq!(action.region.unwrap().slug.as_deref(), Some("nyc3"));
    assert_eq!(client_action().duration(), Some(Duration::from_secs(3)));
}

fn client_action() -> do_api::Action {
    serde_json::from_value(fixture_json("edge/action_completed.json")["action"].clone()).unwrap()
}

#[tokio::test]
async fn list_sends_paging_parameters() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/actions"))
        .and(query_param("page", "1"))
        .and(query_param("per_page", "200"))
        .and(auth())
        .respond_with(json_fixture(200, "official/actions_list/200-schema.json"))
        .expect(1)
        .mount(&server)
        .await;
    let actions = client(&server).actions().list().await.unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].id, ActionId(36804636));
}

#[tokio::test]
async fn unknown_fields_and_enum_values_decode() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/actions/36804636"))
        .respond_with(json_fixture(200, "edge/action_unknown_values.json"))
        .mount(&server)
        .await;
    let action = client(&server)
        .actions()
        .get(ActionId(36804636))
        .await
        .unwrap();
    assert_eq!(
        action.status,
        ActionStatus::Unknown("paused-for-maintenance".into())
    );
    assert_eq!(action.kind, ActionType::Unknown("teleport".into()));
}

#[tokio::test]
async fn wait_polls_until_completed() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/actions/36804636"))
        .and(auth())
        .respond_with(json_fixture(200, "edge/action_in_progress.json"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/actions/36804636"))
        .and(auth())
        .respond_with(json_fixture(200, "edge/action_completed.json"))
        .expect(1)
        .mount(&server)
        .await;
    let mut seen = Vec::new();
    let action = client(&server)
        .actions()
        .wait_with(
            ActionId(36804636),
            &fast_wait(Duration::from_secs(5)),
            |a| seen.push(a.status.clone()),
        )
        .await
        .unwrap();
    assert!(action.is_completed());
    assert_eq!(
        seen,
        vec![
            ActionStatus::InProgress,
            ActionStatus::InProgress,
            ActionStatus::Completed
        ]
    );
}

#[tokio::test]
async fn wait_fails_on_errored() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/actions/36804636"))
        .respond_with(json_fixture(200, "edge/action_errored.json"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .actions()
        .wait(ActionId(36804636), &fast_wait(Duration::from_secs(5)))
        .await
        .unwrap_err();
    match &err {
        Error::ActionErrored {
            id,
            kind,
            status,
            resource_type,
            resource_id,
        } => {
            assert_eq!(*id, ActionId(36804636));
            assert_eq!(kind, "assign_ip");
            assert_eq!(status, "errored");
            assert_eq!(resource_type.as_deref(), Some("reserved_ip"));
            assert_eq!(*resource_id, Some(758604968));
        }
        other => panic!("expected ActionErrored, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "action 36804636 (assign_ip) on reserved_ip 758604968 errored"
    );
}

#[tokio::test]
async fn wait_times_out_at_the_deadline() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/actions/36804636"))
        .respond_with(json_fixture(200, "edge/action_in_progress.json"))
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let err = client(&server)
        .actions()
        .wait(ActionId(36804636), &fast_wait(Duration::from_millis(200)))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        err.to_string().contains("action 36804636 did not finish"),
        "{err}"
    );
    assert!(err.to_string().contains("assign_ip in-progress"), "{err}");
    // Polled more than once, and gave up near the deadline rather than on the first look.
    assert!(requests(&server).await.len() >= 2);
    assert!(started.elapsed() >= Duration::from_millis(200));
}
