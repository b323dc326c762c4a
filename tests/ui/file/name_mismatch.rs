static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/file/name_mismatch");

fn main() {
    let _ = MIGRATIONS.len();
}
