//! The runtime's error type: what went wrong, where, and what state the
//! database was left in.

use migrate_core::history::HistoryProblem;
use migrate_core::{Diagnostics, Direction, PlanError, State, TargetError};
use std::time::Duration;

/// Everything that can go wrong when migrating a database.
///
/// `Display` is one complete sentence (or a list of them, for several
/// problems); [`std::error::Error::source`] keeps the database's own error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The migration list is not a valid revision graph (only possible for
    /// a list built at run time; `embed_migrations!` checks at build time).
    #[error("the migrations are invalid:\n{0}")]
    Invalid(Diagnostics),

    /// A schema file would act beyond the database it is run in (another
    /// database, the server's roles, settings or files), or holds a client
    /// command this crate does not understand; none of it was run.
    #[error("{0}")]
    Script(Diagnostics),

    /// The target does not parse or names no revision.
    #[error(transparent)]
    Target(#[from] TargetError),

    /// No plan reaches the target (wrong direction, irreversible, ...). Nothing was changed.
    #[error(transparent)]
    Plan(PlanError),

    /// The history table disagrees with the migrations. Nothing was changed.
    #[error("the history table disagrees with the migrations, so nothing was changed:\n{}", list(.0))]
    History(Vec<HistoryProblem>),

    /// A revision was left half-done by an earlier run.
    #[error(
        "revision `{revision}` is marked `{state}` in the history table: an earlier run did not finish it{}; check the database by hand, then record how it stands by resolving it as applied or as not applied (`Migrator::resolve`, or the command line's `resolve {revision} --applied` or `--not-applied`), or, once the cause is fixed, run it again from the statement that failed (`Migrator::resolve_retry`, `resolve {revision} --retry`); nothing was changed",
        .error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()
    )]
    Dirty {
        /// The revision.
        revision: String,
        /// Its recorded state (never [`State::Applied`]).
        state: State,
        /// The error recorded when it failed, if any.
        error: Option<String>,
    },

    /// The run stopped where [`Migrator::stop_when`](crate::Migrator::stop_when)
    /// asked it to: while waiting for the migration lock (or as it took it), before a step
    /// (also between two attempts of one rolled back on a lock timeout), or
    /// between two batches of a backfill. What it did before stays done and
    /// recorded; the lock was given back.
    #[error(
        "the run stopped, as asked, {}",
        match (.next, .inside_backfill) {
            (None, _) => "while waiting for the migration lock (or as it took it); nothing was changed".to_owned(),
            (Some(r), true) => format!("between two batches of the backfill `{r}`, which stays in progress: the batches it committed are kept, and the next upgrade resumes it after the last{}", stopped_note(.done, "; ")),
            (Some(r), false) => format!("before revision `{r}`{}", match .done.is_empty() {
                true => "; nothing was changed".to_owned(),
                false => stopped_note(.done, "; "),
            }),
        }
    )]
    Stopped {
        /// The revisions this run applied (or unapplied, or stamped) before
        /// it stopped, in order; they stay so.
        done: Vec<String>,
        /// The revision it stopped before, or the backfill it stopped
        /// inside; `None` when it stopped waiting for the lock.
        next: Option<String>,
        /// `next` is a backfill stopped between two of its batches, left in progress.
        inside_backfill: bool,
    },

    /// A migration's SQL failed.
    #[error(
        "{direction} of revision `{revision}` ({file}) failed{}{}: {}; {}; {}{}",
        .statement.map(|n| format!(" at statement {n}")).unwrap_or_default(),
        .line.map(|n| format!(" at line {n} of its {direction} section")).unwrap_or_default(),
        db_message(.source),
        if *.rolled_back { "it was rolled back and is not recorded".to_owned() } else { format!("it could not be rolled back (it ran outside a transaction, or the database committed its DDL){}: it is marked failed in the history table; check the database by hand, then resolve it (`resolve {revision} --retry` runs it again from the failed statement)", match .completed { Some(0) => ", and none of its statements stayed done".to_owned(), Some(1) => ", and its statement 1 stays done".to_owned(), Some(n) => format!(", and its statements 1-{n} stay done"), None => ", so part of it may have run".to_owned() }) },
        applied_note(.applied),
        .cleanup.as_ref().map(|c| format!("; cleaning up after it also failed: {c}")).unwrap_or_default()
    )]
    Migration {
        /// The revision whose SQL failed.
        revision: String,
        /// Its file.
        file: String,
        /// Upgrading or downgrading.
        direction: Direction,
        /// The 1-based statement that failed, when the migration ran statement by statement.
        statement: Option<usize>,
        /// The 1-based line of the migration's section where the database
        /// places the error, when it says (PostgreSQL's error position).
        line: Option<usize>,
        /// Whether the failed migration left no trace (it ran in a transaction).
        rolled_back: bool,
        /// For a migration run statement by statement that could not be rolled
        /// back: how many of its statements stay done (recorded in its history row).
        completed: Option<usize>,
        /// The revisions this run had already applied or unapplied, which stay done.
        applied: Vec<String>,
        /// The database's error.
        #[source]
        source: sqlx::Error,
        /// What failed while cleaning up after it (the rollback, or marking the
        /// row failed, on a connection that broke): reported beside the cause,
        /// never instead of it. The history row may then still read in progress.
        cleanup: Option<Box<Error>>,
    },

    /// A migration failed, and SQLite ended the run's transaction with it
    /// (a trigger's `RAISE(ROLLBACK, …)`, an `OR ROLLBACK` conflict clause, a
    /// full disk):
    /// the migration and everything the run did since its last commit are
    /// rolled back. `applied` is what the history table still holds of the run.
    #[error(
        "{direction} of revision `{revision}` ({file}) failed: {}; SQLite rolled back the run's whole transaction with it (as a trigger's `RAISE(ROLLBACK, …)` or an `OR ROLLBACK` conflict clause does, or SQLite itself on a full disk or an I/O error), so nothing this run did since its last commit is kept: {}; if the migration asks for that rollback, use `RAISE(ABORT, …)` or `OR ABORT`, which fail the statement alone",
        db_message(.source),
        applied_note(.applied)
    )]
    RunRolledBack {
        /// The revision whose SQL failed.
        revision: String,
        /// Its file.
        file: String,
        /// Upgrading or downgrading.
        direction: Direction,
        /// The revisions this run had already applied or unapplied and had
        /// committed, which stay done.
        applied: Vec<String>,
        /// The database's error.
        #[source]
        source: sqlx::Error,
    },

    /// A `-- migrate:foreign-keys-off` migration on SQLite left rows whose
    /// foreign key points at no row (`PRAGMA foreign_key_check` found them
    /// before it committed): it was rolled back with its history row.
    #[error(
        "{direction} of revision `{revision}` ({file}) ran with foreign keys off (`-- migrate:foreign-keys-off`) and left {}{}{}: it was rolled back and is not recorded; make the migration keep every row's parent (copy every row of the old table into the new one, keeping its key, before dropping the old one) or fix or delete those rows in the same migration, then run it again (`PRAGMA foreign_key_check` lists them); {}{}",
        if .violations.len() == 1 && !*.more { "a dangling foreign key: " } else { "dangling foreign keys: " },
        .violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
        if *.more { ", and more" } else { "" },
        applied_note(.applied),
        .cleanup.as_ref().map(|c| format!("; cleaning up after it also failed: {c}")).unwrap_or_default()
    )]
    DanglingForeignKeys {
        /// The revision.
        revision: String,
        /// Its file.
        file: String,
        /// Upgrading or downgrading.
        direction: Direction,
        /// The first rows found (at most [`ForeignKeyViolation::MAX_LISTED`]).
        violations: Vec<ForeignKeyViolation>,
        /// Whether there were more than those.
        more: bool,
        /// The revisions this run had already applied or unapplied, which stay done.
        applied: Vec<String>,
        /// What failed while cleaning up after it (the rollback, restoring the
        /// connection's `foreign_keys` setting), reported beside the cause.
        cleanup: Option<Box<Error>>,
    },

    /// A Rust revision was reached by a list that does not carry its
    /// functions (read from a folder at run time, as the standalone command
    /// line reads one): the run stopped before it, keeping what it had done.
    #[error(
        "revision `{revision}` ({file}) is a Rust revision, which only the application that embeds this folder with `embed_migrations!` can run, so this run stopped before it and did not change it: run the application's embedded `db {direction}` subcommand, or its `{direction}` call; {}",
        applied_note(.applied)
    )]
    RustNotEmbedded {
        /// The revision.
        revision: String,
        /// Its file.
        file: String,
        /// Upgrading or downgrading.
        direction: Direction,
        /// The revisions this run had already applied or unapplied, which stay done.
        applied: Vec<String>,
    },

    /// A migration that needs a part of the runtime a list holds only where
    /// its history needs it (running statement by statement, for
    /// `-- migrate:no-transaction`; applying repeatable revisions) was reached
    /// by a list built by hand without it (`embed_migrations!`,
    /// [`Migrations::load`](crate::Migrations::load) and
    /// [`Migrations::new`](crate::Migrations::new) add what their history
    /// needs): the run stopped before it, keeping what it had done.
    #[error(
        "revision `{revision}` ({file}) {needs}, and this list of migrations was built by hand without what does that (`embed_migrations!`, `Migrations::load` and `Migrations::new` add what their history needs), so this run stopped before it and did not change it; {}",
        applied_note(.applied)
    )]
    RunnerNotEmbedded {
        /// The revision.
        revision: String,
        /// Its file.
        file: String,
        /// What it needs: "runs statement by statement (`-- migrate:no-transaction`)", "is a repeatable revision to apply".
        needs: &'static str,
        /// The revisions this run had already applied or unapplied, which stay done.
        applied: Vec<String>,
    },

    /// A backfill could not run its batches: its key's values are not
    /// integers, or its progress in the history row does not read.
    #[error("backfill `{revision}` ({file}) cannot run: {reason}; {}", applied_note(.applied))]
    Backfill {
        /// The revision.
        revision: String,
        /// Its file.
        file: String,
        /// What is wrong, and how to mend it.
        reason: String,
        /// The revisions this run had already applied, which stay done.
        applied: Vec<String>,
    },

    /// A downgrade or stamp found a backfill stopped between batches.
    #[error(
        "revision `{revision}` is a backfill in progress (its history row says `backfilling`): finish it with `upgrade` (it resumes after its last committed batch) before downgrading or stamping; nothing was changed"
    )]
    BackfillInProgress {
        /// The revision.
        revision: String,
    },

    /// A run failed after it had completed some steps, outside any
    /// migration's SQL (writing the digest, releasing the lock, ...).
    #[error("{source}; {}", applied_note(.completed))]
    Interrupted {
        /// The revisions this run completed, which stay done.
        completed: Vec<String>,
        /// What failed.
        #[source]
        source: Box<Error>,
    },

    /// A migration kept failing because a statement waited longer than the
    /// lock timeout for a lock another session held; it was retried with
    /// backoff until its attempts ran out.
    #[error(
        "{source}; it was tried {attempts} time{}, and each time a statement waited longer than the lock timeout; {}",
        if *.attempts == 1 { "" } else { "s" },
        if .blockers.is_empty() { "no session holding locks since before the last attempt could be found".to_owned() } else { format!("it waited for {}", .blockers.join("; ")) }
    )]
    Blocked {
        /// The revision.
        revision: String,
        /// How many times it was tried.
        attempts: u32,
        /// Who it waited for. PostgreSQL, when the caller's pool lent a second
        /// connection: the `pg_blocking_pids` of the waiting statement, seen
        /// while the last attempt waited (backend pid, state, transaction age,
        /// application, query). Otherwise, and on MySQL, the sessions whose
        /// transactions held locks since before the last attempt, each said
        /// to be `possibly` the blocker.
        blockers: Vec<String>,
        /// The last attempt's error.
        #[source]
        source: Box<Error>,
    },

    /// A failed `CREATE INDEX CONCURRENTLY` left an INVALID index, which a
    /// retry would trip over. Nothing was changed.
    #[error(
        "revision `{revision}`'s next statement builds the index {index} concurrently, and an INVALID index of that name, left by the failed attempt, is in the way: drop it with `{drop}`, then retry; nothing was changed"
    )]
    InvalidIndex {
        /// The revision.
        revision: String,
        /// The index, schema-qualified.
        index: String,
        /// The statement that drops it.
        drop: String,
    },

    /// A revision this build does not know cannot be unapplied with the
    /// downgrade stored in its history row. Nothing was changed.
    #[error("the downgrade stored for revision `{revision}` cannot be run: {reason}; nothing was changed")]
    StoredDowngrade {
        /// The revision.
        revision: String,
        /// Why.
        reason: String,
    },

    /// A downgrade would go under applied revisions this build does not know
    /// (a newer build's). Nothing was changed.
    #[error(
        "the database holds revision{} this build does not know ({}), applied on top of what this downgrade would unapply; unapply {} first with the downgrade SQL stored when {} applied (`use_stored_downgrade()`, `downgrade --use-stored-downgrade`), or deploy the build that has {}; nothing was changed",
        if .revisions.len() == 1 { "" } else { "s" },
        .revisions.join(", "),
        if .revisions.len() == 1 { "it" } else { "them" },
        if .revisions.len() == 1 { "it was" } else { "they were" },
        if .revisions.len() == 1 { "it" } else { "them" }
    )]
    UnknownAbove {
        /// The revisions, as the history table has them.
        revisions: Vec<String>,
    },

    /// A downgrade would unapply a squash baseline on a database that ran the
    /// revisions it replaced, whose rows are not the baseline's.
    #[error(
        "this downgrade (or stamp) would unapply the squash baseline `{baseline}`, but this database ran the revisions it replaced ({replaced}), not the baseline: their rows cannot be unapplied one by one any more; downgrade or stamp to `{baseline}` at most, or, to go below it, use {release} (the last release that has those revisions)"
    )]
    BelowSquash {
        /// The baseline.
        baseline: String,
        /// The replaced revisions the history holds, comma-separated.
        replaced: String,
        /// The last release that has them.
        release: String,
    },

    /// A revision declares `-- depends_on: set@revision`, and that revision of
    /// that migration set is not applied. This revision did not run.
    #[error(
        "revision `{revision}` ({file}) depends on revision `{needs}` of the migration set `{set}`, which is not applied (its history table {table} does not record it): migrate the set `{set}` first (`Sets` migrates sets in their declared order; the command line: `--set {set}`)"
    )]
    MissingDependency {
        /// The revision that depends on the other set.
        revision: String,
        /// Its file.
        file: String,
        /// The other set.
        set: String,
        /// The revision of it that must be applied.
        needs: String,
        /// Where the other set's history was looked for.
        table: String,
    },

    /// A downgrade would unapply a revision that an applied revision of
    /// another migration set depends on (`-- depends_on: set@revision`).
    /// This revision was not unapplied.
    #[error(
        "revision `{revision}` ({file}) cannot be unapplied: revision `{by}` of {set}, which is applied (its history table {table} records it), depends on it; downgrade {set} below `{by}` first"
    )]
    NeededBy {
        /// The revision the downgrade would unapply.
        revision: String,
        /// Its file.
        file: String,
        /// The set that needs it, as a person names it (`the migration set `app``).
        set: String,
        /// Its revision that depends on this one.
        by: String,
        /// Where that set's history was read.
        table: String,
    },

    /// A run of one of several migration sets failed; the sets before it stay migrated.
    #[error("in the migration set `{set}`: {source}{}", if .completed.is_empty() { String::new() } else { format!(" (the sets before it, {}, are migrated)", .completed.join(", ")) })]
    InSet {
        /// The set whose run failed.
        set: String,
        /// The sets migrated before it, which stay so.
        completed: Vec<String>,
        /// Its error.
        #[source]
        source: Box<Error>,
    },

    /// `resolve --retry` cannot run this revision again. Nothing was changed.
    #[error("revision `{revision}` cannot be retried: {reason}; nothing was changed")]
    CannotRetry {
        /// The revision.
        revision: String,
        /// Why.
        reason: String,
    },

    /// [`wait_until_current`](crate::Migrations::wait_until_current) gave up:
    /// the database still lacks some of the migrations.
    #[error(
        "after waiting {}, the database still lacks {} of this build's revisions ({}){}",
        migrate_core::duration::display(*.waited),
        .missing.len(),
        .missing.join(", "),
        .in_progress.as_ref().map(|r| format!("; revision `{r}` is being applied now")).unwrap_or_default()
    )]
    NotCurrent {
        /// The revisions not applied yet, in application order.
        missing: Vec<String>,
        /// How long it waited.
        waited: Duration,
        /// A revision a migrator is applying at the moment, if any.
        in_progress: Option<String>,
    },

    /// The run took a lease on the migration lock and lost it (its process
    /// paused past the lease, or its network split, and another migrator took
    /// the lease over): it stopped before committing its next step.
    #[error(
        "this migrator lost its lease on the migration lock{}: it was paused or cut off for longer than the lease lasts, and another migrator took over; it stopped before committing its next step, so nothing ran twice; what it completed stays done, and a new run goes on from there",
        .holder.as_deref().map(|h| format!(" (now held by {h})")).unwrap_or_default()
    )]
    LeaseLost {
        /// Who holds the lease now, as its row says.
        holder: Option<String>,
    },

    /// The run lost its lease in the middle of a step run statement by
    /// statement outside a transaction (`-- migrate:no-transaction`): it
    /// stopped before the step's next statement, whose row stays marked in
    /// progress with the statements done, for the migrator that took over
    /// (or `resolve`, once none runs).
    #[error(
        "this migrator lost its lease on the migration lock{} in the middle of revision `{revision}` ({file}), which runs statement by statement outside a transaction: it was paused or cut off for longer than the lease lasts, and another migrator took over; it stopped before statement {}, statements 1-{done} stayed done, and its row stays marked in progress with that count for the migrator that holds the lease now (or, once none runs, for `resolve`)",
        .holder.as_deref().map(|h| format!(" (now held by {h})")).unwrap_or_default(),
        .done + 1
    )]
    LeaseLostInStep {
        revision: String,
        file: String,
        /// The statements of the step that completed.
        done: usize,
        /// Who holds the lease now, as its row says.
        holder: Option<String>,
    },

    /// The advisory lock was asked for on a Galera cluster, where it does
    /// not keep other nodes' migrators out. Nothing was changed.
    #[error(
        "this MariaDB/MySQL server is a node of a Galera cluster (wsrep_on is ON), where GET_LOCK holds on one node only, so the advisory lock would let migrators on other nodes run at the same time: use the lease (`lock_mode(LockMode::Lease)`, `lock = \"lease\"`, `--lock lease`), or leave the lock mode at its default, which picks the lease on Galera; nothing was changed"
    )]
    AdvisoryOnCluster,

    /// A history row has a state this build does not know. Nothing was changed.
    #[error(
        "revision `{revision}` has the state `{state}` in the history table, which this build does not know (was the row written by a newer version, or edited by hand?); nothing was changed"
    )]
    UnknownState {
        /// The revision.
        revision: String,
        /// The state as stored.
        state: String,
    },

    /// A rehearsal on a scratch copy of the database (MySQL, MariaDB) was
    /// refused before it made the copy or ran anything: a pending migration
    /// names the real database explicitly, or switches databases (`USE`), so
    /// on the copy it would reach a real database. Nothing was changed.
    #[error(
        "the rehearsal was refused before it ran anything: it runs on a scratch copy of `{database}`, and revision `{revision}` ({file}:{line}) would reach past the copy: {reason}; nothing was changed (name tables without their database, and leave `USE` out: a migration's unqualified names are those of the database it runs in)"
    )]
    RehearsalEscapesCopy {
        /// The database the copy is of.
        database: String,
        /// The revision.
        revision: String,
        /// Its file.
        file: String,
        /// The line in its file.
        line: usize,
        /// What the statement does.
        reason: String,
    },

    /// Another migrator held the lock for longer than the lock timeout. Nothing was changed.
    #[error(
        "could not take the migration lock within {timeout:?}: another migrator is running (or its connection is still open); nothing was changed"
    )]
    LockTimeout {
        /// The configured lock timeout.
        timeout: Duration,
    },

    /// The history table name is not a plain identifier.
    #[error(
        "`{0}` is not a valid history table or schema name: use 1 to 63 characters of A-Z, a-z, 0-9 and _, not starting with a digit"
    )]
    InvalidName(String),

    /// A setting given through the API is outside what the database can
    /// store or wait for. Nothing was changed.
    #[error("`{setting}` of {value:?} is longer than migrate allows ({max:?}): choose a shorter one")]
    OutOfRange {
        /// The builder method that set it.
        setting: &'static str,
        /// The value given.
        value: std::time::Duration,
        /// The largest value allowed.
        max: std::time::Duration,
    },

    /// `resolve` was asked about a revision whose run finished: it only records
    /// how a half-done or failed revision stands. Nothing was changed.
    #[error(
        "revision `{revision}` is applied and finished, so there is nothing to resolve: resolve records how a half-done or failed revision stands (to unapply a finished revision, downgrade)"
    )]
    Finished {
        /// The revision.
        revision: String,
    },

    /// A revision named in a call does not exist in the history table.
    #[error("revision `{0}` has no row in the history table")]
    NotInHistory(String),

    /// A round-trip test was pointed at a database that holds a schema.
    #[error(
        "the database is not empty (it holds {}); a round-trip test upgrades and downgrades every revision, so it runs only on an empty database: point it at a scratch one (`migrate test` makes its own with --dev-database-url, or in memory for SQLite)",
        .objects.join(", ")
    )]
    NotEmpty {
        /// What it holds, by kind and name (the first few).
        objects: Vec<String>,
    },

    /// A plan no longer holds: the history, the steps or the schema moved
    /// since it was made ([`Migrator::upgrade_exactly`](crate::Migrator::upgrade_exactly)).
    #[error(
        "the plan no longer holds, so nothing was changed:\n{}",
        .0.iter().map(|m| format!("  - {m}")).collect::<Vec<_>>().join("\n")
    )]
    PlanMoved(Vec<crate::planned::PlanMoved>),

    /// A revision [`Migrations::require`](crate::Migrations::require) asked
    /// for is not applied to the database.
    #[error(
        "revision `{revision}` is required but not applied to this database ({}): upgrade the database to `{revision}` or later first",
        if .current.is_empty() { "it has no revision applied".to_owned() } else { format!("its applied heads are {}", .current.join(", ")) }
    )]
    NotApplied {
        /// The revision required.
        revision: String,
        /// The database's applied heads (empty: nothing applied).
        current: Vec<String>,
    },

    /// A revision the run would apply or unapply declares a variable
    /// (`-- migrate:var NAME`) that no source gives a value and that has no
    /// default: found before the run's first statement, so nothing was changed.
    #[error("{0}; nothing was changed")]
    UnsetVariable(migrate_core::UnsetVariable),

    /// The database failed outside any migration's SQL.
    #[error("{context}: {}", db_message(.source))]
    Database {
        /// What the runtime was doing.
        context: String,
        /// The database's error.
        #[source]
        source: sqlx::Error,
    },
}

/// A row whose foreign key points at no row of the table it references, as
/// SQLite's `PRAGMA foreign_key_check` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKeyViolation {
    /// The table holding the row.
    pub table: String,
    /// The row's rowid; `None` for a `WITHOUT ROWID` table.
    pub rowid: Option<i64>,
    /// The table its foreign key references.
    pub parent: String,
}

impl ForeignKeyViolation {
    /// How many violations an error lists.
    pub const MAX_LISTED: usize = 10;
}

impl std::fmt::Display for ForeignKeyViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.rowid {
            Some(rowid) => write!(f, "the row of `{}` with rowid {rowid}", self.table)?,
            None => write!(f, "a row of `{}`", self.table)?,
        }
        write!(f, " references a row of `{}` that does not exist", self.parent)
    }
}

impl From<PlanError> for Error {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Target(t) => Error::Target(t),
            other => Error::Plan(other),
        }
    }
}

fn list(problems: &[HistoryProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Error {
    /// [`Error::RunnerNotEmbedded`] for `m`, which `needs` what its list
    /// lacks, after the run `applied` these (a step's failure gets them from
    /// `run::apply`).
    pub(crate) fn runner_not_embedded(m: &migrate_core::Migration, needs: &'static str, applied: Vec<String>) -> Error {
        Error::RunnerNotEmbedded {
            revision: m.revision().to_owned(),
            file: m.file().to_owned(),
            needs,
            applied,
        }
    }

    /// [`Error::Stopped`] before `next` (or inside it, a backfill; `None`:
    /// at the lock), with nothing yet said of what the run did: `run::apply`
    /// fills that in from its report.
    pub(crate) fn stopped(next: Option<&str>, inside_backfill: bool) -> Error {
        Error::Stopped {
            done: Vec::new(),
            next: next.map(str::to_owned),
            inside_backfill,
        }
    }

    /// Whether it lists the revisions its run had completed (`applied`), so
    /// that it needs no [`Error::Interrupted`] around it.
    pub(crate) fn names_applied(&self) -> bool {
        matches!(
            self,
            Error::Migration { .. }
                | Error::RunRolledBack { .. }
                | Error::DanglingForeignKeys { .. }
                | Error::RustNotEmbedded { .. }
                | Error::RunnerNotEmbedded { .. }
                | Error::Backfill { .. }
                | Error::Stopped { .. }
        )
    }
}

/// What a stopped run did before it stopped, after `lead`; empty when nothing.
fn stopped_note(done: &[String], lead: &str) -> String {
    match done {
        [] => String::new(),
        [one] => format!("{lead}revision `{one}` was done before and stays so"),
        [.., last] => format!(
            "{lead}the {} revisions done before stay so, the last `{last}`",
            done.len()
        ),
    }
}

fn applied_note(applied: &[String]) -> String {
    if applied.is_empty() {
        "nothing else was changed by this run".into()
    } else {
        format!(
            "this run had already completed {}, which stay{} done",
            applied.join(", "),
            if applied.len() == 1 { "s" } else { "" }
        )
    }
}

/// The database's error as a user reads it: on PostgreSQL the server's
/// message with its detail and hint (sqlx's own text appends "at line N",
/// the line of the server's C source, which reads as a line of the migration).
pub(crate) fn db_message(e: &sqlx::Error) -> String {
    // The runtime's carrier of a database's message it holds as text (one with
    // its secrets taken out, one a batch's blocking thread read): as it is.
    if let sqlx::Error::Protocol(text) = e {
        return text.clone();
    }
    #[cfg(feature = "postgres")]
    if let Some(pg) = e
        .as_database_error()
        .and_then(|d| d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
    {
        let mut text = format!("error returned from database: {}", pg.message());
        if let Some(detail) = pg.detail() {
            text.push_str(&format!(" (detail: {detail})"));
        }
        if let Some(hint) = pg.hint() {
            text.push_str(&format!(" (hint: {hint})"));
        }
        return text;
    }
    e.to_string()
}

/// The character position PostgreSQL gives for an error, 1-based, in the text sent.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn error_position(e: &sqlx::Error) -> Option<usize> {
    #[cfg(feature = "postgres")]
    if let Some(pg) = e
        .as_database_error()
        .and_then(|d| d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
    {
        return match pg.position()? {
            sqlx::postgres::PgErrorPosition::Original(p) => Some(p),
            _ => None,
        };
    }
    let _ = e;
    None
}

/// Wraps a database error with what the runtime was doing.
pub(crate) fn db(context: impl Into<String>) -> impl FnOnce(sqlx::Error) -> Error {
    let context = context.into();
    move |source| Error::Database { context, source }
}

/// The runtime's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
