//! fill account.display_name for the rows release 1 wrote, in batches
//!
//! revision: 3c0000000003
//! down_revision: 2b0000000002
//! migrate:phase: backfill
//! migrate:backfill: account.id batch=500

use migrate::{BatchResult, Connection, sqlx};
use std::ops::Range;

/// A name as release 2 shows it: each word capitalised.
pub fn display_name(name: &str) -> String {
    let words = name.split_whitespace().map(|word| {
        let mut chars = word.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
            None => String::new(),
        }
    });
    words.collect::<Vec<_>>().join(" ")
}

/// Each range of account.id in a transaction of its own, committed with the
/// revision's progress; a run stopped part-way resumes after the last batch.
pub async fn upgrade(conn: &mut Connection<'_>) -> migrate::RustResult {
    migrate::backfill(conn, |conn, range| Box::pin(fill(conn, range))).await
}

/// Reads a query's rows and writes each one's display name, on one database.
macro_rules! fill_on {
    ($c:expr, $range:expr, $select:literal, $update:literal) => {{
        let rows: Vec<(i64, String)> = sqlx::query_as($select)
            .bind($range.start)
            .bind($range.end)
            .fetch_all(&mut **$c)
            .await?;
        let mut changed = 0;
        for (id, name) in rows {
            let done = sqlx::query($update)
                .bind(display_name(&name))
                .bind(id)
                .execute(&mut **$c)
                .await?;
            changed += done.rows_affected();
        }
        changed
    }};
}

/// One batch: the rows of `range` release 2 has not written yet.
async fn fill(conn: &mut Connection<'_>, range: Range<i64>) -> BatchResult {
    // One folder, three databases; an application on one writes `conn.postgres()?`.
    Ok(match conn {
        Connection::Sqlite(c) => fill_on!(
            c,
            range,
            "SELECT id, name FROM account WHERE id >= ? AND id < ? AND display_name IS NULL",
            "UPDATE account SET display_name = ?, fills = fills + 1 WHERE id = ?"
        ),
        Connection::Postgres(c) => fill_on!(
            c,
            range,
            "SELECT id, name FROM account WHERE id >= $1 AND id < $2 AND display_name IS NULL",
            "UPDATE account SET display_name = $1, fills = fills + 1 WHERE id = $2"
        ),
        Connection::MySql(c) => fill_on!(
            c,
            range,
            "SELECT id, name FROM account WHERE id >= ? AND id < ? AND display_name IS NULL",
            "UPDATE account SET display_name = ?, fills = fills + 1 WHERE id = ?"
        ),
        other => return Err(format!("no backfill written for {}", other.database()).into()),
    })
}
