//! Switching through a load balancer: the standbys join, are seen serving through it (or the
//! computed window passes), the live droplets leave and are seen gone, their in-flight
//! allowance; then the tag move. The live droplets leave only once the new ones serve, so a
//! failure before that leaves traffic where it was; a re-run finishes or undoes
//! ([`crate::bluegreen::lb_plan`]).

use super::*;
use crate::bluegreen::plan::group_tag_moves;
use crate::lb::Membership;
use crate::rotation::{self, Way, names};

impl Run<'_> {
    pub(super) async fn body_lb<H: DropletHook>(
        &mut self,
        obs: LbObservation,
        hook: Option<&H>,
        pre_gated: Option<(Vec<DropletId>, Result<(), String>)>,
    ) -> Result<(Outcome, String), Stop> {
        if let Some(t) = self.through.as_mut() {
            t.refresh(&obs.lb);
        }
        let p = lb_plan::plan(&obs, &self.cfg.roles)
            .map_err(|r| Stop::new(Outcome::Refused, r.to_string()))?;
        let (serving, pool) = match &p {
            LbPlan::Switch { from, to } => {
                self.set_roles(from, to);
                (from.clone(), [from.as_slice(), to].concat())
            }
            LbPlan::Continue { from, to } => {
                self.set_roles(from, to);
                let all = [from.as_slice(), to].concat();
                (all.clone(), all)
            }
            LbPlan::FinishTags { live, standby, .. } => {
                self.set_roles(live, standby);
                (live.clone(), [live.as_slice(), standby].concat())
            }
        };
        self.setup_lb_watch(&serving, &pool).await;
        self.plan = self.describe_lb_plan(&p, hook.is_some() && self.mode == Mode::Promote);
        if self.cfg.dry_run {
            return Ok(self.dry_run());
        }
        match p {
            LbPlan::Switch { from, to } => {
                let ids: Vec<DropletId> = to.iter().map(|d| d.id).collect();
                let gated = pre_gated.filter(|(g, _)| *g == ids).map(|(_, r)| r);
                self.switch_lb(from, to, hook, gated).await
            }
            LbPlan::Continue { from, to } => self.continue_lb(from, to).await,
            LbPlan::FinishTags {
                live,
                standby,
                moves,
            } => self.resume_lb(live, standby, moves).await,
        }
    }

    fn lb_name(&self) -> String {
        self.through().lb.name.clone()
    }

    /// Whether the gate is skipped (a forced rollback), with a warning.
    fn skip_gate(&self) -> bool {
        let skip = self.mode == Mode::Rollback && self.cfg.force;
        if skip {
            self.steps.warn("forced: skipping the health gate".into());
        }
        skip
    }

    async fn switch_lb<H: DropletHook>(
        &mut self,
        mut from: Vec<Droplet>,
        mut to: Vec<Droplet>,
        hook: Option<&H>,
        gated: Option<Result<(), String>>,
    ) -> Result<(Outcome, String), Stop> {
        if self.mode == Mode::Promote
            && let Some(body) = self.cfg.health.expect_body.as_deref()
            && self.all_answer(&from).await
        {
            return Ok((
                Outcome::AlreadyLive,
                format!(
                    "load balancer {} already serves `{body}` from {}: the new version is live, nothing to do",
                    self.lb_name(),
                    names(&from)
                ),
            ));
        }
        check_lock(&self.steps, self.lock.as_ref()).map_err(lock_lost)?;
        if let (Mode::Promote, Some(hook)) = (self.mode, hook) {
            for d in &to {
                self.update(d, hook).await?;
            }
        }
        if !self.skip_gate() {
            let r = match gated {
                // Gated while the lock's claim settled (no update command: nothing to wait for).
                Some(r) => r,
                None => self.gate_all(&to, &self.gate.clone()).await,
            };
            if let Err(f) = r {
                return Err(Stop::new(
                    Outcome::NotReady,
                    format!("{f}; nothing was switched"),
                ));
            }
        }
        check_lock(&self.steps, self.lock.as_ref()).map_err(lock_lost)?;
        if let Err(e) = self.rotate(&mut to, Way::Join, Step::PutBack).await {
            return Err(Stop::api(
                &format!(
                    "putting {} into load balancer {} (the live droplets were not taken out and still serve; run the same command again to finish or undo)",
                    names(&to),
                    self.lb_name()
                ),
                &e,
            ));
        }
        self.see_serving_or_take_out(&from, &mut to, false).await?;
        self.finish_switch(&mut from, &to).await?;
        Ok((
            Outcome::Switched,
            format!(
                "{} {} through load balancer {}; standby now: {}, out of it",
                self.verb(),
                names(&to),
                self.lb_name(),
                names(&from)
            ),
        ))
    }

    /// A previous run put `to` in and stopped: gate them again, see them serve, take `from` out.
    async fn continue_lb(
        &mut self,
        mut from: Vec<Droplet>,
        mut to: Vec<Droplet>,
    ) -> Result<(Outcome, String), Stop> {
        let lb = self.lb_name();
        self.steps.note(format!(
            "resuming: {} joined load balancer {lb} next to {}, which still serve",
            names(&to),
            names(&from)
        ));
        check_lock(&self.steps, self.lock.as_ref()).map_err(lock_lost)?;
        if !self.skip_gate()
            && let Err(f) = self.gate_all(&to, &self.gate.clone()).await
        {
            return Err(self.take_out_again(&from, &mut to, f, true).await);
        }
        self.see_serving_or_take_out(&from, &mut to, true).await?;
        self.finish_switch(&mut from, &to).await?;
        Ok((
            Outcome::Resumed,
            format!(
                "finished an interrupted switch through load balancer {lb}: live {}, standby {}",
                names(&to),
                names(&from)
            ),
        ))
    }

    /// A previous run took the standbys out and did not finish the tag move: check `live`
    /// (switching back when they fail), then move the tags.
    async fn resume_lb(
        &mut self,
        mut live: Vec<Droplet>,
        mut standby: Vec<Droplet>,
        moves: Vec<TagMove>,
    ) -> Result<(Outcome, String), Stop> {
        let lb = self.lb_name();
        self.steps.note(format!(
            "resuming: {} serve through load balancer {lb}, the tags have not caught up",
            names(&live)
        ));
        let checked = match self.gate_all(&live, &self.gate.clone()).await {
            // Seen serving when they can be watched; in already, nothing to wait for otherwise.
            Ok(()) if self.through().watcher.is_some() => self.see_serving(&live).await,
            other => other,
        };
        if let Err(why) = checked {
            // The previous run never saw them serve, or they broke since.
            let fallback = self.fallback_check();
            if let Err(f) = self.gate_all(&standby, &fallback).await {
                return Err(Stop::new(
                    Outcome::Uncertain,
                    format!(
                        "{} in load balancer {lb} fail ({why}), and the standby is not healthy either ({f}): needs a human",
                        names(&live)
                    ),
                ));
            }
            return Err(self.switch_back_lb(&mut live, &mut standby, &why).await);
        }
        self.move_tags(&moves).await?;
        Ok((
            Outcome::Resumed,
            format!(
                "finished an interrupted switch through load balancer {lb}: live {}, standby {}",
                names(&live),
                names(&standby)
            ),
        ))
    }

    /// `to` are in: see them serve, or take them out again (traffic stays on `from`).
    /// `resumed`: an earlier run put them in.
    async fn see_serving_or_take_out(
        &mut self,
        from: &[Droplet],
        to: &mut [Droplet],
        resumed: bool,
    ) -> Result<(), Stop> {
        match self.see_serving(to).await {
            Ok(()) => Ok(()),
            Err(why) => Err(self.take_out_again(from, to, why, resumed).await),
        }
    }

    /// `to` failed (their gate, or never served): take them out again; `from` never left.
    async fn take_out_again(
        &mut self,
        from: &[Droplet],
        to: &mut [Droplet],
        why: String,
        resumed: bool,
    ) -> Stop {
        let lb = self.lb_name();
        match self.rotate(to, Way::Leave, Step::TakeOut).await {
            Ok(()) => {
                self.set_roles(from, to);
                let end = if resumed {
                    "traffic is back on them alone, as before the switch"
                } else {
                    "nothing changed"
                };
                Stop::new(
                    Outcome::NotReady,
                    format!(
                        "{why}; {} taken out of load balancer {lb} again: {} never left it, {end}",
                        names(to),
                        names(from)
                    ),
                )
            }
            Err(e) => Stop::new(
                Outcome::ApiError,
                format!(
                    "{why}; taking {} out of load balancer {lb} again failed ({}): they are in it next to {}, which still serve; run the same command again to finish or undo",
                    names(to),
                    e.chain(),
                    names(from)
                ),
            ),
        }
    }

    /// `to` serve: take `from` out, see them gone, the in-flight allowance, then the tags.
    async fn finish_switch(&mut self, from: &mut [Droplet], to: &[Droplet]) -> Result<(), Stop> {
        let lb = self.lb_name();
        check_lock(&self.steps, self.lock.as_ref()).map_err(|why| {
            Stop::new(
                Outcome::Interrupted,
                format!(
                    "{why}; stopped before taking {} out of load balancer {lb}: {} serve next to them; run the same command again to finish",
                    names(from),
                    names(to)
                ),
            )
        })?;
        if let Err(e) = self.rotate(from, Way::Leave, Step::TakeOut).await {
            return Err(Stop::api(
                &format!(
                    "taking {} out of load balancer {lb} ({} serve next to them; run the same command again to finish)",
                    names(from),
                    names(to)
                ),
                &e,
            ));
        }
        self.set_roles(to, from);
        if let Err(why) = self.see_gone(from, from.len() + to.len(), true).await {
            return Err(Stop::new(
                Outcome::Uncertain,
                format!(
                    "{why}: the load balancer may still send them requests, so the tags were not moved; run the same command again to finish once it lets go"
                ),
            ));
        }
        self.move_tags(&group_tag_moves(to, from, &self.cfg.roles))
            .await
    }

    /// `bad` (in) failed their check: the tags back to `good` first, then `good` join, are
    /// seen serving, and `bad` leave. Every state on the way is one a re-run recognises.
    async fn switch_back_lb(
        &mut self,
        bad: &mut [Droplet],
        good: &mut [Droplet],
        why: &str,
    ) -> Stop {
        let lb = self.lb_name();
        self.steps.warn(format!(
            "{} in load balancer {lb} fail ({why}); switching back to {}",
            names(bad),
            names(good)
        ));
        let bad_names = names(bad);
        let needs_human = |what: String| {
            Stop::new(
                Outcome::Uncertain,
                format!(
                    "{bad_names} fail ({why}) and switching back failed: {what}. Traffic may be on unhealthy droplets: needs a human"
                ),
            )
        };
        if let Err(Stop { message, .. }) = self
            .move_tags(&group_tag_moves(good, bad, &self.cfg.roles))
            .await
        {
            return needs_human(message);
        }
        if let Err(e) = self.rotate(good, Way::Join, Step::SwitchBack).await {
            return needs_human(format!("putting {} back: {}", names(good), e.chain()));
        }
        if let Err(m) = self.see_serving(good).await {
            self.steps.warn(format!("after switching back: {m}"));
        }
        if let Err(e) = self.rotate(bad, Way::Leave, Step::TakeOut).await {
            return needs_human(format!("taking {} out: {}", names(bad), e.chain()));
        }
        self.set_roles(good, bad);
        if let Err(m) = self.see_gone(bad, bad.len() + good.len(), false).await {
            self.steps.warn(m);
        }
        Stop::new(
            Outcome::SwitchedBack,
            format!(
                "{} failed in load balancer {lb} ({why}); traffic is back on {}",
                names(bad),
                names(good)
            ),
        )
    }

    /// Put `ds` into the load balancer, or take them out, as a timed `step`. Through a tag, the
    /// droplets (and the report) carry it, or not, from then on.
    async fn rotate(
        &mut self,
        ds: &mut [Droplet],
        way: Way,
        step: Step,
    ) -> Result<(), do_api::Error> {
        let t = self.through();
        let verb = match way {
            Way::Join => "into",
            Way::Leave => "out of",
        };
        let s = self.steps.start_on(
            step,
            crate::events::Subject::Droplets {
                ids: rotation::ids(ds),
            },
            format!(
                "{} {verb} load balancer {} ({})",
                names(ds),
                t.lb.name,
                t.membership
            ),
        );
        let ids = rotation::ids(ds);
        let r = rotation::rotate(self.client, &t.lb.id, &t.membership, &ids, way).await;
        match &r {
            Ok(()) => self.steps.finish(s, true, "done"),
            Err(e) => self.steps.finish(s, false, e.chain()),
        };
        if let (Ok(()), Membership::Tag(tag)) = (&r, t.membership.clone()) {
            for d in ds.iter_mut() {
                let m = TagMove {
                    add: way == Way::Join,
                    tag: tag.clone(),
                    droplet: d.id,
                    droplet_name: d.name.clone(),
                };
                d.tags.retain(|x| *x != tag);
                if m.add {
                    d.tags.push(tag.clone());
                }
                self.note_tag_move(&m);
            }
        }
        r
    }

    /// After `ds` joined: see each answer through the load balancer, or wait the computed
    /// window. `Err` says why they were not seen.
    async fn see_serving(&mut self, ds: &[Droplet]) -> Result<(), String> {
        let waits = self
            .through()
            .see_serving(&self.steps, &self.gate, ds)
            .await?;
        self.waits.extend(waits);
        Ok(())
    }

    /// After `ds` left (`serving` were in with them): see them no longer answer, or wait the
    /// sync slack; then, with `allowance`, the in-flight allowance.
    async fn see_gone(
        &mut self,
        ds: &[Droplet],
        serving: usize,
        allowance: bool,
    ) -> Result<(), String> {
        let waits = self
            .through()
            .see_gone(&self.steps, &self.gate, ds, serving, allowance)
            .await?;
        self.waits.extend(waits);
        Ok(())
    }

    /// Whether every droplet of `ds` passes the gate with one probe (the new version is live).
    async fn all_answer(&self, ds: &[Droplet]) -> bool {
        for d in ds {
            let Ok(ip) = self.direct_ip(d) else {
                return false;
            };
            if self.gate.probe_ip(ip).await.is_err() {
                return false;
            }
        }
        !ds.is_empty()
    }
}
