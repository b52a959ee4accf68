//! Through a load balancer: observing it and the tagged droplets, and deciding how droplets
//! are seen joining and leaving it ([`Through`] is what a run knows of it).

use do_api::load_balancers::LoadBalancer;

use super::*;
use crate::bluegreen::plan::Roles;
use crate::lb::{Membership, membership};
use crate::rotation;
pub(super) use crate::rotation::Through;

/// The load balancer (read again: its droplet list and selector now) and the droplets with
/// either tag; a load balancer selecting by a tag of its own also lists that tag's droplets.
pub(super) async fn observe(
    steps: &Steps<'_>,
    client: &Client,
    roles: &Roles,
    lb: &LoadBalancer,
) -> Result<LbObservation, Stop> {
    let s = steps.start(
        Step::Observe,
        format!(
            "load balancer {} and the droplets tagged `{}` and `{}`",
            lb.name, roles.live_tag, roles.standby_tag
        ),
    );
    let result = async {
        let lb = client.load_balancers().get(&lb.id).await?;
        let live_tagged = client.droplets().list_by_tag(&roles.live_tag).await?;
        let standby_tagged = client.droplets().list_by_tag(&roles.standby_tag).await?;
        let ids = |ds: &[Droplet]| ds.iter().map(|d| d.id).collect::<Vec<_>>();
        let selected = match membership(&lb) {
            // Refused by the plan; nothing more to read.
            Membership::Tag(t) if t == roles.live_tag => ids(&live_tagged),
            Membership::Tag(t) if t == roles.standby_tag => ids(&standby_tagged),
            Membership::Tag(t) => ids(&client.droplets().list_by_tag(&t).await?),
            Membership::DropletIds => lb.droplet_ids.clone(),
        };
        Ok::<_, do_api::Error>(LbObservation {
            lb,
            selected,
            live_tagged,
            standby_tagged,
        })
    }
    .await;
    match result {
        Ok(obs) => {
            steps.finish(
                s,
                true,
                format!(
                    "load balancer {} selects {} droplet(s)",
                    obs.lb.name,
                    obs.selected.len()
                ),
            );
            Ok(obs)
        }
        Err(e) => {
            steps.finish(s, false, e.chain());
            Err(api_stop("observing", &e))
        }
    }
}

impl Run<'_> {
    pub(super) fn through(&self) -> &Through {
        self.through.as_ref().expect("through a load balancer")
    }

    /// Decide how droplets are seen joining and leaving: `serving` are in the load balancer
    /// now (the identity is learned from them), `pool` every droplet of the switch.
    pub(super) async fn setup_lb_watch(&mut self, serving: &[Droplet], pool: &[Droplet]) {
        let t = self.through();
        let (watcher, report) = rotation::setup_watch(
            &self.steps,
            &t.settings.watch,
            &t.lb,
            &self.gate,
            serving,
            pool,
        )
        .await;
        let t = self.through.as_mut().expect("through a load balancer");
        t.watcher = watcher;
        t.watch_report = Some(report);
    }
}
