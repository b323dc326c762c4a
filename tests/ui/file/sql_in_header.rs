static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/file/sql_in_header");

fn main() {
    let _ = MIGRATIONS.len();
}
