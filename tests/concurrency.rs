//! Many migrators at once, against the real servers, in real processes.
//!
//! This test binary is its own worker: run with `MIGRATE_WORKER=1` it
//! migrates one database from one folder and exits, and the tests below
//! start it many times at once. It has its own `main` (`harness = false`)
//! and prints `N passed, M failed` like any test runner; a name given on
//! the command line runs only the tests whose names contain it.

#[path = "scenarios/support.rs"]
mod support;

use migrate::sqlx::{self, MySqlPool, PgPool, SqlitePool};
use migrate::{Error, Migrations};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------- worker

/// Migrates `MIGRATE_WORKER_URL` from the folder `MIGRATE_WORKER_DIR`, starting
/// at the wall-clock instant `MIGRATE_WORKER_START_MS` so all workers collide.
async fn worker() -> i32 {
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is set by the test"));
    let url = var("MIGRATE_WORKER_URL");
    let dir = var("MIGRATE_WORKER_DIR");
    let timeout = Duration::from_millis(var("MIGRATE_WORKER_LOCK_TIMEOUT_MS").parse().unwrap());
    let start: u64 = var("MIGRATE_WORKER_START_MS").parse().unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    tokio::time::sleep(Duration::from_millis(start.saturating_sub(now))).await;
    let migrations = match migrate::load(&dir) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let mut migrator = migrations.migrator().lock_timeout(timeout);
    if let Ok(ttl) = std::env::var("MIGRATE_WORKER_LEASE_TTL_MS") {
        migrator = migrator
            .lock_mode(migrate::LockMode::Lease)
            .lease_ttl(Duration::from_millis(ttl.parse().unwrap()));
    }
    let result = if url.starts_with("sqlite:") {
        let pool = SqlitePool::connect(&url).await.unwrap();
        migrator.upgrade(&pool, "head").await
    } else if url.starts_with("postgres") {
        let pool = PgPool::connect(&url).await.unwrap();
        migrator.upgrade(&pool, "head").await
    } else {
        let pool = MySqlPool::connect(&url).await.unwrap();
        migrator.upgrade(&pool, "head").await
    };
    match result {
        Ok(report) => {
            println!("applied {}", report.steps.len());
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn spawn_workers(n: usize, url: &str, dir: &Path, lock_timeout: Duration) -> Vec<Child> {
    spawn_workers_with(n, url, dir, lock_timeout, None)
}

/// [`spawn_workers`], taking a lease of `lease_ttl` instead of the advisory lock when it is given.
fn spawn_workers_with(
    n: usize,
    url: &str,
    dir: &Path,
    lock_timeout: Duration,
    lease_ttl: Option<Duration>,
) -> Vec<Child> {
    let start = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64 + 400;
    (0..n)
        .map(|_| {
            let mut cmd = Command::new(std::env::current_exe().unwrap());
            if let Some(ttl) = lease_ttl {
                cmd.env("MIGRATE_WORKER_LEASE_TTL_MS", ttl.as_millis().to_string());
            }
            cmd.env("MIGRATE_WORKER", "1")
                .env("MIGRATE_WORKER_URL", url)
                .env("MIGRATE_WORKER_DIR", dir)
                .env("MIGRATE_WORKER_START_MS", start.to_string())
                .env("MIGRATE_WORKER_LOCK_TIMEOUT_MS", lock_timeout.as_millis().to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect()
}

/// Waits for every worker; panics with their output unless all exited 0.
fn all_succeed(children: Vec<Child>) {
    let mut failures = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        if !out.status.success() {
            failures.push(format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} worker(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// --------------------------------------------------------------- folders

fn write_migration(dir: &Path, id: &str, down: &str, upgrade: &str, downgrade: &str) {
    let text = migrate_core_render(id, down, upgrade, downgrade);
    std::fs::write(dir.join(format!("{id}_m.sql")), text).unwrap();
}

fn migrate_core_render(id: &str, down: &str, upgrade: &str, downgrade: &str) -> String {
    format!(
        "-- {id}\n-- revision: {id}\n-- down_revision: {down}\n\n-- migrate:upgrade\n{upgrade}\n\n-- migrate:downgrade\n{downgrade}\n"
    )
}

/// A folder with one migration, `a1`, creating the table `t_a`.
fn one_table_folder() -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    write_migration(
        folder.path(),
        "a1",
        "",
        "CREATE TABLE t_a (id INTEGER);",
        "DROP TABLE t_a;",
    );
    folder
}

/// 200 migrations, each creating a table and inserting one row into
/// `side_effects`, which has no unique key: a double application is counted.
/// With `merge`, revisions 100..149 and 150..198 are two branches from 99,
/// joined by revision 199.
fn stampede_folder(merge: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let id = |i: usize| format!("r{i:04}");
    for i in 0..200 {
        let down = match (merge, i) {
            (_, 0) => String::new(),
            (true, 150) => id(99),
            (true, 199) => format!("{}, {}", id(149), id(198)),
            _ => id(i - 1),
        };
        let mut up = String::new();
        if i == 0 {
            up.push_str("CREATE TABLE side_effects (migration VARCHAR(16) NOT NULL);\n");
        }
        up.push_str(&format!(
            "CREATE TABLE t_{i} (id INTEGER);\nINSERT INTO side_effects (migration) VALUES ('{}');",
            id(i)
        ));
        write_migration(dir.path(), &id(i), &down, &up, &format!("DROP TABLE t_{i};"));
    }
    dir
}

// ------------------------------------------------------------- databases

/// What the tests need of a database, whichever it is.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Postgres,
    /// PostgreSQL reached by the workers through a PgBouncer in transaction
    /// pooling (`MIGRATE_TEST_PGBOUNCER_URL`), each taking the lease.
    PgBouncer,
    /// A three-node MariaDB Galera cluster (`MIGRATE_TEST_GALERA_URLS`): the
    /// workers are spread over its nodes, with the default lock mode.
    Galera,
    Mysql,
    /// SQLite with the write-ahead log (`true`) or the rollback journal.
    Sqlite(bool),
}

enum Pool {
    Postgres(PgPool),
    Mysql(MySqlPool),
    Sqlite(SqlitePool),
}

struct Db {
    pool: Pool,
    url: String,
    /// More URLs of the same database (the other Galera nodes), for spreading workers.
    others: Vec<String>,
    _keep: Box<dyn std::any::Any>,
}

/// A database of the Galera cluster, dropped at the end.
struct GaleraDb {
    node1: String,
    name: String,
}

impl Drop for GaleraDb {
    fn drop(&mut self) {
        let _ = Command::new("mysql")
            .args(["-h", "127.0.0.1", "-P", &self.node1, "-uroot", "-e"])
            .arg(format!("DROP DATABASE IF EXISTS {}", self.name))
            .output();
    }
}

/// The Galera cluster's nodes, `mysql://…/test` each; `None` (after saying so,
/// or failing in CI) without one.
fn galera_urls() -> Option<Vec<String>> {
    match std::env::var("MIGRATE_TEST_GALERA_URLS") {
        Ok(urls) if !urls.trim().is_empty() => Some(urls.split_whitespace().map(str::to_owned).collect()),
        _ => {
            support::unavailable(
                "a Galera cluster",
                "MIGRATE_TEST_GALERA_URLS (unset)",
                "start one with `.ci/engines/galera start` and export the URLs it prints",
            );
            None
        }
    }
}

/// The URL of the PgBouncer the repository's `.ci/engines/pgbouncer` starts,
/// for database `name`; `None` (after saying so, or failing in CI) without one.
fn pgbouncer_url(name: &str) -> Option<String> {
    let Ok(url) = std::env::var("MIGRATE_TEST_PGBOUNCER_URL") else {
        support::unavailable(
            "PgBouncer",
            "MIGRATE_TEST_PGBOUNCER_URL (unset)",
            "start it with `.ci/engines/pgbouncer start` and export the URL it prints",
        );
        return None;
    };
    let (server, _) = url
        .rsplit_once('/')
        .expect("MIGRATE_TEST_PGBOUNCER_URL ends with /<database>");
    Some(format!("{server}/{name}"))
}

async fn fresh(kind: Kind) -> Option<Db> {
    Some(match kind {
        Kind::PgBouncer => {
            let db = support::postgres::fresh().await?;
            let url = pgbouncer_url(&db.name)?;
            Db {
                pool: Pool::Postgres(db.pool.clone()),
                url,
                others: Vec::new(),
                _keep: Box::new(db),
            }
        }
        Kind::Galera => {
            let nodes = galera_urls()?;
            let name = support::unique_name("migrate_t");
            let first = MySqlPool::connect(&nodes[0])
                .await
                .expect("the first Galera node answers");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&first)
                .await
                .unwrap();
            first.close().await;
            let urls: Vec<String> = nodes
                .iter()
                .map(|u| format!("{}/{name}", u.rsplit_once('/').expect("a URL ending in /<database>").0))
                .collect();
            let port = urls[0]
                .rsplit(':')
                .next()
                .and_then(|p| p.split('/').next())
                .unwrap_or("3317")
                .to_owned();
            // The workers write through every node, and a node applies the others' commits
            // a moment after they return: the checks read causally (`wsrep_sync_wait`), as
            // an operator checking after the rollout would, so they see every write before them.
            let causal = sqlx::mysql::MySqlPoolOptions::new()
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        sqlx::raw_sql("SET SESSION wsrep_sync_wait = 1").execute(conn).await?;
                        Ok(())
                    })
                })
                .connect(&urls[0])
                .await
                .unwrap();
            Db {
                pool: Pool::Mysql(causal),
                url: urls[0].clone(),
                others: urls[1..].to_vec(),
                _keep: Box::new(GaleraDb { node1: port, name }),
            }
        }
        Kind::Postgres => {
            let db = support::postgres::fresh().await?;
            Db {
                pool: Pool::Postgres(db.pool.clone()),
                url: db.url.clone(),
                others: Vec::new(),
                _keep: Box::new(db),
            }
        }
        Kind::Mysql => {
            let db = support::mysql::fresh().await?;
            Db {
                pool: Pool::Mysql(db.pool.clone()),
                url: db.url.clone(),
                others: Vec::new(),
                _keep: Box::new(db),
            }
        }
        Kind::Sqlite(wal) => {
            let db = support::sqlite::fresh().await?;
            let mode = if wal { "WAL" } else { "DELETE" };
            support::sqlite::exec(&db.pool, &format!("PRAGMA journal_mode = {mode}")).await;
            Db {
                pool: Pool::Sqlite(db.pool.clone()),
                url: db.url.clone(),
                others: Vec::new(),
                _keep: Box::new(db),
            }
        }
    })
}

impl Db {
    async fn count(&self, table: &str) -> i64 {
        match &self.pool {
            Pool::Postgres(p) => support::postgres::count(p, table).await,
            Pool::Mysql(p) => support::mysql::count(p, table).await,
            Pool::Sqlite(p) => support::sqlite::count(p, table).await,
        }
    }

    async fn history_rows(&self) -> i64 {
        match &self.pool {
            Pool::Postgres(p) => support::postgres::history_rows(p, "migrate_history").await,
            Pool::Mysql(p) => support::mysql::history_rows(p, "migrate_history").await,
            Pool::Sqlite(p) => support::sqlite::history_rows(p, "migrate_history").await,
        }
    }

    async fn table_exists(&self, table: &str) -> bool {
        match &self.pool {
            Pool::Postgres(p) => support::postgres::table_exists(p, table).await,
            Pool::Mysql(p) => support::mysql::table_exists(p, table).await,
            Pool::Sqlite(p) => support::sqlite::table_exists(p, table).await,
        }
    }

    async fn upgrade(&self, m: &Migrations, target: &str) -> Result<migrate::Report, Error> {
        match &self.pool {
            Pool::Postgres(p) => m.upgrade(p, target).await,
            Pool::Mysql(p) => m.upgrade(p, target).await,
            Pool::Sqlite(p) => m.upgrade(p, target).await,
        }
    }

    /// Whether any session still holds a migration lock on this database.
    async fn lock_left(&self) -> bool {
        match &self.pool {
            Pool::Postgres(p) => {
                let advisory = sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()",
                )
                .fetch_one(p)
                .await
                .unwrap();
                let leases = sqlx::query_scalar::<_, i64>(
                    "SELECT CASE WHEN to_regclass('migrate_lease') IS NULL THEN 0 ELSE (SELECT COUNT(*) FROM migrate_lease) END",
                )
                .fetch_one(p)
                .await;
                // Without the table (advisory runs), the CASE never reads it.
                advisory > 0 || leases.unwrap_or(0) > 0
            }
            Pool::Mysql(p) => {
                let advisory = sqlx::query_scalar::<_, Option<i64>>(
                    "SELECT IS_USED_LOCK(CONCAT('migrate:', SHA1(CONCAT(DATABASE(), ':', '.migrate_history'))))",
                )
                .fetch_one(p)
                .await
                .unwrap()
                .is_some();
                let leases = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM migrate_lease")
                    .fetch_one(p)
                    .await;
                advisory || leases.unwrap_or(0) > 0
            }
            // A write lock left behind would make this fail with SQLITE_BUSY.
            Pool::Sqlite(p) => {
                let mut c = p.acquire().await.unwrap();
                sqlx::raw_sql("PRAGMA busy_timeout = 0; BEGIN IMMEDIATE; ROLLBACK")
                    .execute(&mut *c)
                    .await
                    .is_err()
            }
        }
    }
}

// ----------------------------------------------------------------- tests

async fn stampede(kind: Kind, processes: usize, merge: bool, start_at: Option<&str>) {
    let Some(db) = fresh(kind).await else { return };
    let folder = stampede_folder(merge);
    let migrations = migrate::load(folder.path()).unwrap();
    if let Some(target) = start_at {
        db.upgrade(&migrations, target).await.unwrap();
    }
    let lease = matches!(kind, Kind::PgBouncer).then_some(Duration::from_secs(10));
    // Spread over every URL of the database (the Galera nodes), in turn.
    let urls: Vec<&String> = std::iter::once(&db.url).chain(&db.others).collect();
    let workers = (0..processes)
        .flat_map(|i| spawn_workers_with(1, urls[i % urls.len()], folder.path(), Duration::from_secs(120), lease))
        .collect();
    all_succeed(workers);
    assert_eq!(db.history_rows().await, 200, "{kind:?}: one history row per revision");
    assert_eq!(
        db.count("side_effects").await,
        200,
        "{kind:?}: each migration ran exactly once"
    );
    assert!(!db.lock_left().await, "{kind:?}: no lock is left behind");
}

/// 30 processes on a fresh database with nothing to apply: all succeed, one table.
async fn history_table_race(kind: Kind) {
    let Some(db) = fresh(kind).await else { return };
    let empty = tempfile::tempdir().unwrap();
    all_succeed(spawn_workers(30, &db.url, empty.path(), Duration::from_secs(60)));
    assert!(db.table_exists("migrate_history").await);
    assert_eq!(db.history_rows().await, 0);
    assert!(!db.lock_left().await);
}

/// A migration fails through a pool of one connection: the pool still works,
/// and another process gets the lock at once.
async fn lock_released_after_failure(kind: Kind) {
    let Some(db) = fresh(kind).await else { return };
    let folder = one_table_folder();
    write_migration(folder.path(), "b2", "a1", "INSERT INTO no_such_table VALUES (1);", "");
    let migrations = migrate::load(folder.path()).unwrap();
    let one = match kind {
        Kind::Postgres | Kind::PgBouncer => Pool::Postgres(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&db.url)
                .await
                .unwrap(),
        ),
        Kind::Mysql | Kind::Galera => Pool::Mysql(
            sqlx::mysql::MySqlPoolOptions::new()
                .max_connections(1)
                .connect(&db.url)
                .await
                .unwrap(),
        ),
        Kind::Sqlite(_) => Pool::Sqlite(
            sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect(&db.url)
                .await
                .unwrap(),
        ),
    };
    let single = Db {
        pool: one,
        url: db.url.clone(),
        others: Vec::new(),
        _keep: Box::new(()),
    };
    let e = single.upgrade(&migrations, "head").await.unwrap_err();
    assert!(matches!(e, Error::Migration { .. }), "{e}");
    assert_eq!(single.count("t_a").await, 0, "the same one-connection pool still works");
    assert!(!single.lock_left().await, "no lock is held after the failure");
    // Its one statement failed, so nothing of it stayed, on MySQL too: no row is left to resolve.
    assert_eq!(single.history_rows().await, 1);
    // Another process, with a short lock timeout, gets the lock at once,
    // while this process still holds its pool.
    std::fs::remove_file(folder.path().join("b2_m.sql")).unwrap();
    all_succeed(spawn_workers(1, &db.url, folder.path(), Duration::from_millis(500)));
    assert_eq!(single.history_rows().await, 1);
}

/// Another session holds the lock: the migrator fails with the timeout error
/// once the configured time has passed, having changed nothing.
async fn lock_timeout(kind: Kind) {
    let Some(db) = fresh(kind).await else { return };
    let folder = one_table_folder();
    let migrations = migrate::load(folder.path()).unwrap();
    let timeout = Duration::from_millis(700);
    let started = Instant::now();
    let e = upgrade_under_held_lock(&db, migrations.migrator().lock_timeout(timeout))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::LockTimeout { timeout: t } if t == timeout), "{e}");
    assert!(started.elapsed() >= timeout, "it waited the configured time");
    assert!(e.to_string().contains("nothing was changed"), "{e}");
    assert!(!db.table_exists("t_a").await, "nothing was changed");
    // Once the lock is free, the same call succeeds.
    assert_eq!(db.upgrade(&migrations, "head").await.unwrap().steps.len(), 1);
}

/// A run asked to stop while it waits for another migrator's lock gives up
/// at once, having changed nothing, instead of waiting out its lock timeout.
async fn stopped_waiting_for_the_lock(kind: Kind) {
    let Some(db) = fresh(kind).await else { return };
    let folder = one_table_folder();
    let migrations = migrate::load(folder.path()).unwrap();
    let started = Instant::now();
    let migrator = migrations
        .migrator()
        .lock_timeout(Duration::from_secs(60))
        .stop_when(move || started.elapsed() > Duration::from_millis(300));
    let e = upgrade_under_held_lock(&db, migrator).await.unwrap_err();
    assert!(
        matches!(&e, Error::Stopped { done, next: None, inside_backfill: false } if done.is_empty()),
        "{e:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(20), "it gave up the wait");
    assert_eq!(
        e.to_string(),
        "the run stopped, as asked, while waiting for the migration lock (or as it took it); nothing was changed"
    );
    assert!(!db.table_exists("t_a").await, "nothing was changed");
    assert_eq!(db.upgrade(&migrations, "head").await.unwrap().steps.len(), 1);
}

/// A server session that already holds the migration lock did not take it
/// for this run: behind a pooler in transaction mode, another client's run
/// took it in a session the two share. The run waits for it as for any
/// other holder, and says where it is, instead of taking it a second time
/// (`pg_try_advisory_lock` alone is re-entrant) and running beside the other.
async fn lock_held_in_the_same_session() {
    let Some(db) = fresh(Kind::Postgres).await else { return };
    let Pool::Postgres(p) = &db.pool else { unreachable!() };
    let folder = one_table_folder();
    let migrations = migrate::load(folder.path()).unwrap();
    let mut shared = p.acquire().await.unwrap();
    sqlx::raw_sql(HOLD_POSTGRES_LOCK).execute(&mut *shared).await.unwrap();
    let holder = std::sync::Arc::new(std::sync::Mutex::new(None));
    let seen = holder.clone();
    let e = migrations
        .migrator()
        .lock_timeout(Duration::from_millis(500))
        .on_lock_wait(move |h| *seen.lock().unwrap() = h.map(str::to_owned))
        .upgrade(&mut *shared, "head")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::LockTimeout { .. }), "{e}");
    assert!(!db.table_exists("t_a").await, "nothing was changed");
    let holder = holder.lock().unwrap().clone().expect("the run said who holds the lock");
    assert!(
        holder.contains("the server session this connection's request ran in") && holder.contains("--lock lease"),
        "{holder}"
    );
    // Released in its session, the lock is the run's to take.
    sqlx::raw_sql("SELECT pg_advisory_unlock_all()")
        .execute(&mut *shared)
        .await
        .unwrap();
    assert_eq!(migrations.upgrade(&mut *shared, "head").await.unwrap().steps.len(), 1);
}

/// Migrators with the default lock mode (the advisory lock) through
/// PgBouncer in transaction pooling, where a run's transactions land on
/// whichever server session is free: none runs beside the one holding the
/// lock, and each of its transactions outside the session holding it is
/// refused before it changes anything. So no migration runs twice, and a
/// run that fails says why and what to use instead (the lease), where it
/// failed on another's history row.
async fn advisory_behind_a_transaction_pooler() {
    let Some(db) = fresh(Kind::PgBouncer).await else { return };
    let folder = stampede_folder(false);
    let migrations = migrate::load(folder.path()).unwrap();
    // Applied directly: what follows runs in a transaction a step.
    db.upgrade(&migrations, "r0009").await.unwrap();
    let workers = spawn_workers(8, &db.url, folder.path(), Duration::from_secs(5));
    let mut failures = Vec::new();
    for child in workers {
        let out = child.wait_with_output().unwrap();
        if !out.status.success() {
            failures.push(String::from_utf8_lossy(&out.stderr).into_owned());
        }
    }
    let (rows, runs) = (db.history_rows().await, db.count("side_effects").await);
    assert_eq!(rows, runs, "each recorded migration ran once, and none ran unrecorded");
    for failure in &failures {
        assert!(
            failure.contains("--lock lease") || failure.contains("could not take the migration lock"),
            "a failure behind the pooler names the lease, or a lock it waited for: {failure}"
        );
    }
}

/// Takes the migration lock of `public.migrate_history` in the session it runs in.
const HOLD_POSTGRES_LOCK: &str =
    "SELECT pg_advisory_lock(hashtextextended('migrate:' || current_database() || ':public.migrate_history', 0))";

/// `migrator`'s upgrade to head while another session holds the migration
/// lock (SQLite: its write lock), which it gives back afterwards.
async fn upgrade_under_held_lock(db: &Db, migrator: migrate::Migrator<'_>) -> Result<migrate::Report, Error> {
    match &db.pool {
        Pool::Postgres(p) => {
            let mut holder = p.acquire().await.unwrap();
            sqlx::raw_sql(HOLD_POSTGRES_LOCK).execute(&mut *holder).await.unwrap();
            let r = migrator.upgrade(p, "head").await;
            holder.close().await.unwrap();
            r
        }
        Pool::Mysql(p) => {
            let mut holder = p.acquire().await.unwrap();
            sqlx::raw_sql("SELECT GET_LOCK(CONCAT('migrate:', SHA1(CONCAT(DATABASE(), ':', '.migrate_history'))), 0)")
                .execute(&mut *holder)
                .await
                .unwrap();
            let r = migrator.upgrade(p, "head").await;
            holder.close().await.unwrap();
            r
        }
        Pool::Sqlite(p) => {
            let mut holder = p.acquire().await.unwrap();
            sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *holder).await.unwrap();
            let r = migrator.upgrade(p, "head").await;
            sqlx::raw_sql("ROLLBACK").execute(&mut *holder).await.unwrap();
            r
        }
    }
}

/// Waits until another session of the database runs a query `LIKE` `pattern`.
async fn until_running(pool: &PgPool, pattern: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let running: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
        )
        .bind(pattern)
        .fetch_one(pool)
        .await
        .unwrap();
        if running > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "the long migration never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A fresh PostgreSQL database given more migrations than the server's lock
/// table holds in one transaction (max_locks_per_transaction × connections):
/// the run's one transaction commits what it did when the table is full and
/// goes on in a new one, so every migration is applied. Serial with the other
/// tests of this binary: it fills a table every session of the server shares.
async fn fresh_run_larger_than_the_lock_table() {
    let Some(db) = fresh(Kind::Postgres).await else { return };
    let Pool::Postgres(pool) = &db.pool else { unreachable!() };
    let n = 5_000;
    let list: Vec<migrate::Migration> = (0..n)
        .map(|i| {
            migrate::Migration::new(migrate::MigrationParts {
                revision: format!("m{i:05}"),
                down_revisions: if i == 0 { vec![] } else { vec![format!("m{:05}", i - 1)] },
                message: format!("table {i}"),
                upgrade: format!("CREATE TABLE lock_{i} (id INTEGER PRIMARY KEY)"),
                downgrade: Some(format!("DROP TABLE lock_{i}")),
                no_transaction: false,
                directives: Default::default(),
                depends_on: Vec::new(),
                runs_after: Vec::new(),
                file: format!("migrations/m{i:05}_table.sql"),
            })
        })
        .collect();
    let migrations = migrate::Migrations::new(list).unwrap();
    let (report, sent) = support::statements_sent(migrations.upgrade(pool, "head")).await;
    assert_eq!(report.unwrap().steps.len(), n);
    assert_eq!(db.history_rows().await, n as i64);
    // The last COMMIT goes with the digest's write (and the lock's release after it).
    let commits = sent
        .iter()
        .filter(|s| s.lines().any(|l| l.trim_end().trim_end_matches(';') == "COMMIT"))
        .count();
    assert!(
        commits >= 2,
        "the lock table filled up, so the run committed part-way ({commits} commits)"
    );
    assert!(commits < 50, "still far fewer commits than migrations ({commits})");
}

/// A process killed in the middle of a long migration on PostgreSQL leaves a
/// consistent state, and a fresh run completes.
async fn killed_mid_migration() {
    let Some(db) = fresh(Kind::Postgres).await else { return };
    let Pool::Postgres(pool) = &db.pool else { unreachable!() };
    let folder = one_table_folder();
    write_migration(
        folder.path(),
        "b2",
        "a1",
        "CREATE TABLE t_long (id INTEGER);\nSELECT pg_sleep(3);",
        "DROP TABLE t_long;",
    );
    // a1 first, in a run of its own: from a history that is not empty, each
    // migration commits on its own (a run from an empty one shares one transaction).
    migrate::load(folder.path()).unwrap().upgrade(pool, "a1").await.unwrap();
    let mut child = spawn_workers(1, &db.url, folder.path(), Duration::from_secs(30)).remove(0);
    // Wait until the long migration is running, then kill the process.
    until_running(pool, "%pg_sleep(3)%").await;
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
    // A fresh run waits for the dead session's lock, finds b2 not recorded
    // and its table gone, and completes.
    let migrations = migrate::load(folder.path()).unwrap();
    let report = migrations
        .migrator()
        .lock_timeout(Duration::from_secs(30))
        .upgrade(pool, "head")
        .await
        .unwrap();
    assert_eq!(report.revisions(), ["b2"], "a1 was committed; b2 was not");
    assert_eq!(db.history_rows().await, 2);
    assert!(db.table_exists("t_long").await);
    assert!(!db.lock_left().await);
}

/// A migrator killed inside a `no-transaction` step leaves its row in
/// progress: while it runs, readers that wait (`wait_until_current`,
/// `status`) see a migration under way; once it is gone (no session holds the
/// lock), they say at once that the row needs `resolve`, as a run does,
/// instead of waiting out their timeout for a migrator that will never finish.
async fn killed_in_a_no_transaction_step_is_seen_gone() {
    let Some(db) = fresh(Kind::Postgres).await else { return };
    let Pool::Postgres(pool) = &db.pool else { unreachable!() };
    let folder = one_table_folder();
    let text = "-- b2\n-- revision: b2\n-- down_revision: a1\n-- migrate:no-transaction\n\n-- migrate:upgrade\nINSERT INTO t_a VALUES (1);\nSELECT pg_sleep(30);\nINSERT INTO t_a VALUES (2);\n";
    std::fs::write(folder.path().join("b2_m.sql"), text).unwrap();
    let migrations = migrate::load(folder.path()).unwrap();
    migrations.upgrade(pool, "a1").await.unwrap();
    let mut child = spawn_workers(1, &db.url, folder.path(), Duration::from_secs(30)).remove(0);
    until_running(pool, "%pg_sleep(30)%").await;
    let status = migrations.migrator().status(pool).await.unwrap();
    assert_eq!(
        status.in_progress.len(),
        1,
        "under way while its migrator runs: {status:?}"
    );
    match migrations.wait_until_current(pool, Duration::from_millis(300)).await {
        Err(Error::NotCurrent { in_progress, .. }) => assert_eq!(in_progress.as_deref(), Some("b2")),
        other => panic!("{other:?}"),
    }
    child.kill().unwrap();
    let _ = child.wait();
    // Its server session sleeps on, holding the lock, until ended.
    support::postgres::exec(
        pool,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()",
    )
    .await;
    while !matches!(migrations.migrator().status(pool).await, Err(Error::Dirty { .. })) {
        // The ended session's lock goes with it, as the server cleans up.
        assert!(db.lock_left().await, "no lock left, yet the row reads as under way");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let waited = migrations.wait_until_current(pool, Duration::from_secs(300)).await;
    assert!(
        matches!(&waited, Err(Error::Dirty { revision, .. }) if revision == "b2"),
        "{waited:?}"
    );
}

/// Through PgBouncer, a migrator killed while it holds the lease: the next
/// run waits for the lease to expire, takes it over and finishes, applying
/// nothing twice.
async fn lease_taken_over_after_a_kill() {
    let Some(db) = fresh(Kind::PgBouncer).await else { return };
    let Pool::Postgres(pool) = &db.pool else { unreachable!() };
    let folder = one_table_folder();
    support::postgres::exec(pool, "CREATE TABLE slow_flag (id INTEGER)").await;
    write_migration(
        folder.path(),
        "b2",
        "a1",
        "CREATE TABLE side_effects (migration VARCHAR(16));\nINSERT INTO side_effects VALUES ('b2');\n\
         SELECT pg_sleep(CASE WHEN to_regclass('slow_flag') IS NULL THEN 0 ELSE 30 END);",
        "DROP TABLE side_effects;",
    );
    write_migration(folder.path(), "c3", "b2", "INSERT INTO side_effects VALUES ('c3');", "");
    let ttl = Duration::from_secs(3);
    let mut child = spawn_workers_with(1, &db.url, folder.path(), Duration::from_secs(30), Some(ttl)).remove(0);
    until_running(pool, "%pg_sleep(CASE%").await;
    child.kill().unwrap();
    assert!(!child.wait().unwrap().success());
    let killed_at = Instant::now();
    support::postgres::exec(pool, "DROP TABLE slow_flag").await;
    // The dead migrator's lease row is still there, not expired yet.
    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM migrate_lease")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(held, 1, "the killed process could not give its lease back");
    all_succeed(spawn_workers_with(
        2,
        &db.url,
        folder.path(),
        Duration::from_secs(60),
        Some(ttl),
    ));
    assert!(
        killed_at.elapsed() >= Duration::from_secs(1),
        "nobody took the lease over before it expired"
    );
    assert_eq!(db.history_rows().await, 3);
    assert_eq!(db.count("side_effects").await, 2, "b2 and c3 each applied once");
    assert!(!db.lock_left().await, "no lease left behind");
}

/// A migrator whose lease is taken from it while it runs stops before its
/// next step commits.
async fn lease_lost_stops_before_the_next_step() {
    let Some(db) = fresh(Kind::Postgres).await else { return };
    let Pool::Postgres(pool) = &db.pool else { unreachable!() };
    let folder = one_table_folder();
    write_migration(folder.path(), "b2", "a1", "CREATE TABLE t_b (id INTEGER);", "");
    write_migration(folder.path(), "c3", "b2", "CREATE TABLE t_c (id INTEGER);", "");
    let migrations = migrate::load(folder.path()).unwrap();
    let name: String = sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(pool)
        .await
        .unwrap();
    let (server, _) = support::postgres::server_url()
        .rsplit_once('/')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap();
    let url = format!("{server}/{name}");
    let result = migrations
        .migrator()
        .lock_mode(migrate::LockMode::Lease)
        .on_progress(move |p| {
            if p.migration.revision() == "b2" && p.finished.is_some() {
                // Another migrator "takes over" (the row's owner changed under this one).
                let out = std::process::Command::new("psql")
                    .args([url.as_str(), "-qc", "UPDATE migrate_lease SET owner = 'intruder'"])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            }
        })
        .upgrade(pool, "head")
        .await;
    match result {
        Err(e @ Error::Interrupted { .. }) => {
            let Error::Interrupted { completed, source } = &e else {
                unreachable!()
            };
            assert!(matches!(**source, Error::LeaseLost { .. }), "{e:?}");
            assert_eq!(completed, &["a1", "b2"]);
            let text = e.to_string();
            assert!(
                text.contains("lost its lease") && text.contains("now held by intruder"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(db.table_exists("t_b").await, "what it completed stays done");
    assert!(!db.table_exists("t_c").await, "it stopped before c3 committed");
    assert_eq!(db.history_rows().await, 2);
}

/// A `no-transaction` step, whose statements no transaction fences, checks
/// the lease before each statement after its first: one taken from it
/// part-way stops it there, its row left in progress with the count done.
async fn lease_lost_in_a_no_transaction_step_stops_before_its_next_statement() {
    let Some(db) = fresh(Kind::Postgres).await else { return };
    let Pool::Postgres(pool) = &db.pool else { unreachable!() };
    let folder = one_table_folder();
    // Its first statement plays the migrator that took over.
    std::fs::write(
        folder.path().join("b2_m.sql"),
        "-- revision: b2\n-- down_revision: a1\n-- migrate:no-transaction\n\n-- migrate:upgrade\nUPDATE migrate_lease SET owner = 'intruder';\nCREATE TABLE t_after (id INTEGER);\n",
    )
    .unwrap();
    let migrations = migrate::load(folder.path()).unwrap();
    let result = migrations
        .migrator()
        .lock_mode(migrate::LockMode::Lease)
        .upgrade(pool, "head")
        .await;
    let e = result.expect_err("the lease was lost");
    let Error::Interrupted { completed, source } = &e else {
        panic!("{e:?}")
    };
    assert!(
        matches!(&**source, Error::LeaseLostInStep { revision, done: 1, holder: Some(h), .. } if revision == "b2" && h.contains("intruder")),
        "{e:?}"
    );
    assert_eq!(completed, &["a1"]);
    let text = e.to_string();
    assert!(
        text.contains("stopped before statement 2, statements 1-1 stayed done"),
        "{text}"
    );
    assert!(!db.table_exists("t_after").await, "its next statement never ran");
    let row: (String, Option<i64>) =
        sqlx::query_as("SELECT state, statements_done FROM migrate_history WHERE revision = 'b2'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(row, ("upgrading".to_owned(), Some(1)));
}

/// On a Galera node the advisory lock is refused, saying why; the default picks the lease.
async fn advisory_refused_on_galera() {
    let Some(db) = fresh(Kind::Galera).await else { return };
    let Pool::Mysql(pool) = &db.pool else { unreachable!() };
    let folder = one_table_folder();
    let migrations = migrate::load(folder.path()).unwrap();
    let e = migrations
        .migrator()
        .lock_mode(migrate::LockMode::Advisory)
        .upgrade(pool, "head")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::AdvisoryOnCluster), "{e:?}");
    assert!(e.to_string().contains("wsrep_on is ON"), "{e}");
    assert!(!db.table_exists("t_a").await, "nothing was changed");
    assert_eq!(migrations.upgrade(pool, "head").await.unwrap().revisions(), ["a1"]);
    assert!(!db.lock_left().await, "the lease was given back");
}

// ---------------------------------------------------------------- runner

type Test = (&'static str, fn() -> Pin<Box<dyn Future<Output = ()>>>);

macro_rules! tests {
    ($($name:ident => $body:expr),* $(,)?) => {
        vec![$((stringify!($name), (|| Box::pin($body) as Pin<Box<dyn Future<Output = ()>>>) as fn() -> _)),*]
    };
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    if std::env::var_os("MIGRATE_WORKER").is_some() {
        std::process::exit(runtime.block_on(worker()));
    }
    let tests: Vec<Test> = tests![
        stampede_postgres_empty => stampede(Kind::Postgres, 16, false, None),
        stampede_postgres_from_120 => stampede(Kind::Postgres, 16, false, Some("r0119")),
        stampede_postgres_merge => stampede(Kind::Postgres, 16, true, None),
        stampede_mysql_empty => stampede(Kind::Mysql, 16, false, None),
        stampede_mysql_from_120 => stampede(Kind::Mysql, 16, false, Some("r0119")),
        stampede_mysql_merge => stampede(Kind::Mysql, 16, true, None),
        stampede_pgbouncer_lease => stampede(Kind::PgBouncer, 16, false, None),
        advisory_behind_a_transaction_pooler_pgbouncer => advisory_behind_a_transaction_pooler(),
        lock_held_in_the_same_session_postgres => lock_held_in_the_same_session(),
        stampede_galera_three_nodes => stampede(Kind::Galera, 16, false, None),
        advisory_refused_on_galera => advisory_refused_on_galera(),
        lease_taken_over_after_a_kill_pgbouncer => lease_taken_over_after_a_kill(),
        lease_lost_stops_before_the_next_step_postgres => lease_lost_stops_before_the_next_step(),
        lease_lost_in_a_no_transaction_step_postgres => lease_lost_in_a_no_transaction_step_stops_before_its_next_statement(),
        stampede_sqlite_wal => stampede(Kind::Sqlite(true), 8, false, None),
        stampede_sqlite_rollback_journal => stampede(Kind::Sqlite(false), 8, false, None),
        stampede_sqlite_wal_from_120 => stampede(Kind::Sqlite(true), 8, false, Some("r0119")),
        stampede_sqlite_merge => stampede(Kind::Sqlite(false), 8, true, None),
        history_table_race_postgres => history_table_race(Kind::Postgres),
        history_table_race_mysql => history_table_race(Kind::Mysql),
        history_table_race_sqlite => history_table_race(Kind::Sqlite(true)),
        lock_released_after_failure_postgres => lock_released_after_failure(Kind::Postgres),
        lock_released_after_failure_mysql => lock_released_after_failure(Kind::Mysql),
        lock_released_after_failure_sqlite => lock_released_after_failure(Kind::Sqlite(true)),
        lock_timeout_postgres => lock_timeout(Kind::Postgres),
        lock_timeout_mysql => lock_timeout(Kind::Mysql),
        lock_timeout_sqlite => lock_timeout(Kind::Sqlite(false)),
        stopped_waiting_for_the_lock_postgres => stopped_waiting_for_the_lock(Kind::Postgres),
        stopped_waiting_for_the_lock_mysql => stopped_waiting_for_the_lock(Kind::Mysql),
        stopped_waiting_for_the_lock_sqlite => stopped_waiting_for_the_lock(Kind::Sqlite(false)),
        killed_mid_migration_postgres => killed_mid_migration(),
        killed_in_a_no_transaction_step_postgres => killed_in_a_no_transaction_step_is_seen_gone(),
        fresh_run_larger_than_the_lock_table_postgres => fresh_run_larger_than_the_lock_table(),
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        if !args.iter().any(|a| a == "--ignored") {
            for (name, _) in &tests {
                println!("{name}: test");
            }
        }
        return;
    }
    let exact = args.iter().any(|a| a == "--exact");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let selected = |name: &str| {
        filters.is_empty()
            || filters
                .iter()
                .any(|f| if exact { name == *f } else { name.contains(f.as_str()) })
    };
    let (mut passed, mut failed) = (0, Vec::new());
    for (name, test) in tests.into_iter().filter(|(n, _)| selected(n)) {
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(test())));
        match outcome {
            Ok(()) => {
                passed += 1;
                println!("test {name} ... ok ({:.1?})", started.elapsed());
            }
            Err(_) => {
                failed.push(name);
                println!("test {name} ... FAILED");
            }
        }
    }
    println!();
    if !failed.is_empty() {
        println!("failures: {}", failed.join(", "));
    }
    println!(
        "test result: {}. {passed} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        failed.len()
    );
    println!("{passed} passed, {} failed", failed.len());
    if !failed.is_empty() {
        std::process::exit(101);
    }
}
