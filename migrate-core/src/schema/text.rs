//! Small readings of SQL text: the tokens of a statement, a definition
//! normalised for comparison, SQLite's stored `CREATE TABLE` taken apart.

use crate::sql::lex::Syntax;
pub(crate) use crate::sql::lex::{Kind, Token};

/// The tokens of `sql`, read the way any dialect could have written it
/// (the catalogs' definitions do not say which): the one lexer's
/// [`Syntax::LENIENT`] reading. An unterminated quote or comment runs to the end.
pub(crate) fn tokens(sql: &str) -> Vec<Token> {
    Syntax::LENIENT.tokens(sql).collect()
}

/// An identifier token's name: unquoted, quotes undoubled.
pub(crate) fn unquote(token: &str) -> String {
    let b = token.as_bytes();
    match (b.first(), b.last()) {
        (Some(b'"'), Some(b'"')) if b.len() >= 2 => token[1..token.len() - 1].replace("\"\"", "\""),
        (Some(b'`'), Some(b'`')) if b.len() >= 2 => token[1..token.len() - 1].replace("``", "`"),
        (Some(b'['), Some(b']')) if b.len() >= 2 => token[1..token.len() - 1].to_owned(),
        _ => token.to_owned(),
    }
}

/// The type of each item of a comma-separated list of typed names as
/// PostgreSQL prints them (a function's arguments, `name type` or `type`; a
/// `RETURNS TABLE`'s columns): each item's last word outside parentheses,
/// unquoted (`p public.person[]` gives `person`, `numeric(10,2)` gives
/// `numeric`), never a name; and whether it was written plainly (neither
/// quoted nor qualified with a schema).
pub(crate) fn type_names(list: &str) -> Vec<(String, bool)> {
    let mut names = Vec::new();
    let (mut depth, mut last, mut dotted) = (0usize, None, false);
    for t in tokens(list) {
        let text = &list[t.start..t.end];
        match (t.kind, text) {
            (Kind::Punct, "(") => depth += 1,
            (Kind::Punct, ")") => depth = depth.saturating_sub(1),
            (Kind::Punct, ",") if depth == 0 => names.extend(last.take()),
            (Kind::Punct, ".") if depth == 0 => dotted = true,
            // An array's `[]`, which a lenient reading takes for a bracket-quoted name.
            (Kind::Quoted, _) if text.starts_with('[') => {}
            (Kind::Word | Kind::Quoted, _) if depth == 0 => {
                last = Some((unquote(text), t.kind == Kind::Word && !dotted));
                dotted = false;
            }
            _ => {}
        }
    }
    names.extend(last);
    names
}

/// Whether `name` reads the same quoted or not: a lower-case word.
fn plain(name: &str) -> bool {
    name.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `sql` as compared: comments dropped, runs of white space made one space
/// and none next to punctuation, words outside quotes in lower case, a
/// trailing `;` dropped.
pub fn normalize(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut pending_space = false;
    for t in tokens(sql) {
        let text = &sql[t.start..t.end];
        match t.kind {
            k if k.is_blank() => pending_space = true,
            _ => {
                let punct = t.kind == Kind::Punct;
                let after_punct = out.ends_with(['(', ')', ',', '.', ';', '=', '<', '>', '+', '-', '*', '/', '|', ':']);
                if pending_space && !out.is_empty() && !punct && !after_punct {
                    out.push(' ');
                }
                pending_space = false;
                if t.kind == Kind::Word {
                    out.push_str(&text.to_ascii_lowercase());
                } else if t.kind == Kind::Quoted && plain(&unquote(text)) {
                    // `"account"` and `account` name the same table everywhere.
                    out.push_str(&unquote(text));
                } else {
                    out.push_str(text);
                }
            }
        }
    }
    while out.ends_with(';') {
        out.pop();
    }
    out
}

/// `definition` with the first token naming `name` (quoted or not) removed,
/// and `IF NOT EXISTS` dropped: what an index is compared by.
pub(crate) fn without_name(definition: &str, name: &str) -> String {
    let toks = tokens(definition);
    let mut out = String::new();
    let mut removed = false;
    let mut last = 0;
    let mut skip_until = 0;
    for (i, t) in toks.iter().enumerate() {
        if t.start < skip_until {
            continue;
        }
        let text = &definition[t.start..t.end];
        if t.kind == Kind::Word && text.eq_ignore_ascii_case("if") {
            let words: Vec<&Token> = toks[i..].iter().filter(|t| !t.kind.is_blank()).take(3).collect();
            if words.len() == 3
                && definition[words[1].start..words[1].end].eq_ignore_ascii_case("not")
                && definition[words[2].start..words[2].end].eq_ignore_ascii_case("exists")
            {
                out.push_str(&definition[last..t.start]);
                last = words[2].end;
                skip_until = words[2].end;
                continue;
            }
        }
        if !removed && matches!(t.kind, Kind::Word | Kind::Quoted) && unquote(text) == name {
            out.push_str(&definition[last..t.start]);
            last = t.end;
            removed = true;
        }
    }
    out.push_str(&definition[last..]);
    out
}

/// `sql` with every identifier token naming `from` (quoted or not) made `to`,
/// keeping its quoting.
pub(crate) fn replace_ident(sql: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut last = 0;
    for t in tokens(sql) {
        let text = &sql[t.start..t.end];
        if matches!(t.kind, Kind::Word | Kind::Quoted) && unquote(text) == from {
            out.push_str(&sql[last..t.start]);
            if t.kind == Kind::Quoted {
                let q = &text[..1];
                let close = if q == "[" { "]" } else { q };
                out.push_str(q);
                out.push_str(to);
                out.push_str(close);
            } else {
                out.push_str(to);
            }
            last = t.end;
        }
    }
    out.push_str(&sql[last..]);
    out
}

/// Whether `sql` names `name` as an identifier anywhere (a view or trigger reading a table).
pub fn mentions(sql: &str, name: &str) -> bool {
    tokens(sql).iter().any(|t| {
        matches!(t.kind, Kind::Word | Kind::Quoted) && unquote(&sql[t.start..t.end]).eq_ignore_ascii_case(name)
    })
}

/// A SQLite generated column's clause, from its definition: `GENERATED
/// ALWAYS AS (expr) STORED` or `VIRTUAL`, the expression normalised.
pub fn generated_clause(item: &str) -> Option<String> {
    let toks: Vec<Token> = tokens(item).into_iter().filter(|t| !t.kind.is_blank()).collect();
    let word = |t: &Token| item[t.start..t.end].to_ascii_lowercase();
    let at = toks
        .iter()
        .enumerate()
        .position(|(i, t)| word(t) == "as" && toks.get(i + 1).is_some_and(|n| &item[n.start..n.end] == "("))?;
    let open = toks[at + 1];
    let mut depth = 0usize;
    for (j, t) in toks.iter().enumerate().skip(at + 1) {
        match &item[t.start..t.end] {
            "(" if t.kind == Kind::Punct => depth += 1,
            ")" if t.kind == Kind::Punct => {
                depth -= 1;
                if depth == 0 {
                    let stored = toks.get(j + 1).is_some_and(|n| word(n) == "stored");
                    let how = if stored { "STORED" } else { "VIRTUAL" };
                    return Some(format!(
                        "GENERATED ALWAYS AS ({}) {how}",
                        normalize(&item[open.end..t.start])
                    ));
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether `sql` has the word `word` outside quotes and comments.
pub fn has_word(sql: &str, word: &str) -> bool {
    tokens(sql)
        .iter()
        .any(|t| t.kind == Kind::Word && sql[t.start..t.end].eq_ignore_ascii_case(word))
}

/// Words that must be quoted as identifiers in some dialect.
pub(crate) fn is_reserved(word: &str) -> bool {
    const RESERVED: &[&str] = &[
        "all",
        "alter",
        "and",
        "any",
        "as",
        "asc",
        "between",
        "by",
        "case",
        "check",
        "column",
        "constraint",
        "create",
        "cross",
        "current_date",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "delete",
        "desc",
        "distinct",
        "drop",
        "else",
        "end",
        "except",
        "exists",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "full",
        "grant",
        "group",
        "having",
        "in",
        "index",
        "inner",
        "insert",
        "intersect",
        "into",
        "is",
        "join",
        "key",
        "left",
        "like",
        "limit",
        "natural",
        "not",
        "null",
        "offset",
        "on",
        "or",
        "order",
        "outer",
        "primary",
        "references",
        "right",
        "select",
        "set",
        "table",
        "then",
        "to",
        "true",
        "union",
        "unique",
        "update",
        "user",
        "using",
        "values",
        "when",
        "where",
        "window",
        "with",
    ];
    RESERVED.contains(&word)
}

/// A stored SQLite `CREATE TABLE` statement taken apart: the text up to and
/// including `(`, the top-level comma-separated items, and the text from `)` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableText {
    /// Up to and including the opening parenthesis.
    pub head: String,
    /// Column definitions and table constraints, trimmed.
    pub items: Vec<String>,
    /// From the closing parenthesis on (`) STRICT`, `) WITHOUT ROWID`).
    pub tail: String,
}

/// Takes a `CREATE TABLE name (…)` statement apart; `None` for `CREATE TABLE … AS SELECT`.
pub fn table_text(sql: &str) -> Option<TableText> {
    let toks = tokens(sql);
    let open = toks
        .iter()
        .position(|t| t.kind == Kind::Punct && &sql[t.start..t.end] == "(")?;
    let mut depth = 0usize;
    let mut items = Vec::new();
    let mut item_start = toks[open].end;
    for t in &toks[open..] {
        if t.kind != Kind::Punct {
            continue;
        }
        match &sql[t.start..t.end] {
            "(" => depth += 1,
            ")" => {
                depth -= 1;
                if depth == 0 {
                    items.push(sql[item_start..t.start].trim().to_owned());
                    return Some(TableText {
                        head: sql[..toks[open].end].to_owned(),
                        items: items.into_iter().filter(|i| !i.is_empty()).collect(),
                        tail: sql[t.start..].to_owned(),
                    });
                }
            }
            "," if depth == 1 => {
                items.push(sql[item_start..t.start].trim().to_owned());
                item_start = t.end;
            }
            _ => {}
        }
    }
    None
}

/// The first word of an item, lower-cased, and its identifier reading.
fn first_word(item: &str) -> Option<(String, String)> {
    let t = tokens(item).into_iter().find(|t| !t.kind.is_blank())?;
    let text = &item[t.start..t.end];
    Some((text.to_ascii_lowercase(), unquote(text)))
}

/// Whether a table item is a table constraint rather than a column.
pub fn is_table_constraint(item: &str) -> bool {
    first_word(item)
        .is_some_and(|(w, _)| matches!(w.as_str(), "constraint" | "primary" | "unique" | "check" | "foreign"))
}

/// The column a table item defines.
pub fn column_name(item: &str) -> Option<String> {
    if is_table_constraint(item) {
        return None;
    }
    first_word(item).map(|(_, name)| name)
}

/// The expressions of every `CHECK (…)` in `item`, normalised.
pub fn checks(item: &str) -> Vec<String> {
    let toks: Vec<Token> = tokens(item).into_iter().filter(|t| !t.kind.is_blank()).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        if t.kind == Kind::Word
            && item[t.start..t.end].eq_ignore_ascii_case("check")
            && toks.get(i + 1).is_some_and(|n| &item[n.start..n.end] == "(")
        {
            let mut depth = 0usize;
            let open = toks[i + 1];
            for (j, n) in toks.iter().enumerate().skip(i + 1) {
                match &item[n.start..n.end] {
                    "(" if n.kind == Kind::Punct => depth += 1,
                    ")" if n.kind == Kind::Punct => {
                        depth -= 1;
                        if depth == 0 {
                            out.push(normalize(&item[open.end..n.start]));
                            i = j;
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        i += 1;
    }
    out
}

/// The name a `CONSTRAINT name …` item or column clause gives its first constraint.
pub fn constraint_name(item: &str) -> Option<String> {
    let toks: Vec<Token> = tokens(item).into_iter().filter(|t| !t.kind.is_blank()).collect();
    let at = toks
        .iter()
        .position(|t| t.kind == Kind::Word && item[t.start..t.end].eq_ignore_ascii_case("constraint"))?;
    toks.get(at + 1).map(|t| unquote(&item[t.start..t.end]))
}

/// `sql` (a `CREATE TABLE` statement) creating `new_name` instead: the
/// table's name token replaced.
pub fn rename_create_table(sql: &str, quoted: &str) -> Option<String> {
    let toks: Vec<Token> = tokens(sql).into_iter().filter(|t| !t.kind.is_blank()).collect();
    let mut i = 0;
    let word = |t: &Token| sql[t.start..t.end].to_ascii_lowercase();
    while i < toks.len() && word(&toks[i]) != "table" {
        i += 1;
    }
    i += 1;
    if toks.get(i).map(word).as_deref() == Some("if") {
        i += 3;
    }
    let name = toks.get(i)?;
    // A schema-qualified name: `main.t`.
    let name = if toks.get(i + 1).is_some_and(|t| &sql[t.start..t.end] == ".") {
        toks.get(i + 2)?
    } else {
        name
    };
    Some(format!("{}{}{}", &sql[..name.start], quoted, &sql[name.end..]))
}

/// A [`normalize`]d PostgreSQL check with each `ANY ((ARRAY[e1, e2])::t[])`
/// written as `ANY (ARRAY[(e1)::t, (e2)::t])`: the same array, cast whole or
/// element by element, as PostgreSQL prints an `IN (…)` list as written and
/// once its own printing of it has run again.
pub(crate) fn array_casts_per_element(normalized: &str) -> String {
    const OPEN: &str = "any((array[";
    if !normalized.contains(OPEN) {
        return normalized.to_owned();
    }
    let mut out = String::with_capacity(normalized.len());
    let mut rest = normalized;
    while let Some(at) = rest.find(OPEN) {
        out.push_str(&rest[..at]);
        let body = &rest[at + OPEN.len()..];
        match cast_array(body) {
            Some((elements, ty, used)) => {
                let cast: Vec<String> = elements.iter().map(|e| format!("({})::{ty}", e.trim())).collect();
                out.push_str(&format!("any(array[{}])", cast.join(", ")));
                rest = &body[used..];
            }
            None => {
                out.push_str(OPEN);
                rest = body;
            }
        }
    }
    out.push_str(rest);
    // Spelt as `normalize` spells the per-element form.
    normalize(&out)
}

/// `e1,e2])::t[])` at the start of `body`: the elements, `t`, and the length read.
fn cast_array(body: &str) -> Option<(Vec<&str>, &str, usize)> {
    let (mut depth, mut quoted, mut start) = (0usize, false, 0usize);
    let mut elements = Vec::new();
    for (k, c) in body.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            _ if quoted => {}
            '(' | '[' => depth += 1,
            ',' if depth == 0 => {
                elements.push(&body[start..k]);
                start = k + 1;
            }
            ')' | ']' if depth > 0 => depth -= 1,
            ']' => {
                elements.push(&body[start..k]);
                let tail = body[k..].strip_prefix("])::")?;
                let end = tail.find("[])")?;
                let ty = &tail[..end];
                if ty.is_empty() || ty.contains(['(', ')', '\'', ',']) && !ty.ends_with(')') {
                    return None;
                }
                return Some((elements, ty, k + "])::".len() + end + "[])".len()));
            }
            ')' => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_lists_types_leave_its_names_out() {
        let names = |list: &str| type_names(list).into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(names("tenant text"), ["text"]);
        assert_eq!(
            names("p public.person[], VARIADIC n numeric(10,2)"),
            ["person", "numeric"]
        );
        assert_eq!(names("\"Pet\", x timestamp with time zone"), ["Pet", "zone"]);
        assert!(names("").is_empty());
        // Written plainly, or quoted or qualified (as PostgreSQL prints a type a built-in one's name hides).
        assert_eq!(type_names("trigger"), [("trigger".to_owned(), true)]);
        assert_eq!(
            type_names("public.trigger, \"Pet\""),
            [("trigger".to_owned(), false), ("Pet".to_owned(), false)]
        );
    }

    use super::*;

    #[test]
    fn normalize_ignores_spacing_case_and_comments() {
        assert_eq!(normalize("CHECK ( x > 0 ) -- positive\n"), "check(x>0)");
        assert_eq!(normalize("check(x>0);"), "check(x>0)");
        assert_eq!(normalize("a  'Keep  This'"), "a 'Keep  This'");
        assert_eq!(normalize("\"MixedCase\" int"), "\"MixedCase\" int");
        assert_eq!(normalize("ON \"account\" (\"email\")"), "on account(email)");
    }

    #[test]
    fn index_names_are_left_out() {
        assert_eq!(
            normalize(&without_name("CREATE INDEX IF NOT EXISTS \"ix a\" ON t (a)", "ix a")),
            normalize("CREATE INDEX ON t(a)")
        );
        assert_eq!(
            normalize(&without_name(
                "CREATE UNIQUE INDEX t_a ON public.t USING btree (a)",
                "t_a"
            )),
            "create unique index on public.t using btree(a)"
        );
    }

    #[test]
    fn sqlite_tables_come_apart() {
        let t = table_text("CREATE TABLE \"item\" (id INTEGER PRIMARY KEY, name TEXT CHECK (length(name) > 0), price NUMERIC(10, 2), CONSTRAINT fk FOREIGN KEY (id) REFERENCES other(id)) STRICT").unwrap();
        assert_eq!(t.items.len(), 4);
        assert_eq!(t.items[2], "price NUMERIC(10, 2)");
        assert_eq!(t.tail, ") STRICT");
        assert_eq!(column_name(&t.items[1]).as_deref(), Some("name"));
        assert_eq!(column_name(&t.items[3]), None);
        assert_eq!(checks(&t.items[1]), vec!["length(name)>0"]);
        assert_eq!(constraint_name(&t.items[3]).as_deref(), Some("fk"));
        assert_eq!(
            rename_create_table("CREATE TABLE IF NOT EXISTS \"item\" (id)", "\"new_item\"").unwrap(),
            "CREATE TABLE IF NOT EXISTS \"new_item\" (id)"
        );
        assert!(table_text("CREATE TABLE t AS SELECT 1").is_none());
    }

    #[test]
    fn an_array_cast_whole_reads_as_cast_per_element() {
        let written = normalize(
            "CHECK (((result)::text = ANY ((ARRAY['allow'::character varying, 'a]b,c'::character varying])::text[])))",
        );
        let again = normalize(
            "CHECK (((result)::text = ANY (ARRAY[('allow'::character varying)::text, ('a]b,c'::character varying)::text])))",
        );
        assert_ne!(written, again);
        assert_eq!(array_casts_per_element(&written), again);
        assert_eq!(array_casts_per_element(&again), again);
        // Another type, or another list, stays another constraint.
        let other = normalize("CHECK (((result)::text = ANY ((ARRAY['deny'::character varying])::text[])))");
        assert_ne!(array_casts_per_element(&other), again);
    }
}
