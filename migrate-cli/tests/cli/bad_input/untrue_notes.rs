//! What the command line said that was not true (issue 22, bug 15):
//! PostgreSQL's connection errors ended with the server's C source line
//! ("… does not exist at line 948"); `upgrade base` on a database above it
//! said it was "already at `base`"; and `current` after a MariaDB downgrade
//! that failed part-way said "No revision is applied".

use super::*;
use crate::support::{ok, run, unavailable};

#[test]
fn a_postgres_connection_error_is_the_servers_message_alone() {
    let server = crate::databases::postgres::server();
    let (base, _) = server.rsplit_once('/').unwrap();
    let url = format!("{base}/migrate_no_such_database");
    let r = run(
        &mut migrate(&repo()),
        &["current", "--dir", "migrations", "--database-url", &url],
    );
    if r.stderr.contains("Connection refused") {
        return unavailable("PostgreSQL", &server, r.stderr);
    }
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .ends_with("error returned from database: database \"migrate_no_such_database\" does not exist\n"),
        "{r:?}"
    );
    assert!(!r.stderr.contains(" at line "), "{r:?}");
}

#[test]
fn a_run_that_goes_nowhere_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let dir = cwd.join("migrations");
    std::fs::create_dir(&dir).unwrap();
    for (id, parent) in [("a1", ""), ("a2", "a1")] {
        std::fs::write(
            dir.join(format!("{id}_m.sql")),
            format!("-- {id}\n-- revision: {id}\n-- down_revision: {parent}\n-- migrate:upgrade\nCREATE TABLE t_{id} (id INTEGER);\n-- migrate:downgrade\nDROP TABLE t_{id};\n"),
        )
        .unwrap();
    }
    let url = sqlite_url(cwd);
    let said = |args: &[&str]| run(&mut migrate(cwd), &[args, &["--database-url", &url]].concat());
    assert!(
        said(&["upgrade", "base"]).stderr.contains("already at `base`"),
        "true of an empty database"
    );
    said(&["upgrade", "head"]);
    for (args, note) in [
        (
            &["upgrade", "base"][..],
            "Nothing to do: the database is at a2, above `base`, and upgrade never unapplies revisions; to unapply them all, use `downgrade base`.\n",
        ),
        (
            &["upgrade", "a1"],
            "Nothing to do: `a1` is applied and the database is at a2, beyond it, and upgrade never unapplies revisions; to go back to `a1`, use `downgrade a1`.\n",
        ),
        (
            &["upgrade", "head"],
            "Nothing to do: the database is already at `head`.\n",
        ),
    ] {
        let r = said(args);
        assert_eq!((r.code, r.stderr.as_str()), (0, note), "{args:?}");
    }
    said(&["downgrade", "base"]);
    let r = said(&["downgrade", "head"]);
    assert!(r.code != 0 || !r.stderr.contains("already at `head`"), "{r:?}");
}

#[test]
fn current_marks_a_revision_whose_downgrade_failed_on_mariadb() {
    use crate::databases::mysql::{db, mysql, server};
    let server = server();
    let probe = run(
        &mut migrate(&repo()),
        &["current", "--dir", "migrations", "--database-url", &server],
    );
    if probe.stderr.contains("cannot connect") {
        return unavailable("MySQL/MariaDB", &server, probe.stderr);
    }
    let database = db(&server);
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let dir = cwd.join("migrations");
    std::fs::create_dir(&dir).unwrap();
    // Its downgrade's first statement runs, its second fails: MySQL commits each DDL.
    std::fs::write(
        dir.join("b1_m.sql"),
        "-- two tables\n-- revision: b1\n-- down_revision:\n-- migrate:upgrade\nCREATE TABLE one (id INTEGER);\nCREATE TABLE two (id INTEGER);\n\
         -- migrate:downgrade\nDROP TABLE one;\nDROP TABLE no_such_table;\n",
    )
    .unwrap();
    let m = |args: &[&str]| run(&mut migrate(cwd), &[args, &["--database-url", &database.url]].concat());
    assert_eq!(m(&["upgrade"]).code, 0);
    let r = m(&["downgrade", "base"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        mysql(
            &database.url,
            &[
                "-N",
                "-B",
                "-e",
                "SELECT state FROM migrate_history WHERE revision = 'b1'"
            ],
            None
        ),
        "downgrade_failed\n"
    );
    let r = m(&["current"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (
            0,
            "b1 (head) (downgrade failed: see `migrate history --verbose`, then `migrate resolve`)\n"
        ),
        "{r:?}"
    );
    let json = ok(
        &mut migrate(cwd),
        &["current", "--json", "--database-url", &database.url],
    );
    assert!(json.contains("\"downgrade_failed\":true"), "{json}");
}
