//! Migration sets: several lists in one database (the application's own and
//! `[sets.NAME]` ones), and the `-- depends_on: set@revision` lines between
//! them. [`check`] says, for one list, every line that names a set nobody
//! declared, a revision that set does not have, its own set, or that closes
//! a cycle between sets; what `migrate check` reports. It reads no folder:
//! the caller gives the lists and where each line is written.

use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::graph::heads;
use crate::migration::Migration;
use std::collections::{BTreeMap, VecDeque};

/// One list of migrations, as the config file names it.
#[derive(Debug, Clone, Copy)]
pub struct SetList<'a> {
    /// Its set's name; `None`: the application's own, which no other list
    /// can name (it has no set name).
    pub set: Option<&'a str>,
    /// Its folder, as messages name it.
    pub folder: &'a str,
    /// Its revisions; `None` when its folder could not be read (its own
    /// check says why), so that lines naming it are not judged.
    pub migrations: Option<&'a [Migration]>,
}

/// Where a `depends_on` item `(set, revision)` of a migration is written:
/// the 1-based line of its file, where the caller knows it.
pub type LineOf<'a> = dyn Fn(&Migration, &str, &str) -> Option<usize> + 'a;

/// Every problem of `this` list's `-- depends_on:` lines, given the
/// `others` the config file declares: an undeclared set, a revision its set
/// does not have, the list's own set, a cycle between sets. Unsorted; each
/// names the file and line and the fix.
pub fn check(this: &SetList<'_>, others: &[SetList<'_>], line_of: &LineOf<'_>) -> Vec<Diagnostic> {
    let Some(list) = this.migrations else {
        return Vec::new();
    };
    let named: BTreeMap<&str, &SetList<'_>> = others
        .iter()
        .chain(std::iter::once(this))
        .filter_map(|l| l.set.map(|name| (name, l)))
        .collect();
    let mut problems = Vec::new();
    for m in list {
        for (set, revision) in m.depends_on() {
            let at = |message: String, help: String| {
                Diagnostic::new(DiagnosticKind::Dependency, message)
                    .in_file(m.file())
                    .at_line(line_of(m, set, revision))
                    .with_help(help)
            };
            let item = format!("`depends_on: {set}@{revision}`");
            if this.set == Some(set) {
                let help = if revision == m.revision() {
                    "a revision cannot need itself: remove this line".to_owned()
                } else {
                    format!(
                        "revisions of one set are ordered by `down_revision`: remove this line, and if `{revision}` must run before `{}`, make it an ancestor of it",
                        m.revision()
                    )
                };
                problems.push(at(
                    format!("{item} names the set this revision belongs to, `{set}`"),
                    help,
                ));
                continue;
            }
            let Some(other) = named.get(set) else {
                problems.push(at(
                    format!("{item} names the migration set `{set}`, which the config file does not declare"),
                    undeclared_help(set, &named),
                ));
                continue;
            };
            let Some(theirs) = other.migrations else { continue };
            // A revision a squash baseline of that set replaced: the baseline stands for it.
            if !theirs
                .iter()
                .any(|t| t.revision() == revision || t.replaces().any(|r| r == revision))
            {
                problems.push(at(
                    format!(
                        "{item} names a revision the set `{set}` does not have: its folder `{}` has no revision `{revision}`",
                        other.folder
                    ),
                    unknown_revision_help(set, revision, theirs),
                ));
                continue;
            }
            if let Some(me) = this.set
                && let Some(path) = path_between(set, me, &named)
            {
                problems.push(at(
                    format!(
                        "{item} closes a cycle between migration sets: `{me}` needs `{}`, so no order of the sets migrates each after the ones it needs",
                        path.join("`, which needs `")
                    ),
                    format!(
                        "keep the dependencies one way: move what both sets need into one of them, or remove the `depends_on` lines from `{set}` to `{me}` or these from `{me}` to `{set}`"
                    ),
                ));
            }
        }
    }
    problems
}

/// How to fix a line naming set `set` that no list declares.
fn undeclared_help(set: &str, named: &BTreeMap<&str, &SetList<'_>>) -> String {
    let declare = format!("declare it in migrate.toml as `[sets.{set}]`, with `dir` its migrations folder");
    if named.is_empty() {
        declare
    } else {
        let names: Vec<String> = named.keys().map(|n| format!("`{n}`")).collect();
        format!("{declare}, or name a set it declares: {}", names.join(", "))
    }
}

/// How to fix a line naming `revision`, which set `set` (`theirs`) does not have.
fn unknown_revision_help(set: &str, revision: &str, theirs: &[Migration]) -> String {
    let prefixed: Vec<&str> = theirs
        .iter()
        .map(Migration::revision)
        .filter(|id| id.starts_with(revision))
        .collect();
    if let [full] = prefixed.as_slice() {
        return format!("write the full id, `{set}@{full}`: `depends_on` names a revision exactly");
    }
    let heads: Vec<String> = heads(theirs).iter().map(|m| format!("`{}`", m.revision())).collect();
    match heads.as_slice() {
        [] => format!("the set `{set}` has no revisions yet: remove this line until it has the one this needs"),
        _ => format!(
            "name the revision of `{set}` this one needs, by its full id (its head: {})",
            heads.join(", ")
        ),
    }
}

/// The sets from `from` to `to` along `depends_on` lines, both included,
/// if `to` can be reached (breadth first, so the shortest).
fn path_between<'a>(from: &'a str, to: &str, named: &BTreeMap<&'a str, &SetList<'a>>) -> Option<Vec<&'a str>> {
    let needs = |name: &str| -> Vec<&'a str> {
        let Some(list) = named.get(name).and_then(|l| l.migrations) else {
            return Vec::new();
        };
        let mut sets: Vec<&'a str> = list
            .iter()
            .flat_map(Migration::depends_on)
            .filter_map(|(set, _)| named.get_key_value(set).map(|(k, _)| *k))
            .filter(|set| *set != name)
            .collect();
        sets.sort_unstable();
        sets.dedup();
        sets
    };
    let mut came_from: BTreeMap<&'a str, &'a str> = BTreeMap::new();
    let mut queue = VecDeque::from([from]);
    while let Some(at) = queue.pop_front() {
        if at == to {
            let mut path = vec![at];
            let mut step = at;
            while let Some(&before) = came_from.get(step) {
                path.push(before);
                step = before;
            }
            path.reverse();
            return Some(path);
        }
        for next in needs(at) {
            if next != from && !came_from.contains_key(next) {
                came_from.insert(next, at);
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::MigrationParts;

    /// A list from `id <- parent | set@rev, set@rev` lines.
    fn list(folder: &str, spec: &str) -> Vec<Migration> {
        spec.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|line| {
                let (graph, needs) = line.split_once('|').unwrap_or((line, ""));
                let (id, parent) = graph.split_once("<-").unwrap();
                Migration::new(MigrationParts {
                    revision: id.trim().to_owned(),
                    down_revisions: parent.split_whitespace().map(String::from).collect(),
                    depends_on: needs
                        .split(',')
                        .filter_map(|item| item.trim().split_once('@'))
                        .map(|(s, r)| (s.to_owned(), r.to_owned()))
                        .collect(),
                    file: format!("{folder}/{}.sql", id.trim()),
                    ..MigrationParts::default()
                })
            })
            .collect()
    }

    /// The problems of the first list against the rest, as `file:line kind: message` lines.
    fn check_sets(lists: &[(Option<&str>, &[Migration])]) -> String {
        let lists: Vec<SetList<'_>> = lists
            .iter()
            .map(|(set, ms)| SetList {
                set: *set,
                folder: set.unwrap_or("migrations"),
                migrations: Some(ms),
            })
            .collect();
        let line = |_: &Migration, _: &str, _: &str| Some(4);
        check(&lists[0], &lists[1..], &line)
            .iter()
            .map(|d| {
                format!(
                    "{}:{} {} | {}",
                    d.file.as_deref().unwrap(),
                    d.line.unwrap(),
                    d.message,
                    d.help.as_deref().unwrap()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `jobq@j2` after jobq squashed j1 and j2 into a baseline: the
    /// baseline stands for j2, so the line still holds.
    #[test]
    fn a_revision_a_squash_replaced_is_one_the_set_has() {
        let app = list("migrations", "a1 <- | jobq@j2");
        let mut jobq = list("jobq", "jb <-\nj3 <- jb");
        jobq[0] = jobq[0].clone().with_squash(vec!["j1".into(), "j2".into()], "v1".into());
        let lists: [(Option<&str>, &[Migration]); 2] = [(None, &app), (Some("jobq"), &jobq)];
        assert_eq!(check_sets(&lists), "");
    }

    #[test]
    fn lines_that_hold() {
        let app = list("migrations", "a1 <- | jobq@j1\na2 <- a1 | jobq@j2, mail@m1");
        let jobq = list("jobq", "j1 <-\nj2 <- j1");
        let mail = list("mail", "m1 <- | jobq@j1");
        let lists: [(Option<&str>, &[Migration]); 3] = [(None, &app), (Some("jobq"), &jobq), (Some("mail"), &mail)];
        assert_eq!(check_sets(&lists), "");
        let lists: [(Option<&str>, &[Migration]); 3] = [(Some("mail"), &mail), (None, &app), (Some("jobq"), &jobq)];
        assert_eq!(check_sets(&lists), "");
    }

    #[test]
    fn unknown_set_names_the_declared_ones() {
        let app = list("migrations", "a1 <- | jobs@j1");
        let jobq = list("jobq", "j1 <-");
        let said = check_sets(&[(None, &app), (Some("jobq"), &jobq)]);
        assert_eq!(
            said,
            "migrations/a1.sql:4 `depends_on: jobs@j1` names the migration set `jobs`, which the config file does not declare \
             | declare it in migrate.toml as `[sets.jobs]`, with `dir` its migrations folder, or name a set it declares: `jobq`"
        );
        let said = check_sets(&[(None, &app)]);
        assert!(
            said.ends_with("| declare it in migrate.toml as `[sets.jobs]`, with `dir` its migrations folder"),
            "{said}"
        );
    }

    #[test]
    fn unknown_revision_names_the_head_or_the_full_id() {
        let app = list("migrations", "a1 <- | jobq@j9\na2 <- a1 | jobq@j1a");
        let jobq = list("jobq", "j1abc <-\nj2 <- j1abc");
        let said = check_sets(&[(None, &app), (Some("jobq"), &jobq)]);
        assert_eq!(
            said,
            "migrations/a1.sql:4 `depends_on: jobq@j9` names a revision the set `jobq` does not have: its folder `jobq` has no revision `j9` \
             | name the revision of `jobq` this one needs, by its full id (its head: `j2`)\n\
             migrations/a2.sql:4 `depends_on: jobq@j1a` names a revision the set `jobq` does not have: its folder `jobq` has no revision `j1a` \
             | write the full id, `jobq@j1abc`: `depends_on` names a revision exactly"
        );
    }

    #[test]
    fn self_reference() {
        let jobq = list("jobq", "j1 <-\nj2 <- j1 | jobq@j1");
        let said = check_sets(&[(Some("jobq"), &jobq)]);
        assert_eq!(
            said,
            "jobq/j2.sql:4 `depends_on: jobq@j1` names the set this revision belongs to, `jobq` \
             | revisions of one set are ordered by `down_revision`: remove this line, and if `j1` must run before `j2`, make it an ancestor of it"
        );
    }

    #[test]
    fn cycles_between_sets_short_and_long() {
        let jobq = list("jobq", "j1 <-\nj2 <- j1 | mail@m1");
        let mail = list("mail", "m1 <- | jobq@j1");
        let said = check_sets(&[(Some("jobq"), &jobq), (Some("mail"), &mail)]);
        assert_eq!(
            said,
            "jobq/j2.sql:4 `depends_on: mail@m1` closes a cycle between migration sets: `jobq` needs `mail`, which needs `jobq`, so no order of the sets migrates each after the ones it needs \
             | keep the dependencies one way: move what both sets need into one of them, or remove the `depends_on` lines from `mail` to `jobq` or these from `jobq` to `mail`"
        );
        let auth = list("auth", "u1 <- | mail@m1");
        let mail = list("mail", "m1 <- | jobq@j1");
        let jobq = list("jobq", "j1 <- | auth@u1");
        let said = check_sets(&[(Some("jobq"), &jobq), (Some("mail"), &mail), (Some("auth"), &auth)]);
        assert!(
            said.contains("`jobq` needs `auth`, which needs `mail`, which needs `jobq`"),
            "{said}"
        );
        // The application's list cannot be part of a cycle: nothing can name it.
        let app = list("migrations", "a1 <- | jobq@j1");
        let said = check_sets(&[
            (None, &app),
            (Some("jobq"), &jobq),
            (Some("mail"), &mail),
            (Some("auth"), &auth),
        ]);
        assert_eq!(said, "");
    }

    #[test]
    fn an_unreadable_set_is_not_judged() {
        let app = list("migrations", "a1 <- | jobq@j9");
        let lists = [
            SetList {
                set: None,
                folder: "migrations",
                migrations: Some(&app),
            },
            SetList {
                set: Some("jobq"),
                folder: "jobq",
                migrations: None,
            },
        ];
        assert!(check(&lists[0], &lists[1..], &|_, _, _| None).is_empty());
    }
}
