//! Offline scripts on PostgreSQL and MySQL/MariaDB: run by `psql` and
//! `mysql`, they leave the schema and the history rows an online run
//! leaves. Servers come from `MIGRATE_TEST_POSTGRES_URL` and
//! `MIGRATE_TEST_MYSQL_URL` (defaults: the local servers); under `CI=true`
//! an unreachable server fails the test, elsewhere it is skipped loudly.

use crate::support::{migrate, ok, program, program_with_env, repo, unavailable, unique_name};
use std::process::Command;

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let (server, _) = base.rsplit_once('/').expect("a URL with a database");
    format!("{server}/{name}{query}")
}

/// Runs the upgrade script of `folder` by hand on one database and the
/// upgrade online on another, then each `(online target, offline range)`
/// downgrade, comparing `state` after each step.
fn offline_matches_online(
    dialect: &str,
    folder: &str,
    downgrades: &[(&str, &str)],
    (online, offline): (&str, &str),
    apply: &dyn Fn(&str, &str),
    state: &dyn Fn(&str) -> String,
) {
    let m = || {
        let mut cmd = migrate(&repo());
        cmd.args(["--dir", folder]);
        cmd
    };
    let script = ok(&mut m(), &["upgrade", "--sql", "--dialect", dialect]);
    // The URL's scheme names the dialect as well as --dialect does.
    assert_eq!(script, ok(&mut m(), &["upgrade", "--sql", "--database-url", offline]));
    apply(offline, &script);
    ok(&mut m(), &["upgrade", "head", "-q", "--database-url", online]);
    let mut before = state(online);
    assert!(before.contains("|applied|"), "{before}");
    assert_eq!(state(offline), before, "{folder} upgraded");

    for (target, range) in downgrades {
        let script = ok(&mut m(), &["downgrade", "--sql", "--dialect", dialect, range]);
        apply(offline, &script);
        ok(&mut m(), &["downgrade", target, "-q", "--database-url", online]);
        let after = state(online);
        assert_ne!(after, before, "{folder}: downgrade {target} changed nothing");
        assert_eq!(state(offline), after, "{folder}: downgrade {target} / {range}");
        before = after;
    }
}

/// A fresh database, dropped when the test ends (also when it fails).
pub(crate) struct Db {
    pub(crate) url: String,
    drop: Box<dyn Fn()>,
}

impl Db {
    /// Creates a database on `server` through `exec(url, sql)`, and drops
    /// it at the end through `forget(url, sql)`, which must not panic.
    fn new(server: &str, exec: fn(&str, &str), forget: fn(&str, &str)) -> Db {
        let name = unique_name("migrate_t_cli");
        exec(server, &format!("CREATE DATABASE {name}"));
        let server = server.to_owned();
        Db {
            url: with_database(&server, &name),
            drop: Box::new(move || forget(&server, &format!("DROP DATABASE IF EXISTS {name}"))),
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        (self.drop)();
    }
}

/// One step down, then the rest, for a chain without merges.
const LINEAR: &[(&str, &str)] = &[("-1", "head:-1"), ("base", "head-1:base")];

pub(crate) mod postgres {
    use super::*;

    pub(crate) fn server() -> String {
        std::env::var("MIGRATE_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
    }

    /// The server's URL when `psql` reaches it; else `None`, after
    /// [`unavailable`] said so (a failure under CI).
    pub(crate) fn reachable() -> Option<String> {
        let server = server();
        match Command::new("psql")
            .args(["-X", "-q", "-d", &server, "-c", "SELECT 1"])
            .output()
        {
            Ok(out) if out.status.success() => Some(server),
            Ok(out) => {
                unavailable("PostgreSQL", &server, String::from_utf8_lossy(&out.stderr));
                None
            }
            Err(e) => {
                unavailable("PostgreSQL (psql)", &server, e);
                None
            }
        }
    }

    /// Another session of `url` holding `lock` on the table `t` (`ROW
    /// EXCLUSIVE`, `ACCESS SHARE`, …) for `secs` seconds, taken before this
    /// returns; its server session is ended when dropped (killing `psql`
    /// alone leaves it sleeping with the lock).
    pub(crate) struct Holder {
        child: std::process::Child,
        url: String,
        marker: String,
    }

    pub(crate) fn hold(url: &str, lock: &str, secs: f64) -> Holder {
        let marker = format!("pg_sleep({secs})");
        let child = Command::new("psql")
            .args([
                url,
                "-q",
                "-c",
                &format!("BEGIN; LOCK TABLE t IN {lock} MODE; SELECT {marker}; COMMIT;"),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let held = "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 't' AND l.granted AND l.pid <> pg_backend_pid()";
        super::until_held(&|| psql(url, &["-Atc", held], None));
        Holder {
            child,
            url: url.to_owned(),
            marker,
        }
    }

    impl Drop for Holder {
        fn drop(&mut self) {
            let end = format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%{}%'",
                self.marker
            );
            let _ = Command::new("psql").args([self.url.as_str(), "-Atc", &end]).output();
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    pub(crate) fn psql(url: &str, args: &[&str], stdin: Option<&str>) -> String {
        let mut all = vec!["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url];
        all.extend_from_slice(args);
        // IF NOT EXISTS on an existing table is a NOTICE; keep stderr for errors.
        program_with_env("psql", &all, stdin, &[("PGOPTIONS", "-c client_min_messages=warning")])
    }

    pub(crate) fn db(server: &str) -> Db {
        Db::new(
            server,
            |url, sql| {
                psql(url, &["-c", sql], None);
            },
            |url, sql| {
                let _ = Command::new("psql")
                    .args(["-X", "-q", "-d", url, "-c"])
                    .arg(format!("{sql} WITH (FORCE)"))
                    .output();
            },
        )
    }

    fn state(url: &str) -> String {
        psql(
            url,
            &[
                "-At",
                "-c",
                "SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, '') \
                 FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
                "-c",
                "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2",
                "-c",
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint \
                 WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
                "-c",
                "SELECT revision, down_revisions, message, checksum, state, coalesce(error, '') \
                 FROM migrate_history ORDER BY revision",
            ],
            None,
        )
    }

    #[test]
    fn offline_scripts_run_by_psql_match_online_runs() {
        let server = server();
        let reachable = Command::new("psql")
            .args(["-X", "-q", "-d", &server, "-c", "SELECT 1"])
            .output();
        match reachable {
            Ok(out) if out.status.success() => {}
            Ok(out) => return unavailable("PostgreSQL", &server, String::from_utf8_lossy(&out.stderr)),
            Err(e) => return unavailable("PostgreSQL (psql)", &server, e),
        }
        let apply = |url: &str, script: &str| {
            psql(url, &["-f", "-"], Some(script));
        };
        // A merge head has two parents, so no single `FROM` describes the
        // state below it: the chain with a merge goes down one step in one
        // run and to base in another.
        let cases: [(&str, &[(&str, &str)]); 4] = [
            ("migrations", &[("-1", "head:-1")]),
            ("migrations", &[("base", "head:base")]),
            ("tests/fixtures/no_transaction/postgres", LINEAR),
            // Repeatables after the revisions, their rows removed by downgrades.
            ("tests/fixtures/repeatables/v2", LINEAR),
        ];
        for (folder, downgrades) in cases {
            let (online, offline) = (db(&server), db(&server));
            offline_matches_online(
                "postgres",
                folder,
                downgrades,
                (&online.url, &offline.url),
                &apply,
                &state,
            );
        }
    }
}

/// A PostgreSQL script whose second migration fails, fed to psql without
/// `-v ON_ERROR_STOP=1`: the script's own `\set ON_ERROR_STOP on` stops it
/// there, so nothing of the failed migration is committed.
#[test]
fn a_postgres_script_stops_at_a_failed_migration_by_itself() {
    let server = std::env::var("MIGRATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    match Command::new("psql")
        .args(["-X", "-q", "-d", &server, "-c", "SELECT 1"])
        .output()
    {
        Ok(out) if out.status.success() => {}
        Ok(out) => return unavailable("PostgreSQL", &server, String::from_utf8_lossy(&out.stderr)),
        Err(e) => return unavailable("PostgreSQL (psql)", &server, e),
    }
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir(cwd.join("migrations")).unwrap();
    let a = ok(&mut migrate(cwd), &["revision", "-m", "create kept"]);
    crate::support::write_sql(
        &cwd.join(a.trim()),
        "CREATE TABLE kept (id INTEGER);",
        "DROP TABLE kept;",
    );
    let b = ok(&mut migrate(cwd), &["revision", "-m", "half broken"]);
    crate::support::write_sql(
        &cwd.join(b.trim()),
        "CREATE TABLE lost (id INTEGER);\nINSERT INTO missing_table VALUES (1);",
        "DROP TABLE lost;",
    );
    let script = ok(&mut migrate(cwd), &["upgrade", "--sql", "--dialect", "postgres"]);
    let db = postgres::db(&server);
    let out = Command::new("psql")
        .args(["-X", "-q", "-d", &db.url, "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(script.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(!out.status.success(), "the failed migration fails the script");
    let query = |sql: &str| program("psql", &["-X", "-At", "-d", &db.url, "-c", sql], None);
    assert_eq!(
        query("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'").trim(),
        "kept,migrate_history",
        "nothing of the failed migration stays"
    );
    assert_eq!(
        query("SELECT revision || '|' || state FROM migrate_history WHERE revision <> ''").trim(),
        format!("{}|applied", crate::support::id_of(&a))
    );
}

pub(crate) mod mysql {
    use super::*;

    pub(crate) fn server() -> String {
        std::env::var("MIGRATE_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned())
    }

    /// The server's URL when the `mysql` client reaches it; else `None`,
    /// after [`unavailable`] said so (a failure under CI).
    pub(crate) fn reachable() -> Option<String> {
        let server = server();
        match std::panic::catch_unwind(|| mysql(&server, &["-e", "SELECT 1"], None)) {
            Ok(_) => Some(server),
            Err(e) => {
                unavailable("MySQL/MariaDB", &server, format!("{e:?}"));
                None
            }
        }
    }

    /// The `mysql` client's arguments and password for a URL.
    pub(crate) fn client(url: &str) -> (Vec<String>, Option<String>) {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let rest = rest.split('?').next().unwrap_or(rest);
        let (auth, rest) = rest.rsplit_once('@').unwrap_or(("root", rest));
        let (user, password) = match auth.split_once(':') {
            Some((u, p)) => (u, Some(p.to_owned())),
            None => (auth, None),
        };
        let (host_port, database) = rest.split_once('/').unwrap_or((rest, ""));
        let (host, port) = host_port.split_once(':').unwrap_or((host_port, "3306"));
        let mut args: Vec<String> = ["--protocol=TCP", "-h", host, "-P", port, "-u", user]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if !database.is_empty() {
            args.push(database.to_owned());
        }
        (args, password)
    }

    pub(crate) fn mysql(url: &str, extra: &[&str], stdin: Option<&str>) -> String {
        let (mut args, password) = client(url);
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = password.as_deref().map(|p| ("MYSQL_PWD", p)).into_iter().collect();
        program_with_env("mysql", &args, stdin, &env)
    }

    pub(crate) fn db(server: &str) -> Db {
        Db::new(
            server,
            |url, sql| {
                mysql(url, &["-e", sql], None);
            },
            |url, sql| {
                let (args, password) = client(url);
                let mut cmd = Command::new("mysql");
                cmd.args(args).args(["-e", sql]);
                if let Some(p) = password {
                    cmd.env("MYSQL_PWD", p);
                }
                let _ = cmd.output();
            },
        )
    }

    fn state(url: &str) -> String {
        mysql(
            url,
            &[
                "-N",
                "-B",
                "-e",
                "SELECT table_name, column_name, column_type, is_nullable, coalesce(column_default, ''), column_key \
                 FROM information_schema.columns WHERE table_schema = DATABASE() ORDER BY 1, 2; \
                 SELECT table_name, index_name, column_name, non_unique FROM information_schema.statistics \
                 WHERE table_schema = DATABASE() ORDER BY 1, 2, 3; \
                 SELECT revision, down_revisions, message, checksum, state, coalesce(error, '') \
                 FROM migrate_history ORDER BY revision; \
                 SELECT trigger_name, action_statement, sql_mode FROM information_schema.triggers \
                 WHERE trigger_schema = DATABASE() ORDER BY 1; \
                 SELECT routine_name, routine_type, routine_definition, sql_mode FROM information_schema.routines \
                 WHERE routine_schema = DATABASE() ORDER BY 1",
            ],
            None,
        )
        .replace('\t', "|")
    }

    /// MariaDB's anonymous block (`BEGIN NOT ATOMIC … END`, conditional DDL
    /// and loops) is one statement, and no transaction control: online and
    /// offline alike.
    #[test]
    fn mariadb_anonymous_blocks_run_whole_online_and_offline() {
        let server = server();
        let version = match std::panic::catch_unwind(|| mysql(&server, &["-N", "-B", "-e", "SELECT VERSION()"], None)) {
            Ok(version) => version,
            Err(e) => return unavailable("MariaDB", &server, format!("{e:?}")),
        };
        if !version.contains("MariaDB") {
            return unavailable("MariaDB", &server, format!("the server is MySQL {}", version.trim()));
        }
        let folder = "tests/fixtures/mariadb_block";
        let (online, offline) = (db(&server), db(&server));
        let apply = |url: &str, script: &str| {
            mysql(url, &[], Some(script));
        };
        offline_matches_online("mysql", folder, LINEAR, (&online.url, &offline.url), &apply, &state);
        ok(
            &mut migrate(&repo()),
            &["upgrade", "head", "-q", "--dir", folder, "--database-url", &online.url],
        );
        let rows = mysql(
            &online.url,
            &["-N", "-B", "-e", "SELECT id, n FROM item ORDER BY id"],
            None,
        );
        assert_eq!(rows.replace('\t', "|"), "1|2\n10|0\n11|1\n12|2\n");

        // A block that fails after its DDL committed has left that DDL: the
        // revision is kept as failed, never reported rolled back.
        let dir = tempfile::tempdir().unwrap();
        let file = "-- m\n-- revision: c1\n-- down_revision:\n\n-- migrate:upgrade\nBEGIN NOT ATOMIC\n  ALTER TABLE item ADD COLUMN extra INT;\n  INSERT INTO nosuch VALUES (1);\nEND;\n";
        std::fs::write(dir.path().join("c1_m.sql"), file).unwrap();
        let failed = db(&server);
        mysql(&failed.url, &["-e", "CREATE TABLE item (id INT PRIMARY KEY)"], None);
        let dir_arg = dir.path().to_str().unwrap();
        let said = crate::support::fails(
            &mut migrate(&repo()),
            &["upgrade", "head", "--dir", dir_arg, "--database-url", &failed.url],
            1,
        );
        assert!(
            said.contains("part of it may have run") && !said.contains("rolled back and is not recorded"),
            "{said}"
        );
        let state = mysql(
            &failed.url,
            &[
                "-N",
                "-B",
                "-e",
                "SELECT state, error FROM migrate_history; SHOW COLUMNS FROM item LIKE 'extra'",
            ],
            None,
        );
        assert!(
            state.starts_with("upgrade_failed\t") && state.contains("a block whose statements commit"),
            "{state}"
        );
        assert!(state.contains("extra"), "the block's DDL stayed: {state}");
    }

    #[test]
    fn offline_scripts_run_by_mysql_match_online_runs() {
        let server = server();
        let (args, password) = client(&server);
        let mut probe = Command::new("mysql");
        probe.args(&args).args(["-e", "SELECT 1"]);
        if let Some(p) = &password {
            probe.env("MYSQL_PWD", p);
        }
        match probe.output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => return unavailable("MySQL", &server, String::from_utf8_lossy(&out.stderr)),
            Err(e) => return unavailable("MySQL (mysql)", &server, e),
        }
        // As the script's first lines say: `--comments` keeps a body's comments.
        let apply = |url: &str, script: &str| {
            mysql(url, &["--comments"], Some(script));
        };
        // MySQL has no `DROP INDEX name` without `ON table`, which `migrations/` uses.
        // A trigger's `BEGIN … END` body holds `;`s that the mysql client would split at;
        // `mysql_compound` also holds a migration written with the client's `DELIMITER` lines.
        for folder in [
            "tests/fixtures/linear",
            "tests/fixtures/no_transaction/mysql",
            "tests/fixtures/mysql_compound",
            "tests/fixtures/repeatables/v2",
        ] {
            let (online, offline) = (db(&server), db(&server));
            offline_matches_online("mysql", folder, LINEAR, (&online.url, &offline.url), &apply, &state);
        }
        let script = ok(
            &mut migrate(&repo()),
            &[
                "upgrade",
                "--sql",
                "--dialect",
                "mysql",
                "--dir",
                "tests/fixtures/linear",
            ],
        );
        assert!(
            script.contains("commit DDL implicitly") && !script.contains("BEGIN;"),
            "{script}"
        );
    }
}

/// A folder of two revisions: `t` made, then a column added under a lock
/// timeout of one second (`-- migrate:lock-timeout:`).
fn lock_timeout_folder(cwd: &std::path::Path) {
    let dir = cwd.join("migrations");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("a1_t.sql"),
        "-- revision: a1\n-- down_revision:\n\n-- migrate:upgrade\nCREATE TABLE t (id integer);\n\n-- migrate:downgrade\nDROP TABLE t;\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("b2_x.sql"),
        "-- revision: b2\n-- down_revision: a1\n-- migrate:lock-timeout: 1s\n\n-- migrate:upgrade\nALTER TABLE t ADD COLUMN x integer;\n\n-- migrate:downgrade\nALTER TABLE t DROP COLUMN x;\n",
    )
    .unwrap();
}

/// `program` fed `stdin`, its success and what it printed on stderr.
fn client(program: &str, args: &[&str], stdin: &str, env: &[(&str, String)]) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Waits until `held` (a query printing a count) says another session holds its lock.
fn until_held(held: &dyn Fn() -> String) {
    for waited in 0.. {
        if held().trim() != "0" {
            return;
        }
        assert!(waited < 200, "the other session never took its lock");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A script's step waits for a lock no longer than its run would: the
/// step's lock timeout is in the script, so a lock held elsewhere fails the
/// step there instead of the script waiting behind it (and every query
/// queued behind the script).
#[test]
fn a_postgres_script_keeps_each_steps_lock_timeout() {
    let Some(server) = postgres::reachable() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    lock_timeout_folder(cwd);
    let db = postgres::db(&server);
    let first = ok(&mut migrate(cwd), &["upgrade", "--sql", "--dialect", "postgres", "a1"]);
    assert!(client("psql", &["-X", "-q", "-d", &db.url, "-f", "-"], &first, &[]).0);
    let holder = postgres::hold(&db.url, "ACCESS SHARE", 30.0);
    let rest = ok(
        &mut migrate(cwd),
        &["upgrade", "--sql", "--dialect", "postgres", "a1:head"],
    );
    assert!(rest.contains("SET LOCAL lock_timeout = '1000ms';"), "{rest}");
    let (passed, stderr) = client("psql", &["-X", "-q", "-d", &db.url, "-f", "-"], &rest, &[]);
    drop(holder);
    assert!(
        !passed && stderr.contains("canceling statement due to lock timeout"),
        "{stderr}"
    );
    let rows = postgres::psql(
        &db.url,
        &[
            "-Atc",
            "SELECT string_agg(revision, ',' ORDER BY revision) FROM migrate_history WHERE revision <> ''",
        ],
        None,
    );
    assert_eq!(rows.trim(), "a1");
}

/// [`a_postgres_script_keeps_each_steps_lock_timeout`] on MySQL/MariaDB,
/// where the session's settings are put back after the step.
#[test]
fn a_mysql_script_keeps_each_steps_lock_timeout() {
    let Some(server) = mysql::reachable() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    lock_timeout_folder(cwd);
    let db = mysql::db(&server);
    let first = ok(&mut migrate(cwd), &["upgrade", "--sql", "--dialect", "mysql", "a1"]);
    mysql::mysql(&db.url, &[], Some(&first));
    let (args, password) = mysql::client(&db.url);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let password: Vec<(&str, String)> = password.map(|p| ("MYSQL_PWD", p)).into_iter().collect();
    let sleeper = "START TRANSACTION; SELECT * FROM t; SELECT SLEEP(30) AS migrate_test_holder; COMMIT;";
    let mut holder = Command::new("mysql")
        .args(&args)
        .args(["-e", sleeper])
        .envs(password.iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let holder_id = || {
        mysql::mysql(
            &db.url,
            &[
                "-N",
                "-e",
                "SELECT COALESCE(MAX(id), 0) FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(30) AS migrate_test_holder%'",
            ],
            None,
        )
    };
    until_held(&holder_id);
    let rest = ok(
        &mut migrate(cwd),
        &["upgrade", "--sql", "--dialect", "mysql", "a1:head"],
    );
    let (passed, stderr) = client("mysql", &args, &rest, &password);
    let _ = mysql::mysql(&db.url, &["-e", &format!("KILL {}", holder_id().trim())], None);
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(!passed && stderr.contains("Lock wait timeout exceeded"), "{stderr}");
    let rows = mysql::mysql(
        &db.url,
        &[
            "-N",
            "-e",
            "SELECT GROUP_CONCAT(revision, ':', state ORDER BY revision) FROM migrate_history WHERE revision <> ''",
        ],
        None,
    );
    // Its step, run statement by statement, was marked before it waited: a run refuses it until resolved.
    assert_eq!(rows.trim(), "a1:applied,b2:upgrading");
}

/// A revision made of `probe` (a table of what the session reads: its time
/// zone, a character beyond the BMP), upgraded online on one database and
/// by its script through the client on another: `read` gives the same rows.
fn the_script_reads_as_the_run(
    dialect: &str,
    probe: &str,
    (online, offline): (&str, &str),
    apply: &dyn Fn(&str, &str),
    read: &dyn Fn(&str) -> String,
) {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir(cwd.join("migrations")).unwrap();
    std::fs::write(
        cwd.join("migrations/a1_probe.sql"),
        format!("-- revision: a1\n-- down_revision:\n\n-- migrate:upgrade\n{probe}\n\n-- migrate:downgrade\nDROP TABLE probe;\n"),
    )
    .unwrap();
    let script = ok(&mut migrate(cwd), &["upgrade", "--sql", "--dialect", dialect]);
    apply(offline, &script);
    ok(&mut migrate(cwd), &["upgrade", "head", "-q", "--database-url", online]);
    let seen = read(online);
    assert!(seen.contains("😀"), "{seen}");
    assert_eq!(read(offline), seen);
}

#[test]
fn a_postgres_script_reads_text_and_times_as_the_run() {
    let Some(server) = postgres::reachable() else {
        return;
    };
    let (online, offline) = (postgres::db(&server), postgres::db(&server));
    // A database whose own time zone is not the run's, and a client that does not speak UTF-8.
    for db in [&online, &offline] {
        let name = db.url.rsplit('/').next().unwrap();
        postgres::psql(
            &db.url,
            &["-c", &format!("ALTER DATABASE {name} SET timezone = 'Asia/Tokyo'")],
            None,
        );
    }
    let apply = |url: &str, script: &str| {
        program_with_env(
            "psql",
            &["-X", "-q", "-d", url, "-f", "-"],
            Some(script),
            &[("PGCLIENTENCODING", "LATIN1")],
        );
    };
    let read = |url: &str| postgres::psql(url, &["-At", "-c", "SELECT tz, word, day FROM probe"], None);
    the_script_reads_as_the_run(
        "postgres",
        "CREATE TABLE probe AS SELECT current_setting('TimeZone') AS tz, 'café 😀'::text AS word, (timestamptz '2024-06-01 20:00:00+00')::date AS day;",
        (&online.url, &offline.url),
        &apply,
        &read,
    );
}

#[test]
fn a_mysql_script_reads_text_and_times_as_the_run() {
    let Some(server) = mysql::reachable() else {
        return;
    };
    let (online, offline) = (mysql::db(&server), mysql::db(&server));
    let apply = |url: &str, script: &str| {
        mysql::mysql(url, &["--default-character-set=latin1"], Some(script));
    };
    let read = |url: &str| {
        mysql::mysql(
            url,
            &[
                "-N",
                "-B",
                "--default-character-set=utf8mb4",
                "-e",
                "SELECT tz, word, HEX(word), at_utc FROM probe",
            ],
            None,
        )
    };
    the_script_reads_as_the_run(
        "mysql",
        "CREATE TABLE probe (tz VARCHAR(64), word VARCHAR(20) CHARACTER SET utf8mb4, at_utc VARCHAR(20));\nINSERT INTO probe VALUES (@@SESSION.time_zone, 'café 😀', CAST(FROM_UNIXTIME(1717272000) AS CHAR));",
        (&online.url, &offline.url),
        &apply,
        &read,
    );
}

/// A migration that changes `search_path` does not move the history table:
/// a script keeps its rows in the schema current when it starts, as the
/// online run pins it, even where the new path finds another such table.
#[test]
fn a_postgres_script_keeps_the_history_where_the_run_pins_it() {
    let Some(server) = postgres::reachable() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("migrations");
    std::fs::create_dir(&dir).unwrap();
    let revisions = [
        ("a1", "", "", "CREATE TABLE t (id integer);", "DROP TABLE t;"),
        (
            "b2",
            "a1",
            "",
            "SET search_path TO app, public;\nCREATE TABLE items (id integer);",
            "DROP TABLE app.items;",
        ),
        (
            "c3",
            "b2",
            "-- migrate:no-transaction\n",
            "CREATE INDEX CONCURRENTLY items_id ON items (id);",
            "DROP INDEX app.items_id;",
        ),
    ];
    for (id, parent, header, up, down) in revisions {
        std::fs::write(
            dir.join(format!("{id}_m.sql")),
            format!("-- revision: {id}\n-- down_revision: {parent}\n{header}\n-- migrate:upgrade\n{up}\n\n-- migrate:downgrade\n{down}\n"),
        )
        .unwrap();
    }
    let (online, offline) = (postgres::db(&server), postgres::db(&server));
    for db in [&online, &offline] {
        // Another schema on the path, holding a table of the history table's name.
        postgres::psql(
            &db.url,
            &["-c", "CREATE SCHEMA app; CREATE TABLE app.migrate_history (x integer);"],
            None,
        );
    }
    let cwd = tmp.path();
    ok(
        &mut migrate(cwd),
        &["upgrade", "head", "-q", "--database-url", &online.url],
    );
    let script = ok(&mut migrate(cwd), &["upgrade", "--sql", "--dialect", "postgres"]);
    postgres::psql(&offline.url, &["-f", "-"], Some(&script));
    let rows = |url: &str| {
        postgres::psql(
            url,
            &[
                "-At",
                "-c",
                "SELECT string_agg(revision || ':' || state, ',' ORDER BY revision) FROM public.migrate_history WHERE revision <> ''; SELECT count(*) FROM app.migrate_history",
            ],
            None,
        )
    };
    assert_eq!(rows(&online.url), "a1:applied,b2:applied,c3:applied\n0\n");
    assert_eq!(rows(&offline.url), rows(&online.url));
    let again = ok(&mut migrate(cwd), &["upgrade", "head", "--database-url", &offline.url]);
    assert!(!again.contains("Running upgrade"), "{again}");
    let down = ok(
        &mut migrate(cwd),
        &["downgrade", "--sql", "--dialect", "postgres", "head:base"],
    );
    postgres::psql(&offline.url, &["-f", "-"], Some(&down));
    assert_eq!(rows(&offline.url).lines().map(str::trim).collect::<Vec<_>>(), ["", "0"]);
}

/// A script's step run statement by statement (every MySQL step) marks its
/// row in progress first, as the run does: a script stopped part-way leaves
/// a row the next run refuses, naming `resolve`, instead of a step that looks
/// never begun (which the next run would start again over what stayed done).
#[test]
fn a_mysql_script_stopped_part_way_leaves_the_row_a_run_refuses() {
    let Some(server) = mysql::reachable() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir(cwd.join("migrations")).unwrap();
    std::fs::write(
        cwd.join("migrations/a1_m.sql"),
        "-- revision: a1\n-- down_revision:\n\n-- migrate:upgrade\nCREATE TABLE t1 (id integer PRIMARY KEY);\nINSERT INTO nosuch VALUES (1);\n\n-- migrate:downgrade\nDROP TABLE t1;\n",
    )
    .unwrap();
    let db = mysql::db(&server);
    let script = ok(&mut migrate(cwd), &["upgrade", "--sql", "--dialect", "mysql"]);
    let (args, password) = mysql::client(&db.url);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let password: Vec<(&str, String)> = password.map(|p| ("MYSQL_PWD", p)).into_iter().collect();
    let (passed, stderr) = client("mysql", &args, &script, &password);
    assert!(!passed && stderr.contains("nosuch"), "{stderr}");
    let row = mysql::mysql(
        &db.url,
        &[
            "-N",
            "-e",
            "SELECT revision, state FROM migrate_history WHERE revision <> ''",
        ],
        None,
    );
    assert_eq!(row.trim(), "a1\tupgrading");
    let refused = crate::support::run(&mut migrate(cwd), &["upgrade", "--database-url", &db.url]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("is marked `upgrading`") && refused.stderr.contains("resolve a1 --applied"),
        "{}",
        refused.stderr
    );
    // What stayed done is there; resolved as applied, the history moves on.
    ok(
        &mut migrate(cwd),
        &["resolve", "a1", "--applied", "--database-url", &db.url],
    );
    ok(&mut migrate(cwd), &["current", "--check", "--database-url", &db.url]);
}
