//! What core knows of the SQL in a migration: its tokens ([`lex`], the
//! one lexer, parameterised by dialect), its statements ([`split`]), and
//! which statements stand at its top level, so that a transaction-control
//! statement there (`BEGIN`, `COMMIT`, `ROLLBACK`, ...) is caught when the
//! crate builds.
//!
//! The file format does not name a database, so the scans read the text
//! the way each of them could (backslash escapes or not, `#` comments or
//! not, dollar quotes or not) and report a statement only when every
//! reading finds it: text inside strings, comments, dollar-quoted function
//! bodies and `BEGIN … END` bodies of triggers and procedures is never
//! taken for one. The runtime, which knows the database, splits with the
//! one dialect it speaks.

pub mod backfill;
pub mod escape;
pub mod lex;
pub mod naming;
pub mod split;
pub mod tables;
pub mod vars;

pub use split::{Statement, commits_implicitly, needs_terminator, statements};

use crate::Dialect;
use lex::Kind;

/// The readings every scan agrees across: each database's.
const READINGS: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql];

/// A statement that controls the transaction, at the top level of `sql`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionControl {
    /// The statement's first words, upper-cased (`COMMIT`, `START TRANSACTION`).
    pub words: String,
    /// The 1-based line of `sql` where it starts.
    pub line: usize,
}

/// The top-level statements of `sql` that begin, end or roll back a
/// transaction, found by every reading of its quotes and comments.
pub fn transaction_control(sql: &str) -> Vec<TransactionControl> {
    found_by_every_reading(sql, classify)
}

/// `sql` without the `BEGIN` it opens with and the `COMMIT` it ends with,
/// where it is one transaction of its own, its statements read in `dialect`:
/// those two are its first and last statements and its only transaction
/// control ([`transaction_control`]), a plain `BEGIN` (`BEGIN TRANSACTION`,
/// `BEGIN WORK`, `START TRANSACTION`: no other setting) and `COMMIT` (or
/// `END`). What a revision holds where the file's tool sends a file as it is
/// and the file asks for a transaction itself: a revision runs in one of its
/// own, to the same effect. Comments and everything between stay as written.
pub fn without_own_transaction(sql: &str, dialect: Dialect) -> Option<String> {
    // Two in every reading, and two in the one asked about (where the readings differ).
    let in_this = scan(sql, dialect)
        .into_iter()
        .filter_map(|(w, line)| classify(&w, line))
        .count();
    if transaction_control(sql).len() != 2 || in_this != 2 {
        return None;
    }
    // A statement's code words, upper-cased.
    let words = |t: &str| -> String {
        let code: Vec<String> = lex::code(t, dialect)
            .iter()
            .map(|c| c.text.to_ascii_uppercase())
            .collect();
        code.join(" ")
    };
    let statements = statements(sql, dialect);
    let [first, inner @ .., last] = statements.as_slice() else {
        return None;
    };
    // Each statement is a slice of `sql`: where its code starts, and where it and its `;` end.
    let offset = |t: &str| t.as_ptr() as usize - sql.as_ptr() as usize;
    let code_at = |t: &str| lex::code(t, dialect).first().map_or(t.len(), |c| c.at) + offset(t);
    let past = |t: &str| {
        let end = offset(t) + t.len();
        let rest = &sql[end..];
        let blank = rest.len() - rest.trim_start().len();
        end + blank + usize::from(rest.trim_start().starts_with(';'))
    };
    let framing = !inner.is_empty()
        && matches!(
            words(first.text).as_str(),
            "BEGIN" | "BEGIN TRANSACTION" | "BEGIN WORK" | "START TRANSACTION"
        )
        && matches!(
            words(last.text).as_str(),
            "COMMIT" | "COMMIT TRANSACTION" | "COMMIT WORK" | "END" | "END TRANSACTION" | "END WORK"
        );
    framing.then(|| {
        let (before, between, after) = (
            &sql[..code_at(first.text)],
            &sql[past(first.text)..code_at(last.text)],
            &sql[past(last.text)..],
        );
        format!("{before}{between}{after}")
    })
}

/// The top-level statements of `sql` that drop, rename or empty something
/// (`DROP …`, `ALTER … DROP …`, `ALTER … RENAME …`, `RENAME TABLE`,
/// `TRUNCATE`), found by every reading: what an `expand` revision, which the
/// previous release's code must tolerate, should not hold. `words` says what
/// was found (`DROP TABLE`, `ALTER TABLE … DROP COLUMN`).
pub fn removals(sql: &str) -> Vec<TransactionControl> {
    found_by_every_reading(sql, removal)
}

/// The statements `keep` picks, in each reading, that every reading agrees on.
fn found_by_every_reading(
    sql: &str,
    keep: fn(&[String], usize) -> Option<TransactionControl>,
) -> Vec<TransactionControl> {
    let mut found: Option<Vec<TransactionControl>> = None;
    // A text written for the mysql client (`DELIMITER` lines) has no other reading.
    let readings: &[Dialect] = if split::for_the_mysql_client(sql) {
        &[Dialect::Mysql]
    } else {
        &READINGS
    };
    for &dialect in readings {
        let here: Vec<TransactionControl> = scan(sql, dialect)
            .into_iter()
            .filter_map(|(words, line)| keep(&words, line))
            .collect();
        found = Some(match found {
            None => here,
            Some(before) => before.into_iter().filter(|t| here.contains(t)).collect(),
        });
    }
    found.unwrap_or_default()
}

/// Whether the words of a statement make it a removal, and which.
fn removal(words: &[String], line: usize) -> Option<TransactionControl> {
    let first = words.first()?.as_str();
    let second = words.get(1).map(String::as_str).unwrap_or("");
    let after = |word: &str| {
        let at = words.iter().position(|w| w == word)?;
        let next = words.get(at + 1).map(String::as_str).unwrap_or("");
        Some(format!("{first} {second} … {word} {next}").trim_end().to_owned())
    };
    let words = match first {
        "DROP" => format!("DROP {second}").trim_end().to_owned(),
        "TRUNCATE" => "TRUNCATE".to_owned(),
        "RENAME" => format!("RENAME {second}").trim_end().to_owned(),
        "ALTER" => after("DROP").or_else(|| after("RENAME"))?,
        _ => return None,
    };
    Some(TransactionControl { words, line })
}

/// The name of the index a `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT
/// EXISTS] name ON …` statement builds (PostgreSQL), unquoted; `None` for
/// any other statement. Such a statement that fails leaves an INVALID index
/// of that name behind.
pub fn concurrent_index(statement: &str) -> Option<String> {
    let text: String = statement
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut words = text.split_whitespace();
    let mut next_upper = || words.next().map(|w| (w.to_ascii_uppercase(), w.to_owned()));
    if next_upper()?.0 != "CREATE" {
        return None;
    }
    let mut w = next_upper()?;
    if w.0 == "UNIQUE" {
        w = next_upper()?;
    }
    if w.0 != "INDEX" || next_upper()?.0 != "CONCURRENTLY" {
        return None;
    }
    let mut name = next_upper()?;
    if name.0 == "IF" {
        next_upper()?; // NOT
        next_upper()?; // EXISTS
        name = next_upper()?;
    }
    if name.0 == "ON" {
        return None; // unnamed: the server picks the name
    }
    let raw = name.1.split('(').next().unwrap_or_default().to_owned();
    Some(match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => raw.to_lowercase(),
    })
}

/// The top-level statements' words (upper-cased; a quoted part, and
/// punctuation that starts a statement, is an empty word) and the lines of
/// their first words, in one dialect; on MySQL, the statements a MariaDB
/// anonymous block runs too.
fn scan(sql: &str, dialect: Dialect) -> Vec<(Vec<String>, usize)> {
    let mut out = Vec::new();
    let mut push = |text: &str, line: usize| {
        let mut code = lex::tokens(text, dialect).filter(|t| !t.kind.is_blank() && t.kind != Kind::Executable);
        let Some(first) = code.next() else { return };
        let words = std::iter::once(first)
            .chain(code.filter(|t| t.kind != Kind::Punct))
            .map(|t| match t.kind {
                Kind::Word => t.text(text).to_ascii_uppercase(),
                _ => String::new(),
            })
            .collect();
        out.push((words, line + newlines(&text[..first.start])));
    };
    for statement in statements(sql, dialect) {
        push(statement.text, statement.line);
        if dialect == Dialect::Mysql {
            for (at, inner) in split::block_statements(statement.text) {
                push(inner, statement.line + newlines(&statement.text[..at]));
            }
        }
    }
    out
}

/// How many line breaks `text` holds: how many lines past its first a
/// place in it is.
pub(crate) fn newlines(text: &str) -> usize {
    text.bytes().filter(|&b| b == b'\n').count()
}

/// Whether the words of a statement make it transaction control.
fn classify(words: &[String], line: usize) -> Option<TransactionControl> {
    let first = words.first()?.as_str();
    let second = words.get(1).map(String::as_str).unwrap_or("");
    let control = match first {
        "COMMIT" | "ABORT" => true,
        // `END` alone is SQLite's and PostgreSQL's COMMIT.
        "END" => matches!(second, "" | "TRANSACTION" | "WORK"),
        "ROLLBACK" => second != "TO",
        // `BEGIN NOT DEFERRABLE` starts a PostgreSQL transaction; `BEGIN NOT
        // ATOMIC … END` is MariaDB's anonymous block.
        "BEGIN" => {
            matches!(
                second,
                "" | "TRANSACTION" | "WORK" | "DEFERRED" | "IMMEDIATE" | "EXCLUSIVE" | "ISOLATION" | "READ" | "NOT"
            ) && !(second == "NOT" && words.get(2).is_some_and(|w| w == "ATOMIC"))
        }
        "START" => second == "TRANSACTION",
        // MySQL's table locks commit the transaction, and then only the
        // locked tables may be written (not the history table): mysqldump
        // writes them around each table's rows. PostgreSQL's `LOCK TABLE t
        // IN … MODE` ends nothing.
        "LOCK" => {
            second == "TABLES" || (second == "TABLE" && words.iter().skip(3).any(|w| w == "READ" || w == "WRITE"))
        }
        "UNLOCK" => matches!(second, "TABLES" | "TABLE"),
        _ => false,
    };
    control.then(|| TransactionControl {
        words: if second.is_empty() || first == "COMMIT" || first == "ROLLBACK" {
            first.to_owned()
        } else {
            format!("{first} {second}")
        },
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_that_is_one_transaction_loses_its_begin_and_commit_alone() {
        let sql =
            "-- note\nBEGIN;\nCREATE TABLE a (id INT);\n-- inside\nINSERT INTO a VALUES (1);\nCOMMIT;\n-- after\n";
        for d in READINGS {
            assert_eq!(
                without_own_transaction(sql, d).as_deref(),
                Some("-- note\n\nCREATE TABLE a (id INT);\n-- inside\nINSERT INTO a VALUES (1);\n\n-- after\n"),
                "{d:?}"
            );
        }
        let lower = "start transaction; create table a (id int); commit work";
        assert_eq!(
            without_own_transaction(lower, Dialect::Mysql).as_deref(),
            Some(" create table a (id int); ")
        );
        for kept in [
            "CREATE TABLE a (id INT);",
            "BEGIN; COMMIT;",
            "BEGIN; CREATE TABLE a (id INT); COMMIT; BEGIN; CREATE TABLE b (id INT); COMMIT;",
            "BEGIN; CREATE TABLE a (id INT); ROLLBACK;",
            "BEGIN ISOLATION LEVEL SERIALIZABLE; CREATE TABLE a (id INT); COMMIT;",
            "CREATE TABLE a (id INT); BEGIN; CREATE TABLE b (id INT); COMMIT;",
        ] {
            assert_eq!(without_own_transaction(kept, Dialect::Postgres), None, "{kept}");
        }
        // `#` is an operator to PostgreSQL and a comment to MySQL: the COMMIT and
        // BEGIN after it are PostgreSQL's, and stay transaction control there.
        let hashed = "BEGIN;\nSELECT 1 # 2; COMMIT; BEGIN;\nCREATE TABLE a (id INT);\nCOMMIT;";
        assert_eq!(without_own_transaction(hashed, Dialect::Postgres), None);
    }

    fn found(sql: &str) -> Vec<(String, usize)> {
        transaction_control(sql)
            .into_iter()
            .map(|t| (t.words, t.line))
            .collect()
    }

    #[test]
    fn top_level_transaction_statements_are_found_with_their_lines() {
        assert_eq!(
            found("CREATE TABLE a (id INT);\nCOMMIT;\nINSERT INTO a VALUES (1);"),
            [("COMMIT".to_owned(), 2)]
        );
        // A `--x` comment (no space) is a comment in every reading, MySQL's too.
        assert_eq!(
            found("CREATE TABLE a (id INT);\n--commit the table\nCOMMIT;\nCREATE TABLE b (id INT);"),
            [("COMMIT".to_owned(), 3)]
        );
        assert_eq!(
            found("BEGIN;\nSELECT 1;\nEND;"),
            [("BEGIN".to_owned(), 1), ("END".to_owned(), 3)]
        );
        assert_eq!(found("start transaction;"), [("START TRANSACTION".to_owned(), 1)]);
        // mysqldump's table locks; PostgreSQL's LOCK TABLE is not one.
        assert_eq!(
            found("LOCK TABLES `t` WRITE;\nINSERT INTO `t` VALUES (1);\nUNLOCK TABLES;\nLOCK TABLE u READ;"),
            [
                ("LOCK TABLES".to_owned(), 1),
                ("UNLOCK TABLES".to_owned(), 3),
                ("LOCK TABLE".to_owned(), 4)
            ]
        );
        assert!(found("LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE;\nLOCK t;").is_empty());
        assert_eq!(found("SELECT 1;\n  rollback"), [("ROLLBACK".to_owned(), 2)]);
        assert_eq!(found("BEGIN IMMEDIATE;"), [("BEGIN IMMEDIATE".to_owned(), 1)]);
        assert_eq!(found("BEGIN NOT DEFERRABLE;"), [("BEGIN NOT".to_owned(), 1)]);
        // Inside MariaDB's anonymous block, which runs where it stands, and in a
        // text written for the mysql client, read as that client reads it.
        assert_eq!(
            found("BEGIN NOT ATOMIC\n  INSERT INTO t VALUES (1);\n  COMMIT;\nEND;"),
            [("COMMIT".to_owned(), 3)]
        );
        assert_eq!(
            found("DELIMITER //\nINSERT INTO t VALUES (1); COMMIT//\nDELIMITER ;\nSELECT 1;"),
            [("COMMIT".to_owned(), 2)]
        );
    }

    #[test]
    fn what_only_looks_like_one_is_not() {
        for sql in [
            "SELECT 'COMMIT';",
            "-- COMMIT\nSELECT 1;",
            "/* COMMIT; */ SELECT 1;",
            "SELECT \"commit\" FROM t;",
            "ROLLBACK TO SAVEPOINT s;",
            "SAVEPOINT s; RELEASE s;",
            "CREATE FUNCTION f() RETURNS void AS $$ BEGIN COMMIT; END $$ LANGUAGE plpgsql;",
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET n = n + 1; END;",
            "CREATE TRIGGER t AFTER INSERT ON a FOR EACH ROW BEGIN IF NEW.n > 0 THEN SET @x = 1; END IF; END;",
            // MariaDB's anonymous block, as conditional DDL is written there.
            "BEGIN NOT ATOMIC\n  IF NOT EXISTS (SELECT 1) THEN\n    ALTER TABLE t ADD c INT;\n  END IF;\nEND;\nSELECT 1;",
            "CREATE PROCEDURE p() BEGIN CASE WHEN 1 THEN SELECT 1; END CASE; COMMIT; END;",
            "SELECT 'it\\'s'; SELECT 2;",
            "UPDATE t SET committed = 1;",
            "SELECT 1 # COMMIT\n;",
        ] {
            assert_eq!(found(sql), Vec::<(String, usize)>::new(), "{sql}");
        }
    }

    #[test]
    fn removals_are_found_at_the_top_level_only() {
        let sql = "CREATE TABLE a (id INT);\nDROP TABLE old;\nALTER TABLE b DROP COLUMN c;\nALTER TABLE d ADD COLUMN e TEXT DEFAULT 'drop';\n\
                   ALTER TABLE f RENAME TO g;\nRENAME TABLE h TO i;\n-- DROP TABLE x;\nCREATE FUNCTION f() RETURNS int AS $$ DROP TABLE y; $$ LANGUAGE sql;\nTRUNCATE t;";
        let got: Vec<(String, usize)> = removals(sql).into_iter().map(|t| (t.words, t.line)).collect();
        assert_eq!(
            got,
            [
                ("DROP TABLE".to_owned(), 2),
                ("ALTER TABLE … DROP COLUMN".to_owned(), 3),
                ("ALTER TABLE … RENAME TO".to_owned(), 5),
                ("RENAME TABLE".to_owned(), 6),
                ("TRUNCATE".to_owned(), 9),
            ]
        );
        // What a MariaDB anonymous block runs, and what a mysql-client text runs.
        let block = "BEGIN NOT ATOMIC\n  DECLARE x INT;\n  ALTER TABLE t DROP COLUMN c;\nEND;";
        let got: Vec<(String, usize)> = removals(block).into_iter().map(|t| (t.words, t.line)).collect();
        assert_eq!(got, [("ALTER TABLE … DROP COLUMN".to_owned(), 3)]);
        let client = "DELIMITER //\nSELECT 1; DROP TABLE old_a//\nDELIMITER ;";
        let got: Vec<(String, usize)> = removals(client).into_iter().map(|t| (t.words, t.line)).collect();
        assert_eq!(got, [("DROP TABLE".to_owned(), 2)]);
    }

    #[test]
    fn concurrent_index_names() {
        assert_eq!(
            concurrent_index("CREATE INDEX CONCURRENTLY Idx_A ON t (a)"),
            Some("idx_a".into())
        );
        assert_eq!(
            concurrent_index("-- why\ncreate unique index concurrently if not exists \"Idx\" on t(a)"),
            Some("Idx".into())
        );
        assert_eq!(concurrent_index("CREATE INDEX idx ON t (a)"), None);
        assert_eq!(concurrent_index("CREATE INDEX CONCURRENTLY ON t (a)"), None);
        assert_eq!(concurrent_index("DROP INDEX CONCURRENTLY idx"), None);
    }
}
