//! Two histories, each with its own base, joined into one head by a merge: a valid graph.
static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/pass/two_roots_joined");

fn main() {
    let order: Vec<&str> = MIGRATIONS.iter().map(|m| m.revision()).collect();
    // Alembic's order: the merge lists `a` first, so its line is applied last.
    assert_eq!(order, ["b", "a", "m"]);
    assert_eq!(MIGRATIONS.get("m").unwrap().down_revisions().collect::<Vec<_>>(), ["a", "b"]);
}
