//! Where a migration's SQL names one database explicitly, or switches the
//! session's database: what a MySQL rehearsal, which runs the migrations on
//! a scratch copy of the database, must refuse before it runs anything, since
//! such a statement would reach the real database rather than the copy.
//!
//! Read on the one lexer's tokens ([`lex`](super::lex)), MySQL's
//! `/*! … */` code read as the code it is, so a name in a string or a
//! comment is never taken for one. The scan errs on the side of refusing:
//! any dotted name whose first part is the database (`app.t`, `` `app`.`t` ``,
//! `app.t.c`, `app.*`), wherever it stands, bodies of routines and triggers
//! included, so a table or alias of the database's own name used as
//! `app.column` is refused too. Names are compared without regard to case.

use super::lex::{self, Code, Kind};
use super::statements;
use crate::Dialect;

/// A place in `sql` that names the database or switches the session's database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseNamed {
    /// The 1-based line of `sql`.
    pub line: usize,
    /// What was found, as a sentence's clause (`` `app.t` names the database `app` ``).
    pub reason: String,
}

/// The places in `sql`, read in `dialect`, that name `database` (a qualified
/// name whose first part it is, `CREATE`/`ALTER`/`DROP DATABASE` or `SCHEMA`
/// of it) or that switch the session's database (`USE`, whichever it names).
pub fn naming_database(sql: &str, dialect: Dialect, database: &str) -> Vec<DatabaseNamed> {
    let mut found = Vec::new();
    for statement in statements(sql, dialect) {
        let toks = lex::code(statement.text, dialect);
        let line_of = |at: usize| {
            statement.line
                + statement.text.as_bytes()[..at.min(statement.text.len())]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
        };
        for (at, reason) in scan(&toks, database) {
            found.push(DatabaseNamed {
                line: line_of(at),
                reason,
            });
        }
    }
    found
}

/// What [`scan`] reads of a code token.
impl Code<'_> {
    /// The upper-cased word, or the punctuation as it is; anything else empty.
    fn key(&self) -> String {
        match self.kind {
            Kind::Word => self.text.to_ascii_uppercase(),
            Kind::Punct => self.text.to_owned(),
            _ => String::new(),
        }
    }

    /// The name it holds, unquoted; `None` when it is not a name.
    fn name(&self) -> Option<String> {
        match self.kind {
            Kind::Word => Some(self.text.to_owned()),
            Kind::Quoted => {
                let open = self.text.chars().next()?;
                let close = if open == '[' { ']' } else { open };
                let inner = &self.text[open.len_utf8()..];
                let inner = inner.strip_suffix(close).unwrap_or(inner);
                Some(inner.replace(&format!("{close}{close}"), &close.to_string()))
            }
            _ => None,
        }
    }
}

/// What one statement's tokens do with `database`: (offset, reason) each.
fn scan(toks: &[Code<'_>], database: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let key = |i: usize| toks.get(i).map(Code::key).unwrap_or_default();
    let is_db = |i: usize| {
        toks.get(i)
            .and_then(Code::name)
            .is_some_and(|n| n.eq_ignore_ascii_case(database))
    };
    if key(0) == "USE" {
        let named = toks.get(1).and_then(Code::name).unwrap_or_default();
        found.push((
            toks[0].at,
            format!("`USE {named}` switches the session to another database than the one it runs in"),
        ));
    }
    for i in 0..toks.len() {
        let k = key(i);
        if matches!(k.as_str(), "DATABASE" | "SCHEMA") {
            let mut j = i + 1;
            if key(j) == "IF" {
                j += if key(j + 1) == "NOT" { 3 } else { 2 };
            }
            if is_db(j) && key(j + 1) != "." {
                found.push((toks[i].at, format!("`{k} {}` names the database itself", toks[j].text)));
            }
        }
        let after_dot = i > 0 && matches!(key(i - 1).as_str(), "." | "@");
        if !after_dot && key(i + 1) == "." && is_db(i) {
            let shown: String = toks[i..(i + 3).min(toks.len())].iter().map(|t| t.text).collect();
            found.push((toks[i].at, format!("`{shown}` names the database `{database}`")));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(line, reason)` of each place `sql` names `app` on MySQL.
    fn check(sql: &str, expect: &[(usize, &str)]) {
        let got = naming_database(sql, Dialect::Mysql, "app");
        let got: Vec<(usize, &str)> = got.iter().map(|n| (n.line, n.reason.as_str())).collect();
        assert_eq!(got, expect, "{sql}");
    }

    #[test]
    fn qualified_names_of_the_database() {
        check(
            "CREATE TABLE t (id int);\nALTER TABLE app.t ADD COLUMN x int;\nINSERT INTO `App`.`t` VALUES (1)",
            &[
                (2, "`app.t` names the database `app`"),
                (3, "``App`.`t`` names the database `app`"),
            ],
        );
        check(
            "GRANT SELECT ON app.* TO someone",
            &[(1, "`app.*` names the database `app`")],
        );
        check(
            "UPDATE t\n  JOIN APP.u ON u.id = t.id\n  SET t.x = 1",
            &[(2, "`APP.u` names the database `app`")],
        );
    }

    #[test]
    fn use_and_database_statements() {
        check(
            "USE other;\nCREATE TABLE t (id int)",
            &[(
                1,
                "`USE other` switches the session to another database than the one it runs in",
            )],
        );
        check(
            "DROP DATABASE IF EXISTS app",
            &[(1, "`DATABASE app` names the database itself")],
        );
        check(
            "ALTER SCHEMA `app` CHARACTER SET utf8mb4",
            &[(1, "`SCHEMA `app`` names the database itself")],
        );
        // The current database: the copy.
        check("ALTER DATABASE CHARACTER SET utf8mb4", &[]);
    }

    #[test]
    fn strings_comments_other_databases_and_columns_are_not_names_of_it() {
        check(
            "-- ALTER TABLE app.t\n/* app.t */ INSERT INTO t VALUES ('app.t', \"app.x\" # app.t\n)",
            &[],
        );
        check("INSERT INTO other.t SELECT * FROM t WHERE t.app = 1", &[]);
        check("SELECT x.app.y FROM x", &[]);
        check("CREATE TABLE apps.t (id int)", &[]);
    }

    #[test]
    fn executable_comments_are_code() {
        check(
            "CREATE TABLE t (id int);\n/*!40101 ALTER TABLE\n  app.t ENGINE=InnoDB */",
            &[(3, "`app.t` names the database `app`")],
        );
        check(
            "/*!50003 USE app */",
            &[(
                1,
                "`USE app` switches the session to another database than the one it runs in",
            )],
        );
    }

    #[test]
    fn routine_bodies_are_read() {
        check(
            "CREATE PROCEDURE p() BEGIN\n  DELETE FROM app.t;\nEND",
            &[(2, "`app.t` names the database `app`")],
        );
    }
}
