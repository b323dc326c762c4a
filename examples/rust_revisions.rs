//! An application whose migrations folder mixes SQL and Rust revisions:
//! `examples/rust_revisions/migrations/3c0000000003_fill_full_name.rs` reads
//! rows with sqlx and writes a value computed in Rust. `embed_migrations!`
//! compiles that file as a module of this binary, so its `db` subcommand
//! runs it where a SQL step would run, on SQLite, PostgreSQL or MySQL/MariaDB.
//!
//! ```text
//! cargo run --features cli --example rust_revisions -- db upgrade head --database-url sqlite:app.db
//! cargo run --features cli --example rust_revisions -- db downgrade base --database-url sqlite:app.db
//! ```
//!
//! The standalone `migrate` binary reads the same folder for `history`,
//! `check` and `current`, and stops an upgrade before the Rust revision,
//! saying to run this binary's `db upgrade`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("examples/rust_revisions/migrations");

/// An application that ships SQL and Rust migrations.
#[derive(Parser)]
#[command(name = "rust_revisions")]
struct App {
    #[command(subcommand)]
    command: AppCommand,
}

#[derive(Subcommand)]
enum AppCommand {
    /// Migrate the application's database: upgrade, downgrade, current, history, ...
    #[command(subcommand)]
    Db(migrate::cli::DbCommand),
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match App::parse().command {
        AppCommand::Db(command) => command.run(&MIGRATIONS).await,
    }
}
