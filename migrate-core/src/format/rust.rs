//! Rust revisions: a `migrations/<revision>_<slug>.rs` file, its header in
//! `//!` lines read by the same rules as a SQL file's `--` header.
//!
//! ```text
//! //! backfill display names
//! //!
//! //! revision: 5c0ffee00001
//! //! down_revision: 1975ea83b712
//! //! migrate:lock-timeout: 5s
//!
//! pub async fn upgrade(conn: &mut migrate::Connection<'_>) -> migrate::RustResult {
//!     Ok(())
//! }
//!
//! pub async fn downgrade(conn: &mut migrate::Connection<'_>) -> migrate::RustResult {
//!     Ok(())
//! }
//! ```
//!
//! The header is the `//!` lines (and blank lines) at the top of the file;
//! the first other line ends it. Its keys and directives are SQL's, but for
//! those that only mean something to SQL text (`migrate:upgrade`,
//! `migrate:downgrade`, `migrate:foreign-keys-off`, `migrate:allow`).
//! `//! migrate:backfill: TABLE.KEY batch=N` (phase backfill) names the
//! ranges the runtime's `migrate::backfill` hands the revision's closure. The
//! file must define `pub async fn upgrade`; it is reversible when it defines
//! `pub async fn downgrade` (each read from the start of a line: the
//! compiler checks the rest). Its checksum is the whole file's normalised
//! text, with the no-transaction flag: any edit to the code is drift.

use super::{Ctxt, Header, ParsedFile, Syntax, check_down_revision, check_revision, control_characters, normalise};
use crate::checksum::Checksum;
use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::migration::{Language, Migration, MigrationParts};

/// The signature a Rust revision's upgrade function has.
pub const UPGRADE_SIGNATURE: &str = "pub async fn upgrade(conn: &mut migrate::Connection<'_>) -> migrate::RustResult";

/// The signature a Rust revision's downgrade function has.
pub const DOWNGRADE_SIGNATURE: &str =
    "pub async fn downgrade(conn: &mut migrate::Connection<'_>) -> migrate::RustResult";

/// A message or help written with SQL's `--` comments, as a Rust header spells it.
pub(super) fn spelled(text: &str) -> String {
    text.replace(
        "above `-- migrate:upgrade`",
        "in the `//!` header at the top of the file",
    )
    .replace("`-- ", "`//! ")
    .replace("`--`", "`//!`")
}

/// Reports a directive (`name`, on line `n`) that a Rust revision cannot
/// carry, and says whether it did.
pub(super) fn refuses(cx: &mut Ctxt<'_>, n: usize, name: &str) -> bool {
    let word = name.split([':', ' ']).next().unwrap_or(name).trim();
    let why = match word {
        "upgrade" | "downgrade" => format!(
            "a Rust revision has no sections: its `{word}` function is the {word}"
        ),
        "foreign-keys-off" => "foreign keys off frames a SQL file's statements (SQLite's table rebuild); a Rust revision sets what it needs on its connection".to_owned(),
        "allow" => "lint waivers apply to SQL; the compiler checks a Rust revision".to_owned(),
        "no-variables" => "a Rust revision has no SQL in which a `${…}` would be replaced".to_owned(),
        "replaces" | "squashed" => "a squash baseline is the SQL file `migrate squash` writes".to_owned(),
        _ => return false,
    };
    cx.error(
        DiagnosticKind::BadHeader,
        n,
        format!("`//! migrate:{word}` has no meaning in a Rust revision"),
        &format!("remove it: {why}"),
    );
    true
}

/// Whether a line of code starts the definition of `pub async fn <name>`.
fn defines(line: &str, name: &str) -> bool {
    line.trim_start()
        .strip_prefix("pub async fn ")
        .and_then(|rest| rest.trim_start().strip_prefix(name))
        .is_some_and(|rest| rest.trim_start().starts_with(['(', '<']))
}

/// Parses a Rust revision: the header's fields and directives, whether it
/// defines `upgrade` and `downgrade`, and its checksum. Every problem found.
pub fn parse(file: &str, text: &str) -> Result<ParsedFile, Vec<Diagnostic>> {
    let text = normalise(text);
    let lines: Vec<&str> = text.split('\n').collect();
    let mut cx = Ctxt {
        file,
        syntax: Syntax::Rust,
        problems: Vec::new(),
    };
    cx.problems.extend(control_characters(file, &lines));
    let mut header = Header::default();
    let header_end = lines
        .iter()
        .position(|l| !l.trim().is_empty() && !l.trim_start().starts_with(Syntax::Rust.prefix()))
        .unwrap_or(lines.len());
    for (i, line) in lines[..header_end].iter().enumerate() {
        header.read_line(&mut cx, i, line);
    }
    let (revision, revision_line) = check_revision(&mut cx, header.revision.take());
    let (down_revisions, down_revision_line) = check_down_revision(&mut cx, header.down.take(), revision_line);
    super::repeatable::refuse_in_revision(&mut cx, &header);
    let code = &lines[header_end..];
    if !code.iter().any(|l| defines(l, "upgrade")) {
        cx.error(
            DiagnosticKind::MissingUpgrade,
            header_end.max(1),
            "a Rust revision without `pub async fn upgrade`".into(),
            &format!("define `{UPGRADE_SIGNATURE}` (and, to make it reversible, `downgrade` alike)"),
        );
    }
    super::backfill::check_header(&mut cx, &header);
    cx.finish()?;
    let Some(revision) = revision else {
        return Err(cx.problems);
    };
    let reversible = code.iter().any(|l| defines(l, "downgrade"));
    let checksum = Checksum::of(&text, header.no_transaction);
    let parts = MigrationParts {
        revision,
        down_revisions,
        message: header.message.unwrap_or_default(),
        upgrade: String::new(),
        downgrade: reversible.then(String::new),
        no_transaction: header.no_transaction,
        directives: header.directives,
        depends_on: header.depends_on,
        runs_after: header.runs_after,
        file: file.to_owned(),
    };
    Ok(ParsedFile {
        migration: Migration::with_checksum(parts, checksum)
            .written_in(Language::Rust)
            .located(header_end + 1, Vec::new())
            .with_backfill(header.backfill.map(|(b, _)| b)),
        created: header.created,
        revision_line,
        down_revision_line,
        depends_on_line: header.runs_after_line,
    })
}

/// Renders the text of a new Rust revision: the header and the two
/// functions, empty, so that it compiles as written.
pub fn render(message: &str, revision: &str, down_revisions: &[&str], created: &str) -> String {
    format!(
        "//! {message}\n//!\n//! revision: {revision}\n//! down_revision: {}\n//! created: {created}\n\n\
         {UPGRADE_SIGNATURE} {{\n    let _ = conn;\n    Ok(())\n}}\n\n\
         {DOWNGRADE_SIGNATURE} {{\n    let _ = conn;\n    Ok(())\n}}\n",
        down_revisions.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &str, code: &str) -> String {
        format!("{header}\n\n{code}")
    }

    const UP: &str = "pub async fn upgrade(conn: &mut migrate::Connection<'_>) -> migrate::RustResult { Ok(()) }";

    #[test]
    fn header_and_functions() {
        let text = file(
            "//! backfill names\n//!\n//! revision: b2\n//! down_revision: a1\n//! migrate:lock-timeout: 5s\n//! migrate:no-transaction\n//! depends_on: a0",
            &format!(
                "{UP}\npub async fn downgrade(c: &mut migrate::Connection<'_>) -> migrate::RustResult {{ Ok(()) }}"
            ),
        );
        let p = parse("migrations/b2_backfill.rs", &text).unwrap();
        let m = &p.migration;
        assert!(m.is_rust());
        assert_eq!(m.revision(), "b2");
        assert_eq!(m.message(), "backfill names");
        assert_eq!(m.down_revisions().collect::<Vec<_>>(), ["a1"]);
        assert_eq!(m.runs_after().collect::<Vec<_>>(), ["a0"]);
        assert!(m.no_transaction());
        assert_eq!(m.directives().lock_timeout, Some(std::time::Duration::from_secs(5)));
        assert_eq!(m.upgrade_sql(), "");
        assert_eq!(m.downgrade_sql(), Some(""));
        assert_eq!(p.revision_line, 3);
        // The whole text is hashed: an edit to the code is drift.
        let edited = parse(
            "migrations/b2_backfill.rs",
            &text.replace("Ok(()) }\npub", "Ok(())}\npub"),
        )
        .unwrap();
        assert_ne!(edited.migration.checksum(), m.checksum());
        let crlf = parse("migrations/b2_backfill.rs", &text.replace('\n', "\r\n")).unwrap();
        assert_eq!(crlf.migration.checksum(), m.checksum());
    }

    #[test]
    fn without_downgrade_it_is_irreversible() {
        let text = file("//! m\n//! revision: a1\n//! down_revision:", UP);
        let m = parse("m/a1_x.rs", &text).unwrap().migration;
        assert_eq!(m.downgrade_sql(), None);
        assert!(m.down_revisions().next().is_none());
    }

    #[test]
    fn problems_are_the_sql_headers_spelt_for_rust() {
        let text = file(
            "//! m\n//! revision: a1\n//! migrate:upgrade\n//! migrate:phase: later\n//! migrate:foreign-keys-off\n//! phase: contract",
            "fn other() {}",
        );
        let problems = parse("m/b1_x.rs", &text).unwrap_err();
        let all: Vec<String> = problems.iter().map(|d| format!("{d:#}")).collect();
        let all = all.join("\n");
        for expected in [
            "does not match the file name `b1_x.rs`",
            "rename the file to `a1_<slug>.rs`",
            "missing `//! down_revision:` line",
            "`//! migrate:upgrade` has no meaning in a Rust revision",
            "`//! migrate:foreign-keys-off` has no meaning",
            "in `//! migrate:phase:`, unknown phase `later`",
            "without `pub async fn upgrade`",
            "did you mean `//! migrate:phase: contract`",
        ] {
            assert!(all.contains(expected), "{expected:?} not in:\n{all}");
        }
        assert!(!all.contains("`-- "), "{all}");
    }

    #[test]
    fn a_backfill_names_its_ranges_in_the_header() {
        let header = "//! fill t.v\n//! revision: b2\n//! down_revision: a1\n//! migrate:phase: backfill\n//! migrate:backfill: t.id batch=500";
        let m = parse("m/b2_fill.rs", &file(header, UP)).unwrap().migration;
        let spec = m.backfill().unwrap();
        assert_eq!((spec.table(), spec.key(), spec.batch()), ("t", "id", 500));
        // A Rust revision of phase backfill may run as one step, without ranges.
        let whole = header.replace("\n//! migrate:backfill: t.id batch=500", "");
        assert!(
            parse("m/b2_fill.rs", &file(&whole, UP))
                .unwrap()
                .migration
                .backfill()
                .is_none()
        );
        let problems = parse(
            "m/b2_fill.rs",
            &file(&header.replace("migrate:phase: backfill", "migrate:no-transaction"), UP),
        )
        .unwrap_err();
        let all: Vec<String> = problems.iter().map(|d| format!("{d:#}")).collect();
        let all = all.join("\n");
        assert!(
            all.contains("`//! migrate:backfill:` in a revision whose phase is not backfill"),
            "{all}"
        );
        assert!(
            all.contains("`//! migrate:no-transaction` in a backfill revision"),
            "{all}"
        );
    }

    #[test]
    fn the_template_parses() {
        let text = render("add names", "c3", &["a1", "b2"], "2026-01-01T00:00:00Z");
        let p = parse("migrations/c3_add_names.rs", &text).unwrap();
        assert_eq!(p.migration.message(), "add names");
        assert_eq!(p.migration.down_revisions().collect::<Vec<_>>(), ["a1", "b2"]);
        assert_eq!(p.migration.downgrade_sql(), Some(""));
        assert_eq!(p.created.as_deref(), Some("2026-01-01T00:00:00Z"));
    }

    #[test]
    fn dispatched_by_extension() {
        let text = file("//! m\n//! revision: a1\n//! down_revision:", UP);
        assert!(crate::format::parse("m/a1_x.rs", &text).unwrap().migration.is_rust());
    }
}
