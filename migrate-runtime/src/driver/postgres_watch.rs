//! What PostgreSQL does outside the transaction a rehearsal rolls back, and
//! the locks of statements that run outside any: where each sequence stands
//! (`nextval` is not rolled back), and a second session watching `pg_locks`
//! for the run's backend while a `-- migrate:no-transaction` statement runs.

use super::Backend;
use sqlx::PgConnection;

/// Each sequence outside the system schemas, `schema.name`, with its last
/// value (`None` when never used, or not readable by this role).
pub(super) async fn sequence_positions(conn: &mut PgConnection) -> Option<Vec<(String, Option<i64>)>> {
    let sql = "SELECT schemaname || '.' || sequencename, last_value::text FROM pg_sequences
    WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1";
    let rows = Backend::read_table(conn, sql.into()).await.ok()?;
    Some(
        rows.into_iter()
            .filter_map(|r| {
                let mut r = r.into_iter();
                let name = r.next()??;
                let value = r.next().flatten().and_then(|v| v.parse().ok());
                Some((name, value))
            })
            .collect(),
    )
}

/// How long the watcher waits between two looks at `pg_locks`.
const POLL: std::time::Duration = std::time::Duration::from_millis(2);

/// From this second session: each table lock backend `pid` is seen holding
/// (granted, on a table outside the system schemas), with the statement it
/// was running, polled every [`POLL`] until `stop` is set; once each.
pub(super) async fn watch_locks(
    conn: &mut PgConnection,
    pid: &str,
    stop: &std::sync::atomic::AtomicBool,
) -> Option<Vec<super::WatchedLock>> {
    let pid: i32 = pid.parse().ok()?;
    let sql = format!(
        "SELECT a.query, n.nspname || '.' || c.relname, l.mode FROM pg_locks l
    JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'relation' AND l.pid = {pid} AND l.granted AND {}",
        super::postgres::USER_TABLES
    );
    let mut seen: Vec<super::WatchedLock> = Vec::new();
    let mut failed = None;
    while !stop.load(std::sync::atomic::Ordering::Acquire) {
        match Backend::read_table(conn, sql.clone()).await {
            Ok(rows) => {
                for r in rows {
                    let mut r = r.into_iter();
                    let (Some(Some(statement)), Some(Some(table)), Some(Some(mode))) = (r.next(), r.next(), r.next())
                    else {
                        continue;
                    };
                    let Some(lock) = migrate_core::TableLock::from_postgres_mode(&mode) else {
                        continue;
                    };
                    let found = super::WatchedLock { statement, table, lock };
                    if !seen.contains(&found) {
                        tracing::debug!(table = %found.table, lock = ?found.lock, "a watched statement holds a lock");
                        seen.push(found);
                    }
                }
            }
            Err(e) => failed = Some(e),
        }
        tokio::time::sleep(POLL).await;
    }
    if let Some(e) = failed.filter(|_| seen.is_empty()) {
        tracing::warn!(error = %e, "watching pg_locks failed");
        return None;
    }
    Some(seen)
}
