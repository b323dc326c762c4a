static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/graph/self_loop");

fn main() {
    let _ = MIGRATIONS.len();
}
