//! Several migration sets in one database: a library's folder beside the
//! application's, each with its own history table, `--set NAME` choosing one
//! from migrate.toml, and `-- depends_on: set@revision` checked before a
//! revision runs.

use crate::support::{fails, migrate, ok, program};

#[test]
fn a_set_depending_on_another_waits_for_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let write = |dir: &str, id: &str, header: &str, up: &str| {
        std::fs::create_dir_all(cwd.join(dir)).unwrap();
        std::fs::write(
            cwd.join(dir).join(format!("{id}_m.sql")),
            format!("-- {id}\n-- revision: {id}\n-- down_revision:\n{header}\n-- migrate:upgrade\n{up}\n"),
        )
        .unwrap();
    };
    write(
        "vendor/jobq",
        "j1",
        "",
        "CREATE TABLE jobq_job (id INTEGER PRIMARY KEY);",
    );
    write(
        "migrations",
        "a1",
        "-- depends_on: jobq@j1",
        "CREATE TABLE report (job INTEGER REFERENCES jobq_job (id));",
    );
    std::fs::write(
        cwd.join("migrate.toml"),
        format!(
            "database_url = \"sqlite:{}\"\n\n[sets.jobq]\ndir = \"vendor/jobq\"\n",
            cwd.join("app.db").display()
        ),
    )
    .unwrap();
    // The application's set first: its revision needs jobq's, which is not there.
    let said = fails(&mut migrate(cwd), &["upgrade"], 1);
    assert!(
        said.contains("revision `a1` (migrations/a1_m.sql) depends on revision `j1` of the migration set `jobq`, which is not applied"),
        "{said}"
    );
    assert!(
        said.contains("migrate the set `jobq` first: `migrate --set jobq upgrade`"),
        "{said}"
    );
    ok(&mut migrate(cwd), &["--set", "jobq", "upgrade"]);
    ok(&mut migrate(cwd), &["upgrade"]);
    assert_eq!(ok(&mut migrate(cwd), &["current", "--set", "jobq"]).trim(), "j1 (head)");
    assert_eq!(ok(&mut migrate(cwd), &["current"]).trim(), "a1 (head)");
    let tables = program(
        "sqlite3",
        &[
            cwd.join("app.db").to_str().unwrap(),
            "SELECT name FROM sqlite_master WHERE name LIKE 'migrate_history%' ORDER BY 1",
        ],
        None,
    );
    assert_eq!(
        tables.trim(),
        "migrate_history\nmigrate_history_jobq",
        "a history table each"
    );
    let said = fails(&mut migrate(cwd), &["--set", "nope", "current"], 2);
    assert!(
        said.contains("the config file has no `[sets.nope]` (its sets: jobq)"),
        "{said}"
    );
    // A set's name without its revision reads as a revision of this folder,
    // which it is not: the error says how a set's revision is written.
    write("migrations", "a1", "-- depends_on: jobq", "SELECT 1;");
    let said = fails(&mut migrate(cwd), &["check"], 1);
    assert!(
        said.contains("depends_on `jobq` of revision `a1` names no revision of this folder")
            && said.contains("a revision of another migration set is written `<set>@<revision>`"),
        "{said}"
    );
    // A malformed item is an error of the file.
    write("migrations", "a1", "-- depends_on: jobq@", "SELECT 1;");
    let said = fails(&mut migrate(cwd), &["check"], 1);
    assert!(
        said.contains("`jobq@` in `depends_on` is neither a revision id nor `<set>@<revision>`"),
        "{said}"
    );
}
