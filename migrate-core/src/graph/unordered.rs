//! Revisions the graph leaves unordered that change the same table: their
//! order is an accident of file names, and a rename of either file, or a
//! third branch, changes it. `check` warns about each pair and says how to
//! fix the order (`-- depends_on:`); the build is not failed for it.

use super::Graph;
use crate::Dialect;
use std::collections::BTreeMap;

/// Two revisions neither of which needs the other, that change one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unordered {
    /// The one applied first today (a position in the application order).
    pub first: usize,
    /// The other one.
    pub second: usize,
    /// A table both change (the first by name).
    pub table: String,
}

impl Graph<'_> {
    /// Every pair of revisions that no `down_revision` or `depends_on`
    /// orders and whose upgrades change a common table (read in `dialect`;
    /// [`crate::sql::tables::changed`]), in application order.
    pub fn unordered_changes(&self, dialect: Dialect) -> Vec<Unordered> {
        let n = self.len();
        let mut by_table: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for i in 0..n {
            for table in crate::sql::tables::changed(self.get(i).upgrade_sql(), dialect) {
                by_table.entry(table).or_default().push(i);
            }
        }
        if by_table.values().all(|revs| revs.len() < 2) {
            return Vec::new();
        }
        let needs: Vec<Vec<bool>> = (0..n).map(|i| self.ancestors(i)).collect();
        let mut pairs: BTreeMap<(usize, usize), String> = BTreeMap::new();
        for (table, revs) in &by_table {
            for (k, &a) in revs.iter().enumerate() {
                for &b in &revs[k + 1..] {
                    if !needs[b][a] && !needs[a][b] {
                        pairs.entry((a, b)).or_insert_with(|| table.clone());
                    }
                }
            }
        }
        pairs
            .into_iter()
            .map(|((first, second), table)| Unordered { first, second, table })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::Dialect;
    use crate::graph::Graph;
    use crate::migration::{Migration, MigrationParts};

    fn rev(id: &str, parents: &[&str], after: &[&str], upgrade: &str) -> Migration {
        Migration::new(MigrationParts {
            revision: id.into(),
            down_revisions: parents.iter().map(|p| (*p).to_owned()).collect(),
            runs_after: after.iter().map(|p| (*p).to_owned()).collect(),
            upgrade: upgrade.into(),
            file: format!("m/{id}_x.sql"),
            ..Default::default()
        })
    }

    #[test]
    fn siblings_changing_one_table_until_depends_on_orders_them() {
        let list = |after: &[&'static str]| {
            vec![
                rev("a", &[], &[], "CREATE TABLE item (id int)"),
                rev("b", &["a"], &[], "ALTER TABLE item ADD x int"),
                rev(
                    "c",
                    &["a"],
                    after,
                    "ALTER TABLE public.item RENAME TO thing; CREATE TABLE other (id int)",
                ),
                rev("d", &["a"], &[], "CREATE TABLE unrelated (id int)"),
                rev("m", &["b", "c", "d"], &[], ""),
            ]
        };
        let ms = list(&[]);
        let g = Graph::new(&ms).unwrap();
        let pairs = g.unordered_changes(Dialect::Postgres);
        let found: Vec<(&str, &str, &str)> = pairs
            .iter()
            .map(|u| (g.get(u.first).revision(), g.get(u.second).revision(), u.table.as_str()))
            .collect();
        assert_eq!(found, [("c", "b", "item")]);
        let ms = list(&["b"]);
        let g = Graph::new(&ms).unwrap();
        assert_eq!(g.unordered_changes(Dialect::Postgres), []);
    }
}
