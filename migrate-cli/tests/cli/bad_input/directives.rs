//! Directives written almost right (issue 22): `-- phase: contract` reads as
//! a comment, so an expand run would apply the contract revision's `DROP`.
//! Such a line is an error at its file and line, naming the spelling meant,
//! and nothing runs.

use super::*;
use crate::support::{ok, program};
use std::path::Path;

fn tables_and_history(db: &Path) -> (String, String) {
    let db = db.to_str().unwrap();
    let tables = program(
        "sqlite3",
        &[
            db,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%things' ORDER BY name",
        ],
        None,
    );
    let history = program(
        "sqlite3",
        &[
            db,
            "SELECT revision FROM migrate_history WHERE revision <> '' ORDER BY revision",
        ],
        None,
    );
    (tables.trim().to_owned(), history.trim().to_owned())
}

const EXPAND: &str = "-- add new_things\n-- revision: a1\n-- down_revision:\n-- migrate:phase: expand\n\n-- migrate:upgrade\nCREATE TABLE old_things (id INTEGER);\nCREATE TABLE new_things (id INTEGER);\n\n-- migrate:downgrade\nDROP TABLE new_things;\nDROP TABLE old_things;\n";

const CONTRACT: &str = "-- drop old_things\n-- revision: b2\n-- down_revision: a1\n-- phase: contract\n\n-- migrate:upgrade\nDROP TABLE old_things;\n\n-- migrate:downgrade\nCREATE TABLE old_things (id INTEGER);\n";

#[test]
fn a_misspelt_phase_stops_check_and_an_expand_upgrade_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let dir = cwd.join("migrations");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a1_add_new.sql"), EXPAND).unwrap();
    let url = sqlite_url(cwd);
    ok(&mut migrate(cwd), &["upgrade", "head", "--database-url", &url]);
    std::fs::write(dir.join("b2_drop_old.sql"), CONTRACT).unwrap();

    let said = "error: `-- phase: contract` is not a directive: did you mean `-- migrate:phase: contract`?\n  --> migrations/b2_drop_old.sql:4\n   = help: ";
    let e = fails(&mut migrate(cwd), &["check"], 1);
    assert!(e.contains(said), "{e}");
    let e = fails(
        &mut migrate(cwd),
        &["upgrade", "--phase", "expand", "--database-url", &url],
        1,
    );
    assert!(e.contains(said), "{e}");
    // Nothing changed: the contract revision's table is there, no history row added.
    let before = ("new_things\nold_things".to_owned(), "a1".to_owned());
    assert_eq!(tables_and_history(&cwd.join("app.db")), before);

    // The other spellings of it are refused the same way.
    for wrong in [
        "-- MIGRATE:phase: contract",
        "--  Migrate : phase: contract",
        "-- migrate phase: contract",
        "-- Phase: contract",
    ] {
        std::fs::write(
            dir.join("b2_drop_old.sql"),
            CONTRACT.replace("-- phase: contract", wrong),
        )
        .unwrap();
        let e = fails(
            &mut migrate(cwd),
            &["upgrade", "--phase", "expand", "--database-url", &url],
            1,
        );
        assert!(
            e.contains(&format!("`{}` is not a directive", wrong.trim()))
                && e.contains("did you mean `-- migrate:phase: contract`?")
                && e.contains("--> migrations/b2_drop_old.sql:4"),
            "{wrong}: {e}"
        );
        assert_eq!(tables_and_history(&cwd.join("app.db")), before, "{wrong}");
    }

    // Written right, the expand run stops before it and the table stays.
    std::fs::write(
        dir.join("b2_drop_old.sql"),
        CONTRACT.replace("-- phase: contract", "-- migrate:phase: contract"),
    )
    .unwrap();
    ok(&mut migrate(cwd), &["check"]);
    let out = ok(
        &mut migrate(cwd),
        &["upgrade", "--phase", "expand", "--database-url", &url],
    );
    assert!(out.contains("Stopped before b2"), "{out}");
    assert_eq!(tables_and_history(&cwd.join("app.db")), before);
}

#[test]
fn prose_that_mentions_a_directive_is_still_a_comment() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let dir = cwd.join("migrations");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("a1_add_new.sql"),
        EXPAND.replace(
            "-- add new_things\n",
            "-- add new_things\n-- This migration drops the phase column later; see the lock-timeout notes.\n",
        ),
    )
    .unwrap();
    ok(&mut migrate(cwd), &["check"]);
}
