//! Repeatable revisions: the files of `migrations/repeatable/` (views,
//! functions, triggers, grants), each re-applied after the versioned
//! revisions of an upgrade to head whenever its checksum differs from the
//! one its history row recorded.
//!
//! A repeatable is a [`Migration`] whose revision is `repeatable:<name>`
//! (the name is its file name without `.sql`; no revision id can hold a
//! `:`, so the two never clash in a history table), whose
//! [`Migration::runs_after`] lists the repeatables it depends on
//! (`-- depends_on: repeatable:<name>`), and which has no parent and no
//! downgrade. [`validate`] checks a folder's repeatables together and puts
//! them in the order they are applied: by dependency, then by name.
//! [`crate::history::pending_repeatables`] says which of them a history
//! needs applied.

use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::format::repeatable::ParsedRepeatable;
use crate::migration::Migration;

/// What starts a repeatable's revision in the history table and in
/// `-- depends_on:` lines.
pub const PREFIX: &str = "repeatable:";

/// The sub-folder of a migrations folder holding the repeatables.
pub const FOLDER: &str = "repeatable";

/// The longest name: with [`PREFIX`], a revision of the history table's 64 characters.
pub const MAX_NAME_LEN: usize = crate::format::MAX_REVISION_LEN - PREFIX.len();

/// Whether `name` can name a repeatable: 1 to [`MAX_NAME_LEN`] characters
/// of `[A-Za-z0-9_-]`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether a history row's `revision` is a repeatable's.
pub fn is_repeatable(revision: &str) -> bool {
    revision.starts_with(PREFIX)
}

/// The name of a repeatable's revision (`repeatable:<name>`), or the revision itself.
pub fn name_of(revision: &str) -> &str {
    revision.strip_prefix(PREFIX).unwrap_or(revision)
}

/// Checks a folder's parsed repeatables together: every dependency names a
/// repeatable of the folder, no two names differ only in case (one file
/// would hide the other on a case-insensitive disk), and the dependencies
/// form no cycle. Returns them in application order (a repeatable after
/// those it depends on, otherwise by name), or every problem.
pub fn validate(parsed: Vec<ParsedRepeatable>) -> Result<Vec<Migration>, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let names: Vec<&str> = parsed.iter().map(|p| name_of(p.migration.revision())).collect();
    for (i, p) in parsed.iter().enumerate() {
        if let Some(j) = (0..i).find(|&j| names[j].eq_ignore_ascii_case(names[i])) {
            problems.push(
                Diagnostic::new(
                    DiagnosticKind::DuplicateRevision,
                    format!("the repeatables `{}` and `{}` differ only in case", names[j], names[i]),
                )
                .in_file(p.migration.file())
                .at_line(Some(1))
                .with_help("rename one of the two files: on a disk that ignores case, one would hide the other"),
            );
        }
        for (dep, line) in &p.depends_on {
            if !names.contains(&dep.as_str()) {
                problems.push(
                    Diagnostic::new(
                        DiagnosticKind::DanglingParent,
                        format!("`depends_on` names the repeatable `{dep}`, which has no file"),
                    )
                    .in_file(p.migration.file())
                    .at_line(Some(*line))
                    .with_help(format!(
                        "add `{FOLDER}/{dep}.sql`, or correct the name (the file name without `.sql`)"
                    )),
                );
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let (order, stuck) = order(&parsed);
    if stuck.is_empty() {
        let mut parsed: Vec<Option<ParsedRepeatable>> = parsed.into_iter().map(Some).collect();
        return Ok(order
            .iter()
            .filter_map(|&i| parsed[i].take().map(|p| p.migration))
            .collect());
    }
    let list: Vec<&str> = stuck.iter().map(|&i| names[i]).collect();
    Err(stuck
        .iter()
        .map(|&i| {
            let p = &parsed[i];
            Diagnostic::new(
                DiagnosticKind::Cycle,
                format!(
                    "the repeatable `{}` depends on itself, through a cycle among {}",
                    names[i],
                    list.join(", ")
                ),
            )
            .in_file(p.migration.file())
            .at_line(p.depends_on.first().map(|(_, line)| *line))
            .with_help("remove one `depends_on: repeatable:…` of the cycle: each repeatable runs after those it names")
        })
        .collect())
}

/// The positions of `parsed` in application order (Kahn's walk, the ready
/// repeatable with the smallest name first), and those a cycle leaves out.
fn order(parsed: &[ParsedRepeatable]) -> (Vec<usize>, Vec<usize>) {
    let index_of = |name: &str| parsed.iter().position(|p| name_of(p.migration.revision()) == name);
    let needs: Vec<Vec<usize>> = parsed
        .iter()
        .map(|p| p.depends_on.iter().filter_map(|(d, _)| index_of(d)).collect())
        .collect();
    let mut by_name: Vec<usize> = (0..parsed.len()).collect();
    crate::sorting::sort_by(&mut by_name, |i| (name_of(parsed[i].migration.revision()), 0, 0, ""));
    let mut done = vec![false; parsed.len()];
    let mut order = Vec::with_capacity(parsed.len());
    while let Some(&next) = by_name.iter().find(|&&i| !done[i] && needs[i].iter().all(|&n| done[n])) {
        done[next] = true;
        order.push(next);
    }
    let stuck = by_name.into_iter().filter(|&i| !done[i]).collect();
    (order, stuck)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::DiagnosticKind;

    fn parsed(name: &str, deps: &[&str]) -> ParsedRepeatable {
        let depends = if deps.is_empty() {
            String::new()
        } else {
            let items: Vec<String> = deps.iter().map(|d| format!("{PREFIX}{d}")).collect();
            format!("-- depends_on: {}\n", items.join(", "))
        };
        let text = format!("-- view {name}\n{depends}-- migrate:upgrade\nCREATE VIEW {name} AS SELECT 1;\n");
        crate::format::repeatable::parse(&format!("migrations/repeatable/{name}.sql"), &text).unwrap()
    }

    fn check(files: &[(&str, &[&str])]) -> Result<Vec<String>, Vec<(DiagnosticKind, String)>> {
        let list = files.iter().map(|(n, d)| parsed(n, d)).collect();
        match validate(list) {
            Ok(ms) => Ok(ms.iter().map(|m| name_of(m.revision()).to_owned()).collect()),
            Err(ds) => Err(ds.into_iter().map(|d| (d.kind, d.message)).collect()),
        }
    }

    #[test]
    fn by_name_without_dependencies() {
        assert_eq!(check(&[("b", &[]), ("c", &[]), ("a", &[])]).unwrap(), ["a", "b", "c"]);
    }

    #[test]
    fn after_what_each_depends_on_then_by_name() {
        // a needs z, c needs a: z first although its name is last.
        let got = check(&[("a", &["z"]), ("b", &[]), ("c", &["a"]), ("z", &[])]).unwrap();
        assert_eq!(got, ["b", "z", "a", "c"]);
        let diamond = check(&[("top", &["l", "r"]), ("r", &["base"]), ("l", &["base"]), ("base", &[])]).unwrap();
        assert_eq!(diamond, ["base", "l", "r", "top"]);
    }

    #[test]
    fn unknown_dependency_cycle_and_case_clash() {
        let e = check(&[("a", &["nope"])]).unwrap_err();
        assert_eq!(e[0].0, DiagnosticKind::DanglingParent);
        assert!(e[0].1.contains("`nope`"), "{e:?}");
        let e = check(&[("a", &["b"]), ("b", &["a"]), ("c", &[])]).unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e.iter().all(|(k, m)| *k == DiagnosticKind::Cycle && m.contains("a, b")));
        let e = check(&[("a", &["a"])]).unwrap_err();
        assert_eq!(e[0].0, DiagnosticKind::Cycle);
        let e = check(&[("View", &[]), ("view", &[])]).unwrap_err();
        assert_eq!(e[0].0, DiagnosticKind::DuplicateRevision);
    }

    #[test]
    fn names() {
        assert!(is_valid_name("active-accounts_v2"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name("a b"));
        assert!(!is_valid_name(&"x".repeat(MAX_NAME_LEN + 1)));
        assert!(is_repeatable("repeatable:x") && !is_repeatable("1975ea83b712"));
        assert_eq!(name_of("repeatable:x"), "x");
    }
}

#[cfg(test)]
mod pending {
    use super::*;
    use crate::State;
    use crate::history::{Row, Unknown, pending_repeatables, status_with_repeatables};

    fn list(files: &[(&str, &[&str], &str)]) -> Vec<Migration> {
        let sources = files
            .iter()
            .map(|(name, deps, body)| {
                let deps: Vec<String> = deps.iter().map(|d| format!("{PREFIX}{d}")).collect();
                let depends = match deps.is_empty() {
                    true => String::new(),
                    false => format!("-- depends_on: {}\n", deps.join(", ")),
                };
                crate::load::Source {
                    path: format!("migrations/repeatable/{name}.sql"),
                    bytes: format!("-- {name}\n{depends}-- migrate:upgrade\n{body}\n").into_bytes(),
                }
            })
            .collect();
        crate::load::repeatables_from_sources(sources).unwrap()
    }

    fn names(ms: &[&Migration]) -> Vec<String> {
        ms.iter().map(|m| name_of(m.revision()).to_owned()).collect()
    }

    #[test]
    fn changed_never_applied_and_what_depends_on_them() {
        let ms = list(&[("a", &[], "A"), ("b", &["a"], "B"), ("c", &[], "C"), ("d", &["b"], "D")]);
        let sums: Vec<String> = ms.iter().map(|m| m.checksum().to_string()).collect();
        let row = |i: usize, checksum: &'static str| Row {
            revision: ms[i].revision(),
            checksum: if checksum.is_empty() { &sums[i] } else { checksum },
            state: State::Applied,
            phase: None,
        };
        let all = [row(0, ""), row(1, ""), row(2, ""), row(3, "")];
        assert!(pending_repeatables(&ms, &all).is_empty());
        // `a` changed: `b` over it and `d` over `b` are created again; `c` is not.
        let edited = [row(0, "sha256:00"), row(1, ""), row(2, ""), row(3, "")];
        assert_eq!(names(&pending_repeatables(&ms, &edited)), ["a", "b", "d"]);
        // `c` never applied.
        assert_eq!(names(&pending_repeatables(&ms, &all[..2])), ["c", "d"]);
    }

    #[test]
    fn status_reads_repeatable_rows_apart() {
        let graph_list = crate::testing::fixture("a <-");
        let g = crate::Graph::new(&graph_list).unwrap();
        let ms = list(&[("v", &[], "V")]);
        let rev_sum = g.get(0).checksum().to_string();
        let mut rows = vec![Row {
            revision: "a",
            checksum: &rev_sum,
            state: State::Applied,
            phase: None,
        }];
        let st = status_with_repeatables(&g, &ms, &rows, Unknown::ExpandOnly).unwrap();
        assert_eq!(st.pending, ["repeatable:v"]);
        assert!(st.problems.is_empty() && st.unknown.is_empty());
        // A row of a repeatable the list no longer has is neither unknown nor a head.
        rows.push(Row {
            revision: "repeatable:gone",
            checksum: "sha256:00",
            state: State::Applied,
            phase: None,
        });
        let st = status_with_repeatables(&g, &[], &rows, Unknown::ExpandOnly).unwrap();
        assert!(st.is_current(), "{st:?}");
        let applied: Vec<(&str, Vec<&str>)> = rows.iter().map(|r| (r.revision, Vec::new())).collect();
        assert_eq!(crate::history::current_heads(&g, &applied), ["a"]);
        // A newer build's revision in the history (marked expand): its
        // repeatables' rows are its own, none is pending for this build.
        rows.push(Row {
            revision: "z",
            checksum: "sha256:00",
            state: State::Applied,
            phase: Some(crate::Phase::Expand),
        });
        let changed = [
            rows[0],
            Row {
                revision: "repeatable:v",
                checksum: "sha256:01",
                state: State::Applied,
                phase: Some(crate::Phase::Expand),
            },
        ];
        let st = status_with_repeatables(&g, &ms, &changed, Unknown::ExpandOnly).unwrap();
        assert_eq!(st.pending, ["repeatable:v"]);
        let with_newer = [changed[0], changed[1], rows[2]];
        let st = status_with_repeatables(&g, &ms, &with_newer, Unknown::ExpandOnly).unwrap();
        assert!(st.is_current() && st.unknown == ["z"], "{st:?}");
        // Not marked expand, it is refused, and still a newer build's: no repeatable pending.
        let refused = [changed[0], changed[1], Row { phase: None, ..rows[2] }];
        let st = status_with_repeatables(&g, &ms, &refused, Unknown::ExpandOnly).unwrap();
        assert!(
            st.pending.is_empty() && st.unknown.is_empty() && !st.problems.is_empty(),
            "{st:?}"
        );
        // A build older than repeatables reads every row with `status`: a
        // repeatable's row, marked expand as runs write it, is accepted there
        // as a newer build's expand revision, not refused.
        let st = crate::history::status(&g, &changed, Unknown::ExpandOnly).unwrap();
        assert!(st.problems.is_empty() && st.unknown == ["repeatable:v"], "{st:?}");
        rows.pop();
        // A failed one is a failed state like a revision's.
        rows[1].state = State::UpgradeFailed;
        let failed = status_with_repeatables(&g, &[], &rows, Unknown::ExpandOnly).unwrap_err();
        assert_eq!(failed.revision, "repeatable:gone");
    }
}
