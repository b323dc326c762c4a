//! One step of a plan: [`apply`] with its attempts, retried on a lock timeout
//! or a conflict as its framing allows.

use super::*;

/// One step of a plan, as a driver executes it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    pub migration: &'a Migration,
    pub direction: Direction,
    /// False when stamping: record the change, run no SQL.
    pub run_sql: bool,
    /// A Rust revision's function in this direction, where the list carries
    /// it (`embed_migrations!`); a Rust revision without one is not run.
    pub rust: Option<crate::rust::Bound>,
}

impl<'a> Step<'a> {
    /// The SQL this step runs, if any.
    pub(crate) fn sql(&self) -> Option<&str> {
        if !self.run_sql {
            return None;
        }
        match self.direction {
            Direction::Upgrade => Some(self.migration.upgrade_sql()),
            Direction::Downgrade => self.migration.downgrade_sql(),
        }
        .filter(|s| !s.trim().is_empty())
    }

    /// The backfill this step runs in batches (`driver::backfill`): a
    /// backfill revision's upgrade (its SQL statement, or a Rust revision's
    /// closure handed to `migrate::backfill`), run (not stamped).
    pub(crate) fn backfill(&self) -> Option<&'a migrate_core::Backfill> {
        let m = self.migration;
        let runs = self.run_sql && self.direction == Direction::Upgrade;
        m.backfill().filter(|_| runs)
    }

    /// The error for this step's SQL failing; `cleanup` is what failed
    /// afterwards (the rollback, the failure mark), kept beside the cause.
    pub(crate) fn failure(&self, source: sqlx::Error, rolled_back: bool, cleanup: Option<Error>) -> Error {
        self.failure_at(source, None, None, rolled_back, cleanup)
    }

    /// [`failure`](Self::failure), placed at `statement` (1-based) or `line` of the step's SQL.
    pub(crate) fn failure_at(
        &self,
        source: sqlx::Error,
        statement: Option<usize>,
        line: Option<usize>,
        rolled_back: bool,
        cleanup: Option<Error>,
    ) -> Error {
        Error::Migration {
            completed: None,
            revision: self.migration.revision().to_owned(),
            file: self.migration.file().to_owned(),
            direction: self.direction,
            statement,
            line,
            rolled_back,
            applied: Vec::new(),
            source: crate::vars::redact_error(self.migration, source),
            cleanup: cleanup.map(Box::new),
        }
    }

    /// The error for a Rust revision whose function this list does not carry.
    pub(crate) fn not_embedded(&self) -> Error {
        Error::RustNotEmbedded {
            revision: self.migration.revision().to_owned(),
            file: self.migration.file().to_owned(),
            direction: self.direction,
            applied: Vec::new(),
        }
    }

    /// The error for this step leaving rows whose foreign key points at no row
    /// (the first ones, and whether there were more); it was rolled back.
    pub(crate) fn dangling(&self, violations: Vec<ForeignKeyViolation>, more: bool, cleanup: Option<Error>) -> Error {
        Error::DanglingForeignKeys {
            revision: self.migration.revision().to_owned(),
            file: self.migration.file().to_owned(),
            direction: self.direction,
            violations,
            more,
            applied: Vec::new(),
            cleanup: cleanup.map(Box::new),
        }
    }

    /// The statement recording this step as done, taking `ms` (an SQL expression).
    pub(crate) fn record(&self, d: Dialect, t: &HistoryTable, ms: &str, marked: bool) -> String {
        let revision = self.migration.revision();
        match (self.direction, marked) {
            (Direction::Upgrade, false) => d.insert_applied(t, self.migration, ms),
            (Direction::Upgrade, true) => d.set_applied(t, revision, ms),
            (Direction::Downgrade, _) => d.delete(t, revision),
        }
    }
}

/// Runs one step and changes its history row, atomically where the database
/// allows. A run drops the digest row before its first step and writes it
/// after its last (see [`crate::migrator`]), so steps do not touch it and a
/// run cut short can never look up to date to a start-up check.
///
/// When the step's SQL fails and cleaning up after it (the rollback, the
/// failure mark) fails too, as on a broken connection, the error is still the
/// step's, with the cleanup's failure attached.
///
/// A step whose statement waited longer than the lock timeout is rolled back
/// and tried again with backoff, up to `lock_attempts` times (statement by
/// statement, from the first statement not done). `resume` runs a step whose
/// history row a failed run left, from that statement (`resolve --retry`).
///
/// A `-- migrate:foreign-keys-off` step runs as its database frames one
/// ([`Backend::without_foreign_keys`]: SQLite, in a transaction of its own with
/// foreign keys off), else the usual way with its [`Backend::guards`] (MySQL:
/// the session's `foreign_key_checks = 0`; PostgreSQL: no effect).
pub(crate) fn apply<'a>(
    conn: &'a mut dyn Backend,
    s: &'a Settings,
    step: Step<'a>,
    resume: Option<usize>,
) -> BoxFuture<'a, Result<()>> {
    // Boxed, so that the body is compiled once (see `statement_runner`).
    Box::pin(apply_body(conn, s, step, resume))
}

/// [`apply`]'s body.
async fn apply_body(conn: &mut dyn Backend, s: &Settings, step: Step<'_>, resume: Option<usize>) -> Result<()> {
    let d = conn.dialect();
    let t = &s.table;
    let by_statement = by_statement(conn, step.migration);
    // Under a lease, no step starts without it; where a step's transaction
    // checks it itself before it commits, that check is enough.
    if by_statement || step.sql().is_none() || !conn.checks_lease_at_commit() {
        renew_lease(conn, s, true).await?;
    }
    if step.run_sql && step.migration.is_rust() {
        if step.rust.is_none() {
            return Err(step.not_embedded());
        }
        return attempts(conn, s, step, "", resume).await;
    }
    let Some(sql) = step.sql() else {
        // Stamping, or nothing to run: only the history changes.
        let record = step.record(d, t, "0", resume.is_some());
        return run(conn, record, "recording the step in the history table").await;
    };
    if step.migration.directives().foreign_keys_off {
        if let Some(framed) = conn.without_foreign_keys(s, step, sql, resume) {
            return framed.await;
        }
    }
    attempts(conn, s, step, sql, resume).await
}

/// Whether `m` runs one statement at a time, its progress counted in its
/// history row: a `-- migrate:no-transaction` migration, and every migration
/// on a database without transactional DDL.
pub(crate) fn by_statement(conn: &dyn Backend, m: &Migration) -> bool {
    m.no_transaction() || !conn.transactional_ddl()
}

/// Adds `e`, which failed after a step (committing it, putting a setting
/// back), to the step's `result`: the error of a step that succeeded, the
/// cleanup of one that failed (never in place of its own error).
pub(crate) fn also(result: &mut Result<()>, e: Error, what: &str) {
    match result {
        Ok(()) => *result = Err(e),
        Err(Error::Migration { cleanup, .. } | Error::DanglingForeignKeys { cleanup, .. }) if cleanup.is_none() => {
            *cleanup = Some(Box::new(e))
        }
        Err(_) => tracing::error!(error = %e, "{what} failed"),
    }
}

/// [`apply`]'s attempts at a step that runs SQL: tried again on a lock timeout
/// or a conflict, as the step's framing allows. Boxed, so that its body is
/// compiled once: rustc copies an awaited `async fn`'s body into every codegen
/// unit that awaits it (here SQLite's batches and [`apply`]).
pub(crate) fn attempts<'a>(
    conn: &'a mut dyn Backend,
    s: &'a Settings,
    step: Step<'a>,
    sql: &'a str,
    resume: Option<usize>,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(attempts_at_step(conn, s, step, sql, resume))
}

/// [`attempts`]'s body.
async fn attempts_at_step(
    conn: &mut dyn Backend,
    s: &Settings,
    step: Step<'_>,
    sql: &str,
    resume: Option<usize>,
) -> Result<()> {
    let by_statement = by_statement(conn, step.migration);
    let attempts = lock_attempts(s, step.migration);
    let revision = step.migration.revision();
    let mut resume = resume;
    let mut attempt = 1;
    loop {
        let last = attempt >= attempts;
        let started = Instant::now();
        // The last attempt is watched from a second connection, where there is one
        // and the database can say who blocks a session (`Backend::watcher`), so
        // that a lock timeout can name exactly whom the migration waited for.
        let watcher = match (last, conn.watcher(), &s.second) {
            (true, Some(watch), Some(second)) => conn.session_id().await.map(|id| (watch, second, id)),
            _ => None,
        };
        let retry = Retry {
            lock: !last,
            conflict: attempt < CONFLICT_ATTEMPTS,
        };
        let attempt_run: BoxFuture<'_, Result<()>> = Box::pin(async {
            if let Some(rust) = step.rust.filter(|_| step.run_sql) {
                (rust.run)(conn, s, step, rust.f, resume).await
            } else if by_statement {
                match s.statements.or(conn.statements()) {
                    Some(run) => run(conn, s, step, sql, resume, retry).await,
                    None => Err(Error::runner_not_embedded(
                        step.migration,
                        "runs statement by statement (`-- migrate:no-transaction`)",
                        Vec::new(),
                    )),
                }
            } else {
                conn.in_transaction(s, step, sql).await
            }
        });
        let (result, seen) = match watcher {
            Some((watch, second, id)) => watch(attempt_run, second, id).await,
            None => (attempt_run.await, Vec::new()),
        };
        let (timed_out, conflict, lost) = match &result {
            Err(Error::Migration { source, .. }) => (
                conn.is_lock_timeout(source),
                conn.is_conflict(source),
                source.as_database_error().and_then(|e| e.code()).as_deref() == Some(crate::dialect::LEASE_LOST_CODE),
            ),
            _ => (false, false, false),
        };
        if lost {
            // The step's transaction found the lease gone and rolled back.
            return Err(Error::LeaseLost {
                holder: lease_holder(conn, s).await,
            });
        }
        if conflict && attempt < CONFLICT_ATTEMPTS {
            // A deadlock, or a Galera certification conflict: the database rolled
            // the transaction back; what stayed done is in the row.
            tracing::warn!(
                revision,
                attempt,
                "the migration's transaction hit a deadlock or a certification conflict; trying it again"
            );
            tokio::time::sleep(backoff(attempt) / 5).await;
            attempt += 1;
            if by_statement {
                // Its row says what stayed done; no row: it was removed as clean.
                resume = row_progress(conn, s, revision).await?;
            }
            continue;
        }
        if !timed_out {
            return result;
        }
        if !last {
            let pause = backoff(attempt);
            tracing::warn!(
                revision,
                attempt,
                attempts,
                retry_in = ?pause,
                "a statement waited longer than the lock timeout; the migration was rolled back and will be tried again"
            );
            if by_statement {
                // What stayed done is in its row, marked in progress: it is finished, not left.
                tokio::time::sleep(pause).await;
            } else if s.pause_unless_stopped(pause).await {
                // The attempt was rolled back whole: a clean point to stop at.
                return Err(Error::stopped(Some(revision), false));
            }
            attempt += 1;
            if by_statement {
                // The row stays marked in progress; go on from what stayed done.
                resume = row_progress(conn, s, revision).await?;
            }
            continue;
        }
        let blockers = if seen.is_empty() {
            conn.blockers(started.elapsed()).await
        } else {
            seen
        };
        let Err(source) = result else { return Ok(()) };
        tracing::debug!(revision, attempts, blockers = ?blockers, "the migration's lock waits ran out");
        return Err(Error::Blocked {
            revision: revision.to_owned(),
            attempts,
            blockers,
            source: Box::new(source),
        });
    }
}

/// How many times `m` is tried when a statement waits longer than the lock
/// timeout: the run's `lock_attempts`, but once outside a transaction, where
/// a statement that timed out may have left something behind (an INVALID
/// index) for a human to look at before it runs again.
pub(crate) fn lock_attempts(s: &Settings, m: &Migration) -> u32 {
    match m.no_transaction() {
        true => 1,
        false => s.lock_attempts.max(1),
    }
}

/// The pause before attempt `attempt + 1`: half a second, doubling, at most 10 s.
pub(crate) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << attempt.saturating_sub(1).min(5))).min(Duration::from_secs(10))
}
