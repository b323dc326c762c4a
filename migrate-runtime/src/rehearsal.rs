//! A rehearsal ([`Migrator::rehearse`]): the pending chain run on the real
//! database, from its real state, with nothing kept, and what it measured:
//! per step its time, and per statement its rows and the table locks it took,
//! against the revision's `-- migrate:max-lock:` budget.
//!
//! How nothing is kept is each database's ([`crate::driver::Rehearsing`]):
//! SQLite and PostgreSQL roll one transaction back; MySQL and MariaDB, whose
//! DDL commits, run on a scratch copy of the schema, without data, dropped
//! at the end. The executor is `run::rehearse`.

use crate::error::Result;
use crate::migrator::{Connect, IntoTarget, Migrator};
use migrate_core::{Dialect, TableLock};
use std::time::Duration;

/// What a rehearsal ran, and what it found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Rehearsal {
    /// The database it ran on.
    pub dialect: Dialect,
    /// Where it ran, and how nothing was kept.
    pub on: RehearsedOn,
    /// Every pending step of the plan, in order, each with what became of it.
    pub steps: Vec<RehearsedStep>,
    /// Why no table lock could be read, when none could (MySQL without
    /// MariaDB's `metadata_lock_info` plugin): the steps then list none.
    pub locks_unavailable: Option<String>,
    /// The sequences the rehearsal advanced (PostgreSQL: `nextval` is not
    /// rolled back). They are left where they are: other sessions may have
    /// taken values since, and setting them back could hand a value out twice.
    pub sequences_advanced: Vec<SequenceAdvanced>,
    /// The scratch databases earlier rehearsals of this database left behind
    /// when they were killed before they could drop them (MySQL, MariaDB).
    pub left_behind: LeftBehind,
}

/// Scratch databases that earlier rehearsals left behind: named as a
/// rehearsal names its copy (`<database>_rehearse_<8 hex digits>`), with no
/// live rehearsal's session holding them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeftBehind {
    /// Dropped by this rehearsal.
    pub dropped: Vec<String>,
    /// Left for a person to drop, each with why: on a Galera cluster, where a
    /// session's named lock holds on its node only, so that another node's
    /// live rehearsal cannot be told apart; or its drop failed.
    pub kept: Vec<(String, String)>,
}

/// A sequence a rehearsal advanced, which its rollback did not set back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SequenceAdvanced {
    /// `schema.name`.
    pub sequence: String,
    /// Its last value before the rehearsal (`None`: never used).
    pub before: Option<i64>,
    /// Its last value after.
    pub after: i64,
}

/// The sequences whose last value moved between `before` and `after`.
pub(crate) fn advanced(before: &[(String, Option<i64>)], after: Vec<(String, Option<i64>)>) -> Vec<SequenceAdvanced> {
    after
        .into_iter()
        .filter_map(|(sequence, now)| {
            let was = before.iter().find(|(name, _)| *name == sequence)?.1;
            let after = now.filter(|&n| Some(n) != was)?;
            Some(SequenceAdvanced {
                sequence,
                before: was,
                after,
            })
        })
        .collect()
}

/// Where a rehearsal ran.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RehearsedOn {
    /// The real database, in one transaction rolled back at the end (SQLite, PostgreSQL).
    RolledBack,
    /// A scratch database on the same server (dropped at the end) holding a
    /// copy of the real one's schema and history rows, without its data
    /// (MySQL, MariaDB).
    SchemaCopy {
        /// The scratch database's name (`<database>_rehearse_<random>`).
        database: String,
    },
}

/// One pending step of a rehearsal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RehearsedStep {
    pub revision: String,
    pub message: String,
    /// The migration's file.
    pub file: String,
    /// Its `-- migrate:max-lock:` budget.
    pub max_lock: Option<TableLock>,
    pub outcome: StepOutcome,
    /// How long its statements and its history row took.
    pub duration: Duration,
    /// The statements that ran (up to the failing one, included).
    pub statements: Vec<RehearsedStatement>,
}

/// What became of a step in a rehearsal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StepOutcome {
    /// Every statement ran, within the budget.
    Ran,
    /// A statement failed: the rehearsal stopped here.
    Failed {
        /// Its number in the step (from 1).
        statement: usize,
        /// Its line in the migration's file.
        line: usize,
        /// The database's message.
        error: String,
    },
    /// Every statement ran, and one (the first named here) took a lock
    /// stronger than the step's `-- migrate:max-lock:` budget; the rehearsal went on.
    OverBudget {
        statement: usize,
        line: usize,
        table: String,
        lock: TableLock,
        budget: TableLock,
    },
    /// A step that cannot run inside the transaction the rehearsal rolls
    /// back (`-- migrate:no-transaction`, a backfill, a Rust revision), or
    /// one after a step that added an enum value (usable only once
    /// committed): the rehearsal stopped before it.
    NotRehearsable {
        /// What it would run.
        sql: String,
    },
    /// After a step that failed or could not be rehearsed: not run.
    NotReached,
}

/// One statement a rehearsal ran.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RehearsedStatement {
    /// Its line in the migration's file.
    pub line: usize,
    /// Its text.
    pub sql: String,
    pub duration: Duration,
    /// The rows the database says it affected (0 for most DDL).
    pub rows: u64,
    /// The strongest lock it took on each table that existed before the
    /// rehearsal, new or stronger than what the step held before it.
    pub locks: Vec<TakenLock>,
    /// Its locks could not be seen: on MySQL and MariaDB a statement that
    /// commits implicitly (DDL) releases them as it ends, before they can be
    /// read, so its `-- migrate:max-lock:` budget is not checked.
    pub locks_unseen: bool,
}

/// A table lock a statement took.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TakenLock {
    /// The table (`schema.table` on PostgreSQL; SQLite: `(database file)`).
    pub table: String,
    pub lock: TableLock,
    /// It is stronger than the step's `-- migrate:max-lock:` budget.
    pub over_budget: bool,
}

impl Rehearsal {
    /// The step that failed or went over its lock budget, first of them.
    pub fn failure(&self) -> Option<&RehearsedStep> {
        self.steps
            .iter()
            .find(|s| matches!(s.outcome, StepOutcome::Failed { .. } | StepOutcome::OverBudget { .. }))
    }

    /// Whether every step that ran succeeded within its budget (a step that
    /// could not be rehearsed, and those after it, do not fail it).
    pub fn passed(&self) -> bool {
        self.failure().is_none()
    }

    /// The step the rehearsal stopped before because it cannot be rehearsed.
    pub fn not_rehearsable(&self) -> Option<&RehearsedStep> {
        self.steps
            .iter()
            .find(|s| matches!(s.outcome, StepOutcome::NotRehearsable { .. }))
    }
}

impl<'m> Migrator<'m> {
    /// Rehearses the upgrade to `target`: the pending steps run on the real
    /// database, from its real state, under the migration lock, and nothing
    /// is kept. SQLite and PostgreSQL run them (the history table's creation
    /// and rows included) in one transaction rolled back at the end; a
    /// `-- migrate:no-transaction` step cannot be, and the rehearsal stops
    /// before it ([`StepOutcome::NotRehearsable`]). MySQL and MariaDB run
    /// them on a scratch database holding a copy of the schema and of the
    /// history rows (not of the data), dropped at the end.
    ///
    /// Each statement's rows and table locks are measured (PostgreSQL:
    /// `pg_locks`; MariaDB: `METADATA_LOCK_INFO`, when its plugin is
    /// installed; SQLite: its file lock) and checked against the step's
    /// `-- migrate:max-lock:` budget. A failing statement stops the
    /// rehearsal; either way the result is `Ok` with the report, and
    /// [`Rehearsal::passed`] says whether it passed. `Err` is for what kept
    /// it from running (the lock, a history that does not verify).
    ///
    /// ```no_run
    /// # async fn f(migrations: &migrate_runtime::Migrations, pool: &sqlx::SqlitePool) -> Result<(), migrate_runtime::Error> {
    /// let rehearsal = migrations.migrator().rehearse(pool, "head").await?;
    /// for step in &rehearsal.steps {
    ///     println!("{} {:?} in {:?}", step.revision, step.outcome, step.duration);
    /// }
    /// assert!(rehearsal.passed());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn rehearse<'c>(&self, db: impl Connect<'c>, target: impl IntoTarget) -> Result<Rehearsal> {
        self.run()?.rehearse(db.connect(), target.into_target()).await
    }
}
