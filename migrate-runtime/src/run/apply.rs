//! Executing a plan: each step through the driver, in the run's one
//! transaction where the database has one, in SQLite batches, with the
//! report, the progress callback and the digest kept as steps complete.

use super::*;
use std::collections::VecDeque;

/// Whether a plan's steps run their SQL or only record the change (stamp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Run,
    Stamp,
}

/// What the history held when the run read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum History {
    /// No row: a fresh database (a test database, a first deploy).
    Empty,
    Rows,
}

/// A plan being applied.
pub(crate) struct Applying<'a, 'g> {
    pub(crate) graph: &'a Graph<'g>,
    pub(crate) plan: &'a plan::Plan,
    pub(crate) mode: Mode,
    pub(crate) history: History,
    /// The digest of the history as it stands, kept as steps complete.
    pub(crate) digest: Digest,
    /// The Rust revisions' functions the list carries (`embed_migrations!`).
    pub(crate) rust: crate::rust::Embedded,
    /// The steps that declare variables, bound, by their position in `graph`
    /// (by [`Run::apply`], before the first step).
    pub(crate) bound: Vec<(usize, Migration)>,
    /// The repeatables to apply after the plan's steps (`run::repeatables`),
    /// bound before the first step.
    pub(crate) repeatables: Vec<Migration>,
    /// The repeatables' rows as read, `(revision, checksum, state)`: the
    /// digest loses the one a repeatable replaces.
    pub(crate) replaced: Vec<(String, String, State)>,
}

/// Where the steps of a run stand: the run's one transaction, if any is open
/// (the report's length when it began), and the SQLite batch run ahead.
struct Progressing {
    /// The steps run together in the run's one transaction.
    one_transaction: bool,
    /// The transaction began before this step of the report.
    open: Option<usize>,
    /// How long each of the next steps took, already applied by a batch.
    ahead: VecDeque<Duration>,
    /// The first step a batch may start at again.
    unbatched_until: usize,
    /// How backfills are paced, and when the run stops between their batches.
    pace: driver::Pace,
    /// The run's `BEGIN` (with the digest's removal), not sent yet: it goes
    /// ahead of the first batch, in its request, when the run starts with
    /// one; the first step sends it on its own otherwise.
    begin: Option<String>,
}

impl<'a> Applying<'a, '_> {
    fn run_sql(&self) -> bool {
        self.mode == Mode::Run
    }

    /// Whether `step`, run in the run's one transaction, must commit before
    /// the next ([`Backend::commits_before_next`]). Such a step ends its batch
    /// (`batch_ahead`), so the caller asks only of one with no step ahead.
    fn commits_after(&self, conn: &dyn Backend, step: &Step<'_>) -> bool {
        self.run_sql() && step.sql().is_some_and(|sql| conn.commits_before_next(sql))
    }

    fn step(&self, i: usize) -> Step<'_> {
        let migration = match self.bound.iter().find(|(at, _)| *at == i) {
            Some((_, bound)) => bound,
            None => self.graph.get(i),
        };
        Step {
            migration,
            direction: self.plan.direction,
            run_sql: self.run_sql(),
            rust: self.rust.function(migration.revision(), self.plan.direction),
        }
    }

    /// From an empty history (a test database, a first deploy), a database that
    /// can runs the transactional steps in one transaction, a savepoint each:
    /// one commit instead of one per migration. Not under a lease (each step
    /// must check it as it commits), nor when a header sets a timeout (SET
    /// LOCAL would outlive its savepoint).
    fn one_transaction(&self, conn: &dyn Backend, s: &Settings) -> bool {
        self.history == History::Empty
            && self.run_sql()
            && conn.one_transaction_runs()
            && self.plan.direction == Direction::Upgrade
            && self.plan.steps.len() > 1
            && s.lease().is_none()
            && self.plan.steps.iter().all(|&i| {
                let d = self.graph.get(i).directives();
                // A dependency check reads another set's table, and a failed read would abort the transaction.
                d.lock_timeout.is_none()
                    && d.statement_timeout.is_none()
                    && self.graph.get(i).depends_on().next().is_none()
            })
    }
}

impl<'m> Run<'m> {
    /// Applies `applying`'s plan, recording each completed step in `report`,
    /// with the digest row dropped before the first step and written after the last.
    pub(crate) async fn apply(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        mut applying: Applying<'_, '_>,
        report: &mut Report,
    ) -> Result<()> {
        // Every variable of every step has its value before anything is sent.
        if applying.run_sql() {
            applying.bound = self
                .vars
                .bind_plan(self.migrations, applying.graph, applying.plan, conn.dialect())?;
            let d = conn.dialect();
            let bound: Result<Vec<Migration>> = applying
                .repeatables
                .iter()
                .map(|m| self.vars.bind(self.migrations, m, d, Direction::Upgrade))
                .collect();
            applying.repeatables = bound?;
        }
        let _redacting =
            crate::vars::Redacting::new(applying.bound.iter().map(|(_, m)| m).chain(applying.repeatables.iter()));
        if let Some(&first) = applying.plan.steps.first()
            && s.stop_requested()
        {
            // Asked to stop while the lock was being taken: nothing is sent.
            return Err(interrupted(report, applying.graph.get(first).revision(), false));
        }
        let mut at = Progressing {
            one_transaction: applying.one_transaction(conn, s),
            open: None,
            ahead: VecDeque::new(),
            unbatched_until: 0,
            pace: driver::Pace {
                pause: self.batch_pause,
                deadline: self.max_duration.and_then(|d| Instant::now().checked_add(d)),
            },
            begin: None,
        };
        if !applying.plan.is_empty() || !applying.repeatables.is_empty() {
            // Until the run's last step is done, no start-up check may take the short cut.
            if at.one_transaction {
                let begin = driver::begin_dropping_digest_sql(conn, s);
                if self.starts_with_batch(conn, &applying) {
                    at.begin = Some(begin);
                } else {
                    driver::begin_dropping_digest(conn, begin).await?;
                }
                at.open = Some(report.steps.len());
            } else if applying.plan.direction == Direction::Downgrade && !applying.replaced.is_empty() {
                // What a downgrade drops may be under a repeatable (a view over a
                // table): none stays recorded applied, so the next upgrade to head
                // applies them all again. Before its first step, with the digest.
                tracing::info!(
                    repeatables = applying.replaced.len(),
                    "a downgrade forgets the repeatable revisions' rows: the next upgrade to head applies them again"
                );
                driver::drop_digest_and_repeatables(conn, s).await?;
                for (revision, checksum, state) in std::mem::take(&mut applying.replaced) {
                    applying.digest.remove(&revision, &checksum, state);
                }
            } else {
                driver::drop_digest(conn, s).await?;
            }
        }
        let result = match self.steps(conn, s, &mut applying, &mut at, report).await {
            // Stopped wherever it was asked (a step's retry, a repeatable's): the report says what was done.
            Err(Error::Stopped {
                next: Some(next),
                inside_backfill,
                ..
            }) => Err(interrupted(report, &next, inside_backfill)),
            other => other,
        };
        if let Some(first) = at.open {
            // What ran before a failed step is kept, as with a transaction per step;
            // after the last step, the digest row goes with the commit.
            let committed = match &result {
                Ok(()) => driver::commit_with_digest(conn, s, &applying.digest).await,
                Err(_) => driver::commit(conn, "committing the run's transaction").await,
            };
            if let Err(e) = committed {
                // Nothing since BEGIN is kept: the report and the error must not say it is.
                report.steps.truncate(first);
                return Err(match result {
                    Err(mut failed @ Error::Migration { .. }) => {
                        if let Error::Migration { cleanup, applied, .. } = &mut failed {
                            cleanup.get_or_insert_with(|| Box::new(e));
                            applied.truncate(first);
                        }
                        failed
                    }
                    Err(Error::Stopped {
                        next: Some(next),
                        inside_backfill,
                        ..
                    }) => {
                        tracing::warn!(error = %e, "committing what ran before the stop failed: none of it is kept");
                        interrupted(report, &next, inside_backfill)
                    }
                    Err(other) => other,
                    Ok(()) => e,
                });
            }
        }
        result?;
        if at.open.is_some() || report.paused.is_some() {
            // A backfill left in progress: the digest row stays dropped.
            return Ok(());
        }
        let digest = applying.digest.to_string();
        if !report.is_empty() || conn.read_digest(s).await.as_deref() != Some(digest.as_str()) {
            // After the last step; or, when nothing ran, because the digest was
            // missing (a table from before digests, a run that failed) or stale:
            // the rows were checked one by one just now.
            driver::write_digest(conn, s, &applying.digest).await?;
        }
        Ok(())
    }

    /// The plan's steps in order, then the repeatables, until one fails, a
    /// backfill pauses, or the caller asks the run to stop
    /// ([`Settings::stop_requested`]) before a step that nothing sent yet
    /// (the repeatables ask before each of theirs).
    async fn steps(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        applying: &mut Applying<'_, '_>,
        at: &mut Progressing,
        report: &mut Report,
    ) -> Result<()> {
        let together = Settings {
            in_run_transaction: true,
            ..s.clone()
        };
        for index in 0..applying.plan.steps.len() {
            // A step that a batch already ran is recorded whatever is asked.
            if index > 0 && at.ahead.is_empty() && s.stop_requested() {
                let next = applying.graph.get(applying.plan.steps[index]).revision();
                return Err(Error::stopped(Some(next), false));
            }
            self.apply_step(conn, (s, &together), applying, at, index, report)
                .await?;
            if let Some(backfill) = report.paused.as_deref() {
                return match s.stop_requested() {
                    true => Err(Error::stopped(Some(backfill), true)),
                    false => Ok(()),
                };
            }
        }
        match (applying.repeatables.first(), self.migrations.repeatables_runner) {
            (None, _) => Ok(()),
            (Some(_), Some(runner)) => runner.apply(self, (conn, s), applying, &mut at.open, report).await,
            // Only a list's runner finds repeatables due: one built by hand could lack it.
            (Some(m), None) => {
                let applied = report.revisions().into_iter().map(str::to_owned).collect();
                Err(Error::runner_not_embedded(
                    m,
                    "is a repeatable revision to apply",
                    applied,
                ))
            }
        }
    }

    /// Whether the plan's first two steps go to one batch ([`Self::batch_ahead`]
    /// at the first step): the run's `BEGIN` can then go in the batch's request.
    fn starts_with_batch(&self, conn: &dyn Backend, applying: &Applying<'_, '_>) -> bool {
        applying.plan.steps.len() >= 2
            && applying.plan.steps[..2]
                .iter()
                .all(|&i| driver::batchable(conn, &applying.step(i)))
    }

    /// Hands the steps from `index` on that can go together to one batch,
    /// when none is ahead, and keeps how long each took. A database whose runs
    /// can share one transaction (PostgreSQL) batches only inside it, begun
    /// here when none is open; SQLite's run is one transaction already.
    async fn batch_ahead(
        &self,
        conn: &mut dyn Backend,
        (alone, together): (&Settings, &Settings),
        applying: &Applying<'_, '_>,
        at: &mut Progressing,
        (index, report): (usize, &mut Report),
    ) -> Result<()> {
        let reported = report.steps.len();
        if !at.ahead.is_empty()
            || index < at.unbatched_until
            || (conn.one_transaction_runs() && !at.one_transaction)
            || !driver::batchable(conn, &applying.step(applying.plan.steps[index]))
        {
            return Ok(());
        }
        let mut bytes = 0;
        // A step that must commit before the next ends its batch.
        let ended = std::cell::Cell::new(false);
        let steps: Vec<Step<'_>> = applying.plan.steps[index..]
            .iter()
            .map(|&i| applying.step(i))
            .take_while(|st| !ended.get() && driver::batchable(conn, st))
            .inspect(|st| ended.set(applying.commits_after(conn, st)))
            .take(conn.batch_size())
            .take_while(|st| {
                // One step always goes, whatever its size.
                let len = st.sql().map_or(0, str::len);
                bytes += len;
                bytes <= driver::BATCH_BYTES || bytes == len
            })
            .collect();
        if steps.len() < 2 {
            return Ok(());
        }
        let s = if at.one_transaction {
            if at.open.is_none() {
                driver::begin_run(conn, alone).await?;
                at.open = Some(reported);
            }
            together
        } else {
            alone
        };
        match driver::apply_batch(conn, s, &mut at.begin, &steps).await {
            Some((took, failure)) => {
                if let Some(failure) = failure.filter(|_| took.len() < steps.len()) {
                    if conn.transaction_ended().await {
                        // SQLite ended the run's transaction: nothing of the batch,
                        // nor of the run since its last commit, may run on as kept.
                        let source = sqlx::Error::Protocol(format!("error returned from database: {failure}"));
                        let failed = steps[took.len()].failure(source, true, None);
                        return Err(run_rolled_back(conn, s, failed, report).await);
                    }
                }
                if took.len() < steps.len() {
                    // The step after those kept failed and was rolled back: it
                    // runs the usual way, which names the failure.
                    at.unbatched_until = index + took.len() + 1;
                }
                at.ahead = took.into();
            }
            // No batch path here: the steps run one by one.
            None => at.unbatched_until = index + steps.len(),
        }
        Ok(())
    }

    /// Says what step `m` is about to do, and what of its header the database ignores.
    fn announce(conn: &dyn Backend, applying: &Applying<'_, '_>, m: &Migration) {
        let verb = if applying.run_sql() { "Running" } else { "Stamping" };
        match applying.plan.direction {
            Direction::Upgrade => {
                tracing::info!("{verb} upgrade {} -> {}, {}", parents(m), m.revision(), m.message())
            }
            Direction::Downgrade => {
                tracing::info!("{verb} downgrade {} -> {}, {}", m.revision(), parents(m), m.message())
            }
        }
        if !conn.has_timeouts() {
            let d = m.directives();
            if d.lock_timeout.is_some() || d.statement_timeout.is_some() {
                tracing::warn!(
                    revision = m.revision(),
                    "SQLite has no lock timeout or statement timeout: the ones in this revision's header are ignored"
                );
            }
        }
    }

    /// Step `index` of the plan: in the run's one transaction where
    /// `at.one_transaction` says so (begun here when none is open; a
    /// no-transaction step commits it first), or as the batch ran it.
    fn apply_step<'a>(
        &'a self,
        conn: &'a mut dyn Backend,
        settings: (&'a Settings, &'a Settings),
        applying: &'a mut Applying<'_, '_>,
        at: &'a mut Progressing,
        index: usize,
        report: &'a mut Report,
    ) -> BoxFuture<'a, Result<()>> {
        // Boxed, so that the body is compiled once (see `Run::run`).
        Box::pin(self.apply_step_body(conn, settings, applying, at, index, report))
    }

    /// [`apply_step`](Self::apply_step)'s body.
    async fn apply_step_body(
        &self,
        conn: &mut dyn Backend,
        (alone, together): (&Settings, &Settings),
        applying: &mut Applying<'_, '_>,
        at: &mut Progressing,
        index: usize,
        report: &mut Report,
    ) -> Result<()> {
        let i = applying.plan.steps[index];
        let m = applying.graph.get(i);
        let direction = applying.plan.direction;
        self.batch_ahead(conn, (alone, together), applying, at, (index, &mut *report))
            .await?;
        if let Some(begin) = at.begin.take() {
            // No batch took the run's BEGIN ahead of it.
            driver::begin_dropping_digest(conn, begin).await?;
        }
        let batched_took = at.ahead.pop_front();
        let in_one = at.one_transaction && !m.no_transaction() && applying.step(i).backfill().is_none();
        if in_one && at.open.is_none() {
            driver::begin_run(conn, alone).await?;
            at.open = Some(report.steps.len());
        }
        if !in_one {
            commit_run(conn, &mut at.open, report).await?;
        }
        let s = if in_one { together } else { alone };
        let step = applying.step(i);
        let commits_after = in_one && at.ahead.is_empty() && applying.commits_after(conn, &step);
        Self::announce(conn, applying, m);
        match direction {
            Direction::Upgrade if applying.run_sql() => self.check_dependencies(conn, s, m).await?,
            Direction::Downgrade => self.check_dependents(conn, s, m).await?,
            Direction::Upgrade => {}
        }
        let stored = (m.file() == STORED_FILE && direction == Direction::Downgrade)
            .then(|| m.downgrade_sql().unwrap_or_default().to_owned());
        if let Some(sql) = &stored {
            tracing::warn!(
                revision = m.revision(),
                sql = %sql,
                "running the downgrade stored in the history table when the revision was applied (this build has no file for it)"
            );
        }
        let total = applying.plan.steps.len();
        let runs_sql = applying.run_sql();
        let notify = |finished, backfill| {
            if let Some(f) = &self.observer {
                f(&Progress {
                    migration: m,
                    direction,
                    runs_sql,
                    index,
                    total,
                    finished,
                    backfill,
                });
            }
        };
        notify(None, None);
        let started = Instant::now();
        let mut ran = match (batched_took, step.backfill()) {
            (Some(_), _) => Ok(()),
            (None, Some(spec)) => {
                let mut each = |p| notify(None, Some(p));
                match self.backfill(conn, s, step, spec, at.pace, &mut each).await {
                    Ok(driver::Backfilled::Paused) => {
                        report.paused = Some(m.revision().to_owned());
                        return Ok(());
                    }
                    Ok(driver::Backfilled::Done) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            (None, None) => driver::apply(conn, s, step, None).await,
        };
        if in_one && matches!(&ran, Err(e) if out_of_lock_slots(e)) {
            // The run's one transaction holds a lock on everything it created, and
            // the server's lock table is full (max_locks_per_transaction): keep what
            // it did, and go on in a new transaction. The step was rolled back to its savepoint.
            tracing::info!(
                revision = m.revision(),
                "the server's lock table is full: committing the run so far and going on in a new transaction"
            );
            commit_run(conn, &mut at.open, report).await?;
            driver::begin_run(conn, s).await?;
            at.open = Some(report.steps.len());
            ran = driver::apply(conn, s, step, None).await;
        }
        if let Err(e) = ran {
            return Err(failed_step(conn, s, m, e, report).await);
        }
        let checksum = m.checksum().to_string();
        match direction {
            Direction::Upgrade => applying.digest.insert(m.revision(), &checksum, State::Applied),
            Direction::Downgrade => applying.digest.remove(m.revision(), &checksum, State::Applied),
        }
        let duration = match batched_took {
            Some(took) => took,
            None if applying.run_sql() => started.elapsed(),
            None => Duration::ZERO,
        };
        notify(Some(duration), None);
        report.steps.push(StepReport {
            revision: m.revision().to_owned(),
            message: m.message().to_owned(),
            direction,
            duration,
            stored_downgrade: stored,
        });
        if at.open.is_some() && commits_after {
            // What it added is usable only once committed: the next step begins anew.
            commit_run(conn, &mut at.open, report).await?;
        }
        Ok(())
    }

    /// Runs a backfill step's batches through the list's batch loop, which a
    /// list holds where its history has a backfill (`Migrations::backfills`).
    async fn backfill(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        step: Step<'_>,
        spec: &migrate_core::Backfill,
        pace: driver::Pace,
        each: &mut (dyn FnMut(crate::BackfillProgress) + Send),
    ) -> Result<driver::Backfilled> {
        let Some(run) = self.migrations.backfills() else {
            return Err(Error::Backfill {
                revision: step.migration.revision().to_owned(),
                file: step.migration.file().to_owned(),
                reason: "this list of migrations was built without the backfill runner (`embed_migrations!` and `Migrations::load` add it when the folder has a backfill)".into(),
                applied: Vec::new(),
            });
        };
        run(conn, s, step, spec, pace, each).await
    }

    /// Refuses to unapply `m` while an applied revision of another list
    /// depends on it (`-- depends_on: <this set>@<m>`).
    async fn check_dependents(&self, conn: &mut dyn Backend, s: &Settings, m: &Migration) -> Result<()> {
        let Some(name) = &self.set_name else { return Ok(()) };
        for dependent in &self.dependents {
            // A line naming a revision `m` (a squash baseline) replaced needs `m` too.
            let needing = dependent.migrations.iter().filter(|other| {
                other
                    .depends_on()
                    .any(|(set, rev)| set == name && (rev == m.revision() || m.replaces().any(|r| r == rev)))
            });
            for other in needing {
                let table = beside(&dependent.table, s)?;
                let d = conn.dialect();
                // A list whose history table does not exist yet has nothing applied.
                let applied = conn
                    .read_strings(d.select_applied(&table, other.revision()))
                    .await
                    .ok()
                    .and_then(|r| r.into_iter().next());
                if applied.as_deref() == Some("1") {
                    return Err(Error::NeededBy {
                        revision: m.revision().to_owned(),
                        file: m.file().to_owned(),
                        set: match &dependent.set {
                            Some(set) => format!("the migration set `{set}`"),
                            None => "the application's migrations".to_owned(),
                        },
                        by: other.revision().to_owned(),
                        table: d.table(&table),
                    });
                }
            }
        }
        Ok(())
    }

    /// Refuses to run `m` while a revision of another set it depends on is not applied.
    pub(crate) async fn check_dependencies(&self, conn: &mut dyn Backend, s: &Settings, m: &Migration) -> Result<()> {
        for (set, revision) in m.depends_on() {
            let table = match self.set_tables.iter().find(|(name, _)| name == set) {
                Some((_, t)) => t.clone(),
                None => HistoryTable::for_set(set)?,
            };
            let table = beside(&table, s)?;
            let d = conn.dialect();
            let mut met = false;
            // A revision a squash of that set replaced is met by its baseline's
            // row, or by the squash point's row, which stands for it.
            for id in std::iter::once(revision.to_owned()).chain(self.squashed_by(set, revision)) {
                // A set whose history table does not exist yet has nothing applied.
                let applied = conn
                    .read_strings(d.select_applied(&table, &id))
                    .await
                    .ok()
                    .and_then(|r| r.into_iter().next());
                if applied.as_deref() == Some("1") {
                    met = true;
                    break;
                }
            }
            if !met {
                return Err(Error::MissingDependency {
                    revision: m.revision().to_owned(),
                    file: m.file().to_owned(),
                    set: set.to_owned(),
                    needs: revision.to_owned(),
                    table: d.table(&table),
                });
            }
        }
        Ok(())
    }
}

impl Run<'_> {
    /// When a squash baseline of migration set `set` replaced `revision`:
    /// that baseline's id and its squash point's, the rows that stand for it.
    fn squashed_by(&self, set: &str, revision: &str) -> Vec<String> {
        let Some((_, theirs)) = self.set_lists.iter().find(|(name, _)| name == set) else {
            return Vec::new();
        };
        let Some(b) = theirs.iter().find(|m| m.replaces().any(|r| r == revision)) else {
            return Vec::new();
        };
        std::iter::once(b.revision())
            .chain(b.replaces().last())
            .map(str::to_owned)
            .collect()
    }

    /// Applies `plan` in `mode` over the history `rows` as read, then
    /// `repeatables`; an error after some steps says which ones completed.
    pub(crate) async fn apply_read(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        (graph, plan, mode): (&Graph<'_>, &plan::Plan, Mode),
        rows: &[HistoryRow],
        repeatables: Vec<Migration>,
        report: &mut Report,
    ) -> Result<()> {
        let (own, versioned): (Vec<&HistoryRow>, Vec<&HistoryRow>) = rows
            .iter()
            .partition(|r| migrate_core::repeatable::is_repeatable(&r.revision));
        let applying = Applying {
            graph,
            plan,
            mode,
            history: if versioned.is_empty() {
                History::Empty
            } else {
                History::Rows
            },
            digest: digest_of(rows),
            rust: self.migrations.rust_steps(),
            bound: Vec::new(),
            repeatables,
            replaced: own
                .iter()
                .map(|r| (r.revision.clone(), r.checksum.clone(), r.state))
                .collect(),
        };
        match self.apply(conn, s, applying, report).await {
            Err(e) if !report.is_empty() && !e.names_applied() => Err(Error::Interrupted {
                completed: report.revisions().into_iter().map(str::to_owned).collect(),
                source: Box::new(e),
            }),
            other => other,
        }
    }
}

/// Commits the run's one transaction, if one is open (`open`: the step it
/// began before). If the commit fails, nothing since is kept, and the
/// report stops saying it is.
pub(crate) async fn commit_run(conn: &mut dyn Backend, open: &mut Option<usize>, report: &mut Report) -> Result<()> {
    let Some(first) = open.take() else { return Ok(()) };
    if let Err(e) = driver::commit(conn, "committing the run's transaction").await {
        report.steps.truncate(first);
        return Err(e);
    }
    Ok(())
}

/// PostgreSQL's "out of shared memory" (SQLSTATE 53200): a transaction took
/// more locks than the server's lock table holds.
pub(crate) fn out_of_lock_slots(e: &Error) -> bool {
    matches!(e, Error::Migration { source, rolled_back: true, .. }
        if source.as_database_error().and_then(|d| d.code()).as_deref() == Some("53200"))
}

pub(crate) fn parents(m: &Migration) -> String {
    migrate_core::migration::parents_text(m.down_revisions())
}

/// Another set's history table: without a schema of its own, beside this run's.
fn beside(table: &HistoryTable, s: &Settings) -> Result<HistoryTable> {
    match (table.schema(), s.table.schema()) {
        (None, Some(schema)) => table.clone().in_schema(schema),
        _ => Ok(table.clone()),
    }
}

/// A step's failure as the caller hears of it: with what the run had
/// already done, or, where the database ended the run's transaction with
/// it, as [`run_rolled_back`] says.
async fn failed_step(conn: &mut dyn Backend, s: &Settings, m: &Migration, mut e: Error, report: &mut Report) -> Error {
    if in_run_transaction(m) && conn.transaction_ended().await {
        return run_rolled_back(conn, s, e, report).await;
    }
    if let Error::Migration { applied, .. }
    | Error::DanglingForeignKeys { applied, .. }
    | Error::RustNotEmbedded { applied, .. }
    | Error::RunnerNotEmbedded { applied, .. }
    | Error::Backfill { applied, .. } = &mut e
    {
        *applied = report.revisions().into_iter().map(str::to_owned).collect();
    }
    tracing::debug!(revision = m.revision(), error = %e, "migration failed; returned to the caller");
    e
}

/// Whether `m` runs inside the run's transaction (SQLite's: the lock), not in
/// one of its own or none (a backfill commits batch by batch).
fn in_run_transaction(m: &Migration) -> bool {
    !m.no_transaction() && !m.directives().foreign_keys_off && m.backfill().is_none()
}

/// `failed`, a step's failure after which the database ended the run's
/// transaction ([`Backend::transaction_ended`]), as [`Error::RunRolledBack`]:
/// what the run reports applied is what the history table still holds of it.
async fn run_rolled_back(conn: &mut dyn Backend, s: &Settings, failed: Error, report: &mut Report) -> Error {
    let Error::Migration {
        revision,
        file,
        direction,
        source,
        ..
    } = failed
    else {
        return failed;
    };
    // Read as well as the connection allows: the failure is what the caller hears of.
    let rows = driver::read_if_present(conn, s).await.unwrap_or_default();
    let recorded = |r: &str| rows.iter().any(|row| row.revision == r && row.state == State::Applied);
    report.steps.retain(|step| match step.direction {
        Direction::Upgrade => recorded(&step.revision),
        Direction::Downgrade => !rows.iter().any(|row| row.revision == step.revision),
    });
    tracing::debug!(
        revision,
        "the database ended the run's transaction with the failed migration"
    );
    Error::RunRolledBack {
        revision,
        file,
        direction,
        applied: report.revisions().into_iter().map(str::to_owned).collect(),
        source,
    }
}

/// [`Error::Stopped`] before `next` (or inside it, a backfill), with
/// the steps the report holds as done.
fn interrupted(report: &Report, next: &str, inside_backfill: bool) -> Error {
    tracing::info!(next, "the run stops, as asked, between steps");
    Error::Stopped {
        done: report.steps.iter().map(|step| step.revision.clone()).collect(),
        next: Some(next.to_owned()),
        inside_backfill,
    }
}
