//! What scripts outside the project read: `--json` shapes, `--quiet`,
//! one revision a line, no colour on a pipe (checked for every command by
//! support's runner).

use crate::support::{migrate, ok, repo};
use serde_json::{Value, json};

fn m(url: &str) -> assert_cmd::Command {
    let mut cmd = migrate(&repo());
    cmd.args(["--dir", "migrations", "--database-url", url]);
    cmd
}

#[test]
fn json_shapes_of_current_heads_and_history() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", tmp.path().join("app.db").display());
    let parse = |text: String| -> Value { serde_json::from_str(&text).expect("one JSON document") };

    // Stamping base creates the file and the history table, recording nothing.
    ok(&mut m(&url), &["stamp", "base", "-q"]);
    assert_eq!(parse(ok(&mut m(&url), &["current", "--json"])), json!([]));
    ok(&mut m(&url), &["upgrade", "ae1027a6acf0", "-q"]);
    assert_eq!(
        parse(ok(&mut m(&url), &["current", "--json"])),
        json!([{"revision": "ae1027a6acf0", "message": "add account email", "head": false}])
    );
    assert_eq!(
        parse(ok(&mut m(&url), &["heads", "--json"])),
        json!([{
            "revision": "3cf1ce5e1a9b",
            "down_revisions": ["ae1027a6acf0", "27c6a30d7c24"],
            "message": "merge email and audit log",
            "file": "migrations/3cf1ce5e1a9b_merge_email_and_audit_log.sql",
        }])
    );

    let history = parse(ok(&mut m(&url), &["history", "--json"]));
    assert_eq!(history["database"], json!(true));
    let revisions = history["revisions"].as_array().unwrap();
    let ids: Vec<&str> = revisions.iter().map(|r| r["revision"].as_str().unwrap()).collect();
    assert_eq!(ids, ["3cf1ce5e1a9b", "ae1027a6acf0", "27c6a30d7c24", "1975ea83b712"]);
    let email = &revisions[1];
    let applied = &email["applied"];
    assert!(applied["applied_at"].as_str().unwrap().ends_with('Z'));
    assert!(applied["execution_ms"].is_u64());
    assert_eq!(
        (
            applied["state"].clone(),
            applied["checksum"].as_str().unwrap().starts_with("sha256:")
        ),
        (json!("applied"), true)
    );
    let mut email = email.clone();
    email.as_object_mut().unwrap().remove("applied");
    assert_eq!(
        email,
        json!({
            "revision": "ae1027a6acf0",
            "phase": null,
            "down_revisions": ["1975ea83b712"],
            "message": "add account email",
            "file": "migrations/ae1027a6acf0_add_account_email.sql",
            "head": false,
            "current": true,
            "known": true,
        })
    );
    assert_eq!(revisions[0]["applied"], Value::Null);
    assert_eq!(revisions[0]["head"], json!(true));
    assert_eq!(revisions[2]["applied"], Value::Null);

    // Without a database, the folder alone.
    let mut folder_only = migrate(&repo());
    let history = parse(ok(&mut folder_only, &["history", "--json", "--dir", "migrations"]));
    assert_eq!(history["database"], json!(false));
    assert_eq!(history["revisions"].as_array().unwrap().len(), 4);
}

#[test]
fn quiet_keeps_results_and_drops_progress() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", tmp.path().join("app.db").display());
    let up = crate::support::run(&mut m(&url), &["upgrade", "head", "--quiet"]);
    assert_eq!((up.code, up.stdout.as_str(), up.stderr.as_str()), (0, "", ""));
    assert_eq!(ok(&mut m(&url), &["current", "-q"]), "3cf1ce5e1a9b (head)\n");
    let again = crate::support::run(&mut m(&url), &["upgrade", "head"]);
    assert_eq!(again.stdout, "");
    assert_eq!(again.stderr, "Nothing to do: the database is already at `head`.\n");
    let again = crate::support::run(&mut m(&url), &["upgrade", "head", "-q"]);
    assert_eq!((again.stdout.as_str(), again.stderr.as_str()), ("", ""));
}

#[test]
fn history_ranges_show_and_stamp() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", tmp.path().join("app.db").display());
    let folder = || {
        let mut cmd = migrate(&repo());
        cmd.args(["--dir", "migrations"]);
        cmd
    };
    assert_eq!(
        ok(&mut folder(), &["history"]),
        "ae1027a6acf0, 27c6a30d7c24 -> 3cf1ce5e1a9b (head) (mergepoint), merge email and audit log\n\
         1975ea83b712 -> ae1027a6acf0, add account email\n\
         1975ea83b712 -> 27c6a30d7c24, create audit log\n\
         <base> -> 1975ea83b712 (branchpoint), create account table\n"
    );
    assert_eq!(
        ok(&mut folder(), &["history", "-r", "base:ae10"]),
        "1975ea83b712 -> ae1027a6acf0, add account email\n<base> -> 1975ea83b712 (branchpoint), create account table\n"
    );
    assert_eq!(
        ok(&mut folder(), &["history", "-r", "27c6:"]),
        "ae1027a6acf0, 27c6a30d7c24 -> 3cf1ce5e1a9b (head) (mergepoint), merge email and audit log\n\
         1975ea83b712 -> 27c6a30d7c24, create audit log\n"
    );
    let verbose = ok(&mut folder(), &["history", "--verbose", "-r", "ae10:ae10"]);
    assert_eq!(
        verbose,
        "Rev: ae1027a6acf0\nParent: 1975ea83b712\nPath: migrations/ae1027a6acf0_add_account_email.sql\n\n    add account email\n\n"
    );
    let show = ok(&mut folder(), &["show", "ae10"]);
    assert!(
        show.starts_with("Rev: ae1027a6acf0\nParent: 1975ea83b712\nChildren: 3cf1ce5e1a9b\n"),
        "{show}"
    );
    assert!(
        show.contains("\n-- migrate:upgrade\nALTER TABLE account ADD COLUMN email VARCHAR(254);\n"),
        "{show}"
    );
    assert!(
        show.contains("\n-- migrate:downgrade\nDROP INDEX account_email;\n"),
        "{show}"
    );
    assert!(ok(&mut folder(), &["show", "head"]).starts_with("Rev: 3cf1ce5e1a9b (head)\n"));

    // stamp records without running SQL; history marks it.
    assert_eq!(
        ok(&mut m(&url), &["stamp", "ae10"]),
        "Running stamp_revision  -> 1975ea83b712, create account table\nRunning stamp_revision 1975ea83b712 -> ae1027a6acf0, add account email\n"
    );
    let history = ok(&mut m(&url), &["history"]);
    assert!(
        history.contains("1975ea83b712 -> ae1027a6acf0 (current), add account email\n"),
        "{history}"
    );
    assert!(
        history.contains("<base> -> 1975ea83b712 (applied) (branchpoint)"),
        "{history}"
    );
    assert!(
        history.contains("1975ea83b712 -> 27c6a30d7c24, create audit log\n"),
        "{history}"
    );
    assert_eq!(
        ok(&mut m(&url), &["stamp", "base"]),
        "Running stamp_revision ae1027a6acf0 -> 1975ea83b712, add account email\nRunning stamp_revision 1975ea83b712 -> , create account table\n"
    );
    // resolve answers for a revision with no row.
    let e = crate::support::fails(&mut m(&url), &["resolve", "ae1027a6acf0", "--applied"], 1);
    assert_eq!(e, "error: revision `ae1027a6acf0` has no row in the history table\n");
}

/// The library's warnings reach the person running the command line, as
/// `warning: …` lines on stderr (also with `--quiet`), and `MIGRATE_LOG`
/// says how much more: `off`, `debug` (every statement sent, none of sqlx's
/// own events), or an unreadable value, which is said.
#[test]
fn the_library_s_warnings_reach_stderr_and_migrate_log_says_how_much() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("migrations");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("0a1b2c3d4e5f_timed.sql"),
        "-- timed\n--\n-- revision: 0a1b2c3d4e5f\n-- down_revision:\n-- migrate:lock-timeout: 5s\n\n\
         -- migrate:upgrade\nCREATE TABLE timed (id INTEGER PRIMARY KEY);\n\n\
         -- migrate:downgrade\nDROP TABLE timed;\n",
    )
    .unwrap();
    let url = format!("sqlite:{}?mode=rwc", tmp.path().join("app.db").display());
    let run = |log: Option<&str>, args: &[&str]| {
        let mut cmd = migrate(tmp.path());
        cmd.args(["--database-url", &url]);
        if let Some(level) = log {
            cmd.env("MIGRATE_LOG", level);
        }
        crate::support::run(&mut cmd, args)
    };
    let warning = "warning: SQLite has no lock timeout or statement timeout: the ones in this revision's header are ignored (revision: 0a1b2c3d4e5f)\n";

    let up = run(None, &["upgrade", "head"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    assert_eq!(up.stderr.matches(warning).count(), 1, "{}", up.stderr);
    assert!(
        !up.stderr.contains("debug:") && !up.stderr.contains("info:"),
        "{}",
        up.stderr
    );

    let quiet = run(None, &["downgrade", "base", "--quiet"]);
    assert_eq!(
        (quiet.code, quiet.stdout.as_str(), quiet.stderr.as_str()),
        (0, "", warning)
    );

    let off = run(Some("off"), &["upgrade", "head"]);
    assert_eq!(off.code, 0, "{}", off.stderr);
    assert!(!off.stderr.contains("warning:"), "{}", off.stderr);

    let debug = run(Some("debug"), &["downgrade", "base"]);
    assert_eq!(debug.code, 0, "{}", debug.stderr);
    assert!(debug.stderr.contains(warning), "{}", debug.stderr);
    assert!(
        debug.stderr.contains("\nDROP TABLE timed;\n"),
        "every statement sent: {}",
        debug.stderr
    );
    assert!(
        debug
            .stderr
            .lines()
            .any(|l| l.starts_with("debug: ") && l.contains("migrate_history")),
        "{}",
        debug.stderr
    );
    // sqlx's own query events (their `rows_affected`, `elapsed` fields) are not migrate's log.
    assert!(
        !debug.stderr.contains("rows_affected") && !debug.stderr.contains("elapsed"),
        "{}",
        debug.stderr
    );

    let bogus = run(Some("loud"), &["upgrade", "head"]);
    assert_eq!(bogus.code, 0, "{}", bogus.stderr);
    assert!(
        bogus.stderr.starts_with(
            "warning: MIGRATE_LOG=\"loud\" is not a level (off, error, warn, info, debug, trace); printing warnings\n"
        ),
        "{}",
        bogus.stderr
    );
    assert!(bogus.stderr.contains(warning), "{}", bogus.stderr);
}
