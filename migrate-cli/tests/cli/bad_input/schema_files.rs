//! Schema files (`check --schema`, `revision --autogenerate`) with what must
//! not run (issue 22): a NUL byte, which left SQLite's driver spinning at
//! 100% CPU, and `renamed-from` lines that are misspelt or contradict the
//! file. Each is an error at `file:line` before any database is made.

use super::*;
use std::path::Path;
use std::time::Duration;

/// A project with an empty migrations folder; `schema` written to `s.sql`.
fn project(cwd: &Path, schema: &str) {
    std::fs::create_dir(cwd.join("migrations")).unwrap();
    std::fs::write(cwd.join("s.sql"), schema).unwrap();
}

/// `migrate check --schema s.sql --dialect sqlite`, which must end within 30 s.
fn check_schema(cwd: &Path) -> String {
    let mut cmd = migrate(cwd);
    cmd.timeout(Duration::from_secs(30));
    fails(&mut cmd, &["check", "--schema", "s.sql", "--dialect", "sqlite"], 1)
}

#[test]
fn a_nul_byte_in_a_schema_file_is_an_error_at_its_line_not_a_hang() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd, "CREATE TABLE a (id INTEGER);\n\0\nCREATE TABLE b (id INTEGER);\n");
    let e = check_schema(cwd);
    assert!(
        e.contains("error: control character U+0000 (NUL) at column 1\n  --> s.sql:2\n   = help: remove it"),
        "{e}"
    );
    // Autogenerate too, and it writes nothing.
    let mut cmd = migrate(cwd);
    cmd.timeout(Duration::from_secs(30));
    let e = fails(
        &mut cmd,
        &[
            "revision",
            "--autogenerate",
            "-m",
            "x",
            "--schema",
            "s.sql",
            "--dialect",
            "sqlite",
        ],
        1,
    );
    assert!(e.contains("--> s.sql:2"), "{e}");
    assert_eq!(std::fs::read_dir(cwd.join("migrations")).unwrap().count(), 0);
}

#[test]
fn misspelt_and_contradicting_renames_name_their_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(
        cwd,
        "-- migrate:renamed_from customer\nCREATE TABLE account (id INTEGER);\n",
    );
    let e = check_schema(cwd);
    assert!(
        e.contains("error: `-- migrate:renamed_from customer` is not a directive: did you mean `-- migrate:renamed-from customer`?\n  --> s.sql:1\n"),
        "{e}"
    );
    // Renamed from a table the file still declares: both lines named.
    std::fs::write(
        cwd.join("s.sql"),
        "CREATE TABLE customer (id INTEGER);\n-- migrate:renamed-from customer\nCREATE TABLE account (id INTEGER);\n",
    )
    .unwrap();
    let e = check_schema(cwd);
    assert!(
        e.contains("error: table \"account\" is renamed from \"customer\", but line 1 still declares \"customer\"\n  --> s.sql:2\n"),
        "{e}"
    );
    // One old table renamed twice.
    std::fs::write(
        cwd.join("s.sql"),
        "-- migrate:renamed-from customer\nCREATE TABLE account (id INTEGER);\n-- migrate:renamed-from customer\nCREATE TABLE client (id INTEGER);\n",
    )
    .unwrap();
    let e = check_schema(cwd);
    assert!(
        e.contains("and so is table \"account\" (line 1): \"customer\" would be renamed twice\n  --> s.sql:3\n"),
        "{e}"
    );
}

#[test]
fn ctrl_c_ends_a_schema_file_that_never_finishes_on_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    // A statement SQLite runs for ever: its worker thread cannot be told to stop from outside.
    project(
        cwd,
        "CREATE TABLE t (id INTEGER);\nCREATE VIEW v AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c;\nCREATE TABLE u AS SELECT count(*) AS n FROM v;\n",
    );
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_migrate"))
        .current_dir(cwd)
        .args(["check", "--schema", "s.sql", "--dialect", "sqlite"])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Long enough to be inside the endless statement.
    std::thread::sleep(Duration::from_secs(2));
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let (done, ended) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let out = ended
        .recv_timeout(Duration::from_secs(30))
        .expect("Ctrl-C ended the command within 30 s")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("interrupted; the scratch database was dropped"),
        "{stderr}"
    );
}
