//! Fresh runs in few requests. On PostgreSQL, consecutive plain migrations of
//! a run that commits once go to the server many per request, each with its
//! history row, the batch in a savepoint; a failure in the middle of a batch
//! names its migration and keeps the ones before it. On MariaDB, which runs
//! every migration statement by statement with its count (for resume), the
//! mark, the statements with their counts and the row's record go in one
//! request, whose results say which statement failed.

use crate::support::{self, mysql, postgres as db};
use migrate::{Error, Migration, MigrationParts, Migrations};

/// `n` migrations of a table, an index and a row each, the one at `failing`
/// (if any) failing on its second statement.
fn chain(n: usize, failing: Option<usize>) -> Migrations {
    let list = (0..n)
        .map(|i| {
            let id = format!("r{i:05}");
            let second = if Some(i) == failing {
                format!("INSERT INTO missing_{i} VALUES (1);")
            } else {
                format!("CREATE INDEX t_{i}_v ON t_{i} (v);")
            };
            Migration::new(MigrationParts {
                revision: id.clone(),
                down_revisions: (i > 0).then(|| format!("r{:05}", i - 1)).into_iter().collect(),
                message: format!("step {i}"),
                upgrade: format!("CREATE TABLE t_{i} (id integer PRIMARY KEY, v text);\n{second}\nINSERT INTO t_{i} VALUES ({i}, 'x');"),
                downgrade: Some(format!("DROP TABLE t_{i};")),
                file: format!("migrations/{id}_step.sql"),
                ..Default::default()
            })
        })
        .collect();
    Migrations::new(list).unwrap()
}

async fn applied_ms(pool: &migrate::sqlx::PgPool) -> Vec<i64> {
    migrate::sqlx::query_scalar("SELECT execution_ms FROM migrate_history WHERE revision <> '' ORDER BY revision")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// The failed migration a run names, the ones it kept before it, and the
/// database's message, from a run that rolled the failed one back.
fn rolled_back(e: Error) -> (String, Vec<String>, String) {
    match e {
        Error::Migration {
            revision,
            applied,
            rolled_back: true,
            source,
            ..
        } => (revision, applied, source.to_string()),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn postgres_a_fresh_run_of_a_thousand_migrations_goes_in_few_requests() {
    let Some(db) = db::fresh().await else { return };
    let list = chain(1_000, None);
    let (report, sent) = support::statements_sent(list.upgrade(&db.pool, "head")).await;
    let report = report.unwrap();
    assert_eq!(report.steps.len(), 1_000);
    // Every request the runtime sends is logged once (`migrate::sql`).
    println!("{} requests for 1,000 migrations", sent.len());
    assert!(
        sent.len() <= 1_000 / 50 + 12,
        "{} requests for 1,000 migrations",
        sent.len()
    );
    // The digest's check; the schema with the lock; the table's creation with
    // its rows; BEGIN with the digest's removal, with the batch; the digest's
    // write with COMMIT, with the unlock.
    assert_eq!(
        sent.len(),
        5,
        "{:#?}",
        sent.iter().map(|s| &s[..s.len().min(80)]).collect::<Vec<_>>()
    );
    let batches: Vec<&String> = sent
        .iter()
        .filter(|s| s.contains("SAVEPOINT migrate_batched"))
        .collect();
    assert_eq!(batches.len(), 1, "1,000 steps go in one request");
    assert!(batches[0].starts_with("BEGIN;"), "the run's BEGIN goes with the batch");
    let last = sent.last().unwrap();
    assert!(
        last.contains("COMMIT") && last.contains("pg_advisory_unlock"),
        "the lock goes with the commit: {last}"
    );
    // Released: another session takes it at once.
    let key_free: bool = migrate::sqlx::query_scalar(
        "SELECT count(*) = 0 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(key_free, "no advisory lock is left held after the run");
    // One savepoint a batch, not one a step (each would be a subtransaction).
    assert_eq!(
        batches[0].matches("SAVEPOINT migrate_batched").count(),
        2,
        "SAVEPOINT and RELEASE"
    );
    // The server still rolls back a run whose migrator is gone (PostgreSQL 14+).
    assert!(
        batches
            .iter()
            .all(|b| b.contains("SET LOCAL client_connection_check_interval")),
        "{}",
        batches[0]
    );
    // Each row says what the report says, and the history verifies.
    let reported: Vec<i64> = report.steps.iter().map(|s| s.duration.as_millis() as i64).collect();
    assert_eq!(applied_ms(&db.pool).await, reported);
    // Every row is stamped with the run's time, as a row applied alone is.
    let stamps: Vec<String> =
        migrate::sqlx::query_scalar("SELECT DISTINCT applied_at FROM migrate_history WHERE revision <> ''")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(stamps.len(), 1, "{stamps:?}");
    let now: String =
        migrate::sqlx::query_scalar("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(stamps[0].len(), now.len(), "{} against {now}", stamps[0]);
    let stamp = stamps[0].as_bytes();
    assert!(
        stamps[0].as_str() <= now.as_str()
            && [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'Z')]
                .iter()
                .all(|&(at, c)| stamp[at] == c),
        "{} against {now}",
        stamps[0]
    );
    list.verify(&db.pool).await.unwrap();
    let rows: i64 = migrate::sqlx::query_scalar("SELECT count(*) FROM t_999")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
    assert!(list.upgrade(&db.pool, "head").await.unwrap().is_empty());
}

#[tokio::test]
async fn postgres_a_failure_in_the_middle_of_a_batch_names_it_and_keeps_those_before() {
    let Some(db) = db::fresh().await else { return };
    let list = chain(120, Some(57));
    let (result, sent) = support::statements_sent(list.upgrade(&db.pool, "head")).await;
    let (revision, applied, source) = rolled_back(result.unwrap_err());
    assert_eq!(revision, "r00057");
    assert_eq!(applied.len(), 57, "the ones before it are kept");
    assert!(source.contains("missing_57"), "{source}");
    assert!(sent.len() < 30, "{} requests", sent.len());
    assert_eq!(applied_ms(&db.pool).await.len(), 57);
    for kept in ["t_0", "t_56"] {
        let rows: i64 =
            migrate::sqlx::query_scalar(migrate::sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {kept}")))
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert_eq!(rows, 1, "{kept}");
    }
    let gone: Option<String> = migrate::sqlx::query_scalar("SELECT to_regclass('t_57')::text")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(gone, None, "the failing migration was rolled back");
    // Fixed, the run goes on from there.
    let fixed = chain(120, None);
    let report = fixed.upgrade(&db.pool, "head").await.unwrap();
    assert_eq!(report.steps.first().map(|s| s.revision.as_str()), Some("r00057"));
    fixed.verify(&db.pool).await.unwrap();
}

/// A failed batch is rolled back and those before the failure are sent again:
/// the ids they take from a sequence that existed before the batch are the
/// ones a run one migration at a time gives them (a rollback does not undo
/// `nextval`), so a later migration that names such an id still finds it.
#[tokio::test]
async fn postgres_a_failure_in_a_batch_leaves_the_ids_a_run_one_at_a_time_gives() {
    let Some(db) = db::fresh().await else { return };
    // Another set's table, there before this list's first run.
    migrate::sqlx::raw_sql("CREATE TABLE roles (id serial PRIMARY KEY, name text NOT NULL)")
        .execute(&db.pool)
        .await
        .unwrap();
    let step = |i: usize, upgrade: &str| {
        Migration::new(MigrationParts {
            revision: format!("q{i}"),
            down_revisions: (i > 0).then(|| format!("q{}", i - 1)).into_iter().collect(),
            message: format!("step {i}"),
            upgrade: upgrade.to_owned(),
            file: format!("migrations/q{i}_step.sql"),
            ..Default::default()
        })
    };
    let list = |last: &str| {
        Migrations::new(vec![
            step(0, "INSERT INTO roles (name) VALUES ('admin');"),
            step(
                1,
                "CREATE TABLE grants (role_id int NOT NULL REFERENCES roles (id));\nINSERT INTO grants VALUES (1);",
            ),
            step(2, last),
        ])
        .unwrap()
    };
    let (result, sent) =
        support::statements_sent(list("INSERT INTO missing_table VALUES (1);").upgrade(&db.pool, "head")).await;
    assert!(
        sent.iter()
            .any(|r| r.contains("SAVEPOINT migrate_batched") && r.contains("missing_table")),
        "the three went in one batch: {sent:#?}"
    );
    let (revision, applied, source) = rolled_back(result.unwrap_err());
    assert_eq!(
        (revision.as_str(), applied),
        ("q2", vec!["q0".to_owned(), "q1".to_owned()]),
        "{source}"
    );
    assert!(source.contains("missing_table"), "{source}");
    let admin: i32 = migrate::sqlx::query_scalar("SELECT id FROM roles WHERE name = 'admin'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(admin, 1, "the id a run one migration at a time gives");
    let next: i32 = migrate::sqlx::query_scalar("SELECT nextval('roles_id_seq')::int")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(next, 2, "the sequence is where that run leaves it");
    // Fixed, the run goes on from there.
    let report = list("INSERT INTO roles (name) VALUES ('reader');")
        .upgrade(&db.pool, "head")
        .await
        .unwrap();
    assert_eq!(report.revisions(), ["q2"]);
}

#[tokio::test]
async fn postgres_a_failure_at_the_first_migration_of_a_run_keeps_nothing_and_the_next_run_starts_clean() {
    let Some(db) = db::fresh().await else { return };
    // The run's BEGIN rode with the batch: the failed batch is rolled back to
    // its savepoint, inside that transaction, and the first migration is named.
    let (revision, applied, source) = rolled_back(chain(50, Some(0)).upgrade(&db.pool, "head").await.unwrap_err());
    assert_eq!(revision, "r00000");
    assert!(applied.is_empty(), "{applied:?}");
    assert!(source.contains("missing_0"), "{source}");
    assert!(applied_ms(&db.pool).await.is_empty(), "no row is kept");
    let gone: Option<String> = migrate::sqlx::query_scalar("SELECT to_regclass('t_0')::text")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(gone, None, "the failed migration's table was rolled back");
    let fixed = chain(50, None);
    assert_eq!(fixed.upgrade(&db.pool, "head").await.unwrap().steps.len(), 50);
    fixed.verify(&db.pool).await.unwrap();
}

/// A migration the server cannot parse: PostgreSQL refuses a request holding
/// one whole, before any of it runs, and a refused request aborts the run's
/// transaction. The batch goes again without it, and it is named, whether it
/// is in the run's first batch (whose request begins the transaction) or in
/// a later one (past the first thousand).
///
/// The migrations make one small table each but past the first thousand
/// (the second batch's), so that the run's one transaction holds few locks
/// beside the other tests' thousand-table runs (the server's lock table is shared).
#[tokio::test]
async fn postgres_a_syntax_error_in_a_batch_names_its_migration_and_keeps_those_before() {
    let list = |n: usize, failing: Option<usize>| {
        let steps = (0..n).map(|i| {
            let id = format!("r{i:05}");
            let upgrade = match failing {
                Some(f) if f == i => "SELECT 1\nSELECT 2;".to_owned(),
                _ if i % 100 == 0 || i >= 1_000 => format!("CREATE TABLE t_{i} (id integer PRIMARY KEY);"),
                _ => format!("SELECT {i};"),
            };
            Migration::new(MigrationParts {
                revision: id.clone(),
                down_revisions: (i > 0).then(|| format!("r{:05}", i - 1)).into_iter().collect(),
                message: format!("step {i}"),
                upgrade,
                file: format!("migrations/{id}_step.sql"),
                ..Default::default()
            })
        });
        Migrations::new(steps.collect()).unwrap()
    };
    for (n, failing) in [(50, 0), (120, 57), (1_010, 1_003)] {
        let Some(db) = db::fresh().await else { return };
        let (revision, applied, source) =
            rolled_back(list(n, Some(failing)).upgrade(&db.pool, "head").await.unwrap_err());
        assert_eq!(revision, format!("r{failing:05}"), "{source}");
        assert_eq!(applied.len(), failing, "the ones before it are kept");
        assert!(source.contains("syntax error"), "{source}");
        assert_eq!(applied_ms(&db.pool).await.len(), failing);
        if failing > 0 {
            let kept: Option<String> = migrate::sqlx::query_scalar("SELECT to_regclass('t_0')::text")
                .fetch_one(&db.pool)
                .await
                .unwrap();
            assert_eq!(kept.as_deref(), Some("t_0"), "what ran before it is there");
        }
        let fixed = list(n, None);
        let report = fixed.upgrade(&db.pool, "head").await.unwrap();
        assert_eq!(report.steps.len(), n - failing);
        fixed.verify(&db.pool).await.unwrap();
    }
}

/// Migrations whose statements are not one a line: a function body and a
/// `DO` block with semicolons inside dollar quotes, an empty statement, a
/// comment after the last semicolon, a statement without one.
fn shapes(n: usize, failing: usize) -> Migrations {
    let list = (0..n)
        .map(|i| {
            let id = format!("s{i:03}");
            let upgrade = match i % 4 {
                _ if i == failing => format!("CREATE TABLE u_{i} (id int);\nINSERT INTO u_{i} VALUES ('not a number');"),
                0 => format!(
                    "CREATE OR REPLACE FUNCTION f_{i}() RETURNS int LANGUAGE plpgsql AS $body$\nBEGIN\n  PERFORM 1;\n  RETURN {i};\nEND;\n$body$;\nCREATE TABLE u_{i} (id int DEFAULT f_{i}());"
                ),
                1 => format!("DO $$ BEGIN CREATE TABLE u_{i} (id int); INSERT INTO u_{i} VALUES (1); END $$;;\n;"),
                2 => format!("CREATE TABLE u_{i} (id int);\n-- a comment after the last statement\n/* and another; with a semicolon */"),
                _ => format!("CREATE TABLE u_{i} (id int)"),
            };
            Migration::new(MigrationParts {
                revision: id.clone(),
                down_revisions: (i > 0).then(|| format!("s{:03}", i - 1)).into_iter().collect(),
                message: format!("shape {i}"),
                upgrade,
                downgrade: Some(format!("DROP TABLE u_{i};")),
                file: format!("migrations/{id}_shape.sql"),
                ..Default::default()
            })
        })
        .collect();
    Migrations::new(list).unwrap()
}

#[tokio::test]
async fn postgres_a_batch_tells_the_failed_migration_whatever_the_shape_of_those_before() {
    let Some(db) = db::fresh().await else { return };
    for failing in [1, 22, 39] {
        let list = shapes(40, failing);
        let (result, sent) = support::statements_sent(list.upgrade(&db.pool, "head")).await;
        // The batch, then those before the failed one again in one request: the
        // statements the server completed told which migration failed.
        println!("{} requests, failing at {failing}", sent.len());
        assert!(
            sent.len() <= 16,
            "{} requests: {:#?}",
            sent.len(),
            sent.iter().map(|s| &s[..s.len().min(60)]).collect::<Vec<_>>()
        );
        let (revision, applied, source) = rolled_back(result.unwrap_err());
        assert_eq!(revision, format!("s{failing:03}"));
        assert!(source.contains("not a number"), "{source}");
        let before = applied.iter().filter(|a| a.as_str() < revision.as_str()).count();
        assert_eq!(before, applied.len(), "only those before it: {applied:?}");
        let kept: Vec<String> =
            migrate::sqlx::query_scalar("SELECT revision FROM migrate_history WHERE revision <> '' ORDER BY revision")
                .fetch_all(&db.pool)
                .await
                .unwrap();
        let expected: Vec<String> = (0..failing).map(|i| format!("s{i:03}")).collect();
        assert_eq!(kept, expected, "every migration before the failed one is kept");
        let durations: Vec<i64> =
            migrate::sqlx::query_scalar("SELECT execution_ms FROM migrate_history WHERE revision <> ''")
                .fetch_all(&db.pool)
                .await
                .unwrap();
        assert!(durations.iter().all(|&ms| (0..60_000).contains(&ms)), "{durations:?}");
        list.downgrade(&db.pool, "base").await.unwrap();
    }
}

#[tokio::test]
async fn mariadb_counts_ride_with_the_next_statement() {
    let Some(db) = mysql::fresh().await else { return };
    let list = chain(100, None);
    let (report, sent) = support::statements_sent(list.upgrade(&db.pool, "head")).await;
    assert_eq!(report.unwrap().steps.len(), 100);
    // Each migration in one request: its mark, BEGIN, every statement with its
    // count, the row's record and COMMIT.
    println!("{} requests for 100 migrations of 3 statements", sent.len());
    assert!(sent.len() <= 100 + 12, "{} requests", sent.len());
    let durations: Vec<i64> =
        migrate::sqlx::query_scalar("SELECT execution_ms FROM migrate_history WHERE revision <> ''")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert!(durations.iter().all(|&ms| (0..60_000).contains(&ms)), "{durations:?}");
    list.verify(&db.pool).await.unwrap();
    let rows: i64 = migrate::sqlx::query_scalar("SELECT count(*) FROM t_99")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn mariadb_a_failure_names_its_migration_and_statement_and_keeps_those_before() {
    let Some(db) = mysql::fresh().await else { return };
    let list = chain(20, Some(7));
    match list.upgrade(&db.pool, "head").await.unwrap_err() {
        Error::Migration {
            revision,
            applied,
            statement,
            completed,
            ..
        } => {
            assert_eq!(revision, "r00007");
            assert_eq!(applied.len(), 7);
            assert_eq!(statement, Some(2), "the second statement failed");
            assert_eq!(completed, Some(1), "its CREATE TABLE stayed done, and its row says so");
        }
        other => panic!("{other}"),
    }
    let done: String = migrate::sqlx::query_scalar(
        "SELECT concat(state, ' ', statements_done) FROM migrate_history WHERE revision = 'r00007'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(done, "upgrade_failed 1");
    let kept: i64 = migrate::sqlx::query_scalar("SELECT count(*) FROM migrate_history WHERE state = 'applied'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(kept, 7);
}
