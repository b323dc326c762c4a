//! PostgreSQL: a template database per digest of the list, built once per
//! server under an advisory lock and marked `IS_TEMPLATE` when complete;
//! each test's database is cloned from it with `CREATE DATABASE … TEMPLATE`.

use super::arg::{self, Closer, TestArg};
use super::{Engine, Error, Fresh, exec, rows};
use crate::Migrations;
use crate::driver::BoxFuture;
use crate::server::{Server, TEST, Throwaway};
use sqlx::postgres::PgPoolOptions;

const PG: Engine = Engine::Postgres;

impl arg::sealed::Sealed for sqlx::PgConnection {}

impl TestArg for sqlx::PgConnection {
    const ENGINE: Engine = PG;

    fn open(fresh: &Fresh) -> BoxFuture<'_, Result<(Self, Closer), Error>> {
        arg::connection(fresh)
    }
}

pub(super) async fn fresh(migrations: &Migrations) -> Result<Throwaway, Error> {
    let url = super::server_url(PG);
    let mut server = super::connect(PG, &url).await?;
    let template = super::template_name(migrations);
    let made = async {
        build_locked(&mut *server, &template, migrations).await?;
        TEST.create(&mut *server, Some(&template))
            .await
            .map_err(|e| Error::of(PG, e))
    }
    .await;
    server.close().await;
    made
}

/// Builds the template under an advisory lock, released before any clone:
/// the lock only guards building.
async fn build_locked(server: &mut dyn Server, template: &str, migrations: &Migrations) -> Result<(), Error> {
    let lock = format!("hashtextextended('migrate:test-template:{template}', 0)");
    exec(PG, server, format!("SELECT pg_advisory_lock({lock})")).await?;
    let built = build(server, template, migrations).await;
    let unlocked = exec(PG, server, format!("SELECT pg_advisory_unlock({lock})")).await;
    built?;
    unlocked
}

/// Builds the template unless a complete one (`datistemplate`) exists.
async fn build(server: &mut dyn Server, template: &str, migrations: &Migrations) -> Result<(), Error> {
    let state = rows(
        PG,
        server,
        format!("SELECT datistemplate::text FROM pg_database WHERE datname = '{template}'"),
    )
    .await?;
    let of = |e| Error::of(PG, e);
    match state.first().and_then(|row| row.first().cloned().flatten()).as_deref() {
        Some("true") => return Ok(()),
        // A builder that was killed half-way.
        Some(_) => server.drop_database(template).await.map_err(of)?,
        None => {}
    }
    tracing::info!(template, "building the PostgreSQL test template");
    server.create_database(template, None).await.map_err(of)?;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&server.url_with_database(template))
        .await;
    super::migrate(pool, template, migrations).await?;
    exec(PG, server, format!("ALTER DATABASE {template} WITH IS_TEMPLATE true")).await
}
