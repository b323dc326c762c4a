//! What a run tells the driver: [`Settings`], resolved once by the builder, and
//! the [`Lease`] and [`Second`] connection a run may carry.

use super::*;

/// What a driver needs to know of the caller's configuration.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct Settings {
    pub table: HistoryTable,
    pub lock_timeout: Duration,
    /// PostgreSQL 14+: have the server check, during a step's transaction,
    /// that the migrator is still connected, and abort the step if it is not.
    pub watch_client: bool,
    /// How long one statement of a migration may wait for a lock on a table
    /// (`None`: the server's own setting); a revision's header can say otherwise.
    pub ddl_lock_timeout: Option<Duration>,
    /// How long one statement of a migration may run (`None`: the server's own setting).
    pub statement_timeout: Option<Duration>,
    /// How many times a migration is tried when a statement waits longer
    /// than the lock timeout (at least 1).
    pub lock_attempts: u32,
    /// MariaDB rather than MySQL: their statement timeouts differ.
    pub mariadb: bool,
    /// A second connection to the same database, from the caller's pool,
    /// to see who blocks a migration while it waits.
    pub second: Option<Second>,
    /// MySQL or MariaDB with `wsrep_on`: a Galera cluster, where a session's
    /// `GET_LOCK` is granted on one node only.
    pub galera: bool,
    /// The lease this run takes instead of an advisory lock, if it does.
    pub lease: Option<Lease>,
    /// Under an advisory lock that holds in one server session (PostgreSQL):
    /// a statement that fails unless the transaction it opens runs in the
    /// session holding the lock ([`Backend::held_lock_guard`]), set once the
    /// lock is taken; each migration's transaction and a fresh run's one
    /// transaction begin with it (a backfill's batches do not).
    pub lock_guard: Option<String>,
    /// PostgreSQL: the step runs inside the run's one transaction (a run
    /// from an empty history), framed by a savepoint instead of its own
    /// transaction (`Migrator::steps` begins and commits it).
    pub in_run_transaction: bool,
    /// Where the advisory lock can be released in the request that commits
    /// the run's last transaction ([`Backend::unlock_sql`]): set by that
    /// commit once the release went with it, so that the run does not send
    /// its own. `None`: the run releases the lock in a request of its own.
    pub released_at_commit: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// What [`Migrator::stop_when`](crate::Migrator::stop_when) was given.
    pub stop: Option<StopWhen>,
    /// What runs a `-- migrate:no-transaction` step, where the run's list
    /// holds it ([`StatementRunner`]).
    pub(crate) statements: Option<StatementRunner>,
}

/// The question [`Migrator::stop_when`](crate::Migrator::stop_when) asks
/// at each point where a run can stop cleanly.
#[doc(hidden)]
#[derive(Clone)]
pub struct StopWhen(pub(crate) Arc<dyn Fn() -> bool + Send + Sync>);

impl StopWhen {
    /// Whether the caller asks the run to stop, now.
    pub(crate) fn asked(&self) -> bool {
        (self.0)()
    }
}

impl std::fmt::Debug for StopWhen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StopWhen(..)")
    }
}

impl Settings {
    /// [`lock_guard`](Self::lock_guard) as a transaction's first statement,
    /// `;` and newline after it; empty without one.
    pub(crate) fn lock_guard_line(&self) -> String {
        self.lock_guard
            .as_deref()
            .map(|g| format!("{g};\n"))
            .unwrap_or_default()
    }

    /// Whether the caller asked the run to stop at its next clean point
    /// ([`Migrator::stop_when`](crate::Migrator::stop_when)).
    pub(crate) fn stop_requested(&self) -> bool {
        self.stop.as_ref().is_some_and(StopWhen::asked)
    }

    /// Sleeps for `pause`, or less once the caller asks the run to stop;
    /// true when it was asked (before or during the pause).
    pub(crate) async fn pause_unless_stopped(&self, pause: Duration) -> bool {
        let Some(stop) = &self.stop else {
            tokio::time::sleep(pause).await;
            return false;
        };
        // `None`: a pause longer than the clock can count lasts until a stop.
        let end = Instant::now().checked_add(pause);
        loop {
            if stop.asked() {
                return true;
            }
            let left = match end {
                Some(end) => end.saturating_duration_since(Instant::now()),
                None => Duration::MAX,
            };
            if left.is_zero() {
                return false;
            }
            tokio::time::sleep(left.min(Duration::from_millis(50))).await;
        }
    }

    /// The lease this run holds. A build for SQLite alone has none (no
    /// [`Lease`] can exist there), which the compiler sees here, so it leaves
    /// every path that holds one out of such an application.
    #[inline]
    pub(crate) fn lease(&self) -> Option<&Lease> {
        #[cfg(any(feature = "postgres", feature = "mysql"))]
        return self.lease.as_ref();
        #[cfg(not(any(feature = "postgres", feature = "mysql")))]
        None
    }
}

/// A lease on the migration lock: a row of the lease table.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct Lease {
    /// Who this run is, in the row.
    pub owner: String,
    /// How long the lease lasts unless renewed.
    pub ttl: Duration,
    /// A build for SQLite alone has no lease (SQLite's lock is its one write
    /// lock): no value of this type exists there, so the compiler leaves
    /// every path that holds one out of such an application.
    #[cfg(not(any(feature = "postgres", feature = "mysql")))]
    _never: std::convert::Infallible,
}

impl Lease {
    /// A lease for this process, named so an operator can find it: host, pid, and a unique tail.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    pub fn new(ttl: Duration) -> Lease {
        use std::sync::atomic::{AtomicU64, Ordering};
        static RUNS: AtomicU64 = AtomicU64::new(0);
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".to_owned());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        let mut owner = format!("{host} pid {} run {run}.{nanos:x}", std::process::id());
        owner.truncate(200);
        Lease { owner, ttl }
    }

    pub(crate) fn ttl_ms(&self) -> u128 {
        self.ttl.as_millis().max(1)
    }
}

/// Opens, when the caller's pool can spare one within a second, a second
/// connection to the database a run is on.
#[doc(hidden)]
#[derive(Clone)]
pub struct Second(pub(crate) Arc<dyn Fn() -> BoxFuture<'static, Option<Box<dyn Handle>>> + Send + Sync>);

impl Second {
    /// The second connection, if the pool can spare one within a second.
    pub(crate) async fn open(&self) -> Option<Box<dyn Handle>> {
        (self.0)().await
    }
}

impl std::fmt::Debug for Second {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Second")
    }
}
