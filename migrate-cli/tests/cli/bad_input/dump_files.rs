//! Schema files as the dump tools write them (issue 21), and schema files
//! that reach beyond their scratch database (issue 22, bug 1), with the
//! runtime's own tables of a migrated database's dump (bug 9): generated in
//! each test by the real `pg_dump`, `mysqldump` and `sqlite3` from a
//! database the test migrates, then run through `migrate check --schema`
//! on scratch databases of the local servers. The dumped database's rows
//! and tables are counted before and after.
//!
//! A missing tool or server skips the test with a message, and fails it
//! under `CI=true`.

use super::*;
use crate::support::{ok, program, run, unavailable, unique_name, write_sql};
use std::path::Path;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Whether `name` runs here; skips loudly (fails in CI) when it does not.
fn tool(name: &str) -> bool {
    let found = std::process::Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(!in_ci(), "{name} is not installed in CI");
        eprintln!("SKIPPED: {name} is not installed; install it to run this test");
    }
    found
}

/// Runs a command after the test, failed or not (a database or role it made).
struct Cleanup(&'static str, Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::process::Command::new(self.0)
            .args(&self.1)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// The PostgreSQL server of the tests.
struct Pg {
    url: String,
}

impl Pg {
    fn reach() -> Option<Pg> {
        let url = std::env::var("MIGRATE_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        if !tool("psql") || !tool("pg_dump") {
            return None;
        }
        match std::process::Command::new("psql")
            .args([&url, "-Atc", "SELECT 1"])
            .output()
        {
            Ok(o) if o.status.success() => Some(Pg { url }),
            Ok(o) => {
                unavailable("PostgreSQL", &url, String::from_utf8_lossy(&o.stderr));
                None
            }
            Err(e) => {
                unavailable("PostgreSQL", &url, e);
                None
            }
        }
    }

    /// The URL of database `name` on this server, as user `user` when given.
    fn url_of(&self, name: &str, user: Option<&str>) -> String {
        let (scheme, rest) = self.url.split_once("://").unwrap();
        let rest = rest.split('?').next().unwrap();
        let (auth, host) = rest.rsplit_once('@').map_or(("", rest), |(a, h)| (a, h));
        let host = host.split('/').next().unwrap();
        match (user, auth) {
            (Some(u), _) => format!("{scheme}://{u}@{host}/{name}"),
            (None, "") => format!("{scheme}://{host}/{name}"),
            (None, a) => format!("{scheme}://{a}@{host}/{name}"),
        }
    }

    fn sql(&self, sql: &str) -> String {
        program("psql", &[&self.url, "-qAtc", sql], None)
    }

    /// A new database, dropped after the test.
    fn database(&self) -> (String, Cleanup) {
        let name = unique_name("migrate_t");
        self.sql(&format!("CREATE DATABASE {name}"));
        let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        (name, Cleanup("psql", vec![self.url.clone(), "-qc".into(), drop]))
    }
}

/// The MySQL/MariaDB server of the tests, reached by the `mysql` client.
struct My {
    url: String,
    args: Vec<String>,
}

impl My {
    fn reach() -> Option<My> {
        let url =
            std::env::var("MIGRATE_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned());
        if !tool("mysql") || !tool("mysqldump") {
            return None;
        }
        let rest = url.split_once("://").unwrap().1;
        let (auth, host) = rest.rsplit_once('@').unwrap_or(("root", rest));
        let host = host.split('/').next().unwrap();
        let (host, port) = host.split_once(':').unwrap_or((host, "3306"));
        let (user, password) = auth.split_once(':').map_or((auth, None), |(u, p)| (u, Some(p)));
        let mut args = vec![
            "-h".into(),
            host.into(),
            "-P".into(),
            port.into(),
            "-u".into(),
            user.into(),
        ];
        args.extend(password.map(|p| format!("-p{p}")));
        let my = My { url, args };
        let probe = std::process::Command::new("mysql")
            .args(&my.args)
            .args(["-e", "SELECT 1"])
            .output();
        match probe {
            Ok(o) if o.status.success() => Some(my),
            Ok(o) => {
                unavailable("MySQL/MariaDB", &my.url, String::from_utf8_lossy(&o.stderr));
                None
            }
            Err(e) => {
                unavailable("MySQL/MariaDB", &my.url, e);
                None
            }
        }
    }

    fn url_of(&self, name: &str) -> String {
        let (base, _) = self.url.rsplit_once('/').unwrap();
        format!("{base}/{name}")
    }

    /// Runs `sql` with the `mysql` client (in database `db` when given), returning its rows.
    fn sql(&self, db: Option<&str>, sql: &str) -> String {
        let mut args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        args.extend(db);
        args.extend(["-Nse", sql]);
        program("mysql", &args, None)
    }

    fn database(&self) -> (String, Cleanup) {
        let name = unique_name("migrate_t");
        self.sql(None, &format!("CREATE DATABASE {name}"));
        let mut args = self.args.clone();
        args.extend(["-e".into(), format!("DROP DATABASE IF EXISTS {name}")]);
        (name, Cleanup("mysql", args))
    }
}

/// A project whose one revision has `upgrade` and `downgrade`.
fn project(cwd: &Path, upgrade: &str, downgrade: &str) {
    std::fs::create_dir(cwd.join("migrations")).unwrap();
    let path = ok(&mut migrate(cwd), &["revision", "-m", "the schema"]);
    write_sql(&cwd.join(path.trim()), upgrade, downgrade);
}

fn files(cwd: &Path) -> usize {
    std::fs::read_dir(cwd.join("migrations")).unwrap().count()
}

/// `check --schema FILE` agrees with the migrations, and autogenerate writes nothing
/// (no runtime table copied in: bug 9), both on scratch databases of `dev`.
fn agrees(cwd: &Path, file: &str, dev: &[&str]) {
    let mut args = vec!["check", "--schema", file];
    args.extend(dev);
    let r = run(&mut migrate(cwd), &args);
    assert_eq!(r.code, 0, "{file}:\n{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains(&format!("{file}: the migrations give exactly this schema")),
        "{}",
        r.stdout
    );
    let before = files(cwd);
    let mut args = vec!["revision", "--autogenerate", "-m", "again", "--schema", file];
    args.extend(dev);
    let r = run(&mut migrate(cwd), &args);
    assert_eq!(r.code, 0, "{file}:\n{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("No changes detected"), "{}", r.stderr);
    assert_eq!(files(cwd), before, "nothing written");
}

#[test]
fn a_pg_dump_of_a_migrated_database_is_read_as_pg_dump_writes_it() {
    let Some(pg) = Pg::reach() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let (name, _drop) = pg.database();
    // The dev server's user owns nothing of the dump and is no superuser, so an
    // `ALTER … OWNER TO postgres` sent to the scratch database would fail.
    let dev_role = format!("migrate_t_dev_{}", std::process::id());
    pg.sql(&format!("CREATE ROLE {dev_role} LOGIN CREATEDB NOSUPERUSER"));
    let _drop_role = Cleanup(
        "psql",
        vec![pg.url.clone(), "-qc".into(), format!("DROP ROLE IF EXISTS {dev_role}")],
    );
    project(
        cwd,
        "CREATE TABLE item (id serial PRIMARY KEY, name text UNIQUE, price numeric DEFAULT 0);\n\
         CREATE INDEX item_price ON item (price);\n\
         CREATE VIEW cheap AS SELECT id, name FROM item WHERE price < 10;\n\
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.price := coalesce(NEW.price, 0); RETURN NEW; END $$;\n\
         CREATE TRIGGER item_touch BEFORE INSERT ON item FOR EACH ROW EXECUTE FUNCTION touch();",
        "DROP TABLE item CASCADE;\nDROP FUNCTION touch();",
    );
    let source = pg.url_of(&name, None);
    ok(&mut migrate(cwd), &["upgrade", "--database-url", &source]);
    program(
        "psql",
        &[
            &source,
            "-qc",
            "INSERT INTO item (name) VALUES ('a'), ('b'); GRANT SELECT ON item TO PUBLIC",
        ],
        None,
    );
    let counts = || {
        program(
            "psql",
            &[
                &source,
                "-Atc",
                "SELECT (SELECT count(*) FROM item) || ' ' || (SELECT count(*) FROM migrate_history) || ' ' || (SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public')",
            ],
            None,
        )
    };
    let before = counts();
    assert_eq!(before.trim(), "2 2 item,migrate_history");

    let dump = program("pg_dump", &["--schema-only", &source], None);
    std::fs::write(cwd.join("dump.sql"), &dump).unwrap();
    let created = program("pg_dump", &["--schema-only", "--create", &source], None);
    std::fs::write(cwd.join("create.sql"), &created).unwrap();
    for said in [
        "SELECT pg_catalog.set_config('search_path', '', false);",
        "OWNER TO postgres;",
        "GRANT SELECT ON TABLE public.item TO PUBLIC;",
        "CREATE TABLE public.migrate_history",
    ] {
        assert!(dump.contains(said), "pg_dump wrote no `{said}`:\n{dump}");
    }
    assert!(created.contains(&format!("\\connect {name}")), "{created}");

    let dev = pg.url_of("postgres", Some(&dev_role));
    agrees(cwd, "dump.sql", &["--dev-database-url", &dev]);
    agrees(cwd, "create.sql", &["--dev-database-url", &dev]);
    assert_eq!(counts(), before, "the dumped database is as it was");
}

#[test]
fn a_mysqldump_of_a_database_leaves_that_database_as_it_was() {
    let Some(my) = My::reach() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let (name, _drop) = my.database();
    project(
        cwd,
        "CREATE TABLE item (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(20) UNIQUE, n INT DEFAULT 0);\n\
         CREATE VIEW named AS SELECT id, name FROM item;\n\
         CREATE TRIGGER item_n BEFORE INSERT ON item FOR EACH ROW BEGIN SET NEW.n = 1; END;\n\
         CREATE PROCEDURE hello() BEGIN SELECT 1; SELECT 2; END;",
        "DROP PROCEDURE hello;\nDROP VIEW named;\nDROP TABLE item;",
    );
    let source = my.url_of(&name);
    ok(&mut migrate(cwd), &["upgrade", "--database-url", &source]);
    my.sql(Some(&name), "INSERT INTO item (name) VALUES ('a'), ('b')");
    let counts = || {
        my.sql(
            Some(&name),
            "SELECT CONCAT((SELECT count(*) FROM item), ' ', (SELECT count(*) FROM migrate_history), ' ', (SELECT GROUP_CONCAT(table_name ORDER BY table_name) FROM information_schema.tables WHERE table_schema = DATABASE()))",
        )
    };
    let before = counts();
    assert_eq!(before.trim(), "2 2 item,migrate_history,named");

    let mut args: Vec<&str> = my.args.iter().map(String::as_str).collect();
    args.extend(["--no-data", "--routines", "--triggers", "--databases", &name]);
    let dump = program("mysqldump", &args, None);
    std::fs::write(cwd.join("dump.sql"), &dump).unwrap();
    for said in [
        format!("USE `{name}`;"),
        "DROP TABLE IF EXISTS `item`;".to_owned(),
        "DELIMITER ;;".to_owned(),
        "/*!40101 SET".to_owned(),
    ] {
        assert!(dump.contains(&said), "mysqldump wrote no `{said}`:\n{dump}");
    }
    // The command: a dev URL naming the server's `mysql` database.
    let dev = my.url_of("mysql");
    agrees(cwd, "dump.sql", &["--dev-database-url", &dev]);
    assert_eq!(counts(), before, "the dumped database is as it was");
}

#[test]
fn a_sqlite3_schema_is_read_as_sqlite3_writes_it() {
    if !tool("sqlite3") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(
        cwd,
        "CREATE TABLE item (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT /* shown */, n INT DEFAULT 0);\n\
         CREATE INDEX item_n ON item (n);\n\
         CREATE VIEW named AS SELECT id, name FROM item;\n\
         CREATE TRIGGER item_touch AFTER INSERT ON item BEGIN UPDATE item SET n = 1 WHERE id = NEW.id; END;",
        "DROP TABLE item;",
    );
    let db = cwd.join("app.db");
    ok(&mut migrate(cwd), &["upgrade", "--database-url", &sqlite_url(cwd)]);
    program(
        "sqlite3",
        &[db.to_str().unwrap(), "INSERT INTO item (name) VALUES ('a'); ANALYZE;"],
        None,
    );
    let schema = program("sqlite3", &[db.to_str().unwrap(), ".schema"], None);
    for said in [
        "CREATE TABLE sqlite_sequence(name,seq);",
        "/* named(id,name) */",
        "migrate_history",
    ] {
        assert!(schema.contains(said), "sqlite3 wrote no `{said}`:\n{schema}");
    }
    std::fs::write(cwd.join("schema.sql"), &schema).unwrap();
    agrees(cwd, "schema.sql", &["--dialect", "sqlite"]);

    // A dot-command is sqlite3's, not SQL: an error at its line.
    std::fs::write(cwd.join("dot.sql"), format!("{schema}.read other.sql\n")).unwrap();
    let e = fails(
        &mut migrate(cwd),
        &["check", "--schema", "dot.sql", "--dialect", "sqlite"],
        1,
    );
    let line = schema.lines().count() + 1;
    assert!(
        e.contains(&format!(
            "error: `.read other.sql` is a sqlite3 dot-command, not SQL\n  --> dot.sql:{line}\n"
        )),
        "{e}"
    );
}

#[test]
fn another_database_and_a_role_on_postgres_are_refused_before_anything_runs() {
    let Some(pg) = Pg::reach() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir(cwd.join("migrations")).unwrap();
    let (other, _drop) = pg.database();
    let role = format!("migrate_t_role_{}", std::process::id());
    let _drop_role = Cleanup(
        "psql",
        vec![pg.url.clone(), "-qc".into(), format!("DROP ROLE IF EXISTS {role}")],
    );
    std::fs::write(
        cwd.join("schema.sql"),
        format!(
            "CREATE TABLE item (id int);\nDROP DATABASE {other};\nCREATE ROLE {role};\n\\i more.sql\n\
             SELECT \"dblink_exec\"('dbname={other}', 'DROP TABLE t');\n\
             DO $$ BEGIN PERFORM public.dblink_send_query('c', 'DROP TABLE t'); END $$;\n\
             DELETE FROM remote_t;\n"
        ),
    )
    .unwrap();
    let e = fails(
        &mut migrate(cwd),
        &["check", "--schema", "--dev-database-url", &pg.url],
        1,
    );
    for (line, says) in [
        (
            2,
            format!("`DROP DATABASE {other}` would act beyond the scratch database: it drops database `{other}`"),
        ),
        (
            3,
            format!(
                "`CREATE ROLE {role}` would act beyond the scratch database: `CREATE ROLE` changes the server's roles"
            ),
        ),
        (4, "`\\i` is a psql meta-command this tool does not run".to_owned()),
        (5, "`\"dblink_exec\"(…)` acts on the server or beyond it".to_owned()),
        (6, "`dblink_send_query(…)` acts on the server or beyond it".to_owned()),
    ] {
        assert!(e.contains(&says), "line {line}: {e}");
        assert!(e.contains(&format!("--> schema.sql:{line}\n")), "line {line}: {e}");
    }
    // Rows are not sent: the comparison does not read them, and through a foreign
    // table they would be written elsewhere.
    assert!(!e.contains("schema.sql:7"), "{e}");
    assert!(e.contains("error: 5 problems in schema.sql"), "{e}");
    let exists = |sql: String| pg.sql(&sql).trim() == "1";
    assert!(exists(format!(
        "SELECT count(*) FROM pg_database WHERE datname = '{other}'"
    )));
    assert!(!exists(format!(
        "SELECT count(*) FROM pg_roles WHERE rolname = '{role}'"
    )));
}

#[test]
fn another_database_on_mariadb_is_refused_before_anything_runs() {
    let Some(my) = My::reach() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir(cwd.join("migrations")).unwrap();
    let (other, _drop) = my.database();
    my.sql(Some(&other), "CREATE TABLE t (id INT); INSERT INTO t VALUES (1), (2)");
    // Were they ever sent, the global setting would be set to what it is, and the user dropped.
    let connections = my.sql(None, "SELECT @@global.max_connections");
    let user = format!("migrate_t_user_{}", std::process::id());
    let mut drop_user = my.args.clone();
    drop_user.extend(["-e".into(), format!("DROP USER IF EXISTS '{user}'@'%'")]);
    let _drop_user = Cleanup("mysql", drop_user);
    // A hand-written file: this schema, then a second database's.
    std::fs::write(
        cwd.join("schema.sql"),
        format!(
            "CREATE TABLE item (id INT);\nUSE `{other}`;\nDROP TABLE IF EXISTS t;\nDROP TABLE IF EXISTS {other}.t;\nSET GLOBAL max_connections = {};\nCREATE USER '{user}'@'%';\nEXECUTE IMMEDIATE CONCAT('DROP TABLE {other}', '.t');\n",
            connections.trim()
        ),
    )
    .unwrap();
    let e = fails(
        &mut migrate(cwd),
        &["check", "--schema", "--dev-database-url", &my.url_of("mysql")],
        1,
    );
    for (line, says) in [
        (
            2,
            format!("it switches to database `{other}`, after the file made objects in the scratch database"),
        ),
        (4, format!("`{other}.t` names database `{other}`")),
        (5, "`SET GLOBAL` changes a setting of the whole server".to_owned()),
        (6, "`CREATE USER` changes the server's roles".to_owned()),
        (7, "`EXECUTE` runs SQL held in a string".to_owned()),
    ] {
        assert!(e.contains(&says), "line {line}: {e}");
        assert!(e.contains(&format!("--> schema.sql:{line}\n")), "line {line}: {e}");
    }
    assert!(
        !e.contains("schema.sql:3"),
        "line 3 drops the scratch database's own table: {e}"
    );
    assert_eq!(my.sql(Some(&other), "SELECT count(*) FROM t").trim(), "2");
    assert_eq!(
        my.sql(None, &format!("SELECT count(*) FROM mysql.user WHERE user = '{user}'"))
            .trim(),
        "0"
    );
}

#[test]
fn sqlite_attach_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir(cwd.join("migrations")).unwrap();
    let other = cwd.join("other.db");
    std::fs::write(
        cwd.join("schema.sql"),
        format!(
            "CREATE TABLE item (id INTEGER);\nATTACH DATABASE '{}' AS other;\nCREATE TABLE other.t (id INTEGER);\n",
            other.display()
        ),
    )
    .unwrap();
    let e = fails(&mut migrate(cwd), &["check", "--schema", "--dialect", "sqlite"], 1);
    assert!(
        e.contains("`ATTACH` opens or closes another database file\n  --> schema.sql:2\n"),
        "{e}"
    );
    assert!(!other.exists(), "nothing ran");
}
