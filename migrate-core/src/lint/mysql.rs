//! MySQL's and MariaDB's rules: an `ALTER TABLE` the server does by copying
//! the table, and what fails or copies on a table that holds rows.

use super::words::Words;
use super::{Cx, Stmt, alter_existing, alter_table};

/// Every MySQL rule on one statement.
pub(super) fn check(cx: &mut Cx, s: &Stmt<'_>) {
    table_copy(cx, s);
    foreign_key_existing(cx, s);
    unique_index_existing(cx, s);
}

/// Whether the statement says how the server must do it without a copy:
/// `ALGORITHM=INSTANT`, or `ALGORITHM=INPLACE` with `LOCK=NONE`.
fn online(w: &Words<'_>) -> bool {
    let value = |key: &str| {
        let at = w.find(0, &[key])?;
        let at = if w.key(at + 1) == "=" { at + 2 } else { at + 1 };
        Some(w.key(at))
    };
    match value("ALGORITHM") {
        Some("INSTANT") => true,
        Some("INPLACE") => value("LOCK") == Some("NONE"),
        _ => false,
    }
}

/// What in an `ALTER TABLE` action makes the server copy the table, if anything.
fn copies(cx: &Cx, table: &str, a: &Words<'_>) -> Option<&'static str> {
    let column = if a.key(1) == "COLUMN" { 2 } else { 1 };
    match a.key(0) {
        "MODIFY" => {
            let (c, next) = a.name(column)?;
            (cx.type_of(table, &c) != Some(a.type_at(next).as_str())).then_some("`MODIFY` (a column type change)")
        }
        "CHANGE" => {
            let (old, next) = a.name(column)?;
            let (_, next) = a.name(next)?;
            (cx.type_of(table, &old) != Some(a.type_at(next).as_str())).then_some("`CHANGE` (a column type change)")
        }
        "ADD" if a.at(1, &["PRIMARY", "KEY"]) || (a.key(1) == "CONSTRAINT" && a.has("PRIMARY")) => {
            Some("`ADD PRIMARY KEY`")
        }
        "DROP" if a.at(1, &["PRIMARY", "KEY"]) => Some("`DROP PRIMARY KEY`"),
        // What the servers refuse to do in place with concurrent writes
        // ("Try ALGORITHM=COPY", "Try LOCK=SHARED"): a stored generated
        // column, an AUTO_INCREMENT column, a CHECK, a FULLTEXT index.
        "ADD" if added_stored(a) => Some("`ADD COLUMN … STORED` (a stored generated column)"),
        "ADD" if a.has("AUTO_INCREMENT") => Some("`ADD COLUMN … AUTO_INCREMENT`"),
        "ADD" if a.key(1) == "CHECK" || (a.key(1) == "CONSTRAINT" && a.has("CHECK")) => Some("`ADD CHECK`"),
        "ADD" if a.key(1) == "FULLTEXT" => Some("`ADD FULLTEXT INDEX`"),
        "ADD" if a.key(1) == "SPATIAL" => Some("`ADD SPATIAL INDEX`"),
        "ALGORITHM" if matches!(a.key(1), "COPY") || a.at(1, &["=", "COPY"]) => Some("`ALGORITHM=COPY`"),
        "CONVERT" => Some("`CONVERT TO CHARACTER SET`"),
        "ENGINE" => Some("`ENGINE=`"),
        "FORCE" => Some("`FORCE`"),
        "ORDER" => Some("`ORDER BY`"),
        "ROW_FORMAT" => Some("`ROW_FORMAT=`"),
        "KEY_BLOCK_SIZE" => Some("`KEY_BLOCK_SIZE=`"),
        _ => None,
    }
}

/// Whether an `ADD` action adds a stored generated column (`AS (…) STORED`,
/// `GENERATED ALWAYS AS (…) STORED`, MariaDB's `PERSISTENT`).
fn added_stored(a: &Words<'_>) -> bool {
    a.has("AS") && (a.has("STORED") || a.has("PERSISTENT"))
}

/// An `ALTER TABLE` of an existing table the server does by copying it.
fn table_copy(cx: &mut Cx, s: &Stmt<'_>) {
    let Some((table, actions)) = alter_existing(cx, &s.w) else {
        return;
    };
    if online(&s.w) {
        return;
    }
    if let Some(what) = actions.iter().find_map(|(_, a)| copies(cx, &table, a)) {
        cx.report(
            "mysql-table-copy",
            s.line,
            format!("{what} on the existing table `{table}` copies it or locks out its writes: writes to it wait until it ends"),
        );
    }
}

/// A foreign key added to an existing table with foreign key checks on.
fn foreign_key_existing(cx: &mut Cx, s: &Stmt<'_>) {
    let Some((table, actions)) = alter_existing(cx, &s.w) else {
        return;
    };
    if cx.foreign_keys_off {
        return;
    }
    if actions
        .iter()
        .any(|(_, a)| a.key(0) == "ADD" && a.find(0, &["FOREIGN", "KEY"]).is_some())
    {
        cx.report(
            "mysql-foreign-key-existing",
            s.line,
            format!("a foreign key added to the existing table `{table}`: with foreign key checks on, MySQL copies the table to add it"),
        );
    }
}

/// A unique index or constraint added to an existing table.
fn unique_index_existing(cx: &mut Cx, s: &Stmt<'_>) {
    let w = &s.w;
    let table = if w.starts(&["CREATE", "UNIQUE", "INDEX"]) {
        w.find(3, &["ON"]).and_then(|on| w.name(on + 1)).map(|(t, _)| t)
    } else if let Some((table, actions)) = alter_table(w) {
        let unique = |a: &Words<'_>| {
            a.key(0) == "ADD" && (a.key(1) == "UNIQUE" || (a.key(1) == "CONSTRAINT" && a.has("UNIQUE")))
        };
        actions.iter().any(|(_, a)| unique(a)).then_some(table)
    } else {
        None
    };
    if let Some(table) = table.filter(|t| cx.existing(t)) {
        cx.report(
            "mysql-unique-index-existing",
            s.line,
            format!("a unique index added to the existing table `{table}` fails on its first duplicate row, also one written while it builds"),
        );
    }
}
