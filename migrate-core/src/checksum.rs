//! SHA-256 checksums of what a migration's upgrade executes.
//!
//! The checksum covers the normalised upgrade section and the
//! no-transaction flag: the two things that change what running the
//! migration does. The message and the downgrade are not covered, so
//! editing them is not drift. Text is normalised first (see
//! [`normalise`]), so a CRLF checkout hashes the same as LF.

use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// The algorithm tag written before the hex digest, so the scheme can evolve.
pub const ALGORITHM: &str = "sha256";

/// A SHA-256 checksum, printed and stored as `sha256:<64 hex digits>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Checksum(pub [u8; 32]);

impl Checksum {
    /// The checksum of a migration whose upgrade section is `upgrade`
    /// (already normalised) and whose no-transaction flag is `no_transaction`.
    pub fn of(upgrade: &str, no_transaction: bool) -> Checksum {
        let mut h = Sha256::new();
        h.update(upgrade.as_bytes());
        h.update([0u8]);
        h.update(if no_transaction {
            &b"no-transaction"[..]
        } else {
            &b"transaction"[..]
        });
        Checksum(h.finalize().into())
    }

    /// The raw digest.
    pub const fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ALGORITHM}:")?;
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A stored checksum string was not `sha256:<64 hex digits>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a checksum of the form `sha256:<64 hex digits>`")]
pub struct ChecksumParseError(pub String);

impl FromStr for Checksum {
    type Err = ChecksumParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ChecksumParseError(s.to_owned());
        let hex = s
            .strip_prefix(ALGORITHM)
            .and_then(|r| r.strip_prefix(':'))
            .ok_or_else(err)?;
        parse_hex(hex).map(Checksum).ok_or_else(err)
    }
}

/// Writes 32 bytes as 64 lowercase hex digits.
pub(crate) fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8; 32]) -> fmt::Result {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = [0u8; 64];
    for (pair, b) in hex.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0xf)];
    }
    // Only ASCII digits were written.
    f.write_str(std::str::from_utf8(&hex).map_err(|_| fmt::Error)?)
}

/// Reads exactly 64 hex digits as 32 bytes.
pub(crate) fn parse_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Normalises file text: drops a leading byte-order mark and turns CRLF
/// and lone CR line endings into LF.
pub fn normalise(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if !text.contains('\r') {
        return text.to_owned();
    }
    text.replace("\r\n", "\n").replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_bom_hash_like_lf() {
        let lf = normalise("CREATE TABLE a (id INT);\nDROP TABLE b;");
        let crlf = normalise("\u{feff}CREATE TABLE a (id INT);\r\nDROP TABLE b;");
        assert_eq!(lf, crlf);
        assert_eq!(Checksum::of(&lf, false), Checksum::of(&crlf, false));
    }

    #[test]
    fn no_transaction_flag_changes_the_checksum() {
        assert_ne!(Checksum::of("VACUUM;", false), Checksum::of("VACUUM;", true));
    }

    #[test]
    fn round_trips_through_text() {
        let c = Checksum::of("SELECT 1;", false);
        let s = c.to_string();
        assert!(s.starts_with("sha256:") && s.len() == 7 + 64);
        assert_eq!(s.parse::<Checksum>().unwrap(), c);
        assert!("md5:abcd".parse::<Checksum>().is_err());
        assert!("sha256:zz".parse::<Checksum>().is_err());
        let signed = format!("sha256:+{}", &s[8..]);
        assert!(signed.parse::<Checksum>().is_err(), "a sign is not a hex digit");
    }

    #[test]
    fn known_vector() {
        // `printf 'SELECT 1;\0transaction' | sha256sum`: the stored scheme must not change silently.
        assert_eq!(
            Checksum::of("SELECT 1;", false).to_string(),
            "sha256:046a1e91e04b46a4f45ca5bc51609c49a4d53a8db98dbb0bcd8eee3ac0e1e3ed"
        );
    }
}
