//! Client behaviour shared by every endpoint: errors, retries, rate limits, secrets.

mod support;

use std::time::{Duration, Instant};

use do_api::{ActionId, Client, Error, RetryPolicy, Token, TransportError, TransportKind};
use support::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

fn official_error(status: u16, rel: &str) -> ResponseTemplate {
    json_fixture(status, rel).insert_header("x-request-id", "hdr-req-id")
}

async fn get_error(template: ResponseTemplate) -> Error {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/actions/1"))
        .respond_with(template)
        .mount(&server)
        .await;
    let c = Client::builder()
        .token(Token::new(TEST_TOKEN).unwrap())
        .base_url(server.uri())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    c.actions().get(ActionId(1)).await.unwrap_err()
}

#[tokio::test]
async fn error_401_keeps_id_message_and_header_request_id() {
    let err = get_error(official_error(401, "official/actions_get/401-example.json")).await;
    assert!(err.is_unauthorized());
    let api = err.api().unwrap();
    assert_eq!(api.status, 401);
    assert_eq!(api.id.as_deref(), Some("unauthorized"));
    assert_eq!(api.message, "Unable to authenticate you.");
    assert_eq!(api.request_id.as_deref(), Some("hdr-req-id"));
    assert_eq!(
        err.to_string(),
        "DigitalOcean API GET /v2/actions/1 answered 401 unauthorized: Unable to authenticate you. (request id hdr-req-id)"
    );
}

#[tokio::test]
async fn error_404() {
    let err = get_error(official_error(404, "official/actions_get/404-example.json")).await;
    assert!(err.is_not_found());
    assert_eq!(err.api().unwrap().id.as_deref(), Some("not_found"));
}

#[tokio::test]
async fn error_422_body_request_id_wins() {
    let err = get_error(official_error(422, "edge/error_422.json")).await;
    assert!(err.is_unprocessable());
    let api = err.api().unwrap();
    assert_eq!(
        api.request_id.as_deref(),
        Some("4d9d8375-3c56-4925-a3e7-eb137fed17e9")
    );
    assert_eq!(
        api.message,
        "Droplet is already assigned to another reserved IP."
    );
}

#[tokio::test]
async fn error_429_and_500_without_retries() {
    let err = get_error(official_error(429, "official/actions_get/429-example.json")).await;
    assert!(err.is_rate_limited());
    assert_eq!(err.api().unwrap().message, "API rate limit exceeded.");
    let err = get_error(official_error(500, "official/actions_get/500-example.json")).await;
    assert!(err.is_server_error());
    assert_eq!(err.api().unwrap().id.as_deref(), Some("server_error"));
}

#[tokio::test]
async fn tags_400_shape_is_readable() {
    let err = get_error(json_fixture(400, "edge/error_tags_400.json")).await;
    let api = err.api().unwrap();
    assert_eq!(api.message, "tag name is invalid");
    assert_eq!(api.id, None);
    assert_eq!(api.details.len(), 2);
    assert!(
        err.to_string().contains("root_causes")
            || err.to_string().contains("invalid tag name `bad tag`")
    );
}

#[tokio::test]
async fn html_error_is_readable() {
    let err = get_error(
        ResponseTemplate::new(502).set_body_raw(fixture("edge/error_502.html"), "text/html"),
    )
    .await;
    assert_eq!(err.status(), Some(502));
    assert!(err.to_string().contains("502 Bad Gateway"), "{err}");
}

#[tokio::test]
async fn retry_after_is_honoured_then_success() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/actions/36804636"))
        .respond_with(
            json_fixture(429, "official/actions_get/429-example.json")
                .insert_header("retry-after", "1")
                .insert_header("ratelimit-limit", "5000")
                .insert_header("ratelimit-remaining", "0")
                .insert_header("ratelimit-reset", "1444931833"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/actions/36804636"))
        .respond_with(
            json_fixture(200, "official/actions_get/200-schema.json")
                .insert_header("ratelimit-limit", "5000")
                .insert_header("ratelimit-remaining", "4999")
                .insert_header("ratelimit-reset", "1444931900"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let started = Instant::now();
    c.actions().get(ActionId(36804636)).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(requests(&server).await.len(), 2);
    assert!(
        waited >= Duration::from_secs(1),
        "waited only {waited:?}: Retry-After ignored"
    );
    assert!(waited < Duration::from_secs(2), "waited {waited:?}");
    let rl = c.rate_limit().unwrap();
    assert_eq!((rl.limit, rl.remaining, rl.reset), (5000, 4999, 1444931900));
    assert_eq!(c.requests_sent(), 2);
}

#[tokio::test]
async fn get_is_retried_on_503() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/actions/36804636"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/actions/36804636"))
        .respond_with(json_fixture(200, "official/actions_get/200-schema.json"))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .actions()
        .get(ActionId(36804636))
        .await
        .unwrap();
}

#[tokio::test]
async fn retries_give_up_after_the_policy_limit() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/actions/36804636"))
        .respond_with(json_fixture(500, "official/actions_get/500-example.json"))
        .expect(5)
        .mount(&server)
        .await;
    let err = client(&server)
        .actions()
        .get(ActionId(36804636))
        .await
        .unwrap_err();
    assert!(err.is_server_error(), "{err:?}");
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_after_retries() {
    // Bind and drop a listener so the port is (almost certainly) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Client::builder()
        .token(Token::new(TEST_TOKEN).unwrap())
        .base_url(format!("http://127.0.0.1:{port}/"))
        .retry_policy(fast_retry().with_max_retries(2))
        .build()
        .unwrap();
    let err = c.actions().get(ActionId(1)).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(c.requests_sent(), 3);
    // The predicates say what happened, and the message says why, without `.chain()`.
    assert!(err.is_transport() && err.is_connect(), "{err:?}");
    assert!(!err.is_timeout() && !err.is_request_timeout() && !err.is_decode());
    assert_eq!(err.transport_kind(), Some(TransportKind::Connect));
    let text = err.to_string();
    assert!(
        text.starts_with(
            "could not reach the DigitalOcean API for GET /v2/actions/1: no connection ("
        ),
        "{text}"
    );
    assert!(text.contains("Connection refused"), "{text}");
    // The cause is ours, not the HTTP client's type.
    let source = std::error::Error::source(&err).unwrap();
    assert!(
        source.downcast_ref::<TransportError>().is_some(),
        "{source:?}"
    );
}

#[tokio::test]
async fn a_request_timeout_is_its_own_kind() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/actions/1"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(5)))
        .mount(&server)
        .await;
    let c = Client::builder()
        .token(Token::new(TEST_TOKEN).unwrap())
        .base_url(server.uri())
        .timeout(std::time::Duration::from_millis(200))
        .retry_policy(fast_retry().with_max_retries(0))
        .build()
        .unwrap();
    let err = c.actions().get(ActionId(1)).await.unwrap_err();
    assert!(err.is_request_timeout() && err.is_timeout(), "{err:?}");
    assert!(!err.is_wait_timeout() && !err.is_connect());
    assert!(
        err.to_string()
            .starts_with("could not reach the DigitalOcean API for GET /v2/actions/1: timed out"),
        "{err}"
    );
}

#[tokio::test]
async fn a_body_that_does_not_fit_names_the_json_path() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/actions/1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"action":{"id":"not a number","status":"completed"}}"#),
        )
        .mount(&server)
        .await;
    let err = client(&server)
        .actions()
        .get(ActionId(1))
        .await
        .unwrap_err();
    assert!(err.is_decode(), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("unexpected response body for GET /v2/actions/1: at `action.id`: invalid type: string \"not a number\""),
        "{text}"
    );
}

#[test]
fn the_default_user_agent_is_the_crates_own() {
    assert_eq!(
        do_api::client::DEFAULT_USER_AGENT,
        concat!("do-api/", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn token_never_appears_in_errors_or_debug() {
    let server = server().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_string("nope"))
        .mount(&server)
        .await;
    let c = client(&server);
    let err = c.actions().get(ActionId(1)).await.unwrap_err();
    let shown = format!("{err} {err:?} {} {c:?}", err.chain());
    assert!(!shown.contains(TEST_TOKEN), "{shown}");
}

#[tokio::test]
async fn base_url_with_a_path_prefix_is_kept() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/proxy/v2/actions/36804636"))
        .and(auth())
        .respond_with(json_fixture(200, "official/actions_get/200-schema.json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = Client::builder()
        .token(Token::new(TEST_TOKEN).unwrap())
        .base_url(format!("{}/proxy", server.uri()))
        .build()
        .unwrap();
    c.actions().get(ActionId(36804636)).await.unwrap();
}
