//! Arriving from another tool: for sqlx, refinery, diesel, golang-migrate,
//! goose, dbmate and Flyway, a folder written as that tool's documentation
//! lays one out, with the features it describes, is imported (`import
//! TOOL PATH`), checked, applied and downgraded; its schema is compared with
//! the one the tool's own order gives (sqlx's migrator, and refinery's and
//! diesel_migrations' through `tests/tools`, a package of its own so that
//! nothing here links those crates; for the others the engine's client
//! replaying the files in the tool's order). Refusals name the file and
//! write nothing. `adopt TOOL` on databases sqlx's, refinery's and diesel's
//! own migrators migrated: then `upgrade head` is a no-op, the next
//! release's revision applies, and a stored checksum that no longer matches
//! the file is refused by version; on the other tools' tables as each
//! creates them (Flyway's written by hand: Flyway is a Java tool, not
//! available here).

use crate::databases::postgres::{db, psql, server};
use crate::support::{fails, migrate, ok, program, run};
use std::path::{Path, PathBuf};

/// Writes `files` (path relative to `dir`, text), making folders.
pub(crate) fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// `import TOOL src` into `cwd/migrations`, then `check`.
pub(crate) fn import(cwd: &Path, tool: &str, src: &str) {
    ok(&mut migrate(cwd), &["import", tool, src]);
    ok(&mut migrate(cwd), &["check"]);
}

/// The imported file whose header keeps `tool VERSION`, and its revision.
pub(crate) fn imported(cwd: &Path, tool: &str, version: &str) -> (String, String) {
    let wanted = format!("-- imported-from: {tool} {version}");
    for entry in std::fs::read_dir(cwd.join("migrations")).unwrap() {
        let path = entry.unwrap().path();
        // `repeatable/` is a folder (its files are looked up by name).
        if path.is_dir() {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        if text
            .lines()
            .any(|l| l == wanted || l.starts_with(&format!("{wanted} ")))
        {
            let id = text
                .lines()
                .find_map(|l| l.strip_prefix("-- revision: "))
                .unwrap()
                .to_owned();
            return (id, text);
        }
    }
    panic!("no imported file keeps {tool} {version}");
}

/// `migrate schema dump` of a database.
fn dump(cwd: &Path, url: &str) -> String {
    ok(&mut migrate(cwd), &["schema", "dump", "--database-url", url])
}

/// A SQLite database file in `cwd` and its URL.
fn sqlite(cwd: &Path, name: &str) -> (PathBuf, String) {
    let path = cwd.join(name);
    let url = format!("sqlite:{}", path.display());
    (path, url)
}

/// The sqlite3 client runs `sql` on `path`.
fn sqlite3(path: &Path, sql: &str) {
    program("sqlite3", &["-bail", path.to_str().unwrap()], Some(sql));
}

/// `migrate upgrade head` on `url`, its schema the same as `theirs`'s, then
/// `downgrade base` (when the tool had downgrades) leaves nothing.
fn applied_like(cwd: &Path, url: &str, theirs: &str, downgrades: bool) {
    ok(&mut migrate(cwd), &["upgrade", "head", "--database-url", url]);
    let ours = dump(cwd, url);
    assert_eq!(ours, dump(cwd, theirs), "the schemas differ");
    assert!(ours.contains("CREATE"), "{ours}");
    if downgrades {
        ok(&mut migrate(cwd), &["downgrade", "base", "--database-url", url]);
        let empty = dump(cwd, url);
        assert!(!empty.contains("CREATE TABLE"), "{empty}");
    }
}

/// Import refused naming `file`, the output folder not created.
fn refused(cwd: &Path, tool: &str, src: &str, file: &str) {
    let said = fails(&mut migrate(cwd), &["import", tool, src, "--dir", "refused"], 1);
    assert!(said.contains(file) && said.contains("nothing was written"), "{said}");
    assert!(!cwd.join("refused").exists(), "nothing written");
}

/// `adopt TOOL` on `url`, then `upgrade head` runs nothing.
fn adopted(cwd: &Path, tool: &str, url: &str) {
    ok(&mut migrate(cwd), &["adopt", tool, "--database-url", url]);
    let up = crate::support::run(&mut migrate(cwd), &["upgrade", "head", "--database-url", url]);
    let said = format!("{}{}", up.stdout, up.stderr);
    assert!(up.code == 0 && !said.contains("Running upgrade"), "a no-op: {said}");
    // Asked again for its script: there is nothing left to record, and it says so.
    let again = ok(&mut migrate(cwd), &["adopt", tool, "--sql", "--database-url", url]);
    assert!(again.contains("-- Already adopted"), "{again}");
}

const USERS: &str = "CREATE TABLE users (\n    id INTEGER PRIMARY KEY,\n    name TEXT NOT NULL\n);\n";
const POSTS: &str =
    "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), title TEXT);\n";
const INDEX: &str = "CREATE INDEX posts_user ON posts (user_id);\n";

/// sqlx's own migrator applies `dir` to the SQLite database `url`.
fn sqlx_migrate(dir: &Path, url: &str) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let options: sqlx::sqlite::SqliteConnectOptions = url.parse().map_err(|e| format!("{e}"))?;
        let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true))
            .await
            .map_err(|e| e.to_string())?;
        let migrator = sqlx::migrate::Migrator::new(dir).await.map_err(|e| e.to_string())?;
        let result = migrator.run(&pool).await.map_err(|e| e.to_string());
        pool.close().await;
        result
    })
}

fn sqlx_folder(src: &Path) {
    write(
        src,
        &[
            ("20240101120000_create_users.up.sql", USERS),
            ("20240101120000_create_users.down.sql", "DROP TABLE users;\n"),
            ("20240102120000_create_posts.up.sql", POSTS),
            ("20240102120000_create_posts.down.sql", "DROP TABLE posts;\n"),
            (
                "20240103120000_index_posts.up.sql",
                &format!("-- no-transaction\n{INDEX}"),
            ),
            (
                "20240103120000_index_posts.down.sql",
                "-- no-transaction\nDROP INDEX posts_user;\n",
            ),
            ("README.md", "not a migration: sqlx skips it\n"),
        ],
    );
}

#[test]
fn sqlx_reversible_pairs_and_no_transaction() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    sqlx_folder(&cwd.join("sqlx"));
    import(cwd, "sqlx", "sqlx");
    let (_, index) = imported(cwd, "sqlx", "20240103120000");
    assert!(
        index.contains("-- migrate:no-transaction\n") && !index.contains("-- no-transaction\n"),
        "{index}"
    );
    assert!(index.contains(&format!("-- migrate:upgrade\n{INDEX}")), "{index}");
    let (_, theirs) = sqlite(cwd, "theirs.db");
    sqlx_migrate(&cwd.join("sqlx"), &theirs).unwrap();
    sqlite3(&cwd.join("theirs.db"), "DROP TABLE _sqlx_migrations;");
    let (_, ours) = sqlite(cwd, "ours.db");
    applied_like(cwd, &ours, &theirs, true);
}

/// A folder checked out with CRLF line endings, which sqlx ran and hashed as
/// they are: imported as LF, and adopted, the checksums kept of the bytes sqlx hashed.
#[test]
fn adopt_a_database_sqlx_migrated_from_a_crlf_checkout() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let src = cwd.join("sqlx");
    write(
        &src,
        &[
            ("20240101120000_create_users.sql", &USERS.replace('\n', "\r\n")),
            ("20240102120000_create_posts.sql", &POSTS.replace('\n', "\r\n")),
        ],
    );
    let (_, url) = sqlite(cwd, "app.db");
    sqlx_migrate(&src, &url).unwrap();
    import(cwd, "sqlx", "sqlx");
    let (_, users) = imported(cwd, "sqlx", "20240101120000");
    assert!(!users.contains('\r'), "{users:?}");
    ok(&mut migrate(cwd), &["adopt", "sqlx", "--database-url", &url]);
    let up = crate::support::run(&mut migrate(cwd), &["upgrade", "head", "--database-url", &url]);
    assert!(
        up.code == 0 && !up.stdout.contains("Running upgrade"),
        "{}{}",
        up.stdout,
        up.stderr
    );
}

#[test]
fn adopt_a_database_sqlx_migrated() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let src = cwd.join("sqlx");
    sqlx_folder(&src);
    let (_, url) = sqlite(cwd, "app.db");
    import(cwd, "sqlx", "sqlx");
    sqlx_migrate(&src, &url).unwrap();
    let before = program(
        "sqlite3",
        &[
            cwd.join("app.db").to_str().unwrap(),
            "SELECT version, success FROM _sqlx_migrations",
        ],
        None,
    );
    let script = ok(&mut migrate(cwd), &["adopt", "sqlx", "--sql", "--database-url", &url]);
    assert_eq!(
        script.lines().filter(|l| l.starts_with("INSERT INTO")).count(),
        3,
        "{script}"
    );
    ok(&mut migrate(cwd), &["adopt", "sqlx", "--database-url", &url]);
    let up = crate::support::run(&mut migrate(cwd), &["upgrade", "head", "--database-url", &url]);
    let said = format!("{}{}", up.stdout, up.stderr);
    assert!(up.code == 0 && !said.contains("Running upgrade"), "a no-op: {said}");
    let after = program(
        "sqlite3",
        &[
            cwd.join("app.db").to_str().unwrap(),
            "SELECT version, success FROM _sqlx_migrations",
        ],
        None,
    );
    assert_eq!(before, after, "sqlx's table is left as it was");
    // The next release's revision is migrate's.
    let path = ok(&mut migrate(cwd), &["revision", "-m", "add email"]);
    let path = cwd.join(path.trim());
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace(
            "-- migrate:upgrade\n",
            "-- migrate:upgrade\nALTER TABLE users ADD COLUMN email TEXT;\n",
        ),
    )
    .unwrap();
    let up = crate::support::run(&mut migrate(cwd), &["upgrade", "head", "--database-url", &url]);
    let said = format!("{}{}", up.stdout, up.stderr);
    assert!(up.code == 0 && said.matches("Running upgrade").count() == 1, "{said}");
    assert!(dump(cwd, &url).contains("email"));

    // A row sqlx recorded as failed is refused, naming its version.
    let (failed, failed_url) = sqlite(cwd, "failed.db");
    sqlx_migrate(&src, &failed_url).unwrap();
    sqlite3(
        &failed,
        "UPDATE _sqlx_migrations SET success = false WHERE version = 20240103120000;",
    );
    let said = fails(&mut migrate(cwd), &["adopt", "sqlx", "--database-url", &failed_url], 1);
    assert!(said.contains("version 20240103120000 as failed"), "{said}");

    // A file edited after sqlx applied it: the checksum sqlx stored differs.
    let edited = cwd.join("edited");
    std::fs::create_dir(&edited).unwrap();
    sqlx_folder(&edited.join("sqlx"));
    let (_, url) = sqlite(&edited, "app.db");
    sqlx_migrate(&edited.join("sqlx"), &url).unwrap();
    let file = edited.join("sqlx/20240102120000_create_posts.up.sql");
    std::fs::write(&file, POSTS.replace("title TEXT", "title TEXT NOT NULL")).unwrap();
    import(&edited, "sqlx", "sqlx");
    let said = fails(&mut migrate(&edited), &["adopt", "sqlx", "--database-url", &url], 1);
    assert!(
        said.contains("version 20240102120000") && said.contains("checksum"),
        "{said}"
    );
    let rows = program(
        "sqlite3",
        &[
            edited.join("app.db").to_str().unwrap(),
            "SELECT count(*) FROM sqlite_master WHERE name = 'migrate_history'",
        ],
        None,
    );
    assert_eq!(rows.trim(), "0", "nothing recorded");
}

/// refinery's own example files (`examples/migrations`), whose checksums
/// its tests expect, in folders as refinery walks them, and an unversioned one.
const REFINERY_V1: &str = "CREATE TABLE persons (\n    id int,\n    name varchar(255),\n    city varchar(255)\n);\n";
const REFINERY_V2: &str = "CREATE TABLE cars (\n    id int,\n    name varchar(255)\n);\n";

fn refinery_folder(src: &Path) {
    write(
        src,
        &[
            ("V1-2/V1__initial.sql", REFINERY_V1),
            ("V1-2/V2__add_cars_table.sql", REFINERY_V2),
            (
                "V3/U3__add_brand_to_cars_table.sql",
                "ALTER TABLE cars ADD brand varchar(255);\n",
            ),
            ("V10__add_year.sql", "ALTER TABLE cars ADD year INTEGER;\n"),
            ("notes.txt", "refinery warns and skips it\n"),
        ],
    );
}

/// `tests/tools`, the migrators of refinery and diesel_migrations (a
/// package of its own, so that nothing here links them), built once per
/// run into a target folder of its own; `tool` applies `dir` to the SQLite
/// file `db` with that tool's own runner.
fn tool(tool: &str, dir: &Path, db: &Path) {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let exe = BUILT.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/Cargo.toml");
        crate::outside::built(&manifest, "--locked", "import-tools", "migrate-test-tools")
    });
    program(
        exe.to_str().unwrap(),
        &[tool, dir.to_str().unwrap(), db.to_str().unwrap()],
        None,
    );
}

/// The next release's revision is migrate's: it alone runs on `url`.
fn next_release(cwd: &Path, url: &str) {
    let path = ok(&mut migrate(cwd), &["revision", "-m", "add email"]);
    let path = cwd.join(path.trim());
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace(
        "-- migrate:upgrade\n",
        "-- migrate:upgrade\nCREATE TABLE emails (address TEXT);\n",
    );
    std::fs::write(&path, text).unwrap();
    let up = crate::support::run(&mut migrate(cwd), &["upgrade", "head", "--database-url", url]);
    let said = format!("{}{}", up.stdout, up.stderr);
    assert!(up.code == 0 && said.matches("Running upgrade").count() == 1, "{said}");
    assert!(dump(cwd, url).contains("emails"));
}

/// refinery's own runner (the crate, through `tests/tools`) applies the
/// folder: its schema is ours; adopt on the database it migrated; a file
/// edited after refinery ran is refused by its stored checksum.
#[test]
fn refinery_versions_in_folders_and_adopt() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let src = cwd.join("refinery");
    refinery_folder(&src);
    import(cwd, "refinery", "refinery");
    let (_, v1) = imported(cwd, "refinery", "1");
    assert!(
        v1.contains("checksum 2959965718684201605,13938959368620441626"),
        "refinery's own: {v1}"
    );
    let (path, theirs) = sqlite(cwd, "theirs.db");
    tool("refinery", &src, &path);
    sqlite3(&path, "DROP TABLE refinery_schema_history;");
    let (_, ours) = sqlite(cwd, "ours.db");
    applied_like(cwd, &ours, &theirs, false);

    let (app, url) = sqlite(cwd, "app.db");
    tool("refinery", &src, &app);
    let script = ok(
        &mut migrate(cwd),
        &["adopt", "refinery", "--sql", "--database-url", &url],
    );
    assert_eq!(
        script.lines().filter(|l| l.starts_with("INSERT INTO")).count(),
        4,
        "{script}"
    );
    adopted(cwd, "refinery", &url);
    next_release(cwd, &url);

    // V2 edited after refinery ran it: the checksum refinery stored differs.
    let edited = cwd.join("edited");
    refinery_folder(&edited.join("refinery"));
    let (app, url) = sqlite(&edited, "app.db");
    tool("refinery", &edited.join("refinery"), &app);
    let file = edited.join("refinery/V1-2/V2__add_cars_table.sql");
    std::fs::write(&file, REFINERY_V2.replace("name varchar(255)", "name text")).unwrap();
    import(&edited, "refinery", "refinery");
    let said = fails(&mut migrate(&edited), &["adopt", "refinery", "--database-url", &url], 1);
    assert!(said.contains("version 2:") && said.contains("checksum"), "{said}");

    // A Rust migration is refused, naming it.
    write(
        &src,
        &[("V11__rust.rs", "pub fn migration() -> String { String::new() }\n")],
    );
    refused(cwd, "refinery", "refinery", "V11__rust.rs");
}

/// diesel_migrations' own harness (the crate, through `tests/tools`) on
/// SQLite: reversible folders, one outside a transaction by its
/// `metadata.toml`; its schema is ours, and adopt on the database it migrated.
#[test]
fn diesel_migrations_on_sqlite_and_adopt() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let src = cwd.join("diesel");
    write(
        &src,
        &[
            ("2024-01-01-120000_create_users/up.sql", USERS),
            ("2024-01-01-120000_create_users/down.sql", "DROP TABLE users;\n"),
            ("2024-01-02-120000_create_posts/up.sql", POSTS),
            ("2024-01-02-120000_create_posts/down.sql", "DROP TABLE posts;\n"),
            ("2024-01-03-120000_index_posts/up.sql", INDEX),
            ("2024-01-03-120000_index_posts/down.sql", "DROP INDEX posts_user;\n"),
            (
                "2024-01-03-120000_index_posts/metadata.toml",
                "run_in_transaction = false\n",
            ),
            (".keep", ""),
        ],
    );
    import(cwd, "diesel", "diesel");
    let (_, index) = imported(cwd, "diesel", "20240103120000");
    assert!(index.contains("-- migrate:no-transaction"), "{index}");
    let (path, theirs) = sqlite(cwd, "theirs.db");
    tool("diesel", &src, &path);
    sqlite3(&path, "DROP TABLE __diesel_schema_migrations;");
    let (_, ours) = sqlite(cwd, "ours.db");
    applied_like(cwd, &ours, &theirs, true);

    let (app, url) = sqlite(cwd, "app.db");
    tool("diesel", &src, &app);
    adopted(cwd, "diesel", &url);
    let rows = program(
        "sqlite3",
        &[app.to_str().unwrap(), "SELECT count(*) FROM __diesel_schema_migrations"],
        None,
    );
    assert_eq!(rows.trim(), "3", "diesel's table is left as it was");
    next_release(cwd, &url);
}

/// diesel's layout on PostgreSQL: its initial setup (plpgsql functions in
/// dollar quotes), a reversible migration, and one that `metadata.toml`
/// runs outside a transaction (CREATE INDEX CONCURRENTLY).
#[test]
fn diesel_folders_on_postgres() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let setup = "CREATE OR REPLACE FUNCTION diesel_manage_updated_at(_tbl regclass) RETURNS VOID AS $$\nBEGIN\n    EXECUTE format('CREATE TRIGGER set_updated_at BEFORE UPDATE ON %s\n                    FOR EACH ROW EXECUTE PROCEDURE diesel_set_updated_at()', _tbl);\nEND;\n$$ LANGUAGE plpgsql;\n\nCREATE OR REPLACE FUNCTION diesel_set_updated_at() RETURNS trigger AS $$\nBEGIN\n    IF (\n        NEW IS DISTINCT FROM OLD AND\n        NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at\n    ) THEN\n        NEW.updated_at := current_timestamp;\n    END IF;\n    RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\n";
    let ups = [
        ("00000000000000_diesel_initial_setup", setup),
        (
            "2024-01-01-120000_create_users",
            "CREATE TABLE users (id SERIAL PRIMARY KEY, name VARCHAR NOT NULL, updated_at TIMESTAMP NOT NULL DEFAULT now());\nSELECT diesel_manage_updated_at('users');\n",
        ),
        (
            "2024-01-02-120000_index_users",
            "CREATE INDEX CONCURRENTLY users_name ON users (name);\n",
        ),
    ];
    let src = cwd.join("diesel");
    for (dir, up) in ups {
        write(&src, &[(&format!("{dir}/up.sql"), up)]);
    }
    write(
        &src,
        &[
            (
                "00000000000000_diesel_initial_setup/down.sql",
                "DROP FUNCTION IF EXISTS diesel_manage_updated_at(_tbl regclass);\nDROP FUNCTION IF EXISTS diesel_set_updated_at();\n",
            ),
            ("2024-01-01-120000_create_users/down.sql", "DROP TABLE users;\n"),
            (
                "2024-01-02-120000_index_users/down.sql",
                "DROP INDEX CONCURRENTLY users_name;\n",
            ),
            (
                "2024-01-02-120000_index_users/metadata.toml",
                "run_in_transaction = false\n",
            ),
            (".keep", ""),
        ],
    );
    import(cwd, "diesel", "diesel");
    let (_, index) = imported(cwd, "diesel", "20240102120000");
    assert!(index.contains("-- migrate:no-transaction"), "{index}");
    let server = server();
    let (theirs, ours) = (db(&server), db(&server));
    for (_, up) in ups {
        psql(&theirs.url, &[], Some(up));
    }
    applied_like(cwd, &ours.url, &theirs.url, true);
}

#[test]
fn golang_migrate_pairs() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let ups = [
        ("000001_create_users", USERS),
        ("000002_create_posts", POSTS),
        ("000010_index_posts", INDEX),
    ];
    let src = cwd.join("golang");
    for (name, up) in ups {
        write(&src, &[(&format!("{name}.up.sql"), up)]);
    }
    write(
        &src,
        &[
            ("000001_create_users.down.sql", "DROP TABLE users;\n"),
            ("000002_create_posts.down.sql", "DROP TABLE posts;\n"),
            ("000010_index_posts.down.sql", "DROP INDEX posts_user;\n"),
        ],
    );
    import(cwd, "golang-migrate", "golang");
    let (path, theirs) = sqlite(cwd, "theirs.db");
    for (_, up) in ups {
        sqlite3(&path, up);
    }
    let (_, ours) = sqlite(cwd, "ours.db");
    applied_like(cwd, &ours, &theirs, true);
    let (_, ten) = imported(cwd, "golang-migrate", "10");
    let (two, _) = imported(cwd, "golang-migrate", "2");
    assert!(
        ten.contains(&format!("-- down_revision: {two}")),
        "10 after 2, as numbers: {ten}"
    );

    // golang-migrate's table, as its sqlite3 driver creates it: one version.
    let table = "CREATE TABLE schema_migrations (version uint64, dirty bool); CREATE UNIQUE INDEX version_unique ON schema_migrations (version);";
    let (dirty, dirty_url) = sqlite(cwd, "dirty.db");
    sqlite3(&dirty, &format!("{table} INSERT INTO schema_migrations VALUES (2, 1);"));
    let said = fails(
        &mut migrate(cwd),
        &["adopt", "golang-migrate", "--database-url", &dirty_url],
        1,
    );
    assert!(said.contains("version 2 as failed or dirty"), "{said}");
    sqlite3(&path, &format!("{table} INSERT INTO schema_migrations VALUES (10, 0);"));
    adopted(cwd, "golang-migrate", &theirs);
}

/// goose on PostgreSQL: sections, a plpgsql function in a StatementBegin
/// block, NO TRANSACTION for CREATE INDEX CONCURRENTLY.
#[test]
fn goose_sections_blocks_and_no_transaction() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let function = "CREATE FUNCTION touch() RETURNS trigger AS $$\nBEGIN\n    NEW.updated_at := now();\n    RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\n";
    let ups = [
        (
            "20240101120000_create_users.sql",
            "CREATE TABLE users (id SERIAL PRIMARY KEY, name TEXT NOT NULL, updated_at TIMESTAMPTZ);\n".to_owned(),
            "DROP TABLE users;\n".to_owned(),
            "",
        ),
        (
            "20240102120000_touch.sql",
            format!(
                "-- +goose StatementBegin\n{function}-- +goose StatementEnd\nCREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();\n"
            ),
            "DROP TRIGGER users_touch ON users;\nDROP FUNCTION touch();\n".to_owned(),
            "",
        ),
        (
            "20240103120000_index.sql",
            "CREATE INDEX CONCURRENTLY users_name ON users (name);\n".to_owned(),
            "DROP INDEX CONCURRENTLY users_name;\n".to_owned(),
            "-- +goose NO TRANSACTION\n",
        ),
    ];
    let src = cwd.join("goose");
    for (name, up, down, head) in &ups {
        write(
            &src,
            &[(name, &format!("{head}-- +goose Up\n{up}\n-- +goose Down\n{down}"))],
        );
    }
    import(cwd, "goose", "goose");
    let (_, touch) = imported(cwd, "goose", "20240102120000");
    assert!(touch.contains(function) && !touch.contains("+goose"), "{touch}");
    let (_, index) = imported(cwd, "goose", "20240103120000");
    assert!(index.contains("-- migrate:no-transaction"), "{index}");
    let server = server();
    let (theirs, ours) = (db(&server), db(&server));
    for (_, up, _, _) in &ups {
        psql(
            &theirs.url,
            &[],
            Some(
                &up.replace("-- +goose StatementBegin\n", "")
                    .replace("-- +goose StatementEnd\n", ""),
            ),
        );
    }
    applied_like(cwd, &ours.url, &theirs.url, true);

    // goose's table, as its PostgreSQL dialect creates it: its version 0, a
    // row per apply and per rollback (the index dropped and made again).
    psql(
        &theirs.url,
        &[
            "-c",
            "CREATE TABLE goose_db_version (id serial NOT NULL, version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NULL default now(), PRIMARY KEY(id)); INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (20240101120000, true), (20240102120000, true), (20240103120000, true), (20240103120000, false), (20240103120000, true)",
        ],
        None,
    );
    adopted(cwd, "goose", &theirs.url);

    // Several statements in one block (`goose create`'s template): every reading
    // agrees on them, and they run as goose runs them.
    write(
        &cwd.join("two"),
        &[(
            "1_two.sql",
            "-- +goose Up\n-- +goose StatementBegin\nSELECT 'up SQL query';\nCREATE TABLE a (id INT);\n-- +goose StatementEnd\n",
        )],
    );
    ok(&mut migrate(cwd), &["import", "goose", "two", "--dir", "kept"]);
    let kept = std::fs::read_dir(cwd.join("kept"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let kept = std::fs::read_to_string(kept).unwrap();
    assert!(
        kept.contains("SELECT 'up SQL query';\nCREATE TABLE a (id INT);\n"),
        "{kept}"
    );
    // A block of several statements that the databases read differently (a
    // dollar-quoted body is one string to PostgreSQL, cut at its `;` by MySQL
    // and SQLite) with no dialect known: refused at its line.
    let unknown = tempfile::tempdir().unwrap();
    write(
        &unknown.path().join("bad"),
        &[(
            "1_function.sql",
            "-- +goose Up\n-- +goose StatementBegin\nCREATE FUNCTION two() RETURNS int AS $$ SELECT 1; SELECT 2; $$ LANGUAGE sql;\nCREATE TABLE b (id INT);\n-- +goose StatementEnd\n",
        )],
    );
    let said = fails(
        &mut migrate(unknown.path()),
        &["import", "goose", "bad", "--dir", "refused"],
        1,
    );
    assert!(
        said.contains("1_function.sql` (line 2)") && said.contains("readings of it differ"),
        "{said}"
    );
    assert!(!unknown.path().join("refused").exists());
    // A Go migration.
    write(&src, &[("20240104120000_backfill.go", "package migrations\n")]);
    refused(cwd, "goose", "goose", "20240104120000_backfill.go");
}

#[test]
fn dbmate_sections_and_transaction_false() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let ups = [
        ("20240101120000_create_users.sql", USERS, "DROP TABLE users;\n", ""),
        ("20240102120000_create_posts.sql", POSTS, "DROP TABLE posts;\n", ""),
        (
            "20240103120000_index_posts.sql",
            INDEX,
            "DROP INDEX posts_user;\n",
            " transaction:false",
        ),
    ];
    let src = cwd.join("dbmate");
    for (name, up, down, options) in ups {
        write(
            &src,
            &[(
                name,
                &format!("-- migrate:up{options}\n{up}\n-- migrate:down{options}\n{down}"),
            )],
        );
    }
    import(cwd, "dbmate", "dbmate");
    let (_, index) = imported(cwd, "dbmate", "20240103120000");
    assert!(
        index.contains("-- migrate:no-transaction") && !index.contains("transaction:false"),
        "{index}"
    );
    let (path, theirs) = sqlite(cwd, "theirs.db");
    for (_, up, _, _) in ups {
        sqlite3(&path, up);
    }
    let (_, ours) = sqlite(cwd, "ours.db");
    applied_like(cwd, &ours, &theirs, true);

    // dbmate's table, as it creates it on SQLite: a row per applied version.
    sqlite3(
        &path,
        "CREATE TABLE IF NOT EXISTS \"schema_migrations\" (version varchar(128) primary key); INSERT INTO schema_migrations VALUES ('20240101120000'), ('20240102120000'), ('20240103120000');",
    );
    adopted(cwd, "dbmate", &theirs);

    // `transaction:false` on the up section, the down section empty: it runs
    // nothing either way, so the two do not disagree.
    let one_sided = tmp.path().join("one_sided");
    write(
        &one_sided.join("db"),
        &[(
            "20240105120000_concurrently.sql",
            "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY users_name ON users (name);\n\n-- migrate:down\n-- nothing to undo\n",
        )],
    );
    import(&one_sided, "dbmate", "db");
    let (_, concurrently) = imported(&one_sided, "dbmate", "20240105120000");
    assert!(concurrently.contains("-- migrate:no-transaction"), "{concurrently}");
    // With a statement in the down section, the two disagree: refused.
    write(
        &one_sided.join("db2"),
        &[(
            "20240105120000_concurrently.sql",
            "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY users_name ON users (name);\n\n-- migrate:down\nDROP INDEX users_name;\n",
        )],
    );
    let said = fails(
        &mut migrate(&one_sided),
        &["import", "dbmate", "db2", "--dir", "refused"],
        1,
    );
    assert!(said.contains("on one section only"), "{said}");
}

/// Flyway: dotted and underscored versions ordered by number, undo files,
/// a `.sql.conf` with executeInTransaction=false; then its refusals.
#[test]
fn flyway_versions_undo_and_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let versioned = [
        ("V1__create_users.sql", USERS),
        ("V1.1__create_posts.sql", POSTS),
        ("V1_2__index_posts.sql", INDEX),
        ("V2__add_email.sql", "ALTER TABLE users ADD COLUMN email TEXT;\n"),
        ("sub/V10__add_phone.sql", "ALTER TABLE users ADD COLUMN phone TEXT;\n"),
    ];
    let src = cwd.join("flyway");
    write(&src, &versioned);
    write(
        &src,
        &[
            ("U1.1__create_posts.sql", "DROP TABLE posts;\n"),
            ("U1.2__index_posts.sql", "DROP INDEX posts_user;\n"),
            ("U2__add_email.sql", "ALTER TABLE users DROP COLUMN email;\n"),
            ("sub/U10__add_phone.sql", "ALTER TABLE users DROP COLUMN phone;\n"),
            ("V1_2__index_posts.sql.conf", "executeInTransaction=false\n"),
            ("U1.2__index_posts.sql.conf", "executeInTransaction=false\n"),
        ],
    );
    import(cwd, "flyway", "flyway");
    let (_, index) = imported(cwd, "flyway", "1.2");
    assert!(
        index.contains("-- migrate:no-transaction") && index.contains("-- migrate:downgrade\nDROP INDEX"),
        "{index}"
    );
    let (two, _) = imported(cwd, "flyway", "2");
    let (first, _) = imported(cwd, "flyway", "1");
    let (_, ten) = imported(cwd, "flyway", "10");
    assert!(ten.contains(&format!("-- down_revision: {two}")), "10 after 2: {ten}");
    let (path, theirs) = sqlite(cwd, "theirs.db");
    for (_, sql) in versioned {
        sqlite3(&path, sql);
    }
    let (_, ours) = sqlite(cwd, "ours.db");
    applied_like(cwd, &ours, &theirs, false);
    ok(&mut migrate(cwd), &["downgrade", &first, "--database-url", &ours]);
    let (_, once) = sqlite(cwd, "once.db");
    sqlite3(&cwd.join("once.db"), USERS);
    assert_eq!(dump(cwd, &ours), dump(cwd, &once), "the undo files undo all but V1");
    flyway_adopt(cwd, &path, &theirs);

    for (file, text) in [
        ("V3__Backfill.java", "public class V3__Backfill {}\n"),
        ("R1__views.sql", "CREATE VIEW v AS SELECT 1;\n"),
        ("V4__placeholder.sql", "CREATE TABLE ${prefix}_x (id INT);\n"),
    ] {
        let bad = cwd.join(format!("bad_{}", file.replace('.', "_")));
        write(&bad, &[("V1__create_users.sql", USERS), (file, text)]);
        refused(cwd, "flyway", bad.file_name().unwrap().to_str().unwrap(), file);
    }
}

/// Flyway's repeatable migrations (`R__<description>.sql`, run after the
/// versioned ones in description order, again when their checksum changes)
/// imported as `repeatable/<name>.sql`; `adopt flyway` records one applied
/// where Flyway's last row for its description holds the file's checksum,
/// and leaves one changed since for the next upgrade; a clash of names is
/// refused naming both files.
#[test]
fn flyway_repeatables() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let count = "DROP VIEW IF EXISTS user_count;\nCREATE VIEW user_count AS SELECT COUNT(*) AS n FROM users;\n";
    let names = "DROP VIEW IF EXISTS user_names;\nCREATE VIEW user_names AS SELECT name FROM users;\n";
    let files = [
        ("V1__create_users.sql", USERS),
        ("R__Count_users.sql", count),
        ("R__Users_names.sql", names),
    ];
    write(&cwd.join("flyway"), &files);
    import(cwd, "flyway", "flyway");
    let text = std::fs::read_to_string(cwd.join("migrations/repeatable/Count_users.sql")).unwrap();
    assert!(
        text.starts_with("-- Count users\n--\n-- imported-from: flyway R__Count_users.sql checksum ")
            && text.ends_with(&format!("-- migrate:upgrade\n{}", count)),
        "{text}"
    );
    let crc = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("-- imported-from:"))
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    let count_crc = crc(&text);
    // Flyway's database: V1, both views, its history with the names view changed since.
    let (path, theirs) = sqlite(cwd, "theirs.db");
    for (_, sql) in files {
        sqlite3(&path, sql);
    }
    let (_, ours) = sqlite(cwd, "ours.db");
    let ran = ok(&mut migrate(cwd), &["upgrade", "head", "--database-url", &ours]);
    let order: Vec<&str> = ran.lines().filter(|l| l.starts_with("Running")).collect();
    assert!(
        order.len() == 3 && order[1].contains("Count_users.sql") && order[2].contains("Users_names.sql"),
        "{ran}"
    );
    assert_eq!(dump(cwd, &ours), dump(cwd, &theirs));
    flyway_table(
        &path,
        &[
            ("1", "SQL", "V1__create_users.sql", flyway_checksum(cwd, "1"), true),
            ("", "SQL", "R__Count_users.sql", Some(count_crc.clone()), true),
            ("", "SQL", "R__Users_names.sql", Some("-1".into()), true),
        ],
    );
    let script = ok(
        &mut migrate(cwd),
        &["adopt", "flyway", "--sql", "--database-url", &theirs],
    );
    assert!(
        script.contains("INSERT OR REPLACE INTO \"migrate_history\"")
            && script.contains("'repeatable:Count_users'")
            && !script.contains("repeatable:Users_names"),
        "{script}"
    );
    ok(&mut migrate(cwd), &["adopt", "flyway", "--database-url", &theirs]);
    // An adopt whose recording of the repeatables failed after the stamp: run
    // again, it records what is missing instead of saying there is nothing to do.
    sqlite3(
        &path,
        "DELETE FROM migrate_history WHERE revision = 'repeatable:Count_users';",
    );
    let again = run(&mut migrate(cwd), &["adopt", "flyway", "--database-url", &theirs]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let said = format!("{}{}", again.stdout, again.stderr);
    assert!(
        said.contains("repeatables recorded as applied now") && said.contains("repeatable:Count_users"),
        "{said}"
    );
    let again = run(&mut migrate(cwd), &["adopt", "flyway", "--database-url", &theirs]);
    assert!(
        again.stderr.contains("Already adopted") && again.stderr.contains("nothing to do"),
        "{}",
        again.stderr
    );
    let history = ok(&mut migrate(cwd), &["history", "--database-url", &theirs]);
    assert!(
        history.contains("repeatable:Count_users (repeatable) (applied)"),
        "{history}"
    );
    assert!(
        history.contains("repeatable:Users_names (repeatable) (not applied)"),
        "{history}"
    );
    let up = ok(&mut migrate(cwd), &["upgrade", "head", "--database-url", &theirs]);
    let running: Vec<&str> = up.lines().filter(|l| l.starts_with("Running")).collect();
    assert!(
        running.len() == 1 && running[0].contains("Users_names.sql"),
        "as Flyway would: {up}"
    );
    ok(&mut migrate(cwd), &["current", "--check", "--database-url", &theirs]);

    // Two descriptions giving one name.
    let bad = cwd.join("bad_clash");
    write(
        &bad,
        &[
            ("V1__create_users.sql", USERS),
            ("R__My_view.sql", count),
            ("R__My view.sql", names),
        ],
    );
    let said = fails(
        &mut migrate(cwd),
        &["import", "flyway", "bad_clash", "--dir", "refused"],
        1,
    );
    assert!(
        said.contains("R__My_view.sql") && said.contains("R__My view.sql"),
        "{said}"
    );
}

/// Flyway's `flyway_schema_history` as its SQLite support creates it
/// (`createMetaDataTable.sql`), with `rows` (version, type, script,
/// checksum, success) written as Flyway writes them: ranks in order, the
/// description from the script's name. Flyway is a Java tool, not
/// available to these tests: the table is written by hand, with the
/// checksums `import` kept, which `import::flyway`'s unit test checks
/// against checksums Flyway itself published.
fn flyway_table(db: &Path, rows: &[(&str, &str, &str, Option<String>, bool)]) {
    let mut sql = "CREATE TABLE \"flyway_schema_history\" (\"installed_rank\" INT NOT NULL PRIMARY KEY, \"version\" VARCHAR(50), \"description\" VARCHAR(200) NOT NULL, \"type\" VARCHAR(20) NOT NULL, \"script\" VARCHAR(1000) NOT NULL, \"checksum\" INT, \"installed_by\" VARCHAR(100) NOT NULL, \"installed_on\" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')), \"execution_time\" INT NOT NULL, \"success\" BOOLEAN NOT NULL);\nCREATE INDEX \"flyway_schema_history_s_idx\" ON \"flyway_schema_history\" (\"success\");\n".to_owned();
    for (rank, (version, kind, script, checksum, success)) in rows.iter().enumerate() {
        let description = script
            .split_once("__")
            .map_or("<< Flyway Baseline >>".to_owned(), |(_, d)| {
                d.trim_end_matches(".sql").replace('_', " ")
            });
        sql.push_str(&format!(
            "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) VALUES ({}, '{version}', '{description}', '{kind}', '{script}', {}, 'sa', 12, {});\n",
            rank + 1,
            checksum.as_deref().unwrap_or("NULL"),
            u8::from(*success)
        ));
    }
    sqlite3(db, &sql);
}

/// The checksum `import` kept for Flyway's `version` in `cwd/migrations`.
fn flyway_checksum(cwd: &Path, version: &str) -> Option<String> {
    let (_, text) = imported(cwd, "flyway", version);
    let line = text.lines().find(|l| l.starts_with("-- imported-from:"))?;
    Some(line.rsplit(' ').next()?.to_owned())
}

/// `adopt flyway`: the whole folder applied; a baseline, a delete and an
/// undo read as Flyway reads them; a failed row and an edited file refused
/// by version.
fn flyway_adopt(cwd: &Path, theirs_path: &Path, theirs: &str) {
    let sum = |v: &str| flyway_checksum(cwd, v);
    let applied = [
        ("1", "SQL", "V1__create_users.sql", sum("1"), true),
        ("1.1", "SQL", "V1.1__create_posts.sql", sum("1.1"), true),
        ("1.2", "SQL", "V1_2__index_posts.sql", sum("1.2"), true),
        ("2", "SQL", "V2__add_email.sql", sum("2"), true),
        ("10", "SQL", "sub/V10__add_phone.sql", sum("10"), true),
    ];
    flyway_table(theirs_path, &applied);
    adopted(cwd, "flyway", theirs);

    // Flyway's baseline at 1 (the database had the users table), a
    // migration since deleted (`repair` wrote DELETE), V2 run and undone
    // (U2's checksum, Flyway's of `ALTER TABLE users DROP COLUMN email;`).
    let (path, url) = sqlite(cwd, "baselined.db");
    sqlite3(&path, &format!("{USERS}{POSTS}{INDEX}"));
    let legacy = Some("1575166093".to_owned());
    flyway_table(
        &path,
        &[
            ("1", "BASELINE", "<< Flyway Baseline >>", None, true),
            ("1.1", "SQL", "V1.1__create_posts.sql", sum("1.1"), true),
            ("1.2", "SQL", "V1_2__index_posts.sql", sum("1.2"), true),
            ("1.5", "SQL", "V1.5__legacy.sql", legacy.clone(), true),
            ("1.5", "DELETE", "V1.5__legacy.sql", legacy, true),
            ("2", "SQL", "V2__add_email.sql", sum("2"), true),
            ("2", "UNDO_SQL", "U2__add_email.sql", Some("-1839459322".into()), true),
        ],
    );
    ok(&mut migrate(cwd), &["adopt", "flyway", "--database-url", &url]);
    let (at, _) = imported(cwd, "flyway", "1.2");
    let current = ok(&mut migrate(cwd), &["current", "--database-url", &url]);
    assert!(current.contains(&at), "at 1.2: {current}");
    let up = crate::support::run(&mut migrate(cwd), &["upgrade", "head", "--database-url", &url]);
    let said = format!("{}{}", up.stdout, up.stderr);
    assert!(
        up.code == 0 && said.matches("Running upgrade").count() == 2,
        "2 and 10: {said}"
    );
    assert_eq!(
        dump(cwd, &url).replace("flyway_schema_history", ""),
        dump(cwd, theirs).replace("flyway_schema_history", "")
    );

    // A failed row, and a checksum that is not the file's: refused by version.
    for (name, row) in [
        ("failed.db", ("2", "SQL", "V2__add_email.sql", sum("2"), false)),
        (
            "edited.db",
            ("2", "SQL", "V2__add_email.sql", Some("-1".to_owned()), true),
        ),
    ] {
        let (path, url) = sqlite(cwd, name);
        let mut rows = applied[..3].to_vec();
        rows.push(row);
        flyway_table(&path, &rows);
        let said = fails(&mut migrate(cwd), &["adopt", "flyway", "--database-url", &url], 1);
        let why = if name == "failed.db" {
            "version 2 as failed"
        } else {
            "version 2:"
        };
        assert!(said.contains(why), "{said}");
    }
}

/// The imported folders of the seven tools, embedded by one application outside
/// the workspace (`embed_migrations!`, one `static` each) whose `upgrade`
/// brings a SQLite database per folder to the schema `migrate upgrade` gives.
#[test]
fn imported_folders_embedded_and_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    sqlx_folder(&cwd.join("src/sqlx"));
    refinery_folder(&cwd.join("src/refinery"));
    write(
        &cwd.join("src"),
        &[
            ("golang-migrate/1_users.up.sql", USERS),
            ("golang-migrate/1_users.down.sql", "DROP TABLE users;\n"),
            ("golang-migrate/2_posts.up.sql", POSTS),
            (
                "dbmate/20240101120000_users.sql",
                &format!("-- migrate:up\n{USERS}\n-- migrate:down\nDROP TABLE users;\n"),
            ),
            (
                "dbmate/20240102120000_posts.sql",
                &format!("-- migrate:up transaction:false\n{POSTS}"),
            ),
            ("flyway/V1__users.sql", USERS),
            ("flyway/V1.1__posts.sql", POSTS),
            ("flyway/U1.1__posts.sql", "DROP TABLE posts;\n"),
            ("diesel/2024-01-01-120000_create_users/up.sql", USERS),
            ("diesel/2024-01-01-120000_create_users/down.sql", "DROP TABLE users;\n"),
            ("diesel/2024-01-02-120000_create_posts/up.sql", POSTS),
            ("diesel/2024-01-02-120000_create_posts/down.sql", "DROP TABLE posts;\n"),
            (
                "diesel/2024-01-02-120000_create_posts/metadata.toml",
                "run_in_transaction = false\n",
            ),
            (
                "goose/00001_users.sql",
                &format!("-- +goose Up\n{USERS}\n-- +goose Down\nDROP TABLE users;\n"),
            ),
            (
                "goose/00002_touch.sql",
                "-- +goose NO TRANSACTION\n-- +goose Up\n-- +goose StatementBegin\nCREATE TRIGGER users_name AFTER INSERT ON users BEGIN\n    UPDATE users SET name = trim(name) WHERE id = NEW.id;\nEND;\n-- +goose StatementEnd\n\n-- +goose Down\nDROP TRIGGER users_name;\n",
            ),
        ],
    );
    let tools = [
        "sqlx",
        "refinery",
        "golang-migrate",
        "dbmate",
        "flyway",
        "diesel",
        "goose",
    ];
    let mut statics = String::new();
    for (i, t) in tools.iter().enumerate() {
        let dir = cwd.join("embedded").join(t);
        let src = format!("src/{t}");
        ok(&mut migrate(cwd), &["import", t, &src, "--dir", dir.to_str().unwrap()]);
        statics.push_str(&format!(
            "static M{i}: migrate::Migrations = migrate::embed_migrations!({:?});\n",
            dir.display().to_string()
        ));
    }
    let lists: Vec<String> = (0..tools.len()).map(|i| format!("&M{i}")).collect();
    let main = format!(
        "{statics}\n#[tokio::main(flavor = \"current_thread\")]\nasync fn main() {{\n    let dir = std::env::args().nth(1).unwrap();\n    for (i, list) in [{}].into_iter().enumerate() {{\n        let url = format!(\"sqlite:{{dir}}/embedded{{i}}.db?mode=rwc\");\n        let pool = migrate::sqlx::SqlitePool::connect(&url).await.unwrap();\n        let report = list.upgrade(&pool, \"head\").await.unwrap();\n        println!(\"{{}}\", report.steps.len());\n    }}\n}}\n",
        lists.join(", ")
    );
    let exe = crate::outside::application(&cwd.join("app"), "\"sqlite\"", &main, "imported-tools");
    let ran = program(exe.to_str().unwrap(), &[cwd.to_str().unwrap()], None);
    assert_eq!(
        ran.lines().collect::<Vec<_>>(),
        ["3", "4", "2", "2", "2", "2", "2"],
        "{ran}"
    );
    for (i, t) in tools.iter().enumerate() {
        let dir = cwd.join("embedded").join(t);
        let (_, url) = sqlite(cwd, &format!("cli{i}.db"));
        let dir = dir.to_str().unwrap();
        ok(
            &mut migrate(cwd),
            &["upgrade", "head", "--dir", dir, "--database-url", &url],
        );
        let (_, embedded) = sqlite(cwd, &format!("embedded{i}.db"));
        let ours = ok(
            &mut migrate(cwd),
            &["schema", "dump", "--dir", dir, "--database-url", &embedded],
        );
        let cli = ok(
            &mut migrate(cwd),
            &["schema", "dump", "--dir", dir, "--database-url", &url],
        );
        assert_eq!(ours, cli, "{t}: the embedded upgrade and the command line's differ");
    }
}
