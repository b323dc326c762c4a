//! Writing migrations from the schema you want: `revision --autogenerate`,
//! `check --schema` as a CI gate, `schema dump` to start a schema file,
//! through the real binary.

use crate::support::{fails, migrate, ok, run, write_sql};
use std::path::Path;

/// The `[lint]` table of these projects: autogenerate writes the change the
/// schema file asks for, not its online form (no `CONCURRENTLY`, no `NOT
/// VALID`, drops outside a contract revision), and these tests compare
/// schemas, so `check` reports the lint's findings as warnings here.
fn lint_as_warnings() -> String {
    let rules = migrate_core::lint::RULES.iter().filter(|r| !r.fails_at_run_time);
    let levels: String = rules.map(|r| format!("{} = \"warning\"\n", r.id)).collect();
    format!("[lint]\n{levels}")
}

/// A project with one applied-nowhere revision creating `item`, and a SQLite URL.
fn project(cwd: &Path) {
    std::fs::write(
        cwd.join("migrate.toml"),
        format!(
            "database_url = \"sqlite:{}\"\ndir = \"migrations\"\n{}",
            cwd.join("app.db").display(),
            lint_as_warnings()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(cwd.join("migrations")).unwrap();
    let path = ok(&mut migrate(cwd), &["revision", "-m", "create item"]);
    write_sql(
        &cwd.join(path.trim()),
        "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, note TEXT);",
        "DROP TABLE item;",
    );
}

fn files(cwd: &Path) -> usize {
    std::fs::read_dir(cwd.join("migrations")).unwrap().count()
}

#[test]
fn the_autogenerate_loop_on_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd);
    std::fs::write(
        cwd.join("schema.sql"),
        "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, price INTEGER NOT NULL DEFAULT 0);\n\
         CREATE TABLE account (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);\n\
         CREATE INDEX item_name ON item (name);\n",
    )
    .unwrap();

    // The CI gate fails, printing the differences on stdout.
    let r = run(&mut migrate(cwd), &["check", "--schema"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Detected added table \"account\""), "{}", r.stdout);
    assert!(
        r.stdout.contains("Detected added column \"item\".\"price\""),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("differs from schema.sql"), "{}", r.stderr);

    // The revision: a line per change, the drop flagged, the file on top of the head.
    let r = run(
        &mut migrate(cwd),
        &["revision", "--autogenerate", "-m", "account and price"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("Detected added index \"item_name\""), "{}", r.stderr);
    assert!(
        r.stderr.contains("warning: Detected removed column \"item\".\"note\""),
        "{}",
        r.stderr
    );
    let written = std::fs::read_to_string(cwd.join(r.stdout.trim())).unwrap();
    assert!(
        written.contains("-- REVIEW: drops column \"item\".\"note\" and its data"),
        "{written}"
    );
    assert!(written.contains("CREATE TABLE account"), "{written}");
    assert!(written.contains("-- migrate:downgrade\n"), "{written}");
    ok(&mut migrate(cwd), &["check"]);

    // Applied, the migrations give exactly schema.sql: the gate passes, and nothing more is written.
    ok(&mut migrate(cwd), &["upgrade", "head"]);
    ok(&mut migrate(cwd), &["check", "--schema"]);
    let before = files(cwd);
    let r = run(&mut migrate(cwd), &["revision", "--autogenerate", "-m", "nothing"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("No changes detected"), "{}", r.stderr);
    assert_eq!(files(cwd), before, "nothing written");

    // The live database has it; the downgrade takes it back.
    let url = format!("sqlite:{}", cwd.join("app.db").display());
    let live = ok(&mut migrate(cwd), &["schema", "dump", "--database-url", &url]);
    assert!(
        live.contains("CREATE TABLE account") && live.contains("price"),
        "{live}"
    );
    ok(&mut migrate(cwd), &["downgrade", "-1"]);
    let live = ok(&mut migrate(cwd), &["schema", "dump", "--database-url", &url]);
    assert!(
        !live.contains("account") && !live.contains("price") && live.contains("note TEXT"),
        "{live}"
    );
}

#[test]
fn a_column_swapped_for_one_of_its_type_needs_the_rename_said() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd);
    std::fs::write(
        cwd.join("schema.sql"),
        "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, remark TEXT);\n",
    )
    .unwrap();
    let before = files(cwd);
    let e = fails(&mut migrate(cwd), &["revision", "--autogenerate", "-m", "rename"], 1);
    assert!(e.contains("loses column \"note\" and gains column \"remark\""), "{e}");
    assert!(e.contains("-- migrate:renamed-from note"), "{e}");
    assert_eq!(files(cwd), before, "nothing written");

    std::fs::write(
        cwd.join("schema.sql"),
        "CREATE TABLE item (\n  id INTEGER PRIMARY KEY,\n  name TEXT,\n  -- migrate:renamed-from note\n  remark TEXT\n);\n",
    )
    .unwrap();
    let r = run(&mut migrate(cwd), &["revision", "--autogenerate", "-m", "rename"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("Detected renamed column \"item\".\"note\" to \"remark\""),
        "{}",
        r.stderr
    );
    let written = std::fs::read_to_string(cwd.join(r.stdout.trim())).unwrap();
    assert!(written.contains("RENAME COLUMN note TO remark"), "{written}");
    assert!(written.contains("RENAME COLUMN remark TO note"), "{written}");

    // --allow-destructive writes the drop and the add instead.
    std::fs::remove_file(cwd.join(r.stdout.trim())).unwrap();
    std::fs::write(
        cwd.join("schema.sql"),
        "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, remark TEXT);\n",
    )
    .unwrap();
    let r = run(
        &mut migrate(cwd),
        &["revision", "--autogenerate", "--allow-destructive", "-m", "replace"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let written = std::fs::read_to_string(cwd.join(r.stdout.trim())).unwrap();
    assert!(
        written.contains("DROP COLUMN note") && written.contains("ADD COLUMN remark"),
        "{written}"
    );
}

#[test]
fn schema_dump_starts_a_schema_file_that_agrees() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd);
    let dumped = ok(&mut migrate(cwd), &["schema", "dump"]);
    assert!(dumped.contains("CREATE TABLE item"), "{dumped}");
    std::fs::write(cwd.join("start.sql"), &dumped).unwrap();
    ok(&mut migrate(cwd), &["check", "--schema", "start.sql"]);
    // The live database's, once migrated.
    ok(&mut migrate(cwd), &["upgrade", "head"]);
    let url = format!("sqlite:{}", cwd.join("app.db").display());
    let live = ok(&mut migrate(cwd), &["schema", "dump", "--database-url", &url]);
    assert!(
        live.contains("CREATE TABLE item") && !live.contains("migrate_history"),
        "{live}"
    );
}

#[test]
fn a_missing_or_broken_schema_file_says_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd);
    let e = fails(&mut migrate(cwd), &["check", "--schema"], 1);
    assert!(
        e.contains("cannot read the schema file `schema.sql`") && e.contains("migrate schema dump"),
        "{e}"
    );
    std::fs::write(
        cwd.join("schema.sql"),
        "CREATE TABLE item (id INTEGER PRIMARY KEY);\nCREATE TABLE broken (;\n",
    )
    .unwrap();
    let e = fails(&mut migrate(cwd), &["revision", "--autogenerate", "-m", "x"], 1);
    assert!(e.contains("schema.sql:2"), "{e}");
    std::fs::write(
        cwd.join("schema.sql"),
        "-- migrate:renamed-from a\nCREATE INDEX i ON item (id);\n",
    )
    .unwrap();
    let e = fails(&mut migrate(cwd), &["revision", "--autogenerate", "-m", "x"], 1);
    assert!(e.contains("schema.sql:line 1"), "{e}");
    // A server dialect without a dev server is a usage error that names the flag.
    let e = fails(
        &mut migrate(cwd),
        &[
            "check",
            "--schema",
            "--database-url",
            "postgres://u:S3cret@127.0.0.1:1/x",
        ],
        2,
    );
    assert!(e.contains("--dev-database-url") && !e.contains("S3cret"), "{e}");
}

fn server(var: &str, default: &str) -> Option<String> {
    let url = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    let reachable = if url.starts_with("postgres") {
        std::process::Command::new("psql")
            .args([url.as_str(), "-Atc", "select 1"])
            .output()
    } else {
        std::process::Command::new("mysql")
            .args(["-h", "127.0.0.1", "-uroot", "-e", "select 1"])
            .output()
    };
    if reachable.is_ok_and(|o| o.status.success()) {
        return Some(url);
    }
    assert!(std::env::var("CI").is_err(), "{url} is not reachable in CI");
    eprintln!("SKIPPED: {url} is not reachable");
    None
}

/// The scratch databases the process `pid` left on the server (named
/// `migrate_scratch_<secs>_<pid>_<n>`): other tests make their own meanwhile.
fn pg_scratch_count(url: &str, pid: u32) -> i64 {
    crate::support::program(
        "psql",
        &[
            url,
            "-Atc",
            &format!("SELECT count(*) FROM pg_database WHERE datname LIKE 'migrate\\_scratch\\_%\\_{pid}\\_%'"),
        ],
        None,
    )
    .trim()
    .parse()
    .unwrap()
}

#[test]
fn ctrl_c_drops_the_scratch_databases() {
    interrupted_drops_the_scratch_databases("-INT");
}

#[test]
fn sigterm_drops_the_scratch_databases() {
    interrupted_drops_the_scratch_databases("-TERM");
}

/// `revision --autogenerate` sent `signal` inside its second scratch database.
fn interrupted_drops_the_scratch_databases(signal: &str) {
    let Some(url) = server("MIGRATE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd);
    // schema.sql takes its time, so the command is inside its scratch database when interrupted.
    std::fs::write(
        cwd.join("schema.sql"),
        "CREATE TABLE item (id integer PRIMARY KEY);\nSELECT pg_sleep(30);\n",
    )
    .unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_migrate"))
        .current_dir(cwd)
        .args(["revision", "--autogenerate", "-m", "slow", "--dev-database-url", &url])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Its second scratch database (`…_<pid>_1`) runs schema.sql: wait until it sleeps there.
    let mine = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE 'migrate\\_scratch\\_%\\_{}\\_1' AND query LIKE '%pg_sleep%'",
        child.id()
    );
    let mut seen = false;
    for _ in 0..400 {
        if crate::support::program("psql", &[&url, "-Atc", &mine], None).trim() == "1" {
            seen = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(seen, "the command reached schema.sql in its scratch database");
    let kill = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("interrupted; the scratch database was dropped"),
        "{stderr}"
    );
    assert_eq!(pg_scratch_count(&url, pid), 0, "nothing left on the dev server");
    assert_eq!(files(cwd), 1, "nothing written");
}

#[test]
fn autogenerate_on_mariadb_through_a_dev_server() {
    let Some(url) = server("MIGRATE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd);
    std::fs::write(
        cwd.join("schema.sql"),
        "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, note TEXT, qty INT NOT NULL DEFAULT 1);\nCREATE INDEX item_qty ON item (qty);\n",
    )
    .unwrap();
    let count = || {
        crate::support::program(
            "mysql",
            &[
                "-h",
                "127.0.0.1",
                "-uroot",
                "-Nse",
                "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'migrate\\_scratch\\_%'",
            ],
            None,
        )
    };
    let before = count();
    let r = run(
        &mut migrate(cwd),
        &["revision", "--autogenerate", "-m", "qty", "--dev-database-url", &url],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("Detected added column \"item\".\"qty\""),
        "{}",
        r.stderr
    );
    let written = std::fs::read_to_string(cwd.join(r.stdout.trim())).unwrap();
    assert!(
        written.contains("ALTER TABLE item ADD COLUMN qty int(11) NOT NULL DEFAULT 1"),
        "{written}"
    );
    assert!(written.contains("CREATE INDEX item_qty ON item (qty)"), "{written}");
    ok(&mut migrate(cwd), &["check", "--schema", "--dev-database-url", &url]);
    assert_eq!(count(), before, "the scratch databases are dropped");
}

#[test]
fn a_dev_server_user_without_createdb_is_told_which_privilege() {
    let Some(url) = server("MIGRATE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test") else {
        return;
    };
    let role = format!("migrate_nocreatedb_{}", std::process::id());
    crate::support::program(
        "psql",
        &[&url, "-qAtc", &format!("CREATE ROLE {role} LOGIN NOCREATEDB")],
        None,
    );
    let (base, rest) = url.split_once("://").unwrap();
    let host = rest.split_once('@').map_or(rest, |(_, h)| h);
    let limited = format!("{base}://{role}@{host}");
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd);
    std::fs::write(cwd.join("schema.sql"), "CREATE TABLE item (id integer PRIMARY KEY);\n").unwrap();
    let r = run(
        &mut migrate(cwd),
        &["revision", "--autogenerate", "-m", "x", "--dev-database-url", &limited],
    );
    crate::support::program("psql", &[&url, "-qAtc", &format!("DROP ROLE {role}")], None);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("cannot create a scratch database"), "{}", r.stderr);
    assert!(
        r.stderr.contains("CREATEDB") && r.stderr.contains("--dev-database-url"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("permission denied to create database"),
        "the server's own words: {}",
        r.stderr
    );
    assert_eq!(files(cwd), 1, "nothing written");
}

/// `pg_dump --schema-only` of a database without the runtime's tables, its
/// `\restrict` lines (a new random key each run) left out.
fn pg_schema(url: &str) -> String {
    let dump = crate::support::program(
        "pg_dump",
        &["--schema-only", "-T", "migrate_history", "-T", "migrate_lease", url],
        None,
    );
    dump.lines()
        .filter(|l| !l.starts_with("\\restrict ") && !l.starts_with("\\unrestrict "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A project whose database is `target` and whose scratch server is `dev`.
fn pg_project(cwd: &Path, target: &str, dev: &str) {
    std::fs::write(
        cwd.join("migrate.toml"),
        format!(
            "database_url = \"{target}\"\ndev_database_url = \"{dev}\"\ndir = \"migrations\"\n{}",
            lint_as_warnings()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(cwd.join("migrations")).unwrap();
}

/// After a generated revision: `check --schema` agrees, and autogenerate again writes nothing.
fn agrees_and_writes_nothing(cwd: &Path) {
    ok(&mut migrate(cwd), &["check", "--schema"]);
    let before = files(cwd);
    let r = run(&mut migrate(cwd), &["revision", "--autogenerate", "-m", "nothing"]);
    assert!(
        r.code == 0 && r.stderr.contains("No changes detected"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    assert_eq!(files(cwd), before, "nothing written");
}

#[test]
fn a_real_pg_dump_round_trips_exactly() {
    let Some(url) = server("MIGRATE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test") else {
        return;
    };
    use crate::databases::postgres::{db, psql};
    let (source, target) = (db(&url), db(&url));
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    pg_project(cwd, &target.url, &url);
    let path = ok(&mut migrate(cwd), &["revision", "-m", "start"]);
    write_sql(
        &cwd.join(path.trim()),
        "CREATE TABLE parent (id integer PRIMARY KEY, code text);\n\
         CREATE TABLE child (id integer PRIMARY KEY, parent_id integer REFERENCES parent (id), qty integer CONSTRAINT qty_positive CHECK (qty > 0));\n\
         CREATE INDEX child_qty ON child (qty);\n\
         CREATE SEQUENCE gone START 3;\n\
         CREATE SEQUENCE counter START 100;",
        "DROP TABLE child, parent; DROP SEQUENCE gone, counter;",
    );
    ok(&mut migrate(cwd), &["upgrade", "head"]);
    psql(
        &target.url,
        &["-c", "SELECT nextval('counter'), nextval('counter')"],
        None,
    );
    let start = pg_schema(&target.url);

    // The schema wanted, made by hand in a database of its own, and dumped as it is.
    psql(
        &source.url,
        &[
            "-c",
            "CREATE SEQUENCE ticket_no AS integer START WITH 1000 INCREMENT BY 10 MAXVALUE 1000000 CACHE 5;\
            CREATE SEQUENCE counter START 100 INCREMENT 5;\
            CREATE TABLE parent (id integer PRIMARY KEY, code text);\
            ALTER TABLE parent ADD CONSTRAINT parent_id_key UNIQUE (id);\
            CREATE TABLE child (id integer PRIMARY KEY, parent_id integer REFERENCES parent (id), qty integer CONSTRAINT qty_above_zero CHECK (qty > 0),\
              ticket integer DEFAULT nextval('ticket_no'), CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES parent (id));\
            CREATE INDEX child_by_qty ON child (qty);\
            ALTER SEQUENCE ticket_no OWNED BY child.ticket;\
            CREATE SEQUENCE loose START 7;\
            CREATE TABLE log (id serial PRIMARY KEY, n bigint DEFAULT nextval('loose'));",
        ],
        None,
    );
    let wanted = crate::support::program("pg_dump", &["--schema-only", &source.url], None);
    assert!(
        wanted.contains("\\restrict "),
        "pg_dump 15.14 and later write \\restrict: {wanted}"
    );
    std::fs::write(cwd.join("schema.sql"), &wanted).unwrap();

    let r = run(&mut migrate(cwd), &["check", "--schema"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("Not generated"), "{}", r.stdout);
    let r = run(
        &mut migrate(cwd),
        &["revision", "--autogenerate", "-m", "from the dump"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let written = std::fs::read_to_string(cwd.join(r.stdout.trim())).unwrap();
    for line in [
        "CREATE SEQUENCE ticket_no AS integer INCREMENT BY 10 MAXVALUE 1000000 START WITH 1000 CACHE 5;",
        "ALTER SEQUENCE counter INCREMENT BY 5;",
        "ALTER TABLE parent ADD CONSTRAINT parent_id_key UNIQUE (id);",
        "ALTER TABLE child RENAME CONSTRAINT qty_positive TO qty_above_zero;",
        "ALTER INDEX child_qty RENAME TO child_by_qty;",
        "ALTER SEQUENCE ticket_no OWNED BY child.ticket;",
        "DROP SEQUENCE gone;",
    ] {
        assert!(written.contains(line), "{line} in:\n{written}");
    }

    // Upgraded, the database dumps as the schema file did; the gate passes, and nothing more is written.
    ok(&mut migrate(cwd), &["upgrade", "head"]);
    assert_eq!(pg_schema(&target.url), pg_schema(&source.url));
    let next: String = psql(&target.url, &["-Atc", "SELECT nextval('counter')"], None);
    assert_eq!(next.trim(), "106", "the sequence went on from where it was");
    agrees_and_writes_nothing(cwd);

    // And the downgrade dumps as the start did.
    ok(&mut migrate(cwd), &["downgrade", "-1"]);
    assert_eq!(pg_schema(&target.url), start);
}

#[test]
fn partitioned_tables_and_carriage_returns_in_a_real_pg_dump() {
    let Some(url) = server("MIGRATE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test") else {
        return;
    };
    use crate::databases::postgres::{db, psql};
    let (source, target) = (db(&url), db(&url));
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    pg_project(cwd, &target.url, &url);
    ok(&mut migrate(cwd), &["revision", "-m", "start"]);
    ok(&mut migrate(cwd), &["upgrade", "head"]);
    let start = pg_schema(&target.url);
    // What a partitioned history (ethyca-fides' privacy_preferences) and a CHECK
    // written with a carriage return in a literal (langflow's sso_config) leave.
    psql(
        &source.url,
        &[
            "-c",
            "CREATE TABLE prefs (id bigint NOT NULL, is_latest boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL DEFAULT now(),\
               PRIMARY KEY (id, is_latest)) PARTITION BY LIST (is_latest);\
             CREATE TABLE prefs_current PARTITION OF prefs FOR VALUES IN (true);\
             CREATE TABLE prefs_historic PARTITION OF prefs FOR VALUES IN (false);\
             CREATE INDEX ix_prefs_created_at ON prefs (created_at);\
             CREATE INDEX ix_historic_only ON prefs_historic (id);\
             CREATE TABLE note (id integer PRIMARY KEY, pref_id bigint, pref_latest boolean, body text,\
               CONSTRAINT body_one_line CHECK (body NOT LIKE E'%\\r%'),\
               CONSTRAINT note_pref FOREIGN KEY (pref_id, pref_latest) REFERENCES prefs (id, is_latest));",
        ],
        None,
    );
    let wanted = crate::support::program("pg_dump", &["--schema-only", &source.url], None);
    assert!(
        wanted.contains("PARTITION BY LIST") && wanted.contains("'%\r%'"),
        "{wanted}"
    );
    std::fs::write(cwd.join("schema.sql"), &wanted).unwrap();
    let r = run(&mut migrate(cwd), &["revision", "--autogenerate", "-m", "partitions"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let written = std::fs::read_to_string(cwd.join(r.stdout.trim())).unwrap();
    for line in [
        "PARTITION BY LIST (is_latest);",
        "CREATE TABLE prefs_current PARTITION OF prefs FOR VALUES IN (true);",
        "CREATE INDEX ix_prefs_created_at ON prefs USING btree (created_at);",
        "CREATE INDEX ix_historic_only ON prefs_historic USING btree (id);",
        "E'%\\r%'",
    ] {
        assert!(written.contains(line), "{line} in:\n{written}");
    }
    assert!(
        !written.contains("prefs_current_pkey"),
        "a partition's inherited key is its parent's:\n{written}"
    );
    ok(&mut migrate(cwd), &["upgrade", "head"]);
    assert_eq!(pg_schema(&target.url), pg_schema(&source.url));
    agrees_and_writes_nothing(cwd);
    ok(&mut migrate(cwd), &["downgrade", "-1"]);
    assert_eq!(pg_schema(&target.url), start);
}

/// A generated revision that `check` would refuse is not written, and what
/// is said is why (here an enum value used in the transaction that adds it),
/// not a complaint about the message.
#[test]
fn a_generated_revision_check_would_refuse_says_why() {
    let Some(dev) = server("MIGRATE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    std::fs::create_dir(cwd.join("migrations")).unwrap();
    let schema = |sql: &str| std::fs::write(cwd.join("schema.sql"), sql).unwrap();
    let generate = [
        "--dialect",
        "postgres",
        "revision",
        "--autogenerate",
        "--dev-database-url",
        &dev,
        "-m",
    ];
    schema("CREATE TYPE mood AS ENUM ('ok', 'sad');\nCREATE TABLE person (id int PRIMARY KEY, m mood DEFAULT 'ok');\n");
    ok(&mut migrate(cwd), &[&generate[..], &["first"]].concat());
    schema(
        "CREATE TYPE mood AS ENUM ('ok', 'sad', 'ecstatic');\nCREATE TABLE person (id int PRIMARY KEY, m mood DEFAULT 'ecstatic');\n",
    );
    let said = fails(&mut migrate(cwd), &[&generate[..], &["second"]].concat(), 1);
    assert!(
        said.contains("[enum-value-used-in-transaction]") && !said.contains("reword it"),
        "{said}"
    );
    assert_eq!(files(cwd), 1, "nothing written");
}

/// A schema that adds an enum value and uses it at once (a default): the
/// revision the build would refuse is not written, and the error says so,
/// where it named the file's place as if it existed.
#[test]
fn a_revision_using_an_enum_value_it_adds_is_not_written() {
    let Some(dev) = server("MIGRATE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    pg_project(cwd, &dev, &dev);
    let path = ok(&mut migrate(cwd), &["revision", "-m", "base"]);
    write_sql(
        &cwd.join(path.trim()),
        "CREATE TYPE e AS ENUM ('a');\nCREATE TABLE t (x e DEFAULT 'a');",
        "DROP TABLE t;\nDROP TYPE e;",
    );
    std::fs::write(
        cwd.join("schema.sql"),
        "CREATE TYPE e AS ENUM ('a', 'b');\nCREATE TABLE t (x e DEFAULT 'b');\n",
    )
    .unwrap();
    let before = files(cwd);
    let e = fails(&mut migrate(cwd), &["revision", "--autogenerate", "-m", "use b"], 1);
    assert!(
        e.contains("enum-value-used-in-transaction")
            && e.contains("the generated revision was not written")
            && e.contains("write the value's revision first"),
        "{e}"
    );
    assert_eq!(files(cwd), before, "nothing written");
}
