//! `/v2/floating_ips` and `/v2/floating_ips/{ip}/actions` (`resources/floating_ips/`), the older
//! name of reserved IPs. The suite is shared with `reserved_ips.rs`: see `ip_suite/mod.rs`.

mod support;
#[macro_use]
mod ip_suite;

ip_suite! {
    handler: floating_ips,
    path: "floating_ips",
    key: "floating_ip",
    ops: "floatingIPs",
    action_ops: "floatingIPsAction",
    fixture: "floating-ip",
    edge: "floating_ip",
}

/// The floating names are aliases of the reserved ones: one model, one request body.
#[test]
fn floating_types_are_the_reserved_types() {
    use do_api::floating_ips::{CreateFloatingIp, FloatingIp};
    use do_api::reserved_ips::{CreateReservedIp, ReservedIp};
    let ip: FloatingIp = serde_json::from_value(
        support::fixture_json("official/floatingIPs_get/200-floating-ip-reserved.json")["floating_ip"]
            .clone(),
    )
    .unwrap();
    let same: &ReservedIp = &ip;
    assert_eq!(same.ip.to_string(), "45.55.96.47");
    let body: CreateFloatingIp = CreateReservedIp::in_region("nyc3");
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        serde_json::json!({"region": "nyc3"})
    );
}
