//! How `history` marks the lines it lists before the graph's revisions: a
//! repeatable revision's (`repeatable:<name>`), the newest since an upgrade
//! to head applies them last, and a revision this build does not know.

use migrate_core::{Graph, Phase};
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
/// repeatable's ([`repeatable_marks`]), a revision a squash baseline of
/// `graph` replaced, or one unknown to this build with its phase.
pub(crate) fn marks(graph: &Graph<'_>, e: &HistoryEntry) -> Vec<&'static str> {
    match e.phase {
        _ if is(&e.revision) => repeatable_marks(e),
        _ if graph.iter().any(|m| m.replaces().any(|r| r == e.revision)) => vec!["squashed into a baseline"],
        Some(Phase::Expand) => vec!["unknown to this build", "expand"],
        Some(Phase::Backfill) => vec!["unknown to this build", "backfill"],
        Some(Phase::Contract) => vec!["unknown to this build", "contract"],
        None => vec!["unknown to this build"],
    }
}

/// The marks of a repeatable's line: `repeatable`, then `applied`, its
/// row's state when it failed or is under way, `changed` when its file no
/// longer hashes as its row recorded, `not applied` when it has no row,
/// and `no file` for a row whose file is gone.
fn repeatable_marks(e: &HistoryEntry) -> Vec<&'static str> {
    let mut marks = vec!["repeatable"];
    match &e.applied {
        Some(a) => marks.push(a.state.as_str()),
        None => marks.push("not applied"),
    }
    if !e.known {
        marks.push("no file");
    } else if e.due && e.applied.is_some() {
        marks.push("changed: applied again by the next upgrade to head");
    }
    marks
}
