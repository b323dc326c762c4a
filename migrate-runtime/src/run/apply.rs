//! Executing a plan: each step through the driver, in the run's one
//! transaction where the database has one, in SQLite batches, with the
//! report, the progress callback and the digest kept as steps complete.

use super::*;

impl<'m> Run<'m> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn steps(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        graph: &Graph<'_>,
        plan: &plan::Plan,
        run_sql: bool,
        fresh: bool,
        mut digest: Digest,
        report: &mut Report,
    ) -> Result<()> {
        if !plan.is_empty() {
            // Until the run's last step is done, no start-up check may take the short cut.
            driver::drop_digest(conn, s).await?;
        }
        // From an empty history (a test database, a first deploy), PostgreSQL runs
        // the transactional steps in one transaction, a savepoint each: one commit
        // instead of one per migration. Not under a lease (each step must check it
        // as it commits), nor when a header sets a timeout (SET LOCAL would outlive
        // its savepoint).
        let one_transaction = fresh
            && run_sql
            && conn.one_transaction_runs()
            && plan.direction == Direction::Upgrade
            && plan.steps.len() > 1
            && s.lease.is_none()
            && plan.steps.iter().all(|&i| {
                let d = graph.get(i).directives();
                // A dependency check reads another set's table, and a failed read would abort the transaction.
                d.lock_timeout.is_none() && d.statement_timeout.is_none() && graph.get(i).depends_on().next().is_none()
            });
        let batched = Settings {
            in_run_transaction: true,
            ..s.clone()
        };
        let mut open: Option<usize> = None;
        let result = self
            .run_steps(
                conn,
                s,
                &batched,
                graph,
                plan,
                run_sql,
                one_transaction,
                &mut open,
                &mut digest,
                report,
            )
            .await;
        if let Some(first) = open {
            // What ran before a failed step is kept, as with a transaction per step.
            if let Err(e) = driver::run(conn, "COMMIT".into(), "committing the run's transaction").await {
                // Nothing since BEGIN is kept: the report and the error must not say it is.
                report.steps.truncate(first);
                return Err(match result {
                    Err(mut failed @ Error::Migration { .. }) => {
                        if let Error::Migration { cleanup, applied, .. } = &mut failed {
                            cleanup.get_or_insert_with(|| Box::new(e));
                            applied.truncate(first);
                        }
                        failed
                    }
                    Err(other) => other,
                    Ok(()) => e,
                });
            }
        }
        result?;
        if !report.is_empty() || conn.read_digest(s).await.as_deref() != Some(digest.to_string().as_str()) {
            // After the last step; or, when nothing ran, because the digest was
            // missing (a table from before digests, a run that failed) or stale:
            // the rows were checked one by one just now.
            driver::write_digest(conn, s, &digest).await?;
        }
        Ok(())
    }

    /// [`steps`](Self::steps)' loop. With `one_transaction`, a transactional
    /// step runs inside the transaction `open` says began before step N
    /// (begun here when none is), and a no-transaction step commits it first.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn run_steps(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        batched: &Settings,
        graph: &Graph<'_>,
        plan: &plan::Plan,
        run_sql: bool,
        one_transaction: bool,
        open: &mut Option<usize>,
        digest: &mut Digest,
        report: &mut Report,
    ) -> Result<()> {
        let total = plan.steps.len();
        // SQLite: how long each of the next steps took, already applied by a batch
        // (`driver::apply_batch`); and the first step a batch may start at again.
        let mut ahead: std::collections::VecDeque<Duration> = std::collections::VecDeque::new();
        let mut unbatched_until = 0;
        for (index, &i) in plan.steps.iter().enumerate() {
            let m = graph.get(i);
            let step_of = |i: usize| Step {
                migration: graph.get(i),
                direction: plan.direction,
                run_sql,
            };
            if ahead.is_empty() && index >= unbatched_until && driver::batchable(conn, &step_of(i)) {
                let steps: Vec<Step<'_>> = plan.steps[index..]
                    .iter()
                    .map(|&i| step_of(i))
                    .take_while(|st| driver::batchable(conn, st))
                    .take(driver::BATCH_SIZE)
                    .collect();
                if steps.len() > 1 {
                    match driver::apply_batch(conn, s, &steps).await {
                        Some(took) => {
                            if took.len() < steps.len() {
                                // The step after those kept failed and was rolled back: it
                                // runs the usual way, which names the failure.
                                unbatched_until = index + took.len() + 1;
                            }
                            ahead = took.into();
                        }
                        // No batch path here: the steps run one by one.
                        None => unbatched_until = index + steps.len(),
                    }
                }
            }
            let batched_took = ahead.pop_front();
            let together = one_transaction && !m.no_transaction();
            if together && open.is_none() {
                driver::run(conn, "BEGIN".into(), "beginning the run's transaction").await?;
                *open = Some(report.steps.len());
            }
            if !together {
                commit_run(conn, open, report).await?;
            }
            let s = if together { batched } else { s };
            let step = Step {
                migration: m,
                direction: plan.direction,
                run_sql,
            };
            let verb = if run_sql { "Running" } else { "Stamping" };
            match plan.direction {
                Direction::Upgrade => {
                    tracing::info!("{verb} upgrade {} -> {}, {}", parents(m), m.revision(), m.message())
                }
                Direction::Downgrade => {
                    tracing::info!("{verb} downgrade {} -> {}, {}", m.revision(), parents(m), m.message())
                }
            }
            if !conn.has_timeouts() {
                let d = m.directives();
                if d.lock_timeout.is_some() || d.statement_timeout.is_some() {
                    tracing::warn!(
                        revision = m.revision(),
                        "SQLite has no lock timeout or statement timeout: the ones in this revision's header are ignored"
                    );
                }
            }
            if plan.direction == Direction::Upgrade && run_sql {
                self.check_dependencies(conn, s, m).await?;
            }
            let stored = (m.file() == STORED_FILE && plan.direction == Direction::Downgrade)
                .then(|| m.downgrade_sql().unwrap_or_default().to_owned());
            if let Some(sql) = &stored {
                tracing::warn!(
                    revision = m.revision(),
                    sql = %sql,
                    "running the downgrade stored in the history table when the revision was applied (this build has no file for it)"
                );
            }
            let notify = |finished| {
                if let Some(f) = &self.observer {
                    f(&Progress {
                        migration: m,
                        direction: plan.direction,
                        runs_sql: run_sql,
                        index,
                        total,
                        finished,
                    });
                }
            };
            notify(None);
            let started = Instant::now();
            let mut ran = match batched_took {
                Some(_) => Ok(()),
                None => driver::apply(conn, s, step, None).await,
            };
            if together && matches!(&ran, Err(e) if out_of_lock_slots(e)) {
                // The run's one transaction holds a lock on everything it created, and
                // the server's lock table is full (max_locks_per_transaction): keep what
                // it did, and go on in a new transaction. The step was rolled back to its savepoint.
                tracing::info!(
                    revision = m.revision(),
                    "the server's lock table is full: committing the run so far and going on in a new transaction"
                );
                commit_run(conn, open, report).await?;
                driver::run(conn, "BEGIN".into(), "beginning the run's transaction").await?;
                *open = Some(report.steps.len());
                ran = driver::apply(conn, s, step, None).await;
            }
            if let Err(mut e) = ran {
                if let Error::Migration { applied, .. } | Error::DanglingForeignKeys { applied, .. } = &mut e {
                    *applied = report.revisions().into_iter().map(str::to_owned).collect();
                }
                tracing::error!(revision = m.revision(), error = %e, "migration failed");
                return Err(e);
            }
            let checksum = m.checksum().to_string();
            match plan.direction {
                Direction::Upgrade => digest.insert(m.revision(), &checksum, State::Applied),
                Direction::Downgrade => digest.remove(m.revision(), &checksum, State::Applied),
            }
            let duration = match batched_took {
                Some(took) => took,
                None if run_sql => started.elapsed(),
                None => Duration::ZERO,
            };
            notify(Some(duration));
            report.steps.push(StepReport {
                revision: m.revision().to_owned(),
                message: m.message().to_owned(),
                direction: plan.direction,
                duration,
                stored_downgrade: stored,
            });
        }
        Ok(())
    }

    /// Refuses to run `m` while a revision of another set it depends on is not applied.
    pub(crate) async fn check_dependencies(&self, conn: &mut dyn Backend, s: &Settings, m: &Migration) -> Result<()> {
        for (set, revision) in m.depends_on() {
            let table = match self.set_tables.iter().find(|(name, _)| name == set) {
                Some((_, t)) => t.clone(),
                None => HistoryTable::for_set(set)?,
            };
            // Without a schema of its own, the set's table is beside this run's.
            let table = match (table.schema(), s.table.schema()) {
                (None, Some(schema)) => table.in_schema(schema)?,
                _ => table,
            };
            let d = conn.dialect();
            // A set whose history table does not exist yet has nothing applied.
            let applied = conn
                .read_strings(d.select_applied(&table, revision))
                .await
                .ok()
                .and_then(|r| r.into_iter().next());
            if applied.as_deref() != Some("1") {
                return Err(Error::MissingDependency {
                    revision: m.revision().to_owned(),
                    file: m.file().to_owned(),
                    set: set.to_owned(),
                    needs: revision.to_owned(),
                    table: d.table(&table),
                });
            }
        }
        Ok(())
    }
}

/// Commits the run's one transaction, if one is open (`open`: the step it
/// began before). If the commit fails, nothing since is kept, and the
/// report stops saying it is.
pub(crate) async fn commit_run(conn: &mut dyn Backend, open: &mut Option<usize>, report: &mut Report) -> Result<()> {
    let Some(first) = open.take() else { return Ok(()) };
    if let Err(e) = driver::run(conn, "COMMIT".into(), "committing the run's transaction").await {
        report.steps.truncate(first);
        return Err(e);
    }
    Ok(())
}

/// PostgreSQL's "out of shared memory" (SQLSTATE 53200): a transaction took
/// more locks than the server's lock table holds.
pub(crate) fn out_of_lock_slots(e: &Error) -> bool {
    matches!(e, Error::Migration { source, rolled_back: true, .. }
        if source.as_database_error().and_then(|d| d.code()).as_deref() == Some("53200"))
}

pub(crate) fn parents(m: &Migration) -> String {
    let p: Vec<&str> = m.down_revisions().collect();
    if p.is_empty() {
        "<base>".to_owned()
    } else {
        p.join(", ")
    }
}
