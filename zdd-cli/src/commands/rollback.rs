//! `zdd-do rollback`: send traffic back to the standby (the previous version).

use zdd_core::bluegreen::{self, Mode};
use zdd_core::hook::NoHook;

use super::{Early, client, interrupted, switch, with_token_hint};
use crate::cli;
use crate::render::StderrSink;

/// Run `zdd-do rollback`; returns the exit code.
pub(super) async fn run(
    g: &cli::Global,
    r: &cli::RollbackArgs,
    sink: &StderrSink,
) -> Result<i32, Early> {
    // Bad flags: refused before anything is sent.
    let mut cfg = switch::config(&r.switch)?;
    // A load balancer whose fleet a replace keeps: its rollback puts that fleet back.
    if let Some(lb) = &r.switch.lb {
        let client = client(g)?;
        let kept = zdd_core::replace::has_previous(&client, &zdd_core::lb::LbRef::parse(lb))
            .await
            .map_err(|e| Early::api(&e))?;
        if kept {
            return super::replace::rollback(g, r, lb, sink).await;
        }
    }
    cfg.force = r.force;
    let client = client(g)?;
    let mut report = bluegreen::run(
        &client,
        &cfg,
        Mode::Rollback,
        None::<&NoHook>,
        sink,
        interrupted(),
    )
    .await;
    report.message = with_token_hint(report.message, report.api_cause);
    switch::finish(g, &report, r.switch.dotenv.as_ref(), sink)
}
