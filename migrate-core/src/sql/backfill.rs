//! A backfill's statement: its `:start` and `:end` placeholders, found on
//! the [`lex`](super::lex) tokens (never inside a string, a quoted name or
//! a comment, never PostgreSQL's `::` cast), and bound as integer literals
//! for one batch.

use super::lex::{Kind, tokens};
use crate::Dialect;

/// A placeholder of a backfill statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `:start`, the first key value of the batch (inclusive).
    Start,
    /// `:end`, one past the last key value of the batch (exclusive).
    End,
}

/// The placeholders of `sql` as `dialect` reads it, each with its byte range.
pub fn placeholders(sql: &str, dialect: Dialect) -> Vec<(Placeholder, usize, usize)> {
    let toks: Vec<_> = tokens(sql, dialect).collect();
    let mut found = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.kind != Kind::Punct || t.text(sql) != ":" {
            continue;
        }
        // `x::end` is a cast, and `a:start` (no space) stays ours only after a colon of its own.
        let after_colon = i > 0 && toks[i - 1].kind == Kind::Punct && toks[i - 1].text(sql) == ":";
        let Some(next) = toks.get(i + 1).filter(|n| n.kind == Kind::Word && n.start == t.end) else {
            continue;
        };
        let which = match next.text(sql) {
            "start" => Placeholder::Start,
            "end" => Placeholder::End,
            _ => continue,
        };
        if !after_colon {
            found.push((which, t.start, next.end));
        }
    }
    found
}

/// `sql` with `:start` bound to `start` and `:end` to `end`, as integer literals.
pub fn bind(sql: &str, dialect: Dialect, start: i128, end: i128) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut at = 0;
    for (which, from, to) in placeholders(sql, dialect) {
        out.push_str(&sql[at..from]);
        let value = match which {
            Placeholder::Start => start,
            Placeholder::End => end,
        };
        out.push_str(&value.to_string());
        at = to;
    }
    out.push_str(&sql[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_only_the_placeholders() {
        let sql = "UPDATE t SET n = n + 1, v = ':start' || x::end -- :end\nWHERE id >= :start AND id < :end";
        for d in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            let bound = bind(sql, d, 10, 20);
            assert!(bound.ends_with("WHERE id >= 10 AND id < 20"), "{d:?}: {bound}");
            assert!(bound.contains("':start'"), "{bound}");
            assert!(bound.contains("x::end"), "{bound}");
            assert!(bound.contains("-- :end"), "{bound}");
        }
    }

    #[test]
    fn lists_what_it_finds() {
        let kinds = |sql| {
            placeholders(sql, Dialect::Postgres)
                .into_iter()
                .map(|p| p.0)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            kinds("id >= :start AND id < :end"),
            [Placeholder::Start, Placeholder::End]
        );
        assert_eq!(kinds("id >= : start"), []);
        assert_eq!(kinds("id >= :starts"), []);
        assert_eq!(kinds("\"x:start\""), []);
    }
}
