//! Many databases at once: `--each FILE` over SQLite files and `--schemas
//! PATTERN` over PostgreSQL schemas, `--jobs`, a broken database among
//! them, `--fail-fast`, the summary, `--json` and the exit status.

use crate::databases::postgres;
use crate::support::{fails, migrate, ok, repo, run};
use serde_json::Value;

#[test]
fn two_hundred_sqlite_files_and_a_broken_one() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lines = vec!["# one tenant a line".to_owned(), String::new()];
    for i in 0..200 {
        lines.push(format!(
            "sqlite:{}?mode=rwc",
            tmp.path().join(format!("tenant{i:03}.db")).display()
        ));
    }
    // A file in a folder that does not exist cannot be opened.
    let broken = format!("sqlite:{}?mode=rwc", tmp.path().join("gone/tenant.db").display());
    lines.insert(50, broken.clone());
    let list = tmp.path().join("tenants.txt");
    std::fs::write(&list, lines.join("\n")).unwrap();
    let list = list.to_str().unwrap();
    let m = || {
        let mut cmd = migrate(&repo());
        cmd.args(["--dir", "migrations"]);
        cmd
    };
    let r = run(&mut m(), &["upgrade", "--each", list, "--jobs", "8"]);
    assert_eq!(r.code, 1, "one failed, so the exit status says so: {r:?}");
    assert!(
        r.stderr
            .contains("201 databases: 200 changed, 0 already at the target, 1 failed, 0 not run"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!("1 of 201 databases failed: {broken}")),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains(&format!("{broken}: FAILED: cannot connect")),
        "{}",
        r.stdout
    );
    assert_eq!(
        r.stdout
            .lines()
            .filter(|l| l.ends_with(": 4 step(s): 1975ea83b712, 27c6a30d7c24, ae1027a6acf0, 3cf1ce5e1a9b"))
            .count(),
        200
    );
    // All 200 at the head; a second run changes nothing.
    let current: Value = serde_json::from_str(&run(&mut m(), &["current", "--each", list, "--json"]).stdout).unwrap();
    let current = current.as_array().unwrap();
    assert_eq!(current.len(), 201);
    let at_head = current
        .iter()
        .filter(|e| e["current"] == serde_json::json!(["3cf1ce5e1a9b"]))
        .count();
    assert_eq!(at_head, 200);
    assert_eq!(current[48]["status"], "failed", "entries keep the file's order");
    let again: Value =
        serde_json::from_str(&run(&mut m(), &["upgrade", "--each", list, "--json", "--jobs", "16"]).stdout).unwrap();
    let unchanged = again
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["status"] == "unchanged")
        .count();
    assert_eq!(unchanged, 200);
    // --fail-fast, one at a time: nothing after the broken one starts.
    let r = run(
        &mut m(),
        &["downgrade", "base", "--each", list, "--jobs", "1", "--fail-fast"],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("201 databases: 48 changed, 0 already at the target, 1 failed, 152 not run"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains(": not run (--fail-fast)"), "{}", r.stdout);
    // A list with no URL, and --sql, are usage errors.
    std::fs::write(tmp.path().join("empty.txt"), "# nobody\n").unwrap();
    fails(
        &mut m(),
        &["upgrade", "--each", tmp.path().join("empty.txt").to_str().unwrap()],
        2,
    );
    fails(&mut m(), &["upgrade", "--sql", "--each", list], 2);
}

#[test]
fn fifty_postgres_schemas_and_a_broken_one() {
    let Some(server) = postgres::reachable() else { return };
    let db = postgres::db(&server);
    let mut setup = String::new();
    for i in 0..50 {
        setup.push_str(&format!("CREATE SCHEMA tenant_{i:02};\n"));
    }
    // This tenant already has an `account` table: the first migration fails there.
    setup.push_str("CREATE SCHEMA tenant_zz; CREATE TABLE tenant_zz.account (id INT);\nCREATE SCHEMA other;\n");
    postgres::psql(&db.url, &["-f", "-"], Some(&setup));
    let m = || {
        let mut cmd = migrate(&repo());
        cmd.args(["--dir", "migrations", "--database-url", &db.url]);
        cmd
    };
    let r = run(&mut m(), &["upgrade", "--schemas", "tenant_%", "--jobs", "8"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("51 databases: 50 changed, 0 already at the target, 1 failed, 0 not run"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("1 of 51 databases failed: tenant_zz"), "{}", r.stderr);
    assert!(
        r.stdout
            .contains("tenant_zz: FAILED: upgrade of revision `1975ea83b712`"),
        "{}",
        r.stdout
    );
    let rows = postgres::psql(
        &db.url,
        &[
            "-At",
            "-c",
            "SELECT count(*) FROM pg_tables WHERE tablename = 'migrate_history' AND schemaname LIKE 'tenant%'",
        ],
        None,
    );
    assert_eq!(rows.trim(), "51", "each schema has its own history table");
    let applied = postgres::psql(
        &db.url,
        &[
            "-At",
            "-c",
            "SELECT count(*) FROM pg_tables WHERE tablename = 'account' AND schemaname LIKE 'tenant_%' AND schemaname <> 'tenant_zz'",
        ],
        None,
    );
    assert_eq!(applied.trim(), "50", "the migrations ran inside each schema");
    assert_eq!(
        postgres::psql(
            &db.url,
            &["-At", "-c", "SELECT count(*) FROM pg_tables WHERE schemaname = 'other'"],
            None
        )
        .trim(),
        "0"
    );
    let said = ok(&mut m(), &["current", "--schemas", "tenant_0%", "--json"]);
    let current: Value = serde_json::from_str(&said).unwrap();
    assert_eq!(current.as_array().unwrap().len(), 10);
    assert!(
        current
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["current"] == serde_json::json!(["3cf1ce5e1a9b"])),
        "{said}"
    );
    let said = fails(&mut m(), &["upgrade", "--schemas", "nobody_%"], 1);
    assert!(said.contains("no schema of the database matches `nobody_%`"), "{said}");
}
