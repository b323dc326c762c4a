//! The history table's rows: reading them into [`HistoryRow`]s, marking a
//! step in progress or failed, resolving a row, and the digest row.

use super::*;

/// A row of the history table, as stored (its state read into a [`State`]).
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub revision: String,
    pub down_revisions: String,
    pub message: String,
    pub checksum: String,
    pub state: State,
    pub applied_at: String,
    pub execution_ms: i64,
    pub error: Option<String>,
    pub phase: Option<Phase>,
    pub no_transaction: bool,
    /// The downgrade section stored when the revision was applied.
    pub downgrade: Option<String>,
    pub downgrade_checksum: Option<String>,
    /// How many statements of a migration run statement by statement completed;
    /// `None` in a row written before this column existed.
    pub statements_done: Option<i64>,
    /// A backfill's progress, `NEXT LAST ROWS` ([`crate::driver::BackfillAt`]).
    pub backfill: Option<String>,
}

impl HistoryRow {
    /// Its down_revisions, as a list.
    pub(crate) fn parents(&self) -> Vec<&str> {
        self.down_revisions.split(',').filter(|p| !p.is_empty()).collect()
    }
}

/// A history row as its columns read.
#[doc(hidden)]
pub type RowTuple = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

impl TryFrom<RowTuple> for HistoryRow {
    type Error = Error;

    fn try_from(
        (
            revision,
            down_revisions,
            message,
            checksum,
            state,
            applied_at,
            execution_ms,
            error,
            phase,
            no_transaction,
            downgrade,
            downgrade_checksum,
            statements_done,
            backfill,
        ): RowTuple,
    ) -> Result<Self> {
        let state = match state.parse::<State>() {
            Ok(state) => state,
            Err(unknown) => {
                return Err(Error::UnknownState {
                    revision,
                    state: unknown.0,
                });
            }
        };
        // A phase this build does not know reads as none: the row is then
        // treated as any revision without one.
        let phase = phase.and_then(|p| p.parse::<Phase>().ok());
        Ok(HistoryRow {
            revision,
            down_revisions,
            message,
            checksum,
            state,
            applied_at,
            execution_ms,
            error,
            phase,
            no_transaction: no_transaction.unwrap_or(0) != 0,
            downgrade,
            downgrade_checksum,
            statements_done,
            backfill,
        })
    }
}

/// Creates the history table if it is missing, and adds the columns a
/// table made by an earlier version lacks (under the migration lock).
/// Returns the table's columns, all of this version's: the creation and the
/// reading of what is there go in one request.
pub(crate) async fn create_table(conn: &mut dyn Backend, s: &Settings) -> Result<Vec<String>> {
    let d = conn.dialect();
    let context = format!("creating the history table {}", d.table(&s.table));
    let sql = format!("{};\n{}", d.create_table(&s.table), d.select_columns(&s.table));
    let mut present = conn.read_strings(sql).await.map_err(db(&context))?;
    for add in d.add_missing_columns(&s.table, &present) {
        tracing::info!(table = %d.table(&s.table), "{add}: the history table gains a column of this version");
        let context = format!("adding a column to the history table {}", d.table(&s.table));
        // MySQL commits an ALTER at once; the others keep it in the run's transaction or commit it alone.
        run(conn, add, &context).await?;
    }
    present.extend(crate::dialect::added_columns());
    Ok(present)
}

/// Creates the history table if it is missing and reads its rows, in one
/// request where the table has every column of this version
/// ([`Backend::create_and_read_rows`]); else (a table of an earlier version,
/// or an error the usual way names) its columns first, added where missing,
/// then its rows.
pub(crate) async fn create_and_read(conn: &mut dyn Backend, s: &Settings) -> Result<Vec<HistoryRow>> {
    match conn.create_and_read_rows(s).await {
        Err(Error::Database { .. }) => {
            let columns = create_table(conn, s).await?;
            conn.read_rows(s, Some(columns)).await
        }
        read => read,
    }
}

/// The history rows, read without changing anything: none while the table
/// does not exist.
pub(crate) async fn read_if_present(conn: &mut dyn Backend, s: &Settings) -> Result<Vec<HistoryRow>> {
    if !conn.table_exists(s).await? {
        return Ok(Vec::new());
    }
    conn.read_rows(s, None).await
}

/// How many statements of `revision` the history row says completed (0 without a row).
pub(crate) async fn progress(conn: &mut dyn Backend, s: &Settings, revision: &str) -> Result<usize> {
    Ok(row_progress(conn, s, revision).await?.unwrap_or(0))
}

/// How many statements of `revision` its history row says completed, or
/// `None` when it has no row (a step that left nothing removed its mark).
pub(crate) async fn row_progress(conn: &mut dyn Backend, s: &Settings, revision: &str) -> Result<Option<usize>> {
    let sql = conn.dialect().select_progress(&s.table, revision);
    let read = conn
        .read_strings(sql)
        .await
        .map_err(db("reading how many statements of the migration completed"))?;
    Ok(read.first().map(|n| n.parse().unwrap_or(0)))
}

/// The statement marking `step`'s row in progress.
pub(crate) fn mark(d: Dialect, t: &HistoryTable, step: &Step<'_>) -> String {
    let state = State::in_progress(step.direction);
    match step.direction {
        Direction::Upgrade => d.insert_marked(t, step.migration, state),
        Direction::Downgrade => d.set_state(t, step.migration.revision(), state, None),
    }
}

/// Marks a step's row failed with `error`, its secret values taken out.
pub(crate) async fn mark_failed(conn: &mut dyn Backend, s: &Settings, step: &Step<'_>, error: &str) -> Result<()> {
    let d = conn.dialect();
    let failed = d.set_state(
        &s.table,
        step.migration.revision(),
        State::failed(step.direction),
        Some(&crate::vars::redacted_for(step.migration, error)),
    );
    run(conn, failed, "marking the migration failed").await
}

/// Marks a row applied, or deletes it, and writes the digest of the result.
///
/// `digest`: the digest of the history once resolved; `None` when the rows
/// could not all be read (a state this build does not know), which drops the
/// digest row so the next run checks the rows one by one.
pub(crate) async fn resolve(
    conn: &mut dyn Backend,
    s: &Settings,
    revision: &str,
    resolution: crate::Resolution,
    digest: Option<&Digest>,
) -> Result<()> {
    let d = conn.dialect();
    let change = match resolution {
        crate::Resolution::Applied => d.set_state(&s.table, revision, State::Applied, None),
        crate::Resolution::NotApplied => d.delete(&s.table, revision),
    };
    let digest = match digest {
        Some(digest) => d.set_digest(&s.table, digest),
        None => d.delete_digest(&s.table),
    };
    let sql = format!("{change};\n{digest}");
    let sql = conn.atomically(sql);
    run(conn, sql, "resolving the history row").await
}

/// Erases every row of the history table, the digest row included (`stamp --purge`).
pub(crate) async fn purge(conn: &mut dyn Backend, s: &Settings) -> Result<()> {
    let sql = conn.dialect().delete_all(&s.table);
    run(conn, sql, "erasing the history table").await
}

/// Drops the digest row: done before a run's first step.
pub(crate) async fn drop_digest(conn: &mut dyn Backend, s: &Settings) -> Result<()> {
    let sql = conn.dialect().delete_digest(&s.table);
    run(conn, sql, "dropping the history digest").await
}

/// Drops the digest row and the repeatable revisions' rows, in one
/// transaction where the database has one: the first history write of a
/// downgrade (or a stamp below), so that whatever its SQL drops (a view over
/// a table it drops), the next upgrade to head applies every repeatable again.
pub(crate) async fn drop_digest_and_repeatables(conn: &mut dyn Backend, s: &Settings) -> Result<()> {
    let d = conn.dialect();
    let sql = format!("{};\n{}", d.delete_digest(&s.table), d.delete_repeatables(&s.table));
    let sql = conn.atomically(sql);
    run(
        conn,
        sql,
        "dropping the history digest and the repeatable revisions' rows",
    )
    .await
}

/// Writes the digest row: after a run's last step, or when a run that changed
/// nothing found it missing or stale.
pub(crate) async fn write_digest(conn: &mut dyn Backend, s: &Settings, digest: &Digest) -> Result<()> {
    let sql = conn.dialect().set_digest(&s.table, digest);
    run(conn, sql, "writing the history digest").await
}

/// What begins the run's one transaction and drops the digest row inside
/// it, in one request: a run that ends rolled back leaves the digest as it
/// was, true of a history it did not change. It goes ahead of the run's
/// first batch where the run starts with one ([`Backend::run_batch`]), else
/// on its own ([`begin_dropping_digest`]).
pub(crate) fn begin_dropping_digest_sql(conn: &dyn Backend, s: &Settings) -> String {
    format!(
        "BEGIN;\n{}{}",
        s.lock_guard_line(),
        conn.dialect().delete_digest(&s.table)
    )
}

/// Sends [`begin_dropping_digest_sql`]'s text on its own.
pub(crate) async fn begin_dropping_digest(conn: &mut dyn Backend, begin: String) -> Result<()> {
    run(conn, begin, BEGINNING).await
}

/// What the run's `BEGIN` with the digest's removal is doing, in errors.
pub(crate) const BEGINNING: &str = "beginning the run's transaction and dropping the history digest";

/// Writes the digest row and commits the run's one transaction, in one
/// request. If either fails, nothing since the transaction began is kept
/// (a failed write leaves it open and aborted: it is rolled back here).
///
/// The run's last request where the lock can go with it
/// ([`Settings::released_at_commit`]): the lock's release follows the
/// `COMMIT`, and is marked done once the server says it was released.
pub(crate) async fn commit_with_digest(conn: &mut dyn Backend, s: &Settings, digest: &Digest) -> Result<()> {
    let commit = format!("{};\nCOMMIT", conn.dialect().set_digest(&s.table, digest));
    let release = s
        .released_at_commit
        .as_ref()
        .and_then(|done| Some((done, conn.unlock_sql(s)?)));
    let sent = match &release {
        Some((_, unlock)) => conn.read_strings(format!("{commit};\n{unlock}")).await,
        None => conn.execute(commit).await.map(|()| Vec::new()),
    };
    match sent {
        Ok(read) => {
            if let Some((done, _)) = release {
                // Not released (it cannot be: the run holds it): the run releases it as usual.
                done.store(read.iter().any(|r| r == "true"), std::sync::atomic::Ordering::Release);
            }
            Ok(())
        }
        Err(e) => {
            // After a failed COMMIT there is no transaction left, and this only warns.
            let _ = conn.execute("ROLLBACK".into()).await;
            Err(db("writing the history digest and committing the run's transaction")(e))
        }
    }
}
