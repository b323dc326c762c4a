//! SQLite: `sqlite_schema` for tables, views, triggers and indexes (with the
//! statements as stored), `pragma_table_xinfo`, `pragma_index_list`,
//! `pragma_index_info` and `pragma_foreign_key_list` for what SQLite parsed
//! of them; CHECK clauses and generated expressions, which no pragma reports,
//! from the stored statement.

use super::{opt, rows, text};
use crate::dialect::HistorySql;
use crate::driver::Backend;
use crate::error::Result;
use migrate_core::schema::text::{
    checks, column_name, constraint_name, generated_clause, has_word, is_table_constraint, mentions, normalize,
    table_text,
};
use migrate_core::schema::{Column, Constraint, ConstraintKind, Dialect, Index, Object, Schema, Table};

fn lit(s: &str) -> String {
    Dialect::Sqlite.quote_text(s)
}

/// The schema of the main database.
pub(super) async fn read(conn: &mut dyn Backend) -> Result<Schema> {
    let mut schema = Schema::default();
    let objects = rows(
        conn,
        "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name".into(),
        "sqlite_schema",
    )
    .await?;
    for row in &objects {
        let (kind, name, table, sql) = (text(row, 0), text(row, 1), text(row, 2), text(row, 3));
        match kind.as_str() {
            "table" if sql.to_ascii_uppercase().starts_with("CREATE VIRTUAL TABLE") => {
                schema
                    .others
                    .insert(format!("virtual table \"{name}\""), normalize(&sql));
            }
            "table" => {
                let t = read_table(conn, &name, &sql, &objects).await?;
                schema.tables.insert(name, t);
            }
            "view" => {
                schema.views.insert(
                    name.clone(),
                    Object {
                        name,
                        table: None,
                        definition: sql,
                        drop_as: None,
                    },
                );
            }
            "trigger" => {
                schema.triggers.insert(
                    name.clone(),
                    Object {
                        name,
                        table: Some(table),
                        definition: sql,
                        drop_as: None,
                    },
                );
            }
            _ => {}
        }
    }
    Ok(schema)
}

/// The table `name` whose statement is `sql`; `objects` is all of `sqlite_schema`.
async fn read_table(conn: &mut dyn Backend, name: &str, sql: &str, objects: &[Vec<Option<String>>]) -> Result<Table> {
    let parsed = table_text(sql);
    let items = parsed.as_ref().map(|p| p.items.clone()).unwrap_or_default();
    let mut t = Table {
        name: name.to_owned(),
        autoincrement: has_word(sql, "autoincrement"),
        sql: Some(sql.to_owned()),
        ..Table::default()
    };
    read_columns(conn, &mut t, &items).await?;
    read_indexes(conn, &mut t, objects).await?;
    read_foreign_keys(conn, &mut t, &items).await?;
    add_checks(&mut t, &items);
    Ok(t)
}

/// The columns of `t` and its primary key, with each column's clause of `items`.
async fn read_columns(conn: &mut dyn Backend, t: &mut Table, items: &[String]) -> Result<()> {
    let name = t.name.clone();
    let item_of = |column: &str| {
        items
            .iter()
            .find(|i| column_name(i).is_some_and(|c| c.eq_ignore_ascii_case(column)))
            .cloned()
    };
    let cols = rows(
        conn,
        format!(
            "SELECT name, type, CAST(\"notnull\" AS TEXT), dflt_value, CAST(pk AS TEXT), CAST(hidden AS TEXT) FROM pragma_table_xinfo({}) ORDER BY cid",
            lit(&name)
        ),
        &format!("the columns of \"{name}\""),
    )
    .await?;
    let mut pk: Vec<(u32, String)> = Vec::new();
    for row in &cols {
        let column = text(row, 0);
        let hidden = text(row, 5);
        let item = item_of(&column);
        let generated = match hidden.as_str() {
            "2" | "3" => item.as_deref().and_then(generated_clause),
            _ => None,
        };
        if let Ok(n) = text(row, 4).parse::<u32>() {
            if n > 0 {
                pk.push((n, column.clone()));
            }
        }
        t.columns.push(Column {
            name: column,
            data_type: text(row, 1),
            nullable: text(row, 2) == "0",
            default: opt(row, 3),
            identity: None,
            generated,
            sql: item,
        });
    }
    if !pk.is_empty() {
        pk.sort();
        let columns: Vec<String> = pk.into_iter().map(|(_, c)| c).collect();
        t.constraints.push(Constraint {
            name: String::new(),
            kind: ConstraintKind::PrimaryKey,
            definition: format!("PRIMARY KEY ({})", list(&columns)),
            columns,
            references: None,
            index: None,
        });
    }
    Ok(())
}

/// The UNIQUE constraints and the created indexes of `t`, their statements from `objects`.
async fn read_indexes(conn: &mut dyn Backend, t: &mut Table, objects: &[Vec<Option<String>>]) -> Result<()> {
    let name = t.name.clone();
    let indexes = rows(
        conn,
        format!(
            "SELECT name, origin FROM pragma_index_list({}) ORDER BY name",
            lit(&name)
        ),
        &format!("the indexes of \"{name}\""),
    )
    .await?;
    for row in &indexes {
        let (index, origin) = (text(row, 0), text(row, 1));
        let columns: Vec<String> = rows(
            conn,
            format!("SELECT name FROM pragma_index_info({}) ORDER BY seqno", lit(&index)),
            &format!("the columns of index \"{index}\""),
        )
        .await?
        .iter()
        .map(|r| text(r, 0))
        .collect();
        match origin.as_str() {
            "u" => t.constraints.push(Constraint {
                name: String::new(),
                kind: ConstraintKind::Unique,
                definition: format!("UNIQUE ({})", list(&columns)),
                columns,
                references: None,
                index: None,
            }),
            "c" => {
                let definition = objects
                    .iter()
                    .find(|o| text(o, 0) == "index" && text(o, 1) == index)
                    .map(|o| text(o, 3))
                    .unwrap_or_default();
                t.indexes.push(Index {
                    name: index,
                    columns,
                    definition,
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// The foreign keys of `t`, each from its rows of `pragma_foreign_key_list`.
async fn read_foreign_keys(conn: &mut dyn Backend, t: &mut Table, items: &[String]) -> Result<()> {
    let name = t.name.clone();
    let fks = rows(
        conn,
        format!(
            "SELECT CAST(id AS TEXT), \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list({}) ORDER BY id, seq",
            lit(&name)
        ),
        &format!("the foreign keys of \"{name}\""),
    )
    .await?;
    let mut groups: Vec<Vec<&Vec<Option<String>>>> = Vec::new();
    let mut i = 0;
    while i < fks.len() {
        let id = text(&fks[i], 0);
        let group: Vec<&Vec<Option<String>>> = fks[i..].iter().take_while(|r| text(r, 0) == id).collect();
        i += group.len();
        groups.push(group);
    }
    // The pragma numbers the keys from the last declared: each is read from
    // its own clause, in the statement's order, two alike from two clauses.
    let mut used = vec![false; items.len()];
    let mut keys: Vec<Constraint> = groups.iter().rev().map(|g| foreign_key(g, items, &mut used)).collect();
    keys.reverse();
    t.constraints.extend(keys);
    Ok(())
}

/// The foreign key of the pragma rows `group` (one key's), its name and
/// deferrability from the first clause of `items` that declares it and is
/// not `used` by another key.
fn foreign_key(group: &[&Vec<Option<String>>], items: &[String], used: &mut [bool]) -> Constraint {
    let target = text(group[0], 1);
    let from: Vec<String> = group.iter().map(|r| text(r, 2)).collect();
    let to: Vec<String> = group.iter().filter_map(|r| opt(r, 3)).collect();
    let mut definition = format!(
        "FOREIGN KEY ({}) REFERENCES {}",
        list(&from),
        Dialect::Sqlite.ident(&target)
    );
    if !to.is_empty() {
        definition.push_str(&format!(" ({})", list(&to)));
    }
    for (what, action) in [("ON UPDATE", text(group[0], 4)), ("ON DELETE", text(group[0], 5))] {
        if action != "NO ACTION" && !action.is_empty() {
            definition.push_str(&format!(" {what} {action}"));
        }
    }
    // Deferrability is not in the pragma: read it from the clause that declares this key.
    let at = (0..items.len()).find(|&i| {
        let item = &items[i];
        !used[i]
            && has_word(item, "references")
            && mentions(item, &target)
            && (is_table_constraint(item) && from.iter().all(|c| mentions(item, c))
                || column_name(item).is_some_and(|c| from.len() == 1 && c.eq_ignore_ascii_case(&from[0])))
    });
    if let Some(i) = at {
        used[i] = true;
    }
    let declared = at.map(|i| &items[i]);
    if declared.is_some_and(|item| normalize(item).contains("deferrable initially deferred")) {
        definition.push_str(" DEFERRABLE INITIALLY DEFERRED");
    }
    Constraint {
        name: declared.and_then(|d| constraint_name(d)).unwrap_or_default(),
        kind: ConstraintKind::ForeignKey,
        columns: from,
        references: Some(target),
        definition,
        index: None,
    }
}

/// The CHECK constraints of `t`, from its statement's `items` (no pragma reports them).
fn add_checks(t: &mut Table, items: &[String]) {
    for item in items {
        for check in checks(item) {
            let columns = t
                .columns
                .iter()
                .filter(|c| mentions(&check, &c.name))
                .map(|c| c.name.clone())
                .collect();
            t.constraints.push(Constraint {
                name: constraint_name(item)
                    .filter(|_| is_table_constraint(item))
                    .unwrap_or_default(),
                kind: ConstraintKind::Check,
                definition: format!("CHECK ({check})"),
                columns,
                references: None,
                index: None,
            });
        }
    }
}

fn list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| Dialect::Sqlite.ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}
