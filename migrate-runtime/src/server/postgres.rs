//! PostgreSQL: a URL opened as a pool (with a `search_path` when asked),
//! and a server's databases made (also from a `TEMPLATE`), listed with
//! their comments, marked kept by a comment, and dropped `WITH (FORCE)`.

use super::database::{connect_error, reached_pool, url_error};
use super::{Database, Engine, Error, Listed, OpenOptions, Server, execute, rows, url};
use crate::dialect::Dialect;
use crate::driver::{Backend, BoxFuture, Driver};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::time::Duration;

pub(super) struct Postgres;

/// The comment of a database marked kept starts with this.
const KEPT: &str = "migrate: kept";

impl Engine for Postgres {
    fn open<'a>(&self, url: &'a str, options: &'a OpenOptions) -> BoxFuture<'a, Result<Database, Error>> {
        Box::pin(async move {
            let parsed: PgConnectOptions = url.parse().map_err(url_error(url))?;
            let search_path = options
                .search_path
                .as_deref()
                .map(|s| format!("SET search_path TO {}", Dialect::Postgres.ident(s)));
            let pool = PgPoolOptions::new().after_connect(move |conn, _| {
                let search_path = search_path.clone();
                Box::pin(async move {
                    if let Some(sql) = search_path {
                        sqlx::raw_sql(AssertSqlSafe(crate::driver::logged(sql)))
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            });
            let pool = reached_pool(url, parsed, pool, options.timeout()).await?;
            Ok(Database::new(Dialect::Postgres, pool))
        })
    }

    fn connect<'a>(&self, url: &'a str) -> BoxFuture<'a, Result<Box<dyn Server>, Error>> {
        Box::pin(async move {
            let options: PgConnectOptions = url.parse().map_err(url_error(url))?;
            let conn = PgConnection::connect_with(&options).await.map_err(connect_error(url))?;
            Ok(Box::new(PgServer {
                conn,
                url: url.to_owned(),
                local: super::is_local_host(options.get_host()),
            }) as Box<dyn Server>)
        })
    }
}

/// A connection to a PostgreSQL server.
struct PgServer {
    conn: PgConnection,
    url: String,
    local: bool,
}

impl PgServer {
    fn backend(&mut self) -> &mut dyn Backend {
        <sqlx::Postgres as Driver>::backend(&mut self.conn)
    }

    /// `CREATE DATABASE … TEMPLATE …`, tried again while someone looks at
    /// the template ("source database is being accessed by other users"): it goes away.
    async fn clone_template(&mut self, sql: String) -> Result<(), Error> {
        let mut attempt = 0;
        loop {
            match execute(self.backend(), sql.clone()).await {
                Err(Error::Statement {
                    source: sqlx::Error::Database(e),
                    ..
                }) if e.code().as_deref() == Some("55006") && attempt < 50 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => return other,
            }
        }
    }
}

impl Server for PgServer {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn url(&self) -> &str {
        &self.url
    }

    fn url_with_database(&self, name: &str) -> String {
        url::with_database(&self.url, name)
    }

    fn is_local(&self) -> bool {
        self.local
    }

    fn create_privilege(&self) -> &'static str {
        "CREATEDB (`ALTER ROLE … CREATEDB`)"
    }

    fn create_database<'a>(&'a mut self, name: &'a str, template: Option<&'a str>) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            match template {
                None => {
                    execute(
                        self.backend(),
                        format!("CREATE DATABASE {}", Dialect::Postgres.ident(name)),
                    )
                    .await
                }
                Some(t) => {
                    let sql = format!(
                        "CREATE DATABASE {} TEMPLATE {}",
                        Dialect::Postgres.ident(name),
                        Dialect::Postgres.ident(t)
                    );
                    self.clone_template(sql).await
                }
            }
        })
    }

    fn drop_database<'a>(&'a mut self, name: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", Dialect::Postgres.ident(name));
        Box::pin(execute(self.backend(), sql))
    }

    fn list_databases<'a>(&'a mut self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<Listed>, Error>> {
        let sql = format!(
            "SELECT datname::text, COALESCE(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE starts_with(datname, {})",
            Dialect::Postgres.literal(prefix)
        );
        Box::pin(async move {
            Ok(rows(self.backend(), sql)
                .await?
                .into_iter()
                .map(|row| Listed {
                    name: row.first().cloned().flatten().unwrap_or_default(),
                    kept: row.get(1).cloned().flatten().is_some_and(|c| c.starts_with(KEPT)),
                })
                .collect())
        })
    }

    fn keep_database<'a>(&'a mut self, name: &'a str, note: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        let sql = format!(
            "COMMENT ON DATABASE {} IS {}",
            Dialect::Postgres.ident(name),
            Dialect::Postgres.literal(&format!("{KEPT}, {note}"))
        );
        Box::pin(execute(self.backend(), sql))
    }

    fn admin(&mut self) -> Option<&mut dyn Backend> {
        Some(self.backend())
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let _ = self.conn.close().await;
        })
    }
}
