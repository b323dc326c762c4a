//! A fresh, migrated database per test (feature `testing`): what
//! `#[migrate::test]` calls.
//!
//! [`run`] makes the database ([`fresh`]), opens the test's argument on it
//! ([`TestArg`]), runs the body catching a panic, then drops the database if
//! the test passed, or keeps it and names it on stderr if it failed, and
//! re-raises the panic ([`run_should_panic`]: a `#[should_panic]` test
//! passes by panicking as it expects). Each database is made from a migrated copy rather
//! than by migrating again:
//!
//! - SQLite: the list is migrated once into `$TMPDIR/migrate-test/migrate_tpl_<digest>.db`
//!   (by the first process that needs it; renamed into place when complete),
//!   which each test, in any process, copies into a file of its own. A
//!   template no test has used for a day is removed.
//! - PostgreSQL: a template database per digest of the list,
//!   `migrate_tpl_<digest>`, is built once per server under an advisory lock
//!   (by whichever test gets there first, in any process) and marked
//!   `IS_TEMPLATE` when complete; each test clones it with `CREATE DATABASE …
//!   TEMPLATE`. It is reused by every later run until the migrations change.
//! - MySQL/MariaDB: there is no `TEMPLATE`; the template database is
//!   migrated under `GET_LOCK` (an up-to-date one costs the one digest
//!   statement), and each test's database gets its tables from the
//!   template's `SHOW CREATE TABLE` and their rows by `INSERT … SELECT`. A
//!   template with views, triggers, routines or events, which that copy would
//!   lose, makes each test migrate its own database instead.
//!
//! The databases are throw-away databases of [`server`]'s
//! kind [`TEST`](server::TEST), made, dropped, kept and swept as the
//! command line's scratch databases are: named `migrate_test_<unix
//! seconds>_<pid>_<n>`; a run drops, once per process and server, those older
//! than an hour and, on a server on this machine, those whose process is
//! gone (a killed run); a failed test's database is marked kept and lives
//! until it is an hour old.

mod arg;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use arg::{Closer, Outcome, TestArg};

use crate::Migrations;
#[cfg(any(feature = "postgres", feature = "mysql"))]
use crate::driver::Backend;
use crate::driver::BoxFuture;
use crate::server::{self, Ended, Throwaway};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

/// How long a database left behind (by a killed run, or kept for a failed
/// test) survives before a later run drops it.
pub const KEEP_FOR: std::time::Duration = server::KEEP_FOR;

/// The prefix of every per-test database (and SQLite file) name.
pub const PREFIX: &str = server::TEST.prefix();

/// The environment variable naming the PostgreSQL server for tests (before `DATABASE_URL`).
pub const POSTGRES_URL_VAR: &str = "MIGRATE_TEST_POSTGRES_URL";
/// The environment variable naming the MySQL/MariaDB server for tests (before `DATABASE_URL`).
pub const MYSQL_URL_VAR: &str = "MIGRATE_TEST_MYSQL_URL";
/// The server used when neither variable names one.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The server used when neither variable names one.
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306";

/// Which database a test runs on: the workspace's one [`Dialect`](crate::Dialect).
pub type Engine = crate::Dialect;

/// Why a fresh database could not be made or dropped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The test server could not be reached.
    #[error(
        "cannot connect to the {engine:?} test server at {url}: {source}; set {var} (or DATABASE_URL) to a server where this user may create databases"
    )]
    Connect {
        /// The database.
        engine: Engine,
        /// The URL, password masked.
        url: String,
        /// The variable that names it.
        var: &'static str,
        /// sqlx's error.
        #[source]
        source: sqlx::Error,
    },
    /// The URL does not parse.
    #[error("the {engine:?} test URL {url} does not parse: {source}")]
    Url {
        /// The database.
        engine: Engine,
        /// The URL, password masked.
        url: String,
        /// sqlx's error.
        #[source]
        source: sqlx::Error,
    },
    /// A statement of the test support failed.
    #[error("{what} on the {engine:?} test server failed: {source}")]
    Sql {
        /// The database.
        engine: Engine,
        /// What was being done.
        what: String,
        /// sqlx's error.
        #[source]
        source: sqlx::Error,
    },
    /// Migrating the template (or the test's database) failed.
    #[error("migrating {database} failed: {source}")]
    Migrate {
        /// The database being migrated.
        database: String,
        /// The migrator's error.
        #[source]
        source: Box<crate::Error>,
    },
    /// A file of the SQLite support could not be written or copied.
    #[error("{what} {}: {source}", .path.display())]
    File {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The database of the argument's type is not compiled in.
    #[error("{0:?} support is not compiled in: enable migrate's feature for it")]
    NotCompiled(Engine),
}

impl Error {
    /// A [`server::Error`] on `engine`'s test server, said as this module says it.
    fn of(engine: Engine, e: server::Error) -> Error {
        match e {
            server::Error::Connect { url, source } => Error::Connect {
                engine,
                url,
                var: var_of(engine),
                source,
            },
            server::Error::ConnectTimeout { url, timeout } => Error::Connect {
                engine,
                url,
                var: var_of(engine),
                source: sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer within {}", migrate_core::duration::display(timeout)),
                )),
            },
            server::Error::Url { url, source } => Error::Url { engine, url, source },
            server::Error::Statement { statement, source } => Error::Sql {
                engine,
                what: format!("`{statement}`"),
                source,
            },
            server::Error::File { what, path, source } => Error::File { what, path, source },
            server::Error::NotCompiled(engine) => Error::NotCompiled(engine),
            server::Error::UnknownScheme { url } => Error::Url {
                engine,
                source: sqlx::Error::Configuration(format!("{url} names no database").into()),
                url,
            },
        }
    }

    /// The error for a query of the support's own.
    fn sql(engine: Engine, what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> Error {
        let what = what.into();
        move |source| Error::Sql { engine, what, source }
    }
}

/// A database made for one test, migrated.
#[derive(Debug)]
pub struct Fresh {
    db: Throwaway,
}

impl Fresh {
    /// Which database it is on.
    pub fn engine(&self) -> Engine {
        self.db.dialect()
    }

    /// The database's name (SQLite: the file's path).
    pub fn name(&self) -> &str {
        self.db.location()
    }

    /// The URL that reaches it.
    pub fn url(&self) -> &str {
        self.db.url()
    }

    /// Drops the database (SQLite: removes the file). Every connection to
    /// it should be closed first; on PostgreSQL, any left are terminated.
    pub async fn drop_database(self) -> Result<(), Error> {
        let engine = self.engine();
        match self.db.finish(None).await {
            Ended::NotDropped(e) | Ended::NotKept(e) => Err(Error::of(engine, e)),
            Ended::Dropped | Ended::Kept(_) => Ok(()),
        }
    }

    /// Keeps the database for inspection, marked so that later runs leave it
    /// alone for [`KEEP_FOR`] (SQLite: a `<file>.kept` beside it); returns its name.
    pub async fn keep(self, test: &str) -> Result<String, Error> {
        let engine = self.engine();
        match self.db.finish(Some(&format!("{test} failed"))).await {
            Ended::Kept(name) => Ok(name),
            Ended::NotDropped(e) | Ended::NotKept(e) => Err(Error::of(engine, e)),
            Ended::Dropped => Ok(String::new()),
        }
    }

    /// The error for a connection to it that failed.
    fn connect_error(&self, source: sqlx::Error) -> Error {
        Error::Connect {
            engine: self.engine(),
            url: server::url::masked(self.url()),
            var: var_of(self.engine()),
            source,
        }
    }
}

/// Runs `body` on a fresh database migrated with `migrations`: drops the
/// database if the test passes, keeps it and prints its name to stderr if
/// it fails (panics or returns `Err`), then re-raises the panic. `test`
/// names the test in that message. Panics (failing the test) if the
/// database cannot be made.
pub async fn run<A, F, Fut, R>(migrations: &Migrations, test: &str, body: F) -> R
where
    A: TestArg,
    F: FnOnce(A) -> Fut,
    Fut: Future<Output = R>,
    R: Outcome,
{
    run_expecting(migrations, test, Expect::Pass, body).await
}

/// [`run`] for a `#[should_panic]` test: it passes when its body panics
/// (with a message containing `expected`, when given, as libtest checks
/// `#[should_panic(expected = "…")]`), so its database is then dropped;
/// one that returns without panicking fails and keeps its database.
pub async fn run_should_panic<A, F, Fut, R>(migrations: &Migrations, test: &str, expected: Option<&str>, body: F) -> R
where
    A: TestArg,
    F: FnOnce(A) -> Fut,
    Fut: Future<Output = R>,
    R: Outcome,
{
    run_expecting(migrations, test, Expect::Panic(expected), body).await
}

/// What a test must do to pass, as libtest judges it.
#[derive(Debug, Clone, Copy)]
enum Expect<'a> {
    /// Return (a result that is not `Err`) without panicking.
    Pass,
    /// Panic, with a message containing this text when given.
    Panic(Option<&'a str>),
}

impl Expect<'_> {
    /// Whether a test that gave `outcome` passed.
    fn passed<R: Outcome>(self, outcome: &std::thread::Result<R>) -> bool {
        match (self, outcome) {
            (Expect::Pass, Ok(r)) => r.passed(),
            (Expect::Pass, Err(_)) | (Expect::Panic(_), Ok(_)) => false,
            (Expect::Panic(None), Err(_)) => true,
            (Expect::Panic(Some(expected)), Err(payload)) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
                message.is_some_and(|m| m.contains(expected))
            }
        }
    }
}

async fn run_expecting<A, F, Fut, R>(migrations: &Migrations, test: &str, expect: Expect<'_>, body: F) -> R
where
    A: TestArg,
    F: FnOnce(A) -> Fut,
    Fut: Future<Output = R>,
    R: Outcome,
{
    let db = match fresh(A::ENGINE, migrations).await {
        Ok(db) => db,
        Err(e) => panic!("#[migrate::test] {test}: {e}"),
    };
    let (arg, closer) = match A::open(&db).await {
        Ok(opened) => opened,
        Err(e) => {
            let _ = db.drop_database().await;
            panic!("#[migrate::test] {test}: {e}");
        }
    };
    let outcome = CatchUnwind(Box::pin(body(arg))).await;
    closer.close().await;
    let failed = format!("{test} failed");
    let keep = if expect.passed(&outcome) {
        None
    } else {
        Some(failed.as_str())
    };
    match db.db.finish(keep).await {
        Ended::Dropped => {}
        Ended::NotDropped(e) => tracing::warn!(error = %e, "the test passed but its database could not be dropped"),
        Ended::Kept(name) => eprintln!("#[migrate::test] {test} failed; its database is kept: {name}"),
        Ended::NotKept(e) => eprintln!("#[migrate::test] {test} failed; its database could not be marked kept: {e}"),
    }
    match outcome {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Runs a test's future on a current-thread tokio runtime, as `#[tokio::test]` does.
pub fn block_on<F: Future>(future: F) -> F::Output {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt.block_on(future),
        Err(e) => panic!("#[migrate::test] cannot start a tokio runtime: {e}"),
    }
}

/// A future's output, or the panic that polling it raised.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = std::thread::Result<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// Makes a database for one test on `engine`, with `migrations` applied.
pub fn fresh<'a>(engine: Engine, migrations: &'a Migrations) -> BoxFuture<'a, Result<Fresh, Error>> {
    Box::pin(async move {
        let made = match engine {
            #[cfg(feature = "sqlite")]
            Engine::Sqlite => sqlite::fresh(migrations).await,
            #[cfg(feature = "postgres")]
            Engine::Postgres => postgres::fresh(migrations).await,
            #[cfg(feature = "mysql")]
            Engine::Mysql => mysql::fresh(migrations).await,
            #[allow(unreachable_patterns)]
            other => {
                let _ = migrations;
                Err(Error::NotCompiled(other))
            }
        };
        made.map(|db| Fresh { db })
    })
}

/// Connects to `engine`'s test server at `url`.
#[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
async fn connect(engine: Engine, url: &str) -> Result<Box<dyn server::Server>, Error> {
    server::connect(url).await.map_err(|e| Error::of(engine, e))
}

/// The server URL for `engine`: its `MIGRATE_TEST_*_URL`, else
/// `DATABASE_URL` when it is of that database, else the local default.
pub fn server_url(engine: Engine) -> String {
    let (schemes, default): (&[&str], &str) = match engine {
        Engine::Sqlite => return String::new(),
        Engine::Postgres => (&["postgres:", "postgresql:"], DEFAULT_POSTGRES_URL),
        Engine::Mysql => (&["mysql:", "mariadb:"], DEFAULT_MYSQL_URL),
    };
    if let Ok(url) = std::env::var(var_of(engine))
        && !url.is_empty()
    {
        return url;
    }
    match std::env::var("DATABASE_URL") {
        Ok(url) if schemes.iter().any(|s| url.starts_with(s)) => url,
        _ => default.to_owned(),
    }
}

/// The name of the template database (PostgreSQL, MySQL) of a list, and of
/// its SQLite template file (with `.db`).
pub fn template_name(migrations: &Migrations) -> String {
    // "set:<count>:<hex>": the XOR's first 80 bits and the count.
    let digest = migrations.applied_digest();
    let mut parts = digest.rsplit(':');
    let hex = parts.next().unwrap_or_default();
    let count = parts.next().unwrap_or_default();
    format!("migrate_tpl_{}_{count}", &hex[..hex.len().min(20)])
}

fn var_of(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "",
        Engine::Postgres => POSTGRES_URL_VAR,
        Engine::Mysql => MYSQL_URL_VAR,
    }
}

/// Migrates the database `pool` (just opened) is on with `migrations`, and closes the pool.
async fn migrate<DB: crate::Driver>(
    pool: Result<sqlx::Pool<DB>, sqlx::Error>,
    database: &str,
    migrations: &Migrations,
) -> Result<(), Error>
where
    for<'c> &'c sqlx::Pool<DB>: crate::Connect<'c>,
{
    let pool = pool.map_err(Error::sql(DB::DIALECT, format!("connecting to {database}")))?;
    let migrated = migrations.upgrade(&pool, "head").await;
    // Closing the last connection checkpoints SQLite's WAL, and leaves a
    // PostgreSQL template with no session to keep a clone waiting.
    pool.close().await;
    migrated.map(drop).map_err(|e| Error::Migrate {
        database: database.to_owned(),
        source: Box::new(e),
    })
}

/// The test server's own connection, for the support's statements.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn admin<'a>(engine: Engine, server: &'a mut dyn server::Server, sql: &str) -> Result<&'a mut dyn Backend, Error> {
    server.admin().ok_or_else(|| Error::Sql {
        engine,
        what: format!("`{sql}`"),
        source: sqlx::Error::Protocol("the server has no connection to run it on".into()),
    })
}

/// Runs `sql` on the test server.
#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn exec(engine: Engine, server: &mut dyn server::Server, sql: String) -> Result<(), Error> {
    let conn = admin(engine, server, &sql)?;
    server::execute(conn, sql).await.map_err(|e| Error::of(engine, e))
}

/// The rows of a query of the test server whose columns are all text.
#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn rows(engine: Engine, server: &mut dyn server::Server, sql: String) -> Result<Vec<Vec<Option<String>>>, Error> {
    let conn = admin(engine, server, &sql)?;
    server::rows(conn, sql).await.map_err(|e| Error::of(engine, e))
}
