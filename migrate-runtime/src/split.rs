//! Splits a migration's SQL into statements, for migrations that run
//! outside a transaction and so must be sent one statement at a time
//! (PostgreSQL runs a multi-statement string in one implicit transaction,
//! where `CREATE INDEX CONCURRENTLY` fails).
//!
//! It understands what can hide a `;`: quoted strings and identifiers
//! (with each dialect's escapes), line and block comments (nested on
//! PostgreSQL), PostgreSQL dollar-quoted bodies, and `BEGIN … END` bodies
//! of triggers, procedures and SQL-standard functions. It never rewrites
//! the text: each statement is a slice of the input.

use crate::dialect::Dialect;

/// One statement of a migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The statement's text, without its terminating `;` or surrounding blank space.
    pub text: &'a str,
    /// The 1-based line of the migration section where it starts.
    pub line: usize,
}

/// The statements of `sql` in `dialect`, skipping empty ones and ones that are only comments.
pub fn statements(sql: &str, dialect: Dialect) -> Vec<Statement<'_>> {
    Splitter {
        src: sql.as_bytes(),
        dialect,
        pos: 0,
    }
    .run(sql)
}

/// Whether MySQL commits the transaction when it runs `statement`: DDL
/// (`CREATE`, `ALTER`, `DROP`, `RENAME`, `TRUNCATE`, but not `CREATE
/// TEMPORARY TABLE`) and the account and lock statements, read from its first words.
pub fn commits_implicitly(statement: &str) -> bool {
    let words: Vec<String> = statement
        .lines()
        .filter(|l| !l.trim_start().starts_with("--") && !l.trim_start().starts_with('#'))
        .flat_map(str::split_whitespace)
        .take(2)
        .map(str::to_ascii_uppercase)
        .collect();
    match words.first().map(String::as_str) {
        Some("CREATE") => words.get(1).map(String::as_str) != Some("TEMPORARY"),
        Some("ALTER" | "DROP" | "RENAME" | "TRUNCATE" | "GRANT" | "REVOKE" | "LOCK" | "UNLOCK") => true,
        _ => false,
    }
}

/// Whether `sql`'s last statement lacks a terminating `;`, so that
/// something appended after it needs one first.
pub fn needs_terminator(sql: &str, dialect: Dialect) -> bool {
    let mut s = Splitter {
        src: sql.as_bytes(),
        dialect,
        pos: 0,
    };
    let mut pending = false;
    let mut depth = 0usize;
    let mut first_word: Option<String> = None;
    while s.pos < s.src.len() {
        match s.step(&mut depth, &mut first_word) {
            Token::Semicolon => pending = false,
            Token::Code => pending = true,
            Token::Blank | Token::Comment => {}
        }
    }
    pending
}

enum Token {
    Semicolon,
    Code,
    Blank,
    Comment,
}

struct Splitter<'a> {
    src: &'a [u8],
    dialect: Dialect,
    pos: usize,
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

impl Splitter<'_> {
    fn peek(&self, off: usize) -> Option<u8> {
        self.src.get(self.pos + off).copied()
    }

    fn run<'s>(mut self, sql: &'s str) -> Vec<Statement<'s>> {
        let mut out = Vec::new();
        let mut start = 0;
        let mut has_code = false;
        let mut depth = 0usize;
        let mut first_word: Option<String> = None;
        let push = |from: usize, to: usize, has_code: bool, out: &mut Vec<Statement<'s>>| {
            if has_code {
                let raw = &sql[from..to];
                let text = raw.trim();
                let lead = raw.len() - raw.trim_start().len();
                let line = 1 + sql[..from + lead].bytes().filter(|&b| b == b'\n').count();
                out.push(Statement { text, line });
            }
        };
        while self.pos < self.src.len() {
            let at = self.pos;
            match self.step(&mut depth, &mut first_word) {
                Token::Semicolon => {
                    push(start, at, has_code, &mut out);
                    start = self.pos;
                    has_code = false;
                    depth = 0;
                    first_word = None;
                }
                Token::Code => has_code = true,
                Token::Blank | Token::Comment => {}
            }
        }
        push(start, self.src.len(), has_code, &mut out);
        out
    }

    /// Consumes one token and says what it was.
    fn step(&mut self, depth: &mut usize, first_word: &mut Option<String>) -> Token {
        let b = self.src[self.pos];
        let next = self.peek(1);
        match b {
            b';' if *depth == 0 => {
                self.pos += 1;
                Token::Semicolon
            }
            b'-' if next == Some(b'-') => {
                self.skip_line();
                Token::Comment
            }
            b'#' if self.dialect == Dialect::Mysql => {
                self.skip_line();
                Token::Comment
            }
            b'/' if next == Some(b'*') => {
                // MySQL runs the text of `/*! … */` and MariaDB that of `/*M! … */`
                // (mysqldump writes whole statements so): code, not a comment.
                let rest = &self.src[self.pos..];
                let executable =
                    self.dialect == Dialect::Mysql && (rest.starts_with(b"/*!") || rest.starts_with(b"/*M!"));
                self.skip_block_comment();
                if executable { Token::Code } else { Token::Comment }
            }
            b'\'' => {
                self.skip_quoted(b'\'', self.dialect == Dialect::Mysql);
                Token::Code
            }
            b'"' => {
                self.skip_quoted(b'"', false);
                Token::Code
            }
            b'`' if self.dialect != Dialect::Postgres => {
                self.skip_quoted(b'`', false);
                Token::Code
            }
            b'[' if self.dialect == Dialect::Sqlite => {
                while self.pos < self.src.len() && self.src[self.pos] != b']' {
                    self.pos += 1;
                }
                self.pos = (self.pos + 1).min(self.src.len());
                Token::Code
            }
            b'$' if self.dialect == Dialect::Postgres && self.dollar_quote() => Token::Code,
            b if is_ident(b) => {
                let start = self.pos;
                while self.pos < self.src.len() && is_ident(self.src[self.pos]) {
                    self.pos += 1;
                }
                let word = String::from_utf8_lossy(&self.src[start..self.pos]).to_ascii_uppercase();
                // PostgreSQL E'...' strings take backslash escapes.
                if self.dialect == Dialect::Postgres && word == "E" && self.peek(0) == Some(b'\'') {
                    self.skip_quoted(b'\'', true);
                    return Token::Code;
                }
                self.track_block(&word, depth, first_word);
                Token::Code
            }
            b if b.is_ascii_whitespace() => {
                self.pos += 1;
                Token::Blank
            }
            _ => {
                self.pos += 1;
                Token::Code
            }
        }
    }

    /// Follows `BEGIN … END` (and `CASE … END`) nesting inside `CREATE …`
    /// statements, whose bodies hold semicolons.
    fn track_block(&mut self, word: &str, depth: &mut usize, first_word: &mut Option<String>) {
        let first = first_word.get_or_insert_with(|| word.to_owned());
        if first != "CREATE" {
            return;
        }
        match word {
            "BEGIN" | "CASE" => *depth += 1,
            "END" => {
                // `END IF`, `END LOOP`, ... close blocks that were not counted.
                let save = self.pos;
                while self.pos < self.src.len() && self.src[self.pos].is_ascii_whitespace() {
                    self.pos += 1;
                }
                let start = self.pos;
                while self.pos < self.src.len() && is_ident(self.src[self.pos]) {
                    self.pos += 1;
                }
                let after = String::from_utf8_lossy(&self.src[start..self.pos]).to_ascii_uppercase();
                self.pos = save;
                if !matches!(after.as_str(), "IF" | "LOOP" | "WHILE" | "REPEAT" | "FOR") {
                    *depth = depth.saturating_sub(1);
                }
            }
            _ => {}
        }
    }

    fn skip_line(&mut self) {
        while self.pos < self.src.len() && self.src[self.pos] != b'\n' {
            self.pos += 1;
        }
    }

    fn skip_block_comment(&mut self) {
        let nests = self.dialect == Dialect::Postgres;
        let mut level = 0usize;
        while self.pos < self.src.len() {
            if self.src[self.pos..].starts_with(b"/*") && (level == 0 || nests) {
                level += 1;
                self.pos += 2;
            } else if self.src[self.pos..].starts_with(b"*/") {
                level -= 1;
                self.pos += 2;
                if level == 0 {
                    return;
                }
            } else {
                self.pos += 1;
            }
        }
    }

    /// Skips a quoted run; a doubled quote is an escaped quote, and so is a
    /// backslash-escaped one where `backslashes` is set.
    fn skip_quoted(&mut self, q: u8, backslashes: bool) {
        self.pos += 1;
        while self.pos < self.src.len() {
            let b = self.src[self.pos];
            if backslashes && b == b'\\' {
                self.pos += 2;
            } else if b == q {
                if self.peek(1) == Some(q) {
                    self.pos += 2;
                } else {
                    self.pos += 1;
                    return;
                }
            } else {
                self.pos += 1;
            }
        }
        self.pos = self.src.len();
    }

    /// Skips a `$tag$ … $tag$` body if one starts here (`$1` parameters do not).
    fn dollar_quote(&mut self) -> bool {
        if self.pos > 0 && is_ident(self.src[self.pos - 1]) {
            return false;
        }
        let mut end = self.pos + 1;
        while end < self.src.len() && is_ident(self.src[end]) && self.src[end] != b'$' {
            end += 1;
        }
        if end >= self.src.len() || self.src[end] != b'$' || self.src.get(self.pos + 1).is_some_and(u8::is_ascii_digit)
        {
            return false;
        }
        let tag = &self.src[self.pos..=end];
        let body = end + 1;
        match self.src[body..].windows(tag.len()).position(|w| w == tag) {
            Some(k) => self.pos = body + k + tag.len(),
            None => self.pos = self.src.len(),
        }
        true
    }
}

#[cfg(test)]
mod tests {

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

    use super::*;

    fn check(dialect: Dialect, sql: &str, expect: &[&str]) {
        let got: Vec<&str> = statements(sql, dialect).into_iter().map(|s| s.text).collect();
        assert_eq!(got, expect, "splitting ({dialect}):\n{sql}");
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
        // A transaction's BEGIN is not a block.
        check(
            Dialect::Sqlite,
            "BEGIN; SELECT 1; COMMIT;",
            &["BEGIN", "SELECT 1", "COMMIT"],
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
}
