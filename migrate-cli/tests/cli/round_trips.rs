//! `migrate test`: every revision's downgrade proven on a scratch database,
//! a broken one named with what it leaves behind.

use crate::support::{Ran, fails, migrate, ok, program, run};
use std::path::Path;

fn write(cwd: &Path, id: &str, parent: &str, up: &str, down: &str) {
    std::fs::create_dir_all(cwd.join("migrations")).unwrap();
    std::fs::write(
        cwd.join("migrations").join(format!("{id}_m.sql")),
        format!("-- {id} step\n-- revision: {id}\n-- down_revision: {parent}\n\n-- migrate:upgrade\n{up}\n\n-- migrate:downgrade\n{down}\n"),
    )
    .unwrap();
}

fn project(cwd: &Path, r2_down: &str) {
    write(
        cwd,
        "r1",
        "",
        "CREATE TABLE item (id INTEGER PRIMARY KEY);",
        "DROP TABLE item;",
    );
    write(cwd, "r2", "r1", "ALTER TABLE item ADD COLUMN size INTEGER;", r2_down);
}

#[test]
fn a_broken_downgrade_is_named_with_what_it_leaves() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd, "SELECT 1;");
    let r = run(&mut migrate(cwd), &["test", "--dialect", "sqlite"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("ok          r1 r1 step"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("BROKEN      r2 r2 step: its downgrade does not restore the schema:"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("Detected added column \"item\".\"size\""),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("1 revision(s) do not round-trip"), "{}", r.stderr);

    project(cwd, "ALTER TABLE item DROP COLUMN size;");
    let stdout = ok(&mut migrate(cwd), &["test", "--dialect", "sqlite"]);
    assert!(
        stdout.contains("ok          r2") && stdout.contains("base: downgrading everything leaves the empty database"),
        "{stdout}"
    );
}

#[test]
fn a_database_that_holds_a_schema_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd, "ALTER TABLE item DROP COLUMN size;");
    let db = cwd.join("app.db");
    program(
        "sqlite3",
        &[db.to_str().unwrap(), "CREATE TABLE precious (id INTEGER);"],
        None,
    );
    let url = format!("sqlite:{}", db.display());
    let e = fails(&mut migrate(cwd), &["test", "--database-url", &url], 1);
    assert!(
        e.contains("the database is not empty (it holds table \"precious\")") && e.contains("scratch"),
        "{e}"
    );
    let left = program("sqlite3", &[db.to_str().unwrap(), ".tables"], None);
    assert_eq!(left.trim(), "precious", "nothing ran");
    let e = fails(&mut migrate(cwd), &["test"], 2);
    assert!(e.contains("--dev-database-url"), "{e}");
}

fn postgres() -> String {
    std::env::var("MIGRATE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The scratch databases the process `pid` left on the server (named
/// `migrate_scratch_<secs>_<pid>_<n>`): other tests make their own meanwhile.
fn scratch_databases(url: &str, pid: u32) -> String {
    let sql = format!("SELECT count(*) FROM pg_database WHERE datname LIKE 'migrate\\_scratch\\_%\\_{pid}\\_%'");
    program("psql", &[url, "-Atc", &sql], None).trim().to_owned()
}

/// `migrate` run in `cwd` as [`run`] runs it, and the process id its scratch databases are named after.
fn run_with_pid(cwd: &Path, args: &[&str]) -> (Ran, u32) {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_migrate"))
        .current_dir(cwd)
        .env_remove("DATABASE_URL")
        .env_remove("MIGRATE_CONFIG")
        .env_remove("NO_COLOR")
        .env("RUST_BACKTRACE", "0")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let r = Ran {
        code: out.status.code().expect("exited, not killed by a signal"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    };
    (r, pid)
}

#[test]
fn on_postgres_the_scratch_database_is_made_and_dropped() {
    let url = postgres();
    if std::process::Command::new("psql")
        .args([url.as_str(), "-Atc", "select 1"])
        .output()
        .map_or(true, |o| !o.status.success())
    {
        assert!(
            std::env::var("CI").is_err(),
            "PostgreSQL is not reachable at {url} in CI"
        );
        eprintln!("SKIPPED: PostgreSQL is not reachable at {url}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd, "SELECT 1;");
    let (r, pid) = run_with_pid(cwd, &["test", "--dev-database-url", &url]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("Detected added column \"item\".\"size\""),
        "{}",
        r.stdout
    );
    assert_eq!(
        scratch_databases(&url, pid),
        "0",
        "the scratch database is dropped, also when the test fails"
    );

    // Autogenerate on PostgreSQL: the dialect from the dev server, the same scratch discipline.
    project(cwd, "ALTER TABLE item DROP COLUMN size;");
    std::fs::write(cwd.join("schema.sql"), "CREATE TABLE item (id integer PRIMARY KEY, size integer, label text NOT NULL DEFAULT '');\nCREATE DOMAIN positive AS integer CHECK (VALUE > 0);\n").unwrap();
    let (r, pid) = run_with_pid(
        cwd,
        &["revision", "--autogenerate", "-m", "label", "--dev-database-url", &url],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("Detected added column \"item\".\"label\""),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Not generated: domain \"positive\""), "{}", r.stderr);
    let written = std::fs::read_to_string(cwd.join(r.stdout.trim())).unwrap();
    assert!(
        written.contains("ALTER TABLE item ADD COLUMN label text DEFAULT ''::text NOT NULL"),
        "{written}"
    );
    // The domain is still a difference: the gate fails on it, by name.
    assert_eq!(scratch_databases(&url, pid), "0");
    let (r, pid) = run_with_pid(cwd, &["check", "--schema", "--dev-database-url", &url]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Not generated: domain \"positive\""), "{}", r.stdout);
    assert_eq!(scratch_databases(&url, pid), "0");

    // What a downgrade leaves in another schema is seen (the catalogs read the
    // current one), and an upgrade that cannot run again after it is a broken
    // round trip, never an `ok`.
    std::fs::remove_file(cwd.join("schema.sql")).unwrap();
    for f in std::fs::read_dir(cwd.join("migrations")).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    write(
        cwd,
        "r1",
        "",
        "CREATE SCHEMA audit;\nCREATE TABLE audit.log (id integer);",
        "DROP TABLE audit.log;",
    );
    let (r, pid) = run_with_pid(cwd, &["test", "--dev-database-url", &url]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("BROKEN      r1"), "{}", r.stdout);
    assert!(r.stdout.contains("schema \"audit\""), "{}", r.stdout);
    assert_eq!(scratch_databases(&url, pid), "0");
    // What no catalog reader reads (a publication): the upgrade that cannot run again names it.
    write(cwd, "r1", "", "CREATE PUBLICATION migrate_t_pub;", "SELECT 1;");
    let (r, pid) = run_with_pid(cwd, &["test", "--dev-database-url", &url]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("BROKEN      r1"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("upgrading it again failed on what its downgrade left")
            && r.stdout.contains("migrate_t_pub"),
        "{}",
        r.stdout
    );
    assert_eq!(scratch_databases(&url, pid), "0");
    write(
        cwd,
        "r1",
        "",
        "CREATE SCHEMA audit;\nCREATE TABLE audit.log (id integer);",
        "DROP TABLE audit.log;\nDROP SCHEMA audit;",
    );
    let (r, _) = run_with_pid(cwd, &["test", "--dev-database-url", &url]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

/// A revision `id` after `parent` with `header` lines (directives) above its upgrade; the line of its upgrade's first statement.
fn write_with(cwd: &Path, id: &str, parent: &str, header: &str, up: &str, down: &str) -> usize {
    std::fs::create_dir_all(cwd.join("migrations")).unwrap();
    let text = format!(
        "-- {id} step\n-- revision: {id}\n-- down_revision: {parent}\n{header}\n\n-- migrate:upgrade\n{up}\n\n-- migrate:downgrade\n{down}\n"
    );
    std::fs::write(cwd.join("migrations").join(format!("{id}_m.sql")), &text).unwrap();
    text.lines().position(|l| l == up.lines().next().unwrap()).unwrap() + 1
}

#[test]
fn on_postgres_the_locks_of_each_upgrade_are_measured_against_its_budget() {
    let url = postgres();
    if std::process::Command::new("psql")
        .args([url.as_str(), "-Atc", "select 1"])
        .output()
        .map_or(true, |o| !o.status.success())
    {
        assert!(
            std::env::var("CI").is_err(),
            "PostgreSQL is not reachable at {url} in CI"
        );
        eprintln!("SKIPPED: PostgreSQL is not reachable at {url}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    // Rows enough that building an index takes a while: the watcher sees it.
    write_with(
        cwd,
        "r1",
        "",
        "",
        "CREATE TABLE big (id integer PRIMARY KEY, name text);\nINSERT INTO big SELECT g, 'name ' || g FROM generate_series(1, 200000) g;",
        "DROP TABLE big;",
    );
    let budget = "-- migrate:max-lock: share-update-exclusive";

    // A plain CREATE INDEX on an existing table takes SHARE: over the budget, named by line, table and lock.
    let line = write_with(
        cwd,
        "r2",
        "r1",
        budget,
        "CREATE INDEX big_name ON big (name);",
        "DROP INDEX big_name;",
    );
    let r = run(&mut migrate(cwd), &["test", "--dev-database-url", &url]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "locks (max-lock share-update-exclusive): line {line}: SHARE public.big OVER BUDGET"
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains(&format!(
            "revision r2 (migrations/r2_m.sql:{line}): statement 1 takes SHARE on public.big, over its budget `-- migrate:max-lock: share-update-exclusive`"
        )),
        "{}",
        r.stderr
    );

    // CONCURRENTLY, outside a transaction: watched from a second session, the
    // SHARE UPDATE EXCLUSIVE it holds while it builds is seen, within the budget.
    let line = write_with(
        cwd,
        "r2",
        "r1",
        &format!("-- migrate:no-transaction\n{budget}"),
        "CREATE INDEX CONCURRENTLY big_name ON big (name);",
        "DROP INDEX CONCURRENTLY big_name;",
    );
    let r = run(&mut migrate(cwd), &["test", "--dev-database-url", &url]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "locks (max-lock share-update-exclusive): line {line}: SHARE UPDATE EXCLUSIVE public.big\n"
        )),
        "the lock seen, not merely none over the budget:\n{}",
        r.stdout
    );
    assert!(!r.stdout.contains("not seen"), "{}", r.stdout);
}

/// `history_schema` names where the deployed database keeps its history; the
/// scratch databases of `test` and `squash` have no such schema (on MySQL it
/// would be another database of the dev server), so their runs keep the
/// history in the scratch database's own.
fn a_history_schema_is_the_deployed_databases_alone(server: &str, drop_index: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd, "ALTER TABLE item DROP COLUMN size;");
    write(cwd, "r3", "r2", "CREATE INDEX item_size ON item (size);", drop_index);
    std::fs::write(
        cwd.join("migrate.toml"),
        format!("dir = \"migrations\"\ndev_database_url = \"{server}\"\nhistory_schema = \"nowhere_yet\"\n"),
    )
    .unwrap();
    let r = run(&mut migrate(cwd), &["test"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("ok          r3"), "{}", r.stdout);
    let r = run(&mut migrate(cwd), &["squash", "--to", "r2", "--release", "v1"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("2 revisions replaced by the baseline"),
        "{}",
        r.stderr
    );
}

#[test]
fn on_postgres_a_history_schema_is_the_deployed_databases_alone() {
    let Some(server) = crate::databases::postgres::reachable() else {
        return;
    };
    a_history_schema_is_the_deployed_databases_alone(&server, "DROP INDEX item_size;");
}

#[test]
fn on_mysql_a_history_schema_is_the_deployed_databases_alone() {
    let Some(server) = crate::databases::mysql::reachable() else {
        return;
    };
    a_history_schema_is_the_deployed_databases_alone(&server, "DROP INDEX item_size ON item;");
}

#[test]
fn the_database_named_on_the_command_line_is_walked_over_the_configured_dev_server() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd, "ALTER TABLE item DROP COLUMN size;");
    // A dev server nobody can reach: walking a scratch database there fails.
    std::fs::write(
        cwd.join("migrate.toml"),
        "dir = \"migrations\"\ndev_database_url = \"postgres://nobody@127.0.0.1:9/none\"\n",
    )
    .unwrap();
    let db = cwd.join("empty.db");
    std::fs::File::create(&db).unwrap();
    let url = format!("sqlite:{}", db.display());
    let stdout = ok(&mut migrate(cwd), &["test", "--database-url", &url]);
    assert!(stdout.contains("ok          r2"), "{stdout}");
    // The walk ran there: its history table is left behind, the schema is not.
    let tables = program("sqlite3", &[db.to_str().unwrap(), ".tables"], None);
    assert_eq!(tables.trim(), "migrate_history", "{tables}");
    // Both named on the command line: which one to walk is unclear.
    let e = fails(
        &mut migrate(cwd),
        &[
            "test",
            "--database-url",
            &url,
            "--dev-database-url",
            "postgres://nobody@127.0.0.1:9/none",
        ],
        2,
    );
    assert!(e.contains("walks one database") && e.contains("not both"), "{e}");
}
