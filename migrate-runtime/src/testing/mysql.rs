//! MySQL and MariaDB: no `TEMPLATE`, so the template database is migrated
//! under `GET_LOCK` (an up-to-date one costs the one digest statement), and
//! each test's database gets the template's tables from `SHOW CREATE TABLE`
//! and their rows by `INSERT … SELECT`. A template with views, triggers,
//! routines or events, which that copy would lose, makes each test migrate
//! its own database instead.

use super::arg::{self, Closer, TestArg};
use super::{Engine, Error, Fresh, exec, rows};
use crate::Migrations;
use crate::driver::{BoxFuture, Driver};
use crate::server::{Server, TEST, Throwaway};
use sqlx::mysql::MySqlPoolOptions;
use sqlx::{Connection, MySqlConnection};

const MY: Engine = Engine::Mysql;

/// How each list's template is copied, read once per process.
static PLANS: tokio::sync::Mutex<Vec<(String, Recipe)>> = tokio::sync::Mutex::const_new(Vec::new());

/// How a test's database is made from the template.
#[derive(Clone)]
enum Recipe {
    /// The template's tables: name, `SHOW CREATE TABLE`, the columns to copy.
    Tables(Vec<(String, String, String)>),
    /// The template has what a table copy would lose: migrate each database.
    Migrate(String),
}

impl arg::sealed::Sealed for MySqlConnection {}

impl TestArg for MySqlConnection {
    const ENGINE: Engine = MY;

    fn open(fresh: &Fresh) -> BoxFuture<'_, Result<(Self, Closer), Error>> {
        arg::connection(fresh)
    }
}

/// Column `i` of a row, empty when NULL.
fn text(row: &[Option<String>], i: usize) -> String {
    row.get(i).cloned().flatten().unwrap_or_default()
}

pub(super) async fn fresh(migrations: &Migrations) -> Result<Throwaway, Error> {
    let url = super::server_url(MY);
    let mut server = super::connect(MY, &url).await?;
    let template = super::template_name(migrations);
    let made = async {
        let recipe = plan(&mut *server, &template, migrations).await?;
        let db = TEST.create(&mut *server, None).await.map_err(|e| Error::of(MY, e))?;
        Ok((recipe, db))
    }
    .await;
    server.close().await;
    let (recipe, db) = made?;
    let filled = match recipe {
        Recipe::Tables(tables) => copy(&db, &template, &tables).await,
        Recipe::Migrate(why) => {
            tracing::debug!(why, "migrating the test database itself");
            let pool = MySqlPoolOptions::new().max_connections(2).connect(db.url()).await;
            super::migrate(pool, db.name(), migrations).await
        }
    };
    if let Err(e) = filled {
        let _ = db.finish(None).await;
        return Err(e);
    }
    Ok(db)
}

/// Migrates the template under `GET_LOCK` (one statement when it is up to
/// date) and reads how to copy it, once per process.
async fn plan(server: &mut dyn Server, template: &str, migrations: &Migrations) -> Result<Recipe, Error> {
    let mut plans = PLANS.lock().await;
    if let Some((_, plan)) = plans.iter().find(|(t, _)| t == template) {
        return Ok(plan.clone());
    }
    let lock = format!("migrate:test-template:{template}");
    let got = rows(MY, server, format!("SELECT CAST(GET_LOCK('{lock}', 600) AS CHAR)")).await?;
    if got.first().map(|row| text(row, 0)).as_deref() != Some("1") {
        return Err(Error::Sql {
            engine: MY,
            what: format!("GET_LOCK('{lock}', 600)"),
            source: sqlx::Error::Protocol("the lock was not granted".into()),
        });
    }
    let planned = build_and_read(server, template, migrations).await;
    let _ = exec(MY, server, format!("DO RELEASE_LOCK('{lock}')")).await;
    let plan = planned?;
    plans.push((template.to_owned(), plan.clone()));
    Ok(plan)
}

async fn build_and_read(server: &mut dyn Server, template: &str, migrations: &Migrations) -> Result<Recipe, Error> {
    exec(MY, server, format!("CREATE DATABASE IF NOT EXISTS `{template}`")).await?;
    let url = server.url_with_database(template);
    let pool = || MySqlPoolOptions::new().max_connections(2).connect(&url);
    if let Err(first) = super::migrate(pool().await, template, migrations).await {
        // A builder killed half-way leaves a history the migrator refuses: start again.
        tracing::info!(error = %first, template, "rebuilding the MySQL test template");
        let of = |e| Error::of(MY, e);
        server.drop_database(template).await.map_err(of)?;
        server.create_database(template, None).await.map_err(of)?;
        super::migrate(pool().await, template, migrations).await?;
    }
    let others = rows(
        MY,
        server,
        format!(
            "SELECT 'views', CAST(COUNT(*) AS CHAR) FROM information_schema.views WHERE table_schema = '{template}' \
             UNION ALL SELECT 'triggers', CAST(COUNT(*) AS CHAR) FROM information_schema.triggers WHERE trigger_schema = '{template}' \
             UNION ALL SELECT 'routines', CAST(COUNT(*) AS CHAR) FROM information_schema.routines WHERE routine_schema = '{template}' \
             UNION ALL SELECT 'events', CAST(COUNT(*) AS CHAR) FROM information_schema.events WHERE event_schema = '{template}'"
        ),
    )
    .await?;
    if let Some(row) = others.iter().find(|row| text(row, 1) != "0") {
        return Ok(Recipe::Migrate(format!("the template has {}", text(row, 0))));
    }
    Ok(Recipe::Tables(tables(server, template).await?))
}

/// The template's tables: each one's name, `SHOW CREATE TABLE`, and the columns to copy.
async fn tables(server: &mut dyn Server, template: &str) -> Result<Vec<(String, String, String)>, Error> {
    let names = rows(
        MY,
        server,
        format!(
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = '{template}' AND table_type = 'BASE TABLE' ORDER BY table_name"
        ),
    )
    .await?;
    let mut copied = Vec::new();
    for table in names.iter().map(|row| text(row, 0)) {
        let created = rows(MY, server, format!("SHOW CREATE TABLE `{template}`.`{table}`")).await?;
        let columns = rows(
            MY,
            server,
            format!(
                "SELECT CAST(column_name AS CHAR) FROM information_schema.columns WHERE table_schema = '{template}' AND table_name = '{table}' \
                 AND extra NOT LIKE '%GENERATED%' AND extra NOT LIKE '%PERSISTENT%' ORDER BY ordinal_position"
            ),
        )
        .await?;
        let columns = columns
            .iter()
            .map(|row| format!("`{}`", text(row, 0).replace('`', "``")))
            .collect::<Vec<_>>()
            .join(", ");
        if let Some(row) = created.first() {
            copied.push((table, text(row, 1), columns));
        }
    }
    Ok(copied)
}

/// The template's tables and rows into the test's database, foreign keys checked off while copying.
async fn copy(db: &Throwaway, template: &str, tables: &[(String, String, String)]) -> Result<(), Error> {
    let mut conn = MySqlConnection::connect(db.url())
        .await
        .map_err(Error::sql(MY, format!("connecting to {}", db.name())))?;
    let backend = <sqlx::MySql as Driver>::backend(&mut conn);
    let mut statements = vec![
        "SET SESSION foreign_key_checks = 0, SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')"
            .to_owned(),
    ];
    statements.extend(tables.iter().map(|(_, ddl, _)| ddl.clone()));
    statements.extend(
        tables
            .iter()
            .filter(|(_, _, columns)| !columns.is_empty())
            .map(|(table, _, columns)| {
                format!("INSERT INTO `{table}` ({columns}) SELECT {columns} FROM `{template}`.`{table}`")
            }),
    );
    for sql in statements {
        backend
            .execute(sql.clone())
            .await
            .map_err(Error::sql(MY, format!("`{sql}`")))?;
    }
    let _ = conn.close().await;
    Ok(())
}
