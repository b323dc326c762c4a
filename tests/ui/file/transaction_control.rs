static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/file/transaction_control");

fn main() {
    let _ = MIGRATIONS.len();
}
