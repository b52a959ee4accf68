//! One error type for the whole client.
//!
//! DigitalOcean's error body is `{id, message, request_id}`
//! (`shared/responses/*.yml` in the official spec, e.g. `unauthorized.yml`), but some endpoints
//! answer differently (`POST /v2/tags` answers 400 with `{error, messages, root_causes}`,
//! `resources/tags/responses/tags_bad_request.yml`) and proxies may answer with HTML. Every
//! shape still becomes an [`ApiError`] with a readable message.
//!
//! Display strings never repeat their `source()`: print the chain (see [`Error::chain`]).

use std::fmt;
use std::time::Duration;

use crate::ids::ActionId;
use crate::rate_limit::RateLimit;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when talking to DigitalOcean.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// DigitalOcean answered with a non-success status.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The request never produced a whole HTTP answer (connection refused, reset, timed out,
    /// cut off): see [`Error::is_connect`] and [`Error::is_request_timeout`].
    #[error("could not reach the DigitalOcean API for {method} {path}: {source}")]
    Transport {
        /// The request's method.
        method: String,
        /// The request's path (no host, no query).
        path: String,
        /// What happened, with its cause.
        #[source]
        source: TransportError,
    },
    /// The answer was a success but its body did not have the documented shape.
    #[error("unexpected response body for {method} {path}: {detail}")]
    Decode {
        /// The request's method.
        method: String,
        /// The request's path (no host, no query).
        path: String,
        /// What did not match, with a snippet of the body.
        detail: String,
    },
    /// Input rejected before anything was sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The client could not be built (bad base URL, unusable token).
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// An action finished with status `errored`. Fetch the whole action with
    /// [`Actions::get`](crate::actions::Actions::get) if more is needed.
    #[error(
        "action {id} ({kind}) on {} {} errored",
        resource_type.as_deref().unwrap_or("resource"),
        resource_id.map(|id| id.to_string()).unwrap_or_default()
    )]
    ActionErrored {
        /// The action's id.
        id: ActionId,
        /// Its type as DigitalOcean spells it (`assign_ip`).
        kind: String,
        /// Its status as DigitalOcean spells it (`errored`).
        status: String,
        /// The kind of resource it acted on (`reserved_ip`, `droplet`), when given.
        resource_type: Option<String>,
        /// The id of that resource, when given (for IP actions, the IP as a number).
        resource_id: Option<u64>,
    },
    /// A resource (load balancer, droplet) reached a terminal error state while we waited.
    #[error("{what} reached status `{status}` instead of `{expected}`")]
    ResourceErrored {
        /// The resource, such as `load balancer 4de7ac8b-...`.
        what: String,
        /// The status it reached.
        status: String,
        /// The status the wait was for.
        expected: String,
    },
    /// A wait ran past its deadline.
    #[error("{what} did not finish within {} (last seen: {last_seen})", human(*.waited))]
    Timeout {
        /// What was waited for, such as `action 36804636`.
        what: String,
        /// How long it was waited for.
        waited: Duration,
        /// The last state seen.
        last_seen: String,
    },
    /// The API's paging links led somewhere we refuse to follow (a loop, or too many pages).
    #[error("pagination stopped for {path}: {detail}")]
    Pagination {
        /// The list's path.
        path: String,
        /// What was wrong with the links.
        detail: String,
    },
}

impl Error {
    /// The API error, if this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        self.api().map(|e| e.status)
    }

    /// 404 from the API.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// 401 or 403 from the API: the token is wrong, expired, or lacks a scope.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self.status(), Some(401 | 403))
    }

    /// 429 from the API (after the client's own retries gave up).
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(429)
    }

    /// 422 from the API: the request was understood but refused.
    pub fn is_unprocessable(&self) -> bool {
        self.status() == Some(422)
    }

    /// 5xx from the API.
    pub fn is_server_error(&self) -> bool {
        self.status().is_some_and(|s| s >= 500)
    }

    /// Something ran out of time: a wait past its deadline ([`Error::is_wait_timeout`]) or one
    /// request ([`Error::is_request_timeout`]).
    pub fn is_timeout(&self) -> bool {
        self.is_wait_timeout() || self.is_request_timeout()
    }

    /// A wait (for an action, a droplet, a load balancer) ran past its deadline; the thing
    /// waited for may still finish.
    pub fn is_wait_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// No whole HTTP answer came back: see [`TransportKind`] for what happened.
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Transport { .. })
    }

    /// The connection to the API could not be made (refused, unreachable, DNS, TLS handshake):
    /// the request certainly did not reach DigitalOcean.
    pub fn is_connect(&self) -> bool {
        self.transport_kind() == Some(TransportKind::Connect)
    }

    /// One request timed out (the client's `timeout`): DigitalOcean may have acted on it.
    pub fn is_request_timeout(&self) -> bool {
        self.transport_kind() == Some(TransportKind::Timeout)
    }

    /// A success answer whose body did not have the documented shape; the message names the
    /// JSON path that did not fit.
    pub fn is_decode(&self) -> bool {
        matches!(self, Error::Decode { .. })
    }

    /// The TLS handshake failed: most often the server's certificate is not signed by a CA
    /// this client trusts (a TLS-inspecting proxy, a simulator with its own CA: see
    /// [`crate::ClientBuilder::root_certificates_pem`]). Not retried: waiting cannot fix it.
    pub fn is_tls(&self) -> bool {
        self.transport_kind() == Some(TransportKind::Tls)
    }

    /// What kind of transport failure this is, if it is one.
    pub fn transport_kind(&self) -> Option<TransportKind> {
        match self {
            Error::Transport { source, .. } => Some(source.kind),
            _ => None,
        }
    }

    /// The error followed by its sources, joined with `: `, for one-line reports.
    pub fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            let text = s.to_string();
            if !out.contains(&text) {
                out.push_str(": ");
                out.push_str(&text);
            }
            source = s.source();
        }
        out
    }
}

/// How a request failed to produce a whole answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// No connection: refused, unreachable, name not resolved.
    Connect,
    /// The TLS handshake failed (the server's certificate was refused, most often): no request
    /// was sent, and retrying cannot help.
    Tls,
    /// The request's timeout ran out.
    Timeout,
    /// The connection broke after the request was sent (reset, closed mid-answer).
    Broken,
}

/// A transport failure, with the cause the HTTP client reported (`tcp connect error: Connection
/// refused (os error 111)`). The HTTP client's own error type stays out of the public API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    /// What kind of failure.
    pub kind: TransportKind,
    /// The cause, innermost last.
    pub message: String,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            TransportKind::Connect => "no connection",
            TransportKind::Tls => "TLS handshake failed",
            TransportKind::Timeout => "timed out",
            TransportKind::Broken => "connection broken",
        };
        if self.message.is_empty() {
            f.write_str(what)
        } else {
            write!(f, "{what} ({})", self.message)
        }
    }
}

impl std::error::Error for TransportError {}

impl TransportError {
    /// From the HTTP client's error: its kind, and its causes (the first, which repeats the
    /// URL, left out).
    pub(crate) fn from_reqwest(e: &reqwest::Error) -> Self {
        let kind = if e.is_timeout() {
            TransportKind::Timeout
        } else if is_tls(e) {
            TransportKind::Tls
        } else if e.is_connect() {
            TransportKind::Connect
        } else {
            TransportKind::Broken
        };
        let mut causes: Vec<String> = Vec::new();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            let text = s.to_string();
            if !causes.iter().any(|c| c.contains(&text)) {
                causes.push(text);
            }
            source = s.source();
        }
        if causes.is_empty() {
            causes.push(e.to_string());
        }
        TransportError {
            kind,
            message: causes.join(": "),
        }
    }
}

/// Whether rustls failed somewhere in `e`'s chain. An I/O error that carries another error
/// hides it from `source()` (and may carry another I/O error), so those are opened too.
fn is_tls(e: &reqwest::Error) -> bool {
    fn rustls_inside(mut s: &(dyn std::error::Error + 'static)) -> bool {
        loop {
            if s.is::<rustls::Error>() {
                return true;
            }
            match s
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
            {
                Some(inner) => s = inner,
                None => return false,
            }
        }
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if rustls_inside(s) {
            return true;
        }
        source = s.source();
    }
    false
}

/// `1.5s`, `250ms`: a duration as a person reads it, never rounded to `0s`.
pub(crate) fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// `Ok(None)` for a 404, so that the `get_opt` methods read "is it there?" as an `Option`; every
/// other error stays an error.
pub(crate) fn none_if_not_found<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// A non-success answer from DigitalOcean.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// DO's short error id (`not_found`, `unauthorized`, `too_many_requests`, ...), when given.
    pub id: Option<String>,
    /// DO's message, or a readable summary of whatever body came back.
    pub message: String,
    /// DO's request id, from the body or the `x-request-id` header.
    pub request_id: Option<String>,
    /// Extra details some endpoints give (`messages`, `root_causes` of the tags endpoint).
    pub details: Vec<String>,
    /// The request's method.
    pub method: String,
    /// The request's path (no host, no query).
    pub path: String,
    /// Rate-limit headers seen on this answer.
    pub rate_limit: Option<RateLimit>,
    /// `Retry-After` in seconds, when the answer carried one.
    pub retry_after: Option<Duration>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DigitalOcean API {} {} answered {}",
            self.method, self.path, self.status
        )?;
        if let Some(id) = &self.id {
            write!(f, " {id}")?;
        }
        write!(f, ": {}", self.message)?;
        for d in &self.details {
            if d != &self.message {
                write!(f, "; {d}")?;
            }
        }
        if let Some(rid) = &self.request_id {
            write!(f, " (request id {rid})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// Build from a status and raw body: DO's `{id, message, request_id}`, the tags endpoint's
    /// `{error, messages, root_causes}`, or anything else (kept as a trimmed text snippet).
    pub(crate) fn from_body(
        status: u16,
        method: &str,
        path: &str,
        body: &[u8],
        header_request_id: Option<String>,
    ) -> Self {
        let mut err = ApiError {
            status,
            id: None,
            message: String::new(),
            request_id: None,
            details: Vec::new(),
            method: method.to_owned(),
            path: path.to_owned(),
            rate_limit: None,
            retry_after: None,
        };
        if let Ok(serde_json::Value::Object(map)) =
            serde_json::from_slice::<serde_json::Value>(body)
        {
            let text = |key: &str| map.get(key).and_then(|v| v.as_str()).map(str::to_owned);
            let list = |key: &str| -> Vec<String> {
                match map.get(key) {
                    Some(serde_json::Value::Array(items)) => items
                        .iter()
                        .map(|v| {
                            v.as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| v.to_string())
                        })
                        .collect(),
                    Some(serde_json::Value::String(s)) => vec![s.clone()],
                    _ => Vec::new(),
                }
            };
            err.id = text("id");
            err.request_id = text("request_id");
            err.details.extend(list("messages"));
            err.details.extend(list("root_causes"));
            err.message = text("message")
                .or_else(|| text("error"))
                .or_else(|| err.details.first().cloned())
                .unwrap_or_else(|| snippet(body));
        } else {
            err.message = snippet(body);
        }
        if err.message.is_empty() {
            err.message = default_reason(status).to_owned();
        }
        if err.request_id.is_none() {
            err.request_id = header_request_id;
        }
        err
    }
}

fn default_reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("no message")
}

/// The first 200 characters of a body, on one line.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = one_line.chars().take(200).collect();
    if one_line.chars().count() > 200 {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn do_error_shape() {
        let e = ApiError::from_body(
            404,
            "GET",
            "/v2/droplets/1",
            br#"{"id":"not_found","message":"The resource you requested could not be found.","request_id":"abc"}"#,
            Some("header-id".into()),
        );
        assert_eq!(e.id.as_deref(), Some("not_found"));
        assert_eq!(e.request_id.as_deref(), Some("abc"));
        assert_eq!(
            e.to_string(),
            "DigitalOcean API GET /v2/droplets/1 answered 404 not_found: The resource you requested could not be found. (request id abc)"
        );
    }

    #[test]
    fn tags_bad_request_shape() {
        let e = ApiError::from_body(
            400,
            "POST",
            "/v2/tags",
            br#"{"error":"tag name is invalid","messages":["name: must match pattern"],"root_causes":["invalid tag"]}"#,
            Some("rid".into()),
        );
        assert_eq!(e.message, "tag name is invalid");
        assert_eq!(e.details, vec!["name: must match pattern", "invalid tag"]);
        assert_eq!(e.request_id.as_deref(), Some("rid"));
        assert!(
            e.to_string()
                .contains("tag name is invalid; name: must match pattern; invalid tag")
        );
    }

    #[test]
    fn html_body() {
        let e = ApiError::from_body(
            502,
            "GET",
            "/v2/x",
            b"<html>\n<body>Bad   gateway</body></html>",
            None,
        );
        assert_eq!(e.message, "<html> <body>Bad gateway</body></html>");
        assert_eq!(e.id, None);
    }

    #[test]
    fn empty_body_uses_reason() {
        let e = ApiError::from_body(503, "GET", "/v2/x", b"", None);
        assert_eq!(e.message, "Service Unavailable");
    }
}
