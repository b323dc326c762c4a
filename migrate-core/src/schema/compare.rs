//! Two schemas matched: what was added, removed, renamed and changed.

use super::model::{Column, Constraint, ConstraintKind, EnumType, Index, Object, Schema, Sequence, Table};
use super::renames::{RENAMED_FROM, Renames};
use std::collections::{BTreeMap, BTreeSet};

mod members;
pub(crate) mod sequences;
mod server_names;

pub use members::NameStep;

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
    /// The tables' renames as statements make them, (earlier name, later
    /// name) in order: each to a name free by then, a swap through a
    /// temporary name.
    pub table_renames: Vec<(String, String)>,
    /// Views.
    pub views: Changes<'a, Object>,
    /// PostgreSQL functions.
    pub functions: Changes<'a, Object>,
    /// Triggers.
    pub triggers: Changes<'a, Object>,
    /// PostgreSQL enum types.
    pub enums: Changes<'a, EnumType>,
    /// PostgreSQL extensions (created first, dropped last).
    pub extensions: Changes<'a, Object>,
    /// The renames of constraints and indexes as statements make them, once
    /// what goes is dropped: PostgreSQL's (the other dialects drop and add).
    pub name_steps: Vec<NameStep>,
    /// PostgreSQL sequences; `changed` are those whose options differ.
    pub sequences: Changes<'a, Sequence>,
    /// Sequences in both whose `OWNED BY` differs (in the later names) (earlier, later).
    pub sequences_reowned: Vec<(&'a Sequence, &'a Sequence)>,
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
    /// The column renames as statements make them, (earlier name, later
    /// name) in order, a swap through a temporary name.
    pub column_renames: Vec<(String, String)>,
    /// Columns in both whose type, nullability, default, identity or generation differ.
    pub columns_changed: Vec<(&'a Column, &'a Column)>,
    /// Constraints only the later table has.
    pub constraints_added: Vec<&'a Constraint>,
    /// Constraints only the earlier table has.
    pub constraints_removed: Vec<&'a Constraint>,
    /// Constraints of one definition under another name (earlier, later).
    pub constraints_renamed: Vec<(&'a Constraint, &'a Constraint)>,
    /// Indexes only the later table has.
    pub indexes_added: Vec<&'a Index>,
    /// Indexes only the earlier table has.
    pub indexes_removed: Vec<&'a Index>,
    /// Indexes of one definition under another name (earlier, later).
    pub indexes_renamed: Vec<(&'a Index, &'a Index)>,
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
            && self.constraints_renamed.is_empty()
            && self.indexes_added.is_empty()
            && self.indexes_removed.is_empty()
            && self.indexes_renamed.is_empty()
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
    /// Two names said to be renamed from one.
    #[error(
        "the schema file says both \"{first}\" and \"{second}\" were renamed from \"{old}\", which would be renamed twice\n  = help: one old name becomes one new one: remove the `{RENAMED_FROM} {old}` line that is wrong"
    )]
    Twice {
        /// The old name.
        old: String,
        /// One new name (`table` or `table.column`).
        first: String,
        /// The other.
        second: String,
    },
    /// Renamed from a name the later schema still has.
    #[error(
        "the schema file says \"{new}\" was renamed from \"{old}\", but still declares \"{old}\" as well\n  = help: a rename moves \"{old}\" and its rows to the new name: if it is a rename, remove \"{old}\" from the schema file; if \"{old}\" stays, remove the `{RENAMED_FROM} {old}` line (\"{new}\" then starts empty)"
    )]
    StillDeclared {
        /// The new name (`table` or `table.column`).
        new: String,
        /// The old name.
        old: String,
    },
    /// Renamed onto a name the earlier schema holds for something that goes.
    #[error(
        "the schema file says \"{new}\" was renamed from \"{old}\", but the migrations have both: their \"{new}\" would have to be dropped before \"{old}\" takes its name\n  = help: drop \"{new}\" in a revision of its own first (`migrate revision -m MSG`), then autogenerate the rename; or, if \"{old}\" is not renamed, remove the `{RENAMED_FROM} {old}` line"
    )]
    Occupied {
        /// The new name (`table` or `table.column`).
        new: String,
        /// The old name.
        old: String,
    },
    /// A swap whose names have the same shape on both sides: made or not, the schemas read the same.
    #[error(
        "the schema file swaps {} by `{RENAMED_FROM}` lines, but they have the same shape in the migrations, so whether the swap is still to be made cannot be told\n  = help: if the migrations already make it, remove those lines; if not, write the revision by hand (`migrate revision -m MSG`), renaming through a temporary name",
        names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
    )]
    Undecidable {
        /// The names swapped (`table` or `table.column`).
        names: Vec<String>,
    },
}

/// The names of one kind (tables, or one table's columns) on two sides, and
/// which declared renames apply between them: those whose old name the
/// earlier side has. One whose new name the earlier side has instead was
/// made already and is left alone (the schema file keeps its line). A cycle
/// (a swap: `a` from `b`, `b` from `a`) applies when the shapes are closer
/// swapped than as named, is made already when closer as named, and cannot
/// be told on a tie.
struct Names<'s> {
    /// Whether the earlier side has a name.
    before: &'s dyn Fn(&str) -> bool,
    /// Whether the later side has a name.
    after: &'s dyn Fn(&str) -> bool,
    /// How much the earlier side's first name differs from the later's second.
    distance: &'s dyn Fn(&str, &str) -> usize,
    /// A name as errors show it (`table` or `table.column`).
    shown: &'s dyn Fn(&str) -> String,
}

impl Names<'_> {
    fn applicable(&self, declared: &[(&str, &str)]) -> Result<BTreeMap<String, String>, RenameError> {
        let mut out: BTreeMap<String, String> = BTreeMap::new();
        for &(new, old) in declared.iter().filter(|(new, old)| new != old && (self.after)(new)) {
            if (self.before)(old) {
                out.insert(new.to_owned(), old.to_owned());
            } else if !(self.before)(new) {
                return Err(RenameError::UnknownOld {
                    new: (self.shown)(new),
                    old: old.to_owned(),
                });
            }
        }
        self.refuse_conflicts(declared, &out)?;
        // A chain made already (`a` from `b`, `b` from `c`, and the earlier
        // side has `a` and `b`): `a` is there and stays, `b` stays too.
        loop {
            let made: Vec<String> = out
                .iter()
                .filter(|(new, old)| (self.before)(new) && !out.values().any(|o| o == *new) && (self.after)(old))
                .map(|(new, _)| new.clone())
                .collect();
            if made.is_empty() {
                break;
            }
            for new in made {
                out.remove(&new);
            }
        }
        self.refuse_occupied(&out)?;
        for cycle in cycles(&out) {
            let as_named: usize = cycle.iter().map(|n| (self.distance)(n, n)).sum();
            let swapped: usize = cycle.iter().map(|n| (self.distance)(&out[n], n)).sum();
            if as_named < swapped {
                for n in &cycle {
                    out.remove(n);
                }
            } else if as_named == swapped {
                return Err(RenameError::Undecidable {
                    names: cycle.iter().map(|n| (self.shown)(n)).collect(),
                });
            }
        }
        Ok(out)
    }

    /// One old name renamed twice, or renamed while the later side still has
    /// it (not renamed itself).
    fn refuse_conflicts(&self, declared: &[(&str, &str)], out: &BTreeMap<String, String>) -> Result<(), RenameError> {
        for (new, old) in out {
            if let Some((twin, _)) = out.iter().find(|(n, o)| *n != new && *o == old) {
                return Err(RenameError::Twice {
                    old: old.clone(),
                    first: (self.shown)(new.min(twin)),
                    second: (self.shown)(new.max(twin)),
                });
            }
            if (self.after)(old) && !declared.iter().any(|(n, _)| n == old) {
                return Err(RenameError::StillDeclared {
                    new: (self.shown)(new),
                    old: old.clone(),
                });
            }
        }
        Ok(())
    }

    /// A rename onto a name the earlier side holds for something that goes.
    fn refuse_occupied(&self, out: &BTreeMap<String, String>) -> Result<(), RenameError> {
        let renamed_away = |name: &str| out.values().any(|old| old == name);
        match out.iter().find(|(new, _)| (self.before)(new) && !renamed_away(new)) {
            Some((new, old)) => Err(RenameError::Occupied {
                new: (self.shown)(new),
                old: old.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// The cycles of renames (new → old) whose every old name is another's new
/// one: swaps and rotations, each listed once, in name order.
fn cycles(renames: &BTreeMap<String, String>) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for start in renames.keys() {
        if out.iter().any(|c| c.contains(start)) {
            continue;
        }
        let mut path = vec![start.clone()];
        let mut at = start;
        while let Some(old) = renames.get(at) {
            if old == start {
                out.push(path);
                break;
            }
            if path.contains(old) {
                break; // a cycle that does not pass through `start`: found from one of its own
            }
            path.push(old.clone());
            at = old;
        }
    }
    out
}

/// How much two tables differ: the later's columns with no column of the
/// earlier in the same shape, under its own name or the one it is declared
/// renamed from (`renames`), and the earlier's columns left over.
fn table_distance(b: &Table, a: &Table, renames: &Renames) -> usize {
    let mut used: BTreeSet<&str> = BTreeSet::new();
    let mut differ = 0;
    for c in &a.columns {
        let declared = renames.columns.get(&(a.name.clone(), c.name.clone()));
        let same = [declared.map(String::as_str), Some(c.name.as_str())]
            .into_iter()
            .flatten()
            .filter_map(|n| b.column(n))
            .find(|o| o.same_shape(c) && !used.contains(o.name.as_str()));
        match same {
            Some(o) => {
                used.insert(&o.name);
            }
            None => differ += 1,
        }
    }
    differ + b.columns.iter().filter(|o| !used.contains(o.name.as_str())).count()
}

/// Renames `pairs` (from → to) in an order statements can run them: each
/// to a name nothing holds by then (`held`: the names that exist before),
/// a cycle (a swap) through a temporary name that none of `avoid` is.
fn rename_steps(pairs: &[(&str, &str)], held: BTreeSet<&str>, avoid: &BTreeSet<&str>) -> Vec<(String, String)> {
    let mut held: BTreeSet<String> = held.into_iter().map(str::to_owned).collect();
    let mut left: Vec<(String, String)> = pairs.iter().map(|(f, t)| (f.to_string(), t.to_string())).collect();
    let mut steps = Vec::new();
    while !left.is_empty() {
        let free = left.iter().position(|(_, to)| !held.contains(to));
        let cycle = || left.iter().position(|(_, to)| left.iter().any(|(from, _)| from == to));
        let (i, temporary) = match (free, cycle()) {
            (Some(i), _) => (i, None),
            (None, Some(i)) => {
                let from = &left[i].0;
                let temp = (1..)
                    .map(|k| format!("{from}_swap{k}"))
                    .find(|t| !held.contains(t) && !avoid.contains(t.as_str()))
                    .unwrap_or_default();
                (i, Some(temp))
            }
            // A name held by what is not renamed (refused before rendering): as they are.
            (None, None) => {
                steps.append(&mut left);
                break;
            }
        };
        let (from, to) = left.remove(i);
        held.remove(&from);
        match temporary {
            Some(temp) => {
                held.insert(temp.clone());
                steps.push((from, temp.clone()));
                left.push((temp, to));
            }
            None => {
                held.insert(to.clone());
                steps.push((from, to));
            }
        }
    }
    steps
}

/// `text` with every name of `pairs` (from, to) made its new name at once,
/// so that a swap stays a swap.
fn renamed_all(text: &str, pairs: &[(&str, &str)]) -> String {
    let marks: Vec<String> = (0..pairs.len()).map(|i| format!("migrate_renaming_{i}_")).collect();
    let mut t = text.to_owned();
    for ((from, _), mark) in pairs.iter().zip(&marks) {
        t = super::text::replace_ident(&t, from, mark);
    }
    for ((_, to), mark) in pairs.iter().zip(&marks) {
        t = super::text::replace_ident(&t, mark, to);
    }
    t
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
        column_renames: Vec::new(),
        columns_changed: Vec::new(),
        constraints_added: Vec::new(),
        constraints_removed: Vec::new(),
        constraints_renamed: Vec::new(),
        indexes_added: Vec::new(),
        indexes_removed: Vec::new(),
        indexes_renamed: Vec::new(),
        autoincrement_changed: before.autoincrement != after.autoincrement,
    };
    let declared: Vec<(&str, &str)> = renames
        .columns
        .iter()
        .filter(|((t, _), _)| *t == after.name)
        .map(|((_, new), old)| (new.as_str(), old.as_str()))
        .collect();
    let distance = |b: &str, a: &str| match (before.column(b), after.column(a)) {
        (Some(b), Some(a)) => usize::from(!b.same_shape(a)),
        _ => 1,
    };
    let names = Names {
        before: &|n| before.column(n).is_some(),
        after: &|n| after.column(n).is_some(),
        distance: &distance,
        shown: &|n| format!("{}.{n}", after.name),
    };
    let applied = names.applicable(&declared)?;
    let mut matched: BTreeSet<&str> = BTreeSet::new();
    for a in &after.columns {
        let b = match applied.get(&a.name) {
            Some(old) => before.column(old),
            None => before.column(&a.name),
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
    let pairs: Vec<(&str, &str)> = d
        .columns_renamed
        .iter()
        .map(|(b, a)| (b.name.as_str(), a.name.as_str()))
        .collect();
    let names_of = |t: &'a Table| t.columns.iter().map(|c| c.name.as_str());
    let avoid: BTreeSet<&str> = names_of(before).chain(names_of(after)).collect();
    d.column_renames = rename_steps(&pairs, names_of(before).collect(), &avoid);
    // Constraints and indexes name columns: compare them in the later names.
    let mut pairs = pairs;
    if before.name != after.name {
        pairs.push((&before.name, &after.name));
    }
    let renamed = |text: &str| renamed_all(text, &pairs);
    members::compare_members(&mut d, &renamed);
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
    let declared: Vec<(&str, &str)> = renames
        .tables
        .iter()
        .map(|(new, old)| (new.as_str(), old.as_str()))
        .collect();
    let distance = |b: &str, a: &str| match (before.tables.get(b), after.tables.get(a)) {
        (Some(b), Some(a)) => table_distance(b, a, renames),
        _ => 1 << 20,
    };
    let names = Names {
        before: &|n| before.tables.contains_key(n),
        after: &|n| after.tables.contains_key(n),
        distance: &distance,
        shown: &|n| n.to_owned(),
    };
    let applied = names.applicable(&declared)?;
    let mut matched: BTreeSet<&str> = BTreeSet::new();
    for (name, a) in &after.tables {
        let b = match applied.get(name) {
            Some(old) => before.tables.get(old),
            None => before.tables.get(name),
        };
        match b {
            Some(b) => {
                matched.insert(&b.name);
                if (&b.partition_by, &b.partition_of) != (&a.partition_by, &a.partition_of) {
                    d.not_generated
                        .push(format!("partitioning of table \"{}\" (changed)", a.name));
                }
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
    let pairs: Vec<(&str, &str)> = d
        .tables_changed
        .iter()
        .filter(|t| t.renamed())
        .map(|t| (t.before.name.as_str(), t.after.name.as_str()))
        .collect();
    let avoid: BTreeSet<&str> = before
        .tables
        .keys()
        .chain(after.tables.keys())
        .map(String::as_str)
        .collect();
    d.table_renames = rename_steps(&pairs, before.tables.keys().map(String::as_str).collect(), &avoid);
    d.name_steps = members::name_steps(before, after, &d);
    sequences::compare_sequences(before, after, &mut d);
    d.views = objects(&before.views, &after.views);
    d.extensions = objects(&before.extensions, &after.extensions);
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

/// A constraint's name as the lines show it (SQLite's may have none).
fn shown(name: &str) -> String {
    if name.is_empty() {
        "(unnamed)".to_owned()
    } else {
        format!("\"{name}\"")
    }
}

/// A constraint's name after its kind in a line: ` "name"`, nothing for SQLite's unnamed ones.
fn named(name: &str) -> String {
    if name.is_empty() {
        String::new()
    } else {
        format!(" \"{name}\"")
    }
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
            && self.sequences.is_empty()
            && self.sequences_reowned.is_empty()
    }

    /// Whether the two schemas agree entirely, what the generator does not write included.
    pub fn agrees(&self) -> bool {
        self.is_empty() && self.not_generated.is_empty()
    }

    /// A line per change, in the order of the statements.
    pub fn detected(&self) -> Vec<Detected> {
        let mut out = Vec::new();
        sequences::added_or_changed(&mut out, self);
        enums_added_or_changed(&mut out, &self.enums);
        for t in &self.tables_added {
            out.push(line(format!("Detected added table \"{}\"", t.name), false));
        }
        for t in &self.tables_changed {
            table_changed(&mut out, self, t);
        }
        for t in &self.tables_removed {
            out.push(line(format!("Detected removed table \"{}\"", t.name), true));
        }
        for e in &self.enums.removed {
            out.push(line(format!("Detected removed enum type \"{}\"", e.name), true));
        }
        sequences::removed(&mut out, self);
        for (kind, set) in [
            ("view", &self.views),
            ("function", &self.functions),
            ("trigger", &self.triggers),
            ("extension", &self.extensions),
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
fn table_changed(out: &mut Vec<Detected>, d: &Diff<'_>, t: &TableDiff<'_>) {
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
        match sequences::kept_serial_in(d, name, b, a) {
            Some(sequence) => out.push(line(
                format!(
                    "Detected {} \"{name}\".\"{}\" {}, keeping its sequence \"{sequence}\"",
                    b.data_type,
                    a.name,
                    if b.data_type.ends_with("serial") {
                        format!("made {} without its default", a.data_type)
                    } else {
                        format!("made {} again", a.data_type)
                    }
                ),
                false,
            )),
            None => column_changed(out, name, b, a),
        }
    }
    constraints_and_indexes_changed(out, d, t);
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

/// A foreign key of `t` going away that comes back with only another
/// deferrability, its clause for `ALTER CONSTRAINT`; not where the key it
/// references goes and comes back, which the foreign key must not outlive.
pub(crate) fn deferrability_only(diff: &Diff<'_>, t: &TableDiff<'_>, gone: &Constraint) -> Option<&'static str> {
    let remade = |table: &str| {
        diff.tables_changed.iter().any(|r| {
            r.before.name == table
                && r.constraints_removed
                    .iter()
                    .any(|k| matches!(k.kind, ConstraintKind::PrimaryKey | ConstraintKind::Unique))
        })
    };
    if gone.references.as_deref().is_some_and(remade) {
        return None;
    }
    t.constraints_added
        .iter()
        .find_map(|&new| gone.deferrability_changed_to(new))
}

/// A table's constraints and indexes removed and added.
fn constraints_and_indexes_changed(out: &mut Vec<Detected>, d: &Diff<'_>, t: &TableDiff<'_>) {
    let name = &t.after.name;
    let altered = |gone: &Constraint| deferrability_only(d, t, gone);
    for c in &t.constraints_removed {
        if let Some(clause) = altered(c) {
            out.push(line(
                format!(
                    "Detected changed deferrability of foreign key{} on \"{name}\" (to {clause})",
                    named(&c.name)
                ),
                false,
            ));
            continue;
        }
        out.push(line(
            format!(
                "Detected removed {}{} on \"{name}\" ({})",
                c.kind.noun(),
                named(&c.name),
                c.definition
            ),
            false,
        ));
    }
    for c in &t.constraints_added {
        let altered_to_this = |gone: &&&Constraint| gone.deferrability_changed_to(c).is_some();
        if t.constraints_removed
            .iter()
            .filter(altered_to_this)
            .any(|gone| altered(gone).is_some())
        {
            continue;
        }
        out.push(line(
            format!(
                "Detected added {}{} on \"{name}\" ({})",
                c.kind.noun(),
                named(&c.name),
                c.definition
            ),
            false,
        ));
    }
    for (b, a) in &t.constraints_renamed {
        out.push(line(
            format!(
                "Detected renamed {} {} to {} on \"{name}\"",
                a.kind.noun(),
                shown(&b.name),
                shown(&a.name)
            ),
            false,
        ));
    }
    for (b, a) in &t.indexes_renamed {
        out.push(line(
            format!("Detected renamed index \"{}\" to \"{}\" on \"{name}\"", b.name, a.name),
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
mod tests;
