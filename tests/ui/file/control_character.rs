static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/file/control_character");

fn main() {
    let _ = MIGRATIONS.len();
}
