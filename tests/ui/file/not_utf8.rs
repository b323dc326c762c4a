static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/file/not_utf8");

fn main() {
    let _ = MIGRATIONS.len();
}
