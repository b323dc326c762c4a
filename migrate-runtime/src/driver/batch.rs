//! Batches: consecutive plain steps handed to the database together, each
//! with its history row (SQLite, straight on its handle, a savepoint a step;
//! PostgreSQL, in one request, a savepoint a batch).

use super::*;

/// How many migrations [`apply_batch`] hands to the database in one go at
/// most, unless its [`Backend::batch_size`] says otherwise (the async side
/// reports progress after each go).
pub(crate) const BATCH_SIZE: usize = 100;

/// How much SQL (bytes of the migrations' text) one batch holds at most:
/// past it, a batch stops before the next step (one step always goes).
pub(crate) const BATCH_BYTES: usize = 4 << 20;

/// The savepoint an [`apply_batch`] runs in (each step's on SQLite, the batch's on PostgreSQL).
pub(crate) const BATCH_SAVEPOINT: &str = "migrate_batched";

/// Whether a step can go in an [`apply_batch`]: a database with a batch
/// path, SQL to run in the run's transaction, nothing to check between steps.
pub(crate) fn batchable(conn: &dyn Backend, step: &Step<'_>) -> bool {
    let m = step.migration;
    conn.batches()
        && step.run_sql
        && step.sql().is_some()
        && !m.no_transaction()
        && !m.directives().foreign_keys_off
        && m.depends_on().next().is_none()
        && step.backfill().is_none()
}

/// Consecutive steps, each migration with its history row, run together
/// ([`Backend::run_batch`]), each timed as the database saw it. Returns how
/// long each of the first steps that ran took, and the database's message
/// for the step after them when it failed; that step was rolled back, and
/// the caller runs it (and what follows) the usual way, so that the failure
/// is named and what came before it kept. `None` when the database has no
/// such path.
///
/// `begin`: the run's `BEGIN` not sent yet, which goes ahead of the batch in
/// its first request (PostgreSQL); taken only when it ran.
pub(crate) async fn apply_batch(
    conn: &mut dyn Backend,
    s: &Settings,
    begin: &mut Option<String>,
    steps: &[Step<'_>],
) -> Option<(Vec<Duration>, Option<String>)> {
    let batch = steps
        .iter()
        .map(|step| conn.batch_step(s, step, step.sql()?))
        .collect::<Option<Vec<_>>>()?;
    let mut ran = conn.run_batch(s, begin.take(), batch).await?;
    if let Some(given_back) = ran.begin.take() {
        *begin = Some(given_back);
    }
    if let (Some(error), Some(step)) = (&ran.failure, steps.get(ran.took.len())) {
        tracing::debug!(
            from = step.migration.revision(),
            first_failure = %crate::vars::redacted(error),
            "a batch stopped at a failure and was rolled back to the migrations it keeps; the rest runs the usual way"
        );
    }
    Some((ran.took, ran.failure))
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
