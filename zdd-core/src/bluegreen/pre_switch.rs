//! The pre-switch hook: before a reserved IP moves, the live droplet's app is asked to stop
//! keeping connections alive.
//!
//! A reserved IP's move on DigitalOcean breaks every connection open through it ("Moving IPs
//! has a cost. It breaks all active connections", digitalocean/flipop). A client that keeps a
//! connection alive between requests (browsers, mobile apps, proxies, API clients) sends its
//! next request on a dead connection: one failed request per pooled connection, unless it
//! retries. Asked beforehand, the app answers `Connection: close` and closes its idle
//! connections, so at the move only requests in flight are exposed.

use serde::Serialize;

/// The app's URL that turns keep-alive off, on the live droplet (the health gate's scheme and
/// port). The app must, from that call on and for at least as long as the switch takes (a
/// minute is plenty), answer every request with `Connection: close` and close its idle
/// connections (Go: `Server.SetKeepAlivesEnabled(false)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreSwitch {
    /// The path (`/connection-close`).
    pub path: String,
    /// The HTTP method (`POST`).
    pub method: String,
}

impl PreSwitch {
    /// The one check: a path starting with `/`, and a method that is an HTTP token. `Err`
    /// says which is wrong (`true`: the method) and how.
    pub fn check(&self) -> Result<(), (bool, String)> {
        if !self.path.starts_with('/') {
            return Err((
                false,
                format!(
                    "the pre-switch path `{}` must start with `/` (it is called on the live droplet, like the health path)",
                    self.path
                ),
            ));
        }
        if self.method.is_empty()
            || !self
                .method
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        {
            return Err((
                true,
                format!(
                    "the pre-switch method `{}` is not an HTTP method",
                    self.method
                ),
            ));
        }
        Ok(())
    }

    /// `POST path`.
    pub fn new(path: impl Into<String>) -> Self {
        PreSwitch {
            path: path.into(),
            method: "POST".into(),
        }
    }
}
