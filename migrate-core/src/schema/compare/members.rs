//! A table's constraints and indexes matched as multisets, by definition and
//! by name: two of one definition under two names are two.
//!
//! The rule, in order, within each group of one definition (the earlier
//! side's written in the later names of renamed tables and columns):
//! 1. the same name on both sides: the same member;
//! 2. names both chosen by the server under the same rule
//!    ([`server_names`]), for the table and columns as the later side names
//!    them: the same member, whatever the counter the server appended;
//! 3. any other two: the member renamed;
//!
//! and what is left is added or removed.

use super::server_names::{self, Naming};
use super::{Diff, TableDiff, rename_steps};
use crate::schema::model::{Constraint, ConstraintKind, Index, Schema, Table};
use crate::schema::text::{normalize, without_name};
use std::collections::{BTreeMap, BTreeSet};

/// One renaming statement, in the order they run: a member renamed, or one
/// step of a swap through a temporary name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameStep {
    /// The table (its later name).
    pub table: String,
    /// An index (`ALTER INDEX … RENAME TO`), else a constraint (`ALTER TABLE
    /// … RENAME CONSTRAINT`, which renames a key's index with it).
    pub index: bool,
    /// The name it has.
    pub from: String,
    /// The name it gets.
    pub to: String,
}

/// A member as matched: its definition, its name, and whose naming it follows.
struct Member<'a, T> {
    item: &'a T,
    key: String,
    name: &'a str,
    naming: Option<Naming>,
}

/// What became of one kind of member of a table.
struct Matched<'a, T> {
    added: Vec<&'a T>,
    removed: Vec<&'a T>,
    renamed: Vec<(&'a T, &'a T)>,
}

fn matched<'a, T>(before: Vec<Member<'a, T>>, after: Vec<Member<'a, T>>) -> Matched<'a, T> {
    let mut taken_b = vec![false; before.len()];
    let mut taken_a = vec![false; after.len()];
    let mut renamed = Vec::new();
    // The rules in order: the same name; names both the server's, under one rule; any names (a rename).
    let same = |rule: usize, b: &Member<'a, T>, a: &Member<'a, T>| match rule {
        0 => b.name == a.name,
        1 => b.naming.is_some() && b.naming == a.naming,
        _ => true,
    };
    for rule in 0..3 {
        for (j, a) in after.iter().enumerate() {
            if taken_a[j] {
                continue;
            }
            let found = (0..before.len()).find(|&i| !taken_b[i] && before[i].key == a.key && same(rule, &before[i], a));
            if let Some(i) = found {
                taken_b[i] = true;
                taken_a[j] = true;
                if rule == 2 {
                    renamed.push((before[i].item, a.item));
                }
            }
        }
    }
    let left = |side: &[Member<'a, T>], taken: &[bool]| -> Vec<&'a T> {
        side.iter()
            .zip(taken)
            .filter(|(_, t)| !**t)
            .map(|(m, _)| m.item)
            .collect()
    };
    Matched {
        added: left(&after, &taken_a),
        removed: left(&before, &taken_b),
        renamed,
    }
}

/// Fills the constraints and indexes of `d` added, removed and renamed.
/// `renamed` turns a text of the earlier table into the later names.
pub(super) fn compare_members<'a>(d: &mut TableDiff<'a>, renamed: &dyn Fn(&str) -> String) {
    let (before, after) = (d.before, d.after);
    let later = |c: &String| d.new_name_of(c).unwrap_or(c).to_owned();
    let table = after.name.as_str();
    let constraint = |c: &'a Constraint, key: String, columns: Vec<String>| Member {
        item: c,
        // PostgreSQL prints an `IN (…)` list's array cast whole, and, run again, per element.
        key: format!("{:?} {}", c.kind, crate::schema::text::array_casts_per_element(&key)),
        name: &c.name,
        naming: server_names::constraint(table, c, &columns),
    };
    let b: Vec<_> = before
        .constraints
        .iter()
        .map(|c| {
            constraint(
                c,
                normalize(&renamed(&c.definition)),
                c.columns.iter().map(later).collect(),
            )
        })
        .collect();
    let a: Vec<_> = after
        .constraints
        .iter()
        .map(|c| constraint(c, normalize(&c.definition), c.columns.clone()))
        .collect();
    let m = matched(b, a);
    let index = |i: &'a Index, key: String, columns: Vec<String>| Member {
        item: i,
        key,
        name: &i.name,
        naming: server_names::index(table, i, &columns),
    };
    let b: Vec<_> = before
        .indexes
        .iter()
        .map(|i| {
            let key = normalize(&renamed(&without_name(&i.definition, &i.name)));
            index(i, key, i.columns.iter().map(later).collect())
        })
        .collect();
    let a: Vec<_> = after
        .indexes
        .iter()
        .map(|i| index(i, i.key(), i.columns.clone()))
        .collect();
    let n = matched(b, a);
    (d.constraints_added, d.constraints_removed, d.constraints_renamed) = (m.added, m.removed, m.renamed);
    (d.indexes_added, d.indexes_removed, d.indexes_renamed) = (n.added, n.removed, n.renamed);
}

/// Where a name must be unique, as a key of [`rename_steps`]: a key's or an
/// index's name in the whole schema (PostgreSQL's relations), a foreign
/// key's or a check's in its table.
fn name_key(table: &str, kind: Option<ConstraintKind>, name: &str) -> String {
    match kind {
        Some(ConstraintKind::ForeignKey | ConstraintKind::Check) => format!("{table}\u{1f}{name}"),
        _ => name.to_owned(),
    }
}

/// The name a key of [`name_key`] holds.
fn name_of(key: &str) -> &str {
    key.rsplit('\u{1f}').next().unwrap_or(key)
}

/// Every member's key in `t` (under its later name `table`).
fn keys_of<'t>(table: &'t str, t: &'t Table) -> impl Iterator<Item = String> + 't {
    let constraints = t
        .constraints
        .iter()
        .map(move |c| name_key(table, Some(c.kind), &c.name));
    constraints.chain(t.indexes.iter().map(move |i| name_key(table, None, &i.name)))
}

/// The renames of every changed table's members as statements make them,
/// after what is dropped is gone: each to a name free by then, a swap
/// through a temporary name (two tables swapped swap their `…_pkey`s).
pub(super) fn name_steps(before: &Schema, after: &Schema, d: &Diff<'_>) -> Vec<NameStep> {
    let later_table: BTreeMap<&str, &str> = d
        .tables_changed
        .iter()
        .map(|t| (t.before.name.as_str(), t.after.name.as_str()))
        .collect();
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut of: BTreeMap<String, (String, bool)> = BTreeMap::new();
    let mut dropped: BTreeSet<String> = BTreeSet::new();
    for t in &d.tables_changed {
        let table = t.after.name.as_str();
        for (b, a) in &t.constraints_renamed {
            let from = name_key(table, Some(b.kind), &b.name);
            of.insert(from.clone(), (table.to_owned(), false));
            pairs.push((from, name_key(table, Some(a.kind), &a.name)));
        }
        for (b, a) in &t.indexes_renamed {
            let from = name_key(table, None, &b.name);
            of.insert(from.clone(), (table.to_owned(), true));
            pairs.push((from, name_key(table, None, &a.name)));
        }
        dropped.extend(
            t.constraints_removed
                .iter()
                .map(|c| name_key(table, Some(c.kind), &c.name)),
        );
        dropped.extend(t.indexes_removed.iter().map(|i| name_key(table, None, &i.name)));
    }
    if pairs.is_empty() {
        return Vec::new();
    }
    let held: Vec<String> = before
        .tables
        .values()
        .flat_map(|t| keys_of(later_table.get(t.name.as_str()).copied().unwrap_or(&t.name), t))
        .filter(|k| !dropped.contains(k))
        .collect();
    let wanted: Vec<String> = after.tables.values().flat_map(|t| keys_of(&t.name, t)).collect();
    let avoid: BTreeSet<&str> = held.iter().chain(&wanted).map(String::as_str).collect();
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(f, t)| (f.as_str(), t.as_str())).collect();
    let mut out = Vec::new();
    for (from, to) in rename_steps(&borrowed, held.iter().map(String::as_str).collect(), &avoid) {
        let Some((table, index)) = of.get(&from).cloned() else {
            continue;
        };
        of.insert(to.clone(), (table.clone(), index));
        out.push(NameStep {
            table,
            index,
            from: name_of(&from).to_owned(),
            to: name_of(&to).to_owned(),
        });
    }
    out
}
