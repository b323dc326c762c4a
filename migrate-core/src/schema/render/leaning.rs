//! PostgreSQL: a foreign key depends on the one unique index of the table it
//! references that it found when it was made. When that key goes (a `UNIQUE
//! (id)` beside the `PRIMARY KEY (id)`, made first, as `pg_dump` makes
//! them) while the foreign key stays, `DROP CONSTRAINT` fails; such foreign
//! keys are dropped before it and added again once the keys are in place.

use super::{Writer, constraints_gone, indexes_gone};
use crate::schema::Dialect;
use crate::schema::compare::Diff;
use crate::schema::model::{Constraint, ConstraintKind};
use crate::schema::text::{normalize, unquote};

/// A foreign key that stays and leans on a key that goes.
pub(super) struct Leaning<'a> {
    /// Its table, by its earlier name.
    before_table: &'a str,
    /// It, as the earlier schema has it.
    before: &'a Constraint,
    /// Its table, by its later name.
    after_table: &'a str,
    /// It, as the later schema has it.
    after: &'a Constraint,
}

/// The columns a foreign key's definition references (`REFERENCES t(a, b)`).
fn referenced_columns(definition: &str) -> Option<Vec<String>> {
    let at = definition.to_ascii_uppercase().find("REFERENCES ")?;
    let rest = &definition[at..];
    let open = rest.find('(')?;
    let close = open + rest[open..].find(')')?;
    Some(rest[open + 1..close].split(',').map(|c| unquote(c.trim())).collect())
}

/// The foreign keys that stay and reference exactly the columns of a
/// primary key, unique constraint or unique index that goes.
pub(super) fn leaning<'a>(w: &Writer<'a>, diff: &Diff<'a>) -> Vec<Leaning<'a>> {
    if w.d != Dialect::Postgres {
        return Vec::new();
    }
    let mut going: Vec<(&str, &[String])> = Vec::new();
    for t in &diff.tables_changed {
        let keys = constraints_gone(w.d, t)
            .into_iter()
            .filter(|c| matches!(c.kind, ConstraintKind::PrimaryKey | ConstraintKind::Unique))
            .map(|c| c.columns.as_slice());
        let unique = indexes_gone(w.d, t)
            .into_iter()
            .filter(|i| normalize(&i.definition).starts_with("create unique index"))
            .map(|i| i.columns.as_slice());
        going.extend(keys.chain(unique).map(|c| (t.before.name.as_str(), c)));
    }
    if going.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for bt in w.before.tables.values() {
        if diff.tables_removed.iter().any(|t| t.name == bt.name) {
            continue; // its foreign keys are dropped first anyway
        }
        let changed = diff.tables_changed.iter().find(|t| t.before.name == bt.name);
        let stays = |c: &Constraint| {
            changed.is_none_or(|t| {
                !t.constraints_removed.iter().any(|x| std::ptr::eq(*x, c))
                    && !t.constraints_renamed.iter().any(|(x, _)| std::ptr::eq(*x, c))
            })
        };
        let after_table = changed.map_or(bt.name.as_str(), |t| t.after.name.as_str());
        for fk in bt
            .constraints
            .iter()
            .filter(|c| c.kind == ConstraintKind::ForeignKey && stays(c))
        {
            let (Some(target), Some(columns)) = (&fk.references, referenced_columns(&fk.definition)) else {
                continue;
            };
            if !going.iter().any(|(t, c)| t == target && *c == columns.as_slice()) {
                continue;
            }
            let later = w.after.tables.get(after_table).and_then(|t| {
                t.constraints
                    .iter()
                    .find(|c| c.kind == ConstraintKind::ForeignKey && c.name == fk.name)
            });
            if let Some(after) = later {
                out.push(Leaning {
                    before_table: &bt.name,
                    before: fk,
                    after_table,
                    after,
                });
            }
        }
    }
    out
}

/// Step 5b: the leaning foreign keys dropped, each saying why.
pub(super) fn drop(w: &mut Writer<'_>, leaning: &[Leaning<'_>]) {
    for l in leaning {
        w.drop_constraint(l.before_table, l.before);
        if let Some(s) = w.out.statements.last_mut() {
            s.note = Some(format!(
                "\"{}\" leans on a key that goes: dropped, and added again below",
                l.before.name
            ));
        }
    }
}

/// Step 11b: the leaning foreign keys added again.
pub(super) fn add(w: &mut Writer<'_>, leaning: &[Leaning<'_>]) {
    for l in leaning {
        w.add_constraint(l.after_table, l.after);
    }
}
