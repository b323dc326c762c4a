//! PostgreSQL sequences matched by name: added, removed, options changed,
//! and `OWNED BY` changed (compared in the later names of renamed tables
//! and columns, which a sequence's owner follows).

use super::{Detected, Diff, line};
use crate::schema::model::{Column, Schema, Sequence, serial_base, serial_sequence_name};

/// Fills the sequences of `d`, whose tables are compared already.
pub(super) fn compare_sequences<'a>(before: &'a Schema, after: &'a Schema, d: &mut Diff<'a>) {
    for (name, b) in &before.sequences {
        let Some(a) = after.sequences.get(name) else {
            d.sequences.removed.push(b);
            continue;
        };
        if !b.same_options(a) {
            d.sequences.changed.push((b, a));
        }
        if later_owner(d, b) != a.owned_by {
            d.sequences_reowned.push((b, a));
        }
    }
    d.sequences.added = after
        .sequences
        .iter()
        .filter(|(n, _)| !before.sequences.contains_key(*n))
        .map(|(_, a)| a)
        .collect();
}

/// The owner of the earlier sequence `s` in the later names.
fn later_owner(d: &Diff<'_>, s: &Sequence) -> Option<(String, String)> {
    let (table, column) = s.owned_by.as_ref()?;
    match d.tables_changed.iter().find(|t| t.before.name == *table) {
        Some(t) => {
            let column = t.new_name_of(column).unwrap_or(column);
            Some((t.after.name.clone(), column.to_owned()))
        }
        None => Some((table.clone(), column.clone())),
    }
}

fn owner(o: &Option<(String, String)>) -> String {
    match o {
        Some((t, c)) => format!("\"{t}\".\"{c}\""),
        None => "nothing".to_owned(),
    }
}

/// What differs between two sequences' options, as `increment 1 to 5, cycle false to true`.
pub(crate) fn option_changes(b: &Sequence, a: &Sequence) -> String {
    let mut out = Vec::new();
    if b.data_type != a.data_type {
        out.push(format!("type {} to {}", b.data_type, a.data_type));
    }
    for (what, x, y) in [
        ("start", b.start, a.start),
        ("increment", b.increment, a.increment),
        ("min", b.min, a.min),
        ("max", b.max, a.max),
        ("cache", b.cache, a.cache),
    ] {
        if x != y {
            out.push(format!("{what} {x} to {y}"));
        }
    }
    if b.cycle != a.cycle {
        out.push(format!("cycle {} to {}", b.cycle, a.cycle));
    }
    out.join(", ")
}

/// Sequences added, changed and owned otherwise: lines before the tables'.
pub(super) fn added_or_changed(out: &mut Vec<Detected>, d: &Diff<'_>) {
    for s in d.sequences.added.iter().filter(|s| !is_kept_serial(d, s)) {
        out.push(line(format!("Detected added sequence \"{}\"", s.name), false));
    }
    for (b, a) in &d.sequences.changed {
        out.push(line(
            format!("Detected changed sequence \"{}\" ({})", a.name, option_changes(b, a)),
            false,
        ));
    }
    for (b, a) in &d.sequences_reowned {
        out.push(line(
            format!(
                "Detected sequence \"{}\" owned by {} instead of {}",
                a.name,
                owner(&a.owned_by),
                owner(&later_owner(d, b))
            ),
            false,
        ));
    }
}

/// Sequences removed: lines after the tables'.
pub(super) fn removed(out: &mut Vec<Detected>, d: &Diff<'_>) {
    for s in d.sequences.removed.iter().filter(|s| !is_kept_serial(d, s)) {
        out.push(line(format!("Detected removed sequence \"{}\"", s.name), true));
    }
}

/// A column of `table` going from a serial to its plain type (`b` to `a`)
/// while the serial's sequence stays, owned by it (its default dropped), or
/// back: the sequence's name. `after` finds a sequence of the schema it goes
/// to, `before` of the one it comes from (a serial's sequence is hidden in
/// its column, so it shows on the plain side alone).
pub(crate) fn kept_serial<'s>(
    (table, b, a): (&str, &Column, &Column),
    after: impl Fn(&str) -> Option<&'s Sequence>,
    before: impl Fn(&str) -> Option<&'s Sequence>,
) -> Option<String> {
    let base = serial_base;
    let sequence = serial_sequence_name(table, &a.name);
    let owned = |s: &Sequence| s.owned_by.as_ref() == Some(&(table.to_owned(), a.name.clone()));
    let kept = match (base(&b.data_type), base(&a.data_type)) {
        (Some(plain), None) => a.data_type == plain && after(&sequence).is_some_and(owned),
        (None, Some(plain)) => b.data_type == plain && before(&sequence).is_some_and(owned),
        _ => false,
    };
    kept.then_some(sequence)
}

/// [`kept_serial`] read from a diff's sequences added and removed.
pub(super) fn kept_serial_in(d: &Diff<'_>, table: &str, b: &Column, a: &Column) -> Option<String> {
    kept_serial(
        (table, b, a),
        |name| d.sequences.added.iter().copied().find(|s| s.name == name),
        |name| d.sequences.removed.iter().copied().find(|s| s.name == name),
    )
}

/// Whether `s` is the sequence of a [`kept_serial`] column of `d`.
fn is_kept_serial(d: &Diff<'_>, s: &Sequence) -> bool {
    d.tables_changed.iter().any(|t| {
        t.columns_changed
            .iter()
            .any(|(b, a)| kept_serial_in(d, &t.after.name, b, a).as_deref() == Some(s.name.as_str()))
    })
}
