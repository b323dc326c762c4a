//! Per-database test support: a fresh, empty database per test, and the few
//! queries the scenarios use to look at what migrations did.
//!
//! Servers are found through `MIGRATE_TEST_POSTGRES_URL` and
//! `MIGRATE_TEST_MYSQL_URL` (defaults: the local servers of the CI
//! machine). Under `CI=true` an unreachable server fails the test; on a
//! laptop without the server the test prints that it skipped.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A database name no other test (or test process) uses.
pub fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// An unreachable server: fail in CI, skip loudly elsewhere.
pub fn unavailable(what: &str, url: &str, e: impl std::fmt::Display) {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{what} is not reachable at {url} in CI: {e}");
    }
    eprintln!(
        "SKIPPED: {what} is not reachable at {url} ({e}); set the URL variable or start the server to run this test"
    );
}

/// Creates a database of a fresh name on the server `options` reach; `None`
/// (after saying so) when the server is unreachable outside CI.
async fn create_database<C: migrate::sqlx::Connection>(options: &C::Options, what: &str, url: &str) -> Option<String>
where
    for<'c> &'c mut C: migrate::sqlx::Executor<'c>,
{
    let mut conn = match C::connect_with(options).await {
        Ok(c) => c,
        Err(e) => {
            unavailable(what, url, e);
            return None;
        }
    };
    let name = unique_name("migrate_t");
    let sql = format!("CREATE DATABASE {name}");
    migrate::sqlx::raw_sql(migrate::sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    Some(name)
}

/// A pool a test was given (by `#[migrate::test]`), under the `db.pool` name the scenarios use.
pub struct Borrowed<P> {
    pub pool: P,
}

/// The queries the scenarios use that read the same on every database.
macro_rules! same_queries {
    ($pool:ty) => {
        pub async fn count(pool: &$pool, table: &str) -> i64 {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
                .fetch_one(pool)
                .await
                .unwrap()
        }

        /// The history rows of `table`, not counting its digest row.
        pub async fn history_rows(pool: &$pool, table: &str) -> i64 {
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE revision <> ''");
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
                .fetch_one(pool)
                .await
                .unwrap()
        }

        pub async fn exec(pool: &$pool, sql: &str) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(pool)
                .await
                .unwrap();
        }
    };
}
use same_queries;

pub mod sqlite {
    use migrate::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use migrate::sqlx::{self, SqlitePool};

    pub const NAME: &str = "sqlite";
    /// Whether a failed migration's DDL is rolled back with it.
    pub const TRANSACTIONAL_DDL: bool = true;

    /// The pool type of this database.
    pub type Pool = SqlitePool;

    pub struct Db {
        pub pool: SqlitePool,
        pub url: String,
        _dir: tempfile::TempDir,
    }

    pub async fn fresh() -> Option<Db> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let options = SqliteConnectOptions::new().filename(&path).create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .unwrap();
        Some(Db { pool, url, _dir: dir })
    }

    /// The tables of the database (its current schema), by name.
    pub async fn tables(pool: &SqlitePool) -> Vec<String> {
        sqlx::query_scalar::<_, String>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    pub async fn table_exists(pool: &SqlitePool, table: &str) -> bool {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?")
            .bind(table)
            .fetch_one(pool)
            .await
            .unwrap()
            == 1
    }

    super::same_queries!(SqlitePool);
}

/// Drops a test database with the server's own client, best effort (the
/// CI script also drops leftovers before a run).
fn drop_database(program: &str, args: &[&str]) {
    let _ = std::process::Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

pub mod postgres {
    use migrate::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use migrate::sqlx::{self, ConnectOptions, PgPool};
    use std::str::FromStr;

    pub const NAME: &str = "postgres";
    pub const TRANSACTIONAL_DDL: bool = true;
    pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

    pub fn server_url() -> String {
        std::env::var("MIGRATE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
    }

    /// The pool type of this database.
    pub type Pool = PgPool;

    pub struct Db {
        pub pool: PgPool,
        pub url: String,
        pub name: String,
        server: String,
    }

    impl Drop for Db {
        fn drop(&mut self) {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            super::drop_database("psql", &[&self.server, "-c", &sql]);
        }
    }

    /// A new, empty database on the server; `None` (after saying so) when
    /// the server is unreachable outside CI.
    pub async fn fresh() -> Option<Db> {
        let url = server_url();
        let admin = PgConnectOptions::from_str(&url).expect("MIGRATE_TEST_POSTGRES_URL is a valid URL");
        let name = super::create_database::<sqlx::PgConnection>(&admin, "PostgreSQL", &url).await?;
        let options = admin.clone().database(&name);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await
            .unwrap();
        Some(Db {
            pool,
            url: options.to_url_lossy().to_string(),
            name,
            server: url,
        })
    }

    /// The tables of the database (its current schema), by name.
    pub async fn tables(pool: &PgPool) -> Vec<String> {
        sqlx::query_scalar::<_, String>(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    }

    pub async fn table_exists(pool: &PgPool, table: &str) -> bool {
        sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL")
            .bind(table)
            .fetch_one(pool)
            .await
            .unwrap()
    }

    super::same_queries!(PgPool);
}

pub mod mysql {
    use migrate::sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
    use migrate::sqlx::{self, ConnectOptions, MySqlPool};
    use std::str::FromStr;

    pub const NAME: &str = "mysql";
    /// MySQL and MariaDB commit DDL implicitly.
    pub const TRANSACTIONAL_DDL: bool = false;
    pub const DEFAULT_URL: &str = "mysql://root@127.0.0.1:3306/test";

    pub fn server_url() -> String {
        std::env::var("MIGRATE_TEST_MYSQL_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
    }

    /// The pool type of this database.
    pub type Pool = MySqlPool;

    pub struct Db {
        pub pool: MySqlPool,
        pub url: String,
        pub name: String,
        admin: MySqlConnectOptions,
    }

    impl Drop for Db {
        fn drop(&mut self) {
            let url = self.admin.to_url_lossy();
            let host = url.host_str().unwrap_or("127.0.0.1").to_owned();
            let port = url.port().unwrap_or(3306).to_string();
            let user = if url.username().is_empty() {
                "root".to_owned()
            } else {
                url.username().to_owned()
            };
            let mut args = vec!["-h".to_owned(), host, "-P".to_owned(), port, "-u".to_owned(), user];
            if let Some(p) = url.password() {
                args.push(format!("-p{p}"));
            }
            args.extend(["-e".to_owned(), format!("DROP DATABASE IF EXISTS {}", self.name)]);
            super::drop_database("mysql", &args.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }

    pub async fn fresh() -> Option<Db> {
        let url = server_url();
        let admin = MySqlConnectOptions::from_str(&url).expect("MIGRATE_TEST_MYSQL_URL is a valid URL");
        let name = super::create_database::<sqlx::MySqlConnection>(&admin, "MySQL/MariaDB", &url).await?;
        let options = admin.clone().database(&name);
        let pool = MySqlPoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await
            .unwrap();
        Some(Db {
            pool,
            url: options.to_url_lossy().to_string(),
            name,
            admin,
        })
    }

    /// The tables of the database (its current schema), by name.
    pub async fn tables(pool: &MySqlPool) -> Vec<String> {
        sqlx::query_scalar::<_, String>(
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    }

    pub async fn table_exists(pool: &MySqlPool, table: &str) -> bool {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?",
        )
        .bind(table)
        .fetch_one(pool)
        .await
        .unwrap()
            == 1
    }

    super::same_queries!(MySqlPool);
}

/// Runs `f` and returns its output with every statement the migrator sent
/// meanwhile (its `migrate::sql` log events on this thread).
///
/// One subscriber is installed for the whole process, once, and collects
/// into the calling thread's buffer: per-thread scoped subscribers would
/// race with other tests over tracing's cached interest in each call site.
pub async fn statements_sent<T>(f: impl std::future::Future<Output = T>) -> (T, Vec<String>) {
    use std::cell::RefCell;
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata};

    thread_local! {
        static SENT: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
    }
    struct Capture;
    struct Message(String);
    impl Visit for Message {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                self.0 = format!("{value:?}");
            }
        }
    }
    impl tracing::Subscriber for Capture {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            metadata.target() == "migrate::sql"
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut m = Message(String::new());
            event.record(&mut m);
            SENT.with(|sent| {
                if let Some(sent) = sent.borrow_mut().as_mut() {
                    sent.push(m.0);
                }
            });
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| tracing::subscriber::set_global_default(Capture).expect("no other global subscriber"));
    SENT.with(|sent| *sent.borrow_mut() = Some(Vec::new()));
    let out = f.await;
    let sent = SENT.with(|sent| sent.borrow_mut().take().unwrap_or_default());
    (out, sent)
}
