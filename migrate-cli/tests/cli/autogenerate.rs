//! Writing migrations from the schema you want: `revision --autogenerate`,
//! `check --schema` as a CI gate, `schema dump` to start a schema file,
//! through the real binary.

use crate::support::{fails, migrate, ok, run, write_sql};
use std::path::Path;

/// A project with one applied-nowhere revision creating `item`, and a SQLite URL.
fn project(cwd: &Path) {
    std::fs::write(
        cwd.join("migrate.toml"),
        format!(
            "database_url = \"sqlite:{}\"\ndir = \"migrations\"\n",
            cwd.join("app.db").display()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(cwd.join("migrations")).unwrap();
    let path = ok(&mut migrate(cwd), &["revision", "-m", "create item"]);
    write_sql(
        &cwd.join(path.trim()),
        "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, note TEXT);",
        "DROP TABLE item;",
    );
}

fn files(cwd: &Path) -> usize {
    std::fs::read_dir(cwd.join("migrations")).unwrap().count()
}

#[test]
fn the_autogenerate_loop_on_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd);
    std::fs::write(
        cwd.join("schema.sql"),
        "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, price INTEGER NOT NULL DEFAULT 0);\n\
         CREATE TABLE account (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);\n\
         CREATE INDEX item_name ON item (name);\n",
    )
    .unwrap();

    // The CI gate fails, printing the differences on stdout.
    let r = run(&mut migrate(cwd), &["check", "--schema"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Detected added table \"account\""), "{}", r.stdout);
    assert!(
        r.stdout.contains("Detected added column \"item\".\"price\""),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("differs from schema.sql"), "{}", r.stderr);

    // The revision: a line per change, the drop flagged, the file on top of the head.
    let r = run(
        &mut migrate(cwd),
        &["revision", "--autogenerate", "-m", "account and price"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("Detected added index \"item_name\""), "{}", r.stderr);
    assert!(
        r.stderr.contains("warning: Detected removed column \"item\".\"note\""),
        "{}",
        r.stderr
    );
    let written = std::fs::read_to_string(cwd.join(r.stdout.trim())).unwrap();
    assert!(
        written.contains("-- REVIEW: drops column \"item\".\"note\" and its data"),
        "{written}"
    );
    assert!(written.contains("CREATE TABLE account"), "{written}");
    assert!(written.contains("-- migrate:downgrade\n"), "{written}");
    ok(&mut migrate(cwd), &["check"]);

    // Applied, the migrations give exactly schema.sql: the gate passes, and nothing more is written.
    ok(&mut migrate(cwd), &["upgrade", "head"]);
    ok(&mut migrate(cwd), &["check", "--schema"]);
    let before = files(cwd);
    let r = run(&mut migrate(cwd), &["revision", "--autogenerate", "-m", "nothing"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("No changes detected"), "{}", r.stderr);
    assert_eq!(files(cwd), before, "nothing written");

    // The live database has it; the downgrade takes it back.
    let url = format!("sqlite:{}", cwd.join("app.db").display());
    let live = ok(&mut migrate(cwd), &["schema", "dump", "--database-url", &url]);
    assert!(
        live.contains("CREATE TABLE account") && live.contains("price"),
        "{live}"
    );
    ok(&mut migrate(cwd), &["downgrade", "-1"]);
    let live = ok(&mut migrate(cwd), &["schema", "dump", "--database-url", &url]);
    assert!(
        !live.contains("account") && !live.contains("price") && live.contains("note TEXT"),
        "{live}"
    );
}

#[test]
fn a_column_swapped_for_one_of_its_type_needs_the_rename_said() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd);
    std::fs::write(
        cwd.join("schema.sql"),
        "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, remark TEXT);\n",
    )
    .unwrap();
    let before = files(cwd);
    let e = fails(&mut migrate(cwd), &["revision", "--autogenerate", "-m", "rename"], 1);
    assert!(e.contains("loses column \"note\" and gains column \"remark\""), "{e}");
    assert!(e.contains("-- migrate:renamed-from note"), "{e}");
    assert_eq!(files(cwd), before, "nothing written");

    std::fs::write(
        cwd.join("schema.sql"),
        "CREATE TABLE item (\n  id INTEGER PRIMARY KEY,\n  name TEXT,\n  -- migrate:renamed-from note\n  remark TEXT\n);\n",
    )
    .unwrap();
    let r = run(&mut migrate(cwd), &["revision", "--autogenerate", "-m", "rename"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("Detected renamed column \"item\".\"note\" to \"remark\""),
        "{}",
        r.stderr
    );
    let written = std::fs::read_to_string(cwd.join(r.stdout.trim())).unwrap();
    assert!(written.contains("RENAME COLUMN note TO remark"), "{written}");
    assert!(written.contains("RENAME COLUMN remark TO note"), "{written}");

    // --allow-destructive writes the drop and the add instead.
    std::fs::remove_file(cwd.join(r.stdout.trim())).unwrap();
    std::fs::write(
        cwd.join("schema.sql"),
        "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, remark TEXT);\n",
    )
    .unwrap();
    let r = run(
        &mut migrate(cwd),
        &["revision", "--autogenerate", "--allow-destructive", "-m", "replace"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let written = std::fs::read_to_string(cwd.join(r.stdout.trim())).unwrap();
    assert!(
        written.contains("DROP COLUMN note") && written.contains("ADD COLUMN remark"),
        "{written}"
    );
}

#[test]
fn schema_dump_starts_a_schema_file_that_agrees() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd);
    let dumped = ok(&mut migrate(cwd), &["schema", "dump"]);
    assert!(dumped.contains("CREATE TABLE item"), "{dumped}");
    std::fs::write(cwd.join("start.sql"), &dumped).unwrap();
    ok(&mut migrate(cwd), &["check", "--schema", "start.sql"]);
    // The live database's, once migrated.
    ok(&mut migrate(cwd), &["upgrade", "head"]);
    let url = format!("sqlite:{}", cwd.join("app.db").display());
    let live = ok(&mut migrate(cwd), &["schema", "dump", "--database-url", &url]);
    assert!(
        live.contains("CREATE TABLE item") && !live.contains("migrate_history"),
        "{live}"
    );
}

#[test]
fn a_missing_or_broken_schema_file_says_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd);
    let e = fails(&mut migrate(cwd), &["check", "--schema"], 1);
    assert!(
        e.contains("cannot read the schema file `schema.sql`") && e.contains("migrate schema dump"),
        "{e}"
    );
    std::fs::write(
        cwd.join("schema.sql"),
        "CREATE TABLE item (id INTEGER PRIMARY KEY);\nCREATE TABLE broken (;\n",
    )
    .unwrap();
    let e = fails(&mut migrate(cwd), &["revision", "--autogenerate", "-m", "x"], 1);
    assert!(e.contains("schema.sql:2"), "{e}");
    std::fs::write(
        cwd.join("schema.sql"),
        "-- migrate:renamed-from a\nCREATE INDEX i ON item (id);\n",
    )
    .unwrap();
    let e = fails(&mut migrate(cwd), &["revision", "--autogenerate", "-m", "x"], 1);
    assert!(e.contains("schema.sql:line 1"), "{e}");
    // A server dialect without a dev server is a usage error that names the flag.
    let e = fails(
        &mut migrate(cwd),
        &[
            "check",
            "--schema",
            "--database-url",
            "postgres://u:S3cret@127.0.0.1:1/x",
        ],
        2,
    );
    assert!(e.contains("--dev-database-url") && !e.contains("S3cret"), "{e}");
}
