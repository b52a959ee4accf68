//! The canary flags (`replace --canary`, `roll --canary`) to a [`CanaryConfig`], each refusal
//! naming its flag.

use zdd_core::canary::{CanaryConfig, CanaryField, CanarySize, Judges};

use super::Early;
use crate::cli::{CanaryArgs, JudgeArg};
use crate::exit;

/// The flag that sets a canary setting.
pub(super) fn flag(f: CanaryField) -> &'static str {
    match f {
        CanaryField::Size => "--canary",
        CanaryField::Window => "--analysis-window",
        CanaryField::Path => "--analysis-path",
        CanaryField::Judges => "--analysis-judges",
        CanaryField::MaxErrorRateIncrease => "--max-error-rate-increase",
        CanaryField::MaxP95Ratio => "--max-p95-ratio",
        CanaryField::MinRequests => "--min-requests",
    }
}

/// The analysis asked for, or `None` without --canary or --canary-percent.
pub(super) fn config(a: &CanaryArgs) -> Result<Option<CanaryConfig>, Early> {
    let usage = |m: String| Early(exit::USAGE, m);
    if a.analysis_exec
        .as_deref()
        .is_some_and(|c| c.trim().is_empty())
    {
        return Err(usage(
            "--analysis-exec is empty; give a command or leave the flag out".into(),
        ));
    }
    let size = match (a.canary, a.canary_percent) {
        (Some(n), _) => CanarySize::Count(n),
        (None, Some(p)) => CanarySize::Percent(p),
        (None, None) => {
            if a.analysis_exec.is_some() {
                return Err(usage(
                    "--analysis-exec judges canaries: give --canary N (or --canary-percent P) too"
                        .into(),
                ));
            }
            return Ok(None);
        }
    };
    let has = |j| a.analysis_judges.contains(&j);
    if has(JudgeArg::Exec) && a.analysis_exec.is_none() {
        return Err(usage(
            "--analysis-judges names exec but no --analysis-exec command is given".into(),
        ));
    }
    let mut c = CanaryConfig::new(size, a.analysis_window);
    c.path.clone_from(&a.analysis_path);
    c.judges = Judges {
        probes: has(JudgeArg::Probes),
        lb_metrics: has(JudgeArg::LbMetrics),
        check: has(JudgeArg::Exec) || a.analysis_exec.is_some(),
    };
    c.thresholds.max_error_rate_increase = a.max_error_rate_increase / 100.0;
    c.thresholds.max_p95_ratio = a.max_p95_ratio;
    c.thresholds.p95_slack = a.p95_slack;
    c.thresholds.min_requests = a.min_requests;
    c.check().map_err(|(f, m)| {
        let f = match (f, a.canary) {
            (CanaryField::Size, None) => "--canary-percent",
            (f, _) => flag(f),
        };
        usage(format!("{f}: {m}"))
    })?;
    Ok(Some(c))
}
