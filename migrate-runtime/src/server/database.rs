//! [`Database`]: whatever database a URL names, opened, as one value that
//! every runtime call takes through [`Connect`], whichever backend it is.

use super::{Error, url};
use crate::dialect::Dialect;
use crate::driver::{BoxFuture, Driver, Handle};
use crate::migrator::Connect;
use std::time::Duration;

/// A database a URL names, opened: SQLite as one connection, a server as a
/// pool of two connections (so that a run can watch a lock wait or renew its
/// lease from the second), reached once first on a plain connection so that
/// a wrong URL or a server that is down fails at once.
///
/// Every call that takes a connection takes `&mut Database`:
///
/// ```no_run
/// # async fn run(migrations: &migrate_runtime::Migrations) -> Result<(), Box<dyn std::error::Error>> {
/// use migrate_runtime::server::{Database, OpenOptions};
/// let mut db = Database::open("postgres://app@db/app", &OpenOptions::new()).await?;
/// migrations.upgrade(&mut db, "head").await?;
/// db.close().await;
/// # Ok(()) }
/// ```
pub struct Database {
    dialect: Dialect,
    inner: Box<dyn Opened>,
}

/// How long [`Database::open`] and [`connect`](super::connect) wait for a
/// server to accept the connection and answer its handshake, unless told
/// otherwise ([`OpenOptions::connect_timeout`]).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How [`Database::open`] opens a URL.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    pub(super) create: bool,
    pub(super) search_path: Option<String>,
    pub(super) connect_timeout: Option<Duration>,
}

impl OpenOptions {
    /// The defaults: an existing database, the server's own search path,
    /// [`DEFAULT_CONNECT_TIMEOUT`].
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// How long connecting may take, the handshake included, before
    /// [`Error::ConnectTimeout`]: for the first connection and for each one
    /// the pool opens later (default [`DEFAULT_CONNECT_TIMEOUT`]). A server
    /// that accepts the connection and never answers fails after it instead
    /// of hanging.
    pub fn connect_timeout(mut self, timeout: Duration) -> OpenOptions {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The connect timeout in force.
    pub(super) fn timeout(&self) -> Duration {
        self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT)
    }

    /// A missing SQLite file is created (unless the URL says a `mode=`).
    pub fn create_if_missing(mut self) -> OpenOptions {
        self.create = true;
        self
    }

    /// PostgreSQL: every connection's `search_path` is `schema`.
    pub fn search_path(mut self, schema: &str) -> OpenOptions {
        self.search_path = Some(schema.to_owned());
        self
    }
}

impl Database {
    /// Opens the database `url` names (`sqlite:`, `postgres://`, `mysql://`
    /// or `mariadb://`), with the backends this build has.
    /// Connecting gives up after the [connect timeout](OpenOptions::connect_timeout).
    pub async fn open(url: &str, options: &OpenOptions) -> Result<Database, Error> {
        within(url, options.timeout(), super::engine(url)?.open(url, options)).await
    }

    /// Which database it is.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Closes its connections.
    pub async fn close(self) {
        self.inner.close().await;
    }

    pub(super) fn new(dialect: Dialect, inner: impl Opened + 'static) -> Database {
        Database {
            dialect,
            inner: Box::new(inner),
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("dialect", &self.dialect).finish()
    }
}

/// What a backend's opened database does: lend the runtime a connection, and close.
pub(super) trait Opened: Send {
    fn handle(&mut self) -> BoxFuture<'_, crate::Result<Box<dyn Handle + '_>>>;

    fn close(self: Box<Self>) -> BoxFuture<'static, ()>;
}

impl<DB: Driver> Opened for sqlx::Pool<DB>
where
    for<'c> &'c sqlx::Pool<DB>: Connect<'c>,
{
    fn handle(&mut self) -> BoxFuture<'_, crate::Result<Box<dyn Handle + '_>>> {
        Connect::connect(&*self)
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move { sqlx::Pool::close(&self).await })
    }
}

impl crate::driver::sealed::Sealed for &mut Database {}

impl<'c> Connect<'c> for &'c mut Database {
    fn connect(self) -> BoxFuture<'c, crate::Result<Box<dyn Handle + 'c>>> {
        self.inner.handle()
    }
}

/// The error for a URL that does not parse.
pub(super) fn url_error(url: &str) -> impl FnOnce(sqlx::Error) -> Error + '_ {
    move |source| Error::Url {
        url: url::masked(url),
        source,
    }
}

/// The error for a server that cannot be reached.
pub(super) fn connect_error(url: &str) -> impl FnOnce(sqlx::Error) -> Error + '_ {
    move |source| Error::Connect {
        url: url::masked(url),
        source,
    }
}

/// `connecting`, given up after `timeout` with [`Error::ConnectTimeout`]:
/// a server that accepts TCP and never answers the handshake would
/// otherwise keep the caller waiting for ever.
pub(super) async fn within<T>(
    url: &str,
    timeout: Duration,
    connecting: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match tokio::time::timeout(timeout, connecting).await {
        Ok(done) => done,
        Err(_) => Err(Error::ConnectTimeout {
            url: url::masked(url),
            timeout,
        }),
    }
}

/// A pool of two connections to a server, reached once first on a plain
/// connection: a pool would retry a refused connection until its timeout.
/// Each connection the pool opens later waits at most `timeout` too.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(super) async fn reached_pool<DB: Driver>(
    url: &str,
    options: <DB::Connection as sqlx::Connection>::Options,
    pool: sqlx::pool::PoolOptions<DB>,
    timeout: Duration,
) -> Result<sqlx::Pool<DB>, Error> {
    let conn = <DB::Connection as sqlx::Connection>::connect_with(&options)
        .await
        .map_err(connect_error(url))?;
    let _ = sqlx::Connection::close(conn).await;
    Ok(pool
        .max_connections(2)
        .acquire_timeout(timeout)
        .connect_lazy_with(options))
}
