//! A `--each` file that lists one database twice (issue 22, bug 2): with
//! one URL on three lines, `downgrade -1 --each` unapplied three revisions.
//! Written another way on another line, it is still the same database: an
//! error naming both lines, and nothing run (the member's revision and
//! tables are checked after).

use super::*;
use crate::support::{ok, program, unavailable, unique_name, write_sql};
use std::path::Path;

/// Three revisions, each creating one table, applied to `url`.
fn three_revisions(cwd: &Path, url: &str) -> String {
    std::fs::create_dir(cwd.join("migrations")).unwrap();
    let mut head = String::new();
    for table in ["a", "b", "c"] {
        let path = ok(&mut migrate(cwd), &["revision", "-m", &format!("create {table}")]);
        write_sql(
            &cwd.join(path.trim()),
            &format!("CREATE TABLE {table} (id INTEGER);"),
            &format!("DROP TABLE {table};"),
        );
        head = crate::support::id_of(&path);
    }
    ok(&mut migrate(cwd), &["upgrade", "head", "--database-url", url]);
    head
}

fn current(cwd: &Path, url: &str) -> String {
    ok(&mut migrate(cwd), &["current", "--database-url", url])
        .trim()
        .to_owned()
}

#[test]
fn one_sqlite_file_on_two_lines_is_an_error_naming_both() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let url = sqlite_url(cwd);
    let head = three_revisions(cwd, &url);
    let other = format!("sqlite:{}", cwd.join("other.db").display());
    ok(&mut migrate(cwd), &["upgrade", "head", "--database-url", &other]);
    std::fs::write(
        cwd.join("dup.txt"),
        format!(
            "# the fleet\n{url}\n{other}\n\nsqlite://{}/./app.db?mode=rwc\n",
            cwd.display()
        ),
    )
    .unwrap();
    let e = fails(&mut migrate(cwd), &["downgrade", "-1", "--each", "dup.txt"], 2);
    assert!(
        e.starts_with(&format!(
            "error: `dup.txt` lists one database twice: line 2 (`{url}`) and line 5 (`sqlite://{}/./app.db?mode=rwc`)\n  --> dup.txt:5\n",
            cwd.display()
        )),
        "{e}"
    );
    assert!(e.contains("nothing was run"), "{e}");
    assert_eq!(current(cwd, &url), format!("{head} (head)"), "nothing was unapplied");
    assert_eq!(
        current(cwd, &other),
        format!("{head} (head)"),
        "nor on the other member"
    );
    // Listed once each, the fleet runs.
    std::fs::write(cwd.join("fleet.txt"), format!("{url}\n{other}\n")).unwrap();
    ok(&mut migrate(cwd), &["downgrade", "-1", "--each", "fleet.txt"]);
    assert!(!current(cwd, &url).contains(&head));
}

#[test]
fn one_postgres_database_written_two_ways_is_an_error_naming_both() {
    let server = std::env::var("MIGRATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    match std::process::Command::new("psql")
        .args([&server, "-Atc", "SELECT 1"])
        .output()
    {
        Ok(o) if o.status.success() => {}
        Ok(o) => return unavailable("PostgreSQL", &server, String::from_utf8_lossy(&o.stderr)),
        Err(e) => return unavailable("PostgreSQL", &server, e),
    }
    let name = unique_name("migrate_t");
    program("psql", &[&server, "-qc", &format!("CREATE DATABASE {name}")], None);
    struct DropDb(String, String);
    impl Drop for DropDb {
        fn drop(&mut self) {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.1);
            let _ = std::process::Command::new("psql").args([&self.0, "-qc", &sql]).output();
        }
    }
    let _drop = DropDb(server.clone(), name.clone());
    let url = migrate_runtime_url(&server, &name);
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let head = three_revisions(cwd, &url);
    // The same database: another scheme spelling, the default port left out, an option.
    let (_, rest) = url.split_once("://").unwrap();
    let again = format!("postgresql://{}?sslmode=disable", rest.replace(":5432/", "/"));
    std::fs::write(cwd.join("dup.txt"), format!("{url}\n{url}\n{again}\n")).unwrap();
    let e = fails(&mut migrate(cwd), &["downgrade", "-1", "--each", "dup.txt"], 2);
    assert!(
        e.contains("line 1 (`") && e.contains("line 2 (`") && e.contains("line 3 (`"),
        "{e}"
    );
    assert!(e.contains("--> dup.txt:2\n") && e.contains("--> dup.txt:3\n"), "{e}");
    assert_eq!(current(cwd, &url), format!("{head} (head)"), "nothing was unapplied");
    let tables = program(
        "psql",
        &[
            &url,
            "-Atc",
            "SELECT count(*) FROM pg_tables WHERE tablename IN ('a', 'b', 'c')",
        ],
        None,
    );
    assert_eq!(tables.trim(), "3");
}

/// `server`'s URL naming database `name`.
fn migrate_runtime_url(server: &str, name: &str) -> String {
    let base = server.split('?').next().unwrap();
    let (base, _) = base.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}
