//! `history --graph` and `history --format dot|mermaid`: the revision graph
//! drawn by `migrate_core::graph::picture`, with what the database's history
//! says of each revision (its current heads, its failed rows).

use super::args::GraphFormat;
use super::output::Output;
use migrate_core::Graph;
use migrate_core::graph::picture::{self, Seen};
use migrate_core::history::{self, State};
use migrate_core::squash::Replaced;
use migrate_runtime::HistoryEntry;

/// Prints the picture of `graph`, marked from `entries` when a database was read.
pub(crate) fn print(graph: &Graph<'_>, entries: Option<&[HistoryEntry]>, format: Option<GraphFormat>, out: &Output) {
    let seen = seen(graph, entries.unwrap_or_default());
    match format {
        None => {
            for line in picture::text(graph, &seen) {
                out.result(&line);
            }
            // A repeatable's row and a squashed revision's (a baseline stands for it) are no newer build's.
            let replaced = Replaced::of(graph);
            let unknown: Vec<&str> = entries
                .unwrap_or_default()
                .iter()
                .filter(|e| {
                    !e.known && !crate::repeatables::is(&e.revision) && replaced.baseline_of(&e.revision).is_none()
                })
                .map(|e| e.revision.as_str())
                .collect();
            if !unknown.is_empty() {
                out.note(&format!(
                    "the database also has revisions this folder does not know (a newer build's), not drawn: {}",
                    unknown.join(", ")
                ));
            }
        }
        Some(GraphFormat::Dot) => out.result(picture::dot(graph, &seen).trim_end()),
        Some(GraphFormat::Mermaid) => out.result(picture::mermaid(graph, &seen).trim_end()),
    }
}

/// What the history rows say of each revision of `graph`, by position.
fn seen(graph: &Graph<'_>, entries: &[HistoryEntry]) -> Vec<Seen> {
    let mut seen = vec![Seen::default(); graph.len()];
    let replaced = Replaced::of(graph);
    for id in current_heads(graph, entries) {
        // A database whose rows are the squashed revisions stands at their baseline.
        if let Some(i) = graph.position(id).or_else(|| replaced.baseline_of(id)) {
            seen[i].current = true;
        }
    }
    for e in entries {
        let failed = e.applied.as_ref().is_some_and(|a| a.state.is_failed());
        if let (true, Some(i)) = (failed, graph.position(&e.revision)) {
            seen[i].failed = true;
        }
    }
    seen
}

/// The database's current heads, from its history rows (`history::current_heads`).
pub(crate) fn current_heads<'a>(graph: &Graph<'_>, entries: &'a [HistoryEntry]) -> Vec<&'a str> {
    let applied_rows: Vec<(&str, Vec<&str>)> = entries
        .iter()
        .filter(|e| e.applied.as_ref().is_some_and(|a| a.state == State::Applied))
        .map(|e| {
            (
                e.revision.as_str(),
                e.down_revisions.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    history::current_heads(graph, &applied_rows)
}
