//! Probing: the health gate on droplets, and verification through the reserved IP.

use super::*;

impl Run<'_> {
    pub(super) fn direct_ip(&self, d: &Droplet) -> Result<IpAddr, Stop> {
        self.gate
            .address_of(d)
            .map_err(|m| Stop::new(Outcome::Refused, m))
    }

    /// The check for the droplet traffic falls back to: the previous version, so the expected
    /// body (the new version's text) does not apply.
    pub(super) fn fallback_check(&self) -> HealthGate {
        self.gate.any_version()
    }

    /// Health-check a droplet directly.
    pub(super) async fn gate(&self, d: &Droplet, check: &HealthGate) -> Result<(), HealthFailure> {
        crate::runner::gate(&self.steps, d, check).await
    }

    /// Health-check droplets directly, all at once; `Err` names the first that failed, and why.
    pub(super) async fn gate_all(&self, ds: &[Droplet], check: &HealthGate) -> Result<(), String> {
        crate::runner::gate_all(&self.steps, ds, check).await
    }

    /// Health-check through the reserved IP; on success, returns the time to the first pass.
    pub(super) async fn verify(
        &mut self,
        ip: Ipv4Addr,
        who: &Droplet,
        check: &HealthGate,
    ) -> Result<Duration, HealthFailure> {
        let url = check.url_for(IpAddr::V4(ip));
        let s = self.steps.start_on(
            Step::Verify,
            crate::events::Subject::ReservedIp { ip },
            format!("droplet {} ({}) through {url}", who.id, who.name),
        );
        match check
            .policy
            .wait_url_within(
                &url,
                self.steps.sink,
                self.cfg.verify_deadline,
                crate::health::FailFast::OnStatus,
            )
            .await
        {
            Ok(r) => {
                self.steps.finish(
                    s,
                    true,
                    format!("answering through {ip} after {} attempts", r.attempts),
                );
                Ok(r.first_success_after)
            }
            Err(f) => {
                self.steps.finish(s, false, f.to_string());
                Err(f)
            }
        }
    }
}
