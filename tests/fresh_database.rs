//! `#[migrate::test]` on SQLite, PostgreSQL and MySQL/MariaDB: each test gets
//! a database of its own with `tests/fixtures/linear` applied; a passing
//! test's database is dropped, a failing one's kept and named; the
//! PostgreSQL template is built once and cloned; databases left by killed
//! runs are swept by a later run.
//!
//! The servers come from `MIGRATE_TEST_POSTGRES_URL` and
//! `MIGRATE_TEST_MYSQL_URL` (or `DATABASE_URL`, or the local defaults), as
//! for every user of the attribute.

use migrate::sqlx::{self, AssertSqlSafe};
use migrate::testing::{self, Engine};
use std::process::Command;
use std::sync::{Arc, Mutex};

static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/fixtures/linear");
static THREE_BASES: migrate::Migrations = migrate::embed_migrations!("tests/fixtures/three_bases");

/// Runs one `#[ignore]`d test of this binary in a child process; returns its stderr.
fn run_child(test: &str) -> (bool, String) {
    run_child_with(test, &[])
}

/// [`run_child`] with more environment variables.
fn run_child_with(test: &str, env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", test, "--nocapture", "--test-threads=1"])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The name after "its database is kept: " in a failed test's stderr.
fn kept_name(stderr: &str, test: &str) -> String {
    let needle = format!("#[migrate::test] fresh_database::{test} failed; its database is kept: ");
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix(needle.as_str()))
        .unwrap_or_else(|| panic!("no kept database named in:\n{stderr}"));
    line.trim().to_owned()
}

/// What the suite needs of each database beyond the attribute itself.
macro_rules! suite {
    ($db:ident, $pool:ty, $conn:ty, $engine:expr) => {
        mod $db {
            use super::*;
            use $crate::engines::$db::*;

            async fn count(pool: &$pool, sql: &str) -> i64 {
                sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql.to_owned()))
                    .fetch_one(pool)
                    .await
                    .unwrap()
            }

            #[migrate::test]
            async fn the_migrations_are_applied(pool: $pool) {
                assert_eq!(
                    count(&pool, "SELECT COUNT(*) FROM migrate_history WHERE revision <> ''").await,
                    4
                );
                assert_eq!(count(&pool, "SELECT COUNT(*) FROM item").await, 0);
                // A data migration's row is there too.
                assert_eq!(
                    count(&pool, "SELECT COUNT(*) FROM account WHERE name = 'first'").await,
                    1
                );
                assert_eq!(MIGRATIONS.current(&pool).await.unwrap(), ["4000dd"]);
            }

            #[migrate::test]
            async fn a_connection_works_too(mut conn: $conn) {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM migrate_history WHERE revision <> ''")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
                assert_eq!(n, 4);
            }

            #[migrate::test(migrations = crate::THREE_BASES)]
            async fn another_list(pool: $pool) {
                assert_eq!(count(&pool, "SELECT COUNT(*) FROM t_z008").await, 1);
                assert_eq!(
                    count(&pool, "SELECT COUNT(*) FROM migrate_history WHERE revision <> ''").await,
                    32
                );
            }

            // Two tests that each write a row and see only theirs: were the
            // database shared, the later count would see both.
            #[migrate::test]
            async fn writes_stay_in_their_test_one(pool: $pool) {
                sqlx::raw_sql("INSERT INTO item (id, account_id) VALUES (1, 1)")
                    .execute(&pool)
                    .await
                    .unwrap();
                assert_eq!(count(&pool, "SELECT COUNT(*) FROM item").await, 1);
            }

            #[migrate::test]
            async fn writes_stay_in_their_test_two(pool: $pool) {
                sqlx::raw_sql("INSERT INTO item (id, account_id) VALUES (2, 1)")
                    .execute(&pool)
                    .await
                    .unwrap();
                assert_eq!(count(&pool, "SELECT COUNT(*) FROM item").await, 1);
            }

            #[migrate::test]
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn under_tokio_test(pool: $pool) {
                let handle = tokio::spawn(async move { count(&pool, "SELECT COUNT(*) FROM item").await });
                assert_eq!(handle.await.unwrap(), 0);
            }

            #[migrate::test]
            async fn returns_a_result(pool: $pool) -> Result<(), sqlx::Error> {
                sqlx::raw_sql("SELECT 1").execute(&pool).await?;
                Ok(())
            }

            #[tokio::test]
            async fn two_databases_differ_and_come_from_one_migration() {
                let a = testing::fresh($engine, &MIGRATIONS).await.unwrap();
                let b = testing::fresh($engine, &MIGRATIONS).await.unwrap();
                assert_ne!(a.name(), b.name());
                // Copies of one migrated template: the same applied_at, to the microsecond.
                let (pa, pb) = (
                    <$pool>::connect(a.url()).await.unwrap(),
                    <$pool>::connect(b.url()).await.unwrap(),
                );
                let (ta, tb) = (applied_at(&pa).await, applied_at(&pb).await);
                assert_eq!(ta.len(), 4);
                assert_eq!(ta, tb);
                pa.close().await;
                pb.close().await;
                a.drop_database().await.unwrap();
                b.drop_database().await.unwrap();
            }

            #[tokio::test]
            async fn a_passing_tests_database_is_dropped() {
                let seen = Arc::new(Mutex::new(String::new()));
                let inside = seen.clone();
                testing::run::<$pool, _, _, _>(&MIGRATIONS, "passes", |pool| async move {
                    let name = current(&pool).await;
                    assert!(exists(&name).await, "{name} exists during the test");
                    *inside.lock().unwrap() = name;
                })
                .await;
                let name = seen.lock().unwrap().clone();
                assert!(!name.is_empty());
                assert!(!exists(&name).await, "{name} was dropped after the test");
            }

            #[tokio::test]
            async fn a_test_returning_err_keeps_its_database() {
                let seen = Arc::new(Mutex::new(String::new()));
                let inside = seen.clone();
                let r: Result<(), &str> =
                    testing::run::<$pool, _, _, _>(&MIGRATIONS, "returns_err", |pool| async move {
                        *inside.lock().unwrap() = current(&pool).await;
                        Err("no")
                    })
                    .await;
                assert_eq!(r, Err("no"));
                let name = seen.lock().unwrap().clone();
                assert!(exists(&name).await, "{name} is kept");
                remove(&name).await;
            }

            #[migrate::test]
            #[ignore = "fails on purpose: run in a child by a_failing_tests_database_is_kept_and_named"]
            async fn fails_on_purpose(pool: $pool) {
                sqlx::raw_sql("INSERT INTO item (id, account_id) VALUES (7, 1)")
                    .execute(&pool)
                    .await
                    .unwrap();
                panic!("failing on purpose");
            }

            #[migrate::test]
            #[should_panic(expected = "panicking as expected")]
            #[ignore = "run in a child by a_should_panic_tests_database_is_dropped"]
            async fn panics_as_expected(pool: $pool) {
                eprintln!("its database: {}", current(&pool).await);
                panic!("panicking as expected");
            }

            /// A `#[should_panic]` test that panics as it expects passes, so its
            /// database is dropped, not kept and reported as a failure.
            #[test]
            fn a_should_panic_tests_database_is_dropped() {
                let test = concat!(stringify!($db), "::panics_as_expected");
                let (passed, stderr) = run_child(test);
                assert!(passed, "{stderr}");
                assert!(!stderr.contains("its database is kept"), "{stderr}");
                let name = stderr
                    .lines()
                    .find_map(|l| l.strip_prefix("its database: "))
                    .unwrap_or_else(|| panic!("no database named in:\n{stderr}"))
                    .trim()
                    .to_owned();
                testing::block_on(async {
                    assert!(!exists(&name).await, "{name} was dropped");
                });
            }

            #[test]
            fn a_failing_tests_database_is_kept_and_named() {
                let test = concat!(stringify!($db), "::fails_on_purpose");
                let (passed, stderr) = run_child(test);
                assert!(!passed, "{stderr}");
                assert!(
                    stderr.contains("failing on purpose"),
                    "the panic is re-raised: {stderr}"
                );
                let name = kept_name(&stderr, test);
                testing::block_on(async {
                    assert!(exists(&name).await, "{name} is kept");
                    // What the test wrote is there to inspect.
                    assert_eq!(rows_of_item(&name).await, 1);
                    remove(&name).await;
                });
            }
        }
    };
}

suite!(sqlite, sqlx::SqlitePool, sqlx::SqliteConnection, Engine::Sqlite);
suite!(postgres, sqlx::PgPool, sqlx::PgConnection, Engine::Postgres);
suite!(mysql, sqlx::MySqlPool, sqlx::MySqlConnection, Engine::Mysql);

/// The PostgreSQL template exists once for the list, complete, and is not
/// rebuilt by later tests.
#[tokio::test]
async fn the_postgres_template_is_built_once_and_reused() {
    let a = testing::fresh(Engine::Postgres, &MIGRATIONS).await.unwrap();
    let template = testing::template_name(&MIGRATIONS);
    let mut admin = engines::postgres::admin().await;
    let (count, is_template): (i64, bool) =
        sqlx::query_as("SELECT COUNT(*), COALESCE(bool_and(datistemplate), false) FROM pg_database WHERE datname = $1")
            .bind(&template)
            .fetch_one(&mut admin)
            .await
            .unwrap();
    assert_eq!((count, is_template), (1, true));
    let oid_sql = "SELECT oid FROM pg_database WHERE datname = $1";
    let before: sqlx::postgres::types::Oid = sqlx::query_scalar(oid_sql)
        .bind(&template)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    let b = testing::fresh(Engine::Postgres, &MIGRATIONS).await.unwrap();
    let after: sqlx::postgres::types::Oid = sqlx::query_scalar(oid_sql)
        .bind(&template)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(after, before, "the same template database, not a rebuilt one");
    a.drop_database().await.unwrap();
    b.drop_database().await.unwrap();
}

/// The SQLite template is one file per list, complete under its name, and a
/// test in another process (nextest runs one per test) copies it rather than
/// migrating again.
#[test]
fn the_sqlite_template_is_made_once_and_reused_by_other_processes() {
    use std::os::unix::fs::MetadataExt;
    let template = std::env::temp_dir()
        .join("migrate-test")
        .join(format!("{}.db", testing::template_name(&MIGRATIONS)));
    let db = testing::block_on(testing::fresh(Engine::Sqlite, &MIGRATIONS)).unwrap();
    let made = std::fs::metadata(&template)
        .expect("the template file is in place")
        .ino();
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "sqlite::the_migrations_are_applied", "--test-threads=1"])
        .output()
        .unwrap();
    assert!(child.status.success(), "{}", String::from_utf8_lossy(&child.stderr));
    assert!(
        String::from_utf8_lossy(&child.stdout).contains("1 passed"),
        "{}",
        String::from_utf8_lossy(&child.stdout)
    );
    let after = std::fs::metadata(&template).unwrap().ino();
    assert_eq!(
        after, made,
        "the same file, not one migrated again and renamed into place"
    );
    testing::block_on(db.drop_database()).unwrap();
}

/// A database left by a killed run (its process gone) or an hour old is
/// dropped by the next run's first test; a kept one of a gone process stays.
#[test]
fn a_later_run_sweeps_what_killed_runs_left() {
    let gone = {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let killed = format!("{}{now}_{gone}_0", testing::PREFIX);
    let old = format!("{}{}_{}_0", testing::PREFIX, now - 7200, std::process::id());
    let kept = format!("{}{now}_{gone}_1", testing::PREFIX);
    // The kept one is made under this live process's name and renamed once
    // marked: a sweep by another test meanwhile never sees it unmarked.
    let marking = format!("{}{now}_{}_9", testing::PREFIX, std::process::id());
    testing::block_on(async {
        let mut admin = engines::postgres::admin().await;
        for name in [&killed, &old, &marking] {
            sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .unwrap();
        }
        sqlx::raw_sql(AssertSqlSafe(format!(
            "COMMENT ON DATABASE {marking} IS 'migrate: kept, a test failed'; ALTER DATABASE {marking} RENAME TO {kept}"
        )))
        .execute(&mut admin)
        .await
        .unwrap();
    });
    // SQLite's files, the same way.
    let dir = std::env::temp_dir().join("migrate-test");
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str| dir.join(name);
    std::fs::write(file(&format!("{killed}.db")), "").unwrap();
    // Its mark first, for the same reason.
    std::fs::write(file(&format!("{kept}.db.kept")), "").unwrap();
    std::fs::write(file(&format!("{kept}.db")), "").unwrap();

    let (passed, stderr) = run_child("postgres::fails_on_purpose");
    assert!(!passed);
    let (passed, sqlite_stderr) = run_child("sqlite::fails_on_purpose");
    assert!(!passed);
    testing::block_on(async {
        assert!(!engines::postgres::exists(&killed).await, "{killed} is swept");
        assert!(!engines::postgres::exists(&old).await, "{old} is swept");
        assert!(engines::postgres::exists(&kept).await, "{kept} is kept");
        engines::postgres::remove(&kept).await;
        engines::postgres::remove(&kept_name(&stderr, "postgres::fails_on_purpose")).await;
    });
    assert!(!file(&format!("{killed}.db")).exists(), "the SQLite file is swept");
    assert!(file(&format!("{kept}.db")).exists(), "the kept SQLite file stays");
    testing::block_on(async {
        engines::sqlite::remove(&file(&format!("{kept}.db")).display().to_string()).await;
        engines::sqlite::remove(&kept_name(&sqlite_stderr, "sqlite::fails_on_purpose")).await;
    });
}

/// A failing test never prints the password of its server's URL, given as
/// `?password=` (which the test-database support once printed in clear) or
/// in the userinfo: neither when its database is kept, nor when the server
/// cannot be reached and the error names the URL.
#[test]
fn a_failing_test_never_prints_its_servers_password() {
    let server = testing::server_url(Engine::Postgres);
    let with_password = format!(
        "{server}{}password=S3cretPw&sslpassword=S3cretKey",
        if server.contains('?') { '&' } else { '?' }
    );
    let (passed, stderr) = run_child_with(
        "postgres::fails_on_purpose",
        &[(testing::POSTGRES_URL_VAR, &with_password)],
    );
    assert!(!passed, "{stderr}");
    assert!(stderr.contains("failing on purpose"), "{stderr}");
    assert!(!stderr.contains("S3cret"), "a password is printed: {stderr}");
    testing::block_on(engines::postgres::remove(&kept_name(
        &stderr,
        "postgres::fails_on_purpose",
    )));

    let unreachable = "postgres://postgres:S3cretPw@127.0.0.1:1/postgres?password=S3cretPw&sslpassword=S3cretKey";
    let (passed, stderr) = run_child_with(
        "postgres::fails_on_purpose",
        &[(testing::POSTGRES_URL_VAR, unreachable)],
    );
    assert!(!passed, "{stderr}");
    assert!(
        stderr.contains("postgres://postgres:***@127.0.0.1:1/postgres?password=***&sslpassword=***"),
        "the URL is named, masked: {stderr}"
    );
    assert!(!stderr.contains("S3cret"), "a password is printed: {stderr}");
}

mod engines {
    use super::*;

    pub mod sqlite {
        use super::*;

        pub async fn current(pool: &sqlx::SqlitePool) -> String {
            sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                .fetch_one(pool)
                .await
                .unwrap()
        }
        pub async fn exists(name: &str) -> bool {
            std::path::Path::new(name).exists()
        }
        pub async fn remove(name: &str) {
            std::fs::remove_file(name).unwrap();
            std::fs::remove_file(format!("{name}.kept")).unwrap();
        }
        pub async fn applied_at(pool: &sqlx::SqlitePool) -> Vec<String> {
            sqlx::query_scalar(
                "SELECT CAST(applied_at AS TEXT) FROM migrate_history WHERE revision <> '' ORDER BY revision",
            )
            .fetch_all(pool)
            .await
            .unwrap()
        }
        pub async fn rows_of_item(name: &str) -> i64 {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{name}")).await.unwrap();
            let n = sqlx::query_scalar("SELECT COUNT(*) FROM item")
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            n
        }
    }

    pub mod postgres {
        use super::*;
        use sqlx::Connection;

        pub async fn admin() -> sqlx::PgConnection {
            sqlx::PgConnection::connect(&testing::server_url(Engine::Postgres))
                .await
                .unwrap()
        }
        pub async fn current(pool: &sqlx::PgPool) -> String {
            sqlx::query_scalar("SELECT current_database()::text")
                .fetch_one(pool)
                .await
                .unwrap()
        }
        pub async fn exists(name: &str) -> bool {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
                .bind(name)
                .fetch_one(&mut admin().await)
                .await
                .unwrap()
                == 1
        }
        pub async fn remove(name: &str) {
            sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
                .execute(&mut admin().await)
                .await
                .unwrap();
        }
        pub async fn applied_at(pool: &sqlx::PgPool) -> Vec<String> {
            sqlx::query_scalar("SELECT applied_at::text FROM migrate_history WHERE revision <> '' ORDER BY revision")
                .fetch_all(pool)
                .await
                .unwrap()
        }
        pub async fn rows_of_item(name: &str) -> i64 {
            let url = testing::server_url(Engine::Postgres);
            let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
            let mut conn = sqlx::PgConnection::connect_with(&options.database(name)).await.unwrap();
            let n = sqlx::query_scalar("SELECT COUNT(*) FROM item")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            conn.close().await.unwrap();
            n
        }
    }

    pub mod mysql {
        use super::*;
        use sqlx::Connection;

        pub async fn admin() -> sqlx::MySqlConnection {
            sqlx::MySqlConnection::connect(&testing::server_url(Engine::Mysql))
                .await
                .unwrap()
        }
        pub async fn current(pool: &sqlx::MySqlPool) -> String {
            sqlx::query_scalar("SELECT CAST(DATABASE() AS CHAR)")
                .fetch_one(pool)
                .await
                .unwrap()
        }
        pub async fn exists(name: &str) -> bool {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?")
                .bind(name)
                .fetch_one(&mut admin().await)
                .await
                .unwrap()
                == 1
        }
        pub async fn remove(name: &str) {
            sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE `{name}`")))
                .execute(&mut admin().await)
                .await
                .unwrap();
        }
        pub async fn applied_at(pool: &sqlx::MySqlPool) -> Vec<String> {
            sqlx::query_scalar(
                "SELECT CAST(applied_at AS CHAR) FROM migrate_history WHERE revision <> '' ORDER BY revision",
            )
            .fetch_all(pool)
            .await
            .unwrap()
        }
        pub async fn rows_of_item(name: &str) -> i64 {
            let n = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM `{name}`.item")))
                .fetch_one(&mut admin().await)
                .await
                .unwrap();
            n
        }
    }
}
