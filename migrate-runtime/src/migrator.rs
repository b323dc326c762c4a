//! The shared part of every run: lock, read and verify the history, plan,
//! execute the plan through the [`Backend`], unlock, report.

use crate::dialect::HistorySql;
use crate::driver::{self, Backend, BoxFuture, Handle, HistoryRow, Settings, Step};
use crate::error::{Error, Result};
use crate::report::{Applied, HistoryEntry, Report, RoundTrip, RoundTripOutcome, RoundTrips, StepReport};
use crate::table::HistoryTable;
use migrate_core::history::{self, AppliedRevision};
use migrate_core::{
    Checksum, Diagnostics, Digest, Direction, Directives, Graph, Migration, MigrationParts, Phase, State, Target,
    TargetError, plan,
};
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The default time to wait for another migrator to finish.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// The default number of times a migration is tried when one of its
/// statements waits longer than the DDL lock timeout.
pub const DEFAULT_LOCK_ATTEMPTS: u32 = 3;

/// How long a lease on the migration lock lasts unless renewed.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(30);

/// How a run keeps other migrators out while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LockMode {
    /// The advisory lock where it is safe, the lease where the database says
    /// it is not (a Galera node). The default.
    #[default]
    Auto,
    /// A session lock on the run's connection: `pg_advisory_lock`, `GET_LOCK`
    /// (SQLite: always its write lock). Needs one server session for the whole
    /// run: not behind a transaction-pooling PgBouncer, not on Galera.
    Advisory,
    /// A row of the `migrate_lease` table, taken with one atomic statement,
    /// renewed as the run goes, checked inside each step's transaction before
    /// it commits, and taken over by another migrator only after it expired.
    /// Needs no session state: for PgBouncer in transaction mode and clusters.
    Lease,
}

/// A lock mode name that is not `auto`, `advisory` or `lease`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown lock mode `{0}`: use advisory, lease or auto")]
pub struct UnknownLockMode(pub String);

impl std::str::FromStr for LockMode {
    type Err = UnknownLockMode;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim() {
            "auto" => Ok(LockMode::Auto),
            "advisory" => Ok(LockMode::Advisory),
            "lease" => Ok(LockMode::Lease),
            other => Err(UnknownLockMode(other.to_owned())),
        }
    }
}

/// What `file()` says of a revision rebuilt from its history row (and so
/// what an error about it names instead of a file).
const STORED_FILE: &str = "its history row: this build has no file for it";

/// An ordered, checksummed list of migrations: what `embed_migrations!`
/// expands to, or what the command line loads from a folder.
///
/// The short calls ([`upgrade`](Self::upgrade), [`downgrade`](Self::downgrade),
/// ...) use the defaults; [`migrator`](Self::migrator) configures them.
#[derive(Debug, Clone)]
pub struct Migrations {
    list: Cow<'static, [Migration]>,
    /// The digest of an up-to-date history: computed by `embed_migrations!`
    /// at build time, or once, on first use, for a list built at run time.
    digest: Option<&'static str>,
    computed: OnceLock<String>,
}

/// What the runtime can run on: a pool (`&SqlitePool`, `&PgPool`,
/// `&MySqlPool`), a single connection (`&mut SqliteConnection`, ...), a
/// pooled connection (`&mut PoolConnection<_>`) or a transaction's connection
/// (`&mut Transaction<_>`) of a database it has a [`Driver`](crate::Driver) for.
///
/// Implemented, inside this crate, for each of those types: taking the
/// connection is compiled here once, not again in every crate that calls
/// `upgrade`. Sealed; you never implement it.
pub trait Connect<'c>: Send + crate::driver::sealed::Sealed {
    /// Takes the connection the run will use.
    #[doc(hidden)]
    fn connect(self) -> BoxFuture<'c, Result<Box<dyn Handle + 'c>>>;
}

/// Something that names a target: a `&str` in the target grammar, or a [`Target`].
pub trait IntoTarget {
    /// Parses or passes on the target.
    fn into_target(self) -> Result<Target, TargetError>;
}

impl IntoTarget for &str {
    fn into_target(self) -> Result<Target, TargetError> {
        self.parse()
    }
}
impl IntoTarget for &String {
    fn into_target(self) -> Result<Target, TargetError> {
        self.parse()
    }
}
impl IntoTarget for String {
    fn into_target(self) -> Result<Target, TargetError> {
        self.parse()
    }
}
impl IntoTarget for Target {
    fn into_target(self) -> Result<Target, TargetError> {
        Ok(self)
    }
}
impl IntoTarget for &Target {
    fn into_target(self) -> Result<Target, TargetError> {
        Ok(self.clone())
    }
}

/// How a revision left half-done is to be recorded after a human checked the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The migration's changes are in place: record it as applied.
    Applied,
    /// The migration's changes are not in place: remove its history row.
    NotApplied,
}

impl Migrations {
    /// Used by `embed_migrations!`; not public API.
    #[doc(hidden)]
    pub const fn __embedded(list: &'static [Migration]) -> Self {
        Migrations {
            list: Cow::Borrowed(list),
            digest: None,
            computed: OnceLock::new(),
        }
    }

    /// Used by `embed_migrations!`; not public API.
    #[doc(hidden)]
    pub const fn __embedded_with_digest(list: &'static [Migration], digest: &'static str) -> Self {
        Migrations {
            list: Cow::Borrowed(list),
            digest: Some(digest),
            computed: OnceLock::new(),
        }
    }

    /// Reads and validates a migrations folder at run time, once, exactly as
    /// `embed_migrations!` does at build time. `shown_as` names the folder in
    /// diagnostics.
    pub fn load(dir: &std::path::Path, shown_as: &str) -> Result<Self, Diagnostics> {
        // `load_dir` validated the list and put it in application order.
        Ok(Migrations {
            list: Cow::Owned(migrate_core::load::load_dir(dir, shown_as)?),
            digest: None,
            computed: OnceLock::new(),
        })
    }

    /// The graph of the list, indexed (the list was validated when it was built).
    pub fn graph(&self) -> Result<Graph<'_>, Diagnostics> {
        Graph::of_ordered(&self.list)
    }

    /// Validates a list built at run time and puts it in application order.
    pub fn new(list: Vec<Migration>) -> Result<Self, Diagnostics> {
        let order: Vec<Migration> = Graph::new(&list)?.iter().cloned().collect();
        Ok(Migrations {
            list: Cow::Owned(order),
            digest: None,
            computed: OnceLock::new(),
        })
    }

    /// The digest of a history table on which every migration is applied
    /// (see `migrate_core::digest`): what the start-up check compares with.
    pub fn applied_digest(&self) -> &str {
        match self.digest {
            Some(d) => d,
            None => self
                .computed
                .get_or_init(|| Digest::all_applied(&self.list).to_string()),
        }
    }

    /// The migrations, in application order.
    pub fn iter(&self) -> std::slice::Iter<'_, Migration> {
        self.list.iter()
    }

    /// How many migrations there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The migration with exactly this revision id.
    pub fn get(&self, revision: &str) -> Option<&Migration> {
        self.list.iter().find(|m| m.revision() == revision)
    }

    /// A migrator with the default configuration, to configure further.
    pub fn migrator(&self) -> Migrator<'_> {
        Migrator {
            migrations: self,
            table: Ok(HistoryTable::default()),
            ignore_unknown: false,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            ddl_lock_timeout: None,
            statement_timeout: None,
            lock_attempts: DEFAULT_LOCK_ATTEMPTS,
            use_stored_downgrade: false,
            phase: None,
            lock_mode: LockMode::Auto,
            lease_ttl: DEFAULT_LEASE_TTL,
            set_tables: Vec::new(),
            observer: None,
            on_lock_wait: None,
        }
    }

    /// Waits until the database holds every one of these migrations. See
    /// [`Migrator::wait_until_current`].
    pub async fn wait_until_current<'c>(&self, db: impl Connect<'c>, timeout: Duration) -> Result<()> {
        self.migrator().wait_until_current(db, timeout).await
    }

    /// Upgrades to `target` (`"head"`, an id, `"+1"`, ...). See [`Migrator::upgrade`].
    pub async fn upgrade<'c>(&self, db: impl Connect<'c>, target: impl IntoTarget) -> Result<Report> {
        self.migrator().upgrade(db, target).await
    }

    /// Downgrades to `target` (`"base"`, an id, `"-1"`, ...). See [`Migrator::downgrade`].
    pub async fn downgrade<'c>(&self, db: impl Connect<'c>, target: impl IntoTarget) -> Result<Report> {
        self.migrator().downgrade(db, target).await
    }

    /// Records `target` as the database's state without running SQL. See [`Migrator::stamp`].
    pub async fn stamp<'c>(&self, db: impl Connect<'c>, target: impl IntoTarget) -> Result<Report> {
        self.migrator().stamp(db, target).await
    }

    /// The applied head revisions. See [`Migrator::current`].
    pub async fn current<'c>(&self, db: impl Connect<'c>) -> Result<Vec<String>> {
        self.migrator().current(db).await
    }

    /// Every revision, applied or not. See [`Migrator::history`].
    pub async fn history<'c>(&self, db: impl Connect<'c>) -> Result<Vec<HistoryEntry>> {
        self.migrator().history(db).await
    }

    /// Upgrades and downgrades every revision on an empty database, reporting
    /// each downgrade that does not restore the schema. See [`Migrator::verify_round_trips`].
    pub async fn verify_round_trips<'c>(&self, db: impl Connect<'c>) -> Result<RoundTrips> {
        self.migrator().verify_round_trips(db).await
    }

    /// Checks the history against the migrations, changing nothing. See [`Migrator::verify`].
    pub async fn verify<'c>(&self, db: impl Connect<'c>) -> Result<()> {
        self.migrator().verify(db).await
    }
}

/// Runs migrations with a chosen configuration. Built by [`Migrations::migrator`].
///
/// ```no_run
/// # async fn f(migrations: &migrate_runtime::Migrations, pool: &sqlx::SqlitePool) -> Result<(), migrate_runtime::Error> {
/// use std::time::Duration;
/// migrations
///     .migrator()
///     .history_table("schema_history")
///     .lock_timeout(Duration::from_secs(10))
///     .upgrade(pool, "head")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Migrator<'m> {
    migrations: &'m Migrations,
    table: Result<HistoryTable, String>,
    ignore_unknown: bool,
    lock_timeout: Duration,
    ddl_lock_timeout: Option<Duration>,
    statement_timeout: Option<Duration>,
    lock_attempts: u32,
    use_stored_downgrade: bool,
    phase: Option<Phase>,
    lock_mode: LockMode,
    lease_ttl: Duration,
    /// The history tables of other migration sets, for `-- depends_on:`.
    set_tables: Vec<(String, HistoryTable)>,
    observer: Option<Observer<'m>>,
    on_lock_wait: Option<LockWaiter<'m>>,
}

/// The callback of [`Migrator::on_lock_wait`].
type LockWaiter<'m> = Arc<dyn Fn(Option<&str>) + Send + Sync + 'm>;

/// The callback of [`Migrator::on_progress`].
type Observer<'m> = Arc<dyn Fn(&Progress<'_>) + Send + Sync + 'm>;

impl std::fmt::Debug for Migrator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrator")
            .field("migrations", &self.migrations.len())
            .field("table", &self.table)
            .field("ignore_unknown", &self.ignore_unknown)
            .field("lock_timeout", &self.lock_timeout)
            .field("ddl_lock_timeout", &self.ddl_lock_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("lock_attempts", &self.lock_attempts)
            .field("use_stored_downgrade", &self.use_stored_downgrade)
            .field("phase", &self.phase)
            .field("lock_mode", &self.lock_mode)
            .field("lease_ttl", &self.lease_ttl)
            .field("observer", &self.observer.is_some())
            .field("on_lock_wait", &self.on_lock_wait.is_some())
            .finish()
    }
}

/// What a run is doing, as it does it: passed to [`Migrator::on_progress`].
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// The migration.
    pub migration: &'a Migration,
    /// Applying or unapplying.
    pub direction: Direction,
    /// Whether its SQL runs (false when stamping).
    pub runs_sql: bool,
    /// Its 0-based place in the plan.
    pub index: usize,
    /// How many steps the plan has.
    pub total: usize,
    /// `None` when the step starts; how long it took when it has finished.
    pub finished: Option<Duration>,
}

/// What a locked run does.
enum Op {
    Upgrade(Target),
    Downgrade(Target),
    Stamp(Target),
    StampPurge(Target),
    Resolve(String, Resolution),
    Retry(String),
}

impl<'m> Migrator<'m> {
    /// Keeps the history in the table `name` (default `migrate_history`).
    /// An invalid name is reported by the first call that uses it.
    pub fn history_table(mut self, name: &str) -> Self {
        let schema = self.table.as_ref().ok().and_then(|t| t.schema().map(str::to_owned));
        self.table = HistoryTable::new(name)
            .and_then(|t| match &schema {
                Some(s) => t.in_schema(s),
                None => Ok(t),
            })
            .map_err(|_| name.to_owned());
        self
    }

    /// Keeps the history table in `schema` (PostgreSQL schema, MySQL database).
    pub fn history_schema(mut self, schema: &str) -> Self {
        self.table = match self.table {
            Ok(t) => t.in_schema(schema).map_err(|_| schema.to_owned()),
            Err(e) => Err(e),
        };
        self
    }

    /// Accepts applied revisions this list does not know (a database migrated
    /// by a newer build), instead of refusing to run.
    pub fn ignore_unknown_revisions(mut self) -> Self {
        self.ignore_unknown = true;
        self
    }

    /// How long to wait for another migrator's lock before failing (default 60 s).
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// How long one statement of a migration may wait for a lock on a table
    /// before it fails (default: the server's setting). On PostgreSQL it is
    /// `SET LOCAL lock_timeout` inside the migration's transaction (a session
    /// setting, reset afterwards, for a no-transaction migration); on MySQL
    /// and MariaDB `lock_wait_timeout` and `innodb_lock_wait_timeout`, in
    /// whole seconds. SQLite has no such lock and ignores it, saying so.
    /// A revision's `-- migrate:lock-timeout: 5s` header wins. It is set after
    /// the migration lock is taken: [`lock_timeout`](Self::lock_timeout)
    /// bounds the wait for another migrator, this the wait for the
    /// application's own sessions. A migration that fails on it is rolled back
    /// and tried again (see [`lock_attempts`](Self::lock_attempts)).
    ///
    /// ```no_run
    /// # async fn f(migrations: &migrate_runtime::Migrations, pool: &sqlx::SqlitePool) -> Result<(), migrate_runtime::Error> {
    /// use migrate_core::Phase;
    /// use std::time::Duration;
    /// let report = migrations
    ///     .migrator()
    ///     .ddl_lock_timeout(Duration::from_secs(5))
    ///     .statement_timeout(Duration::from_secs(600))
    ///     .lock_attempts(3)
    ///     .phase(Phase::Expand)
    ///     .upgrade(pool, "head")
    ///     .await?;
    /// if let Some(contract) = report.held_back {
    ///     println!("roll out the new code, then upgrade past {contract}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn ddl_lock_timeout(mut self, timeout: Duration) -> Self {
        self.ddl_lock_timeout = Some(timeout);
        self
    }

    /// How long one statement of a migration may run (default: the server's
    /// setting): PostgreSQL `statement_timeout`, MariaDB `max_statement_time`,
    /// MySQL `max_execution_time` (which MySQL applies to `SELECT` only).
    /// SQLite ignores it, saying so. A revision's
    /// `-- migrate:statement-timeout: 10min` header wins.
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = Some(timeout);
        self
    }

    /// How many times a migration is tried when a statement waits longer than
    /// the [DDL lock timeout](Self::ddl_lock_timeout) (default 3; at least 1):
    /// each failed attempt is rolled back, logged, and followed by a pause
    /// (half a second, doubling). When they run out, the error
    /// ([`Error::Blocked`]) names the sessions holding locks. A no-transaction
    /// migration is tried once: what a failed statement left is for a human to look at.
    pub fn lock_attempts(mut self, attempts: u32) -> Self {
        self.lock_attempts = attempts.max(1);
        self
    }

    /// Lets [`downgrade`](Self::downgrade) unapply revisions this build does
    /// not know (applied by a newer build) with the downgrade SQL stored in
    /// their history rows when they were applied, logging the SQL it runs and
    /// returning it in [`StepReport::stored_downgrade`](crate::StepReport).
    /// With it, `head` as a downgrade target means this build's head. A
    /// revision applied without a downgrade section (or before this version
    /// stored them) stays irreversible.
    pub fn use_stored_downgrade(mut self) -> Self {
        self.use_stored_downgrade = true;
        self
    }

    /// Limits [`upgrade`](Self::upgrade) to a phase of an expand/contract
    /// deploy: with [`Phase::Expand`] it applies pending revisions up to, not
    /// including, the first one marked `-- migrate:phase: contract` on the way
    /// to the target, and says where it stopped in [`Report::held_back`]; with
    /// [`Phase::Contract`] (or without this call) it applies everything.
    pub fn phase(mut self, phase: Phase) -> Self {
        self.phase = Some(phase);
        self
    }

    /// Where migration set `set` keeps its history, for this list's
    /// `-- depends_on: set@revision` lines (default `migrate_history_<set>`,
    /// in this run's schema). [`Sets`](crate::Sets) tells each set about the others.
    pub fn set_history_table(mut self, set: &str, table: HistoryTable) -> Self {
        self.set_tables.retain(|(name, _)| name != set);
        self.set_tables.push((set.to_owned(), table));
        self
    }

    /// The history table this migrator uses, when its name is valid.
    pub fn table(&self) -> Option<&HistoryTable> {
        self.table.as_ref().ok()
    }

    /// How this run keeps other migrators out (default [`LockMode::Auto`]).
    pub fn lock_mode(mut self, mode: LockMode) -> Self {
        self.lock_mode = mode;
        self
    }

    /// How long a lease lasts unless renewed (default 30 s): a migrator that
    /// dies holding it keeps others waiting this long before one takes over.
    /// The run renews it before each step, inside each step's transaction,
    /// and, when its pool can lend a second connection, every third of it
    /// while a step runs; without one, a step longer than this lets another
    /// migrator take over, and this run then stops before committing.
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl.max(Duration::from_millis(100));
        self
    }

    /// Calls `f` once, at once, when another migrator holds the lock and this
    /// run starts waiting for it (up to the lock timeout), with who holds it
    /// where the database can tell (PostgreSQL: the backend's pid, application
    /// and client; MySQL: the connection, user and host; SQLite: `None`).
    pub fn on_lock_wait(mut self, f: impl Fn(Option<&str>) + Send + Sync + 'm) -> Self {
        self.on_lock_wait = Some(Arc::new(f));
        self
    }

    /// Calls `f` as each step starts and as it finishes (for progress bars
    /// and Alembic-style `Running upgrade a -> b` lines).
    pub fn on_progress(mut self, f: impl Fn(&Progress<'_>) + Send + Sync + 'm) -> Self {
        self.observer = Some(Arc::new(f));
        self
    }

    fn settings(&self) -> Result<Settings> {
        let table = self.table.clone().map_err(Error::InvalidName)?;
        Ok(Settings {
            table,
            lock_timeout: self.lock_timeout,
            watch_client: false,
            ddl_lock_timeout: self.ddl_lock_timeout,
            statement_timeout: self.statement_timeout,
            lock_attempts: self.lock_attempts,
            mariadb: false,
            second: None,
            galera: false,
            lease: None,
            in_run_transaction: false,
        })
    }

    fn graph(&self) -> Result<Graph<'m>> {
        self.migrations.graph().map_err(Error::Invalid)
    }

    /// Applies every pending revision up to `target`, each in its own
    /// transaction with its history row, after verifying the history.
    pub async fn upgrade<'c>(&self, db: impl Connect<'c>, target: impl IntoTarget) -> Result<Report> {
        self.change(db.connect(), target.into_target().map(Op::Upgrade)).await
    }

    /// Unapplies applied revisions down to `target`, newest first. Refuses,
    /// changing nothing, when a step has no downgrade section.
    pub async fn downgrade<'c>(&self, db: impl Connect<'c>, target: impl IntoTarget) -> Result<Report> {
        self.change(db.connect(), target.into_target().map(Op::Downgrade)).await
    }

    /// Adds or removes history rows so the database is recorded at `target`,
    /// running no migration SQL (for a database whose schema is already there).
    pub async fn stamp<'c>(&self, db: impl Connect<'c>, target: impl IntoTarget) -> Result<Report> {
        self.change(db.connect(), target.into_target().map(Op::Stamp)).await
    }

    /// Erases every history row, then records `target` (and its ancestors)
    /// as applied with the checksums of this list, running no migration SQL:
    /// the way to record reality when the history no longer matches it (a
    /// migration edited after it ran, files deleted, rows edited by hand),
    /// where [`stamp`](Self::stamp) refuses as every run does. Alembic's
    /// `stamp --purge`. Only the history table changes.
    pub async fn stamp_purge<'c>(&self, db: impl Connect<'c>, target: impl IntoTarget) -> Result<Report> {
        self.change(db.connect(), target.into_target().map(Op::StampPurge))
            .await
    }

    /// Records how a revision left half-done by a failed run really stands,
    /// after a human checked the database.
    pub async fn resolve<'c>(&self, db: impl Connect<'c>, revision: &str, resolution: Resolution) -> Result<Report> {
        self.change(db.connect(), Ok(Op::Resolve(revision.to_owned(), resolution)))
            .await
    }

    /// Runs again, from the statement that failed, a migration that ran
    /// statement by statement (`-- migrate:no-transaction`, or any migration
    /// on MySQL) and was left failed or half-done, once its cause is fixed:
    /// the statements its history row records as completed are not run
    /// again. A migration file edited since the failed run is taken as it
    /// is now (its first statements still count as done). On PostgreSQL, a
    /// `CREATE INDEX CONCURRENTLY` about to run again whose failed attempt
    /// left an INVALID index is refused with the statement that drops it.
    ///
    /// ```no_run
    /// # async fn f(migrations: &migrate_runtime::Migrations, pool: &sqlx::SqlitePool) -> Result<(), migrate_runtime::Error> {
    /// // Statement 3 of 4 failed and 1-2 stayed done; the cause is fixed by hand:
    /// let report = migrations.migrator().resolve_retry(pool, "ae1027a6acf0").await?;
    /// assert_eq!(report.revisions(), ["ae1027a6acf0"]);
    /// # Ok(()) }
    /// ```
    pub async fn resolve_retry<'c>(&self, db: impl Connect<'c>, revision: &str) -> Result<Report> {
        self.change(db.connect(), Ok(Op::Retry(revision.to_owned()))).await
    }

    /// Waits, without taking the migration lock and without writing
    /// anything, until the database holds every one of this list's
    /// migrations, applied and with their checksums (revisions it holds
    /// beyond them, a newer build's, are fine): for replicas that do not
    /// migrate and must not start before the schema is ready. Fails after
    /// `timeout` with [`Error::NotCurrent`] naming what is missing, and at
    /// once when a migration failed part-way ([`Error::Dirty`]) or drifted.
    ///
    /// ```no_run
    /// # async fn f(migrations: &migrate_runtime::Migrations, pool: &sqlx::SqlitePool) -> Result<(), migrate_runtime::Error> {
    /// use std::time::Duration;
    /// // A replica that does not migrate, before it serves:
    /// migrations.wait_until_current(pool, Duration::from_secs(300)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_until_current<'c>(&self, db: impl Connect<'c>, timeout: Duration) -> Result<()> {
        self.wait(db.connect(), timeout).await
    }

    /// Upgrades every database of `dbs` (a name for the report, such as a
    /// URL with its password masked, and a pool or connection) to `target`,
    /// at most `jobs` at once; one database's failure does not stop the
    /// others. Returns one entry per database, in the order given; fails as a
    /// whole only for a target that does not parse.
    ///
    /// ```no_run
    /// # async fn f(migrations: &migrate_runtime::Migrations, tenants: Vec<(String, sqlx::SqlitePool)>) -> Result<(), migrate_runtime::Error> {
    /// let report = migrations
    ///     .migrator()
    ///     .upgrade_each(tenants.iter().map(|(name, pool)| (name.clone(), pool)), "head", 8)
    ///     .await?;
    /// for failed in report.iter().filter(|e| e.failed()) {
    ///     eprintln!("{}: {:?}", failed.database, failed.outcome);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn upgrade_each<'c, C: Connect<'c>>(
        &self,
        dbs: impl IntoIterator<Item = (String, C)>,
        target: impl IntoTarget,
        jobs: usize,
    ) -> Result<Vec<crate::fleet::Entry<Report, Error>>> {
        let target = target.into_target()?;
        Ok(crate::fleet::each(dbs, jobs, false, |db: C| {
            self.change(db.connect(), Ok(Op::Upgrade(target.clone())))
        })
        .await)
    }

    /// Upgrades every schema of the database whose name matches the `LIKE`
    /// pattern (`tenant_%`) to `target`, at most `jobs` at once, each on a
    /// connection of `pool` whose `search_path` is that schema, with its
    /// history table in it. The entries are named by schema.
    #[cfg(feature = "postgres")]
    pub async fn upgrade_schemas(
        &self,
        pool: &sqlx::PgPool,
        pattern: &str,
        target: impl IntoTarget,
        jobs: usize,
    ) -> Result<Vec<crate::fleet::Entry<Report, Error>>> {
        let target = target.into_target()?;
        let schemas = schemas_like(pool, pattern).await?;
        let items = schemas.into_iter().map(|s| (s.clone(), s));
        Ok(crate::fleet::each(items, jobs, false, |schema: String| {
            let target = target.clone();
            async move {
                let mut conn = pool
                    .acquire()
                    .await
                    .map_err(crate::error::db("connecting to the database"))?;
                let quoted = format!("\"{}\"", schema.replace('"', "\"\""));
                // Saved, and set back afterwards: the pool's own setting, whatever it was.
                let saved = sqlx::raw_sql(sqlx::AssertSqlSafe(crate::driver::logged(format!(
                    "SELECT 'SET search_path TO ' || current_setting('search_path'); SET search_path TO {quoted}"
                ))))
                .fetch_all(&mut *conn)
                .await
                .map_err(crate::error::db(format!("setting the search_path to {quoted}")))?;
                let restore = saved.first().and_then(|r| sqlx::Row::try_get::<String, _>(r, 0).ok());
                let ran = self.clone().history_schema(&schema).upgrade(&mut conn, target).await;
                // The connection goes back to the pool as it came, or not at all.
                let restored = match (&ran, restore) {
                    (Ok(_), Some(sql)) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                        .execute(&mut *conn)
                        .await
                        .is_ok(),
                    _ => false,
                };
                if !restored {
                    conn.close_on_drop();
                }
                ran
            }
        })
        .await)
    }

    /// The applied head revisions: applied revisions no other applied revision
    /// descends from. Empty for a fresh database.
    pub async fn current<'c>(&self, db: impl Connect<'c>) -> Result<Vec<String>> {
        let rows = self.read(db.connect()).await?;
        self.current_of(&rows)
    }

    /// Every known revision in application order, with its history row when
    /// it is applied, followed by applied revisions this list does not know.
    pub async fn history<'c>(&self, db: impl Connect<'c>) -> Result<Vec<HistoryEntry>> {
        let rows = self.read(db.connect()).await?;
        self.history_of(rows)
    }

    /// Checks, changing nothing, that every applied revision is known, hashes
    /// as it did when it ran, has its ancestors applied, and finished.
    pub async fn verify<'c>(&self, db: impl Connect<'c>) -> Result<()> {
        let rows = self.read(db.connect()).await?;
        self.check(&self.graph()?, &rows).map(drop)
    }

    /// `current` over rows read.
    fn current_of(&self, rows: &[HistoryRow]) -> Result<Vec<String>> {
        let graph = self.graph()?;
        let applied: Vec<(&str, Vec<&str>)> = rows
            .iter()
            .filter(|r| r.state == State::Applied)
            .map(|r| (r.revision.as_str(), r.parents()))
            .collect();
        Ok(history::current_heads(&graph, &applied)
            .into_iter()
            .map(str::to_owned)
            .collect())
    }

    /// `history` over rows read.
    fn history_of(&self, rows: Vec<HistoryRow>) -> Result<Vec<HistoryEntry>> {
        let graph = self.graph()?;
        let mut by_id: std::collections::HashMap<&str, &HistoryRow> =
            rows.iter().map(|r| (r.revision.as_str(), r)).collect();
        let applied = |r: &HistoryRow| Applied {
            applied_at: r.applied_at.clone(),
            execution_time: Duration::from_millis(r.execution_ms.max(0) as u64),
            state: r.state,
            error: r.error.clone(),
            checksum: r.checksum.clone(),
            stored_downgrade: r.downgrade.is_some(),
            statements_done: r.statements_done.map(|n| n.max(0) as u64),
        };
        let mut out: Vec<HistoryEntry> = graph
            .iter()
            .map(|m| HistoryEntry {
                revision: m.revision().to_owned(),
                down_revisions: m.down_revisions().map(str::to_owned).collect(),
                message: m.message().to_owned(),
                known: true,
                phase: m.phase(),
                applied: by_id.remove(m.revision()).map(applied),
            })
            .collect();
        for r in rows.iter().filter(|r| by_id.contains_key(r.revision.as_str())) {
            out.push(HistoryEntry {
                revision: r.revision.clone(),
                down_revisions: r.parents().into_iter().map(str::to_owned).collect(),
                message: r.message.clone(),
                known: false,
                phase: r.phase,
                applied: Some(applied(r)),
            });
        }
        Ok(out)
    }

    /// Proves every revision's downgrade: in application order, records the
    /// schema (through the catalog readers of `revision --autogenerate`),
    /// upgrades the revision, downgrades it, compares, upgrades it again; at
    /// the end downgrades to base and compares with the empty database.
    /// Irreversible revisions are reported and the walk goes on. Refuses
    /// ([`Error::NotEmpty`]) a database that holds anything but this list's
    /// history: run it on a scratch database.
    pub async fn verify_round_trips<'c>(&self, db: impl Connect<'c>) -> Result<RoundTrips> {
        self.round_trips(db.connect()).await
    }

    fn round_trips<'a, 'c: 'a>(
        &'a self,
        connect: BoxFuture<'c, Result<Box<dyn Handle + 'c>>>,
    ) -> BoxFuture<'a, Result<RoundTrips>> {
        Box::pin(async move {
            let mut session = Session::new(connect.await?);
            let s = self.settings()?;
            let own = crate::catalog::own_tables(&s.table, self.set_tables.iter().map(|(_, t)| t));
            let start = crate::catalog::read(session.conn.backend(), &own).await?;
            if start != migrate_core::schema::Schema::default() {
                let mut objects = start.names();
                objects.truncate(5);
                return Err(Error::NotEmpty { objects });
            }
            let differences = |before: &migrate_core::schema::Schema, after: &migrate_core::schema::Schema| {
                let renames = migrate_core::schema::Renames::default();
                match migrate_core::schema::compare(before, after, &renames, true) {
                    Ok(d) => {
                        let mut lines: Vec<String> = d.detected().into_iter().map(|l| l.text).collect();
                        lines.extend(d.not_generated.iter().map(|n| format!("Not generated: {n} differs")));
                        lines
                    }
                    Err(e) => vec![e.to_string()],
                }
            };
            let mut out = RoundTrips {
                revisions: Vec::new(),
                at_base: None,
                stopped: None,
                notes: Vec::new(),
            };
            let mut all_reversible = true;
            for m in self.migrations.iter() {
                let before = crate::catalog::read(session.conn.backend(), &own).await?;
                let to = Target::Revision(m.revision().to_owned());
                if let Err(e) = self.step(&mut session, Op::Upgrade(to.clone())).await {
                    out.stopped = Some(format!("upgrading {} failed: {e}", m.revision()));
                    return Ok(out);
                }
                let trip = |outcome| RoundTrip {
                    revision: m.revision().to_owned(),
                    message: m.message().to_owned(),
                    outcome,
                };
                if m.downgrade_sql().is_none() {
                    all_reversible = false;
                    out.revisions.push(trip(RoundTripOutcome::Irreversible));
                    continue;
                }
                if let Err(e) = self.step(&mut session, Op::Downgrade(Target::Relative(-1))).await {
                    out.revisions
                        .push(trip(RoundTripOutcome::DowngradeFailed(e.to_string())));
                    out.stopped = Some(format!("downgrading {} failed", m.revision()));
                    return Ok(out);
                }
                let after = crate::catalog::read(session.conn.backend(), &own).await?;
                let found = differences(&before, &after);
                out.revisions.push(trip(if found.is_empty() {
                    RoundTripOutcome::Restored
                } else {
                    RoundTripOutcome::Differs(found)
                }));
                if let Err(e) = self.step(&mut session, Op::Upgrade(to.clone())).await {
                    // What the downgrade left is in the way. Where the failure was rolled
                    // back, record the revision without running it and go on.
                    let rolled_back = matches!(&e, Error::Migration { rolled_back: true, .. });
                    if rolled_back && self.step(&mut session, Op::Stamp(to)).await.is_ok() {
                        out.notes.push(format!(
                            "{}: upgrading it again failed on what its downgrade left ({e}); recorded it as applied without running it, and went on",
                            m.revision()
                        ));
                        all_reversible = false;
                        continue;
                    }
                    out.stopped = Some(format!(
                        "upgrading {} again after its downgrade failed, as a downgrade that leaves something behind makes it: {e}",
                        m.revision()
                    ));
                    return Ok(out);
                }
            }
            if all_reversible {
                if let Err(e) = self.step(&mut session, Op::Downgrade(Target::Base)).await {
                    out.stopped = Some(format!("downgrading to base failed: {e}"));
                    return Ok(out);
                }
                let end = crate::catalog::read(session.conn.backend(), &own).await?;
                out.at_base = Some(differences(&start, &end));
            }
            session.clean = true;
            Ok(out)
        })
    }

    /// One locked run of a round trip on its session's connection.
    async fn step(&self, session: &mut Session<'_>, op: Op) -> Result<Report> {
        let second = session.conn.second();
        let ran = self.locked(session.conn.backend(), op, second).await;
        if !ran.clean {
            session.clean = false;
        }
        ran.result
    }

    /// A changing run: takes the connection, runs [`locked`](Self::locked) on
    /// it, and closes it unless the run ended cleanly.
    fn change<'a, 'c: 'a>(
        &'a self,
        connect: BoxFuture<'c, Result<Box<dyn Handle + 'c>>>,
        op: Result<Op, TargetError>,
    ) -> BoxFuture<'a, Result<Report>> {
        Box::pin(async move {
            let op = op?;
            let mut session = Session::new(connect.await?);
            let second = session.conn.second();
            let ran = self.locked(session.conn.backend(), op, second).await;
            session.finish(ran)
        })
    }

    /// Reads the history without locking; a missing table reads as empty.
    fn read<'a, 'c: 'a>(
        &'a self,
        connect: BoxFuture<'c, Result<Box<dyn Handle + 'c>>>,
    ) -> BoxFuture<'a, Result<Vec<HistoryRow>>> {
        Box::pin(async move {
            let mut handle = connect.await?;
            let conn = handle.backend();
            let s = self.settings()?;
            let s = conn.prepare(&s).await?;
            if !conn.table_exists(&s).await? {
                return Ok(Vec::new());
            }
            conn.read_rows(&s).await
        })
    }

    /// Says that another migrator holds the lock, and who, before waiting for it.
    fn waiting(&self, holder: Option<&str>, s: &Settings) {
        tracing::warn!(
            holder = holder.unwrap_or("unknown"),
            timeout = ?s.lock_timeout,
            "another migrator holds the migration lock; waiting"
        );
        if let Some(f) = &self.on_lock_wait {
            f(holder);
        }
    }

    /// Polls the history, read only, until every migration is applied.
    fn wait<'a, 'c: 'a>(
        &'a self,
        connect: BoxFuture<'c, Result<Box<dyn Handle + 'c>>>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let started = Instant::now();
            let mut handle = connect.await?;
            let conn = handle.backend();
            let s = conn.prepare(&self.settings()?).await?;
            let graph = self.graph()?;
            let mut pause = Duration::from_millis(50);
            loop {
                // One row when the history is exactly this build's.
                if conn.read_digest(&s).await.as_deref() == Some(self.migrations.applied_digest()) {
                    return Ok(());
                }
                let rows = if conn.table_exists(&s).await? {
                    conn.read_rows(&s).await?
                } else {
                    Vec::new()
                };
                if let Some(r) = rows
                    .iter()
                    .find(|r| matches!(r.state, State::UpgradeFailed | State::DowngradeFailed))
                {
                    return Err(Error::Dirty {
                        revision: r.revision.clone(),
                        state: r.state,
                        error: r.error.clone(),
                    });
                }
                let done: Vec<HistoryRow> = rows.iter().filter(|r| r.state == State::Applied).cloned().collect();
                let missing: Vec<String> = graph
                    .iter()
                    .filter(|m| !done.iter().any(|r| r.revision == m.revision()))
                    .map(|m| m.revision().to_owned())
                    .collect();
                if missing.is_empty() {
                    // What a start-up of this build would accept: checksums, and
                    // unknown revisions only when marked `expand` (or opted in).
                    return self.check(&graph, &done).map(drop);
                }
                let waited = started.elapsed();
                if waited >= timeout {
                    let in_progress = rows
                        .iter()
                        .find(|r| r.state != State::Applied)
                        .map(|r| r.revision.clone());
                    return Err(Error::NotCurrent {
                        missing,
                        waited,
                        in_progress,
                    });
                }
                tracing::debug!(
                    missing = missing.len(),
                    "waiting for another process to migrate the database"
                );
                tokio::time::sleep(pause.min(timeout - waited)).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        })
    }

    /// Refuses half-done revisions, then verifies the rest. Revisions this
    /// list does not know are accepted, with a note, when they are marked
    /// `expand` (a newer build's additions, which this one's code tolerates).
    fn check(&self, graph: &Graph<'_>, rows: &[HistoryRow]) -> Result<Vec<bool>> {
        if let Some(r) = rows.iter().find(|r| r.state != State::Applied) {
            return Err(Error::Dirty {
                revision: r.revision.clone(),
                state: r.state,
                error: r.error.clone(),
            });
        }
        let unknown = |r: &&HistoryRow| graph.position(&r.revision).is_none();
        let expand: Vec<&str> = rows
            .iter()
            .filter(unknown)
            .filter(|r| r.phase == Some(Phase::Expand))
            .map(|r| r.revision.as_str())
            .collect();
        if !expand.is_empty() && !self.ignore_unknown {
            tracing::info!(
                revisions = %expand.join(", "),
                "the database holds revisions this build does not know, marked `expand`: a newer build's additions, which this one runs beside"
            );
        }
        // Unknown expand revisions are accepted; any other unknown one is named and refused.
        let applied: Vec<AppliedRevision> = rows
            .iter()
            .filter(|r| !(unknown(r) && r.phase == Some(Phase::Expand)))
            .map(|r| AppliedRevision {
                revision: r.revision.clone(),
                checksum: r.checksum.clone(),
            })
            .collect();
        history::verify(graph, &applied, self.ignore_unknown).map_err(Error::History)
    }

    /// The whole of a changing run, on one connection: compiled once, here,
    /// whatever the caller's pool or connection type.
    fn locked<'a>(
        &'a self,
        conn: &'a mut dyn Backend,
        op: Op,
        second: Option<crate::driver::Second>,
    ) -> BoxFuture<'a, Ran<Report>> {
        Box::pin(async move {
            let s = match self.settings() {
                Ok(s) => Settings { second, ..s },
                Err(e) => return Ran::clean(Err(e)),
            };
            if matches!(op, Op::Upgrade(Target::Head)) {
                // The hot path of a self-migrating binary: one query, whatever the
                // number of revisions, and no lock. Any difference (a new revision,
                // drift, an unknown or half-done row, no table yet) takes the full path.
                let stored = conn.read_digest(&s).await;
                if stored.as_deref() == Some(self.migrations.applied_digest()) {
                    tracing::debug!("the history digest matches: up to date");
                    return Ran::clean(Ok(Report::default()));
                }
            }
            let prepared = async {
                let graph = self.graph()?;
                let mut s = conn.prepare(&s).await?;
                let lease = match (self.lock_mode, s.galera, conn.leases()) {
                    // SQLite's lock is its one write lock, whatever the mode.
                    (_, _, false) => false,
                    (LockMode::Advisory, true, _) => return Err(Error::AdvisoryOnCluster),
                    (LockMode::Lease, _, _) | (LockMode::Auto, true, _) => true,
                    _ => false,
                };
                if lease {
                    let lease = crate::driver::Lease::new(self.lease_ttl);
                    driver::create_lease_table(conn, &s).await?;
                    if !driver::try_lease(conn, &s, &lease).await? {
                        let holder = driver::lease_holder(conn, &s).await;
                        self.waiting(holder.as_deref(), &s);
                        driver::lease(conn, &s, &lease).await?;
                    }
                    tracing::debug!(owner = %lease.owner, "took the migration lease");
                    s.lease = Some(lease);
                } else if !conn.try_lock(&s).await? {
                    // Say at once that another migrator holds the lock, and who.
                    let holder = conn.lock_holder(&s).await;
                    self.waiting(holder.as_deref(), &s);
                    conn.lock(&s).await?;
                }
                Ok::<_, Error>((graph, s))
            }
            .await;
            let (graph, s) = match prepared {
                Ok(p) => p,
                Err(e) => {
                    return Ran {
                        result: Err(e),
                        clean: false,
                    };
                }
            };
            tracing::debug!(table = s.table.name(), "took the migration lock");
            if !conn.has_timeouts() && (s.ddl_lock_timeout.is_some() || s.statement_timeout.is_some()) {
                tracing::warn!(
                    "SQLite has no lock timeout or statement timeout: a run holds the database's one write lock, so no statement of it waits for the application's sessions; the setting is ignored"
                );
            }
            let mut report = Report::default();
            let result = match s.second.clone().zip(s.lease.clone()) {
                // A lease is renewed from a second connection while steps run.
                Some((second, lease)) => match second.open().await {
                    Some(mut other) => {
                        let run = self.run(conn, &s, &graph, op, &mut report);
                        driver::with_heartbeat(run, other.backend(), &s, &lease).await
                    }
                    None => self.run(conn, &s, &graph, op, &mut report).await,
                },
                None => self.run(conn, &s, &graph, op, &mut report).await,
            };
            let released = match &s.lease {
                Some(lease) => driver::release_lease(conn, &s, lease).await,
                None => conn.unlock(&s).await,
            };
            match released {
                Ok(()) => Ran::clean(result.map(|()| report)),
                Err(unlock) => {
                    tracing::error!(error = %unlock, "releasing the migration lock failed; closing the connection");
                    let result = match result {
                        Ok(()) if report.is_empty() => Err(unlock),
                        Ok(()) => Err(Error::Interrupted {
                            completed: report.revisions().into_iter().map(str::to_owned).collect(),
                            source: Box::new(unlock),
                        }),
                        Err(e) => Err(e),
                    };
                    Ran { result, clean: false }
                }
            }
        })
    }

    /// Under the lock: read, verify, plan and apply, recording each completed
    /// step in `report`. An error after some steps says which ones completed.
    async fn run(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        graph: &Graph<'_>,
        op: Op,
        report: &mut Report,
    ) -> Result<()> {
        driver::create_table(conn, s).await?;
        let mut rows = conn.read_rows(s).await?;
        if matches!(op, Op::StampPurge(_)) {
            tracing::warn!(rows = rows.len(), "erasing the history table before stamping");
            driver::purge(conn, s).await?;
            rows.clear();
        }
        let (target, direction, run_sql) = match op {
            Op::Resolve(revision, resolution) => {
                let known = self.migrations.get(&revision).is_some();
                return resolve(conn, s, &rows, &revision, resolution, known).await;
            }
            Op::Retry(revision) => return self.retry(conn, s, &rows, &revision, report).await,
            Op::Upgrade(t) => (t, Direction::Upgrade, true),
            Op::Downgrade(t) => (t, Direction::Downgrade, true),
            Op::Stamp(t) | Op::StampPurge(t) => (t, Direction::Upgrade, false),
        };
        // Unapplying a newer build's revisions: the graph grows by their rows.
        let rebuilt_list: Vec<Migration>;
        let rebuilt: Graph<'_>;
        let mut target = target;
        let graph: &Graph<'_> = if direction == Direction::Downgrade
            && run_sql
            && self.use_stored_downgrade
            && rows.iter().any(|r| graph.position(&r.revision).is_none())
        {
            rebuilt_list = with_stored(graph, &rows)?;
            rebuilt = Graph::new(&rebuilt_list).map_err(Error::Invalid)?;
            if target == Target::Head {
                // This build's head, not the newer build's.
                target = graph
                    .head()
                    .map_or(Target::Base, |h| Target::Revision(graph.get(h).revision().to_owned()));
            }
            &rebuilt
        } else {
            graph
        };
        let applied = self.check(graph, &rows)?;
        let unknown: Vec<String> = rows
            .iter()
            .filter(|r| graph.position(&r.revision).is_none())
            .map(|r| r.revision.clone())
            .collect();
        let mut plan = match (direction, run_sql) {
            (Direction::Upgrade, true) => plan::upgrade(graph, &applied, &target)?,
            (Direction::Downgrade, _) => match plan::downgrade(graph, &applied, &target) {
                Err(migrate_core::PlanError::Irreversible { revision, file }) if file == STORED_FILE => {
                    return Err(Error::StoredDowngrade {
                        revision,
                        reason: "its history row stores no downgrade: the revision was applied without a downgrade section, or by a version of migrate that did not store them".into(),
                    });
                }
                planned => planned?,
            },
            (Direction::Upgrade, false) => plan::stamp(graph, &applied, &target)?,
        };
        if direction == Direction::Downgrade && !plan.is_empty() && !unknown.is_empty() {
            // A newer build's revisions (accepted as `expand`, or by the opt-in) sit on
            // top of what this build would unapply; going under them would leave rows
            // whose parents are gone.
            return Err(Error::UnknownAbove { revisions: unknown });
        }
        if self.phase == Some(Phase::Expand) && direction == Direction::Upgrade && run_sql {
            let contract = plan
                .steps
                .iter()
                .position(|&i| graph.get(i).phase() == Some(Phase::Contract));
            if let Some(cut) = contract {
                let held = graph.get(plan.steps[cut]).revision().to_owned();
                tracing::info!(
                    revision = %held,
                    "stopping before the first contract revision (expand phase only): run the upgrade without the phase once no old code runs"
                );
                report.held_back = Some(held);
                plan.steps.truncate(cut);
            }
        }
        let result = self
            .steps(
                conn,
                s,
                graph,
                &plan,
                run_sql,
                rows.is_empty(),
                digest_of(&rows),
                report,
            )
            .await;
        match result {
            Err(e)
                if !report.is_empty() && !matches!(e, Error::Migration { .. } | Error::DanglingForeignKeys { .. }) =>
            {
                Err(Error::Interrupted {
                    completed: report.revisions().into_iter().map(str::to_owned).collect(),
                    source: Box::new(e),
                })
            }
            other => other,
        }
    }

    /// Refuses to run `m` while a revision of another set it depends on is not applied.
    async fn check_dependencies(&self, conn: &mut dyn Backend, s: &Settings, m: &Migration) -> Result<()> {
        for (set, revision) in m.depends_on() {
            let table = match self.set_tables.iter().find(|(name, _)| name == set) {
                Some((_, t)) => t.clone(),
                None => HistoryTable::for_set(set)?,
            };
            // Without a schema of its own, the set's table is beside this run's.
            let table = match (table.schema(), s.table.schema()) {
                (None, Some(schema)) => table.in_schema(schema)?,
                _ => table,
            };
            let d = conn.dialect();
            // A set whose history table does not exist yet has nothing applied.
            let applied = conn
                .read_strings(d.select_applied(&table, revision))
                .await
                .ok()
                .and_then(|r| r.into_iter().next());
            if applied.as_deref() != Some("1") {
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

    /// `resolve --retry`: the failed migration again, from its first statement not done.
    async fn retry(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        rows: &[HistoryRow],
        revision: &str,
        report: &mut Report,
    ) -> Result<()> {
        let d = conn.dialect();
        let cannot = |reason: &str| Error::CannotRetry {
            revision: revision.to_owned(),
            reason: reason.to_owned(),
        };
        let Some(row) = rows.iter().find(|r| r.revision == revision) else {
            return Err(Error::NotInHistory(revision.to_owned()));
        };
        if row.state == State::Applied {
            return Err(Error::Finished {
                revision: revision.to_owned(),
            });
        }
        if let Some(other) = rows
            .iter()
            .find(|r| r.state != State::Applied && r.revision != revision)
        {
            return Err(Error::Dirty {
                revision: other.revision.clone(),
                state: other.state,
                error: other.error.clone(),
            });
        }
        let Some(m) = self.migrations.get(revision) else {
            return Err(cannot("this build has no file for it"));
        };
        if !driver::by_statement(conn, m) {
            return Err(cannot(
                "it runs in a transaction, so its failure left nothing of it behind: resolve it as not applied (`--not-applied`), then upgrade",
            ));
        }
        let direction = match row.state {
            State::Upgrading | State::UpgradeFailed => Direction::Upgrade,
            _ => Direction::Downgrade,
        };
        let sql = match direction {
            Direction::Upgrade => m.upgrade_sql(),
            Direction::Downgrade => m
                .downgrade_sql()
                .ok_or_else(|| cannot("its file has no downgrade section"))?,
        };
        let Some(done) = row.statements_done.map(|n| n.max(0) as usize) else {
            return Err(cannot(
                "its row was written by an earlier version, which did not count the statements that completed; check the database by hand, then resolve it as applied or as not applied",
            ));
        };
        let statements = crate::split::statements(sql, d);
        if let Some(next) = statements.get(done) {
            if let Some((index, drop)) = conn.invalid_index(next.text).await {
                return Err(Error::InvalidIndex {
                    revision: revision.to_owned(),
                    index,
                    drop,
                });
            }
        }
        let checksum = m.checksum().to_string();
        if direction == Direction::Upgrade && row.checksum != checksum {
            tracing::warn!(
                revision,
                done,
                "the migration's file changed since the failed run; its first statements are taken as done, as the history row says"
            );
            let sql = d.set_checksum(&s.table, revision, &checksum);
            driver::run(conn, sql, "recording the migration's new checksum").await?;
        }
        tracing::info!(
            revision,
            from_statement = done + 1,
            of = statements.len(),
            "running the failed migration again"
        );
        driver::drop_digest(conn, s).await?;
        let started = Instant::now();
        let step = Step {
            migration: m,
            direction,
            run_sql: true,
        };
        driver::apply(conn, s, step, Some(done)).await?;
        let mut digest = digest_of(rows);
        digest.remove(&row.revision, &row.checksum, row.state);
        if direction == Direction::Upgrade {
            digest.insert(revision, &checksum, State::Applied);
        }
        report.steps.push(StepReport {
            revision: revision.to_owned(),
            message: m.message().to_owned(),
            direction,
            duration: started.elapsed(),
            stored_downgrade: None,
        });
        driver::write_digest(conn, s, &digest).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn steps(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        graph: &Graph<'_>,
        plan: &plan::Plan,
        run_sql: bool,
        fresh: bool,
        mut digest: Digest,
        report: &mut Report,
    ) -> Result<()> {
        if !plan.is_empty() {
            // Until the run's last step is done, no start-up check may take the short cut.
            driver::drop_digest(conn, s).await?;
        }
        // From an empty history (a test database, a first deploy), PostgreSQL runs
        // the transactional steps in one transaction, a savepoint each: one commit
        // instead of one per migration. Not under a lease (each step must check it
        // as it commits), nor when a header sets a timeout (SET LOCAL would outlive
        // its savepoint).
        let one_transaction = fresh
            && run_sql
            && conn.one_transaction_runs()
            && plan.direction == Direction::Upgrade
            && plan.steps.len() > 1
            && s.lease.is_none()
            && plan.steps.iter().all(|&i| {
                let d = graph.get(i).directives();
                // A dependency check reads another set's table, and a failed read would abort the transaction.
                d.lock_timeout.is_none() && d.statement_timeout.is_none() && graph.get(i).depends_on().next().is_none()
            });
        let batched = Settings {
            in_run_transaction: true,
            ..s.clone()
        };
        let mut open: Option<usize> = None;
        let result = self
            .run_steps(
                conn,
                s,
                &batched,
                graph,
                plan,
                run_sql,
                one_transaction,
                &mut open,
                &mut digest,
                report,
            )
            .await;
        if let Some(first) = open {
            // What ran before a failed step is kept, as with a transaction per step.
            if let Err(e) = driver::run(conn, "COMMIT".into(), "committing the run's transaction").await {
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
                    Err(other) => other,
                    Ok(()) => e,
                });
            }
        }
        result?;
        if !report.is_empty() || conn.read_digest(s).await.as_deref() != Some(digest.to_string().as_str()) {
            // After the last step; or, when nothing ran, because the digest was
            // missing (a table from before digests, a run that failed) or stale:
            // the rows were checked one by one just now.
            driver::write_digest(conn, s, &digest).await?;
        }
        Ok(())
    }

    /// [`steps`](Self::steps)' loop. With `one_transaction`, a transactional
    /// step runs inside the transaction `open` says began before step N
    /// (begun here when none is), and a no-transaction step commits it first.
    #[allow(clippy::too_many_arguments)]
    async fn run_steps(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        batched: &Settings,
        graph: &Graph<'_>,
        plan: &plan::Plan,
        run_sql: bool,
        one_transaction: bool,
        open: &mut Option<usize>,
        digest: &mut Digest,
        report: &mut Report,
    ) -> Result<()> {
        let total = plan.steps.len();
        // SQLite: how long each of the next steps took, already applied by a batch
        // (`driver::apply_batch`); and the first step a batch may start at again.
        let mut ahead: std::collections::VecDeque<Duration> = std::collections::VecDeque::new();
        let mut unbatched_until = 0;
        for (index, &i) in plan.steps.iter().enumerate() {
            let m = graph.get(i);
            let step_of = |i: usize| Step {
                migration: graph.get(i),
                direction: plan.direction,
                run_sql,
            };
            if ahead.is_empty() && index >= unbatched_until && driver::batchable(conn, &step_of(i)) {
                let steps: Vec<Step<'_>> = plan.steps[index..]
                    .iter()
                    .map(|&i| step_of(i))
                    .take_while(|st| driver::batchable(conn, st))
                    .take(driver::BATCH_SIZE)
                    .collect();
                if steps.len() > 1 {
                    match driver::apply_batch(conn, s, &steps).await {
                        Some(took) => {
                            if took.len() < steps.len() {
                                // The step after those kept failed and was rolled back: it
                                // runs the usual way, which names the failure.
                                unbatched_until = index + took.len() + 1;
                            }
                            ahead = took.into();
                        }
                        // No batch path here: the steps run one by one.
                        None => unbatched_until = index + steps.len(),
                    }
                }
            }
            let batched_took = ahead.pop_front();
            let together = one_transaction && !m.no_transaction();
            if together && open.is_none() {
                driver::run(conn, "BEGIN".into(), "beginning the run's transaction").await?;
                *open = Some(report.steps.len());
            }
            if !together {
                commit_run(conn, open, report).await?;
            }
            let s = if together { batched } else { s };
            let step = Step {
                migration: m,
                direction: plan.direction,
                run_sql,
            };
            let verb = if run_sql { "Running" } else { "Stamping" };
            match plan.direction {
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
            if plan.direction == Direction::Upgrade && run_sql {
                self.check_dependencies(conn, s, m).await?;
            }
            let stored = (m.file() == STORED_FILE && plan.direction == Direction::Downgrade)
                .then(|| m.downgrade_sql().unwrap_or_default().to_owned());
            if let Some(sql) = &stored {
                tracing::warn!(
                    revision = m.revision(),
                    sql = %sql,
                    "running the downgrade stored in the history table when the revision was applied (this build has no file for it)"
                );
            }
            let notify = |finished| {
                if let Some(f) = &self.observer {
                    f(&Progress {
                        migration: m,
                        direction: plan.direction,
                        runs_sql: run_sql,
                        index,
                        total,
                        finished,
                    });
                }
            };
            notify(None);
            let started = Instant::now();
            let mut ran = match batched_took {
                Some(_) => Ok(()),
                None => driver::apply(conn, s, step, None).await,
            };
            if together && matches!(&ran, Err(e) if out_of_lock_slots(e)) {
                // The run's one transaction holds a lock on everything it created, and
                // the server's lock table is full (max_locks_per_transaction): keep what
                // it did, and go on in a new transaction. The step was rolled back to its savepoint.
                tracing::info!(
                    revision = m.revision(),
                    "the server's lock table is full: committing the run so far and going on in a new transaction"
                );
                commit_run(conn, open, report).await?;
                driver::run(conn, "BEGIN".into(), "beginning the run's transaction").await?;
                *open = Some(report.steps.len());
                ran = driver::apply(conn, s, step, None).await;
            }
            if let Err(mut e) = ran {
                if let Error::Migration { applied, .. } | Error::DanglingForeignKeys { applied, .. } = &mut e {
                    *applied = report.revisions().into_iter().map(str::to_owned).collect();
                }
                tracing::error!(revision = m.revision(), error = %e, "migration failed");
                return Err(e);
            }
            let checksum = m.checksum().to_string();
            match plan.direction {
                Direction::Upgrade => digest.insert(m.revision(), &checksum, State::Applied),
                Direction::Downgrade => digest.remove(m.revision(), &checksum, State::Applied),
            }
            let duration = match batched_took {
                Some(took) => took,
                None if run_sql => started.elapsed(),
                None => Duration::ZERO,
            };
            notify(Some(duration));
            report.steps.push(StepReport {
                revision: m.revision().to_owned(),
                message: m.message().to_owned(),
                direction: plan.direction,
                duration,
                stored_downgrade: stored,
            });
        }
        Ok(())
    }
}

/// Commits the run's one transaction, if one is open (`open`: the step it
/// began before). If the commit fails, nothing since is kept, and the
/// report stops saying it is.
async fn commit_run(conn: &mut dyn Backend, open: &mut Option<usize>, report: &mut Report) -> Result<()> {
    let Some(first) = open.take() else { return Ok(()) };
    if let Err(e) = driver::run(conn, "COMMIT".into(), "committing the run's transaction").await {
        report.steps.truncate(first);
        return Err(e);
    }
    Ok(())
}

/// PostgreSQL's "out of shared memory" (SQLSTATE 53200): a transaction took
/// more locks than the server's lock table holds.
fn out_of_lock_slots(e: &Error) -> bool {
    matches!(e, Error::Migration { source, rolled_back: true, .. }
        if source.as_database_error().and_then(|d| d.code()).as_deref() == Some("53200"))
}

/// What a run on one connection gave, and whether that connection may be reused.
struct Ran<T> {
    result: Result<T>,
    /// False when a lock or a transaction may still be held: the connection
    /// is then closed instead of going back to a pool.
    clean: bool,
}

impl<T> Ran<T> {
    fn clean(result: Result<T>) -> Self {
        Ran { result, clean: true }
    }
}

/// The lock connection: closed instead of reused unless the run ended
/// cleanly, also when the caller drops the run's future part-way.
struct Session<'c> {
    conn: Box<dyn Handle + 'c>,
    clean: bool,
}

impl<'c> Session<'c> {
    fn new(conn: Box<dyn Handle + 'c>) -> Self {
        Session { conn, clean: false }
    }

    fn finish<T>(mut self, ran: Ran<T>) -> Result<T> {
        self.clean = ran.clean;
        ran.result
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if !self.clean {
            self.conn.discard_on_drop();
        }
    }
}

fn parents(m: &Migration) -> String {
    let p: Vec<&str> = m.down_revisions().collect();
    if p.is_empty() {
        "<base>".to_owned()
    } else {
        p.join(", ")
    }
}

async fn resolve(
    conn: &mut dyn Backend,
    s: &Settings,
    rows: &[HistoryRow],
    revision: &str,
    resolution: Resolution,
    known: bool,
) -> Result<()> {
    let Some(row) = rows.iter().find(|r| r.revision == revision) else {
        return Err(Error::NotInHistory(revision.to_owned()));
    };
    // A finished row is resolved only to drop one this build does not know
    // (a newer build's), named by its id.
    let drops_unknown = !known && resolution == Resolution::NotApplied;
    if row.state == State::Applied && !drops_unknown {
        return Err(Error::Finished {
            revision: revision.to_owned(),
        });
    }
    let mut digest = digest_of(rows);
    digest.remove(&row.revision, &row.checksum, row.state);
    if resolution == Resolution::Applied {
        digest.insert(&row.revision, &row.checksum, State::Applied);
    }
    driver::resolve(conn, s, revision, resolution == Resolution::Applied, &digest).await?;
    tracing::info!(revision, from = %row.state, ?resolution, "resolved history row");
    Ok(())
}

/// The graph's migrations and, rebuilt from their history rows, the applied
/// revisions it does not know, with the downgrade SQL stored when they were
/// applied (checked against the checksum stored beside it).
fn with_stored(graph: &Graph<'_>, rows: &[HistoryRow]) -> Result<Vec<Migration>> {
    let mut list: Vec<Migration> = graph.iter().cloned().collect();
    for r in rows.iter().filter(|r| graph.position(&r.revision).is_none()) {
        let refuse = |reason: &str| Error::StoredDowngrade {
            revision: r.revision.clone(),
            reason: reason.to_owned(),
        };
        let checksum: Checksum = r
            .checksum
            .parse()
            .map_err(|_| refuse("its row's checksum does not read as one"))?;
        if let Some(sql) = &r.downgrade {
            let stored = Checksum::of(sql, r.no_transaction).to_string();
            if r.downgrade_checksum.as_deref() != Some(stored.as_str()) {
                return Err(refuse(
                    "its stored downgrade no longer hashes to the checksum stored beside it (was the row edited?)",
                ));
            }
        }
        let parts = MigrationParts {
            revision: r.revision.clone(),
            down_revisions: r.parents().into_iter().map(str::to_owned).collect(),
            message: r.message.clone(),
            upgrade: String::new(),
            downgrade: r.downgrade.clone(),
            no_transaction: r.no_transaction,
            directives: Directives {
                phase: r.phase,
                ..Directives::default()
            },
            depends_on: Vec::new(),
            file: STORED_FILE.to_owned(),
        };
        list.push(Migration::with_checksum(parts, checksum));
    }
    Ok(list)
}

/// The schemas of the database whose names match the `LIKE` pattern, by name.
#[cfg(feature = "postgres")]
pub async fn schemas_like(pool: &sqlx::PgPool, pattern: &str) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE {} AND nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1",
        crate::Dialect::Postgres.quote_text(pattern)
    );
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(crate::driver::logged(sql)))
        .fetch_all(pool)
        .await
        .map_err(crate::error::db("listing the schemas"))?;
    rows.iter()
        .map(|r| sqlx::Row::try_get::<String, _>(r, 0).map_err(crate::error::db("listing the schemas")))
        .collect()
}

/// The digest of the history rows as read.
fn digest_of(rows: &[HistoryRow]) -> Digest {
    let mut digest = Digest::empty();
    for r in rows {
        digest.insert(&r.revision, &r.checksum, r.state);
    }
    digest
}
