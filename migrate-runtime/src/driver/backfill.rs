//! A backfill step (`-- migrate:phase: backfill`, `-- migrate:backfill:
//! TABLE.KEY batch=N`): its one statement run for consecutive ranges
//! `[:start, :end)` of the key, each range in a transaction of its own whose
//! commit carries the progress in the revision's history row, so a run
//! killed part-way resumes after the last committed batch and never runs
//! one twice.
//!
//! The key's minimum and maximum are read once, when the backfill begins,
//! and kept in the row: rows inserted later above the maximum are the
//! application's to write (its new code is running by then). Outside any
//! run's transaction (SQLite's run lets go of its write lock, taken again
//! for each batch, [`Backend::suspend`]); the migration lock (advisory lock
//! or lease) is held for the whole backfill, a lease renewed before each batch.

use super::*;
use crate::BackfillProgress;
use migrate_core::Backfill;

/// Where a backfill stands, as its history row records it (`FIRST NEXT LAST ROWS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BackfillAt {
    /// The key's minimum when it began.
    pub(crate) first: i128,
    /// The first key value of the next batch.
    pub(crate) next: i128,
    /// The key's maximum when it began.
    pub(crate) last: i128,
    /// The rows its committed batches changed.
    pub(crate) rows: u64,
}

impl BackfillAt {
    fn text(&self) -> String {
        format!("{} {} {} {}", self.first, self.next, self.last, self.rows)
    }

    /// Reads a row's progress; `None` for none or text this version did not write.
    pub(crate) fn parse(text: &str) -> Option<BackfillAt> {
        let mut words = text.split_whitespace();
        let mut number = || words.next()?.parse::<i128>().ok();
        let at = BackfillAt {
            first: number()?,
            next: number()?,
            last: number()?,
            rows: u64::try_from(number()?).ok()?,
        };
        (at.first <= at.next).then_some(at)
    }

    /// The batches from `first` to `last`, and those done, `batch` values each.
    fn batches(&self, batch: u64) -> (u64, u64) {
        let count =
            |to: i128| u64::try_from((to - self.first + i128::from(batch) - 1) / i128::from(batch)).unwrap_or(0);
        (count(self.next.min(self.last + 1)), count(self.last + 1))
    }
}

/// A row's backfill progress (`text`, as stored) for a revision whose batches
/// cover `batch` key values (1 when the build has no file for it).
pub(crate) fn progress_of(text: Option<&str>, batch: Option<u64>) -> Option<BackfillProgress> {
    let at = BackfillAt::parse(text?)?;
    let (batches_done, batches) = at.batches(batch.unwrap_or(1).max(1));
    Some(BackfillProgress {
        rows: at.rows,
        batches_done,
        batches,
        next: at.next,
        last: at.last,
        remaining: None,
    })
}

/// How a run paces its backfills: the pause after each batch, and when to
/// stop between batches, leaving the revision in progress.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Pace {
    pub(crate) pause: Duration,
    pub(crate) deadline: Option<Instant>,
}

/// How a backfill step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backfilled {
    /// Every batch committed; the row says applied.
    Done,
    /// The deadline came between batches; the row says backfilling.
    Paused,
}

/// [`backfill`] as a list carries it: only a list whose history has a
/// backfill holds one (`Migrations::__with_backfills`, which
/// `embed_migrations!` calls for such a folder), so an application whose
/// history has none links none of the batch loop.
pub(crate) type Runner = for<'a> fn(
    &'a mut dyn Backend,
    &'a Settings,
    Step<'a>,
    &'a Backfill,
    Pace,
    &'a mut (dyn FnMut(BackfillProgress) + Send),
) -> BoxFuture<'a, Result<Backfilled>>;

/// [`backfill`], its future boxed, as a [`Runner`].
pub(crate) fn runner<'a>(
    conn: &'a mut dyn Backend,
    s: &'a Settings,
    step: Step<'a>,
    spec: &'a Backfill,
    pace: Pace,
    notify: &'a mut (dyn FnMut(BackfillProgress) + Send),
) -> BoxFuture<'a, Result<Backfilled>> {
    Box::pin(backfill(conn, s, step, spec, pace, notify))
}

/// Runs the backfill `spec` of `step`, reporting each committed batch to
/// `notify`: a SQL revision's statement over each range, or a Rust
/// revision's upgrade, whose call to `migrate::backfill` runs the batches
/// ([`super::rust_backfill`]).
async fn backfill(
    conn: &mut dyn Backend,
    s: &Settings,
    step: Step<'_>,
    spec: &Backfill,
    pace: Pace,
    notify: &mut (dyn FnMut(BackfillProgress) + Send),
) -> Result<Backfilled> {
    if step.migration.is_rust() && step.rust.is_none() {
        return Err(step.not_embedded());
    }
    // The run's own transaction (SQLite: its write lock) is let go of first.
    conn.suspend(s).await?;
    let reset = set_guards(conn, s, step.migration).await?;
    let filling = Filling {
        s,
        step,
        batch: spec.batch(),
        pace,
    };
    let mut ran = match step.rust {
        Some(rust) => super::rust_backfill::run(conn, &filling, spec, notify, rust.f).await,
        None => sql_batches(conn, &filling, spec, notify).await,
    };
    let mut cleanup = Ok(());
    reset_guards(conn, reset, &mut cleanup).await;
    if let Err(e) = conn.resume(s).await {
        also(&mut cleanup, e, "taking the migration lock back after the backfill");
    }
    if let Err(e) = cleanup {
        match &mut ran {
            Ok(_) => return Err(e),
            Err(Error::Migration { cleanup, .. }) if cleanup.is_none() => *cleanup = Some(Box::new(e)),
            Err(_) => tracing::error!(error = %e, "cleaning up after the backfill failed"),
        }
    }
    ran
}

/// What one backfill's batches share: the run's settings, the step, how many
/// key values a batch covers, and the run's pace.
pub(crate) struct Filling<'a> {
    pub(crate) s: &'a Settings,
    pub(crate) step: Step<'a>,
    pub(crate) batch: u64,
    pub(crate) pace: Pace,
}

/// What a batch runs: a SQL backfill's statement over the range, or a Rust
/// backfill's closure on the batch's connection.
pub(crate) enum Work<'w> {
    Sql,
    Rust(&'w mut crate::rust::BatchFn<'w>),
}

/// A SQL backfill: its batches from where the row says, recorded applied
/// when the last one has committed.
async fn sql_batches(
    conn: &mut dyn Backend,
    filling: &Filling<'_>,
    spec: &Backfill,
    notify: &mut (dyn FnMut(BackfillProgress) + Send),
) -> Result<Backfilled> {
    let Some(at) = start(conn, filling.s, &filling.step, spec).await? else {
        return Ok(Backfilled::Done);
    };
    let began = Instant::now();
    let ended = fill(conn, filling, at, notify, &mut Work::Sql).await?;
    if ended == Backfilled::Done {
        finish(conn, filling, began).await?;
    }
    Ok(ended)
}

/// Records the backfill applied, all its batches committed.
pub(crate) async fn finish(conn: &mut dyn Backend, filling: &Filling<'_>, began: Instant) -> Result<()> {
    let d = conn.dialect();
    let revision = filling.step.migration.revision();
    let ms = began.elapsed().as_millis().to_string();
    run(
        conn,
        d.set_applied(&filling.s.table, revision, &ms),
        "recording the finished backfill",
    )
    .await?;
    tracing::info!(revision, "backfill finished");
    Ok(())
}

/// The error for a backfill that cannot run, and why.
pub(crate) fn cannot(step: &Step<'_>, reason: String) -> Error {
    Error::Backfill {
        revision: step.migration.revision().to_owned(),
        file: step.migration.file().to_owned(),
        reason,
        applied: Vec::new(),
    }
}

/// Where the backfill starts: its row's progress, or, for one not begun,
/// the key's range read now and its row marked `backfilling`. `None`: the
/// table is empty, and the row says applied.
pub(crate) async fn start(
    conn: &mut dyn Backend,
    s: &Settings,
    step: &Step<'_>,
    spec: &Backfill,
) -> Result<Option<BackfillAt>> {
    let d = conn.dialect();
    let m = step.migration;
    let row = conn
        .read_table(d.select_backfill(&s.table, m.revision()))
        .await
        .map_err(db("reading the backfill's progress"))?;
    let existing = row.into_iter().next();
    if let Some(at) = existing
        .as_ref()
        .and_then(|r| r.get(1).cloned().flatten())
        .filter(|t| !t.is_empty())
    {
        let at = BackfillAt::parse(&at).ok_or_else(|| {
            cannot(
                step,
                format!("its history row's progress `{at}` does not read as FIRST NEXT LAST ROWS"),
            )
        })?;
        tracing::info!(revision = m.revision(), next = %at.next, last = %at.last, "resuming the backfill after its last committed batch");
        return Ok(Some(at));
    }
    let context = format!("reading the range of {}.{}", spec.table(), spec.key());
    let range_sql = conn.key_range(spec.table(), spec.key());
    let range = conn.read_table(range_sql).await.map_err(db(&context))?;
    let cells: Vec<Option<String>> = range.into_iter().next().unwrap_or_default();
    let (Some(Some(min)), Some(Some(max))) = (cells.first(), cells.get(1)) else {
        // No row to fill: recorded as done.
        let record = match existing {
            Some(_) => d.set_applied(&s.table, m.revision(), "0"),
            None => d.insert_applied(&s.table, m, "0"),
        };
        run(conn, record, "recording the empty backfill in the history table").await?;
        return Ok(None);
    };
    let integer = |v: &str| {
        v.trim().parse::<i128>().map_err(|_| {
            cannot(
                step,
                format!(
                    "its key {}.{} holds `{v}`, not an integer: a backfill's batches are ranges of an integer key",
                    spec.table(),
                    spec.key()
                ),
            )
        })
    };
    let (first, last) = (integer(min)?, integer(max)?);
    let at = BackfillAt {
        first,
        next: first,
        last,
        rows: 0,
    };
    if existing.is_none() {
        run(
            conn,
            d.insert_marked(&s.table, m, State::Backfilling),
            "marking the backfill in progress",
        )
        .await?;
    }
    run(
        conn,
        d.set_backfill(&s.table, m.revision(), &at.text()),
        "recording the backfill's range",
    )
    .await?;
    tracing::info!(revision = m.revision(), first = %first, last = %last, batch = spec.batch(), "backfill begins");
    Ok(Some(at))
}

/// Runs one batch, `[start, end)`, inside its transaction: the rows it changed.
async fn one_batch(
    conn: &mut dyn Backend,
    m: &Migration,
    work: &mut Work<'_>,
    start: i128,
    end: i128,
) -> Result<u64, sqlx::Error> {
    match work {
        Work::Sql => {
            let sql = migrate_core::sql::backfill::bind(m.upgrade_sql(), conn.dialect(), start, end);
            conn.execute_affected(sql).await
        }
        Work::Rust(f) => {
            let (Ok(from), Ok(to)) = (i64::try_from(start), i64::try_from(end)) else {
                return Err(sqlx::Error::InvalidArgument(format!(
                    "the batch [{start}, {end}) does not fit a 64-bit integer key range"
                )));
            };
            f(&mut conn.connection(), from..to)
                .await
                .map_err(crate::rust::into_sqlx)
        }
    }
}

/// The batches, from `at` (where the row says), until the last or the
/// deadline: each in a transaction of its own, committed with its progress.
/// The caller records the backfill applied when it says [`Backfilled::Done`].
pub(crate) async fn fill(
    conn: &mut dyn Backend,
    filling: &Filling<'_>,
    mut at: BackfillAt,
    notify: &mut (dyn FnMut(BackfillProgress) + Send),
    work: &mut Work<'_>,
) -> Result<Backfilled> {
    let d = conn.dialect();
    let Filling { s, step, pace, .. } = *filling;
    let m = step.migration;
    let began = Instant::now();
    let mut ran_here = 0u32;
    let batch = i128::from(filling.batch);
    while at.next <= at.last {
        renew_lease(conn, s, true).await?;
        let end = (at.next + batch).min(at.last + 1);
        let begin = conn.begin_batch().to_owned();
        run(conn, begin, "beginning a backfill batch").await?;
        let rows = match one_batch(conn, m, work, at.next, end).await {
            Ok(rows) => rows,
            Err(e) => {
                let cleanup = run(conn, "ROLLBACK".into(), "rolling back the failed batch")
                    .await
                    .err();
                let note = format!(
                    "the batch [{}, {end}) failed and was rolled back: {}; the next upgrade runs it again",
                    at.next,
                    crate::error::db_message(&e)
                );
                let note = crate::vars::redacted_for(m, &note);
                let marked = run(
                    conn,
                    d.set_state(&s.table, m.revision(), State::Backfilling, Some(&note)),
                    "recording the failed batch",
                )
                .await
                .err();
                return Err(step.failure(e, true, cleanup.or(marked)));
            }
        };
        let after = BackfillAt {
            next: end,
            rows: at.rows.saturating_add(rows),
            ..at
        };
        // The progress commits with the batch: a batch is done exactly when its progress says so.
        let commit = format!("{};\nCOMMIT", d.set_backfill(&s.table, m.revision(), &after.text()));
        if let Err(e) = conn.execute(commit).await {
            let cleanup = run(conn, "ROLLBACK".into(), "rolling back the batch").await.err();
            return Err(step.failure(e, true, cleanup));
        }
        at = after;
        ran_here += 1;
        let (done, total) = at.batches(filling.batch);
        let left = u32::try_from(total.saturating_sub(done)).unwrap_or(u32::MAX);
        notify(BackfillProgress {
            rows: at.rows,
            batches_done: done,
            batches: total,
            next: at.next,
            last: at.last,
            remaining: Some(began.elapsed() / ran_here * left),
        });
        if at.next > at.last {
            break;
        }
        if pace.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            tracing::info!(revision = m.revision(), next = %at.next, last = %at.last, "the run's time is up: the backfill stops between batches, in progress");
            return Ok(Backfilled::Paused);
        }
        if s.pause_unless_stopped(pace.pause).await {
            tracing::info!(revision = m.revision(), next = %at.next, last = %at.last, "asked to stop: the backfill stops between batches, in progress");
            return Ok(Backfilled::Paused);
        }
    }
    tracing::info!(
        revision = m.revision(),
        rows = at.rows,
        "every batch of the backfill committed"
    );
    Ok(Backfilled::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_back_and_counts_batches() {
        let at = BackfillAt {
            first: 1,
            next: 21,
            last: 100,
            rows: 20,
        };
        assert_eq!(BackfillAt::parse(&at.text()), Some(at));
        assert_eq!(at.batches(10), (2, 10));
        assert_eq!(BackfillAt { next: 101, ..at }.batches(10), (10, 10));
        assert_eq!(BackfillAt::parse("1 2"), None);
        assert_eq!(BackfillAt::parse("5 2 9 0"), None);
    }
}
