//! A schema file read as the dump tools write it, before any of it runs:
//! the statements sent to the scratch database, the ones not sent (a dump's
//! bookkeeping), and the ones refused because they would act beyond the
//! scratch database, each refusal at its line.
//!
//! - **Client commands** are the client's, never the server's: psql's
//!   `\restrict KEY` … `\unrestrict KEY` (pg_dump 15.14 and later; no other
//!   meta-command may stand between them, as in psql) and `\connect`; the
//!   mysql client's `DELIMITER` (statements then end at the new delimiter);
//!   MariaDB's sandbox line `/*M!999999\- … */`. Any other (`\i`, `\!`, a
//!   sqlite3 `.read`) is an error at its line.
//! - **The dump's own database**: the first `CREATE DATABASE`, `USE` or
//!   `\connect` before any object, and a `DROP DATABASE` of it there (as
//!   `--add-drop-database` writes it), name the database the dump was taken
//!   from. Those, later `USE`/`\connect` of it, and its `ALTER`/`COMMENT ON
//!   DATABASE` are read as "this schema" (the scratch database) and not sent.
//! - **Refused**: any other statement that names another database (`USE
//!   other`, `DROP DATABASE other`, MySQL's `other.t`) or acts on the server:
//!   roles and users (`CREATE`/`ALTER`/`DROP ROLE|USER|GROUP`, `GRANT role
//!   TO`, any MySQL `GRANT`/`REVOKE`, which may create a user), `ALTER
//!   SYSTEM`, `SET GLOBAL`, tablespaces, `COPY … PROGRAM` and server files,
//!   `LOAD DATA`, SQLite's `ATTACH`/`DETACH` (the list is in `reach`).
//! - **Not sent**, because the comparison does not read them and the dev
//!   server may lack the roles they name: PostgreSQL's `ALTER … OWNER TO`,
//!   `GRANT`/`REVOKE … ON` an object (privileges inside the database), `ALTER
//!   DEFAULT PRIVILEGES`, `SET ROLE`, `SET SESSION AUTHORIZATION`, `COMMENT ON
//!   EXTENSION`; SQLite's own `sqlite_sequence` and `sqlite_stat*` tables.
//!
//! Everything is checked before anything runs: [`read`] returns every
//! problem of the file, or the steps to run.

use super::reach::{self, Class, DbAct};
use crate::Dialect;
use crate::diagnostic::{Diagnostic, DiagnosticKind, Diagnostics};
use crate::sql::lex;
use crate::sql::split::{self, Lines};

/// What happens to one statement of a schema file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Sent to the scratch database.
    Run,
    /// Not sent, for this reason.
    Skip(&'static str),
}

/// One statement (or client command) of a schema file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step<'a> {
    /// Its text, without its delimiter.
    pub text: &'a str,
    /// The 1-based line where it starts.
    pub line: usize,
    /// Whether it is sent.
    pub action: Action,
}

const OWN_DATABASE: &str = "the dump's own database, which is the scratch database here";
const OWN_SETTING: &str = "a setting of the dump's own database, which the comparison does not read";
const CLIENT: &str = "a command for the client that reads the dump, not for the server";

const ONE_DATABASE: &str = "a schema file describes one database and runs in a scratch database of its own: a dump's own `CREATE DATABASE`, `USE` and `\\connect` of the database it was taken from are read as that scratch database, any other database is refused. Dump one database at a time (`pg_dump --schema-only NAME`, `mysqldump --no-data --databases NAME`)";

/// The steps of the schema file `file` (as messages name it) whose text is
/// `sql`, read as `dialect` reads it; or every problem, sorted by line, when
/// any statement would act beyond the scratch database or a client command
/// is not understood.
pub fn read<'a>(file: &str, sql: &'a str, dialect: Dialect) -> Result<Vec<Step<'a>>, Diagnostics> {
    let mut reader = Reader {
        file,
        sql,
        dialect,
        pos: 0,
        lines: Lines::default(),
        delimiter: ";",
        restricted: None,
        own: None,
        objects: false,
        steps: Vec::new(),
        problems: Vec::new(),
    };
    while let Some(start) = reader.next_code() {
        let line = reader.lines.at(sql, start);
        if !reader.client_command(start, line) {
            reader.statement(start, line);
        }
    }
    if reader.problems.is_empty() {
        Ok(reader.steps)
    } else {
        Err(Diagnostics::new(reader.problems))
    }
}

struct Reader<'a, 'f> {
    file: &'f str,
    sql: &'a str,
    dialect: Dialect,
    /// Where reading goes on.
    pos: usize,
    lines: Lines,
    /// MySQL's statement delimiter (`DELIMITER`), `;` by default.
    delimiter: &'a str,
    /// psql's `\restrict` key, while one holds.
    restricted: Option<&'a str>,
    /// The dump's own database, once named.
    own: Option<String>,
    /// Whether a statement that makes something ran (the own database can no longer be named).
    objects: bool,
    steps: Vec<Step<'a>>,
    problems: Vec<Diagnostic>,
}

impl<'a> Reader<'a, '_> {
    /// The start of the next code token (past blanks, and past empty `;`
    /// statements while `;` delimits), moving there.
    fn next_code(&mut self) -> Option<usize> {
        let rest = &self.sql[self.pos..];
        let empty = |t: &lex::Token| t.kind.is_blank() || (self.delimiter == ";" && t.text(rest) == ";");
        let at = lex::tokens(rest, self.dialect).find(|t| !empty(t))?;
        self.pos += at.start;
        Some(self.pos)
    }

    /// The end of the line `start` is on (before its line break).
    fn line_end(&self, start: usize) -> usize {
        self.sql[start..].find('\n').map_or(self.sql.len(), |k| start + k)
    }

    fn step(&mut self, text: &'a str, line: usize, action: Action) {
        self.steps.push(Step { text, line, action });
    }

    fn refuse(&mut self, line: usize, kind: DiagnosticKind, message: String, help: &str) {
        self.problems.push(
            Diagnostic::new(kind, message)
                .in_file(self.file)
                .at_line(Some(line))
                .with_help(help),
        );
    }

    /// Reads a client command starting at `start`, if one does; says whether it did.
    fn client_command(&mut self, start: usize, line: usize) -> bool {
        let rest = &self.sql[start..];
        let at_line_start = self.sql[..start]
            .rsplit('\n')
            .next()
            .is_some_and(|before| before.trim().is_empty());
        let command = match self.dialect {
            Dialect::Postgres | Dialect::Mysql if rest.starts_with('\\') => true,
            Dialect::Mysql if rest.starts_with("/*M!999999\\") => {
                let end = rest.find("*/").map_or(self.sql.len(), |k| start + k + 2);
                self.step(&self.sql[start..end], line, Action::Skip(CLIENT));
                self.pos = end;
                return true;
            }
            Dialect::Mysql => {
                at_line_start && split::delimiter_command(&rest[..self.line_end(start) - start]).is_some()
            }
            Dialect::Sqlite => rest.starts_with('.') && at_line_start,
            Dialect::Postgres => false,
        };
        if !command {
            return false;
        }
        let end = self.line_end(start);
        let text = self.sql[start..end].trim_end();
        self.pos = end;
        match self.dialect {
            Dialect::Postgres => self.meta_command(text, line),
            Dialect::Mysql => self.mysql_command(text, line),
            Dialect::Sqlite => self.refuse(
                line,
                DiagnosticKind::ClientCommand,
                format!("`{text}` is a sqlite3 dot-command, not SQL"),
                "a schema file is SQL the database runs (`sqlite3 app.db .schema` writes none): remove the line",
            ),
        }
        true
    }

    /// The mysql client's `DELIMITER x` and backslash commands.
    fn mysql_command(&mut self, text: &'a str, line: usize) {
        if let Some(command) = split::delimiter_command(text) {
            match command {
                Some(delimiter) => {
                    self.delimiter = delimiter;
                    self.step(text, line, Action::Skip(CLIENT));
                }
                _ => self.refuse(
                    line,
                    DiagnosticKind::ClientCommand,
                    format!("`{text}` sets no delimiter"),
                    "write `DELIMITER ;;` (any string without a backslash), and `DELIMITER ;` after the statements it ends",
                ),
            }
            return;
        }
        self.refuse(
            line,
            DiagnosticKind::ClientCommand,
            format!("`{text}` is a mysql client command this tool does not run"),
            "a schema file is SQL the server runs; of the client's commands only `DELIMITER` is understood (mysqldump writes no other): remove the line",
        );
    }

    /// psql's meta-commands: `\restrict`, `\unrestrict`, `\connect`.
    fn meta_command(&mut self, text: &'a str, line: usize) {
        let (name, args) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let key = args.split_whitespace().next();
        let unknown = |name: &str| format!("`{name}` is a psql meta-command this tool does not run");
        let help = "a schema file is SQL the server runs; of psql's meta-commands only pg_dump's `\\restrict`, `\\unrestrict` and `\\connect` (to the dumped database) are understood: remove the line";
        match (name, self.restricted) {
            ("\\unrestrict", Some(held)) if key == Some(held) => {
                self.restricted = None;
                self.step(text, line, Action::Skip(CLIENT));
            }
            ("\\restrict", None) if key.is_some() => {
                self.restricted = key;
                self.step(text, line, Action::Skip(CLIENT));
            }
            (_, Some(_)) => self.refuse(
                line,
                DiagnosticKind::ClientCommand,
                format!("`{text}` stands between `\\restrict` and its `\\unrestrict`, where psql runs no meta-command"),
                "pg_dump writes none there: the file was changed after it was dumped; remove the line",
            ),
            ("\\connect" | "\\c", None) => match connect_target(args) {
                Ok(database) => self.database(DbAct::Use, database, text, line),
                Err(why) => self.refuse(line, DiagnosticKind::BeyondScratch, format!("`{text}` {why}"), ONE_DATABASE),
            },
            ("\\unrestrict" | "\\restrict", None) => self.refuse(
                line,
                DiagnosticKind::ClientCommand,
                format!("`{text}` does not match a `\\restrict` before it"),
                "pg_dump writes `\\restrict KEY` first and `\\unrestrict KEY` last, with the same key: dump again, or remove both lines",
            ),
            _ => self.refuse(line, DiagnosticKind::ClientCommand, unknown(name), help),
        }
    }

    /// Reads the statement starting at `start` and says what happens to it.
    fn statement(&mut self, start: usize, line: usize) {
        let rest = &self.sql[start..];
        let (end, next) = if self.delimiter == ";" {
            split::first_end(rest, self.dialect).unwrap_or((rest.len(), rest.len()))
        } else {
            let delimiter = self.delimiter;
            // As the mysql client does: anywhere outside quotes and comments (`END$$` too).
            lex::tokens(rest, self.dialect)
                .find_map(|t| split::delimiter_at(rest, t, delimiter))
                .map_or((rest.len(), rest.len()), |at| (at, at + delimiter.len()))
        };
        let text = rest[..end].trim_end();
        self.pos = start + next.max(1);
        if text.is_empty() {
            return; // a delimiter alone: an empty statement, which no client sends
        }
        match reach::classify(text, self.dialect) {
            Class::Run { setup } => {
                self.objects |= !setup;
                self.step(text, line, Action::Run);
            }
            Class::Skip(why) => self.step(text, line, Action::Skip(why)),
            Class::Database(act, name) => self.database(act, name, text, line),
            Class::Beyond(why, help) => {
                let message = format!("`{}` would act beyond the scratch database: {why}", head(text));
                self.refuse(line, DiagnosticKind::BeyondScratch, message, help);
            }
            Class::ClientCommand => self.refuse(
                line,
                DiagnosticKind::ClientCommand,
                format!("`{}` holds a client's command (`\\…`) inside a statement", head(text)),
                "a client runs a backslash command wherever it stands; this tool runs none: end the statement with `;` first, or remove the command",
            ),
        }
    }

    /// A statement naming database `name`: the dump's own, or refused.
    fn database(&mut self, act: DbAct, name: String, text: &'a str, line: usize) {
        let is_own = self.own.as_deref() == Some(name.as_str());
        let adopt = self.own.is_none() && !self.objects && act != DbAct::Alter;
        let skip = match act {
            DbAct::Create | DbAct::Use => (is_own || adopt).then_some(OWN_DATABASE),
            DbAct::Drop => ((is_own || adopt) && !self.objects).then_some(OWN_DATABASE),
            DbAct::Alter => is_own.then_some(OWN_SETTING),
        };
        if let Some(why) = skip {
            self.own = Some(name);
            self.step(text, line, Action::Skip(why));
            return;
        }
        let what = match act {
            DbAct::Create => "creates",
            DbAct::Drop => "drops",
            DbAct::Use => "switches to",
            DbAct::Alter => "changes",
        };
        let whose = match (&self.own, is_own) {
            (_, true) => " (the database this file describes, after its objects were made)".to_owned(),
            (Some(own), false) => format!(", another than the dump's own `{own}`"),
            (None, false) if act == DbAct::Alter => ", which the file named as its own nowhere before".to_owned(),
            (None, false) => ", after the file made objects in the scratch database".to_owned(),
        };
        let message = format!(
            "`{}` would act beyond the scratch database: it {what} database `{name}`{whose}",
            head(text)
        );
        self.refuse(line, DiagnosticKind::BeyondScratch, message, ONE_DATABASE);
    }
}

/// A statement as messages quote it: its first line, shortened.
fn head(text: &str) -> String {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let mut out: String = first.chars().take(80).collect();
    if out.len() < first.len() || text.trim().lines().nth(1).is_some() {
        out.push_str(" …");
    }
    out
}

/// The database a psql `\connect` names: its first argument (past
/// `-reuse-previous=on|off`), a name or a `dbname=…` connection string;
/// anything that names another server, port or user is an error (the why).
fn connect_target(args: &str) -> Result<String, &'static str> {
    let mut words = psql_args(args)
        .into_iter()
        .filter(|a| !a.starts_with("-reuse-previous"));
    let Some(first) = words.next() else {
        return Err("names no database");
    };
    if words.any(|w| w != "-") {
        return Err("connects as another user or to another server");
    }
    if !first.contains('=') {
        return Ok(first);
    }
    let mut database = None;
    for pair in psql_args(&first) {
        match pair.split_once('=') {
            Some(("dbname", value)) => database = Some(value.to_owned()),
            _ => return Err("connects with settings of its own (another server, port or user)"),
        }
    }
    database.ok_or("names no database")
}

/// psql's arguments: separated by blanks; `'…'` and `"…"` quote (`''` is a quote).
fn psql_args(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                if chars.peek() == Some(&q) {
                    chars.next();
                    current.get_or_insert_default().push(q);
                } else {
                    quote = None;
                }
            }
            (Some(_), c) => current.get_or_insert_default().push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                current.get_or_insert_default();
            }
            (None, c) if c.is_whitespace() => out.extend(current.take()),
            (None, c) => current.get_or_insert_default().push(c),
        }
    }
    out.extend(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The steps as `(line, "run"|"skip", text)`, or the problems as `(line, message)`.
    fn steps(sql: &str, dialect: Dialect) -> Vec<(usize, &'static str, String)> {
        match read("s.sql", sql, dialect) {
            Ok(steps) => steps
                .into_iter()
                .map(|s| {
                    let what = if s.action == Action::Run { "run" } else { "skip" };
                    (s.line, what, s.text.to_owned())
                })
                .collect(),
            Err(e) => panic!("refused:\n{e}"),
        }
    }

    fn problems(sql: &str, dialect: Dialect) -> Vec<(usize, String)> {
        match read("s.sql", sql, dialect) {
            Ok(steps) => panic!("accepted: {steps:?}"),
            Err(e) => e.iter().map(|d| (d.line.unwrap_or(0), d.message.clone())).collect(),
        }
    }

    fn run(list: &[(usize, &'static str, String)]) -> Vec<String> {
        list.iter().filter(|s| s.1 == "run").map(|s| s.2.clone()).collect()
    }

    #[test]
    fn a_pg_dump_with_create() {
        let sql = "--\n-- PostgreSQL database dump\n--\n\n\\restrict abcDEF123\n\nSET statement_timeout = 0;\n\
                   SELECT pg_catalog.set_config('search_path', '', false);\n\
                   CREATE DATABASE shop WITH TEMPLATE = template0 ENCODING = 'UTF8';\n\
                   ALTER DATABASE shop OWNER TO postgres;\n\
                   \\unrestrict abcDEF123\n\\connect shop\n\\restrict abcDEF123\n\
                   CREATE TABLE public.item (id integer NOT NULL);\n\
                   ALTER TABLE public.item OWNER TO postgres;\n\
                   GRANT SELECT ON TABLE public.item TO PUBLIC;\n\
                   \\unrestrict abcDEF123\n";
        let got = steps(sql, Dialect::Postgres);
        assert_eq!(
            run(&got),
            [
                "SET statement_timeout = 0",
                "SELECT pg_catalog.set_config('search_path', '', false)",
                "CREATE TABLE public.item (id integer NOT NULL)"
            ]
        );
        let lines: Vec<(usize, &str)> = got.iter().map(|s| (s.0, s.1)).collect();
        assert_eq!(
            lines,
            [
                (5, "skip"),
                (7, "run"),
                (8, "run"),
                (9, "skip"),
                (10, "skip"),
                (11, "skip"),
                (12, "skip"),
                (13, "skip"),
                (14, "run"),
                (15, "skip"),
                (16, "skip"),
                (17, "skip")
            ]
        );
    }

    #[test]
    fn a_mysqldump_of_one_database_with_routines() {
        let sql = "/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump\n/*!40101 SET NAMES utf8mb4 */;\n\
                   /*!40000 DROP DATABASE IF EXISTS `shop`*/;\n\
                   CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop`;\n\nUSE `shop`;\n\
                   DROP TABLE IF EXISTS `item`;\nCREATE TABLE `item` (`id` int(11) NOT NULL);\n\
                   DELIMITER ;;\n/*!50003 CREATE*/ /*!50003 TRIGGER t BEFORE INSERT ON item FOR EACH ROW BEGIN SET NEW.id = 1; END \n*/;;\n\
                   CREATE PROCEDURE `p`()\nBEGIN SELECT 1; SELECT 2; END\n;;\nDELIMITER ;\n\
                   USE `shop`;\n/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\n";
        let got = steps(sql, Dialect::Mysql);
        assert_eq!(
            run(&got),
            [
                "/*!40101 SET NAMES utf8mb4 */",
                "DROP TABLE IF EXISTS `item`",
                "CREATE TABLE `item` (`id` int(11) NOT NULL)",
                "/*!50003 CREATE*/ /*!50003 TRIGGER t BEFORE INSERT ON item FOR EACH ROW BEGIN SET NEW.id = 1; END \n*/",
                "CREATE PROCEDURE `p`()\nBEGIN SELECT 1; SELECT 2; END",
                "/*!40101 SET SQL_MODE=@OLD_SQL_MODE */"
            ]
        );
        let skipped: Vec<usize> = got.iter().filter(|s| s.1 == "skip").map(|s| s.0).collect();
        assert_eq!(skipped, [1, 4, 5, 7, 10, 16, 17]);
    }

    #[test]
    fn other_databases_are_refused_with_their_lines() {
        let sql = "CREATE DATABASE a;\nUSE a;\nCREATE TABLE t (id INT);\nUSE prod;\nDROP TABLE IF EXISTS x;\nDROP DATABASE a;\n";
        assert_eq!(
            problems(sql, Dialect::Mysql),
            [
                (
                    4,
                    "`USE prod` would act beyond the scratch database: it switches to database `prod`, another than the dump's own `a`".to_owned()
                ),
                (
                    6,
                    "`DROP DATABASE a` would act beyond the scratch database: it drops database `a` (the database this file describes, after its objects were made)".to_owned()
                ),
            ]
        );
        let e = problems(
            "CREATE TABLE a (id int);\nDROP DATABASE other;\nCREATE ROLE app;\n",
            Dialect::Postgres,
        );
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].0, 2);
        assert!(e[0].1.contains("it drops database `other`"), "{e:?}");
        assert_eq!(e[1].0, 3);
        assert!(e[1].1.contains("`CREATE ROLE` changes the server's roles"), "{e:?}");
        let e = problems(
            "\\connect other\nCREATE TABLE a (id int);\n\\connect second\n",
            Dialect::Postgres,
        );
        assert_eq!(e.len(), 1);
        assert!(e[0].1.contains("switches to database `second`"), "{e:?}");
        let e = problems("\\connect shop admin otherhost\n", Dialect::Postgres);
        assert!(e[0].1.contains("another user or to another server"), "{e:?}");
    }

    #[test]
    fn meta_commands() {
        let got = steps(
            "\\connect -reuse-previous=on \"dbname='we ird'\"\nCREATE TABLE a (id int);\n\\c 'we ird'\n",
            Dialect::Postgres,
        );
        assert_eq!(run(&got), ["CREATE TABLE a (id int)"]);
        let e = problems(
            "\\restrict k1\nSELECT 1;\n\\i other.sql\n\\unrestrict k1\n",
            Dialect::Postgres,
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0, 3);
        assert!(e[0].1.contains("between `\\restrict`"), "{e:?}");
        let e = problems("SELECT 1;\n\\! rm -rf /\n\\unrestrict nope\n", Dialect::Postgres);
        assert_eq!(
            e,
            [
                (2, "`\\!` is a psql meta-command this tool does not run".to_owned()),
                (
                    3,
                    "`\\unrestrict nope` does not match a `\\restrict` before it".to_owned()
                )
            ]
        );
        let e = problems("CREATE TABLE a (id int);\n.read other.sql\n", Dialect::Sqlite);
        assert_eq!(e[0].0, 2);
        assert!(e[0].1.contains("sqlite3 dot-command"), "{e:?}");
        let e = problems("SELECT 1;\n\\. other.sql\n", Dialect::Mysql);
        assert_eq!(e[0].0, 2);
        // A backslash inside a string is nothing of the kind.
        steps("SELECT 'a\\b';\nSELECT E'\\\\';\n", Dialect::Postgres);
    }

    #[test]
    fn a_sqlite3_schema() {
        let sql = "CREATE TABLE item (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT /* the name */);\n\
                   CREATE TABLE sqlite_sequence(name,seq);\nCREATE VIEW v AS SELECT id FROM item\n/* v(id) */;\n\
                   CREATE TRIGGER t AFTER INSERT ON item BEGIN UPDATE item SET name = 'x' WHERE id = NEW.id; END;\n\
                   CREATE TABLE sqlite_stat1(tbl,idx,stat);\n";
        let got = steps(sql, Dialect::Sqlite);
        assert_eq!(run(&got).len(), 3);
        assert_eq!(
            got.iter().filter(|s| s.1 == "skip").map(|s| s.0).collect::<Vec<_>>(),
            [2, 6]
        );
    }

    #[test]
    fn any_text_is_read_to_its_end() {
        // Pieces that start and end quotes, comments, client commands and delimiters.
        const PIECES: [&str; 16] = [
            "\\",
            ";",
            "'",
            "\"",
            "$$",
            "/*!40101 ",
            "*/",
            "--",
            "\n",
            "DELIMITER ",
            ";;",
            ".",
            "USE x",
            "`",
            "é",
            " ",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..(seed % 24) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(PIECES[(seed % PIECES.len() as u64) as usize]);
            }
            for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
                if let Ok(steps) = read("s.sql", &text, dialect) {
                    assert!(steps.iter().all(|s| !s.text.is_empty()), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn connect_targets() {
        assert_eq!(connect_target("shop"), Ok("shop".into()));
        assert_eq!(connect_target("-reuse-previous=on \"dbname='a b'\""), Ok("a b".into()));
        assert!(connect_target("\"host=x dbname=y\"").is_err());
        assert!(connect_target("").is_err());
    }
}
