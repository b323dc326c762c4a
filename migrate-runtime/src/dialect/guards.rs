//! What an offline script checks before it goes on, where an online run
//! would refuse on what it reads from the history rows: statements that fail
//! on a condition, in each dialect.

use super::{Dialect, HistorySql, HistoryTable};

/// [`HistorySql::fail_if_rows`] in `d`.
pub(super) fn fail_if_rows(d: Dialect, t: &HistoryTable, revisions: &[&str], why: &str) -> String {
    let table = d.table(t);
    let ids: Vec<String> = revisions.iter().map(|r| d.quote_text(r)).collect();
    let found = format!("SELECT 1 FROM {table} WHERE revision IN ({})", ids.join(", "));
    fail_if(d, &found, why)
}

/// [`HistorySql::fail_unless_last_applied`] in `d`.
pub(super) fn fail_unless_last_applied(d: Dialect, t: &HistoryTable, revision: &str, why: &str) -> String {
    let table = d.table(t);
    // `down_revisions` holds the parents joined by commas; LIKE's wildcards in an id escaped.
    let like = |pattern: &str| {
        let id = revision.replace('!', "!!").replace('%', "!%").replace('_', "!_");
        format!(
            "down_revisions LIKE {} ESCAPE '!'",
            d.quote_text(&pattern.replace("ID", &id))
        )
    };
    let found = format!(
        "SELECT 1 FROM (SELECT 1 AS one) AS migrate_one WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE revision = {id} AND state = 'applied') \
         UNION ALL SELECT 1 FROM {table} WHERE down_revisions = {id} OR {} OR {} OR {}",
        like("ID,%"),
        like("%,ID"),
        like("%,ID,%"),
        id = d.quote_text(revision),
    );
    fail_if(d, &found, why)
}

/// [`HistorySql::fail_unless_applied`] in `d`.
pub(super) fn fail_unless_applied(d: Dialect, t: &HistoryTable, revisions: &[Vec<&str>], why: &str) -> String {
    let table = d.table(t);
    let missing: Vec<String> = revisions
        .iter()
        .map(|either| {
            let ids: Vec<String> = either.iter().map(|r| d.quote_text(r)).collect();
            format!(
                "NOT EXISTS (SELECT 1 FROM {table} WHERE revision IN ({}) AND state = 'applied')",
                ids.join(", ")
            )
        })
        .collect();
    let found = format!(
        "SELECT 1 FROM (SELECT 1 AS one) AS migrate_one WHERE {}",
        missing.join(" OR ")
    );
    fail_if(d, &found, why)
}

/// Statements that fail, with `why`, when the query `found` returns a row.
fn fail_if(d: Dialect, found: &str, why: &str) -> String {
    match d {
        Dialect::Postgres => format!(
            "DO $migrate_guard$ BEGIN IF EXISTS ({found}) THEN RAISE EXCEPTION '%', {}; END IF; END $migrate_guard$",
            d.quote_text(why)
        ),
        // A statement alone cannot fail on a condition in SQLite: a trigger's RAISE can.
        Dialect::Sqlite => format!(
            "CREATE TEMP TABLE migrate_guard (x INTEGER);\nCREATE TEMP TRIGGER migrate_guard_check BEFORE INSERT ON migrate_guard BEGIN SELECT RAISE(ABORT, {}) WHERE EXISTS ({found}); END;\nINSERT INTO migrate_guard VALUES (1);\nDROP TABLE migrate_guard",
            d.quote_text(why)
        ),
        // Nor in MySQL, outside a stored program: a scalar subquery of two rows
        // fails ("Subquery returns more than 1 row"); the script's comment says why.
        Dialect::Mysql => format!(
            "SELECT (SELECT 1 FROM DUAL WHERE EXISTS ({found}) UNION ALL SELECT 2 FROM DUAL WHERE EXISTS ({found})) INTO @migrate_guard"
        ),
    }
}
