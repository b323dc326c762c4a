static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/fixtures/linear");

#[migrate::test]
async fn borrowed(pool: &migrate::sqlx::PgPool) {
    let _ = pool;
}

fn main() {
    let _ = MIGRATIONS.len();
}
