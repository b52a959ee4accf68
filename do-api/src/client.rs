//! The client: a cheap-to-clone handle on one `reqwest::Client`, the base URL, the token and the
//! retry policy. Resource handlers (`client.droplets()`, ...) borrow it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::Retryable;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::{ApiError, Error, Result, TransportError, TransportKind, snippet};
use crate::rate_limit::{RateLimit, retry_after};
use crate::retry::RetryPolicy;

/// The public DigitalOcean API.
pub const DEFAULT_BASE_URL: &str = "https://api.digitalocean.com/";

/// The user agent sent unless the builder is told otherwise.
pub const DEFAULT_USER_AGENT: &str = concat!("do-api/", env!("CARGO_PKG_VERSION"));

/// A DigitalOcean API token. Never printed: `Debug` and `Display` show `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wrap a token, trimming surrounding white space (token files often end in a newline).
    pub fn new(token: impl Into<String>) -> Result<Self> {
        let t = token.into().trim().to_owned();
        if t.is_empty() {
            return Err(Error::Config("the API token is empty".into()));
        }
        if t.chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::Config(
                "the API token contains spaces or control characters; check how it was copied"
                    .into(),
            ));
        }
        Ok(Token(t))
    }

    fn header(&self) -> Result<HeaderValue> {
        let mut v = HeaderValue::from_str(&format!("Bearer {}", self.0))
            .map_err(|_| Error::Config("the API token is not valid in an HTTP header".into()))?;
        v.set_sensitive(true);
        Ok(v)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A typed async client for the DigitalOcean API v2. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    auth: HeaderValue,
    retry: RetryPolicy,
    last_rate_limit: Mutex<Option<RateLimit>>,
    requests: AtomicU64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("token", &"<redacted>")
            .field("retry", &self.inner.retry)
            .finish()
    }
}

/// Builds a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    token: Option<Token>,
    base_url: String,
    user_agent: String,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    extra_roots: Vec<u8>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            token: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            extra_roots: Vec::new(),
        }
    }
}

impl ClientBuilder {
    /// The API token (required).
    pub fn token(mut self, token: Token) -> Self {
        self.token = Some(token);
        self
    }

    /// Base URL, `https://api.digitalocean.com/` by default; tests and the simulator point it
    /// at a local server.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// User agent, `do-api/<version>` by default ([`DEFAULT_USER_AGENT`]).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Timeout for one whole request (30 s by default).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Timeout for establishing a connection (10 s by default).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Retry policy ([`RetryPolicy::default`] unless set).
    pub fn retry_policy(mut self, p: RetryPolicy) -> Self {
        self.retry = p;
        self
    }

    /// Also trust the CA certificates in this PEM text (one or more `BEGIN CERTIFICATE`
    /// blocks), besides the system's roots: for a proxy or a simulator with its own CA, such
    /// as `zdd-do sim --tls`. Checked by [`ClientBuilder::build`]. Calling it again adds more.
    pub fn root_certificates_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.extra_roots.extend_from_slice(pem.as_ref());
        self.extra_roots.push(b'\n');
        self
    }

    /// Build the client.
    pub fn build(self) -> Result<Client> {
        let token = self
            .token
            .ok_or_else(|| Error::Config("no API token was given".into()))?;
        let mut base = Url::parse(self.base_url.trim()).map_err(|e| {
            Error::Config(format!("base URL `{}` is not a URL: {e}", self.base_url))
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(Error::Config(format!(
                "base URL `{}` must be an http or https URL",
                self.base_url
            )));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(Error::Config(format!(
                "base URL `{}` must not have a query or fragment",
                self.base_url
            )));
        }
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let mut http = reqwest::Client::builder()
            .user_agent(self.user_agent)
            .default_headers(headers)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout);
        if !self.extra_roots.is_empty() {
            let certs = reqwest::Certificate::from_pem_bundle(&self.extra_roots)
                .ok()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    Error::Config(
                        "the root certificates given are not PEM certificates (expected BEGIN CERTIFICATE blocks)".into(),
                    )
                })?;
            http = http.tls_certs_merge(certs);
        }
        let http = http
            .build()
            .map_err(|e| Error::Config(format!("HTTP client could not be built: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                auth: token.header()?,
                base,
                retry: self.retry,
                last_rate_limit: Mutex::new(None),
                requests: AtomicU64::new(0),
            }),
        })
    }
}

/// Whether a request may be repeated after a 5xx or a timeout, where DigitalOcean may already
/// have acted on it. 429 and refused connections are retried either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Repeating cannot duplicate work (GET, PUT, DELETE, idempotent actions).
    Safe,
    /// Repeating could create a second resource or run an action twice.
    Unsafe,
}

/// One request, ready to be sent (and re-sent).
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: Method,
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub repeat: Repeat,
}

impl Request {
    pub fn new(method: Method, segments: &[&str]) -> Self {
        let repeat = if method == Method::POST {
            Repeat::Unsafe
        } else {
            Repeat::Safe
        };
        Request {
            method,
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            query: Vec::new(),
            body: None,
            repeat,
        }
    }

    pub fn query(mut self, key: &str, value: impl ToString) -> Self {
        self.query.push((key.to_owned(), value.to_string()));
        self
    }

    pub fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Result<Self> {
        self.body =
            Some(serde_json::to_vec(body).map_err(|e| {
                Error::InvalidInput(format!("request body could not be encoded: {e}"))
            })?);
        Ok(self)
    }

    pub fn repeat(mut self, r: Repeat) -> Self {
        self.repeat = r;
        self
    }

    /// `/v2/droplets/1` — what errors and logs show (no host, no query).
    pub fn path(&self) -> String {
        let mut p = String::new();
        for s in &self.segments {
            p.push('/');
            p.push_str(s);
        }
        p
    }
}

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Client {
    /// Start building a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client for the public API with default settings.
    pub fn new(token: Token) -> Result<Self> {
        Client::builder().token(token).build()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The retry policy in use.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The rate-limit headers of the most recent answer that carried them.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        *self
            .inner
            .last_rate_limit
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// HTTP requests sent so far by this client and its clones (retries included).
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    pub(crate) fn url(&self, segments: &[String], query: &[(String, String)]) -> Url {
        let mut url = self.inner.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .expect("base URL checked in build()");
            path.pop_if_empty();
            path.extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// Send with retries; a non-2xx answer becomes [`Error::Api`].
    pub(crate) async fn send(&self, req: &Request) -> Result<Response> {
        let policy = &self.inner.retry;
        let cap = policy.max_server_wait();
        (|| self.send_once(req))
            .retry(policy.backoff())
            .sleep(tokio::time::sleep)
            .when(|e| should_retry(e, req.repeat))
            .adjust(|e, next| next.map(|d| server_wait(e, cap).unwrap_or(d)))
            .notify(|e, wait| {
                tracing::warn!(
                    method = %req.method,
                    path = %req.path(),
                    wait_ms = wait.as_millis() as u64,
                    "retrying after: {}",
                    e.chain()
                );
            })
            .await
    }

    async fn send_once(&self, req: &Request) -> Result<Response> {
        let url = self.url(&req.segments, &req.query);
        let path = req.path();
        let mut builder = self
            .inner
            .http
            .request(req.method.clone(), url)
            .header(AUTHORIZATION, self.inner.auth.clone());
        if let Some(body) = &req.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(method = %req.method, path = %path, "request");
        let transport = |e: reqwest::Error| Error::Transport {
            method: req.method.to_string(),
            path: path.clone(),
            source: TransportError::from_reqwest(&e),
        };
        let resp = builder.send().await.map_err(transport)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let rate_limit = RateLimit::from_headers(&headers);
        if rate_limit.is_some() {
            *self
                .inner
                .last_rate_limit
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = rate_limit;
        }
        let body = resp.bytes().await.map_err(transport)?.to_vec();
        tracing::debug!(method = %req.method, path = %path, status = status.as_u16(), "response");
        if status.is_success() {
            return Ok(Response { status, body });
        }
        let header_rid = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut api = ApiError::from_body(
            status.as_u16(),
            req.method.as_str(),
            &path,
            &body,
            header_rid,
        );
        api.rate_limit = rate_limit;
        api.retry_after = retry_after(&headers);
        Err(Error::Api(Box::new(api)))
    }

    /// Send and decode the whole body.
    pub(crate) async fn json<T: DeserializeOwned>(&self, req: Request) -> Result<T> {
        let resp = self.send(&req).await?;
        decode(&req, &resp.body)
    }

    /// Send and decode the value under `key` of the answer (`{"droplet": {...}}`).
    pub(crate) async fn keyed<T: DeserializeOwned>(&self, req: Request, key: &str) -> Result<T> {
        let resp = self.send(&req).await?;
        take_key(&req, &resp.body, key)
    }

    /// Send, expecting no body worth reading (204, or 202 with an empty body).
    pub(crate) async fn empty(&self, req: Request) -> Result<StatusCode> {
        Ok(self.send(&req).await?.status)
    }
}

pub(crate) fn decode<T: DeserializeOwned>(req: &Request, body: &[u8]) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| Error::Decode {
        method: req.method.to_string(),
        path: req.path(),
        detail: format!(
            "{}{} in `{}`",
            at(&e.path().to_string(), None),
            e.inner(),
            snippet(body)
        ),
    })
}

/// `at `droplets[3].networks`: ` — where in the answer a value did not fit (`.` is the whole
/// answer); `key` prefixes the path of a value taken out of the answer first.
fn at(path: &str, key: Option<&str>) -> String {
    match (key, path) {
        (None, ".") => String::new(),
        (Some(k), ".") => format!("at `{k}`: "),
        (Some(k), p) => format!("at `{k}.{p}`: "),
        (None, p) => format!("at `{p}`: "),
    }
}

pub(crate) fn take_key<T: DeserializeOwned>(req: &Request, body: &[u8], key: &str) -> Result<T> {
    let mut map: serde_json::Map<String, serde_json::Value> = decode(req, body)?;
    let value = map.remove(key).ok_or_else(|| Error::Decode {
        method: req.method.to_string(),
        path: req.path(),
        detail: format!("no `{key}` in `{}`", snippet(body)),
    })?;
    serde_path_to_error::deserialize(value).map_err(|e| Error::Decode {
        method: req.method.to_string(),
        path: req.path(),
        detail: format!("{}{}", at(&e.path().to_string(), Some(key)), e.inner()),
    })
}

fn should_retry(e: &Error, repeat: Repeat) -> bool {
    match e {
        Error::Api(api) if api.status == 429 => true,
        Error::Api(api) => api.status >= 500 && repeat == Repeat::Safe,
        // Refused or failed connection: the request never reached the API.
        Error::Transport { source, .. } if source.kind == TransportKind::Connect => true,
        // A refused certificate stays refused.
        Error::Transport { source, .. } if source.kind == TransportKind::Tls => false,
        // Timed out or cut off mid-answer: DigitalOcean may have acted on it.
        Error::Transport { .. } => repeat == Repeat::Safe,
        _ => false,
    }
}

/// The wait the server asked for: `Retry-After`, else the time to `ratelimit-reset` when the
/// quota is used up (429 only), capped.
fn server_wait(e: &Error, cap: Duration) -> Option<Duration> {
    let api = e.api()?;
    let wait = api.retry_after.or_else(|| {
        let rl = api.rate_limit?;
        (api.status == 429 && rl.remaining == 0).then(|| rl.until_reset())
    })?;
    Some(wait.min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> Client {
        Client::builder()
            .token(Token::new("secret-token").unwrap())
            .base_url(base)
            .build()
            .unwrap()
    }

    #[test]
    fn token_is_redacted() {
        let c = client("http://127.0.0.1:1/");
        let dbg = format!(
            "{c:?} {:?} {}",
            Token::new("secret-token").unwrap(),
            Token::new("x").unwrap()
        );
        assert!(!dbg.contains("secret-token"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
    }

    #[test]
    fn token_checks() {
        assert!(
            Token::new("  \n")
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        assert!(Token::new("ab cd").is_err());
        assert!(Token::new("dop_v1_abc\n").is_ok());
    }

    #[test]
    fn urls_keep_base_path_and_encode_segments() {
        let c = client("http://127.0.0.1:9/prefix");
        let req = Request::new(Method::GET, &["v2", "tags", "a b/c", "resources"]).query("page", 2);
        assert_eq!(
            c.url(&req.segments, &req.query).as_str(),
            "http://127.0.0.1:9/prefix/v2/tags/a%20b%2Fc/resources?page=2"
        );
        assert_eq!(req.path(), "/v2/tags/a b/c/resources");
    }

    #[test]
    fn bad_base_urls() {
        for bad in ["", "ftp://x/", "not a url", "http://h/?q=1"] {
            let e = Client::builder()
                .token(Token::new("t").unwrap())
                .base_url(bad)
                .build()
                .unwrap_err();
            assert!(matches!(e, Error::Config(_)), "{bad}: {e}");
        }
        assert!(matches!(
            Client::builder().build().unwrap_err(),
            Error::Config(_)
        ));
    }

    #[test]
    fn retry_decisions() {
        let api = |status: u16| {
            Error::Api(Box::new(ApiError::from_body(
                status,
                "POST",
                "/v2/droplets",
                b"",
                None,
            )))
        };
        assert!(should_retry(&api(429), Repeat::Unsafe));
        assert!(should_retry(&api(503), Repeat::Safe));
        assert!(!should_retry(&api(503), Repeat::Unsafe));
        assert!(!should_retry(&api(404), Repeat::Safe));
        assert!(!should_retry(
            &Error::InvalidInput("x".into()),
            Repeat::Safe
        ));
    }

    #[test]
    fn server_wait_prefers_retry_after_and_caps() {
        let mut a = ApiError::from_body(429, "GET", "/", b"", None);
        a.retry_after = Some(Duration::from_secs(120));
        let e = Error::Api(Box::new(a.clone()));
        assert_eq!(
            server_wait(&e, Duration::from_secs(30)),
            Some(Duration::from_secs(30))
        );
        a.retry_after = None;
        a.rate_limit = Some(RateLimit {
            limit: 5000,
            remaining: 0,
            reset: 0,
        });
        assert_eq!(
            server_wait(&Error::Api(Box::new(a.clone())), Duration::from_secs(30)),
            Some(Duration::ZERO)
        );
        a.rate_limit = Some(RateLimit {
            limit: 5000,
            remaining: 10,
            reset: 0,
        });
        assert_eq!(
            server_wait(&Error::Api(Box::new(a)), Duration::from_secs(30)),
            None
        );
    }
}
