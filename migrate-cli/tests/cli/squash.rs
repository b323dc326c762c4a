//! `migrate squash --to REV` on a graph with a branch and a merge inside the
//! range, on each database: the proof runs, the old files move, and the
//! databases that ran the old revisions keep working (at the point, past it,
//! empty), one stopped inside the range is refused with the release.

use crate::databases::{Db, mysql, postgres};
use crate::support::{fails, id_of, migrate, ok, run};
use std::path::Path;

/// Where the scratch databases are made and where the test databases live.
struct Backend {
    /// `--dev-database-url URL` or `--dialect sqlite`.
    scratch: Vec<String>,
    /// A new empty database's URL, and what drops it.
    fresh: Box<dyn Fn(&Path, &str) -> (String, Option<Db>)>,
    /// `DROP INDEX` as the database writes it.
    drop_index: &'static str,
}

/// a, then b1 and c1 from a, merged by m; n and o above.
fn write_folder(cwd: &Path, drop_index: &str) {
    let revisions = [
        (
            "a",
            "",
            "CREATE TABLE t (id integer PRIMARY KEY, name varchar(100) NOT NULL);",
            "DROP TABLE t;",
        ),
        (
            "b1",
            "a",
            "ALTER TABLE t ADD COLUMN email varchar(100);",
            "ALTER TABLE t DROP COLUMN email;",
        ),
        (
            "c1",
            "a",
            "CREATE TABLE u (id integer PRIMARY KEY, t_id integer, FOREIGN KEY (t_id) REFERENCES t (id));",
            "DROP TABLE u;",
        ),
        ("m", "b1, c1", "CREATE INDEX t_email ON t (email);", drop_index),
        (
            "n",
            "m",
            "CREATE TABLE v (id integer PRIMARY KEY, note varchar(20) DEFAULT 'x');",
            "DROP TABLE v;",
        ),
        (
            "o",
            "n",
            "ALTER TABLE v ADD COLUMN at_ varchar(20);",
            "ALTER TABLE v DROP COLUMN at_;",
        ),
    ];
    write_revisions(cwd, &revisions);
}

/// `migrations/ID_rev.sql` for each (id, down_revision, upgrade, downgrade).
pub(crate) fn write_revisions(cwd: &Path, revisions: &[(&str, &str, &str, &str)]) {
    let dir = cwd.join("migrations");
    std::fs::create_dir_all(&dir).unwrap();
    for (id, parents, up, down) in revisions {
        std::fs::write(
            dir.join(format!("{id}_rev.sql")),
            format!("-- rev {id}\n--\n-- revision: {id}\n-- down_revision: {parents}\n\n-- migrate:upgrade\n{up}\n\n-- migrate:downgrade\n{down}\n"),
        )
        .unwrap();
    }
}

/// `--dir migrations --database-url URL ARGS`.
pub(crate) fn at<'a>(url: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--dir", "migrations", "--database-url", url];
    all.extend_from_slice(args);
    all
}

/// `migrate --dir migrations --database-url URL ARGS`.
pub(crate) fn on(cwd: &Path, url: &str, args: &[&str]) -> crate::support::Ran {
    run(&mut migrate(cwd), &at(url, args))
}

/// A SQLite database file `name` of `cwd`, created on first use.
pub(crate) fn sqlite_url(cwd: &Path, name: &str) -> String {
    format!("sqlite:{}?mode=rwc", cwd.join(format!("{name}.db")).display())
}

/// `migrate --dir migrations --dialect sqlite squash --to TO --release
/// RELEASE EXTRA`, which succeeds.
pub(crate) fn squashed(cwd: &Path, to: &str, release: &str, extra: &[&str]) -> crate::support::Ran {
    let mut args = vec![
        "--dir",
        "migrations",
        "--dialect",
        "sqlite",
        "squash",
        "--to",
        to,
        "--release",
        release,
    ];
    args.extend_from_slice(extra);
    let r = run(&mut migrate(cwd), &args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    r
}

/// The schema a database holds, as `schema dump` writes it.
fn schema_of(cwd: &Path, url: &str) -> String {
    let r = on(cwd, url, &["schema", "dump"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    r.stdout
}

/// The revisions `upgrade` ran, from its `Running upgrade X -> ID` lines.
pub(crate) fn ran(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("Running upgrade "))
        .filter_map(|l| {
            l.split_once(" -> ")
                .map(|(_, to)| to.split(',').next().unwrap_or(to).trim().to_owned())
        })
        .collect()
}

fn squash_keeps_every_database_working(b: &Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write_folder(cwd, b.drop_index);
    // Databases migrated with the old files: at the point, past it, inside the range.
    let (at, _at) = (b.fresh)(cwd, "at");
    let (past, _past) = (b.fresh)(cwd, "past");
    let (inside, _inside) = (b.fresh)(cwd, "inside");
    let (empty, _empty) = (b.fresh)(cwd, "empty");
    for (url, target) in [(&at, "m"), (&past, "n"), (&inside, "b1")] {
        let r = on(cwd, url, &["upgrade", target]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }

    // A point that c1 bypasses is refused, and nothing changes.
    let mut args: Vec<&str> = vec!["--dir", "migrations"];
    args.extend(b.scratch.iter().map(String::as_str));
    let refused = fails(
        &mut migrate(cwd),
        &[&args[..], &["squash", "--to", "b1", "--release", "v1.0"]].concat(),
        1,
    );
    assert!(
        refused.contains("revision `c1`") && refused.contains("needs `a`"),
        "{refused}"
    );

    let r = run(
        &mut migrate(cwd),
        &[&args[..], &["squash", "--to", "m", "--release", "v1.0"]].concat(),
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("The baseline gives the same schema as the squashed revisions"),
        "{}",
        r.stderr
    );
    // The proof's lines, then the baseline's path.
    let baseline = r.stdout.trim().lines().last().unwrap().to_owned();
    assert!(r.stdout.contains("ok          n rev n"), "{}", r.stdout);
    let id = id_of(&baseline);
    let text = std::fs::read_to_string(cwd.join(&baseline)).unwrap();
    assert!(
        text.contains("-- migrate:replaces: a, c1, b1, m\n-- migrate:squashed: v1.0\n"),
        "{text}"
    );
    let moved = cwd.join("migrations/squashed").join(&id);
    for old in ["a", "b1", "c1", "m"] {
        assert!(moved.join(format!("{old}_rev.sql")).is_file(), "{old} moved");
        assert!(!cwd.join(format!("migrations/{old}_rev.sql")).exists(), "{old} left");
    }
    let n = std::fs::read_to_string(cwd.join("migrations/n_rev.sql")).unwrap();
    assert!(n.contains(&format!("-- down_revision: {id}\n")), "{n}");
    ok(&mut migrate(cwd), &["--dir", "migrations", "check"]);
    // A squashed file put back is refused by check, as by the build.
    std::fs::copy(moved.join("b1_rev.sql"), cwd.join("migrations/b1_rev.sql")).unwrap();
    let said = fails(&mut migrate(cwd), &["--dir", "migrations", "check"], 1);
    assert!(
        said.contains(&format!(
            "the baseline `{id}` replaces `b1`, which is still a revision of the folder"
        )),
        "{said}"
    );
    std::fs::remove_file(cwd.join("migrations/b1_rev.sql")).unwrap();

    // Empty: the baseline runs. At the point and past it: nothing squashed runs again.
    let r = on(cwd, &empty, &["upgrade"]);
    assert_eq!(ran(&r.stdout), [id.as_str(), "n", "o"], "{}{}", r.stdout, r.stderr);
    let r = on(cwd, &at, &["upgrade"]);
    assert_eq!(ran(&r.stdout), ["n", "o"], "{}{}", r.stdout, r.stderr);
    let r = on(cwd, &past, &["upgrade"]);
    assert_eq!(ran(&r.stdout), ["o"], "{}{}", r.stdout, r.stderr);
    let head = schema_of(cwd, &empty);
    assert_eq!(schema_of(cwd, &at), head);
    assert_eq!(schema_of(cwd, &past), head);
    for url in [&at, &past, &empty] {
        ok(
            &mut migrate(cwd),
            &["--dir", "migrations", "--database-url", url, "current", "--check"],
        );
        let current = ok(
            &mut migrate(cwd),
            &["--dir", "migrations", "--database-url", url, "current"],
        );
        assert_eq!(current.trim(), "o (head)");
    }

    // Inside the range: refused before anything runs, with the release, exit 5.
    let before = schema_of(cwd, &inside);
    let said = fails(
        &mut migrate(cwd),
        &["--dir", "migrations", "--database-url", &inside, "upgrade"],
        5,
    );
    assert!(
        said.contains(&format!("this database is at `b1`, inside the revisions squashed into `{id}` (it holds `a`, `b1` but not `m`); upgrade it to `m` with v1.0")),
        "{said}"
    );
    assert_eq!(schema_of(cwd, &inside), before, "nothing ran");

    // Down to the baseline works; below it, on rows of the old revisions, is refused.
    let r = on(cwd, &at, &["downgrade", &id]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let said = fails(
        &mut migrate(cwd),
        &["--dir", "migrations", "--database-url", &at, "downgrade", "base"],
        1,
    );
    assert!(
        said.contains(&format!("would unapply the squash baseline `{id}`")) && said.contains("v1.0"),
        "{said}"
    );
    let r = on(cwd, &empty, &["downgrade", "base"]);
    assert_eq!(r.code, 0, "the baseline's own row goes down: {}", r.stderr);
}

#[test]
fn squash_on_sqlite() {
    squash_keeps_every_database_working(&Backend {
        scratch: vec!["--dialect".into(), "sqlite".into()],
        fresh: Box::new(|cwd, name| {
            (
                format!("sqlite:{}?mode=rwc", cwd.join(format!("{name}.db")).display()),
                None,
            )
        }),
        drop_index: "DROP INDEX t_email;",
    });
}

#[test]
fn squash_on_postgres() {
    let Some(server) = postgres::reachable() else { return };
    squash_keeps_every_database_working(&Backend {
        scratch: vec!["--dev-database-url".into(), server.clone()],
        fresh: Box::new(move |_, _| {
            let db = postgres::db(&server);
            (db.url.clone(), Some(db))
        }),
        drop_index: "DROP INDEX t_email;",
    });
}

#[test]
fn squash_on_mysql() {
    let server = mysql::server();
    if let Err(e) = std::panic::catch_unwind(|| mysql::mysql(&server, &["-e", "SELECT 1"], None)) {
        return crate::support::unavailable("MySQL/MariaDB", &server, format!("{e:?}"));
    }
    squash_keeps_every_database_working(&Backend {
        scratch: vec!["--dev-database-url".into(), server.clone()],
        fresh: Box::new(move |_, _| {
            let db = mysql::db(&server);
            (db.url.clone(), Some(db))
        }),
        drop_index: "DROP INDEX t_email ON t;",
    });
}

/// The folder's files, hidden ones and subfolders' too, sorted.
fn listing(cwd: &Path) -> Vec<String> {
    let mut names: Vec<String> = walk(&cwd.join("migrations"));
    names.sort();
    names
}

#[test]
fn a_missing_release_writes_nothing_and_an_old_broken_trip_is_not_the_squashs() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write_folder(cwd, "DROP INDEX t_email;");
    // o's downgrade leaves its column, before the squash as after.
    let o = cwd.join("migrations/o_rev.sql");
    let text = std::fs::read_to_string(&o)
        .unwrap()
        .replace("ALTER TABLE v DROP COLUMN at_;", "SELECT 1;");
    std::fs::write(&o, text).unwrap();
    let before = listing(cwd);
    // Outside git and without --release: asked for, nothing written.
    let said = fails(
        &mut migrate(cwd),
        &["--dir", "migrations", "--dialect", "sqlite", "squash", "--to", "m"],
        2,
    );
    assert!(said.contains("pass --release NAME"), "{said}");
    assert_eq!(listing(cwd), before);
    let r = squashed(cwd, "m", "v1", &[]);
    assert!(r.stdout.contains("BROKEN      o rev o"), "{}", r.stdout);
    assert!(r.stderr.contains("did not on the old revisions either"), "{}", r.stderr);
}

#[test]
fn a_baseline_that_misses_something_is_refused_and_nothing_is_written() {
    let Some(server) = postgres::reachable() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write_folder(cwd, "DROP INDEX t_email;");
    // A domain is read but not generated: the baseline would lack it.
    let b1 = cwd.join("migrations/b1_rev.sql");
    let text = std::fs::read_to_string(&b1).unwrap().replace(
        "ALTER TABLE t ADD COLUMN email varchar(100);",
        "CREATE DOMAIN positive AS integer CHECK (VALUE > 0);\nALTER TABLE t ADD COLUMN email varchar(100);",
    );
    std::fs::write(
        &b1,
        text.replace(
            "ALTER TABLE t DROP COLUMN email;",
            "ALTER TABLE t DROP COLUMN email;\nDROP DOMAIN positive;",
        ),
    )
    .unwrap();
    let before = listing(cwd);
    let r = run(
        &mut migrate(cwd),
        &[
            "--dir",
            "migrations",
            "--dev-database-url",
            &server,
            "squash",
            "--to",
            "m",
            "--release",
            "v1",
        ],
    );
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("differs") && r.stdout.contains("positive"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr
            .contains("the baseline does not give the schema the squashed revisions give"),
        "{}",
        r.stderr
    );
    assert_eq!(listing(cwd), before, "nothing written, no staging folder left");
}

/// Every file under `dir`, hidden ones too, relative to it.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() {
            out.extend(walk(&e.path()).into_iter().map(|n| format!("{name}/{n}")));
        } else {
            out.push(name);
        }
    }
    out
}

/// The baseline's id, from the path `squash` prints last.
pub(crate) fn baseline_id(stdout: &str) -> String {
    id_of(stdout.trim().lines().last().unwrap())
}

/// A second squash over the first baseline, with `--delete`: the new
/// baseline replaces the first one's ids too, so a database that ran the
/// oldest files, one that ran the first baseline and an empty one all reach
/// head running only what is above; the second squash's files are deleted,
/// the first squash's folder is left as it was.
#[test]
fn a_second_squash_over_a_baseline_with_delete() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write_folder(cwd, "DROP INDEX t_email;");
    let url = |name: &str| sqlite_url(cwd, name);
    let (oldest, first, empty) = (url("oldest"), url("first"), url("empty"));
    assert_eq!(on(cwd, &oldest, &["upgrade", "n"]).code, 0);
    let squash = |to: &str, release: &str, delete: bool| {
        let extra: &[&str] = if delete { &["--delete"] } else { &[] };
        baseline_id(&squashed(cwd, to, release, extra).stdout)
    };
    let one = squash("m", "v1", false);
    assert_eq!(on(cwd, &first, &["upgrade", "n"]).code, 0);
    let first_folder = walk(&cwd.join("migrations/squashed"));
    let two = squash("n", "v2", true);

    let text = std::fs::read_to_string(
        std::fs::read_dir(cwd.join("migrations"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{two}_")))
            .unwrap(),
    )
    .unwrap();
    assert!(
        text.contains(&format!(
            "-- migrate:replaces: a, c1, b1, m, {one}, n\n-- migrate:squashed: v1 (up to m)\n-- migrate:squashed: v2\n"
        )),
        "{text}"
    );
    // --delete: the second squash's files are gone, not moved; the first's folder is untouched.
    assert!(!cwd.join("migrations/squashed").join(&two).exists());
    assert_eq!(walk(&cwd.join("migrations/squashed")), first_folder);
    let mut left: Vec<String> = std::fs::read_dir(cwd.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    left.sort();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        left[0].starts_with(&format!("{two}_")) || left[1].starts_with(&format!("{two}_")),
        "{left:?}"
    );
    assert!(left.contains(&"o_rev.sql".to_owned()), "{left:?}");
    ok(&mut migrate(cwd), &["--dir", "migrations", "check"]);

    let r = on(cwd, &oldest, &["upgrade"]);
    assert_eq!(ran(&r.stdout), ["o"], "{}{}", r.stdout, r.stderr);
    let r = on(cwd, &first, &["upgrade"]);
    assert_eq!(ran(&r.stdout), ["o"], "{}{}", r.stdout, r.stderr);
    let r = on(cwd, &empty, &["upgrade"]);
    assert_eq!(ran(&r.stdout), [two.as_str(), "o"], "{}{}", r.stdout, r.stderr);
    let head = schema_of(cwd, &empty);
    assert_eq!(schema_of(cwd, &oldest), head);
    assert_eq!(schema_of(cwd, &first), head);
}
