//! Flyway's folder, read as its default naming reads it, every file under
//! the folder: `V<version>__<description>.sql` (the version's parts split by
//! `.` or `_`, compared as numbers part by part, missing parts as 0), with
//! an undo file `U<version>__….sql` as the downgrade and a
//! `<file>.sql.conf` whose `executeInTransaction=false` runs it outside a
//! transaction. Refused, naming the file: a Java migration, a script
//! migration (`.sh`, `.ps1`, `.py`, …), a repeatable with a version, a baseline `B`
//! migration (it replaces those below it for new databases only), a
//! callback (`beforeMigrate.sql`, …), and a placeholder `${…}`, which
//! Flyway replaces when it runs. A repeatable `R__<description>.sql` is
//! named from its description ([`named`]) for `repeatable/<name>.sql`, and
//! [`repeatables_applied`] says which `adopt` records as applied. Each migration keeps Flyway's checksum of
//! its file ([`checksum`]); [`applied`] reads `flyway_schema_history` as
//! Flyway does, for `adopt flyway`.

use super::{Imported, Source, in_order, numeric};
use crate::error::CliError;
use migrate_runtime::ToolRow;
use std::collections::BTreeMap;

/// The key Flyway compares versions by: each part as a number, trailing zeros dropped.
type Key = Vec<(usize, String)>;

pub(super) fn key(version: &str) -> Key {
    let mut parts: Key = version
        .split('.')
        .map(|p| {
            let (len, digits) = numeric(p);
            (len, digits.to_owned())
        })
        .collect();
    while parts.last().is_some_and(|p| p.0 == 0) {
        parts.pop();
    }
    parts
}

/// `<prefix><version>__<description>` of a file name's stem.
fn parse(stem: &str) -> Option<(char, &str, &str)> {
    let prefix = stem.chars().next()?;
    let (version, description) = stem[prefix.len_utf8()..].split_once("__")?;
    let valid = version.is_empty() || version.split(['.', '_']).all(super::digits);
    (matches!(prefix, 'V' | 'U' | 'R' | 'B') && valid).then_some((prefix, version, description))
}

pub(crate) fn read(src: &Source) -> Result<Vec<Imported>, CliError> {
    let mut found: BTreeMap<Key, Imported> = BTreeMap::new();
    let mut undo: Vec<(Key, String)> = Vec::new();
    let mut repeatables: Vec<Imported> = Vec::new();
    for rel in src.walk()? {
        let file = rel.rsplit('/').next().unwrap_or(&rel);
        let Some((stem, ext)) = file.rsplit_once('.') else {
            continue;
        };
        if ext == "conf" {
            continue;
        }
        let Some((prefix, version, description)) = parse(stem) else {
            refuse_callback(src, &rel, stem, ext)?;
            continue;
        };
        if !importable(src, &rel, prefix, version, ext)? {
            continue;
        }
        if prefix == 'R' {
            let up = text(src, &rel)?;
            repeatables.push(Imported {
                name: description.to_owned(),
                checksum: Some(checksum(&up).to_string()),
                up,
                no_transaction: no_transaction(src, &rel)?,
                file: rel,
                ..Imported::default()
            });
            continue;
        }
        let version = version.replace('_', ".");
        if prefix == 'U' {
            undo.push((key(&version), rel));
            continue;
        }
        let up = text(src, &rel)?;
        let m = Imported {
            version: version.clone(),
            name: description.to_owned(),
            file: rel.clone(),
            checksum: Some(checksum(&up).to_string()),
            up,
            no_transaction: no_transaction(src, &rel)?,
            ..Imported::default()
        };
        if let Some(before) = found.insert(key(&version), m) {
            return Err(src.refuse(
                &rel,
                None,
                format!("its version is also the version of {}", before.file),
            ));
        }
    }
    for (k, rel) in undo {
        let Some(m) = found.get_mut(&k) else {
            return Err(src.refuse(
                &rel,
                None,
                "an undo migration with no versioned migration of its version",
            ));
        };
        if no_transaction(src, &rel)? != m.no_transaction {
            return Err(src.refuse(
                &rel,
                None,
                format!(
                    "`executeInTransaction` differs from {}'s, and a migrate revision runs both its sections one way",
                    m.file
                ),
            ));
        }
        m.down = Some(text(src, &rel)?);
    }
    let mut list = in_order(src, found.into_values().collect(), |m| key(&m.version))?;
    list.extend(named(src, repeatables)?);
    Ok(list)
}

/// Flyway's repeatable migrations, in the order it applies them (by
/// description, `_` read as a space), each named from its description:
/// every character a repeatable's name cannot hold (`[A-Za-z0-9_-]`) as
/// `_`. Two descriptions giving one name (or names differing only in
/// case) are refused, naming both files. Where name order would not keep
/// Flyway's, each runs after the one before it.
fn named(src: &Source, mut list: Vec<Imported>) -> Result<Vec<Imported>, CliError> {
    let description = |m: &Imported| m.name.replace('_', " ");
    list.sort_by(|a, b| description(a).cmp(&description(b)).then_with(|| a.file.cmp(&b.file)));
    let names: Vec<String> = list
        .iter()
        .map(|m| {
            m.name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
                .collect::<String>()
                .trim_matches('_')
                .to_owned()
        })
        .collect();
    for (i, name) in names.iter().enumerate() {
        if !migrate_core::repeatable::is_valid_name(name) {
            return Err(src.refuse(
                &list[i].file,
                None,
                format!(
                    "a repeatable migration whose description gives no repeatable name (1 to {} letters, digits, `_` or `-`): rename it, and import again",
                    migrate_core::repeatable::MAX_NAME_LEN
                ),
            ));
        }
        if let Some(j) = (0..i).find(|&j| names[j].eq_ignore_ascii_case(name)) {
            return Err(src.refuse(
                &list[i].file,
                None,
                format!(
                    "a repeatable migration named `{name}` as {} is: rename one of the two, and import again",
                    src.shown_file(&list[j].file)
                ),
            ));
        }
    }
    let chained = names.windows(2).any(|w| w[0] > w[1]);
    for (i, m) in list.iter_mut().enumerate() {
        m.repeatable = Some(super::Repeatable {
            name: names[i].clone(),
            after: (chained && i > 0).then(|| names[i - 1].clone()),
        });
    }
    Ok(list)
}

/// Whether a file of Flyway's naming is a migration to import (`false`:
/// Flyway passes it by too, an editor's backup `V1__a.sql~` or a note);
/// refused: what Flyway runs that cannot be imported.
fn importable(src: &Source, rel: &str, prefix: char, version: &str, ext: &str) -> Result<bool, CliError> {
    let why = match (prefix, ext) {
        (_, "java" | "class" | "kt") => {
            "a Java migration: its code runs in Flyway, not as SQL; write the SQL it sends as a `.sql` migration of its version, and import again"
        }
        (_, "sql") if prefix == 'R' && !version.is_empty() => "a repeatable migration with a version",
        (_, "sql") if prefix == 'R' => return Ok(true),
        (_, "sql") if prefix == 'B' => {
            "a baseline migration: Flyway runs it instead of the migrations below it on a new database only; import a folder without it"
        }
        (_, "sql") if version.is_empty() => "a migration without a version",
        (_, "sql") => return Ok(true),
        (_, "sh" | "bash" | "cmd" | "bat" | "ps1" | "py") => {
            "a script migration: its commands run in a shell or an interpreter, not as SQL"
        }
        _ => return Ok(false),
    };
    Err(src.refuse(rel, None, why))
}

/// A callback (`beforeMigrate.sql`, `afterEachMigrate__x.sql`) runs around
/// every migration: nothing in a revision graph does that.
fn refuse_callback(src: &Source, rel: &str, stem: &str, ext: &str) -> Result<(), CliError> {
    let callback = ["before", "after"].iter().any(|p| stem.starts_with(p)) && ext == "sql";
    match callback {
        true => Err(src.refuse(
            rel,
            None,
            "a Flyway callback, which runs around every migration: move its SQL into the migrations, and import again",
        )),
        false => Ok(()),
    }
}

/// The file's text, refused when it holds a placeholder.
fn text(src: &Source, rel: &str) -> Result<String, CliError> {
    let text = src.read(rel)?;
    if let Some(i) = text.lines().position(|l| l.contains("${")) {
        return Err(src.refuse(
            rel,
            Some(i + 1),
            "a placeholder `${…}`, which Flyway replaces when it runs: write its value in, and import again",
        ));
    }
    Ok(text)
}

/// `executeInTransaction=false` in `<file>.conf`.
fn no_transaction(src: &Source, rel: &str) -> Result<bool, CliError> {
    let conf = format!("{rel}.conf");
    if !src.exists(&conf) {
        // Without a setting, Flyway runs a migration of only statements that
        // cannot run in a transaction (`CREATE INDEX CONCURRENTLY`) outside one.
        return Ok(super::outside_a_transaction_only(&src.read(rel)?));
    }
    let text = src.read(&conf)?;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
            Some(("executeInTransaction", "false")) => return Ok(true),
            Some(("executeInTransaction", "true")) => {}
            _ => {
                return Err(src.refuse(
                    &conf,
                    Some(i + 1),
                    "a setting this import does not know (it reads executeInTransaction)",
                ));
            }
        }
    }
    Ok(false)
}

/// Flyway's checksum of a script (its `ChecksumCalculator`): the CRC-32 of
/// the UTF-8 bytes of its lines without their terminators (`\n`, `\r\n` or
/// `\r`, as Java's `BufferedReader.readLine` splits them), a byte-order mark
/// at the start dropped, read as a signed 32-bit number as Flyway stores it.
/// So line endings and blank lines do not change it.
pub(crate) fn checksum(text: &str) -> i32 {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut crc = !0u32;
    for byte in text.bytes().filter(|b| !matches!(b, b'\n' | b'\r')) {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    i32::from_ne_bytes((!crc).to_ne_bytes())
}

/// The versions `flyway_schema_history` says are applied, one row each,
/// read as Flyway reads the table: rows in `installed_rank` order, a
/// version's last row deciding, its version spelt as the imported one of
/// the same number (`1.1` and `1_1`, `01` and `1` are one version).
/// - A failed row (`success` false) stays, for adopt to refuse by version.
/// - `SCHEMA` (Flyway's schema-creation marker) and a row without a
///   version (a repeatable migration) are no versions of the chain.
/// - `BASELINE` (`flyway baseline`, `baselineOnMigrate`) and
///   `SQL_BASELINE` (a `B` baseline migration ran): the database stands at
///   that version, and Flyway never runs what is below it: every imported
///   version up to it is applied, with no checksum to compare.
/// - `UNDO_SQL` (and Flyway's other `UNDO_…` kinds): the version was
///   undone, so it is not applied, until a later row applies it again.
/// - `DELETE` (`repair` marking an applied migration whose file is gone):
///   Flyway no longer counts it as applied, nor does adopt.
/// - Any other row (`SQL`; `JDBC`, `SCRIPT`, … which import refuses, so
///   adopt then refuses their version as not imported) is applied, with
///   the checksum Flyway stored.
pub(super) fn applied<'a>(rows: Vec<ToolRow>, imported: impl Iterator<Item = &'a str>) -> Vec<ToolRow> {
    let imported: BTreeMap<Key, &str> = imported.map(|v| (key(v), v)).collect();
    let mut last: Vec<ToolRow> = Vec::new();
    for mut row in rows {
        let kind = row.kind.clone().unwrap_or_default().to_ascii_uppercase();
        if kind == "SCHEMA" || row.version.is_empty() {
            continue;
        }
        let at = key(&row.version);
        if let Some(v) = imported.get(&at) {
            row.version = (*v).to_owned();
        }
        last.retain(|r| r.version != row.version);
        if !row.success {
            last.push(row);
            continue;
        }
        match kind.as_str() {
            "BASELINE" | "SQL_BASELINE" => {
                for v in imported.range(..=at).map(|(_, v)| *v) {
                    last.retain(|r| r.version != v);
                    last.push(ToolRow {
                        version: v.to_owned(),
                        checksum: None,
                        success: true,
                        kind: Some(kind.clone()),
                        description: None,
                    });
                }
            }
            "DELETE" => {}
            k if k.starts_with("UNDO") => {}
            _ => last.push(row),
        }
    }
    last
}

/// The repeatables of `kept` (`(revision, description, checksum)`) that
/// `flyway_schema_history` holds at the checksum of their file as imported:
/// the last row (in `installed_rank` order) of a repeatable of that
/// description (no version) succeeded with that checksum, so Flyway would
/// not run it again. Any other (never run, changed since, failed, deleted
/// by `repair`) is left for the next upgrade to head, as Flyway would run it.
pub(super) fn repeatables_applied(rows: &[ToolRow], kept: &[(String, String, String)]) -> Vec<String> {
    kept.iter()
        .filter(|(_, description, checksum)| {
            rows.iter()
                .rev()
                .find(|r| {
                    r.version.is_empty()
                        && r.description.as_deref() == Some(description.as_str())
                        && !r.kind.as_deref().is_some_and(|k| k.eq_ignore_ascii_case("SCHEMA"))
                })
                .is_some_and(|r| {
                    let kind = r.kind.as_deref().unwrap_or_default().to_ascii_uppercase();
                    r.success
                        && r.checksum.as_deref() == Some(checksum.as_str())
                        && kind != "DELETE"
                        && !kind.starts_with("UNDO")
                })
        })
        .map(|(revision, _, _)| revision.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::checksum;

    /// Checksums Flyway itself computed, as published: flyway/flyway#2474
    /// (Flyway 6.0.0's "Resolved locally" for a one-line script), and
    /// eikek/docspell#1517 ("Applied to database" for its PostgreSQL
    /// `V1.9.3__joblog_counter.sql` and `V1.9.4__unique_equipments.sql`).
    #[test]
    fn flyway_checksums() {
        assert_eq!(
            checksum("alter table location_history add column valid_until timestamp with time zone;"),
            -1039259818
        );
        assert_eq!(
            checksum("ALTER TABLE \"joblog\"\nADD COLUMN \"counter\" bigserial;\n"),
            -807943034
        );
        let unique =
            "ALTER TABLE \"equipment\"\nADD CONSTRAINT \"equipment_cid_name_key\"\nUNIQUE (\"cid\", \"name\");\n";
        assert_eq!(checksum(unique), 770293754);
        // Line endings, blank lines and a leading byte-order mark do not count.
        let crlf = format!("\u{feff}{}\r\n", unique.replace('\n', "\r\n\r"));
        assert_eq!(checksum(&crlf), 770293754);
        assert_eq!(checksum(""), 0);
    }
}
