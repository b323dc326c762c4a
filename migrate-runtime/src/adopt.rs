//! Adopting a database that Alembic migrated: its `alembic_version` table
//! says which revisions are its heads; the history records them and every
//! revision they need as applied, running none of them (what `migrate adopt
//! alembic` does after `migrate import alembic` wrote the folder); and the
//! history tables of sqlx, refinery and diesel, read for `migrate adopt`.

use crate::dialect::ToolHistory;
use crate::driver::logged;
use crate::error::db;
use crate::{Connect, Error, HistorySql, HistoryTable, Migrations, Migrator, Result};
use migrate_core::{Dialect, plan};
use std::fmt::Write as _;

/// Whether `table` is a plain or schema-qualified name that can be written
/// into a query as it is (letters, digits, `_`, one `.`).
fn plain_name(table: &str) -> bool {
    let parts: Vec<&str> = table.split('.').collect();
    parts.len() <= 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

impl Migrator<'_> {
    /// The heads Alembic recorded in its version table (`alembic_version`,
    /// or the `version_table` its `env.py` configures), sorted; empty when
    /// the table has no row (Alembic's state for a database at base).
    pub async fn alembic_heads<'c>(&self, conn: impl Connect<'c>, version_table: &str) -> Result<Vec<String>> {
        if !plain_name(version_table) {
            return Err(Error::InvalidName(version_table.to_owned()));
        }
        let mut handle = conn.connect().await?;
        let context = format!("reading Alembic's version table `{version_table}`");
        let sql = logged(crate::dialect::select_alembic_heads(version_table));
        let mut heads = handle.backend().read_strings(sql).await.map_err(db(context))?;
        heads.sort();
        Ok(heads)
    }
}

/// One row of another tool's history table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolRow {
    /// The version, as text.
    pub version: String,
    /// The checksum the tool stored, as text (sqlx's in lower-case hex).
    pub checksum: Option<String>,
    /// Whether the tool recorded it as applied successfully.
    pub success: bool,
    /// The row's kind, where the tool records one (Flyway's `type`: `SQL`,
    /// `BASELINE`, `UNDO_SQL`, `DELETE`, …).
    pub kind: Option<String>,
    /// The row's description, where the tool records one (Flyway's: how a
    /// repeatable migration, which has no version, is named).
    pub description: Option<String>,
}

impl Migrator<'_> {
    /// The rows of `tool`'s history table `table`, in version order; the
    /// table is only read.
    pub async fn tool_history<'c>(
        &self,
        conn: impl Connect<'c>,
        tool: ToolHistory,
        table: &str,
    ) -> Result<Vec<ToolRow>> {
        if !plain_name(table) {
            return Err(Error::InvalidName(table.to_owned()));
        }
        let mut handle = conn.connect().await?;
        let backend = handle.backend();
        let sql = logged(crate::dialect::select_tool_history(backend.dialect(), tool, table));
        let rows = backend
            .read_table(sql)
            .await
            .map_err(db(format!("reading the history table `{table}`")))?;
        Ok(rows
            .into_iter()
            .map(|mut row| {
                row.resize(5, None);
                ToolRow {
                    version: row[0].take().unwrap_or_default(),
                    checksum: row[1].take(),
                    success: row[2].as_deref() == Some("true"),
                    kind: row[3].take(),
                    description: row[4].take(),
                }
            })
            .collect())
    }
}

impl Migrations {
    /// The statements that record `heads` and everything they need as
    /// applied, in application order, with this list's checksums, running
    /// none of them: what `adopt alembic --sql` prints.
    pub fn record_script(&self, dialect: Dialect, table: &HistoryTable, heads: &[String]) -> Result<String> {
        let graph = self.graph().map_err(Error::Invalid)?;
        let mut applied = vec![false; graph.len()];
        let mut out = String::new();
        let _ = writeln!(
            out,
            "-- record {} as applied for {dialect}, written by migrate {}: no migration runs.",
            heads.join(", "),
            env!("CARGO_PKG_VERSION")
        );
        let _ = writeln!(out, "{};", dialect.create_table(table));
        let _ = writeln!(out, "{};", dialect.delete_digest(table));
        for head in heads {
            let target = migrate_core::Target::Revision(head.clone());
            for i in plan::upgrade(&graph, &applied, &target)?.steps {
                applied[i] = true;
                let _ = writeln!(out, "{};", dialect.insert_applied_basic(table, graph.get(i), "0"));
            }
        }
        Ok(out)
    }

    /// The statements that record the repeatables `revisions`
    /// (`repeatable:<name>`) as applied with this list's checksums, each
    /// row replaced, running none of them: what `adopt flyway --sql` adds.
    pub fn record_repeatables_script(
        &self,
        dialect: Dialect,
        table: &HistoryTable,
        revisions: &[String],
    ) -> Result<String> {
        let mut out = String::new();
        for revision in revisions {
            let m = self
                .repeatables()
                .iter()
                .find(|m| m.revision() == revision)
                .ok_or_else(|| Error::Target(migrate_core::TargetError::UnknownRevision { id: revision.clone() }))?;
            let _ = writeln!(out, "{};", dialect.insert_applied_basic(table, m, "0"));
        }
        Ok(out)
    }
}
