//! A PostgreSQL database of a test's own on the local server, and its schema
//! as `pg_dump --schema-only` writes it, compared statement by statement.
//! Shared by `alembic_histories.rs` and `tool_histories.rs`, which compare
//! what `migrate` builds with what the tool imported from builds.

#![allow(dead_code)]

use std::process::Command;

/// The local server, as the tests reach it.
pub const SERVER: &str = "postgres://postgres@127.0.0.1:5432";

/// Runs `cmd`, which must succeed; its stdout.
pub fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A database of the test's own, made empty.
pub struct Db(pub String);

impl Db {
    pub fn new(name: String) -> Db {
        psql("postgres", &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        Db(name)
    }
    pub fn url(&self) -> String {
        format!("{SERVER}/{}", self.0)
    }
    /// Its schema as `pg_dump --schema-only` writes it, as sorted statements,
    /// without the history tables (migrate's, and those of the tools imported
    /// from) and the dump's session settings.
    pub fn dump(&self) -> Vec<String> {
        let text = ok(Command::new("pg_dump").args([
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "--exclude-table=alembic_version",
            "--exclude-table=_sqlx_migrations",
            "--exclude-table=__diesel_schema_migrations",
            "--exclude-table=migrate_history*",
            &self.0,
        ]));
        statements(&text)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc"])
            .arg(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.0))
            .output();
    }
}

/// `sql` run by `psql` on database `db` of the server; its unaligned output.
pub fn psql(db: &str, sql: &str) -> String {
    ok(Command::new("psql").args(["-h", "127.0.0.1", "-U", "postgres", "-d", db, "-qAtc", sql]))
}

/// A dump's statements, sorted (pg_dump orders some objects by OID), without
/// comments, meta-commands and `SET`s.
fn statements(dump: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in dump.lines() {
        let t = line.trim_end();
        if t.is_empty()
            || t.starts_with("--")
            || t.starts_with('\\')
            || (cur.is_empty() && (t.starts_with("SET ") || t.starts_with("SELECT pg_catalog.set_config")))
        {
            continue;
        }
        cur.push_str(t);
        cur.push('\n');
        if t.ends_with(';') {
            out.push(std::mem::take(&mut cur));
        }
    }
    out.sort();
    out
}

/// Fails with `what` and the statements that differ unless dumps `a` and `b` agree.
pub fn assert_same(a: &[String], b: &[String], what: &str) {
    assert!(a == b, "{what}:\n{}", differences(a, b));
}

/// What two dumps do not share, for a failure message.
pub fn differences(a: &[String], b: &[String]) -> String {
    let only = |x: &[String], y: &[String]| {
        x.iter()
            .filter(|s| !y.contains(s))
            .take(6)
            .cloned()
            .collect::<Vec<_>>()
            .join("")
    };
    format!(
        "only in the first:\n{}\nonly in the second:\n{}",
        only(a, b),
        only(b, a)
    )
}
