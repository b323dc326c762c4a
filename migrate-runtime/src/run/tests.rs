//! The history as the runtime reads it, from rows, without a database.

use super::*;

/// A migration from its file text.
fn parsed(file: &str, text: &str) -> Migration {
    migrate_core::format::parse(file, text).expect("a valid file").migration
}

/// A finished row of `revision`.
fn row(revision: &str, parents: &str) -> HistoryRow {
    HistoryRow {
        revision: revision.into(),
        down_revisions: parents.into(),
        message: String::new(),
        checksum: "sha256:old".into(),
        state: State::Applied,
        applied_at: "2026-01-01 00:00:00".into(),
        execution_ms: 1,
        error: None,
        phase: None,
        no_transaction: false,
        downgrade: None,
        downgrade_checksum: None,
        statements_done: None,
        backfill: None,
    }
}

/// The baseline of a database whose rows are the revisions it replaced reads
/// as applied, standing on its squash point's row: `history` (and so
/// `Migrations::require`, the CLI's `history`) says so, as every run does.
#[test]
fn a_baseline_stands_on_its_squash_points_row() {
    let base = parsed(
        "migrations/x_base.sql",
        "-- base\n-- revision: x\n-- down_revision:\n-- migrate:replaces: a, b, c\n-- migrate:squashed: v1\n\n-- migrate:upgrade\nCREATE TABLE t (id integer);\n",
    );
    let d = parsed(
        "migrations/d_m.sql",
        "-- d\n-- revision: d\n-- down_revision: x\n\n-- migrate:upgrade\nCREATE TABLE u (id integer);\n",
    );
    let migrations = Migrations::new(vec![base, d]).expect("valid");
    let run = migrations.migrator().run().expect("a run");
    let applied = |rows: Vec<HistoryRow>, id: &str| {
        let entries = run.history_of(rows).expect("read");
        let e = entries.iter().find(|e| e.revision == id).expect("listed");
        e.applied.as_ref().map(|a| a.applied_at.clone())
    };
    let old = vec![row("a", ""), row("b", "a"), row("c", "b")];
    assert_eq!(applied(old.clone(), "x").as_deref(), Some("2026-01-01 00:00:00"));
    assert_eq!(applied(old.clone(), "d"), None);
    // The old rows are still listed, as revisions this list does not know.
    let entries = run.history_of(old).expect("read");
    assert!(
        entries
            .iter()
            .any(|e| e.revision == "c" && !e.known && e.applied.is_some())
    );
    // Inside the range: the baseline is not applied.
    assert_eq!(applied(vec![row("a", ""), row("b", "a")], "x"), None);
}
