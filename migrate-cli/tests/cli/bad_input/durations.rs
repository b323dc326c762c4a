//! Durations out of range, as flags and as migrate.toml keys: once a panic
//! (`--lock-timeout 18446744073709551615` while another migrator held the
//! lock) or the server's "bigint out of range" naming nothing (`--lease-ttl
//! 5000000000000h`) (issue 22, bug 6). Each is a usage error (exit 2) naming
//! the flag or key and the range it takes, before anything connects.

use super::*;

#[test]
fn flags_out_of_range_name_themselves_and_their_range() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir(cwd.join("migrations")).unwrap();
    let url = sqlite_url(cwd);
    for (args, says) in [
        (
            &["--lock-timeout", "18446744073709551615", "upgrade"][..],
            "invalid value '18446744073709551615' for '--lock-timeout <SECONDS>': 18446744073709551615 seconds is out of range: it must be from 0 to 31536000 seconds (a year)",
        ),
        (
            &["--lease-ttl", "5000000000000h", "upgrade"],
            "invalid value '5000000000000h' for '--lease-ttl <DURATION>': 5000000000000h is out of range: it must be from 100ms to 24h (a day)",
        ),
        (
            &["upgrade", "--lease-ttl", "25h"],
            "for '--lease-ttl <DURATION>': 25h is out of range",
        ),
        (
            &["upgrade", "--ddl-lock-timeout", "0s"],
            "for '--ddl-lock-timeout <DURATION>': 0ms is out of range: it must be from 1ms to 576h (24 days: PostgreSQL takes no longer)",
        ),
        (
            &["upgrade", "--statement-timeout", "100000h"],
            "for '--statement-timeout <DURATION>': 100000h is out of range",
        ),
        (
            &["wait", "--timeout", "9000h"],
            "for '--timeout <DURATION>': 9000h is out of range: it must be from 0ms to 8760h (a year)",
        ),
        (
            &["current", "--connect-timeout", "2h"],
            "for '--connect-timeout <DURATION>': 2h is out of range: it must be from 1ms to 1h (an hour)",
        ),
    ] {
        let e = fails(&mut migrate(cwd), &[&["--database-url", &url], args].concat(), 2);
        assert!(e.contains(says), "{args:?}: {e}");
    }
    assert!(!cwd.join("app.db").exists(), "nothing connected");
    // The largest of each is taken.
    ok_run(
        cwd,
        &[
            "--lock-timeout",
            "31536000",
            "--lease-ttl",
            "24h",
            "upgrade",
            "--database-url",
            &url,
        ],
    );
}

#[test]
fn config_keys_out_of_range_name_the_key_and_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir(cwd.join("migrations")).unwrap();
    let url = sqlite_url(cwd);
    for (key, says) in [
        (
            "lock_timeout = 99999999999",
            "`lock_timeout` in the config file `migrate.toml`: 99999999999 seconds is out of range: it must be from 0 to 31536000 seconds (a year)",
        ),
        (
            "lease_ttl = \"5000000000000h\"",
            "`lease_ttl` in the config file `migrate.toml`: 5000000000000h is out of range: it must be from 100ms to 24h (a day)",
        ),
        (
            "ddl_lock_timeout = \"0ms\"",
            "`ddl_lock_timeout` in the config file `migrate.toml`: 0ms is out of range",
        ),
        (
            "statement_timeout = \"600h\"",
            "`statement_timeout` in the config file `migrate.toml`: 600h is out of range",
        ),
        (
            "connect_timeout = \"90min\"",
            "`connect_timeout` in the config file `migrate.toml`: 90min is out of range",
        ),
    ] {
        std::fs::write(cwd.join("migrate.toml"), format!("database_url = \"{url}\"\n{key}\n")).unwrap();
        let e = fails(&mut migrate(cwd), &["upgrade"], 2);
        assert!(
            e.starts_with(&format!("error: {says}")) && e.lines().count() == 1,
            "{key}: {e}"
        );
    }
    assert!(!cwd.join("app.db").exists(), "nothing connected");
    // A flag wins over the file's key, which is then not used.
    std::fs::write(
        cwd.join("migrate.toml"),
        format!("database_url = \"{url}\"\nlease_ttl = \"5000000000000h\"\nlock_timeout = 99999999999\n"),
    )
    .unwrap();
    ok_run(cwd, &["upgrade", "--lease-ttl", "24h", "--lock-timeout", "5"]);
}

fn ok_run(cwd: &std::path::Path, args: &[&str]) {
    crate::support::ok(&mut migrate(cwd), args);
}
