//! PostgreSQL: `pg_catalog` for the current schema only. Tables, columns,
//! constraints and indexes from `pg_class`, `pg_attribute`, `pg_constraint`
//! and `pg_index`; views, enum types, functions and triggers with the
//! server's own `pg_get_*def` text; sequences from `pg_sequence`, their
//! owner from `pg_depend` (a `serial` column's own sequence is the column's
//! type, not a sequence). What the generator does not write (domains,
//! materialized views, policies, composite types, comments …) goes in
//! `others`.
//!
//! The `pg_get_*def` functions qualify some names with the schema (an
//! index's table, a function's name, a trigger's table); that prefix is cut
//! so two schemas holding the same objects read the same.

use super::{opt, rows, text};
use crate::dialect::HistorySql;
use crate::driver::Backend;
use crate::error::Result;
use migrate_core::schema::{
    Column, Constraint, ConstraintKind, Dialect, EnumType, Index, Object, PartitionOf, Schema, Sequence, Table,
};
use std::collections::BTreeMap;

/// Separates the names of a list in one text column.
const SEP: char = '\u{1f}';

fn lit(s: &str) -> String {
    Dialect::Postgres.quote_text(s)
}

fn q(s: &str) -> String {
    Dialect::Postgres.ident(s)
}

fn names(s: &str) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(SEP).map(str::to_owned).collect()
    }
}

/// `definition` without the schema's prefix where one of `before` precedes it
/// (`ON public.item` → `ON item`).
fn unqualified(definition: &str, schema: &str, before: &[&str]) -> String {
    let mut out = definition.to_owned();
    let prefixes = [format!("{}.", q(schema)), format!("\"{schema}\".")];
    for b in before {
        for p in &prefixes {
            out = out.replace(&format!("{b}{p}"), b);
        }
    }
    out
}

/// The list of the column names of `attnums` (an `int2[]` expression) of relation `rel`.
fn column_list(attnums: &str, rel: &str) -> String {
    format!(
        "(SELECT string_agg(a.attname::text, chr(31) ORDER BY k.ord) FROM unnest({attnums}) WITH ORDINALITY AS k(n, ord) JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.n WHERE k.n <> 0)"
    )
}

/// Objects that belong to an extension: `classid` is the catalog of `oid`.
fn not_extension(catalog: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{catalog}'::regclass AND e.objid = {oid} AND e.deptype = 'e')"
    )
}

/// The session's `search_path`, to put back after a schema file set its own.
pub(super) async fn search_path(conn: &mut dyn Backend) -> Result<String> {
    let found = rows(conn, "SELECT current_setting('search_path')".into(), "the search_path").await?;
    Ok(text(found.first().map(Vec::as_slice).unwrap_or(&[]), 0))
}

/// Sets the session's `search_path` back to `path`.
pub(super) async fn set_search_path(conn: &mut dyn Backend, path: &str) -> Result<()> {
    let sql = format!("SELECT pg_catalog.set_config('search_path', {}, false)", lit(path));
    rows(conn, sql, "setting the search_path back").await.map(drop)
}

/// The schema of the current schema (`current_schema()`); the other schemas
/// of the database, but one holding a table of `exclude` (migrate's own), as
/// objects not generated ([`other_schemas`]).
pub(super) async fn read(conn: &mut dyn Backend, exclude: &[String]) -> Result<Schema> {
    let mut schema = Schema::default();
    let ns = text(
        rows(conn, "SELECT current_schema()::text".into(), "the current schema")
            .await?
            .first()
            .map(Vec::as_slice)
            .unwrap_or(&[]),
        0,
    );
    let in_schema = format!("(SELECT oid FROM pg_namespace WHERE nspname = {})", lit(&ns));
    read_sequences(conn, &in_schema, &mut schema).await?;
    read_tables(conn, &ns, &in_schema, &mut schema).await?;
    read_views(conn, &in_schema, &mut schema).await?;
    read_enums(conn, &in_schema, &mut schema).await?;
    read_functions(conn, &ns, &in_schema, &mut schema).await?;
    read_triggers(conn, &ns, &in_schema, &mut schema).await?;
    read_extensions(conn, &in_schema, &mut schema).await?;
    others(conn, &in_schema, &mut schema).await?;
    other_schemas(conn, &in_schema, exclude, &mut schema).await?;
    Ok(schema)
}

/// Each schema but the current one, `pg_*`, `information_schema`, an
/// extension's, one holding migrate's own tables (`exclude`) and an empty
/// one, with what it holds (relations with their columns by name, functions
/// with their arguments), as an object not generated: the comparisons read
/// one schema, so that a table made or left in another is seen, and a squash
/// that would lose it is refused.
async fn other_schemas(conn: &mut dyn Backend, in_schema: &str, exclude: &[String], schema: &mut Schema) -> Result<()> {
    let own: Vec<String> = exclude.iter().map(|t| lit(t)).collect();
    let own = if own.is_empty() {
        "''".to_owned()
    } else {
        own.join(", ")
    };
    let columns = "(SELECT string_agg(a.attname::text || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END \
                   || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), ''), ', ' ORDER BY a.attname) \
                   FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)";
    let sql = format!(
        "SELECT 'schema \"' || n.nspname::text || '\"', \
         coalesce((SELECT string_agg(c.relkind::text || ' ' || c.relname::text || ' (' || coalesce({columns}, '') || ')', '; ' ORDER BY c.relname) \
                   FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c') AND {}), '') \
         || coalesce((SELECT '; functions ' || string_agg(p.proname::text || '(' || pg_get_function_identity_arguments(p.oid) || ')', ', ' ORDER BY p.proname, pg_get_function_identity_arguments(p.oid)) \
                   FROM pg_proc p WHERE p.pronamespace = n.oid AND {}), '') \
         FROM pg_namespace n WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' AND n.oid <> {in_schema} AND {} \
         AND NOT EXISTS (SELECT 1 FROM pg_class o WHERE o.relnamespace = n.oid AND o.relname IN ({own})) ORDER BY n.nspname",
        not_extension("pg_class", "c.oid"),
        not_extension("pg_proc", "p.oid"),
        not_extension("pg_namespace", "n.oid"),
    );
    for row in rows(conn, sql, "the other schemas").await? {
        // An empty schema (`public` beside another current schema, the history
        // table's own before its first run) holds nothing to compare.
        let holds = text(&row, 1);
        if !holds.is_empty() {
            schema.others.insert(text(&row, 0), holds);
        }
    }
    Ok(())
}

/// The extensions installed in the schema (`citext`, `pg_trgm`, …).
async fn read_extensions(conn: &mut dyn Backend, in_schema: &str, schema: &mut Schema) -> Result<()> {
    let sql = format!("SELECT extname::text FROM pg_extension WHERE extnamespace = {in_schema} ORDER BY extname");
    for row in rows(conn, sql, "extensions").await? {
        let name = text(&row, 0);
        let definition = format!("CREATE EXTENSION IF NOT EXISTS \"{}\"", name.replace('"', "\"\""));
        let object = Object {
            name: name.clone(),
            table: None,
            definition,
            drop_as: None,
        };
        schema.extensions.insert(name, object);
    }
    Ok(())
}

/// The tables of the schema `ns` (not an extension's), each with what it
/// holds: a partitioned table with its key, a partition with its parent and
/// bound and only what is its own (its columns, and the constraints and
/// indexes it takes from its parent, are the parent's).
async fn read_tables(conn: &mut dyn Backend, ns: &str, in_schema: &str, schema: &mut Schema) -> Result<()> {
    let tables = rows(
        conn,
        format!(
            "SELECT c.oid::text, c.relname::text, CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END::text, \
             (SELECT p.relname::text FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhparent WHERE h.inhrelid = c.oid AND c.relispartition), \
             CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END::text \
             FROM pg_class c WHERE c.relnamespace = {in_schema} AND c.relkind IN ('r', 'p') AND {} ORDER BY c.relname",
            not_extension("pg_class", "c.oid")
        ),
        "tables",
    )
    .await?;
    for row in &tables {
        let (oid, name) = (text(row, 0), text(row, 1));
        let mut t = read_table(conn, ns, &oid, &name, &mut schema.sequences).await?;
        t.partition_by = opt(row, 2);
        if let (Some(parent), Some(bound)) = (opt(row, 3), opt(row, 4)) {
            t.columns.clear();
            t.partition_of = Some(PartitionOf { parent, bound });
        }
        schema.tables.insert(name, t);
    }
    Ok(())
}

/// The sequences of the schema but an identity column's or an extension's,
/// each with the column it is `OWNED BY`.
async fn read_sequences(conn: &mut dyn Backend, in_schema: &str, schema: &mut Schema) -> Result<()> {
    let owner = "(SELECT t.relname::text || chr(31) || a.attname::text FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid \
                 JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
                 WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a' LIMIT 1)";
    for row in rows(
        conn,
        format!(
            "SELECT c.relname::text, format_type(s.seqtypid, NULL)::text, s.seqstart::text, s.seqincrement::text, s.seqmin::text, s.seqmax::text, s.seqcache::text, s.seqcycle::text, {owner} \
             FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid WHERE c.relnamespace = {in_schema} AND c.relkind = 'S' \
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('i', 'e')) \
             ORDER BY c.relname"
        ),
        "sequences",
    )
    .await?
    {
        let number = |i: usize| text(&row, i).parse::<i64>().unwrap_or_default();
        let name = text(&row, 0);
        let owned_by = opt(&row, 8).and_then(|o| o.split_once(SEP).map(|(t, c)| (t.to_owned(), c.to_owned())));
        let s = Sequence {
            name: name.clone(),
            data_type: text(&row, 1),
            start: number(2),
            increment: number(3),
            min: number(4),
            max: number(5),
            cache: number(6),
            cycle: text(&row, 7) == "true",
            owned_by,
        };
        schema.sequences.insert(name, s);
    }
    Ok(())
}

/// The views, with the server's `pg_get_viewdef` text.
async fn read_views(conn: &mut dyn Backend, in_schema: &str, schema: &mut Schema) -> Result<()> {
    for row in rows(
        conn,
        format!(
            "SELECT c.relname::text, pg_get_viewdef(c.oid, true)::text FROM pg_class c WHERE c.relnamespace = {in_schema} AND c.relkind = 'v' AND {} ORDER BY c.relname",
            not_extension("pg_class", "c.oid")
        ),
        "views",
    )
    .await?
    {
        let name = text(&row, 0);
        let body = text(&row, 1);
        let body = body.trim().trim_end_matches(';').trim_end();
        schema.views.insert(
            name.clone(),
            Object {
                definition: format!("CREATE VIEW {} AS\n{body}", q(&name)),
                name,
                table: None,
                drop_as: None,
            },
        );
    }
    Ok(())
}

/// The enum types, with their labels in order.
async fn read_enums(conn: &mut dyn Backend, in_schema: &str, schema: &mut Schema) -> Result<()> {
    for row in rows(
        conn,
        format!(
            "SELECT t.typname::text, e.enumlabel::text FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid WHERE t.typnamespace = {in_schema} AND t.typtype = 'e' AND {} ORDER BY t.typname, e.enumsortorder",
            not_extension("pg_type", "t.oid")
        ),
        "enum types",
    )
    .await?
    {
        let name = text(&row, 0);
        schema
            .enums
            .entry(name.clone())
            .or_insert_with(|| EnumType {
                name,
                values: Vec::new(),
            })
            .values
            .push(text(&row, 1));
    }
    Ok(())
}

/// Functions and procedures (aggregates and window functions: others).
async fn read_functions(conn: &mut dyn Backend, ns: &str, in_schema: &str, schema: &mut Schema) -> Result<()> {
    for row in rows(
        conn,
        format!(
            "SELECT p.proname::text, pg_get_function_identity_arguments(p.oid)::text, p.prokind::text, CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid)::text ELSE pg_get_function_result(p.oid)::text END FROM pg_proc p WHERE p.pronamespace = {in_schema} AND {} ORDER BY 1, 2",
            not_extension("pg_proc", "p.oid")
        ),
        "functions",
    )
    .await?
    {
        let (name, args, kind, def) = (text(&row, 0), text(&row, 1), text(&row, 2), text(&row, 3));
        let key = format!("{name}({args})");
        match kind.as_str() {
            "f" | "p" => {
                let definition = unqualified(&def, ns, &["FUNCTION ", "PROCEDURE "]);
                schema.functions.insert(
                    key,
                    Object {
                        drop_as: Some(format!("{}({args})", q(&name))),
                        name,
                        table: None,
                        definition: definition.trim_end().to_owned(),
                    },
                );
            }
            _ => {
                let what = if kind == "a" { "aggregate" } else { "window function" };
                schema.others.insert(format!("{what} \"{key}\""), def);
            }
        }
    }
    Ok(())
}

/// The triggers (not internal ones), by `name ON table`.
async fn read_triggers(conn: &mut dyn Backend, ns: &str, in_schema: &str, schema: &mut Schema) -> Result<()> {
    for row in rows(
        conn,
        format!(
            "SELECT t.tgname::text, c.relname::text, pg_get_triggerdef(t.oid)::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = {in_schema} AND NOT t.tgisinternal ORDER BY 2, 1"
        ),
        "triggers",
    )
    .await?
    {
        let (name, table, def) = (text(&row, 0), text(&row, 1), text(&row, 2));
        schema.triggers.insert(
            format!("{name} ON {table}"),
            Object {
                name,
                table: Some(table),
                definition: unqualified(&def, ns, &[" ON ", " EXECUTE FUNCTION ", " EXECUTE PROCEDURE "]),
                drop_as: None,
            },
        );
    }
    Ok(())
}

/// The table `name` (`oid`): its columns, constraints and indexes. A
/// `serial` column's own sequence leaves `sequences` for the column's type.
async fn read_table(
    conn: &mut dyn Backend,
    ns: &str,
    oid: &str,
    name: &str,
    sequences: &mut BTreeMap<String, Sequence>,
) -> Result<Table> {
    let mut t = Table {
        name: name.to_owned(),
        ..Table::default()
    };
    let cols = rows(
        conn,
        format!(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)::text, a.attnotnull::text, pg_get_expr(d.adbin, d.adrelid)::text, a.attidentity::text, a.attgenerated::text, \
             (SELECT s.relname::text FROM pg_depend dep JOIN pg_class s ON s.oid = dep.objid WHERE dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum AND dep.deptype = 'a' AND s.relkind = 'S' LIMIT 1), \
             (SELECT concat_ws(' ', s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle::text) FROM pg_depend dep JOIN pg_sequence s ON s.seqrelid = dep.objid WHERE dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum AND dep.deptype = 'i' LIMIT 1) \
             FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE a.attrelid = {oid} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
        ),
        &format!("the columns of \"{name}\""),
    )
    .await?;
    for row in &cols {
        let (c, serial_of) = column(row, name, sequences);
        if let Some(seq) = serial_of {
            sequences.remove(&seq);
        }
        t.columns.push(c);
    }

    let constraints = rows(
        conn,
        format!(
            "SELECT con.conname::text, con.contype::text, pg_get_constraintdef(con.oid)::text, fr.relname::text, {} \
             FROM pg_constraint con LEFT JOIN pg_class fr ON fr.oid = con.confrelid \
             WHERE con.conrelid = {oid} AND con.contype <> 'n' AND con.conparentid = 0 ORDER BY con.contype, con.conname",
            column_list("con.conkey", "con.conrelid")
        ),
        &format!("the constraints of \"{name}\""),
    )
    .await?;
    // PostgreSQL 18 keeps each NOT NULL as a constraint too (`contype = 'n'`, named
    // `<table>_<column>_not_null`); a column's `attnotnull` says the same, on every version.
    for row in &constraints {
        let kind = match text(row, 1).as_str() {
            "p" => ConstraintKind::PrimaryKey,
            "u" => ConstraintKind::Unique,
            "f" => ConstraintKind::ForeignKey,
            "c" => ConstraintKind::Check,
            _ => continue,
        };
        t.constraints.push(Constraint {
            name: text(row, 0),
            kind,
            columns: names(&text(row, 4)),
            references: opt(row, 3),
            definition: text(row, 2),
            index: None,
        });
    }

    read_indexes(conn, ns, oid, name, &mut t).await?;
    Ok(t)
}

/// The indexes of the table `name` (`oid`) that no constraint owns.
async fn read_indexes(conn: &mut dyn Backend, ns: &str, oid: &str, name: &str, t: &mut Table) -> Result<()> {
    let indexes = rows(
        conn,
        format!(
            "SELECT i.relname::text, pg_get_indexdef(x.indexrelid)::text, {} \
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
             WHERE x.indrelid = {oid} AND NOT i.relispartition AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid AND c.contype IN ('p', 'u', 'x')) \
             ORDER BY i.relname",
            column_list("x.indkey::int2[]", "x.indrelid")
        ),
        &format!("the indexes of \"{name}\""),
    )
    .await?;
    for row in &indexes {
        t.indexes.push(Index {
            name: text(row, 0),
            columns: names(&text(row, 2)),
            // A partitioned table's index prints `ON ONLY`, which would build it on the
            // parent alone (invalid until each partition's is attached): without
            // `ONLY` the server builds and attaches the partitions' as well.
            definition: unqualified(&text(row, 1), ns, &[" ON ONLY ", " ON "]).replacen(" ON ONLY ", " ON ", 1),
        });
    }
    Ok(())
}

/// The column of one row of the columns query of `table`, and, for a
/// serial (written as one), the sequence that is its own.
fn column(row: &[Option<String>], table: &str, sequences: &BTreeMap<String, Sequence>) -> (Column, Option<String>) {
    let mut data_type = text(row, 1);
    let mut default = opt(row, 3);
    let identity = match text(row, 4).as_str() {
        "a" => Some(identity(row, &data_type, "GENERATED ALWAYS AS IDENTITY")),
        "d" => Some(identity(row, &data_type, "GENERATED BY DEFAULT AS IDENTITY")),
        _ => None,
    };
    // A generated column's expression is its `pg_attrdef` row: stored, or virtual (PostgreSQL 18).
    let generated = match text(row, 5).as_str() {
        g @ ("s" | "v") => {
            let expr = default.take().unwrap_or_default();
            let how = if g == "s" { "STORED" } else { "VIRTUAL" };
            Some(format!("GENERATED ALWAYS AS ({expr}) {how}"))
        }
        _ => None,
    };
    // A serial: its default draws from a sequence the column owns, whose
    // options are those `serial` gives it (else a sequence of its own).
    let name = text(row, 0);
    let mut serial_of = None;
    if let (Some(seq), Some(d)) = (opt(row, 6), default.as_deref()) {
        let draws = d.starts_with("nextval(") && (d.contains(&format!("'{seq}'")) || d.contains(&q(&seq)));
        let serial = ["serial", "bigserial", "smallserial"]
            .into_iter()
            .find(|s| migrate_core::schema::model::serial_base(s) == Some(data_type.as_str()));
        // The name `serial` gives: one the sequence was created or renamed to
        // otherwise (a table renamed after, as real histories do) must stay.
        let named = seq == migrate_core::schema::model::serial_sequence_name(table, &name);
        let own = named
            && sequences.get(&seq).is_some_and(|s| {
                let mut plain = Sequence::new(&seq, &data_type);
                plain.owned_by = Some((table.to_owned(), name.clone()));
                *s == plain
            });
        if let (true, true, Some(s)) = (draws, own, serial) {
            data_type = s.to_owned();
            default = None;
            serial_of = Some(seq);
        }
    }
    let c = Column {
        name,
        data_type,
        nullable: text(row, 2) != "true",
        default,
        identity,
        generated,
        sql: None,
    };
    (c, serial_of)
}

/// An identity column's clause (`kind`) with the options of its sequence
/// (column 7 of the columns query: start, increment, min, max, cache, cycle).
fn identity(row: &[Option<String>], data_type: &str, kind: &str) -> String {
    let options = text(row, 7);
    let mut options = options.split(' ');
    let mut number = || options.next().and_then(|n| n.parse::<i64>().ok());
    let mut s = Sequence::new("", data_type);
    if let (Some(start), Some(increment), Some(min), Some(max), Some(cache)) =
        (number(), number(), number(), number(), number())
    {
        (s.start, s.increment, s.min, s.max, s.cache) = (start, increment, min, max, cache);
        s.cycle = options.next() == Some("true");
    }
    s.identity(kind)
}

/// What the generator does not write, each by `kind "name"` with a text that changes when it does.
async fn others(conn: &mut dyn Backend, in_schema: &str, schema: &mut Schema) -> Result<()> {
    let queries = [
        (
            "domains",
            format!(
                "SELECT 'domain \"' || t.typname || '\"', format('%s not null %s default %s %s', format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault, \
                 (SELECT string_agg(pg_get_constraintdef(c.oid), ' ' ORDER BY c.conname) FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype <> 'n')) \
                 FROM pg_type t WHERE t.typnamespace = {in_schema} AND t.typtype = 'd' AND {}",
                not_extension("pg_type", "t.oid")
            ),
        ),
        (
            "materialized views, foreign tables and composite types",
            format!(
                "SELECT CASE c.relkind WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' ELSE 'type' END || ' \"' || c.relname || '\"', \
                 coalesce(CASE WHEN c.relkind = 'm' THEN pg_get_viewdef(c.oid, true) END, '') || ' ' || \
                 coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') \
                 FROM pg_class c WHERE c.relnamespace = {in_schema} AND c.relkind IN ('m', 'f', 'c') AND {}",
                not_extension("pg_class", "c.oid")
            ),
        ),
        (
            "other types",
            format!(
                "SELECT CASE t.typtype WHEN 'r' THEN 'range type' WHEN 'b' THEN 'base type' ELSE 'type' END || ' \"' || t.typname || '\"', t.typtype::text \
                 FROM pg_type t WHERE t.typnamespace = {in_schema} AND t.typtype IN ('r', 'b') AND t.typelem = 0 AND {}",
                not_extension("pg_type", "t.oid")
            ),
        ),
        (
            "policies",
            format!(
                "SELECT 'policy \"' || p.polname || '\" on \"' || c.relname || '\"', format('%s %s %s using %s check %s', p.polcmd, p.polpermissive, p.polroles::text, pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)) \
                 FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace = {in_schema}"
            ),
        ),
        (
            "row level security",
            format!(
                "SELECT 'row level security on \"' || c.relname || '\"', format('enabled %s forced %s', c.relrowsecurity, c.relforcerowsecurity) \
                 FROM pg_class c WHERE c.relnamespace = {in_schema} AND (c.relrowsecurity OR c.relforcerowsecurity)"
            ),
        ),
        (
            "exclusion constraints",
            format!(
                "SELECT 'exclusion constraint \"' || con.conname || '\" on \"' || c.relname || '\"', pg_get_constraintdef(con.oid) \
                 FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid WHERE c.relnamespace = {in_schema} AND con.contype = 'x'"
            ),
        ),
        (
            "comments",
            format!(
                "SELECT CASE WHEN d.objsubid = 0 THEN 'comment on ' || CASE c.relkind WHEN 'v' THEN 'view' ELSE 'table' END || ' \"' || c.relname || '\"' \
                 ELSE 'comment on column \"' || c.relname || '\".\"' || a.attname || '\"' END, d.description \
                 FROM pg_description d JOIN pg_class c ON d.classoid = 'pg_class'::regclass AND d.objoid = c.oid \
                 LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid \
                 WHERE c.relnamespace = {in_schema} AND c.relkind IN ('r', 'p', 'v', 'm')"
            ),
        ),
        (
            "extensions",
            "SELECT 'extension \"' || extname || '\"', extversion FROM pg_extension WHERE extname <> 'plpgsql'"
                .to_owned(),
        ),
    ];
    for (what, sql) in queries {
        for row in rows(conn, sql, what).await? {
            schema.others.insert(text(&row, 0), text(&row, 1));
        }
    }
    Ok(())
}
