//! What a run knows of the load balancer it rotates droplets through: its selector, health
//! check and settings, how droplets are watched, and the waits computed from its check.

use std::time::Duration;

use do_api::load_balancers::{HealthCheck, LoadBalancer};

use crate::Outcome;
use crate::bluegreen::LbSettings;
use crate::health::{HealthGate, HealthPolicy, HealthTarget};
use crate::lb::{Membership, membership};
use crate::rolling::waits::{self, Drain, Wait, WaitKind};
use crate::rolling::watch::Watcher;
use crate::rolling::{LbSummary, WatchReport};
use crate::rotation;

/// The load balancer a run switches through.
pub(crate) struct Through {
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
        target: &HealthTarget,
        policy: &HealthPolicy,
        settings: &LbSettings,
        lb: LoadBalancer,
    ) -> Result<(Through, HealthGate), crate::Error> {
        let lb_health = lb.health_check.clone().unwrap_or_default();
        let endpoint = target
            .resolve(Some(&lb_health))
            .map_err(|e| crate::Error::new(Outcome::ConfigError, e.to_string()))?;
        let t = Through {
            membership: membership(&lb),
            lb,
            lb_health,
            settings: settings.clone(),
            watcher: None,
            watch_report: None,
        };
        Ok((t, HealthGate::new(endpoint, policy.clone())))
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
    pub fn leave_waits(&self) -> Vec<Wait> {
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

impl Through {
    fn watch<'a>(
        &'a self,
        steps: &'a crate::runner::Steps<'a>,
        gate: &HealthGate,
    ) -> Option<rotation::Watch<'a>> {
        self.watcher.as_ref().map(|w| rotation::Watch {
            steps,
            watcher: w,
            deadline: self.watch_deadline(gate),
        })
    }

    /// After `ds` joined: see each answer through the load balancer, or sleep the computed
    /// window. Returns the waits; `Err` says why they were not seen.
    pub async fn see_serving(
        &self,
        steps: &crate::runner::Steps<'_>,
        gate: &HealthGate,
        ds: &[do_api::droplets::Droplet],
    ) -> Result<Vec<Wait>, String> {
        let computed = self.join_waits();
        match self.watch(steps, gate) {
            Some(w) => {
                let total = computed.iter().map(|w| w.computed).sum();
                match w.seen(ds, self.settings.watch.sightings, total).await {
                    Ok(s) => Ok(vec![s.wait]),
                    Err((_, msg)) => Err(msg),
                }
            }
            None => {
                rotation::sleep_waits(steps, crate::events::Step::PutBack, &computed).await;
                Ok(computed)
            }
        }
    }

    /// After `ds` left (`serving` were in with them): see them no longer answer, or sleep the
    /// sync slack; then, with `allowance`, the in-flight allowance. Returns the waits; `Err`
    /// says why they were not seen gone.
    pub async fn see_gone(
        &self,
        steps: &crate::runner::Steps<'_>,
        gate: &HealthGate,
        ds: &[do_api::droplets::Droplet],
        serving: usize,
        allowance: bool,
    ) -> Result<Vec<Wait>, String> {
        let sync = self.sync_wait();
        let mut since = None;
        let mut applied = Vec::new();
        match self.watch(steps, gate) {
            Some(w) => {
                let computed: Duration = sync.iter().map(|w| w.computed).sum();
                let (wait, at) = w.gone(ds, serving, computed).await?;
                since = Some(at);
                applied.push(wait);
            }
            None => {
                rotation::sleep_waits(steps, crate::events::Step::Drain, &sync).await;
                applied.extend(sync);
            }
        }
        if allowance {
            let s = &self.settings;
            applied.push(
                rotation::in_flight_allowance(steps, s.drain_wait, s.wait_scale, since).await,
            );
        }
        Ok(applied)
    }
}
