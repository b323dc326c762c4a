//! A digest of a history table's rows, so that a start-up check can tell
//! "nothing to do" from one row instead of reading every row.
//!
//! Each row contributes `sha256(v2 \0 revision \0 checksum \0 state)`; the digest
//! is the count of rows and the XOR of their contributions, so adding or
//! removing a row updates it in constant time, whatever order rows change
//! in. Two tables with the same rows have the same digest; a different
//! checksum, state, revision or count gives a different one. It is a
//! shortcut, never the authority: when digests differ the runtime checks
//! the rows one by one, so drift is still caught and named.

use crate::checksum::{parse_hex, write_hex};
use crate::history::State;
use crate::migration::Migration;
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::str::FromStr;

/// The digest of a set of history rows. Printed as `set:<count>:<64 hex digits>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Digest {
    count: u64,
    xor: [u8; 32],
}

/// The version of the history table's shape the digest vouches for. A new
/// version makes every stored digest stale, so the first run of a build that
/// changed the table's columns takes the full path once and adds them.
const TABLE_VERSION: &[u8] = b"v2";

fn element(revision: &str, checksum: &str, state: State) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(TABLE_VERSION);
    h.update([0]);
    h.update(revision.as_bytes());
    h.update([0]);
    h.update(checksum.as_bytes());
    h.update([0]);
    h.update(state.as_str().as_bytes());
    h.finalize().into()
}

impl Digest {
    /// The digest of no rows.
    pub fn empty() -> Self {
        Digest::default()
    }

    /// The digest of every migration in `list` recorded as applied: what an
    /// up-to-date history table holds.
    pub fn all_applied(list: &[Migration]) -> Self {
        let mut d = Digest::empty();
        for m in list {
            d.insert(m.revision(), &m.checksum().to_string(), State::Applied);
        }
        d
    }

    /// [`all_applied`](Self::all_applied) for a list with repeatable
    /// revisions: each recorded as applied at its checksum too.
    pub fn all_applied_with(list: &[Migration], repeatables: &[Migration]) -> Self {
        let mut d = Digest::all_applied(list);
        for m in repeatables {
            d.insert(m.revision(), &m.checksum().to_string(), State::Applied);
        }
        d
    }

    /// Adds a row.
    pub fn insert(&mut self, revision: &str, checksum: &str, state: State) {
        self.toggle(revision, checksum, state);
        self.count += 1;
    }

    /// Removes a row that was added.
    pub fn remove(&mut self, revision: &str, checksum: &str, state: State) {
        self.toggle(revision, checksum, state);
        self.count = self.count.saturating_sub(1);
    }

    fn toggle(&mut self, revision: &str, checksum: &str, state: State) {
        for (x, e) in self.xor.iter_mut().zip(element(revision, checksum, state)) {
            *x ^= e;
        }
    }

    /// How many rows it covers.
    pub fn count(&self) -> u64 {
        self.count
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "set:{}:", self.count)?;
        write_hex(f, &self.xor)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A stored digest that is not `set:<count>:<64 hex digits>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a digest of the form `set:<count>:<64 hex digits>`")]
pub struct DigestParseError(pub String);

impl FromStr for Digest {
    type Err = DigestParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DigestParseError(s.to_owned());
        let rest = s.strip_prefix("set:").ok_or_else(err)?;
        let (count, hex) = rest.split_once(':').ok_or_else(err)?;
        let count = count.parse().map_err(|_| err())?;
        let xor = parse_hex(hex).ok_or_else(err)?;
        Ok(Digest { count, xor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixture;

    #[test]
    fn order_does_not_matter_and_removal_undoes_insertion() {
        let mut a = Digest::empty();
        a.insert("r1", "sha256:aa", State::Applied);
        a.insert("r2", "sha256:bb", State::Applied);
        let mut b = Digest::empty();
        b.insert("r2", "sha256:bb", State::Applied);
        b.insert("r1", "sha256:aa", State::Applied);
        assert_eq!(a, b);
        b.remove("r2", "sha256:bb", State::Applied);
        let mut c = Digest::empty();
        c.insert("r1", "sha256:aa", State::Applied);
        assert_eq!(b, c);
    }

    #[test]
    fn every_field_counts() {
        let one = |r, c, s| {
            let mut d = Digest::empty();
            d.insert(r, c, s);
            d
        };
        let base = one("r1", "sha256:aa", State::Applied);
        assert_ne!(base, one("r2", "sha256:aa", State::Applied));
        assert_ne!(base, one("r1", "sha256:ab", State::Applied));
        assert_ne!(base, one("r1", "sha256:aa", State::Upgrading));
        // The separator keeps fields from running into each other.
        assert_ne!(one("r1", "a", State::Applied), one("r1a", "", State::Applied));
        assert_ne!(
            Digest::empty(),
            {
                let mut d = one("x", "y", State::Applied);
                d.insert("x", "y", State::Applied);
                d
            },
            "the count tells a pair from nothing"
        );
    }

    #[test]
    fn all_applied_and_text_round_trip() {
        let ms = fixture("a <-\nb <- a");
        let d = Digest::all_applied(&ms);
        assert_eq!(d.count(), 2);
        let mut by_hand = Digest::empty();
        for m in &ms {
            by_hand.insert(m.revision(), &m.checksum().to_string(), State::Applied);
        }
        assert_eq!(d, by_hand);
        assert_eq!(d.to_string().parse::<Digest>(), Ok(d));
        assert!("set:1:zz".parse::<Digest>().is_err());
        assert!("sha256:00".parse::<Digest>().is_err());
    }
}
