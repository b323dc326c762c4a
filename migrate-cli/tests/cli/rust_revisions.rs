//! Rust revisions: `examples/rust_revisions` embeds a folder mixing SQL and
//! Rust revisions (a Rust backfill reading rows with sqlx and writing
//! derived values) and runs it through its `db` subcommand on SQLite,
//! PostgreSQL and MariaDB, the data checked each way; the standalone binary
//! reads the same folder, and stops an upgrade before the Rust revision.

use crate::databases::{mysql, postgres};
use crate::support::{example, fails, migrate, ok, program, repo, unavailable};
use std::path::Path;

const FOLDER: &str = "examples/rust_revisions/migrations";
const FILLED: &str = "1|Ada LOVELACE\n2|Alan TURING\n3|Grace HOPPER";
const NAMES: &str = "SELECT id, full_name FROM person ORDER BY id";
const RUST_FILE: &str = "examples/rust_revisions/migrations/3c0000000003_fill_full_name.rs";

/// Runs `sql` on the database and returns its rows as `a|b` lines.
type Query<'a> = &'a dyn Fn(&str) -> String;

/// `db ARGS… --database-url url`, the example application's arguments.
fn db(url: &str, args: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = ["db"].iter().chain(args).map(|s| s.to_string()).collect();
    all.extend(["--database-url".to_owned(), url.to_owned()]);
    all
}

/// Upgrade head, downgrade base, upgrade head, with the data checked each
/// way; then a Rust revision failing on a row it cannot backfill. `rolled_back`:
/// the database runs the revision in a transaction (SQLite, PostgreSQL).
fn walk(cwd: &Path, url: &str, query: Query<'_>, rolled_back: bool) {
    let app = || example("rust_revisions", cwd);
    let run = |args: &[&str]| {
        let all = db(url, args);
        ok(&mut app(), &all.iter().map(String::as_str).collect::<Vec<_>>())
    };
    run(&["upgrade", "head", "-q"]);
    assert_eq!(query(NAMES).trim(), FILLED);
    assert_eq!(run(&["current"]).trim(), "4d0000000004 (head)");
    run(&["downgrade", "3c0000000003", "-q"]);
    assert_eq!(query(NAMES).trim(), FILLED, "the Rust revision still applied");
    run(&["downgrade", "2b0000000002", "-q"]);
    assert_eq!(query(NAMES).trim(), "1|\n2|\n3|", "its downgrade cleared the column");
    run(&["downgrade", "base", "-q"]);
    assert_eq!(run(&["current"]).trim(), "");
    run(&["upgrade", "head", "-q"]);
    assert_eq!(query(NAMES).trim(), FILLED);

    // A row it cannot backfill: the error names the revision and its file.
    run(&["downgrade", "2b0000000002", "-q"]);
    query("INSERT INTO person (id, first_name, last_name) VALUES (4, 'Cher', '')");
    let all = db(url, &["upgrade", "head", "-q"]);
    let said = fails(&mut app(), &all.iter().map(String::as_str).collect::<Vec<_>>(), 1);
    assert!(
        said.contains(&format!(
            "upgrade of revision `3c0000000003` ({RUST_FILE}) failed: Cher has no last name;"
        )),
        "{said}"
    );
    assert_eq!(run(&["current"]).trim(), "2b0000000002");
    let state = query("SELECT state FROM migrate_history WHERE revision = '3c0000000003'");
    if rolled_back {
        // As a SQL step in a transaction: rolled back, no row.
        assert!(said.contains("it was rolled back and is not recorded"), "{said}");
        assert_eq!(state.trim(), "");
        assert_eq!(query(NAMES).trim(), "1|\n2|\n3|\n4|", "nothing of it was kept");
    } else {
        // As a SQL step on MySQL: marked failed, to be resolved.
        assert!(said.contains("it is marked failed in the history table"), "{said}");
        assert_eq!(state.trim(), "upgrade_failed");
    }
}

#[test]
fn an_embedded_folder_runs_its_rust_revision_on_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("app.db");
    let path = file.to_str().unwrap().to_owned();
    let query = |sql: &str| program("sqlite3", &[path.as_str(), sql], None);
    walk(tmp.path(), &format!("sqlite:{path}"), &query, true);
}

#[test]
fn an_embedded_folder_runs_its_rust_revision_on_postgres() {
    let Some(server) = postgres::reachable() else { return };
    let database = postgres::db(&server);
    let tmp = tempfile::tempdir().unwrap();
    let query = |sql: &str| postgres::psql(&database.url, &["-At", "-c", sql], None);
    walk(tmp.path(), &database.url, &query, true);
}

#[test]
fn an_embedded_folder_runs_its_rust_revision_on_mariadb() {
    let server = mysql::server();
    let reachable = std::panic::catch_unwind(|| mysql::mysql(&server, &["-e", "SELECT 1"], None));
    if let Err(e) = reachable {
        return unavailable("MySQL/MariaDB", &server, format!("{e:?}"));
    }
    let database = mysql::db(&server);
    let tmp = tempfile::tempdir().unwrap();
    let query = |sql: &str| mysql::mysql(&database.url, &["-N", "-B", "-e", sql], None).replace('\t', "|");
    // The mysql client prints NULL where the others print nothing.
    let query = |sql: &str| query(sql).replace("|NULL", "|");
    walk(tmp.path(), &database.url, &query, false);
}

/// The standalone binary reads the folder for `check`, `history`, `current`
/// and `show`; its upgrade applies the SQL revisions before the Rust one and
/// stops there with the advice, as `--sql` does; `revision --rust` writes a
/// template that `check` accepts.
#[test]
fn the_standalone_binary_stops_before_a_rust_revision() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("migrations");
    std::fs::create_dir(&folder).unwrap();
    for entry in std::fs::read_dir(repo().join(FOLDER)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), folder.join(entry.file_name())).unwrap();
    }
    let m = || migrate(tmp.path());
    let url = format!("sqlite:{}", tmp.path().join("app.db").display());
    assert!(ok(&mut m(), &["check"]).contains("4 revision(s), head 4d0000000004: ok"));
    let history = ok(&mut m(), &["history"]);
    assert!(
        history.contains("2b0000000002 -> 3c0000000003, fill person.full_name"),
        "{history}"
    );
    let shown = ok(&mut m(), &["show", "3c0000000003"]);
    assert!(
        shown.contains("Path: migrations/3c0000000003_fill_full_name.rs"),
        "{shown}"
    );
    assert!(shown.contains("Language: Rust"), "{shown}");

    let said = fails(&mut m(), &["upgrade", "head", "-q", "--database-url", &url], 1);
    assert!(
        said.contains("revision `3c0000000003` (migrations/3c0000000003_fill_full_name.rs) is a Rust revision, which only the application that embeds this folder with `embed_migrations!` can run, so this run stopped before it and did not change it: run the application's embedded `db upgrade` subcommand, or its `upgrade` call; this run had already completed 1a0000000001, 2b0000000002, which stay done"),
        "{said}"
    );
    assert_eq!(
        ok(&mut m(), &["current", "--database-url", &url]).trim(),
        "2b0000000002"
    );
    // Downgrading across it stops the same way, changing nothing.
    let app = example("rust_revisions", tmp.path());
    let mut app = app;
    ok(&mut app, &["db", "upgrade", "head", "-q", "--database-url", &url]);
    let said = fails(&mut m(), &["downgrade", "base", "-q", "--database-url", &url], 1);
    assert!(
        said.contains("run the application's embedded `db downgrade` subcommand"),
        "{said}"
    );
    assert!(said.contains("this run had already completed 4d0000000004"), "{said}");
    assert_eq!(
        ok(&mut m(), &["current", "--database-url", &url]).trim(),
        "3c0000000003"
    );

    let said = fails(&mut m(), &["upgrade", "--sql", "--dialect", "postgres"], 1);
    assert!(said.contains("revision `3c0000000003`"), "{said}");

    let written = ok(&mut m(), &["revision", "--rust", "-m", "second backfill"]);
    assert!(written.trim().ends_with("_second_backfill.rs"), "{written}");
    let text = std::fs::read_to_string(tmp.path().join(written.trim())).unwrap();
    assert!(text.starts_with("//! second backfill\n//!\n//! revision: "), "{text}");
    assert!(text.contains("//! down_revision: 4d0000000004\n"), "{text}");
    assert!(text.contains("pub async fn upgrade(conn: &mut migrate::Connection<'_>) -> migrate::RustResult {"));
    assert!(ok(&mut m(), &["check"]).contains("5 revision(s)"));
}
