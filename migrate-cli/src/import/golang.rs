//! golang-migrate's folder, read as its `file` source reads it:
//! `{version}_{title}.up.sql` and `.down.sql` (the version an unsigned
//! integer, ordered as a number); files of another shape are skipped, as it
//! skips them, and a migration for another engine (`.up.json`) is refused.
//! golang-migrate runs each file as it is, in no transaction of its own: a
//! file that is one transaction (`BEGIN; … COMMIT;`, how such a file asks
//! for one) is written without the two, as a revision runs in a transaction
//! of its own; one with other transaction control is refused by the
//! read-back, naming the statement; a migration whose files are one statement each, one
//! of them a statement PostgreSQL runs only outside a transaction (`CREATE
//! INDEX CONCURRENTLY`), runs outside one (`-- migrate:no-transaction`). Its `schema_migrations` stores no checksum.

use super::{Imported, Source, digits, in_order, numeric};
use crate::error::CliError;
use std::collections::BTreeMap;

/// A version as golang-migrate's `uint64` reads it: leading zeros dropped, `0` kept.
fn number(version: &str) -> &str {
    match numeric(version).1 {
        "" => "0",
        v => v,
    }
}

pub(crate) fn read(src: &Source) -> Result<Vec<Imported>, CliError> {
    let mut found: BTreeMap<String, Imported> = BTreeMap::new();
    let mut downs: Vec<(String, String)> = Vec::new();
    for file in src.entries()? {
        let Some((version, rest)) = file.split_once('_') else {
            continue;
        };
        let Some((title, direction, ext)) = shape(rest) else {
            continue;
        };
        if !digits(version) || src.is_dir(&file) {
            continue;
        }
        if ext != "sql" {
            return Err(src.refuse(&file, None, format!("a `.{ext}` migration, not SQL")));
        }
        if direction == "down" {
            downs.push((version.to_owned(), file));
            continue;
        }
        let m = Imported {
            version: number(version).to_owned(),
            name: title.to_owned(),
            file: file.clone(),
            up: src.read(&file)?,
            ..Imported::default()
        };
        if let Some(before) = found.insert(m.version.clone(), m) {
            return Err(src.refuse(
                &file,
                None,
                format!("its version is also the version of {}", before.file),
            ));
        }
    }
    for (version, file) in downs {
        let Some(up) = found.get_mut(number(&version)) else {
            return Err(src.refuse(&file, None, "a down migration with no up migration of its version"));
        };
        up.down = Some(src.read(&file)?);
    }
    for m in found.values_mut() {
        if let Some(inner) = src.own_transaction(&m.up) {
            m.up = inner;
        }
        if let Some(inner) = m.down.as_deref().and_then(|down| src.own_transaction(down)) {
            m.down = Some(inner);
        }
        // golang-migrate sends a file in no transaction of its own: one that is one
        // statement PostgreSQL runs only outside a transaction runs so here too.
        let sections = std::iter::once(m.up.as_str()).chain(m.down.as_deref());
        let each_one = sections.clone().all(|sql| src.one_statement(sql));
        m.no_transaction = each_one && sections.into_iter().any(super::outside_a_transaction_only);
    }
    let list: Vec<Imported> = found.into_values().collect();
    in_order(src, list, |m| {
        let (len, digits) = numeric(&m.version);
        (len, digits.to_owned())
    })
}

/// `{title}.{up|down}.{ext}`.
fn shape(rest: &str) -> Option<(&str, &str, &str)> {
    let (stem, ext) = rest.rsplit_once('.')?;
    let (title, direction) = stem.rsplit_once('.')?;
    matches!(direction, "up" | "down").then_some((title, direction, ext))
}
