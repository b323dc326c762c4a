//! The one trait behind which database differences live, and the step
//! logic written once over it.
//!
//! [`Driver`] is the sealed marker of a database the runtime can migrate;
//! [`Backend`], implemented by each database's connection type, supplies a
//! handful of primitives: run SQL text, read the history rows, look for the
//! table, lock and unlock. `Backend` is object-safe, and everything above it
//! (this module's step logic, the whole of the `migrator` module) works on a
//! `&mut dyn Backend`, so it is compiled once, here, not again in every
//! crate that calls `upgrade`: the generic entry points only acquire a
//! connection and hand it over (see [`Handle::backend`]).
//!
//! How a step runs (its transaction, its history row, what happens when it
//! fails) is decided here from the backend's [`Dialect`], with the statements
//! the dialect writes, so every database follows the same rules. Neither
//! trait's methods are public API.

// A build with no database feature compiles the shared parts with nothing to use them.
#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(unused_macros, unused_imports, dead_code)
)]

use crate::dialect::{Dialect, HistorySql};
use crate::error::{Error, ForeignKeyViolation, Result, db};
use crate::split;
use crate::table::HistoryTable;
use migrate_core::{Digest, Direction, Migration, Phase, State};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "mysql")]
mod mysql_copy;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
mod postgres_watch;
#[cfg(feature = "postgres")]
pub(crate) use postgres::enter_schema;
#[cfg(feature = "postgres")]
pub use postgres::schemas_like;
#[cfg(feature = "sqlite")]
mod sqlite;

mod backfill;
mod batch;
mod guards;
mod handle;
mod history;
mod lock;
mod rust_backfill;
mod rust_step;
mod settings;
mod statements;
mod step;

pub(crate) use backfill::{Backfilled, Pace, progress_of};
pub(crate) use backfill::{Runner as BackfillRunner, runner as backfill_runner};
pub(crate) use batch::*;
pub(crate) use guards::*;
pub use handle::*;
pub use history::*;
pub(crate) use lock::*;
pub(crate) use rust_backfill::fill_rust;
pub use rust_step::Frame;
pub(crate) use rust_step::runner as rust_runner;
pub use settings::*;
pub(crate) use statements::*;
pub use step::*;

/// A future a [`Backend`] returns: boxed, so the trait is object-safe.
#[doc(hidden)]
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// A database the runtime can migrate: SQLite, PostgreSQL or MySQL/MariaDB.
///
/// Sealed; its methods are internal.
pub trait Driver: sqlx::Database + sealed::Sealed {
    /// The SQL this database speaks.
    const DIALECT: Dialect;

    /// The connection as the object the runtime's one compiled body works on.
    #[doc(hidden)]
    fn backend(conn: &mut Self::Connection) -> &mut dyn Backend;
}

/// The primitives one database's connection supplies. Object-safe: the
/// runtime's logic runs on `&mut dyn Backend`, compiled once.
#[doc(hidden)]
pub trait Backend: Send {
    /// The SQL this database speaks.
    fn dialect(&self) -> Dialect;

    /// Runs SQL text (one or several statements) as a simple query.
    fn execute(&mut self, sql: String) -> BoxFuture<'_, Result<(), sqlx::Error>>;

    /// How the server times a step run statement by statement whose row's
    /// record rides in the same request as its statements: the statement
    /// that starts the clock and the expression reading it in milliseconds.
    /// `None`: the record goes in a request of its own, timed by the client.
    fn step_clock(&self) -> Option<(&'static str, &'static str)> {
        None
    }

    /// [`execute`](Self::execute) of several statements in one request, which
    /// the server stops at the first that fails: how many completed before
    /// it, and its error. MySQL counts them as their results arrive; elsewhere
    /// (no caller needs it) a failure counts none.
    fn execute_counted(&mut self, sql: String) -> BoxFuture<'_, (usize, Result<(), sqlx::Error>)> {
        Box::pin(async move { (0, self.execute(sql).await) })
    }

    /// Runs a query the runtime wrote whose one column reads as text, row by row.
    fn read_strings(&mut self, sql: String) -> BoxFuture<'_, Result<Vec<String>, sqlx::Error>>;

    /// Every column of every row of a query whose columns are all text (or NULL):
    /// the catalog readers' one primitive (simple query protocol, as `read_strings`).
    fn read_table(&mut self, sql: String) -> BoxFuture<'_, Result<Vec<Vec<Option<String>>>, sqlx::Error>>;

    /// Whether `e` is a deadlock or, on Galera, a certification conflict: the
    /// transaction was rolled back and can be tried again as it was.
    fn is_conflict(&self, e: &sqlx::Error) -> bool {
        let _ = e;
        false
    }

    /// Whether `e` says a statement waited longer than the lock timeout.
    fn is_lock_timeout(&self, e: &sqlx::Error) -> bool {
        let _ = e;
        false
    }

    /// The sessions whose transactions hold locks and began more than
    /// `since` ago, oldest first: the likely blockers of a statement that
    /// waited that long; empty where the database cannot tell.
    fn blockers(&mut self, since: Duration) -> BoxFuture<'_, Vec<String>> {
        let _ = since;
        Box::pin(async { Vec::new() })
    }

    /// What watches a step's last attempt from a second connection, naming
    /// whom it waits for (PostgreSQL's `watch`); `None` where the database cannot say
    /// who blocks a session, so that a build without such a database links none of it.
    fn watcher(&self) -> Option<Watcher> {
        None
    }

    /// This session's id as the database's views name it (PostgreSQL: the backend pid).
    fn session_id(&mut self) -> BoxFuture<'_, Option<String>> {
        Box::pin(async { None })
    }

    /// The sessions blocking session `id` right now, as the database can tell
    /// (PostgreSQL: `pg_blocking_pids`); empty where it cannot.
    fn blocked_by<'a>(&'a mut self, id: &'a str) -> BoxFuture<'a, Vec<String>> {
        let _ = id;
        Box::pin(async { Vec::new() })
    }

    /// Reads the history rows with [`HistorySql::select_history`](crate::dialect::HistorySql::select_history),
    /// given the table's `columns` (read first when `None`).
    fn read_rows<'a>(
        &'a mut self,
        s: &'a Settings,
        columns: Option<Vec<String>>,
    ) -> BoxFuture<'a, Result<Vec<HistoryRow>>>;

    /// The history rows `sql` returns (its last statement a
    /// [`HistorySql::select_history`](crate::dialect::HistorySql::select_history)).
    fn history_rows<'a>(&'a mut self, s: &'a Settings, sql: String) -> BoxFuture<'a, Result<Vec<HistoryRow>>>;

    /// Creates the history table if it is missing and reads its rows, all
    /// of this version's columns, in one request: what a changing run reads
    /// under the lock. An error (a table of an earlier version lacks a
    /// column) leaves the caller to [`create_table`] and [`read_rows`](Self::read_rows).
    fn create_and_read_rows<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<Vec<HistoryRow>>> {
        let d = self.dialect();
        let all: Vec<String> = crate::dialect::added_columns().collect();
        let sql = format!("{};\n{}", d.create_table(&s.table), d.select_history(&s.table, &all));
        self.history_rows(s, sql)
    }

    /// Reads the digest row in one simple query; an error (no table yet) reads as none.
    fn read_digest<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Option<String>>;

    /// Whether the history table exists.
    fn table_exists<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<bool>>;

    /// Pins down the settings for this connection (PostgreSQL: the schema).
    fn prepare<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<Settings>>;

    /// [`prepare`](Self::prepare), and one attempt at the migration lock
    /// where the database can take it in the same request (PostgreSQL):
    /// `Some(taken)`; `None` when the caller is still to try
    /// ([`try_lock`](Self::try_lock)), after what `prepare` found.
    fn prepare_and_try_lock<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<(Settings, Option<bool>)>> {
        Box::pin(async move { Ok((self.prepare(s).await?, None)) })
    }

    /// One attempt at the migration lock: `Ok(false)` when another session holds it.
    fn try_lock<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<bool>>;

    /// Who holds the migration lock, as the database can tell (a session's
    /// id, client and start); `None` where it cannot.
    fn lock_holder<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Option<String>> {
        let _ = s;
        Box::pin(async { None })
    }

    /// Whether no session holds the migration lock now, read without taking
    /// it; `None` where the database cannot tell (SQLite, whose lock is its
    /// write lock) or the read failed.
    fn lock_is_free<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Option<bool>> {
        let _ = s;
        Box::pin(async { None })
    }

    /// Releases the migration lock.
    fn unlock<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<()>>;

    /// Takes the migration lock, polling until the lock timeout.
    fn lock<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<()>> {
        Box::pin(poll_lock(self, s))
    }

    /// Lets go of whatever a no-transaction step cannot run inside (SQLite: the write transaction).
    fn suspend<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<()>> {
        let _ = s;
        Box::pin(async { Ok(()) })
    }

    /// Takes back what [`suspend`](Self::suspend) let go of.
    fn resume<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<()>> {
        let _ = s;
        Box::pin(async { Ok(()) })
    }

    /// The statement releasing the advisory lock, where it can ride in the
    /// request that commits a run's last transaction (PostgreSQL: after the
    /// `COMMIT`, its one row `true`); `None` where the lock is released on
    /// its own ([`unlock`](Self::unlock)).
    fn unlock_sql(&self, s: &Settings) -> Option<String> {
        let _ = s;
        None
    }

    /// Where the advisory lock belongs to one server session (PostgreSQL): a
    /// statement, for the start of a transaction, that fails with SQLSTATE
    /// [`LOCK_NOT_HELD_CODE`](crate::dialect::LOCK_NOT_HELD_CODE) unless
    /// that transaction's session holds the lock. Behind a pooler in
    /// transaction mode a run's transactions can land on a server session
    /// other than the one that took it; each is then refused before it
    /// changes anything. `None` where the lock cannot move (SQLite) or no
    /// such statement exists.
    fn held_lock_guard(&self, s: &Settings) -> Option<String> {
        let _ = s;
        None
    }

    /// Runs `steps` ([`batch_step`](Self::batch_step)) in order inside the
    /// run's transaction, each with its history row, stopping at the first
    /// that fails, which is rolled back while those before it are kept.
    /// SQLite: straight on the database handle (off the async thread, not
    /// through sqlx's worker), a savepoint a step; PostgreSQL: in one request,
    /// a savepoint a batch. `None` where the database has no such path, or
    /// the handle could not be had: the caller then runs the steps one by one.
    ///
    /// `begin`: the run's `BEGIN` with the digest's removal, not sent yet,
    /// which goes ahead of the batch's savepoint in its first request; only
    /// where [`one_transaction_runs`](Self::one_transaction_runs).
    fn run_batch<'a>(
        &'a mut self,
        s: &'a Settings,
        begin: Option<String>,
        steps: Vec<BatchStep>,
    ) -> BoxFuture<'a, Option<BatchRun>> {
        let _ = (s, begin, steps);
        Box::pin(async { None })
    }

    /// Whether consecutive plain steps go to [`run_batch`](Self::run_batch)
    /// together (SQLite, PostgreSQL).
    fn batches(&self) -> bool {
        false
    }

    /// How many steps at most go to one [`run_batch`](Self::run_batch): the
    /// async side reports progress after each.
    fn batch_size(&self) -> usize {
        BATCH_SIZE
    }

    /// `step` (whose SQL is `sql`) as [`run_batch`](Self::run_batch) runs it;
    /// `None`: it cannot go in a batch here.
    fn batch_step(&self, s: &Settings, step: &Step<'_>, sql: &str) -> Option<BatchStep> {
        let _ = (s, step, sql);
        None
    }

    /// Whether the database ended the run's transaction itself when a
    /// statement failed in it (SQLite: a trigger's `RAISE(ROLLBACK)`, an `OR
    /// ROLLBACK` conflict clause), taking everything since its last commit.
    fn transaction_ended(&mut self) -> BoxFuture<'_, bool> {
        Box::pin(async { false })
    }

    /// Whether a step of `sql` run inside the run's one transaction must
    /// commit before the next step runs (PostgreSQL: it adds an enum value,
    /// which no statement may use before the adding transaction commits).
    fn commits_before_next(&self, sql: &str) -> bool {
        let _ = sql;
        false
    }

    /// Whether the database keeps DDL inside a transaction. Where it does not
    /// (MySQL, which commits at each DDL statement), every step runs statement
    /// by statement, its progress counted in its history row.
    fn transactional_ddl(&self) -> bool {
        true
    }

    /// What runs a step statement by statement, where every step runs so
    /// (MySQL); elsewhere the run's list holds it where its history needs
    /// it (`Settings::statements`).
    fn statements(&self) -> Option<StatementRunner> {
        None
    }

    /// Whether the migration lock may be a lease row. SQLite's lock is its one
    /// write lock, whatever the lock mode.
    fn leases(&self) -> bool {
        true
    }

    /// Whether the database has lock and statement timeouts a run can set
    /// (SQLite has neither: a run holds its one write lock).
    fn has_timeouts(&self) -> bool {
        true
    }

    /// Whether a run from an empty history puts its transactional steps in one
    /// transaction, a savepoint each (PostgreSQL: one commit instead of one per step).
    fn one_transaction_runs(&self) -> bool {
        false
    }

    /// Whether a step's own transaction checks the lease before it commits
    /// (PostgreSQL, [`HistorySql::lease_guard`]); elsewhere the lease is
    /// renewed before the step.
    fn checks_lease_at_commit(&self) -> bool {
        false
    }

    /// `sql`, statements the runtime wrote, committed as one: in a transaction of
    /// its own, except where the run's transaction already holds it (SQLite).
    fn atomically(&self, sql: String) -> String {
        self.dialect().transaction(&sql)
    }

    /// A step's session settings, as this database writes them.
    fn guards(&self, s: &Settings, m: &Migration) -> Guards {
        let _ = (s, m);
        Guards::none()
    }

    /// Runs a transactional step with its history row, framed as this database
    /// frames one (SQLite: a savepoint in the run's write transaction;
    /// PostgreSQL: a transaction of its own, or a savepoint in the run's one
    /// transaction). A database without transactional DDL runs it statement by
    /// statement.
    fn in_transaction<'a>(&'a mut self, s: &'a Settings, step: Step<'a>, sql: &'a str) -> BoxFuture<'a, Result<()>>;

    /// The step's own connection, as a Rust revision's functions receive it.
    fn connection(&mut self) -> crate::rust::Connection<'_>;

    /// How a Rust revision's step is framed in a transaction with its history
    /// row (SQLite: a savepoint in the run's write transaction; PostgreSQL: a
    /// transaction of its own, or a savepoint in the run's one transaction);
    /// `None` where it has none to run in (MySQL, whose DDL commits itself):
    /// its row is then marked in progress first, as a statement-by-statement step's.
    fn rust_frame(&self, s: &Settings, m: &Migration) -> Option<Frame> {
        let _ = (s, m);
        None
    }

    /// A `-- migrate:foreign-keys-off` step, where the database frames it apart
    /// (SQLite, whose `PRAGMA foreign_keys` a transaction ignores); `None`: it
    /// runs the usual way, its [`guards`](Self::guards) turning the checks off
    /// where the database has such a setting (MySQL).
    fn without_foreign_keys<'a>(
        &'a mut self,
        s: &'a Settings,
        step: Step<'a>,
        sql: &'a str,
        resume: Option<usize>,
    ) -> Option<BoxFuture<'a, Result<()>>> {
        let _ = (s, step, sql, resume);
        None
    }

    /// The query reading a backfill key's minimum and maximum, as text (NULL
    /// when the table is empty); `table` and `key` are plain names.
    fn key_range(&self, table: &str, key: &str) -> String;

    /// The statement that begins one backfill batch's transaction (SQLite:
    /// `BEGIN IMMEDIATE`, the write lock taken before the statement reads).
    fn begin_batch(&self) -> &'static str {
        "BEGIN"
    }

    /// How a rehearsal keeps nothing on this database ([`Rehearsing`]).
    fn rehearsal(&self) -> Rehearsing {
        Rehearsing::SchemaCopy
    }

    /// Runs one statement of a rehearsal: the rows the database says it affected.
    fn execute_affected(&mut self, sql: String) -> BoxFuture<'_, Result<u64, sqlx::Error>>;

    /// The table locks a rehearsal's statement `statement` leaves this session
    /// holding, as the database can tell ([`HeldLocks`]).
    fn locks_after<'a>(&'a mut self, statement: &'a str) -> BoxFuture<'a, HeldLocks> {
        let _ = statement;
        Box::pin(async { HeldLocks::Unavailable("this database lists no locks".into()) })
    }

    /// The tables that exist now, named as [`locks_after`](Self::locks_after)
    /// names them: a lock on any other was taken on a table the rehearsal
    /// made, which nobody else can be waiting for.
    fn existing_tables(&mut self) -> BoxFuture<'_, Option<Vec<String>>> {
        Box::pin(async { None })
    }

    /// Where [`Rehearsing::SchemaCopy`] rehearses: a scratch database on the
    /// same server holding the schema of the connection's database and its
    /// history rows, which the session then uses. Returns its name, the
    /// original database's, and what earlier rehearsals left behind.
    fn enter_schema_copy<'a>(
        &'a mut self,
        s: &'a Settings,
    ) -> BoxFuture<'a, Result<(String, String, crate::rehearsal::LeftBehind)>> {
        let _ = s;
        Box::pin(async {
            Err(Error::Database {
                context: "copying the schema for a rehearsal".into(),
                source: sqlx::Error::Protocol("this database cannot copy its schema".into()),
            })
        })
    }

    /// From a second session: the table locks session `session` (as
    /// [`session_id`](Self::session_id) names it) is seen holding, polled
    /// every few milliseconds until `stop` is set, each with the statement it
    /// was running; `None` where the database cannot tell.
    fn watch_locks<'a>(
        &'a mut self,
        session: &'a str,
        stop: &'a std::sync::atomic::AtomicBool,
    ) -> BoxFuture<'a, Option<Vec<WatchedLock>>> {
        let _ = (session, stop);
        Box::pin(async { None })
    }

    /// Where each sequence stands (`schema.name` and its last value, `None`
    /// when never used), where the database has sequences that a rolled-back
    /// transaction leaves advanced (PostgreSQL's `nextval`); `None` elsewhere.
    fn sequence_positions(&mut self) -> BoxFuture<'_, Option<Vec<(String, Option<i64>)>>> {
        Box::pin(async { None })
    }

    /// The name of the database a schema copy would copy (the connection's),
    /// when there is one.
    fn copied_database(&mut self) -> BoxFuture<'_, Option<String>> {
        Box::pin(async { None })
    }

    /// Goes back to `original` and drops the scratch database `copy`.
    fn leave_schema_copy<'a>(&'a mut self, copy: &'a str, original: &'a str) -> BoxFuture<'a, Result<()>> {
        let _ = (copy, original);
        Box::pin(async { Ok(()) })
    }

    /// When `statement` is a `CREATE INDEX CONCURRENTLY` whose index a failed
    /// build left INVALID (PostgreSQL): the index and the statement dropping it.
    fn invalid_index<'a>(&'a mut self, statement: &'a str) -> BoxFuture<'a, Option<(String, String)>> {
        let _ = statement;
        Box::pin(async { None })
    }
}

/// How a rehearsal keeps nothing, as a database answers [`Backend::rehearsal`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum Rehearsing {
    /// Everything in one transaction (under the run's lock), rolled back at the
    /// end: its first statement and its last (SQLite: a savepoint inside the
    /// run's write transaction; PostgreSQL: `BEGIN` and `ROLLBACK`).
    RolledBack { begin: &'static str, end: &'static str },
    /// DDL commits: on a copy of the schema ([`Backend::enter_schema_copy`]), dropped at the end.
    SchemaCopy,
}

/// A table lock a watched session was seen holding ([`Backend::watch_locks`]).
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedLock {
    /// The statement it was running, as the database shows it.
    pub statement: String,
    /// The table, named as [`Backend::existing_tables`] names it.
    pub table: String,
    pub lock: migrate_core::TableLock,
}

/// The locks a session holds after a statement, as [`Backend::locks_after`] tells them.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub enum HeldLocks {
    /// Every table lock the session holds now, each table with each mode it
    /// holds: the caller attributes to the statement those new or stronger.
    Held(Vec<(String, migrate_core::TableLock)>),
    /// The locks the statement took, told from the statement alone (SQLite's file lock).
    Taken(Vec<(String, migrate_core::TableLock)>),
    /// The database cannot tell, and why.
    Unavailable(String),
}

/// One step of a [`Backend::run_batch`], as its database frames it
/// ([`Backend::batch_step`]).
#[doc(hidden)]
#[derive(Clone)]
pub struct BatchStep {
    /// The step's text: SQLite, the savepoint and the migration's SQL, whole
    /// (with the terminator its last statement needs); PostgreSQL, all of it,
    /// its history row included (the batch has the savepoint).
    pub sql: String,
    /// SQLite: the history row's statement, `?1` its `execution_ms`;
    /// PostgreSQL: empty (it is in `sql`).
    pub record: String,
    /// The step's revision: PostgreSQL times the batch's rows by it.
    pub revision: String,
    /// PostgreSQL: how many statements the server runs for the step, its
    /// row's included, which tell from the statements completed before an
    /// error which step failed; SQLite: 0 (each step reports itself).
    pub statements: usize,
}

/// What a [`Backend::run_batch`] did.
#[doc(hidden)]
pub struct BatchRun {
    /// How long each step that ran and was kept took, in order.
    pub took: Vec<Duration>,
    /// The database's message for the step after those, which failed and
    /// was rolled back to its savepoint; `None` when every step was kept.
    pub failure: Option<String>,
    /// The run's `BEGIN` the batch was given, given back when it did not
    /// run (or was rolled back): the usual path sends it.
    pub begin: Option<String>,
}

impl BatchRun {
    /// No step kept: `failure` is what the caller hears of.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn failed(failure: String, begin: Option<String>) -> Self {
        BatchRun {
            took: Vec::new(),
            failure: Some(failure),
            begin,
        }
    }
}

/// The primitives whose code reads the same on every database, written once
/// for a driver's connection type (`$db` is its [`Driver`]).
///
/// A macro because a function cannot put these bodies inside each database's
/// `impl Backend`, and a generic helper would need sqlx's executor and row
/// bounds (`for<'e> &'e mut C: Executor<'e, Database = DB>`, `String: Decode<DB>`)
/// spelled out for each database anyway.
macro_rules! same_everywhere {
    ($db:ty) => {
        fn dialect(&self) -> $crate::dialect::Dialect {
            <$db as $crate::driver::Driver>::DIALECT
        }

        fn execute(&mut self, sql: String) -> $crate::driver::BoxFuture<'_, std::result::Result<(), sqlx::Error>> {
            Box::pin(async move {
                sqlx::raw_sql(sqlx::AssertSqlSafe($crate::driver::logged(sql)))
                    .execute(&mut *self)
                    .await
                    .map(drop)
            })
        }

        fn execute_affected(
            &mut self,
            sql: String,
        ) -> $crate::driver::BoxFuture<'_, std::result::Result<u64, sqlx::Error>> {
            Box::pin(async move {
                sqlx::raw_sql(sqlx::AssertSqlSafe($crate::driver::logged(sql)))
                    .execute(&mut *self)
                    .await
                    .map(|done| done.rows_affected())
            })
        }

        fn read_strings(
            &mut self,
            sql: String,
        ) -> $crate::driver::BoxFuture<'_, std::result::Result<Vec<String>, sqlx::Error>> {
            Box::pin(async move {
                // The simple query protocol: no prepared statement to outlive a
                // transaction behind a transaction-pooling PgBouncer.
                let rows = sqlx::raw_sql(sqlx::AssertSqlSafe($crate::driver::logged(sql)))
                    .fetch_all(&mut *self)
                    .await?;
                rows.iter()
                    .map(|row| sqlx::Row::try_get::<String, _>(row, 0))
                    .collect()
            })
        }

        fn read_table(
            &mut self,
            sql: String,
        ) -> $crate::driver::BoxFuture<'_, std::result::Result<Vec<Vec<Option<String>>>, sqlx::Error>> {
            Box::pin(async move {
                let rows = sqlx::raw_sql(sqlx::AssertSqlSafe($crate::driver::logged(sql)))
                    .fetch_all(&mut *self)
                    .await?;
                rows.iter()
                    .map(|row| {
                        (0..sqlx::Row::len(row))
                            .map(|i| sqlx::Row::try_get::<Option<String>, _>(row, i))
                            .collect()
                    })
                    .collect()
            })
        }

        fn read_rows<'a>(
            &'a mut self,
            s: &'a $crate::driver::Settings,
            columns: Option<Vec<String>>,
        ) -> $crate::driver::BoxFuture<'a, $crate::error::Result<Vec<$crate::driver::HistoryRow>>> {
            Box::pin(async move {
                let d = <$db as $crate::driver::Driver>::DIALECT;
                let columns = match columns {
                    Some(known) => known,
                    None => $crate::driver::Backend::read_strings(self, d.select_columns(&s.table))
                        .await
                        .map_err($crate::error::db("reading the history table's columns"))?,
                };
                let sql = d.select_history(&s.table, &columns);
                $crate::driver::Backend::history_rows(self, s, sql).await
            })
        }

        fn history_rows<'a>(
            &'a mut self,
            s: &'a $crate::driver::Settings,
            sql: String,
        ) -> $crate::driver::BoxFuture<'a, $crate::error::Result<Vec<$crate::driver::HistoryRow>>> {
            Box::pin(async move {
                let d = <$db as $crate::driver::Driver>::DIALECT;
                let context = || format!("reading the history table {}", d.table(&s.table));
                let rows = sqlx::raw_sql(sqlx::AssertSqlSafe($crate::driver::logged(sql)))
                    .fetch_all(&mut *self)
                    .await
                    .map_err(|e| $crate::error::db(context())(e))?;
                rows.iter()
                    .map(|row| {
                        let tuple: $crate::driver::RowTuple =
                            sqlx::FromRow::from_row(row).map_err(|e| $crate::error::db(context())(e))?;
                        $crate::driver::HistoryRow::try_from(tuple)
                    })
                    .collect()
            })
        }

        fn read_digest<'a>(
            &'a mut self,
            s: &'a $crate::driver::Settings,
        ) -> $crate::driver::BoxFuture<'a, Option<String>> {
            Box::pin(async move {
                let sql = <$db as $crate::driver::Driver>::DIALECT.select_digest(&s.table);
                let row = sqlx::raw_sql(sqlx::AssertSqlSafe($crate::driver::logged(sql)))
                    .fetch_optional(&mut *self)
                    .await
                    .ok()??;
                sqlx::Row::try_get::<String, _>(&row, 0).ok()
            })
        }
    };
}
use same_everywhere;

/// Passes `sql` on after logging it at DEBUG under the target `migrate::sql`:
/// every statement the runtime sends goes through here.
pub(crate) fn logged<T: AsRef<str>>(sql: T) -> T {
    tracing::debug!(target: "migrate::sql", "{}", crate::vars::redacted(sql.as_ref()));
    sql
}

/// The first column of the first row of a query the runtime wrote (as text),
/// naming what it was doing if it fails or returns no row.
pub(crate) async fn read_one(conn: &mut dyn Backend, sql: String, context: &str) -> Result<String> {
    let rows = conn.read_strings(sql).await.map_err(db(context))?;
    rows.into_iter().next().ok_or_else(|| Error::Database {
        context: context.to_owned(),
        source: sqlx::Error::RowNotFound,
    })
}

/// [`run`] for one statement in a transaction of its own, tried again when it
/// deadlocks or, on Galera, fails certification (another node wrote the row).
async fn run_through_conflicts(conn: &mut dyn Backend, sql: String, context: &str) -> Result<()> {
    run_retrying(conn, sql, context, |conn, e| conn.is_conflict(e)).await
}

/// [`run`], tried again (up to [`CONFLICT_ATTEMPTS`] times, with short
/// pauses) while it fails with an error `again` accepts.
async fn run_retrying(
    conn: &mut dyn Backend,
    sql: String,
    context: &str,
    again: fn(&dyn Backend, &sqlx::Error) -> bool,
) -> Result<()> {
    let mut attempt = 1u32;
    loop {
        match conn.execute(sql.clone()).await {
            Err(e) if attempt < CONFLICT_ATTEMPTS && again(&*conn, &e) => {
                tracing::debug!(error = %e, context, "failed in a way another attempt can mend; trying again");
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                attempt += 1;
            }
            other => return other.map_err(db(context)),
        }
    }
}

/// Begins a transaction the run holds across steps.
pub(crate) async fn begin(conn: &mut dyn Backend, context: &str) -> Result<()> {
    run(conn, "BEGIN".into(), context).await
}

/// Begins the run's one transaction, refused where its server session does
/// not hold the run's lock ([`Settings::lock_guard`]).
pub(crate) async fn begin_run(conn: &mut dyn Backend, s: &Settings) -> Result<()> {
    let begin = format!("BEGIN;\n{}", s.lock_guard_line());
    run(conn, begin, "beginning the run's transaction").await
}

/// Commits the transaction the run holds.
pub(crate) async fn commit(conn: &mut dyn Backend, context: &str) -> Result<()> {
    run(conn, "COMMIT".into(), context).await
}

/// Rolls back the transaction the run holds.
pub(crate) async fn rollback(conn: &mut dyn Backend, context: &str) -> Result<()> {
    run(conn, "ROLLBACK".into(), context).await
}

/// Marks `savepoint` in the transaction the run holds.
pub(crate) async fn savepoint(conn: &mut dyn Backend, savepoint: &str, context: &str) -> Result<()> {
    run(conn, format!("SAVEPOINT {savepoint}"), context).await
}

/// Forgets `savepoint`, keeping what ran since.
pub(crate) async fn release(conn: &mut dyn Backend, savepoint: &str, context: &str) -> Result<()> {
    run(conn, format!("RELEASE SAVEPOINT {savepoint}"), context).await
}

/// Undoes what ran since `savepoint`, which stays marked.
pub(crate) async fn rollback_to(conn: &mut dyn Backend, savepoint: &str, context: &str) -> Result<()> {
    run(conn, format!("ROLLBACK TO SAVEPOINT {savepoint}"), context).await
}

/// Runs SQL the runtime wrote itself, naming what it was doing if it fails.
pub(crate) async fn run(conn: &mut dyn Backend, sql: String, context: &str) -> Result<()> {
    conn.execute(sql).await.map_err(db(context))
}

/// How many times a step is tried when its transaction deadlocks or, on
/// Galera, fails certification.
const CONFLICT_ATTEMPTS: u32 = 5;
