//! How an answer names the droplet that served it, and learning that from the droplets
//! themselves, so that traffic through the load balancer can be attributed to droplets
//! ([`super::watch`]).
//!
//! An app behind a load balancer usually says who answered somewhere: a header such as
//! `X-Droplet-Id`, `X-Served-By` or `Server`, or a field of a JSON body. zdd-do probes each
//! droplet directly and keeps the header or top-level JSON field whose value is that droplet's
//! id, name or one of its IPv4 addresses on **every** droplet probed. A header whose value
//! could equal a small id by chance (`Content-Length: 3`) is never taken.

use std::fmt;

use do_api::droplets::Droplet;
use reqwest::header::HeaderMap;
use serde::Serialize;

/// Where an answer names the droplet that served it. A droplet matches when the value is its
/// name, its id, or one of its IPv4 addresses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "in", content = "name", rename_all = "snake_case")]
pub enum Identify {
    /// A response header (`header:X-Droplet`).
    Header(String),
    /// A top-level field of a JSON body (`json:droplet`).
    JsonField(String),
    /// The whole body, trimmed (`body`).
    Body,
}

impl fmt::Display for Identify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identify::Header(h) => write!(f, "header:{h}"),
            Identify::JsonField(j) => write!(f, "json:{j}"),
            Identify::Body => f.write_str("body"),
        }
    }
}

impl Identify {
    /// Parse `header:NAME`, `json:FIELD` or `body`.
    pub fn parse(s: &str) -> Result<Identify, String> {
        let bad = || {
            format!(
                "`{s}` is not a way to recognise the droplet; use header:NAME, json:FIELD or body"
            )
        };
        match s.split_once(':') {
            Some(("header", h)) if !h.trim().is_empty() => {
                Ok(Identify::Header(h.trim().to_ascii_lowercase()))
            }
            Some(("json", f)) if !f.trim().is_empty() => Ok(Identify::JsonField(f.trim().into())),
            None if s.trim() == "body" => Ok(Identify::Body),
            _ => Err(bad()),
        }
    }

    /// The droplet named in an answer, as the app wrote it.
    pub fn extract(&self, headers: &HeaderMap, body: &str) -> Option<String> {
        match self {
            Identify::Header(h) => headers
                .get(h.as_str())
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned()),
            Identify::JsonField(f) => {
                let v: serde_json::Value = serde_json::from_str(body).ok()?;
                scalar(&v[f.as_str()])
            }
            Identify::Body => Some(body.trim().to_owned()),
        }
    }
}

fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether `named` (from [`Identify::extract`]) is droplet `d`: its name, its id, or one of
/// its IPv4 addresses.
pub fn names(named: &str, d: &Droplet) -> bool {
    !named.is_empty()
        && (named == d.name
            || named == d.id.to_string()
            || d.public_ipv4().is_some_and(|ip| named == ip.to_string())
            || d.private_ipv4().is_some_and(|ip| named == ip.to_string()))
}

/// Headers whose values are about the message, not the server: never an identity, even when
/// a value happens to equal a droplet id.
const NOT_IDENTITY: &[&str] = &[
    "accept-ranges",
    "age",
    "cache-control",
    "connection",
    "content-encoding",
    "content-length",
    "content-type",
    "date",
    "etag",
    "expires",
    "keep-alive",
    "last-modified",
    "retry-after",
    "transfer-encoding",
    "vary",
];

/// The ways this answer of droplet `d` names it.
pub fn candidates(headers: &HeaderMap, body: &str, d: &Droplet) -> Vec<Identify> {
    let mut out = Vec::new();
    for (name, value) in headers {
        let name = name.as_str();
        if NOT_IDENTITY.contains(&name) || name.starts_with("ratelimit") {
            continue;
        }
        if value.to_str().is_ok_and(|v| names(v.trim(), d)) {
            out.push(Identify::Header(name.to_owned()));
        }
    }
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(body) {
        for (k, v) in &map {
            if scalar(v).is_some_and(|s| names(&s, d)) {
                out.push(Identify::JsonField(k.clone()));
            }
        }
    }
    out.sort_by_key(rank);
    out.dedup();
    out
}

/// Headers first, those that say "droplet" before others; then JSON fields.
fn rank(i: &Identify) -> (u8, String) {
    match i {
        Identify::Header(h) if h.contains("droplet") => (0, h.clone()),
        Identify::Header(h) => (1, h.clone()),
        Identify::JsonField(f) if f.contains("droplet") => (2, f.clone()),
        Identify::JsonField(f) => (3, f.clone()),
        Identify::Body => (4, String::new()),
    }
}

/// How the droplets identify themselves, and how that was found out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// Where answers name their droplet.
    pub how: Identify,
    /// Learned from the droplets' answers (`false`: given).
    pub learned: bool,
    /// What it rests on.
    pub evidence: String,
}

/// From direct answers of droplets (the droplet, the answer's headers and body), the one way
/// every answer names its droplet; `Err` says why none was found.
pub fn choose(answers: &[(Droplet, HeaderMap, String)], what: &str) -> Result<Identity, String> {
    if answers.is_empty() {
        return Err(format!("no droplet answered {what} directly"));
    }
    let mut common = candidates(&answers[0].1, &answers[0].2, &answers[0].0);
    for (d, h, b) in &answers[1..] {
        let here = candidates(h, b, d);
        common.retain(|c| here.contains(c));
    }
    match common.into_iter().next() {
        Some(how) => Ok(Identity {
            evidence: format!(
                "{} names the droplet in the direct answers of {}",
                how,
                match answers.len() {
                    1 => format!("droplet {}", answers[0].0.id),
                    n => format!("all {n} droplets probed"),
                }
            ),
            how,
            learned: true,
        }),
        None => Err(format!(
            "no response header or JSON field of {what} names the droplet that answered ({} droplet(s) probed directly); say where with the identity setting",
            answers.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn droplet(id: u64, name: &str, ip: &str) -> Droplet {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": name, "status": "active",
            "networks": {"v4": [{"ip_address": ip, "type": "public"}]}
        }))
        .unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn parse_and_extract() {
        assert_eq!(
            Identify::parse("header:X-Droplet").unwrap(),
            Identify::Header("x-droplet".into())
        );
        assert_eq!(
            Identify::parse("json:droplet").unwrap(),
            Identify::JsonField("droplet".into())
        );
        assert_eq!(Identify::parse("body").unwrap(), Identify::Body);
        assert!(Identify::parse("header:").is_err());
        assert!(Identify::parse("cookie:x").is_err());
        assert_eq!(
            Identify::Header("x-droplet".into()).to_string(),
            "header:x-droplet"
        );

        let h = headers(&[("x-droplet", "web-2")]);
        assert_eq!(
            Identify::Header("x-droplet".into()).extract(&h, ""),
            Some("web-2".into())
        );
        assert_eq!(
            Identify::JsonField("droplet".into()).extract(&h, r#"{"droplet": 7}"#),
            Some("7".into())
        );
        assert_eq!(
            Identify::JsonField("droplet".into()).extract(&h, "not json"),
            None
        );
        assert_eq!(Identify::Body.extract(&h, " web-1\n"), Some("web-1".into()));

        let d = droplet(12, "web-1", "203.0.113.5");
        assert!(names("web-1", &d) && names("12", &d) && names("203.0.113.5", &d));
        assert!(!names("web-10", &d) && !names("1", &d) && !names("", &d));
    }

    #[test]
    fn a_header_or_field_naming_every_droplet_is_learned() {
        let d1 = droplet(1, "web-1", "203.0.113.1");
        let d2 = droplet(2, "web-2", "203.0.113.2");
        // The sim's header: the id. Content-Length 1 equals droplet 1's id and is ignored.
        let a = |d: &Droplet, id: &str, len: &str| {
            (
                d.clone(),
                headers(&[("x-droplet-id", id), ("content-length", len)]),
                String::new(),
            )
        };
        let got = choose(&[a(&d1, "1", "1"), a(&d2, "2", "2")], "/health").unwrap();
        assert_eq!(got.how, Identify::Header("x-droplet-id".into()));
        assert!(got.learned);
        assert_eq!(
            got.evidence,
            "header:x-droplet-id names the droplet in the direct answers of all 2 droplets probed"
        );
        // A JSON field with the name, when no header says it.
        let j = |d: &Droplet| {
            (
                d.clone(),
                HeaderMap::new(),
                format!(r#"{{"status":"ok","host":"{}"}}"#, d.name),
            )
        };
        let got = choose(&[j(&d1), j(&d2)], "/").unwrap();
        assert_eq!(got.how, Identify::JsonField("host".into()));
        // The address counts too.
        let got = choose(
            &[(
                d1.clone(),
                headers(&[("server", "203.0.113.1")]),
                String::new(),
            )],
            "/",
        )
        .unwrap();
        assert_eq!(got.how, Identify::Header("server".into()));
    }

    #[test]
    fn a_value_that_names_only_some_droplets_is_not_an_identity() {
        let d1 = droplet(1, "web-1", "203.0.113.1");
        let d2 = droplet(2, "web-2", "203.0.113.2");
        // Both say `web-1` (a shared cache, a fixed hostname): not who answered.
        let a = |d: &Droplet| (d.clone(), headers(&[("x-host", "web-1")]), String::new());
        let e = choose(&[a(&d1), a(&d2)], "/health").unwrap_err();
        assert_eq!(
            e,
            "no response header or JSON field of /health names the droplet that answered (2 droplet(s) probed directly); say where with the identity setting"
        );
        assert_eq!(
            choose(&[], "/health").unwrap_err(),
            "no droplet answered /health directly"
        );
        // Only message headers carry the id: nothing.
        let e = choose(
            &[(
                d1.clone(),
                headers(&[("content-length", "1"), ("age", "1")]),
                String::new(),
            )],
            "/",
        );
        assert!(e.is_err());
    }
}
