//! `zdd-do demo --output json`: every deploy succeeds but the canary of a release that fails 5%
//! of its requests, which is caught and rolled back; no request fails but those the canary
//! failed while it served. Timings are reported by the demo (its lower-bound ratios), not
//! asserted here.

use std::time::Duration;

#[tokio::test]
async fn demo_deploys_with_no_failed_request_outside_the_canarys_window() {
    let out = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_zdd-do"))
            .args([
                "demo", "--output", "json", "--events", "none", "--rate", "200",
            ])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the demo finished within 3 minutes")
    .expect("zdd-do ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    assert_eq!(doc["ok"], true, "{doc:#}");
    let outcomes: Vec<&str> = doc["deploys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "switched",
            "switched",
            "switched",
            "switched",
            "rolled",
            "replaced",
            "switched",
            "rolled_back"
        ],
        "{doc:#}"
    );
    assert_eq!(doc["pre_switch"], true);
    let entries: Vec<&str> = doc["traffic"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["entry"].as_str().unwrap())
        .collect();
    assert_eq!(
        entries,
        [
            "reserved IP",
            "load balancer (pair)",
            "load balancer (fleet)"
        ]
    );
    for t in doc["traffic"].as_array().unwrap() {
        let kinds: Vec<&str> = t["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["fresh", "keep_alive", "keep_alive_retry"], "{t:#}");
        for k in t["kinds"].as_array().unwrap() {
            assert!(k["sent"].as_u64().unwrap() > 300, "{k:#}");
            // Failures in the canary's window are its blast radius, apart; every other one
            // counts against the floor.
            let (inside, outside) = (
                k["failed_while_canary_served"].as_u64().unwrap(),
                k["failed_outside_canary"].as_u64().unwrap(),
            );
            assert_eq!(k["failed"].as_u64().unwrap(), inside + outside, "{k:#}");
            assert!(outside <= k["floor"].as_u64().unwrap(), "{k:#}");
            if t["canary_window_s"].is_null() {
                assert_eq!(inside, 0, "{k:#}");
            }
        }
        assert!(t["timeline"].as_str().unwrap().contains('1'), "{t:#}");
    }
    // The fleet: v4 from the replace's new droplets, then the kept v3 fleet again.
    let fleet = doc["traffic"][2]["timeline"].as_str().unwrap();
    let (four, last) = (fleet.find('4'), fleet.trim_end_matches('.').chars().last());
    assert!(four.is_some() && last == Some('3'), "{fleet}");
    // Through the reserved IP, two moves, each with a blackout: some requests are allowed to
    // fail, and the floor says why. Through the load balancers, none.
    let rip = &doc["traffic"][0];
    assert_eq!(rip["moves"], 2, "{rip:#}");
    for k in rip["kinds"].as_array().unwrap() {
        assert!(k["floor"].as_u64().unwrap() > 0, "{k:#}");
        assert!(
            k["floor_formula"]
                .as_str()
                .is_some_and(|f| f.starts_with("blackout 2 × ")),
            "{k:#}"
        );
    }
    // Through the pair's load balancer, none; through the fleet's, none outside the canary's
    // window.
    for k in doc["traffic"][1]["kinds"].as_array().unwrap() {
        assert_eq!(k["floor"], 0, "{k:#}");
        assert_eq!(k["failed"], 0, "{k:#}");
    }
    for k in doc["traffic"][2]["kinds"].as_array().unwrap() {
        assert_eq!(k["floor"], 0, "{k:#}");
        assert_eq!(k["failed_outside_canary"], 0, "{k:#}");
    }
    // Each deploy through a load balancer failed no request, but the canary's.
    let deploys = doc["deploys"].as_array().unwrap();
    for d in &deploys[..7] {
        if d["entry"] != "reserved IP" {
            assert_eq!(d["failed_requests"], 0, "{d:#}");
        }
        assert!(d["canary"].is_null(), "{d:#}");
    }

    // The canary: v5 passed its health check but failed 5% of its requests; the probes and
    // the load balancer's metrics caught it and it was rolled back.
    let row = &deploys[7];
    assert_eq!(row["entry"], "load balancer (fleet)", "{row:#}");
    let canary = &row["canary"];
    assert_eq!(canary["verdict"], "fail", "{row:#}");
    assert_eq!(canary["canaries"].as_array().unwrap().len(), 1, "{row:#}");
    let judges: Vec<&str> = canary["judges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["judge"].as_str().unwrap())
        .collect();
    assert_eq!(judges, ["probes", "lb-metrics"], "{row:#}");
    for j in canary["judges"].as_array().unwrap() {
        assert_eq!(j["verdict"], "fail", "{j:#}");
        // Each judge saw at least the 50 answers from the canary it needs.
        assert!(j["canary_requests"].as_u64().unwrap() >= 50, "{j:#}");
        let rate = j["canary_error_rate"].as_f64().unwrap();
        assert!(
            (0.02..0.10).contains(&rate),
            "about 5% at the canary: {j:#}"
        );
        assert_eq!(j["old_error_rate"].as_f64(), Some(0.0), "{j:#}");
    }
    // Its blast radius, as zdd-do reported it and as the demo's traffic saw it: requests
    // failed while the canary served, none outside that window, and none in the deploy's own
    // time but those.
    assert!(
        canary["failed_requests_reported"].as_u64().unwrap() > 0,
        "{row:#}"
    );
    assert_eq!(canary["counted_by"], "lb-metrics", "{row:#}");
    let seen = &canary["traffic"];
    let inside = seen["failed_while_serving"].as_u64().unwrap();
    assert!(inside > 0, "the traffic met the canary's failures: {row:#}");
    assert_eq!(seen["failed_outside"], 0, "{row:#}");
    assert_eq!(row["failed_requests"].as_u64(), Some(inside), "{row:#}");
    assert!(seen["answered"].as_u64().unwrap() > 0, "{row:#}");
    let fleet_inside: u64 = doc["traffic"][2]["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["failed_while_canary_served"].as_u64().unwrap())
        .sum();
    assert_eq!(fleet_inside, inside, "{doc:#}");
    // Afterwards the kept v3 fleet serves, and the three new droplets are gone.
    let serving: Vec<(&str, &str)> = canary["serving_after"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["version"].as_str().unwrap()))
        .collect();
    assert_eq!(
        serving,
        [("web-1", "v3"), ("web-2", "v3"), ("web-3", "v3")],
        "{row:#}"
    );
    let deleted = canary["deleted"].as_array().unwrap();
    assert_eq!(deleted.len(), 3, "{row:#}");
    assert!(
        deleted
            .iter()
            .all(|d| !d.as_str().unwrap().starts_with("web-")
                || d.as_str().unwrap().starts_with("web-lb-")),
        "{row:#}"
    );
    // Every promote stays within the API-call budget.
    assert!(
        doc["deploys"][0]["api_calls"].as_u64().unwrap() <= 15,
        "{doc:#}"
    );
}
