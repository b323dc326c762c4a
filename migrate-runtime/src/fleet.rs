//! Many databases, or many schemas of one, migrated the same way with a
//! bounded number at a time: [`each`] runs any call on each, and
//! [`Migrator::upgrade_each`](crate::Migrator::upgrade_each) and
//! `Migrator::upgrade_schemas` are the usual ones.
//!
//! The runs share one task: migrations wait on the database, not on the CPU,
//! so `jobs` runs are in flight at once without threads, and one database's
//! failure does not stop the others unless `fail_fast` is set.

#[cfg(feature = "postgres")]
pub use crate::driver::schemas_like;
use crate::error::{Error, Result};
use crate::migrator::{Connect, IntoTarget, Migrator};
use crate::report::Report;
use crate::run::Op;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// What happened to one database of a fleet.
#[derive(Debug)]
pub enum Outcome<T, E> {
    /// The call returned this.
    Done(T),
    /// The call failed.
    Failed(E),
    /// Not run: an earlier database failed and `fail_fast` was set, or the
    /// run was asked to stop ([`each_until`]).
    NotRun,
}

/// One database of a fleet: its name (a URL with its password masked, a
/// schema, a file) and what happened to it.
#[derive(Debug)]
pub struct Entry<T, E> {
    /// The name given with it.
    pub database: String,
    /// What happened.
    pub outcome: Outcome<T, E>,
}

impl<T, E> Entry<T, E> {
    /// Whether the call failed on this database.
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_))
    }
}

/// Runs `call` on every item, at most `jobs` at once (at least one), in the
/// order given; returns one entry per item, in that order. With
/// `fail_fast`, once one fails no new one starts (those running finish).
pub async fn each<X, T, E, F, Fut>(
    items: impl IntoIterator<Item = (String, X)>,
    jobs: usize,
    fail_fast: bool,
    call: F,
) -> Vec<Entry<T, E>>
where
    F: FnMut(X) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    each_until(items, jobs, fail_fast, || false, call).await
}

/// [`each`], starting no new item once `stop` says true (those running
/// finish; the rest are [`Outcome::NotRun`]): a fleet stopped on a signal.
pub async fn each_until<X, T, E, F, Fut>(
    items: impl IntoIterator<Item = (String, X)>,
    jobs: usize,
    fail_fast: bool,
    stop_when: impl Fn() -> bool,
    mut call: F,
) -> Vec<Entry<T, E>>
where
    F: FnMut(X) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut waiting = items.into_iter();
    let mut entries: Vec<Entry<T, E>> = Vec::new();
    let mut running: Vec<(usize, Pin<Box<Fut>>)> = Vec::new();
    let mut stop = false;
    loop {
        while !stop && !stop_when() && running.len() < jobs.max(1) {
            let Some((database, item)) = waiting.next() else { break };
            running.push((entries.len(), Box::pin(call(item))));
            entries.push(Entry {
                database,
                outcome: Outcome::NotRun,
            });
        }
        if running.is_empty() {
            break;
        }
        let (k, result) = std::future::poll_fn(|cx| {
            for (k, (_, fut)) in running.iter_mut().enumerate() {
                if let Poll::Ready(result) = fut.as_mut().poll(cx) {
                    return Poll::Ready((k, result));
                }
            }
            Poll::Pending
        })
        .await;
        let (slot, _) = running.swap_remove(k);
        entries[slot].outcome = match result {
            Ok(t) => Outcome::Done(t),
            Err(e) => {
                stop |= fail_fast;
                Outcome::Failed(e)
            }
        };
    }
    for (database, _) in waiting {
        entries.push(Entry {
            database,
            outcome: Outcome::NotRun,
        });
    }
    entries
}

impl Migrator<'_> {
    /// Upgrades every database of `dbs` (a name for the report, such as a
    /// URL with its password masked, and a pool or connection) to `target`,
    /// at most `jobs` at once; one database's failure does not stop the
    /// others. Returns one entry per database, in the order given; fails as a
    /// whole only for a target that does not parse. Once
    /// [`stop_when`](Migrator::stop_when) says stop, no new database starts
    /// ([`Outcome::NotRun`]) and those running stop at a clean point.
    ///
    /// ```no_run
    /// # async fn f(migrations: &migrate_runtime::Migrations, tenants: Vec<(String, sqlx::SqlitePool)>) -> Result<(), migrate_runtime::Error> {
    /// let report = migrations
    ///     .migrator()
    ///     .upgrade_each(tenants.iter().map(|(name, pool)| (name.clone(), pool)), "head", 8)
    ///     .await?;
    /// for failed in report.iter().filter(|e| e.failed()) {
    ///     eprintln!("{}: {:?}", failed.database, failed.outcome);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn upgrade_each<'c, C: Connect<'c>>(
        &self,
        dbs: impl IntoIterator<Item = (String, C)>,
        target: impl IntoTarget,
        jobs: usize,
    ) -> Result<Vec<Entry<Report, Error>>> {
        let target = target.into_target()?;
        let run = self.run()?;
        let asked = || run.settings.stop_requested();
        Ok(each_until(dbs, jobs, false, asked, |db: C| {
            run.change(db.connect(), Ok(Op::Upgrade(target.clone())))
        })
        .await)
    }

    /// Upgrades every schema of the database whose name matches the `LIKE`
    /// pattern (`tenant_%`) to `target`, at most `jobs` at once, each on a
    /// connection of `pool` whose `search_path` is that schema, with its
    /// history table in it. The entries are named by schema.
    #[cfg(feature = "postgres")]
    pub async fn upgrade_schemas(
        &self,
        pool: &sqlx::PgPool,
        pattern: &str,
        target: impl IntoTarget,
        jobs: usize,
    ) -> Result<Vec<Entry<Report, Error>>> {
        let target = target.into_target()?;
        let schemas = schemas_like(pool, pattern).await?;
        let items = schemas.into_iter().map(|s| (s.clone(), s));
        let asked = || self.stop.as_ref().is_some_and(crate::driver::StopWhen::asked);
        Ok(each_until(items, jobs, false, asked, |schema: String| {
            let target = target.clone();
            async move {
                let mut conn = pool
                    .acquire()
                    .await
                    .map_err(crate::error::db("connecting to the database"))?;
                let restore = crate::driver::enter_schema(&mut conn, &schema).await?;
                let ran = self.clone().history_schema(&schema).upgrade(&mut conn, target).await;
                // The connection goes back to the pool as it came, or not at all.
                let restored = match (&ran, restore) {
                    (Ok(_), Some(sql)) => crate::driver::run(&mut *conn, sql, "restoring the search_path")
                        .await
                        .is_ok(),
                    _ => false,
                };
                if !restored {
                    conn.close_on_drop();
                }
                ran
            }
        })
        .await)
    }
}
