//! Input checked before sending: the catch-all would panic on any request.

use super::*;

// ---------------------------------------------------------------------------------------------
// Input checked before sending (the catch-all would panic on any request)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn eleven_names_are_refused() {
    let server = server().await;
    let names: Vec<String> = (1..=11).map(|i| format!("web-{i:02}")).collect();
    let err = client(&server)
        .droplets()
        .create(&CreateDroplet::many(
            names,
            "s-1vcpu-1gb",
            "ubuntu-22-04-x64",
        ))
        .await
        .unwrap_err();
    assert_invalid(
        err,
        "11 droplet names given; DigitalOcean creates at most 10",
    );
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn empty_names_are_refused() {
    let server = server().await;
    let c = client(&server);
    let err = c
        .droplets()
        .create(&CreateDroplet::new("", "s-1vcpu-1gb", "ubuntu-22-04-x64"))
        .await
        .unwrap_err();
    assert_invalid(err, "droplet name is empty");
    let err = c
        .droplets()
        .create(&CreateDroplet::many(
            Vec::<String>::new(),
            "s-1vcpu-1gb",
            "ubuntu-22-04-x64",
        ))
        .await
        .unwrap_err();
    assert_invalid(err, "no droplet name given");
    let err = c
        .droplets()
        .list(&DropletFilter::name(""))
        .await
        .unwrap_err();
    assert_invalid(err, "droplet name filter is empty");
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn tags_with_a_space_are_refused() {
    let server = server().await;
    let c = client(&server);
    let err = c
        .droplets()
        .create(&CreateDroplet::new("web-01", "s-1vcpu-1gb", "ubuntu-22-04-x64").tag("zdd web"))
        .await
        .unwrap_err();
    assert_invalid(err, "tag name `zdd web` contains ` `");
    let err = c.droplets().list_by_tag("zdd web").await.unwrap_err();
    assert_invalid(err, "contains ` `");
    let err = c.droplets().delete_by_tag("zdd web").await.unwrap_err();
    assert_invalid(err, "contains ` `");
    let err = c.droplets().delete_by_tag("").await.unwrap_err();
    assert_invalid(err, "tag name is empty");
    let err = c
        .droplet_actions()
        .post_by_tag("zdd web", &DropletAction::PowerOff)
        .await
        .unwrap_err();
    assert_invalid(err, "contains ` `");
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn post_by_tag_refuses_types_not_allowed_by_tag() {
    let server = server().await;
    let c = client(&server);
    for action in [
        DropletAction::Reboot,
        DropletAction::rename("x"),
        DropletAction::rebuild(42),
    ] {
        let kind = action.kind();
        let err = c
            .droplet_actions()
            .post_by_tag("zdd:web", &action)
            .await
            .unwrap_err();
        assert_invalid(
            err,
            &format!("droplet action `{kind}` cannot be sent by tag"),
        );
    }
    assert_nothing_sent(&server).await;
}

#[tokio::test]
async fn other_bad_input_is_refused() {
    let server = server().await;
    let c = client(&server);
    let err = c
        .droplets()
        .create(&CreateDroplet::new(
            "web_01",
            "s-1vcpu-1gb",
            "ubuntu-22-04-x64",
        ))
        .await
        .unwrap_err();
    assert_invalid(err, "droplet name `web_01` contains `_`");
    let err = c
        .droplets()
        .create(
            &CreateDroplet::new("web-01", "s-1vcpu-1gb", "ubuntu-22-04-x64")
                .backup_policy(BackupPolicy::daily().hour(3)),
        )
        .await
        .unwrap_err();
    assert_invalid(err, "backup hour 3 is not allowed");
    let err = c
        .droplets()
        .create(
            &CreateDroplet::new("web-01", "s-1vcpu-1gb", "ubuntu-22-04-x64")
                .user_data("x".repeat(64 * 1024 + 1)),
        )
        .await
        .unwrap_err();
    assert_invalid(err, "user_data is 65537 bytes");
    let err = c
        .droplet_actions()
        .post(DropletId(1), &DropletAction::resize(""))
        .await
        .unwrap_err();
    assert_invalid(err, "resize size slug is empty");
    let err = c
        .droplets()
        .list_page(&DropletFilter::all(), 0)
        .await
        .unwrap_err();
    assert_invalid(err, "page numbers start at 1");
    assert_nothing_sent(&server).await;
}
