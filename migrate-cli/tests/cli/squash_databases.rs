//! Databases that ran revisions a squash replaced, on SQLite: what `stamp`,
//! `downgrade`, `upgrade`, `current`, `history` and `adopt` do with their old
//! rows, squashed ids as targets, a second squash's releases, and another
//! set's dependency on a squashed revision.

use crate::squash::{at, baseline_id, on, ran, sqlite_url as url, squashed, write_revisions};
use crate::support::{fails, migrate, ok, run};
use std::path::Path;

/// a, b, c in a line, n above c.
fn write_folder(cwd: &Path) {
    write_revisions(
        cwd,
        &[
            ("a", "", "CREATE TABLE t (id integer PRIMARY KEY);", "DROP TABLE t;"),
            (
                "b",
                "a",
                "ALTER TABLE t ADD COLUMN email varchar(100);",
                "ALTER TABLE t DROP COLUMN email;",
            ),
            ("c", "b", "CREATE TABLE u (id integer PRIMARY KEY);", "DROP TABLE u;"),
            ("n", "c", "CREATE TABLE v (id integer PRIMARY KEY);", "DROP TABLE v;"),
        ],
    );
}

/// [`on`] expecting success; returns stdout.
fn on_ok(cwd: &Path, url: &str, args: &[&str]) -> String {
    ok(&mut migrate(cwd), &at(url, args))
}

/// [`on`] expecting exit status `code`; returns stderr.
fn on_fails(cwd: &Path, url: &str, args: &[&str], code: i32) -> String {
    fails(&mut migrate(cwd), &at(url, args), code)
}

/// `migrate squash --to TO --release RELEASE` on scratch SQLite databases; the baseline's id.
fn squash(cwd: &Path, to: &str, release: &str) -> String {
    baseline_id(&squashed(cwd, to, release, &[]).stdout)
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
    let before = on_ok(cwd, &old, &["history"]);
    for target in ["base", "-1"] {
        let said = on_fails(cwd, &old, &["stamp", target], 1);
        assert!(
            said.contains(&format!("would unapply the squash baseline `{id}`")) && said.contains("v1"),
            "{said}"
        );
    }
    let after = on_ok(cwd, &old, &["history"]);
    assert_eq!(after, before, "the history is as it was");
    // The offline script of that downgrade stops before the baseline's SQL, as the run refuses.
    let script = ok(
        &mut migrate(cwd),
        &["downgrade", "--sql", "--dialect", "sqlite", &format!("{id}:base")],
    );
    let file = old.trim_start_matches("sqlite:").split('?').next().unwrap().to_owned();
    let out = crate::support::program_output("sqlite3", &[&file], Some(&script), &[]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && said.contains("this database ran the revisions the squash baseline"),
        "{said}"
    );
    let after = on_ok(cwd, &old, &["history"]);
    assert_eq!(after, before, "the script changed nothing either");
    // An upgrade script from the baseline runs there: the squash point's row stands for it.
    let up = ok(
        &mut migrate(cwd),
        &["upgrade", "--sql", "--dialect", "sqlite", &format!("{id}:head")],
    );
    let out = crate::support::program_output("sqlite3", &["-bail", &file], Some(&up), &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = on(cwd, &old, &["upgrade"]);
    assert!(
        ran(&r.stdout).is_empty(),
        "the script ran what was above: {}{}",
        r.stdout,
        r.stderr
    );
    on_ok(cwd, &old, &["current", "--check"]);
}

/// A newer build's revision above the squash, unapplied with the downgrade
/// its row stored, on a database whose rows are the squashed revisions: the
/// replaced rows are the baseline's, not more revisions to rebuild.
#[test]
fn a_stored_downgrade_on_old_rows_unapplies_only_the_newer_revision() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write_folder(cwd);
    write_revisions(
        cwd,
        &[("z", "n", "CREATE TABLE w (id integer PRIMARY KEY);", "DROP TABLE w;")],
    );
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
    let current = on_ok(cwd, &old, &["current"]);
    assert_eq!(current.trim(), "n (head)");
    on_ok(cwd, &old, &["current", "--check"]);
}

/// The application's revision depends on `jobq@j2`, and jobq squashes j1
/// and j2 into a baseline: `check` still accepts the line; on a new database
/// the baseline meets it, on one that ran j2 the old row does; a downgrade of
/// jobq below the baseline is refused while the application's revision needs it.
#[test]
fn another_sets_dependency_on_a_squashed_revision_is_met_by_the_baseline() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let write = |dir: &str, id: &str, parent: &str, header: &str, (up, down): (&str, &str)| {
        std::fs::create_dir_all(cwd.join(dir)).unwrap();
        std::fs::write(
            cwd.join(dir).join(format!("{id}_m.sql")),
            format!("-- {id}\n-- revision: {id}\n-- down_revision: {parent}\n{header}\n-- migrate:upgrade\n{up}\n\n-- migrate:downgrade\n{down}\n"),
        )
        .unwrap();
    };
    let job = (
        "CREATE TABLE jobq_job (id INTEGER PRIMARY KEY);",
        "DROP TABLE jobq_job;",
    );
    write("jobq", "j1", "", "", job);
    let at = (
        "ALTER TABLE jobq_job ADD COLUMN at_ TEXT;",
        "ALTER TABLE jobq_job DROP COLUMN at_;",
    );
    write("jobq", "j2", "j1", "", at);
    let log = (
        "CREATE TABLE jobq_log (id INTEGER PRIMARY KEY);",
        "DROP TABLE jobq_log;",
    );
    write("jobq", "j3", "j2", "", log);
    let report = (
        "CREATE TABLE report (job INTEGER REFERENCES jobq_job (id));",
        "DROP TABLE report;",
    );
    write("migrations", "a1", "", "-- depends_on: jobq@j2", report);
    let config = |db: &str| {
        std::fs::write(
            cwd.join("migrate.toml"),
            format!(
                "database_url = \"sqlite:{}?mode=rwc\"\n\n[sets.jobq]\ndir = \"jobq\"\n",
                cwd.join(db).display()
            ),
        )
        .unwrap();
    };
    // A database that ran everything before the squash.
    config("old.db");
    ok(&mut migrate(cwd), &["--set", "jobq", "upgrade"]);
    ok(&mut migrate(cwd), &["upgrade"]);
    let r = run(
        &mut migrate(cwd),
        &[
            "--set",
            "jobq",
            "--dialect",
            "sqlite",
            "squash",
            "--to",
            "j2",
            "--release",
            "v1",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let baseline = baseline_id(&r.stdout);
    ok(&mut migrate(cwd), &["check"]);
    // The old database: nothing to do, its rows meet the line.
    ok(&mut migrate(cwd), &["--set", "jobq", "upgrade"]);
    ok(&mut migrate(cwd), &["upgrade"]);
    // A new database: jobq runs its baseline, which meets `jobq@j2`.
    config("new.db");
    let said = fails(&mut migrate(cwd), &["upgrade"], 1);
    assert!(
        said.contains("depends on revision `j2` of the migration set `jobq`, which is not applied"),
        "{said}"
    );
    ok(&mut migrate(cwd), &["--set", "jobq", "upgrade"]);
    ok(&mut migrate(cwd), &["upgrade"]);
    assert_eq!(ok(&mut migrate(cwd), &["current"]).trim(), "a1 (head)");
    // jobq's baseline cannot go while a1 needs what it stands for.
    let said = fails(&mut migrate(cwd), &["--set", "jobq", "downgrade", "base"], 1);
    assert!(said.contains(&format!("`{baseline}`")) && said.contains("a1"), "{said}");
}

/// A database at the squash point, its rows the old revisions: `current`,
/// `history` and `history --graph` all stand it at the baseline, one reading
/// (the runtime's) for every verb.
#[test]
fn a_database_at_the_squash_point_stands_at_the_baseline() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write_folder(cwd);
    let old = url(cwd, "old");
    assert_eq!(on(cwd, &old, &["upgrade", "c"]).code, 0);
    let id = squash(cwd, "c", "v1");
    let db = ["--dir", "migrations", "--database-url", old.as_str()];
    let current = ok(&mut migrate(cwd), &[&db[..], &["current"]].concat());
    assert_eq!(current.trim(), id);
    let history = ok(&mut migrate(cwd), &[&db[..], &["history"]].concat());
    assert!(
        history.contains(&format!("<base> -> {id} (current), baseline")),
        "{history}"
    );
    assert!(history.contains("b -> c (squashed into a baseline)"), "{history}");
    let graph = ok(&mut migrate(cwd), &[&db[..], &["history", "--graph"]].concat());
    assert!(graph.contains(&format!("{id} (base) (current)")), "{graph}");
}

/// A squash point names its baseline as a target (`upgrade`, `stamp`,
/// `downgrade`); another squashed id is refused, naming the release that has
/// it; `adopt alembic` of a database Alembic left at the squash point records
/// the baseline, and one inside the range is refused with the release.
#[test]
fn squashed_ids_as_targets_and_alembic_heads() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write_folder(cwd);
    let (old, empty) = (url(cwd, "old"), url(cwd, "empty"));
    assert_eq!(on(cwd, &old, &["upgrade", "c"]).code, 0);
    let id = squash(cwd, "c", "v1");
    let db = |u: &str, args: &[&str], code: i32| -> String {
        let all = [&["--dir", "migrations", "--database-url", u][..], args].concat();
        match code {
            0 => ok(&mut migrate(cwd), &all),
            code => fails(&mut migrate(cwd), &all, code),
        }
    };
    // On a fresh database, `upgrade c` runs the baseline and stops there.
    let r = on(cwd, &empty, &["upgrade", "c"]);
    assert_eq!(ran(&r.stdout), [id.as_str()], "{}{}", r.stdout, r.stderr);
    // At the point already: nothing to do, and said so with the baseline.
    let r = on(cwd, &old, &["upgrade", "c"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("already at `c` (squashed into the baseline `{id}`)")),
        "{}",
        r.stderr
    );
    let r = on(cwd, &old, &["upgrade", &id]);
    assert!(r.stderr.contains(&format!("already at `{id}`")), "{}", r.stderr);
    // Up to head, then a stamp back to the point: only n's row goes.
    assert_eq!(ran(&on(cwd, &old, &["upgrade"]).stdout), ["n"]);
    let r = on(cwd, &old, &["stamp", "c"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(db(&old, &["current"], 0).trim(), id);
    for verb in ["upgrade", "stamp", "downgrade"] {
        let said = db(&old, &[verb, "b"], 1);
        assert!(
            said.contains(&format!("`b` was squashed into the baseline `{id}`")) && said.contains("use v1"),
            "{verb}: {said}"
        );
    }

    // Alembic's word: at the point, adopted as the baseline; inside the range, refused.
    for (name, version) in [("alembic_at", "c"), ("alembic_inside", "b")] {
        let file = cwd.join(format!("{name}.db"));
        crate::support::program(
            "sqlite3",
            &[
                file.to_str().unwrap(),
                &format!(
                    "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL); INSERT INTO alembic_version VALUES ('{version}')"
                ),
            ],
            None,
        );
    }
    let at = url(cwd, "alembic_at");
    db(&at, &["adopt", "alembic"], 0);
    assert_eq!(db(&at, &["current"], 0).trim(), id);
    let inside = url(cwd, "alembic_inside");
    let said = db(&inside, &["adopt", "alembic"], 1);
    assert!(
        said.contains("Alembic revision `b`") && said.contains("upgrade it to `c` with v1"),
        "{said}"
    );
}

/// Copies every file of `from` (not its subfolders) into a new folder `to`.
fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}

/// A second squash over a first one keeps the first one's release and point:
/// a database inside the first range is sent to the first point with the
/// first release, one at the first point to the second point with the second
/// release; each release named takes it there, and then this one to head.
#[test]
fn a_second_squash_names_the_innermost_release_and_point() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write_folder(cwd);
    write_revisions(
        cwd,
        &[("o", "n", "CREATE TABLE w (id integer PRIMARY KEY);", "DROP TABLE w;")],
    );
    let (inside, at_first) = (url(cwd, "inside"), url(cwd, "at_first"));
    assert_eq!(on(cwd, &inside, &["upgrade", "b"]).code, 0);
    assert_eq!(on(cwd, &at_first, &["upgrade", "c"]).code, 0);
    // The releases as they were shipped: v1.0 before the first squash, v2.0 before the second.
    copy_folder(&cwd.join("migrations"), &cwd.join("v1.0"));
    let one = squash(cwd, "c", "v1.0");
    copy_folder(&cwd.join("migrations"), &cwd.join("v2.0"));
    let two = squash(cwd, "n", "v2.0");
    let text = std::fs::read_dir(cwd.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{two}_")))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .unwrap();
    assert!(
        text.contains(&format!(
            "-- migrate:replaces: a, b, c, {one}, n\n-- migrate:squashed: v1.0 (up to c)\n-- migrate:squashed: v2.0\n"
        )),
        "{text}"
    );
    ok(&mut migrate(cwd), &["--dir", "migrations", "check"]);

    let said = on_fails(cwd, &inside, &["upgrade"], 5);
    assert!(said.contains("upgrade it to `c` with v1.0"), "{said}");
    // A replica waiting for this build's revisions is told at once: none of its runs can move it.
    let said = on_fails(cwd, &inside, &["wait", "--timeout", "5m"], 5);
    assert!(said.contains("upgrade it to `c` with v1.0"), "{said}");
    let said = on_fails(cwd, &at_first, &["upgrade"], 5);
    assert!(said.contains("upgrade it to `n` with v2.0"), "{said}");
    // Each named release takes the database to the point named; then this one runs o.
    let with = |dir: &str, db: &str, target: &str| {
        let r = run(
            &mut migrate(cwd),
            &["--dir", dir, "--database-url", db, "upgrade", target],
        );
        assert_eq!(r.code, 0, "{dir}: {}{}", r.stdout, r.stderr);
    };
    with("v1.0", &inside, "c");
    with("v2.0", &inside, "n");
    with("v2.0", &at_first, "n");
    for db in [&inside, &at_first] {
        let r = on(cwd, db, &["upgrade"]);
        assert_eq!(ran(&r.stdout), ["o"], "{}{}", r.stdout, r.stderr);
    }
    // A target inside the first range names the first release; the first point, the second.
    let said = on_fails(cwd, &inside, &["stamp", "b"], 1);
    assert!(said.contains("use v1.0 (the last release that has `b`)"), "{said}");
    let said = on_fails(cwd, &inside, &["stamp", "c"], 1);
    assert!(said.contains("use v2.0 (the last release that has `c`)"), "{said}");
}
