//! SQL as a migration file can hold it. A file's reader turns a carriage
//! return into a line break and refuses other control characters, so a
//! string literal holding one (a CHECK that rejects `'%' || CR || '%'`, as
//! `pg_dump` and drivers write it raw) is written with escapes that give the
//! server the same value: PostgreSQL's `E'…'`, MySQL's backslash escapes.
//! What the import of another tool's SQL and autogenerate's revisions need.

use super::lex::{Kind, tokens};
use crate::Dialect;

/// A character no escape can carry: outside a string literal, in a
/// dollar-quoted body, or one the dialect has no escape for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the control character U+{:04X} {}, which a migration file cannot hold", *.character as u32, if *.in_string { "in a string this dialect cannot escape" } else { "outside a quoted string (or in a dollar-quoted one)" })]
pub struct Unwritable {
    /// The character.
    pub character: char,
    /// Whether it was in a string literal.
    pub in_string: bool,
}

/// Whether a migration file cannot hold `c` as it is: the reader's own rule
/// (a carriage return is a line break to it, and is refused alone).
fn unwritable(c: char) -> bool {
    crate::format::is_forbidden_control(c)
}

/// `sql`, read in `dialect`, with each string literal that holds a
/// character a migration file cannot hold written with escapes; unchanged
/// when there is none.
pub fn file_safe(sql: &str, dialect: Dialect) -> Result<String, Unwritable> {
    if !sql.chars().any(unwritable) {
        return Ok(sql.to_owned());
    }
    let mut out = String::with_capacity(sql.len() + 16);
    for t in tokens(sql, dialect) {
        let text = t.text(sql);
        let Some(first) = text.chars().find(|c| unwritable(*c)) else {
            out.push_str(text);
            continue;
        };
        let outside = Unwritable {
            character: first,
            in_string: false,
        };
        let (prefix, body) = match (t.kind, dialect) {
            (Kind::Str, Dialect::Postgres) if text.starts_with('\'') => ("E'", text[1..].replace('\\', "\\\\")),
            (Kind::Str, Dialect::Postgres) if text.starts_with(['E', 'e']) => ("E'", text[2..].to_owned()),
            (Kind::Str, Dialect::Mysql) if text.starts_with('\'') => ("'", text[1..].to_owned()),
            _ => return Err(outside),
        };
        out.push_str(prefix);
        for c in body.chars() {
            match (c, dialect) {
                ('\r', _) => out.push_str("\\r"),
                ('\x08', _) => out.push_str("\\b"),
                ('\x0c', Dialect::Postgres) => out.push_str("\\f"),
                ('\0', Dialect::Mysql) => out.push_str("\\0"),
                ('\x1a', Dialect::Mysql) => out.push_str("\\Z"),
                (c, Dialect::Postgres) if unwritable(c) => out.push_str(&format!("\\x{:02X}", c as u32)),
                (c, _) if unwritable(c) => {
                    return Err(Unwritable {
                        character: c,
                        in_string: true,
                    });
                }
                (c, _) => out.push(c),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_with_control_characters_are_escaped_to_the_same_value() {
        let pg = |s: &str| file_safe(s, Dialect::Postgres);
        assert_eq!(pg("SELECT 'a'").unwrap(), "SELECT 'a'");
        // Only the literal that needs it becomes an E'' string; a backslash in it is doubled.
        assert_eq!(
            pg("CHECK (x !~~ '%\r\\%' AND y = 'it''s\\')").unwrap(),
            "CHECK (x !~~ E'%\\r\\\\%' AND y = 'it''s\\')"
        );
        assert_eq!(pg("SELECT E'a\\n\x1b'").unwrap(), "SELECT E'a\\n\\x1B'");
        assert_eq!(file_safe("SELECT 'a\rb'", Dialect::Mysql).unwrap(), "SELECT 'a\\rb'");
        assert_eq!(
            pg("SELECT 1 \r").unwrap_err(),
            Unwritable {
                character: '\r',
                in_string: false
            }
        );
        assert_eq!(pg("SELECT $$a\rb$$").unwrap_err().in_string, false);
    }
}
