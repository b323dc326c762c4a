//! A backfill revision's header and section: `-- migrate:backfill: TABLE.KEY
//! batch=N` read, and the rules that make its batches safe to run one
//! transaction each (phase backfill, one statement using `:start` and
//! `:end`, nothing that frames the revision another way).

use super::{Ctxt, Header};
use crate::Dialect;
use crate::diagnostic::DiagnosticKind;
use crate::migration::{Backfill, Phase};
use crate::sql::backfill::{Placeholder, placeholders};

/// How the directive is written.
pub(super) const SPEC_HELP: &str = "write `-- migrate:backfill: TABLE.KEY batch=N`: the table (or schema.table), its integer key column, and how many key values one batch covers, for example `-- migrate:backfill: account.id batch=10000`";

/// The readings a backfill's statement must satisfy: each database's.
const READINGS: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql];

/// Whether `word` is a plain SQL name: a letter or `_`, then letters, digits, `_` or `$`.
fn is_name(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// Reads `TABLE.KEY batch=N`, or says what is wrong with it.
pub(super) fn spec(value: &str) -> Result<Backfill, String> {
    let mut words = value.split_whitespace();
    let Some(target) = words.next() else {
        return Err("the table and key are missing".into());
    };
    let Some((table, key)) = target.rsplit_once('.') else {
        return Err(format!("`{target}` names no key column: write TABLE.KEY"));
    };
    if !table.split('.').all(is_name) || table.split('.').count() > 2 || !is_name(key) {
        return Err(format!(
            "`{target}` is not TABLE.KEY of plain names (letters, digits, `_`; a schema may prefix the table)"
        ));
    }
    let mut batch = None;
    for word in words {
        match word.split_once('=') {
            Some(("batch", n)) if batch.is_none() => match n.parse::<u64>() {
                Ok(n) if n > 0 => batch = Some(n),
                _ => return Err(format!("`batch={n}` is not a whole number of key values above 0")),
            },
            Some(("batch", _)) => return Err("`batch=` is given twice".into()),
            _ => {
                return Err(format!(
                    "`{word}` is not an option of a backfill (`batch=N` is the one)"
                ));
            }
        }
    }
    let Some(batch) = batch else {
        return Err("`batch=N` is missing".into());
    };
    Ok(Backfill::new(table, key, batch))
}

/// The rules of a backfill revision; `upgrade` is its upgrade section,
/// starting on line `first` of the file.
pub(super) fn check(cx: &mut Ctxt<'_>, header: &Header<'_>, upgrade: &str, first: usize) {
    if check_header(cx, header) {
        check_statement(cx, upgrade, first);
    }
}

/// The header's rules, SQL's and Rust's: the directive with phase backfill,
/// nothing that frames the revision another way. Whether it has the directive.
pub(super) fn check_header(cx: &mut Ctxt<'_>, header: &Header<'_>) -> bool {
    let marked = header.directives.phase == Some(Phase::Backfill);
    let marker_line = header.upgrade_start.map_or(1, |i| i + 1);
    let Some((_, line)) = &header.backfill else {
        if marked && cx.syntax == super::Syntax::Sql {
            cx.error(
                DiagnosticKind::BadHeader,
                marker_line,
                "a backfill revision without `-- migrate:backfill: TABLE.KEY batch=N`".into(),
                "name the table, its integer key and the batch size the statement's `:start` and `:end` cover; a data change that runs in one transaction is phase expand",
            );
        }
        return false;
    };
    let line = *line;
    if !marked {
        cx.error(
            DiagnosticKind::BadHeader,
            line,
            "`-- migrate:backfill:` in a revision whose phase is not backfill".into(),
            "add `-- migrate:phase: backfill`: an expand-phase upgrade stops before it, and contract revisions after it wait until it has finished",
        );
    }
    let framed = [
        (header.no_transaction, "no-transaction"),
        (header.directives.foreign_keys_off, "foreign-keys-off"),
    ];
    for (_, name) in framed.iter().filter(|(set, _)| *set) {
        cx.error(
            DiagnosticKind::BadHeader,
            line,
            format!("`-- migrate:{name}` in a backfill revision"),
            "a backfill runs each batch in a transaction of its own, with its progress: remove the other directive",
        );
    }
    true
}

/// The upgrade section is one statement using `:start` and `:end`, in every reading.
fn check_statement(cx: &mut Ctxt<'_>, upgrade: &str, first: usize) {
    let counts: Vec<usize> = READINGS
        .iter()
        .map(|&d| crate::sql::statements(upgrade, d).len())
        .collect();
    if counts.iter().any(|&n| n != 1) {
        let n = counts.iter().copied().max().unwrap_or(0);
        cx.error(
            DiagnosticKind::BadHeader,
            first,
            format!("a backfill's upgrade section holds {n} statements"),
            "a backfill runs one statement a batch, such as `UPDATE t SET v = … WHERE id >= :start AND id < :end`: put other statements in an expand revision before it",
        );
        return;
    }
    for (which, name) in [(Placeholder::Start, ":start"), (Placeholder::End, ":end")] {
        if READINGS
            .iter()
            .any(|&d| !placeholders(upgrade, d).iter().any(|p| p.0 == which))
        {
            cx.error(
                DiagnosticKind::BadHeader,
                first,
                format!("a backfill's statement does not use `{name}`"),
                "bound each batch by its key: `WHERE id >= :start AND id < :end` (`:start` inclusive, `:end` exclusive)",
            );
        }
    }
}
