//! The history table's name: validated, so it can be quoted into SQL safely.

use crate::error::{Error, Result};

/// The default history table name.
pub const DEFAULT_TABLE: &str = "migrate_history";

/// Where the history lives: a table name and, on PostgreSQL, an optional schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryTable {
    schema: Option<String>,
    name: String,
}

impl Default for HistoryTable {
    fn default() -> Self {
        HistoryTable {
            schema: None,
            name: DEFAULT_TABLE.to_owned(),
        }
    }
}

fn check(ident: &str) -> Result<String> {
    let ok = !ident.is_empty()
        && ident.len() <= 63
        && !ident.as_bytes()[0].is_ascii_digit()
        && ident.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(ident.to_owned())
    } else {
        Err(Error::InvalidName(ident.to_owned()))
    }
}

impl HistoryTable {
    /// A table called `name`, in the connection's default schema.
    pub fn new(name: &str) -> Result<Self> {
        Ok(HistoryTable {
            schema: None,
            name: check(name)?,
        })
    }

    /// The history table of migration set `set` when nothing else names one:
    /// `migrate_history_<set>`.
    pub fn for_set(set: &str) -> Result<Self> {
        HistoryTable::new(&Self::set_table_name(set))
    }

    /// The name [`for_set`](Self::for_set) gives migration set `set`'s table.
    pub fn set_table_name(set: &str) -> String {
        format!("{DEFAULT_TABLE}_{set}")
    }

    /// Puts the table in `schema` (PostgreSQL; on MySQL a schema is a database).
    pub fn in_schema(mut self, schema: &str) -> Result<Self> {
        self.schema = Some(check(schema)?);
        Ok(self)
    }

    /// The same table in the connection's current schema (a database made
    /// for one command has no other).
    pub fn without_schema(mut self) -> Self {
        self.schema = None;
        self
    }

    /// The table name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The schema, if one was chosen.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The table quoted with `q` (`"` or `` ` ``), qualified by its schema.
    pub(crate) fn quoted(&self, q: char) -> String {
        match &self.schema {
            Some(s) => format!("{q}{s}{q}.{q}{}{q}", self.name),
            None => format!("{q}{}{q}", self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert_eq!(HistoryTable::new("app_history").unwrap().quoted('"'), "\"app_history\"");
        assert_eq!(
            HistoryTable::new("h").unwrap().in_schema("ops").unwrap().quoted('`'),
            "`ops`.`h`"
        );
        for bad in ["", "1abc", "a-b", "a\"b", "a b", &"x".repeat(64)] {
            assert!(matches!(HistoryTable::new(bad), Err(Error::InvalidName(_))), "{bad}");
        }
    }
}
