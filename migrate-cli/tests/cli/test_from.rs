//! The upgrade path production takes: `test --from GIT-REF` migrates a
//! scratch database with the folder as it was at a commit, then walks
//! today's revisions from there, on SQLite and (when reachable) PostgreSQL.

use crate::support::{Ran, fails, git, migrate, ok, run};
use std::path::Path;
use std::process::Command;

fn revision(root: &Path, id: &str, parents: &str, up: &str, down: &str) {
    std::fs::create_dir_all(root.join("migrations")).unwrap();
    std::fs::write(
        root.join("migrations").join(format!("{id}_step.sql")),
        format!("-- {id} step\n--\n-- revision: {id}\n-- down_revision: {parents}\n\n-- migrate:upgrade\n{up}\n\n-- migrate:downgrade\n{down}\n"),
    )
    .unwrap();
}

/// A repository (the folder one level down, `db/migrations`) whose `main`
/// holds `a1` creating `t (id)`, tagged `v1`.
fn released() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("db");
    std::fs::create_dir_all(&root).unwrap();
    git(tmp.path(), &["init", "-q", "-b", "main"]);
    revision(
        &root,
        "a1",
        "",
        "CREATE TABLE t (id INTEGER PRIMARY KEY);",
        "DROP TABLE t;",
    );
    git(tmp.path(), &["add", "-A"]);
    git(tmp.path(), &["commit", "-q", "-m", "release 1"]);
    git(tmp.path(), &["tag", "v1"]);
    (tmp, root)
}

fn postgres() -> String {
    std::env::var("MIGRATE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The databases to walk: SQLite in memory, and scratch databases on
/// PostgreSQL when it answers (in CI it must).
fn databases() -> Vec<Vec<String>> {
    let mut all = vec![vec!["--dialect".to_owned(), "sqlite".to_owned()]];
    let url = postgres();
    match Command::new("psql").args([url.as_str(), "-Atc", "select 1"]).output() {
        Ok(o) if o.status.success() => all.push(vec!["--dev-database-url".to_owned(), url]),
        Ok(o) => crate::support::unavailable("PostgreSQL", &url, String::from_utf8_lossy(&o.stderr)),
        Err(e) => crate::support::unavailable("PostgreSQL (psql)", &url, e),
    }
    all
}

/// `migrate test` in `root` with `args`, then the database's flags.
fn test(root: &Path, args: &[&str], db: &[String]) -> Ran {
    let mut all: Vec<&str> = vec!["test"];
    all.extend(args);
    all.extend(db.iter().map(String::as_str));
    run(&mut migrate(root), &all)
}

#[test]
fn an_edited_shipped_revision_fails_only_on_the_upgrade_path() {
    for db in databases() {
        let (_tmp, root) = released();
        // The shipped revision is edited to add `c`, and a new one assumes it.
        revision(
            &root,
            "a1",
            "",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, c INTEGER);",
            "DROP TABLE t;",
        );
        revision(&root, "b2", "a1", "CREATE INDEX t_c ON t (c);", "DROP INDEX t_c;");
        let r = test(&root, &[], &db);
        assert_eq!(
            r.code, 0,
            "from empty, the edited a1 makes c: {db:?}\n{}{}",
            r.stdout, r.stderr
        );
        assert!(r.stdout.contains("ok          b2"), "{}", r.stdout);

        let r = test(&root, &["--from", "v1"], &db);
        assert_eq!(r.code, 1, "{db:?}\n{}{}", r.stdout, r.stderr);
        let e = &r.stderr;
        assert!(
            e.contains("upgrading from v1 (") && e.contains("with today's files cannot start"),
            "the phase is named: {e}"
        );
        assert!(
            e.contains("revision `a1` (migrations/a1_step.sql) was edited since v1 ("),
            "{e}"
        );
        assert!(e.contains("`migrate check --base v1`"), "{e}");
        assert!(
            !r.stdout.contains("ok          b2"),
            "nothing of today's ran: {}",
            r.stdout
        );
        // `check --base` says the same of the folder alone.
        let e = fails(&mut migrate(&root), &["check", "--base", "v1"], 1);
        assert!(e.contains("revision `a1` was edited since v1 ("), "{e}");
    }
}

#[test]
fn new_revisions_round_trip_on_the_upgrade_from_the_base() {
    for db in databases() {
        let (_tmp, root) = released();
        revision(
            &root,
            "b2",
            "a1",
            "ALTER TABLE t ADD COLUMN c INTEGER;",
            "ALTER TABLE t DROP COLUMN c;",
        );
        let r = test(&root, &["--from", "v1"], &db);
        assert_eq!(r.code, 0, "{db:?}\n{}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("ok          b2 b2 step"), "{}", r.stdout);
        assert!(
            !r.stdout.contains("a1 a1 step"),
            "a1 ran at the base, not in the walk: {}",
            r.stdout
        );
        assert!(
            r.stdout.contains("ok          v1 (") && r.stdout.contains("downgrading every new revision leaves v1 ("),
            "{}",
            r.stdout
        );
        assert!(
            r.stderr.contains("Migrated the scratch database to v1 (")
                && r.stderr.contains("1 revision(s) new since v1 ("),
            "{}",
            r.stderr
        );

        // A broken downgrade of a new revision is named as `migrate test` names it.
        revision(&root, "b2", "a1", "ALTER TABLE t ADD COLUMN c INTEGER;", "SELECT 1;");
        let r = test(&root, &["--from", "v1"], &db);
        assert_eq!(r.code, 1, "{db:?}\n{}{}", r.stdout, r.stderr);
        assert!(
            r.stdout
                .contains("BROKEN      b2 b2 step: its downgrade does not restore the schema:"),
            "{}",
            r.stdout
        );
        assert!(r.stderr.contains("1 revision(s) do not round-trip"), "{}", r.stderr);
    }
}

#[test]
fn each_phase_names_what_failed_with_the_database_message() {
    let (_tmp, root) = released();
    let sqlite = ["--dialect", "sqlite"];
    // Today's revision fails on the upgrade from the base.
    revision(&root, "b2", "a1", "CREATE INDEX t_x ON t (x);", "DROP INDEX t_x;");
    let e = fails(
        &mut migrate(&root),
        &[&["test", "--from", "v1"][..], &sqlite].concat(),
        1,
    );
    assert!(
        e.contains("the upgrade from v1 (") && e.contains("with today's files stopped: upgrading b2 failed"),
        "{e}"
    );
    assert!(e.contains("no such column: x"), "{e}");

    // The base's own revision fails: its phase, its revision, the database's words.
    std::fs::remove_file(root.join("migrations/b2_step.sql")).unwrap();
    revision(
        &root,
        "a1",
        "",
        "CREATE TABLE t (id INTEGER PRIMARY KEY);\nINSERT INTO missing VALUES (1);",
        "DROP TABLE t;",
    );
    git(&root, &["commit", "-q", "-am", "release 2"]);
    git(&root, &["tag", "v2"]);
    let e = fails(
        &mut migrate(&root),
        &[&["test", "--from", "v2"][..], &sqlite].concat(),
        1,
    );
    assert!(
        e.contains("applying the base's revisions, the folder as it was at v2 (")
            && e.contains("failed before any of today's files ran"),
        "{e}"
    );
    assert!(
        e.contains("revision `a1`") && e.contains("no such table: missing"),
        "{e}"
    );
}

#[test]
fn a_base_without_the_folder_is_a_walk_from_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    git(root, &["init", "-q", "-b", "main"]);
    std::fs::write(root.join("README"), "before migrations\n").unwrap();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "start"]);
    revision(
        root,
        "a1",
        "",
        "CREATE TABLE t (id INTEGER PRIMARY KEY);",
        "DROP TABLE t;",
    );
    let r = run(&mut migrate(root), &["test", "--from", "main", "--dialect", "sqlite"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("holds no migration in `migrations`"), "{}", r.stderr);
    assert!(
        r.stdout.contains("ok          a1")
            && r.stdout
                .contains("ok          base: downgrading everything leaves the empty database"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_new_revision_on_a_side_branch_is_walked_and_merged() {
    let (_tmp, root) = released();
    revision(&root, "b2", "a1", "CREATE TABLE two (id INTEGER);", "DROP TABLE two;");
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "release 2"]);
    git(&root, &["tag", "v2"]);
    // Since v2: a branch from a1 and the merge of both heads.
    revision(
        &root,
        "c3",
        "a1",
        "CREATE TABLE three (id INTEGER);",
        "DROP TABLE three;",
    );
    revision(&root, "d4", "b2, c3", "", "");
    let r = run(&mut migrate(&root), &["test", "--from", "v2", "--dialect", "sqlite"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("b2 b2 step"), "b2 shipped: {}", r.stdout);
    assert!(r.stdout.contains("ok          d4 d4 step"), "{}", r.stdout);
    // c3 comes before the shipped b2 in the order of application: upgraded where
    // production upgrades it, its trip left to the walk from empty.
    assert!(
        r.stderr
            .contains("c3: upgraded, not round-tripped: the applied revision `b2` comes after it"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("or upgraded without its trip as noted above"),
        "{}",
        r.stderr
    );
    let out = ok(&mut migrate(&root), &["test", "--dialect", "sqlite"]);
    assert!(out.contains("ok          c3 c3 step"), "{out}");
}

#[test]
fn an_unknown_reference_and_a_folder_outside_git_are_clear_errors() {
    let (_tmp, root) = released();
    let e = fails(
        &mut migrate(&root),
        &["test", "--from", "no-such-tag", "--dialect", "sqlite"],
        1,
    );
    assert!(e.contains("`no-such-tag` names no commit"), "{e}");
    let outside = tempfile::tempdir().unwrap();
    revision(
        outside.path(),
        "a1",
        "",
        "CREATE TABLE t (id INTEGER);",
        "DROP TABLE t;",
    );
    let e = fails(
        &mut migrate(outside.path()),
        &["test", "--from", "main", "--dialect", "sqlite"],
        1,
    );
    assert!(e.contains("is not inside a git repository"), "{e}");
    // The database is chosen first: no walk, no git, without one.
    let e = fails(&mut migrate(&root), &["test", "--from", "v1"], 2);
    assert!(e.contains("--dev-database-url"), "{e}");
}
