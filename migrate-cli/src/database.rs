//! Connecting to the database a URL names: [`open`] gives an [`Opened`]
//! connection, one variant per backend compiled in, and [`on!`] runs a
//! verb's runtime call on whichever it is. A build with no database feature
//! still compiles: every URL is then [`CliError::NotCompiled`].

#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code, unused_variables)
)]

use super::error::CliError;
use super::output::Output;
use migrate_runtime::{Dialect, HistoryTable, Migrations, Migrator};
#[allow(unused_imports)]
use sqlx::Connection;

/// One open connection to the database a URL names.
pub(crate) enum Opened {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqliteConnection),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgConnection),
    #[cfg(feature = "mysql")]
    Mysql(sqlx::MySqlConnection),
    /// Never built: keeps `match` exhaustive in a build with no database.
    #[allow(dead_code)]
    None(std::convert::Infallible),
}

/// Runs `$body` with `$c` bound to the `&mut` connection inside an [`Opened`],
/// whichever database it is: the one place a verb meets the backends.
macro_rules! on {
    ($opened:expr, $c:ident => $body:expr) => {
        match $opened {
            #[cfg(feature = "sqlite")]
            $crate::database::Opened::Sqlite($c) => $body,
            #[cfg(feature = "postgres")]
            $crate::database::Opened::Postgres($c) => $body,
            #[cfg(feature = "mysql")]
            $crate::database::Opened::Mysql($c) => $body,
            $crate::database::Opened::None(never) => match *never {},
        }
    };
}
pub(crate) use on;

/// The dialect a URL's scheme names, or why there is none.
pub(crate) fn dialect_of(url: &str, shown: &str) -> Result<Dialect, CliError> {
    match url.split_once(':') {
        None => Err(CliError::InvalidUrl {
            url: shown.to_owned(),
            reason: "a URL starts with a scheme: sqlite:, postgres:// or mysql://".into(),
        }),
        Some(_) => Dialect::from_url(url).ok_or_else(|| CliError::UnknownScheme { url: shown.to_owned() }),
    }
}

/// Opens one connection to `url` (no pool: a pool would retry a refused
/// connection until its timeout). `writes`: a missing SQLite file is created.
pub(crate) async fn open(url: &str, writes: bool, out: &Output) -> Result<Opened, CliError> {
    let shown = out.redacted(url);
    let failed = |source: sqlx::Error| match source {
        sqlx::Error::Configuration(e) => CliError::InvalidUrl {
            url: shown.clone(),
            reason: e.to_string(),
        },
        source => CliError::Connect {
            url: shown.clone(),
            source,
        },
    };
    let _ = writes;
    match dialect_of(url, &shown)? {
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => {
            use sqlx::ConnectOptions;
            let mut options: sqlx::sqlite::SqliteConnectOptions = url.parse().map_err(failed)?;
            if writes && !url.contains("mode=") {
                options = options.create_if_missing(true);
            }
            Ok(Opened::Sqlite(options.connect().await.map_err(failed)?))
        }
        #[cfg(feature = "postgres")]
        Dialect::Postgres => Ok(Opened::Postgres(
            sqlx::PgConnection::connect(url).await.map_err(failed)?,
        )),
        #[cfg(feature = "mysql")]
        Dialect::Mysql => Ok(Opened::Mysql(
            sqlx::MySqlConnection::connect(url).await.map_err(failed)?,
        )),
        #[allow(unreachable_patterns)]
        other => Err(CliError::NotCompiled(other)),
    }
}

impl Opened {
    /// Closes the connection, after clearing the progress bar.
    pub(crate) async fn close(self, out: &Output) {
        out.clear_bar();
        match self {
            #[cfg(feature = "sqlite")]
            Opened::Sqlite(c) => drop(c.close().await),
            #[cfg(feature = "postgres")]
            Opened::Postgres(c) => drop(c.close().await),
            #[cfg(feature = "mysql")]
            Opened::Mysql(c) => drop(c.close().await),
            Opened::None(never) => match never {},
        }
    }
}

/// The migrator the settings describe, printing progress through `out`.
pub(crate) fn migrator<'m>(migrations: &'m Migrations, table: &HistoryTable, out: &'m Output) -> Migrator<'m> {
    let migrator = migrations
        .migrator()
        .history_table(table.name())
        .on_progress(|p| out.progress(p));
    match table.schema() {
        Some(schema) => migrator.history_schema(schema),
        None => migrator,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(dialect_of("sqlite:a.db", "").unwrap(), Dialect::Sqlite);
        assert_eq!(dialect_of("postgresql://h/db", "").unwrap(), Dialect::Postgres);
        assert!(matches!(
            dialect_of("oracle://h", "x"),
            Err(CliError::UnknownScheme { .. })
        ));
        assert!(matches!(dialect_of("app.db", "x"), Err(CliError::InvalidUrl { .. })));
    }
}
