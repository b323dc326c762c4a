//! MySQL and MariaDB rehearsals, whose DDL commits: a scratch database on the
//! same server, `<database>_rehearse_<random>`, holding a copy of the
//! connection's database's schema (its tables as `SHOW CREATE TABLE` writes
//! them, made with `foreign_key_checks = 0` so any order works; its views;
//! the history table with its rows, so the plan is the same), used by the
//! session until it is dropped; and the metadata locks a session holds, from
//! MariaDB's `information_schema.METADATA_LOCK_INFO` (the `metadata_lock_info`
//! plugin).

use super::{Backend, HeldLocks, Settings, run};
use crate::error::{Error, Result, db};
use sqlx::MySqlConnection;

/// MySQL's longest database name.
const MAX_NAME: usize = 64;

/// Makes the scratch copy of the connection's database and switches the
/// session to it: `(copy, original)`.
pub(super) async fn enter(conn: &mut MySqlConnection, s: &Settings) -> Result<(String, String)> {
    let original = database_name(conn).await.ok_or_else(no_database)?;
    if s.table.schema().is_some_and(|schema| schema != original) {
        return Err(Error::Database {
            context: "copying the schema for a rehearsal".into(),
            source: sqlx::Error::Protocol(format!(
                "the history table is in another database than the connection's ({original}): a rehearsal copies one database"
            )),
        });
    }
    let copy = scratch_name(&original);
    let d = Backend::dialect(conn);
    let charset = Backend::read_table(
        conn,
        "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()".into(),
    )
    .await
    .map_err(db("reading the database's character set"))?;
    let mut create = format!("CREATE DATABASE {}", d.ident(&copy));
    if let Some([Some(set), Some(collation)]) = charset.first().map(Vec::as_slice) {
        create.push_str(&format!(" CHARACTER SET {set} COLLATE {collation}"));
    }
    run(conn, create, "creating the rehearsal's scratch database").await?;
    tracing::info!(database = %copy, "rehearsing on a copy of the schema, without its data");
    if let Err(e) = fill(conn, s, &original, &copy).await {
        if let Err(dropped) = leave(conn, &copy, &original).await {
            tracing::error!(error = %dropped, database = %copy, "dropping the rehearsal's scratch database failed");
        }
        return Err(e);
    }
    Ok((copy, original))
}

/// The session's database, `None` when it has none.
pub(super) async fn database_name(conn: &mut MySqlConnection) -> Option<String> {
    super::read_one(
        conn,
        "SELECT CAST(DATABASE() AS CHAR)".into(),
        "reading the database's name",
    )
    .await
    .ok()
}

fn no_database() -> Error {
    Error::Database {
        context: "copying the schema for a rehearsal".into(),
        source: sqlx::Error::Protocol("the connection has no database selected".into()),
    }
}

/// `<original>_rehearse_<8 hex digits>`, within MySQL's 64 characters.
fn scratch_name(original: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let random = nanos ^ std::process::id().rotate_left(16);
    let suffix = format!("_rehearse_{random:08x}");
    let keep: String = original.chars().take(MAX_NAME - suffix.len()).collect();
    format!("{keep}{suffix}")
}

/// Copies the tables, views and history rows of `original` into `copy`, and uses `copy`.
async fn fill(conn: &mut MySqlConnection, s: &Settings, original: &str, copy: &str) -> Result<()> {
    let d = Backend::dialect(conn);
    let listed = Backend::read_table(
        conn,
        "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME"
            .into(),
    )
    .await
    .map_err(db("listing the database's tables"))?;
    let (mut tables, mut views) = (Vec::new(), Vec::new());
    for row in listed {
        if let [Some(name), Some(kind)] = row.as_slice() {
            match kind.as_str() {
                "VIEW" => views.push(name.clone()),
                "BASE TABLE" => tables.push(name.clone()),
                _ => tracing::warn!(table = %name, kind = %kind, "not copied for the rehearsal"),
            }
        }
    }
    let mut created = Vec::new();
    for table in &tables {
        let shown = Backend::read_table(conn, format!("SHOW CREATE TABLE {}", d.ident(table)))
            .await
            .map_err(db("reading a table's definition"))?;
        let text = shown.into_iter().next().and_then(|r| r.into_iter().nth(1).flatten());
        created.extend(text);
    }
    run(
        conn,
        format!("USE {}", d.ident(copy)),
        "using the rehearsal's scratch database",
    )
    .await?;
    run(
        conn,
        "SET SESSION foreign_key_checks = 0".into(),
        "turning foreign key checks off",
    )
    .await?;
    let mut copied = Ok(());
    for sql in created {
        copied = run(conn, sql, "copying a table's definition").await;
        if copied.is_err() {
            break;
        }
    }
    let checks = run(
        conn,
        "SET SESSION foreign_key_checks = 1".into(),
        "turning foreign key checks on",
    )
    .await;
    copied?;
    checks?;
    if tables.iter().any(|t| t == s.table.name()) {
        let from = format!("{}.{}", d.ident(original), d.ident(s.table.name()));
        let sql = format!("INSERT INTO {} SELECT * FROM {from}", d.ident(s.table.name()));
        run(conn, sql, "copying the history rows").await?;
    }
    copy_views(conn, original, copy, views).await
}

/// Creates `views` (read in `original`) in `copy`, the session's database,
/// each once the views it reads are there.
async fn copy_views(conn: &mut MySqlConnection, original: &str, copy: &str, mut views: Vec<String>) -> Result<()> {
    let d = Backend::dialect(conn);
    let mut texts = Vec::new();
    for view in &views {
        let shown = Backend::read_table(
            conn,
            format!("SHOW CREATE VIEW {}.{}", d.ident(original), d.ident(view)),
        )
        .await
        .map_err(db("reading a view's definition"))?;
        let text = shown.into_iter().next().and_then(|r| r.into_iter().nth(1).flatten());
        // Its tables named in the original database read the copy's.
        texts.push(
            text.unwrap_or_default()
                .replace(&format!("{}.", d.ident(original)), &format!("{}.", d.ident(copy))),
        );
    }
    let mut last_error = None;
    while !views.is_empty() {
        let before = views.len();
        let mut left = (Vec::new(), Vec::new());
        for (view, text) in views.into_iter().zip(texts) {
            if let Err(e) = Backend::execute(conn, text.clone()).await {
                last_error = Some(e);
                left.0.push(view);
                left.1.push(text);
            }
        }
        (views, texts) = left;
        if views.len() == before {
            return Err(db("copying a view's definition")(
                last_error.unwrap_or(sqlx::Error::RowNotFound),
            ));
        }
    }
    Ok(())
}

/// Goes back to `original` and drops `copy`.
pub(super) async fn leave(conn: &mut MySqlConnection, copy: &str, original: &str) -> Result<()> {
    let d = Backend::dialect(conn);
    let back = run(conn, format!("USE {}", d.ident(original)), "going back to the database").await;
    let dropped = run(
        conn,
        format!("DROP DATABASE IF EXISTS {}", d.ident(copy)),
        "dropping the rehearsal's scratch database",
    )
    .await;
    back.and(dropped)
}

/// The tables of the session's database.
pub(super) async fn existing_tables(conn: &mut MySqlConnection) -> Option<Vec<String>> {
    Backend::read_strings(
        conn,
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()".into(),
    )
    .await
    .ok()
}

/// The table metadata locks this session holds in its database (MariaDB's
/// `METADATA_LOCK_INFO`); unavailable without the plugin, or on MySQL.
pub(super) async fn held_locks(conn: &mut MySqlConnection) -> HeldLocks {
    let sql = "SELECT TABLE_NAME, LOCK_MODE FROM information_schema.METADATA_LOCK_INFO WHERE THREAD_ID = CONNECTION_ID() AND TABLE_SCHEMA = DATABASE()";
    match Backend::read_table(conn, sql.into()).await {
        Ok(rows) => HeldLocks::Held(
            rows.into_iter()
                .filter_map(|r| {
                    let mut r = r.into_iter();
                    let table = r.next()??;
                    let lock = migrate_core::TableLock::from_mysql_mode(&r.next()??)?;
                    Some((table, lock))
                })
                .collect(),
        ),
        Err(e) => HeldLocks::Unavailable(format!(
            "the server does not list metadata locks ({}): on MariaDB, `INSTALL SONAME 'metadata_lock_info'` (an administrator's statement, for the whole server) lets a rehearsal read them",
            crate::error::db_message(&e)
        )),
    }
}
