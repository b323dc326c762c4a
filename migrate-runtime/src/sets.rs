//! Several migration sets in one database: an application's own and those
//! of the libraries it uses (a job queue's, say), each with its own history
//! table and so its own lock, migrated one after the other in a declared
//! order by one call.

use crate::error::{Error, Result};
use crate::migrator::{Connect, Migrations, Migrator};
use crate::report::Report;
use crate::table::HistoryTable;

/// Migration sets, in the order they are migrated.
///
/// ```no_run
/// # async fn f(app: &migrate_runtime::Migrations, jobq: &migrate_runtime::Migrations, pool: &sqlx::SqlitePool) -> Result<(), migrate_runtime::Error> {
/// use migrate_runtime::Sets;
/// let reports = Sets::new()
///     .add("jobq", jobq) // history in migrate_history_jobq
///     .add_migrator("app", app.migrator()) // history in migrate_history, as before
///     .upgrade(pool)
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Sets<'m> {
    sets: Vec<(String, Migrator<'m>)>,
}

impl<'m> Sets<'m> {
    /// No sets yet.
    pub fn new() -> Self {
        Sets { sets: Vec::new() }
    }

    /// Adds the set `name`, its history in `migrate_history_<name>`.
    pub fn add(self, name: &str, migrations: &'m Migrations) -> Self {
        // An invalid name is reported by the first call that uses it, as `history_table` does.
        self.add_migrator(
            name,
            migrations.migrator().history_table(&HistoryTable::set_table_name(name)),
        )
    }

    /// Adds the set `name` run by `migrator`, configured as the caller wants (its history table included).
    pub fn add_migrator(mut self, name: &str, migrator: Migrator<'m>) -> Self {
        self.sets.push((name.to_owned(), migrator));
        self
    }

    /// Upgrades every set to its head, in the order added; each set's
    /// `-- depends_on:` lines are checked against the others' history tables.
    /// Stops at the first set that fails ([`Error::InSet`]): the sets before
    /// it stay migrated.
    pub async fn upgrade<'c, C: Connect<'c> + Copy>(&self, db: C) -> Result<Vec<(String, Report)>> {
        let tables: Vec<(String, HistoryTable)> = self
            .sets
            .iter()
            .filter_map(|(name, m)| m.table().map(|t| (name.clone(), t.clone())))
            .collect();
        let mut done: Vec<(String, Report)> = Vec::new();
        for (name, migrator) in &self.sets {
            let mut m = migrator.clone();
            for (other, table) in tables.iter().filter(|(other, _)| other != name) {
                m = m.set_history_table(other, table.clone());
            }
            for (other, theirs) in self.sets.iter().filter(|(other, _)| other != name) {
                m = m.set_migrations(other, theirs.migrations);
            }
            match m.upgrade(db, "head").await {
                Ok(report) => done.push((name.clone(), report)),
                Err(e) => {
                    return Err(Error::InSet {
                        set: name.clone(),
                        completed: done.into_iter().map(|(n, _)| n).collect(),
                        source: Box::new(e),
                    });
                }
            }
        }
        Ok(done)
    }
}
