//! Moving an Alembic project over: `import alembic` on a small project this
//! test writes (each revision a case: parameters with quotes and `%`, a
//! downgrade that fails, one that sends nothing, a merge, Alembic's own
//! `depends_on`, `autocommit_block`, two lines whose order only file names
//! decide), run by Alembic itself on PostgreSQL; then `adopt alembic` on a
//! database Alembic migrated. Needs `python3` with Alembic and psycopg2
//! (`.ci/run` installs them); without them the test prints `SKIPPED`, and
//! fails under `CI=true`.

use crate::databases::postgres::psql;
use crate::support::{fails, migrate, ok, program};
use std::path::Path;

fn alembic_available() -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", "import alembic, psycopg2"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var("CI").is_err(),
        "CI=true needs python3 with alembic and psycopg2 (.ci/run installs them)"
    );
    if !found {
        println!("SKIPPED: python3 cannot import alembic and psycopg2");
    }
    found
}

/// One Alembic revision file.
fn revision(dir: &Path, file: &str, id: &str, down: &str, extra: &str, up: &str, downgrade: &str) {
    std::fs::write(
        dir.join("versions").join(format!("{file}.py")),
        format!(
            "\"\"\"{id} message\n\nRevision ID: {id}\nCreate Date: 2024-05-06 07:08:09.000000\n\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\nrevision = '{id}'\ndown_revision = {down}\n{extra}\n\ndef upgrade():\n{up}\n\ndef downgrade():\n{downgrade}\n"
        ),
    )
    .unwrap();
}

/// The project, written as Alembic's files.
fn project(root: &Path) {
    let dir = root.join("alembic");
    std::fs::create_dir_all(dir.join("versions")).unwrap();
    std::fs::write(
        root.join("alembic.ini"),
        "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = postgresql://nobody@127.0.0.1:1/unused\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("env.py"),
        "from alembic import context\nfrom sqlalchemy import engine_from_config, pool\nconfig = context.config\n\
         engine = engine_from_config(config.get_section(config.config_ini_section), prefix='sqlalchemy.', poolclass=pool.NullPool)\n\
         with engine.connect() as connection:\n    context.configure(connection=connection)\n    with context.begin_transaction():\n        context.run_migrations()\n",
    )
    .unwrap();
    let v = &dir;
    revision(
        v,
        "a1_items",
        "a1",
        "None",
        "",
        "    t = op.create_table('item', sa.Column('id', sa.Integer, primary_key=True), sa.Column('name', sa.String(50)))\n    op.bulk_insert(t, [{'id': 1, 'name': \"it's\"}, {'id': 2, 'name': '100%'}])",
        "    op.drop_table('item')",
    );
    revision(
        v,
        "b2_rename",
        "b2",
        "'a1'",
        "",
        "    op.execute(sa.text('UPDATE item SET name = :n WHERE id = :i').bindparams(n='x%y', i=1))",
        "    raise NotImplementedError('no way back')",
    );
    revision(
        v,
        "c2_column",
        "c2",
        "'a1'",
        "depends_on = None",
        "    op.add_column('item', sa.Column('price', sa.Integer))",
        "    pass",
    );
    revision(
        v,
        "d3_index",
        "d3",
        "'c2'",
        "depends_on = 'b2'",
        "    with op.get_context().autocommit_block():\n        op.execute('CREATE INDEX CONCURRENTLY ix_item_name ON item (name)')",
        "    op.drop_index('ix_item_name')",
    );
    revision(v, "m4_merge", "m4", "('b2', 'd3')", "", "    pass", "    pass");
}

#[test]
fn an_alembic_project_imported_and_a_database_adopted() {
    if !alembic_available() {
        return;
    }
    use crate::databases::postgres::db;
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    project(cwd);
    let dev = crate::databases::postgres::server();
    let import = [
        "import",
        "alembic",
        "alembic.ini",
        "--python",
        "python3",
        "--dev-database-url",
        &dev,
    ];
    let said = crate::support::run(&mut migrate(cwd), &import);
    assert_eq!(said.code, 0, "{}{}", said.stdout, said.stderr);
    assert!(
        said.stderr
            .contains("b2: no downgrade section (Alembic's downgrade failed: NotImplementedError: no way back)")
            && said
                .stderr
                .contains("c2: no downgrade section (Alembic's downgrade sends no SQL)"),
        "{}",
        said.stderr
    );
    let file = |id: &str| -> String {
        let dir = cwd.join("migrations");
        let name = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .find(|n| n.starts_with(&format!("{id}_")))
            .unwrap_or_else(|| panic!("no file for {id}"));
        std::fs::read_to_string(dir.join(name)).unwrap()
    };
    let a1 = file("a1");
    assert!(
        a1.contains("-- a1 message\n--\n-- revision: a1\n-- down_revision: \n")
            && a1.contains("-- created: 2024-05-06 07:08:09.000000\n")
            && a1.contains("INSERT INTO item (id, name) VALUES (1, 'it''s'), (2, '100%');")
            && a1.contains("-- migrate:downgrade\nDROP TABLE item;"),
        "{a1}"
    );
    let b2 = file("b2");
    assert!(
        b2.contains("UPDATE item SET name = 'x%y' WHERE id = 1;") && !b2.contains("-- migrate:downgrade"),
        "{b2}"
    );
    let d3 = file("d3");
    assert!(
        d3.contains("-- depends_on: b2")
            && d3.contains("-- migrate:no-transaction")
            && d3.contains("CREATE INDEX CONCURRENTLY ix_item_name ON item (name);"),
        "{d3}"
    );
    let m4 = file("m4");
    assert!(
        m4.contains("-- down_revision: b2, d3") && m4.contains("-- migrate:downgrade"),
        "a merge's empty downgrade is kept: {m4}"
    );
    ok(&mut migrate(cwd), &["check"]);

    // Importing again over the folder is refused, and writes nothing.
    let before = file("a1");
    let said = fails(&mut migrate(cwd), &import, 1);
    assert!(said.contains("is not empty"), "{said}");
    assert_eq!(file("a1"), before);

    // A database Alembic migrated to d3 (and so b2, which d3 depends on), through an
    // alembic.ini naming it: adopted, as far as Alembic took it.
    let theirs = db(&crate::databases::postgres::server());
    let ini = cwd.join("theirs.ini");
    std::fs::write(
        &ini,
        format!(
            "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = {}\n",
            theirs.url.replacen("postgres://", "postgresql+psycopg2://", 1)
        ),
    )
    .unwrap();
    let alembic = |args: &[&str]| {
        let mut all = vec!["-m", "alembic", "-c", ini.to_str().unwrap()];
        all.extend_from_slice(args);
        program("python3", &all, None)
    };
    let url = theirs.url.as_str();
    let said = fails(&mut migrate(cwd), &["--database-url", url, "adopt", "alembic"], 1);
    assert!(
        said.contains("alembic_version") && said.contains("--version-table"),
        "not migrated by Alembic yet: {said}"
    );
    alembic(&["upgrade", "d3"]);
    let script = ok(&mut migrate(cwd), &["--database-url", url, "adopt", "alembic", "--sql"]);
    let inserted: Vec<&str> = script.lines().filter(|l| l.starts_with("INSERT INTO")).collect();
    assert_eq!(inserted.len(), 4, "a1, b2, c2, d3:\n{script}");
    let said = crate::support::run(&mut migrate(cwd), &["--database-url", url, "adopt", "alembic"]);
    assert_eq!(said.code, 0, "{}", said.stderr);
    let rows = psql(
        url,
        &[
            "-Atc",
            "SELECT revision FROM migrate_history WHERE revision <> '' ORDER BY 1",
        ],
        None,
    );
    assert_eq!(rows.trim(), "a1\nb2\nc2\nd3", "d3's heads and what they need");
    let version = psql(
        url,
        &["-Atc", "SELECT version_num FROM alembic_version ORDER BY 1"],
        None,
    );
    assert_eq!(version.trim(), "d3", "alembic_version is left as it was");
    let said = crate::support::run(&mut migrate(cwd), &["--database-url", url, "adopt", "alembic"]);
    assert!(
        said.code == 0 && said.stderr.contains("Already adopted"),
        "{}",
        said.stderr
    );
    // The rest is migrate's to run; a second adopt after it is refused, changing nothing.
    ok(&mut migrate(cwd), &["--database-url", url, "upgrade", "head"]);
    alembic(&["stamp", "c2"]);
    let said = fails(&mut migrate(cwd), &["--database-url", url, "adopt", "alembic"], 1);
    assert!(said.contains("already records this database at m4"), "{said}");
    // A database at a revision the folder lacks is refused by name.
    let other = db(&crate::databases::postgres::server());
    psql(
        &other.url,
        &[
            "-c",
            "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL); INSERT INTO alembic_version VALUES ('zz9')",
        ],
        None,
    );
    let said = fails(
        &mut migrate(cwd),
        &["--database-url", &other.url, "adopt", "alembic"],
        1,
    );
    assert!(said.contains("Alembic revision `zz9`"), "{said}");
}
