//! Real Alembic histories, as published on PyPI (ethyca-fides 2.78.2,
//! langflow-base 1.13.0, rattail 0.21.3 with its standalone sequences), laid
//! out by `.ci/alembic-histories setup DIR` and found through
//! `MIGRATE_TEST_ALEMBIC_HISTORIES=DIR`. For each one, as an Alembic user
//! moving to Rust would:
//!
//! - `migrate import alembic` writes the folder, run by the history's own
//!   Python environment;
//! - a crate outside the workspace embeds it with `embed_migrations!`, and
//!   its `upgrade head` on an empty PostgreSQL gives the same `pg_dump
//!   --schema-only` as Alembic's own `upgrade heads`, statement by statement;
//! - `downgrade` to revisions along the way gives Alembic's schema at each;
//! - `adopt alembic` on the database Alembic migrated records exactly what
//!   its heads need, and `upgrade head` then has nothing to do;
//! - on five pairs of states, `revision --autogenerate` from the later
//!   state's unedited `pg_dump --schema-only` writes one revision whose
//!   upgrade gives the later dump and whose downgrade gives the earlier one;
//!   `check --schema` then agrees and autogenerate again writes nothing.
//!
//! Without the set-up the tests print `SKIPPED`, and fail under `CI=true`.

#[path = "common/outside.rs"]
mod outside;
#[path = "common/pg_dump.rs"]
mod pg_dump;
#[path = "common/revision_id.rs"]
mod revision_id;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use pg_dump::{Db, SERVER, assert_same, ok, psql};

/// The history `name`'s Alembic project and the Python that runs it.
fn history(name: &str) -> Option<(PathBuf, PathBuf)> {
    let Ok(dir) = std::env::var("MIGRATE_TEST_ALEMBIC_HISTORIES") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI=true needs MIGRATE_TEST_ALEMBIC_HISTORIES (.ci/run sets it after `.ci/alembic-histories setup DIR`)"
        );
        println!("SKIPPED: MIGRATE_TEST_ALEMBIC_HISTORIES is not set (`.ci/alembic-histories setup DIR`)");
        return None;
    };
    let dir = PathBuf::from(dir);
    Some((
        dir.join(name).join("alembic.ini"),
        dir.join("venvs").join(name).join("bin/python"),
    ))
}

fn migrate(cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_migrate"));
    c.current_dir(cwd).env("NO_COLOR", "1").env_remove("DATABASE_URL");
    c
}

/// A dump with each CHECK constraint's expression left out (its name and
/// place kept): PostgreSQL deparses a CHECK it reads back from a dump
/// otherwise than the one a migration wrote (`ANY ((ARRAY['a'::varchar])::text[])`
/// against `ANY (ARRAY[('a'::varchar)::text])`), the same constraint.
fn checks_aside(dump: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = dump.into_iter().map(|st| without_check_bodies(&st)).collect();
    out.sort();
    out
}

/// A dump whose tables' columns and constraints are compared in any order:
/// a downgrade that adds back a dropped column adds it last, and PostgreSQL
/// has no way to put it back in its place (Alembic's downgrade neither).
fn columns_in_any_order(dump: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = dump
        .into_iter()
        .map(|st| {
            if !st.starts_with("CREATE TABLE") {
                return st;
            }
            let lines: Vec<&str> = st.lines().collect();
            let (Some(first), Some(last)) = (lines.first(), lines.last()) else {
                return st;
            };
            let mut body: Vec<&str> = lines[1..lines.len() - 1]
                .iter()
                .map(|l| l.trim_end_matches(','))
                .collect();
            body.sort_unstable();
            format!("{first}\n{}\n{last}\n", body.join(",\n"))
        })
        .collect();
    out.sort();
    out
}

/// `st` with the parenthesised expression after each ` CHECK ` written `(…)`
/// (parentheses inside quoted strings are not counted).
fn without_check_bodies(st: &str) -> String {
    let mut out = String::with_capacity(st.len());
    let mut rest = st;
    while let Some(at) = rest.find(" CHECK (") {
        out.push_str(&rest[..at + " CHECK ".len()]);
        let body = &rest[at + " CHECK ".len()..];
        let (mut depth, mut quoted, mut end) = (0usize, false, body.len());
        for (k, c) in body.char_indices() {
            match c {
                '\'' => quoted = !quoted,
                '(' if !quoted => depth += 1,
                ')' if !quoted => {
                    depth -= 1;
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push_str("(…)");
        rest = &body[end..];
    }
    out.push_str(rest);
    out
}

/// `migrate import alembic` of history `name` into `dir/migrations`.
fn import(ini: &Path, python: &Path, dir: &Path) {
    ok(migrate(dir)
        .args(["import", "alembic"])
        .arg(ini)
        .arg("--python")
        .arg(python)
        .args([
            "--dir",
            "migrations",
            "--dev-database-url",
            &format!("{SERVER}/postgres"),
        ]));
}

/// An application outside the workspace embedding `folder`, built once per
/// folder; it runs `upgrade head` on the URL it is given.
fn application(folder: &Path) -> PathBuf {
    let main = format!(
        "static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!({:?});\n\n#[tokio::main(flavor = \"current_thread\")]\nasync fn main() {{\n    let url = std::env::args().nth(1).unwrap();\n    let pool = migrate::sqlx::PgPool::connect(&url).await.unwrap();\n    let report = MIGRATIONS.upgrade(&pool, \"head\").await.unwrap();\n    println!(\"{{}}\", report.steps.len());\n}}\n",
        folder.display().to_string()
    );
    outside::application(
        &folder.parent().unwrap().join("app"),
        "\"postgres\"",
        &main,
        "imported-histories",
    )
}

/// The revisions of the imported folder, in application order, with their parents.
fn revisions(dir: &Path) -> Vec<(String, Vec<String>)> {
    let text = ok(migrate(dir).args(["--dir", "migrations", "history", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out: Vec<(String, Vec<String>)> = v["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let parents = row["down_revisions"].as_array().unwrap();
            let parents = parents.iter().map(|p| p.as_str().unwrap().to_owned()).collect();
            (row["revision"].as_str().unwrap().to_owned(), parents)
        })
        .collect();
    // `history` lists the newest first.
    out.reverse();
    out
}

fn alembic(python: &Path, ini: &Path, url: &str, args: &[&str]) {
    let sqlalchemy = url.replacen("postgres://", "postgresql://", 1);
    ok(Command::new(python)
        .args(["-m", "alembic", "-c"])
        .arg(ini)
        .args(args)
        .current_dir(ini.parent().unwrap())
        .env("MIGRATE_ALEMBIC_URL", sqlalchemy));
}

/// The lint on a history as its project wrote it: every finding is a rule
/// the lint has, at a line of the file that holds the statement's first word,
/// and the closing summary counts them by rule.
fn lints_as_written(name: &str, dir: &Path) {
    let out = migrate(dir)
        .args(["lint", "--dialect", "postgres", "--json"])
        .output()
        .unwrap();
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{name}: lint --json printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let found = found.as_array().unwrap();
    assert_eq!(
        out.status.code(),
        Some(if found.is_empty() { 0 } else { 1 }),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in found {
        let rule = f["rule"].as_str().unwrap();
        assert!(migrate_core::lint::rule(rule).is_some(), "{name}: unknown rule {rule}");
        let file = std::fs::read_to_string(dir.join(f["file"].as_str().unwrap())).unwrap();
        let line = f["line"].as_u64().unwrap() as usize;
        let text = file.lines().nth(line - 1).unwrap_or("");
        assert!(
            text.trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic()),
            "{name}: {rule} at {}:{line} names a line that starts no statement: `{text}`",
            f["file"]
        );
    }
}

fn whole_history(name: &str) {
    let Some((ini, python)) = history(name) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    import(&ini, &python, dir);
    let folder = dir.join("migrations");
    lints_as_written(name, dir);
    let ours = Db::new(format!("migrate_t_hist_{name}_ours"));
    let theirs = Db::new(format!("migrate_t_hist_{name}_alembic"));
    // Alembic's own upgrade, and the embedded application's.
    alembic(&python, &ini, &theirs.url(), &["upgrade", "heads"]);
    let app = application(&folder);
    ok(Command::new(&app).arg(ours.url()));
    let (a, b) = (theirs.dump(), ours.dump());
    assert_same(&a, &b, &format!("{name}: upgrade head differs from Alembic's"));
    assert!(
        a.len() > 20,
        "{name}: the dump has {} statements: nothing was compared",
        a.len()
    );

    // adopt: the database Alembic migrated, recorded; nothing left to run.
    ok(migrate(dir).args([
        "--dir",
        "migrations",
        "--database-url",
        &theirs.url(),
        "adopt",
        "alembic",
    ]));
    let recorded = psql(&theirs.0, "SELECT count(*) FROM migrate_history WHERE revision <> ''");
    let all = revisions(dir).len();
    assert_eq!(
        recorded.trim(),
        all.to_string(),
        "{name}: adopt records every revision the heads need"
    );
    let said = migrate(dir)
        .args([
            "--dir",
            "migrations",
            "--database-url",
            &theirs.url(),
            "upgrade",
            "head",
        ])
        .output()
        .unwrap();
    assert!(said.status.success());
    assert!(
        String::from_utf8_lossy(&said.stderr).contains("Nothing to do"),
        "{name}: upgrade after adopt runs nothing"
    );

    // Downgrades along the way Alembic's own downgrade goes, compared at stops 2, 4, 8, …
    // revisions below the head, as far as both go.
    let order = revisions(dir);
    let stops: Vec<&String> = (1..)
        .map(|k| 1usize << k)
        .take_while(|&back| back < order.len())
        .map(|back| &order[order.len() - 1 - back].0)
        .collect();
    let mut compared = 0;
    for stop in stops {
        let alembic_down = Command::new(&python)
            .args(["-m", "alembic", "-c"])
            .arg(&ini)
            .args(["downgrade", stop])
            .current_dir(ini.parent().unwrap())
            .env(
                "MIGRATE_ALEMBIC_URL",
                theirs.url().replacen("postgres://", "postgresql://", 1),
            )
            .output()
            .unwrap();
        if !alembic_down.status.success() {
            break; // as far as Alembic's own downgrade goes
        }
        let ran = migrate(dir)
            .args(["--dir", "migrations", "--database-url", &ours.url(), "downgrade", stop])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&ran.stderr);
        if !ran.status.success() && said.contains("it has no `-- migrate:downgrade` section") {
            // A revision whose Alembic downgrade sends nothing although its upgrade did, or
            // fails: the import left it irreversible, as it said.
            break;
        }
        assert!(ran.status.success(), "{name}: downgrade to {stop}: {said}");
        compared += 1;
        assert_same(
            &theirs.dump(),
            &ours.dump(),
            &format!("{name}: downgrade to {stop} differs from Alembic's"),
        );
    }
    assert!(compared > 0, "{name}: no downgrade was compared");
    drop((ours, theirs));
    autogenerate_pairs(name, dir, &order);
    squash_in_the_middle(name, dir, &order);
}

/// The first revision from four fifths of the history on that every later revision reaches
/// the earlier ones through (its ancestors, it included), and below which no
/// revision creates what the generator does not write (fides's `CREATE
/// AGGREGATE array_accum`: the squash would refuse, as docs/squash.md says);
/// with the number squashed, a child of it and a parent of it.
fn cut_point(dir: &Path, order: &[(String, Vec<String>)]) -> (String, usize, String, String) {
    let parents: BTreeMap<&str, &[String]> = order.iter().map(|(id, p)| (id.as_str(), p.as_slice())).collect();
    let unwritable: Vec<String> = std::fs::read_dir(dir.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .to_ascii_uppercase()
                .contains("CREATE AGGREGATE")
        })
        .map(|p| revision_id::id_of(&p.file_name().unwrap().to_string_lossy()))
        .collect();
    // From four fifths on (a squash keeps the recent revisions, and each revision above the
    // point is round-tripped by the proof), or, when something unwritable is below it, down
    // from there.
    let middle = order.len() * 4 / 5;
    let candidates = order[middle..].iter().chain(order[..middle].iter().rev());
    for (point, ps) in candidates {
        let mut below = std::collections::BTreeSet::from([point.as_str()]);
        let mut stack = vec![point.as_str()];
        while let Some(id) = stack.pop() {
            for p in parents[id].iter() {
                if below.insert(p.as_str()) {
                    stack.push(p);
                }
            }
        }
        if unwritable.iter().any(|u| below.contains(u.as_str())) {
            continue;
        }
        let crossing = order
            .iter()
            .filter(|(id, _)| !below.contains(id.as_str()))
            .any(|(_, ps)| ps.iter().any(|p| p != point && below.contains(p.as_str())));
        let child = order.iter().find(|(_, ps)| ps.contains(point));
        if let (false, Some((child, _)), Some(parent)) = (crossing, child, ps.first()) {
            return (point.clone(), below.len(), child.clone(), parent.clone());
        }
    }
    panic!("no revision is one that every later revision passes through with nothing unwritable below it");
}

/// `migrate squash --to P`, P four fifths of the way up (or below what the baseline cannot write): the proof runs on scratch
/// databases; a database at P (upgraded by the application embedding the
/// squashed folder) and one past it upgrade to head running nothing twice,
/// and reach the schema the old files give; one inside is refused.
fn squash_in_the_middle(name: &str, dir: &Path, order: &[(String, Vec<String>)]) {
    let (point, squashed, child, parent) = cut_point(dir, order);
    let on = |db: &Db, args: &[&str]| {
        let mut c = migrate(dir);
        c.args(["--dir", "migrations", "--database-url", &db.url()]).args(args);
        c
    };
    // Named by the process too: another run of these tests on the server keeps its own.
    let db = |what: &str| Db::new(format!("migrate_t_hist_{name}_{what}_{}", std::process::id()));
    let (old_head, at, past, inside) = (db("old_head"), db("at"), db("past"), db("inside"));
    ok(&mut on(&old_head, &["upgrade", "head"]));
    ok(&mut on(&at, &["upgrade", &point]));
    ok(&mut on(&past, &["upgrade", &child]));
    ok(&mut on(&inside, &["upgrade", &parent]));
    let rows = |db: &Db| {
        psql(
            &db.0,
            "SELECT revision FROM migrate_history WHERE revision <> '' ORDER BY revision",
        )
    };

    let said = ok(migrate(dir).args([
        "--dir",
        "migrations",
        "--dev-database-url",
        &format!("{SERVER}/postgres"),
        "squash",
        "--to",
        &point,
        "--release",
        "v-before-squash",
    ]));
    let id = revision_id::id_of(said.trim().lines().last().unwrap());
    assert_eq!(
        revisions(dir).len(),
        order.len() - squashed + 1,
        "{name}: {squashed} revisions squashed into one"
    );

    // At the point, through the application embedding the squashed folder.
    let before = rows(&at);
    let ran: usize = ok(Command::new(application(&dir.join("migrations"))).arg(at.url()))
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        ran,
        order.len() - squashed,
        "{name}: only the revisions above {point} ran"
    );
    // Past it, through the command line.
    let upgraded = ok(&mut on(&past, &["upgrade", "head"]));
    assert!(
        !upgraded.contains(&id) && !upgraded.contains(&format!("-> {child},")),
        "{name}: {upgraded}"
    );
    for db in [&at, &past] {
        let now = rows(db);
        assert!(!now.contains(&id), "{name}: the baseline's row was written");
        assert_eq!(now.lines().count(), order.len(), "{name}: every revision ran once");
        assert_same(
            &checks_aside(old_head.dump()),
            &checks_aside(db.dump()),
            &format!("{name}: the upgrade after the squash differs from the old head"),
        );
    }
    assert!(rows(&at).starts_with(before.lines().next().unwrap()));
    let fresh = db("fresh");
    ok(&mut on(&fresh, &["upgrade", "head"]));
    assert_same(
        &columns_in_any_order(checks_aside(old_head.dump())),
        &columns_in_any_order(checks_aside(fresh.dump())),
        &format!("{name}: the baseline and what is above differ from the old head"),
    );

    // Inside the range: refused before anything runs, naming the release.
    let refused = on(&inside, &["upgrade", "head"]).output().unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(5), "{name}: {said}");
    assert!(
        said.contains(&format!("upgrade it to `{point}` with v-before-squash")),
        "{name}: {said}"
    );
}

/// Five pairs of states: autogenerate from the later state's dump, on a
/// folder that ends at the earlier one.
fn autogenerate_pairs(name: &str, dir: &Path, order: &[(String, Vec<String>)]) {
    let n = order.len();
    let pairs = [
        (n / 6, n / 6 + 1),
        (n / 3, n / 3 + 3),
        (n / 2, n / 2 + 8),
        (2 * n / 3, 2 * n / 3 + 20),
        (n - 30, n - 1),
    ];
    let files: BTreeMap<String, PathBuf> = std::fs::read_dir(dir.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (revision_id::id_of(&p.file_name().unwrap().to_string_lossy()), p))
        .collect();
    for (k, (early, late)) in pairs.into_iter().enumerate() {
        let (e, l) = (&order[early].0, &order[late.min(n - 1)].0);
        let later = Db::new(format!("migrate_t_hist_{name}_later"));
        ok(migrate(dir).args(["--dir", "migrations", "--database-url", &later.url(), "upgrade", l]));
        let schema = ok(Command::new("pg_dump").args([
            "--schema-only",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "--exclude-table=migrate_history*",
            &later.0,
        ]));
        let work = dir.join(format!("pair{k}"));
        let sub = work.join("migrations");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(work.join("schema.sql"), &schema).unwrap();
        // The folder up to the earlier state: its ancestors (upgrade to it applies exactly those).
        let earlier = Db::new(format!("migrate_t_hist_{name}_earlier"));
        ok(migrate(dir).args(["--dir", "migrations", "--database-url", &earlier.url(), "upgrade", e]));
        for id in psql(&earlier.0, "SELECT revision FROM migrate_history WHERE revision <> ''").lines() {
            let from = &files[id.trim()];
            std::fs::copy(from, sub.join(from.file_name().unwrap())).unwrap();
        }
        let dev = format!("{SERVER}/postgres");
        let args = |extra: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = vec!["--dev-database-url".into(), dev.clone()];
            v.extend(extra.iter().map(|s| s.to_string()));
            v
        };
        ok(migrate(&work).args(args(&[
            "revision",
            "--autogenerate",
            "-m",
            "to later",
            "--schema",
            "schema.sql",
            "--allow-destructive",
        ])));
        let target = Db::new(format!("migrate_t_hist_{name}_auto"));
        ok(migrate(&work).args(["--database-url", &target.url(), "upgrade", "head"]));
        assert_same(
            &checks_aside(later.dump()),
            &checks_aside(target.dump()),
            &format!("{name} pair {e}..{l}: the generated upgrade differs from the later state"),
        );
        ok(migrate(&work).args(["--database-url", &target.url(), "downgrade", "-1"]));
        assert_same(
            &columns_in_any_order(checks_aside(earlier.dump())),
            &columns_in_any_order(checks_aside(target.dump())),
            &format!("{name} pair {e}..{l}: the generated downgrade differs from the earlier state"),
        );
        ok(migrate(&work).args(args(&["check", "--schema", "schema.sql"])));
        let again = migrate(&work)
            .args(args(&[
                "revision",
                "--autogenerate",
                "-m",
                "again",
                "--schema",
                "schema.sql",
            ]))
            .output()
            .unwrap();
        let written = std::fs::read_dir(&sub).unwrap().count();
        assert_eq!(
            written,
            psql(&earlier.0, "SELECT count(*) FROM migrate_history WHERE revision <> ''")
                .trim()
                .parse::<usize>()
                .unwrap()
                + 1,
            "{name} pair {e}..{l}: autogenerate again writes nothing ({})",
            String::from_utf8_lossy(&again.stderr)
        );
    }
}

#[test]
fn fides() {
    whole_history("fides");
}

#[test]
fn langflow() {
    whole_history("langflow");
}

#[test]
fn rattail() {
    whole_history("rattail");
}
