//! [`Dialect`]: the three databases' flavours of SQL, named once for the
//! whole workspace.

use std::fmt;
use std::str::FromStr;

/// A database's flavour of SQL: the one dialect type of the workspace, which
/// schemas are read in and rendered to, and the runtime speaks to its history
/// table in (`migrate_runtime::dialect::HistorySql`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite 3.35 or later.
    Sqlite,
    /// PostgreSQL 12 or later.
    Postgres,
    /// MySQL 8 or MariaDB 10.5 or later.
    Mysql,
}

impl Dialect {
    /// `name` quoted as an identifier when it needs to be (not a plain
    /// lower-case word, or a reserved one), else as it is.
    pub fn ident(self, name: &str) -> String {
        let plain = name.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !crate::schema::text::is_reserved(name);
        if plain {
            return name.to_owned();
        }
        match self {
            Dialect::Mysql => format!("`{}`", name.replace('`', "``")),
            Dialect::Sqlite | Dialect::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// `value` as a string literal.
    pub fn literal(self, value: &str) -> String {
        match self {
            Dialect::Mysql => format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''")),
            Dialect::Sqlite | Dialect::Postgres => format!("'{}'", value.replace('\'', "''")),
        }
    }

    /// The dialect's name as flags write it.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
        }
    }

    /// The dialect a database URL's scheme names (`sqlite:`, `postgres://`, `mysql://`, ...).
    pub fn from_url(url: &str) -> Option<Dialect> {
        url.split_once(':').and_then(|(scheme, _)| scheme.parse().ok())
    }
}

/// A name that is not one of `sqlite`, `postgres`, `mysql`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dialect `{0}`: use sqlite, postgres or mysql")]
pub struct UnknownDialect(pub String);

impl FromStr for Dialect {
    type Err = UnknownDialect;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "sqlite" | "sqlite3" => Ok(Dialect::Sqlite),
            "postgres" | "postgresql" | "pg" => Ok(Dialect::Postgres),
            "mysql" | "mariadb" => Ok(Dialect::Mysql),
            _ => Err(UnknownDialect(s.to_owned())),
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_from_url_and_name() {
        assert_eq!(Dialect::from_url("sqlite:app.db?mode=rwc"), Some(Dialect::Sqlite));
        assert_eq!(Dialect::from_url("postgresql://u@h/db"), Some(Dialect::Postgres));
        assert_eq!(Dialect::from_url("mariadb://root@h/db"), Some(Dialect::Mysql));
        assert_eq!(Dialect::from_url("oracle://x"), None);
        assert_eq!(Dialect::from_url("no scheme"), None);
        assert!("db2".parse::<Dialect>().is_err());
        assert_eq!(Dialect::Mysql.to_string(), "mysql");
    }
}
