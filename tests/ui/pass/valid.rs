//! A valid folder with a merge builds, in application order, ignoring non-SQL files.
static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/pass/valid");

fn main() {
    let order: Vec<&str> = MIGRATIONS.iter().map(|m| m.revision()).collect();
    // Alembic's order: the merge lists `b` first, so its line is applied last.
    assert_eq!(order, ["a", "c", "b", "m"]);
    let m = MIGRATIONS.get("m").unwrap();
    assert_eq!(m.down_revisions().collect::<Vec<_>>(), ["b", "c"]);
    assert_eq!(m.upgrade_sql(), "");
    assert_eq!(m.file(), "tests/ui/pass/valid/m_m.sql");
}
