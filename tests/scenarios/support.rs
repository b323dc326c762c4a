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
pub fn unavailable(what: &str, url: &str, e: impl std::fmt::Display) -> Option<std::convert::Infallible> {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{what} is not reachable at {url} in CI: {e}");
    }
    eprintln!(
        "SKIPPED: {what} is not reachable at {url} ({e}); set the URL variable or start the server to run this test"
    );
    None
}

pub mod sqlite {
    use migrate::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use migrate::sqlx::{self, SqlitePool};

    pub const NAME: &str = "sqlite";
    /// Whether a failed migration's DDL is rolled back with it.
    pub const TRANSACTIONAL_DDL: bool = true;

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

    pub async fn table_exists(pool: &SqlitePool, table: &str) -> bool {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?")
            .bind(table)
            .fetch_one(pool)
            .await
            .unwrap()
            == 1
    }

    pub async fn count(pool: &SqlitePool, table: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(pool)
            .await
            .unwrap()
    }

    pub async fn exec(pool: &SqlitePool, sql: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(pool)
            .await
            .unwrap();
    }
}
