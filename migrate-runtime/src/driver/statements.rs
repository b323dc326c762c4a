//! A step run one statement at a time, its progress counted in its history row:
//! `no-transaction` migrations, and every migration on MySQL.

use super::*;

/// Which failures of a statement-by-statement step its caller will try again:
/// the step then returns at once, its row left in progress for the next attempt.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Retry {
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
/// commits or rolls back with it; a DDL statement commits itself, and its
/// count commits with the next DDL statement's implicit commit (or the row's
/// record), or at once when a DML statement follows (a connection lost
/// between a DDL statement and its count's commit undercounts by one: the
/// retry then stops on that statement, which says what exists).
/// The row is marked in progress (and
/// committed) first, so a failure or a crash part-way is seen by the next
/// run and refused until resolved; `resolve --retry` goes on from there.
///
/// `resume`: the row exists (a failed run's, or this run's earlier attempt)
/// and this many statements are done. On a lock timeout with attempts left
/// (`last` false), the transaction is rolled back and the row left in progress.
async fn by_statements(
    conn: &mut dyn Backend,
    s: &Settings,
    step: Step<'_>,
    sql: &str,
    resume: Option<usize>,
    retry: Retry,
) -> Result<()> {
    // Set before the row is marked: a failure here changes nothing.
    let reset = set_guards(conn, s, step.migration).await?;
    let mut result = statements_of_step(conn, s, step, sql, resume, retry).await;
    reset_guards(conn, reset, &mut result).await;
    result
}

/// What runs a step statement by statement ([`by_statements`]), as a pointer:
/// a list holds it where its history has a `-- migrate:no-transaction`
/// migration (`Migrations::statements`, which `Migrator::run` puts in the
/// run's [`Settings`]), and MySQL's driver always ([`Backend::statements`]),
/// so an application that needs neither links none of it.
pub(crate) type StatementRunner =
    for<'a> fn(&'a mut dyn Backend, &'a Settings, Step<'a>, &'a str, Option<usize>, Retry) -> BoxFuture<'a, Result<()>>;

/// The [`StatementRunner`]: [`by_statements`], boxed, so that its body is
/// compiled once (rustc copies an awaited `async fn`'s body into every
/// codegen unit that awaits it).
pub(crate) fn statement_runner<'a>(
    conn: &'a mut dyn Backend,
    s: &'a Settings,
    step: Step<'a>,
    sql: &'a str,
    resume: Option<usize>,
    retry: Retry,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(by_statements(conn, s, step, sql, resume, retry))
}

/// Sets a step's session settings ([`Backend::guards`]) where the database
/// has them, returning the statement that puts the session's own back.
pub(crate) async fn set_guards(conn: &mut dyn Backend, s: &Settings, m: &Migration) -> Result<Option<String>> {
    let guards = conn.guards(s, m);
    let (Some(save), Some(set)) = (guards.save, guards.set) else {
        return Ok(None);
    };
    let reset = conn
        .read_strings(save)
        .await
        .map_err(db("reading the session's timeouts and foreign_key_checks"))?
        .into_iter()
        .next();
    run(conn, set, "setting the migration's timeouts and foreign_key_checks").await?;
    Ok(reset)
}

/// Puts back what [`set_guards`] set, also when the step failed: the
/// session's settings never outlive it.
pub(crate) async fn reset_guards(conn: &mut dyn Backend, reset: Option<String>, result: &mut Result<()>) {
    if let Some(reset) = reset {
        if let Err(e) = run(conn, reset, "restoring the session's timeouts and foreign_key_checks").await {
            also(result, e, "restoring the session's timeouts and foreign_key_checks");
        }
    }
}

/// [`by_statements`] once the session's settings are set.
async fn statements_of_step(
    conn: &mut dyn Backend,
    s: &Settings,
    step: Step<'_>,
    sql: &str,
    resume: Option<usize>,
    retry: Retry,
) -> Result<()> {
    let outside = step.migration.no_transaction();
    let statements = split::statements(sql, conn.dialect());
    let (marked, from) = mark_in_progress(conn.dialect(), s, &step, resume);
    let started = Instant::now();
    let (failed, setup, counted) = if outside {
        run(conn, marked, "marking the migration in progress").await?;
        conn.suspend(s).await?;
        (
            run_outside(conn, s, &step, &statements, from).await?,
            Ok(()),
            String::new(),
        )
    } else {
        // The mark is committed before the first statement runs: by that
        // statement's own implicit commit when it is DDL, else by a COMMIT of
        // its own (a failed DML statement must not roll the mark back). All of
        // it rides with the statements, in one request.
        let first_commits = statements
            .get(from)
            .is_some_and(|st| split::commits_implicitly(st.text));
        let commit = if first_commits { "" } else { "COMMIT;\nBEGIN;\n" };
        // Without a lease to check first, the row's record and COMMIT ride too,
        // the step timed by the server from the mark on.
        let clock = conn
            .step_clock()
            .filter(|_| s.lease().is_none() && from < statements.len());
        let start = clock.map(|(start, _)| format!("{start};\n")).unwrap_or_default();
        let lead = format!("BEGIN;\n{marked};\n{start}{commit}");
        let record = clock.map(|(_, ms)| step.record(conn.dialect(), &s.table, ms, true));
        match run_in_transaction(conn, s, &step, &statements, (from, lead), record).await {
            Ran::Recorded => return Ok(()),
            Ran::RecordFailed(e) => return recorded(conn, &step, Err(e), statements.len(), retry).await,
            Ran::Stopped(failed, setup, counted) => (failed, setup, counted),
        }
    };
    match failed {
        None => finish(conn, s, step, (setup, &counted), started, statements.len(), retry).await,
        Some(failure) => fail(conn, s, step, &statements, failure, retry).await,
    }
}

/// What [`run_in_transaction`] did.
enum Ran {
    /// Every statement, the row's record and COMMIT ran.
    Recorded,
    /// Every statement ran; the row's record or COMMIT failed.
    RecordFailed(sqlx::Error),
    /// The first failure, if any; how the transaction began; the last
    /// statement's count, for the row's record to take along.
    Stopped(Option<Failed>, Result<()>, String),
}

/// The statement that marks the step's row in progress, and the statement
/// to start from.
fn mark_in_progress(d: Dialect, s: &Settings, step: &Step<'_>, resume: Option<usize>) -> (String, usize) {
    let (t, revision) = (&s.table, step.migration.revision());
    match resume {
        // Counting starts again: a downgrade's row still holds its upgrade's count.
        None => (format!("{};\n{}", mark(d, t, step), d.set_progress(t, revision, 0)), 0),
        Some(done) => (d.set_state(t, revision, State::in_progress(step.direction), None), done),
    }
}

/// A statement that failed: its number (1-based), its line, the error.
type Failed = (usize, usize, sqlx::Error);

/// A no-transaction step's statements from `from` on, each alone and then
/// its count (PostgreSQL runs a multi-statement text in one implicit
/// transaction); the first failure. Under a lease, each statement after the
/// first starts only while the run still holds it (nothing else fences a
/// statement outside a transaction): a run paused past its lease stops
/// there, [`Error::LeaseLostInStep`], instead of running statements the
/// migrator that took over may be running too.
async fn run_outside(
    conn: &mut dyn Backend,
    s: &Settings,
    step: &Step<'_>,
    statements: &[split::Statement<'_>],
    from: usize,
) -> Result<Option<Failed>> {
    let d = conn.dialect();
    let revision = step.migration.revision();
    for (i, statement) in statements.iter().enumerate().skip(from) {
        let n = i + 1;
        if i > from {
            match renew_lease(conn, s, true).await {
                Err(Error::LeaseLost { holder }) => {
                    return Err(Error::LeaseLostInStep {
                        revision: revision.to_owned(),
                        file: step.migration.file().to_owned(),
                        done: i,
                        holder,
                    });
                }
                renewed => renewed?,
            }
        }
        tracing::debug!(revision, statement = n, line = statement.line, "running statement");
        let ran = match conn.execute(statement.text.to_owned()).await {
            Ok(()) => conn.execute(d.set_progress(&s.table, revision, n)).await,
            Err(e) => Err(e),
        };
        if let Err(e) = ran {
            return Ok(Some((n, statement.line, e)));
        }
    }
    Ok(None)
}

/// A step's statements from `from` on, in its transaction, in one request:
/// `lead` (the mark and `BEGIN`), then each statement followed by its count,
/// but the last, whose count goes with the row's `record` (in the same
/// request when there is one, with COMMIT). A DML statement's count rides in
/// its transaction; a DDL statement's count commits with the next DDL
/// statement's implicit commit, or at once when a DML statement follows,
/// whose failure would roll it back. The server stops at the first
/// statement that fails, and how many results came before its error says
/// which it was (a failed count or `BEGIN` is reported as the statement
/// after it).
async fn run_in_transaction(
    conn: &mut dyn Backend,
    s: &Settings,
    step: &Step<'_>,
    statements: &[split::Statement<'_>],
    (from, lead): (usize, String),
    record: Option<String>,
) -> Ran {
    let d = conn.dialect();
    let revision = step.migration.revision();
    if from >= statements.len() {
        // Nothing left to run (a resumed step whose statements all stayed done).
        let began = run(conn, lead, "marking the migration in progress").await;
        return Ran::Stopped(None, began, String::new());
    }
    let mut text = String::new();
    let mut results = split::statements(&lead, d).len();
    let mut before = lead;
    // The result each statement's own is, in the request.
    let mut at = Vec::with_capacity(statements.len() - from);
    for (i, statement) in statements.iter().enumerate().skip(from) {
        let n = i + 1;
        tracing::debug!(revision, statement = n, line = statement.line, "running statement");
        text.push_str(&before);
        text.push_str(statement.text);
        // A newline first: the statement may end in a line comment.
        text.push_str("\n;\n");
        at.push(results);
        let progress = d.set_progress(&s.table, revision, n);
        let next_commits = statements
            .get(i + 1)
            .is_none_or(|next| split::commits_implicitly(next.text));
        before = match (split::commits_implicitly(statement.text), next_commits) {
            (true, true) => format!("BEGIN;\n{progress};\n"),
            (true, false) => format!("{progress};\nBEGIN;\n"),
            (false, _) => format!("{progress};\n"),
        };
        results += 1 + split::statements(&before, d).len();
    }
    let record = record.map(|r| format!("{before}{r};\nCOMMIT"));
    if let Some(record) = &record {
        text.push_str(record);
    }
    match conn.execute_counted(text).await {
        (_, Ok(())) if record.is_some() => Ran::Recorded,
        (_, Ok(())) => Ran::Stopped(None, Ok(()), before),
        (done, Err(e)) => match at.iter().position(|&r| done <= r) {
            Some(k) => {
                let statement = &statements[from + k];
                Ran::Stopped(Some((from + k + 1, statement.line, e)), Ok(()), String::new())
            }
            // After the last statement: its count, the record or COMMIT.
            None if record.is_some() => Ran::RecordFailed(e),
            None => {
                let last = statements.len() - 1;
                Ran::Stopped(Some((last + 1, statements[last].line, e)), Ok(()), String::new())
            }
        },
    }
}

/// `e` with the excerpt a MySQL/MariaDB syntax error quotes (`near '…' at
/// line N`) cut where the failed statement ends: the request went on (after
/// the `\n;\n` that [`run_in_transaction`] puts after each statement) with
/// the runtime's own bookkeeping and the migration's next statements, which
/// read as if they were part of it. Then only the text is kept.
fn excerpt_of_statement(e: sqlx::Error) -> sqlx::Error {
    let text = crate::error::db_message(&e);
    let Some(start) = text.find(" near '").map(|i| i + " near '".len()) else {
        return e;
    };
    let Some(len) = text[start..].rfind("' at line ") else {
        return e;
    };
    match text[start..start + len].find("\n;\n") {
        Some(cut) => sqlx::Error::Protocol(format!("{}{}", &text[..start + cut], &text[start + len..])),
        None => e,
    }
}

/// Records a step whose statements all ran: its row marked applied (under a
/// lease, only if this run still holds it) and committed.
async fn finish(
    conn: &mut dyn Backend,
    s: &Settings,
    step: Step<'_>,
    (setup, counted): (Result<()>, &str),
    started: Instant,
    total: usize,
    retry: Retry,
) -> Result<()> {
    let d = conn.dialect();
    let t = &s.table;
    let outside = step.migration.no_transaction();
    let ready = async {
        setup?;
        // Under a lease, the row is marked applied only if this run still holds it.
        match renew_lease(conn, s, outside).await {
            // A deadlock in the step's transaction rolled it back: try the step again.
            Err(Error::Database { source, .. }) if retry.conflict && conn.is_conflict(&source) => {
                Err(step.failure_at(source, Some(total), None, false, None))
            }
            renewed => renewed,
        }
    };
    let ready = ready.await;
    let record = || step.record(d, t, &started.elapsed().as_millis().to_string(), true);
    match ready {
        Err(e) if !outside => {
            // Nothing of a failed finish is left open on the connection.
            let _ = conn.execute("ROLLBACK".into()).await;
            Err(e)
        }
        Err(e) => Err(e),
        Ok(()) if outside => {
            // Recorded before the run's lock is taken again: the row commits as
            // the statements did (on SQLite, taken back inside the run's
            // transaction, it would wait for that transaction's commit).
            let recorded = run(conn, record(), "recording the step in the history table").await;
            let resumed = conn.resume(s).await;
            recorded.and(resumed)
        }
        Ok(()) => {
            // The last statement's count, if any, rides here too.
            let committed = conn.execute(format!("{counted}{};\nCOMMIT", record())).await;
            recorded(conn, &step, committed, total, retry).await
        }
    }
}

/// What the row's record and COMMIT of a step run in a transaction gave: a
/// failure leaves nothing open on the connection.
async fn recorded(
    conn: &mut dyn Backend,
    step: &Step<'_>,
    committed: Result<(), sqlx::Error>,
    total: usize,
    retry: Retry,
) -> Result<()> {
    let Err(e) = committed else { return Ok(()) };
    let _ = conn.execute("ROLLBACK".into()).await;
    // Galera certifies at commit: the transaction was rolled back, the row is
    // as it was; the caller tries again from what stayed done.
    if retry.conflict && conn.is_conflict(&e) {
        return Err(step.failure_at(e, Some(total), None, false, None));
    }
    Err(db("recording the step in the history table")(e))
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
    let e = excerpt_of_statement(e);
    // What stayed done: the row knows (a rolled-back statement's progress went with it).
    let mut done = match progress(conn, s, revision).await {
        Ok(done) => done,
        Err(reading) => {
            cleanup.get_or_insert(reading);
            n - 1
        }
    };
    // A DDL statement before the failed one committed itself, but its count
    // waited for the next DDL statement's implicit commit, which a statement
    // the server could not parse never made: the rollback took the count alone.
    if !outside && n >= 2 && done < n - 1 && split::commits_implicitly(statements[n - 2].text) {
        done = n - 1;
        if let Err(counting) = run(conn, d.set_progress(t, revision, done), "recording the statements done").await {
            cleanup.get_or_insert(counting);
        }
    }
    // A block that commits part-way (MariaDB's `BEGIN NOT ATOMIC`) may have left some of its work.
    let partly = migrate_core::sql::split::commits_part_way(statements[n - 1].text);
    if done == 0 && !outside && !partly {
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
    if partly {
        note.push_str(&format!(
            "; statement {n} is a block whose statements commit: what it ran before its failure stayed"
        ));
    }
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
        // Part of the failed block may have run: no count says what stayed.
        *completed = (!partly).then_some(done);
    }
    Err(error)
}

#[cfg(test)]
mod tests {
    use super::excerpt_of_statement;
    use crate::error::db_message;

    #[test]
    fn a_syntax_errors_excerpt_ends_with_its_statement() {
        let head = "error returned from database: 1064 (42000): You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near '";
        let sent = format!(
            "{head}garbage here\n;\nUPDATE `migrate_history` SET statements_done = 3 WHERE revisio...' at line 1"
        );
        let cut = excerpt_of_statement(sqlx::Error::Protocol(sent));
        assert_eq!(db_message(&cut), format!("{head}garbage here' at line 1"));
        // An excerpt within the statement, and any other error, as they are.
        for alone in [format!("{head}garbage' at line 1"), "deadlock found".to_owned()] {
            assert_eq!(
                db_message(&excerpt_of_statement(sqlx::Error::Protocol(alone.clone()))),
                alone
            );
        }
    }

    /// A list built by hand without the statement runner (`embed_migrations!`
    /// adds it wherever a migration needs it) refuses a `no-transaction`
    /// migration by name before running any of it, naming what it applied
    /// before; with the runner it runs; and a build whose list has no such
    /// migration unapplies a newer build's one with its stored downgrade.
    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn a_list_without_the_statement_runner_refuses_a_no_transaction_migration() {
        let parse = |file: &str, text: &str| migrate_core::format::parse(file, text).expect("valid").migration;
        let plain = parse(
            "migrations/a0_plain.sql",
            "-- plain\n-- revision: a0\n-- down_revision:\n\n-- migrate:upgrade\nCREATE TABLE p (id integer);\n",
        );
        let outside = parse(
            "migrations/a1_table.sql",
            "-- a table\n-- revision: a1\n-- down_revision: a0\n-- migrate:no-transaction\n\n-- migrate:upgrade\nCREATE TABLE t (id integer);\n\n-- migrate:downgrade\nDROP TABLE t;\n",
        );
        assert!(outside.no_transaction());
        let list: &'static [migrate_core::Migration] = Box::leak(vec![plain, outside].into_boxed_slice());
        let digest = |l: &[migrate_core::Migration]| -> &'static str {
            Box::leak(
                migrate_core::Digest::all_applied_with(l, &[])
                    .to_string()
                    .into_boxed_str(),
            )
        };
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let tables = async || -> Vec<String> {
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE name IN ('p', 't') ORDER BY name")
                .fetch_all(&pool)
                .await
                .unwrap()
        };
        let without = crate::Migrations::__embedded_with(list, digest(list), &[], &[], false, false);
        let e = without.upgrade(&pool, "head").await.unwrap_err();
        assert!(
            matches!(&e, crate::Error::RunnerNotEmbedded { revision, applied, .. } if revision == "a1" && applied == &["a0"]),
            "{e}"
        );
        assert_eq!(tables().await, ["p"], "nothing of a1 ran");
        let with = crate::Migrations::__embedded_with(list, digest(list), &[], &[], false, true);
        assert_eq!(with.upgrade(&pool, "head").await.unwrap().revisions(), ["a1"]);
        assert_eq!(tables().await, ["p", "t"]);
        let older = crate::Migrations::__embedded_with(&list[..1], digest(&list[..1]), &[], &[], false, false);
        let undone = older
            .migrator()
            .use_stored_downgrade()
            .downgrade(&pool, "a0")
            .await
            .unwrap();
        assert_eq!(undone.revisions(), ["a1"]);
        assert_eq!(tables().await, ["p"]);
    }
}
