//! Which tables a migration changes: the table each top-level statement
//! creates, alters, drops, renames, indexes or writes rows to, by name
//! (schema prefix left off, unquoted names lower-cased). What `check` needs
//! to say that two revisions the graph leaves unordered touch one table.
//! Statements it does not recognise change nothing here; it never fails.

use super::lex::{Kind, tokens};
use super::statements;
use crate::Dialect;
use std::collections::BTreeSet;

/// The tables the top-level statements of `sql` change, read in `dialect`.
pub fn changed(sql: &str, dialect: Dialect) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for statement in statements(sql, dialect) {
        let words = words(statement.text, dialect);
        out.extend(targets(&words));
    }
    out
}

/// A statement's code tokens: `(upper-cased word or "", name as the table is known)`.
fn words(text: &str, dialect: Dialect) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut joined = false;
    for t in tokens(text, dialect).filter(|t| !t.kind.is_blank()) {
        let raw = t.text(text);
        let name = match t.kind {
            Kind::Word => raw.to_lowercase(),
            Kind::Quoted => raw[1..raw.len().saturating_sub(1).max(1)].to_owned(),
            Kind::Punct if raw == "." => {
                joined = true;
                continue;
            }
            _ => {
                out.push((raw.to_owned(), String::new()));
                continue;
            }
        };
        let key = if t.kind == Kind::Word {
            raw.to_ascii_uppercase()
        } else {
            String::new()
        };
        // `schema.table`: the last part names the table.
        if std::mem::replace(&mut joined, false) {
            if let Some(last) = out.last_mut() {
                *last = (key, name);
                continue;
            }
        }
        out.push((key, name));
    }
    out
}

/// The tables one statement's words change.
fn targets(w: &[(String, String)]) -> Vec<String> {
    let key = |i: usize| w.get(i).map_or("", |(k, _)| k.as_str());
    let name_from = |mut i: usize| -> Option<String> {
        while matches!(key(i), "IF" | "NOT" | "EXISTS" | "ONLY" | "TABLE") {
            i += 1;
        }
        w.get(i).map(|(_, n)| n.clone()).filter(|n| !n.is_empty())
    };
    let mut i = 1;
    match key(0) {
        "CREATE" => {
            while matches!(
                key(i),
                "OR" | "REPLACE" | "UNIQUE" | "TEMP" | "TEMPORARY" | "UNLOGGED" | "GLOBAL" | "LOCAL"
            ) {
                i += 1;
            }
            match key(i) {
                "TABLE" => name_from(i + 1).into_iter().collect(),
                "INDEX" => {
                    let on = (i..w.len()).find(|&j| key(j) == "ON");
                    on.and_then(|j| name_from(j + 1)).into_iter().collect()
                }
                _ => Vec::new(),
            }
        }
        "ALTER" | "TRUNCATE" if key(1) == "TABLE" || key(0) == "TRUNCATE" => name_from(1).into_iter().collect(),
        "DROP" if key(1) == "TABLE" => {
            // `DROP TABLE a, b`: every name before the options.
            let mut names = Vec::new();
            let mut j = 2;
            while matches!(key(j), "IF" | "EXISTS") {
                j += 1;
            }
            while let Some((k, n)) = w.get(j) {
                if !n.is_empty() && !matches!(k.as_str(), "CASCADE" | "RESTRICT") {
                    names.push(n.clone());
                }
                j += 1;
                if w.get(j).is_none_or(|(k, n)| !(n.is_empty() && k == ",")) {
                    break;
                }
                j += 1;
            }
            names
        }
        "RENAME" if key(1) == "TABLE" => name_from(2).into_iter().collect(),
        "INSERT" | "REPLACE" => {
            let into = (1..w.len()).find(|&j| key(j) == "INTO");
            into.and_then(|j| name_from(j + 1)).into_iter().collect()
        }
        "UPDATE" => name_from(1).into_iter().collect(),
        "DELETE" => {
            let from = (1..w.len()).find(|&j| key(j) == "FROM");
            from.and_then(|j| name_from(j + 1)).into_iter().collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(sql: &str, expect: &str) {
        let got: Vec<String> = changed(sql, Dialect::Postgres).into_iter().collect();
        assert_eq!(got.join(" "), expect, "{sql}");
    }

    #[test]
    fn what_each_statement_changes() {
        check("CREATE TABLE IF NOT EXISTS public.Item (id int)", "item");
        check("CREATE UNIQUE INDEX CONCURRENTLY ix ON ONLY \"Orders\" (id)", "Orders");
        check("ALTER TABLE ONLY public.item ADD COLUMN x int", "item");
        check("DROP TABLE IF EXISTS a, public.b CASCADE", "a b");
        check(
            "INSERT INTO item (id) VALUES (1); UPDATE other SET x = 1; DELETE FROM third",
            "item other third",
        );
        check("TRUNCATE log; RENAME TABLE old TO new", "log old");
        check(
            "SELECT 1; CREATE VIEW v AS SELECT * FROM t; COMMENT ON TABLE t IS 'x'",
            "",
        );
        check(
            "CREATE FUNCTION f() RETURNS void AS $$ UPDATE t SET x = 1 $$ LANGUAGE sql",
            "",
        );
    }
}
