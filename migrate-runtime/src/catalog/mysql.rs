//! MySQL and MariaDB: `information_schema` for the current database only.
//! Tables and columns from `tables` and `columns`; the primary key and the
//! indexes from `statistics`; foreign keys from `referential_constraints`
//! and `key_column_usage`; CHECK constraints from `check_constraints`;
//! views from `views` with the database's name cut from their text.
//! Triggers, routines and events are not generated: they go in `others`,
//! as do table and column comments.
//!
//! Every column is read `CAST(… AS CHAR)`: information_schema's columns
//! come back as binary strings on some servers.

use super::{opt, rows, text};
use crate::dialect::HistorySql;
use crate::driver::Backend;
use crate::error::Result;
use migrate_core::schema::{Column, Constraint, ConstraintKind, Dialect, Index, Object, Schema, Table};
use std::collections::BTreeMap;

fn lit(s: &str) -> String {
    Dialect::Mysql.quote_text(s)
}

fn q(s: &str) -> String {
    Dialect::Mysql.ident(s)
}

fn list(columns: &[String]) -> String {
    columns.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ")
}

/// `sql` with every `` `db`. `` qualifier of the current database cut.
fn unqualified(sql: &str, db: &str) -> String {
    sql.replace(&format!("`{}`.", db.replace('`', "``")), "")
}

/// The schema of the current database.
pub(super) async fn read(conn: &mut dyn Backend) -> Result<Schema> {
    let mut schema = Schema::default();
    let first = rows(
        conn,
        "SELECT CAST(DATABASE() AS CHAR), CAST(VERSION() AS CHAR)".into(),
        "the current database",
    )
    .await?;
    let head = first.first().map(Vec::as_slice).unwrap_or(&[]);
    let (db, version) = (text(head, 0), text(head, 1));
    let mariadb = version.to_ascii_lowercase().contains("mariadb");

    let mut tables = read_tables(conn, &mut schema).await?;
    read_columns(conn, &mut tables, &mut schema, mariadb).await?;
    read_foreign_keys(conn, &mut tables).await?;
    read_indexes(conn, &mut tables).await?;
    read_checks(conn, &mut tables, mariadb).await?;
    schema.tables = tables;
    read_views(conn, &mut schema, &db).await?;
    read_others(conn, &mut schema, &db).await?;
    Ok(schema)
}

/// The base tables, empty, by name; their comments go in `others`.
async fn read_tables(conn: &mut dyn Backend, schema: &mut Schema) -> Result<BTreeMap<String, Table>> {
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for row in rows(
        conn,
        "SELECT CAST(table_name AS CHAR), CAST(table_comment AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name".into(),
        "tables",
    )
    .await?
    {
        let name = text(&row, 0);
        if let Some(c) = opt(&row, 1).filter(|c| !c.is_empty()) {
            schema.others.insert(format!("comment on table \"{name}\""), c);
        }
        tables.insert(
            name.clone(),
            Table {
                name,
                ..Table::default()
            },
        );
    }
    Ok(tables)
}

/// The columns of every table, in order; their comments go in `others`.
async fn read_columns(
    conn: &mut dyn Backend,
    tables: &mut BTreeMap<String, Table>,
    schema: &mut Schema,
    mariadb: bool,
) -> Result<()> {
    for row in rows(
        conn,
        "SELECT CAST(table_name AS CHAR), CAST(column_name AS CHAR), CAST(column_type AS CHAR), CAST(is_nullable AS CHAR), CAST(column_default AS CHAR), CAST(extra AS CHAR), CAST(generation_expression AS CHAR), CAST(column_comment AS CHAR), CAST(data_type AS CHAR) \
         FROM information_schema.columns WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position"
            .into(),
        "columns",
    )
    .await?
    {
        let (table, name) = (text(&row, 0), text(&row, 1));
        let Some(t) = tables.get_mut(&table) else { continue };
        if let Some(c) = opt(&row, 7).filter(|c| !c.is_empty()) {
            schema
                .others
                .insert(format!("comment on column \"{table}\".\"{name}\""), c);
        }
        t.columns.push(column(&row, name, mariadb));
    }
    Ok(())
}

/// The column named `name` of one row of the columns query.
fn column(row: &[Option<String>], name: String, mariadb: bool) -> Column {
    let extra = text(row, 5).to_ascii_lowercase();
    let generation = opt(row, 6).filter(|g| !g.is_empty());
    let generated = match generation {
        Some(expr) if extra.contains("generated") && !extra.contains("default_generated") => {
            let kind = if extra.contains("stored") { "STORED" } else { "VIRTUAL" };
            Some(format!("GENERATED ALWAYS AS ({expr}) {kind}"))
        }
        _ => None,
    };
    let mut default = if generated.is_some() {
        None
    } else {
        column_default(opt(row, 4), &extra, &text(row, 8), mariadb)
    };
    // `ON UPDATE CURRENT_TIMESTAMP` goes with the default, as a column definition writes it.
    if let Some(at) = extra.find("on update ") {
        let clause = text(row, 5)[at..].trim().to_owned();
        default = Some(match default {
            Some(d) => format!("{d} {clause}"),
            None => format!("NULL {clause}"),
        });
    }
    Column {
        name,
        data_type: text(row, 2),
        nullable: text(row, 3) == "YES",
        default,
        identity: extra.contains("auto_increment").then(|| "AUTO_INCREMENT".to_owned()),
        generated,
        sql: None,
    }
}

/// The foreign keys of every table, with their columns and actions.
async fn read_foreign_keys(conn: &mut dyn Backend, tables: &mut BTreeMap<String, Table>) -> Result<()> {
    let mut fk_columns: BTreeMap<(String, String), (Vec<String>, Vec<String>)> = BTreeMap::new();
    for row in rows(
        conn,
        "SELECT CAST(table_name AS CHAR), CAST(constraint_name AS CHAR), CAST(column_name AS CHAR), CAST(referenced_column_name AS CHAR) \
         FROM information_schema.key_column_usage WHERE table_schema = DATABASE() AND referenced_table_name IS NOT NULL \
         ORDER BY table_name, constraint_name, ordinal_position"
            .into(),
        "foreign key columns",
    )
    .await?
    {
        let e = fk_columns.entry((text(&row, 0), text(&row, 1))).or_default();
        e.0.push(text(&row, 2));
        e.1.push(text(&row, 3));
    }
    for row in rows(
        conn,
        "SELECT CAST(table_name AS CHAR), CAST(constraint_name AS CHAR), CAST(referenced_table_name AS CHAR), CAST(update_rule AS CHAR), CAST(delete_rule AS CHAR) \
         FROM information_schema.referential_constraints WHERE constraint_schema = DATABASE() ORDER BY table_name, constraint_name"
            .into(),
        "foreign keys",
    )
    .await?
    {
        let (table, name, target) = (text(&row, 0), text(&row, 1), text(&row, 2));
        let Some(t) = tables.get_mut(&table) else { continue };
        let (from, to) = fk_columns.remove(&(table.clone(), name.clone())).unwrap_or_default();
        let mut definition = format!("FOREIGN KEY ({}) REFERENCES {} ({})", list(&from), q(&target), list(&to));
        // RESTRICT and NO ACTION are the same in InnoDB, and the default: written as neither.
        for (what, action) in [("ON DELETE", text(&row, 4)), ("ON UPDATE", text(&row, 3))] {
            if !matches!(action.as_str(), "RESTRICT" | "NO ACTION" | "") {
                definition.push_str(&format!(" {what} {action}"));
            }
        }
        t.constraints.push(Constraint {
            name,
            kind: ConstraintKind::ForeignKey,
            columns: from,
            references: Some(target),
            definition,
            index: None,
        });
    }
    Ok(())
}

/// One index as `statistics` lists it, its columns gathered.
struct Idx {
    unique: bool,
    kind: String,
    columns: Vec<String>,
    parts: Vec<String>,
    plain: bool,
}

/// The primary key and the indexes of every table.
async fn read_indexes(conn: &mut dyn Backend, tables: &mut BTreeMap<String, Table>) -> Result<()> {
    let mut indexes: BTreeMap<(String, String), Idx> = BTreeMap::new();
    for row in rows(
        conn,
        "SELECT CAST(table_name AS CHAR), CAST(index_name AS CHAR), CAST(non_unique AS CHAR), CAST(column_name AS CHAR), CAST(sub_part AS CHAR), CAST(`collation` AS CHAR), CAST(index_type AS CHAR) \
         FROM information_schema.statistics WHERE table_schema = DATABASE() ORDER BY table_name, index_name, seq_in_index"
            .into(),
        "indexes",
    )
    .await?
    {
        let column = text(&row, 3);
        let mut part = q(&column);
        if let Some(n) = opt(&row, 4) {
            part.push_str(&format!("({n})"));
        }
        if text(&row, 5) == "D" {
            part.push_str(" DESC");
        }
        let e = indexes.entry((text(&row, 0), text(&row, 1))).or_insert_with(|| Idx {
            unique: text(&row, 2) == "0",
            kind: text(&row, 6),
            columns: Vec::new(),
            parts: Vec::new(),
            plain: true,
        });
        e.plain &= opt(&row, 4).is_none() && text(&row, 5) != "D";
        e.columns.push(column);
        e.parts.push(part);
    }
    for ((table, name), i) in indexes {
        let Some(t) = tables.get_mut(&table) else { continue };
        add_index(t, table, name, i);
    }
    Ok(())
}

/// `i` put in `t`: as its primary key, as a foreign key's own index, or as an index.
fn add_index(t: &mut Table, table: String, name: String, i: Idx) {
    if name == "PRIMARY" {
        t.constraints.insert(
            0,
            Constraint {
                name,
                kind: ConstraintKind::PrimaryKey,
                definition: format!("PRIMARY KEY ({})", i.parts.join(", ")),
                columns: i.columns,
                references: None,
                index: None,
            },
        );
        return;
    }
    // The index the server made for a foreign key: named after the key, or
    // after its first column when the key had no name of its own.
    if !i.unique && i.plain {
        let owner = t.constraints.iter_mut().find(|c| {
            c.kind == ConstraintKind::ForeignKey
                && c.index.is_none()
                && c.columns == i.columns
                && (c.name == name || auto_named(&name, &c.columns[0]))
        });
        if let Some(c) = owner {
            c.index = Some(name);
            return;
        }
    }
    let kind = match i.kind.as_str() {
        "FULLTEXT" => "FULLTEXT ",
        "SPATIAL" => "SPATIAL ",
        _ if i.unique => "UNIQUE ",
        _ => "",
    };
    t.indexes.push(Index {
        definition: format!(
            "CREATE {kind}INDEX {} ON {} ({})",
            q(&name),
            q(&table),
            i.parts.join(", ")
        ),
        name,
        columns: i.columns,
    });
}

/// The CHECK constraints of every table (MariaDB names a column's own check after the column).
async fn read_checks(conn: &mut dyn Backend, tables: &mut BTreeMap<String, Table>, mariadb: bool) -> Result<()> {
    let checks = if mariadb {
        "SELECT CAST(table_name AS CHAR), CAST(constraint_name AS CHAR), CAST(check_clause AS CHAR), CAST(level AS CHAR) FROM information_schema.check_constraints WHERE constraint_schema = DATABASE() ORDER BY table_name, constraint_name"
    } else {
        "SELECT CAST(t.table_name AS CHAR), CAST(c.constraint_name AS CHAR), CAST(c.check_clause AS CHAR) FROM information_schema.check_constraints c JOIN information_schema.table_constraints t ON t.constraint_schema = c.constraint_schema AND t.constraint_name = c.constraint_name AND t.constraint_type = 'CHECK' WHERE c.constraint_schema = DATABASE() ORDER BY 1, 2"
    };
    for row in rows(conn, checks.into(), "check constraints").await? {
        let Some(t) = tables.get_mut(&text(&row, 0)) else {
            continue;
        };
        let clause = text(&row, 2);
        let name = text(&row, 1);
        // A column's own check (MariaDB names it after the column) is unnamed
        // in the model: it is part of the column, which a MODIFY rewrites.
        let (name, columns) = if text(&row, 3) == "Column" {
            (String::new(), vec![name])
        } else {
            let columns = t
                .columns
                .iter()
                .filter(|c| migrate_core::schema::text::mentions(&clause, &c.name))
                .map(|c| c.name.clone())
                .collect();
            (name, columns)
        };
        t.constraints.push(Constraint {
            name,
            kind: ConstraintKind::Check,
            definition: format!("CHECK ({clause})"),
            columns,
            references: None,
            index: None,
        });
    }
    Ok(())
}

/// The views, with the database's name `db` cut from their text.
async fn read_views(conn: &mut dyn Backend, schema: &mut Schema, db: &str) -> Result<()> {
    for row in rows(
        conn,
        "SELECT CAST(table_name AS CHAR), CAST(view_definition AS CHAR) FROM information_schema.views WHERE table_schema = DATABASE() ORDER BY table_name".into(),
        "views",
    )
    .await?
    {
        let name = text(&row, 0);
        let body = unqualified(&text(&row, 1), db);
        schema.views.insert(
            name.clone(),
            Object {
                definition: format!("CREATE VIEW {} AS {}", q(&name), body.trim()),
                name,
                table: None,
                drop_as: None,
            },
        );
    }
    Ok(())
}

/// What is not generated (triggers, routines, events), in `others`.
async fn read_others(conn: &mut dyn Backend, schema: &mut Schema, db: &str) -> Result<()> {
    let others = [
        (
            "triggers",
            "SELECT CONCAT('trigger \"', CAST(trigger_name AS CHAR), '\"'), CAST(CONCAT_WS(' ', action_timing, event_manipulation, 'ON', event_object_table, action_order, action_statement) AS CHAR) FROM information_schema.triggers WHERE trigger_schema = DATABASE()",
        ),
        (
            "routines",
            "SELECT CONCAT(LOWER(CAST(routine_type AS CHAR)), ' \"', CAST(routine_name AS CHAR), '\"'), CAST(CONCAT_WS(' ', dtd_identifier, is_deterministic, sql_data_access, security_type, routine_definition) AS CHAR) FROM information_schema.routines WHERE routine_schema = DATABASE()",
        ),
        (
            "events",
            "SELECT CONCAT('event \"', CAST(event_name AS CHAR), '\"'), CAST(CONCAT_WS(' ', event_type, execute_at, interval_value, interval_field, status, event_definition) AS CHAR) FROM information_schema.events WHERE event_schema = DATABASE()",
        ),
    ];
    for (what, sql) in others {
        for row in rows(conn, sql.into(), what).await? {
            schema.others.insert(text(&row, 0), unqualified(&text(&row, 1), db));
        }
    }
    Ok(())
}

/// Whether `index` is the name the server gives a foreign key's index when
/// the key had none: its first column's, `_2` … when taken.
fn auto_named(index: &str, first: &str) -> bool {
    index == first
        || index
            .strip_prefix(first)
            .and_then(|r| r.strip_prefix('_'))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A column's default as a column definition writes it. MariaDB reports
/// defaults as expressions (`'x'`, `current_timestamp()`, `NULL` for a
/// nullable column without one); MySQL reports a literal's bare value and
/// marks expressions `DEFAULT_GENERATED`.
fn column_default(value: Option<String>, extra: &str, data_type: &str, mariadb: bool) -> Option<String> {
    let v = value?;
    if mariadb {
        return (v != "NULL").then_some(v);
    }
    if extra.contains("default_generated") {
        let upper = v.to_ascii_uppercase();
        return Some(if upper.starts_with("CURRENT_TIMESTAMP") || v.starts_with('(') {
            v
        } else {
            format!("({v})")
        });
    }
    let numeric = matches!(
        data_type,
        "tinyint" | "smallint" | "mediumint" | "int" | "bigint" | "decimal" | "float" | "double" | "bit" | "year"
    );
    Some(if numeric && v.parse::<f64>().is_ok() {
        v
    } else {
        lit(&v)
    })
}
