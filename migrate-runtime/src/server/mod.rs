//! Database servers and the databases on them (feature `server`): what the
//! command line and the test support (the `testing` module) both
//! stand on, as `sqlx-cli` stands on sqlx's `MigrateDatabase`.
//!
//! - [`Database::open`] opens whatever database a URL names, on any backend
//!   compiled in, as one value every runtime call takes (sqlx's `Any` has the
//!   same shape): a verb is `migrator.upgrade(&mut db, "head")` whichever
//!   database it is.
//! - [`Server`], implemented once per database in `server/<database>.rs`,
//!   creates, drops, lists and marks databases on a server reached through
//!   [`connect`] (SQLite: the files of a folder, or memory).
//! - [`Kind`] and [`Throwaway`] are the one life of a throw-away database,
//!   a test's or a command's scratch one: a unique name, dropped when done
//!   (or kept, marked, for a failed test), and a sweep of the ones killed
//!   runs left.
//! - [`url`] is the one masker of passwords in URLs.
//!
//! It does not migrate (that is [`Migrator`](crate::Migrator)) and holds no
//! policy of its callers: which server a test uses, or what a command prints.

// A build with no database feature compiles the shared parts with nothing to use them.
#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code, unused_imports, unused_variables, unreachable_code)
)]

mod database;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
mod throwaway;
pub mod url;

pub use database::{DEFAULT_CONNECT_TIMEOUT, Database, OpenOptions};
#[cfg(all(feature = "sqlite", feature = "testing"))]
pub(crate) use sqlite::remove_files;
pub use throwaway::{Ended, KEEP_FOR, Kind, SCRATCH, TEST, Throwaway};

use crate::dialect::Dialect;
use crate::driver::{Backend, BoxFuture};

/// Why a database could not be opened, made, listed or dropped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL's scheme names no database this crate knows.
    #[error("`{url}` names no database: use sqlite:, postgres:// or mysql:// (mariadb://)")]
    UnknownScheme {
        /// The URL, its password masked.
        url: String,
    },
    /// The URL names a database this build was compiled without.
    #[error("this build has no {0} support: enable the `{0}` feature")]
    NotCompiled(Dialect),
    /// The URL does not parse, or its options are wrong.
    #[error("the URL {url} does not parse: {source}")]
    Url {
        /// The URL, its password masked.
        url: String,
        /// sqlx's error.
        #[source]
        source: sqlx::Error,
    },
    /// The server (or SQLite's file) could not be reached.
    #[error("cannot connect to {url}: {}", crate::error::db_message(source))]
    Connect {
        /// The URL, its password masked.
        url: String,
        /// sqlx's error.
        #[source]
        source: sqlx::Error,
    },
    /// The server did not accept the connection and answer its handshake
    /// within the connect timeout ([`OpenOptions::connect_timeout`]).
    #[error(
        "cannot connect to {url}: no answer within {} (is the host and port right, and is it the database's?)",
        migrate_core::duration::display(*.timeout)
    )]
    ConnectTimeout {
        /// The URL, its password masked.
        url: String,
        /// How long it waited.
        timeout: std::time::Duration,
    },
    /// A statement on the server failed.
    #[error("`{statement}` failed: {source}")]
    Statement {
        /// The statement.
        statement: String,
        /// sqlx's error.
        #[source]
        source: sqlx::Error,
    },
    /// A SQLite file could not be made, copied or marked.
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
}

impl Error {
    /// sqlx's error behind it, if there is one.
    pub fn sqlx(&self) -> Option<&sqlx::Error> {
        match self {
            Error::Url { source, .. } | Error::Connect { source, .. } | Error::Statement { source, .. } => Some(source),
            _ => None,
        }
    }

    /// What was being done and what the database said, as the runtime's own
    /// errors say it (`CREATE DATABASE: error returned from database: …`):
    /// the statement's leading keywords, without the names it was given.
    pub fn short(&self) -> String {
        match self {
            Error::Statement { statement, source } => {
                let keywords: Vec<&str> = statement
                    .split_whitespace()
                    .take_while(|w| w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
                    .collect();
                format!("{}: {}", keywords.join(" "), crate::error::db_message(source))
            }
            other => other.to_string(),
        }
    }

    /// sqlx's error behind it, if there is one, by value.
    pub fn into_sqlx(self) -> Result<sqlx::Error, Error> {
        match self {
            Error::Url { source, .. } | Error::Connect { source, .. } | Error::Statement { source, .. } => Ok(source),
            other => Err(other),
        }
    }
}

/// A database found on a server by [`Server::list_databases`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its name.
    pub name: String,
    /// Whether it was marked kept ([`Server::keep_database`]).
    pub kept: bool,
}

/// A database server, connected: creates, drops, lists and marks
/// databases on it. One implementation per database, in
/// `server/<database>.rs`; reached through [`connect`]. SQLite's is the
/// files of a folder (`sqlite://<folder>`), or memory (`sqlite::memory:`),
/// where every database is a new empty one and nothing is left to drop.
pub trait Server: Send {
    /// The database's SQL flavour.
    fn dialect(&self) -> Dialect;

    /// The URL this server was reached by.
    fn url(&self) -> &str;

    /// The URL of database `name` on this server.
    fn url_with_database(&self, name: &str) -> String;

    /// How a person finds database `name`: its name, or for SQLite its file's path.
    fn location(&self, name: &str) -> String {
        name.to_owned()
    }

    /// Whether the server runs on this machine, so that a process id in a
    /// database's name is one this machine can check.
    fn is_local(&self) -> bool;

    /// What the server's user must be allowed to create databases, as help names it.
    fn create_privilege(&self) -> &'static str;

    /// Creates database `name`: empty, or a copy of `template` where the
    /// database copies one itself (PostgreSQL's `TEMPLATE`, SQLite's file).
    fn create_database<'a>(&'a mut self, name: &'a str, template: Option<&'a str>) -> BoxFuture<'a, Result<(), Error>>;

    /// Drops database `name` if it exists, ending any session left on it where the server can.
    fn drop_database<'a>(&'a mut self, name: &'a str) -> BoxFuture<'a, Result<(), Error>>;

    /// The databases whose names start with `prefix`, and whether each is marked kept.
    fn list_databases<'a>(&'a mut self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<Listed>, Error>>;

    /// Marks database `name` kept, with `note` saying why (a comment, a
    /// table, a file beside it): a sweep then leaves it for [`KEEP_FOR`].
    fn keep_database<'a>(&'a mut self, name: &'a str, note: &'a str) -> BoxFuture<'a, Result<(), Error>>;

    /// The connection to the server, for statements of the caller's own (the
    /// test support's template locks); `None` where there is none (SQLite).
    fn admin(&mut self) -> Option<&mut dyn Backend>;

    /// Closes the connection.
    fn close(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// What each database supplies to this module: opening a URL, and reaching
/// its server. The one place the module asks which database a URL names.
trait Engine: Sync {
    fn open<'a>(&self, url: &'a str, options: &'a OpenOptions) -> BoxFuture<'a, Result<Database, Error>>;

    fn connect<'a>(&self, url: &'a str) -> BoxFuture<'a, Result<Box<dyn Server>, Error>>;
}

/// The engine of the database `url`'s scheme names.
fn engine(url: &str) -> Result<&'static dyn Engine, Error> {
    let dialect = Dialect::from_url(url).ok_or_else(|| Error::UnknownScheme {
        url: url::scheme_and_host(url),
    })?;
    match dialect {
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => Ok(&sqlite::Sqlite),
        #[cfg(feature = "postgres")]
        Dialect::Postgres => Ok(&postgres::Postgres),
        #[cfg(feature = "mysql")]
        Dialect::Mysql => Ok(&mysql::MySql),
        #[allow(unreachable_patterns)]
        other => Err(Error::NotCompiled(other)),
    }
}

/// Connects to the server `url` names (the database in it is where the
/// connection sits, not what is made or dropped): `postgres://…`,
/// `mysql://…`, or for SQLite `sqlite://<folder>` or `sqlite::memory:`.
/// Gives up after [`DEFAULT_CONNECT_TIMEOUT`] ([`Error::ConnectTimeout`]).
pub async fn connect(url: &str) -> Result<Box<dyn Server>, Error> {
    connect_within(url, DEFAULT_CONNECT_TIMEOUT).await
}

/// [`connect`], giving up after `timeout`.
pub async fn connect_within(url: &str, timeout: std::time::Duration) -> Result<Box<dyn Server>, Error> {
    database::within(url, timeout, engine(url)?.connect(url)).await
}

/// What the database said, as the runtime's own errors say it: PostgreSQL's
/// message with its detail and hint, without the server's C source line
/// sqlx appends (`… at line 948`); any other error as sqlx says it.
pub fn db_message(e: &sqlx::Error) -> String {
    crate::error::db_message(e)
}

/// The server scratch databases of `dialect` are made on: memory for SQLite,
/// else the server `url` names.
pub async fn scratch_server(dialect: Dialect, url: &str) -> Result<Box<dyn Server>, Error> {
    match dialect {
        Dialect::Sqlite => connect("sqlite::memory:").await,
        _ => connect(url).await,
    }
}

/// The error for a statement that failed.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn statement_failed(statement: &str) -> impl FnOnce(sqlx::Error) -> Error + '_ {
    move |source| Error::Statement {
        statement: statement.to_owned(),
        source,
    }
}

/// Runs `sql` on `conn`.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) async fn execute(conn: &mut dyn Backend, sql: String) -> Result<(), Error> {
    conn.execute(sql.clone()).await.map_err(statement_failed(&sql))
}

/// The rows of a query whose columns are all text.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) async fn rows(conn: &mut dyn Backend, sql: String) -> Result<Vec<Vec<Option<String>>>, Error> {
    conn.read_table(sql.clone()).await.map_err(statement_failed(&sql))
}

/// Whether a server at `host` is on this machine.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn is_local_host(host: &str) -> bool {
    host.is_empty() || host == "localhost" || host.starts_with("127.") || host == "::1" || host.starts_with('/')
}
