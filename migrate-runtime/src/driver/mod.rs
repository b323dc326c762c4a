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
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

/// A future a [`Backend`] returns: boxed, so the trait is object-safe.
#[doc(hidden)]
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a driver needs to know of the caller's configuration.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct Settings {
    pub table: HistoryTable,
    pub lock_timeout: Duration,
    /// PostgreSQL 14+: have the server check, during a step's transaction,
    /// that the migrator is still connected, and abort the step if it is not.
    pub watch_client: bool,
    /// How long one statement of a migration may wait for a lock on a table
    /// (`None`: the server's own setting); a revision's header can say otherwise.
    pub ddl_lock_timeout: Option<Duration>,
    /// How long one statement of a migration may run (`None`: the server's own setting).
    pub statement_timeout: Option<Duration>,
    /// How many times a migration is tried when a statement waits longer
    /// than the lock timeout (at least 1).
    pub lock_attempts: u32,
    /// MariaDB rather than MySQL: their statement timeouts differ.
    pub mariadb: bool,
    /// A second connection to the same database, from the caller's pool,
    /// to see who blocks a migration while it waits.
    pub second: Option<Second>,
    /// MySQL or MariaDB with `wsrep_on`: a Galera cluster, where a session's
    /// `GET_LOCK` is granted on one node only.
    pub galera: bool,
    /// The lease this run takes instead of an advisory lock, if it does.
    pub lease: Option<Lease>,
    /// PostgreSQL: the step runs inside the run's one transaction (a run
    /// from an empty history), framed by a savepoint instead of its own
    /// transaction (`Migrator::steps` begins and commits it).
    pub in_run_transaction: bool,
}

/// A lease on the migration lock: a row of the lease table.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct Lease {
    /// Who this run is, in the row.
    pub owner: String,
    /// How long the lease lasts unless renewed.
    pub ttl: Duration,
}

impl Lease {
    /// A lease for this process, named so an operator can find it: host, pid, and a unique tail.
    pub fn new(ttl: Duration) -> Lease {
        use std::sync::atomic::{AtomicU64, Ordering};
        static RUNS: AtomicU64 = AtomicU64::new(0);
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".to_owned());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        let mut owner = format!("{host} pid {} run {run}.{nanos:x}", std::process::id());
        owner.truncate(200);
        Lease { owner, ttl }
    }

    fn ttl_ms(&self) -> u128 {
        self.ttl.as_millis().max(1)
    }
}

/// Opens, when the caller's pool can spare one within a second, a second
/// connection to the database a run is on.
#[doc(hidden)]
#[derive(Clone)]
pub struct Second(Arc<dyn Fn() -> BoxFuture<'static, Option<Box<dyn Handle>>> + Send + Sync>);

impl Second {
    /// The second connection, if the pool can spare one within a second.
    pub(crate) async fn open(&self) -> Option<Box<dyn Handle>> {
        (self.0)().await
    }
}

impl std::fmt::Debug for Second {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Second")
    }
}

/// A row of the history table, as stored (its state read into a [`State`]).
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub revision: String,
    pub down_revisions: String,
    pub message: String,
    pub checksum: String,
    pub state: State,
    pub applied_at: String,
    pub execution_ms: i64,
    pub error: Option<String>,
    pub phase: Option<Phase>,
    pub no_transaction: bool,
    /// The downgrade section stored when the revision was applied.
    pub downgrade: Option<String>,
    pub downgrade_checksum: Option<String>,
    /// How many statements of a migration run statement by statement completed;
    /// `None` in a row written before this column existed.
    pub statements_done: Option<i64>,
}

impl HistoryRow {
    /// Its down_revisions, as a list.
    pub(crate) fn parents(&self) -> Vec<&str> {
        self.down_revisions.split(',').filter(|p| !p.is_empty()).collect()
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

    /// The error for this step's SQL failing; `cleanup` is what failed
    /// afterwards (the rollback, the failure mark), kept beside the cause.
    fn failure(&self, source: sqlx::Error, rolled_back: bool, cleanup: Option<Error>) -> Error {
        self.failure_at(source, None, None, rolled_back, cleanup)
    }

    /// [`failure`](Self::failure), placed at `statement` (1-based) or `line` of the step's SQL.
    fn failure_at(
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
            source,
            cleanup: cleanup.map(Box::new),
        }
    }

    /// The error for this step leaving rows whose foreign key points at no row
    /// (the first ones, and whether there were more); it was rolled back.
    fn dangling(&self, violations: Vec<ForeignKeyViolation>, more: bool, cleanup: Option<Error>) -> Error {
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
    fn record(&self, d: Dialect, t: &HistoryTable, ms: &str, marked: bool) -> String {
        let revision = self.migration.revision();
        match (self.direction, marked) {
            (Direction::Upgrade, false) => d.insert_applied(t, self.migration, ms),
            (Direction::Upgrade, true) => d.set_applied(t, revision, ms),
            (Direction::Downgrade, _) => d.delete(t, revision),
        }
    }
}

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

    /// Reads the history rows with [`Dialect::select_history`].
    fn read_rows<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<Vec<HistoryRow>>>;

    /// Reads the digest row in one simple query; an error (no table yet) reads as none.
    fn read_digest<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Option<String>>;

    /// Whether the history table exists.
    fn table_exists<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<bool>>;

    /// Pins down the settings for this connection (PostgreSQL: the schema).
    fn prepare<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<Settings>>;

    /// One attempt at the migration lock: `Ok(false)` when another session holds it.
    fn try_lock<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<bool>>;

    /// Who holds the migration lock, as the database can tell (a session's
    /// id, client and start); `None` where it cannot.
    fn lock_holder<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Option<String>> {
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

    /// SQLite: runs `steps` in order inside the run's transaction, straight on
    /// the database handle (off the async thread, not through sqlx's worker),
    /// each in a savepoint with its history row, stopping at the first that
    /// fails, which is rolled back to its savepoint. `None` where the
    /// database has no such path, or the handle could not be had: the caller
    /// then runs the steps one by one.
    fn run_batch(&mut self, steps: Vec<BatchStep>) -> BoxFuture<'_, Option<BatchRun>> {
        let _ = steps;
        Box::pin(async { None })
    }
}

/// One step of a [`Backend::run_batch`]: the migration's SQL, whole (with
/// the terminator its last statement needs), and the statement writing its
/// history row, in which `?1` stands for the step's duration in milliseconds.
#[doc(hidden)]
pub struct BatchStep {
    /// The migration's SQL.
    pub sql: String,
    /// The history row's statement, `?1` its `execution_ms`.
    pub record: String,
}

/// What a [`Backend::run_batch`] did.
#[doc(hidden)]
pub struct BatchRun {
    /// How long each step that ran and was kept took, in order.
    pub took: Vec<Duration>,
    /// The database's message for the step after those, which failed and
    /// was rolled back to its savepoint; `None` when every step was kept.
    pub failure: Option<String>,
}

/// Polls [`Backend::try_lock`] with growing pauses until the lock timeout.
async fn poll_lock<B: Backend + ?Sized>(conn: &mut B, s: &Settings) -> Result<()> {
    let mut wait = LockWait::new(s.lock_timeout);
    while !conn.try_lock(s).await? {
        wait.pause().await?;
    }
    Ok(())
}

/// The wait for another migrator's lock or lease: growing pauses (10 ms,
/// doubling, at most 200 ms) until the lock timeout.
struct LockWait {
    timeout: Duration,
    deadline: Instant,
    pause: Duration,
}

impl LockWait {
    fn new(timeout: Duration) -> Self {
        LockWait {
            timeout,
            deadline: Instant::now() + timeout,
            pause: Duration::from_millis(10),
        }
    }

    /// Sleeps before the next attempt, or fails when the timeout has passed.
    async fn pause(&mut self) -> Result<()> {
        let now = Instant::now();
        if now >= self.deadline {
            return Err(Error::LockTimeout { timeout: self.timeout });
        }
        tracing::debug!("waiting for another migrator's lock");
        tokio::time::sleep(self.pause.min(self.deadline - now)).await;
        self.pause = (self.pause * 2).min(Duration::from_millis(200));
        Ok(())
    }
}

/// A database's [`Driver`] impl: its dialect, and its connection as a [`Backend`].
macro_rules! driver {
    ($db:ty, $conn:ty, $dialect:expr) => {
        impl $crate::driver::sealed::Sealed for $db {}

        impl $crate::driver::Driver for $db {
            const DIALECT: $crate::dialect::Dialect = $dialect;

            fn backend(conn: &mut $conn) -> &mut dyn $crate::driver::Backend {
                conn
            }
        }
    };
}
use driver;

/// The primitives whose code reads the same on every database, written once
/// for a driver's connection type (`$db` is its [`Driver`]).
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
        ) -> $crate::driver::BoxFuture<'a, $crate::error::Result<Vec<$crate::driver::HistoryRow>>> {
            Box::pin(async move {
                let d = <$db as $crate::driver::Driver>::DIALECT;
                let columns = $crate::driver::Backend::read_strings(self, d.select_columns(&s.table))
                    .await
                    .map_err($crate::error::db("reading the history table's columns"))?;
                let sql = d.select_history(&s.table, &columns);
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
    tracing::debug!(target: "migrate::sql", "{}", sql.as_ref());
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

/// Runs SQL the runtime wrote itself, naming what it was doing if it fails.
pub(crate) async fn run(conn: &mut dyn Backend, sql: String, context: &str) -> Result<()> {
    conn.execute(sql).await.map_err(db(context))
}

/// One attempt at the lease: `Ok(false)` when another migrator holds it and it has not expired.
pub(crate) async fn try_lease(conn: &mut dyn Backend, s: &Settings, lease: &Lease) -> Result<bool> {
    let d = conn.dialect();
    // Read first: while another holds it, waiting writes nothing (on Galera every
    // write to the row can conflict with the holder's renewals).
    let held = conn
        .read_strings(d.select_lease_holder_if_live(&s.table))
        .await
        .map_err(db("reading the migration lease"))?;
    if held.first().is_some_and(|owner| owner != &lease.owner) {
        return Ok(false);
    }
    let take = d.take_lease(&s.table, &lease.owner, lease.ttl_ms());
    match conn.execute(take).await {
        Ok(()) => {}
        // Galera: a certification conflict with another node's attempt; try again later.
        Err(e) if conn.is_conflict(&e) => return Ok(false),
        Err(e) => return Err(db("taking the migration lease")(e)),
    }
    let owner = conn
        .read_strings(d.select_lease_owner(&s.table))
        .await
        .map_err(db("reading the migration lease"))?;
    Ok(owner.first() == Some(&lease.owner))
}

/// Takes the lease, polling with growing pauses until the lock timeout.
pub(crate) async fn lease(conn: &mut dyn Backend, s: &Settings, lease: &Lease) -> Result<()> {
    let mut wait = LockWait::new(s.lock_timeout);
    while !try_lease(conn, s, lease).await? {
        wait.pause().await?;
    }
    Ok(())
}

/// Who holds the lease, as its row says.
pub(crate) async fn lease_holder(conn: &mut dyn Backend, s: &Settings) -> Option<String> {
    let sql = conn.dialect().select_lease_holder(&s.table);
    conn.read_strings(sql).await.ok()?.into_iter().next()
}

/// Extends the lease, or says it was lost (and to whom). `alone`: the
/// statement is a transaction of its own, so a conflict is tried again; inside
/// a step's transaction it is not (a deadlock rolled the whole transaction back).
pub(crate) async fn renew_lease(conn: &mut dyn Backend, s: &Settings, alone: bool) -> Result<()> {
    let Some(lease) = &s.lease else { return Ok(()) };
    let d = conn.dialect();
    let renew = d.renew_lease(&s.table, &lease.owner, lease.ttl_ms());
    if alone {
        run_through_conflicts(conn, renew, "renewing the migration lease").await?;
    } else {
        run(conn, renew, "renewing the migration lease").await?;
    }
    // A locking read: inside a MySQL transaction a plain read could see its snapshot.
    let owner = conn
        .read_strings(d.select_lease_owner_locked(&s.table))
        .await
        .map_err(db("reading the migration lease"))?;
    if owner.first() == Some(&lease.owner) {
        return Ok(());
    }
    Err(Error::LeaseLost {
        holder: lease_holder(conn, s).await,
    })
}

/// Gives the lease back.
pub(crate) async fn release_lease(conn: &mut dyn Backend, s: &Settings, lease: &Lease) -> Result<()> {
    let sql = conn.dialect().release_lease(&s.table, &lease.owner);
    run_through_conflicts(conn, sql, "releasing the migration lease").await
}

/// Creates the lease table if it is missing. Migrators starting together
/// race to create it before any of them holds a lock (PostgreSQL's
/// `IF NOT EXISTS` can then fail on its catalog's unique index): a failed
/// attempt is tried again, and finds the table another one made.
pub(crate) async fn create_lease_table(conn: &mut dyn Backend, s: &Settings) -> Result<()> {
    let sql = conn.dialect().create_lease_table(&s.table);
    run_retrying(conn, sql, "creating the lease table", |_, _| true).await
}

/// Creates the history table if it is missing, and adds the columns a
/// table made by an earlier version lacks (under the migration lock).
pub(crate) async fn create_table(conn: &mut dyn Backend, s: &Settings) -> Result<()> {
    let d = conn.dialect();
    let context = format!("creating the history table {}", d.table(&s.table));
    run(conn, d.create_table(&s.table), &context).await?;
    let present = conn
        .read_strings(d.select_columns(&s.table))
        .await
        .map_err(db("reading the history table's columns"))?;
    for add in d.add_missing_columns(&s.table, &present) {
        tracing::info!(table = %d.table(&s.table), "{add}: the history table gains a column of this version");
        let context = format!("adding a column to the history table {}", d.table(&s.table));
        // MySQL commits an ALTER at once; the others keep it in the run's transaction or commit it alone.
        run(conn, add, &context).await?;
    }
    Ok(())
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
/// A `-- migrate:foreign-keys-off` step runs on SQLite in a transaction of its
/// own with foreign keys off ([`without_foreign_keys`]), on MySQL with the
/// session's `foreign_key_checks = 0` (among its [`guards`]), and on
/// PostgreSQL as any other step.
pub(crate) async fn apply(conn: &mut dyn Backend, s: &Settings, step: Step<'_>, resume: Option<usize>) -> Result<()> {
    let d = conn.dialect();
    let t = &s.table;
    let by_statement = step.migration.no_transaction() || d == Dialect::Mysql;
    // Under a lease, no step starts without it; a PostgreSQL step's transaction
    // checks it itself before it commits (`Dialect::lease_guard`).
    if by_statement || step.sql().is_none() || d != Dialect::Postgres {
        renew_lease(conn, s, true).await?;
    }
    let Some(sql) = step.sql() else {
        // Stamping, or nothing to run: only the history changes.
        let record = step.record(d, t, "0", resume.is_some());
        return run(conn, record, "recording the step in the history table").await;
    };
    if step.migration.directives().foreign_keys_off {
        match d {
            Dialect::Sqlite => return without_foreign_keys(conn, s, step, sql, resume).await,
            // `guards` turns the session's foreign_key_checks off for the step.
            Dialect::Mysql => {}
            Dialect::Postgres => tracing::debug!(
                revision = step.migration.revision(),
                "-- migrate:foreign-keys-off has no effect on PostgreSQL: its foreign keys are not touched by rebuilding a table, and a constraint that must wait can be DEFERRABLE"
            ),
        }
    }
    attempts(conn, s, step, sql, resume).await
}

/// A `-- migrate:foreign-keys-off` step on SQLite, whose `PRAGMA foreign_keys`
/// does nothing inside a transaction, and the run holds one: what the run did
/// so far is committed ([`Backend::suspend`]), enforcement is turned off
/// outside any transaction (its value read first), and the write lock is taken
/// again ([`Backend::resume`]) for the step and its history row alone, which
/// [`in_transaction`] checks with `pragma_foreign_key_check` before it keeps
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

/// Adds `e`, which failed after a step (committing it, putting a setting
/// back), to the step's `result`: the error of a step that succeeded, the
/// cleanup of one that failed (never in place of its own error).
fn also(result: &mut Result<()>, e: Error, what: &str) {
    match result {
        Ok(()) => *result = Err(e),
        Err(Error::Migration { cleanup, .. } | Error::DanglingForeignKeys { cleanup, .. }) if cleanup.is_none() => {
            *cleanup = Some(Box::new(e))
        }
        Err(_) => tracing::error!(error = %e, "{what} failed"),
    }
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

/// [`apply`]'s attempts at a step that runs SQL: tried again on a lock timeout
/// or a conflict, as the step's framing allows.
async fn attempts(
    conn: &mut dyn Backend,
    s: &Settings,
    step: Step<'_>,
    sql: &str,
    resume: Option<usize>,
) -> Result<()> {
    let d = conn.dialect();
    let by_statement = step.migration.no_transaction() || d == Dialect::Mysql;
    // Outside a transaction, a statement that timed out may have left something
    // behind (an INVALID index): a human looks before it runs again.
    let attempts = if step.migration.no_transaction() {
        1
    } else {
        s.lock_attempts.max(1)
    };
    let revision = step.migration.revision();
    let mut resume = resume;
    let mut attempt = 1;
    loop {
        let last = attempt >= attempts;
        let started = Instant::now();
        // The last attempt is watched from a second connection, where there is one,
        // so that a lock timeout can name exactly whom the migration waited for.
        let mut watcher = None;
        if last && d == Dialect::Postgres {
            if let (Some(second), Some(id)) = (&s.second, conn.session_id().await) {
                watcher = second.open().await.map(|h| (h, id));
            }
        }
        let retry = Retry {
            lock: !last,
            conflict: attempt < CONFLICT_ATTEMPTS,
        };
        let attempt_run = async {
            if by_statement {
                by_statements(conn, s, step, sql, resume, retry).await
            } else {
                in_transaction(conn, s, step, sql).await
            }
        };
        let (result, seen) = match &mut watcher {
            Some((handle, id)) => watched(attempt_run, handle.backend(), id).await,
            None => (attempt_run.await, Vec::new()),
        };
        drop(watcher);
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
            tokio::time::sleep(pause).await;
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
        tracing::error!(revision, attempts, blockers = ?blockers, "the migration's lock waits ran out");
        return Err(Error::Blocked {
            revision: revision.to_owned(),
            attempts,
            blockers,
            source: Box::new(source),
        });
    }
}

/// Runs `main` to its end while polling `side` beside it (on another
/// connection: `main` keeps the run's own), so that neither waits for the
/// other; `side` is dropped when `main` ends.
async fn alongside<T>(main: impl Future<Output = T>, side: impl Future<Output = ()>) -> T {
    let mut main = std::pin::pin!(main);
    let mut side = std::pin::pin!(side);
    let mut side_done = false;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = main.as_mut().poll(cx) {
            return Poll::Ready(out);
        }
        if !side_done && side.as_mut().poll(cx).is_ready() {
            side_done = true;
        }
        Poll::Pending
    })
    .await
}

/// Runs `attempt` to its end, asking `second` every 100 ms meanwhile who
/// blocks session `id`; returns its result and the last non-empty answer.
async fn watched<T>(attempt: impl Future<Output = T>, second: &mut dyn Backend, id: &str) -> (T, Vec<String>) {
    let mut seen = Vec::new();
    let watch = async {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = second.blocked_by(id).await;
            if !now.is_empty() {
                seen = now;
            }
        }
    };
    let out = alongside(attempt, watch).await;
    (out, seen)
}

/// Runs `run` to its end, renewing `lease` from `second` every third of its
/// time to live meanwhile, so a step longer than the lease keeps it.
pub(crate) async fn with_heartbeat<T>(
    run: impl Future<Output = T>,
    second: &mut dyn Backend,
    s: &Settings,
    lease: &Lease,
) -> T {
    let beat = async {
        loop {
            tokio::time::sleep(lease.ttl / 3).await;
            let renew = second.dialect().renew_lease(&s.table, &lease.owner, lease.ttl_ms());
            if let Err(e) = second.execute(renew).await {
                tracing::warn!(error = %e, "renewing the migration lease from the second connection failed");
            }
        }
    };
    alongside(run, beat).await
}

/// How many times a step is tried when its transaction deadlocks or, on
/// Galera, fails certification.
const CONFLICT_ATTEMPTS: u32 = 5;

/// The pause before attempt `attempt + 1`: half a second, doubling, at most 10 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << attempt.saturating_sub(1).min(5))).min(Duration::from_secs(10))
}

/// How many statements of `revision` the history row says completed (0 without a row).
pub(crate) async fn progress(conn: &mut dyn Backend, s: &Settings, revision: &str) -> Result<usize> {
    Ok(row_progress(conn, s, revision).await?.unwrap_or(0))
}

/// How many statements of `revision` its history row says completed, or
/// `None` when it has no row (a step that left nothing removed its mark).
async fn row_progress(conn: &mut dyn Backend, s: &Settings, revision: &str) -> Result<Option<usize>> {
    let sql = conn.dialect().select_progress(&s.table, revision);
    let read = conn
        .read_strings(sql)
        .await
        .map_err(db("reading how many statements of the migration completed"))?;
    Ok(read.first().map(|n| n.parse().unwrap_or(0)))
}

/// Which failures of a statement-by-statement step its caller will try again:
/// the step then returns at once, its row left in progress for the next attempt.
#[derive(Debug, Clone, Copy)]
struct Retry {
    /// A lock timeout (attempts left).
    lock: bool,
    /// A deadlock or certification conflict (attempts left).
    conflict: bool,
}

/// A step's session settings as statements of its database: its timeouts
/// (its header's, else the run's) and, on MySQL, its `foreign_key_checks`
/// (off for a `-- migrate:foreign-keys-off` step).
struct Guards {
    /// Statements for the start of the step's transaction (PostgreSQL `SET LOCAL`).
    local: String,
    /// The statement setting them for the session, for a step run statement by statement.
    set: Option<String>,
    /// The query that reads, before `set`, the statement putting the session's
    /// own values back (a pool's `after_connect` may have set them).
    save: Option<String>,
}

/// The largest `lock_timeout`/`statement_timeout` PostgreSQL takes, in ms.
const PG_MAX_MS: u128 = i32::MAX as u128;
/// The largest lock wait MySQL and MariaDB take, in seconds (a year).
const MYSQL_MAX_SECS: u128 = 31_536_000;

fn guards(d: Dialect, s: &Settings, m: &Migration) -> Guards {
    let directives = m.directives();
    let lock = directives.lock_timeout.or(s.ddl_lock_timeout);
    let statement = directives.statement_timeout.or(s.statement_timeout);
    let none = Guards {
        local: String::new(),
        set: None,
        save: None,
    };
    match d {
        // SQLite has neither: the run holds the database's one write lock.
        Dialect::Sqlite => none,
        Dialect::Postgres => {
            let mut values = Vec::new();
            if let Some(t) = lock {
                values.push(("lock_timeout", t));
            }
            if let Some(t) = statement {
                values.push(("statement_timeout", t));
            }
            if values.is_empty() {
                return none;
            }
            let value = |(name, t): &(&str, Duration)| format!("{name} = '{}ms'", t.as_millis().min(PG_MAX_MS));
            let joined =
                |f: &dyn Fn(&(&str, Duration)) -> String, sep: &str| values.iter().map(f).collect::<Vec<_>>().join(sep);
            Guards {
                local: values.iter().map(|v| format!("SET LOCAL {};\n", value(v))).collect(),
                set: Some(joined(&|v| format!("SET {}", value(v)), ";\n")),
                save: Some(format!(
                    "SELECT {}",
                    joined(
                        &|(name, _)| format!("'SET {name} = ' || quote_literal(current_setting('{name}'))"),
                        " || ';\n' || "
                    )
                )),
            }
        }
        Dialect::Mysql => {
            let (mut set, mut saved) = (Vec::new(), Vec::new());
            if let Some(t) = lock {
                // Whole seconds, at least one: metadata locks (DDL) and row locks.
                let secs = t.as_millis().div_ceil(1000).clamp(1, MYSQL_MAX_SECS);
                set.push(format!("lock_wait_timeout = {secs}, innodb_lock_wait_timeout = {secs}"));
                saved.push("'lock_wait_timeout = ', @@SESSION.lock_wait_timeout, ', innodb_lock_wait_timeout = ', @@SESSION.innodb_lock_wait_timeout");
            }
            if let Some(t) = statement {
                if s.mariadb {
                    let secs = t.as_secs_f64().clamp(0.001, MYSQL_MAX_SECS as f64);
                    set.push(format!("max_statement_time = {secs:.3}"));
                    saved.push("'max_statement_time = ', @@SESSION.max_statement_time");
                } else {
                    // MySQL bounds only SELECT statements.
                    set.push(format!(
                        "max_execution_time = {}",
                        t.as_millis().clamp(1, u32::MAX as u128)
                    ));
                    saved.push("'max_execution_time = ', @@SESSION.max_execution_time");
                }
            }
            if directives.foreign_keys_off {
                // `-- migrate:foreign-keys-off`: the step's session checks no foreign key.
                set.push("foreign_key_checks = 0".to_owned());
                saved.push("'foreign_key_checks = ', @@SESSION.foreign_key_checks");
            }
            if set.is_empty() {
                return none;
            }
            Guards {
                local: String::new(),
                set: Some(format!("SET SESSION {}", set.join(", "))),
                save: Some(format!(
                    "SELECT CAST(CONCAT('SET SESSION ', {}) AS CHAR)",
                    saved.join(", ', ', ")
                )),
            }
        }
    }
}

/// A transactional step on SQLite (a savepoint in the run's transaction) or
/// PostgreSQL (a transaction of its own, with its history row).
async fn in_transaction(conn: &mut dyn Backend, s: &Settings, step: Step<'_>, sql: &str) -> Result<()> {
    let d = conn.dialect();
    let t = &s.table;
    let terminator = if split::needs_terminator(sql, d) { "\n;" } else { "" };
    if d == Dialect::Sqlite && !step.migration.directives().foreign_keys_off {
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
    if d == Dialect::Sqlite {
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
    // The migration and its history row in one transaction, sent in one round
    // trip; the server measures the time since the transaction began. If the
    // migrator dies mid-step, PostgreSQL 14+ notices within a second
    // (client_connection_check_interval) and rolls back.
    let ms = "(EXTRACT(EPOCH FROM (clock_timestamp() - now())) * 1000)::bigint";
    let watch = if s.watch_client {
        "SET LOCAL client_connection_check_interval = '1s';\n"
    } else {
        ""
    };
    if s.in_run_transaction {
        return in_savepoint(conn, s, step, sql, terminator).await;
    }
    let record = step.record(d, t, ms, false);
    let prefix = format!("BEGIN;\n{watch}{}", guards(d, s, step.migration).local);
    // Under a lease, the step commits only if this run still holds it.
    let guard = s
        .lease
        .as_ref()
        .and_then(|l| d.lease_guard(t, &l.owner, l.ttl_ms()))
        .map(|g| format!("{g};\n"))
        .unwrap_or_default();
    let batch = format!("{prefix}{sql}{terminator}\n{guard}{record};\nCOMMIT");
    if let Err(e) = conn.execute(batch).await {
        // A transaction that never reached COMMIT is rolled back by the
        // server, also when the ROLLBACK cannot be sent.
        let cleanup = run(conn, "ROLLBACK".into(), "rolling back the failed migration")
            .await
            .err();
        // The server's position counts characters of the whole batch.
        let line = crate::error::error_position(&e).and_then(|p| line_of(sql, p, prefix.chars().count()));
        return Err(step.failure_at(e, None, line, true, cleanup));
    }
    Ok(())
}

/// A PostgreSQL step inside the run's one transaction: the migration and its
/// history row in a savepoint, sent in one round trip, the server timing the
/// step from the savepoint on. A failure rolls back to the savepoint, so
/// the transaction goes on holding what the run did before it (which
/// `Migrator::steps` then commits).
async fn in_savepoint(conn: &mut dyn Backend, s: &Settings, step: Step<'_>, sql: &str, terminator: &str) -> Result<()> {
    let d = conn.dialect();
    let ms = "(EXTRACT(EPOCH FROM (clock_timestamp() - current_setting('migrate.step_started')::timestamptz)) * 1000)::bigint";
    let watch = if s.watch_client {
        "SET LOCAL client_connection_check_interval = '1s';\n"
    } else {
        ""
    };
    let record = step.record(d, &s.table, ms, false);
    let prefix = format!(
        "SAVEPOINT migrate_step;\nSELECT set_config('migrate.step_started', clock_timestamp()::text, true);\n{watch}{}",
        guards(d, s, step.migration).local
    );
    let batch = format!("{prefix}{sql}{terminator}\n{record};\nRELEASE SAVEPOINT migrate_step");
    if let Err(e) = conn.execute(batch).await {
        let undo = "ROLLBACK TO SAVEPOINT migrate_step;\nRELEASE SAVEPOINT migrate_step".to_owned();
        let cleanup = run(conn, undo, "rolling back the failed migration to its savepoint")
            .await
            .err();
        let line = crate::error::error_position(&e).and_then(|p| line_of(sql, p, prefix.chars().count()));
        return Err(step.failure_at(e, None, line, true, cleanup));
    }
    Ok(())
}

/// How many SQLite migrations [`apply_batch`] hands to the database in one
/// go at most (the async side logs them and reports progress after each go).
pub(crate) const BATCH_SIZE: usize = 100;

/// The savepoint each step of an [`apply_batch`] runs in.
pub(crate) const BATCH_SAVEPOINT: &str = "migrate_batched";

/// Whether a step can go in an [`apply_batch`]: SQLite, SQL to run in the
/// run's transaction, nothing to check between steps.
pub(crate) fn batchable(d: Dialect, step: &Step<'_>) -> bool {
    let m = step.migration;
    d == Dialect::Sqlite
        && step.run_sql
        && step.sql().is_some()
        && !m.no_transaction()
        && !m.directives().foreign_keys_off
        && m.depends_on().next().is_none()
}

/// SQLite: consecutive steps, each migration with its history row in a
/// savepoint, run together straight on the database handle
/// ([`Backend::run_batch`]), each timed as it ran. Returns how long each of
/// the first steps that ran took; a step that failed was rolled back to its
/// savepoint, and the caller runs it (and what follows) the usual way, so
/// that the failure is named and what came before it kept. `None` when the
/// database has no such path.
///
/// The statements are logged (`migrate::sql`) when the batch is back, in the
/// order they ran, each history row with the duration it was written with.
pub(crate) async fn apply_batch(conn: &mut dyn Backend, s: &Settings, steps: &[Step<'_>]) -> Option<Vec<Duration>> {
    let d = conn.dialect();
    let framed = |sql: &str| {
        let terminator = if split::needs_terminator(sql, d) { "\n;" } else { "" };
        format!("SAVEPOINT {BATCH_SAVEPOINT};\n{sql}{terminator}")
    };
    let batch = steps
        .iter()
        .map(|step| {
            Some(BatchStep {
                sql: framed(step.sql()?),
                record: step.record(d, &s.table, "?1", false),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let ran = conn.run_batch(batch).await?;
    let failed = ran.failure.as_ref().zip(steps.get(ran.took.len()));
    // Written out only for a subscriber that wants them: each history row costs
    // formatting again.
    if tracing::enabled!(target: "migrate::sql", tracing::Level::DEBUG) {
        for (step, took) in steps.iter().zip(&ran.took) {
            logged(framed(step.sql().unwrap_or_default()));
            logged(step.record(d, &s.table, &took.as_millis().to_string(), false));
            logged(format!("RELEASE {BATCH_SAVEPOINT}"));
        }
        if let Some((_, step)) = failed {
            logged(framed(step.sql().unwrap_or_default()));
            logged(format!("ROLLBACK TO {BATCH_SAVEPOINT}; RELEASE {BATCH_SAVEPOINT}"));
        }
    }
    if let Some((error, step)) = failed {
        tracing::debug!(
            revision = step.migration.revision(),
            error = %error,
            "a migration failed in a batch and was rolled back to its savepoint; running it the usual way"
        );
    }
    Some(ran.took)
}

/// Now as a Julian day number (days since noon UTC, 4714 BC), as SQLite's
/// `julianday('now')` reads it.
fn julian_day_now() -> f64 {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    unix / 86_400.0 + 2_440_587.5
}

/// The 1-based line of `sql` holding character `position` (1-based) of a
/// text that had `before` characters ahead of `sql`; `None` outside `sql`.
fn line_of(sql: &str, position: usize, before: usize) -> Option<usize> {
    let at = position.checked_sub(before + 1)?;
    let mut chars = 0;
    let mut line = 1;
    for c in sql.chars() {
        if chars == at {
            return Some(line);
        }
        if c == '\n' {
            line += 1;
        }
        chars += 1;
    }
    None
}

/// `sql` committed as one: in a transaction of its own, except on SQLite,
/// where the run's write transaction already holds it (and commits it before
/// anything runs outside a transaction).
fn atomically(d: Dialect, sql: String) -> String {
    if d == Dialect::Sqlite { sql } else { d.transaction(&sql) }
}

/// The statement marking `step`'s row in progress.
fn mark(d: Dialect, t: &HistoryTable, step: &Step<'_>) -> String {
    let state = State::in_progress(step.direction);
    match step.direction {
        Direction::Upgrade => d.insert_marked(t, step.migration, state),
        Direction::Downgrade => d.set_state(t, step.migration.revision(), state, None),
    }
}

async fn mark_failed(conn: &mut dyn Backend, s: &Settings, step: &Step<'_>, error: &str) -> Result<()> {
    let d = conn.dialect();
    let failed = d.set_state(
        &s.table,
        step.migration.revision(),
        State::failed(step.direction),
        Some(error),
    );
    run(conn, failed, "marking the migration failed").await
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
async fn by_statements(
    conn: &mut dyn Backend,
    s: &Settings,
    step: Step<'_>,
    sql: &str,
    resume: Option<usize>,
    retry: Retry,
) -> Result<()> {
    let guards = guards(conn.dialect(), s, step.migration);
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
async fn statement_by_statement(
    conn: &mut dyn Backend,
    s: &Settings,
    step: Step<'_>,
    sql: &str,
    resume: Option<usize>,
    retry: Retry,
) -> Result<()> {
    let d = conn.dialect();
    let t = &s.table;
    let revision = step.migration.revision();
    let outside = step.migration.no_transaction();
    let statements = split::statements(sql, d);
    let total = statements.len();
    let from = match resume {
        None => {
            // Counting starts again: a downgrade's row still holds its upgrade's count.
            let marked = format!("{};\n{}", mark(d, t, &step), d.set_progress(t, revision, 0));
            run(conn, marked, "marking the migration in progress").await?;
            0
        }
        Some(done) => {
            let state = State::in_progress(step.direction);
            run(
                conn,
                d.set_state(t, revision, state, None),
                "marking the migration in progress",
            )
            .await?;
            done
        }
    };
    if outside {
        conn.suspend(s).await?;
    }
    let started = Instant::now();
    let mut failed: Option<(usize, usize, sqlx::Error)> = None;
    let mut setup = Ok(());
    if !outside {
        setup = run(conn, "BEGIN".into(), "beginning the migration's transaction").await;
    }
    if setup.is_ok() {
        for (i, statement) in statements.iter().enumerate().skip(from) {
            let n = i + 1;
            tracing::debug!(revision, statement = n, line = statement.line, "running statement");
            let progress = d.set_progress(t, revision, n);
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
                failed = Some((n, statement.line, e));
                break;
            }
        }
    }
    let Some((n, line, e)) = failed else {
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
        return finished;
    };
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
    if let Some(left) = invalid_index(conn, statements[n - 1].text).await {
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

/// On PostgreSQL, when `statement` is a `CREATE INDEX CONCURRENTLY` whose
/// index exists and is INVALID (a failed build leaves one): the index,
/// schema-qualified, and the statement that drops it.
pub(crate) async fn invalid_index(conn: &mut dyn Backend, statement: &str) -> Option<(String, String)> {
    if conn.dialect() != Dialect::Postgres {
        return None;
    }
    let name = migrate_core::sql::concurrent_index(statement)?;
    let sql = format!(
        "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid AND c.oid = to_regclass(quote_ident({}))",
        Dialect::Postgres.quote_text(&name)
    );
    let index = conn.read_strings(sql).await.ok()?.into_iter().next()?;
    let drop = format!("DROP INDEX CONCURRENTLY {index};");
    Some((index, drop))
}

/// Marks a row applied, or deletes it, and writes the digest of the result.
pub(crate) async fn resolve(
    conn: &mut dyn Backend,
    s: &Settings,
    revision: &str,
    applied: bool,
    digest: &Digest,
) -> Result<()> {
    let d = conn.dialect();
    let change = if applied {
        d.set_state(&s.table, revision, State::Applied, None)
    } else {
        d.delete(&s.table, revision)
    };
    let sql = format!("{change};\n{}", d.set_digest(&s.table, digest));
    run(conn, atomically(d, sql), "resolving the history row").await
}

/// Erases every row of the history table, the digest row included (`stamp --purge`).
pub(crate) async fn purge(conn: &mut dyn Backend, s: &Settings) -> Result<()> {
    let sql = conn.dialect().delete_all(&s.table);
    run(conn, sql, "erasing the history table").await
}

/// Drops the digest row: done before a run's first step.
pub(crate) async fn drop_digest(conn: &mut dyn Backend, s: &Settings) -> Result<()> {
    let sql = conn.dialect().delete_digest(&s.table);
    run(conn, sql, "dropping the history digest").await
}

/// Writes the digest row: after a run's last step, or when a run that changed
/// nothing found it missing or stale.
pub(crate) async fn write_digest(conn: &mut dyn Backend, s: &Settings, digest: &Digest) -> Result<()> {
    let sql = conn.dialect().set_digest(&s.table, digest);
    run(conn, sql, "writing the history digest").await
}

/// A connection the runtime holds for a whole run, which it can ask to be
/// closed rather than reused when the run did not end cleanly (so no lock
/// or open transaction goes back into a pool).
pub trait Handle: Send {
    /// The connection, for the runtime's one compiled body.
    #[doc(hidden)]
    fn backend(&mut self) -> &mut dyn Backend;

    #[doc(hidden)]
    fn discard_on_drop(&mut self);

    /// A way to open a second connection to the same database, when the
    /// handle came from a pool.
    #[doc(hidden)]
    fn second(&self) -> Option<Second> {
        None
    }
}

impl<DB: Driver> Handle for sqlx::pool::PoolConnection<DB> {
    fn backend(&mut self) -> &mut dyn Backend {
        DB::backend(&mut **self)
    }

    fn discard_on_drop(&mut self) {
        self.close_on_drop();
    }
}

/// A connection taken from the caller's pool, with the pool, which can lend a second one.
struct Pooled<DB: Driver> {
    conn: sqlx::pool::PoolConnection<DB>,
    pool: sqlx::Pool<DB>,
}

impl<DB: Driver> Handle for Pooled<DB> {
    fn backend(&mut self) -> &mut dyn Backend {
        DB::backend(&mut *self.conn)
    }

    fn discard_on_drop(&mut self) {
        self.conn.close_on_drop();
    }

    fn second(&self) -> Option<Second> {
        let pool = self.pool.clone();
        Some(Second(Arc::new(move || {
            let pool = pool.clone();
            Box::pin(async move {
                // A pool with no connection to spare (max_connections(1)) lends none.
                let conn = tokio::time::timeout(Duration::from_secs(1), pool.acquire())
                    .await
                    .ok()?
                    .ok()?;
                Some(Box::new(conn) as Box<dyn Handle>)
            })
        })))
    }
}

macro_rules! borrowed_handle {
    ($($db:ty => $conn:ty),*) => {$(
        impl Handle for &mut $conn {
            fn backend(&mut self) -> &mut dyn Backend {
                <$db as Driver>::backend(&mut **self)
            }

            fn discard_on_drop(&mut self) {
                tracing::warn!("a migration run did not end cleanly on a caller's connection; close that connection");
            }
        }
    )*};
}
#[cfg(feature = "sqlite")]
borrowed_handle!(sqlx::Sqlite => sqlx::SqliteConnection);
#[cfg(feature = "postgres")]
borrowed_handle!(sqlx::Postgres => sqlx::PgConnection);
#[cfg(feature = "mysql")]
borrowed_handle!(sqlx::MySql => sqlx::MySqlConnection);

/// What a run can be given, per database: each `connect` is concrete and
/// compiled in this crate (taking a connection from a pool included).
macro_rules! connect_impls {
    ($($db:ty => $conn:ty),*) => {$(
        impl sealed::Sealed for &sqlx::Pool<$db> {}
        impl<'c> crate::migrator::Connect<'c> for &'c sqlx::Pool<$db> {
            #[inline(never)]
            fn connect(self) -> BoxFuture<'c, Result<Box<dyn Handle + 'c>>> {
                Box::pin(async move {
                    let conn = self.acquire().await.map_err(db("connecting to the database"))?;
                    Ok(Box::new(Pooled { conn, pool: self.clone() }) as Box<dyn Handle + 'c>)
                })
            }
        }

        impl sealed::Sealed for &mut $conn {}
        impl<'c> crate::migrator::Connect<'c> for &'c mut $conn {
            #[inline(never)]
            fn connect(self) -> BoxFuture<'c, Result<Box<dyn Handle + 'c>>> {
                Box::pin(async move { Ok(Box::new(self) as Box<dyn Handle + 'c>) })
            }
        }

        impl sealed::Sealed for &mut sqlx::pool::PoolConnection<$db> {}
        impl<'c> crate::migrator::Connect<'c> for &'c mut sqlx::pool::PoolConnection<$db> {
            #[inline(never)]
            fn connect(self) -> BoxFuture<'c, Result<Box<dyn Handle + 'c>>> {
                Box::pin(async move { Ok(Box::new(&mut **self) as Box<dyn Handle + 'c>) })
            }
        }

        impl sealed::Sealed for &mut sqlx::Transaction<'_, $db> {}
        impl<'c> crate::migrator::Connect<'c> for &'c mut sqlx::Transaction<'_, $db> {
            #[inline(never)]
            fn connect(self) -> BoxFuture<'c, Result<Box<dyn Handle + 'c>>> {
                Box::pin(async move { Ok(Box::new(&mut **self) as Box<dyn Handle + 'c>) })
            }
        }
    )*};
}
#[cfg(feature = "sqlite")]
connect_impls!(sqlx::Sqlite => sqlx::SqliteConnection);
#[cfg(feature = "postgres")]
connect_impls!(sqlx::Postgres => sqlx::PgConnection);
#[cfg(feature = "mysql")]
connect_impls!(sqlx::MySql => sqlx::MySqlConnection);

/// A history row as its columns read.
#[doc(hidden)]
pub type RowTuple = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

impl TryFrom<RowTuple> for HistoryRow {
    type Error = Error;

    fn try_from(
        (
            revision,
            down_revisions,
            message,
            checksum,
            state,
            applied_at,
            execution_ms,
            error,
            phase,
            no_transaction,
            downgrade,
            downgrade_checksum,
            statements_done,
        ): RowTuple,
    ) -> Result<Self> {
        let state = match state.parse::<State>() {
            Ok(state) => state,
            Err(unknown) => {
                return Err(Error::UnknownState {
                    revision,
                    state: unknown.0,
                });
            }
        };
        // A phase this build does not know reads as none: the row is then
        // treated as any revision without one.
        let phase = phase.and_then(|p| p.parse::<Phase>().ok());
        Ok(HistoryRow {
            revision,
            down_revisions,
            message,
            checksum,
            state,
            applied_at,
            execution_ms,
            error,
            phase,
            no_transaction: no_transaction.unwrap_or(0) != 0,
            downgrade,
            downgrade_checksum,
            statements_done,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::line_of;

    #[test]
    fn positions_map_to_lines_of_the_migration() {
        let sql = "CREATE TABLE a (id INT);\nSELECT * FROM missing;";
        let before = "BEGIN;\n".chars().count();
        assert_eq!(line_of(sql, before + 1, before), Some(1));
        assert_eq!(line_of(sql, before + 26 + 14, before), Some(2));
        assert_eq!(line_of(sql, before, before), None, "before the migration");
        assert_eq!(line_of(sql, before + 500, before), None, "after it");
    }
}
