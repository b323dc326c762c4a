//! Setting a project up and writing revisions: `init`, the config file and
//! its precedence, `revision` and `merge` files that parse and validate.

use crate::support::{fails, id_of, migrate, ok, repo};
use std::path::Path;

/// A folder holding one revision `id`, so `heads` names the folder in use.
fn folder_with(root: &Path, name: &str, id: &str) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{id}_x.sql")),
        format!("-- {name}\n-- revision: {id}\n-- down_revision:\n\n-- migrate:upgrade\n"),
    )
    .unwrap();
}

#[test]
fn config_precedence_flags_then_config_then_env_then_local_file() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for (name, id) in [
        ("local", "a1"),
        ("from_env", "b2"),
        ("from_flag", "c3"),
        ("by_dir", "d4"),
    ] {
        folder_with(root, name, id);
    }
    std::fs::write(root.join("migrate.toml"), "dir = \"local\"\n").unwrap();
    std::fs::create_dir(root.join("conf")).unwrap();
    // A file's `dir` is relative to the file.
    std::fs::write(root.join("conf/env.toml"), "dir = \"../from_env\"\n").unwrap();
    std::fs::write(root.join("conf/flag.toml"), "dir = \"../from_flag\"\n").unwrap();

    assert_eq!(ok(&mut migrate(root), &["heads"]), "a1 (head)\n");
    let env = || {
        let mut cmd = migrate(root);
        cmd.env("MIGRATE_CONFIG", "conf/env.toml");
        cmd
    };
    assert_eq!(ok(&mut env(), &["heads"]), "b2 (head)\n");
    assert_eq!(ok(&mut env(), &["heads", "--config", "conf/flag.toml"]), "c3 (head)\n");
    assert_eq!(ok(&mut env(), &["--config", "conf/flag.toml", "heads"]), "c3 (head)\n");
    assert_eq!(
        ok(&mut env(), &["heads", "--config", "conf/flag.toml", "--dir", "by_dir"]),
        "d4 (head)\n"
    );
    let e = fails(
        &mut env(),
        &["check", "--config", "conf/flag.toml", "--dir", "nowhere"],
        1,
    );
    assert!(e.contains("`nowhere`"), "{e}");
}

#[test]
fn database_url_from_flag_file_or_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let url = |name: &str| format!("sqlite:{}", root.join(name).display());
    let m = || {
        let mut cmd = migrate(root);
        cmd.args(["--dir", repo().join("migrations").to_str().unwrap()]);
        cmd
    };
    // DATABASE_URL when no file sets one.
    ok(m().env("DATABASE_URL", url("env.db")), &["upgrade", "head", "-q"]);
    assert!(root.join("env.db").exists());
    // The file's URL wins over DATABASE_URL.
    std::fs::write(
        root.join("migrate.toml"),
        format!("database_url = \"{}\"\n", url("file.db")),
    )
    .unwrap();
    ok(m().env("DATABASE_URL", url("env2.db")), &["upgrade", "head", "-q"]);
    assert!(root.join("file.db").exists() && !root.join("env2.db").exists());
    // The flag wins over both.
    ok(
        m().env("DATABASE_URL", url("env2.db")),
        &["upgrade", "head", "-q", "--database-url", &url("flag.db")],
    );
    assert!(root.join("flag.db").exists() && !root.join("env2.db").exists());
    // Reading commands never create a SQLite file.
    fails(&mut m(), &["current", "--database-url", &url("missing.db")], 1);
    assert!(!root.join("missing.db").exists());
}

#[test]
fn init_writes_a_config_and_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let said = ok(
        &mut migrate(root),
        &["init", "db/migrations", "--database-url", "sqlite:app.db"],
    );
    assert!(said.contains(r#"embed_migrations!("db/migrations")"#), "{said}");
    assert!(said.contains("cargo:rerun-if-changed=db/migrations"), "{said}");
    let config = std::fs::read_to_string(root.join("migrate.toml")).unwrap();
    assert!(config.contains("database_url = \"sqlite:app.db\"\n"), "{config}");
    assert!(config.contains("dir = \"db/migrations\"\n"), "{config}");
    assert!(config.contains("history_table = \"migrate_history\"\n"), "{config}");
    // The folder it wrote is the one the config names.
    let path = ok(&mut migrate(root), &["revision", "-m", "first"]);
    assert!(path.starts_with("db/migrations/"), "{path}");

    let e = fails(&mut migrate(root), &["init", "other"], 1);
    assert_eq!(
        e,
        "error: `migrate.toml` already exists; init never overwrites anything\n"
    );
    assert!(!root.join("other").exists());
    assert_eq!(std::fs::read_to_string(root.join("migrate.toml")).unwrap(), config);
    let e = fails(
        &mut migrate(root),
        &["init", "db/migrations", "--config", "second.toml"],
        1,
    );
    assert!(e.contains("`db/migrations` already exists and is not empty"), "{e}");
    assert!(!root.join("second.toml").exists());
    // An empty folder is fine: nothing in it is overwritten.
    std::fs::create_dir(root.join("empty")).unwrap();
    ok(&mut migrate(root), &["init", "empty", "--config", "third.toml", "-q"]);
    assert!(root.join("third.toml").exists());
}

#[test]
fn revision_and_merge_files_parse_and_validate() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir(root.join("migrations")).unwrap();
    let m = || migrate(root);
    let a = ok(&mut m(), &["revision", "-m", "Create the Account table!"]);
    let name = a.trim().strip_prefix("migrations/").unwrap();
    assert_eq!(name.len(), 12 + "_create_the_account_table.sql".len(), "{name}");
    assert!(name.ends_with("_create_the_account_table.sql"), "{name}");
    assert!(name[..12].bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
    let text = std::fs::read_to_string(root.join(a.trim())).unwrap();
    let a = id_of(&a);
    assert!(text.starts_with(&format!(
        "-- Create the Account table!\n--\n-- revision: {a}\n-- down_revision: \n-- created: "
    )));
    let created = text.lines().nth(4).unwrap().strip_prefix("-- created: ").unwrap();
    assert!(
        created.len() == 20 && created.ends_with('Z') && &created[10..11] == "T" && created.starts_with("20"),
        "{created}"
    );
    assert!(text.contains("\n-- migrate:upgrade\n") && text.contains("\n-- migrate:downgrade\n"));

    let b = id_of(&ok(&mut m(), &["revision", "-m", "b"]));
    let c = id_of(&ok(&mut m(), &["revision", "-m", "c", "--head", &a]));
    let e = fails(&mut m(), &["revision", "-m", "d"], 1);
    assert!(e.contains("the folder has 2 heads") && e.contains("--head ID"), "{e}");
    let e = fails(&mut m(), &["merge", "-m", "m", &b], 1);
    assert!(e.contains("at least two different revisions"), "{e}");
    let merge = id_of(&ok(&mut m(), &["merge", "-m", "merge b and c"]));
    let e = fails(&mut m(), &["merge", "-m", "again"], 1);
    assert!(
        e.contains(&format!("nothing to merge: the folder has one head ({merge})")),
        "{e}"
    );

    let list = migrate::load(root.join("migrations")).expect("the written files validate");
    let parents = |id: &str| -> Vec<String> { list.get(id).unwrap().down_revisions().map(str::to_owned).collect() };
    assert_eq!(parents(&a), Vec::<String>::new());
    assert_eq!(parents(&b), std::slice::from_ref(&a));
    assert_eq!(parents(&c), std::slice::from_ref(&a));
    let mut both = vec![b.clone(), c.clone()];
    both.sort();
    assert_eq!(parents(&merge), both);
    assert_eq!(list.get(&merge).unwrap().message(), "merge b and c");
    assert_eq!(list.iter().last().unwrap().revision(), merge);
    // Explicit ids and prefixes merge too.
    let d = id_of(&ok(&mut m(), &["revision", "-m", "d"]));
    let e2 = id_of(&ok(&mut m(), &["revision", "-m", "e", "--head", &d]));
    let f = id_of(&ok(&mut m(), &["revision", "-m", "f", "--head", &d[..8]]));
    let g = id_of(&ok(&mut m(), &["merge", "-m", "g", &f, &e2[..8]]));
    let list = migrate::load(root.join("migrations")).unwrap();
    let got: Vec<&str> = list.get(&g).unwrap().down_revisions().collect();
    assert_eq!(got, [f.as_str(), e2.as_str()]);
}

#[test]
fn history_table_flag_and_resolving_a_failed_run() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir(root.join("migrations")).unwrap();
    let db = root.join("app.db");
    let m = || {
        let mut cmd = migrate(root);
        cmd.env("DATABASE_URL", format!("sqlite:{}", db.display()))
            .args(["--history-table", "schema_history"]);
        cmd
    };
    let a = ok(&mut m(), &["revision", "-m", "half done"]);
    let path = root.join(a.trim());
    let a = id_of(&a);
    let text = std::fs::read_to_string(&path).unwrap();
    // Outside a transaction, the first statement stays done when the second fails.
    let text = text.replace(
        "-- migrate:upgrade\n",
        "-- migrate:no-transaction\n-- migrate:upgrade\n",
    );
    std::fs::write(&path, text).unwrap();
    crate::support::write_sql(
        &path,
        "CREATE TABLE t (id INTEGER);\nSELECT * FROM missing_table;",
        "DROP TABLE t;",
    );

    let e = fails(&mut m(), &["upgrade", "head"], 1);
    assert!(
        e.contains(&format!("upgrade of revision `{a}`")) && e.contains("missing_table"),
        "{e}"
    );
    let e = fails(&mut m(), &["upgrade", "head"], 1);
    assert!(
        e.contains(&format!("`migrate resolve {a} --applied` or `--not-applied`")),
        "{e}"
    );
    let rows = crate::support::program(
        "sqlite3",
        &[db.to_str().unwrap(), "SELECT revision, state FROM schema_history"],
        None,
    );
    assert_eq!(rows, format!("{a}|upgrade_failed\n"));
    // `history` says how the row stands, for whoever looks after the incident.
    let history = ok(&mut m(), &["history"]);
    assert!(
        history.contains(&format!("-> {a} (head) (upgrade_failed)")),
        "{history}"
    );

    // A human checked: the table is there, so the revision stands applied.
    assert_eq!(
        ok(&mut m(), &["resolve", &a, "--applied"]),
        format!("Resolved {a} as applied\n")
    );
    assert_eq!(ok(&mut m(), &["current"]), format!("{a} (head)\n"));
    let script = ok(&mut m(), &["upgrade", "--sql"]);
    assert!(script.contains("INSERT INTO \"schema_history\""), "{script}");
    assert!(!script.contains("migrate_history"), "{script}");
}

#[test]
fn the_flags_errors_advise_exist() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir(root.join("migrations")).unwrap();
    let url = format!("sqlite:{}", root.join("app.db").display());
    let m = || {
        let mut cmd = migrate(root);
        cmd.env("DATABASE_URL", &url);
        cmd
    };
    let a = ok(&mut m(), &["revision", "-m", "first"]);
    let b = ok(&mut m(), &["revision", "-m", "second"]);
    ok(&mut m(), &["upgrade", "head", "--lock-timeout", "5"]);
    // An older folder: the database has a revision it does not know.
    std::fs::remove_file(root.join(b.trim())).unwrap();
    let e = fails(&mut m(), &["upgrade", "head"], 1);
    assert!(
        e.contains("unknown to this build") && e.contains("--ignore-unknown-revisions"),
        "{e}"
    );
    ok(&mut m(), &["upgrade", "head", "--ignore-unknown-revisions"]);
    let current = ok(&mut m(), &["current", "--ignore-unknown-revisions"]);
    assert!(current.contains(&id_of(&b)), "{current}");
    assert!(!current.contains(&id_of(&a)), "{current}");
    // The same settings from the config file.
    std::fs::write(
        root.join("migrate.toml"),
        "lock_timeout = 5\nhistory_table = \"migrate_history\"\n",
    )
    .unwrap();
    ok(&mut m(), &["heads"]);
    let e = fails(&mut m(), &["current", "--lock-timeout", "soon"], 2);
    assert!(e.contains("--lock-timeout"), "{e}");
}

#[test]
fn a_second_history_is_joined_by_merge_and_then_has_two_bases() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir(root.join("migrations")).unwrap();
    let a = ok(&mut migrate(root), &["revision", "-m", "first history"]);
    // A second history, started by hand with an empty down_revision.
    std::fs::write(
        root.join("migrations/b0000000000b_second_history.sql"),
        "-- second history\n--\n-- revision: b0000000000b\n-- down_revision:\n\n-- migrate:upgrade\nCREATE TABLE other (id INTEGER);\n\n-- migrate:downgrade\nDROP TABLE other;\n",
    )
    .unwrap();
    let e = fails(&mut migrate(root), &["check"], 1);
    assert!(
        e.contains("with no common ancestor") && e.contains("add a merge revision"),
        "{e}"
    );
    let merge = ok(&mut migrate(root), &["merge", "-m", "join the histories"]);
    assert!(
        ok(&mut migrate(root), &["check"]).contains("head "),
        "the merge makes one head"
    );
    let history = ok(&mut migrate(root), &["history"]);
    assert_eq!(history.matches("<base> -> ").count(), 2, "{history}");
    // `merge` lists the heads it joins by id.
    let mut parents = [id_of(&a), "b0000000000b".to_owned()];
    parents.sort();
    assert!(
        history.starts_with(&format!(
            "{} -> {} (head) (mergepoint)",
            parents.join(", "),
            id_of(&merge)
        )),
        "{history}"
    );
    // A revision on top of a history with two bases works as on any other.
    ok(&mut migrate(root), &["revision", "-m", "after the merge"]);
    let url = format!("sqlite:{}", root.join("app.db").display());
    ok(&mut migrate(root), &["upgrade", "head", "--database-url", &url]);
    ok(&mut migrate(root), &["downgrade", "base", "--database-url", &url]);
    assert_eq!(ok(&mut migrate(root), &["current", "--database-url", &url]), "");
}

#[test]
fn depends_on_orders_siblings_and_check_warns_about_unordered_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let dir = cwd.join("migrations");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |id: &str, down: &str, extra: &str, up: &str| {
        std::fs::write(
            dir.join(format!("{id}_x.sql")),
            format!("-- {id}\n-- revision: {id}\n-- down_revision: {down}\n{extra}\n-- migrate:upgrade\n{up}\n-- migrate:downgrade\n"),
        )
        .unwrap();
    };
    let url = format!("sqlite://{}", cwd.join("app.db").display());
    let script = || ok(&mut migrate(cwd), &["--database-url", &url, "upgrade", "head", "--sql"]);
    let rename_first = |sql: &str| sql.find("RENAME TO thing").unwrap() < sql.find("ADD COLUMN x").unwrap();
    write("a1", "", "", "CREATE TABLE item (id int);");
    write("b1", "a1", "", "ALTER TABLE item RENAME TO thing;");
    write("c1", "a1", "", "ALTER TABLE item ADD COLUMN x int;");
    write("m1", "c1, b1", "", "");
    assert!(
        rename_first(&script()),
        "the rename's line runs first, and c1 would fail"
    );
    let run = crate::support::run(&mut migrate(cwd), &["check"]);
    assert_eq!(run.code, 0, "a warning does not fail check: {}", run.stderr);
    assert!(
        run.stderr
            .contains("migrations/b1_x.sql and migrations/c1_x.sql both change table `item`, and nothing orders them")
            && run
                .stderr
                .contains("add `-- depends_on: b1` to its header (migrations/c1_x.sql)"),
        "{}",
        run.stderr
    );
    // c1 must run before the rename: b1 depends on c1.
    write("b1", "a1", "-- depends_on: c1", "ALTER TABLE item RENAME TO thing;");
    let run = crate::support::run(&mut migrate(cwd), &["check"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("nothing orders them"), "{}", run.stderr);
    assert!(!rename_first(&script()), "depends_on runs c1 first");
    ok(&mut migrate(cwd), &["--database-url", &url, "upgrade", "b1"]);
    let db = cwd.join("app.db");
    let applied = crate::support::program(
        "sqlite3",
        &[db.to_str().unwrap(), "SELECT revision FROM migrate_history ORDER BY 1"],
        None,
    );
    assert_eq!(
        applied.trim(),
        "a1\nb1\nc1",
        "an upgrade to b1 applies its dependency c1, not the merge"
    );
    ok(&mut migrate(cwd), &["--database-url", &url, "upgrade", "head"]);
}
