//! Repeatable revisions (`migrations/repeatable/<name>.sql`) on SQLite,
//! PostgreSQL and MariaDB: applied after the versioned revisions of an
//! upgrade to head, in dependency order; applied again when their file
//! changed (and what depends on them), never when it did not; shown by
//! `history` and `current --check`; a failure names the file and leaves the
//! state a failed revision leaves, recovered the same way.

use crate::databases::{mysql, postgres};
use crate::support::{fails, migrate, ok, run, unavailable};
use std::path::Path;

/// `a_count` sorts before `active` but depends on it; `active` drops both
/// views, so `a_count` must be created again whenever `active` is.
const ACTIVE: &str = "-- the active accounts\n-- migrate:upgrade\nDROP VIEW IF EXISTS a_count;\nDROP VIEW IF EXISTS active;\nCREATE VIEW active AS SELECT id FROM account WHERE flag = 1;\n";
const A_COUNT: &str = "-- how many are active\n-- depends_on: repeatable:active\n-- migrate:upgrade\nDROP VIEW IF EXISTS a_count;\nCREATE VIEW a_count AS SELECT COUNT(*) AS n FROM active;\n";

fn project(cwd: &Path) {
    let dir = cwd.join("migrations");
    std::fs::create_dir_all(dir.join("repeatable")).unwrap();
    std::fs::write(
        dir.join("a1_account.sql"),
        "-- accounts\n-- revision: a1\n-- down_revision:\n\n-- migrate:upgrade\nCREATE TABLE account (id INTEGER PRIMARY KEY, flag INTEGER NOT NULL);\nINSERT INTO account (id, flag) VALUES (1, 1), (2, 0), (3, 0);\n\n-- migrate:downgrade\nDROP TABLE account;\n",
    )
    .unwrap();
    std::fs::write(dir.join("repeatable/active.sql"), ACTIVE).unwrap();
    std::fs::write(dir.join("repeatable/a_count.sql"), A_COUNT).unwrap();
}

/// The whole life of two repeatables on one database; `query` returns one
/// value as text; `failure_leaves_a_row`: the database runs a migration
/// statement by statement (MySQL), so a failure leaves `upgrade_failed`.
fn scenario(url: &str, query: &dyn Fn(&str) -> String, failure_leaves_a_row: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd);
    let u = ["--database-url", url];
    let with = |args: &[&'static str]| -> Vec<&str> { args.iter().copied().chain(u.iter().copied()).collect() };

    let ran = run(&mut migrate(cwd), &with(&["upgrade"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let order: Vec<&str> = ran.stdout.lines().filter(|l| l.starts_with("Running")).collect();
    assert_eq!(
        order,
        [
            "Running upgrade  -> a1, accounts",
            "Running repeatable migrations/repeatable/active.sql, the active accounts",
            "Running repeatable migrations/repeatable/a_count.sql, how many are active",
        ],
        "{}",
        ran.stderr
    );
    assert_eq!(query("SELECT n FROM a_count"), "1");
    ok(&mut migrate(cwd), &with(&["current", "--check"]));
    let history = ok(&mut migrate(cwd), &with(&["history"]));
    // Outside the graph: no `<base> ->` before a repeatable.
    assert!(
        history
            .lines()
            .any(|l| l == "repeatable:active (repeatable) (applied), the active accounts"),
        "{history}"
    );
    // `--json` and `--verbose` give a repeatable its file; without a database it is listed too.
    let json: serde_json::Value = serde_json::from_str(&ok(&mut migrate(cwd), &with(&["history", "--json"]))).unwrap();
    let active = json["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["revision"] == "repeatable:active")
        .unwrap();
    assert_eq!(active["file"], "migrations/repeatable/active.sql", "{json}");
    assert_eq!(active["known"], true, "{json}");
    let verbose = ok(&mut migrate(cwd), &with(&["history", "--verbose"]));
    assert!(
        verbose.contains("Rev: repeatable:active (repeatable) (applied)\nPath: migrations/repeatable/active.sql\n"),
        "{verbose}"
    );
    let offline = ok(&mut migrate(cwd), &["history"]);
    assert!(
        offline
            .lines()
            .any(|l| l == "repeatable:active (repeatable), the active accounts"),
        "{offline}"
    );
    let checked = ok(&mut migrate(cwd), &with(&["check"]));
    assert!(
        checked.contains("1 revision(s), 2 repeatable(s), head a1: ok"),
        "{checked}"
    );
    let shown = ok(&mut migrate(cwd), &["show", "repeatable:a_count"]);
    assert!(
        shown.starts_with("Rev: repeatable:a_count (repeatable)\nDepends on: repeatable:active\nPath: migrations/repeatable/a_count.sql\n")
            && shown.contains("CREATE VIEW a_count AS SELECT COUNT(*) AS n FROM active;")
            && !shown.contains("Parent:"),
        "{shown}"
    );
    let unknown = fails(&mut migrate(cwd), &["show", "repeatable:nope"], 2);
    assert!(
        unknown.contains("repeatable/nope.sql") && unknown.contains("repeatable:active, repeatable:a_count"),
        "{unknown}"
    );

    // Unchanged: nothing runs again.
    let again = run(&mut migrate(cwd), &with(&["upgrade"]));
    assert!(again.code == 0 && !again.stdout.contains("Running"), "{}", again.stderr);

    // Edited: pending for `current --check`, marked by `history`, applied with what depends on it.
    let edited = ACTIVE.replace("flag = 1", "flag = 1 OR id = 2");
    std::fs::write(cwd.join("migrations/repeatable/active.sql"), &edited).unwrap();
    let pending = fails(&mut migrate(cwd), &with(&["current", "--check"]), 3);
    assert!(pending.contains("repeatable:active, repeatable:a_count"), "{pending}");
    let history = ok(&mut migrate(cwd), &with(&["history"]));
    let line = |id: &str| history.lines().find(|l| l.contains(id)).unwrap_or_default().to_owned();
    assert!(
        line("repeatable:active ").contains("(applied) (changed: applied again by the next upgrade to head)"),
        "{history}"
    );
    // The view over it is unchanged, and runs again all the same: `history` says why.
    assert!(
        line("repeatable:a_count")
            .contains("(applied) (depends on one that runs: applied again by the next upgrade to head)"),
        "{history}"
    );
    let ran = run(&mut migrate(cwd), &with(&["upgrade"]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.stdout.matches("Running repeatable").count(), 2, "{}", ran.stderr);
    assert_eq!(query("SELECT n FROM a_count"), "2");
    ok(&mut migrate(cwd), &with(&["current", "--check"]));

    // A failure names the file. Where the file ran in a transaction, the views stay as
    // the last good run left them; statement by statement, two statements stayed done.
    let broken = format!("{A_COUNT}INSERT INTO no_such_table VALUES (1);\n");
    std::fs::write(cwd.join("migrations/repeatable/a_count.sql"), broken).unwrap();
    let ran = run(&mut migrate(cwd), &with(&["upgrade"]));
    assert_ne!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("migrations/repeatable/a_count.sql"),
        "{}",
        ran.stderr
    );
    if failure_leaves_a_row {
        // As a failed revision: every run refuses until it is resolved.
        assert_eq!(
            query("SELECT state FROM migrate_history WHERE revision = 'repeatable:a_count'"),
            "upgrade_failed"
        );
        let refused = fails(&mut migrate(cwd), &with(&["upgrade"]), 1);
        assert!(refused.contains("repeatable:a_count"), "{refused}");
        // Its file edited since: `--retry` would count the old text's two statements
        // done off the new one. It is refused, naming the way out, and changes nothing.
        std::fs::write(cwd.join("migrations/repeatable/a_count.sql"), A_COUNT).unwrap();
        let refused = fails(
            &mut migrate(cwd),
            &with(&["resolve", "repeatable:a_count", "--retry"]),
            1,
        );
        assert!(
            refused.contains("its file changed since the failed run")
                && refused.contains("resolve repeatable:a_count --not-applied"),
            "{refused}"
        );
        assert_eq!(
            query("SELECT state FROM migrate_history WHERE revision = 'repeatable:a_count'"),
            "upgrade_failed"
        );
        ok(
            &mut migrate(cwd),
            &with(&["resolve", "repeatable:a_count", "--not-applied"]),
        );
    } else {
        assert_eq!(query("SELECT n FROM a_count"), "2", "rolled back");
    }
    std::fs::write(cwd.join("migrations/repeatable/a_count.sql"), A_COUNT).unwrap();
    ok(&mut migrate(cwd), &with(&["upgrade"]));
    assert_eq!(query("SELECT n FROM a_count"), "2");
    ok(&mut migrate(cwd), &with(&["current", "--check"]));

    // The history keeps one row each.
    assert_eq!(
        query("SELECT COUNT(*) FROM migrate_history WHERE revision LIKE 'repeatable:%'"),
        "2"
    );
}

/// The URL of the SQLite database file `db`, and a query of one value on it through `sqlite3`.
fn sqlite(db: &Path) -> (String, impl Fn(&str) -> String + '_) {
    let query = move |sql: &str| {
        crate::support::program("sqlite3", &[db.to_str().unwrap(), sql], None)
            .trim()
            .to_owned()
    };
    (format!("sqlite:{}", db.display()), query)
}

/// A query on the PostgreSQL database `url`, its unaligned result trimmed.
fn postgres_query(url: &str) -> impl Fn(&str) -> String + '_ {
    move |sql: &str| postgres::psql(url, &["-A", "-t", "-c", sql], None).trim().to_owned()
}

#[test]
fn repeatables_on_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    let (url, query) = sqlite(&db);
    scenario(&url, &query, false);
}

#[test]
fn repeatables_on_postgres() {
    let Some(server) = postgres::reachable() else { return };
    let db = postgres::db(&server);
    let query = postgres_query(&db.url);
    scenario(&db.url, &query, false);
}

#[test]
fn repeatables_on_mariadb() {
    let server = mysql::server();
    if let Err(e) = std::panic::catch_unwind(|| mysql::mysql(&server, &["-e", "SELECT 1"], None)) {
        return unavailable("MySQL/MariaDB", &server, format!("{e:?}"));
    }
    let db = mysql::db(&server);
    let query = |sql: &str| mysql::mysql(&db.url, &["-N", "-B", "-e", sql], None).trim().to_owned();
    scenario(&db.url, &query, true);
}

/// `upgrade --sql` to head writes every repeatable after the revisions (a
/// script cannot read which ones the database holds), each framed as a
/// step with its row replaced: run by sqlite3, release 1's script and then
/// release 2's from `r1` leave the schema and the history rows (the digest
/// row too) that the online upgrades leave; a script to another target
/// than head has none.
#[test]
fn offline_scripts_apply_the_repeatables_as_online_runs_do() {
    let tmp = tempfile::tempdir().unwrap();
    let (online, offline) = (tmp.path().join("online.db"), tmp.path().join("offline.db"));
    let online_url = format!("sqlite:{}", online.display());
    let m = |folder: &str, args: &[&str]| {
        let mut cmd = migrate(&crate::support::repo());
        cmd.args(["--dir", folder]);
        ok(&mut cmd, args)
    };
    let (v1, v2) = ("tests/fixtures/repeatables/v1", "tests/fixtures/repeatables/v2");
    let script = m(v1, &["upgrade", "--sql", "--dialect", "sqlite"]);
    let at = |script: &str, needle: &str| script.find(needle).unwrap_or_else(|| panic!("{needle}:\n{script}"));
    let order = [
        "-- Running upgrade  -> r1, create member",
        "-- Running repeatable tests/fixtures/repeatables/v1/repeatable/active.sql, the active members",
        "-- Running repeatable tests/fixtures/repeatables/v1/repeatable/a_count.sql, how many are active",
        "-- Running repeatable tests/fixtures/repeatables/v1/repeatable/total.sql, every member",
    ]
    .map(|n| at(&script, n));
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{script}");
    assert_eq!(script.matches("BEGIN;").count(), 4, "{script}");
    assert_eq!(
        script.matches("INSERT OR REPLACE INTO \"migrate_history\"").count(),
        3,
        "{script}"
    );
    crate::support::program("sqlite3", &[offline.to_str().unwrap()], Some(&script));
    m(v1, &["upgrade", "head", "-q", "--database-url", &online_url]);
    let state = crate::session::sqlite_state;
    assert_eq!(state(&offline), state(&online));
    assert!(
        state(&offline)
            .1
            .contains("repeatable:a_count||how many are active|sha256:"),
        "{:?}",
        state(&offline)
    );
    assert!(
        state(&offline).1.contains("||digest of the history rows|set:4:"),
        "{:?}",
        state(&offline)
    );

    // Release 2 from r1: all three again offline, the two changed ones online; the same rows.
    let rest = m(v2, &["upgrade", "--sql", "r1:head", "--dialect", "sqlite"]);
    assert!(
        !rest.contains("-> r1,") && rest.contains("-- Running upgrade r1 -> r2, more members"),
        "{rest}"
    );
    assert_eq!(rest.matches("-- Running repeatable ").count(), 3, "{rest}");
    crate::support::program("sqlite3", &[offline.to_str().unwrap()], Some(&rest));
    let online_run = m(v2, &["upgrade", "head", "--database-url", &online_url]);
    assert_eq!(online_run.matches("Running repeatable").count(), 2, "{online_run}");
    assert_eq!(state(&offline), state(&online));
    let offline_url = format!("sqlite:{}", offline.display());
    m(v2, &["current", "--check", "--database-url", &offline_url]);
    let n = crate::support::program("sqlite3", &[offline.to_str().unwrap(), "SELECT n FROM a_count"], None);
    assert_eq!(n.trim(), "3");

    // Not to head: no repeatable.
    let partial = m(v2, &["upgrade", "--sql", "r1", "--dialect", "sqlite"]);
    assert!(
        !partial.contains("Running repeatable") && !partial.contains("INSERT OR REPLACE"),
        "{partial}"
    );
    let down = m(v2, &["downgrade", "--sql", "head:base", "--dialect", "sqlite"]);
    assert!(!down.contains("Running repeatable"), "{down}");
}

/// `upgrade --plan` and `upgrade --rehearse` list the repeatables an upgrade
/// to head would apply after their steps, with why, and say they are not in
/// the plan file nor rehearsed; applying the plan applies them.
#[test]
fn plans_and_rehearsals_list_the_repeatables_due() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd);
    let url = format!("sqlite:{}", cwd.join("app.db").display());
    let with = |args: &[&str]| -> Vec<String> {
        args.iter()
            .map(|a| a.to_string())
            .chain(["--database-url".into(), url.clone()])
            .collect()
    };
    let said = |args: &[&str]| {
        let args = with(args);
        ok(&mut migrate(cwd), &args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    // A fresh database (a plan creates no file): the revision, then both, new.
    std::fs::write(cwd.join("app.db"), "").unwrap();
    let plan = said(&["upgrade", "--plan", "plan.json"]);
    assert!(
        plan.contains("Then the repeatables due, applied after the steps by `--apply-plan` (a plan to head), from their files as they are then: repeatable:active (new), repeatable:a_count (new)"),
        "{plan}"
    );
    let rehearsed = said(&["upgrade", "--rehearse"]);
    assert!(
        rehearsed.contains("Then the repeatables due, not rehearsed (an upgrade to head applies them after these steps, each its own step): repeatable:active (new), repeatable:a_count (new)"),
        "{rehearsed}"
    );
    let applied = run(
        &mut migrate(cwd),
        &with(&["upgrade", "--apply-plan", "plan.json"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert_eq!(
        applied.stdout.matches("Running repeatable").count(),
        2,
        "{}",
        applied.stdout
    );
    said(&["current", "--check"]);

    // Up to date: none listed. Edited: it and what depends on it.
    assert!(!said(&["upgrade", "--rehearse"]).contains("repeatable:"));
    let edited = ACTIVE.replace("flag = 1", "flag = 1 OR id = 2");
    std::fs::write(cwd.join("migrations/repeatable/active.sql"), edited).unwrap();
    let expected = "repeatable:active (changed), repeatable:a_count (depends on one that runs)";
    let plan = said(&["upgrade", "--plan", "plan.json"]);
    assert!(plan.contains("Plan: 0 steps") && plan.contains(expected), "{plan}");
    assert!(said(&["upgrade", "--rehearse"]).contains(expected));
    // To the head's id: as to head. To a revision below the head: none runs, none listed.
    assert!(said(&["upgrade", "a1", "--rehearse"]).contains(expected));
    std::fs::write(cwd.join("migrations/a2_note.sql"), A2).unwrap();
    assert!(!said(&["upgrade", "a1", "--rehearse"]).contains("repeatable:"));
}

/// `migrate test` ends its walk as a deploy does, with an upgrade to head
/// that applies the repeatables, so a repeatable broken by a revision (here
/// `flags.sql`, over a column a later revision drops; PostgreSQL refuses the
/// view `active` over it first, SQLite only when a view is read) fails the test.
/// `walk_on` gives a fresh database each time.
fn test_applies_them(walk_on: &dyn Fn() -> Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd);
    std::fs::write(
        cwd.join("migrations/repeatable/flags.sql"),
        "-- flags are 0 or 1\n-- migrate:upgrade\nUPDATE account SET flag = 1 WHERE flag > 1;\n",
    )
    .unwrap();
    let args = |walk: Vec<String>| -> Vec<String> { std::iter::once("test".to_owned()).chain(walk).collect() };
    let first = args(walk_on());
    let walked = ok(&mut migrate(cwd), &first.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        walked.contains("ok          repeatable:active: applied on top of head\nok          repeatable:a_count: applied on top of head\nok          repeatable:flags: applied on top of head"),
        "{walked}"
    );
    std::fs::write(
        cwd.join("migrations/a2_drop_flag.sql"),
        "-- no more flag\n-- revision: a2\n-- down_revision: a1\n\n-- migrate:upgrade\nCREATE TABLE account2 (id INTEGER PRIMARY KEY);\nINSERT INTO account2 SELECT id FROM account;\nDROP TABLE account;\nALTER TABLE account2 RENAME TO account;\n\n-- migrate:downgrade\nDROP TABLE account;\nCREATE TABLE account (id INTEGER PRIMARY KEY, flag INTEGER NOT NULL);\n",
    )
    .unwrap();
    let second = args(walk_on());
    let broken = run(
        &mut migrate(cwd),
        &second.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(broken.code, 1, "{}{}", broken.stdout, broken.stderr);
    assert!(
        broken.stderr.contains("applying the repeatables on top of head failed")
            && broken.stderr.contains("migrations/repeatable/"),
        "{}",
        broken.stderr
    );
}

#[test]
fn migrate_test_applies_the_repeatables_on_sqlite() {
    test_applies_them(&|| vec!["--dialect".into(), "sqlite".into()]);
}

#[test]
fn migrate_test_applies_the_repeatables_on_postgres() {
    let Some(server) = postgres::reachable() else { return };
    let dbs = std::cell::RefCell::new(Vec::new());
    test_applies_them(&|| {
        let db = postgres::db(&server);
        let url = db.url.clone();
        dbs.borrow_mut().push(db);
        vec!["--database-url".into(), url]
    });
}

/// A second revision over `project`'s `a1`.
const A2: &str = "-- notes\n-- revision: a2\n-- down_revision: a1\n\n-- migrate:upgrade\nCREATE TABLE note (id INTEGER PRIMARY KEY);\n\n-- migrate:downgrade\nDROP TABLE note;\n";

/// An upgrade to the head's id, or `+N` reaching it, applies the
/// repeatables as `upgrade head` does, and `--rehearse` and `--sql` say so;
/// one to a revision below the head applies none, and `current --check`
/// counts them pending until then.
#[test]
fn an_upgrade_naming_the_head_applies_them() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd);
    std::fs::write(cwd.join("migrations/a2_note.sql"), A2).unwrap();
    let url = format!("sqlite:{}", cwd.join("app.db").display());
    let u = ["--database-url", url.as_str()];
    let with = |args: &[&'static str]| -> Vec<&str> { args.iter().copied().chain(u.iter().copied()).collect() };
    let ran = ok(&mut migrate(cwd), &with(&["upgrade", "a1"]));
    assert!(!ran.contains("Running repeatable"), "{ran}");
    let pending = fails(&mut migrate(cwd), &with(&["current", "--check"]), 3);
    assert!(pending.contains("repeatable:active"), "{pending}");
    let rehearsed = ok(&mut migrate(cwd), &with(&["upgrade", "a2", "--rehearse"]));
    assert!(
        rehearsed.contains("repeatable:active (new), repeatable:a_count (new)"),
        "{rehearsed}"
    );
    let script = ok(&mut migrate(cwd), &["upgrade", "--sql", "a1:a2", "--dialect", "sqlite"]);
    assert_eq!(script.matches("-- Running repeatable ").count(), 2, "{script}");
    let ran = ok(&mut migrate(cwd), &with(&["upgrade", "a2"]));
    assert_eq!(ran.matches("Running repeatable").count(), 2, "{ran}");
    ok(&mut migrate(cwd), &with(&["current", "--check"]));

    // `+N` from an empty database: the repeatables when it reaches the head, not before.
    let other = format!("sqlite:{}", cwd.join("other.db").display());
    let ran = ok(&mut migrate(cwd), &["upgrade", "+1", "--database-url", &other]);
    assert!(!ran.contains("Running repeatable"), "{ran}");
    let ran = ok(&mut migrate(cwd), &["upgrade", "+1", "--database-url", &other]);
    assert_eq!(ran.matches("Running repeatable").count(), 2, "{ran}");
    ok(&mut migrate(cwd), &["current", "--check", "--database-url", &other]);
}

/// A downgrade (here one whose SQL drops the views with the table they read,
/// as the fixture's `r1` does) forgets every repeatable's row, so the next
/// upgrade to head creates the views again; `stamp` below the head too, and
/// a downgrade script says so. `query` returns one value as text.
fn downgrades_forget_them(url: &str, query: &dyn Fn(&str) -> String) {
    let m = |folder: &str, args: &[&str]| {
        let mut cmd = migrate(&crate::support::repo());
        cmd.args(["--dir", folder, "--database-url", url]);
        ok(&mut cmd, args)
    };
    let (v1, v2) = ("tests/fixtures/repeatables/v1", "tests/fixtures/repeatables/v2");
    let rows = "SELECT COUNT(*) FROM migrate_history WHERE revision LIKE 'repeatable:%'";
    m(v1, &["upgrade"]);
    assert_eq!(query(rows), "3");
    m(v1, &["downgrade", "base"]);
    assert_eq!(query(rows), "0");
    let ran = m(v1, &["upgrade"]);
    assert_eq!(ran.matches("Running repeatable").count(), 3, "{ran}");
    assert_eq!(query("SELECT n FROM a_count"), "1");
    m(v1, &["current", "--check"]);

    // One step down, under the head: the views stay, their rows go, the next upgrade applies them.
    m(v2, &["upgrade"]);
    m(v2, &["downgrade", "-1"]);
    assert_eq!(query(rows), "0");
    let pending = {
        let mut cmd = migrate(&crate::support::repo());
        cmd.args(["--dir", v2, "--database-url", url]);
        fails(&mut cmd, &["current", "--check"], 3)
    };
    assert!(pending.contains("repeatable:total"), "{pending}");
    let ran = m(v2, &["upgrade"]);
    assert_eq!(ran.matches("Running repeatable").count(), 3, "{ran}");
    m(v2, &["current", "--check"]);
    assert_eq!(query("SELECT n FROM a_count"), "3");

    // A stamp below the head forgets them too.
    m(v2, &["stamp", "r1"]);
    assert_eq!(query(rows), "0");
    let script = m(v2, &["downgrade", "--sql", "head:base"]);
    assert!(
        script.contains("migrate_history\" WHERE revision LIKE ") && script.contains("'repeatable:%';"),
        "{script}"
    );
}

#[test]
fn downgrades_forget_them_on_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("app.db");
    let (url, query) = sqlite(&db);
    downgrades_forget_them(&url, &query);
}

#[test]
fn downgrades_forget_them_on_postgres() {
    let Some(server) = postgres::reachable() else { return };
    let db = postgres::db(&server);
    let query = postgres_query(&db.url);
    downgrades_forget_them(&db.url, &query);
}

/// A rolling deploy: release 2 (the fixture's `v2`, its `r2` marked
/// `expand`) migrates while release 1 still runs; release 1's start-up
/// upgrade finds a revision it does not know, so it applies none of its
/// repeatables (its older `active` would replace release 2's) and says so,
/// and both releases' `current --check` pass. The rows the runs write are
/// marked `expand`, what a build older than repeatables accepts beside it.
#[test]
fn an_older_build_beside_a_newer_one_leaves_the_repeatables_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let fixtures = crate::support::repo().join("tests/fixtures/repeatables");
    for release in ["v1", "v2"] {
        std::fs::create_dir_all(cwd.join(release).join("repeatable")).unwrap();
        for entry in ["", "repeatable"] {
            for file in std::fs::read_dir(fixtures.join(release).join(entry)).unwrap() {
                let path = file.unwrap().path();
                if path.is_file() {
                    let to = cwd.join(release).join(entry).join(path.file_name().unwrap());
                    std::fs::copy(&path, to).unwrap();
                }
            }
        }
    }
    let r2 = cwd.join("v2/r2_more_members.sql");
    let text = std::fs::read_to_string(&r2).unwrap();
    std::fs::write(
        &r2,
        text.replace(
            "-- down_revision: r1\n",
            "-- down_revision: r1\n-- migrate:phase: expand\n",
        ),
    )
    .unwrap();
    let db = cwd.join("app.db");
    let (url, query) = sqlite(&db);
    let m = |release: &str, args: &[&str]| {
        let mut cmd = migrate(cwd);
        cmd.args(["--dir", release, "--database-url", &url]);
        run(&mut cmd, args)
    };
    m("v1", &["upgrade"]);
    let ran = m("v2", &["upgrade", "--phase", "expand"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(query("SELECT COUNT(*) FROM active"), "3");
    // Release 1 starts again beside it: nothing runs, the view stays release 2's.
    let older = m("v1", &["upgrade", "--phase", "expand"]);
    assert_eq!(older.code, 0, "{}", older.stderr);
    assert!(!older.stdout.contains("Running"), "{}", older.stdout);
    assert!(
        older.stdout.contains(
            "Applied no repeatable revision (repeatable:active, repeatable:a_count differ from this folder's files)"
        ),
        "{}",
        older.stdout
    );
    assert_eq!(query("SELECT COUNT(*) FROM active"), "3");
    assert!(!m("v1", &["upgrade", "--rehearse"]).stdout.contains("repeatable:"));
    // Release 2 is current; release 1 sees a newer build's revision (exit 4), and no repeatable pending.
    let checked = m("v2", &["current", "--check"]);
    assert_eq!(checked.code, 0, "{}{}", checked.stdout, checked.stderr);
    let checked = m("v1", &["current", "--check", "--json"]);
    assert_eq!(checked.code, 4, "{}{}", checked.stdout, checked.stderr);
    assert!(checked.stdout.contains("\"pending\":[]"), "{}", checked.stdout);
    let history = m("v1", &["history"]).stdout;
    assert!(!history.contains("changed: applied again"), "{history}");
    // A newer build's revision: `current --json` gives the message its row stored.
    let current = m("v1", &["current", "--json"]).stdout;
    assert!(
        current.contains(r#""revision":"r2""#) && current.contains(r#""message":"more members""#),
        "{current}"
    );
    assert_eq!(
        query("SELECT DISTINCT phase FROM migrate_history WHERE revision LIKE 'repeatable:%'"),
        "expand"
    );
}
