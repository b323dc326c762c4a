//! Two schemas matched: what was added, removed, renamed and changed.

use super::model::{Column, Constraint, EnumType, Index, Object, Schema, Table};
use super::renames::{RENAMED_FROM, Renames};
use std::collections::{BTreeMap, BTreeSet};

/// What changes between two schemas. Everything is in name order, so the
/// same two schemas always give the same statements.
#[derive(Debug, Clone, Default)]
pub struct Diff<'a> {
    /// Tables only the later schema has.
    pub tables_added: Vec<&'a Table>,
    /// Tables only the earlier schema has.
    pub tables_removed: Vec<&'a Table>,
    /// Tables both have (under a new name when renamed) that differ.
    pub tables_changed: Vec<TableDiff<'a>>,
    /// Views.
    pub views: Changes<'a, Object>,
    /// PostgreSQL functions.
    pub functions: Changes<'a, Object>,
    /// Triggers.
    pub triggers: Changes<'a, Object>,
    /// PostgreSQL enum types.
    pub enums: Changes<'a, EnumType>,
    /// Objects the generator does not write that differ, as `kind name (added|removed|changed)`.
    pub not_generated: Vec<String>,
}

/// Objects of one kind added, removed, and changed (earlier, later).
#[derive(Debug, Clone)]
pub struct Changes<'a, T> {
    /// Only in the later schema.
    pub added: Vec<&'a T>,
    /// Only in the earlier schema.
    pub removed: Vec<&'a T>,
    /// In both, different.
    pub changed: Vec<(&'a T, &'a T)>,
}

impl<T> Default for Changes<'_, T> {
    fn default() -> Self {
        Changes {
            added: Vec::new(),
            removed: Vec::new(),
            changed: Vec::new(),
        }
    }
}

impl<T> Changes<'_, T> {
    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// One table in both schemas, and how it differs.
#[derive(Debug, Clone)]
pub struct TableDiff<'a> {
    /// The table in the earlier schema.
    pub before: &'a Table,
    /// The table in the later schema (its name differs when it was renamed).
    pub after: &'a Table,
    /// Columns only the later table has.
    pub columns_added: Vec<&'a Column>,
    /// Columns only the earlier table has.
    pub columns_removed: Vec<&'a Column>,
    /// Columns renamed (earlier, later).
    pub columns_renamed: Vec<(&'a Column, &'a Column)>,
    /// Columns in both whose type, nullability, default, identity or generation differ.
    pub columns_changed: Vec<(&'a Column, &'a Column)>,
    /// Constraints only the later table has.
    pub constraints_added: Vec<&'a Constraint>,
    /// Constraints only the earlier table has.
    pub constraints_removed: Vec<&'a Constraint>,
    /// Indexes only the later table has.
    pub indexes_added: Vec<&'a Index>,
    /// Indexes only the earlier table has.
    pub indexes_removed: Vec<&'a Index>,
    /// SQLite: whether `AUTOINCREMENT` was added or removed.
    pub autoincrement_changed: bool,
}

impl TableDiff<'_> {
    /// Whether the table was renamed.
    pub fn renamed(&self) -> bool {
        self.before.name != self.after.name
    }

    /// Whether anything but the name differs.
    pub fn is_empty(&self) -> bool {
        self.columns_added.is_empty()
            && self.columns_removed.is_empty()
            && self.columns_renamed.is_empty()
            && self.columns_changed.is_empty()
            && self.constraints_added.is_empty()
            && self.constraints_removed.is_empty()
            && self.indexes_added.is_empty()
            && self.indexes_removed.is_empty()
            && !self.autoincrement_changed
    }

    /// The later name of the earlier column `name` (itself unless renamed).
    pub fn new_name_of<'n>(&'n self, name: &'n str) -> Option<&'n str> {
        if let Some((_, to)) = self.columns_renamed.iter().find(|(from, _)| from.name == name) {
            return Some(&to.name);
        }
        self.after.column(name).map(|c| c.name.as_str())
    }
}

/// Why two schemas cannot be compared without the user's word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenameError {
    /// A table lost a column and gained one of the same type: a rename or a drop and an add.
    #[error(
        "table \"{table}\" loses column \"{removed}\" and gains column \"{added}\" of the same type ({data_type}): a rename, or a drop that loses its data and an add?\n  = help: if it is a rename, put `{RENAMED_FROM} {removed}` on the line before \"{added}\" in the schema file; if not, pass --allow-destructive"
    )]
    Ambiguous {
        /// The table.
        table: String,
        /// The column that disappears.
        removed: String,
        /// The column that appears.
        added: String,
        /// Their type.
        data_type: String,
    },
    /// A declared rename whose old name is nowhere.
    #[error(
        "the schema file says \"{new}\" was renamed from \"{old}\", but the migrations have neither; remove the `{RENAMED_FROM} {old}` line, or correct the old name"
    )]
    UnknownOld {
        /// The new name (`table` or `table.column`).
        new: String,
        /// The old name it gives.
        old: String,
    },
}

fn objects<'a>(before: &'a BTreeMap<String, Object>, after: &'a BTreeMap<String, Object>) -> Changes<'a, Object> {
    let mut out = Changes::default();
    for (name, b) in before {
        match after.get(name) {
            None => out.removed.push(b),
            Some(a) if super::text::normalize(&a.definition) != super::text::normalize(&b.definition) => {
                out.changed.push((b, a))
            }
            Some(_) => {}
        }
    }
    out.added = after
        .iter()
        .filter(|(n, _)| !before.contains_key(*n))
        .map(|(_, a)| a)
        .collect();
    out
}

fn table<'a>(before: &'a Table, after: &'a Table, renames: &Renames) -> Result<TableDiff<'a>, RenameError> {
    let mut d = TableDiff {
        before,
        after,
        columns_added: Vec::new(),
        columns_removed: Vec::new(),
        columns_renamed: Vec::new(),
        columns_changed: Vec::new(),
        constraints_added: Vec::new(),
        constraints_removed: Vec::new(),
        indexes_added: Vec::new(),
        indexes_removed: Vec::new(),
        autoincrement_changed: before.autoincrement != after.autoincrement,
    };
    let mut matched: BTreeSet<&str> = BTreeSet::new();
    for a in &after.columns {
        let declared = renames.columns.get(&(after.name.clone(), a.name.clone()));
        let b = match before.column(&a.name) {
            Some(b) => Some(b),
            None => match declared {
                Some(old) => Some(before.column(old).ok_or_else(|| RenameError::UnknownOld {
                    new: format!("{}.{}", after.name, a.name),
                    old: old.clone(),
                })?),
                None => None,
            },
        };
        match b {
            Some(b) => {
                matched.insert(&b.name);
                if b.name != a.name {
                    d.columns_renamed.push((b, a));
                }
                if !b.same_shape(a) {
                    d.columns_changed.push((b, a));
                }
            }
            None => d.columns_added.push(a),
        }
    }
    d.columns_removed = before
        .columns
        .iter()
        .filter(|c| !matched.contains(c.name.as_str()))
        .collect();
    // Constraints and indexes name columns: compare them in the later names.
    let renamed = |text: &str| -> String {
        let mut t = text.to_owned();
        for (from, to) in &d.columns_renamed {
            t = super::text::replace_ident(&t, &from.name, &to.name);
        }
        if before.name != after.name {
            t = super::text::replace_ident(&t, &before.name, &after.name);
        }
        t
    };
    let before_keys: Vec<_> = before
        .constraints
        .iter()
        .map(|c| (c.kind, super::text::normalize(&renamed(&c.definition))))
        .collect();
    let after_keys: Vec<_> = after.constraints.iter().map(Constraint::key).collect();
    d.constraints_added = after
        .constraints
        .iter()
        .zip(&after_keys)
        .filter(|(_, k)| !before_keys.contains(k))
        .map(|(c, _)| c)
        .collect();
    d.constraints_removed = before
        .constraints
        .iter()
        .zip(&before_keys)
        .filter(|(_, k)| !after_keys.contains(k))
        .map(|(c, _)| c)
        .collect();
    let before_index: Vec<String> = before
        .indexes
        .iter()
        .map(|i| super::text::normalize(&renamed(&super::text::without_name(&i.definition, &i.name))))
        .collect();
    let after_index: Vec<String> = after.indexes.iter().map(Index::key).collect();
    d.indexes_added = after
        .indexes
        .iter()
        .zip(&after_index)
        .filter(|(_, k)| !before_index.contains(k))
        .map(|(i, _)| i)
        .collect();
    d.indexes_removed = before
        .indexes
        .iter()
        .zip(&before_index)
        .filter(|(_, k)| !after_index.contains(k))
        .map(|(i, _)| i)
        .collect();
    Ok(d)
}

/// Matches `before` with `after`. Renames come only from `renames`; a
/// table that loses a column and gains one of the same type is refused
/// ([`RenameError::Ambiguous`]) unless `allow_destructive`.
pub fn compare<'a>(
    before: &'a Schema,
    after: &'a Schema,
    renames: &Renames,
    allow_destructive: bool,
) -> Result<Diff<'a>, RenameError> {
    let mut d = Diff::default();
    let mut matched: BTreeSet<&str> = BTreeSet::new();
    for (name, a) in &after.tables {
        let b = match before.tables.get(name) {
            Some(b) => Some(b),
            None => match renames.tables.get(name) {
                Some(old) => match before.tables.get(old) {
                    Some(b) => Some(b),
                    None => {
                        return Err(RenameError::UnknownOld {
                            new: name.clone(),
                            old: old.clone(),
                        });
                    }
                },
                None => None,
            },
        };
        match b {
            Some(b) => {
                matched.insert(&b.name);
                let t = table(b, a, renames)?;
                if !allow_destructive {
                    for removed in &t.columns_removed {
                        if let Some(added) = t.columns_added.iter().find(|c| c.data_type == removed.data_type) {
                            return Err(RenameError::Ambiguous {
                                table: a.name.clone(),
                                removed: removed.name.clone(),
                                added: added.name.clone(),
                                data_type: removed.data_type.clone(),
                            });
                        }
                    }
                }
                if t.renamed() || !t.is_empty() {
                    d.tables_changed.push(t);
                }
            }
            None => d.tables_added.push(a),
        }
    }
    d.tables_removed = before
        .tables
        .values()
        .filter(|t| !matched.contains(t.name.as_str()))
        .collect();
    d.views = objects(&before.views, &after.views);
    d.functions = objects(&before.functions, &after.functions);
    d.triggers = objects(&before.triggers, &after.triggers);
    for (name, b) in &before.enums {
        match after.enums.get(name) {
            None => d.enums.removed.push(b),
            Some(a) if a.values != b.values => d.enums.changed.push((b, a)),
            Some(_) => {}
        }
    }
    d.enums.added = after
        .enums
        .iter()
        .filter(|(n, _)| !before.enums.contains_key(*n))
        .map(|(_, a)| a)
        .collect();
    for (name, b) in &before.others {
        match after.others.get(name) {
            None => d.not_generated.push(format!("{name} (removed)")),
            Some(a) if a != b => d.not_generated.push(format!("{name} (changed)")),
            Some(_) => {}
        }
    }
    for name in after.others.keys().filter(|n| !before.others.contains_key(*n)) {
        d.not_generated.push(format!("{name} (added)"));
    }
    Ok(d)
}

/// One line of what a comparison found, as `revision --autogenerate` and
/// `check --schema` print it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// `Detected added table "item"`.
    pub text: String,
    /// Whether it can lose data (a drop, a narrowing): printed as a warning.
    pub destructive: bool,
}

fn line(text: String, destructive: bool) -> Detected {
    Detected { text, destructive }
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
}

impl Diff<'_> {
    /// Whether the generator has nothing to write (differences it does not
    /// generate may remain: see [`Diff::not_generated`]).
    pub fn is_empty(&self) -> bool {
        self.tables_added.is_empty()
            && self.tables_removed.is_empty()
            && self.tables_changed.is_empty()
            && self.views.is_empty()
            && self.functions.is_empty()
            && self.triggers.is_empty()
            && self.enums.is_empty()
    }

    /// Whether the two schemas agree entirely, what the generator does not write included.
    pub fn agrees(&self) -> bool {
        self.is_empty() && self.not_generated.is_empty()
    }

    /// A line per change, in the order of the statements.
    pub fn detected(&self) -> Vec<Detected> {
        let mut out = Vec::new();
        enums_added_or_changed(&mut out, &self.enums);
        for t in &self.tables_added {
            out.push(line(format!("Detected added table \"{}\"", t.name), false));
        }
        for t in &self.tables_changed {
            table_changed(&mut out, t);
        }
        for t in &self.tables_removed {
            out.push(line(format!("Detected removed table \"{}\"", t.name), true));
        }
        for e in &self.enums.removed {
            out.push(line(format!("Detected removed enum type \"{}\"", e.name), true));
        }
        for (kind, set) in [
            ("view", &self.views),
            ("function", &self.functions),
            ("trigger", &self.triggers),
        ] {
            objects_changed(&mut out, kind, set);
        }
        out
    }
}

/// Enum types added, and values added to or removed from one.
fn enums_added_or_changed(out: &mut Vec<Detected>, enums: &Changes<'_, EnumType>) {
    for e in &enums.added {
        out.push(line(format!("Detected added enum type \"{}\"", e.name), false));
    }
    for (b, a) in &enums.changed {
        for v in a.values.iter().filter(|v| !b.values.contains(v)) {
            out.push(line(
                format!("Detected added value '{v}' to enum type \"{}\"", a.name),
                false,
            ));
        }
        for v in b.values.iter().filter(|v| !a.values.contains(v)) {
            out.push(line(
                format!(
                    "Detected removed value '{v}' from enum type \"{}\" (the type is recreated)",
                    a.name
                ),
                true,
            ));
        }
    }
}

/// One table's changes, in the order of its statements.
fn table_changed(out: &mut Vec<Detected>, t: &TableDiff<'_>) {
    let name = &t.after.name;
    if t.renamed() {
        out.push(line(
            format!("Detected renamed table \"{}\" to \"{name}\"", t.before.name),
            false,
        ));
    }
    for (b, a) in &t.columns_renamed {
        out.push(line(
            format!("Detected renamed column \"{name}\".\"{}\" to \"{}\"", b.name, a.name),
            false,
        ));
    }
    for c in &t.columns_added {
        out.push(line(format!("Detected added column \"{name}\".\"{}\"", c.name), false));
    }
    for (b, a) in &t.columns_changed {
        column_changed(out, name, b, a);
    }
    constraints_and_indexes_changed(out, t);
    if t.autoincrement_changed {
        out.push(line(format!("Detected AUTOINCREMENT change on \"{name}\""), false));
    }
    for c in &t.columns_removed {
        out.push(line(format!("Detected removed column \"{name}\".\"{}\"", c.name), true));
    }
}

/// What differs in one column of table `table`, from `b` to `a`.
fn column_changed(out: &mut Vec<Detected>, table: &str, b: &Column, a: &Column) {
    let at = format!("\"{table}\".\"{}\"", a.name);
    if b.data_type != a.data_type {
        out.push(line(
            format!("Detected type change from {} to {} on {at}", b.data_type, a.data_type),
            !super::render::widens(&b.data_type, &a.data_type),
        ));
    }
    if b.nullable != a.nullable {
        let what = if a.nullable { "NULL" } else { "NOT NULL" };
        out.push(line(format!("Detected {what} on column {at}"), !a.nullable));
    }
    if b.default != a.default {
        out.push(line(
            format!(
                "Detected default change from {} to {} on {at}",
                b.default.as_deref().unwrap_or("none"),
                a.default.as_deref().unwrap_or("none")
            ),
            false,
        ));
    }
    if b.identity != a.identity {
        out.push(line(format!("Detected identity change on {at}"), false));
    }
    if b.generated != a.generated {
        out.push(line(format!("Detected generated expression change on {at}"), true));
    }
}

/// A table's constraints and indexes removed and added.
fn constraints_and_indexes_changed(out: &mut Vec<Detected>, t: &TableDiff<'_>) {
    let name = &t.after.name;
    for c in &t.constraints_removed {
        out.push(line(
            format!("Detected removed {} on \"{name}\" ({})", c.kind.noun(), c.definition),
            false,
        ));
    }
    for c in &t.constraints_added {
        out.push(line(
            format!("Detected added {} on \"{name}\" ({})", c.kind.noun(), c.definition),
            false,
        ));
    }
    for i in &t.indexes_removed {
        out.push(line(
            format!("Detected removed index \"{}\" on \"{name}\"", i.name),
            false,
        ));
    }
    for i in &t.indexes_added {
        out.push(line(
            format!(
                "Detected added index \"{}\" on \"{name}\" ({})",
                i.name,
                quoted(&i.columns)
            ),
            false,
        ));
    }
}

/// Views, functions or triggers (`kind`) added, changed and removed.
fn objects_changed(out: &mut Vec<Detected>, kind: &str, set: &Changes<'_, Object>) {
    for o in &set.added {
        out.push(line(format!("Detected added {kind} \"{}\"", o.name), false));
    }
    for (_, o) in &set.changed {
        out.push(line(format!("Detected changed {kind} \"{}\"", o.name), false));
    }
    for o in &set.removed {
        out.push(line(format!("Detected removed {kind} \"{}\"", o.name), kind != "view"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::model::ConstraintKind;

    fn col(name: &str, ty: &str) -> Column {
        Column {
            name: name.into(),
            data_type: ty.into(),
            nullable: true,
            ..Column::default()
        }
    }

    fn schema(tables: Vec<Table>) -> Schema {
        Schema {
            tables: tables.into_iter().map(|t| (t.name.clone(), t)).collect(),
            ..Schema::default()
        }
    }

    fn tbl(name: &str, columns: Vec<Column>) -> Table {
        Table {
            name: name.into(),
            columns,
            ..Table::default()
        }
    }

    #[test]
    fn a_same_typed_swap_is_refused_without_a_rename() {
        let before = schema(vec![tbl("a", vec![col("id", "integer"), col("mail", "text")])]);
        let after = schema(vec![tbl("a", vec![col("id", "integer"), col("email", "text")])]);
        let err = compare(&before, &after, &Renames::default(), false).unwrap_err();
        assert!(err.to_string().contains("-- migrate:renamed-from mail"), "{err}");
        let d = compare(&before, &after, &Renames::default(), true).unwrap();
        assert_eq!(d.tables_changed[0].columns_added.len(), 1);
        assert_eq!(d.tables_changed[0].columns_removed.len(), 1);
        let mut r = Renames::default();
        r.columns.insert(("a".into(), "email".into()), "mail".into());
        let d = compare(&before, &after, &r, false).unwrap();
        assert_eq!(d.tables_changed[0].columns_renamed.len(), 1);
        assert!(d.tables_changed[0].columns_added.is_empty());
    }

    #[test]
    fn constraints_match_by_definition_not_name() {
        let mut b = tbl("a", vec![col("x", "int")]);
        b.constraints.push(Constraint {
            name: "a_x_check".into(),
            kind: ConstraintKind::Check,
            columns: vec!["x".into()],
            references: None,
            definition: "CHECK ((x > 0))".into(),
            index: None,
        });
        let mut a = b.clone();
        a.constraints[0].name = "positive".into();
        let (before, after) = (schema(vec![b]), schema(vec![a]));
        assert!(compare(&before, &after, &Renames::default(), false).unwrap().agrees());
    }

    #[test]
    fn renamed_tables_compare_their_contents() {
        let before = schema(vec![tbl("customer", vec![col("id", "int")])]);
        let after = schema(vec![tbl("account", vec![col("id", "int"), col("n", "int")])]);
        let mut r = Renames::default();
        r.tables.insert("account".into(), "customer".into());
        let d = compare(&before, &after, &r, false).unwrap();
        assert!(d.tables_added.is_empty() && d.tables_removed.is_empty());
        assert!(d.tables_changed[0].renamed());
        let lines: Vec<String> = d.detected().into_iter().map(|l| l.text).collect();
        assert_eq!(
            lines,
            vec![
                "Detected renamed table \"customer\" to \"account\"",
                "Detected added column \"account\".\"n\""
            ]
        );
        let mut wrong = Renames::default();
        wrong.tables.insert("account".into(), "nobody".into());
        assert!(matches!(
            compare(&before, &after, &wrong, false),
            Err(RenameError::UnknownOld { .. })
        ));
    }
}
