//! `verify_round_trips`: every revision upgraded, downgraded and compared
//! through the catalog readers; a planted broken downgrade is found and
//! named with what it left behind, an irreversible revision is reported and
//! the walk goes on, and a database that is not empty is refused.

use crate::deploy::{file, folder};
use migrate::{Error, RoundTripOutcome};

macro_rules! round_trips {
    ($db:path) => {
        use super::*;
        use $db as db;

        #[tokio::test]
        async fn a_downgrade_that_leaves_an_index_behind_is_named() {
            let Some(db) = db::fresh().await else { return };
            let dir = tempfile::tempdir().unwrap();
            let list = folder(
                dir.path(),
                "m",
                &[
                    file("r1", "", "", "CREATE TABLE item (id INTEGER PRIMARY KEY, name VARCHAR(40));", Some("DROP TABLE item;")),
                    // Planted: the downgrade drops the column but forgets the index on another one.
                    file(
                        "r2",
                        "r1",
                        "",
                        "ALTER TABLE item ADD COLUMN price INTEGER;\nCREATE INDEX item_name ON item (name);",
                        Some("ALTER TABLE item DROP COLUMN price;"),
                    ),

                    file("r3", "r2", "", "CREATE TABLE note (id INTEGER PRIMARY KEY);", Some("DROP TABLE note;")),
                ],
            );
            let report = list.verify_round_trips(&db.pool).await.unwrap();
            assert!(!report.is_ok());
            let outcomes: Vec<(&str, &RoundTripOutcome)> =
                report.revisions.iter().map(|r| (r.revision.as_str(), &r.outcome)).collect();
            assert_eq!(outcomes[0], ("r1", &RoundTripOutcome::Restored));
            match outcomes[1] {
                ("r2", RoundTripOutcome::Differs(lines)) => {
                    assert_eq!(lines.len(), 1, "{lines:?}");
                    assert!(lines[0].starts_with("Detected added index \"item_name\" on \"item\""), "{lines:?}");
                }
                other => panic!("{other:?}"),
            }
            // Upgrading r2 again fails on the index its downgrade left. Where that failure is
            // rolled back, r2 is recorded without running and the walk goes on; on MySQL, whose
            // DDL commits as it goes, the walk stops there, saying so.
            if db::TRANSACTIONAL_DDL {
                assert_eq!(outcomes.len(), 3, "{outcomes:?}");
                assert_eq!(outcomes[2], ("r3", &RoundTripOutcome::Restored));
                assert!(report.notes[0].starts_with("r2: recorded as applied without running it again"), "{:?}", report.notes);
                assert_eq!(report.stopped, None);
            } else {
                assert_eq!(outcomes.len(), 2, "{outcomes:?}");
                let stopped = report.stopped.as_deref().unwrap();
                assert!(stopped.contains("upgrading r2 again"), "{stopped}");
            }
            assert_eq!(report.at_base, None);
        }

        #[tokio::test]
        async fn a_downgrade_that_leaves_a_column_is_named_and_the_walk_goes_on() {
            let Some(db) = db::fresh().await else { return };
            let dir = tempfile::tempdir().unwrap();
            let list = folder(
                dir.path(),
                "m",
                &[
                    file("r1", "", "", "CREATE TABLE item (id INTEGER PRIMARY KEY);", Some("DROP TABLE item;")),
                    // Planted: the downgrade forgets the column.
                    file("r2", "r1", "", "ALTER TABLE item ADD COLUMN size INTEGER;", Some("SELECT 1;")),
                    file("r3", "r2", "", "CREATE TABLE note (id INTEGER PRIMARY KEY);", Some("DROP TABLE note;")),
                ],
            );
            let report = list.verify_round_trips(&db.pool).await.unwrap();
            assert!(!report.is_ok());
            let outcomes: Vec<(&str, &RoundTripOutcome)> =
                report.revisions.iter().map(|r| (r.revision.as_str(), &r.outcome)).collect();
            assert_eq!(outcomes[0], ("r1", &RoundTripOutcome::Restored));
            match outcomes[1] {
                ("r2", RoundTripOutcome::Differs(lines)) => {
                    assert_eq!(lines, &["Detected added column \"item\".\"size\"".to_owned()]);
                }
                other => panic!("{other:?}"),
            }
            // Its one statement failed before doing anything, on every database: r2 is
            // recorded without running, and the walk goes on.
            assert_eq!(outcomes.len(), 3, "{outcomes:?}");
            assert_eq!(outcomes[2], ("r3", &RoundTripOutcome::Restored));
            assert_eq!(report.stopped, None);
        }

        #[tokio::test]
        async fn good_downgrades_pass_and_an_irreversible_revision_is_walked_past() {
            let Some(db) = db::fresh().await else { return };
            let dir = tempfile::tempdir().unwrap();
            let list = folder(
                dir.path(),
                "m",
                &[
                    file("r1", "", "", "CREATE TABLE item (id INTEGER PRIMARY KEY, name VARCHAR(40));\nCREATE INDEX item_name ON item (name);", Some("DROP TABLE item;")),
                    file("r2", "r1", "", "INSERT INTO item (id, name) VALUES (1, 'a');", None),
                    file("r3", "r2", "", "ALTER TABLE item ADD COLUMN price INTEGER;", Some("ALTER TABLE item DROP COLUMN price;")),
                ],
            );
            let report = list.verify_round_trips(&db.pool).await.unwrap();
            let outcomes: Vec<&RoundTripOutcome> = report.revisions.iter().map(|r| &r.outcome).collect();
            assert_eq!(
                outcomes,
                [&RoundTripOutcome::Restored, &RoundTripOutcome::Irreversible, &RoundTripOutcome::Restored]
            );
            assert!(report.is_ok());
            assert_eq!(report.at_base, None, "an irreversible revision keeps the walk above base");
            // It ended at the head.
            assert_eq!(list.current(&db.pool).await.unwrap(), ["r3"]);
        }

        #[tokio::test]
        async fn a_database_that_is_not_empty_is_refused() {
            let Some(db) = db::fresh().await else { return };
            migrate::schema::run_script(&db.pool, "CREATE TABLE precious (id INTEGER);", "setup").await.unwrap();
            let dir = tempfile::tempdir().unwrap();
            let list = folder(dir.path(), "m", &[file("r1", "", "", "CREATE TABLE item (id INTEGER);", Some("DROP TABLE item;"))]);
            match list.verify_round_trips(&db.pool).await {
                Err(e @ Error::NotEmpty { .. }) => {
                    let text = e.to_string();
                    assert!(text.contains("table \"precious\"") && text.contains("scratch"), "{text}");
                }
                other => panic!("{other:?}"),
            }
            assert!(!db::table_exists(&db.pool, "item").await, "nothing ran");
        }
    };
}

mod sqlite {
    round_trips!(crate::support::sqlite);
}
mod postgres {
    round_trips!(crate::support::postgres);
}
mod mysql {
    round_trips!(crate::support::mysql);
}
