//! What users name: [`Migrations`] (a validated list and its short calls) and
//! [`Migrator`], the builder that resolves every setting once into the value
//! a run reads ([`crate::run`] executes it, never reading the builder).

use crate::driver::{BoxFuture, Handle, Settings};
use crate::error::{Error, Result};
use crate::planned::PendingPlan;
#[cfg(feature = "catalog")]
use crate::report::RoundTrips;
use crate::report::{HistoryEntry, Report};
use crate::run::{Dependent, LockWaiter, Observer, Op, Run};
use crate::table::HistoryTable;
use migrate_core::history::Status as HistoryStatus;
use migrate_core::{Diagnostics, Digest, Direction, Graph, Migration, Phase, TargetError};
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use crate::into_target::IntoTarget;
pub use crate::lock_mode::{LockMode, UnknownLockMode};

/// The default time to wait for another migrator to finish.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// The default number of times a migration is tried when one of its
/// statements waits longer than the DDL lock timeout.
pub const DEFAULT_LOCK_ATTEMPTS: u32 = 3;

/// How long a lease on the migration lock lasts unless renewed.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(30);

/// The longest lease [`Migrator::lease_ttl`] takes: a day (its expiry is
/// stored in milliseconds, and a lease nobody renews for longer than that
/// is a migrator nobody will come back for).
pub const MAX_LEASE_TTL: Duration = Duration::from_secs(24 * 3600);

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
    /// [`Migrations::secret_names`], found on first use.
    secret_names: OnceLock<Vec<String>>,
    /// The Rust revisions' functions, as `embed_migrations!` compiled them in
    /// (none for a list read at run time, which stops before a Rust revision),
    /// with what runs them where there are some.
    rust: crate::rust::Embedded,
    /// The repeatable revisions (`repeatable/<name>.sql`), in the order
    /// they are applied (see `migrate_core::repeatable`).
    repeatables: Cow<'static, [Migration]>,
    /// What runs a backfill revision's batches: set where the history has a
    /// backfill (`embed_migrations!` checks; a list read at run time always
    /// has it), so an application whose history has none links none of it.
    backfills: Option<crate::driver::BackfillRunner>,
    /// What runs a `-- migrate:no-transaction` migration statement by
    /// statement: set where the history has one (as `backfills`), so an
    /// application whose history has none links none of it.
    statements: Option<crate::driver::StatementRunner>,
    /// What finds and applies the repeatable revisions: set where the list has some.
    pub(crate) repeatables_runner: Option<&'static dyn crate::run::RunsRepeatables>,
}

/// What the runtime can run on: a pool (`&SqlitePool`, `&PgPool`,
/// `&MySqlPool`), a single connection (`&mut SqliteConnection`, ...), a
/// pooled connection (`&mut PoolConnection<_>`) or a transaction's connection
/// (`&mut Transaction<_>`) of a database it has a [`Driver`](crate::Driver) for.
///
/// Implemented, inside this crate, for each of those types (a pool's is
/// inlined into the caller, which has compiled sqlx's `acquire` for it);
/// the run itself is compiled here once. Sealed; you never implement it.
pub trait Connect<'c>: Send + crate::driver::sealed::Sealed {
    /// Takes the connection the run will use.
    #[doc(hidden)]
    fn connect(self) -> BoxFuture<'c, Result<Box<dyn Handle + 'c>>>;
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
            secret_names: OnceLock::new(),
            rust: crate::rust::Embedded::NONE,
            repeatables: Cow::Borrowed(&[]),
            backfills: None,
            statements: None,
            repeatables_runner: None,
        }
    }

    /// Used by `embed_migrations!`; not public API. `rust`: the Rust revisions'
    /// functions; `backfills`, `statements`: whether the folder has a backfill
    /// revision, a `-- migrate:no-transaction` one (only then does the list
    /// hold the batch loop, the statement-by-statement runner).
    #[doc(hidden)]
    pub const fn __embedded_with(
        list: &'static [Migration],
        digest: &'static str,
        rust: &'static [crate::rust::RustStep],
        repeatables: &'static [Migration],
        backfills: bool,
        statements: bool,
    ) -> Self {
        Migrations {
            list: Cow::Borrowed(list),
            digest: Some(digest),
            computed: OnceLock::new(),
            secret_names: OnceLock::new(),
            rust: crate::rust::Embedded::of(rust),
            repeatables: Cow::Borrowed(repeatables),
            backfills: if backfills {
                Some(crate::driver::backfill_runner)
            } else {
                None
            },
            statements: if statements {
                Some(crate::driver::statement_runner)
            } else {
                None
            },
            repeatables_runner: if repeatables.is_empty() {
                None
            } else {
                Some(&crate::run::RepeatablesRunner)
            },
        }
    }

    /// What runs a backfill revision's batches, if this list can run one.
    pub(crate) fn backfills(&self) -> Option<crate::driver::BackfillRunner> {
        self.backfills
    }

    /// The repeatable revisions (`repeatable/<name>.sql`, revision
    /// `repeatable:<name>`), in the order an upgrade to head applies them.
    pub fn repeatables(&self) -> &[Migration] {
        &self.repeatables
    }

    /// This list with `repeatables`, in the order they are applied (as
    /// `migrate_core::repeatable::validate` returns them). The digest of an
    /// up-to-date history is computed again, on first use, with them: the
    /// one `embed_migrations!` computed holds the list's own repeatables.
    pub fn with_repeatables(mut self, repeatables: Vec<Migration>) -> Self {
        if repeatables.iter().any(Migration::no_transaction) {
            self.statements = Some(crate::driver::statement_runner);
        }
        if !repeatables.is_empty() {
            self.repeatables_runner = Some(&crate::run::RepeatablesRunner);
        }
        self.repeatables = Cow::Owned(repeatables);
        self.digest = None;
        self.computed = OnceLock::new();
        self
    }

    /// The Rust revisions' functions this list carries.
    pub(crate) fn rust_steps(&self) -> crate::rust::Embedded {
        self.rust
    }

    /// Reads and validates a migrations folder at run time, once, exactly as
    /// `embed_migrations!` does at build time. `shown_as` names the folder in
    /// diagnostics.
    pub fn load(dir: &std::path::Path, shown_as: &str) -> Result<Self, Diagnostics> {
        // Validated, its repeatables too, and in application order.
        let (list, repeatables) = migrate_core::load::load_with_repeatables(dir, shown_as)?;
        Ok(Self::built_at_run_time(list, Cow::Owned(repeatables)))
    }

    /// A list read or built at run time (`list` in application order): it
    /// can run backfills, has no Rust revisions, and computes its digest on
    /// first use.
    fn built_at_run_time(list: Vec<Migration>, repeatables: Cow<'static, [Migration]>) -> Self {
        Migrations {
            list: Cow::Owned(list),
            digest: None,
            computed: OnceLock::new(),
            secret_names: OnceLock::new(),
            rust: crate::rust::Embedded::NONE,
            repeatables,
            backfills: Some(crate::driver::backfill_runner),
            statements: Some(crate::driver::statement_runner),
            repeatables_runner: Some(&crate::run::RepeatablesRunner),
        }
    }

    /// The graph of the list, indexed (the list was validated when it was built).
    pub fn graph(&self) -> Result<Graph<'_>, Diagnostics> {
        Graph::of_ordered(&self.list)
    }

    /// Validates a list built at run time and puts it in application order.
    pub fn new(list: Vec<Migration>) -> Result<Self, Diagnostics> {
        let order: Vec<Migration> = Graph::new(&list)?.iter().cloned().collect();
        Ok(Self::built_at_run_time(order, Cow::Borrowed(&[])))
    }

    /// The digest of a history table on which every migration is applied
    /// (see `migrate_core::digest`): what the start-up check compares with.
    pub fn applied_digest(&self) -> &str {
        match self.digest {
            Some(d) => d,
            None => self
                .computed
                .get_or_init(|| Digest::all_applied_with(&self.list, &self.repeatables).to_string()),
        }
    }

    /// The variable names some revision of the list (a repeatable too)
    /// declares `secret`: secret in every revision, so that one declaring the
    /// same name plainly neither prints its value in a script nor lets a log
    /// line show it. Found once, the first time a variable is bound.
    pub(crate) fn secret_names(&self) -> &[String] {
        self.secret_names.get_or_init(|| {
            let mut names: Vec<String> = (self.list.iter().chain(self.repeatables.iter()))
                .flat_map(Migration::vars)
                .filter(migrate_core::Variable::secret)
                .map(|v| v.name().to_owned())
                .collect();
            names.sort();
            names.dedup();
            names
        })
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

    /// The migration with exactly this revision id (a repeatable's: `repeatable:<name>`).
    pub fn get(&self, revision: &str) -> Option<&Migration> {
        self.list
            .iter()
            .chain(self.repeatables.iter())
            .find(|m| m.revision() == revision)
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
            use_stored_downgrade: None,
            phase: None,
            lock_mode: LockMode::Auto,
            lease_ttl: DEFAULT_LEASE_TTL,
            set_tables: Vec::new(),
            set_lists: Vec::new(),
            set_name: None,
            dependents: Vec::new(),
            observer: None,
            on_lock_wait: None,
            batch_pause: Duration::ZERO,
            max_duration: None,
            vars: Default::default(),
            stop: None,
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
    /// (Feature `catalog`: it reads the schema through the catalog readers.)
    #[cfg(feature = "catalog")]
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
    pub(crate) migrations: &'m Migrations,
    table: Result<HistoryTable, String>,
    ignore_unknown: bool,
    lock_timeout: Duration,
    ddl_lock_timeout: Option<Duration>,
    statement_timeout: Option<Duration>,
    lock_attempts: u32,
    /// Set by `use_stored_downgrade`: the runner a stored `no-transaction` downgrade needs.
    use_stored_downgrade: Option<crate::driver::StatementRunner>,
    phase: Option<Phase>,
    lock_mode: LockMode,
    lease_ttl: Duration,
    /// The history tables of other migration sets, for `-- depends_on:`.
    set_tables: Vec<(String, HistoryTable)>,
    /// The revisions of other migration sets, for `-- depends_on:` lines
    /// naming a revision a squash of that set replaced.
    set_lists: Vec<(String, &'m Migrations)>,
    /// This list's name as a migration set, and the lists whose
    /// `-- depends_on:` lines may name its revisions (checked on downgrade).
    set_name: Option<String>,
    dependents: Vec<Dependent<'m>>,
    observer: Option<Observer<'m>>,
    on_lock_wait: Option<LockWaiter<'m>>,
    batch_pause: Duration,
    max_duration: Option<Duration>,
    vars: crate::vars::Values,
    pub(crate) stop: Option<crate::driver::StopWhen>,
}

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
            .field("use_stored_downgrade", &self.use_stored_downgrade.is_some())
            .field("phase", &self.phase)
            .field("lock_mode", &self.lock_mode)
            .field("lease_ttl", &self.lease_ttl)
            .field("observer", &self.observer.is_some())
            .field("on_lock_wait", &self.on_lock_wait.is_some())
            .field("batch_pause", &self.batch_pause)
            .field("max_duration", &self.max_duration)
            .field("stop_when", &self.stop.is_some())
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
    /// A backfill's progress, after each batch it commits (with `finished` `None`).
    pub backfill: Option<crate::BackfillProgress>,
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

    /// How long to wait for another migrator's lock before failing (default 60 s;
    /// one longer than the clock can count, such as `Duration::MAX`, waits for ever).
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
        // A newer build's revision may run statement by statement, whatever this list holds.
        self.use_stored_downgrade = Some(crate::driver::statement_runner);
        self
    }

    /// Limits [`upgrade`](Self::upgrade) to a phase of an expand/contract
    /// deploy: with [`Phase::Expand`] it applies pending revisions up to, not
    /// including, the first one marked `-- migrate:phase: backfill` or
    /// `contract` on the way to the target, and says where it stopped in
    /// [`Report::held_back`]; with [`Phase::Backfill`] it runs the backfills
    /// too and stops before the first contract revision; with
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

    /// Migration set `set`'s revisions, so that this list's `-- depends_on:
    /// set@ID` lines naming a revision a squash of that set replaced (see
    /// `docs/squash.md`) read as met once that set's baseline is applied (by
    /// its own row, or standing on its squash point's row). Without it, such
    /// a line is read by `ID` alone. [`Sets`](crate::Sets) tells each set about the others.
    pub fn set_migrations(mut self, set: &str, migrations: &'m Migrations) -> Self {
        self.set_lists.retain(|(name, _)| name != set);
        self.set_lists.push((set.to_owned(), migrations));
        self
    }

    /// Names this list as the migration set `name`, so that a downgrade can
    /// check the lists given to [`needed_by`](Self::needed_by) for applied
    /// revisions whose `-- depends_on: name@revision` lines need what it would
    /// unapply.
    pub fn set_name(mut self, name: &str) -> Self {
        self.set_name = Some(name.to_owned());
        self
    }

    /// Another list in the same database, its history in `table`, whose
    /// applied revisions may depend on this set's (see [`set_name`](Self::set_name)):
    /// a downgrade refuses, with [`Error::NeededBy`], to unapply a revision
    /// one of them needs. `set`: that list's set name, `None` for the
    /// application's own (the default history table).
    pub fn needed_by(mut self, set: Option<&str>, table: HistoryTable, migrations: &'m Migrations) -> Self {
        self.dependents.push(Dependent {
            set: set.map(str::to_owned),
            table,
            migrations,
        });
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

    /// How long a lease lasts unless renewed (default 30 s, at most
    /// [`MAX_LEASE_TTL`]: a longer one makes every run fail with
    /// [`Error::OutOfRange`], changing nothing): a migrator that
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
    /// Without it the run logs a `tracing` warning instead; with it, that
    /// event is an INFO one, since `f` tells the person.
    pub fn on_lock_wait(mut self, f: impl Fn(Option<&str>) + Send + Sync + 'm) -> Self {
        self.on_lock_wait = Some(Arc::new(f));
        self
    }

    /// Pauses this long after each committed batch of a backfill
    /// (`-- migrate:phase: backfill`), leaving the server room for the
    /// application's own queries (default none).
    pub fn batch_pause(mut self, pause: Duration) -> Self {
        self.batch_pause = pause;
        self
    }

    /// Bounds a run: once it has applied for this long, it stops between
    /// two batches of a backfill, leaving the revision in progress
    /// ([`State::Backfilling`](migrate_core::State::Backfilling),
    /// [`Report::paused`]); the next upgrade resumes it after its last
    /// committed batch. Steps that are not backfills always run whole, and
    /// a backfill commits at least one batch per run.
    pub fn max_duration(mut self, limit: Duration) -> Self {
        self.max_duration = Some(limit);
        self
    }

    /// Gives the variable `name` (declared `-- migrate:var NAME` in a
    /// revision's header, used as `${NAME}` in its SQL) the value `value`
    /// for the revisions this run applies or unapplies. The environment's
    /// `MIGRATE_VAR_NAME` wins over it; it wins over the declaration's
    /// default. A revision to run whose variable has no value stops the run
    /// before its first statement ([`Error::UnsetVariable`]). The value is
    /// never part of the checksum or the stored downgrade; a `secret` one
    /// never appears in a log line or an error message.
    pub fn var(mut self, name: &str, value: &str) -> Self {
        self.vars.given.push((name.to_owned(), value.to_owned()));
        self
    }

    /// [`var`](Self::var), winning over the environment too: what a command
    /// line's `--var NAME=VALUE` passes.
    pub fn var_overriding(mut self, name: &str, value: &str) -> Self {
        self.vars.overriding.push((name.to_owned(), value.to_owned()));
        self
    }

    /// [`Migrations::script`] with this migrator's history table and the
    /// values of its variables ([`var`](Self::var)); a secret variable stays
    /// `${NAME}` in the script, with a note above its step.
    pub fn script(
        &self,
        dialect: migrate_core::Dialect,
        direction: Direction,
        range: &crate::ScriptRange,
    ) -> Result<String> {
        let table = self.table.clone().map_err(Error::InvalidName)?;
        self.migrations.script_with(
            dialect,
            (&table, &self.vars),
            (self.ddl_lock_timeout, self.statement_timeout),
            direction,
            range,
        )
    }

    /// Asks `f` at each point where a run can stop cleanly: while it waits
    /// for the migration lock, before each step, between the attempts of a
    /// step rolled back on a lock timeout, and between two batches of a
    /// backfill (also during the pause between them). Once `f` returns
    /// true, the run stops there: what it did stays done and recorded (a
    /// backfill stays in progress, to be resumed), the lock is given back,
    /// and the call returns [`Error::Stopped`]. A step under way always runs
    /// to its end, and so do the steps sent together with it in one request
    /// (consecutive steps from an empty history on PostgreSQL, consecutive
    /// transactional ones on SQLite). For a graceful shutdown: a flag that a
    /// SIGTERM handler sets, so that a deploy stopped part-way never leaves
    /// a revision half-done.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    ///
    /// # fn f(migrations: &migrate_runtime::Migrations) {
    /// let stop = Arc::new(AtomicBool::new(false));
    /// let asked = stop.clone();
    /// let migrator = migrations.migrator().stop_when(move || asked.load(Ordering::Relaxed));
    /// // ... on SIGTERM: stop.store(true, Ordering::Relaxed);
    /// # let _ = (migrator, stop);
    /// # }
    /// ```
    pub fn stop_when(mut self, f: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        self.stop = Some(crate::driver::StopWhen(Arc::new(f)));
        self
    }

    /// Calls `f` as each step starts and as it finishes (for progress bars
    /// and Alembic-style `Running upgrade a -> b` lines).
    pub fn on_progress(mut self, f: impl Fn(&Progress<'_>) + Send + Sync + 'm) -> Self {
        self.observer = Some(Arc::new(f));
        self
    }

    /// Every setting resolved once into the value a run reads.
    pub(crate) fn run(&self) -> Result<Run<'m>> {
        let table = self.table.clone().map_err(Error::InvalidName)?;
        if self.lease_ttl > MAX_LEASE_TTL {
            return Err(Error::OutOfRange {
                setting: "lease_ttl",
                value: self.lease_ttl,
                max: MAX_LEASE_TTL,
            });
        }
        Ok(Run {
            migrations: self.migrations,
            settings: Settings {
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
                lock_guard: None,
                in_run_transaction: false,
                released_at_commit: None,
                stop: self.stop.clone(),
                statements: self.migrations.statements.or(self.use_stored_downgrade),
            },
            ignore_unknown: self.ignore_unknown,
            use_stored_downgrade: self.use_stored_downgrade.is_some(),
            phase: self.phase,
            lock_mode: self.lock_mode,
            lease_ttl: self.lease_ttl,
            set_tables: self.set_tables.clone(),
            set_lists: self.set_lists.clone(),
            set_name: self.set_name.clone(),
            dependents: self.dependents.clone(),
            observer: self.observer.clone(),
            batch_pause: self.batch_pause,
            max_duration: self.max_duration,
            on_lock_wait: self.on_lock_wait.clone(),
            vars: self.vars.clone(),
        })
    }

    /// Applies every pending revision up to `target`, each in its own
    /// transaction with its history row, after verifying the history.
    pub async fn upgrade<'c>(&self, db: impl Connect<'c>, target: impl IntoTarget) -> Result<Report> {
        self.run()?
            .change(db.connect(), target.into_target().map(Op::Upgrade))
            .await
    }

    /// What [`upgrade`](Self::upgrade) to `target` would run on this database
    /// as it stands, changing nothing (no lock, no history table created):
    /// where the history stands (applied revisions, digest), each step with
    /// its checksum and exact SQL, and, with the `catalog` feature, the live
    /// schema. Hand it, once approved, to [`upgrade_exactly`](Self::upgrade_exactly).
    pub async fn plan_upgrade<'c>(&self, db: impl Connect<'c>, target: impl IntoTarget) -> Result<PendingPlan> {
        self.run()?.plan_pending(db.connect(), target.into_target()).await
    }

    /// Runs exactly the steps of `planned`, as [`upgrade`](Self::upgrade)
    /// runs them, after checking under the run's lock that the plan still
    /// holds: the same applied revisions and history digest, the target
    /// resolving to the same steps with the same checksums and SQL, and (when
    /// the plan holds a schema, feature `catalog`) the same live schema.
    /// Otherwise refuses with [`Error::PlanMoved`], naming each way it moved,
    /// having changed nothing.
    pub async fn upgrade_exactly<'c>(&self, db: impl Connect<'c>, planned: &PendingPlan) -> Result<Report> {
        self.run()?.change(db.connect(), Ok(Op::exactly(planned))).await
    }

    /// Unapplies applied revisions down to `target`, newest first. Refuses,
    /// changing nothing, when a step has no downgrade section.
    pub async fn downgrade<'c>(&self, db: impl Connect<'c>, target: impl IntoTarget) -> Result<Report> {
        self.run()?
            .change(db.connect(), target.into_target().map(Op::Downgrade))
            .await
    }

    /// Adds or removes history rows so the database is recorded at `target`,
    /// running no migration SQL (for a database whose schema is already there).
    pub async fn stamp<'c>(&self, db: impl Connect<'c>, target: impl IntoTarget) -> Result<Report> {
        self.run()?
            .change(db.connect(), target.into_target().map(Op::Stamp))
            .await
    }

    /// Records the repeatable revisions `revisions` (`repeatable:<name>`) as
    /// applied with this list's checksums, each row replaced, running none
    /// of them (for a database whose views and functions are already as
    /// their files say: `adopt flyway`). Refuses a name the list lacks.
    pub async fn stamp_repeatables<'c>(&self, db: impl Connect<'c>, revisions: &[String]) -> Result<Report> {
        self.run()?
            .change(db.connect(), Ok(Op::stamp_repeatables(revisions)))
            .await
    }

    /// Erases every history row, then records `target` (and its ancestors)
    /// as applied with the checksums of this list, running no migration SQL:
    /// the way to record reality when the history no longer matches it (a
    /// migration edited after it ran, files deleted, rows edited by hand),
    /// where [`stamp`](Self::stamp) refuses as every run does. Alembic's
    /// `stamp --purge`. Only the history table changes.
    pub async fn stamp_purge<'c>(&self, db: impl Connect<'c>, target: impl IntoTarget) -> Result<Report> {
        self.run()?
            .change(db.connect(), target.into_target().map(Op::StampPurge))
            .await
    }

    /// Records how a revision left half-done by a failed run really stands,
    /// after a human checked the database.
    pub async fn resolve<'c>(&self, db: impl Connect<'c>, revision: &str, resolution: Resolution) -> Result<Report> {
        self.run()?
            .change(db.connect(), Ok(Op::resolve(revision, resolution)))
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
        self.run()?.change(db.connect(), Ok(Op::retry(revision))).await
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
        self.run()?.wait(db.connect(), timeout).await
    }

    /// The applied head revisions: applied revisions no other applied revision
    /// descends from (a revision whose downgrade failed part-way counts as
    /// applied: it has not been unapplied). Empty for a fresh database.
    pub async fn current<'c>(&self, db: impl Connect<'c>) -> Result<Vec<String>> {
        let run = self.run()?;
        let rows = run.read(db.connect()).await?;
        run.current_of(&rows)
    }

    /// Every known revision in application order, with its history row when
    /// it is applied, followed by applied revisions this list does not know.
    pub async fn history<'c>(&self, db: impl Connect<'c>) -> Result<Vec<HistoryEntry>> {
        let run = self.run()?;
        let rows = run.read(db.connect()).await?;
        run.history_of(rows)
    }

    /// Checks, changing nothing, that every applied revision is known, hashes
    /// as it did when it ran, has its ancestors applied, and finished.
    pub async fn verify<'c>(&self, db: impl Connect<'c>) -> Result<()> {
        let run = self.run()?;
        let rows = run.read(db.connect()).await?;
        run.check(&run.graph()?, &rows).map(drop)
    }

    /// Where the database's history stands against this list, changing
    /// nothing: the revisions still to apply, the accepted revisions it does
    /// not know, rows another process is applying, and where finished rows
    /// disagree with the list. What `verify`, `wait_until_current` and every
    /// run read; a failed migration is [`Error::Dirty`], and so is a row left
    /// in progress by a migrator that is gone (no session holds the migration
    /// lock, no lease is alive), where the database can tell.
    pub async fn status<'c>(&self, db: impl Connect<'c>) -> Result<HistoryStatus> {
        self.run()?.read_status(db.connect()).await
    }

    /// Proves every revision's downgrade: in application order, records the
    /// schema (through the catalog readers of `revision --autogenerate`),
    /// upgrades the revision, downgrades it, compares, upgrades it again; at
    /// the end downgrades to base and compares with the empty database.
    /// Irreversible revisions are reported and the walk goes on. Refuses
    /// ([`Error::NotEmpty`]) a database that holds anything but this list's
    /// history: run it on a scratch database. Feature `catalog`.
    #[cfg(feature = "catalog")]
    pub async fn verify_round_trips<'c>(&self, db: impl Connect<'c>) -> Result<RoundTrips> {
        self.run()?
            .round_trips(db.connect(), crate::round_trips::Start::Empty)
            .await
    }

    /// Proves the downgrade of every revision not yet applied, from where the
    /// history stands: on a scratch database migrated with an older release's
    /// files, the upgrade a database of that release takes. The history is
    /// verified first ([`Error::History`] when an applied revision was edited
    /// since it ran, or is gone). Then, in application order, each pending
    /// revision is upgraded, downgraded, compared and upgraded again, as
    /// [`verify_round_trips`](Self::verify_round_trips) does, and at the end
    /// the walked revisions go down again and the schema is compared with the
    /// one the walk started from ([`RoundTrips::at_base`]). A pending revision
    /// that an applied one follows in the order of application is upgraded
    /// without its trip, with a note. A database with no history must be
    /// empty, as for `verify_round_trips`. Feature `catalog`.
    #[cfg(feature = "catalog")]
    pub async fn verify_pending_round_trips<'c>(&self, db: impl Connect<'c>) -> Result<RoundTrips> {
        self.run()?
            .round_trips(db.connect(), crate::round_trips::Start::Applied)
            .await
    }
}

impl Migrations {
    /// The head revision's id: the last of the order of application, which
    /// every other precedes (`None` for an empty list). For a constant the
    /// compiler checks, see `migrate::revisions!`.
    pub fn head(&self) -> Option<&str> {
        self.list.last().map(Migration::revision)
    }

    /// Checks that `revision` (an exact id of this list) is applied to the
    /// database, changing nothing: for an application that refuses to start
    /// below a revision it needs, with a constant of `migrate::revisions!` so
    /// that a renamed file breaks the build instead of this check.
    /// [`Error::NotApplied`] names the revision and the database's applied
    /// heads; an id this list does not have is [`TargetError::UnknownRevision`].
    pub async fn require<'c>(&self, db: impl Connect<'c>, revision: &str) -> Result<()> {
        let entries = self.history(db).await?;
        self.required(&entries, revision)
    }

    /// [`Migrations::require`]'s answer from the history rows.
    fn required(&self, entries: &[HistoryEntry], revision: &str) -> Result<()> {
        if self.get(revision).is_none() {
            return Err(TargetError::UnknownRevision { id: revision.into() }.into());
        }
        let is_applied = |e: &HistoryEntry| {
            e.applied
                .as_ref()
                .is_some_and(|a| a.state == migrate_core::State::Applied)
        };
        if entries.iter().any(|e| e.revision == revision && is_applied(e)) {
            return Ok(());
        }
        let graph = self.graph().map_err(Error::Invalid)?;
        let applied: Vec<(&str, Vec<&str>)> = entries
            .iter()
            .filter(|e| is_applied(e))
            .map(|e| {
                (
                    e.revision.as_str(),
                    e.down_revisions.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        Err(Error::NotApplied {
            revision: revision.into(),
            current: migrate_core::history::current_heads(&graph, &applied)
                .into_iter()
                .map(String::from)
                .collect(),
        })
    }
}
