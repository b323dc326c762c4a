//! A step's session settings (timeouts, MySQL's `foreign_key_checks`) as
//! statements: [`Guards`], which each database writes in its own file
//! ([`Backend::guards`]).

use super::Settings;
use migrate_core::Migration;
use std::time::Duration;

/// A step's session settings as statements of its database: its timeouts
/// (its header's, else the run's) and, on MySQL, its `foreign_key_checks`
/// (off for a `-- migrate:foreign-keys-off` step).
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct Guards {
    /// Statements for the start of the step's transaction (PostgreSQL `SET LOCAL`).
    pub local: String,
    /// The statement setting them for the session, for a step run statement by statement.
    pub set: Option<String>,
    /// The query that reads, before `set`, the statement putting the session's
    /// own values back (a pool's `after_connect` may have set them).
    pub save: Option<String>,
}

impl Guards {
    /// No setting: SQLite has neither timeout (the run holds the database's one write lock).
    pub fn none() -> Guards {
        Guards::default()
    }

    /// The step's lock and statement timeouts: its header's, else the run's.
    pub fn timeouts(s: &Settings, m: &Migration) -> (Option<Duration>, Option<Duration>) {
        let directives = m.directives();
        (
            directives.lock_timeout.or(s.ddl_lock_timeout),
            directives.statement_timeout.or(s.statement_timeout),
        )
    }
}
