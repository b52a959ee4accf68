//! Input checks done before anything is sent, so a typo fails with a clear message instead of a
//! 4xx from DigitalOcean (or, worse, a request to the wrong resource).

use crate::error::{Error, Result};

/// A tag name as DigitalOcean accepts it: 1 to 255 of letters, digits, `_`, `-`, `:`
/// (`resources/tags/models/tags.yml`, pattern `^[a-zA-Z0-9_\-\:]+$`, maxLength 255).
pub(crate) fn tag_name(name: &str) -> Result<&str> {
    if name.is_empty() {
        return Err(Error::InvalidInput(
            "tag name is empty; give a name such as `PROD`".into(),
        ));
    }
    if name.len() > 255 {
        return Err(Error::InvalidInput(format!(
            "tag name is {} characters long; DigitalOcean allows at most 255",
            name.len()
        )));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':')))
    {
        return Err(Error::InvalidInput(format!(
            "tag name `{name}` contains `{bad}`; DigitalOcean allows only letters, digits, `_`, `-` and `:`"
        )));
    }
    Ok(name)
}

/// A non-empty name-like value.
pub(crate) fn non_empty<'a>(what: &str, value: &'a str) -> Result<&'a str> {
    if value.trim().is_empty() {
        Err(Error::InvalidInput(format!("{what} is empty")))
    } else {
        Ok(value)
    }
}

/// A time window in unix seconds whose `start` is not after its `end` (`what` names it).
pub(crate) fn window(what: &str, start: u64, end: u64) -> Result<()> {
    if start > end {
        return Err(Error::InvalidInput(format!(
            "{what} starts after it ends (start {start} > end {end}, unix seconds); give start <= end"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        assert!(tag_name("PROD").is_ok());
        assert!(
            tag_name("zdd-lock:203.0.113.7:1700000000:ab12").is_err(),
            "dots are not allowed"
        );
        assert!(tag_name("zdd-lock:ip-203-0-113-7:1700000000:ab12").is_ok());
        assert!(tag_name("").unwrap_err().to_string().contains("empty"));
        assert!(
            tag_name("a b")
                .unwrap_err()
                .to_string()
                .contains("contains ` `")
        );
        assert!(tag_name(&"x".repeat(256)).is_err());
    }

    #[test]
    fn windows() {
        assert!(window("the window", 10, 10).is_ok());
        assert!(window("the window", 0, 10).is_ok());
        let e = window("the metrics window", 11, 10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("the metrics window starts after it ends"), "{e}");
        assert!(e.contains("start 11 > end 10"), "{e}");
    }
}
