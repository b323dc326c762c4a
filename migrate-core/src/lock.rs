//! Table locks by name: what a rehearsal or a round trip measured a statement
//! taking, and the budget a revision declares with
//! `-- migrate:max-lock: NAME` (PostgreSQL's table lock modes and MySQL's
//! metadata locks, in kebab case), ranked per database.
//!
//! Pure names and orders: reading the locks is the runtime's.

use crate::Dialect;

/// A lock on a table, by the name a budget writes (`share-update-exclusive`,
/// `shared-no-write`). `exclusive` is both PostgreSQL's `EXCLUSIVE` and
/// MySQL's `MDL_EXCLUSIVE`: each database ranks the names it knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableLock {
    /// PostgreSQL `ACCESS SHARE` (a `SELECT`).
    AccessShare,
    /// PostgreSQL `ROW SHARE` (`SELECT … FOR UPDATE`).
    RowShare,
    /// PostgreSQL `ROW EXCLUSIVE` (`INSERT`, `UPDATE`, `DELETE`).
    RowExclusive,
    /// PostgreSQL `SHARE UPDATE EXCLUSIVE` (`CREATE INDEX CONCURRENTLY`, `VALIDATE CONSTRAINT`).
    ShareUpdateExclusive,
    /// PostgreSQL `SHARE` (`CREATE INDEX`).
    Share,
    /// PostgreSQL `SHARE ROW EXCLUSIVE` (`CREATE TRIGGER`, a foreign key's referenced table).
    ShareRowExclusive,
    /// PostgreSQL `EXCLUSIVE`, MySQL `MDL_EXCLUSIVE`, SQLite's file lock while it writes.
    Exclusive,
    /// PostgreSQL `ACCESS EXCLUSIVE` (most `ALTER TABLE`, `DROP`).
    AccessExclusive,
    /// MySQL `MDL_SHARED`.
    Shared,
    /// MySQL `MDL_SHARED_HIGH_PRIO`.
    SharedHighPrio,
    /// MySQL `MDL_SHARED_READ`.
    SharedRead,
    /// MySQL `MDL_SHARED_WRITE`.
    SharedWrite,
    /// MySQL `MDL_SHARED_UPGRADABLE` (the start of an online `ALTER TABLE`).
    SharedUpgradable,
    /// MySQL `MDL_SHARED_READ_ONLY`.
    SharedReadOnly,
    /// MySQL `MDL_SHARED_NO_WRITE` (a copying `ALTER TABLE`).
    SharedNoWrite,
    /// MySQL `MDL_SHARED_NO_READ_WRITE`.
    SharedNoReadWrite,
}

/// Every name, as a budget writes it, PostgreSQL's first, weakest first.
const NAMES: [(&str, TableLock); 16] = [
    ("access-share", TableLock::AccessShare),
    ("row-share", TableLock::RowShare),
    ("row-exclusive", TableLock::RowExclusive),
    ("share-update-exclusive", TableLock::ShareUpdateExclusive),
    ("share", TableLock::Share),
    ("share-row-exclusive", TableLock::ShareRowExclusive),
    ("exclusive", TableLock::Exclusive),
    ("access-exclusive", TableLock::AccessExclusive),
    ("shared", TableLock::Shared),
    ("shared-high-prio", TableLock::SharedHighPrio),
    ("shared-read", TableLock::SharedRead),
    ("shared-write", TableLock::SharedWrite),
    ("shared-upgradable", TableLock::SharedUpgradable),
    ("shared-read-only", TableLock::SharedReadOnly),
    ("shared-no-write", TableLock::SharedNoWrite),
    ("shared-no-read-write", TableLock::SharedNoReadWrite),
];

/// A name no database calls a table lock.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is no table lock's name")]
pub struct UnknownLock(pub String);

impl std::str::FromStr for TableLock {
    type Err = UnknownLock;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        NAMES
            .iter()
            .find(|(n, _)| *n == wanted)
            .map(|(_, l)| *l)
            .ok_or_else(|| UnknownLock(s.trim().to_owned()))
    }
}

impl std::fmt::Display for TableLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = NAMES.iter().find(|(_, l)| l == self).map_or("?", |(n, _)| n);
        f.write_str(name)
    }
}

impl TableLock {
    /// The lock as `pg_locks.mode` names it (`ShareLock`), if it is PostgreSQL's.
    pub fn from_postgres_mode(mode: &str) -> Option<TableLock> {
        let kebab = mode.strip_suffix("Lock")?;
        let mut name = String::new();
        for c in kebab.chars() {
            if c.is_ascii_uppercase() && !name.is_empty() {
                name.push('-');
            }
            name.push(c.to_ascii_lowercase());
        }
        name.parse()
            .ok()
            .filter(|l: &TableLock| l.rank(Dialect::Postgres).is_some())
    }

    /// The lock as MariaDB's `METADATA_LOCK_INFO.LOCK_MODE` names it
    /// (`MDL_SHARED_WRITE`), if it is a table's metadata lock.
    pub fn from_mysql_mode(mode: &str) -> Option<TableLock> {
        let name = mode.trim().strip_prefix("MDL_")?;
        name.parse()
            .ok()
            .filter(|l: &TableLock| l.rank(Dialect::Mysql).is_some())
    }

    /// The lock as the database's documentation writes it (`SHARE UPDATE
    /// EXCLUSIVE`, `MDL_SHARED_WRITE`); SQLite's file lock is `EXCLUSIVE`.
    pub fn database_name(self, dialect: Dialect) -> String {
        let name = self.to_string().to_ascii_uppercase();
        match dialect {
            Dialect::Mysql => format!("MDL_{}", name.replace('-', "_")),
            _ => name.replace('-', " "),
        }
    }

    /// Its strength among the locks of `dialect` (higher conflicts with more),
    /// or `None` when that database has no lock of this name. SQLite ranks
    /// none: its one lock is the whole file's, which no table budget describes.
    pub fn rank(self, dialect: Dialect) -> Option<u8> {
        use TableLock::*;
        match dialect {
            Dialect::Postgres => match self {
                AccessShare => Some(1),
                RowShare => Some(2),
                RowExclusive => Some(3),
                ShareUpdateExclusive => Some(4),
                Share => Some(5),
                ShareRowExclusive => Some(6),
                Exclusive => Some(7),
                AccessExclusive => Some(8),
                _ => None,
            },
            Dialect::Mysql => match self {
                Shared | SharedHighPrio => Some(1),
                SharedRead => Some(2),
                SharedWrite => Some(3),
                SharedUpgradable => Some(4),
                SharedReadOnly => Some(5),
                SharedNoWrite => Some(6),
                SharedNoReadWrite => Some(7),
                Exclusive => Some(8),
                _ => None,
            },
            Dialect::Sqlite => None,
        }
    }

    /// Whether a statement taking this lock goes over `budget` on `dialect`:
    /// `None` when the budget or the lock is not one of that database's names
    /// (the budget then says nothing there).
    pub fn exceeds(self, budget: TableLock, dialect: Dialect) -> Option<bool> {
        Some(self.rank(dialect)? > budget.rank(dialect)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, expected: Option<TableLock>) {
        assert_eq!(name.parse::<TableLock>().ok(), expected, "{name}");
    }

    #[test]
    fn names_read_as_budgets_write_them() {
        check("share-update-exclusive", Some(TableLock::ShareUpdateExclusive));
        check("SHARE UPDATE EXCLUSIVE", Some(TableLock::ShareUpdateExclusive));
        check("shared-no-write", Some(TableLock::SharedNoWrite));
        check("shared_no_write", Some(TableLock::SharedNoWrite));
        check("exclusive", Some(TableLock::Exclusive));
        check("share-exclusive", None);
        check("", None);
        for (name, lock) in NAMES {
            assert_eq!(lock.to_string(), name);
        }
    }

    #[test]
    fn database_names_read_back() {
        assert_eq!(TableLock::from_postgres_mode("ShareLock"), Some(TableLock::Share));
        assert_eq!(
            TableLock::from_postgres_mode("ShareUpdateExclusiveLock"),
            Some(TableLock::ShareUpdateExclusive)
        );
        assert_eq!(
            TableLock::from_postgres_mode("AccessExclusiveLock"),
            Some(TableLock::AccessExclusive)
        );
        assert_eq!(TableLock::from_postgres_mode("SIReadLock"), None);
        assert_eq!(
            TableLock::from_mysql_mode("MDL_SHARED_WRITE"),
            Some(TableLock::SharedWrite)
        );
        assert_eq!(TableLock::from_mysql_mode("MDL_EXCLUSIVE"), Some(TableLock::Exclusive));
        assert_eq!(TableLock::from_mysql_mode("MDL_INTENTION_EXCLUSIVE"), None);
        assert_eq!(TableLock::Share.database_name(Dialect::Postgres), "SHARE");
        assert_eq!(
            TableLock::SharedNoWrite.database_name(Dialect::Mysql),
            "MDL_SHARED_NO_WRITE"
        );
    }

    #[test]
    fn budgets_rank_within_one_database() {
        let pg = Dialect::Postgres;
        assert_eq!(
            TableLock::Share.exceeds(TableLock::ShareUpdateExclusive, pg),
            Some(true)
        );
        assert_eq!(
            TableLock::ShareUpdateExclusive.exceeds(TableLock::ShareUpdateExclusive, pg),
            Some(false)
        );
        assert_eq!(TableLock::AccessShare.exceeds(TableLock::Exclusive, pg), Some(false));
        // A MySQL name says nothing on PostgreSQL, and no budget applies to SQLite's file.
        assert_eq!(TableLock::Share.exceeds(TableLock::SharedNoWrite, pg), None);
        assert_eq!(TableLock::Exclusive.exceeds(TableLock::Share, Dialect::Sqlite), None);
        let my = Dialect::Mysql;
        assert_eq!(TableLock::Exclusive.exceeds(TableLock::SharedNoWrite, my), Some(true));
        assert_eq!(
            TableLock::SharedWrite.exceeds(TableLock::SharedNoWrite, my),
            Some(false)
        );
    }
}
