//! [`Database`]: whatever database a URL names, opened, as one value that
//! every runtime call takes through [`Connect`], whichever backend it is.

use super::{Error, url};
use crate::dialect::Dialect;
use crate::driver::{BoxFuture, Driver, Handle};
use crate::migrator::Connect;

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

/// How [`Database::open`] opens a URL.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    pub(super) create: bool,
    pub(super) search_path: Option<String>,
}

impl OpenOptions {
    /// The defaults: an existing database, the server's own search path.
    pub fn new() -> OpenOptions {
        OpenOptions::default()
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
    pub async fn open(url: &str, options: &OpenOptions) -> Result<Database, Error> {
        super::engine(url)?.open(url, options).await
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

/// A pool of two connections to a server, reached once first on a plain
/// connection: a pool would retry a refused connection until its timeout.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(super) async fn reached_pool<DB: Driver>(
    url: &str,
    options: <DB::Connection as sqlx::Connection>::Options,
    pool: sqlx::pool::PoolOptions<DB>,
) -> Result<sqlx::Pool<DB>, Error> {
    let conn = <DB::Connection as sqlx::Connection>::connect_with(&options)
        .await
        .map_err(connect_error(url))?;
    let _ = sqlx::Connection::close(conn).await;
    Ok(pool.max_connections(2).connect_lazy_with(options))
}
