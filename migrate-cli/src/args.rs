//! The command-line grammar: clap types for `migrate` and for the embedded
//! `db` subcommand. Only parsing lives here; `commands` does the work.

use crate::limits;
use clap::{ArgGroup, Args, Parser, Subcommand};
use migrate_core::Phase;
use migrate_runtime::Dialect;
use std::path::PathBuf;
use std::time::Duration;

/// The flags every command takes. Values given here win over the config
/// file, which wins over the environment (see the crate's README).
#[derive(Debug, Clone, Default, Args)]
pub struct Options {
    /// The migrations folder [default: `dir` in the config file, else `migrations`]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The database URL (sqlite:, postgres://, mysql://) [default: the config file, else DATABASE_URL]
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// The config file [default: $MIGRATE_CONFIG, else ./migrate.toml when it exists]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The SQL dialect of an offline script, when no database URL names it
    #[arg(long, value_name = "sqlite|postgres|mysql")]
    pub dialect: Option<Dialect>,
    /// A server where autogenerate, `check --schema` and `schema dump` may create and drop scratch databases (PostgreSQL, MySQL); never the database you deploy to [default: `dev_database_url` in the config file]
    #[arg(long, value_name = "URL")]
    pub dev_database_url: Option<String>,
    /// Work on the migration set NAME of the config file (`[sets.NAME]`: its folder and history table) instead of the main folder (the `migrate` command line only: a binary's embedded list is the application's own)
    #[arg(long, value_name = "NAME")]
    pub set: Option<String>,
    /// The history table [default: `history_table` in the config file, else migrate_history]
    #[arg(long, value_name = "NAME")]
    pub history_table: Option<String>,
    /// The schema (PostgreSQL) or database (MySQL) of the history table [default: `history_schema` in the config file, else the connection's current one]
    #[arg(long, value_name = "NAME")]
    pub history_schema: Option<String>,
    /// How long to wait for another migrator's lock, 0 to 31536000 (a year) [default: `lock_timeout` in the config file, else 60]
    #[arg(long, value_name = "SECONDS", value_parser = limits::lock_timeout)]
    pub lock_timeout: Option<u64>,
    /// How long one statement of a migration may wait for a lock on a table, e.g. 5s, up to 576h (PostgreSQL lock_timeout, MySQL lock_wait_timeout) [default: `ddl_lock_timeout` in the config file, else the server's]
    #[arg(long, value_name = "DURATION", value_parser = limits::statement)]
    pub ddl_lock_timeout: Option<Duration>,
    /// How long one statement of a migration may run, e.g. 10min, up to 576h [default: `statement_timeout` in the config file, else the server's]
    #[arg(long, value_name = "DURATION", value_parser = limits::statement)]
    pub statement_timeout: Option<Duration>,
    /// How long connecting to the database may take, the server's answer included, e.g. 10s, up to 1h [default: `connect_timeout` in the config file, else 30s]
    #[arg(long, value_name = "DURATION", value_parser = limits::connect_timeout)]
    pub connect_timeout: Option<Duration>,
    /// How migrators keep out of each other: `advisory` (a session lock), `lease` (a row of migrate_lease: for PgBouncer in transaction mode and Galera), `auto` (advisory, or the lease on Galera) [default: `lock` in the config file, else auto]
    #[arg(long, value_name = "advisory|lease|auto")]
    pub lock: Option<migrate_runtime::LockMode>,
    /// How long a lease lasts unless renewed, e.g. 30s, from 100ms to 24h: a migrator that died holding it keeps others waiting this long [default: `lease_ttl` in the config file, else 30s]
    #[arg(long, value_name = "DURATION", value_parser = limits::lease_ttl)]
    pub lease_ttl: Option<Duration>,
    /// How many times to try a migration whose statement waited longer than the DDL lock timeout [default: `lock_attempts` in the config file, else 3]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub lock_attempts: Option<u32>,
    /// Accept applied revisions this folder or build does not know (a database migrated by a newer build); without it, only unknown revisions marked `expand` are accepted
    #[arg(long)]
    pub ignore_unknown_revisions: bool,
    /// Print only results and errors: no progress lines, notes or hints
    #[arg(long, short)]
    pub quiet: bool,
    /// Give the variable NAME (declared `-- migrate:var NAME` in a revision's header, used as `${NAME}` in its SQL) the value VALUE, for what upgrade, downgrade, test and their --sql scripts run; repeatable; wins over $MIGRATE_VAR_NAME, which wins over `[vars]` in the config file
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = variable)]
    pub vars: Vec<(String, String)>,
}

/// `NAME=VALUE`, a `--var`: a variable name, `=`, and the value as written.
fn variable(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if migrate_core::sql::vars::is_name(name.trim()) => {
            Ok((name.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!(
            "`{text}` is not NAME=VALUE (a name is a letter or `_`, then letters, digits and `_`)"
        )),
    }
}

impl Options {
    /// These options, with each one not given taken from `outer` (the
    /// flags written before the command, as in `migrate --dir db upgrade`).
    pub fn or(&self, outer: &Options) -> Options {
        Options {
            dir: self.dir.clone().or_else(|| outer.dir.clone()),
            database_url: self.database_url.clone().or_else(|| outer.database_url.clone()),
            dev_database_url: self.dev_database_url.clone().or_else(|| outer.dev_database_url.clone()),
            config: self.config.clone().or_else(|| outer.config.clone()),
            dialect: self.dialect.or(outer.dialect),
            history_table: self.history_table.clone().or_else(|| outer.history_table.clone()),
            set: self.set.clone().or_else(|| outer.set.clone()),
            history_schema: self.history_schema.clone().or_else(|| outer.history_schema.clone()),
            lock_timeout: self.lock_timeout.or(outer.lock_timeout),
            ddl_lock_timeout: self.ddl_lock_timeout.or(outer.ddl_lock_timeout),
            statement_timeout: self.statement_timeout.or(outer.statement_timeout),
            connect_timeout: self.connect_timeout.or(outer.connect_timeout),
            lock_attempts: self.lock_attempts.or(outer.lock_attempts),
            lock: self.lock.or(outer.lock),
            lease_ttl: self.lease_ttl.or(outer.lease_ttl),
            ignore_unknown_revisions: self.ignore_unknown_revisions || outer.ignore_unknown_revisions,
            quiet: self.quiet || outer.quiet,
            // The command's own come last, so they win.
            vars: [outer.vars.clone(), self.vars.clone()].concat(),
        }
    }
}

/// Run a command on many databases instead of one: `upgrade`, `downgrade`,
/// `current` and `stamp` take these.
#[derive(Debug, Clone, Default, Args)]
pub struct Fleet {
    /// Run on every database of FILE, one URL a line (blank lines and `#` comments skipped), instead of one
    #[arg(long, value_name = "FILE", conflicts_with = "schemas")]
    pub each: Option<PathBuf>,
    /// PostgreSQL: run on every schema of the database whose name matches the LIKE pattern (e.g. 'tenant_%'), each with its own history table
    #[arg(long, value_name = "PATTERN")]
    pub schemas: Option<String>,
    /// With --each or --schemas: how many databases at once
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// With --each or --schemas: start no new database once one failed
    #[arg(long)]
    pub fail_fast: bool,
}

impl Fleet {
    /// Whether the command runs on many databases.
    pub fn is_many(&self) -> bool {
        self.each.is_some() || self.schemas.is_some()
    }
}

/// `migrate`: Alembic-style schema migrations from a folder of SQL files.
///
/// Exit status: 0 done, 1 error, 2 usage error; `current --check` and
/// `wait` also 3 (revisions pending), `current --check` 4 (the database
/// holds revisions this folder does not know).
#[derive(Debug, Parser)]
#[command(
    name = "migrate",
    version,
    about = "Alembic-style database schema migrations from a folder of SQL files",
    long_about = None,
    after_help = "Settings: flags, then --config FILE, else $MIGRATE_CONFIG, else ./migrate.toml; DATABASE_URL when none sets a URL.\nExit status: 0 done, 1 error, 2 usage; `current --check` and `wait`: 3 revisions pending; `current --check`: 4 the database holds revisions this folder does not know; 5 the database stopped inside revisions a squash replaced; 6 a run stopped at a clean point by SIGTERM or Ctrl-C."
)]
pub struct Cli {
    /// Flags written before the command; the command's own flags win.
    #[command(flatten)]
    pub options: Options,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Every command of `migrate`: the authoring ones, which write files, and
/// the [`DbCommand`]s, which the embedded command line shares.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a migrations folder and a migrate.toml (refuses to overwrite anything)
    Init {
        /// The folder to create [default: --dir, else `migrations`]
        #[arg(value_name = "DIR")]
        folder: Option<PathBuf>,
        #[command(flatten)]
        options: Options,
    },
    /// Write a new revision on top of the head and print its path; --autogenerate writes its SQL from the schema file
    Revision {
        /// The message: the file's first line and its name's slug
        #[arg(short, long)]
        message: String,
        /// Branch from this revision (id or unique prefix) instead of the head
        #[arg(long, value_name = "ID", conflicts_with = "autogenerate")]
        head: Option<String>,
        /// Write the upgrade that turns the migrations' end state into the schema file, and the downgrade back, printing a line per change
        #[arg(long)]
        autogenerate: bool,
        /// The schema file [default: `schema` in the config file, else schema.sql]
        #[arg(long, value_name = "FILE", requires = "autogenerate")]
        schema: Option<PathBuf>,
        /// Write drops of columns that another column of the same type replaces, instead of asking for `-- migrate:renamed-from`
        #[arg(long, requires = "autogenerate")]
        allow_destructive: bool,
        /// Write a Rust revision (`<id>_<slug>.rs`: a `//!` header and empty `upgrade` and `downgrade` functions), which only the application embedding the folder runs
        #[arg(long, conflicts_with = "autogenerate")]
        rust: bool,
        #[command(flatten)]
        options: Options,
    },
    /// Write a merge revision joining heads (all heads by default) and print its path
    Merge {
        /// The message of the merge revision
        #[arg(short, long)]
        message: String,
        /// The revisions to join (ids or unique prefixes) [default: every head]
        #[arg(value_name = "IDS")]
        ids: Vec<String>,
        #[command(flatten)]
        options: Options,
    },
    /// Validate the folder exactly as embed_migrations! does (exit 1 on any problem), warn on `expand` revisions that drop or rename, and lint it as `migrate lint` does when the dialect is known; --schema also compares the migrations' end state with the schema file; --base REF refuses edits to what shipped at REF and lints only what is new since
    Check {
        /// Also exit 1, printing the differences, when the migrations' end state differs from the schema file [FILE default: `schema` in the config file, else schema.sql]
        #[arg(long, value_name = "FILE", num_args = 0..=1)]
        schema: Option<Option<PathBuf>>,
        /// Also exit 1 when a revision that was in the folder at this git reference (a release tag, the main branch) was edited, deleted or renamed since: what shipped stays as it shipped
        #[arg(long, value_name = "GIT-REF")]
        base: Option<String>,
        #[command(flatten)]
        options: Options,
    },
    /// Find the statements of upgrade sections that are dangerous on a live database (an index built without CONCURRENTLY, a constraint added without NOT VALID, a table rewritten or copied, a drop outside a contract revision, ...), each with its rule, file, line and safe form; exit 1 on an error-level finding
    #[command(
        after_help = "The dialect is --dialect, else the database URL's scheme. Limit it to new revisions with --base or `lint_from = \"REV\"` in migrate.toml; set a rule to \"error\", \"warning\" or \"off\" in its [lint] table; waive one in a revision's header with `-- migrate:allow RULE: reason`."
    )]
    Lint {
        /// Report only the revisions that were not in the folder at this git reference (a release tag, the main branch)
        #[arg(long, value_name = "GIT-REF")]
        base: Option<String>,
        /// Print the findings as one JSON array (rule, severity, file, line, revision, message, help), for CI annotations
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        options: Options,
    },
    /// Prove every downgrade: on an empty scratch database, upgrade each revision, downgrade it, compare the schema, upgrade it again; exit 1 naming each downgrade that does not restore the schema. With --from GIT-REF, walk the upgrade path production takes: the database first migrated with the folder as it was at that reference, then each revision new since upgraded from there
    #[command(
        after_help = "Runs on the --database-url database named on the command line, which must be empty; else on a scratch database: with --dev-database-url (or dev_database_url in migrate.toml), one it creates and drops; for SQLite (--dialect sqlite), one in memory. Both URL flags at once are refused."
    )]
    Test {
        /// Start from a release: migrate the scratch database with the folder as it was at this git reference (a release tag, the main branch) to its head, then upgrade it with today's files, each revision new since round-tripped; exit 1 naming the phase and revision that failed, or a revision that ran there and was edited since
        #[arg(long, value_name = "GIT-REF")]
        from: Option<String>,
        #[command(flatten)]
        options: Options,
    },
    /// Replace the revisions from the base to REV by one baseline revision, its SQL written from the schema they produce; proven on scratch databases first (the two schemas equal, the revisions above round-trip), then the old files move to squashed/<id>/. Databases at or past REV need nothing; one inside the range is refused, naming --release
    #[command(
        after_help = "Runs on scratch databases as autogenerate does: --dev-database-url for PostgreSQL and MySQL, --dialect sqlite for one in memory. See docs/squash.md."
    )]
    Squash {
        /// The squash point: it and every revision it needs are replaced; every revision above must reach them only through it
        #[arg(long, value_name = "REV")]
        to: String,
        /// The last release that has the squashed revisions, named in the refusal a database inside them gets [default: `git describe --always --tags` of the folder]
        #[arg(long, value_name = "NAME")]
        release: Option<String>,
        /// Delete the squashed files instead of moving them to squashed/<baseline-id>/
        #[arg(long)]
        delete: bool,
        /// The baseline's message [default: "baseline: N revisions squashed up to REV"]
        #[arg(short, long)]
        message: Option<String>,
        #[command(flatten)]
        options: Options,
    },
    /// The schema file's commands
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Write the migrations folder from another tool's project (alembic: its own Alembic runs upgrade and downgrade on scratch databases of --dev-database-url, and the SQL it sends becomes the files; the others: their folder of SQL files read as that tool reads it, a linear chain in its order); nothing is written on any error
    Import {
        /// The tool the project uses
        #[arg(value_enum)]
        tool: Tool,
        /// The project: alembic.ini, or the folder holding it [default: the current folder]; for the others, their migrations folder
        #[arg(value_name = "PROJECT")]
        project: Option<PathBuf>,
        /// The Python of the project's environment, where Alembic, SQLAlchemy, a database driver and the project's imports are installed
        #[arg(long, value_name = "PYTHON", default_value = "python3")]
        python: String,
        #[command(flatten)]
        options: Options,
    },
    /// Record a database that another tool migrated as applied up to where that tool left it (alembic: the heads in its version table and what they need; sqlx, refinery, diesel, golang-migrate, goose, dbmate: each applied version, a stored checksum compared), with the imported files' checksums, running no migration
    Adopt {
        /// The tool that migrated the database
        #[arg(value_enum)]
        tool: Tool,
        /// The tool's version table, as its configuration names it [default: alembic_version, _sqlx_migrations, refinery_schema_history, __diesel_schema_migrations, schema_migrations (golang-migrate, dbmate), goose_db_version]
        #[arg(long, value_name = "NAME")]
        version_table: Option<String>,
        /// Print the statements that would record the revisions instead of running them
        #[arg(long)]
        sql: bool,
        #[command(flatten)]
        options: Options,
    },
    #[command(flatten)]
    Db(DbCommand),
}

/// What `history --format` writes the revision graph as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// Graphviz's dot language
    Dot,
    /// A Mermaid flowchart
    Mermaid,
}

/// The tools `import` and `adopt` read.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Tool {
    /// Alembic (SQLAlchemy's migrations)
    Alembic,
    /// sqlx (`<version>_<name>.sql`, `.up.sql`/`.down.sql`)
    Sqlx,
    /// refinery (`V<n>__<name>.sql`)
    Refinery,
    /// diesel (`<version>_<name>/up.sql`, `down.sql`, `metadata.toml`)
    Diesel,
    /// golang-migrate (`<version>_<title>.up.sql`, `.down.sql`)
    GolangMigrate,
    /// goose (`<version>_<name>.sql` with `-- +goose Up`/`Down`)
    Goose,
    /// dbmate (`<version>_<name>.sql` with `-- migrate:up`/`down`)
    Dbmate,
    /// Flyway (`V<version>__<description>.sql`, `U…` undo files)
    Flyway,
}

/// `migrate schema …`.
#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Print the migrations' end state as a schema file (with --database-url: the live database's), e.g. `migrate schema dump > schema.sql`
    Dump {
        #[command(flatten)]
        options: Options,
    },
}

/// The commands that work on a list of migrations, loaded from a folder by
/// `migrate` or embedded in the binary by `embed_migrations!`.
///
/// Put it in your own clap application to give a self-migrating binary the
/// same command line (`myapp db upgrade head`), then call
/// [`DbCommand::run`]. An application reaches it as `migrate::cli::DbCommand`
/// with the `migrate` crate's `cli` feature:
///
/// ```no_run
/// use clap::{Parser, Subcommand};
///
/// # static MIGRATIONS: migrate_runtime::Migrations = migrate_runtime::Migrations::__embedded(&[]);
/// #[derive(Parser)]
/// struct App {
///     #[command(subcommand)]
///     command: AppCommand,
/// }
///
/// #[derive(Subcommand)]
/// enum AppCommand {
///     /// Run the server
///     Serve,
///     /// Migrate the database
///     #[command(subcommand)]
///     Db(migrate_cli::DbCommand),
/// }
///
/// # async fn main_() -> std::process::ExitCode {
/// match App::parse().command {
///     AppCommand::Db(command) => command.run(&MIGRATIONS).await,
///     AppCommand::Serve => std::process::ExitCode::SUCCESS,
/// }
/// # }
/// ```
#[derive(Debug, Clone, Subcommand)]
pub enum DbCommand {
    /// Apply revisions up to TARGET (head, an id or prefix, +N, <id>+N); --sql prints the script instead
    Upgrade {
        /// Where to go; with --sql, `TO` or `FROM:TO` (FROM defaults to base)
        #[arg(default_value = "head", allow_negative_numbers = true)]
        target: String,
        /// `expand`: stop before the first revision marked `-- migrate:phase: backfill` or `contract` (deploy the new code, then go on); `backfill`: run the backfills too, stop before the first contract revision; `contract`: everything, as without the flag
        #[arg(long, value_name = "expand|backfill|contract")]
        phase: Option<Phase>,
        /// Pause this long after each committed batch of a backfill (`500ms`, `2s`), leaving the server room for the application
        #[arg(long, value_name = "DURATION", value_parser = limits::batch_pause, conflicts_with_all = ["sql", "rehearse", "plan"])]
        batch_pause: Option<std::time::Duration>,
        /// Stop between two batches of a backfill once the run has applied for this long, leaving it in progress (`current --check` says so); the next upgrade resumes it after its last committed batch
        #[arg(long, value_name = "DURATION", value_parser = limits::max_duration, conflicts_with_all = ["sql", "rehearse", "plan"])]
        max_duration: Option<std::time::Duration>,
        /// With --each or --schemas: print one JSON object per database
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        fleet: Fleet,
        /// Print the SQL script for the dialect instead of connecting to a database
        #[arg(long)]
        sql: bool,
        /// Run the pending revisions on the database and keep nothing (SQLite, PostgreSQL: one transaction rolled back; MySQL/MariaDB: a scratch copy of the schema), reporting each step's time, rows and locks; exit 1 if one fails or goes over its `-- migrate:max-lock:`
        #[arg(long, conflicts_with_all = ["sql", "each", "schemas"])]
        rehearse: bool,
        /// Write what the upgrade would run to FILE, changing nothing: a JSON plan (the steps with their checksums and exact SQL, the history as it stands, the live schema) for a reviewer; print a summary
        #[arg(long, value_name = "FILE", conflicts_with_all = ["sql", "each", "schemas", "rehearse", "phase", "apply_plan"])]
        plan: Option<PathBuf>,
        /// Run exactly the steps of a plan written by --plan (its own target), or refuse, changing nothing, when the history, the schema or the migrations moved since it was written
        #[arg(long, value_name = "FILE", conflicts_with_all = ["sql", "each", "schemas", "rehearse", "phase"])]
        apply_plan: Option<PathBuf>,
        #[command(flatten)]
        options: Options,
    },
    /// Unapply revisions down to TARGET (base, an id or prefix, -N, <id>-N); --sql prints the script instead
    Downgrade {
        /// Where to go; with --sql, `FROM:TO` (e.g. head:base, ae10:-1)
        #[arg(allow_negative_numbers = true)]
        target: String,
        /// Unapply revisions this folder does not know (a newer build's) with the downgrade SQL stored in their history rows, printing it; `head` is then this folder's head
        #[arg(long)]
        use_stored_downgrade: bool,
        /// With --each or --schemas: print one JSON object per database
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        fleet: Fleet,
        /// Print the SQL script for the dialect instead of connecting to a database
        #[arg(long)]
        sql: bool,
        #[command(flatten)]
        options: Options,
    },
    /// Print the database's current revisions, one a line
    #[command(
        after_help = "With --check, the exit status says where the database stands: 0 at the head, 3 revisions pending, 4 it holds revisions this folder does not know, 1 error (a failed migration included)."
    )]
    Current {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
        /// Exit 0 at the head, 3 when revisions are pending, 4 when the database holds revisions this folder does not know
        #[arg(long)]
        check: bool,
        #[command(flatten)]
        fleet: Fleet,
        #[command(flatten)]
        options: Options,
    },
    /// Print the head revisions of the migrations, one a line
    Heads {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        options: Options,
    },
    /// List revisions newest first, marking applied ones when a database URL is configured
    History {
        /// Only revisions in `[START]:[END]` (each head, base, an id or prefix)
        #[arg(short = 'r', long, value_name = "RANGE")]
        rev_range: Option<String>,
        /// Show parents, file, checksum and when each revision was applied
        #[arg(short, long)]
        verbose: bool,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
        /// Draw the revision graph as `git log --graph` draws commits: newest first, merges, branch points, bases, (current) for the database's heads when a database URL is configured
        #[arg(long, conflicts_with_all = ["rev_range", "verbose", "json"])]
        graph: bool,
        /// Write the revision graph as Graphviz dot or a Mermaid flowchart, for documentation
        #[arg(long, value_enum, value_name = "FORMAT", conflicts_with_all = ["rev_range", "verbose", "json", "graph"])]
        format: Option<GraphFormat>,
        #[command(flatten)]
        options: Options,
    },
    /// Show one revision: its metadata and SQL
    Show {
        /// A revision id or unique prefix (or head)
        id: String,
        #[command(flatten)]
        options: Options,
    },
    /// Record TARGET as the database's state without running any migration SQL
    Stamp {
        /// Where to record the database (head, base, an id or prefix, +N, -N)
        #[arg(allow_negative_numbers = true)]
        target: String,
        /// Erase the whole history table first, then record TARGET: for a history that no longer matches the database (edited migrations, deleted files, rows edited by hand)
        #[arg(long)]
        purge: bool,
        /// With --each or --schemas: print one JSON object per database
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        fleet: Fleet,
        #[command(flatten)]
        options: Options,
    },
    /// Record how a revision left half-done by a failed run really stands, or run it again from the failed statement
    #[command(group(ArgGroup::new("resolution").required(true).args(["applied", "not_applied", "retry"])))]
    Resolve {
        /// The revision (full id)
        id: String,
        /// Its changes are in place: mark it applied
        #[arg(long)]
        applied: bool,
        /// Its changes are not in place: remove its history row
        #[arg(long)]
        not_applied: bool,
        /// The cause is fixed: run it again from the statement that failed (a migration run statement by statement: no-transaction, or any on MySQL)
        #[arg(long)]
        retry: bool,
        #[command(flatten)]
        options: Options,
    },
    /// Wait, changing nothing, until the database holds every revision (for replicas that do not migrate)
    #[command(
        after_help = "Exit status: 0 once the database holds every revision, 3 when the timeout passed first (the error lists what is missing), 1 on error (a failed migration included)."
    )]
    Wait {
        /// How long to wait, connecting included, e.g. 30s, 5m (up to a year)
        #[arg(long, value_name = "DURATION", value_parser = limits::wait, default_value = "5m")]
        timeout: Duration,
        #[command(flatten)]
        options: Options,
    },
}

impl DbCommand {
    /// The flags given to the command.
    pub fn options(&self) -> &Options {
        match self {
            DbCommand::Upgrade { options, .. }
            | DbCommand::Downgrade { options, .. }
            | DbCommand::Current { options, .. }
            | DbCommand::Heads { options, .. }
            | DbCommand::History { options, .. }
            | DbCommand::Show { options, .. }
            | DbCommand::Stamp { options, .. }
            | DbCommand::Resolve { options, .. }
            | DbCommand::Wait { options, .. } => options,
        }
    }
}

impl Command {
    /// The flags given to the command.
    pub fn options(&self) -> &Options {
        match self {
            Command::Init { options, .. }
            | Command::Revision { options, .. }
            | Command::Merge { options, .. }
            | Command::Check { options, .. }
            | Command::Lint { options, .. }
            | Command::Import { options, .. }
            | Command::Adopt { options, .. }
            | Command::Test { options, .. }
            | Command::Squash { options, .. }
            | Command::Schema(SchemaCommand::Dump { options }) => options,
            Command::Db(db) => db.options(),
        }
    }

    /// Whether the command runs migrations on a database, online: a run
    /// that a signal may stop between two steps (the `stop` module). A
    /// rehearsal keeps nothing, so a signal ends it at once, as before.
    pub(crate) fn changes_online(&self) -> bool {
        matches!(
            self,
            Command::Db(
                DbCommand::Upgrade {
                    sql: false,
                    plan: None,
                    rehearse: false,
                    ..
                } | DbCommand::Downgrade { sql: false, .. }
                    | DbCommand::Stamp { .. }
                    | DbCommand::Resolve { .. }
            )
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn grammar_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_after_the_command() {
        let cli = Cli::try_parse_from(["migrate", "upgrade", "--sql", "--dialect", "pg", "base:head", "-q"]).unwrap();
        match cli.command {
            Command::Db(DbCommand::Upgrade {
                target, sql, options, ..
            }) => {
                assert_eq!(target, "base:head");
                assert!(sql && options.quiet);
                assert_eq!(options.dialect, Some(Dialect::Postgres));
            }
            other => panic!("{other:?}"),
        }
        for verb in ["downgrade", "stamp"] {
            let cli = Cli::try_parse_from(["migrate", verb, "-1", "--quiet"]).unwrap();
            assert!(cli.command.options().quiet, "{verb}");
        }
        let cli = Cli::try_parse_from(["migrate", "--dir", "a", "-q", "heads", "--dir", "b"]).unwrap();
        let merged = cli.command.options().or(&cli.options);
        assert_eq!(merged.dir, Some("b".into()));
        assert!(merged.quiet);
        assert!(Cli::try_parse_from(["migrate", "resolve", "ab"]).is_err());
        assert!(Cli::try_parse_from(["migrate", "resolve", "ab", "--applied", "--not-applied"]).is_err());
        assert!(Cli::try_parse_from(["migrate", "resolve", "ab", "--retry", "--applied"]).is_err());
        let cli = Cli::try_parse_from(["migrate", "upgrade", "--phase", "expand", "--ddl-lock-timeout", "2s"]).unwrap();
        match cli.command {
            Command::Db(DbCommand::Upgrade { phase, options, .. }) => {
                assert_eq!(phase, Some(Phase::Expand));
                assert_eq!(options.ddl_lock_timeout, Some(Duration::from_secs(2)));
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["migrate", "upgrade", "--phase", "later"]).is_err());
        assert!(
            Cli::try_parse_from(["migrate", "wait", "--timeout", "5"]).is_err(),
            "a duration needs its unit"
        );
        assert!(Cli::try_parse_from(["migrate", "upgrade", "--lock-attempts", "0"]).is_err());
    }
}
