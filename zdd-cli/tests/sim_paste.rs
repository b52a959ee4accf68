//! `zdd-do sim` prints commands to rehearse a pipeline; pasted into a shell whose PATH has no
//! zdd-do (as after `cargo run`), they work.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn the_printed_commands_work_when_pasted_without_zdd_do_on_path() {
    let mut sim = tokio::process::Command::new(env!("CARGO_BIN_EXE_zdd-do"))
        .args(["sim", "--time-scale", "0.1"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("zdd-do sim starts");
    let mut lines = BufReader::new(sim.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let roll = line.contains(" roll --lb ");
            printed.push(line);
            if roll {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("zdd-do sim printed its commands");
    let find = |what: &str| {
        printed
            .iter()
            .map(|l| l.trim())
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what:?} line in {printed:#?}"))
            .to_owned()
    };
    let (export, promote, roll) = (find("export "), find(" promote "), find(" roll "));
    // The commands call the binary by its path, not by a name PATH would have to resolve.
    assert!(promote.starts_with('\''), "{promote}");
    for command in [&promote, &roll] {
        let out = tokio::time::timeout(
            Duration::from_secs(120),
            tokio::process::Command::new("sh")
                .arg("-c")
                .arg(format!("{export}\n{command}"))
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .output(),
        )
        .await
        .expect("the pasted command finished")
        .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{command}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    sim.kill().await.unwrap();
}
