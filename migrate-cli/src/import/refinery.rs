//! refinery's folder, read as `refinery_core::util` finds it: every file
//! under the folder named `[U|V]{version}__{name}.sql` (`\w+` name, an
//! integer version), ordered by version; `U` marks an unversioned migration,
//! which refinery also runs in version order. A `.rs` migration is Rust and
//! is refused. refinery stores SipHash-1-3 (keys 0) over the name, the
//! version and the SQL, hashed as Rust's `Hash` does: an `i32` version by
//! default, an `i64` with its `int8-versions` feature; both are kept.

use super::{Imported, Source, in_order};
use crate::error::CliError;

pub(crate) fn read(src: &Source) -> Result<Vec<Imported>, CliError> {
    let mut list = Vec::new();
    for rel in src.walk()? {
        let file = rel.rsplit('/').next().unwrap_or(&rel);
        let Some((stem, ext)) = file.rsplit_once('.') else {
            continue;
        };
        let Some((version, name)) = parse(stem) else { continue };
        if ext == "rs" {
            return Err(src.refuse(
                &rel,
                None,
                "a Rust migration: its code runs in refinery, not as SQL; write the SQL it sends as a `.sql` migration of its version, and import again",
            ));
        }
        if ext != "sql" {
            continue;
        }
        let Ok(v) = version.parse::<i64>() else {
            return Err(src.refuse(
                &rel,
                None,
                format!("refinery needs an integer version, not `{version}`"),
            ));
        };
        let sql = src.read(&rel)?;
        // Of the file's text as it is (CRLF included), as refinery hashes it; as an
        // `i32` (refinery's default) where it fits, and as an `i64` (`int8-versions`).
        let raw = src.read_raw(&rel)?;
        let wide = checksum(name, &v.to_ne_bytes(), &raw);
        let checksum = match i32::try_from(v) {
            Ok(narrow) => format!("{},{wide}", checksum(name, &narrow.to_ne_bytes(), &raw)),
            Err(_) => wide.to_string(),
        };
        list.push(Imported {
            repeatable: None,
            note: None,
            version: v.to_string(),
            name: name.to_owned(),
            file: rel.clone(),
            up: sql,
            down: None,
            no_transaction: false,
            checksum: Some(checksum),
        });
    }
    in_order(src, list, |m| m.version.parse::<i64>().unwrap_or_default())
}

/// `[U|V]{version}__{name}` (the name `\w+`): the version and name.
fn parse(stem: &str) -> Option<(&str, &str)> {
    let rest = stem.strip_prefix('V').or_else(|| stem.strip_prefix('U'))?;
    let (version, name) = rest.split_once("__")?;
    let number = |s: &str| super::digits(s);
    let valid_version = match version.split_once('.') {
        Some((a, b)) => number(a) && number(b),
        None => number(version),
    };
    let word = |c: char| c.is_alphanumeric() || c == '_';
    (valid_version && !name.is_empty() && name.chars().all(word)).then_some((version, name))
}

/// refinery's checksum of one migration: `name`, `version` (its bytes as
/// `Hash` writes the integer) and `sql` through SipHash-1-3 with zero keys.
pub(crate) fn checksum(name: &str, version: &[u8], sql: &str) -> u64 {
    let mut h = SipHash13::default();
    // `str`'s `Hash`: its bytes, then 0xff.
    h.write(name.as_bytes());
    h.write(&[0xff]);
    h.write(version);
    h.write(sql.as_bytes());
    h.write(&[0xff]);
    h.finish()
}

/// SipHash-1-3 with keys (0, 0), as `siphasher::sip::SipHasher13::new()`.
#[derive(Default)]
struct SipHash13 {
    v: [u64; 4],
    tail: Vec<u8>,
    length: usize,
    started: bool,
}

impl SipHash13 {
    fn start(&mut self) {
        if !self.started {
            self.v = [
                0x736f_6d65_7073_6575,
                0x646f_7261_6e64_6f6d,
                0x6c79_6765_6e65_7261,
                0x7465_6462_7974_6573,
            ];
            self.started = true;
        }
    }

    fn round(&mut self) {
        let v = &mut self.v;
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }

    fn block(&mut self, m: u64) {
        self.v[3] ^= m;
        self.round();
        self.v[0] ^= m;
    }

    fn write(&mut self, bytes: &[u8]) {
        self.start();
        self.length += bytes.len();
        self.tail.extend_from_slice(bytes);
        let whole = self.tail.len() / 8 * 8;
        let blocks: Vec<u64> = self.tail[..whole]
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect();
        self.tail.drain(..whole);
        for m in blocks {
            self.block(m);
        }
    }

    fn finish(mut self) -> u64 {
        self.start();
        let mut last = [0u8; 8];
        last[..self.tail.len()].copy_from_slice(&self.tail);
        let b = u64::from_le_bytes(last) | ((self.length as u64 & 0xff) << 56);
        self.block(b);
        self.v[2] ^= 0xff;
        for _ in 0..3 {
            self.round();
        }
        self.v[0] ^ self.v[1] ^ self.v[2] ^ self.v[3]
    }
}

#[cfg(test)]
mod tests {
    /// refinery's own tests (`refinery/tests/postgres.rs`) expect these for
    /// `migrations_broken/V1__initial.sql` and `V2__add_cars_table.sql`.
    #[test]
    fn refinery_checksums() {
        let v1 = "CREATE TABLE persons (\n    id int,\n    name varchar(255),\n    city varchar(255)\n);\n";
        let v2 = "CREATE TABLE cars (\n    id int,\n    name varchar(255)\n);\n";
        assert_eq!(super::checksum("initial", &1i32.to_ne_bytes(), v1), 2959965718684201605);
        assert_eq!(
            super::checksum("initial", &1i64.to_ne_bytes(), v1),
            13938959368620441626
        );
        assert_eq!(
            super::checksum("add_cars_table", &2i32.to_ne_bytes(), v2),
            8238603820526370208
        );
        assert_eq!(
            super::checksum("add_cars_table", &2i64.to_ne_bytes(), v2),
            5394706226941044339
        );
    }
}
