//! `zdd-do promote`: make the standby live.

use zdd_core::bluegreen::{self, Mode};

use super::{Early, client, interrupted, switch, with_token_hint};
use crate::cli;
use crate::exit;
use crate::hook::{CommandHook, HookOutput};
use crate::render::StderrSink;

/// Run `zdd-do promote`; returns the exit code.
pub(super) async fn run(
    g: &cli::Global,
    p: &cli::PromoteArgs,
    sink: &StderrSink,
) -> Result<i32, Early> {
    let mut cfg = switch::config(&p.switch)?;
    cfg.version = p.app_version.clone();
    if p.exec.as_deref().is_some_and(|c| c.trim().is_empty()) {
        return Err(Early(
            exit::USAGE,
            "--exec is empty; give a command or leave the flag out".into(),
        ));
    }
    if p.image.is_some() || p.user_data.is_some() {
        if p.exec.is_some() {
            return Err(Early(
                exit::USAGE,
                "--image makes a fresh standby with the release baked in, --exec updates the existing one: give one of them".into(),
            ));
        }
        let new = zdd_core::replace::NewDroplets {
            image: p.image.as_deref().map(super::replace::image).transpose()?,
            user_data: super::replace::user_data(p.user_data.as_deref())?,
            ..zdd_core::replace::NewDroplets::default()
        };
        let client = client(g)?;
        let mut report = bluegreen::promote_fresh(&client, &cfg, &new, sink, interrupted()).await;
        report.message = with_token_hint(report.message, report.api_cause);
        return switch::finish(g, &report, p.switch.dotenv.as_ref(), sink);
    }
    let client = client(g)?;
    let hook = p.exec.as_ref().map(|c| CommandHook {
        command: c.clone(),
        timeout: p.exec_timeout,
        output: HookOutput::for_style(sink.style()),
    });
    let mut report = bluegreen::run(
        &client,
        &cfg,
        Mode::Promote,
        hook.as_ref(),
        sink,
        interrupted(),
    )
    .await;
    report.message = with_token_hint(report.message, report.api_cause);
    switch::finish(g, &report, p.switch.dotenv.as_ref(), sink)
}
