//! The one trait behind which database differences live.
//!
//! A [`Driver`] knows how to lock, how to keep the history table, and how to
//! run one step with its history change. Everything else (verification,
//! planning, reporting) is shared and lives in [`crate::migrator`]. The
//! trait is sealed: the runtime implements it for SQLite, PostgreSQL and
//! MySQL, and its methods are not public API.

use crate::error::{Error, Result};
use crate::table::HistoryTable;
use migrate_core::{Direction, Migration};
use std::future::Future;
use std::time::Duration;

#[cfg(feature = "sqlite")]
mod sqlite;

/// What a driver needs to know of the caller's configuration.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct Settings {
    pub table: HistoryTable,
    pub lock_timeout: Duration,
}

/// A row of the history table, as stored.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub revision: String,
    pub down_revisions: String,
    pub message: String,
    pub checksum: String,
    pub state: String,
    pub applied_at: String,
    pub execution_ms: i64,
    pub error: Option<String>,
}

/// The state of a row whose migration completed.
pub(crate) const APPLIED: &str = "applied";

/// The state a row has while its migration runs outside a transaction.
pub(crate) fn in_progress(direction: Direction) -> &'static str {
    match direction {
        Direction::Upgrade => "upgrading",
        Direction::Downgrade => "downgrading",
    }
}

/// The state a row keeps when its migration failed part-way.
pub(crate) fn failed(direction: Direction) -> &'static str {
    match direction {
        Direction::Upgrade => "upgrade_failed",
        Direction::Downgrade => "downgrade_failed",
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
    pub fn sql(&self) -> Option<&str> {
        if !self.run_sql {
            return None;
        }
        match self.direction {
            Direction::Upgrade => Some(self.migration.upgrade_sql()),
            Direction::Downgrade => self.migration.downgrade_sql(),
        }
        .filter(|s| !s.trim().is_empty())
    }

    /// The error for this step's SQL failing.
    pub fn failure(&self, source: sqlx::Error, statement: Option<usize>, rolled_back: bool) -> Error {
        Error::Migration {
            revision: self.migration.revision().to_owned(),
            file: self.migration.file().to_owned(),
            direction: self.direction,
            statement,
            rolled_back,
            applied: Vec::new(),
            source,
        }
    }

    /// The `down_revisions` column value.
    pub fn down_revisions(&self) -> String {
        self.migration.down_revisions().collect::<Vec<_>>().join(",")
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A database the runtime can migrate: SQLite, PostgreSQL or MySQL/MariaDB.
///
/// Sealed; its methods are internal.
pub trait Driver: sqlx::Database + sealed::Sealed {
    /// The SQL this database speaks.
    const DIALECT: crate::Dialect;
    #[doc(hidden)]
    fn lock(conn: &mut Self::Connection, s: &Settings) -> impl Future<Output = Result<()>> + Send;
    #[doc(hidden)]
    fn unlock(conn: &mut Self::Connection, s: &Settings) -> impl Future<Output = Result<()>> + Send;
    #[doc(hidden)]
    fn table_exists(conn: &mut Self::Connection, s: &Settings) -> impl Future<Output = Result<bool>> + Send;
    #[doc(hidden)]
    fn create_table(conn: &mut Self::Connection, s: &Settings) -> impl Future<Output = Result<()>> + Send;
    #[doc(hidden)]
    fn read_history(conn: &mut Self::Connection, s: &Settings) -> impl Future<Output = Result<Vec<HistoryRow>>> + Send;
    /// Runs one step and changes its history row, atomically where the database allows.
    #[doc(hidden)]
    fn apply(conn: &mut Self::Connection, s: &Settings, step: Step<'_>) -> impl Future<Output = Result<()>> + Send;
    /// Marks a row applied (`Some(true)`), deletes it (`Some(false)`).
    #[doc(hidden)]
    fn resolve(
        conn: &mut Self::Connection,
        s: &Settings,
        revision: &str,
        applied: bool,
    ) -> impl Future<Output = Result<u64>> + Send;
}

/// A connection the runtime holds for a whole run, which it can ask to be
/// closed rather than reused when the run did not end cleanly (so no lock
/// or open transaction goes back into a pool).
pub trait Handle: std::ops::DerefMut + Send {
    #[doc(hidden)]
    fn discard_on_drop(&mut self);
}

impl<DB: sqlx::Database> Handle for sqlx::pool::PoolConnection<DB> {
    fn discard_on_drop(&mut self) {
        self.close_on_drop();
    }
}

macro_rules! borrowed_handle {
    ($($conn:ty),*) => {$(
        impl Handle for &mut $conn {
            fn discard_on_drop(&mut self) {
                tracing::warn!("a migration run did not end cleanly on a caller's connection; drop that connection");
            }
        }
    )*};
}
#[cfg(feature = "sqlite")]
borrowed_handle!(sqlx::SqliteConnection);
#[cfg(feature = "postgres")]
borrowed_handle!(sqlx::PgConnection);
#[cfg(feature = "mysql")]
borrowed_handle!(sqlx::MySqlConnection);
