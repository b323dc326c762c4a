//! A rehearsal ([`crate::Migrator::rehearse`]): under the run's lock, the
//! upgrade's plan computed as an upgrade computes it, then each step run
//! statement by statement, each statement's rows and locks read after it,
//! inside what the database undoes at the end ([`driver::Rehearsing`]: one
//! transaction rolled back, or a schema copy dropped).

use super::*;
use crate::driver::{HeldLocks, Rehearsing};
use crate::rehearsal::{Rehearsal, RehearsedOn, RehearsedStatement, RehearsedStep, StepOutcome, TakenLock};
use migrate_core::TableLock;
use std::collections::HashSet;

/// The savepoint a rehearsed step that may be tried again begins at.
const STEP_SAVEPOINT: &str = "migrate_rehearsed_step";

/// Where the locks of a rehearsal stand: the tables that existed before it,
/// and each lock (table and mode) the session holds so far.
struct Locks {
    existing: Option<Vec<String>>,
    held: HashSet<(String, TableLock)>,
    unavailable: Option<String>,
}

impl<'m> Run<'m> {
    /// Rehearses the upgrade to `target` on the connection `connect` gives.
    pub(crate) fn rehearse<'a, 'c: 'a>(
        &'a self,
        connect: BoxFuture<'c, Result<Box<dyn Handle + 'c>>>,
        target: Result<Target, TargetError>,
    ) -> BoxFuture<'a, Result<Rehearsal>> {
        Box::pin(async move {
            let target = target?;
            let mut session = Session::new(connect.await?);
            let second = session.conn.second();
            let ran = self.rehearse_locked(session.conn.backend(), target, second).await;
            session.finish(ran)
        })
    }

    /// Takes the lock, rehearses where the database rehearses, gives the lock back.
    pub(super) async fn rehearse_locked(
        &self,
        conn: &mut dyn Backend,
        target: Target,
        second: Option<crate::driver::Second>,
    ) -> Ran<Rehearsal> {
        let s = Settings {
            second,
            ..self.settings.clone()
        };
        let (graph, s) = match self.take_lock(conn, &s).await {
            Ok(taken) => taken,
            Err(e) => {
                return Ran {
                    result: Err(e),
                    clean: false,
                };
            }
        };
        let mut clean = true;
        let mut left_behind = crate::rehearsal::LeftBehind::default();
        let mut advanced = Vec::new();
        let result = match conn.rehearsal() {
            Rehearsing::RolledBack { begin, end } => {
                let sequences = conn.sequence_positions().await;
                let ran = async {
                    driver::run(conn, begin.into(), "beginning the rehearsal's transaction").await?;
                    Ok(self.rehearse_chain(conn, &s, &graph, target, false).await)
                }
                .await;
                let ended = driver::run(conn, end.into(), "rolling the rehearsal back").await;
                if let (Some(before), Ok(())) = (&sequences, &ended) {
                    advanced = conn
                        .sequence_positions()
                        .await
                        .map(|after| crate::rehearsal::advanced(before, after))
                        .unwrap_or_default();
                }
                if ended.is_err() {
                    // The connection may still hold the transaction: it is closed, not reused.
                    clean = false;
                }
                match ran {
                    Ok(Ok(steps)) => ended.map(|()| (steps, RehearsedOn::RolledBack)),
                    Ok(Err(e)) | Err(e) => Err(e),
                }
            }
            Rehearsing::SchemaCopy => match self.refuse_escapes(conn, &s, &graph, &target).await {
                Err(e) => Err(e),
                Ok(()) => match conn.enter_schema_copy(&s).await {
                    Ok((copy, original, swept)) => {
                        left_behind = swept;
                        let ran = self.rehearse_chain(conn, &s, &graph, target, true).await;
                        let left = conn.leave_schema_copy(&copy, &original).await;
                        if left.is_err() {
                            clean = false;
                        }
                        match (ran, left) {
                            (Ok(steps), Ok(())) => Ok((steps, RehearsedOn::SchemaCopy { database: copy })),
                            (Err(e), _) | (Ok(_), Err(e)) => Err(e),
                        }
                    }
                    Err(e) => {
                        // Part of a copy, or the session's lock on it, may be left: not for a pool.
                        clean = false;
                        Err(e)
                    }
                },
            },
        };
        let released = super::lock::release(conn, &s).await;
        if released.is_err() {
            // The lock may still be held: the connection is closed, not pooled.
            clean = false;
        }
        let result = match (result, released) {
            (Ok(((steps, locks_unavailable), on)), Ok(())) => Ok(Rehearsal {
                dialect: conn.dialect(),
                on,
                steps,
                locks_unavailable,
                sequences_advanced: advanced,
                left_behind,
            }),
            (Err(e), _) | (Ok(_), Err(e)) => Err(e),
        };
        Ran { result, clean }
    }

    /// Refuses a rehearsal on a schema copy, before the copy is made, when a
    /// pending step names the copied database explicitly or switches
    /// databases: on the copy, it would reach the real one. The pending steps
    /// are read from the real history as it stands, changing nothing.
    async fn refuse_escapes(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        graph: &Graph<'_>,
        target: &Target,
    ) -> Result<()> {
        let Some(database) = conn.copied_database().await else {
            // No database selected: making the copy says so.
            return Ok(());
        };
        let rows = driver::read_if_present(conn, s).await?;
        let applied = self.check(graph, &rows)?;
        let mut plan = plan::upgrade(graph, &applied, target)?;
        self.hold_back(graph, &mut plan);
        // What would run: the variables bound (a value may name the database).
        let bound = self.vars.bind_plan(self.migrations, graph, &plan, conn.dialect())?;
        let _redacting = crate::vars::Redacting::new(bound.iter().map(|(_, m)| m));
        for &i in &plan.steps {
            let m = bound.iter().find(|(at, _)| *at == i).map_or(graph.get(i), |(_, b)| b);
            let named = migrate_core::sql::naming::naming_database(m.upgrade_sql(), conn.dialect(), &database);
            if let Some(first) = named.into_iter().next() {
                tracing::debug!(revision = m.revision(), reason = %first.reason, "the rehearsal would reach past its copy");
                return Err(Error::RehearsalEscapesCopy {
                    database,
                    revision: m.revision().to_owned(),
                    file: m.file().to_owned(),
                    line: m.upgrade_line() + first.line - 1,
                    reason: first.reason,
                });
            }
        }
        Ok(())
    }

    /// The history table (created if missing), read and verified, the
    /// upgrade's plan, and each step rehearsed until one fails or cannot be.
    /// On a copy (`copy`), every step can run, each statement in a
    /// transaction of its own whose locks are read before it commits.
    async fn rehearse_chain(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        graph: &Graph<'_>,
        target: Target,
        copy: bool,
    ) -> Result<(Vec<RehearsedStep>, Option<String>)> {
        let columns = driver::create_table(conn, s).await?;
        let rows = conn.read_rows(s, Some(columns)).await?;
        let applied = self.check(graph, &rows)?;
        let mut plan = plan::upgrade(graph, &applied, &target)?;
        self.hold_back(graph, &mut plan);
        let mut locks = Locks {
            existing: conn.existing_tables().await,
            held: HashSet::new(),
            unavailable: None,
        };
        // The steps' variables bound, every one before the first statement
        // (an unset one refuses the rehearsal as it refuses the run); the
        // report shows a secret's `${NAME}`, never its value.
        let bound = self.vars.bind_plan(self.migrations, graph, &plan, conn.dialect())?;
        let _redacting = crate::vars::Redacting::new(bound.iter().map(|(_, m)| m));
        let mut steps = Vec::new();
        let mut stopped = false;
        // A step that must commit before the next (it adds an enum value): what
        // follows may use what it added, which a rolled-back rehearsal never commits.
        let mut uncommitted: Option<&str> = None;
        for &i in &plan.steps {
            let m = bound.iter().find(|(at, _)| *at == i).map_or(graph.get(i), |(_, b)| b);
            let outcome = if stopped {
                Some(StepOutcome::NotReached)
            } else if let Some(file) = uncommitted {
                stopped = true;
                Some(StepOutcome::NotRehearsable {
                    sql: format!(
                        "-- not rehearsed: it comes after {file}, which adds an enum value that can be used only once committed, and a rehearsal commits nothing"
                    ),
                })
            } else if m.is_rust() {
                // Its code is the application's, and may act beyond what a rehearsal undoes.
                stopped = true;
                Some(StepOutcome::NotRehearsable {
                    sql: format!("-- {}: a Rust revision, not rehearsed", m.file()),
                })
            } else if m.backfill().is_some() {
                // Its batches commit one by one, which no rehearsal undoes.
                stopped = true;
                Some(StepOutcome::NotRehearsable {
                    sql: crate::vars::redacted(m.upgrade_sql()).into_owned(),
                })
            } else if m.no_transaction() && !copy {
                stopped = true;
                Some(StepOutcome::NotRehearsable {
                    sql: crate::vars::redacted(m.upgrade_sql()).into_owned(),
                })
            } else {
                None
            };
            let step = match outcome {
                Some(outcome) => unrun(m, outcome),
                None => {
                    tracing::info!(
                        "Rehearsing upgrade {} -> {}, {}",
                        super::apply::parents(m),
                        m.revision(),
                        m.message()
                    );
                    self.rehearse_attempts(conn, s, m, &mut locks, copy).await?
                }
            };
            if matches!(step.outcome, StepOutcome::Failed { .. }) {
                stopped = true;
            } else if matches!(step.outcome, StepOutcome::Ran | StepOutcome::OverBudget { .. })
                && !copy
                && conn.commits_before_next(m.upgrade_sql())
            {
                uncommitted = Some(m.file());
            }
            steps.push(step);
        }
        Ok((steps, locks.unavailable))
    }

    /// One step tried as its run tries it: a statement that waited longer
    /// than the lock timeout is rolled back to before the step (a savepoint
    /// of the rehearsal's one transaction, which gives back the locks taken
    /// since) and the step tried again after the run's pause, up to
    /// `lock_attempts` times. A copy holds no one else's locks, and a
    /// `no-transaction` step is tried once by its run too.
    async fn rehearse_attempts(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        m: &Migration,
        locks: &mut Locks,
        copy: bool,
    ) -> Result<RehearsedStep> {
        let attempts = match copy {
            true => 1,
            false => driver::lock_attempts(s, m),
        };
        let mut attempt = 1;
        loop {
            let again = attempt < attempts;
            let held = again.then(|| (locks.held.clone(), locks.unavailable.clone()));
            if again {
                driver::savepoint(conn, STEP_SAVEPOINT, "marking the rehearsed step's start").await?;
            }
            let (step, timed_out) = self.rehearse_step(conn, s, m, locks, copy).await?;
            let Some(held) = held else { return Ok(step) };
            if !timed_out {
                if !matches!(step.outcome, StepOutcome::Failed { .. }) {
                    driver::release(conn, STEP_SAVEPOINT, "ending the rehearsed step").await?;
                }
                return Ok(step);
            }
            driver::rollback_to(conn, STEP_SAVEPOINT, "rolling the rehearsed step back to try it again").await?;
            (locks.held, locks.unavailable) = held;
            let pause = driver::backoff(attempt);
            tracing::warn!(
                revision = m.revision(),
                attempt,
                attempts,
                retry_in = ?pause,
                "a rehearsed statement waited longer than the lock timeout; the step was rolled back and will be tried again, as its run would be"
            );
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }

    /// One step rehearsed under the timeouts its real run sets (its header's,
    /// else the run's `ddl_lock_timeout` and `statement_timeout`), statement by
    /// statement, then its history row: a lock wait or a statement the real
    /// run would cancel fails here too. Also whether it failed on a statement
    /// that waited longer than the lock timeout.
    async fn rehearse_step(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        m: &Migration,
        locks: &mut Locks,
        copy: bool,
    ) -> Result<(RehearsedStep, bool)> {
        let reset = driver::set_guards(conn, s, m).await?;
        let step = self.rehearse_statements(conn, s, m, locks, copy).await;
        if let Some(reset) = reset {
            let failed = matches!(&step, Ok((st, _)) if matches!(st.outcome, StepOutcome::Failed { .. }));
            let restored = driver::run(conn, reset, "restoring the session's timeouts").await;
            // After a failure PostgreSQL refuses it in the aborted transaction, whose rollback undoes the settings.
            if let Err(e) = restored
                && !failed
            {
                return Err(e);
            }
        }
        step
    }

    /// [`Self::rehearse_step`]'s statements, timed, with the locks they took.
    async fn rehearse_statements(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        m: &Migration,
        locks: &mut Locks,
        copy: bool,
    ) -> Result<(RehearsedStep, bool)> {
        let d = conn.dialect();
        let started = Instant::now();
        let mut step = unrun(m, StepOutcome::Ran);
        for (k, statement) in crate::split::statements(m.upgrade_sql(), d).iter().enumerate() {
            let line = m.upgrade_line() + statement.line - 1;
            if copy {
                driver::begin(conn, "beginning a rehearsed statement's transaction").await?;
                // What the last statement held went with its commit.
                locks.held.clear();
            }
            let at = Instant::now();
            let done = conn.execute_affected(statement.text.to_owned()).await;
            let duration = at.elapsed();
            let rows = match done {
                Ok(rows) => rows,
                Err(e) => {
                    // The step's outcome carries the error (its message redacted).
                    tracing::debug!(revision = m.revision(), line, "the rehearsed statement failed");
                    if copy {
                        // Its own transaction only; the copy is dropped anyway.
                        let _ = driver::rollback(conn, "rolling the statement back").await;
                    }
                    step.outcome = StepOutcome::Failed {
                        statement: k + 1,
                        line,
                        error: crate::vars::redacted(&crate::error::db_message(&e)).into_owned(),
                    };
                    step.duration = started.elapsed();
                    return Ok((step, conn.is_lock_timeout(&e)));
                }
            };
            let taken = self.taken(conn, s, statement.text, locks).await;
            if copy {
                driver::commit(conn, "committing a rehearsed statement").await?;
            }
            let taken: Vec<TakenLock> = taken
                .into_iter()
                .map(|(table, lock)| TakenLock {
                    over_budget: m.directives().max_lock.and_then(|b| lock.exceeds(b, d)) == Some(true),
                    table,
                    lock,
                })
                .collect();
            if let (StepOutcome::Ran, Some(over), Some(budget)) = (
                &step.outcome,
                taken.iter().find(|t| t.over_budget),
                m.directives().max_lock,
            ) {
                step.outcome = StepOutcome::OverBudget {
                    statement: k + 1,
                    line,
                    table: over.table.clone(),
                    lock: over.lock,
                    budget,
                };
            }
            step.statements.push(RehearsedStatement {
                line,
                sql: crate::vars::redacted(statement.text).into_owned(),
                duration,
                rows,
                locks: taken,
                // On a copy, each statement's own transaction ends with it when it commits implicitly.
                locks_unseen: copy && crate::split::commits_implicitly(statement.text),
            });
        }
        let ms = step
            .statements
            .iter()
            .map(|st| st.duration)
            .sum::<Duration>()
            .as_millis();
        let record = Step {
            migration: m,
            direction: Direction::Upgrade,
            run_sql: true,
            rust: None,
        }
        .record(d, &s.table, &ms.to_string(), false);
        driver::run(conn, record, "recording the rehearsed step in the history table").await?;
        // The history row's locks are the run's, not the migration's.
        self.taken(conn, s, "", locks).await;
        step.duration = started.elapsed();
        Ok((step, false))
    }

    /// The locks a statement took on tables that existed before the
    /// rehearsal (not the history table): new or stronger than those held.
    async fn taken(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        statement: &str,
        locks: &mut Locks,
    ) -> Vec<(String, TableLock)> {
        let d = conn.dialect();
        let now = match conn.locks_after(statement).await {
            HeldLocks::Taken(taken) => return taken,
            HeldLocks::Held(now) => now,
            HeldLocks::Unavailable(why) => {
                locks.unavailable.get_or_insert(why);
                return Vec::new();
            }
        };
        let history = s.table.name();
        // By table name, in order.
        let mut taken: std::collections::BTreeMap<String, TableLock> = std::collections::BTreeMap::new();
        for (table, lock) in now {
            let unqualified = table.rsplit('.').next().unwrap_or(&table);
            let made_here = locks.existing.as_ref().is_some_and(|e| !e.contains(&table));
            // A mode held already was taken before; a database lists each mode a
            // session holds (PostgreSQL's SHARE beside an ACCESS EXCLUSIVE), so a
            // weaker one taken later is still seen.
            if unqualified == history || made_here || !locks.held.insert((table.clone(), lock)) {
                continue;
            }
            match taken.get_mut(&table) {
                Some(strongest) if lock.rank(d) > strongest.rank(d) => *strongest = lock,
                Some(_) => {}
                None => {
                    taken.insert(table, lock);
                }
            }
        }
        taken.into_iter().collect()
    }
}

/// `m` as a step that did not run (yet).
fn unrun(m: &Migration, outcome: StepOutcome) -> RehearsedStep {
    RehearsedStep {
        revision: m.revision().to_owned(),
        message: m.message().to_owned(),
        file: m.file().to_owned(),
        max_lock: m.directives().max_lock,
        outcome,
        duration: Duration::ZERO,
        statements: Vec::new(),
    }
}

/// The locks of a round trip's first upgrade ([`crate::RoundTrip::locks`]).
#[cfg(feature = "catalog")]
impl<'m> Run<'m> {
    /// Upgrades to `to` (the one step `m`) as [`Run::step`] does, measuring
    /// its statements' locks: a transactional step is rehearsed first where
    /// the database rolls a rehearsal back (the rehearsal's own measure); a
    /// `-- migrate:no-transaction` one is watched from a second session while
    /// it runs, where the database can tell ([`Backend::watch_locks`]).
    pub(crate) async fn measured_upgrade(
        &self,
        session: &mut Session<'_>,
        m: &Migration,
        to: &Target,
    ) -> (Result<()>, Option<RehearsedStep>) {
        let upgrade = Op::Upgrade(to.clone());
        if !m.no_transaction() {
            let conn = session.conn.backend();
            let mut measured = None;
            if let Rehearsing::RolledBack { .. } = conn.rehearsal() {
                let ran = self.rehearse_locked(conn, to.clone(), None).await;
                if !ran.clean {
                    session.clean = false;
                }
                measured = ran
                    .result
                    .ok()
                    .and_then(|r| r.steps.into_iter().find(|s| s.revision == m.revision()))
                    .filter(|s| matches!(s.outcome, StepOutcome::Ran | StepOutcome::OverBudget { .. }));
            }
            return (self.step(session, upgrade).await.map(drop), measured);
        }
        let second = session.conn.second();
        let conn = session.conn.backend();
        let d = conn.dialect();
        let (pid, existing) = (conn.session_id().await, conn.existing_tables().await);
        let watcher = match (pid, second) {
            (Some(pid), Some(second)) => second.open().await.map(|h| (pid, h)),
            _ => None,
        };
        let Some((pid, mut handle)) = watcher else {
            return (self.step(session, upgrade).await.map(drop), None);
        };
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        // With the caller's subscriber: the watcher's events go where the run's go.
        let watching = tokio::spawn(tracing::instrument::WithSubscriber::with_current_subscriber(
            async move { handle.backend().watch_locks(&pid, &stopped).await },
        ));
        let done = self.step(session, upgrade).await.map(drop);
        stop.store(true, std::sync::atomic::Ordering::Release);
        let seen = watching.await.ok().flatten();
        let measured = seen.map(|seen| self.watched(m, d, existing.as_deref(), &seen));
        (done, measured)
    }

    /// A watched step: each statement with the strongest lock it was seen
    /// holding on each table that existed before it; one seen holding none is
    /// said unseen (too quick for the watcher, or no lock at all).
    fn watched(
        &self,
        m: &Migration,
        d: migrate_core::Dialect,
        existing: Option<&[String]>,
        seen: &[driver::WatchedLock],
    ) -> RehearsedStep {
        let mut step = unrun(m, StepOutcome::Ran);
        let history = self.settings.table.name();
        for (k, statement) in crate::split::statements(m.upgrade_sql(), d).iter().enumerate() {
            let line = m.upgrade_line() + statement.line - 1;
            let mut strongest: std::collections::BTreeMap<String, TableLock> = std::collections::BTreeMap::new();
            for w in seen.iter().filter(|w| w.statement.trim() == statement.text.trim()) {
                let unqualified = w.table.rsplit('.').next().unwrap_or(&w.table);
                if unqualified == history || existing.is_some_and(|e| !e.contains(&w.table)) {
                    continue;
                }
                let held = strongest.entry(w.table.clone()).or_insert(w.lock);
                if w.lock.rank(d) > held.rank(d) {
                    *held = w.lock;
                }
            }
            let budget = m.directives().max_lock;
            let locks: Vec<TakenLock> = strongest
                .into_iter()
                .map(|(table, lock)| TakenLock {
                    over_budget: budget.and_then(|b| lock.exceeds(b, d)) == Some(true),
                    table,
                    lock,
                })
                .collect();
            if let (StepOutcome::Ran, Some(over), Some(budget)) =
                (&step.outcome, locks.iter().find(|t| t.over_budget), budget)
            {
                step.outcome = StepOutcome::OverBudget {
                    statement: k + 1,
                    line,
                    table: over.table.clone(),
                    lock: over.lock,
                    budget,
                };
            }
            step.statements.push(RehearsedStatement {
                line,
                sql: crate::vars::redacted(statement.text).into_owned(),
                duration: Duration::ZERO,
                rows: 0,
                locks_unseen: locks.is_empty(),
                locks,
            });
        }
        step
    }
}
