//! Squash baselines: one revision that stands for the revisions
//! `migrate squash` replaced, so that databases which ran those keep working.
//!
//! A baseline is a root whose header says `-- migrate:replaces: a, b, …, P`
//! (the replaced ids in application order, `P`, the squash point, last) and
//! `-- migrate:squashed: RELEASE` (the last release that still has them).
//! Reading a history ([`crate::history::status`]):
//! - rows of replaced revisions that include `P` stand for the baseline, which
//!   counts as applied (nothing above it is run again);
//! - rows of replaced revisions without `P` are a database stopped inside the
//!   squashed range: [`HistoryProblem::InsideSquash`], refused before any
//!   statement, naming the release that can take it to `P`; a second squash
//!   carries each earlier one as `-- migrate:squashed: RELEASE (up to POINT)`
//!   (innermost first), so the innermost squash it stopped inside is named.
//!
//! [`range`] is what `migrate squash` may squash: `P` and its ancestors, when
//! every revision above reaches them only through `P`.

use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::graph::Graph;
use crate::history::HistoryProblem;
use crate::target::TargetError;
use std::collections::HashMap;

/// The replaced ids of a graph's baselines, each with its baseline's position.
#[derive(Debug, Clone, Default)]
pub struct Replaced<'g> {
    by: HashMap<&'g str, usize>,
}

impl<'g> Replaced<'g> {
    /// The replaced ids of `graph`'s baselines.
    pub fn of(graph: &Graph<'g>) -> Replaced<'g> {
        let mut by = HashMap::new();
        for (i, m) in graph.iter().enumerate() {
            by.extend(m.replaces().map(|id| (id, i)));
        }
        Replaced { by }
    }

    /// The position of the baseline that replaced `id`, if one did.
    pub fn baseline_of(&self, id: &str) -> Option<usize> {
        self.by.get(id).copied()
    }

    /// Whether the graph has no baseline.
    pub fn is_empty(&self) -> bool {
        self.by.is_empty()
    }
}

/// What a history's applied revisions say about a graph's baselines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StandIns<'r> {
    /// Baselines (graph positions) that count as applied: the history holds
    /// their squash point.
    pub applied: Vec<usize>,
    /// The history's revisions a baseline replaced: neither unknown nor
    /// checked against a file, whether or not their baseline counts as applied.
    pub replaced: Vec<&'r str>,
    /// Each baseline whose range the history stopped inside.
    pub inside: Vec<HistoryProblem>,
}

/// Reads `applied` (the ids of a history's finished rows) against the
/// baselines of `graph`.
pub fn stand_ins<'r>(graph: &Graph<'_>, applied: &[&'r str]) -> StandIns<'r> {
    let mut out = StandIns::default();
    for (b, m) in graph.iter().enumerate() {
        let Some(point) = m.replaces().last() else { continue };
        let replaces: std::collections::HashSet<&str> = m.replaces().collect();
        let held: Vec<&'r str> = applied.iter().copied().filter(|id| replaces.contains(id)).collect();
        if held.is_empty() {
            continue;
        }
        if held.contains(&point) {
            // A history holding the baseline's own row as well counts it once.
            if !applied.contains(&m.revision()) {
                out.applied.push(b);
            }
        } else {
            // The innermost squash it stopped inside: an earlier one this
            // baseline carries, else its own.
            let ids: Vec<&str> = m.replaces().collect();
            let own = (m.squashed().unwrap_or_default(), point);
            let (release, point) = m
                .squash_groups()
                .find(|&(_, p)| {
                    let upto = ids.iter().position(|id| *id == p).map_or(0, |at| at + 1);
                    !held.contains(&p) && held.iter().any(|h| ids[..upto].contains(h))
                })
                .unwrap_or(own);
            out.inside.push(HistoryProblem::InsideSquash {
                applied: held.iter().map(|id| (*id).to_owned()).collect(),
                baseline: m.revision().to_owned(),
                point: point.to_owned(),
                release: release.to_owned(),
            });
        }
        out.replaced.extend(held);
    }
    out
}

/// A folder's baselines whose replaced ids are still revisions of the
/// folder, or that two baselines both replace: `nodes` gives each
/// revision's id, file and replaced ids.
pub(crate) fn replaced_problems<'a>(
    nodes: impl Iterator<Item = (&'a str, &'a str, &'a [&'a str])> + Clone,
) -> Vec<Diagnostic> {
    let ids: HashMap<&str, &str> = nodes.clone().map(|(id, file, _)| (id, file)).collect();
    let mut by: HashMap<&str, &str> = HashMap::new();
    let mut problems = Vec::new();
    for (id, file, replaces) in nodes {
        for &r in replaces {
            if let Some(other) = ids.get(r) {
                problems.push(
                    Diagnostic::new(
                        DiagnosticKind::BadHeader,
                        format!("the baseline `{id}` replaces `{r}`, which is still a revision of the folder ({other})"),
                    )
                    .in_file(file)
                    .with_help(format!(
                        "a squashed revision's file leaves the folder (`migrate squash` moves it to `squashed/{id}/`): move or delete {other}, or take `{r}` out of `-- migrate:replaces:`"
                    )),
                );
            }
            if let Some(first) = by.insert(r, id).filter(|first| *first != id) {
                problems.push(
                    Diagnostic::new(
                        DiagnosticKind::BadHeader,
                        format!("`{r}` is replaced by two baselines, `{first}` and `{id}`"),
                    )
                    .in_file(file)
                    .with_help("a revision is squashed once: a later squash lists the earlier baseline's replaced ids in its own `-- migrate:replaces:` and removes that baseline"),
                );
            }
        }
    }
    problems
}

/// What a target naming `id` means when a baseline of `graph` replaced it:
/// the squash point names the baseline (which stands for the revisions up
/// to it); any other replaced id is inside the squashed range, where this
/// list cannot stop ([`TargetError::Squashed`]). `None`: no baseline replaced `id`.
pub fn target(graph: &Graph<'_>, id: &str) -> Option<Result<usize, TargetError>> {
    let b = Replaced::of(graph).baseline_of(id)?;
    let m = graph.get(b);
    let (point, release) = group_of(m, id);
    Some(match m.replaces().last() == Some(id) {
        true => Ok(b),
        false => Err(TargetError::Squashed {
            id: id.to_owned(),
            baseline: m.revision().to_owned(),
            point: point.to_owned(),
            release: release.to_owned(),
        }),
    })
}

/// The baseline's squash point, and the release of the innermost squash
/// that replaced `id` (one of `baseline`'s replaced ids, not the point of
/// that squash): the last release that has `id`.
fn group_of<'m>(baseline: &'m crate::migration::Migration, id: &str) -> (&'m str, &'m str) {
    let ids: Vec<&str> = baseline.replaces().collect();
    let at = ids.iter().position(|r| *r == id).unwrap_or(usize::MAX);
    let release = baseline
        .squash_groups()
        .find(|&(_, p)| ids.iter().position(|r| *r == p).is_some_and(|end| at < end))
        .map_or(baseline.squashed().unwrap_or_default(), |(release, _)| release);
    (ids.last().copied().unwrap_or_default(), release)
}

/// The suffix of a `-- migrate:squashed:` line naming an earlier squash's point.
const UP_TO: &str = " (up to ";

/// An earlier squash's `-- migrate:squashed: RELEASE (up to POINT)` value,
/// as `(release, point)`.
pub(crate) fn group(line: &str) -> Option<(&str, &str)> {
    let (release, point) = line.strip_suffix(')')?.rsplit_once(UP_TO)?;
    Some((release.trim(), point.trim()))
}

/// The `-- migrate:squashed:` values a baseline over `range` carries before
/// its own release: those of each baseline inside it (a second squash), then
/// that baseline's own release with its point, innermost first.
pub fn carried(graph: &Graph<'_>, range: &Range) -> Vec<String> {
    let mut lines = Vec::new();
    for m in range.squashed.iter().map(|&i| graph.get(i)) {
        let (Some(release), Some(point)) = (m.squashed(), m.replaces().last()) else {
            continue;
        };
        lines.extend(m.squash_groups().map(|(r, p)| format!("{r}{UP_TO}{p})")));
        lines.push(format!("{release}{UP_TO}{point})"));
    }
    lines
}

/// The revisions `migrate squash --to P` replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// `P` and its ancestors (graph positions), in application order.
    pub squashed: Vec<usize>,
    /// `P`'s position.
    pub point: usize,
}

/// Why a revision cannot be the squash point.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// A revision outside the range needs one inside it other than the point.
    #[error(
        "revision `{outside}` ({file}) needs `{inside}`, which would be squashed without `{point}`: every revision left above the squash point must reach the squashed ones only through it; squash to a revision that `{outside}` descends from (a merge point above both branches), or squash to `{inside}`'s side first"
    )]
    Crossing {
        /// The revision left in the folder.
        outside: String,
        /// Its file.
        file: String,
        /// The squashed revision it needs.
        inside: String,
        /// The squash point.
        point: String,
    },
}

/// `point` and its ancestors, when nothing else reaches into them.
pub fn range(graph: &Graph<'_>, point: usize) -> Result<Range, RangeError> {
    let inside = graph.ancestors(point);
    for i in (0..graph.len()).filter(|&i| !inside[i] && i != point) {
        if let Some(&n) = graph.needs(i).iter().find(|&&n| inside[n] && n != point) {
            return Err(RangeError::Crossing {
                outside: graph.get(i).revision().to_owned(),
                file: graph.get(i).file().to_owned(),
                inside: graph.get(n).revision().to_owned(),
                point: graph.get(point).revision().to_owned(),
            });
        }
    }
    Ok(Range {
        squashed: (0..graph.len()).filter(|&i| inside[i] || i == point).collect(),
        point,
    })
}

/// The ids a baseline over `range` replaces, in application order, the
/// squash point last: the range's revisions and, for a baseline inside it
/// (a second squash), the ids that one replaced.
pub fn replaced_ids(graph: &Graph<'_>, range: &Range) -> Vec<String> {
    // An earlier baseline's ids first, together, so that each earlier squash
    // is the ids up to its point (`carried`); they need nothing outside them.
    let mut ids: Vec<String> = range
        .squashed
        .iter()
        .flat_map(|&i| graph.get(i).replaces().map(str::to_owned))
        .collect();
    ids.extend(
        range
            .squashed
            .iter()
            .filter(|&&i| i != range.point)
            .map(|&i| graph.get(i).revision().to_owned()),
    );
    ids.push(graph.get(range.point).revision().to_owned());
    ids
}

#[cfg(test)]
mod tests;
