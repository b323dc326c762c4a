//! The self-migrating example (`examples/embedded_cli.rs`): its `db`
//! subcommand runs the verbs over the list built into it, and says what
//! `migrate` says over the folder it was built from.

use crate::support::{embedded, fails, migrate, ok, repo, run};

#[test]
fn db_subcommand_of_a_self_migrating_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", tmp.path().join("app.db").display());
    let twin = format!("sqlite:{}", tmp.path().join("twin.db").display());
    // The example runs anywhere: no folder needed.
    let app = || {
        let mut cmd = embedded(tmp.path());
        cmd.env("DATABASE_URL", &url);
        cmd
    };
    let tool = || {
        let mut cmd = migrate(&repo());
        cmd.args(["--dir", "migrations"]).env("DATABASE_URL", &twin);
        cmd
    };
    let both = |args: &[&str]| {
        let said = ok(&mut app(), &[&["db"], args].concat());
        assert_eq!(said, ok(&mut tool(), args), "{args:?}");
        said
    };

    let up = both(&["upgrade", "head"]);
    assert_eq!(
        up,
        "Running upgrade  -> 1975ea83b712, create account table\n\
         Running upgrade 1975ea83b712 -> 27c6a30d7c24, create audit log\n\
         Running upgrade 1975ea83b712 -> ae1027a6acf0, add account email\n\
         Running upgrade ae1027a6acf0, 27c6a30d7c24 -> 3cf1ce5e1a9b, merge email and audit log\n"
    );
    assert_eq!(both(&["current"]), "3cf1ce5e1a9b (head)\n");
    assert_eq!(
        both(&["downgrade", "-1"]),
        "Running downgrade 3cf1ce5e1a9b -> ae1027a6acf0, 27c6a30d7c24, merge email and audit log\n"
    );
    assert_eq!(both(&["current"]), "27c6a30d7c24\nae1027a6acf0\n");
    let history = both(&["history"]);
    assert!(
        history.starts_with("ae1027a6acf0, 27c6a30d7c24 -> 3cf1ce5e1a9b (head) (mergepoint), merge"),
        "{history}"
    );
    assert!(
        history.contains("1975ea83b712 -> ae1027a6acf0 (current), add account email\n"),
        "{history}"
    );
    both(&["heads"]);
    both(&["current", "--json"]);
    both(&["show", "ae10"]);
    // Readiness, as a replica that does not migrate asks it: one revision pending is exit 3.
    let e = fails(&mut app(), &["db", "current", "--check"], 3);
    assert_eq!(e, fails(&mut tool(), &["current", "--check"], 3));
    let e = fails(&mut app(), &["db", "wait", "--timeout", "100ms"], 3);
    assert!(e.contains("lacks 1 of this build's revisions (3cf1ce5e1a9b)"), "{e}");
    both(&[
        "upgrade",
        "--phase",
        "expand",
        "--ddl-lock-timeout",
        "5s",
        "--lock-attempts",
        "2",
    ]);
    assert_eq!(both(&["current", "--check"]), "3cf1ce5e1a9b (head)\n");
    both(&["wait", "--timeout", "1s"]);
    both(&["downgrade", "-1"]);

    let script = both(&["upgrade", "--sql"]);
    assert!(script.starts_with("-- upgrade base:head for sqlite"), "{script}");
    for dialect in ["postgres", "mysql"] {
        both(&["upgrade", "--sql", "--dialect", dialect]);
        both(&["downgrade", "--sql", "--dialect", dialect, "head:base"]);
    }

    let e = fails(&mut app(), &["db", "upgrade", "--dir", "migrations"], 2);
    assert!(e.contains("--dir is for the `migrate` command line"), "{e}");
    let e = fails(&mut app(), &["db", "upgrade", "zz"], 1);
    assert_eq!(
        e,
        "error: no revision matches `zz`; the `history` command lists the revisions\n"
    );
    let served = run(&mut app(), &["serve"]);
    assert_eq!(served.stdout, "serving with 4 embedded migrations\n");
}

/// The README's quick start, as `examples/self_migrate.rs` runs it: it migrates
/// on start-up, and a failure prints the error's one sentence, not its Debug form.
#[test]
fn a_self_migrating_binary_prints_its_error_as_a_sentence() {
    let tmp = tempfile::tempdir().unwrap();
    let app = |cwd: &std::path::Path| crate::support::example("self_migrate", cwd);
    let db = tmp.path().join("app.db");
    let said = ok(&mut app(tmp.path()), &[db.to_str().unwrap()]);
    assert!(said.contains("applied "), "{said}");
    let said = ok(&mut app(tmp.path()), &[db.to_str().unwrap()]);
    assert!(said.contains("already up to date"), "{said}");
    let r = run(&mut app(tmp.path()), &["/nonexistent/folder/app.db"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.starts_with("error: opening /nonexistent/folder/app.db: "),
        "{r:?}"
    );
    assert!(
        !r.stderr.contains("Database {") && !r.stderr.contains("source:"),
        "no Debug form: {r:?}"
    );
}
