//! `--lb-probe`: watching traffic through the load balancer to see a put-back droplet answer,
//! instead of waiting the computed window blindly. The app must say which droplet answered:
//! in a response header, a JSON body field, or the whole body.

use std::time::Duration;

use do_api::droplets::Droplet;
use serde::Serialize;

/// Where the answer names the droplet that served it. A droplet matches when the value is
/// exactly its name or its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "in", content = "name", rename_all = "snake_case")]
pub enum Identify {
    /// A response header (`header:X-Droplet`).
    Header(String),
    /// A top-level field of a JSON body (`json:droplet`).
    JsonField(String),
    /// The whole body, trimmed (`body`).
    Body,
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
            Some(("header", h)) if !h.trim().is_empty() => Ok(Identify::Header(h.trim().into())),
            Some(("json", f)) if !f.trim().is_empty() => Ok(Identify::JsonField(f.trim().into())),
            None if s.trim() == "body" => Ok(Identify::Body),
            _ => Err(bad()),
        }
    }

    /// The droplet named in an answer, as the app wrote it.
    pub fn extract(&self, headers: &reqwest::header::HeaderMap, body: &str) -> Option<String> {
        match self {
            Identify::Header(h) => headers
                .get(h.as_str())
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned()),
            Identify::JsonField(f) => {
                let v: serde_json::Value = serde_json::from_str(body).ok()?;
                match &v[f.as_str()] {
                    serde_json::Value::String(s) => Some(s.trim().to_owned()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                }
            }
            Identify::Body => Some(body.trim().to_owned()),
        }
    }
}

/// Whether `named` (from [`Identify::extract`]) is droplet `d`.
pub fn names(named: &str, d: &Droplet) -> bool {
    named == d.name || named == d.id.to_string()
}

/// `--lb-probe` settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LbProbe {
    /// A URL served through the load balancer.
    pub url: String,
    /// How to tell which droplet answered.
    pub identify: Identify,
    /// Give up after this long; by default three times the computed put-back window (scaled).
    #[serde(with = "crate::report::opt_secs")]
    pub deadline: Option<Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_extract() {
        assert_eq!(
            Identify::parse("header:X-Droplet").unwrap(),
            Identify::Header("X-Droplet".into())
        );
        assert_eq!(
            Identify::parse("json:droplet").unwrap(),
            Identify::JsonField("droplet".into())
        );
        assert_eq!(Identify::parse("body").unwrap(), Identify::Body);
        assert!(Identify::parse("header:").is_err());
        assert!(Identify::parse("cookie:x").is_err());

        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-droplet", "web-2".parse().unwrap());
        assert_eq!(
            Identify::Header("X-Droplet".into()).extract(&h, ""),
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

        let d: Droplet = serde_json::from_value(
            serde_json::json!({"id": 12, "name": "web-1", "status": "active"}),
        )
        .unwrap();
        assert!(names("web-1", &d) && names("12", &d));
        assert!(!names("web-10", &d) && !names("1", &d));
    }
}
