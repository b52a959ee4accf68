//! The demo's report: the document (`--output json`) and the text a person reads at a glance.

use std::io::Write;
use std::time::Duration;

use do_sim::traffic::LoadReport;
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
    /// A roll's waits: how many were watched and computed, and their time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waits: Option<WaitSummary>,
    pub steps: Vec<(String, f64)>,
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

/// What one entry point saw.
#[derive(Debug, Serialize)]
pub struct Traffic {
    pub entry: String,
    pub url: String,
    pub report: LoadReport,
    /// One character per second: the version that answered (`1`, `2`, `3`), `+` several, `x`
    /// failures.
    pub timeline: String,
}

/// The demo's result: the document on stdout with `--output json`.
#[derive(Debug, Serialize)]
pub struct DemoReport {
    pub ok: bool,
    pub time_scale: f64,
    #[serde(with = "zdd_core::report::secs")]
    pub total: Duration,
    pub deploys: Vec<DeployFigures>,
    /// The rolling deploy as a script with fixed sleeps, run on the same fleet after it.
    pub fixed_sleep_script: ScriptRun,
    pub traffic: Vec<Traffic>,
    pub sim_api_calls: u64,
}

/// The report a person reads at a glance, on stdout.
pub fn print_human(r: &DemoReport) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "zdd-do demo: {} in {:.1}s (DigitalOcean times scaled ×{})",
        if r.ok {
            "every deploy succeeded and no request failed"
        } else {
            "SOMETHING FAILED (see below)"
        },
        r.total.as_secs_f64(),
        r.time_scale
    );
    let _ = writeln!(out, "\ntraffic");
    for t in &r.traffic {
        let rep = &t.report;
        let _ = writeln!(
            out,
            "  {:<14} {:>6} sent  {:>3} failed  {:>6.1} req/s  p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms",
            t.entry,
            rep.sent,
            rep.failed,
            rep.rate(),
            rep.p50_ms,
            rep.p95_ms,
            rep.p99_ms
        );
        let _ = writeln!(
            out,
            "  {:<14} versions over time (1 s each): {}",
            "", t.timeline
        );
    }
    let _ = writeln!(
        out,
        "  legend: 1 = only v1 answered, 2 = only v2, 3 = only v3, + = several, x = a request failed"
    );
    let _ = writeln!(out, "\ndeploys");
    for d in &r.deploys {
        let _ = writeln!(
            out,
            "  {:<36} {:<9} {:>5.1}s  lower bound {:>5.1}s  ratio {:.2} (target {}{})  {} API calls",
            d.what,
            d.outcome,
            d.wall.as_secs_f64(),
            d.lower_bound.as_secs_f64(),
            d.ratio,
            d.target,
            if d.within_target { ", met" } else { ", MISSED" },
            d.api_calls
        );
        // Repeated steps (one per droplet in a roll) are summed: `drain ×6 4.5s`.
        let mut totals: Vec<(&str, usize, f64)> = Vec::new();
        for (name, t) in &d.steps {
            match totals.iter_mut().find(|(n, _, _)| n == name) {
                Some(e) => {
                    e.1 += 1;
                    e.2 += t;
                }
                None => totals.push((name, 1, *t)),
            }
        }
        let steps: Vec<String> = totals
            .iter()
            .map(|(s, n, t)| {
                if *n > 1 {
                    format!("{s} ×{n} {t:.1}s")
                } else {
                    format!("{s} {t:.1}s")
                }
            })
            .collect();
        let _ = writeln!(out, "    steps: {}", steps.join(", "));
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
        let _ = writeln!(out, "    lower bound: {}", d.lower_bound_formula);
    }
    if let Some(roll) = r.deploys.last() {
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
