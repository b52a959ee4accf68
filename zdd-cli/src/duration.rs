//! Durations on the command line: `500ms`, `30s`, `2m`, `1h`, `1.5s`, or plain seconds (`30`).
//!
//! Every duration flag has a valid range, stated in [`RANGES`] with the reason for it. The
//! flag's value parser checks it (clap exits 2 with one line naming the flag, the value and the
//! range, before anything is sent), `--help` shows it, and the README's table repeats it (a test
//! checks that they agree).

use std::time::Duration;

/// The valid range of one duration flag, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// The flag, without `--`.
    pub flag: &'static str,
    /// Shortest accepted value.
    pub min: Duration,
    /// Longest accepted value.
    pub max: Duration,
    /// Why these bounds (for the README).
    pub why: &'static str,
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
const fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}
const fn m(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}
const fn h(n: u64) -> Duration {
    Duration::from_secs(n * 3600)
}

/// Every duration flag of every command. Zero is allowed only where it means something
/// (no waiting for a lock, no pause between batches, no drain or sync slack).
pub const RANGES: &[Range] = &[
    Range {
        flag: "keep-previous",
        min: Duration::ZERO,
        max: h(24 * 7),
        why: "how long a replaced fleet stays powered for an instant rollback (billed per second meanwhile); 0 keeps it until the next deploy or --finalize, and a week bounds a forgotten fleet's cost",
    },
    Range {
        flag: "active-timeout",
        min: s(30),
        max: h(1),
        why: "new droplets becoming active: DigitalOcean takes about a minute; under 30 s a normal create fails the deploy (its droplets are deleted, exit 5)",
    },
    Range {
        flag: "api-timeout",
        min: s(1),
        max: m(10),
        why: "one API request; DigitalOcean usually answers in well under a second, and a shorter timeout turns ordinary calls into timeouts and retries (exit 8)",
    },
    Range {
        flag: "health-timeout",
        min: ms(100),
        max: m(5),
        why: "one probe; below 100 ms a probe across a real network can time out while still connecting",
    },
    Range {
        flag: "health-interval",
        min: ms(50),
        max: m(10),
        why: "pause between probes: at most 20 probes a second reach a droplet that may be struggling (0 busy-looped at hundreds)",
    },
    Range {
        flag: "health-deadline",
        min: ms(100),
        max: h(1),
        why: "the whole health gate; it must also fit one --health-timeout, and --health-successes probes --health-interval apart",
    },
    Range {
        flag: "assign-timeout",
        min: s(10),
        max: h(1),
        why: "the assign action takes seconds at DigitalOcean and the IP can still move after we stop waiting, so a shorter wait reports an uncertain switch (exit 6) that happens anyway",
    },
    Range {
        flag: "lock-wait",
        min: Duration::ZERO,
        max: h(24),
        why: "0 gives up as soon as the holder is seen alive (exit 7); it must be shorter than --lock-ttl",
    },
    Range {
        flag: "lock-ttl",
        min: m(1),
        max: h(24),
        why: "a backstop: a lock tag older than this is removed whatever else is known (runners' clocks must agree within it); leases end a killed run's lock long before",
    },
    Range {
        flag: "lock-lease",
        min: s(10),
        max: h(1),
        why: "a running deploy renews its lock every quarter lease (two API calls); a killed run's lock is taken over after one lease, so shorter spends API calls and longer blocks the next pipeline",
    },
    Range {
        flag: "lock-settle",
        min: ms(10),
        max: m(1),
        why: "must outlast the API's create-to-list latency (the 2 s default suits DigitalOcean); 0 skips the look that catches a pipeline started at the same moment",
    },
    Range {
        flag: "verify-deadline",
        min: s(1),
        max: m(10),
        why: "verification through the reserved IP after the switch, while users are already on the new droplet; it must also fit --health-successes probes --health-interval apart",
    },
    Range {
        flag: "exec-timeout",
        min: s(1),
        max: h(24),
        why: "less would kill the update command before it can do anything",
    },
    Range {
        flag: "ip-blackout",
        min: Duration::ZERO,
        max: s(60),
        why: "zdd-do sim only: 0 compares with a platform that remaps at once; DigitalOcean's \"momentary period\" is not published",
    },
    Range {
        flag: "added-latency",
        min: Duration::ZERO,
        max: s(30),
        why: "zdd-do sim snapshot only: how much later a flawed release answers than the others; the simulated app holds a request at most 30 s",
    },
    Range {
        flag: "drain-wait",
        min: Duration::ZERO,
        max: h(1),
        why: "0 for apps without long-running requests",
    },
    Range {
        flag: "lb-sync-wait",
        min: Duration::ZERO,
        max: m(10),
        why: "slack for the load balancer to notice a tag change; DigitalOcean documents no delay, so 0 is allowed",
    },
    Range {
        flag: "lb-probe-timeout",
        min: s(1),
        max: h(1),
        why: "0 would give up before the first look through the load balancer",
    },
    Range {
        flag: "analysis-window",
        min: s(1),
        max: h(6),
        why: "how long canaries take traffic before they are judged: under a second sees no traffic, and minutes are what a real fleet needs for enough requests (the Monitoring API's metrics also need at least one of their periods)",
    },
    Range {
        flag: "analysis-exec-timeout",
        min: s(1),
        max: h(1),
        why: "the canary check runs once the window is over, while the canaries still take traffic; a check that does not finish is inconclusive (the canaries are deleted)",
    },
    Range {
        flag: "p95-slack",
        min: Duration::ZERO,
        max: s(10),
        why: "latency a canary may add to the old droplets' p95 beyond --max-p95-ratio, so that a millisecond of jitter on a fast app is no regression",
    },
    Range {
        flag: "batch-delay",
        min: Duration::ZERO,
        max: h(1),
        why: "0 starts the next batch at once",
    },
];

/// The range of `flag` (a programming error if it has none: the CLI's definition test builds
/// every flag).
pub fn range_of(flag: &str) -> Range {
    *RANGES
        .iter()
        .find(|r| r.flag == flag)
        .unwrap_or_else(|| panic!("no duration range for --{flag}"))
}

impl Range {
    /// `50ms to 10m`, or `at most 1h` when 0 is allowed.
    pub fn describe(&self) -> String {
        if self.min.is_zero() {
            format!("0 to {}", show(self.max))
        } else {
            format!("{} to {}", show(self.min), show(self.max))
        }
    }

    /// Parse `s` and check it against the range.
    pub fn parse(&self, s: &str) -> Result<Duration, String> {
        let d = parse(s)?;
        if d < self.min || d > self.max {
            return Err(format!("must be {}", self.between()));
        }
        Ok(d)
    }

    fn between(&self) -> String {
        if self.min.is_zero() {
            format!("at most {}", show(self.max))
        } else {
            format!("between {} and {}", show(self.min), show(self.max))
        }
    }
}

/// The value parser of a duration flag: [`parse`], then [`range_of`]`(flag)`.
pub fn flag(
    flag: &'static str,
) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static {
    let range = range_of(flag);
    move |s| range.parse(s)
}

/// A duration as people write it: `500ms`, `2s`, `1.5s`, `10m`, `1h`.
pub fn show(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        "0s".into()
    } else if ms % 3_600_000 == 0 {
        format!("{}h", ms / 3_600_000)
    } else if ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

/// Parse a duration flag.
pub fn parse(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration; use e.g. 500ms, 30s, 2m or 1h"))?;
    let secs = match unit.trim() {
        "" | "s" | "sec" | "secs" => n,
        "ms" => n / 1000.0,
        "m" | "min" | "mins" => n * 60.0,
        "h" => n * 3600.0,
        other => {
            return Err(format!(
                "`{s}` has unknown unit `{other}`; use ms, s, m or h"
            ));
        }
    };
    if !secs.is_finite() || !(0.0..=86_400.0 * 7.0).contains(&secs) {
        return Err(format!("`{s}` is out of range (0 to 7 days)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse("1h").unwrap(), Duration::from_secs(3600));
        assert!(parse("5 parsecs").unwrap_err().contains("unknown unit"));
        assert!(parse("soon").unwrap_err().contains("is not a duration"));
        assert!(parse("").is_err());
    }

    #[test]
    fn shown_as_written() {
        for (d, text) in [
            (Duration::ZERO, "0s"),
            (ms(50), "50ms"),
            (ms(1500), "1.5s"),
            (s(10), "10s"),
            (m(10), "10m"),
            (h(24), "24h"),
        ] {
            assert_eq!(show(d), text);
        }
    }

    #[test]
    fn ranges_are_checked_at_both_ends() {
        let r = range_of("health-interval");
        assert_eq!(r.parse("50ms"), Ok(ms(50)));
        assert_eq!(r.parse("10m"), Ok(m(10)));
        assert_eq!(r.parse("0s").unwrap_err(), "must be between 50ms and 10m");
        assert_eq!(r.parse("11m").unwrap_err(), "must be between 50ms and 10m");
        assert_eq!(r.describe(), "50ms to 10m");
        let r = range_of("batch-delay");
        assert_eq!(r.parse("0s"), Ok(Duration::ZERO));
        assert_eq!(r.parse("2h").unwrap_err(), "must be at most 1h");
        assert_eq!(r.describe(), "0 to 1h");
    }

    /// The README's table of ranges says exactly what [`RANGES`] says.
    #[test]
    fn readme_table_matches() {
        let readme = include_str!("../../README.md");
        let table: Vec<&str> = readme
            .lines()
            .skip_while(|l| !l.contains("<!-- durations -->"))
            .skip(3)
            .take_while(|l| !l.contains("<!-- /durations -->"))
            .collect();
        let expected: Vec<String> = RANGES
            .iter()
            .map(|r| format!("| `--{}` | {} | {} |", r.flag, r.describe(), r.why))
            .collect();
        assert_eq!(
            table,
            expected,
            "update the README's durations table from duration::RANGES:\n{}",
            expected.join("\n")
        );
    }

    #[test]
    fn ranges_are_sane() {
        for r in RANGES {
            assert!(r.min <= r.max, "--{}", r.flag);
            assert_eq!(RANGES.iter().filter(|o| o.flag == r.flag).count(), 1);
        }
    }
}
