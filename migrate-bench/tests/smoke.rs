//! The benchmark harness keeps working: a run with a small N, on SQLite and
//! (when it is reachable) PostgreSQL, prints every table. No timing is asserted.

use std::process::Command;

#[test]
fn the_harness_runs_with_a_small_n() {
    let out = Command::new(env!("CARGO_BIN_EXE_migrate-bench"))
        .arg("--smoke")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for table in ["## No-op start-up", "## Apply all N", "## Pure load", "## Peak memory"] {
        assert!(stdout.contains(table), "missing {table}:\n{stdout}");
    }
    // The no-op start-up sends exactly one statement on every database measured.
    let noop: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("| Sqlite | 20 ") || l.starts_with("| Postgres | 20 "))
        .take(2)
        .collect();
    assert!(!noop.is_empty(), "{stdout}");
    for row in noop {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(cells[4], "1", "migrate's no-op start-up statements: {row}");
    }
}
