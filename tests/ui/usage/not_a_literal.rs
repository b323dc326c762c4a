const DIR: &str = "migrations";
static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!(DIR);

fn main() {
    let _ = MIGRATIONS.len();
}
