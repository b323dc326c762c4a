static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/fixtures/linear");

#[migrate::test]
async fn nothing_to_test_on() {}

fn main() {
    let _ = MIGRATIONS.len();
}
