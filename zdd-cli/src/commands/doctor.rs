//! `zdd-do doctor`: check a setup before the first deploy; exit with the code a deploy would.

use zdd_core::doctor::{self, DoctorConfig, DoctorTarget, Trouble};
use zdd_core::health::HealthGate;
use zdd_core::lb::LbRef;

use super::{Early, client, health, roles};
use crate::cli::{self, Output};
use crate::exit;
use crate::render;

/// Run `zdd-do doctor`; returns the exit code.
pub(super) async fn run(g: &cli::Global, d: &cli::DoctorArgs) -> Result<i32, Early> {
    let (target, policy) = health(&d.health)?;
    let roles = roles(&d.pair)?;
    let target_kind = match (&d.lb, d.pair.reserved_ip) {
        (Some(_), Some(ip)) => {
            return Err(Early(
                exit::USAGE,
                format!(
                    "--reserved-ip {ip}, --lb: check one of them, the way your deploy switches"
                ),
            ));
        }
        (Some(lb), None) => {
            let lb = LbRef::parse(lb);
            lb.check()
                .map_err(|m| Early(exit::USAGE, format!("--lb: {m}")))?;
            DoctorTarget::LoadBalancer(lb)
        }
        (None, ip) => DoctorTarget::ReservedIp(ip),
    };
    let cfg = DoctorConfig {
        roles,
        target: target_kind,
        gate: HealthGate::new(target.resolve_alone(), policy),
    };
    let client = client(g)?;
    let report = doctor::doctor(&client, &cfg).await;
    let code = match report.first_failure().and_then(|c| c.trouble) {
        None => exit::OK,
        Some(Trouble::Api) => exit::API,
        Some(Trouble::Setup) => exit::REFUSED,
        Some(Trouble::Health) => exit::NOT_READY,
    };
    match g.output {
        Output::Json => render::json::print_result_json(&report, code),
        Output::Human => render::doctor::print_human(&report, code),
    }
    Ok(code)
}
