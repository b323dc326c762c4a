//! A Rust backfill revision's run: its `upgrade` called once, outside any
//! transaction, with the backfill's state in a task-local scope, where
//! `migrate::backfill` ([`fill_rust`]) finds it and runs the batches
//! through [`super::backfill::fill`], the same loop, progress row and pace
//! as a SQL backfill's. The batches' progress reaches the run's observer as
//! the upgrade's future is polled; the step is recorded applied only when
//! the upgrade returns after its last batch committed.

use super::backfill::{BackfillAt, Backfilled, Filling, Pace, Work, cannot, fill, finish, start};
use super::*;
use crate::BackfillProgress;
use crate::rust::{BatchFn, Connection, RustFn, RustResult, into_sqlx};
use migrate_core::Backfill;
use std::sync::{Mutex, MutexGuard, PoisonError};

tokio::task_local! {
    /// The backfill whose revision's `upgrade` is running.
    static FILLING: Arc<Shared>;
}

/// What `migrate::backfill` needs of the run, owned (the scope is `'static`).
struct Shared {
    settings: Settings,
    migration: Migration,
    batch: u64,
    pace: Pace,
    at: BackfillAt,
    state: Mutex<Filled>,
}

/// What happened inside the upgrade, for the run to read after it returns.
#[derive(Default)]
struct Filled {
    /// `migrate::backfill` was called.
    called: bool,
    /// Batches committed since the run last looked.
    events: Vec<BackfillProgress>,
    /// How the batches ended.
    ended: Option<Backfilled>,
    /// The batches' own error, kept whole (the upgrade sees its message).
    failed: Option<Error>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, Filled> {
        // Nothing panics while holding it; a poisoned lock still holds good data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why `migrate::backfill` returned an error to the revision's code.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error(
        "`migrate::backfill` runs only inside the `upgrade` of a Rust revision with `//! migrate:phase: backfill` and `//! migrate:backfill: TABLE.KEY batch=N`, called by the run (not from a task it spawned)"
    )]
    Outside,
    #[error("`migrate::backfill` was called twice in one upgrade: call it once, last")]
    Twice,
    #[error("the backfill's batch failed: {0}")]
    Batch(String),
}

/// Runs the Rust backfill revision of `filling`: its range read (or its
/// progress), then its `upgrade` (`f`) with the backfill in scope.
pub(crate) async fn run(
    conn: &mut dyn Backend,
    filling: &Filling<'_>,
    spec: &Backfill,
    notify: &mut (dyn FnMut(BackfillProgress) + Send),
    f: RustFn,
) -> Result<Backfilled> {
    let step = filling.step;
    let Some(at) = start(conn, filling.s, &step, spec).await? else {
        return Ok(Backfilled::Done);
    };
    let began = Instant::now();
    let shared = Arc::new(Shared {
        settings: filling.s.clone(),
        migration: step.migration.clone(),
        batch: filling.batch,
        pace: filling.pace,
        at,
        state: Mutex::new(Filled::default()),
    });
    let returned = {
        let mut connection = conn.connection();
        let mut upgrade = std::pin::pin!(FILLING.scope(shared.clone(), f(&mut connection)));
        std::future::poll_fn(|cx| {
            let polled = upgrade.as_mut().poll(cx);
            for p in shared.state().events.drain(..) {
                notify(p);
            }
            polled
        })
        .await
    };
    let filled = std::mem::take(&mut *shared.state());
    if let Some(e) = filled.failed {
        return Err(e);
    }
    if let Err(e) = returned {
        // The revision's own error, outside a batch: the committed batches stay.
        let e = into_sqlx(e);
        let note = format!(
            "the backfill's upgrade failed outside its batches: {}; the next upgrade resumes after its last committed batch",
            crate::error::db_message(&e)
        );
        let d = conn.dialect();
        let sql = d.set_state(
            &filling.s.table,
            step.migration.revision(),
            State::Backfilling,
            Some(&crate::vars::redacted_for(step.migration, &note)),
        );
        let marked = run_sql(conn, sql).await.err();
        return Err(step.failure(e, true, marked));
    }
    match filled.ended {
        Some(Backfilled::Paused) => Ok(Backfilled::Paused),
        Some(Backfilled::Done) => {
            finish(conn, filling, began).await?;
            Ok(Backfilled::Done)
        }
        None => Err(cannot(
            &step,
            "its `upgrade` returned without calling `migrate::backfill(conn, |conn, range| …)`, which runs its batches; the revision stays in progress".into(),
        )),
    }
}

/// Records the failed upgrade's note.
async fn run_sql(conn: &mut dyn Backend, sql: String) -> Result<()> {
    super::run(conn, sql, "recording the failed backfill").await
}

/// `migrate::backfill`'s body: the batches of the backfill in scope, on the
/// revision's connection, each range handed to `batch`.
pub(crate) fn fill_rust<'a>(conn: &'a mut Connection<'_>, batch: &'a mut BatchFn<'_>) -> BoxFuture<'a, RustResult> {
    Box::pin(async move {
        let Ok(shared) = FILLING.try_with(Arc::clone) else {
            return Err(Refused::Outside.into());
        };
        if std::mem::replace(&mut shared.state().called, true) {
            return Err(Refused::Twice.into());
        }
        let step = Step {
            migration: &shared.migration,
            direction: Direction::Upgrade,
            run_sql: true,
            rust: None,
        };
        let filling = Filling {
            s: &shared.settings,
            step,
            batch: shared.batch,
            pace: shared.pace,
        };
        let mut notify = |p| shared.state().events.push(p);
        let ended = fill(conn.backend(), &filling, shared.at, &mut notify, &mut Work::Rust(batch)).await;
        match ended {
            Ok(ended) => {
                shared.state().ended = Some(ended);
                Ok(())
            }
            Err(e) => {
                let said = e.to_string();
                shared.state().failed = Some(e);
                Err(Refused::Batch(said).into())
            }
        }
    })
}
