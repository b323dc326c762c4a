//! Declared variables (`-- migrate:var`): values from the builder, a `$$`
//! body left as written, a variable with no value refused before any
//! statement, and a secret value absent from the log, the history and the
//! error text.

use crate::deploy::{file, folder};
use migrate::Error;

/// The secret the scenarios bind: it must never come back.
const SECRET: &str = "zz_secret_9";

macro_rules! variables {
    ($db:path) => {
        use super::*;
        use $db as db;
        use migrate::sqlx;

        #[tokio::test]
        async fn values_from_the_builder_a_dollar_body_untouched_and_a_secret_kept_out() {
            let Some(db) = db::fresh().await else { return };
            let dir = tempfile::tempdir().unwrap();
            // PostgreSQL's `$$` body keeps its `${x}`: nothing there is substituted (nor declared).
            let body = match db::NAME {
                "postgres" => "\nCREATE FUNCTION ${tbl}_f() RETURNS text AS $$ SELECT '${x}'::text $$ LANGUAGE sql;",
                _ => "",
            };
            let header = "-- migrate:var tbl\n-- migrate:var note = it's plain\n-- migrate:var secret pw";
            let up = format!(
                "CREATE TABLE ${{tbl}} (id INTEGER PRIMARY KEY, note VARCHAR(80));\nINSERT INTO ${{tbl}} (id, note) VALUES (1, '${{note}}'), (2, '${{pw}}');{body}"
            );
            let list = folder(dir.path(), "m", &[file("v1", "", header, &up, Some("DROP TABLE ${tbl};"))]);
            let (ran, sent) = crate::support::statements_sent(
                list.migrator().var("tbl", "gadget").var("pw", SECRET).upgrade(&db.pool, "head"),
            )
            .await;
            ran.unwrap();
            assert_eq!(db::count(&db.pool, "gadget").await, 2);
            let notes: Vec<String> = sqlx::query_scalar("SELECT note FROM gadget ORDER BY id").fetch_all(&db.pool).await.unwrap();
            assert_eq!(notes, ["it's plain", SECRET]);
            if db::NAME == "postgres" {
                let f: String = sqlx::query_scalar("SELECT gadget_f()").fetch_one(&db.pool).await.unwrap();
                assert_eq!(f, "${x}");
            }
            assert!(sent.iter().any(|s| s.contains("'${pw}'")), "{sent:?}");
            assert!(!sent.iter().any(|s| s.contains(SECRET)), "the log holds the secret: {sent:?}");
            // The history stores the downgrade as written, substituted when it runs.
            let stored: Option<String> = sqlx::query_scalar("SELECT downgrade FROM migrate_history WHERE revision = 'v1'")
                .fetch_one(&db.pool)
                .await
                .unwrap();
            assert_eq!(stored.as_deref(), Some("DROP TABLE ${tbl};"));
            list.migrator().var("tbl", "gadget").downgrade(&db.pool, "base").await.unwrap();
            assert!(!db::table_exists(&db.pool, "gadget").await);

            // A failing statement whose error the database writes with the secret in it.
            let failing = folder(dir.path(), "f", &[file("f1", "", "-- migrate:var secret pw", "SELECT ${pw};", None)]);
            let (failed, sent) = crate::support::statements_sent(failing.migrator().var("pw", SECRET).upgrade(&db.pool, "head")).await;
            let e = failed.unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, Error::Migration { .. }), "{e:?}");
            assert!(!text.contains(SECRET) && !format!("{e:?}").contains(SECRET), "{text}");
            assert!(text.contains("${pw}"), "{text}");
            assert!(!sent.iter().any(|s| s.contains(SECRET)), "{sent:?}");

            // A migration whose first statement stays done (MySQL commits its DDL):
            // its row keeps the database's error, the secret taken out, and the next
            // run's report of that row says no more.
            let half = folder(
                dir.path(),
                "h",
                &[file("h1", "", "-- migrate:var secret pw", "CREATE TABLE half_done (k INT);\nINSERT INTO missing_${pw} VALUES (1);", None)],
            );
            let e = half.migrator().var("pw", SECRET).upgrade(&db.pool, "head").await.unwrap_err();
            assert!(!e.to_string().contains(SECRET), "{e}");
            let errors: Vec<String> = sqlx::query_scalar("SELECT coalesce(error, '') FROM migrate_history")
                .fetch_all(&db.pool)
                .await
                .unwrap();
            assert!(!errors.iter().any(|e| e.contains(SECRET)), "{errors:?}");
            if db::NAME == "mysql" {
                assert!(errors.iter().any(|e| e.contains("missing_${pw}")), "{errors:?}");
                let again = half.upgrade(&db.pool, "head").await.unwrap_err().to_string();
                assert!(!again.contains(SECRET) && again.contains("h1"), "{again}");
            }
        }

        #[tokio::test]
        async fn a_variable_without_a_value_is_refused_before_any_statement() {
            let Some(db) = db::fresh().await else { return };
            let dir = tempfile::tempdir().unwrap();
            let list = folder(
                dir.path(),
                "m",
                &[
                    file("a1", "", "", "CREATE TABLE first_one (id INTEGER PRIMARY KEY);", None),
                    file("a2", "a1", "-- migrate:var who", "CREATE TABLE ${who} (id INTEGER PRIMARY KEY);", None),
                ],
            );
            match list.upgrade(&db.pool, "head").await {
                Err(e @ Error::UnsetVariable(_)) => {
                    let text = e.to_string();
                    assert!(text.contains("a2") && text.contains("a2_m.sql") && text.contains("`who`"), "{text}");
                }
                other => panic!("{other:?}"),
            }
            assert!(!db::table_exists(&db.pool, "first_one").await, "a1 did not run either");
            assert_eq!(db::history_rows(&db.pool, "migrate_history").await, 0);
            list.migrator().var("who", "person").upgrade(&db.pool, "head").await.unwrap();
            assert!(db::table_exists(&db.pool, "person").await);
        }
    };
}

mod sqlite {
    variables!(crate::support::sqlite);
}
mod postgres {
    variables!(crate::support::postgres);
}
mod mysql {
    variables!(crate::support::mysql);
}
