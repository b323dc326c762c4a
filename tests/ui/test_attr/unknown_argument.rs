static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/fixtures/linear");

#[migrate::test(migration = MIGRATIONS)]
async fn misspelt(pool: migrate::sqlx::SqlitePool) {
    let _ = pool;
}

fn main() {
    let _ = MIGRATIONS.len();
}
