//! Rebuilding a table that others reference, as SQLite's documented
//! procedure does it (create the new table, copy the rows, drop the old one,
//! rename the new one): `-- migrate:foreign-keys-off` runs such a migration
//! with foreign keys off, so dropping the old table neither cascades into
//! nor is refused for the rows that reference it, and, on SQLite, checks
//! that no row was left pointing nowhere before the migration commits.

use crate::deploy::file;

/// `parent` with two rows, `child` with three rows referencing them, `ON DELETE CASCADE`.
pub fn tables() -> (String, String) {
    file(
        "r1",
        "",
        "",
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL);\n\
         CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL,\n  \
         FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE);\n\
         INSERT INTO parent (id, name) VALUES (1, 'one'), (2, 'two');\n\
         INSERT INTO child (id, parent_id) VALUES (10, 1), (11, 1), (20, 2);",
        None,
    )
}

/// Revision `r2` rebuilds `parent` with a new column, copying the rows `keep` selects.
pub fn rebuild(header: &str, keep: &str) -> (String, String) {
    file(
        "r2",
        "r1",
        header,
        &format!(
            "CREATE TABLE parent_new (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL, note VARCHAR(40));\n\
             INSERT INTO parent_new (id, name) SELECT id, name FROM parent WHERE {keep};\n\
             DROP TABLE parent;\n\
             ALTER TABLE parent_new RENAME TO parent;"
        ),
        None,
    )
}

/// The scenarios, for a database's `db` support module and its connection type `Conn`.
macro_rules! rebuilds {
    () => {
        use crate::deploy::folder;
        use crate::rebuild::{rebuild, tables};
        use migrate::Error;

        macro_rules! fresh {
            () => {
                match db::fresh().await {
                    Some(d) => d,
                    None => return,
                }
            };
        }

        /// The connection's foreign key enforcement, as the database names it.
        async fn enforcing(conn: &mut Conn) -> i64 {
            let sql = match db::NAME {
                "sqlite" => "PRAGMA foreign_keys",
                "mysql" => "SELECT CAST(@@SESSION.foreign_key_checks AS SIGNED)",
                _ => "SELECT 1::bigint",
            };
            migrate::sqlx::query_scalar::<_, i64>(sql).fetch_one(conn).await.unwrap()
        }

        #[tokio::test]
        async fn a_rebuild_with_foreign_keys_off_keeps_every_child_row() {
            let db = fresh!();
            if db::NAME == "postgres" {
                return; // PostgreSQL cannot drop a referenced table without CASCADE: no such rebuild.
            }
            let dir = tempfile::tempdir().unwrap();
            let list = folder(dir.path(), "m", &[tables(), rebuild("-- migrate:foreign-keys-off", "1 = 1")]);
            let mut conn = db.pool.acquire().await.unwrap();
            assert_eq!(enforcing(&mut *conn).await, 1, "the connection enforces foreign keys");
            let report = list.upgrade(&mut conn, "head").await.unwrap();
            assert_eq!(report.revisions(), ["r1", "r2"]);
            assert_eq!(enforcing(&mut *conn).await, 1, "enforcement is back on after the run");
            drop(conn);
            assert_eq!(db::count(&db.pool, "parent").await, 2);
            assert_eq!(db::count(&db.pool, "child").await, 3, "no child row went with the old table");
            assert_eq!(db::history_rows(&db.pool, "migrate_history").await, 2);
            // The children still reference the rebuilt table, and it is enforced again.
            db::exec(&db.pool, "DELETE FROM parent WHERE id = 2").await;
            assert_eq!(db::count(&db.pool, "child").await, 2, "ON DELETE CASCADE now acts on the new table");
        }

        #[tokio::test]
        async fn without_the_directive_the_rebuild_loses_or_refuses_the_children() {
            let db = fresh!();
            if db::NAME == "postgres" {
                return;
            }
            let dir = tempfile::tempdir().unwrap();
            let list = folder(dir.path(), "m", &[tables(), rebuild("", "1 = 1")]);
            let result = list.upgrade(&db.pool, "head").await;
            match db::NAME {
                // Why the directive exists: dropping the old table deleted its rows,
                // and ON DELETE CASCADE took every child row with them, silently.
                "sqlite" => {
                    assert_eq!(result.unwrap().revisions(), ["r1", "r2"]);
                    assert_eq!(db::count(&db.pool, "parent").await, 2);
                    assert_eq!(db::count(&db.pool, "child").await, 0, "the children were lost");
                }
                // MySQL refuses to drop a table a foreign key references.
                _ => {
                    let e = result.unwrap_err();
                    assert!(matches!(&e, Error::Migration { revision, .. } if revision == "r2"), "{e}");
                    assert_eq!(db::count(&db.pool, "child").await, 3);
                }
            }
        }

        #[tokio::test]
        async fn a_rebuild_that_leaves_a_dangling_foreign_key_is_rolled_back() {
            let db = fresh!();
            if db::NAME != "sqlite" {
                return; // Only SQLite checks the rows when enforcement comes back.
            }
            let dir = tempfile::tempdir().unwrap();
            // The copy forgets parent 2, which child 20 references.
            let list = folder(dir.path(), "m", &[tables(), rebuild("-- migrate:foreign-keys-off", "id = 1")]);
            let mut conn = db.pool.acquire().await.unwrap();
            let e = list.upgrade(&mut conn, "head").await.unwrap_err();
            assert_eq!(enforcing(&mut *conn).await, 1, "enforcement is back on after the failure too");
            drop(conn);
            let Error::DanglingForeignKeys {
                revision,
                violations,
                more,
                applied,
                cleanup,
                ..
            } = &e
            else {
                panic!("{e}");
            };
            assert_eq!(revision, "r2");
            assert_eq!(
                violations,
                &[migrate::ForeignKeyViolation {
                    table: "child".into(),
                    rowid: Some(20),
                    parent: "parent".into(),
                }]
            );
            assert!(!more);
            assert!(cleanup.is_none(), "{e}");
            assert_eq!(applied, &["r1"], "the earlier step of the run stays applied");
            let message = e.to_string();
            for needle in [
                "revision `r2`",
                "the row of `child` with rowid 20 references a row of `parent` that does not exist",
                "rolled back and is not recorded",
                "PRAGMA foreign_key_check",
                "r1, which stays done",
            ] {
                assert!(message.contains(needle), "{needle} in {message}");
            }
            // Nothing of r2 stayed: the old table and its rows, no row for r2.
            assert_eq!(list.current(&db.pool).await.unwrap(), ["r1"]);
            assert_eq!(db::history_rows(&db.pool, "migrate_history").await, 1);
            assert_eq!(db::count(&db.pool, "parent").await, 2);
            assert_eq!(db::count(&db.pool, "child").await, 3);
            assert!(!db::table_exists(&db.pool, "parent_new").await);
            // Fixed, it runs.
            let fixed = folder(dir.path(), "fixed", &[tables(), rebuild("-- migrate:foreign-keys-off", "1 = 1")]);
            assert_eq!(fixed.upgrade(&db.pool, "head").await.unwrap().revisions(), ["r2"]);
            assert_eq!(db::count(&db.pool, "child").await, 3);
        }

        #[tokio::test]
        async fn a_connection_without_enforcement_is_left_without_it() {
            let db = fresh!();
            if db::NAME == "postgres" {
                return;
            }
            let dir = tempfile::tempdir().unwrap();
            let list = folder(dir.path(), "m", &[tables(), rebuild("-- migrate:foreign-keys-off", "1 = 1")]);
            let mut conn = db.pool.acquire().await.unwrap();
            let off = match db::NAME {
                "sqlite" => "PRAGMA foreign_keys = OFF",
                _ => "SET SESSION foreign_key_checks = 0",
            };
            migrate::sqlx::raw_sql(off).execute(&mut *conn).await.unwrap();
            list.upgrade(&mut conn, "head").await.unwrap();
            assert_eq!(enforcing(&mut *conn).await, 0, "the connection's own setting is put back");
        }

        #[tokio::test]
        async fn the_directive_changes_nothing_on_postgres() {
            let db = fresh!();
            if db::NAME != "postgres" {
                return;
            }
            let dir = tempfile::tempdir().unwrap();
            let dangling = crate::deploy::file(
                "r2",
                "r1",
                "-- migrate:foreign-keys-off",
                "INSERT INTO child (id, parent_id) VALUES (30, 3);",
                None,
            );
            let list = folder(dir.path(), "m", &[tables(), dangling]);
            // Its foreign keys are enforced as ever: the step fails and is rolled back.
            let e = list.upgrade(&db.pool, "head").await.unwrap_err();
            assert!(matches!(&e, Error::Migration { revision, rolled_back: true, .. } if revision == "r2"), "{e}");
            assert_eq!(list.current(&db.pool).await.unwrap(), ["r1"]);
        }
    };
}
pub(crate) use rebuilds;
