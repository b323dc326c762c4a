//! Internal crate of [`migrate`](https://docs.rs/migrate): applies migration
//! plans to databases through sqlx.
//!
//! It owns the history table, the migration lock and the execution of
//! plans on SQLite (feature `sqlite`), PostgreSQL (`postgres`) and
//! MySQL/MariaDB (`mysql`). It does not parse files or compute plans (that
//! is `migrate-core`) and it knows nothing of the command line. Database
//! differences live in one sealed trait, [`Driver`]. Depend on `migrate`,
//! not on this crate: its API may change in any release.

// Errors are returned once per run, never in a loop: their size costs nothing,
// and flat variants keep them easy to match.
#![allow(clippy::result_large_err)]

mod adopt;
#[cfg(feature = "catalog")]
pub mod catalog;
pub mod dialect;
pub mod driver;
mod error;
pub mod fleet;
mod into_target;
mod lock_mode;
mod migrator;
pub mod offline;
mod planned;
mod rehearsal;
mod report;
#[cfg(feature = "catalog")]
mod round_trips;
mod run;
pub mod rust;
#[cfg(feature = "server")]
pub mod server;
mod sets;
pub mod split;
mod table;
#[cfg(feature = "testing")]
pub mod testing;
mod vars;

pub use adopt::ToolRow;
pub use dialect::{Dialect, HistorySql, ToolHistory};
pub use driver::{Driver, Handle};
pub use error::{Error, ForeignKeyViolation, Result};
pub use migrator::{
    Connect, DEFAULT_LEASE_TTL, DEFAULT_LOCK_ATTEMPTS, DEFAULT_LOCK_TIMEOUT, IntoTarget, LockMode, MAX_LEASE_TTL,
    Migrations, Migrator, Progress, Resolution, UnknownLockMode,
};
pub use offline::ScriptRange;
pub use planned::{PendingPlan, PlanMoved, PlannedStep};
pub use rehearsal::{
    LeftBehind, Rehearsal, RehearsedOn, RehearsedStatement, RehearsedStep, SequenceAdvanced, StepOutcome, TakenLock,
};
pub use report::{
    Applied, BackfillProgress, HistoryEntry, Report, RoundTrip, RoundTripOutcome, RoundTrips, StepReport,
};
pub use rust::{BatchFuture, BatchResult, Connection, RustResult, WrongDatabase, backfill};
pub use sets::Sets;
pub use table::{DEFAULT_TABLE, HistoryTable};
