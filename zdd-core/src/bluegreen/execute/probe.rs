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
        let ip = match self.direct_ip(d) {
            Ok(ip) => ip,
            Err(Stop { message: msg, .. }) => {
                return Err(HealthFailure {
                    url: format!("droplet {}", d.id),
                    attempts: 0,
                    last: crate::health::ProbeFailure::Other { detail: msg },
                    duration: Duration::ZERO,
                });
            }
        };
        let s = self.steps.start_on(
            Step::HealthGate,
            crate::events::Subject::droplet(d.id),
            format!("{} ({}) at {}", d.id, d.name, check.url_for(ip)),
        );
        match check.wait_healthy(ip, self.steps.sink).await {
            Ok(r) => {
                self.steps.finish(
                    s,
                    true,
                    format!(
                        "{} passing probes in a row after {} attempts",
                        check.policy.successes, r.attempts
                    ),
                );
                Ok(())
            }
            Err(f) => {
                self.steps.finish(s, false, f.to_string());
                Err(f)
            }
        }
    }

    /// Health-check droplets directly, all at once; `Err` names the first that failed, and why.
    pub(super) async fn gate_all(&self, ds: &[Droplet], check: &HealthGate) -> Result<(), String> {
        let results = futures_util::future::join_all(ds.iter().map(|d| self.gate(d, check))).await;
        for (d, r) in ds.iter().zip(results) {
            if let Err(f) = r {
                return Err(format!(
                    "droplet {} ({}) failed the health gate: {f}",
                    d.id, d.name
                ));
            }
        }
        Ok(())
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
