//! Plans a reviewer approves, the run's side: the pending plan read without
//! the lock and changing nothing ([`Run::plan_pending`]), and, under the
//! run's lock, the check that a plan still holds before `apply` runs it
//! ([`Run::verify_planned`], reached from `op` through [`Reviewed`]).

use super::*;
use crate::dialect::Dialect;
use crate::planned::{PendingPlan, PlanMoved, PlannedStep, schema_differences};
use migrate_core::schema::Schema;

impl Op {
    /// An upgrade that runs exactly `planned`'s steps, or refuses.
    pub(crate) fn exactly(planned: &PendingPlan) -> Op {
        Op::Exactly(Box::new(planned.clone()))
    }
}

impl Reviewed for PendingPlan {
    fn target(&self) -> Target {
        self.target.clone()
    }

    fn verify<'a>(&'a self, run: &'a Run<'_>, on: Under<'a>, now: &'a plan::Plan) -> BoxFuture<'a, Result<()>> {
        Box::pin(run.verify_planned(on.conn, on.s, (on.graph, on.rows, now), self))
    }
}

impl<'m> Run<'m> {
    /// What an upgrade to `target` would run on the database `connect`
    /// gives, as it stands: read without the lock, creating nothing.
    pub(crate) fn plan_pending<'a, 'c: 'a>(
        &'a self,
        connect: BoxFuture<'c, Result<Box<dyn Handle + 'c>>>,
        target: Result<Target, TargetError>,
    ) -> BoxFuture<'a, Result<PendingPlan>> {
        Box::pin(async move {
            let target = target?;
            let mut handle = connect.await?;
            let conn = handle.backend();
            let s = conn.prepare(&self.settings).await?;
            let rows = driver::read_if_present(conn, &s).await?;
            let graph = self.graph()?;
            let applied = self.check(&graph, &rows)?;
            let mut plan = plan::upgrade(&graph, &applied, &target)?;
            self.hold_back(&graph, &mut plan);
            let mut pending = self.pending(conn.dialect(), &s, &graph, &rows, &plan, target);
            pending.schema = self.live_schema(conn, &s).await?;
            Ok(pending)
        })
    }

    /// Under the lock, with the history read and the plan computed as an
    /// upgrade computes it: refuses, with each way it moved, when `expected`
    /// no longer holds (the history, the steps, their SQL, the live schema).
    async fn verify_planned(
        &self,
        conn: &mut dyn Backend,
        s: &Settings,
        (graph, rows, plan): (&Graph<'_>, &[HistoryRow], &plan::Plan),
        expected: &PendingPlan,
    ) -> Result<()> {
        let now = self.pending(conn.dialect(), s, graph, rows, plan, expected.target.clone());
        let mut moved = moved(expected, &now);
        if let Some(planned) = &expected.schema {
            match self.live_schema(conn, s).await? {
                Some(live) if live != *planned => moved.push(PlanMoved::Schema {
                    differences: schema_differences(planned, &live),
                }),
                Some(_) => {}
                None => moved.push(PlanMoved::SchemaUnread),
            }
        }
        if moved.is_empty() {
            tracing::info!(
                steps = plan.steps.len(),
                "the plan still holds: running exactly its steps"
            );
            return Ok(());
        }
        Err(Error::PlanMoved(moved))
    }

    /// The plan `plan` of the history `rows`, as a [`PendingPlan`] without a schema.
    fn pending(
        &self,
        dialect: Dialect,
        s: &Settings,
        graph: &Graph<'_>,
        rows: &[HistoryRow],
        plan: &plan::Plan,
        target: Target,
    ) -> PendingPlan {
        let mut applied: Vec<String> = graph
            .iter()
            .filter(|m| rows.iter().any(|r| r.revision == m.revision()))
            .map(|m| m.revision().to_owned())
            .collect();
        applied.extend(
            rows.iter()
                .filter(|r| graph.position(&r.revision).is_none())
                .map(|r| r.revision.clone()),
        );
        let steps = plan
            .steps
            .iter()
            .map(|&i| {
                let m = graph.get(i);
                PlannedStep {
                    revision: m.revision().to_owned(),
                    message: m.message().to_owned(),
                    file: m.file().to_owned(),
                    direction: plan.direction,
                    checksum: m.checksum().to_string(),
                    no_transaction: m.no_transaction(),
                    sql: crate::offline::step_sql(m.upgrade_sql(), dialect),
                }
            })
            .collect();
        PendingPlan {
            target,
            dialect,
            table: s.table.clone(),
            applied,
            digest: digest_of(rows).to_string(),
            steps,
            schema: None,
        }
    }

    /// The live schema, the runtime's own tables left out (`None` without
    /// the `catalog` feature).
    async fn live_schema(&self, conn: &mut dyn Backend, s: &Settings) -> Result<Option<Schema>> {
        #[cfg(feature = "catalog")]
        {
            let exclude = crate::catalog::own_tables(&s.table, self.set_tables.iter().map(|(_, t)| t));
            crate::catalog::read(conn, &exclude).await.map(Some)
        }
        #[cfg(not(feature = "catalog"))]
        {
            let _ = (conn, s);
            Ok(None)
        }
    }
}

/// Each way `now` differs from `planned`, the schema aside.
fn moved(planned: &PendingPlan, now: &PendingPlan) -> Vec<PlanMoved> {
    let mut out = Vec::new();
    if planned.dialect != now.dialect {
        out.push(PlanMoved::Dialect {
            planned: planned.dialect,
            now: now.dialect,
        });
    }
    if planned.table != now.table {
        out.push(PlanMoved::Table {
            planned: planned.table.name().to_owned(),
            now: now.table.name().to_owned(),
        });
    }
    for revision in now.applied.iter().filter(|r| !planned.applied.contains(r)) {
        out.push(PlanMoved::Applied {
            revision: revision.clone(),
        });
    }
    for revision in planned.applied.iter().filter(|r| !now.applied.contains(r)) {
        out.push(PlanMoved::Unapplied {
            revision: revision.clone(),
        });
    }
    if out.is_empty() && planned.digest != now.digest {
        out.push(PlanMoved::Digest {
            planned: planned.digest.clone(),
            now: now.digest.clone(),
        });
    }
    let ids = |p: &PendingPlan| -> Vec<String> { p.steps.iter().map(|s| s.revision.clone()).collect() };
    if ids(planned) != ids(now) {
        out.push(PlanMoved::Steps {
            planned: ids(planned),
            now: ids(now),
        });
        return out;
    }
    for (p, n) in planned.steps.iter().zip(&now.steps) {
        let what = if p.checksum != n.checksum {
            "checksum"
        } else if p.sql != n.sql {
            "SQL"
        } else if p.no_transaction != n.no_transaction {
            "no-transaction"
        } else {
            continue;
        };
        out.push(PlanMoved::Step {
            revision: p.revision.clone(),
            file: n.file.clone(),
            what,
        });
    }
    out
}
