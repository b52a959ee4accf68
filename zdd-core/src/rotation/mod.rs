//! Rotation through a load balancer, shared by `roll` and blue-green through a load balancer:
//! finding the load balancer, putting droplets in and taking them out (its tag, or its list of
//! droplet ids), and seeing that happen through its own address ([`watching`]) or sleeping the
//! computed waits where nothing can be watched.

use do_api::droplets::Droplet;
use do_api::load_balancers::LoadBalancer;
use do_api::{Client, DropletId, LoadBalancerId};

use crate::Outcome;
use crate::events::Step;
use crate::lb::{LbRef, Membership};
use crate::rolling::waits::Wait;
use crate::runner::Steps;

mod through;
pub(crate) mod watching;

pub(crate) use through::Through;

pub(crate) use watching::{Watch, in_flight_allowance, setup_watch, watch_deadline};

/// The ids of `ds`.
pub(crate) fn ids(ds: &[Droplet]) -> Vec<DropletId> {
    ds.iter().map(|d| d.id).collect()
}

/// `1 (web-1), 2 (web-2)`.
pub(crate) fn names(ds: &[Droplet]) -> String {
    ds.iter()
        .map(|d| format!("{} ({})", d.id, d.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which way a droplet goes through rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Way {
    /// Into the load balancer: its tag on the droplet, or its id added.
    Join,
    /// Out of it: its tag removed, or its id.
    Leave,
}

/// The load balancer `lb`, selecting `by` its tag or a list of ids, selects `ids` from now on
/// ([`Way::Join`]) or no longer ([`Way::Leave`]).
pub(crate) async fn rotate(
    client: &Client,
    lb: &LoadBalancerId,
    by: &Membership,
    ids: &[DropletId],
    way: Way,
) -> Result<(), do_api::Error> {
    match (by, way) {
        (Membership::Tag(t), Way::Join) => client.tags().tag_droplets(t, ids).await,
        (Membership::Tag(t), Way::Leave) => client.tags().untag_droplets(t, ids).await,
        (Membership::DropletIds, Way::Join) => client.load_balancers().add_droplets(lb, ids).await,
        (Membership::DropletIds, Way::Leave) => {
            client.load_balancers().remove_droplets(lb, ids).await
        }
    }
}

/// Sleep computed waits, each as a timed step.
pub(crate) async fn sleep_waits(steps: &Steps<'_>, step: Step, list: &[Wait]) {
    for w in list {
        let s = steps.start(step, format!("wait {w}"));
        tokio::time::sleep(w.applied).await;
        steps.finish(s, true, format!("waited {:.1}s", w.applied.as_secs_f64()));
    }
}

/// Find the load balancer a run is about, as an observation step.
pub(crate) async fn resolve_lb(
    steps: &Steps<'_>,
    client: &Client,
    lb: &LbRef,
) -> Result<LoadBalancer, crate::Error> {
    let s = steps.start(
        Step::Observe,
        match lb {
            LbRef::Id(id) => format!("load balancer {id}"),
            LbRef::Name(n) => format!("load balancer named `{n}`"),
        },
    );
    let r = crate::lb::lookup(client, lb).await;
    match r {
        Ok(Some(lb)) => {
            steps.finish(
                s,
                true,
                format!(
                    "{} ({}) `{}`, {}",
                    lb.name,
                    lb.id,
                    lb.status,
                    crate::lb::membership(&lb)
                ),
            );
            Ok(lb)
        }
        Ok(None) => {
            let msg = format!(
                "no load balancer is named `{}` in this account (check the load balancer given and the token's team)",
                match lb {
                    LbRef::Name(n) => n.as_str(),
                    LbRef::Id(id) => id.as_str(),
                }
            );
            steps.finish(s, false, msg.clone());
            Err(crate::Error::new(Outcome::Refused, msg))
        }
        Err(e) if e.is_not_found() => {
            let msg = "the load balancer does not exist in this account (check the load balancer given and the token's team)".to_owned();
            steps.finish(s, false, msg.clone());
            Err(crate::Error::new(Outcome::Refused, msg))
        }
        Err(do_api::Error::InvalidInput(m)) => {
            steps.finish(s, false, m.clone());
            Err(crate::Error::new(Outcome::Refused, m))
        }
        Err(e) => {
            steps.finish(s, false, e.chain());
            Err(crate::Error::api("reading the load balancer", &e))
        }
    }
}
