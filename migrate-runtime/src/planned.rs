//! Plans a reviewer approves: [`PendingPlan`], what an upgrade would run as
//! the database stands now ([`Migrator::plan_upgrade`](crate::Migrator::plan_upgrade)),
//! and [`PlanMoved`], each way the database or the migrations moved since,
//! for which [`Migrator::upgrade_exactly`](crate::Migrator::upgrade_exactly)
//! refuses, changing nothing.
//!
//! The values are plain data: the command line writes them as a JSON file
//! (`migrate upgrade --plan`), an application may keep them as it likes.

use crate::dialect::Dialect;
use crate::table::HistoryTable;
use migrate_core::schema::Schema;
use migrate_core::{Direction, Target};

/// What an upgrade would run on one database as it stands: the target, where
/// the history stood, each step with its exact SQL, and the live schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPlan {
    /// The target the steps reach.
    pub target: Target,
    /// The database's dialect.
    pub dialect: Dialect,
    /// The history table.
    pub table: HistoryTable,
    /// The revisions the history table held, in application order (then any
    /// this list does not know).
    pub applied: Vec<String>,
    /// The digest of the history rows as they stood (`migrate_core::Digest`).
    pub digest: String,
    /// The steps, in the order they run.
    pub steps: Vec<PlannedStep>,
    /// The live schema as the catalog readers read it, the runtime's own
    /// tables left out (feature `catalog`; `None` without it). When set,
    /// [`upgrade_exactly`](crate::Migrator::upgrade_exactly) reads the schema
    /// again under the run's lock and refuses when it differs.
    pub schema: Option<Schema>,
}

/// One step of a [`PendingPlan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedStep {
    /// The revision.
    pub revision: String,
    /// Its message.
    pub message: String,
    /// Its file, as the list names it.
    pub file: String,
    /// Always [`Direction::Upgrade`] for now.
    pub direction: Direction,
    /// Its checksum (`migrate_core::Checksum`, hex).
    pub checksum: String,
    /// `-- migrate:no-transaction`: it runs outside a transaction.
    pub no_transaction: bool,
    /// The SQL it runs, as an offline script writes it ([`crate::offline::step_sql`]).
    pub sql: String,
}

/// One way the database or the migrations moved since a plan was made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanMoved {
    /// The plan was made for another database kind.
    Dialect {
        /// The plan's.
        planned: Dialect,
        /// The database's.
        now: Dialect,
    },
    /// The plan was made for another history table.
    Table {
        /// The plan's.
        planned: String,
        /// This run's.
        now: String,
    },
    /// A revision was applied since the plan was made.
    Applied {
        /// The revision.
        revision: String,
    },
    /// A revision the plan saw applied is no longer.
    Unapplied {
        /// The revision.
        revision: String,
    },
    /// The same revisions are applied, but their rows changed (a checksum, a state).
    Digest {
        /// The plan's digest.
        planned: String,
        /// The history's now.
        now: String,
    },
    /// The target now resolves to other steps.
    Steps {
        /// The plan's revisions.
        planned: Vec<String>,
        /// The revisions the upgrade would run now.
        now: Vec<String>,
    },
    /// A step's checksum or SQL differs from the migration's now: the file
    /// changed since, or the plan was edited.
    Step {
        /// The revision.
        revision: String,
        /// Its file.
        file: String,
        /// `checksum`, `SQL` or `no-transaction`.
        what: &'static str,
    },
    /// The live schema differs from the plan's.
    Schema {
        /// What differs, one line each (`added column "item"."note"`).
        differences: Vec<String>,
    },
    /// The plan holds a schema, and this build cannot read one (feature `catalog`).
    SchemaUnread,
}

impl std::fmt::Display for PlanMoved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanMoved::Dialect { planned, now } => {
                write!(f, "the plan was written for {planned}, and this database is {now}")
            }
            PlanMoved::Table { planned, now } => write!(
                f,
                "the plan was written for the history table `{planned}`, and this run uses `{now}`"
            ),
            PlanMoved::Applied { revision } => {
                write!(f, "revision `{revision}` was applied since the plan was written")
            }
            PlanMoved::Unapplied { revision } => {
                write!(f, "revision `{revision}` was unapplied since the plan was written")
            }
            PlanMoved::Digest { planned, now } => write!(
                f,
                "the history rows changed since the plan was written (a checksum or a state): its digest was {planned}, it is {now}"
            ),
            PlanMoved::Steps { planned, now } => write!(
                f,
                "the plan's target now resolves to other steps: planned {}, now {}",
                listed(planned),
                listed(now)
            ),
            PlanMoved::Step { revision, file, what } => write!(
                f,
                "the {what} of revision `{revision}` ({file}) differs from the plan's: the file changed since the plan was written, or the plan was edited"
            ),
            PlanMoved::Schema { differences } => write!(
                f,
                "the schema changed since the plan was written: {}",
                differences.join("; ")
            ),
            PlanMoved::SchemaUnread => write!(
                f,
                "the plan holds the schema it was written against, and this build cannot read one (it needs the `catalog` feature)"
            ),
        }
    }
}

fn listed(ids: &[String]) -> String {
    if ids.is_empty() {
        "none".to_owned()
    } else {
        ids.join(", ")
    }
}

/// What differs between the plan's schema and the live one, one line each.
pub(crate) fn schema_differences(planned: &Schema, live: &Schema) -> Vec<String> {
    let renames = migrate_core::schema::Renames::default();
    let mut out: Vec<String> = match migrate_core::schema::compare(planned, live, &renames, true) {
        Ok(diff) => {
            let mut lines: Vec<String> = diff
                .detected()
                .into_iter()
                .map(|d| d.text.strip_prefix("Detected ").unwrap_or(&d.text).to_owned())
                .collect();
            lines.extend(diff.not_generated.iter().cloned());
            lines
        }
        Err(e) => vec![e.to_string()],
    };
    if out.is_empty() {
        out.push("a definition as the server prints it (the comparison names no object)".to_owned());
    }
    out
}
