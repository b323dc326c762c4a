//! Reading a migrations folder: the one module of this crate that touches the disk.
//!
//! [`load_dir`] lists the folder and reads each file; everything after that
//! is [`from_sources`], a pure function over names and bytes, so tests need
//! no disk. Files that do not end in `.sql` or `.rs` and hidden files are ignored,
//! and so are sub-folders but `repeatable/`, whose `.sql` files are the
//! repeatable revisions ([`load_repeatables`], [`repeatables_from_sources`];
//! see [`crate::repeatable`]), validated with the folder by [`load_dir`].

use crate::diagnostic::{Diagnostic, DiagnosticKind, Diagnostics};
use crate::format;
use crate::graph;
use crate::migration::Migration;
use std::path::Path;

/// One file of a migrations folder: the path shown in messages and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The path shown in diagnostics, e.g. `migrations/1975ea83b712_create_account.sql`.
    pub path: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// Whether a file name is a migration: ends in `.sql` (or `.rs`, a Rust
/// revision) and is not hidden.
pub fn is_migration_file(name: &str) -> bool {
    (name.ends_with(".sql") || name.ends_with(".rs")) && !name.starts_with('.')
}

/// Parses and validates a folder's files, returning the migrations in
/// application order, or every problem found in any of them.
pub fn from_sources(sources: Vec<Source>) -> Result<Vec<Migration>, Diagnostics> {
    let (parsed, mut problems) = parse_sources(sources);
    match graph::validate(parsed) {
        Ok(migrations) if problems.is_empty() => Ok(migrations),
        Ok(_) => Err(Diagnostics::new(problems)),
        Err(mut e) => {
            problems.append(&mut e);
            Err(Diagnostics::new(problems))
        }
    }
}

/// Each file's migration, whatever the graph they form, and the problems of
/// the files that do not parse: for reading a folder as it was (a release's),
/// where what matters is each revision, not whether the whole still validates.
pub fn parse_each(sources: Vec<Source>) -> (Vec<Migration>, Vec<Diagnostic>) {
    let (parsed, problems) = parse_sources(sources);
    (parsed.into_iter().map(|p| p.migration).collect(), problems)
}

/// Parses each file, collecting the problems of those that do not parse.
fn parse_sources(sources: Vec<Source>) -> (Vec<format::ParsedFile>, Vec<Diagnostic>) {
    let mut problems = Vec::new();
    let mut parsed = Vec::with_capacity(sources.len());
    for source in sources {
        let text = match String::from_utf8(source.bytes) {
            Ok(t) => t,
            Err(e) => {
                let before = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                // Lines end as `format::parse` ends them: at LF, CRLF and a lone CR.
                let breaks = before
                    .iter()
                    .enumerate()
                    .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && before.get(i + 1) != Some(&b'\n')))
                    .count();
                let line = breaks + 1;
                problems.push(
                    Diagnostic::new(DiagnosticKind::NotUtf8, "the file is not valid UTF-8")
                        .in_file(source.path)
                        .at_line(Some(line))
                        .with_help("save the file as UTF-8"),
                );
                continue;
            }
        };
        match format::parse(&source.path, &text) {
            Ok(p) => parsed.push(p),
            Err(mut e) => problems.append(&mut e),
        }
    }
    (parsed, problems)
}

/// Reads `dir` once and validates it like [`load_dir`], except that a graph
/// whose only problem is several heads is accepted: then the list comes back
/// in revision-id order rather than application order. This is what the
/// commands that repair a fork (`merge`) or look at one (`heads`, `show`,
/// `revision --head`) need; every other problem is still an error.
pub fn load_dir_allowing_fork(dir: &Path, shown_as: &str) -> Result<Vec<Migration>, Diagnostics> {
    let (sources, mut problems) = read_dir(dir, shown_as);
    let (parsed, mut unparsed) = parse_sources(sources);
    problems.append(&mut unparsed);
    let mut list: Vec<Migration> = parsed.iter().map(|p| p.migration.clone()).collect();
    match graph::validate(parsed) {
        Ok(migrations) if problems.is_empty() => Ok(migrations),
        Ok(_) => Err(Diagnostics::new(problems)),
        Err(e) if problems.is_empty() && e.iter().all(|d| d.kind == DiagnosticKind::UnmergedHeads) => {
            list.sort_by(|a, b| a.revision().cmp(b.revision()));
            Ok(list)
        }
        Err(mut e) => {
            problems.append(&mut e);
            Err(Diagnostics::new(problems))
        }
    }
}

/// Reads the folder `dir` and validates it, its repeatables too (which
/// [`load_with_repeatables`] returns as well). `shown_as` is how the folder
/// is named in messages (for the macro, the path as written in the crate).
pub fn load_dir(dir: &Path, shown_as: &str) -> Result<Vec<Migration>, Diagnostics> {
    load_with_repeatables(dir, shown_as).map(|(list, _)| list)
}

/// [`load_dir`], with the repeatable revisions it read and validated
/// ([`load_repeatables`]'s list), so that they are read once.
pub fn load_with_repeatables(dir: &Path, shown_as: &str) -> Result<(Vec<Migration>, Vec<Migration>), Diagnostics> {
    let (sources, mut problems) = read_dir(dir, shown_as);
    let repeatables = load_repeatables(dir, shown_as).unwrap_or_else(|e| {
        problems.extend(e.into_vec());
        Vec::new()
    });
    match from_sources(sources) {
        Ok(m) if problems.is_empty() => Ok((m, repeatables)),
        Ok(_) => Err(Diagnostics::new(problems)),
        Err(e) => {
            problems.extend(e.into_vec());
            Err(Diagnostics::new(problems))
        }
    }
}

/// Reads and validates the repeatable revisions of the folder `dir` (its
/// sub-folder `repeatable/`; none when there is no such folder), in the
/// order they are applied.
pub fn load_repeatables(dir: &Path, shown_as: &str) -> Result<Vec<Migration>, Diagnostics> {
    let sub = dir.join(crate::repeatable::FOLDER);
    if !sub.is_dir() {
        return Ok(Vec::new());
    }
    let shown_as = format!("{}/{}", shown_as.trim_end_matches('/'), crate::repeatable::FOLDER);
    let (sources, mut problems) = read_dir(&sub, &shown_as);
    match repeatables_from_sources(sources) {
        Ok(list) if problems.is_empty() => Ok(list),
        Ok(_) => Err(Diagnostics::new(problems)),
        Err(e) => {
            problems.extend(e.into_vec());
            Err(Diagnostics::new(problems))
        }
    }
}

/// Parses and validates a folder's repeatable files (`repeatable/*.sql`),
/// returning them in application order, or every problem found.
pub fn repeatables_from_sources(sources: Vec<Source>) -> Result<Vec<Migration>, Diagnostics> {
    let mut problems = Vec::new();
    let mut parsed = Vec::with_capacity(sources.len());
    for source in sources {
        if !source.path.ends_with(".sql") {
            problems.push(
                Diagnostic::new(DiagnosticKind::BadHeader, "a repeatable revision is a `.sql` file")
                    .in_file(source.path)
                    .at_line(Some(1))
                    .with_help("a Rust revision is versioned: move it out of `repeatable/`"),
            );
            continue;
        }
        let Ok(text) = String::from_utf8(source.bytes) else {
            problems.push(
                Diagnostic::new(DiagnosticKind::NotUtf8, "the file is not valid UTF-8")
                    .in_file(source.path)
                    .with_help("save the file as UTF-8"),
            );
            continue;
        };
        match format::repeatable::parse(&source.path, &text) {
            Ok(p) => parsed.push(p),
            Err(mut e) => problems.append(&mut e),
        }
    }
    if !problems.is_empty() {
        return Err(Diagnostics::new(problems));
    }
    crate::repeatable::validate(parsed).map_err(Diagnostics::new)
}

/// Lists and reads the migration files of `dir`, sorted by name, with the
/// problems met reading them.
pub fn read_dir(dir: &Path, shown_as: &str) -> (Vec<Source>, Vec<Diagnostic>) {
    let shown_as = shown_as.trim_end_matches('/');
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            let d = Diagnostic::new(
                DiagnosticKind::MissingFolder,
                format!("cannot read the migrations folder `{shown_as}`: {e}"),
            )
            .in_file(shown_as)
            .with_help(format!(
                "create it (`migrate init {shown_as}`), or give the path of the folder that holds the .sql files"
            ));
            return (Vec::new(), vec![d]);
        }
    };
    let mut names = Vec::new();
    let mut problems = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => {
                let name = entry.file_name().to_string_lossy().into_owned();
                if is_migration_file(&name) && entry.path().is_file() {
                    names.push(name);
                }
            }
            Err(e) => problems.push(
                Diagnostic::new(
                    DiagnosticKind::Unreadable,
                    format!("cannot list the migrations folder: {e}"),
                )
                .in_file(shown_as),
            ),
        }
    }
    names.sort();
    let mut sources = Vec::with_capacity(names.len());
    for name in names {
        let path = format!("{shown_as}/{name}");
        match std::fs::read(dir.join(&name)) {
            Ok(bytes) => sources.push(Source { path, bytes }),
            Err(e) => problems.push(
                Diagnostic::new(DiagnosticKind::Unreadable, format!("cannot read the file: {e}"))
                    .in_file(path)
                    .with_help("check the file's permissions"),
            ),
        }
    }
    (sources, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(path: &str, text: &str) -> Source {
        Source {
            path: path.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    fn file(id: &str, down: &str) -> Source {
        src(
            &format!("migrations/{id}_x.sql"),
            &format!("-- {id}\n-- revision: {id}\n-- down_revision: {down}\n-- migrate:upgrade\nSELECT 1;\n"),
        )
    }

    #[test]
    fn orders_whatever_the_listing_order() {
        let a = from_sources(vec![file("c", "b"), file("a", ""), file("b", "a")]).unwrap();
        let b = from_sources(vec![file("b", "a"), file("c", "b"), file("a", "")]).unwrap();
        let ids: Vec<_> = a.iter().map(Migration::revision).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(a, b);
    }

    #[test]
    fn problems_in_files_and_graph_together() {
        let bad_utf8 = Source {
            path: "migrations/d_x.sql".into(),
            bytes: b"-- d\n-- \xff\n".to_vec(),
        };
        let e = from_sources(vec![
            file("a", ""),
            file("b", "zz"),
            bad_utf8,
            src("migrations/e_x.sql", "-- e\n"),
        ])
        .unwrap_err();
        let got: Vec<_> = e.iter().map(|d| (d.file.clone().unwrap(), d.line, d.kind)).collect();
        assert_eq!(
            got,
            [
                ("migrations/b_x.sql".to_owned(), Some(3), DiagnosticKind::DanglingParent),
                ("migrations/d_x.sql".to_owned(), Some(2), DiagnosticKind::NotUtf8),
                ("migrations/e_x.sql".to_owned(), Some(1), DiagnosticKind::BadHeader),
                ("migrations/e_x.sql".to_owned(), Some(1), DiagnosticKind::BadHeader),
                ("migrations/e_x.sql".to_owned(), Some(2), DiagnosticKind::MissingUpgrade),
            ]
        );
    }

    #[test]
    fn not_utf8_line_counts_line_breaks_like_the_parser() {
        let line = |bytes: &[u8]| {
            let e = from_sources(vec![Source {
                path: "migrations/a_x.sql".into(),
                bytes: bytes.to_vec(),
            }])
            .unwrap_err();
            e.iter().next().unwrap().line
        };
        // A lone CR ends a line for `format::parse` (and for editors), so it does here too.
        assert_eq!(line(b"-- a\r-- b\r\n-- \xff\n"), Some(3));
        assert_eq!(line(b"-- a\r\r\n\xff"), Some(3));
        assert_eq!(line(b"-- a\r\xff"), Some(2), "a CR just before the bad byte is lone");
        assert_eq!(line(b"\xef\xbb\xbf-- a\n\xff"), Some(2));
    }

    #[test]
    fn reads_a_folder_ignoring_other_files() {
        let dir = tempfile::tempdir().unwrap();
        for s in [file("a", ""), file("b", "a")] {
            std::fs::write(dir.path().join(s.path.trim_start_matches("migrations/")), s.bytes).unwrap();
        }
        std::fs::write(dir.path().join("README.md"), "notes").unwrap();
        std::fs::write(dir.path().join(".a_x.sql.swp"), "junk").unwrap();
        std::fs::write(dir.path().join(".hidden.sql"), "junk").unwrap();
        std::fs::create_dir(dir.path().join("old.sql")).unwrap();
        let ms = load_dir(dir.path(), "migrations").unwrap();
        assert_eq!(
            ms.iter().map(Migration::file).collect::<Vec<_>>(),
            ["migrations/a_x.sql", "migrations/b_x.sql"]
        );
    }

    #[test]
    fn repeatables_load_in_their_order_and_fail_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        for s in [file("a", "")] {
            std::fs::write(dir.path().join(s.path.trim_start_matches("migrations/")), s.bytes).unwrap();
        }
        assert!(
            load_repeatables(dir.path(), "migrations").unwrap().is_empty(),
            "no folder, none"
        );
        let sub = dir.path().join("repeatable");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(
            sub.join("b.sql"),
            "-- b\n-- migrate:upgrade\nCREATE VIEW b AS SELECT 1;\n",
        )
        .unwrap();
        let a = "-- a\n-- depends_on: repeatable:b\n-- migrate:upgrade\nCREATE VIEW a AS SELECT * FROM b;\n";
        std::fs::write(sub.join("a.sql"), a).unwrap();
        std::fs::write(sub.join("notes.md"), "ignored").unwrap();
        let got = load_repeatables(dir.path(), "migrations").unwrap();
        let files: Vec<&str> = got.iter().map(Migration::file).collect();
        assert_eq!(files, ["migrations/repeatable/b.sql", "migrations/repeatable/a.sql"]);
        assert_eq!(
            load_dir(dir.path(), "migrations").unwrap().len(),
            1,
            "the versioned list alone"
        );
        std::fs::write(
            sub.join("c.sql"),
            "-- c\n-- depends_on: repeatable:zz\n-- migrate:upgrade\nSELECT 1;\n",
        )
        .unwrap();
        let e = load_dir(dir.path(), "migrations").unwrap_err();
        assert!(e.has(DiagnosticKind::DanglingParent), "{e}");
        assert!(e.to_string().contains("migrations/repeatable/c.sql:2"), "{e}");
    }

    #[test]
    fn missing_folder() {
        let dir = tempfile::tempdir().unwrap();
        let e = load_dir(&dir.path().join("nope"), "nope").unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(e.has(DiagnosticKind::MissingFolder));
        assert!(e.to_string().contains("cannot read the migrations folder `nope`"));
    }

    #[test]
    fn a_fork_is_accepted_only_where_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let write =
            |s: Source| std::fs::write(dir.path().join(s.path.trim_start_matches("migrations/")), s.bytes).unwrap();
        for s in [file("a", ""), file("c", "a"), file("b", "a")] {
            write(s);
        }
        assert!(
            load_dir(dir.path(), "migrations")
                .unwrap_err()
                .has(DiagnosticKind::UnmergedHeads)
        );
        let ms = load_dir_allowing_fork(dir.path(), "migrations").unwrap();
        assert_eq!(ms.iter().map(Migration::revision).collect::<Vec<_>>(), ["a", "b", "c"]);
        // Any other problem still stops it, reported with the fork.
        write(file("d", "zz"));
        let e = load_dir_allowing_fork(dir.path(), "migrations").unwrap_err();
        assert!(e.has(DiagnosticKind::DanglingParent), "{e}");
    }
}
