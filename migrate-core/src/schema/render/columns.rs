//! A changed table's columns, on PostgreSQL and MySQL (and SQLite in
//! place): added, changed (type, nullability, default, identity,
//! generation) and removed, each as the dialect alters it.

use super::sequences::changes;
use super::types::{assigns, is_array, is_string, widens};
use super::{Writer, constraints_new, indexes_new, mysql_column_check};
use crate::Dialect;
use crate::schema::compare::TableDiff;
use crate::schema::compare::sequences::option_changes;
use crate::schema::model::{Column, Constraint, Index, Sequence, is_serial};
use crate::schema::text::mentions;

/// PostgreSQL and MySQL, and SQLite in place: column by column.
pub(super) fn columns(w: &mut Writer<'_>, t: &TableDiff<'_>) {
    let table = &t.after.name;
    for c in &t.columns_added {
        let sql = w.alter(table, &format!("ADD COLUMN {}", w.column_in(t.after, c)));
        // A serial fills the rows it is added to from its sequence, as an identity does.
        let filled = c.default.is_some() || c.generated.is_some() || c.identity.is_some() || is_serial(&c.data_type);
        if !c.nullable && !filled {
            w.review(
                sql,
                format!(
                    "fails if \"{table}\" has rows: \"{}\" is NOT NULL without a DEFAULT",
                    c.name
                ),
            );
        } else {
            w.push(sql);
        }
    }
    for (b, a) in &t.columns_changed {
        if !kept_serial(w, t, b, a) {
            column_change(w, t, b, a);
        }
    }
    for c in &t.columns_removed {
        let sql = w.alter(table, &format!("DROP COLUMN {}", w.q(&c.name)));
        w.review(sql, format!("drops column \"{table}\".\"{}\" and its data", c.name));
    }
}

/// A column going between a serial and its plain type with the serial's
/// sequence kept ([`kept_sequence`](super::sequences::kept_sequence)): its
/// default alone changes, and the sequence's options where they differ from
/// those a serial's has; `false` for any other change.
fn kept_serial(w: &mut Writer<'_>, t: &TableDiff<'_>, b: &Column, a: &Column) -> bool {
    let table = t.after.name.as_str();
    let Some(sequence) = super::sequences::kept_sequence(w, table, b, a) else {
        return false;
    };
    let col = w.q(&a.name);
    let draws = format!("nextval({}::regclass)", w.d.literal(&sequence));
    // The side that is a serial draws from the sequence; the plain side says its own default.
    let default = if is_serial(&a.data_type) {
        Some(draws.as_str())
    } else {
        a.default.as_deref()
    };
    let sql = match default {
        Some(d) => format!("ALTER COLUMN {col} SET DEFAULT {d}"),
        None => format!("ALTER COLUMN {col} DROP DEFAULT"),
    };
    let sql = w.alter(table, &sql);
    w.push(sql);
    let plain = |ty: &str| Sequence::new(&sequence, ty);
    let (from, to) = match (w.before.sequences.get(&sequence), w.after.sequences.get(&sequence)) {
        (Some(s), None) => (s.clone(), plain(&s.data_type)),
        (None, Some(s)) => (plain(&s.data_type), s.clone()),
        _ => return true,
    };
    let options = changes(&from, &to);
    if !options.is_empty() {
        w.push(format!("ALTER SEQUENCE {} {}", w.q(&sequence), options.join(" ")));
    }
    true
}

/// A column whose generation changes. Made plain, it keeps its values in
/// place where the server can (PostgreSQL's `DROP EXPRESSION` and MySQL's
/// `MODIFY` of a stored column: the rest of the change follows, `true`),
/// else it is added again and filled from the expression it had; given a new
/// generation, it is dropped and added again (no server changes an
/// expression in place), its values computed anew. A column dropped takes
/// the indexes and constraints that read it: those the change keeps are
/// dropped first by name and made again after it.
fn generation_change(w: &mut Writer<'_>, t: &TableDiff<'_>, b: &Column, a: &Column) -> bool {
    let table = t.after.name.as_str();
    let col = w.q(&a.name);
    let stored = |c: &Column| {
        c.generated
            .as_deref()
            .is_some_and(|g| g.to_ascii_uppercase().ends_with("STORED"))
    };
    match (w.d, &a.generated) {
        // A stored column's values stay (PostgreSQL 13 and later); a virtual one (18) has none.
        (Dialect::Postgres, None) if stored(b) => {
            let sql = w.alter(table, &format!("ALTER COLUMN {col} DROP EXPRESSION"));
            w.push(sql);
            return true;
        }
        (Dialect::Mysql, None) if stored(b) => return true,
        _ => {}
    }
    let new_indexes = indexes_new(w.d, t);
    let new_constraints = constraints_new(w.d, t);
    let reads = |columns: &[String], definition: &str| columns.contains(&a.name) || mentions(definition, &a.name);
    let indexes: Vec<&Index> = t
        .after
        .indexes
        .iter()
        .filter(|i| reads(&i.columns, &i.definition) && !new_indexes.iter().any(|n| n.name == i.name))
        .collect();
    let constraints: Vec<&Constraint> = t
        .after
        .constraints
        .iter()
        .filter(|c| reads(&c.columns, &c.definition) && !new_constraints.iter().any(|n| n.name == c.name))
        .filter(|c| mysql_column_check(w.d, t.after, c).is_none())
        .collect();
    for c in &constraints {
        w.drop_constraint(table, c);
    }
    for i in &indexes {
        w.drop_index(table, &i.name);
    }
    let sql = w.alter(table, &format!("DROP COLUMN {col}"));
    let why = match (&a.generated, b.generated.as_deref().and_then(generation_expression)) {
        (Some(_), _) => format!(
            "drops \"{table}\".\"{}\" to add it again with its new generation: its values are computed again",
            a.name
        ),
        (None, Some(_)) => format!(
            "drops \"{table}\".\"{}\" to add it again as a plain column, filled from the expression it had",
            a.name
        ),
        (None, None) => format!(
            "drops \"{table}\".\"{}\" and its values to add it again as a plain column",
            a.name
        ),
    };
    w.review(sql, why);
    let sql = w.alter(table, &format!("ADD COLUMN {}", w.column_in(t.after, a)));
    w.push(sql);
    if let (None, Some(expression)) = (&a.generated, b.generated.as_deref().and_then(generation_expression)) {
        let sql = format!("UPDATE {} SET {col} = ({expression})", w.q(table));
        w.push(sql);
    }
    for c in constraints {
        w.add_constraint(table, c);
    }
    for i in indexes {
        w.push(i.definition.clone());
    }
    false
}

/// The expression of a generation clause, `GENERATED ALWAYS AS (expr) STORED`:
/// what its outer parentheses hold.
fn generation_expression(clause: &str) -> Option<&str> {
    let open = clause.find('(')?;
    let close = clause.rfind(')')?;
    (open < close).then(|| clause[open + 1..close].trim())
}

fn column_change(w: &mut Writer<'_>, t: &TableDiff<'_>, b: &Column, a: &Column) {
    let after = t.after;
    let table = after.name.as_str();
    let col = w.q(&a.name);
    if b.generated != a.generated && !generation_change(w, t, b, a) {
        return;
    }
    if w.d == Dialect::Mysql {
        // One MODIFY says everything about the column.
        let sql = w.alter(table, &format!("MODIFY COLUMN {}", w.column_in(after, a)));
        let narrowing = b.data_type != a.data_type && !widens(&b.data_type, &a.data_type);
        match (narrowing, b.nullable && !a.nullable) {
            (true, _) => w.review(
                sql,
                format!(
                    "changes \"{table}\".\"{}\" from {} to {}: values that do not fit fail the statement or are cut",
                    a.name, b.data_type, a.data_type
                ),
            ),
            (false, true) => w.review(
                sql,
                format!("fails if any row of \"{table}\" has NULL in \"{}\"", a.name),
            ),
            _ => w.push(sql),
        }
        return;
    }
    // A default of the old type may not cast to the new one: it goes first, and comes back after.
    let retype = b.data_type != a.data_type;
    // An identity's sequence takes the column's type: bounds that fit only the
    // old type are set before a narrowing, bounds of a wider one after it.
    // (The same clause on another type may still differ: the type moved its bounds.)
    let identities = b
        .identity
        .as_deref()
        .zip(a.identity.as_deref())
        .filter(|(x, i)| x != i || retype);
    let narrows = {
        let (old, new) = (Sequence::range(&b.data_type), Sequence::range(&a.data_type));
        retype && (new.0 > old.0 || new.1 < old.1)
    };
    if let Some((x, i)) = identities.filter(|_| narrows) {
        identity_change(w, table, &col, (b, x), (a, i), true);
    }
    if retype && b.default.is_some() {
        let sql = w.alter(table, &format!("ALTER COLUMN {col} DROP DEFAULT"));
        w.push(sql);
    }
    if retype {
        let ty = &a.data_type;
        let using = if assigns(&b.data_type, ty) {
            String::new()
        } else if through_text(w, &b.data_type, ty) {
            format!(" USING {col}::text::{ty}")
        } else {
            format!(" USING {col}::{ty}")
        };
        let sql = w.alter(table, &format!("ALTER COLUMN {col} TYPE {ty}{using}"));
        if widens(&b.data_type, &a.data_type) {
            w.push(sql);
        } else {
            w.review(
                sql,
                format!(
                    "changes \"{table}\".\"{}\" from {} to {}: values that do not convert fail the statement or are cut",
                    a.name, b.data_type, a.data_type
                ),
            );
        }
    }
    if b.default.is_some() && a.default.is_none() && !retype {
        let sql = w.alter(table, &format!("ALTER COLUMN {col} DROP DEFAULT"));
        w.push(sql);
    }
    if b.identity.is_some() && a.identity.is_none() {
        let sql = w.alter(table, &format!("ALTER COLUMN {col} DROP IDENTITY"));
        w.push(sql);
    }
    if b.nullable != a.nullable {
        if a.nullable {
            let sql = w.alter(table, &format!("ALTER COLUMN {col} DROP NOT NULL"));
            w.push(sql);
        } else {
            let sql = w.alter(table, &format!("ALTER COLUMN {col} SET NOT NULL"));
            w.review(
                sql,
                format!("fails if any row of \"{table}\" has NULL in \"{}\"", a.name),
            );
        }
    }
    if let (None, Some(i)) = (&b.identity, &a.identity) {
        let sql = w.alter(table, &format!("ALTER COLUMN {col} ADD {i}"));
        w.push(sql);
    }
    if let Some((x, i)) = identities.filter(|_| !narrows) {
        identity_change(w, table, &col, (b, x), (a, i), false);
    }
    if let Some(def) = &a.default {
        if b.default.as_ref() != Some(def) || retype {
            let sql = w.alter(table, &format!("ALTER COLUMN {col} SET DEFAULT {def}"));
            w.push(sql);
        }
    }
}

/// A PostgreSQL identity column whose kind or options change (its clause
/// `x` before, `i` after): `SET GENERATED`, and `SET` for each option of its
/// sequence that changes. Its next value stays where it is (no `RESTART`):
/// numbers already handed out are never handed out again. `before_retype`:
/// written before the column's type narrows (else after any type change,
/// which moved the bounds that were the old type's to the new type's).
fn identity_change(
    w: &mut Writer<'_>,
    table: &str,
    col: &str,
    (b, x): (&Column, &str),
    (a, i): (&Column, &str),
    before_retype: bool,
) {
    let kind = |clause: &str| {
        if clause.contains("ALWAYS") {
            "ALWAYS"
        } else {
            "BY DEFAULT"
        }
    };
    let mut sets = Vec::new();
    if kind(x) != kind(i) {
        sets.push(format!("SET GENERATED {}", kind(i)));
    }
    let mut narrows = None;
    if let (Some(mut before), Some(after)) = (
        Sequence::of_identity(x, &b.data_type),
        Sequence::of_identity(i, &a.data_type),
    ) {
        // A type change takes the sequence along (`ALTER COLUMN … TYPE`), and
        // moves each bound that was the old type's own to the new type's.
        if before.data_type != after.data_type {
            let (old, new) = (Sequence::range(&before.data_type), Sequence::range(&after.data_type));
            if !before_retype {
                if before.max == old.1 {
                    before.max = new.1;
                }
                if before.min == old.0 {
                    before.min = new.0;
                }
            }
            before.data_type.clone_from(&after.data_type);
        }
        sets.extend(changes(&before, &after).into_iter().map(|o| format!("SET {o}")));
        narrows = (after.min > before.min || after.max < before.max).then(|| option_changes(&before, &after));
    }
    if sets.is_empty() {
        return;
    }
    let sql = w.alter(table, &format!("ALTER COLUMN {col} {}", sets.join(" ")));
    match narrows {
        Some(what) => w.review(
            sql,
            format!(
                "narrows the identity of \"{table}\".\"{}\" ({what}): fails if its current value is outside the new bounds",
                a.name
            ),
        ),
        None => w.push(sql),
    }
}

/// PostgreSQL: whether a column goes from `from` to `to` through its text,
/// there being no cast between the two: an enum type of either schema and
/// anything but a string (`smallint` to an enum has no cast, and
/// `USING c::e` is refused whatever the rows; through `text`, each value
/// converts by its label, and one that is no label fails, as the review says).
fn through_text(w: &Writer<'_>, from: &str, to: &str) -> bool {
    let is_enum = |ty: &str| {
        let name = ty.trim_matches('"');
        w.before.enums.contains_key(name) || w.after.enums.contains_key(name)
    };
    let plain = |ty: &str| !is_string(ty) && !is_array(ty);
    w.d == Dialect::Postgres && (is_enum(from) || is_enum(to)) && plain(from) && plain(to)
}

#[cfg(test)]
mod tests {
    use crate::schema::model::{Column, Schema, Table};
    use crate::schema::{Dialect, Renames, generate};

    fn table(columns: &[(&str, &str, bool)]) -> Schema {
        let t = Table {
            name: "t".into(),
            columns: columns
                .iter()
                .map(|&(name, data_type, nullable)| Column {
                    name: name.into(),
                    data_type: data_type.into(),
                    nullable,
                    ..Column::default()
                })
                .collect(),
            ..Table::default()
        };
        Schema {
            tables: [("t".to_owned(), t)].into(),
            ..Schema::default()
        }
    }

    #[test]
    fn a_not_null_column_is_for_review_unless_something_fills_it() {
        let before = table(&[("x", "integer", true)]);
        for (data_type, review) in [("integer", true), ("serial", false), ("bigserial", false)] {
            let after = table(&[("x", "integer", true), ("id", data_type, false)]);
            let g = generate(Dialect::Postgres, &before, &after, &Renames::default(), true).unwrap();
            let added = &g.upgrade.statements[0];
            assert!(added.sql.contains("ADD COLUMN id"), "{}", added.sql);
            assert_eq!(added.review.is_some(), review, "{data_type}: {:?}", added.review);
        }
    }
}
