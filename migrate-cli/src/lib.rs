//! The `migrate` command line, and the same verbs as a `db` subcommand for
//! a self-migrating binary. The only crate of the workspace that knows clap,
//! toml and serde_json; applications that do not embed the command line never
//! compile it. They reach it as `migrate::cli` with the facade's `cli` feature.
//!
//! It does not parse files, validate graphs or plan (that is `migrate-core`),
//! and it sends no SQL of its own (that is `migrate-runtime`): it reads
//! settings, calls them, and prints.
//!
//! - [`main`] is the whole `migrate` binary: it parses [`Cli`] and runs it
//!   over the migrations folder (`--dir`, default `migrations`).
//! - [`DbCommand`] is a clap subcommand to put in your own application;
//!   [`DbCommand::run`] runs it over the list `embed_migrations!` built in,
//!   so `myapp db upgrade head` needs no folder on the server. Both share
//!   one implementation of every verb and print the same lines.
//!
//! Settings come from flags, then the config file (`--config FILE`, else
//! `$MIGRATE_CONFIG`, else `./migrate.toml`), then `DATABASE_URL` for the
//! URL. Exit status: [`EXIT_OK`] (0) done, [`EXIT_ERROR`] (1) error,
//! [`EXIT_USAGE`] (2) usage. Results go to stdout; notes, progress and
//! errors to stderr; passwords in URLs are printed as `***`.

mod args;
mod author;
mod base;
mod config;
mod database;
mod error;
mod fleet;
mod from_base;
mod import;
mod limits;
mod lint;
mod log;
mod output;
mod picture;
mod plan_schema;
mod plans;
mod rehearse;
mod repeatables;
mod schema;
mod show;
mod squash;
mod stop;
mod verbs;

pub use args::{Cli, Command, DbCommand, Fleet, Options};
pub use config::{CONFIG_ENV, DEFAULT_CONFIG, DEFAULT_DIR, URL_ENV};
pub use error::{
    CliError, EXIT_ERROR, EXIT_INSIDE_SQUASH, EXIT_OK, EXIT_PENDING, EXIT_STOPPED, EXIT_UNKNOWN, EXIT_USAGE,
};
pub use log::LOG_ENV;

use clap::Parser;
use migrate_runtime::Migrations;
use output::Output;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use verbs::Source;

/// The `migrate` binary: parses the process's arguments, runs the command
/// on a single-threaded runtime, and returns the exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    runtime.block_on(cli.run())
}

impl Cli {
    /// Runs the command over the migrations folder and prints its output
    /// and errors; returns the exit status.
    pub async fn run(self) -> ExitCode {
        let options = self.command.options().or(&self.options);
        if let Command::Init { folder, .. } = &self.command {
            // `init` writes the config file, so it reads none.
            let out = Output::new(options.quiet);
            let folder = folder
                .clone()
                .or_else(|| options.dir.clone())
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
            let env = |name: &str| std::env::var(name).ok();
            let (config_file, _) = config::config_path(&options, &env);
            let result = author::init(&folder, &config_file, options.database_url.as_deref(), &out);
            return finish(&out, result, Program::Migrate);
        }
        let (out, result) = prepare(&options);
        if self.command.changes_online() {
            stop::listen(out.clone());
        }
        let result = match result {
            Ok(settings) => log::printed(&out, false, run_command(self.command, &options, &settings, &out)).await,
            Err(e) => Err(e),
        };
        finish(&out, result, Program::Migrate)
    }
}

impl DbCommand {
    /// Runs the command over `migrations` (the list `embed_migrations!`
    /// built into the binary) and prints its output and errors, exactly as
    /// `migrate` would; returns the exit status.
    pub async fn run(self, migrations: &Migrations) -> ExitCode {
        let (out, result) = prepare(self.options());
        let result = match result {
            Ok(_) if self.options().dir.is_some() => Err(CliError::Usage(
                "--dir: this binary runs the migrations built into it; --dir is for the `migrate` command line".into(),
            )),
            Ok(_) if self.options().set.is_some() => Err(CliError::Usage(
                "--set: this binary runs the migrations built into it, which are the application's own and keep their history in its own table; another set's migrations are run by the program that carries them (--set is for the `migrate` command line, over a set's folder)".into(),
            )),
            Ok(settings) => log::printed(&out, true, verbs::run(self, Source::Embedded(migrations), &settings, &out)).await,
            Err(e) => Err(e),
        };
        finish(&out, result, Program::Embedded)
    }
}

/// The printer (told every URL it must not reveal; shared with the log's
/// printer, [`log::printed`]) and the settings.
fn prepare(options: &Options) -> (Arc<Output>, Result<config::Settings, CliError>) {
    let mut out = Output::new(options.quiet);
    let env = |name: &str| std::env::var(name).ok();
    for url in [
        options.database_url.clone(),
        options.dev_database_url.clone(),
        env(URL_ENV),
    ]
    .into_iter()
    .flatten()
    {
        out.hide_password_of(&url);
    }
    let settings = config::resolve(options, &env);
    if let Ok(s) = &settings
        && let Some(url) = &s.database_url
    {
        out.hide_password_of(url);
    }
    if let Ok(s) = &settings
        && let Some(url) = &s.dev_database_url
    {
        out.hide_password_of(url);
    }
    (Arc::new(out), settings)
}

/// Which command line is speaking, so that advice names a command the user has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Program {
    /// The `migrate` binary.
    Migrate,
    /// A self-migrating application's embedded subcommand.
    Embedded,
}

/// Prints the error, if any, and turns the result into an exit status.
fn finish(out: &Output, result: Result<(), CliError>, program: Program) -> ExitCode {
    out.clear_bar();
    let result = result.and_then(|()| match out.take_write_error() {
        None => Ok(()),
        Some(source) => Err(CliError::Io {
            context: "cannot write the output".into(),
            source,
        }),
    });
    match result {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(e) => {
            let mut message = e.message(program);
            if let Some(help) = e.help(program) {
                message.push_str("\n  = help: ");
                message.push_str(&help);
            }
            out.error(&message, e.prints_own_prefix());
            ExitCode::from(e.exit_code())
        }
    }
}

/// Runs `command` with the settings `s`; `flags` are the flags as given,
/// before the command and after it alike (`--database-url` there means the
/// same wherever it is written).
async fn run_command(command: Command, flags: &Options, s: &config::Settings, out: &Output) -> Result<(), CliError> {
    // `--schema FILE` of `revision` and `check` wins over the config file's `schema`.
    let file = match &command {
        Command::Revision { schema: Some(f), .. }
        | Command::Check {
            schema: Some(Some(f)), ..
        } => Some(f.clone()),
        _ => None,
    };
    let named;
    let s = match file {
        Some(f) => {
            named = config::Settings {
                schema_shown: f.display().to_string(),
                schema_file: f,
                ..s.clone()
            };
            &named
        }
        None => s,
    };
    match command {
        Command::Init { .. } => unreachable!("`Cli::run` runs init before reading any config"),
        Command::Revision {
            message,
            autogenerate: true,
            allow_destructive,
            ..
        } => schema::autogenerate(s, &message, allow_destructive, out).await,
        Command::Revision {
            message, head, rust, ..
        } => author::revision(s, &message, head.as_deref(), rust, out),
        Command::Merge { message, ids, .. } => author::merge(s, &message, &ids, out),
        Command::Check {
            schema: Some(_), base, ..
        } => {
            author::check_base(s, base.as_deref(), out)?;
            lint::in_check(s, base.as_deref(), out)?;
            schema::check(s, out).await
        }
        Command::Check { base, .. } => {
            author::check(s, out)?;
            author::check_base(s, base.as_deref(), out)?;
            lint::in_check(s, base.as_deref(), out)
        }
        Command::Lint { base, json, .. } => lint::run(s, base.as_deref(), json, out),
        Command::Test { from, .. } => {
            let named = schema::TestFlags {
                database_url: flags.database_url.is_some(),
                dev_database_url: flags.dev_database_url.is_some(),
            };
            schema::round_trips(s, named, from.as_deref(), out).await
        }
        Command::Squash {
            to,
            release,
            delete,
            message,
            ..
        } => {
            let request = squash::Request {
                to: &to,
                release: release.as_deref(),
                delete,
                message: message.as_deref(),
            };
            squash::squash(s, &request, out).await
        }
        Command::Schema(args::SchemaCommand::Dump { .. }) => schema::dump(s, flags.database_url.is_some(), out).await,
        Command::Import {
            tool, project, python, ..
        } => import::import(s, tool, project.as_deref(), &python, out).await,
        Command::Adopt {
            tool,
            version_table,
            sql,
            ..
        } => import::adopt(s, tool, version_table.as_deref(), sql, out).await,
        Command::Db(db) => verbs::run(db, Source::Folder, s, out).await,
    }
}
