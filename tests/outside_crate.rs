//! A crate outside this workspace, depending on `migrate` by path, as a user's
//! crate would: it builds with a valid folder, picks up a newly added file
//! through the documented one-line `build.rs` (and a repeatable, rebuilt
//! with its new checksum when edited), and fails to build, with the
//! right message, for a fork and for a cycle; a default build leaves the
//! test support and the catalog readers out (and `#[migrate::test]` says
//! which feature it needs); and its `#[migrate::test]` tests, with the
//! `testing` feature, pass under `cargo test` on SQLite, PostgreSQL and
//! MySQL/MariaDB.

use std::path::{Path, PathBuf};
use std::process::Command;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn migration(dir: &Path, id: &str, down: &str) {
    write(
        &dir.join("migrations").join(format!("{id}_step.sql")),
        &format!(
            "-- step {id}\n-- revision: {id}\n-- down_revision: {down}\n\n-- migrate:upgrade\nCREATE TABLE t_{id} (id INTEGER);\n\n-- migrate:downgrade\nDROP TABLE t_{id};\n"
        ),
    );
}

struct Outside {
    dir: tempfile::TempDir,
    target: PathBuf,
}

impl Outside {
    fn new() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = tempfile::tempdir().unwrap();
        let manifest = format!(
            "[package]\nname = \"outside\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\nmigrate = {{ path = {:?} }}\n\n[workspace]\n",
            root.display().to_string()
        );
        write(&dir.path().join("Cargo.toml"), &manifest);
        // The same dependency versions as the workspace, resolved without the network.
        std::fs::copy(root.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
        write(
            &dir.path().join("build.rs"),
            "fn main() {\n    println!(\"cargo:rerun-if-changed=migrations\");\n}\n",
        );
        write(
            &dir.path().join("src/main.rs"),
            "static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!(\"migrations\");\n\nfn main() {\n    for m in MIGRATIONS.iter().chain(MIGRATIONS.repeatables()) {\n        println!(\"{} {}\", m.revision(), m.checksum());\n    }\n}\n",
        );
        // A target folder of its own that outlives the test, so reruns are incremental.
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("outside-crate");
        Outside { dir, target }
    }

    fn build(&self) -> std::process::Output {
        self.cargo(&["build", "--offline", "--quiet"])
    }

    fn cargo(&self, args: &[&str]) -> std::process::Output {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        Command::new(cargo)
            .args(args)
            .current_dir(self.dir.path())
            .env("CARGO_TARGET_DIR", &self.target)
            .env_remove("RUSTFLAGS")
            .output()
            .unwrap()
    }

    fn built_revisions(&self) -> Vec<String> {
        self.built()
            .iter()
            .map(|l| l.split(' ').next().unwrap().to_owned())
            .collect()
    }

    /// `revision checksum` of each embedded migration, then of each repeatable.
    fn built(&self) -> Vec<String> {
        let out = self.build();
        assert!(
            out.status.success(),
            "the outside crate failed to build:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let run = Command::new(self.target.join("debug").join("outside"))
            .output()
            .unwrap();
        assert!(run.status.success());
        String::from_utf8(run.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn build_errors(&self) -> String {
        let out = self.build();
        assert!(!out.status.success(), "expected the build to fail");
        String::from_utf8(out.stderr).unwrap()
    }
}

#[test]
fn builds_rebuilds_on_a_new_file_and_fails_on_a_fork_or_cycle() {
    let c = Outside::new();
    let dir = c.dir.path();
    migration(dir, "a1", "");
    migration(dir, "b2", "a1");
    assert_eq!(c.built_revisions(), ["a1", "b2"]);

    // A new file is picked up thanks to the build.rs line.
    migration(dir, "c3", "b2");
    assert_eq!(c.built_revisions(), ["a1", "b2", "c3"]);

    // A repeatable is picked up, and editing it rebuilds the crate with its new checksum.
    let view = dir.join("migrations/repeatable/v.sql");
    write(
        &view,
        "-- a view\n-- migrate:upgrade\nCREATE VIEW v AS SELECT 1 AS one;\n",
    );
    let first = c.built();
    assert_eq!(first.len(), 4, "{first:?}");
    assert!(first[3].starts_with("repeatable:v sha256:"), "{first:?}");
    write(
        &view,
        "-- a view\n-- migrate:upgrade\nCREATE VIEW v AS SELECT 2 AS two;\n",
    );
    let edited = c.built();
    assert_eq!(edited[..3], first[..3]);
    assert!(
        edited[3].starts_with("repeatable:v sha256:") && edited[3] != first[3],
        "{edited:?}"
    );
    std::fs::remove_dir_all(dir.join("migrations/repeatable")).unwrap();
    assert_eq!(c.built_revisions(), ["a1", "b2", "c3"]);

    // A second child of b2: a fork nobody merged.
    migration(dir, "d4", "b2");
    let stderr = c.build_errors();
    assert!(stderr.contains("error: the revision graph has 2 heads: `c3` (migrations/c3_step.sql), `d4` (migrations/d4_step.sql), forking from `b2`"), "{stderr}");
    assert!(
        stderr.contains("= help: add a merge revision whose down_revision lists c3, d4"),
        "{stderr}"
    );
    assert!(
        stderr.contains("embed_migrations!(\"migrations\")"),
        "the error sits on the macro call: {stderr}"
    );

    // Merging fixes it.
    write(
        &dir.join("migrations/e5_merge.sql"),
        "-- merge\n-- revision: e5\n-- down_revision: c3, d4\n\n-- migrate:upgrade\n",
    );
    // Alembic's order: the merge's first-listed parent's line (c3) is applied last.
    assert_eq!(c.built_revisions(), ["a1", "b2", "d4", "c3", "e5"]);

    // A cycle: b2 now also descends from e5.
    migration(dir, "b2", "a1, e5");
    let stderr = c.build_errors();
    assert!(
        stderr.contains("error: the down_revision links form a cycle: b2 -> c3 -> e5 -> b2"),
        "{stderr}"
    );
    assert!(stderr.contains("--> migrations/b2_step.sql:3"), "{stderr}");
}

#[test]
fn the_default_dependency_tree_has_no_command_line_crates() {
    let c = Outside::new();
    migration(c.dir.path(), "a1", "");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let tree = |features: &[&str]| {
        let mut args = vec![
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ];
        args.extend_from_slice(features);
        let out = Command::new(&cargo)
            .args(&args)
            .current_dir(c.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo tree: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let names = |tree: &str| -> Vec<String> {
        tree.lines()
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_owned)
            .collect()
    };
    let default = names(&tree(&[]));
    assert!(default.iter().any(|n| n == "migrate-runtime"), "{default:?}");
    for heavy in ["clap", "clap_builder", "toml", "serde_json", "migrate-cli"] {
        assert!(
            !default.iter().any(|n| n == heavy),
            "{heavy} is in a default build: {default:?}"
        );
    }
    // With the opt-in feature, the embedded command line comes in.
    let with_cli = names(&tree(&["--features", "migrate/cli"]));
    assert!(
        with_cli.iter().any(|n| n == "clap") && with_cli.iter().any(|n| n == "migrate-cli"),
        "{with_cli:?}"
    );
}

/// The features `cargo tree -e features` says a build of the outside crate
/// turns on in `package` (with `extra` arguments, such as `--features`).
fn features_of(c: &Outside, package: &str, extra: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut args = vec!["tree", "--offline", "-e", "features", "-i", package, "--prefix", "none"];
    args.extend_from_slice(extra);
    let out = Command::new(cargo)
        .args(&args)
        .current_dir(c.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo tree: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let prefix = format!("{package} feature \"");
    let mut found: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .filter_map(|l| l.split('"').next())
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// An application that only migrates turns on neither the `testing` feature
/// nor `catalog` (nor `server`, which `testing` stands on): `migrate::testing`
/// and `migrate::schema::read_schema` are not there to name, and
/// `#[migrate::test]` without the `testing` feature fails to build with one
/// message that names it.
#[test]
fn the_default_build_leaves_testing_and_catalog_out() {
    let c = Outside::new();
    let dir = c.dir.path();
    migration(dir, "a1", "");
    let dev = ["testing", "catalog", "server"];
    let default = features_of(&c, "migrate-runtime", &[]);
    assert!(default.iter().any(|f| f == "sqlite"), "{default:?}");
    for feature in dev {
        assert!(
            !default.iter().any(|f| f == feature),
            "{feature} is on in a default build: {default:?}"
        );
    }
    let asked = features_of(
        &c,
        "migrate-runtime",
        &["--features", "migrate/testing,migrate/catalog"],
    );
    assert!(
        asked.iter().any(|f| f == "testing") && asked.iter().any(|f| f == "catalog"),
        "{asked:?}"
    );

    // Neither module is there to name.
    write(
        &dir.join("src/main.rs"),
        "fn main() {\n    let _ = migrate::testing::PREFIX;\n    let _ = migrate::schema::read_schema::<&mut migrate::sqlx::SqliteConnection>;\n}\n",
    );
    let stderr = c.build_errors();
    assert!(stderr.contains("could not find `testing` in `migrate`"), "{stderr}");
    assert!(stderr.contains("read_schema"), "{stderr}");

    // `#[migrate::test]` says which feature it needs, once.
    write(
        &dir.join("src/main.rs"),
        r#"static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("migrations");

#[migrate::test]
async fn is_migrated(pool: migrate::sqlx::SqlitePool) {
    let _ = pool;
}

fn main() {
    let _ = MIGRATIONS.len();
}
"#,
    );
    let out = c.cargo(&["test", "--no-run", "--offline", "--quiet"]);
    assert!(!out.status.success(), "expected the tests' build to fail");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("error[E0277]: `#[migrate::test]` needs migrate's `testing` feature"),
        "{stderr}"
    );
    assert!(stderr.contains("features = [\"testing\"]"), "{stderr}");
    assert_eq!(stderr.matches("error[").count(), 1, "one error, no cascade: {stderr}");
}

#[test]
fn its_migrate_tests_pass_under_cargo_test() {
    let c = Outside::new();
    let dir = c.dir.path();
    migration(dir, "a1", "");
    migration(dir, "b2", "a1");
    // The user's crate: the postgres and mysql features; tokio, and migrate's
    // `testing` feature, only as dev-dependencies.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).display().to_string();
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap().replace(
        "[dependencies]\nmigrate = { path = ",
        &format!(
            "[dev-dependencies]\ntokio = {{ version = \"1\", features = [\"rt\", \"macros\"] }}\nmigrate = {{ features = [\"testing\"], path = {root:?} }}\n\n[dependencies]\nmigrate = {{ features = [\"postgres\", \"mysql\"], path = "
        ),
    );
    write(&dir.join("Cargo.toml"), &manifest);
    write(
        &dir.join("tests/db.rs"),
        r#"static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("migrations");

#[migrate::test]
async fn sqlite_is_migrated(pool: migrate::sqlx::SqlitePool) {
    let n: i64 = migrate::sqlx::query_scalar("SELECT COUNT(*) FROM t_b2").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 0);
    assert_eq!(MIGRATIONS.current(&pool).await.unwrap(), ["b2"]);
}

#[migrate::test]
#[tokio::test]
async fn postgres_is_migrated(pool: migrate::sqlx::PgPool) {
    let n: i64 = migrate::sqlx::query_scalar("SELECT COUNT(*) FROM t_b2").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 0);
    assert_eq!(MIGRATIONS.current(&pool).await.unwrap(), ["b2"]);
}

#[migrate::test]
async fn mysql_is_migrated(pool: migrate::sqlx::MySqlPool) {
    let n: i64 = migrate::sqlx::query_scalar("SELECT COUNT(*) FROM t_b2").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 0);
    assert_eq!(MIGRATIONS.current(&pool).await.unwrap(), ["b2"]);
}
"#,
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["test", "--offline", "--test", "db"])
        .current_dir(dir)
        // A target folder of its own: other features than the other outside-crate
        // tests, which would otherwise rebuild `migrate` back and forth.
        .env("CARGO_TARGET_DIR", c.target.with_file_name("outside-crate-tests"))
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cargo test in the outside crate failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("test result: ok. 3 passed"), "{stdout}");
}
