//! Flags that meant something else depending on where they stood, and a
//! round-trip test that walked a database it was not given (issue 22, bug
//! 12): `migrate test --dialect sqlite` walked `DATABASE_URL` and left it
//! migrated; `migrate --database-url URL schema dump` dumped the migrations,
//! not the live database. Checked on the local PostgreSQL server.

use super::*;
use crate::support::{ok, program, unavailable, unique_name, write_sql};
use std::path::Path;

/// A PostgreSQL database of the tests, dropped at the end; `None` (after
/// saying so) when the server is not reachable outside CI.
struct PgDb {
    server: String,
    url: String,
    name: String,
}

impl PgDb {
    fn new() -> Option<PgDb> {
        let server = std::env::var("MIGRATE_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        match std::process::Command::new("psql")
            .args([&server, "-Atc", "SELECT 1"])
            .output()
        {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                unavailable("PostgreSQL", &server, String::from_utf8_lossy(&o.stderr));
                return None;
            }
            Err(e) => {
                unavailable("PostgreSQL", &server, e);
                return None;
            }
        }
        let name = unique_name("migrate_t");
        program("psql", &[&server, "-qc", &format!("CREATE DATABASE {name}")], None);
        let base = server.split('?').next().unwrap().rsplit_once('/').unwrap().0.to_owned();
        Some(PgDb {
            url: format!("{base}/{name}"),
            server,
            name,
        })
    }

    fn sql(&self, sql: &str) -> String {
        program("psql", &[&self.url, "-qAtc", sql], None).trim().to_owned()
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = std::process::Command::new("psql")
            .args([&self.server, "-qc", &sql])
            .output();
    }
}

/// A project with one revision creating `item`, which round-trips.
fn project(cwd: &Path) {
    std::fs::create_dir(cwd.join("migrations")).unwrap();
    let path = ok(&mut migrate(cwd), &["revision", "-m", "create item"]);
    write_sql(
        &cwd.join(path.trim()),
        "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT);",
        "DROP TABLE item;",
    );
}

#[test]
fn migrate_test_never_walks_the_database_it_deploys_to() {
    let Some(pg) = PgDb::new() else { return };
    pg.sql("CREATE TABLE kept (id int); INSERT INTO kept VALUES (1), (2)");
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd);
    let tables = "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'";

    // --dialect sqlite: in memory, whatever DATABASE_URL says.
    let out = ok(
        migrate(cwd).env("DATABASE_URL", &pg.url),
        &["test", "--dialect", "sqlite"],
    );
    assert!(out.contains("ok "), "{out}");
    assert_eq!(pg.sql(tables), "kept", "DATABASE_URL's database was not touched");

    // The same with the URL in migrate.toml, and a SQLite file there.
    let file_db = cwd.join("deployed.db");
    std::fs::write(
        cwd.join("migrate.toml"),
        format!("database_url = \"sqlite:{}?mode=rwc\"\n", file_db.display()),
    )
    .unwrap();
    ok(&mut migrate(cwd), &["test", "--dialect", "sqlite"]);
    assert!(
        !file_db.exists(),
        "the configured SQLite file was not made, let alone migrated"
    );
    std::fs::remove_file(cwd.join("migrate.toml")).unwrap();

    // Without a database given for the walk: a usage error that says why, and nothing touched.
    let e = fails(migrate(cwd).env("DATABASE_URL", &pg.url), &["test"], 2);
    assert!(
        e.contains("is the one you deploy to, which `migrate test` never walks"),
        "{e}"
    );
    assert_eq!(pg.sql(tables), "kept");
    assert_eq!(pg.sql("SELECT count(*) FROM kept"), "2");

    // Given on the command line, before or after the verb, the database is walked
    // (an empty one: this one is not, and is refused as such, unchanged).
    for args in [
        vec!["--database-url", pg.url.as_str(), "test"],
        vec!["test", "--database-url", pg.url.as_str()],
    ] {
        let r = crate::support::run(&mut migrate(cwd), &args);
        assert_eq!(r.code, 1, "{args:?}: {}{}", r.stdout, r.stderr);
        assert_eq!(pg.sql("SELECT count(*) FROM kept"), "2");
    }
    pg.sql("DROP TABLE kept");
    for args in [
        vec!["--database-url", pg.url.as_str(), "test"],
        vec!["test", "--database-url", pg.url.as_str()],
    ] {
        let r = crate::support::run(&mut migrate(cwd), &args);
        assert_eq!(r.code, 0, "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("1 revision(s) round-trip"), "{}", r.stderr);
    }
}

#[test]
fn database_url_before_schema_dump_dumps_the_live_database() {
    let Some(pg) = PgDb::new() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd);
    ok(&mut migrate(cwd), &["upgrade", "--database-url", &pg.url]);
    // Made by hand: in the live database, not in the migrations.
    pg.sql("CREATE TABLE by_hand (id int)");
    let after = ok(&mut migrate(cwd), &["schema", "dump", "--database-url", &pg.url]);
    let before = ok(&mut migrate(cwd), &["--database-url", &pg.url, "schema", "dump"]);
    assert!(before.contains("CREATE TABLE by_hand"), "{before}");
    assert_eq!(before, after, "the flag means the same before and after the verb");
    assert!(!before.contains("migrate_history"), "{before}");
}
