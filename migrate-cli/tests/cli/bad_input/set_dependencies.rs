//! `-- depends_on: set@revision` between migration sets: a downgrade of a
//! set once dropped tables another set's applied revision needs, and
//! `check` let lines naming nothing through (issue 22, bug 13). A downgrade
//! now refuses, unapplying nothing; `check` names each bad line, with a fix
//! that does not send the user in a circle.

use super::*;
use crate::databases::postgres::{db, psql, server};
use crate::support::{ok, unavailable};

/// Writes revision `id` of `dir` under `cwd`, with extra header lines.
fn write(cwd: &std::path::Path, dir: &str, id: &str, parent: &str, header: &str, up: &str, down: &str) {
    std::fs::create_dir_all(cwd.join(dir)).unwrap();
    std::fs::write(
        cwd.join(dir).join(format!("{id}_m.sql")),
        format!(
            "-- {id}\n-- revision: {id}\n-- down_revision: {parent}\n{header}-- migrate:upgrade\n{up}\n-- migrate:downgrade\n{down}\n"
        ),
    )
    .unwrap();
}

#[test]
fn a_set_another_needs_is_not_downgraded_on_postgres() {
    let server = server();
    if let Err(e) = std::process::Command::new("psql")
        .args(["-X", "-q", "-d", &server, "-c", "SELECT 1"])
        .output()
        .map_err(|e| e.to_string())
        .and_then(|o| {
            if o.status.success() {
                Ok(())
            } else {
                Err(String::from_utf8_lossy(&o.stderr).into_owned())
            }
        })
    {
        return unavailable("PostgreSQL", &server, e);
    }
    let database = db(&server);
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write(
        cwd,
        "vendor/jobq",
        "j1",
        "",
        "",
        "CREATE TABLE jobq_job (id INTEGER PRIMARY KEY);",
        "DROP TABLE jobq_job;",
    );
    write(
        cwd,
        "migrations",
        "a1",
        "",
        "-- depends_on: jobq@j1\n",
        "CREATE TABLE report (job INTEGER REFERENCES jobq_job (id));",
        "DROP TABLE report;",
    );
    std::fs::write(
        cwd.join("migrate.toml"),
        format!(
            "database_url = \"{}\"\n\n[sets.jobq]\ndir = \"vendor/jobq\"\n",
            database.url
        ),
    )
    .unwrap();
    ok(&mut migrate(cwd), &["--set", "jobq", "upgrade"]);
    ok(&mut migrate(cwd), &["upgrade"]);

    let e = fails(&mut migrate(cwd), &["--set", "jobq", "downgrade", "base"], 1);
    assert!(
        e.starts_with(
            "error: revision `j1` (vendor/jobq/j1_m.sql) cannot be unapplied: revision `a1` of the application's migrations, which is applied"
        ),
        "{e}"
    );
    assert!(
        e.contains("= help: unapply `a1` first: `migrate downgrade TARGET`, TARGET being the `down_revision` of `a1`, or `base` when it has none"),
        "{e}"
    );
    let tables = |sql: &str| psql(&database.url, &["-At", "-c", sql], None);
    assert_eq!(
        tables("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'"),
        "jobq_job,migrate_history,migrate_history_jobq,report\n",
        "nothing was unapplied"
    );
    assert_eq!(ok(&mut migrate(cwd), &["--set", "jobq", "current"]), "j1 (head)\n");
    // The same through a fleet of one.
    let fleet = cwd.join("fleet.txt");
    std::fs::write(&fleet, format!("{}\n", database.url)).unwrap();
    let e = fails(
        &mut migrate(cwd),
        &["--set", "jobq", "downgrade", "base", "--each", fleet.to_str().unwrap()],
        1,
    );
    assert!(e.contains("1 of 1 databases failed"), "{e}");
    assert_eq!(ok(&mut migrate(cwd), &["--set", "jobq", "current"]), "j1 (head)\n");

    // In the order the help gives, both go.
    ok(&mut migrate(cwd), &["downgrade", "base"]);
    ok(&mut migrate(cwd), &["--set", "jobq", "downgrade", "base"]);
    assert_eq!(
        tables("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'"),
        "migrate_history,migrate_history_jobq\n"
    );
}

#[test]
fn check_names_each_depends_on_line_that_cannot_hold() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write(
        cwd,
        "vendor/jobq",
        "j1",
        "",
        "",
        "CREATE TABLE jobq_job (id INTEGER);",
        "DROP TABLE jobq_job;",
    );
    write(
        cwd,
        "vendor/mail",
        "m1",
        "",
        "",
        "CREATE TABLE mail (id INTEGER);",
        "DROP TABLE mail;",
    );
    write(
        cwd,
        "migrations",
        "a1",
        "",
        "-- depends_on: jobq@j1, mail@m1\n",
        "SELECT 1;",
        "SELECT 1;",
    );
    std::fs::write(
        cwd.join("migrate.toml"),
        "[sets.jobq]\ndir = \"vendor/jobq\"\n\n[sets.mail]\ndir = \"vendor/mail\"\n",
    )
    .unwrap();
    for args in [&["check"][..], &["--set", "jobq", "check"], &["--set", "mail", "check"]] {
        ok(&mut migrate(cwd), args);
    }

    // An undeclared set, and a revision its set does not have.
    write(
        cwd,
        "migrations",
        "a1",
        "",
        "-- depends_on: jobs@j1\n-- depends_on: mail@m9\n",
        "SELECT 1;",
        "SELECT 1;",
    );
    let e = fails(&mut migrate(cwd), &["check"], 1);
    assert_eq!(
        e,
        "error: `depends_on: jobs@j1` names the migration set `jobs`, which the config file does not declare\n  \
         --> migrations/a1_m.sql:4\n   \
         = help: declare it in migrate.toml as `[sets.jobs]`, with `dir` its migrations folder, or name a set it declares: `jobq`, `mail`\n\n\
         error: `depends_on: mail@m9` names a revision the set `mail` does not have: its folder `vendor/mail` has no revision `m9`\n  \
         --> migrations/a1_m.sql:5\n   \
         = help: name the revision of `mail` this one needs, by its full id (its head: `m1`)\n\n\
         error: 2 problems in migrations/a1_m.sql\n"
    );
    write(cwd, "migrations", "a1", "", "", "SELECT 1;", "SELECT 1;");

    // A set naming itself.
    write(
        cwd,
        "vendor/jobq",
        "j2",
        "j1",
        "-- depends_on: jobq@j1\n",
        "SELECT 1;",
        "SELECT 1;",
    );
    let e = fails(&mut migrate(cwd), &["--set", "jobq", "check"], 1);
    assert_eq!(
        e,
        "error: `depends_on: jobq@j1` names the set this revision belongs to, `jobq`\n  \
         --> vendor/jobq/j2_m.sql:4\n   \
         = help: revisions of one set are ordered by `down_revision`: remove this line, and if `j1` must run before `j2`, make it an ancestor of it\n"
    );

    // Two sets that need each other.
    write(
        cwd,
        "vendor/jobq",
        "j2",
        "j1",
        "-- depends_on: mail@m1\n",
        "SELECT 1;",
        "SELECT 1;",
    );
    write(
        cwd,
        "vendor/mail",
        "m2",
        "m1",
        "-- depends_on: jobq@j1\n",
        "SELECT 1;",
        "SELECT 1;",
    );
    let e = fails(&mut migrate(cwd), &["--set", "jobq", "check"], 1);
    assert!(
        e.starts_with(
            "error: `depends_on: mail@m1` closes a cycle between migration sets: `jobq` needs `mail`, which needs `jobq`, so no order of the sets migrates each after the ones it needs\n  \
             --> vendor/jobq/j2_m.sql:4\n"
        ),
        "{e}"
    );
    assert!(e.contains("= help: keep the dependencies one way"), "{e}");
    let e = fails(&mut migrate(cwd), &["--set", "mail", "check"], 1);
    assert!(e.contains("--> vendor/mail/m2_m.sql:4"), "{e}");
    // The application's list is in no cycle: no set can name it.
    ok(&mut migrate(cwd), &["check"]);
}
