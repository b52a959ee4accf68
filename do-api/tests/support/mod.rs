//! Shared by the wiremock tests: a mock server with a loud catch-all, a client pointed at it
//! with a fast retry policy, and fixture loading.
#![allow(dead_code)]

use std::time::Duration;

use do_api::{Client, RetryPolicy, Token, WaitOptions};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The token the tests send; the mocks require `Authorization: Bearer TEST_TOKEN`.
pub const TEST_TOKEN: &str = "test-token-not-real";

/// `fixtures/<rel>` as a string.
pub fn fixture(rel: &str) -> String {
    let path = format!("{}/../fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// `fixtures/<rel>` parsed as JSON.
pub fn fixture_json(rel: &str) -> serde_json::Value {
    serde_json::from_str(&fixture(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

/// A 200 answer with a fixture as the JSON body.
pub fn json_fixture(status: u16, rel: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(fixture(rel), "application/json")
}

struct Unexpected;

impl Respond for Unexpected {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let msg = format!(
            "unexpected request {} {} (body: {})",
            req.method,
            req.url,
            String::from_utf8_lossy(&req.body)
        );
        // Shown in the test output next to the failing expectation.
        #[allow(clippy::print_stderr)]
        {
            eprintln!("CATCH-ALL HIT: {msg}");
        }
        ResponseTemplate::new(500)
            .set_body_json(serde_json::json!({"id": "unexpected_request", "message": msg}))
    }
}

/// A mock server whose catch-all answers 500 with the request in the message, and is expected
/// never to be hit: the server panics on drop if it was.
pub async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(Unexpected)
        .with_priority(u8::MAX)
        .expect(0)
        .named("catch-all: no request outside the mocks")
        .mount(&server)
        .await;
    server
}

/// Retries with millisecond delays, no jitter, server waits capped at 2 s.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .with_jitter(false)
        .with_min_delay(Duration::from_millis(5))
        .with_max_delay(Duration::from_millis(20))
        .with_max_server_wait(Duration::from_secs(2))
}

/// A client for `server`, with the test token and [`fast_retry`].
pub fn client(server: &MockServer) -> Client {
    Client::builder()
        .token(Token::new(TEST_TOKEN).unwrap())
        .base_url(server.uri())
        .retry_policy(fast_retry())
        .build()
        .unwrap()
}

/// Waits that poll every few milliseconds.
pub fn fast_wait(timeout: Duration) -> WaitOptions {
    WaitOptions::with_timeout(timeout).interval(Duration::from_millis(5), Duration::from_millis(20))
}

/// `Authorization: Bearer TEST_TOKEN`.
pub fn auth() -> wiremock::matchers::HeaderExactMatcher {
    wiremock::matchers::header("authorization", format!("Bearer {TEST_TOKEN}").as_str())
}

/// The requests the server received, as `METHOD /path?query`.
pub async fn requests(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| match r.url.query() {
            Some(q) => format!("{} {}?{}", r.method, r.url.path(), q),
            None => format!("{} {}", r.method, r.url.path()),
        })
        .collect()
}
