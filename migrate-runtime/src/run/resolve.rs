//! Recovering from a failed run: `resolve` (a row marked applied or removed),
//! `resolve --retry`, and the revisions a newer build applied, rebuilt from
//! their history rows for a stored downgrade.

use super::*;

/// What `file()` says of a revision rebuilt from its history row (and so
/// what an error about it names instead of a file).
pub(crate) const STORED_FILE: &str = "its history row: this build has no file for it";

impl<'m> Run<'m> {
    /// `resolve --retry`: the failed migration again, from its first statement not done.
    async fn retry(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        rows: &[HistoryRow],
        revision: &str,
        report: &mut Report,
    ) -> Result<()> {
        let d = conn.dialect();
        let cannot = |reason: &str| Error::CannotRetry {
            revision: revision.to_owned(),
            reason: reason.to_owned(),
        };
        let Some(row) = rows.iter().find(|r| r.revision == revision) else {
            return Err(Error::NotInHistory(revision.to_owned()));
        };
        if row.state == State::Applied {
            return Err(Error::Finished {
                revision: revision.to_owned(),
            });
        }
        if let Some(other) = rows
            .iter()
            .find(|r| r.state != State::Applied && r.revision != revision)
        {
            return Err(Error::Dirty {
                revision: other.revision.clone(),
                state: other.state,
                error: other.error.clone(),
            });
        }
        let Some(m) = self.migrations.get(revision) else {
            return Err(cannot("this build has no file for it"));
        };
        if !driver::by_statement(conn, m) {
            return Err(cannot(
                "it runs in a transaction, so its failure left nothing of it behind: resolve it as not applied (`--not-applied`), then upgrade",
            ));
        }
        let direction = match row.state {
            State::Upgrading | State::UpgradeFailed => Direction::Upgrade,
            _ => Direction::Downgrade,
        };
        let bound = self.vars.bind(self.migrations, m, d, direction)?;
        let _redacting = crate::vars::Redacting::new([&bound]);
        let m = &bound;
        let sql = match direction {
            Direction::Upgrade => m.upgrade_sql(),
            Direction::Downgrade => m
                .downgrade_sql()
                .ok_or_else(|| cannot("its file has no downgrade section"))?,
        };
        let Some(done) = row.statements_done.map(|n| n.max(0) as usize) else {
            return Err(cannot(
                "its row does not count the statements that completed (an offline script, or an earlier version, wrote it); check the database by hand, then resolve it as applied or as not applied",
            ));
        };
        let statements = crate::split::statements(sql, d);
        if let Some(next) = statements.get(done) {
            if let Some((index, drop)) = conn.invalid_index(next.text).await {
                return Err(Error::InvalidIndex {
                    revision: revision.to_owned(),
                    index,
                    drop,
                });
            }
        }
        let checksum = m.checksum().to_string();
        if direction == Direction::Upgrade
            && row.checksum != checksum
            && migrate_core::repeatable::is_repeatable(revision)
        {
            // Its statements done were the old text's: counting them off the new
            // text would skip statements that never ran. Run whole, it replaces
            // what the old text left.
            return Err(cannot(&format!(
                "its file changed since the failed run, so the statements its row counts as done are not the new text's; resolve it as not applied (`resolve {revision} --not-applied`), then upgrade to head, which runs the new text whole"
            )));
        }
        if direction == Direction::Upgrade && row.checksum != checksum {
            tracing::warn!(
                revision,
                done,
                "the migration's file changed since the failed run; its first statements are taken as done, as the history row says"
            );
            let sql = d.set_checksum(&s.table, revision, &checksum);
            driver::run(conn, sql, "recording the migration's new checksum").await?;
        }
        tracing::info!(
            revision,
            from_statement = done + 1,
            of = statements.len(),
            "running the failed migration again"
        );
        driver::drop_digest(conn, s).await?;
        let started = Instant::now();
        let step = Step {
            migration: m,
            direction,
            run_sql: true,
            rust: self.migrations.rust_steps().function(revision, direction),
        };
        driver::apply(conn, s, step, Some(done)).await?;
        let mut digest = digest_of(rows);
        digest.remove(&row.revision, &row.checksum, row.state);
        if direction == Direction::Upgrade {
            digest.insert(revision, &checksum, State::Applied);
        }
        report.steps.push(StepReport {
            revision: revision.to_owned(),
            message: m.message().to_owned(),
            direction,
            duration: started.elapsed(),
            stored_downgrade: None,
        });
        driver::write_digest(conn, s, &digest).await
    }
}

impl Op {
    /// `resolve`: how a half-done revision really stands, recorded.
    pub(crate) fn resolve(revision: &str, resolution: Resolution) -> Op {
        Op::Own(Box::new(Resolve(revision.to_owned(), resolution)))
    }

    /// `resolve --retry`.
    pub(crate) fn retry(revision: &str) -> Op {
        Op::Own(Box::new(Retry(revision.to_owned())))
    }
}

/// [`Op::resolve`]: the revision and how it stands.
struct Resolve(String, Resolution);

impl OwnOp for Resolve {
    fn run<'a>(&'a self, run: &'a Run<'_>, on: Under<'a>, _report: &'a mut Report) -> BoxFuture<'a, Result<()>> {
        let Resolve(revision, resolution) = self;
        let known = run.migrations.get(revision).is_some();
        Box::pin(resolve(on.conn, on.s, on.rows, revision, *resolution, known))
    }

    fn on_unknown_state<'a>(
        &'a self,
        conn: &'a mut dyn Backend,
        s: &'a Settings,
        revision: &'a str,
        state: &'a str,
    ) -> Option<BoxFuture<'a, Result<()>>> {
        let Resolve(resolving, resolution) = self;
        if resolving != revision {
            return None;
        }
        tracing::warn!(
            revision,
            state,
            ?resolution,
            "resolving a row whose state this build does not know"
        );
        Some(Box::pin(driver::resolve(conn, s, revision, *resolution, None)))
    }
}

/// [`Op::retry`]: the revision.
struct Retry(String);

impl OwnOp for Retry {
    fn run<'a>(&'a self, run: &'a Run<'_>, on: Under<'a>, report: &'a mut Report) -> BoxFuture<'a, Result<()>> {
        Box::pin(run.retry(on.conn, on.s, on.rows, &self.0, report))
    }
}

async fn resolve(
    conn: &mut dyn Backend,
    s: &Settings,
    rows: &[HistoryRow],
    revision: &str,
    resolution: Resolution,
    known: bool,
) -> Result<()> {
    let Some(row) = rows.iter().find(|r| r.revision == revision) else {
        return Err(Error::NotInHistory(revision.to_owned()));
    };
    // A finished row is resolved only to drop one this build does not know
    // (a newer build's), named by its id.
    let drops_unknown = !known && resolution == Resolution::NotApplied;
    if row.state == State::Applied && !drops_unknown {
        return Err(Error::Finished {
            revision: revision.to_owned(),
        });
    }
    let mut digest = digest_of(rows);
    digest.remove(&row.revision, &row.checksum, row.state);
    if resolution == Resolution::Applied {
        digest.insert(&row.revision, &row.checksum, State::Applied);
    }
    driver::resolve(conn, s, revision, resolution, Some(&digest)).await?;
    tracing::info!(revision, from = %row.state, ?resolution, "resolved history row");
    Ok(())
}

/// The graph's migrations and, rebuilt from their history rows, the applied
/// revisions it does not know, with the downgrade SQL stored when they were
/// applied (checked against the checksum stored beside it). Rows of
/// revisions a squash baseline replaced are not rebuilt: the baseline
/// stands for them.
pub(crate) fn with_stored(graph: &Graph<'_>, rows: &[HistoryRow]) -> Result<Vec<Migration>> {
    let mut list: Vec<Migration> = graph.iter().cloned().collect();
    let replaced = migrate_core::squash::Replaced::of(graph);
    for r in rows
        .iter()
        .filter(|r| graph.position(&r.revision).is_none() && replaced.baseline_of(&r.revision).is_none())
    {
        let refuse = |reason: &str| Error::StoredDowngrade {
            revision: r.revision.clone(),
            reason: reason.to_owned(),
        };
        let checksum: Checksum = r
            .checksum
            .parse()
            .map_err(|_| refuse("its row's checksum does not read as one"))?;
        if let Some(sql) = &r.downgrade {
            let stored = Checksum::of(sql, r.no_transaction).to_string();
            if r.downgrade_checksum.as_deref() != Some(stored.as_str()) {
                return Err(refuse(
                    "its stored downgrade no longer hashes to the checksum stored beside it (was the row edited?)",
                ));
            }
        }
        let parts = MigrationParts {
            revision: r.revision.clone(),
            down_revisions: r.parents().into_iter().map(str::to_owned).collect(),
            message: r.message.clone(),
            upgrade: String::new(),
            downgrade: r.downgrade.clone(),
            no_transaction: r.no_transaction,
            directives: Directives {
                phase: r.phase,
                ..Directives::default()
            },
            depends_on: Vec::new(),
            runs_after: Vec::new(),
            file: STORED_FILE.to_owned(),
        };
        // Its `${NAME}`s, stored as written, take today's values when it runs; none is printed.
        let vars = migrate_core::sql::vars::undeclared(r.downgrade.as_deref().unwrap_or(""), &[])
            .into_iter()
            .map(|(name, _)| migrate_core::Variable::new(name, None, true))
            .collect();
        list.push(Migration::with_checksum(parts, checksum).with_vars(vars));
    }
    Ok(list)
}
