//! A server that accepts the connection and never answers (a firewall's
//! black hole, the wrong port of a busy host): every command once waited for
//! ever (issue 22, bug 5). Connecting, the handshake included, now gives up
//! after `--connect-timeout` (or `connect_timeout`, default 30 s), and
//! `wait --timeout` bounds the whole call; each error names the URL, its
//! password masked.

use super::*;
use crate::support::run;
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// A port where connections are accepted and never answered, for the life of the test process.
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

/// Runs `migrate` with `args`, expecting exit 1 within `bound`; returns stderr.
fn gives_up(cwd: &std::path::Path, args: &[&str], bound: Duration) -> String {
    let started = Instant::now();
    let r = run(migrate(cwd).timeout(bound + Duration::from_secs(10)), args);
    let took = started.elapsed();
    assert_eq!(r.code, 1, "{args:?}: {r:?}");
    assert!(took < bound + Duration::from_secs(5), "{args:?} took {took:?}");
    assert!(
        !r.stderr.contains("S3cret") && !r.stdout.contains("S3cret"),
        "a password is printed: {r:?}"
    );
    r.stderr
}

#[test]
fn a_server_that_never_answers_is_given_up_on() {
    let port = silent_server();
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir(cwd.join("migrations")).unwrap();
    for scheme in ["postgres", "mysql"] {
        let url = format!("{scheme}://app:S3cret@127.0.0.1:{port}/app");
        let shown = format!("`{scheme}://app:***@127.0.0.1:{port}/app`");
        let e = gives_up(
            cwd,
            &["current", "--connect-timeout", "2s", "--database-url", &url],
            Duration::from_secs(2),
        );
        assert_eq!(
            e,
            format!(
                "error: cannot connect to the database at {shown}: no answer within 2s (are the host and port right, and is a database listening there?); --connect-timeout (or `connect_timeout` in migrate.toml) gives it longer\n"
            )
        );
        // `wait --timeout` bounds connecting too, and says that is what ran out.
        let e = gives_up(
            cwd,
            &["wait", "--timeout", "3s", "--database-url", &url],
            Duration::from_secs(3),
        );
        assert!(e.contains(&format!("at {shown}: no answer within 3s")), "{e}");
        assert!(e.contains("`wait --timeout`, which bounds connecting too"), "{e}");
        // The config file's key, for `upgrade`.
        std::fs::write(
            cwd.join("migrate.toml"),
            format!("database_url = \"{url}\"\nconnect_timeout = \"1s\"\n"),
        )
        .unwrap();
        let e = gives_up(cwd, &["upgrade"], Duration::from_secs(1));
        assert!(e.contains(&format!("at {shown}: no answer within 1s")), "{e}");
        std::fs::remove_file(cwd.join("migrate.toml")).unwrap();
        // A whole fleet: each database gives up, and the run ends.
        let fleet = cwd.join("fleet.txt");
        std::fs::write(
            &fleet,
            format!("{scheme}://app:S3cret@127.0.0.1:{port}/one\n{scheme}://app:S3cret@127.0.0.1:{port}/two\n"),
        )
        .unwrap();
        let e = gives_up(
            cwd,
            &["upgrade", "--connect-timeout", "1s", "--each", fleet.to_str().unwrap()],
            Duration::from_secs(2),
        );
        assert!(e.contains("2 of 2 databases failed"), "{e}");
    }
}
