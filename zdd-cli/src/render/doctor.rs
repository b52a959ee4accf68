//! What `doctor` prints: one line per check, and what to fix under each that did not pass.

use std::io::Write;

use zdd_core::doctor::{DoctorReport, Verdict};

/// The checks, on stdout.
pub fn print_human(r: &DoctorReport, code: i32) {
    let mut out = std::io::stdout().lock();
    for c in &r.checks {
        let mark = match c.verdict {
            Verdict::Pass => "ok  ",
            Verdict::Warn => "warn",
            Verdict::Fail => "FAIL",
        };
        let _ = writeln!(out, "{mark} {:<13} {}", c.name, c.detail);
        if let Some(fix) = &c.fix {
            let _ = writeln!(out, "     {:<13} fix: {fix}", "");
        }
    }
    let _ = writeln!(
        out,
        "{}",
        match r.first_failure() {
            None => "a deploy can run (exit 0)".to_owned(),
            Some(c) => format!("a deploy would fail: {} (exit {code})", c.name),
        }
    );
}
