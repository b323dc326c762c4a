//! Flags a binary's embedded migration list cannot take: `myapp db upgrade
//! --set jobq` once recorded the application's revisions in the `jobq`
//! set's history table, which then blocked the real set (issue 22, bug 4).
//! Refused as usage errors before anything runs, with advice that names
//! only what works in the program that prints it.

use super::*;
use crate::support::{embedded, ok, program};

#[test]
fn an_embedded_list_is_never_recorded_as_another_set() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let db = cwd.join("app.db");
    std::fs::create_dir_all(cwd.join("vendor/jobq")).unwrap();
    std::fs::write(
        cwd.join("vendor/jobq/j1_jobs.sql"),
        "-- jobs\n-- revision: j1\n-- down_revision:\n-- migrate:upgrade\nCREATE TABLE jobq_job (id INTEGER PRIMARY KEY);\n",
    )
    .unwrap();
    std::fs::write(
        cwd.join("migrate.toml"),
        format!(
            "database_url = \"{}\"\n\n[sets.jobq]\ndir = \"vendor/jobq\"\n",
            sqlite_url(cwd)
        ),
    )
    .unwrap();
    let app = || embedded(cwd);

    let e = fails(&mut app(), &["db", "upgrade", "--set", "jobq"], 2);
    assert!(
        e.starts_with("error: --set: this binary runs the migrations built into it"),
        "{e}"
    );
    assert!(e.contains("--set is for the `migrate` command line"), "{e}");
    // Nor by naming the set's table.
    let e = fails(
        &mut app(),
        &["db", "upgrade", "--history-table", "migrate_history_jobq"],
        2,
    );
    assert!(
        e.contains("the history table `migrate_history_jobq` is the migration set `jobq`'s"),
        "{e}"
    );
    assert!(!db.exists(), "nothing ran: the database was not even created");

    // The set and the application each keep their own table.
    ok(&mut migrate(cwd), &["--set", "jobq", "upgrade"]);
    ok(&mut app(), &["db", "upgrade"]);
    assert_eq!(ok(&mut migrate(cwd), &["--set", "jobq", "current"]), "j1 (head)\n");
    let tables = program(
        "sqlite3",
        &[
            db.to_str().unwrap(),
            "SELECT (SELECT COUNT(*) FROM migrate_history WHERE revision <> '') || ' ' || \
             (SELECT group_concat(revision) FROM migrate_history_jobq WHERE revision <> '')",
        ],
        None,
    );
    assert_eq!(
        tables, "4 j1\n",
        "the application's revisions in its table, the set's in the set's"
    );
}
