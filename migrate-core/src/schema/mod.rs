//! Schemas as the database holds them, compared and turned into migrations:
//! what `migrate revision --autogenerate`, `migrate check --schema` and
//! `migrate schema dump` are built on.
//!
//! The runtime's catalog readers fill a [`Schema`] from a live database (the
//! migrations applied to one scratch database, `schema.sql` run in another),
//! so both sides were normalised by the same server. This module is pure:
//! [`compare`] matches the two models (renames only where `schema.sql` says
//! `-- migrate:renamed-from OLD`, see [`renames`]), and [`render`] writes the
//! statements of one dialect, upgrade and downgrade alike: the downgrade is
//! the comparison made the other way, not the upgrade inverted.

pub mod compare;
pub mod file;
pub mod model;
pub(crate) mod reach;
pub mod renames;
pub mod render;
pub mod script;
pub mod text;

pub use compare::{Diff, RenameError, compare};
pub use file::check_file;
pub use model::{Column, Constraint, ConstraintKind, EnumType, Index, Object, PartitionOf, Schema, Sequence, Table};
pub use renames::{Renames, RenamesError, RenamesErrorKind, renames};
pub use render::{Rendered, Statement, render};

pub use crate::dialect::Dialect;

/// A migration generated from two schemas: what was detected, the upgrade,
/// and the downgrade (the comparison made the other way).
#[derive(Debug, Clone)]
pub struct Generated {
    /// A line per change, in the upgrade's order.
    pub detected: Vec<compare::Detected>,
    /// Differences the generator does not write (`kind name (added|removed|changed)`).
    pub not_generated: Vec<String>,
    /// Turns `before` into `after`.
    pub upgrade: Rendered,
    /// Turns `after` back into `before`.
    pub downgrade: Rendered,
    /// The dialect both are written in.
    pub dialect: Dialect,
}

impl Generated {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.upgrade.statements.is_empty()
    }

    /// The revision file: the usual header (with `-- migrate:foreign-keys-off`
    /// when a SQLite table is rebuilt either way), the upgrade and the downgrade.
    pub fn file(&self, message: &str, revision: &str, parents: &[&str], created: &str) -> String {
        let note = "-- Written by `migrate revision --autogenerate`: read it before it runs, above all every `-- REVIEW:` line.\n";
        // A string holding a carriage return (or another control character) is
        // escaped, so that the file gives the server the same value.
        let safe = |sql: String| match crate::sql::escape::file_safe(&sql, self.dialect) {
            Ok(escaped) => escaped,
            Err(e) => format!("-- REVIEW: {e}: check that statement below by hand.\n{sql}"),
        };
        let up = format!("{note}{}", safe(self.upgrade.sql()));
        let down = safe(self.downgrade.sql());
        let text = crate::format::render(message, revision, parents, created, up.trim_end(), down.trim_end());
        if self.upgrade.foreign_keys_off || self.downgrade.foreign_keys_off {
            let marker = format!("\n{}\n", crate::format::UPGRADE_MARKER);
            text.replacen(
                &marker,
                &format!("\n{}\n{}\n", FOREIGN_KEYS_OFF, crate::format::UPGRADE_MARKER),
                1,
            )
        } else {
            text
        }
    }
}

/// The header directive a SQLite table rebuild needs (foreign keys off for the step).
pub const FOREIGN_KEYS_OFF: &str = "-- migrate:foreign-keys-off";

/// Compares `before` (the migrations' end state) with `after` (the wanted
/// schema) both ways and renders both directions in `dialect`.
pub fn generate(
    dialect: Dialect,
    before: &Schema,
    after: &Schema,
    renames: &Renames,
    allow_destructive: bool,
) -> Result<Generated, RenameError> {
    let up = compare(before, after, renames, allow_destructive)?;
    let back = renames.reversed();
    let down = compare(after, before, &back, true)?;
    Ok(Generated {
        detected: up.detected(),
        not_generated: up.not_generated.clone(),
        upgrade: render(dialect, &up, before, after),
        downgrade: render(dialect, &down, after, before),
        dialect,
    })
}
