//! Flyway's folder, read as its default naming reads it, every file under
//! the folder: `V<version>__<description>.sql` (the version's parts split by
//! `.` or `_`, compared as numbers part by part, missing parts as 0), with
//! an undo file `U<version>__….sql` as the downgrade and a
//! `<file>.sql.conf` whose `executeInTransaction=false` runs it outside a
//! transaction. Refused, naming the file: a Java migration, a script
//! migration (`.sh`, `.ps1`, `.py`, …), a repeatable `R__` (it reruns on
//! every change, which a revision graph does not do), a baseline `B`
//! migration (it replaces those below it for new databases only), a
//! callback (`beforeMigrate.sql`, …), and a placeholder `${…}`, which
//! Flyway replaces when it runs.

use super::{Imported, Source, in_order, numeric};
use crate::error::CliError;
use std::collections::BTreeMap;

/// The key Flyway compares versions by: each part as a number, trailing zeros dropped.
type Key = Vec<(usize, String)>;

fn key(version: &str) -> Key {
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
    let (version, description) = stem[1..].split_once("__")?;
    let valid = version.is_empty() || version.split(['.', '_']).all(super::digits);
    (matches!(prefix, 'V' | 'U' | 'R' | 'B') && valid).then_some((prefix, version, description))
}

pub(crate) fn read(src: &Source) -> Result<Vec<Imported>, CliError> {
    let mut found: BTreeMap<Key, Imported> = BTreeMap::new();
    let mut undo: Vec<(Key, String)> = Vec::new();
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
        refuse_kind(src, &rel, prefix, version, ext)?;
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
    in_order(src, found.into_values().collect(), |m| key(&m.version))
}

/// A file of Flyway's naming that cannot be imported.
fn refuse_kind(src: &Source, rel: &str, prefix: char, version: &str, ext: &str) -> Result<(), CliError> {
    let why = match (prefix, ext) {
        (_, "java" | "class" | "kt") => {
            "a Java migration: its code runs in Flyway, not as SQL; write the SQL it sends as a `.sql` migration of its version, and import again"
        }
        (_, "sql") if prefix == 'R' => {
            "a repeatable migration: Flyway runs it again whenever it changes, and a revision graph runs each revision once; write it as a versioned migration, and import again"
        }
        (_, "sql") if prefix == 'B' => {
            "a baseline migration: Flyway runs it instead of the migrations below it on a new database only; import a folder without it"
        }
        (_, "sql") if version.is_empty() => "a migration without a version",
        (_, "sql") => return Ok(()),
        _ => "a script migration: its commands run in a shell or an interpreter, not as SQL",
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
        return Ok(false);
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
