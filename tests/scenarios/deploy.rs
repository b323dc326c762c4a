//! Deploys that roll forward and back: an older build beside a newer
//! database (expand revisions, stored downgrades), upgrades limited to the
//! expand phase, readiness for replicas that do not migrate, the history
//! table of an earlier version gaining its new columns, and, on the servers
//! with DDL locks, timeouts with retries and migrations resumed from the
//! statement that failed.

use migrate::Migrations;
use std::path::Path;

/// A migration file: `header` lines go above `-- migrate:upgrade`.
pub fn file(id: &str, parent: &str, header: &str, up: &str, down: Option<&str>) -> (String, String) {
    let down = down
        .map(|d| format!("\n-- migrate:downgrade\n{d}\n"))
        .unwrap_or_default();
    let header = if header.is_empty() {
        String::new()
    } else {
        format!("{header}\n")
    };
    (
        format!("{id}_m.sql"),
        format!("-- {id}\n-- revision: {id}\n-- down_revision: {parent}\n{header}\n-- migrate:upgrade\n{up}\n{down}"),
    )
}

/// The files written into a fresh folder of `dir`, loaded as a build would embed them.
pub fn folder(dir: &Path, name: &str, files: &[(String, String)]) -> Migrations {
    let path = dir.join(name);
    std::fs::create_dir_all(&path).unwrap();
    for (file, text) in files {
        std::fs::write(path.join(file), text).unwrap();
    }
    migrate::load(&path).unwrap()
}

/// Release 1 creates `item`; release 2 adds a table and a column (expand),
/// then drops release 1's `legacy` column (contract), then adds a table (expand).
pub fn releases(dir: &Path) -> (Migrations, Migrations) {
    let one = [file(
        "r1",
        "",
        "",
        "CREATE TABLE item (id INTEGER PRIMARY KEY, name VARCHAR(40), legacy VARCHAR(40));",
        Some("DROP TABLE item;"),
    )];
    let mut two = one.to_vec();
    two.extend([
        file(
            "r2",
            "r1",
            "-- migrate:phase: expand",
            "CREATE TABLE tag (id INTEGER PRIMARY KEY, label VARCHAR(40));\nALTER TABLE item ADD COLUMN note VARCHAR(40);",
            Some("ALTER TABLE item DROP COLUMN note;\nDROP TABLE tag;"),
        ),
        file(
            "r3",
            "r2",
            "-- migrate:phase: contract",
            "ALTER TABLE item DROP COLUMN legacy;",
            Some("ALTER TABLE item ADD COLUMN legacy VARCHAR(40);"),
        ),
        file(
            "r4",
            "r3",
            "-- migrate:phase: expand",
            "CREATE TABLE audit (id INTEGER PRIMARY KEY);",
            Some("DROP TABLE audit;"),
        ),
    ]);
    (folder(dir, "one", &one), folder(dir, "two", &two))
}

macro_rules! deploy {
    () => {
        use super::deploy::{file, folder, releases};
        use migrate::{Error, HistoryProblem, Phase};
        use std::time::Duration;

        macro_rules! fresh {
            () => {
                match db::fresh().await {
                    Some(d) => d,
                    None => return,
                }
            };
        }

        /// The columns of `table`, by name, in order.
        async fn columns(pool: &Pool, table: &str) -> Vec<String> {
            let sql = match db::NAME {
                "sqlite" => format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
                "postgres" => format!(
                    "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '{table}' ORDER BY ordinal_position"
                ),
                _ => format!(
                    "SELECT CAST(column_name AS CHAR) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '{table}' ORDER BY ordinal_position"
                ),
            };
            migrate::sqlx::query_scalar::<_, String>(migrate::sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .unwrap()
        }

        #[tokio::test]
        async fn an_older_build_starts_beside_expand_revisions_and_refuses_a_contract_one() {
            let db = fresh!();
            let dir = tempfile::tempdir().unwrap();
            let (one, two) = releases(dir.path());
            two.upgrade(&db.pool, "r2").await.unwrap();
            // Release 1 starts: r2 is unknown to it but marked expand.
            assert!(one.upgrade(&db.pool, "head").await.unwrap().is_empty());
            one.verify(&db.pool).await.unwrap();
            let history = one.history(&db.pool).await.unwrap();
            let r2 = history.iter().find(|e| e.revision == "r2").unwrap();
            assert!(!r2.known);
            assert_eq!(r2.phase, Some(Phase::Expand));
            // It may not go under them: their rows would lose their parents.
            match one.downgrade(&db.pool, "base").await {
                Err(Error::UnknownAbove { revisions }) => assert_eq!(revisions, ["r2"]),
                other => panic!("{other:?}"),
            }
            assert_eq!(db::history_rows(&db.pool, "migrate_history").await, 2, "nothing was changed");
            // Once the contract revision ran, release 1 refuses, naming it.
            two.upgrade(&db.pool, "r3").await.unwrap();
            match one.upgrade(&db.pool, "head").await {
                Err(Error::History(problems)) => {
                    assert_eq!(problems.len(), 1, "{problems:?}");
                    assert!(matches!(&problems[0], HistoryProblem::Unknown { revision } if revision == "r3"), "{problems:?}");
                    assert!(problems[0].to_string().contains("use_stored_downgrade"), "{}", problems[0]);
                }
                other => panic!("{other:?}"),
            }
            // With the opt-in to ignore unknown revisions it starts anyway.
            assert!(one.migrator().ignore_unknown_revisions().upgrade(&db.pool, "head").await.unwrap().is_empty());
        }

        #[tokio::test]
        async fn an_older_build_rolls_the_newer_revisions_back_with_their_stored_downgrades() {
            let db = fresh!();
            let dir = tempfile::tempdir().unwrap();
            let (one, two) = releases(dir.path());
            one.upgrade(&db.pool, "head").await.unwrap();
            let schema_of_one = (db::tables(&db.pool).await, columns(&db.pool, "item").await);
            two.upgrade(&db.pool, "head").await.unwrap();
            assert_ne!(columns(&db.pool, "item").await, schema_of_one.1);
            // Without the opt-in, release 1 cannot name the revisions it lacks.
            assert!(one.downgrade(&db.pool, "head").await.is_err());
            let report = one.migrator().use_stored_downgrade().downgrade(&db.pool, "head").await.unwrap();
            assert_eq!(report.revisions(), ["r4", "r3", "r2"]);
            let stored: Vec<&str> = report.steps.iter().filter_map(|s| s.stored_downgrade.as_deref()).collect();
            assert_eq!(
                stored,
                [
                    "DROP TABLE audit;",
                    "ALTER TABLE item ADD COLUMN legacy VARCHAR(40);",
                    "ALTER TABLE item DROP COLUMN note;\nDROP TABLE tag;"
                ]
            );
            assert_eq!((db::tables(&db.pool).await, columns(&db.pool, "item").await), schema_of_one);
            assert_eq!(one.current(&db.pool).await.unwrap(), ["r1"]);
            assert_eq!(db::history_rows(&db.pool, "migrate_history").await, 1);
            // Release 1 is at home again; release 2 can come back.
            assert!(one.upgrade(&db.pool, "head").await.unwrap().is_empty());
            assert_eq!(two.upgrade(&db.pool, "head").await.unwrap().revisions(), ["r2", "r3", "r4"]);
        }

        #[tokio::test]
        async fn a_revision_applied_without_a_downgrade_stays_irreversible_for_an_older_build() {
            let db = fresh!();
            let dir = tempfile::tempdir().unwrap();
            let (one, _) = releases(dir.path());
            let mut files = vec![file("r1", "", "", "CREATE TABLE item (id INTEGER PRIMARY KEY, name VARCHAR(40), legacy VARCHAR(40));", Some("DROP TABLE item;"))];
            files.push(file("r2", "r1", "-- migrate:phase: expand", "CREATE TABLE kept (id INTEGER PRIMARY KEY);", None));
            let two = folder(dir.path(), "irreversible", &files);
            two.upgrade(&db.pool, "head").await.unwrap();
            match one.migrator().use_stored_downgrade().downgrade(&db.pool, "head").await {
                Err(e @ Error::StoredDowngrade { .. }) => {
                    assert!(e.to_string().starts_with("the downgrade stored for revision `r2` cannot be run: its history row stores no downgrade"), "{e}");
                }
                other => panic!("{other:?}"),
            }
            assert!(db::table_exists(&db.pool, "kept").await, "nothing was changed");
        }

        #[tokio::test]
        async fn an_upgrade_of_the_expand_phase_stops_before_the_first_contract_revision() {
            let db = fresh!();
            let dir = tempfile::tempdir().unwrap();
            let (_, two) = releases(dir.path());
            let report = two.migrator().phase(Phase::Expand).upgrade(&db.pool, "head").await.unwrap();
            assert_eq!(report.revisions(), ["r1", "r2"]);
            assert_eq!(report.held_back.as_deref(), Some("r3"));
            assert!(columns(&db.pool, "item").await.contains(&"legacy".to_owned()));
            // Again: nothing more in this phase.
            let again = two.migrator().phase(Phase::Expand).upgrade(&db.pool, "head").await.unwrap();
            assert!(again.is_empty());
            assert_eq!(again.held_back.as_deref(), Some("r3"));
            let report = two.upgrade(&db.pool, "head").await.unwrap();
            assert_eq!(report.revisions(), ["r3", "r4"]);
            assert_eq!(report.held_back, None);
            assert!(!columns(&db.pool, "item").await.contains(&"legacy".to_owned()));
        }

        #[tokio::test]
        async fn a_history_table_of_an_earlier_version_gains_its_new_columns_in_place() {
            let db = fresh!();
            let dir = tempfile::tempdir().unwrap();
            let (one, two) = releases(dir.path());
            one.upgrade(&db.pool, "head").await.unwrap();
            // The table as the first version made it.
            for column in ["phase", "no_transaction", "downgrade", "downgrade_checksum", "statements_done", "backfill"] {
                db::exec(&db.pool, &format!("ALTER TABLE migrate_history DROP COLUMN {column}")).await;
            }
            assert_eq!(columns(&db.pool, "migrate_history").await.len(), 8);
            // Reading changes nothing, and works.
            assert_eq!(two.current(&db.pool).await.unwrap(), ["r1"]);
            let history = two.history(&db.pool).await.unwrap();
            assert!(!history[0].applied.as_ref().unwrap().stored_downgrade);
            assert_eq!(columns(&db.pool, "migrate_history").await.len(), 8);
            // The first changing run adds them; the old row stays as it was.
            two.upgrade(&db.pool, "r2").await.unwrap();
            assert_eq!(columns(&db.pool, "migrate_history").await.len(), 14);
            let history = two.history(&db.pool).await.unwrap();
            let stored: Vec<bool> = history.iter().filter_map(|e| e.applied.as_ref()).map(|a| a.stored_downgrade).collect();
            assert_eq!(stored, [false, true], "rows written before have no stored downgrade");
            // Even a run with nothing to do adds them, once: the digest of an earlier version never matches.
            let db2 = fresh!();
            one.upgrade(&db2.pool, "head").await.unwrap();
            db::exec(&db2.pool, "ALTER TABLE migrate_history DROP COLUMN statements_done").await;
            db::exec(&db2.pool, "UPDATE migrate_history SET checksum = 'set:1:written-by-an-earlier-version' WHERE revision = ''").await;
            assert!(one.upgrade(&db2.pool, "head").await.unwrap().is_empty());
            assert!(columns(&db2.pool, "migrate_history").await.contains(&"statements_done".to_owned()));
        }

        #[tokio::test]
        async fn waiting_returns_once_another_process_migrated_and_times_out_naming_what_is_missing() {
            let db = fresh!();
            let dir = tempfile::tempdir().unwrap();
            let (one, two) = releases(dir.path());
            // Nothing yet: the wait times out, naming every revision, and creates nothing.
            match one.wait_until_current(&db.pool, Duration::from_millis(300)).await {
                Err(Error::NotCurrent { missing, waited, .. }) => {
                    assert_eq!(missing, ["r1"]);
                    assert!(waited >= Duration::from_millis(300));
                }
                other => panic!("{other:?}"),
            }
            assert!(!db::table_exists(&db.pool, "migrate_history").await, "waiting creates nothing");
            let pool = db.pool.clone();
            let migrating = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(400)).await;
                let dir = tempfile::tempdir().unwrap();
                let (_, two) = releases(dir.path());
                two.upgrade(&pool, "r2").await.unwrap();
            });
            one.wait_until_current(&db.pool, Duration::from_secs(30)).await.unwrap();
            migrating.await.unwrap();
            // Release 1 is ready beside r2; release 2 still lacks r3 and r4.
            match two.wait_until_current(&db.pool, Duration::from_millis(200)).await {
                Err(e @ Error::NotCurrent { .. }) => {
                    let Error::NotCurrent { missing, .. } = &e else { unreachable!() };
                    assert_eq!(missing, &["r3", "r4"]);
                    assert!(e.to_string().contains("lacks 2 of this build's revisions (r3, r4)"), "{e}");
                }
                other => panic!("{other:?}"),
            }
        }

        #[tokio::test]
        async fn the_header_directives_are_parsed_and_shown() {
            let dir = tempfile::tempdir().unwrap();
            let list = folder(
                dir.path(),
                "d",
                &[file("a", "", "-- migrate:phase: contract\n-- migrate:lock-timeout: 5s\n-- migrate:statement-timeout: 10min", "SELECT 1;", None)],
            );
            let d = list.get("a").unwrap().directives();
            assert_eq!(d.phase, Some(Phase::Contract));
            assert_eq!(d.lock_timeout, Some(Duration::from_secs(5)));
            assert_eq!(d.statement_timeout, Some(Duration::from_secs(600)));
        }
    };
}

/// The servers whose DDL waits for locks the application's sessions hold.
macro_rules! locks {
    ($blocker:literal) => {
        use super::deploy::{file, folder};
        use migrate::{Error, Migrations};
        use std::time::Duration;

        /// A table, then a migration that alters it.
        fn altering(dir: &std::path::Path, header: &str) -> Migrations {
            folder(
                dir,
                "alter",
                &[
                    file("t1", "", "", "CREATE TABLE item (id INTEGER PRIMARY KEY, name VARCHAR(40));\nINSERT INTO item (id, name) VALUES (1, 'one');", None),
                    file("t2", "t1", header, "ALTER TABLE item ADD COLUMN note VARCHAR(40);", None),
                ],
            )
        }

        /// A session holding `item` in an open transaction, as an application's
        /// long transaction does; it commits when `release` fires.
        async fn blocker(pool: &Pool) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>, String) {
            let mut conn = pool.acquire().await.unwrap();
            let id: String = migrate::sqlx::query_scalar(migrate::sqlx::AssertSqlSafe(SESSION_ID))
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            migrate::sqlx::raw_sql($blocker).execute(&mut *conn).await.unwrap();
            let (release, released) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(async move {
                let _ = released.await;
                migrate::sqlx::raw_sql("COMMIT").execute(&mut *conn).await.unwrap();
            });
            (release, task, id)
        }

        #[tokio::test]
        async fn a_migration_blocked_by_a_long_transaction_is_retried_and_then_succeeds() {
            let Some(db) = db::fresh().await else { return };
            let dir = tempfile::tempdir().unwrap();
            let list = altering(dir.path(), "-- migrate:lock-timeout: 1s");
            list.upgrade(&db.pool, "t1").await.unwrap();
            let (release, task, _) = blocker(&db.pool).await;
            // The blocker commits while the migrator waits between attempts.
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(1800)).await;
                let _ = release.send(());
            });
            let report = list.migrator().lock_attempts(4).upgrade(&db.pool, "head").await.unwrap();
            assert_eq!(report.revisions(), ["t2"]);
            task.await.unwrap();
            assert_eq!(list.current(&db.pool).await.unwrap(), ["t2"]);
            db::exec(&db.pool, "UPDATE item SET note = 'added' WHERE id = 1").await;
        }

        #[tokio::test]
        async fn a_migration_blocked_past_all_attempts_names_the_blocker_and_leaves_nothing_behind() {
            let Some(db) = db::fresh().await else { return };
            let dir = tempfile::tempdir().unwrap();
            let list = altering(dir.path(), "");
            list.upgrade(&db.pool, "t1").await.unwrap();
            let (release, task, id) = blocker(&db.pool).await;
            let result = list
                .migrator()
                .ddl_lock_timeout(Duration::from_millis(1000))
                .lock_attempts(2)
                .upgrade(&db.pool, "head")
                .await;
            let _ = release.send(());
            task.await.unwrap();
            match result {
                Err(e @ Error::Blocked { .. }) => {
                    let Error::Blocked { attempts, blockers, revision, .. } = &e else { unreachable!() };
                    assert_eq!((revision.as_str(), *attempts), ("t2", 2));
                    assert_eq!(blockers.len(), 1, "{blockers:?}");
                    assert!(blockers[0].starts_with(&format!("{BLOCKER_WORD} {id} ")), "{blockers:?} should name {id}");
                    assert!(blockers[0].contains(BLOCKER_SHOWS), "{blockers:?}");
                    assert!(e.to_string().contains("tried 2 times"), "{e}");
                }
                other => panic!("{other:?}"),
            }
            // Rolled back, not dirty: the next run applies it.
            assert_eq!(list.current(&db.pool).await.unwrap(), ["t1"]);
            assert_eq!(list.upgrade(&db.pool, "head").await.unwrap().revisions(), ["t2"]);
        }
    };
}

pub(crate) use {deploy, locks};

/// A MariaDB/MySQL migration commits each DDL statement as it goes: a failure
/// at the third of four keeps the first two, says so, and is resumed there.
pub mod mysql_resume {
    use super::{file, folder};
    use crate::support::mysql as db;
    use migrate::Error;

    #[tokio::test]
    async fn a_failed_ddl_migration_says_what_ran_and_is_retried_from_the_failed_statement() {
        let Some(db) = db::fresh().await else { return };
        let dir = tempfile::tempdir().unwrap();
        let list = folder(
            dir.path(),
            "ddl",
            &[file(
                "d1",
                "",
                "",
                "CREATE TABLE a (id INT PRIMARY KEY);\nCREATE TABLE b (id INT PRIMARY KEY);\nALTER TABLE c ADD COLUMN x INT;\nCREATE TABLE d (id INT PRIMARY KEY);",
                Some("DROP TABLE d;\nALTER TABLE c DROP COLUMN x;\nDROP TABLE b;\nDROP TABLE a;"),
            )],
        );
        match list.upgrade(&db.pool, "head").await {
            Err(e @ Error::Migration { .. }) => {
                let Error::Migration {
                    statement,
                    completed,
                    line,
                    rolled_back,
                    ..
                } = &e
                else {
                    unreachable!()
                };
                assert_eq!(
                    (*statement, *completed, *line, *rolled_back),
                    (Some(3), Some(2), Some(3), false)
                );
                assert!(e.to_string().contains("statements 1-2 stay done"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        assert!(db::table_exists(&db.pool, "a").await && db::table_exists(&db.pool, "b").await);
        // The next run refuses, and says which statement failed and what stayed done.
        match list.upgrade(&db.pool, "head").await {
            Err(e @ Error::Dirty { .. }) => {
                let text = e.to_string();
                assert!(text.contains("statement 3 of 4 (line 3) failed"), "{text}");
                assert!(text.contains("statements 1-2 stayed done"), "{text}");
                assert!(text.contains("--retry"), "{text}");
            }
            other => panic!("{other:?}"),
        }
        let history = list.history(&db.pool).await.unwrap();
        assert_eq!(history[0].applied.as_ref().unwrap().statements_done, Some(2));
        // Retrying before the cause is fixed fails at the same statement and keeps the record.
        assert!(matches!(
            list.migrator().resolve_retry(&db.pool, "d1").await,
            Err(Error::Migration { statement: Some(3), .. })
        ));
        db::exec(&db.pool, "CREATE TABLE c (id INT PRIMARY KEY)").await;
        let report = list.migrator().resolve_retry(&db.pool, "d1").await.unwrap();
        assert_eq!(report.revisions(), ["d1"]);
        assert!(db::table_exists(&db.pool, "d").await);
        db::exec(&db.pool, "INSERT INTO c (id, x) VALUES (1, 2)").await;
        assert_eq!(list.current(&db.pool).await.unwrap(), ["d1"]);
        assert!(
            list.upgrade(&db.pool, "head").await.unwrap().is_empty(),
            "recorded applied, digest included"
        );
        assert!(matches!(
            list.migrator().resolve_retry(&db.pool, "d1").await,
            Err(Error::Finished { .. })
        ));
    }

    /// A DDL statement the server cannot parse fails before its implicit
    /// commit: the count of the DDL statement before it, pending that commit,
    /// is rolled back, yet that statement stayed done. The row says so, and a
    /// retry does not run it again.
    #[tokio::test]
    async fn a_ddl_statement_the_server_cannot_parse_keeps_the_count_of_the_one_before() {
        let Some(db) = db::fresh().await else { return };
        let dir = tempfile::tempdir().unwrap();
        let broken = "CREATE TABLE a (id INT PRIMARY KEY);\nCREATE TABLE b (id INT PRIMARY KEY);\nCREATE TABLE c (x INT) NO SUCH OPTION;";
        let list = folder(dir.path(), "parse", &[file("p1", "", "", broken, None)]);
        match list.upgrade(&db.pool, "head").await {
            Err(e @ Error::Migration { .. }) => {
                let Error::Migration {
                    statement, completed, ..
                } = &e
                else {
                    unreachable!()
                };
                assert_eq!((*statement, *completed), (Some(3), Some(2)), "{e}");
                assert!(e.to_string().contains("statements 1-2 stay done"), "{e}");
                // The server's excerpt is the statement's, not the bookkeeping sent after it.
                assert!(
                    e.to_string().contains("near 'NO SUCH OPTION' at line")
                        && !e.to_string().contains("migrate_history"),
                    "{e}"
                );
            }
            other => panic!("{other:?}"),
        }
        let history = list.history(&db.pool).await.unwrap();
        assert_eq!(history[0].applied.as_ref().unwrap().statements_done, Some(2));
        let error = history[0].applied.as_ref().unwrap().error.clone().unwrap_or_default();
        assert!(
            error.contains("near 'NO SUCH OPTION' at line") && !error.contains("migrate_history"),
            "{error}"
        );
        // The file mended (its checksum changes), the retry runs statement 3 alone.
        let mended = folder(
            dir.path(),
            "parse",
            &[file("p1", "", "", &broken.replace(" NO SUCH OPTION", ""), None)],
        );
        let report = mended.migrator().resolve_retry(&db.pool, "p1").await.unwrap();
        assert_eq!(report.revisions(), ["p1"]);
        assert!(db::table_exists(&db.pool, "c").await);
    }
}

/// After a DDL statement MySQL is back in autocommit; the runtime begins a new
/// transaction, so the DML that follows commits with its count, or not at all.
pub mod mysql_dml_after_ddl {
    use super::{file, folder};
    use crate::support::mysql as db;
    use migrate::Error;

    #[tokio::test]
    async fn dml_after_ddl_is_rolled_back_with_its_count_and_runs_once_on_retry() {
        let Some(db) = db::fresh().await else { return };
        let dir = tempfile::tempdir().unwrap();
        let list = folder(
            dir.path(),
            "mixed",
            &[file(
                "m1",
                "",
                "",
                "CREATE TABLE e (id INT PRIMARY KEY);\nINSERT INTO e VALUES (1);\nINSERT INTO missing VALUES (1);\nCREATE TABLE f (id INT);",
                None,
            )],
        );
        match list.upgrade(&db.pool, "head").await {
            Err(Error::Migration {
                statement, completed, ..
            }) => assert_eq!((statement, completed), (Some(3), Some(1))),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            db::count(&db.pool, "e").await,
            0,
            "the INSERT after the DDL was rolled back, with its count"
        );
        db::exec(&db.pool, "CREATE TABLE missing (id INT)").await;
        list.migrator().resolve_retry(&db.pool, "m1").await.unwrap();
        assert_eq!(db::count(&db.pool, "e").await, 1, "and ran once on the retry");
        assert_eq!(db::count(&db.pool, "missing").await, 1);
        assert!(db::table_exists(&db.pool, "f").await);
    }
}

/// PostgreSQL builds indexes concurrently outside a transaction: a failed build
/// leaves an INVALID index, which a retry points out before tripping over it.
pub mod postgres_resume {
    use super::{file, folder};
    use crate::support::postgres as db;
    use migrate::Error;

    async fn valid(pool: &migrate::sqlx::PgPool, index: &str) -> Option<bool> {
        migrate::sqlx::query_scalar("SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass($1)")
            .bind(index)
            .fetch_optional(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn concurrent_index_builds_resume_after_the_invalid_index_is_dropped() {
        let Some(db) = db::fresh().await else { return };
        let dir = tempfile::tempdir().unwrap();
        let list = folder(
            dir.path(),
            "cic",
            &[
                file(
                    "p1",
                    "",
                    "",
                    "CREATE TABLE t (a INT, b INT, c INT);\nINSERT INTO t VALUES (1, 1, 1), (2, 1, 2);",
                    None,
                ),
                file(
                    "p2",
                    "p1",
                    "-- migrate:no-transaction",
                    "CREATE INDEX CONCURRENTLY t_a ON t (a);\nCREATE UNIQUE INDEX CONCURRENTLY t_b ON t (b);\nCREATE INDEX CONCURRENTLY t_c ON t (c);",
                    None,
                ),
            ],
        );
        match list.upgrade(&db.pool, "head").await {
            Err(Error::Migration {
                statement, completed, ..
            }) => assert_eq!((statement, completed), (Some(2), Some(1))),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            valid(&db.pool, "t_b").await,
            Some(false),
            "the failed build left an INVALID index"
        );
        let dirty = list.upgrade(&db.pool, "head").await.unwrap_err().to_string();
        assert!(
            dirty.contains("it left the INVALID index public.t_b: drop it with `DROP INDEX CONCURRENTLY public.t_b;`"),
            "{dirty}"
        );
        db::exec(&db.pool, "DELETE FROM t WHERE a = 2").await;
        match list.migrator().resolve_retry(&db.pool, "p2").await {
            Err(e @ Error::InvalidIndex { .. }) => {
                assert!(e.to_string().contains("DROP INDEX CONCURRENTLY public.t_b;"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        db::exec(&db.pool, "DROP INDEX CONCURRENTLY public.t_b").await;
        assert_eq!(
            list.migrator().resolve_retry(&db.pool, "p2").await.unwrap().revisions(),
            ["p2"]
        );
        for index in ["t_a", "t_b", "t_c"] {
            assert_eq!(valid(&db.pool, index).await, Some(true), "{index}");
        }
        assert!(list.upgrade(&db.pool, "head").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn on_a_single_connection_the_blocker_is_named_as_possibly_the_one() {
        let Some(db) = db::fresh().await else { return };
        let dir = tempfile::tempdir().unwrap();
        let list = folder(
            dir.path(),
            "one",
            &[
                file(
                    "o1",
                    "",
                    "",
                    "CREATE TABLE item (id INT PRIMARY KEY, name TEXT);\nINSERT INTO item VALUES (1, 'a');",
                    None,
                ),
                file(
                    "o2",
                    "o1",
                    "-- migrate:lock-timeout: 300ms",
                    "ALTER TABLE item ADD COLUMN note TEXT;",
                    None,
                ),
            ],
        );
        list.upgrade(&db.pool, "o1").await.unwrap();
        let mut blocker = db.pool.acquire().await.unwrap();
        let pid: i32 = migrate::sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *blocker)
            .await
            .unwrap();
        migrate::sqlx::raw_sql("BEGIN; UPDATE item SET name = 'held'")
            .execute(&mut *blocker)
            .await
            .unwrap();
        // A single connection: no pool to lend a second one while it waits.
        let mut conn = db.pool.acquire().await.unwrap();
        let e = list
            .migrator()
            .lock_attempts(1)
            .upgrade(&mut conn, "head")
            .await
            .unwrap_err();
        migrate::sqlx::raw_sql("ROLLBACK").execute(&mut *blocker).await.unwrap();
        match &e {
            Error::Blocked {
                blockers, attempts: 1, ..
            } => {
                assert_eq!(blockers.len(), 1, "{blockers:?}");
                assert!(
                    blockers[0].starts_with(&format!("possibly backend pid {pid} (idle in transaction")),
                    "{blockers:?}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("tried 1 time,"), "{e}");
        assert_eq!(list.upgrade(&mut conn, "head").await.unwrap().revisions(), ["o2"]);
    }

    #[tokio::test]
    async fn a_statement_timeout_in_the_header_cuts_a_long_migration_short() {
        let Some(db) = db::fresh().await else { return };
        let dir = tempfile::tempdir().unwrap();
        let list = folder(
            dir.path(),
            "slow",
            &[file(
                "s1",
                "",
                "-- migrate:statement-timeout: 200ms",
                "CREATE TABLE slow (id INT);\nSELECT pg_sleep(5);",
                None,
            )],
        );
        let started = std::time::Instant::now();
        let e = list.upgrade(&db.pool, "head").await.unwrap_err();
        assert!(
            e.to_string().contains("canceling statement due to statement timeout"),
            "{e}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(4),
            "cut short, not slept through"
        );
        assert!(!db::table_exists(&db.pool, "slow").await, "rolled back");
        // The setting was local to the migration's transaction.
        let timeout: String = migrate::sqlx::query_scalar("SHOW statement_timeout")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(timeout, "0");
    }

    #[tokio::test]
    async fn a_read_only_role_runs_current_history_and_wait() {
        let Some(db) = db::fresh().await else { return };
        let dir = tempfile::tempdir().unwrap();
        let (one, _) = super::releases(dir.path());
        let role = crate::support::unique_name("ro");
        db::exec(&db.pool, &format!("CREATE ROLE {role} LOGIN")).await;
        let options: migrate::sqlx::postgres::PgConnectOptions = db.url.parse().unwrap();
        let ro = migrate::sqlx::PgPool::connect_with(options.username(&role))
            .await
            .unwrap();
        // Before anything exists: nothing to read, nothing created.
        assert!(one.current(&ro).await.unwrap().is_empty());
        one.upgrade(&db.pool, "head").await.unwrap();
        db::exec(
            &db.pool,
            &format!("REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT SELECT ON migrate_history TO {role}"),
        )
        .await;
        assert_eq!(one.current(&ro).await.unwrap(), ["r1"]);
        assert_eq!(one.history(&ro).await.unwrap().len(), 1);
        one.wait_until_current(&ro, std::time::Duration::from_secs(5))
            .await
            .unwrap();
        one.verify(&ro).await.unwrap();
        // A changing call fails on the privilege, and says so.
        let e = one.stamp(&ro, "base").await.unwrap_err();
        assert!(e.to_string().contains("permission denied"), "{e}");
        ro.close().await;
        db::exec(
            &db.pool,
            &format!("REASSIGN OWNED BY {role} TO CURRENT_USER; DROP OWNED BY {role}; DROP ROLE {role}"),
        )
        .await;
    }
}

/// PostgreSQL runs a fresh database's revisions in one transaction; a value
/// an `ALTER TYPE … ADD VALUE` adds cannot be used before its transaction
/// commits, so a revision adding one ends that transaction, and the
/// revisions after it (which may use the value) run in a new one.
pub mod postgres_enum_values {
    use super::{file, folder};
    use crate::support::postgres as db;

    #[tokio::test]
    async fn a_fresh_run_commits_after_a_revision_that_adds_an_enum_value() {
        let Some(db) = db::fresh().await else { return };
        let dir = tempfile::tempdir().unwrap();
        let list = folder(
            dir.path(),
            "enum",
            &[
                file(
                    "e1",
                    "",
                    "",
                    "CREATE TYPE job_status AS ENUM ('queued', 'done');\nCREATE TABLE job (id INT PRIMARY KEY, status job_status NOT NULL);",
                    None,
                ),
                file(
                    "e2",
                    "e1",
                    "",
                    "ALTER TYPE job_status ADD VALUE 'scheduled' AFTER 'queued';",
                    None,
                ),
                file(
                    "e3",
                    "e2",
                    "",
                    "CREATE INDEX job_scheduled ON job (id) WHERE status = 'scheduled';",
                    None,
                ),
                file("e4", "e3", "", "INSERT INTO job VALUES (1, 'scheduled');", None),
            ],
        );
        let report = list.upgrade(&db.pool, "head").await.unwrap();
        assert_eq!(report.revisions(), ["e1", "e2", "e3", "e4"]);
        let status: String = migrate::sqlx::query_scalar("SELECT status::text FROM job WHERE id = 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(status, "scheduled");
        assert_eq!(list.current(&db.pool).await.unwrap(), ["e4"]);
        assert!(
            list.upgrade(&db.pool, "head").await.unwrap().is_empty(),
            "the digest was written"
        );
    }
}
