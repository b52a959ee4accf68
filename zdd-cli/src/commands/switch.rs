//! What `promote` and `rollback` share: the blue-green config from the flags, and the end of a
//! run (the dotenv report, the result on stdout, the exit code).

use std::path::PathBuf;

use do_api::WaitOptions;
use zdd_core::bluegreen::{
    BlueGreenConfig, BlueGreenField, BlueGreenReport, LbRef, LbSettings, PreSwitch,
};

use super::{Early, health, health_flag, lock_settings, roles};
use crate::cli::{self, Output};
use crate::exit;
use crate::render::{self, StderrSink};

/// The blue-green config the shared switch flags ask for; each command adds its own.
pub(super) fn config(s: &cli::Switch) -> Result<BlueGreenConfig, Early> {
    let (target, health) = health(&s.health)?;
    let cfg = BlueGreenConfig {
        roles: roles(&s.pair)?,
        reserved_ip: s.pair.reserved_ip,
        load_balancer: s.lb.as_deref().map(|l| LbSettings::new(LbRef::parse(l))),
        health,
        target,
        assign_wait: WaitOptions::with_timeout(s.assign_timeout),
        verify_deadline: s.verify_deadline,
        pre_switch: s.pre_switch_path.as_ref().map(|path| PreSwitch {
            path: path.clone(),
            method: s.pre_switch_method.clone(),
        }),
        version: None,
        dry_run: s.dry_run,
        force: false,
        lock: lock_settings(&s.lock)?,
    };
    check(&cfg)?;
    Ok(cfg)
}

/// Core's one check of a blue-green configuration, in flag names.
pub(super) fn check(cfg: &BlueGreenConfig) -> Result<(), Early> {
    cfg.check().map_err(|e| {
        let flags: Vec<&str> = e
            .fields
            .iter()
            .map(|f| match f {
                BlueGreenField::ReservedIp => "--reserved-ip",
                BlueGreenField::Lb => "--lb",
                BlueGreenField::VerifyDeadline => "--verify-deadline",
                BlueGreenField::PreSwitch => "--pre-switch-path",
                BlueGreenField::PreSwitchMethod => "--pre-switch-method",
                BlueGreenField::Health(h) => health_flag(*h),
                _ => "a load balancer setting",
            })
            .collect();
        Early(exit::USAGE, format!("{}: {}", flags.join(", "), e.message))
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
