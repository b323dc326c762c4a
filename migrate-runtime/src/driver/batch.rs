//! SQLite batches: consecutive plain steps handed to the database together.

use super::*;

/// How many SQLite migrations [`apply_batch`] hands to the database in one
/// go at most (the async side logs them and reports progress after each go).
pub(crate) const BATCH_SIZE: usize = 100;

/// The savepoint each step of an [`apply_batch`] runs in.
pub(crate) const BATCH_SAVEPOINT: &str = "migrate_batched";

/// Whether a step can go in an [`apply_batch`]: SQLite, SQL to run in the
/// run's transaction, nothing to check between steps.
pub(crate) fn batchable(conn: &dyn Backend, step: &Step<'_>) -> bool {
    let m = step.migration;
    conn.batches()
        && step.run_sql
        && step.sql().is_some()
        && !m.no_transaction()
        && !m.directives().foreign_keys_off
        && m.depends_on().next().is_none()
}

/// SQLite: consecutive steps, each migration with its history row in a
/// savepoint, run together straight on the database handle
/// ([`Backend::run_batch`]), each timed as it ran. Returns how long each of
/// the first steps that ran took; a step that failed was rolled back to its
/// savepoint, and the caller runs it (and what follows) the usual way, so
/// that the failure is named and what came before it kept. `None` when the
/// database has no such path.
///
/// The statements are logged (`migrate::sql`) when the batch is back, in the
/// order they ran, each history row with the duration it was written with.
pub(crate) async fn apply_batch(conn: &mut dyn Backend, s: &Settings, steps: &[Step<'_>]) -> Option<Vec<Duration>> {
    let d = conn.dialect();
    let framed = |sql: &str| {
        let terminator = if split::needs_terminator(sql, d) { "\n;" } else { "" };
        format!("SAVEPOINT {BATCH_SAVEPOINT};\n{sql}{terminator}")
    };
    let batch = steps
        .iter()
        .map(|step| {
            Some(BatchStep {
                sql: framed(step.sql()?),
                record: step.record(d, &s.table, "?1", false),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let ran = conn.run_batch(batch).await?;
    let failed = ran.failure.as_ref().zip(steps.get(ran.took.len()));
    // Written out only for a subscriber that wants them: each history row costs
    // formatting again.
    if tracing::enabled!(target: "migrate::sql", tracing::Level::DEBUG) {
        for (step, took) in steps.iter().zip(&ran.took) {
            logged(framed(step.sql().unwrap_or_default()));
            logged(step.record(d, &s.table, &took.as_millis().to_string(), false));
            logged(format!("RELEASE {BATCH_SAVEPOINT}"));
        }
        if let Some((_, step)) = failed {
            logged(framed(step.sql().unwrap_or_default()));
            logged(format!("ROLLBACK TO {BATCH_SAVEPOINT}; RELEASE {BATCH_SAVEPOINT}"));
        }
    }
    if let Some((error, step)) = failed {
        tracing::debug!(
            revision = step.migration.revision(),
            error = %error,
            "a migration failed in a batch and was rolled back to its savepoint; running it the usual way"
        );
    }
    Some(ran.took)
}

/// Now as a Julian day number (days since noon UTC, 4714 BC), as SQLite's
/// `julianday('now')` reads it.
pub(crate) fn julian_day_now() -> f64 {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    unix / 86_400.0 + 2_440_587.5
}
