//! Build cost: a release rebuild, after touching one migration, of a crate
//! that embeds N files, with `embed_migrations!` and with `sqlx::migrate!`;
//! what the embedded list adds to the binary; and, in [`app`], what an
//! application pays for *calling* the migrator: the same small service
//! built three ways (it calls `upgrade` on a `SqlitePool` and a `PgPool`;
//! it does not; it calls sqlx's `Migrator::run` instead).

use crate::generate;
use crate::measure::median;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Rebuild {
    pub ours: Duration,
    pub sqlx: Duration,
    /// Binary size with N files minus with none, in bytes.
    pub ours_bytes: i64,
    pub sqlx_bytes: i64,
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Writes a crate that prints the total size of the SQL it embeds (`total`
/// reads every migration, so none of the embedded list is optimised away).
#[allow(clippy::too_many_arguments)]
fn project(
    root: &Path,
    name: &str,
    dependency: &str,
    embed: &str,
    total: &str,
    n: usize,
    sqlx_format: bool,
) -> PathBuf {
    let dir = root.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    write(
        &dir.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\n{dependency}\n\n[workspace]\n"
        ),
    );
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    std::fs::copy(lock, dir.join("Cargo.lock")).unwrap();
    write(
        &dir.join("build.rs"),
        "fn main() {\n    println!(\"cargo:rerun-if-changed=migrations\");\n}\n",
    );
    write(
        &dir.join("src/main.rs"),
        &format!("{embed}\n\nfn main() {{\n    println!(\"{{}}\", {total});\n}}\n"),
    );
    if sqlx_format {
        generate::sqlx(&dir.join("migrations"), n)
    } else {
        generate::ours(&dir.join("migrations"), n)
    }
    dir
}

/// Release rebuilds of the same application, only its crate rebuilt, after
/// touching its one migration (median of `reps` each).
pub struct AppRebuild {
    /// It calls `MIGRATIONS.upgrade(&pool, "head")` on a `SqlitePool` and a `PgPool`.
    pub with_call: Duration,
    /// The same application without those two calls.
    pub without_call: Duration,
    /// The same application on `sqlx::migrate!` and `Migrator::run` on both pools.
    pub sqlx: Duration,
    /// The stripped release binaries of the three, in bytes, in the same order.
    pub stripped: [u64; 3],
}

/// The size of `binary` once stripped of symbols and debug information (a copy is stripped).
fn stripped_size(binary: &Path) -> u64 {
    let copy = tempfile::NamedTempFile::new().unwrap();
    std::fs::copy(binary, copy.path()).unwrap();
    let status = Command::new("strip")
        .arg(copy.path())
        .status()
        .expect("strip (binutils) runs");
    assert!(status.success());
    std::fs::metadata(copy.path()).unwrap().len()
}

/// The application's `main`: two pools and `calls`, nothing else, so the
/// migrator's share of the build is as visible as it can be.
fn app_main(embed: &str, calls: &str) -> String {
    format!(
        "{embed}

#[tokio::main(flavor = \"current_thread\")]
async fn main() {{
    let sqlite = sqlx::SqlitePool::connect(\"sqlite::memory:\").await.unwrap();
    let pg = sqlx::PgPool::connect_lazy(&std::env::var(\"DATABASE_URL\").unwrap_or_default()).unwrap();
{calls}
    println!(\"{{}} {{}}\", sqlite.size(), pg.size());
}}
"
    )
}

/// The three applications of [`AppRebuild`], each as its name, dependency
/// lines, `main.rs` and whether its migrations are in sqlx's format.
fn app_variants(n: usize) -> [(String, String, String, bool); 3] {
    let (_, _, ours_dependency) = app_folders();
    let ours_embed =
        "use migrate::sqlx;\n\nstatic MIGRATIONS: migrate::Migrations = migrate::embed_migrations!(\"migrations\");";
    [
        (
            format!("app_upgrade_{n}"),
            ours_dependency.clone(),
            app_main(
                ours_embed,
                "    MIGRATIONS.upgrade(&sqlite, \"head\").await.unwrap();\n    MIGRATIONS.upgrade(&pg, \"head\").await.unwrap();",
            ),
            false,
        ),
        (
            format!("app_no_upgrade_{n}"),
            ours_dependency,
            app_main(ours_embed, "    println!(\"{} migrations\", MIGRATIONS.len());"),
            false,
        ),
        (
            format!("app_sqlx_{n}"),
            "sqlx = { version = \"0.9\", default-features = false, features = [\"runtime-tokio\", \"sqlite\", \"postgres\", \"migrate\", \"macros\"] }\ntokio = { version = \"1\", features = [\"rt\", \"macros\"] }".to_owned(),
            app_main(
                "static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!(\"./migrations\");",
                "    MIGRATIONS.run(&sqlite).await.unwrap();\n    MIGRATIONS.run(&pg).await.unwrap();",
            ),
            true,
        ),
    ]
}

/// The stripped release binaries of [`AppRebuild`]'s three applications
/// with `n` migrations embedded, built once each (nothing timed), in bytes.
pub fn app_sizes(n: usize) -> [u64; 3] {
    let (root, target, _) = app_folders();
    app_variants(n).map(|(name, dependency, main, sqlx_format)| {
        let dir = project(&root, &name, &dependency, "", "0", n, sqlx_format);
        write(&dir.join("src/main.rs"), &main);
        build(&dir, &target);
        stripped_size(&target.join("release").join(&name))
    })
}

/// Measures [`AppRebuild`] with `n` migrations embedded: three crates sharing one target folder.
pub fn app(reps: usize, n: usize) -> AppRebuild {
    let (root, target, _) = app_folders();
    let variants = app_variants(n);
    // Warm each crate (dependencies and a first build), then rebuild them in
    // turn, round after round, so that whatever else the machine does weighs
    // on all three alike.
    let mut touched = Vec::new();
    let mut stripped = [0; 3];
    for (k, (name, dependency, main, sqlx_format)) in variants.into_iter().enumerate() {
        let dir = project(&root, &name, &dependency, "", "0", n, sqlx_format);
        write(&dir.join("src/main.rs"), &main);
        build(&dir, &target);
        stripped[k] = stripped_size(&target.join("release").join(&name));
        // The middle one of the history: touching it changes neither end.
        let file = if sqlx_format {
            generate::sqlx_name(n / 2)
        } else {
            generate::ours_name(n / 2)
        };
        touched.push((dir.clone(), dir.join("migrations").join(file)));
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); touched.len()];
    for k in 0..reps {
        for (i, (dir, file)) in touched.iter().enumerate() {
            let text = std::fs::read_to_string(file).unwrap();
            std::fs::write(file, format!("{text}\n-- touched {k}\n")).unwrap();
            samples[i].push(build(dir, &target));
        }
    }
    let times: Vec<Duration> = samples.into_iter().map(median).collect();
    AppRebuild {
        with_call: times[0],
        without_call: times[1],
        sqlx: times[2],
        stripped,
    }
}

/// The stripped release binaries of the smallest application a user writes
/// with each: `migrate` with its default features (SQLite) calling
/// `upgrade` on a `SqlitePool`, and the same on `sqlx::migrate!` and
/// `Migrator::run` (sqlx with only what that needs: the tokio runtime,
/// SQLite, `migrate` and `macros`), `n` migrations embedded; in bytes.
pub fn default_app_sizes(n: usize) -> [u64; 2] {
    let (root, target, _) = app_folders();
    let facade = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap();
    let tokio = "tokio = { version = \"1\", features = [\"rt\", \"macros\"] }";
    let variants = [
        (
            format!("default_app_{n}"),
            format!("migrate = {{ path = {:?} }}\n{tokio}", facade.display().to_string()),
            "use migrate::sqlx;\n\nstatic MIGRATIONS: migrate::Migrations = migrate::embed_migrations!(\"migrations\");",
            "MIGRATIONS.upgrade(&pool, \"head\").await.unwrap();",
            false,
        ),
        (
            format!("default_app_sqlx_{n}"),
            format!(
                "sqlx = {{ version = \"0.9\", default-features = false, features = [\"runtime-tokio\", \"sqlite\", \"migrate\", \"macros\"] }}\n{tokio}"
            ),
            "static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!(\"./migrations\");",
            "MIGRATIONS.run(&pool).await.unwrap();",
            true,
        ),
    ];
    variants.map(|(name, dependency, embed, call, sqlx_format)| {
        let dir = project(&root, &name, &dependency, "", "0", n, sqlx_format);
        write(
            &dir.join("src/main.rs"),
            &format!(
                "{embed}

#[tokio::main(flavor = \"current_thread\")]
async fn main() {{
    let url = std::env::args().nth(1).unwrap_or_else(|| \"sqlite::memory:\".to_owned());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    {call}
    println!(\"{{}}\", pool.size());
}}
"
            ),
        );
        build(&dir, &target);
        stripped_size(&target.join("release").join(&name))
    })
}

/// The rebuild folder, its target folder, and the `migrate` dependency line
/// of an application there (SQLite and PostgreSQL).
fn app_folders() -> (PathBuf, PathBuf, String) {
    app_folders_for("\"sqlite\", \"postgres\"")
}

/// [`app_folders`] for an application using `migrate` with `features` (its databases).
fn app_folders_for(features: &str) -> (PathBuf, PathBuf, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-rebuild");
    let target = root.join("target");
    let facade = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap();
    let migrate = format!(
        "migrate = {{ path = {:?}, default-features = false, features = [{features}] }}\ntokio = {{ version = \"1\", features = [\"rt\", \"macros\"] }}",
        facade.display().to_string()
    );
    (root, target, migrate)
}

/// What a user runs to migrate: an application built in release that embeds
/// N migrations (`embed_migrations!`; the chain of the apply workload, or
/// with `bases` the several-bases shape), connects to the URL it is given
/// (SQLite or PostgreSQL, one connection) and calls `upgrade(&pool, "head")`.
/// Built (untimed) in this benchmark's rebuild folder; returns the binary.
pub fn apply_app(n: usize, bases: bool) -> PathBuf {
    let (root, target, migrate) = app_folders();
    let name = if bases {
        format!("apply_app_bases_{n}")
    } else {
        format!("apply_app_{n}")
    };
    let dir = project(&root, &name, &migrate, "", "0", n, false);
    if bases {
        std::fs::remove_dir_all(dir.join("migrations")).unwrap();
        generate::ours_bases(&dir.join("migrations"), n);
    }
    write(
        &dir.join("src/main.rs"),
        "use migrate::sqlx;

static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!(\"migrations\");

#[tokio::main(flavor = \"current_thread\")]
async fn main() {
    let url = std::env::args().nth(1).expect(\"a database URL\");
    let applied = if url.starts_with(\"sqlite:\") {
        let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect(&url).await.unwrap();
        MIGRATIONS.upgrade(&pool, \"head\").await.unwrap()
    } else {
        let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
        MIGRATIONS.upgrade(&pool, \"head\").await.unwrap()
    };
    println!(\"{}\", applied.steps.len());
}
",
    );
    build(&dir, &target);
    target.join("release").join(name)
}

/// An application built in release with the apply workload's N migrations
/// embedded both ways, connecting (one connection) to the PostgreSQL or
/// MySQL URL it is given: `migrate URL` calls `upgrade(&pool, "head")`,
/// `sqlx URL` `sqlx::migrate!`'s `Migrator::run`; each prints how many
/// migrations it applied.
pub fn latency_app(n: usize) -> PathBuf {
    both_ways_app(&format!("latency_app_{n}"), n, "\"postgres\", \"mysql\"", LATENCY_APP)
}

/// An application named `name` embedding the N migrations with
/// `embed_migrations!` and, in `sqlx_migrations/`, with `sqlx::migrate!`
/// (`features`: its databases, for both), whose `main.rs` is `main`; built in
/// release (untimed), its binary returned.
fn both_ways_app(name: &str, n: usize, features: &str, main: &str) -> PathBuf {
    let (root, target, migrate) = app_folders_for(features);
    let dependencies = format!(
        "{migrate}\nsqlx = {{ version = \"0.9\", default-features = false, features = [\"runtime-tokio\", {features}, \"migrate\", \"macros\"] }}"
    );
    let dir = project(&root, name, &dependencies, "", "0", n, false);
    generate::sqlx(&dir.join("sqlx_migrations"), n);
    write(
        &dir.join("build.rs"),
        "fn main() {\n    println!(\"cargo:rerun-if-changed=migrations\");\n    println!(\"cargo:rerun-if-changed=sqlx_migrations\");\n}\n",
    );
    write(&dir.join("src/main.rs"), main);
    build(&dir, &target);
    target.join("release").join(name)
}

const LATENCY_APP: &str = r#"static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("migrations");
static SQLX: sqlx::migrate::Migrator = sqlx::migrate!("./sqlx_migrations");

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let applied = if args[1].starts_with("mysql:") {
        let pool = sqlx::mysql::MySqlPoolOptions::new().max_connections(1).connect(&args[1]).await.unwrap();
        match args[0].as_str() {
            "migrate" => MIGRATIONS.upgrade(&pool, "head").await.unwrap().steps.len(),
            _ => SQLX.run(&pool).await.map(|()| 0).unwrap(),
        }
    } else {
        let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&args[1]).await.unwrap();
        match args[0].as_str() {
            "migrate" => MIGRATIONS.upgrade(&pool, "head").await.unwrap().steps.len(),
            _ => SQLX.run(&pool).await.map(|()| 0).unwrap(),
        }
    };
    println!("{applied}");
}
"#;

/// An application built in release that embeds a backfill for each engine
/// (`migrations_pg/`, `migrations_my/`: a table of `rows` rows, then one
/// `-- migrate:phase: backfill` revision of `batch` rows a batch setting each
/// row's counter and digest; `migrations_pg_rs/`, `migrations_my_rs/`: the
/// same backfill as a Rust revision calling `migrate::backfill`) and runs
/// `upgrade(&pool, TARGET)` on the URL it is given (`app URL TARGET [rust]`),
/// printing how many steps it applied.
pub fn backfill_app(rows: usize, batch: usize) -> PathBuf {
    let (root, target, migrate) = app_folders_for("\"postgres\", \"mysql\"");
    let name = format!("backfill_app_{rows}_{batch}");
    let dir = root.join(&name);
    let _ = std::fs::remove_dir_all(&dir);
    write(
        &dir.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\n{migrate}\n\n[workspace]\n"
        ),
    );
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    std::fs::copy(lock, dir.join("Cargo.lock")).unwrap();
    write(
        &dir.join("build.rs"),
        "fn main() {\n    for d in [\"migrations_pg\", \"migrations_my\", \"migrations_pg_rs\", \"migrations_my_rs\"] {\n        println!(\"cargo:rerun-if-changed={d}\");\n    }\n}\n",
    );
    let table = |fill: &str| {
        format!(
            "-- a table to backfill\n--\n-- revision: a1\n-- down_revision:\n\n-- migrate:upgrade\nCREATE TABLE t (id BIGINT PRIMARY KEY, n INT NOT NULL DEFAULT 0, v VARCHAR(32));\n{fill};\n"
        )
    };
    let backfill = |digest: &str| {
        format!(
            "-- set each row's digest\n--\n-- revision: b2\n-- down_revision: a1\n-- migrate:phase: backfill\n-- migrate:backfill: t.id batch={batch}\n\n-- migrate:upgrade\n{}\n",
            crate::backfill::statement(digest)
        )
    };
    write(
        &dir.join("migrations_pg/a1_table.sql"),
        &table(&format!(
            "INSERT INTO t (id) SELECT g FROM generate_series(1, {rows}) AS g"
        )),
    );
    write(&dir.join("migrations_pg/b2_backfill.sql"), &backfill("md5(id::text)"));
    write(
        &dir.join("migrations_my/a1_table.sql"),
        &table(&format!("INSERT INTO t (id) SELECT seq FROM seq_1_to_{rows}")),
    );
    write(&dir.join("migrations_my/b2_backfill.sql"), &backfill("md5(id)"));
    // The same backfill as a Rust revision: its closure sends the same UPDATE, the range bound.
    let rust = |on: &str, digest: &str, placeholders: (&str, &str)| {
        format!(
            "//! set each row's digest\n//!\n//! revision: b2\n//! down_revision: a1\n//! migrate:phase: backfill\n//! migrate:backfill: t.id batch={batch}\n\npub async fn upgrade(conn: &mut migrate::Connection<'_>) -> migrate::RustResult {{\n    migrate::backfill(conn, |conn, range| {{\n        Box::pin(async move {{\n            let sql = \"UPDATE t SET n = n + 1, v = {digest} WHERE id >= {} AND id < {}\";\n            let done = migrate::sqlx::query(sql).bind(range.start).bind(range.end).execute(conn.{on}()?).await?;\n            Ok(done.rows_affected())\n        }})\n    }})\n    .await\n}}\n",
            placeholders.0, placeholders.1
        )
    };
    for (folder, on, digest, placeholders) in [
        ("migrations_pg_rs", "postgres", "md5(id::text)", ("$1", "$2")),
        ("migrations_my_rs", "mysql", "md5(id)", ("?", "?")),
    ] {
        let sql = if on == "postgres" {
            "migrations_pg"
        } else {
            "migrations_my"
        };
        std::fs::create_dir_all(dir.join(folder)).unwrap();
        std::fs::copy(
            dir.join(sql).join("a1_table.sql"),
            dir.join(folder).join("a1_table.sql"),
        )
        .unwrap();
        write(
            &dir.join(folder).join("b2_backfill.rs"),
            &rust(on, digest, placeholders),
        );
    }
    write(&dir.join("src/main.rs"), BACKFILL_APP);
    build(&dir, &target);
    target.join("release").join(name)
}

const BACKFILL_APP: &str = r#"static PG: migrate::Migrations = migrate::embed_migrations!("migrations_pg");
static MY: migrate::Migrations = migrate::embed_migrations!("migrations_my");
static PG_RS: migrate::Migrations = migrate::embed_migrations!("migrations_pg_rs");
static MY_RS: migrate::Migrations = migrate::embed_migrations!("migrations_my_rs");

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (url, target) = (&args[0], args[1].as_str());
    let rust = args.get(2).is_some_and(|a| a == "rust");
    let applied = if url.starts_with("mysql:") {
        let pool = migrate::sqlx::mysql::MySqlPoolOptions::new().max_connections(1).connect(url).await.unwrap();
        let list = if rust { &MY_RS } else { &MY };
        list.upgrade(&pool, target).await.unwrap().steps.len()
    } else {
        let pool = migrate::sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(url).await.unwrap();
        let list = if rust { &PG_RS } else { &PG };
        list.upgrade(&pool, target).await.unwrap().steps.len()
    };
    println!("{applied}");
}
"#;

/// What a test process runs (nextest runs one per test), built in release
/// with the apply workload's N migrations embedded both ways. Its first
/// argument says which way; it prints `ready` once its database answers a
/// first query, then drops the database and exits:
/// - `migrate sqlite|postgres`: `migrate::testing::fresh` (what
///   `#[migrate::test]` calls), a pool, `SELECT 1`;
/// - `sqlx sqlite URL` / `sqlx postgres SERVER NAME`: what `#[sqlx::test]`
///   does for each test: a new database, `sqlx::migrate!`'s `Migrator::run`,
///   a pool, `SELECT 1`.
pub fn test_db_app(n: usize) -> PathBuf {
    both_ways_app(&format!("test_db_app_{n}"), n, "\"sqlite\", \"postgres\"", TEST_DB_APP)
}

const TEST_DB_APP: &str = r#"use sqlx::Connection;
use std::io::Write;

static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("migrations");
static SQLX: sqlx::migrate::Migrator = sqlx::migrate!("./sqlx_migrations");

fn ready() {
    println!("ready");
    std::io::stdout().flush().unwrap();
}

macro_rules! first_query {
    ($pool:expr) => {
        let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one($pool).await.unwrap();
        assert_eq!(one, 1);
    };
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args[..] {
        ["migrate", "sqlite"] => {
            let db = migrate::testing::fresh(migrate::testing::Engine::Sqlite, &MIGRATIONS).await.unwrap();
            let pool = sqlx::SqlitePool::connect(db.url()).await.unwrap();
            first_query!(&pool);
            ready();
            pool.close().await;
            db.drop_database().await.unwrap();
        }
        ["migrate", "postgres"] => {
            let db = migrate::testing::fresh(migrate::testing::Engine::Postgres, &MIGRATIONS).await.unwrap();
            let pool = sqlx::PgPool::connect(db.url()).await.unwrap();
            first_query!(&pool);
            ready();
            pool.close().await;
            db.drop_database().await.unwrap();
        }
        ["sqlx", "sqlite", url] => {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            SQLX.run(&pool).await.unwrap();
            first_query!(&pool);
            ready();
            pool.close().await;
        }
        ["sqlx", "postgres", server, name] => {
            let mut admin = sqlx::PgConnection::connect(server).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.unwrap();
            let (base, _) = server.rsplit_once('/').unwrap();
            let pool = sqlx::PgPool::connect(&format!("{base}/{name}")).await.unwrap();
            SQLX.run(&pool).await.unwrap();
            first_query!(&pool);
            ready();
            pool.close().await;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(&mut admin).await.unwrap();
        }
        _ => panic!("usage: migrate sqlite|postgres | sqlx sqlite URL | sqlx postgres SERVER NAME"),
    }
}
"#;

fn build(dir: &Path, target: &Path) -> Duration {
    let t = Instant::now();
    let out = Command::new(cargo())
        .args(["build", "--release", "--offline", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "building {}:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed()
}

fn size(target: &Path, name: &str) -> i64 {
    std::fs::metadata(target.join("release").join(name)).unwrap().len() as i64
}

/// Measures both crates at N files; `reps` rebuilds each after touching one file.
pub fn measure(n: usize, reps: usize) -> Rebuild {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-rebuild");
    let target = root.join("target");
    let facade = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap();
    let ours = project(
        &root,
        "embed_ours",
        &format!(
            "migrate = {{ path = {:?}, default-features = false, features = [\"sqlite\"] }}",
            facade.display().to_string()
        ),
        "static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!(\"migrations\");",
        "MIGRATIONS.iter().map(|m| m.upgrade_sql().len() + m.downgrade_sql().map_or(0, str::len)).sum::<usize>()",
        n,
        false,
    );
    let sqlx = project(
        &root,
        "embed_sqlx",
        "sqlx = { version = \"0.9\", default-features = false, features = [\"runtime-tokio\", \"sqlite\", \"migrate\", \"macros\"] }",
        "static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!(\"./migrations\");",
        "MIGRATIONS.iter().map(|m| m.sql.as_str().len()).sum::<usize>()",
        n,
        true,
    );
    let mut result = Rebuild {
        ours: Duration::ZERO,
        sqlx: Duration::ZERO,
        ours_bytes: 0,
        sqlx_bytes: 0,
    };
    for (dir, name, touched, time, bytes) in [
        (
            &ours,
            "embed_ours",
            generate::ours_name(n / 2),
            &mut result.ours,
            &mut result.ours_bytes,
        ),
        (
            &sqlx,
            "embed_sqlx",
            format!("{}_step_{}.up.sql", n / 2 + 1, n / 2),
            &mut result.sqlx,
            &mut result.sqlx_bytes,
        ),
    ] {
        build(dir, &target); // warm: dependencies and a first build
        let with_n = size(&target, name);
        let file = dir.join("migrations").join(&touched);
        let samples = (0..reps)
            .map(|k| {
                let text = std::fs::read_to_string(&file).unwrap();
                // A real edit (a trailing comment), so the content changes too.
                std::fs::write(&file, format!("{text}\n-- touched {k}\n")).unwrap();
                build(dir, &target)
            })
            .collect();
        *time = median(samples);
        // The same crate with no migrations, for the size of the embedded list.
        let migrations = dir.join("migrations");
        std::fs::remove_dir_all(&migrations).unwrap();
        std::fs::create_dir_all(&migrations).unwrap();
        build(dir, &target);
        *bytes = with_n - size(&target, name);
    }
    result
}
