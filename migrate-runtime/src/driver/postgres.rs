//! PostgreSQL: the lock is a session-level advisory lock on the run's one
//! connection, keyed by `hashtextextended('migrate:<database>:<schema>.<table>', 0)`,
//! polled with `pg_try_advisory_lock` so the timeout is real. The server
//! releases it if the session dies. The history table is always qualified
//! with its schema (the current schema when none is chosen), so another
//! schema on the search path cannot shadow it.

use super::{Backend, BoxFuture, Settings};
use crate::dialect::{Dialect, HistorySql};
use crate::error::{Error, Result};
use sqlx::{PgConnection, Postgres};

/// A `pg_stat_activity a` row as a sentence: pid, state, transaction age,
/// application, and the query it runs or ran last.
const SESSION: &str = r"'backend pid ' || a.pid || ' (' || coalesce(a.state, 'state unknown')
    || coalesce(', transaction open for ' || floor(extract(epoch FROM now() - a.xact_start))::bigint || ' s', '')
    || coalesce(', application `' || nullif(a.application_name, '') || '`', '')
    || CASE WHEN a.state = 'active' THEN ', running: ' ELSE ', last query: ' END
    || left(regexp_replace(coalesce(a.query, ''), '\s+', ' ', 'g'), 200) || ')'";

/// The advisory lock key, computed by the server.
fn key(s: &Settings) -> String {
    let name = format!("{}.{}", s.table.schema().unwrap_or_default(), s.table.name());
    format!(
        "hashtextextended('migrate:' || current_database() || ':' || {}, 0)",
        Dialect::Postgres.quote_text(&name)
    )
}

super::driver!(Postgres, PgConnection, Dialect::Postgres);

impl Backend for PgConnection {
    super::same_everywhere!(Postgres);

    fn table_exists<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<bool>> {
        Box::pin(table_exists(self, s))
    }

    fn prepare<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<Settings>> {
        Box::pin(prepare(self, s))
    }

    fn try_lock<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<bool>> {
        Box::pin(try_lock(self, s))
    }

    fn unlock<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<()>> {
        Box::pin(unlock(self, s))
    }

    fn is_conflict(&self, e: &sqlx::Error) -> bool {
        // deadlock_detected, serialization_failure
        matches!(
            e.as_database_error().and_then(|d| d.code()).as_deref(),
            Some("40P01" | "40001")
        )
    }

    fn is_lock_timeout(&self, e: &sqlx::Error) -> bool {
        // lock_not_available: `lock_timeout` ran out.
        e.as_database_error().and_then(|d| d.code()).as_deref() == Some("55P03")
    }

    fn session_id(&mut self) -> BoxFuture<'_, Option<String>> {
        Box::pin(async move {
            let id = Backend::read_strings(self, "SELECT pg_backend_pid()::text".into())
                .await
                .ok()?;
            id.into_iter().next()
        })
    }

    fn blocked_by<'a>(&'a mut self, id: &'a str) -> BoxFuture<'a, Vec<String>> {
        Box::pin(async move {
            let Ok(pid) = id.parse::<i32>() else { return Vec::new() };
            let sql = format!(
                "SELECT {SESSION} FROM pg_stat_activity a WHERE a.pid = ANY(pg_blocking_pids({pid})) ORDER BY a.pid"
            );
            Backend::read_strings(self, sql).await.unwrap_or_default()
        })
    }

    fn blockers(&mut self, since: std::time::Duration) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async move {
            // Without a second connection to watch the wait, and the waiting
            // statement cancelled, pg_blocking_pids has nothing left to say: name
            // the sessions whose transactions hold relation locks and began before
            // the last attempt did, as likely blockers.
            let sql = format!(
                r"SELECT 'possibly ' || {SESSION}
                 FROM pg_stat_activity a
                 WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL
                   AND a.xact_start <= now() - make_interval(secs => {:.3})
                   AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.granted AND l.locktype = 'relation')
                 ORDER BY a.xact_start LIMIT 5",
                since.as_secs_f64()
            );
            Backend::read_strings(self, sql).await.unwrap_or_default()
        })
    }

    fn lock_holder<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            // An advisory lock on a bigint key shows in pg_locks as classid (high
            // half) and objid (low half).
            let sql = format!(
                "SELECT 'backend pid ' || a.pid || ' (' || coalesce('`' || nullif(a.application_name, '') || '`, ', '') \
                 || 'from ' || coalesce(host(a.client_addr), 'local socket') || ', connected since ' \
                 || to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || ')' \
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                 WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                 AND ((l.classid::bigint << 32) | l.objid::bigint) = {} LIMIT 1",
                key(s)
            );
            Backend::read_strings(self, sql).await.ok()?.into_iter().next()
        })
    }
}

async fn table_exists(conn: &mut PgConnection, s: &Settings) -> Result<bool> {
    let d = Dialect::Postgres;
    let sql = format!(
        "SELECT (to_regclass({}) IS NOT NULL)::text",
        d.quote_text(&d.table(&s.table))
    );
    Ok(super::read_one(conn, sql, "looking for the history table").await? == "true")
}

async fn prepare(conn: &mut PgConnection, s: &Settings) -> Result<Settings> {
    let watch_client = conn.server_version_num().is_some_and(|v| v >= 140_000);
    if s.table.schema().is_some() {
        return Ok(Settings {
            watch_client,
            ..s.clone()
        });
    }
    let schema = super::read_one(
        conn,
        "SELECT coalesce(current_schema()::text, '')".into(),
        "reading the current schema",
    )
    .await?;
    if schema.is_empty() {
        return Err(Error::Database {
            context: "no schema is on the search_path; choose one with `history_schema` (`--history-schema`)".into(),
            source: sqlx::Error::Protocol("current_schema() is NULL".into()),
        });
    }
    Ok(Settings {
        table: s.table.clone().in_schema(&schema)?,
        watch_client,
        ..s.clone()
    })
}

async fn try_lock(conn: &mut PgConnection, s: &Settings) -> Result<bool> {
    let sql = format!("SELECT pg_try_advisory_lock({})::text", key(s));
    Ok(super::read_one(conn, sql, "taking the migration lock (pg_try_advisory_lock)").await? == "true")
}

async fn unlock(conn: &mut PgConnection, s: &Settings) -> Result<()> {
    let sql = format!("SELECT pg_advisory_unlock({})::text", key(s));
    let released = super::read_one(conn, sql, "releasing the migration lock (pg_advisory_unlock)").await? == "true";
    if !released {
        return Err(Error::Database {
            context: "releasing the migration lock".into(),
            source: sqlx::Error::Protocol(
                "pg_advisory_unlock returned false: this session did not hold the lock".into(),
            ),
        });
    }
    Ok(())
}
