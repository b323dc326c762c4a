//! Deploying: `current --check` and `wait` for readiness, `upgrade --phase
//! expand`, `downgrade --use-stored-downgrade` from an older folder, the
//! warning `check` gives an expand revision that removes something, and
//! `resolve --retry` after a statement outside a transaction failed.

use crate::support::{fails, migrate, ok, run};
use std::path::Path;

/// Writes a revision file into `dir` (created if needed).
fn revision(dir: &Path, id: &str, parent: &str, header: &str, up: &str, down: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let header = if header.is_empty() {
        String::new()
    } else {
        format!("{header}\n")
    };
    std::fs::write(
        dir.join(format!("{id}_m.sql")),
        format!("-- {id}\n-- revision: {id}\n-- down_revision: {parent}\n{header}\n-- migrate:upgrade\n{up}\n\n-- migrate:downgrade\n{down}\n"),
    )
    .unwrap();
}

/// Release 1 (`one/`) and release 2 (`two/`, with an expand and a contract revision).
fn releases(cwd: &Path) {
    for dir in ["one", "two"] {
        revision(
            &cwd.join(dir),
            "a1",
            "",
            "",
            "CREATE TABLE item (id INTEGER PRIMARY KEY, legacy TEXT);",
            "DROP TABLE item;",
        );
    }
    let two = cwd.join("two");
    revision(
        &two,
        "b2",
        "a1",
        "-- migrate:phase: expand",
        "CREATE TABLE tag (id INTEGER PRIMARY KEY);",
        "DROP TABLE tag;",
    );
    revision(
        &two,
        "c3",
        "b2",
        "-- migrate:phase: contract",
        "ALTER TABLE item DROP COLUMN legacy;",
        "ALTER TABLE item ADD COLUMN legacy TEXT;",
    );
}

/// `migrate --dir DIR` on `cwd`'s app.db.
fn on_app_db(cwd: &Path) -> impl Fn(&str) -> assert_cmd::Command + '_ {
    let url = format!("sqlite:{}", cwd.join("app.db").display());
    move |dir: &str| {
        let mut cmd = migrate(cwd);
        cmd.env("DATABASE_URL", &url).args(["--dir", dir]);
        cmd
    }
}

#[test]
fn current_check_and_wait_say_where_the_database_stands_in_their_exit_status() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    releases(cwd);
    let m = on_app_db(cwd);
    // An empty database: 3, naming what is pending; and nothing is created.
    std::fs::File::create(cwd.join("app.db")).unwrap();
    let said = fails(&mut m("two"), &["current", "--check"], 3);
    assert!(said.contains("3 revisions are pending (a1, b2, c3)"), "{said}");
    let said = fails(&mut m("two"), &["wait", "--timeout", "200ms"], 3);
    assert!(
        said.contains("still lacks 3 of this build's revisions (a1, b2, c3)"),
        "{said}"
    );
    assert_eq!(
        std::fs::metadata(cwd.join("app.db")).unwrap().len(),
        0,
        "current --check and wait write nothing"
    );
    ok(&mut m("two"), &["upgrade", "b2"]);
    let said = fails(&mut m("two"), &["current", "--check"], 3);
    assert!(said.contains("1 revision is pending (c3)"), "{said}");
    // Release 1 beside an expand revision it does not know: it is current for release 1...
    ok(&mut m("one"), &["wait", "--timeout", "5s"]);
    // ...but the database holds a revision its folder lacks: 4.
    let said = fails(&mut m("one"), &["current", "--check"], 4);
    assert!(said.contains("this folder or build does not know: b2"), "{said}");
    // At the head: 0, and the head printed.
    ok(&mut m("two"), &["upgrade"]);
    assert_eq!(ok(&mut m("two"), &["current", "--check"]).trim(), "c3 (head)");
    // Release 1 now: the contract revision is not one it runs beside, and the note says only of b2 that it is.
    let said = fails(&mut m("one"), &["current", "--check"], 4);
    assert!(
        said.contains("does not know: b2, c3\n") || said.ends_with("does not know: b2, c3"),
        "each once: {said}"
    );
    assert!(
        said.contains("b2 unknown to this folder, which a run of this build accepts"),
        "{said}"
    );
    assert!(!said.contains("c3 unknown"), "{said}");
    assert_eq!(
        ok(&mut m("two"), &["current", "--check", "--json"]).trim(),
        r#"{"at_head":true,"pending":[],"unknown":[]}"#
    );
    ok(&mut m("two"), &["wait"]);
    // The exit codes are in the help.
    let help = ok(&mut m("two"), &["current", "--help"]);
    assert!(
        help.contains("0 at the head, 3 revisions pending, 4 it holds revisions this folder does not know"),
        "{help}"
    );
    // Drift is an error (1), as every run would say.
    revision(
        &cwd.join("two"),
        "c3",
        "b2",
        "-- migrate:phase: contract",
        "ALTER TABLE item DROP COLUMN legacy; -- edited",
        "",
    );
    let said = fails(&mut m("two"), &["current", "--check"], 1);
    assert!(said.contains("its upgrade SQL was edited after it ran"), "{said}");
    // A script cannot know where the database stands: the flags that read it are refused.
    let said = fails(&mut m("two"), &["upgrade", "--sql", "--phase", "expand"], 2);
    assert!(said.contains("a script takes its range instead"), "{said}");
    let said = fails(
        &mut m("two"),
        &["downgrade", "--sql", "head:base", "--use-stored-downgrade"],
        2,
    );
    assert!(said.contains("which a script cannot"), "{said}");
    let help = ok(&mut m("two"), &["wait", "--help"]);
    assert!(help.contains("3 when the timeout passed first"), "{help}");
}

#[test]
fn a_phased_upgrade_and_an_older_folder_rolling_back_with_stored_downgrades() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    releases(cwd);
    let m = on_app_db(cwd);
    let said = ok(&mut m("two"), &["upgrade", "--phase", "expand"]);
    assert!(
        said.contains("Stopped before c3, the first revision of the contract phase"),
        "{said}"
    );
    let history = ok(&mut m("two"), &["history"]);
    assert!(history.contains("b2 -> c3 (head) (contract), c3"), "{history}");
    assert!(history.contains("a1 -> b2 (current) (expand), b2"), "{history}");
    ok(&mut m("two"), &["upgrade"]);
    let show = ok(&mut m("two"), &["show", "c3"]);
    assert!(show.contains("Phase: contract"), "{show}");
    // Release 1 takes the database back to its own head with the stored SQL, and prints it.
    let said = fails(&mut m("one"), &["downgrade", "head"], 1);
    assert!(said.contains("unknown to this build"), "{said}");
    let said = ok(&mut m("one"), &["downgrade", "head", "--use-stored-downgrade"]);
    assert!(
        said.contains("Ran the downgrade stored for c3 when it was applied (this folder has no file for it):\nALTER TABLE item ADD COLUMN legacy TEXT;"),
        "{said}"
    );
    assert!(said.contains("Ran the downgrade stored for b2"), "{said}");
    assert_eq!(ok(&mut m("one"), &["current", "--check"]).trim(), "a1 (head)");
}

#[test]
fn check_warns_on_an_expand_revision_that_drops_something() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let dir = cwd.join("migrations");
    revision(
        &dir,
        "a1",
        "",
        "",
        "CREATE TABLE item (id INTEGER PRIMARY KEY, old TEXT);",
        "DROP TABLE item;",
    );
    revision(
        &dir,
        "b2",
        "a1",
        "-- migrate:phase: expand",
        "CREATE TABLE tag (id INTEGER);\nALTER TABLE item DROP COLUMN old;",
        "",
    );
    let r = run(&mut migrate(cwd), &["check"]);
    assert_eq!(r.code, 0, "a warning, not an error: {r:?}");
    assert!(
        r.stderr.contains("warning: migrations/b2_m.sql: revision b2 is marked `-- migrate:phase: expand`, but line 2 of its upgrade section is `ALTER TABLE … DROP COLUMN`"),
        "{r:?}"
    );
    assert!(r.stdout.contains("2 revision(s), head b2: ok"), "{r:?}");
    // A bad phase is an error of the file, named like the macro's.
    revision(&dir, "b2", "a1", "-- migrate:phase: later", "SELECT 1;", "");
    let said = fails(&mut migrate(cwd), &["check"], 1);
    assert!(
        said.contains("unknown phase `later`: use expand, backfill or contract"),
        "{said}"
    );
}

#[test]
fn resolve_retry_runs_a_failed_no_transaction_migration_from_the_failed_statement() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let dir = cwd.join("migrations");
    revision(
        &dir,
        "a1",
        "",
        "-- migrate:no-transaction",
        "CREATE TABLE one (id INTEGER);\nINSERT INTO missing VALUES (1);\nCREATE TABLE three (id INTEGER);",
        "",
    );
    let url = format!("sqlite:{}", cwd.join("app.db").display());
    let m = || {
        let mut cmd = migrate(cwd);
        cmd.env("DATABASE_URL", &url);
        cmd
    };
    let said = fails(&mut m(), &["upgrade"], 1);
    assert!(said.contains("at statement 2"), "{said}");
    assert!(said.contains("its statement 1 stays done"), "{said}");
    assert!(said.contains("`migrate resolve a1 --retry`"), "{said}");
    let said = fails(&mut m(), &["current", "--check"], 1);
    assert!(said.contains("statement 2 of 3 (line 2) failed"), "{said}");
    crate::support::program(
        "sqlite3",
        &[
            cwd.join("app.db").to_str().unwrap(),
            "CREATE TABLE missing (id INTEGER)",
        ],
        None,
    );
    let said = ok(&mut m(), &["resolve", "a1", "--retry"]);
    assert!(said.contains("Ran a1 again from its failed statement"), "{said}");
    assert_eq!(ok(&mut m(), &["current", "--check"]).trim(), "a1 (head)");
    let rows = crate::support::program(
        "sqlite3",
        &[
            cwd.join("app.db").to_str().unwrap(),
            "SELECT (SELECT COUNT(*) FROM one), (SELECT COUNT(*) FROM missing), (SELECT COUNT(*) FROM three)",
        ],
        None,
    );
    assert_eq!(rows.trim(), "0|1|0", "statement 1 ran once, 2 and 3 on the retry");
}
