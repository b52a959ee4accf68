//! `zdd-do roll` against the stateful fake's load-balanced pool: exit codes, `--output json`,
//! JSON events on stderr, resume after a pause, rollback, lock.

use fake_do::{FakeDo, POOL_LB_ID as LB_ID, POOL_MARKER as MARKER, TOKEN};

async fn pool(n: u64, by_ids: bool) -> FakeDo {
    FakeDo::lb_pool(n, by_ids).await
}

fn tags(fake: &FakeDo, id: u64) -> Vec<String> {
    let mut t: Vec<String> = fake
        .state()
        .droplet_tags(id)
        .into_iter()
        .map(|t| if t == MARKER { "OUT".into() } else { t })
        .collect();
    t.sort();
    t
}

async fn cli(fake: &FakeDo, args: &[&str]) -> (i32, serde_json::Value, String) {
    let (code, stdout, stderr) = cli_as(fake, "json", args).await;
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout}\nstderr: {stderr}"));
    (code, json, stderr)
}

async fn cli_as(fake: &FakeDo, output: &str, args: &[&str]) -> (i32, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_zdd-do"))
        .args([
            "--output", output, "--events", "json", "roll", "--lb", LB_ID,
        ])
        .args([
            "--wait-scale",
            "0.01",
            "--drain-wait",
            "2s",
            "--lb-sync-wait",
            "1s",
            "--health-successes",
            "1",
            "--health-interval",
            "50ms",
            "--health-deadline",
            "600ms",
            "--health-timeout",
            "500ms",
        ])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DIGITALOCEAN_ACCESS_TOKEN", TOKEN)
        .env("ZDD_DO_API_URL", fake.uri())
        .env("ZDD_LOCK_SETTLE", "50ms")
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test]
async fn cli_exit_codes_and_json() {
    // 0: rolled; the JSON report carries the outcome, batches, waits and exit code.
    let fake = pool(2, false).await;
    let (code, v, err) = cli(&fake, &["--exec", "true"]).await;
    assert_eq!(code, 0, "{v:#}\n{err}");
    assert_eq!(v["outcome"], "rolled");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["batches"].as_array().unwrap().len(), 2);
    // Watched: leaving and coming back are observed, the in-flight allowance computed.
    assert_eq!(v["watch"]["how"], "observed", "{v:#}");
    assert_eq!(v["watch"]["identity"]["how"]["in"], "header");
    let waits: Vec<(&str, &str)> = v["batches"][0]["waits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["kind"].as_str().unwrap(), w["how"].as_str().unwrap()))
        .collect();
    assert_eq!(
        waits,
        [
            ("leave", "observed"),
            ("drain", "computed"),
            ("routing", "observed")
        ]
    );
    assert_eq!(v["batches"][0]["waits"][2]["computed"], 4.0);
    assert_eq!(v["droplets"][0]["state"], "updated");
    assert!(v["api_calls"].as_u64().unwrap() > 0);
    assert!(
        err.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{err}"
    );
    fake.assert_no_unexpected();

    // 0: dry run, nothing changed.
    let fake = pool(3, false).await;
    let (code, v, _) = cli(&fake, &["--dry-run"]).await;
    assert_eq!((code, v["outcome"].as_str()), (0, Some("dry_run")));
    assert!(v["plan"].as_array().unwrap().len() > 3);
    // The plan's steps are objects: how waits end, a batch names its droplets, a wait its kind
    // and length.
    assert_eq!(v["plan"][0]["step"], "watch", "{v:#}");
    assert_eq!(v["plan"][0]["how"], "observed", "{v:#}");
    assert_eq!(v["plan"][2]["step"], "api_budget", "{v:#}");
    assert_eq!(v["plan"][2]["calls"], 7 + 4 * 3);
    assert_eq!(v["plan"][3]["step"], "batch", "{v:#}");
    assert_eq!(v["plan"][3]["index"], 1);
    assert!(
        v["plan"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["step"] == "wait" && s["computed"].is_number()),
        "{v:#}"
    );
    assert!(fake.mutations().is_empty());
    let (code, text, _) = cli_as(&fake, "human", &["--dry-run", "--exec", "true"]).await;
    assert_eq!(code, 0);
    assert!(
        text.starts_with(
            "roll: dry_run (exit 0): dry run: 3 droplets in 3 batches, nothing changed\n"
        ),
        "{text}"
    );
    assert!(text.contains("  batch 2: 2 (web-2)\n"), "{text}");
    assert!(
        text.contains("    run the update command on each droplet of the batch, all at once\n"),
        "{text}"
    );
    assert!(
        text.contains("    wait unhealthy detection")
            || text.contains("    wait drain 2s (applied 0.02s)"),
        "{text}"
    );

    // 3: a batch that would empty the pool.
    let (code, v, _) = cli(&fake, &["--max-unavailable", "3"]).await;
    assert_eq!((code, v["outcome"].as_str()), (3, Some("refused")));

    // 9: the update command fails; the droplet is left out.
    let fake = pool(3, false).await;
    let (code, v, _) = cli(&fake, &["--exec", "exit 3"]).await;
    assert_eq!((code, v["outcome"].as_str()), (9, Some("paused")), "{v:#}");
    assert_eq!(tags(&fake, 1), vec!["OUT"]);
    assert_eq!(v["droplets"][0]["out_of_rotation"], true);

    // The re-run resumes it first.
    let (code, v, _) = cli(&fake, &["--exec", "true"]).await;
    assert_eq!((code, v["outcome"].as_str()), (0, Some("rolled")), "{v:#}");
    assert_eq!(v["droplets"][0]["resumed"], true);
    assert_eq!(tags(&fake, 1), vec!["web"]);

    // 5: fails and is rolled back. The command sees the droplet in its environment.
    let fake = pool(3, false).await;
    let (code, v, _) = cli(
        &fake,
        &[
            "--exec",
            r#"test "$ZDD_DROPLET_ID" != 2 && test "$ZDD_VERSION" = v9"#,
            "--version",
            "v9",
            "--on-failure",
            "rollback",
            "--rollback-exec",
            r#"test "$ZDD_HOOK" = rollback"#,
        ],
    )
    .await;
    assert_eq!(
        (code, v["outcome"].as_str()),
        (5, Some("rolled_back")),
        "{v:#}"
    );
    for i in 1..=3 {
        assert_eq!(tags(&fake, i), vec!["web"]);
    }

    // 2: rollback without a rollback command; nothing is sent.
    let fake = pool(3, false).await;
    let (code, v, _) = cli(&fake, &["--on-failure", "rollback"]).await;
    assert_eq!(
        (code, v["outcome"].as_str()),
        (2, Some("config_error")),
        "{v:#}"
    );
    // Core's check names the settings; the CLI names its flags.
    assert_eq!(
        v["message"],
        "--on-failure, --rollback-exec: rolling back on failure needs a rollback command",
        "{v:#}"
    );
    assert!(fake.calls().is_empty());
    // A batch of 0 is not a number of droplets: refused by the flag's type, nothing sent.
    let (code, v, _) = cli(&fake, &["--max-unavailable", "0"]).await;
    assert_eq!(code, 2, "{v:#}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("--max-unavailable")),
        "{v:#}"
    );
    assert!(fake.calls().is_empty());
    let (code, v, _) = cli(&fake, &["--drain", "shutdown-url", "--drain-path", "drain"]).await;
    assert_eq!(code, 2, "{v:#}");
    assert_eq!(
        v["message"], "--drain-path: drain path `drain` must start with `/`",
        "{v:#}"
    );
    assert!(fake.calls().is_empty());

    // 7: locked.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 1;
    fake.state()
        .tags
        .insert(format!("zdd-lock:lb-{LB_ID}:{now}:other"));
    let (code, v, _) = cli(&fake, &["--exec", "true"]).await;
    assert_eq!((code, v["outcome"].as_str()), (7, Some("locked")), "{v:#}");
    fake.assert_no_unexpected();
}

#[tokio::test]
async fn unlock_by_load_balancer_name() {
    let fake = pool(2, false).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let theirs = format!("zdd-lock:lb-{LB_ID}:{now}:other");
    fake.state().tags.insert(theirs.clone());
    let run = |args: &'static [&'static str]| {
        let uri = fake.uri();
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_zdd-do"))
                .args(args)
                .env_clear()
                .env("DIGITALOCEAN_ACCESS_TOKEN", TOKEN)
                .env("ZDD_DO_API_URL", uri)
                .output()
                .await
                .unwrap()
        }
    };
    let out = run(&["unlock", "--lb", "no-such-lb"]).await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no load balancer is named `no-such-lb`")
    );
    assert_eq!(fake.lock_tags(), vec![theirs.clone()]);
    let out = run(&["unlock", "--lb", "web-lb"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("removed deploy lock {theirs}"))
    );
    assert!(fake.lock_tags().is_empty());
    fake.assert_no_unexpected();
}

#[tokio::test]
async fn roll_canary_judges_the_first_batch_and_rolls_it_back_when_it_fails() {
    // No way back: refused before anything is sent, naming the flags.
    let fake = pool(4, false).await;
    let (code, v, _) = cli(&fake, &["--exec", "true", "--canary", "1"]).await;
    assert_eq!(
        (code, v["outcome"].as_str()),
        (2, Some("config_error")),
        "{v:#}"
    );
    assert_eq!(
        v["message"],
        "--on-failure, --canary: a canary batch that fails its analysis is rolled back: roll back on failure, with a rollback command",
        "{v:#}"
    );
    assert!(fake.calls().is_empty());

    // The check fails the canary (droplet 1, judged against 2, 3 and 4): it leaves, is rolled
    // back, and no other droplet is touched.
    let (code, v, _) = cli(
        &fake,
        &[
            "--exec",
            "true",
            "--on-failure",
            "rollback",
            "--rollback-exec",
            r#"test "$ZDD_HOOK" = rollback"#,
            "--canary",
            "1",
            "--analysis-window",
            "2s",
            "--min-requests",
            "20",
            "--analysis-exec",
            r#"test "$ZDD_CANARY_IDS" = 1 && test "$ZDD_OLD_IDS" = 2,3,4 && exit 4"#,
        ],
    )
    .await;
    assert_eq!(
        (code, v["outcome"].as_str()),
        (5, Some("rolled_back")),
        "{v:#}"
    );
    assert_eq!(v["canary"]["verdict"], "fail", "{v:#}");
    let judges: Vec<(&str, &str)> = v["canary"]["judges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| (j["judge"].as_str().unwrap(), j["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(judges, [("probes", "pass"), ("check", "fail")], "{v:#}");
    let purposes: Vec<(&str, Vec<u64>)> = v["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["purpose"].as_str().unwrap(),
                b["droplets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_u64().unwrap())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        purposes,
        [("update", vec![1]), ("rollback", vec![1])],
        "{v:#}"
    );
    for i in 1..=4 {
        assert_eq!(tags(&fake, i), vec!["web"]);
    }
    fake.assert_no_unexpected();
}
