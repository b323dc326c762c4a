//! Alembic-style database schema migrations, checked when your crate compiles.
//!
//! Migrations are SQL files that form a revision graph: each names its
//! `revision` and its `down_revision` (several, for a merge). The
//! [`embed_migrations!`] macro reads the folder while your crate builds,
//! fails the build with a clear message if the graph is broken (a cycle,
//! an unmerged fork, a dangling or duplicate revision, a malformed file),
//! and embeds the migrations in application order with their SHA-256
//! checksums. At run time, [`Migrations`] applies them to SQLite,
//! PostgreSQL or MySQL/MariaDB through [`sqlx`], one history row per
//! revision, under a database lock.
//!
//! ```no_run
//! static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("migrations");
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = migrate::sqlx::SqlitePool::connect("sqlite:app.db?mode=rwc").await?;
//! let report = MIGRATIONS.upgrade(&pool, "head").await?;
//! println!("applied {} migration(s)", report.steps.len());
//! let heads: Vec<String> = MIGRATIONS.current(&pool).await?;
//! # Ok(()) }
//! ```
//!
//! # The file format
//!
//! One file per revision, named `<revision>_<slug>.sql`:
//!
//! ```text
//! -- create account table
//! --
//! -- revision: 1975ea83b712
//! -- down_revision:
//! -- created: 2026-11-22T01:42:51Z
//!
//! -- migrate:upgrade
//! CREATE TABLE account (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL);
//!
//! -- migrate:downgrade
//! DROP TABLE account;
//! ```
//!
//! - The header is the comment lines before `-- migrate:upgrade`. Its first
//!   line is the message. `revision` is 1 to 64 characters of `[A-Za-z0-9_]`
//!   and must be the file name's prefix; `down_revision` is empty for the
//!   first revision, one id, or a comma-separated list for a merge.
//! - `-- migrate:upgrade` is required; its section may be empty.
//!   `-- migrate:downgrade` is optional: without it the revision is
//!   irreversible and downgrading past it is refused; present and empty, it
//!   is reversible with nothing to run.
//! - `-- migrate:no-transaction` in the header runs the migration outside a
//!   transaction.
//! - `-- migrate:foreign-keys-off` in the header runs the migration with
//!   foreign keys off, for SQLite's table rebuild (create the new table, copy
//!   the rows, drop the old one, rename the new one), in which dropping a
//!   referenced table would otherwise delete its `ON DELETE CASCADE` children
//!   silently. SQLite ignores `PRAGMA foreign_keys` inside a transaction, so
//!   the run commits what it did so far, turns enforcement off, runs the
//!   migration and its history row in a transaction of their own, and before
//!   committing runs `PRAGMA foreign_key_check` over the whole database: a row
//!   left pointing at no row rolls the migration back with
//!   [`Error::DanglingForeignKeys`], which names the table, the rowid and the
//!   referenced table. The connection's own setting is put back afterwards,
//!   also after a failure, and the run goes on in a new transaction. MySQL
//!   and MariaDB run it with the session's `foreign_key_checks = 0`, put back
//!   afterwards; they do not check the rows when it is turned back on.
//!   PostgreSQL ignores it (its foreign keys are not touched by rebuilding a
//!   table; use `DEFERRABLE` constraints there). It cannot be combined with
//!   `-- migrate:no-transaction`, and, like the other header directives, is
//!   not part of the checksum.
//! - The checksum is SHA-256 over the upgrade section and the
//!   no-transaction flag, after turning CRLF into LF and dropping a BOM.
//!   Editing the message or the downgrade is not drift; editing the upgrade
//!   of an applied revision is, and is refused.
//! - Files not ending in `.sql`, and hidden files, are ignored, and so is
//!   `squashed/`, where `migrate squash` moves the files it replaced.
//! - `-- migrate:replaces: a, b, …, REV` and `-- migrate:squashed: RELEASE`
//!   make a root revision a squash baseline (`migrate squash --to REV`
//!   writes it): a database whose history holds `REV` counts it as applied
//!   and runs nothing squashed again, an empty one runs it, and one holding
//!   only some of the replaced ids is refused with
//!   [`Error::History`] naming `RELEASE`, the last release that can take it
//!   to `REV` (see `docs/squash.md`).
//!
//! # Targets
//!
//! `head`, `base`, a revision id or any unique prefix of one, `+N` (the
//! next N pending revisions), `-N` (the last N applied ones), `<id>+N` and
//! `<id>-N` (N steps from a revision along the graph), `head-N`. Upgrading
//! to X applies X and its pending ancestors in application order;
//! downgrading to X unapplies its applied descendants, newest first, and
//! leaves other branches applied. See [`Target`].
//!
//! # Rebuilding when a file is added
//!
//! Editing a migration rebuilds your crate by itself. Stable Rust cannot
//! let a macro watch a folder, so for a *new* file to trigger a rebuild add
//! this `build.rs` next to your `Cargo.toml`:
//!
//! ```text
//! fn main() {
//!     println!("cargo:rerun-if-changed=migrations");
//! }
//! ```
//!
//! (The test `tests/outside_crate.rs` checks that this works.)
//!
//! # Configuration
//!
//! The short calls use the defaults (history table `migrate_history`, a
//! 60 second lock timeout, unknown applied revisions refused). Configure
//! through [`Migrations::migrator`]:
//!
//! ```no_run
//! # static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("migrations");
//! # async fn run(pool: &migrate::sqlx::SqlitePool) -> Result<(), migrate::Error> {
//! use std::time::Duration;
//! MIGRATIONS
//!     .migrator()
//!     .history_table("schema_history")
//!     .lock_timeout(Duration::from_secs(5))
//!     .ignore_unknown_revisions()
//!     .upgrade(pool, "head")
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # Command line
//!
//! The `migrate` binary is the `migrate-cli` package (`cargo install
//! --path migrate-cli`, every database included): `migrate init`, `revision -m` (and `--autogenerate`), `merge`, `check` (and `--schema`), `schema dump`, `test`, `heads`,
//! `history`, `show`, `upgrade`, `downgrade`, `current`, `stamp`,
//! `resolve`, `wait`, and offline scripts with `upgrade --sql` / `downgrade --sql`
//! (see [`offline`]). With this crate's `cli` feature (off by default, as
//! it brings clap), `migrate::cli::DbCommand` gives a self-migrating binary the
//! same verbs over its embedded list (`myapp db upgrade head`); see
//! `examples/embedded_cli.rs` and the README for flags, configuration,
//! exit codes and `--json` shapes.
//!
//! # Writing migrations from a schema, and proving them
//!
//! `migrate revision --autogenerate -m MSG` writes the revision that turns
//! the migrations' end state into `schema.sql`, `migrate check --schema`
//! fails CI until they agree, and `migrate schema dump` starts the file;
//! [`schema`] is what they are made of: [`schema::read_schema`] reads a live
//! database's catalog, [`schema::generate`] compares two schemas and writes
//! both directions. [`Migrations::verify_round_trips`] (`migrate test`)
//! proves every downgrade on an empty database:
//!
//! ```no_run
//! # static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/fixtures/linear");
//! # async fn run(pool: &migrate::sqlx::SqlitePool) -> Result<(), migrate::Error> {
//! let report = MIGRATIONS.verify_round_trips(pool).await?;
//! for trip in &report.revisions {
//!     if let migrate::RoundTripOutcome::Differs(left) = &trip.outcome {
//!         eprintln!("the downgrade of {} leaves: {}", trip.revision, left.join("; "));
//!     }
//! }
//! assert!(report.is_ok());
//! # Ok(()) }
//! ```
//!
//! # Deploying
//!
//! Replicas that do not migrate call [`Migrations::wait_until_current`];
//! `-- migrate:phase: expand|backfill|contract` in a header and
//! [`Migrator::phase`] split a deploy in three: a self-migrating binary runs
//! `Phase::Expand` at start-up, a job runs the backfills (batched, each batch
//! committed with its progress; in a Rust revision through [`backfill`]),
//! and the contract revisions run last. Every history row stores its
//! downgrade, so an older build can go back
//! ([`Migrator::use_stored_downgrade`]); [`Migrator::ddl_lock_timeout`],
//! [`Migrator::statement_timeout`] and [`Migrator::lock_attempts`] (or
//! `-- migrate:lock-timeout: 5s` in a header) guard each statement; a
//! migration that could not be rolled back resumes from its failed
//! statement ([`Migrator::resolve_retry`]). See the README's "Deploying",
//! `docs/deploying.md` and `examples/three_phase.rs`.
//!
//! # Naming revisions in code
//!
//! [`revisions!`] defines, in the module you write it in, one
//! `pub const NAME: &str` a revision, named from its file
//! (`ae1027a6acf0_add_account_email.sql`: `ADD_ACCOUNT_EMAIL =
//! "ae1027a6acf0"`; two files with one name get their ids, `NAME_<ID>`), and
//! `HEAD`. A renamed or deleted file breaks the build of the code that names
//! it, not a deploy. [`Migrations::require`] checks that a revision is
//! applied, changing nothing ([`Error::NotApplied`] names it and the
//! database's applied heads); [`Migrations::head`] is the head's id.
//!
//! ```no_run
//! static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("migrations");
//!
//! mod revisions {
//!     migrate::revisions!("migrations");
//! }
//!
//! /// Constants: usable in `const` items and patterns.
//! const NEEDS: &str = revisions::ADD_ACCOUNT_EMAIL;
//!
//! # async fn run(pool: &migrate::sqlx::SqlitePool) -> Result<(), migrate::Error> {
//! // A replica that does not migrate refuses to start below what it reads.
//! MIGRATIONS.require(pool, NEEDS).await?;
//! // A target the compiler checks.
//! MIGRATIONS.upgrade(pool, revisions::MERGE_EMAIL_AND_AUDIT_LOG).await?;
//! assert_eq!(MIGRATIONS.head(), Some(revisions::HEAD));
//! # Ok(()) }
//! ```
//!
//! # Testing: a fresh database per test
//!
//! [`#[migrate::test]`](test) runs an async test on a database of its own with
//! the migrations applied, given as its one argument (`SqlitePool`, `PgPool`,
//! `MySqlPool`, or `SqliteConnection`, `PgConnection`, `MySqlConnection`, by
//! value; the database is read from the type as written). The migrations are
//! `crate::MIGRATIONS`, a `static MIGRATIONS: migrate::Migrations` at the crate
//! root (in an integration test, the test file), unless `migrations = PATH`
//! names another static:
//!
//! ```no_run
//! static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("migrations");
//!
//! #[migrate::test]
//! async fn starts_empty(pool: migrate::sqlx::SqlitePool) {
//!     let n: i64 = migrate::sqlx::query_scalar("SELECT COUNT(*) FROM account")
//!         .fetch_one(&pool)
//!         .await
//!         .unwrap();
//!     assert_eq!(n, 0);
//! }
//! # fn main() {}
//! ```
//!
//! Alone it makes a `#[test]` on a current-thread tokio runtime; written above
//! `#[tokio::test(…)]`, it runs under that runtime. SQLite migrates once per
//! process and copies the file per test; PostgreSQL builds a template database
//! per digest of the list once (under an advisory lock, reused by later runs)
//! and clones it with `CREATE DATABASE … TEMPLATE`; MySQL/MariaDB migrates a
//! template under `GET_LOCK` and copies its tables and rows (or migrates each
//! database when the template has views, triggers, routines or events). The
//! server is `MIGRATE_TEST_POSTGRES_URL` / `MIGRATE_TEST_MYSQL_URL`, else
//! `DATABASE_URL` when it is of that database, else the local server
//! (`postgres://postgres@127.0.0.1:5432/postgres`, `mysql://root@127.0.0.1:3306`).
//! A passing test's database is dropped; a failing test's is kept, marked, and
//! its name printed to stderr; the first test of a later run drops leftovers
//! older than an hour, and those of killed runs. See [`testing`] and the
//! README's "A fresh database per test".
//!
//! # Errors
//!
//! Every call returns [`Error`], which says what failed, for which revision
//! and file, with the database's own message as its
//! [`source`](std::error::Error::source), and what was already done.
//! Nothing is half-written: a failed migration that ran in a transaction is
//! rolled back with its history row.

/// A table lock by name, as a rehearsal reports it and `-- migrate:max-lock:` budgets it.
pub use migrate_core::TableLock;
pub use migrate_core::{
    Backfill, Checksum, Diagnostic, DiagnosticKind, Diagnostics, Direction, Directives, HistoryProblem, Migration,
    MigrationParts, Phase, PlanError, State, Target, TargetError,
};
pub use migrate_macros::{embed_migrations, revisions, test};
pub use migrate_runtime::{
    Applied, BackfillProgress, Connect, DEFAULT_LEASE_TTL, DEFAULT_LOCK_ATTEMPTS, DEFAULT_LOCK_TIMEOUT, DEFAULT_TABLE,
    Dialect, Driver, Error, ForeignKeyViolation, Handle, HistoryEntry, HistoryTable, IntoTarget, LeftBehind, LockMode,
    Migrations, Migrator, Progress, Rehearsal, RehearsedOn, RehearsedStatement, RehearsedStep, Report, Resolution,
    Result, RoundTrip, RoundTripOutcome, RoundTrips, SequenceAdvanced, Sets, StepOutcome, StepReport, TakenLock,
};
/// Rust revisions (`migrations/<revision>_<slug>.rs`): the connection their
/// functions receive and what they return (see `docs/runtime.md`).
pub use migrate_runtime::{BatchFuture, BatchResult, Connection, RustResult, WrongDatabase, backfill};
/// The sqlx version this crate runs on, so pools and connections match.
pub use sqlx;

/// The embedded `db` subcommand and the rest of the `migrate` command line
/// (feature `cli`, off by default): [`cli::DbCommand`].
#[cfg(feature = "cli")]
pub use migrate_cli as cli;
/// Many databases or schemas migrated the same way, a bounded number at a time: [`fleet::each`], [`Migrator::upgrade_each`].
pub use migrate_runtime::fleet;
/// Offline SQL scripts: [`Migrations::script`] and its [`ScriptRange`](offline::ScriptRange).
pub use migrate_runtime::offline;
/// A fresh, migrated database per test (feature `testing`, off by default:
/// enable it in `[dev-dependencies]`): the support behind [`test`]
/// (`#[migrate::test]`), usable directly ([`testing::run`], [`testing::fresh`]).
#[cfg(feature = "testing")]
pub use migrate_runtime::testing;

/// Schemas read from live databases, compared, and written as migrations:
/// what `migrate revision --autogenerate`, `check --schema` and `schema dump`
/// are made of. `schema::read_schema` (feature `catalog`) reads a database's
/// catalog into a [`schema::Schema`]; [`schema::generate`] compares two and
/// writes the upgrade and downgrade between them.
pub mod schema {
    pub use migrate_core::schema::*;
    /// Reading a live database's catalog (feature `catalog`, off by default).
    #[cfg(feature = "catalog")]
    pub use migrate_runtime::catalog::{read_schema, run_script};
}

/// Reads and validates a migrations folder at run time, exactly as
/// [`embed_migrations!`] does at build time.
pub fn load(dir: impl AsRef<std::path::Path>) -> std::result::Result<Migrations, Diagnostics> {
    let dir = dir.as_ref();
    Migrations::load(dir, &dir.to_string_lossy())
}

#[doc(hidden)]
pub mod __private {
    pub use migrate_core::{Language, Migration, Phase, TableLock};
    pub use migrate_runtime::driver::BoxFuture;
    pub use migrate_runtime::rust::{RustFn, RustStep};
    #[cfg(feature = "testing")]
    pub use migrate_runtime::testing;

    /// Without the `testing` feature, `#[migrate::test]` expands to calls of
    /// these, which fail to compile with one message: enable the feature.
    #[cfg(not(feature = "testing"))]
    pub mod testing {
        use core::future::Future;
        use core::marker::PhantomData;
        use core::pin::Pin;
        use core::task::{Context, Poll};

        /// Implemented by nothing: what `#[migrate::test]` asks of its argument without the feature.
        #[diagnostic::on_unimplemented(
            message = "`#[migrate::test]` needs migrate's `testing` feature",
            label = "a database per test comes from `migrate::testing`, which this build of migrate leaves out",
            note = "enable it where migrate is a dev-dependency: `migrate = {{ version = \"…\", features = [\"testing\"] }}` in `[dev-dependencies]`"
        )]
        pub trait TestingFeature {}

        /// Never polled: the call that makes it does not compile.
        pub struct Disabled<R>(PhantomData<R>);

        impl<R> Future for Disabled<R> {
            type Output = R;

            fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<R> {
                Poll::Pending
            }
        }

        pub fn run<A, F, Fut, R>(_: &crate::Migrations, _: &str, _: F) -> Disabled<R>
        where
            A: TestingFeature,
            F: FnOnce(A) -> Fut,
            Fut: Future<Output = R>,
        {
            Disabled(PhantomData)
        }

        pub fn run_should_panic<A, F, Fut, R>(_: &crate::Migrations, _: &str, _: Option<&str>, _: F) -> Disabled<R>
        where
            A: TestingFeature,
            F: FnOnce(A) -> Fut,
            Fut: Future<Output = R>,
        {
            Disabled(PhantomData)
        }

        pub fn block_on<F: Future>(_: F) -> F::Output {
            unreachable!("`#[migrate::test]` does not compile without the `testing` feature")
        }
    }
}

/// The Rust examples of `README.md` and `docs/`, compiled (and, unless `no_run`, run) by
/// `cargo test --doc`, so the user's path and the guide cannot drift from the API.
/// `docs/command-line.md` embeds the `cli` feature's `db` subcommand.
#[cfg(doctest)]
mod doc_examples {
    #[doc = include_str!("../README.md")]
    struct Readme;
    #[doc = include_str!("../docs/runtime.md")]
    struct Runtime;
    #[doc = include_str!("../docs/deploying.md")]
    struct Deploying;
    #[doc = include_str!("../docs/testing.md")]
    struct Testing;
    #[doc = include_str!("../docs/autogenerate.md")]
    struct Autogenerate;
    #[doc = include_str!("../docs/squash.md")]
    struct Squash;
    #[cfg(feature = "cli")]
    #[doc = include_str!("../docs/command-line.md")]
    struct CommandLine;
}
