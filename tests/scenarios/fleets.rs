//! The library's fleet calls: many SQLite databases through
//! `Migrator::upgrade_each`, many PostgreSQL schemas through
//! `Migrator::upgrade_schemas`, a broken one among them.

use migrate::fleet::Outcome;

static LINEAR: migrate::Migrations = migrate::embed_migrations!("tests/fixtures/linear");

#[tokio::test]
async fn many_sqlite_databases_at_a_bounded_concurrency() {
    let mut dbs = Vec::new();
    for _ in 0..12 {
        dbs.push(crate::support::sqlite::fresh().await.unwrap());
    }
    // One database that is broken: a table of the first migration is already there.
    crate::support::sqlite::exec(&dbs[5].pool, "CREATE TABLE account (id INTEGER)").await;
    let report = LINEAR
        .migrator()
        .upgrade_each(
            dbs.iter().enumerate().map(|(i, d)| (format!("tenant {i}"), &d.pool)),
            "head",
            4,
        )
        .await
        .unwrap();
    assert_eq!(report.len(), 12);
    for (i, entry) in report.iter().enumerate() {
        assert_eq!(entry.database, format!("tenant {i}"), "in the order given");
        match (&entry.outcome, i) {
            (Outcome::Failed(migrate::Error::Migration { revision, .. }), 5) => assert_eq!(revision, "1000aa"),
            (Outcome::Done(r), _) if i != 5 => assert_eq!(r.steps.len(), 4),
            (other, _) => panic!("{i}: {other:?}"),
        }
    }
    assert_eq!(LINEAR.current(&dbs[11].pool).await.unwrap(), ["4000dd"]);
    assert!(
        LINEAR.current(&dbs[5].pool).await.unwrap().is_empty(),
        "rolled back, the others untouched"
    );
}

#[tokio::test]
async fn every_schema_matching_a_pattern_gets_its_own_history() {
    let Some(db) = crate::support::postgres::fresh().await else {
        return;
    };
    for i in 0..6 {
        crate::support::postgres::exec(&db.pool, &format!("CREATE SCHEMA t_{i}")).await;
    }
    crate::support::postgres::exec(&db.pool, "CREATE SCHEMA keep_out").await;
    let report = LINEAR
        .migrator()
        .upgrade_schemas(&db.pool, "t\\_%", "head", 3)
        .await
        .unwrap();
    let names: Vec<&str> = report.iter().map(|e| e.database.as_str()).collect();
    assert_eq!(names, ["t_0", "t_1", "t_2", "t_3", "t_4", "t_5"]);
    assert!(
        report
            .iter()
            .all(|e| matches!(&e.outcome, Outcome::Done(r) if r.steps.len() == 4)),
        "{report:?}"
    );
    let accounts: i64 = migrate::sqlx::query_scalar(
        "SELECT count(*) FROM pg_tables WHERE tablename = 'account' AND schemaname LIKE 't\\_%'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(accounts, 6);
    assert!(
        crate::support::postgres::tables(&db.pool).await.is_empty(),
        "nothing in the public schema"
    );
    // The pool's connections came back with their search_path as it was.
    let path: String = migrate::sqlx::query_scalar("SHOW search_path")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(path, "\"$user\", public");
}
