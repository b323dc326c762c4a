static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/file/misspelt_directive");

fn main() {
    let _ = MIGRATIONS.len();
}
