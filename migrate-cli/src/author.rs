//! The commands that write files: `init`, `revision`, `merge`; and `check`.
//!
//! `revision` and `merge` must work on a folder whose only problem is a
//! fork (that is when `merge` is needed), so they read the folder through
//! `load_dir_allowing_fork`; every other problem stops them, with the same
//! diagnostics as `check` and the macro.

use super::config::{self, Settings};
use super::error::{CliError, io};
use super::output::{Output, Style};
use migrate_core::graph::{find, heads};
use migrate_core::load::{load_dir, load_dir_allowing_fork};
use migrate_core::sets::{self, SetList};
use migrate_core::{Diagnostics, Migration, format};
use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};

fn ids(list: &[&Migration]) -> String {
    list.iter().map(|m| m.revision()).collect::<Vec<_>>().join(", ")
}

/// A fresh 12-hex-digit revision id not in `taken`.
pub(crate) fn new_revision(taken: &HashSet<&str>) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut salt = 0u64;
    loop {
        // RandomState is seeded from the OS's randomness once per process.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u32(std::process::id());
        h.write_u64(salt);
        let id = format!("{:012x}", h.finish() & 0xffff_ffff_ffff);
        // An all-digit id would read as a number in some tools; skip those too.
        if !taken.contains(id.as_str()) && !id.bytes().all(|b| b.is_ascii_digit()) {
            return id;
        }
        salt += 1;
    }
}

/// The file-name slug of a message: lower-case ASCII letters and digits
/// joined by `_`, at most 40 characters.
pub(crate) fn slug(message: &str) -> String {
    let mut out = String::new();
    for c in message.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.truncate(40);
    out.trim_end_matches('_').to_owned()
}

/// Now, in UTC, as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    rfc3339(secs)
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (Howard Hinnant's
/// civil-from-days algorithm).
fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Writes a new revision file with these parents and prints its path.
fn write_revision(
    s: &Settings,
    list: &[Migration],
    message: &str,
    parents: &[&str],
    out: &Output,
) -> Result<(), CliError> {
    write_file(s, list, message, out, |revision, created| {
        format::render(message.trim(), revision, parents, created, "", "")
    })
}

/// Writes a new revision file whose text `text_of(revision, created)`
/// gives, refusing a message the file would misread, and prints its path.
fn write_file(
    s: &Settings,
    list: &[Migration],
    message: &str,
    out: &Output,
    text_of: impl FnOnce(&str, &str) -> String,
) -> Result<(), CliError> {
    let message = message.trim();
    if message.is_empty() || message.contains(['\n', '\r']) {
        return Err(CliError::Usage("the message (-m) must be one non-empty line".into()));
    }
    let taken: HashSet<&str> = list.iter().map(Migration::revision).collect();
    let revision = new_revision(&taken);
    let slug = slug(message);
    let text = text_of(&revision, &now_utc());
    // A Rust revision's header is `//!` lines.
    let extension = if text.starts_with("//!") { "rs" } else { "sql" };
    let name = if slug.is_empty() {
        format!("{revision}.{extension}")
    } else {
        format!("{revision}_{slug}.{extension}")
    };
    // Never write a file that `check` and the build would reject, or read differently.
    let shown = format!("{}/{name}", s.dir_shown);
    match format::parse(&shown, &text) {
        Ok(parsed) if parsed.migration.message() == message => {}
        _ => {
            return Err(CliError::Usage(format!(
                "the message `{message}` would be read as part of the file's header, not as its message (a message may not start like `revision:`, `down_revision:`, `created:`, `migrate:`, or a directive's name followed by `:`, such as `phase:` or `depends_on:`); reword it"
            )));
        }
    }
    write_new(&s.dir.join(&name), &text).map_err(io(format!("cannot write {}/{name}", s.dir_shown)))?;
    out.result(&format!("{}/{name}", s.dir_shown));
    Ok(())
}

/// Writes a generated revision on top of the folder's one head:
/// `text_of(revision, parents, created)` gives the file.
pub(crate) fn write_generated(
    s: &Settings,
    message: &str,
    out: &Output,
    text_of: impl FnOnce(&str, &[&str], &str) -> String,
) -> Result<(), CliError> {
    let list = load_dir(&s.dir, &s.dir_shown)?;
    let parents: Vec<&str> = list.last().map(Migration::revision).into_iter().collect();
    write_file(s, &list, message, out, |revision, created| {
        text_of(revision, &parents, created)
    })
}

/// `revision -m MSG [--head ID]`.
/// `revision -m MSG [--head ID] [--rust]`: a SQL revision, or with `rust`
/// a Rust one (`format::rust::render`'s template, which compiles as written).
pub(crate) fn revision(
    s: &Settings,
    message: &str,
    head: Option<&str>,
    rust: bool,
    out: &Output,
) -> Result<(), CliError> {
    let list = load_dir_allowing_fork(&s.dir, &s.dir_shown)?;
    let parent = match head {
        Some(id) => Some(find(&list, id)?),
        None => match heads(&list).as_slice() {
            [] => None,
            [one] => Some(*one),
            many => {
                return Err(CliError::Refused(format!(
                    "the folder has {} heads ({}): merge them first (`migrate merge -m \"merge heads\"`), or choose the parent with --head ID",
                    many.len(),
                    ids(many)
                )));
            }
        },
    };
    let parents: Vec<&str> = parent.map(Migration::revision).into_iter().collect();
    if rust {
        return write_file(s, &list, message, out, |revision, created| {
            format::rust::render(message.trim(), revision, &parents, created)
        });
    }
    write_revision(s, &list, message, &parents, out)
}

/// `merge -m MSG [IDS…]`.
pub(crate) fn merge(s: &Settings, message: &str, wanted: &[String], out: &Output) -> Result<(), CliError> {
    let list = load_dir_allowing_fork(&s.dir, &s.dir_shown)?;
    let chosen: Vec<&Migration> = if wanted.is_empty() {
        heads(&list)
    } else {
        wanted.iter().map(|id| find(&list, id)).collect::<Result<_, _>>()?
    };
    let mut parents: Vec<&str> = Vec::new();
    for m in &chosen {
        if !parents.contains(&m.revision()) {
            parents.push(m.revision());
        }
    }
    if parents.len() < 2 {
        return Err(CliError::Refused(match (wanted.is_empty(), parents.first()) {
            (true, Some(h)) => format!("nothing to merge: the folder has one head ({h})"),
            (true, None) => "nothing to merge: the folder has no revisions".to_owned(),
            (false, _) => "a merge joins at least two different revisions".to_owned(),
        }));
    }
    write_revision(s, &list, message, &parents, out)
}

/// `check`: validates the folder exactly as `embed_migrations!` does.
pub(crate) fn check(s: &Settings, out: &Output) -> Result<(), CliError> {
    let list = load_dir(&s.dir, &s.dir_shown)?;
    check_depends_on(s, &list, out)?;
    // An expand revision runs beside the previous release's code: it must not take away.
    for m in list.iter().filter(|m| m.phase() == Some(migrate_core::Phase::Expand)) {
        for found in migrate_core::sql::removals(m.upgrade_sql()) {
            out.warn(&format!(
                "{}: revision {} is marked `-- migrate:phase: expand`, but line {} of its upgrade section is `{}`, which the previous release's code may still need; move it to a `contract` revision",
                m.file(),
                out.paint(m.revision(), Style::Id),
                found.line,
                found.words
            ));
        }
    }
    warn_unordered(s, &list, out);
    let head = list.last().map_or("none", Migration::revision);
    // Validated with the folder above; counted here so that the line says what the build embeds.
    let repeatables = migrate_core::load::load_repeatables(&s.dir, &s.dir_shown).map_or(0, |r| r.len());
    let repeatables = match repeatables {
        0 => String::new(),
        n => format!(", {n} repeatable(s)"),
    };
    out.info(&format!(
        "{}: {} revision(s){repeatables}, head {}: ok",
        s.dir_shown,
        list.len(),
        out.paint(head, Style::Id)
    ));
    Ok(())
}

/// `check --base REF`: the revisions of the folder at `REF` against the
/// folder now; an error for each one edited, deleted or renamed since.
pub(crate) fn check_base(s: &Settings, base: Option<&str>, out: &Output) -> Result<(), CliError> {
    let Some(reference) = base else { return Ok(()) };
    let base = crate::base::folder_at(&s.dir, &s.dir_shown, reference)?;
    // A file that did not parse at the base never shipped as a revision.
    let (before, _) = migrate_core::load::parse_each(base.sources);
    let now = load_dir_allowing_fork(&s.dir, &s.dir_shown)?;
    let found = migrate_core::shipped::changed_since(&base.name, &before, &now);
    if !found.is_empty() {
        return Err(CliError::Invalid(migrate_core::Diagnostics::new(found)));
    }
    out.info(&format!(
        "{}: the {} revision(s) of {} are as they shipped",
        s.dir_shown,
        before.len(),
        base.name
    ));
    Ok(())
}

/// Revisions the graph leaves unordered that change one table: a warning
/// each, naming both files and how to fix the order.
fn warn_unordered(s: &Settings, list: &[Migration], out: &Output) {
    let Ok(graph) = migrate_core::Graph::of_ordered(list) else {
        return;
    };
    let dialect = s.dialect.unwrap_or(migrate_core::Dialect::Postgres);
    for u in graph.unordered_changes(dialect) {
        let (first, second) = (graph.get(u.first), graph.get(u.second));
        out.warn(&format!(
            "{} and {} both change table `{}`, and nothing orders them: {} runs first only because of the file names; if {} must come after it, add `-- depends_on: {}` to its header ({}), or make one an ancestor of the other",
            first.file(),
            second.file(),
            u.table,
            out.paint(first.revision(), Style::Id),
            out.paint(second.revision(), Style::Id),
            first.revision(),
            second.file()
        ));
    }
}

/// The folder's `-- depends_on:` lines against the sets the config file
/// declares (`migrate_core::sets::check`), each problem at its file and line.
fn check_depends_on(s: &Settings, list: &[Migration], out: &Output) -> Result<(), CliError> {
    if list.iter().all(|m| m.depends_on().next().is_none()) {
        return Ok(());
    }
    let loaded: Vec<Option<Vec<Migration>>> = s
        .other_lists
        .iter()
        .map(|other| match load_dir_allowing_fork(&other.dir, &other.dir_shown) {
            Ok(ms) => Some(ms),
            Err(_) => {
                let name = other.set.as_deref().unwrap_or("the application's");
                out.warn(&format!(
                    "`{}` ({name} migrations) cannot be read, so `depends_on` lines naming it are not checked; `check` on it says why",
                    other.dir_shown
                ));
                None
            }
        })
        .collect();
    let others: Vec<SetList<'_>> = s
        .other_lists
        .iter()
        .zip(&loaded)
        .map(|(other, ms)| SetList {
            set: other.set.as_deref(),
            folder: &other.dir_shown,
            migrations: ms.as_deref(),
        })
        .collect();
    let this = SetList {
        set: s.set_name.as_deref(),
        folder: &s.dir_shown,
        migrations: Some(list),
    };
    // Where each item is written: the header line holding `depends_on` and `set@revision`.
    let line_of = |m: &Migration, set: &str, revision: &str| -> Option<usize> {
        let name = Path::new(m.file()).file_name()?;
        let text = std::fs::read_to_string(s.dir.join(name)).ok()?;
        let item = format!("{set}@{revision}");
        text.lines()
            .position(|l| {
                let l: String = l.chars().filter(|c| !c.is_whitespace()).collect();
                l.contains("depends_on") && l.contains(&item)
            })
            .map(|i| i + 1)
    };
    let problems = sets::check(&this, &others, &line_of);
    if problems.is_empty() {
        return Ok(());
    }
    Err(CliError::Invalid(Diagnostics::new(problems)))
}

/// `init [DIR]`: the folder, a config file, and what to paste into the crate.
pub(crate) fn init(
    folder: &Path,
    config_file: &Path,
    database_url: Option<&str>,
    out: &Output,
) -> Result<(), CliError> {
    if config_file.exists() {
        return Err(CliError::Refused(format!(
            "`{}` already exists; init never overwrites anything",
            config_file.display()
        )));
    }
    let folder_is_new = match std::fs::read_dir(folder).map(|mut entries| entries.next().is_none()) {
        Ok(true) => false,
        Ok(false) => {
            return Err(CliError::Refused(format!(
                "`{}` already exists and is not empty; init never overwrites anything",
                folder.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) if folder.exists() => return Err(io(format!("cannot read `{}`", folder.display()))(e)),
        Err(_) => true,
    };
    // The folders init makes, deepest first, to take away again if it fails.
    let made: Vec<&Path> = folder
        .ancestors()
        .take_while(|a| folder_is_new && !a.as_os_str().is_empty() && !a.exists())
        .collect();
    let undo = || {
        for dir in &made {
            let _ = std::fs::remove_dir(dir);
        }
    };
    if folder_is_new && let Err(e) = std::fs::create_dir_all(folder) {
        undo();
        return Err(io(format!("cannot create `{}`", folder.display()))(e));
    }
    // `dir` in the config file is relative to the file's folder.
    let config_dir = config_file.parent().filter(|p| !p.as_os_str().is_empty());
    let dir_in_config: PathBuf = match config_dir {
        None => folder.to_path_buf(),
        Some(_) if folder.is_absolute() => folder.to_path_buf(),
        Some(_) => std::fs::canonicalize(folder).map_err(|e| {
            undo();
            io(format!("cannot resolve `{}`", folder.display()))(e)
        })?,
    };
    let text = config::template(&dir_in_config.display().to_string(), database_url);
    if let Err(e) = write_new(config_file, &text) {
        // Nothing is left of a failed init: the folders it made are empty.
        undo();
        return Err(io(format!("cannot write `{}`", config_file.display()))(e));
    }

    let shown = folder.display().to_string();
    out.info(&format!(
        "Created {shown}/ and {}.\n\n\
         Add a build.rs beside Cargo.toml, so that adding a migration rebuilds your crate:\n\n\
         \x20   fn main() {{\n\
         \x20       println!(\"cargo:rerun-if-changed={shown}\");\n\
         \x20   }}\n\n\
         Embed the migrations in your crate:\n\n\
         \x20   static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!(\"{shown}\");\n\n\
         Then write the first revision: migrate revision -m \"create account table\"",
        config_file.display()
    ));
    Ok(())
}

/// Writes a new file all or nothing: `text` goes to a hidden temporary file
/// in the same folder (which `load` ignores), is synced, and is then linked
/// to `path`, which must not exist yet; on any error (a full disk among
/// them) nothing is left behind, never a file cut short.
fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    write_through(path, text, place)
}

/// [`write_new`], replacing `path` if it exists (a plan written again).
pub(crate) fn write_replacing(path: &Path, text: &str) -> std::io::Result<()> {
    write_through(path, text, |temporary, path| std::fs::rename(temporary, path))
}

/// Writes `text` to a hidden temporary file beside `path`, syncs it, and
/// gives it the name `path` with `finish`; nothing is left behind on an error.
fn write_through(path: &Path, text: &str, finish: fn(&Path, &Path) -> std::io::Result<()>) -> std::io::Result<()> {
    use std::io::Write;
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| finish(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    written?;
    // The new name, durable too where the system can sync a folder.
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let _ = std::fs::File::open(folder).and_then(|f| f.sync_all());
    }
    Ok(())
}

/// Gives the finished `temporary` file the name `path`, never over an
/// existing file: a hard link where the file system has them, else a rename
/// after checking that `path` is free.
fn place(temporary: &Path, path: &Path) -> std::io::Result<()> {
    match std::fs::hard_link(temporary, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
        Err(_) if path.exists() => Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "the file already exists",
        )),
        Err(_) => std::fs::rename(temporary, path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_files_are_written_whole_and_never_over_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.sql");
        write_new(&path, "text").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "text");
        let e = write_new(&path, "other").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "text");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["a.sql"], "no temporary file left");
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_311_771), "2026-11-22T01:42:51Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Add account e-mail!"), "add_account_e_mail");
        assert_eq!(slug("  émigré table "), "migr_table");
        assert_eq!(slug("!!!"), "");
        assert_eq!(slug(&"word ".repeat(20)).len(), 39);
    }

    #[test]
    fn fresh_ids_are_valid_and_distinct() {
        let mut taken: HashSet<&str> = HashSet::new();
        let ids: Vec<String> = (0..50).map(|_| new_revision(&taken)).collect();
        for id in &ids {
            assert_eq!(id.len(), 12);
            assert!(format::is_valid_revision(id));
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        taken.extend(ids.iter().map(String::as_str));
        assert_eq!(taken.len(), 50);
    }
}
