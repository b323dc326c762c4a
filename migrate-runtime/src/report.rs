//! What a run did, and what the history says: the values the runtime returns.

use migrate_core::{Direction, State};
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
}

/// What a call to upgrade, downgrade or stamp did, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// The steps, in the order they ran.
    pub steps: Vec<StepReport>,
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
    /// The history row, if it has been applied.
    pub applied: Option<Applied>,
}
