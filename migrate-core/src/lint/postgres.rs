//! PostgreSQL's rules: locks that block writes while a table is read or
//! rewritten, and what cannot run in a transaction.

use super::words::Words;
use super::{Cx, Stmt, added_column, alter_existing};
use crate::sql::lex::Kind;

/// Every PostgreSQL rule on one statement.
pub(super) fn check(cx: &mut Cx, s: &Stmt<'_>) {
    index_without_concurrently(cx, s);
    index_dropped_or_rebuilt(cx, s);
    concurrently_in_transaction(cx, s);
    constraint_without_not_valid(cx, s);
    validated_where_added(cx, s);
    unique_constraint_builds_index(cx, s);
    required_column_without_default(cx, s);
    table_rewrite(cx, s);
    set_not_null(cx, s);
    column_type_rewrite(cx, s);
    volatile_default(cx, s);
    enum_value_used_in_transaction(cx, s);
    record_enum_value(cx, s);
}

/// `CREATE [UNIQUE] INDEX` on an existing table without `CONCURRENTLY`.
fn index_without_concurrently(cx: &mut Cx, s: &Stmt<'_>) {
    let w = &s.w;
    let Some(at) = after_create_index(w) else { return };
    if w.key(at) == "CONCURRENTLY" {
        return;
    }
    let Some(on) = w.find(at, &["ON"]) else { return };
    let Some((table, _)) = w.name(on + 1) else { return };
    if !cx.existing(&table) {
        return;
    }
    let message = if !cx.history.partitioned.contains(&table) {
        format!(
            "`CREATE INDEX` on the existing table `{table}` without `CONCURRENTLY`: writes to `{table}` wait until the index is built"
        )
    } else if w.key(on + 1) == "ONLY" {
        return; // the partitioned table's own index, invalid until its partitions' are attached: nothing is built
    } else {
        format!(
            "`CREATE INDEX` on the partitioned table `{table}` builds it on every partition while writes wait, and a partitioned table takes no `CONCURRENTLY`: create it `ON ONLY {table}`, build each partition's with `CREATE INDEX CONCURRENTLY` (`-- migrate:no-transaction`), then `ALTER INDEX … ATTACH PARTITION` each"
        )
    };
    cx.report("index-without-concurrently", s.line, message);
}

/// Where the words after `CREATE [UNIQUE] INDEX` start, if the statement is one.
fn after_create_index(w: &Words<'_>) -> Option<usize> {
    if w.starts(&["CREATE", "UNIQUE", "INDEX"]) {
        Some(3)
    } else if w.starts(&["CREATE", "INDEX"]) {
        Some(2)
    } else {
        None
    }
}

/// The index a `CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] name ON
/// [ONLY] table` makes, and its table; `None` for an unnamed one.
pub(super) fn created_index(w: &Words<'_>) -> Option<(String, String)> {
    let mut at = after_create_index(w)?;
    if w.key(at) == "CONCURRENTLY" {
        at += 1;
    }
    if w.at(at, &["IF", "NOT", "EXISTS"]) {
        at += 3;
    }
    if w.key(at) == "ON" {
        return None;
    }
    let (index, next) = w.name(at)?;
    let on = if w.at(next, &["ON", "ONLY"]) {
        next + 2
    } else {
        next + 1
    };
    (w.key(next) == "ON").then_some(())?;
    Some((index, w.name(on)?.0))
}

/// The indexes a `DROP INDEX [CONCURRENTLY] [IF EXISTS] a, b` drops.
pub(super) fn dropped_indexes(w: &Words<'_>) -> Vec<String> {
    if !w.starts(&["DROP", "INDEX"]) {
        return Vec::new();
    }
    let mut from = if w.key(2) == "CONCURRENTLY" { 3 } else { 2 };
    if w.at(from, &["IF", "EXISTS"]) {
        from += 2;
    }
    w.parts(from)
        .iter()
        .filter_map(|(_, p)| p.name(0))
        .map(|(n, _)| n)
        .collect()
}

/// `DROP INDEX` or `REINDEX` without `CONCURRENTLY`, unless on a table this
/// revision created: `DROP INDEX` locks the table out entirely, `REINDEX`
/// blocks its writes while it rebuilds.
fn index_dropped_or_rebuilt(cx: &mut Cx, s: &Stmt<'_>) {
    let w = &s.w;
    if w.has("CONCURRENTLY") {
        return;
    }
    // Each index or table named, with the table when the history knows it.
    let table_of = |index: String| {
        let table = cx.history.indexes.get(&index).cloned();
        (index, table)
    };
    let (what, targets): (&str, Vec<(String, Option<String>)>) = if w.starts(&["DROP", "INDEX"]) {
        ("DROP INDEX", dropped_indexes(w).into_iter().map(table_of).collect())
    } else if w.starts(&["REINDEX"]) {
        // `REINDEX [(options)] INDEX|TABLE name`; a schema, the database or the system: every table.
        let kind =
            (1..w.toks.len()).find(|&i| matches!(w.key(i), "INDEX" | "TABLE" | "SCHEMA" | "DATABASE" | "SYSTEM"));
        let Some(k) = kind else { return };
        let name = w.name(k + 1).map(|(n, _)| n);
        let target = match (w.key(k), name) {
            ("INDEX", Some(n)) => table_of(n),
            ("TABLE", Some(n)) => (n.clone(), Some(n)),
            (other, n) => (n.unwrap_or_else(|| other.to_lowercase()), None),
        };
        ("REINDEX", vec![target])
    } else {
        return;
    };
    for (name, table) in targets {
        // On a table this revision made, or gone with its dropped table: nothing waits.
        if table.as_deref().is_some_and(|t| !cx.existing(t)) || cx.history.gone_indexes.contains(&name) {
            continue;
        }
        let on = match table {
            Some(t) => format!("the existing table `{t}`"),
            None => format!("`{name}`"),
        };
        cx.report(
            "index-without-concurrently",
            s.line,
            format!("`{what}` on {on} without `CONCURRENTLY`: it waits for, then blocks, the writes to the table and the reads that would use its indexes (`DROP INDEX`: every read)"),
        );
    }
}

/// `CONCURRENTLY` (`CREATE INDEX`, `DROP INDEX`, `REINDEX`, `DETACH
/// PARTITION`) in a migration that runs in a transaction.
pub(super) fn concurrently_in_transaction(cx: &mut Cx, s: &Stmt<'_>) {
    let w = &s.w;
    if !cx.transactional || !w.has("CONCURRENTLY") {
        return;
    }
    let what = if w.starts(&["CREATE"]) && w.find(0, &["INDEX", "CONCURRENTLY"]).is_some() {
        "CREATE INDEX CONCURRENTLY"
    } else if w.starts(&["DROP", "INDEX", "CONCURRENTLY"]) {
        "DROP INDEX CONCURRENTLY"
    } else if w.starts(&["REINDEX"]) {
        "REINDEX … CONCURRENTLY"
    } else if w.starts(&["ALTER", "TABLE"]) && w.find(0, &["DETACH", "PARTITION"]).is_some() {
        "DETACH PARTITION … CONCURRENTLY"
    } else {
        return;
    };
    cx.report(
        "concurrently-in-transaction",
        s.line,
        format!("`{what}` cannot run inside a transaction block, and this migration runs in one"),
    );
}

/// A foreign key or CHECK added to an existing table without `NOT VALID`.
fn constraint_without_not_valid(cx: &mut Cx, s: &Stmt<'_>) {
    let Some((table, actions)) = alter_existing(cx, &s.w) else {
        return;
    };
    for (_, a) in actions {
        if a.key(0) != "ADD" {
            continue;
        }
        if a.find(0, &["NOT", "VALID"]).is_some() {
            if a.key(1) == "CONSTRAINT"
                && let Some((name, _)) = a.name(2)
            {
                cx.not_valid.insert(name);
            }
            continue;
        }
        let how = if a.has("FOREIGN") || a.has("REFERENCES") {
            "a foreign key added to the existing table `{table}` without `NOT VALID`: every row is read under a `SHARE ROW EXCLUSIVE` lock on it and on the table it references, writes to both waiting"
        } else if a.has("CHECK") {
            "a CHECK constraint added to the existing table `{table}` without `NOT VALID`: every row is read under an `ACCESS EXCLUSIVE` lock, reads and writes waiting"
        } else {
            continue;
        };
        cx.report("constraint-without-not-valid", s.line, how.replace("{table}", &table));
    }
}

/// `VALIDATE CONSTRAINT` of a constraint the same transactional revision
/// added `NOT VALID`: the lock the addition took is held while it reads
/// every row.
fn validated_where_added(cx: &mut Cx, s: &Stmt<'_>) {
    if !cx.transactional {
        return;
    }
    let Some((table, actions)) = alter_existing(cx, &s.w) else {
        return;
    };
    for (_, a) in actions {
        if a.starts(&["VALIDATE", "CONSTRAINT"])
            && let Some((name, _)) = a.name(2)
            && cx.not_valid.contains(&name)
        {
            cx.report(
                "constraint-without-not-valid",
                s.line,
                format!("`VALIDATE CONSTRAINT {name}` in the transaction that added it `NOT VALID`: the lock the addition took on `{table}` is still held while every row is read"),
            );
        }
    }
}

/// `UNIQUE`, `PRIMARY KEY` or `EXCLUDE` added to an existing table (as a
/// table constraint without `USING INDEX`, or on an added column).
fn unique_constraint_builds_index(cx: &mut Cx, s: &Stmt<'_>) {
    let Some((table, actions)) = alter_existing(cx, &s.w) else {
        return;
    };
    for (_, a) in actions {
        // `USING INDEX name` takes a built index; `USING INDEX TABLESPACE` only places the new one.
        let takes_index = a
            .find(0, &["USING", "INDEX"])
            .is_some_and(|i| a.key(i + 2) != "TABLESPACE");
        if a.key(0) != "ADD" || takes_index {
            continue;
        }
        let column = added_column(&a);
        let from = column.as_ref().map_or(1, |(_, at)| *at);
        let kind = (from..a.toks.len()).find_map(|i| match a.key(i) {
            "UNIQUE" => Some("UNIQUE"),
            "PRIMARY" if a.key(i + 1) == "KEY" => Some("PRIMARY KEY"),
            "EXCLUDE" if column.is_none() => Some("EXCLUDE"),
            _ => None,
        });
        let Some(kind) = kind else { continue };
        let on = match &column {
            Some((c, _)) => format!("on the added column `{c}` of"),
            None => "on".to_owned(),
        };
        cx.report(
            "unique-constraint-builds-index",
            s.line,
            format!("`{kind}` {on} the existing table `{table}` builds its index under an `ACCESS EXCLUSIVE` lock: reads and writes wait"),
        );
    }
}

/// `ADD COLUMN … NOT NULL` with no default on an existing table.
fn required_column_without_default(cx: &mut Cx, s: &Stmt<'_>) {
    let Some((table, actions)) = alter_existing(cx, &s.w) else {
        return;
    };
    for (_, a) in actions {
        let Some((column, at)) = added_column(&a) else { continue };
        let filled = ["DEFAULT", "GENERATED"].iter().any(|k| a.find(at, &[k]).is_some()) || is_serial(&a.type_at(at));
        if a.find(at, &["NOT", "NULL"]).is_some() && !filled {
            cx.report(
                "required-column-without-default",
                s.line,
                format!("`ADD COLUMN {column} … NOT NULL` with no default fails as soon as the existing table `{table}` holds a row"),
            );
        }
    }
}

/// Statements that rewrite an existing table: a stored generated or an
/// identity column added, `SET LOGGED`/`UNLOGGED`/`TABLESPACE`/`ACCESS
/// METHOD`, `VACUUM FULL`, `CLUSTER`.
fn table_rewrite(cx: &mut Cx, s: &Stmt<'_>) {
    let w = &s.w;
    let mut found: Vec<(String, String)> = Vec::new();
    if let Some((table, actions)) = alter_existing(cx, w) {
        for (_, a) in actions {
            let what = if let Some((column, at)) = added_column(&a) {
                let generated = a.find(at, &["GENERATED"]);
                match generated {
                    Some(g) if a.find(g, &["IDENTITY"]).is_some() => format!("`ADD COLUMN {column}` as an identity"),
                    Some(g) if a.find(g, &["STORED"]).is_some() => format!("`ADD COLUMN {column}` stored generated"),
                    _ => continue,
                }
            } else if a.starts(&["SET", "LOGGED"]) || a.starts(&["SET", "UNLOGGED"]) {
                format!("`SET {}`", a.key(1))
            } else if a.starts(&["SET", "TABLESPACE"]) || a.starts(&["SET", "ACCESS", "METHOD"]) {
                format!(
                    "`SET {}`",
                    if a.key(1) == "ACCESS" {
                        "ACCESS METHOD"
                    } else {
                        "TABLESPACE"
                    }
                )
            } else {
                continue;
            };
            found.push((what, table.clone()));
        }
    } else if (w.starts(&["VACUUM"]) && w.find(1, &["FULL"]).is_some_and(|f| f <= 6)) || w.starts(&["CLUSTER"]) {
        let what = if w.starts(&["CLUSTER"]) {
            "CLUSTER"
        } else {
            "VACUUM FULL"
        };
        let first = (1..w.toks.len())
            .find(|&i| !matches!(w.key(i), "FULL" | "VERBOSE" | "ANALYZE" | "FREEZE" | "(" | ")" | ","));
        let Some((table, _)) = first.and_then(|i| w.name(i)) else {
            return; // every table: no migration's business to decide here
        };
        if cx.existing(&table) {
            found.push((format!("`{what}`"), table));
        }
    }
    for (what, table) in found {
        cx.report(
            "table-rewrite",
            s.line,
            format!("{what} rewrites the existing table `{table}` under an `ACCESS EXCLUSIVE` lock"),
        );
    }
}

/// Whether `ty` is one of PostgreSQL's serial types.
fn is_serial(ty: &str) -> bool {
    matches!(
        ty,
        "serial" | "bigserial" | "smallserial" | "serial4" | "serial8" | "serial2"
    )
}

/// `ALTER [COLUMN] c SET NOT NULL` on an existing table with no validated
/// `CHECK (c IS NOT NULL)` before it.
fn set_not_null(cx: &mut Cx, s: &Stmt<'_>) {
    let Some((table, actions)) = alter_existing(cx, &s.w) else {
        return;
    };
    for (_, a) in actions {
        let Some((column, next)) = altered_column(&a) else {
            continue;
        };
        if a.at(next, &["SET", "NOT", "NULL"]) && !cx.not_null_checked(&table, &column) {
            cx.report(
                "set-not-null",
                s.line,
                format!("`SET NOT NULL` on `{table}.{column}` reads every row of the existing table `{table}` under an `ACCESS EXCLUSIVE` lock"),
            );
        }
    }
}

/// The column of an `ALTER [COLUMN] c …` action, and the position after it.
fn altered_column(a: &Words<'_>) -> Option<(String, usize)> {
    if a.key(0) != "ALTER" {
        return None;
    }
    a.name(if a.key(1) == "COLUMN" { 2 } else { 1 })
}

/// `ALTER COLUMN c TYPE t` on an existing table, unless a known widening.
fn column_type_rewrite(cx: &mut Cx, s: &Stmt<'_>) {
    let Some((table, actions)) = alter_existing(cx, &s.w) else {
        return;
    };
    for (_, a) in actions {
        let Some((column, next)) = altered_column(&a) else {
            continue;
        };
        let Some(at) = a.find(next, &["TYPE"]).filter(|&t| t <= next + 2) else {
            continue;
        };
        let new = a.type_at(at + 1);
        let old = cx.type_of(&table, &column).map(str::to_owned);
        if old.as_deref().is_some_and(|old| widens(old, &new)) {
            continue;
        }
        let was = match &old {
            Some(old) => format!("from `{old}` "),
            None => String::new(),
        };
        // PostgreSQL reads the old values in the session's time zone: none changes under UTC.
        // (A `USING` expression rewrites whatever the time zone.)
        let zone = !a.has("USING")
            && old.as_deref().is_some_and(|old| {
                let (o, n) = (parts_of(old).0, parts_of(&new).0);
                o == "timestamp" && n == "timestamptz"
            });
        let unless = if zone {
            " unless the server's `TimeZone` is UTC"
        } else {
            ""
        };
        cx.report(
            "column-type-rewrite",
            s.line,
            format!("changing `{table}.{column}` {was}to `{new}` rewrites the existing table `{table}` under an `ACCESS EXCLUSIVE` lock{unless}"),
        );
    }
}

/// A type as `(name, arguments, array)`, its aliases read as one name.
fn parts_of(ty: &str) -> (String, Vec<u64>, bool) {
    let array = ty.ends_with("[]");
    let ty = ty.trim_end_matches("[]");
    // `timestamp(3) with time zone` is `timestamptz(3)`.
    let zoned = ty.ends_with(" with time zone");
    let ty = ty
        .trim_end_matches(" with time zone")
        .trim_end_matches(" without time zone");
    let (name, args) = match ty.split_once('(') {
        Some((n, rest)) => (n.trim(), rest.trim_end_matches(')')),
        None => (ty.trim(), ""),
    };
    let name = match name {
        "character varying" => "varchar",
        "decimal" => "numeric",
        "bit varying" => "varbit",
        "character" | "bpchar" => "char",
        "int" | "integer" => "int4",
        "bigint" => "int8",
        "smallint" => "int2",
        "timestamp" if zoned => "timestamptz",
        "time" if zoned => "timetz",
        other => other,
    };
    let args = args.split(',').filter_map(|a| a.trim().parse().ok()).collect();
    (name.to_owned(), args, array)
}

/// Whether changing a column from `old` to `new` rewrites nothing: the same
/// type, a varchar, numeric or varbit widened (or unbounded), varchar to
/// text and back to an unbounded varchar, cidr to inet, more fractional
/// seconds of a timestamp. An array of another type is rewritten, even
/// one these would widen.
fn widens(old: &str, new: &str) -> bool {
    let (o, oa, o_array) = parts_of(old);
    let (n, na, n_array) = parts_of(new);
    if (&o, &oa, o_array) == (&n, &na, n_array) {
        return true;
    }
    if o_array || n_array {
        return false;
    }
    let wider = || na.is_empty() || (!oa.is_empty() && na[0] >= oa[0]);
    match (o.as_str(), n.as_str()) {
        ("varchar", "varchar") | ("varbit", "varbit") => wider(),
        ("varchar", "text") | ("cidr", "inet") => true,
        // No precision is the most there is (6 digits).
        ("timestamp", "timestamp") | ("timestamptz", "timestamptz") | ("time", "time") | ("timetz", "timetz") => {
            na.first().unwrap_or(&6) >= oa.first().unwrap_or(&6)
        }
        ("text", "varchar") => na.is_empty(),
        ("numeric", "numeric") => wider() && (na.is_empty() || oa.get(1).unwrap_or(&0) == na.get(1).unwrap_or(&0)),
        _ => false,
    }
}

/// The functions whose value changes row by row: a default calling one is
/// computed for every existing row.
const VOLATILE: [&str; 12] = [
    "RANDOM",
    "GEN_RANDOM_UUID",
    "UUID_GENERATE_V1",
    "UUID_GENERATE_V1MC",
    "UUID_GENERATE_V4",
    "UUIDV7",
    "CLOCK_TIMESTAMP",
    "TIMEOFDAY",
    "NEXTVAL",
    "TXID_CURRENT",
    "PG_CURRENT_XACT_ID",
    "SETSEED",
];

/// `ADD COLUMN` on an existing table with a volatile default or a serial type.
fn volatile_default(cx: &mut Cx, s: &Stmt<'_>) {
    let Some((table, actions)) = alter_existing(cx, &s.w) else {
        return;
    };
    for (_, a) in actions {
        let Some((column, at)) = added_column(&a) else { continue };
        let ty = a.type_at(at);
        let serial = is_serial(&ty);
        let called = a
            .find(at, &["DEFAULT"])
            .and_then(|d| (d + 1..a.toks.len()).find(|&i| VOLATILE.contains(&a.key(i)) && a.key(i + 1) == "("));
        let what = match (serial, called) {
            (true, _) => format!("the serial type `{ty}`"),
            (false, Some(i)) => format!("the volatile default `{}()`", a.toks[i].name),
            (false, None) => continue,
        };
        cx.report(
            "volatile-default",
            s.line,
            format!("`ADD COLUMN {column}` with {what} rewrites every row of the existing table `{table}` under an `ACCESS EXCLUSIVE` lock"),
        );
    }
}

/// `ALTER TYPE t ADD VALUE 'v'`: the value, remembered for the statements after it.
pub(super) fn record_enum_value(cx: &mut Cx, s: &Stmt<'_>) {
    let w = &s.w;
    if !w.starts(&["ALTER", "TYPE"]) {
        return;
    }
    let Some(at) = w.find(2, &["ADD", "VALUE"]) else { return };
    let value = w.toks[at + 2..].iter().find(|t| t.kind == Kind::Str);
    if let Some(v) = value {
        cx.enum_values.push((v.name.clone(), s.line));
    }
}

/// A statement using an enum value an earlier statement of the same
/// transactional revision added.
pub(super) fn enum_value_used_in_transaction(cx: &mut Cx, s: &Stmt<'_>) {
    if !cx.transactional || cx.enum_values.is_empty() || s.w.starts(&["ALTER", "TYPE"]) {
        return;
    }
    let used = s.w.toks.iter().filter(|t| t.kind == Kind::Str).find_map(|t| {
        cx.enum_values
            .iter()
            .find(|(v, _)| *v == t.name)
            .map(|(v, line)| (v.clone(), *line))
    });
    if let Some((value, line)) = used {
        cx.report(
            "enum-value-used-in-transaction",
            s.line,
            format!("the enum value '{value}', added on line {line} in the same transaction, cannot be used before that transaction commits"),
        );
    }
}

/// A `CHECK (c IS NOT NULL)` added (validated, or `NOT VALID` under a name)
/// or a `VALIDATE CONSTRAINT`: what `SET NOT NULL` reads.
pub(super) fn record_check(cx: &mut Cx, table: &str, a: &Words<'_>) {
    if a.starts(&["VALIDATE", "CONSTRAINT"]) {
        if let Some((name, _)) = a.name(2)
            && let Some(on) = cx.history.unvalidated.remove(&name)
        {
            cx.history.not_null_checked.insert(on);
        }
        return;
    }
    if a.key(0) != "ADD" {
        return;
    }
    let Some(check) = a.find(1, &["CHECK"]) else { return };
    let names: Vec<(String, String)> = a.toks[check + 1..]
        .iter()
        .filter(|t| !matches!(t.key.as_str(), "(" | ")"))
        .map(|t| (t.key.clone(), t.name.clone()))
        .collect();
    let column = match names.as_slice() {
        [(_, c), (is, _), (not, _), (null, _), rest @ ..]
            if is == "IS"
                && not == "NOT"
                && null == "NULL"
                && rest.iter().all(|(k, _)| matches!(k.as_str(), "NOT" | "VALID")) =>
        {
            c.clone()
        }
        _ => return,
    };
    let on = (table.to_owned(), column);
    if a.find(0, &["NOT", "VALID"]).is_none() {
        cx.history.not_null_checked.insert(on);
    } else if a.key(1) == "CONSTRAINT"
        && let Some((name, _)) = a.name(2)
    {
        cx.history.unvalidated.insert(name, on);
    }
}
