//! PostgreSQL's rules: locks that block writes while a table is read or
//! rewritten, and what cannot run in a transaction.

use super::words::Words;
use super::{Cx, Stmt, added_column, alter_existing};
use crate::sql::lex::Kind;

/// Every PostgreSQL rule on one statement.
pub(super) fn check(cx: &mut Cx, s: &Stmt<'_>) {
    index_without_concurrently(cx, s);
    concurrently_in_transaction(cx, s);
    constraint_without_not_valid(cx, s);
    set_not_null(cx, s);
    column_type_rewrite(cx, s);
    volatile_default(cx, s);
    enum_value_used_in_transaction(cx, s);
    record_enum_value(cx, s);
}

/// `CREATE [UNIQUE] INDEX` on an existing table without `CONCURRENTLY`.
fn index_without_concurrently(cx: &mut Cx, s: &Stmt<'_>) {
    let w = &s.w;
    let at = if w.starts(&["CREATE", "UNIQUE", "INDEX"]) {
        3
    } else if w.starts(&["CREATE", "INDEX"]) {
        2
    } else {
        return;
    };
    if w.key(at) == "CONCURRENTLY" {
        return;
    }
    let Some((table, _)) = w.find(at, &["ON"]).and_then(|on| w.name(on + 1)) else {
        return;
    };
    if cx.existing(&table) {
        cx.report(
            "index-without-concurrently",
            s.line,
            format!("`CREATE INDEX` on the existing table `{table}` without `CONCURRENTLY`: writes to `{table}` wait until the index is built"),
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
        if a.key(0) != "ADD" || a.find(0, &["NOT", "VALID"]).is_some() {
            continue;
        }
        let what = if a.has("FOREIGN") || a.has("REFERENCES") {
            "a foreign key"
        } else if a.has("CHECK") {
            "a CHECK constraint"
        } else {
            continue;
        };
        cx.report(
            "constraint-without-not-valid",
            s.line,
            format!(
                "{what} added to the existing table `{table}` without `NOT VALID`: every row is read while writes wait"
            ),
        );
    }
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
        cx.report(
            "column-type-rewrite",
            s.line,
            format!("changing `{table}.{column}` {was}to `{new}` rewrites the existing table `{table}` under an `ACCESS EXCLUSIVE` lock"),
        );
    }
}

/// A type as `(name, arguments, array)`, its aliases read as one name.
fn parts_of(ty: &str) -> (String, Vec<u64>, bool) {
    let array = ty.ends_with("[]");
    let ty = ty.trim_end_matches("[]");
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
        other => other,
    };
    let args = args.split(',').filter_map(|a| a.trim().parse().ok()).collect();
    (name.to_owned(), args, array)
}

/// Whether changing a column from `old` to `new` rewrites nothing: the same
/// type, a varchar, numeric or varbit widened (or unbounded), varchar to
/// text and back to an unbounded varchar, cidr to inet.
fn widens(old: &str, new: &str) -> bool {
    let (o, oa, o_array) = parts_of(old);
    let (n, na, n_array) = parts_of(new);
    if o_array != n_array {
        return false;
    }
    if (&o, &oa) == (&n, &na) {
        return true;
    }
    let wider = || na.is_empty() || (!oa.is_empty() && na[0] >= oa[0]);
    match (o.as_str(), n.as_str()) {
        ("varchar", "varchar") | ("varbit", "varbit") => wider(),
        ("varchar", "text") | ("cidr", "inet") => true,
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
        let serial = matches!(
            ty.as_str(),
            "serial" | "bigserial" | "smallserial" | "serial4" | "serial8" | "serial2"
        );
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
