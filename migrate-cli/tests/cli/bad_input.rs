//! Mistakes get one clear message on stderr and a non-zero exit, never a
//! panic (support's runner fails any test whose command panicked): exit 1
//! for errors, 2 for usage.

use crate::support::{fails, migrate, repo};

fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite:{}", dir.join("app.db").display())
}

#[test]
fn unknown_target_and_ambiguous_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let url = sqlite_url(tmp.path());
    let m = || {
        let mut cmd = migrate(&repo());
        cmd.args(["--dir", "tests/fixtures/merge", "--database-url", &url]);
        cmd
    };
    let e = fails(&mut m(), &["upgrade", "zz"], 1);
    assert_eq!(
        e,
        "error: no revision matches `zz`; `migrate history` lists the revisions\n"
    );
    let e = fails(&mut m(), &["upgrade", "b"], 1);
    assert_eq!(
        e,
        "error: `b` is ambiguous: it starts b10001, b20001; give more characters\n"
    );
    let e = fails(&mut m(), &["show", "b"], 1);
    assert!(e.contains("`b` is ambiguous"), "{e}");
    let e = fails(&mut m(), &["upgrade", "nota+target"], 1);
    assert!(e.starts_with("error: `nota+target` is not a target"), "{e}");
    let e = fails(&mut m(), &["downgrade", "+1"], 1);
    assert!(e.contains("`+1` is an upgrade target"), "{e}");
    let e = fails(&mut m(), &["upgrade", "--sql", "--dialect", "sqlite", "b:head"], 1);
    assert!(e.contains("`b` is ambiguous"), "{e}");
}

#[test]
fn config_files_that_cannot_be_used() {
    let tmp = tempfile::tempdir().unwrap();
    let e = fails(&mut migrate(tmp.path()), &["heads", "--config", "nope.toml"], 1);
    assert!(e.starts_with("error: cannot read the config file `nope.toml`"), "{e}");
    let e = fails(migrate(tmp.path()).env("MIGRATE_CONFIG", "gone.toml"), &["heads"], 1);
    assert!(e.starts_with("error: cannot read the config file `gone.toml`"), "{e}");
    std::fs::write(tmp.path().join("migrate.toml"), "database_url = [oops\n").unwrap();
    let e = fails(&mut migrate(tmp.path()), &["heads"], 1);
    assert!(e.starts_with("error: invalid config file `migrate.toml`"), "{e}");
    std::fs::write(tmp.path().join("migrate.toml"), "databse_url = \"sqlite:x.db\"\n").unwrap();
    let e = fails(&mut migrate(tmp.path()), &["heads"], 1);
    assert!(
        e.contains("databse_url") && e.contains("the keys are database_url, dir, history_table"),
        "{e}"
    );
    std::fs::write(tmp.path().join("migrate.toml"), "history_table = \"bad-name\"\n").unwrap();
    let e = fails(&mut migrate(tmp.path()), &["heads"], 1);
    assert!(e.contains("`bad-name` is not a valid history table"), "{e}");
    // The line of the mistake, and the key.
    std::fs::write(
        tmp.path().join("migrate.toml"),
        "dir = \"migrations\"\n\n lock_timout = 5\n",
    )
    .unwrap();
    let e = fails(&mut migrate(tmp.path()), &["heads"], 1);
    assert!(e.contains("`migrate.toml`: line 3: unknown field `lock_timout`"), "{e}");
}

#[test]
fn database_urls_that_cannot_be_used() {
    let m = || {
        let mut cmd = migrate(&repo());
        cmd.args(["--dir", "migrations"]);
        cmd
    };
    let e = fails(&mut m(), &["current"], 1);
    assert_eq!(
        e,
        "error: no database URL: pass --database-url URL, set `database_url` in migrate.toml, or set the DATABASE_URL environment variable\n"
    );
    let e = fails(&mut m(), &["upgrade", "head", "--database-url", "app.db"], 1);
    assert!(e.starts_with("error: invalid database URL `app.db`"), "{e}");
    let e = fails(
        &mut m(),
        &["current", "--database-url", "oracle://scott:tiger1@db/orcl"],
        1,
    );
    assert!(
        e.starts_with("error: unknown database URL scheme in `oracle://scott:***@db/orcl`"),
        "{e}"
    );
    assert!(!e.contains("tiger1"));
    let e = fails(
        &mut m(),
        &["current", "--database-url", "postgres://user:secret@127.0.0.1:99999/x"],
        1,
    );
    assert!(
        e.starts_with("error: invalid database URL `postgres://user:***@127.0.0.1:99999/x`"),
        "{e}"
    );
    assert!(!e.contains("secret"));
    let e = fails(
        &mut m(),
        &["current", "--database-url", "sqlite:/nonexistent/folder/app.db"],
        1,
    );
    assert!(
        e.starts_with("error: cannot connect to the database at `sqlite:/nonexistent/folder/app.db`"),
        "{e}"
    );
}

#[test]
fn unreachable_databases_never_show_the_password() {
    for url in [
        "postgres://user:secret@127.0.0.1:1/x",
        "mysql://user:secret@127.0.0.1:1/x",
    ] {
        let e = fails(&mut migrate(&repo()), &["upgrade", "head", "--database-url", url], 1);
        assert!(e.starts_with("error: cannot connect to the database at `"), "{e}");
        assert!(e.contains("user:***@127.0.0.1:1/x"), "{e}");
        assert!(!e.contains("secret"), "{e}");
        // Also when the URL comes from the environment.
        let e = fails(migrate(&repo()).env("DATABASE_URL", url), &["history"], 1);
        assert!(!e.contains("secret"), "{e}");
    }
}

#[test]
fn no_credential_is_ever_printed_whatever_the_url_looks_like() {
    // Each URL carries the secret Zq9 + xW7, in the places drivers read credentials from,
    // spelled the ways users get wrong; the servers behind them are unreachable.
    let urls = [
        "postgres://postgres@127.0.0.1:5999/x?password=Zq9xW7",
        "postgres://postgres@127.0.0.1:5999/x?sslmode=prefer&sslpassword=Zq9xW7",
        "postgres://u:Zq9/xW7@127.0.0.1:5999/x",
        "postgres://u:Zq9#xW7@127.0.0.1:5999/x",
        "postgres://u:Zq9?xW7@127.0.0.1:5999/x",
        "u:Zq9xW7@127.0.0.1:5999/x",
        "mysql://root:Zq9xW7@127.0.0.1:5999/x",
        "mysql://root:Zq9%2FxW7@127.0.0.1:5999/x",
        "mysql://root@127.0.0.1:5999/x?password=Zq9xW7",
    ];
    let never = |said: &str, url: &str| {
        for part in ["Zq9", "xW7"] {
            assert!(!said.contains(part), "{url} leaked `{part}`:\n{said}");
        }
    };
    for url in urls {
        let e = fails(&mut migrate(&repo()), &["current", "--database-url", url], 1);
        never(&e, url);
        let e = fails(migrate(&repo()).env("DATABASE_URL", url), &["upgrade", "head"], 1);
        never(&e, url);
        let e = fails(
            &mut crate::support::embedded(&repo()),
            &["db", "current", "--database-url", url],
            1,
        );
        never(&e, url);
    }
    // A password with an unencoded delimiter gets told what to encode, not "invalid port number".
    let e = fails(
        &mut migrate(&repo()),
        &["current", "--database-url", "postgres://u:Zq9/xW7@127.0.0.1:5999/x"],
        1,
    );
    assert!(
        e.starts_with("error: invalid database URL `postgres://127.0.0.1/…`: the user name or password holds an unencoded `/`; percent-encode it"),
        "{e}"
    );
    // A forgotten scheme is named as such.
    let e = fails(
        &mut migrate(&repo()),
        &["current", "--database-url", "u:Zq9xW7@127.0.0.1:5999/x"],
        1,
    );
    assert!(e.contains("a URL starts with a scheme"), "{e}");
}

#[test]
fn usage_errors_exit_2() {
    let m = || migrate(&repo());
    let e = fails(&mut m(), &["upgrade", "--bogus"], 2);
    assert!(e.contains("--bogus"), "{e}");
    fails(&mut m(), &["frobnicate"], 2);
    fails(&mut m(), &["revision"], 2);
    fails(&mut m(), &["resolve", "abc"], 2);
    fails(&mut m(), &["current", "--dialect", "oracle"], 2);
    let e = fails(&mut m(), &["downgrade", "--sql", "--dialect", "sqlite", "base"], 2);
    assert!(e.contains("needs a FROM:TO range (e.g. `head:base`)"), "{e}");
    let e = fails(
        &mut m(),
        &["upgrade", "base:head", "--database-url", "sqlite::memory:"],
        2,
    );
    assert!(e.contains("only offline scripts take: add --sql"), "{e}");
    let e = fails(&mut m(), &["upgrade", "--sql"], 1);
    assert!(e.contains("an offline script needs a dialect"), "{e}");
}

#[test]
fn broken_folders_stop_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let e = fails(
        &mut migrate(tmp.path()),
        &["upgrade", "head", "--database-url", "sqlite::memory:"],
        1,
    );
    assert!(
        e.starts_with("error: cannot read the migrations folder `migrations`"),
        "{e}"
    );
    assert!(e.contains("= help: create it (`migrate init migrations`)"), "{e}");
    let e = fails(
        &mut migrate(&repo()),
        &["revision", "-m", "x", "--dir", "tests/ui/graph/cycle"],
        1,
    );
    assert!(e.contains("form a cycle"), "{e}");
}

#[test]
fn a_message_that_reads_as_a_header_line_writes_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("migrations")).unwrap();
    for message in [
        "revision: x",
        "down_revision: abc",
        "created: today",
        "migrate: upgrade",
    ] {
        let e = fails(&mut migrate(tmp.path()), &["revision", "-m", message], 2);
        assert!(
            e.contains("would be read as part of the file's header"),
            "{message}: {e}"
        );
    }
    let left = std::fs::read_dir(tmp.path().join("migrations")).unwrap().count();
    assert_eq!(left, 0, "no file was written");
    // Messages that merely mention those words are fine, and check accepts what was written.
    crate::support::ok(
        &mut migrate(tmp.path()),
        &["revision", "-m", "store the revision: history"],
    );
    crate::support::ok(&mut migrate(tmp.path()), &["check"]);
}

#[test]
fn changes_to_a_database_that_vanishes_are_refused() {
    for url in ["sqlite:", "sqlite::memory:", "sqlite:app.db?mode=memory"] {
        for args in [&["upgrade", "head"][..], &["stamp", "head"], &["downgrade", "base"]] {
            let mut all = args.to_vec();
            all.extend(["--dir", "migrations", "--database-url", url]);
            let e = fails(&mut migrate(&repo()), &all, 1);
            assert!(e.contains("vanishes when this command ends"), "{url} {args:?}: {e}");
            assert!(!e.contains("Running upgrade"), "{e}");
        }
    }
    // Reading one is harmless.
    crate::support::ok(
        &mut migrate(&repo()),
        &["current", "--dir", "migrations", "--database-url", "sqlite::memory:"],
    );
}

#[test]
fn a_result_that_cannot_be_written_is_an_error() {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full");
    let Ok(full) = full else {
        eprintln!("SKIPPED: this system has no /dev/full");
        return;
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_migrate"))
        .current_dir(repo())
        .env_remove("DATABASE_URL")
        .env_remove("MIGRATE_CONFIG")
        .args(["upgrade", "--sql", "--dialect", "sqlite", "--dir", "migrations"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: cannot write the output: "), "{stderr}");
}

#[test]
fn alembics_heads_is_accepted_and_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let url = sqlite_url(tmp.path());
    let r = crate::support::run(
        &mut migrate(&repo()),
        &[
            "upgrade",
            "heads",
            "--dir",
            "tests/fixtures/linear",
            "--database-url",
            &url,
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("`heads` is every head"), "{r:?}");
    let current = crate::support::ok(
        &mut migrate(&repo()),
        &["current", "--dir", "tests/fixtures/linear", "--database-url", &url],
    );
    assert_eq!(current, "4000dd (head)\n");
}
