//! PostgreSQL functions (and MySQL's routines) in a generated revision:
//! when each is made and dropped around the tables, views and types its
//! signature names, and the statements that make and drop them.

use super::super::text::{normalize, type_names};
use super::{Dialect, Diff, Object, Writer};
use std::collections::BTreeSet;

/// Step 4: Functions added or changed (before the triggers that call them),
/// but those whose signature names a table or view made in the same
/// revision, which come after it ([`made_after`]). PostgreSQL checks a
/// SQL-language body when the function is made, and it may read a table or
/// a view made later in the revision: the bodies are not checked while they
/// are made (`check_function_bodies`, as pg_dump's output does), and the
/// setting is put back after them.
///
/// A changed function whose result, parameter defaults or kind differ, which
/// `CREATE OR REPLACE` refuses to change, is dropped first ([`remade`]).
pub(super) fn create_functions<'a>(w: &mut Writer<'_>, made: impl IntoIterator<Item = &'a Object>) {
    let made: Vec<&Object> = made.into_iter().collect();
    let unchecked = w.d == Dialect::Postgres && !made.is_empty();
    if unchecked {
        w.push("SET check_function_bodies = false".to_owned());
    }
    for f in made {
        if let Some(old) = remade(w, f) {
            let (drop, noun) = drop_statement(w, old);
            let why = format!(
                "drops {noun} {} to make it again, as CREATE OR REPLACE cannot change its result or parameter defaults; grants on it and its comment go with it",
                old.name
            );
            w.review(drop, why);
        }
        w.push(f.definition.trim().trim_end_matches(';').to_owned());
    }
    if unchecked {
        w.push("RESET check_function_bodies".to_owned());
    }
}

/// The types a PostgreSQL function's signature names that may be a table's
/// or a view's row type, as the server prints them: its arguments' (`drop_as`,
/// names left out) and its result's (its `RETURNS` line, past `SETOF`, or
/// each column of `RETURNS TABLE (…)`), but a built-in type written plainly
/// (`RETURNS trigger`: the server qualifies a row type a built-in one's name
/// hides, `public.trigger`). Such a row type must exist before the function
/// is made, and the function must be dropped before it is.
fn signature_types(d: Dialect, f: &Object) -> Vec<String> {
    if d != Dialect::Postgres {
        return Vec::new();
    }
    let inside = |text: &str| {
        let open = text.find('(')?;
        Some(text[open + 1..text.rfind(')')?].to_owned())
    };
    let mut types = f
        .drop_as
        .as_deref()
        .and_then(inside)
        .map(|args| type_names(&args))
        .unwrap_or_default();
    let returns = f
        .definition
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("RETURNS "));
    if let Some(returns) = returns {
        let returns = returns.trim_start_matches("SETOF ");
        match returns.strip_prefix("TABLE") {
            Some(columns) => types.extend(inside(columns).map(|c| type_names(&c)).unwrap_or_default()),
            None => types.extend(type_names(returns)),
        }
    }
    types
        .into_iter()
        .filter(|(name, plain)| !plain || !POSTGRES_BUILT_IN_TYPES.contains(&name.to_ascii_lowercase().as_str()))
        .map(|(name, _)| name)
        .collect()
}

/// PostgreSQL's own type names as its catalogs print them (`pg_catalog`'s
/// base and pseudo-types, and the words that end the SQL standard's
/// spellings): written plainly in a signature, the built-in type, never a
/// table of that name.
const POSTGRES_BUILT_IN_TYPES: &[&str] = &[
    "aclitem",
    "any",
    "anyarray",
    "anycompatible",
    "anycompatiblearray",
    "anycompatiblemultirange",
    "anycompatiblenonarray",
    "anycompatiblerange",
    "anyelement",
    "anyenum",
    "anymultirange",
    "anynonarray",
    "anyrange",
    "bigint",
    "bit",
    "bool",
    "boolean",
    "bpchar",
    "bytea",
    "char",
    "character",
    "cid",
    "cidr",
    "circle",
    "cstring",
    "date",
    "datemultirange",
    "daterange",
    "event_trigger",
    "fdw_handler",
    "float4",
    "float8",
    "gtsvector",
    "index_am_handler",
    "inet",
    "int2",
    "int4",
    "int4multirange",
    "int4range",
    "int8",
    "int8multirange",
    "int8range",
    "integer",
    "internal",
    "interval",
    "json",
    "jsonb",
    "jsonpath",
    "language_handler",
    "line",
    "lseg",
    "macaddr",
    "macaddr8",
    "money",
    "name",
    "numeric",
    "nummultirange",
    "numrange",
    "oid",
    "path",
    "pg_lsn",
    "pg_snapshot",
    "point",
    "polygon",
    "precision",
    "real",
    "record",
    "refcursor",
    "regclass",
    "regcollation",
    "regconfig",
    "regdictionary",
    "regnamespace",
    "regoper",
    "regoperator",
    "regproc",
    "regprocedure",
    "regrole",
    "regtype",
    "smallint",
    "table_am_handler",
    "text",
    "tid",
    "time",
    "timestamp",
    "timestamptz",
    "timetz",
    "trigger",
    "tsm_handler",
    "tsmultirange",
    "tsquery",
    "tsrange",
    "tstzmultirange",
    "tstzrange",
    "tsvector",
    "txid_snapshot",
    "unknown",
    "uuid",
    "varbit",
    "varchar",
    "varying",
    "void",
    "xid",
    "xid8",
    "xml",
    "zone",
];

/// Whether `f`'s signature names one of `names` as a type.
fn signature_names<'n>(d: Dialect, f: &Object, mut names: impl Iterator<Item = &'n str>) -> bool {
    let types = signature_types(d, f);
    names.any(|n| types.iter().any(|t| t.eq_ignore_ascii_case(n)))
}

/// The functions added or changed, by when they are made: `(before the
/// tables, after the tables, after the views)`, the later ones those whose
/// signature names a table or a view the revision makes.
pub(super) fn made_after<'a>(d: Dialect, diff: &Diff<'a>) -> [Vec<&'a Object>; 3] {
    let mut when: [Vec<&'a Object>; 3] = Default::default();
    let tables = || diff.tables_added.iter().map(|t| t.name.as_str());
    let views = || diff.views.added.iter().map(|v| v.name.as_str());
    for f in diff
        .functions
        .added
        .iter()
        .copied()
        .chain(diff.functions.changed.iter().map(|(_, a)| *a))
    {
        let at = match (signature_names(d, f, views()), signature_names(d, f, tables())) {
            (true, _) => 2,
            (false, true) => 1,
            (false, false) => 0,
        };
        when[at].push(f);
    }
    when
}

/// The functions going away, by when they are dropped: `(before the views,
/// before the tables and types, last)`, the earlier ones those whose
/// signature names a view dropped, or a table or type going away, which
/// they hold; the others last (a default or a trigger of a table going away
/// may call them).
pub(super) fn dropped_after<'a>(d: Dialect, diff: &Diff<'a>, dropped_views: &BTreeSet<&str>) -> [Vec<&'a Object>; 3] {
    let mut when: [Vec<&'a Object>; 3] = Default::default();
    let tables = || diff.tables_removed.iter().map(|t| t.name.as_str());
    let types = || diff.enums.removed.iter().map(|e| e.name.as_str());
    for f in diff.functions.removed.iter().copied() {
        let at = match (
            signature_names(d, f, dropped_views.iter().copied()),
            signature_names(d, f, tables().chain(types())),
        ) {
            (true, _) => 0,
            (false, true) => 1,
            (false, false) => 2,
        };
        when[at].push(f);
    }
    when
}

/// `DROP FUNCTION` (or `PROCEDURE`) of each of `removed`, for review.
pub(super) fn drop_functions(w: &mut Writer<'_>, removed: &[&Object]) {
    for f in removed {
        let (drop, noun) = drop_statement(w, f);
        w.review(drop, format!("drops {noun} {}", f.name));
    }
}

/// The statement that drops `f`, and what it is (`function`, `procedure`).
fn drop_statement(w: &Writer<'_>, f: &Object) -> (String, &'static str) {
    let name = f.drop_as.clone().unwrap_or_else(|| w.q(&f.name));
    let (kw, noun) = match is_procedure(f) {
        true => ("PROCEDURE", "procedure"),
        false => ("FUNCTION", "function"),
    };
    (format!("DROP {kw} {name}"), noun)
}

fn is_procedure(f: &Object) -> bool {
    normalize(&f.definition).starts_with("create or replace procedure")
}

/// The definition `f` replaces when PostgreSQL's `CREATE OR REPLACE` cannot
/// turn the one into the other ([`remakes`]).
fn remade<'b>(w: &Writer<'b>, f: &Object) -> Option<&'b Object> {
    let old = w
        .before
        .functions
        .values()
        .find(|old| old.drop_as.is_some() && old.drop_as == f.drop_as)?;
    remakes(w.d, old, f).then_some(old)
}

/// Whether PostgreSQL's `CREATE OR REPLACE` refuses to turn `old` into
/// `new`, which must then be dropped and made again: a result (`RETURNS`,
/// `OUT` parameters, a `TABLE`'s columns), parameter defaults or the
/// routine's kind that differ. Its body, language and attributes it
/// replaces where it stands, keeping what depends on it.
pub(super) fn remakes(d: Dialect, old: &Object, new: &Object) -> bool {
    if d != Dialect::Postgres || old.definition == new.definition {
        return false;
    }
    // `pg_get_functiondef`: the signature with its defaults on the first line, the result on the `RETURNS` one.
    let header = |o: &Object| {
        let mut lines = o.definition.lines().map(str::trim);
        let first = lines.next().unwrap_or_default().to_owned();
        let returns = lines.find(|l| l.starts_with("RETURNS ")).unwrap_or_default().to_owned();
        (first, returns)
    };
    header(old) != header(new) || is_procedure(old) != is_procedure(new)
}
