//! Executing a plan, reading only the [`Run`] the builder resolved: the
//! stages of a changing run, each in its own file and calling only downward
//! (lock → op → apply), and the read-only calls.
//!
//! Everything here takes a `&mut dyn Backend`, so it is compiled once, in
//! this crate, whatever pool or connection the caller passed.

mod apply;
mod lock;
mod op;
mod planned;
mod rehearse;
mod repeatables;
mod resolve;
#[cfg(test)]
mod tests;
mod wait;

pub(crate) use apply::{Applying, Mode};
pub(crate) use repeatables::{RepeatablesRunner, RunsRepeatables, versioned_rows};
pub(crate) use resolve::STORED_FILE;
pub(crate) use resolve::*;

pub(crate) use crate::dialect::HistorySql;
pub(crate) use crate::driver::{self, Backend, BoxFuture, Handle, HistoryRow, Settings, Step};
pub(crate) use crate::error::{Error, Result};
pub(crate) use crate::migrator::{LockMode, Migrations, Progress, Resolution};
pub(crate) use crate::report::{Applied, HistoryEntry, Report, StepReport};
pub(crate) use crate::table::HistoryTable;
pub(crate) use migrate_core::history;
pub(crate) use migrate_core::{
    Checksum, Digest, Direction, Directives, Graph, Migration, MigrationParts, Phase, State, Target, TargetError, plan,
};
pub(crate) use std::sync::Arc;
pub(crate) use std::time::{Duration, Instant};

/// The callback of [`Migrator::on_lock_wait`](crate::Migrator::on_lock_wait).
pub(crate) type LockWaiter<'m> = Arc<dyn Fn(Option<&str>) + Send + Sync + 'm>;

/// The callback of [`Migrator::on_progress`](crate::Migrator::on_progress).
pub(crate) type Observer<'m> = Arc<dyn Fn(&Progress<'_>) + Send + Sync + 'm>;

/// Everything a run reads, resolved once by the builder
/// ([`Migrator`](crate::Migrator)): the executor never reads the builder.
#[derive(Clone)]
pub(crate) struct Run<'m> {
    pub(crate) migrations: &'m Migrations,
    /// What the driver reads: the history table, timeouts, attempts.
    pub(crate) settings: Settings,
    /// Unknown applied revisions are accepted (and left alone).
    pub(crate) ignore_unknown: bool,
    /// A newer build's revisions are unapplied by the downgrade their rows stored.
    pub(crate) use_stored_downgrade: bool,
    /// `expand`: an upgrade stops before the first `contract` revision.
    pub(crate) phase: Option<Phase>,
    pub(crate) lock_mode: LockMode,
    /// How long a lease lasts unless renewed (a build for SQLite alone takes none).
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    pub(crate) lease_ttl: Duration,
    /// The history tables of other migration sets, for `-- depends_on:`.
    pub(crate) set_tables: Vec<(String, HistoryTable)>,
    /// The revisions of other migration sets, for `-- depends_on:` lines
    /// naming a revision a squash of that set replaced.
    pub(crate) set_lists: Vec<(String, &'m Migrations)>,
    /// This list's name as a migration set.
    pub(crate) set_name: Option<String>,
    /// The lists whose applied revisions may depend on this set's.
    pub(crate) dependents: Vec<Dependent<'m>>,
    pub(crate) observer: Option<Observer<'m>>,
    /// The pause after each batch of a backfill.
    pub(crate) batch_pause: Duration,
    /// How long a run may apply before it stops between a backfill's batches.
    pub(crate) max_duration: Option<Duration>,
    pub(crate) on_lock_wait: Option<LockWaiter<'m>>,
    /// The values of declared variables (`-- migrate:var`).
    pub(crate) vars: crate::vars::Values,
}

/// Another list whose applied revisions may depend on this set's revisions.
#[derive(Clone, Debug)]
pub(crate) struct Dependent<'m> {
    /// Its set name; `None` for the application's own list.
    pub(crate) set: Option<String>,
    pub(crate) table: HistoryTable,
    pub(crate) migrations: &'m Migrations,
}

/// What a locked run does.
///
/// The operations that plan from a target share `op`'s path; the others
/// reach it as trait objects that only their own entry points make
/// (`Op::resolve`, `Op::retry`, `Op::stamp_repeatables`, `Op::exactly`), so
/// that an application that never calls them does not carry their code.
pub(crate) enum Op {
    Upgrade(Target),
    /// An upgrade that runs exactly a reviewed plan's steps, or refuses (`run::planned`).
    Exactly(Box<dyn Reviewed>),
    Downgrade(Target),
    Stamp(Target),
    StampPurge(Target),
    /// An operation whose whole body under the lock is its own (`run::resolve`, `run::repeatables`).
    Own(Box<dyn OwnOp>),
}

/// [`Op::Own`]'s body.
pub(crate) trait OwnOp: Send {
    /// Under the lock, on the history `rows` just read.
    fn run<'a>(&'a self, run: &'a Run<'_>, on: Under<'a>, report: &'a mut Report) -> BoxFuture<'a, Result<()>>;

    /// The way out this operation is, if it is one, when the history holds a
    /// row of `revision` in a state this build does not know (`resolve` of that row).
    fn on_unknown_state<'a>(
        &'a self,
        _conn: &'a mut dyn Backend,
        _s: &'a Settings,
        _revision: &'a str,
        _state: &'a str,
    ) -> Option<BoxFuture<'a, Result<()>>> {
        None
    }
}

/// [`Op::Exactly`]'s plan and its check under the lock.
pub(crate) trait Reviewed: Send {
    /// The target the plan was made for.
    fn target(&self) -> Target;

    /// Refuses, with each way it moved, when the plan no longer holds on
    /// `on`'s history and the plan computed from it now.
    fn verify<'a>(&'a self, run: &'a Run<'_>, on: Under<'a>, now: &'a plan::Plan) -> BoxFuture<'a, Result<()>>;
}

/// What an operation works on under the lock: the connection, the run's
/// settings, the graph, and the history rows just read.
pub(crate) struct Under<'a> {
    pub(crate) conn: &'a mut dyn Backend,
    pub(crate) s: &'a Settings,
    pub(crate) graph: &'a Graph<'a>,
    pub(crate) rows: &'a [HistoryRow],
}

impl<'a> Under<'a> {
    pub(crate) fn new(
        conn: &'a mut dyn Backend,
        s: &'a Settings,
        graph: &'a Graph<'a>,
        rows: &'a [HistoryRow],
    ) -> Self {
        Under { conn, s, graph, rows }
    }
}

impl<'m> Run<'m> {
    pub(crate) fn graph(&self) -> Result<Graph<'m>> {
        self.migrations.graph().map_err(Error::Invalid)
    }

    /// One locked run of a round trip on its session's connection.
    #[cfg(feature = "catalog")]
    pub(crate) async fn step(&self, session: &mut Session<'_>, op: Op) -> Result<Report> {
        let second = session.conn.second();
        let ran = self.locked(session.conn.backend(), op, second).await;
        if !ran.clean {
            session.clean = false;
        }
        ran.result
    }

    /// A changing run: takes the connection, runs [`locked`](Self::locked) on
    /// it, and closes it unless the run ended cleanly.
    pub(crate) fn change<'a, 'c: 'a>(
        &'a self,
        connect: BoxFuture<'c, Result<Box<dyn Handle + 'c>>>,
        op: Result<Op, TargetError>,
    ) -> BoxFuture<'a, Result<Report>> {
        Box::pin(async move {
            let op = op?;
            let mut session = Session::new(connect.await?);
            let second = session.conn.second();
            let ran = self.locked(session.conn.backend(), op, second).await;
            session.finish(ran)
        })
    }

    /// Reads the history without locking; a missing table reads as empty.
    pub(crate) fn read<'a, 'c: 'a>(
        &'a self,
        connect: BoxFuture<'c, Result<Box<dyn Handle + 'c>>>,
    ) -> BoxFuture<'a, Result<Vec<HistoryRow>>> {
        Box::pin(async move {
            let mut handle = connect.await?;
            let conn = handle.backend();
            let s = self.settings.clone();
            let s = conn.prepare(&s).await?;
            driver::read_if_present(conn, &s).await
        })
    }

    /// `current` over rows read.
    pub(crate) fn current_of(&self, rows: &[HistoryRow]) -> Result<Vec<String>> {
        let graph = self.graph()?;
        // A revision whose downgrade failed or is under way is still (partly) there.
        let mut applied: Vec<(&str, Vec<&str>)> = rows
            .iter()
            .filter(|r| matches!(r.state, State::Applied | State::Downgrading | State::DowngradeFailed))
            .map(|r| (r.revision.as_str(), r.parents()))
            .collect();
        // A baseline standing on its squash point's row is where such a database is.
        let stand = stand_ins(&graph, rows);
        applied.extend(stand.applied.iter().map(|&b| (graph.get(b).revision(), Vec::new())));
        Ok(history::current_heads(&graph, &applied)
            .into_iter()
            .map(str::to_owned)
            .collect())
    }

    /// `history` over rows read.
    pub(crate) fn history_of(&self, rows: Vec<HistoryRow>) -> Result<Vec<HistoryEntry>> {
        let graph = self.graph()?;
        let mut by_id: std::collections::HashMap<&str, &HistoryRow> =
            rows.iter().map(|r| (r.revision.as_str(), r)).collect();
        let applied = |r: &HistoryRow| Applied {
            applied_at: r.applied_at.clone(),
            execution_time: Duration::from_millis(r.execution_ms.max(0) as u64),
            state: r.state,
            error: r.error.clone(),
            checksum: r.checksum.clone(),
            stored_downgrade: r.downgrade.is_some(),
            statements_done: r.statements_done.map(|n| n.max(0) as u64),
            backfill: driver::progress_of(
                r.backfill.as_deref(),
                graph
                    .position(&r.revision)
                    .and_then(|i| graph.get(i).backfill())
                    .map(|b| b.batch()),
            ),
        };
        // A baseline whose squash point's row is applied counts as applied
        // (`squash::stand_ins`, as every run reads it): it stands on that row,
        // which is still listed itself, as a revision this list does not know.
        let stand = stand_ins(&graph, &rows);
        let stands_on = |i: usize| {
            let point = graph.get(i).replaces().last()?;
            stand.applied.contains(&i).then(|| by_id.get(point).copied()).flatten()
        };
        let stood: Vec<Option<&HistoryRow>> = (0..graph.len()).map(stands_on).collect();
        let mut out: Vec<HistoryEntry> = graph
            .iter()
            .zip(stood)
            .map(|(m, stood)| HistoryEntry {
                revision: m.revision().to_owned(),
                down_revisions: m.down_revisions().map(str::to_owned).collect(),
                message: m.message().to_owned(),
                known: true,
                phase: m.phase(),
                applied: by_id.remove(m.revision()).or(stood).map(applied),
                due: false,
            })
            .collect();
        // Then the repeatables, in the order they are applied; those the next
        // upgrade to head applies (core's `pending_repeatables`, as the run
        // reads them: changed, not applied, or depending on one that is) are
        // due, unless a newer build migrated the database (`run::repeatables`).
        let replaced = migrate_core::squash::Replaced::of(&graph);
        let newer = !repeatables::newer_revisions(&graph, &replaced, &rows).is_empty();
        let pending = history::pending_repeatables(self.migrations.repeatables(), &repeatables::read_rows(&rows));
        out.extend(self.migrations.repeatables().iter().map(|m| HistoryEntry {
            revision: m.revision().to_owned(),
            down_revisions: Vec::new(),
            message: m.message().to_owned(),
            known: true,
            phase: None,
            due: !newer && pending.iter().any(|p| p.revision() == m.revision()),
            applied: by_id.remove(m.revision()).map(applied),
        }));
        for r in rows.iter().filter(|r| by_id.contains_key(r.revision.as_str())) {
            out.push(HistoryEntry {
                revision: r.revision.clone(),
                down_revisions: r.parents().into_iter().map(str::to_owned).collect(),
                message: r.message.clone(),
                known: false,
                phase: r.phase,
                applied: Some(applied(r)),
                due: false,
            });
        }
        Ok(out)
    }
}

/// `squash::stand_ins` over the finished (applied) rows of `rows`.
fn stand_ins<'r>(graph: &Graph<'_>, rows: &'r [HistoryRow]) -> migrate_core::squash::StandIns<'r> {
    let finished: Vec<&str> = rows
        .iter()
        .filter(|r| r.state == State::Applied)
        .map(|r| r.revision.as_str())
        .collect();
    migrate_core::squash::stand_ins(graph, &finished)
}

/// What a run on one connection gave, and whether that connection may be reused.
pub(crate) struct Ran<T> {
    pub(crate) result: Result<T>,
    /// False when a lock or a transaction may still be held: the connection
    /// is then closed instead of going back to a pool.
    pub(crate) clean: bool,
}

impl<T> Ran<T> {
    pub(crate) fn clean(result: Result<T>) -> Self {
        Ran { result, clean: true }
    }
}

/// The lock connection: closed instead of reused unless the run ended
/// cleanly, also when the caller drops the run's future part-way.
pub(crate) struct Session<'c> {
    pub(crate) conn: Box<dyn Handle + 'c>,
    pub(crate) clean: bool,
}

impl<'c> Session<'c> {
    pub(crate) fn new(conn: Box<dyn Handle + 'c>) -> Self {
        Session { conn, clean: false }
    }

    pub(crate) fn finish<T>(mut self, ran: Ran<T>) -> Result<T> {
        self.clean = ran.clean;
        ran.result
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if !self.clean {
            self.conn.discard_on_drop();
        }
    }
}

/// The digest of the history rows as read.
pub(crate) fn digest_of(rows: &[HistoryRow]) -> Digest {
    let mut digest = Digest::empty();
    // A backfill stopped between batches is left out: the run that finishes it
    // adds it as applied, and none that leaves it so writes a digest.
    for r in rows.iter().filter(|r| r.state != State::Backfilling) {
        digest.insert(&r.revision, &r.checksum, r.state);
    }
    digest
}

impl Run<'_> {
    /// Where the history stands against this list: [`history::status`], the
    /// one reading `verify`, `wait`, `current --check` and every run share. A
    /// failed row is [`Error::Dirty`].
    pub(crate) fn status_of(&self, graph: &Graph<'_>, rows: &[HistoryRow]) -> Result<history::Status> {
        let read = repeatables::read_rows(rows);
        let unknown = match self.ignore_unknown {
            true => history::Unknown::Accept,
            false => history::Unknown::ExpandOnly,
        };
        history::status_with_repeatables(graph, self.migrations.repeatables(), &read, unknown)
            .map_err(|f| dirty(rows, &f.revision, f.state))
    }
}

impl Run<'_> {
    /// [`status_of`](Self::status_of) for a reader that waits for no lock
    /// (`wait`, `current --check`): a row in progress whose migrator is gone
    /// (the migration lock free, no lease alive: its process died part-way)
    /// is [`Error::Dirty`] at once, as a run reads it, not a migration under way.
    pub(crate) async fn live_status(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        graph: &Graph<'_>,
        rows: &[HistoryRow],
    ) -> Result<history::Status> {
        let status = self.status_of(graph, rows)?;
        if let Some((revision, state)) = status.in_progress.first()
            && driver::no_migrator_runs(conn, s).await
        {
            return Err(dirty(rows, revision, *state));
        }
        Ok(status)
    }

    /// [`live_status`](Self::live_status) on the connection `connect` gives.
    pub(crate) fn read_status<'a, 'c: 'a>(
        &'a self,
        connect: BoxFuture<'c, Result<Box<dyn Handle + 'c>>>,
    ) -> BoxFuture<'a, Result<history::Status>> {
        Box::pin(async move {
            let mut handle = connect.await?;
            let conn = handle.backend();
            let s = conn.prepare(&self.settings).await?;
            let rows = driver::read_if_present(conn, &s).await?;
            self.live_status(conn, &s, &self.graph()?, &rows).await
        })
    }
}

/// [`Error::Dirty`] for `revision`'s row, with the error it stored.
pub(crate) fn dirty(rows: &[HistoryRow], revision: &str, state: State) -> Error {
    Error::Dirty {
        revision: revision.to_owned(),
        state,
        error: rows
            .iter()
            .find(|r| r.revision == revision)
            .and_then(|r| r.error.clone()),
    }
}
