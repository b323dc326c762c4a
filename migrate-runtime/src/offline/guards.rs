//! The guards of a script: statements that stop it where an online run
//! would refuse on what it reads, since a script cannot read where the
//! database stands.

use super::{Framing, ScriptRange, push_history};
use crate::dialect::HistorySql;
use crate::table::HistoryTable;
use migrate_core::{Graph, Migration};
use std::fmt::Write as _;

/// Before unapplying `m`, a squash baseline: the script stops where an online
/// run refuses (`Error::BelowSquash`), on a database that ran the revisions
/// the baseline replaced (their rows, not the baseline's, stand for it).
pub(super) fn push_squash_guard(out: &mut String, framing: Framing<'_>, table: &HistoryTable, m: &Migration) {
    let dialect = framing.dialect;
    let replaced: Vec<&str> = m.replaces().collect();
    if replaced.is_empty() {
        return;
    }
    let why = format!(
        "this database ran the revisions the squash baseline {} replaced ({}), not the baseline: their rows cannot be unapplied one by one; downgrade to {} at most, or use {} (the last release that has those revisions)",
        m.revision(),
        replaced.join(", "),
        m.revision(),
        m.squashed().unwrap_or("the release that squashed them"),
    );
    let _ = writeln!(out, "\n-- Stops here if {why}.");
    push_history(out, framing, &dialect.fail_if_rows(table, &replaced, &why));
}

/// Before unapplying `m`: the script stops, having changed nothing more,
/// unless `m` is applied and nothing after it is, as an online run reads the
/// rows before it plans ([`push_upgrade_guard`] is the upgrade's).
pub(super) fn push_downgrade_guard(
    out: &mut String,
    framing: Framing<'_>,
    table: &HistoryTable,
    (m, range): (&Migration, &ScriptRange),
) {
    let why = format!(
        "this database is not where the script {range} starts: {} is not applied, or a revision after it still is; nothing more was changed (`migrate current` says where it stands; write the script from there)",
        m.revision()
    );
    let _ = writeln!(
        out,
        "\n-- Stops here unless {} is applied and nothing after it is.",
        m.revision()
    );
    push_history(
        out,
        framing,
        &framing.dialect.fail_unless_last_applied(table, m.revision(), &why),
    );
}

/// Before applying `m`: the script stops, having changed nothing more,
/// unless the parents it does not run itself (`assumed`, those of its range's
/// FROM) are applied, as an online run refuses a revision whose parent is not.
pub(super) fn push_upgrade_guard(
    out: &mut String,
    framing: Framing<'_>,
    table: &HistoryTable,
    (m, assumed, range): (&Migration, &[&str], &ScriptRange),
    graph: &Graph<'_>,
) {
    if assumed.is_empty() {
        return;
    }
    let why = format!(
        "this database is not where the script {range} starts: {} is not applied, which {} needs; nothing more was changed (`migrate current` says where it stands; write the script from there)",
        assumed.join(" or "),
        m.revision()
    );
    let _ = writeln!(out, "\n-- Stops here unless {} is applied.", assumed.join(" and "));
    push_history(
        out,
        framing,
        &framing
            .dialect
            .fail_unless_applied(table, &standing_for(graph, assumed), &why),
    );
}

/// Each of `revisions` with the id whose row also stands for it: a squash
/// baseline's squash point (the last revision it replaced), which a
/// database that ran those revisions holds instead of the baseline's row.
fn standing_for<'g>(graph: &'g Graph<'_>, revisions: &[&'g str]) -> Vec<Vec<&'g str>> {
    revisions
        .iter()
        .map(|&r| {
            let point = graph.position(r).and_then(|i| graph.get(i).replaces().last());
            std::iter::once(r).chain(point).collect()
        })
        .collect()
}
