static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/file/missing_upgrade");

fn main() {
    let _ = MIGRATIONS.len();
}
