//! Tests of [`super`].

use super::*;

#[test]
fn phase_and_timeouts_are_header_directives() {
    let text = "-- m\n-- revision: a\n-- down_revision:\n-- migrate:phase: expand\n-- migrate:lock-timeout: 5s\n-- migrate:statement-timeout: 10min\n\n-- migrate:upgrade\nSELECT 1;\n";
    let d = parse("migrations/a_m.sql", text).unwrap().migration.directives();
    assert_eq!(d.phase, Some(Phase::Expand));
    assert_eq!(d.lock_timeout, Some(std::time::Duration::from_secs(5)));
    assert_eq!(d.statement_timeout, Some(std::time::Duration::from_secs(600)));
    // They are not part of what the checksum covers.
    let plain = "-- m\n-- revision: a\n-- down_revision:\n\n-- migrate:upgrade\nSELECT 1;\n";
    let plain = parse("migrations/a_m.sql", plain).unwrap().migration;
    assert_eq!(
        plain.checksum(),
        parse("migrations/a_m.sql", text).unwrap().migration.checksum()
    );
}

#[test]
fn bad_directives_say_what_and_where() {
    let text = "-- m\n-- revision: a\n-- down_revision:\n-- migrate:phase: later\n-- migrate:lock-timeout: 5\n-- migrate:phase: expand\n-- migrate:retries: 3\n\n-- migrate:upgrade\nSELECT 1;\n-- migrate:statement-timeout: 1s\n";
    let e = parse("migrations/a_m.sql", text).unwrap_err();
    let got: Vec<_> = e.iter().map(|d| (d.line, d.message.as_str())).collect();
    assert_eq!(
        got,
        [
            (
                Some(4),
                "in `-- migrate:phase:`, unknown phase `later`: use expand, backfill or contract"
            ),
            (
                Some(5),
                "in `-- migrate:lock-timeout:`, `5` is not a duration: write a whole number and a unit, such as 500ms, 5s, 10min or 2h"
            ),
            (Some(6), "second `-- migrate:phase:` line"),
            (Some(7), "unknown directive `-- migrate:retries:`"),
            (Some(11), "`-- migrate:statement-timeout:` must be in the header"),
        ]
    );
}

#[test]
fn a_misspelt_directive_is_an_error_naming_what_it_meant() {
    let text = "-- drop the old column\n-- revision: a\n-- down_revision:\n-- phase: contract\n-- MIGRATE:lock-timeout: 5s\n-- migrate statement-timeout: 1min\n--migrate:no_transaction\n\n-- migrate:upgrade\nALTER TABLE t DROP COLUMN c;\n-- Migrate :downgrade\nALTER TABLE t ADD COLUMN c INT;\n";
    let e = parse("migrations/a_m.sql", text).unwrap_err();
    let got: Vec<_> = e.iter().map(|d| (d.kind, d.line, d.message.as_str())).collect();
    assert_eq!(
        got,
        [
            (
                DiagnosticKind::BadHeader,
                Some(4),
                "`-- phase: contract` is not a directive: did you mean `-- migrate:phase: contract`?"
            ),
            (
                DiagnosticKind::BadHeader,
                Some(5),
                "`-- MIGRATE:lock-timeout: 5s` is not a directive: did you mean `-- migrate:lock-timeout: 5s`?"
            ),
            (
                DiagnosticKind::BadHeader,
                Some(6),
                "`-- migrate statement-timeout: 1min` is not a directive: did you mean `-- migrate:statement-timeout: 1min`?"
            ),
            (
                DiagnosticKind::BadHeader,
                Some(7),
                "unknown directive `-- migrate:no_transaction`"
            ),
            (
                DiagnosticKind::BadHeader,
                Some(11),
                "`-- Migrate :downgrade` is not a directive: did you mean `-- migrate:downgrade`?"
            ),
        ]
    );
    assert_eq!(e[3].help.as_deref(), Some("did you mean `-- migrate:no-transaction`?"));
    assert!(
        e[0].help
            .as_deref()
            .unwrap()
            .contains("write `-- migrate:phase: contract`")
    );
    // Printed like rustc: what, where, and the fix.
    assert_eq!(
        e[0].to_string(),
        format!(
            "error: `-- phase: contract` is not a directive: did you mean `-- migrate:phase: contract`?\n  --> migrations/a_m.sql:4\n   = help: {}",
            e[0].help.as_deref().unwrap()
        )
    );
    // Written right, it is the directive.
    let right = "-- m\n-- revision: a\n-- down_revision:\n-- migrate:phase: contract\n-- migrate:upgrade\nSELECT 1;\n";
    assert_eq!(
        parse("migrations/a_m.sql", right).unwrap().migration.directives().phase,
        Some(Phase::Contract)
    );
    // A directive of `migrate:` with a loosely known name says which it meant.
    let loose = "-- m\n-- revision: a\n-- down_revision:\n-- migrate:revision: a\n-- migrate:phase contract\n-- migrate:upgrade\n";
    let e = parse("migrations/a_m.sql", loose).unwrap_err();
    let helps: Vec<_> = e.iter().map(|d| d.help.as_deref().unwrap()).collect();
    assert_eq!(
        helps,
        [
            "did you mean `-- revision: a`?",
            "did you mean `-- migrate:phase: contract`?"
        ]
    );
}

#[test]
fn prose_comments_that_mention_directives_are_fine() {
    let text = "-- This migration drops the phase column\n-- Note: no transaction here, see the lock-timeout docs\n-- migrate the users table in one go\n-- revision: a\n-- down_revision:\n-- Created: yesterday\n-- migrate:upgrade\n-- phase: contract, said nobody\nSELECT 1;\n-- migrate:downgrade\n-- revision: b (a comment in SQL)\n";
    let p = check_ok("migrations/a_m.sql", text);
    assert_eq!(p.migration.message(), "This migration drops the phase column");
    assert_eq!(p.migration.directives().phase, None);
}

#[test]
fn foreign_keys_off_is_a_header_directive() {
    let text =
        "-- rebuild\n-- revision: a\n-- down_revision:\n-- migrate:foreign-keys-off\n\n-- migrate:upgrade\nSELECT 1;\n";
    let m = parse("migrations/a_m.sql", text).unwrap().migration;
    assert!(m.directives().foreign_keys_off);
    assert!(!m.no_transaction());
    // Not part of what the checksum covers.
    let plain = text.replace("-- migrate:foreign-keys-off\n", "");
    let plain = parse("migrations/a_m.sql", &plain).unwrap().migration;
    assert!(!plain.directives().foreign_keys_off);
    assert_eq!(plain.checksum(), m.checksum());
}

#[test]
fn misplaced_foreign_keys_off_says_what_and_where() {
    let text = "-- m\n-- revision: a\n-- down_revision:\n-- migrate:foreign-keys-off\n-- migrate:foreign-keys-off\n\n-- migrate:upgrade\nSELECT 1;\n-- migrate:foreign-keys-off\n";
    let e = parse("migrations/a_m.sql", text).unwrap_err();
    let got: Vec<_> = e
        .iter()
        .map(|d| (d.line, d.message.as_str(), d.help.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (Some(5), "second `-- migrate:foreign-keys-off` line", Some("keep one")),
            (
                Some(9),
                "`-- migrate:foreign-keys-off` must be in the header",
                Some("move it above `-- migrate:upgrade`")
            ),
        ]
    );
    // With no-transaction: it needs a transaction to check before committing.
    let both = "-- m\n-- revision: a\n-- down_revision:\n-- migrate:no-transaction\n-- migrate:foreign-keys-off\n\n-- migrate:upgrade\nSELECT 1;\n";
    let e = parse("migrations/a_m.sql", both).unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].line, Some(5));
    assert_eq!(
        e[0].message,
        "`-- migrate:foreign-keys-off` with `-- migrate:no-transaction`"
    );
    assert!(e[0].help.as_deref().unwrap().contains("remove one of the two"));
    // A misspelling is an unknown directive whose help lists it.
    let typo = "-- m\n-- revision: a\n-- down_revision:\n-- migrate:foreign-key-off\n\n-- migrate:upgrade\nSELECT 1;\n";
    let e = parse("migrations/a_m.sql", typo).unwrap_err();
    assert_eq!(e[0].message, "unknown directive `-- migrate:foreign-key-off`");
    assert!(e[0].help.as_deref().unwrap().contains("`-- migrate:foreign-keys-off`"));
}

#[test]
fn transaction_control_in_a_transactional_migration_is_refused() {
    let text = "-- m\n-- revision: a\n-- down_revision:\n\n-- migrate:upgrade\nCREATE TABLE a (id INT);\nCOMMIT;\nCREATE TABLE b (id INT);\n\n-- migrate:downgrade\nBEGIN;\nDROP TABLE b;\n";
    let e = parse("migrations/a_m.sql", text).unwrap_err();
    let got: Vec<_> = e.iter().map(|d| (d.kind, d.line, d.message.as_str())).collect();
    assert_eq!(
        got,
        [
            (
                DiagnosticKind::TransactionControl,
                Some(7),
                "`COMMIT` in the upgrade section of a migration that runs in a transaction"
            ),
            (
                DiagnosticKind::TransactionControl,
                Some(11),
                "`BEGIN` in the downgrade section of a migration that runs in a transaction"
            ),
        ]
    );
    assert!(e[0].help.as_deref().unwrap().contains("-- migrate:no-transaction"));
    // Outside a transaction it is the migration's own business.
    let own = text.replace("-- down_revision:\n", "-- down_revision:\n-- migrate:no-transaction\n");
    assert!(parse("migrations/a_m.sql", &own).is_ok());
}

/// mysqldump's `LOCK TABLES … WRITE` / `UNLOCK TABLES` around a table's rows,
/// pasted into a migration: refused where it is, saying to remove them.
#[test]
fn mysql_table_locks_in_a_migration_are_refused_with_what_to_do() {
    let text = "-- m\n-- revision: a\n-- down_revision:\n\n-- migrate:upgrade\nLOCK TABLES `t` WRITE;\nINSERT INTO `t` VALUES (1);\nUNLOCK TABLES;\n";
    let e = parse("migrations/a_m.sql", text).unwrap_err();
    let got: Vec<_> = e.iter().map(|d| (d.kind, d.line, d.message.as_str())).collect();
    assert_eq!(
        got,
        [
            (
                DiagnosticKind::TransactionControl,
                Some(6),
                "`LOCK TABLES` in the upgrade section of a migration that runs in a transaction"
            ),
            (
                DiagnosticKind::TransactionControl,
                Some(8),
                "`UNLOCK TABLES` in the upgrade section of a migration that runs in a transaction"
            ),
        ]
    );
    assert!(
        e[0].help
            .as_deref()
            .unwrap()
            .contains("remove `LOCK TABLES` and `UNLOCK TABLES`")
    );
    // PostgreSQL's table lock holds until the migration's transaction ends: allowed.
    let pg = text
        .replace("LOCK TABLES `t` WRITE;", "LOCK TABLE t IN SHARE MODE;")
        .replace("UNLOCK TABLES;\n", "");
    assert!(parse("migrations/a_m.sql", &pg).is_ok());
}

#[test]
fn control_characters_are_refused_where_they_are() {
    let text =
        "-- m\n-- revision: a\n-- down_revision:\n-- migrate:upgrade\nSELECT 1;\u{0}\nSELECT 2;\x1b[0m\n\tSELECT 3;\n";
    let e = parse("migrations/a_m.sql", text).unwrap_err();
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].kind, DiagnosticKind::ControlCharacter);
    assert_eq!(e[0].line, Some(5));
    assert_eq!(
        e[0].message,
        "control character U+0000 (NUL) at column 10 (and on 1 more line)"
    );
    // Tabs, form feeds and CRLF line ends are fine.
    assert!(
        parse(
            "migrations/a_m.sql",
            &text.replace('\u{0}', "").replace("\x1b", "\x0c").replace('\n', "\r\n")
        )
        .is_ok()
    );
}

fn check_ok(file: &str, text: &str) -> ParsedFile {
    match parse(file, text) {
        Ok(p) => p,
        Err(e) => panic!("expected {file} to parse, got {e:#?}"),
    }
}

fn check_err(file: &str, text: &str) -> Vec<(DiagnosticKind, usize, String)> {
    parse(file, text)
        .expect_err("expected a parse error")
        .into_iter()
        .map(|d| (d.kind, d.line.unwrap(), d.message))
        .collect()
}

const FULL: &str = "-- create account table\n--\n-- revision: 1975ea83b712\n-- down_revision:\n-- created: 2026-11-22T01:42:51Z\n\n-- migrate:upgrade\nCREATE TABLE account (id INTEGER PRIMARY KEY);\n\n-- migrate:downgrade\nDROP TABLE account;\n";

#[test]
fn full_file() {
    let p = check_ok("migrations/1975ea83b712_create_account.sql", FULL);
    let m = &p.migration;
    assert_eq!(m.revision(), "1975ea83b712");
    assert_eq!(m.down_revisions().count(), 0);
    assert_eq!(m.message(), "create account table");
    assert_eq!(m.upgrade_sql(), "CREATE TABLE account (id INTEGER PRIMARY KEY);");
    assert_eq!(m.downgrade_sql(), Some("DROP TABLE account;"));
    assert!(!m.no_transaction());
    assert_eq!(p.created.as_deref(), Some("2026-11-22T01:42:51Z"));
    assert_eq!((p.revision_line, p.down_revision_line), (3, 4));
}

#[test]
fn merge_revision_with_empty_upgrade_and_no_downgrade() {
    let p = check_ok(
        "m1_merge.sql",
        "-- merge\n-- revision: m1\n-- down_revision: a, b\n-- migrate:upgrade\n",
    );
    let m = p.migration;
    assert_eq!(m.down_revisions().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(m.upgrade_sql(), "");
    assert_eq!(m.downgrade_sql(), None, "absent downgrade marker means irreversible");
}

#[test]
fn empty_downgrade_is_reversible() {
    let p = check_ok(
        "a_x.sql",
        "-- x\n-- revision: a\n-- down_revision:\n-- migrate:upgrade\nSELECT 1;\n-- migrate:downgrade\n",
    );
    assert_eq!(p.migration.downgrade_sql(), Some(""));
}

#[test]
fn no_transaction_directive() {
    let p = check_ok(
        "a_x.sql",
        "-- x\n-- revision: a\n-- down_revision:\n-- migrate:no-transaction\n-- migrate:upgrade\nCREATE INDEX CONCURRENTLY i ON t (c);\n",
    );
    assert!(p.migration.no_transaction());
}

#[test]
fn dollar_quoted_body_is_kept_verbatim() {
    let body = "CREATE FUNCTION f() RETURNS trigger AS $$\nBEGIN\n  -- a comment; with a semicolon\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;";
    let text = format!("-- f\n-- revision: a\n-- down_revision:\n-- migrate:upgrade\n{body}\n");
    assert_eq!(check_ok("a_f.sql", &text).migration.upgrade_sql(), body);
}

#[test]
fn crlf_file_parses_and_hashes_like_lf() {
    let lf = check_ok("1975ea83b712_a.sql", FULL);
    let crlf = check_ok("1975ea83b712_a.sql", &format!("\u{feff}{}", FULL.replace('\n', "\r\n")));
    assert_eq!(lf.migration.upgrade_sql(), crlf.migration.upgrade_sql());
    assert_eq!(lf.migration.checksum(), crlf.migration.checksum());
}

#[test]
fn message_and_downgrade_edits_are_not_drift() {
    let a = check_ok("1975ea83b712_a.sql", FULL);
    let b = check_ok(
        "1975ea83b712_a.sql",
        &FULL
            .replace("create account table", "make accounts")
            .replace("DROP TABLE account;", "DROP TABLE IF EXISTS account;"),
    );
    assert_eq!(a.migration.checksum(), b.migration.checksum());
    let c = check_ok("1975ea83b712_a.sql", &FULL.replace("PRIMARY KEY", "PRIMARY KEY, x INT"));
    assert_ne!(a.migration.checksum(), c.migration.checksum());
}

#[test]
fn missing_upgrade_marker() {
    let e = check_err("a_x.sql", "-- x\n-- revision: a\n-- down_revision:\n");
    assert_eq!(e[0].0, DiagnosticKind::MissingUpgrade);
}

#[test]
fn missing_revision_and_down_revision() {
    let e = check_err("a_x.sql", "-- x\n-- migrate:upgrade\nSELECT 1;\n");
    let kinds: Vec<_> = e.iter().map(|p| p.0).collect();
    assert_eq!(kinds, [DiagnosticKind::BadHeader, DiagnosticKind::BadHeader]);
    assert!(e[0].2.contains("revision"));
    assert!(e[1].2.contains("down_revision"));
}

#[test]
fn sql_in_header() {
    let e = check_err(
        "a_x.sql",
        "-- x\n-- revision: a\n-- down_revision:\nCREATE TABLE t (id INT);\n-- migrate:upgrade\n",
    );
    assert_eq!(
        e,
        [(
            DiagnosticKind::BadHeader,
            4,
            "SQL before the `-- migrate:upgrade` marker".to_owned()
        )]
    );
}

#[test]
fn name_mismatch() {
    let e = check_err(
        "migrations/b_x.sql",
        "-- x\n-- revision: a\n-- down_revision:\n-- migrate:upgrade\n",
    );
    assert_eq!(e[0].0, DiagnosticKind::NameMismatch);
    assert_eq!(e[0].1, 2);
    // A prefix that is not followed by `_` does not count: `ab_x.sql` is not revision `a`.
    let e = check_err(
        "ab_x.sql",
        "-- x\n-- revision: a\n-- down_revision:\n-- migrate:upgrade\n",
    );
    assert_eq!(e[0].0, DiagnosticKind::NameMismatch);
}

#[test]
fn invalid_ids() {
    let e = check_err(
        "a-b_x.sql",
        "-- x\n-- revision: a-b\n-- down_revision: c d\n-- migrate:upgrade\n",
    );
    assert_eq!(e.len(), 2);
    assert!(e[0].2.contains("invalid revision id `a-b`"));
    assert!(e[1].2.contains("invalid id `c d`"));
    let long = "a".repeat(65);
    assert!(
        parse(
            &format!("{long}_x.sql"),
            &format!("-- revision: {long}\n-- down_revision:\n-- migrate:upgrade\n")
        )
        .is_err()
    );
}

#[test]
fn misplaced_and_unknown_directives() {
    let e = check_err(
        "a_x.sql",
        "-- revision: a\n-- down_revision:\n-- migrate:downgrade\n-- migrate:upgrade\n-- migrate:no-transaction\n-- migrate:upgrad\n",
    );
    let lines: Vec<_> = e.iter().map(|p| p.1).collect();
    assert_eq!(lines, [3, 5, 6]);
}

#[test]
fn render_round_trips() {
    let text = render(
        "add users",
        "abc123",
        &["p1", "p2"],
        "2026-11-22T00:00:00Z",
        "CREATE TABLE u (id INT);",
        "DROP TABLE u;",
    );
    let p = check_ok("abc123_add_users.sql", &text);
    assert_eq!(p.migration.message(), "add users");
    assert_eq!(p.migration.down_revisions().collect::<Vec<_>>(), ["p1", "p2"]);
    assert_eq!(p.migration.downgrade_sql(), Some("DROP TABLE u;"));
}

#[test]
fn depends_on_names_a_revision_here_or_of_a_set() {
    let f = check_ok(
        "migrations/c_x.sql",
        "-- c\n-- revision: c\n-- down_revision: a\n-- depends_on: b, jobq@4f1a\n-- migrate:upgrade\nSELECT 1;\n",
    );
    assert_eq!(f.migration.runs_after().collect::<Vec<_>>(), ["b"]);
    assert_eq!(f.migration.depends_on().collect::<Vec<_>>(), [("jobq", "4f1a")]);
    assert_eq!(f.depends_on_line, Some(4));
}

#[test]
fn max_lock_is_a_header_directive() {
    let text = "-- m\n-- revision: a\n-- down_revision:\n-- migrate:max-lock: share-update-exclusive\n\n-- migrate:upgrade\nCREATE INDEX i ON t (c);\n";
    let m = parse("migrations/a_m.sql", text).unwrap().migration;
    assert_eq!(m.directives().max_lock, Some(crate::TableLock::ShareUpdateExclusive));
    let mysql = text.replace("share-update-exclusive", "shared-no-write");
    let m2 = parse("migrations/a_m.sql", &mysql).unwrap().migration;
    assert_eq!(m2.directives().max_lock, Some(crate::TableLock::SharedNoWrite));
    // Not part of what the checksum covers.
    let plain = text.replace("-- migrate:max-lock: share-update-exclusive\n", "");
    let plain = parse("migrations/a_m.sql", &plain).unwrap().migration;
    assert_eq!(plain.directives().max_lock, None);
    assert_eq!(plain.checksum(), m.checksum());
}

#[test]
fn bad_max_lock_says_what_and_which_names() {
    let text = "-- m\n-- revision: a\n-- down_revision:\n-- migrate:max-lock: row-lock\n-- max-lock: share\n\n-- migrate:upgrade\nSELECT 1;\n-- migrate:max-lock: share\n";
    let e = parse("migrations/a_m.sql", text).unwrap_err();
    let got: Vec<_> = e.iter().map(|d| (d.kind, d.line, d.message.as_str())).collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(
        got[0],
        (
            DiagnosticKind::BadHeader,
            Some(4),
            "in `-- migrate:max-lock:`, `row-lock` is no table lock's name"
        )
    );
    let help = e[0].help.as_deref().unwrap_or_default();
    assert!(
        help.contains("share-update-exclusive") && help.contains("shared-no-write"),
        "{help}"
    );
    assert_eq!(got[1].1, Some(5), "a lookalike: {got:?}");
    assert_eq!(
        got[2],
        (
            DiagnosticKind::BadHeader,
            Some(9),
            "`-- migrate:max-lock:` must be in the header"
        )
    );
}

#[test]
fn a_backfill_names_its_range_and_runs_one_statement() {
    let file = |header: &str, upgrade: &str| {
        format!("-- fill v\n-- revision: a\n-- down_revision:\n{header}\n-- migrate:upgrade\n{upgrade}\n")
    };
    let good = "UPDATE t SET v = n * 2 WHERE id >= :start AND id < :end;";
    let m = parse(
        "m/a_x.sql",
        &file(
            "-- migrate:phase: backfill\n-- migrate:backfill: app.t.id batch=500",
            good,
        ),
    )
    .unwrap()
    .migration;
    assert_eq!(m.phase(), Some(Phase::Backfill));
    let b = m.backfill().unwrap();
    assert_eq!((b.table(), b.key(), b.batch()), ("app.t", "id", 500));
    let errors = |header: &str, upgrade: &str| -> Vec<String> {
        match parse("m/a_x.sql", &file(header, upgrade)) {
            Ok(_) => Vec::new(),
            Err(e) => e
                .iter()
                .map(|d| format!("{}: {}", d.line.unwrap_or(0), d.message))
                .collect(),
        }
    };
    let phase = "-- migrate:phase: backfill\n";
    assert_eq!(
        errors("-- migrate:backfill: t.id batch=10", good),
        ["4: `-- migrate:backfill:` in a revision whose phase is not backfill"]
    );
    assert_eq!(
        errors(phase, good),
        ["6: a backfill revision without `-- migrate:backfill: TABLE.KEY batch=N`"]
    );
    for (spec, said) in [
        ("t.id", "`batch=N` is missing"),
        ("t.id batch=0", "`batch=0` is not a whole number of key values above 0"),
        ("t.id batch=x", "`batch=x` is not a whole number of key values above 0"),
        ("t batch=5", "`t` names no key column: write TABLE.KEY"),
        (
            "a.b.c.d batch=5",
            "`a.b.c.d` is not TABLE.KEY of plain names (letters, digits, `_`; a schema may prefix the table)",
        ),
        (
            "t.id batch=5 size=3",
            "`size=3` is not an option of a backfill (`batch=N` is the one)",
        ),
    ] {
        let header = format!("{phase}-- migrate:backfill: {spec}");
        assert_eq!(
            errors(&header, good),
            [format!("5: in `-- migrate:backfill:`, {said}")],
            "{spec}"
        );
    }
    let spec = "-- migrate:phase: backfill\n-- migrate:backfill: t.id batch=10";
    assert_eq!(
        errors(&format!("{spec}\n-- migrate:no-transaction"), good),
        ["5: `-- migrate:no-transaction` in a backfill revision"]
    );
    assert_eq!(
        errors(
            spec,
            "UPDATE t SET v = 1 WHERE id >= :start AND id < :end;\nDELETE FROM u;"
        ),
        ["7: a backfill's upgrade section holds 2 statements"]
    );
    assert_eq!(
        errors(spec, "UPDATE t SET v = ':end' WHERE id >= :start"),
        ["7: a backfill's statement does not use `:end`"]
    );
}

#[test]
fn variables_are_declared_in_the_header() {
    let text = "-- m\n-- revision: a\n-- down_revision:\n-- migrate:var app_user\n-- migrate:var schema = app: main\n-- migrate:var secret pw\n\n-- migrate:upgrade\nCREATE USER ${app_user} PASSWORD '${pw}';\nCREATE SCHEMA ${schema};\nCREATE FUNCTION f() RETURNS int AS $$ SELECT ${x} $$ LANGUAGE sql; -- ${y}\n\n-- migrate:downgrade\nDROP USER ${app_user};\n";
    let m = parse("migrations/a_m.sql", text).unwrap().migration;
    let vars: Vec<_> = m.vars().collect();
    assert_eq!(
        vars,
        [
            crate::Variable::new("app_user", None, false),
            crate::Variable::new("schema", Some("app: main".into()), false),
            crate::Variable::new("pw", None, true),
        ]
    );
    // The checksum covers the text as written; binding keeps it and the stored downgrade.
    let value = |v: &crate::Variable| (v.name() != "schema").then(|| format!("<{}>", v.name()));
    let bound = m
        .bound(crate::Dialect::Postgres, crate::Direction::Upgrade, &value)
        .unwrap();
    assert_eq!(bound.checksum(), m.checksum());
    assert!(
        bound
            .upgrade_sql()
            .starts_with("CREATE USER <app_user> PASSWORD '<pw>';\nCREATE SCHEMA app: main;")
    );
    assert!(bound.upgrade_sql().contains("$$ SELECT ${x} $$ LANGUAGE sql; -- ${y}"));
    assert_eq!(bound.downgrade_sql(), Some("DROP USER <app_user>;"));
    assert_eq!(bound.stored_downgrade(), Some("DROP USER ${app_user};"));
    assert_eq!(bound.secrets(), [("pw".to_owned(), "<pw>".to_owned())]);
    let unset = m
        .bound(crate::Dialect::Sqlite, crate::Direction::Downgrade, &|_| None)
        .unwrap_err();
    assert_eq!((unset.revision.as_str(), unset.name.as_str()), ("a", "app_user"));
}

/// SQL written for a tool that replaces nothing keeps its `${…}` as
/// written under `-- migrate:no-variables`, and the build says so at once
/// where that line is misplaced or contradicted.
#[test]
fn no_variables_keeps_every_use_as_written() {
    let text = "-- m\n-- revision: a\n-- down_revision:\n-- migrate:no-variables\n\n-- migrate:upgrade\nINSERT INTO tpl VALUES ('Hello ${name}', \"${x}\");\n\n-- migrate:downgrade\nDELETE FROM tpl WHERE body = 'Hello ${name}';\n";
    let m = parse("migrations/a_m.sql", text).unwrap().migration;
    assert_eq!(m.vars().count(), 0);
    assert_eq!(m.upgrade_sql(), "INSERT INTO tpl VALUES ('Hello ${name}', \"${x}\");");
    let without = text.replace("-- migrate:no-variables\n", "");
    let e = parse("migrations/a_m.sql", &without).unwrap_err();
    assert!(
        e[0].help.as_deref().unwrap().contains("-- migrate:no-variables"),
        "{:?}",
        e[0].help
    );

    let problems = |text: &str| -> Vec<(Option<usize>, String)> {
        parse("migrations/a_m.sql", text)
            .unwrap_err()
            .iter()
            .map(|d| (d.line, d.message.clone()))
            .collect()
    };
    let declared = text.replace(
        "-- migrate:no-variables\n",
        "-- migrate:no-variables\n-- migrate:var name\n",
    );
    assert_eq!(
        problems(&declared),
        [(
            Some(4),
            "`-- migrate:no-variables` in a revision that declares variables".to_owned()
        )]
    );
    let twice = text.replace(
        "-- migrate:no-variables\n",
        "-- migrate:no-variables\n-- migrate:no-variables\n",
    );
    assert_eq!(
        problems(&twice),
        [(Some(5), "second `-- migrate:no-variables` line".to_owned())]
    );
    let below = text.replace("-- migrate:no-variables\n", "") + "-- migrate:no-variables\n";
    assert_eq!(
        problems(&below),
        [(Some(10), "`-- migrate:no-variables` must be in the header".to_owned())]
    );
}

#[test]
fn bad_variables_say_what_and_where() {
    let text = "-- m\n-- revision: a\n-- down_revision:\n-- migrate:var 1x\n-- migrate:var a\n-- migrate:var a\n-- migrate:var\n\n-- migrate:upgrade\nSELECT ${a}, ${b};\n-- migrate:var c\n\n-- migrate:downgrade\n\nSELECT '${d}';\n";
    let e = parse("migrations/a_m.sql", text).unwrap_err();
    let got: Vec<_> = e.iter().map(|d| (d.line, d.message.as_str())).collect();
    assert_eq!(
        got,
        [
            (Some(4), "`1x` is not a variable name"),
            (Some(6), "second declaration of the variable `a`"),
            (Some(7), "`-- migrate:var` names no variable"),
            (Some(11), "`-- migrate:var` must be in the header"),
        ]
    );
    let text = "-- m\n-- revision: a\n-- down_revision:\n-- migrate:var a\n\n-- migrate:upgrade\nSELECT ${a}, ${b};\n\n-- migrate:downgrade\n\nSELECT '${d}';\n";
    let e = parse("migrations/a_m.sql", text).unwrap_err();
    let got: Vec<_> = e.iter().map(|d| (d.line, d.message.as_str())).collect();
    assert_eq!(
        got,
        [
            (Some(7), "`${b}` in the upgrade section names no declared variable"),
            (Some(11), "`${d}` in the downgrade section names no declared variable"),
        ]
    );
    assert!(e[0].to_string().contains("a_m.sql:7"), "{}", e[0]);
}
