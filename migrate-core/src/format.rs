//! The migration file format: text in, a parsed migration with line numbers out.
//!
//! ```text
//! -- create account table
//! --
//! -- revision: 1975ea83b712
//! -- down_revision:
//! -- created: 2026-11-22T01:42:51Z
//!
//! -- migrate:upgrade
//! CREATE TABLE account (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL);
//!
//! -- migrate:downgrade
//! DROP TABLE account;
//! ```
//!
//! The header is every line before `-- migrate:upgrade`; it holds only
//! comments. Its first comment line is the message; `revision:`,
//! `down_revision:` and `created:` lines carry the metadata, and
//! `-- migrate:no-transaction` makes the migration run outside a
//! transaction; `-- migrate:foreign-keys-off` runs it with foreign key
//! enforcement off (SQLite's table rebuilds); `-- migrate:allow RULE: reason`
//! waives a [`crate::lint`] rule for the revision (the reason is required).
//! A statement that cannot run in the transaction the migration runs in
//! (`CREATE INDEX CONCURRENTLY`) is refused here. Sections run from their marker line to the next marker,
//! trimmed of surrounding blank space; their SQL is never split or rewritten.
//! A comment that looks like a directive without being written as one
//! (`-- phase: contract`, `-- MIGRATE:upgrade`) is an error naming the
//! spelling it meant, never a comment that silently does nothing (see
//! `format/lookalike.rs`).

use crate::checksum::normalise;
use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::migration::{Directives, Migration, MigrationParts, Phase};
use lookalike::{MIGRATION_KEYS, Meant, Place, lookalike, split_key};

mod backfill;
pub(crate) mod lookalike;
pub mod repeatable;
pub mod rust;
pub(crate) mod squash;
mod vars;

/// The longest revision id accepted.
pub const MAX_REVISION_LEN: usize = 64;

/// The marker that starts the upgrade section.
pub const UPGRADE_MARKER: &str = "-- migrate:upgrade";
/// The marker that starts the downgrade section.
pub const DOWNGRADE_MARKER: &str = "-- migrate:downgrade";
/// The header directive that runs a migration outside a transaction.
pub const NO_TRANSACTION_DIRECTIVE: &str = "-- migrate:no-transaction";
/// The header directive that runs a migration with foreign key enforcement off.
pub const FOREIGN_KEYS_OFF_DIRECTIVE: &str = "-- migrate:foreign-keys-off";

/// Every header directive, as the help of an unknown one lists them.
const DIRECTIVES_HELP: &str = "the directives are `-- migrate:upgrade`, `-- migrate:downgrade`, and in the header `-- migrate:no-transaction`, `-- migrate:foreign-keys-off`, `-- migrate:phase: expand|backfill|contract`, `-- migrate:backfill: TABLE.KEY batch=N`, `-- migrate:lock-timeout: 5s`, `-- migrate:statement-timeout: 10min`, `-- migrate:max-lock: share-update-exclusive`, `-- migrate:var [secret] NAME [= default]`, `-- migrate:no-variables`, `-- migrate:allow RULE: reason`, and a squash baseline's `-- migrate:replaces: a, b` and `-- migrate:squashed: RELEASE`";

/// A migration file, parsed, with the lines that diagnostics point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedFile {
    /// The migration itself.
    pub migration: Migration,
    /// The `created:` value, if the header has one.
    pub created: Option<String>,
    /// The line of `revision:`.
    pub revision_line: usize,
    /// The line of `down_revision:`.
    pub down_revision_line: usize,
    /// The line of the first `depends_on:` naming a revision of this folder.
    pub depends_on_line: Option<usize>,
}

/// Whether `id` is a valid revision id: 1 to 64 of `[A-Za-z0-9_]`, and not
/// one of the reserved target words `head` and `base`.
pub fn is_valid_revision(id: &str) -> bool {
    !id.is_empty()
        && id != "head"
        && id != "base"
        && id.len() <= MAX_REVISION_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The language a file's header is written in: its comment prefix and its
/// file extension are all that differ; the header's rules are the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    /// A `.sql` file: `--` comments.
    Sql,
    /// A `.rs` file: `//!` comments (see `format/rust.rs`).
    Rust,
}

impl Syntax {
    /// What starts a header comment.
    fn prefix(self) -> &'static str {
        match self {
            Syntax::Sql => "--",
            Syntax::Rust => "//!",
        }
    }

    /// The file extension, with its dot.
    fn extension(self) -> &'static str {
        match self {
            Syntax::Sql => ".sql",
            Syntax::Rust => ".rs",
        }
    }
}

/// The directive name of a `<prefix> migrate:<name>` line, if `line` is one.
fn directive<'l>(line: &'l str, prefix: &str) -> Option<&'l str> {
    let rest = line.trim().strip_prefix(prefix)?.trim_start();
    rest.strip_prefix("migrate:").map(str::trim)
}

/// A comment line's text without its prefix (`--`, `//!`), or `None` for a line that is not a comment.
fn comment<'l>(line: &'l str, prefix: &str) -> Option<&'l str> {
    line.trim().strip_prefix(prefix).map(str::trim)
}

/// Whether `c` is a control character no migration should hold: every C0
/// control but tab and form feed (line breaks are already `\n`), and DEL.
pub(crate) fn is_forbidden_control(c: char) -> bool {
    (c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\x0c')) || matches!(c, '\u{80}'..='\u{9f}')
}

/// One diagnostic for the control characters of a file (its lines, line
/// breaks normalised), at the first one: migration and schema files alike.
pub(crate) fn control_characters(file: &str, lines: &[&str]) -> Option<Diagnostic> {
    let mut found = lines.iter().enumerate().filter_map(|(i, line)| {
        line.chars()
            .position(is_forbidden_control)
            .map(|col| (i + 1, col + 1, line))
    });
    let (line, column, text) = found.next()?;
    let more = found.count();
    let c = text.chars().nth(column - 1).unwrap_or('\0');
    let name = match c {
        '\0' => " (NUL)".to_owned(),
        '\x1b' => " (ESC)".to_owned(),
        '\x7f' => " (DEL)".to_owned(),
        _ => String::new(),
    };
    let also = match more {
        0 => String::new(),
        1 => " (and on 1 more line)".to_owned(),
        n => format!(" (and on {n} more lines)"),
    };
    Some(
        Diagnostic::new(
            DiagnosticKind::ControlCharacter,
            format!("control character U+{:04X}{name} at column {column}{also}", c as u32),
        )
        .in_file(file)
        .at_line(Some(line))
        .with_help("remove it (an editor may not show it; `cat -A` does); a value that needs one can be written with an escape such as char(0) or E'\\x01'"),
    )
}

/// The problems of one file, each at its line: what every rule reports into.
struct Ctxt<'f> {
    file: &'f str,
    syntax: Syntax,
    problems: Vec<Diagnostic>,
}

impl<'f> Ctxt<'f> {
    fn error(&mut self, kind: DiagnosticKind, line: usize, message: String, help: &str) {
        // The rules are written once, in SQL's spelling; a Rust header's comments start with `//!`.
        let (message, help) = match self.syntax {
            Syntax::Sql => (message, help.to_owned()),
            Syntax::Rust => (rust::spelled(&message), rust::spelled(help)),
        };
        let help = help.as_str();
        self.problems.push(
            Diagnostic::new(kind, message)
                .in_file(self.file)
                .at_line(Some(line))
                .with_help(help),
        );
    }

    /// The file's name: the part of its path after the last `/`.
    fn file_name(&self) -> &'f str {
        self.file.rsplit('/').next().unwrap_or(self.file)
    }

    /// Every problem so far as the error, if there is one.
    fn finish(&mut self) -> Result<(), Vec<Diagnostic>> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(std::mem::take(&mut self.problems))
        }
    }
}

/// What the lines of a file say, read one at a time: the header's fields
/// and directives, and where the sections start.
#[derive(Default)]
struct Header<'t> {
    message: Option<String>,
    /// The id and its line.
    revision: Option<(String, usize)>,
    /// The parent ids and their line.
    down: Option<(Vec<String>, usize)>,
    created: Option<String>,
    no_transaction: bool,
    foreign_keys_off_line: usize,
    /// The index of the `-- migrate:upgrade` line.
    upgrade_start: Option<usize>,
    /// The index of the `-- migrate:downgrade` line.
    downgrade_start: Option<usize>,
    /// The lines of SQL above the upgrade marker.
    sql_in_header: Vec<usize>,
    directives: Directives,
    depends_on: Vec<(String, String)>,
    /// `-- depends_on: REV` items of the same folder, and the line of the first.
    runs_after: Vec<String>,
    runs_after_line: Option<usize>,
    /// The `-- migrate:<key>:` directives already read.
    seen_directives: Vec<&'t str>,
    /// The lint rules `-- migrate:allow RULE: reason` lines waive.
    allowed: Vec<String>,
    /// `-- migrate:backfill: TABLE.KEY batch=N`, read, and its line.
    backfill: Option<(crate::migration::Backfill, usize)>,
    /// `-- migrate:var` declarations (see `format/vars.rs`).
    vars: Vec<crate::sql::vars::Variable>,
    /// The line of `-- migrate:no-variables`: every `${…}` stays as written.
    no_variables: Option<usize>,
    /// `-- depends_on: repeatable:<name>` items, each with its line (see `format/repeatable.rs`).
    repeatables: Vec<(String, usize)>,
    /// A squash baseline's `-- migrate:replaces:` ids and line (see `format/squash.rs`).
    replaces: Option<(Vec<String>, usize)>,
    /// A squash baseline's `-- migrate:squashed:` values (one a line, the
    /// earlier squashes it carries first) and the line of its own.
    squashed: Option<(String, usize)>,
}

impl<'t> Header<'t> {
    /// Reads line `i` (from 0).
    fn read_line(&mut self, cx: &mut Ctxt<'_>, i: usize, line: &'t str) {
        if let Some(name) = directive(line, cx.syntax.prefix()) {
            if let Some(declaration) = vars::declaration_text(name) {
                return self.var(cx, i + 1, declaration);
            }
            match name.split_once(':') {
                Some((key, value)) => self.valued_directive(cx, i + 1, key.trim(), value),
                None => self.marker(cx, i, name),
            }
            return;
        }
        // Section text is kept verbatim, but for a comment that would be a
        // directive had it been spelt right; blank lines say nothing.
        if self.upgrade_start.is_some() {
            if let Some(body) = comment(line, cx.syntax.prefix()) {
                lookalike_line(cx, i + 1, line, body, Place::Sql);
            }
            return;
        }
        if line.trim().is_empty() {
            return;
        }
        match comment(line, cx.syntax.prefix()) {
            Some(body) => self.comment(cx, i + 1, line, body),
            None => self.sql_in_header.push(i + 1),
        }
    }

    /// `-- migrate:<key>: <value>` on line `n`.
    fn valued_directive(&mut self, cx: &mut Ctxt<'_>, n: usize, key: &'t str, value: &str) {
        if cx.syntax == Syntax::Rust && rust::refuses(cx, n, key) {
        } else if let Some(rule) = key.strip_prefix("allow").filter(|r| r.is_empty() || r.starts_with(' ')) {
            self.allow(cx, n, rule.trim(), value.trim());
        } else if !matches!(
            key,
            "phase" | "lock-timeout" | "statement-timeout" | "max-lock" | "backfill" | "replaces" | "squashed"
        ) {
            cx.error(
                DiagnosticKind::BadHeader,
                n,
                format!("unknown directive `-- migrate:{key}:`"),
                &did_you_mean(&format!("{key}:{value}")),
            );
        } else if self.upgrade_start.is_some() {
            cx.error(
                DiagnosticKind::BadHeader,
                n,
                format!("`-- migrate:{key}:` must be in the header"),
                "move it above `-- migrate:upgrade`",
            );
        } else if self.seen_directives.contains(&key) && key != "squashed" {
            cx.error(
                DiagnosticKind::BadHeader,
                n,
                format!("second `-- migrate:{key}:` line"),
                "keep one",
            );
        } else if key == "replaces" || key == "squashed" {
            self.seen_directives.push(key);
            squash::read(self, cx, n, key, value);
        } else if key == "backfill" {
            self.seen_directives.push(key);
            match backfill::spec(value) {
                Ok(spec) => self.backfill = Some((spec, n)),
                Err(message) => cx.error(
                    DiagnosticKind::BadHeader,
                    n,
                    format!("in `-- migrate:backfill:`, {message}"),
                    backfill::SPEC_HELP,
                ),
            }
        } else {
            self.seen_directives.push(key);
            if let Err((message, help)) = set_valued_directive(&mut self.directives, key, value) {
                cx.error(
                    DiagnosticKind::BadHeader,
                    n,
                    format!("in `-- migrate:{key}:`, {message}"),
                    help,
                );
            }
        }
    }

    /// `-- migrate:allow <rule>: <reason>` on line `n`: a lint rule this
    /// revision waives, with why.
    fn allow(&mut self, cx: &mut Ctxt<'_>, n: usize, rule: &str, reason: &str) {
        let example = "for example `-- migrate:allow index-without-concurrently: the table holds a few rows`";
        let (message, help) = if self.upgrade_start.is_some() {
            (
                "`-- migrate:allow` must be in the header".to_owned(),
                "move it above `-- migrate:upgrade`".to_owned(),
            )
        } else if rule.is_empty() {
            (
                "`-- migrate:allow` names no lint rule".to_owned(),
                format!("name the rule it waives and why, {example}"),
            )
        } else if crate::lint::rule(rule).is_none() {
            (
                format!("`-- migrate:allow {rule}`: no lint rule is called `{rule}`"),
                format!("the rules are {}", crate::lint::rule_ids()),
            )
        } else if reason.is_empty() {
            (
                format!("`-- migrate:allow {rule}` gives no reason"),
                format!("a waiver says why the rule does not apply here: `-- migrate:allow {rule}: <why>`, {example}"),
            )
        } else {
            self.allowed.push(rule.to_owned());
            return;
        };
        cx.error(DiagnosticKind::BadHeader, n, message, &help);
    }

    /// `-- migrate:<name>` on line `i` (from 0): a section marker or a flag.
    fn marker(&mut self, cx: &mut Ctxt<'_>, i: usize, name: &str) {
        let n = i + 1;
        if cx.syntax == Syntax::Rust && rust::refuses(cx, n, name) {
            return;
        }
        if let Some(rule) = name
            .strip_prefix("allow")
            .filter(|r| r.is_empty() || r.starts_with(' '))
        {
            return self.allow(cx, n, rule.trim(), "");
        }
        let in_header = self.upgrade_start.is_none();
        let problem: Option<(String, &str)> = match name {
            "upgrade" if in_header => {
                self.upgrade_start = Some(i);
                None
            }
            "upgrade" => Some((
                "second `-- migrate:upgrade` marker".into(),
                "a file holds one upgrade section; move this SQL into the first one or into a new revision",
            )),
            "downgrade" if in_header => Some((
                "`-- migrate:downgrade` comes before `-- migrate:upgrade`".into(),
                "put the upgrade section first, then the downgrade section",
            )),
            "downgrade" if self.downgrade_start.is_none() => {
                self.downgrade_start = Some(i);
                None
            }
            "downgrade" => Some((
                "second `-- migrate:downgrade` marker".into(),
                "a file holds one downgrade section; merge the two",
            )),
            "no-transaction" if in_header => {
                self.no_transaction = true;
                None
            }
            "no-variables" if in_header && self.no_variables.is_some() => {
                Some(("second `-- migrate:no-variables` line".into(), "keep one"))
            }
            "no-variables" if in_header => {
                self.no_variables = Some(n);
                None
            }
            "no-transaction" | "foreign-keys-off" | "no-variables" if !in_header => Some((
                format!("`-- migrate:{name}` must be in the header"),
                "move it above `-- migrate:upgrade`",
            )),
            "foreign-keys-off" if self.directives.foreign_keys_off => {
                Some(("second `-- migrate:foreign-keys-off` line".into(), "keep one"))
            }
            "foreign-keys-off" => {
                self.directives.foreign_keys_off = true;
                self.foreign_keys_off_line = n;
                None
            }
            other => Some((format!("unknown directive `-- migrate:{other}`"), "")),
        };
        if let Some((message, help)) = problem {
            let help = if help.is_empty() {
                did_you_mean(name)
            } else {
                help.to_owned()
            };
            cx.error(DiagnosticKind::BadHeader, n, message, &help);
        }
    }

    /// A header comment `line`, line `n`, whose text after `--` is `body`.
    fn comment(&mut self, cx: &mut Ctxt<'_>, n: usize, line: &str, body: &str) {
        match body.split_once(':').map(|(k, v)| (k.trim(), v.trim())) {
            Some(("revision", v)) => self.revision_line(cx, n, v),
            Some(("down_revision", v)) => self.down_revision_line(cx, n, v),
            Some(("created", v)) => self.created = Some(v.to_owned()),
            Some(("depends_on", v)) => self.depends_on_line(cx, n, v),
            _ if lookalike_line(cx, n, line, body, Place::Header) => {}
            _ if self.message.is_none() && !body.is_empty() => self.message = Some(body.to_owned()),
            _ => {} // free text in the header
        }
    }

    /// `-- revision: <id>` on line `n`.
    fn revision_line(&mut self, cx: &mut Ctxt<'_>, n: usize, id: &str) {
        if self.revision.is_some() {
            cx.error(
                DiagnosticKind::BadHeader,
                n,
                "second `revision:` line".into(),
                "keep one `revision:` line",
            );
        } else {
            self.revision = Some((id.to_owned(), n));
        }
    }

    /// `-- down_revision: <ids>` on line `n`.
    fn down_revision_line(&mut self, cx: &mut Ctxt<'_>, n: usize, ids: &str) {
        if self.down.is_some() {
            cx.error(
                DiagnosticKind::BadHeader,
                n,
                "second `down_revision:` line".into(),
                "list every parent of a merge on one line, separated by commas",
            );
        } else {
            let ids: Vec<String> = if ids.is_empty() {
                Vec::new()
            } else {
                ids.split(',').map(|s| s.trim().to_owned()).collect()
            };
            self.down = Some((ids, n));
        }
    }

    /// `-- depends_on: <revision> | <set>@<revision>, …` on line `n`: a
    /// revision of this folder it runs after, or one of another set.
    fn depends_on_line(&mut self, cx: &mut Ctxt<'_>, n: usize, items: &str) {
        for item in items.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if let Some(name) = item.strip_prefix(crate::repeatable::PREFIX) {
                self.repeatables.push((name.trim().to_owned(), n));
                continue;
            }
            if !item.contains('@') && is_valid_revision(item) {
                self.runs_after.push(item.to_owned());
                self.runs_after_line.get_or_insert(n);
                continue;
            }
            match set_revision(item) {
                Some(dependency) => self.depends_on.push(dependency),
                None => cx.error(
                    DiagnosticKind::BadHeader,
                    n,
                    format!("`{item}` in `depends_on` is neither a revision id nor `<set>@<revision>`"),
                    "name a revision of this folder that must run first (`-- depends_on: 4f1a2b3c4d5e`), or a migration set and its revision (`-- depends_on: jobq@4f1a2b3c4d5e`)",
                ),
            }
        }
    }
}

/// The help of an unknown `-- migrate:<text>` directive: the spelling it
/// meant when `text` is a known one's loosely, else the list.
fn did_you_mean(text: &str) -> String {
    match split_key(text, MIGRATION_KEYS) {
        Some((key, value, _)) => format!("did you mean `{}`?", key.spelled(value)),
        None => DIRECTIVES_HELP.to_owned(),
    }
}

/// Reports comment `line` (line `n`, text `body` after `--`) if it looks
/// like a directive without being one; says whether it did.
fn lookalike_line(cx: &mut Ctxt<'_>, n: usize, line: &str, body: &str, place: Place) -> bool {
    let Some(meant) = lookalike(body, MIGRATION_KEYS, place) else {
        return false;
    };
    let written = line.trim();
    let (message, help) = match meant {
        Meant::Directive(d) => (
            format!("`{written}` is not a directive: did you mean `{d}`?"),
            format!(
                "directives are read only as written exactly, so this line is a comment and does nothing: write `{d}`, or, if it is a comment, reword it so it does not start like a directive"
            ),
        ),
        Meant::Unknown => (
            format!("`{written}` looks like a directive but is none"),
            format!("{DIRECTIVES_HELP}; if it is a comment, reword it so it does not start with `migrate:`"),
        ),
    };
    cx.error(DiagnosticKind::BadHeader, n, message, &help);
    true
}

/// What `-- migrate:max-lock:` may name.
const MAX_LOCK_HELP: &str = "name the strongest lock its statements may take on a table: PostgreSQL's access-share, row-share, row-exclusive, share-update-exclusive, share, share-row-exclusive, exclusive, access-exclusive; MySQL's metadata locks shared, shared-high-prio, shared-read, shared-write, shared-upgradable, shared-read-only, shared-no-write, shared-no-read-write, exclusive";

/// Sets the directive `key` (`phase`, `lock-timeout`, `statement-timeout` or `max-lock`)
/// to `value`, or says what is wrong with the value and how to write it.
fn set_valued_directive(directives: &mut Directives, key: &str, value: &str) -> Result<(), (String, &'static str)> {
    match key {
        "phase" => value.parse::<Phase>().map(|p| directives.phase = Some(p)).map_err(|e| {
            (e.to_string(), "an expand revision only adds what the previous release tolerates; a backfill revision changes data in batches while the new release serves; a contract revision removes what no running code uses any more")
        }),
        "max-lock" => value
            .parse::<crate::lock::TableLock>()
            .map(|l| directives.max_lock = Some(l))
            .map_err(|e| (e.to_string(), MAX_LOCK_HELP)),
        _ => crate::duration::parse(value)
            .map(|d| {
                if key == "lock-timeout" {
                    directives.lock_timeout = Some(d);
                } else {
                    directives.statement_timeout = Some(d);
                }
            })
            .map_err(|e| (e.to_string(), "for example `-- migrate:lock-timeout: 5s` or `-- migrate:statement-timeout: 10min`")),
    }
}

/// A `depends_on` item, `<set>@<revision>`, as `(set, revision)`.
fn set_revision(item: &str) -> Option<(String, String)> {
    let (set, rev) = item.split_once('@')?;
    let (set, rev) = (set.trim(), rev.trim());
    let valid =
        is_valid_revision(rev) && !set.is_empty() && set.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then(|| (set.to_owned(), rev.to_owned()))
}

/// The revision id, if it is valid, and the line diagnostics about it point at.
fn check_revision(cx: &mut Ctxt<'_>, revision: Option<(String, usize)>) -> (Option<String>, usize) {
    let name = cx.file_name();
    let extension = cx.syntax.extension();
    let Some((id, line)) = revision else {
        cx.error(
            DiagnosticKind::BadHeader,
            1,
            "missing `-- revision:` line in the header".into(),
            &format!(
                "add `-- revision: {}` above `-- migrate:upgrade`",
                name.split('_').next().unwrap_or("<id>").trim_end_matches(extension)
            ),
        );
        return (None, 1);
    };
    if !is_valid_revision(&id) {
        cx.error(
            DiagnosticKind::BadHeader,
            line,
            format!("invalid revision id `{id}`"),
            "a revision id is 1 to 64 characters of A-Z, a-z, 0-9 and _, and not `head` or `base`",
        );
        return (None, line);
    }
    let matches = name
        .strip_prefix(id.as_str())
        .is_some_and(|rest| rest.starts_with('_') || rest == extension);
    if !matches {
        cx.error(
            DiagnosticKind::NameMismatch,
            line,
            format!("revision `{id}` does not match the file name `{name}`"),
            &format!("rename the file to `{id}_<slug>{extension}`, or correct the revision id"),
        );
    }
    (Some(id), line)
}

/// The parent ids and their line (the revision's line when they are missing).
fn check_down_revision(
    cx: &mut Ctxt<'_>,
    down: Option<(Vec<String>, usize)>,
    revision_line: usize,
) -> (Vec<String>, usize) {
    let Some((ids, line)) = down else {
        cx.error(
            DiagnosticKind::BadHeader,
            revision_line,
            "missing `-- down_revision:` line in the header".into(),
            "add `-- down_revision:` with the parent revision id (empty for the first revision)",
        );
        return (Vec::new(), revision_line);
    };
    let mut seen = Vec::new();
    for id in &ids {
        if !is_valid_revision(id) {
            cx.error(
                DiagnosticKind::BadHeader,
                line,
                format!("invalid id `{id}` in `down_revision`"),
                "list parent revision ids separated by commas; leave it empty for the first revision",
            );
        } else if seen.contains(&id) {
            cx.error(
                DiagnosticKind::BadHeader,
                line,
                format!("`down_revision` lists `{id}` twice"),
                "list each parent once",
            );
        } else {
            seen.push(id);
        }
    }
    (ids, line)
}

/// The index of the upgrade marker's line; without one, SQL in the header
/// is where the marker belongs.
fn check_upgrade_marker(cx: &mut Ctxt<'_>, header: &Header<'_>, line_count: usize) -> Option<usize> {
    if header.upgrade_start.is_some() {
        return header.upgrade_start;
    }
    let (line, help) = match header.sql_in_header.first() {
        Some(&n) => (
            n,
            format!("add a `-- migrate:upgrade` line above line {n}, where the SQL starts"),
        ),
        None => (
            line_count.max(1),
            "add a `-- migrate:upgrade` line after the header (the section may be empty)".to_owned(),
        ),
    };
    cx.error(
        DiagnosticKind::MissingUpgrade,
        line,
        "missing `-- migrate:upgrade` marker".into(),
        &help,
    );
    None
}

/// The header holds only comments.
fn check_sql_in_header(cx: &mut Ctxt<'_>, lines: &[usize]) {
    for &n in lines {
        cx.error(
            DiagnosticKind::BadHeader,
            n,
            "SQL before the `-- migrate:upgrade` marker".into(),
            "the header holds only `--` comments; put SQL after `-- migrate:upgrade`",
        );
    }
}

/// Foreign keys off needs the transaction that no-transaction leaves out.
fn check_foreign_keys_off(cx: &mut Ctxt<'_>, header: &Header<'_>) {
    if header.directives.foreign_keys_off && header.no_transaction {
        cx.error(
            DiagnosticKind::BadHeader,
            header.foreign_keys_off_line,
            "`-- migrate:foreign-keys-off` with `-- migrate:no-transaction`".into(),
            "a migration with foreign keys off runs in a transaction of its own, checked for dangling foreign keys before it commits, so it cannot run outside one: remove one of the two",
        );
    }
}

/// Where a file's sections are: each its marker line's index and the index
/// of the line that ends it.
struct Sections {
    upgrade: (usize, usize),
    downgrade: Option<(usize, usize)>,
}

impl Sections {
    fn of(upgrade_start: usize, downgrade_start: Option<usize>, line_count: usize) -> Sections {
        Sections {
            upgrade: (upgrade_start, downgrade_start.unwrap_or(line_count)),
            downgrade: downgrade_start.map(|d| (d, line_count)),
        }
    }

    /// Each section with its name.
    fn named(&self) -> impl Iterator<Item = (&'static str, (usize, usize))> {
        std::iter::once(("upgrade", self.upgrade)).chain(self.downgrade.map(|d| ("downgrade", d)))
    }
}

/// The lines of a section after its marker, as they are.
fn section_text(lines: &[&str], (from, to): (usize, usize)) -> String {
    lines[from + 1..to].join("\n")
}

/// A migration that runs in a transaction must not end it.
fn check_transaction_control(cx: &mut Ctxt<'_>, lines: &[&str], sections: &Sections) {
    for (name, (from, to)) in sections.named() {
        for t in crate::sql::transaction_control(&section_text(lines, (from, to))) {
            let help = if t.words.starts_with("LOCK") || t.words.starts_with("UNLOCK") {
                "MySQL's table locks commit the migration's transaction, and then only the locked tables may be written, not the history table: remove `LOCK TABLES` and `UNLOCK TABLES` (mysqldump writes them around each table's rows); the migration lock keeps other migrators out, and the migration's transaction keeps its rows together"
            } else {
                "the runtime runs each migration in a transaction of its own, and this statement ends it, so a later failure could not be rolled back: remove it, or put `-- migrate:no-transaction` in the header to run the migration statement by statement"
            };
            cx.error(
                DiagnosticKind::TransactionControl,
                from + 1 + t.line,
                format!(
                    "`{}` in the {name} section of a migration that runs in a transaction",
                    t.words
                ),
                help,
            );
        }
    }
}

/// A migration that runs in a transaction must hold nothing that cannot
/// run in one (`CREATE INDEX CONCURRENTLY`, a new enum value used where it
/// was added), unless its header waives the rule.
fn check_cannot_run(cx: &mut Ctxt<'_>, lines: &[&str], sections: &Sections, allowed: &[String]) {
    for (_, (from, to)) in sections.named() {
        for (rule, line, message) in crate::lint::cannot_run_in_transaction(&section_text(lines, (from, to)), from + 2)
        {
            if !allowed.iter().any(|a| a == rule.id) {
                cx.error(
                    DiagnosticKind::CannotRun,
                    line,
                    format!("{message} [{}]", rule.id),
                    rule.safe,
                );
            }
        }
    }
}

/// The line of the file where a section's text, once trimmed, starts.
fn first_line(lines: &[&str], (from, to): (usize, usize)) -> usize {
    let raw = section_text(lines, (from, to));
    let lead = raw.len() - raw.trim_start().len();
    from + 2 + crate::sql::newlines(&raw[..lead])
}

/// Parses one file. `file` is the path shown in diagnostics; its name
/// (the part after the last `/`) must start with the revision id.
/// Returns every problem found in the file, not only the first. A file
/// whose name ends in `.rs` is a Rust revision (see [`rust`]).
pub fn parse(file: &str, text: &str) -> Result<ParsedFile, Vec<Diagnostic>> {
    if file.ends_with(Syntax::Rust.extension()) {
        return rust::parse(file, text);
    }
    let text = normalise(text);
    let lines: Vec<&str> = text.split('\n').collect();
    let mut cx = Ctxt {
        file,
        syntax: Syntax::Sql,
        problems: Vec::new(),
    };
    cx.problems.extend(control_characters(file, &lines));
    let mut header = Header::default();
    for (i, line) in lines.iter().enumerate() {
        header.read_line(&mut cx, i, line);
    }
    let (revision, revision_line) = check_revision(&mut cx, header.revision.take());
    let (down_revisions, down_revision_line) = check_down_revision(&mut cx, header.down.take(), revision_line);
    let Some(upgrade_start) = check_upgrade_marker(&mut cx, &header, lines.len()) else {
        return Err(cx.problems);
    };
    check_sql_in_header(&mut cx, &header.sql_in_header);
    check_foreign_keys_off(&mut cx, &header);
    repeatable::refuse_in_revision(&mut cx, &header);
    squash::check(&mut cx, &header, revision.as_deref(), &down_revisions);
    cx.finish()?;
    let sections = Sections::of(upgrade_start, header.downgrade_start, lines.len());
    vars::check_uses(&mut cx, &header, &lines, &sections);
    cx.finish()?;
    backfill::check(
        &mut cx,
        &header,
        &section_text(&lines, sections.upgrade),
        first_line(&lines, sections.upgrade),
    );
    cx.finish()?;
    if !header.no_transaction {
        check_transaction_control(&mut cx, &lines, &sections);
        check_cannot_run(&mut cx, &lines, &sections, &header.allowed);
        cx.finish()?;
    }
    // A missing or invalid revision was reported above, so this returns nothing new.
    let Some(revision) = revision else {
        return Err(cx.problems);
    };
    let migration = Migration::new(MigrationParts {
        revision,
        down_revisions,
        message: header.message.unwrap_or_default(),
        upgrade: section_text(&lines, sections.upgrade).trim().to_owned(),
        downgrade: sections.downgrade.map(|d| section_text(&lines, d).trim().to_owned()),
        no_transaction: header.no_transaction,
        directives: header.directives,
        depends_on: header.depends_on,
        runs_after: header.runs_after,
        file: file.to_owned(),
    })
    .located(first_line(&lines, sections.upgrade), header.allowed)
    .with_backfill(header.backfill.map(|(b, _)| b))
    .with_vars(header.vars);
    let migration = match (header.replaces, header.squashed) {
        (Some((replaces, _)), Some((release, _))) => migration.with_squash(replaces, release),
        _ => migration,
    };
    Ok(ParsedFile {
        migration,
        created: header.created,
        revision_line,
        down_revision_line,
        depends_on_line: header.runs_after_line,
    })
}

/// Renders the text of a new migration file in this format.
pub fn render(
    message: &str,
    revision: &str,
    down_revisions: &[&str],
    created: &str,
    upgrade: &str,
    downgrade: &str,
) -> String {
    format!(
        "-- {message}\n--\n-- revision: {revision}\n-- down_revision: {}\n-- created: {created}\n\n{UPGRADE_MARKER}\n{upgrade}\n\n{DOWNGRADE_MARKER}\n{downgrade}\n",
        down_revisions.join(", ")
    )
}

#[cfg(test)]
mod tests;
