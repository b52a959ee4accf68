//! Waiting until active, `find_by_name`, and input checked before sending.

use super::*;

#[tokio::test]
async fn wait_active_polls_while_new() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path(LB_PATH))
        .and(auth())
        .respond_with(json_fixture(
            200,
            "official/loadBalancers_get/200-load-balancer-basic-response.json",
        ))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(LB_PATH))
        .and(auth())
        .respond_with(json_fixture(200, "edge/lb_active.json"))
        .expect(1)
        .mount(&server)
        .await;
    let lb = client(&server)
        .load_balancers()
        .wait_active(&lb_id(), &fast_wait(Duration::from_secs(5)))
        .await
        .unwrap();
    assert!(lb.is_active());
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn wait_active_stops_on_errored() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path(LB_PATH))
        .and(auth())
        .respond_with(json_fixture(200, "edge/lb_errored.json"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .load_balancers()
        .wait_active(&lb_id(), &fast_wait(Duration::from_secs(5)))
        .await
        .unwrap_err();
    match &err {
        Error::ResourceErrored {
            what,
            status,
            expected,
        } => {
            assert_eq!(what, &format!("load balancer {LB}"));
            assert_eq!(status, "errored");
            assert_eq!(expected, "active");
        }
        other => panic!("expected ResourceErrored, got {other}"),
    }
}

#[tokio::test]
async fn wait_active_times_out_with_the_last_status() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path(LB_PATH))
        .and(auth())
        .respond_with(json_fixture(
            200,
            "official/loadBalancers_get/200-load-balancer-basic-response.json",
        ))
        .mount(&server)
        .await;
    let err = client(&server)
        .load_balancers()
        .wait_active(&lb_id(), &fast_wait(Duration::from_millis(150)))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("load balancer {LB} did not finish")),
        "{text}"
    );
    assert!(text.contains("last seen: status new"), "{text}");
    assert!(requests(&server).await.len() >= 2);
}

#[tokio::test]
async fn find_by_name_finds_one_none_or_refuses_duplicates() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/load_balancers"))
        .and(query_param("page", "1"))
        .and(auth())
        .respond_with(json_fixture(
            200,
            "official/loadBalancers_list/200-all-load-balancers.json",
        ))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/load_balancers"))
        .and(query_param("page", "1"))
        .and(auth())
        .respond_with(json_fixture(200, "edge/lb_list_duplicate_names.json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let found = c
        .load_balancers()
        .find_by_name("prod-web-lb-01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found.id,
        LoadBalancerId::from("56775c3f-04ab-4fb3-a7ed-40ef9bc8eece")
    );
    assert!(
        c.load_balancers()
            .find_by_name("nope")
            .await
            .unwrap()
            .is_none()
    );
    let err = c
        .load_balancers()
        .find_by_name("example-lb-01")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::InvalidInput(_)), "{text}");
    assert!(
        text.contains("2 load balancers are named `example-lb-01`"),
        "{text}"
    );
    assert!(text.contains(LB) && text.contains("56775c3f-04ab-4fb3-a7ed-40ef9bc8eece"));
}

#[tokio::test]
async fn bad_input_sends_nothing() {
    let server = server().await;
    let c = client(&server);
    let lbs = c.load_balancers();
    let good = LoadBalancerRequest::new("web", "nyc3")
        .forwarding_rule(https_to_8080())
        .tag("web");
    let mut both = good.clone();
    both.droplet_ids = Some(vec![DropletId(1)]);
    let empty = LoadBalancerId::from("");
    let rule = [https_to_8080()];
    let cases: Vec<(&str, Error, &str)> = vec![
        (
            "no rules",
            lbs.create(&LoadBalancerRequest::new("web", "nyc3").tag("web"))
                .await
                .unwrap_err(),
            "no forwarding rules",
        ),
        (
            "tag and ids",
            lbs.create(&both).await.unwrap_err(),
            "both `tag` and `droplet_ids`",
        ),
        (
            "bad tag",
            lbs.create(&good.clone().tag("prod web")).await.unwrap_err(),
            "contains ` `",
        ),
        (
            "empty name",
            lbs.create(&LoadBalancerRequest::new(" ", "nyc3").forwarding_rule(https_to_8080()))
                .await
                .unwrap_err(),
            "name is empty",
        ),
        (
            "port 0",
            lbs.create(&good.clone().forwarding_rule(ForwardingRule::new(
                EntryProtocol::Http,
                0,
                TargetProtocol::Http,
                80,
            )))
            .await
            .unwrap_err(),
            "port 0",
        ),
        (
            "idle timeout",
            lbs.create(&good.clone().http_idle_timeout_seconds(10))
                .await
                .unwrap_err(),
            "30 to 600",
        ),
        (
            "update both",
            lbs.update(&lb_id(), &both).await.unwrap_err(),
            "both",
        ),
        (
            "get empty id",
            lbs.get(&empty).await.unwrap_err(),
            "id is empty",
        ),
        (
            "update empty id",
            lbs.update(&empty, &good).await.unwrap_err(),
            "id is empty",
        ),
        (
            "delete empty id",
            lbs.delete(&empty).await.unwrap_err(),
            "id is empty",
        ),
        (
            "wait empty id",
            lbs.wait_active(&empty, &fast_wait(Duration::from_secs(1)))
                .await
                .unwrap_err(),
            "id is empty",
        ),
        (
            "add no droplets",
            lbs.add_droplets(&lb_id(), &[]).await.unwrap_err(),
            "no droplets to add to",
        ),
        (
            "remove no droplets",
            lbs.remove_droplets(&lb_id(), &[]).await.unwrap_err(),
            "no droplets to remove from",
        ),
        (
            "add no rules",
            lbs.add_forwarding_rules(&lb_id(), &[]).await.unwrap_err(),
            "no forwarding rules to add",
        ),
        (
            "remove no rules",
            lbs.remove_forwarding_rules(&lb_id(), &[])
                .await
                .unwrap_err(),
            "no forwarding rules to remove",
        ),
        (
            "rules on empty id",
            lbs.add_forwarding_rules(&empty, &rule).await.unwrap_err(),
            "id is empty",
        ),
        (
            "find empty name",
            lbs.find_by_name("").await.unwrap_err(),
            "name is empty",
        ),
    ];
    for (what, e, text) in &cases {
        assert!(matches!(e, Error::InvalidInput(_)), "{what}: {e}");
        assert!(e.to_string().contains(text), "{what}: {e}");
    }
    assert_eq!(requests(&server).await, Vec::<String>::new());
    assert_eq!(c.requests_sent(), 0);
}
