//! MySQL and MariaDB: the lock is `GET_LOCK` on the run's one connection,
//! named `migrate:` + SHA1(`<database>:<schema>.<table>`) (48 characters,
//! within the 64 allowed), polled with a zero wait so the timeout is real.
//! `GET_LOCK` answers 1 (taken), 0 (held by another session) or NULL (an
//! error); only 1 counts. The server releases it if the session dies.

use super::{Backend, BoxFuture, Guards, Settings, Step};
use crate::dialect::{Dialect, HistorySql};
use crate::error::{Error, Result, db};
use migrate_core::Migration;
use sqlx::{AssertSqlSafe, MySql, MySqlConnection};

/// The lock name, computed by the server.
fn lock_name(s: &Settings) -> String {
    let name = format!("{}.{}", s.table.schema().unwrap_or_default(), s.table.name());
    format!(
        "CONCAT('migrate:', SHA1(CONCAT(COALESCE(DATABASE(), ''), ':', {})))",
        Dialect::Mysql.quote_text(&name)
    )
}

impl super::sealed::Sealed for MySql {}

impl super::Driver for MySql {
    const DIALECT: Dialect = Dialect::Mysql;

    fn backend(conn: &mut MySqlConnection) -> &mut dyn Backend {
        conn
    }
}

impl Backend for MySqlConnection {
    super::same_everywhere!(MySql);

    fn key_range(&self, table: &str, key: &str) -> String {
        format!("SELECT CAST(MIN({key}) AS CHAR), CAST(MAX({key}) AS CHAR) FROM {table}")
    }

    fn step_clock(&self) -> Option<(&'static str, &'static str)> {
        Some((
            "SET @migrate_step_started = NOW(6)",
            "TIMESTAMPDIFF(MICROSECOND, @migrate_step_started, NOW(6)) DIV 1000",
        ))
    }

    fn execute_counted(&mut self, sql: String) -> BoxFuture<'_, (usize, std::result::Result<(), sqlx::Error>)> {
        Box::pin(async move {
            use futures_util::StreamExt;
            // Each statement's end comes as a result of its own (after its rows, if any).
            let mut done = 0;
            let mut results = sqlx::raw_sql(AssertSqlSafe(super::logged(sql))).fetch_many(&mut *self);
            while let Some(item) = results.next().await {
                match item {
                    Ok(sqlx::Either::Left(_)) => done += 1,
                    Ok(sqlx::Either::Right(_)) => {}
                    Err(e) => return (done, Err(e)),
                }
            }
            (done, Ok(()))
        })
    }

    fn table_exists<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<bool>> {
        Box::pin(table_exists(self, s))
    }

    fn prepare<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<Settings>> {
        Box::pin(async move {
            let version = Backend::read_strings(self, "SELECT CAST(VERSION() AS CHAR)".into())
                .await
                .map_err(db("reading the server's version"))?;
            // A Galera cluster says so in `wsrep_on`; a server without it has no such variable.
            let wsrep = sqlx::raw_sql(super::logged("SHOW VARIABLES LIKE 'wsrep_on'"))
                .fetch_optional(&mut *self)
                .await
                .map_err(db("reading whether the server is a Galera node (wsrep_on)"))?;
            let galera = wsrep
                .and_then(|row| sqlx::Row::try_get::<String, _>(&row, 1).ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("ON"));
            Ok(Settings {
                mariadb: version
                    .first()
                    .is_some_and(|v| v.to_ascii_lowercase().contains("mariadb")),
                galera,
                ..s.clone()
            })
        })
    }

    fn is_conflict(&self, e: &sqlx::Error) -> bool {
        // ER_LOCK_DEADLOCK: a deadlock, and how Galera reports a certification conflict.
        e.as_database_error()
            .and_then(|d| d.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>())
            .is_some_and(|m| m.number() == 1213)
    }

    fn is_lock_timeout(&self, e: &sqlx::Error) -> bool {
        // ER_LOCK_WAIT_TIMEOUT: lock_wait_timeout (metadata locks) or
        // innodb_lock_wait_timeout (row locks) ran out.
        e.as_database_error()
            .and_then(|d| d.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>())
            .is_some_and(|m| m.number() == 1205)
    }

    fn blockers(&mut self, since: std::time::Duration) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT CAST(CONCAT('possibly connection ', p.ID, ' (', p.USER, '@', p.HOST, ', transaction open for ', \
                 TIMESTAMPDIFF(SECOND, t.trx_started, NOW()), ' s, ', \
                 IF(p.COMMAND = 'Sleep', 'idle', CONCAT('running: ', LEFT(COALESCE(p.INFO, ''), 200))), ')') AS CHAR) \
                 FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id \
                 WHERE p.ID <> CONNECTION_ID() AND t.trx_started <= NOW() - INTERVAL {} SECOND \
                 ORDER BY t.trx_started LIMIT 5",
                since.as_secs()
            );
            Backend::read_strings(self, sql).await.unwrap_or_default()
        })
    }

    fn try_lock<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<bool>> {
        Box::pin(try_lock(self, s))
    }

    fn unlock<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<()>> {
        Box::pin(unlock(self, s))
    }

    fn lock_is_free<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Option<bool>> {
        Box::pin(async move {
            // IS_FREE_LOCK needs no privilege to see another connection's lock.
            let sql = format!("SELECT CAST(IS_FREE_LOCK({}) AS CHAR)", lock_name(s));
            let read = Backend::read_strings(self, sql).await.ok()?;
            Some(read.first().map(String::as_str) == Some("1"))
        })
    }

    fn lock_holder<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT CAST(p.ID AS UNSIGNED), p.USER, p.HOST, CAST(p.TIME AS SIGNED) FROM information_schema.PROCESSLIST p WHERE p.ID = IS_USED_LOCK({})",
                lock_name(s)
            );
            let row: Option<(u64, String, String, i64)> = sqlx::query_as(AssertSqlSafe(super::logged(sql)))
                .fetch_optional(&mut *self)
                .await
                .ok()?;
            let (id, user, host, secs) = row?;
            Some(format!("connection {id} ({user}@{host}, connected for {secs} s)"))
        })
    }

    fn locks_after<'a>(&'a mut self, _statement: &'a str) -> BoxFuture<'a, super::HeldLocks> {
        Box::pin(super::mysql_copy::held_locks(self))
    }

    fn existing_tables(&mut self) -> BoxFuture<'_, Option<Vec<String>>> {
        Box::pin(super::mysql_copy::existing_tables(self))
    }

    fn enter_schema_copy<'a>(
        &'a mut self,
        s: &'a Settings,
    ) -> BoxFuture<'a, Result<(String, String, crate::rehearsal::LeftBehind)>> {
        Box::pin(super::mysql_copy::enter(self, s))
    }

    fn copied_database(&mut self) -> BoxFuture<'_, Option<String>> {
        Box::pin(super::mysql_copy::database_name(self))
    }

    fn leave_schema_copy<'a>(&'a mut self, copy: &'a str, original: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(super::mysql_copy::leave(self, copy, original))
    }

    fn transactional_ddl(&self) -> bool {
        false
    }

    fn statements(&self) -> Option<super::StatementRunner> {
        Some(super::statement_runner)
    }

    fn guards(&self, s: &Settings, m: &Migration) -> Guards {
        guards(s, m)
    }

    fn connection(&mut self) -> crate::rust::Connection<'_> {
        crate::rust::Connection::MySql(self)
    }

    fn in_transaction<'a>(&'a mut self, s: &'a Settings, step: Step<'a>, sql: &'a str) -> BoxFuture<'a, Result<()>> {
        // DDL commits itself here: even a transactional step runs statement by statement.
        super::statement_runner(self, s, step, sql, None, super::Retry::NONE)
    }
}

async fn table_exists(conn: &mut MySqlConnection, s: &Settings) -> Result<bool> {
    let (found,): (i64,) = sqlx::query_as(
        super::logged("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ?"),
    )
    .bind(s.table.schema())
    .bind(s.table.name())
    .fetch_one(&mut *conn)
    .await
    .map_err(db("looking for the history table"))?;
    Ok(found > 0)
}

async fn try_lock(conn: &mut MySqlConnection, s: &Settings) -> Result<bool> {
    let (got,): (Option<i64>,) = sqlx::query_as(AssertSqlSafe(super::logged(format!(
        "SELECT GET_LOCK({}, 0)",
        lock_name(s)
    ))))
    .fetch_one(&mut *conn)
    .await
    .map_err(db("taking the migration lock (GET_LOCK)"))?;
    match got {
        Some(1) => Ok(true),
        Some(_) => Ok(false),
        None => Err(Error::Database {
            context: "taking the migration lock".into(),
            source: sqlx::Error::Protocol("GET_LOCK returned NULL".into()),
        }),
    }
}

async fn unlock(conn: &mut MySqlConnection, s: &Settings) -> Result<()> {
    let (released,): (Option<i64>,) = sqlx::query_as(AssertSqlSafe(super::logged(format!(
        "SELECT RELEASE_LOCK({})",
        lock_name(s)
    ))))
    .fetch_one(&mut *conn)
    .await
    .map_err(db("releasing the migration lock (RELEASE_LOCK)"))?;
    if released != Some(1) {
        return Err(Error::Database {
            context: "releasing the migration lock".into(),
            source: sqlx::Error::Protocol(format!(
                "RELEASE_LOCK returned {released:?}: this session did not hold the lock"
            )),
        });
    }
    Ok(())
}

/// A step's session settings, put back after it: its timeouts (MariaDB's
/// `max_statement_time`, MySQL's `max_execution_time`) and, for a
/// `-- migrate:foreign-keys-off` step, `foreign_key_checks = 0`.
fn guards(s: &Settings, m: &Migration) -> Guards {
    let (lock, statement) = Guards::timeouts(s, m);
    let directives = m.directives();
    let (mut set, mut saved) = (Vec::new(), Vec::new());
    for (name, value) in crate::dialect::timeout_settings(Dialect::Mysql, lock, statement, s.mariadb) {
        set.push(format!("{name} = {value}"));
        saved.push(format!("'{name} = ', @@SESSION.{name}"));
    }
    if directives.foreign_keys_off {
        // `-- migrate:foreign-keys-off`: the step's session checks no foreign key.
        set.push("foreign_key_checks = 0".to_owned());
        saved.push("'foreign_key_checks = ', @@SESSION.foreign_key_checks".to_owned());
    }
    if set.is_empty() {
        return Guards::none();
    }
    Guards {
        local: String::new(),
        set: Some(format!("SET SESSION {}", set.join(", "))),
        save: Some(format!(
            "SELECT CAST(CONCAT('SET SESSION ', {}) AS CHAR)",
            saved.join(", ', ', ")
        )),
    }
}
