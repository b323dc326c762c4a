//! What can go wrong on the command line, and the exit code each gets.

use migrate_core::{Diagnostics, TargetError};
use migrate_runtime::Dialect;

/// Exit status: the command did what was asked.
pub const EXIT_OK: u8 = 0;
/// Exit status: an error (bad input, invalid folder, database failure, ...).
pub const EXIT_ERROR: u8 = 1;
/// Exit status: the command line itself was wrong (clap's convention).
pub const EXIT_USAGE: u8 = 2;
/// Exit status of `current --check` and `wait`: revisions are pending.
pub const EXIT_PENDING: u8 = 3;
/// Exit status of `current --check`: the database holds revisions this folder or build does not know.
pub const EXIT_UNKNOWN: u8 = 4;
/// Exit status when the database stopped inside revisions a squash baseline
/// replaced: an older release must take it to the squash point first.
pub const EXIT_INSIDE_SQUASH: u8 = 5;
/// Exit status when a run stopped, as SIGTERM or Ctrl-C asked, at a clean
/// point: what it did before stays done and recorded; run it again to go on.
pub const EXIT_STOPPED: u8 = 6;

/// A command-line failure. `Display` is the message printed after `error: `;
/// database URLs in it are redacted before printing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The command line is valid clap but asks for something impossible.
    #[error("{0}")]
    Usage(String),
    /// The config file could not be read.
    #[error("cannot read the config file `{path}`: {source}")]
    ConfigRead {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid TOML or has unknown keys.
    #[error(
        "invalid config file `{path}`: {message} (the keys are database_url, dev_database_url, dir, schema, history_table, history_schema, lock_timeout, ddl_lock_timeout, statement_timeout, connect_timeout, lock_attempts, lock, lease_ttl, dialect, lint_from, a [lint] table of rule = \"error\" | \"warning\" | \"off\", a [vars] table of NAME = value, and [sets.NAME] tables of dir and history_table)"
    )]
    ConfigInvalid {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// No flag, file or environment variable gave a database URL.
    #[error(
        "no database URL: pass --database-url URL, set `database_url` in migrate.toml, or set the DATABASE_URL environment variable"
    )]
    MissingUrl,
    /// The URL does not parse, or its options are wrong.
    #[error("invalid database URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL, password redacted.
        url: String,
        /// Why.
        reason: String,
    },
    /// The URL's scheme names no database this tool knows.
    #[error("unknown database URL scheme in `{url}`: use sqlite:, postgres:// or mysql:// (mariadb://)")]
    UnknownScheme {
        /// The URL, password redacted.
        url: String,
    },
    /// The URL names a database this build was compiled without.
    #[error("this build has no {0} support: rebuild it with the `{0}` feature")]
    NotCompiled(Dialect),
    /// No dialect for an offline script.
    #[error(
        "an offline script needs a dialect: pass --dialect sqlite|postgres|mysql, or a database URL whose scheme names one"
    )]
    NoDialect,
    /// Connecting to the database failed.
    #[error("cannot connect to the database at `{url}`: {}", crate::database::said(.source))]
    Connect {
        /// The URL, password redacted.
        url: String,
        /// sqlx's error.
        source: crate::database::SqlxError,
    },
    /// The server did not accept the connection and answer within the connect timeout.
    #[error(
        "cannot connect to the database at `{url}`: no answer within {} (are the host and port right, and is a database listening there?); {bound}",
        migrate_core::duration::display(*.timeout)
    )]
    ConnectTimeout {
        /// The URL, password redacted.
        url: String,
        /// How long it waited.
        timeout: std::time::Duration,
        /// What set that time, and how to change it.
        bound: &'static str,
    },
    /// The migrations folder has problems (printed like rustc, as the macro does).
    #[error("{0}")]
    Invalid(Diagnostics),
    /// A target or revision id that names nothing, or several revisions.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The runtime refused or failed.
    #[error(transparent)]
    Runtime(#[from] migrate_runtime::Error),
    /// A file could not be written or read.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Something the command refuses to do (overwrite a file, merge one head, ...).
    #[error("{0}")]
    Refused(String),
    /// A fleet whose databases a signal stopped at a clean point, none failing.
    #[error("{0}")]
    Stopped(String),
    /// A file of another tool's folder that `import` cannot convert faithfully.
    #[error("cannot import `{file}`{}: {why}; nothing was written", .line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Import {
        /// The file, as the command line named its folder.
        file: String,
        /// The 1-based line, where there is one.
        line: Option<usize>,
        /// Why, and what to do.
        why: String,
    },
    /// `current --check`: revisions are pending.
    #[error("the database is not at the head: {} revision{} pending ({})", .0.len(), if .0.len() == 1 { " is" } else { "s are" }, .0.join(", "))]
    Pending(Vec<String>),
    /// `current --check`: the database holds revisions this folder does not know.
    #[error("the database holds revision{} this {} does not know: {}", if .0.len() == 1 { "" } else { "s" }, "folder or build", .0.join(", "))]
    Unknown(Vec<String>),
}

impl CliError {
    /// The process exit status for this error: 2 for usage, 3 for pending
    /// revisions, 4 for revisions the database has and the folder lacks, 5
    /// for a database stopped inside a squashed range, 6 for a run stopped
    /// as a signal asked, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Pending(_) | CliError::Runtime(migrate_runtime::Error::NotCurrent { .. }) => EXIT_PENDING,
            CliError::Unknown(_) => EXIT_UNKNOWN,
            CliError::Runtime(migrate_runtime::Error::Stopped { .. }) | CliError::Stopped(_) => EXIT_STOPPED,
            CliError::Runtime(migrate_runtime::Error::History(problems))
                if problems
                    .iter()
                    .any(|p| matches!(p, migrate_core::history::HistoryProblem::InsideSquash { .. })) =>
            {
                EXIT_INSIDE_SQUASH
            }
            _ => EXIT_ERROR,
        }
    }

    /// The message, with the commands it names spelled as `program` runs them.
    pub(crate) fn message(&self, program: crate::Program) -> String {
        let unknown = match self {
            CliError::Target(TargetError::UnknownRevision { id })
            | CliError::Runtime(migrate_runtime::Error::Target(TargetError::UnknownRevision { id })) => Some(id),
            _ => None,
        };
        match (unknown, program) {
            (Some(id), crate::Program::Migrate) => {
                return format!("no revision matches `{id}`; `migrate history` lists the revisions");
            }
            (Some(_), crate::Program::Embedded) => return self.to_string(),
            (None, _) => {}
        }
        match self {
            CliError::Runtime(migrate_runtime::Error::MissingDependency {
                revision,
                file,
                set,
                needs,
                table,
            }) => format!(
                "revision `{revision}` ({file}) depends on revision `{needs}` of the migration set `{set}`, which is not applied (its history table {table} does not record it): {}",
                match program {
                    crate::Program::Migrate => format!("migrate the set `{set}` first: `migrate --set {set} upgrade`"),
                    crate::Program::Embedded => format!(
                        "migrate the set `{set}` first, with the program that carries its migrations (in code, `migrate::Sets` migrates sets in their declared order); this binary runs only its own"
                    ),
                }
            ),
            _ => self.to_string(),
        }
    }

    /// The command that gets the user out of this state, named as `program` spells it.
    pub(crate) fn help(&self, program: crate::Program) -> Option<String> {
        if let CliError::Runtime(migrate_runtime::Error::NeededBy { set, by, .. }) = self {
            return Some(needed_by_help(set, by, program));
        }
        if let CliError::Runtime(migrate_runtime::Error::Blocked { .. }) = self {
            return Some(
                "end or wait out the transactions named above, or give the migration more room: --ddl-lock-timeout (or `-- migrate:lock-timeout:` in its header) and --lock-attempts"
                    .into(),
            );
        }
        let revision = match self {
            CliError::Runtime(migrate_runtime::Error::Dirty { revision, .. }) => revision,
            CliError::Runtime(migrate_runtime::Error::Migration {
                revision,
                rolled_back: false,
                ..
            }) => revision,
            _ => return None,
        };
        Some(match program {
            crate::Program::Migrate => format!(
                "once you know how it stands: `migrate resolve {revision} --applied` or `--not-applied`; or, once the cause is fixed, `migrate resolve {revision} --retry` to run it again from the failed statement"
            ),
            crate::Program::Embedded => format!(
                "once you know how it stands: `resolve {revision} --applied` or `--not-applied` (or `--retry`, once the cause is fixed), with the subcommand of this binary that runs `upgrade`"
            ),
        })
    }

    /// Whether `Display` already starts with `error:` (diagnostics do).
    pub(crate) fn prints_own_prefix(&self) -> bool {
        matches!(self, CliError::Invalid(_))
    }
}

/// How to unapply revision `by` of `set` (as [`migrate_runtime::Error::NeededBy`]
/// names it: "the migration set `jobq`", "the application's migrations").
fn needed_by_help(set: &str, by: &str, program: crate::Program) -> String {
    let name = set
        .strip_prefix("the migration set `")
        .and_then(|rest| rest.strip_suffix('`'));
    let below = format!("TARGET being the `down_revision` of `{by}`, or `base` when it has none");
    match (program, name) {
        (crate::Program::Migrate, Some(name)) => {
            format!("unapply `{by}` first: `migrate --set {name} downgrade TARGET`, {below}")
        }
        (crate::Program::Migrate, None) => format!("unapply `{by}` first: `migrate downgrade TARGET`, {below}"),
        (crate::Program::Embedded, Some(_)) => {
            format!("unapply `{by}` first, with the program that carries that set's migrations")
        }
        (crate::Program::Embedded, None) => format!(
            "unapply `{by}` first: `downgrade TARGET` with the subcommand of this binary that runs `upgrade`, {below}"
        ),
    }
}

impl From<Diagnostics> for CliError {
    fn from(d: Diagnostics) -> Self {
        CliError::Invalid(d)
    }
}

/// Wraps an I/O error with what was being done.
pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
    let context = context.into();
    move |source| CliError::Io { context, source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Program;

    /// Advice names only what works in the program that prints it: `--set`
    /// and `migrate …` on the command line, never in a binary's `db` subcommand.
    #[test]
    fn advice_names_what_works_where_it_is_printed() {
        let missing = CliError::Runtime(migrate_runtime::Error::MissingDependency {
            revision: "a1".into(),
            file: "migrations/a1_m.sql".into(),
            set: "jobq".into(),
            needs: "j1".into(),
            table: "\"migrate_history_jobq\"".into(),
        });
        let said = missing.message(Program::Migrate);
        assert!(
            said.ends_with("migrate the set `jobq` first: `migrate --set jobq upgrade`"),
            "{said}"
        );
        let said = missing.message(Program::Embedded);
        assert!(said.contains("with the program that carries its migrations"), "{said}");
        assert!(!said.contains("--set") && !said.contains("`migrate "), "{said}");

        let needed = |set: &str| {
            CliError::Runtime(migrate_runtime::Error::NeededBy {
                revision: "j1".into(),
                file: "vendor/jobq/j1_m.sql".into(),
                set: set.into(),
                by: "m1".into(),
                table: "\"migrate_history_mail\"".into(),
            })
        };
        let help = needed("the migration set `mail`").help(Program::Migrate).unwrap();
        assert!(
            help.starts_with("unapply `m1` first: `migrate --set mail downgrade TARGET`"),
            "{help}"
        );
        let help = needed("the application's migrations").help(Program::Embedded).unwrap();
        assert!(
            help.starts_with("unapply `m1` first: `downgrade TARGET` with the subcommand"),
            "{help}"
        );
        let help = needed("the migration set `mail`").help(Program::Embedded).unwrap();
        assert!(!help.contains("--set") && !help.contains("`migrate "), "{help}");
    }
}
