//! `zdd-do roll`: flags to a [`RollingConfig`], run, render, exit code.

use zdd_core::rolling::{self, Drain, OnFailure, RollingConfig, RollingField};

use super::{
    Early, client, health_flag, health_policy, health_target, interrupted, lock_settings,
    with_token_hint,
};
use crate::cli::{self, Output};
use crate::exit;
use crate::hook::{CommandCheck, CommandHook, HookOutput};
use crate::render::{self, StderrSink};

fn config(r: &cli::RollArgs) -> Result<RollingConfig, Early> {
    let usage = |m: String| Early(exit::USAGE, m);
    for (flag, v) in [("--exec", &r.exec), ("--rollback-exec", &r.rollback_exec)] {
        if v.as_deref().is_some_and(|c| c.trim().is_empty()) {
            return Err(usage(format!(
                "{flag} is empty; give a command or leave the flag out"
            )));
        }
    }
    let on_failure = match r.on_failure {
        cli::OnFailureArg::Pause => OnFailure::Pause,
        cli::OnFailureArg::Rollback => OnFailure::Rollback,
    };
    let h = &r.health;
    let health = health_policy(&h.probe).map_err(usage)?;
    let target = health_target(
        h.health_scheme,
        h.health_port,
        h.health_path.as_deref(),
        &h.probe,
    );
    let drain = match r.drain {
        cli::DrainMode::Remove => Drain::Remove,
        cli::DrainMode::ShutdownUrl => Drain::ShutdownUrl {
            path: r.drain_path.clone(),
            method: r.drain_method.to_ascii_uppercase(),
        },
    };
    let lb = super::replace::lb_settings(&r.lb, &r.watch)?;
    let cfg = RollingConfig {
        lb: lb.lb,
        max_unavailable: r.max_unavailable,
        drain,
        drain_wait: lb.drain_wait,
        lb_sync_wait: lb.lb_sync_wait,
        batch_delay: r.batch_delay,
        health,
        target,
        watch: lb.watch,
        put_back_early: !r.put_back_after_gate,
        on_failure,
        version: r.app_version.clone(),
        dry_run: r.dry_run,
        lock: lock_settings(&r.lock)?,
        wait_scale: lb.wait_scale,
        canary: super::canary::config(&r.canary)?,
    };
    // Core's one check of the configuration, in flag names.
    cfg.check(r.rollback_exec.is_some()).map_err(|e| {
        let flags: Vec<&str> = e.fields.iter().map(|f| roll_flag(*f)).collect();
        usage(format!("{}: {}", flags.join(", "), e.message))
    })?;
    Ok(cfg)
}

/// The flag that sets a rolling setting.
fn roll_flag(f: RollingField) -> &'static str {
    match f {
        RollingField::Lb => "--lb",
        RollingField::WaitScale => "--wait-scale",
        RollingField::OnFailure => "--on-failure",
        RollingField::RollbackHook => "--rollback-exec",
        RollingField::DrainPath => "--drain-path",
        RollingField::DrainMethod => "--drain-method",
        RollingField::WatchUrl => "--lb-probe",
        RollingField::Health(h) => health_flag(h),
        RollingField::Canary(c) => super::canary::flag(c),
        _ => "a roll flag",
    }
}

/// Run `zdd-do roll`; returns the exit code.
pub(super) async fn run(
    g: &cli::Global,
    r: &cli::RollArgs,
    sink: &StderrSink,
) -> Result<i32, Early> {
    let cfg = config(r)?;
    let client = client(g)?;
    let hook = |c: &Option<String>| {
        c.as_ref().map(|c| CommandHook {
            command: c.clone(),
            timeout: r.exec_timeout,
            output: HookOutput::for_style(sink.style()),
        })
    };
    let (update, rollback) = (hook(&r.exec), hook(&r.rollback_exec));
    let check = r.canary.analysis_exec.as_ref().map(|c| {
        CommandCheck(CommandHook {
            command: c.clone(),
            timeout: r.canary.analysis_exec_timeout,
            output: HookOutput::for_style(sink.style()),
        })
    });
    let mut report = rolling::run_with_check(
        &client,
        &cfg,
        (update.as_ref(), rollback.as_ref(), check.as_ref()),
        sink,
        interrupted(),
    )
    .await;
    report.message = with_token_hint(report.message, report.api_cause);
    let code = exit::for_roll_outcome(report.outcome);
    if let Some(path) = &r.dotenv {
        crate::dotenv::write_or_warn(path, &render::roll::dotenv(&report, code), sink.style());
    }
    match g.output {
        Output::Json => render::json::print_result_json(&report, code),
        Output::Human => render::roll::print_human(&report, code),
    }
    Ok(code)
}
