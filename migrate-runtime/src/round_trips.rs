//! Proving every downgrade: each revision upgraded, downgraded, compared
//! through the catalog readers, and upgraded again; then down to where the
//! walk started (base, or the revisions applied before it); with
//! repeatables, an upgrade to head that applies them last.

use crate::report::{RoundTrip, RoundTripOutcome, RoundTrips};
use crate::run::*;

/// Where a walk of round trips starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// An empty database: every revision is walked, then all go down to base.
    Empty,
    /// Where the history stands (verified first): the revisions not applied
    /// are walked, then go down again; a database with no history must be empty.
    Applied,
}

/// What upgrading a revision again after its downgrade did.
enum Again {
    Ran,
    /// It failed and was rolled back; the revision is recorded without running.
    Stamped,
    /// It failed; the walk stops.
    Stopped,
}

/// What separates two schemas, as `check --schema` prints it.
fn differences(before: &migrate_core::schema::Schema, after: &migrate_core::schema::Schema) -> Vec<String> {
    let renames = migrate_core::schema::Renames::default();
    match migrate_core::schema::compare(before, after, &renames, true) {
        Ok(d) => {
            let mut lines: Vec<String> = d.detected().into_iter().map(|l| l.text).collect();
            lines.extend(d.not_generated.iter().map(|n| format!("Not generated: {n} differs")));
            lines
        }
        Err(e) => vec![e.to_string()],
    }
}

impl<'m> Run<'m> {
    /// The revisions applied when the walk starts, by position, the history verified.
    async fn applied_at_start(&self, session: &mut Session<'_>) -> Result<Vec<bool>> {
        let conn = session.conn.backend();
        let s = conn.prepare(&self.settings).await?;
        let rows = crate::driver::read_if_present(conn, &s).await?;
        self.check(&self.graph()?, &rows)
    }

    /// With repeatables, the walk ends as every deploy does: an upgrade to
    /// head, which applies them on top of the revisions (a view over a
    /// column a revision dropped fails here, not in production). The
    /// database is left at head; without repeatables nothing runs. The
    /// repeatables applied go to `out`; a failure is why the walk stopped.
    async fn repeatables_at_head(
        &self,
        session: &mut Session<'_>,
        out: &mut RoundTrips,
    ) -> std::result::Result<(), String> {
        if self.migrations.repeatables().is_empty() {
            return Ok(());
        }
        match self.step(session, Op::Upgrade(Target::Head)).await {
            Ok(report) => {
                out.repeatables = report
                    .revisions()
                    .into_iter()
                    .filter(|r| migrate_core::repeatable::is_repeatable(r))
                    .map(str::to_owned)
                    .collect();
                Ok(())
            }
            Err(e) => Err(format!("applying the repeatables on top of head failed: {e}")),
        }
    }

    /// This run over `migrations` instead of its own list.
    fn over<'a>(&self, migrations: &'a Migrations) -> Run<'a>
    where
        'm: 'a,
    {
        Run {
            migrations,
            ..self.clone()
        }
    }

    /// Upgrades `m` again after its downgrade. What the downgrade left may be
    /// in the way: where the catalogs read no difference (a role, what they do
    /// not read), that failure is the difference, never an `ok`; where it was
    /// rolled back, the revision is recorded without running and the walk goes
    /// on, else it stops there.
    async fn upgrade_again(&self, session: &mut Session<'_>, m: &Migration, to: Target, out: &mut RoundTrips) -> Again {
        let Err(e) = self.step(session, Op::Upgrade(to.clone())).await else {
            return Again::Ran;
        };
        if let Some(last) = out.revisions.last_mut()
            && last.outcome == RoundTripOutcome::Restored
        {
            last.outcome = RoundTripOutcome::Differs(vec![format!(
                "upgrading it again failed on what its downgrade left: {e}"
            )]);
        }
        let rolled_back = matches!(&e, Error::Migration { rolled_back: true, .. });
        if rolled_back && self.step(session, Op::Stamp(to)).await.is_ok() {
            out.notes.push(format!(
                "{}: recorded as applied without running it again, and the walk went on",
                m.revision()
            ));
            return Again::Stamped;
        }
        out.stopped = Some(format!(
            "upgrading {} again after its downgrade failed, as a downgrade that leaves something behind makes it: {e}",
            m.revision()
        ));
        Again::Stopped
    }

    pub(crate) fn round_trips<'a, 'c: 'a>(
        &'a self,
        connect: BoxFuture<'c, Result<Box<dyn Handle + 'c>>>,
        from: Start,
    ) -> BoxFuture<'a, Result<RoundTrips>> {
        Box::pin(async move {
            let mut session = Session::new(connect.await?);
            let s = self.settings.clone();
            let own = crate::catalog::own_tables(&s.table, self.set_tables.iter().map(|(_, t)| t));
            let applied = match from {
                Start::Empty => vec![false; self.migrations.len()],
                Start::Applied => self.applied_at_start(&mut session).await?,
            };
            // The last applied revision in the order of application: a revision before
            // it cannot be downgraded alone (`-1` would take that one).
            let last_applied = applied.iter().rposition(|&a| a);
            let start = crate::catalog::read(session.conn.backend(), &own).await?;
            if last_applied.is_none() && start != migrate_core::schema::Schema::default() {
                let mut objects = start.names();
                objects.truncate(5);
                return Err(Error::NotEmpty { objects });
            }
            let mut out = RoundTrips {
                revisions: Vec::new(),
                at_base: None,
                stopped: None,
                notes: Vec::new(),
                repeatables: Vec::new(),
            };
            // No step of the walk applies a repeatable, not even to the head's id: they come at the end.
            let versioned = self.migrations.clone().with_repeatables(Vec::new());
            let walk = self.over(&versioned);
            let mut all_reversible = true;
            let mut walked: i64 = 0;
            for (i, m) in self.migrations.iter().enumerate().filter(|&(i, _)| !applied[i]) {
                let before = crate::catalog::read(session.conn.backend(), &own).await?;
                let to = Target::Revision(m.revision().to_owned());
                let (upgraded, locks) = walk.measured_upgrade(&mut session, m, &to).await;
                if let Err(e) = upgraded {
                    out.stopped = Some(format!("upgrading {} failed: {e}", m.revision()));
                    return Ok(out);
                }
                walked += 1;
                if let Some(after) = last_applied.filter(|&l| l > i) {
                    all_reversible = false;
                    out.notes.push(format!(
                        "{}: upgraded, not round-tripped: the applied revision `{}` comes after it in the order of application, so no downgrade takes it alone (a walk from an empty database round-trips it)",
                        m.revision(),
                        self.migrations.iter().nth(after).map_or("", |a| a.revision())
                    ));
                    continue;
                }
                let trip = |outcome| RoundTrip {
                    revision: m.revision().to_owned(),
                    message: m.message().to_owned(),
                    outcome,
                    locks: locks.clone(),
                };
                if m.downgrade_sql().is_none() {
                    all_reversible = false;
                    out.revisions.push(trip(RoundTripOutcome::Irreversible));
                    continue;
                }
                if let Err(e) = walk.step(&mut session, Op::Downgrade(Target::Relative(-1))).await {
                    out.revisions
                        .push(trip(RoundTripOutcome::DowngradeFailed(e.to_string())));
                    out.stopped = Some(format!("downgrading {} failed", m.revision()));
                    return Ok(out);
                }
                let after = crate::catalog::read(session.conn.backend(), &own).await?;
                let found = differences(&before, &after);
                out.revisions.push(trip(if found.is_empty() {
                    RoundTripOutcome::Restored
                } else {
                    RoundTripOutcome::Differs(found)
                }));
                match walk.upgrade_again(&mut session, m, to, &mut out).await {
                    Again::Ran => {}
                    Again::Stamped => all_reversible = false,
                    Again::Stopped => return Ok(out),
                }
            }
            if all_reversible {
                // Every walked revision comes after the applied ones: the last `walked` go down.
                let (down, to) = match last_applied {
                    None => (Some(Target::Base), "base"),
                    Some(_) if walked == 0 => (None, ""),
                    Some(_) => (Some(Target::Relative(-walked)), "where the walk started"),
                };
                if let Some(down) = down
                    && let Err(e) = walk.step(&mut session, Op::Downgrade(down)).await
                {
                    out.stopped = Some(format!("downgrading to {to} failed: {e}"));
                    return Ok(out);
                }
                let end = crate::catalog::read(session.conn.backend(), &own).await?;
                out.at_base = Some(differences(&start, &end));
            }
            if let Err(stopped) = self.repeatables_at_head(&mut session, &mut out).await {
                out.stopped = Some(stopped);
                return Ok(out);
            }
            session.clean = true;
            Ok(out)
        })
    }
}
