//! `/v2/reserved_ips` and `/v2/reserved_ips/{ip}/actions` (`resources/reserved_ips/`).
//! The suite is shared with `floating_ips.rs`: see `ip_suite/mod.rs`.

mod support;
#[macro_use]
mod ip_suite;

ip_suite! {
    handler: reserved_ips,
    path: "reserved_ips",
    key: "reserved_ip",
    ops: "reservedIPs",
    action_ops: "reservedIPsActions",
    fixture: "reserved-ip",
    edge: "reserved_ip",
}
