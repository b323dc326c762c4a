//! PostgreSQL's partitioned tables in a generated revision: the `CREATE
//! TABLE` of a partitioned table (`PARTITION BY`) and of a partition
//! (`PARTITION OF … FOR VALUES …`, its columns its parent's), and the order
//! that creates a parent before its partitions and drops them before it.

use crate::schema::model::Table;

/// The `CREATE TABLE` of `t`, named `name`, whose parent (if a partition) is
/// `parent`, with the column and constraint lines `items` (a partition has
/// only what is its own).
pub(super) fn create_table(t: &Table, name: &str, parent: &str, items: &[String]) -> String {
    match (&t.partition_of, &t.partition_by) {
        (Some(of), _) if items.is_empty() => format!("CREATE TABLE {name} PARTITION OF {parent} {}", of.bound),
        (Some(of), _) => format!(
            "CREATE TABLE {name} PARTITION OF {parent} (\n{}\n) {}",
            items.join(",\n"),
            of.bound
        ),
        (None, Some(key)) => format!("CREATE TABLE {name} (\n{}\n) PARTITION BY {key}", items.join(",\n")),
        (None, None) => format!("CREATE TABLE {name} (\n{}\n)", items.join(",\n")),
    }
}

/// How many partitioned tables of `tables` stand above `t`.
pub(super) fn depth(t: &Table, tables: &[&Table]) -> usize {
    let mut depth = 0;
    let mut at = t;
    while let Some(of) = &at.partition_of {
        match tables.iter().find(|p| p.name == of.parent) {
            Some(p) if depth < tables.len() => {
                depth += 1;
                at = p;
            }
            _ => break,
        }
    }
    depth
}
