static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/graph/duplicate_revision");

fn main() {
    let _ = MIGRATIONS.len();
}
