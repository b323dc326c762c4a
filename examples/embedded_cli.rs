//! A self-migrating application: the `migrations/` folder is built into the
//! binary, and its `db` subcommand is `migrate`'s command line over that
//! list, so the server needs neither the folder nor the `migrate` tool.
//!
//! ```text
//! cargo run --features cli --example embedded_cli -- db upgrade head --database-url sqlite:app.db
//! cargo run --features cli --example embedded_cli -- db current --database-url sqlite:app.db
//! cargo run --features cli --example embedded_cli -- db history --database-url sqlite:app.db
//! cargo run --features cli --example embedded_cli -- db downgrade -1 --database-url sqlite:app.db
//! cargo run --features cli --example embedded_cli -- db upgrade --sql --dialect postgres
//! cargo run --features cli --example embedded_cli -- serve
//! ```
//!
//! The `db` commands read `migrate.toml` and `DATABASE_URL` as `migrate`
//! does, print the same lines, and exit 0 (done), 1 (error) or 2 (usage).

use clap::{Parser, Subcommand};
use std::process::ExitCode;

static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("migrations");

/// An application that ships its own migrations.
#[derive(Parser)]
#[command(name = "embedded_cli")]
struct App {
    #[command(subcommand)]
    command: AppCommand,
}

#[derive(Subcommand)]
enum AppCommand {
    /// Do the application's work (here: say how many migrations it carries)
    Serve,
    /// Migrate the application's database: upgrade, downgrade, current, history, ...
    #[command(subcommand)]
    Db(migrate::cli::DbCommand),
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match App::parse().command {
        AppCommand::Db(command) => command.run(&MIGRATIONS).await,
        AppCommand::Serve => {
            println!("serving with {} embedded migrations", MIGRATIONS.len());
            ExitCode::SUCCESS
        }
    }
}
