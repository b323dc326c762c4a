//! The workload: N realistic reversible migrations (a table, an index and a
//! row each), written in our format and in sqlx's, with the same SQL.

use migrate_core::load::Source;
use std::path::Path;

/// The upgrade SQL of migration `i`.
pub fn up(i: usize) -> String {
    format!(
        "CREATE TABLE t_{i} (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL);\nCREATE INDEX t_{i}_name ON t_{i} (name);\nINSERT INTO t_{i} (id, name) VALUES (1, 'row {i}');"
    )
}

/// The downgrade SQL of migration `i`.
pub fn down(i: usize) -> String {
    format!("DROP TABLE t_{i};")
}

fn id(i: usize) -> String {
    format!("r{i:05}")
}

/// Migration `i` in our format: a linear chain.
pub fn ours_text(i: usize) -> String {
    let down_revision = if i == 0 { String::new() } else { id(i - 1) };
    format!(
        "-- step {i}\n--\n-- revision: {}\n-- down_revision: {down_revision}\n\n-- migrate:upgrade\n{}\n\n-- migrate:downgrade\n{}\n",
        id(i),
        up(i),
        down(i)
    )
}

/// Our file name for migration `i`.
pub fn ours_name(i: usize) -> String {
    format!("{}_step_{i}.sql", id(i))
}

/// Writes N migrations in our format into `dir`.
pub fn ours(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        std::fs::write(dir.join(ours_name(i)), ours_text(i)).unwrap();
    }
}

/// Writes the same N migrations in sqlx's reversible format into `dir`.
pub fn sqlx(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        std::fs::write(dir.join(format!("{}_step_{i}.up.sql", i + 1)), up(i)).unwrap();
        std::fs::write(dir.join(format!("{}_step_{i}.down.sql", i + 1)), down(i)).unwrap();
    }
}

/// The N files in memory, for timing the pure load, validate and hash.
pub fn sources(n: usize) -> Vec<Source> {
    (0..n)
        .map(|i| Source {
            path: format!("migrations/{}", ours_name(i)),
            bytes: ours_text(i).into_bytes(),
        })
        .collect()
}
