//! SQLite: the list migrated once into a template file per digest
//! (`$TMPDIR/migrate-test/migrate_tpl_<digest>.db`), which each test, in
//! any process, copies into a file of its own.

use super::arg::{self, Closer, TestArg};
use super::{Engine, Error, Fresh};
use crate::Migrations;
use crate::driver::BoxFuture;
use crate::server::{self, TEST, Throwaway};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The migrated file of each list this process has made, by digest.
static TEMPLATES: tokio::sync::Mutex<Vec<(String, PathBuf)>> = tokio::sync::Mutex::const_new(Vec::new());

/// Whether this process has swept the templates of older migrations.
static TEMPLATES_SWEPT: AtomicBool = AtomicBool::new(false);

impl arg::sealed::Sealed for sqlx::SqliteConnection {}

impl TestArg for sqlx::SqliteConnection {
    const ENGINE: Engine = Engine::Sqlite;

    fn open(fresh: &Fresh) -> BoxFuture<'_, Result<(Self, Closer), Error>> {
        arg::connection(fresh)
    }
}

fn folder() -> PathBuf {
    std::env::temp_dir().join("migrate-test")
}

pub(super) async fn fresh(migrations: &Migrations) -> Result<Throwaway, Error> {
    let dir = folder();
    std::fs::create_dir_all(&dir).map_err(|source| Error::File {
        what: "creating the folder",
        path: dir.clone(),
        source,
    })?;
    if !TEMPLATES_SWEPT.swap(true, Ordering::Relaxed) {
        sweep_templates(&dir);
    }
    let of = |e| Error::of(Engine::Sqlite, e);
    let mut files = server::connect(&format!("sqlite://{}", dir.display()))
        .await
        .map_err(of)?;
    let template = template(&dir, migrations).await?;
    TEST.create(&mut *files, Some(&template.display().to_string()))
        .await
        .map_err(of)
}

/// The migrated file of this list, `<dir>/migrate_tpl_<digest>.db`: made
/// by the first process that needs it (migrated under a name of its own,
/// then renamed into place, so a file under the template's name is always
/// complete) and reused by every later test and process (nextest runs a
/// process per test) until the migrations change.
async fn template(dir: &Path, migrations: &Migrations) -> Result<PathBuf, Error> {
    let digest = migrations.applied_digest();
    let mut templates = TEMPLATES.lock().await;
    if let Some((_, path)) = templates.iter().find(|(d, _)| d == digest) {
        return Ok(path.clone());
    }
    let done = dir.join(format!("{}.db", super::template_name(migrations)));
    if let Ok(file) = std::fs::File::options().append(true).open(&done) {
        // Used now: the sweep leaves it alone for another day.
        let _ = file.set_modified(std::time::SystemTime::now());
        templates.push((digest.to_owned(), done.clone()));
        return Ok(done);
    }
    let path = dir.join(format!("{}_tpl.db", TEST.unique_name()));
    tracing::debug!(path = %path.display(), "migrating the SQLite template");
    let options = SqliteConnectOptions::new().filename(&path).create_if_missing(true);
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await;
    if let Err(e) = super::migrate(pool, &path.display().to_string(), migrations).await {
        server::remove_files(&path);
        return Err(e);
    }
    // Another process may have renamed its own into place meanwhile: either is complete.
    std::fs::rename(&path, &done).map_err(|source| {
        server::remove_files(&path);
        Error::File {
            what: "renaming the migrated template to",
            path: done.clone(),
            source,
        }
    })?;
    templates.push((digest.to_owned(), done.clone()));
    Ok(done)
}

/// Removes the templates no test has used for a day (those of older migrations).
fn sweep_templates(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let unused = || {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > super::KEEP_FOR * 24)
        };
        if name.starts_with("migrate_tpl_") && name.ends_with(".db") && unused() {
            server::remove_files(&entry.path());
        }
    }
}
