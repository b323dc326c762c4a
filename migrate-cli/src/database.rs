//! Connecting to the database a URL names: [`open`] gives an [`Opened`]
//! database, one variant per backend compiled in, and [`on!`] runs a
//! verb's runtime call on whichever it is. A server database is held as a
//! pool of two connections, so that a run can watch a lock wait or renew
//! its lease from the second; it is reached once first, on a plain
//! connection, so a wrong URL or a server that is down fails at once. A build with no database feature
//! still compiles: every URL is then [`CliError::NotCompiled`].

#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code, unused_variables)
)]

use super::config::Settings;
use super::error::CliError;
use super::output::{Output, after_scheme, userinfo_end};
use migrate_runtime::{Dialect, Migrations, Migrator};
#[allow(unused_imports)]
use sqlx::Connection;

/// The database a URL names, opened.
pub(crate) enum Opened {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqliteConnection),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    #[cfg(feature = "mysql")]
    Mysql(sqlx::MySqlPool),
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
            $crate::database::Opened::Postgres(pool) => {
                let $c = &*pool;
                $body
            }
            #[cfg(feature = "mysql")]
            $crate::database::Opened::Mysql(pool) => {
                let $c = &*pool;
                $body
            }
            $crate::database::Opened::None(never) => match *never {},
        }
    };
}
pub(crate) use on;

/// The dialect a URL's scheme names, or why there is none.
pub(crate) fn dialect_of(url: &str, shown: &str) -> Result<Dialect, CliError> {
    if !url.contains("://") && url.contains('@') {
        // `user:password@host/db`: the scheme was forgotten, and the first `:` is no scheme.
        return Err(CliError::InvalidUrl {
            url: scheme_and_host(url),
            reason: "a URL starts with a scheme: postgres://, mysql:// (mariadb://) or sqlite:".into(),
        });
    }
    match url.split_once(':') {
        None => Err(CliError::InvalidUrl {
            url: shown.to_owned(),
            reason: "a URL starts with a scheme: sqlite:, postgres:// or mysql://".into(),
        }),
        Some(_) => Dialect::from_url(url).ok_or_else(|| CliError::UnknownScheme { url: shown.to_owned() }),
    }
}

/// The scheme and host of a URL, and nothing else: what an error shows of a
/// URL that does not parse, so no part of a credential can be in it.
pub(crate) fn scheme_and_host(url: &str) -> String {
    let rest = after_scheme(url);
    let host_start = userinfo_end(rest).map_or(0, |at| at + 1);
    let host = rest[host_start..].split(['/', '?', '#', ':']).next().unwrap_or("");
    match url.split_once("://") {
        Some((scheme, _)) => format!("{scheme}://{host}/…"),
        None => format!("{host}/…"),
    }
}

/// Refuses a URL whose user name or password holds a character that ends
/// that part of a URL: the drivers would read a wrong host or port (and
/// say "invalid port number"), so say what to percent-encode instead.
fn check_userinfo(url: &str) -> Result<(), CliError> {
    let rest = after_scheme(url);
    let Some(at) = userinfo_end(rest) else { return Ok(()) };
    match rest[..at].chars().find(|c| matches!(c, '/' | '?' | '#' | '@')) {
        None => Ok(()),
        Some(c) => Err(CliError::InvalidUrl {
            url: scheme_and_host(url),
            reason: format!(
                "the user name or password holds an unencoded `{c}`; percent-encode it (`/` as %2F, `?` as %3F, `#` as %23, `@` as %40, `:` in a user name as %3A)"
            ),
        }),
    }
}

/// Refuses, for a command that changes the database, a SQLite database that
/// cannot outlive the command: one in memory, or a URL with no file at all
/// (`sqlite:` from an unset variable), where sqlx would open a fresh one in memory.
pub(crate) fn refuse_transient(url: &str) -> Result<(), CliError> {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Ok(());
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path == ":memory:" || query.split('&').any(|p| p == "mode=memory");
    if path.is_empty() || in_memory {
        let what = if in_memory {
            "is a database in memory".to_owned()
        } else {
            "names no file (is a variable in it unset?), so SQLite would open one in memory".to_owned()
        };
        return Err(CliError::Refused(format!(
            "`{url}` {what}: it vanishes when this command ends, and nothing the command did would be kept; give a file, e.g. --database-url sqlite:app.db"
        )));
    }
    Ok(())
}

/// Opens one connection to `url` (no pool: a pool would retry a refused
/// connection until its timeout). `writes`: a missing SQLite file is created.
pub(crate) async fn open(url: &str, writes: bool, out: &Output) -> Result<Opened, CliError> {
    open_in(url, writes, None, out).await
}

/// [`open`], with every connection's `search_path` set to `schema` (PostgreSQL).
pub(crate) async fn open_in(url: &str, writes: bool, schema: Option<&str>, out: &Output) -> Result<Opened, CliError> {
    check_userinfo(url)?;
    if schema.is_some() && dialect_of(url, &out.redacted(url))? != Dialect::Postgres {
        return Err(CliError::Usage("--schemas is for PostgreSQL".into()));
    }
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
        Dialect::Postgres => {
            let options: sqlx::postgres::PgConnectOptions = url.parse().map_err(failed)?;
            // Reached once directly: a pool would retry a refused connection until its timeout.
            sqlx::PgConnection::connect_with(&options)
                .await
                .map_err(failed)?
                .close()
                .await
                .ok();
            let search_path = schema.map(|s| format!("SET search_path TO \"{}\"", s.replace('"', "\"\"")));
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(2)
                .after_connect(move |conn, _| {
                    let search_path = search_path.clone();
                    Box::pin(async move {
                        if let Some(sql) = search_path {
                            sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *conn).await?;
                        }
                        Ok(())
                    })
                })
                .connect_lazy_with(options);
            Ok(Opened::Postgres(pool))
        }
        #[cfg(feature = "mysql")]
        Dialect::Mysql => {
            let options: sqlx::mysql::MySqlConnectOptions = url.parse().map_err(failed)?;
            sqlx::MySqlConnection::connect_with(&options)
                .await
                .map_err(failed)?
                .close()
                .await
                .ok();
            let pool = sqlx::mysql::MySqlPoolOptions::new()
                .max_connections(2)
                .connect_lazy_with(options);
            Ok(Opened::Mysql(pool))
        }
        #[allow(unreachable_patterns)]
        other => Err(CliError::NotCompiled(other)),
    }
}

impl Opened {
    /// Whether the database is SQLite.
    pub(crate) fn is_sqlite(&self) -> bool {
        #[cfg(feature = "sqlite")]
        if let Opened::Sqlite(_) = self {
            return true;
        }
        false
    }

    /// Closes the connection, after clearing the progress bar.
    pub(crate) async fn close(self, out: &Output) {
        out.clear_bar();
        match self {
            #[cfg(feature = "sqlite")]
            Opened::Sqlite(c) => drop(c.close().await),
            #[cfg(feature = "postgres")]
            Opened::Postgres(pool) => pool.close().await,
            #[cfg(feature = "mysql")]
            Opened::Mysql(pool) => pool.close().await,
            Opened::None(never) => match never {},
        }
    }
}

/// The migrator the settings describe, printing progress through `out`.
pub(crate) fn migrator<'m>(migrations: &'m Migrations, s: &Settings, out: &'m Output) -> Migrator<'m> {
    let timeout = s.lock_timeout.unwrap_or(migrate_runtime::DEFAULT_LOCK_TIMEOUT);
    let mut migrator = migrations
        .migrator()
        .history_table(s.table.name())
        .on_progress(|p| out.progress(p))
        .on_lock_wait(move |holder| {
            out.note(&format!(
                "Another migrator holds the migration lock{}; waiting up to {} s for it.",
                holder.map(|h| format!(": {h}")).unwrap_or_default(),
                timeout.as_secs()
            ))
        });
    if let Some(schema) = s.table.schema() {
        migrator = migrator.history_schema(schema);
    }
    if let Some(timeout) = s.lock_timeout {
        migrator = migrator.lock_timeout(timeout);
    }
    if s.ignore_unknown {
        migrator = migrator.ignore_unknown_revisions();
    }
    if let Some(timeout) = s.ddl_lock_timeout {
        migrator = migrator.ddl_lock_timeout(timeout);
    }
    if let Some(timeout) = s.statement_timeout {
        migrator = migrator.statement_timeout(timeout);
    }
    if let Some(attempts) = s.lock_attempts {
        migrator = migrator.lock_attempts(attempts);
    }
    for (set, table) in &s.set_tables {
        migrator = migrator.set_history_table(set, table.clone());
    }
    if let Some(mode) = s.lock {
        migrator = migrator.lock_mode(mode);
    }
    if let Some(ttl) = s.lease_ttl {
        migrator = migrator.lease_ttl(ttl);
    }
    migrator
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_that_do_not_parse_show_only_scheme_and_host() {
        assert_eq!(scheme_and_host("postgres://u:S3/cret@h:5999/x"), "postgres://h/…");
        assert_eq!(scheme_and_host("u:S3cret@h/x"), "h/…");
        let e = check_userinfo("postgres://u:S3/cret@127.0.0.1:5999/x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`postgres://127.0.0.1/…`") && e.contains("%2F"), "{e}");
        assert!(!e.contains("S3") && !e.contains("cret"), "{e}");
        assert!(check_userinfo("postgres://u:S3%2Fcret@h/x?password=a").is_ok());
        assert!(check_userinfo("sqlite:app.db").is_ok());
    }

    #[test]
    fn databases_that_vanish_are_refused_for_changes() {
        for url in [
            "sqlite:",
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite:app.db?mode=memory&cache=shared",
        ] {
            let e = refuse_transient(url).unwrap_err().to_string();
            assert!(e.contains("vanishes when this command ends"), "{url}: {e}");
        }
        for url in ["sqlite:app.db", "sqlite://app.db?mode=rwc", "postgres://h/x"] {
            assert!(refuse_transient(url).is_ok(), "{url}");
        }
    }

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
