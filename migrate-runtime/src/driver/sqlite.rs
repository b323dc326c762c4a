//! SQLite: the lock is a `BEGIN IMMEDIATE` write transaction held for the
//! whole run, waited for through SQLite's busy handler bounded by the lock
//! timeout. Each migration runs in a savepoint inside it; the run commits
//! at its end. A no-transaction migration commits what came before, runs
//! on its own, and takes the lock again.

use super::{Driver, Settings, run, sealed};
use crate::dialect::Dialect;
use crate::error::{Error, Result, db};
use sqlx::{Sqlite, SqliteConnection};

impl sealed::Sealed for Sqlite {}

fn is_busy(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i64>().ok())
        .is_some_and(|c| c & 0xff == 5 || c & 0xff == 6)
}

impl Driver for Sqlite {
    const DIALECT: Dialect = Dialect::Sqlite;

    super::same_everywhere!(SqliteConnection);

    async fn table_exists(conn: &mut SqliteConnection, s: &Settings) -> Result<bool> {
        let found: Option<(i64,)> = sqlx::query_as(super::logged(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
        ))
        .bind(s.table.name())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db("looking for the history table"))?;
        Ok(found.is_some())
    }

    async fn prepare(_conn: &mut SqliteConnection, s: &Settings) -> Result<Settings> {
        Ok(s.clone())
    }

    async fn try_lock(conn: &mut SqliteConnection, s: &Settings) -> Result<bool> {
        match Self::lock(conn, s).await {
            Ok(()) => Ok(true),
            Err(Error::LockTimeout { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn lock(conn: &mut SqliteConnection, s: &Settings) -> Result<()> {
        // SQLite waits for the write lock in its busy handler: bound that wait
        // by the lock timeout, then restore the connection's own setting.
        let (before,): (i64,) = sqlx::query_as(super::logged("PRAGMA busy_timeout"))
            .fetch_one(&mut *conn)
            .await
            .map_err(db("reading the SQLite busy timeout"))?;
        let ms = s.lock_timeout.as_millis().min(i32::MAX as u128);
        run::<Self>(
            conn,
            format!("PRAGMA busy_timeout = {ms}"),
            "setting the SQLite busy timeout",
        )
        .await?;
        let begun = Self::execute(conn, "BEGIN IMMEDIATE".into()).await;
        run::<Self>(
            conn,
            format!("PRAGMA busy_timeout = {before}"),
            "restoring the SQLite busy timeout",
        )
        .await?;
        match begun {
            Ok(()) => Ok(()),
            Err(e) if is_busy(&e) => Err(Error::LockTimeout {
                timeout: s.lock_timeout,
            }),
            Err(e) => Err(db("taking the migration lock (BEGIN IMMEDIATE)")(e)),
        }
    }

    async fn unlock(conn: &mut SqliteConnection, _s: &Settings) -> Result<()> {
        run::<Self>(conn, "COMMIT".into(), "committing the migration run").await
    }

    async fn suspend(conn: &mut SqliteConnection, s: &Settings) -> Result<()> {
        Self::unlock(conn, s).await
    }

    async fn resume(conn: &mut SqliteConnection, s: &Settings) -> Result<()> {
        Self::lock(conn, s).await
    }
}
