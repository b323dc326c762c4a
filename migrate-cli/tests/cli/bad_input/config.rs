//! Config files that cannot be used: missing, not TOML, unknown keys (with their line).

use super::*;

#[test]
fn config_files_that_cannot_be_used() {
    let tmp = tempfile::tempdir().unwrap();
    let e = fails(&mut migrate(tmp.path()), &["heads", "--config", "nope.toml"], 1);
    assert!(e.starts_with("error: cannot read the config file `nope.toml`"), "{e}");
    let e = fails(migrate(tmp.path()).env("MIGRATE_CONFIG", "gone.toml"), &["heads"], 1);
    assert!(e.starts_with("error: cannot read the config file `gone.toml`"), "{e}");
    std::fs::write(tmp.path().join("migrate.toml"), "database_url = [oops\n").unwrap();
    let e = fails(&mut migrate(tmp.path()), &["heads"], 1);
    assert!(e.starts_with("error: invalid config file `migrate.toml`"), "{e}");
    std::fs::write(tmp.path().join("migrate.toml"), "databse_url = \"sqlite:x.db\"\n").unwrap();
    let e = fails(&mut migrate(tmp.path()), &["heads"], 1);
    assert!(
        e.contains("databse_url")
            && e.contains("the keys are database_url, dev_database_url, dir, schema, history_table"),
        "{e}"
    );
    std::fs::write(tmp.path().join("migrate.toml"), "history_table = \"bad-name\"\n").unwrap();
    let e = fails(&mut migrate(tmp.path()), &["heads"], 1);
    assert!(e.contains("`bad-name` is not a valid history table"), "{e}");
    // The line of the mistake, and the key.
    std::fs::write(
        tmp.path().join("migrate.toml"),
        "dir = \"migrations\"\n\n lock_timout = 5\n",
    )
    .unwrap();
    let e = fails(&mut migrate(tmp.path()), &["heads"], 1);
    assert!(e.contains("`migrate.toml`: line 3: unknown field `lock_timout`"), "{e}");
}
