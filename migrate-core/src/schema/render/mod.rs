//! A [`Diff`] written as the statements of one dialect.
//!
//! The order is fixed: views and triggers that could stand in the way are
//! dropped first; sequences, enum types and functions are created before
//! the tables that use them; foreign keys are dropped before the tables and
//! columns they name, and added after every table exists; constraints and
//! indexes are renamed (PostgreSQL) once what goes is gone; what is dropped
//! goes last, sequences after the tables; triggers and views are created at
//! the end. On MySQL, whose DDL
//! commits as it goes, every change is a statement of its own, so a failure
//! part-way stops between two whole changes.

use super::Dialect;
use super::compare::{Diff, TableDiff, deferrability_only};
use super::model::{
    Column, Constraint, ConstraintKind, EnumType, Index, Object, Schema, Table, is_serial, serial_sequence_name,
};
use super::text::mentions;
use std::collections::BTreeSet;

mod columns;
mod functions;
mod leaning;
mod partitions;
mod sequences;
mod sqlite;
mod types;
use functions::{create_functions, drop_functions, dropped_after, made_after, remakes};

pub use types::widens;

/// One generated statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The SQL, without its `;`.
    pub sql: String,
    /// Why a person should read it before it runs (it can lose data or fail on existing rows).
    pub review: Option<String>,
    /// A plain remark written above it.
    pub note: Option<String>,
}

/// The statements of one direction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// In the order they run.
    pub statements: Vec<Statement>,
    /// SQLite: a table is rebuilt, so the migration needs `-- migrate:foreign-keys-off`.
    pub foreign_keys_off: bool,
}

impl Rendered {
    /// The statements as a migration section: each `-- REVIEW:` and note
    /// above its statement, each statement ended by `;` on its own line.
    pub fn sql(&self) -> String {
        let mut out = String::new();
        for s in &self.statements {
            if let Some(n) = &s.note {
                out.push_str(&format!("-- {n}\n"));
            }
            if let Some(r) = &s.review {
                out.push_str(&format!("-- REVIEW: {r}\n"));
            }
            out.push_str(&s.sql);
            out.push_str(";\n");
        }
        out
    }
}

struct Writer<'a> {
    d: Dialect,
    before: &'a Schema,
    after: &'a Schema,
    out: Rendered,
}

fn stmt(sql: String) -> Statement {
    Statement {
        sql,
        review: None,
        note: None,
    }
}

impl Writer<'_> {
    fn q(&self, name: &str) -> String {
        self.d.ident(name)
    }

    fn push(&mut self, sql: String) {
        self.out.statements.push(stmt(sql));
    }

    fn review(&mut self, sql: String, why: String) {
        self.out.statements.push(Statement {
            sql,
            review: Some(why),
            note: None,
        });
    }

    fn alter(&self, table: &str, what: &str) -> String {
        format!("ALTER TABLE {} {what}", self.q(table))
    }

    /// A column as `CREATE TABLE` and `ADD COLUMN` write it.
    fn column(&self, c: &Column) -> String {
        if self.d == Dialect::Sqlite {
            if let Some(sql) = &c.sql {
                return sql.clone();
            }
        }
        let mut s = format!("{} {}", self.q(&c.name), c.data_type);
        if let Some(g) = &c.generated {
            s.push_str(&format!(" {g}"));
            if self.d == Dialect::Mysql {
                return s;
            }
        }
        if self.d == Dialect::Mysql {
            s.push_str(if c.nullable { " NULL" } else { " NOT NULL" });
            if let Some(d) = &c.default {
                s.push_str(&format!(" DEFAULT {d}"));
            }
            if let Some(i) = &c.identity {
                s.push_str(&format!(" {i}"));
            }
            return s;
        }
        if let Some(i) = &c.identity {
            s.push_str(&format!(" {i}"));
        }
        if let Some(d) = &c.default {
            s.push_str(&format!(" DEFAULT {d}"));
        }
        if !c.nullable {
            s.push_str(" NOT NULL");
        }
        s
    }

    /// A column with its own CHECKs (MariaDB's column-level checks, which a
    /// `MODIFY` that leaves them out drops).
    fn column_in(&self, t: &Table, c: &Column) -> String {
        let mut s = self.column(c);
        for k in &t.constraints {
            if mysql_column_check(self.d, t, k).is_some_and(|x| x.name == c.name) {
                s.push_str(&format!(" {}", k.definition));
            }
        }
        s
    }

    fn add_constraint(&mut self, table: &str, c: &Constraint) {
        if let (Dialect::Mysql, ConstraintKind::ForeignKey, Some(index)) = (self.d, c.kind, &c.index) {
            // The key's index under the name it has in the schema read (else the server names it).
            let columns: Vec<String> = c.columns.iter().map(|x| self.q(x)).collect();
            let sql = format!(
                "CREATE INDEX {} ON {} ({})",
                self.q(index),
                self.q(table),
                columns.join(", ")
            );
            self.push(sql);
        }
        let what = if self.d == Dialect::Mysql && c.kind == ConstraintKind::PrimaryKey || c.name.is_empty() {
            format!("ADD {}", c.definition)
        } else {
            format!("ADD CONSTRAINT {} {}", self.q(&c.name), c.definition)
        };
        let sql = self.alter(table, &what);
        self.push(sql);
    }

    fn drop_constraint(&mut self, table: &str, c: &Constraint) {
        let what = match (self.d, c.kind) {
            (Dialect::Mysql, ConstraintKind::PrimaryKey) => "DROP PRIMARY KEY".to_owned(),
            (Dialect::Mysql, ConstraintKind::ForeignKey) => format!("DROP FOREIGN KEY {}", self.q(&c.name)),
            _ => format!("DROP CONSTRAINT {}", self.q(&c.name)),
        };
        let sql = self.alter(table, &what);
        self.push(sql);
        if let Some(index) = &c.index {
            let sql = self.alter(table, &format!("DROP INDEX {}", self.q(index)));
            self.push(sql);
        }
    }

    fn drop_index(&mut self, table: &str, name: &str) {
        let sql = match self.d {
            Dialect::Mysql => format!("DROP INDEX {} ON {}", self.q(name), self.q(table)),
            _ => format!("DROP INDEX {}", self.q(name)),
        };
        self.push(sql);
    }

    fn create_table(&mut self, t: &Table) {
        if self.d == Dialect::Sqlite {
            if let Some(sql) = &t.sql {
                self.push(sql.clone());
                for i in &t.indexes {
                    self.push(i.definition.clone());
                }
                return;
            }
        }
        let mut items: Vec<String> = t
            .columns
            .iter()
            .map(|c| format!("    {}", self.column_in(t, c)))
            .collect();
        let apart = self.keys_apart(t);
        for c in t
            .constraints
            .iter()
            .filter(|c| c.kind != ConstraintKind::ForeignKey || self.d == Dialect::Sqlite)
            .filter(|c| mysql_column_check(self.d, t, c).is_none())
            .filter(|c| !apart.iter().any(|a| std::ptr::eq(*a, *c)))
        {
            items.push(
                if c.name.is_empty() || self.d == Dialect::Mysql && c.kind == ConstraintKind::PrimaryKey {
                    format!("    {}", c.definition)
                } else {
                    format!("    CONSTRAINT {} {}", self.q(&c.name), c.definition)
                },
            );
        }
        // A partition: its parent's columns; what is its own comes after.
        let parent = t.partition_of.as_ref().map(|o| self.q(&o.parent)).unwrap_or_default();
        let create = partitions::create_table(t, &self.q(&t.name), &parent, &items);
        self.push(create);
        for c in apart {
            self.add_constraint(&t.name, c);
        }
        for i in &t.indexes {
            self.push(i.definition.clone());
        }
    }

    /// PostgreSQL: the keys of `t` that `CREATE TABLE` would fold into an
    /// earlier one on the same columns (a `UNIQUE (id)` beside the `PRIMARY
    /// KEY (id)`, a second `UNIQUE (a)`), which `ALTER TABLE` adds apart.
    fn keys_apart<'t>(&self, t: &'t Table) -> Vec<&'t Constraint> {
        if self.d != Dialect::Postgres {
            return Vec::new();
        }
        let keys = |kind| t.constraints.iter().filter(move |c: &&Constraint| c.kind == kind);
        let mut inline: Vec<&[String]> = Vec::new();
        let mut apart = Vec::new();
        for c in keys(ConstraintKind::PrimaryKey).chain(keys(ConstraintKind::Unique)) {
            if inline.contains(&c.columns.as_slice()) {
                apart.push(c);
            } else {
                inline.push(&c.columns);
            }
        }
        apart
    }
}

/// MySQL: the column whose own CHECK `c` is (MariaDB reports a column-level
/// check unnamed in the model: `ALTER TABLE … DROP CONSTRAINT` cannot drop it).
fn mysql_column_check<'t>(d: Dialect, table: &'t Table, c: &Constraint) -> Option<&'t Column> {
    if d != Dialect::Mysql || c.kind != ConstraintKind::Check || !c.name.is_empty() || c.columns.len() != 1 {
        return None;
    }
    table.column(&c.columns[0])
}

/// Orders views so that each comes after the views it reads.
fn in_dependency_order(views: Vec<&Object>) -> Vec<&Object> {
    let mut left = views;
    let mut out: Vec<&Object> = Vec::new();
    while !left.is_empty() {
        let ready = left
            .iter()
            .position(|v| {
                !left
                    .iter()
                    .any(|o| o.name != v.name && mentions(&v.definition, &o.name))
            })
            .unwrap_or(0);
        out.push(left.remove(ready));
    }
    out
}

/// The statements that turn `before` into `after`, as `diff` (made by
/// [`compare`](super::compare) of the two) describes it.
pub fn render(d: Dialect, diff: &Diff<'_>, before: &Schema, after: &Schema) -> Rendered {
    let mut w = Writer {
        d,
        before,
        after,
        out: Rendered::default(),
    };
    let rebuilt = rebuilt_tables(d, diff);
    // An extension's types and functions before anything that uses them.
    for e in &diff.extensions.added {
        w.push(e.definition.clone());
    }
    let dropped_views = views_in_the_way(d, diff, before);
    let kept_triggers = triggers_in_the_way(diff, before, &rebuilt);
    let [functions_before_views, functions_before_tables, functions_last] = dropped_after(d, diff, &dropped_views);
    drop_functions(&mut w, &functions_before_views);
    drop_views(&mut w, &dropped_views);
    drop_triggers(&mut w, diff, &kept_triggers);
    free_sequence_names(&mut w, diff);
    sequences::create_and_change(&mut w, diff);
    create_or_change_enum_types(&mut w, diff);
    let [functions, after_tables, after_views] = made_after(d, diff);
    create_functions(&mut w, functions);
    let leaning = leaning::leaning(&w, diff);
    drop_foreign_keys(&mut w, diff);
    leaning::drop(&mut w, &leaning);
    free_key_and_index_names(&mut w, diff);
    rename_tables_and_columns(&mut w, diff, &rebuilt);
    drop_constraints_and_indexes(&mut w, diff, &rebuilt);
    rename_constraints_and_indexes(&mut w, diff);
    let held = create_tables(&mut w, diff, &after_tables);
    change_columns(&mut w, diff, &rebuilt);
    create_functions(&mut w, after_tables);
    add_held_back(&mut w, &held);
    add_constraints_and_indexes(&mut w, diff, &rebuilt);
    add_foreign_keys(&mut w, diff);
    leaning::add(&mut w, &leaning);
    sequences::own(&mut w, diff);
    drop_tables_types_and_functions(&mut w, diff, [functions_before_tables, functions_last]);
    sequences::drop(&mut w, diff);
    create_triggers_and_views(&mut w, diff, &rebuilt, (&dropped_views, &kept_triggers));
    create_functions(&mut w, after_views);
    for e in &diff.extensions.removed {
        let sql = format!("DROP EXTENSION {}", w.q(&e.name));
        w.review(sql, format!("drops extension \"{}\" and what is built on it", e.name));
    }
    w.out
}

/// SQLite: the changed tables that must be rebuilt rather than altered in place.
fn rebuilt_tables<'a>(d: Dialect, diff: &Diff<'a>) -> BTreeSet<&'a str> {
    if d != Dialect::Sqlite {
        return BTreeSet::new();
    }
    diff.tables_changed
        .iter()
        .filter(|t| !sqlite::in_place(t))
        .map(|t| t.after.name.as_str())
        .collect()
}

/// Views that are removed, change, read a table that changes or call a
/// function dropped and made again; and those reading them.
fn views_in_the_way<'a>(d: Dialect, diff: &Diff<'a>, before: &'a Schema) -> BTreeSet<&'a str> {
    let touched: Vec<&str> = diff
        .tables_removed
        .iter()
        .map(|t| t.name.as_str())
        // A function dropped and made again ([`remakes`]) cannot be while a view calls it.
        .chain(
            diff.functions
                .changed
                .iter()
                .filter(|(b, a)| remakes(d, b, a))
                .map(|(b, _)| b.name.as_str()),
        )
        .chain(diff.tables_changed.iter().map(|t| t.before.name.as_str()))
        .chain(diff.enums.changed.iter().map(|(b, _)| b.name.as_str()))
        .chain(
            // A recreated enum type changes the type of every column of it.
            diff.enums
                .changed
                .iter()
                .filter(|(b, a)| !keeps_in_order(b, a))
                .flat_map(|(b, _)| {
                    before
                        .tables
                        .values()
                        .filter(|t| t.columns.iter().any(|c| c.data_type == b.name))
                        .map(|t| t.name.as_str())
                }),
        )
        .collect();
    let mut dropped_views: BTreeSet<&str> = diff
        .views
        .removed
        .iter()
        .map(|v| v.name.as_str())
        .chain(diff.views.changed.iter().map(|(b, _)| b.name.as_str()))
        .collect();
    for v in before.views.values() {
        if touched.iter().any(|t| mentions(&v.definition, t)) {
            dropped_views.insert(&v.name);
        }
    }
    loop {
        let more: Vec<&str> = before
            .views
            .values()
            .filter(|v| !dropped_views.contains(v.name.as_str()))
            .filter(|v| dropped_views.iter().any(|x| mentions(&v.definition, x)))
            .map(|v| v.name.as_str())
            .collect();
        if more.is_empty() {
            return dropped_views;
        }
        dropped_views.extend(more);
    }
}

/// SQLite: the triggers of tables not rebuilt whose bodies read a table that
/// is (its old table dropped, the new one renamed to its name, which SQLite
/// refuses while a trigger names it), and that the change keeps as they are:
/// dropped first and made again after, as SQLite's own procedure for
/// changing a table says.
fn triggers_in_the_way<'a>(diff: &Diff<'a>, before: &'a Schema, rebuilt: &BTreeSet<&str>) -> BTreeSet<&'a str> {
    let changing = |name: &str| {
        diff.triggers.removed.iter().any(|t| t.name == name)
            || diff.triggers.changed.iter().any(|(b, _)| b.name == name)
    };
    let on_gone_or_rebuilt = |table: Option<&str>| {
        table.is_some_and(|x| rebuilt.contains(x) || diff.tables_removed.iter().any(|t| t.name == x))
    };
    before
        .triggers
        .values()
        .filter(|t| !changing(&t.name) && !on_gone_or_rebuilt(t.table.as_deref()))
        .filter(|t| {
            diff.tables_changed
                .iter()
                .filter(|x| rebuilt.contains(x.after.name.as_str()))
                .any(|x| mentions(&t.definition, &x.before.name) || mentions(&t.definition, &x.after.name))
        })
        .map(|t| t.name.as_str())
        .collect()
}

/// Step 1: The views in the way, each before the views it reads.
fn drop_views(w: &mut Writer<'_>, dropped_views: &BTreeSet<&str>) {
    let mut order = in_dependency_order(
        w.before
            .views
            .values()
            .filter(|v| dropped_views.contains(v.name.as_str()))
            .collect(),
    );
    order.reverse();
    for v in order {
        w.push(format!("DROP VIEW {}", w.q(&v.name)));
    }
}

/// Step 2: Triggers removed or changed (those of a dropped table go with
/// it), and those in the way of a rebuilt table ([`triggers_in_the_way`]).
fn drop_triggers(w: &mut Writer<'_>, diff: &Diff<'_>, in_the_way: &BTreeSet<&str>) {
    let before = w.before;
    for t in diff
        .triggers
        .removed
        .iter()
        .copied()
        .chain(diff.triggers.changed.iter().map(|(b, _)| *b))
        .chain(
            before
                .triggers
                .values()
                .filter(|t| in_the_way.contains(t.name.as_str())),
        )
    {
        let on_dropped_table = diff.tables_removed.iter().any(|x| Some(&x.name) == t.table.as_ref());
        if on_dropped_table {
            continue;
        }
        let sql = match (w.d, &t.table) {
            (Dialect::Postgres, Some(table)) => format!("DROP TRIGGER {} ON {}", w.q(&t.name), w.q(table)),
            _ => format!("DROP TRIGGER {}", w.q(&t.name)),
        };
        w.push(sql);
    }
}

/// Step 2a (PostgreSQL): the names a table going away holds that the new
/// schema gives something else. Its indexes, its primary and unique keys'
/// indexes and its serial columns' sequences share one namespace with every
/// table, view, index and sequence of the schema, and the table is dropped
/// late (step 12): what takes one of its names (a new table keeping a key's
/// name, as a table made again under another name does) would be refused.
/// Here its serial columns' sequences, before sequences are made, each once
/// its column no longer draws from it; [`free_key_and_index_names`] the rest.
fn free_sequence_names(w: &mut Writer<'_>, diff: &Diff<'_>) {
    let Some(taken) = names_to_free(w, diff) else { return };
    let mut owned: Vec<(&str, &str, String)> = Vec::new();
    for t in &diff.tables_removed {
        for c in t.columns.iter().filter(|c| is_serial(&c.data_type)) {
            owned.push((&t.name, &c.name, serial_sequence_name(&t.name, &c.name)));
        }
    }
    // A sequence of its own that a column of the table owns goes with it too (step 12 leaves it).
    for s in &diff.sequences.removed {
        if let Some((table, column)) = &s.owned_by {
            if diff.tables_removed.iter().any(|t| t.name == *table) {
                owned.push((table, column, s.name.clone()));
            }
        }
    }
    for (table, column, sequence) in owned {
        if taken.contains(sequence.as_str()) {
            let sql = w.alter(table, &format!("ALTER COLUMN {} DROP DEFAULT", w.q(column)));
            w.push(sql);
            w.push(format!("DROP SEQUENCE {}", w.q(&sequence)));
        }
    }
}

/// Step 5a (PostgreSQL): as [`free_sequence_names`], the indexes and the
/// keys (with their indexes) of tables going away, once the foreign keys
/// that need those keys are gone (step 5).
fn free_key_and_index_names(w: &mut Writer<'_>, diff: &Diff<'_>) {
    let Some(taken) = names_to_free(w, diff) else { return };
    for t in &diff.tables_removed {
        for c in &t.constraints {
            let keyed = matches!(c.kind, ConstraintKind::PrimaryKey | ConstraintKind::Unique);
            if keyed && taken.contains(c.name.as_str()) {
                w.drop_constraint(&t.name, c);
            }
        }
        for i in t.indexes.iter().filter(|i| taken.contains(i.name.as_str())) {
            w.drop_index(&t.name, &i.name);
        }
    }
}

/// PostgreSQL, with tables going away: the relation names of the new schema.
fn names_to_free(w: &Writer<'_>, diff: &Diff<'_>) -> Option<BTreeSet<String>> {
    (w.d == Dialect::Postgres && !diff.tables_removed.is_empty()).then(|| relation_names(w.after))
}

/// PostgreSQL: the names `schema` gives relations (tables, views, indexes,
/// the indexes of primary and unique keys, sequences, serial columns' own).
fn relation_names(schema: &Schema) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = schema.tables.keys().chain(schema.views.keys()).cloned().collect();
    names.extend(schema.sequences.keys().cloned());
    for t in schema.tables.values() {
        names.extend(
            t.constraints
                .iter()
                .filter(|c| matches!(c.kind, ConstraintKind::PrimaryKey | ConstraintKind::Unique))
                .map(|c| c.name.clone()),
        );
        names.extend(t.indexes.iter().map(|i| i.name.clone()));
        names.extend(
            t.columns
                .iter()
                .filter(|c| is_serial(&c.data_type))
                .map(|c| serial_sequence_name(&t.name, &c.name)),
        );
    }
    names
}

/// Step 3: Enum types: created, given values, or recreated when a value goes.
fn create_or_change_enum_types(w: &mut Writer<'_>, diff: &Diff<'_>) {
    for e in &diff.enums.added {
        let values: Vec<String> = e.values.iter().map(|v| w.d.literal(v)).collect();
        w.push(format!("CREATE TYPE {} AS ENUM ({})", w.q(&e.name), values.join(", ")));
    }
    for (b, a) in &diff.enums.changed {
        enum_change(w, b, a);
    }
}

/// Step 5: Foreign keys going away, before the tables and columns they name
/// (SQLite's go with their table's rebuild).
fn drop_foreign_keys(w: &mut Writer<'_>, diff: &Diff<'_>) {
    if w.d == Dialect::Sqlite {
        return;
    }
    for t in &diff.tables_removed {
        for c in t.constraints.iter().filter(|c| c.kind == ConstraintKind::ForeignKey) {
            w.drop_constraint(&t.name, c);
        }
    }
    for t in &diff.tables_changed {
        for c in constraints_gone(w.d, t)
            .into_iter()
            .filter(|c| c.kind == ConstraintKind::ForeignKey)
            .filter(|c| deferrability_only(diff, t, c).is_none())
        {
            w.drop_constraint(&t.before.name, c);
        }
    }
}

/// The constraints of `t` to drop: those removed, and, where `d` cannot
/// rename one (all but PostgreSQL), those renamed, dropped to be added
/// again. MySQL's foreign keys with an index of their own last, so that the
/// others that use that index are gone when it is dropped.
fn constraints_gone<'a>(d: Dialect, t: &TableDiff<'a>) -> Vec<&'a Constraint> {
    let mut out = t.constraints_removed.clone();
    if d != Dialect::Postgres {
        out.extend(t.constraints_renamed.iter().map(|(b, _)| *b));
    }
    out.sort_by_key(|c| c.index.is_some());
    out
}

/// The constraints of `t` to add: those added, and those renamed where `d`
/// cannot rename. MySQL's foreign keys that come with an index of their own
/// first, so that one without reuses it rather than the server making one.
fn constraints_new<'a>(d: Dialect, t: &TableDiff<'a>) -> Vec<&'a Constraint> {
    let mut out = t.constraints_added.clone();
    if d != Dialect::Postgres {
        out.extend(t.constraints_renamed.iter().map(|(_, a)| *a));
    }
    out.sort_by_key(|c| c.index.is_none());
    out
}

/// The indexes of `t` to drop, as [`constraints_gone`].
fn indexes_gone<'a>(d: Dialect, t: &TableDiff<'a>) -> Vec<&'a Index> {
    let mut out = t.indexes_removed.clone();
    if d != Dialect::Postgres {
        out.extend(t.indexes_renamed.iter().map(|(b, _)| *b));
    }
    out
}

/// The indexes of `t` to create, as [`constraints_new`].
fn indexes_new<'a>(d: Dialect, t: &TableDiff<'a>) -> Vec<&'a Index> {
    let mut out = t.indexes_added.clone();
    if d != Dialect::Postgres {
        out.extend(t.indexes_renamed.iter().map(|(_, a)| *a));
    }
    out
}

/// Step 6: Renames: tables, then the columns of tables not rebuilt, each in
/// the order compare gave (a swap through a temporary name).
fn rename_tables_and_columns(w: &mut Writer<'_>, diff: &Diff<'_>, rebuilt: &BTreeSet<&str>) {
    for (from, to) in &diff.table_renames {
        let sql = w.alter(from, &format!("RENAME TO {}", w.q(to)));
        w.push(sql);
    }
    for t in diff
        .tables_changed
        .iter()
        .filter(|t| !rebuilt.contains(t.after.name.as_str()))
    {
        for (from, to) in &t.column_renames {
            let sql = w.alter(&t.after.name, &format!("RENAME COLUMN {} TO {}", w.q(from), w.q(to)));
            w.push(sql);
        }
    }
}

/// Step 7: Constraints and indexes going away, on tables not rebuilt.
fn drop_constraints_and_indexes(w: &mut Writer<'_>, diff: &Diff<'_>, rebuilt: &BTreeSet<&str>) {
    for t in diff
        .tables_changed
        .iter()
        .filter(|t| !rebuilt.contains(t.after.name.as_str()))
    {
        for c in constraints_gone(w.d, t)
            .into_iter()
            .filter(|c| c.kind != ConstraintKind::ForeignKey)
        {
            if let Some(col) = mysql_column_check(w.d, t.before, c) {
                // MariaDB: a column's own CHECK goes only with a MODIFY that leaves it out.
                let mut col = col.clone();
                col.name = t.new_name_of(&col.name).unwrap_or(&col.name).to_owned();
                let sql = w.alter(&t.after.name, &format!("MODIFY COLUMN {}", w.column(&col)));
                w.push(sql);
                continue;
            }
            w.drop_constraint(&t.after.name, c);
        }
        for i in indexes_gone(w.d, t) {
            w.drop_index(&t.after.name, &i.name);
        }
    }
}

/// Step 7a: PostgreSQL's renames of constraints and indexes (the other
/// dialects drop and add them), once what goes is gone.
fn rename_constraints_and_indexes(w: &mut Writer<'_>, diff: &Diff<'_>) {
    if w.d != Dialect::Postgres {
        return;
    }
    for s in &diff.name_steps {
        let sql = if s.index {
            format!("ALTER INDEX {} RENAME TO {}", w.q(&s.from), w.q(&s.to))
        } else {
            w.alter(
                &s.table,
                &format!("RENAME CONSTRAINT {} TO {}", w.q(&s.from), w.q(&s.to)),
            )
        };
        w.push(sql);
    }
}

/// Step 8: New tables (their foreign keys come in step 11, but on SQLite).
/// A check or an index that calls a function made after the tables (`late`,
/// its signature naming a new table's row type) is held back: returned, as
/// each table's, for after that function.
fn create_tables(w: &mut Writer<'_>, diff: &Diff<'_>, late: &[&Object]) -> Vec<Table> {
    // A partitioned table before its partitions (a partition may be partitioned in turn).
    let mut added: Vec<&Table> = diff.tables_added.clone();
    added.sort_by_key(|t| partitions::depth(t, &diff.tables_added));
    let calls_late = |definition: &str| late.iter().any(|f| mentions(definition, &f.name));
    let mut held = Vec::new();
    for t in added {
        let calls = |c: &Constraint| c.kind == ConstraintKind::Check && calls_late(&c.definition);
        if !t.constraints.iter().any(calls) && !t.indexes.iter().any(|i| calls_late(&i.definition)) {
            w.create_table(t);
            continue;
        }
        let (now, later): (Vec<Constraint>, Vec<Constraint>) = t.constraints.iter().cloned().partition(|c| !calls(c));
        let (indexes, later_indexes) = t.indexes.iter().cloned().partition(|i| !calls_late(&i.definition));
        w.create_table(&Table {
            constraints: now,
            indexes,
            ..t.clone()
        });
        held.push(Table {
            constraints: later,
            indexes: later_indexes,
            ..t.clone()
        });
    }
    held
}

/// Step 9a: What [`create_tables`] held back, once the functions it calls are made.
fn add_held_back(w: &mut Writer<'_>, held: &[Table]) {
    for t in held {
        for c in &t.constraints {
            w.add_constraint(&t.name, c);
        }
        for i in &t.indexes {
            w.push(i.definition.clone());
        }
    }
}

/// Step 9: Columns: SQLite's rebuilt tables whole, every other table column by column.
fn change_columns(w: &mut Writer<'_>, diff: &Diff<'_>, rebuilt: &BTreeSet<&str>) {
    for t in &diff.tables_changed {
        if rebuilt.contains(t.after.name.as_str()) {
            sqlite::rebuild(w, t);
        } else {
            columns::columns(w, t);
        }
    }
}

/// Step 10: Constraints and indexes added, on tables not rebuilt.
fn add_constraints_and_indexes(w: &mut Writer<'_>, diff: &Diff<'_>, rebuilt: &BTreeSet<&str>) {
    for t in diff
        .tables_changed
        .iter()
        .filter(|t| !rebuilt.contains(t.after.name.as_str()))
    {
        for c in constraints_new(w.d, t)
            .into_iter()
            .filter(|c| c.kind != ConstraintKind::ForeignKey)
        {
            if let Some(col) = mysql_column_check(w.d, t.after, c) {
                let sql = w.alter(&t.after.name, &format!("MODIFY COLUMN {}", w.column_in(t.after, col)));
                w.push(sql);
                continue;
            }
            w.add_constraint(&t.after.name, c);
        }
        for i in indexes_new(w.d, t) {
            w.push(i.definition.clone());
        }
    }
}

/// Step 11: Foreign keys added, now that every table exists (SQLite's are in
/// their table's definition).
fn add_foreign_keys(w: &mut Writer<'_>, diff: &Diff<'_>) {
    if w.d == Dialect::Sqlite {
        return;
    }
    for t in &diff.tables_added {
        for c in t.constraints.iter().filter(|c| c.kind == ConstraintKind::ForeignKey) {
            w.add_constraint(&t.name, c);
        }
    }
    for t in &diff.tables_changed {
        for c in constraints_new(w.d, t)
            .into_iter()
            .filter(|c| c.kind == ConstraintKind::ForeignKey)
        {
            let changed = t
                .constraints_removed
                .iter()
                .filter(|gone| gone.deferrability_changed_to(c).is_some())
                .find_map(|gone| deferrability_only(diff, t, gone));
            match changed {
                Some(clause) => {
                    let sql = w.alter(&t.after.name, &format!("ALTER CONSTRAINT {} {clause}", w.q(&c.name)));
                    w.push(sql);
                }
                None => w.add_constraint(&t.after.name, c),
            }
        }
    }
}

/// Step 12: Tables, enum types and functions going away, each for review,
/// the functions as [`dropped_after`] orders them around the others.
fn drop_tables_types_and_functions(w: &mut Writer<'_>, diff: &Diff<'_>, [first, last]: [Vec<&Object>; 2]) {
    // A check or an index of a table going away that calls one of the first
    // functions holds that function: dropped before it.
    let calls = |definition: &str| first.iter().any(|f| mentions(definition, &f.name));
    for t in &diff.tables_removed {
        for c in t
            .constraints
            .iter()
            .filter(|c| c.kind == ConstraintKind::Check && calls(&c.definition))
        {
            let sql = w.alter(&t.name, &format!("DROP CONSTRAINT {}", w.q(&c.name)));
            w.push(sql);
        }
        for i in t.indexes.iter().filter(|i| calls(&i.definition)) {
            w.push(format!("DROP INDEX {}", w.q(&i.name)));
        }
    }
    drop_functions(w, &first);
    // A partition before its partitioned table (dropping that one drops them).
    let mut removed: Vec<&Table> = diff.tables_removed.clone();
    removed.sort_by_key(|t| std::cmp::Reverse(partitions::depth(t, &diff.tables_removed)));
    for t in removed {
        w.review(
            format!("DROP TABLE {}", w.q(&t.name)),
            format!("drops table \"{}\" and every row in it", t.name),
        );
    }
    for e in &diff.enums.removed {
        w.review(
            format!("DROP TYPE {}", w.q(&e.name)),
            format!("drops enum type \"{}\"", e.name),
        );
    }
    drop_functions(w, &last);
}

/// Step 13: Triggers and views, last (a rebuilt table's triggers come with it).
fn create_triggers_and_views(
    w: &mut Writer<'_>,
    diff: &Diff<'_>,
    rebuilt: &BTreeSet<&str>,
    (dropped_views, kept_triggers): (&BTreeSet<&str>, &BTreeSet<&str>),
) {
    let after = w.after;
    for t in diff
        .triggers
        .added
        .iter()
        .copied()
        .chain(diff.triggers.changed.iter().map(|(_, a)| *a))
        .chain(
            after
                .triggers
                .values()
                .filter(|t| kept_triggers.contains(t.name.as_str())),
        )
    {
        if t.table.as_deref().is_some_and(|x| rebuilt.contains(x)) {
            continue;
        }
        w.push(t.definition.trim().trim_end_matches(';').to_owned());
    }
    let recreate: Vec<&Object> = w
        .after
        .views
        .values()
        .filter(|v| dropped_views.contains(v.name.as_str()) || diff.views.added.iter().any(|a| a.name == v.name))
        .collect();
    for v in in_dependency_order(recreate) {
        w.push(v.definition.trim().trim_end_matches(';').to_owned());
    }
}

/// Whether `a` has every value of `b` in `b`'s order (so values can be added in place).
fn keeps_in_order(b: &EnumType, a: &EnumType) -> bool {
    let mut it = a.values.iter();
    b.values.iter().all(|v| it.any(|x| x == v))
}

fn enum_change(w: &mut Writer<'_>, b: &EnumType, a: &EnumType) {
    let d = w.d;
    if keeps_in_order(b, a) {
        for (i, v) in a.values.iter().enumerate() {
            if b.values.contains(v) {
                continue;
            }
            // After the value before it (added just now, or there already); the
            // first goes before the first value the type already has.
            let place = match i.checked_sub(1).and_then(|p| a.values.get(p)) {
                Some(prev) => format!(" AFTER {}", d.literal(prev)),
                None => match a.values.iter().find(|x| b.values.contains(x)) {
                    Some(next) => format!(" BEFORE {}", d.literal(next)),
                    None => String::new(),
                },
            };
            w.push(format!("ALTER TYPE {} ADD VALUE {}{place}", w.q(&a.name), d.literal(v)));
        }
        return;
    }
    // A value goes or the order changes: a new type, every column moved to it.
    let old = format!("{}_old", a.name);
    let removed: Vec<&String> = b.values.iter().filter(|v| !a.values.contains(v)).collect();
    w.review(
        format!("ALTER TYPE {} RENAME TO {}", w.q(&a.name), w.q(&old)),
        format!(
            "recreates enum type \"{}\"{}: a row that holds a value the new type lacks makes the migration fail",
            a.name,
            if removed.is_empty() {
                String::new()
            } else {
                format!(
                    " without {}",
                    removed.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", ")
                )
            }
        ),
    );
    let values: Vec<String> = a.values.iter().map(|v| d.literal(v)).collect();
    w.push(format!("CREATE TYPE {} AS ENUM ({})", w.q(&a.name), values.join(", ")));
    for t in w.before.tables.values() {
        let array = format!("{}[]", a.name);
        for c in t
            .columns
            .iter()
            .filter(|c| c.data_type == a.name || c.data_type == array)
        {
            let (via, to) = if c.data_type == array {
                ("text[]", format!("{}[]", w.q(&a.name)))
            } else {
                ("text", w.q(&a.name))
            };
            let after_default = w
                .after
                .tables
                .get(&t.name)
                .and_then(|t| t.column(&c.name))
                .and_then(|c| c.default.clone());
            if c.default.is_some() {
                let sql = w.alter(&t.name, &format!("ALTER COLUMN {} DROP DEFAULT", w.q(&c.name)));
                w.push(sql);
            }
            let sql = w.alter(
                &t.name,
                &format!(
                    "ALTER COLUMN {col} TYPE {to} USING {col}::{via}::{to}",
                    col = w.q(&c.name)
                ),
            );
            w.push(sql);
            if let Some(def) = after_default.or_else(|| c.default.clone()) {
                let sql = w.alter(&t.name, &format!("ALTER COLUMN {} SET DEFAULT {def}", w.q(&c.name)));
                w.push(sql);
            }
        }
    }
    w.push(format!("DROP TYPE {}", w.q(&old)));
}
