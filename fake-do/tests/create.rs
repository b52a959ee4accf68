//! Droplets created through the fake's API take a spare address whose app answers like the
//! others, become active when their create action completes, and give the address back when
//! deleted. What `replace`'s scenario tests stand on.

use std::net::Ipv4Addr;

use do_api::droplets::CreateDroplet;
use do_api::{ActionStatus, DropletStatus, ImageId, WaitOptions};
use fake_do::FakeDo;

fn spare(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 200 + n)
}

#[tokio::test]
async fn created_droplets_serve_on_spare_addresses_and_delete_frees_them() {
    let fake = FakeDo::start_with_spare(
        &[(1, "web-1", Ipv4Addr::new(127, 0, 0, 181), &["web"])],
        &[],
        &[spare(1), spare(2)],
    )
    .await;
    fake.add_image(170_000_001, "app-v2");
    let c = fake.client();

    let created = c
        .droplets()
        .create(
            &CreateDroplet::many(["new-1", "new-2"], "s-1vcpu-1gb", ImageId(170_000_001))
                .tag("zdd-run:abc"),
        )
        .await
        .unwrap();
    assert_eq!(created.droplets.len(), 2);
    assert_eq!(created.droplets[0].status, DropletStatus::New);
    assert_eq!(created.droplets[0].public_ipv4(), Some(spare(1)));
    let runs = c.droplets().list_by_tag("zdd-run:abc").await.unwrap();
    assert_eq!(runs.len(), 2);

    // Active once the create action completes.
    let wait = WaitOptions::with_timeout(std::time::Duration::from_secs(5)).interval(
        std::time::Duration::from_millis(5),
        std::time::Duration::from_millis(5),
    );
    for a in created.action_ids() {
        let done = c.actions().wait(a, &wait).await.unwrap();
        assert_eq!(done.status, ActionStatus::Completed);
        assert_eq!(done.resource_type.as_deref(), Some("droplet"));
    }
    let d = c.droplets().get(created.droplets[1].id).await.unwrap();
    assert_eq!(d.status, DropletStatus::Active);

    // Its app answers on the spare address, with the image's name.
    let url = format!("http://{}:{}/", spare(2), fake.app_port);
    let body = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(body.contains("new-2") && body.contains("app-v2"), "{body}");

    // No spare address left: the fake says so loudly (a test setup mistake).
    let e = c
        .droplets()
        .create(&CreateDroplet::new(
            "one-too-many",
            "s-1vcpu-1gb",
            "ubuntu-22-04-x64",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(500), "{e:?}");
    assert_eq!(fake.state().unexpected.len(), 1);
    fake.state().unexpected.clear();

    // Deleting gives the address back; an unknown image is DigitalOcean's 422.
    c.droplets().delete(created.droplets[0].id).await.unwrap();
    assert_eq!(fake.state().spare, [spare(1)]);
    let e = c
        .droplets()
        .create(&CreateDroplet::new("x", "s-1vcpu-1gb", ImageId(1)))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(422));
    assert!(e.to_string().contains("invalid image"), "{e}");
    let again = c
        .droplets()
        .create(&CreateDroplet::new(
            "again",
            "s-1vcpu-1gb",
            "ubuntu-22-04-x64",
        ))
        .await
        .unwrap();
    assert_eq!(again.droplets[0].public_ipv4(), Some(spare(1)));
    let images = c.images().get("ubuntu-22-04-x64").await.unwrap();
    assert_eq!(images.id, ImageId(129_211_873));
    let sizes = c.sizes().list().await.unwrap();
    assert_eq!(sizes[0].slug, "s-1vcpu-1gb");
    assert!(fake.state().unexpected.is_empty());
}
