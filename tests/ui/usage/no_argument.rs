static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!();

fn main() {
    let _ = MIGRATIONS.len();
}
