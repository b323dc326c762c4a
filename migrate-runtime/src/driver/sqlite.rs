//! SQLite: the lock is a `BEGIN IMMEDIATE` write transaction held for the
//! whole run; each migration runs in a savepoint inside it with its
//! history row. The run commits at its end (also after a failure, keeping
//! the migrations that succeeded). A `no-transaction` migration commits
//! what came before, runs on its own, and takes the lock again.

use super::{APPLIED, Driver, HistoryRow, Settings, Step, failed, in_progress, sealed};
use crate::dialect::Dialect;
use crate::error::{Error, Result, db};
use migrate_core::Direction;
use sqlx::{AssertSqlSafe, Sqlite, SqliteConnection, raw_sql};
use std::time::Instant;

impl sealed::Sealed for Sqlite {}

fn is_busy(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i64>().ok())
        .is_some_and(|c| c & 0xff == 5 || c & 0xff == 6)
}

async fn exec(conn: &mut SqliteConnection, sql: String, context: &str) -> Result<()> {
    raw_sql(AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await
        .map_err(db(context))?;
    Ok(())
}

const SQL: Dialect = Dialect::Sqlite;

/// Changes the history row for a finished step: the same statements an
/// offline script prints.
async fn record(conn: &mut SqliteConnection, s: &Settings, step: &Step<'_>, ms: i64, existing: bool) -> Result<()> {
    let m = step.migration;
    let sql = match (step.direction, existing) {
        (Direction::Upgrade, false) => SQL.insert_applied(&s.table, m, &ms.to_string()),
        (Direction::Upgrade, true) => format!(
            "UPDATE {} SET state = '{APPLIED}', applied_at = {}, execution_ms = {ms}, error = NULL WHERE revision = {}",
            SQL.table(&s.table),
            SQL.now(),
            SQL.literal(m.revision())
        ),
        (Direction::Downgrade, _) => SQL.delete(&s.table, m.revision()),
    };
    exec(
        conn,
        sql,
        &format!("recording revision `{}` in the history table", m.revision()),
    )
    .await
}

async fn mark(
    conn: &mut SqliteConnection,
    s: &Settings,
    step: &Step<'_>,
    state: &str,
    error: Option<&str>,
) -> Result<()> {
    let t = SQL.table(&s.table);
    let now = SQL.now();
    let m = step.migration;
    let r = match step.direction {
        Direction::Upgrade => {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO {t} (revision, down_revisions, message, checksum, state, applied_at, execution_ms, error) VALUES (?, ?, ?, ?, ?, {now}, 0, ?) \
                 ON CONFLICT (revision) DO UPDATE SET state = excluded.state, error = excluded.error"
            )))
            .bind(m.revision())
            .bind(step.down_revisions())
            .bind(m.message())
            .bind(m.checksum().to_string())
            .bind(state)
            .bind(error)
            .execute(&mut *conn)
            .await
        }
        Direction::Downgrade => {
            sqlx::query(AssertSqlSafe(format!("UPDATE {t} SET state = ?, error = ? WHERE revision = ?")))
                .bind(state)
                .bind(error)
                .bind(m.revision())
                .execute(&mut *conn)
                .await
        }
    };
    r.map_err(db(format!("marking revision `{}` as {state}", m.revision())))?;
    Ok(())
}

impl Driver for Sqlite {
    const DIALECT: Dialect = SQL;

    async fn lock(conn: &mut SqliteConnection, s: &Settings) -> Result<()> {
        // SQLite waits for a write lock through its busy handler; bound that
        // wait by the lock timeout, then restore the connection's own setting.
        let (before,): (i64,) = sqlx::query_as("PRAGMA busy_timeout")
            .fetch_one(&mut *conn)
            .await
            .map_err(db("reading the SQLite busy timeout"))?;
        let ms = s.lock_timeout.as_millis().min(i32::MAX as u128);
        exec(
            conn,
            format!("PRAGMA busy_timeout = {ms}"),
            "setting the SQLite busy timeout",
        )
        .await?;
        let begun = raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await;
        exec(
            conn,
            format!("PRAGMA busy_timeout = {before}"),
            "restoring the SQLite busy timeout",
        )
        .await?;
        match begun {
            Ok(_) => Ok(()),
            Err(e) if is_busy(&e) => Err(Error::LockTimeout {
                timeout: s.lock_timeout,
            }),
            Err(e) => Err(db("taking the migration lock (BEGIN IMMEDIATE)")(e)),
        }
    }

    async fn unlock(conn: &mut SqliteConnection, _s: &Settings) -> Result<()> {
        exec(conn, "COMMIT".into(), "committing the migration run").await
    }

    async fn table_exists(conn: &mut SqliteConnection, s: &Settings) -> Result<bool> {
        let found: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
            .bind(s.table.name())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db("looking for the history table"))?;
        Ok(found.is_some())
    }

    async fn create_table(conn: &mut SqliteConnection, s: &Settings) -> Result<()> {
        exec(conn, SQL.create_table(&s.table), "creating the history table").await
    }

    async fn read_history(conn: &mut SqliteConnection, s: &Settings) -> Result<Vec<HistoryRow>> {
        type Row = (String, String, String, String, String, String, i64, Option<String>);
        let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(SQL.select_history(&s.table)))
            .fetch_all(&mut *conn)
            .await
            .map_err(db("reading the history table"))?;
        Ok(rows
            .into_iter()
            .map(
                |(revision, down_revisions, message, checksum, state, applied_at, execution_ms, error)| HistoryRow {
                    revision,
                    down_revisions,
                    message,
                    checksum,
                    state,
                    applied_at,
                    execution_ms,
                    error,
                },
            )
            .collect())
    }

    async fn apply(conn: &mut SqliteConnection, s: &Settings, step: Step<'_>) -> Result<()> {
        let sql = step.sql();
        if step.migration.no_transaction() && sql.is_some() {
            return apply_outside_transaction(conn, s, step).await;
        }
        exec(conn, "SAVEPOINT migrate_step".into(), "starting a savepoint").await?;
        let started = Instant::now();
        let ran = match sql {
            Some(sql) => raw_sql(AssertSqlSafe(sql)).execute(&mut *conn).await.map(drop),
            None => Ok(()),
        };
        let outcome = match ran {
            Ok(()) => record(conn, s, &step, started.elapsed().as_millis() as i64, false).await,
            Err(e) => Err(step.failure(e, None, true)),
        };
        match outcome {
            Ok(()) => exec(conn, "RELEASE migrate_step".into(), "releasing the savepoint").await,
            Err(e) => {
                exec(
                    conn,
                    "ROLLBACK TO migrate_step".into(),
                    "rolling back the failed migration",
                )
                .await?;
                exec(conn, "RELEASE migrate_step".into(), "releasing the savepoint").await?;
                Err(e)
            }
        }
    }

    async fn resolve(conn: &mut SqliteConnection, s: &Settings, revision: &str, applied: bool) -> Result<u64> {
        let t = SQL.table(&s.table);
        let sql = if applied {
            format!("UPDATE {t} SET state = '{APPLIED}', error = NULL WHERE revision = ?")
        } else {
            format!("DELETE FROM {t} WHERE revision = ?")
        };
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(revision)
            .execute(&mut *conn)
            .await
            .map_err(db("resolving the history row"))?;
        Ok(done.rows_affected())
    }
}

/// Runs a `-- migrate:no-transaction` migration: the run so far is
/// committed with this revision marked in progress, the SQL runs on its
/// own, and the lock is taken again to record the outcome.
async fn apply_outside_transaction(conn: &mut SqliteConnection, s: &Settings, step: Step<'_>) -> Result<()> {
    let sql = step.sql().unwrap_or_default();
    mark(conn, s, &step, in_progress(step.direction), None).await?;
    exec(conn, "COMMIT".into(), "committing before a no-transaction migration").await?;
    let started = Instant::now();
    let ran = raw_sql(AssertSqlSafe(sql)).execute(&mut *conn).await;
    Sqlite::lock(conn, s).await?;
    match ran {
        Ok(_) => record(conn, s, &step, started.elapsed().as_millis() as i64, true).await,
        Err(e) => {
            mark(conn, s, &step, failed(step.direction), Some(&e.to_string())).await?;
            Err(step.failure(e, None, false))
        }
    }
}
