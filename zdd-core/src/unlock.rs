//! Breaking a deploy lock by hand (`zdd-do unlock`), for a run that is gone: the lock of a
//! reserved IP, or of a load balancer given by id or name.

use std::net::Ipv4Addr;

use do_api::Client;
use serde::Serialize;

use crate::lb::LbRef;
use crate::lb::{self, FindError};
use crate::lock::{self, LockTag, scope_for_ip, scope_for_lb};

/// Whose deploy lock to break.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnlockTarget {
    /// The blue-green deploys of this reserved IP.
    ReservedIp(Ipv4Addr),
    /// The rolling deploys of this load balancer. Locks are scoped by id: an id is used as
    /// given (so the lock of a load balancer deleted since can still be broken); a name is
    /// looked up.
    LoadBalancer(LbRef),
}

/// What was unlocked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unlocked {
    /// The lock scope (`ip-203-0-113-7`, `lb-<uuid>`).
    pub scope: String,
    /// The lock tags removed, oldest first; empty when no lock was held.
    pub removed: Vec<LockTag>,
}

/// Why nothing (or not everything) was unlocked.
#[derive(Debug, thiserror::Error)]
pub enum UnlockError {
    /// The load balancer named does not exist; nothing was removed.
    #[error("{}", lb::not_found(.0))]
    NotFound(LbRef),
    /// An API call failed (a lock tag removed before it stays removed).
    #[error(transparent)]
    Api(do_api::Error),
}

impl From<FindError> for UnlockError {
    fn from(e: FindError) -> Self {
        match e {
            FindError::Api(e) => UnlockError::Api(e),
            FindError::NotFound(lb) => UnlockError::NotFound(lb),
        }
    }
}

/// The lock scope of `target`: no API call for a reserved IP or a load balancer id; a name is
/// looked up with [`lb::find`].
pub async fn scope(client: &Client, target: &UnlockTarget) -> Result<String, UnlockError> {
    Ok(match target {
        UnlockTarget::ReservedIp(ip) => scope_for_ip(*ip),
        UnlockTarget::LoadBalancer(LbRef::Id(id)) => scope_for_lb(id),
        UnlockTarget::LoadBalancer(name @ LbRef::Name(_)) => {
            scope_for_lb(&lb::find(client, name).await?.id)
        }
    })
}

/// Remove every lock tag of `target` ([`lock::break_all`]). A live holder finds out at its next
/// renewal and stops before its next change.
pub async fn unlock(client: &Client, target: &UnlockTarget) -> Result<Unlocked, UnlockError> {
    let scope = scope(client, target).await?;
    let removed = lock::break_all(client, &scope)
        .await
        .map_err(UnlockError::Api)?;
    Ok(Unlocked { scope, removed })
}
