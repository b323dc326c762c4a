//! Backfills (`-- migrate:phase: backfill`, `-- migrate:backfill: t.id
//! batch=N`) through the real binary, as a three-phase deploy: `upgrade
//! --phase expand` stops before the backfill, `upgrade --phase backfill`
//! (a job) runs it in batches, `upgrade` runs the contract revision last.
//! On PostgreSQL and MariaDB over 1,000,000 rows: no transaction is held
//! longer than a batch (a second session's UPDATE of a row the backfill
//! already did does not wait), the job is SIGKILLed three times at random
//! moments (the seed is printed) and every row is still updated exactly
//! once (a counter column), and `--max-duration` stops it between batches,
//! in progress for `current --check`. SQLite: the header's rules, resume,
//! and what `history`, `current` and `downgrade` say of one in progress.

use crate::databases::{mysql, postgres};
use crate::support::{fails, migrate, ok, program, run, unavailable};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EXPAND: &str = "-- add t\n-- revision: a1\n-- down_revision:\n-- migrate:phase: expand\n\n-- migrate:upgrade\nCREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, n INT NOT NULL DEFAULT 0, v BIGINT, old INT);\n\n-- migrate:downgrade\nDROP TABLE t;\n";
const CONTRACT: &str = "-- drop t.old\n-- revision: c3\n-- down_revision: b2\n-- migrate:phase: contract\n\n-- migrate:upgrade\nALTER TABLE t DROP COLUMN old;\n";

/// The backfill revision, `batch` key values a batch.
fn backfill(batch: u64) -> String {
    format!(
        "-- fill t.v\n-- revision: b2\n-- down_revision: a1\n-- migrate:phase: backfill\n-- migrate:backfill: t.id batch={batch}\n\n-- migrate:upgrade\nUPDATE t SET n = n + 1, v = id * 2 WHERE id >= :start AND id < :end;\n"
    )
}

/// A project folder with the three revisions.
fn project(batch: u64) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("migrations");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a1_add_t.sql"), EXPAND).unwrap();
    std::fs::write(dir.join("b2_fill_t_v.sql"), backfill(batch)).unwrap();
    std::fs::write(dir.join("c3_drop_old.sql"), CONTRACT).unwrap();
    tmp
}

/// A small seeded generator (xorshift), so a failure reproduces from its seed.
pub(crate) struct Seeded(u64);

impl Seeded {
    pub(crate) fn from_time(what: &str) -> Seeded {
        let seed = std::env::var("MIGRATE_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("{what}: seed {seed} (MIGRATE_TEST_SEED={seed} repeats it)");
        Seeded(seed)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `migrate upgrade --phase backfill` started in the background.
fn spawn_backfill(cwd: &Path, url: &str, extra: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_migrate"))
        .current_dir(cwd)
        .env_remove("DATABASE_URL")
        .env_remove("MIGRATE_CONFIG")
        .args(["upgrade", "--phase", "backfill", "--database-url", url])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A database and how to reach it with its own client.
struct Server<'a> {
    url: &'a str,
    /// Runs SQL and returns its rows as `a|b` lines.
    query: &'a dyn Fn(&str) -> String,
    /// Fills t with 1..=N server-side.
    fill: &'a str,
    /// A second session's UPDATE of a row, failing if it waits over a second for a lock.
    update_without_waiting: &'a dyn Fn(i64),
}

/// The whole deploy on one server.
fn deploy(server: &Server<'_>) {
    let tmp = project(50_000);
    let cwd = tmp.path();
    let url = server.url;
    let m = || migrate(cwd);
    let said = run(&mut m(), &["upgrade", "--phase", "expand", "--database-url", url]);
    assert_eq!(said.code, 0, "{said:?}");
    assert!(
        said.stdout
            .contains("Stopped before b2, the first revision of the backfill phase"),
        "{}",
        said.stdout
    );
    let started = Instant::now();
    (server.query)(server.fill);
    eprintln!("1,000,000 rows in {:?}", started.elapsed());

    // A job, paced so that it is mid-way while a second session writes rows it already did.
    let mut job = spawn_backfill(cwd, url, &["--batch-pause", "300ms"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while (server.query)("SELECT COUNT(*) FROM t WHERE n = 1").trim() == "0" {
        assert!(Instant::now() < deadline, "no batch committed within a minute");
        std::thread::sleep(Duration::from_millis(50));
    }
    let timed = Instant::now();
    (server.update_without_waiting)(1);
    (server.update_without_waiting)(999_999);
    eprintln!("second session's updates took {:?}", timed.elapsed());
    job.kill().unwrap();
    job.wait().unwrap();

    // Killed at random moments.
    let mut random = Seeded::from_time("backfill kills");
    for kill in 1..=3 {
        let mut job = spawn_backfill(cwd, url, &[]);
        let after = 200 + random.below(1200);
        std::thread::sleep(Duration::from_millis(after));
        job.kill().unwrap();
        job.wait().unwrap();
        let done = (server.query)("SELECT COUNT(*) FROM t WHERE n = 1");
        eprintln!("kill {kill} after {after} ms: {} rows done", done.trim());
    }

    // Bounded: stopped between batches, in progress.
    let said = run(
        &mut m(),
        &[
            "upgrade",
            "--phase",
            "backfill",
            "--max-duration",
            "1ms",
            "--database-url",
            url,
        ],
    );
    let state = (server.query)("SELECT state FROM migrate_history WHERE revision = 'b2'");
    if state.trim() == "backfilling" {
        assert_eq!(said.code, 0, "{said:?}");
        assert!(
            said.stdout.contains("Stopped between two batches of the backfill b2"),
            "{}",
            said.stdout
        );
        let check = fails(&mut m(), &["current", "--check", "--database-url", url], 3);
        assert!(
            check.contains("b2 in progress: a backfill stopped between batches"),
            "{check}"
        );
        let current = run(&mut m(), &["current", "--database-url", url]);
        assert!(current.stderr.contains("b2: a backfill in progress ("), "{current:?}");
    } else {
        // The kills and one more batch left nothing to do.
        assert_eq!(state.trim(), "applied");
    }

    let said = run(&mut m(), &["upgrade", "--phase", "backfill", "--database-url", url]);
    assert_eq!(said.code, 0, "{said:?}");
    assert!(
        said.stdout
            .contains("Stopped before c3, the first revision of the contract phase"),
        "{}",
        said.stdout
    );
    assert_eq!(
        (server.query)("SELECT COUNT(*), MIN(n), MAX(n), SUM(CASE WHEN v = id * 2 THEN 0 ELSE 1 END) FROM t").trim(),
        "1000000|1|1|0",
        "every row updated exactly once"
    );
    ok(&mut m(), &["upgrade", "-q", "--database-url", url]);
    assert_eq!(ok(&mut m(), &["current", "--database-url", url]).trim(), "c3 (head)");
    ok(&mut m(), &["current", "--check", "--database-url", url]);
}

#[test]
fn a_backfill_over_a_million_rows_on_postgres_commits_in_batches_and_survives_kills() {
    let Some(server) = postgres::reachable() else { return };
    let db = postgres::db(&server);
    let query = |sql: &str| postgres::psql(&db.url, &["-At", "-c", sql], None);
    let update = |id: i64| {
        postgres::psql(
            &db.url,
            &[
                "-c",
                &format!("SET lock_timeout = '1s'; UPDATE t SET v = v WHERE id = {id}"),
            ],
            None,
        );
    };
    deploy(&Server {
        url: &db.url,
        query: &query,
        fill: "INSERT INTO t (id) SELECT generate_series(1, 1000000)",
        update_without_waiting: &update,
    });
}

#[test]
fn a_backfill_over_a_million_rows_on_mariadb_commits_in_batches_and_survives_kills() {
    let server = mysql::server();
    if let Err(e) = std::panic::catch_unwind(|| mysql::mysql(&server, &["-e", "SELECT 1"], None)) {
        return unavailable("MySQL/MariaDB", &server, format!("{e:?}"));
    }
    let db = mysql::db(&server);
    let query = |sql: &str| mysql::mysql(&db.url, &["-N", "-B", "-e", sql], None).replace('\t', "|");
    let update = |id: i64| {
        mysql::mysql(
            &db.url,
            &[
                "-e",
                &format!("SET innodb_lock_wait_timeout = 1; UPDATE t SET v = v WHERE id = {id}"),
            ],
            None,
        );
    };
    deploy(&Server {
        url: &db.url,
        query: &query,
        // MariaDB's Sequence engine: the rows made on the server.
        fill: "INSERT INTO t (id) SELECT seq FROM seq_1_to_1000000",
        update_without_waiting: &update,
    });
}

/// The header's rules, through `check`.
#[test]
fn check_refuses_a_backfill_written_wrong() {
    let tmp = project(100);
    let file = tmp.path().join("migrations/b2_fill_t_v.sql");
    let m = || migrate(tmp.path());
    ok(&mut m(), &["check"]);
    for (from, to, said) in [
        ("batch=100", "", "in `-- migrate:backfill:`, `batch=N` is missing"),
        (
            "-- migrate:phase: backfill\n",
            "",
            "`-- migrate:backfill:` in a revision whose phase is not backfill",
        ),
        ("AND id < :end", "", "a backfill's statement does not use `:end`"),
        (
            ";\n",
            ";\nDELETE FROM t;\n",
            "a backfill's upgrade section holds 2 statements",
        ),
    ] {
        std::fs::write(&file, backfill(100).replacen(from, to, 1)).unwrap();
        let e = fails(&mut m(), &["check"], 1);
        assert!(e.contains(said), "{from:?}: {e}");
        assert!(e.contains("--> migrations/b2_fill_t_v.sql:"), "{e}");
    }
}

/// SQLite: the deploy's phases, a backfill bounded by --max-duration and
/// resumed, what the read-only commands say of it meanwhile, and a key that
/// is not an integer.
#[test]
fn a_backfill_on_sqlite_stops_between_batches_and_resumes() {
    let tmp = project(100);
    let cwd = tmp.path();
    let path = cwd.join("app.db");
    let url = format!("sqlite:{}", path.display());
    let url = url.as_str();
    let m = || migrate(cwd);
    let sql = |q: &str| program("sqlite3", &[path.to_str().unwrap(), q], None);
    ok(&mut m(), &["upgrade", "--phase", "expand", "-q", "--database-url", url]);
    sql(
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1050) INSERT INTO t (id) SELECT i FROM s",
    );

    // At least one batch a run: 1ms stops it after the first.
    let said = run(&mut m(), &["upgrade", "--max-duration", "1ms", "--database-url", url]);
    assert_eq!(said.code, 0, "{said:?}");
    assert!(
        said.stdout.contains("Backfilled 1 of 11 batches of b2: 100 rows"),
        "{}",
        said.stdout
    );
    assert!(
        said.stdout.contains("Stopped between two batches of the backfill b2"),
        "{}",
        said.stdout
    );
    assert_eq!(sql("SELECT COUNT(*) FROM t WHERE n = 1").trim(), "100");
    let check = fails(&mut m(), &["current", "--check", "--database-url", url], 3);
    assert!(check.contains("b2 in progress"), "{check}");
    let history = ok(&mut m(), &["history", "--verbose", "--database-url", url]);
    assert!(history.contains("(backfill in progress)"), "{history}");
    assert!(
        history.contains("Backfill: 1 of 11 batches, 100 rows; next key 101 of 1050"),
        "{history}"
    );
    let e = fails(&mut m(), &["downgrade", "base", "--database-url", url], 1);
    assert!(e.contains("revision `b2` is a backfill in progress"), "{e}");

    // Resumed after its last committed batch, then the contract.
    ok(&mut m(), &["upgrade", "-q", "--database-url", url]);
    assert_eq!(
        sql("SELECT COUNT(*), MIN(n), MAX(n), SUM(v = id * 2) FROM t").trim(),
        "1050|1|1|1050"
    );
    assert_eq!(ok(&mut m(), &["current", "--database-url", url]).trim(), "c3 (head)");

    // A key that is not an integer, on a database of its own.
    std::fs::write(
        cwd.join("migrations/a1_add_t.sql"),
        EXPAND.replace("id BIGINT NOT NULL PRIMARY KEY", "id TEXT NOT NULL PRIMARY KEY"),
    )
    .unwrap();
    let path = cwd.join("text_key.db");
    let url = format!("sqlite:{}", path.display());
    let url = url.as_str();
    let sql = |q: &str| program("sqlite3", &[path.to_str().unwrap(), q], None);
    ok(&mut m(), &["upgrade", "--phase", "expand", "-q", "--database-url", url]);
    sql("INSERT INTO t (id) VALUES ('a'), ('b')");
    let e = fails(&mut m(), &["upgrade", "--database-url", url], 1);
    assert!(
        e.contains("backfill `b2` (migrations/b2_fill_t_v.sql) cannot run: its key t.id holds `a`, not an integer"),
        "{e}"
    );
}
