//! `zdd-do demo --output json`: every deploy succeeds and no request fails. Timings are reported
//! by the demo (its lower-bound ratios), not asserted here.

use std::time::Duration;

#[tokio::test]
async fn demo_deploys_with_no_failed_request() {
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
            "switched", "switched", "switched", "switched", "rolled", "replaced", "switched"
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
            assert!(
                k["failed"].as_u64().unwrap() <= k["floor"].as_u64().unwrap(),
                "{k:#}"
            );
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
    for t in &doc["traffic"].as_array().unwrap()[1..] {
        for k in t["kinds"].as_array().unwrap() {
            assert_eq!(k["floor"], 0, "{k:#}");
            assert_eq!(k["failed"], 0, "{k:#}");
        }
    }
    // Every promote stays within the API-call budget.
    assert!(
        doc["deploys"][0]["api_calls"].as_u64().unwrap() <= 15,
        "{doc:#}"
    );
}
