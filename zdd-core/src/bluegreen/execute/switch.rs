//! Moving the reserved IP: assign, wait, and when that fails, find out what happened.

use super::*;

impl Run<'_> {
    pub(super) async fn ip_holder(&self, ip: Ipv4Addr) -> Result<Option<DropletId>, do_api::Error> {
        Ok(self.client.reserved_ips().get(ip).await?.droplet_id())
    }

    /// Assign `ip` to `to` and wait; confirm through the API that it points there.
    /// `Err(Stop)` says how it failed, including where the IP is now.
    pub(super) async fn assign(
        &mut self,
        step: Step,
        ip: Ipv4Addr,
        from: &Droplet,
        to: &Droplet,
    ) -> Result<(), Stop> {
        let s = self.steps.start_on(
            step,
            crate::events::Subject::ReservedIp { ip },
            format!(
                "reserved IP {ip}: droplet {} ({}) -> {} ({})",
                from.id, from.name, to.id, to.name
            ),
        );
        let sent = Instant::now();
        let sink = self.steps.sink;
        let result = async {
            let action = self.client.reserved_ips().assign(ip, to.id).await?;
            if action.is_completed() {
                return Ok(action);
            }
            // The answer says it is running: the first look after one poll interval, not at
            // once (a call that could only say "in-progress").
            let wait = self
                .cfg
                .assign_wait
                .clone()
                .earliest(self.cfg.assign_wait.initial_interval);
            self.client
                .actions()
                .wait_with(action.id, &wait, |a| {
                    sink.emit(Event::ActionProgress {
                        action_id: a.id,
                        status: a.status.clone(),
                    })
                })
                .await
        }
        .await;
        match result {
            Ok(action) => {
                self.assign = Some(AssignTiming {
                    action_id: action.id.0,
                    observed: sent.elapsed(),
                    api_reported: action.duration(),
                });
                self.steps
                    .finish(s, true, format!("action {} completed", action.id));
            }
            Err(e) => {
                // Where is the IP now, once DigitalOcean has finished what it was doing with
                // it? That decides whether anything changed. An error proves little: a lost
                // answer to an assign that was carried out, retried into a 422 "locked by
                // another action", looks like a refusal while the IP is moving.
                let msg = e.chain();
                self.steps.finish(s, false, msg.clone());
                return match self.settle_ip(ip).await {
                    Ok(Some(id)) if id == to.id => {
                        self.steps.warn(format!("assign reported `{msg}`, but the IP now points at droplet {id}; continuing"));
                        self.confirm(ip, to).await
                    }
                    Ok(Some(id)) if id == from.id => Err(Stop::new(
                        Outcome::ApiError,
                        format!(
                            "assigning {ip} to droplet {} failed ({msg}); no action is running on the IP and it still points at droplet {id}: nothing changed",
                            to.id
                        ),
                    )),
                    Ok(holder) => Err(Stop::new(
                        Outcome::Uncertain,
                        format!(
                            "assigning {ip} to droplet {} failed ({msg}); the IP now points at {}. Check with `zdd-do status`",
                            to.id,
                            holder
                                .map(|h| format!("droplet {h}"))
                                .unwrap_or_else(|| "no droplet".into())
                        ),
                    )),
                    Err(why) => Err(Stop::new(
                        Outcome::Uncertain,
                        format!(
                            "assigning {ip} to droplet {} failed ({msg}), and where it ends up is unknown: {why}. Check with `zdd-do status`",
                            to.id
                        ),
                    )),
                };
            }
        }
        self.confirm(ip, to).await
    }

    /// After a failed assign: wait (within the assign timeout) for every action DigitalOcean
    /// still runs on `ip`, then read where it points. `Err` says why that is unknown.
    pub(super) async fn settle_ip(&mut self, ip: Ipv4Addr) -> Result<Option<DropletId>, String> {
        let running: Vec<do_api::actions::Action> = self
            .client
            .reserved_ips()
            .list_actions(ip)
            .await
            .map_err(|e| format!("listing the IP's actions failed ({})", e.chain()))?
            .into_iter()
            .filter(|a| !a.is_completed() && !a.is_errored())
            .collect();
        for a in running {
            self.steps.note(format!(
                "action {} ({}) is still running on {ip}; waiting for it",
                a.id, a.kind
            ));
            let sink = self.steps.sink;
            match self
                .client
                .actions()
                .wait_with(a.id, &self.cfg.assign_wait, |a| {
                    sink.emit(Event::ActionProgress {
                        action_id: a.id,
                        status: a.status.clone(),
                    })
                })
                .await
            {
                Ok(_) => {}
                Err(e) if e.is_wait_timeout() => {
                    return Err(format!("action {} is still running ({})", a.id, e.chain()));
                }
                // Errored: it ended; where the IP points says the rest.
                Err(do_api::Error::ActionErrored { .. }) => {}
                Err(e) => {
                    return Err(format!(
                        "waiting for action {} failed ({})",
                        a.id,
                        e.chain()
                    ));
                }
            }
        }
        self.ip_holder(ip)
            .await
            .map_err(|e| format!("reading where it points failed ({})", e.chain()))
    }

    pub(super) async fn confirm(&mut self, ip: Ipv4Addr, to: &Droplet) -> Result<(), Stop> {
        let s = self.steps.start_on(
            Step::Confirm,
            crate::events::Subject::ReservedIp { ip },
            format!("reserved IP {ip} points at droplet {}", to.id),
        );
        match self.ip_holder(ip).await {
            Ok(Some(id)) if id == to.id => {
                self.steps.finish(s, true, format!("{ip} -> droplet {id}"));
                Ok(())
            }
            Ok(other) => {
                let msg = format!(
                    "the assign action completed but {ip} points at {}",
                    other
                        .map(|h| format!("droplet {h}"))
                        .unwrap_or_else(|| "no droplet".into())
                );
                self.steps.finish(s, false, msg.clone());
                Err(Stop::new(Outcome::Uncertain, msg))
            }
            Err(e) => {
                self.steps.finish(s, false, e.chain());
                Err(Stop::new(
                    Outcome::Uncertain,
                    format!("could not confirm where {ip} points: {}", e.chain()),
                ))
            }
        }
    }
}
