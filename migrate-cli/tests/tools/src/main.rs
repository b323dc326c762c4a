//! `migrate-test-tools TOOL DIR DATABASE`: refinery's or diesel's own
//! migrator applies the folder `DIR` to the SQLite file `DATABASE`, as an
//! application on that tool would (refinery's `Runner` over
//! `load_sql_migrations`, diesel_migrations' `FileBasedMigrations` and
//! `run_pending_migrations`), and prints how many migrations ran. Used by
//! `tests/cli/import_tools.rs` only.

use diesel::Connection;
use diesel_migrations::{FileBasedMigrations, MigrationHarness};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1..).unwrap_or_default() {
        [tool, dir, db] if tool == "refinery" => refinery(dir, db),
        [tool, dir, db] if tool == "diesel" => diesel(dir, db),
        _ => Err("usage: migrate-test-tools refinery|diesel DIR DATABASE".to_owned()),
    };
    match result {
        Ok(ran) => println!("{ran}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}

fn refinery(dir: &str, db: &str) -> Result<usize, String> {
    let migrations = refinery::load_sql_migrations(dir).map_err(|e| e.to_string())?;
    let mut conn = rusqlite::Connection::open(db).map_err(|e| e.to_string())?;
    let report = refinery::Runner::new(&migrations)
        .run(&mut conn)
        .map_err(|e| e.to_string())?;
    Ok(report.applied_migrations().len())
}

fn diesel(dir: &str, db: &str) -> Result<usize, String> {
    let mut conn = diesel::SqliteConnection::establish(db).map_err(|e| e.to_string())?;
    let migrations = FileBasedMigrations::from_path(dir).map_err(|e| e.to_string())?;
    let ran = conn.run_pending_migrations(migrations).map_err(|e| e.to_string())?;
    Ok(ran.len())
}
