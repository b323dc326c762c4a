//! The one SQL lexer of the workspace: text in, tokens with byte ranges
//! out, read the way one [`Dialect`] reads what can hide a `;` or a word.
//!
//! The dialects differ in strings (MySQL's backslash escapes, PostgreSQL's
//! `E'…'` and `$tag$ … $tag$` bodies), quoted identifiers (`` `x` `` on
//! MySQL and SQLite, `[x]` on SQLite), comments (`#` on MySQL, nested
//! `/* … */` on PostgreSQL) and MySQL's `/*! … */`, a comment the server
//! runs. [`Syntax`] says which of these a reading has; everything else is
//! the same everywhere. Statements are split on these tokens
//! ([`split`](super::split)), and the schema comparison reads definitions
//! with them ([`crate::schema::text`]). An unterminated quote or comment
//! runs to the end of the text; nothing here fails or panics.

use crate::Dialect;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A bare word: keyword, identifier, number or `$1` parameter.
    Word,
    /// A quoted identifier: `"x"`, `` `x` ``, `[x]`.
    Quoted,
    /// A string literal: `'x'`, PostgreSQL's `E'x'` and `$tag$x$tag$`.
    Str,
    /// One punctuation character, `;` among them.
    Punct,
    /// A run of white space.
    Space,
    /// A comment: `-- …`, `# …` (MySQL), `/* … */`.
    Comment,
    /// MySQL's `/*! … */` and MariaDB's `/*M! … */`: text the server runs
    /// (mysqldump writes whole statements so).
    Executable,
}

impl Kind {
    /// Whether the token says nothing to the server: white space or a comment.
    pub fn is_blank(self) -> bool {
        matches!(self, Kind::Space | Kind::Comment)
    }
}

/// A token: its kind and its byte range in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: Kind,
    /// Its first byte.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
}

impl Token {
    /// The token's text in `sql`, the text it was read from.
    pub fn text(self, sql: &str) -> &str {
        &sql[self.start..self.end]
    }
}

/// The tokens of `sql`, read as `dialect` reads them.
pub fn tokens(sql: &str, dialect: Dialect) -> Tokens<'_> {
    Syntax::of(dialect).tokens(sql)
}

/// A code token of [`code`]: its kind, its text, and where it starts in
/// the text [`code`] was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code<'a> {
    /// What it is (never blank, never [`Kind::Executable`]).
    pub kind: Kind,
    /// Its text.
    pub text: &'a str,
    /// Its first byte in the text read.
    pub at: usize,
}

/// The code tokens of `text` as the server reads them: blank space and
/// comments left out, MySQL's `/*! … */` and MariaDB's `/*M! … */` opened
/// (their version numbers dropped, two levels deep at most), MariaDB's
/// sandbox line (`/*M!999999\- … */`, for its client only) left out.
pub fn code(text: &str, dialect: Dialect) -> Vec<Code<'_>> {
    let mut out = Vec::new();
    code_into(text, 0, dialect, 0, &mut out);
    out
}

fn code_into<'a>(text: &'a str, base: usize, dialect: Dialect, depth: usize, out: &mut Vec<Code<'a>>) {
    for t in tokens(text, dialect) {
        let piece = t.text(text);
        match t.kind {
            Kind::Space | Kind::Comment => {}
            Kind::Executable if depth < 2 => {
                let body = executable_body(piece);
                if !body.starts_with('\\') {
                    // `body` is a slice of `piece`: where it starts in the text.
                    let body_at = t.start + (body.as_ptr() as usize - piece.as_ptr() as usize);
                    code_into(body, base + body_at, dialect, depth + 1, out);
                }
            }
            kind => out.push(Code {
                kind,
                text: piece,
                at: base + t.start,
            }),
        }
    }
}

/// The code of a `/*!NNNNN … */` or `/*M!NNNNNN … */` comment.
fn executable_body(comment: &str) -> &str {
    let c = comment.strip_suffix("*/").unwrap_or(comment);
    let c = c.strip_prefix("/*M!").or_else(|| c.strip_prefix("/*!")).unwrap_or(c);
    c.trim_start_matches(|ch: char| ch.is_ascii_digit())
}

/// Which quotes and comments a reading knows: where the dialects differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Syntax {
    /// `\` escapes the next character in a `'…'` string (MySQL).
    pub backslash_strings: bool,
    /// `E'…'` strings take backslash escapes (PostgreSQL).
    pub escape_strings: bool,
    /// `$tag$ … $tag$` quotes a body (PostgreSQL).
    pub dollar_quotes: bool,
    /// `` `x` `` quotes an identifier (MySQL, SQLite).
    pub backticks: bool,
    /// `[x]` quotes an identifier (SQLite).
    pub brackets: bool,
    /// `#` starts a line comment (MySQL).
    pub hash_comments: bool,
    /// `/* … */` nests (PostgreSQL).
    pub nested_comments: bool,
    /// `/*! … */` and `/*M! … */` are code (MySQL, MariaDB).
    pub executable_comments: bool,
    /// `"…"` is a string, like `'…'` (MySQL, unless `ANSI_QUOTES`), not an identifier.
    pub double_quoted_strings: bool,
}

impl Syntax {
    /// What no dialect adds: `'…'` strings, `"…"` identifiers, `--` and `/* … */` comments.
    const PLAIN: Syntax = Syntax {
        backslash_strings: false,
        escape_strings: false,
        dollar_quotes: false,
        backticks: false,
        brackets: false,
        hash_comments: false,
        nested_comments: false,
        executable_comments: false,
        double_quoted_strings: false,
    };

    /// The reading of definitions whose dialect is not known (the schema
    /// comparison's): every dialect's quoted identifiers, and backslash
    /// escapes, but no `#` comments (PostgreSQL's `#>` is an operator) and no
    /// dollar quotes (a function body is read as the words it holds).
    pub(crate) const LENIENT: Syntax = Syntax {
        backslash_strings: true,
        backticks: true,
        brackets: true,
        ..Syntax::PLAIN
    };

    /// How `dialect` reads SQL text.
    pub(crate) const fn of(dialect: Dialect) -> Syntax {
        match dialect {
            Dialect::Sqlite => Syntax {
                backticks: true,
                brackets: true,
                ..Syntax::PLAIN
            },
            Dialect::Postgres => Syntax {
                escape_strings: true,
                dollar_quotes: true,
                nested_comments: true,
                ..Syntax::PLAIN
            },
            Dialect::Mysql => Syntax {
                backslash_strings: true,
                backticks: true,
                hash_comments: true,
                executable_comments: true,
                double_quoted_strings: true,
                ..Syntax::PLAIN
            },
        }
    }

    /// The tokens of `sql` in this reading.
    pub(crate) fn tokens(self, sql: &str) -> Tokens<'_> {
        Tokens {
            sql,
            src: sql.as_bytes(),
            pos: 0,
            syntax: self,
        }
    }
}

/// The tokens of a text, in order: an iterator that never fails.
#[derive(Debug, Clone)]
pub struct Tokens<'a> {
    sql: &'a str,
    src: &'a [u8],
    pos: usize,
    syntax: Syntax,
}

/// Whether `b` continues a word: ASCII letters and digits, `_`, `$`, and
/// every byte of a non-ASCII character.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

impl Iterator for Tokens<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let start = self.pos;
        let b = *self.src.get(start)?;
        let next = self.src.get(start + 1).copied();
        let s = self.syntax;
        let kind = match b {
            _ if b.is_ascii_whitespace() => self.space(),
            // MySQL's server wants blank space after `--`, but a `--x` line reads as a
            // comment in every dialect here: the scans that read all three agree on it.
            b'-' if next == Some(b'-') => self.line_comment(),
            b'#' if s.hash_comments => self.line_comment(),
            b'/' if next == Some(b'*') => self.block_comment(),
            b'\'' => self.quoted(b'\'', b'\'', s.backslash_strings, Kind::Str),
            b'"' if s.double_quoted_strings => self.quoted(b'"', b'"', s.backslash_strings, Kind::Str),
            b'"' => self.quoted(b'"', b'"', false, Kind::Quoted),
            b'`' if s.backticks => self.quoted(b'`', b'`', false, Kind::Quoted),
            b'[' if s.brackets => self.quoted(b'[', b']', false, Kind::Quoted),
            b'E' | b'e' if s.escape_strings && next == Some(b'\'') => {
                self.pos += 1;
                self.quoted(b'\'', b'\'', true, Kind::Str)
            }
            b'$' if s.dollar_quotes && self.dollar_quote() => Kind::Str,
            _ if is_word(b) => self.word(),
            _ => self.punct(),
        };
        Some(Token {
            kind,
            start,
            end: self.pos,
        })
    }
}

impl Tokens<'_> {
    /// Goes on reading at byte `pos` of the text (a reader that consumed a
    /// stretch of it itself, such as a client's command line).
    pub(crate) fn resume_at(&mut self, pos: usize) {
        self.pos = pos.min(self.src.len());
    }

    fn space(&mut self) -> Kind {
        while self.src.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
        Kind::Space
    }

    /// `--` or `#` to the end of the line (the line break is not part of it).
    fn line_comment(&mut self) -> Kind {
        while self.src.get(self.pos).is_some_and(|&b| b != b'\n') {
            self.pos += 1;
        }
        Kind::Comment
    }

    /// `/* … */`, nested where the dialect nests them.
    fn block_comment(&mut self) -> Kind {
        let rest = &self.src[self.pos..];
        let executable = self.syntax.executable_comments && (rest.starts_with(b"/*!") || rest.starts_with(b"/*M!"));
        let mut level = 0usize;
        while self.pos < self.src.len() {
            let rest = &self.src[self.pos..];
            if rest.starts_with(b"/*") && (level == 0 || self.syntax.nested_comments) {
                level += 1;
                self.pos += 2;
            } else if rest.starts_with(b"*/") {
                level -= 1;
                self.pos += 2;
                if level == 0 {
                    break;
                }
            } else {
                self.pos += 1;
            }
        }
        if executable { Kind::Executable } else { Kind::Comment }
    }

    /// A quoted run from `open` to `close`; a doubled closing quote stays
    /// inside (not for `]`), and so does an escaped one where `backslash` is set.
    fn quoted(&mut self, open: u8, close: u8, backslash: bool, kind: Kind) -> Kind {
        debug_assert_eq!(self.src.get(self.pos), Some(&open));
        self.pos += 1;
        while let Some(&b) = self.src.get(self.pos) {
            let escaped = backslash && b == b'\\';
            let doubled = b == close && close != b']' && self.src.get(self.pos + 1) == Some(&close);
            if escaped || doubled {
                self.pos += 2;
            } else if b == close {
                self.pos += 1;
                return kind;
            } else {
                self.pos += 1;
            }
        }
        self.pos = self.src.len();
        kind
    }

    /// Skips a `$tag$ … $tag$` body if one starts here (`$1` parameters do not).
    fn dollar_quote(&mut self) -> bool {
        let tag_end = self.src[self.pos + 1..]
            .iter()
            .position(|&b| !is_word(b) || b == b'$')
            .map(|k| self.pos + 1 + k);
        let Some(end) = tag_end.filter(|&e| self.src[e] == b'$') else {
            return false;
        };
        if self.src.get(self.pos + 1).is_some_and(u8::is_ascii_digit) {
            return false;
        }
        let tag = &self.src[self.pos..=end];
        let body = end + 1;
        self.pos = match self.src[body..].windows(tag.len()).position(|w| w == tag) {
            Some(k) => body + k + tag.len(),
            None => self.src.len(),
        };
        true
    }

    fn word(&mut self) -> Kind {
        while self.src.get(self.pos).is_some_and(|&b| is_word(b)) {
            self.pos += 1;
        }
        Kind::Word
    }

    /// One character (ASCII: every byte of a non-ASCII one is a word's).
    fn punct(&mut self) -> Kind {
        self.pos += 1;
        while !self.sql.is_char_boundary(self.pos) {
            self.pos += 1;
        }
        Kind::Punct
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The non-blank tokens of `sql` in `dialect`, as (kind, text).
    fn check(dialect: Dialect, sql: &str, expect: &[(Kind, &str)]) {
        let got: Vec<(Kind, &str)> = tokens(sql, dialect)
            .filter(|t| t.kind != Kind::Space)
            .map(|t| (t.kind, t.text(sql)))
            .collect();
        assert_eq!(got, expect, "lexing ({dialect}):\n{sql}");
    }

    use Kind::*;

    #[test]
    fn tokens_cover_the_text_in_order() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            let sql = "SELECT 'a''b', \"c\" -- d\n/* e */ FROM t WHERE x = $1 AND é = 'ü';";
            let mut at = 0;
            for t in tokens(sql, dialect) {
                assert_eq!(t.start, at, "{dialect}");
                assert!(t.end > t.start);
                at = t.end;
            }
            assert_eq!(at, sql.len());
        }
    }

    #[test]
    fn postgres_dollar_quotes() {
        let body = "$fn$ BEGIN RAISE NOTICE 'a;b'; PERFORM $x$;$x$; END $fn$";
        check(
            Dialect::Postgres,
            &format!("AS {body} LANGUAGE plpgsql"),
            &[(Word, "AS"), (Str, body), (Word, "LANGUAGE"), (Word, "plpgsql")],
        );
        check(Dialect::Postgres, "SELECT $$;$$", &[(Word, "SELECT"), (Str, "$$;$$")]);
        // `$1` is a parameter, and an unterminated body runs to the end.
        check(Dialect::Postgres, "$1", &[(Word, "$1")]);
        check(
            Dialect::Postgres,
            "SELECT $a$ open;",
            &[(Word, "SELECT"), (Str, "$a$ open;")],
        );
        // Elsewhere `$` is part of a word.
        check(
            Dialect::Mysql,
            "SELECT $$;$$",
            &[(Word, "SELECT"), (Word, "$$"), (Punct, ";"), (Word, "$$")],
        );
    }

    #[test]
    fn postgres_nested_block_comments_and_escape_strings() {
        let sql = "/* a /* b; */ still; */ SELECT E'it\\'s;'";
        check(
            Dialect::Postgres,
            sql,
            &[
                (Comment, "/* a /* b; */ still; */"),
                (Word, "SELECT"),
                (Str, "E'it\\'s;'"),
            ],
        );
        // SQLite and MySQL do not nest: the comment ends at the first `*/`.
        check(
            Dialect::Sqlite,
            "/* a /* b */ c */",
            &[(Comment, "/* a /* b */"), (Word, "c"), (Punct, "*"), (Punct, "/")],
        );
        // A plain string takes no backslash escape on PostgreSQL.
        check(
            Dialect::Postgres,
            "'a\\'; x",
            &[(Str, "'a\\'"), (Punct, ";"), (Word, "x")],
        );
    }

    #[test]
    fn mysql_backslashes_backticks_hash_comments_and_executable_comments() {
        check(
            Dialect::Mysql,
            "INSERT INTO `a;b` VALUES ('it\\'s; ok') # hash; comment\n/*!40101 SET x = 1 */",
            &[
                (Word, "INSERT"),
                (Word, "INTO"),
                (Quoted, "`a;b`"),
                (Word, "VALUES"),
                (Punct, "("),
                (Str, "'it\\'s; ok'"),
                (Punct, ")"),
                (Comment, "# hash; comment"),
                (Executable, "/*!40101 SET x = 1 */"),
            ],
        );
        check(
            Dialect::Mysql,
            "/*M!100100 SET @x = 1 */",
            &[(Executable, "/*M!100100 SET @x = 1 */")],
        );
        // `"…"` is a string there, with its escapes.
        check(
            Dialect::Mysql,
            "VALUES (\"dq; \\\" x\"); -- a comment",
            &[
                (Word, "VALUES"),
                (Punct, "("),
                (Str, "\"dq; \\\" x\""),
                (Punct, ")"),
                (Punct, ";"),
                (Comment, "-- a comment"),
            ],
        );
        // On PostgreSQL `#` is an operator, a backtick is punctuation, `/*!` a comment.
        check(
            Dialect::Postgres,
            "a # b `c` /*! d */",
            &[
                (Word, "a"),
                (Punct, "#"),
                (Word, "b"),
                (Punct, "`"),
                (Word, "c"),
                (Punct, "`"),
                (Comment, "/*! d */"),
            ],
        );
    }

    #[test]
    fn sqlite_brackets_and_backticks() {
        check(
            Dialect::Sqlite,
            "SELECT [a;b], `c``d`, \"e\"\"f\" FROM t",
            &[
                (Word, "SELECT"),
                (Quoted, "[a;b]"),
                (Punct, ","),
                (Quoted, "`c``d`"),
                (Punct, ","),
                (Quoted, "\"e\"\"f\""),
                (Word, "FROM"),
                (Word, "t"),
            ],
        );
    }

    #[test]
    fn unterminated_quotes_and_comments_run_to_the_end() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            check(dialect, "'open; x", &[(Str, "'open; x")]);
            let double = if dialect == Dialect::Mysql { Str } else { Quoted };
            check(dialect, "\"open", &[(double, "\"open")]);
            check(dialect, "/* open", &[(Comment, "/* open")]);
            check(dialect, "x -- end", &[(Word, "x"), (Comment, "-- end")]);
        }
        check(Dialect::Mysql, "'a\\", &[(Str, "'a\\")]);
    }
}
