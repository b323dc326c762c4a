//! PostgreSQL: the lock is a session-level advisory lock on the run's one
//! connection, keyed by `hashtextextended('migrate:<database>:<schema>.<table>', 0)`,
//! polled with `pg_try_advisory_lock` so the timeout is real. The server
//! releases it if the session dies. The history table is always qualified
//! with its schema (the current schema when none is chosen), so another
//! schema on the search path cannot shadow it.

use super::{BATCH_SAVEPOINT, Backend, BatchRun, BatchStep, BoxFuture, Guards, Settings, Step, run};
use crate::dialect::{Dialect, HistorySql, LOCK_NOT_HELD_CODE};
use crate::error::{Error, Result};
use crate::split;
use migrate_core::Migration;
use sqlx::{PgConnection, Postgres};
use std::time::Duration;

/// A `pg_stat_activity a` row as a sentence: pid, state, transaction age,
/// application, and the query it runs or ran last.
const SESSION: &str = r"'backend pid ' || a.pid || ' (' || coalesce(a.state, 'state unknown')
    || coalesce(', transaction open for ' || floor(extract(epoch FROM now() - a.xact_start))::bigint || ' s', '')
    || coalesce(', application `' || nullif(a.application_name, '') || '`', '')
    || CASE WHEN a.state = 'active' THEN ', running: ' ELSE ', last query: ' END
    || left(regexp_replace(coalesce(a.query, ''), '\s+', ' ', 'g'), 200) || ')'";

/// The tables (plain, partitioned, materialized views) outside the system
/// schemas, `c` in `pg_class` and `n` its namespace: those whose locks a
/// rehearsal reports.
pub(super) const USER_TABLES: &str = r"c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'";

/// The table locks this backend holds now (`pg_locks` for `pg_backend_pid()`,
/// granted relation locks), each table as `schema.name` with each mode.
async fn held_locks(conn: &mut PgConnection) -> super::HeldLocks {
    let sql = format!(
        "SELECT n.nspname || '.' || c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE l.locktype = 'relation' AND l.pid = pg_backend_pid() AND l.granted AND {USER_TABLES}"
    );
    match Backend::read_table(conn, sql).await {
        Ok(rows) => super::HeldLocks::Held(
            rows.into_iter()
                .filter_map(|r| {
                    let mut r = r.into_iter();
                    let table = r.next()??;
                    let lock = migrate_core::TableLock::from_postgres_mode(&r.next()??)?;
                    Some((table, lock))
                })
                .collect(),
        ),
        Err(e) => super::HeldLocks::Unavailable(format!("reading pg_locks failed: {}", crate::error::db_message(&e))),
    }
}

/// The advisory lock key, computed by the server.
fn key(s: &Settings) -> String {
    let schema = Dialect::Postgres.quote_text(s.table.schema().unwrap_or_default());
    key_in(&schema, s)
}

/// The condition on a row `l` of `pg_locks` that it is the advisory lock of
/// `key` (a bigint key shows as classid, its high half, and objid, its low
/// half), granted, in this database.
fn the_lock(key: &str) -> String {
    format!(
        "l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND ((l.classid::bigint << 32) | l.objid::bigint) = {key}"
    )
}

/// One attempt at the lock of `key`, its one value `true` when taken. Not
/// re-entrant, unlike `pg_try_advisory_lock` alone: a session that already
/// holds it did not take it for this run (behind a pooler in transaction
/// mode, another client's run took it on the server session this request
/// landed on), so it counts as held by another migrator.
fn take(key: &str) -> String {
    format!(
        "CASE WHEN EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = pg_backend_pid() AND {}) THEN false \
         ELSE pg_try_advisory_lock({key}) END::text",
        the_lock(key)
    )
}

/// What the holder's description adds when it is the session a request of
/// this run landed on.
const HELD_HERE: &str = ", the server session this connection's request ran in, which holds the lock this run did not take: behind a pooler in transaction mode (PgBouncer's `pool_mode = transaction`) another client's run took it in a session the two share, and it is held until that run releases it from the same session or the session closes (behind such a pooler take the lease: `--lock lease`, `LockMode::Lease`); else this connection took it before and kept it";

/// The statement a run's transactions begin with under the advisory lock
/// ([`Backend::held_lock_guard`]).
fn held_lock_guard(s: &Settings) -> String {
    format!(
        "DO $migrate_lock$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = pg_backend_pid() AND {}) THEN \
         RAISE EXCEPTION 'this transaction runs in a server session that does not hold the migration lock the run took in another: the connection''s server session changed between transactions, as behind a pooler in transaction mode (PgBouncer''s pool_mode = transaction), where an advisory lock cannot keep other migrators out; behind such a pooler take the lease (--lock lease, LockMode::Lease)' \
         USING ERRCODE = '{LOCK_NOT_HELD_CODE}'; END IF; END $migrate_lock$",
        the_lock(&key(s))
    )
}

/// The advisory lock key of the history table in `schema`, an SQL expression
/// (a literal, or `current_schema()` before [`prepare`] has pinned it).
fn key_in(schema: &str, s: &Settings) -> String {
    format!(
        "hashtextextended('migrate:' || current_database() || ':' || {schema} || {}, 0)",
        Dialect::Postgres.quote_text(&format!(".{}", s.table.name()))
    )
}

impl super::sealed::Sealed for Postgres {}

impl super::Driver for Postgres {
    const DIALECT: Dialect = Dialect::Postgres;

    fn backend(conn: &mut PgConnection) -> &mut dyn Backend {
        conn
    }
}

impl Backend for PgConnection {
    super::same_everywhere!(Postgres);

    fn key_range(&self, table: &str, key: &str) -> String {
        format!("SELECT MIN({key})::text, MAX({key})::text FROM {table}")
    }

    fn table_exists<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<bool>> {
        Box::pin(table_exists(self, s))
    }

    fn prepare<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<Settings>> {
        Box::pin(prepare(self, s))
    }

    fn try_lock<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<bool>> {
        Box::pin(try_lock(self, s))
    }

    fn prepare_and_try_lock<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<(Settings, Option<bool>)>> {
        Box::pin(prepare_and_try_lock(self, s))
    }

    fn unlock<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Result<()>> {
        Box::pin(unlock(self, s))
    }

    fn unlock_sql(&self, s: &Settings) -> Option<String> {
        Some(unlock_sql(s))
    }

    fn held_lock_guard(&self, s: &Settings) -> Option<String> {
        Some(held_lock_guard(s))
    }

    fn is_conflict(&self, e: &sqlx::Error) -> bool {
        // deadlock_detected, serialization_failure
        matches!(
            e.as_database_error().and_then(|d| d.code()).as_deref(),
            Some("40P01" | "40001")
        )
    }

    fn is_lock_timeout(&self, e: &sqlx::Error) -> bool {
        // lock_not_available: `lock_timeout` ran out.
        e.as_database_error().and_then(|d| d.code()).as_deref() == Some("55P03")
    }

    fn watcher(&self) -> Option<super::Watcher> {
        Some(super::watch)
    }

    fn session_id(&mut self) -> BoxFuture<'_, Option<String>> {
        Box::pin(async move {
            let id = Backend::read_strings(self, "SELECT pg_backend_pid()::text".into())
                .await
                .ok()?;
            id.into_iter().next()
        })
    }

    fn blocked_by<'a>(&'a mut self, id: &'a str) -> BoxFuture<'a, Vec<String>> {
        Box::pin(async move {
            let Ok(pid) = id.parse::<i32>() else { return Vec::new() };
            let sql = format!(
                "SELECT {SESSION} FROM pg_stat_activity a WHERE a.pid = ANY(pg_blocking_pids({pid})) ORDER BY a.pid"
            );
            Backend::read_strings(self, sql).await.unwrap_or_default()
        })
    }

    fn blockers(&mut self, since: std::time::Duration) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async move {
            // Without a second connection to watch the wait, and the waiting
            // statement cancelled, pg_blocking_pids has nothing left to say: name
            // the sessions whose transactions hold relation locks and began before
            // the last attempt did, as likely blockers.
            let sql = format!(
                r"SELECT 'possibly ' || {SESSION}
                 FROM pg_stat_activity a
                 WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL
                   AND a.xact_start <= now() - make_interval(secs => {:.3})
                   AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.granted AND l.locktype = 'relation')
                 ORDER BY a.xact_start LIMIT 5",
                since.as_secs_f64()
            );
            Backend::read_strings(self, sql).await.unwrap_or_default()
        })
    }

    fn lock_is_free<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Option<bool>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks l WHERE {}) THEN 'held' ELSE 'free' END",
                the_lock(&key(s))
            );
            let read = Backend::read_strings(self, sql).await.ok()?;
            Some(read.first().map(String::as_str) == Some("free"))
        })
    }

    fn lock_holder<'a>(&'a mut self, s: &'a Settings) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            // An advisory lock on a bigint key shows in pg_locks as classid (high
            // half) and objid (low half).
            let sql = format!(
                "SELECT 'backend pid ' || a.pid || ' (' || coalesce('`' || nullif(a.application_name, '') || '`, ', '') \
                 || 'from ' || coalesce(host(a.client_addr), 'local socket') || ', connected since ' \
                 || to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || ')' \
                 || CASE WHEN a.pid = pg_backend_pid() THEN {} ELSE '' END \
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE {} LIMIT 1",
                Dialect::Postgres.quote_text(HELD_HERE),
                the_lock(&key(s))
            );
            Backend::read_strings(self, sql).await.ok()?.into_iter().next()
        })
    }

    fn one_transaction_runs(&self) -> bool {
        true
    }

    fn commits_before_next(&self, sql: &str) -> bool {
        split::statements(sql, Dialect::Postgres)
            .iter()
            .any(|s| migrate_core::sql::split::adds_enum_value(s.text))
    }

    fn batches(&self) -> bool {
        true
    }

    fn batch_size(&self) -> usize {
        // A request's wait is the cost to cut (a batch is one), and the server's
        // work per step is small against it: progress is reported every 1,000 steps.
        1_000
    }

    fn batch_step(&self, s: &Settings, step: &Step<'_>, sql: &str) -> Option<BatchStep> {
        // Only an upgrade in the run's one transaction (a row to insert, a savepoint to be in).
        (s.in_run_transaction && step.direction == migrate_core::Direction::Upgrade).then(|| {
            let sql = batched(s, step, sql);
            BatchStep {
                statements: split::statements(&sql, Dialect::Postgres).len(),
                sql,
                record: String::new(),
                revision: step.migration.revision().to_owned(),
            }
        })
    }

    fn run_batch<'a>(
        &'a mut self,
        s: &'a Settings,
        begin: Option<String>,
        steps: Vec<BatchStep>,
    ) -> BoxFuture<'a, Option<BatchRun>> {
        Box::pin(run_batch(self, s, begin, steps))
    }

    fn checks_lease_at_commit(&self) -> bool {
        true
    }

    fn guards(&self, s: &Settings, m: &Migration) -> Guards {
        guards(s, m)
    }

    fn in_transaction<'a>(&'a mut self, s: &'a Settings, step: Step<'a>, sql: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(in_transaction(self, s, step, sql))
    }

    fn connection(&mut self) -> crate::rust::Connection<'_> {
        crate::rust::Connection::Postgres(self)
    }

    fn rust_frame(&self, s: &Settings, m: &Migration) -> Option<super::Frame> {
        let local = guards(s, m).local;
        // As a SQL step's: a savepoint in the run's one transaction, else a transaction of its own.
        Some(if s.in_run_transaction {
            super::Frame {
                begin: format!("SAVEPOINT migrate_step;\n{local}"),
                end: "RELEASE SAVEPOINT migrate_step".into(),
                undo: "ROLLBACK TO SAVEPOINT migrate_step;\nRELEASE SAVEPOINT migrate_step".into(),
            }
        } else {
            super::Frame {
                begin: format!("BEGIN;\n{}{}{local}", s.lock_guard_line(), watch_client(s)),
                end: "COMMIT".into(),
                undo: "ROLLBACK".into(),
            }
        })
    }

    fn rehearsal(&self) -> super::Rehearsing {
        super::Rehearsing::RolledBack {
            begin: "BEGIN",
            end: "ROLLBACK",
        }
    }

    fn locks_after<'a>(&'a mut self, _statement: &'a str) -> BoxFuture<'a, super::HeldLocks> {
        Box::pin(held_locks(self))
    }

    fn existing_tables(&mut self) -> BoxFuture<'_, Option<Vec<String>>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER_TABLES}"
            );
            Backend::read_strings(self, sql).await.ok()
        })
    }

    fn watch_locks<'a>(
        &'a mut self,
        session: &'a str,
        stop: &'a std::sync::atomic::AtomicBool,
    ) -> BoxFuture<'a, Option<Vec<super::WatchedLock>>> {
        Box::pin(super::postgres_watch::watch_locks(self, session, stop))
    }

    fn sequence_positions(&mut self) -> BoxFuture<'_, Option<Vec<(String, Option<i64>)>>> {
        Box::pin(super::postgres_watch::sequence_positions(self))
    }

    fn invalid_index<'a>(&'a mut self, statement: &'a str) -> BoxFuture<'a, Option<(String, String)>> {
        Box::pin(invalid_index(self, statement))
    }
}

async fn table_exists(conn: &mut PgConnection, s: &Settings) -> Result<bool> {
    let d = Dialect::Postgres;
    let sql = format!(
        "SELECT (to_regclass({}) IS NOT NULL)::text",
        d.quote_text(&d.table(&s.table))
    );
    Ok(super::read_one(conn, sql, "looking for the history table").await? == "true")
}

async fn prepare(conn: &mut PgConnection, s: &Settings) -> Result<Settings> {
    if s.table.schema().is_some() {
        return pinned(conn, s, None);
    }
    let schema = super::read_one(
        conn,
        "SELECT coalesce(current_schema()::text, '')".into(),
        "reading the current schema",
    )
    .await?;
    pinned(conn, s, Some(&schema))
}

/// [`prepare`] and one attempt at the lock, in one request when the schema
/// is the current one: the key then names `current_schema()`, which is what
/// [`key`] names once the schema is pinned.
async fn prepare_and_try_lock(conn: &mut PgConnection, s: &Settings) -> Result<(Settings, Option<bool>)> {
    if s.table.schema().is_some() {
        let s = pinned(conn, s, None)?;
        let taken = try_lock(conn, &s).await?;
        return Ok((s, Some(taken)));
    }
    let sql = format!(
        "SELECT coalesce(current_schema()::text, ''), {}",
        take(&key_in("current_schema()", s))
    );
    let context = "reading the current schema and taking the migration lock (pg_try_advisory_lock)";
    let row = Backend::read_table(conn, sql)
        .await
        .map_err(crate::error::db(context))?
        .into_iter()
        .next()
        .unwrap_or_default();
    let (schema, taken) = match &row[..] {
        [schema, taken] => (schema.clone().unwrap_or_default(), taken.as_deref() == Some("true")),
        _ => (String::new(), false),
    };
    Ok((pinned(conn, s, Some(&schema))?, Some(taken)))
}

/// `s` for this connection: the history table in `schema` (read from the
/// server; `None` when the table has one already), and whether the server
/// can watch the client.
fn pinned(conn: &PgConnection, s: &Settings, schema: Option<&str>) -> Result<Settings> {
    let table = match schema {
        None => s.table.clone(),
        Some("") => {
            return Err(Error::Database {
                context: "no schema is on the search_path; choose one with `history_schema` (`--history-schema`)"
                    .into(),
                source: sqlx::Error::Protocol("current_schema() is NULL".into()),
            });
        }
        Some(schema) => s.table.clone().in_schema(schema)?,
    };
    Ok(Settings {
        table,
        watch_client: watches_client(conn),
        ..s.clone()
    })
}

/// PostgreSQL 14+ can notice a client gone (`client_connection_check_interval`).
fn watches_client(conn: &PgConnection) -> bool {
    conn.server_version_num().is_some_and(|v| v >= 140_000)
}

async fn try_lock(conn: &mut PgConnection, s: &Settings) -> Result<bool> {
    let sql = format!("SELECT {}", take(&key(s)));
    Ok(super::read_one(conn, sql, "taking the migration lock (pg_try_advisory_lock)").await? == "true")
}

/// Releases the migration lock, its one row `true` when this session held it.
fn unlock_sql(s: &Settings) -> String {
    format!("SELECT pg_advisory_unlock({})::text", key(s))
}

async fn unlock(conn: &mut PgConnection, s: &Settings) -> Result<()> {
    let sql = unlock_sql(s);
    let released = super::read_one(conn, sql, "releasing the migration lock (pg_advisory_unlock)").await? == "true";
    if !released {
        return Err(Error::Database {
            context: "releasing the migration lock".into(),
            source: sqlx::Error::Protocol(
                "pg_advisory_unlock returned false: this session did not hold the lock, so the run's server session changed under it, as behind a pooler in transaction mode (PgBouncer's `pool_mode = transaction`): the lock stays held by another server connection until that one closes, and other migrators wait for it; behind such a pooler take the lease (`--lock lease`, `LockMode::Lease`)".into(),
            ),
        });
    }
    Ok(())
}

/// A step's timeouts: `SET LOCAL` inside its transaction, or session settings
/// put back after a step run statement by statement.
fn guards(s: &Settings, m: &Migration) -> Guards {
    let (lock, statement) = Guards::timeouts(s, m);
    if m.directives().foreign_keys_off {
        tracing::debug!(
            revision = m.revision(),
            "-- migrate:foreign-keys-off has no effect on PostgreSQL: its foreign keys are not touched by rebuilding a table, and a constraint that must wait can be DEFERRABLE"
        );
    }
    let values = crate::dialect::timeout_settings(Dialect::Postgres, lock, statement, false);
    if values.is_empty() {
        return Guards::none();
    }
    let joined =
        |f: &dyn Fn(&str, &str) -> String, sep: &str| values.iter().map(|(n, v)| f(n, v)).collect::<Vec<_>>().join(sep);
    Guards {
        local: values.iter().map(|(n, v)| format!("SET LOCAL {n} = {v};\n")).collect(),
        set: Some(joined(&|n, v| format!("SET {n} = {v}"), ";\n")),
        save: Some(format!(
            "SELECT {}",
            joined(
                &|n, _| format!("'SET {n} = ' || quote_literal(current_setting('{n}'))"),
                " || ';\n' || "
            )
        )),
    }
}

/// On PostgreSQL, when `statement` is a `CREATE INDEX CONCURRENTLY` whose
/// index exists and is INVALID (a failed build leaves one): the index,
/// schema-qualified, and the statement that drops it.
async fn invalid_index(conn: &mut dyn Backend, statement: &str) -> Option<(String, String)> {
    let name = migrate_core::sql::concurrent_index(statement)?;
    let sql = format!(
        "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid AND c.oid = to_regclass(quote_ident({}))",
        Dialect::Postgres.quote_text(&name)
    );
    let index = conn.read_strings(sql).await.ok()?.into_iter().next()?;
    let drop = format!("DROP INDEX CONCURRENTLY {index};");
    Some((index, drop))
}

/// A transactional step: a transaction of its own with its history row, or,
/// in a run from an empty history, a savepoint in the run's one transaction.
async fn in_transaction(conn: &mut dyn Backend, s: &Settings, step: Step<'_>, sql: &str) -> Result<()> {
    let d = conn.dialect();
    let t = &s.table;
    let terminator = if split::needs_terminator(sql, d) { "\n;" } else { "" };
    // The migration and its history row in one transaction, sent in one round
    // trip; the server measures the time since the transaction began. If the
    // migrator dies mid-step, PostgreSQL 14+ notices within a second
    // (client_connection_check_interval) and rolls back.
    let ms = "(EXTRACT(EPOCH FROM (clock_timestamp() - now())) * 1000)::bigint";
    let watch = watch_client(s);
    if s.in_run_transaction {
        return in_savepoint(conn, s, step, sql, terminator).await;
    }
    let record = step.record(d, t, ms, false);
    let prefix = format!(
        "BEGIN;\n{}{watch}{}",
        s.lock_guard_line(),
        guards(s, step.migration).local
    );
    // Under a lease, the step commits only if this run still holds it.
    let guard = s
        .lease()
        .and_then(|l| d.lease_guard(t, &l.owner, l.ttl_ms()))
        .map(|g| format!("{g};\n"))
        .unwrap_or_default();
    let batch = format!("{prefix}{sql}{terminator}\n{guard}{record};\nCOMMIT");
    if let Err(e) = conn.execute(batch).await {
        // A transaction that never reached COMMIT is rolled back by the
        // server, also when the ROLLBACK cannot be sent.
        let cleanup = run(conn, "ROLLBACK".into(), "rolling back the failed migration")
            .await
            .err();
        // The server's position counts characters of the whole batch.
        let line = crate::error::error_position(&e).and_then(|p| line_of(sql, p, prefix.chars().count()));
        return Err(step.failure_at(e, None, line, true, cleanup));
    }
    Ok(())
}

/// A PostgreSQL step inside the run's one transaction: the migration and its
/// history row in a savepoint, sent in one round trip after the savepoint,
/// the server timing the step from there. A failure rolls back to the
/// savepoint, so the transaction goes on holding what the run did before it
/// (which `Migrator::steps` then commits). The savepoint goes on its own
/// first: a migration the server cannot parse is refused with its whole
/// request, which aborts the transaction, and only a savepoint opened
/// before that request brings it back.
async fn in_savepoint(conn: &mut dyn Backend, s: &Settings, step: Step<'_>, sql: &str, terminator: &str) -> Result<()> {
    let d = conn.dialect();
    let ms = STEP_MS;
    let watch = watch_client(s);
    let record = step.record(d, &s.table, ms, false);
    if let Err(e) = conn.execute("SAVEPOINT migrate_step".to_owned()).await {
        // The step's own failure (a connection lost here is lost for it).
        return Err(step.failure(e, true, None));
    }
    let prefix = format!(
        "SELECT set_config('migrate.step_started', clock_timestamp()::text, true);\n{watch}{}",
        guards(s, step.migration).local
    );
    let batch = format!("{prefix}{sql}{terminator}\n{record};\nRELEASE SAVEPOINT migrate_step");
    if let Err(e) = conn.execute(batch).await {
        let undo = "ROLLBACK TO SAVEPOINT migrate_step;\nRELEASE SAVEPOINT migrate_step".to_owned();
        let cleanup = run(conn, undo, "rolling back the failed migration to its savepoint")
            .await
            .err();
        let line = crate::error::error_position(&e).and_then(|p| line_of(sql, p, prefix.chars().count()));
        return Err(step.failure_at(e, None, line, true, cleanup));
    }
    Ok(())
}

/// The server's time since the step began (its savepoint), in milliseconds,
/// as its history row records it (a batched step's: [`timing`]).
const STEP_MS: &str =
    "(EXTRACT(EPOCH FROM (clock_timestamp() - current_setting('migrate.step_started')::timestamptz)) * 1000)::bigint";

/// The server's clock in microseconds since the Unix epoch: what a batched
/// step's row holds in `execution_ms` until the batch's last statement
/// ([`timing`]) turns the marks into durations.
const NOW_US: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint";

/// One step of a batch (an upgrade): the migration and its history row,
/// whose `execution_ms` marks when the step ended ([`NOW_US`]) and whose
/// `applied_at` the batch's last statement writes, once for all ([`timing`]).
/// The batch, not the step, has a savepoint ([`run_batch`]). No row comes
/// back per step: a result a step costs the server and the client more than
/// the row itself.
fn batched(s: &Settings, step: &Step<'_>, sql: &str) -> String {
    let d = Dialect::Postgres;
    let terminator = if split::needs_terminator(sql, d) { "\n;" } else { "" };
    let record = d.insert_applied_at(&s.table, step.migration, NOW_US, "''");
    format!("{}{sql}{terminator}\n{record}", guards(s, step.migration).local)
}

/// A batch's last statement: each step's row gets its duration, from the
/// previous step's end (the batch's start for the first) to its own, in
/// milliseconds as the server timed them, and its `applied_at` (the
/// transaction's start, as every row of the run has it), formatted once; the
/// one row it returns lists the durations in the batch's order (`migrate_steps_ms`).
fn timing(s: &Settings, steps: &[BatchStep]) -> String {
    let d = Dialect::Postgres;
    let table = d.table(&s.table);
    let revisions: Vec<String> = steps.iter().map(|st| d.quote_text(&st.revision)).collect();
    format!(
        "WITH ended AS (SELECT b.n, h.revision, h.execution_ms AS e FROM unnest(ARRAY[{}]::text[]) WITH ORDINALITY AS b(revision, n) JOIN {table} h ON h.revision = b.revision),
took AS (SELECT n, revision, GREATEST(0, round((e - lag(e, 1, current_setting('migrate.batch_started')::bigint) OVER (ORDER BY n)) / 1000.0))::bigint AS ms FROM ended),
stamp AS (SELECT {} AS at),
timed AS (UPDATE {table} h SET execution_ms = took.ms, applied_at = stamp.at FROM took, stamp WHERE h.revision = took.revision)
SELECT string_agg(ms::text, ',' ORDER BY n) AS migrate_steps_ms FROM took",
        revisions.join(", "),
        d.now()
    )
}

/// PostgreSQL 14+: the server checks every second that the migrator is still
/// there, and rolls back when it is gone (set for the transaction).
const WATCH_CLIENT: &str = "SET LOCAL client_connection_check_interval = '1s';\n";

/// [`WATCH_CLIENT`] where the server has it.
fn watch_client(s: &Settings) -> &'static str {
    if s.watch_client { WATCH_CLIENT } else { "" }
}

/// A batch in one request, in the run's open transaction: the sequences'
/// positions ([`SEQUENCES_BEFORE`]), one savepoint, a mark of the batch's
/// start, the steps' texts ([`batched`]), the rows' durations ([`timing`]),
/// the savepoint's release. At the first failure the request stops there and
/// the whole batch is rolled back to its savepoint, and the sequences it
/// advanced are set back (a rollback leaves them: [`SEQUENCES_BACK`]); the
/// steps before the failed one (told by the statements the server completed)
/// are then sent again (they ran a moment ago on the same state, and take the
/// same ids they took then), so that they are kept and the caller runs the
/// failed one the usual way, which names it.
///
/// One savepoint a batch rather than one a step: a subtransaction a step
/// costs the server a sixth of the run, and past 64 of them every other
/// session's snapshots must look them up (the subtransaction cache overflows).
async fn run_batch(
    conn: &mut PgConnection,
    s: &Settings,
    begin: Option<String>,
    steps: Vec<BatchStep>,
) -> Option<BatchRun> {
    let watch = watches_client(conn);
    let mut count = steps.len();
    let mut failure = None;
    // The run's BEGIN goes with the first request only: rolling back to the
    // batch's savepoint keeps it.
    let mut begin = begin;
    // Inside the run's transaction already, the savepoint goes first, in a
    // request of its own: a batch the server cannot parse is refused whole,
    // and aborts the transaction, before any of it runs; it rolls back to this.
    let mut opens_savepoint = begin.is_some();
    if !opens_savepoint {
        let sql = format!("{SEQUENCES_BEFORE};\nSAVEPOINT {BATCH_SAVEPOINT}");
        if let Err(e) = run(conn, sql, "opening a batch's savepoint").await {
            return Some(BatchRun::failed(e.to_string(), None));
        }
    }
    loop {
        let sent = send_batch(conn, s, (begin.as_deref(), opens_savepoint), &steps[..count], watch).await;
        let (kept, error) = match sent {
            Ok(took) => {
                return Some(BatchRun {
                    took,
                    failure,
                    begin: None,
                });
            }
            Err(Failed::At(kept, error)) => (kept, error),
            Err(Failed::Unread(at, error)) => {
                // Nothing ran: the transaction back to the savepoint (kept open
                // for the next send), or, for the run's first request, none was begun.
                let back = format!("ROLLBACK TO SAVEPOINT {BATCH_SAVEPOINT}");
                if !opens_savepoint && run(conn, back, "rolling back a batch to its savepoint").await.is_err() {
                    return Some(BatchRun::failed(failure.unwrap_or(error), begin));
                }
                failure.get_or_insert(error);
                match at {
                    // The steps ahead of the one the server could not read go again.
                    Some(k) if k > 0 && k < count => {
                        count = k;
                        continue;
                    }
                    _ => return Some(BatchRun::failed(failure.unwrap_or_default(), begin)),
                }
            }
            Err(Failed::Before(error)) => {
                // Before the batch's savepoint, in the run's first request: what
                // began is rolled back, and the run's BEGIN is given back, so that
                // the usual path sends it again and names what failed.
                let cleanup = match begin {
                    Some(_) => run(conn, "ROLLBACK".into(), "rolling back a failed batch").await,
                    None => Ok(()),
                };
                let begin = begin.filter(|_| cleanup.is_ok());
                return Some(BatchRun::failed(failure.unwrap_or(error), begin));
            }
        };
        begin = None;
        // The batch's savepoint is still open: back to it. Should this fail
        // too (the connection is gone), the usual path meets the same state
        // at the failed step and names it, and the run's commit says what is lost.
        let undo =
            format!("ROLLBACK TO SAVEPOINT {BATCH_SAVEPOINT};\nRELEASE SAVEPOINT {BATCH_SAVEPOINT};\n{SEQUENCES_BACK}");
        if run(conn, undo, "rolling back a batch to its savepoint").await.is_err() || kept == 0 {
            return Some(BatchRun {
                took: vec![Duration::ZERO; kept],
                failure: failure.or(Some(error)),
                begin: None,
            });
        }
        // The first failure is the one the caller hears of; a step failing
        // only when sent again (a migration that does not do the same twice)
        // shortens the batch further, and then runs the usual way. Each send
        // is shorter than the one before, whatever the count said.
        failure.get_or_insert(error);
        count = kept.min(count - 1);
        opens_savepoint = true;
    }
}

/// How a [`send_batch`] failed.
enum Failed {
    /// A step failed, this many steps before it completed; the batch's
    /// savepoint is open in an aborted transaction.
    At(usize, String),
    /// Before the batch's savepoint (the run's BEGIN, the sequences'
    /// positions, the savepoint itself).
    Before(String),
    /// The server refused the request before running any of it (a syntax
    /// error): the step holding the position it named, where it named one.
    Unread(Option<usize>, String),
}

/// The positions of the database's sequences before a batch, kept for the
/// run's transaction in the setting `migrate.batch_sequences` (before the
/// batch's savepoint, so that rolling back to it keeps them).
/// (No row comes back: the list stays on the server.)
const SEQUENCES_BEFORE: &str = "SELECT 1 WHERE set_config('migrate.batch_sequences', coalesce((SELECT json_agg(json_build_object('schemaname', schemaname, 'sequencename', sequencename, 'last_value', last_value, 'start_value', start_value))::text FROM pg_sequences WHERE schemaname NOT IN ('pg_catalog', 'information_schema')), '[]'), true) IS NULL";

/// Sets back each sequence whose position moved since [`SEQUENCES_BEFORE`]
/// (`nextval` is not undone by a rollback): one the run may not change is
/// left as it is, as a run one step at a time would have advanced it too.
const SEQUENCES_BACK: &str = "DO $migrate_sequences$
DECLARE s record;
BEGIN
  FOR s IN SELECT v.schemaname, v.sequencename, v.last_value, v.start_value
    FROM json_to_recordset(coalesce(current_setting('migrate.batch_sequences', true), '[]')::json)
      AS v(schemaname text, sequencename text, last_value bigint, start_value bigint)
    JOIN pg_sequences p USING (schemaname, sequencename)
    WHERE p.last_value IS DISTINCT FROM v.last_value
  LOOP
    BEGIN
      PERFORM setval(format('%I.%I', s.schemaname, s.sequencename)::regclass, coalesce(s.last_value, s.start_value), s.last_value IS NOT NULL);
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
  END LOOP;
END
$migrate_sequences$";

/// Sends `steps` as one batch ([`run_batch`]), after `begin` if given, the
/// sequences' positions and the batch's savepoint first when `opens_savepoint` (else
/// the savepoint is open already): how long each step took, or how it failed.
async fn send_batch(
    conn: &mut PgConnection,
    s: &Settings,
    (begin, opens_savepoint): (Option<&str>, bool),
    steps: &[BatchStep],
    watch: bool,
) -> std::result::Result<Vec<Duration>, Failed> {
    use futures_util::StreamExt;
    use sqlx::Row;
    let (mut text, begun) = match begin {
        Some(begin) => {
            let statements = split::statements(begin, Dialect::Postgres).len();
            (format!("{begin};\n"), statements)
        }
        None => (String::new(), 0),
    };
    if opens_savepoint {
        text.push_str(SEQUENCES_BEFORE);
        text.push_str(&format!(";\nSAVEPOINT {BATCH_SAVEPOINT};\n"));
    }
    // The BEGIN's statements, the sequences' positions, the savepoint and the mark.
    let opened = begun + if opens_savepoint { 2 } else { 0 };
    let mut before = opened + 1;
    if watch {
        text.push_str(WATCH_CLIENT);
        before += 1;
    }
    // The batch's start, for `timing`.
    text.push_str(&format!(
        "SELECT set_config('migrate.batch_started', {NOW_US}::text, true)"
    ));
    // Where each step starts in the text, in characters (as the server counts positions).
    let mut chars = text.chars().count();
    let mut starts = Vec::with_capacity(steps.len());
    for step in steps {
        text.push_str(";\n");
        starts.push(chars + 2);
        chars += 2 + step.sql.chars().count();
        text.push_str(&step.sql);
    }
    text.push_str(";\n");
    text.push_str(&timing(s, steps));
    text.push_str(&format!(";\nRELEASE SAVEPOINT {BATCH_SAVEPOINT}"));
    let mut completed = 0;
    let mut took = None;
    let mut results = sqlx::raw_sql(sqlx::AssertSqlSafe(super::logged(text))).fetch_many(&mut *conn);
    while let Some(item) = results.next().await {
        match item {
            Ok(sqlx::Either::Left(_)) => completed += 1,
            Ok(sqlx::Either::Right(row)) => {
                if let Ok(list) = row.try_get::<String, _>("migrate_steps_ms") {
                    took = Some(
                        list.split(',')
                            .map(|ms| Duration::from_millis(ms.parse().unwrap_or(0)))
                            .collect(),
                    );
                }
            }
            // Nothing completed, not even the first statement (which cannot
            // fail): the server refused the whole text as it read it.
            Err(e) if completed == 0 => {
                let at = crate::error::error_position(&e)
                    .and_then(|p| starts.iter().rposition(|&start| start < p))
                    .filter(|&k| k < steps.len());
                return Err(Failed::Unread(at, e.to_string()));
            }
            Err(e) if completed < opened => {
                // Before the batch (the run's BEGIN, the sequences' positions, or the savepoint).
                let what = if completed < begun {
                    super::BEGINNING
                } else if completed == begun {
                    "reading the sequences' positions before a batch"
                } else {
                    "opening the batch's savepoint"
                };
                return Err(Failed::Before(format!("{what}: {e}")));
            }
            Err(e) => {
                // The steps whose every statement completed, the prelude's first.
                let mut done = before;
                let kept = steps
                    .iter()
                    .take_while(|st| {
                        done += st.statements;
                        done <= completed
                    })
                    .count();
                return Err(Failed::At(kept, e.to_string()));
            }
        }
    }
    // Every step ran and was kept: one whose duration did not come back reads as 0.
    let mut took: Vec<Duration> = took.unwrap_or_default();
    took.resize(steps.len(), Duration::ZERO);
    Ok(took)
}

/// The 1-based line of `sql` holding character `position` (1-based) of a
/// text that had `before` characters ahead of `sql`; `None` outside `sql`.
fn line_of(sql: &str, position: usize, before: usize) -> Option<usize> {
    let at = position.checked_sub(before + 1)?;
    let mut chars = 0;
    let mut line = 1;
    for c in sql.chars() {
        if chars == at {
            return Some(line);
        }
        if c == '\n' {
            line += 1;
        }
        chars += 1;
    }
    None
}

/// The schemas of the database whose names match the `LIKE` pattern, by name.
pub async fn schemas_like(pool: &sqlx::PgPool, pattern: &str) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE {} AND nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1",
        Dialect::Postgres.quote_text(pattern)
    );
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(super::logged(sql)))
        .fetch_all(pool)
        .await
        .map_err(crate::error::db("listing the schemas"))?;
    rows.iter()
        .map(|r| sqlx::Row::try_get::<String, _>(r, 0).map_err(crate::error::db("listing the schemas")))
        .collect()
}

/// Sets the connection's `search_path` to `schema` alone, for a run on that
/// schema; returns the statement that puts the pool's own setting back.
pub(crate) async fn enter_schema(conn: &mut PgConnection, schema: &str) -> Result<Option<String>> {
    let quoted = format!("\"{}\"", schema.replace('"', "\"\""));
    // Saved, and set back afterwards: the pool's own setting, whatever it was.
    let saved = sqlx::raw_sql(sqlx::AssertSqlSafe(super::logged(format!(
        "SELECT 'SET search_path TO ' || current_setting('search_path'); SET search_path TO {quoted}"
    ))))
    .fetch_all(&mut *conn)
    .await
    .map_err(crate::error::db(format!("setting the search_path to {quoted}")))?;
    Ok(saved.first().and_then(|r| sqlx::Row::try_get::<String, _>(r, 0).ok()))
}

#[cfg(test)]
mod tests {
    use super::line_of;

    #[test]
    fn positions_map_to_lines_of_the_migration() {
        let sql = "CREATE TABLE a (id INT);\nSELECT * FROM missing;";
        let before = "BEGIN;\n".chars().count();
        assert_eq!(line_of(sql, before + 1, before), Some(1));
        assert_eq!(line_of(sql, before + 26 + 14, before), Some(2));
        assert_eq!(line_of(sql, before, before), None, "before the migration");
        assert_eq!(line_of(sql, before + 500, before), None, "after it");
    }
}
