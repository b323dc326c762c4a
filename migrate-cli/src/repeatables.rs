//! How `history` marks the lines it lists before the graph's revisions: a
//! repeatable revision's (`repeatable:<name>`), the newest since an upgrade
//! to head applies them last, and a revision this build does not know; and
//! the repeatables due that `--plan` and `--rehearse` list ([`due`]).

use migrate_core::Phase;
use migrate_core::squash::Replaced;
use migrate_core::{Migration, State};
use migrate_runtime::HistoryEntry;

/// Whether a history line is a repeatable's.
pub(crate) fn is(revision: &str) -> bool {
    migrate_core::repeatable::is_repeatable(revision)
}

/// Whether `history` lists an entry before the graph's revisions: a
/// revision this build does not know, or a repeatable.
pub(crate) fn listed(e: &HistoryEntry) -> bool {
    !e.known || is(&e.revision)
}

/// The marks of a line [`listed`] before the graph's revisions: a
/// repeatable's ([`repeatable_marks`], against its file among `repeatables`),
/// a revision a squash baseline replaced (`replaced`, the graph's), or one
/// unknown to this build with its phase.
pub(crate) fn marks(replaced: &Replaced<'_>, repeatables: &[Migration], e: &HistoryEntry) -> Vec<&'static str> {
    match e.phase {
        _ if is(&e.revision) => repeatable_marks(e, repeatables.iter().find(|m| m.revision() == e.revision)),
        _ if replaced.baseline_of(&e.revision).is_some() => vec!["squashed into a baseline"],
        Some(Phase::Expand) => vec!["unknown to this build", "expand"],
        Some(Phase::Backfill) => vec!["unknown to this build", "backfill"],
        Some(Phase::Contract) => vec!["unknown to this build", "contract"],
        None => vec!["unknown to this build"],
    }
}

/// The marks of a repeatable's line: `repeatable`, then `applied`, its
/// row's state when it failed or is under way, or `not applied` when it has
/// no row; then `no file` for a row whose file is gone, or why the next
/// upgrade to head applies it again ([`Due`]).
fn repeatable_marks(e: &HistoryEntry, file: Option<&Migration>) -> Vec<&'static str> {
    let mut marks = vec!["repeatable"];
    match &e.applied {
        Some(a) => marks.push(a.state.as_str()),
        None => marks.push("not applied"),
    }
    match Due::of(e, file) {
        _ if !e.known => marks.push("no file"),
        Some(Due::Changed) => marks.push("changed: applied again by the next upgrade to head"),
        Some(Due::UnderOneThatRuns) => {
            marks.push("depends on one that runs: applied again by the next upgrade to head")
        }
        Some(Due::Unfinished(_)) => marks.push("applied again by the next upgrade to head"),
        Some(Due::New) | None => {}
    }
    marks
}

/// Why the next upgrade to head applies a repeatable (the runtime's
/// `HistoryEntry::due`, read from core's `history::pending_repeatables`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    /// It has no row.
    New,
    /// Its row is in this state, not applied.
    Unfinished(State),
    /// Its file no longer hashes as its row recorded.
    Changed,
    /// One it depends on (`-- depends_on: repeatable:NAME`) runs.
    UnderOneThatRuns,
}

impl Due {
    /// Why `e` (its file `file`) is due, if it is.
    fn of(e: &HistoryEntry, file: Option<&Migration>) -> Option<Due> {
        if !e.due {
            return None;
        }
        Some(match &e.applied {
            None => Due::New,
            Some(a) if a.state != State::Applied => Due::Unfinished(a.state),
            Some(a) if file.is_none_or(|m| a.checksum != m.checksum().to_string()) => Due::Changed,
            Some(_) => Due::UnderOneThatRuns,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Due::New => "new",
            Due::Unfinished(state) => state.as_str(),
            Due::Changed => "changed",
            Due::UnderOneThatRuns => "depends on one that runs",
        }
    }
}

/// The repeatables an upgrade to head would apply after its steps on a
/// database whose history reads `history` (its entries' `due`), in the order
/// they run, each as `repeatable:<name> (why)`: `new` (no row), its row's
/// state when not applied, `changed`, or `depends on one that runs`. What
/// `--plan` and `--rehearse` list.
pub(crate) fn due(migrations: &migrate_runtime::Migrations, history: &[HistoryEntry]) -> Vec<String> {
    history
        .iter()
        .filter_map(|e| {
            let file = migrations.repeatables().iter().find(|m| m.revision() == e.revision);
            Due::of(e, file).map(|why| format!("{} ({})", e.revision, why.as_str()))
        })
        .collect()
}

/// [`due`] on the database `db` for an upgrade to `target` whose planned
/// steps are `steps` (revision ids, in order): none unless it goes to the
/// head (`head`, the head's id, `+N` reaching it: core's
/// `plan::reaches_head`) with no phase holding it back.
pub(crate) async fn due_on(
    migrator: &migrate_runtime::Migrator<'_>,
    migrations: &migrate_runtime::Migrations,
    db: &mut migrate_runtime::server::Database,
    (target, steps): (&migrate_core::Target, Vec<&str>),
    phase: Option<Phase>,
) -> migrate_runtime::Result<Vec<String>> {
    let graph = migrations.graph().map_err(migrate_runtime::Error::Invalid)?;
    let plan = migrate_core::Plan {
        direction: migrate_core::Direction::Upgrade,
        steps: steps.iter().filter_map(|r| graph.position(r)).collect(),
    };
    if !migrate_core::plan::reaches_head(&graph, target, &plan)
        || phase.is_some()
        || migrations.repeatables().is_empty()
    {
        return Ok(Vec::new());
    }
    Ok(due(migrations, &migrator.history(db).await?))
}

/// The repeatable `revision` (`repeatable:<name>`) of `repeatables`, for
/// `show`; else an error listing the names there are.
pub(crate) fn named<'a>(
    repeatables: &'a [migrate_core::Migration],
    revision: &str,
) -> Result<&'a migrate_core::Migration, crate::error::CliError> {
    repeatables.iter().find(|m| m.revision() == revision).ok_or_else(|| {
        let names: Vec<&str> = repeatables.iter().map(|m| m.revision()).collect();
        crate::error::CliError::Usage(format!(
            "no repeatable revision is named `{revision}` (a file repeatable/{}.sql); the folder's are: {}",
            migrate_core::repeatable::name_of(revision),
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        ))
    })
}

/// What `show repeatable:<name>` prints: the repeatable's file, checksum,
/// what it depends on, and its SQL (it has no parents, children or downgrade).
pub(crate) fn shown(m: &migrate_core::Migration, out: &crate::output::Output) -> String {
    let after: Vec<&str> = m.runs_after().collect();
    format!(
        "Rev: {}{}\nDepends on: {}\nPath: {}\nChecksum: {}\nTransaction: {}\nRuns: after an upgrade to head, whenever its checksum differs from its history row's\n\n    {}\n\n-- migrate:upgrade\n{}",
        out.paint(m.revision(), crate::output::Style::Id),
        out.paint(" (repeatable)", crate::output::Style::Mark),
        if after.is_empty() {
            "nothing".to_owned()
        } else {
            after.join(", ")
        },
        m.file(),
        m.checksum(),
        if m.no_transaction() {
            "no (-- migrate:no-transaction)"
        } else {
            "yes"
        },
        m.message(),
        m.upgrade_sql().trim_end(),
    )
}

/// The note of an upgrade that left repeatables as a newer build wrote them
/// ([`migrate_runtime::Report::repeatables_left`]), if it did.
pub(crate) fn left_note(report: &migrate_runtime::Report) -> Option<String> {
    if report.repeatables_left.is_empty() {
        return None;
    }
    Some(format!(
        "Applied no repeatable revision ({} differ from this folder's files): the database holds revisions this folder does not know, so a newer build migrated it and its repeatables are that build's.",
        report.repeatables_left.join(", ")
    ))
}
