//! Real migration folders of other tools, as their projects publish them on
//! crates.io (lemmy_db_schema 0.19.21: diesel, 233 migrations; atuin-server-
//! postgres 18.20.1: sqlx, 20), laid out by `.ci/tool-histories setup DIR`
//! and found through `MIGRATE_TEST_TOOL_HISTORIES=DIR`. For each, as a team
//! moving to `migrate` would:
//!
//! - `migrate import TOOL` writes the folder, which `check` reads;
//! - `upgrade` on an empty PostgreSQL gives the same `pg_dump --schema-only`
//!   as the tool's own files applied in its order, each as the tool runs it
//!   (in a transaction of its own);
//! - on the database the tool's files built, with the tool's history table
//!   as it writes it (diesel's), `adopt` records every revision and
//!   `upgrade` then has nothing to do.
//!
//! Without the set-up the tests print `SKIPPED`, and fail under `CI=true`.

#[path = "common/pg_dump.rs"]
mod pg_dump;

use pg_dump::{Db, assert_same, ok, psql};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The folder of history `name` and the tool that wrote it.
fn history(name: &str) -> Option<(String, PathBuf)> {
    let Ok(dir) = std::env::var("MIGRATE_TEST_TOOL_HISTORIES") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI=true needs MIGRATE_TEST_TOOL_HISTORIES (.ci/run sets it after `.ci/tool-histories setup DIR`)"
        );
        println!("SKIPPED: MIGRATE_TEST_TOOL_HISTORIES is not set (`.ci/tool-histories setup DIR`)");
        return None;
    };
    let listed =
        ok(Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/tool-histories")).args(["setup", &dir]));
    listed.lines().find_map(|line| {
        let mut fields = line.split('\t');
        (fields.next() == Some(name)).then(|| {
            let tool = fields.next().unwrap().to_owned();
            (tool, PathBuf::from(fields.next().unwrap()))
        })
    })
}

fn migrate(cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_migrate"));
    c.current_dir(cwd).env("NO_COLOR", "1").env_remove("DATABASE_URL");
    c
}

/// The tool's migrations in the order it applies them, each its version and
/// the file of its upgrade: diesel's folders (`VERSION_name/up.sql`), sqlx's
/// files (`VERSION_name.sql` or `.up.sql`), both ordered by version, which
/// their fixed-width timestamps order as names.
fn upgrades(tool: &str, folder: &Path) -> Vec<(String, PathBuf)> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|n| {
            let version: String = n
                .split('_')
                .next()
                .unwrap()
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            // Files the tools pass by (a `.gitkeep`) are passed by here too.
            let file = match tool {
                "diesel" => folder.join(&n).join("up.sql"),
                _ if n.ends_with(".down.sql") || !n.ends_with(".sql") => return None,
                _ => folder.join(&n),
            };
            file.is_file().then_some((version, file))
        })
        .collect()
}

/// Applies the tool's upgrades to `db` with `psql`, each in a transaction of
/// its own, as diesel and sqlx run a migration not marked otherwise.
fn apply_as_the_tool(db: &Db, upgrades: &[(String, PathBuf)]) {
    for (_, file) in upgrades {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            !text.starts_with("-- no-transaction"),
            "{}: not handled here",
            file.display()
        );
        ok(Command::new("psql")
            .args(["-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", &db.url(), "-f"])
            .arg(file)
            .env("PGOPTIONS", "-c client_min_messages=warning"));
    }
}

/// The whole check on history `name`.
fn whole_history(name: &str) {
    let Some((tool, folder)) = history(name) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let source = folder.to_str().unwrap();
    ok(migrate(cwd).args(["import", &tool, source, "--dialect", "postgres"]));
    let upgrades = upgrades(&tool, &folder);
    let written = std::fs::read_dir(cwd.join("migrations")).unwrap().count();
    assert_eq!(written, upgrades.len(), "one revision per {tool} migration");
    // The folder reads as a valid history (its lint is the projects' business).
    let checked = migrate(cwd).args(["check", "--dialect", "postgres"]).output().unwrap();
    let said = String::from_utf8_lossy(&checked.stdout);
    assert!(
        said.contains(&format!("{written} revision(s), head ")) && said.contains(": ok"),
        "{said}"
    );

    let pid = std::process::id();
    let ours = Db::new(format!("migrate_t_tools_{name}_ours_{pid}"));
    let theirs = Db::new(format!("migrate_t_tools_{name}_{tool}_{pid}"));
    ok(migrate(cwd).args(["upgrade", "-q", "--database-url", &ours.url()]));
    apply_as_the_tool(&theirs, &upgrades);
    let tables = theirs.dump().iter().filter(|s| s.starts_with("CREATE TABLE")).count();
    assert!(tables >= 5, "{name}: the tool's files made {tables} table(s)");
    assert_same(
        &theirs.dump(),
        &ours.dump(),
        &format!("{name}: {tool}'s files, then migrate's import of them"),
    );

    if tool == "diesel" {
        // diesel's table, as diesel creates it, one row per version run.
        psql(
            &theirs.0,
            "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        );
        let rows: Vec<String> = upgrades.iter().map(|(v, _)| format!("('{v}')")).collect();
        psql(
            &theirs.0,
            &format!(
                "INSERT INTO __diesel_schema_migrations (version) VALUES {}",
                rows.join(", ")
            ),
        );
        ok(migrate(cwd).args(["adopt", "diesel", "--database-url", &theirs.url()]));
        let again = ok(migrate(cwd).args(["upgrade", "--database-url", &theirs.url()]));
        assert!(!again.contains("Running upgrade"), "adopted, nothing to run: {again}");
        let current = ok(migrate(cwd).args(["current", "--check", "--database-url", &theirs.url()]));
        assert!(current.contains("(head)"), "{current}");
    }
}

#[test]
fn lemmy() {
    whole_history("lemmy");
}

#[test]
fn atuin() {
    whole_history("atuin");
}
