//! do-api's client against the simulator: every operation zdd-do uses decodes, with the
//! state changes DigitalOcean makes.

mod support;

use std::time::{Duration, Instant};

use do_api::droplets::{CreateDroplet, DropletAction, DropletFilter};
use do_api::load_balancers::{
    EntryProtocol, ForwardingRule, HealthCheck, LoadBalancerRequest, Selector, TargetProtocol,
};
use do_api::{ActionStatus, DropletId, Error};
use do_sim::{DropletSpec, ImageSpec, Sim, SimConfig};
use serde_json::Value;
use support::*;

fn api_status(e: &Error) -> Option<u16> {
    match e {
        Error::Api(a) => Some(a.status),
        _ => None,
    }
}

#[tokio::test]
async fn every_operation_zdd_uses_decodes() {
    let sim = Sim::start(SimConfig::blue_green_and_fleet().time_scale(0.01))
        .await
        .unwrap();
    let c = client(&sim);
    let prod = sim.droplet("prod").unwrap();
    let fallback = sim.droplet("fallback").unwrap();

    // Droplets: list, filters, get.
    let all = c.droplets().list(&DropletFilter::all()).await.unwrap();
    assert_eq!(all.len(), 5);
    let tagged = c.droplets().list_by_tag("PROD").await.unwrap();
    assert_eq!(tagged.len(), 1);
    assert_eq!(tagged[0].name, "prod");
    assert_eq!(tagged[0].id, prod.id);
    assert!(tagged[0].is_active());
    assert_eq!(tagged[0].public_ipv4(), Some(prod.addr));
    assert_eq!(tagged[0].region_slug(), Some("nyc3"));
    let named = c.droplets().list_by_name("WEB-2").await.unwrap();
    assert_eq!(named.len(), 1, "name filter is case-insensitive");
    assert_eq!(named[0].name, "web-2");
    let got = c.droplets().get(fallback.id).await.unwrap();
    assert!(got.has_tag("FALLBACK"));
    let e = c.droplets().get(DropletId(1)).await.unwrap_err();
    assert_eq!(api_status(&e), Some(404), "{e}");

    // Reserved IPs, and floating IPs as their alias.
    let ips = c.reserved_ips().list().await.unwrap();
    assert_eq!(ips.len(), 1);
    assert_eq!(ips[0].droplet_id(), Some(prod.id));
    let ip = ips[0].ip;
    let one = c.reserved_ips().get(ip).await.unwrap();
    assert_eq!(one.droplet_id(), Some(prod.id));
    assert_eq!(one.region_slug(), Some("nyc3"));
    assert!(!one.locked);
    let floating = c.floating_ips().get(ip).await.unwrap();
    assert_eq!(floating.droplet_id(), Some(prod.id));
    assert_eq!(c.floating_ips().list().await.unwrap().len(), 1);

    // Tags: create (twice: the second returns the existing tag), list, get, tag, untag,
    // delete, 404 for unknown tags.
    let t = c.tags().create("zdd-lock:run-1").await.unwrap();
    assert_eq!(t.name, "zdd-lock:run-1");
    assert_eq!(t.droplet_count(), 0);
    let again = c.tags().create("zdd-lock:run-1").await.unwrap();
    assert_eq!(again.name, t.name);
    let web = c.tags().get("web").await.unwrap();
    assert_eq!(web.droplet_count(), 3);
    let names: Vec<String> = c
        .tags()
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    for want in ["FALLBACK", "PROD", "web", "zdd-lock:run-1"] {
        assert!(names.contains(&want.to_owned()), "{names:?}");
    }
    c.tags().tag_droplets("FALLBACK", &[prod.id]).await.unwrap();
    let p = c.droplets().get(prod.id).await.unwrap();
    assert_eq!(p.tags, vec!["PROD", "FALLBACK"]);
    c.tags()
        .untag_droplets("FALLBACK", &[prod.id])
        .await
        .unwrap();
    assert_eq!(c.droplets().get(prod.id).await.unwrap().tags, vec!["PROD"]);
    let e = c
        .tags()
        .tag_droplets("no-such-tag", &[prod.id])
        .await
        .unwrap_err();
    assert_eq!(api_status(&e), Some(404), "{e}");
    let e = c
        .tags()
        .tag_droplets("PROD", &[DropletId(7)])
        .await
        .unwrap_err();
    assert_eq!(api_status(&e), Some(404), "unknown droplet: {e}");
    c.tags().delete("zdd-lock:run-1").await.unwrap();
    let e = c.tags().get("zdd-lock:run-1").await.unwrap_err();
    assert_eq!(api_status(&e), Some(404), "{e}");
    let e = c.tags().delete("zdd-lock:run-1").await.unwrap_err();
    assert_eq!(api_status(&e), Some(404), "{e}");

    // Load balancers: list, get, selector, update (PUT), create, add/remove droplets, delete.
    let lbs = c.load_balancers().list().await.unwrap();
    assert_eq!(lbs.len(), 1);
    let lb = &lbs[0];
    let info = sim.load_balancer("web-lb").unwrap();
    assert_eq!(lb.id, info.id);
    assert_eq!(lb.ip.as_deref(), Some(info.addr.to_string().as_str()));
    assert!(lb.is_active());
    assert_eq!(lb.selector(), Selector::Tag("web".into()));
    assert_eq!(lb.droplet_ids.len(), 3);
    let hc = lb.health_check.clone().unwrap();
    assert_eq!(hc.port, sim.app_port());
    assert_eq!(hc.check_interval_seconds, 3);
    assert_eq!(hc.healthy_threshold, 3);
    assert_eq!(lb.forwarding_rules[0].target_port, sim.app_port());
    let mut req = lb.to_request();
    req.health_check = Some(hc.clone().check_interval_seconds(5));
    let updated = c.load_balancers().update(&lb.id, &req).await.unwrap();
    assert_eq!(
        updated
            .health_check
            .as_ref()
            .unwrap()
            .check_interval_seconds,
        5
    );
    assert_eq!(updated.selector(), Selector::Tag("web".into()));
    assert_eq!(c.load_balancers().get(&lb.id).await.unwrap().name, "web-lb");
    let e = c
        .load_balancers()
        .add_droplets(&lb.id, &[prod.id])
        .await
        .unwrap_err();
    assert_eq!(api_status(&e), Some(422), "tag-based: {e}");

    let new = c
        .load_balancers()
        .create(
            &LoadBalancerRequest::new("api-lb", "nyc3")
                .forwarding_rule(ForwardingRule::new(
                    EntryProtocol::Http,
                    80,
                    TargetProtocol::Http,
                    8080,
                ))
                .droplet_ids([fallback.id]),
        )
        .await
        .unwrap();
    assert_eq!(new.status.as_str(), "new");
    // The proxy listens on the app port: the rule says so, whatever was asked for.
    let rule = &new.forwarding_rules[0];
    assert_eq!(
        (rule.entry_port, rule.target_port),
        (sim.app_port(), sim.app_port())
    );
    assert_eq!(new.droplet_ids, vec![fallback.id]);
    assert_eq!(new.health_check.clone().unwrap(), HealthCheck::default());
    let active = c
        .load_balancers()
        .wait_active(&new.id, &fast_wait())
        .await
        .unwrap();
    assert!(active.ip.is_some());
    c.load_balancers()
        .add_droplets(&new.id, &[prod.id])
        .await
        .unwrap();
    let mut ids = c.load_balancers().get(&new.id).await.unwrap().droplet_ids;
    ids.sort();
    let mut want = vec![prod.id, fallback.id];
    want.sort();
    assert_eq!(ids, want);
    c.load_balancers()
        .remove_droplets(&new.id, &[fallback.id])
        .await
        .unwrap();
    assert_eq!(
        c.load_balancers().get(&new.id).await.unwrap().droplet_ids,
        vec![prod.id]
    );
    assert!(
        c.load_balancers()
            .find_by_name("api-lb")
            .await
            .unwrap()
            .is_some()
    );
    c.load_balancers().delete(&new.id).await.unwrap();
    let e = c.load_balancers().get(&new.id).await.unwrap_err();
    assert_eq!(api_status(&e), Some(404), "{e}");

    // Droplets: create, wait for the create action, droplet actions, delete by id and by tag.
    let created = c
        .droplets()
        .create(
            &CreateDroplet::new("web-4", "s-1vcpu-1gb", "ubuntu-22-04-x64")
                .tag("web")
                .tag("canary"),
        )
        .await
        .unwrap();
    let d4 = &created.droplets[0];
    assert_eq!(d4.status.as_str(), "new");
    assert!(d4.public_ipv4().is_some());
    let done = c
        .actions()
        .wait(created.action_ids()[0], &fast_wait())
        .await
        .unwrap();
    assert!(done.is_completed());
    assert!(done.completed_at.is_some());
    let d4 = c.droplets().wait_active(d4.id, &fast_wait()).await.unwrap();
    assert!(d4.has_tag("canary"));
    assert_eq!(c.tags().get("canary").await.unwrap().droplet_count(), 1);
    let reboot = c
        .droplet_actions()
        .post(d4.id, &DropletAction::Reboot)
        .await
        .unwrap();
    assert_eq!(reboot.status, ActionStatus::InProgress);
    assert_eq!(reboot.resource_id, Some(d4.id.0));
    let got = c.droplet_actions().get(d4.id, reboot.id).await.unwrap();
    assert_eq!(got.id, reboot.id);
    assert!(c.droplet_actions().list(d4.id).await.unwrap().len() >= 2);
    let many = c
        .droplets()
        .create(
            &CreateDroplet::many(["tmp-1", "tmp-2"], "s-1vcpu-1gb", "ubuntu-22-04-x64").tag("tmp"),
        )
        .await
        .unwrap();
    assert_eq!(many.droplets.len(), 2);
    assert_eq!(many.actions.len(), 2);
    let by_tag = c
        .droplet_actions()
        .post_by_tag("tmp", &DropletAction::PowerOff)
        .await
        .unwrap();
    assert_eq!(by_tag.len(), 2);
    c.droplets().delete_by_tag("tmp").await.unwrap();
    assert!(c.droplets().list_by_tag("tmp").await.unwrap().is_empty());
    c.droplets().delete(d4.id).await.unwrap();
    let e = c.droplets().get(d4.id).await.unwrap_err();
    assert_eq!(api_status(&e), Some(404), "{e}");

    // Actions: list (newest first) and get.
    let actions = c.actions().list_page(1).await.unwrap();
    assert!(actions.items.len() >= 5);
    assert!(actions.items[0].id > actions.items[1].id, "newest first");
    let a = c.actions().get(actions.items[0].id).await.unwrap();
    assert_eq!(a.id, actions.items[0].id);

    // Every answer carried the rate-limit headers.
    let rl = c.rate_limit().unwrap();
    assert_eq!(rl.limit, 5000);
    assert!(rl.remaining < 5000);
    assert!(rl.reset > 0);
    let stats = sim.stats();
    assert_eq!(stats.api_total, c.requests_sent());
    assert!(stats.calls("GET /v2/droplets/{id}") >= 5, "{stats:?}");
    assert_eq!(stats.calls("POST /v2/tags/{id}/resources"), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn paging_over_more_than_200_droplets_follows_links() {
    let mut cfg = SimConfig::new().time_scale(0.01);
    for i in 0..205 {
        cfg = cfg.droplet(DropletSpec::new(format!("fleet-{i:03}")).tag("fleet"));
    }
    cfg = cfg.droplet(DropletSpec::new("loner"));
    let sim = Sim::start(cfg).await.unwrap();
    let c = client(&sim);
    let fleet = c.droplets().list_by_tag("fleet").await.unwrap();
    assert_eq!(fleet.len(), 205);
    let mut names: Vec<&str> = fleet.iter().map(|d| d.name.as_str()).collect();
    names.dedup();
    assert_eq!(names.len(), 205, "no droplet twice");
    assert_eq!(sim.stats().calls("GET /v2/droplets"), 2, "two pages of 200");
    assert_eq!(
        c.droplets()
            .list(&DropletFilter::all())
            .await
            .unwrap()
            .len(),
        206
    );

    // The links themselves: absolute, on the simulator, keeping the filter.
    let body: Value = http()
        .get(format!(
            "{}v2/droplets?tag_name=fleet&per_page=100&page=2",
            sim.api_url()
        ))
        .bearer_auth(sim.token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["droplets"].as_array().unwrap().len(), 100);
    assert_eq!(body["meta"]["total"], 205);
    let pages = &body["links"]["pages"];
    let base = sim.api_url();
    assert_eq!(
        pages["next"],
        format!("{base}v2/droplets?tag_name=fleet&page=3&per_page=100")
    );
    assert_eq!(
        pages["prev"],
        format!("{base}v2/droplets?tag_name=fleet&page=1&per_page=100")
    );
    assert_eq!(
        pages["last"],
        format!("{base}v2/droplets?tag_name=fleet&page=3&per_page=100")
    );
    // Default page size is 20, and the last page has no `next`.
    let body: Value = http()
        .get(format!("{}v2/droplets?page=11", sim.api_url()))
        .bearer_auth(sim.token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["droplets"].as_array().unwrap().len(), 6);
    assert!(body["links"]["pages"].get("next").is_none());
    sim.shutdown().await;
}

/// `SimConfig::tls`: the API answers over HTTPS; a client that trusts the simulator's CA reads
/// the account, one that does not fails at once with a TLS error (not retried, nothing sent).
#[tokio::test]
async fn over_https_only_a_client_trusting_the_ca_gets_through() {
    let sim = Sim::start(SimConfig::blue_green_and_fleet().tls(true).droplet_limit(7))
        .await
        .unwrap();
    assert!(
        sim.api_url().starts_with("https://127.0.0.1:"),
        "{}",
        sim.api_url()
    );
    let pem = sim.ca_pem().expect("a CA with tls");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");

    let account = client(&sim).account().get().await.unwrap();
    assert_eq!(account.droplet_limit, 7);
    assert_eq!(account.status, do_api::AccountStatus::Active);

    let untrusting = do_api::Client::builder()
        .base_url(sim.api_url())
        .token(do_api::Token::new(sim.token()).unwrap())
        .build()
        .unwrap();
    let started = Instant::now();
    let e = untrusting.account().get().await.unwrap_err();
    assert!(e.is_tls(), "{e:?}");
    assert!(e.is_transport() && !e.is_connect(), "{e:?}");
    assert!(e.to_string().contains("TLS handshake failed"), "{e}");
    assert!(e.to_string().contains("UnknownIssuer"), "{e}");
    assert_eq!(
        untrusting.requests_sent(),
        1,
        "a refused certificate is not retried"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        sim.stats().api_total,
        1,
        "only the trusting client's request arrived"
    );

    // Garbage instead of a CA: one clear error when the client is built.
    let e = do_api::Client::builder()
        .token(do_api::Token::new(sim.token()).unwrap())
        .root_certificates_pem("not a certificate")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("not PEM certificates"), "{e}");
    sim.shutdown().await;
}

/// A create beyond the account's droplet limit is refused as DigitalOcean refuses it, and
/// nothing is created.
#[tokio::test]
async fn creates_beyond_the_droplet_limit_are_refused() {
    let sim = Sim::start(SimConfig::blue_green_and_fleet().droplet_limit(6))
        .await
        .unwrap();
    let c = strict_client(&sim);
    let req = CreateDroplet::many(["new-1", "new-2"], "s-1vcpu-1gb", "ubuntu-22-04-x64");
    let e = c.droplets().create(&req).await.unwrap_err();
    assert_eq!(api_status(&e), Some(422), "{e:?}");
    assert!(
        e.to_string()
            .contains("creating this/these droplet(s) will exceed your droplet limit"),
        "{e}"
    );
    assert_eq!(sim.droplets().len(), 5);
    let one = CreateDroplet::many(["new-1"], "s-1vcpu-1gb", "ubuntu-22-04-x64");
    c.droplets().create(&one).await.unwrap();
    assert_eq!(sim.droplets().len(), 6);
    sim.shutdown().await;
}

#[tokio::test]
async fn requests_without_a_token_get_401() {
    let sim = Sim::start(SimConfig::blue_green_and_fleet()).await.unwrap();
    let r = http()
        .get(format!("{}v2/droplets", sim.api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    for h in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
        assert!(r.headers().contains_key(h), "{h}");
    }
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["id"], "unauthorized");
    let r = http()
        .get(format!("{}v2/droplets", sim.api_url()))
        .header("authorization", "Bearer ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "an empty token is no token");
    // Any token is accepted.
    let r = http()
        .get(format!("{}v2/droplets", sim.api_url()))
        .bearer_auth("anything-at-all")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(sim.stats().unauthorized, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn assignment_completes_after_the_latency_and_the_forwarder_switches() {
    // 2 s × 0.5 = 1 s of action latency: long enough that the checks below run while the
    // action is still in progress even on a loaded machine.
    let sim = Sim::start(SimConfig::blue_green_and_fleet().time_scale(0.5))
        .await
        .unwrap();
    let c = client(&sim);
    let prod = sim.droplet("prod").unwrap();
    let fallback = sim.droplet("fallback").unwrap();
    let ip = sim.reserved_ips()[0].clone();
    assert_eq!(
        hit(&ip.url).await,
        (200, Some(prod.id.0), Some("v1".into()))
    );

    let t0 = Instant::now();
    let action = c.reserved_ips().assign(ip.ip, fallback.id).await.unwrap();
    assert_eq!(action.status, ActionStatus::InProgress);
    assert_eq!(action.kind.as_str(), "assign_ip");
    assert_eq!(action.resource_id, Some(u64::from(u32::from(ip.ip))));
    assert_eq!(action.resource_type.as_deref(), Some("reserved_ip"));
    // Still the old droplet, and locked: a second action is refused.
    assert_eq!(hit(&ip.url).await.1, Some(prod.id.0));
    let rip = c.reserved_ips().get(ip.ip).await.unwrap();
    assert!(rip.locked);
    assert_eq!(rip.droplet_id(), Some(prod.id));
    let e = c.reserved_ips().assign(ip.ip, prod.id).await.unwrap_err();
    assert_eq!(api_status(&e), Some(422), "{e}");

    // Nobody polls the action: the assignment happens in wall time.
    sim.wait_for("the reserved IP to move", DEADLINE, |s| {
        s.reserved_ips()[0].holder == Some(fallback.id)
    })
    .await
    .unwrap();
    let took = t0.elapsed();
    let latency = sim.scaled(sim.config().action_latency);
    assert_eq!(latency, Duration::from_secs(1));
    assert!(took >= latency, "moved after {took:?}");
    // New connections reach the new holder once the move's blackout is over.
    tokio::time::sleep(sim.config().ip_moves.blackout).await;
    assert_eq!(hit(&ip.url).await.1, Some(fallback.id.0));
    let done = c.actions().get(action.id).await.unwrap();
    assert!(done.is_completed());
    assert!(done.completed_at.is_some());
    let listed = c.reserved_ips().list_actions(ip.ip).await.unwrap();
    assert_eq!(listed[0].id, action.id);
    assert_eq!(
        c.reserved_ips()
            .get_action(ip.ip, action.id)
            .await
            .unwrap()
            .status,
        ActionStatus::Completed
    );

    // Unassign: the IP resets connections once the action completes.
    let un = c.reserved_ips().unassign(ip.ip).await.unwrap();
    c.actions().wait(un.id, &fast_wait()).await.unwrap();
    assert!(!c.reserved_ips().get(ip.ip).await.unwrap().is_assigned());
    assert!(http().get(&ip.url).send().await.is_err());
    sim.shutdown().await;
}

#[tokio::test]
async fn droplets_created_through_the_api_boot_after_their_action() {
    let sim = Sim::start(SimConfig::new().time_scale(0.05).new_droplet_version("v7"))
        .await
        .unwrap();
    let c = client(&sim);
    let created = c
        .droplets()
        .create(&CreateDroplet::new(
            "fresh",
            "s-1vcpu-1gb",
            "ubuntu-22-04-x64",
        ))
        .await
        .unwrap();
    let d = &created.droplets[0];
    let url = sim.url_of(d.public_ipv4().unwrap());
    // Not up before the create action completes: connections are reset.
    assert!(http().get(&url).send().await.is_err());
    c.actions()
        .wait(created.action_ids()[0], &fast_wait())
        .await
        .unwrap();
    sim.wait_for("the new droplet to boot", DEADLINE, |s| {
        s.droplet("fresh").is_some_and(|d| d.ready)
    })
    .await
    .unwrap();
    assert_eq!(hit(&url).await, (200, Some(d.id.0), Some("v7".into())));
    sim.shutdown().await;
}

/// A droplet created from a snapshot runs the release baked into it; one from a broken
/// release's snapshot boots but never passes a health check; an unknown image or size is
/// refused with DigitalOcean's 422 and nothing is created.
#[tokio::test]
async fn droplets_created_from_a_snapshot_run_its_release() {
    let sim = Sim::start(
        SimConfig::new()
            .time_scale(0.05)
            .image(ImageSpec::snapshot("app-v2", "v2"))
            .image(ImageSpec::snapshot("app-v3", "v3").never_healthy()),
    )
    .await
    .unwrap();
    let c = client(&sim);
    let v2 = sim.image_id("app-v2").unwrap();
    let v3 = sim.image_id("app-v3").unwrap();
    assert_eq!((v2.0, v3.0), (170_000_001, 170_000_002));
    let image = c.images().get(v2).await.unwrap();
    assert_eq!(image.name, "app-v2");
    assert_eq!(image.kind, Some(do_api::ImageType::Snapshot));
    assert!(image.slug.is_none() && image.is_available());
    // A private image is found by id, never by name.
    assert_eq!(c.images().get_opt("app-v2").await.unwrap(), None);
    let base = c.images().get("ubuntu-22-04-x64").await.unwrap();
    assert_eq!(base.kind, Some(do_api::ImageType::Base));

    let created = c
        .droplets()
        .create(&CreateDroplet::many(["new-1", "new-2"], "s-1vcpu-1gb", v2))
        .await
        .unwrap();
    let bad = c
        .droplets()
        .create(&CreateDroplet::new("broken", "s-1vcpu-1gb", v3))
        .await
        .unwrap();
    for a in created.action_ids().into_iter().chain(bad.action_ids()) {
        c.actions().wait(a, &fast_wait()).await.unwrap();
    }
    sim.wait_for("the new droplets to boot", DEADLINE, |s| {
        ["new-1", "new-2"]
            .iter()
            .all(|n| s.droplet(n).is_some_and(|d| d.ready))
    })
    .await
    .unwrap();
    let d = c.droplets().get(created.droplets[0].id).await.unwrap();
    assert_eq!(d.image.as_ref().and_then(|i| i.id), Some(v2), "{d:?}");
    let url = sim.url_of(d.public_ipv4().unwrap());
    assert_eq!(hit(&url).await, (200, Some(d.id.0), Some("v2".into())));
    // The broken release boots (it answers) but never passes.
    let broken = &bad.droplets[0];
    let url = sim.url_of(broken.public_ipv4().unwrap());
    let started = Instant::now();
    let status = loop {
        match http().get(&url).send().await {
            Ok(r) => break r.status().as_u16(),
            Err(_) if started.elapsed() < DEADLINE => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("the broken release never answered: {e}"),
        }
    };
    assert_eq!(status, 503, "a broken release never passes");
    assert!(!sim.droplet("broken").unwrap().ready);

    let before = sim.droplets().len();
    for (req, want) in [
        (
            CreateDroplet::new("x", "s-1vcpu-1gb", do_api::ImageId(1)),
            "You specified an invalid image for Droplet creation.",
        ),
        (
            CreateDroplet::new("x", "s-1vcpu-1gb", "app-v2"),
            "You specified an invalid image for Droplet creation.",
        ),
        (
            CreateDroplet::new("x", "m-64vcpu-512gb", v2),
            "You specified an invalid size for Droplet creation.",
        ),
    ] {
        let e = strict_client(&sim)
            .droplets()
            .create(&req)
            .await
            .unwrap_err();
        assert_eq!(api_status(&e), Some(422), "{e:?}");
        assert!(e.to_string().contains(want), "{e}");
    }
    assert_eq!(sim.droplets().len(), before);

    // Sizes, with prices, for a plan's cost estimate.
    let sizes = c.sizes().list().await.unwrap();
    let small = sizes.iter().find(|s| s.slug == "s-1vcpu-1gb").unwrap();
    assert_eq!((small.price_monthly, small.price_hourly), (6.0, 0.00893));
    assert!(small.offered_in("nyc3"));
    sim.shutdown().await;
}

/// `POST /_sim/images` bakes a snapshot at run time, as a build pipeline would.
#[tokio::test]
async fn a_snapshot_can_be_added_while_running() {
    let sim = Sim::start(SimConfig::new()).await.unwrap();
    let r = http()
        .post(format!("{}_sim/images", sim.api_url()))
        .json(&serde_json::json!({"name": "app-v9", "version": "v9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["id"], 170_000_001);
    assert_eq!(body["image"]["name"], "app-v9");
    assert_eq!(sim.image_id("app-v9"), Some(do_api::ImageId(170_000_001)));
    let r = http()
        .post(format!("{}_sim/images", sim.api_url()))
        .json(&serde_json::json!({"name": "no-version"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    sim.shutdown().await;
}
