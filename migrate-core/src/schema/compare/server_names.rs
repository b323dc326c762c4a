//! The names a server gives a constraint or an index that its statement did
//! not name: which server's rule a name follows, if any.
//!
//! Two such names of one definition name the same thing chosen twice (the
//! counter a server adds when a name is taken differs with the history),
//! so [`members`](super::members) matches them by definition. A name is the
//! server's only for the table and columns as the later schema names them:
//! `customer_pkey` on a table now called `account` is a name like any other.

use crate::schema::model::{Constraint, ConstraintKind, Index};

/// Whose rule a name follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Naming {
    /// PostgreSQL's `makeObjectName`: `<table>_<columns>_<label>[N]`, cut to 63 bytes.
    Postgres,
    /// MySQL's `<table>_ibfk_N` and `<table>_chk_N`; an index named after its first column.
    Mysql,
    /// MariaDB's `CONSTRAINT_N` for a CHECK.
    Mariadb,
}

/// PostgreSQL's longest name in bytes (`NAMEDATALEN - 1`).
const MAX_NAME: usize = 63;

/// Whose rule the name of `c`, on `table` with its columns as `columns`
/// (the later names), follows.
pub(super) fn constraint(table: &str, c: &Constraint, columns: &[String]) -> Option<Naming> {
    let name = c.name.as_str();
    let joined = columns.join("_");
    let postgres = match c.kind {
        ConstraintKind::PrimaryKey => postgres(name, table, None, "pkey"),
        ConstraintKind::Unique => postgres(name, table, Some(&joined), "key"),
        ConstraintKind::ForeignKey => postgres(name, table, Some(&joined), "fkey"),
        // A check on one column is `<table>_<column>_check`, any other `<table>_check`.
        ConstraintKind::Check => match columns {
            [one] => postgres(name, table, Some(one), "check"),
            _ => postgres(name, table, None, "check"),
        },
    };
    if postgres {
        return Some(Naming::Postgres);
    }
    let counted = |prefix: &str| name.strip_prefix(prefix).is_some_and(number);
    match c.kind {
        ConstraintKind::ForeignKey if counted(&format!("{table}_ibfk_")) => Some(Naming::Mysql),
        ConstraintKind::Check if counted(&format!("{table}_chk_")) => Some(Naming::Mysql),
        ConstraintKind::Check if counted("CONSTRAINT_") => Some(Naming::Mariadb),
        _ => None,
    }
}

/// Whose rule the name of index `i` on `table`, its columns as `columns`, follows.
pub(super) fn index(table: &str, i: &Index, columns: &[String]) -> Option<Naming> {
    let name = i.name.as_str();
    if !columns.is_empty() && postgres(name, table, Some(&columns.join("_")), "idx") {
        return Some(Naming::Postgres);
    }
    // MySQL names an unnamed index after its first column, `_2`, `_3` … when taken.
    let first = columns.first()?;
    let counted = name
        .strip_prefix(first.as_str())
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|n| number(n) && n != "0" && n != "1");
    (name == first || counted).then_some(Naming::Mysql)
}

fn number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `name` is what PostgreSQL chooses for `table`, `addition` and
/// `label`, or with the counter it appends to the label when that is taken
/// (`item_name_key1`).
fn postgres(name: &str, table: &str, addition: Option<&str>, label: &str) -> bool {
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let counter = &name[name.len() - digits..];
    name == object_name(table, addition, &format!("{label}{counter}"))
}

/// PostgreSQL's `makeObjectName`: `name1_name2_label`, the longer of the
/// two names shortened a byte at a time (never inside a character) until
/// the whole fits in 63 bytes.
fn object_name(name1: &str, name2: Option<&str>, label: &str) -> String {
    let overhead = usize::from(name2.is_some()) + label.len() + 1;
    let available = MAX_NAME.saturating_sub(overhead);
    let (mut n1, mut n2) = (name1.len(), name2.map_or(0, str::len));
    while n1 + n2 > available {
        if n1 > n2 {
            n1 -= 1;
        } else {
            n2 -= 1;
        }
    }
    let clip = |s: &str, mut n: usize| {
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s[..n].to_owned()
    };
    match name2 {
        Some(n) => format!("{}_{}_{label}", clip(name1, n1), clip(n, n2)),
        None => format!("{}_{label}", clip(name1, n1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn con(name: &str, kind: ConstraintKind) -> Constraint {
        Constraint {
            name: name.into(),
            kind,
            columns: Vec::new(),
            references: None,
            definition: String::new(),
            index: None,
        }
    }

    #[test]
    fn postgres_names() {
        let cols = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let pg = Some(Naming::Postgres);
        assert_eq!(
            constraint("item", &con("item_pkey", ConstraintKind::PrimaryKey), &[]),
            pg
        );
        assert_eq!(
            constraint("item", &con("item_pkey1", ConstraintKind::PrimaryKey), &[]),
            pg
        );
        assert_eq!(
            constraint("account", &con("customer_pkey", ConstraintKind::PrimaryKey), &[]),
            None
        );
        let unique = con("item_a_b_key2", ConstraintKind::Unique);
        assert_eq!(constraint("item", &unique, &cols(&["a", "b"])), pg);
        assert_eq!(constraint("item", &unique, &cols(&["a"])), None);
        let fk = con("item_parent_id_fkey", ConstraintKind::ForeignKey);
        assert_eq!(constraint("item", &fk, &cols(&["parent_id"])), pg);
        assert_eq!(
            constraint("item", &con("item_qty_check", ConstraintKind::Check), &cols(&["qty"])),
            pg
        );
        assert_eq!(
            constraint("item", &con("item_check1", ConstraintKind::Check), &cols(&["a", "b"])),
            pg
        );
        assert_eq!(
            constraint("item", &con("positive", ConstraintKind::Check), &cols(&["qty"])),
            None
        );
        // Cut to 63 bytes, the longer name a byte at a time.
        let name = format!("{}_{}_key", "t".repeat(29), "c".repeat(29));
        assert_eq!(name.len(), 63);
        let unique = con(&name, ConstraintKind::Unique);
        assert_eq!(constraint(&"t".repeat(40), &unique, &cols(&[&"c".repeat(40)])), pg);
    }

    #[test]
    fn mysql_and_mariadb_names() {
        assert_eq!(
            constraint("child", &con("child_ibfk_2", ConstraintKind::ForeignKey), &[]),
            Some(Naming::Mysql)
        );
        assert_eq!(
            constraint("child", &con("CONSTRAINT_1", ConstraintKind::Check), &[]),
            Some(Naming::Mariadb)
        );
        let i = |name: &str| Index {
            name: name.into(),
            columns: vec!["email".into()],
            definition: String::new(),
        };
        let email = ["email".to_owned()];
        assert_eq!(index("t", &i("email"), &email), Some(Naming::Mysql));
        assert_eq!(index("t", &i("email_2"), &email), Some(Naming::Mysql));
        assert_eq!(index("t", &i("t_email_idx"), &email), Some(Naming::Postgres));
        assert_eq!(index("t", &i("by_email"), &email), None);
    }
}
