//! The SQL each database speaks for the history table, as plain text.
//!
//! The drivers send these statements, and the offline scripts print the
//! very same ones, so a script a DBA runs by hand leaves the history table
//! exactly as an online run would.

use crate::table::HistoryTable;
use migrate_core::{Checksum, Digest, Migration, Phase, State};
pub use migrate_core::{Dialect, UnknownDialect};
use std::time::Duration;

mod guards;
mod timeouts;
pub(crate) use timeouts::timeout_settings;

/// What a column added after the first version holds.
#[derive(Debug, Clone, Copy)]
enum ColumnKind {
    Short,
    Count,
    Text,
}

/// A column added after the first version of the history table.
#[derive(Debug)]
struct Column {
    name: &'static str,
    kind: ColumnKind,
}

/// The columns added after the first version of the history table, in the
/// order `select_history` reads them. A table made by an earlier version
/// gains them on the first run that changes anything; rows written before
/// read NULL in them. Every one is nullable.
const EXTRA_COLUMNS: [Column; 6] = [
    // `expand` or `contract`, from the header.
    Column {
        name: "phase",
        kind: ColumnKind::Short,
    },
    // 1 for a `-- migrate:no-transaction` migration.
    Column {
        name: "no_transaction",
        kind: ColumnKind::Count,
    },
    // The downgrade section when it was applied, and its checksum, so an
    // older build without the file can unapply it.
    Column {
        name: "downgrade",
        kind: ColumnKind::Text,
    },
    Column {
        name: "downgrade_checksum",
        kind: ColumnKind::Short,
    },
    // How many statements of a migration run statement by statement completed.
    Column {
        name: "statements_done",
        kind: ColumnKind::Count,
    },
    // A backfill's progress: `NEXT LAST ROWS`, the start of the next batch
    // (every key below it done), the key's maximum when it began, and the
    // rows its committed batches changed (`driver::backfill`).
    Column {
        name: "backfill",
        kind: ColumnKind::Short,
    },
];

/// The names of the columns added after the first version of the history
/// table: all present once a changing run has created or completed it.
pub(crate) fn added_columns() -> impl Iterator<Item = String> {
    EXTRA_COLUMNS.iter().map(|c| c.name.to_owned())
}

/// The lease table's name (in the history table's schema).
pub const LEASE_TABLE: &str = "migrate_lease";

/// The heads Alembic recorded in its version table `table` (a plain name, checked
/// by the caller): the same query on every database.
pub(crate) fn select_alembic_heads(table: &str) -> String {
    format!("SELECT version_num FROM {table}")
}

/// Another Rust tool's history table, read by `adopt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ToolHistory {
    /// sqlx's `_sqlx_migrations` (version, checksum: SHA-384 bytes, success).
    Sqlx,
    /// refinery's `refinery_schema_history` (version, checksum: a decimal u64).
    Refinery,
    /// diesel's `__diesel_schema_migrations` (version, no checksum).
    Diesel,
    /// golang-migrate's `schema_migrations` (its one version, `dirty`).
    GolangMigrate,
    /// goose's `goose_db_version` (a row per apply and rollback, `is_applied`).
    Goose,
    /// dbmate's `schema_migrations` (a row per applied version).
    Dbmate,
    /// Flyway's `flyway_schema_history` (a row per run, in `installed_rank`
    /// order: version, checksum (a signed CRC-32), success, type).
    Flyway,
}

/// The rows of `tool`'s history table `table` (a plain name, checked by the
/// caller) as text, in version order: the version, the checksum (hex for
/// sqlx's bytes, NULL where the tool stores none), and `true` or `false`:
/// success for sqlx, not dirty for golang-migrate, `is_applied` for goose
/// (whose rows come in the order they were written); Flyway's rows come in
/// `installed_rank` order with their `type` as a fourth column.
pub(crate) fn select_tool_history(dialect: Dialect, tool: ToolHistory, table: &str) -> String {
    let text = match dialect {
        Dialect::Mysql => "CHAR",
        Dialect::Sqlite | Dialect::Postgres => "TEXT",
    };
    let hex = match dialect {
        Dialect::Postgres => "encode(checksum, 'hex')",
        Dialect::Sqlite | Dialect::Mysql => "LOWER(HEX(checksum))",
    };
    let (checksum, success) = match tool {
        ToolHistory::Sqlx => (
            hex.to_owned(),
            "CASE WHEN success THEN 'true' ELSE 'false' END".to_owned(),
        ),
        ToolHistory::Refinery => (format!("CAST(checksum AS {text})"), "'true'".to_owned()),
        ToolHistory::Diesel | ToolHistory::Dbmate => (format!("CAST(NULL AS {text})"), "'true'".to_owned()),
        ToolHistory::GolangMigrate => (
            format!("CAST(NULL AS {text})"),
            "CASE WHEN dirty THEN 'false' ELSE 'true' END".to_owned(),
        ),
        ToolHistory::Goose => {
            return format!(
                "SELECT CAST(version_id AS {text}), CAST(NULL AS {text}), CASE WHEN is_applied THEN 'true' ELSE 'false' END FROM {table} ORDER BY id"
            );
        }
        ToolHistory::Flyway => {
            return format!(
                "SELECT CAST(version AS {text}), CAST(checksum AS {text}), CASE WHEN success THEN 'true' ELSE 'false' END, CAST(type AS {text}), CAST(description AS {text}) FROM {table} ORDER BY installed_rank"
            );
        }
    };
    format!("SELECT CAST(version AS {text}), {checksum}, {success} FROM {table} ORDER BY version")
}

/// The SQLSTATE of [`Dialect::lease_guard`]'s error.
pub const LEASE_LOST_CODE: &str = "MG001";

/// The SQLSTATE of [`Backend::held_lock_guard`](crate::driver::Backend::held_lock_guard)'s
/// error: a run's transaction landed on a server session that does not hold its lock.
pub const LOCK_NOT_HELD_CODE: &str = "MG002";

/// The statements about the runtime's own tables, in each [`Dialect`]: what the
/// drivers send and the offline scripts print.
pub trait HistorySql: Copy {
    /// The history table's name, quoted and schema-qualified.
    fn table(self, t: &HistoryTable) -> String;

    /// A string literal holding `text`.
    fn quote_text(self, text: &str) -> String;

    /// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
    fn now(self) -> &'static str;

    /// `CREATE TABLE IF NOT EXISTS` for the history table.
    fn create_table(self, t: &HistoryTable) -> String;

    /// The query listing the history table's column names, one a row.
    fn select_columns(self, t: &HistoryTable) -> String;

    /// The statements adding the columns of `EXTRA_COLUMNS` that a history
    /// table made by an earlier version lacks (`present` lists what it has).
    fn add_missing_columns(self, t: &HistoryTable, present: &[String]) -> Vec<String>;

    /// The row recording that `m` is applied; `execution_ms` is an SQL expression.
    fn insert_applied(self, t: &HistoryTable, m: &Migration, execution_ms: &str) -> String;

    /// [`insert_applied`](Self::insert_applied) with `applied_at` an SQL
    /// expression of the caller's (a batch stamps its rows once, at its end).
    fn insert_applied_at(self, t: &HistoryTable, m: &Migration, execution_ms: &str, applied_at: &str) -> String;

    /// [`insert_applied`](Self::insert_applied) with only the columns every
    /// version of the table has: what an offline script writes, since it
    /// cannot know which version of the table it will run on. Such a row
    /// has no stored downgrade and no phase.
    fn insert_applied_basic(self, t: &HistoryTable, m: &Migration, execution_ms: &str) -> String;

    /// A row for `m` marked `state` (a run in progress), not yet applied.
    fn insert_marked(self, t: &HistoryTable, m: &Migration, state: State) -> String;

    /// [`insert_marked`](Self::insert_marked) with only the columns every
    /// version of the table has, as [`insert_applied_basic`](Self::insert_applied_basic).
    fn insert_marked_basic(self, t: &HistoryTable, m: &Migration, state: State) -> String;

    /// The query counting, as text, the applied rows of `revision` in `t`
    /// (another migration set's history): `1` when it is applied.
    fn select_applied(self, t: &HistoryTable, revision: &str) -> String;

    /// Records `revision`'s checksum anew (its file changed before a retry).
    fn set_checksum(self, t: &HistoryTable, revision: &str, checksum: &str) -> String;

    /// Records that the first `done` statements of `revision`, which runs
    /// statement by statement, have completed.
    fn set_progress(self, t: &HistoryTable, revision: &str, done: usize) -> String;

    /// The query reading how many statements of `revision` completed.
    fn select_progress(self, t: &HistoryTable, revision: &str) -> String;

    /// Records a backfill's progress (`NEXT LAST ROWS`) in `revision`'s row.
    fn set_backfill(self, t: &HistoryTable, revision: &str, progress: &str) -> String;

    /// The query reading `revision`'s state and backfill progress, as text.
    fn select_backfill(self, t: &HistoryTable, revision: &str) -> String;

    /// Sets `revision`'s state and error.
    fn set_state(self, t: &HistoryTable, revision: &str, state: State, error: Option<&str>) -> String;

    /// Marks `revision` applied now, having taken `execution_ms` (an SQL expression).
    fn set_applied(self, t: &HistoryTable, revision: &str, execution_ms: &str) -> String;

    /// Removes `revision`'s row.
    fn delete(self, t: &HistoryTable, revision: &str) -> String;

    /// The `SELECT` that reads the history rows (not the digest row), in a
    /// fixed column order; a column of `EXTRA_COLUMNS` missing from
    /// `present` (a table of an earlier version, read without changing it)
    /// reads as NULL.
    fn select_history(self, t: &HistoryTable, present: &[String]) -> String;

    /// The `SELECT` of the digest row: the whole start-up check when nothing is to do.
    ///
    /// On PostgreSQL without a chosen schema, an unqualified name would be looked up along
    /// the `search_path` and could find another schema's table (a schema not migrated yet,
    /// first on the path, hides nothing from that lookup); the row counts only when it
    /// comes from the table in `current_schema()`, the one the run itself pins.
    fn select_digest(self, t: &HistoryTable) -> String;

    /// Writes the digest row: revision `''` (no revision has an empty id),
    /// state `digest`, the digest in `checksum`, the number of rows in `execution_ms`.
    fn set_digest(self, t: &HistoryTable, digest: &Digest) -> String;

    /// Writes the digest row (after [`delete_digest`](Self::delete_digest)) only
    /// if the table's rows are exactly `expected`, applied with their checksums:
    /// what an offline script ends with, since it cannot know what it ran on.
    fn set_digest_if_rows_are(self, t: &HistoryTable, digest: &Digest, expected: &[&Migration]) -> String;

    /// Statements that fail, with `why`, when the table holds a row of any of
    /// `revisions`, and do nothing otherwise: an offline script's guard where
    /// an online run would refuse on what it reads.
    fn fail_if_rows(self, t: &HistoryTable, revisions: &[&str], why: &str) -> String;

    /// Statements that fail, with `why`, unless `revision` is applied and no
    /// row names it among its parents (no revision after it is recorded):
    /// before a downgrade script unapplies it, the state an online run would
    /// read from the rows.
    fn fail_unless_last_applied(self, t: &HistoryTable, revision: &str, why: &str) -> String;

    /// Statements that fail, with `why`, unless, for each of `revisions`, one
    /// of its ids is applied (a squash baseline's own, or its squash point's,
    /// whose row stands for it): before an upgrade script's step whose
    /// parents it assumes.
    fn fail_unless_applied(self, t: &HistoryTable, revisions: &[Vec<&str>], why: &str) -> String;

    /// Erases every row, the digest included.
    fn delete_all(self, t: &HistoryTable) -> String;

    /// Drops the digest row, so the next start-up checks row by row.
    fn delete_digest(self, t: &HistoryTable) -> String;

    /// Removes the repeatable revisions' rows (`repeatable:<name>`): a
    /// downgrade's, so that the next upgrade to head applies every one again.
    fn delete_repeatables(self, t: &HistoryTable) -> String;

    /// The lease table, beside the history table (in its schema): one row per
    /// history table whose runs take a lease instead of an advisory lock.
    fn lease_table(self, t: &HistoryTable) -> String;

    /// `CREATE TABLE IF NOT EXISTS` for the lease table.
    fn create_lease_table(self, t: &HistoryTable) -> String;

    /// The database clock in milliseconds since the Unix epoch, as an SQL expression.
    /// One atomic statement taking the lease of `t` for `owner` for `ttl_ms`:
    /// it inserts the row, or takes it over when it expired (its owner died,
    /// or lost it), or renews it when `owner` already holds it; otherwise it
    /// changes nothing. Whether it was taken is read back with
    /// [`select_lease_owner`](Self::select_lease_owner).
    fn take_lease(self, t: &HistoryTable, owner: &str, ttl_ms: u128) -> String;

    /// Extends the lease of `t` by `ttl_ms` if `owner` still holds it.
    fn renew_lease(self, t: &HistoryTable, owner: &str, ttl_ms: u128) -> String;

    /// The query reading who holds the lease of `t` (no row: nobody).
    fn select_lease_owner(self, t: &HistoryTable) -> String;

    /// The query reading who holds the lease of `t` while it has not expired
    /// (no row: free or expired).
    fn select_lease_holder_if_live(self, t: &HistoryTable) -> String;

    /// [`select_lease_owner`](Self::select_lease_owner) as a locking read
    /// (MySQL `FOR UPDATE`), which sees the latest row inside a transaction.
    fn select_lease_owner_locked(self, t: &HistoryTable) -> String;

    /// The query describing the holder of the lease of `t`: owner, since when, and how long it has left.
    fn select_lease_holder(self, t: &HistoryTable) -> String;

    /// Gives the lease of `t` back, if `owner` holds it.
    fn release_lease(self, t: &HistoryTable, owner: &str) -> String;

    /// PostgreSQL: a statement, for inside a step's transaction before it
    /// commits, that renews the lease and fails with SQLSTATE `MG001` if
    /// `owner` no longer holds it, so the step rolls back instead of committing.
    fn lease_guard(self, t: &HistoryTable, owner: &str, ttl_ms: u128) -> Option<String>;

    /// SQLite: the query reading the connection's `foreign_keys` setting, `0` or `1`.
    fn select_foreign_keys(self) -> String;

    /// SQLite: the statement turning the connection's foreign key enforcement
    /// on or off (outside a transaction: inside one, SQLite ignores it).
    fn set_foreign_keys(self, on: bool) -> String;

    /// SQLite: the query listing up to `limit` rows whose foreign key points at
    /// no row, one text per row: table, rowid (empty for a `WITHOUT ROWID`
    /// table) and referenced table, separated by tabs.
    fn select_foreign_key_violations(self, limit: usize) -> String;

    /// SQLite: statements for a script's step, before its `COMMIT`, that list
    /// the rows whose foreign key points at no row and fail when there is one
    /// (a `CHECK` constraint named after the problem), so `.bail on` stops
    /// before the step commits.
    fn foreign_key_guard(self) -> String;

    /// The statements a script starts with so that its session reads and
    /// writes as the runtime's connections (sqlx's) do: the text's encoding,
    /// UTF-8, and the time zone, UTC (PostgreSQL's `client_encoding` and
    /// `TimeZone`; MySQL's `SET NAMES utf8mb4` and `time_zone`), whatever the
    /// client's locale or the database's defaults; SQLite's foreign keys
    /// enforced, as sqlx's connections have them and the `sqlite3` shell
    /// does not. A comment line first says so.
    fn session_script(self) -> Option<&'static str>;

    /// PostgreSQL, a history table of no chosen schema: the statement a
    /// script starts with, noting the schema current then (the one an
    /// online run pins for the whole run), and the one that, inside a
    /// transaction, makes that schema the only one searched until the
    /// transaction ends, for a history statement after a migration that may
    /// have changed `search_path`. `None` elsewhere.
    fn history_pin_script(self, t: &HistoryTable) -> Option<(String, String)>;

    /// The statements a script puts before and after a `-- migrate:foreign-keys-off`
    /// step, outside its transaction: SQLite turns enforcement off and on again,
    /// MySQL saves the session's `foreign_key_checks`, sets it to 0 and puts it
    /// back; `None` on PostgreSQL, where the directive has no effect.
    fn foreign_keys_off_script(self) -> Option<(String, String)>;

    /// `sql` (statements without a final `;`) in a transaction of its own.
    fn transaction(self, sql: &str) -> String;

    /// The statements a script puts around a step whose lock waits or
    /// statements are bounded (its header's timeouts, else the run's), as
    /// [`timeout_settings`] says: PostgreSQL's `SET LOCAL` after the step's
    /// `BEGIN` (`in_transaction`), else its settings set before and reset
    /// after; MySQL's saved in variables, set, and put back after. MySQL's
    /// statement timeout bounds only `SELECT`s, and a script cannot tell it
    /// from MariaDB, whose own one is set in a `/*M! … */` comment of the
    /// same statement, which MySQL skips. `None` on SQLite, or when the step
    /// has neither timeout.
    fn timeouts_script(
        self,
        lock: Option<Duration>,
        statement: Option<Duration>,
        in_transaction: bool,
    ) -> Option<(String, String)>;
}

/// What the statements above share, kept out of the public trait.
trait Parts: Copy {
    fn quote(self) -> char;
    fn column_type(self, kind: ColumnKind) -> &'static str;
    fn insert_row(self, t: &HistoryTable, m: &Migration, state: State, times: (&str, &str), full: bool) -> String;
    fn now_ms(self) -> &'static str;
}

impl Parts for Dialect {
    fn quote(self) -> char {
        match self {
            Dialect::Mysql => '`',
            _ => '"',
        }
    }

    fn column_type(self, kind: ColumnKind) -> &'static str {
        match (kind, self) {
            (ColumnKind::Short, _) => "VARCHAR(80)",
            (ColumnKind::Count, _) => "BIGINT",
            // TEXT holds 64 KiB on MySQL; a stored downgrade may be longer.
            (ColumnKind::Text, Dialect::Mysql) => "LONGTEXT",
            (ColumnKind::Text, _) => "TEXT",
        }
    }

    fn insert_row(
        self,
        t: &HistoryTable,
        m: &Migration,
        state: State,
        (execution_ms, applied_at): (&str, &str),
        full: bool,
    ) -> String {
        let parents: Vec<&str> = m.down_revisions().collect();
        // A repeatable's row is replaced each time it is applied again.
        let again = migrate_core::repeatable::is_repeatable(m.revision());
        // Marked `expand`, a repeatable's row is what a build older than
        // repeatables accepts beside it: a newer build's expand revision.
        let phase = if again { Some(Phase::Expand) } else { m.phase() };
        let (columns, values) = if full {
            // A Rust revision's downgrade is code, never stored: without its file it is irreversible.
            let down = m.stored_downgrade().filter(|_| !m.is_rust());
            (
                ", phase, no_transaction, downgrade, downgrade_checksum, statements_done",
                format!(
                    ", {}, {}, {}, {}, 0",
                    phase.map_or_else(|| "NULL".to_owned(), |p| self.quote_text(p.as_str())),
                    u8::from(m.no_transaction()),
                    down.map_or_else(|| "NULL".to_owned(), |d| self.quote_text(d)),
                    down.map_or_else(
                        || "NULL".to_owned(),
                        |d| self.quote_text(&Checksum::of(d, m.no_transaction()).to_string())
                    ),
                ),
            )
        } else {
            ("", String::new())
        };
        let (insert, upsert) = match self {
            Dialect::Sqlite if again => ("INSERT OR REPLACE", String::new()),
            Dialect::Mysql if again => ("REPLACE", String::new()),
            Dialect::Postgres if again => {
                let set: Vec<String> = "down_revisions, message, checksum, state, applied_at, execution_ms"
                    .split(", ")
                    .chain(columns.split(", ").skip(1))
                    .map(|c| format!("{c} = EXCLUDED.{c}"))
                    .collect();
                (
                    "INSERT",
                    format!(" ON CONFLICT (revision) DO UPDATE SET {}, error = NULL", set.join(", ")),
                )
            }
            _ => ("INSERT", String::new()),
        };
        format!(
            "{insert} INTO {} (revision, down_revisions, message, checksum, state, applied_at, execution_ms{columns}) VALUES ({}, {}, {}, {}, {}, {}, {execution_ms}{values}){upsert}",
            self.table(t),
            self.quote_text(m.revision()),
            self.quote_text(&parents.join(",")),
            self.quote_text(m.message()),
            self.quote_text(&m.checksum().to_string()),
            self.quote_text(state.as_str()),
            applied_at,
        )
    }

    fn now_ms(self) -> &'static str {
        match self {
            Dialect::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
            Dialect::Postgres => "(extract(epoch FROM clock_timestamp()) * 1000)::bigint",
            Dialect::Mysql => "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)",
        }
    }
}

impl HistorySql for Dialect {
    fn table(self, t: &HistoryTable) -> String {
        t.quoted(self.quote())
    }

    fn quote_text(self, text: &str) -> String {
        match self {
            Dialect::Sqlite => format!("'{}'", text.replace('\'', "''")),
            // E'' strings read the same whatever `standard_conforming_strings` says.
            Dialect::Postgres => format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''")),
            Dialect::Mysql => format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''")),
        }
    }

    fn now(self) -> &'static str {
        match self {
            Dialect::Sqlite => "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
            Dialect::Postgres => "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
            Dialect::Mysql => "DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%dT%H:%i:%sZ')",
        }
    }

    fn create_table(self, t: &HistoryTable) -> String {
        let extra: String = EXTRA_COLUMNS
            .iter()
            .map(|c| format!(",\n    {} {}", c.name, self.column_type(c.kind)))
            .collect();
        format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    revision VARCHAR(64) NOT NULL PRIMARY KEY,\n    down_revisions TEXT NOT NULL,\n    message TEXT NOT NULL,\n    checksum VARCHAR(80) NOT NULL,\n    state VARCHAR(16) NOT NULL,\n    applied_at VARCHAR(32) NOT NULL,\n    execution_ms BIGINT NOT NULL,\n    error TEXT{extra}\n)",
            self.table(t)
        )
    }

    fn select_columns(self, t: &HistoryTable) -> String {
        let name = self.quote_text(t.name());
        match self {
            Dialect::Sqlite => match t.schema() {
                Some(schema) => format!(
                    "SELECT name FROM pragma_table_info({name}, {})",
                    self.quote_text(schema)
                ),
                None => format!("SELECT name FROM pragma_table_info({name})"),
            },
            Dialect::Postgres => format!(
                "SELECT column_name::text FROM information_schema.columns WHERE table_schema = {} AND table_name = {name}",
                t.schema()
                    .map_or_else(|| "current_schema()".to_owned(), |s| self.quote_text(s))
            ),
            Dialect::Mysql => format!(
                "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE({}, DATABASE()) AND TABLE_NAME = {name}",
                t.schema().map_or_else(|| "NULL".to_owned(), |s| self.quote_text(s))
            ),
        }
    }

    fn add_missing_columns(self, t: &HistoryTable, present: &[String]) -> Vec<String> {
        EXTRA_COLUMNS
            .iter()
            .filter(|c| !present.iter().any(|p| p.eq_ignore_ascii_case(c.name)))
            .map(|c| {
                format!(
                    "ALTER TABLE {} ADD COLUMN {} {}",
                    self.table(t),
                    c.name,
                    self.column_type(c.kind)
                )
            })
            .collect()
    }

    fn insert_applied(self, t: &HistoryTable, m: &Migration, execution_ms: &str) -> String {
        self.insert_row(t, m, State::Applied, (execution_ms, self.now()), true)
    }

    fn insert_applied_at(self, t: &HistoryTable, m: &Migration, execution_ms: &str, applied_at: &str) -> String {
        self.insert_row(t, m, State::Applied, (execution_ms, applied_at), true)
    }

    fn insert_applied_basic(self, t: &HistoryTable, m: &Migration, execution_ms: &str) -> String {
        self.insert_row(t, m, State::Applied, (execution_ms, self.now()), false)
    }

    fn insert_marked(self, t: &HistoryTable, m: &Migration, state: State) -> String {
        self.insert_row(t, m, state, ("0", self.now()), true)
    }

    fn insert_marked_basic(self, t: &HistoryTable, m: &Migration, state: State) -> String {
        self.insert_row(t, m, state, ("0", self.now()), false)
    }

    fn select_applied(self, t: &HistoryTable, revision: &str) -> String {
        let count = match self {
            Dialect::Mysql => "CAST(COUNT(*) AS CHAR)",
            _ => "CAST(COUNT(*) AS TEXT)",
        };
        format!(
            "SELECT {count} FROM {} WHERE revision = {} AND state = {}",
            self.table(t),
            self.quote_text(revision),
            self.quote_text(State::Applied.as_str())
        )
    }

    fn set_checksum(self, t: &HistoryTable, revision: &str, checksum: &str) -> String {
        format!(
            "UPDATE {} SET checksum = {} WHERE revision = {}",
            self.table(t),
            self.quote_text(checksum),
            self.quote_text(revision)
        )
    }

    fn set_progress(self, t: &HistoryTable, revision: &str, done: usize) -> String {
        format!(
            "UPDATE {} SET statements_done = {done} WHERE revision = {}",
            self.table(t),
            self.quote_text(revision)
        )
    }

    fn select_progress(self, t: &HistoryTable, revision: &str) -> String {
        let as_text = match self {
            Dialect::Mysql => "CAST(COALESCE(statements_done, 0) AS CHAR)",
            Dialect::Postgres => "COALESCE(statements_done, 0)::text",
            Dialect::Sqlite => "CAST(COALESCE(statements_done, 0) AS TEXT)",
        };
        format!(
            "SELECT {as_text} FROM {} WHERE revision = {}",
            self.table(t),
            self.quote_text(revision)
        )
    }

    fn set_backfill(self, t: &HistoryTable, revision: &str, progress: &str) -> String {
        format!(
            "UPDATE {} SET backfill = {}, error = NULL WHERE revision = {}",
            self.table(t),
            self.quote_text(progress),
            self.quote_text(revision)
        )
    }

    fn select_backfill(self, t: &HistoryTable, revision: &str) -> String {
        format!(
            "SELECT state, COALESCE(backfill, '') FROM {} WHERE revision = {}",
            self.table(t),
            self.quote_text(revision)
        )
    }

    fn set_state(self, t: &HistoryTable, revision: &str, state: State, error: Option<&str>) -> String {
        format!(
            "UPDATE {} SET state = {}, error = {} WHERE revision = {}",
            self.table(t),
            self.quote_text(state.as_str()),
            error.map_or_else(|| "NULL".to_owned(), |e| self.quote_text(e)),
            self.quote_text(revision)
        )
    }

    fn set_applied(self, t: &HistoryTable, revision: &str, execution_ms: &str) -> String {
        format!(
            "UPDATE {} SET state = {}, applied_at = {}, execution_ms = {execution_ms}, error = NULL WHERE revision = {}",
            self.table(t),
            self.quote_text(State::Applied.as_str()),
            self.now(),
            self.quote_text(revision)
        )
    }

    fn delete(self, t: &HistoryTable, revision: &str) -> String {
        format!(
            "DELETE FROM {} WHERE revision = {}",
            self.table(t),
            self.quote_text(revision)
        )
    }

    fn select_history(self, t: &HistoryTable, present: &[String]) -> String {
        let extra: String = EXTRA_COLUMNS
            .iter()
            .map(|c| {
                if present.iter().any(|p| p.eq_ignore_ascii_case(c.name)) {
                    format!(", {}", c.name)
                } else {
                    let ty = match (self, c.kind) {
                        (Dialect::Sqlite, _) => "",
                        (Dialect::Postgres, ColumnKind::Count) => "::bigint",
                        (Dialect::Postgres, _) => "::text",
                        (Dialect::Mysql, _) => "",
                    };
                    format!(", NULL{ty}")
                }
            })
            .collect();
        format!(
            "SELECT revision, down_revisions, message, checksum, state, applied_at, execution_ms, error{extra} FROM {} WHERE revision <> '' ORDER BY applied_at, revision",
            self.table(t)
        )
    }

    fn select_digest(self, t: &HistoryTable) -> String {
        let pinned = match (self, t.schema()) {
            (Dialect::Postgres, None) => format!(
                " JOIN (SELECT to_regclass(format('%I.%I', current_schema(), {})) AS pinned) AS p ON tableoid = p.pinned",
                self.quote_text(t.name())
            ),
            _ => String::new(),
        };
        format!("SELECT checksum FROM {}{pinned} WHERE revision = ''", self.table(t))
    }

    fn set_digest(self, t: &HistoryTable, digest: &Digest) -> String {
        let insert = format!(
            "INSERT INTO {} (revision, down_revisions, message, checksum, state, applied_at, execution_ms) VALUES ('', '', 'digest of the history rows', {}, 'digest', {}, {})",
            self.table(t),
            self.quote_text(&digest.to_string()),
            self.now(),
            digest.count()
        );
        match self {
            Dialect::Mysql => format!(
                "{insert} ON DUPLICATE KEY UPDATE checksum = VALUES(checksum), applied_at = VALUES(applied_at), execution_ms = VALUES(execution_ms)"
            ),
            _ => format!(
                "{insert} ON CONFLICT (revision) DO UPDATE SET checksum = excluded.checksum, applied_at = excluded.applied_at, execution_ms = excluded.execution_ms"
            ),
        }
    }

    fn fail_if_rows(self, t: &HistoryTable, revisions: &[&str], why: &str) -> String {
        guards::fail_if_rows(self, t, revisions, why)
    }

    fn fail_unless_last_applied(self, t: &HistoryTable, revision: &str, why: &str) -> String {
        guards::fail_unless_last_applied(self, t, revision, why)
    }

    fn fail_unless_applied(self, t: &HistoryTable, revisions: &[Vec<&str>], why: &str) -> String {
        guards::fail_unless_applied(self, t, revisions, why)
    }

    fn set_digest_if_rows_are(self, t: &HistoryTable, digest: &Digest, expected: &[&Migration]) -> String {
        let table = self.table(t);
        let mut guard = format!(
            "(SELECT COUNT(*) FROM {table} WHERE revision <> '') = {}",
            expected.len()
        );
        if !expected.is_empty() {
            let rows: Vec<String> = expected
                .iter()
                .map(|m| {
                    format!(
                        "(revision = {} AND checksum = {})",
                        self.quote_text(m.revision()),
                        self.quote_text(&m.checksum().to_string())
                    )
                })
                .collect();
            guard.push_str(&format!(
                "\n  AND (SELECT COUNT(*) FROM {table} WHERE state = {} AND ({})) = {}",
                self.quote_text(State::Applied.as_str()),
                rows.join("\n    OR "),
                expected.len()
            ));
        }
        let from = if self == Dialect::Mysql { " FROM DUAL" } else { "" };
        format!(
            "INSERT INTO {table} (revision, down_revisions, message, checksum, state, applied_at, execution_ms)\nSELECT '', '', 'digest of the history rows', {}, 'digest', {}, {}{from}\nWHERE {guard}",
            self.quote_text(&digest.to_string()),
            self.now(),
            digest.count()
        )
    }

    fn delete_all(self, t: &HistoryTable) -> String {
        format!("DELETE FROM {}", self.table(t))
    }

    fn delete_digest(self, t: &HistoryTable) -> String {
        format!("DELETE FROM {} WHERE revision = ''", self.table(t))
    }

    fn delete_repeatables(self, t: &HistoryTable) -> String {
        let pattern = format!("{}%", migrate_core::repeatable::PREFIX);
        format!(
            "DELETE FROM {} WHERE revision LIKE {}",
            self.table(t),
            self.quote_text(&pattern)
        )
    }

    fn lease_table(self, t: &HistoryTable) -> String {
        let lease = match t.schema() {
            Some(schema) => HistoryTable::new(LEASE_TABLE).and_then(|l| l.in_schema(schema)),
            None => HistoryTable::new(LEASE_TABLE),
        };
        lease.map_or_else(|_| LEASE_TABLE.to_owned(), |l| self.table(&l))
    }

    fn create_lease_table(self, t: &HistoryTable) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    name VARCHAR(64) NOT NULL PRIMARY KEY,\n    owner VARCHAR(200) NOT NULL,\n    acquired_at VARCHAR(32) NOT NULL,\n    expires_ms BIGINT NOT NULL\n)",
            self.lease_table(t)
        )
    }

    fn take_lease(self, t: &HistoryTable, owner: &str, ttl_ms: u128) -> String {
        let table = self.lease_table(t);
        let (name, owner) = (self.quote_text(t.name()), self.quote_text(owner));
        let (now, clock) = (self.now_ms(), self.now());
        match self {
            // Each assignment sees the ones before it: `owner` decides the others.
            Dialect::Mysql => format!(
                "INSERT INTO {table} (name, owner, acquired_at, expires_ms) VALUES ({name}, {owner}, {clock}, {now} + {ttl_ms}) \
                 ON DUPLICATE KEY UPDATE owner = IF(expires_ms < {now} OR owner = VALUES(owner), VALUES(owner), owner), \
                 acquired_at = IF(owner = VALUES(owner) AND expires_ms < {now}, VALUES(acquired_at), acquired_at), \
                 expires_ms = IF(owner = VALUES(owner), VALUES(expires_ms), expires_ms)"
            ),
            _ => format!(
                "INSERT INTO {table} AS l (name, owner, acquired_at, expires_ms) VALUES ({name}, {owner}, {clock}, {now} + {ttl_ms}) \
                 ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, \
                 acquired_at = CASE WHEN l.owner = excluded.owner THEN l.acquired_at ELSE excluded.acquired_at END, \
                 expires_ms = excluded.expires_ms WHERE l.expires_ms < {now} OR l.owner = excluded.owner"
            ),
        }
    }

    fn renew_lease(self, t: &HistoryTable, owner: &str, ttl_ms: u128) -> String {
        format!(
            "UPDATE {} SET expires_ms = {} + {ttl_ms} WHERE name = {} AND owner = {}",
            self.lease_table(t),
            self.now_ms(),
            self.quote_text(t.name()),
            self.quote_text(owner)
        )
    }

    fn select_lease_owner(self, t: &HistoryTable) -> String {
        format!(
            "SELECT owner FROM {} WHERE name = {}",
            self.lease_table(t),
            self.quote_text(t.name())
        )
    }

    fn select_lease_holder_if_live(self, t: &HistoryTable) -> String {
        format!(
            "SELECT owner FROM {} WHERE name = {} AND expires_ms >= {}",
            self.lease_table(t),
            self.quote_text(t.name()),
            self.now_ms()
        )
    }

    fn select_lease_owner_locked(self, t: &HistoryTable) -> String {
        match self {
            Dialect::Mysql => format!("{} FOR UPDATE", self.select_lease_owner(t)),
            _ => self.select_lease_owner(t),
        }
    }

    fn select_lease_holder(self, t: &HistoryTable) -> String {
        let left = format!("({} - {})", "expires_ms", self.now_ms());
        let text = match self {
            Dialect::Mysql => format!(
                "CAST(CONCAT(owner, ' (since ', acquired_at, ', lease ', IF({left} > 0, CONCAT('expiring in ', {left} DIV 1000, ' s'), 'expired'), ')') AS CHAR)"
            ),
            _ => format!(
                "owner || ' (since ' || acquired_at || ', lease ' || CASE WHEN {left} > 0 THEN 'expiring in ' || CAST({left} / 1000 AS TEXT) || ' s' ELSE 'expired' END || ')'"
            ),
        };
        format!(
            "SELECT {text} FROM {} WHERE name = {}",
            self.lease_table(t),
            self.quote_text(t.name())
        )
    }

    fn release_lease(self, t: &HistoryTable, owner: &str) -> String {
        format!(
            "DELETE FROM {} WHERE name = {} AND owner = {}",
            self.lease_table(t),
            self.quote_text(t.name()),
            self.quote_text(owner)
        )
    }

    fn lease_guard(self, t: &HistoryTable, owner: &str, ttl_ms: u128) -> Option<String> {
        (self == Dialect::Postgres).then(|| {
            format!(
                "DO $migrate_lease$ BEGIN {}; IF NOT FOUND THEN RAISE EXCEPTION 'this migrator no longer holds the migration lease' USING ERRCODE = '{LEASE_LOST_CODE}'; END IF; END $migrate_lease$",
                self.renew_lease(t, owner, ttl_ms)
            )
        })
    }

    fn select_foreign_keys(self) -> String {
        "SELECT CAST(foreign_keys AS TEXT) FROM pragma_foreign_keys".into()
    }

    fn set_foreign_keys(self, on: bool) -> String {
        format!("PRAGMA foreign_keys = {}", if on { "ON" } else { "OFF" })
    }

    fn select_foreign_key_violations(self, limit: usize) -> String {
        format!(
            "SELECT \"table\" || char(9) || coalesce(rowid, '') || char(9) || parent FROM pragma_foreign_key_check LIMIT {limit}"
        )
    }

    fn foreign_key_guard(self) -> String {
        "PRAGMA foreign_key_check;\n\
         CREATE TEMP TABLE migrate_foreign_key_check (ok INTEGER CONSTRAINT \"rows whose foreign key points at no row (PRAGMA foreign_key_check above lists them): the migration was not committed\" CHECK (ok));\n\
         INSERT INTO migrate_foreign_key_check SELECT NOT EXISTS (SELECT 1 FROM pragma_foreign_key_check);\n\
         DROP TABLE migrate_foreign_key_check"
            .into()
    }

    fn timeouts_script(
        self,
        lock: Option<Duration>,
        statement: Option<Duration>,
        in_transaction: bool,
    ) -> Option<(String, String)> {
        let settings = timeout_settings(self, lock, statement, true);
        if settings.is_empty() {
            return None;
        }
        let each =
            |f: &dyn Fn(&str, &str) -> String| settings.iter().map(|(n, v)| f(n, v)).collect::<Vec<_>>().join(";\n");
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres if in_transaction => Some((each(&|n, v| format!("SET LOCAL {n} = {v}")), String::new())),
            Dialect::Postgres => Some((
                each(&|n, v| format!("SET {n} = {v}")),
                each(&|n, _| format!("RESET {n}")),
            )),
            Dialect::Mysql => {
                // One SET each way; MariaDB's statement timeout in a comment only MariaDB runs.
                let (mut set, mut reset) = (Vec::new(), Vec::new());
                let (mut set_mariadb, mut reset_mariadb) = (String::new(), String::new());
                for (n, v) in &settings {
                    if *n == "max_statement_time" {
                        set_mariadb.push_str(&format!(" /*M! , @migrate_{n} = @@SESSION.{n}, SESSION {n} = {v} */"));
                        reset_mariadb.push_str(&format!(" /*M! , SESSION {n} = @migrate_{n} */"));
                    } else {
                        set.push(format!("@migrate_{n} = @@SESSION.{n}, SESSION {n} = {v}"));
                        reset.push(format!("SESSION {n} = @migrate_{n}"));
                    }
                }
                if set.is_empty() {
                    // A statement MySQL runs too, for MariaDB's comment to follow.
                    set.push("@migrate_timeouts = 1".to_owned());
                    reset.push("@migrate_timeouts = 0".to_owned());
                }
                Some((
                    format!("SET {}{set_mariadb}", set.join(", ")),
                    format!("SET {}{reset_mariadb}", reset.join(", ")),
                ))
            }
        }
    }

    fn session_script(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => Some(
                "-- The session as the online run's: foreign keys enforced (the sqlite3 shell's default is off).\n\
                 PRAGMA foreign_keys = ON;",
            ),
            Dialect::Postgres => Some(
                "-- The session as the online run's: the script's text is UTF-8, and its times are UTC.\n\
                 SET client_encoding = 'UTF8';\nSET TIME ZONE 'UTC';",
            ),
            Dialect::Mysql => Some(
                "-- The session as the online run's: the script's text is UTF-8, and its times are UTC.\n\
                 SET NAMES utf8mb4;\nSET time_zone = '+00:00';",
            ),
        }
    }

    fn history_pin_script(self, t: &HistoryTable) -> Option<(String, String)> {
        if self != Dialect::Postgres || t.schema().is_some() {
            return None;
        }
        let set = |value: &str, local: bool| {
            format!("DO $migrate_pin$ BEGIN PERFORM pg_catalog.set_config({value}, {local}); END $migrate_pin$")
        };
        Some((
            set("'migrate.history_schema', pg_catalog.current_schema()", false),
            set(
                "'search_path', pg_catalog.quote_ident(coalesce(pg_catalog.current_setting('migrate.history_schema', true), pg_catalog.current_schema()))",
                true,
            ),
        ))
    }

    fn foreign_keys_off_script(self) -> Option<(String, String)> {
        match self {
            Dialect::Sqlite => Some((self.set_foreign_keys(false), self.set_foreign_keys(true))),
            Dialect::Mysql => Some((
                "SET @migrate_foreign_key_checks = @@SESSION.foreign_key_checks;\nSET SESSION foreign_key_checks = 0"
                    .into(),
                "SET SESSION foreign_key_checks = @migrate_foreign_key_checks".into(),
            )),
            Dialect::Postgres => None,
        }
    }

    fn transaction(self, sql: &str) -> String {
        format!("BEGIN;\n{sql};\nCOMMIT")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(Dialect::Sqlite.quote_text(r"it's \n"), r"'it''s \n'");
        assert_eq!(Dialect::Postgres.quote_text(r"it's \n"), r"E'it''s \\n'");
        assert_eq!(Dialect::Mysql.quote_text(r"it's \n"), r"'it''s \\n'");
    }
}
