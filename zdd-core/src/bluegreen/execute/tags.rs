//! Moving the live/standby tags, and switching back after a failed verification.

use super::*;

impl Run<'_> {
    /// Keep the report's droplet summaries true to the tags after a move that went through.
    pub(super) fn note_tag_move(&mut self, m: &TagMove) {
        for d in [self.live.as_mut(), self.standby.as_mut()]
            .into_iter()
            .flatten()
            .chain(self.live_group.iter_mut())
            .chain(self.standby_group.iter_mut())
        {
            if d.id == m.droplet {
                d.tags.retain(|t| t != &m.tag);
                if m.add {
                    d.tags.push(m.tag.clone());
                }
            }
        }
    }

    pub(super) async fn move_tags(&mut self, moves: &[TagMove]) -> Result<(), Stop> {
        if moves.is_empty() {
            return Ok(());
        }
        let s = self.steps.start_on(
            Step::TagMove,
            crate::events::Subject::Droplets {
                ids: moves.iter().map(|m| m.droplet).collect(),
            },
            moves
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        );
        for m in moves {
            let r = if m.add {
                self.client.tags().tag_droplets(&m.tag, &[m.droplet]).await
            } else {
                self.client
                    .tags()
                    .untag_droplets(&m.tag, &[m.droplet])
                    .await
            };
            if let Err(e) = r {
                self.steps.finish(s, false, format!("{m}: {}", e.chain()));
                return Err(Stop::new(
                    Outcome::ApiError,
                    format!(
                        "traffic is on the verified droplet, but moving the tags failed at `{m}` ({}); run the same command again to finish",
                        e.chain()
                    ),
                ));
            }
            self.note_tag_move(m);
        }
        self.steps
            .finish(s, true, format!("{} tag changes", moves.len()));
        Ok(())
    }

    /// Traffic is on `bad` (unverified); send it back to `good` and put the tags right.
    pub(super) async fn switch_back(
        &mut self,
        ip: Ipv4Addr,
        bad: &Droplet,
        good: &Droplet,
        why: &HealthFailure,
    ) -> Stop {
        self.steps.warn(format!(
            "verification through {ip} failed ({why}); switching back to droplet {} ({})",
            good.id, good.name
        ));
        if let Err(Stop { message: msg, .. }) = self.assign(Step::SwitchBack, ip, bad, good).await {
            return Stop::new(
                Outcome::Uncertain,
                format!(
                    "verification failed ({why}) and switching back failed: {msg}. Traffic may be on an unhealthy droplet: needs a human"
                ),
            );
        }
        let fallback = self.fallback_check();
        if let Err(f) = self.verify(ip, good, &fallback).await {
            self.steps.warn(format!(
                "after switching back, {ip} does not pass the health check either: {f}"
            ));
        }
        let moves = tag_moves(good, bad, &self.cfg.roles);
        if let Err(Stop { message: msg, .. }) = self.move_tags(&moves).await {
            self.steps.warn(msg);
        }
        self.live = Some(good.into());
        self.standby = Some(bad.into());
        Stop::new(
            Outcome::SwitchedBack,
            format!(
                "droplet {} ({}) failed verification through {ip} ({why}); traffic is back on droplet {} ({})",
                bad.id, bad.name, good.id, good.name
            ),
        )
    }
}
