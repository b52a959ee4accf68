//! Draining: the app's drain URL, and seeing a droplet fail its health check directly.

use super::*;

impl Run<'_> {
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
}
