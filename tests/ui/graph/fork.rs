static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/graph/fork");

fn main() {
    let _ = MIGRATIONS.len();
}
