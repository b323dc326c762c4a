//! The three-phase deploy with a self-migrating binary: each release runs
//! `Phase::Expand` at start-up (never a backfill or a contract revision),
//! so an old and a new binary can start side by side; the backfill runs
//! from a job while the new release serves; the contract runs last, once
//! no binary of the old release is left.
//!
//! ```text
//! three_phase --release 1 serve --database-url postgres://…   # release 1, serving
//! three_phase --release 2 serve --database-url postgres://…   # release 2 beside it: its expand at start-up
//! # every release 1 binary stopped:
//! three_phase --release 2 db upgrade --phase backfill --database-url postgres://…   # the job
//! three_phase --release 2 db upgrade head --database-url postgres://…               # the contract
//! ```
//!
//! A real application embeds one folder, its own release's; this binary
//! embeds both releases' folders (`examples/three_phase/release1`, and
//! `release2` with its expand, Rust backfill and contract revisions) so
//! that one build plays both binaries of the rollout.

use clap::{Parser, Subcommand};
use migrate::Phase;
use migrate::sqlx::{MySqlPool, PgPool};
use std::process::ExitCode;
use std::time::{Duration, Instant};

static RELEASE_1: migrate::Migrations = migrate::embed_migrations!("examples/three_phase/release1");
static RELEASE_2: migrate::Migrations = migrate::embed_migrations!("examples/three_phase/release2");

/// One release of an application that migrates itself at start-up.
#[derive(Parser)]
#[command(name = "three_phase")]
struct App {
    /// The release this binary plays: 1 or 2.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
    release: u8,
    #[command(subcommand)]
    command: AppCommand,
}

#[derive(Subcommand)]
enum AppCommand {
    /// Migrate (phase expand), then serve: write and read accounts for a while.
    Serve {
        /// PostgreSQL or MySQL/MariaDB.
        #[arg(long)]
        database_url: String,
        /// How long to serve.
        #[arg(long, default_value = "5")]
        seconds: u64,
        /// The first account id this binary writes.
        #[arg(long, default_value = "1")]
        first_id: i64,
    },
    /// Migrate the database: upgrade, current, history, ... (the job's commands).
    #[command(subcommand)]
    Db(Box<migrate::cli::DbCommand>),
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let app = App::parse();
    let migrations = if app.release == 1 { &RELEASE_1 } else { &RELEASE_2 };
    match app.command {
        AppCommand::Db(command) => command.run(migrations).await,
        AppCommand::Serve {
            database_url,
            seconds,
            first_id,
        } => match serve(app.release, migrations, &database_url, seconds, first_id).await {
            Ok(requests) => {
                println!("release {} served {requests} requests", app.release);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: release {}: {e}", app.release);
                ExitCode::FAILURE
            }
        },
    }
}

/// Writes one account and reads it back, as release 1 (name) or release 2
/// (name and display name, read back by its display name), on one database.
macro_rules! request {
    ($pool:expr, $release:expr, $id:expr, [$insert1:literal, $read1:literal], [$insert2:literal, $read2:literal]) => {{
        let name = format!("user {}", $id);
        let shown = format!("User {}", $id);
        if $release == 1 {
            migrate::sqlx::query($insert1)
                .bind($id)
                .bind(&name)
                .execute($pool)
                .await?;
            let (read,): (String,) = migrate::sqlx::query_as($read1).bind($id).fetch_one($pool).await?;
            (read, name)
        } else {
            migrate::sqlx::query($insert2)
                .bind($id)
                .bind(&name)
                .bind(&shown)
                .execute($pool)
                .await?;
            let (read,): (String,) = migrate::sqlx::query_as($read2).bind($id).fetch_one($pool).await?;
            (read, shown)
        }
    }};
}

/// Start-up on one database's pool: the release's expand revisions (several
/// binaries starting at once take turns on the migration lock); then
/// requests (the statements of [`request!`]) until `$until`, from id `$id` up.
macro_rules! serve_on {
    ($pool:expr, $migrations:expr, $release:expr, $id:expr, $until:expr, $release1:tt, $release2:tt) => {{
        $migrations
            .migrator()
            .phase(Phase::Expand)
            .upgrade($pool, "head")
            .await?;
        while Instant::now() < $until {
            let (read, wrote) = request!($pool, $release, $id, $release1, $release2);
            check(read, wrote)?;
            $id += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }};
}

/// Start-up: the release's expand revisions; then requests until `seconds`
/// have passed. How many it served.
async fn serve(
    release: u8,
    migrations: &migrate::Migrations,
    url: &str,
    seconds: u64,
    first_id: i64,
) -> Result<u64, Failure> {
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut id = first_id;
    if url.starts_with("postgres") {
        let pool = PgPool::connect(url).await?;
        serve_on!(
            &pool,
            migrations,
            release,
            id,
            until,
            [
                "INSERT INTO account (id, name) VALUES ($1, $2)",
                "SELECT name FROM account WHERE id = $1"
            ],
            [
                "INSERT INTO account (id, name, display_name) VALUES ($1, $2, $3)",
                "SELECT display_name FROM account WHERE id = $1"
            ]
        );
    } else {
        let pool = MySqlPool::connect(url).await?;
        serve_on!(
            &pool,
            migrations,
            release,
            id,
            until,
            [
                "INSERT INTO account (id, name) VALUES (?, ?)",
                "SELECT name FROM account WHERE id = ?"
            ],
            [
                "INSERT INTO account (id, name, display_name) VALUES (?, ?, ?)",
                "SELECT display_name FROM account WHERE id = ?"
            ]
        );
    }
    Ok(u64::try_from(id - first_id).unwrap_or(0))
}

/// A request read back what it wrote.
fn check(read: String, wrote: String) -> Result<(), Failure> {
    if read == wrote {
        Ok(())
    } else {
        Err(format!("wrote `{wrote}`, read `{read}`").into())
    }
}
