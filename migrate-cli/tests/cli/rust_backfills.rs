//! Rust backfills and the three-phase deploy, through `examples/three_phase`
//! (one build playing release 1 and release 2 of a self-migrating
//! application; release 2's backfill is a Rust revision calling
//! `migrate::backfill`).
//!
//! The Rust backfill on SQLite, PostgreSQL and MariaDB over 20,000 rows
//! (40 batches): a job paced mid-way is SIGKILLed, then three more at
//! random moments (the seed is printed), and every row is still written
//! exactly once (a counter column); `--max-duration` stops it between
//! batches, in progress for `current --check`, its batches on the progress
//! lines. The deploy on PostgreSQL and MariaDB: release 1 and release 2
//! start side by side on a fresh database (both start-ups migrating, phase
//! expand) and serve without an error; once release 1 has stopped, the
//! backfill runs from a job while release 2 serves; the contract runs last,
//! and every row release 1 wrote carries its display name.

use crate::backfills::Seeded;
use crate::databases::{mysql, postgres};
use crate::support::{example, example_bin, fails, ok, program, run, unavailable};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ROWS: u64 = 20_000;
const BACKFILL: &str = "3c0000000003";

/// A database and how to reach it with its own client.
struct Server<'a> {
    url: &'a str,
    /// Runs SQL and returns its rows as `a|b` lines.
    query: &'a dyn Fn(&str) -> String,
    /// Fills account with ids 1..=ROWS, named `user <id>`.
    fill: &'a str,
    /// `'User ' || id` in this database's SQL: the display name the backfill writes.
    shown: &'a str,
}

/// `three_phase --release N ARGS…`, waited for.
fn release(n: &str, cwd: &Path) -> assert_cmd::Command {
    let mut cmd = example("three_phase", cwd);
    cmd.args(["--release", n]);
    cmd
}

/// `three_phase --release N ARGS…` started in the background, its output piped.
fn spawn(cwd: &Path, n: &str, args: &[&str]) -> Child {
    Command::new(example_bin("three_phase"))
        .current_dir(cwd)
        .env_remove("DATABASE_URL")
        .env_remove("MIGRATE_CONFIG")
        .args(["--release", n])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Release 2's backfill job, started in the background.
fn spawn_job(cwd: &Path, url: &str, extra: &[&str]) -> Child {
    let mut args = vec!["db", "upgrade", "--phase", "backfill", "--database-url", url];
    args.extend(extra);
    spawn(cwd, "2", &args)
}

/// Kills `child` (SIGKILL) and reaps it.
fn kill(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The Rust backfill killed, bounded, resumed: every row written once.
fn backfill_survives_kills(server: &Server<'_>) {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let url = server.url;
    let db = |args: &[&str]| {
        let mut all = vec!["db"];
        all.extend(args);
        all.extend(["--database-url", url]);
        run(&mut release("2", cwd), &all)
    };
    let said = db(&["upgrade", "--phase", "expand"]);
    assert_eq!(said.code, 0, "{said:?}");
    assert!(
        said.stdout
            .contains("Stopped before 3c0000000003, the first revision of the backfill phase"),
        "{said:?}"
    );
    (server.query)(server.fill);
    let done = || {
        (server.query)("SELECT COUNT(*) FROM account WHERE fills = 1")
            .trim()
            .parse::<u64>()
            .unwrap()
    };

    // Paced, so that it is surely killed part-way: after its first batch, long before its last.
    let job = spawn_job(cwd, url, &["--batch-pause", "300ms"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while done() == 0 {
        assert!(Instant::now() < deadline, "no batch committed within a minute");
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(job);
    let after_first = done();
    assert!(after_first > 0 && after_first < ROWS, "{after_first} rows done");
    assert_eq!(after_first % 500, 0, "only whole batches stay: {after_first} rows");
    let state = (server.query)(&format!(
        "SELECT state FROM migrate_history WHERE revision = '{BACKFILL}'"
    ));
    assert_eq!(state.trim(), "backfilling");

    let mut random = Seeded::from_time("Rust backfill kills");
    for n in 1..=3 {
        let job = spawn_job(cwd, url, &[]);
        let after = 100 + random.below(900);
        std::thread::sleep(Duration::from_millis(after));
        kill(job);
        eprintln!("kill {n} after {after} ms: {} rows done", done());
    }

    // Bounded: at least one batch, then stopped between batches, in progress.
    let said = db(&["upgrade", "--phase", "backfill", "--max-duration", "1ms"]);
    assert_eq!(said.code, 0, "{said:?}");
    let state = (server.query)(&format!(
        "SELECT state FROM migrate_history WHERE revision = '{BACKFILL}'"
    ));
    if state.trim() == "backfilling" {
        assert!(said.stdout.contains("Backfilled "), "{said:?}");
        assert!(said.stdout.contains(" of 40 batches of 3c0000000003: "), "{said:?}");
        assert!(
            said.stdout
                .contains("Stopped between two batches of the backfill 3c0000000003"),
            "{said:?}"
        );
        let check = fails(
            &mut release("2", cwd),
            &["db", "current", "--check", "--database-url", url],
            3,
        );
        assert!(
            check.contains("3c0000000003 in progress: a backfill stopped between batches"),
            "{check}"
        );
        let history = ok(
            &mut release("2", cwd),
            &["db", "history", "--verbose", "--database-url", url],
        );
        assert!(history.contains("(backfill in progress)"), "{history}");
        assert!(history.contains(" of 40 batches, "), "{history}");
    } else {
        // The kills and one more batch left nothing to do.
        assert_eq!(state.trim(), "applied", "{said:?}");
    }

    let said = db(&["upgrade", "--phase", "backfill"]);
    assert_eq!(said.code, 0, "{said:?}");
    assert!(
        said.stdout
            .contains("Stopped before 4d0000000004, the first revision of the contract phase"),
        "{said:?}"
    );
    let check = format!(
        "SELECT COUNT(*), MIN(fills), MAX(fills), SUM(CASE WHEN display_name = {} THEN 1 ELSE 0 END) FROM account",
        server.shown
    );
    assert_eq!(
        (server.query)(&check).trim(),
        format!("{ROWS}|1|1|{ROWS}"),
        "every row written exactly once"
    );
    let rows = (server.query)(&format!(
        "SELECT backfill FROM migrate_history WHERE revision = '{BACKFILL}'"
    ));
    assert!(
        rows.trim().ends_with(&format!(" {ROWS}")),
        "the progress counts the rows: {rows}"
    );
    let said = db(&["upgrade", "head", "-q"]);
    assert_eq!(said.code, 0, "{said:?}");
    let said = db(&["current"]);
    assert_eq!(said.stdout.trim(), "4d0000000004 (head)", "{said:?}");
}

#[test]
fn a_rust_backfill_on_sqlite_survives_kills_and_writes_each_row_once() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("app.db");
    let url = format!("sqlite:{}?mode=rwc", path.display());
    // Polled while a job writes: wait for its write lock rather than fail.
    let query = |sql: &str| {
        program(
            "sqlite3",
            &["-cmd", ".timeout 10000", path.to_str().unwrap(), sql],
            None,
        )
    };
    let fill = format!(
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {ROWS}) INSERT INTO account (id, name) SELECT i, 'user ' || i FROM s"
    );
    backfill_survives_kills(&Server {
        url: &url,
        query: &query,
        fill: &fill,
        shown: "'User ' || id",
    });
}

#[test]
fn a_rust_backfill_on_postgres_survives_kills_and_writes_each_row_once() {
    let Some(server) = postgres::reachable() else { return };
    let db = postgres::db(&server);
    let query = |sql: &str| postgres::psql(&db.url, &["-At", "-c", sql], None);
    let fill = format!("INSERT INTO account (id, name) SELECT i, 'user ' || i FROM generate_series(1, {ROWS}) i");
    backfill_survives_kills(&Server {
        url: &db.url,
        query: &query,
        fill: &fill,
        shown: "'User ' || id",
    });
}

/// MariaDB's URL and client, or `None` (said) when it cannot be reached.
fn mariadb() -> Option<crate::databases::Db> {
    let server = mysql::server();
    if let Err(e) = std::panic::catch_unwind(|| mysql::mysql(&server, &["-e", "SELECT 1"], None)) {
        unavailable("MySQL/MariaDB", &server, format!("{e:?}"));
        return None;
    }
    Some(mysql::db(&server))
}

#[test]
fn a_rust_backfill_on_mariadb_survives_kills_and_writes_each_row_once() {
    let Some(db) = mariadb() else { return };
    let query = |sql: &str| mysql::mysql(&db.url, &["-N", "-B", "-e", sql], None).replace('\t', "|");
    let fill = format!("INSERT INTO account (id, name) SELECT seq, CONCAT('user ', seq) FROM seq_1_to_{ROWS}");
    backfill_survives_kills(&Server {
        url: &db.url,
        query: &query,
        fill: &fill,
        shown: "CONCAT('User ', id)",
    });
}

/// How many requests a serving binary served; it must have exited cleanly.
fn served(child: Child, n: &str) -> u64 {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "release {n} failed: {stdout}{stderr}");
    let count = stdout
        .trim()
        .strip_prefix(&format!("release {n} served "))
        .and_then(|rest| rest.strip_suffix(" requests"))
        .and_then(|c| c.parse().ok());
    count.unwrap_or_else(|| panic!("release {n} said: {stdout}{stderr}"))
}

/// The three phases on a fresh database.
fn three_phase_deploy(server: &Server<'_>) {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let url = server.url;
    example_bin("three_phase");
    let serve = |n: &str, seconds: &str, first: &str| {
        spawn(
            cwd,
            n,
            &[
                "serve",
                "--database-url",
                url,
                "--seconds",
                seconds,
                "--first-id",
                first,
            ],
        )
    };
    // Side by side from the first moment: both start-ups migrate (phase expand), then both serve.
    let old = serve("1", "6", "1");
    let new = serve("2", "6", "10001");
    let (old_served, new_served) = (served(old, "1"), served(new, "2"));
    assert!(
        old_served > 10 && new_served > 10,
        "{old_served} and {new_served} requests"
    );
    let said = ok(&mut release("2", cwd), &["db", "current", "--database-url", url]);
    assert_eq!(said.trim(), "2b0000000002", "expand only, at start-up");
    let waiting = "SELECT COUNT(*) FROM account WHERE display_name IS NULL";
    assert_eq!((server.query)(waiting).trim(), old_served.to_string());

    // Release 1 is gone; the backfill runs from a job while release 2 serves.
    let new = serve("2", "4", "20001");
    std::thread::sleep(Duration::from_millis(500));
    let job = run(
        &mut release("2", cwd),
        &["db", "upgrade", "--phase", "backfill", "--database-url", url],
    );
    assert_eq!(job.code, 0, "{job:?}");
    assert!(job.stdout.contains(" batches of 3c0000000003: "), "{job:?}");
    let new_served_again = served(new, "2");
    assert_eq!((server.query)(waiting).trim(), "0");

    // The contract last.
    ok(
        &mut release("2", cwd),
        &["db", "upgrade", "head", "-q", "--database-url", url],
    );
    let said = ok(&mut release("2", cwd), &["db", "current", "--database-url", url]);
    assert_eq!(said.trim(), "4d0000000004 (head)");
    let name = (server.query)(
        "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'account' AND column_name = 'name'",
    );
    assert_eq!(name.trim(), "0", "the contract dropped account.name");
    let check = format!(
        "SELECT COUNT(*), SUM(fills), MAX(fills), SUM(CASE WHEN display_name = {} THEN 1 ELSE 0 END) FROM account",
        server.shown
    );
    let total = old_served + new_served + new_served_again;
    assert_eq!(
        (server.query)(&check).trim(),
        format!("{total}|{old_served}|1|{total}"),
        "every row carried over, release 1's by the backfill, once each"
    );
}

#[test]
fn the_three_phase_deploy_on_postgres() {
    let Some(server) = postgres::reachable() else { return };
    let db = postgres::db(&server);
    let query = |sql: &str| postgres::psql(&db.url, &["-At", "-c", sql], None);
    three_phase_deploy(&Server {
        url: &db.url,
        query: &query,
        fill: "",
        shown: "'User ' || id",
    });
}

#[test]
fn the_three_phase_deploy_on_mariadb() {
    let Some(db) = mariadb() else { return };
    let query = |sql: &str| mysql::mysql(&db.url, &["-N", "-B", "-e", sql], None).replace('\t', "|");
    let schema = db.url.rsplit('/').next().unwrap().split('?').next().unwrap().to_owned();
    // information_schema lists every database's tables: only this one's.
    let scoped = |sql: &str| {
        query(&sql.replace(
            "table_name = 'account'",
            &format!("table_schema = '{schema}' AND table_name = 'account'"),
        ))
    };
    three_phase_deploy(&Server {
        url: &db.url,
        query: &scoped,
        fill: "",
        shown: "CONCAT('User ', id)",
    });
}
