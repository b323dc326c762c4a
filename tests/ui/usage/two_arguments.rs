static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("migrations", "more");

fn main() {
    let _ = MIGRATIONS.len();
}
