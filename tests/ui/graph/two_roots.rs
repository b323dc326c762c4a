static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/graph/two_roots");

fn main() {
    let _ = MIGRATIONS.len();
}
