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
    text(i, &down_revision)
}

/// How many lines the several-bases shape runs in parallel, and how long a block is.
const LINES: usize = 3;
const BLOCK: usize = 30;

/// The parents of migration `i` in the several-bases shape: a real history
/// grown from three: blocks of 30 revisions in which three lines run side by
/// side (in the first block from three bases, later from the previous
/// block's merge, a branch point), each block closed by a merge of the three.
pub fn bases_parents(i: usize, n: usize) -> Vec<usize> {
    let block = i / BLOCK;
    let at = i % BLOCK;
    let last_of_block = (block + 1) * BLOCK - 1;
    if i == last_of_block || (i + 1 == n && i > 0) {
        // A merge of the tails of the block's lines (the history's last revision
        // closes a block cut short).
        let start = block * BLOCK;
        let mut tails: Vec<usize> = (0..LINES)
            .filter_map(|line| (start..i).rev().find(|&j| (j - start) % LINES == line))
            .collect();
        tails.sort_unstable();
        if !tails.is_empty() {
            return tails;
        }
    }
    if at < LINES {
        // A line's first revision: a base in the first block, else the previous merge.
        return if block == 0 {
            Vec::new()
        } else {
            vec![block * BLOCK - 1]
        };
    }
    vec![i - LINES]
}

/// Migration `i` of `n` in our format, in the several-bases shape; the same SQL as [`ours_text`].
pub fn bases_text(i: usize, n: usize) -> String {
    let parents: Vec<String> = bases_parents(i, n).into_iter().map(id).collect();
    text(i, &parents.join(", "))
}

/// Writes N migrations in the several-bases shape into `dir`.
pub fn ours_bases(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        std::fs::write(dir.join(ours_name(i)), bases_text(i, n)).unwrap();
    }
}

/// The several-bases files in memory, for timing the pure load.
pub fn bases_sources(n: usize) -> Vec<Source> {
    (0..n)
        .map(|i| Source {
            path: format!("migrations/{}", ours_name(i)),
            bytes: bases_text(i, n).into_bytes(),
        })
        .collect()
}

fn text(i: usize, down_revision: &str) -> String {
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
/// The name of migration `i`'s upgrade file in sqlx's format.
pub fn sqlx_name(i: usize) -> String {
    format!("{}_step_{i}.up.sql", i + 1)
}

pub fn sqlx(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        std::fs::write(dir.join(sqlx_name(i)), up(i)).unwrap();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_several_bases_shape_is_a_valid_history_of_three_bases() {
        for n in [1, 2, 3, 4, 29, 30, 31, 59, 330, 1_000] {
            let list = migrate_core::load::from_sources(bases_sources(n)).unwrap_or_else(|e| panic!("N = {n}:\n{e}"));
            assert_eq!(list.len(), n);
            let roots = list.iter().filter(|m| m.down_revisions().next().is_none()).count();
            if n > LINES {
                assert_eq!(roots, LINES, "N = {n}");
            }
        }
        let list = migrate_core::load::from_sources(bases_sources(330)).unwrap();
        let merges = list.iter().filter(|m| m.down_revisions().count() > 1).count();
        assert_eq!(merges, 11, "a merge every 30 revisions");
    }
}
