// A folder mixing SQL and Rust revisions embeds into a `static`: the Rust
// file is a module of the crate, its functions listed beside the migrations.
static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/pass/rust_revision");

fn main() {
    assert_eq!(MIGRATIONS.len(), 2);
    let b = MIGRATIONS.get("b").unwrap();
    assert!(b.is_rust());
    assert_eq!(b.upgrade_sql(), "");
    assert!(b.downgrade_sql().is_some());
}
