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
