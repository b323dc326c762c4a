//! `migrate upgrade --rehearse`: the pending chain run on the real database
//! and nothing kept (the dump before and after byte for byte), each step
//! reported with its statements and locks, a failing step or one over its
//! `-- migrate:max-lock:` budget exit 1 naming the revision, on SQLite,
//! PostgreSQL and MariaDB.

use crate::databases::{mysql, postgres};
use crate::support::{fails, id_of, migrate, ok, program, run, unavailable, write_sql};
use std::path::Path;
use std::process::Command;

/// A new revision in `cwd`'s folder with `upgrade`, and `header` lines above
/// `-- migrate:upgrade`: its id.
fn revision(cwd: &Path, message: &str, header: &str, upgrade: &str) -> String {
    let path = ok(&mut migrate(cwd), &["revision", "-m", message]);
    let path = cwd.join(path.trim());
    write_sql(&path, upgrade, "SELECT 1;");
    if !header.is_empty() {
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replacen("-- migrate:upgrade", &format!("{header}\n\n-- migrate:upgrade"), 1);
        std::fs::write(&path, text).unwrap();
    }
    id_of(path.to_str().unwrap())
}

fn folder() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("migrations")).unwrap();
    tmp
}

/// The chain every database rehearses: one applied revision (a table with
/// rows), then three pending ones.
fn chain(cwd: &Path, url: &str) -> [String; 4] {
    let a = revision(
        cwd,
        "create t",
        "",
        // A view too: MariaDB's rehearsal copies it into its scratch schema.
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(40));\nINSERT INTO t (id, name) VALUES (1, 'one'), (2, 'two');\nCREATE VIEW tv AS SELECT id, name FROM t;",
    );
    ok(&mut migrate(cwd), &["upgrade", "-q", "--database-url", url]);
    let b = revision(
        cwd,
        "add column",
        "",
        "ALTER TABLE t ADD COLUMN note VARCHAR(40);\nUPDATE t SET note = 'x';",
    );
    let c = revision(cwd, "new table", "", "CREATE TABLE u (id INTEGER PRIMARY KEY);");
    let d = revision(cwd, "index", "", "CREATE INDEX t_name ON t (name);");
    [a, b, c, d]
}

/// Rehearses the chain, then a failing revision on top, each time comparing `dump` before and after.
fn rehearse_twice(cwd: &Path, url: &str, dump: &dyn Fn() -> String) -> (String, String) {
    let before = dump();
    let report = ok(&mut migrate(cwd), &["upgrade", "--rehearse", "--database-url", url]);
    assert_eq!(dump(), before, "a rehearsal keeps nothing:\n{report}");
    let bad = revision(cwd, "broken", "", "INSERT INTO missing_table VALUES (1);");
    let error = fails(&mut migrate(cwd), &["upgrade", "--rehearse", "--database-url", url], 1);
    assert!(error.contains(&bad) && error.contains("missing_table"), "{error}");
    assert!(error.contains("the database is unchanged"), "{error}");
    assert_eq!(dump(), before, "a failed rehearsal keeps nothing");
    std::fs::remove_file(cwd.join("migrations").join(format!("{bad}_broken.sql"))).unwrap();
    (report, error)
}

/// The machine's MariaDB: its URL, a fresh database there, a folder of
/// migrations and the database's name; `None` (after saying so, or failing in CI)
/// without the `mysql` client.
fn on_mariadb() -> Option<(String, crate::databases::Db, tempfile::TempDir, String)> {
    let server = mysql::server();
    if let Err(e) = Command::new("mysql").arg("--version").output() {
        unavailable("MariaDB (mysql)", &server, e);
        return None;
    }
    let db = mysql::db(&server);
    let name = db.url.rsplit('/').next().unwrap().split('?').next().unwrap().to_owned();
    Some((server, db, folder(), name))
}

/// A fresh PostgreSQL database and a folder whose one revision, `upgrade`,
/// is applied there; `None` where PostgreSQL cannot be reached.
fn applied_on_postgres(upgrade: &str) -> Option<(crate::databases::Db, tempfile::TempDir)> {
    let db = postgres::db(&postgres::reachable()?);
    let tmp = folder();
    revision(tmp.path(), "first", "", upgrade);
    ok(&mut migrate(tmp.path()), &["upgrade", "-q", "--database-url", &db.url]);
    Some((db, tmp))
}

fn lists_pending(report: &str, [a, b, c, d]: &[String; 4]) {
    assert!(
        !report.contains(&format!("{a} ")),
        "the applied one is not pending:\n{report}"
    );
    for id in [b, c, d] {
        assert!(report.contains(&format!("{id} ")), "{id} listed:\n{report}");
    }
    assert!(report.contains("3 pending steps"), "{report}");
}

#[test]
fn sqlite_rehearsal_rolls_back_and_reports_the_file_lock() {
    let tmp = folder();
    let cwd = tmp.path();
    let url = format!("sqlite:{}", cwd.join("app.db").display());
    let ids = chain(cwd, &url);
    let file = cwd.join("app.db");
    let bytes = || format!("{:?}", std::fs::read(&file).unwrap());
    let (report, _) = rehearse_twice(cwd, &url, &bytes);
    lists_pending(&report, &ids);
    assert!(report.contains("rolled back"), "{report}");
    assert!(report.contains("EXCLUSIVE (database file)"), "{report}");
    assert!(report.contains("2 rows"), "the UPDATE's rows:\n{report}");

    // A no-transaction revision stops the rehearsal, shown with its SQL; the one after is not reached.
    let notx = revision(
        cwd,
        "outside",
        "-- migrate:no-transaction",
        "CREATE TABLE v (id INTEGER);",
    );
    let after = revision(cwd, "after", "", "CREATE TABLE w (id INTEGER);");
    let r = run(&mut migrate(cwd), &["upgrade", "--rehearse", "--database-url", &url]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains(&format!("{notx} outside: not rehearsable")) && r.stdout.contains("| CREATE TABLE v"),
        "{r:?}"
    );
    assert!(r.stdout.contains(&format!("{after} after: not reached")), "{r:?}");
    assert!(r.stderr.contains("1 later step not reached"), "{r:?}");
}

#[test]
fn postgres_rehearsal_leaves_the_dump_as_it_was_and_measures_locks() {
    let Some(server) = postgres::reachable() else { return };
    let db = postgres::db(&server);
    let tmp = folder();
    let cwd = tmp.path();
    let ids = chain(cwd, &db.url);
    let dump = || {
        let schema = program(
            "pg_dump",
            &["--schema-only", "--restrict-key=rehearse", "-d", &db.url],
            None,
        );
        let data = program(
            "pg_dump",
            &["--data-only", "--restrict-key=rehearse", "-d", &db.url],
            None,
        );
        format!("{schema}{data}")
    };
    let (report, _) = rehearse_twice(cwd, &db.url, &dump);
    lists_pending(&report, &ids);
    assert!(report.contains("ACCESS EXCLUSIVE public.t"), "ALTER TABLE:\n{report}");
    assert!(report.contains("SHARE public.t"), "CREATE INDEX:\n{report}");
    assert!(
        !report.contains("public.u"),
        "a table the rehearsal made is nobody's wait:\n{report}"
    );

    // A budget the plain CREATE INDEX goes over fails the rehearsal, naming the statement's line, table and lock.
    let [_, b, c, d] = &ids;
    for id in [b, c, d] {
        let path = std::fs::read_dir(cwd.join("migrations"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().contains(id.as_str()))
            .unwrap();
        std::fs::remove_file(path).unwrap();
    }
    let budgeted = revision(
        cwd,
        "index within budget",
        "-- migrate:max-lock: share-update-exclusive",
        "SELECT count(*) FROM t;\nCREATE INDEX t_name ON t (name);",
    );
    let before = dump();
    let error = fails(
        &mut migrate(cwd),
        &["upgrade", "--rehearse", "--database-url", &db.url],
        1,
    );
    assert!(
        error.contains(&budgeted)
            && error.contains("statement 2 takes SHARE on public.t")
            && error.contains("-- migrate:max-lock: share-update-exclusive"),
        "{error}"
    );
    assert!(
        error.contains(&format!("_index_within_budget.sql:")),
        "the file's line: {error}"
    );
    assert_eq!(dump(), before);

    // The run's lock timeout holds in the rehearsal as in the run: a lock the
    // real upgrade would give up waiting for fails the rehearsal the same way.
    let holder = postgres::hold(&db.url, "ROW EXCLUSIVE", 30.0);
    let error = fails(
        &mut migrate(cwd),
        &[
            "upgrade",
            "--rehearse",
            "--ddl-lock-timeout",
            "200ms",
            "--database-url",
            &db.url,
        ],
        1,
    );
    drop(holder);
    assert!(error.contains("lock timeout") && error.contains(&budgeted), "{error}");
    assert_eq!(dump(), before);

    // As the run does, a step that timed out is tried again (`--lock-attempts`),
    // from before the step: a lock released meanwhile lets the rehearsal pass.
    let holder = postgres::hold(&db.url, "ROW EXCLUSIVE", 1.5);
    let r = run(
        &mut migrate(cwd),
        &[
            "upgrade",
            "--rehearse",
            "--ddl-lock-timeout",
            "200ms",
            "--lock-attempts",
            "5",
            "--database-url",
            &db.url,
        ],
    );
    drop(holder);
    assert!(
        r.stderr
            .contains("waited longer than the lock timeout; the step was rolled back and will be tried again"),
        "{}",
        r.stderr
    );
    // It ran to the end, where its own budget (not the wait) fails it.
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(&format!("{budgeted} index within budget: ran in ")),
        "{}",
        r.stdout
    );
    assert!(!r.stderr.contains("due to lock timeout"), "{}", r.stderr);
    assert!(r.stderr.contains("statement 2 takes SHARE on public.t"), "{}", r.stderr);
    assert_eq!(dump(), before);
}

#[test]
fn mariadb_rehearsal_runs_on_a_schema_copy_and_drops_it() {
    let Some((server, db, tmp, name)) = on_mariadb() else {
        return;
    };
    let cwd = tmp.path();
    let ids = chain(cwd, &db.url);
    let dump = || {
        let (host, port) = ("127.0.0.1", "3306");
        program(
            "mysqldump",
            &[
                "--protocol=TCP",
                "-h",
                host,
                "-P",
                port,
                "-u",
                "root",
                "--skip-dump-date",
                &name,
            ],
            None,
        )
    };
    // Whether the server lists metadata locks (MariaDB's `metadata_lock_info` plugin): the test
    // never installs it on the machine's own server; `mariadb_rehearsal_reports_metadata_locks`
    // runs where the repository's own servers load it.
    let lists_locks = mysql::mysql(
        &server,
        &[
            "-N",
            "-e",
            "SELECT count(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'METADATA_LOCK_INFO' AND PLUGIN_STATUS = 'ACTIVE'",
        ],
        None,
    )
    .trim()
        != "0";
    let (report, _) = rehearse_twice(cwd, &db.url, &dump);
    lists_pending(&report, &ids);
    assert!(report.contains("on a copy of the schema without its data"), "{report}");
    assert!(report.contains(&format!("{name}_rehearse_")), "{report}");
    if lists_locks {
        assert!(
            report.contains("MDL_SHARED_WRITE t"),
            "the UPDATE's metadata lock:\n{report}"
        );
    } else {
        assert!(
            report.contains("Locks: not measured") && report.contains("INSTALL SONAME 'metadata_lock_info'"),
            "why no lock could be read, and how to make them readable:\n{report}"
        );
    }
    assert!(
        report.contains("ALTER TABLE t ADD COLUMN note VARCHAR(40) (")
            && report.contains("locks: not seen (its implicit commit released them)"),
        "DDL's locks go with its implicit commit, and the report says so:\n{report}"
    );
    let left = mysql::mysql(
        &server,
        &["-N", "-e", &format!("SHOW DATABASES LIKE '{name}\\_rehearse\\_%'")],
        None,
    );
    assert_eq!(left.trim(), "", "the scratch copies are dropped");
}

/// A database with stored routines, a view calling one and a trigger: the
/// rehearsal's copy has them, so a revision calling a procedure and dropping
/// the trigger rehearses as it runs (on a copy without them the procedure
/// was missing), the trigger fires in the copy, and the database keeps its own.
#[test]
fn a_mariadb_rehearsal_copies_routines_views_and_triggers() {
    let Some((server, db, tmp, name)) = on_mariadb() else {
        return;
    };
    let cwd = tmp.path();
    revision(
        cwd,
        "tables",
        "",
        "CREATE TABLE a (id INTEGER PRIMARY KEY);\nCREATE TABLE audit (id INTEGER);\n\
         CREATE TRIGGER a_ins AFTER INSERT ON a FOR EACH ROW INSERT INTO audit VALUES (NEW.id);\n\
         CREATE PROCEDURE fill_a() INSERT INTO a VALUES (1);\n\
         CREATE FUNCTION twice(x INTEGER) RETURNS INTEGER DETERMINISTIC RETURN x * 2;\n\
         CREATE VIEW doubled AS SELECT twice(id) AS d FROM a;",
    );
    ok(&mut migrate(cwd), &["upgrade", "-q", "--database-url", &db.url]);
    let fill = revision(
        cwd,
        "fill",
        "",
        "CALL fill_a();\nINSERT INTO a SELECT d FROM doubled;\nDROP TRIGGER a_ins;\nINSERT INTO a VALUES (7);",
    );
    let report = ok(&mut migrate(cwd), &["upgrade", "--rehearse", "--database-url", &db.url]);
    assert!(report.contains(&fill) && report.contains("CALL fill_a()"), "{report}");
    let real = |sql: &str| mysql::mysql(&server, &["-N", "-e", sql], None).trim().to_owned();
    assert_eq!(
        real(&format!("SELECT COUNT(*) FROM `{name}`.audit")),
        "0",
        "the copy's trigger fired in the copy"
    );
    assert_eq!(real(&format!("SELECT COUNT(*) FROM `{name}`.a")), "0");
    assert_eq!(
        real(&format!(
            "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '{name}'"
        )),
        "1",
        "the database keeps its trigger"
    );
    // Applied for real, the same revision does what the rehearsal did.
    ok(&mut migrate(cwd), &["upgrade", "-q", "--database-url", &db.url]);
    assert_eq!(real(&format!("SELECT COUNT(*) FROM `{name}`.audit")), "2");
    assert_eq!(real(&format!("SELECT COUNT(*) FROM `{name}`.a")), "3");

    // A trigger whose body names the database itself would write to it from the copy: refused.
    real(&format!(
        "CREATE TRIGGER `{name}`.a_upd AFTER UPDATE ON `{name}`.a FOR EACH ROW INSERT INTO {name}.audit VALUES (NEW.id)"
    ));
    revision(cwd, "touch", "", "UPDATE a SET id = id + 10 WHERE id = 7;");
    let e = fails(
        &mut migrate(cwd),
        &["upgrade", "--rehearse", "--database-url", &db.url],
        1,
    );
    assert!(
        e.contains("the trigger `a_upd`") && e.contains("would change the real database"),
        "{e}"
    );
    assert_eq!(
        real(&format!("SELECT COUNT(*) FROM `{name}`.audit")),
        "2",
        "nothing reached it"
    );
    assert_eq!(real(&format!("SELECT id FROM `{name}`.a WHERE id > 5")), "7");
}

/// A rehearsal killed before it dropped its scratch copy leaves it behind: the
/// next rehearsal of that database drops it, and leaves alone databases whose
/// names only look like a copy's.
#[test]
fn a_mariadb_rehearsal_drops_the_copies_killed_rehearsals_left() {
    let Some((server, db, tmp, name)) = on_mariadb() else {
        return;
    };
    let cwd = tmp.path();
    chain(cwd, &db.url);
    // A person's own databases named as copies are: a dated backup holding rows (every
    // digit a hex digit), and one whose suffix is not hex.
    let dated = format!("{name}_rehearse_20240115");
    let decoy = format!("{name}_rehearse_backup");
    for kept in [&dated, &decoy] {
        let sql = format!(
            "CREATE DATABASE `{kept}`; CREATE TABLE `{kept}`.t (id INTEGER); INSERT INTO `{kept}`.t VALUES (1), (2)"
        );
        mysql::mysql(&server, &["-e", &sql], None);
    }
    let left = killed_rehearsal(&server, &db.url, &name);
    let rehearsed = run(&mut migrate(cwd), &["upgrade", "--rehearse", "--database-url", &db.url]);
    let after = copies_of(&server, &name);
    let rows = mysql::mysql(
        &server,
        &["-N", "-e", &format!("SELECT COUNT(*) FROM `{dated}`.t")],
        None,
    );
    for copy in [&left, &dated, &decoy] {
        mysql::mysql(&server, &["-e", &format!("DROP DATABASE IF EXISTS `{copy}`")], None);
    }
    assert_eq!(rehearsed.code, 0, "{}", rehearsed.stderr);
    assert_eq!(
        after,
        [dated.clone(), decoy.clone()],
        "only the killed rehearsal's copy is dropped"
    );
    assert_eq!(rows.trim(), "2", "the dated backup keeps its rows");
    assert!(
        rehearsed.stderr.contains(&format!("dropped {left}")),
        "the drop is said:\n{}",
        rehearsed.stderr
    );
}

/// `migrate upgrade --rehearse` of the folder in `dir` on `url`, its history
/// in `table` (a migration set of its own, with its own migration lock), to
/// run in the background.
fn rehearsal_of_set(dir: &Path, table: &str, url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_migrate"));
    cmd.current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("MIGRATE_CONFIG")
        .args(["upgrade", "--rehearse", "--history-table", table, "--database-url", url]);
    cmd
}

/// The databases on `server` named as scratch copies of `name` are, sorted.
fn copies_of(server: &str, name: &str) -> Vec<String> {
    let like = format!("SHOW DATABASES LIKE '{name}\\_rehearse\\_%'");
    let listed = mysql::mysql(server, &["-N", "-e", &like], None);
    let mut names: Vec<String> = listed
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    names.sort_unstable();
    names
}

/// Rehearses a slow revision of another migration set on `url` (database
/// `name` on `server`) and kills the process while it runs, as `kill -9` or
/// an OOM killer would; once the server has ended its session, returns the
/// name of the scratch copy it left.
fn killed_rehearsal(server: &str, url: &str, name: &str) -> String {
    let other = folder();
    revision(other.path(), "slow", "", "SELECT SLEEP(3);");
    let before = copies_of(server, name);
    let mut killed = rehearsal_of_set(other.path(), "killed_history", url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once it runs the slow statement: its copy is whole by then.
    let sleeping = format!(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(3)%' AND DB LIKE '{name}\\_rehearse\\_%'"
    );
    let appeared = (0..200).find_map(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let running = mysql::mysql(server, &["-N", "-e", &sleeping], None).trim() != "0";
        running
            .then(|| copies_of(server, name).into_iter().find(|c| !before.contains(c)))
            .flatten()
    });
    let _ = killed.kill();
    let _ = killed.wait();
    let left = appeared.expect("the rehearsal made its copy within 10 s");
    // Its session's lock goes when the server ends the session, after the running SLEEP.
    let lock = format!("CONCAT('migrate:rehearse:', SHA1('{left}'))");
    let freed = (0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let free = format!("SELECT IS_USED_LOCK({lock}) IS NULL");
        mysql::mysql(server, &["-N", "-e", &free], None).trim() == "1"
    });
    assert!(freed, "the killed rehearsal's session ended within 20 s");
    left
}

/// A rehearsal of another migration set of the same database (its own
/// history table, so its own migration lock) sweeps while this one runs:
/// the running rehearsal's copy is in use (its session holds the copy's
/// lock), so it is left alone and the running rehearsal ends as it should.
#[test]
fn a_mariadb_rehearsal_leaves_a_running_rehearsal_s_copy_alone() {
    let Some((server, db, tmp, name)) = on_mariadb() else {
        return;
    };
    let cwd = tmp.path();
    chain(cwd, &db.url);
    revision(cwd, "slow", "", "SELECT SLEEP(4);");
    let other = folder();
    revision(other.path(), "other set", "", "SELECT 1;");
    let rehearse = |dir: &Path, table: &str| rehearsal_of_set(dir, table, &db.url).output().unwrap();
    let listed = || copies_of(&server, &name);
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| rehearse(cwd, "migrate_history"));
        // The other set's rehearsal starts once the first one's copy exists.
        let seen = (0..200).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            !listed().is_empty()
        });
        assert!(seen, "the first rehearsal made its copy");
        let second = rehearse(other.path(), "other_history");
        (first.join().unwrap(), second)
    });
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{said}");
    assert!(!said.contains("dropped"), "{said}");
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(listed(), Vec::<String>::new(), "each rehearsal dropped its own copy");
}

/// The 1-based line of `revision`'s file in `cwd` that holds `text`.
fn line_of(cwd: &Path, revision: &str, text: &str) -> (String, usize) {
    let path = std::fs::read_dir(cwd.join("migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains(revision))
        .unwrap();
    let body = std::fs::read_to_string(&path).unwrap();
    let line = body.lines().position(|l| l.contains(text)).unwrap() + 1;
    (path.file_name().unwrap().to_string_lossy().into_owned(), line)
}

#[test]
fn mariadb_rehearsal_refuses_a_migration_naming_the_real_database() {
    let Some((server, db, tmp, name)) = on_mariadb() else {
        return;
    };
    let cwd = tmp.path();
    let url = &db.url;
    revision(
        cwd,
        "create t",
        "",
        "CREATE TABLE t (id INTEGER PRIMARY KEY);\nINSERT INTO t (id) VALUES (1), (2);",
    );
    ok(&mut migrate(cwd), &["upgrade", "-q", "--database-url", url]);
    let state = || {
        let tables = mysql::mysql(
            &server,
            &[
                "-N",
                "-e",
                &format!("SHOW COLUMNS FROM `{name}`.t; SELECT count(*) FROM `{name}`.t"),
            ],
            None,
        );
        let copies = mysql::mysql(
            &server,
            &["-N", "-e", &format!("SHOW DATABASES LIKE '{name}\\_rehearse\\_%'")],
            None,
        );
        format!("{tables}\ncopies: {copies}")
    };
    let before = state();

    // Its name in a comment or a string is no reference: that rehearses.
    let harmless = revision(
        cwd,
        "harmless",
        "",
        &format!(
            "-- ALTER TABLE {name}.t DROP COLUMN id\nINSERT INTO t (id) SELECT 3 FROM DUAL WHERE '{name}.t' <> '';"
        ),
    );
    ok(&mut migrate(cwd), &["upgrade", "--rehearse", "--database-url", url]);
    assert_eq!(state(), before);

    // Named explicitly, upper-cased and quoted: refused before the copy is made, naming revision, file and line.
    let upper = name.to_uppercase();
    let escapes = revision(
        cwd,
        "escapes",
        "",
        &format!("CREATE TABLE u (id INTEGER);\nALTER TABLE `{upper}`.t ADD COLUMN x INTEGER;"),
    );
    let (file, line) = line_of(cwd, &escapes, "ADD COLUMN x");
    let error = fails(&mut migrate(cwd), &["upgrade", "--rehearse", "--database-url", url], 1);
    assert!(
        error.contains(&format!("revision `{escapes}` (migrations/{file}:{line})"))
            && error.contains(&format!("names the database `{name}`"))
            && error.contains("refused before it ran anything"),
        "{error}"
    );
    assert!(!error.contains(&harmless), "the first offending revision only: {error}");
    assert_eq!(state(), before, "nothing touched, no copy made");

    // `USE` switches the session away from the copy: refused, whichever database it names.
    std::fs::remove_file(cwd.join("migrations").join(&file)).unwrap();
    let uses = revision(cwd, "uses", "", "USE mysql;\nCREATE TABLE v (id INTEGER);");
    let error = fails(&mut migrate(cwd), &["upgrade", "--rehearse", "--database-url", url], 1);
    assert!(
        error.contains(&format!("revision `{uses}`")) && error.contains("`USE mysql` switches the session"),
        "{error}"
    );
    assert_eq!(state(), before);
}

#[test]
fn postgres_rehearsal_reports_the_sequences_it_advanced() {
    let Some((db, tmp)) = applied_on_postgres(
        "CREATE TABLE s (id serial PRIMARY KEY, x int);\nCREATE SEQUENCE unused_seq;\nINSERT INTO s (x) VALUES (1), (2), (3);",
    ) else {
        return;
    };
    let cwd = tmp.path();
    revision(cwd, "two rows", "", "INSERT INTO s (x) VALUES (4), (5);");
    let last = || {
        program(
            "psql",
            &["-X", "-A", "-t", "-d", &db.url, "-c", "SELECT last_value FROM s_id_seq"],
            None,
        )
    };
    assert_eq!(last().trim(), "3");
    let r = run(&mut migrate(cwd), &["upgrade", "--rehearse", "--database-url", &db.url]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("public.s_id_seq 3 -> 5 (+2)") && r.stderr.contains("left as they are"),
        "the sequence the INSERT advanced, and only it:\n{r:?}"
    );
    assert!(!r.stderr.contains("unused_seq"), "{r:?}");
    assert_eq!(last().trim(), "5", "not set back");
    assert!(r.stdout.contains("2 rows"), "{r:?}");
}

/// A revision adding an enum value: what follows may use the value, which is
/// usable only once committed, and a rehearsal commits nothing, so it stops
/// there (not rehearsable, exit 0) instead of failing where the run would not.
#[test]
fn a_postgres_rehearsal_stops_after_a_revision_that_adds_an_enum_value() {
    let Some((db, tmp)) = applied_on_postgres("CREATE TYPE status AS ENUM ('queued');\nCREATE TABLE job (s status);")
    else {
        return;
    };
    let cwd = tmp.path();
    let adds = revision(cwd, "adds", "", "ALTER TYPE status ADD VALUE 'scheduled';");
    let uses = revision(cwd, "uses", "", "INSERT INTO job VALUES ('scheduled');");
    let r = run(&mut migrate(cwd), &["upgrade", "--rehearse", "--database-url", &db.url]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(&format!("{adds} adds: ran")), "{r:?}");
    assert!(
        r.stdout.contains(&format!("{uses} uses: not rehearsable"))
            && r.stdout.contains("| -- not rehearsed: it comes after migrations/"),
        "{r:?}"
    );
    // The run itself applies both.
    ok(&mut migrate(cwd), &["upgrade", "-q", "--database-url", &db.url]);
}

/// MariaDB's metadata locks, read where the server lists them: a node of the
/// Galera cluster `.ci/engines/galera` starts loads the `metadata_lock_info`
/// plugin (the machine's own MariaDB is never reconfigured by a test).
#[test]
fn mariadb_rehearsal_reports_metadata_locks() {
    let urls = std::env::var("MIGRATE_TEST_GALERA_URLS").unwrap_or_default();
    let Some(server) = urls.split_whitespace().next().map(str::to_owned) else {
        return unavailable(
            "a MariaDB server listing metadata locks (a node of `.ci/engines/galera`)",
            "MIGRATE_TEST_GALERA_URLS (unset)",
            "start one with `.ci/engines/galera start` and export the URLs it prints",
        );
    };
    let db = mysql::db(&server);
    let tmp = folder();
    let cwd = tmp.path();
    let ids = chain(cwd, &db.url);
    // A copy left behind looks, on a cluster node, like another node's live rehearsal: kept, and said.
    let name = db.url.rsplit('/').next().unwrap().to_owned();
    let left = killed_rehearsal(&server, &db.url, &name);
    let rehearsed = run(&mut migrate(cwd), &["upgrade", "--rehearse", "--database-url", &db.url]);
    let still = mysql::mysql(&server, &["-N", "-e", &format!("SHOW DATABASES LIKE '{left}'")], None);
    mysql::mysql(&server, &["-e", &format!("DROP DATABASE IF EXISTS `{left}`")], None);
    assert_eq!(rehearsed.code, 0, "{}", rehearsed.stderr);
    let report = rehearsed.stdout;
    lists_pending(&report, &ids);
    assert!(
        report.contains("UPDATE t SET note = 'x' (") && report.contains("MDL_SHARED_WRITE t"),
        "the UPDATE's metadata lock on t:\n{report}"
    );
    assert_eq!(still.trim(), left, "kept on a cluster");
    assert!(
        rehearsed.stderr.contains(&left) && rehearsed.stderr.contains("Galera"),
        "{}",
        rehearsed.stderr
    );
}

/// A rehearsal binds variables as the run does: an unset one refuses it
/// before anything runs, and a secret's value is never in its report.
#[test]
fn a_rehearsal_binds_variables_and_never_shows_a_secret() {
    let tmp = folder();
    let cwd = tmp.path();
    let url = format!("sqlite:{}", cwd.join("app.db").display());
    chain(cwd, &url);
    let id = revision(
        cwd,
        "tag rows",
        "-- migrate:var tag\n-- migrate:var secret token",
        "UPDATE t SET name = '${tag}-${token}';",
    );
    let e = fails(&mut migrate(cwd), &["upgrade", "--rehearse", "--database-url", &url], 1);
    assert!(
        e.contains(&id) && e.contains("`tag`"),
        "an unset variable is named:\n{e}"
    );
    let r = run(
        &mut migrate(cwd),
        &[
            "upgrade",
            "--rehearse",
            "--database-url",
            &url,
            "--var",
            "tag=blue",
            "--var",
            "token=s3cr3t-value",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("UPDATE t SET name = 'blue-${token}'"), "{}", r.stdout);
    assert!(r.stdout.contains("2 rows"), "the bound statement ran:\n{}", r.stdout);
    assert!(!format!("{}{}", r.stdout, r.stderr).contains("s3cr3t-value"), "{r:?}");
}
