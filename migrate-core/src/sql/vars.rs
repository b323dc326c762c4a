//! Declared variables: `-- migrate:var NAME` in a header, `${NAME}` in the
//! body, found on the [`lex`](super::lex) tokens and replaced by a value.
//!
//! A `${NAME}` is a use in plain SQL text, inside a `'…'` string and inside
//! a quoted identifier (`"…"`, `` `…` ``, `[…]`); never inside a comment
//! (`--`, `#`, `/* … */`) and never inside a PostgreSQL dollar-quoted body
//! (`$$ … $$`, `$tag$ … $tag$`), where PL/pgSQL's own `${…}` stays as
//! written. A value is inserted as written, except that inside a string
//! its `'` is doubled (and its `\` too where the string takes backslash
//! escapes: MySQL's strings, PostgreSQL's `E'…'`), and inside a quoted
//! identifier its closing quote is doubled, so a value never ends the
//! quote it stands in.
//!
//! The file format names no database, so the build checks the uses every
//! reading finds ([`undeclared`]); the runtime substitutes with the one
//! dialect it speaks ([`substitute`]), and only the names it has values for.

use super::lex::{Kind, tokens};
use crate::Dialect;
use std::borrow::Cow;

/// A variable a revision's header declares: `-- migrate:var NAME`,
/// `-- migrate:var NAME = default`, `-- migrate:var secret NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Variable {
    name: Cow<'static, str>,
    default: Option<Cow<'static, str>>,
    secret: bool,
}

impl Variable {
    /// A variable `name`, with its default value if it has one; `secret`
    /// when its value must never be printed or stored.
    pub fn new(name: impl Into<String>, default: Option<String>, secret: bool) -> Variable {
        Variable {
            name: Cow::Owned(name.into()),
            default: default.map(Cow::Owned),
            secret,
        }
    }

    /// Used by `embed_migrations!`; not public API.
    #[doc(hidden)]
    pub const fn __embedded(name: &'static str, default: Option<&'static str>, secret: bool) -> Variable {
        Variable {
            name: Cow::Borrowed(name),
            default: match default {
                Some(d) => Some(Cow::Borrowed(d)),
                None => None,
            },
            secret,
        }
    }

    /// Its name, as `${NAME}` uses it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value used when no other source gives one.
    pub fn default(&self) -> Option<&str> {
        self.default.as_deref()
    }

    /// Whether its value is never printed, logged or stored.
    pub fn secret(&self) -> bool {
        self.secret
    }
}

/// How a declaration is written, for the help of a wrong one.
pub const DECLARATION_HELP: &str = "declare a variable as `-- migrate:var NAME`, `-- migrate:var NAME = default` or `-- migrate:var secret NAME` (a name is a letter or `_`, then letters, digits and `_`), and use it in the body as `${NAME}`";

/// Whether `name` is a variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The declaration `text`, what follows `-- migrate:var`: `[secret] NAME [= default]`.
pub fn declaration(text: &str) -> Result<Variable, String> {
    let (head, default) = match text.split_once('=') {
        Some((head, default)) => (head, Some(default.trim().to_owned())),
        None => (text, None),
    };
    let words: Vec<&str> = head.split_whitespace().collect();
    let (secret, name) = match words.as_slice() {
        [name] => (false, *name),
        ["secret", name] => (true, *name),
        [] => return Err("`-- migrate:var` names no variable".to_owned()),
        _ => return Err(format!("`-- migrate:var {}` is not a declaration", text.trim())),
    };
    if !is_name(name) {
        return Err(format!("`{name}` is not a variable name"));
    }
    Ok(Variable::new(name, default, secret))
}

/// What a use of a variable stands in, which says how its value is escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    /// Plain SQL text (and MySQL's executable comments): as written.
    Code,
    /// A string quoted by `quote` (`'`, or MySQL's `"`): that quote
    /// doubled, and `\` where `backslash`.
    Str { quote: u8, backslash: bool },
    /// A quoted identifier closed by this byte: that byte doubled.
    Quoted(u8),
}

/// One `${NAME}` of a text: the name, its byte range and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use<'s> {
    /// The variable's name.
    pub name: &'s str,
    /// The byte of its `$`.
    pub start: usize,
    /// One past its `}`.
    pub end: usize,
    context: Context,
}

/// The uses of variables in `sql`, as `dialect` reads its quotes and comments.
pub fn uses(sql: &str, dialect: Dialect) -> Vec<Use<'_>> {
    let mut found = Vec::new();
    let mut code: Option<(usize, usize)> = None;
    for t in tokens(sql, dialect) {
        let text = t.text(sql);
        let context = match t.kind {
            Kind::Comment => None,
            Kind::Str if text.starts_with('$') => None,
            Kind::Str => Some(Context::Str {
                quote: if text.starts_with('"') { b'"' } else { b'\'' },
                backslash: dialect == Dialect::Mysql || text.starts_with(['E', 'e']),
            }),
            Kind::Quoted => Some(Context::Quoted(match text.as_bytes()[0] {
                b'[' => b']',
                b => b,
            })),
            Kind::Word | Kind::Punct | Kind::Space | Kind::Executable => {
                code = Some(code.map_or((t.start, t.end), |(from, _)| (from, t.end)));
                continue;
            }
        };
        if let Some((from, to)) = code.take() {
            scan(sql, (from, to), Context::Code, &mut found);
        }
        if let Some(context) = context {
            scan(sql, (t.start, t.end), context, &mut found);
        }
    }
    if let Some((from, to)) = code {
        scan(sql, (from, to), Context::Code, &mut found);
    }
    found
}

/// The `${NAME}`s of `sql[from..to]`, standing in `context`.
fn scan<'s>(sql: &'s str, (from, to): (usize, usize), context: Context, found: &mut Vec<Use<'s>>) {
    let text = &sql[from..to];
    let mut at = 0;
    while let Some(k) = text[at..].find("${") {
        let start = at + k;
        let rest = &text[start + 2..];
        let len = rest
            .bytes()
            .position(|b| !(b.is_ascii_alphanumeric() || b == b'_'))
            .unwrap_or(rest.len());
        let name = &rest[..len];
        if rest[len..].starts_with('}') && is_name(name) {
            let end = start + 2 + len + 1;
            found.push(Use {
                name: &sql[from + start + 2..from + start + 2 + len],
                start: from + start,
                end: from + end,
                context,
            });
            at = end;
        } else {
            at = start + 2;
        }
    }
}

/// The uses of `sql` every dialect's reading finds whose name is not in
/// `declared`, each with its 1-based line in `sql`: what the build refuses.
pub fn undeclared<'s>(sql: &'s str, declared: &[&str]) -> Vec<(&'s str, usize)> {
    let place = |u: &Use<'s>| (u.name, u.start);
    let mut found: Vec<(&str, usize)> = uses(sql, Dialect::Sqlite).iter().map(place).collect();
    for dialect in [Dialect::Postgres, Dialect::Mysql] {
        let here: Vec<(&str, usize)> = uses(sql, dialect).iter().map(place).collect();
        found.retain(|f| here.contains(f));
    }
    found
        .into_iter()
        .filter(|(name, _)| !declared.contains(name))
        .map(|(name, start)| (name, 1 + super::newlines(&sql[..start])))
        .collect()
}

/// `value` escaped for where it stands.
fn escaped(value: &str, context: Context) -> Cow<'_, str> {
    match context {
        Context::Code => Cow::Borrowed(value),
        Context::Str { quote, backslash } => {
            let quote = char::from(quote);
            let doubled = value.replace(quote, &format!("{quote}{quote}"));
            Cow::Owned(if backslash {
                doubled.replace('\\', "\\\\")
            } else {
                doubled
            })
        }
        Context::Quoted(close) => {
            let close = char::from(close);
            Cow::Owned(value.replace(close, &format!("{close}{close}")))
        }
    }
}

/// `sql` with each use of a variable `value` gives a value replaced by it,
/// escaped for where it stands; every other `${…}` stays as written.
pub fn substitute(sql: &str, dialect: Dialect, value: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut at = 0;
    for u in uses(sql, dialect) {
        if let Some(v) = value(u.name) {
            out.push_str(&sql[at..u.start]);
            out.push_str(&escaped(&v, u.context));
            at = u.end;
        }
    }
    out.push_str(&sql[at..]);
    out
}

/// `text` with each secret value (`(name, value)`) that appears in it,
/// as written or as a string escapes it, replaced by `${NAME}`: for log
/// lines and a database's error messages.
pub fn redact(text: &str, secrets: &[(String, String)]) -> String {
    let mut out = text.to_owned();
    for (name, value) in secrets.iter().filter(|(_, v)| !v.is_empty()) {
        let placeholder = format!("${{{name}}}");
        for form in [
            value.replace('\'', "''").replace('\\', "\\\\"),
            value.replace('\'', "''"),
            value.clone(),
        ] {
            if !form.is_empty() {
                out = out.replace(&form, &placeholder);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql];

    fn values(name: &str) -> Option<String> {
        match name {
            "app_user" => Some("app".into()),
            "pw" => Some("it's".into()),
            "schema" => Some("s\"x".into()),
            _ => None,
        }
    }

    fn check(dialect: Dialect, sql: &str, expect: &str) {
        assert_eq!(substitute(sql, dialect, &values), expect, "{dialect}: {sql}");
    }

    #[test]
    fn declarations() {
        assert_eq!(declaration(" app_user"), Ok(Variable::new("app_user", None, false)));
        assert_eq!(
            declaration("pw = x = y "),
            Ok(Variable::new("pw", Some("x = y".into()), false))
        );
        assert_eq!(declaration("secret pw"), Ok(Variable::new("pw", None, true)));
        assert_eq!(
            declaration("secret pw ="),
            Ok(Variable::new("pw", Some(String::new()), true))
        );
        assert_eq!(declaration("secret"), Ok(Variable::new("secret", None, false)));
        for bad in ["", "1x", "a b c", "a-b", "public pw"] {
            assert!(declaration(bad).is_err(), "{bad}");
        }
        assert!(is_name("_a1") && !is_name("") && !is_name("é"));
    }

    #[test]
    fn plain_text_and_strings() {
        for d in ALL {
            check(
                d,
                "GRANT SELECT ON t TO ${app_user};\nCREATE USER u PASSWORD '${pw}';",
                "GRANT SELECT ON t TO app;\nCREATE USER u PASSWORD 'it''s';",
            );
            check(
                d,
                "x${app_user}y ${unknown} ${ not} $app_user",
                "xappy ${unknown} ${ not} $app_user",
            );
        }
        check(
            Dialect::Postgres,
            "CREATE SCHEMA \"${schema}\"",
            "CREATE SCHEMA \"s\"\"x\"",
        );
        check(Dialect::Mysql, "SELECT '${pw}\\\\'", "SELECT 'it''s\\\\'");
        // MySQL's `"…"` is a string: its own quote doubled, a `'` left as it is.
        check(Dialect::Mysql, "SELECT \"${pw}\"", "SELECT \"it's\"");
        let quoted = |name: &str| (name == "v").then(|| "say \"hi\"".to_owned());
        assert_eq!(
            substitute("SELECT \"${v}\"", Dialect::Mysql, &quoted),
            "SELECT \"say \"\"hi\"\"\""
        );
        let back = |name: &str| (name == "v").then(|| "a\\".to_owned());
        assert_eq!(substitute("SELECT '${v}'", Dialect::Mysql, &back), "SELECT 'a\\\\'");
        assert_eq!(substitute("SELECT '${v}'", Dialect::Postgres, &back), "SELECT 'a\\'");
        assert_eq!(
            substitute("SELECT E'${v}'", Dialect::Postgres, &back),
            "SELECT E'a\\\\'"
        );
    }

    #[test]
    fn comments_and_dollar_quotes_are_left_alone() {
        for d in ALL {
            check(
                d,
                "-- ${app_user}\n/* ${app_user} */ SELECT 1",
                "-- ${app_user}\n/* ${app_user} */ SELECT 1",
            );
        }
        check(Dialect::Mysql, "# ${app_user}\nSELECT 1", "# ${app_user}\nSELECT 1");
        let body = "CREATE FUNCTION f() RETURNS text AS $$ SELECT '${app_user}' $$ LANGUAGE sql;\nDO $x$ BEGIN RAISE NOTICE '${app_user}'; END $x$;";
        check(Dialect::Postgres, body, body);
        check(
            Dialect::Postgres,
            "GRANT USAGE ON SCHEMA s TO ${app_user}; SELECT $$ ${app_user} $$",
            "GRANT USAGE ON SCHEMA s TO app; SELECT $$ ${app_user} $$",
        );
    }

    #[test]
    fn undeclared_uses() {
        let sql = "SELECT ${a};\n-- ${b}\nSELECT '${c}', $$ ${d} $$;\nSELECT ${e}";
        // `${d}` sits in a dollar quote for PostgreSQL, so not every reading substitutes it.
        assert_eq!(undeclared(sql, &["a"]), vec![("c", 3), ("e", 4)]);
        assert_eq!(undeclared(sql, &["a", "c", "e"]), vec![]);
    }

    #[test]
    fn redaction() {
        let secrets = vec![("pw".to_owned(), "it's".to_owned())];
        assert_eq!(
            redact("password 'it''s' rejected; it's", &secrets),
            "password '${pw}' rejected; ${pw}"
        );
        assert_eq!(redact("nothing", &[("e".into(), String::new())]), "nothing");
    }
}
