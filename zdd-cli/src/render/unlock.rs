//! The result of `unlock`: the lock tags removed.

use std::io::Write;

use zdd_core::lock::LockTag;

use crate::cli::Output;

/// The lock tags removed under `scope`, as a document or as lines on stdout.
pub fn print(output: Output, scope: &str, removed: &[LockTag]) {
    match output {
        Output::Json => {
            super::json::print_json(&serde_json::json!({"scope": scope, "removed": removed}))
        }
        Output::Human => {
            let mut out = std::io::stdout().lock();
            if removed.is_empty() {
                let _ = writeln!(out, "no deploy lock held for {scope}");
            }
            for l in removed {
                let _ = writeln!(out, "removed deploy lock {}", l.tag);
            }
        }
    }
}
