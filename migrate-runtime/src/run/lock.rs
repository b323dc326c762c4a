//! Taking the migration lock (an advisory lock, or a lease renewed from a
//! second connection) for a changing run, and giving it back.

use super::*;

impl<'m> Run<'m> {
    /// Says that another migrator holds the lock, and who, before waiting for it.
    pub(crate) fn waiting(&self, holder: Option<&str>, s: &Settings) {
        let (who, timeout) = (holder.unwrap_or("unknown"), s.lock_timeout);
        match &self.on_lock_wait {
            // The caller says it (the command line prints its own line).
            Some(f) => {
                tracing::info!(
                    holder = who,
                    ?timeout,
                    "another migrator holds the migration lock; waiting"
                );
                f(holder);
            }
            None => tracing::warn!(
                holder = who,
                ?timeout,
                "another migrator holds the migration lock; waiting"
            ),
        }
    }

    /// Takes the migration lock for a changing run (an advisory lock, or a
    /// lease where the mode or a Galera cluster asks for one), after pinning
    /// the settings: the graph and the settings the run goes on with.
    pub(crate) async fn take_lock(&self, conn: &mut dyn Backend, s: &Settings) -> Result<(Graph<'m>, Settings)> {
        let graph = self.graph()?;
        // Where the database can, the first attempt at the lock rides with the settings' reading.
        let (s, taken) = match self.lock_mode {
            LockMode::Lease => (conn.prepare(s).await?, None),
            _ => conn.prepare_and_try_lock(s).await?,
        };
        let lease = match (self.lock_mode, s.galera, conn.leases()) {
            // SQLite's lock is its one write lock, whatever the mode.
            (_, _, false) => false,
            (LockMode::Advisory, true, _) => return Err(Error::AdvisoryOnCluster),
            (LockMode::Lease, _, _) | (LockMode::Auto, true, _) => true,
            _ => false,
        };
        if lease {
            // Only a server database leases (`leases()`): a build for SQLite alone has no lease code.
            #[cfg(any(feature = "postgres", feature = "mysql"))]
            return Ok((
                graph,
                Settings {
                    lease: Some(self.take_lease(conn, &s).await?),
                    ..s
                },
            ));
        }
        let taken = match taken {
            Some(taken) => taken,
            None => conn.try_lock(&s).await?,
        };
        if !taken {
            // Say at once that another migrator holds the lock, and who.
            let holder = conn.lock_holder(&s).await;
            self.waiting(holder.as_deref(), &s);
            conn.lock(&s).await?;
        }
        // Held by one server session: the run's transactions check that they run in it.
        let lock_guard = conn.held_lock_guard(&s);
        Ok((graph, Settings { lock_guard, ..s }))
    }

    /// Takes the lease (a row of the lease table), waiting while another migrator holds it.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    async fn take_lease(&self, conn: &mut dyn Backend, s: &Settings) -> Result<crate::driver::Lease> {
        let lease = crate::driver::Lease::new(self.lease_ttl);
        driver::create_lease_table(conn, s).await?;
        if !driver::try_lease(conn, s, &lease).await? {
            let holder = driver::lease_holder(conn, s).await;
            self.waiting(holder.as_deref(), s);
            driver::lease(conn, s, &lease).await?;
        }
        tracing::debug!(owner = %lease.owner, "took the migration lease");
        Ok(lease)
    }

    /// The whole of a changing run, on one connection: compiled once, here,
    /// whatever the caller's pool or connection type.
    pub(crate) fn locked<'a>(
        &'a self,
        conn: &'a mut dyn Backend,
        op: Op,
        second: Option<crate::driver::Second>,
    ) -> BoxFuture<'a, Ran<Report>> {
        Box::pin(async move {
            let s = Settings {
                second,
                ..self.settings.clone()
            };
            if matches!(op, Op::Upgrade(Target::Head)) {
                // The hot path of a self-migrating binary: one query, whatever the
                // number of revisions, and no lock. Any difference (a new revision,
                // drift, an unknown or half-done row, no table yet) takes the full path.
                let stored = conn.read_digest(&s).await;
                if stored.as_deref() == Some(self.migrations.applied_digest()) {
                    tracing::debug!("the history digest matches: up to date");
                    return Ran::clean(Ok(Report::default()));
                }
            }
            let prepared = self.take_lock(conn, &s).await;
            let (graph, s) = match prepared {
                Ok(p) => p,
                Err(e) => {
                    // A wait for the lock that gave up holds nothing: the connection may be reused.
                    let clean = matches!(e, Error::LockTimeout { .. } | Error::Stopped { .. });
                    return Ran { result: Err(e), clean };
                }
            };
            tracing::debug!(table = s.table.name(), "took the migration lock");
            if s.stop_requested() {
                // Asked while the lock was being taken: given back before anything is read or written.
                let released = release(conn, &s).await;
                return Ran {
                    result: Err(Error::stopped(None, false)),
                    clean: released.is_ok(),
                };
            }
            // An advisory lock the database can release with the run's last commit.
            let s = Settings {
                released_at_commit: (s.lease().is_none() && conn.unlock_sql(&s).is_some())
                    .then(|| Arc::new(std::sync::atomic::AtomicBool::new(false))),
                ..s
            };
            if !conn.has_timeouts() && (s.ddl_lock_timeout.is_some() || s.statement_timeout.is_some()) {
                tracing::warn!(
                    "SQLite has no lock timeout or statement timeout: a run holds the database's one write lock, so no statement of it waits for the application's sessions; the setting is ignored"
                );
            }
            let mut report = Report::default();
            let result = match s.second.clone().zip(s.lease().cloned()) {
                // A lease is renewed from a second connection while steps run.
                Some((second, lease)) => match second.open().await {
                    Some(mut other) => {
                        let run = self.run(conn, &s, &graph, op, &mut report);
                        driver::with_heartbeat(run, other.backend(), &s, &lease).await
                    }
                    None => self.run(conn, &s, &graph, op, &mut report).await,
                },
                None => self.run(conn, &s, &graph, op, &mut report).await,
            };
            let released_at_commit = s
                .released_at_commit
                .as_ref()
                .is_some_and(|done| done.load(std::sync::atomic::Ordering::Acquire));
            // (Only an advisory lock is released at commit, never a lease.)
            let released = if released_at_commit {
                tracing::debug!("the migration lock was released with the run's commit");
                Ok(())
            } else {
                release(conn, &s).await
            };
            match released {
                Ok(()) => Ran::clean(result.map(|()| report)),
                Err(unlock) => {
                    let result = match result {
                        Ok(()) if report.is_empty() => Err(unlock),
                        Ok(()) => Err(Error::Interrupted {
                            completed: report.revisions().into_iter().map(str::to_owned).collect(),
                            source: Box::new(unlock),
                        }),
                        Err(e) => {
                            // The run's own error is returned; this one only here.
                            tracing::error!(error = %unlock, "releasing the migration lock failed; closing the connection");
                            Err(e)
                        }
                    };
                    Ran { result, clean: false }
                }
            }
        })
    }
}

/// Gives the migration lock back: the lease, when the run took one, or the
/// advisory lock.
pub(crate) async fn release(conn: &mut dyn Backend, s: &Settings) -> Result<()> {
    match s.lease() {
        Some(lease) => driver::release_lease(conn, s, lease).await,
        None => conn.unlock(s).await,
    }
}
