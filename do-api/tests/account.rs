//! `/v2/account`: the token's account.

mod support;

use do_api::AccountStatus;
use support::*;
use wiremock::Mock;
use wiremock::matchers::{method, path};

#[tokio::test]
async fn get_decodes_the_official_example() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/account"))
        .and(auth())
        .respond_with(json_fixture(200, "official/account_get/200-schema.json"))
        .expect(1)
        .mount(&server)
        .await;
    let a = client(&server).account().get().await.unwrap();
    assert_eq!(a.droplet_limit, 25);
    assert_eq!(a.floating_ip_limit, 5);
    assert_eq!(a.email, "sammy@digitalocean.com");
    assert_eq!(a.name.as_deref(), Some("Sammy the Shark"));
    assert_eq!(a.status, AccountStatus::Active);
    assert_eq!(a.team.map(|t| t.name), Some("My Team".to_owned()));
}

/// A token without `account:read` gets 403: an API error with the status, not retried.
#[tokio::test]
async fn a_token_without_the_scope_gets_403_at_once() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/account"))
        .respond_with(json_fixture(403, "official/account_get/401-example.json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let e = c.account().get().await.unwrap_err();
    assert_eq!(e.status(), Some(403), "{e:?}");
    assert!(e.is_unauthorized(), "{e:?}");
    assert_eq!(c.requests_sent(), 1);
}
