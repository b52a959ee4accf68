//! Through a load balancer: what a run knows of it ([`Through`]), observing it and the tagged
//! droplets, and deciding how droplets are seen joining and leaving it.

use do_api::load_balancers::{HealthCheck, LoadBalancer};

use super::*;
use crate::bluegreen::config::LbSettings;
use crate::bluegreen::plan::Roles;
use crate::lb::{Membership, membership};
use crate::rolling::waits::{self, Drain, WaitKind};
use crate::rolling::watch::Watcher;
use crate::rolling::{LbSummary, WatchReport};
use crate::rotation;

/// The load balancer a run switches through.
pub(super) struct Through {
    /// As last read.
    pub lb: LoadBalancer,
    /// How it selects droplets.
    pub membership: Membership,
    /// Its health check (the spec's defaults when absent).
    pub lb_health: HealthCheck,
    /// The settings.
    pub settings: LbSettings,
    /// Watches droplets through it; `None`: computed waits.
    pub watcher: Option<Watcher>,
    /// How droplets are watched, or why they are not (once decided).
    pub watch_report: Option<WatchReport>,
}

impl Through {
    /// What is known once `lb` is found, and the health gate resolved against its check.
    pub fn new(
        cfg: &BlueGreenConfig,
        settings: &LbSettings,
        lb: LoadBalancer,
    ) -> Result<(Through, HealthGate), Stop> {
        let lb_health = lb.health_check.clone().unwrap_or_default();
        let endpoint = cfg
            .target
            .resolve(Some(&lb_health))
            .map_err(|e| Stop::new(Outcome::ConfigError, e.to_string()))?;
        let t = Through {
            membership: membership(&lb),
            lb,
            lb_health,
            settings: settings.clone(),
            watcher: None,
            watch_report: None,
        };
        Ok((t, HealthGate::new(endpoint, cfg.health.clone())))
    }

    /// The load balancer as read by the observation (its droplet list is the current one).
    pub fn refresh(&mut self, lb: &LoadBalancer) {
        self.membership = membership(lb);
        self.lb = lb.clone();
    }

    /// As the report shows it.
    pub fn summary(&self, gate: &HealthGate) -> LbSummary {
        LbSummary::new(&self.lb, self.lb_health.clone(), gate)
    }

    /// The computed waits after droplets join: the sync slack, the healthy window.
    pub fn join_waits(&self) -> Vec<Wait> {
        let s = &self.settings;
        waits::put_back_waits(&self.lb_health, s.lb_sync_wait, s.wait_scale)
    }

    /// The computed waits after droplets leave: the sync slack, the in-flight allowance.
    fn leave_waits(&self) -> Vec<Wait> {
        let s = &self.settings;
        waits::take_out_waits(
            &self.lb_health,
            &Drain::Remove,
            s.drain_wait,
            s.lb_sync_wait,
            s.wait_scale,
        )
    }

    /// The sync slack after droplets leave (slept when they cannot be watched).
    pub fn sync_wait(&self) -> Vec<Wait> {
        self.leave_waits()
            .into_iter()
            .filter(|w| w.kind == WaitKind::LbSync)
            .collect()
    }

    /// The in-flight allowance as planned (the whole of it).
    pub fn allowance(&self) -> Vec<Wait> {
        self.leave_waits()
            .into_iter()
            .filter(|w| w.kind == WaitKind::Drain)
            .collect()
    }

    /// How long one watch may take.
    pub fn watch_deadline(&self, gate: &HealthGate) -> Duration {
        rotation::watch_deadline(
            self.settings.watch.deadline,
            &self.join_waits(),
            &self.leave_waits(),
            gate.policy.request_timeout,
        )
    }
}

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
