//! Schemas as the database holds them, compared and turned into migrations:
//! what `migrate revision --autogenerate`, `migrate check --schema` and
//! `migrate schema dump` are built on.
//!
//! The runtime's catalog readers fill a [`Schema`] from a live database (the
//! migrations applied to one scratch database, `schema.sql` run in another),
//! so both sides were normalised by the same server. This module is pure:
//! [`compare`] matches the two models (renames only where `schema.sql` says
//! `-- migrate:renamed-from OLD`, see [`renames`]), and [`render`] writes the
//! statements of one dialect, upgrade and downgrade alike: the downgrade is
//! the comparison made the other way, not the upgrade inverted.

pub mod compare;
pub mod model;
pub mod renames;
pub mod render;
pub mod text;

pub use compare::{Diff, RenameError, compare};
pub use model::{Column, Constraint, ConstraintKind, EnumType, Index, Object, Schema, Table};
pub use renames::{Renames, renames};
pub use render::{Rendered, Statement, render};

/// The SQL dialect a schema is read in and rendered to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL and MariaDB.
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
            && !text::is_reserved(name);
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
}
