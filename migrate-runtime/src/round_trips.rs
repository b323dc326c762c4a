//! Proving every downgrade: each revision upgraded, downgraded, compared
//! through the catalog readers, and upgraded again; then down to base.

use crate::report::{RoundTrip, RoundTripOutcome, RoundTrips};
use crate::run::*;

impl<'m> Run<'m> {
    pub(crate) fn round_trips<'a, 'c: 'a>(
        &'a self,
        connect: BoxFuture<'c, Result<Box<dyn Handle + 'c>>>,
    ) -> BoxFuture<'a, Result<RoundTrips>> {
        Box::pin(async move {
            let mut session = Session::new(connect.await?);
            let s = self.settings.clone();
            let own = crate::catalog::own_tables(&s.table, self.set_tables.iter().map(|(_, t)| t));
            let start = crate::catalog::read(session.conn.backend(), &own).await?;
            if start != migrate_core::schema::Schema::default() {
                let mut objects = start.names();
                objects.truncate(5);
                return Err(Error::NotEmpty { objects });
            }
            let differences = |before: &migrate_core::schema::Schema, after: &migrate_core::schema::Schema| {
                let renames = migrate_core::schema::Renames::default();
                match migrate_core::schema::compare(before, after, &renames, true) {
                    Ok(d) => {
                        let mut lines: Vec<String> = d.detected().into_iter().map(|l| l.text).collect();
                        lines.extend(d.not_generated.iter().map(|n| format!("Not generated: {n} differs")));
                        lines
                    }
                    Err(e) => vec![e.to_string()],
                }
            };
            let mut out = RoundTrips {
                revisions: Vec::new(),
                at_base: None,
                stopped: None,
                notes: Vec::new(),
            };
            let mut all_reversible = true;
            for m in self.migrations.iter() {
                let before = crate::catalog::read(session.conn.backend(), &own).await?;
                let to = Target::Revision(m.revision().to_owned());
                if let Err(e) = self.step(&mut session, Op::Upgrade(to.clone())).await {
                    out.stopped = Some(format!("upgrading {} failed: {e}", m.revision()));
                    return Ok(out);
                }
                let trip = |outcome| RoundTrip {
                    revision: m.revision().to_owned(),
                    message: m.message().to_owned(),
                    outcome,
                };
                if m.downgrade_sql().is_none() {
                    all_reversible = false;
                    out.revisions.push(trip(RoundTripOutcome::Irreversible));
                    continue;
                }
                if let Err(e) = self.step(&mut session, Op::Downgrade(Target::Relative(-1))).await {
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
                if let Err(e) = self.step(&mut session, Op::Upgrade(to.clone())).await {
                    // What the downgrade left is in the way. Where the failure was rolled
                    // back, record the revision without running it and go on.
                    let rolled_back = matches!(&e, Error::Migration { rolled_back: true, .. });
                    if rolled_back && self.step(&mut session, Op::Stamp(to)).await.is_ok() {
                        out.notes.push(format!(
                            "{}: upgrading it again failed on what its downgrade left ({e}); recorded it as applied without running it, and went on",
                            m.revision()
                        ));
                        all_reversible = false;
                        continue;
                    }
                    out.stopped = Some(format!(
                        "upgrading {} again after its downgrade failed, as a downgrade that leaves something behind makes it: {e}",
                        m.revision()
                    ));
                    return Ok(out);
                }
            }
            if all_reversible {
                if let Err(e) = self.step(&mut session, Op::Downgrade(Target::Base)).await {
                    out.stopped = Some(format!("downgrading to base failed: {e}"));
                    return Ok(out);
                }
                let end = crate::catalog::read(session.conn.backend(), &own).await?;
                out.at_base = Some(differences(&start, &end));
            }
            session.clean = true;
            Ok(out)
        })
    }
}
