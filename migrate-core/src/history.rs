//! What the history table says is applied, checked against the known revisions.
//!
//! Before any change, the runtime reads the history and calls [`verify`]:
//! every applied revision must be known (unless the caller opts out), must
//! hash as it did when it ran, and must have all its ancestors applied.

use crate::checksum::Checksum;
use crate::graph::Graph;
use crate::migration::{Migration, Phase};
use crate::plan::Direction;
use std::fmt;
use std::str::FromStr;

/// The state of a history row: the one definition that the runtime writes,
/// reads and reports, and that the build-time digest hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// The migration completed.
    Applied,
    /// Its upgrade is running outside a transaction (or a run died during it).
    Upgrading,
    /// Its downgrade is running outside a transaction (or a run died during it).
    Downgrading,
    /// Its upgrade failed part-way and could not be rolled back.
    UpgradeFailed,
    /// Its downgrade failed part-way and could not be rolled back.
    DowngradeFailed,
    /// A backfill stopped between batches (`max_duration`, a failed batch,
    /// a run that died): every committed batch is recorded in the row, and
    /// the next upgrade resumes after the last one. Not failed, not dirty.
    Backfilling,
}

impl State {
    /// A migration failed part-way in this state (`upgrade_failed`, `downgrade_failed`).
    pub fn is_failed(self) -> bool {
        matches!(self, State::UpgradeFailed | State::DowngradeFailed)
    }

    /// A process is applying or unapplying the revision (`upgrading`, `downgrading`).
    pub fn is_in_progress(self) -> bool {
        matches!(self, State::Upgrading | State::Downgrading)
    }

    /// Every state, in the order documented.
    pub const ALL: [State; 6] = [
        State::Applied,
        State::Upgrading,
        State::Downgrading,
        State::UpgradeFailed,
        State::DowngradeFailed,
        State::Backfilling,
    ];

    /// The text stored in the history table's `state` column.
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Upgrading => "upgrading",
            State::Downgrading => "downgrading",
            State::UpgradeFailed => "upgrade_failed",
            State::DowngradeFailed => "downgrade_failed",
            State::Backfilling => "backfilling",
        }
    }

    /// The state a row has while a step in `direction` runs and cannot be rolled back.
    pub const fn in_progress(direction: Direction) -> Self {
        match direction {
            Direction::Upgrade => State::Upgrading,
            Direction::Downgrade => State::Downgrading,
        }
    }

    /// The state a row keeps when a step in `direction` failed part-way.
    pub const fn failed(direction: Direction) -> Self {
        match direction {
            Direction::Upgrade => State::UpgradeFailed,
            Direction::Downgrade => State::DowngradeFailed,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for State {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for State {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A `state` column value this build does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a history row state this build knows (applied, upgrading, downgrading, upgrade_failed, downgrade_failed)"
)]
pub struct UnknownState(pub String);

impl FromStr for State {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        State::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_owned()))
    }
}

/// The applied heads of a history: the applied revisions that no other
/// applied revision names as a down_revision or needs through `depends_on`, in application order (revisions
/// the graph does not know, applied by a newer build, last, by id).
///
/// `applied` lists each applied row's revision and down_revisions, as stored.
pub fn current_heads<'a>(graph: &Graph<'_>, applied: &[(&'a str, Vec<&'a str>)]) -> Vec<&'a str> {
    let mut parents: std::collections::HashSet<&str> = applied.iter().flat_map(|(_, p)| p.iter().copied()).collect();
    // A revision a squash baseline replaced is no head once a row stands on that baseline.
    for (_, ps) in applied {
        for b in ps.iter().filter_map(|p| graph.position(p)) {
            parents.extend(graph.get(b).replaces());
        }
    }
    // A baseline listed beside its squash point's row (the row stands for it,
    // crate::squash) is the head there, not the point; a row above the point is above it too.
    let listed: std::collections::HashSet<&str> = applied.iter().map(|(r, _)| *r).collect();
    for b in applied.iter().filter_map(|(r, _)| graph.position(r)) {
        let Some(point) = graph.get(b).replaces().last() else {
            continue;
        };
        if !listed.contains(point) {
            continue;
        }
        match parents.contains(point) {
            true => parents.insert(graph.get(b).revision()),
            false => parents.insert(point),
        };
    }
    // What a known revision needs through `depends_on` is not a head either (Alembic's heads).
    for (revision, _) in applied {
        if let Some(i) = graph.position(revision) {
            parents.extend(graph.needs(i).iter().map(|&n| graph.get(n).revision()));
        }
    }
    let mut heads: Vec<&'a str> = applied
        .iter()
        .map(|(revision, _)| *revision)
        .filter(|revision| !parents.contains(revision) && !crate::repeatable::is_repeatable(revision))
        .collect();
    crate::sorting::sort_by(&mut heads, |revision| {
        ("", graph.position(revision).unwrap_or(usize::MAX), 0, revision)
    });
    heads.dedup();
    heads
}

/// One row of the history table, as far as verification needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedRevision {
    /// The revision id.
    pub revision: String,
    /// The checksum recorded when it ran, as stored (`sha256:<hex>`).
    pub checksum: String,
}

/// A disagreement between the history table and the known revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HistoryProblem {
    /// The migration changed after it was applied.
    ChecksumMismatch {
        /// The revision.
        revision: String,
        /// Its file.
        file: String,
        /// What the history table recorded.
        recorded: String,
        /// What the migration hashes to now.
        expected: Checksum,
    },
    /// The database has a revision this list does not know.
    Unknown {
        /// The revision.
        revision: String,
    },
    /// The history holds revisions a squash baseline replaced but not its
    /// squash point: the database stopped inside the squashed range, which
    /// this build cannot take further (see [`crate::squash`]).
    InsideSquash {
        /// The replaced revisions the history holds, in application order.
        applied: Vec<String>,
        /// The baseline that replaced them.
        baseline: String,
        /// The squash point, which the database must reach first.
        point: String,
        /// The last release that has the replaced revisions.
        release: String,
    },
    /// An applied revision whose ancestor is not applied.
    MissingAncestor {
        /// The applied revision.
        revision: String,
        /// The ancestor that is not applied.
        ancestor: String,
    },
}

impl fmt::Display for HistoryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HistoryProblem::ChecksumMismatch {
                revision,
                file,
                recorded,
                expected,
            } => write!(
                f,
                "revision `{revision}` ({file}) was applied with checksum {recorded} but now hashes to {expected}: its upgrade SQL was edited after it ran; restore the file as it was applied and put the change in a new revision (or, if the database already holds the edited schema, record that with `stamp --purge`)"
            ),
            HistoryProblem::Unknown { revision } => write!(
                f,
                "revision `{revision}` is applied in the database but unknown to this build (is the database ahead of this binary?), and it is not marked `-- migrate:phase: expand`, which an older build starts beside; deploy a build that has it, unapply it with the downgrade stored when it was applied (`use_stored_downgrade()`, `downgrade --use-stored-downgrade`), or opt in to ignoring unknown revisions (`ignore_unknown_revisions()`, `--ignore-unknown-revisions`)"
            ),
            HistoryProblem::InsideSquash {
                applied,
                baseline,
                point,
                release,
            } => write!(
                f,
                "this database is at `{}`, inside the revisions squashed into `{baseline}` (it holds {} but not `{point}`); upgrade it to `{point}` with {release} (the last release that has those revisions), then run this one",
                applied.last().map_or("", String::as_str),
                applied.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
            ),
            HistoryProblem::MissingAncestor { revision, ancestor } => write!(
                f,
                "revision `{revision}` is applied but its ancestor `{ancestor}` is not (was the history table edited by hand?); restore the row, or record where the database really stands with `stamp --purge`"
            ),
        }
    }
}

/// Checks the history against the graph and returns the applied set as a
/// membership vector by graph position, or every problem found.
pub fn verify(
    graph: &Graph<'_>,
    rows: &[AppliedRevision],
    ignore_unknown: bool,
) -> Result<Vec<bool>, Vec<HistoryProblem>> {
    let mut applied = vec![false; graph.len()];
    let mut problems = Vec::new();
    for row in rows {
        match graph.position(&row.revision) {
            Some(i) => {
                applied[i] = true;
                let m = graph.get(i);
                if row.checksum != m.checksum().to_string() {
                    problems.push(HistoryProblem::ChecksumMismatch {
                        revision: row.revision.clone(),
                        file: m.file().to_owned(),
                        recorded: row.checksum.clone(),
                        expected: m.checksum(),
                    });
                }
            }
            None if ignore_unknown => {}
            None => problems.push(HistoryProblem::Unknown {
                revision: row.revision.clone(),
            }),
        }
    }
    // Closed under ancestors: enough to check direct parents of each applied revision.
    for i in (0..graph.len()).filter(|&i| applied[i]) {
        for &p in graph.needs(i) {
            if !applied[p] {
                problems.push(HistoryProblem::MissingAncestor {
                    revision: graph.get(i).revision().to_owned(),
                    ancestor: graph.get(p).revision().to_owned(),
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(applied)
    } else {
        Err(problems)
    }
}

/// One history row as [`status`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row<'a> {
    /// The revision id.
    pub revision: &'a str,
    /// The checksum recorded when it ran, as stored.
    pub checksum: &'a str,
    /// Its state.
    pub state: State,
    /// Its phase, as its row stored it.
    pub phase: Option<Phase>,
}

/// Whether revisions the list does not know are accepted beyond the ones
/// marked `expand` (a newer build's additions, which an older one runs beside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// Only unknown revisions marked `expand` are accepted.
    ExpandOnly,
    /// Every unknown revision is accepted (`ignore_unknown_revisions`).
    Accept,
}

/// Where a database's history stands against a list: what `verify`, `wait`,
/// `current --check` and the start of every run read, from one function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Known revisions not applied (or half-done), in application order.
    pub pending: Vec<String>,
    /// Applied revisions the list does not know, accepted (marked `expand`,
    /// or all of them with [`Unknown::Accept`]).
    pub unknown: Vec<String>,
    /// Rows another process is applying or unapplying right now.
    pub in_progress: Vec<(String, State)>,
    /// Backfills stopped between batches ([`State::Backfilling`]), which the
    /// next upgrade resumes; pending too.
    pub backfilling: Vec<String>,
    /// The applied set as a membership vector by graph position.
    pub applied: Vec<bool>,
    /// Where the finished rows disagree with the list: drift, a missing
    /// ancestor, an unknown revision not accepted.
    pub problems: Vec<HistoryProblem>,
}

impl Status {
    /// Whether every known revision is applied, nothing is half-done, and the
    /// rows agree with the list.
    pub fn is_current(&self) -> bool {
        self.pending.is_empty()
            && self.in_progress.is_empty()
            && self.backfilling.is_empty()
            && self.problems.is_empty()
    }
}

/// A migration that failed part-way: no history with one can be used until a
/// human resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// The revision.
    pub revision: String,
    /// Its state (`upgrade_failed` or `downgrade_failed`).
    pub state: State,
}

/// The one reading of a history against a list. A failed row is an error;
/// an in-progress row is reported (a run refuses it, a waiter waits); the
/// finished rows are verified ([`verify`]), unknown ones accepted when marked
/// `expand` or when `unknown` says so, and what disagrees is listed in
/// [`Status::problems`].
pub fn status(graph: &Graph<'_>, rows: &[Row<'_>], unknown: Unknown) -> Result<Status, Failed> {
    if let Some(r) = rows.iter().find(|r| r.state.is_failed()) {
        return Err(Failed {
            revision: r.revision.to_owned(),
            state: r.state,
        });
    }
    // Rows of revisions a squash baseline replaced stand for it (crate::squash).
    let finished_ids: Vec<&str> = rows
        .iter()
        .filter(|r| r.state == State::Applied)
        .map(|r| r.revision)
        .collect();
    let stand = crate::squash::stand_ins(graph, &finished_ids);
    let sums: Vec<String> = stand
        .applied
        .iter()
        .map(|&b| graph.get(b).checksum().to_string())
        .collect();
    let stood_in = stand.applied.iter().zip(&sums).map(|(&b, sum)| Row {
        revision: graph.get(b).revision(),
        checksum: sum,
        state: State::Applied,
        phase: None,
    });
    let replaced: std::collections::HashSet<&str> = stand.replaced.iter().copied().collect();
    let rows: Vec<Row<'_>> = rows
        .iter()
        .filter(|r| !(r.state == State::Applied && replaced.contains(r.revision)))
        .copied()
        .chain(stood_in)
        .collect();
    let rows = rows.as_slice();
    let is_unknown = |r: &&Row<'_>| graph.position(r.revision).is_none();
    let accepted = |r: &&Row<'_>| unknown == Unknown::Accept || r.phase == Some(Phase::Expand);
    let finished: Vec<AppliedRevision> = rows
        .iter()
        .filter(|r| r.state == State::Applied)
        .filter(|r| !(is_unknown(r) && accepted(r)))
        .map(|r| AppliedRevision {
            revision: r.revision.to_owned(),
            checksum: r.checksum.to_owned(),
        })
        .collect();
    let mut applied = vec![false; graph.len()];
    for i in finished.iter().filter_map(|r| graph.position(&r.revision)) {
        applied[i] = true;
    }
    let mut problems = verify(graph, &finished, false).err().unwrap_or_default();
    problems.extend(stand.inside);
    let pending = graph
        .iter()
        .enumerate()
        .filter(|(i, _)| !applied[*i])
        .map(|(_, m)| m.revision().to_owned())
        .collect();
    Ok(Status {
        pending,
        unknown: rows
            .iter()
            .filter(is_unknown)
            .filter(|r| r.state == State::Applied)
            .filter(accepted)
            .map(|r| r.revision.to_owned())
            .collect(),
        in_progress: rows
            .iter()
            .filter(|r| r.state.is_in_progress())
            .map(|r| (r.revision.to_owned(), r.state))
            .collect(),
        backfilling: rows
            .iter()
            .filter(|r| r.state == State::Backfilling)
            .map(|r| r.revision.to_owned())
            .collect(),
        applied,
        problems,
    })
}

/// [`status`] for a list with repeatable revisions: the rows of
/// repeatables (`repeatable:<name>`) are read apart. A failed one is an
/// error and one in progress is reported, like a revision's; the
/// `repeatables` an upgrade to head would apply ([`pending_repeatables`])
/// are pending, after the revisions, unless the history holds revisions the
/// list does not know ([`Status::unknown`], or refused among its problems: a newer build migrated the
/// database, and an upgrade of this one applies none); the row of a
/// repeatable the list no longer has is left alone. The rest goes through [`status`].
pub fn status_with_repeatables(
    graph: &Graph<'_>,
    repeatables: &[Migration],
    rows: &[Row<'_>],
    unknown: Unknown,
) -> Result<Status, Failed> {
    let (own, versioned): (Vec<Row<'_>>, Vec<Row<'_>>) =
        rows.iter().partition(|r| crate::repeatable::is_repeatable(r.revision));
    if let Some(r) = own.iter().find(|r| r.state.is_failed()) {
        return Err(Failed {
            revision: r.revision.to_owned(),
            state: r.state,
        });
    }
    let mut status = status(graph, &versioned, unknown)?;
    // Revisions the list does not know (accepted, or refused as problems): a newer
    // build migrated the database, the repeatables' rows are its own, and an
    // upgrade of this build applies none.
    let newer = !status.unknown.is_empty()
        || status
            .problems
            .iter()
            .any(|p| matches!(p, HistoryProblem::Unknown { .. }));
    if !newer {
        status.pending.extend(
            pending_repeatables(repeatables, &own)
                .into_iter()
                .map(|m| m.revision().to_owned()),
        );
    }
    status.in_progress.extend(
        own.iter()
            .filter(|r| r.state.is_in_progress())
            .map(|r| (r.revision.to_owned(), r.state)),
    );
    Ok(status)
}

/// The repeatables of `list` (in application order) an upgrade to head
/// applies: each whose history row is missing, not applied, or records
/// another checksum, and each that depends, directly or not, on one of
/// those (a view over a view that was replaced is created again).
pub fn pending_repeatables<'m>(list: &'m [Migration], rows: &[Row<'_>]) -> Vec<&'m Migration> {
    let mut out: Vec<&'m Migration> = Vec::new();
    // `list` is in application order, so what one depends on comes before it.
    for m in list {
        let row = rows.iter().find(|r| r.revision == m.revision());
        let changed = row.is_none_or(|r| r.state != State::Applied || r.checksum != m.checksum().to_string());
        let under_changed = m.runs_after().any(|dep| out.iter().any(|o| o.revision() == dep));
        if changed || under_changed {
            out.push(m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixture;

    fn row(g: &Graph<'_>, id: &str) -> AppliedRevision {
        let checksum = g
            .position(id)
            .map(|i| g.get(i).checksum().to_string())
            .unwrap_or_default();
        AppliedRevision {
            revision: id.into(),
            checksum,
        }
    }

    #[test]
    fn states_read_back_as_written() {
        for state in State::ALL {
            assert_eq!(state.as_str().parse::<State>(), Ok(state));
        }
        assert_eq!("done".parse::<State>(), Err(UnknownState("done".into())));
        assert_eq!(State::failed(Direction::Downgrade).as_str(), "downgrade_failed");
    }

    #[test]
    fn status_reads_pending_unknown_in_progress_and_failed_rows() {
        let ms = fixture("a <-\nb <- a\nc <- b");
        let g = Graph::new(&ms).unwrap();
        let sum = |id: &str| g.get(g.position(id).unwrap()).checksum().to_string();
        let (sa, sb) = (sum("a"), sum("b"));
        let row = |revision, checksum, state, phase| Row {
            revision,
            checksum,
            state,
            phase,
        };
        let rows = [
            row("a", &sa, State::Applied, None),
            row("b", &sb, State::Upgrading, None),
            row("z", "sha256:00", State::Applied, Some(Phase::Expand)),
        ];
        let st = status(&g, &rows, Unknown::ExpandOnly).unwrap();
        assert_eq!(st.pending, ["b", "c"]);
        assert_eq!(st.unknown, ["z"]);
        assert_eq!(st.in_progress, [("b".to_owned(), State::Upgrading)]);
        assert_eq!(st.applied, [true, false, false]);
        assert!(!st.is_current());
        // An unknown revision not marked expand is refused unless opted in.
        let plain = [
            row("a", &sa, State::Applied, None),
            row("z", "sha256:00", State::Applied, None),
        ];
        let refused = status(&g, &plain, Unknown::ExpandOnly).unwrap();
        assert!(matches!(refused.problems[..], [HistoryProblem::Unknown { .. }]));
        assert!(
            refused.unknown.is_empty(),
            "refused, not accepted: {:?}",
            refused.unknown
        );
        assert!(!refused.is_current());
        assert_eq!(status(&g, &plain, Unknown::Accept).unwrap().unknown, ["z"]);
        // A failed row is an error, whatever else the history holds.
        let failed = [row("a", &sa, State::UpgradeFailed, None)];
        assert_eq!(
            status(&g, &failed, Unknown::Accept),
            Err(Failed {
                revision: "a".into(),
                state: State::UpgradeFailed
            })
        );
        // Drift is a problem.
        let drift = [row("a", "sha256:00", State::Applied, None)];
        let drifted = status(&g, &drift, Unknown::ExpandOnly).unwrap();
        assert!(matches!(
            drifted.problems[..],
            [HistoryProblem::ChecksumMismatch { .. }]
        ));
        assert_eq!(drifted.applied, [true, false, false]);
    }

    #[test]
    fn current_heads_of_applied_rows() {
        let ms = fixture("a <-\nb <- a\nc <- a\nm <- b, c");
        let g = Graph::new(&ms).unwrap();
        let rows = |list: &[(&'static str, &[&'static str])]| -> Vec<(&'static str, Vec<&'static str>)> {
            list.iter().map(|(r, p)| (*r, p.to_vec())).collect()
        };
        assert_eq!(current_heads(&g, &rows(&[])), Vec::<&str>::new());
        assert_eq!(
            current_heads(&g, &rows(&[("a", &[]), ("c", &["a"]), ("b", &["a"])])),
            ["c", "b"],
            "in application order, where Alembic applies the merge's first parent last"
        );
        assert_eq!(
            current_heads(
                &g,
                &rows(&[("a", &[]), ("b", &["a"]), ("c", &["a"]), ("m", &["b", "c"])])
            ),
            ["m"]
        );
        // A newer build's revision on top of m is the only head, listed after known ones.
        assert_eq!(
            current_heads(
                &g,
                &rows(&[
                    ("a", &[]),
                    ("b", &["a"]),
                    ("c", &["a"]),
                    ("m", &["b", "c"]),
                    ("z1", &["m"])
                ])
            ),
            ["z1"]
        );
    }

    #[test]
    fn clean_history() {
        let ms = fixture("a <-\nb <- a\nc <- b");
        let g = Graph::new(&ms).unwrap();
        assert_eq!(
            verify(&g, &[row(&g, "a"), row(&g, "b")], false),
            Ok(vec![true, true, false])
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let ms = fixture("a <-\nb <- a\nc <- b");
        let g = Graph::new(&ms).unwrap();
        let mut drifted = row(&g, "a");
        drifted.checksum = "sha256:00".into();
        let rows = [
            drifted,
            row(&g, "c"),
            AppliedRevision {
                revision: "zz".into(),
                checksum: "x".into(),
            },
        ];
        let problems = verify(&g, &rows, false).unwrap_err();
        assert!(matches!(&problems[0], HistoryProblem::ChecksumMismatch { revision, .. } if revision == "a"));
        assert_eq!(problems[1], HistoryProblem::Unknown { revision: "zz".into() });
        assert_eq!(
            problems[2],
            HistoryProblem::MissingAncestor {
                revision: "c".into(),
                ancestor: "b".into()
            }
        );
        assert_eq!(problems.len(), 3);
    }

    #[test]
    fn unknown_revisions_can_be_ignored() {
        let ms = fixture("a <-");
        let g = Graph::new(&ms).unwrap();
        let rows = [
            row(&g, "a"),
            AppliedRevision {
                revision: "future".into(),
                checksum: "x".into(),
            },
        ];
        assert!(verify(&g, &rows, false).is_err());
        assert_eq!(verify(&g, &rows, true), Ok(vec![true]));
    }
}
