//! The result as a JSON document on stdout (`--output json`).

use std::io::Write;

/// A document on stdout, pretty-printed.
pub fn print_json(v: &impl serde::Serialize) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, v);
    let _ = writeln!(out);
}

/// A strategy's report as the JSON document on stdout, with the exit code added.
pub fn print_result_json(report: &impl serde::Serialize, code: i32) {
    let mut v = serde_json::to_value(report).unwrap_or_default();
    v["exit_code"] = code.into();
    print_json(&v);
}
