//! A binary that migrates its own SQLite database at start-up, the way a
//! shipped application would, then prints where the database stands.
//!
//! ```text
//! cargo run --example self_migrate              # ./app.db
//! cargo run --example self_migrate -- other.db
//! ```

use std::process::ExitCode;

static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("migrations");

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let path = std::env::args().nth(1).unwrap_or_else(|| "app.db".to_owned());
    match run(&path).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(path: &str) -> Result<(), migrate::Error> {
    let options = migrate::sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let pool = migrate::sqlx::SqlitePool::connect_with(options)
        .await
        .map_err(|source| migrate::Error::Database {
            context: format!("opening {path}"),
            source,
        })?;

    let report = MIGRATIONS.upgrade(&pool, "head").await?;
    if report.is_empty() {
        println!("{path}: already up to date");
    }
    for step in &report.steps {
        println!("applied {} ({}) in {:?}", step.revision, step.message, step.duration);
    }
    println!("current head(s): {}", MIGRATIONS.current(&pool).await?.join(", "));
    for entry in MIGRATIONS.history(&pool).await? {
        let at = entry.applied.as_ref().map_or("pending", |a| a.applied_at.as_str());
        println!("  {:<14} {:<22} {}", entry.revision, at, entry.message);
    }
    Ok(())
}
