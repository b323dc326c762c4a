static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/graph/accidental_root");

fn main() {
    let _ = MIGRATIONS.len();
}
