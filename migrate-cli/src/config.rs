//! Settings: the flags, the config file and the environment, resolved once.
//!
//! Precedence, highest first: command-line flags; the file given by
//! `--config FILE`; else the file named by `MIGRATE_CONFIG`; else
//! `./migrate.toml` when it exists (one file is read, never merged with
//! another). `DATABASE_URL` fills the URL when neither a flag nor the file
//! sets it. A `dir` in the file is relative to the file's folder.

use super::args::Options;
use super::error::CliError;
use super::limits::{self, Limits};
use migrate_runtime::Dialect;
use migrate_runtime::{DEFAULT_TABLE, HistoryTable};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The config file's name, looked for in the working directory.
pub const DEFAULT_CONFIG: &str = "migrate.toml";
/// The environment variable naming a config file.
pub const CONFIG_ENV: &str = "MIGRATE_CONFIG";
/// The environment variable holding a database URL.
pub const URL_ENV: &str = "DATABASE_URL";
/// The migrations folder when nothing names one.
pub const DEFAULT_DIR: &str = "migrations";
/// The schema file autogenerate reads unless told otherwise.
pub const DEFAULT_SCHEMA: &str = "schema.sql";

/// What `migrate.toml` may hold; anything else is an error (typos included).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    database_url: Option<String>,
    /// Where autogenerate makes its scratch databases.
    dev_database_url: Option<String>,
    /// The schema file, relative to this file.
    schema: Option<String>,
    dir: Option<String>,
    history_table: Option<String>,
    history_schema: Option<String>,
    /// Seconds.
    lock_timeout: Option<u64>,
    /// A duration: `5s`, `500ms`.
    ddl_lock_timeout: Option<String>,
    /// A duration: `10min`.
    statement_timeout: Option<String>,
    lock_attempts: Option<u32>,
    /// `advisory`, `lease` or `auto`.
    lock: Option<String>,
    /// A duration: `30s`.
    lease_ttl: Option<String>,
    /// A duration: `10s`.
    connect_timeout: Option<String>,
    /// Other migration sets in the same database, by name.
    sets: Option<BTreeMap<String, SetFile>>,
    /// `migrate lint` reports only the revisions after this one.
    lint_from: Option<String>,
    /// Lint rule id to `error`, `warning` or `off`.
    lint: Option<BTreeMap<String, String>>,
    /// `sqlite`, `postgres` or `mysql`: the database the folder is written
    /// for, where no database URL names it (lint, offline scripts).
    dialect: Option<String>,
    /// `[vars]`: values of the variables revisions declare (`-- migrate:var NAME`).
    vars: Option<BTreeMap<String, VarValue>>,
}

/// A `[vars]` value: a string, or an integer (its decimal digits: `shards =
/// 4` is the text `4`) or a boolean (`true`, `false`): a value in SQL is
/// text. A decimal would not keep its digits as written (`3.10` reads as
/// `3.1`): it is refused, to be written as a string.
#[derive(Debug, Deserialize)]
#[serde(try_from = "toml::Value")]
struct VarValue(String);

impl TryFrom<toml::Value> for VarValue {
    type Error = String;

    fn try_from(value: toml::Value) -> Result<Self, String> {
        match value {
            toml::Value::String(s) => Ok(VarValue(s)),
            toml::Value::Integer(n) => Ok(VarValue(n.to_string())),
            toml::Value::Boolean(b) => Ok(VarValue(b.to_string())),
            toml::Value::Float(x) => Err(format!(
                "a [vars] decimal would not keep its digits as written ({x} is what TOML reads): write it as a string, in quotes"
            )),
            other => Err(format!(
                "a [vars] value is a string, an integer or a boolean, not {}",
                other.type_str()
            )),
        }
    }
}

/// A `[sets.NAME]` table: another folder migrated into the same database.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetFile {
    /// Its folder, relative to the config file.
    dir: String,
    /// Its history table [default: migrate_history_NAME].
    history_table: Option<String>,
}

/// Every setting a command needs, after precedence.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The migrations folder on disk.
    pub dir: PathBuf,
    /// The folder as messages name it.
    pub dir_shown: String,
    /// The database URL, if any source gave one.
    pub database_url: Option<String>,
    /// The server of autogenerate's scratch databases.
    pub dev_database_url: Option<String>,
    /// The schema file (`schema.sql`).
    pub schema_file: PathBuf,
    /// The schema file as messages name it.
    pub schema_shown: String,
    /// The history table.
    pub table: HistoryTable,
    /// `--dialect`, for offline scripts.
    pub dialect: Option<Dialect>,
    /// How long a migration's statement may wait for a table lock.
    pub ddl_lock_timeout: Option<std::time::Duration>,
    /// How long a migration's statement may run.
    pub statement_timeout: Option<std::time::Duration>,
    /// How many times a migration that timed out on a lock is tried.
    pub lock_attempts: Option<u32>,
    /// How migrators keep out of each other.
    pub lock: Option<migrate_runtime::LockMode>,
    /// How long a lease lasts unless renewed.
    pub lease_ttl: Option<std::time::Duration>,
    /// The history tables of the config file's migration sets, for `-- depends_on:`.
    pub set_tables: Vec<(String, HistoryTable)>,
    /// `--set NAME`: the set this command works on; `None`: the application's own.
    pub set_name: Option<String>,
    /// The other lists of the config file (every other set, and with
    /// `--set NAME` the application's own first), whose `-- depends_on:`
    /// lines may name this list's revisions.
    pub other_lists: Vec<List>,
    /// How long connecting may take; `None`: the runtime's default.
    pub connect_timeout: Option<std::time::Duration>,
    /// `--lock-timeout`, or the config file's; `None`: the runtime's default.
    pub lock_timeout: Option<std::time::Duration>,
    /// `--ignore-unknown-revisions`.
    pub ignore_unknown: bool,
    /// The config file that was read, if any.
    #[allow(dead_code)]
    pub config_file: Option<PathBuf>,
    /// `lint_from` and `[lint]`.
    pub lint: LintSettings,
    /// `[vars]` of the config file, below the environment's `MIGRATE_VAR_NAME`.
    pub vars: Vec<(String, String)>,
    /// `--var NAME=VALUE`, above the environment.
    pub var_flags: Vec<(String, String)>,
}

/// What the config file tells `migrate lint`.
#[derive(Debug, Clone, Default)]
pub(crate) struct LintSettings {
    /// `lint_from = "REV"`: only the revisions after it are reported.
    pub from: Option<String>,
    /// `[lint]`: rule id to level.
    pub levels: BTreeMap<String, migrate_core::lint::Level>,
}

/// A list of migrations the config file names: the application's own
/// folder, or a `[sets.NAME]` one.
#[derive(Debug, Clone)]
pub(crate) struct List {
    /// The set's name; `None`: the application's own.
    pub set: Option<String>,
    /// Its folder on disk.
    pub dir: PathBuf,
    /// The folder as messages name it.
    pub dir_shown: String,
    /// Its history table.
    pub table: HistoryTable,
}

/// Which config file applies: `--config`, `MIGRATE_CONFIG`, or
/// `./migrate.toml`, with whether it must exist (only the last may be absent).
pub(crate) fn config_path(options: &Options, env: &impl Fn(&str) -> Option<String>) -> (PathBuf, bool) {
    match (&options.config, env(CONFIG_ENV).filter(|v| !v.is_empty())) {
        (Some(path), _) => (path.clone(), true),
        (None, Some(path)) => (PathBuf::from(path), true),
        (None, None) => (PathBuf::from(DEFAULT_CONFIG), false),
    }
}

fn read(path: &Path, required: bool) -> Result<Option<File>, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(CliError::ConfigRead {
                path: path.display().to_string(),
                source,
            });
        }
    };
    toml::from_str(&text).map(Some).map_err(|e| {
        // Where it is: the line of the key or value the parser stopped at.
        let line = e
            .span()
            .map(|span| 1 + text[..span.start.min(text.len())].matches('\n').count());
        CliError::ConfigInvalid {
            path: path.display().to_string(),
            message: match line {
                Some(n) => format!("line {n}: {}", e.message().trim_end()),
                None => e.message().trim_end().to_owned(),
            },
        }
    })
}

/// Resolves the settings from the flags, the config file and `env`: one
/// function per group of settings, each taking the flag over the file.
pub(crate) fn resolve(options: &Options, env: &impl Fn(&str) -> Option<String>) -> Result<Settings, CliError> {
    let (path, required) = config_path(options, env);
    let file = read(&path, required)?;
    let config_file = file.as_ref().map(|_| path.clone());
    let mut file = file.unwrap_or_default();
    let at = Place { path: &path };
    let sets = sets(options, &mut file, &at)?;
    let (dir, dir_shown) = match &options.dir {
        Some(d) => (d.clone(), d.display().to_string()),
        None => at.relative(file.dir.as_deref(), DEFAULT_DIR),
    };
    let (schema_file, schema_shown) = at.relative(file.schema.as_deref(), DEFAULT_SCHEMA);
    let dev_database_url = options
        .dev_database_url
        .clone()
        .or(file.dev_database_url.clone())
        .filter(|u| !u.trim().is_empty());
    let database_url = options
        .database_url
        .clone()
        .or(file.database_url.clone())
        .or_else(|| env(URL_ENV))
        .filter(|u| !u.trim().is_empty());
    let table = history_table(options, &file, sets.chosen_table)?;
    refuse_a_sets_table(options, &table, &sets.tables)?;
    let timing = timing(options, &file, &at)?;
    let lint = lint(&file, &at)?;
    Ok(Settings {
        lint,
        ddl_lock_timeout: timing.ddl_lock_timeout,
        statement_timeout: timing.statement_timeout,
        lock_attempts: timing.lock_attempts,
        lock: timing.lock,
        lease_ttl: timing.lease_ttl,
        lock_timeout: timing.lock_timeout,
        connect_timeout: timing.connect_timeout,
        set_tables: sets.tables,
        set_name: options.set.clone(),
        other_lists: sets.others,
        dir,
        dir_shown: dir_shown.trim_end_matches('/').to_owned(),
        database_url,
        dev_database_url,
        schema_file,
        schema_shown,
        table,
        dialect: match options.dialect {
            Some(d) => Some(d),
            None => file_dialect(&file, &at)?,
        },
        ignore_unknown: options.ignore_unknown_revisions,
        config_file,
        vars: file
            .vars
            .take()
            .unwrap_or_default()
            .into_iter()
            .map(|(name, value)| (name, value.0))
            .collect(),
        var_flags: options.vars.clone(),
    })
}

/// The config file being read: what its errors name, and what its relative paths start from.
struct Place<'a> {
    path: &'a Path,
}

impl Place<'_> {
    /// The error for a value of the file that is wrong.
    fn invalid(&self, message: String) -> CliError {
        CliError::ConfigInvalid {
            path: self.path.display().to_string(),
            message,
        }
    }

    /// A path the file gives (relative to the file's folder), else `default`; with how messages show it.
    fn relative(&self, given: Option<&str>, default: &str) -> (PathBuf, String) {
        let Some(given) = given else {
            return (PathBuf::from(default), default.to_owned());
        };
        let path = match self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(base) if Path::new(given).is_relative() => base.join(given),
            _ => PathBuf::from(given),
        };
        let shown = path.display().to_string();
        (path, shown)
    }

    /// A duration the file gives for `key`, within `limits` (else a usage error naming the key).
    fn duration(
        &self,
        key: &str,
        value: Option<&str>,
        limits: Limits,
    ) -> Result<Option<std::time::Duration>, CliError> {
        let Some(d) = value
            .map(migrate_core::duration::parse)
            .transpose()
            .map_err(|e| self.invalid(format!("`{key}`: {e}")))?
        else {
            return Ok(None);
        };
        limits.check(d).map(Some).map_err(|e| self.out_of_range(key, e))
    }

    /// The usage error for a value of `key` out of its range.
    fn out_of_range(&self, key: &str, why: String) -> CliError {
        CliError::Usage(format!("`{key}` in the config file `{}`: {why}", self.path.display()))
    }
}

/// The config file's sets, as a command needs them.
struct Sets {
    /// The history table of every `[sets.NAME]`.
    tables: Vec<(String, HistoryTable)>,
    /// With `--set NAME`: that set's table.
    chosen_table: Option<String>,
    /// Every other list (with `--set NAME`, the application's own first).
    others: Vec<List>,
}

/// The history table of every `[sets.NAME]`, and with `--set NAME` the
/// chosen set's table, its folder put in `file.dir`, and the other lists.
fn sets(options: &Options, file: &mut File, at: &Place<'_>) -> Result<Sets, CliError> {
    let sets = file.sets.take().unwrap_or_default();
    let mut tables = Vec::new();
    for (name, set) in &sets {
        let table = match &set.history_table {
            Some(t) => HistoryTable::new(t),
            None => HistoryTable::for_set(name),
        }
        .map_err(|e| at.invalid(format!("[sets.{name}]: {e}")))?;
        tables.push((name.clone(), table));
    }
    // `--set NAME`: that set's folder and history table, unless flags say otherwise.
    let Some(name) = &options.set else {
        return Ok(Sets {
            others: lists(&sets, &tables, None, at),
            tables,
            chosen_table: None,
        });
    };
    let Some(set) = sets.get(name) else {
        return Err(CliError::Usage(format!(
            "--set {name}: the config file has no `[sets.{name}]`{}",
            if sets.is_empty() {
                String::new()
            } else {
                format!(" (its sets: {})", sets.keys().cloned().collect::<Vec<_>>().join(", "))
            }
        )));
    };
    // The application's own list, then every other set: their revisions may depend on this one's.
    let (dir, dir_shown) = at.relative(file.dir.as_deref(), DEFAULT_DIR);
    let app_table = file.history_table.as_deref().unwrap_or(DEFAULT_TABLE);
    let mut others = vec![List {
        set: None,
        dir,
        dir_shown,
        table: HistoryTable::new(app_table)?,
    }];
    others.extend(lists(&sets, &tables, Some(name), at));
    file.dir = Some(set.dir.clone());
    let chosen_table = tables.iter().find(|(n, _)| n == name).map(|(_, t)| t.name().to_owned());
    Ok(Sets {
        tables,
        chosen_table,
        others,
    })
}

/// Every `[sets.NAME]` list but `except`.
fn lists(
    sets: &BTreeMap<String, SetFile>,
    tables: &[(String, HistoryTable)],
    except: Option<&String>,
    at: &Place<'_>,
) -> Vec<List> {
    sets.iter()
        .zip(tables)
        .filter(|((name, _), _)| Some(*name) != except)
        .map(|((name, set), (_, table))| {
            let (dir, dir_shown) = at.relative(Some(set.dir.as_str()), DEFAULT_DIR);
            List {
                set: Some(name.clone()),
                dir,
                dir_shown,
                table: table.clone(),
            }
        })
        .collect()
}

/// Refuses a history table that is another set's: the revisions recorded
/// there would read as that set's, and block it (an application's own
/// revisions in `migrate_history_jobq`, say).
fn refuse_a_sets_table(
    options: &Options,
    table: &HistoryTable,
    sets: &[(String, HistoryTable)],
) -> Result<(), CliError> {
    let theirs = sets
        .iter()
        .find(|(name, t)| Some(name) != options.set.as_ref() && t.name() == table.name());
    let Some((name, _)) = theirs else { return Ok(()) };
    Err(CliError::Usage(format!(
        "the history table `{}` is the migration set `{name}`'s (`[sets.{name}]` in the config file): these revisions recorded there would block that set; use another history table{}",
        table.name(),
        match &options.set {
            Some(set) => format!(" for the set `{set}`"),
            None => String::new(),
        }
    )))
}

/// The history table: the flag, else the chosen set's, else the file's, else the default; in its schema.
fn history_table(options: &Options, file: &File, set_table: Option<String>) -> Result<HistoryTable, CliError> {
    let name = options
        .history_table
        .clone()
        .or(set_table)
        .or(file.history_table.clone())
        .unwrap_or_else(|| DEFAULT_TABLE.to_owned());
    let table = HistoryTable::new(&name)?;
    Ok(match options.history_schema.clone().or(file.history_schema.clone()) {
        Some(schema) => table.in_schema(&schema)?,
        None => table,
    })
}

/// `lint_from` and `[lint]`, each rule id one the lint has and each level a level.
fn lint(file: &File, at: &Place<'_>) -> Result<LintSettings, CliError> {
    let mut levels = BTreeMap::new();
    for (id, level) in file.lint.iter().flatten() {
        if migrate_core::lint::rule(id).is_none() {
            return Err(at.invalid(format!(
                "[lint]: no lint rule is called `{id}` (the rules are {})",
                migrate_core::lint::rule_ids()
            )));
        }
        let level = level.parse().map_err(|e| at.invalid(format!("[lint] {id}: {e}")))?;
        levels.insert(id.clone(), level);
    }
    Ok(LintSettings {
        from: file.lint_from.clone().filter(|f| !f.trim().is_empty()),
        levels,
    })
}

/// How long a run waits and how it locks.
struct Timing {
    ddl_lock_timeout: Option<std::time::Duration>,
    statement_timeout: Option<std::time::Duration>,
    lease_ttl: Option<std::time::Duration>,
    lock_timeout: Option<std::time::Duration>,
    connect_timeout: Option<std::time::Duration>,
    lock: Option<migrate_runtime::LockMode>,
    lock_attempts: Option<u32>,
}

/// The timing settings: each flag (range-checked by its parser) over the file's key (checked here).
fn timing(options: &Options, file: &File, at: &Place<'_>) -> Result<Timing, CliError> {
    let duration = |flag: Option<std::time::Duration>, key: &str, value: &Option<String>, limits: Limits| match flag {
        Some(t) => Ok(Some(t)),
        None => at.duration(key, value.as_deref(), limits),
    };
    let lock = match (options.lock, &file.lock) {
        (Some(mode), _) => Some(mode),
        (None, Some(text)) => Some(
            text.parse()
                .map_err(|e: migrate_runtime::UnknownLockMode| at.invalid(format!("`lock`: {e}")))?,
        ),
        (None, None) => None,
    };
    if file.lock_attempts == Some(0) {
        return Err(at.invalid("`lock_attempts` is 0: a migration is tried at least once".into()));
    }
    let lock_timeout = match (options.lock_timeout, file.lock_timeout) {
        (Some(secs), _) | (None, Some(secs)) => {
            Some(
                limits::LOCK_TIMEOUT
                    .seconds(secs)
                    .map_err(|e| match options.lock_timeout {
                        Some(_) => CliError::Usage(format!("--lock-timeout: {e}")),
                        None => at.out_of_range("lock_timeout", e),
                    })?,
            )
        }
        (None, None) => None,
    };
    Ok(Timing {
        ddl_lock_timeout: duration(
            options.ddl_lock_timeout,
            "ddl_lock_timeout",
            &file.ddl_lock_timeout,
            limits::STATEMENT,
        )?,
        statement_timeout: duration(
            options.statement_timeout,
            "statement_timeout",
            &file.statement_timeout,
            limits::STATEMENT,
        )?,
        lease_ttl: duration(options.lease_ttl, "lease_ttl", &file.lease_ttl, limits::LEASE_TTL)?,
        connect_timeout: duration(
            options.connect_timeout,
            "connect_timeout",
            &file.connect_timeout,
            limits::CONNECT_TIMEOUT,
        )?,
        lock_timeout,
        lock,
        lock_attempts: options.lock_attempts.or(file.lock_attempts),
    })
}

/// `dialect` in the file, read as `--dialect` reads it.
fn file_dialect(file: &File, place: &Place<'_>) -> Result<Option<Dialect>, CliError> {
    let Some(text) = file.dialect.as_deref() else {
        return Ok(None);
    };
    text.parse::<Dialect>().map(Some).map_err(|e| CliError::ConfigInvalid {
        path: place.path.display().to_string(),
        message: format!("`dialect = {}`: {e}", toml_string(text)),
    })
}

/// The text of a new `migrate.toml`.
pub(crate) fn template(dir: &str, database_url: Option<&str>) -> String {
    let url = match database_url {
        Some(u) => format!("database_url = {}", toml_string(u)),
        None => "# database_url = \"sqlite:app.db?mode=rwc\"".to_owned(),
    };
    format!(
        "# Settings of the `migrate` command line. Command-line flags override them.\n\
         \n\
         # The database to migrate. Without it, the DATABASE_URL environment variable is used.\n\
         {url}\n\
         \n\
         # The database the migrations are written for, when no URL above names it\n\
         # (`migrate lint` and `check` read the SQL as that database would).\n\
         # dialect = \"postgres\"\n\
         \n\
         # The migrations folder, relative to this file.\n\
         dir = {}\n\
         \n\
         # The table that records applied revisions.\n\
         history_table = \"{DEFAULT_TABLE}\"\n",
        toml_string(dir)
    )
}

/// A TOML basic string holding `s`.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn timeouts_read_as_durations_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("migrate.toml");
        std::fs::write(
            &file,
            "ddl_lock_timeout = \"5s\"\nstatement_timeout = \"10min\"\nlock_attempts = 5\n",
        )
        .unwrap();
        let options = Options {
            config: Some(file.clone()),
            ..Options::default()
        };
        let s = resolve(&options, &env(&[])).unwrap();
        assert_eq!(s.ddl_lock_timeout, Some(std::time::Duration::from_secs(5)));
        assert_eq!(s.statement_timeout, Some(std::time::Duration::from_secs(600)));
        assert_eq!(s.lock_attempts, Some(5));
        let flagged = Options {
            ddl_lock_timeout: Some(std::time::Duration::from_millis(200)),
            lock_attempts: Some(1),
            ..options.clone()
        };
        let s = resolve(&flagged, &env(&[])).unwrap();
        assert_eq!(s.ddl_lock_timeout, Some(std::time::Duration::from_millis(200)));
        assert_eq!(s.lock_attempts, Some(1));
        for (text, says) in [
            (
                "ddl_lock_timeout = \"5\"\n",
                "`ddl_lock_timeout`: `5` is not a duration",
            ),
            (
                "statement_timeout = \"soon\"\n",
                "`statement_timeout`: `soon` is not a duration",
            ),
            ("lock_attempts = 0\n", "`lock_attempts` is 0"),
        ] {
            std::fs::write(&file, text).unwrap();
            let e = resolve(&options, &env(&[])).unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn precedence() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.toml");
        let b = dir.path().join("b.toml");
        std::fs::write(&a, "database_url = \"sqlite:a.db\"\ndir = \"mig_a\"\n").unwrap();
        std::fs::write(&b, "database_url = \"sqlite:b.db\"\nhistory_table = \"hist_b\"\n").unwrap();
        let b_env = b.display().to_string();
        let vars = [(CONFIG_ENV, b_env.as_str()), (URL_ENV, "sqlite:env.db")];

        // --config wins over MIGRATE_CONFIG; its dir is relative to it.
        let options = Options {
            config: Some(a.clone()),
            ..Options::default()
        };
        let s = resolve(&options, &env(&vars)).unwrap();
        assert_eq!(s.database_url.as_deref(), Some("sqlite:a.db"));
        assert_eq!(s.dir, dir.path().join("mig_a"));
        assert_eq!(s.table.name(), DEFAULT_TABLE);

        // MIGRATE_CONFIG next.
        let s = resolve(&Options::default(), &env(&vars)).unwrap();
        assert_eq!(s.database_url.as_deref(), Some("sqlite:b.db"));
        assert_eq!(s.table.name(), "hist_b");

        // Flags over everything.
        let options = Options {
            database_url: Some("sqlite:flag.db".into()),
            history_table: Some("hist_flag".into()),
            dir: Some("d".into()),
            ..Options::default()
        };
        let s = resolve(&options, &env(&vars)).unwrap();
        assert_eq!(s.database_url.as_deref(), Some("sqlite:flag.db"));
        assert_eq!(s.table.name(), "hist_flag");
        assert_eq!(s.dir_shown, "d");

        // DATABASE_URL when the file sets no URL.
        std::fs::write(&b, "history_table = \"hist_b\"\n").unwrap();
        let s = resolve(&Options::default(), &env(&vars)).unwrap();
        assert_eq!(s.database_url.as_deref(), Some("sqlite:env.db"));
    }

    /// `[vars]` takes what TOML writes for a value: a string, and a number or
    /// boolean as its text; anything else is an error at its line.
    #[test]
    fn vars_are_text_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("migrate.toml");
        std::fs::write(
            &file,
            "[vars]\nname = \"app\"\nshards = 4\nratio = \"3.10\"\ncheck = true\n",
        )
        .unwrap();
        let options = Options {
            config: Some(file.clone()),
            ..Options::default()
        };
        let mut vars = resolve(&options, &env(&[])).unwrap().vars;
        vars.sort();
        let text = |n: &str, v: &str| (n.to_owned(), v.to_owned());
        assert_eq!(
            vars,
            [
                text("check", "true"),
                text("name", "app"),
                text("ratio", "3.10"),
                text("shards", "4")
            ]
        );
        std::fs::write(&file, "[vars]\nshards = [4]\n").unwrap();
        let e = resolve(&options, &env(&[])).unwrap_err().to_string();
        assert!(
            e.contains("line 2") && e.contains("a string, an integer or a boolean, not array"),
            "{e}"
        );
        std::fs::write(&file, "[vars]\nratio = 3.10\n").unwrap();
        let e = resolve(&options, &env(&[])).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("write it as a string"), "{e}");
    }

    #[test]
    fn bad_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Options {
            config: Some(dir.path().join("nope.toml")),
            ..Options::default()
        };
        assert!(matches!(resolve(&missing, &env(&[])), Err(CliError::ConfigRead { .. })));
        let typo = dir.path().join("typo.toml");
        std::fs::write(&typo, "databse_url = \"x\"\n").unwrap();
        let options = Options {
            config: Some(typo),
            ..Options::default()
        };
        let e = resolve(&options, &env(&[])).unwrap_err();
        assert!(e.to_string().contains("databse_url"), "{e}");
    }

    #[test]
    fn template_parses_back() {
        let text = template("db/mig \"x\"", Some("sqlite:a.db"));
        let f: File = toml::from_str(&text).unwrap();
        assert_eq!(f.dir.as_deref(), Some("db/mig \"x\""));
        assert_eq!(f.database_url.as_deref(), Some("sqlite:a.db"));
        let f: File = toml::from_str(&template("migrations", None)).unwrap();
        assert_eq!(f.database_url, None);
    }
}
