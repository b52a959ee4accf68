//! `zdd_core::lb::find` and `zdd_core::unlock::unlock` against the stateful fake: the exact
//! calls, the typed errors, the tags left. The `zdd-do unlock` binary's messages and exit codes
//! are tested in `zdd-cli/tests/roll.rs` and `zdd-cli/tests/cli.rs`.

use std::time::Duration;

use do_api::{Client, RetryPolicy, Token};
use fake_do::{FakeDo, POOL_LB_ID as LB_ID, TOKEN};
use zdd_core::lb::{self, FindError};
use zdd_core::rolling::LbRef;
use zdd_core::unlock::{UnlockError, UnlockTarget, unlock};

fn client(fake: &FakeDo) -> Client {
    Client::builder()
        .token(Token::new(TOKEN).unwrap())
        .base_url(fake.uri())
        .retry_policy(
            RetryPolicy::default()
                .with_jitter(false)
                .with_min_delay(Duration::from_millis(5))
                .with_max_delay(Duration::from_millis(10)),
        )
        .build()
        .unwrap()
}

fn lock_tag(scope: &str, run: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!("zdd-lock:{scope}:{now}:{run}")
}

#[tokio::test]
async fn a_load_balancer_is_found_by_id_or_by_name() {
    let fake = FakeDo::lb_pool(2, false).await;
    let c = client(&fake);
    let by_id = lb::find(&c, &LbRef::Id(LB_ID.into())).await.unwrap();
    let by_name = lb::find(&c, &LbRef::Name("web-lb".into())).await.unwrap();
    assert_eq!((by_id.id.as_str(), by_id.name.as_str()), (LB_ID, "web-lb"));
    assert_eq!(by_name, by_id);
    let paths: Vec<String> = fake
        .calls()
        .iter()
        .map(|c| c.split('?').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        paths,
        [
            format!("GET /v2/load_balancers/{LB_ID}"),
            "GET /v2/load_balancers".to_owned(),
        ]
    );
    fake.assert_no_unexpected();
}

#[tokio::test]
async fn an_unknown_name_or_id_is_not_found() {
    let fake = FakeDo::lb_pool(1, false).await;
    let c = client(&fake);
    let e = lb::find(&c, &LbRef::Name("no-such-lb".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, FindError::NotFound(LbRef::Name(n)) if n == "no-such-lb"),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "no load balancer is named `no-such-lb`");
    let gone = "0a0a0a0a-0000-4000-8000-000000000000";
    let e = lb::find(&c, &LbRef::Id(gone.into())).await.unwrap_err();
    assert!(matches!(&e, FindError::NotFound(LbRef::Id(_))), "{e:?}");
    // `lookup` answers as DigitalOcean does: no such name is `None`, no such id its 404.
    assert_eq!(
        lb::lookup(&c, &LbRef::Name("no-such-lb".into()))
            .await
            .unwrap(),
        None
    );
    assert!(
        lb::lookup(&c, &LbRef::Id(gone.into()))
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn an_api_failure_is_not_a_missing_load_balancer() {
    let fake = FakeDo::lb_pool(1, false).await;
    let c = client(&fake);
    fake.fault("GET", "/v2/load_balancers", 20, 401);
    let e = lb::find(&c, &LbRef::Name("web-lb".into()))
        .await
        .unwrap_err();
    assert!(matches!(e, FindError::Api(_)), "{e:?}");
}

#[tokio::test]
async fn unlock_by_name_looks_the_id_up_and_removes_only_that_scope() {
    let fake = FakeDo::lb_pool(1, false).await;
    let theirs = lock_tag(&format!("lb-{LB_ID}"), "other");
    let ip_lock = lock_tag("ip-203-0-113-7", "bluegreen");
    fake.state().tags.insert(theirs.clone());
    fake.state().tags.insert(ip_lock.clone());
    let c = client(&fake);
    let done = unlock(
        &c,
        &UnlockTarget::LoadBalancer(LbRef::Name("web-lb".into())),
    )
    .await
    .unwrap();
    assert_eq!(done.scope, format!("lb-{LB_ID}"));
    assert_eq!(
        done.removed
            .iter()
            .map(|l| l.tag.as_str())
            .collect::<Vec<_>>(),
        [theirs.as_str()]
    );
    assert_eq!(fake.lock_tags(), [ip_lock]);
    assert_eq!(fake.mutations(), [format!("DELETE /v2/tags/{theirs}")]);
    fake.assert_no_unexpected();
}

#[tokio::test]
async fn unlock_by_id_or_reserved_ip_reads_no_load_balancer() {
    let fake = FakeDo::lb_pool(1, false).await;
    let c = client(&fake);
    // A load balancer deleted since: its lock can still be broken by id.
    let gone = "0a0a0a0a-0000-4000-8000-000000000000";
    let stale = lock_tag(&format!("lb-{gone}"), "dead");
    fake.state().tags.insert(stale.clone());
    let done = unlock(&c, &UnlockTarget::LoadBalancer(LbRef::Id(gone.into())))
        .await
        .unwrap();
    assert_eq!(
        (done.scope.as_str(), done.removed.len()),
        (format!("lb-{gone}").as_str(), 1)
    );
    let done = unlock(
        &c,
        &UnlockTarget::ReservedIp("203.0.113.7".parse().unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(done.scope, "ip-203-0-113-7");
    assert!(done.removed.is_empty());
    assert!(fake.lock_tags().is_empty());
    assert!(
        fake.calls().iter().all(|c| !c.contains("load_balancers")),
        "{:#?}",
        fake.calls()
    );
    fake.assert_no_unexpected();
}

#[tokio::test]
async fn unlock_of_an_unknown_name_removes_nothing() {
    let fake = FakeDo::lb_pool(1, false).await;
    let theirs = lock_tag(&format!("lb-{LB_ID}"), "other");
    fake.state().tags.insert(theirs.clone());
    let c = client(&fake);
    let e = unlock(
        &c,
        &UnlockTarget::LoadBalancer(LbRef::Name("no-such-lb".into())),
    )
    .await
    .unwrap_err();
    assert!(matches!(&e, UnlockError::NotFound(_)), "{e:?}");
    assert_eq!(e.to_string(), "no load balancer is named `no-such-lb`");
    assert_eq!(fake.lock_tags(), [theirs]);
    assert!(fake.mutations().is_empty());
    // An API failure while removing is an API error.
    fake.fault("GET", "/v2/tags", 20, 500);
    let e = unlock(&c, &UnlockTarget::LoadBalancer(LbRef::Id(LB_ID.into())))
        .await
        .unwrap_err();
    assert!(matches!(e, UnlockError::Api(_)), "{e:?}");
}
