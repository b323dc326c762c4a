//! Two migration sets in one database through `Sets`: applied in their
//! declared order, each in its own history table; declared the wrong way
//! round, the dependency stops the second set with its error.

use crate::deploy::{file, folder};
use migrate::{Error, Sets};

macro_rules! sets {
    ($db:path) => {
        use super::*;
        use $db as db;

        #[tokio::test]
        async fn two_sets_in_one_database_in_their_order() {
            let Some(db) = db::fresh().await else { return };
            let dir = tempfile::tempdir().unwrap();
            let jobq = folder(dir.path(), "jobq", &[file("j1", "", "", "CREATE TABLE jobq_job (id INTEGER PRIMARY KEY);", None)]);
            let app = folder(
                dir.path(),
                "app",
                &[file("a1", "", "-- depends_on: jobq@j1", "CREATE TABLE report (job INTEGER);", None)],
            );
            // The wrong order: the application's set needs jobq's revision first.
            match Sets::new().add_migrator("app", app.migrator()).add("jobq", &jobq).upgrade(&db.pool).await {
                Err(e @ Error::InSet { .. }) => {
                    let Error::InSet { set, completed, source } = &e else { unreachable!() };
                    assert_eq!((set.as_str(), completed.len()), ("app", 0));
                    assert!(matches!(&**source, Error::MissingDependency { set, needs, .. } if set == "jobq" && needs == "j1"), "{source:?}");
                }
                other => panic!("{other:?}"),
            }
            assert!(!db::table_exists(&db.pool, "report").await, "a1 did not run");
            let done = Sets::new().add("jobq", &jobq).add_migrator("app", app.migrator()).upgrade(&db.pool).await.unwrap();
            let names: Vec<(&str, usize)> = done.iter().map(|(n, r)| (n.as_str(), r.steps.len())).collect();
            assert_eq!(names, [("jobq", 1), ("app", 1)]);
            assert_eq!(db::history_rows(&db.pool, "migrate_history_jobq").await, 1);
            assert_eq!(db::history_rows(&db.pool, "migrate_history").await, 1);
            assert!(db::table_exists(&db.pool, "report").await);
        }

        #[tokio::test]
        async fn a_missing_dependency_part_way_keeps_the_steps_before_it() {
            let Some(db) = db::fresh().await else { return };
            let dir = tempfile::tempdir().unwrap();
            let app = folder(
                dir.path(),
                "app",
                &[
                    file("a0", "", "", "CREATE TABLE first_one (id INTEGER PRIMARY KEY);", None),
                    file("a1", "a0", "-- depends_on: jobq@j1", "CREATE TABLE report (job INTEGER);", None),
                ],
            );
            // A fresh database, so PostgreSQL would run both in one transaction: the
            // dependency check reads a table that does not exist, which must not cost a0.
            match app.upgrade(&db.pool, "head").await {
                Err(e @ Error::MissingDependency { .. }) => assert!(e.to_string().contains("jobq"), "{e}"),
                Err(Error::Interrupted { completed, source }) => {
                    assert_eq!(completed, ["a0"]);
                    assert!(matches!(*source, Error::MissingDependency { .. }), "{source:?}");
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(app.current(&db.pool).await.unwrap(), ["a0"]);
            assert!(db::table_exists(&db.pool, "first_one").await);
            assert!(!db::table_exists(&db.pool, "report").await);
        }

        #[tokio::test]
        async fn a_downgrade_keeps_what_another_sets_applied_revision_needs() {
            let Some(db) = db::fresh().await else { return };
            let dir = tempfile::tempdir().unwrap();
            let jobq = folder(
                dir.path(),
                "jobq",
                &[file("j1", "", "", "CREATE TABLE jobq_job (id INTEGER PRIMARY KEY);", Some("DROP TABLE jobq_job;"))],
            );
            let app = folder(
                dir.path(),
                "app",
                &[file("a1", "", "-- depends_on: jobq@j1", "CREATE TABLE report (job INTEGER);", Some("DROP TABLE report;"))],
            );
            Sets::new().add("jobq", &jobq).add_migrator("app", app.migrator()).upgrade(&db.pool).await.unwrap();
            let jobq_table = migrate::HistoryTable::new("migrate_history_jobq").unwrap();
            let app_table = migrate::HistoryTable::new("migrate_history").unwrap();
            let downgrading = || {
                jobq.migrator()
                    .history_table("migrate_history_jobq")
                    .set_name("jobq")
                    .needed_by(None, app_table.clone(), &app)
            };
            let e = downgrading().downgrade(&db.pool, "base").await.unwrap_err();
            assert!(
                matches!(&e, Error::NeededBy { revision, by, .. } if revision == "j1" && by == "a1"),
                "{e:?}"
            );
            assert!(e.to_string().contains("the application's migrations"), "{e}");
            assert!(db::table_exists(&db.pool, "jobq_job").await, "nothing was unapplied");
            assert_eq!(db::history_rows(&db.pool, "migrate_history_jobq").await, 1);
            // Once the application's revision is unapplied, the set goes down.
            app.migrator().set_history_table("jobq", jobq_table).downgrade(&db.pool, "base").await.unwrap();
            assert_eq!(downgrading().downgrade(&db.pool, "base").await.unwrap().revisions(), ["j1"]);
            assert!(!db::table_exists(&db.pool, "jobq_job").await);
        }

        /// jobq squashed j1 and j2 into a baseline; the application still
        /// says `depends_on: jobq@j2`: through `Sets`, the baseline meets it
        /// on a new database (a bare `Migrator` reads `j2` alone, and refuses).
        #[tokio::test]
        async fn a_dependency_a_squash_replaced_is_met_by_the_baseline() {
            let Some(db) = db::fresh().await else { return };
            let dir = tempfile::tempdir().unwrap();
            let squashed = "-- migrate:replaces: j1, j2\n-- migrate:squashed: v1";
            let jobq = folder(
                dir.path(),
                "jobq",
                &[file("jb", "", squashed, "CREATE TABLE jobq_job (id INTEGER PRIMARY KEY);", Some("DROP TABLE jobq_job;"))],
            );
            let app = folder(
                dir.path(),
                "app",
                &[file("a1", "", "-- depends_on: jobq@j2", "CREATE TABLE report (job INTEGER);", Some("DROP TABLE report;"))],
            );
            let table = migrate::HistoryTable::new("migrate_history_jobq").unwrap();
            jobq.migrator().history_table("migrate_history_jobq").upgrade(&db.pool, "head").await.unwrap();
            let bare = app.migrator().set_history_table("jobq", table.clone()).upgrade(&db.pool, "head").await;
            assert!(matches!(&bare, Err(Error::MissingDependency { needs, .. }) if needs == "j2"), "{bare:?}");
            let done = Sets::new().add("jobq", &jobq).add_migrator("app", app.migrator()).upgrade(&db.pool).await.unwrap();
            let steps: Vec<(&str, usize)> = done.iter().map(|(n, r)| (n.as_str(), r.steps.len())).collect();
            assert_eq!(steps, [("jobq", 0), ("app", 1)]);
            assert!(db::table_exists(&db.pool, "report").await);
        }
    };
}

mod sqlite {
    sets!(crate::support::sqlite);
}
mod postgres {
    sets!(crate::support::postgres);
}
mod mysql {
    sets!(crate::support::mysql);
}
