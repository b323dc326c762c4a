//! `migrate lint`: the statements of upgrade sections that are dangerous on
//! a live database (a lock that blocks writes for as long as a table is
//! read or copied, what the running code still uses taken away, what cannot
//! run at all), each a [`Finding`] with a stable rule id, a severity, the
//! file and line of the statement, and the safe way to write it.
//!
//! The rules ([`RULES`]) read the history as a whole, in application order:
//! a table is *existing* unless the same revision created it earlier in its
//! upgrade section (a table an earlier revision created, or one created
//! before this history began, holds rows); a column's type is known from
//! the `CREATE TABLE`, `ADD COLUMN` and type changes before it. Each
//! dialect's rules are in their own file (`postgres`, `mysql`, `sqlite`),
//! one short function each; a header line `-- migrate:allow RULE: reason`
//! waives a rule for its revision. Two rules find what fails at run time
//! whatever the project's settings ([`Rule::fails_at_run_time`]): those are
//! also refused when the file is parsed ([`crate::format::parse`]), so
//! `embed_migrations!` and `check` fail on them.
//!
//! It reads SQL as [`crate::sql`] tokenises it and never fails: a statement
//! it does not understand is one it says nothing about.

mod mysql;
mod postgres;
mod sqlite;
mod words;

use crate::Dialect;
use crate::graph::Graph;
use crate::migration::{Migration, Phase};
use crate::sql::statements;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use words::{Words, toks};

/// How much a finding matters: an error fails `lint` and `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Exit 1.
    Error,
    /// Printed; exit 0.
    Warning,
}

impl Severity {
    /// `error` or `warning`, as printed and as JSON writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// What a project sets a rule to (`[lint]` in migrate.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Report it as an error.
    Error,
    /// Report it as a warning.
    Warning,
    /// Do not report it.
    Off,
}

/// A level that is not `error`, `warning` or `off`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown lint level `{0}`: use error, warning or off")]
pub struct UnknownLevel(pub String);

impl std::str::FromStr for Level {
    type Err = UnknownLevel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "error" => Ok(Level::Error),
            "warning" | "warn" => Ok(Level::Warning),
            "off" | "allow" => Ok(Level::Off),
            other => Err(UnknownLevel(other.to_owned())),
        }
    }
}

/// One lint rule: its stable id, where it applies, and the safe form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The stable id, kebab-case: what waivers, `[lint]` and output name.
    pub id: &'static str,
    /// The databases it applies to.
    pub dialects: &'static [Dialect],
    /// What it finds, in one sentence.
    pub what: &'static str,
    /// The safe way to write it, in one sentence: the help line.
    pub safe: &'static str,
    /// Whether what it finds fails at run time on every database that
    /// accepts the syntax, so that parsing the file refuses it.
    pub fails_at_run_time: bool,
}

const PG: &[Dialect] = &[Dialect::Postgres];
const MY: &[Dialect] = &[Dialect::Mysql];
const LOCKS: &[Dialect] = &[Dialect::Postgres, Dialect::Mysql];
const ALL: &[Dialect] = &[Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite];

const fn define(id: &'static str, dialects: &'static [Dialect], what: &'static str, safe: &'static str) -> Rule {
    Rule {
        id,
        dialects,
        what,
        safe,
        fails_at_run_time: false,
    }
}

/// Every rule, errors by default.
pub const RULES: &[Rule] = &[
    define(
        "index-without-concurrently",
        PG,
        "`CREATE INDEX`, `DROP INDEX` or `REINDEX` on an existing table without `CONCURRENTLY`: writes to the table wait until it is done (reads too, for `DROP INDEX`)",
        "write it with `CONCURRENTLY` (`CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX … CONCURRENTLY`) in a revision of its own marked `-- migrate:no-transaction`",
    ),
    define(
        "unique-constraint-builds-index",
        PG,
        "a `UNIQUE`, `PRIMARY KEY` or `EXCLUDE` constraint added to an existing table: its index is built under an `ACCESS EXCLUSIVE` lock, reads and writes waiting",
        "build the index first with `CREATE UNIQUE INDEX CONCURRENTLY` in a revision marked `-- migrate:no-transaction`, then `ADD CONSTRAINT … UNIQUE USING INDEX …` (or `PRIMARY KEY USING INDEX …`), which only takes the index; an `EXCLUDE` constraint has no such form",
    ),
    define(
        "required-column-without-default",
        PG,
        "`ADD COLUMN … NOT NULL` with no default on an existing table: it fails as soon as the table holds a row",
        "add it with a constant default (`NOT NULL DEFAULT …`, which rewrites nothing), or nullable, backfilled, then made `NOT NULL` with a validated `CHECK` first",
    ),
    define(
        "table-rewrite",
        PG,
        "a statement that rewrites an existing table under an `ACCESS EXCLUSIVE` lock: a stored generated or an identity column added, `SET LOGGED`/`UNLOGGED`, `SET TABLESPACE`, `SET ACCESS METHOD`, `VACUUM FULL`, `CLUSTER`; or a copy swapped in for it, which loses the writes made after the copy",
        "add a plain column and fill it in batches (the code, or a trigger, computing it for new rows); run the rest in a maintenance window, or with an online tool such as pg_repack",
    ),
    Rule {
        fails_at_run_time: true,
        ..define(
            "concurrently-in-transaction",
            PG,
            "`CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY` or `REINDEX … CONCURRENTLY` in a migration that runs in a transaction: PostgreSQL refuses to run it there",
            "put it in a revision of its own marked `-- migrate:no-transaction`",
        )
    },
    define(
        "constraint-without-not-valid",
        PG,
        "a foreign key or CHECK constraint added to an existing table without `NOT VALID`, or validated in the transaction that added it: every row is read under a lock that blocks writes",
        "add it as a table constraint with `NOT VALID` (`ADD CONSTRAINT … NOT VALID`; a column's inline `REFERENCES` or `CHECK` cannot take it: add the column first), then `VALIDATE CONSTRAINT` it in a later revision, or after a commit (`-- migrate:no-transaction`): validating lets writes through",
    ),
    define(
        "set-not-null",
        PG,
        "`SET NOT NULL` on an existing table's column with no validated `CHECK (column IS NOT NULL)` before it: every row is read under an `ACCESS EXCLUSIVE` lock",
        "first add `CHECK (column IS NOT NULL) NOT VALID` and `VALIDATE CONSTRAINT` it in an earlier revision (or earlier in this one, if it is marked `-- migrate:no-transaction`): `SET NOT NULL` then reads nothing",
    ),
    define(
        "column-type-rewrite",
        PG,
        "a column type change that rewrites an existing table under an `ACCESS EXCLUSIVE` lock",
        "add a column of the new type, backfill it in batches, move the code to it, and drop the old one in a `contract` revision; widening a varchar, numeric or varbit, varchar to text and cidr to inet rewrite nothing",
    ),
    define(
        "volatile-default",
        PG,
        "`ADD COLUMN` with a volatile default (`random()`, `gen_random_uuid()`, `clock_timestamp()`, `nextval(…)`, a serial type): every row is rewritten under an `ACCESS EXCLUSIVE` lock",
        "add the column without a default (or with a constant one), then `ALTER COLUMN … SET DEFAULT …` for new rows and backfill the existing ones in batches",
    ),
    define(
        "rename-or-drop-outside-contract",
        ALL,
        "a table, or a column of an existing table, dropped or renamed in a revision not marked `-- migrate:phase: contract`: the code still running uses it",
        "stop using it in the code first, then drop or rename it in a revision marked `-- migrate:phase: contract`, applied once that code is deployed",
    ),
    define(
        "missing-lock-timeout",
        LOCKS,
        "DDL on an existing table with no lock timeout: waiting for its lock behind a long transaction, it blocks every query that comes after it",
        "add `-- migrate:lock-timeout: 5s` to the header, or set `ddl_lock_timeout` in migrate.toml (`--ddl-lock-timeout`); `lock_attempts` tries it again",
    ),
    Rule {
        fails_at_run_time: true,
        ..define(
            "enum-value-used-in-transaction",
            PG,
            "an enum value used in the transaction that added it (`ALTER TYPE … ADD VALUE`): PostgreSQL refuses it until that transaction commits",
            "add the value in a revision of its own, and use it in a later one",
        )
    },
    define(
        "mysql-table-copy",
        MY,
        "an `ALTER TABLE` on an existing table that the server does by copying it, or with writes locked out (a column type change, a primary key change, a stored generated or `AUTO_INCREMENT` column, a `CHECK`, a `FULLTEXT` or `SPATIAL` index, `ALGORITHM=COPY`, `CONVERT TO CHARACTER SET`, `ENGINE=`, `FORCE`, `ORDER BY`): writes wait until it ends; or a copy swapped in for it, which loses the writes made after the copy",
        "add `ALGORITHM=INSTANT`, or `ALGORITHM=INPLACE, LOCK=NONE`, so that the server refuses instead of copying; where it refuses, use an online schema change tool (gh-ost, pt-online-schema-change)",
    ),
    define(
        "mysql-foreign-key-existing",
        MY,
        "a foreign key added to an existing table: with foreign key checks on, MySQL copies the table to add it",
        "add it with `ALGORITHM=INPLACE, LOCK=NONE` in a revision marked `-- migrate:foreign-keys-off` (its rows are then not checked: check them first)",
    ),
    define(
        "mysql-unique-index-existing",
        MY,
        "a unique index or constraint added to an existing table: it fails on the first duplicate row, and one written while it builds makes it fail at the end",
        "remove the duplicates and make the code write none first, then add it with `ALGORITHM=INPLACE, LOCK=NONE` and waive this rule: `-- migrate:allow mysql-unique-index-existing: <why>`",
    ),
    define(
        "sqlite-rebuild-without-foreign-keys-off",
        &[Dialect::Sqlite],
        "SQLite's table rebuild (create the new table, copy, drop the old one, rename the new one) with foreign keys enforced: dropping the old table deletes or refuses the rows that reference it",
        "mark the revision `-- migrate:foreign-keys-off`: it then runs with `PRAGMA foreign_keys = OFF`, checked by `PRAGMA foreign_key_check` before it commits",
    ),
];

/// The rule called `id`.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// Every rule id, comma-separated: what the help of an unknown one lists.
pub fn rule_ids() -> String {
    RULES.iter().map(|r| r.id).collect::<Vec<_>>().join(", ")
}

/// One dangerous statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule's id.
    pub rule: &'static str,
    /// How much it matters, after the project's `[lint]` levels.
    pub severity: Severity,
    /// The migration file.
    pub file: String,
    /// The revision.
    pub revision: String,
    /// The 1-based line of the file where the statement is.
    pub line: usize,
    /// What is wrong here, in one sentence.
    pub message: String,
    /// The safe way to write it.
    pub help: &'static str,
}

/// `error[rule]: message`, then `--> file:line` and `= help:`, as rustc and
/// [`crate::Diagnostic`] print.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}[{}]: {}\n  --> {}:{}\n   = help: {}",
            self.severity.as_str(),
            self.rule,
            self.message,
            self.file,
            self.line,
            self.help
        )
    }
}

/// What a project tells the lint.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Rule id to level (`[lint]` in migrate.toml); the rest are errors.
    pub levels: BTreeMap<String, Level>,
    /// `lint_from = "REV"`: report only revisions that are neither REV nor one it needs.
    pub from: Option<String>,
    /// Revisions not to report (those in the folder at `--base`).
    pub shipped: BTreeSet<String>,
    /// Whether the run sets a lock timeout for every migration
    /// (`ddl_lock_timeout` in migrate.toml, `--ddl-lock-timeout`).
    pub run_lock_timeout: bool,
}

/// Why the lint cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LintError {
    /// A rule id that names no rule (`[lint]` in migrate.toml).
    #[error("no lint rule is called `{0}` (the rules are {rules})", rules = rule_ids())]
    UnknownRule(String),
    /// `lint_from` names no revision of the folder.
    #[error("`lint_from = \"{0}\"` names no revision of the folder: {1}")]
    UnknownFrom(String, crate::TargetError),
}

/// What the lint found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The findings reported, by file and line.
    pub findings: Vec<Finding>,
    /// How many findings a `-- migrate:allow` line waived.
    pub waived: usize,
    /// How many revisions were reported on (not before `lint_from` or at the base).
    pub linted: usize,
}

impl Report {
    /// Whether a finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// Lints the upgrade sections of `list` (in application order) as `dialect`
/// reads them; reports the revisions `config` does not leave out.
pub fn lint(list: &[Migration], dialect: Dialect, config: &Config) -> Result<Report, LintError> {
    if let Some(id) = config.levels.keys().find(|id| rule(id).is_none()) {
        return Err(LintError::UnknownRule(id.clone()));
    }
    let before = accepted(list, config)?;
    let mut history = History::default();
    let mut report = Report::default();
    for (i, m) in list.iter().enumerate() {
        let found = revision(m, dialect, &mut history, config.run_lock_timeout);
        if before[i] || config.shipped.contains(m.revision()) {
            continue;
        }
        report.linted += 1;
        for (rule, line, message) in found {
            if !rule.dialects.contains(&dialect) {
                continue;
            }
            if m.allowed().any(|a| a == rule.id) {
                report.waived += 1;
                continue;
            }
            let severity = match config.levels.get(rule.id) {
                Some(Level::Off) => continue,
                Some(Level::Warning) => Severity::Warning,
                Some(Level::Error) | None => Severity::Error,
            };
            report.findings.push(Finding {
                rule: rule.id,
                severity,
                file: m.file().to_owned(),
                revision: m.revision().to_owned(),
                line,
                message,
                help: rule.safe,
            });
        }
    }
    report
        .findings
        .sort_by(|a, b| (&a.file, a.line, a.rule).cmp(&(&b.file, b.line, b.rule)));
    Ok(report)
}

/// The revisions `lint_from` accepts as they are: it and what it needs (for
/// a revision a squash baseline replaced, the baseline and what it needs).
fn accepted(list: &[Migration], config: &Config) -> Result<Vec<bool>, LintError> {
    let Some(from) = &config.from else {
        return Ok(vec![false; list.len()]);
    };
    let unknown = |e| LintError::UnknownFrom(from.clone(), e);
    // A revision `migrate squash` replaced: its baseline holds it (and what it needed).
    let from = list
        .iter()
        .find(|m| m.replaces().any(|r| r == from.as_str()))
        .map_or(from.as_str(), Migration::revision);
    match Graph::of_ordered(list) {
        Ok(graph) => Ok(graph.ancestors(graph.resolve(from).map_err(unknown)?)),
        // Not one graph (a fork being merged): everything up to it in the list.
        Err(_) => {
            let at = crate::graph::find(list, from).map_err(unknown)?;
            let n = list.iter().position(|m| m.revision() == at.revision()).unwrap_or(0);
            Ok((0..list.len()).map(|i| i <= n).collect())
        }
    }
}

/// Whether `statement` is one PostgreSQL runs only outside a transaction
/// block (`CREATE INDEX CONCURRENTLY`, …: the `concurrently-in-transaction`
/// rule's statements), which an importer reads as the tools that run such a
/// file outside one do.
pub fn only_outside_a_transaction(statement: &str) -> bool {
    cannot_run_in_transaction(statement, 1)
        .iter()
        .any(|(rule, ..)| rule.id == "concurrently-in-transaction")
}

/// Whether some statement of `sql` cannot run in the transaction a revision
/// runs in ([`cannot_run_in_transaction`]'s findings, which a revision's
/// file is refused for unless it is `-- migrate:no-transaction`).
pub fn refused_in_a_transaction(sql: &str) -> bool {
    !cannot_run_in_transaction(sql, 1).is_empty()
}

/// The findings of the statements of a revision's SQL that cannot run in a
/// transaction, whatever the database (the syntax is PostgreSQL's): each
/// rule, line and message, lines counted from `first`, the file's line of
/// `sql`'s first. For [`crate::format::parse`].
pub(crate) fn cannot_run_in_transaction(sql: &str, first: usize) -> Vec<(&'static Rule, usize, String)> {
    let mut cx = Cx::new(Dialect::Postgres, true);
    for statement in statements(sql, Dialect::Postgres) {
        let toks = toks(statement.text, Dialect::Postgres);
        let s = Stmt {
            w: Words { toks: &toks },
            line: first + statement.code_line(Dialect::Postgres) - 1,
        };
        postgres::concurrently_in_transaction(&mut cx, &s);
        postgres::enum_value_used_in_transaction(&mut cx, &s);
        postgres::record_enum_value(&mut cx, &s);
    }
    cx.found
}

/// What earlier revisions left that later rules read.
#[derive(Debug, Default)]
struct History {
    /// `(table, column)` to its type as last written (`words::type_at`).
    types: HashMap<(String, String), String>,
    /// `(table, column)` with a validated `CHECK (column IS NOT NULL)`.
    not_null_checked: HashSet<(String, String)>,
    /// Constraint name to the `(table, column)` its `NOT VALID` check is on.
    unvalidated: HashMap<String, (String, String)>,
    /// Index name to its table, as `CREATE INDEX` named them.
    indexes: HashMap<String, String>,
    /// Indexes that went with their dropped table.
    gone_indexes: HashSet<String>,
    /// Tables created `PARTITION BY …`.
    partitioned: HashSet<String>,
}

/// One statement: its words and the line of the file it starts on.
struct Stmt<'t> {
    w: Words<'t>,
    line: usize,
}

/// The lint of one revision: what the rules read and report into.
struct Cx {
    dialect: Dialect,
    /// Whether the revision runs in a transaction.
    transactional: bool,
    phase: Option<Phase>,
    lock_timeout: bool,
    foreign_keys_off: bool,
    /// Tables this revision created, so far.
    created: HashSet<String>,
    /// Existing tables this revision dropped, and the line.
    dropped: HashMap<String, usize>,
    /// Enum values this revision added, and the line.
    enum_values: Vec<(String, usize)>,
    /// Constraints this revision added `NOT VALID`.
    not_valid: HashSet<String>,
    /// Tables this revision filled from another (`INSERT INTO t SELECT … FROM
    /// source`): `t` to `source`.
    copies: HashMap<String, String>,
    /// The findings of `DROP TABLE`s, by table: none if the revision makes
    /// the table again (a rebuild), which is no removal.
    drops: Vec<(String, usize)>,
    history: History,
    found: Vec<(&'static Rule, usize, String)>,
}

impl Cx {
    fn new(dialect: Dialect, transactional: bool) -> Cx {
        Cx {
            dialect,
            transactional,
            phase: None,
            lock_timeout: false,
            foreign_keys_off: false,
            created: HashSet::new(),
            dropped: HashMap::new(),
            enum_values: Vec::new(),
            not_valid: HashSet::new(),
            copies: HashMap::new(),
            drops: Vec::new(),
            history: History::default(),
            found: Vec::new(),
        }
    }

    /// Whether `table` holds rows for all this revision knows: it did not create it.
    fn existing(&self, table: &str) -> bool {
        !self.created.contains(table)
    }

    /// Reports rule `id` at `line`.
    fn report(&mut self, id: &str, line: usize, message: String) {
        if let Some(rule) = rule(id) {
            self.found.push((rule, line, message));
        }
    }

    /// The type `column` of `table` last had, if the history says.
    fn type_of(&self, table: &str, column: &str) -> Option<&str> {
        self.history
            .types
            .get(&(table.to_owned(), column.to_owned()))
            .map(String::as_str)
    }

    /// Whether a validated `CHECK (column IS NOT NULL)` is on `table`.
    fn not_null_checked(&self, table: &str, column: &str) -> bool {
        self.history
            .not_null_checked
            .contains(&(table.to_owned(), column.to_owned()))
    }
}

/// The findings of one revision (rule, line of its file, message), the
/// history updated with what it did.
fn revision(
    m: &Migration,
    dialect: Dialect,
    history: &mut History,
    run_lock_timeout: bool,
) -> Vec<(&'static Rule, usize, String)> {
    let directives = m.directives();
    let mut cx = Cx {
        phase: m.phase(),
        lock_timeout: run_lock_timeout || directives.lock_timeout.is_some(),
        foreign_keys_off: directives.foreign_keys_off,
        history: std::mem::take(history),
        ..Cx::new(dialect, !m.no_transaction())
    };
    // Each statement at its line; on MySQL, with those a MariaDB anonymous block runs.
    let mut read: Vec<(&str, usize)> = Vec::new();
    for statement in statements(m.upgrade_sql(), dialect) {
        let line = m.upgrade_line() + statement.code_line(dialect) - 1;
        read.push((statement.text, line));
        if dialect == Dialect::Mysql {
            for (at, inner) in crate::sql::split::block_statements(statement.text) {
                let line = statement.line + crate::sql::newlines(&statement.text[..at]);
                read.push((inner, m.upgrade_line() + line - 1));
            }
        }
    }
    for (text, line) in read {
        let toks = toks(text, dialect);
        let s = Stmt {
            w: Words { toks: &toks },
            line,
        };
        rename_or_drop_outside_contract(&mut cx, &s);
        match dialect {
            Dialect::Postgres => postgres::check(&mut cx, &s),
            Dialect::Mysql => mysql::check(&mut cx, &s),
            Dialect::Sqlite => sqlite::check(&mut cx, &s),
        }
        missing_lock_timeout(&mut cx, &s);
        record(&mut cx, &s);
    }
    // A table dropped and made again (SQLite's rebuild) was not taken away.
    let rebuilt: Vec<usize> = cx
        .drops
        .iter()
        .filter(|(t, _)| cx.created.contains(t))
        .map(|&(_, i)| i)
        .collect();
    *history = cx.history;
    cx.found
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !rebuilt.contains(i))
        .map(|(_, f)| f)
        .collect()
}

/// `ALTER TABLE name actions`: the table and each action with its position.
/// [`alter_table`] when its table is existing ([`Cx::existing`]): what most rules read.
fn alter_existing<'t>(cx: &Cx, w: &Words<'t>) -> Option<(String, Vec<(usize, Words<'t>)>)> {
    alter_table(w).filter(|(table, _)| cx.existing(table))
}

fn alter_table<'t>(w: &Words<'t>) -> Option<(String, Vec<(usize, Words<'t>)>)> {
    let at = if w.starts(&["ALTER", "TABLE"]) {
        2
    } else if w.starts(&["ALTER", "ONLINE", "TABLE"]) || w.starts(&["ALTER", "IGNORE", "TABLE"]) {
        3
    } else {
        return None;
    };
    let (table, next) = w.name(at)?;
    Some((table, w.parts(next)))
}

/// The column an `ADD [COLUMN] [IF NOT EXISTS] name type …` action adds,
/// and where its type starts; `None` for an added constraint or index.
fn added_column(action: &Words<'_>) -> Option<(String, usize)> {
    if action.key(0) != "ADD" {
        return None;
    }
    let mut i = 1;
    if action.key(1) == "COLUMN" {
        i = 2;
    } else if matches!(
        action.key(1),
        "CONSTRAINT"
            | "PRIMARY"
            | "UNIQUE"
            | "FOREIGN"
            | "CHECK"
            | "INDEX"
            | "KEY"
            | "FULLTEXT"
            | "SPATIAL"
            | "EXCLUDE"
            | "PARTITION"
            | "("
            | ""
    ) && action
        .toks
        .get(1)
        .is_none_or(|t| t.kind != crate::sql::lex::Kind::Quoted)
    {
        return None;
    }
    let (column, next) = action.name(i)?;
    Some((column, next))
}

/// The table `DROP TABLE` drops, each, and the existing ones with their lines.
fn dropped_tables(w: &Words<'_>) -> Vec<String> {
    if !w.starts(&["DROP", "TABLE"]) {
        return Vec::new();
    }
    w.parts(2)
        .into_iter()
        .filter_map(|(_, part)| part.name(0).map(|(n, _)| n))
        .collect()
}

/// Drops and renames of tables and of existing tables' columns, outside a
/// `contract` revision (every dialect).
fn rename_or_drop_outside_contract(cx: &mut Cx, s: &Stmt<'_>) {
    if cx.phase == Some(Phase::Contract) {
        return;
    }
    let w = &s.w;
    let mut found: Vec<String> = Vec::new();
    let drops: Vec<String> = dropped_tables(w).into_iter().filter(|t| cx.existing(t)).collect();
    for table in drops {
        cx.drops.push((table.clone(), cx.found.len() + found.len()));
        found.push(format!("`DROP TABLE {table}`"));
    }
    if w.starts(&["RENAME", "TABLE"])
        && let Some((table, _)) = w.name(2)
        && cx.existing(&table)
    {
        found.push(format!("`RENAME TABLE {table}`"));
    }
    if let Some((table, actions)) = alter_table(w)
        && cx.existing(&table)
    {
        for (_, a) in actions {
            if let Some(what) = removal(&a, cx) {
                found.push(format!("{what} on `{table}`"));
            }
        }
    }
    for what in found {
        cx.report(
            "rename-or-drop-outside-contract",
            s.line,
            format!(
                "{what} in a revision not marked `-- migrate:phase: contract`: the code still running may use what it takes away"
            ),
        );
    }
}

/// What an `ALTER TABLE` action drops or renames (a column, the table), if anything.
fn removal(a: &Words<'_>, cx: &Cx) -> Option<String> {
    match a.key(0) {
        "RENAME" if matches!(a.key(1), "TO" | "AS") => Some("`RENAME TO`".into()),
        "RENAME" if !matches!(a.key(1), "INDEX" | "KEY" | "CONSTRAINT") => {
            let at = if a.key(1) == "COLUMN" { 2 } else { 1 };
            a.name(at).map(|(c, _)| format!("`RENAME COLUMN {c}`"))
        }
        "DROP"
            if !matches!(
                a.key(1),
                "CONSTRAINT"
                    | "INDEX"
                    | "KEY"
                    | "DEFAULT"
                    | "NOT"
                    | "PRIMARY"
                    | "FOREIGN"
                    | "CHECK"
                    | "PARTITION"
                    | "EXPRESSION"
                    | "IDENTITY"
                    | "SYSTEM"
            ) =>
        {
            let at = if a.key(1) == "COLUMN" { 2 } else { 1 };
            a.name(at).map(|(c, _)| format!("`DROP COLUMN {c}`"))
        }
        // MySQL's `CHANGE old new type`: a rename when the names differ.
        "CHANGE" if cx.dialect == Dialect::Mysql => {
            let at = if a.key(1) == "COLUMN" { 2 } else { 1 };
            let (old, next) = a.name(at)?;
            let (new, _) = a.name(next)?;
            (old != new).then(|| format!("`CHANGE {old} {new}` (a rename)"))
        }
        _ => None,
    }
}

/// DDL that locks an existing table, in a revision with no lock timeout:
/// once per revision, at its first such statement.
fn missing_lock_timeout(cx: &mut Cx, s: &Stmt<'_>) {
    if cx.lock_timeout || cx.dialect == Dialect::Sqlite {
        return;
    }
    let w = &s.w;
    let table = if let Some((t, _)) = alter_table(w) {
        Some(t)
    } else if w.starts(&["CREATE"]) && w.find(0, &["INDEX"]).is_some() && !w.has("CONCURRENTLY") {
        w.find(0, &["ON"]).and_then(|on| w.name(on + 1)).map(|(t, _)| t)
    } else if w.starts(&["DROP", "TABLE"]) || w.starts(&["TRUNCATE"]) || w.starts(&["RENAME", "TABLE"]) {
        dropped_tables(w)
            .into_iter()
            .next()
            .or_else(|| w.name(2).map(|(t, _)| t))
    } else {
        None
    };
    if let Some(table) = table.filter(|t| cx.existing(t)) {
        cx.lock_timeout = true; // once per revision
        cx.report(
            "missing-lock-timeout",
            s.line,
            format!("this statement locks the existing table `{table}`, and the revision sets no lock timeout"),
        );
    }
}

/// What a statement leaves for the rules after it: tables created and
/// dropped, column types, validated checks.
fn record(cx: &mut Cx, s: &Stmt<'_>) {
    let w = &s.w;
    if w.starts(&["CREATE"]) {
        let at = w.find(0, &["TABLE"]).filter(|&t| t <= 4);
        if let Some((table, next)) = at.and_then(|t| w.name(t + 1)) {
            cx.created.insert(table.clone());
            if w.find(next, &["PARTITION", "BY"]).is_some() {
                cx.history.partitioned.insert(table.clone());
            }
            if w.key(next) == "(" {
                for (_, part) in w.parts(next + 1) {
                    if let Some((column, at)) = part.name(0).filter(|_| !is_table_constraint(part.key(0))) {
                        let ty = part.type_at(at);
                        cx.history.types.insert((table.clone(), column), ty);
                    }
                }
            }
        }
    }
    if let Some((index, table)) = postgres::created_index(w) {
        cx.history.gone_indexes.remove(&index);
        cx.history.indexes.insert(index, table);
    }
    for index in postgres::dropped_indexes(w) {
        cx.history.indexes.remove(&index);
    }
    // `INSERT INTO copy SELECT … FROM source`: a copy, which may be swapped in for its source.
    if w.starts(&["INSERT", "INTO"])
        && let Some((copy, next)) = w.name(2)
        && let Some(from) = w.find(next, &["SELECT"]).and_then(|at| w.find(at, &["FROM"]))
        && let Some((source, _)) = w.name(from + 1)
    {
        cx.copies.insert(copy, source);
    }
    for table in dropped_tables(w) {
        if cx.existing(&table) {
            cx.dropped.insert(table.clone(), s.line);
        }
        cx.created.remove(&table);
        cx.history.partitioned.remove(&table);
        cx.history.types.retain(|(t, _), _| *t != table);
        // Its indexes went with it.
        let gone: Vec<String> = cx
            .history
            .indexes
            .iter()
            .filter(|(_, t)| **t == table)
            .map(|(i, _)| i.clone())
            .collect();
        for index in gone {
            cx.history.indexes.remove(&index);
            cx.history.gone_indexes.insert(index);
        }
    }
    // MySQL's `RENAME TABLE a TO b, c TO d`: as `ALTER TABLE a RENAME TO b`, pair by pair.
    if w.starts(&["RENAME", "TABLE"]) {
        for (_, pair) in w.parts(2) {
            if let Some((old, next)) = pair.name(0)
                && pair.key(next) == "TO"
                && let Some((new, _)) = pair.name(next + 1)
            {
                renamed(cx, &old, &new, s.line);
            }
        }
    }
    if let Some((table, actions)) = alter_table(w) {
        for (_, a) in &actions {
            if a.key(0) == "RENAME"
                && matches!(a.key(1), "TO" | "AS")
                && let Some((new, _)) = a.name(2)
            {
                swapped_in(cx, &table, &new, s.line);
            }
        }
        for (_, a) in actions {
            record_action(cx, &table, &a);
        }
    }
}

/// A copy this revision made of `source` taking its name (`copy` renamed to
/// `source`): outside SQLite, whose write lock holds writes off while a
/// revision runs, the writes made to `source` after the copy are lost.
fn swapped_in(cx: &mut Cx, copy: &str, source: &str, line: usize) {
    let rule = match cx.dialect {
        Dialect::Postgres => "table-rewrite",
        Dialect::Mysql => "mysql-table-copy",
        Dialect::Sqlite => return,
    };
    if cx.created.contains(copy) && cx.copies.get(copy).is_some_and(|s| s == source) {
        cx.report(
            rule,
            line,
            format!("the copy `{copy}` made of `{source}` in this revision takes its name: the writes made to `{source}` after the copy are lost"),
        );
    }
}

/// `RENAME TABLE old TO new` (MySQL): a copy may be swapped in, and the
/// table moves ([`move_table`]).
fn renamed(cx: &mut Cx, old: &str, new: &str, line: usize) {
    swapped_in(cx, old, new, line);
    move_table(cx, old, new);
}

/// A table renamed: the new name holds the old table's rows (created here
/// only if that was), its column types and what it was copied from.
fn move_table(cx: &mut Cx, old: &str, new: &str) {
    if cx.history.partitioned.remove(old) {
        cx.history.partitioned.insert(new.to_owned());
    }
    if let Some(source) = cx.copies.remove(old) {
        cx.copies.insert(new.to_owned(), source);
    }
    let moved: Vec<_> = cx
        .history
        .types
        .iter()
        .filter(|((t, _), _)| t == old)
        .map(|((_, c), ty)| (c.clone(), ty.clone()))
        .collect();
    for (c, ty) in moved {
        cx.history.types.insert((new.to_owned(), c), ty);
    }
    if cx.created.remove(old) {
        cx.created.insert(new.to_owned());
    } else {
        cx.created.remove(new);
    }
}

/// Whether a `CREATE TABLE` element starting with `key` is a constraint, not a column.
fn is_table_constraint(key: &str) -> bool {
    matches!(
        key,
        "CONSTRAINT"
            | "PRIMARY"
            | "UNIQUE"
            | "CHECK"
            | "FOREIGN"
            | "EXCLUDE"
            | "LIKE"
            | "INDEX"
            | "KEY"
            | "FULLTEXT"
            | "SPATIAL"
    )
}

/// What one `ALTER TABLE` action leaves for the rules after it.
fn record_action(cx: &mut Cx, table: &str, a: &Words<'_>) {
    let key = |t: &str, c: &str| (t.to_owned(), c.to_owned());
    if let Some((column, at)) = added_column(a) {
        cx.history.types.insert(key(table, &column), a.type_at(at));
    }
    // `ALTER [COLUMN] c [SET DATA] TYPE t`, MySQL's `MODIFY c t` and `CHANGE old new t`.
    let at = if matches!(a.key(1), "COLUMN") { 2 } else { 1 };
    match a.key(0) {
        "ALTER" => {
            if let Some((column, next)) = a.name(at) {
                let ty = a.find(next, &["TYPE"]).filter(|&t| t <= next + 2);
                if let Some(t) = ty {
                    cx.history.types.insert(key(table, &column), a.type_at(t + 1));
                }
            }
        }
        "MODIFY" => {
            if let Some((column, next)) = a.name(at) {
                cx.history.types.insert(key(table, &column), a.type_at(next));
            }
        }
        "CHANGE" => {
            if let Some((old, next)) = a.name(at)
                && let Some((new, next)) = a.name(next)
            {
                cx.history.types.remove(&key(table, &old));
                cx.history.types.insert(key(table, &new), a.type_at(next));
            }
        }
        // The new name holds the old table's rows: created here only if that was.
        "RENAME" if matches!(a.key(1), "TO" | "AS") => {
            if let Some((new, _)) = a.name(2) {
                move_table(cx, table, &new);
            }
        }
        "RENAME" => {
            if let Some((old, next)) = a.name(at)
                && a.key(next) == "TO"
                && let Some((new, _)) = a.name(next + 1)
                && let Some(ty) = cx.history.types.remove(&key(table, &old))
            {
                cx.history.types.insert(key(table, &new), ty);
            }
        }
        _ => {}
    }
    postgres::record_check(cx, table, a);
}

#[cfg(test)]
mod tests;
