//! Database URLs: malformed, unknown, unreachable, in memory; never a password shown.

use super::*;

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
