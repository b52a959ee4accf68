//! `zdd-do unlock`: break a deploy lock left by a run that is gone.

use super::{Early, client};
use crate::cli;
use crate::exit;
use crate::render;

/// Run `zdd-do unlock`; returns the exit code.
pub(super) async fn run(g: &cli::Global, u: &cli::UnlockArgs) -> Result<i32, Early> {
    if u.reserved_ip.is_some() == u.lb.is_some() {
        return Err(Early(
            exit::USAGE,
            "give exactly one of --reserved-ip or --lb".into(),
        ));
    }
    let client = client(g)?;
    let scope = match (&u.reserved_ip, &u.lb) {
        (Some(ip), _) => zdd_core::lock::scope_for_ip(*ip),
        (None, Some(lb)) => match zdd_core::rolling::LbRef::parse(lb) {
            zdd_core::rolling::LbRef::Id(id) => zdd_core::lock::scope_for_lb(&id),
            // The lock is scoped by id: look the name up.
            zdd_core::rolling::LbRef::Name(name) => {
                match client
                    .load_balancers()
                    .find_by_name(&name)
                    .await
                    .map_err(|e| Early(exit::API, e.chain()))?
                {
                    Some(found) => zdd_core::lock::scope_for_lb(&found.id),
                    None => {
                        return Err(Early(
                            exit::REFUSED,
                            format!("no load balancer is named `{name}`"),
                        ));
                    }
                }
            }
        },
        (None, None) => unreachable!("checked above"),
    };
    let removed = zdd_core::lock::break_all(&client, &scope)
        .await
        .map_err(|e| Early(exit::API, e.chain()))?;
    render::unlock::print(g.output, &scope, &removed);
    Ok(exit::OK)
}
