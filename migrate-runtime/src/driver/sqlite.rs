//! SQLite: the lock is a `BEGIN IMMEDIATE` write transaction held for the
//! whole run, waited for through SQLite's busy handler bounded by the lock
//! timeout. Each migration runs in a savepoint inside it; the run commits
//! at its end. A no-transaction migration commits what came before, runs
//! on its own, and takes the lock again. Consecutive plain migrations run
//! together straight on SQLite's handle ([`Backend::run_batch`]).

use super::{
    BATCH_SAVEPOINT, Backend, BatchRun, BatchStep, BoxFuture, Settings, Step, also, attempts, julian_day_now, read_one,
    run,
};
use crate::dialect::{Dialect, HistorySql};
use crate::error::ForeignKeyViolation;
use crate::error::{Error, Result, db};
use crate::split;
use sqlx::{Sqlite, SqliteConnection};
use std::time::Instant;

fn is_busy(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i64>().ok())
        .is_some_and(|c| c & 0xff == 5 || c & 0xff == 6)
}

impl super::sealed::Sealed for Sqlite {}

impl super::Driver for Sqlite {
    const DIALECT: Dialect = Dialect::Sqlite;

    fn backend(conn: &mut SqliteConnection) -> &mut dyn Backend {
        conn
    }
}

/// Takes the write lock: `BEGIN IMMEDIATE`, waited for by SQLite's busy
/// handler bounded by the lock timeout, then the connection's own setting restored.
async fn begin_immediate(conn: &mut SqliteConnection, s: &Settings) -> Result<()> {
    let (before,): (i64,) = sqlx::query_as(super::logged("PRAGMA busy_timeout"))
        .fetch_one(&mut *conn)
        .await
        .map_err(db("reading the SQLite busy timeout"))?;
    let ms = s.lock_timeout.as_millis().min(i32::MAX as u128);
    run(
        conn,
        format!("PRAGMA busy_timeout = {ms}"),
        "setting the SQLite busy timeout",
    )
    .await?;
    let begun = conn.execute("BEGIN IMMEDIATE".into()).await;
    run(
        conn,
        format!("PRAGMA busy_timeout = {before}"),
        "restoring the SQLite busy timeout",
    )
    .await?;
    match begun {
        Ok(()) => Ok(()),
        Err(e) if is_busy(&e) => Err(Error::LockTimeout {
            timeout: s.lock_timeout,
        }),
        Err(e) => Err(db("taking the migration lock (BEGIN IMMEDIATE)")(e)),
    }
}

/// What a rehearsal names SQLite's one lock after.
const DATABASE_FILE: &str = "(database file)";

/// Whether `statement` writes (anything but a query): its first word, past comments.
fn writes(statement: &str) -> bool {
    let mut rest = statement.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else {
            break;
        }
    }
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase();
    !matches!(word.as_str(), "SELECT" | "EXPLAIN" | "VALUES" | "")
}

impl Backend for SqliteConnection {
    super::same_everywhere!(Sqlite);

    fn key_range(&self, table: &str, key: &str) -> String {
        format!("SELECT CAST(MIN({key}) AS TEXT), CAST(MAX({key}) AS TEXT) FROM {table}")
    }

    fn begin_batch(&self) -> &'static str {
        // The write lock before the statement reads, so a batch never fails to upgrade a read lock.
        "BEGIN IMMEDIATE"
    }

    fn table_exists<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let found: Option<(i64,)> = sqlx::query_as(super::logged(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
            ))
            .bind(s.table.name())
            .fetch_optional(&mut *self)
            .await
            .map_err(db("looking for the history table"))?;
            Ok(found.is_some())
        })
    }

    fn prepare<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<Settings>> {
        Box::pin(async move { Ok(s.clone()) })
    }

    fn try_lock<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            // One attempt, no wait: `lock` is the one that waits.
            let now = Settings {
                lock_timeout: std::time::Duration::ZERO,
                ..s.clone()
            };
            match begin_immediate(self, &now).await {
                Ok(()) => Ok(true),
                Err(Error::LockTimeout { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    fn lock<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<()>> {
        match s.stop {
            // SQLite's busy handler waits inside one statement, deaf to a
            // request to stop: polled instead, the wait hears it.
            Some(_) => Box::pin(super::poll_lock(self, s)),
            None => Box::pin(begin_immediate(self, s)),
        }
    }

    fn unlock<'a>(&'a mut self, _s: &'a Settings) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            // A transaction SQLite ended itself ([`transaction_ended`]) holds
            // nothing to commit, and with it went the lock.
            if self.transaction_ended().await {
                return Ok(());
            }
            run(self, "COMMIT".into(), "committing the migration run").await
        })
    }

    fn transaction_ended(&mut self) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            match self.lock_handle().await {
                // SAFETY: the handle is open while sqlx's worker lends it (its lock
                // is held); `sqlite3_get_autocommit` only reads the connection's state.
                Ok(mut handle) => unsafe {
                    libsqlite3_sys::sqlite3_get_autocommit(handle.as_raw_handle().as_ptr()) != 0
                },
                Err(_) => false,
            }
        })
    }

    fn suspend<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<()>> {
        self.unlock(s)
    }

    fn resume<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<()>> {
        // Part-way through a run, the lock is taken back whatever is asked:
        // what the run did is recorded under it.
        Box::pin(begin_immediate(self, s))
    }

    fn run_batch<'a>(
        &'a mut self,
        _: &'a Settings,
        _begin: Option<String>,
        steps: Vec<BatchStep>,
    ) -> BoxFuture<'a, Option<BatchRun>> {
        Box::pin(async move {
            // Kept for the log only when a subscriber wants it: the steps move to the blocking thread.
            let kept = tracing::enabled!(target: "migrate::sql", tracing::Level::DEBUG).then(|| steps.clone());
            let ran = batch::run(self, steps).await?;
            if let Some(steps) = kept {
                log_batch(&steps, &ran);
            }
            Some(ran)
        })
    }

    fn batches(&self) -> bool {
        true
    }

    fn batch_step(&self, s: &Settings, step: &Step<'_>, sql: &str) -> Option<BatchStep> {
        let terminator = if split::needs_terminator(sql, Dialect::Sqlite) {
            "\n;"
        } else {
            ""
        };
        Some(BatchStep {
            sql: format!("SAVEPOINT {BATCH_SAVEPOINT};\n{sql}{terminator}"),
            record: step.record(Dialect::Sqlite, &s.table, "?1", false),
            revision: step.migration.revision().to_owned(),
            statements: 0,
        })
    }

    fn rehearsal(&self) -> super::Rehearsing {
        // Inside the run's write transaction (the lock), rolled back whole: a
        // savepoint rolled back and released would still count as a change
        // (the header's change counter). The deferred transaction begun after
        // it takes no lock and writes nothing when `unlock` commits it.
        super::Rehearsing::RolledBack {
            begin: "SAVEPOINT migrate_rehearsal",
            end: "ROLLBACK; BEGIN",
        }
    }

    fn locks_after<'a>(&'a mut self, statement: &'a str) -> BoxFuture<'a, super::HeldLocks> {
        // SQLite locks the file, not tables: a statement that writes needs the
        // exclusive lock the commit would take (the run holds the reserved one).
        let taken = match writes(statement) {
            true => vec![(DATABASE_FILE.to_owned(), migrate_core::TableLock::Exclusive)],
            false => Vec::new(),
        };
        Box::pin(async move { super::HeldLocks::Taken(taken) })
    }

    fn leases(&self) -> bool {
        false
    }

    fn has_timeouts(&self) -> bool {
        false
    }

    fn atomically(&self, sql: String) -> String {
        // The run's write transaction holds it, and commits it before anything
        // runs outside a transaction.
        sql
    }

    fn in_transaction<'a>(&'a mut self, s: &'a Settings, step: Step<'a>, sql: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(in_transaction(self, s, step, sql))
    }

    fn connection(&mut self) -> crate::rust::Connection<'_> {
        crate::rust::Connection::Sqlite(self)
    }

    fn rust_frame(&self, _: &Settings, _: &migrate_core::Migration) -> Option<super::Frame> {
        // A savepoint in the run's write transaction, as a SQL step's.
        Some(super::Frame {
            begin: "SAVEPOINT migrate_step".into(),
            end: "RELEASE migrate_step".into(),
            undo: "ROLLBACK TO migrate_step; RELEASE migrate_step".into(),
        })
    }

    fn without_foreign_keys<'a>(
        &'a mut self,
        s: &'a Settings,
        step: Step<'a>,
        sql: &'a str,
        resume: Option<usize>,
    ) -> Option<BoxFuture<'a, Result<()>>> {
        Some(Box::pin(without_foreign_keys(self, s, step, sql, resume)))
    }
}

/// Steps run straight on the SQLite handle sqlx's worker thread lends out
/// (`SqliteConnection::lock_handle`), on a blocking thread, so that the
/// migrations' statements are prepared from one NUL-terminated text each,
/// with no hop between threads per statement (sqlx hands SQLite the rest of
/// a multi-statement text with its length, and SQLite copies that rest
/// before each statement it prepares).
/// Logs (`migrate::sql`) what a batch ran, in order, each history row with the
/// duration it was written with.
fn log_batch(steps: &[BatchStep], ran: &BatchRun) {
    for (step, took) in steps.iter().zip(&ran.took) {
        super::logged(step.sql.as_str());
        super::logged(step.record.replace("?1", &took.as_millis().to_string()));
        super::logged(format!("RELEASE {BATCH_SAVEPOINT}"));
    }
    if let (Some(_), Some(step)) = (&ran.failure, steps.get(ran.took.len())) {
        super::logged(step.sql.as_str());
        super::logged(format!("ROLLBACK TO {BATCH_SAVEPOINT}; RELEASE {BATCH_SAVEPOINT}"));
    }
}

mod batch {
    use super::{BATCH_SAVEPOINT, BatchRun, BatchStep};
    use libsqlite3_sys as ffi;
    use sqlx::SqliteConnection;
    use std::ffi::{CStr, CString, c_char};
    use std::ptr::{NonNull, null_mut};
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::Instant;

    /// The database handle, lent by sqlx's worker for as long as its lock is held.
    #[derive(Clone, Copy)]
    struct Db(NonNull<ffi::sqlite3>);

    // SAFETY: the handle is used by one thread at a time: the blocking thread
    // while it runs, and `Interrupt::drop` only calls `sqlite3_interrupt`,
    // which SQLite allows from any thread.
    unsafe impl Send for Db {}

    pub(super) async fn run(conn: &mut SqliteConnection, steps: Vec<BatchStep>) -> Option<BatchRun> {
        // Outside a tokio runtime there is no blocking thread to use: the usual path.
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let mut locked = conn.lock_handle().await.ok()?;
        let db = Db(locked.as_raw_handle());
        let done = Arc::new((Mutex::new(false), Condvar::new()));
        // Made here and moved in: a closure dropped without running (a runtime
        // shutting down) still says it is finished.
        let finished = Finished(Arc::clone(&done));
        let task = runtime.spawn_blocking(move || {
            let _finished = finished;
            run_on(db, &steps)
        });
        // Dropped before `locked` (declared after it): should this future be
        // dropped part-way, the handle goes back to sqlx's worker only after
        // the blocking thread has stopped using it.
        let _interrupt = Interrupt { db, done };
        // A blocking thread that panicked (a bug) left the steps it finished in
        // the run's transaction, each with its history row: the usual path then
        // fails on the first of them, and what the run commits still agrees
        // with its history.
        task.await.ok()
    }

    /// Marks the blocking thread's work finished, also when it panicked or
    /// never ran.
    struct Finished(Arc<(Mutex<bool>, Condvar)>);

    impl Drop for Finished {
        fn drop(&mut self) {
            let (finished, changed) = &*self.0;
            *finished.lock().unwrap_or_else(|e| e.into_inner()) = true;
            changed.notify_all();
        }
    }

    /// Until the blocking thread has finished: interrupts what it runs
    /// (SQLite rolls the statement back) and waits for it.
    struct Interrupt {
        db: Db,
        done: Arc<(Mutex<bool>, Condvar)>,
    }

    impl Drop for Interrupt {
        fn drop(&mut self) {
            let (finished, changed) = &*self.done;
            let mut finished = finished.lock().unwrap_or_else(|e| e.into_inner());
            if !*finished {
                // SAFETY: the handle is open (sqlx's worker cannot close it while
                // its lock is held), and `sqlite3_interrupt` may be called from
                // any thread while another uses the connection.
                unsafe { ffi::sqlite3_interrupt(self.db.0.as_ptr()) };
            }
            while !*finished {
                finished = changed.wait(finished).unwrap_or_else(|e| e.into_inner());
            }
        }
    }

    fn run_on(db: Db, steps: &[BatchStep]) -> BatchRun {
        let mut took = Vec::with_capacity(steps.len());
        for step in steps {
            let started = Instant::now();
            let ran = exec(db, &step.sql).and_then(|()| {
                // The step's duration, the same in its row and in the report.
                let elapsed = started.elapsed();
                let ms = i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
                record(db, &step.record, ms)?;
                exec(db, &format!("RELEASE {BATCH_SAVEPOINT}"))?;
                Ok(elapsed)
            });
            match ran {
                Ok(elapsed) => took.push(elapsed),
                Err(failure) => {
                    // When this fails too, the run's transaction is in a state the
                    // usual path finds and names when it runs the step again.
                    let _ = exec(db, &format!("ROLLBACK TO {BATCH_SAVEPOINT}; RELEASE {BATCH_SAVEPOINT}"));
                    return BatchRun {
                        took,
                        failure: Some(failure),
                        begin: None,
                    };
                }
            }
        }
        BatchRun {
            took,
            failure: None,
            begin: None,
        }
    }

    /// Runs SQL text, one or several statements, as `sqlite3_exec` does.
    fn exec(db: Db, sql: &str) -> Result<(), String> {
        let sql = CString::new(sql).map_err(|_| "the SQL holds a NUL character".to_owned())?;
        let mut message: *mut c_char = null_mut();
        // SAFETY: the handle is open and this thread alone uses it; `sql` is
        // NUL-terminated; the message SQLite allocates is freed below.
        let code = unsafe { ffi::sqlite3_exec(db.0.as_ptr(), sql.as_ptr(), None, null_mut(), &mut message) };
        if code == ffi::SQLITE_OK {
            return Ok(());
        }
        let text = if message.is_null() {
            error_message(db)
        } else {
            // SAFETY: a NUL-terminated string from SQLite, freed once, here.
            unsafe {
                let text = CStr::from_ptr(message).to_string_lossy().into_owned();
                ffi::sqlite3_free(message.cast());
                text
            }
        };
        Err(text)
    }

    /// Runs the history row's statement with `?1` bound to `ms`.
    fn record(db: Db, sql: &str, ms: i64) -> Result<(), String> {
        let sql = CString::new(sql).map_err(|_| "the history row holds a NUL character".to_owned())?;
        let mut statement = null_mut();
        // SAFETY: as in `exec`; the statement is finalized on every path.
        unsafe {
            if ffi::sqlite3_prepare_v2(db.0.as_ptr(), sql.as_ptr(), -1, &mut statement, null_mut()) != ffi::SQLITE_OK {
                return Err(error_message(db));
            }
            if ffi::sqlite3_bind_parameter_count(statement) > 0 {
                ffi::sqlite3_bind_int64(statement, 1, ms);
            }
            let code = ffi::sqlite3_step(statement);
            let result = if code == ffi::SQLITE_DONE || code == ffi::SQLITE_ROW {
                Ok(())
            } else {
                Err(error_message(db))
            };
            ffi::sqlite3_finalize(statement);
            result
        }
    }

    fn error_message(db: Db) -> String {
        // SAFETY: the handle is open; SQLite owns the returned string.
        unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db.0.as_ptr())) }
            .to_string_lossy()
            .into_owned()
    }
}

/// A `-- migrate:foreign-keys-off` step on SQLite, whose `PRAGMA foreign_keys`
/// does nothing inside a transaction, and the run holds one: what the run did
/// so far is committed ([`Backend::suspend`]), enforcement is turned off
/// outside any transaction (its value read first), and the write lock is taken
/// again ([`Backend::resume`]) for the step and its history row alone, which
/// `in_transaction` checks with `pragma_foreign_key_check` before it keeps
/// them. The step commits on its own, the setting is put back (also when the
/// step failed), and the run's transaction is begun again for the next step.
async fn without_foreign_keys(
    conn: &mut dyn Backend,
    s: &Settings,
    step: Step<'_>,
    sql: &str,
    resume: Option<usize>,
) -> Result<()> {
    let d = conn.dialect();
    conn.suspend(s).await?;
    let mut result = async {
        let before = read_one(
            conn,
            d.select_foreign_keys(),
            "reading the connection's PRAGMA foreign_keys",
        )
        .await?
            == "1";
        run(
            conn,
            d.set_foreign_keys(false),
            "turning foreign keys off for the migration",
        )
        .await?;
        let mut ran = conn.resume(s).await;
        if ran.is_ok() {
            ran = attempts(conn, s, step, sql, resume).await;
            // The step alone: committed, or, rolled back, an empty transaction.
            if let Err(e) = conn.suspend(s).await {
                also(&mut ran, e, "committing the migration");
            }
        }
        // Also when the step failed: the connection's setting never outlives it.
        let restore = d.set_foreign_keys(before);
        if let Err(e) = run(conn, restore, "restoring the connection's PRAGMA foreign_keys").await {
            also(&mut ran, e, "restoring the connection's PRAGMA foreign_keys");
        }
        ran
    }
    .await;
    if let Err(e) = conn.resume(s).await {
        also(&mut result, e, "taking the migration lock again");
    }
    result
}

/// The rows whose foreign key points at no row (SQLite): the first
/// [`ForeignKeyViolation::MAX_LISTED`], and whether there are more.
async fn foreign_key_violations(conn: &mut dyn Backend) -> Result<(Vec<ForeignKeyViolation>, bool), sqlx::Error> {
    let max = ForeignKeyViolation::MAX_LISTED;
    let rows = conn
        .read_strings(conn.dialect().select_foreign_key_violations(max + 1))
        .await?;
    let found = rows.iter().take(max).map(|row| {
        let mut parts = row.splitn(3, '\t');
        let mut next = || parts.next().unwrap_or_default().to_owned();
        let (table, rowid, parent) = (next(), next(), next());
        ForeignKeyViolation {
            table,
            rowid: rowid.parse().ok(),
            parent,
        }
    });
    Ok((found.collect(), rows.len() > max))
}

/// A transactional step: a savepoint in the run's write transaction, with its
/// history row (the run commits at its end).
async fn in_transaction(conn: &mut dyn Backend, s: &Settings, step: Step<'_>, sql: &str) -> Result<()> {
    let d = conn.dialect();
    let t = &s.table;
    let terminator = if split::needs_terminator(sql, d) { "\n;" } else { "" };
    if !step.migration.directives().foreign_keys_off {
        // The savepoint, the migration, its history row and the release in one
        // call to SQLite's worker thread; SQLite times the step from the
        // Julian day this process read just before sending it (never below 0:
        // SQLite reads its clock to the millisecond, this process finer).
        let ms = format!(
            "max(0, CAST(round((julianday('now') - {:.9}) * 86400000.0) AS INTEGER))",
            julian_day_now()
        );
        let record = step.record(d, t, &ms, false);
        let ran = conn
            .execute(format!(
                "SAVEPOINT migrate_step;\n{sql}{terminator}\n{record};\nRELEASE migrate_step"
            ))
            .await;
        if let Err(e) = ran {
            let undo = "ROLLBACK TO migrate_step; RELEASE migrate_step".to_owned();
            let cleanup = run(conn, undo, "rolling back the failed migration").await.err();
            return Err(step.failure(e, true, cleanup));
        }
        return Ok(());
    }
    {
        let started = Instant::now();
        let mut ran = conn
            .execute(format!("SAVEPOINT migrate_step;\n{sql}{terminator}"))
            .await;
        if ran.is_ok() && step.migration.directives().foreign_keys_off {
            // Enforcement is off for this step alone (`without_foreign_keys`):
            // nothing of it is kept while a row points at no row.
            match foreign_key_violations(conn).await {
                Ok((found, _)) if found.is_empty() => {}
                Ok((found, more)) => {
                    let undo = "ROLLBACK TO migrate_step; RELEASE migrate_step".to_owned();
                    let cleanup = run(conn, undo, "rolling back the migration").await.err();
                    return Err(step.dangling(found, more, cleanup));
                }
                Err(e) => ran = Err(e),
            }
        }
        if ran.is_ok() {
            let ms = started.elapsed().as_millis().to_string();
            let record = step.record(d, t, &ms, false);
            ran = conn.execute(format!("{record};\nRELEASE migrate_step")).await;
        }
        if let Err(e) = ran {
            let undo = "ROLLBACK TO migrate_step; RELEASE migrate_step".to_owned();
            let cleanup = run(conn, undo, "rolling back the failed migration").await.err();
            // Unreleased, the savepoint is still inside the run's transaction,
            // which is never committed once the connection is discarded.
            return Err(step.failure(e, true, cleanup));
        }
        return Ok(());
    }
}
