//! What users do with a database, written once and run on every database:
//! each `mod <database>` below expands the same [`scenarios!`] against its
//! own `support::<database>`.

mod autogenerate;
mod deploy;
mod fleets;
mod rebuild;
mod repeatables;
mod requests;
mod round_trips;
mod sets;
mod support;
mod variables;

use migrate::Migrations;

static LINEAR: Migrations = migrate::embed_migrations!("tests/fixtures/linear");
static MERGE: Migrations = migrate::embed_migrations!("tests/fixtures/merge");
static FAILING: Migrations = migrate::embed_migrations!("tests/fixtures/failing");
static IRREVERSIBLE: Migrations = migrate::embed_migrations!("tests/fixtures/irreversible");
/// A generated history with three bases (x, y, z), two merges joining them, and a tail.
static THREE_BASES: Migrations = migrate::embed_migrations!("tests/fixtures/three_bases");

/// LINEAR's revisions by name (`CREATE_ITEM`, `HEAD`, ...).
mod linear {
    migrate::revisions!("tests/fixtures/linear");
}

/// A copy of `base` with revision `revision`'s upgrade SQL replaced, as if
/// the file had been edited after it was applied.
fn edited(base: &Migrations, revision: &str, upgrade: &str) -> Migrations {
    let list = base
        .iter()
        .map(|m| {
            if m.revision() != revision {
                return m.clone();
            }
            migrate::Migration::new(migrate::MigrationParts {
                revision: m.revision().into(),
                down_revisions: m.down_revisions().map(String::from).collect(),
                message: m.message().into(),
                upgrade: upgrade.into(),
                downgrade: m.downgrade_sql().map(String::from),
                no_transaction: m.no_transaction(),
                directives: Default::default(),
                depends_on: Vec::new(),
                runs_after: Vec::new(),
                file: m.file().into(),
            })
        })
        .collect();
    Migrations::new(list).unwrap()
}

/// The first `n` revisions of `base`, as an older build would have them.
fn older(base: &Migrations, n: usize) -> Migrations {
    Migrations::new(base.iter().take(n).cloned().collect()).unwrap()
}

macro_rules! scenarios {
    ($no_transaction:literal, $pool:ty) => {
        use super::*;
        use crate::support;
        use migrate::{Direction, Error, PlanError, TargetError};

        static NO_TRANSACTION: Migrations = migrate::embed_migrations!($no_transaction);

        macro_rules! fresh {
            () => {
                match db::fresh().await {
                    Some(d) => d,
                    None => return,
                }
            };
        }

        #[tokio::test]
        async fn upgrade_head_applies_everything_once() {
            let db = fresh!();
            let report = LINEAR.upgrade(&db.pool, "head").await.unwrap();
            assert_eq!(report.revisions(), ["1000aa", "2000bb", "3000cc", "4000dd"]);
            assert!(report.steps.iter().all(|s| s.direction == Direction::Upgrade));
            assert_eq!(LINEAR.current(&db.pool).await.unwrap(), ["4000dd"]);
            assert_eq!(db::count(&db.pool, "account").await, 1);
            assert_eq!(db::history_rows(&db.pool, "migrate_history").await, 4);
            // Running again does nothing.
            assert!(LINEAR.upgrade(&db.pool, "head").await.unwrap().is_empty());
            assert_eq!(db::count(&db.pool, "account").await, 1);
        }

        #[tokio::test]
        async fn an_up_to_date_start_up_sends_one_statement() {
            let db = fresh!();
            let (_, first) = support::statements_sent(LINEAR.upgrade(&db.pool, "head")).await;
            assert!(first.len() > 4, "the first run takes the full path: {first:#?}");
            let (report, sent) = support::statements_sent(LINEAR.upgrade(&db.pool, "head")).await;
            assert!(report.unwrap().is_empty());
            assert_eq!(sent.len(), 1, "one statement, no lock: {sent:#?}");
            assert!(sent[0].starts_with("SELECT checksum FROM ") && sent[0].ends_with("WHERE revision = ''"), "{sent:?}");
            let (_, sent) = support::statements_sent(MERGE.upgrade(&db.pool, "head")).await;
            assert!(sent.len() > 1, "a database at another list's state takes the full path");
        }

        /// On a database `#[migrate::test]` made with LINEAR applied.
        #[migrate::test(migrations = LINEAR)]
        async fn the_start_up_check_still_catches_drift_and_new_revisions(pool: $pool) {
            let db = support::Borrowed { pool };
            let drifted = edited(&LINEAR, "2000bb", "INSERT INTO account (id, name) VALUES (1, 'changed');");
            assert!(matches!(drifted.upgrade(&db.pool, "head").await, Err(Error::History(_))));
            let shorter = older(&LINEAR, 3);
            assert!(matches!(shorter.upgrade(&db.pool, "head").await, Err(Error::History(_))), "unknown revisions are still refused");
            // A missing digest row (a table from before digests) is rebuilt from the rows.
            db::exec(&db.pool, "DELETE FROM migrate_history WHERE revision = ''").await;
            let (report, sent) = support::statements_sent(LINEAR.upgrade(&db.pool, "head")).await;
            assert!(report.unwrap().is_empty());
            assert!(sent.len() > 1);
            let (_, sent) = support::statements_sent(LINEAR.upgrade(&db.pool, "head")).await;
            assert_eq!(sent.len(), 1, "{sent:#?}");
            // After a downgrade and an upgrade, the digest is right again.
            LINEAR.downgrade(&db.pool, "-2").await.unwrap();
            assert_eq!(LINEAR.upgrade(&db.pool, "head").await.unwrap().steps.len(), 2);
            let (_, sent) = support::statements_sent(LINEAR.upgrade(&db.pool, "head")).await;
            assert_eq!(sent.len(), 1, "{sent:#?}");
        }

        #[tokio::test]
        async fn a_fresh_database_has_no_current_revision() {
            let db = fresh!();
            assert!(LINEAR.current(&db.pool).await.unwrap().is_empty());
            let history = LINEAR.history(&db.pool).await.unwrap();
            assert_eq!(history.len(), 4);
            assert!(history.iter().all(|e| e.applied.is_none() && e.known));
            assert!(!db::table_exists(&db.pool, "migrate_history").await, "reading creates nothing");
        }

        #[tokio::test]
        async fn upgrade_to_a_unique_prefix() {
            let db = fresh!();
            let report = LINEAR.upgrade(&db.pool, "20").await.unwrap();
            assert_eq!(report.revisions(), ["1000aa", "2000bb"]);
            assert_eq!(LINEAR.current(&db.pool).await.unwrap(), ["2000bb"]);
            assert!(!db::table_exists(&db.pool, "item").await);
        }

        #[tokio::test]
        async fn require_names_the_revision_and_what_the_database_has() {
            let db = fresh!();
            let e = LINEAR.require(&db.pool, linear::CREATE_ITEM).await.unwrap_err();
            assert!(matches!(&e, Error::NotApplied { revision, current } if revision == "3000cc" && current.is_empty()), "{e}");
            LINEAR.upgrade(&db.pool, linear::ADD_FIRST_ACCOUNT).await.unwrap();
            LINEAR.require(&db.pool, linear::CREATE_ACCOUNT).await.unwrap();
            LINEAR.require(&db.pool, linear::ADD_FIRST_ACCOUNT).await.unwrap();
            let e = LINEAR.require(&db.pool, linear::CREATE_ITEM).await.unwrap_err();
            assert_eq!(
                e.to_string(),
                "revision `3000cc` is required but not applied to this database (its applied heads are 2000bb): upgrade the database to `3000cc` or later first"
            );
            let e = LINEAR.require(&db.pool, "9999").await.unwrap_err();
            assert!(matches!(e, Error::Target(TargetError::UnknownRevision { .. })), "{e}");
            LINEAR.upgrade(&db.pool, linear::HEAD).await.unwrap();
            LINEAR.require(&db.pool, linear::HEAD).await.unwrap();
            assert_eq!(LINEAR.head(), Some(linear::HEAD));
        }

        #[tokio::test]
        async fn upgrade_one_step_at_a_time() {
            let db = fresh!();
            assert_eq!(LINEAR.upgrade(&db.pool, "+1").await.unwrap().revisions(), ["1000aa"]);
            assert_eq!(LINEAR.upgrade(&db.pool, "+2").await.unwrap().revisions(), ["2000bb", "3000cc"]);
            assert_eq!(LINEAR.current(&db.pool).await.unwrap(), ["3000cc"]);
            let e = LINEAR.upgrade(&db.pool, "+2").await.unwrap_err();
            assert!(matches!(e, Error::Plan(PlanError::NotEnough { requested: 2, available: 1, .. })), "{e}");
        }

        #[migrate::test(migrations = LINEAR)]
        async fn downgrade_one_step(pool: $pool) {
            let db = support::Borrowed { pool };
            let report = LINEAR.downgrade(&db.pool, "-1").await.unwrap();
            assert_eq!(report.revisions(), ["4000dd"]);
            assert_eq!(report.steps[0].direction, Direction::Downgrade);
            assert_eq!(LINEAR.current(&db.pool).await.unwrap(), ["3000cc"]);
            assert_eq!(db::history_rows(&db.pool, "migrate_history").await, 3);
        }

        #[migrate::test(migrations = LINEAR)]
        async fn downgrade_to_base_unapplies_everything_newest_first(pool: $pool) {
            let db = support::Borrowed { pool };
            let report = LINEAR.downgrade(&db.pool, "base").await.unwrap();
            assert_eq!(report.revisions(), ["4000dd", "3000cc", "2000bb", "1000aa"]);
            assert!(LINEAR.current(&db.pool).await.unwrap().is_empty());
            assert!(!db::table_exists(&db.pool, "account").await);
            assert!(!db::table_exists(&db.pool, "item").await);
            assert_eq!(db::history_rows(&db.pool, "migrate_history").await, 0);
            // And back up again.
            assert_eq!(LINEAR.upgrade(&db.pool, "head").await.unwrap().steps.len(), 4);
        }

        #[tokio::test]
        async fn merge_graph_applies_in_documented_order() {
            let db = fresh!();
            let report = MERGE.upgrade(&db.pool, "head").await.unwrap();
            // Alembic's order: the merge lists b20001 first, so its line is applied last.
            assert_eq!(report.revisions(), ["a00001", "c10001", "b10001", "b20001", "d00001", "e00001"]);
            assert_eq!(MERGE.current(&db.pool).await.unwrap(), ["e00001"]);
            // Downgrading to one parent of the merge leaves the other branch applied.
            let report = MERGE.downgrade(&db.pool, "b20001").await.unwrap();
            assert_eq!(report.revisions(), ["e00001", "d00001"]);
            assert_eq!(MERGE.current(&db.pool).await.unwrap(), ["c10001", "b20001"]);
            assert!(db::table_exists(&db.pool, "t_c1").await);
            assert!(!db::table_exists(&db.pool, "t_e").await);
            // `+1` from two heads applies the merge.
            assert_eq!(MERGE.upgrade(&db.pool, "+1").await.unwrap().revisions(), ["d00001"]);
        }

        #[tokio::test]
        async fn upgrading_one_branch_leaves_the_other_pending() {
            let db = fresh!();
            assert_eq!(MERGE.upgrade(&db.pool, "c1").await.unwrap().revisions(), ["a00001", "c10001"]);
            assert_eq!(MERGE.current(&db.pool).await.unwrap(), ["c10001"]);
            assert_eq!(MERGE.upgrade(&db.pool, "head").await.unwrap().revisions(), ["b10001", "b20001", "d00001", "e00001"]);
        }

        #[tokio::test]
        async fn checksum_drift_is_refused_and_changes_nothing() {
            let db = fresh!();
            LINEAR.upgrade(&db.pool, "3000cc").await.unwrap();
            let drifted = edited(&LINEAR, "2000bb", "INSERT INTO account (id, name) VALUES (1, 'changed');");
            let e = drifted.upgrade(&db.pool, "head").await.unwrap_err();
            let Error::History(problems) = &e else { panic!("expected a history error, got {e}") };
            assert_eq!(problems.len(), 1);
            let text = e.to_string();
            assert!(text.contains("revision `2000bb` (tests/fixtures/linear/2000bb_add_first_account.sql) was applied with checksum sha256:"), "{text}");
            assert!(text.contains("nothing was changed"), "{text}");
            assert_eq!(LINEAR.current(&db.pool).await.unwrap(), ["3000cc"], "4000dd must not have run");
            // Editing only the downgrade is not drift.
            assert!(LINEAR.verify(&db.pool).await.is_ok());
        }

        #[tokio::test]
        async fn unknown_applied_revision_is_refused_unless_allowed() {
            let db = fresh!();
            LINEAR.upgrade(&db.pool, "head").await.unwrap();
            let old = older(&LINEAR, 2);
            let e = old.upgrade(&db.pool, "head").await.unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, Error::History(_)), "{text}");
            assert!(text.contains("revision `3000cc` is applied in the database but unknown to this build"), "{text}");
            assert!(text.contains("revision `4000dd`"), "{text}");
            let report = old.migrator().ignore_unknown_revisions().upgrade(&db.pool, "head").await.unwrap();
            assert!(report.is_empty());
            assert_eq!(db::history_rows(&db.pool, "migrate_history").await, 4);
            // `history` lists the revisions only the database knows.
            let history = old.history(&db.pool).await.unwrap();
            assert_eq!(history.iter().filter(|e| !e.known).count(), 2);
        }

        #[tokio::test]
        async fn an_applied_set_missing_an_ancestor_is_refused() {
            let db = fresh!();
            LINEAR.upgrade(&db.pool, "3000cc").await.unwrap();
            db::exec(&db.pool, "DELETE FROM migrate_history WHERE revision = '2000bb'").await;
            let e = LINEAR.upgrade(&db.pool, "head").await.unwrap_err();
            assert!(e.to_string().contains("revision `3000cc` is applied but its ancestor `2000bb` is not"), "{e}");
        }

        #[tokio::test]
        async fn a_failing_migration_is_rolled_back_and_named() {
            let db = fresh!();
            let e = FAILING.upgrade(&db.pool, "head").await.unwrap_err();
            let text = e.to_string();
            match &e {
                Error::Migration { revision, file, direction, applied, rolled_back, .. } => {
                    assert_eq!(revision, "f00002");
                    assert_eq!(file, "tests/fixtures/failing/f00002_fails_at_its_third_statement.sql");
                    assert_eq!(*direction, Direction::Upgrade);
                    assert_eq!(applied, &["f00001"]);
                    assert_eq!(*rolled_back, db::TRANSACTIONAL_DDL);
                }
                other => panic!("expected a migration error, got {other}"),
            }
            assert!(text.contains("no_such_table"), "the database's message is kept: {text}");
            assert!(std::error::Error::source(&e).is_some());
            // The migration before it stays applied.
            assert!(db::table_exists(&db.pool, "t_ok").await);
            if db::TRANSACTIONAL_DDL {
                assert_eq!(FAILING.current(&db.pool).await.unwrap(), ["f00001"]);
                assert!(!db::table_exists(&db.pool, "t_partial").await, "the failed migration's changes are gone");
                assert_eq!(db::history_rows(&db.pool, "migrate_history").await, 1, "and it is not recorded");
            } else {
                // DDL committed part-way: the row says so, and every later run refuses.
                assert!(text.contains("could not be rolled back"), "{text}");
                assert!(db::table_exists(&db.pool, "t_partial").await, "the first statement's DDL was committed");
                let history = FAILING.history(&db.pool).await.unwrap();
                let row = history[1].applied.as_ref().expect("the failed revision has a row");
                assert_eq!(row.state, "upgrade_failed");
                assert!(row.error.as_deref().unwrap().contains("no_such_table"));
                let again = FAILING.upgrade(&db.pool, "head").await.unwrap_err();
                assert!(matches!(&again, Error::Dirty { revision, state, .. } if revision == "f00002" && state == "upgrade_failed"), "{again}");
                assert!(again.to_string().contains("resolve"), "{again}");
                // A human undoes the partial change, then resolves it as not applied.
                db::exec(&db.pool, "DROP TABLE t_partial").await;
                FAILING.migrator().resolve(&db.pool, "f00002", migrate::Resolution::NotApplied).await.unwrap();
                assert_eq!(FAILING.current(&db.pool).await.unwrap(), ["f00001"]);
                assert!(FAILING.verify(&db.pool).await.is_ok());
            }
        }

        #[tokio::test]
        async fn a_no_transaction_migration_runs_outside_a_transaction() {
            let db = fresh!();
            let report = NO_TRANSACTION.upgrade(&db.pool, "head").await.unwrap();
            assert_eq!(report.revisions(), ["n00001", "n00002"]);
            assert!(NO_TRANSACTION.get("n00002").unwrap().no_transaction());
            let history = NO_TRANSACTION.history(&db.pool).await.unwrap();
            assert!(history.iter().all(|e| e.applied.as_ref().is_some_and(|a| a.state == "applied")));
            assert_eq!(NO_TRANSACTION.downgrade(&db.pool, "base").await.unwrap().steps.len(), 2);
            assert!(!db::table_exists(&db.pool, "t_n").await);
        }

        #[tokio::test]
        async fn a_no_transaction_migration_that_fails_names_its_statement_and_blocks() {
            let db = fresh!();
            let list = vec![migrate::Migration::new(migrate::MigrationParts {
                revision: "nt0001".into(),
                message: "two statements outside a transaction".into(),
                upgrade: "CREATE TABLE t_nt (id INTEGER);\n-- a comment; with a semicolon\nINSERT INTO no_such_table (id) VALUES (1);".into(),
                downgrade: Some("DROP TABLE t_nt;".into()),
                no_transaction: true,
                directives: Default::default(),
                depends_on: Vec::new(),
                runs_after: Vec::new(),
                file: "migrations/nt0001_x.sql".into(),
                ..Default::default()
            })];
            let migrations = Migrations::new(list).unwrap();
            let e = migrations.upgrade(&db.pool, "head").await.unwrap_err();
            assert!(matches!(&e, Error::Migration { statement: Some(2), rolled_back: false, .. }), "{e}");
            assert!(e.to_string().contains("failed at statement 2"), "{e}");
            assert!(db::table_exists(&db.pool, "t_nt").await, "statement 1 ran and stays");
            let again = migrations.upgrade(&db.pool, "head").await.unwrap_err();
            assert!(matches!(&again, Error::Dirty { state, .. } if state == "upgrade_failed"), "{again}");
            assert!(again.to_string().contains("statement 2"), "the recorded error names the statement: {again}");
            // Finished by hand, then resolved as applied.
            migrations.migrator().resolve(&db.pool, "nt0001", migrate::Resolution::Applied).await.unwrap();
            assert_eq!(migrations.current(&db.pool).await.unwrap(), ["nt0001"]);
            assert!(migrations.upgrade(&db.pool, "head").await.unwrap().is_empty());
        }

        #[tokio::test]
        async fn an_irreversible_migration_refuses_to_downgrade() {
            let db = fresh!();
            IRREVERSIBLE.upgrade(&db.pool, "head").await.unwrap();
            let e = IRREVERSIBLE.downgrade(&db.pool, "base").await.unwrap_err();
            assert!(matches!(&e, Error::Plan(PlanError::Irreversible { revision, .. }) if revision == "i00002"), "{e}");
            assert!(e.to_string().contains("tests/fixtures/irreversible/i00002_irreversible.sql"), "{e}");
            // Nothing was changed, not even the reversible revision above it.
            assert_eq!(IRREVERSIBLE.current(&db.pool).await.unwrap(), ["i00003"]);
            assert!(db::table_exists(&db.pool, "t_i3").await);
            // Down to it is fine.
            assert_eq!(IRREVERSIBLE.downgrade(&db.pool, "-1").await.unwrap().revisions(), ["i00003"]);
        }

        #[tokio::test]
        async fn stamp_records_without_running() {
            let db = fresh!();
            let report = LINEAR.stamp(&db.pool, "3000cc").await.unwrap();
            assert_eq!(report.revisions(), ["1000aa", "2000bb", "3000cc"]);
            assert_eq!(LINEAR.current(&db.pool).await.unwrap(), ["3000cc"]);
            assert!(!db::table_exists(&db.pool, "account").await, "stamp runs no migration SQL");
            LINEAR.stamp(&db.pool, "base").await.unwrap();
            assert!(LINEAR.current(&db.pool).await.unwrap().is_empty());
        }

        #[tokio::test]
        async fn bad_targets_are_clear_errors() {
            let db = fresh!();
            let e = LINEAR.upgrade(&db.pool, "nope").await.unwrap_err();
            assert!(matches!(e, Error::Target(TargetError::UnknownRevision { .. })), "{e}");
            let e = MERGE.upgrade(&db.pool, "b").await.unwrap_err();
            assert_eq!(e.to_string(), "`b` is ambiguous: it starts b10001, b20001; give more characters");
            let e = LINEAR.upgrade(&db.pool, "up!").await.unwrap_err();
            assert!(matches!(e, Error::Target(TargetError::Invalid { .. })), "{e}");
            let e = LINEAR.downgrade(&db.pool, "+1").await.unwrap_err();
            assert!(matches!(e, Error::Plan(PlanError::WrongDirection { .. })), "{e}");
            assert!(!db::table_exists(&db.pool, "account").await);
        }

        #[tokio::test]
        async fn a_custom_history_table() {
            let db = fresh!();
            LINEAR.migrator().history_table("schema_log").upgrade(&db.pool, "head").await.unwrap();
            assert_eq!(db::history_rows(&db.pool, "schema_log").await, 4);
            assert!(!db::table_exists(&db.pool, "migrate_history").await);
            assert_eq!(LINEAR.migrator().history_table("schema_log").current(&db.pool).await.unwrap(), ["4000dd"]);
            let e = LINEAR.migrator().history_table("bad name;").upgrade(&db.pool, "head").await.unwrap_err();
            assert!(matches!(e, Error::InvalidName(_)), "{e}");
        }

        #[tokio::test]
        async fn a_half_done_revision_blocks_until_resolved() {
            let db = fresh!();
            LINEAR.upgrade(&db.pool, "2000bb").await.unwrap();
            db::exec(&db.pool, "UPDATE migrate_history SET state = 'upgrade_failed', error = 'boom' WHERE revision = '2000bb'").await;
            let e = LINEAR.upgrade(&db.pool, "head").await.unwrap_err();
            assert!(matches!(&e, Error::Dirty { revision, .. } if revision == "2000bb"), "{e}");
            assert!(e.to_string().contains("(boom)"), "{e}");
            assert!(LINEAR.verify(&db.pool).await.is_err());
            LINEAR.migrator().resolve(&db.pool, "2000bb", migrate::Resolution::Applied).await.unwrap();
            assert_eq!(LINEAR.upgrade(&db.pool, "head").await.unwrap().revisions(), ["3000cc", "4000dd"]);
            let e = LINEAR.migrator().resolve(&db.pool, "zzz", migrate::Resolution::NotApplied).await.unwrap_err();
            assert!(matches!(e, Error::NotInHistory(_)), "{e}");
        }

        #[tokio::test]
        async fn three_bases_joined_by_merges_go_down_to_base_and_back() {
            let db = fresh!();
            let up = THREE_BASES.upgrade(&db.pool, "head").await.unwrap();
            assert_eq!(up.steps.len(), 32);
            let schema = db::tables(&db.pool).await;
            assert_eq!(schema.len(), 30 + 1, "a table per revision but the merges, and the history: {schema:?}");
            assert_eq!(THREE_BASES.current(&db.pool).await.unwrap(), ["w006"]);
            // Down to one base: the lines of the other two stay applied.
            let down = THREE_BASES.downgrade(&db.pool, "y001").await.unwrap();
            assert_eq!(down.revisions()[..2], ["w006", "w005"]);
            assert!(down.revisions().contains(&"m001") && down.revisions().contains(&"y002"));
            assert!(!down.revisions().contains(&"y001") && !down.revisions().contains(&"x008"));
            assert_eq!(THREE_BASES.current(&db.pool).await.unwrap(), ["y001", "z008", "x008"]);
            // Base is before every root.
            let all = THREE_BASES.downgrade(&db.pool, "base").await.unwrap();
            assert_eq!(all.steps.len() + down.steps.len(), 32);
            assert_eq!(db::tables(&db.pool).await, ["migrate_history"]);
            assert!(THREE_BASES.current(&db.pool).await.unwrap().is_empty());
            // And back up: the same schema, the same order.
            let again = THREE_BASES.upgrade(&db.pool, "head").await.unwrap();
            assert_eq!(again.revisions(), up.revisions());
            assert_eq!(db::tables(&db.pool).await, schema);
            assert_eq!(db::count(&db.pool, "t_z008").await, 1);
            assert!(THREE_BASES.upgrade(&db.pool, "head").await.unwrap().is_empty());
        }

        #[tokio::test]
        async fn a_held_lock_is_reported_at_once_with_its_holder() {
            let db = fresh!();
            // Another session takes the migration lock the way a migrator does, and keeps it.
            let take = match db::NAME {
                "sqlite" => "BEGIN IMMEDIATE",
                "postgres" => "SELECT pg_advisory_lock(hashtextextended('migrate:' || current_database() || ':public.migrate_history', 0))",
                _ => "SELECT GET_LOCK(CONCAT('migrate:', SHA1(CONCAT(COALESCE(DATABASE(), ''), ':', '.migrate_history'))), 0)",
            };
            let mut holder = db.pool.acquire().await.unwrap();
            migrate::sqlx::raw_sql(take).execute(&mut *holder).await.unwrap();
            let seen: std::sync::Arc<std::sync::Mutex<Vec<Option<String>>>> = Default::default();
            let record = seen.clone();
            let e = LINEAR
                .migrator()
                .lock_timeout(std::time::Duration::from_millis(500))
                .on_lock_wait(move |who| record.lock().unwrap().push(who.map(str::to_owned)))
                .upgrade(&db.pool, "head")
                .await
                .unwrap_err();
            assert!(matches!(e, Error::LockTimeout { .. }), "{e}");
            let seen = seen.lock().unwrap().clone();
            assert_eq!(seen.len(), 1, "told once: {seen:?}");
            match db::NAME {
                "sqlite" => assert_eq!(seen[0], None, "SQLite cannot tell who"),
                "postgres" => assert!(seen[0].as_deref().is_some_and(|w| w.starts_with("backend pid ")), "{seen:?}"),
                _ => assert!(seen[0].as_deref().is_some_and(|w| w.starts_with("connection ")), "{seen:?}"),
            }
            drop(holder);
        }

        #[tokio::test]
        async fn stamp_purge_records_reality_where_stamp_refuses() {
            let db = fresh!();
            LINEAR.upgrade(&db.pool, "head").await.unwrap();
            // The second migration was edited after it ran, and its new form is what the database holds.
            let drifted = edited(&LINEAR, "2000bb", "INSERT INTO account (id, name) VALUES (1, 'changed');");
            let e = drifted.stamp(&db.pool, "head").await.unwrap_err();
            assert!(matches!(e, Error::History(_)), "{e}");
            assert!(e.to_string().contains("stamp --purge"), "the advice names the way out: {e}");
            // A target that does not resolve is refused before anything is erased.
            for bad in ["zzzz", "9000zz+1", "-9"] {
                assert!(drifted.migrator().stamp_purge(&db.pool, bad).await.is_err(), "{bad}");
                assert_eq!(db::history_rows(&db.pool, "migrate_history").await, 4, "{bad} erased the history");
            }
            let report = drifted.migrator().stamp_purge(&db.pool, "head").await.unwrap();
            assert_eq!(report.revisions(), ["1000aa", "2000bb", "3000cc", "4000dd"]);
            assert_eq!(db::count(&db.pool, "account").await, 1, "no migration SQL ran");
            assert!(drifted.upgrade(&db.pool, "head").await.unwrap().is_empty());
            drifted.verify(&db.pool).await.unwrap();
            // A half-done row and a row no build knows are erased too; stamping base leaves nothing.
            db::exec(&db.pool, "UPDATE migrate_history SET state = 'upgrade_failed' WHERE revision = '3000cc'").await;
            drifted.migrator().stamp_purge(&db.pool, "2000bb").await.unwrap();
            assert_eq!(drifted.current(&db.pool).await.unwrap(), ["2000bb"]);
            drifted.migrator().stamp_purge(&db.pool, "base").await.unwrap();
            assert_eq!(db::history_rows(&db.pool, "migrate_history").await, 0);
        }

        #[tokio::test]
        async fn resolve_leaves_finished_revisions_alone() {
            let db = fresh!();
            LINEAR.upgrade(&db.pool, "head").await.unwrap();
            for resolution in [migrate::Resolution::NotApplied, migrate::Resolution::Applied] {
                let e = LINEAR.migrator().resolve(&db.pool, "2000bb", resolution).await.unwrap_err();
                assert!(matches!(&e, Error::Finished { revision } if revision == "2000bb"), "{e}");
                assert!(e.to_string().contains("downgrade"), "{e}");
            }
            assert_eq!(db::history_rows(&db.pool, "migrate_history").await, 4, "nothing was deleted");
            assert!(LINEAR.upgrade(&db.pool, "head").await.unwrap().is_empty());
            // A finished row this build does not know (a newer build's) can be dropped, by its id.
            let older = older(&LINEAR, 3);
            older.migrator().resolve(&db.pool, "4000dd", migrate::Resolution::NotApplied).await.unwrap();
            assert_eq!(older.current(&db.pool).await.unwrap(), ["3000cc"]);
            older.verify(&db.pool).await.unwrap();
        }

        #[tokio::test]
        async fn a_row_in_a_state_this_build_does_not_know_is_resolved_or_purged() {
            let db = fresh!();
            LINEAR.upgrade(&db.pool, "head").await.unwrap();
            let weird = "UPDATE migrate_history SET state = 'reverting' WHERE revision = '4000dd'";
            db::exec(&db.pool, weird).await;
            let e = LINEAR.current(&db.pool).await.unwrap_err();
            assert!(matches!(&e, Error::UnknownState { revision, .. } if revision == "4000dd"), "{e}");
            // `resolve`, one of the ways out the error names, records how it stands.
            LINEAR.migrator().resolve(&db.pool, "4000dd", migrate::Resolution::Applied).await.unwrap();
            assert_eq!(LINEAR.current(&db.pool).await.unwrap(), ["4000dd"]);
            LINEAR.verify(&db.pool).await.unwrap();
            assert!(LINEAR.upgrade(&db.pool, "head").await.unwrap().is_empty());
            db::exec(&db.pool, weird).await;
            LINEAR.migrator().resolve(&db.pool, "4000dd", migrate::Resolution::NotApplied).await.unwrap();
            assert_eq!(LINEAR.current(&db.pool).await.unwrap(), ["3000cc"]);
            // Its changes are still there (it was recorded as not applied by choice): stamp it back.
            assert_eq!(LINEAR.stamp(&db.pool, "head").await.unwrap().revisions(), ["4000dd"]);
            // `stamp --purge`, the other, erases it with the rest and records the target.
            db::exec(&db.pool, weird).await;
            let e = LINEAR.migrator().resolve(&db.pool, "3000cc", migrate::Resolution::Applied).await.unwrap_err();
            assert!(matches!(&e, Error::UnknownState { revision, .. } if revision == "4000dd"), "another row's resolve still refuses: {e}");
            LINEAR.migrator().stamp_purge(&db.pool, "head").await.unwrap();
            assert_eq!(LINEAR.current(&db.pool).await.unwrap(), ["4000dd"]);
            assert_eq!(db::history_rows(&db.pool, "migrate_history").await, 4);
            LINEAR.verify(&db.pool).await.unwrap();
            assert_eq!(db::count(&db.pool, "account").await, 1, "the schema was not touched");
        }

        #[tokio::test]
        async fn huge_durations_wait_or_are_refused_by_name_instead_of_panicking() {
            let db = fresh!();
            let report = LINEAR
                .migrator()
                .lock_timeout(std::time::Duration::MAX)
                .upgrade(&db.pool, "2000bb")
                .await
                .unwrap();
            assert_eq!(report.revisions(), ["1000aa", "2000bb"]);
            let e = LINEAR
                .migrator()
                .lock_mode(migrate::LockMode::Lease)
                .lease_ttl(std::time::Duration::from_secs(5_000_000_000_000 * 3600))
                .upgrade(&db.pool, "head")
                .await
                .unwrap_err();
            assert!(matches!(&e, Error::OutOfRange { setting: "lease_ttl", .. }), "{e}");
            assert!(e.to_string().contains("lease_ttl"), "{e}");
            assert_eq!(LINEAR.current(&db.pool).await.unwrap(), ["2000bb"], "nothing was changed");
        }

        #[tokio::test]
        async fn history_lists_every_revision_with_its_row() {
            let db = fresh!();
            LINEAR.upgrade(&db.pool, "2000bb").await.unwrap();
            let history = LINEAR.history(&db.pool).await.unwrap();
            let ids: Vec<_> = history.iter().map(|e| e.revision.as_str()).collect();
            assert_eq!(ids, ["1000aa", "2000bb", "3000cc", "4000dd"]);
            let applied = history[1].applied.as_ref().unwrap();
            assert_eq!(applied.state, "applied");
            assert_eq!(applied.checksum, LINEAR.get("2000bb").unwrap().checksum().to_string());
            assert_eq!(applied.applied_at.len(), "2026-11-22T01:42:51Z".len());
            assert!(history[2].applied.is_none());
            assert_eq!(history[1].down_revisions, ["1000aa"]);
        }
    };
}

mod sqlite {
    use super::support::sqlite as db;
    scenarios!("tests/fixtures/no_transaction/sqlite", migrate::sqlx::SqlitePool);

    /// Consecutive migrations run together straight on SQLite's handle, each
    /// in a savepoint with its history row and timed as it ran; a failure
    /// among them is rolled back to its savepoint, those before it are kept
    /// (not run again), and the failing one runs the usual way, which names it.
    mod batches {
        use super::*;

        fn batched(sent: &[String]) -> usize {
            sent.iter()
                .filter(|s| s.starts_with("SAVEPOINT migrate_batched"))
                .count()
        }

        #[tokio::test]
        async fn consecutive_migrations_run_together_and_are_timed_each() {
            let Some(db) = db::fresh().await else { return };
            let (report, sent) = support::statements_sent(LINEAR.upgrade(&db.pool, "head")).await;
            let report = report.unwrap();
            assert_eq!(report.steps.len(), 4);
            let single = sent.iter().filter(|s| s.starts_with("SAVEPOINT migrate_step")).count();
            assert_eq!((batched(&sent), single), (4, 0), "{sent:#?}");
            let ms: Vec<i64> = migrate::sqlx::query_scalar(
                "SELECT execution_ms FROM migrate_history WHERE revision <> '' ORDER BY revision",
            )
            .fetch_all(&db.pool)
            .await
            .unwrap();
            assert_eq!(ms.len(), 4);
            assert!(ms.iter().all(|&m| (0..60_000).contains(&m)), "{ms:?}");
            // Each row says what the report says.
            let reported: Vec<i64> = report.steps.iter().map(|s| s.duration.as_millis() as i64).collect();
            assert_eq!(ms, reported);
            LINEAR.verify(&db.pool).await.unwrap();
            // And back down, also together.
            let (report, sent) = support::statements_sent(LINEAR.downgrade(&db.pool, "base")).await;
            assert_eq!(report.unwrap().steps.len(), 4);
            assert_eq!(batched(&sent), 4, "{sent:#?}");
            let left: i64 = migrate::sqlx::query_scalar("SELECT count(*) FROM migrate_history WHERE revision <> ''")
                .fetch_one(&db.pool)
                .await
                .unwrap();
            assert_eq!(left, 0);
        }

        /// `n` steps of a chain `t1`, `t2`, …, each with its SQL (and
        /// `-- migrate:no-transaction` where `outside`).
        fn chain(steps: &[(&str, bool)]) -> Migrations {
            let list = steps
                .iter()
                .enumerate()
                .map(|(i, (sql, outside))| {
                    migrate::Migration::new(migrate::MigrationParts {
                        revision: format!("t{}", i + 1),
                        down_revisions: (i > 0).then(|| format!("t{i}")).into_iter().collect(),
                        message: format!("step {}", i + 1),
                        upgrade: (*sql).to_owned(),
                        no_transaction: *outside,
                        file: format!("migrations/t{}_step.sql", i + 1),
                        ..Default::default()
                    })
                })
                .collect();
            Migrations::new(list).unwrap()
        }

        const GUARDED: &str = "CREATE TABLE t (v INT);\nCREATE TRIGGER no_negatives BEFORE INSERT ON t WHEN NEW.v < 0 BEGIN SELECT RAISE(ROLLBACK, 'negative'); END;";

        /// A trigger's `RAISE(ROLLBACK, …)` (or an `OR ROLLBACK` clause) ends
        /// SQLite's whole transaction, the run's: the failure is named with
        /// its own message, what the run reports kept is what the history
        /// still holds (what it committed before, around a no-transaction
        /// step), nothing runs on outside the transaction, and the lock goes
        /// with the transaction, in a batch as in a step run alone.
        #[tokio::test]
        async fn a_failure_that_ends_the_run_s_transaction_keeps_only_what_was_committed() {
            let Some(db) = db::fresh().await else { return };
            let rows = |pool| async move {
                let n: i64 = migrate::sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = 't'")
                    .fetch_one(pool)
                    .await
                    .unwrap();
                n
            };
            // In a batch: the table, a row, a row the trigger refuses.
            let list = chain(&[
                (GUARDED, false),
                ("INSERT INTO t VALUES (1);", false),
                ("INSERT INTO t VALUES (2);\nINSERT INTO t VALUES (-1);", false),
            ]);
            match list.upgrade(&db.pool, "head").await.unwrap_err() {
                Error::RunRolledBack {
                    revision,
                    applied,
                    source,
                    ..
                } => {
                    assert_eq!(revision, "t3");
                    assert!(applied.is_empty(), "{applied:?}");
                    assert!(source.to_string().contains("negative"), "{source}");
                }
                other => panic!("{other}"),
            }
            assert_eq!(rows(&db.pool).await, 0, "t1 went with the transaction");
            assert!(list.current(&db.pool).await.unwrap().is_empty());
            // Committed before it by a no-transaction step: kept, and said so.
            let list = chain(&[
                (GUARDED, false),
                ("INSERT INTO t VALUES (1);", true),
                ("INSERT INTO t VALUES (2);", false),
                ("INSERT OR ROLLBACK INTO t VALUES (-1);", false),
            ]);
            match list.upgrade(&db.pool, "head").await.unwrap_err() {
                Error::RunRolledBack { revision, applied, .. } => {
                    assert_eq!(
                        (revision.as_str(), applied),
                        ("t4", vec!["t1".to_owned(), "t2".to_owned()])
                    );
                }
                other => panic!("{other}"),
            }
            assert_eq!(list.current(&db.pool).await.unwrap(), ["t2"]);
            // Alone (one step, no batch): the same, and the pool's connection is fine after.
            let e = list.upgrade(&db.pool, "t3").await.unwrap();
            assert_eq!(e.revisions(), ["t3"]);
            match list.upgrade(&db.pool, "head").await.unwrap_err() {
                Error::RunRolledBack { revision, applied, .. } => {
                    assert_eq!((revision.as_str(), applied.len()), ("t4", 0))
                }
                other => panic!("{other}"),
            }
            assert_eq!(list.current(&db.pool).await.unwrap(), ["t3"]);
            list.verify(&db.pool).await.unwrap();
        }

        #[tokio::test]
        async fn a_failure_in_a_batch_is_named_and_what_came_before_is_kept() {
            let Some(db) = db::fresh().await else { return };
            let (result, sent) = support::statements_sent(FAILING.upgrade(&db.pool, "head")).await;
            let failed_at = match result.unwrap_err() {
                Error::Migration {
                    revision,
                    applied,
                    rolled_back: true,
                    ..
                } => {
                    let at = FAILING.iter().position(|m| m.revision() == revision).unwrap();
                    assert_eq!(applied.len(), at);
                    at
                }
                other => panic!("{other}"),
            };
            assert!(failed_at > 0, "the fixture fails after a first migration");
            // The steps before it ran once, in the batch; the failing one was rolled
            // back to its savepoint there and ran again the usual way.
            assert_eq!(batched(&sent), failed_at + 1, "{sent:#?}");
            assert!(
                sent.iter().any(|s| s.starts_with("ROLLBACK TO migrate_batched")),
                "{sent:#?}"
            );
            assert!(
                sent.iter().any(|s| s.starts_with("SAVEPOINT migrate_step")),
                "{sent:#?}"
            );
            let kept: i64 = migrate::sqlx::query_scalar(
                "SELECT count(*) FROM migrate_history WHERE revision <> '' AND state = 'applied'",
            )
            .fetch_one(&db.pool)
            .await
            .unwrap();
            assert_eq!(kept, failed_at as i64);
            FAILING.verify(&db.pool).await.unwrap();
        }

        /// Two migrations that go in one batch, the second endless (counting to
        /// 10^12 takes hours unless interrupted), in a folder kept alive with them.
        fn endless_history() -> (tempfile::TempDir, Migrations) {
            let dir = tempfile::tempdir().unwrap();
            let file = |name: &str, id: &str, parent: &str, sql: &str| {
                let text = format!(
                    "-- {name}\n--\n-- revision: {id}\n-- down_revision: {parent}\n\n-- migrate:upgrade\n{sql}\n"
                );
                std::fs::write(dir.path().join(format!("{id}_{name}.sql")), text).unwrap();
            };
            file("first", "a00001", "", "CREATE TABLE t_first (id INTEGER);");
            file(
                "endless",
                "a00002",
                "a00001",
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000000) SELECT count(*) FROM c;",
            );
            let slow = migrate::load(dir.path()).unwrap();
            (dir, slow)
        }

        /// Should a dropped run not be interrupted, dropping it waits for the
        /// endless statement: the test fails after 120 s (the process exits)
        /// rather than hang the suite. Store `true` once past the drop.
        fn watchdog(test: &'static str) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
            let over = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let watched = std::sync::Arc::clone(&over);
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_secs(120));
                if !watched.load(std::sync::atomic::Ordering::SeqCst) {
                    eprintln!("{test}: the dropped run still waits for its statement after 120 s");
                    std::process::exit(101);
                }
            });
            over
        }

        async fn nothing_of_the_run_is_kept(pool: &migrate::sqlx::SqlitePool) {
            let kept: i64 = migrate::sqlx::query_scalar(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('t_first', 'migrate_history')",
            )
            .fetch_one(pool)
            .await
            .unwrap();
            assert_eq!(kept, 0, "the run's transaction was rolled back");
            LINEAR.upgrade(pool, "head").await.unwrap();
            LINEAR.verify(pool).await.unwrap();
        }

        /// A caller that gives up on a run (a timeout, Ctrl-C) while a batch is
        /// running: the running statement is interrupted rather than waited for,
        /// nothing of the run is kept, and the database takes the next run.
        #[tokio::test]
        async fn a_run_dropped_during_a_batch_interrupts_it_and_keeps_nothing() {
            let Some(db) = db::fresh().await else { return };
            let (_dir, slow) = endless_history();
            let over = watchdog("a_run_dropped_during_a_batch_interrupts_it_and_keeps_nothing");
            let cut = tokio::time::timeout(std::time::Duration::from_millis(300), slow.upgrade(&db.pool, "head")).await;
            over.store(true, std::sync::atomic::Ordering::SeqCst);
            assert!(cut.is_err(), "the endless migration was still running");
            nothing_of_the_run_is_kept(&db.pool).await;
        }

        /// An application that shuts its runtime down (it exits) while a batch
        /// is running: the shutdown does not wait for the statement, and
        /// nothing of the run is kept.
        #[test]
        fn a_runtime_shut_down_during_a_batch_interrupts_it_and_keeps_nothing() {
            let (_dir, slow) = endless_history();
            let folder = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}?mode=rwc", folder.path().join("app.db").display());
            let runtime = || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
            };
            let app = runtime();
            app.block_on(async {
                let pool = migrate::sqlx::SqlitePool::connect(&url).await.unwrap();
                tokio::spawn(async move { slow.upgrade(&pool, "head").await });
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            });
            let over = watchdog("a_runtime_shut_down_during_a_batch_interrupts_it_and_keeps_nothing");
            drop(app);
            over.store(true, std::sync::atomic::Ordering::SeqCst);
            runtime().block_on(async {
                let pool = migrate::sqlx::SqlitePool::connect(&url).await.unwrap();
                nothing_of_the_run_is_kept(&pool).await;
            });
        }
    }

    mod rebuilds {
        use crate::support::sqlite as db;
        type Conn = migrate::sqlx::SqliteConnection;
        crate::rebuild::rebuilds!();
    }

    mod deploys {
        use crate::support::sqlite as db;
        type Pool = migrate::sqlx::SqlitePool;
        crate::deploy::deploy!();
    }
}

mod postgres {
    use super::support::postgres as db;
    scenarios!("tests/fixtures/no_transaction/postgres", migrate::sqlx::PgPool);

    mod rebuilds {
        use crate::support::postgres as db;
        type Conn = migrate::sqlx::PgConnection;
        crate::rebuild::rebuilds!();
    }

    mod deploys {
        use crate::support::postgres as db;
        type Pool = migrate::sqlx::PgPool;
        crate::deploy::deploy!();
    }

    mod locks {
        use crate::support::postgres as db;
        type Pool = migrate::sqlx::PgPool;
        const SESSION_ID: &str = "SELECT pg_backend_pid()::text";
        /// Seen by `pg_blocking_pids` from a second connection of the pool.
        const BLOCKER_WORD: &str = "backend pid";
        const BLOCKER_SHOWS: &str = "last query: BEGIN; UPDATE item SET name = 'held'";
        crate::deploy::locks!("BEGIN; UPDATE item SET name = 'held' WHERE id = 1");
    }
}

mod mysql {
    use super::support::mysql as db;
    scenarios!("tests/fixtures/no_transaction/mysql", migrate::sqlx::MySqlPool);

    #[tokio::test]
    async fn current_after_a_failed_downgrade_names_the_revision_still_there() {
        let Some(db) = db::fresh().await else { return };
        let part = |upgrade: &str, downgrade: &str| migrate::MigrationParts {
            revision: "5aa1".into(),
            down_revisions: Vec::new(),
            message: "two tables".into(),
            upgrade: upgrade.into(),
            downgrade: Some(downgrade.into()),
            no_transaction: false,
            directives: Default::default(),
            depends_on: Vec::new(),
            runs_after: Vec::new(),
            file: "5aa1_two_tables.sql".into(),
        };
        let list = Migrations::new(vec![migrate::Migration::new(part(
            "CREATE TABLE t_one (id INT);\nCREATE TABLE t_two (id INT);",
            "DROP TABLE t_one;\nDROP TABLE t_missing;",
        ))])
        .unwrap();
        list.upgrade(&db.pool, "head").await.unwrap();
        // MySQL commits each DDL statement: the first drop stays done, the second fails.
        list.downgrade(&db.pool, "base").await.unwrap_err();
        assert_eq!(
            list.current(&db.pool).await.unwrap(),
            ["5aa1"],
            "the revision has not been unapplied"
        );
    }

    mod rebuilds {
        use crate::support::mysql as db;
        type Conn = migrate::sqlx::MySqlConnection;
        crate::rebuild::rebuilds!();
    }

    mod deploys {
        use crate::support::mysql as db;
        type Pool = migrate::sqlx::MySqlPool;
        crate::deploy::deploy!();
    }

    mod locks {
        use crate::support::mysql as db;
        type Pool = migrate::sqlx::MySqlPool;
        const SESSION_ID: &str = "SELECT CAST(CONNECTION_ID() AS CHAR)";
        /// MySQL cannot tell whom a cancelled statement waited for: the likely blocker.
        const BLOCKER_WORD: &str = "possibly connection";
        const BLOCKER_SHOWS: &str = "idle";
        crate::deploy::locks!("BEGIN; UPDATE item SET name = 'held' WHERE id = 1");
    }
}

/// A real project's shape on PostgreSQL: 330 revisions from two bases, 11 merges
/// and 10 branch points, 65 `CREATE TYPE … AS ENUM` and 20 `ALTER TYPE … ADD
/// VALUE` inside the migrations' transactions, an extension and an aggregate.
mod postgres_real_history {
    use super::support::postgres as db;
    use super::*;

    static ENUMS: Migrations = migrate::embed_migrations!("tests/fixtures/postgres_enum_history");

    async fn enum_types(pool: &migrate::sqlx::PgPool) -> i64 {
        migrate::sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE t.typtype = 'e' AND n.nspname = current_schema()",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn an_enum_heavy_history_with_two_bases_applies_as_it_is() {
        let Some(db) = db::fresh().await else { return };
        let roots = ENUMS.iter().filter(|m| m.down_revisions().next().is_none()).count();
        let merges = ENUMS.iter().filter(|m| m.down_revisions().count() > 1).count();
        assert_eq!((ENUMS.len(), roots, merges), (330, 2, 11));
        assert_eq!(ENUMS.upgrade(&db.pool, "head").await.unwrap().steps.len(), 330);
        assert_eq!(enum_types(&db.pool).await, 65);
        let values: i64 = migrate::sqlx::query_scalar("SELECT COUNT(*) FROM pg_enum WHERE enumlabel LIKE 'archived_%'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(values, 20, "every ADD VALUE ran inside its migration's transaction");
        let schema = db::tables(&db.pool).await;
        assert!(ENUMS.upgrade(&db.pool, "head").await.unwrap().is_empty());
        // Down to base and back: the same schema.
        assert_eq!(ENUMS.downgrade(&db.pool, "base").await.unwrap().steps.len(), 330);
        assert_eq!(enum_types(&db.pool).await, 0);
        assert_eq!(db::tables(&db.pool).await, ["migrate_history"]);
        assert_eq!(ENUMS.upgrade(&db.pool, "head").await.unwrap().steps.len(), 330);
        assert_eq!(db::tables(&db.pool).await, schema);
    }
}

/// What only PostgreSQL has: schemas on a search path.
mod postgres_schemas {
    use super::support::postgres as db;
    use super::*;
    use migrate::sqlx::postgres::PgPoolOptions;

    #[tokio::test]
    async fn the_history_table_lives_in_the_chosen_schema_whatever_the_search_path() {
        let Some(db) = db::fresh().await else { return };
        db::exec(
            &db.pool,
            "CREATE SCHEMA ops; CREATE SCHEMA decoy; CREATE TABLE decoy.migrate_history (junk INTEGER)",
        )
        .await;
        // Sessions whose search path puts the decoy first.
        let decoyed = PgPoolOptions::new()
            .after_connect(|conn, _| {
                Box::pin(async move {
                    migrate::sqlx::raw_sql("SET search_path = decoy, public")
                        .execute(conn)
                        .await?;
                    Ok(())
                })
            })
            .connect(&db.url)
            .await
            .unwrap();
        let in_ops = || LINEAR.migrator().history_schema("ops");
        assert_eq!(in_ops().upgrade(&decoyed, "head").await.unwrap().steps.len(), 4);
        assert_eq!(db::history_rows(&db.pool, "ops.migrate_history").await, 4);
        assert_eq!(
            db::count(&db.pool, "decoy.migrate_history").await,
            0,
            "the decoy is untouched"
        );
        assert!(!db::table_exists(&db.pool, "public.migrate_history").await);
        assert_eq!(in_ops().current(&decoyed).await.unwrap(), ["4000dd"]);
        // Without a chosen schema, the current schema is pinned for the whole run.
        let e = LINEAR.upgrade(&decoyed, "head").await.unwrap_err();
        assert!(
            e.to_string().contains("decoy"),
            "the decoy table is the current schema's, and is not a history table: {e}"
        );
    }

    #[tokio::test]
    async fn a_schema_first_on_the_search_path_is_migrated_not_skipped() {
        let Some(db) = db::fresh().await else { return };
        // `public` is migrated; then the database's search path puts an empty schema first.
        assert_eq!(LINEAR.upgrade(&db.pool, "head").await.unwrap().steps.len(), 4);
        db::exec(
            &db.pool,
            &format!(
                "CREATE SCHEMA tenant1; ALTER DATABASE {} SET search_path = tenant1, public",
                db.name
            ),
        )
        .await;
        // New sessions take the database's setting.
        let tenant = PgPoolOptions::new().connect(&db.url).await.unwrap();
        assert!(
            LINEAR.current(&tenant).await.unwrap().is_empty(),
            "tenant1 holds no history yet"
        );
        let report = LINEAR.upgrade(&tenant, "head").await.unwrap();
        assert_eq!(
            report.steps.len(),
            4,
            "the start-up check did not read public's history"
        );
        assert_eq!(db::history_rows(&db.pool, "tenant1.migrate_history").await, 4);
        assert_eq!(LINEAR.current(&tenant).await.unwrap(), ["4000dd"]);
        // Up to date now: the one-statement check takes the short cut in tenant1.
        let (report, sent) = support::statements_sent(LINEAR.upgrade(&tenant, "head")).await;
        assert!(report.unwrap().is_empty());
        assert_eq!(sent.len(), 1, "{sent:?}");
        tenant.close().await;
    }

    #[tokio::test]
    async fn a_missing_schema_is_a_clear_error() {
        let Some(db) = db::fresh().await else { return };
        let e = LINEAR
            .migrator()
            .history_schema("nowhere")
            .upgrade(&db.pool, "head")
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("creating the history table") && text.contains("nowhere"),
            "{text}"
        );
    }
}

/// PostgreSQL's errors as users read them: placed on the migration's line with
/// the server's hint; and a connection that breaks while a migration fails,
/// whose error is still the migration's, with the failed cleanup beside it.
mod postgres_errors {
    use super::support::postgres as db;
    use super::*;
    use migrate::sqlx;

    fn step(revision: &str, down: &[&str], upgrade: &str) -> migrate::Migration {
        migrate::Migration::new(migrate::MigrationParts {
            revision: revision.into(),
            down_revisions: down.iter().map(|d| d.to_string()).collect(),
            message: format!("{revision} step"),
            upgrade: upgrade.into(),
            downgrade: Some(String::new()),
            no_transaction: false,
            directives: Default::default(),
            depends_on: Vec::new(),
            runs_after: Vec::new(),
            file: format!("migrations/{revision}_step.sql"),
        })
    }

    /// From a second session, kills the connection that runs `pg_sleep(60)`
    /// once it does; the task says whether it found one.
    fn kill_when_sleeping(pool: &migrate::sqlx::PgPool) -> tokio::task::JoinHandle<bool> {
        let pool = pool.clone();
        tokio::spawn(async move {
            for _ in 0..600 {
                let killed: Vec<bool> = sqlx::query_scalar(
                    // By what it waits for, not its text: a batch's text is longer than
                    // the part pg_stat_activity keeps (track_activity_query_size).
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = current_database() AND pid <> pg_backend_pid() \
                     AND wait_event = 'PgSleep'",
                )
                .fetch_all(&pool)
                .await
                .unwrap();
                if killed.contains(&true) {
                    return true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            false
        })
    }

    /// How many transactions the run committed, counting its `COMMIT`s (a
    /// migration's own transaction ends its one-round-trip batch with one;
    /// the run's last carries the lock's release after it).
    async fn commits_of(upgrade: impl std::future::Future<Output = migrate::Result<migrate::Report>>) -> usize {
        let (report, sent) = crate::support::statements_sent(upgrade).await;
        report.unwrap();
        sent.iter()
            .filter(|s| {
                s.lines().any(|l| l.trim_end().trim_end_matches(';') == "COMMIT")
                    && !s.contains("migrate_digest")
                    && !s.contains("revision = ''")
            })
            .count()
    }

    #[tokio::test]
    async fn a_fresh_database_is_migrated_in_one_transaction_committing_around_no_transaction_steps() {
        let Some(db) = db::fresh().await else { return };
        let mut list: Vec<migrate::Migration> = (1..=5)
            .map(|i| {
                let parents: Vec<String> = if i == 1 { vec![] } else { vec![format!("f{}", i - 1)] };
                let parents: Vec<&str> = parents.iter().map(String::as_str).collect();
                step(&format!("f{i}"), &parents, &format!("CREATE TABLE f{i} (id INTEGER)"))
            })
            .collect();
        let one = Migrations::new(list.clone()).unwrap();
        assert_eq!(
            commits_of(one.upgrade(&db.pool, "head")).await,
            1,
            "five migrations, one commit"
        );
        one.verify(&db.pool).await.unwrap();

        // A no-transaction step in the middle: what came before commits, it runs alone, a new transaction follows.
        let Some(db) = db::fresh().await else { return };
        list[2] = migrate::Migration::new(migrate::MigrationParts {
            no_transaction: true,
            upgrade: "CREATE INDEX CONCURRENTLY f_idx ON f2 (id)".into(),
            ..parts_of(&list[2])
        });
        let mixed = Migrations::new(list).unwrap();
        assert_eq!(
            commits_of(mixed.upgrade(&db.pool, "head")).await,
            2,
            "f1+f2, f3 alone (no transaction), f4+f5"
        );
        assert_eq!(mixed.current(&db.pool).await.unwrap(), ["f5"]);

        // From a history that is not empty, each migration commits on its own, as before.
        let Some(db) = db::fresh().await else { return };
        one.upgrade(&db.pool, "f1").await.unwrap();
        assert_eq!(
            commits_of(one.upgrade(&db.pool, "head")).await,
            4,
            "a transaction per migration"
        );
    }

    fn parts_of(m: &migrate::Migration) -> migrate::MigrationParts {
        migrate::MigrationParts {
            revision: m.revision().into(),
            down_revisions: m.down_revisions().map(String::from).collect(),
            message: m.message().into(),
            upgrade: m.upgrade_sql().into(),
            downgrade: m.downgrade_sql().map(String::from),
            no_transaction: m.no_transaction(),
            directives: Default::default(),
            depends_on: Vec::new(),
            runs_after: Vec::new(),
            file: m.file().into(),
        }
    }

    #[tokio::test]
    async fn a_failure_in_a_fresh_run_keeps_the_migrations_before_it() {
        let Some(db) = db::fresh().await else { return };
        let list = Migrations::new(vec![
            step("g1", &[], "CREATE TABLE g1 (id INTEGER)"),
            step("g2", &["g1"], "CREATE TABLE g2 (id INTEGER)"),
            step("g3", &["g2"], "CREATE TABLE g3 (id INTEGER);\nSELECT lower(1, 2, 3)"),
        ])
        .unwrap();
        match list.upgrade(&db.pool, "head").await.unwrap_err() {
            migrate::Error::Migration {
                revision,
                applied,
                rolled_back,
                ..
            } => {
                assert_eq!((revision.as_str(), rolled_back), ("g3", true));
                assert_eq!(applied, ["g1", "g2"]);
            }
            other => panic!("{other}"),
        }
        assert_eq!(list.current(&db.pool).await.unwrap(), ["g2"]);
        assert!(db::table_exists(&db.pool, "g2").await && !db::table_exists(&db.pool, "g3").await);
        list.verify(&db.pool).await.unwrap();
    }

    #[tokio::test]
    async fn a_connection_killed_in_a_fresh_run_keeps_nothing_and_says_so() {
        let Some(db) = db::fresh().await else { return };
        let list = Migrations::new(vec![
            step("h1", &[], "CREATE TABLE h1 (id INTEGER)"),
            step("h2", &["h1"], "CREATE TABLE h2 (id INTEGER);\nSELECT pg_sleep(60)"),
        ])
        .unwrap();
        let killer = kill_when_sleeping(&db.pool);
        let migrator_pool = migrate::sqlx::PgPool::connect(&db.url).await.unwrap();
        let e = list.upgrade(&migrator_pool, "head").await.unwrap_err();
        assert!(killer.await.unwrap());
        match &e {
            migrate::Error::Migration { revision, applied, .. } => {
                assert_eq!(revision, "h2");
                assert!(
                    applied.is_empty(),
                    "h1 shared the run's transaction, which the server rolled back: {applied:?}"
                );
            }
            other => panic!("{other}"),
        }
        assert!(list.current(&db.pool).await.unwrap().is_empty());
        assert!(!db::table_exists(&db.pool, "h1").await);
        list.verify(&db.pool).await.unwrap();
        migrator_pool.close().await;
    }

    #[tokio::test]
    async fn a_failing_statement_is_placed_on_its_line_with_the_servers_hint() {
        let Some(db) = db::fresh().await else { return };
        let list = Migrations::new(vec![step(
            "e1",
            &[],
            "CREATE TABLE ok1 (id INTEGER);\n-- a comment line\nSELECT lower(1, 2, 3);",
        )])
        .unwrap();
        let e = list.upgrade(&db.pool, "head").await.unwrap_err();
        let text = e.to_string();
        assert!(matches!(&e, migrate::Error::Migration { line: Some(3), .. }), "{text}");
        assert!(text.contains("failed at line 3 of its upgrade section"), "{text}");
        assert!(
            text.contains("function lower(integer, integer, integer) does not exist"),
            "{text}"
        );
        assert!(text.contains("(hint: No function matches"), "{text}");
        assert!(
            !text.contains("does not exist at line"),
            "no server source line: {text}"
        );
        assert!(!db::table_exists(&db.pool, "ok1").await);
    }

    #[tokio::test]
    async fn a_connection_killed_during_a_migration_keeps_the_migrations_error() {
        let Some(db) = db::fresh().await else { return };
        let list = Migrations::new(vec![
            step("k0", &[], "CREATE TABLE first (id INTEGER)"),
            step("k1", &["k0"], "CREATE TABLE kept (id INTEGER)"),
            step("k2", &["k1"], "CREATE TABLE lost (id INTEGER);\nSELECT pg_sleep(60)"),
        ])
        .unwrap();
        // A history that is not empty: each step commits on its own, so k1 outlives k2.
        list.upgrade(&db.pool, "k0").await.unwrap();
        // A second session kills the migrator's connection once it sleeps inside k2.
        let killer = kill_when_sleeping(&db.pool);
        let migrator_pool = migrate::sqlx::PgPool::connect(&db.url).await.unwrap();
        let e = list.upgrade(&migrator_pool, "head").await.unwrap_err();
        assert!(killer.await.unwrap(), "the killer found the migration running");
        let text = e.to_string();
        match &e {
            migrate::Error::Migration {
                revision,
                file,
                direction,
                applied,
                source,
                cleanup,
                ..
            } => {
                assert_eq!(revision, "k2");
                assert_eq!(file, "migrations/k2_step.sql");
                assert_eq!(*direction, migrate::Direction::Upgrade);
                assert_eq!(applied, &["k1"], "the completed step is named");
                assert!(
                    source.to_string().contains("terminating connection"),
                    "the cause is the database's own message: {source}"
                );
                assert!(
                    cleanup.is_some(),
                    "the rollback on a dead connection failed too: {text}"
                );
            }
            other => panic!("expected the migration's error, got: {other}"),
        }
        assert!(
            text.contains("`k2`") && text.contains("migrations/k2_step.sql") && text.contains("terminating connection"),
            "{text}"
        );
        // The server rolled k2 back with its session; k1 stays applied, and nothing is left in progress.
        assert_eq!(list.current(&db.pool).await.unwrap(), ["k1"]);
        assert!(db::table_exists(&db.pool, "kept").await);
        assert!(!db::table_exists(&db.pool, "lost").await);
        list.verify(&db.pool).await.unwrap();
        migrator_pool.close().await;
    }
}
