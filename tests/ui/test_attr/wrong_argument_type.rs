static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/fixtures/linear");

#[migrate::test]
async fn takes_a_string(url: String) {
    let _ = url;
}

fn main() {
    let _ = MIGRATIONS.len();
}
