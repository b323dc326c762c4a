//! Under the lock: the history read and verified, the plan computed in core
//! for the operation, and handed to `apply`.

use super::*;

impl<'m> Run<'m> {
    /// Under the lock: read, verify, plan and apply, recording each completed
    /// step in `report`. An error after some steps says which ones completed.
    pub(crate) fn run<'a>(
        &'a self,
        conn: &'a mut dyn Backend,
        s: &'a Settings,
        graph: &'a Graph<'a>,
        op: Op,
        report: &'a mut Report,
    ) -> BoxFuture<'a, Result<()>> {
        // Boxed, so that the body is compiled once: rustc copies an awaited
        // `async fn`'s body into every codegen unit that awaits it.
        Box::pin(self.run_locked(conn, s, graph, op, report))
    }

    /// [`run`](Self::run)'s body.
    async fn run_locked(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        graph: &Graph<'_>,
        op: Op,
        report: &mut Report,
    ) -> Result<()> {
        let mut rows = match driver::create_and_read(conn, s).await {
            // A row whose state this build does not know: the documented ways out
            // still work, `stamp --purge` (which erases it) and `resolve` of that row.
            Err(Error::UnknownState { revision, state }) => match &op {
                Op::StampPurge(_) => Vec::new(),
                Op::Own(own) => {
                    if let Some(way_out) = own.on_unknown_state(conn, s, &revision, &state) {
                        return way_out.await;
                    }
                    return Err(Error::UnknownState { revision, state });
                }
                _ => return Err(Error::UnknownState { revision, state }),
            },
            read => read?,
        };
        // `stamp --purge` plans from an empty history, and erases the table only
        // once the target is known to resolve and the plan holds.
        let purge = matches!(op, Op::StampPurge(_)).then(|| std::mem::take(&mut rows).len());
        let mut expected = None;
        let (target, direction, run_sql) = match op {
            Op::Own(own) => return own.run(self, Under::new(conn, s, graph, &rows), report).await,
            Op::Upgrade(t) => (t, Direction::Upgrade, true),
            Op::Exactly(planned) => {
                let t = planned.target();
                expected = Some(planned);
                (t, Direction::Upgrade, true)
            }
            Op::Downgrade(t) => (t, Direction::Downgrade, true),
            Op::Stamp(t) | Op::StampPurge(t) => (t, Direction::Upgrade, false),
        };
        // The rows of repeatables are read apart: never revisions of the graph.
        let all_rows = rows;
        let rows = versioned_rows(&all_rows);
        // Rows of revisions a squash baseline replaced are neither unknown nor a newer build's.
        let replaced = migrate_core::squash::Replaced::of(graph);
        // Unapplying a newer build's revisions: the graph grows by their rows.
        let rebuilt_list: Vec<Migration>;
        let rebuilt: Graph<'_>;
        let mut target = target;
        let graph: &Graph<'_> = if direction == Direction::Downgrade
            && run_sql
            && self.use_stored_downgrade
            && rows
                .iter()
                .any(|r| graph.position(&r.revision).is_none() && replaced.baseline_of(&r.revision).is_none())
        {
            rebuilt_list = with_stored(graph, &rows)?;
            rebuilt = Graph::new(&rebuilt_list).map_err(Error::Invalid)?;
            if target == Target::Head {
                // This build's head, not the newer build's.
                target = graph
                    .head()
                    .map_or(Target::Base, |h| Target::Revision(graph.get(h).revision().to_owned()));
            }
            &rebuilt
        } else {
            graph
        };
        let applied = self.check(graph, &all_rows)?;
        let unknown = repeatables::newer_revisions(graph, &replaced, &rows);
        let mut repeatables = Vec::new();
        let mut plan = match (direction, run_sql) {
            (Direction::Upgrade, true) => plan::upgrade(graph, &applied, &target)?,
            (Direction::Downgrade, _) => match plan::downgrade(graph, &applied, &target) {
                Err(migrate_core::PlanError::Irreversible { revision, file }) if file == STORED_FILE => {
                    return Err(Error::StoredDowngrade {
                        revision,
                        reason: "its history row stores no downgrade: the revision was applied without a downgrade section, or by a version of migrate that did not store them".into(),
                    });
                }
                planned => planned?,
            },
            (Direction::Upgrade, false) => plan::stamp(graph, &applied, &target)?,
        };
        // A stamp below a baseline unapplies it too (`plan.direction`, not the verb's).
        if plan.direction == Direction::Downgrade {
            below_squash(graph, &replaced, &rows, &plan)?;
        }
        if direction == Direction::Downgrade && !plan.is_empty() && !unknown.is_empty() {
            // A newer build's revisions (accepted as `expand`, or by the opt-in) sit on
            // top of what this build would unapply; going under them would leave rows
            // whose parents are gone.
            return Err(Error::UnknownAbove { revisions: unknown });
        }
        if direction == Direction::Upgrade && run_sql {
            report.held_back = self.hold_back(graph, &mut plan);
            if let Some(runner) = self.migrations.repeatables_runner {
                repeatables = runner.due(self, &all_rows, (graph, &target, &plan), &unknown, report);
            }
        } else {
            refuse_backfilling(&rows)?;
        }
        if let Some(expected) = &expected {
            expected
                .verify(self, Under::new(&mut *conn, s, graph, &rows), &plan)
                .await?;
        }
        if let Some(erased) = purge {
            tracing::warn!(rows = erased, "erasing the history table before stamping");
            driver::purge(conn, s).await?;
        }
        let mode = if run_sql { Mode::Run } else { Mode::Stamp };
        self.apply_read(conn, s, (graph, &plan, mode), &all_rows, repeatables, report)
            .await
    }

    /// Refuses half-done revisions, then verifies the rest. Revisions this
    /// list does not know are accepted, with a note, when they are marked
    /// `expand` (a newer build's additions, which this one's code tolerates).
    pub(crate) fn check(&self, graph: &Graph<'_>, rows: &[HistoryRow]) -> Result<Vec<bool>> {
        let status = self.status_of(graph, rows)?;
        if let Some((revision, state)) = status.in_progress.first() {
            return Err(dirty(rows, revision, *state));
        }
        if !status.unknown.is_empty() && !self.ignore_unknown {
            tracing::info!(
                revisions = %status.unknown.join(", "),
                "the database holds revisions this build does not know, marked `expand`: a newer build's additions, which this one runs beside"
            );
        }
        if !status.problems.is_empty() {
            return Err(Error::History(status.problems));
        }
        Ok(status.applied)
    }
}

/// A downgrade (or a stamp below) unapplying a squash baseline whose rows
/// are the revisions it replaced would leave those rows standing for it.
fn below_squash(
    graph: &Graph<'_>,
    replaced: &migrate_core::squash::Replaced<'_>,
    rows: &[HistoryRow],
    plan: &plan::Plan,
) -> Result<()> {
    if replaced.is_empty() {
        return Ok(());
    }
    for &b in &plan.steps {
        let held: Vec<&str> = rows
            .iter()
            .map(|r| r.revision.as_str())
            .filter(|id| replaced.baseline_of(id) == Some(b))
            .collect();
        if !held.is_empty() {
            let m = graph.get(b);
            return Err(Error::BelowSquash {
                baseline: m.revision().to_owned(),
                replaced: held.join(", "),
                release: m.squashed().unwrap_or_default().to_owned(),
            });
        }
    }
    Ok(())
}

/// Unapplying or stamping around a backfill half-done would strand its row.
fn refuse_backfilling(rows: &[HistoryRow]) -> Result<()> {
    match rows.iter().find(|r| r.state == State::Backfilling) {
        Some(r) => Err(Error::BackfillInProgress {
            revision: r.revision.clone(),
        }),
        None => Ok(()),
    }
}

impl Run<'_> {
    /// The phase of a deploy this run is limited to: cuts an upgrade's `plan`
    /// where it stops ([`plan::hold_back`]), naming the first revision held
    /// back (for the next phase).
    pub(super) fn hold_back(&self, graph: &Graph<'_>, plan: &mut plan::Plan) -> Option<String> {
        let phase = self.phase?;
        let held = graph.get(plan::hold_back(graph, plan, phase)?);
        tracing::info!(
            revision = held.revision(),
            phase = %phase,
            next = held.phase().map_or("none", Phase::as_str),
            "stopping before the first revision of a later phase: run the upgrade with that phase (or without one) when the deploy reaches it"
        );
        Some(held.revision().to_owned())
    }
}
