//! Repeatable revisions in a run: which are due (an upgrade to head, after
//! its versioned steps: those whose checksum the history does not hold, see
//! `migrate_core::history::pending_repeatables`), and applying them, each a
//! step of its own whose history row (`repeatable:<name>`) is replaced.
//!
//! A downgrade, a stamp, an upgrade to a revision other than head (`head`,
//! its id, `+N` reaching it: `plan::reaches_head`) and one a phase stops
//! part-way leave them alone.

use super::*;
use migrate_core::repeatable::is_repeatable;
use migrate_core::squash::Replaced;

/// What finds and applies a list's repeatable revisions, reached through
/// the pointer a list holds where it has some (`Migrations::repeatables_runner`),
/// so that an application whose history has none links none of it.
pub(crate) trait RunsRepeatables: Sync + std::fmt::Debug {
    /// [`Run::repeatables_due`].
    fn due(
        &self,
        run: &Run<'_>,
        rows: &[HistoryRow],
        at: (&Graph<'_>, &Target, &plan::Plan),
        unknown: &[String],
        report: &mut Report,
    ) -> Vec<Migration>;

    /// [`Run::apply_repeatables`].
    fn apply<'a>(
        &'a self,
        run: &'a Run<'_>,
        on: (&'a mut dyn Backend, &'a Settings),
        applying: &'a mut Applying<'_, '_>,
        open: &'a mut Option<usize>,
        report: &'a mut Report,
    ) -> BoxFuture<'a, Result<()>>;
}

/// The [`RunsRepeatables`] a list with repeatable revisions holds.
#[derive(Debug)]
pub(crate) struct RepeatablesRunner;

impl RunsRepeatables for RepeatablesRunner {
    fn due(
        &self,
        run: &Run<'_>,
        rows: &[HistoryRow],
        at: (&Graph<'_>, &Target, &plan::Plan),
        unknown: &[String],
        report: &mut Report,
    ) -> Vec<Migration> {
        run.repeatables_due(rows, at, unknown, report)
    }

    fn apply<'a>(
        &'a self,
        run: &'a Run<'_>,
        (conn, s): (&'a mut dyn Backend, &'a Settings),
        applying: &'a mut Applying<'_, '_>,
        open: &'a mut Option<usize>,
        report: &'a mut Report,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(run.apply_repeatables(conn, s, applying, open, report))
    }
}

/// The rows of versioned revisions: what the graph, the plan and the heads read.
pub(crate) fn versioned_rows(rows: &[HistoryRow]) -> Vec<HistoryRow> {
    rows.iter().filter(|r| !is_repeatable(&r.revision)).cloned().collect()
}

/// The revisions of `rows` this build does not know, a newer build's: in
/// neither `graph` nor the repeatables, and replaced by no squash baseline
/// of it (`replaced`). Where there are some, an upgrade applies no
/// repeatable and `history` marks none due (the rows are that build's).
pub(crate) fn newer_revisions(graph: &Graph<'_>, replaced: &Replaced<'_>, rows: &[HistoryRow]) -> Vec<String> {
    rows.iter()
        .filter(|r| {
            graph.position(&r.revision).is_none()
                && !is_repeatable(&r.revision)
                && replaced.baseline_of(&r.revision).is_none()
        })
        .map(|r| r.revision.clone())
        .collect()
}

/// `rows` as core's history functions read them.
pub(crate) fn read_rows(rows: &[HistoryRow]) -> Vec<history::Row<'_>> {
    rows.iter()
        .map(|r| history::Row {
            revision: &r.revision,
            checksum: &r.checksum,
            state: r.state,
            phase: r.phase,
        })
        .collect()
}

impl Op {
    /// The repeatables `names` recorded as applied, running nothing.
    pub(crate) fn stamp_repeatables(names: &[String]) -> Op {
        Op::Own(Box::new(StampRepeatables(names.to_vec())))
    }
}

/// [`Op::stamp_repeatables`]: the names.
struct StampRepeatables(Vec<String>);

impl OwnOp for StampRepeatables {
    fn run<'a>(&'a self, run: &'a Run<'_>, on: Under<'a>, report: &'a mut Report) -> BoxFuture<'a, Result<()>> {
        Box::pin(run.stamp_repeatables(on.conn, on.s, on.graph, on.rows, &self.0, report))
    }
}

impl<'m> Run<'m> {
    /// Records the repeatables `names` as applied, running none: the
    /// history verified as every run verifies it, then each row replaced
    /// as [`apply_repeatables`](Self::apply_repeatables) replaces it, the
    /// digest kept.
    async fn stamp_repeatables(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        graph: &Graph<'_>,
        rows: &[HistoryRow],
        names: &[String],
        report: &mut Report,
    ) -> Result<()> {
        self.check(graph, rows)?;
        let list = names
            .iter()
            .map(|n| {
                self.migrations
                    .repeatables()
                    .iter()
                    .find(|m| m.revision() == n)
                    .cloned()
                    .ok_or_else(|| Error::Target(TargetError::UnknownRevision { id: n.clone() }))
            })
            .collect::<Result<Vec<_>>>()?;
        let nothing = plan::Plan {
            direction: Direction::Upgrade,
            steps: Vec::new(),
        };
        self.apply_read(conn, s, (graph, &nothing, Mode::Stamp), rows, list, report)
            .await
    }

    /// The repeatables an upgrade to `target` applies after its versioned
    /// steps, `plan`: none unless it goes to the head (however the target
    /// names it, `plan::reaches_head`) and no phase holds it back; none
    /// either when the history holds revisions this build does not know,
    /// `unknown` (a newer build migrated the database: the repeatables'
    /// rows are its own), listed in [`Report::repeatables_left`].
    fn repeatables_due(
        &self,
        rows: &[HistoryRow],
        (graph, target, plan): (&Graph<'_>, &Target, &plan::Plan),
        unknown: &[String],
        report: &mut Report,
    ) -> Vec<Migration> {
        if !plan::reaches_head(graph, target, plan) || report.held_back.is_some() {
            return Vec::new();
        }
        let due: Vec<Migration> = history::pending_repeatables(self.migrations.repeatables(), &read_rows(rows))
            .into_iter()
            .cloned()
            .collect();
        if !unknown.is_empty() && !due.is_empty() {
            report.repeatables_left = due.iter().map(|m| m.revision().to_owned()).collect();
            tracing::info!(
                repeatables = %report.repeatables_left.join(", "),
                newer = %unknown.join(", "),
                "applying no repeatable revision: the database holds revisions this build does not know, so a newer build migrated it and its repeatables' rows are that build's"
            );
            return Vec::new();
        }
        due
    }

    /// Applies `applying`'s repeatables, in order, after its versioned
    /// steps: each in a transaction of its own (the run's one transaction,
    /// if open, is committed first), its row replaced. A failure is the
    /// step's error, naming its file, and leaves what a failed revision leaves.
    async fn apply_repeatables(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        applying: &mut Applying<'_, '_>,
        open: &mut Option<usize>,
        report: &mut Report,
    ) -> Result<()> {
        apply::commit_run(conn, open, report).await?;
        let total = applying.plan.steps.len() + applying.repeatables.len();
        for (k, m) in applying.repeatables.iter().enumerate() {
            if s.stop_requested() {
                return Err(Error::stopped(Some(m.revision()), false));
            }
            let run_sql = applying.mode == Mode::Run;
            match run_sql {
                true => tracing::info!("Running repeatable {}, {}", m.revision(), m.message()),
                false => tracing::info!("Recording repeatable {} as applied, {}", m.revision(), m.message()),
            }
            let notify = |finished| {
                if let Some(f) = &self.observer {
                    f(&Progress {
                        migration: m,
                        direction: Direction::Upgrade,
                        runs_sql: run_sql,
                        index: applying.plan.steps.len() + k,
                        total,
                        finished,
                        backfill: None,
                    });
                }
            };
            notify(None);
            let started = Instant::now();
            let step = Step {
                migration: m,
                direction: Direction::Upgrade,
                run_sql,
                rust: None,
            };
            if let Err(mut e) = driver::apply(conn, s, step, None).await {
                if let Error::Migration { applied, .. }
                | Error::DanglingForeignKeys { applied, .. }
                | Error::RunnerNotEmbedded { applied, .. } = &mut e
                {
                    *applied = report.revisions().into_iter().map(str::to_owned).collect();
                }
                tracing::debug!(revision = m.revision(), file = m.file(), error = %e, "repeatable failed");
                return Err(e);
            }
            let checksum = m.checksum().to_string();
            // The row it replaced, if any, leaves the digest.
            if let Some(old) = applying.replaced.iter().find(|(r, _, _)| r == m.revision()) {
                applying.digest.remove(&old.0, &old.1, old.2);
            }
            applying.digest.insert(m.revision(), &checksum, State::Applied);
            let duration = started.elapsed();
            notify(Some(duration));
            report.steps.push(StepReport {
                revision: m.revision().to_owned(),
                message: m.message().to_owned(),
                direction: Direction::Upgrade,
                duration,
                stored_downgrade: None,
            });
        }
        Ok(())
    }
}
