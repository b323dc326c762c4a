//! How a run keeps other migrators out: [`LockMode`], as the builder and
//! the command line name it.

/// How a run keeps other migrators out while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LockMode {
    /// The advisory lock where it is safe, the lease where the database says
    /// it is not (a Galera node). The default.
    #[default]
    Auto,
    /// A session lock on the run's connection: `pg_advisory_lock`, `GET_LOCK`
    /// (SQLite: always its write lock). Needs one server session for the whole
    /// run: not behind a transaction-pooling PgBouncer, not on Galera. On
    /// PostgreSQL a session that already holds it counts as another holder
    /// (behind such a pooler, another client took it there), and each
    /// migration's transaction (a fresh database's one transaction) is refused
    /// before it changes anything unless it runs in the session holding the
    /// lock, naming the lease.
    Advisory,
    /// A row of the `migrate_lease` table, taken with one atomic statement,
    /// renewed as the run goes, checked inside each step's transaction before
    /// it commits, and taken over by another migrator only after it expired.
    /// Needs no session state: for PgBouncer in transaction mode and clusters.
    Lease,
}

/// A lock mode name that is not `auto`, `advisory` or `lease`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown lock mode `{0}`: use advisory, lease or auto")]
pub struct UnknownLockMode(pub String);

impl std::str::FromStr for LockMode {
    type Err = UnknownLockMode;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim() {
            "auto" => Ok(LockMode::Auto),
            "advisory" => Ok(LockMode::Advisory),
            "lease" => Ok(LockMode::Lease),
            other => Err(UnknownLockMode(other.to_owned())),
        }
    }
}
