//! `--only-autogenerate`: `migrate revision --autogenerate` (the release
//! binary, as a user runs it) on a history of 160 revisions building 60
//! tables, with a schema.sql a few changes ahead, beside the engine's own
//! client building the same two scratch databases (the 160 migrations, one
//! transaction each, in one; schema.sql in the other), which is the floor of
//! any tool that compares two databases a server normalised.

use crate::deploy::migrate_binary;
use crate::measure::{median, postgres_server};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const REVISIONS: usize = 160;
const TABLES: usize = 60;

/// The upgrade SQL of revision `i` (from 1): the first 60 create a table each,
/// the rest add a column and an index to one of them.
fn up(i: usize) -> String {
    if i <= TABLES {
        format!(
            "CREATE TABLE t{i} (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL, created_at TIMESTAMP, parent_id INTEGER{});",
            if i > 1 {
                format!(" REFERENCES t{} (id)", i - 1)
            } else {
                String::new()
            }
        )
    } else {
        let t = (i - TABLES) % TABLES + 1;
        format!("ALTER TABLE t{t} ADD COLUMN c{i} INTEGER;\nCREATE INDEX t{t}_c{i} ON t{t} (c{i});")
    }
}

fn down(i: usize) -> String {
    if i <= TABLES {
        format!("DROP TABLE t{i};")
    } else {
        let t = (i - TABLES) % TABLES + 1;
        format!("DROP INDEX t{t}_c{i};\nALTER TABLE t{t} DROP COLUMN c{i};")
    }
}

/// The wanted schema: the end state with a table, two columns and an index more.
const AHEAD: &str = "ALTER TABLE t1 ADD COLUMN email VARCHAR(80);\nALTER TABLE t30 ADD COLUMN score INTEGER NOT NULL DEFAULT 0;\nCREATE INDEX t30_score ON t30 (score);\nCREATE TABLE audit (id INTEGER PRIMARY KEY, t1_id INTEGER REFERENCES t1 (id), note TEXT);\n";

fn project(dir: &Path) {
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    for i in 1..=REVISIONS {
        let parent = if i == 1 {
            String::new()
        } else {
            format!("r{:04}", i - 1)
        };
        std::fs::write(
            dir.join("migrations").join(format!("r{i:04}_m.sql")),
            format!(
                "-- m{i}\n-- revision: r{i:04}\n-- down_revision: {parent}\n\n-- migrate:upgrade\n{}\n\n-- migrate:downgrade\n{}\n",
                up(i),
                down(i)
            ),
        )
        .unwrap();
    }
}

/// The end state of the migrations as the SQL the floor runs: every upgrade, each in a transaction.
fn migrations_script() -> String {
    (1..=REVISIONS)
        .map(|i| format!("BEGIN;\n{}\nCOMMIT;\n", up(i)))
        .collect()
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn timed(mut f: impl FnMut()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn fmt(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

/// One database: `migrate revision --autogenerate` and the floor, alternated, medians of `reps`.
fn measure(
    bin: &Path,
    dir: &Path,
    dialect_args: &[&str],
    floor: &mut dyn FnMut(),
    reps: usize,
) -> (Duration, Duration) {
    // schema.sql: the end state as `migrate schema dump` writes it, and the changes ahead.
    let dumped = run_ok(
        Command::new(bin)
            .current_dir(dir)
            .args(["schema", "dump"])
            .args(dialect_args),
    );
    std::fs::write(dir.join("schema.sql"), format!("{dumped}\n{AHEAD}")).unwrap();
    let (mut ours, mut floors) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        ours.push(timed(|| {
            let path = run_ok(
                Command::new(bin)
                    .current_dir(dir)
                    .args(["revision", "--autogenerate", "-q", "-m", "ahead"])
                    .args(dialect_args),
            );
            std::fs::remove_file(dir.join(path.trim())).unwrap();
        }));
        floors.push(timed(&mut *floor));
    }
    (median(ours), median(floors))
}

pub fn print() {
    let bin = migrate_binary();
    let reps = 11;
    println!("## Autogenerate: {REVISIONS} revisions, {TABLES} tables (median of {reps}, whole process)\n");
    println!(
        "`migrate revision --autogenerate` (release) beside the floor: the engine's client building the same two scratch databases (the {REVISIONS} migrations, one transaction each; schema.sql).\n"
    );
    println!("| database | migrate (ms) | floor (ms) | migrate / floor | target |");
    println!("|---|---:|---:|---:|---|");
    let tmp = tempfile::tempdir().unwrap();
    project(tmp.path());
    let script = migrations_script();

    let mut sqlite_floor = || {
        let schema = std::fs::read_to_string(tmp.path().join("schema.sql")).unwrap();
        for sql in [&script, &schema] {
            let mut child = Command::new("sqlite3")
                .arg(":memory:")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::io::Write::write_all(
                child.stdin.as_mut().unwrap(),
                format!(".bail on\nPRAGMA foreign_keys = ON;\n{sql}").as_bytes(),
            )
            .unwrap();
            assert!(child.wait().unwrap().success());
        }
    };
    let (ours, floor) = measure(&bin, tmp.path(), &["--dialect", "sqlite"], &mut sqlite_floor, reps);
    println!(
        "| SQLite | {} | {} | {:.2}× | ≤ 1,000 ms: {} |",
        fmt(ours),
        fmt(floor),
        ours.as_secs_f64() / floor.as_secs_f64(),
        if ours <= Duration::from_secs(1) {
            "met"
        } else {
            "not met"
        }
    );

    let server = postgres_server();
    if Command::new("psql")
        .args([server.as_str(), "-Atc", "select 1"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let dev = ["--dev-database-url", server.as_str()];
        let mut pg_floor = || {
            let schema = std::fs::read_to_string(tmp.path().join("schema.sql")).unwrap();
            for (k, sql) in [&script, &schema].into_iter().enumerate() {
                let name = format!("bench_autogen_floor_{k}");
                run_ok(Command::new("psql").args([server.as_str(), "-qAtc", &format!("CREATE DATABASE {name}")]));
                let (base, _) = server.rsplit_once('/').unwrap();
                let url = format!("{base}/{name}");
                let mut child = Command::new("psql")
                    .args([url.as_str(), "-q", "-v", "ON_ERROR_STOP=1"])
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap();
                std::io::Write::write_all(child.stdin.as_mut().unwrap(), sql.as_bytes()).unwrap();
                assert!(child.wait().unwrap().success());
                run_ok(Command::new("psql").args([
                    server.as_str(),
                    "-qAtc",
                    &format!("DROP DATABASE {name} WITH (FORCE)"),
                ]));
            }
        };
        let (ours, floor) = measure(&bin, tmp.path(), &dev, &mut pg_floor, reps);
        println!(
            "| PostgreSQL | {} | {} | {:.2}× | ≤ 5,000 ms: {} |",
            fmt(ours),
            fmt(floor),
            ours.as_secs_f64() / floor.as_secs_f64(),
            if ours <= Duration::from_secs(5) {
                "met"
            } else {
                "not met"
            }
        );
    } else {
        eprintln!("PostgreSQL is not reachable at {server}: its row is left out");
    }
}
