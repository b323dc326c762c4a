//! Property tests: every reader of SQL text ends on any input and moves on
//! at every step. A NUL byte in a schema file once left autogenerate
//! spinning at 100% CPU; the loop was the SQLite driver's (`sqlite3_prepare`
//! stops at a NUL and hands back the same text), which `schema::check_file`
//! now keeps a NUL from, and these keep our own loops from doing the same.

use migrate_core::Dialect;
use migrate_core::sql::{self, lex};
use proptest::prelude::*;

/// Text made of what the lexer and splitter branch on (quotes, comment and
/// block openers, `$` tags, semicolons, `BEGIN`/`END`), control characters
/// NUL among them, and multi-byte characters.
fn sql_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\0".to_owned()),
        Just("'".to_owned()),
        Just("\"".to_owned()),
        Just("`".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("--".to_owned()),
        Just("#".to_owned()),
        Just("/*".to_owned()),
        Just("*/".to_owned()),
        Just("/*!".to_owned()),
        Just("$".to_owned()),
        Just("$a$".to_owned()),
        Just("E'".to_owned()),
        Just("\\".to_owned()),
        Just(";".to_owned()),
        Just("\n".to_owned()),
        Just("\r".to_owned()),
        Just(" ".to_owned()),
        Just("CREATE ".to_owned()),
        Just("BEGIN ".to_owned()),
        Just("END ".to_owned()),
        Just("CASE ".to_owned()),
        Just("-- migrate:renamed-from x\n".to_owned()),
        Just("CREATE TABLE t (".to_owned()),
        Just(")".to_owned()),
        Just("é".to_owned()),
        Just("\u{2028}".to_owned()),
        "[\\x00-\\x7f]{1,3}",
        any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn tokens_cover_the_text_and_always_advance(text in sql_text()) {
        for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            let mut at = 0;
            for t in lex::tokens(&text, dialect) {
                prop_assert_eq!(t.start, at, "a gap or an overlap ({})", dialect);
                prop_assert!(t.end > t.start, "an empty token at {} ({})", at, dialect);
                prop_assert!(text.is_char_boundary(t.end));
                at = t.end;
            }
            prop_assert_eq!(at, text.len());
        }
    }

    #[test]
    fn statements_are_slices_in_order(text in sql_text()) {
        for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            let mut last_line = 0;
            for s in sql::statements(&text, dialect) {
                prop_assert!(text.contains(s.text));
                prop_assert!(s.line >= last_line);
                last_line = s.line;
            }
            let _ = sql::needs_terminator(&text, dialect);
        }
        let _ = sql::transaction_control(&text);
        let _ = sql::removals(&text);
    }

    #[test]
    fn schema_file_readers_end(text in sql_text()) {
        let _ = migrate_core::schema::text::normalize(&text);
        let _ = migrate_core::schema::renames(&text);
        let checked = migrate_core::schema::check_file("s.sql", &text);
        // A NUL never gets past the check to a database.
        if text.contains('\0') {
            prop_assert!(checked.is_err());
        }
    }
}

#[test]
fn a_nul_byte_is_one_token_and_never_stalls() {
    for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
        let text = "CREATE TABLE a (id INTEGER);\n\0\nCREATE TABLE b (id INTEGER);\n";
        let nul: Vec<_> = lex::tokens(text, dialect).filter(|t| t.text(text) == "\0").collect();
        assert_eq!(nul.len(), 1, "{dialect}");
        assert_eq!(sql::statements(text, dialect).len(), 2, "{dialect}");
    }
}
