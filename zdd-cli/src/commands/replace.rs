//! `zdd-do replace` (and `--finalize`), and `zdd-do rollback --lb` when a replace keeps a
//! previous fleet: flags to a [`ReplaceConfig`], run, render, exit code.

use do_api::VpcId;
use do_api::droplets::{ImageRef, SshKeyRef};
use zdd_core::bluegreen::LbSettings;
use zdd_core::replace::{self, NewDroplets, ReplaceConfig, ReplaceReport};
use zdd_core::rolling::{Identify, LbRef, WatchSettings};

use super::{
    Early, client, health_policy, health_target, interrupted, lock_settings, with_token_hint,
};
use crate::cli::{self, Output};
use crate::exit;
use crate::hook::{CommandCheck, CommandHook, HookOutput};
use crate::render::{self, StderrSink};

/// The load balancer settings from the watch flags.
pub(super) fn lb_settings(lb: &str, w: &cli::LbWatch) -> Result<LbSettings, Early> {
    let usage = |m: String| Early(exit::USAGE, m);
    let identity = w
        .identity
        .as_deref()
        .map(Identify::parse)
        .transpose()
        .map_err(|e| usage(format!("--identity: {e}")))?;
    Ok(LbSettings {
        watch: WatchSettings {
            computed_only: w.computed_waits,
            identity,
            url: w.lb_probe.clone(),
            deadline: w.lb_probe_timeout,
            ..WatchSettings::default()
        },
        drain_wait: w.drain_wait,
        lb_sync_wait: w.lb_sync_wait,
        wait_scale: w.wait_scale,
        ..LbSettings::new(LbRef::parse(lb))
    })
}

/// `--image`: a number is an image (or snapshot) id, anything else a slug.
pub(super) fn image(s: &str) -> Result<ImageRef, Early> {
    let s = s.trim();
    if s.is_empty() {
        return Err(Early(
            exit::USAGE,
            "--image is empty; give a snapshot id, an image id or a slug".into(),
        ));
    }
    Ok(match s.parse::<u64>() {
        Ok(id) => ImageRef::from(id),
        Err(_) => ImageRef::Slug(s.to_owned()),
    })
}

/// `--user-data FILE`'s text.
pub(super) fn user_data(path: Option<&std::path::Path>) -> Result<Option<String>, Early> {
    match path {
        Some(p) => std::fs::read_to_string(p).map(Some).map_err(|e| {
            Early(
                exit::USAGE,
                format!(
                    "--user-data {}: cannot read it ({e}); give a cloud-init file",
                    p.display()
                ),
            )
        }),
        None => Ok(None),
    }
}

fn config(r: &cli::ReplaceArgs) -> Result<ReplaceConfig, Early> {
    let usage = |m: String| Early(exit::USAGE, m);
    let user_data = user_data(r.user_data.as_deref())?;
    if r.exec.as_deref().is_some_and(|c| c.trim().is_empty()) {
        return Err(usage(
            "--exec is empty; give a command or leave the flag out".into(),
        ));
    }
    if !r.finalize && r.image.is_none() && user_data.is_none() && r.exec.is_none() {
        return Err(usage(
            "nothing says what the new droplets run: give --image (a snapshot with the release baked in), --user-data (cloud-init that installs it) or --exec (a command that installs it once they are active), or --finalize to delete what replace keeps".into(),
        ));
    }
    let vpc = match &r.vpc {
        Some(v) if v.trim().is_empty() => {
            return Err(usage(
                "--vpc is empty; give the VPC's UUID or leave it out".into(),
            ));
        }
        Some(v) => Some(VpcId::from(v.trim())),
        None => None,
    };
    let ssh_keys = r
        .ssh_keys
        .iter()
        .filter(|k| !k.trim().is_empty())
        .map(|k| match k.trim().parse::<u64>() {
            Ok(id) => SshKeyRef::from(id),
            Err(_) => SshKeyRef::from(k.trim()),
        })
        .collect();
    let new = NewDroplets {
        image: r.image.as_deref().map(image).transpose()?,
        user_data,
        count: r.count,
        size: r.size.clone(),
        region: r.region.clone(),
        vpc,
        ssh_keys,
        monitoring: r.monitoring,
        tags: r
            .tags
            .iter()
            .filter(|t| !t.trim().is_empty())
            .map(|t| t.trim().to_owned())
            .collect(),
        install: r.exec.clone(),
    };
    let h = &r.health;
    let mut cfg = ReplaceConfig::new(lb_settings(&r.lb, &r.watch)?, new);
    cfg.health = health_policy(&h.probe).map_err(usage)?;
    cfg.target = health_target(
        h.health_scheme,
        h.health_port,
        h.health_path.as_deref(),
        &h.probe,
    );
    cfg.keep_previous = r.keep_previous;
    cfg.version = r.app_version.clone();
    cfg.active_wait = do_api::WaitOptions::with_timeout(r.active_timeout).interval(
        std::time::Duration::from_secs(2),
        std::time::Duration::from_secs(10),
    );
    cfg.dry_run = r.dry_run;
    cfg.lock = lock_settings(&r.lock)?;
    if !r.finalize {
        cfg.canary = super::canary::config(&r.canary)?;
    }
    cfg.check().map_err(usage)?;
    Ok(cfg)
}

/// Run `zdd-do replace`; returns the exit code.
pub(super) async fn run(
    g: &cli::Global,
    r: &cli::ReplaceArgs,
    sink: &StderrSink,
) -> Result<i32, Early> {
    let cfg = config(r)?;
    let client = client(g)?;
    let install = r.exec.as_ref().map(|c| CommandHook {
        command: c.clone(),
        timeout: r.exec_timeout,
        output: HookOutput::for_style(sink.style()),
    });
    let check = r.canary.analysis_exec.as_ref().map(|c| {
        CommandCheck(CommandHook {
            command: c.clone(),
            timeout: r.canary.analysis_exec_timeout,
            output: HookOutput::for_style(sink.style()),
        })
    });
    let report = if r.finalize {
        replace::finalize(&client, &cfg, sink, interrupted()).await
    } else {
        replace::run_with_check(
            &client,
            &cfg,
            install.as_ref(),
            check.as_ref(),
            sink,
            interrupted(),
        )
        .await
    };
    Ok(finish(g, report, r.dotenv.as_deref(), sink))
}

/// `zdd-do rollback --lb` after a replace: the kept fleet back. Health scheme and path come
/// from the load balancer's check (the port and the probe flags from the command line).
pub(super) async fn rollback(
    g: &cli::Global,
    r: &cli::RollbackArgs,
    lb: &str,
    sink: &StderrSink,
) -> Result<i32, Early> {
    let s = &r.switch;
    let defaults = cli::LbWatch {
        drain_wait: std::time::Duration::from_secs(5),
        lb_sync_wait: std::time::Duration::from_secs(5),
        identity: None,
        lb_probe: None,
        lb_probe_timeout: None,
        computed_waits: false,
        wait_scale: r.wait_scale,
    };
    let mut cfg = ReplaceConfig::new(lb_settings(lb, &defaults)?, NewDroplets::default());
    cfg.health = health_policy(&s.health.probe).map_err(|m| Early(exit::USAGE, m))?;
    cfg.target = health_target(None, s.health.health_port, None, &s.health.probe);
    cfg.dry_run = s.dry_run;
    cfg.lock = lock_settings(&s.lock)?;
    cfg.check().map_err(|m| Early(exit::USAGE, m))?;
    let client = client(g)?;
    let report = replace::rollback(&client, &cfg, sink, interrupted()).await;
    Ok(finish(g, report, s.dotenv.as_deref(), sink))
}

fn finish(
    g: &cli::Global,
    mut report: ReplaceReport,
    dotenv: Option<&std::path::Path>,
    sink: &StderrSink,
) -> i32 {
    report.message = with_token_hint(report.message, report.api_cause);
    let code = exit::for_outcome(report.outcome);
    if let Some(path) = dotenv {
        crate::dotenv::write_or_warn(path, &render::replace::dotenv(&report, code), sink.style());
    }
    match g.output {
        Output::Json => render::json::print_result_json(&report, code),
        Output::Human => render::replace::print_human(&report, code),
    }
    code
}
