static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/fixtures/linear");

#[migrate::test]
fn not_async(pool: migrate::sqlx::SqlitePool) {
    let _ = pool;
}

fn main() {
    let _ = MIGRATIONS.len();
}
