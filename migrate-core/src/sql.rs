//! What core needs to know of the SQL in a migration: which statements stand
//! at its top level, so that a transaction-control statement there
//! (`BEGIN`, `COMMIT`, `ROLLBACK`, ...) is caught when the crate builds.
//!
//! The file format does not name a database, so the scan reads the text the
//! way each of them could (backslash escapes or not, `#` comments or not,
//! dollar quotes or not) and reports a statement only when every reading
//! finds it: text inside strings, comments, dollar-quoted function bodies and
//! `BEGIN … END` bodies of triggers and procedures is never taken for one.
//! The runtime's `split` module, which knows the database, does the real
//! splitting at run time.

/// One way of reading quotes and comments.
#[derive(Debug, Clone, Copy)]
struct Reading {
    /// `\` escapes the next character in a string (MySQL).
    backslash: bool,
    /// `#` starts a comment (MySQL).
    hash_comment: bool,
    /// `$tag$ … $tag$` quotes a body (PostgreSQL).
    dollar: bool,
}

const READINGS: [Reading; 2] = [
    Reading {
        backslash: false,
        hash_comment: false,
        dollar: true,
    },
    Reading {
        backslash: true,
        hash_comment: true,
        dollar: false,
    },
];

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
    for reading in READINGS {
        let here: Vec<TransactionControl> = scan(sql, reading)
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

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// The top-level statements' words (upper-cased; a quoted part is an empty
/// word) and start lines, for one reading.
fn scan(sql: &str, r: Reading) -> Vec<(Vec<String>, usize)> {
    let src = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    // The current statement: its first two words, its line, whether it is a
    // CREATE (whose BEGIN opens a body), and the depth of BEGIN … END inside it.
    let mut words: Vec<String> = Vec::new();
    let mut start_line = 0;
    let mut creates = false;
    let mut depth = 0usize;
    let finish = |words: &mut Vec<String>, start_line: usize, out: &mut Vec<(Vec<String>, usize)>| {
        if !words.is_empty() {
            out.push((std::mem::take(words), start_line));
        }
    };
    while i < src.len() {
        let b = src[i];
        let next = src.get(i + 1).copied();
        match b {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b';' if depth == 0 => {
                finish(&mut words, start_line, &mut out);
                creates = false;
                i += 1;
            }
            b'-' if next == Some(b'-') => i = skip_line(src, i),
            b'#' if r.hash_comment => i = skip_line(src, i),
            b'/' if next == Some(b'*') => {
                let (end, lines) = skip_block(src, i);
                line += lines;
                i = end;
            }
            b'\'' | b'"' | b'`' => {
                let (end, lines) = skip_quoted(src, i, b, r.backslash && b == b'\'');
                line += lines;
                i = end;
                if words.is_empty() {
                    start_line = line;
                }
                words.push(String::new());
            }
            b'$' if r.dollar && dollar_tag(src, i).is_some() => {
                let (end, lines) = skip_dollar(src, i);
                line += lines;
                i = end;
                words.push(String::new());
            }
            _ if is_word(b) => {
                let from = i;
                while i < src.len() && is_word(src[i]) {
                    i += 1;
                }
                let word = sql[from..i].to_ascii_uppercase();
                if words.is_empty() {
                    start_line = line;
                    creates = word == "CREATE";
                }
                if creates {
                    match word.as_str() {
                        "BEGIN" | "CASE" => depth += 1,
                        "END" if !followed_by_block_word(sql, i) || next_word(sql, i).as_deref() == Some("CASE") => {
                            depth = depth.saturating_sub(1)
                        }
                        _ => {}
                    }
                }
                words.push(word);
            }
            _ => {
                if !b.is_ascii_whitespace() && words.is_empty() {
                    start_line = line;
                    words.push(String::new());
                }
                i += 1;
            }
        }
    }
    finish(&mut words, start_line, &mut out);
    out
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
        "BEGIN" => matches!(
            second,
            "" | "TRANSACTION" | "WORK" | "DEFERRED" | "IMMEDIATE" | "EXCLUSIVE" | "ISOLATION" | "READ" | "NOT"
        ),
        "START" => second == "TRANSACTION",
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

fn next_word(sql: &str, from: usize) -> Option<String> {
    let rest = sql[from..].trim_start();
    let word: String = rest.bytes().take_while(|&b| is_word(b)).map(char::from).collect();
    (!word.is_empty()).then(|| word.to_ascii_uppercase())
}

/// `END IF`, `END LOOP`, ...: closers of blocks not counted as depth.
fn followed_by_block_word(sql: &str, from: usize) -> bool {
    matches!(
        next_word(sql, from).as_deref(),
        Some("IF" | "LOOP" | "WHILE" | "REPEAT" | "FOR" | "CASE")
    )
}

fn skip_line(src: &[u8], mut i: usize) -> usize {
    while i < src.len() && src[i] != b'\n' {
        i += 1;
    }
    i
}

/// Skips a block comment (nested, as PostgreSQL reads them); returns the end and the lines crossed.
fn skip_block(src: &[u8], mut i: usize) -> (usize, usize) {
    let mut depth = 0;
    let mut lines = 0;
    while i < src.len() {
        match (src[i], src.get(i + 1).copied()) {
            (b'/', Some(b'*')) => {
                depth += 1;
                i += 2;
            }
            (b'*', Some(b'/')) => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return (i, lines);
                }
            }
            (b'\n', _) => {
                lines += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    (i, lines)
}

/// Skips a quoted string or identifier; a doubled quote stays inside.
fn skip_quoted(src: &[u8], mut i: usize, q: u8, backslash: bool) -> (usize, usize) {
    let mut lines = 0;
    i += 1;
    while i < src.len() {
        match src[i] {
            b'\\' if backslash => i += 2,
            c if c == q => {
                if src.get(i + 1) == Some(&q) {
                    i += 2;
                } else {
                    return (i + 1, lines);
                }
            }
            b'\n' => {
                lines += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    (src.len(), lines)
}

/// The `$tag$` starting at `i`, if one does.
fn dollar_tag(src: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < src.len() && (src[j].is_ascii_alphanumeric() || src[j] == b'_') {
        j += 1;
    }
    if src.get(j) == Some(&b'$') && !src.get(i + 1).is_some_and(u8::is_ascii_digit) {
        Some(j + 1)
    } else {
        None
    }
}

/// Skips a dollar-quoted body to its closing tag.
fn skip_dollar(src: &[u8], i: usize) -> (usize, usize) {
    let Some(open_end) = dollar_tag(src, i) else {
        return (i + 1, 0);
    };
    let tag = &src[i..open_end];
    let mut lines = 0;
    let mut j = open_end;
    while j < src.len() {
        if src[j..].starts_with(tag) {
            return (j + tag.len(), lines);
        }
        if src[j] == b'\n' {
            lines += 1;
        }
        j += 1;
    }
    (src.len(), lines)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            found("BEGIN;\nSELECT 1;\nEND;"),
            [("BEGIN".to_owned(), 1), ("END".to_owned(), 3)]
        );
        assert_eq!(found("start transaction;"), [("START TRANSACTION".to_owned(), 1)]);
        assert_eq!(found("SELECT 1;\n  rollback"), [("ROLLBACK".to_owned(), 2)]);
        assert_eq!(found("BEGIN IMMEDIATE;"), [("BEGIN IMMEDIATE".to_owned(), 1)]);
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
