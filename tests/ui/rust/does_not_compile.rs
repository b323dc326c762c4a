static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/rust/does_not_compile");

fn main() {
    let _ = MIGRATIONS.len();
}
