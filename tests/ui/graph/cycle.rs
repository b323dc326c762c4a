static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/graph/cycle");

fn main() {
    let _ = MIGRATIONS.len();
}
