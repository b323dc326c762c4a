//! One statement as the lint rules read it: its code tokens, each with its
//! keyword (an upper-cased word, or a punctuation character) and the name it
//! stands for (a word lower-cased, a quoted identifier unquoted, a string
//! literal's value), and the small readings the rules share (a qualified
//! name, an `ALTER TABLE`'s actions, a column's type).

use crate::Dialect;
use crate::sql::lex::{Kind, tokens};

/// One code token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tok {
    /// What it is.
    pub kind: Kind,
    /// A word upper-cased, a punctuation character as is, else empty.
    pub key: String,
    /// A word lower-cased, a quoted identifier's or a string's content.
    pub name: String,
}

/// A statement's code tokens, from `at` on: a statement, or a part of one.
#[derive(Debug, Clone, Copy)]
pub(super) struct Words<'t> {
    pub toks: &'t [Tok],
}

/// The code tokens of `text` in `dialect` (comments, blank space and
/// MySQL's executable comments left out).
pub(super) fn toks(text: &str, dialect: Dialect) -> Vec<Tok> {
    tokens(text, dialect)
        .filter(|t| !t.kind.is_blank() && t.kind != Kind::Executable)
        .map(|t| {
            let raw = t.text(text);
            let inner = || raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default();
            let (key, name) = match t.kind {
                Kind::Word => (raw.to_ascii_uppercase(), raw.to_lowercase()),
                Kind::Punct => (raw.to_owned(), String::new()),
                Kind::Quoted => (String::new(), inner().to_owned()),
                Kind::Str if raw.starts_with('\'') => (String::new(), inner().replace("''", "'")),
                _ => (String::new(), String::new()),
            };
            Tok {
                kind: t.kind,
                key,
                name,
            }
        })
        .collect()
}

impl<'t> Words<'t> {
    /// The keyword at `i` (empty past the end).
    pub fn key(&self, i: usize) -> &'t str {
        self.toks.get(i).map_or("", |t| t.key.as_str())
    }

    /// Whether the tokens from `i` are the keywords `keys`.
    pub fn at(&self, i: usize, keys: &[&str]) -> bool {
        keys.iter().enumerate().all(|(k, key)| self.key(i + k) == *key)
    }

    /// Whether the statement starts with the keywords `keys`.
    pub fn starts(&self, keys: &[&str]) -> bool {
        self.at(0, keys)
    }

    /// The first position from `from` where the keywords `keys` are.
    pub fn find(&self, from: usize, keys: &[&str]) -> Option<usize> {
        (from..self.toks.len()).find(|&i| self.at(i, keys))
    }

    /// Whether the keyword `key` is anywhere.
    pub fn has(&self, key: &str) -> bool {
        self.toks.iter().any(|t| t.key == key)
    }

    /// The name at `i`, skipping `IF [NOT] EXISTS` and `ONLY`, its schema
    /// left off (`public.t` is `t`), and the position after it.
    pub fn name(&self, mut i: usize) -> Option<(String, usize)> {
        while matches!(self.key(i), "IF" | "NOT" | "EXISTS" | "ONLY") {
            i += 1;
        }
        let mut name = self
            .toks
            .get(i)
            .filter(|t| matches!(t.kind, Kind::Word | Kind::Quoted))?;
        i += 1;
        while self.key(i) == "." {
            match self
                .toks
                .get(i + 1)
                .filter(|t| matches!(t.kind, Kind::Word | Kind::Quoted))
            {
                Some(next) => {
                    name = next;
                    i += 2;
                }
                None => break,
            }
        }
        Some((name.name.clone(), i))
    }

    /// The parts of the tokens from `from` separated by top-level commas,
    /// each with its position: an `ALTER TABLE`'s actions, a `CREATE
    /// TABLE`'s elements (given the position inside its parenthesis).
    pub fn parts(&self, from: usize) -> Vec<(usize, Words<'t>)> {
        let mut out = Vec::new();
        let (mut depth, mut start) = (0usize, from);
        for i in from..=self.toks.len() {
            let key = self.key(i);
            if i == self.toks.len() || (depth == 0 && (key == "," || key == ")")) {
                if i > start {
                    out.push((
                        start,
                        Words {
                            toks: &self.toks[start..i],
                        },
                    ));
                }
                if key == ")" || i == self.toks.len() {
                    break;
                }
                start = i + 1;
            } else if key == "(" {
                depth += 1;
            } else if key == ")" {
                depth -= 1;
            }
        }
        out
    }

    /// The type written from `i` on, normalised: lower-case words joined
    /// by one space, its arguments in parentheses without spaces
    /// (`character varying(20)`), up to a column constraint, `COLLATE`,
    /// `USING`, a comma or the end.
    pub fn type_at(&self, i: usize) -> String {
        const ENDS: [&str; 20] = [
            "NOT",
            "NULL",
            "DEFAULT",
            "PRIMARY",
            "REFERENCES",
            "CHECK",
            "UNIQUE",
            "CONSTRAINT",
            "COLLATE",
            "USING",
            "GENERATED",
            "AUTO_INCREMENT",
            "COMMENT",
            "FIRST",
            "AFTER",
            "CHARACTER",
            "CHARSET",
            "ON",
            ",",
            ";",
        ];
        let mut out = String::new();
        let mut depth = 0usize;
        for t in self.toks.iter().skip(i) {
            if depth == 0
                && (ENDS.contains(&t.key.as_str()) && !(t.key == "CHARACTER" && out.is_empty()) || t.key == ")")
            {
                break;
            }
            match t.key.as_str() {
                "(" => depth += 1,
                ")" => depth -= 1,
                _ => {}
            }
            let piece = if t.kind == Kind::Word {
                t.name.as_str()
            } else {
                t.key.as_str()
            };
            let glue =
                !out.is_empty() && !matches!(t.key.as_str(), "(" | ")" | "," | "[" | "]") && !out.ends_with(['(', ',']);
            if glue {
                out.push(' ');
            }
            out.push_str(piece);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parts_and_types() {
        let toks = toks(
            "ALTER TABLE IF EXISTS ONLY public.\"Item\" ADD c numeric(10, 2) NOT NULL, DROP d",
            Dialect::Postgres,
        );
        let w = Words { toks: &toks };
        assert_eq!(w.name(2), Some(("Item".to_owned(), 8)));
        let parts = w.parts(8);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].1.type_at(2), "numeric(10,2)");
        assert_eq!(parts[1].1.key(0), "DROP");
        let toks = super::toks("x character varying(20)[] COLLATE \"C\"", Dialect::Postgres);
        assert_eq!(Words { toks: &toks }.type_at(1), "character varying(20)[]");
    }
}
