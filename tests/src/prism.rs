//! A Prism mock server (npm `@stoplight/prism-cli`) serving the official DigitalOcean OpenAPI
//! description, for contract tests.
//!
//! Prism is started as `prism mock -h 127.0.0.1 -p <free port> --errors --dynamic false <spec>`.
//! With `--errors` it answers 4xx to every request the spec does not allow: 401 without
//! `Authorization: Bearer ...`, 422 for a bad query parameter or body (the reasons are in the
//! `sl-violations` header and in its log), 404 for a path the spec does not have. So a 2xx from
//! Prism proves that the request was well-formed; the answer itself is the spec's example (or
//! one built from the schema's property examples), which our models must decode.
//!
//! Where things are:
//! - the binary: `$ZDD_PRISM_BIN`, else `target/prism/node_modules/.bin/prism` under the
//!   workspace root (where `.ci/install-prism.sh` puts it);
//! - the spec: `$ZDD_OPENAPI_SPEC`, else `shared/do-openapi/zdd-subset.json` in the folder that
//!   holds the repository (`CARGO_MANIFEST_DIR/../../shared/...`), or in a folder further up.
//!
//! The process is killed when the [`Prism`] is dropped. A [`Prism::shared`] one lives in a
//! static and is never dropped: it runs under a small `sh` wrapper that kills Prism as soon as
//! the test process's end of a pipe closes, which the OS does when the test binary exits.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use do_api::{Client, RetryPolicy, Token};

/// The reason the contract tests are ignored by a plain `cargo test`, and the first words of
/// every failure when Prism or the spec cannot be found.
pub const HOW_TO_RUN: &str = "needs Prism: run .ci/install-prism.sh, then cargo test -p zdd-tests --test contract_prism -- --ignored";

/// How long Prism may take to answer its first request.
pub const START_DEADLINE: Duration = Duration::from_secs(60);

/// The fake token the contract tests send (Prism only checks that it is a bearer token).
pub const TOKEN: &str = "prism-contract-token-not-real";

/// The workspace root (the folder with the top `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives inside the workspace")
        .to_path_buf()
}

/// The OpenAPI description to serve: [`spec_text`], written to
/// `target/openapi/zdd-spec-<pid>.json` under the workspace root.
pub fn spec_path() -> Result<PathBuf, String> {
    let text = spec_text()?;
    let dir = workspace_root().join("target/openapi");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(format!("zdd-spec-{}.json", std::process::id()));
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// The OpenAPI description zdd-do is held to, parsed: [`spec_text`].
pub fn spec() -> Result<serde_json::Value, String> {
    serde_json::from_str(&spec_text()?).map_err(|e| format!("the merged description: {e}"))
}

/// The OpenAPI description zdd-do is held to: the subset ([`subset_path`]) with the paths of
/// `fixtures/openapi/zdd-extra.json` (written by `fixtures/openapi/bundle.py`) added at the end
/// of its `paths`. Spliced as text, because the order of keys matters (Prism answers with the
/// first of several examples) and `serde_json` without `preserve_order` sorts them. A path in
/// both is an error (bundle it once).
pub fn spec_text() -> Result<String, String> {
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let parse = |what: &str, t: &str| {
        serde_json::from_str::<serde_json::Value>(t).map_err(|e| format!("{what}: {e}"))
    };
    let subset_file = subset_path()?;
    let subset = read(&subset_file)?;
    let extra_file = workspace_root().join("fixtures/openapi/zdd-extra.json");
    let extra = read(&extra_file)?;
    let (subset_v, extra_v) = (
        parse("the subset", &subset)?,
        parse("zdd-extra.json", &extra)?,
    );
    let (Some(old), Some(new)) = (subset_v["paths"].as_object(), extra_v.as_object()) else {
        return Err("the subset has no `paths` object, or zdd-extra.json is not an object".into());
    };
    if let Some(p) = new.keys().find(|p| old.contains_key(*p)) {
        return Err(format!(
            "{p} is both in the subset and in zdd-extra.json: remove it from fixtures/openapi/bundle.py"
        ));
    }
    // `paths` is the subset's last member: its text ends with `}` (paths) and `}` (the root).
    let body = subset.trim_end();
    let inner = extra.trim();
    let inner = &inner[1..inner.len() - 1];
    let cut = body
        .strip_suffix('}')
        .map(str::trim_end)
        .and_then(|b| b.strip_suffix('}'))
        .ok_or("the subset does not end with its `paths` object")?;
    let text = if new.is_empty() {
        subset.clone()
    } else {
        format!("{cut},{inner}}}}}")
    };
    let merged = parse("the merged description", &text)?;
    if merged["paths"].as_object().map(|p| p.len()) != Some(old.len() + new.len()) {
        return Err(format!(
            "{}: `paths` is not its last member, so zdd-extra.json cannot be spliced in",
            subset_file.display()
        ));
    }
    Ok(text)
}

/// The first round's bundled description: `$ZDD_OPENAPI_SPEC`, else the first
/// `shared/do-openapi/zdd-subset.json` found beside the workspace root or beside one of its
/// parents. Errors with every place looked at.
pub fn subset_path() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("ZDD_OPENAPI_SPEC") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "the OpenAPI spec ZDD_OPENAPI_SPEC={} is not a file",
                p.display()
            ))
        };
    }
    let root = workspace_root();
    let mut tried = Vec::new();
    for dir in root.ancestors().skip(1) {
        let p = dir.join("shared/do-openapi/zdd-subset.json");
        if p.is_file() {
            return Ok(p);
        }
        tried.push(p.display().to_string());
    }
    Err(format!(
        "the OpenAPI spec zdd-subset.json is missing: looked at {}; set ZDD_OPENAPI_SPEC to its path",
        tried.join(", ")
    ))
}

/// The Prism binary: `$ZDD_PRISM_BIN`, else `target/prism/node_modules/.bin/prism` under the
/// workspace root. Errors when it is not there.
pub fn prism_bin() -> Result<PathBuf, String> {
    let (p, from_env) = match std::env::var_os("ZDD_PRISM_BIN") {
        Some(p) => (PathBuf::from(p), true),
        None => (
            workspace_root().join("target/prism/node_modules/.bin/prism"),
            false,
        ),
    };
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "no Prism binary at {}{}",
            p.display(),
            if from_env { ", from ZDD_PRISM_BIN" } else { "" }
        ))
    }
}

/// Runs the command in `$@`, and kills it when standard input reaches end-of-file (the test
/// process closed its end, or exited) or on SIGTERM. Exits with the command's status.
const WRAPPER: &str = r#"
exec 3<&0
"$@" </dev/null &
pid=$!
trap 'kill "$pid" 2>/dev/null' TERM INT
( cat <&3 >/dev/null; kill "$pid" 2>/dev/null ) &
watcher=$!
exec 3<&-
wait "$pid"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
"#;

/// A running Prism mock server. Killed on drop.
#[derive(Debug)]
pub struct Prism {
    base_url: String,
    child: Mutex<Child>,
    stdin: Mutex<Option<ChildStdin>>,
    log: Arc<Mutex<String>>,
    started_in: Duration,
    spec: PathBuf,
}

static SHARED: OnceLock<Result<Prism, String>> = OnceLock::new();

impl Prism {
    /// The Prism shared by every test of this test binary, started on first use. Panics with
    /// [`HOW_TO_RUN`] and the cause when it cannot start, in every test that asks for it.
    pub fn shared() -> &'static Prism {
        match SHARED.get_or_init(|| {
            let started = Prism::start();
            if let Ok(p) = &started {
                // Shown with `--nocapture`, or under a failing test.
                #[allow(clippy::print_stderr)]
                {
                    eprintln!(
                        "Prism at {} serving {} answered after {:.1}s",
                        p.base_url,
                        p.spec.display(),
                        p.started_in.as_secs_f64()
                    );
                }
            }
            started
        }) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    /// Start a new Prism on a free port and wait (up to [`START_DEADLINE`]) until it answers.
    /// Every error starts with [`HOW_TO_RUN`].
    pub fn start() -> Result<Prism, String> {
        let spec = spec_path().map_err(|e| format!("{HOW_TO_RUN} ({e})"))?;
        let bin = prism_bin().map_err(|e| format!("{HOW_TO_RUN} ({e})"))?;
        let mut last_err = String::new();
        // A free port can be taken between our probe and Prism's bind: try a few.
        for _ in 0..3 {
            match Prism::start_on(&bin, &spec, free_port()?) {
                Ok(p) => return Ok(p),
                Err((e, retry)) => {
                    last_err = e;
                    if !retry {
                        break;
                    }
                }
            }
        }
        Err(last_err)
    }

    fn start_on(bin: &Path, spec: &Path, port: u16) -> Result<Prism, (String, bool)> {
        let t0 = Instant::now();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(WRAPPER)
            .arg("prism-wrapper")
            .arg(bin)
            .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
            .args(["--errors", "--dynamic", "false"])
            .arg(spec)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| (format!("could not run sh to start Prism: {e}"), false))?;
        let log = Arc::new(Mutex::new(String::new()));
        for out in [
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|o| Box::new(o) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = Arc::clone(&log);
            thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    let mut l = log.lock().unwrap_or_else(|e| e.into_inner());
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        let mut prism = Prism {
            base_url: format!("http://127.0.0.1:{port}/"),
            stdin: Mutex::new(child.stdin.take()),
            child: Mutex::new(child),
            log,
            started_in: Duration::ZERO,
            spec: spec.to_path_buf(),
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        loop {
            if answers_http(addr) {
                prism.started_in = t0.elapsed();
                return Ok(prism);
            }
            let exited = prism
                .child
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .try_wait()
                .ok()
                .flatten();
            if let Some(status) = exited {
                // Give the reader threads a moment to collect the last lines.
                thread::sleep(Duration::from_millis(200));
                let log = prism.log();
                let retry = log.contains("EADDRINUSE");
                return Err((
                    format!(
                        "{HOW_TO_RUN} (Prism {} exited with {status} before answering; its output:\n{})",
                        bin.display(),
                        tail(&log, 40)
                    ),
                    retry,
                ));
            }
            if t0.elapsed() > START_DEADLINE {
                return Err((
                    format!(
                        "{HOW_TO_RUN} (Prism did not answer on port {port} within {}s; its output:\n{})",
                        START_DEADLINE.as_secs(),
                        tail(&prism.log(), 40)
                    ),
                    false,
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The spec file it serves.
    pub fn spec(&self) -> &Path {
        &self.spec
    }

    /// From spawning to the first answer.
    pub fn startup_time(&self) -> Duration {
        self.started_in
    }

    /// A do-api client pointed at this Prism, with a fake bearer token and no retries (a
    /// retry would hide what Prism said the first time). Build one per test: a client's
    /// connections belong to the runtime that made them.
    pub fn client(&self) -> Client {
        Client::builder()
            .token(Token::new(TOKEN).expect("a valid fake token"))
            .base_url(self.base_url.as_str())
            .retry_policy(RetryPolicy::none())
            .build()
            .expect("a client for Prism")
    }

    /// Everything Prism printed so far (its log says why a request was rejected).
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Prism's log lines about rejected requests and violations (`VALIDATOR` warnings and
    /// errors), to put in a failure message. With a shared Prism these may come from any test.
    pub fn violations(&self) -> String {
        self.log()
            .lines()
            .filter(|l| {
                l.contains("Request did not pass")
                    || l.contains("✖")
                    || l.contains("⚠")
                    || l.contains("violation")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        // Closing the wrapper's stdin makes it kill Prism; SIGKILL if that takes too long.
        drop(self.stdin.lock().unwrap_or_else(|e| e.into_inner()).take());
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Whether an HTTP server answers on `addr` (any status line will do).
fn answers_http(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

/// A port nobody listens on right now.
fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
