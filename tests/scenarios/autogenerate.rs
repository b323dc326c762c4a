//! `revision --autogenerate` proven on the real servers. For each (before,
//! after) pair of schemas, four checks: the generated upgrade applied to
//! *before* gives exactly *after*'s catalog; its downgrade gives back
//! *before*'s; autogenerate run again finds nothing; and the rows seeded
//! before the upgrade are all still there, after it and after the downgrade.
//!
//! The migration goes through the user's path: the file the CLI would
//! write, loaded from a folder, applied with `upgrade` and `downgrade base`.

use migrate::schema::{self, Schema};

/// One (before, after) pair.
pub(crate) struct Case {
    /// The schema the migrations end in.
    pub before: &'static str,
    /// The schema wanted (`schema.sql`).
    pub after: &'static str,
    /// Rows put in *before* first.
    pub seed: &'static str,
    /// Tables in both whose row counts must survive both directions.
    pub rows: &'static [(&'static str, i64)],
    /// A query returning one row of one integer, 1 when the upgraded data is right ("" for none).
    pub check: &'static str,
}

pub(crate) const NONE: &[(&str, i64)] = &[];

macro_rules! autogenerate {
    ($db:path, $dialect:expr, { $($name:ident => $case:expr,)* }) => {
        use super::*;
        use $db as db;
        use migrate::sqlx;

        async fn read(pool: &db::Pool) -> Schema {
            schema::read_schema(pool, &["migrate_history".to_owned()]).await.unwrap()
        }

        async fn four_way(case: Case) {
            let rows: Vec<(String, i64)> = case.rows.iter().map(|(t, n)| (t.to_string(), *n)).collect();
            check_pair(case.before, case.after, case.seed, &rows, case.check).await
        }

        /// The four checks on one (before, after) pair.
        #[allow(dead_code)]
        pub(crate) async fn check_pair(before_sql: &str, after_sql: &str, seed: &str, rows: &[(String, i64)], check: &str) {
            let Some(a) = db::fresh().await else { return };
            let Some(b) = db::fresh().await else { return };
            schema::run_script(&a.pool, before_sql, "before.sql").await.unwrap();
            schema::run_script(&a.pool, seed, "seed.sql").await.unwrap();
            schema::run_script(&b.pool, after_sql, "after.sql").await.unwrap();
            let (before, after) = (read(&a.pool).await, read(&b.pool).await);
            let renames = schema::renames(after_sql).unwrap();
            let generated = schema::generate($dialect, &before, &after, &renames, true).unwrap();
            if before == after {
                assert!(generated.is_empty(), "equal schemas, yet: {:?}", generated.detected);
                return;
            }
            assert!(!generated.is_empty(), "nothing detected between\n{before_sql}\nand\n{after_sql}");
            let text = generated.file("generated", "a1", &[], "2026-12-02T00:00:00Z");
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("a1_generated.sql"), &text).unwrap();
            let migrations = migrate::load(dir.path()).unwrap_or_else(|e| panic!("{e}\n{text}"));

            migrations.upgrade(&a.pool, "head").await.unwrap_or_else(|e| panic!("upgrade: {e}\n{text}"));
            let upgraded = read(&a.pool).await;
            let left = schema::compare(&upgraded, &after, &renames, true).unwrap();
            assert!(left.agrees(), "after the upgrade, still: {:?} {:?}\n{text}", left.detected(), left.not_generated);
            let again = schema::generate($dialect, &upgraded, &after, &renames, false).unwrap();
            assert!(again.is_empty() && again.not_generated.is_empty(), "autogenerate again: {:?}\n{text}", again.detected);
            for (table, n) in rows {
                assert_eq!(db::count(&a.pool, table).await, *n, "rows of {table} after the upgrade\n{text}");
            }
            if !check.is_empty() {
                let ok: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(check)).fetch_one(&a.pool).await.unwrap();
                assert_eq!(ok, 1, "{check}\n{text}");
            }

            migrations.downgrade(&a.pool, "base").await.unwrap_or_else(|e| panic!("downgrade: {e}\n{text}"));
            let downgraded = read(&a.pool).await;
            let back = schema::compare(&downgraded, &before, &schema::Renames::default(), true).unwrap();
            assert!(back.agrees(), "after the downgrade, still: {:?} {:?}\n{text}", back.detected(), back.not_generated);
            for (table, n) in rows {
                let table = renames.tables.get(table.as_str()).map(String::as_str).unwrap_or(table);
                assert_eq!(db::count(&a.pool, table).await, *n, "rows of {table} after the downgrade\n{text}");
            }
        }

        $(
            #[tokio::test]
            async fn $name() {
                four_way($case).await
            }
        )*
    };
}

mod sqlite {
    autogenerate!(crate::support::sqlite, schema::Dialect::Sqlite, {
        add_and_drop_a_table => Case {
            before: "CREATE TABLE keep (id INTEGER PRIMARY KEY); CREATE TABLE old (id INTEGER PRIMARY KEY, x TEXT);",
            after: "CREATE TABLE keep (id INTEGER PRIMARY KEY); CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(10, 2) DEFAULT 0);",
            seed: "INSERT INTO keep VALUES (1), (2);",
            rows: &[("keep", 2)],
            check: "",
        },
        add_a_column_in_place => Case {
            before: "CREATE TABLE account (id INTEGER PRIMARY KEY, name TEXT);",
            after: "CREATE TABLE account (id INTEGER PRIMARY KEY, name TEXT, email TEXT NOT NULL DEFAULT '', age INTEGER);",
            seed: "INSERT INTO account (name) VALUES ('a'), ('b'), ('c');",
            rows: &[("account", 3)],
            check: "SELECT COUNT(*) = 3 FROM account WHERE email = ''",
        },
        drop_a_column => Case {
            before: "CREATE TABLE account (id INTEGER PRIMARY KEY, name TEXT, note TEXT);",
            after: "CREATE TABLE account (id INTEGER PRIMARY KEY, name TEXT);",
            seed: "INSERT INTO account (name, note) VALUES ('a', 'x'), ('b', 'y');",
            rows: &[("account", 2)],
            check: "SELECT COUNT(*) = 2 FROM account WHERE name IN ('a', 'b')",
        },
        type_nullability_and_default_rebuild_the_table => Case {
            before: "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER DEFAULT 1);",
            after: "CREATE TABLE item (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL, qty BIGINT DEFAULT 5);",
            seed: "INSERT INTO item (name, qty) VALUES ('a', 2), ('b', 3);",
            rows: &[("item", 2)],
            check: "SELECT SUM(qty) = 5 FROM item",
        },
        unique_check_and_primary_key_constraints => Case {
            before: "CREATE TABLE item (code TEXT, name TEXT, qty INTEGER);",
            after: "CREATE TABLE item (code TEXT PRIMARY KEY, name TEXT UNIQUE, qty INTEGER CHECK (qty >= 0), CONSTRAINT named_check CHECK (length(code) > 0));",
            seed: "INSERT INTO item VALUES ('a', 'x', 1), ('b', 'y', 2);",
            rows: &[("item", 2)],
            check: "",
        },
        indexes_partial_and_expression => Case {
            before: "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, deleted INTEGER); CREATE INDEX item_old ON item (deleted);",
            after: "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, deleted INTEGER); CREATE INDEX item_live ON item (name) WHERE deleted = 0; CREATE UNIQUE INDEX item_lower ON item (lower(name));",
            seed: "INSERT INTO item (name, deleted) VALUES ('a', 0), ('b', 1);",
            rows: &[("item", 2)],
            check: "",
        },
        composite_foreign_keys_with_actions => Case {
            before: "CREATE TABLE parent (a INTEGER, b INTEGER, PRIMARY KEY (a, b)); CREATE TABLE child (id INTEGER PRIMARY KEY, pa INTEGER, pb INTEGER);",
            after: "CREATE TABLE parent (a INTEGER, b INTEGER, PRIMARY KEY (a, b)); CREATE TABLE child (id INTEGER PRIMARY KEY, pa INTEGER, pb INTEGER, FOREIGN KEY (pa, pb) REFERENCES parent (a, b) ON DELETE CASCADE ON UPDATE SET NULL DEFERRABLE INITIALLY DEFERRED);",
            seed: "INSERT INTO parent VALUES (1, 1), (2, 2); INSERT INTO child VALUES (1, 1, 1), (2, 2, 2);",
            rows: &[("parent", 2), ("child", 2)],
            check: "",
        },
        rebuilding_a_parent_keeps_its_cascade_children => Case {
            before: "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) ON DELETE CASCADE);",
            after: "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT ''); CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) ON DELETE CASCADE);",
            seed: "INSERT INTO parent VALUES (1, 'a'), (2, 'b'); INSERT INTO child VALUES (10, 1), (11, 1), (12, 2);",
            rows: &[("parent", 2), ("child", 3)],
            check: "",
        },
        autoincrement_keeps_its_gaps => Case {
            before: "CREATE TABLE seq (id INTEGER PRIMARY KEY AUTOINCREMENT, x TEXT);",
            after: "CREATE TABLE seq (id INTEGER PRIMARY KEY AUTOINCREMENT, x TEXT NOT NULL DEFAULT '');",
            seed: "INSERT INTO seq (x) VALUES ('a'), ('b'), ('c'); DELETE FROM seq WHERE id = 3;",
            rows: &[("seq", 2)],
            check: "SELECT seq = 3 FROM sqlite_sequence WHERE name = 'seq'",
        },
        generated_columns => Case {
            before: "CREATE TABLE box (w INTEGER, h INTEGER);",
            after: "CREATE TABLE box (w INTEGER, h INTEGER, area INTEGER GENERATED ALWAYS AS (w * h) VIRTUAL, perimeter INTEGER GENERATED ALWAYS AS (2 * (w + h)) STORED);",
            seed: "INSERT INTO box VALUES (2, 3), (4, 5);",
            rows: &[("box", 2)],
            check: "SELECT SUM(area) = 26 AND SUM(perimeter) = 28 FROM box",
        },
        views_are_recreated_around_their_tables => Case {
            before: "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT); CREATE VIEW named AS SELECT name FROM item; CREATE VIEW upper_named AS SELECT upper(name) AS u FROM named; CREATE VIEW gone AS SELECT 1 AS one;",
            after: "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT ''); CREATE VIEW named AS SELECT name FROM item WHERE name <> ''; CREATE VIEW upper_named AS SELECT upper(name) AS u FROM named; CREATE VIEW fresh AS SELECT id FROM item;",
            seed: "INSERT INTO item (name) VALUES ('a');",
            rows: &[("item", 1)],
            check: "SELECT COUNT(*) = 1 FROM upper_named",
        },
        triggers_are_added_changed_and_kept_through_a_rebuild => Case {
            before: "CREATE TABLE item (id INTEGER PRIMARY KEY, n INTEGER); CREATE TABLE log (msg TEXT); CREATE TRIGGER item_ins AFTER INSERT ON item BEGIN INSERT INTO log VALUES ('old'); END;",
            after: "CREATE TABLE item (id INTEGER PRIMARY KEY, n BIGINT); CREATE TABLE log (msg TEXT); CREATE TRIGGER item_ins AFTER INSERT ON item BEGIN INSERT INTO log VALUES ('new'); END; CREATE TRIGGER item_del AFTER DELETE ON item BEGIN INSERT INTO log VALUES ('gone'); END;",
            seed: "INSERT INTO item VALUES (1, 1);",
            rows: &[("item", 1), ("log", 1)],
            check: "",
        },
        renames_declared_in_the_schema_file => Case {
            before: "CREATE TABLE customer (id INTEGER PRIMARY KEY, mail TEXT); CREATE INDEX customer_mail ON customer (mail);",
            after: "-- migrate:renamed-from customer\nCREATE TABLE account (\n  id INTEGER PRIMARY KEY,\n  -- migrate:renamed-from mail\n  email TEXT\n);\nCREATE INDEX customer_mail ON account (email);",
            seed: "INSERT INTO customer (mail) VALUES ('a@x'), ('b@x');",
            rows: &[("account", 2)],
            check: "SELECT COUNT(*) = 2 FROM account WHERE email LIKE '%@x'",
        },
    });
}

/// Random pairs of SQLite schemas over one pool of names (so tables and
/// columns are added, dropped and changed at random), each checked the four
/// ways. Deterministic: a fixed seed, 64 pairs.
mod sqlite_properties {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    use std::collections::BTreeMap;

    #[derive(Debug, Clone)]
    struct Col {
        ty: &'static str,
        /// NOT NULL with a default (a restored column must be fillable).
        required: bool,
        unique: bool,
        check: bool,
    }

    #[derive(Debug, Clone)]
    struct Tab {
        cols: BTreeMap<&'static str, Col>,
        index: Option<usize>,
        fk: bool,
        view: bool,
        autoincrement: bool,
    }

    fn col() -> impl Strategy<Value = Col> {
        (
            prop::sample::select(vec!["INTEGER", "TEXT", "REAL", "NUMERIC"]),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(ty, required, unique, check)| Col {
                ty,
                required,
                unique: unique && !required,
                check,
            })
    }

    fn tab() -> impl Strategy<Value = Tab> {
        (
            prop::collection::btree_map(prop::sample::select(vec!["c1", "c2", "c3", "c4"]), col(), 0..4),
            prop::option::of(0usize..4),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(cols, index, fk, view, autoincrement)| Tab {
                cols,
                index,
                fk,
                view,
                autoincrement,
            })
    }

    /// `t0` always, and up to three of `t1`..`t3`; foreign keys point at `t0`.
    fn schema() -> impl Strategy<Value = BTreeMap<&'static str, Tab>> {
        (
            tab(),
            prop::collection::btree_map(prop::sample::select(vec!["t1", "t2", "t3"]), tab(), 0..3),
        )
            .prop_map(|(t0, mut rest)| {
                let mut t0 = t0;
                t0.fk = false;
                rest.insert("t0", t0);
                rest
            })
    }

    fn sql(s: &BTreeMap<&'static str, Tab>) -> String {
        let mut out = String::new();
        for (name, t) in s {
            let mut items = vec![format!(
                "id INTEGER PRIMARY KEY{}",
                if t.autoincrement { " AUTOINCREMENT" } else { "" }
            )];
            for (c, col) in &t.cols {
                let mut item = format!("{c} {}", col.ty);
                if col.required {
                    item.push_str(" NOT NULL DEFAULT 0");
                }
                if col.unique {
                    item.push_str(" UNIQUE");
                }
                if col.check {
                    item.push_str(&format!(" CHECK ({c} <> 'forbidden')"));
                }
                items.push(item);
            }
            if t.fk {
                items.push("pid INTEGER REFERENCES t0 (id) ON DELETE CASCADE".into());
            }
            out.push_str(&format!("CREATE TABLE {name} ({});\n", items.join(", ")));
            if let Some(c) = t.index.and_then(|i| t.cols.keys().nth(i)) {
                out.push_str(&format!("CREATE INDEX {name}_{c} ON {name} ({c});\n"));
            }
            if t.view {
                out.push_str(&format!("CREATE VIEW {name}_ids AS SELECT id FROM {name};\n"));
            }
        }
        out
    }

    /// Three rows in every table, `t0` first (the others point at it).
    fn seed(s: &BTreeMap<&'static str, Tab>) -> String {
        let mut out = String::new();
        let order = std::iter::once("t0").chain(s.keys().copied().filter(|n| *n != "t0"));
        for name in order {
            let t = &s[name];
            for i in 1..=3 {
                let mut cols = vec!["id".to_owned()];
                let mut vals = vec![i.to_string()];
                for (c, col) in &t.cols {
                    cols.push(c.to_string());
                    vals.push(match col.ty {
                        "TEXT" => format!("'v{i}'"),
                        "REAL" => format!("{i}.5"),
                        _ => i.to_string(),
                    });
                }
                if t.fk {
                    cols.push("pid".into());
                    vals.push(i.to_string());
                }
                out.push_str(&format!(
                    "INSERT INTO {name} ({}) VALUES ({});\n",
                    cols.join(", "),
                    vals.join(", ")
                ));
            }
        }
        out
    }

    #[test]
    fn random_pairs_pass_the_four_checks() {
        let config = Config {
            cases: 64,
            failure_persistence: None,
            ..Config::default()
        };
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
        let mut runner = TestRunner::new_with_rng(config, rng);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runner
            .run(&(schema(), schema()), |(before, after)| {
                let rows: Vec<(String, i64)> = before
                    .keys()
                    .filter(|n| after.contains_key(*n))
                    .map(|n| (n.to_string(), 3))
                    .collect();
                rt.block_on(super::sqlite::check_pair(
                    &sql(&before),
                    &sql(&after),
                    &seed(&before),
                    &rows,
                    "",
                ));
                Ok(())
            })
            .unwrap();
    }
}
