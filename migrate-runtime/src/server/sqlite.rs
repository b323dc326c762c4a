//! SQLite: a URL opened as one connection; its "server" the database files
//! of a folder (`sqlite://<folder>`), or memory (`sqlite::memory:`), where
//! each database is a new empty one that vanishes with its connection.

use super::database::{connect_error, url_error};
use super::{Database, Engine, Error, Listed, OpenOptions, Server};
use crate::dialect::Dialect;
use crate::driver::{Backend, BoxFuture, Handle};
use crate::migrator::Connect;
use sqlx::ConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use std::path::{Path, PathBuf};

pub(super) struct Sqlite;

impl Engine for Sqlite {
    fn open<'a>(&self, url: &'a str, options: &'a OpenOptions) -> BoxFuture<'a, Result<Database, Error>> {
        Box::pin(async move {
            let mut parsed: SqliteConnectOptions = url.parse().map_err(url_error(url))?;
            if options.create && !url.contains("mode=") {
                parsed = parsed.create_if_missing(true);
            }
            let conn = parsed.connect().await.map_err(connect_error(url))?;
            Ok(Database::new(Dialect::Sqlite, conn))
        })
    }

    fn connect<'a>(&self, url: &'a str) -> BoxFuture<'a, Result<Box<dyn Server>, Error>> {
        let rest = url.strip_prefix("sqlite:").unwrap_or(url);
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let path = path.strip_prefix("//").unwrap_or(path);
        let memory = path.is_empty() || path == ":memory:" || query.split('&').any(|p| p == "mode=memory");
        let files = Files {
            url: url.to_owned(),
            dir: (!memory).then(|| PathBuf::from(path)),
        };
        Box::pin(async move { Ok(Box::new(files) as Box<dyn Server>) })
    }
}

impl super::database::Opened for sqlx::SqliteConnection {
    fn handle(&mut self) -> BoxFuture<'_, crate::Result<Box<dyn Handle + '_>>> {
        Connect::connect(self)
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let _ = sqlx::Connection::close(*self).await;
        })
    }
}

/// The database files of a folder, or (`dir` none) memory.
struct Files {
    url: String,
    dir: Option<PathBuf>,
}

impl Files {
    fn path(&self, name: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{name}.db")))
    }
}

/// The file beside a kept database that says it is kept.
fn kept_marker(path: &Path) -> PathBuf {
    let mut marker = path.as_os_str().to_owned();
    marker.push(".kept");
    marker.into()
}

/// Removes a database file and whatever SQLite keeps beside it.
pub(crate) fn remove_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal", ".kept"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

fn file_error(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::File { what, path, source }
}

impl Server for Files {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn url(&self) -> &str {
        &self.url
    }

    fn url_with_database(&self, name: &str) -> String {
        match self.path(name) {
            Some(path) => format!("sqlite://{}", path.display()),
            None => "sqlite::memory:".to_owned(),
        }
    }

    fn location(&self, name: &str) -> String {
        self.path(name)
            .map_or_else(|| ":memory:".to_owned(), |p| p.display().to_string())
    }

    fn is_local(&self) -> bool {
        true
    }

    fn create_privilege(&self) -> &'static str {
        "write access to the folder"
    }

    fn create_database<'a>(&'a mut self, name: &'a str, template: Option<&'a str>) -> BoxFuture<'a, Result<(), Error>> {
        let made = match (self.path(name), template) {
            (None, _) => Ok(()),
            (Some(path), Some(template)) => std::fs::copy(template, &path)
                .map(drop)
                .map_err(file_error("copying the migrated database to", &path)),
            (Some(path), None) => std::fs::File::create_new(&path)
                .map(drop)
                .map_err(file_error("creating", &path)),
        };
        Box::pin(async move { made })
    }

    fn drop_database<'a>(&'a mut self, name: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        if let Some(path) = self.path(name) {
            remove_files(&path);
        }
        Box::pin(async { Ok(()) })
    }

    fn list_databases<'a>(&'a mut self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<Listed>, Error>> {
        let mut found = Vec::new();
        if let Some(entries) = self.dir.as_ref().and_then(|dir| std::fs::read_dir(dir).ok()) {
            for entry in entries.flatten() {
                let file = entry.file_name().to_string_lossy().into_owned();
                if let Some(name) = file.strip_suffix(".db").filter(|n| n.starts_with(prefix)) {
                    found.push(Listed {
                        name: name.to_owned(),
                        kept: kept_marker(&entry.path()).exists(),
                    });
                }
            }
        }
        Box::pin(async move { Ok(found) })
    }

    fn keep_database<'a>(&'a mut self, name: &'a str, note: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        let marked = match self.path(name) {
            None => Ok(()),
            Some(path) => {
                let marker = kept_marker(&path);
                std::fs::write(&marker, format!("{note}\n"))
                    .map_err(file_error("marking the database kept with", &marker))
            }
        };
        Box::pin(async move { marked })
    }

    fn admin(&mut self) -> Option<&mut dyn Backend> {
        None
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}
