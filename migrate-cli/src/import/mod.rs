//! `migrate import` and `migrate adopt`: arriving from another tool. Each
//! tool's reader lives in a file of its own (a pure reading of its folder
//! into [`Imported`] migrations, in the tool's order); this file writes the
//! folder (a linear chain, every file read back, all files or none) and
//! records an adopted Alembic database; `adopt.rs` adopts the others.

mod adopt;
mod alembic;
mod dbmate;
mod diesel;
mod flyway;
mod golang;
mod goose;
mod refinery;
/// (Not `sqlx`: only `database.rs` names that crate, `tests/tidy.rs`.)
mod sqlx_files;

pub(crate) use adopt::adopt;

use crate::args::Tool;
use crate::config::Settings;
use crate::database;
use crate::error::CliError;
use crate::output::{Output, Style};
use migrate_core::{Dialect, Graph, format};
use migrate_runtime::Migrations;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The header line that keeps the source's version: `-- imported-from:
/// TOOL VERSION`, then ` checksum VALUE[,VALUE]` where the tool stores one.
pub(crate) const IMPORTED_FROM: &str = "-- imported-from:";

/// One migration of another tool's folder, as its reader found it.
#[derive(Debug, Default)]
pub(crate) struct Imported {
    /// The version, as the tool writes it in its history table.
    pub(crate) version: String,
    /// The message (the tool's name or description).
    pub(crate) name: String,
    /// The file (or folder) it came from, relative to the source folder.
    pub(crate) file: String,
    /// The upgrade's SQL, as the file holds it, markers removed.
    pub(crate) up: String,
    /// The downgrade's SQL, where the tool has one.
    pub(crate) down: Option<String>,
    /// Whether the tool runs it outside a transaction.
    pub(crate) no_transaction: bool,
    /// The checksum(s) the tool stores for it, for `adopt` to compare.
    pub(crate) checksum: Option<String>,
    /// A repeatable migration (Flyway's `R__`), written as `repeatable/<name>.sql`.
    pub(crate) repeatable: Option<Repeatable>,
    /// A line for the revision's header: what the import changed, and why.
    pub(crate) note: Option<String>,
}

/// Where an imported repeatable goes.
#[derive(Debug)]
pub(crate) struct Repeatable {
    /// Its name: the file is `repeatable/<name>.sql`.
    pub(crate) name: String,
    /// The repeatable it must run after, where name order alone would not
    /// keep the tool's order.
    pub(crate) after: Option<String>,
}

/// The folder being imported, and the dialects its SQL may be read in.
pub(crate) struct Source {
    dir: PathBuf,
    shown: String,
    dialects: Vec<Dialect>,
}

impl Source {
    /// The entries of the folder (files and folders), sorted by name.
    pub(crate) fn entries(&self) -> Result<Vec<String>, CliError> {
        list(&self.dir, &self.shown)
    }

    /// Every file under the folder, as a path relative to it, sorted.
    pub(crate) fn walk(&self) -> Result<Vec<String>, CliError> {
        let mut out = Vec::new();
        let mut pending = vec![String::new()];
        while let Some(rel) = pending.pop() {
            for name in list(&self.dir.join(&rel), &self.shown)? {
                let path = if rel.is_empty() { name } else { format!("{rel}/{name}") };
                match self.is_dir(&path) {
                    true => pending.push(path),
                    false => out.push(path),
                }
            }
        }
        out.sort();
        Ok(out)
    }

    pub(crate) fn is_dir(&self, rel: &str) -> bool {
        self.dir.join(rel).is_dir()
    }

    pub(crate) fn exists(&self, rel: &str) -> bool {
        self.dir.join(rel).exists()
    }

    /// A file's text, which must be UTF-8, read as the build reads a
    /// migration (`checksum::normalise`: no byte-order mark, LF line
    /// endings), so that a folder checked out with CRLF imports as it would
    /// with LF.
    pub(crate) fn read(&self, rel: &str) -> Result<String, CliError> {
        Ok(migrate_core::checksum::normalise(&self.read_raw(rel)?))
    }

    /// A file's text as it is on disk, line endings and all: what a tool
    /// that checksums the file's bytes (sqlx, refinery) hashed.
    pub(crate) fn read_raw(&self, rel: &str) -> Result<String, CliError> {
        let bytes = std::fs::read(self.dir.join(rel)).map_err(|source| CliError::Io {
            context: format!("reading {}", self.shown_file(rel)),
            source,
        })?;
        String::from_utf8(bytes).map_err(|e| self.refuse(rel, None, format!("it is not UTF-8 ({e})")))
    }

    /// The file as the command line named its folder.
    pub(crate) fn shown_file(&self, rel: &str) -> String {
        format!("{}/{rel}", self.shown.trim_end_matches('/'))
    }

    /// The refusal of `rel` (at `line`), for `why`.
    pub(crate) fn refuse(&self, rel: &str, line: Option<usize>, why: impl Into<String>) -> CliError {
        CliError::Import {
            file: self.shown_file(rel),
            line,
            why: why.into(),
        }
    }

    /// Whether some dialect the SQL may be read in keeps `sql` one statement.
    pub(crate) fn one_statement(&self, sql: &str) -> bool {
        self.dialects
            .iter()
            .any(|d| migrate_core::sql::statements(sql, *d).len() <= 1)
    }

    /// Whether `sql` holds no statement (blank, or comments only) in every
    /// dialect it may be read in.
    pub(crate) fn holds_no_statement(&self, sql: &str) -> bool {
        self.dialects
            .iter()
            .all(|d| migrate_core::sql::statements(sql, *d).is_empty())
    }

    /// Whether every dialect the SQL may be read in splits `sql` into the
    /// same statements.
    pub(crate) fn reads_alike(&self, sql: &str) -> bool {
        let mut readings = self.dialects.iter().map(|&d| {
            migrate_core::sql::statements(sql, d)
                .iter()
                .map(|s| s.text)
                .collect::<Vec<_>>()
        });
        let first = readings.next().unwrap_or_default();
        readings.all(|other| other == first)
    }

    /// `sql` without the `BEGIN` it opens with and the `COMMIT` it ends
    /// with, where the file is one transaction of its own and holds no other
    /// transaction control (in every dialect it may be read in): a revision
    /// runs in a transaction of its own, to the same effect. Comments and
    /// everything between stay as written. `None` otherwise.
    pub(crate) fn own_transaction(&self, sql: &str) -> Option<String> {
        let mut found = self
            .dialects
            .iter()
            .map(|&d| migrate_core::sql::without_own_transaction(sql, d));
        let first = found.next()??;
        found.all(|other| other.as_ref() == Some(&first)).then_some(first)
    }

    /// Whether some dialect the SQL may be read in needs a `;` after `sql`
    /// for what follows to be a statement of its own.
    pub(crate) fn needs_terminator(&self, sql: &str) -> bool {
        self.dialects
            .iter()
            .any(|d| migrate_core::sql::needs_terminator(sql, *d))
    }
}

/// The names in `dir`, sorted.
fn list(dir: &Path, shown: &str) -> Result<Vec<String>, CliError> {
    let entries = std::fs::read_dir(dir).map_err(|source| CliError::Io {
        context: format!("reading the folder {shown}"),
        source,
    })?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| CliError::Io {
            context: format!("reading the folder {shown}"),
            source,
        })?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// The order of digit strings as numbers (no overflow: longer is larger
/// once leading zeros are gone).
pub(crate) fn numeric(v: &str) -> (usize, &str) {
    let v = v.trim_start_matches('0');
    (v.len(), v)
}

/// Whether every statement of `sql` is one PostgreSQL runs only outside a
/// transaction (the lint's `concurrently-in-transaction` statements, and
/// `VACUUM`): a file of only these runs outside one in the tools that find it
/// so (golang-migrate sends a one-statement file as it is; Flyway detects them).
pub(crate) fn outside_a_transaction_only(sql: &str) -> bool {
    let pg = migrate_core::Dialect::Postgres;
    let statements = migrate_core::sql::statements(sql, pg);
    let vacuum = |text| {
        migrate_core::sql::lex::code(text, pg)
            .first()
            .is_some_and(|t| t.text.eq_ignore_ascii_case("VACUUM"))
    };
    !statements.is_empty()
        && statements
            .iter()
            .all(|st| migrate_core::lint::only_outside_a_transaction(st.text) || vacuum(st.text))
}

/// Whether `v` is a non-empty run of ASCII digits.
pub(crate) fn digits(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())
}

/// `list` sorted by `key`, refusing two migrations with one key.
pub(crate) fn in_order<K: Ord>(
    src: &Source,
    mut list: Vec<Imported>,
    key: impl Fn(&Imported) -> K,
) -> Result<Vec<Imported>, CliError> {
    list.sort_by(|a, b| key(a).cmp(&key(b)).then_with(|| a.file.cmp(&b.file)));
    for pair in list.windows(2) {
        if key(&pair[0]) == key(&pair[1]) {
            return Err(src.refuse(
                &pair[1].file,
                None,
                format!(
                    "its version {} is also the version of {}, and a history has one migration per version",
                    pair[1].version,
                    src.shown_file(&pair[0].file)
                ),
            ));
        }
    }
    Ok(list)
}

/// The name a tool writes in its files and history (`golang-migrate`).
pub(crate) fn tool_name(tool: Tool) -> &'static str {
    match tool {
        Tool::Alembic => "alembic",
        Tool::Sqlx => "sqlx",
        Tool::Refinery => "refinery",
        Tool::Diesel => "diesel",
        Tool::GolangMigrate => "golang-migrate",
        Tool::Goose => "goose",
        Tool::Dbmate => "dbmate",
        Tool::Flyway => "flyway",
    }
}

/// `import TOOL PATH`: the folder `s.dir` written from the tool's folder `path`.
pub(crate) async fn import(
    s: &Settings,
    tool: Tool,
    path: Option<&Path>,
    python: &str,
    out: &Output,
) -> Result<(), CliError> {
    let read = match tool {
        Tool::Alembic => return alembic::import(s, path, python, out).await,
        Tool::Sqlx => sqlx_files::read,
        Tool::Refinery => refinery::read,
        Tool::Diesel => diesel::read,
        Tool::GolangMigrate => golang::read,
        Tool::Goose => goose::read,
        Tool::Dbmate => dbmate::read,
        Tool::Flyway => flyway::read,
    };
    let name = tool_name(tool);
    let Some(path) = path else {
        return Err(CliError::Usage(format!(
            "import {name} reads a folder of {name} migrations: pass its path, `migrate import {name} PATH`"
        )));
    };
    refuse_non_empty(&s.dir, &s.dir_shown)?;
    let dialects = match (s.dialect, s.database_url.as_deref()) {
        (Some(d), _) => vec![d],
        (None, Some(url)) => vec![database::dialect_of(url, &out.redacted(url))?],
        (None, None) => vec![Dialect::Postgres, Dialect::Sqlite, Dialect::Mysql],
    };
    let src = Source {
        dir: path.to_path_buf(),
        shown: path.display().to_string(),
        dialects,
    };
    if !path.is_dir() {
        return Err(CliError::Usage(format!(
            "`{}` is not a folder of {name} migrations",
            src.shown
        )));
    }
    let (repeatables, list): (Vec<Imported>, Vec<Imported>) =
        read(&src)?.into_iter().partition(|m| m.repeatable.is_some());
    if list.is_empty() && repeatables.is_empty() {
        return Err(CliError::Refused(format!(
            "`{}` holds no {name} migration; nothing was written",
            src.shown
        )));
    }
    let mut list = list;
    let left_out = leave_out_downgrades_that_cannot_run(&mut list, name);
    let mut files = chain(&src, name, &list)?;
    files.extend(repeatable_files(&src, name, &repeatables)?);
    write_folder(&s.dir, &s.dir_shown, &files)?;
    let reversible = list.iter().filter(|m| m.down.is_some()).count();
    // The chain's last file is its head: `<id>_<slug>.sql` or `<id>.sql`.
    let head = files
        .iter()
        .take(list.len())
        .last()
        .and_then(|(file, _)| file.split(['_', '.']).next())
        .unwrap_or_default();
    out.info(&format!(
        "Imported {} {name} migration(s) from {} into {} as one chain, in {name}'s order: {reversible} with a downgrade, {} without. Next: `migrate check` (its lint judges the imported history too; `lint_from = \"{head}\"` in migrate.toml takes that history as it is and lints the revisions written after it), then `migrate adopt {name}` on each database {name} migrated.",
        list.len(),
        src.shown,
        s.dir_shown,
        list.len() - reversible
    ));
    let history = version_table(tool);
    let touching = touching_history(&src, &list, history);
    if !touching.is_empty() {
        out.warn(&format!(
            "{} change `{history}`, {name}'s own history table: on a database {name} migrated (adopted), they run against it as before; on a new one, which has no such table, they fail. Take those statements out of the revisions written for them if new databases will be migrated",
            touching.join(", ")
        ));
    }
    if !left_out.is_empty() {
        out.warn(&format!(
            "the downgrade of {} is left out (a note in its header says why): it holds a statement that cannot run in the transaction its revision runs in (a revision runs both its sections one way), so it could not run as written; write one by hand where you need it",
            left_out.join(", ")
        ));
    }
    if !repeatables.is_empty() {
        out.info(&format!(
            "Imported {} repeatable migration(s) into {}/{}, applied after the revisions by each upgrade to head when their file changed.",
            repeatables.len(),
            s.dir_shown,
            migrate_core::repeatable::FOLDER
        ));
    }
    Ok(())
}

/// The files of the repeatables, `repeatable/<name>.sql`, each read back
/// as the build reads it, and all of them checked together.
fn repeatable_files(src: &Source, tool: &str, list: &[Imported]) -> Result<Vec<(String, String)>, CliError> {
    let mut files = Vec::with_capacity(list.len());
    let mut parsed = Vec::with_capacity(list.len());
    for m in list {
        let Some(r) = &m.repeatable else { continue };
        let name = format!("{}/{}.sql", migrate_core::repeatable::FOLDER, r.name);
        let message = match m.name.replace('_', " ").trim() {
            "" => format!("{tool} repeatable {}", r.name),
            t => t.to_owned(),
        };
        let mut text = format!("-- {message}\n--\n{IMPORTED_FROM} {tool} {}", m.file);
        if let Some(c) = &m.checksum {
            text.push_str(&format!(" checksum {c}"));
        }
        text.push_str(&format!("\n-- Imported from {}.\n", m.file));
        if let Some(after) = &r.after {
            text.push_str(&format!("-- depends_on: {}{after}\n", migrate_core::repeatable::PREFIX));
        }
        if m.no_transaction {
            text.push_str("-- migrate:no-transaction\n");
        }
        text.push_str(no_variables(&[&m.up]));
        text.push_str(&format!("\n-- migrate:upgrade\n{}\n", m.up.trim()));
        let p = migrate_core::format::repeatable::parse(&name, &text).map_err(|d| {
            src.refuse(
                &m.file,
                None,
                format!(
                    "the file it would be written as (not written), {name}, does not read back:\n{}",
                    migrate_core::Diagnostics::new(d)
                ),
            )
        })?;
        if p.migration.upgrade_sql() != m.up.trim() || p.migration.no_transaction() != m.no_transaction {
            return Err(src.refuse(
                &m.file,
                None,
                format!(
                    "the file it would be written as (not written), {name}, reads back with other SQL than the source's (please report it)"
                ),
            ));
        }
        parsed.push(p);
        files.push((name, text));
    }
    migrate_core::repeatable::validate(parsed).map_err(|d| {
        CliError::Refused(format!(
            "the imported repeatables are not valid together (please report it); nothing was written:\n{}",
            migrate_core::Diagnostics::new(d)
        ))
    })?;
    Ok(files)
}

/// The files of the chain, each read back as the build will read it.
fn chain(src: &Source, tool: &str, list: &[Imported]) -> Result<Vec<(String, String)>, CliError> {
    let mut taken: HashSet<String> = HashSet::new();
    let mut files = Vec::with_capacity(list.len());
    let mut parsed = Vec::with_capacity(list.len());
    let mut previous: Option<String> = None;
    for m in list {
        let id = crate::author::new_revision(&taken.iter().map(String::as_str).collect());
        taken.insert(id.clone());
        let (name, text, message) = render(tool, m, &id, previous.as_deref());
        let readback = |why: String| {
            src.refuse(
                &m.file,
                None,
                format!("the file it would be written as (not written), {name}, {why}"),
            )
        };
        let p = format::parse(&name, &text)
            .map_err(|d| readback(format!("does not read back:\n{}", migrate_core::Diagnostics::new(d))))?;
        let m2 = p.migration;
        if m2.upgrade_sql() != m.up.trim()
            || m2.downgrade_sql() != m.down.as_deref().map(str::trim)
            || m2.no_transaction() != m.no_transaction
            || m2.message() != message
        {
            return Err(readback(
                "reads back with other SQL or another message than the source's (please report it)".into(),
            ));
        }
        parsed.push(m2);
        files.push((name, text));
        previous = Some(id);
    }
    Graph::new(&parsed).map_err(|d| {
        CliError::Refused(format!(
            "the imported chain is not a valid history (please report it); nothing was written:\n{d}"
        ))
    })?;
    Ok(files)
}

/// The table where `tool` keeps its history, as it names it by default.
pub(crate) fn version_table(tool: Tool) -> &'static str {
    match tool {
        Tool::Alembic => "alembic_version",
        Tool::Sqlx => "_sqlx_migrations",
        Tool::Refinery => "refinery_schema_history",
        Tool::Diesel => "__diesel_schema_migrations",
        Tool::GolangMigrate | Tool::Dbmate => "schema_migrations",
        Tool::Goose => "goose_db_version",
        Tool::Flyway => "flyway_schema_history",
    }
}

/// The files of `list` whose SQL changes `table` (the tool's own history
/// table), in some reading of `src`: a database migrate made has no such
/// table, so there they fail.
fn touching_history(src: &Source, list: &[Imported], table: &str) -> Vec<String> {
    let changes = |sql: &str| {
        src.dialects
            .iter()
            .any(|&d| migrate_core::sql::tables::changed(sql, d).contains(table))
    };
    list.iter()
        .filter(|m| changes(&m.up) || m.down.as_deref().is_some_and(changes))
        .map(|m| m.file.clone())
        .collect()
}

/// Takes out the downgrade of each migration that runs in a transaction whose
/// downgrade cannot (`CREATE INDEX CONCURRENTLY` in a diesel `down.sql`,
/// whose revert fails in diesel too; a golang-migrate down file of that one
/// statement, which golang-migrate sends alone): a revision runs both its
/// sections one way, so the history imports, that revision irreversible,
/// its header saying why.
/// Returns the files whose downgrade was left out.
fn leave_out_downgrades_that_cannot_run(list: &mut [Imported], tool: &str) -> Vec<String> {
    let mut left_out = Vec::new();
    for m in list.iter_mut().filter(|m| !m.no_transaction) {
        if m.down
            .as_deref()
            .is_some_and(migrate_core::lint::refused_in_a_transaction)
        {
            m.down = None;
            m.note = Some(format!(
                "Its downgrade is left out, as it could not run as written. It holds a statement that cannot run in the transaction this revision runs in, and a revision runs both its sections one way ({tool} ran this file its own way). Write one by hand where you need it."
            ));
            left_out.push(m.file.clone());
        }
    }
    left_out
}

/// `-- migrate:no-variables` and its line break when a section holds a
/// `${…}` that migrate would read as a variable: the tools imported from
/// replace none, so the SQL runs as it did there (else nothing).
pub(crate) fn no_variables(sections: &[&str]) -> &'static str {
    let literal = sections
        .iter()
        .any(|sql| !migrate_core::sql::vars::undeclared(sql, &[]).is_empty());
    if literal { "-- migrate:no-variables\n" } else { "" }
}

/// One migration's file: its name, its text and its message.
fn render(tool: &str, m: &Imported, id: &str, parent: Option<&str>) -> (String, String, String) {
    let mut message = m.name.replace('_', " ").trim().to_owned();
    if message.is_empty() {
        message = format!("{tool} {}", m.version);
    }
    let slugged = crate::author::slug(&message);
    let name = match slugged.is_empty() {
        true => format!("{id}.sql"),
        false => format!("{id}_{slugged}.sql"),
    };
    let mut text = format!(
        "-- {message}\n--\n-- revision: {id}\n-- down_revision: {}\n{IMPORTED_FROM} {tool} {}",
        parent.unwrap_or(""),
        m.version
    );
    if let Some(c) = &m.checksum {
        text.push_str(&format!(" checksum {c}"));
    }
    text.push_str(&format!("\n-- Imported from {}.\n", m.file));
    if let Some(note) = &m.note {
        text.push_str(&format!("-- {note}\n"));
    }
    if m.no_transaction {
        text.push_str("-- migrate:no-transaction\n");
    }
    text.push_str(no_variables(&[&m.up, m.down.as_deref().unwrap_or("")]));
    text.push_str("\n-- migrate:upgrade\n");
    text.push_str(m.up.trim());
    text.push('\n');
    if let Some(down) = &m.down {
        text.push_str("\n-- migrate:downgrade\n");
        text.push_str(down.trim());
        text.push('\n');
    }
    (name, text, message)
}

/// Writes `files` (name, text) as the folder `dir`, which must not exist or
/// be empty: into a fresh folder beside it first, then moved into place, so
/// that an error leaves nothing behind.
fn write_folder(dir: &Path, shown: &str, files: &[(String, String)]) -> Result<(), CliError> {
    let io = |context: String| move |source| CliError::Io { context, source };
    refuse_non_empty(dir, shown)?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(format!("creating {}", parent.display())))?;
    let staging = tempfile::Builder::new()
        .prefix(".migrate-import-")
        .tempdir_in(&parent)
        .map_err(io(format!("creating a folder in {}", parent.display())))?;
    for (name, text) in files {
        let path = staging.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(format!("creating the folder of {name}")))?;
        }
        std::fs::write(path, text).map_err(io(format!("writing {name}")))?;
    }
    if dir.exists() {
        // Empty: each file moves in (same file system, so a rename each).
        for (name, _) in files {
            if let Some(parent) = dir.join(name).parent() {
                std::fs::create_dir_all(parent).map_err(io(format!("creating the folder of {name}")))?;
            }
            std::fs::rename(staging.path().join(name), dir.join(name))
                .map_err(io(format!("moving {name} into {shown}")))?;
        }
    } else {
        let kept = staging.keep();
        std::fs::rename(&kept, dir).map_err(io(format!("moving the imported files to {shown}")))?;
    }
    Ok(())
}

/// Refuses a folder that holds anything: an import never mixes with, or
/// overwrites, files that are there.
fn refuse_non_empty(dir: &Path, shown: &str) -> Result<(), CliError> {
    let occupied = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    match occupied {
        true => Err(CliError::Refused(format!(
            "`{shown}` is not empty; an import writes a new folder and never mixes with or overwrites files: choose another with --dir, or move these away"
        ))),
        false => Ok(()),
    }
}

/// `adopt alembic`: the database's `alembic_version` heads, and everything
/// they need, recorded as applied with this folder's checksums; no
/// migration runs. With `sql`, prints the statements instead.
pub(crate) async fn adopt_alembic(s: &Settings, version_table: &str, sql: bool, out: &Output) -> Result<(), CliError> {
    let migrations = Migrations::load(&s.dir, &s.dir_shown)?;
    let url = s.database_url.as_deref().ok_or(CliError::MissingUrl)?;
    let mut db = database::open(s, url, !sql, out).await?;
    let migrator = database::migrator(&migrations, s, out);
    let heads = migrator.alembic_heads(&mut db, version_table).await;
    let heads = match heads {
        Ok(h) => h,
        Err(e) => {
            database::close(db, out).await;
            return Err(CliError::Refused(format!(
                "{e}\n  = help: is this a database Alembic migrated? Its env.py may name another version table: pass --version-table NAME"
            )));
        }
    };
    // A head a squash replaced: its squash point is adopted as its baseline;
    // any other replaced id is inside the squashed range, refused with its release.
    let graph = migrations.graph()?;
    let mut inside = None;
    let heads: Vec<String> = heads
        .into_iter()
        .map(|h| match migrate_core::squash::target(&graph, &h) {
            Some(Ok(b)) if migrations.get(&h).is_none() => graph.get(b).revision().to_owned(),
            Some(Err(e)) if migrations.get(&h).is_none() => {
                inside = inside.take().or(Some(e));
                h
            }
            _ => h,
        })
        .collect();
    drop(graph);
    if let Some(migrate_core::TargetError::Squashed {
        id,
        baseline,
        point,
        release,
    }) = inside
    {
        database::close(db, out).await;
        return Err(CliError::Refused(format!(
            "the database is at Alembic revision `{id}`, which `{}` squashed into the baseline `{baseline}` but is not its squash point `{point}`: upgrade it to `{point}` with {release} (the last release that has `{id}`), then adopt it; nothing was changed",
            s.dir_shown
        )));
    }
    let unknown: Vec<&String> = heads.iter().filter(|h| migrations.get(h).is_none()).collect();
    let refusal = if heads.is_empty() {
        Some(format!(
            "`{version_table}` has no row: Alembic's record of a database at base; there is nothing to adopt, and `upgrade head` applies every revision"
        ))
    } else if !unknown.is_empty() {
        Some(format!(
            "the database is at Alembic revision {}, which `{}` does not have: import the project again (`migrate import alembic`) from the release that database runs",
            unknown.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", "),
            s.dir_shown
        ))
    } else {
        None
    };
    // A database migrate already records is not adopted again: stamping
    // would rewrite its history to Alembic's older word.
    let ours = match refusal {
        Some(_) => Vec::new(),
        None => migrator.current(&mut db).await.unwrap_or_default(),
    };
    let refusal = refusal.or_else(|| {
        let mut ours = ours.clone();
        ours.sort();
        (!ours.is_empty() && ours != heads).then(|| {
            format!(
                "the history table already records this database at {}, and `{version_table}` says {}: it was adopted before, and migrate has run on it since; nothing was changed",
                ours.join(", "),
                heads.join(", ")
            )
        })
    });
    if let Some(refusal) = refusal {
        database::close(db, out).await;
        return Err(CliError::Refused(refusal));
    }
    if !ours.is_empty() && !sql {
        database::close(db, out).await;
        out.note(&format!(
            "Already adopted: the history records {} as Alembic does; nothing to do.",
            heads.join(", ")
        ));
        return Ok(());
    }
    if sql {
        let script = migrations.record_script(db.dialect(), &s.table, &heads);
        database::close(db, out).await;
        print!("{}", script?);
        return Ok(());
    }
    let mut recorded = 0;
    let mut result: Result<(), CliError> = Ok(());
    for head in &heads {
        match migrator.stamp(&mut db, head.as_str()).await {
            Ok(report) => recorded += report.steps.len(),
            Err(e) => {
                result = Err(e.into());
                break;
            }
        }
    }
    database::close(db, out).await;
    result?;
    out.info(&format!(
        "Adopted: Alembic's heads {} and what they need, {recorded} revision(s), recorded as applied; no migration ran, and `{version_table}` is left as it was.",
        heads.iter().map(|h| out.paint(h, Style::Id)).collect::<Vec<_>>().join(", ")
    ));
    Ok(())
}
