//! `--only-test-db`: a database ready for one test, N = 1,000 migrations, as
//! nextest runs tests: a process per test. Each sample is a release
//! application embedding the migrations ([`rebuild::test_db_app`]), timed from
//! its start to its database answering a first query: `#[migrate::test]`'s
//! support (`migrate::testing::fresh`: a copy of a migrated file on SQLite, a
//! clone of a template on PostgreSQL) beside what `#[sqlx::test]` does for each
//! test (a new database, then sqlx's `Migrator::run` applying every
//! migration), and beside the engine's own floor: its clients copying the
//! migrated database and answering the first query (`cp` then `sqlite3`;
//! `psql -c "CREATE DATABASE … TEMPLATE …"` then `psql`). Dropping each
//! database is not timed.

use crate::measure::{Workload, median, postgres_server};
use crate::rebuild;
use migrate::testing::template_name;
use sqlx::Connection;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Starts `app` with `args` and returns how long it took to print `ready`;
/// then waits for it to finish (untimed: it drops its database).
fn until_ready(app: &Path, args: &[&str]) -> Duration {
    let t = Instant::now();
    let mut child = Command::new(app)
        .args(args)
        .env("MIGRATE_TEST_POSTGRES_URL", postgres_server())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let took = t.elapsed();
    assert!(child.wait().unwrap().success(), "{} {args:?} failed", app.display());
    assert_eq!(line.trim(), "ready", "{} {args:?}", app.display());
    took
}

/// Runs the engine's client commands in turn, timed together.
fn clients(commands: &mut [Command]) -> Duration {
    let t = Instant::now();
    for c in commands.iter_mut() {
        let out = c.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    t.elapsed()
}

fn with_database(url: &str, name: &str) -> String {
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

pub async fn print(n: usize) {
    let w = Workload::new(n).await;
    // Built before anything is timed.
    let app = rebuild::test_db_app(n);
    let reps = 21;
    println!(
        "\n## A database ready for one test, N = {n} migrations, a process per test (median of {reps}; on PostgreSQL in turn; `#[sqlx::test]`'s way: 5 samples on SQLite, 6 on PostgreSQL)\n"
    );
    println!(
        "| database | `#[migrate::test]` (ms) | first test: template built (ms) | `#[sqlx::test]`'s way: new database + `Migrator::run` (ms) | migrate / sqlx | floor: the engine's copy and first query (ms) | migrate / floor |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");

    // SQLite: the template file is made by the first test process, then reused.
    let template = std::env::temp_dir()
        .join("migrate-test")
        .join(format!("{}.db", template_name(&w.ours)));
    let _ = std::fs::remove_file(&template);
    let first_took = until_ready(&app, &["migrate", "sqlite"]);
    assert!(template.exists(), "the first test made {}", template.display());
    let ours: Vec<Duration> = (0..reps).map(|_| until_ready(&app, &["migrate", "sqlite"])).collect();
    let sqlx_way: Vec<Duration> = (0..5)
        .map(|_| {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
            until_ready(&app, &["sqlx", "sqlite", &url])
        })
        .collect();
    let floor: Vec<Duration> = (0..reps)
        .map(|_| {
            let dir = tempfile::tempdir().unwrap();
            let copy = dir.path().join("t.db");
            let mut cp = Command::new("cp");
            cp.arg(&template).arg(&copy);
            let mut query = Command::new("sqlite3");
            query.arg(&copy).arg("SELECT 1");
            clients(&mut [cp, query])
        })
        .collect();
    let (o, s, f) = (median(ours), median(sqlx_way), median(floor));
    println!(
        "| SQLite | {} | {} | {} | {:.3}× | {} (`cp`, `sqlite3`) | {:.2}× |",
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
    // The first test pays for the template: drop any earlier one.
    let tpl = template_name(&w.ours);
    let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{tpl}\" IS_TEMPLATE false"
    )))
    .execute(&mut admin)
    .await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{tpl}\" WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    let first_took = until_ready(&app, &["migrate", "postgres"]);
    // In turn, so that what the server does in the background (writing out the
    // files of dropped databases) weighs on each alike.
    let (mut ours, mut sqlx_way, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..reps {
        ours.push(until_ready(&app, &["migrate", "postgres"]));

        let name = format!("bench_clone_{i}");
        let mut create = Command::new("psql");
        create.args([
            server.as_str(),
            "-qAtc",
            &format!("CREATE DATABASE {name} TEMPLATE \"{tpl}\""),
        ]);
        let mut query = Command::new("psql");
        query.args([with_database(&server, &name).as_str(), "-qAtc", "SELECT 1"]);
        floor.push(clients(&mut [create, query]));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
            .execute(&mut admin)
            .await
            .unwrap();

        if i % 4 == 0 {
            let name = format!("bench_sqlx_test_{i}");
            sqlx_way.push(until_ready(&app, &["sqlx", "postgres", &server, &name]));
        }
    }
    let (o, s, f) = (median(ours), median(sqlx_way), median(floor));
    println!(
        "| PostgreSQL | {} | {} | {} | {:.3}× | {} (`psql -c \"CREATE DATABASE … TEMPLATE …\"`, `psql`) | {:.2}× |",
        ms(o),
        ms(first_took),
        ms(s),
        o.as_secs_f64() / s.as_secs_f64(),
        ms(f),
        o.as_secs_f64() / f.as_secs_f64()
    );
    admin.close().await.ok();
}
