//! `-- migrate:renamed-from OLD`: the renames a `schema.sql` declares.
//!
//! The generator never guesses a rename: a table or column that disappears
//! while another appears is a drop and an add, unless the line before the
//! new one's definition says where it came from:
//!
//! ```sql
//! -- migrate:renamed-from customer
//! CREATE TABLE account (
//!     id integer PRIMARY KEY,
//!     -- migrate:renamed-from mail
//!     email text NOT NULL
//! );
//! ```

use super::text::{Kind, tokens, unquote};
use std::collections::BTreeMap;

/// The directive, as written on its own line.
pub const RENAMED_FROM: &str = "-- migrate:renamed-from";

/// The renames of a schema file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renames {
    /// New table name → old name.
    pub tables: BTreeMap<String, String>,
    /// (table's new name, column's new name) → the column's old name.
    pub columns: BTreeMap<(String, String), String>,
}

impl Renames {
    /// The same renames read the other way, for the downgrade.
    pub fn reversed(&self) -> Renames {
        let table_back: BTreeMap<&str, &str> = self
            .tables
            .iter()
            .map(|(new, old)| (new.as_str(), old.as_str()))
            .collect();
        Renames {
            tables: self
                .tables
                .iter()
                .map(|(new, old)| (old.clone(), new.clone()))
                .collect(),
            columns: self
                .columns
                .iter()
                .map(|((table, new), old)| {
                    let old_table = table_back.get(table.as_str()).copied().unwrap_or(table);
                    ((old_table.to_owned(), old.clone()), new.clone())
                })
                .collect(),
        }
    }
}

/// A directive the reader could not attach to a table or column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: `{RENAMED_FROM}` must be followed by a `CREATE TABLE` line or, inside one, a column's line")]
pub struct MisplacedRename {
    /// The directive's line, from 1.
    pub line: usize,
}

/// The first word of a line, as an identifier, with the word after it.
fn words(line: &str) -> Vec<String> {
    tokens(line)
        .into_iter()
        .filter(|t| matches!(t.kind, Kind::Word | Kind::Quoted))
        .take(8)
        .map(|t| unquote(&line[t.start..t.end]))
        .collect()
}

/// The table a `CREATE TABLE` line creates.
fn created_table(line: &str) -> Option<String> {
    let w = words(line);
    let lower: Vec<String> = w.iter().map(|s| s.to_ascii_lowercase()).collect();
    let at = lower.iter().position(|s| s == "table")?;
    if lower.first().map(String::as_str) != Some("create") {
        return None;
    }
    let mut i = at + 1;
    if lower.get(i).map(String::as_str) == Some("if") {
        i += 3;
    }
    // `public.account` reads as two words: the last one before `(` is the table.
    let rest: Vec<&String> = w[i..].iter().collect();
    let name = if line.contains('.') && rest.len() >= 2 {
        rest[1]
    } else {
        rest.first()?
    };
    Some(name.clone())
}

/// Reads every `-- migrate:renamed-from OLD` of a schema file.
pub fn renames(sql: &str) -> Result<Renames, MisplacedRename> {
    let mut out = Renames::default();
    let mut pending: Option<(usize, String)> = None;
    let mut table: Option<String> = None;
    let mut depth: i64 = 0;
    for (i, line) in sql.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix(RENAMED_FROM) {
            let old = rest.trim();
            if old.is_empty() || pending.is_some() {
                return Err(MisplacedRename { line: i + 1 });
            }
            pending = Some((i + 1, unquote(old)));
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with("--") {
            continue;
        }
        let created = created_table(line);
        if let Some((at, old)) = pending.take() {
            match (&created, &table) {
                (Some(new), _) => {
                    out.tables.insert(new.clone(), old);
                }
                (None, Some(t)) if depth > 0 => {
                    let column = words(line).into_iter().next().ok_or(MisplacedRename { line: at })?;
                    out.columns.insert((t.clone(), column), old);
                }
                _ => return Err(MisplacedRename { line: at }),
            }
        }
        if created.is_some() {
            table = created;
            depth = 0;
        }
        for t in tokens(line) {
            if t.kind == Kind::Punct {
                match &line[t.start..t.end] {
                    "(" => depth += 1,
                    ")" => depth -= 1,
                    _ => {}
                }
            }
        }
        if depth <= 0 {
            depth = 0;
            if line.contains(';') {
                table = None;
            }
        }
    }
    match pending {
        Some((line, _)) => Err(MisplacedRename { line }),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_columns() {
        let r = renames(
            "-- migrate:renamed-from customer\nCREATE TABLE account (\n  id integer PRIMARY KEY,\n  -- migrate:renamed-from mail\n  \"email\" text NOT NULL\n);\nCREATE TABLE other (x int);\n",
        )
        .unwrap();
        assert_eq!(r.tables.get("account").map(String::as_str), Some("customer"));
        assert_eq!(
            r.columns.get(&("account".into(), "email".into())).map(String::as_str),
            Some("mail")
        );
        let back = r.reversed();
        assert_eq!(back.tables.get("customer").map(String::as_str), Some("account"));
        assert_eq!(
            back.columns
                .get(&("customer".into(), "mail".into()))
                .map(String::as_str),
            Some("email")
        );
    }

    #[test]
    fn a_stray_directive_names_its_line() {
        assert_eq!(
            renames("CREATE TABLE a (x int);\n-- migrate:renamed-from b\nCREATE INDEX i ON a (x);\n"),
            Err(MisplacedRename { line: 2 })
        );
        assert_eq!(renames("-- migrate:renamed-from b\n"), Err(MisplacedRename { line: 1 }));
    }
}
