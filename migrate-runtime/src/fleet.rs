//! Many databases, or many schemas of one, migrated the same way with a
//! bounded number at a time: [`each`] runs any call on each, and
//! [`Migrator::upgrade_each`](crate::Migrator::upgrade_each) and
//! `Migrator::upgrade_schemas` are the usual ones.
//!
//! The runs share one task: migrations wait on the database, not on the CPU,
//! so `jobs` runs are in flight at once without threads, and one database's
//! failure does not stop the others unless `fail_fast` is set.

#[cfg(feature = "postgres")]
pub use crate::migrator::schemas_like;
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
    /// Not run: an earlier database failed and `fail_fast` was set.
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
        while !stop && running.len() < jobs.max(1) {
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
