//! `--dotenv FILE`: the outcome as `KEY=VALUE` lines for GitLab's `artifacts:reports:dotenv`.

use std::path::Path;

/// Write `pairs` to `path`. Values are reduced to characters dotenv reads unquoted (`,` kept
/// so that lists such as `ZDD_UPDATED_DROPLETS=1,2,3` can be split by a later job).
pub fn write(path: &Path, pairs: &[(&str, String)]) -> std::io::Result<()> {
    let mut out = String::new();
    for (k, v) in pairs {
        let clean: String = v
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-:/@,".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        out.push_str(&format!("{k}={clean}\n"));
    }
    std::fs::write(path, out)
}

/// [`write`], with a warning on stderr (in the events' style) when it fails: the deploy's
/// outcome stands either way.
pub fn write_or_warn(path: &Path, pairs: &[(&str, String)], style: crate::render::Style) {
    if let Err(e) = write(path, pairs) {
        crate::render::warning(
            style,
            &format!("could not write the dotenv file {}: {e}", path.display()),
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_are_sanitised() {
        let dir = std::env::temp_dir().join(format!("zdd-dotenv-{}", std::process::id()));
        super::write(
            &dir,
            &[
                ("A", "web 1;$(x)".into()),
                ("B", "1.2.3.4".into()),
                ("C", "1,2,3".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&dir).unwrap(),
            "A=web_1___x_\nB=1.2.3.4\nC=1,2,3\n"
        );
        std::fs::remove_file(dir).unwrap();
    }
}
