//! `--only-test-db`: a database ready for one test, N = 1,000 migrations.
//! `#[migrate::test]`'s support (`migrate::testing::fresh`: a clone of a
//! template on PostgreSQL, a copy of a migrated file on SQLite) beside what
//! `#[sqlx::test]` does for each test (a new database, then sqlx's
//! `Migrator::run` applying every migration) and beside the engine's own
//! floor for a copy (`psql -c "CREATE DATABASE … TEMPLATE …"`, `cp`). Each
//! sample ends with a pool connected to the database and one query answered,
//! as a test begins; dropping the database is not timed.

use crate::measure::{Workload, median, postgres_server};
use migrate::testing::{Engine, fresh, template_name};
use sqlx::Connection;
use std::time::{Duration, Instant};

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

async fn ready_pg(url: &str) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await.unwrap();
    assert_eq!(one, 1);
    pool.close().await;
}

async fn ready_sqlite(url: &str) {
    let pool = sqlx::SqlitePool::connect(url).await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await.unwrap();
    assert_eq!(one, 1);
    pool.close().await;
}

fn with_database(url: &str, name: &str) -> String {
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

pub async fn print(n: usize) {
    let w = Workload::new(n).await;
    let reps = 21;
    println!(
        "\n## A database ready for one test, N = {n} migrations (median of {reps}; on PostgreSQL in turn; `#[sqlx::test]`'s way: 5 samples on SQLite, 6 on PostgreSQL)\n"
    );
    println!(
        "| database | `#[migrate::test]` (ms) | first test: template built (ms) | `#[sqlx::test]`'s way: new database + `Migrator::run` (ms) | migrate / sqlx | floor: the engine's copy (ms) | migrate / floor |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");

    // SQLite.
    let t = Instant::now();
    let first = fresh(Engine::Sqlite, &w.ours).await.unwrap();
    ready_sqlite(first.url()).await;
    let first_took = t.elapsed();
    let template = first.name().to_owned();
    let mut ours = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        let db = fresh(Engine::Sqlite, &w.ours).await.unwrap();
        ready_sqlite(db.url()).await;
        ours.push(t.elapsed());
        db.drop_database().await.unwrap();
    }
    let mut sqlx_way = Vec::new();
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let t = Instant::now();
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        w.sqlx.run(&pool).await.unwrap();
        let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await.unwrap();
        assert_eq!(one, 1);
        pool.close().await;
        sqlx_way.push(t.elapsed());
    }
    let mut floor = Vec::new();
    for _ in 0..reps {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("t.db");
        let t = Instant::now();
        let out = std::process::Command::new("cp")
            .arg(&template)
            .arg(&copy)
            .output()
            .unwrap();
        assert!(out.status.success());
        ready_sqlite(&format!("sqlite://{}", copy.display())).await;
        floor.push(t.elapsed());
    }
    first.drop_database().await.unwrap();
    let (o, s, f) = (median(ours), median(sqlx_way), median(floor));
    println!(
        "| SQLite | {} | {} | {} | {:.3}× | {} (`cp` of the migrated file) | {:.2}× |",
        ms(o),
        ms(first_took),
        ms(s),
        o.as_secs_f64() / s.as_secs_f64(),
        ms(f),
        o.as_secs_f64() / f.as_secs_f64()
    );

    // PostgreSQL.
    let server = postgres_server();
    if sqlx::PgConnection::connect(&server).await.is_err() {
        eprintln!("PostgreSQL is not reachable at {server}: its row is left out");
        return;
    }
    // SAFETY of the measurement: the first test pays for the template; drop any earlier one.
    let tpl = template_name(&w.ours);
    let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
    let sql = format!("DROP DATABASE IF EXISTS \"{tpl}\" WITH (FORCE)");
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{tpl}\" IS_TEMPLATE false"
    )))
    .execute(&mut admin)
    .await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut admin)
        .await
        .unwrap();
    let t = Instant::now();
    let first = fresh(Engine::Postgres, &w.ours).await.unwrap();
    ready_pg(first.url()).await;
    let first_took = t.elapsed();
    first.drop_database().await.unwrap();
    // In turn, so that what the server does in the background (writing out the
    // files of dropped databases) weighs on each alike.
    let (mut ours, mut sqlx_way, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..reps {
        let t = Instant::now();
        let db = fresh(Engine::Postgres, &w.ours).await.unwrap();
        ready_pg(db.url()).await;
        ours.push(t.elapsed());
        db.drop_database().await.unwrap();

        let name = format!("bench_clone_{i}");
        let t = Instant::now();
        let out = std::process::Command::new("psql")
            .args([
                server.as_str(),
                "-qAtc",
                &format!("CREATE DATABASE {name} TEMPLATE \"{tpl}\""),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        ready_pg(&with_database(&server, &name)).await;
        floor.push(t.elapsed());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
            .execute(&mut admin)
            .await
            .unwrap();

        if i % 4 == 0 {
            let name = format!("bench_sqlx_test_{i}");
            let t = Instant::now();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .unwrap();
            let pool = sqlx::PgPool::connect(&with_database(&server, &name)).await.unwrap();
            w.sqlx.run(&pool).await.unwrap();
            let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await.unwrap();
            assert_eq!(one, 1);
            pool.close().await;
            sqlx_way.push(t.elapsed());
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
                .execute(&mut admin)
                .await
                .unwrap();
        }
    }
    let (o, s, f) = (median(ours), median(sqlx_way), median(floor));
    println!(
        "| PostgreSQL | {} | {} | {} | {:.3}× | {} (`psql -c \"CREATE DATABASE … TEMPLATE …\"`) | {:.2}× |",
        ms(o),
        ms(first_took),
        ms(s),
        o.as_secs_f64() / s.as_secs_f64(),
        ms(f),
        o.as_secs_f64() / f.as_secs_f64()
    );
    admin.close().await.ok();
}
