//! sqlx's folder, read as `sqlx::migrate` resolves it: `<VERSION>_<DESCRIPTION>.sql`,
//! or a reversible pair `.up.sql` and `.down.sql`; the version an `i64`;
//! a file whose first line starts with `-- no-transaction` runs outside a
//! transaction; files of another shape and folders are skipped, as sqlx
//! skips them. sqlx stores the SHA-384 of each (upgrade) file's text.

use super::{Imported, Source, in_order};
use crate::error::CliError;
use sha2::{Digest, Sha384};
use std::collections::BTreeMap;

/// One file: its version, description, direction and text.
struct File {
    version: i64,
    description: String,
    down: bool,
    name: String,
    /// Read as the build reads a migration (LF line endings).
    text: String,
    /// As it is on disk, which sqlx's checksum hashes.
    raw: String,
}

pub(crate) fn read(src: &Source) -> Result<Vec<Imported>, CliError> {
    let mut ups: BTreeMap<i64, Imported> = BTreeMap::new();
    let mut downs: Vec<File> = Vec::new();
    for name in src.entries()? {
        let Some(f) = file(src, &name)? else { continue };
        if f.down {
            downs.push(f);
            continue;
        }
        let (no_transaction, body) = marker(&f.text);
        let m = Imported {
            repeatable: None,
            note: None,
            version: f.version.to_string(),
            name: f.description,
            file: f.name.clone(),
            up: body.to_owned(),
            down: None,
            no_transaction,
            // sqlx hashes the file's bytes as they are (CRLF included).
            checksum: Some(hex(&Sha384::digest(f.raw.as_bytes()))),
        };
        if let Some(before) = ups.insert(f.version, m) {
            return Err(src.refuse(
                &f.name,
                None,
                format!("its version {} is also the version of {}", f.version, before.file),
            ));
        }
    }
    for d in downs {
        let Some(up) = ups.get_mut(&d.version) else {
            return Err(src.refuse(&d.name, None, "a downgrade with no `.up.sql` of its version beside it"));
        };
        let (no_transaction, body) = marker(&d.text);
        if !up.file.ends_with(".up.sql") {
            return Err(src.refuse(
                &d.name,
                None,
                format!("a downgrade for {}, which is not a `.up.sql`", up.file),
            ));
        }
        if no_transaction != up.no_transaction {
            return Err(src.refuse(
                &d.name,
                Some(1),
                format!(
                    "`-- no-transaction` differs from {}, and a migrate revision runs both its sections one way",
                    up.file
                ),
            ));
        }
        up.down = Some(body.to_owned());
    }
    in_order(src, ups.into_values().collect(), |m| {
        m.version.parse::<i64>().unwrap_or_default()
    })
}

/// A file sqlx reads, or `None` for one it skips.
fn file(src: &Source, name: &str) -> Result<Option<File>, CliError> {
    let Some((version, rest)) = name.split_once('_') else {
        return Ok(None);
    };
    if !rest.ends_with(".sql") || src.is_dir(name) {
        return Ok(None);
    }
    let Ok(v) = version.parse::<i64>() else {
        return Err(src.refuse(
            name,
            None,
            "sqlx needs an integer version before the first `_` (sqlx itself refuses this file)",
        ));
    };
    let (description, down) = match (rest.strip_suffix(".up.sql"), rest.strip_suffix(".down.sql")) {
        (Some(d), _) => (d, false),
        (None, Some(d)) => (d, true),
        (None, None) => (rest.trim_end_matches(".sql"), false),
    };
    Ok(Some(File {
        version: v,
        description: description.replace('_', " "),
        down,
        name: name.to_owned(),
        text: src.read(name)?,
        raw: src.read_raw(name)?,
    }))
}

/// Whether the text opens with sqlx's `-- no-transaction`, and the SQL
/// without that line.
fn marker(text: &str) -> (bool, &str) {
    match text.strip_prefix("-- no-transaction") {
        Some(rest) => (true, rest.split_once('\n').map_or("", |(_, after)| after)),
        None => (false, text),
    }
}

/// Lower-case hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
