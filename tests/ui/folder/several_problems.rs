static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/folder/several_problems");

fn main() {
    let _ = MIGRATIONS.len();
}
