//! A Rust revision's step: the user's function called on the step's own
//! connection, framed as the database frames a step ([`Backend::rust_frame`]:
//! its transaction or savepoint with the history row), or, where there is no
//! transaction to run it in (MySQL/MariaDB, whose DDL commits itself; a
//! `no-transaction` revision), with its row marked in progress first and
//! marked failed if it fails, as a SQL step run statement by statement.

use super::*;
use crate::rust::{RustFn, into_sqlx};

/// How a database frames a Rust step in a transaction: the statements before
/// the user's function, after it (the history row is sent just before), and
/// in place of `end` when it fails.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct Frame {
    /// Begins the step's transaction or savepoint, with its timeouts.
    pub begin: String,
    /// Ends it, keeping what it did.
    pub end: String,
    /// Ends it, undoing what it did.
    pub undo: String,
}

/// [`run_rust`], its future boxed, as a list's [`crate::rust::Runner`].
pub(crate) fn runner<'a>(
    conn: &'a mut dyn Backend,
    s: &'a Settings,
    step: Step<'a>,
    f: RustFn,
    resume: Option<usize>,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(run_rust(conn, s, step, f, resume))
}

/// Runs `f`, the step's Rust function, and records the step. `resume`: its
/// history row exists (`resolve --retry` of a failed one); it runs again whole.
async fn run_rust(
    conn: &mut dyn Backend,
    s: &Settings,
    step: Step<'_>,
    f: RustFn,
    resume: Option<usize>,
) -> Result<()> {
    let framed = if step.migration.no_transaction() {
        None
    } else {
        conn.rust_frame(s, step.migration)
    };
    match framed {
        Some(frame) => in_frame(conn, s, step, f, frame, resume).await,
        None => {
            let reset = set_guards(conn, s, step.migration).await?;
            let mut result = marked(conn, s, step, f, resume).await;
            reset_guards(conn, reset, &mut result).await;
            result
        }
    }
}

/// Calls `f` on the connection, timed.
async fn call(conn: &mut dyn Backend, f: RustFn) -> (Duration, Result<(), sqlx::Error>) {
    let started = Instant::now();
    let ran = f(&mut conn.connection()).await.map_err(into_sqlx);
    (started.elapsed(), ran)
}

/// A Rust step inside its transaction or savepoint, with its history row:
/// a failure leaves no trace.
async fn in_frame(
    conn: &mut dyn Backend,
    s: &Settings,
    step: Step<'_>,
    f: RustFn,
    frame: Frame,
    resume: Option<usize>,
) -> Result<()> {
    let d = conn.dialect();
    run(conn, frame.begin, "beginning the Rust revision's transaction").await?;
    let (took, ran) = call(conn, f).await;
    let ran = match ran {
        Ok(()) => {
            let record = step.record(d, &s.table, &took.as_millis().to_string(), resume.is_some());
            conn.execute(format!("{record};\n{}", frame.end)).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = ran {
        let cleanup = run(conn, frame.undo, "rolling back the failed migration").await.err();
        return Err(step.failure(e, true, cleanup));
    }
    Ok(())
}

/// A Rust step without a transaction to hold its row: the row marked in
/// progress (and committed) first, the function in a transaction of its own
/// where the revision allows (MySQL commits its DDL at once, its DML with
/// the row's record), then the row recorded, or marked failed.
async fn marked(conn: &mut dyn Backend, s: &Settings, step: Step<'_>, f: RustFn, resume: Option<usize>) -> Result<()> {
    let d = conn.dialect();
    let outside = step.migration.no_transaction();
    let mark = match resume {
        None => mark(d, &s.table, &step),
        Some(_) => d.set_state(
            &s.table,
            step.migration.revision(),
            State::in_progress(step.direction),
            None,
        ),
    };
    run(conn, mark, "marking the migration in progress").await?;
    if !outside {
        run(conn, "BEGIN".into(), "beginning the Rust revision's transaction").await?;
    }
    let (took, ran) = call(conn, f).await;
    let record = step.record(d, &s.table, &took.as_millis().to_string(), true);
    let ran = match ran {
        Ok(()) if outside => conn.execute(record).await,
        Ok(()) => conn.execute(format!("{record};\nCOMMIT")).await,
        Err(e) => Err(e),
    };
    let Err(e) = ran else { return Ok(()) };
    let mut cleanup = None;
    if !outside {
        cleanup = run(conn, "ROLLBACK".into(), "rolling back the failed migration")
            .await
            .err();
    }
    let note = format!(
        "the Rust revision's function failed: {}; what it did before it failed may stay done",
        crate::error::db_message(&e)
    );
    if let Err(marking) = mark_failed(conn, s, &step, &note).await {
        cleanup.get_or_insert(marking);
    }
    Err(step.failure(e, false, cleanup))
}
