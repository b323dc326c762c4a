//! Revisions that shipped: the folder as it was at a base (a release tag,
//! the main branch) against the folder now. A database that applied a
//! revision keeps what that revision's SQL did then; editing, deleting or
//! renaming the file afterwards changes nothing there, and `migrate` then
//! refuses that database as drifted (or, for a new file name, runs the
//! revisions in another order). A check of an empty database in CI cannot
//! see this: only the base can.

use crate::{Diagnostic, DiagnosticKind, Migration};

/// What happened since `base` (a name, shown as given: a git ref and its
/// commit) to each revision of `before` (the folder at the base), by
/// `now`: an error for each one edited (its checksum, which drift also
/// reads, changed), deleted, or renamed (its file, or its id), at the file
/// now (or then, when it is gone). A revision a baseline of `now` replaces
/// (`-- migrate:replaces:`, written by `migrate squash`) is not gone: the
/// databases that applied it take the baseline as applied. A revision new since the base is not
/// looked at: databases get it as a pending revision, wherever the graph
/// puts it.
pub fn changed_since(base: &str, before: &[Migration], now: &[Migration]) -> Vec<Diagnostic> {
    let undo = |file: &str| format!("to take the change back, `git checkout {base} -- {file}`");
    let mut found = Vec::new();
    for old in before {
        let id = old.revision();
        let diagnostic = match now.iter().find(|m| m.revision() == id) {
            Some(m) if m.file() != old.file() => Diagnostic::new(
                DiagnosticKind::Shipped,
                format!(
                    "revision `{id}` shipped as `{}` at {base} and is `{}` now: its file name orders it among its siblings, so databases would meet the revisions in another order than the one they ran",
                    old.file(),
                    m.file()
                ),
            )
            .in_file(m.file())
            .with_help(format!("give the file back its name: `git mv {} {}`", m.file(), old.file())),
            Some(m) if m.checksum() != old.checksum() => Diagnostic::new(
                DiagnosticKind::Shipped,
                format!(
                    "revision `{id}` was edited since {base}: the databases that applied it keep what it did then, and `migrate` refuses them as drifted"
                ),
            )
            .in_file(m.file())
            .with_help(format!(
                "put the change in a new revision (`migrate revision -m \"...\"`), which every database runs; {}",
                undo(m.file())
            )),
            Some(_) => continue,
            // Squashed: a baseline of the folder stands for it, and the databases that
            // applied it take the baseline as applied (`migrate squash`).
            None if now.iter().any(|m| m.replaces().any(|r| r == id)) => continue,
            None => {
                let moved = now
                    .iter()
                    .find(|m| m.file() == old.file() || m.checksum() == old.checksum())
                    .filter(|m| before.iter().all(|b| b.revision() != m.revision()));
                let message = match moved {
                    Some(m) => format!(
                        "revision `{id}` shipped at {base} and is `{}` now: the databases that applied `{id}` would run it again under its new id",
                        m.revision()
                    ),
                    None => format!(
                        "revision `{id}` shipped at {base} and is gone: the databases that applied it hold a revision this folder no longer knows, and are refused"
                    ),
                };
                Diagnostic::new(DiagnosticKind::Shipped, message)
                    .in_file(moved.map_or(old.file(), Migration::file))
                    .with_help(format!(
                        "bring it back as it was, `git checkout {base} -- {}`, and undo what it did in a new revision",
                        old.file()
                    ))
            }
        };
        found.push(diagnostic);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::changed_since;
    use crate::{Migration, MigrationParts};

    fn m(id: &str, parent: &str, file: &str, sql: &str) -> Migration {
        Migration::new(MigrationParts {
            revision: id.into(),
            down_revisions: if parent.is_empty() { vec![] } else { vec![parent.into()] },
            message: id.into(),
            upgrade: sql.into(),
            file: file.into(),
            ..Default::default()
        })
    }

    fn base() -> Vec<Migration> {
        vec![
            m("a1", "", "migrations/a1_one.sql", "CREATE TABLE one (id INT);"),
            m("b2", "a1", "migrations/b2_two.sql", "CREATE TABLE two (id INT);"),
        ]
    }

    #[test]
    fn an_unchanged_folder_and_new_revisions_pass() {
        let mut now = base();
        now.push(m("c3", "b2", "migrations/c3_three.sql", "CREATE TABLE three (id INT);"));
        assert!(changed_since("main", &base(), &now).is_empty());
    }

    #[test]
    fn an_edit_names_the_file_and_the_way_forward() {
        let now = vec![
            base().remove(0),
            m("b2", "a1", "migrations/b2_two.sql", "CREATE TABLE two (id BIGINT);"),
        ];
        let found = changed_since("main (1a2b3c4)", &base(), &now);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].file.as_deref(), Some("migrations/b2_two.sql"));
        assert!(
            found[0].message.contains("edited since main (1a2b3c4)"),
            "{}",
            found[0].message
        );
        assert!(found[0].help.as_deref().unwrap().contains("new revision"));
    }

    #[test]
    fn revisions_a_baseline_replaces_are_not_gone() {
        let baseline = Migration::new(MigrationParts {
            revision: "z9".into(),
            message: "baseline".into(),
            upgrade: "CREATE TABLE one (id INT); CREATE TABLE two (id INT);".into(),
            file: "migrations/z9_baseline.sql".into(),
            ..Default::default()
        })
        .with_squash(vec!["a1".into(), "b2".into()], "v1".into());
        assert!(changed_since("v1", &base(), &[baseline.clone()]).is_empty());
        // Only what it replaces: another revision gone is still named.
        let mut before = base();
        before.push(m("c3", "b2", "migrations/c3_three.sql", "CREATE TABLE three (id INT);"));
        let found = changed_since("v1", &before, &[baseline]);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("`c3` shipped at v1 and is gone"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn a_deletion_a_rename_and_a_new_id_are_each_named() {
        let deleted = vec![base().remove(0)];
        let found = changed_since("v1", &base(), &deleted);
        assert!(found[0].message.contains("is gone"), "{}", found[0].message);
        assert_eq!(found[0].file.as_deref(), Some("migrations/b2_two.sql"));

        let renamed = vec![
            base().remove(0),
            m("b2", "a1", "migrations/b2_second.sql", "CREATE TABLE two (id INT);"),
        ];
        let found = changed_since("v1", &base(), &renamed);
        assert!(
            found[0].message.contains("`migrations/b2_second.sql` now"),
            "{}",
            found[0].message
        );

        let new_id = vec![
            base().remove(0),
            m("x9", "a1", "migrations/x9_two.sql", "CREATE TABLE two (id INT);"),
        ];
        let found = changed_since("v1", &base(), &new_id);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("is `x9` now"), "{}", found[0].message);
    }
}
