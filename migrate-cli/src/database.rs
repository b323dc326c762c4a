//! Connecting to the database a URL names, and running one verb on it.
//!
//! Each backend is one `#[cfg]` arm of [`run`]: it opens a single
//! connection (no pool: a pool would retry a refused connection until its
//! timeout) and hands it to [`execute`], which is generic over the database.
//! A build with no database feature still compiles: every URL is then
//! [`CliError::NotCompiled`].

#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code, unused_variables)
)]

use super::error::CliError;
use super::output::Output;
use migrate_runtime::Dialect;
use migrate_runtime::{Driver, Handle};
use migrate_runtime::{Migrations, Migrator, Resolution};
use migrate_runtime::{HistoryEntry, Report};
use migrate_runtime::HistoryTable;
use migrate_core::Target;
use sqlx::{Acquire, Connection};

/// One verb against a database.
#[derive(Debug, Clone)]
pub(crate) enum Job {
    Upgrade(Target),
    Downgrade(Target),
    Stamp(Target),
    Resolve(String, Resolution),
    Current,
    History,
}

impl Job {
    /// Whether the verb writes (a missing SQLite file is then created).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    fn writes(&self) -> bool {
        matches!(self, Job::Upgrade(_) | Job::Stamp(_))
    }
}

/// What a verb returned.
#[derive(Debug)]
pub(crate) enum Outcome {
    Report(Report),
    Current(Vec<String>),
    History(Vec<HistoryEntry>),
}

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

/// Connects to `url` and runs `job` with `migrations`, printing progress through `out`.
pub(crate) async fn run(
    migrations: &Migrations,
    table: &HistoryTable,
    url: &str,
    job: Job,
    out: &Output,
) -> Result<Outcome, CliError> {
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
    match dialect_of(url, &shown)? {
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => {
            use sqlx::ConnectOptions;
            let mut options: sqlx::sqlite::SqliteConnectOptions = url.parse().map_err(failed)?;
            if job.writes() && !url.contains("mode=") {
                options = options.create_if_missing(true);
            }
            let conn = options.connect().await.map_err(failed)?;
            execute(conn, migrations, table, job, out).await
        }
        #[cfg(feature = "postgres")]
        Dialect::Postgres => {
            let conn = sqlx::PgConnection::connect(url).await.map_err(failed)?;
            execute(conn, migrations, table, job, out).await
        }
        #[cfg(feature = "mysql")]
        Dialect::Mysql => {
            let conn = sqlx::MySqlConnection::connect(url).await.map_err(failed)?;
            execute(conn, migrations, table, job, out).await
        }
        #[allow(unreachable_patterns)]
        other => Err(CliError::NotCompiled(other)),
    }
}

/// Runs `job` on one open connection, then closes it.
async fn execute<C>(
    mut conn: C,
    migrations: &Migrations,
    table: &HistoryTable,
    job: Job,
    out: &Output,
) -> Result<Outcome, CliError>
where
    C: Connection,
    C::Database: Driver<Connection = C>,
    for<'c> &'c mut C: Acquire<'c, Database = C::Database, Connection = &'c mut C> + Handle<Target = C>,
{
    let migrator: Migrator<'_> = migrations
        .migrator()
        .history_table(table.name())
        .on_progress(|p| out.progress(p));
    let migrator = match table.schema() {
        Some(schema) => migrator.history_schema(schema),
        None => migrator,
    };
    let db = &mut conn;
    let result = match job {
        Job::Upgrade(t) => migrator.upgrade(db, t).await.map(Outcome::Report),
        Job::Downgrade(t) => migrator.downgrade(db, t).await.map(Outcome::Report),
        Job::Stamp(t) => migrator.stamp(db, t).await.map(Outcome::Report),
        Job::Resolve(id, r) => migrator.resolve(db, &id, r).await.map(Outcome::Report),
        Job::Current => migrator.current(db).await.map(Outcome::Current),
        Job::History => migrator.history(db).await.map(Outcome::History),
    };
    out.clear_bar();
    let _ = conn.close().await;
    Ok(result?)
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
