//! Databases that ran revisions a squash replaced, on SQLite: what `stamp`,
//! `downgrade`, `upgrade`, `history` and `adopt` do with their old rows, and
//! what a squash refuses to write.

use crate::support::{fails, migrate, ok, run};
use std::path::Path;

/// a, b, c in a line, n above c.
fn write_folder(cwd: &Path) {
    let dir = cwd.join("migrations");
    std::fs::create_dir_all(&dir).unwrap();
    let revisions = [
        ("a", "", "CREATE TABLE t (id integer PRIMARY KEY);", "DROP TABLE t;"),
        (
            "b",
            "a",
            "ALTER TABLE t ADD COLUMN email varchar(100);",
            "ALTER TABLE t DROP COLUMN email;",
        ),
        ("c", "b", "CREATE TABLE u (id integer PRIMARY KEY);", "DROP TABLE u;"),
        ("n", "c", "CREATE TABLE v (id integer PRIMARY KEY);", "DROP TABLE v;"),
    ];
    for (id, parents, up, down) in revisions {
        std::fs::write(
            dir.join(format!("{id}_rev.sql")),
            format!("-- rev {id}\n--\n-- revision: {id}\n-- down_revision: {parents}\n\n-- migrate:upgrade\n{up}\n\n-- migrate:downgrade\n{down}\n"),
        )
        .unwrap();
    }
}

/// A SQLite database file `name` of `cwd`, created on first use.
fn url(cwd: &Path, name: &str) -> String {
    format!("sqlite:{}?mode=rwc", cwd.join(format!("{name}.db")).display())
}

/// `migrate --dir migrations --database-url URL ARGS`.
fn on(cwd: &Path, url: &str, args: &[&str]) -> crate::support::Ran {
    let mut all = vec!["--dir", "migrations", "--database-url", url];
    all.extend_from_slice(args);
    run(&mut migrate(cwd), &all)
}

/// `migrate squash --to TO --release RELEASE` on scratch SQLite databases; the baseline's id.
fn squash(cwd: &Path, to: &str, release: &str) -> String {
    let r = run(
        &mut migrate(cwd),
        &[
            "--dir",
            "migrations",
            "--dialect",
            "sqlite",
            "squash",
            "--to",
            to,
            "--release",
            release,
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let path = r.stdout.trim().lines().last().unwrap().to_owned();
    path.rsplit('/').next().unwrap().split('_').next().unwrap().to_owned()
}

/// The revisions `upgrade` ran, from its `Running upgrade X -> ID` lines.
fn ran(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Running upgrade "))
        .filter_map(|l| {
            l.split_once(" -> ")
                .map(|(_, to)| to.split(',').next().unwrap_or(to).trim().to_owned())
        })
        .collect()
}

/// `stamp base` on a database whose rows are the squashed revisions would
/// unapply the baseline: refused as the downgrade is, nothing changed, and
/// the next upgrade still runs only what is above.
#[test]
fn a_stamp_below_a_baseline_on_old_rows_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write_folder(cwd);
    let old = url(cwd, "old");
    assert_eq!(on(cwd, &old, &["upgrade", "c"]).code, 0);
    let id = squash(cwd, "c", "v1");
    let before = ok(
        &mut migrate(cwd),
        &["--dir", "migrations", "--database-url", &old, "history"],
    );
    for target in ["base", "-1"] {
        let said = fails(
            &mut migrate(cwd),
            &["--dir", "migrations", "--database-url", &old, "stamp", target],
            1,
        );
        assert!(
            said.contains(&format!("would unapply the squash baseline `{id}`")) && said.contains("v1"),
            "{said}"
        );
    }
    let after = ok(
        &mut migrate(cwd),
        &["--dir", "migrations", "--database-url", &old, "history"],
    );
    assert_eq!(after, before, "the history is as it was");
    let r = on(cwd, &old, &["upgrade"]);
    assert_eq!(ran(&r.stdout), ["n"], "{}{}", r.stdout, r.stderr);
    ok(
        &mut migrate(cwd),
        &["--dir", "migrations", "--database-url", &old, "current", "--check"],
    );
}

/// A newer build's revision above the squash, unapplied with the downgrade
/// its row stored, on a database whose rows are the squashed revisions: the
/// replaced rows are the baseline's, not more revisions to rebuild.
#[test]
fn a_stored_downgrade_on_old_rows_unapplies_only_the_newer_revision() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write_folder(cwd);
    std::fs::write(
        cwd.join("migrations/z_rev.sql"),
        "-- rev z\n--\n-- revision: z\n-- down_revision: n\n\n-- migrate:upgrade\nCREATE TABLE w (id integer PRIMARY KEY);\n\n-- migrate:downgrade\nDROP TABLE w;\n",
    )
    .unwrap();
    let old = url(cwd, "old");
    assert_eq!(on(cwd, &old, &["upgrade"]).code, 0);
    squash(cwd, "c", "v1");
    // This build is older than the database: it has no z.
    std::fs::remove_file(cwd.join("migrations/z_rev.sql")).unwrap();
    let r = on(cwd, &old, &["downgrade", "--use-stored-downgrade", "n"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("Running downgrade z -> n"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    let current = ok(
        &mut migrate(cwd),
        &["--dir", "migrations", "--database-url", &old, "current"],
    );
    assert_eq!(current.trim(), "n (head)");
    ok(
        &mut migrate(cwd),
        &["--dir", "migrations", "--database-url", &old, "current", "--check"],
    );
}
