//! The real `zdd-do` binary against the stateful fake: exit codes, stdout JSON, stderr progress,
//! the dotenv file, environment fallbacks, the update command's environment, interruption.

use std::net::Ipv4Addr;
use std::process::Stdio;
use std::time::Duration;

use fake_do::{App, FakeDo, TOKEN};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const BLUE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);
const GREEN: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 12);
const RIP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 20);
const RIP_S: &str = "127.0.0.20";

async fn pair() -> FakeDo {
    let fake = FakeDo::start(
        &[
            (1, "blue", BLUE, &["PROD"]),
            (2, "green", GREEN, &["FALLBACK"]),
        ],
        &[(RIP, Some(1))],
    )
    .await;
    fake.set_app(1, 200, "blue v1");
    fake.set_app(2, 200, "green v2");
    fake
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }
}

fn command(fake: &FakeDo, args: &[&str], env: &[(&str, &str)]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_zdd-do"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ZDD_DO_API_URL", fake.uri())
        .env("ZDD_HEALTH_PORT", fake.app_port.to_string())
        .env("ZDD_HEALTH_SUCCESSES", "2")
        .env("ZDD_HEALTH_INTERVAL", "50ms")
        .env("ZDD_HEALTH_DEADLINE", "1s")
        .env("ZDD_HEALTH_TIMEOUT", "500ms")
        .env("ZDD_LOCK_SETTLE", "50ms")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

async fn zdd(fake: &FakeDo, args: &[&str], env: &[(&str, &str)]) -> Out {
    let out = tokio::time::timeout(Duration::from_secs(60), command(fake, args, env).output())
        .await
        .expect("zdd-do finished within 60 s")
        .expect("zdd-do ran");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const TOKEN_ENV: (&str, &str) = ("DIGITALOCEAN_ACCESS_TOKEN", TOKEN);

fn promote_args() -> Vec<&'static str> {
    vec!["promote", "--reserved-ip", RIP_S, "--expect-body", "v2"]
}

#[tokio::test]
async fn promote_succeeds_with_json_and_dotenv() {
    let fake = pair().await;
    let dir = std::env::temp_dir().join(format!("zdd-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dotenv = dir.join("deploy.env");
    let mut args = promote_args();
    args.extend(["--output", "json", "--dotenv", dotenv.to_str().unwrap()]);
    let out = zdd(&fake, &args, &[TOKEN_ENV]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["outcome"], "switched");
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["mode"], "promote");
    assert_eq!(doc["reserved_ip"], RIP_S);
    assert_eq!(doc["live"]["id"], 2);
    assert_eq!(doc["live"]["name"], "green");
    assert_eq!(doc["standby"]["id"], 1);
    assert!(doc["api_calls"].as_u64().unwrap() <= 15, "{doc}");
    assert!(
        doc["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["step"] == "health_gate")
    );
    assert!(doc["assign"]["observed"].as_f64().is_some());
    // Progress goes to stderr, with timestamps and durations.
    assert!(
        out.stderr.contains("==> health gate: 2 (green)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("ok assign reserved IP ("),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&dotenv).unwrap(),
        "ZDD_OUTCOME=switched\nZDD_EXIT_CODE=0\nZDD_RESERVED_IP=127.0.0.20\nZDD_LIVE_DROPLET_ID=2\nZDD_LIVE_DROPLET_NAME=green\nZDD_STANDBY_DROPLET_ID=1\nZDD_STANDBY_DROPLET_NAME=blue\n"
    );
    assert_eq!(fake.state().ip_holder(RIP_S), Some(2));
    fake.assert_no_unexpected();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn human_output_and_flags_from_the_environment() {
    let fake = pair().await;
    let out = zdd(
        &fake,
        &["promote"],
        &[
            TOKEN_ENV,
            ("ZDD_RESERVED_IP", RIP_S),
            ("ZDD_EXPECT_BODY", "v2"),
            ("ZDD_LIVE_TAG", "PROD"),
            ("GITLAB_CI", "true"),
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("promote: switched (exit 0): promoted droplet 2 (green)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("reserved IP 127.0.0.20: live 2 (green), standby 1 (blue)"),
        "{}",
        out.stdout
    );
    // Under GitLab CI, each step is a collapsible section.
    assert!(
        out.stderr.contains("\u{1b}[0Ksection_start:"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("[collapsed=true]"), "{}", out.stderr);
    assert!(
        out.stderr.contains("\u{1b}[0Ksection_end:"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn update_command_gets_the_droplet_in_its_environment() {
    let fake = pair().await;
    let file = std::env::temp_dir().join(format!("zdd-exec-{}", std::process::id()));
    // The command also prints to stdout: it must not spoil the JSON document.
    let cmd = format!(
        "echo noise; printf '%s|%s|%s|%s|%s|%s' \"$ZDD_DROPLET_ID\" \"$ZDD_DROPLET_NAME\" \"$ZDD_DROPLET_PUBLIC_IPV4\" \"$ZDD_DROPLET_PRIVATE_IPV4\" \"$ZDD_VERSION\" \"$ZDD_HOOK\" > {}",
        file.display()
    );
    let mut args = promote_args();
    args.extend(["--exec", &cmd, "--version", "v2", "--output", "json"]);
    let out = zdd(&fake, &args, &[TOKEN_ENV]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["outcome"], "switched");
    assert!(out.stderr.contains("noise"));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "2|green|127.0.0.12|10.10.0.2|v2|update"
    );
    std::fs::remove_file(file).unwrap();
}

#[tokio::test]
async fn failing_update_command_is_exit_4_and_changes_nothing() {
    let fake = pair().await;
    let mut args = promote_args();
    args.extend(["--exec", "exit 3"]);
    let out = zdd(&fake, &args, &[TOKEN_ENV]).await;
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stdout.contains(
            "the update command failed for droplet 2 (green): the command exited with status 3"
        ),
        "{}",
        out.stdout
    );
    assert_eq!(fake.state().ip_holder(RIP_S), Some(1));
}

#[tokio::test]
async fn usage_errors_are_exit_2_and_send_nothing() {
    let fake = pair().await;
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            promote_args(),
            vec![],
            "no API token: set DIGITALOCEAN_ACCESS_TOKEN (or DIGITALOCEAN_TOKEN) or pass --token-file",
        ),
        (
            vec!["promote", "--health-status", "399-200"],
            vec![TOKEN_ENV],
            "is not a status range",
        ),
        (
            vec!["promote", "--live-tag", "bad tag"],
            vec![TOKEN_ENV],
            "--live-tag: invalid input: tag name `bad tag` contains ` `",
        ),
        (
            vec!["promote", "--live-tag", "X", "--standby-tag", "X"],
            vec![TOKEN_ENV],
            "must differ",
        ),
        (
            vec!["promote", "--reserved-ip", "2604:a880::1"],
            vec![TOKEN_ENV],
            "invalid value '2604:a880::1'",
        ),
        (
            vec!["promote", "--health-timeout", "soon"],
            vec![TOKEN_ENV],
            "is not a duration",
        ),
        (
            vec!["promote", "--token-file", "/nonexistent/token"],
            vec![],
            "cannot read the token file /nonexistent/token",
        ),
        (
            vec!["promote", "--exec", " "],
            vec![TOKEN_ENV],
            "--exec is empty",
        ),
        (
            vec!["deploy-everything"],
            vec![TOKEN_ENV],
            "unrecognized subcommand",
        ),
    ];
    for (args, env, expected) in cases {
        let out = zdd(&fake, &args, &env).await;
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
    }
    assert!(
        fake.calls().is_empty(),
        "a usage error sent requests: {:#?}",
        fake.calls()
    );
}

/// Every duration has a stated range, checked before anything is sent: exit 2, one line that
/// names the flag, the value and the range, and not one request.
#[tokio::test]
async fn durations_out_of_range_are_exit_2_and_send_nothing() {
    let fake = pair().await;
    let roll = |extra: &[&'static str]| {
        let mut a = vec!["roll", "--lb", "web-lb"];
        a.extend_from_slice(extra);
        a
    };
    let flag = |f: &str, v: &str, range: &str| {
        format!("error: invalid value '{v}' for '--{f} <DURATION>': must be {range}")
    };
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, String);
    let cases: Vec<Case> = vec![
        (
            vec!["promote", "--assign-timeout", "0s"],
            vec![],
            flag("assign-timeout", "0s", "between 10s and 1h"),
        ),
        (
            vec!["promote", "--api-timeout", "0s"],
            vec![],
            flag("api-timeout", "0s", "between 1s and 10m"),
        ),
        (
            vec!["promote", "--health-deadline", "0s"],
            vec![],
            flag("health-deadline", "0s", "between 100ms and 1h"),
        ),
        (
            vec!["promote", "--health-interval", "0s"],
            vec![],
            flag("health-interval", "0s", "between 50ms and 10m"),
        ),
        (
            vec!["rollback", "--lock-ttl", "10s"],
            vec![],
            flag("lock-ttl", "10s", "between 1m and 24h"),
        ),
        (
            vec!["promote", "--exec", "true", "--exec-timeout", "0s"],
            vec![],
            flag("exec-timeout", "0s", "between 1s and 24h"),
        ),
        // From the environment, the message names the flag all the same.
        (
            vec!["status"],
            vec![("ZDD_HEALTH_TIMEOUT", "0s")],
            flag("health-timeout", "0s", "between 100ms and 5m"),
        ),
        (
            vec!["promote"],
            vec![("ZDD_LOCK_SETTLE", "0s")],
            flag("lock-settle", "0s", "between 10ms and 1m"),
        ),
        (
            roll(&["--lb-probe-timeout", "0s"]),
            vec![],
            flag("lb-probe-timeout", "0s", "between 1s and 1h"),
        ),
        (
            roll(&["--drain-wait", "2h"]),
            vec![],
            flag("drain-wait", "2h", "at most 1h"),
        ),
        (
            roll(&["--batch-delay", "90m"]),
            vec![],
            flag("batch-delay", "90m", "at most 1h"),
        ),
        (
            roll(&["--lb-sync-wait", "1h"]),
            vec![],
            flag("lb-sync-wait", "1h", "at most 10m"),
        ),
        (
            roll(&["--lock-wait", "2d"]),
            vec![],
            "error: invalid value '2d' for '--lock-wait <DURATION>': `2d` has unknown unit `d`; use ms, s, m or h".into(),
        ),
        // Relations between flags that cannot both hold.
        (
            vec!["promote", "--health-timeout", "2s", "--health-deadline", "1s"],
            vec![],
            "error: --health-deadline, --health-timeout: health deadline 1s is shorter than the health request timeout 2s: not even one probe fits".into(),
        ),
        (
            vec!["status", "--health-successes", "5", "--health-interval", "1s", "--health-deadline", "3s"],
            vec![],
            "error: --health-deadline, --health-successes, --health-interval: health deadline 3s cannot fit 5 passing probes 1s apart".into(),
        ),
        (
            roll(&["--lock-wait", "30m"]),
            vec![],
            "error: --lock-wait 30m must be shorter than --lock-ttl 30m".into(),
        ),
    ];
    for (args, env, expected) in cases {
        let mut env = env;
        env.push(TOKEN_ENV);
        let out = zdd(&fake, &args, &env).await;
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert_eq!(
            out.stderr.lines().next(),
            Some(expected.as_str()),
            "{args:?}: {}",
            out.stderr
        );
        // One line says it all (clap adds a pointer to --help).
        let rest: Vec<&str> = out
            .stderr
            .lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .collect();
        assert!(
            rest.is_empty() || rest == ["For more information, try '--help'."],
            "{args:?}: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    assert!(
        fake.calls().is_empty(),
        "a bad duration sent requests: {:#?}",
        fake.calls()
    );
    fake.assert_no_unexpected();
}

/// `--help` states each duration's range.
#[tokio::test]
async fn help_shows_duration_ranges() {
    let fake = pair().await;
    let out = zdd(&fake, &["promote", "--help"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    for line in [
        "--health-interval <DURATION>",
        "Pause between probes [range: 50ms to 10m]",
        "--assign-timeout <DURATION>",
        "Give up waiting for the reserved IP assign action after this long [range: 10s to 1h]",
        "--lock-wait <DURATION>",
        "[range: 0 to 24h]",
    ] {
        assert!(out.stdout.contains(line), "{line}: {}", out.stdout);
    }
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn usage_error_in_json_mode_still_prints_a_document() {
    let fake = pair().await;
    let out = zdd(&fake, &["promote", "--output", "json"], &[]).await;
    assert_eq!(out.code, 2);
    let doc = out.json();
    assert_eq!(doc["outcome"], "config_error");
    assert_eq!(doc["exit_code"], 2);
}

#[tokio::test]
async fn refused_is_exit_3() {
    let fake = pair().await;
    fake.state().reserved_ips.get_mut(RIP_S).unwrap().1 = None;
    let out = zdd(&fake, &promote_args(), &[TOKEN_ENV]).await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stdout.contains("reserved IP 127.0.0.20 is not assigned to any droplet; found: PROD: 1 blue [PROD] active nyc3"), "{}", out.stdout);
}

#[tokio::test]
async fn health_gate_failure_is_exit_4() {
    let fake = pair().await;
    fake.set_app(2, 503, "booting");
    let out = zdd(&fake, &promote_args(), &[TOKEN_ENV]).await;
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("probe 1 http://127.0.0.12:"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("fail (status 503)"), "{}", out.stderr);
    assert_eq!(fake.state().ip_holder(RIP_S), Some(1));
}

#[tokio::test]
async fn switched_back_is_exit_5() {
    let fake = pair().await;
    fake.state().through_ip.insert(
        2,
        App {
            status: 502,
            body: "bad gateway".into(),
        },
    );
    let out = zdd(&fake, &promote_args(), &[TOKEN_ENV]).await;
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("warning: verification through 127.0.0.20 failed"),
        "{}",
        out.stderr
    );
    assert_eq!(fake.state().ip_holder(RIP_S), Some(1));
}

#[tokio::test]
async fn failed_switch_back_is_exit_6() {
    let fake = pair().await;
    fake.state().through_ip.insert(
        2,
        App {
            status: 502,
            body: "bad gateway".into(),
        },
    );
    fake.state().action_end = vec!["completed", "errored"];
    let out = zdd(&fake, &promote_args(), &[TOKEN_ENV]).await;
    assert_eq!(out.code, 6, "{}", out.stderr);
    assert!(out.stdout.contains("needs a human"), "{}", out.stdout);
}

#[tokio::test]
async fn locked_is_exit_7() {
    let fake = pair().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    fake.state()
        .tags
        .insert(format!("zdd-lock:ip-127-0-0-20:{}:otherrun", now - 5));
    let out = zdd(&fake, &promote_args(), &[TOKEN_ENV]).await;
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(
        out.stdout.contains("another deploy holds the lock"),
        "{}",
        out.stdout
    );
    // `unlock` breaks it.
    let out = zdd(&fake, &["unlock", "--reserved-ip", RIP_S], &[TOKEN_ENV]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("removed deploy lock zdd-lock:ip-127-0-0-20:"),
        "{}",
        out.stdout
    );
    assert!(fake.lock_tags().is_empty());
    let out = zdd(&fake, &promote_args(), &[TOKEN_ENV]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[tokio::test]
async fn a_token_without_a_scope_is_told_so() {
    // 403 is not 401: the token is valid but may not list droplets. The hint comes from
    // the error's typed cause, not from its text.
    let fake = pair().await;
    fake.fault("GET", "/v2/droplets", 1, 403);
    let mut args = promote_args();
    args.extend(["--output", "json", "--no-lock"]);
    let out = zdd(&fake, &args, &[("DIGITALOCEAN_TOKEN", TOKEN_ENV.1)]).await;
    assert_eq!(out.code, 8, "{}", out.stderr);
    let message = out.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains(
            "The token from DIGITALOCEAN_TOKEN is not allowed to do this: give it read and write access"
        ),
        "{message}"
    );
    assert!(!message.contains("refused the token"), "{message}");
    assert_eq!(out.json()["api_cause"], "forbidden");
    assert!(fake.mutations().is_empty(), "{:?}", fake.mutations());
}

#[tokio::test]
async fn bad_token_is_exit_8_and_never_printed() {
    let fake = pair().await;
    let secret = "dop_v1_0123456789abcdef-not-a-real-token";
    let file = std::env::temp_dir().join(format!("zdd-token-{}", std::process::id()));
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    let mut args = promote_args();
    args.extend(["--token-file", file.to_str().unwrap(), "--output", "json"]);
    let out = zdd(&fake, &args, &[("ZDD_LOG", "trace")]).await;
    assert_eq!(out.code, 8, "{}", out.stderr);
    let message = out.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("401 unauthorized"), "{message}");
    // The message says which token was refused: the file it came from.
    assert!(
        message.contains(&format!(
            "DigitalOcean refused the token from the token file {}",
            file.display()
        )),
        "{message}"
    );
    assert!(
        !out.stdout.contains(secret) && !out.stderr.contains(secret),
        "the token leaked"
    );
    std::fs::remove_file(file).unwrap();

    // From the environment, the variable is named; and `status` (an early failure) says it too.
    let out = zdd(
        &fake,
        &["status", "--reserved-ip", RIP_S],
        &[("DIGITALOCEAN_TOKEN", "wrong-token")],
    )
    .await;
    assert_eq!(out.code, 8, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("DigitalOcean refused the token from DIGITALOCEAN_TOKEN"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("wrong-token"), "{}", out.stderr);
}

#[tokio::test]
async fn interrupt_is_exit_130_and_releases_the_lock() {
    let fake = pair().await;
    fake.set_app(2, 503, "booting");
    let mut args = promote_args();
    args.extend(["--health-deadline", "30s"]);
    let mut child = command(&fake, &args, &[TOKEN_ENV]).spawn().unwrap();
    // Wait until the run holds the lock and is health-gating.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while fake.lock_tags().is_empty()
        || fake
            .calls()
            .iter()
            .filter(|c| c.starts_with("GET /v2/reserved_ips/"))
            .count()
            == 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run never took the lock"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.code(), Some(130));
    assert!(
        fake.lock_tags().is_empty(),
        "lock left behind: {:?}",
        fake.lock_tags()
    );
    assert_eq!(fake.state().ip_holder(RIP_S), Some(1));
}

#[tokio::test]
async fn dry_run_prints_the_plan_and_changes_nothing() {
    let fake = pair().await;
    let mut args = promote_args();
    args.push("--dry-run");
    let out = zdd(&fake, &args, &[TOKEN_ENV]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("promote: dry_run (exit 0)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("  3. confirm through the API that 127.0.0.20 points at droplet 2"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("  5. tag 1 (blue) with FALLBACK"),
        "{}",
        out.stdout
    );
    assert!(fake.mutations().is_empty());

    // For machines: the plan's steps are objects.
    args.extend(["--output", "json"]);
    let out = zdd(&fake, &args, &[TOKEN_ENV]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan = out.json()["plan"].clone();
    let kinds: Vec<&str> = plan
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "health_gate",
            "assign",
            "confirm",
            "verify",
            "tag",
            "tag",
            "tag",
            "tag"
        ],
        "{plan:#}"
    );
    assert_eq!(plan[1]["ip"], RIP_S);
    assert_eq!(plan[1]["to"], 2);
    assert!(fake.mutations().is_empty());
}

#[tokio::test]
async fn rollback_and_status() {
    let fake = pair().await;
    assert_eq!(zdd(&fake, &promote_args(), &[TOKEN_ENV]).await.code, 0);
    let out = zdd(
        &fake,
        &[
            "status",
            "--reserved-ip",
            RIP_S,
            "--check-health",
            "--output",
            "json",
        ],
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["state"], "consistent");
    assert_eq!(doc["ip_droplet"]["id"], 2);
    assert_eq!(doc["health"].as_array().unwrap().len(), 2);
    let out = zdd(&fake, &["rollback", "--reserved-ip", RIP_S], &[TOKEN_ENV]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("rollback: switched (exit 0): rolled back to droplet 1 (blue)"),
        "{}",
        out.stdout
    );
    assert_eq!(fake.state().ip_holder(RIP_S), Some(1));
    let out = zdd(&fake, &["status", "--reserved-ip", RIP_S], &[TOKEN_ENV]).await;
    assert!(
        out.stdout
            .contains("reserved IP 127.0.0.20: 1 blue [PROD] active"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("state: consistent"), "{}", out.stdout);
    fake.assert_no_unexpected();
}

#[tokio::test]
async fn api_failure_during_observation_is_exit_8() {
    let fake = pair().await;
    fake.fault("GET", "/v2/droplets", 10, 500);
    let out = zdd(&fake, &promote_args(), &[TOKEN_ENV]).await;
    assert_eq!(out.code, 8, "{}", out.stderr);
    assert!(out.stdout.contains("answered 500"), "{}", out.stdout);
    // The client retried the GET before giving up.
    assert!(
        fake.calls()
            .iter()
            .filter(|c| c.starts_with("GET /v2/droplets"))
            .count()
            > 1
    );
    assert_eq!(fake.state().ip_holder(RIP_S), Some(1));
}

#[tokio::test]
async fn help_lists_the_exit_codes() {
    let fake = pair().await;
    let out = zdd(&fake, &["--help"], &[]).await;
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("Exit codes:"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("  7  another run holds the deploy lock"),
        "{}",
        out.stdout
    );
}

/// The fake answers the first droplet list 429 with `Retry-After: 1` (then as usual), so the
/// API client logs a retry warning. The fake's own catch-all still records anything unknown.
async fn rate_limited_once(fake: &FakeDo) {
    Mock::given(method("GET"))
        .and(path("/v2/droplets"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(serde_json::json!({
                    "id": "too_many_requests",
                    "message": "API Rate limit exceeded."
                })),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.server)
        .await;
}

/// Each non-empty stderr line as a JSON object, failing on the first that is not one.
fn json_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("stderr line is not JSON ({e}): {l:?}\n{stderr}"));
            assert!(v.is_object(), "not an object: {l}");
            v
        })
        .collect()
}

/// With `--events json`, every stderr line is one JSON object: the events, the API client's
/// retry warning, and the update command's output; no ANSI escape anywhere.
#[tokio::test]
async fn json_events_make_every_stderr_line_json() {
    let fake = pair().await;
    rate_limited_once(&fake).await;
    let mut args = promote_args();
    args.extend([
        "--events",
        "json",
        "--exec",
        "echo to stdout; echo to stderr >&2",
    ]);
    let out = zdd(&fake, &args, &[TOKEN_ENV]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains('\u{1b}'), "{:?}", out.stderr);
    let lines = json_lines(&out.stderr);
    let retry = lines
        .iter()
        .find(|l| l["event"] == "log")
        .unwrap_or_else(|| panic!("no log record: {}", out.stderr));
    assert_eq!(retry["level"], "warn");
    assert!(
        retry["message"]
            .as_str()
            .unwrap()
            .starts_with("retrying after: DigitalOcean API GET /v2/droplets answered 429"),
        "{retry}"
    );
    assert_eq!(retry["fields"]["path"], "/v2/droplets");
    assert_eq!(retry["fields"]["wait_ms"], 1000);
    let output: Vec<(&str, &str)> = lines
        .iter()
        .filter(|l| l["event"] == "command_output")
        .map(|l| (l["stream"].as_str().unwrap(), l["line"].as_str().unwrap()))
        .collect();
    assert_eq!(output.len(), 2, "{}", out.stderr);
    assert!(output.contains(&("stdout", "to stdout")), "{output:?}");
    assert!(output.contains(&("stderr", "to stderr")), "{output:?}");
    assert!(lines.iter().any(|l| l["event"] == "step_finished"));
    fake.assert_no_unexpected();
}

/// Usage errors with `--events json` are JSON lines too, whether clap or zdd-do finds them.
#[tokio::test]
async fn usage_errors_with_json_events_are_json_lines() {
    let fake = pair().await;
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 3] = [
        (
            &["promote", "--events", "json"],
            &[],
            "no API token: set DIGITALOCEAN_ACCESS_TOKEN (or DIGITALOCEAN_TOKEN) or pass --token-file",
        ),
        (
            &["promote", "--events=json", "--health-interval", "0s"],
            &[TOKEN_ENV],
            "invalid value '0s' for '--health-interval <DURATION>': must be between 50ms and 10m",
        ),
        (
            &["roll"],
            &[TOKEN_ENV, ("ZDD_EVENTS", "json")],
            "the following required arguments were not provided: --lb <LB>",
        ),
    ];
    for (args, env, message) in cases {
        let out = zdd(&fake, args, env).await;
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        let lines = json_lines(&out.stderr);
        assert_eq!(
            lines,
            [serde_json::json!({"event": "error", "message": message, "exit_code": 2})],
            "{args:?}"
        );
    }
    // A flag clap refuses still gets the JSON document `--output json` promises.
    let out = zdd(
        &fake,
        &["promote", "--output", "json", "--api-timeout", "0s"],
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        out.json(),
        serde_json::json!({
            "outcome": "config_error",
            "message": "invalid value '0s' for '--api-timeout <DURATION>': must be between 1s and 10m",
            "exit_code": 2
        })
    );
    assert_eq!(
        out.stderr,
        "error: invalid value '0s' for '--api-timeout <DURATION>': must be between 1s and 10m\n"
    );
    assert!(fake.calls().is_empty(), "{:#?}", fake.calls());
}

/// `--events none` means a silent stderr: no retry warning unless ZDD_LOG asks for logs.
#[tokio::test]
async fn no_events_means_no_log_lines_unless_zdd_log_asks() {
    let fake = pair().await;
    rate_limited_once(&fake).await;
    let mut args = promote_args();
    args.extend(["--events", "none"]);
    let out = zdd(&fake, &args, &[TOKEN_ENV]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    // Asked for explicitly, log lines come (as text).
    let fake = pair().await;
    rate_limited_once(&fake).await;
    let out = zdd(&fake, &args, &[TOKEN_ENV, ("ZDD_LOG", "warn")]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("WARN retrying after: DigitalOcean API GET /v2/droplets answered 429"),
        "{}",
        out.stderr
    );
}

/// Stderr is not a terminal here: human lines, the retry warning included, carry no colour.
#[tokio::test]
async fn human_events_have_no_colour_without_a_terminal() {
    let fake = pair().await;
    rate_limited_once(&fake).await;
    let out = zdd(&fake, &promote_args(), &[TOKEN_ENV]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("WARN retrying after: DigitalOcean API GET /v2/droplets answered 429"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("==> health gate"), "{}", out.stderr);
    assert!(!out.stderr.contains('\u{1b}'), "{:?}", out.stderr);
}

fn status_args(extra: &[&'static str]) -> Vec<&'static str> {
    let mut a = vec!["status", "--reserved-ip", RIP_S];
    a.extend_from_slice(extra);
    a
}

/// `status` exits 0 only when the reserved IP and the tags agree (and, with --check-health,
/// the live droplet answers); an unhealthy standby is shown but is not an error.
#[tokio::test]
async fn status_is_0_when_consistent_even_with_an_unhealthy_standby() {
    let fake = pair().await;
    fake.set_app(2, 503, "booting");
    let out = zdd(&fake, &status_args(&["--check-health"]), &[TOKEN_ENV]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("state: consistent (exit 0)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("  health of 2: UNHEALTHY (http://127.0.0.12:"),
        "{}",
        out.stdout
    );
    let out = zdd(&fake, &status_args(&["--output", "json"]), &[TOKEN_ENV]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["state"], "consistent");
    assert_eq!(doc["exit_code"], 0);
    assert!(fake.mutations().is_empty(), "{:#?}", fake.mutations());
    fake.assert_no_unexpected();
}

/// The IP already moved to the standby-tagged droplet, the tags did not: exit 10, and the
/// drift says to finish with promote.
#[tokio::test]
async fn status_of_an_interrupted_run_is_10() {
    let fake = pair().await;
    fake.state().reserved_ips.get_mut(RIP_S).unwrap().1 = Some(2);
    let out = zdd(&fake, &status_args(&[]), &[TOKEN_ENV]).await;
    assert_eq!(out.code, 10, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("state: interrupted (exit 10)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("  drift: 127.0.0.20 points at droplet 2 but the tags were not fully moved"),
        "{}",
        out.stdout
    );
    let out = zdd(&fake, &status_args(&["--output", "json"]), &[TOKEN_ENV]).await;
    assert_eq!(out.code, 10);
    assert_eq!(out.json()["state"], "interrupted");
    assert_eq!(out.json()["exit_code"], 10);
    assert!(fake.mutations().is_empty(), "{:#?}", fake.mutations());
}

/// The reserved IP on nobody is a total outage: exit 11, needs a human.
#[tokio::test]
async fn status_with_the_ip_on_nobody_is_11() {
    let fake = pair().await;
    fake.state().reserved_ips.get_mut(RIP_S).unwrap().1 = None;
    let out = zdd(&fake, &status_args(&["--output", "json"]), &[TOKEN_ENV]).await;
    assert_eq!(out.code, 11, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    assert_eq!(doc["state"], "inconsistent");
    assert_eq!(doc["exit_code"], 11);
    assert_eq!(doc["ip_droplet"], Value::Null);
    assert_eq!(
        doc["drift"][0],
        "reserved IP 127.0.0.20 is not assigned to any droplet"
    );
    let out = zdd(&fake, &status_args(&[]), &[TOKEN_ENV]).await;
    assert_eq!(out.code, 11);
    assert!(
        out.stdout.contains("reserved IP 127.0.0.20: unassigned"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("state: inconsistent (exit 11)"),
        "{}",
        out.stdout
    );
    assert!(fake.mutations().is_empty(), "{:#?}", fake.mutations());
}

/// With --check-health, a live droplet that does not answer is exit 12; without it, status
/// does not probe and says 0.
#[tokio::test]
async fn status_with_a_dead_live_droplet_is_12() {
    let fake = pair().await;
    fake.set_app(1, 503, "down");
    let out = zdd(&fake, &status_args(&["--check-health"]), &[TOKEN_ENV]).await;
    assert_eq!(out.code, 12, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("  health of 1: UNHEALTHY"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("state: consistent (exit 12)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("  the live droplet 1 (blue) does not answer its health check"),
        "{}",
        out.stdout
    );
    let out = zdd(
        &fake,
        &status_args(&["--check-health", "--output", "json"]),
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(out.code, 12);
    assert_eq!(out.json()["exit_code"], 12);
    let out = zdd(&fake, &status_args(&[]), &[TOKEN_ENV]).await;
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(fake.mutations().is_empty(), "{:#?}", fake.mutations());
}

/// A load balancer and a reserved IP are two ways to switch: both at once is one clear line,
/// exit 2, and not one request.
#[tokio::test]
async fn lb_with_a_reserved_ip_is_exit_2_and_sends_nothing() {
    let fake = FakeDo::lb_fleet(1, 1, false).await;
    for cmd in ["promote", "rollback", "status"] {
        let out = zdd(
            &fake,
            &[cmd, "--lb", "web-lb", "--reserved-ip", RIP_S],
            &[TOKEN_ENV],
        )
        .await;
        assert_eq!(out.code, 2, "{cmd}: {}", out.stderr);
        assert_eq!(
            out.stderr,
            "error: --reserved-ip, --lb: both a reserved IP (127.0.0.20) and a load balancer were given; blue-green switches traffic through one of them\n",
            "{cmd}"
        );
    }
    // The same from the environment, in JSON.
    let out = zdd(
        &fake,
        &["promote", "--output", "json"],
        &[TOKEN_ENV, ("ZDD_LB", "web-lb"), ("ZDD_RESERVED_IP", RIP_S)],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.json()["outcome"], "config_error");
    assert!(fake.calls().is_empty(), "{:#?}", fake.calls());
}

#[tokio::test]
async fn a_bad_pre_switch_hook_is_exit_2_and_sends_nothing() {
    let fake = FakeDo::lb_fleet(1, 1, false).await;
    let cases: [(&[&str], &str); 3] = [
        (
            &[
                "promote",
                "--reserved-ip",
                RIP_S,
                "--pre-switch-path",
                "connection-close",
            ],
            "error: --pre-switch-path: the pre-switch path `connection-close` must start with `/` (it is called on the live droplet, like the health path)\n",
        ),
        (
            &[
                "rollback",
                "--reserved-ip",
                RIP_S,
                "--pre-switch-path",
                "/x",
                "--pre-switch-method",
                "GO T",
            ],
            "error: --pre-switch-method: the pre-switch method `GO T` is not an HTTP method\n",
        ),
        (
            &[
                "promote",
                "--lb",
                "web-lb",
                "--pre-switch-path",
                "/connection-close",
            ],
            "error: --pre-switch-path, --lb: the pre-switch hook prepares a reserved IP's move; through a load balancer nothing moves and no connection is reset, so leave it out\n",
        ),
    ];
    for (args, want) in cases {
        let out = zdd(&fake, args, &[TOKEN_ENV]).await;
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr, want, "{args:?}");
    }
    assert!(fake.calls().is_empty(), "{:#?}", fake.calls());
}

/// `--api-ca-file` that cannot be read, or holds no certificate: one line naming the flag,
/// exit 2, no request sent.
#[tokio::test]
async fn a_bad_api_ca_file_is_exit_2_and_sends_nothing() {
    let fake = pair().await;
    let dir = std::env::temp_dir().join(format!("zdd-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("ca.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let missing = dir.join("missing.pem");
    let garbage_s = garbage.display().to_string();
    let missing_s = missing.display().to_string();
    let cases = [
        (
            missing_s.as_str(),
            format!(
                "error: --api-ca-file {missing_s}: cannot read it (No such file or directory (os error 2)); give the PEM file of the CA to trust\n"
            ),
        ),
        (
            garbage_s.as_str(),
            format!(
                "error: --api-ca-file {garbage_s}: no certificate in it (no BEGIN CERTIFICATE line); give the PEM file of the CA to trust\n"
            ),
        ),
    ];
    for (file, want) in cases {
        let out = zdd(&fake, &["status", "--api-ca-file", file], &[TOKEN_ENV]).await;
        assert_eq!(out.code, 2, "{file}: {}", out.stderr);
        assert_eq!(out.stderr, want, "{file}");
    }
    assert!(fake.calls().is_empty(), "{:#?}", fake.calls());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn dry_run_through_a_load_balancer_prints_typed_steps() {
    let fake = FakeDo::lb_fleet(1, 1, false).await;
    let args = [
        "promote",
        "--lb",
        "web-lb",
        "--expect-body",
        "v2",
        "--dry-run",
        "--output",
        "json",
    ];
    let out = zdd(&fake, &args, &[TOKEN_ENV]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["outcome"], "dry_run");
    assert!(doc.get("reserved_ip").is_none(), "{doc:#}");
    assert_eq!(doc["load_balancer"]["name"], "web-lb");
    assert_eq!(doc["load_balancer"]["id"], fake_do::FLEET_LB_ID);
    let plan = doc["plan"].as_array().unwrap();
    let kinds: Vec<&str> = plan.iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "watch",
            "health_gate",
            "join",
            "see_serving",
            "leave",
            "see_gone",
            "tag",
            "tag",
            "tag",
            "tag"
        ],
        "{doc:#}"
    );
    assert_eq!(plan[0]["how"], "observed");
    assert_eq!(plan[2]["droplets"][0]["id"], 2);
    assert_eq!(plan[2]["membership"]["tag"], "web");
    assert_eq!(plan[4]["droplets"][0]["id"], 1);
    assert!(fake.mutations().is_empty(), "{:#?}", fake.mutations());
    fake.assert_no_unexpected();
}

#[tokio::test]
async fn promote_and_status_through_a_load_balancer() {
    let fake = FakeDo::lb_fleet(1, 1, true).await;
    let dir = std::env::temp_dir().join(format!("zdd-cli-lb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dotenv = dir.join("deploy.env");
    let out = zdd(
        &fake,
        &[
            "promote",
            "--expect-body",
            "v2",
            "--dotenv",
            dotenv.to_str().unwrap(),
        ],
        &[TOKEN_ENV, ("ZDD_LB", "web-lb")],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.starts_with(
            "promote: switched (exit 0): promoted 2 (green-1) through load balancer web-lb"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("  load balancer web-lb: live 2 (green-1), standby 1 (blue-1)"),
        "{}",
        out.stdout
    );
    assert_eq!(
        std::fs::read_to_string(&dotenv).unwrap(),
        "ZDD_OUTCOME=switched\nZDD_EXIT_CODE=0\nZDD_RESERVED_IP=\nZDD_LOAD_BALANCER=web-lb\nZDD_LIVE_DROPLET_ID=2\nZDD_LIVE_DROPLET_NAME=green-1\nZDD_STANDBY_DROPLET_ID=1\nZDD_STANDBY_DROPLET_NAME=blue-1\n"
    );
    assert_eq!(fake.state().lb_droplets(fake_do::FLEET_LB_ID), [2]);
    let out = zdd(
        &fake,
        &["status", "--lb", "web-lb", "--check-health"],
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("  in:  2 green-1 [PROD] active (live)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("  out: 1 blue-1 [FALLBACK] active (standby)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("state: consistent (exit 0)"),
        "{}",
        out.stdout
    );
    fake.assert_no_unexpected();
    std::fs::remove_dir_all(dir).unwrap();
}

/// `doctor` on a healthy setup: every check passes, exit 0, nothing changed but the tag it
/// creates and deletes (the lock's rights).
#[tokio::test]
async fn doctor_on_a_healthy_setup_is_0() {
    let fake = pair().await;
    let out = zdd(&fake, &["doctor"], &[TOKEN_ENV]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "ok   token         the API accepts the token: account fake@fake-do.invalid (active), droplet limit 25",
        "{}",
        out.stdout
    );
    assert!(
        lines.contains(&"ok   tags          `PROD`: blue (1); `FALLBACK`: green (2)"),
        "{}",
        out.stdout
    );
    assert!(
        lines.contains(&"ok   reserved_ip   127.0.0.20 points at the live droplet blue"),
        "{}",
        out.stdout
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("ok   health"))
            .count(),
        2,
        "{}",
        out.stdout
    );
    assert_eq!(lines.last(), Some(&"a deploy can run (exit 0)"));
    // The lock check's tag, created and deleted; nothing else written.
    let m = fake.mutations();
    assert_eq!(m.len(), 2, "{m:#?}");
    assert!(
        m[0].starts_with(r#"POST /v2/tags {"name":"zdd-doctor:"#),
        "{m:#?}"
    );
    assert!(m[1].starts_with("DELETE /v2/tags/zdd-doctor:"), "{m:#?}");
    assert!(fake.lock_tags().is_empty());
    fake.assert_no_unexpected();
}

/// A custom-scoped token without `account:read` is still a good token for deploys: the token
/// check falls back on the droplet reads and says why.
#[tokio::test]
async fn doctor_with_a_token_that_cannot_read_the_account_still_passes() {
    let fake = pair().await;
    fake.fault("GET", "/v2/account", 1, 403);
    let out = zdd(&fake, &["doctor"], &[TOKEN_ENV]).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let first = out.stdout.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        "ok   token         the API accepts the token and it reads droplets (it cannot read the account: no `account:read` scope, which deploys do not need)",
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stdout
            .lines()
            .filter(|l| l.contains(" token  "))
            .count(),
        1,
        "{}",
        out.stdout
    );
    fake.assert_no_unexpected();
}

#[tokio::test]
async fn doctor_names_a_missing_tag_with_its_fix_and_exits_3() {
    let fake = pair().await;
    fake.state()
        .droplets
        .get_mut(&2)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .insert("tags".into(), serde_json::json!([]));
    let out = zdd(&fake, &["doctor"], &[TOKEN_ENV]).await;
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("FAIL tags          no droplet is tagged `FALLBACK`\n                   fix: tag the droplet: `doctl compute droplet tag <droplet> --tag-name FALLBACK`"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.ends_with("a deploy would fail: tags (exit 3)\n"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn doctor_with_a_wrong_token_says_so_and_exits_8() {
    let fake = pair().await;
    let out = zdd(
        &fake,
        &["doctor", "--output", "json"],
        &[("DIGITALOCEAN_ACCESS_TOKEN", "not-the-token")],
    )
    .await;
    assert_eq!(out.code, 8, "{}\n{}", out.stdout, out.stderr);
    let doc = out.json();
    let checks = doc["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 1, "nothing else is checked: {doc:#}");
    assert_eq!(checks[0]["name"], "token");
    assert_eq!(checks[0]["verdict"], "fail");
    assert_eq!(checks[0]["trouble"], "api");
    assert_eq!(
        checks[0]["fix"],
        "set DIGITALOCEAN_ACCESS_TOKEN (or DIGITALOCEAN_TOKEN) to a valid, unexpired token"
    );
    assert!(
        checks[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("answered 401")),
        "{doc:#}"
    );
    assert!(fake.mutations().is_empty(), "{:#?}", fake.mutations());
}

#[tokio::test]
async fn doctor_with_an_unreachable_health_endpoint_exits_4() {
    let fake = pair().await;
    // A port where nothing listens.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let out = zdd(&fake, &["doctor", "--health-port", &closed], &[TOKEN_ENV]).await;
    assert_eq!(out.code, 4, "{}\n{}", out.stdout, out.stderr);
    let fails: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("FAIL health"))
        .collect();
    assert_eq!(fails.len(), 2, "{}", out.stdout);
    assert!(
        fails[0].starts_with(&format!(
            "FAIL health        blue at http://127.0.0.11:{closed}/: "
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("--health-address private"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .ends_with("a deploy would fail: health (exit 4)\n"),
        "{}",
        out.stdout
    );
}

/// Completions and the manual page come from the same definition as the flags.
#[tokio::test]
async fn completions_and_the_manual_page_are_generated() {
    let fake = pair().await;
    let out = zdd(&fake, &["completions", "bash"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("complete -F _zdd__do"),
        "{}",
        out.stdout
    );
    for word in [
        "promote",
        "rollback",
        "roll",
        "doctor",
        "--pre-switch-path",
        "--lb",
    ] {
        assert!(out.stdout.contains(word), "bash completion lacks {word}");
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = zdd(&fake, &["completions", shell], &[]).await;
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(out.stdout.contains("promote"), "{shell}");
    }
    let out = zdd(&fake, &["completions", "tcsh"], &[]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = zdd(&fake, &["man"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(".TH zdd-do 1"),
        "{}",
        &out.stdout[..300.min(out.stdout.len())]
    );
    assert!(
        out.stdout.contains("promote"),
        "the manual lists the commands"
    );
    assert!(fake.calls().is_empty());
}

/// Flags for `replace` and its rollback against the fake: fast probes, scaled waits.
fn replace_flags(args: &[&'static str]) -> Vec<&'static str> {
    let mut v = args.to_vec();
    v.extend([
        "--wait-scale",
        "0.01",
        "--health-interval",
        "50ms",
        "--health-successes",
        "2",
        "--lock-settle",
        "50ms",
        "--output",
        "json",
    ]);
    v
}

#[tokio::test]
async fn replace_without_a_release_or_with_an_unreadable_file_is_exit_2_and_sends_nothing() {
    let fake = FakeDo::replace_fleet(2, 2, false).await;
    let out = zdd(&fake, &["replace", "--lb", "web-lb"], &[TOKEN_ENV]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "error: nothing says what the new droplets run: give --image (a snapshot with the release baked in), --user-data (cloud-init that installs it) or --exec (a command that installs it once they are active), or --finalize to delete what replace keeps\n"
    );
    let out = zdd(
        &fake,
        &[
            "replace",
            "--lb",
            "web-lb",
            "--user-data",
            "/nonexistent/cloud-init.yml",
        ],
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("error: --user-data /nonexistent/cloud-init.yml: cannot read it")
            && out.stderr.lines().count() == 1,
        "{}",
        out.stderr
    );
    let out = zdd(
        &fake,
        &[
            "replace",
            "--lb",
            "web-lb",
            "--image",
            "1",
            "--keep-previous",
            "8d",
        ],
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--keep-previous"), "{}", out.stderr);
    assert!(fake.calls().is_empty(), "{:#?}", fake.calls());
}

#[tokio::test]
async fn replace_then_status_then_rollback_through_the_command() {
    let fake = FakeDo::replace_fleet(2, 2, false).await;
    let dir = std::env::temp_dir().join(format!("zdd-cli-replace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dotenv = dir.join("replace.env");
    let image = fake_do::GOOD_IMAGE.to_string();
    let mut args = replace_flags(&["replace", "--lb", "web-lb"]);
    args.extend(["--image", &image, "--dotenv", dotenv.to_str().unwrap()]);
    let out = zdd(&fake, &args, &[TOKEN_ENV]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["outcome"], "replaced", "{doc}");
    assert_eq!(doc["action"], "replace");
    assert_eq!(doc["serving"].as_array().unwrap().len(), 2);
    let env = std::fs::read_to_string(&dotenv).unwrap();
    assert!(env.contains("ZDD_OUTCOME=replaced\n"), "{env}");
    assert!(env.contains("ZDD_SERVING_DROPLETS=9001,9002\n"), "{env}");
    assert!(env.contains("ZDD_PREVIOUS_DROPLETS=1,2\n"), "{env}");
    std::fs::remove_dir_all(&dir).unwrap();

    // Status: the new fleet serves, the old one is kept.
    let out = zdd(
        &fake,
        &["status", "--lb", "web-lb", "--output", "json"],
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let st = out.json();
    assert_eq!(st["state"], "consistent", "{st}");
    assert_eq!(st["kept"].as_array().unwrap().len(), 2);
    // A droplet of a run no plan owns: exit 11, naming --finalize.
    fake.state().droplets.get_mut(&9002).unwrap()["tags"] = serde_json::json!([
        "zdd-run:0000abcd",
        "zdd-lb:7f1c2a3e-0b4d-4c5e-8f60-718293a4b5c6"
    ]);
    let out = zdd(&fake, &["status", "--lb", "web-lb"], &[TOKEN_ENV]).await;
    assert_eq!(out.code, 11, "{}", out.stderr);
    assert!(out.stdout.contains("--finalize"), "{}", out.stdout);
    fake.state().droplets.get_mut(&9002).unwrap()["tags"] = serde_json::json!([
        "web",
        "zdd-lb:7f1c2a3e-0b4d-4c5e-8f60-718293a4b5c6",
        doc["run_tag"].as_str().unwrap()
    ]);

    // Rollback --lb finds the kept fleet and puts it back.
    let out = zdd(
        &fake,
        &replace_flags(&["rollback", "--lb", "web-lb"]),
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["outcome"], "switched", "{doc}");
    assert_eq!(doc["action"], "rollback");
    assert_eq!(fake.state().lb_droplets(fake_do::FLEET_LB_ID), [1, 2]);
    fake.assert_no_unexpected();
}

#[tokio::test]
async fn promote_image_with_exec_is_exit_2_and_sends_nothing() {
    let fake = pair().await;
    let out = zdd(
        &fake,
        &[
            "promote",
            "--reserved-ip",
            RIP_S,
            "--image",
            "170000001",
            "--exec",
            "true",
        ],
        &[TOKEN_ENV],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "error: --image makes a fresh standby with the release baked in, --exec updates the existing one: give one of them\n"
    );
    assert!(fake.calls().is_empty(), "{:#?}", fake.calls());
}

#[tokio::test]
async fn canary_flags_that_cannot_judge_are_exit_2_and_send_nothing() {
    let fake = FakeDo::replace_fleet(3, 3, false).await;
    for (extra, expected) in [
        (
            &["--canary", "0"][..],
            "error: --canary: a canary of 0 droplets judges nothing; give at least 1\n",
        ),
        (
            &["--canary-percent", "100"][..],
            "error: --canary-percent: a canary of 100% is not a part of the fleet; give a share above 0 and below 100\n",
        ),
        (
            &["--analysis-exec", "true"][..],
            "error: --analysis-exec judges canaries: give --canary N (or --canary-percent P) too\n",
        ),
        (
            &["--canary", "1", "--analysis-judges", "exec"][..],
            "error: --analysis-judges names exec but no --analysis-exec command is given\n",
        ),
        (
            &["--canary", "1", "--analysis-path", "health"][..],
            "error: --analysis-path: `health` is not a path; give one starting with /\n",
        ),
    ] {
        let mut args = vec!["replace", "--lb", "web-lb", "--image", "170000001"];
        args.extend(extra);
        let out = zdd(&fake, &args, &[TOKEN_ENV]).await;
        assert_eq!(out.code, 2, "{extra:?}: {}", out.stderr);
        assert_eq!(out.stderr, expected, "{extra:?}");
    }
    assert!(fake.calls().is_empty(), "{:#?}", fake.calls());
}

/// `replace --canary 1` against the fake's fleet of 3, judged by the probes, the load
/// balancer's metrics and a check command; returns the exit code, the JSON report and the
/// dotenv file.
async fn canary_through_the_command(
    fake: &FakeDo,
    image: u64,
    check: &'static str,
) -> (i32, serde_json::Value, String) {
    let dir = std::env::temp_dir().join(format!("zdd-cli-canary-{}-{image}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dotenv = dir.join("replace.env");
    let image = image.to_string();
    let mut args = replace_flags(&["replace", "--lb", "web-lb"]);
    args.extend([
        "--image",
        &image,
        "--canary",
        "1",
        "--analysis-window",
        "2s",
        "--min-requests",
        "20",
        "--analysis-judges",
        "probes,lb-metrics",
        "--analysis-exec",
        check,
        "--dotenv",
        dotenv.to_str().unwrap(),
    ]);
    let out = zdd(fake, &args, &[TOKEN_ENV]).await;
    let env = std::fs::read_to_string(&dotenv).unwrap_or_default();
    std::fs::remove_dir_all(&dir).unwrap();
    (out.code, out.json(), env)
}

#[tokio::test]
async fn a_canary_through_the_command_passes_every_judge_and_reports_it() {
    let fake = FakeDo::replace_fleet(3, 3, false).await;
    let (code, doc, env) = canary_through_the_command(
        &fake,
        fake_do::GOOD_IMAGE,
        r#"test "$ZDD_CANARY_IDS" = 9001 && test "$ZDD_OLD_IDS" = 1,2,3 && test "$ZDD_HOOK" = analysis && test "$ZDD_ANALYSIS_END" -gt "$ZDD_ANALYSIS_START""#,
    )
    .await;
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["outcome"], "replaced", "{doc}");
    let c = &doc["canary"];
    assert_eq!(c["verdict"], "pass", "{c}");
    let judges: Vec<(&str, &str)> = c["judges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| (j["judge"].as_str().unwrap(), j["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(
        judges,
        [
            ("probes", "pass"),
            ("lb_metrics", "pass"),
            ("check", "pass")
        ]
    );
    for line in [
        "ZDD_CANARY_VERDICT=pass\n",
        "ZDD_CANARY_DROPLETS=9001\n",
        "ZDD_CANARY_FAILED_REQUESTS=0\n",
        "ZDD_CANARY_PROBES_VERDICT=pass\n",
        "ZDD_CANARY_PROBES_ERROR_RATE=0.0000\n",
        "ZDD_CANARY_LB_METRICS_VERDICT=pass\n",
        "ZDD_CANARY_CHECK_VERDICT=pass\n",
    ] {
        assert!(env.contains(line), "missing {line:?} in\n{env}");
    }
    assert_eq!(
        fake.state().lb_droplets(fake_do::FLEET_LB_ID),
        [9001, 9002, 9003]
    );
    fake.assert_no_unexpected();
}

#[tokio::test]
async fn a_canary_failing_its_users_is_exit_5_with_its_blast_radius() {
    let fake = FakeDo::replace_fleet(3, 3, false).await;
    let (code, doc, env) = canary_through_the_command(&fake, fake_do::FLAKY_IMAGE, "true").await;
    assert_eq!(code, 5, "{doc}");
    assert_eq!(doc["outcome"], "rolled_back", "{doc}");
    assert_eq!(doc["canary"]["verdict"], "fail", "{doc}");
    let failed = doc["canary"]["failed_requests"]["requests"]
        .as_u64()
        .unwrap();
    assert!(failed > 0, "{doc}");
    assert_eq!(doc["canary"]["failed_requests"]["counted_by"], "lb_metrics");
    assert!(env.contains("ZDD_CANARY_VERDICT=fail\n"), "{env}");
    assert!(
        env.contains(&format!("ZDD_CANARY_FAILED_REQUESTS={failed}\n")),
        "{env}"
    );
    assert!(env.contains("ZDD_EXIT_CODE=5\n"), "{env}");
    // The old fleet never left; the new droplets are gone.
    assert_eq!(fake.state().lb_droplets(fake_do::FLEET_LB_ID), [1, 2, 3]);
    assert_eq!(
        fake.state().droplets.keys().copied().collect::<Vec<_>>(),
        [1, 2, 3]
    );
    fake.assert_no_unexpected();
}
