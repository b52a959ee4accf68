//! Contract tests: do-api's requests against Prism serving the official OpenAPI description
//! (`shared/do-openapi/zdd-subset.json`).
//!
//! Prism runs with `--errors`, so it answers 401/422/404 to any request the spec does not
//! allow; a 2xx proves the request (path, query, headers, body) is one DigitalOcean documents,
//! and decoding the answer (the spec's example) proves our models read the documented shape.
//! `prism_rejects_bad_requests` is the negative control: it proves Prism really says no.
//!
//! Run: `.ci/install-prism.sh && cargo test -p zdd-tests --test contract_prism -- --ignored`.
//! A plain `cargo test` lists these as ignored; run with `--ignored` without Prism or the spec,
//! they fail with the same message (they never pass silently).
//!
//! One Prism serves every test of this file ([`Prism::shared`], started on first use).
//!
//! Adding a resource (one `async fn contract_<resource>()` each: `contract_droplets`,
//! `contract_tags`, `contract_load_balancers`, `contract_reserved_ips`, `contract_floating_ips`):
//! copy `contract_actions`, keep its two attributes exactly (the `#[ignore = ...]` text is
//! checked by `ignore_reason_is_how_to_run`), call every handler method of the resource through
//! `prism.client()`, and pass each result through `ok(prism, "what", result)`, which fails with
//! the error chain and Prism's violations. Then assert a few decoded fields. Prism answers with
//! the spec's first example whatever id is asked for, so assert the example's values (see
//! `fixtures/official/<operationId>/`). For POST/PUT/DELETE the 2xx itself is the check that the
//! body was accepted. For lists, call `list_page(1)` and `list()`. Pagination under Prism
//! 5.14.2 with this spec: only `GET /v2/actions` answers a `links.pages.next` (to page 2, on
//! every page), so only there `list()` ends in `Error::Pagination` (see `contract_actions`); the
//! other lists (droplets, tags, load balancers, reserved/floating IPs and their actions) answer
//! `links: {}` or `{"pages": {}}`, so `list()` returns page 1's items after one request.

use do_api::{ActionId, ActionStatus, ActionType, Error};
use zdd_tests::prism::{HOW_TO_RUN, Prism, TOKEN};

/// `result`'s value, or a panic that says what was called, the error chain and what Prism
/// logged as violations.
fn ok<T>(prism: &Prism, what: &str, result: do_api::Result<T>) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!(
            "{what} against Prism ({}) failed: {}\nPrism's violations so far:\n{}",
            prism.base_url(),
            e.chain(),
            prism.violations()
        ),
    }
}

#[tokio::test]
#[ignore = "needs Prism: run .ci/install-prism.sh, then cargo test -p zdd-tests --test contract_prism -- --ignored"]
async fn contract_actions() {
    let prism = Prism::shared();
    let client = prism.client();

    // GET /v2/actions/{action_id}
    let action = ok(
        prism,
        "actions().get",
        client.actions().get(ActionId(36804636)).await,
    );
    assert_eq!(action.id, ActionId(36804636));
    assert_eq!(action.kind, ActionType::Create);
    assert!(
        !matches!(action.status, ActionStatus::Unknown(_)),
        "{:?}",
        action.status
    );
    assert_eq!(action.resource_id, Some(3164444));
    assert_eq!(action.resource_type.as_deref(), Some("droplet"));
    assert_eq!(action.region_slug.as_deref(), Some("nyc3"));

    // GET /v2/actions?page=1&per_page=200
    let page = ok(
        prism,
        "actions().list_page(1)",
        client.actions().list_page(1).await,
    );
    assert_eq!(page.page, 1);
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id, ActionId(36804636));
    assert_eq!(page.total, Some(1));
    // The spec's `links.pages.next` example is `...?page=2`, and Prism sends it on every page.
    assert_eq!(page.next_page, Some(2));

    // All pages: page 1 says next is 2, page 2 says next is 2 again. do-api must stop with
    // Error::Pagination instead of looping (or stopping after 500 identical pages).
    let sent_before = client.requests_sent();
    match client.actions().list().await {
        Err(Error::Pagination { path, detail }) => {
            assert_eq!(path, "/v2/actions");
            assert_eq!(detail, "page 2 links back to page 2");
        }
        other => panic!("actions().list() against Prism's repeating example: {other:?}"),
    }
    assert_eq!(
        client.requests_sent() - sent_before,
        2,
        "pages 1 and 2 only"
    );
}

/// The negative control: Prism rejects what the spec does not allow, so the 2xx answers above
/// mean something.
#[tokio::test]
#[ignore = "needs Prism: run .ci/install-prism.sh, then cargo test -p zdd-tests --test contract_prism -- --ignored"]
async fn prism_rejects_bad_requests() {
    let prism = Prism::shared();
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", prism.base_url());
    let bearer = format!("Bearer {TOKEN}");

    // The same list, first allowed, then with per_page above the spec's maximum of 200.
    let good = http
        .get(url("v2/droplets?page=1&per_page=200"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), 200, "the positive control");
    let bad = http
        .get(url("v2/droplets?per_page=999"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let violations = header(&bad, "sl-violations");
    assert!(violations.contains("per_page"), "{violations}");

    // A reserved-IP action whose `type` is not `assign` or `unassign`.
    let bad = http
        .post(url("v2/reserved_ips/1.2.3.4/actions"))
        .header("authorization", &bearer)
        .json(&serde_json::json!({"type": "explode"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let violations = header(&bad, "sl-violations");
    assert!(violations.contains("assign, unassign"), "{violations}");
    // ... while a documented one is accepted.
    let good = http
        .post(url("v2/reserved_ips/1.2.3.4/actions"))
        .header("authorization", &bearer)
        .json(&serde_json::json!({"type": "unassign"}))
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), 201);

    // No bearer token.
    let bad = http.get(url("v2/actions/36804636")).send().await.unwrap();
    assert_eq!(bad.status(), 401);

    // A path the spec does not have.
    let bad = http
        .get(url("v2/no_such_resource"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 404);
}

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Every `#[ignore]` in this file carries [`HOW_TO_RUN`], the message the tests fail with
/// when Prism is missing.
#[test]
fn ignore_reason_is_how_to_run() {
    let src = include_str!("contract_prism.rs");
    let ignores = src
        .lines()
        .filter(|l| l.trim_start().starts_with("#[ignore"))
        .collect::<Vec<_>>();
    assert!(ignores.len() >= 2, "{ignores:?}");
    for line in ignores {
        assert_eq!(line.trim(), format!("#[ignore = \"{HOW_TO_RUN}\"]"));
    }
}
