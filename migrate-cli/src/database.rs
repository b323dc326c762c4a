//! Connecting to the database a URL names: [`open`] gives the runtime's
//! [`Database`], whichever backend the URL names, and every verb hands it
//! to its runtime call as it is (`migrator.upgrade(&mut db, …)`). The one
//! file of this crate that names sqlx. A build with no database feature
//! still compiles: every URL is then [`CliError::NotCompiled`].

use super::config::Settings;
use super::error::CliError;
use super::output::Output;
use migrate_runtime::server::url::{after_scheme, scheme_and_host, userinfo_end};
use migrate_runtime::server::{self, DEFAULT_CONNECT_TIMEOUT, Database, OpenOptions};
use migrate_runtime::{Dialect, HistoryTable, Migrations, Migrator};

/// sqlx's error, as [`CliError::Connect`] holds it.
pub type SqlxError = sqlx::Error;

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

/// What sets the connect timeout, as [`CliError::ConnectTimeout`] says it.
pub(crate) const CONNECT_TIMEOUT_BOUND: &str =
    "--connect-timeout (or `connect_timeout` in migrate.toml) gives it longer";

/// Opens the database `url` names, giving up after the settings' connect
/// timeout. `writes`: a missing SQLite file is created.
pub(crate) async fn open(s: &Settings, url: &str, writes: bool, out: &Output) -> Result<Database, CliError> {
    open_in(s, url, writes, None, out).await
}

/// [`open`], with every connection's `search_path` set to `schema` (PostgreSQL).
pub(crate) async fn open_in(
    s: &Settings,
    url: &str,
    writes: bool,
    schema: Option<&str>,
    out: &Output,
) -> Result<Database, CliError> {
    check_userinfo(url)?;
    if schema.is_some() && dialect_of(url, &out.redacted(url))? != Dialect::Postgres {
        return Err(CliError::Usage("--schemas is for PostgreSQL".into()));
    }
    let shown = out.redacted(url);
    dialect_of(url, &shown)?;
    let mut options = OpenOptions::new().connect_timeout(s.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT));
    if writes {
        options = options.create_if_missing();
    }
    if let Some(schema) = schema {
        options = options.search_path(schema);
    }
    Database::open(url, &options).await.map_err(|e| open_error(e, &shown))
}

/// What the command line says of a database that could not be opened or reached.
pub(crate) fn open_error(e: server::Error, shown: &str) -> CliError {
    match e {
        server::Error::NotCompiled(dialect) => CliError::NotCompiled(dialect),
        server::Error::UnknownScheme { .. } => CliError::UnknownScheme { url: shown.to_owned() },
        server::Error::ConnectTimeout { timeout, .. } => CliError::ConnectTimeout {
            url: shown.to_owned(),
            timeout,
            bound: CONNECT_TIMEOUT_BOUND,
        },
        other => match other.into_sqlx() {
            Ok(sqlx::Error::Configuration(e)) => CliError::InvalidUrl {
                url: shown.to_owned(),
                reason: e.to_string(),
            },
            Ok(source) => CliError::Connect {
                url: shown.to_owned(),
                source,
            },
            Err(other) => CliError::Refused(other.to_string()),
        },
    }
}

/// What the database said, as the runtime says it (without PostgreSQL's C source line).
pub(crate) fn said(e: &SqlxError) -> String {
    server::db_message(e)
}

/// Closes the database, after clearing the progress bar.
pub(crate) async fn close(db: Database, out: &Output) {
    out.clear_bar();
    db.close().await;
}

/// The schemas of the PostgreSQL database `url` names whose names are `LIKE pattern`.
#[cfg(feature = "postgres")]
pub(crate) async fn list_schemas(
    s: &Settings,
    url: &str,
    pattern: &str,
    out: &Output,
) -> Result<Vec<String>, CliError> {
    let timeout = s.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(timeout)
        .connect(url)
        .await
        .map_err(|source| match source {
            sqlx::Error::PoolTimedOut => CliError::ConnectTimeout {
                url: out.redacted(url),
                timeout,
                bound: CONNECT_TIMEOUT_BOUND,
            },
            source => CliError::Connect {
                url: out.redacted(url),
                source,
            },
        })?;
    let names = migrate_runtime::fleet::schemas_like(&pool, pattern).await;
    pool.close().await;
    Ok(names?)
}

#[cfg(not(feature = "postgres"))]
pub(crate) async fn list_schemas(
    _s: &Settings,
    _url: &str,
    _pattern: &str,
    _out: &Output,
) -> Result<Vec<String>, CliError> {
    Err(CliError::NotCompiled(Dialect::Postgres))
}

/// Another list of the config file, loaded: the application's own
/// (`set: None`) or a `[sets.NAME]` one, whose applied revisions may depend
/// on the set a downgrade unapplies.
pub(crate) struct Dependent {
    pub set: Option<String>,
    pub table: HistoryTable,
    pub migrations: Migrations,
}

/// `migrator`, told its set's name and the lists that may depend on it,
/// so that a downgrade refuses to unapply what one of them needs.
pub(crate) fn with_dependents<'m>(mut migrator: Migrator<'m>, s: &Settings, lists: &'m [Dependent]) -> Migrator<'m> {
    let Some(name) = &s.set_name else { return migrator };
    migrator = migrator.set_name(name);
    for list in lists {
        migrator = migrator.needed_by(list.set.as_deref(), list.table.clone(), &list.migrations);
    }
    migrator
}

/// The sets of the config file that `migrations`' `-- depends_on: SET@ID`
/// lines name, loaded, so that a dependency a squash of that set replaced
/// reads as met by its baseline (`Migrator::set_migrations`). A set whose
/// folder does not load is left out, with a note: its lines are read by id alone.
pub(crate) fn depended_on(s: &Settings, migrations: &Migrations, out: &Output) -> Vec<Dependent> {
    let named: std::collections::HashSet<&str> = migrations
        .iter()
        .flat_map(|m| m.depends_on().map(|(set, _)| set))
        .collect();
    let mut lists = Vec::new();
    for list in &s.other_lists {
        let Some(set) = list.set.as_deref().filter(|set| named.contains(set)) else {
            continue;
        };
        match Migrations::load(&list.dir, &list.dir_shown) {
            Ok(theirs) => lists.push(Dependent {
                set: Some(set.to_owned()),
                table: list.table.clone(),
                migrations: theirs,
            }),
            Err(_) => out.note(&format!(
                "`{}` (the set `{set}`) does not load, so this list's `depends_on: {set}@…` lines are read by revision id alone",
                list.dir_shown
            )),
        }
    }
    lists
}

/// `migrator`, told the revisions of the sets in `lists` (see [`depended_on`]).
pub(crate) fn with_sets<'m>(mut migrator: Migrator<'m>, lists: &'m [Dependent]) -> Migrator<'m> {
    for list in lists {
        if let Some(set) = &list.set {
            migrator = migrator.set_migrations(set, &list.migrations);
        }
    }
    migrator
}

/// The migrator the settings describe, printing progress through `out`.
pub(crate) fn migrator<'m>(migrations: &'m Migrations, s: &Settings, out: &'m Output) -> Migrator<'m> {
    let timeout = s.lock_timeout.unwrap_or(migrate_runtime::DEFAULT_LOCK_TIMEOUT);
    let mut migrator = migrations
        .migrator()
        .history_table(s.table.name())
        .on_progress(|p| out.progress(p))
        // Only the `migrate` binary's runs listen for a signal (`stop`).
        .stop_when(super::stop::asked)
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
    with_vars(migrator, s)
}

/// `migrator` given the values of `[vars]` and `--var` (the environment's
/// `MIGRATE_VAR_NAME` between them, read by the runtime).
pub(crate) fn with_vars<'m>(mut migrator: Migrator<'m>, s: &Settings) -> Migrator<'m> {
    for (name, value) in &s.vars {
        migrator = migrator.var(name, value);
    }
    for (name, value) in &s.var_flags {
        migrator = migrator.var_overriding(name, value);
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
