//! count the rows of t
//!
//! revision: b
//! down_revision: a
//! migrate:lock-timeout: 5s

pub async fn upgrade(conn: &mut migrate::Connection<'_>) -> migrate::RustResult {
    let (count,): (i64,) = migrate::sqlx::query_as("SELECT COUNT(*) FROM t")
        .fetch_one(conn.sqlite()?)
        .await?;
    migrate::sqlx::query("UPDATE t SET n = ?")
        .bind(count)
        .execute(conn.sqlite()?)
        .await?;
    Ok(())
}

pub async fn downgrade(conn: &mut migrate::Connection<'_>) -> migrate::RustResult {
    let _ = conn;
    Ok(())
}
