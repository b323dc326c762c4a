//! A migration's SQL split into statements, on the [`lex`](super::lex)
//! tokens of its dialect: for migrations that run outside a transaction
//! and so are sent one statement at a time (PostgreSQL runs a
//! multi-statement string in one implicit transaction, where `CREATE INDEX
//! CONCURRENTLY` fails), for schema files, and for the scans of
//! [`transaction_control`](super::transaction_control).
//!
//! A `;` splits only at the top level: not in a quote, a comment or a
//! dollar-quoted body (the lexer's business), nor in the `BEGIN … END` body
//! of a trigger, procedure or SQL-standard function (this module's). The
//! text is never rewritten: each statement is a slice of the input.
//!
//! On MySQL the `mysql` client's `DELIMITER x` line is read as that client
//! reads it, since migrations written for it hold such lines around their
//! routines and triggers: the line itself is no statement, and until the next
//! one statements end at `x` (anywhere outside quotes and comments, `END$$`
//! too) and `;` splits nothing.

use super::lex::{Kind, Token, Tokens, tokens};
use crate::Dialect;

/// One statement of a migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The statement's text, without its terminating `;` or surrounding blank space.
    pub text: &'a str,
    /// The 1-based line of the migration section where it starts.
    pub line: usize,
}

impl Statement<'_> {
    /// The line of its first code token, past the comments above it (which
    /// its text keeps): where a message about the statement points.
    pub fn code_line(&self, dialect: Dialect) -> usize {
        let code = tokens(self.text, dialect)
            .find(|t| !t.kind.is_blank())
            .map_or(0, |t| t.start);
        self.line + super::newlines(&self.text[..code])
    }
}

/// The statements of `sql` in `dialect`, skipping empty ones and ones that are only comments.
pub fn statements(sql: &str, dialect: Dialect) -> Vec<Statement<'_>> {
    let mut lines = Lines::default();
    Splitter::new(sql, dialect)
        .map(|(from, to, _)| {
            let raw = &sql[from..to];
            let lead = raw.len() - raw.trim_start().len();
            Statement {
                text: raw.trim(),
                line: lines.at(sql, from + lead),
            }
        })
        .collect()
}

/// The line of an offset, counted on from the last offset asked about.
#[derive(Default)]
pub(crate) struct Lines {
    offset: usize,
    line: usize,
}

impl Lines {
    /// The 1-based line of `sql` that byte `offset` is on; offsets only grow.
    pub(crate) fn at(&mut self, sql: &str, offset: usize) -> usize {
        self.line += sql.as_bytes()[self.offset..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.offset = offset;
        self.line + 1
    }
}

/// Whether `sql`'s last statement lacks a terminating `;`, so that
/// something appended after it needs one first.
pub fn needs_terminator(sql: &str, dialect: Dialect) -> bool {
    Splitter::new(sql, dialect)
        .last()
        .is_some_and(|(_, _, terminated)| !terminated)
}

/// Where the first statement of `sql` ends: the byte after its text, and
/// the byte after its `;` (the same when no `;` ends it). `None` when `sql`
/// holds no code. For readers that stop between statements (a schema
/// file's client commands).
pub(crate) fn first_end(sql: &str, dialect: Dialect) -> Option<(usize, usize)> {
    Splitter::new(sql, dialect)
        .next()
        .map(|(_, end, terminated)| (end, if terminated { end + 1 } else { end }))
}

/// Whether MySQL or MariaDB commits the transaction when it runs
/// `statement`, as their lists of statements that cause an implicit commit
/// say: definitions (`CREATE`, `ALTER`, `DROP`, `RENAME`, `TRUNCATE`, but
/// not `CREATE` or `DROP TEMPORARY TABLE`), accounts and roles, transaction
/// control and table locks, the administrative statements (`ANALYZE`,
/// `CHECK`, `OPTIMIZE` and `REPAIR TABLE`, `FLUSH`, `RESET`, `CACHE INDEX`,
/// `LOAD INDEX`), plugins and replication control. Read from its first code
/// words: comments skipped, executable comments (`/*!50001 CREATE … */`)
/// read as the code they are.
pub fn commits_implicitly(statement: &str) -> bool {
    starts_committing(&crate::sql::lex::code(statement, Dialect::Mysql), 0)
}

/// Whether PostgreSQL's `statement` adds a value to an enum type (`ALTER
/// TYPE t ADD VALUE …`, also inside a `DO` block, the idempotent form that
/// catches `duplicate_object`): a value no statement may use before the
/// transaction that added it commits.
pub fn adds_enum_value(statement: &str) -> bool {
    let code = crate::sql::lex::code(statement, Dialect::Postgres);
    let word = |c: &crate::sql::lex::Code<'_>, w: &str| c.kind == Kind::Word && c.text.eq_ignore_ascii_case(w);
    // `ALTER TYPE` at `at`, then `ADD VALUE` in the same statement.
    let adds_at = |code: &[crate::sql::lex::Code<'_>], at: usize| {
        code.len() > at + 2
            && word(&code[at], "ALTER")
            && word(&code[at + 1], "TYPE")
            && code[at..]
                .windows(2)
                .any(|pair| word(&pair[0], "ADD") && word(&pair[1], "VALUE"))
    };
    if code.first().is_some_and(|c| word(c, "DO")) {
        // The block's body is a string, its statements PL/pgSQL's (one may open with `BEGIN`).
        return code.iter().filter(|c| c.kind == Kind::Str).any(|body| {
            let inner = dollar_quoted_body(body.text).unwrap_or(body.text);
            statements(inner, Dialect::Postgres).iter().any(|s| {
                let code = crate::sql::lex::code(s.text, Dialect::Postgres);
                (0..code.len()).any(|at| adds_at(&code, at))
            })
        });
    }
    adds_at(&code, 0)
}

/// The text between a dollar-quoted string's tags (`$$…$$`, `$x$…$x$`).
fn dollar_quoted_body(quoted: &str) -> Option<&str> {
    let tag_end = quoted.strip_prefix('$')?.find('$')? + 2;
    let tag = &quoted[..tag_end];
    quoted.strip_prefix(tag)?.strip_suffix(tag)
}

/// Whether the statement whose first code token is `code[at]` commits (see
/// [`commits_implicitly`]).
fn starts_committing(code: &[crate::sql::lex::Code<'_>], at: usize) -> bool {
    let word = |i: usize| {
        code.get(at + i)
            .filter(|c| c.kind == Kind::Word)
            .map(|c| c.text.to_ascii_uppercase())
            .unwrap_or_default()
    };
    let (first, second) = (word(0), word(1));
    match first.as_str() {
        "CREATE" | "DROP" => {
            // `CREATE OR REPLACE TEMPORARY TABLE` (MariaDB) is temporary too.
            let after = if second == "OR" && word(2) == "REPLACE" {
                word(3)
            } else {
                second
            };
            after != "TEMPORARY"
        }
        "ALTER" | "RENAME" | "TRUNCATE" | "GRANT" | "REVOKE" | "LOCK" | "UNLOCK" | "START" | "STOP" | "CHANGE"
        | "FLUSH" | "INSTALL" | "UNINSTALL" => true,
        // `BEGIN NOT ATOMIC … END` is MariaDB's anonymous block, not a
        // transaction: it commits where a statement in it does.
        "BEGIN" if second == "NOT" => {
            (at + 3..code.len()).any(|i| opens_statement(code, i) && starts_committing(code, i))
        }
        "BEGIN" => true,
        "ANALYZE" | "CHECK" | "OPTIMIZE" | "REPAIR" | "IMPORT" => {
            matches!(second.as_str(), "TABLE" | "TABLES" | "NO_WRITE_TO_BINLOG" | "LOCAL")
        }
        "CACHE" | "LOAD" => second == "INDEX",
        "RESET" => second != "PERSIST",
        "SET" => second == "PASSWORD" || (second == "DEFAULT" && word(2) == "ROLE"),
        _ => false,
    }
}

/// Whether `statement` can fail with part of its work committed: MariaDB's
/// anonymous block holding a statement that commits implicitly (what it ran
/// before its failure stays). A single DDL statement that fails leaves
/// nothing of itself.
pub fn commits_part_way(statement: &str) -> bool {
    !block_statements(statement).is_empty() && commits_implicitly(statement)
}

/// The statements inside MariaDB's anonymous block `statement` (`BEGIN NOT
/// ATOMIC … END`), which runs where it stands, unlike a routine's body: each
/// from where a statement starts in its body (after a `;`, or `THEN`,
/// `ELSE`, `DO`, …) to its `;`, with its offset in `statement`. Empty for
/// any other statement. For the scans that read what a migration does.
pub fn block_statements(statement: &str) -> Vec<(usize, &str)> {
    let code = crate::sql::lex::code(statement, Dialect::Mysql);
    let word = |i: usize| {
        code.get(i)
            .filter(|c| c.kind == Kind::Word)
            .map(|c| c.text.to_ascii_uppercase())
    };
    if (word(0), word(1), word(2)) != (Some("BEGIN".into()), Some("NOT".into()), Some("ATOMIC".into())) {
        return Vec::new();
    }
    (3..code.len())
        .filter(|&i| code[i].kind == Kind::Word && opens_statement(&code, i))
        // Where a body or branch closes (`END`, `END IF`, `ELSE …`), no statement starts.
        .filter(|&i| {
            !["END", "ELSE", "ELSEIF", "WHEN", "UNTIL"]
                .iter()
                .any(|w| code[i].text.eq_ignore_ascii_case(w))
        })
        .map(|i| {
            let at = code[i].at;
            let end = code[i..]
                .iter()
                .find(|c| c.kind == Kind::Punct && c.text == ";")
                .map_or(statement.len(), |c| c.at);
            (at, statement[at..end].trim_end())
        })
        .collect()
}

/// Whether a statement of a compound body starts at `code[i]`: after a `;`
/// or a word that opens a body or a branch.
fn opens_statement(code: &[crate::sql::lex::Code<'_>], i: usize) -> bool {
    i.checked_sub(1)
        .and_then(|k| code.get(k))
        .is_some_and(|before| match before.kind {
            Kind::Punct => before.text == ";",
            Kind::Word => ["THEN", "ELSE", "DO", "LOOP", "REPEAT", "ATOMIC", "BEGIN"]
                .iter()
                .any(|w| before.text.eq_ignore_ascii_case(w)),
            _ => false,
        })
}

/// The statements of a text as byte ranges, each with whether a `;` ended it.
struct Splitter<'a> {
    sql: &'a str,
    dialect: Dialect,
    tokens: Tokens<'a>,
    /// Where the next statement's text starts.
    start: usize,
    /// The mysql client's delimiter: `;` until a `DELIMITER` line sets another.
    delimiter: &'a str,
    /// Whether `DELIMITER` lines are read (not inside a delimited chunk).
    client_lines: bool,
    /// Whether a `DELIMITER` line was read.
    saw_client_line: bool,
    /// The statements of a delimited chunk not yet returned.
    pending: std::collections::VecDeque<(usize, usize, bool)>,
}

/// What reading on with `;` as the delimiter found.
enum Plain {
    Statement((usize, usize, bool)),
    /// A `DELIMITER` line set another delimiter.
    Delimiter,
    End,
}

impl<'a> Splitter<'a> {
    fn new(sql: &'a str, dialect: Dialect) -> Self {
        Splitter {
            sql,
            dialect,
            tokens: tokens(sql, dialect),
            start: 0,
            delimiter: ";",
            client_lines: true,
            saw_client_line: false,
            pending: std::collections::VecDeque::new(),
        }
    }

    /// Reads a `DELIMITER x` line starting at token `t` (the first of a
    /// statement), if one does on MySQL: the delimiter changes and reading goes
    /// on after the line. A line that names no usable delimiter is left to be
    /// sent, so that the server's error names it.
    fn delimiter_line(&mut self, t: Token) -> bool {
        if self.dialect != Dialect::Mysql || t.kind != Kind::Word || !self.client_lines {
            return false;
        }
        let line_start = self.sql[..t.start].rfind('\n').map_or(0, |k| k + 1);
        if !self.sql[line_start..t.start].trim().is_empty() {
            return false;
        }
        let end = self.sql[t.start..].find('\n').map_or(self.sql.len(), |k| t.start + k);
        let Some(Some(delimiter)) = delimiter_command(&self.sql[t.start..end]) else {
            return false;
        };
        self.delimiter = delimiter;
        self.saw_client_line = true;
        self.start = end;
        self.tokens.resume_at(end);
        true
    }

    /// With a delimiter a `DELIMITER` line set: the next chunk, up to that
    /// delimiter (anywhere outside quotes and comments, `END$$` too), or the
    /// `DELIMITER` line that starts where a statement would. The client sends
    /// a chunk whole and the server runs each statement in it, so its
    /// statements are split as `;` splits them (a body's `;`s stay inside).
    /// `None` at the end.
    fn chunk(&mut self) -> Option<()> {
        let t = loop {
            let t = self.tokens.next()?;
            if !t.kind.is_blank() {
                break t;
            }
        };
        if self.delimiter_line(t) {
            return Some(());
        }
        let (sql, delimiter) = (self.sql, self.delimiter);
        let found = std::iter::once(t)
            .chain(self.tokens.clone())
            .find_map(|u| delimiter_at(sql, u, delimiter));
        let (at, next) = found.map_or((sql.len(), sql.len()), |at| (at, at + delimiter.len()));
        let inner = Splitter {
            client_lines: false,
            ..Splitter::new(&sql[t.start..at], self.dialect)
        };
        let mut items: Vec<(usize, usize, bool)> =
            inner.map(|(f, e, ended)| (t.start + f, t.start + e, ended)).collect();
        if let Some(last) = items.last_mut() {
            last.2 |= found.is_some();
        }
        self.pending.extend(items);
        self.start = next;
        self.tokens.resume_at(next);
        Some(())
    }

    /// The next statement ended by `;`, or where a `DELIMITER` line sets another delimiter.
    fn plain(&mut self) -> Plain {
        let mut block = Block::default();
        let mut has_code = false;
        while let Some(t) = self.tokens.next() {
            if !has_code && self.delimiter_line(t) {
                if self.delimiter != ";" {
                    return Plain::Delimiter;
                }
                continue;
            }
            if t.kind == Kind::Punct && t.text(self.sql) == ";" && block.depth == 0 {
                let from = std::mem::replace(&mut self.start, t.end);
                if has_code {
                    return Plain::Statement((from, t.start, true));
                }
                continue;
            }
            if t.kind.is_blank() {
                continue;
            }
            has_code = true;
            match (t.kind, t.text(self.sql)) {
                (Kind::Word, word) => self.follow_block(&mut block, word),
                (Kind::Punct, "(") => block.parens += 1,
                (Kind::Punct, ")") => block.parens = block.parens.saturating_sub(1),
                _ => {}
            }
        }
        let from = std::mem::replace(&mut self.start, self.sql.len());
        match has_code {
            true => Plain::Statement((from, self.sql.len(), false)),
            false => Plain::End,
        }
    }

    /// Whether the word after blank space closes a block that was not
    /// counted: `END IF`, `END LOOP`, ...
    fn closes_uncounted_block(&self) -> bool {
        let sql = self.sql;
        let mut ahead = self.tokens.clone();
        ahead.find(|t| t.kind != Kind::Space).is_some_and(|t| {
            t.kind == Kind::Word
                && ["IF", "LOOP", "WHILE", "REPEAT", "FOR"]
                    .iter()
                    .any(|w| t.text(sql).eq_ignore_ascii_case(w))
        })
    }

    /// Whether `word`, a statement's first, opens MariaDB's anonymous block
    /// (`BEGIN NOT ATOMIC … END`, whose body holds semicolons) on MySQL.
    fn anonymous_block(&self, word: &str) -> bool {
        let sql = self.sql;
        let mut ahead = self.tokens.clone().filter(|t| !t.kind.is_blank());
        self.dialect == Dialect::Mysql
            && word.eq_ignore_ascii_case("BEGIN")
            && ahead.next().is_some_and(|t| t.text(sql).eq_ignore_ascii_case("NOT"))
            && ahead.next().is_some_and(|t| t.text(sql).eq_ignore_ascii_case("ATOMIC"))
    }

    /// Follows `BEGIN … END` (and `CASE … END`) nesting inside a `CREATE …`
    /// statement or MariaDB's `BEGIN NOT ATOMIC` block, whose bodies hold
    /// semicolons. Inside parentheses these
    /// words open no body (`CREATE TABLE p (begin DATE, …)`, a `CASE`
    /// expression in a value list): they are not counted there.
    fn follow_block(&self, block: &mut Block, word: &str) {
        let opens = |word: &str| word.eq_ignore_ascii_case("CREATE") || self.anonymous_block(word);
        if !*block.creates.get_or_insert_with(|| opens(word)) || block.parens > 0 {
            return;
        }
        if word.eq_ignore_ascii_case("BEGIN") || word.eq_ignore_ascii_case("CASE") {
            block.depth += 1;
        } else if word.eq_ignore_ascii_case("END") && !self.closes_uncounted_block() {
            block.depth = block.depth.saturating_sub(1);
        }
    }
}

impl Iterator for Splitter<'_> {
    /// (start, end, whether a `;` ends it) of a statement with code in it.
    type Item = (usize, usize, bool);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if self.delimiter == ";" {
                match self.plain() {
                    Plain::Statement(item) => return Some(item),
                    Plain::Delimiter => continue,
                    Plain::End => return None,
                }
            }
            self.chunk()?;
        }
    }
}

/// Whether `sql` is written for the `mysql` client: it holds a `DELIMITER`
/// line, which only that client reads (the other databases' readings of it
/// mean nothing).
pub fn for_the_mysql_client(sql: &str) -> bool {
    let mut splitter = Splitter::new(sql, Dialect::Mysql);
    while !splitter.saw_client_line && splitter.next().is_some() {}
    splitter.saw_client_line
}

/// The mysql client's `DELIMITER x` command, if `line` (from its first word
/// to the end of its line) is one: `Some(Some(x))`, or `Some(None)` when it
/// names no delimiter the client takes (none, or one with a backslash).
pub(crate) fn delimiter_command(line: &str) -> Option<Option<&str>> {
    let (word, rest) = line.split_at_checked(9)?;
    if !word.eq_ignore_ascii_case("delimiter") || !rest.starts_with([' ', '\t']) {
        return None;
    }
    // As the client takes its argument: quoted (`'//'`, `"$$"`, `` `;;` ``) or up to blank space.
    let arg = rest.trim_start();
    let delimiter = match arg.chars().next() {
        Some(q @ ('\'' | '"' | '`')) => arg[1..].split(q).next(),
        _ => arg.split_whitespace().next(),
    };
    Some(delimiter.filter(|d| !d.is_empty() && !d.contains('\\')))
}

/// Where `delimiter` starts in token `t` of `sql`, as the mysql client finds
/// it: at a punctuation token (`;;`, `//`), or inside a word (`END$$`); never
/// in a quote or a comment.
pub(crate) fn delimiter_at(sql: &str, t: Token, delimiter: &str) -> Option<usize> {
    match t.kind {
        Kind::Punct if sql[t.start..].starts_with(delimiter) => Some(t.start),
        Kind::Word => t.text(sql).find(delimiter).map(|k| t.start + k),
        _ => None,
    }
}

/// Where a statement stands in `BEGIN … END` bodies.
#[derive(Default)]
struct Block {
    /// Whether the statement's first word was read, and was `CREATE`.
    creates: Option<bool>,
    /// How many bodies are open.
    depth: usize,
    /// How many parentheses are open.
    parens: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_enum_value_added_is_told_from_other_type_changes() {
        assert!(adds_enum_value("ALTER TYPE status ADD VALUE 'scheduled'"));
        assert!(adds_enum_value(
            "alter type \"app\".\"status\" add value if not exists 'x' before 'y'"
        ));
        assert!(adds_enum_value("/* note */ ALTER TYPE s.t ADD VALUE 'x'"));
        assert!(!adds_enum_value("ALTER TYPE status RENAME VALUE 'a' TO 'b'"));
        assert!(!adds_enum_value("ALTER TYPE status ADD ATTRIBUTE value integer"));
        assert!(!adds_enum_value("ALTER TABLE t ADD VALUE integer"));
        assert!(!adds_enum_value("-- ALTER TYPE status ADD VALUE 'x'\nSELECT 1"));
        let idempotent =
            "DO $$ BEGIN ALTER TYPE status ADD VALUE 'x'; EXCEPTION WHEN duplicate_object THEN null; END $$";
        assert!(adds_enum_value(idempotent));
        assert!(adds_enum_value(
            "do $body$ begin alter type s add value 'y'; end $body$ language plpgsql"
        ));
        assert!(!adds_enum_value(
            "DO $$ BEGIN RAISE NOTICE 'ALTER TYPE status ADD VALUE'; END $$"
        ));
    }

    #[test]
    fn mysql_executable_comments_are_statements() {
        let sql = "/*!40101 SET NAMES utf8mb4 */;\n/* a note */;\n/*M!100100 SET @x = 1 */;\nCREATE TABLE t (id INT);";
        let got: Vec<&str> = statements(sql, Dialect::Mysql).iter().map(|s| s.text).collect();
        assert_eq!(
            got,
            [
                "/*!40101 SET NAMES utf8mb4 */",
                "/*M!100100 SET @x = 1 */",
                "CREATE TABLE t (id INT)"
            ]
        );
        let got: Vec<&str> = statements(sql, Dialect::Postgres).iter().map(|s| s.text).collect();
        assert_eq!(got, ["CREATE TABLE t (id INT)"], "elsewhere they are comments");
    }

    fn check(dialect: Dialect, sql: &str, expect: &[&str]) {
        let got: Vec<&str> = statements(sql, dialect).into_iter().map(|s| s.text).collect();
        assert_eq!(got, expect, "splitting ({dialect}):\n{sql}");
    }

    /// `begin` and `case` as names, or in an expression inside parentheses,
    /// open no body: the statement ends at its `;` (a body still holds its own).
    #[test]
    fn words_in_parentheses_open_no_body() {
        for dialect in [Dialect::Mysql, Dialect::Postgres, Dialect::Sqlite] {
            check(
                dialect,
                "CREATE TABLE p (id INT PRIMARY KEY, begin DATE, \"case\" INT);\nINSERT INTO p (id, begin) VALUES (1, NULL);",
                &[
                    "CREATE TABLE p (id INT PRIMARY KEY, begin DATE, \"case\" INT)",
                    "INSERT INTO p (id, begin) VALUES (1, NULL)",
                ],
            );
            check(
                dialect,
                "CREATE TABLE q (n INT, k INT GENERATED ALWAYS AS (CASE WHEN n > 0 THEN 1 ELSE 0 END) STORED);\nSELECT 1;",
                &[
                    "CREATE TABLE q (n INT, k INT GENERATED ALWAYS AS (CASE WHEN n > 0 THEN 1 ELSE 0 END) STORED)",
                    "SELECT 1",
                ],
            );
        }
        check(
            Dialect::Sqlite,
            "CREATE TRIGGER t AFTER INSERT ON p BEGIN\n  INSERT INTO q VALUES ((CASE WHEN new.id > 0 THEN 1 ELSE 0 END), 2);\n  UPDATE q SET n = 1;\nEND;\nSELECT 2;",
            &[
                "CREATE TRIGGER t AFTER INSERT ON p BEGIN\n  INSERT INTO q VALUES ((CASE WHEN new.id > 0 THEN 1 ELSE 0 END), 2);\n  UPDATE q SET n = 1;\nEND",
                "SELECT 2",
            ],
        );
    }

    #[test]
    fn plain_statements_and_lines() {
        let sql = "CREATE TABLE a (id INT);\n\nCREATE INDEX CONCURRENTLY i ON a (id);\nSELECT 1";
        let s = statements(sql, Dialect::Postgres);
        assert_eq!(
            s.iter().map(|s| (s.text, s.line)).collect::<Vec<_>>(),
            [
                ("CREATE TABLE a (id INT)", 1),
                ("CREATE INDEX CONCURRENTLY i ON a (id)", 3),
                ("SELECT 1", 4)
            ]
        );
    }

    #[test]
    fn semicolons_in_strings_identifiers_and_comments() {
        check(
            Dialect::Postgres,
            "INSERT INTO \"we;ird\" VALUES ('a;b', 'it''s;'); -- c;omment 'x\n/* block; /* nested; */ still; */ SELECT 2;",
            &[
                "INSERT INTO \"we;ird\" VALUES ('a;b', 'it''s;')",
                "-- c;omment 'x\n/* block; /* nested; */ still; */ SELECT 2",
            ],
        );
    }

    /// MySQL reads `"…"` as a string with backslash escapes: a statement
    /// count that read otherwise would run two statements as one and resume
    /// at the wrong one.
    #[test]
    fn mysql_double_quoted_strings() {
        check(
            Dialect::Mysql,
            "INSERT INTO t VALUES (\"dq; \\\" x\");\nINSERT INTO t VALUES (2);\nSELECT 1; -- done",
            &[
                "INSERT INTO t VALUES (\"dq; \\\" x\")",
                "INSERT INTO t VALUES (2)",
                "SELECT 1",
            ],
        );
    }

    #[test]
    fn dollar_quoted_bodies() {
        let f = "CREATE FUNCTION f() RETURNS trigger AS $body$\nBEGIN\n  RAISE NOTICE 'a;b';\n  PERFORM $x$;$x$;\n  RETURN NEW;\nEND;\n$body$ LANGUAGE plpgsql";
        check(
            Dialect::Postgres,
            &format!("{f};\nSELECT $1, $$;$$;"),
            &[f, "SELECT $1, $$;$$"],
        );
    }

    #[test]
    fn escape_strings() {
        check(
            Dialect::Postgres,
            r"SELECT E'it\'s; fine'; SELECT 'a\'; SELECT 2",
            &[r"SELECT E'it\'s; fine'", r"SELECT 'a\'", "SELECT 2"],
        );
        check(
            Dialect::Mysql,
            r"INSERT INTO t VALUES ('it\'s; fine'); # hash; comment",
            &[r"INSERT INTO t VALUES ('it\'s; fine')"],
        );
        check(
            Dialect::Mysql,
            "SELECT `a;b` FROM t; SELECT 1",
            &["SELECT `a;b` FROM t", "SELECT 1"],
        );
    }

    #[test]
    fn trigger_and_procedure_bodies() {
        let trigger = "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE b SET n = n + 1;\n  DELETE FROM c WHERE x = CASE WHEN 1 THEN 2 END;\nEND";
        check(Dialect::Sqlite, &format!("{trigger};\nVACUUM;"), &[trigger, "VACUUM"]);
        let procedure =
            "CREATE PROCEDURE p() BEGIN\n  IF 1 THEN SELECT 1; END IF;\n  WHILE 0 DO SELECT 2; END WHILE;\nEND";
        check(
            Dialect::Mysql,
            &format!("{procedure};\nCALL p();"),
            &[procedure, "CALL p()"],
        );
        let atomic = "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END";
        check(
            Dialect::Postgres,
            &format!("{atomic}; SELECT g();"),
            &[atomic, "SELECT g()"],
        );
        let mysql_trigger = "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN\n  SET NEW.x = 1;\n  IF NEW.y THEN SET NEW.z = 2; END IF;\nEND";
        check(
            Dialect::Mysql,
            &format!("{mysql_trigger};\nINSERT INTO a VALUES (1);"),
            &[mysql_trigger, "INSERT INTO a VALUES (1)"],
        );
        // MariaDB's anonymous block holds its statements (MySQL only).
        let anonymous =
            "BEGIN NOT ATOMIC\n  IF NOT EXISTS (SELECT 1) THEN\n    ALTER TABLE t ADD c INT;\n  END IF;\nEND";
        check(
            Dialect::Mysql,
            &format!("{anonymous};\nINSERT INTO t VALUES (1);"),
            &[anonymous, "INSERT INTO t VALUES (1)"],
        );
        check(
            Dialect::Mysql,
            "BEGIN;\nINSERT INTO t VALUES (1);\nCOMMIT;",
            &["BEGIN", "INSERT INTO t VALUES (1)", "COMMIT"],
        );
        // A transaction's BEGIN is not a block.
        check(
            Dialect::Sqlite,
            "BEGIN; SELECT 1; COMMIT;",
            &["BEGIN", "SELECT 1", "COMMIT"],
        );
    }

    /// What a MariaDB anonymous block runs, statement by statement, for the
    /// scans; a routine's body runs later and is not read so.
    #[test]
    fn the_statements_an_anonymous_block_runs() {
        let block = "BEGIN NOT ATOMIC\n  DECLARE n INT DEFAULT 0;\n  IF n = 0 THEN\n    ALTER TABLE t DROP COLUMN c;\n  ELSE COMMIT;\n  END IF;\nEND";
        let got: Vec<&str> = block_statements(block).into_iter().map(|(_, s)| s).collect();
        assert_eq!(
            got,
            [
                "DECLARE n INT DEFAULT 0",
                "IF n = 0 THEN\n    ALTER TABLE t DROP COLUMN c",
                "ALTER TABLE t DROP COLUMN c",
                "COMMIT"
            ]
        );
        assert!(block_statements("CREATE PROCEDURE p() BEGIN DROP TABLE t; END").is_empty());
    }

    /// A migration written for the `mysql` client: its `DELIMITER` lines are
    /// the client's, and the statements between them end where the client
    /// ends them (checked against the client itself by the offline-script
    /// parity test).
    #[test]
    fn mysql_delimiter_lines() {
        let procedure = "CREATE PROCEDURE p(IN k INT)\nBEGIN\n  UPDATE t SET n = n + 1 WHERE id = k;\n  SELECT 'a;$$' /* ;; */;\nEND";
        let function = "CREATE FUNCTION f() RETURNS INT DETERMINISTIC\nBEGIN\n  RETURN 1;\nEND";
        let sql = format!(
            "CREATE TABLE t (id INT);\nDELIMITER $$\n{procedure}$$\n$$\ndelimiter\t;;  \n{function};;\nSELECT 1;;SELECT 2;;\nDELIMITER ;\nCALL p(1);\nSELECT 3"
        );
        let got: Vec<(&str, usize)> = statements(&sql, Dialect::Mysql)
            .iter()
            .map(|s| (s.text, s.line))
            .collect();
        assert_eq!(
            got,
            [
                ("CREATE TABLE t (id INT)", 1),
                (procedure, 3),
                (function, 10),
                ("SELECT 1", 14),
                ("SELECT 2", 14),
                ("CALL p(1)", 16),
                ("SELECT 3", 17),
            ]
        );
        assert!(needs_terminator(&sql, Dialect::Mysql));
        assert!(!needs_terminator("DELIMITER //\nSELECT 1 //\n", Dialect::Mysql));
        // Only a line's first word, at the start of a statement, is the command;
        // elsewhere, and in other dialects, `delimiter` is a name.
        check(
            Dialect::Mysql,
            "SELECT delimiter FROM t; SELECT 1;\n  DELIMITER //\nSELECT 2; SELECT 3//",
            &["SELECT delimiter FROM t", "SELECT 1", "SELECT 2", "SELECT 3"],
        );
        // The client sends a chunk whole and the server runs each statement of
        // it: they are counted one by one, a body's `;`s kept inside its statement.
        check(
            Dialect::Mysql,
            "DELIMITER //\nINSERT INTO log VALUES ('b'); COMMIT//\nCREATE PROCEDURE p() BEGIN SELECT 1; END; CALL p()//\nDELIMITER ;\n",
            &[
                "INSERT INTO log VALUES ('b')",
                "COMMIT",
                "CREATE PROCEDURE p() BEGIN SELECT 1; END",
                "CALL p()",
            ],
        );
        // A quoted delimiter is the text between its quotes, as the client reads it.
        check(
            Dialect::Mysql,
            "DELIMITER '//'\nSELECT 1//\ndelimiter \"$$\"\nSELECT 2$$\nDELIMITER `;`\nSELECT 3;",
            &["SELECT 1", "SELECT 2", "SELECT 3"],
        );
        assert!(for_the_mysql_client("SELECT 1;\nDELIMITER //\nSELECT 2//"));
        assert!(!for_the_mysql_client("SELECT delimiter FROM t;\n-- DELIMITER //\n"));
        check(
            Dialect::Postgres,
            "DELIMITER //\nSELECT 1;",
            &["DELIMITER //\nSELECT 1"],
        );
        // A line naming no delimiter the client takes is sent, for the server to refuse at its line.
        check(Dialect::Mysql, "DELIMITER\nSELECT 1;", &["DELIMITER\nSELECT 1"]);
        check(
            Dialect::Mysql,
            "DELIMITER \\\\\nSELECT 1;",
            &["DELIMITER \\\\\nSELECT 1"],
        );
    }

    #[test]
    fn empty_and_comment_only_statements_are_skipped() {
        check(Dialect::Sqlite, ";;  ;\n-- only a comment\n", &[]);
        check(Dialect::Sqlite, "SELECT 1;;\n-- trailing comment", &["SELECT 1"]);
    }

    #[test]
    fn unterminated_quotes_do_not_panic() {
        check(Dialect::Postgres, "SELECT 'open; SELECT 2", &["SELECT 'open; SELECT 2"]);
        check(Dialect::Postgres, "SELECT $a$ open", &["SELECT $a$ open"]);
        check(Dialect::Postgres, "/* open", &[]);
    }

    #[test]
    fn terminator_needed() {
        assert!(needs_terminator("SELECT 1", Dialect::Mysql));
        assert!(!needs_terminator("SELECT 1;", Dialect::Mysql));
        assert!(!needs_terminator("SELECT 1; -- done", Dialect::Mysql));
        assert!(!needs_terminator("", Dialect::Mysql));
        assert!(needs_terminator("SELECT 1; SELECT 2 -- x", Dialect::Postgres));
        assert!(!needs_terminator(
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END;",
            Dialect::Sqlite
        ));
    }

    /// What the runtime counts on MySQL: a statement that commits is
    /// followed by a new `BEGIN`, so a miss here leaves the next statements
    /// and their counts committing apart.
    #[test]
    fn implicit_commits_as_mysql_and_mariadb_list_them() {
        let commits = [
            "CREATE TABLE t (id INT)",
            "-- the table\nCREATE TABLE t (id INT)",
            "/* the table */ create index i on t (id)",
            "# MySQL's comment\nDROP TABLE t",
            "/*!50001 CREATE ALGORITHM=UNDEFINED */ /*!50001 VIEW v AS SELECT 1 */",
            "/*M!100100 ALTER TABLE t ADD c INT */",
            "ALTER TABLE t ADD c INT",
            "ANALYZE TABLE t",
            "analyze no_write_to_binlog table t",
            "OPTIMIZE TABLE t",
            "REPAIR TABLE t",
            "CHECK TABLE t",
            "FLUSH PRIVILEGES",
            "CACHE INDEX t IN hot",
            "LOAD INDEX INTO CACHE t",
            "RENAME USER a TO b",
            "SET PASSWORD FOR a = PASSWORD('x')",
            "CREATE USER a",
            "INSTALL PLUGIN p SONAME 'p.so'",
            "START TRANSACTION",
            "RESET MASTER",
            // MariaDB's anonymous block commits where a statement in it does.
            "BEGIN NOT ATOMIC\n  IF NOT EXISTS (SELECT 1) THEN\n    ALTER TABLE t ADD c INT;\n  END IF;\nEND",
            "BEGIN NOT ATOMIC INSERT INTO t VALUES (1); BEGIN NOT ATOMIC DROP TABLE u; END; END",
            "begin not atomic declare n int; while n < 3 do create table x (id int); end while; end",
        ];
        for statement in commits {
            assert!(commits_implicitly(statement), "{statement}");
        }
        let stays = [
            "INSERT INTO t VALUES (1)",
            "-- CREATE TABLE t (id INT)\nINSERT INTO t VALUES (1)",
            "/* DROP TABLE t */ UPDATE t SET id = 2",
            "CREATE TEMPORARY TABLE x (id INT)",
            "CREATE OR REPLACE TEMPORARY TABLE x (id INT)",
            "DROP TEMPORARY TABLE IF EXISTS x",
            "ANALYZE SELECT * FROM t",
            "CHECKSUM TABLE t",
            "LOAD DATA INFILE 'x' INTO TABLE t",
            "SET @a = 1",
            "BEGIN NOT ATOMIC SELECT 1; END",
            "BEGIN NOT ATOMIC\n  DECLARE n INT DEFAULT 1;\n  IF n THEN INSERT INTO t VALUES (n); END IF;\n  SELECT 'ALTER TABLE t';\nEND",
            "CALL p()",
            "SELECT 'CREATE TABLE'",
        ];
        for statement in stays {
            assert!(!commits_implicitly(statement), "{statement}");
        }
    }
}
