//! `migrate lint` and the lint `check` runs: rule, file and line of each
//! finding, `--json`, `--base`, `lint_from`, levels from migrate.toml.

use crate::support::{fails, git, migrate, ok, run};
use std::path::Path;

fn revision(root: &Path, id: &str, parents: &str, header: &str, sql: &str) {
    std::fs::write(
        root.join("migrations").join(format!("{id}_m.sql")),
        format!("-- m\n--\n-- revision: {id}\n-- down_revision: {parents}\n-- migrate:lock-timeout: 5s\n{header}\n-- migrate:upgrade\n{sql}\n"),
    )
    .unwrap();
}

/// `a1` creates `item`; `b2` indexes it without CONCURRENTLY (line 8 of its file).
fn project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("migrations")).unwrap();
    revision(
        tmp.path(),
        "a1",
        "",
        "",
        "CREATE TABLE item (id INT);\nCREATE INDEX item_id ON item (id);",
    );
    revision(
        tmp.path(),
        "b2",
        "a1",
        "",
        "SELECT 1;\nCREATE INDEX item_id2 ON item (id);",
    );
    tmp
}

#[test]
fn an_unsafe_statement_fails_naming_rule_file_and_line() {
    let tmp = project();
    let e = fails(&mut migrate(tmp.path()), &["lint", "--dialect", "postgres"], 1);
    assert!(
        e.contains("error[index-without-concurrently]: `CREATE INDEX` on the existing table `item`"),
        "{e}"
    );
    assert!(e.contains("--> migrations/b2_m.sql:9"), "{e}");
    assert!(
        e.contains("= help: write it with `CONCURRENTLY` (`CREATE INDEX CONCURRENTLY`"),
        "{e}"
    );
    // The index on the table its own revision created is fine.
    assert!(!e.contains("a1_m.sql"), "{e}");
    assert!(e.contains("add `lint_from = \"b2\"` to migrate.toml"), "{e}");
    // The database URL's scheme names the dialect too; without either, a usage error.
    fails(
        &mut migrate(tmp.path()),
        &["lint", "--database-url", "postgres://u@h/db"],
        1,
    );
    let e = fails(&mut migrate(tmp.path()), &["lint"], 2);
    assert!(e.contains("--dialect postgres|mysql|sqlite"), "{e}");
    // So does `dialect` in migrate.toml, for a CI job without a database.
    std::fs::write(tmp.path().join("migrate.toml"), "dialect = \"postgres\"\n").unwrap();
    let e = fails(&mut migrate(tmp.path()), &["lint"], 1);
    assert!(e.contains("error[index-without-concurrently]"), "{e}");
    std::fs::write(tmp.path().join("migrate.toml"), "dialect = \"oracle\"\n").unwrap();
    let e = fails(&mut migrate(tmp.path()), &["lint"], 1);
    assert!(
        e.contains("migrate.toml") && e.contains("unknown dialect `oracle`"),
        "{e}"
    );
    std::fs::remove_file(tmp.path().join("migrate.toml")).unwrap();
    // A waiver with its reason.
    revision(
        tmp.path(),
        "b2",
        "a1",
        "-- migrate:allow index-without-concurrently: item holds ten rows",
        "SELECT 1;\nCREATE INDEX item_id2 ON item (id);",
    );
    let said = ok(&mut migrate(tmp.path()), &["lint", "--dialect", "postgres"]);
    assert!(said.contains("0 error(s), 0 warning(s), 1 waived"), "{said}");
}

#[test]
fn json_for_ci() {
    let tmp = project();
    let r = run(&mut migrate(tmp.path()), &["lint", "--dialect", "postgres", "--json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let found: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let f = &found[0];
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(f["rule"], "index-without-concurrently");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["file"], "migrations/b2_m.sql");
    assert_eq!(f["line"], 9);
    assert!(f["help"].as_str().unwrap().contains("CONCURRENTLY"));
}

#[test]
fn lint_from_and_levels_in_migrate_toml() {
    let tmp = project();
    std::fs::write(tmp.path().join("migrate.toml"), "lint_from = \"b2\"\n").unwrap();
    ok(&mut migrate(tmp.path()), &["lint", "--dialect", "postgres"]);
    revision(
        tmp.path(),
        "c3",
        "b2",
        "",
        "ALTER TABLE item ADD COLUMN x INT DEFAULT random();",
    );
    let e = fails(&mut migrate(tmp.path()), &["lint", "--dialect", "postgres"], 1);
    assert!(e.contains("error[volatile-default]") && e.contains("c3_m.sql:8"), "{e}");
    assert!(!e.contains("b2_m.sql") && !e.contains("lint_from = "), "{e}");
    // A rule lowered to a warning prints and passes; off, it is silent.
    std::fs::write(
        tmp.path().join("migrate.toml"),
        "lint_from = \"b2\"\n[lint]\nvolatile-default = \"warning\"\n",
    )
    .unwrap();
    let r = run(&mut migrate(tmp.path()), &["lint", "--dialect", "postgres"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("warning[volatile-default]"), "{}", r.stderr);
    std::fs::write(
        tmp.path().join("migrate.toml"),
        "lint_from = \"b2\"\n[lint]\nvolatile-default = \"off\"\n",
    )
    .unwrap();
    let r = run(&mut migrate(tmp.path()), &["lint", "--dialect", "postgres"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("volatile-default"), "{}", r.stderr);
    // A rule the lint does not have, a level it does not know, a revision the folder lacks.
    std::fs::write(tmp.path().join("migrate.toml"), "[lint]\nno-such-rule = \"off\"\n").unwrap();
    let e = fails(&mut migrate(tmp.path()), &["lint", "--dialect", "postgres"], 1);
    assert!(e.contains("no lint rule is called `no-such-rule`"), "{e}");
    std::fs::write(tmp.path().join("migrate.toml"), "[lint]\nset-not-null = \"loud\"\n").unwrap();
    let e = fails(&mut migrate(tmp.path()), &["lint", "--dialect", "postgres"], 1);
    assert!(e.contains("unknown lint level `loud`"), "{e}");
    std::fs::write(tmp.path().join("migrate.toml"), "lint_from = \"zz\"\n").unwrap();
    let e = fails(&mut migrate(tmp.path()), &["lint", "--dialect", "postgres"], 2);
    assert!(e.contains("`lint_from = \"zz\"` names no revision"), "{e}");
}

#[test]
fn check_runs_the_lint() {
    let tmp = project();
    let e = fails(&mut migrate(tmp.path()), &["check", "--dialect", "postgres"], 1);
    assert!(
        e.contains("error[index-without-concurrently]") && e.contains("migrations/b2_m.sql:9"),
        "{e}"
    );
    assert!(e.contains("index-without-concurrently at migrations/b2_m.sql:9"), "{e}");
    let r = run(&mut migrate(tmp.path()), &["check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("not linted: no dialect known"), "{}", r.stderr);
    // What cannot run at all fails check (and the build) whatever the dialect.
    revision(
        tmp.path(),
        "c3",
        "b2",
        "",
        "CREATE INDEX CONCURRENTLY item_c ON item (id);",
    );
    let e = fails(&mut migrate(tmp.path()), &["check"], 1);
    assert!(
        e.contains("[concurrently-in-transaction]") && e.contains("c3_m.sql:8"),
        "{e}"
    );
}

#[test]
fn base_limits_the_lint_to_new_revisions() {
    let tmp = project();
    git(tmp.path(), &["init", "-q", "-b", "main"]);
    git(tmp.path(), &["add", "-A"]);
    git(tmp.path(), &["commit", "-q", "-m", "release 1"]);
    git(tmp.path(), &["tag", "v1"]);
    ok(
        &mut migrate(tmp.path()),
        &["lint", "--dialect", "postgres", "--base", "v1"],
    );
    ok(
        &mut migrate(tmp.path()),
        &["check", "--dialect", "postgres", "--base", "v1"],
    );
    revision(
        tmp.path(),
        "c3",
        "b2",
        "",
        "ALTER TABLE item ALTER COLUMN id TYPE BIGINT;",
    );
    let e = fails(
        &mut migrate(tmp.path()),
        &["lint", "--dialect", "postgres", "--base", "v1"],
        1,
    );
    assert!(
        e.contains("error[column-type-rewrite]") && e.contains("c3_m.sql:8"),
        "{e}"
    );
    assert!(e.contains("from `int` to `bigint`"), "{e}");
    assert!(!e.contains("b2_m.sql"), "{e}");
    let e = fails(
        &mut migrate(tmp.path()),
        &["check", "--dialect", "postgres", "--base", "v1"],
        1,
    );
    assert!(e.contains("column-type-rewrite at migrations/c3_m.sql:8"), "{e}");
}
