//! `--only-deploy`: what the lease costs an application's start-up beside the
//! advisory lock (PostgreSQL, direct and through PgBouncer), and fleets (1,000 SQLite
//! files, 200 PostgreSQL schemas, one pending migration each) run by the
//! release `migrate` binary at `--jobs 1, 4, 16`, each beside the engine's
//! own client doing the same work in the same shape.

use crate::measure::{self, Fresh, Kind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The one pending migration of a fleet member, and what comes before it.
const BASE: &str = "CREATE TABLE base (id INTEGER PRIMARY KEY);";
const PENDING: &str = "CREATE TABLE pending (id INTEGER PRIMARY KEY, name VARCHAR(40));\nCREATE INDEX pending_name ON pending (name);\nINSERT INTO pending (id, name) VALUES (1, 'one');";

fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |id: &str, down: &str, up: &str, undo: &str| {
        std::fs::write(
            dir.path().join(format!("{id}_m.sql")),
            format!("-- {id}\n-- revision: {id}\n-- down_revision: {down}\n\n-- migrate:upgrade\n{up}\n\n-- migrate:downgrade\n{undo}\n"),
        )
        .unwrap();
    };
    write("p1", "", BASE, "DROP TABLE base;");
    write("p2", "p1", PENDING, "DROP TABLE pending;");
    dir
}

/// The release `migrate` binary beside this one, built if needed.
pub(crate) fn migrate_binary() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "-p", "migrate-cli"])
        .status()
        .unwrap();
    assert!(status.success(), "building the migrate binary failed");
    std::env::current_exe().unwrap().parent().unwrap().join("migrate")
}

/// Runs `count` commands, `jobs` at a time, and returns how long all took.
fn run_many(count: usize, jobs: usize, mut command: impl FnMut(usize) -> Command) -> Duration {
    let t = Instant::now();
    let mut running = Vec::new();
    for i in 0..count {
        if running.len() >= jobs {
            let child: std::process::Child = running.remove(0);
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        running.push(
            command(i)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    for child in running {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    t.elapsed()
}

fn timed(mut cmd: Command) -> Duration {
    let t = Instant::now();
    let out = cmd.output().unwrap();
    let took = t.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    took
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

pub async fn print() {
    let bin = migrate_binary();
    let dir = folder();
    let postgres = sqlx::PgPool::connect(&measure::postgres_server()).await.is_ok();
    if postgres {
        lock_modes().await;
    } else {
        eprintln!("PostgreSQL is not reachable: the lock modes and the schema fleet are left out");
    }
    sqlite_fleet(&bin, dir.path(), 1_000).await;
    if postgres {
        schema_fleet(&bin, dir.path(), 200).await;
    }
}

/// The child of [`lock_modes`]: an application starting up, built in release
/// as a user builds it, calling `upgrade` in a lock mode.
pub async fn start_up_child(args: &[String]) {
    let (mode, target, dir, url) = (&args[0], &args[1], &args[2], &args[3]);
    if args.len() > 4 {
        crate::count::record();
    }
    let migrations = migrate::load(dir).unwrap();
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let mode = if mode == "lease" {
        migrate::LockMode::Lease
    } else {
        migrate::LockMode::Advisory
    };
    migrations
        .migrator()
        .lock_mode(mode)
        .upgrade(&pool, target.as_str())
        .await
        .unwrap();
    pool.close().await;
    if let Some(script) = args.get(4) {
        std::fs::write(script, crate::count::script()).unwrap();
    }
}

/// Start-up of an up-to-date database (100 revisions): an application (this
/// release binary) calling `upgrade head` (the hot path: one statement, no lock,
/// in either mode), and a run that takes the lock with nothing to do (`upgrade
/// <head id>`), advisory and lease, direct and through PgBouncer; each beside
/// `psql` sending the very statements that run sent (recorded from its
/// `migrate::sql` log), each as the run sent it.
async fn lock_modes() {
    let history = tempfile::tempdir().unwrap();
    crate::generate::ours(history.path(), 100);
    let db = Fresh::new(Kind::Postgres).await;
    let dir = history.path().to_str().unwrap().to_owned();
    let migrations = migrate::load(history.path()).unwrap();
    let head = migrations.iter().last().unwrap().revision().to_owned();
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    migrations.upgrade(&pool, "head").await.unwrap();
    pool.close().await;
    let mut routes = vec![("direct", db.url.clone())];
    match std::env::var("MIGRATE_TEST_PGBOUNCER_URL") {
        Ok(url) => {
            let (server, _) = url.rsplit_once('/').unwrap();
            let name = db.url.rsplit('/').next().unwrap();
            routes.push(("PgBouncer (transaction pooling)", format!("{server}/{name}")));
        }
        Err(_) => eprintln!("MIGRATE_TEST_PGBOUNCER_URL is unset: start .ci/engines/pgbouncer to measure through it"),
    }
    let scripts = tempfile::tempdir().unwrap();
    let app = std::env::current_exe().unwrap();
    let start_up = |mode: &str, target: &str, url: &str, script: Option<&Path>| {
        let mut cmd = Command::new(&app);
        cmd.args(["--child", "start-up", mode, target, &dir, url]);
        if let Some(script) = script {
            cmd.arg(script);
        }
        cmd
    };
    const REPS: usize = 41;
    println!(
        "\n## Start-up with the lease beside the advisory lock (PostgreSQL, 100 revisions, up to date; whole process, median of {REPS})\n"
    );
    println!(
        "| route | `upgrade head`, either mode (ms) | its floor (ms) | locked no-op, advisory (ms) | its floor (ms) | locked no-op, lease (ms) | its floor (ms) | lease / advisory | lease / its floor |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (route, url) in &routes {
        // Each run once, recording the statements it sends, for psql to send the same.
        let runs = [
            ("advisory", "head"),
            ("advisory", head.as_str()),
            ("lease", head.as_str()),
        ];
        let mut floors = Vec::new();
        for (k, (mode, target)) in runs.iter().enumerate() {
            let script = scripts.path().join(format!("run{k}.sql"));
            timed(start_up(mode, target, url, Some(&script)));
            floors.push(script);
        }
        let mut samples: [Vec<Duration>; 6] = Default::default();
        for _ in 0..REPS {
            // In turn, so the machine's other work weighs on each alike.
            for (k, (mode, target)) in runs.iter().enumerate() {
                samples[2 * k].push(timed(start_up(mode, target, url, None)));
                let mut floor = Command::new("psql");
                floor
                    .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f"])
                    .arg(&floors[k]);
                samples[2 * k + 1].push(timed(floor));
            }
        }
        let m: Vec<Duration> = samples.into_iter().map(measure::median).collect();
        println!(
            "| {route} | {} | {} | {} | {} | {} | {} | {:.2}× | {:.2}× |",
            ms(m[0]),
            ms(m[1]),
            ms(m[2]),
            ms(m[3]),
            ms(m[4]),
            ms(m[5]),
            m[4].as_secs_f64() / m[2].as_secs_f64(),
            m[4].as_secs_f64() / m[5].as_secs_f64()
        );
    }
    db.drop_now().await;
}

/// `count` SQLite files at `p1`, one pending migration each: the binary's
/// `upgrade --each` at `--jobs 1, 4, 16`, beside `sqlite3` applying the same
/// SQL with its history row in one transaction per file, as many at a time.
async fn sqlite_fleet(bin: &Path, dir: &Path, count: usize) {
    let shm = if Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm")
    } else {
        tempfile::tempdir()
    }
    .unwrap();
    let urls: Vec<String> = (0..count)
        .map(|i| format!("sqlite://{}?mode=rwc", shm.path().join(format!("t{i}.db")).display()))
        .collect();
    let floor_files: Vec<PathBuf> = (0..count).map(|i| shm.path().join(format!("floor{i}.db"))).collect();
    let list = shm.path().join("fleet.txt");
    std::fs::write(&list, urls.join("\n")).unwrap();
    let migrations = migrate::load(dir).unwrap();
    let pools: Vec<sqlx::SqlitePool> = {
        let mut v = Vec::new();
        for u in &urls {
            v.push(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect(u)
                    .await
                    .unwrap(),
            );
        }
        v
    };
    for p in &pools {
        migrations.upgrade(p, "p1").await.unwrap();
    }
    for f in &floor_files {
        let out = Command::new("sqlite3")
            .arg(f)
            .arg(format!(
                "CREATE TABLE floor_history (revision TEXT PRIMARY KEY);\n{BASE}"
            ))
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    let floor_sql = format!("BEGIN IMMEDIATE;\n{PENDING}\nINSERT INTO floor_history VALUES ('p2');\nCOMMIT;");
    println!("\n## A fleet of {count} SQLite files, one pending migration each (whole run, one sample per row)\n");
    println!(
        "| --jobs | `migrate upgrade --each` (s) | databases/s | floor: `sqlite3` per file (s) | databases/s | migrate / floor |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for jobs in [1usize, 4, 16] {
        let mut cmd = Command::new(bin);
        cmd.args([
            "--dir",
            dir.to_str().unwrap(),
            "upgrade",
            "--each",
            list.to_str().unwrap(),
            "--jobs",
            &jobs.to_string(),
            "-q",
        ]);
        let ours = timed(cmd);
        let floor = run_many(count, jobs, |i| {
            let mut c = Command::new("sqlite3");
            c.args(["-bail"]).arg(&floor_files[i]).arg(&floor_sql);
            c
        });
        println!(
            "| {jobs} | {:.2} | {:.0} | {:.2} | {:.0} | {:.2}× |",
            ours.as_secs_f64(),
            count as f64 / ours.as_secs_f64(),
            floor.as_secs_f64(),
            count as f64 / floor.as_secs_f64(),
            ours.as_secs_f64() / floor.as_secs_f64()
        );
        // Back to one pending migration each, untimed.
        for p in &pools {
            migrations.downgrade(p, "p1").await.unwrap();
        }
        run_many(count, 16, |i| {
            let mut c = Command::new("sqlite3");
            c.arg(&floor_files[i])
                .arg("DROP TABLE pending; DELETE FROM floor_history;");
            c
        });
    }
    for p in pools {
        p.close().await;
    }
}

/// `count` schemas of one PostgreSQL database, at `p1`: the binary's
/// `upgrade --schemas` at `--jobs 1, 4, 16`, beside `psql` applying the same
/// SQL with its history row in one transaction per schema, as many at a time.
async fn schema_fleet(bin: &Path, dir: &Path, count: usize) {
    let db = Fresh::new(Kind::Postgres).await;
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let mut setup = String::new();
    for i in 0..count {
        setup.push_str(&format!(
            "CREATE SCHEMA tenant_{i:04}; CREATE SCHEMA floor_{i:04}; CREATE TABLE floor_{i:04}.floor_history (revision TEXT PRIMARY KEY); CREATE TABLE floor_{i:04}.base (id INTEGER PRIMARY KEY);\n"
        ));
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(setup)).execute(&pool).await.unwrap();
    let migrations = migrate::load(dir).unwrap();
    for e in migrations
        .migrator()
        .upgrade_schemas(&pool, "tenant\\_%", "p1", 8)
        .await
        .unwrap()
    {
        assert!(!e.failed(), "{}", e.database);
    }
    println!(
        "\n## A fleet of {count} PostgreSQL schemas, one pending migration each (whole run, one sample per row)\n"
    );
    println!(
        "| --jobs | `migrate upgrade --schemas` (s) | schemas/s | floor: `psql` per schema (s) | schemas/s | migrate / floor |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for jobs in [1usize, 4, 16] {
        let mut cmd = Command::new(bin);
        cmd.args([
            "--dir",
            dir.to_str().unwrap(),
            "--database-url",
            &db.url,
            "upgrade",
            "--schemas",
            "tenant\\_%",
            "--jobs",
            &jobs.to_string(),
            "-q",
        ]);
        let ours = timed(cmd);
        let floor = run_many(count, jobs, |i| {
            // One simple query, as `migrate` sends a step: the transaction and its history row.
            let sql = format!(
                "SET search_path TO floor_{i:04}; BEGIN; {PENDING} INSERT INTO floor_history VALUES ('p2'); COMMIT"
            );
            let mut c = Command::new("psql");
            c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &db.url, "-c", &sql]);
            c
        });
        println!(
            "| {jobs} | {:.2} | {:.0} | {:.2} | {:.0} | {:.2}× |",
            ours.as_secs_f64(),
            count as f64 / ours.as_secs_f64(),
            floor.as_secs_f64(),
            count as f64 / floor.as_secs_f64(),
            ours.as_secs_f64() / floor.as_secs_f64()
        );
        let mut reset = String::new();
        for i in 0..count {
            reset.push_str(&format!(
                "DROP TABLE floor_{i:04}.pending; DELETE FROM floor_{i:04}.floor_history;\n"
            ));
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(reset)).execute(&pool).await.unwrap();
        let schemas = migrate::fleet::schemas_like(&pool, "tenant\\_%").await.unwrap();
        for s in schemas {
            let mut conn = pool.acquire().await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET search_path TO {s}")))
                .execute(&mut *conn)
                .await
                .unwrap();
            migrations
                .migrator()
                .history_schema(&s)
                .downgrade(&mut conn, "p1")
                .await
                .unwrap();
            sqlx::raw_sql("RESET search_path").execute(&mut *conn).await.unwrap();
        }
    }
    pool.close().await;
    db.drop_now().await;
}
