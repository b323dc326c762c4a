//! `-- migrate:foreign-keys-off` reaches the embedded list, outside the checksum.
static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/pass/foreign_keys_off");

fn main() {
    let m = MIGRATIONS.get("a").unwrap();
    assert!(m.directives().foreign_keys_off);
    assert!(!m.no_transaction());
    let loaded = migrate::load("tests/ui/pass/foreign_keys_off").unwrap();
    assert_eq!(loaded.get("a").unwrap().directives(), m.directives());
    assert_eq!(loaded.get("a").unwrap().checksum(), m.checksum());
}
