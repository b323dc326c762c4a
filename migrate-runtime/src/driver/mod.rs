//! The one trait behind which database differences live, and the step
//! logic written once over it.
//!
//! A [`Driver`] supplies a handful of primitives: run SQL text, read the
//! history rows, look for the table, lock and unlock. How a step runs
//! (its transaction, its history row, what happens when it fails) is
//! decided here from the driver's [`Dialect`], with the statements the
//! dialect writes, so every database follows the same rules. The trait is
//! sealed: the runtime implements it for SQLite, PostgreSQL and MySQL, and
//! its methods are not public API.

use crate::dialect::Dialect;
use crate::error::{Error, Result, db};
use crate::split;
use crate::table::HistoryTable;
use migrate_core::{Digest, Direction, Migration};
use std::future::Future;
use std::time::{Duration, Instant};

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

/// What a driver needs to know of the caller's configuration.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct Settings {
    pub table: HistoryTable,
    pub lock_timeout: Duration,
    /// PostgreSQL 14+: have the server check, during a step's transaction,
    /// that the migrator is still connected, and abort the step if it is not.
    pub watch_client: bool,
}

/// A row of the history table, as stored.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub revision: String,
    pub down_revisions: String,
    pub message: String,
    pub checksum: String,
    pub state: String,
    pub applied_at: String,
    pub execution_ms: i64,
    pub error: Option<String>,
}

/// The state of a row whose migration completed.
pub(crate) const APPLIED: &str = "applied";

/// The state a row has while its migration runs and cannot be rolled back.
fn in_progress(direction: Direction) -> &'static str {
    match direction {
        Direction::Upgrade => "upgrading",
        Direction::Downgrade => "downgrading",
    }
}

/// The state a row keeps when its migration failed part-way.
fn failed(direction: Direction) -> &'static str {
    match direction {
        Direction::Upgrade => "upgrade_failed",
        Direction::Downgrade => "downgrade_failed",
    }
}

/// One step of a plan, as a driver executes it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    pub migration: &'a Migration,
    pub direction: Direction,
    /// False when stamping: record the change, run no SQL.
    pub run_sql: bool,
}

impl Step<'_> {
    /// The SQL this step runs, if any.
    fn sql(&self) -> Option<&str> {
        if !self.run_sql {
            return None;
        }
        match self.direction {
            Direction::Upgrade => Some(self.migration.upgrade_sql()),
            Direction::Downgrade => self.migration.downgrade_sql(),
        }
        .filter(|s| !s.trim().is_empty())
    }

    /// The error for this step's SQL failing.
    fn failure(&self, source: sqlx::Error, statement: Option<usize>, rolled_back: bool) -> Error {
        Error::Migration {
            revision: self.migration.revision().to_owned(),
            file: self.migration.file().to_owned(),
            direction: self.direction,
            statement,
            rolled_back,
            applied: Vec::new(),
            source,
        }
    }

    /// The statement recording this step as done, taking `ms` (an SQL expression).
    fn record(&self, d: Dialect, t: &HistoryTable, ms: &str, marked: bool) -> String {
        let revision = self.migration.revision();
        match (self.direction, marked) {
            (Direction::Upgrade, false) => d.insert_applied(t, self.migration, ms),
            (Direction::Upgrade, true) => d.set_applied(t, revision, ms),
            (Direction::Downgrade, _) => d.delete(t, revision),
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A database the runtime can migrate: SQLite, PostgreSQL or MySQL/MariaDB.
///
/// Sealed; its methods are internal.
pub trait Driver: sqlx::Database + sealed::Sealed {
    /// The SQL this database speaks.
    const DIALECT: Dialect;

    /// Runs SQL text (one or several statements) as a simple query.
    #[doc(hidden)]
    fn execute(conn: &mut Self::Connection, sql: String) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// Reads the history rows with [`Dialect::select_history`].
    #[doc(hidden)]
    fn read_rows(conn: &mut Self::Connection, s: &Settings) -> impl Future<Output = Result<Vec<HistoryRow>>> + Send;

    /// Reads the digest row in one simple query; an error (no table yet) reads as none.
    #[doc(hidden)]
    fn read_digest(conn: &mut Self::Connection, s: &Settings) -> impl Future<Output = Option<String>> + Send;

    /// Whether the history table exists.
    #[doc(hidden)]
    fn table_exists(conn: &mut Self::Connection, s: &Settings) -> impl Future<Output = Result<bool>> + Send;

    /// Pins down the settings for this connection (PostgreSQL: the schema).
    #[doc(hidden)]
    fn prepare(conn: &mut Self::Connection, s: &Settings) -> impl Future<Output = Result<Settings>> + Send;

    /// One attempt at the migration lock: `Ok(false)` when another session holds it.
    #[doc(hidden)]
    fn try_lock(conn: &mut Self::Connection, s: &Settings) -> impl Future<Output = Result<bool>> + Send;

    /// Releases the migration lock.
    #[doc(hidden)]
    fn unlock(conn: &mut Self::Connection, s: &Settings) -> impl Future<Output = Result<()>> + Send;

    /// Takes the migration lock, polling until the lock timeout.
    #[doc(hidden)]
    fn lock(conn: &mut Self::Connection, s: &Settings) -> impl Future<Output = Result<()>> + Send {
        async move {
            let deadline = Instant::now() + s.lock_timeout;
            let mut pause = Duration::from_millis(10);
            loop {
                if Self::try_lock(conn, s).await? {
                    return Ok(());
                }
                let now = Instant::now();
                if now >= deadline {
                    return Err(Error::LockTimeout {
                        timeout: s.lock_timeout,
                    });
                }
                tracing::debug!("waiting for another migrator's lock");
                tokio::time::sleep(pause.min(deadline - now)).await;
                pause = (pause * 2).min(Duration::from_millis(200));
            }
        }
    }

    /// Lets go of whatever a no-transaction step cannot run inside (SQLite: the write transaction).
    #[doc(hidden)]
    fn suspend(conn: &mut Self::Connection, s: &Settings) -> impl Future<Output = Result<()>> + Send {
        let _ = (conn, s);
        async { Ok(()) }
    }

    /// Takes back what [`suspend`](Self::suspend) let go of.
    #[doc(hidden)]
    fn resume(conn: &mut Self::Connection, s: &Settings) -> impl Future<Output = Result<()>> + Send {
        let _ = (conn, s);
        async { Ok(()) }
    }
}

/// The primitives whose code reads the same on every database, written once
/// for a driver's connection type.
macro_rules! same_everywhere {
    ($conn:ty) => {
        async fn execute(conn: &mut $conn, sql: String) -> std::result::Result<(), sqlx::Error> {
            sqlx::raw_sql(sqlx::AssertSqlSafe($crate::driver::logged(sql)))
                .execute(&mut *conn)
                .await
                .map(drop)
        }

        async fn read_rows(
            conn: &mut $conn,
            s: &$crate::driver::Settings,
        ) -> $crate::error::Result<Vec<$crate::driver::HistoryRow>> {
            type Row = (
                String,
                String,
                String,
                String,
                String,
                String,
                i64,
                Option<String>,
            );
            let sql = Self::DIALECT.select_history(&s.table);
            let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe($crate::driver::logged(sql)))
                .fetch_all(&mut *conn)
                .await
                .map_err($crate::error::db(format!(
                    "reading the history table {}",
                    Self::DIALECT.table(&s.table)
                )))?;
            Ok(rows.into_iter().map($crate::driver::HistoryRow::from).collect())
        }

        async fn read_digest(conn: &mut $conn, s: &$crate::driver::Settings) -> Option<String> {
            let sql = Self::DIALECT.select_digest(&s.table);
            let row = sqlx::raw_sql(sqlx::AssertSqlSafe($crate::driver::logged(sql)))
                .fetch_optional(&mut *conn)
                .await
                .ok()??;
            sqlx::Row::try_get::<String, _>(&row, 0).ok()
        }
    };
}
use same_everywhere;

/// Passes `sql` on after logging it at DEBUG under the target `migrate::sql`:
/// every statement the runtime sends goes through here.
pub(crate) fn logged<T: AsRef<str>>(sql: T) -> T {
    tracing::debug!(target: "migrate::sql", "{}", sql.as_ref());
    sql
}

/// Runs SQL the runtime wrote itself, naming what it was doing if it fails.
pub(crate) async fn run<D: Driver>(conn: &mut D::Connection, sql: String, context: &str) -> Result<()> {
    D::execute(conn, sql).await.map_err(db(context))
}

/// Creates the history table if it is missing.
pub(crate) async fn create_table<D: Driver>(conn: &mut D::Connection, s: &Settings) -> Result<()> {
    let context = format!("creating the history table {}", D::DIALECT.table(&s.table));
    run::<D>(conn, D::DIALECT.create_table(&s.table), &context).await
}

/// Runs one step and changes its history row, atomically where the database
/// allows. A run drops the digest row before its first step and writes it
/// after its last (see [`crate::migrator`]), so steps do not touch it and a
/// run cut short can never look up to date to a start-up check.
pub(crate) async fn apply<D: Driver>(conn: &mut D::Connection, s: &Settings, step: Step<'_>) -> Result<()> {
    let d = D::DIALECT;
    let t = &s.table;
    let Some(sql) = step.sql() else {
        // Stamping, or nothing to run: only the history changes.
        let record = step.record(d, t, "0", false);
        let sql = record;
        return run::<D>(conn, sql, "recording the step in the history table").await;
    };
    if step.migration.no_transaction() {
        return apply_outside_transaction::<D>(conn, s, step, sql).await;
    }
    let terminator = if split::needs_terminator(sql, d) { "\n;" } else { "" };
    match d {
        // Inside the run's write transaction: a savepoint per step.
        Dialect::Sqlite => {
            let started = Instant::now();
            let mut ran = D::execute(conn, format!("SAVEPOINT migrate_step;\n{sql}{terminator}")).await;
            if ran.is_ok() {
                let ms = started.elapsed().as_millis().to_string();
                let record = step.record(d, t, &ms, false);
                ran = D::execute(conn, format!("{record};\nRELEASE migrate_step")).await;
            }
            if let Err(e) = ran {
                let undo = "ROLLBACK TO migrate_step; RELEASE migrate_step".to_owned();
                run::<D>(conn, undo, "rolling back the failed migration").await?;
                return Err(step.failure(e, None, true));
            }
            Ok(())
        }
        // The migration and its history row in one transaction, sent
        // in one round trip; the server measures the time since the transaction
        // began. If the migrator dies mid-step, PostgreSQL 14+ notices within a
        // second (client_connection_check_interval) and rolls back.
        Dialect::Postgres => {
            let ms = "(EXTRACT(EPOCH FROM (clock_timestamp() - now())) * 1000)::bigint";
            let watch = if s.watch_client {
                "SET LOCAL client_connection_check_interval = '1s';\n"
            } else {
                ""
            };
            let record = step.record(d, t, ms, false);
            let batch = format!("BEGIN;\n{watch}{sql}{terminator}\n{record};\nCOMMIT");
            if let Err(e) = D::execute(conn, batch).await {
                run::<D>(conn, "ROLLBACK".into(), "rolling back the failed migration").await?;
                return Err(step.failure(e, None, true));
            }
            Ok(())
        }
        // DDL commits implicitly: mark the row first (committed), so a failure or a crash
        // part-way leaves a record that blocks later runs until a human resolves it.
        Dialect::Mysql => {
            let mark = mark(d, t, &step);
            let ms = "TIMESTAMPDIFF(MICROSECOND, @migrate_started, SYSDATE(6)) DIV 1000";
            let record = step.record(d, t, ms, true);
            let batch =
                format!("{mark};\nSET @migrate_started = SYSDATE(6);\nBEGIN;\n{sql}{terminator}\n{record};\nCOMMIT");
            if let Err(e) = D::execute(conn, batch).await {
                run::<D>(conn, "ROLLBACK".into(), "rolling back the failed migration").await?;
                mark_failed::<D>(conn, s, &step, &e.to_string()).await?;
                return Err(step.failure(e, None, false));
            }
            Ok(())
        }
    }
}

/// `sql` committed as one: in a transaction of its own, except on SQLite,
/// where the run's write transaction already holds it (and commits it before
/// anything runs outside a transaction).
fn atomically(d: Dialect, sql: String) -> String {
    if d == Dialect::Sqlite { sql } else { d.transaction(&sql) }
}

/// The statement marking `step`'s row in progress.
fn mark(d: Dialect, t: &HistoryTable, step: &Step<'_>) -> String {
    match step.direction {
        Direction::Upgrade => d.insert_marked(t, step.migration, in_progress(step.direction)),
        Direction::Downgrade => d.set_state(t, step.migration.revision(), in_progress(step.direction), None),
    }
}

async fn mark_failed<D: Driver>(conn: &mut D::Connection, s: &Settings, step: &Step<'_>, error: &str) -> Result<()> {
    let d = D::DIALECT;
    let t = &s.table;
    let failed = d.set_state(t, step.migration.revision(), failed(step.direction), Some(error));
    run::<D>(conn, failed, "marking the migration failed").await
}

/// Runs a `-- migrate:no-transaction` step one statement at a time: its row
/// is marked in progress (and committed) first, so a failure or a crash
/// part-way is seen by the next run and refused until resolved.
async fn apply_outside_transaction<D: Driver>(
    conn: &mut D::Connection,
    s: &Settings,
    step: Step<'_>,
    sql: &str,
) -> Result<()> {
    let d = D::DIALECT;
    let t = &s.table;
    let revision = step.migration.revision();
    run::<D>(conn, mark(d, t, &step), "marking the migration in progress").await?;
    D::suspend(conn, s).await?;
    let started = Instant::now();
    let mut outcome = Ok(());
    for (n, statement) in split::statements(sql, d).into_iter().enumerate() {
        tracing::debug!(
            revision,
            statement = n + 1,
            line = statement.line,
            "running statement outside a transaction"
        );
        if let Err(e) = D::execute(conn, statement.text.to_owned()).await {
            outcome = Err((n + 1, e));
            break;
        }
    }
    D::resume(conn, s).await?;
    match outcome {
        Ok(()) => {
            let ms = started.elapsed().as_millis().to_string();
            run::<D>(
                conn,
                step.record(d, t, &ms, true),
                "recording the step in the history table",
            )
            .await
        }
        Err((n, e)) => {
            mark_failed::<D>(conn, s, &step, &format!("statement {n}: {e}")).await?;
            Err(step.failure(e, Some(n), false))
        }
    }
}

/// Marks a row applied, or deletes it, and writes the digest of the result.
pub(crate) async fn resolve<D: Driver>(
    conn: &mut D::Connection,
    s: &Settings,
    revision: &str,
    applied: bool,
    digest: &Digest,
) -> Result<()> {
    let d = D::DIALECT;
    let change = if applied {
        d.set_state(&s.table, revision, APPLIED, None)
    } else {
        d.delete(&s.table, revision)
    };
    let sql = format!("{change};\n{}", d.set_digest(&s.table, digest));
    run::<D>(conn, atomically(d, sql), "resolving the history row").await
}

/// Drops the digest row: done before a run's first step.
pub(crate) async fn drop_digest<D: Driver>(conn: &mut D::Connection, s: &Settings) -> Result<()> {
    run::<D>(conn, D::DIALECT.delete_digest(&s.table), "dropping the history digest").await
}

/// Writes the digest row: after a run's last step, or when a run that changed
/// nothing found it missing or stale.
pub(crate) async fn write_digest<D: Driver>(conn: &mut D::Connection, s: &Settings, digest: &Digest) -> Result<()> {
    run::<D>(
        conn,
        D::DIALECT.set_digest(&s.table, digest),
        "writing the history digest",
    )
    .await
}

/// A connection the runtime holds for a whole run, which it can ask to be
/// closed rather than reused when the run did not end cleanly (so no lock
/// or open transaction goes back into a pool).
pub trait Handle: std::ops::DerefMut + Send {
    #[doc(hidden)]
    fn discard_on_drop(&mut self);
}

impl<DB: sqlx::Database> Handle for sqlx::pool::PoolConnection<DB> {
    fn discard_on_drop(&mut self) {
        self.close_on_drop();
    }
}

macro_rules! borrowed_handle {
    ($($conn:ty),*) => {$(
        impl Handle for &mut $conn {
            fn discard_on_drop(&mut self) {
                tracing::warn!("a migration run did not end cleanly on a caller's connection; close that connection");
            }
        }
    )*};
}
#[cfg(feature = "sqlite")]
borrowed_handle!(sqlx::SqliteConnection);
#[cfg(feature = "postgres")]
borrowed_handle!(sqlx::PgConnection);
#[cfg(feature = "mysql")]
borrowed_handle!(sqlx::MySqlConnection);

type RowTuple = (String, String, String, String, String, String, i64, Option<String>);

impl From<RowTuple> for HistoryRow {
    fn from((revision, down_revisions, message, checksum, state, applied_at, execution_ms, error): RowTuple) -> Self {
        HistoryRow {
            revision,
            down_revisions,
            message,
            checksum,
            state,
            applied_at,
            execution_ms,
            error,
        }
    }
}
