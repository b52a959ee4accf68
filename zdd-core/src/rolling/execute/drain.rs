//! Draining and watching: the app's drain URL, seeing a droplet fail its health check, and
//! watching traffic through the load balancer until it routes to put-back droplets.

use super::*;

impl Run<'_> {
    pub(super) fn probe_deadline(&self) -> Duration {
        self.cfg
            .lb_probe
            .as_ref()
            .and_then(|p| p.deadline)
            .unwrap_or_else(|| {
                waits::total_applied(&self.put_back_waits()).mul_f64(3.0)
                    + self.gate().policy.request_timeout
            })
    }

    pub(super) async fn drain_url(
        &self,
        d: &Droplet,
        path: &str,
        method: &str,
    ) -> Result<(), String> {
        let ip = self.direct_ip(d)?;
        let url = self.gate().endpoint.url_with_path(ip, path);
        let m = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| format!("`{method}` is not an HTTP method"))?;
        let http = reqwest::Client::builder()
            .timeout(self.gate().policy.request_timeout)
            .danger_accept_invalid_certs(self.gate().policy.insecure_tls)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let resp = http
            .request(m, &url)
            .send()
            .await
            .map_err(|e| format!("{method} {url}: {e}"))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("{method} {url} answered {}", resp.status()))
        }
    }

    /// Probe `d` until its health check fails (the app is draining), within the gate deadline.
    pub(super) async fn see_failing(&self, d: &Droplet) -> Result<Duration, String> {
        let ip = self.direct_ip(d)?;
        let check = self.any_version_check();
        let url = check.url_for(ip);
        let started = Instant::now();
        loop {
            if check.policy.probe(&url).await.is_err() {
                return Ok(started.elapsed());
            }
            if started.elapsed() + check.policy.interval > check.policy.deadline {
                return Err(format!(
                    "{url} still passes {}s after the drain call",
                    started.elapsed().as_secs()
                ));
            }
            tokio::time::sleep(check.policy.interval).await;
        }
    }

    pub(super) async fn watch_lb(
        &self,
        probe: &LbProbe,
        ds: &[Droplet],
        deadline: Duration,
    ) -> Result<Vec<(DropletId, Duration)>, String> {
        let http = reqwest::Client::builder()
            .timeout(self.gate().policy.request_timeout)
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        let mut seen: Vec<(DropletId, Duration)> = Vec::new();
        let mut answers = 0u32;
        let mut last: String;
        loop {
            match http.get(&probe.url).send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let body = resp.text().await.unwrap_or_default();
                    answers += 1;
                    match probe.identify.extract(&headers, &body) {
                        Some(named) => {
                            if let Some(d) = ds.iter().find(|d| names(&named, d))
                                && status.as_u16() < 400
                                && !seen.iter().any(|(id, _)| *id == d.id)
                            {
                                seen.push((d.id, started.elapsed()));
                            }
                            last = format!("answered by `{named}` ({status})");
                        }
                        None => last = format!("an answer ({status}) that names no droplet"),
                    }
                    self.steps.sink.emit(Event::HealthAttempt {
                        url: probe.url.clone(),
                        attempt: answers,
                        ok: status.is_success(),
                        detail: last.clone(),
                        consecutive: seen.len() as u32,
                    });
                }
                Err(e) => last = e.to_string(),
            }
            if seen.len() == ds.len() {
                return Ok(seen);
            }
            if started.elapsed() + self.gate().policy.interval > deadline {
                let missing: Vec<String> = ds
                    .iter()
                    .filter(|d| !seen.iter().any(|(id, _)| *id == d.id))
                    .map(|d| format!("{} ({})", d.id, d.name))
                    .collect();
                return Err(format!(
                    "{} never answered through {} within {:.1}s ({answers} answers, last: {last})",
                    missing.join(", "),
                    probe.url,
                    deadline.as_secs_f64()
                ));
            }
            tokio::time::sleep(self.gate().policy.interval).await;
        }
    }
}
