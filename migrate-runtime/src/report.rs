//! What a run did, and what the history says: the values the runtime returns.

use migrate_core::{Direction, Phase, State};
use std::time::Duration;

/// One migration run (or recorded, for stamp) by a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    /// The revision.
    pub revision: String,
    /// Its message.
    pub message: String,
    /// Applied or unapplied.
    pub direction: Direction,
    /// How long its SQL took (zero when stamping).
    pub duration: Duration,
    /// The SQL it ran when it was a downgrade stored in the history table
    /// (a revision this build has no file for, unapplied with
    /// [`use_stored_downgrade`](crate::Migrator::use_stored_downgrade)).
    pub stored_downgrade: Option<String>,
}

/// What a call to upgrade, downgrade or stamp did, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// The steps, in the order they ran.
    pub steps: Vec<StepReport>,
    /// The `contract` revision an upgrade limited to the expand phase
    /// ([`Migrator::phase`](crate::Migrator::phase)) stopped before, if it did.
    pub held_back: Option<String>,
    /// The backfill revision this run stopped between batches, left in
    /// progress ([`State::Backfilling`]) because
    /// [`Migrator::max_duration`](crate::Migrator::max_duration) ran out:
    /// the next upgrade resumes it after its last committed batch.
    pub paused: Option<String>,
    /// The repeatable revisions an upgrade to head left as they were,
    /// though their files differ from their rows, because the history holds
    /// revisions this build does not know: a newer build migrated the
    /// database and wrote those rows, and an older build running beside it
    /// (a rolling deploy) must not put its older texts back. Empty otherwise.
    pub repeatables_left: Vec<String>,
}

/// Where a backfill stands after a committed batch, as
/// [`Progress::backfill`](crate::Progress) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillProgress {
    /// The rows its committed batches changed, in this run and earlier ones.
    pub rows: u64,
    /// The batches committed, in this run and earlier ones.
    pub batches_done: u64,
    /// The batches from the key's minimum to its maximum as they stood when it began.
    pub batches: u64,
    /// The first key value of the next batch: every value below is done.
    pub next: i128,
    /// The key's maximum when it began, the last value a batch covers.
    pub last: i128,
    /// The time left, estimated from this run's batches so far.
    pub remaining: Option<Duration>,
}

impl Report {
    /// Whether nothing was done (the database was already at the target).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The revisions, in the order they ran.
    pub fn revisions(&self) -> Vec<&str> {
        self.steps.iter().map(|s| s.revision.as_str()).collect()
    }
}

/// A row of the history table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// When it was applied (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
    pub applied_at: String,
    /// How long its SQL took.
    pub execution_time: Duration,
    /// [`State::Applied`], or the state of a run that did not finish
    /// ([`State::Upgrading`], [`State::UpgradeFailed`], ...).
    pub state: State,
    /// The error recorded for a failed run.
    pub error: Option<String>,
    /// The checksum recorded when it ran.
    pub checksum: String,
    /// Whether its downgrade section was stored with it, so a build without
    /// its file can unapply it.
    pub stored_downgrade: bool,
    /// For a migration run statement by statement, how many statements
    /// completed; `None` for a row written before statements were counted.
    pub statements_done: Option<u64>,
    /// A backfill's progress as its row records it (`remaining` is `None`);
    /// `None` for any other revision.
    pub backfill: Option<BackfillProgress>,
}

/// One revision in [`history`](crate::Migrations::history): known, applied, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The revision id.
    pub revision: String,
    /// Its parents.
    pub down_revisions: Vec<String>,
    /// Its message.
    pub message: String,
    /// Whether this build knows the revision (false: only the database has it).
    pub known: bool,
    /// Its phase: from its file, or for a revision only the database has, from its row.
    pub phase: Option<Phase>,
    /// The history row, if it has been applied.
    pub applied: Option<Applied>,
    /// A repeatable revision (`repeatable:<name>`) the next upgrade to head
    /// applies (again): its row records a checksum its file no longer has,
    /// it is not applied, or it depends (`-- depends_on: repeatable:NAME`)
    /// on one of those. False for every revision.
    pub due: bool,
}

/// What one revision's round trip found ([`Migrator::verify_round_trips`](crate::Migrator::verify_round_trips)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoundTripOutcome {
    /// Its downgrade gave back the schema its upgrade started from.
    Restored,
    /// It has no downgrade section: upgraded, never downgraded.
    Irreversible,
    /// Its downgrade left these differences from the schema before its upgrade,
    /// as `check --schema` prints them (`Detected added index …`: the downgrade left an index behind).
    Differs(Vec<String>),
    /// Its downgrade failed with this error; the walk stopped there.
    DowngradeFailed(String),
}

/// One revision's round trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundTrip {
    /// The revision.
    pub revision: String,
    /// Its message.
    pub message: String,
    /// What its upgrade, downgrade and upgrade again found.
    pub outcome: RoundTripOutcome,
    /// Its first upgrade statement by statement, with the strongest lock each
    /// took on each table that existed before it, against its
    /// `-- migrate:max-lock:` budget (outcome [`StepOutcome::OverBudget`](crate::StepOutcome::OverBudget)
    /// when over it): measured by rehearsing the step (a transaction rolled
    /// back) just before it runs, or, for a `-- migrate:no-transaction` step on
    /// PostgreSQL, by a second session watching `pg_locks` while it runs (rows
    /// and times are then not measured). `None` where the database cannot
    /// measure them (MySQL, MariaDB).
    pub locks: Option<crate::RehearsedStep>,
}

impl RoundTrip {
    /// Whether its upgrade took a lock over its `-- migrate:max-lock:` budget.
    pub fn over_budget(&self) -> bool {
        self.locks
            .as_ref()
            .is_some_and(|l| matches!(l.outcome, crate::StepOutcome::OverBudget { .. }))
    }
}

/// Every revision's round trip, and the final downgrade to base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundTrips {
    /// In application order.
    pub revisions: Vec<RoundTrip>,
    /// What the database still held after `downgrade base`, compared with the
    /// empty database it started as (for
    /// [`Migrator::verify_pending_round_trips`](crate::Migrator::verify_pending_round_trips),
    /// after the walked revisions went down, compared with the schema the walk
    /// started from); `None` when a revision that cannot be
    /// downgraded (irreversible, or recorded without running after its
    /// downgrade left something behind) kept the walk from going down to
    /// base, or the walk stopped.
    pub at_base: Option<Vec<String>>,
    /// Why the walk stopped before the end: an upgrade failed (often the
    /// upgrade again after a downgrade that left something behind, on a
    /// database whose DDL cannot be rolled back).
    pub stopped: Option<String>,
    /// How the walk went on past a broken downgrade: a revision whose upgrade
    /// could not run again over what its downgrade left (and was rolled back)
    /// is recorded as applied without running, and the walk goes on.
    pub notes: Vec<String>,
    /// The repeatable revisions (`repeatable:<name>`) the walk applied at its
    /// end, on top of head, in the order they ran: a walk over a list with
    /// repeatables ends with an upgrade to head that applies them (leaving
    /// the database there). A failure is in [`stopped`](Self::stopped).
    pub repeatables: Vec<String>,
}

impl RoundTrips {
    /// Whether every reversible revision gave back its schema and base was empty again.
    pub fn is_ok(&self) -> bool {
        self.stopped.is_none()
            && self.revisions.iter().all(|r| {
                matches!(r.outcome, RoundTripOutcome::Restored | RoundTripOutcome::Irreversible) && !r.over_budget()
            })
            && self.at_base.as_ref().is_none_or(Vec::is_empty)
    }
}
