//! A squash baseline's header: `-- migrate:replaces: a, b, …` (the revisions
//! it stands for, in application order, the squash point last) and
//! `-- migrate:squashed: RELEASE` (the last release that has them), read,
//! and the rules that keep them coherent (both or neither, on a root). A
//! second squash over a baseline carries the earlier squashes first, one
//! `-- migrate:squashed: RELEASE (up to POINT)` line each, innermost first.

use super::{Ctxt, Header};
use crate::diagnostic::DiagnosticKind;

/// How a baseline's header is written.
const HELP: &str = "a squash baseline (written by `migrate squash`) has no down_revision and carries both `-- migrate:replaces: a, b, …` (the ids it stands for, the squash point last) and `-- migrate:squashed: RELEASE`";

/// Reads the value of `-- migrate:replaces:` or `-- migrate:squashed:` on line `n`.
pub(super) fn read(header: &mut Header<'_>, cx: &mut Ctxt<'_>, n: usize, key: &str, value: &str) {
    let value = value.trim();
    if key == "squashed" {
        if value.is_empty() || value.contains(char::is_control) {
            cx.error(
                DiagnosticKind::BadHeader,
                n,
                "`-- migrate:squashed:` names no release".into(),
                HELP,
            );
        } else {
            // An earlier squash's line comes before the baseline's own, last.
            header.squashed = Some(match header.squashed.take() {
                Some((earlier, _)) => (format!("{earlier}\n{value}"), n),
                None => (value.to_owned(), n),
            });
        }
        return;
    }
    let ids: Vec<String> = value.split(',').map(|id| id.trim().to_owned()).collect();
    match ids.iter().find(|id| !super::is_valid_revision(id)) {
        Some(bad) => cx.error(
            DiagnosticKind::BadHeader,
            n,
            format!("in `-- migrate:replaces:`, `{bad}` is not a revision id"),
            "list the replaced ids separated by commas, for example `-- migrate:replaces: 1a2b, 3c4d`",
        ),
        None => header.replaces = Some((ids, n)),
    }
}

/// Both lines or neither, on a revision without a down_revision, never
/// naming itself or one id twice.
pub(super) fn check(cx: &mut Ctxt<'_>, header: &Header<'_>, revision: Option<&str>, parents: &[String]) {
    let line = match (&header.replaces, &header.squashed) {
        (None, None) => return,
        (Some(_), None) | (None, Some(_)) => {
            let n = header
                .replaces
                .as_ref()
                .map_or_else(|| header.squashed.as_ref().map_or(0, |s| s.1), |r| r.1);
            let message = "a squash baseline needs both `-- migrate:replaces:` and `-- migrate:squashed:`";
            return cx.error(DiagnosticKind::BadHeader, n, message.into(), HELP);
        }
        (Some((_, n)), Some(_)) => *n,
    };
    let ids = header.replaces.as_ref().map(|r| r.0.as_slice()).unwrap_or_default();
    if !parents.is_empty() {
        let message = format!(
            "a squash baseline stands for the revisions from the base, so it has no down_revision, but this one names {}",
            parents.join(", ")
        );
        cx.error(DiagnosticKind::BadHeader, line, message, HELP);
    }
    if let Some(own) = revision.filter(|r| ids.iter().any(|id| id == r)) {
        let message = format!("the baseline `{own}` lists itself in `-- migrate:replaces:`");
        cx.error(
            DiagnosticKind::BadHeader,
            line,
            message,
            "a baseline's id is new; list only the revisions it replaces",
        );
    }
    if let Some((lines, n)) = &header.squashed {
        groups(cx, ids, lines, *n);
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = ids.iter().find(|id| !seen.insert(id.as_str())) {
        let message = format!("`-- migrate:replaces:` lists `{twice}` twice");
        cx.error(DiagnosticKind::BadHeader, line, message, "list each replaced id once");
    }
}

/// Every `-- migrate:squashed:` line but the last names an earlier squash's
/// point among the replaced ids (`RELEASE (up to POINT)`), in their order;
/// the last, the baseline's own, names none.
fn groups(cx: &mut Ctxt<'_>, ids: &[String], lines: &str, n: usize) {
    let all: Vec<&str> = lines.lines().collect();
    let Some((own, earlier)) = all.split_last() else { return };
    const GROUP_HELP: &str = "a second squash lists each earlier one first, `-- migrate:squashed: RELEASE (up to POINT)` with POINT one of the replaced ids, then the baseline's own `-- migrate:squashed: RELEASE`, last";
    if crate::squash::group(own).is_some() {
        let message =
            format!("the last `-- migrate:squashed:` line, the baseline's own release, names a point (`{own}`)");
        cx.error(DiagnosticKind::BadHeader, n, message, GROUP_HELP);
    }
    let mut after = 0;
    for line in earlier {
        let at = crate::squash::group(line).and_then(|(_, p)| ids.iter().position(|id| id == p));
        match at {
            Some(at) if at >= after => after = at + 1,
            _ => {
                let message = format!(
                    "`-- migrate:squashed: {line}` does not name, as `RELEASE (up to POINT)`, a replaced id after the earlier squashes' points"
                );
                cx.error(DiagnosticKind::BadHeader, n, message, GROUP_HELP);
            }
        }
    }
}
