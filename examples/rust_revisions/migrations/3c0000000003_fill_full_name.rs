//! fill person.full_name from the first and last names
//!
//! revision: 3c0000000003
//! down_revision: 2b0000000002
//! migrate:lock-timeout: 5s

use migrate::Connection;
use migrate::sqlx;

/// One person's full name, as the application writes it.
fn full_name(first: &str, last: &str) -> Result<String, String> {
    if last.trim().is_empty() {
        return Err(format!("{first} has no last name"));
    }
    Ok(format!("{first} {}", last.to_uppercase()))
}

pub async fn upgrade(conn: &mut Connection<'_>) -> migrate::RustResult {
    // One folder, three databases: each arm runs sqlx on its own connection.
    // An application on one database writes `conn.postgres()?` and no match.
    match conn {
        Connection::Sqlite(c) => {
            let rows: Vec<(i64, String, String)> =
                sqlx::query_as("SELECT id, first_name, last_name FROM person").fetch_all(&mut **c).await?;
            for (id, first, last) in rows {
                sqlx::query("UPDATE person SET full_name = ? WHERE id = ?")
                    .bind(full_name(&first, &last)?)
                    .bind(id)
                    .execute(&mut **c)
                    .await?;
            }
        }
        Connection::Postgres(c) => {
            let rows: Vec<(i64, String, String)> =
                sqlx::query_as("SELECT id, first_name, last_name FROM person").fetch_all(&mut **c).await?;
            for (id, first, last) in rows {
                sqlx::query("UPDATE person SET full_name = $1 WHERE id = $2")
                    .bind(full_name(&first, &last)?)
                    .bind(id)
                    .execute(&mut **c)
                    .await?;
            }
        }
        Connection::MySql(c) => {
            let rows: Vec<(i64, String, String)> =
                sqlx::query_as("SELECT id, first_name, last_name FROM person").fetch_all(&mut **c).await?;
            for (id, first, last) in rows {
                sqlx::query("UPDATE person SET full_name = ? WHERE id = ?")
                    .bind(full_name(&first, &last)?)
                    .bind(id)
                    .execute(&mut **c)
                    .await?;
            }
        }
        other => return Err(format!("no backfill written for {}", other.database()).into()),
    }
    Ok(())
}

pub async fn downgrade(conn: &mut Connection<'_>) -> migrate::RustResult {
    let sql = "UPDATE person SET full_name = NULL";
    match conn {
        Connection::Sqlite(c) => sqlx::raw_sql(sql).execute(&mut **c).await.map(drop)?,
        Connection::Postgres(c) => sqlx::raw_sql(sql).execute(&mut **c).await.map(drop)?,
        Connection::MySql(c) => sqlx::raw_sql(sql).execute(&mut **c).await.map(drop)?,
        other => return Err(format!("no downgrade written for {}", other.database()).into()),
    }
    Ok(())
}
