//! Writing results: a failed write is an error.

use super::*;

#[test]
fn a_result_that_cannot_be_written_is_an_error() {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full");
    let Ok(full) = full else {
        eprintln!("SKIPPED: this system has no /dev/full");
        return;
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_migrate"))
        .current_dir(repo())
        .env_remove("DATABASE_URL")
        .env_remove("MIGRATE_CONFIG")
        .args(["upgrade", "--sql", "--dialect", "sqlite", "--dir", "migrations"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: cannot write the output: "), "{stderr}");
}
