//! Internal crate of [`migrate`](https://docs.rs/migrate): the pure logic.
//!
//! It owns the migration file format, checksums, the revision graph, the
//! target grammar, plans and history verification. It does no database
//! I/O and has no proc-macro dependency; [`load`] is its only module that
//! reads the disk. The `embed_migrations!` macro and the `migrate`
//! command line both validate through it, so they report the same
//! problems in the same words. Depend on `migrate`, not on this crate:
//! its API may change in any release.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod checksum;
pub mod diagnostic;
pub mod dialect;
pub mod digest;
pub mod duration;
pub mod format;
pub mod graph;
pub mod history;
pub mod lint;
pub mod load;
pub mod lock;
pub mod migration;
pub mod plan;
pub mod repeatable;
pub mod schema;
pub mod sets;
pub mod shipped;
mod sorting;
pub mod sql;
pub mod squash;
pub mod target;

pub use checksum::Checksum;
pub use diagnostic::{Diagnostic, DiagnosticKind, Diagnostics};
pub use dialect::{Dialect, UnknownDialect};
pub use digest::Digest;
pub use graph::{Graph, Unordered};
pub use history::{HistoryProblem, State};
pub use lock::TableLock;
pub use migration::{Backfill, Directives, Language, Migration, MigrationParts, Phase, UnsetVariable};
pub use plan::{Direction, Plan, PlanError};
pub use sql::vars::Variable;
pub use target::{Target, TargetError};

#[cfg(test)]
pub(crate) mod testing {
    use crate::migration::{Migration, MigrationParts};

    /// Builds migrations from a compact fixture: one `child <- parent, parent`
    /// per line, `root <-` for a root, and `; after x, y` for its
    /// `-- depends_on: x, y`.
    pub fn fixture(spec: &str) -> Vec<Migration> {
        spec.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|line| {
                let (line, after) = line.split_once("; after").unwrap_or((line, ""));
                let (id, parents) = line.split_once("<-").expect("`id <- parents`");
                let id = id.trim();
                let list = |text: &str| -> Vec<String> {
                    text.split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(String::from)
                        .collect()
                };
                Migration::new(MigrationParts {
                    revision: id.to_owned(),
                    down_revisions: list(parents),
                    message: format!("{id} message"),
                    upgrade: format!("-- up {id}"),
                    downgrade: Some(format!("-- down {id}")),
                    no_transaction: false,
                    directives: Default::default(),
                    depends_on: Vec::new(),
                    runs_after: list(after),
                    file: format!("migrations/{id}_m.sql"),
                })
            })
            .collect()
    }
}
