//! Offline SQL scripts: what an upgrade or downgrade would run, as text a
//! DBA can read and run by hand, without touching any database.
//!
//! A script is built from the same pieces as an online run: the plan from
//! `migrate_core::plan`, each migration's SQL verbatim, and the history-table
//! statements of [`Dialect`], which the drivers send online, including the
//! digest row kept with every change. Run by hand, it leaves the history
//! table as an online run would (same rows; the `applied_at` comes from the
//! database clock, `execution_ms` is 0).
//!
//! # Ranges
//!
//! A script starts from an assumed state, since it cannot read one:
//!
//! | range | assumes applied | then |
//! |---|---|---|
//! | `TO` (upgrade only) | nothing (`base`) | upgrades to `TO` |
//! | `FROM:TO` | `FROM` and its ancestors (`base`: nothing, `head`: everything) | upgrades or downgrades to `TO` |
//!
//! `FROM` and `TO` are targets in the usual grammar. A downgrade script
//! always needs `FROM:TO` (e.g. `head:base`, `ae10:-1`), as in Alembic.
//! Run on a database that is not at `FROM`, a script stops at a guard
//! before its first change (`offline/guards.rs`), as an online run refuses.
//!
//! An upgrade script to `head` then applies every repeatable revision
//! ([`Migrations::repeatables`]), each its own step with its row replaced:
//! it cannot read which ones the database holds at their checksum, and each
//! replaces what an earlier text of it created. A downgrade script removes
//! their rows first, as an online downgrade does, so the next upgrade to
//! head applies them all again.
//!
//! # Transactions
//!
//! On SQLite and PostgreSQL each migration and its history row run between
//! `BEGIN;` and `COMMIT;`, except `-- migrate:no-transaction` ones. MySQL
//! and MariaDB commit DDL implicitly, so their scripts have no transaction
//! statements, and the script says so.

use crate::dialect::{Dialect, HistorySql};
use crate::error::{Error, Result};
use crate::migrator::Migrations;
use crate::split::needs_terminator;
use crate::table::HistoryTable;
use migrate_core::State;
use migrate_core::{Digest, Direction, Graph, Migration, Target, TargetError, plan};
use std::fmt::Write as _;

mod guards;
use guards::{push_downgrade_guard, push_squash_guard, push_upgrade_guard};

/// Where a script starts and where it goes: `FROM:TO`, or `TO` alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRange {
    /// The state the script assumes (`None`: nothing applied).
    pub from: Option<Target>,
    /// Where the script takes the database.
    pub to: Target,
}

impl std::str::FromStr for ScriptRange {
    type Err = TargetError;

    /// Parses `TO` or `FROM:TO`; the target grammar has no `:`, so the
    /// first one splits the two.
    fn from_str(s: &str) -> Result<Self, TargetError> {
        match s.split_once(':') {
            Some((from, to)) => Ok(ScriptRange {
                from: Some(from.parse()?),
                to: to.parse()?,
            }),
            None => Ok(ScriptRange {
                from: None,
                to: s.parse()?,
            }),
        }
    }
}

impl std::fmt::Display for ScriptRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.from {
            Some(from) => write!(f, "{from}:{}", self.to),
            None => write!(f, "{}", self.to),
        }
    }
}

/// Appends a migration's `sql` and, when it lacks one, a statement
/// terminator on a line of its own, as the drivers send it online (so a
/// trailing comment cannot swallow it, and SQLite records the same text).
///
/// The `mysql` client splits its input at every `;`, also inside a trigger's
/// or procedure's `BEGIN … END` body: on MySQL a migration holding such a
/// body, or `DELIMITER` lines of its own, is written statement by statement,
/// each compound one between `DELIMITER` lines, so the client sends it
/// whole, as the driver does.
fn push_sql(out: &mut String, sql: &str, dialect: Dialect) {
    let sql = sql.trim();
    if sql.is_empty() {
        return;
    }
    if dialect == Dialect::Mysql {
        let statements = crate::split::statements(sql, dialect);
        // A section's own `DELIMITER` lines are not copied: one it leaves set would
        // hold for the script's lines after it.
        if statements.iter().any(|s| s.text.contains(';')) || migrate_core::sql::split::for_the_mysql_client(sql) {
            for statement in statements {
                if statement.text.contains(';') {
                    let delimiter = ["//", "$$", ";;", "$$$", "//~"]
                        .into_iter()
                        .find(|d| !statement.text.contains(d))
                        .unwrap_or("@@migrate@@");
                    out.push_str(&format!(
                        "DELIMITER {delimiter}\n{}\n{delimiter}\nDELIMITER ;\n",
                        statement.text
                    ));
                } else {
                    out.push_str(statement.text);
                    out.push_str(";\n");
                }
            }
            return;
        }
    }
    out.push_str(sql);
    if needs_terminator(sql, dialect) {
        out.push_str("\n;");
    }
    out.push('\n');
}

/// A migration's `sql` as a script writes it for `dialect` (terminated, a
/// MySQL compound statement between `DELIMITER` lines): the SQL of one step
/// of a [`PendingPlan`](crate::PendingPlan).
pub fn step_sql(sql: &str, dialect: Dialect) -> String {
    let mut out = String::new();
    push_sql(&mut out, sql, dialect);
    out
}

/// Appends one history-table statement of [`Dialect`], terminated.
fn push_statement(out: &mut String, statement: &str) {
    out.push_str(statement);
    out.push_str(";\n");
}

/// `a, b` for a revision's parents, empty for a root (Alembic prints the
/// root's upgrade as `Running upgrade  -> id`).
pub fn parents(m: &Migration) -> String {
    m.down_revisions().collect::<Vec<_>>().join(", ")
}

/// The Alembic-style line naming one step: `upgrade a -> b, message`.
pub fn step_line(direction: Direction, m: &Migration) -> String {
    if migrate_core::repeatable::is_repeatable(m.revision()) {
        return format!("repeatable {}, {}", m.file(), m.message());
    }
    match direction {
        Direction::Upgrade => format!("upgrade {} -> {}, {}", parents(m), m.revision(), m.message()),
        Direction::Downgrade => format!("downgrade {} -> {}, {}", m.revision(), parents(m), m.message()),
    }
}

impl Migrations {
    /// The SQL script that takes a database from `range.from` to `range.to`
    /// in `direction`, for `dialect`, keeping the history in `table`.
    ///
    /// See the [module docs](crate::offline) for the range rules; a range
    /// without `FROM` starts from `base` in either direction (so a downgrade
    /// from it has nothing to do: the command line insists on `FROM:TO`).
    /// Fails, like the online run, on a target that names no revision, a
    /// wrong direction, or a downgrade past an irreversible revision.
    pub fn script(
        &self,
        dialect: Dialect,
        table: &HistoryTable,
        direction: Direction,
        range: &ScriptRange,
    ) -> Result<String> {
        self.script_with(
            dialect,
            (table, &crate::vars::Values::default()),
            (None, None),
            direction,
            range,
        )
    }

    /// [`script`](Self::script) with the values of declared variables and
    /// the run's lock and statement timeouts, which bound each step without
    /// its own ([`Migrator::script`](crate::Migrator::script)).
    pub(crate) fn script_with(
        &self,
        dialect: Dialect,
        (table, vars): (&HistoryTable, &crate::vars::Values),
        timeouts: Timeouts,
        direction: Direction,
        range: &ScriptRange,
    ) -> Result<String> {
        let graph = self.graph().map_err(Error::Invalid)?;
        let nothing = vec![false; graph.len()];
        let applied = match &range.from {
            None => nothing,
            Some(from) => {
                let mut set = nothing.clone();
                for i in plan::upgrade(&graph, &nothing, from)?.steps {
                    set[i] = true;
                }
                set
            }
        };
        let plan = match direction {
            Direction::Upgrade => plan::upgrade(&graph, &applied, &range.to)?,
            Direction::Downgrade => plan::downgrade(&graph, &applied, &range.to)?,
        };
        // A Rust revision's code runs only in the application: a script cannot hold it.
        if let Some(m) = plan.steps.iter().map(|&i| graph.get(i)).find(|m| m.is_rust()) {
            return Err(Error::RustNotEmbedded {
                revision: m.revision().to_owned(),
                file: m.file().to_owned(),
                direction,
                applied: Vec::new(),
            });
        }
        // A backfill's batches and their progress are the runtime's: a script would run one statement unbounded.
        if let Some(m) = plan
            .steps
            .iter()
            .map(|&i| graph.get(i))
            .find(|m| direction == Direction::Upgrade && m.backfill().is_some())
        {
            return Err(Error::Backfill {
                revision: m.revision().to_owned(),
                file: m.file().to_owned(),
                reason: "a backfill runs in batches, each committed with its progress, which an offline script cannot do; run `migrate upgrade` (or the application's) for it".into(),
                applied: Vec::new(),
            });
        }
        let bound = vars.bind_script(self, &graph, &plan, dialect)?;
        // An upgrade to head applies the repeatables after its steps. A script cannot
        // read which the database holds at their checksum: it applies every one, as
        // on a fresh database (each replaces what an earlier text of it created).
        let repeatables = match direction {
            Direction::Upgrade if plan::reaches_head(&graph, &range.to, &plan) => self
                .repeatables()
                .iter()
                .map(|m| vars.bind_script_one(self, m, dialect, direction).map(|b| (m, b)))
                .collect::<Result<Vec<_>>>()?,
            _ => Vec::new(),
        };
        // The repeatables' rows the digest expects at the end: those it applies, or,
        // from a given state other than base, those this folder's files would have
        // written (a guess the digest's guard checks: if wrong, no digest is written).
        // A downgrade removes their rows (see `render`): it ends holding none.
        let assumed = matches!(&range.from, Some(from) if *from != Target::Base) && direction == Direction::Upgrade;
        let held = match !repeatables.is_empty() || assumed {
            true => self.repeatables(),
            false => &[],
        };
        Ok(render(
            dialect,
            table,
            direction,
            range,
            &graph,
            Steps {
                plan: &plan,
                bound: &bound,
                repeatables: &repeatables,
                held,
                timeouts,
                list: self,
            },
            applied,
        ))
    }
}

/// What a script runs: the plan's steps (those declaring variables bound, by
/// position), then the repeatables (each as written and bound).
struct Steps<'a> {
    plan: &'a migrate_core::Plan,
    bound: &'a [(usize, Migration)],
    repeatables: &'a [(&'a Migration, Migration)],
    /// The repeatables whose rows the history holds once the script ran.
    held: &'a [Migration],
    /// The run's timeouts, for each step without its own.
    timeouts: Timeouts,
    /// The list, whose secret variables the steps' notes name.
    list: &'a Migrations,
}

/// How a script frames its steps: their database, the run's timeouts (for
/// each step without its own), and where the history table is pinned
/// ([`HistorySql::history_pin_script`]).
#[derive(Clone, Copy)]
struct Framing<'a> {
    dialect: Dialect,
    timeouts: Timeouts,
    pin: Option<&'a str>,
    /// For the notes above a step whose secret variables stay `${NAME}`.
    list: &'a Migrations,
}

/// A history statement outside a step's transaction: where the history
/// table is pinned, in a transaction of its own that searches its schema.
fn push_history(out: &mut String, framing: Framing<'_>, statement: &str) {
    match framing.pin {
        Some(pin) => {
            out.push_str("BEGIN;\n");
            push_statement(out, pin);
            push_statement(out, statement);
            out.push_str("COMMIT;\n");
        }
        None => push_statement(out, statement),
    }
}

/// A run's lock timeout and statement timeout.
pub(crate) type Timeouts = (Option<std::time::Duration>, Option<std::time::Duration>);

/// A script's first lines: what it is, how to run it (the client stopping at
/// the first error), and the session it sets.
fn header(dialect: Dialect, direction: Direction, range: &ScriptRange) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "-- {direction} {} for {dialect}, written by migrate {} without connecting to a database.",
        match &range.from {
            Some(_) => range.to_string(),
            None => format!("base:{}", range.to),
        },
        env!("CARGO_PKG_VERSION"),
    );
    match dialect {
        // sqlite3 carries on after an error unless told not to, and would reach the
        // COMMIT of a failed migration: `.bail on` stops it there, -bail or not.
        Dialect::Sqlite => out.push_str(
            "-- Run it with: sqlite3 -bail app.db < script.sql\n\
             -- `.bail on` makes sqlite3 stop at the first error, so a failed migration never reaches\n\
             -- its COMMIT. With another tool, drop that line and make the tool stop at the first error.\n\
             .bail on\n",
        ),
        // psql too carries on after an error unless told not to.
        Dialect::Postgres => out.push_str(
            "-- Run it with: psql -v ON_ERROR_STOP=1 -f script.sql DATABASE\n\
             -- `\\set ON_ERROR_STOP on` makes psql stop at the first error, so a failed migration never\n\
             -- reaches its COMMIT. With another tool, drop that line and make the tool stop at the first error.\n\
             \\set ON_ERROR_STOP on\n",
        ),
        Dialect::Mysql => out.push_str(
            "-- Run it with: mysql --comments DATABASE < script.sql\n\
             -- `--comments` keeps the comments inside a trigger's or routine's body, as an online run does\n\
             -- (the client strips them by default).\n\
             -- MySQL and MariaDB commit DDL implicitly, so no transaction can make a migration\n\
             -- atomic: this script has no BEGIN/COMMIT. If a statement fails, its migration's row\n\
             -- stays marked in progress: check the database by hand, then record how it stands\n\
             -- (`migrate resolve ID --applied` or `--not-applied`) before running the rest.\n",
        ),
    }
    if let Some(session) = dialect.session_script() {
        out.push_str(session);
        out.push('\n');
    }
    out
}

fn render(
    dialect: Dialect,
    table: &HistoryTable,
    direction: Direction,
    range: &ScriptRange,
    graph: &Graph<'_>,
    steps: Steps<'_>,
    mut applied: Vec<bool>,
) -> String {
    let Steps {
        plan,
        bound,
        repeatables,
        held,
        timeouts,
        list,
    } = steps;
    let changes = !plan.is_empty() || !repeatables.is_empty();
    let mut out = header(dialect, direction, range);
    let pin = dialect.history_pin_script(table);
    if let Some((note, _)) = &pin {
        out.push_str(
            "\n-- The history table is the one in the schema current now, as an online run pins it: a\n\
             -- migration that changes search_path does not move it (each history statement below searches\n\
             -- that schema alone, until its transaction ends).\n",
        );
        push_statement(&mut out, note);
    }
    let framing = Framing {
        dialect,
        timeouts,
        pin: pin.as_ref().map(|(_, each)| each.as_str()),
        list,
    };
    out.push('\n');
    push_statement(&mut out, &dialect.create_table(table));
    if !changes {
        out.push_str("\n-- Nothing to do: the range needs no migration.\n");
    } else {
        // As online: no start-up check may take the short cut while the script runs.
        out.push_str("\n-- Until the last step is done, no start-up check may skip the history rows.\n");
        push_statement(&mut out, &dialect.delete_digest(table));
    }
    if direction == Direction::Downgrade && !plan.is_empty() {
        out.push_str(
            "\n-- A downgrade forgets the repeatable revisions' rows, whatever its SQL drops: the next\n\
             -- upgrade to head applies every one again.\n",
        );
        push_statement(&mut out, &dialect.delete_repeatables(table));
    }
    for &i in &plan.steps {
        let m = graph.get(i);
        let sent = bound.iter().find(|(at, _)| *at == i).map_or(m, |(_, b)| b);
        applied[i] = direction == Direction::Upgrade;
        let sql = match direction {
            Direction::Upgrade => sent.upgrade_sql(),
            Direction::Downgrade => sent.downgrade_sql().unwrap_or(""),
        };
        match direction {
            Direction::Downgrade => {
                push_squash_guard(&mut out, framing, table, m);
                push_downgrade_guard(&mut out, framing, table, (m, range));
            }
            Direction::Upgrade => {
                // Parents this script does not run: the range's FROM says they are applied.
                let assumed: Vec<&str> = m
                    .down_revisions()
                    .filter(|p| !plan.steps.iter().any(|&j| graph.get(j).revision() == *p))
                    .collect();
                push_upgrade_guard(&mut out, framing, table, (m, &assumed, range), graph);
            }
        }
        let _ = writeln!(out, "\n-- Running {} ({})", step_line(direction, m), m.file());
        push_step(&mut out, framing, m, sql, (table, direction));
    }
    if !repeatables.is_empty() {
        out.push_str(
            "\n-- The repeatable revisions, as an upgrade to head applies them after the revisions: every one,\n\
             -- since a script cannot read which ones the database already holds at their checksum (each\n\
             -- replaces what an earlier text of it created); each one's row is replaced.\n",
        );
    }
    for (m, sent) in repeatables {
        let _ = writeln!(out, "\n-- Running {}", step_line(direction, m));
        push_step(&mut out, framing, m, sent.upgrade_sql(), (table, direction));
    }
    if changes {
        // The digest of the rows the range ends with, written only if the table
        // holds exactly those rows: run from another FROM than assumed, the
        // script leaves no digest, and the next start-up checks row by row.
        let expected: Vec<&Migration> = (0..graph.len())
            .filter(|&i| applied[i])
            .map(|i| graph.get(i))
            .chain(held)
            .collect();
        let mut digest = Digest::empty();
        for m in &expected {
            digest.insert(m.revision(), &m.checksum().to_string(), State::Applied);
        }
        out.push_str("\n-- The digest of the history rows, if they are exactly the ones this script ends with.\n");
        push_history(
            &mut out,
            framing,
            &dialect.set_digest_if_rows_are(table, &digest, &expected),
        );
    }
    out
}

/// A step's history statements in a script, as the drivers send them: for
/// a step run statement by statement (`by_statement`: MySQL's, a
/// `no-transaction` one), the row marked in progress before its first
/// statement, so that a script stopped part-way leaves the row an online run
/// refuses and `resolve` reads, not a step that looks never begun; then the
/// row as the step leaves it (applied, or gone after a downgrade). Only the
/// columns every version of the table has.
fn rows(
    dialect: Dialect,
    (t, direction): (&HistoryTable, Direction),
    m: &Migration,
    by_statement: bool,
) -> (Option<String>, String) {
    let revision = m.revision();
    let in_progress = State::in_progress(direction);
    match (direction, by_statement) {
        (Direction::Upgrade, false) => (None, dialect.insert_applied_basic(t, m, "0")),
        (Direction::Upgrade, true) => (
            Some(dialect.insert_marked_basic(t, m, in_progress)),
            dialect.set_applied(t, revision, "0"),
        ),
        (Direction::Downgrade, false) => (None, dialect.delete(t, revision)),
        (Direction::Downgrade, true) => (
            Some(dialect.set_state(t, revision, in_progress, None)),
            dialect.delete(t, revision),
        ),
    }
}

/// One step of a script: `m`'s notes, `sql` (as sent) and its `history`
/// statement, framed as the runtime frames the step for `dialect`, under the
/// timeouts its run sets (its header's, else the run's `timeouts`).
fn push_step(
    out: &mut String,
    framing: Framing<'_>,
    m: &Migration,
    sql: &str,
    (table, direction): (&HistoryTable, Direction),
) {
    let Framing {
        dialect,
        timeouts,
        pin,
        list,
    } = framing;
    // MySQL and MariaDB commit DDL implicitly: their scripts have no transaction statements.
    let wrap = dialect != Dialect::Mysql && !m.no_transaction();
    let (mark, history) = rows(dialect, (table, direction), m, !wrap);
    let directives = m.directives();
    let guards = dialect.timeouts_script(
        directives.lock_timeout.or(timeouts.0),
        directives.statement_timeout.or(timeouts.1),
        wrap,
    );
    out.push_str(&crate::vars::script_note(list, m, sql, dialect));
    if m.no_transaction() {
        out.push_str("-- migrate:no-transaction: this migration runs outside a transaction.\n");
    }
    let foreign_keys_off = m.directives().foreign_keys_off && !sql.trim().is_empty();
    let around = dialect.foreign_keys_off_script().filter(|_| foreign_keys_off);
    if foreign_keys_off {
        out.push_str(match dialect {
            Dialect::Sqlite => {
                "-- migrate:foreign-keys-off: foreign keys are off for this migration (outside its transaction, where\n\
                 -- SQLite takes the setting), it fails before COMMIT if it leaves a row whose foreign key points at\n\
                 -- no row, and they are on again after it, as on an application's connection.\n"
            }
            Dialect::Mysql => "-- migrate:foreign-keys-off: the session checks no foreign key during this migration.\n",
            Dialect::Postgres => "-- migrate:foreign-keys-off: no effect on PostgreSQL.\n",
        });
    }
    if let Some((off, _)) = &around {
        push_statement(out, off);
    }
    if !wrap && let Some((set, _)) = &guards {
        push_statement(out, set);
    }
    if let Some(mark) = &mark {
        push_history(out, framing, mark);
    }
    if wrap {
        out.push_str("BEGIN;\n");
        if let Some((set, _)) = &guards {
            push_statement(out, set);
        }
    }
    push_sql(out, sql, dialect);
    if foreign_keys_off && dialect == Dialect::Sqlite {
        push_statement(out, &dialect.foreign_key_guard());
    }
    if wrap {
        if let Some(pin) = pin {
            push_statement(out, pin);
        }
        push_statement(out, &history);
        out.push_str("COMMIT;\n");
    } else {
        push_history(out, framing, &history);
    }
    if let Some((_, reset)) = guards.filter(|(_, reset)| !reset.is_empty()) {
        push_statement(out, &reset);
    }
    if let Some((_, on)) = &around {
        push_statement(out, on);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use migrate_core::{MigrationParts, PlanError};

    fn m(id: &str, down: &[&str], up: &str, down_sql: Option<&str>) -> Migration {
        Migration::new(MigrationParts {
            revision: id.into(),
            down_revisions: down.iter().map(|s| s.to_string()).collect(),
            message: format!("{id} it's"),
            upgrade: up.into(),
            downgrade: down_sql.map(str::to_owned),
            no_transaction: false,
            directives: Default::default(),
            depends_on: Vec::new(),
            runs_after: Vec::new(),
            file: format!("migrations/{id}_x.sql"),
        })
    }

    fn chain() -> Migrations {
        Migrations::new(vec![
            m("a1", &[], "CREATE TABLE a (id INTEGER)", Some("DROP TABLE a;")),
            m(
                "b2",
                &["a1"],
                "CREATE TABLE b (id INTEGER) -- done\n-- trailing note",
                Some("DROP TABLE b"),
            ),
            m("c3", &["b2"], "", Some("")),
        ])
        .unwrap()
    }

    fn script(dialect: Dialect, direction: Direction, range: &str) -> Result<String> {
        chain().script(dialect, &HistoryTable::default(), direction, &range.parse().unwrap())
    }

    #[test]
    fn ranges() {
        assert_eq!(
            "head".parse::<ScriptRange>(),
            Ok(ScriptRange {
                from: None,
                to: Target::Head
            })
        );
        assert_eq!(
            "ae10:-1".parse::<ScriptRange>(),
            Ok(ScriptRange {
                from: Some(Target::Revision("ae10".into())),
                to: Target::Relative(-1)
            })
        );
        assert!("head:".parse::<ScriptRange>().is_err());
        assert_eq!("base:head".parse::<ScriptRange>().unwrap().to_string(), "base:head");
    }

    #[test]
    fn terminators() {
        let mut out = String::new();
        push_sql(&mut out, "SELECT 1\n-- note", Dialect::Sqlite);
        assert_eq!(out, "SELECT 1\n-- note\n;\n");
    }

    #[test]
    fn upgrade_script_wraps_each_migration() {
        let s = script(Dialect::Sqlite, Direction::Upgrade, "head").unwrap();
        assert!(s.contains("-- upgrade base:head for sqlite"), "{s}");
        assert!(s.contains("CREATE TABLE IF NOT EXISTS \"migrate_history\""));
        let a = s.find("-- Running upgrade  -> a1, a1 it's").unwrap();
        let b = s.find("-- Running upgrade a1 -> b2, b2 it's").unwrap();
        let c = s.find("-- Running upgrade b2 -> c3, c3 it's").unwrap();
        assert!(a < b && b < c);
        assert_eq!(s.matches("BEGIN;").count(), 3);
        assert_eq!(s.matches("COMMIT;").count(), 3);
        assert!(s.contains("CREATE TABLE a (id INTEGER)\n;\nINSERT INTO"), "{s}");
        // The digest row is dropped before the first step and written after the last,
        // only if the table then holds exactly the rows the script ends with.
        let dropped = s.find("DELETE FROM \"migrate_history\" WHERE revision = '';").unwrap();
        assert!(dropped < s.find("BEGIN;").unwrap(), "{s}");
        assert!(
            !s.contains("excluded.execution_ms;\nCOMMIT;"),
            "no digest inside a step: {s}"
        );
        let guarded = s
            .find("WHERE (SELECT COUNT(*) FROM \"migrate_history\" WHERE revision <> '') = 3")
            .unwrap();
        assert!(s.rfind("COMMIT;").unwrap() < guarded, "{s}");
        assert!(s.contains("(revision = 'c3' AND checksum = 'sha256:"), "{s}");
        // That digest is the one an up-to-date table holds.
        let all = Digest::all_applied(chain().iter().as_slice()).to_string();
        assert!(s.contains(&format!("'{all}'")), "{s}");
        assert!(s.contains("-- done\n-- trailing note\n;\nINSERT INTO"), "{s}");
        assert!(s.contains("'c3 it''s'"));
    }

    #[test]
    fn partial_ranges_and_downgrades() {
        let s = script(Dialect::Postgres, Direction::Upgrade, "a1:head").unwrap();
        assert!(!s.contains("-> a1,"));
        assert!(s.contains("-> b2,") && s.contains("-> c3,"));
        let s = script(Dialect::Postgres, Direction::Downgrade, "head:base").unwrap();
        let c = s.find("-- Running downgrade c3 -> b2").unwrap();
        let a = s.find("-- Running downgrade a1 -> , a1 it's").unwrap();
        assert!(c < a);
        assert!(s.contains("DELETE FROM \"migrate_history\" WHERE revision = E'a1'"));
        let s = script(Dialect::Mysql, Direction::Downgrade, "b2:-1").unwrap();
        assert!(s.contains("downgrade b2 -> a1"));
        assert!(!s.contains("c3 it's"));
        assert!(!s.contains("BEGIN;"));
        assert!(s.contains("commit DDL implicitly"));
    }

    #[test]
    fn foreign_keys_off_frames_the_step() {
        let mut rebuild = m("a1", &[], "CREATE TABLE a (id INTEGER)", Some("DROP TABLE a"));
        rebuild = Migration::new(MigrationParts {
            directives: migrate_core::Directives {
                foreign_keys_off: true,
                ..Default::default()
            },
            revision: rebuild.revision().into(),
            message: rebuild.message().into(),
            upgrade: rebuild.upgrade_sql().into(),
            downgrade: rebuild.downgrade_sql().map(str::to_owned),
            file: rebuild.file().into(),
            ..Default::default()
        });
        let list = Migrations::new(vec![rebuild]).unwrap();
        let range = "head".parse().unwrap();
        let sqlite = list
            .script(Dialect::Sqlite, &HistoryTable::default(), Direction::Upgrade, &range)
            .unwrap();
        // The session turns them on first; the step's frame is what follows.
        let session = sqlite.find("PRAGMA foreign_keys = ON;").unwrap();
        let at = |needle: &str| {
            sqlite[session + 1..]
                .find(needle)
                .map(|at| at + session + 1)
                .unwrap_or_else(|| panic!("{needle} in {sqlite}"))
        };
        let order = [
            "PRAGMA foreign_keys = OFF;",
            "BEGIN;",
            "CREATE TABLE a",
            "PRAGMA foreign_key_check;",
            "CHECK (ok)",
            "INSERT INTO \"migrate_history\"",
            "COMMIT;",
            "PRAGMA foreign_keys = ON;",
        ]
        .map(at);
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{sqlite}");
        let mysql = list
            .script(Dialect::Mysql, &HistoryTable::default(), Direction::Upgrade, &range)
            .unwrap();
        let off = mysql.find("SET SESSION foreign_key_checks = 0;").unwrap();
        let on = mysql
            .find("SET SESSION foreign_key_checks = @migrate_foreign_key_checks;")
            .unwrap();
        assert!(off < mysql.find("CREATE TABLE a").unwrap() && mysql.find("CREATE TABLE a").unwrap() < on);
        let pg = list
            .script(Dialect::Postgres, &HistoryTable::default(), Direction::Upgrade, &range)
            .unwrap();
        assert!(
            pg.contains("no effect on PostgreSQL") && !pg.contains("foreign_key"),
            "{pg}"
        );
    }

    #[test]
    fn each_step_runs_under_its_timeouts() {
        let step = |id: &str, down: &[&str], directives: migrate_core::Directives| {
            Migration::new(MigrationParts {
                revision: id.into(),
                down_revisions: down.iter().map(|d| d.to_string()).collect(),
                upgrade: format!("ALTER TABLE t ADD COLUMN {id} int"),
                file: format!("migrations/{id}_m.sql"),
                no_transaction: id == "b2",
                directives,
                ..Default::default()
            })
        };
        let list = Migrations::new(vec![
            step(
                "a1",
                &[],
                migrate_core::Directives {
                    lock_timeout: Some(std::time::Duration::from_secs(2)),
                    statement_timeout: Some(std::time::Duration::from_millis(1500)),
                    ..Default::default()
                },
            ),
            step("b2", &["a1"], migrate_core::Directives::default()),
            step("c3", &["b2"], migrate_core::Directives::default()),
        ])
        .unwrap();
        let range: ScriptRange = "head".parse().unwrap();
        let script = |d: Dialect, run: Timeouts| {
            let vars = crate::vars::Values::default();
            list.script_with(d, (&HistoryTable::default(), &vars), run, Direction::Upgrade, &range)
                .unwrap()
        };
        let step_of = |s: &str, id: &str| {
            let from = s.find(&format!("-> {id},")).unwrap();
            let to = s[from..].find("\n\n").map_or(s.len(), |n| from + n);
            s[from..to].to_owned()
        };
        // Its header's, else the run's; none without either.
        let pg = script(Dialect::Postgres, (Some(std::time::Duration::from_secs(5)), None));
        let a1 = step_of(&pg, "a1");
        assert!(
            a1.contains(
                "BEGIN;\nSET LOCAL lock_timeout = '2000ms';\nSET LOCAL statement_timeout = '1500ms';\nALTER TABLE"
            ),
            "{a1}"
        );
        let b2 = step_of(&pg, "b2");
        let (set, reset) = (
            b2.find("SET lock_timeout = '5000ms';").unwrap(),
            b2.find("RESET lock_timeout;").unwrap(),
        );
        assert!(
            set < b2.find("ALTER TABLE").unwrap() && b2.find("INSERT INTO").unwrap() < reset,
            "{b2}"
        );
        assert!(
            step_of(&pg, "c3").contains("BEGIN;\nSET LOCAL lock_timeout = '5000ms';\nALTER"),
            "{pg}"
        );
        assert!(!script(Dialect::Postgres, (None, None)).contains("c3_m.sql)\nBEGIN;\nSET"));
        // MySQL: saved, set and put back, MariaDB's statement timeout in a comment MySQL skips.
        let mysql = script(Dialect::Mysql, (None, None));
        let a1 = step_of(&mysql, "a1");
        assert!(
            a1.contains("SET @migrate_lock_wait_timeout = @@SESSION.lock_wait_timeout, SESSION lock_wait_timeout = 2, @migrate_innodb_lock_wait_timeout = @@SESSION.innodb_lock_wait_timeout, SESSION innodb_lock_wait_timeout = 2 /*M! , @migrate_max_statement_time = @@SESSION.max_statement_time, SESSION max_statement_time = 1.500 */;\nINSERT INTO"),
            "{a1}"
        );
        assert!(
            a1.ends_with("SET SESSION lock_wait_timeout = @migrate_lock_wait_timeout, SESSION innodb_lock_wait_timeout = @migrate_innodb_lock_wait_timeout /*M! , SESSION max_statement_time = @migrate_max_statement_time */;"),
            "{a1}"
        );
        assert!(!step_of(&mysql, "b2").contains("SET @"), "{mysql}");
        // Run statement by statement, a step's row is marked in progress before its first statement.
        let b2 = step_of(&mysql, "b2");
        let (marked, done) = (
            b2.find("'upgrading'").unwrap(),
            b2.find("SET state = 'applied'").unwrap(),
        );
        assert!(
            marked < b2.find("ALTER TABLE").unwrap() && b2.find("ALTER TABLE").unwrap() < done,
            "{b2}"
        );
        let b2 = step_of(&pg, "b2");
        assert!(
            b2.find("E'upgrading'").unwrap() < b2.find("ALTER TABLE").unwrap(),
            "{b2}"
        );
        assert!(
            !step_of(&pg, "c3").contains("upgrading"),
            "a step in a transaction writes its row once: {pg}"
        );
        // PostgreSQL pins the history table's schema where none is chosen, as a run does.
        let pins = |s: &str| s.matches("pg_catalog.set_config('search_path'").count();
        assert!(
            pg.contains("set_config('migrate.history_schema', pg_catalog.current_schema(), false)"),
            "{pg}"
        );
        assert_eq!(
            pins(&pg),
            5,
            "a1 and c3 in their transactions, b2 marked and recorded, the digest: {pg}"
        );
        let chosen = HistoryTable::default().in_schema("ops").unwrap();
        let vars = crate::vars::Values::default();
        let qualified = list
            .script_with(
                Dialect::Postgres,
                (&chosen, &vars),
                (None, None),
                Direction::Upgrade,
                &range,
            )
            .unwrap();
        assert!(
            !qualified.contains("set_config") && qualified.contains("\"ops\".\"migrate_history\""),
            "{qualified}"
        );
        assert_eq!(pins(&mysql), 0);
        // SQLite's run holds the database's one write lock: nothing to bound.
        let sqlite = script(Dialect::Sqlite, (Some(std::time::Duration::from_secs(5)), None));
        assert!(!sqlite.contains("timeout"), "{sqlite}");
    }

    #[test]
    fn an_upgrade_to_head_applies_every_repeatable_after_the_steps() {
        let view = Migration::new(MigrationParts {
            revision: "repeatable:v".into(),
            message: "a view".into(),
            upgrade: "DROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT 1 AS one".into(),
            file: "migrations/repeatable/v.sql".into(),
            ..Default::default()
        });
        let list = chain().with_repeatables(vec![view]);
        let t = HistoryTable::default();
        let s = list
            .script(Dialect::Postgres, &t, Direction::Upgrade, &"b2:head".parse().unwrap())
            .unwrap();
        let c = s.find("-- Running upgrade b2 -> c3").unwrap();
        let v = s
            .find("-- Running repeatable migrations/repeatable/v.sql, a view\n")
            .unwrap();
        assert!(c < v, "{s}");
        assert!(
            s[v..].contains("BEGIN;\nDROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT 1 AS one\n;\nDO $migrate_pin$")
                && s[v..].contains("END $migrate_pin$;\nINSERT INTO"),
            "{s}"
        );
        assert!(s[v..].contains("ON CONFLICT (revision) DO UPDATE SET"), "{s}");
        // The digest expects the revisions and the repeatable, as an up-to-date table holds them.
        let all = Digest::all_applied_with(list.iter().as_slice(), list.repeatables()).to_string();
        assert!(
            s.contains(&format!("'{all}'")) && s.contains("revision <> '') = 4"),
            "{s}"
        );
        // Nothing else to do: the repeatable still runs, as online.
        let s = list
            .script(Dialect::Sqlite, &t, Direction::Upgrade, &"head:head".parse().unwrap())
            .unwrap();
        assert!(
            !s.contains("Nothing to do") && s.contains("INSERT OR REPLACE INTO"),
            "{s}"
        );
        // Not to head: none runs. From base nothing holds a row of it; a downgrade
        // removes the one it holds, before its first step, and ends with none.
        let s = list
            .script(Dialect::Mysql, &t, Direction::Upgrade, &"b2".parse().unwrap())
            .unwrap();
        assert!(!s.contains("repeatable"), "{s}");
        let s = list
            .script(Dialect::Mysql, &t, Direction::Downgrade, &"head:base".parse().unwrap())
            .unwrap();
        assert!(!s.contains("-- Running repeatable"), "{s}");
        let removed = s
            .find("DELETE FROM `migrate_history` WHERE revision LIKE 'repeatable:%';")
            .unwrap();
        assert!(removed < s.find("-- Running downgrade").unwrap(), "{s}");
        assert!(
            !s.contains("(revision = 'repeatable:v' AND checksum = 'sha256:") && s.contains("revision <> '') = 0"),
            "{s}"
        );
    }

    #[test]
    fn errors_like_the_online_run() {
        assert!(
            script(Dialect::Sqlite, Direction::Downgrade, "base")
                .unwrap()
                .contains("Nothing to do")
        );
        let e = script(Dialect::Sqlite, Direction::Downgrade, "base:a1").unwrap_err();
        assert!(matches!(e, Error::Plan(PlanError::NotApplied { .. })), "{e}");
        let e = script(Dialect::Sqlite, Direction::Upgrade, "zz").unwrap_err();
        assert!(matches!(e, Error::Target(TargetError::UnknownRevision { .. })));
        let e = script(Dialect::Sqlite, Direction::Upgrade, "-1").unwrap_err();
        assert!(matches!(e, Error::Plan(PlanError::WrongDirection { .. })));
    }
}
