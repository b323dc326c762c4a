//! One revision as the runtime applies it: id, parents, SQL and checksum.
//!
//! The same type serves a list embedded at build time (borrowed `'static`
//! text, built through `const fn`) and a list loaded from disk at run time
//! (owned text), so the macro and the command line share every algorithm.

use crate::checksum::Checksum;
use std::borrow::Cow;

/// One migration revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    revision: Cow<'static, str>,
    down_revisions: Parents,
    message: Cow<'static, str>,
    checksum: Checksum,
    upgrade: Cow<'static, str>,
    downgrade: Option<Cow<'static, str>>,
    no_transaction: bool,
    file: Cow<'static, str>,
}

/// Parent ids: borrowed when embedded (so the list stays `const`), owned when loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Parents {
    Embedded(&'static [&'static str]),
    Loaded(Vec<String>),
}

/// The parts of a [`Migration`], by name, for building one at run time.
#[derive(Debug, Clone, Default)]
pub struct MigrationParts {
    /// The revision id.
    pub revision: String,
    /// The parent revision ids; empty for the root, several for a merge.
    pub down_revisions: Vec<String>,
    /// The first comment line of the file.
    pub message: String,
    /// The SQL that upgrading runs (normalised).
    pub upgrade: String,
    /// The SQL that downgrading runs; `None` when the migration is irreversible.
    pub downgrade: Option<String>,
    /// Whether the migration runs outside a transaction.
    pub no_transaction: bool,
    /// The file it came from, for messages.
    pub file: String,
}

impl Migration {
    /// Builds a migration from owned parts, computing its checksum.
    pub fn new(parts: MigrationParts) -> Migration {
        let checksum = Checksum::of(&parts.upgrade, parts.no_transaction);
        Migration {
            revision: Cow::Owned(parts.revision),
            down_revisions: Parents::Loaded(parts.down_revisions),
            message: Cow::Owned(parts.message),
            checksum,
            upgrade: Cow::Owned(parts.upgrade),
            downgrade: parts.downgrade.map(Cow::Owned),
            no_transaction: parts.no_transaction,
            file: Cow::Owned(parts.file),
        }
    }

    /// Used by `embed_migrations!`; not public API.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub const fn __embedded(
        revision: &'static str,
        down_revisions: &'static [&'static str],
        message: &'static str,
        checksum: [u8; 32],
        upgrade: &'static str,
        downgrade: Option<&'static str>,
        no_transaction: bool,
        file: &'static str,
    ) -> Migration {
        Migration {
            revision: Cow::Borrowed(revision),
            down_revisions: Parents::Embedded(down_revisions),
            message: Cow::Borrowed(message),
            checksum: Checksum(checksum),
            upgrade: Cow::Borrowed(upgrade),
            downgrade: match downgrade {
                Some(d) => Some(Cow::Borrowed(d)),
                None => None,
            },
            no_transaction,
            file: Cow::Borrowed(file),
        }
    }

    /// The revision id.
    pub fn revision(&self) -> &str {
        &self.revision
    }

    /// The parent revision ids: empty for the root, several for a merge.
    pub fn down_revisions(&self) -> impl Iterator<Item = &str> + Clone {
        let (embedded, loaded): (&[&str], &[String]) = match &self.down_revisions {
            Parents::Embedded(p) => (p, &[]),
            Parents::Loaded(p) => (&[], p),
        };
        embedded.iter().copied().chain(loaded.iter().map(String::as_str))
    }

    /// The message: the first comment line of the file.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The checksum of what upgrading executes.
    pub fn checksum(&self) -> Checksum {
        self.checksum
    }

    /// The SQL that upgrading runs; may be empty (merge revisions).
    pub fn upgrade_sql(&self) -> &str {
        &self.upgrade
    }

    /// The SQL that downgrading runs, or `None` when the migration is irreversible.
    pub fn downgrade_sql(&self) -> Option<&str> {
        self.downgrade.as_deref()
    }

    /// Whether the migration runs outside a transaction (`-- migrate:no-transaction`).
    pub fn no_transaction(&self) -> bool {
        self.no_transaction
    }

    /// The file the migration came from, relative to the crate or folder root.
    pub fn file(&self) -> &str {
        &self.file
    }
}
