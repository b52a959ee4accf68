//! `zdd-do unlock`: break a deploy lock left by a run that is gone.

use zdd_core::rolling::LbRef;
use zdd_core::unlock::{self, UnlockError, UnlockTarget};

use super::{Early, client};
use crate::cli;
use crate::exit;
use crate::render;

/// Run `zdd-do unlock`; returns the exit code.
pub(super) async fn run(g: &cli::Global, u: &cli::UnlockArgs) -> Result<i32, Early> {
    let target = match (u.reserved_ip, &u.lb) {
        (Some(ip), None) => UnlockTarget::ReservedIp(ip),
        (None, Some(lb)) => UnlockTarget::LoadBalancer(LbRef::parse(lb)),
        _ => {
            return Err(Early(
                exit::USAGE,
                "give exactly one of --reserved-ip or --lb".into(),
            ));
        }
    };
    let client = client(g)?;
    let unlocked = unlock::unlock(&client, &target)
        .await
        .map_err(|e| match e {
            UnlockError::NotFound(_) => Early(exit::REFUSED, e.to_string()),
            UnlockError::Api(e) => Early::api(&e),
        })?;
    render::unlock::print(g.output, &unlocked.scope, &unlocked.removed);
    Ok(exit::OK)
}
