//! Catalog readers: a live database's schema as a [`Schema`], read through
//! the server's own catalogs, so that two databases of one server holding
//! the same schema read the same.
//!
//! `migrate revision --autogenerate`, `check --schema` and `schema dump`
//! read two scratch databases with these (the migrations applied to one,
//! `schema.sql` run in the other) and compare the models in
//! `migrate_core::schema`. Every query is text in, text out through
//! [`Backend::read_table`].

// A build with no database feature compiles the shared parts with nothing to use them.
#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code, unused_imports, unused_variables, unreachable_code)
)]

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use crate::dialect::Dialect;
use crate::driver::{Backend, BoxFuture, Handle};
use crate::error::{Error, Result, db};
use crate::migrator::Connect;
use crate::table::HistoryTable;
use migrate_core::schema::{Schema, script};

/// The tables the runtime keeps in a database, which no schema file
/// describes: the history table, the lease table, and the history tables of
/// other migration sets. Catalog reads leave them out.
pub fn own_tables<'a>(history: &HistoryTable, sets: impl IntoIterator<Item = &'a HistoryTable>) -> Vec<String> {
    let mut out = vec![history.name().to_owned(), crate::dialect::LEASE_TABLE.to_owned()];
    out.extend(sets.into_iter().map(|t| t.name().to_owned()));
    out
}

/// Reads the schema of the database `db` is connected to (PostgreSQL: its
/// current schema; MySQL: its current database), leaving out the tables
/// named in `exclude` (the history and lease tables).
pub async fn read_schema<'c>(db: impl Connect<'c>, exclude: &[String]) -> Result<Schema> {
    read_boxed(db.connect(), exclude.to_vec()).await
}

fn read_boxed<'c>(
    connect: BoxFuture<'c, Result<Box<dyn Handle + 'c>>>,
    exclude: Vec<String>,
) -> BoxFuture<'c, Result<Schema>> {
    Box::pin(async move {
        let mut handle = connect.await?;
        read(handle.backend(), &exclude).await
    })
}

/// [`read_schema`] on a connection the runtime already holds.
pub(crate) async fn read(conn: &mut dyn Backend, exclude: &[String]) -> Result<Schema> {
    let mut schema: Schema = match conn.dialect() {
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => sqlite::read(conn).await?,
        #[cfg(feature = "postgres")]
        Dialect::Postgres => postgres::read(conn, exclude).await?,
        #[cfg(feature = "mysql")]
        Dialect::Mysql => mysql::read(conn).await?,
        #[allow(unreachable_patterns)]
        other => {
            return Err(Error::Database {
                context: format!("reading the {other:?} catalog: this build has no reader for it"),
                source: sqlx::Error::Protocol("no catalog reader".into()),
            });
        }
    };
    schema.tables.retain(|name, _| !exclude.iter().any(|e| e == name));
    let excluded = |t: &Option<String>| t.as_ref().is_some_and(|t| exclude.contains(t));
    schema.triggers.retain(|_, t| !excluded(&t.table));
    Ok(schema)
}

/// Runs a schema file (`schema.sql`) statement by statement on the
/// database `db` is connected to. A failing statement is named by its line
/// in `file`. The text is checked first ([`migrate_core::schema::check_file`]):
/// a NUL byte would leave SQLite's driver spinning on it forever.
///
/// Every statement is read before any runs ([`migrate_core::schema::script`]):
/// one that would act beyond this database (another database, the server's
/// roles, settings or files) or run SQL from a string is refused with its
/// line, [`Error::Script`], and nothing runs; rows written (which the
/// comparison does not read) are not sent; client commands and a dump's bookkeeping (its own `CREATE
/// DATABASE`/`USE`/`\connect`, owners, privileges) are not sent. The file's
/// `search_path` (pg_dump sets it empty) does not outlive it on PostgreSQL.
pub async fn run_script<'c>(db: impl Connect<'c>, sql: &str, file: &str) -> Result<()> {
    migrate_core::schema::check_file(file, sql).map_err(Error::Invalid)?;
    run_boxed(db.connect(), sql.to_owned(), file.to_owned()).await
}

fn run_boxed<'c>(
    connect: BoxFuture<'c, Result<Box<dyn Handle + 'c>>>,
    sql: String,
    file: String,
) -> BoxFuture<'c, Result<()>> {
    Box::pin(async move {
        let mut handle = connect.await?;
        let conn = handle.backend();
        let dialect = conn.dialect();
        let steps = script::read(&file, &sql, dialect).map_err(Error::Script)?;
        #[cfg(feature = "postgres")]
        let search_path = match dialect {
            Dialect::Postgres => Some(postgres::search_path(conn).await?),
            _ => None,
        };
        for s in steps.iter().filter(|s| s.action == script::Action::Run) {
            let first = s
                .text
                .lines()
                .find(|l| !l.trim().is_empty() && !l.trim().starts_with("--"))
                .unwrap_or("");
            conn.execute(s.text.to_owned())
                .await
                .map_err(db(format!("{file}:{}: `{}`", s.line, first.trim())))?;
        }
        #[cfg(feature = "postgres")]
        if let Some(path) = search_path {
            postgres::set_search_path(conn, &path).await?;
        }
        Ok(())
    })
}

/// The rows of a catalog query, each column as text.
async fn rows(conn: &mut dyn Backend, sql: String, what: &str) -> Result<Vec<Vec<Option<String>>>> {
    conn.read_table(sql)
        .await
        .map_err(db(format!("reading the catalog: {what}")))
}

/// Column `i` of a row, empty when NULL or missing.
fn text(row: &[Option<String>], i: usize) -> String {
    row.get(i).cloned().flatten().unwrap_or_default()
}

/// Column `i` of a row, `None` when NULL.
fn opt(row: &[Option<String>], i: usize) -> Option<String> {
    row.get(i).cloned().flatten()
}
