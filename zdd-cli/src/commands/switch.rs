//! What `promote` and `rollback` share: the blue-green config from the flags, and the end of a
//! run (the dotenv report, the result on stdout, the exit code).

use std::path::PathBuf;

use do_api::WaitOptions;
use zdd_core::bluegreen::{BlueGreenConfig, BlueGreenReport};

use super::{Early, health, lock_settings, roles};
use crate::cli::{self, Output};
use crate::exit;
use crate::render::{self, StderrSink};

/// The blue-green config the shared switch flags ask for; each command adds its own.
pub(super) fn config(s: &cli::Switch) -> Result<BlueGreenConfig, Early> {
    let (target, health) = health(&s.health)?;
    Ok(BlueGreenConfig {
        roles: roles(&s.pair)?,
        reserved_ip: s.pair.reserved_ip,
        health,
        target,
        assign_wait: WaitOptions::with_timeout(s.assign_timeout),
        verify_deadline: s.verify_deadline,
        version: None,
        dry_run: s.dry_run,
        force: false,
        lock: lock_settings(&s.lock)?,
    })
}

/// The dotenv report, the result on stdout, and the exit code of `report`.
pub(super) fn finish(
    g: &cli::Global,
    report: &BlueGreenReport,
    dotenv: Option<&PathBuf>,
    sink: &StderrSink,
) -> Result<i32, Early> {
    let code = exit::for_outcome(report.outcome);
    if let Some(path) = dotenv {
        crate::dotenv::write_or_warn(path, &render::bluegreen::dotenv(report, code), sink.style());
    }
    match g.output {
        Output::Json => render::json::print_result_json(report, code),
        Output::Human => render::bluegreen::print_human(report, code),
    }
    Ok(code)
}
