//! A fresh, migrated database per test: what `#[migrate::test]` calls.
//!
//! [`run`] makes the database ([`fresh`]), opens the test's argument on it
//! ([`TestArg`]), runs the body catching a panic, then drops the database if
//! the test passed, or keeps it and names it on stderr if it failed, and
//! re-raises the panic. Each database is made from a migrated copy rather
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
//! Databases are named `migrate_test_<unix seconds>_<pid>_<n>`. A run drops,
//! once per process and server, those older than an hour and, on a server on
//! this machine, those whose process is gone (a killed run); a failed test's
//! database is marked kept and lives until it is an hour old.

use crate::Migrations;
use crate::driver::BoxFuture;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a database left behind (by a killed run, or kept for a failed
/// test) survives before a later run drops it.
pub const KEEP_FOR: Duration = Duration::from_secs(3600);

/// The prefix of every per-test database (and SQLite file) name.
pub const PREFIX: &str = "migrate_test_";

/// The environment variable naming the PostgreSQL server for tests (before `DATABASE_URL`).
pub const POSTGRES_URL_VAR: &str = "MIGRATE_TEST_POSTGRES_URL";
/// The environment variable naming the MySQL/MariaDB server for tests (before `DATABASE_URL`).
pub const MYSQL_URL_VAR: &str = "MIGRATE_TEST_MYSQL_URL";
/// The server used when neither variable names one.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The server used when neither variable names one.
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// SQLite: a file per test.
    Sqlite,
    /// PostgreSQL: a database per test, cloned from a template.
    Postgres,
    /// MySQL or MariaDB: a database per test, copied from a template.
    MySql,
}

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

/// A database made for one test, migrated.
#[derive(Debug)]
pub struct Fresh {
    engine: Engine,
    /// The database name, or the SQLite file's path.
    name: String,
    /// The URL of the database (SQLite: `sqlite://<path>`).
    url: String,
    /// The server's URL (SQLite: empty).
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    server: String,
}

impl Fresh {
    /// Which database it is on.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The database's name (SQLite: the file's path).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL that reaches it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the database (SQLite: removes the file). Every connection to
    /// it should be closed first; on PostgreSQL, any left are terminated.
    pub async fn drop_database(self) -> Result<(), Error> {
        tracing::debug!(database = %self.name, "dropping the test database");
        match self.engine {
            Engine::Sqlite => {
                remove_sqlite(std::path::Path::new(&self.name));
                Ok(())
            }
            Engine::Postgres => postgres_drop(&self).await,
            Engine::MySql => mysql_drop(&self).await,
        }
    }

    /// Keeps the database for inspection, marked so that later runs leave it
    /// alone for [`KEEP_FOR`] (SQLite: a `<file>.kept` beside it); returns its name.
    pub async fn keep(self, test: &str) -> Result<String, Error> {
        match self.engine {
            Engine::Sqlite => sqlite_keep(&self, test),
            Engine::Postgres => postgres_keep(&self, test).await,
            Engine::MySql => mysql_keep(&self, test).await,
        }
    }
}

/// What a test function returns: `()` or a `Result`.
pub trait Outcome {
    /// Whether the test passed.
    fn passed(&self) -> bool;
}

impl Outcome for () {
    fn passed(&self) -> bool {
        true
    }
}

impl<T, E> Outcome for Result<T, E> {
    fn passed(&self) -> bool {
        self.is_ok()
    }
}

/// What a pool or connection the test is given closes when the test ends.
#[doc(hidden)]
pub enum Closer {
    /// Nothing to close: the body owned the connection and dropped it.
    None,
    /// A clone of the test's pool.
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    /// A clone of the test's pool.
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    /// A clone of the test's pool.
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
}

impl Closer {
    async fn close(self) {
        match self {
            Closer::None => {}
            #[cfg(feature = "sqlite")]
            Closer::Sqlite(p) => p.close().await,
            #[cfg(feature = "postgres")]
            Closer::Postgres(p) => p.close().await,
            #[cfg(feature = "mysql")]
            Closer::MySql(p) => p.close().await,
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// What a `#[migrate::test]` function can take: `SqlitePool`, `PgPool`,
/// `MySqlPool`, or `SqliteConnection`, `PgConnection`, `MySqlConnection`, by value.
#[diagnostic::on_unimplemented(
    message = "`#[migrate::test]` cannot give a test a `{Self}`",
    note = "take a `SqlitePool`, `PgPool`, `MySqlPool` or their connection types, with migrate's feature for that database enabled"
)]
pub trait TestArg: Sized + sealed::Sealed {
    /// The database it is of.
    const ENGINE: Engine;
    /// Opens it on the fresh database.
    #[doc(hidden)]
    fn open(fresh: &Fresh) -> BoxFuture<'_, Result<(Self, Closer), Error>>;
}

macro_rules! test_arg {
    ($feature:literal, $engine:ident, $pool:ty, $conn:ty, $closer:ident) => {
        #[cfg(feature = $feature)]
        impl sealed::Sealed for $pool {}
        #[cfg(feature = $feature)]
        impl TestArg for $pool {
            const ENGINE: Engine = Engine::$engine;
            fn open(fresh: &Fresh) -> BoxFuture<'_, Result<(Self, Closer), Error>> {
                Box::pin(async move {
                    let pool = <$pool>::connect(&fresh.url)
                        .await
                        .map_err(|e| fresh.connect_error(e))?;
                    Ok((pool.clone(), Closer::$closer(pool)))
                })
            }
        }
        #[cfg(feature = $feature)]
        impl sealed::Sealed for $conn {}
        #[cfg(feature = $feature)]
        impl TestArg for $conn {
            const ENGINE: Engine = Engine::$engine;
            fn open(fresh: &Fresh) -> BoxFuture<'_, Result<(Self, Closer), Error>> {
                Box::pin(async move {
                    let conn = <$conn as sqlx::Connection>::connect(&fresh.url)
                        .await
                        .map_err(|e| fresh.connect_error(e))?;
                    Ok((conn, Closer::None))
                })
            }
        }
    };
}
test_arg!("sqlite", Sqlite, sqlx::SqlitePool, sqlx::SqliteConnection, Sqlite);
test_arg!("postgres", Postgres, sqlx::PgPool, sqlx::PgConnection, Postgres);
test_arg!("mysql", MySql, sqlx::MySqlPool, sqlx::MySqlConnection, MySql);

impl Fresh {
    fn connect_error(&self, source: sqlx::Error) -> Error {
        Error::Connect {
            engine: self.engine,
            url: masked(&self.url),
            var: var_of(self.engine),
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
    match outcome {
        Ok(r) if r.passed() => {
            if let Err(e) = db.drop_database().await {
                tracing::warn!(error = %e, "the test passed but its database could not be dropped");
            }
            r
        }
        failed => {
            match db.keep(test).await {
                Ok(name) => eprintln!("#[migrate::test] {test} failed; its database is kept: {name}"),
                Err(e) => eprintln!("#[migrate::test] {test} failed; its database could not be marked kept: {e}"),
            }
            match failed {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
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
        match engine {
            #[cfg(feature = "sqlite")]
            Engine::Sqlite => sqlite::fresh(migrations).await,
            #[cfg(feature = "postgres")]
            Engine::Postgres => postgres::fresh(migrations).await,
            #[cfg(feature = "mysql")]
            Engine::MySql => mysql::fresh(migrations).await,
            #[allow(unreachable_patterns)]
            other => {
                let _ = migrations;
                Err(Error::NotCompiled(other))
            }
        }
    })
}

/// The server URL for `engine`: its `MIGRATE_TEST_*_URL`, else
/// `DATABASE_URL` when it is of that database, else the local default.
pub fn server_url(engine: Engine) -> String {
    let (schemes, default): (&[&str], &str) = match engine {
        Engine::Sqlite => return String::new(),
        Engine::Postgres => (&["postgres:", "postgresql:"], DEFAULT_POSTGRES_URL),
        Engine::MySql => (&["mysql:", "mariadb:"], DEFAULT_MYSQL_URL),
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
        Engine::MySql => MYSQL_URL_VAR,
    }
}

/// A URL with its password replaced by `***`.
fn masked(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((user, host)) if user.contains(':') => {
            let name = user.split(':').next().unwrap_or_default();
            format!("{scheme}://{name}:***@{host}{tail}")
        }
        _ => url.to_owned(),
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A name no other test, process or run uses.
fn unique_name() -> String {
    format!(
        "{PREFIX}{}_{}_{}",
        now_secs(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Whether a database (or file) named `name` is left over: older than
/// [`KEEP_FOR`], or, not kept and on this machine, made by a process that is gone.
fn is_stale(name: &str, kept: bool, local: bool) -> bool {
    let Some(rest) = name.strip_prefix(PREFIX) else {
        return false;
    };
    let mut parts = rest.splitn(3, '_');
    let (Some(Ok(secs)), Some(Ok(pid))) = (parts.next().map(str::parse::<u64>), parts.next().map(str::parse::<u32>))
    else {
        return false;
    };
    if now_secs().saturating_sub(secs) > KEEP_FOR.as_secs() {
        return true;
    }
    !kept && local && pid != std::process::id() && process_is_gone(pid)
}

/// Whether process `pid` has ended (known only where `/proc` is).
fn process_is_gone(pid: u32) -> bool {
    let proc = std::path::Path::new("/proc");
    proc.join("self").exists() && !proc.join(pid.to_string()).exists()
}

/// Whether a server at `host` is on this machine, so its databases' pids are ours to check.
#[allow(dead_code)]
fn is_local(host: &str) -> bool {
    host.is_empty() || host == "localhost" || host.starts_with("127.") || host == "::1" || host.starts_with('/')
}

/// Servers (or, for SQLite, the folder) already swept by this process.
static SWEPT: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Whether this process still has to sweep `key`; marks it swept.
fn first_sweep(key: &str) -> bool {
    let mut swept = SWEPT.lock().unwrap_or_else(|e| e.into_inner());
    if swept.iter().any(|k| k == key) {
        return false;
    }
    swept.push(key.to_owned());
    true
}

fn remove_sqlite(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

fn sqlite_keep(db: &Fresh, test: &str) -> Result<String, Error> {
    let marker = kept_marker(std::path::Path::new(&db.name));
    std::fs::write(&marker, format!("{test} failed\n")).map_err(|source| Error::File {
        what: "marking the failed test's database kept with",
        path: marker.clone(),
        source,
    })?;
    Ok(db.name.clone())
}

/// The file beside a kept SQLite database that says it is kept.
fn kept_marker(path: &std::path::Path) -> std::path::PathBuf {
    let mut marker = path.as_os_str().to_owned();
    marker.push(".kept");
    marker.into()
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::{Error, Fresh, PREFIX};
    use crate::Migrations;
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use std::path::{Path, PathBuf};

    /// The migrated file of each list this process has made, by digest.
    static TEMPLATES: tokio::sync::Mutex<Vec<(String, PathBuf)>> = tokio::sync::Mutex::const_new(Vec::new());

    fn folder() -> PathBuf {
        std::env::temp_dir().join("migrate-test")
    }

    pub(super) async fn fresh(migrations: &Migrations) -> Result<Fresh, Error> {
        let dir = folder();
        std::fs::create_dir_all(&dir).map_err(|source| Error::File {
            what: "creating the folder",
            path: dir.clone(),
            source,
        })?;
        if super::first_sweep("sqlite") {
            sweep(&dir);
        }
        let template = template(&dir, migrations).await?;
        let path = dir.join(format!("{}.db", super::unique_name()));
        std::fs::copy(&template, &path).map_err(|source| Error::File {
            what: "copying the migrated database to",
            path: path.clone(),
            source,
        })?;
        Ok(Fresh {
            engine: super::Engine::Sqlite,
            url: format!("sqlite://{}", path.display()),
            name: path.display().to_string(),
            server: String::new(),
        })
    }

    /// The migrated file of this list, `<dir>/migrate_tpl_<digest>.db`: made
    /// by the first process that needs it (migrated under a name of its own,
    /// then renamed into place, so a file under the template's name is always
    /// complete) and reused by every later test and process (nextest runs a
    /// process per test) until the migrations change.
    async fn template(dir: &Path, migrations: &Migrations) -> Result<PathBuf, Error> {
        let digest = migrations.applied_digest();
        let mut templates = TEMPLATES.lock().await;
        if let Some((_, path)) = templates.iter().find(|(d, _)| d == digest) {
            return Ok(path.clone());
        }
        let done = dir.join(format!("{}.db", super::template_name(migrations)));
        if let Ok(file) = std::fs::File::options().append(true).open(&done) {
            // Used now: the sweep leaves it alone for another day.
            let _ = file.set_modified(std::time::SystemTime::now());
            templates.push((digest.to_owned(), done.clone()));
            return Ok(done);
        }
        let path = dir.join(format!("{}_tpl.db", super::unique_name()));
        tracing::debug!(path = %path.display(), "migrating the SQLite template");
        let options = SqliteConnectOptions::new().filename(&path).create_if_missing(true);
        let sql = |source| Error::Sql {
            engine: super::Engine::Sqlite,
            what: format!("opening {}", path.display()),
            source,
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(sql)?;
        let migrated = migrations.upgrade(&pool, "head").await;
        // Closing the last connection checkpoints any WAL: the file alone is the database.
        pool.close().await;
        if let Err(e) = migrated {
            super::remove_sqlite(&path);
            return Err(Error::Migrate {
                database: path.display().to_string(),
                source: Box::new(e),
            });
        }
        // Another process may have renamed its own into place meanwhile: either is complete.
        std::fs::rename(&path, &done).map_err(|source| {
            super::remove_sqlite(&path);
            Error::File {
                what: "renaming the migrated template to",
                path: done.clone(),
                source,
            }
        })?;
        templates.push((digest.to_owned(), done.clone()));
        Ok(done)
    }

    /// Removes files left by runs that are gone or older than an hour, and
    /// templates no test has used for a day (those of older migrations).
    fn sweep(dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("migrate_tpl_") && name.ends_with(".db") {
                let unused = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > super::KEEP_FOR * 24);
                if unused {
                    super::remove_sqlite(&entry.path());
                }
                continue;
            }
            if !name.starts_with(PREFIX) || !name.ends_with(".db") {
                continue;
            }
            let marker = super::kept_marker(&entry.path());
            if super::is_stale(&name, marker.exists(), true) {
                tracing::debug!(file = %name, "removing a test database left by an earlier run");
                super::remove_sqlite(&entry.path());
                let _ = std::fs::remove_file(marker);
            }
        }
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::{Engine, Error, Fresh, PREFIX};
    use crate::Migrations;
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use sqlx::{AssertSqlSafe, Connection, PgConnection};
    use std::str::FromStr;

    pub(super) async fn admin(url: &str) -> Result<(PgConnection, PgConnectOptions), Error> {
        let options = PgConnectOptions::from_str(url).map_err(|source| Error::Url {
            engine: Engine::Postgres,
            url: super::masked(url),
            source,
        })?;
        let conn = PgConnection::connect_with(&options)
            .await
            .map_err(|source| Error::Connect {
                engine: Engine::Postgres,
                url: super::masked(url),
                var: super::POSTGRES_URL_VAR,
                source,
            })?;
        Ok((conn, options))
    }

    pub(super) async fn exec(conn: &mut PgConnection, sql: String) -> Result<(), Error> {
        sqlx::raw_sql(AssertSqlSafe(sql.clone()))
            .execute(&mut *conn)
            .await
            .map(drop)
            .map_err(|source| Error::Sql {
                engine: Engine::Postgres,
                what: format!("`{sql}`"),
                source,
            })
    }

    async fn strings(conn: &mut PgConnection, sql: &str) -> Result<Vec<(String, String)>, Error> {
        sqlx::query_as::<_, (String, String)>(AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut *conn)
            .await
            .map_err(|source| Error::Sql {
                engine: Engine::Postgres,
                what: format!("`{sql}`"),
                source,
            })
    }

    pub(super) async fn fresh(migrations: &Migrations) -> Result<Fresh, Error> {
        let server = super::server_url(Engine::Postgres);
        let (mut conn, options) = admin(&server).await?;
        if super::first_sweep(&server) {
            sweep(&mut conn, super::is_local(options.get_host())).await;
        }
        let template = super::template_name(migrations);
        exec(
            &mut conn,
            format!("SELECT pg_advisory_lock(hashtextextended('migrate:test-template:{template}', 0))"),
        )
        .await?;
        let built = build(&mut conn, &options, &template, migrations).await;
        // Released before any clone: the lock only guards building.
        let unlocked = exec(
            &mut conn,
            format!("SELECT pg_advisory_unlock(hashtextextended('migrate:test-template:{template}', 0))"),
        )
        .await;
        built?;
        unlocked?;
        let name = super::unique_name();
        clone(&mut conn, &name, &template).await?;
        let _ = conn.close().await;
        let url = with_database(&server, &name);
        Ok(Fresh {
            engine: Engine::Postgres,
            name,
            url,
            server,
        })
    }

    /// Builds the template unless a complete one (`datistemplate`) exists.
    async fn build(
        conn: &mut PgConnection,
        options: &PgConnectOptions,
        template: &str,
        migrations: &Migrations,
    ) -> Result<(), Error> {
        let state = strings(
            conn,
            &format!("SELECT datname::text, datistemplate::text FROM pg_database WHERE datname = '{template}'"),
        )
        .await?;
        match state.first().map(|(_, t)| t.as_str()) {
            Some("true") => return Ok(()),
            // A builder that was killed half-way.
            Some(_) => exec(conn, format!("DROP DATABASE {template} WITH (FORCE)")).await?,
            None => {}
        }
        tracing::info!(template, "building the PostgreSQL test template");
        exec(conn, format!("CREATE DATABASE {template}")).await?;
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options.clone().database(template))
            .await
            .map_err(|source| Error::Sql {
                engine: Engine::Postgres,
                what: format!("connecting to {template}"),
                source,
            })?;
        let migrated = migrations.upgrade(&pool, "head").await;
        // Cloning needs no other session on the template.
        pool.close().await;
        migrated.map_err(|e| Error::Migrate {
            database: template.to_owned(),
            source: Box::new(e),
        })?;
        exec(conn, format!("ALTER DATABASE {template} WITH IS_TEMPLATE true")).await
    }

    async fn clone(conn: &mut PgConnection, name: &str, template: &str) -> Result<(), Error> {
        let mut attempt = 0;
        loop {
            match exec(conn, format!("CREATE DATABASE {name} TEMPLATE {template}")).await {
                // "source database is being accessed by other users": someone
                // looked at the template; it goes away.
                Err(Error::Sql {
                    source: sqlx::Error::Database(e),
                    ..
                }) if e.code().as_deref() == Some("55006") && attempt < 50 => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                other => return other,
            }
        }
    }

    /// Drops the test databases earlier runs left.
    async fn sweep(conn: &mut PgConnection, local: bool) {
        let sql = format!(
            "SELECT datname::text, COALESCE(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE starts_with(datname, '{PREFIX}')"
        );
        let Ok(rows) = strings(conn, &sql).await else { return };
        for (name, comment) in rows {
            if super::is_stale(&name, comment.starts_with("migrate: kept"), local) {
                tracing::debug!(database = %name, "dropping a test database left by an earlier run");
                if let Err(e) = exec(conn, format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await {
                    tracing::debug!(error = %e, "another run may be dropping it");
                }
            }
        }
    }

    pub(super) fn with_database(server: &str, name: &str) -> String {
        super::url_with_database(server, name)
    }
}

/// `url` with its path (the database) replaced by `name`.
#[allow(dead_code)]
fn url_with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[start..].find('/') {
        Some(i) => &base[..start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

async fn postgres_drop(db: &Fresh) -> Result<(), Error> {
    #[cfg(feature = "postgres")]
    {
        let (mut conn, _) = postgres::admin(&db.server).await?;
        postgres::exec(&mut conn, format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", db.name)).await?;
        let _ = sqlx::Connection::close(conn).await;
        Ok(())
    }
    #[cfg(not(feature = "postgres"))]
    Err(Error::NotCompiled(db.engine))
}

async fn postgres_keep(db: &Fresh, test: &str) -> Result<String, Error> {
    #[cfg(feature = "postgres")]
    {
        let (mut conn, _) = postgres::admin(&db.server).await?;
        let note = format!("migrate: kept, {test} failed").replace('\'', "''");
        postgres::exec(&mut conn, format!("COMMENT ON DATABASE {} IS '{note}'", db.name)).await?;
        let _ = sqlx::Connection::close(conn).await;
        Ok(db.name.clone())
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = test;
        Err(Error::NotCompiled(db.engine))
    }
}

#[cfg(feature = "mysql")]
mod mysql {
    use super::{Engine, Error, Fresh, PREFIX};
    use crate::Migrations;
    use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
    use sqlx::{AssertSqlSafe, Connection, MySqlConnection};
    use std::str::FromStr;

    /// How each list's template is copied, read once per process.
    static PLANS: tokio::sync::Mutex<Vec<(String, Recipe)>> = tokio::sync::Mutex::const_new(Vec::new());

    /// How a test's database is made from the template.
    #[derive(Clone)]
    enum Recipe {
        /// The template's tables: name, `SHOW CREATE TABLE`, the columns to copy.
        Tables(Vec<(String, String, String)>),
        /// The template has what a table copy would lose: migrate each database.
        Migrate(String),
    }

    pub(super) async fn admin(url: &str) -> Result<(MySqlConnection, MySqlConnectOptions), Error> {
        let options = MySqlConnectOptions::from_str(url).map_err(|source| Error::Url {
            engine: Engine::MySql,
            url: super::masked(url),
            source,
        })?;
        let conn = MySqlConnection::connect_with(&options)
            .await
            .map_err(|source| Error::Connect {
                engine: Engine::MySql,
                url: super::masked(url),
                var: super::MYSQL_URL_VAR,
                source,
            })?;
        Ok((conn, options))
    }

    fn sql_error(sql: &str) -> impl FnOnce(sqlx::Error) -> Error + '_ {
        move |source| Error::Sql {
            engine: Engine::MySql,
            what: format!("`{sql}`"),
            source,
        }
    }

    pub(super) async fn exec(conn: &mut MySqlConnection, sql: String) -> Result<(), Error> {
        sqlx::raw_sql(AssertSqlSafe(sql.clone()))
            .execute(&mut *conn)
            .await
            .map(drop)
            .map_err(sql_error(&sql))
    }

    async fn rows<T>(conn: &mut MySqlConnection, sql: &str) -> Result<Vec<T>, Error>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::mysql::MySqlRow> + Send + Unpin,
    {
        sqlx::query_as::<_, T>(AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut *conn)
            .await
            .map_err(sql_error(sql))
    }

    pub(super) async fn fresh(migrations: &Migrations) -> Result<Fresh, Error> {
        let server = super::server_url(Engine::MySql);
        let (mut conn, options) = admin(&server).await?;
        if super::first_sweep(&server) {
            sweep(&mut conn, super::is_local(options.get_host())).await;
        }
        let template = super::template_name(migrations);
        let plan = plan(&mut conn, &options, &template, migrations).await?;
        let name = super::unique_name();
        exec(&mut conn, format!("CREATE DATABASE `{name}`")).await?;
        let _ = conn.close().await;
        let db = Fresh {
            engine: Engine::MySql,
            url: super::url_with_database(&server, &name),
            name,
            server,
        };
        let made = match plan {
            Recipe::Tables(tables) => copy(&options, &db.name, &template, &tables).await,
            Recipe::Migrate(why) => {
                tracing::debug!(why, "migrating the test database itself");
                migrate(&options, &db.name, migrations).await
            }
        };
        if let Err(e) = made {
            let _ = super::mysql_drop(&db).await;
            return Err(e);
        }
        Ok(db)
    }

    /// Migrates the template under `GET_LOCK` (one statement when it is up to
    /// date) and reads how to copy it, once per process.
    async fn plan(
        conn: &mut MySqlConnection,
        options: &MySqlConnectOptions,
        template: &str,
        migrations: &Migrations,
    ) -> Result<Recipe, Error> {
        let mut plans = PLANS.lock().await;
        if let Some((_, plan)) = plans.iter().find(|(t, _)| t == template) {
            return Ok(plan.clone());
        }
        let lock = format!("migrate:test-template:{template}");
        let got: Vec<(Option<i64>,)> = rows(conn, &format!("SELECT GET_LOCK('{lock}', 600)")).await?;
        if got.first().and_then(|r| r.0) != Some(1) {
            return Err(Error::Sql {
                engine: Engine::MySql,
                what: format!("GET_LOCK('{lock}', 600)"),
                source: sqlx::Error::Protocol("the lock was not granted".into()),
            });
        }
        let planned = build_and_read(conn, options, template, migrations).await;
        let _ = exec(conn, format!("DO RELEASE_LOCK('{lock}')")).await;
        let plan = planned?;
        plans.push((template.to_owned(), plan.clone()));
        Ok(plan)
    }

    async fn build_and_read(
        conn: &mut MySqlConnection,
        options: &MySqlConnectOptions,
        template: &str,
        migrations: &Migrations,
    ) -> Result<Recipe, Error> {
        exec(conn, format!("CREATE DATABASE IF NOT EXISTS `{template}`")).await?;
        if let Err(first) = migrate(options, template, migrations).await {
            // A builder killed half-way leaves a history the migrator refuses: start again.
            tracing::info!(error = %first, template, "rebuilding the MySQL test template");
            exec(conn, format!("DROP DATABASE `{template}`")).await?;
            exec(conn, format!("CREATE DATABASE `{template}`")).await?;
            migrate(options, template, migrations).await?;
        }
        let others: Vec<(String, i64)> = rows(
            conn,
            &format!(
                "SELECT 'views', COUNT(*) FROM information_schema.views WHERE table_schema = '{template}' \
                 UNION ALL SELECT 'triggers', COUNT(*) FROM information_schema.triggers WHERE trigger_schema = '{template}' \
                 UNION ALL SELECT 'routines', COUNT(*) FROM information_schema.routines WHERE routine_schema = '{template}' \
                 UNION ALL SELECT 'events', COUNT(*) FROM information_schema.events WHERE event_schema = '{template}'"
            ),
        )
        .await?;
        if let Some((what, _)) = others.iter().find(|(_, n)| *n > 0) {
            return Ok(Recipe::Migrate(format!("the template has {what}")));
        }
        let tables: Vec<(String,)> = rows(
            conn,
            &format!(
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = '{template}' AND table_type = 'BASE TABLE' ORDER BY table_name"
            ),
        )
        .await?;
        let mut copied = Vec::new();
        for (table,) in tables {
            let created: Vec<(String, String)> =
                rows(conn, &format!("SHOW CREATE TABLE `{template}`.`{table}`")).await?;
            let columns: Vec<(String,)> = rows(
                conn,
                &format!(
                    "SELECT CAST(column_name AS CHAR) FROM information_schema.columns WHERE table_schema = '{template}' AND table_name = '{table}' \
                     AND extra NOT LIKE '%GENERATED%' AND extra NOT LIKE '%PERSISTENT%' ORDER BY ordinal_position"
                ),
            )
            .await?;
            let columns = columns
                .iter()
                .map(|(c,)| format!("`{}`", c.replace('`', "``")))
                .collect::<Vec<_>>()
                .join(", ");
            if let Some((_, ddl)) = created.into_iter().next() {
                copied.push((table, ddl, columns));
            }
        }
        Ok(Recipe::Tables(copied))
    }

    async fn migrate(options: &MySqlConnectOptions, database: &str, migrations: &Migrations) -> Result<(), Error> {
        let pool = MySqlPoolOptions::new()
            .max_connections(2)
            .connect_with(options.clone().database(database))
            .await
            .map_err(sql_error(&format!("connecting to {database}")))?;
        let migrated = migrations.upgrade(&pool, "head").await;
        pool.close().await;
        migrated.map(drop).map_err(|e| Error::Migrate {
            database: database.to_owned(),
            source: Box::new(e),
        })
    }

    /// The template's tables and rows into `name`, foreign keys checked off while copying.
    async fn copy(
        options: &MySqlConnectOptions,
        name: &str,
        template: &str,
        tables: &[(String, String, String)],
    ) -> Result<(), Error> {
        let mut conn = MySqlConnection::connect_with(&options.clone().database(name))
            .await
            .map_err(sql_error(&format!("connecting to {name}")))?;
        exec(
            &mut conn,
            "SET SESSION foreign_key_checks = 0, SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')"
                .into(),
        )
        .await?;
        for (_, ddl, _) in tables {
            exec(&mut conn, ddl.clone()).await?;
        }
        for (table, _, columns) in tables {
            if !columns.is_empty() {
                exec(
                    &mut conn,
                    format!("INSERT INTO `{table}` ({columns}) SELECT {columns} FROM `{template}`.`{table}`"),
                )
                .await?;
            }
        }
        let _ = conn.close().await;
        Ok(())
    }

    /// Drops the test databases earlier runs left.
    async fn sweep(conn: &mut MySqlConnection, local: bool) {
        let sql = format!(
            "SELECT CAST(s.schema_name AS CHAR), EXISTS(SELECT 1 FROM information_schema.tables t WHERE t.table_schema = s.schema_name AND t.table_name = 'migrate_kept') \
             FROM information_schema.schemata s WHERE s.schema_name LIKE '{}%'",
            PREFIX.replace('_', "\\_")
        );
        let Ok(found) = rows::<(String, i64)>(conn, &sql).await else {
            return;
        };
        for (name, kept) in found {
            if super::is_stale(&name, kept != 0, local) {
                tracing::debug!(database = %name, "dropping a test database left by an earlier run");
                if let Err(e) = exec(conn, format!("DROP DATABASE IF EXISTS `{name}`")).await {
                    tracing::debug!(error = %e, "another run may be dropping it");
                }
            }
        }
    }
}

async fn mysql_drop(db: &Fresh) -> Result<(), Error> {
    #[cfg(feature = "mysql")]
    {
        let (mut conn, _) = mysql::admin(&db.server).await?;
        mysql::exec(&mut conn, format!("DROP DATABASE IF EXISTS `{}`", db.name)).await?;
        let _ = sqlx::Connection::close(conn).await;
        Ok(())
    }
    #[cfg(not(feature = "mysql"))]
    Err(Error::NotCompiled(db.engine))
}

async fn mysql_keep(db: &Fresh, test: &str) -> Result<String, Error> {
    #[cfg(feature = "mysql")]
    {
        let (mut conn, _) = mysql::admin(&db.server).await?;
        let note = format!("{test} failed").replace('\\', "\\\\").replace('\'', "''");
        mysql::exec(
            &mut conn,
            format!(
                "CREATE TABLE `{0}`.migrate_kept (note VARCHAR(1000)); INSERT INTO `{0}`.migrate_kept VALUES ('{note}')",
                db.name
            ),
        )
        .await?;
        let _ = sqlx::Connection::close(conn).await;
        Ok(db.name.clone())
    }
    #[cfg(not(feature = "mysql"))]
    {
        let _ = test;
        Err(Error::NotCompiled(db.engine))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_urls() {
        assert_eq!(masked("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(masked("mysql://root@h"), "mysql://root@h");
        assert_eq!(
            url_with_database("postgres://u@h:5432/test?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(url_with_database("mysql://root@h:3306", "x"), "mysql://root@h:3306/x");
        let fresh = unique_name();
        assert!(!is_stale(&fresh, false, true), "{fresh}");
        let old = format!("{PREFIX}{}_{}_0", now_secs() - 7200, std::process::id());
        assert!(is_stale(&old, true, false));
        assert!(!is_stale("migrate_tpl_00_0", false, true));
    }
}
