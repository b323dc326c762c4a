//! Rust revisions at run time: the [`Connection`] their functions receive,
//! the [`RustResult`] they return, and the function pointers
//! `embed_migrations!` hands over for each ([`RustStep`]).
//!
//! A Rust revision runs where a SQL step would (`driver::rust_step`), with
//! the same history row, lock, retries, timeouts and failure states; only
//! a list embedded by `embed_migrations!` carries its functions, so a list
//! read from a folder at run time (the standalone command line) stops before
//! it with [`Error::RustNotEmbedded`](crate::Error::RustNotEmbedded).
//!
//! A Rust revision of phase backfill hands [`backfill`] a closure that runs
//! one range of the key at a time, each in its own transaction committed
//! with the revision's progress (`driver::rust_backfill`).

use crate::driver::{Backend, BoxFuture};
use migrate_core::Direction;
use std::fmt;
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;

/// What a Rust revision's `upgrade` and `downgrade` return: any error
/// (`?` works on sqlx's errors, [`WrongDatabase`], `std::io::Error`, a
/// `String`...). An error fails the step as a SQL statement's error does:
/// [`Error::Migration`](crate::Error::Migration), naming the revision and
/// its file. A sqlx error is kept as it is, so a lock timeout is retried
/// like a SQL step's.
pub type RustResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// A Rust revision's function, as `embed_migrations!` points at it: the
/// user's `async fn`, its future boxed.
pub type RustFn = for<'a, 'c> fn(&'a mut Connection<'c>) -> BoxFuture<'a, RustResult>;

/// What a backfill's batch returns: the number of rows it changed (counted
/// in the revision's progress and on the progress bar), or any error, which
/// rolls the batch back and fails the step as a SQL batch's error does.
pub type BatchResult = Result<u64, Box<dyn std::error::Error + Send + Sync>>;

/// The future a backfill's batch closure returns: `Box::pin(async move { … })`.
pub type BatchFuture<'c> = Pin<Box<dyn Future<Output = BatchResult> + Send + 'c>>;

/// A backfill's batch closure, as the runtime calls it.
pub(crate) type BatchFn<'f> = dyn for<'c, 'd> FnMut(&'c mut Connection<'d>, Range<i64>) -> BatchFuture<'c> + Send + 'f;

/// Runs a Rust backfill revision's batches: `batch` is called for each
/// range `[start, end)` of the key named by the revision's
/// `//! migrate:backfill: TABLE.KEY batch=N` header, from the key's minimum
/// to its maximum (read once, when the backfill begins), with the batch's
/// connection inside the batch's own transaction. Each batch commits with
/// the revision's progress in its history row, so a run killed part-way
/// resumes after the last committed batch and never runs one twice; the
/// run's pause between batches and its maximum duration
/// ([`Migrator::batch_pause`](crate::Migrator::batch_pause),
/// [`Migrator::max_duration`](crate::Migrator::max_duration), the command
/// line's `--batch-pause` and `--max-duration`) apply as to a SQL backfill.
///
/// Call it once, as the last thing the revision's `upgrade` does, and
/// return what it returns: when the run's time is up it returns `Ok(())`
/// between two batches, the revision left in progress (`backfilling`) for
/// the next upgrade to resume. The closure returns the rows it changed.
///
/// ```text
/// //! fill account.email_lower
/// //!
/// //! revision: 5c0ffee00002
/// //! down_revision: 5c0ffee00001
/// //! migrate:phase: backfill
/// //! migrate:backfill: account.id batch=10000
///
/// use migrate::sqlx::query;
///
/// pub async fn upgrade(conn: &mut migrate::Connection<'_>) -> migrate::RustResult {
///     migrate::backfill(conn, |conn, range| {
///         Box::pin(async move {
///             let done = query("UPDATE account SET email_lower = lower(email) WHERE id >= $1 AND id < $2")
///                 .bind(range.start)
///                 .bind(range.end)
///                 .execute(conn.postgres()?)
///                 .await?;
///             Ok(done.rows_affected())
///         })
///     })
///     .await
/// }
/// ```
///
/// Called anywhere else (a revision without the header, a task the
/// revision spawned, twice in one upgrade) it returns an error, and the
/// step fails naming the revision.
pub async fn backfill<F>(conn: &mut Connection<'_>, mut batch: F) -> RustResult
where
    F: for<'c> FnMut(&'c mut Connection<'_>, Range<i64>) -> BatchFuture<'c> + Send,
{
    crate::driver::fill_rust(conn, &mut batch).await
}

/// The step's own connection, handed to a Rust revision's functions: inside
/// the step's transaction where it has one (SQLite and PostgreSQL; on
/// MySQL/MariaDB, and for a `//! migrate:no-transaction` revision, the
/// history row is marked in progress first, as for a SQL step run statement
/// by statement).
///
/// An application migrates one database, so it asks for that one:
///
/// ```text
/// use migrate::sqlx::query;
///
/// pub async fn upgrade(conn: &mut migrate::Connection<'_>) -> migrate::RustResult {
///     // `?` on a `WrongDatabase` error, were it run on another database.
///     query("UPDATE account SET name = lower(name)").execute(conn.postgres()?).await?;
///     Ok(())
/// }
/// ```
///
/// An application that runs one folder on several databases matches on it
/// (or calls [`Connection::sqlite`], ... each in turn), or keeps to what
/// reads the same everywhere.
#[derive(Debug)]
#[non_exhaustive]
pub enum Connection<'c> {
    /// A SQLite connection.
    #[cfg(feature = "sqlite")]
    Sqlite(&'c mut sqlx::SqliteConnection),
    /// A PostgreSQL connection.
    #[cfg(feature = "postgres")]
    Postgres(&'c mut sqlx::PgConnection),
    /// A MySQL or MariaDB connection.
    #[cfg(feature = "mysql")]
    MySql(&'c mut sqlx::MySqlConnection),
    #[doc(hidden)]
    __Unreachable(std::convert::Infallible, std::marker::PhantomData<&'c mut ()>),
}

/// A Rust revision asked its [`Connection`] for a database it is not on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this revision asked for a {wanted} connection, but it runs on {actual}")]
pub struct WrongDatabase {
    /// The database asked for.
    pub wanted: &'static str,
    /// The database it runs on.
    pub actual: &'static str,
}

impl Connection<'_> {
    /// The database it is, as messages name it.
    pub fn database(&self) -> &'static str {
        match self {
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(_) => "SQLite",
            #[cfg(feature = "postgres")]
            Connection::Postgres(_) => "PostgreSQL",
            #[cfg(feature = "mysql")]
            Connection::MySql(_) => "MySQL/MariaDB",
            Connection::__Unreachable(never, _) => match *never {},
        }
    }

    /// The connection as the runtime's backend.
    pub(crate) fn backend(&mut self) -> &mut dyn Backend {
        match self {
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(c) => &mut **c,
            #[cfg(feature = "postgres")]
            Connection::Postgres(c) => &mut **c,
            #[cfg(feature = "mysql")]
            Connection::MySql(c) => &mut **c,
            Connection::__Unreachable(never, _) => match *never {},
        }
    }

    fn wrong(&self, wanted: &'static str) -> WrongDatabase {
        WrongDatabase {
            wanted,
            actual: self.database(),
        }
    }

    /// The SQLite connection, on which sqlx's queries run.
    #[cfg(feature = "sqlite")]
    pub fn sqlite(&mut self) -> Result<&mut sqlx::SqliteConnection, WrongDatabase> {
        match self {
            Connection::Sqlite(c) => Ok(c),
            other => Err(other.wrong("SQLite")),
        }
    }

    /// The PostgreSQL connection, on which sqlx's queries run.
    #[cfg(feature = "postgres")]
    pub fn postgres(&mut self) -> Result<&mut sqlx::PgConnection, WrongDatabase> {
        match self {
            Connection::Postgres(c) => Ok(c),
            other => Err(other.wrong("PostgreSQL")),
        }
    }

    /// The MySQL or MariaDB connection, on which sqlx's queries run.
    #[cfg(feature = "mysql")]
    pub fn mysql(&mut self) -> Result<&mut sqlx::MySqlConnection, WrongDatabase> {
        match self {
            Connection::MySql(c) => Ok(c),
            other => Err(other.wrong("MySQL/MariaDB")),
        }
    }
}

/// A Rust revision's functions, as `embed_migrations!` lists them beside
/// the migrations. Not public API.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct RustStep {
    /// The revision id.
    pub revision: &'static str,
    /// Its `upgrade`.
    pub upgrade: RustFn,
    /// Its `downgrade`, if it has one.
    pub downgrade: Option<RustFn>,
}

impl fmt::Debug for RustStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RustStep")
            .field("revision", &self.revision)
            .field("downgrade", &self.downgrade.is_some())
            .finish_non_exhaustive()
    }
}

/// What runs a Rust revision's function as a step (`driver::run_rust`).
pub(crate) type Runner = for<'a> fn(
    &'a mut dyn Backend,
    &'a crate::driver::Settings,
    crate::driver::Step<'a>,
    RustFn,
    Option<usize>,
) -> BoxFuture<'a, crate::Result<()>>;

/// The Rust revisions' functions a list carries, and what runs them: a list
/// holds the runner only when it has Rust revisions, so an application
/// whose history has none links none of it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Embedded {
    pub(crate) steps: &'static [RustStep],
    pub(crate) run: Option<Runner>,
}

impl Embedded {
    /// No Rust revision (a list read at run time).
    pub(crate) const NONE: Embedded = Embedded { steps: &[], run: None };

    /// `steps`, with the runner where there is one.
    pub(crate) const fn of(steps: &'static [RustStep]) -> Embedded {
        Embedded {
            steps,
            run: if steps.is_empty() {
                None
            } else {
                Some(crate::driver::rust_runner)
            },
        }
    }

    /// The function of `revision` in `direction`, with its runner.
    pub(crate) fn function(&self, revision: &str, direction: Direction) -> Option<Bound> {
        let step = self.steps.iter().find(|s| s.revision == revision)?;
        let f = match direction {
            Direction::Upgrade => step.upgrade,
            Direction::Downgrade => step.downgrade?,
        };
        Some(Bound { f, run: self.run? })
    }
}

/// A Rust revision's function in one direction, and what runs it.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Bound {
    pub(crate) f: RustFn,
    pub(crate) run: Runner,
}

impl fmt::Debug for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bound")
    }
}

/// A Rust revision's error as the step's failure carries it: a sqlx error as
/// it is (so lock timeouts and conflicts are seen), any other by its message
/// and the messages of its sources.
pub(crate) fn into_sqlx(e: Box<dyn std::error::Error + Send + Sync>) -> sqlx::Error {
    match e.downcast::<sqlx::Error>() {
        Ok(e) => *e,
        Err(e) => {
            let mut text = e.to_string();
            let mut source = e.source();
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            sqlx::Error::InvalidArgument(text)
        }
    }
}
