//! `replace`: delete expired previous fleets, create (or adopt) the new droplets, wait until
//! they are active, health-gate them directly, mark the old fleet as this run's previous one,
//! put the new droplets in, see them serve, take the old ones out, see them gone, and keep them
//! until a time. Until the old ones leave, any failure takes the new ones out and deletes them:
//! the old fleet never left.

use do_api::droplets::CreateDroplet;

use super::*;
use crate::canary::CanaryCheck;
use crate::replace::plan::{Observation, ReplacePlan, plan};
use crate::replace::tags::{is_state_tag, kept_until, lb_tag, prev_tag, previous_of, until_tag};

/// Whether a create that failed may still have happened: no answer after it was sent, or a
/// 5xx. A refused connection or a 4xx did not create anything.
fn may_have_happened(e: &do_api::Error) -> bool {
    e.is_server_error() || e.is_request_timeout() || (e.is_transport() && !e.is_connect())
}

impl Run<'_> {
    /// The account's droplet limit and the sizes (either unreadable: unchecked, with a
    /// warning), for the plan.
    async fn account_and_sizes(&self) -> (Option<u32>, Vec<do_api::Size>) {
        let s = self
            .steps
            .start(Step::Observe, "the account's droplet limit and the sizes");
        let limit = match self.client.account().get().await {
            Ok(a) => Some(a.droplet_limit),
            Err(e) => {
                self.steps.warn(format!(
                    "the droplet limit was not checked: the account could not be read ({}); DigitalOcean refuses a create beyond it",
                    e.chain()
                ));
                None
            }
        };
        let sizes = match self.client.sizes().list().await {
            Ok(s) => s,
            Err(e) => {
                self.steps.warn(format!(
                    "the size was not checked and the cost not estimated: the sizes could not be read ({})",
                    e.chain()
                ));
                Vec::new()
            }
        };
        self.steps.finish(
            s,
            true,
            format!(
                "droplet limit {}; {} sizes",
                limit.map_or_else(|| "unknown".to_owned(), |l| l.to_string()),
                sizes.len()
            ),
        );
        (limit, sizes)
    }

    /// Minutes the new droplets are expected to run beside the old ones: a minute to boot, the
    /// load balancer's window, the allowance, then the time the old ones are kept.
    fn surge_minutes(&self) -> f64 {
        let join: Duration = self.through.join_waits().iter().map(|w| w.computed).sum();
        let deploy = Duration::from_secs(60) + join + self.through.settings.drain_wait;
        (deploy + self.cfg.keep_previous).as_secs_f64() / 60.0
    }

    fn describe(&self, p: &ReplacePlan) -> Vec<String> {
        let t = &p.template;
        let mut lines = Vec::new();
        if !p.expired.is_empty() {
            lines.push(format!(
                "delete the previous fleet kept past its time: {}",
                names(&p.expired)
            ));
        }
        if !p.adopted.is_empty() {
            lines.push(format!(
                "adopt this run's droplets an earlier attempt created: {}",
                p.adopted.join(", ")
            ));
        }
        for (i, c) in p.creates.iter().enumerate() {
            lines.push(format!(
                "create call {}: {} ({} {} in {}, image {}{}, tags {})",
                i + 1,
                c.join(", "),
                c.len(),
                t.size,
                t.region,
                t.image,
                if t.user_data.is_some() {
                    ", with user data"
                } else {
                    ""
                },
                t.tags.join(" ")
            ));
        }
        lines.push(format!(
            "wait until active (up to {}s){}, then health-gate each directly ({})",
            self.cfg.active_wait.timeout.as_secs(),
            self.cfg
                .new
                .install
                .as_ref()
                .map(|cmd| format!(", run the install command on each ({cmd})"))
                .unwrap_or_default(),
            self.gate
                .url_for(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
                .replace("0.0.0.0", "<droplet-ip>")
        ));
        if !p.old.is_empty() {
            lines.push(format!(
                "tag the fleet being replaced `{}`: {}",
                prev_tag(run_of_tag(&p.run_tag)),
                names(&p.old)
            ));
        }
        lines.extend(self.join_lines(p));
        if !p.old.is_empty() {
            lines.push(format!("take {} out and see them gone", names(&p.old)));
        }
        lines.extend(self.wait_lines());
        lines.push(format!(
            "keep the replaced fleet powered, out of the load balancer, for {} min (`zdd-do rollback --lb {}` puts it back; `zdd-do replace --lb {} --finalize` deletes it)",
            self.cfg.keep_previous.as_secs().div_ceil(60),
            self.through.lb.name,
            self.through.lb.name
        ));
        lines.push(format!("about {} API requests", p.api_requests));
        if let Some(c) = &p.cost {
            lines.push(format!(
                "cost of the surge: {} × ${:.5}/h for about {:.0} min ≈ ${:.4} (billed per second, 60 s minimum)",
                c.droplets, c.hourly_each, c.minutes, c.usd
            ));
        }
        lines
    }

    pub(super) async fn replace<H: DropletHook, C: CanaryCheck>(
        &mut self,
        install: Option<&H>,
        check: Option<&C>,
    ) -> Result<(Outcome, String), Stop> {
        let seen = self.observe().await?;
        let (droplet_limit, sizes) = self.account_and_sizes().await;
        let obs = Observation {
            lb: seen.lb.clone(),
            fleet: seen.fleet.clone(),
            runs: seen.runs.clone(),
            account_droplets: seen.all.len(),
            droplet_limit,
            sizes,
            rate_limit_remaining: self.client.rate_limit().map(|r| r.remaining),
            now_unix: now_unix(),
        };
        let p = plan(&obs, &self.cfg.new, self.surge_minutes())
            .map_err(|r| Stop::new(Outcome::Refused, r.to_string()))?;
        self.partial.run_tag = Some(p.run_tag.clone());
        self.partial.cost = p.cost;
        self.partial.api_requests_planned = Some(p.api_requests);
        let serving = if p.old.is_empty() {
            seen.fleet.clone()
        } else {
            p.old.clone()
        };
        // Old and new droplets side by side behind the load balancer.
        let side_by_side = seen.fleet.len() + p.names().len();
        self.setup_watch(&serving, &seen.fleet, side_by_side).await;
        self.partial.plan = self.describe(&p);
        let lb = self.lb_name();
        if self.cfg.dry_run {
            return Ok((
                Outcome::DryRun,
                format!(
                    "dry run: {} new droplet(s) to create behind {lb}{}; nothing changed",
                    p.creates.iter().map(Vec::len).sum::<usize>(),
                    p.cost
                        .map(|c| format!(", about ${:.4} for the surge", c.usd))
                        .unwrap_or_default()
                ),
            ));
        }
        let run = run_of_tag(&p.run_tag).to_owned();
        let all_names = p.names();
        let in_fleet = |n: &String| {
            seen.fleet
                .iter()
                .any(|d| &d.name == n && d.has_tag(&p.run_tag))
        };
        if p.creates.is_empty()
            && p.old.is_empty()
            && all_names.iter().all(in_fleet)
            && p.left.iter().all(|d| kept_until(d).is_some())
        {
            self.partial.serving = seen.fleet.iter().map(Into::into).collect();
            self.partial.previous = p.left.iter().map(Into::into).collect();
            self.partial.keep_until = p.left.iter().filter_map(kept_until).max();
            return Ok((
                Outcome::AlreadyLive,
                format!(
                    "load balancer {lb} already serves this run's droplets ({}): nothing to do",
                    names(&seen.fleet)
                ),
            ));
        }
        if !p.expired.is_empty() {
            self.delete_expired(&p.expired, &seen).await?;
        }
        let created = self.create_all(&p).await?;
        // This run's droplets, as the API shows them now.
        let mine = match self.client.droplets().list_by_tag(&p.run_tag).await {
            Ok(ds) => ds,
            Err(e) => {
                return Err(Stop::api(
                    &format!(
                        "listing this run's droplets (`{}`; nothing is in the load balancer yet: run the same command again)",
                        p.run_tag
                    ),
                    &e,
                ));
            }
        };
        let mine: Vec<Droplet> = all_names
            .iter()
            .filter_map(|n| mine.iter().find(|d| &d.name == n).cloned())
            .collect();
        if mine.len() < all_names.len() {
            let missing: Vec<&String> = all_names
                .iter()
                .filter(|n| !mine.iter().any(|d| &d.name == *n))
                .collect();
            return Err(Stop::new(
                Outcome::ApiError,
                format!(
                    "created droplets do not show in the list yet ({}): nothing is in the load balancer; run the same command again (it finds them by `{}` and never creates a name twice)",
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    p.run_tag
                ),
            ));
        }
        self.partial.created = mine
            .iter()
            .filter(|d| created.contains(&d.id))
            .map(Into::into)
            .collect();
        let active = match self.boot(&mine, &p.run_tag).await {
            Ok(a) => a,
            Err(why) => return Err(self.undo(&mine, &p, why).await),
        };
        if let Some(hook) = install
            && let Err(why) = self.install(&active, hook).await
        {
            return Err(self.undo(&active, &p, why).await);
        }
        if let Err(why) = crate::runner::gate_all(&self.steps, &active, &self.gate).await {
            return Err(self.undo(&active, &p, why).await);
        }
        self.lock_held(|why| {
            Stop::new(
                Outcome::Interrupted,
                format!(
                    "{why}; stopped before the new droplets joined load balancer {lb}: the old fleet serves as before; run the same command again to finish (it adopts the droplets created)"
                ),
            )
        })?;
        let unmarked: Vec<Droplet> = p
            .old
            .iter()
            .filter(|d| previous_of(d) != Some(run.as_str()))
            .cloned()
            .collect();
        let lb_mark = lb_tag(&self.through.lb.id);
        let untracked: Vec<Droplet> = unmarked
            .iter()
            .filter(|d| !d.has_tag(&lb_mark))
            .cloned()
            .collect();
        self.tag(&lb_mark, &untracked).await?;
        self.tag(&prev_tag(&run), &unmarked).await?;
        self.marked.extend(unmarked.iter().map(|d| d.id));
        let canaries = self.canaries(&active, &p);
        if canaries.is_empty() {
            self.join_and_see(&active, &active, &p).await?;
        } else {
            self.join_and_see(&canaries, &active, &p).await?;
            self.canary_stage(&active, &canaries, &p, check).await?;
            let rest: Vec<Droplet> = active
                .iter()
                .filter(|d| !canaries.iter().any(|c| c.id == d.id))
                .cloned()
                .collect();
            self.join_and_see(&rest, &active, &p).await?;
        }
        self.lock_held(|why| {
            Stop::new(
                Outcome::Interrupted,
                format!(
                    "{why}; stopped before taking the old fleet out: old and new droplets serve together behind {lb}; run the same command again to finish, or `zdd-do rollback --lb {lb}` to undo"
                ),
            )
        })?;
        let old_in = self.in_lb(&p.old);
        if let Err(e) = self.rotate(&old_in, Way::Leave, Step::TakeOut).await {
            return Err(Stop::api(
                &format!(
                    "taking {} out of load balancer {lb} (they serve next to the new droplets; run the same command again to finish)",
                    names(&old_in)
                ),
                &e,
            ));
        }
        if !old_in.is_empty()
            && let Err(why) = self.see_gone(&old_in, old_in.len() + active.len()).await
        {
            self.steps.warn(format!(
                "{why}; they are kept running, so requests still sent to them are served"
            ));
        }
        let kept: Vec<Droplet> = p.old.iter().chain(&p.left).cloned().collect();
        let until = now_unix() + self.cfg.keep_previous.as_secs();
        let untimed: Vec<Droplet> = kept
            .iter()
            .filter(|d| kept_until(d).is_none())
            .cloned()
            .collect();
        self.partial.serving = active.iter().map(Into::into).collect();
        self.partial.previous = kept.iter().map(Into::into).collect();
        if let Err(stop) = self.tag(&until_tag(until), &untimed).await {
            return Err(Stop {
                message: format!(
                    "{}: the new droplets serve and the old ones are out, but the old ones have no keep time (a later deploy refuses until it is set): run the same command again",
                    stop.message
                ),
                ..stop
            });
        }
        let until = kept.iter().filter_map(kept_until).max().unwrap_or(until);
        self.partial.keep_until = Some(until);
        Ok((
            Outcome::Replaced,
            format!(
                "{} serve{} through load balancer {lb}; {} {} out of it and kept until {} (`zdd-do rollback --lb {lb}` puts {} back, `zdd-do replace --lb {lb} --finalize` deletes {})",
                names(&active),
                if active.len() == 1 { "s" } else { "" },
                names(&kept),
                if kept.len() == 1 { "is" } else { "are" },
                clock(until),
                if kept.len() == 1 { "it" } else { "them" },
                if kept.len() == 1 { "it" } else { "them" },
            ),
        ))
    }

    /// Delete a previous fleet whose time is up, and the state tags only it carried.
    async fn delete_expired(&mut self, expired: &[Droplet], seen: &Seen) -> Result<(), Stop> {
        self.lock_held(|why| Stop::new(Outcome::Locked, format!("{why}; nothing changed")))?;
        if let Err(m) = self.delete(expired).await {
            return Err(Stop::new(
                Outcome::ApiError,
                format!(
                    "{m}: the previous fleet kept past its time could not be deleted; nothing else changed; run the same command again"
                ),
            ));
        }
        let survivors: Vec<&Droplet> = seen
            .all
            .iter()
            .filter(|d| !expired.iter().any(|x| x.id == d.id))
            .collect();
        let mut gone: Vec<String> = expired
            .iter()
            .flat_map(|d| d.tags.iter())
            .filter(|t| is_state_tag(t) && !survivors.iter().any(|d| d.has_tag(t)))
            .cloned()
            .collect();
        gone.sort();
        gone.dedup();
        self.delete_tags(&gone).await;
        Ok(())
    }

    /// Send the plan's creates. A create that may have happened is looked for by the run tag,
    /// never sent again; one refused is undone (this run's droplets deleted). Returns the ids
    /// created by this attempt.
    async fn create_all(&mut self, p: &ReplacePlan) -> Result<Vec<DropletId>, Stop> {
        let t = &p.template;
        let mut created = Vec::new();
        for (i, chunk) in p.creates.iter().enumerate() {
            self.lock_held(|why| {
                Stop::new(
                    if created.is_empty() && i == 0 {
                        Outcome::Locked
                    } else {
                        Outcome::Interrupted
                    },
                    format!(
                        "{why}; stopped before creating {}: the old fleet serves as before; run the same command again (it adopts what was created)",
                        chunk.join(", ")
                    ),
                )
            })?;
            let mut req =
                CreateDroplet::many(chunk.iter().cloned(), t.size.clone(), t.image.clone())
                    .region(t.region.clone())
                    .monitoring(t.monitoring)
                    .tags(t.tags.iter().cloned())
                    .ssh_keys(t.ssh_keys.iter().cloned());
            if let Some(v) = &t.vpc {
                req = req.vpc_uuid(v.clone());
            }
            if let Some(u) = &t.user_data {
                req = req.user_data(u.clone());
            }
            let s = self.steps.start(
                Step::Create,
                format!(
                    "{} ({} {} in {})",
                    chunk.join(", "),
                    chunk.len(),
                    t.size,
                    t.region
                ),
            );
            match self.client.droplets().create(&req).await {
                Ok(c) => {
                    let ids = c.droplet_ids();
                    self.steps.finish(
                        s,
                        true,
                        format!(
                            "ids {}",
                            ids.iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                    created.extend(ids);
                }
                Err(e) if may_have_happened(&e) => {
                    self.steps.finish(s, false, e.chain());
                    // Look, never send again.
                    let found = self.client.droplets().list_by_tag(&p.run_tag).await;
                    let found: Vec<Droplet> = match found {
                        Ok(ds) => ds.into_iter().filter(|d| chunk.contains(&d.name)).collect(),
                        Err(_) => Vec::new(),
                    };
                    if found.len() == chunk.len() {
                        self.steps.note(format!(
                            "the create of {} timed out but happened: found by `{}`, adopted (not sent again)",
                            chunk.join(", "),
                            p.run_tag
                        ));
                        created.extend(found.iter().map(|d| d.id));
                        continue;
                    }
                    return Err(Stop {
                        message: format!(
                            "creating {} may or may not have happened ({}), and {} of them show by `{}` yet: nothing is in the load balancer, the old fleet serves as before; run the same command again: it finds what was created by that tag and never creates a name twice",
                            chunk.join(", "),
                            e.chain(),
                            found.len(),
                            p.run_tag
                        ),
                        ..Stop::api("creating droplets", &e)
                    });
                }
                Err(e) => {
                    self.steps.finish(s, false, e.chain());
                    let stop = Stop::api(&format!("creating {}", chunk.join(", ")), &e);
                    let mine = match self.client.droplets().list_by_tag(&p.run_tag).await {
                        Ok(m) => m,
                        Err(l) => {
                            return Err(Stop {
                                message: format!(
                                    "{}; looking for the droplets this run created failed too ({}): some may exist; the old fleet serves as before; run the same command again (it adopts them) or `zdd-do replace --lb {} --finalize`",
                                    stop.message,
                                    l.chain(),
                                    self.lb_name()
                                ),
                                ..stop
                            });
                        }
                    };
                    if mine.is_empty() {
                        let end = if p.expired.is_empty() {
                            "nothing changed"
                        } else {
                            "nothing else changed (the previous fleet past its keep time was deleted first)"
                        };
                        return Err(Stop {
                            message: format!("{}; {end}", stop.message),
                            ..stop
                        });
                    }
                    let undone = self.delete(&mine).await;
                    return Err(Stop {
                        message: format!(
                            "{}; {}",
                            stop.message,
                            match undone {
                                Ok(()) => format!(
                                    "the droplets this run had created were deleted ({}); the old fleet serves as before",
                                    names(&mine)
                                ),
                                Err(m) => format!(
                                    "{m}; the old fleet serves as before; `zdd-do replace --lb {} --finalize` deletes what is left",
                                    self.lb_name()
                                ),
                            }
                        ),
                        ..stop
                    });
                }
            }
        }
        Ok(created)
    }

    /// Wait until every droplet of `ds` (this run's, tagged `run_tag`) is active with an address:
    /// one list by the run tag per look, whatever the fleet's size, every `interval` of the
    /// active wait (no backoff: a droplet that is up is noticed within one interval). Returns
    /// the droplets as then read.
    async fn boot(&self, ds: &[Droplet], run_tag: &str) -> Result<Vec<Droplet>, String> {
        let s = self.steps.start_on(
            Step::Boot,
            Subject::Droplets {
                ids: rotation::ids(ds),
            },
            format!(
                "{} (up to {}s)",
                names(ds),
                self.cfg.active_wait.timeout.as_secs()
            ),
        );
        let started = Instant::now();
        let ready = |d: &Droplet| d.is_active() && d.public_ipv4().is_some();
        let mut now: Vec<Droplet> = ds.to_vec();
        loop {
            if now.iter().all(ready) {
                self.steps.finish(s, true, "active");
                return Ok(now);
            }
            if let Some(d) = now
                .iter()
                .find(|d| d.status == do_api::droplets::DropletStatus::Archive)
            {
                let msg = format!("droplet {} ({}) is archived, not active", d.id, d.name);
                self.steps.finish(s, false, msg.clone());
                return Err(msg);
            }
            if started.elapsed() >= self.cfg.active_wait.timeout {
                let late: Vec<Droplet> = now.iter().filter(|d| !ready(d)).cloned().collect();
                let msg = format!(
                    "{} did not become active within {}s",
                    names(&late),
                    self.cfg.active_wait.timeout.as_secs()
                );
                self.steps.finish(s, false, msg.clone());
                return Err(msg);
            }
            tokio::time::sleep(self.cfg.active_wait.initial_interval).await;
            match self.client.droplets().list_by_tag(run_tag).await {
                Ok(list) => {
                    now = ds
                        .iter()
                        .map(|d| {
                            list.iter()
                                .find(|x| x.id == d.id)
                                .cloned()
                                .unwrap_or_else(|| d.clone())
                        })
                        .collect();
                }
                // A failed look is one look: the next one may answer (the client has retried).
                Err(e) => self.steps.warn(format!(
                    "looking at the new droplets failed ({}); looking again",
                    e.chain()
                )),
            }
        }
    }

    /// Run the install hook on every new droplet, all at once; `Err` names the first that
    /// failed, and why.
    async fn install<H: DropletHook>(&self, ds: &[Droplet], hook: &H) -> Result<(), String> {
        let version = self.cfg.version.as_deref();
        let results = futures_util::future::join_all(ds.iter().map(|d| async move {
            let s = self.steps.start_on(
                Step::Update,
                Subject::droplet(d.id),
                format!("install on {} ({})", d.id, d.name),
            );
            let r = hook
                .run(&HookTarget::new(d, version, HookPurpose::Update))
                .await;
            match &r {
                Ok(()) => self.steps.finish(s, true, "done"),
                Err(e) => self.steps.finish(s, false, e.clone()),
            };
            r
        }))
        .await;
        for (d, r) in ds.iter().zip(results) {
            if let Err(e) = r {
                return Err(format!(
                    "the install command failed for droplet {} ({}): {e}",
                    d.id, d.name
                ));
            }
        }
        Ok(())
    }

    /// The new droplets failed (`why`) before the old fleet left: take those in the load
    /// balancer out (seen gone), delete them all, remove this run's marks from the old fleet.
    pub(super) async fn undo(&mut self, new: &[Droplet], p: &ReplacePlan, why: String) -> Stop {
        let lb = self.lb_name();
        self.steps.warn(format!(
            "{why}; undoing: the new droplets leave and are deleted"
        ));
        let joined = self.in_lb(new);
        if let Err(e) = self.rotate(&joined, Way::Leave, Step::TakeOut).await {
            return Stop::new(
                Outcome::Uncertain,
                format!(
                    "{why}; taking {} out of load balancer {lb} failed ({}): they serve next to the old fleet; `zdd-do rollback --lb {lb}` takes them out",
                    names(&joined),
                    e.chain()
                ),
            );
        }
        if !joined.is_empty() {
            let serving = self.in_lb.len() + joined.len();
            if let Err(m) = self.see_gone(&joined, serving).await {
                return Stop::new(
                    Outcome::RolledBack,
                    format!(
                        "{why}; {} left load balancer {lb} but {m}, so they were not deleted; the old fleet never left it; `zdd-do replace --lb {lb} --finalize` deletes them",
                        names(&joined)
                    ),
                );
            }
        }
        let deleted = self.delete(new).await;
        let run = run_of_tag(&p.run_tag).to_owned();
        let mark = prev_tag(&run);
        let marked: Vec<Droplet> = p
            .old
            .iter()
            .filter(|d| previous_of(d) == Some(run.as_str()) || self.marked.contains(&d.id))
            .cloned()
            .map(|mut d| {
                if !d.has_tag(&mark) {
                    d.tags.push(mark.clone());
                }
                d
            })
            .collect();
        self.untag_state(&marked, |t| t == mark).await;
        let mut unused = vec![mark];
        if deleted.is_ok() {
            unused.push(p.run_tag.clone());
        }
        self.delete_tags(&unused).await;
        Stop::new(
            Outcome::RolledBack,
            match deleted {
                Ok(()) => format!(
                    "{why}; the new droplets were deleted ({}); the old fleet never left load balancer {lb}",
                    names(new)
                ),
                Err(m) => format!(
                    "{why}; the old fleet never left load balancer {lb}; {m}: `zdd-do replace --lb {lb} --finalize` deletes them"
                ),
            },
        )
    }
}

/// The run id in a run tag.
fn run_of_tag(tag: &str) -> &str {
    crate::replace::plan::run_of(tag).unwrap_or(tag)
}
