static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/file/cannot_run");

fn main() {
    let _ = MIGRATIONS.len();
}
