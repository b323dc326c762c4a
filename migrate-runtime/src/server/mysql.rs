//! MySQL and MariaDB: a URL opened as a pool, and a server's databases
//! made, listed, marked kept (a `migrate_kept` table in the database, with
//! the note) and dropped. There is no template database: a copy is the
//! caller's (the test support copies tables).

use super::database::{connect_error, reached_pool, url_error};
use super::{Database, Engine, Error, Listed, OpenOptions, Server, execute, rows, url};
use crate::dialect::Dialect;
use crate::driver::{Backend, BoxFuture, Driver};
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::{Connection, MySqlConnection};

pub(super) struct MySql;

/// The table that marks a database kept.
const KEPT_TABLE: &str = "migrate_kept";

impl Engine for MySql {
    fn open<'a>(&self, url: &'a str, options: &'a OpenOptions) -> BoxFuture<'a, Result<Database, Error>> {
        Box::pin(async move {
            let parsed = server_reading(url.parse().map_err(url_error(url))?);
            let as_the_server_reads =
                MySqlPoolOptions::new().after_connect(|conn, _| Box::pin(without_ignore_space(conn)));
            let pool = reached_pool(url, parsed, as_the_server_reads, options.timeout()).await?;
            Ok(Database::new(Dialect::Mysql, pool))
        })
    }

    fn connect<'a>(&self, url: &'a str) -> BoxFuture<'a, Result<Box<dyn Server>, Error>> {
        Box::pin(async move {
            let options = server_reading(url.parse().map_err(url_error(url))?);
            let mut conn = MySqlConnection::connect_with(&options)
                .await
                .map_err(connect_error(url))?;
            without_ignore_space(&mut conn).await.map_err(connect_error(url))?;
            Ok(Box::new(MySqlServer {
                conn,
                url: url.to_owned(),
                local: super::is_local_host(options.get_host()),
            }) as Box<dyn Server>)
        })
    }
}

/// `options` reading SQL as the server and its `mysql` client do: sqlx's
/// `PIPES_AS_CONCAT` left out of the session's `sql_mode`, so that `||` is
/// `OR` here as in an offline script piped to `mysql`, and a routine or
/// trigger made here keeps the server's reading.
fn server_reading(options: MySqlConnectOptions) -> MySqlConnectOptions {
    options.pipes_as_concat(false)
}

/// sqlx's handshake asks for `IGNORE_SPACE`, which makes every built-in
/// function's name a reserved word (`CREATE TABLE count (…)` fails): the
/// session's `sql_mode` without it, as the `mysql` client's is.
async fn without_ignore_space(conn: &mut MySqlConnection) -> Result<(), sqlx::Error> {
    let sql = "SET SESSION sql_mode = TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',IGNORE_SPACE,', ','))";
    sqlx::raw_sql(crate::driver::logged(sql)).execute(conn).await.map(drop)
}

/// A connection to a MySQL or MariaDB server.
struct MySqlServer {
    conn: MySqlConnection,
    url: String,
    local: bool,
}

impl MySqlServer {
    fn backend(&mut self) -> &mut dyn Backend {
        <sqlx::MySql as Driver>::backend(&mut self.conn)
    }
}

impl Server for MySqlServer {
    fn dialect(&self) -> Dialect {
        Dialect::Mysql
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
        "CREATE and DROP on new databases (`GRANT CREATE, DROP ON *.* TO …`)"
    }

    fn create_database<'a>(&'a mut self, name: &'a str, template: Option<&'a str>) -> BoxFuture<'a, Result<(), Error>> {
        let sql = format!("CREATE DATABASE {}", Dialect::Mysql.ident(name));
        Box::pin(async move {
            if template.is_some() {
                return Err(Error::Statement {
                    statement: sql,
                    source: sqlx::Error::Protocol("MySQL and MariaDB have no template databases".into()),
                });
            }
            execute(self.backend(), sql).await
        })
    }

    fn drop_database<'a>(&'a mut self, name: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        let sql = format!("DROP DATABASE IF EXISTS {}", Dialect::Mysql.ident(name));
        Box::pin(execute(self.backend(), sql))
    }

    fn list_databases<'a>(&'a mut self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<Listed>, Error>> {
        let sql = format!(
            "SELECT CAST(s.schema_name AS CHAR), CAST(EXISTS(SELECT 1 FROM information_schema.tables t \
             WHERE t.table_schema = s.schema_name AND t.table_name = '{KEPT_TABLE}') AS CHAR) \
             FROM information_schema.schemata s WHERE s.schema_name LIKE {}",
            Dialect::Mysql.literal(&format!("{}%", prefix.replace('_', "\\_")))
        );
        Box::pin(async move {
            Ok(rows(self.backend(), sql)
                .await?
                .into_iter()
                .map(|row| Listed {
                    name: row.first().cloned().flatten().unwrap_or_default(),
                    kept: row.get(1).cloned().flatten().is_some_and(|k| k != "0"),
                })
                .collect())
        })
    }

    fn keep_database<'a>(&'a mut self, name: &'a str, note: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        let sql = format!(
            "CREATE TABLE {0}.{KEPT_TABLE} (note VARCHAR(1000)); INSERT INTO {0}.{KEPT_TABLE} VALUES ({1})",
            Dialect::Mysql.ident(name),
            Dialect::Mysql.literal(note)
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
