//! The mechanical invariants of ARCHITECTURE.md, checked on the source tree
//! (rust-analyzer's `tidy`): file and function sizes, where SQL text and
//! `sqlx` may appear, that every statement the runtime sends is logged, and
//! how many `macro_rules!` shipped code keeps. Each check names the file and
//! line it objects to, and the rule it breaks.

use std::fs;
use std::path::{Path, PathBuf};

/// The crates users link or install: their `src/` folders.
const SHIPPED: [&str; 5] = [
    "src",
    "migrate-core/src",
    "migrate-macros/src",
    "migrate-runtime/src",
    "migrate-cli/src",
];

const MAX_FILE_LINES: usize = 1_000;
const MAX_FN_LINES: usize = 120;
const MAX_MACRO_RULES: usize = 3;

/// A source file: its path from the workspace root and its lines, with the
/// `#[cfg(test)]` module at its end (if any) cut off, and none of a `tests.rs`.
struct Source {
    path: String,
    lines: Vec<String>,
    /// The whole file's length, its tests included.
    total: usize,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The shipped sources, each without its trailing test module.
fn shipped() -> Vec<Source> {
    let mut files = Vec::new();
    for dir in SHIPPED {
        rust_files(&root().join(dir), &mut files);
    }
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).unwrap();
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            let total = lines.len();
            if path.file_name().is_some_and(|n| n == "tests.rs") {
                // A test module in a file of its own: counted for its length only.
                lines.clear();
            }
            if let Some(cut) = lines.iter().position(|l| l.trim() == "#[cfg(test)]") {
                if lines
                    .get(cut + 1)
                    .is_some_and(|l| l.trim_start().starts_with("mod tests"))
                {
                    lines.truncate(cut);
                }
            }
            let path = path.strip_prefix(root()).unwrap().display().to_string();
            Source { path, lines, total }
        })
        .collect()
}

/// The lines of the shipped files whose path `in_scope` keeps, whose code
/// (comments and literals left out) holds any of `words`, as `path:line: text`.
fn code_naming(words: &[&str], in_scope: impl Fn(&str) -> bool) -> Vec<String> {
    shipped()
        .iter()
        .filter(|s| in_scope(&s.path))
        .flat_map(|s| {
            s.lines
                .iter()
                .enumerate()
                .filter(|(_, l)| words.iter().any(|w| code_of(l).contains(w)))
                .map(move |(i, l)| format!("{}:{}: {}", s.path, i + 1, l.trim()))
        })
        .collect()
}

/// `line` without its `//` comment and with its string and char literals emptied.
fn code_of(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_string => {
                chars.next();
            }
            '"' => in_string = !in_string,
            '/' if !in_string && chars.peek() == Some(&'/') => break,
            _ if in_string => {}
            _ => out.push(c),
        }
    }
    out
}

/// The length in lines of each function of `src` (rough: from its `fn` line
/// to the brace that closes its body), with its name and first line.
fn functions(src: &Source) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    for (i, line) in src.lines.iter().enumerate() {
        let code = code_of(line);
        let trimmed = code.trim_start();
        let Some(at) = trimmed.find("fn ") else { continue };
        let before = &trimmed[..at];
        let is_fn = before
            .split_whitespace()
            .all(|w| matches!(w, "pub" | "async" | "const" | "unsafe") || w.starts_with("pub("));
        if !is_fn {
            continue;
        }
        let name: String = trimmed[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let mut depth = 0i64;
        let mut opened = false;
        for (j, l) in src.lines.iter().enumerate().skip(i) {
            let c = code_of(l);
            if !opened && c.contains(';') && !c.contains('{') {
                break; // a declaration without a body
            }
            depth += c.matches('{').count() as i64 - c.matches('}').count() as i64;
            opened |= c.contains('{');
            if opened && depth <= 0 {
                out.push((name.clone(), i + 1, j - i + 1));
                break;
            }
        }
    }
    out
}

#[test]
fn no_shipped_file_is_over_a_thousand_lines() {
    let long: Vec<String> = shipped()
        .iter()
        .filter(|s| s.total > MAX_FILE_LINES)
        .map(|s| format!("{}: {} lines", s.path, s.total))
        .collect();
    assert!(
        long.is_empty(),
        "split these by responsibility, a long test module into a file of its own (at most {MAX_FILE_LINES} lines):\n{}",
        long.join("\n")
    );
}

#[test]
fn no_shipped_function_is_over_120_lines() {
    let long: Vec<String> = shipped()
        .iter()
        .flat_map(|s| {
            functions(s)
                .into_iter()
                .filter(|(_, _, n)| *n > MAX_FN_LINES)
                .map(move |(name, line, n)| format!("{}:{line}: fn {name} is {n} lines", s.path))
        })
        .collect();
    assert!(
        long.is_empty(),
        "give each stage its own function (at most {MAX_FN_LINES} lines):\n{}",
        long.join("\n")
    );
}

#[test]
fn no_too_many_arguments_allowance() {
    let found: Vec<String> = shipped()
        .iter()
        .flat_map(|s| {
            s.lines
                .iter()
                .enumerate()
                .filter(|(_, l)| l.contains("too_many_arguments"))
                .map(move |(i, _)| format!("{}:{}", s.path, i + 1))
        })
        .collect();
    assert!(
        found.is_empty(),
        "pass a named value instead of many arguments:\n{}",
        found.join("\n")
    );
}

#[test]
fn few_macro_rules_each_saying_why() {
    let mut found = Vec::new();
    let mut unexplained = Vec::new();
    for s in shipped() {
        for (i, line) in s.lines.iter().enumerate() {
            if !code_of(line).trim_start().starts_with("macro_rules!") {
                continue;
            }
            found.push(format!("{}:{}", s.path, i + 1));
            let comment: String = s.lines[..i]
                .iter()
                .rev()
                .take_while(|l| l.trim_start().starts_with("//") || l.trim_start().starts_with("#["))
                .map(|l| l.to_lowercase())
                .collect();
            if !comment.contains("function") {
                unexplained.push(format!("{}:{}", s.path, i + 1));
            }
        }
    }
    assert!(
        found.len() <= MAX_MACRO_RULES,
        "at most {MAX_MACRO_RULES} macro_rules! in shipped code; found {}:\n{}",
        found.len(),
        found.join("\n")
    );
    assert!(
        unexplained.is_empty(),
        "each macro_rules! needs a comment above it saying why a function cannot do its job:\n{}",
        unexplained.join("\n")
    );
}

/// Whether a string literal on `line` starts like a SQL statement.
fn has_sql_text(line: &str) -> bool {
    const KEYWORDS: [&str; 12] = [
        "SELECT ",
        "INSERT ",
        "UPDATE ",
        "DELETE ",
        "CREATE ",
        "DROP ",
        "ALTER ",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT ",
        "SET ",
    ];
    let mut rest = line;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        // A keyword opening a literal, unless prose follows it ("CREATE and DROP privileges").
        let prose = |k: &str| ["and ", "or ", "on "].iter().any(|w| after[k.len()..].starts_with(w));
        if KEYWORDS.iter().any(|k| after.starts_with(k) && !prose(k)) {
            return true;
        }
        rest = match after.find('"') {
            Some(end) => &after[end + 1..],
            None => "",
        };
    }
    false
}

#[test]
fn the_command_line_writes_no_sql_and_opens_databases_in_one_file() {
    let mut sql = Vec::new();
    let mut sqlx = Vec::new();
    for s in shipped().iter().filter(|s| s.path.starts_with("migrate-cli/")) {
        for (i, line) in s.lines.iter().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            if has_sql_text(line) {
                sql.push(format!("{}:{}: {}", s.path, i + 1, line.trim()));
            }
            if line.contains("sqlx::") && s.path != "migrate-cli/src/database.rs" {
                sqlx.push(format!("{}:{}: {}", s.path, i + 1, line.trim()));
            }
        }
    }
    assert!(
        sql.is_empty(),
        "the command line writes no SQL: ask migrate-runtime (its server trait, its catalog, its runs):\n{}",
        sql.join("\n")
    );
    assert!(
        sqlx.is_empty(),
        "only migrate-cli/src/database.rs, which opens connections, names sqlx:\n{}",
        sqlx.join("\n")
    );
}

/// The modules that own SQL text: each database's driver, catalog, server and
/// test-database files, the history statements, offline scripts' framing, and
/// core's rendering of generated migrations, its SQL reading and its lint
/// (whose help names the safe statements).
const SQL_OWNERS: [&str; 9] = [
    "migrate-runtime/src/dialect/",
    "migrate-runtime/src/driver/",
    "migrate-runtime/src/catalog/",
    "migrate-runtime/src/server/",
    "migrate-runtime/src/testing/",
    "migrate-runtime/src/offline.rs",
    "migrate-core/src/schema/",
    "migrate-core/src/sql/",
    "migrate-core/src/lint/",
];

#[test]
fn sql_text_lives_only_in_the_modules_that_own_it() {
    let stray: Vec<String> = shipped()
        .iter()
        .filter(|s| !s.path.starts_with("migrate-cli/"))
        .filter(|s| !SQL_OWNERS.iter().any(|o| s.path.starts_with(o)))
        .flat_map(|s| {
            s.lines
                .iter()
                .enumerate()
                .filter(|(_, l)| !l.trim_start().starts_with("//") && has_sql_text(l))
                .map(move |(i, l)| format!("{}:{}: {}", s.path, i + 1, l.trim()))
        })
        .collect();
    assert!(
        stray.is_empty(),
        "SQL text belongs to {}:\n{}",
        SQL_OWNERS.join(", "),
        stray.join("\n")
    );
}

#[test]
fn every_statement_the_runtime_sends_is_logged() {
    let mut unlogged = Vec::new();
    for s in shipped().iter().filter(|s| s.path.starts_with("migrate-runtime/")) {
        let text = s.lines.join("\n");
        for call in [
            "sqlx::raw_sql(",
            "sqlx::query(",
            "sqlx::query_as(",
            "sqlx::query_scalar(",
        ] {
            for (at, _) in text.match_indices(call) {
                // The statement is the call's first argument: `logged(…)` must wrap it.
                let argument: String = text[at + call.len()..].chars().take(80).collect();
                if !argument
                    .trim_start()
                    .replace("sqlx::AssertSqlSafe(", "")
                    .contains("logged(")
                {
                    let line = text[..at].matches('\n').count() + 1;
                    unlogged.push(format!("{}:{line}", s.path));
                }
            }
        }
    }
    assert!(
        unlogged.is_empty(),
        "every statement the runtime sends goes through driver::logged (target migrate::sql):\n{}",
        unlogged.join("\n")
    );
}

#[test]
fn shared_runtime_code_never_tests_which_database_it_runs_on() {
    const ANSWERING: [&str; 9] = [
        "migrate-runtime/src/dialect/",
        "migrate-runtime/src/offline.rs",
        "migrate-runtime/src/driver/sqlite.rs",
        "migrate-runtime/src/driver/postgres.rs",
        "migrate-runtime/src/driver/mysql.rs",
        "migrate-runtime/src/catalog/",
        "migrate-runtime/src/server/",
        "migrate-runtime/src/testing/",
        "migrate-runtime/src/lib.rs",
    ];
    let found = code_naming(&["Dialect::"], |path| {
        path.starts_with("migrate-runtime/") && !ANSWERING.iter().any(|a| path.starts_with(a))
    });
    assert!(
        found.is_empty(),
        "ask the database through driver::Backend (answered in driver/<database>.rs) instead of testing its dialect:\n{}",
        found.join("\n")
    );
}

/// Core's files on a run's way (and the runtime's run path) sort through
/// `migrate_core::sorting`: each `sort_by_key` call site is its own copy of
/// the standard sort, 10 to 20 KiB in every application's binary.
#[test]
fn the_run_path_sorts_through_one_sort() {
    const RUN_PATH: [&str; 9] = [
        "migrate-core/src/graph.rs",
        "migrate-core/src/graph/order.rs",
        "migrate-core/src/history.rs",
        "migrate-core/src/plan.rs",
        "migrate-core/src/target.rs",
        "migrate-core/src/diagnostic.rs",
        "migrate-core/src/digest.rs",
        "migrate-runtime/src/run/",
        "migrate-runtime/src/driver/",
    ];
    let sorts = [
        ".sort(",
        ".sort_by(",
        ".sort_by_key(",
        ".sort_by_cached_key(",
        ".sort_unstable_by",
    ];
    let found = code_naming(&sorts, |path| RUN_PATH.iter().any(|p| path.starts_with(p)));
    assert!(
        found.is_empty(),
        "sort with migrate_core::sorting::sort_by (one copy of the standard sort in every binary):\n{}",
        found.join("\n")
    );
}

#[test]
fn optional_runners_are_reached_only_through_a_list() {
    // Where a list is made (and where each runner is defined and re-exported):
    // nowhere else may name them, or every application would link them.
    // (MySQL's driver holds the statement runner: every step runs statement by statement there.)
    const MAKERS: [&str; 9] = [
        "migrate-runtime/src/migrator.rs",
        "migrate-runtime/src/rust.rs",
        "migrate-runtime/src/driver/mod.rs",
        "migrate-runtime/src/driver/backfill.rs",
        "migrate-runtime/src/driver/rust_step.rs",
        "migrate-runtime/src/driver/statements.rs",
        "migrate-runtime/src/driver/mysql.rs",
        "migrate-runtime/src/run/repeatables.rs",
        "migrate-runtime/src/run/mod.rs",
    ];
    let runners = [
        "backfill_runner",
        "rust_runner",
        "statement_runner",
        "by_statements(",
        "RepeatablesRunner",
    ];
    let found = code_naming(&runners, |path| !MAKERS.contains(&path));
    assert!(
        found.is_empty(),
        "reach the batch loop, the Rust runner, the statement-by-statement runner and the repeatables' runner through the list (`Migrations::backfills`, `rust::Embedded`, `Migrations::statements`, `Migrations::repeatables_runner`), which holds them only when its history needs them:\n{}",
        found.join("\n")
    );
}

#[test]
fn operations_of_their_own_are_reached_only_through_trait_objects() {
    // The shared path of a locked run names none of their bodies (private to
    // their files), or every application that upgrades would link them.
    const SHARED: [&str; 4] = [
        "migrate-runtime/src/run/mod.rs",
        "migrate-runtime/src/run/op.rs",
        "migrate-runtime/src/run/lock.rs",
        "migrate-runtime/src/run/apply.rs",
    ];
    let bodies = ["resolve(", "retry(", "stamp_repeatables(", "verify_planned("];
    let found = code_naming(&bodies, |path| SHARED.contains(&path));
    assert!(
        found.is_empty(),
        "reach `resolve`, `resolve --retry`, the stamp of repeatables and `upgrade_exactly` through the trait objects their entry points make (`Op::Own`, `Op::Exactly`):\n{}",
        found.join("\n")
    );
}
