//! The runners: ours, sqlx's migrator, and the floor (the same statements
//! sent directly: one request per migration holding its transaction and
//! one history insert), on fresh databases.

use crate::{count, generate};
use migrate::Migrations;
use sqlx::migrate::Migrator;
use sqlx::{AssertSqlSafe, Connection, Executor, PgPool, SqlitePool};
use std::path::Path;
use std::time::{Duration, Instant};

/// Which database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A SQLite file (on /dev/shm when there is one).
    Sqlite,
    /// The PostgreSQL server at `MIGRATE_TEST_POSTGRES_URL`.
    Postgres,
}

/// A fresh database; dropped with it.
pub struct Fresh {
    pub url: String,
    kind: Kind,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

pub fn postgres_server() -> String {
    std::env::var("MIGRATE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn with_database(url: &str, name: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("a database URL with a path");
    format!("{base}/{name}")
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A database name of this benchmark process not used before (`migrate_bench_<pid>_<n>`).
pub fn fresh_name() -> String {
    format!(
        "migrate_bench_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

impl Fresh {
    pub async fn new(kind: Kind) -> Fresh {
        let name = fresh_name();
        match kind {
            Kind::Sqlite => {
                let shm = Path::new("/dev/shm");
                let dir = if shm.is_dir() {
                    tempfile::tempdir_in(shm)
                } else {
                    tempfile::tempdir()
                }
                .unwrap();
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display());
                Fresh {
                    url,
                    kind,
                    name,
                    _dir: Some(dir),
                }
            }
            Kind::Postgres => {
                let server = postgres_server();
                let mut admin = sqlx::PgConnection::connect(&server)
                    .await
                    .expect("the PostgreSQL server is reachable");
                admin
                    .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .unwrap();
                admin.close().await.unwrap();
                Fresh {
                    url: with_database(&server, &name),
                    kind,
                    name,
                    _dir: None,
                }
            }
        }
    }

    pub async fn drop_now(self) {
        if self.kind == Kind::Postgres {
            let mut admin = sqlx::PgConnection::connect(&postgres_server()).await.unwrap();
            let _ = admin
                .execute(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                )))
                .await;
        }
    }
}

/// A pool of one connection, connected.
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

pub async fn pool(url: &str) -> Pool {
    if url.starts_with("sqlite:") {
        Pool::Sqlite(
            sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .connect(url)
                .await
                .unwrap(),
        )
    } else {
        Pool::Postgres(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .connect(url)
                .await
                .unwrap(),
        )
    }
}

impl Pool {
    pub async fn ours_upgrade(&self, m: &Migrations) -> usize {
        match self {
            Pool::Sqlite(p) => m.upgrade(p, "head").await,
            Pool::Postgres(p) => m.upgrade(p, "head").await,
        }
        .unwrap()
        .steps
        .len()
    }

    pub async fn ours_downgrade(&self, m: &Migrations) -> usize {
        match self {
            Pool::Sqlite(p) => m.downgrade(p, "base").await,
            Pool::Postgres(p) => m.downgrade(p, "base").await,
        }
        .unwrap()
        .steps
        .len()
    }

    pub async fn sqlx_run(&self, m: &Migrator) {
        match self {
            Pool::Sqlite(p) => m.run(p).await,
            Pool::Postgres(p) => m.run(p).await,
        }
        .unwrap()
    }

    pub async fn sqlx_undo(&self, m: &Migrator) {
        match self {
            Pool::Sqlite(p) => m.undo(p, 0).await,
            Pool::Postgres(p) => m.undo(p, 0).await,
        }
        .unwrap()
    }

    async fn exec(&self, sql: String) {
        match self {
            Pool::Sqlite(p) => sqlx::raw_sql(AssertSqlSafe(sql)).execute(p).await.map(drop),
            Pool::Postgres(p) => sqlx::raw_sql(AssertSqlSafe(sql)).execute(p).await.map(drop),
        }
        .unwrap()
    }

    /// Takes the connection and reads one row by key: the floor of any start-up check.
    pub async fn one_query(&self) {
        let sql = "SELECT checksum FROM migrate_history WHERE revision = 'r00000'";
        match self {
            Pool::Sqlite(p) => sqlx::raw_sql(sql).fetch_optional(p).await.map(drop),
            Pool::Postgres(p) => sqlx::raw_sql(sql).fetch_optional(p).await.map(drop),
        }
        .unwrap()
    }

    /// The floor: one request per migration holding its transaction and one history insert.
    pub async fn floor_apply(&self, n: usize) {
        self.exec("CREATE TABLE floor_history (version BIGINT PRIMARY KEY, checksum VARCHAR(80) NOT NULL)".into())
            .await;
        for i in 0..n {
            let sql = format!(
                "BEGIN;\n{}\nINSERT INTO floor_history (version, checksum) VALUES ({i}, 'x');\nCOMMIT;",
                generate::up(i)
            );
            self.exec(sql).await;
        }
    }

    pub async fn floor_downgrade(&self, n: usize) {
        for i in (0..n).rev() {
            let sql = format!(
                "BEGIN;\n{}\nDELETE FROM floor_history WHERE version = {i};\nCOMMIT;",
                generate::down(i)
            );
            self.exec(sql).await;
        }
    }

    /// Rows of the floor's history table.
    pub async fn count_floor_rows(&self) -> i64 {
        self.scalar("SELECT COUNT(*) FROM floor_history").await
    }

    /// Rows of our history table, the digest row aside.
    pub async fn count_history_rows(&self) -> i64 {
        self.scalar("SELECT COUNT(*) FROM migrate_history WHERE revision <> ''")
            .await
    }

    async fn scalar(&self, sql: &'static str) -> i64 {
        match self {
            Pool::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
            Pool::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        }
    }

    pub async fn close(self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// The median of `samples`.
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Both folders for N migrations.
pub struct Workload {
    pub n: usize,
    pub ours: Migrations,
    pub sqlx: Migrator,
    _dir: tempfile::TempDir,
    pub ours_dir: std::path::PathBuf,
    pub sqlx_dir: std::path::PathBuf,
}

impl Workload {
    pub async fn new(n: usize) -> Workload {
        Self::shaped(n, false).await
    }

    /// The same SQL, our files in the several-bases shape (`generate::bases_parents`).
    pub async fn bases(n: usize) -> Workload {
        Self::shaped(n, true).await
    }

    async fn shaped(n: usize, bases: bool) -> Workload {
        let dir = tempfile::tempdir().unwrap();
        let (ours_dir, sqlx_dir) = (dir.path().join("ours"), dir.path().join("sqlx"));
        if bases {
            generate::ours_bases(&ours_dir, n);
        } else {
            generate::ours(&ours_dir, n);
        }
        generate::sqlx(&sqlx_dir, n);
        let ours = migrate::load(&ours_dir).unwrap();
        // As `embed_migrations!` does at build time.
        let _ = ours.applied_digest();
        let sqlx = Migrator::new(sqlx_dir.as_path()).await.unwrap();
        Workload {
            n,
            ours,
            sqlx,
            _dir: dir,
            ours_dir,
            sqlx_dir,
        }
    }
}

/// A no-op start-up on an up-to-date database: median time and statements sent.
pub struct Noop {
    /// The least any check can cost: take the connection, send one query.
    pub floor: Duration,
    pub ours: Duration,
    pub ours_statements: usize,
    pub sqlx: Duration,
    pub sqlx_statements: usize,
}

pub async fn noop(kind: Kind, w: &Workload, reps: usize) -> Noop {
    let (a, b) = (Fresh::new(kind).await, Fresh::new(kind).await);
    let (ours_pool, sqlx_pool) = (pool(&a.url).await, pool(&b.url).await);
    ours_pool.ours_upgrade(&w.ours).await;
    sqlx_pool.sqlx_run(&w.sqlx).await;
    let mut ours = Vec::new();
    let mut sqlx = Vec::new();
    let mut floor = Vec::new();
    let (mut ours_statements, mut sqlx_statements) = (0, 0);
    for _ in 0..reps {
        let t = Instant::now();
        let (done, sent, _) = count::during(ours_pool.ours_upgrade(&w.ours)).await;
        ours.push(t.elapsed());
        assert_eq!(done, 0);
        ours_statements = sent;
        let t = Instant::now();
        let ((), _, sent) = count::during(sqlx_pool.sqlx_run(&w.sqlx)).await;
        sqlx.push(t.elapsed());
        sqlx_statements = sent;
        let t = Instant::now();
        ours_pool.one_query().await;
        floor.push(t.elapsed());
    }
    ours_pool.close().await;
    sqlx_pool.close().await;
    a.drop_now().await;
    b.drop_now().await;
    Noop {
        floor: median(floor),
        ours: median(ours),
        ours_statements,
        sqlx: median(sqlx),
        sqlx_statements,
    }
}

/// Applying and then unapplying all N on a fresh database: median times.
#[derive(Default)]
pub struct Full {
    pub apply: [Duration; 3],
    pub downgrade: [Duration; 3],
}

pub async fn full(kind: Kind, w: &Workload, reps: usize) -> Full {
    let mut apply: [Vec<Duration>; 3] = Default::default();
    let mut downgrade: [Vec<Duration>; 3] = Default::default();
    for _ in 0..reps {
        for (who, runner) in ["ours", "sqlx", "floor"].into_iter().enumerate() {
            let db = Fresh::new(kind).await;
            let p = pool(&db.url).await;
            let t = Instant::now();
            match runner {
                "ours" => assert_eq!(p.ours_upgrade(&w.ours).await, w.n),
                "sqlx" => p.sqlx_run(&w.sqlx).await,
                _ => p.floor_apply(w.n).await,
            }
            apply[who].push(t.elapsed());
            let t = Instant::now();
            match runner {
                "ours" => assert_eq!(p.ours_downgrade(&w.ours).await, w.n),
                "sqlx" => p.sqlx_undo(&w.sqlx).await,
                _ => p.floor_downgrade(w.n).await,
            }
            downgrade[who].push(t.elapsed());
            p.close().await;
            db.drop_now().await;
        }
    }
    let [a0, a1, a2] = apply.map(median);
    let [d0, d1, d2] = downgrade.map(median);
    Full {
        apply: [a0, a1, a2],
        downgrade: [d0, d1, d2],
    }
}

/// The pure load, validate and hash of N files: median time.
pub fn core_load(n: usize, reps: usize) -> Duration {
    load_median(generate::sources(n), n, reps)
}

/// [`core_load`] of the several-bases shape.
pub fn core_load_bases(n: usize, reps: usize) -> Duration {
    load_median(generate::bases_sources(n), n, reps)
}

fn load_median(sources: Vec<migrate_core::load::Source>, n: usize, reps: usize) -> Duration {
    median(
        (0..reps)
            .map(|_| {
                let input = sources.clone();
                let t = Instant::now();
                let list = migrate_core::load::from_sources(input).unwrap();
                let took = t.elapsed();
                assert_eq!(list.len(), n);
                took
            })
            .collect(),
    )
}

/// The engine's own client as the floor: the same SQL in the transaction
/// shape `migrate` uses on that database, written to a script and run by
/// How a floor frames the migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// As `migrate` frames a fresh database: one transaction for the run, and
    /// per migration one request (psql's `\;`) holding a savepoint, the
    /// migration, its history row and the release.
    Migrate,
    /// The same SQL in one transaction with nothing around each migration:
    /// `sqlite3` between `BEGIN` and `COMMIT`, `psql -1` (one request per statement).
    OneTransaction,
}

/// The floors' SQL: the N migrations and a small history row each, in `shape`.
pub fn floor_script(kind: Kind, n: usize, shape: Shape) -> String {
    let mut script =
        String::from("CREATE TABLE floor_history (version BIGINT PRIMARY KEY, checksum VARCHAR(80) NOT NULL);\n");
    let insert = |i: usize| format!("INSERT INTO floor_history (version, checksum) VALUES ({i}, 'x')");
    match (kind, shape) {
        (Kind::Sqlite, Shape::Migrate) => {
            script.push_str("BEGIN IMMEDIATE;\n");
            for i in 0..n {
                script.push_str(&format!(
                    "SAVEPOINT step;\n{}\n{};\nRELEASE step;\n",
                    generate::up(i),
                    insert(i)
                ));
            }
            script.push_str("COMMIT;\n");
        }
        (Kind::Postgres, Shape::Migrate) => {
            script.push_str("BEGIN;\n");
            for i in 0..n {
                let statements = generate::up(i).replace(";\n", " \\;\n");
                script.push_str(&format!(
                    "SAVEPOINT step \\;\n{} \\;\n{} \\;\nRELEASE SAVEPOINT step;\n",
                    statements.trim_end_matches(';'),
                    insert(i)
                ));
            }
            script.push_str("COMMIT;\n");
        }
        (_, Shape::OneTransaction) => {
            if kind == Kind::Sqlite {
                script.push_str("BEGIN IMMEDIATE;\n");
            }
            for i in 0..n {
                script.push_str(&format!("{}\n{};\n", generate::up(i), insert(i)));
            }
            if kind == Kind::Sqlite {
                script.push_str("COMMIT;\n");
            }
        }
    }
    script
}

/// `sqlite3 -bail` or `psql -v ON_ERROR_STOP=1` on a fresh database, timed as a
/// whole process, applying the N migrations and a history row each, in `shape`;
/// the client's error when it cannot (`psql -1` on 10,000 tables fills PostgreSQL's lock table).
pub async fn try_client_floor(kind: Kind, n: usize, shape: Shape) -> Result<Duration, String> {
    let db = Fresh::new(kind).await;
    let script = floor_script(kind, n, shape);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("floor.sql");
    std::fs::write(&file, script).unwrap();
    let mut cmd = match kind {
        Kind::Sqlite => {
            let mut c = std::process::Command::new("sqlite3");
            c.args(["-bail", &sqlite_path(&db.url), &format!(".read {}", file.display())]);
            c
        }
        Kind::Postgres => {
            let mut c = std::process::Command::new("psql");
            c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &db.url]);
            if shape == Shape::OneTransaction {
                c.arg("-1");
            }
            c.arg("-f").arg(&file);
            c
        }
    };
    let t = Instant::now();
    let out = cmd.output().expect("the database's own client runs (sqlite3, psql)");
    let took = t.elapsed();
    if !out.status.success() {
        db.drop_now().await;
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    applied_then_drop(db, n, Rows::Floor).await;
    Ok(took)
}

/// SQLite: the migrations and a small history row each in one plain
/// transaction, run by `sqlite3_exec` of the SQLite library `migrate` links
/// (this binary's `--child exec-sqlite`), timed as a whole process on a fresh
/// database: the same engine build as `migrate`'s, with no client around it.
pub async fn library_floor(n: usize) -> Duration {
    let db = Fresh::new(Kind::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("floor.sql");
    std::fs::write(&file, floor_script(Kind::Sqlite, n, Shape::OneTransaction)).unwrap();
    let t = Instant::now();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--child", "exec-sqlite", &sqlite_path(&db.url)])
        .arg(&file)
        .output()
        .unwrap();
    let took = t.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    applied_then_drop(db, n, Rows::Floor).await;
    took
}

/// `--child exec-sqlite PATH SCRIPT`: opens (creates) the SQLite database at
/// PATH with the library sqlx links and runs SCRIPT with `sqlite3_exec`.
pub fn exec_sqlite(path: &str, script: &Path) {
    use libsqlite3_sys as ffi;
    use std::ffi::CString;
    let path = CString::new(path).unwrap();
    let sql = CString::new(std::fs::read(script).unwrap()).unwrap();
    let mut db = std::ptr::null_mut();
    // SAFETY: NUL-terminated strings; the handle is opened, used and closed here alone.
    unsafe {
        let flags = ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_CREATE;
        assert_eq!(
            ffi::sqlite3_open_v2(path.as_ptr(), &mut db, flags, std::ptr::null()),
            ffi::SQLITE_OK
        );
        let mut error = std::ptr::null_mut();
        let code = ffi::sqlite3_exec(db, sql.as_ptr(), None, std::ptr::null_mut(), &mut error);
        assert_eq!(
            code,
            ffi::SQLITE_OK,
            "{}",
            std::ffi::CStr::from_ptr(error).to_string_lossy()
        );
        ffi::sqlite3_close(db);
    }
}

/// Applies the folder once on a fresh database with the statements recorded
/// (the child's `migrate::sql` log) and returns the script file they make.
pub async fn record_statements(kind: Kind, dir: &Path) -> tempfile::NamedTempFile {
    let db = Fresh::new(kind).await;
    let script = tempfile::NamedTempFile::new().unwrap();
    let run = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--child", "apply-ours", &dir.display().to_string(), &db.url])
        .arg(script.path())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    db.drop_now().await;
    script
}

/// The engine's client sending `script` (what migrate sent) to a fresh
/// database, timed as a whole process. Not stopping at an error: the first
/// statements read a history table that does not exist yet, which the
/// runtime expects to fail; the history rows are counted afterwards.
pub async fn replay(kind: Kind, script: &tempfile::NamedTempFile, n: usize) -> Duration {
    let db = Fresh::new(kind).await;
    let mut cmd = match kind {
        Kind::Sqlite => {
            let mut c = std::process::Command::new("sqlite3");
            c.args([&sqlite_path(&db.url), &format!(".read {}", script.path().display())]);
            c
        }
        Kind::Postgres => {
            let mut c = std::process::Command::new("psql");
            c.args(["-X", "-q", "-d", &db.url, "-f"]).arg(script.path());
            c
        }
    };
    let t = Instant::now();
    let out = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .unwrap();
    let took = t.elapsed();
    assert!(out.status.success() || kind == Kind::Sqlite, "the client failed");
    applied_then_drop(db, n, Rows::History).await;
    took
}

/// Which rows say how many migrations a timed run applied.
enum Rows {
    /// The floors' `floor_history`.
    Floor,
    /// `migrate`'s history table (its digest row aside).
    History,
}

/// Checks that the timed run on `db` applied all `n` migrations, then drops it.
async fn applied_then_drop(db: Fresh, n: usize, rows: Rows) {
    let p = pool(&db.url).await;
    let applied = match rows {
        Rows::Floor => p.count_floor_rows().await,
        Rows::History => p.count_history_rows().await,
    };
    p.close().await;
    assert_eq!(applied, n as i64, "the timed run applied every migration");
    db.drop_now().await;
}

fn sqlite_path(url: &str) -> String {
    url.trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap_or("")
        .to_owned()
}

/// An application that embeds the migrations ([`crate::rebuild::apply_app`])
/// applying all of them to a fresh database, timed as a whole process.
pub async fn app_process(kind: Kind, app: &Path, n: usize) -> Duration {
    let db = Fresh::new(kind).await;
    let t = Instant::now();
    let run = std::process::Command::new(app).arg(&db.url).output().unwrap();
    let took = t.elapsed();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), n.to_string());
    applied_then_drop(db, n, Rows::History).await;
    took
}

/// Peak resident memory (kB) of this process so far.
pub fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse().unwrap_or(0))
        })
        .unwrap_or(0)
}
