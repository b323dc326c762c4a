static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/file/bad_header");

fn main() {
    let _ = MIGRATIONS.len();
}
