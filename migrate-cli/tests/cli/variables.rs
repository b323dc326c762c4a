//! Declared variables from the command line: `--var NAME=VALUE` over
//! `MIGRATE_VAR_NAME` over `[vars]` in migrate.toml over the declaration's
//! default, the same in a run and in a `--sql` script, where a secret stays
//! `${NAME}`.

use crate::support::{fails, migrate, ok, program};
use std::path::Path;

/// A folder with one revision creating `t_${who}` and storing `${pw}`
/// (secret), and a config file whose `[vars]` says `who = "file"`.
fn project(cwd: &Path, vars: &str) {
    std::fs::create_dir_all(cwd.join("migrations")).unwrap();
    std::fs::write(
        cwd.join("migrations/v1_m.sql"),
        "-- v1\n-- revision: v1\n-- down_revision:\n-- migrate:var who\n-- migrate:var note = it's the default\n-- migrate:var secret pw = zz_secret_9\n\n-- migrate:upgrade\nCREATE TABLE t_${who} (note VARCHAR(80), pw VARCHAR(80));\nINSERT INTO t_${who} VALUES ('${note}', '${pw}');\n-- ${who} stays in a comment\n\n-- migrate:downgrade\nDROP TABLE t_${who};\n",
    )
    .unwrap();
    std::fs::write(
        cwd.join("migrate.toml"),
        format!("database_url = \"sqlite:{}\"\n\n{vars}", cwd.join("app.db").display()),
    )
    .unwrap();
}

#[test]
fn flags_over_the_environment_over_the_config_file() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd, "[vars]\nwho = \"file\"\n");
    let script = |env: Option<&str>, flags: &[&str]| {
        let mut cmd = migrate(cwd);
        if let Some(v) = env {
            cmd.env("MIGRATE_VAR_who", v);
        }
        let mut args = vec!["upgrade", "--sql", "--dialect", "sqlite"];
        args.extend(flags);
        ok(&mut cmd, &args)
    };
    assert!(script(None, &[]).contains("CREATE TABLE t_file "));
    assert!(script(Some("env"), &[]).contains("CREATE TABLE t_env "));
    let flagged = script(Some("env"), &["--var", "who=flag", "--var", "note=it's set"]);
    assert!(flagged.contains("CREATE TABLE t_flag "), "{flagged}");
    // A value in a string has its quote doubled; a comment keeps its `${…}`.
    assert!(flagged.contains("VALUES ('it''s set', '${pw}')"), "{flagged}");
    assert!(flagged.contains("-- ${who} stays in a comment"), "{flagged}");

    // A run takes the same values; the history keeps the downgrade as written.
    let mut cmd = migrate(cwd);
    ok(cmd.env("MIGRATE_VAR_who", "env"), &["upgrade"]);
    let db = cwd.join("app.db");
    let db = db.to_str().unwrap();
    assert_eq!(
        program("sqlite3", &[db, "SELECT note, pw FROM t_env"], None).trim(),
        "it's the default|zz_secret_9"
    );
    let stored = program(
        "sqlite3",
        &[db, "SELECT downgrade FROM migrate_history WHERE revision = 'v1'"],
        None,
    );
    assert_eq!(stored.trim(), "DROP TABLE t_${who};");
    let history = program("sqlite3", &[db, ".dump migrate_history"], None);
    assert!(!history.contains("zz_secret_9"), "{history}");
    ok(migrate(cwd).env("MIGRATE_VAR_who", "env"), &["downgrade", "base"]);
    assert_eq!(
        program(
            "sqlite3",
            &[db, "SELECT name FROM sqlite_master WHERE name = 't_env'"],
            None
        )
        .trim(),
        ""
    );
}

#[test]
fn a_secret_stays_a_placeholder_in_a_script() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd, "[vars]\nwho = \"file\"\npw = \"zz_from_file\"\n");
    let out = ok(
        &mut migrate(cwd),
        &["upgrade", "--sql", "--dialect", "postgres", "--var", "pw=zz_from_flag"],
    );
    assert!(!out.contains("zz_"), "{out}");
    assert!(
        out.contains("'${pw}'") && out.contains("`${pw}` is the secret variable pw"),
        "{out}"
    );
    // A downgrade that does not use the secret gets no line about it.
    let down = ok(
        &mut migrate(cwd),
        &["downgrade", "--sql", "--dialect", "postgres", "v1:base"],
    );
    assert!(!down.contains("${pw}") && !down.contains("secret variable"), "{down}");
}

/// A name one revision declares `secret` is secret in every revision: one
/// declaring it plainly neither prints its value in a script nor lets a run
/// of it alone log it.
#[test]
fn a_secret_is_secret_in_every_revision_that_uses_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd, "[vars]\nwho = \"file\"\npw = \"zz_from_file\"\n");
    std::fs::write(
        cwd.join("migrations/v2_m.sql"),
        "-- v2\n-- revision: v2\n-- down_revision: v1\n-- migrate:var pw\n\n-- migrate:upgrade\nINSERT INTO t_file VALUES ('again', '${pw}');\n\n-- migrate:downgrade\nDELETE FROM t_file WHERE pw = '${pw}';\n",
    )
    .unwrap();
    for args in [
        &["upgrade", "--sql", "--dialect", "postgres"][..],
        &["upgrade", "--sql", "--dialect", "mysql", "v1:head"],
        &["downgrade", "--sql", "--dialect", "sqlite", "head:v1"],
    ] {
        let out = ok(&mut migrate(cwd), args);
        assert!(!out.contains("zz_"), "{args:?}: {out}");
        assert!(out.contains("`${pw}` is the secret variable pw"), "{args:?}: {out}");
    }
    // Online, v2 alone (v1 applied earlier): its SQL in the debug log shows `${pw}`.
    ok(&mut migrate(cwd), &["upgrade", "v1"]);
    let run = crate::support::run(migrate(cwd).env("MIGRATE_LOG", "debug"), &["upgrade"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("INSERT INTO t_file VALUES ('again', '${pw}')"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("zz_from_file"), "{}", run.stderr);
    let stored = program(
        "sqlite3",
        &[
            cwd.join("app.db").to_str().unwrap(),
            "SELECT pw FROM t_file ORDER BY note",
        ],
        None,
    );
    assert_eq!(stored, "zz_from_file\nzz_from_file\n");
}

#[test]
fn a_variable_without_a_value_stops_the_run_before_it_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd, "");
    let err = fails(&mut migrate(cwd), &["upgrade"], 1);
    assert!(
        err.contains("v1") && err.contains("`who`") && err.contains("nothing was changed"),
        "{err}"
    );
    let db = cwd.join("app.db");
    let tables = program(
        "sqlite3",
        &[
            db.to_str().unwrap(),
            "SELECT name FROM sqlite_master WHERE name LIKE 't_%'",
        ],
        None,
    );
    assert_eq!(tables.trim(), "");
    let err = fails(&mut migrate(cwd), &["upgrade", "--sql", "--dialect", "sqlite"], 1);
    assert!(err.contains("`who`"), "{err}");
    let err = fails(&mut migrate(cwd), &["upgrade", "--var", "who"], 2);
    assert!(err.contains("NAME=VALUE"), "{err}");
}
