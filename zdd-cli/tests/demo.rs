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
    assert_eq!(outcomes, ["switched", "switched", "rolled"], "{doc:#}");
    for t in doc["traffic"].as_array().unwrap() {
        assert_eq!(t["report"]["failed"], 0, "{t:#}");
        assert!(t["report"]["sent"].as_u64().unwrap() > 1000, "{t:#}");
        assert!(t["timeline"].as_str().unwrap().contains('1'), "{t:#}");
    }
    // The load balancer saw the fleet move from v1 to v2.
    let lb = &doc["traffic"][1]["report"]["by_version"];
    assert!(
        lb["v1"].as_u64().unwrap() > 0 && lb["v2"].as_u64().unwrap() > 0,
        "{lb}"
    );
    // Every promote stays within the API-call budget.
    assert!(
        doc["deploys"][0]["api_calls"].as_u64().unwrap() <= 15,
        "{doc:#}"
    );
}
