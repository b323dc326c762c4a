//! SQLite: the lock is a `BEGIN IMMEDIATE` write transaction held for the
//! whole run, waited for through SQLite's busy handler bounded by the lock
//! timeout. Each migration runs in a savepoint inside it; the run commits
//! at its end. A no-transaction migration commits what came before, runs
//! on its own, and takes the lock again.

use super::{Backend, BoxFuture, Settings, run};
use crate::dialect::Dialect;
use crate::error::{Error, Result, db};
use sqlx::{Sqlite, SqliteConnection};

fn is_busy(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i64>().ok())
        .is_some_and(|c| c & 0xff == 5 || c & 0xff == 6)
}

super::driver!(Sqlite, SqliteConnection, Dialect::Sqlite);

/// Takes the write lock: `BEGIN IMMEDIATE`, waited for by SQLite's busy
/// handler bounded by the lock timeout, then the connection's own setting restored.
async fn begin_immediate(conn: &mut SqliteConnection, s: &Settings) -> Result<()> {
    let (before,): (i64,) = sqlx::query_as(super::logged("PRAGMA busy_timeout"))
        .fetch_one(&mut *conn)
        .await
        .map_err(db("reading the SQLite busy timeout"))?;
    let ms = s.lock_timeout.as_millis().min(i32::MAX as u128);
    run(
        conn,
        format!("PRAGMA busy_timeout = {ms}"),
        "setting the SQLite busy timeout",
    )
    .await?;
    let begun = conn.execute("BEGIN IMMEDIATE".into()).await;
    run(
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

impl Backend for SqliteConnection {
    super::same_everywhere!(Sqlite);

    fn table_exists<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let found: Option<(i64,)> = sqlx::query_as(super::logged(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
            ))
            .bind(s.table.name())
            .fetch_optional(&mut *self)
            .await
            .map_err(db("looking for the history table"))?;
            Ok(found.is_some())
        })
    }

    fn prepare<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<Settings>> {
        Box::pin(async move { Ok(s.clone()) })
    }

    fn try_lock<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            // One attempt, no wait: `lock` is the one that waits.
            let now = Settings {
                lock_timeout: std::time::Duration::ZERO,
                ..s.clone()
            };
            match begin_immediate(self, &now).await {
                Ok(()) => Ok(true),
                Err(Error::LockTimeout { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    fn lock<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<()>> {
        Box::pin(begin_immediate(self, s))
    }

    fn unlock<'a>(&'a mut self, _s: &'a Settings) -> BoxFuture<'a, Result<()>> {
        Box::pin(run(self, "COMMIT".into(), "committing the migration run"))
    }

    fn suspend<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<()>> {
        self.unlock(s)
    }

    fn resume<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<()>> {
        self.lock(s)
    }
}
