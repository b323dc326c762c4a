//! What a column's type change keeps: whether a new type holds every value
//! of the old one ([`widens`], which decides a `-- REVIEW:` line), and
//! whether PostgreSQL converts without `USING` ([`assigns`]).

use crate::Dialect;

/// A column type's name and its numeric arguments (`varchar(40)`:
/// `varchar`, `[40]`), lower-cased, what follows the arguments dropped
/// (`int(10) unsigned`: `int`, `[10]`).
fn type_parts(t: &str) -> (String, Vec<u64>) {
    let t = t.trim().to_ascii_lowercase();
    let (base, args) = match t.split_once('(') {
        Some((b, rest)) => (
            b.trim().to_owned(),
            rest.trim_end_matches(|c| c != ')').trim_end_matches(')'),
        ),
        None => (t.clone(), ""),
    };
    let args = args.split(',').filter_map(|a| a.trim().parse().ok()).collect();
    (base, args)
}

/// MySQL's `enum(…)` or `set(…)` values, as written between their quotes.
fn enum_values(t: &str) -> Option<Vec<String>> {
    let t = t.trim();
    let lower = t.to_ascii_lowercase();
    if !(lower.starts_with("enum(") || lower.starts_with("set(")) {
        return None;
    }
    let inner = &t[t.find('(')? + 1..t.rfind(')')?];
    let mut values = Vec::new();
    for t in crate::sql::lex::code(inner, Dialect::Mysql) {
        if t.kind == crate::sql::lex::Kind::Str {
            values.push(t.text.to_owned());
        }
    }
    Some(values)
}

/// Whether changing a column's type from `from` to `to` keeps every value:
/// the same family, no narrower (fewer fractional seconds digits narrow a
/// MySQL time, and signed and unsigned integers hold different values);
/// an `enum` or `set` keeping every value it had; any type but binary
/// strings to PostgreSQL's `text`.
pub fn widens(from: &str, to: &str) -> bool {
    fn rank(base: &str) -> Option<u8> {
        Some(match base {
            "tinyint" => 1,
            "smallint" | "int2" => 2,
            "mediumint" => 3,
            "integer" | "int" | "int4" => 4,
            "bigint" | "int8" => 5,
            _ => return None,
        })
    }
    if let (Some(f), Some(t)) = (enum_values(from), enum_values(to)) {
        let is_set = |t: &str| t.trim().to_ascii_lowercase().starts_with("set");
        return is_set(from) == is_set(to) && f.iter().all(|v| t.contains(v));
    }
    let (fb, mut fa) = type_parts(from);
    let (tb, mut ta) = type_parts(to);
    let unsigned = |t: &str| t.to_ascii_lowercase().contains("unsigned");
    // MySQL's binary strings hold bytes no character set need accept: only a
    // binary string as long keeps them.
    let blob_bytes = |b: &str| match b {
        "tinyblob" => Some(255),
        "blob" => Some(65_535),
        "mediumblob" => Some(16_777_215),
        "longblob" => Some(u64::MAX),
        _ => None,
    };
    if let Some(f) = blob_bytes(&fb)
        .or_else(|| matches!(fb.as_str(), "binary" | "varbinary").then(|| fa.first().copied().unwrap_or(1)))
    {
        return match blob_bytes(&tb) {
            Some(t) => t >= f,
            None => fb == tb && ta.first().is_some_and(|t| *t >= f),
        };
    }
    // MySQL's text types by size; PostgreSQL's `text` holds any string.
    let texts = ["tinytext", "text", "mediumtext", "longtext"];
    if let (Some(f), Some(t)) = (texts.iter().position(|x| *x == fb), texts.iter().position(|x| *x == tb)) {
        return t >= f;
    }
    if tb == "longtext" || tb == "text" && !texts.contains(&fb.as_str()) && !matches!(fb.as_str(), "varchar" | "char") {
        return true;
    }
    if tb == "text" {
        // MySQL `varchar(n)`/`char(n)` to `text` (65,535 bytes); PostgreSQL spells them `character varying`.
        return fa.first().is_none_or(|n| *n <= 16_383);
    }
    if matches!(tb.as_str(), "numeric" | "decimal") && fb == tb && fa.len() == 2 && ta.len() == 2 {
        // The integer digits must not shrink either.
        return ta[0] >= fa[0] && ta[1] >= fa[1] && ta[0] - ta[1] >= fa[0] - fa[1];
    }
    if let (Some(f), Some(t)) = (rank(&fb), rank(&tb)) {
        return match (unsigned(from), unsigned(to)) {
            (false, false) | (true, true) => t >= f,
            // Every unsigned value fits a larger signed type.
            (true, false) => t > f,
            (false, true) => false,
        };
    }
    // MySQL's times without a precision keep whole seconds (PostgreSQL names its
    // `timestamp` and `time` with their zone, so never as these).
    if matches!(fb.as_str(), "datetime" | "timestamp" | "time") {
        fa.resize(1, 0);
        ta.resize(1, 0);
    }
    let strings = ["character varying", "varchar", "character", "char"];
    let same_family = fb == tb || (strings.contains(&fb.as_str()) && strings.contains(&tb.as_str()));
    same_family && (ta.is_empty() || fa.len() == ta.len() && fa.iter().zip(&ta).all(|(f, t)| t >= f))
}

/// Whether PostgreSQL changes a column from `from` to `to` without `USING`,
/// by its assignment cast, which refuses a value too long for the new type
/// where an explicit cast (`USING c::varchar(5)`) would cut it: to a string
/// type from anything but an array, and between bit strings.
pub(super) fn assigns(from: &str, to: &str) -> bool {
    let (fb, _) = type_parts(from);
    let (tb, _) = type_parts(to);
    let bits = ["bit", "bit varying", "varbit"];
    if is_array(from) || is_array(to) {
        return false;
    }
    is_string(to) || (bits.contains(&fb.as_str()) && bits.contains(&tb.as_str()))
}

/// Whether `t` is one of PostgreSQL's (or MySQL's) string types, of any length.
pub(super) fn is_string(t: &str) -> bool {
    let strings = ["character varying", "varchar", "character", "char", "bpchar", "text"];
    !is_array(t) && strings.contains(&type_parts(t).0.as_str())
}

/// Whether `t` is an array type (`text[]`).
pub(super) fn is_array(t: &str) -> bool {
    t.trim_end().ends_with(']')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening() {
        assert!(widens("character varying(40)", "character varying(80)"));
        assert!(!widens("character varying(80)", "character varying(40)"));
        assert!(widens("integer", "bigint"));
        assert!(widens("int(11)", "bigint(20)"));
        assert!(!widens("bigint", "integer"));
        assert!(widens("varchar(10)", "text"));
        assert!(!widens("text", "integer"));
        assert!(widens("numeric(10,2)", "numeric(12,2)"));
        assert!(!widens("numeric(10,2)", "numeric(10,4)"), "fewer integer digits");
        assert!(widens("numeric(10,2)", "numeric(12,4)"));
        assert!(!widens("longtext", "text") && !widens("mediumtext", "tinytext"));
        assert!(widens("text", "mediumtext"));
        assert!(widens("character varying(40)", "text"));
        // What MySQL's MODIFY cuts or refuses.
        assert!(!widens("datetime(6)", "datetime"), "fractional seconds");
        assert!(widens("datetime", "datetime(6)"));
        assert!(!widens("time(3)", "time"));
        assert!(!widens("int(11)", "int(10) unsigned"), "negative values");
        assert!(!widens("int(10) unsigned", "int(11)"), "the upper half");
        assert!(widens("int(10) unsigned", "bigint(20)"));
        assert!(widens("int(10) unsigned", "int(11) unsigned"));
        assert!(!widens(
            "enum('active','disabled','banned')",
            "enum('active','disabled')"
        ));
        assert!(widens("enum('a','b')", "enum('b','a','c')"));
        assert!(!widens("set('a','b')", "enum('a','b')"));
        assert!(!widens("longblob", "text") && !widens("mediumblob", "longtext"));
        assert!(!widens("varbinary(16)", "varchar(64)"));
        assert!(widens("blob", "longblob") && widens("varbinary(100)", "blob"));
        assert!(!widens("longblob", "blob"));
        assert!(widens("varbinary(16)", "varbinary(32)") && !widens("varbinary(32)", "varbinary(16)"));
    }

    /// PostgreSQL's explicit cast cuts a string to the new length where the
    /// assignment cast refuses it: no `USING` is written where the
    /// assignment cast exists.
    #[test]
    fn using_only_where_no_assignment_cast_exists() {
        assert!(assigns("character varying(200)", "character varying(100)"));
        assert!(assigns("text", "character(5)"));
        assert!(assigns("integer", "character varying(3)"));
        assert!(assigns("bit(8)", "bit(4)"));
        assert!(!assigns("text", "integer"));
        assert!(!assigns("character varying(20)[]", "character varying(10)[]"));
        assert!(!assigns("integer", "bit(4)"));
    }
}
