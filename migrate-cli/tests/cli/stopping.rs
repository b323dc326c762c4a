//! Stopping a deploy: the first SIGTERM (or Ctrl-C) lets the step under way
//! finish and be recorded, gives the lock back and exits 6; a second one
//! ends the process at once, the database rolling the step back. On
//! PostgreSQL, as an orchestrator stopping a pod does it.

use crate::databases::postgres;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A folder of `(id, parent, upgrade)` revisions.
fn folder(cwd: &Path, revisions: &[(&str, &str, &str)]) {
    let dir = cwd.join("migrations");
    std::fs::create_dir_all(&dir).unwrap();
    for (id, parent, up) in revisions {
        std::fs::write(
            dir.join(format!("{id}_step.sql")),
            format!("-- {id}\n-- revision: {id}\n-- down_revision: {parent}\n\n-- migrate:upgrade\n{up}\n"),
        )
        .unwrap();
    }
}

/// A fresh database and a folder of `revisions`, the database upgraded to
/// `r1`; `None` where PostgreSQL cannot be reached (a failure under CI).
fn at_r1(revisions: &[(&str, &str, &str)]) -> Option<(crate::databases::Db, tempfile::TempDir)> {
    let db = postgres::db(&postgres::reachable()?);
    let tmp = tempfile::tempdir().unwrap();
    folder(tmp.path(), revisions);
    let up = ["upgrade", "r1", "--database-url", db.url.as_str()];
    crate::support::ok(&mut crate::support::migrate(tmp.path()), &up);
    Some((db, tmp))
}

/// `migrate ARGS` started in the background, its stderr kept.
fn spawn(cwd: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_migrate"))
        .current_dir(cwd)
        .env_remove("DATABASE_URL")
        .env_remove("MIGRATE_CONFIG")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Waits until a session of the database runs a statement holding `marker`.
fn until_running(url: &str, marker: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let sql = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE '%{marker}%' AND pid <> pg_backend_pid()"
    );
    while postgres::psql(url, &["-Atc", &sql], None).trim() == "0" {
        assert!(Instant::now() < deadline, "`{marker}` never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `name` to `job` and waits for it to end: its exit status, its
/// stderr, and how long it took after the signal.
fn stopped_by(job: Child, name: &str) -> (i32, String, Duration) {
    let signalled = Instant::now();
    signal(&job, name);
    let out = job.wait_with_output().unwrap();
    (
        out.status.code().expect("exited, not killed"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        signalled.elapsed(),
    )
}

fn rows(url: &str) -> String {
    postgres::psql(
        url,
        &[
            "-Atc",
            "SELECT revision || ':' || state FROM migrate_history WHERE revision LIKE 'r%' ORDER BY revision",
        ],
        None,
    )
}

/// Advisory locks held on the database (the migration lock among them).
fn advisory_locks(url: &str) -> String {
    postgres::psql(
        url,
        &[
            "-Atc",
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        ],
        None,
    )
}

const SLOW: &str = "SELECT pg_sleep(1.5);\nCREATE TABLE two (id INT);";

#[test]
fn sigterm_lets_the_step_under_way_finish_then_stops_the_run() {
    let Some((db, tmp)) = at_r1(&[
        ("r1", "", "CREATE TABLE one (id INT);"),
        ("r2", "r1", SLOW),
        ("r3", "r2", "CREATE TABLE three (id INT);"),
    ]) else {
        return;
    };
    let (cwd, url) = (tmp.path(), db.url.as_str());

    let job = spawn(cwd, &["upgrade", "--database-url", url]);
    until_running(url, "pg_sleep(1.5)");
    let (code, stderr, _) = stopped_by(job, "TERM");
    assert_eq!(code, 6, "{stderr}");
    assert!(
        stderr.contains("SIGTERM: the run stops at its next clean point: what is under way finishes and is recorded"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the run stopped, as asked, before revision `r3`; revision `r2` was done before and stays so"),
        "{stderr}"
    );
    assert_eq!(rows(url).trim(), "r1:applied\nr2:applied");
    let three = postgres::psql(url, &["-Atc", "SELECT to_regclass('three') IS NULL"], None);
    assert_eq!(three.trim(), "t", "r3 never ran");
    assert_eq!(advisory_locks(url).trim(), "0", "the lock was given back");

    // The next run goes on from there.
    crate::support::ok(&mut crate::support::migrate(cwd), &["upgrade", "--database-url", url]);
    assert_eq!(rows(url).trim(), "r1:applied\nr2:applied\nr3:applied");
}

#[test]
fn a_second_signal_stops_at_once_and_the_step_is_rolled_back() {
    let Some((db, tmp)) = at_r1(&[
        ("r1", "", "CREATE TABLE one (id INT);"),
        ("r2", "r1", "SELECT pg_sleep(30);\nCREATE TABLE two (id INT);"),
    ]) else {
        return;
    };
    let (cwd, url) = (tmp.path(), db.url.as_str());

    let job = spawn(cwd, &["upgrade", "--database-url", url]);
    until_running(url, "pg_sleep(30)");
    signal(&job, "INT");
    std::thread::sleep(Duration::from_millis(300));
    let (code, stderr, took) = stopped_by(job, "INT");
    assert!(took < Duration::from_secs(20), "it waited for the step");
    assert_eq!(code, 130, "ended as a shell says SIGINT ends a process: {stderr}");
    assert!(stderr.contains("SIGINT, a second signal: stopping at once"), "{stderr}");
    // The server rolls the step's transaction back once its session ends.
    let deadline = Instant::now() + Duration::from_secs(30);
    while advisory_locks(url).trim() != "0" {
        assert!(Instant::now() < deadline, "the session never ended");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(rows(url).trim(), "r1:applied");
    let two = postgres::psql(url, &["-Atc", "SELECT to_regclass('two') IS NULL"], None);
    assert_eq!(two.trim(), "t", "r2 was rolled back");
}

#[test]
fn sigterm_stops_a_backfill_between_batches_and_the_next_run_resumes_it() {
    let Some(server) = postgres::reachable() else { return };
    let db = postgres::db(&server);
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let dir = cwd.join("migrations");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("r1_t.sql"),
        "-- t\n-- revision: r1\n-- down_revision:\n\n-- migrate:upgrade\nCREATE TABLE t (id BIGINT PRIMARY KEY, n INT NOT NULL DEFAULT 0);\nINSERT INTO t (id) SELECT generate_series(1, 1000);\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("r2_fill.sql"),
        "-- fill\n-- revision: r2\n-- down_revision: r1\n-- migrate:phase: backfill\n-- migrate:backfill: t.id batch=100\n\n-- migrate:upgrade\nUPDATE t SET n = n + 1 WHERE id >= :start AND id < :end;\n",
    )
    .unwrap();
    let url = db.url.as_str();
    crate::support::ok(
        &mut crate::support::migrate(cwd),
        &["upgrade", "r1", "--database-url", url],
    );

    // A long pause between batches: the stop does not wait for its end.
    let job = spawn(cwd, &["upgrade", "--batch-pause", "30s", "--database-url", url]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while postgres::psql(url, &["-Atc", "SELECT count(*) FROM t WHERE n = 1"], None).trim() == "0" {
        assert!(Instant::now() < deadline, "no batch committed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (code, stderr, took) = stopped_by(job, "TERM");
    assert!(took < Duration::from_secs(15), "it waited out the pause");
    assert_eq!(code, 6, "{stderr}");
    assert!(
        stderr.contains(
            "between two batches of the backfill `r2`, which stays in progress: the batches it committed are kept"
        ),
        "{stderr}"
    );
    assert_eq!(rows(url).trim(), "r1:applied\nr2:backfilling");
    let done: u32 = postgres::psql(url, &["-Atc", "SELECT count(*) FROM t WHERE n = 1"], None)
        .trim()
        .parse()
        .unwrap();
    assert_eq!(done, 100, "the first batch alone: no batch after the signal");

    crate::support::ok(&mut crate::support::migrate(cwd), &["upgrade", "--database-url", url]);
    assert_eq!(rows(url).trim(), "r1:applied\nr2:applied");
    let counts = postgres::psql(url, &["-Atc", "SELECT n, count(*) FROM t GROUP BY n"], None);
    assert_eq!(counts.trim(), "1|1000", "every row once");
}

#[test]
fn sigterm_between_two_attempts_of_a_step_rolled_back_on_a_lock_timeout_stops_there() {
    let Some((db, tmp)) = at_r1(&[
        ("r1", "", "CREATE TABLE t (id INT);"),
        ("r2", "r1", "ALTER TABLE t ADD COLUMN x INT;"),
        ("r3", "r2", "CREATE TABLE three (id INT);"),
    ]) else {
        return;
    };
    let (cwd, url) = (tmp.path(), db.url.as_str());
    // Another session reads t for a minute: r2's ALTER times out, and is tried again.
    let _reader = postgres::hold(url, "ACCESS SHARE", 60.0);
    let job = spawn(
        cwd,
        &[
            "upgrade",
            "--ddl-lock-timeout",
            "500ms",
            "--lock-attempts",
            "20",
            "--database-url",
            url,
        ],
    );
    until_running(url, "ALTER TABLE t ADD COLUMN x");
    std::thread::sleep(Duration::from_millis(700));
    let (code, stderr, took) = stopped_by(job, "TERM");
    assert!(took < Duration::from_secs(15), "it went on trying");
    assert_eq!(code, 6, "{stderr}");
    assert!(
        stderr.contains("the run stopped, as asked, before revision `r2`; nothing was changed"),
        "{stderr}"
    );
    assert_eq!(rows(url).trim(), "r1:applied");
    assert_eq!(advisory_locks(url).trim(), "0", "the lock was given back");
}

#[test]
fn sigterm_stops_a_fleet_starting_no_new_database() {
    let Some(server) = postgres::reachable() else { return };
    let (first, second) = (postgres::db(&server), postgres::db(&server));
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    folder(
        cwd,
        &[
            ("r1", "", "CREATE TABLE one (id INT);"),
            ("r2", "r1", SLOW),
            ("r3", "r2", "CREATE TABLE three (id INT);"),
        ],
    );
    for db in [&first, &second] {
        crate::support::ok(
            &mut crate::support::migrate(cwd),
            &["upgrade", "r1", "--database-url", &db.url],
        );
    }
    let list = cwd.join("fleet.txt");
    std::fs::write(&list, format!("{}\n{}\n", first.url, second.url)).unwrap();
    let job = spawn(cwd, &["upgrade", "--each", list.to_str().unwrap(), "--jobs", "1"]);
    until_running(&first.url, "pg_sleep(1.5)");
    signal(&job, "TERM");
    let out = job.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(6), "{stdout}{stderr}");
    assert!(
        stdout.contains("STOPPED: the run stopped, as asked, before revision `r3`"),
        "{stdout}"
    );
    assert!(stdout.contains("not run (stopped)"), "{stdout}");
    assert!(
        stderr.contains("2 databases: 0 changed, 0 already at the target, 1 stopped, 0 failed, 1 not run"),
        "{stderr}"
    );
    assert!(stderr.contains("the fleet stopped, as asked"), "{stderr}");
    assert_eq!(rows(&first.url).trim(), "r1:applied\nr2:applied");
    assert_eq!(rows(&second.url).trim(), "r1:applied", "no new database started");
}

#[test]
fn a_signal_before_anything_ran_ends_the_command_at_once() {
    // A server that takes the connection and never answers: the command waits to connect.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("postgres://postgres@{}/none", silent.local_addr().unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    folder(cwd, &[("r1", "", "CREATE TABLE one (id INT);")]);
    let job = spawn(cwd, &["upgrade", "--connect-timeout", "60s", "--database-url", &url]);
    std::thread::sleep(Duration::from_millis(500));
    let (code, stderr, took) = stopped_by(job, "TERM");
    assert!(took < Duration::from_secs(20), "it waited to connect");
    assert_eq!(code, 143, "ended as a shell says SIGTERM ends a process: {stderr}");
    assert!(
        stderr.contains("SIGTERM: nothing was run yet; stopping at once"),
        "{stderr}"
    );
}
