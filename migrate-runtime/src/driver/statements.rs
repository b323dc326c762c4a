//! A step run one statement at a time, its progress counted in its history row:
//! `no-transaction` migrations, and every migration on MySQL.

use super::*;

/// Which failures of a statement-by-statement step its caller will try again:
/// the step then returns at once, its row left in progress for the next attempt.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retry {
    /// A lock timeout (attempts left).
    pub(crate) lock: bool,
    /// A deadlock or certification conflict (attempts left).
    pub(crate) conflict: bool,
}

impl Retry {
    /// No failure is tried again.
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    pub(crate) const NONE: Retry = Retry {
        lock: false,
        conflict: false,
    };
}

/// Runs a step one statement at a time, recording in its history row, as
/// each completes, how many did: a `-- migrate:no-transaction` step
/// (outside any transaction), and every step on MySQL (in a transaction,
/// which the server commits at each DDL statement). On MySQL a DML
/// statement's count rides in the same transaction as the statement, so it
/// commits or rolls back with it; a DDL statement commits itself, its count
/// commits right after it, and a new transaction is begun for what follows
/// (a connection lost between a DDL statement and its count undercounts by
/// one: the retry then stops on that statement, which says what exists).
/// The row is marked in progress (and
/// committed) first, so a failure or a crash part-way is seen by the next
/// run and refused until resolved; `resolve --retry` goes on from there.
///
/// `resume`: the row exists (a failed run's, or this run's earlier attempt)
/// and this many statements are done. On a lock timeout with attempts left
/// (`last` false), the transaction is rolled back and the row left in progress.
pub(crate) async fn by_statements(
    conn: &mut dyn Backend,
    s: &Settings,
    step: Step<'_>,
    sql: &str,
    resume: Option<usize>,
    retry: Retry,
) -> Result<()> {
    let guards = conn.guards(s, step.migration);
    // Set before the row is marked: a failure here changes nothing.
    let reset = match (&guards.save, &guards.set) {
        (Some(save), Some(set)) => {
            let reset = conn
                .read_strings(save.clone())
                .await
                .map_err(db("reading the session's timeouts and foreign_key_checks"))?
                .into_iter()
                .next();
            run(
                conn,
                set.clone(),
                "setting the migration's timeouts and foreign_key_checks",
            )
            .await?;
            reset
        }
        _ => None,
    };
    let mut result = statement_by_statement(conn, s, step, sql, resume, retry).await;
    if let Some(reset) = reset {
        // Also when the step failed: the session's settings never outlive it.
        if let Err(e) = run(conn, reset, "restoring the session's timeouts and foreign_key_checks").await {
            also(
                &mut result,
                e,
                "restoring the session's timeouts and foreign_key_checks",
            );
        }
    }
    result
}

/// [`by_statements`] once the session's settings are set.
pub(crate) async fn statement_by_statement(
    conn: &mut dyn Backend,
    s: &Settings,
    step: Step<'_>,
    sql: &str,
    resume: Option<usize>,
    retry: Retry,
) -> Result<()> {
    let outside = step.migration.no_transaction();
    let statements = split::statements(sql, conn.dialect());
    let from = mark_in_progress(conn, s, &step, resume).await?;
    if outside {
        conn.suspend(s).await?;
    }
    let started = Instant::now();
    let mut failed = None;
    let setup = match outside {
        true => Ok(()),
        false => run(conn, "BEGIN".into(), "beginning the migration's transaction").await,
    };
    if setup.is_ok() {
        failed = run_from(conn, s, &step, &statements, from).await;
    }
    match failed {
        None => finish(conn, s, step, setup, started, statements.len(), retry).await,
        Some(failure) => fail(conn, s, step, &statements, failure, retry).await,
    }
}

/// Marks the step's row in progress; returns the statement to start from.
async fn mark_in_progress(
    conn: &mut dyn Backend,
    s: &Settings,
    step: &Step<'_>,
    resume: Option<usize>,
) -> Result<usize> {
    let d = conn.dialect();
    let (t, revision) = (&s.table, step.migration.revision());
    match resume {
        None => {
            // Counting starts again: a downgrade's row still holds its upgrade's count.
            let marked = format!("{};\n{}", mark(d, t, step), d.set_progress(t, revision, 0));
            run(conn, marked, "marking the migration in progress").await?;
            Ok(0)
        }
        Some(done) => {
            let state = State::in_progress(step.direction);
            let sql = d.set_state(t, revision, state, None);
            run(conn, sql, "marking the migration in progress").await?;
            Ok(done)
        }
    }
}

/// A statement that failed: its number (1-based), its line, the error.
type Failed = (usize, usize, sqlx::Error);

/// Runs the statements from `from` on, each with its count; the first failure.
async fn run_from(
    conn: &mut dyn Backend,
    s: &Settings,
    step: &Step<'_>,
    statements: &[split::Statement<'_>],
    from: usize,
) -> Option<Failed> {
    let d = conn.dialect();
    let revision = step.migration.revision();
    let outside = step.migration.no_transaction();
    for (i, statement) in statements.iter().enumerate().skip(from) {
        let n = i + 1;
        tracing::debug!(revision, statement = n, line = statement.line, "running statement");
        let progress = d.set_progress(&s.table, revision, n);
        let ran = if outside {
            // Alone: PostgreSQL runs a multi-statement text in one implicit transaction.
            match conn.execute(statement.text.to_owned()).await {
                Ok(()) => conn.execute(progress).await,
                Err(e) => Err(e),
            }
        } else if split::commits_implicitly(statement.text) {
            // The server committed the statement; its count commits alone
            // right after, and a new transaction holds what follows.
            conn.execute(format!("{}\n;\n{progress};\nBEGIN", statement.text)).await
        } else {
            conn.execute(format!("{}\n;\n{progress}", statement.text)).await
        };
        if let Err(e) = ran {
            return Some((n, statement.line, e));
        }
    }
    None
}

/// Records a step whose statements all ran: its row marked applied (under a
/// lease, only if this run still holds it) and committed.
async fn finish(
    conn: &mut dyn Backend,
    s: &Settings,
    step: Step<'_>,
    setup: Result<()>,
    started: Instant,
    total: usize,
    retry: Retry,
) -> Result<()> {
    let d = conn.dialect();
    let t = &s.table;
    let outside = step.migration.no_transaction();
    let finish = async {
        setup?;
        // Under a lease, the row is marked applied only if this run still holds it.
        match renew_lease(conn, s, outside).await {
            // A deadlock in the step's transaction rolled it back: try the step again.
            Err(Error::Database { source, .. }) if retry.conflict && conn.is_conflict(&source) => {
                return Err(step.failure_at(source, Some(total), None, false, None));
            }
            renewed => renewed?,
        }
        let ms = started.elapsed().as_millis().to_string();
        let record = step.record(d, t, &ms, true);
        if outside {
            conn.resume(s).await?;
            run(conn, record, "recording the step in the history table").await
        } else {
            let committed = conn.execute(format!("{record};\nCOMMIT")).await;
            match committed {
                // Galera certifies at commit: the transaction was rolled back, the
                // row is as it was; the caller tries again from what stayed done.
                Err(e) if retry.conflict && conn.is_conflict(&e) => {
                    Err(step.failure_at(e, Some(total), None, false, None))
                }
                other => other.map_err(db("recording the step in the history table")),
            }
        }
    };
    let finished = finish.await;
    if finished.is_err() && !outside {
        // Nothing of a failed finish is left open on the connection.
        let _ = conn.execute("ROLLBACK".into()).await;
    }
    finished
}

/// A statement failed: rolled back where it ran in a transaction, left for
/// the caller to try again where `retry` says so, else the row marked failed
/// with what stayed done (or removed when nothing did).
async fn fail(
    conn: &mut dyn Backend,
    s: &Settings,
    step: Step<'_>,
    statements: &[split::Statement<'_>],
    (n, line, e): Failed,
    retry: Retry,
) -> Result<()> {
    let d = conn.dialect();
    let t = &s.table;
    let revision = step.migration.revision();
    let outside = step.migration.no_transaction();
    let total = statements.len();
    let mut cleanup = None;
    if !outside {
        cleanup = run(conn, "ROLLBACK".into(), "rolling back the failed migration")
            .await
            .err();
    }
    if outside {
        if let Err(resumed) = conn.resume(s).await {
            cleanup.get_or_insert(resumed);
        }
    }
    if !outside && ((retry.lock && conn.is_lock_timeout(&e)) || (retry.conflict && conn.is_conflict(&e))) {
        // Tried again by the caller: the row stays as it is, in progress.
        return Err(step.failure_at(e, Some(n), Some(line), false, cleanup));
    }
    // What stayed done: the row knows (a rolled-back statement's progress went with it).
    let done = match progress(conn, s, revision).await {
        Ok(done) => done,
        Err(reading) => {
            cleanup.get_or_insert(reading);
            n - 1
        }
    };
    if done == 0 && !outside {
        // Nothing of it stayed (its first statement failed, or only statements the
        // rollback undid ran): as clean as a failed transaction, so no mark is left.
        let undo = match step.direction {
            Direction::Upgrade => d.delete(t, revision),
            Direction::Downgrade => d.set_state(t, revision, State::Applied, None),
        };
        match run(conn, undo, "removing the failed migration's in-progress mark").await {
            Ok(()) => return Err(step.failure_at(e, Some(n), Some(line), true, cleanup)),
            Err(c) => {
                cleanup.get_or_insert(c);
            }
        }
    }
    let mut note = format!(
        "statement {n} of {total} (line {line}) failed: {}; {}",
        crate::error::db_message(&e),
        match done {
            0 => "no statement stayed done".to_owned(),
            1 => "statement 1 stayed done".to_owned(),
            k => format!("statements 1-{k} stayed done"),
        }
    );
    if let Some(left) = conn.invalid_index(statements[n - 1].text).await {
        note.push_str(&format!(
            "; it left the INVALID index {}: drop it with `{}` before retrying",
            left.0, left.1
        ));
    }
    if let Err(marking) = mark_failed(conn, s, &step, &note).await {
        cleanup.get_or_insert(marking);
    }
    let mut error = step.failure_at(e, Some(n), Some(line), false, cleanup);
    if let Error::Migration { completed, .. } = &mut error {
        *completed = Some(done);
    }
    Err(error)
}
