//! Repeatable revisions through `embed_migrations!`: an application's
//! embedded list applies them after its versioned revisions on an upgrade to
//! head, in dependency order; a later build whose repeatable changed applies
//! it again (and what depends on it), never one that did not change. An
//! embedded file cannot change at run time, so the two builds are two
//! fixture folders, `v1` and `v2`, run one after the other on one database.

use migrate::Migrations;

/// Release 1: `r1` (three members, one active) and three repeatables:
/// `active` (a view), `a_count` (a view over it, which sorts first but
/// depends on it) and `total`.
pub static V1: Migrations = migrate::embed_migrations!("tests/fixtures/repeatables/v1");
/// Release 2: `r2` adds an active member, `active` also counts member 2;
/// `a_count` and `total` are the same files as in release 1.
pub static V2: Migrations = migrate::embed_migrations!("tests/fixtures/repeatables/v2");

macro_rules! repeatables {
    ($db:path) => {
        use super::*;
        use migrate::sqlx;
        use $db as db;

        #[tokio::test]
        async fn an_embedded_list_applies_its_repeatables_and_a_later_build_only_the_changed_ones() {
            let Some(db) = db::fresh().await else { return };
            let report = V1.upgrade(&db.pool, "head").await.unwrap();
            assert_eq!(
                report.revisions(),
                [
                    "r1",
                    "repeatable:active",
                    "repeatable:a_count",
                    "repeatable:total"
                ]
            );
            assert_eq!(db::count(&db.pool, "active").await, 1);
            let n: i64 = sqlx::query_scalar("SELECT n FROM a_count")
                .fetch_one(&db.pool)
                .await
                .unwrap();
            assert_eq!(n, 1);
            // Up to date: nothing runs, and the start-up check is one statement (the digest covers them).
            assert!(V1.upgrade(&db.pool, "head").await.unwrap().is_empty());
            let (report, sent) = crate::support::statements_sent(V1.upgrade(&db.pool, "head")).await;
            assert!(report.unwrap().is_empty());
            assert_eq!(sent.len(), 1, "{sent:#?}");

            // Release 2 sees due what its upgrade applies: the edited repeatable and the
            // unchanged one that depends on it; not the one that depends on neither.
            let history = V2.history(&db.pool).await.unwrap();
            let due = |revision: &str| history.iter().find(|e| e.revision == revision).map(|e| e.due);
            assert_eq!(due("repeatable:active"), Some(true));
            assert_eq!(due("repeatable:a_count"), Some(true));
            assert_eq!(due("repeatable:total"), Some(false));
            let report = V2.upgrade(&db.pool, "head").await.unwrap();
            assert_eq!(
                report.revisions(),
                ["r2", "repeatable:active", "repeatable:a_count"],
                "`a_count` again because `active` dropped it; `total` unchanged"
            );
            assert_eq!(db::count(&db.pool, "active").await, 3);
            let n: i64 = sqlx::query_scalar("SELECT n FROM a_count")
                .fetch_one(&db.pool)
                .await
                .unwrap();
            assert_eq!(n, 3);
            let total: i64 = sqlx::query_scalar("SELECT n FROM total")
                .fetch_one(&db.pool)
                .await
                .unwrap();
            assert_eq!(total, 4);
            // One row each, holding release 2's checksum.
            assert_eq!(db::history_rows(&db.pool, "migrate_history").await, 5);
            let stored: String =
                sqlx::query_scalar("SELECT checksum FROM migrate_history WHERE revision = 'repeatable:active'")
                    .fetch_one(&db.pool)
                    .await
                    .unwrap();
            assert_eq!(
                stored,
                V2.get("repeatable:active").unwrap().checksum().to_string()
            );
            assert_ne!(
                stored,
                V1.get("repeatable:active").unwrap().checksum().to_string()
            );
            assert!(V2.upgrade(&db.pool, "head").await.unwrap().is_empty());
            let (report, sent) = crate::support::statements_sent(V2.upgrade(&db.pool, "head")).await;
            assert!(report.unwrap().is_empty());
            assert_eq!(sent.len(), 1, "{sent:#?}");
            V2.verify(&db.pool).await.unwrap();
        }

        /// An embedded list given other repeatables at run time checks the
        /// history with them: its start-up short cut does not take release
        /// 1's digest (which holds release 1's repeatables) as up to date.
        #[tokio::test]
        async fn an_embedded_list_given_repeatables_at_run_time_applies_them() {
            let Some(db) = db::fresh().await else { return };
            V1.upgrade(&db.pool, "head").await.unwrap();
            let given = V1.clone().with_repeatables(V2.repeatables().to_vec());
            assert_ne!(given.applied_digest(), V1.applied_digest());
            let report = given.upgrade(&db.pool, "head").await.unwrap();
            assert_eq!(report.revisions(), ["repeatable:active", "repeatable:a_count"]);
            assert_eq!(db::count(&db.pool, "active").await, 2);
            assert!(given.upgrade(&db.pool, "head").await.unwrap().is_empty());
        }
    };
}

mod sqlite {
    repeatables!(crate::support::sqlite);
}
mod postgres {
    repeatables!(crate::support::postgres);
}
mod mysql {
    repeatables!(crate::support::mysql);
}
