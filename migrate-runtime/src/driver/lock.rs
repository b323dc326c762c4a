//! The migration lock: an advisory lock polled until the lock timeout, or a
//! lease row renewed while the run goes on.

use super::*;

/// Polls [`Backend::try_lock`] with growing pauses until the lock timeout.
pub(crate) async fn poll_lock<B: Backend + ?Sized>(conn: &mut B, s: &Settings) -> Result<()> {
    let mut wait = LockWait::new(s.lock_timeout).stopping(s);
    while !conn.try_lock(s).await? {
        wait.pause().await?;
    }
    Ok(())
}

/// The wait for another migrator's lock or lease: growing pauses (10 ms,
/// doubling, at most 200 ms) until the lock timeout, or until the caller
/// asks the run to stop.
pub(crate) struct LockWait {
    timeout: Duration,
    /// `None`: a timeout longer than the clock can count (`Duration::MAX`) waits for ever.
    deadline: Option<Instant>,
    pause: Duration,
    stop: Option<StopWhen>,
}

impl LockWait {
    fn new(timeout: Duration) -> Self {
        LockWait {
            timeout,
            deadline: Instant::now().checked_add(timeout),
            pause: Duration::from_millis(10),
            stop: None,
        }
    }

    /// The wait gives up, having taken nothing, once the run is asked to stop.
    fn stopping(self, s: &Settings) -> Self {
        LockWait {
            stop: s.stop.clone(),
            ..self
        }
    }

    /// Sleeps before the next attempt, or fails when the timeout has passed
    /// or the run was asked to stop.
    async fn pause(&mut self) -> Result<()> {
        if self.stop.as_ref().is_some_and(StopWhen::asked) {
            return Err(Error::stopped(None, false));
        }
        let now = Instant::now();
        let left = match self.deadline {
            Some(deadline) if now >= deadline => return Err(Error::LockTimeout { timeout: self.timeout }),
            Some(deadline) => deadline - now,
            None => self.pause,
        };
        tracing::debug!("waiting for another migrator's lock");
        tokio::time::sleep(self.pause.min(left)).await;
        self.pause = (self.pause * 2).min(Duration::from_millis(200));
        Ok(())
    }
}

/// One attempt at the lease: `Ok(false)` when another migrator holds it and it has not expired.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) async fn try_lease(conn: &mut dyn Backend, s: &Settings, lease: &Lease) -> Result<bool> {
    let d = conn.dialect();
    // Read first: while another holds it, waiting writes nothing (on Galera every
    // write to the row can conflict with the holder's renewals).
    let held = conn
        .read_strings(d.select_lease_holder_if_live(&s.table))
        .await
        .map_err(db("reading the migration lease"))?;
    if held.first().is_some_and(|owner| owner != &lease.owner) {
        return Ok(false);
    }
    let take = d.take_lease(&s.table, &lease.owner, lease.ttl_ms());
    match conn.execute(take).await {
        Ok(()) => {}
        // Galera: a certification conflict with another node's attempt; try again later.
        Err(e) if conn.is_conflict(&e) => return Ok(false),
        Err(e) => return Err(db("taking the migration lease")(e)),
    }
    let owner = conn
        .read_strings(d.select_lease_owner(&s.table))
        .await
        .map_err(db("reading the migration lease"))?;
    Ok(owner.first() == Some(&lease.owner))
}

/// Takes the lease, polling with growing pauses until the lock timeout.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) async fn lease(conn: &mut dyn Backend, s: &Settings, lease: &Lease) -> Result<()> {
    let mut wait = LockWait::new(s.lock_timeout).stopping(s);
    while !try_lease(conn, s, lease).await? {
        wait.pause().await?;
    }
    Ok(())
}

/// Whether no migrator holds the migration lock now, as the database can
/// tell, read without taking it: the advisory lock free and no lease alive
/// (a missing lease table: none ever taken). False where it cannot tell.
pub(crate) async fn no_migrator_runs(conn: &mut dyn Backend, s: &Settings) -> bool {
    if conn.lock_is_free(s).await != Some(true) {
        return false;
    }
    let lease = conn.dialect().select_lease_holder_if_live(&s.table);
    !matches!(conn.read_strings(lease).await, Ok(live) if !live.is_empty())
}

/// Who holds the lease, as its row says.
pub(crate) async fn lease_holder(conn: &mut dyn Backend, s: &Settings) -> Option<String> {
    let sql = conn.dialect().select_lease_holder(&s.table);
    conn.read_strings(sql).await.ok()?.into_iter().next()
}

/// Extends the lease, or says it was lost (and to whom). `alone`: the
/// statement is a transaction of its own, so a conflict is tried again; inside
/// a step's transaction it is not (a deadlock rolled the whole transaction back).
pub(crate) async fn renew_lease(conn: &mut dyn Backend, s: &Settings, alone: bool) -> Result<()> {
    let Some(lease) = s.lease() else { return Ok(()) };
    let d = conn.dialect();
    let renew = d.renew_lease(&s.table, &lease.owner, lease.ttl_ms());
    if alone {
        run_through_conflicts(conn, renew, "renewing the migration lease").await?;
    } else {
        run(conn, renew, "renewing the migration lease").await?;
    }
    // A locking read: inside a MySQL transaction a plain read could see its snapshot.
    let owner = conn
        .read_strings(d.select_lease_owner_locked(&s.table))
        .await
        .map_err(db("reading the migration lease"))?;
    if owner.first() == Some(&lease.owner) {
        return Ok(());
    }
    Err(Error::LeaseLost {
        holder: lease_holder(conn, s).await,
    })
}

/// Gives the lease back.
pub(crate) async fn release_lease(conn: &mut dyn Backend, s: &Settings, lease: &Lease) -> Result<()> {
    let sql = conn.dialect().release_lease(&s.table, &lease.owner);
    run_through_conflicts(conn, sql, "releasing the migration lease").await
}

/// Creates the lease table if it is missing. Migrators starting together
/// race to create it before any of them holds a lock (PostgreSQL's
/// `IF NOT EXISTS` can then fail on its catalog's unique index): a failed
/// attempt is tried again, and finds the table another one made.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) async fn create_lease_table(conn: &mut dyn Backend, s: &Settings) -> Result<()> {
    let sql = conn.dialect().create_lease_table(&s.table);
    run_retrying(conn, sql, "creating the lease table", |_, _| true).await
}

/// Runs `main` to its end while polling `side` beside it (on another
/// connection: `main` keeps the run's own), so that neither waits for the
/// other; `side` is dropped when `main` ends.
pub(crate) async fn alongside<T>(main: impl Future<Output = T>, side: impl Future<Output = ()>) -> T {
    let mut main = std::pin::pin!(main);
    let mut side = std::pin::pin!(side);
    let mut side_done = false;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = main.as_mut().poll(cx) {
            return Poll::Ready(out);
        }
        if !side_done && side.as_mut().poll(cx).is_ready() {
            side_done = true;
        }
        Poll::Pending
    })
    .await
}

/// What watches a step's attempt from a second connection (`watch`),
/// where the database can say who blocks a session ([`Backend::watcher`]).
pub(crate) type Watcher =
    for<'a> fn(BoxFuture<'a, Result<()>>, &'a Second, String) -> BoxFuture<'a, (Result<()>, Vec<String>)>;

/// The [`Watcher`]: runs `attempt` to its end, watched from a connection
/// `second` lends (when the pool can spare one) asking who blocks session
/// `id`; returns its result and the last non-empty answer.
#[cfg(feature = "postgres")]
pub(crate) fn watch<'a>(
    attempt: BoxFuture<'a, Result<()>>,
    second: &'a Second,
    id: String,
) -> BoxFuture<'a, (Result<()>, Vec<String>)> {
    Box::pin(async move {
        match second.open().await {
            Some(mut handle) => watched(attempt, handle.backend(), &id).await,
            None => (attempt.await, Vec::new()),
        }
    })
}

/// Runs `attempt` to its end, asking `second` every 100 ms meanwhile who
/// blocks session `id`; returns its result and the last non-empty answer.
#[cfg(feature = "postgres")]
async fn watched<T>(attempt: impl Future<Output = T>, second: &mut dyn Backend, id: &str) -> (T, Vec<String>) {
    let mut seen = Vec::new();
    let watch = async {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = second.blocked_by(id).await;
            if !now.is_empty() {
                seen = now;
            }
        }
    };
    let out = alongside(attempt, watch).await;
    (out, seen)
}

/// Runs `run` to its end, renewing `lease` from `second` every third of its
/// time to live meanwhile, so a step longer than the lease keeps it.
pub(crate) async fn with_heartbeat<T>(
    run: impl Future<Output = T>,
    second: &mut dyn Backend,
    s: &Settings,
    lease: &Lease,
) -> T {
    let beat = async {
        loop {
            tokio::time::sleep(lease.ttl / 3).await;
            let renew = second.dialect().renew_lease(&s.table, &lease.owner, lease.ttl_ms());
            if let Err(e) = second.execute(renew).await {
                tracing::warn!(error = %e, "renewing the migration lease from the second connection failed");
            }
        }
    };
    alongside(run, beat).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_timeout_beyond_the_clock_waits_instead_of_panicking() {
        let mut wait = LockWait::new(Duration::MAX);
        assert!(wait.deadline.is_none());
        wait.pause().await.unwrap();
        let mut short = LockWait::new(Duration::ZERO);
        assert!(matches!(short.pause().await, Err(Error::LockTimeout { .. })));
    }
}
