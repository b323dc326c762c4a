//! A whole Alembic-style session on SQLite, as a user types it: init, three
//! revisions, upgrade, downgrade, current, a fork that `check` rejects with
//! the macro's words, merge, upgrade again; then the offline scripts, run
//! by the `sqlite3` program, leave the same schema and history rows.

use crate::support::{fails, id_of, migrate, ok, program, write_sql};
use std::path::Path;

/// The schema (sqlite_master) and the history rows but for applied_at and execution_ms.
pub(crate) fn sqlite_state(db: &Path) -> (String, String) {
    let db = db.to_str().unwrap();
    let schema = program(
        "sqlite3",
        &[
            db,
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name",
        ],
        None,
    );
    let rows = program(
        "sqlite3",
        &[
            db,
            "SELECT revision, down_revisions, message, checksum, state, error FROM migrate_history ORDER BY revision",
        ],
        None,
    );
    (schema, rows)
}

#[test]
fn alembic_session_then_offline_scripts_match_online() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let online = cwd.join("online.db");
    let url = format!("sqlite:{}", online.display());
    let m = || {
        let mut cmd = migrate(cwd);
        cmd.env("DATABASE_URL", &url);
        cmd
    };

    // init
    let said = ok(&mut m(), &["init"]);
    assert!(said.contains(r#"migrate::embed_migrations!("migrations")"#), "{said}");
    assert!(
        said.contains(r#"println!("cargo:rerun-if-changed=migrations");"#),
        "{said}"
    );
    assert!(cwd.join("migrations").is_dir() && cwd.join("migrate.toml").is_file());

    // three revisions, each on top of the last
    let a = ok(&mut m(), &["revision", "-m", "create account table"]);
    write_sql(
        &cwd.join(a.trim()),
        "CREATE TABLE account (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL)",
        "DROP TABLE account;",
    );
    let b = ok(&mut m(), &["revision", "-m", "add account email"]);
    write_sql(
        &cwd.join(b.trim()),
        "CREATE TABLE account_email (account_id INTEGER NOT NULL REFERENCES account (id), email TEXT);\n-- one address per account\nCREATE UNIQUE INDEX account_email_one ON account_email (account_id)",
        "DROP INDEX account_email_one;\nDROP TABLE account_email;",
    );
    let c = ok(&mut m(), &["revision", "-m", "create item table"]);
    write_sql(
        &cwd.join(c.trim()),
        "CREATE TABLE item (id INTEGER PRIMARY KEY);",
        "DROP TABLE item;",
    );
    let (a, b, c) = (id_of(&a), id_of(&b), id_of(&c));
    assert!(a.len() == 12 && b.len() == 12 && c.len() == 12);

    let up = ok(&mut m(), &["upgrade", "head"]);
    assert_eq!(
        up,
        format!(
            "Running upgrade  -> {a}, create account table\nRunning upgrade {a} -> {b}, add account email\nRunning upgrade {b} -> {c}, create item table\n"
        )
    );
    assert_eq!(ok(&mut m(), &["current"]), format!("{c} (head)\n"));

    assert_eq!(
        ok(&mut m(), &["downgrade", "-1"]),
        format!("Running downgrade {c} -> {b}, create item table\n")
    );
    assert_eq!(ok(&mut m(), &["current"]), format!("{b}\n"));

    // A second revision on top of `b`: a fork, which check rejects as the macro does.
    let d = ok(&mut m(), &["revision", "-m", "create tag table", "--head", &b[..6]]);
    write_sql(
        &cwd.join(d.trim()),
        "CREATE TABLE tag (id INTEGER PRIMARY KEY);",
        "DROP TABLE tag;",
    );
    let d = id_of(&d);
    let macro_says = match migrate::load(cwd.join("migrations")) {
        Ok(_) => panic!("a fork must not load"),
        Err(e) => e.to_string(),
    };
    // `load` names files by the path it was given; the command line by --dir as written.
    let macro_says = macro_says.replace(&format!("{}/", cwd.display()), "");
    let check = fails(&mut m(), &["check"], 1);
    assert_eq!(check.trim_end(), macro_says);
    assert!(check.starts_with("error: the revision graph has 2 heads"), "{check}");
    assert!(
        check.contains("= help: add a merge revision whose down_revision lists"),
        "{check}"
    );
    assert_eq!(fails(&mut m(), &["upgrade", "head"], 1).trim_end(), macro_says);
    let mut heads = [c.clone(), d.clone()];
    heads.sort();
    assert_eq!(
        ok(&mut m(), &["heads"]),
        format!("{} (head)\n{} (head)\n", heads[0], heads[1])
    );

    let merge = ok(&mut m(), &["merge", "-m", "merge item and tag"]);
    let merge = id_of(&merge);
    ok(&mut m(), &["check"]);
    let up = ok(&mut m(), &["upgrade", "head"]);
    let lines: Vec<&str> = up.lines().collect();
    assert_eq!(lines.len(), 3, "{up}");
    assert!(lines.contains(&format!("Running upgrade {b} -> {c}, create item table").as_str()));
    assert!(lines.contains(&format!("Running upgrade {b} -> {d}, create tag table").as_str()));
    assert_eq!(
        lines[2],
        format!(
            "Running upgrade {}, {} -> {merge}, merge item and tag",
            heads[0], heads[1]
        )
    );
    assert_eq!(ok(&mut m(), &["current"]), format!("{merge} (head)\n"));
    let history = ok(&mut m(), &["history"]);
    assert!(
        history.starts_with(&format!(
            "{}, {} -> {merge} (head) (current) (mergepoint), merge item and tag\n",
            heads[0], heads[1]
        )),
        "{history}"
    );
    assert!(
        history.ends_with(&format!("<base> -> {a} (applied), create account table\n")),
        "{history}"
    );
    assert!(
        history.contains(&format!("{a} -> {b} (applied) (branchpoint), add account email")),
        "{history}"
    );

    // Offline: the upgrade script run by sqlite3 gives the same database.
    let script = ok(&mut m(), &["upgrade", "--sql"]);
    assert_eq!(
        script,
        ok(&mut m(), &["upgrade", "base:head", "--sql", "--dialect", "sqlite"])
    );
    assert_eq!(script.matches("BEGIN;").count(), 5, "{script}");
    let offline = cwd.join("offline.db");
    program("sqlite3", &[offline.to_str().unwrap()], Some(&script));
    assert_eq!(sqlite_state(&offline), sqlite_state(&online));
    let (_, rows) = sqlite_state(&offline);
    // Five revisions, and the digest row (revision '') the runtime keeps with every change.
    let (digest, revisions): (Vec<&str>, Vec<&str>) = rows.lines().partition(|r| r.starts_with('|'));
    assert_eq!(revisions.len(), 5, "{rows}");
    assert!(revisions.iter().all(|r| r.contains("|applied|")), "{rows}");
    assert!(digest.len() == 1 && digest[0].contains("|set:5:"), "{rows}");

    // A partial downgrade script and the same downgrade online.
    let down = ok(&mut m(), &["downgrade", "--sql", &format!("{merge}:{b}")]);
    program("sqlite3", &[offline.to_str().unwrap()], Some(&down));
    ok(&mut m(), &["downgrade", &b]);
    assert_eq!(sqlite_state(&offline), sqlite_state(&online));
    assert_eq!(ok(&mut m(), &["current"]), format!("{b}\n"));

    // From there, an upgrade script for the rest, then all the way down.
    let rest = ok(&mut m(), &["upgrade", "--sql", &format!("{b}:head")]);
    assert!(!rest.contains(&format!("-> {a},")), "{rest}");
    program("sqlite3", &[offline.to_str().unwrap()], Some(&rest));
    ok(&mut m(), &["upgrade", "head"]);
    assert_eq!(sqlite_state(&offline), sqlite_state(&online));
    let all_down = ok(&mut m(), &["downgrade", "--sql", "head:base"]);
    program("sqlite3", &[offline.to_str().unwrap()], Some(&all_down));
    ok(&mut m(), &["downgrade", "base"]);
    let (schema, rows) = sqlite_state(&offline);
    assert_eq!((schema.clone(), rows.clone()), sqlite_state(&online));
    assert!(
        rows.starts_with("||digest of the history rows|set:0:") && rows.lines().count() == 1,
        "{rows}"
    );
    let tables: Vec<&str> = schema.lines().filter(|l| l.starts_with("table|")).collect();
    assert_eq!(tables.len(), 1, "only the history table is left: {schema}");
}

#[test]
fn a_sqlite_script_stops_at_a_failed_migration_even_without_bail() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir(cwd.join("migrations")).unwrap();
    let m = || migrate(cwd);
    let a = ok(&mut m(), &["revision", "-m", "create account"]);
    write_sql(
        &cwd.join(a.trim()),
        "CREATE TABLE account (id INTEGER);",
        "DROP TABLE account;",
    );
    let b = ok(&mut m(), &["revision", "-m", "half broken"]);
    write_sql(
        &cwd.join(b.trim()),
        "CREATE TABLE half (id INTEGER);\nINSERT INTO missing_table VALUES (1);",
        "DROP TABLE half;",
    );
    let script = ok(&mut m(), &["upgrade", "--sql", "--dialect", "sqlite"]);
    // Run as the README's recipe minus -bail: sqlite3 reading the script on stdin.
    let db = cwd.join("app.db");
    let out = crate::support::program_output("sqlite3", &[db.to_str().unwrap()], Some(&script), &[]);
    assert!(!out.status.success(), "the failed migration fails the script");
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing_table"));
    // The first migration committed; nothing of the second did, not even its first statement.
    let tables = program(
        "sqlite3",
        &[
            db.to_str().unwrap(),
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        ],
        None,
    );
    assert_eq!(tables, "account\nmigrate_history\n");
    let rows = program(
        "sqlite3",
        &[
            db.to_str().unwrap(),
            "SELECT revision, state FROM migrate_history WHERE revision <> '' ORDER BY revision",
        ],
        None,
    );
    assert_eq!(rows, format!("{}|applied\n", id_of(&a)));
    // And the online run, picking up from there, reports the same failure.
    let e = crate::support::fails(
        &mut m(),
        &["upgrade", "head", "--database-url", &format!("sqlite:{}", db.display())],
        1,
    );
    assert!(
        e.contains(&format!("revision `{}`", id_of(&b))) && e.contains("missing_table"),
        "{e}"
    );
}

/// An upgrade script that assumes revisions the database does not hold
/// stops before its first step, as an online run refuses a revision whose
/// parent is not applied: nothing runs, and no digest row is written.
#[test]
fn an_upgrade_script_run_from_the_wrong_revision_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir(cwd.join("migrations")).unwrap();
    let m = || migrate(cwd);
    let mut ids = Vec::new();
    for table in ["one", "two", "three"] {
        let path = ok(&mut m(), &["revision", "-m", &format!("create {table}")]);
        write_sql(
            &cwd.join(path.trim()),
            &format!("CREATE TABLE {table} (id INTEGER);"),
            &format!("DROP TABLE {table};"),
        );
        ids.push(id_of(&path));
    }
    // A script that assumes the first two are applied, run on an empty database.
    let script = ok(
        &mut m(),
        &["upgrade", "--sql", "--dialect", "sqlite", &format!("{}:head", ids[1])],
    );
    let db = cwd.join("app.db");
    let out = crate::support::program_output("sqlite3", &[db.to_str().unwrap()], Some(&script), &[]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && said.contains(&format!("{} is not applied, which {} needs", ids[1], ids[2])),
        "{said}"
    );
    let tables = program(
        "sqlite3",
        &[
            db.to_str().unwrap(),
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        ],
        None,
    );
    assert_eq!(tables, "migrate_history\n", "the third did not run");
    let rows = program(
        "sqlite3",
        &[db.to_str().unwrap(), "SELECT COUNT(*) FROM migrate_history"],
        None,
    );
    assert_eq!(rows, "0\n", "no row, and no digest row vouching for any");
    // From where it starts, it runs to its end, and the start-up check trusts its digest.
    let url = format!("sqlite:{}", db.display());
    ok(&mut m(), &["upgrade", "-q", &ids[1], "--database-url", &url]);
    program("sqlite3", &["-bail", db.to_str().unwrap()], Some(&script));
    assert_eq!(
        ok(&mut m(), &["current", "--check", "--database-url", &url]).trim(),
        format!("{} (head)", ids[2])
    );
}

/// The `sqlite3` shell starts with foreign keys off, sqlx's connections with
/// them on: a script enforces them as the online run does, so a cascade
/// cascades and an orphan row fails the script as it fails the run.
#[test]
fn a_sqlite_script_enforces_foreign_keys_as_online_runs_do() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir(cwd.join("migrations")).unwrap();
    let m = || migrate(cwd);
    let a = ok(&mut m(), &["revision", "-m", "tables"]);
    write_sql(
        &cwd.join(a.trim()),
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);\nCREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id) ON DELETE CASCADE);\nINSERT INTO parent (id) VALUES (1), (2);\nINSERT INTO child (parent_id) VALUES (1), (2);",
        "DROP TABLE child;\nDROP TABLE parent;",
    );
    let b = ok(&mut m(), &["revision", "-m", "cleanup"]);
    write_sql(
        &cwd.join(b.trim()),
        "DELETE FROM parent WHERE id = 2;",
        "INSERT INTO parent (id) VALUES (2);",
    );
    let script = ok(&mut m(), &["upgrade", "--sql", "--dialect", "sqlite"]);
    let (offline, online) = (cwd.join("offline.db"), cwd.join("online.db"));
    program("sqlite3", &["-bail", offline.to_str().unwrap()], Some(&script));
    ok(
        &mut m(),
        &[
            "upgrade",
            "-q",
            "--database-url",
            &format!("sqlite:{}?mode=rwc", online.display()),
        ],
    );
    for db in [&offline, &online] {
        let children = program("sqlite3", &[db.to_str().unwrap(), "SELECT parent_id FROM child"], None);
        assert_eq!(children, "1\n", "{}: the cascade ran", db.display());
    }

    // A row pointing nowhere fails the script, as it fails the online run.
    let c = ok(&mut m(), &["revision", "-m", "orphan"]);
    write_sql(
        &cwd.join(c.trim()),
        "INSERT INTO child (parent_id) VALUES (9);",
        "DELETE FROM child WHERE parent_id = 9;",
    );
    let rest = ok(
        &mut m(),
        &[
            "upgrade",
            "--sql",
            &format!("{}:head", id_of(&b)),
            "--dialect",
            "sqlite",
        ],
    );
    let out = crate::support::program_output("sqlite3", &["-bail", offline.to_str().unwrap()], Some(&rest), &[]);
    assert!(!out.status.success(), "the orphan row fails the script");
    assert!(String::from_utf8_lossy(&out.stderr).contains("FOREIGN KEY"), "{out:?}");
}

/// A downgrade script run on a database that is not where it starts (a
/// revision after its FROM still applied, or its FROM not applied) stops
/// before its first change, as an online run refuses; from the right place
/// it runs to its end.
#[test]
fn a_downgrade_script_run_from_the_wrong_revision_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir(cwd.join("migrations")).unwrap();
    let m = || migrate(cwd);
    let mut ids = Vec::new();
    for (i, up) in [
        "CREATE TABLE t (id INTEGER PRIMARY KEY);",
        "ALTER TABLE t ADD COLUMN email TEXT;",
        "CREATE INDEX t_email ON t (email);",
    ]
    .iter()
    .enumerate()
    {
        let path = ok(&mut m(), &["revision", "-m", &format!("step {i}")]);
        let down = [
            "DROP TABLE t;",
            "ALTER TABLE t DROP COLUMN email;",
            "DROP INDEX t_email;",
        ][i];
        write_sql(&cwd.join(path.trim()), up, down);
        ids.push(id_of(&path));
    }
    let db = cwd.join("app.db");
    let url = format!("sqlite:{}?mode=rwc", db.display());
    ok(&mut m(), &["upgrade", "-q", "--database-url", &url]);
    program(
        "sqlite3",
        &[db.to_str().unwrap(), "INSERT INTO t VALUES (1, 'a@example.com')"],
        None,
    );
    let state = || {
        program(
            "sqlite3",
            &[
                db.to_str().unwrap(),
                ".schema t",
                "SELECT * FROM t",
                "SELECT revision FROM migrate_history WHERE revision <> '' ORDER BY revision",
            ],
            None,
        )
    };
    let before = state();
    // Written for a database at the second revision: run on one at the third, then at the first.
    let from_second = ok(
        &mut m(),
        &[
            "downgrade",
            "--sql",
            &format!("{}:{}", ids[1], ids[0]),
            "--dialect",
            "sqlite",
        ],
    );
    let refused = |why: &str| {
        let before = state();
        let out = crate::support::program_output("sqlite3", &["-bail", db.to_str().unwrap()], Some(&from_second), &[]);
        let said = String::from_utf8_lossy(&out.stderr);
        let wanted = format!("{} is not applied, or a revision after it still is", ids[1]);
        assert!(!out.status.success() && said.contains(&wanted), "{why}: {said}");
        assert_eq!(state(), before, "{why}: nothing changed");
    };
    refused("at the third revision");
    ok(&mut m(), &["downgrade", "-q", &ids[0], "--database-url", &url]);
    refused("at the first revision");
    // From where it starts, it runs.
    ok(&mut m(), &["upgrade", "-q", &ids[1], "--database-url", &url]);
    program("sqlite3", &["-bail", db.to_str().unwrap()], Some(&from_second));
    assert_eq!(ok(&mut m(), &["current", "--database-url", &url]).trim(), ids[0]);
}
