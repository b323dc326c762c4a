//! A repeatable revision's file, `repeatable/<name>.sql`: the header rules of
//! a revision without its ids (its name is its file name), and one upgrade
//! section, re-applied whenever its checksum changes and never unapplied.
//!
//! ```text
//! -- the active accounts
//! -- depends_on: repeatable:account_base
//!
//! -- migrate:upgrade
//! CREATE OR REPLACE VIEW active_account AS SELECT * FROM account_base WHERE active;
//! ```
//!
//! What the folder's repeatables say together (a dependency that names no
//! file, a cycle, two names that differ only in case) is checked by
//! [`crate::repeatable`].

use super::{
    Ctxt, Header, Sections, Syntax, check_cannot_run, check_foreign_keys_off, check_sql_in_header,
    check_transaction_control, check_upgrade_marker, control_characters, directive, first_line, section_text, vars,
};
use crate::checksum::normalise;
use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::migration::{Migration, MigrationParts};
use crate::repeatable::{PREFIX, is_valid_name};

/// A repeatable file, parsed: its migration (revision `repeatable:<name>`,
/// its `-- depends_on: repeatable:<name>` items in
/// [`Migration::runs_after`]) and the line of each dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRepeatable {
    /// The repeatable, as the runtime applies it.
    pub migration: Migration,
    /// Each repeatable it depends on (by name, without the prefix) and the line naming it.
    pub depends_on: Vec<(String, usize)>,
}

/// A `-- depends_on: repeatable:<name>` in a versioned revision: refused,
/// since the repeatables run after every versioned revision of a run.
pub(super) fn refuse_in_revision(cx: &mut Ctxt<'_>, header: &Header<'_>) {
    for (name, line) in &header.repeatables {
        cx.error(
            DiagnosticKind::BadHeader,
            *line,
            format!("`depends_on: {PREFIX}{name}` in a versioned revision"),
            "repeatables are applied after every versioned revision of a run, so a revision cannot wait for one: put what the revision needs in the revision itself, or in a versioned revision before it",
        );
    }
}

/// The line (from 1) of the first `-- migrate:<key>:` directive, for a
/// directive read into the header without its line.
fn line_of(lines: &[&str], key: &str) -> usize {
    lines
        .iter()
        .position(|l| directive(l, "--").is_some_and(|d| d.starts_with(key)))
        .map_or(1, |i| i + 1)
}

/// What a repeatable's header may not hold: the ids and sections of a
/// versioned revision, and the directives of a deploy's phases.
fn check_header(cx: &mut Ctxt<'_>, header: &Header<'_>, lines: &[&str]) {
    let refuse = |cx: &mut Ctxt<'_>, line: usize, what: &str, help: &str| {
        cx.error(
            DiagnosticKind::BadHeader,
            line,
            format!("{what} in a repeatable revision"),
            help,
        );
    };
    let ids = "a repeatable has no id and no parent: its name is its file name, and it runs after every versioned revision; remove the line (or, for a versioned revision, move the file out of `repeatable/`)";
    if let Some((_, line)) = &header.revision {
        refuse(cx, *line, "a `revision:` line", ids);
    }
    if let Some((_, line)) = &header.down {
        refuse(cx, *line, "a `down_revision:` line", ids);
    }
    if !header.runs_after.is_empty() || !header.depends_on.is_empty() {
        refuse(
            cx,
            header.runs_after_line.unwrap_or_else(|| line_of_depends_on(lines)),
            "a `depends_on:` naming a revision",
            "a repeatable depends only on other repeatables (`-- depends_on: repeatable:<name>`); the versioned revisions are all applied before it",
        );
    }
    if let Some(start) = header.downgrade_start {
        refuse(
            cx,
            start + 1,
            "a `-- migrate:downgrade` section",
            "a repeatable is re-applied when it changes and never unapplied: write its upgrade so that it replaces what an earlier text created (`CREATE OR REPLACE VIEW`, `DROP … IF EXISTS` then `CREATE`), and remove the section",
        );
    }
    if header.directives.phase.is_some() {
        refuse(
            cx,
            line_of(lines, "phase"),
            "`-- migrate:phase:`",
            "a repeatable runs after the last versioned revision of an upgrade to head, whatever the phase: remove the line",
        );
    }
    if let Some((_, line)) = &header.backfill {
        refuse(
            cx,
            *line,
            "`-- migrate:backfill:`",
            "a backfill is a versioned revision with `-- migrate:phase: backfill`: move it out of `repeatable/`",
        );
    }
}

/// The line of the first `-- depends_on:` comment.
fn line_of_depends_on(lines: &[&str]) -> usize {
    lines
        .iter()
        .position(|l| {
            l.trim()
                .strip_prefix("--")
                .is_some_and(|c| c.trim().starts_with("depends_on"))
        })
        .map_or(1, |i| i + 1)
}

/// Parses one repeatable file. `file` is the path shown in diagnostics; the
/// part of its name before `.sql` is the repeatable's name. Returns every
/// problem found in the file.
pub fn parse(file: &str, text: &str) -> Result<ParsedRepeatable, Vec<Diagnostic>> {
    let text = normalise(text);
    let lines: Vec<&str> = text.split('\n').collect();
    let mut cx = Ctxt {
        file,
        syntax: Syntax::Sql,
        problems: Vec::new(),
    };
    let name = cx.file_name().strip_suffix(".sql").unwrap_or(cx.file_name());
    if !is_valid_name(name) {
        cx.error(
            DiagnosticKind::NameMismatch,
            1,
            format!("`{name}` is not a repeatable's name"),
            "name the file `<name>.sql`, the name 1 to 53 characters of A-Z, a-z, 0-9, `_` and `-`",
        );
    }
    cx.problems.extend(control_characters(file, &lines));
    let mut header = Header::default();
    for (i, line) in lines.iter().enumerate() {
        header.read_line(&mut cx, i, line);
    }
    check_header(&mut cx, &header, &lines);
    let Some(upgrade_start) = check_upgrade_marker(&mut cx, &header, lines.len()) else {
        return Err(cx.problems);
    };
    check_sql_in_header(&mut cx, &header.sql_in_header);
    check_foreign_keys_off(&mut cx, &header);
    cx.finish()?;
    let sections = Sections::of(upgrade_start, None, lines.len());
    vars::check_uses(&mut cx, &header, &lines, &sections);
    if !header.no_transaction {
        check_transaction_control(&mut cx, &lines, &sections);
        check_cannot_run(&mut cx, &lines, &sections, &header.allowed);
    }
    cx.finish()?;
    let migration = Migration::new(MigrationParts {
        revision: format!("{PREFIX}{name}"),
        down_revisions: Vec::new(),
        message: header.message.unwrap_or_default(),
        upgrade: section_text(&lines, sections.upgrade).trim().to_owned(),
        downgrade: None,
        no_transaction: header.no_transaction,
        directives: header.directives,
        depends_on: Vec::new(),
        runs_after: header
            .repeatables
            .iter()
            .map(|(dep, _)| format!("{PREFIX}{dep}"))
            .collect(),
        file: file.to_owned(),
    })
    .located(first_line(&lines, sections.upgrade), header.allowed)
    .with_vars(header.vars);
    Ok(ParsedRepeatable {
        migration,
        depends_on: header.repeatables,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(name: &str, text: &str) -> Vec<(usize, String)> {
        match parse(&format!("migrations/repeatable/{name}.sql"), text) {
            Ok(p) => panic!("parsed: {p:?}"),
            Err(e) => e.into_iter().map(|d| (d.line.unwrap_or(0), d.message)).collect(),
        }
    }

    #[test]
    fn a_repeatable_is_its_name_its_dependencies_and_one_section() {
        let text = "-- the active accounts\n-- depends_on: repeatable:base_view, repeatable:other\n-- migrate:var SCHEMA = public\n-- migrate:upgrade\nCREATE OR REPLACE VIEW ${SCHEMA}.active AS SELECT 1;\n";
        let p = parse("migrations/repeatable/active.sql", text).unwrap();
        let m = &p.migration;
        assert_eq!(m.revision(), "repeatable:active");
        assert_eq!(m.message(), "the active accounts");
        assert_eq!(m.down_revisions().count(), 0);
        assert_eq!(m.downgrade_sql(), None);
        assert_eq!(m.upgrade_sql(), "CREATE OR REPLACE VIEW ${SCHEMA}.active AS SELECT 1;");
        assert_eq!(
            m.runs_after().collect::<Vec<_>>(),
            ["repeatable:base_view", "repeatable:other"]
        );
        assert_eq!(p.depends_on, [("base_view".to_owned(), 2), ("other".to_owned(), 2)]);
        assert_eq!(m.vars().count(), 1);
        assert_eq!(m.upgrade_line(), 5);
    }

    #[test]
    fn refuses_what_a_repeatable_cannot_hold() {
        let got = problems(
            "v",
            "-- v\n-- revision: abc\n-- down_revision:\n-- depends_on: abc\n-- migrate:phase: expand\n-- migrate:upgrade\nSELECT 1;\n-- migrate:downgrade\nSELECT 2;\n",
        );
        let lines: Vec<usize> = got.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [2, 3, 4, 8, 5], "{got:?}");
        assert!(
            got.iter().all(|(_, m)| m.ends_with("in a repeatable revision")),
            "{got:?}"
        );
        let bad_name = problems("a b", "-- v\n-- migrate:upgrade\nSELECT 1;\n");
        assert!(bad_name[0].1.contains("not a repeatable's name"), "{bad_name:?}");
        let no_marker = problems("v", "-- v\nCREATE VIEW v AS SELECT 1;\n");
        assert!(
            no_marker.iter().any(|(l, m)| *l == 2 && m.contains("migrate:upgrade")),
            "{no_marker:?}"
        );
        let commit = problems("v", "-- v\n-- migrate:upgrade\nCREATE VIEW v AS SELECT 1;\nCOMMIT;\n");
        assert_eq!(commit[0].0, 4, "{commit:?}");
    }

    #[test]
    fn a_versioned_revision_cannot_depend_on_a_repeatable() {
        let text =
            "-- a\n-- revision: a\n-- down_revision:\n-- depends_on: repeatable:v\n-- migrate:upgrade\nSELECT 1;\n";
        let e = crate::format::parse("migrations/a_x.sql", text).unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].line, Some(4));
        assert!(e[0].message.contains("in a versioned revision"), "{e:?}");
    }
}
