//! `-- migrate:renamed-from OLD`: the renames a `schema.sql` declares.
//!
//! The generator never guesses a rename: a table or column that disappears
//! while another appears is a drop and an add, unless the line before the
//! new one's definition says where it came from:
//!
//! ```sql
//! -- migrate:renamed-from customer
//! CREATE TABLE account (
//!     id integer PRIMARY KEY,
//!     -- migrate:renamed-from mail
//!     email text NOT NULL
//! );
//! ```
//!
//! Read as migration files read directives (any space after `--`), with
//! the same refusal of lookalikes: `-- renamed-from: customer` or
//! `-- migrate:renamed_from customer` is an error naming the spelling
//! meant, not a comment that renames nothing. So is a rename the file contradicts: one old name
//! renamed twice, a second line for one table or column, or an old name the
//! file still declares (which would rename it and then drop its rows on the
//! way down). A swap (`a` from `b`, `b` from `a`) is a rename like any other:
//! [`compare`](super::compare()) orders it through a temporary name.

use super::text::{Kind, tokens, unquote};
use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::format::lookalike::{Meant, Place, SCHEMA_KEYS, lookalike, split_key};
use std::collections::BTreeMap;

/// The directive, as written on its own line.
pub const RENAMED_FROM: &str = "-- migrate:renamed-from";

/// The renames of a schema file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renames {
    /// New table name → old name.
    pub tables: BTreeMap<String, String>,
    /// (table's new name, column's new name) → the column's old name.
    pub columns: BTreeMap<(String, String), String>,
}

impl Renames {
    /// The same renames read the other way, for the downgrade.
    pub fn reversed(&self) -> Renames {
        let table_back: BTreeMap<&str, &str> = self
            .tables
            .iter()
            .map(|(new, old)| (new.as_str(), old.as_str()))
            .collect();
        Renames {
            tables: self
                .tables
                .iter()
                .map(|(new, old)| (old.clone(), new.clone()))
                .collect(),
            columns: self
                .columns
                .iter()
                .map(|((table, new), old)| {
                    let old_table = table_back.get(table.as_str()).copied().unwrap_or(table);
                    ((old_table.to_owned(), old.clone()), new.clone())
                })
                .collect(),
        }
    }
}

/// What is wrong with a `renamed-from` line, or a comment like one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenamesErrorKind {
    /// Not followed by a `CREATE TABLE` line or a column's line.
    Misplaced,
    /// A comment that looks like the directive but is not written as it.
    Lookalike,
    /// A second `renamed-from` for one table or column.
    Second,
    /// Two tables (or two columns of one table) renamed from one old name.
    SameOld,
    /// Renamed from a table or column the file still declares.
    StillDeclared,
}

/// A `renamed-from` line the reader refuses, at its line, naming the other
/// line involved where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}{}", if help.is_empty() { String::new() } else { format!("\n  = help: {help}") })]
pub struct RenamesError {
    /// What is wrong.
    pub kind: RenamesErrorKind,
    /// The line of the directive (or lookalike), from 1.
    pub line: usize,
    /// One sentence saying what is wrong, naming any other line involved.
    pub message: String,
    /// The fix (empty when the message says it).
    pub help: String,
}

impl RenamesError {
    fn new(kind: RenamesErrorKind, line: usize, message: String, help: String) -> Self {
        RenamesError {
            kind,
            line,
            message,
            help,
        }
    }

    fn misplaced(line: usize) -> Self {
        let message =
            format!("`{RENAMED_FROM}` must be followed by a `CREATE TABLE` line or, inside one, a column's line");
        RenamesError::new(RenamesErrorKind::Misplaced, line, message, String::new())
    }

    /// The problem as `migrate check` prints it, in `file`.
    pub fn diagnostic(&self, file: &str) -> Diagnostic {
        let d = Diagnostic::new(DiagnosticKind::BadHeader, self.message.clone())
            .in_file(file)
            .at_line(Some(self.line));
        if self.help.is_empty() {
            d
        } else {
            d.with_help(self.help.clone())
        }
    }
}

/// The first word of a line, as an identifier, with the word after it.
fn words(line: &str) -> Vec<String> {
    tokens(line)
        .into_iter()
        .filter(|t| matches!(t.kind, Kind::Word | Kind::Quoted))
        .take(8)
        .map(|t| unquote(&line[t.start..t.end]))
        .collect()
}

/// The table a `CREATE TABLE` line creates.
fn created_table(line: &str) -> Option<String> {
    let w = words(line);
    let lower: Vec<String> = w.iter().map(|s| s.to_ascii_lowercase()).collect();
    let at = lower.iter().position(|s| s == "table")?;
    if lower.first().map(String::as_str) != Some("create") {
        return None;
    }
    let mut i = at + 1;
    if lower.get(i).map(String::as_str) == Some("if") {
        i += 3;
    }
    // `public.account` reads as two words: the last one before `(` is the table.
    let rest: Vec<&String> = w[i..].iter().collect();
    let name = if line.contains('.') && rest.len() >= 2 {
        rest[1]
    } else {
        rest.first()?
    };
    Some(name.clone())
}

/// The column a line inside a `CREATE TABLE` body starts declaring, if it
/// starts with one (not a table constraint).
fn declared_column(line: &str) -> Option<String> {
    let first = words(line).into_iter().next()?;
    let constraint = [
        "constraint",
        "primary",
        "unique",
        "check",
        "foreign",
        "key",
        "index",
        "exclude",
    ]
    .iter()
    .any(|k| first.eq_ignore_ascii_case(k));
    (!constraint).then_some(first)
}

/// A name as the file's conflicts compare it: servers fold unquoted names.
fn folded(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// `table "account"` or `column "account"."email"`.
fn what(table: &str, column: Option<&str>) -> String {
    match column {
        None => format!("table \"{table}\""),
        Some(c) => format!("column \"{table}\".\"{c}\""),
    }
}

/// A schema file read line by line: its renames, where they were said, and
/// what its tables and columns are.
#[derive(Default)]
struct Reader {
    out: Renames,
    problems: Vec<RenamesError>,
    /// Directives not yet attached to a table or column: (line, old name).
    pending: Vec<(usize, String)>,
    /// The table whose body the reader is in.
    table: Option<String>,
    depth: i64,
    /// Where each table is declared (folded name → line).
    tables: BTreeMap<String, usize>,
    /// Where each column is declared ((table, column), folded → line).
    columns: BTreeMap<(String, String), usize>,
    /// Where each table rename was said (new name → line).
    table_lines: BTreeMap<String, usize>,
    /// Where each column rename was said ((table, new column) → line).
    column_lines: BTreeMap<(String, String), usize>,
}

impl Reader {
    /// A comment line, `body` its text after `--`.
    fn comment(&mut self, n: usize, line: &str, body: &str) {
        let written = line.trim();
        let Some(rest) = body.strip_prefix("migrate:") else {
            if let Some(meant) = lookalike(body, SCHEMA_KEYS, Place::Header) {
                self.lookalike(n, written, meant);
            }
            return;
        };
        let directive = rest.strip_prefix("renamed-from");
        match directive {
            Some(old) if old.is_empty() || old.starts_with(char::is_whitespace) => {
                let old = old.trim();
                if old.is_empty() {
                    self.problems.push(RenamesError::misplaced(n));
                } else {
                    self.pending.push((n, unquote(old)));
                }
            }
            _ => {
                let meant = match split_key(rest, SCHEMA_KEYS) {
                    Some((key, value, _)) => Meant::Directive(key.spelled(value.trim_start_matches(':').trim())),
                    None => Meant::Unknown,
                };
                self.lookalike(n, written, meant);
            }
        }
    }

    fn lookalike(&mut self, n: usize, written: &str, meant: Meant) {
        let (message, help) = match meant {
            Meant::Directive(d) => (
                format!("`{written}` is not a directive: did you mean `{d}`?"),
                format!(
                    "directives are read only as written exactly, so this line is a comment and renames nothing: write `{d}` on the line before the new name, or, if it is a comment, reword it so it does not start like a directive"
                ),
            ),
            Meant::Unknown => (
                format!("`{written}` is not a directive of a schema file"),
                format!(
                    "the one directive of a schema file is `{RENAMED_FROM} OLD`, on the line before a new table or column; if this is a comment, reword it so it does not start with `migrate:`"
                ),
            ),
        };
        self.problems
            .push(RenamesError::new(RenamesErrorKind::Lookalike, n, message, help));
    }

    /// A line of SQL.
    fn sql(&mut self, n: usize, line: &str) {
        let created = created_table(line);
        if let Some(new) = &created {
            self.tables.entry(folded(new)).or_insert(n);
        } else if let (Some(t), true) = (&self.table, self.depth > 0) {
            if let Some(column) = declared_column(line) {
                self.columns.entry((folded(t), folded(&column))).or_insert(n);
            }
        }
        let pending = std::mem::take(&mut self.pending);
        if let Some(&(at, _)) = pending.first() {
            match (&created, &self.table) {
                (Some(new), _) => self.attach(pending, new.clone(), None),
                (None, Some(t)) if self.depth > 0 => match words(line).into_iter().next() {
                    Some(column) => self.attach(pending, t.clone(), Some(column)),
                    None => self.problems.push(RenamesError::misplaced(at)),
                },
                _ => self.problems.push(RenamesError::misplaced(at)),
            }
        }
        if created.is_some() {
            self.table = created;
            self.depth = 0;
        }
        for t in tokens(line) {
            if t.kind == Kind::Punct {
                match &line[t.start..t.end] {
                    "(" => self.depth += 1,
                    ")" => self.depth -= 1,
                    _ => {}
                }
            }
        }
        if self.depth <= 0 {
            self.depth = 0;
            if line.contains(';') {
                self.table = None;
            }
        }
    }

    /// The directives of `pending` said of table `table` (or its `column`).
    fn attach(&mut self, pending: Vec<(usize, String)>, table: String, column: Option<String>) {
        let target = what(&table, column.as_deref());
        let first = match &column {
            None => self.table_lines.get(&table).copied(),
            Some(c) => self.column_lines.get(&(table.clone(), c.clone())).copied(),
        };
        let mut first = first;
        for (at, old) in pending {
            if let Some(first) = first {
                self.problems.push(RenamesError::new(
                    RenamesErrorKind::Second,
                    at,
                    format!("a second `{RENAMED_FROM}` for {target} (the first is on line {first})"),
                    "a table or column is renamed from one old name: keep the right line and remove the other".into(),
                ));
                continue;
            }
            first = Some(at);
            match &column {
                None => {
                    self.table_lines.insert(table.clone(), at);
                    self.out.tables.insert(table.clone(), old);
                }
                Some(c) => {
                    self.column_lines.insert((table.clone(), c.clone()), at);
                    self.out.columns.insert((table.clone(), c.clone()), old);
                }
            }
        }
    }

    /// Renames that contradict each other or the file: one old name renamed
    /// twice, or renamed while the file still declares it.
    fn conflicts(&mut self) {
        let tables: Vec<(String, String, usize)> = self
            .out
            .tables
            .iter()
            .map(|(new, old)| (new.clone(), old.clone(), self.table_lines[new]))
            .collect();
        let renamed: Vec<String> = tables.iter().map(|(new, _, _)| folded(new)).collect();
        for (new, old, at) in &tables {
            let target = what(new, None);
            let twin = tables
                .iter()
                .filter(|(n, o, _)| n != new && folded(o) == folded(old))
                .map(|(n, _, line)| (what(n, None), *line))
                .min_by_key(|(_, line)| *line);
            let declared = self.tables.get(&folded(old)).copied();
            let still = declared.filter(|_| folded(old) != folded(new) && !renamed.contains(&folded(old)));
            self.conflict(&target, old, *at, twin, still, "CREATE TABLE");
        }
        let columns: Vec<((String, String), String, usize)> = self
            .out
            .columns
            .iter()
            .map(|(k, old)| (k.clone(), old.clone(), self.column_lines[k]))
            .collect();
        for ((table, new), old, at) in &columns {
            let target = what(table, Some(new));
            let twin = columns
                .iter()
                .filter(|((t, n), o, _)| t == table && n != new && folded(o) == folded(old))
                .map(|((t, n), _, line)| (what(t, Some(n)), *line))
                .min_by_key(|(_, line)| *line);
            let renamed_here = |c: &str| {
                columns
                    .iter()
                    .any(|((t, n), _, _)| t == table && folded(n) == folded(c))
            };
            let declared = self.columns.get(&(folded(table), folded(old))).copied();
            let still = declared.filter(|_| folded(old) != folded(new) && !renamed_here(old));
            self.conflict(&target, old, *at, twin, still, "column");
        }
    }

    /// Reports `target` renamed from `old` on line `at`, when `twin` (another
    /// rename of `old`, said earlier) or `still` (where `old` is declared).
    fn conflict(
        &mut self,
        target: &str,
        old: &str,
        at: usize,
        twin: Option<(String, usize)>,
        still: Option<usize>,
        declaration: &str,
    ) {
        if let Some((other, line)) = twin.filter(|(_, line)| *line < at) {
            self.problems.push(RenamesError::new(
                RenamesErrorKind::SameOld,
                at,
                format!(
                    "{target} is renamed from \"{old}\", and so is {other} (line {line}): \"{old}\" would be renamed twice"
                ),
                format!(
                    "one old name becomes one new one: remove the `{RENAMED_FROM} {old}` line that is wrong (a new table or column that starts empty needs none)"
                ),
            ));
        }
        if let Some(line) = still {
            self.problems.push(RenamesError::new(
                RenamesErrorKind::StillDeclared,
                at,
                format!("{target} is renamed from \"{old}\", but line {line} still declares \"{old}\""),
                format!(
                    "a rename moves \"{old}\" and its rows to the new name, so \"{old}\" cannot stay as well: if it is a rename, remove the {declaration} \"{old}\" on line {line}; if \"{old}\" stays, remove this `{RENAMED_FROM} {old}` line (the new one then starts empty)"
                ),
            ));
        }
    }
}

/// Reads every `-- migrate:renamed-from OLD` of a schema file; refuses the
/// first problem (by line): a misplaced or misspelt directive, a table or
/// column renamed twice, or renamed from one the file still declares.
pub fn renames(sql: &str) -> Result<Renames, RenamesError> {
    let (out, problems) = read(sql);
    match problems.into_iter().next() {
        Some(p) => Err(p),
        None => Ok(out),
    }
}

/// The renames of a schema file and every problem with them, by line.
pub(crate) fn read(sql: &str) -> (Renames, Vec<RenamesError>) {
    let mut r = Reader::default();
    for (i, line) in sql.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(body) = trimmed.strip_prefix("--") {
            r.comment(i + 1, line, body.trim());
        } else if !trimmed.is_empty() {
            r.sql(i + 1, line);
        }
    }
    if let Some(&(line, _)) = r.pending.first() {
        r.problems.push(RenamesError::misplaced(line));
    }
    r.conflicts();
    r.problems.sort_by_key(|p| p.line);
    (r.out, r.problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_columns() {
        let r = renames(
            "-- migrate:renamed-from customer\nCREATE TABLE account (\n  id integer PRIMARY KEY,\n  -- migrate:renamed-from mail\n  \"email\" text NOT NULL\n);\nCREATE TABLE other (x int);\n",
        )
        .unwrap();
        assert_eq!(r.tables.get("account").map(String::as_str), Some("customer"));
        assert_eq!(
            r.columns.get(&("account".into(), "email".into())).map(String::as_str),
            Some("mail")
        );
        let back = r.reversed();
        assert_eq!(back.tables.get("customer").map(String::as_str), Some("account"));
        assert_eq!(
            back.columns
                .get(&("customer".into(), "mail".into()))
                .map(String::as_str),
            Some("email")
        );
    }

    #[test]
    fn a_stray_directive_names_its_line() {
        let line = |sql| renames(sql).map_err(|e| (e.kind, e.line));
        assert_eq!(
            line("CREATE TABLE a (x int);\n-- migrate:renamed-from b\nCREATE INDEX i ON a (x);\n"),
            Err((RenamesErrorKind::Misplaced, 2))
        );
        assert_eq!(
            line("-- migrate:renamed-from b\n"),
            Err((RenamesErrorKind::Misplaced, 1))
        );
        // The message is as it was: `schema.sql:line 2: …` on the command line.
        assert_eq!(
            renames("-- migrate:renamed-from b\n").unwrap_err().to_string(),
            "line 1: `-- migrate:renamed-from` must be followed by a `CREATE TABLE` line or, inside one, a column's line"
        );
    }

    /// The problems of `sql` as (kind, line, message).
    fn problems(sql: &str) -> Vec<(RenamesErrorKind, usize, String)> {
        read(sql).1.into_iter().map(|p| (p.kind, p.line, p.message)).collect()
    }

    #[test]
    fn a_misspelt_directive_says_what_it_meant() {
        let sql = "-- migrate:renamed_from customer\nCREATE TABLE account (\n  id int,\n  -- renamed-from: mail\n  email text,\n  -- MIGRATE:renamed-from note\n  remark text,\n  --  migrate renamed-from x\n  y text\n);\n-- migrate:upgrade\n-- renamed from the old app, in 2024: see the wiki\n--migrate:renamed-from old_log\nCREATE TABLE log (x int);\n";
        let got = problems(sql);
        let lines: Vec<(usize, &str)> = got.iter().map(|(_, l, m)| (*l, m.as_str())).collect();
        assert_eq!(
            lines,
            [
                (
                    1,
                    "`-- migrate:renamed_from customer` is not a directive: did you mean `-- migrate:renamed-from customer`?"
                ),
                (
                    4,
                    "`-- renamed-from: mail` is not a directive: did you mean `-- migrate:renamed-from mail`?"
                ),
                (
                    6,
                    "`-- MIGRATE:renamed-from note` is not a directive: did you mean `-- migrate:renamed-from note`?"
                ),
                (
                    8,
                    "`--  migrate renamed-from x` is not a directive: did you mean `-- migrate:renamed-from x`?"
                ),
                (11, "`-- migrate:upgrade` is not a directive of a schema file"),
            ]
        );
        assert!(got.iter().all(|(k, _, _)| *k == RenamesErrorKind::Lookalike));
        // `--migrate:` (no space) is the directive, as in migration files.
        let ok = renames("--migrate:renamed-from old_log\nCREATE TABLE log (x int);\n").unwrap();
        assert_eq!(ok.tables.get("log").map(String::as_str), Some("old_log"));
    }

    #[test]
    fn an_old_table_still_declared_names_both_lines() {
        let sql =
            "CREATE TABLE customer (id int);\n\n-- migrate:renamed-from customer\nCREATE TABLE account (id int);\n";
        let e = renames(sql).unwrap_err();
        assert_eq!((e.kind, e.line), (RenamesErrorKind::StillDeclared, 3));
        assert_eq!(
            e.message,
            "table \"account\" is renamed from \"customer\", but line 1 still declares \"customer\""
        );
        let d = e.diagnostic("schema.sql");
        assert_eq!((d.file.as_deref(), d.line), (Some("schema.sql"), Some(3)));
        assert!(
            d.help
                .unwrap()
                .contains("remove the CREATE TABLE \"customer\" on line 1")
        );
        // Columns too.
        let sql = "CREATE TABLE account (\n  id int,\n  mail text,\n  -- migrate:renamed-from mail\n  email text\n);\n";
        assert_eq!(
            problems(sql),
            [(
                RenamesErrorKind::StillDeclared,
                4,
                "column \"account\".\"email\" is renamed from \"mail\", but line 3 still declares \"mail\"".into()
            )]
        );
    }

    #[test]
    fn one_old_name_renamed_twice_names_both_lines() {
        let sql = "-- migrate:renamed-from customer\nCREATE TABLE account (id int);\n-- migrate:renamed-from customer\nCREATE TABLE client (id int);\n";
        assert_eq!(
            problems(sql),
            [(
                RenamesErrorKind::SameOld,
                3,
                "table \"client\" is renamed from \"customer\", and so is table \"account\" (line 1): \"customer\" would be renamed twice".into()
            )]
        );
        // One table with two `renamed-from` lines.
        let sql = "-- migrate:renamed-from customer\n-- migrate:renamed-from client\nCREATE TABLE account (\n  -- migrate:renamed-from a\n  -- a comment between\n  -- migrate:renamed-from b\n  c int\n);\n";
        assert_eq!(
            problems(sql),
            [
                (
                    RenamesErrorKind::Second,
                    2,
                    "a second `-- migrate:renamed-from` for table \"account\" (the first is on line 1)".into()
                ),
                (
                    RenamesErrorKind::Second,
                    6,
                    "a second `-- migrate:renamed-from` for column \"account\".\"c\" (the first is on line 4)".into()
                ),
            ]
        );
        // Two columns of one table from one old column.
        let sql = "CREATE TABLE t (\n  -- migrate:renamed-from a\n  b int,\n  -- migrate:renamed-from a\n  c int\n);\n";
        assert_eq!(problems(sql)[0].0, RenamesErrorKind::SameOld);
        assert_eq!(problems(sql)[0].1, 4);
    }

    #[test]
    fn swaps_and_chains_are_renames_not_conflicts() {
        let swap = "-- migrate:renamed-from b\nCREATE TABLE a (\n  -- migrate:renamed-from y\n  x int,\n  -- migrate:renamed-from x\n  y int\n);\n-- migrate:renamed-from a\nCREATE TABLE b (id int);\n";
        let r = renames(swap).unwrap();
        assert_eq!(r.tables.len(), 2);
        assert_eq!(r.columns.len(), 2);
        let chain = "-- migrate:renamed-from b\nCREATE TABLE a (id int);\n-- migrate:renamed-from c\nCREATE TABLE b (id int);\n";
        assert_eq!(renames(chain).unwrap().tables.len(), 2);
    }
}
