//! count the rows of t
//!
//! revision: b
//! down_revision: a

pub async fn upgrade(conn: &mut migrate::Connection<'_>) -> migrate::RustResult {
    let (count,): (i64,) = migrate::sqlx::query_as("SELECT COUNT(*) FROM t")
        .fetch_one(conn.sqlite()?)
        .await?;
    let label: String = count;
    println!("{label}");
    Ok(())
}
