//! The range of every duration setting, checked where it is read: a flag
//! by its clap parser, a `migrate.toml` key by `config`. Out of range is a
//! usage error (exit 2) naming the flag or key and what it takes, never a
//! panic or a database's "out of range" later.

use migrate_core::duration::{display, parse};
use std::fmt;
use std::time::Duration;

/// The values a duration setting takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// The smallest.
    pub min: Duration,
    /// The largest.
    pub max: Duration,
    /// Why the largest is what it is, for the message.
    pub why: &'static str,
}

const MS: Duration = Duration::from_millis(1);
const HOUR: Duration = Duration::from_secs(3600);

/// `--lock-timeout` / `lock_timeout` (whole seconds): up to a year.
pub(crate) const LOCK_TIMEOUT: Limits = Limits {
    min: Duration::ZERO,
    max: Duration::from_secs(365 * 24 * 3600),
    why: "a year",
};

/// `--ddl-lock-timeout`, `--statement-timeout`: what every database applies
/// as it is (PostgreSQL takes at most 2^31 - 1 ms, just under 25 days; 0
/// would mean no limit there and 1 s on MySQL, so it is refused).
pub(crate) const STATEMENT: Limits = Limits {
    min: MS,
    max: Duration::from_secs(576 * 3600),
    why: "24 days: PostgreSQL takes no longer",
};

/// `--lease-ttl`: the runtime's range.
pub(crate) const LEASE_TTL: Limits = Limits {
    min: Duration::from_millis(100),
    max: migrate_runtime::MAX_LEASE_TTL,
    why: "a day",
};

/// `wait --timeout`: up to a year, as the lock timeout.
pub(crate) const WAIT: Limits = LOCK_TIMEOUT;

/// `--connect-timeout`: a server that has not answered in an hour will not.
pub(crate) const CONNECT_TIMEOUT: Limits = Limits {
    min: MS,
    max: HOUR,
    why: "an hour",
};

/// `upgrade --batch-pause`: up to an hour between two batches of a backfill.
pub(crate) const BATCH_PAUSE: Limits = Limits {
    min: Duration::ZERO,
    max: HOUR,
    why: "an hour",
};

/// `upgrade --max-duration`: up to a week.
pub(crate) const MAX_DURATION: Limits = Limits {
    min: MS,
    max: Duration::from_secs(7 * 24 * 3600),
    why: "a week",
};

impl fmt::Display for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "from {} to {} ({})", display(self.min), display(self.max), self.why)
    }
}

impl Limits {
    /// `d`, or why it is out of range.
    pub(crate) fn check(self, d: Duration) -> Result<Duration, String> {
        if (self.min..=self.max).contains(&d) {
            Ok(d)
        } else {
            Err(format!("{} is out of range: it must be {self}", display(d)))
        }
    }

    /// A flag's duration (`500ms`, `5s`, `10min`, `2h`), in range.
    fn parse(self, text: &str) -> Result<Duration, String> {
        let d = parse(text).map_err(|e| e.to_string())?;
        self.check(d)
    }

    /// Whole seconds, in range (`--lock-timeout`, `lock_timeout`).
    pub(crate) fn seconds(self, secs: u64) -> Result<Duration, String> {
        let (min, max) = (self.min.as_secs(), self.max.as_secs());
        if (min..=max).contains(&secs) {
            Ok(Duration::from_secs(secs))
        } else {
            Err(format!(
                "{secs} seconds is out of range: it must be from {min} to {max} seconds ({})",
                self.why
            ))
        }
    }
}

/// clap's parser of `--lock-timeout SECONDS`.
pub(crate) fn lock_timeout(text: &str) -> Result<u64, String> {
    let secs: u64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a whole number of seconds"))?;
    LOCK_TIMEOUT.seconds(secs).map(|_| secs)
}

/// clap's parser of `--ddl-lock-timeout` and `--statement-timeout`.
pub(crate) fn statement(text: &str) -> Result<Duration, String> {
    STATEMENT.parse(text)
}

/// clap's parser of `--lease-ttl`.
pub(crate) fn lease_ttl(text: &str) -> Result<Duration, String> {
    LEASE_TTL.parse(text)
}

/// clap's parser of `wait --timeout`.
pub(crate) fn wait(text: &str) -> Result<Duration, String> {
    WAIT.parse(text)
}

/// clap's parser of `upgrade --batch-pause`.
pub(crate) fn batch_pause(text: &str) -> Result<Duration, String> {
    BATCH_PAUSE.parse(text)
}

/// clap's parser of `upgrade --max-duration`.
pub(crate) fn max_duration(text: &str) -> Result<Duration, String> {
    MAX_DURATION.parse(text)
}

/// clap's parser of `--connect-timeout`.
pub(crate) fn connect_timeout(text: &str) -> Result<Duration, String> {
    CONNECT_TIMEOUT.parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_range_says_itself() {
        assert_eq!(
            lease_ttl("5000000000000h").unwrap_err(),
            "5000000000000h is out of range: it must be from 100ms to 24h (a day)"
        );
        assert_eq!(lease_ttl("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(
            lock_timeout("18446744073709551615").unwrap_err(),
            "18446744073709551615 seconds is out of range: it must be from 0 to 31536000 seconds (a year)"
        );
        assert_eq!(lock_timeout("0"), Ok(0));
        assert!(statement("0s").unwrap_err().contains("from 1ms to 576h"));
        assert!(statement("577h").is_err() && statement("576h").is_ok());
        assert!(connect_timeout("2s").is_ok() && connect_timeout("2h").is_err());
        assert!(wait("0ms").is_ok());
        assert!(lease_ttl("soon").unwrap_err().contains("is not a duration"));
    }
}
