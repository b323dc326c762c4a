//! The one life of a throw-away database, a test's ([`TEST`]) or a command's
//! scratch one ([`SCRATCH`]): [`Kind::create`] names it
//! `<prefix><unix seconds>_<pid>_<n>` and makes it, after sweeping what
//! earlier runs left on that server (once per process); [`Throwaway::until`]
//! runs the work on it, stopped early by an interrupt (Ctrl-C); and
//! [`Throwaway::finish`] drops it, or keeps it marked for inspection (a
//! failed test's). A sweep drops those older than [`KEEP_FOR`] and, on a
//! server on this machine, unmarked ones whose process is gone (a killed run).

use super::{Error, Server};
use crate::dialect::Dialect;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::Poll;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a throw-away database left behind (by a killed run, or kept for
/// a failed test) survives before a later run drops it.
pub const KEEP_FOR: Duration = Duration::from_secs(3600);

/// A kind of throw-away database: the prefix of its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    prefix: &'static str,
}

/// `#[migrate::test]`'s databases (and SQLite files): `migrate_test_…`.
pub const TEST: Kind = Kind {
    prefix: "migrate_test_",
};

/// The command line's scratch databases (autogenerate, `migrate test`): `migrate_scratch_…`.
pub const SCRATCH: Kind = Kind {
    prefix: "migrate_scratch_",
};

/// Throw-away databases this process has named.
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The servers (with the kind's prefix) this process has swept.
static SWEPT: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Whether process `pid` has ended (known only where `/proc` is).
fn process_is_gone(pid: u32) -> bool {
    let proc = std::path::Path::new("/proc");
    proc.join("self").exists() && !proc.join(pid.to_string()).exists()
}

impl Kind {
    /// The prefix of every name of this kind.
    pub const fn prefix(self) -> &'static str {
        self.prefix
    }

    /// A name no other database, process or run uses.
    pub fn unique_name(self) -> String {
        format!(
            "{}{}_{}_{}",
            self.prefix,
            now_secs(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Whether the database (or file) `name` is left over: older than
    /// [`KEEP_FOR`], or, not `kept` and on a server on this machine
    /// (`local`), made by a process that is gone.
    pub fn is_stale(self, name: &str, kept: bool, local: bool) -> bool {
        let Some(rest) = name.strip_prefix(self.prefix) else {
            return false;
        };
        let mut parts = rest.splitn(3, '_');
        let (Some(Ok(secs)), Some(Ok(pid))) =
            (parts.next().map(str::parse::<u64>), parts.next().map(str::parse::<u32>))
        else {
            return false;
        };
        if now_secs().saturating_sub(secs) > KEEP_FOR.as_secs() {
            return true;
        }
        !kept && local && pid != std::process::id() && process_is_gone(pid)
    }

    /// Drops the databases of this kind on `server` that earlier runs left
    /// ([`is_stale`](Self::is_stale)). Failures are logged, not returned:
    /// another run may be dropping the same one.
    pub async fn sweep(self, server: &mut dyn Server) {
        let local = server.is_local();
        let found = match server.list_databases(self.prefix).await {
            Ok(found) => found,
            Err(e) => {
                tracing::debug!(error = %e, "cannot list the databases earlier runs left");
                return;
            }
        };
        for db in found.into_iter().filter(|db| self.is_stale(&db.name, db.kept, local)) {
            tracing::debug!(database = %db.name, "dropping a throw-away database left by an earlier run");
            if let Err(e) = server.drop_database(&db.name).await {
                tracing::debug!(error = %e, "another run may be dropping it");
            }
        }
    }

    /// Whether this process still has to sweep this kind on `server`; marks it swept.
    fn first_sweep(self, server: &dyn Server) -> bool {
        let key = format!("{} {}", self.prefix, server.url());
        let mut swept = SWEPT.lock().unwrap_or_else(|e| e.into_inner());
        if swept.contains(&key) {
            return false;
        }
        swept.push(key);
        true
    }

    /// Makes a new database of this kind on `server` (a copy of `template`
    /// where [`Server::create_database`] copies one), after sweeping the
    /// server once per process.
    pub async fn create(self, server: &mut dyn Server, template: Option<&str>) -> Result<Throwaway, Error> {
        if self.first_sweep(server) {
            self.sweep(server).await;
        }
        let name = self.unique_name();
        server.create_database(&name, template).await?;
        Ok(Throwaway {
            dialect: server.dialect(),
            url: server.url_with_database(&name),
            location: server.location(&name),
            server: server.url().to_owned(),
            name,
        })
    }
}

/// A throw-away database, made by [`Kind::create`]; [`finish`](Self::finish) ends it.
#[derive(Debug)]
pub struct Throwaway {
    dialect: Dialect,
    name: String,
    url: String,
    location: String,
    /// The server's URL, to reach it again when the database ends.
    server: String,
}

/// How a throw-away database ended.
#[derive(Debug)]
pub enum Ended {
    /// It was dropped.
    Dropped,
    /// It was to be dropped, and could not be.
    NotDropped(Error),
    /// It is kept, marked; its location.
    Kept(String),
    /// It was to be kept, and could not be marked.
    NotKept(Error),
}

impl Throwaway {
    /// Which database it is on.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Its name on the server.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL that reaches it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How a person finds it: its name, or for SQLite its file's path.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Runs `work` until it ends or `interrupt` does (Ctrl-C): `None` when
    /// interrupted, `work` then dropped where it stood. Either way,
    /// [`finish`](Self::finish) follows, once the caller has closed what it opened.
    pub async fn until<T>(&self, interrupt: impl Future<Output = ()>, work: impl Future<Output = T>) -> Option<T> {
        let mut interrupt = std::pin::pin!(interrupt);
        let mut work = std::pin::pin!(work);
        std::future::poll_fn(|cx| {
            if interrupt.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            work.as_mut().poll(cx).map(Some)
        })
        .await
    }

    /// Ends it: drops it, or with `keep` (why, e.g. "`test` failed") marks it
    /// kept so that sweeps leave it for [`KEEP_FOR`]. Every connection to it
    /// should be closed first; on PostgreSQL any left are ended.
    pub async fn finish(self, keep: Option<&str>) -> Ended {
        let failed = |e| match keep {
            None => Ended::NotDropped(e),
            Some(_) => Ended::NotKept(e),
        };
        let mut server = match super::connect(&self.server).await {
            Ok(server) => server,
            Err(e) => return failed(e),
        };
        tracing::debug!(database = %self.name, kept = keep.is_some(), "ending a throw-away database");
        let ended = match keep {
            None => server.drop_database(&self.name).await.map(|()| Ended::Dropped),
            Some(note) => server
                .keep_database(&self.name, note)
                .await
                .map(|()| Ended::Kept(self.location)),
        };
        server.close().await;
        ended.unwrap_or_else(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_staleness() {
        let fresh = TEST.unique_name();
        assert!(fresh.starts_with("migrate_test_"));
        assert!(!TEST.is_stale(&fresh, false, true), "{fresh}");
        assert!(!SCRATCH.is_stale(&fresh, false, true), "another kind's");
        let old = format!("migrate_scratch_{}_{}_0", now_secs() - 7200, std::process::id());
        assert!(SCRATCH.is_stale(&old, true, false));
        assert!(!TEST.is_stale("migrate_tpl_00_0", false, true));
    }
}
