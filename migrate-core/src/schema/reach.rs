//! What one statement of a schema file reaches: the scratch database it
//! runs in, a database it names, or the server beyond both. The reader of
//! schema files ([`script`](super::script)) asks this of every statement
//! before any runs, and keeps the state (which database is the dump's own).
//!
//! A statement is read from its words on the one lexer's tokens, MySQL's
//! `/*! … */` code read as the code it is, so text in strings, comments and
//! dollar-quoted bodies is never taken for a statement. What runs later
//! (a function's body, a trigger's, a `DO` block) is code, not a statement of
//! the file: it is not read, except that a MySQL body may name no other
//! database either.

use crate::Dialect;
use crate::sql::lex::{self, Code, Kind};

/// What a statement does with a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DbAct {
    /// `CREATE DATABASE`.
    Create,
    /// `DROP DATABASE`.
    Drop,
    /// `USE`, psql's `\connect`.
    Use,
    /// `ALTER DATABASE`, `COMMENT ON DATABASE`: a setting of the database.
    Alter,
}

/// What a statement reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Class {
    /// Runs in the scratch database. `setup`: a session setting (`SET`,
    /// `SELECT set_config(…)`), which dumps write before naming their database.
    Run { setup: bool },
    /// Not sent, for this reason: what the comparison does not read and the
    /// dev server may not allow (owners, privileges), or what the database makes itself.
    Skip(&'static str),
    /// Names a database: the reader decides whether it is the dump's own.
    Database(DbAct, String),
    /// Acts beyond the scratch database: why, and the fix.
    Beyond(String, &'static str),
    /// Holds a client's command (`\…`) in the middle of its text.
    ClientCommand,
}

const ROLES: &str = "a schema file describes one database, and roles and users belong to the server: one made here would outlive the scratch database. Create roles on the server by hand; a schema file's owners and privileges are not compared";
const SERVER: &str = "a schema file describes one database; the server's settings, files, libraries and other connections are not part of it. Remove this statement";
const OTHER_DATABASE: &str = "the scratch database is the only database a schema file may reach: write the name unqualified, and dump one database at a time";
const NO_DATA: &str =
    "a schema file holds the schema only: dump it with `pg_dump --schema-only` (or `mysqldump --no-data`)";
const OWNER: &str = "an owner, which the comparison does not read, and a role the dev server may not have: the dev server's user owns what the file makes";
const PRIVILEGES: &str = "privileges, which the comparison does not read, naming roles the dev server may not have";
const SESSION_USER: &str =
    "who runs the file, a role the dev server may not have: the dev server's user makes the schema";
const EXTENSION_COMMENT: &str =
    "a comment on an extension, which only the extension's owner may set and the comparison does not read";
const SQLITE_OWN: &str = "SQLite's own table, which SQLite makes itself when it needs it";
const ROWS: &str =
    "rows, which the comparison does not read (through a foreign table they would be written in another database)";

/// A statement's tokens with their keys: a word upper-cased, punctuation as
/// it is, anything quoted empty (never a keyword).
struct Words<'a> {
    toks: Vec<Code<'a>>,
    keys: Vec<String>,
    dialect: Dialect,
}

impl<'a> Words<'a> {
    fn new(text: &'a str, dialect: Dialect) -> Words<'a> {
        let toks = lex::code(text, dialect);
        let keys = toks
            .iter()
            .map(|t| match t.kind {
                Kind::Word => t.text.to_ascii_uppercase(),
                Kind::Punct => t.text.to_owned(),
                _ => String::new(),
            })
            .collect();
        Words { toks, keys, dialect }
    }

    fn key(&self, i: usize) -> &str {
        self.keys.get(i).map_or("", String::as_str)
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.keys.iter().position(|k| k == key)
    }

    /// The name token `i` holds, as the database reads it: unquoted, an
    /// unquoted PostgreSQL name folded to lower case.
    fn ident(&self, i: usize) -> Option<String> {
        let t = self.toks.get(i)?;
        match t.kind {
            Kind::Word if self.dialect == Dialect::Postgres => Some(t.text.to_lowercase()),
            Kind::Word => Some(t.text.to_owned()),
            Kind::Quoted => Some(unquote(t.text)),
            _ => None,
        }
    }

    /// The index of the object word after `CREATE`, `ALTER` or `DROP`
    /// (past MariaDB's `OR REPLACE`).
    fn object(&self) -> usize {
        if self.key(1) == "OR" && self.key(2) == "REPLACE" {
            3
        } else {
            1
        }
    }

    /// The name after index `i`, past `IF [NOT] EXISTS`.
    fn name_after(&self, mut i: usize) -> Option<String> {
        i += 1;
        if self.key(i) == "IF" {
            i += if self.key(i + 1) == "NOT" { 3 } else { 2 };
        }
        if self.toks.get(i).is_some_and(|t| t.kind == Kind::Word) && is_option_word(self.key(i)) {
            return None;
        }
        self.ident(i)
    }
}

/// MySQL's `ALTER DATABASE` options, which follow no name when the database is the current one.
fn is_option_word(key: &str) -> bool {
    matches!(
        key,
        "DEFAULT" | "CHARACTER" | "CHARSET" | "COLLATE" | "ENCRYPTION" | "READ" | "COMMENT" | "WITH" | "OWNER" | "SET"
    )
}

/// A quoted identifier's name: `"a""b"` is `a"b`, `` `x` `` is `x`, `[x]` is `x`.
fn unquote(text: &str) -> String {
    let Some(open) = text.chars().next() else {
        return String::new();
    };
    let close = if open == '[' { ']' } else { open };
    let inner = text[open.len_utf8()..]
        .strip_suffix(close)
        .unwrap_or(&text[open.len_utf8()..]);
    if open == '[' {
        inner.to_owned()
    } else {
        inner.replace(&format!("{close}{close}"), &close.to_string())
    }
}

/// What the statement `text` reaches, read as `dialect` reads it.
pub(crate) fn classify(text: &str, dialect: Dialect) -> Class {
    let w = Words::new(text, dialect);
    if w.toks.is_empty() {
        return Class::Run { setup: true };
    }
    if w.keys.iter().any(|k| k == "\\") {
        return Class::ClientCommand;
    }
    let found = database(&w).or_else(|| roles(&w)).or_else(|| match dialect {
        Dialect::Postgres => postgres(&w),
        Dialect::Mysql => mysql(&w).or_else(|| qualified(&w)).or_else(|| rows_or_strings(&w)),
        Dialect::Sqlite => sqlite(&w),
    });
    found.unwrap_or_else(|| Class::Run {
        setup: matches!(w.key(0), "SET" | "RESET" | "SELECT"),
    })
}

fn beyond(why: impl Into<String>, help: &'static str) -> Option<Class> {
    Some(Class::Beyond(why.into(), help))
}

/// `CREATE`/`DROP`/`ALTER DATABASE`, `COMMENT ON DATABASE`, `USE`, and
/// MySQL's `… SCHEMA`, which is the same; tablespaces.
fn database(w: &Words<'_>) -> Option<Class> {
    let first = w.key(0);
    let object = w.object();
    let is_database = |i: usize| w.key(i) == "DATABASE" || (w.dialect == Dialect::Mysql && w.key(i) == "SCHEMA");
    let act = match first {
        "CREATE" if is_database(object) => DbAct::Create,
        "DROP" if is_database(object) => DbAct::Drop,
        "ALTER" if is_database(object) => DbAct::Alter,
        "COMMENT" | "SECURITY" if w.dialect == Dialect::Postgres => {
            let on = w.position("ON")?;
            if !is_database(on + 1) {
                return None;
            }
            return w.ident(on + 2).map(|name| Class::Database(DbAct::Alter, name));
        }
        "USE" if w.dialect == Dialect::Mysql => {
            return Some(match w.ident(1) {
                Some(name) => Class::Database(DbAct::Use, name),
                None => Class::Beyond("`USE` names no database".into(), OTHER_DATABASE),
            });
        }
        "CREATE" | "ALTER" | "DROP" if w.key(object) == "TABLESPACE" => {
            return beyond(
                "a tablespace is a directory of the server, shared by every database",
                SERVER,
            );
        }
        _ => return None,
    };
    match w.name_after(object) {
        Some(name) => Some(Class::Database(act, name)),
        // MySQL's `ALTER DATABASE CHARACTER SET …`: the current one, the scratch database.
        None if act == DbAct::Alter => None,
        None => beyond("it names no database", OTHER_DATABASE),
    }
}

/// Roles and users: made, changed, dropped, renamed, granted.
fn roles(w: &Words<'_>) -> Option<Class> {
    let first = w.key(0);
    let object = w.key(w.object());
    let is_role = match w.dialect {
        Dialect::Postgres => matches!(object, "ROLE" | "USER" | "GROUP") && w.key(w.object() + 1) != "MAPPING",
        Dialect::Mysql => matches!(object, "ROLE" | "USER"),
        Dialect::Sqlite => false,
    };
    match first {
        "CREATE" | "ALTER" | "DROP" | "RENAME" if is_role => {
            beyond(format!("`{first} {object}` changes the server's roles"), ROLES)
        }
        "GRANT" | "REVOKE" if w.dialect == Dialect::Mysql => beyond(
            format!("`{first}` changes the server's accounts and privileges (a GRANT may even create a user)"),
            ROLES,
        ),
        "GRANT" | "REVOKE" if w.dialect == Dialect::Postgres => {
            let to = w.position(if first == "GRANT" { "TO" } else { "FROM" });
            match (w.position("ON"), to) {
                (Some(on), Some(to)) if on < to => Some(Class::Skip(PRIVILEGES)),
                _ => beyond(
                    format!("`{first}` of a role changes the server's role memberships"),
                    ROLES,
                ),
            }
        }
        "COMMENT" | "SECURITY" if w.dialect == Dialect::Postgres => {
            let on = w.position("ON")?;
            match w.key(on + 1) {
                "ROLE" => beyond("a role's comment belongs to the server", ROLES),
                "TABLESPACE" => beyond("a tablespace's comment belongs to the server", SERVER),
                "EXTENSION" if first == "COMMENT" => Some(Class::Skip(EXTENSION_COMMENT)),
                _ => None,
            }
        }
        // `SET ROLE`, `SET [SESSION|LOCAL] ROLE`, `SET SESSION AUTHORIZATION`, their `RESET`s.
        "SET" | "RESET" if w.dialect == Dialect::Postgres => {
            let at = if matches!(w.key(1), "SESSION" | "LOCAL") { 2 } else { 1 };
            matches!(w.key(at), "ROLE" | "AUTHORIZATION").then_some(Class::Skip(SESSION_USER))
        }
        _ => None,
    }
}

/// PostgreSQL's statements that act on the server, and what its dumps
/// write that a scratch database does not need.
fn postgres(w: &Words<'_>) -> Option<Class> {
    let second = w.key(1);
    match w.key(0) {
        "ALTER" if second == "SYSTEM" => {
            return beyond("`ALTER SYSTEM` changes the server's configuration", SERVER);
        }
        "ALTER" if second == "DEFAULT" && w.key(2) == "PRIVILEGES" => return Some(Class::Skip(PRIVILEGES)),
        "ALTER" if w.keys.windows(2).any(|k| k[0] == "OWNER" && k[1] == "TO") => {
            return Some(Class::Skip(OWNER));
        }
        "CREATE" | "ALTER" | "DROP" if w.key(w.object()) == "SUBSCRIPTION" => {
            return beyond("a subscription connects to another server", SERVER);
        }
        "IMPORT" => return beyond("`IMPORT FOREIGN SCHEMA` reads another server", SERVER),
        "DROP" | "REASSIGN" if second == "OWNED" => {
            return beyond(
                format!(
                    "`{} OWNED` acts on what a role owns, the server's shared objects included",
                    w.key(0)
                ),
                ROLES,
            );
        }
        "CHECKPOINT" => return beyond("`CHECKPOINT` acts on the whole server", SERVER),
        "LOAD" => return beyond("`LOAD` loads a library into the server", SERVER),
        "COPY" => return copy(w),
        "DO" => return do_block(w),
        _ => {}
    }
    rows_or_strings(w).or_else(|| server_function(w))
}

/// `COPY`: a program or a file of the server, or rows from the client.
fn copy(w: &Words<'_>) -> Option<Class> {
    let at = w.keys.iter().position(|k| k == "FROM" || k == "TO")?;
    match (w.key(at + 1), w.toks.get(at + 1).map(|t| t.kind)) {
        ("PROGRAM", _) => beyond("`COPY … PROGRAM` runs a program on the server", SERVER),
        (_, Some(Kind::Str)) => beyond("`COPY` with a file name reads or writes a file of the server", SERVER),
        _ => beyond("`COPY` copies rows, and a schema file holds no data", NO_DATA),
    }
}

/// A call of a PostgreSQL function that acts on the server or beyond it,
/// its name read as the server reads it (quoted or not, qualified or not):
/// every function of `dblink` (each connects to a database, this server's
/// others included), the server's files, and the server's processes and log.
fn server_function(w: &Words<'_>) -> Option<Class> {
    const FUNCTIONS: [&str; 12] = [
        "PG_TERMINATE_BACKEND",
        "PG_CANCEL_BACKEND",
        "PG_RELOAD_CONF",
        "PG_ROTATE_LOGFILE",
        "PG_PROMOTE",
        "PG_SWITCH_WAL",
        "PG_DROP_REPLICATION_SLOT",
        "PG_STAT_FILE",
        "PG_LOGDIR_LS",
        "LO_IMPORT",
        "LO_EXPORT",
        "PG_REPLICATION_ORIGIN_CREATE",
    ];
    const PREFIXES: [&str; 6] = ["DBLINK", "PG_FILE_", "PG_READ_", "PG_LS_", "PG_CREATE_", "PG_COPY_"];
    let at = (0..w.toks.len()).find(|&i| {
        let name = w.ident(i).unwrap_or_default().to_ascii_uppercase();
        w.key(i + 1) == "(" && (FUNCTIONS.contains(&name.as_str()) || PREFIXES.iter().any(|p| name.starts_with(p)))
    })?;
    beyond(
        format!("`{}(…)` acts on the server or beyond it", w.toks[at].text),
        SERVER,
    )
}

/// What writes rows, which the comparison does not read, and which through a
/// foreign table (PostgreSQL's `postgres_fdw`, MySQL's `FEDERATED`) would be
/// written in another database: not sent. SQL run from a string, which
/// cannot be read before it runs: refused.
fn rows_or_strings(w: &Words<'_>) -> Option<Class> {
    const WRITES: [&str; 6] = ["INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "TRUNCATE"];
    let first = w.key(0);
    // PostgreSQL's `WITH … AS (DELETE …) SELECT …` writes too.
    let writes = WRITES.contains(&first) || (first == "WITH" && w.keys.iter().any(|k| WRITES.contains(&k.as_str())));
    if writes {
        return Some(Class::Skip(ROWS));
    }
    matches!(first, "PREPARE" | "EXECUTE").then(|| {
        Class::Beyond(
            format!("`{first}` runs SQL held in a string, which cannot be read before it runs"),
            SERVER,
        )
    })
}

/// A `DO` block's body, read for the server functions it calls (what else
/// it does when it runs is not read).
fn do_block(w: &Words<'_>) -> Option<Class> {
    let body = w.toks.iter().find(|t| t.kind == Kind::Str)?;
    let text = body.text;
    // `$tag$ … $tag$` or `' … '`: the code between the quotes.
    let inner = match text.strip_prefix('$').and_then(|r| r.split_once('$')) {
        Some((tag, rest)) => rest.strip_suffix(&format!("${tag}$")).unwrap_or(rest),
        None => text.trim_matches('\''),
    };
    server_function(&Words::new(inner, Dialect::Postgres))
}

/// MySQL's statements that act on the server.
fn mysql(w: &Words<'_>) -> Option<Class> {
    let first = w.key(0);
    let second = w.key(1);
    let object = w.key(w.object());
    let whole_server = |what: &str| beyond(format!("`{what}` acts on the whole server"), SERVER);
    match first {
        "SET" => return set_global(w),
        "FLUSH" | "PURGE" | "KILL" | "SHUTDOWN" | "INSTALL" | "UNINSTALL" | "RESET" | "BINLOG" | "CHANGE" => {
            return whole_server(format!("{first} {second}").trim_end());
        }
        "START" | "STOP" if second != "TRANSACTION" => return whole_server(&format!("{first} {second}")),
        "CREATE" | "ALTER" | "DROP" if matches!(object, "SERVER" | "LOGFILE" | "INSTANCE") => {
            return whole_server(&format!("{first} {object}"));
        }
        "LOAD" => return beyond("`LOAD DATA`/`LOAD XML` reads a file", NO_DATA),
        _ => {}
    }
    let pairs = || w.keys.windows(2);
    if pairs().any(|k| k[0] == "INTO" && matches!(k[1].as_str(), "OUTFILE" | "DUMPFILE")) {
        return beyond("`INTO OUTFILE`/`INTO DUMPFILE` writes a file of the server", SERVER);
    }
    if matches!(first, "CREATE" | "ALTER")
        && pairs().any(|k| matches!(k[0].as_str(), "DATA" | "INDEX") && k[1] == "DIRECTORY")
    {
        return beyond(
            "`DATA DIRECTORY`/`INDEX DIRECTORY` puts files in a directory of the server",
            SERVER,
        );
    }
    None
}

/// MySQL's `SET GLOBAL`, `SET PERSIST`, `SET @@global.…`, and the account settings.
fn set_global(w: &Words<'_>) -> Option<Class> {
    if matches!(w.key(1), "PASSWORD") || (w.key(1) == "DEFAULT" && w.key(2) == "ROLE") {
        return beyond(format!("`SET {}` changes the server's accounts", w.key(1)), ROLES);
    }
    let global = (0..w.toks.len()).find(|&i| {
        let scope = matches!(w.key(i), "GLOBAL" | "PERSIST" | "PERSIST_ONLY");
        // `@global` is a user variable; `@@global.x` and a bare `GLOBAL x` are the server's.
        let single_at = i >= 1 && w.key(i - 1) == "@" && !(i >= 2 && w.key(i - 2) == "@");
        scope && !single_at
    })?;
    beyond(
        format!("`SET {}` changes a setting of the whole server", w.toks[global].text),
        SERVER,
    )
}

/// SQLite: other database files, and its own tables.
fn sqlite(w: &Words<'_>) -> Option<Class> {
    match w.key(0) {
        "ATTACH" | "DETACH" => beyond(
            format!("`{}` opens or closes another database file", w.key(0)),
            OTHER_DATABASE,
        ),
        "VACUUM" if w.position("INTO").is_some() => beyond("`VACUUM INTO` writes another database file", SERVER),
        "CREATE" if w.key(1) == "TABLE" => {
            let name = w.name_after(1)?.to_ascii_lowercase();
            (name == "sqlite_sequence" || name.starts_with("sqlite_stat")).then_some(Class::Skip(SQLITE_OWN))
        }
        _ => None,
    }
}

/// MySQL: a table (or routine) qualified by a database, `db.t`, or a
/// three-part name `db.t.c`, anywhere in the statement, bodies included.
fn qualified(w: &Words<'_>) -> Option<Class> {
    const TABLE_BEFORE: [&str; 18] = [
        "TABLE",
        "TABLES",
        "FROM",
        "JOIN",
        "INTO",
        "UPDATE",
        "REFERENCES",
        "VIEW",
        "TRIGGER",
        "PROCEDURE",
        "FUNCTION",
        "EVENT",
        "SEQUENCE",
        "EXISTS",
        "TRUNCATE",
        "CALL",
        "USING",
        "TO",
    ];
    const LIST_ENDS: [&str; 18] = [
        "WHERE", "ON", "SET", "VALUES", "VALUE", "SELECT", "GROUP", "ORDER", "HAVING", "LIMIT", "UNION", "WINDOW",
        "AND", "OR", "WHEN", "THEN", "BEGIN", "END",
    ];
    let mut in_list = false;
    let mut i = 0;
    while i < w.toks.len() {
        let parts = chain(w, i);
        if parts >= 2 {
            let prev = if i == 0 { "" } else { w.key(i - 1) };
            let after = w.key(i + 2 * parts - 1);
            let table = TABLE_BEFORE.contains(&prev)
                || (in_list && prev == ",")
                || (prev == "ON" && (after == "(" || after == "FOR"))
                || (prev == "LIKE" && w.key(0) == "CREATE" && i <= 7);
            let numeric = w.toks[i].text.starts_with(|c: char| c.is_ascii_digit());
            if prev != "@" && !numeric && (parts >= 3 || table) {
                let db = w.ident(i).unwrap_or_default();
                if !db.eq_ignore_ascii_case("information_schema") {
                    let shown: String = w.toks[i..i + 2 * parts - 1].iter().map(|t| t.text).collect();
                    return beyond(format!("`{shown}` names database `{db}`"), OTHER_DATABASE);
                }
            }
            i += 2 * parts - 1;
            continue;
        }
        let key = w.key(i);
        if matches!(key, "TABLE" | "TABLES" | "FROM" | "USING") {
            in_list = true;
        } else if LIST_ENDS.contains(&key) || (w.toks[i].kind == Kind::Punct && key != ",") {
            in_list = false;
        }
        i += 1;
    }
    None
}

/// How many names a dotted chain starting at token `i` has (`a.b.c`: 3;
/// a lone name: 1; not a name: 0).
fn chain(w: &Words<'_>, i: usize) -> usize {
    let is_name = |j: usize| {
        w.toks
            .get(j)
            .is_some_and(|t| matches!(t.kind, Kind::Word | Kind::Quoted))
    };
    if !is_name(i) {
        return 0;
    }
    let mut parts = 1;
    while w.key(i + 2 * parts - 1) == "." && is_name(i + 2 * parts) {
        parts += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(dialect: Dialect, sql: &str, expect: &str) {
        let got = match classify(sql, dialect) {
            Class::Run { setup: true } => "setup".to_owned(),
            Class::Run { setup: false } => "run".to_owned(),
            Class::Skip(_) => "skip".to_owned(),
            Class::Database(act, name) => format!("{act:?} {name}"),
            Class::Beyond(why, _) => format!("beyond: {why}"),
            Class::ClientCommand => "client".to_owned(),
        };
        assert!(
            got == expect || (expect.ends_with('…') && got.starts_with(expect.trim_end_matches('…'))),
            "{dialect} `{sql}`: got `{got}`, expected `{expect}`"
        );
    }

    const PG: Dialect = Dialect::Postgres;
    const MY: Dialect = Dialect::Mysql;
    const LITE: Dialect = Dialect::Sqlite;

    #[test]
    fn what_a_pg_dump_writes() {
        check(PG, "SET statement_timeout = 0", "setup");
        check(PG, "SELECT pg_catalog.set_config('search_path', '', false)", "setup");
        check(PG, "CREATE TABLE public.item (id integer NOT NULL)", "run");
        check(PG, "ALTER TABLE public.item OWNER TO postgres", "skip");
        check(PG, "ALTER FUNCTION public.f() OWNER TO \"Some Role\"", "skip");
        check(PG, "GRANT SELECT ON TABLE public.item TO PUBLIC", "skip");
        check(PG, "REVOKE ALL ON SCHEMA public FROM PUBLIC", "skip");
        check(
            PG,
            "ALTER DEFAULT PRIVILEGES FOR ROLE app IN SCHEMA public GRANT SELECT ON TABLES TO reader",
            "skip",
        );
        check(PG, "COMMENT ON EXTENSION pgcrypto IS 'cryptographic functions'", "skip");
        check(PG, "SET SESSION AUTHORIZATION 'postgres'", "skip");
        check(PG, "SET ROLE app", "skip");
        check(PG, "CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public", "run");
        check(PG, "COMMENT ON TABLE public.item IS 'x'", "run");
        check(
            PG,
            "CREATE DATABASE shop WITH TEMPLATE = template0 ENCODING = 'UTF8'",
            "Create shop",
        );
        check(PG, "ALTER DATABASE shop OWNER TO postgres", "Alter shop");
        check(PG, "COMMENT ON DATABASE \"Shop\" IS 'x'", "Alter Shop");
        check(PG, "DROP DATABASE IF EXISTS Other", "Drop other");
        check(PG, "CREATE USER MAPPING FOR app SERVER s", "run");
    }

    #[test]
    fn pg_statements_beyond_the_database() {
        check(
            PG,
            "CREATE ROLE app LOGIN",
            "beyond: `CREATE ROLE` changes the server's roles",
        );
        check(PG, "ALTER USER app PASSWORD 'x'", "beyond: `ALTER USER`…");
        check(PG, "DROP GROUP g", "beyond: `DROP GROUP`…");
        check(PG, "GRANT admin TO app", "beyond: `GRANT` of a role…");
        check(PG, "ALTER SYSTEM SET work_mem = '1GB'", "beyond: `ALTER SYSTEM`…");
        check(PG, "CREATE TABLESPACE t LOCATION '/tmp'", "beyond: a tablespace…");
        check(PG, "COPY item TO PROGRAM 'rm -rf /'", "beyond: `COPY … PROGRAM`…");
        check(PG, "COPY item FROM '/etc/passwd'", "beyond: `COPY` with a file name…");
        check(PG, "COPY public.item (id) FROM stdin", "beyond: `COPY` copies rows…");
        check(PG, "SELECT pg_catalog.pg_reload_conf()", "beyond: `pg_reload_conf(…)`…");
        check(PG, "DROP OWNED BY app", "beyond: `DROP OWNED`…");
        check(
            PG,
            "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p",
            "beyond: a subscription…",
        );
        check(PG, "COMMENT ON ROLE app IS 'x'", "beyond: a role's comment…");
        check(PG, "LOAD 'auto_explain'", "beyond: `LOAD`…");
        // Quoted, commented and dollar-quoted text is not a statement.
        check(PG, "SELECT 'CREATE ROLE x'", "setup");
        check(
            PG,
            "CREATE FUNCTION f() RETURNS void AS $$ ALTER SYSTEM SET a = 1 $$ LANGUAGE sql",
            "run",
        );
        check(PG, "CREATE TABLE \"role\" (\"user\" int)", "run");
    }

    /// What reaches another database of the server by a way the list of
    /// statements above does not name: `dblink`'s functions however they are
    /// written, SQL in a string; rows (which through a foreign table would be
    /// written elsewhere) are not sent.
    #[test]
    fn pg_other_ways_to_another_database() {
        for call in [
            "SELECT \"dblink_exec\"('dbname=app', 'DROP TABLE t')",
            "SELECT public.dblink_exec('dbname=app', 'DROP TABLE t')",
            "SELECT DBLINK_CONNECT_U('c', 'dbname=app')",
            "SELECT dblink_send_query('c', 'DELETE FROM t')",
            "SELECT * FROM dblink('dbname=app', 'SELECT 1') AS t(x int)",
            "SELECT pg_catalog.pg_ls_dir('.')",
            "SELECT pg_create_physical_replication_slot('s')",
        ] {
            check(PG, call, "beyond: `…");
        }
        check(
            PG,
            "DO $body$ BEGIN PERFORM \"dblink_exec\"('dbname=app', 'DROP TABLE t'); END $body$",
            "beyond: `\"dblink_exec\"(…)`…",
        );
        check(PG, "DO $$ BEGIN CREATE TYPE mood AS ENUM ('ok'); END $$", "run");
        check(PG, "DELETE FROM remote_tag", "skip");
        check(PG, "INSERT INTO item VALUES (1)", "skip");
        check(PG, "TRUNCATE remote_tag", "skip");
        check(
            PG,
            "WITH gone AS (DELETE FROM remote_tag RETURNING 1) SELECT count(*) FROM gone",
            "skip",
        );
        check(PG, "PREPARE p AS DELETE FROM remote_tag", "beyond: `PREPARE` runs SQL…");
        check(PG, "EXECUTE p", "beyond: `EXECUTE` runs SQL…");
        // pg_dump's own statements stay as they were.
        check(PG, "SELECT pg_catalog.setval('public.item_id_seq', 1, false)", "setup");
        check(
            PG,
            "CREATE SERVER other FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname 'app')",
            "run",
        );
        check(
            PG,
            "CREATE FOREIGN TABLE remote_tag (id int) SERVER other OPTIONS (table_name 'tag')",
            "run",
        );
        check(
            PG,
            "CREATE TRIGGER t AFTER INSERT ON item FOR EACH ROW EXECUTE FUNCTION f()",
            "run",
        );
    }

    #[test]
    fn what_mysqldump_writes() {
        check(
            MY,
            "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */",
            "setup",
        );
        check(
            MY,
            "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop` /*!40100 DEFAULT CHARACTER SET utf8mb4 */",
            "Create shop",
        );
        check(MY, "USE `shop`", "Use shop");
        check(MY, "DROP TABLE IF EXISTS `item`", "run");
        check(MY, "/*!40000 DROP DATABASE IF EXISTS `shop`*/", "Drop shop");
        check(MY, "LOCK TABLES `item` WRITE", "run");
        check(MY, "UNLOCK TABLES", "run");
        check(
            MY,
            "/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`127.0.0.1` SQL SECURITY DEFINER */\n/*!50001 VIEW `v` AS select `item`.`id` AS `id` from `item` */",
            "run",
        );
        check(
            MY,
            "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER t BEFORE INSERT ON item FOR EACH ROW BEGIN SET NEW.n = 1; END */",
            "run",
        );
        check(MY, "/*M!999999\\- enable the sandbox mode */", "setup");
        check(MY, "ALTER DATABASE CHARACTER SET utf8mb4", "run");
        check(MY, "ALTER DATABASE shop CHARACTER SET utf8mb4", "Alter shop");
        check(
            MY,
            "CREATE DEFINER=root@10.0.0.1 PROCEDURE p() BEGIN SELECT 1.5; END",
            "run",
        );
        check(MY, "SET @global = 1", "setup");
    }

    #[test]
    fn mysql_statements_beyond_the_database() {
        check(
            MY,
            "DROP TABLE IF EXISTS prod.item",
            "beyond: `prod.item` names database `prod`",
        );
        check(
            MY,
            "DROP TABLE a, `prod`.`b`",
            "beyond: ``prod`.`b`` names database `prod`",
        );
        check(MY, "INSERT INTO prod.log VALUES (1)", "beyond: `prod.log`…");
        check(
            MY,
            "CREATE TABLE t (a INT, FOREIGN KEY (a) REFERENCES prod.p (id))",
            "beyond: `prod.p`…",
        );
        check(MY, "CREATE INDEX i ON prod.t (a)", "beyond: `prod.t`…");
        check(MY, "CREATE VIEW v AS SELECT a.x FROM t a JOIN u b ON a.x = b.y", "run");
        check(MY, "CREATE VIEW v AS SELECT prod.t.x FROM t", "beyond: `prod.t.x`…");
        check(MY, "SELECT * FROM information_schema.tables", "setup");
        check(MY, "SET GLOBAL max_connections = 1", "beyond: `SET GLOBAL`…");
        check(MY, "SET @@global.sql_mode = ''", "beyond: `SET global`…");
        check(MY, "/*!40101 SET PERSIST x = 1 */", "beyond: `SET PERSIST`…");
        check(MY, "CREATE USER 'app'@'%'", "beyond: `CREATE USER`…");
        check(MY, "CREATE OR REPLACE ROLE r", "beyond: `CREATE ROLE`…");
        check(MY, "GRANT SELECT ON shop.* TO 'app'@'%'", "beyond: `GRANT`…");
        check(MY, "RENAME USER a TO b", "beyond: `RENAME USER`…");
        check(
            MY,
            "LOAD DATA INFILE '/etc/passwd' INTO TABLE t",
            "beyond: `LOAD DATA`…",
        );
        check(MY, "SELECT * FROM t INTO OUTFILE '/tmp/x'", "beyond: `INTO OUTFILE`…");
        check(MY, "FLUSH PRIVILEGES", "beyond: `FLUSH PRIVILEGES`…");
        check(MY, "CREATE TABLESPACE ts ADD DATAFILE 'x.ibd'", "beyond: a tablespace…");
        check(MY, "USE prod", "Use prod");
        check(MY, "CREATE SCHEMA other", "Create other");
        check(
            MY,
            "CREATE TABLE t (id INT) DATA DIRECTORY = '/tmp'",
            "beyond: `DATA DIRECTORY`…",
        );
        check(MY, "START TRANSACTION", "run");
        check(
            MY,
            "EXECUTE IMMEDIATE CONCAT('CREATE TABLE pr', 'od.t (x int)')",
            "beyond: `EXECUTE` runs SQL…",
        );
        check(MY, "PREPARE s FROM 'DROP TABLE t'", "beyond: `PREPARE` runs SQL…");
        check(MY, "DELETE FROM federated_tag", "skip");
        check(MY, "REPLACE INTO t VALUES (1)", "skip");
    }

    #[test]
    fn sqlite() {
        check(LITE, "CREATE TABLE sqlite_sequence(name,seq)", "skip");
        check(LITE, "CREATE TABLE sqlite_stat1(tbl,idx,stat)", "skip");
        check(LITE, "CREATE TABLE item (id INTEGER PRIMARY KEY)", "run");
        check(LITE, "ATTACH DATABASE 'other.db' AS other", "beyond: `ATTACH`…");
        check(LITE, "DETACH other", "beyond: `DETACH`…");
        check(LITE, "VACUUM INTO '/tmp/copy.db'", "beyond: `VACUUM INTO`…");
    }

    #[test]
    fn a_client_command_inside_a_statement() {
        check(PG, "SELECT 1 \\gexec", "client");
        check(PG, "SELECT E'\\\\'", "setup");
    }
}
