//! The demo's report: the document (`--output json`) and the text a person reads at a glance.

use std::io::Write;
use std::time::Duration;

use std::collections::BTreeMap;

use do_sim::traffic::ClientKind;
use serde::Serialize;

/// One deploy's figures.
#[derive(Debug, Serialize)]
pub struct DeployFigures {
    pub what: String,
    pub outcome: String,
    pub message: String,
    #[serde(with = "zdd_core::report::secs")]
    pub wall: Duration,
    #[serde(with = "zdd_core::report::secs")]
    pub lower_bound: Duration,
    pub lower_bound_formula: String,
    pub ratio: f64,
    pub target: String,
    pub within_target: bool,
    pub api_calls: u64,
    /// The entry point whose traffic the deploy changed (`reserved IP`, `load balancer
    /// (pair)`, `load balancer (fleet)`).
    pub entry: String,
    /// Requests of that traffic, all client kinds, that failed while the deploy ran.
    pub failed_requests: u64,
    /// What its canary analysis found, and what the traffic saw of the canary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryFigures>,
    /// A roll's waits: how many were watched and computed, and their time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waits: Option<WaitSummary>,
    pub steps: Vec<(String, f64)>,
}

/// A canary deploy: what zdd-do's analysis found, and what the demo's own traffic saw.
#[derive(Debug, Serialize)]
pub struct CanaryFigures {
    /// The release the canary ran.
    pub version: String,
    /// The share of its requests it fails (healthy nonetheless).
    pub fail_share: f64,
    /// The canary droplets.
    pub canaries: Vec<String>,
    /// How long they took traffic before they were judged.
    #[serde(with = "zdd_core::report::secs")]
    pub window: Duration,
    /// `pass`, `fail` or `inconclusive`.
    pub verdict: String,
    pub judges: Vec<JudgeFigures>,
    /// The requests the canaries failed in the window, as zdd-do reported them (its blast
    /// radius), and who counted them (`lb-metrics`: every client's; `probes`: zdd-do's own).
    pub failed_requests_reported: Option<u64>,
    pub counted_by: Option<String>,
    /// The droplets in the load balancer's rotation after the deploy, and those it deleted.
    pub serving_after: Vec<Serving>,
    pub deleted: Vec<String>,
    /// What the demo's traffic saw of it.
    pub traffic: CanaryTraffic,
}

/// A droplet in a load balancer's rotation.
#[derive(Debug, Serialize)]
pub struct Serving {
    pub name: String,
    pub version: String,
}

/// One judge's figures: the canaries against the old droplets over the same window.
#[derive(Debug, Serialize)]
pub struct JudgeFigures {
    /// `probes`, `lb-metrics` or `check`.
    pub judge: String,
    pub verdict: String,
    pub reason: String,
    pub canary_requests: Option<u64>,
    pub canary_errors: Option<u64>,
    /// A share (0.05 is 5%).
    pub canary_error_rate: Option<f64>,
    pub canary_p95_ms: Option<f64>,
    pub old_requests: Option<u64>,
    pub old_errors: Option<u64>,
    pub old_error_rate: Option<f64>,
    pub old_p95_ms: Option<f64>,
}

/// The demo's traffic around a canary: the requests that failed while it served (its blast
/// radius as the clients saw it) and at any other time (which must be none).
#[derive(Debug, Default, Serialize)]
pub struct CanaryTraffic {
    pub entry: String,
    /// When the canary's release answered the traffic, in seconds from the traffic's start:
    /// from the first second in which it answered to the end of the second after its last
    /// answer.
    pub window_s: Option<(f64, f64)>,
    /// Successful answers from the canary's release.
    pub answered: u64,
    /// Requests sent in that window, and how many failed.
    pub sent_while_serving: u64,
    pub failed_while_serving: u64,
    /// Requests through the same entry point that failed outside that window, at any time.
    pub failed_outside: u64,
}

/// A roll's waits, watched and computed.
#[derive(Debug, Serialize)]
pub struct WaitSummary {
    /// Why they were computed, when they were.
    pub computed_because: Option<String>,
    pub observed: usize,
    #[serde(with = "zdd_core::report::secs")]
    pub observed_time: Duration,
    pub computed: usize,
    #[serde(with = "zdd_core::report::secs")]
    pub computed_time: Duration,
}

impl WaitSummary {
    /// From a roll's report.
    pub fn of(r: &zdd_core::rolling::RollingReport) -> WaitSummary {
        use zdd_core::rolling::WaitHow;
        let all: Vec<&zdd_core::rolling::Wait> = r.batches.iter().flat_map(|b| &b.waits).collect();
        let sum = |how: WaitHow| -> (usize, Duration) {
            let w: Vec<_> = all.iter().filter(|w| w.how == how).collect();
            (w.len(), w.iter().map(|w| w.applied).sum())
        };
        let (observed, observed_time) = sum(WaitHow::Observed);
        let (computed, computed_time) = sum(WaitHow::Computed);
        WaitSummary {
            computed_because: r.watch.as_ref().and_then(|w| w.reason.clone()),
            observed,
            observed_time,
            computed,
            computed_time,
        }
    }
}

/// The script pipelines run today, run on the same fleet.
#[derive(Debug, Serialize)]
pub struct ScriptRun {
    pub what: String,
    #[serde(with = "zdd_core::report::secs")]
    pub wall: Duration,
    /// Requests through the load balancer that failed while it ran.
    pub failed_requests: u64,
    pub error: Option<String>,
}

/// What one client kind saw through one entry point, against its floor.
#[derive(Debug, Serialize)]
pub struct KindFigures {
    pub kind: ClientKind,
    pub label: String,
    pub sent: u64,
    pub failed: u64,
    /// Of `failed`, those in the canary's window (its blast radius; 0 where no canary served),
    /// and the rest, which the floor holds.
    pub failed_while_canary_served: u64,
    pub failed_outside_canary: u64,
    /// Failures by kind (`reset`, `reset (reused connection)`, `status 503`, ...).
    pub failures: BTreeMap<String, u64>,
    /// Requests sent again on a new connection after their reused one failed.
    pub retried: u64,
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The most failures allowed outside a canary's window: through a reserved IP, the
    /// blackout term plus the requests in flight at its moves; through a load balancer, 0.
    pub floor: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub floor_formula: Option<String>,
}

/// What one entry point saw, client kind by client kind.
#[derive(Debug, Serialize)]
pub struct EntryTraffic {
    pub entry: String,
    pub url: String,
    /// Moves of the reserved IP while traffic ran (0 for a load balancer).
    pub moves: u32,
    /// The blackout after each move, in seconds.
    pub blackout_s: f64,
    /// When a canary served this traffic (seconds from its start; see
    /// [`CanaryTraffic::window_s`]).
    pub canary_window_s: Option<(f64, f64)>,
    pub kinds: Vec<KindFigures>,
    /// One character per second: the version that answered (`1`, `2`, `3`), `+` several.
    pub timeline: String,
    /// Under the timeline: `x` for a second in which a request failed.
    pub failures: String,
}

/// The demo's result: the document on stdout with `--output json`.
#[derive(Debug, Serialize)]
pub struct DemoReport {
    pub ok: bool,
    pub time_scale: f64,
    /// Whether the reserved IP's switches used the pre-switch hook.
    pub pre_switch: bool,
    #[serde(with = "zdd_core::report::secs")]
    pub total: Duration,
    pub deploys: Vec<DeployFigures>,
    /// The rolling deploy as a script with fixed sleeps, run on the same fleet after it.
    pub fixed_sleep_script: ScriptRun,
    pub traffic: Vec<EntryTraffic>,
    pub sim_api_calls: u64,
}

/// The report a person reads at a glance, on stdout.
pub fn print_human(r: &DemoReport) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out);
    let canary = r.deploys.iter().find_map(|d| d.canary.as_ref());
    let _ = writeln!(
        out,
        "zdd-do demo: {} in {:.1}s (DigitalOcean times scaled ×{})",
        match (r.ok, canary) {
            (true, None) =>
                "every deploy succeeded; no request failed through the load balancers, and through the reserved IP no client lost more than a move costs on DigitalOcean",
            (true, Some(_)) =>
                "every deploy ended as it should, the flawed release's canary caught and rolled back; through the load balancers no request failed outside the canary's window, and through the reserved IP no client lost more than a move costs on DigitalOcean",
            (false, _) => "SOMETHING FAILED (see below)",
        },
        r.total.as_secs_f64(),
        r.time_scale
    );
    let _ = writeln!(
        out,
        "\ntraffic: three kinds of client through each entry point (a new connection per request; keep-alive, no retry; keep-alive that retries once on a new connection)"
    );
    for t in &r.traffic {
        let _ = writeln!(out, "  {} {}", t.entry, t.url);
        for k in &t.kinds {
            let failures: Vec<String> =
                k.failures.iter().map(|(w, n)| format!("{w} {n}")).collect();
            let _ = writeln!(
                out,
                "    {:<27} {:>6} sent {:>4} failed{}{}  allowed {:<4}{:>6.1} req/s  p50 {:.1} ms  p99 {:.1} ms{}{}",
                k.label,
                k.sent,
                k.failed,
                if t.canary_window_s.is_some() {
                    format!(
                        " ({} in the canary's window, {} outside)",
                        k.failed_while_canary_served, k.failed_outside_canary
                    )
                } else {
                    String::new()
                },
                if k.failed_outside_canary > k.floor {
                    " (TOO MANY)"
                } else {
                    ""
                },
                k.floor,
                k.rate,
                k.p50_ms,
                k.p99_ms,
                if failures.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", failures.join(", "))
                },
                if k.retried > 0 {
                    format!("  ({} retried)", k.retried)
                } else {
                    String::new()
                }
            );
        }
        let _ = writeln!(out, "    versions over time (1 s each): {}", t.timeline);
        if !t.failures.is_empty() {
            let _ = writeln!(out, "    requests failed in second:     {}", t.failures);
        }
        if let Some((from, to)) = t.canary_window_s {
            let outside: u64 = t.kinds.iter().map(|k| k.failed_outside_canary).sum();
            let _ = writeln!(
                out,
                "    the canary's window: {from:.0}s to {to:.0}s (from the first second its release answered to the end of the second after its last answer); outside it {outside} requests failed, {} allowed",
                t.kinds.iter().map(|k| k.floor).sum::<u64>()
            );
        }
        if t.moves > 0 {
            if let Some(f) = t.kinds.first().and_then(|k| k.floor_formula.as_ref()) {
                let _ = writeln!(out, "    allowed, per kind: {f}");
            }
            let _ = writeln!(
                out,
                "    why: on DigitalOcean a reserved IP's move breaks every connection open through it and refuses new ones for a moment (modelled: {:.1} s after each of the {} moves). {} Through a load balancer nothing moves: 0 allowed.",
                t.blackout_s,
                t.moves,
                if r.pre_switch {
                    "The pre-switch hook had the live droplet close its kept-alive connections first, so only requests in flight and those meeting the blackout fail."
                } else {
                    "Without the pre-switch hook (--without-pre-switch), a client that keeps connections alive and does not retry also loses one request per pooled connection: more than allowed."
                }
            );
        }
    }
    let _ = writeln!(
        out,
        "  legend: a digit n = only vn answered (1 = v1, 4 = v4), + = several, . = none; x = a request failed that second"
    );
    let _ = writeln!(out, "\ndeploys");
    for d in &r.deploys {
        let _ = writeln!(
            out,
            "  {:<50} {:<11} {:>5.1}s  ({:.2} × its physical floor of {:.1}s)  {} API calls  {} failed requests ({})",
            d.what,
            d.outcome,
            d.wall.as_secs_f64(),
            d.ratio,
            d.lower_bound.as_secs_f64(),
            d.api_calls,
            d.failed_requests,
            d.entry
        );
        // Time per kind of step, summed over the droplets (steps of a batch overlap).
        let mut totals: Vec<(&str, f64)> = Vec::new();
        for (name, t) in &d.steps {
            match totals.iter_mut().find(|(n, _)| n == name) {
                Some(e) => e.1 += t,
                None => totals.push((name, *t)),
            }
        }
        let steps: Vec<String> = totals.iter().map(|(s, t)| format!("{s} {t:.1}s")).collect();
        let _ = writeln!(out, "    time in steps: {}", steps.join(", "));
        if let Some(w) = &d.waits {
            let _ = writeln!(
                out,
                "    waits: {} watched ({:.1}s), {} computed ({:.1}s){}",
                w.observed,
                w.observed_time.as_secs_f64(),
                w.computed,
                w.computed_time.as_secs_f64(),
                w.computed_because
                    .as_ref()
                    .map(|why| format!(": computed because {why}"))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(out, "    physical floor: {}", d.lower_bound_formula);
        if let Some(c) = &d.canary {
            print_canary(&mut out, c);
        }
    }
    if let Some(roll) = r.deploys.iter().find(|d| d.what.starts_with("roll ")) {
        let f = &r.fixed_sleep_script;
        let _ = match &f.error {
            None => writeln!(
                out,
                "\nthe fixed-sleep script, run on the same fleet ({}): {:.1}s, {} failed requests; zdd-do's roll: {:.1}s",
                f.what,
                f.wall.as_secs_f64(),
                f.failed_requests,
                roll.wall.as_secs_f64()
            ),
            Some(e) => writeln!(out, "\nthe fixed-sleep script failed: {e}"),
        };
    }
    let _ = writeln!(
        out,
        "simulated DigitalOcean API calls in all: {}",
        r.sim_api_calls
    );
    let _ = writeln!(
        out,
        "\nrehearse your own pipeline against the simulator: zdd-do sim"
    );
}

/// A canary deploy's analysis and blast radius, under its row.
fn print_canary(out: &mut impl Write, c: &CanaryFigures) {
    let _ = writeln!(
        out,
        "    canary: {} ({}, failing {}% of its requests) took traffic beside the old fleet for {:.1}s; verdict: {}",
        c.canaries.join(", "),
        c.version,
        c.fail_share * 100.0,
        c.window.as_secs_f64(),
        c.verdict
    );
    let rate = |rate: Option<f64>, errors: Option<u64>, requests: Option<u64>| match (
        rate, errors, requests,
    ) {
        (Some(r), Some(e), Some(n)) => format!("{:.1}% ({e} of {n})", r * 100.0),
        _ => "not measured".to_owned(),
    };
    let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1} ms"));
    for j in &c.judges {
        let _ = writeln!(
            out,
            "      {:<11} {:<12} error rate {} against the old droplets' {}; p95 {} against {}",
            j.judge,
            j.verdict,
            rate(j.canary_error_rate, j.canary_errors, j.canary_requests),
            rate(j.old_error_rate, j.old_errors, j.old_requests),
            ms(j.canary_p95_ms),
            ms(j.old_p95_ms)
        );
    }
    let t = &c.traffic;
    let _ = writeln!(
        out,
        "    blast radius: zdd-do reported {} failed requests ({}); the demo's traffic through the {}: {} of {} failed while the canary served ({}), {} outside that window",
        c.failed_requests_reported
            .map_or("no count of".to_owned(), |n| n.to_string()),
        match c.counted_by.as_deref() {
            Some("lb-metrics") =>
                "by the load balancer's metrics: every client's requests, its probes included",
            Some("probes") => "by its probes: its own requests only",
            _ => "not counted",
        },
        t.entry,
        t.failed_while_serving,
        t.sent_while_serving,
        t.window_s
            .map_or("it never answered".to_owned(), |(from, to)| format!(
                "{from:.0}s to {to:.0}s"
            )),
        t.failed_outside
    );
    let _ = writeln!(
        out,
        "    afterwards: {} serve; deleted {}",
        if c.serving_after.is_empty() {
            "no droplets".to_owned()
        } else {
            c.serving_after
                .iter()
                .map(|s| format!("{} ({})", s.name, s.version))
                .collect::<Vec<_>>()
                .join(", ")
        },
        if c.deleted.is_empty() {
            "nothing".to_owned()
        } else {
            c.deleted.join(", ")
        }
    );
}
