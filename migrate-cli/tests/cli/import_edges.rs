//! What each tool runs that an import must take as the tool takes it:
//! a goose block left without its `;`, files the tools pass by (goose's
//! `embed.go`, an editor's backup beside a Flyway migration, a file named
//! in any script), a dbmate marker only at the start of its line (one
//! indented in a string is the string's),
//! refinery's `int8-versions`, golang-migrate's version 0, an index built
//! concurrently outside a transaction, a `${…}` that the tools never replace.

use crate::import_tools::{import, imported, write};
use crate::support::{migrate, ok};

#[test]
fn a_goose_block_without_its_semicolon_stays_a_statement_of_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write(
        &cwd.join("goose"),
        &[
            (
                "1_tables.sql",
                "-- +goose Up\nCREATE TABLE a (id INTEGER);\n-- +goose StatementBegin\nCREATE TRIGGER a_ins AFTER INSERT ON a BEGIN SELECT 1; END\n-- +goose StatementEnd\n-- +goose StatementBegin\nCREATE TABLE b (id INTEGER)\n-- +goose StatementEnd\n-- +goose Down\nDROP TABLE b;\nDROP TABLE a;\n",
            ),
            // goose passes by a Go file that is not a migration.
            (
                "embed.go",
                "package migrations\n\nimport \"embed\"\n\n//go:embed *.sql\nvar FS embed.FS\n",
            ),
        ],
    );
    import(cwd, "goose", "goose");
    let url = format!("sqlite:{}?mode=rwc", cwd.join("app.db").display());
    ok(&mut migrate(cwd), &["upgrade", "head", "--database-url", &url]);
    let tables = ok(&mut migrate(cwd), &["schema", "dump", "--database-url", &url]);
    for made in ["a_ins", "CREATE TABLE b"] {
        assert!(tables.contains(made), "{made}: {tables}");
    }
}

#[test]
fn files_the_tools_pass_by_and_versions_they_take() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    // Flyway: an editor's backup and a note beside the migration, a name in any script.
    write(
        &cwd.join("flyway"),
        &[
            ("V1__init.sql", "CREATE TABLE t (id INT);\n"),
            ("V1__init.sql~", "CREATE TABLE old (id INT);\n"),
            ("Änderungen.txt", "notes\n"),
        ],
    );
    import(cwd, "flyway", "flyway");
    let (_, text) = imported(cwd, "flyway", "1");
    assert!(text.contains("CREATE TABLE t") && !text.contains("old"), "{text}");

    // dbmate: its markers stand at the start of their line, never inside a string.
    let cwd = tmp.path().join("dbmate_project");
    write(
        &cwd.join("db"),
        &[(
            "20240101000000_notes.sql",
            "-- migrate:up\ncreate table notes (body text default '\n  -- migrate:down\n');\n\n-- migrate:down\ndrop table notes;\n",
        )],
    );
    // dbmate keeps the indented line in the string; a migrate file cannot hold
    // it (it reads as a directive): refused as such, never cut at that line.
    let said = crate::support::fails(&mut migrate(&cwd), &["import", "dbmate", "db"], 1);
    assert!(
        said.contains("20240101000000_notes.sql")
            && said.contains("does not read back")
            && said.contains("nothing was written"),
        "{said}"
    );

    // refinery with `int8-versions`: a version past i32.
    let cwd = tmp.path().join("refinery_project");
    write(
        &cwd.join("sql"),
        &[("V20240101120000__init.sql", "CREATE TABLE r (id INT);\n")],
    );
    import(&cwd, "refinery", "sql");
    imported(&cwd, "refinery", "20240101120000");

    // golang-migrate's version 0, before version 1.
    let cwd = tmp.path().join("golang_project");
    write(
        &cwd.join("m"),
        &[
            ("0_init.up.sql", "CREATE TABLE g0 (id INT);\n"),
            ("0_init.down.sql", "DROP TABLE g0;\n"),
            ("1_more.up.sql", "CREATE TABLE g1 (id INT);\n"),
        ],
    );
    import(&cwd, "golang-migrate", "m");
    let (first, _) = imported(&cwd, "golang-migrate", "0");
    let (_, second) = imported(&cwd, "golang-migrate", "1");
    assert!(second.contains(&format!("-- down_revision: {first}")), "{second}");
}

/// A one-statement `CREATE INDEX CONCURRENTLY` file: golang-migrate sends it
/// in no transaction, and Flyway runs such a migration outside one; the
/// revision is `-- migrate:no-transaction`, where a transaction would refuse it.
#[test]
fn an_index_built_concurrently_runs_outside_a_transaction_as_the_tools_run_it() {
    let tmp = tempfile::tempdir().unwrap();
    let golang = tmp.path().join("golang_project");
    write(
        &golang.join("m"),
        &[
            ("1_t.up.sql", "CREATE TABLE t (id INT);\n"),
            ("2_idx.up.sql", "CREATE INDEX CONCURRENTLY t_id ON t (id);\n"),
            ("2_idx.down.sql", "DROP INDEX CONCURRENTLY t_id;\n"),
        ],
    );
    import(&golang, "golang-migrate", "m");
    let (_, index) = imported(&golang, "golang-migrate", "2");
    assert!(index.contains("-- migrate:no-transaction"), "{index}");
    let (_, table) = imported(&golang, "golang-migrate", "1");
    assert!(!table.contains("-- migrate:no-transaction"), "{table}");
    let flyway = tmp.path().join("flyway_project");
    write(
        &flyway.join("sql"),
        &[
            ("V1__t.sql", "CREATE TABLE t (id INT);\n"),
            ("V2__idx.sql", "CREATE INDEX CONCURRENTLY t_id ON t (id);\n"),
        ],
    );
    import(&flyway, "flyway", "sql");
    let (_, index) = imported(&flyway, "flyway", "2");
    assert!(index.contains("-- migrate:no-transaction"), "{index}");
}

/// sqlx, goose (without `ENVSUB`) and the other tools send `${…}` to the
/// database as written: the imported revision keeps it so
/// (`-- migrate:no-variables`), where migrate would read it as a variable.
#[test]
fn a_literal_dollar_brace_runs_as_the_tool_ran_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write(
        &cwd.join("sqlx"),
        &[
            (
                "20240101000000_templates.up.sql",
                "CREATE TABLE tpl (body TEXT);\nINSERT INTO tpl VALUES ('Hello ${name}');\n",
            ),
            ("20240101000000_templates.down.sql", "DROP TABLE tpl;\n"),
            ("20240102000000_plain.up.sql", "CREATE TABLE plain (id INTEGER);\n"),
            ("20240102000000_plain.down.sql", "DROP TABLE plain;\n"),
        ],
    );
    import(cwd, "sqlx", "sqlx");
    let (_, text) = imported(cwd, "sqlx", "20240101000000");
    assert!(text.contains("-- migrate:no-variables\n"), "{text}");
    let (_, plain) = imported(cwd, "sqlx", "20240102000000");
    assert!(!plain.contains("no-variables"), "only where a `${{…}}` is: {plain}");
    let url = format!("sqlite:{}?mode=rwc", cwd.join("app.db").display());
    ok(&mut migrate(cwd), &["upgrade", "head", "--database-url", &url]);
    let db = cwd.join("app.db");
    let body = crate::support::program("sqlite3", &[db.to_str().unwrap(), "SELECT body FROM tpl"], None);
    assert_eq!(body.trim(), "Hello ${name}");
}

/// A golang-migrate file that is one transaction (`BEGIN; … COMMIT;`, how
/// such a file asks for one, golang-migrate sending it as it is): the
/// revision runs in a transaction of its own, so the two are left out and
/// the rest kept as written. A file with other transaction control is refused.
#[test]
fn a_golang_migrate_file_that_is_one_transaction_runs_as_a_revision() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write(
        &cwd.join("m"),
        &[
            ("1_t.up.sql", "CREATE TABLE t (id INT);\n"),
            (
                "2_archive.up.sql",
                "-- Migration 2: archive\nBEGIN;\n\nALTER TABLE t ADD COLUMN archived BOOLEAN NOT NULL DEFAULT false;\n-- an index for it\nCREATE INDEX t_archived ON t (archived);\n\nCOMMIT;\n",
            ),
            (
                "2_archive.down.sql",
                "begin transaction;\nDROP INDEX t_archived;\nALTER TABLE t DROP COLUMN archived;\ncommit;\n",
            ),
        ],
    );
    import(cwd, "golang-migrate", "m");
    let (_, archive) = imported(cwd, "golang-migrate", "2");
    assert!(
        archive.contains("-- migrate:upgrade\n-- Migration 2: archive\n\n\nALTER TABLE t ADD COLUMN archived BOOLEAN NOT NULL DEFAULT false;\n-- an index for it\nCREATE INDEX t_archived ON t (archived);\n\n-- migrate:downgrade\nDROP INDEX t_archived;\nALTER TABLE t DROP COLUMN archived;\n"),
        "{archive}"
    );
    assert!(!archive.contains("-- migrate:no-transaction"), "{archive}");
    let url = format!("sqlite:{}?mode=rwc", cwd.join("app.db").display());
    ok(&mut migrate(cwd), &["upgrade", "--database-url", &url]);
    ok(&mut migrate(cwd), &["downgrade", "-1", "--database-url", &url]);

    // Two transactions in one file: not one to leave out.
    let two = tmp.path().join("two");
    write(
        &two.join("m"),
        &[(
            "1_t.up.sql",
            "BEGIN;\nCREATE TABLE a (id INT);\nCOMMIT;\nBEGIN;\nCREATE TABLE b (id INT);\nCOMMIT;\n",
        )],
    );
    let said = crate::support::fails(&mut migrate(&two), &["import", "golang-migrate", "m"], 1);
    assert!(
        said.contains("1_t.up.sql") && said.contains("nothing was written"),
        "{said}"
    );
}

/// A folder checked out with CRLF line endings (Git on Windows, an editor's
/// setting), a byte-order mark on one file: imported as the build reads any
/// migration, line endings made LF, where the read-back refused it.
#[test]
fn a_folder_with_crlf_line_endings_imports_as_with_lf() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write(
        &cwd.join("m"),
        &[
            ("1_t.up.sql", "CREATE TABLE t (\r\n  id INT,\r\n  name TEXT\r\n);\r\n"),
            ("1_t.down.sql", "\u{feff}DROP TABLE t;\r\n"),
            ("2_i.up.sql", "CREATE INDEX t_name ON t (name);\r\n"),
            ("2_i.down.sql", "DROP INDEX t_name;\r\n"),
        ],
    );
    import(cwd, "golang-migrate", "m");
    let (_, t) = imported(cwd, "golang-migrate", "1");
    assert!(
        t.contains(
            "-- migrate:upgrade\nCREATE TABLE t (\n  id INT,\n  name TEXT\n);\n\n-- migrate:downgrade\nDROP TABLE t;\n"
        ),
        "{t:?}"
    );
    let url = format!("sqlite:{}?mode=rwc", cwd.join("app.db").display());
    ok(&mut migrate(cwd), &["upgrade", "--database-url", &url]);
    ok(&mut migrate(cwd), &["downgrade", "base", "--database-url", &url]);
}

/// A diesel migration whose `down.sql` builds an index concurrently (real
/// histories have one): diesel applies every `up.sql`, and only its revert
/// of that one fails. The history imports, that revision without a
/// downgrade, its header and a warning saying why.
#[test]
fn a_downgrade_that_cannot_run_in_its_transaction_is_left_out_with_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write(
        &cwd.join("diesel"),
        &[
            (
                "2024-01-01-000000_t/up.sql",
                "CREATE TABLE t (id INT, downloads INT);\n",
            ),
            ("2024-01-01-000000_t/down.sql", "DROP TABLE t;\n"),
            (
                "2024-04-12-144536_remove_downloads/up.sql",
                "DROP INDEX IF EXISTS t_downloads;\nALTER TABLE t DROP COLUMN downloads;\n",
            ),
            (
                "2024-04-12-144536_remove_downloads/down.sql",
                "ALTER TABLE t ADD COLUMN downloads INT;\ncreate index concurrently t_downloads on t (downloads);\n",
            ),
        ],
    );
    let said = crate::support::run(&mut migrate(cwd), &["import", "diesel", "diesel"]);
    assert_eq!(said.code, 0, "{said:?}");
    assert!(
        said.stderr
            .contains("warning: the downgrade of 2024-04-12-144536_remove_downloads is left out"),
        "{}",
        said.stderr
    );
    assert!(said.stdout.contains("lint_from = \""), "{}", said.stdout);
    let (_, removed) = imported(cwd, "diesel", "20240412144536");
    assert!(
        removed.contains("-- Its downgrade is left out, as it could not run as written."),
        "{removed}"
    );
    assert!(!removed.contains("-- migrate:downgrade"), "{removed}");
    let (_, table) = imported(cwd, "diesel", "20240101000000");
    assert!(table.contains("-- migrate:downgrade\nDROP TABLE t;"), "{table}");
}

/// A migration that changes the tool's own history table (real sqlx and
/// golang-migrate histories have one) imports, and the import names it: a
/// database migrate makes has no such table.
#[test]
fn a_migration_changing_the_tools_own_history_table_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    write(
        &cwd.join("sqlx"),
        &[
            ("20240101000000_t.sql", "CREATE TABLE t (id INT);\n"),
            (
                "20240102000000_forget.sql",
                "DELETE FROM public._sqlx_migrations WHERE version = 20231230100000;\n",
            ),
        ],
    );
    let said = crate::support::run(&mut migrate(cwd), &["import", "sqlx", "sqlx"]);
    assert_eq!(said.code, 0, "{said:?}");
    assert!(
        said.stderr
            .contains("warning: 20240102000000_forget.sql change `_sqlx_migrations`, sqlx's own history table"),
        "{}",
        said.stderr
    );
    assert!(!said.stderr.contains("20240101000000_t.sql"), "{}", said.stderr);
}
