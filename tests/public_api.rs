//! The public API exactly as outside code writes it (the names in the
//! foundation issue are a contract).

static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("migrations");

async fn session(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let pool = migrate::sqlx::SqlitePool::connect(url).await?; // the facade re-exports sqlx
    let report = MIGRATIONS.upgrade(&pool, "head").await?; // Result<_, migrate::Error>
    assert_eq!(report.steps.len(), 4);
    MIGRATIONS.downgrade(&pool, "-1").await?;
    let heads: Vec<String> = MIGRATIONS.current(&pool).await?; // applied head revision ids
    assert_eq!(
        heads,
        ["27c6a30d7c24", "ae1027a6acf0"],
        "one step down from the merge leaves both branches applied"
    );
    let configured = MIGRATIONS.migrator().history_table("app_history");
    assert!(
        configured.current(&pool).await?.is_empty(),
        "another history table is another history"
    );
    Ok(())
}

#[tokio::test]
async fn the_documented_calls_work_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}?mode=rwc", dir.path().join("app.db").display());
    session(&url).await.unwrap();
}

#[tokio::test]
async fn errors_are_std_errors_with_a_sentence() {
    fn assert_error<E: std::error::Error + Send + Sync + 'static>(_: &E) {}
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}?mode=rwc", dir.path().join("app.db").display());
    let pool = migrate::sqlx::SqlitePool::connect(&url).await.unwrap();
    let e: migrate::Error = MIGRATIONS.upgrade(&pool, "no_such_revision").await.unwrap_err();
    assert_error(&e);
    assert_eq!(
        e.to_string(),
        "no revision matches `no_such_revision`; the `history` command lists the revisions"
    );
}

#[tokio::test]
async fn a_single_connection_works_like_a_pool() {
    use migrate::sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}?mode=rwc", dir.path().join("app.db").display());
    let mut conn = migrate::sqlx::SqliteConnection::connect(&url).await.unwrap();
    assert_eq!(MIGRATIONS.upgrade(&mut conn, "head").await.unwrap().steps.len(), 4);
    assert_eq!(MIGRATIONS.current(&mut conn).await.unwrap(), ["3cf1ce5e1a9b"]);
    // The connection is usable afterwards: the run left no transaction open.
    migrate::sqlx::raw_sql("BEGIN IMMEDIATE; ROLLBACK")
        .execute(&mut conn)
        .await
        .unwrap();
}
