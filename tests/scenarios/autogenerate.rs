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
            // Rows are data, not schema: sent as they are (a schema file refuses them).
            if !seed.is_empty() {
                sqlx::raw_sql(sqlx::AssertSqlSafe(seed)).execute(&a.pool).await.unwrap();
            }
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
        a_trigger_of_another_table_reading_a_rebuilt_one_is_made_again => Case {
            before: "CREATE TABLE item (id INTEGER PRIMARY KEY, qty INTEGER); CREATE TABLE account (id INTEGER PRIMARY KEY); CREATE TRIGGER acct_del AFTER DELETE ON account BEGIN DELETE FROM item WHERE id = OLD.id; END;",
            after: "CREATE TABLE item (id INTEGER PRIMARY KEY, qty INTEGER CHECK (qty >= 0)); CREATE TABLE account (id INTEGER PRIMARY KEY); CREATE TRIGGER acct_del AFTER DELETE ON account BEGIN DELETE FROM item WHERE id = OLD.id; END;",
            seed: "INSERT INTO item VALUES (1, 2), (2, 3); INSERT INTO account VALUES (1);",
            rows: &[("item", 2), ("account", 1)],
            check: "SELECT count(*) = 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'acct_del'",
        },
        a_generated_column_made_plain_keeps_its_values => Case {
            before: "CREATE TABLE box (w INTEGER, h INTEGER, area INTEGER GENERATED ALWAYS AS (w * h) STORED, half INTEGER GENERATED ALWAYS AS (w / 2) VIRTUAL); CREATE INDEX box_area ON box (area);",
            after: "CREATE TABLE box (w INTEGER, h INTEGER, area INTEGER, half INTEGER); CREATE INDEX box_area ON box (area);",
            seed: "INSERT INTO box (w, h) VALUES (2, 3), (4, 5);",
            rows: &[("box", 2)],
            check: "SELECT SUM(area) = 26 AND SUM(half) = 3 FROM box",
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
        swapped_tables_go_through_a_temporary_name => Case {
            before: "CREATE TABLE a (id INTEGER PRIMARY KEY, x TEXT); CREATE TABLE b (id INTEGER PRIMARY KEY, y INTEGER);",
            after: "-- migrate:renamed-from b\nCREATE TABLE a (id INTEGER PRIMARY KEY, y INTEGER);\n-- migrate:renamed-from a\nCREATE TABLE b (id INTEGER PRIMARY KEY, x TEXT);",
            seed: "INSERT INTO a (x) VALUES ('one'), ('two'), ('three'); INSERT INTO b (y) VALUES (7);",
            rows: &[("a", 1), ("b", 3)],
            check: "SELECT (SELECT COUNT(*) FROM b WHERE x IN ('one', 'two', 'three')) = 3 AND (SELECT y FROM a) = 7",
        },
        swapped_columns_go_through_a_temporary_name => Case {
            before: "CREATE TABLE person (id INTEGER PRIMARY KEY, first TEXT, n INTEGER);",
            after: "CREATE TABLE person (\n  id INTEGER PRIMARY KEY,\n  -- migrate:renamed-from n\n  first INTEGER,\n  -- migrate:renamed-from first\n  n TEXT\n);",
            seed: "INSERT INTO person (first, n) VALUES ('ada', 1), ('bob', 2);",
            rows: &[("person", 2)],
            check: "SELECT COUNT(*) = 2 FROM person WHERE n IN ('ada', 'bob') AND first IN (1, 2)",
        },
        duplicate_checks_and_foreign_keys_and_a_renamed_check => Case {
            before: "CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES parent (id), n INTEGER CHECK (n > 0), CONSTRAINT low CHECK (n < 100));",
            after: "CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES parent (id), n INTEGER CHECK (n > 0), CHECK (n > 0), CONSTRAINT pid_again FOREIGN KEY (pid) REFERENCES parent (id), CONSTRAINT n_positive CHECK (n > 0), CONSTRAINT under_100 CHECK (n < 100));",
            seed: "INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1, 1), (2, 1, 2);",
            rows: &[("parent", 1), ("child", 2)],
            check: "SELECT (SELECT COUNT(*) FROM pragma_foreign_key_list('child')) = 2",
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

mod postgres {
    autogenerate!(crate::support::postgres, schema::Dialect::Postgres, {
        add_and_drop_a_table => Case {
            before: "CREATE TABLE keep (id integer PRIMARY KEY); CREATE TABLE old (id integer PRIMARY KEY, x text);",
            after: "CREATE TABLE keep (id integer PRIMARY KEY); CREATE TABLE item (id bigserial PRIMARY KEY, name text NOT NULL, price numeric(10, 2) DEFAULT 0);",
            seed: "INSERT INTO keep VALUES (1), (2);",
            rows: &[("keep", 2)],
            check: "",
        },
        add_and_drop_columns => Case {
            before: "CREATE TABLE account (id integer PRIMARY KEY, name text, note text);",
            after: "CREATE TABLE account (id integer PRIMARY KEY, name text, email text NOT NULL DEFAULT '', age integer);",
            seed: "INSERT INTO account VALUES (1, 'a', 'x'), (2, 'b', 'y'), (3, 'c', NULL);",
            rows: &[("account", 3)],
            check: "SELECT (COUNT(*) = 3)::int::bigint FROM account WHERE email = ''",
        },
        types_widen_and_narrow => Case {
            before: "CREATE TABLE item (id integer PRIMARY KEY, name varchar(40), qty integer, big bigint, code varchar(80));",
            after: "CREATE TABLE item (id integer PRIMARY KEY, name varchar(80), qty bigint, big integer, code varchar(20));",
            seed: "INSERT INTO item VALUES (1, 'a', 2, 3, 'x'), (2, 'b', 3, 4, 'y');",
            rows: &[("item", 2)],
            check: "SELECT (SUM(qty) = 5 AND SUM(big) = 7)::int::bigint FROM item",
        },
        nullability_and_defaults => Case {
            before: "CREATE TABLE item (id integer PRIMARY KEY, name text, qty integer NOT NULL DEFAULT 1, note text DEFAULT 'n', made timestamptz);",
            after: "CREATE TABLE item (id integer PRIMARY KEY, name text NOT NULL, qty integer DEFAULT 5, note text, made timestamptz DEFAULT now());",
            seed: "INSERT INTO item (id, name, qty) VALUES (1, 'a', 2), (2, 'b', 3);",
            rows: &[("item", 2)],
            check: "SELECT (SUM(qty) = 5)::int::bigint FROM item",
        },
        identity_and_serial => Case {
            before: "CREATE TABLE a (id integer NOT NULL PRIMARY KEY, x text); CREATE TABLE b (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, x text); CREATE TABLE c (id integer PRIMARY KEY);",
            after: "CREATE TABLE a (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, x text); CREATE TABLE b (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, x text); CREATE TABLE c (id integer PRIMARY KEY, n serial, m bigserial);",
            seed: "INSERT INTO a VALUES (1, 'a'); INSERT INTO b (x) VALUES ('b'); INSERT INTO c VALUES (1), (2);",
            rows: &[("a", 1), ("b", 1), ("c", 2)],
            check: "SELECT (COUNT(DISTINCT n) = 2)::int::bigint FROM c",
        },
        // A SQL-language function whose body reads a table and a view the same
        // revision makes: PostgreSQL checks such a body when it is made.
        sql_function_over_new_relations => Case {
            before: "CREATE TABLE keep (id integer);",
            after: "CREATE TABLE keep (id integer); CREATE TABLE acct (id integer PRIMARY KEY, n integer); \
                    CREATE VIEW acct_totals AS SELECT sum(n) AS total FROM acct; \
                    CREATE FUNCTION total_for() RETURNS bigint LANGUAGE sql AS 'SELECT total FROM acct_totals';",
            seed: "INSERT INTO keep VALUES (1);",
            rows: &[("keep", 1)],
            check: "SELECT (current_setting('check_function_bodies') = 'on' AND total_for() IS NULL)::int::bigint",
        },
        // Functions whose signatures name a table's or a view's row type the
        // revision makes (PostgREST-style computed columns), one an index and
        // one a check of that table call (held back until they exist), one a view calls,
        // and ones a new table's default and check call (one with an argument
        // named like that table, which is no type of its signature), and a trigger
        // function beside a table named `trigger` (its `RETURNS trigger` is the
        // built-in type): each made
        // after what its signature names and before what calls it, dropped
        // the other way.
        functions_over_row_types => Case {
            before: "CREATE TABLE keep (id integer);",
            after: "CREATE TABLE keep (id integer); CREATE TABLE person (id integer PRIMARY KEY, first text, last text); \
                    CREATE FUNCTION full_name(person) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT $1.first || ' ' || $1.last $$; \
                    CREATE INDEX person_full ON person (full_name(person)); \
                    CREATE FUNCTION named_ok(p person) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT $1.id > 0 $$; \
                    CREATE FUNCTION how_many(ps person[]) RETURNS integer LANGUAGE sql AS $$ SELECT cardinality($1) $$; \
                    ALTER TABLE person ADD CONSTRAINT person_ok CHECK (named_ok(person.*)); \
                    CREATE VIEW named AS SELECT id, full_name(person) AS name FROM person; \
                    CREATE FUNCTION everyone() RETURNS SETOF named LANGUAGE sql AS $$ SELECT * FROM named $$; \
                    CREATE FUNCTION people() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM person $$; \
                    CREATE TABLE tally (id integer PRIMARY KEY, at_start bigint DEFAULT people()); \
                    CREATE FUNCTION make_code(tenant text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT upper(tenant) $$; \
                    CREATE TABLE tenant (id integer PRIMARY KEY, code text DEFAULT make_code('x'), CHECK (make_code(code) <> '')); \
                    CREATE TABLE trigger (id integer PRIMARY KEY, at timestamptz); \
                    CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.at := now(); RETURN NEW; END $$; \
                    CREATE TRIGGER trigger_stamp BEFORE INSERT ON trigger FOR EACH ROW EXECUTE FUNCTION stamp();",
            seed: "INSERT INTO keep VALUES (1);",
            rows: &[("keep", 1)],
            check: "SELECT ((SELECT count(*) FROM everyone()) = 0 AND people() = 0)::int::bigint",
        },
        // Functions whose result or parameter defaults change, which `CREATE OR
        // REPLACE` refuses (`cannot change return type`, `cannot remove parameter
        // defaults`): dropped and made again; one whose body alone changes is
        // replaced where it stands, keeping the view that calls it; the views
        // calling one made again (and those over them) are made again around it.
        a_function_whose_result_changes_is_made_again => Case {
            before: "CREATE TABLE keep (id integer); \
                     CREATE FUNCTION answer(n integer DEFAULT 1) RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT 42 + n $$; \
                     CREATE FUNCTION pairs() RETURNS TABLE (a integer) LANGUAGE sql AS $$ SELECT 1 $$; \
                     CREATE FUNCTION body_only() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$; \
                     CREATE VIEW uses_body AS SELECT body_only() AS b; \
                     CREATE VIEW uses_answer AS SELECT answer(1) AS a; CREATE VIEW over_it AS SELECT a FROM uses_answer;",
            after: "CREATE TABLE keep (id integer); \
                    CREATE FUNCTION answer(n integer) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$ SELECT 42 + n $$; \
                    CREATE FUNCTION pairs() RETURNS TABLE (a integer, b text) LANGUAGE sql AS $$ SELECT 1, 'x' $$; \
                    CREATE FUNCTION body_only() RETURNS integer LANGUAGE sql AS $$ SELECT 2 $$; \
                    CREATE VIEW uses_body AS SELECT body_only() AS b; \
                    CREATE VIEW uses_answer AS SELECT answer(1) AS a; CREATE VIEW over_it AS SELECT a FROM uses_answer;",
            seed: "INSERT INTO keep VALUES (1);",
            rows: &[("keep", 1)],
            check: "SELECT (answer(1) = 43 AND (SELECT b FROM uses_body) = 2 AND (SELECT a FROM over_it) = 43 AND (SELECT b FROM pairs()) = 'x')::int::bigint",
        },
        // An identity whose column changes type: bounds set after a widening
        // (the type's own bounds moved with it), before a narrowing.
        identity_and_its_type => Case {
            before: "CREATE TABLE w (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY); CREATE TABLE x (id integer GENERATED ALWAYS AS IDENTITY (MINVALUE -2147483648 START WITH 1) PRIMARY KEY);",
            after: "CREATE TABLE w (id bigint GENERATED ALWAYS AS IDENTITY (MAXVALUE 3000000000) PRIMARY KEY); CREATE TABLE x (id bigint GENERATED ALWAYS AS IDENTITY (MINVALUE -2147483648 START WITH 1) PRIMARY KEY);",
            seed: "INSERT INTO w DEFAULT VALUES; INSERT INTO x DEFAULT VALUES;",
            rows: &[("w", 1), ("x", 1)],
            check: "SELECT ((SELECT seqmax = 3000000000 FROM pg_sequence WHERE seqrelid = pg_get_serial_sequence('w', 'id')::regclass) \
                    AND (SELECT seqmin = -2147483648 FROM pg_sequence WHERE seqrelid = pg_get_serial_sequence('x', 'id')::regclass))::int::bigint",
        },
        // An identity's sequence options are read and written: a new table
        // gets them, a changed one `SET`s them (its next value left alone).
        identity_options => Case {
            before: "CREATE TABLE t (id integer GENERATED BY DEFAULT AS IDENTITY (START WITH 100 INCREMENT BY 5) PRIMARY KEY, x text); CREATE TABLE u (id integer GENERATED ALWAYS AS IDENTITY (MAXVALUE 5000) PRIMARY KEY);",
            after: "CREATE TABLE t (id integer GENERATED ALWAYS AS IDENTITY (START WITH 1000 CACHE 10 CYCLE) PRIMARY KEY, x text); CREATE TABLE u (id bigint GENERATED ALWAYS AS IDENTITY (MINVALUE -10 START WITH 1) PRIMARY KEY); CREATE TABLE v (id smallint GENERATED BY DEFAULT AS IDENTITY (INCREMENT BY -1) PRIMARY KEY, x text);",
            seed: "INSERT INTO t (x) VALUES ('a'), ('b'); INSERT INTO u DEFAULT VALUES;",
            rows: &[("t", 2), ("u", 1)],
            check: "SELECT ((SELECT seqstart = 1000 AND seqincrement = 1 AND seqcache = 10 AND seqcycle FROM pg_sequence WHERE seqrelid = pg_get_serial_sequence('t', 'id')::regclass) \
                    AND (SELECT seqmin = -10 AND seqstart = 1 AND seqmax = 9223372036854775807 FROM pg_sequence WHERE seqrelid = pg_get_serial_sequence('u', 'id')::regclass) \
                    AND (SELECT seqincrement = -1 AND seqmax = -1 FROM pg_sequence WHERE seqrelid = pg_get_serial_sequence('v', 'id')::regclass) \
                    AND (SELECT max(id) FROM t) = 105 AND nextval(pg_get_serial_sequence('t', 'id')) = 106)::int::bigint",
        },
        generated_columns => Case {
            before: "CREATE TABLE box (w integer, h integer, d integer GENERATED ALWAYS AS (w + h) STORED);",
            after: "CREATE TABLE box (w integer, h integer, d integer GENERATED ALWAYS AS (w - h) STORED, area integer GENERATED ALWAYS AS (w * h) STORED);",
            seed: "INSERT INTO box VALUES (2, 3), (4, 5);",
            rows: &[("box", 2)],
            check: "SELECT (SUM(area) = 26 AND SUM(d) = -2)::int::bigint FROM box",
        },
        a_generated_column_made_plain_keeps_its_values_and_its_index => Case {
            before: "CREATE TABLE item (price numeric, qty integer, total numeric GENERATED ALWAYS AS (price * qty) STORED); CREATE INDEX item_total ON item (total);",
            after: "CREATE TABLE item (price numeric, qty integer, total numeric); CREATE INDEX item_total ON item (total);",
            seed: "INSERT INTO item (price, qty) VALUES (2.5, 3), (1, 1);",
            rows: &[("item", 2)],
            check: "SELECT (SUM(total) = 8.5)::int::bigint FROM item",
        },
        a_changed_generation_keeps_the_indexes_and_checks_that_read_it => Case {
            before: "CREATE TABLE box (w integer, h integer, d integer GENERATED ALWAYS AS (w + h) STORED, CONSTRAINT d_small CHECK (d < 100)); CREATE INDEX box_d ON box (d); CREATE INDEX box_wd ON box (w, d);",
            after: "CREATE TABLE box (w integer, h integer, d integer GENERATED ALWAYS AS (w - h) STORED, CONSTRAINT d_small CHECK (d < 100)); CREATE INDEX box_d ON box (d); CREATE INDEX box_wd ON box (w, d);",
            seed: "INSERT INTO box VALUES (2, 3), (4, 5);",
            rows: &[("box", 2)],
            check: "SELECT (SUM(d) = -2)::int::bigint FROM box",
        },
        primary_key_and_unique_constraints => Case {
            before: "CREATE TABLE item (id integer PRIMARY KEY, code text NOT NULL, name text, shelf integer, slot integer);",
            after: "CREATE TABLE item (id integer NOT NULL, code text NOT NULL PRIMARY KEY, name text UNIQUE, shelf integer, slot integer, CONSTRAINT place UNIQUE (shelf, slot));",
            seed: "INSERT INTO item VALUES (1, 'a', 'x', 1, 1), (2, 'b', 'y', 1, 2);",
            rows: &[("item", 2)],
            check: "",
        },
        indexes_partial_and_expression => Case {
            before: "CREATE TABLE item (id integer PRIMARY KEY, name text, deleted boolean); CREATE INDEX item_old ON item (deleted);",
            after: "CREATE TABLE item (id integer PRIMARY KEY, name text, deleted boolean); CREATE INDEX item_live ON item (name) WHERE NOT deleted; CREATE UNIQUE INDEX item_lower ON item (lower(name)); CREATE INDEX item_both ON item (name DESC, id);",
            seed: "INSERT INTO item VALUES (1, 'a', false), (2, 'b', true);",
            rows: &[("item", 2)],
            check: "",
        },
        composite_foreign_keys_with_actions => Case {
            before: "CREATE TABLE parent (a integer, b integer, PRIMARY KEY (a, b)); CREATE TABLE child (id integer PRIMARY KEY, pa integer, pb integer); CREATE TABLE other (id integer PRIMARY KEY, p integer REFERENCES child (id));",
            after: "CREATE TABLE parent (a integer, b integer, PRIMARY KEY (a, b)); CREATE TABLE child (id integer PRIMARY KEY, pa integer, pb integer, FOREIGN KEY (pa, pb) REFERENCES parent (a, b) ON DELETE CASCADE ON UPDATE SET NULL DEFERRABLE INITIALLY DEFERRED); CREATE TABLE other (id integer PRIMARY KEY, p integer REFERENCES child (id) ON DELETE SET NULL);",
            seed: "INSERT INTO parent VALUES (1, 1), (2, 2); INSERT INTO child VALUES (1, 1, 1), (2, 2, 2); INSERT INTO other VALUES (1, 1);",
            rows: &[("parent", 2), ("child", 2), ("other", 1)],
            check: "",
        },
        check_constraints => Case {
            before: "CREATE TABLE item (id integer PRIMARY KEY, qty integer CHECK (qty >= 0), code text);",
            after: "CREATE TABLE item (id integer PRIMARY KEY, qty integer CHECK (qty >= 1), code text, CONSTRAINT named_check CHECK (length(code) > 0));",
            seed: "INSERT INTO item VALUES (1, 1, 'a'), (2, 2, 'b');",
            rows: &[("item", 2)],
            check: "",
        },
        views_are_recreated_around_their_tables => Case {
            before: "CREATE TABLE item (id integer PRIMARY KEY, name varchar(20)); CREATE VIEW named AS SELECT name FROM item; CREATE VIEW upper_named AS SELECT upper(name) AS u FROM named; CREATE VIEW gone AS SELECT 1 AS one;",
            after: "CREATE TABLE item (id integer PRIMARY KEY, name varchar(80) NOT NULL DEFAULT ''); CREATE VIEW named AS SELECT name FROM item WHERE name <> ''; CREATE VIEW upper_named AS SELECT upper(name) AS u FROM named; CREATE VIEW fresh AS SELECT id FROM item;",
            seed: "INSERT INTO item (id, name) VALUES (1, 'a');",
            rows: &[("item", 1)],
            check: "SELECT (COUNT(*) = 1)::int::bigint FROM upper_named",
        },
        enums_created_dropped_and_given_values => Case {
            before: "CREATE TYPE mood AS ENUM ('sad', 'ok'); CREATE TYPE gone AS ENUM ('x'); CREATE TABLE person (id integer PRIMARY KEY, m mood NOT NULL DEFAULT 'ok');",
            after: "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); CREATE TYPE fresh AS ENUM ('a', 'b'); CREATE TABLE person (id integer PRIMARY KEY, m mood NOT NULL DEFAULT 'ok', f fresh);",
            seed: "INSERT INTO person VALUES (1, 'sad'), (2, DEFAULT);",
            rows: &[("person", 2)],
            check: "",
        },
        an_enum_value_removed_recreates_the_type => Case {
            before: "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); CREATE TABLE person (id integer PRIMARY KEY, m mood DEFAULT 'ok'); CREATE VIEW moods AS SELECT m FROM person;",
            after: "CREATE TYPE mood AS ENUM ('sad', 'ok'); CREATE TABLE person (id integer PRIMARY KEY, m mood DEFAULT 'ok'); CREATE VIEW moods AS SELECT m FROM person;",
            seed: "INSERT INTO person VALUES (1, 'sad'), (2, DEFAULT);",
            rows: &[("person", 2)],
            check: "SELECT (COUNT(*) = 1)::int::bigint FROM person WHERE m = 'ok'",
        },
        enum_values_added_in_front_and_arrays_of_a_recreated_type => Case {
            before: "CREATE TYPE mood AS ENUM ('c', 'gone'); CREATE TYPE tag AS ENUM ('a', 'b', 'old'); CREATE TABLE person (id integer PRIMARY KEY, m mood, tags tag[] DEFAULT '{a}');",
            after: "CREATE TYPE mood AS ENUM ('x', 'y', 'c', 'gone'); CREATE TYPE tag AS ENUM ('a', 'b'); CREATE TABLE person (id integer PRIMARY KEY, m mood, tags tag[] DEFAULT '{a}');",
            seed: "INSERT INTO person VALUES (1, 'c', '{a,b}'), (2, 'gone', DEFAULT);",
            rows: &[("person", 2)],
            check: "SELECT (COUNT(*) = 2)::int::bigint FROM person WHERE 'a' = ANY(tags)",
        },
        a_type_change_whose_old_default_does_not_cast => Case {
            before: "CREATE TABLE item (id integer PRIMARY KEY, qty varchar(10) DEFAULT '5', code varchar(10) DEFAULT '7');",
            after: "CREATE TABLE item (id integer PRIMARY KEY, qty integer DEFAULT 0, code integer DEFAULT 7);",
            seed: "INSERT INTO item VALUES (1, '3', '4'), (2, DEFAULT, DEFAULT);",
            rows: &[("item", 2)],
            check: "SELECT (SUM(qty) = 8 AND SUM(code) = 11)::int::bigint FROM item",
        },
        functions_and_triggers => Case {
            before: "CREATE TABLE item (id integer PRIMARY KEY, n integer); CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.n := NEW.n + 1; RETURN NEW; END $$; CREATE TRIGGER item_ins BEFORE INSERT ON item FOR EACH ROW EXECUTE FUNCTION bump(); CREATE FUNCTION gone(a integer) RETURNS integer LANGUAGE sql AS $$ SELECT a $$; CREATE PROCEDURE tidy() LANGUAGE sql AS $$ DELETE FROM item WHERE n < 0 $$;",
            after: "CREATE TABLE item (id integer PRIMARY KEY, n integer); CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.n := NEW.n + 10; RETURN NEW; END $$; CREATE TRIGGER item_ins BEFORE INSERT ON item FOR EACH ROW EXECUTE FUNCTION bump(); CREATE TRIGGER item_upd BEFORE UPDATE ON item FOR EACH ROW WHEN (OLD.n IS DISTINCT FROM NEW.n) EXECUTE FUNCTION bump(); CREATE FUNCTION twice(a integer, b text DEFAULT 'x') RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT a * 2 $$;",
            seed: "INSERT INTO item VALUES (1, 1);",
            rows: &[("item", 1)],
            check: "",
        },
        renames_declared_in_the_schema_file => Case {
            before: "CREATE TABLE customer (id integer PRIMARY KEY, mail text); CREATE INDEX customer_mail ON customer (mail);",
            after: "-- migrate:renamed-from customer\nCREATE TABLE account (\n  id integer PRIMARY KEY,\n  -- migrate:renamed-from mail\n  email text\n);\nCREATE INDEX customer_mail ON account (email);",
            seed: "INSERT INTO customer VALUES (1, 'a@x'), (2, 'b@x');",
            rows: &[("account", 2)],
            check: "SELECT (COUNT(*) = 2)::int::bigint FROM account WHERE email LIKE '%@x'",
        },
        swapped_tables_and_columns_go_through_a_temporary_name => Case {
            before: "CREATE TABLE a (id integer PRIMARY KEY, x text); CREATE TABLE b (id integer PRIMARY KEY, first text, n integer);",
            after: "-- migrate:renamed-from b\nCREATE TABLE a (\n  id integer PRIMARY KEY,\n  -- migrate:renamed-from n\n  first integer,\n  -- migrate:renamed-from first\n  n text\n);\n-- migrate:renamed-from a\nCREATE TABLE b (id integer PRIMARY KEY, x text);",
            seed: "INSERT INTO a VALUES (1, 'one'), (2, 'two'); INSERT INTO b VALUES (1, 'ada', 7);",
            rows: &[("a", 1), ("b", 2)],
            check: "SELECT ((SELECT COUNT(*) FROM b WHERE x IN ('one', 'two')) = 2 AND (SELECT n FROM a) = 'ada' AND (SELECT first FROM a) = 7)::int::bigint",
        },
        a_unique_beside_the_primary_key_on_the_same_column => Case {
            before: "CREATE TABLE item (id integer PRIMARY KEY, code text); CREATE TABLE child (id integer PRIMARY KEY, item_id integer REFERENCES item (id));",
            after: "CREATE TABLE item (id integer PRIMARY KEY, code text); ALTER TABLE item ADD CONSTRAINT item_id_key UNIQUE (id); CREATE TABLE child (id integer PRIMARY KEY, item_id integer REFERENCES item (id)); CREATE TABLE fresh (id integer PRIMARY KEY, code text UNIQUE); ALTER TABLE fresh ADD CONSTRAINT fresh_id_key UNIQUE (id); ALTER TABLE fresh ADD CONSTRAINT fresh_code_again UNIQUE (code);",
            seed: "INSERT INTO item VALUES (1, 'a'), (2, 'b'); INSERT INTO child VALUES (1, 1);",
            rows: &[("item", 2), ("child", 1)],
            check: "SELECT (COUNT(*) = 1)::int::bigint FROM pg_constraint WHERE conname = 'item_id_key'",
        },
        two_alike_foreign_keys_under_two_names => Case {
            before: "CREATE TABLE parent (id integer PRIMARY KEY); CREATE TABLE child (id integer PRIMARY KEY, parent_id integer REFERENCES parent (id));",
            after: "CREATE TABLE parent (id integer PRIMARY KEY); CREATE TABLE child (id integer PRIMARY KEY, parent_id integer REFERENCES parent (id), CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES parent (id)); CREATE TABLE pet (id integer PRIMARY KEY, owner integer, CONSTRAINT pet_owner FOREIGN KEY (owner) REFERENCES parent (id), CONSTRAINT pet_owner_again FOREIGN KEY (owner) REFERENCES parent (id));",
            seed: "INSERT INTO parent VALUES (1), (2); INSERT INTO child VALUES (1, 1), (2, 2);",
            rows: &[("parent", 2), ("child", 2)],
            check: "SELECT (COUNT(*) = 4)::int::bigint FROM pg_constraint WHERE contype = 'f'",
        },
        renamed_constraints_and_indexes_are_renamed => Case {
            before: "CREATE TABLE item (id integer PRIMARY KEY, qty integer CONSTRAINT qty_positive CHECK (qty > 0), code text CONSTRAINT item_code UNIQUE, CONSTRAINT low CHECK (qty > -5), CONSTRAINT high CHECK (qty < 1000)); CREATE INDEX item_qty ON item (qty); CREATE TABLE a (id integer CONSTRAINT a_key PRIMARY KEY); CREATE TABLE b (id integer CONSTRAINT b_key PRIMARY KEY);",
            after: "CREATE TABLE item (id integer CONSTRAINT item_key PRIMARY KEY, qty integer CONSTRAINT qty_above_zero CHECK (qty > 0), code text CONSTRAINT item_code_unique UNIQUE, CONSTRAINT high CHECK (qty > -5), CONSTRAINT low CHECK (qty < 1000)); CREATE INDEX item_by_qty ON item (qty); CREATE TABLE a (id integer CONSTRAINT b_key PRIMARY KEY); CREATE TABLE b (id integer CONSTRAINT a_key PRIMARY KEY);",
            seed: "INSERT INTO item VALUES (1, 1, 'a'), (2, 2, 'b'); INSERT INTO a VALUES (1);",
            rows: &[("item", 2), ("a", 1)],
            check: "SELECT (COUNT(*) = 6)::int::bigint FROM pg_class WHERE relname IN ('item_key', 'item_code_unique', 'item_by_qty', 'a_key', 'b_key') OR relname = 'item' AND relkind = 'r'",
        },
        a_key_a_foreign_key_leans_on_goes => Case {
            before: "CREATE TABLE item (id integer NOT NULL); ALTER TABLE item ADD CONSTRAINT item_id_key UNIQUE (id); ALTER TABLE item ADD CONSTRAINT item_pkey PRIMARY KEY (id); CREATE TABLE child (id integer PRIMARY KEY, item_id integer REFERENCES item (id));",
            after: "CREATE TABLE item (id integer PRIMARY KEY); CREATE TABLE child (id integer PRIMARY KEY, item_id integer REFERENCES item (id));",
            seed: "INSERT INTO item VALUES (1), (2); INSERT INTO child VALUES (1, 1);",
            rows: &[("item", 2), ("child", 1)],
            check: "",
        },
        a_standalone_sequence_used_by_a_default => Case {
            before: "CREATE TABLE item (id integer PRIMARY KEY, code integer);",
            after: "CREATE SEQUENCE code_seq AS integer START WITH 100 INCREMENT BY 5 MINVALUE 10 MAXVALUE 100000 CACHE 10 CYCLE; CREATE SEQUENCE ticket_no START 1000; CREATE SEQUENCE countdown INCREMENT -1; CREATE TABLE item (id integer PRIMARY KEY, code integer DEFAULT nextval('code_seq')); CREATE TABLE ticket (no bigint PRIMARY KEY DEFAULT nextval('ticket_no'), down bigint DEFAULT nextval('countdown'));",
            seed: "INSERT INTO item VALUES (1, 1), (2, 2);",
            rows: &[("item", 2)],
            check: "SELECT (nextval('code_seq') = 100 AND nextval('code_seq') = 105 AND nextval('ticket_no') = 1000 AND nextval('countdown') = -1)::int::bigint",
        },
        sequences_owned_by_columns => Case {
            before: "CREATE TABLE item (id integer PRIMARY KEY, n integer); CREATE SEQUENCE counter; CREATE SEQUENCE loose START 3; ALTER SEQUENCE loose OWNED BY item.n;",
            after: "CREATE SEQUENCE counter; CREATE TABLE item (id integer PRIMARY KEY, n integer DEFAULT nextval('counter')); ALTER SEQUENCE counter OWNED BY item.n; CREATE SEQUENCE loose START 3; CREATE TABLE tag (id integer NOT NULL, label text); CREATE SEQUENCE tag_seq START 50; ALTER SEQUENCE tag_seq OWNED BY tag.id; ALTER TABLE tag ALTER id SET DEFAULT nextval('tag_seq'); CREATE TABLE plain (id serial PRIMARY KEY);",
            seed: "INSERT INTO item VALUES (1, 1); SELECT nextval('counter'); SELECT nextval('counter');",
            rows: &[("item", 1)],
            check: "SELECT (nextval('counter') = 3 AND nextval('tag_seq') = 50)::int::bigint",
        },
        // A table renamed after it was made with a serial keeps its sequence's
        // name (pg_dump writes it so): not a serial, whose sequence would be `b_id_seq`.
        a_serial_whose_sequence_kept_its_name_through_a_rename => Case {
            before: "CREATE TABLE keep (id integer PRIMARY KEY);",
            after: "CREATE TABLE keep (id integer PRIMARY KEY); CREATE SEQUENCE a_id_seq AS integer; CREATE TABLE b (id integer NOT NULL DEFAULT nextval('a_id_seq'::regclass), x text, CONSTRAINT a_pkey PRIMARY KEY (id)); ALTER SEQUENCE a_id_seq OWNED BY b.id; CREATE TABLE c (id serial PRIMARY KEY);",
            seed: "INSERT INTO keep VALUES (1);",
            rows: &[("keep", 1)],
            check: "SELECT (pg_get_serial_sequence('b', 'id') = 'public.a_id_seq' AND pg_get_serial_sequence('c', 'id') = 'public.c_id_seq')::int::bigint",
        },
        // A table made again under another name (no `renamed-from`) keeping
        // the old one's key, index and sequence names: those are freed first.
        a_new_table_takes_the_names_of_one_going_away => Case {
            before: "CREATE TABLE a (id serial PRIMARY KEY, x integer, CONSTRAINT a_x_key UNIQUE (x)); CREATE INDEX a_idx ON a (x); CREATE TABLE child (a_id integer REFERENCES a);",
            after: "CREATE SEQUENCE a_id_seq AS integer; CREATE TABLE b (id integer NOT NULL DEFAULT nextval('a_id_seq'::regclass), x integer, CONSTRAINT a_pkey PRIMARY KEY (id), CONSTRAINT a_x_key UNIQUE (x)); ALTER SEQUENCE a_id_seq OWNED BY b.id; CREATE INDEX a_idx ON b (x);",
            seed: "INSERT INTO a (x) VALUES (1), (2);",
            rows: &[],
            check: "SELECT (pg_get_serial_sequence('b', 'id') = 'public.a_id_seq')::int::bigint",
        },
        // Only the deferrability of a foreign key changes: ALTER CONSTRAINT, never a drop and re-add.
        a_foreign_key_made_deferrable_is_altered => Case {
            before: "CREATE TABLE p (id integer PRIMARY KEY); CREATE TABLE c (p_id integer NOT NULL REFERENCES p (id) ON DELETE CASCADE, q_id integer REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED);",
            after: "CREATE TABLE p (id integer PRIMARY KEY); CREATE TABLE c (p_id integer NOT NULL REFERENCES p (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, q_id integer REFERENCES p (id) DEFERRABLE);",
            seed: "INSERT INTO p VALUES (1); INSERT INTO c VALUES (1, 1);",
            rows: &[("c", 1)],
            check: "SELECT (SELECT bool_and(condeferrable AND (condeferred = (conname = 'c_p_id_fkey'))) FROM pg_constraint WHERE conrelid = 'c'::regclass AND contype = 'f')::int::bigint",
        },
        // No cast between smallint and an enum: through the value's text, which an empty table takes.
        a_column_retyped_to_an_enum_goes_through_its_text => Case {
            before: "CREATE TYPE sort_type AS ENUM ('Active', 'Hot'); CREATE TABLE u (id integer PRIMARY KEY, sort smallint NOT NULL DEFAULT 0, label text); CREATE TABLE v (id integer PRIMARY KEY, kind text);",
            after: "CREATE TYPE sort_type AS ENUM ('Active', 'Hot'); CREATE TABLE u (id integer PRIMARY KEY, sort sort_type NOT NULL DEFAULT 'Active', label sort_type); CREATE TABLE v (id integer PRIMARY KEY, kind sort_type);",
            seed: "INSERT INTO v VALUES (1, 'Hot');",
            rows: &[("v", 1)],
            check: "SELECT ((SELECT atttypid = 'sort_type'::regtype FROM pg_attribute WHERE attrelid = 'u'::regclass AND attname = 'sort') AND (SELECT kind = 'Hot' FROM v))::int::bigint",
        },
        // A serial whose default was dropped (atuin's `drop-some-defaults`): the default alone
        // goes, the sequence it has kept with its value; and back.
        a_serials_default_dropped_keeps_its_sequence => Case {
            before: "CREATE TABLE s (id integer PRIMARY KEY, user_id bigserial);",
            after: "CREATE TABLE s (id integer PRIMARY KEY, user_id bigint NOT NULL); CREATE SEQUENCE s_user_id_seq; ALTER SEQUENCE s_user_id_seq OWNED BY s.user_id;",
            seed: "INSERT INTO s (id) VALUES (1), (2);",
            rows: &[("s", 2)],
            check: "SELECT ((SELECT column_default IS NULL FROM information_schema.columns WHERE table_name = 's' AND column_name = 'user_id') AND nextval('s_user_id_seq') = 3)::int::bigint",
        },
        a_sequence_follows_its_owner_through_a_rename => Case {
            before: "CREATE SEQUENCE num START 5; CREATE TABLE customer (id integer PRIMARY KEY, n integer DEFAULT nextval('num')); ALTER SEQUENCE num OWNED BY customer.n;",
            after: "CREATE SEQUENCE num START 5;\n-- migrate:renamed-from customer\nCREATE TABLE account (\n  id integer PRIMARY KEY,\n  -- migrate:renamed-from n\n  m integer DEFAULT nextval('num')\n);\nALTER SEQUENCE num OWNED BY account.m;",
            seed: "INSERT INTO customer (id) VALUES (1), (2);",
            rows: &[("account", 2)],
            check: "SELECT (SUM(m) = 11 AND nextval('num') = 7)::int::bigint FROM account",
        },
        dropping_a_sequence => Case {
            before: "CREATE SEQUENCE gone START 7; CREATE TABLE item (id integer PRIMARY KEY, n bigint DEFAULT nextval('gone')); CREATE SEQUENCE old_counter MAXVALUE 99; CREATE TABLE old (id integer); CREATE SEQUENCE old_id START 9 OWNED BY old.id;",
            after: "CREATE TABLE item (id integer PRIMARY KEY, n bigint);",
            seed: "INSERT INTO item (id) VALUES (1), (2);",
            rows: &[("item", 2)],
            check: "SELECT (SUM(n) = 15)::int::bigint FROM item",
        },
        changing_a_sequence_keeps_its_current_value => Case {
            before: "CREATE SEQUENCE counter START 100; CREATE SEQUENCE shrinking AS bigint MAXVALUE 5000; CREATE TABLE item (id integer PRIMARY KEY DEFAULT nextval('counter'), x text);",
            after: "CREATE SEQUENCE counter START 100 INCREMENT 10 MAXVALUE 1000000 CACHE 5; CREATE SEQUENCE shrinking AS integer MAXVALUE 4000 CYCLE; CREATE TABLE item (id integer PRIMARY KEY DEFAULT nextval('counter'), x text);",
            seed: "INSERT INTO item (x) VALUES ('a'), ('b'), ('c');",
            rows: &[("item", 3)],
            check: "SELECT (nextval('counter') = 112 AND SUM(id) = 303)::int::bigint FROM item",
        },
    });

    #[tokio::test]
    async fn what_is_not_generated_is_named() {
        let Some(a) = db::fresh().await else { return };
        let Some(b) = db::fresh().await else { return };
        schema::run_script(&a.pool, "CREATE TABLE t (id integer);", "before.sql")
            .await
            .unwrap();
        schema::run_script(
            &b.pool,
            "CREATE TABLE t (id serial); CREATE DOMAIN positive AS integer CHECK (VALUE > 0); COMMENT ON TABLE t IS 'things';",
            "after.sql",
        )
        .await
        .unwrap();
        let (before, after) = (read(&a.pool).await, read(&b.pool).await);
        let generated = schema::generate(
            schema::Dialect::Postgres,
            &before,
            &after,
            &schema::Renames::default(),
            true,
        )
        .unwrap();
        for name in ["domain \"positive\" (added)", "comment on table \"t\" (added)"] {
            assert!(
                generated.not_generated.iter().any(|n| n == name),
                "{name} in {:?}",
                generated.not_generated
            );
        }
        assert_eq!(generated.not_generated.len(), 2, "{:?}", generated.not_generated);
    }
}

mod mysql {
    autogenerate!(crate::support::mysql, schema::Dialect::Mysql, {
        add_and_drop_a_table => Case {
            before: "CREATE TABLE keep (id int PRIMARY KEY); CREATE TABLE old (id int PRIMARY KEY, x text);",
            after: "CREATE TABLE keep (id int PRIMARY KEY); CREATE TABLE item (id bigint AUTO_INCREMENT PRIMARY KEY, name varchar(40) NOT NULL, price decimal(10, 2) DEFAULT 0);",
            seed: "INSERT INTO keep VALUES (1), (2);",
            rows: &[("keep", 2)],
            check: "",
        },
        add_and_drop_columns => Case {
            before: "CREATE TABLE account (id int PRIMARY KEY, name text, note text);",
            after: "CREATE TABLE account (id int PRIMARY KEY, name text, email varchar(100) NOT NULL DEFAULT '', age int);",
            seed: "INSERT INTO account VALUES (1, 'a', 'x'), (2, 'b', 'y'), (3, 'c', NULL);",
            rows: &[("account", 3)],
            check: "SELECT CAST(COUNT(*) = 3 AS SIGNED) FROM account WHERE email = ''",
        },
        types_widen_and_narrow => Case {
            before: "CREATE TABLE item (id int PRIMARY KEY, name varchar(40), qty int, big bigint, code varchar(80));",
            after: "CREATE TABLE item (id int PRIMARY KEY, name varchar(80), qty bigint, big int, code varchar(20));",
            seed: "INSERT INTO item VALUES (1, 'a', 2, 3, 'x'), (2, 'b', 3, 4, 'y');",
            rows: &[("item", 2)],
            check: "SELECT CAST(SUM(qty) = 5 AND SUM(big) = 7 AS SIGNED) FROM item",
        },
        nullability_and_defaults => Case {
            before: "CREATE TABLE item (id int PRIMARY KEY, name varchar(20), qty int NOT NULL DEFAULT 1, note varchar(20) DEFAULT 'n', made timestamp NULL);",
            after: "CREATE TABLE item (id int PRIMARY KEY, name varchar(20) NOT NULL, qty int DEFAULT 5, note varchar(20), made timestamp NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);",
            seed: "INSERT INTO item (id, name, qty) VALUES (1, 'a', 2), (2, 'b', 3);",
            rows: &[("item", 2)],
            check: "SELECT CAST(SUM(qty) = 5 AS SIGNED) FROM item",
        },
        auto_increment => Case {
            before: "CREATE TABLE a (id int NOT NULL PRIMARY KEY, x text); CREATE TABLE b (id int PRIMARY KEY);",
            after: "CREATE TABLE a (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, x text); CREATE TABLE b (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);",
            seed: "INSERT INTO a VALUES (1, 'a'), (5, 'b'); INSERT INTO b VALUES (1), (2);",
            rows: &[("a", 2), ("b", 2)],
            check: "",
        },
        generated_columns => Case {
            before: "CREATE TABLE box (w int, h int, d int GENERATED ALWAYS AS (w + h) STORED);",
            after: "CREATE TABLE box (w int, h int, d int GENERATED ALWAYS AS (w - h) STORED, area int GENERATED ALWAYS AS (w * h) VIRTUAL, per int AS (2 * (w + h)) STORED);",
            seed: "INSERT INTO box (w, h) VALUES (2, 3), (4, 5);",
            rows: &[("box", 2)],
            check: "SELECT CAST(SUM(area) = 26 AND SUM(d) = -2 AND SUM(per) = 28 AS SIGNED) FROM box",
        },
        a_generated_column_made_plain_keeps_its_values_and_its_index => Case {
            before: "CREATE TABLE item (price int, qty int, total int GENERATED ALWAYS AS (price * qty) STORED, area int AS (price + qty) VIRTUAL, KEY item_total (total), KEY item_qty_total (qty, total));",
            after: "CREATE TABLE item (price int, qty int, total int, area int, KEY item_total (total), KEY item_qty_total (qty, total));",
            seed: "INSERT INTO item (price, qty) VALUES (2, 3), (4, 5);",
            rows: &[("item", 2)],
            check: "SELECT CAST(SUM(total) = 26 AND SUM(area) = 14 AS SIGNED) FROM item",
        },
        primary_key_unique_and_indexes => Case {
            before: "CREATE TABLE item (id int NOT NULL PRIMARY KEY, code varchar(20) NOT NULL, name varchar(40), note text, shelf int, slot int, KEY item_old (shelf));",
            after: "CREATE TABLE item (id int NOT NULL, code varchar(20) NOT NULL PRIMARY KEY, name varchar(40) UNIQUE, note text, shelf int, slot int, UNIQUE KEY place (shelf, slot), KEY item_note (note(10)), KEY item_name_slot (name, slot));",
            seed: "INSERT INTO item VALUES (1, 'a', 'x', 'n', 1, 1), (2, 'b', 'y', 'm', 1, 2);",
            rows: &[("item", 2)],
            check: "",
        },
        composite_foreign_keys_with_actions => Case {
            before: "CREATE TABLE parent (a int, b int, PRIMARY KEY (a, b)); CREATE TABLE child (id int PRIMARY KEY, pa int, pb int); CREATE TABLE other (id int PRIMARY KEY, p int, CONSTRAINT other_p FOREIGN KEY (p) REFERENCES child (id));",
            after: "CREATE TABLE parent (a int, b int, PRIMARY KEY (a, b)); CREATE TABLE child (id int PRIMARY KEY, pa int, pb int, FOREIGN KEY (pa, pb) REFERENCES parent (a, b) ON DELETE CASCADE ON UPDATE SET NULL); CREATE TABLE other (id int PRIMARY KEY, p int, CONSTRAINT other_p FOREIGN KEY (p) REFERENCES child (id) ON DELETE SET NULL);",
            seed: "INSERT INTO parent VALUES (1, 1), (2, 2); INSERT INTO child VALUES (1, 1, 1), (2, 2, 2); INSERT INTO other VALUES (1, 1);",
            rows: &[("parent", 2), ("child", 2), ("other", 1)],
            check: "",
        },
        check_constraints => Case {
            before: "CREATE TABLE item (id int PRIMARY KEY, qty int CHECK (qty >= 0), code varchar(20), n int CHECK (n > 0), m int, CHECK (m <> 7), CONSTRAINT gone CHECK (m < 100));",
            after: "CREATE TABLE item (id int PRIMARY KEY, qty int CHECK (qty >= 1), code varchar(20), n bigint CHECK (n > 0), m int, CHECK (m <> 7), CONSTRAINT named_check CHECK (length(code) > 0)); CREATE TABLE fresh (id int PRIMARY KEY, k int CHECK (k > 0));",
            seed: "INSERT INTO item VALUES (1, 1, 'a', 1, 1), (2, 2, 'b', 2, 2);",
            rows: &[("item", 2)],
            check: "",
        },
        views_are_recreated_around_their_tables => Case {
            before: "CREATE TABLE item (id int PRIMARY KEY, name varchar(20)); CREATE VIEW named AS SELECT name FROM item; CREATE VIEW upper_named AS SELECT upper(name) AS u FROM named; CREATE VIEW gone AS SELECT 1 AS one;",
            after: "CREATE TABLE item (id int PRIMARY KEY, name varchar(80) NOT NULL DEFAULT ''); CREATE VIEW named AS SELECT name FROM item WHERE name <> ''; CREATE VIEW upper_named AS SELECT upper(name) AS u FROM named; CREATE VIEW fresh AS SELECT id FROM item;",
            seed: "INSERT INTO item (id, name) VALUES (1, 'a');",
            rows: &[("item", 1)],
            check: "SELECT CAST(COUNT(*) = 1 AS SIGNED) FROM upper_named",
        },
        renames_declared_in_the_schema_file => Case {
            before: "CREATE TABLE customer (id int PRIMARY KEY, mail varchar(100)); CREATE INDEX customer_mail ON customer (mail);",
            after: "-- migrate:renamed-from customer\nCREATE TABLE account (\n  id int PRIMARY KEY,\n  -- migrate:renamed-from mail\n  email varchar(100)\n);\nCREATE INDEX customer_mail ON account (email);",
            seed: "INSERT INTO customer VALUES (1, 'a@x'), (2, 'b@x');",
            rows: &[("account", 2)],
            check: "SELECT CAST(COUNT(*) = 2 AS SIGNED) FROM account WHERE email LIKE '%@x'",
        },
        swapped_tables_and_columns_go_through_a_temporary_name => Case {
            before: "CREATE TABLE a (id int PRIMARY KEY, x varchar(20)); CREATE TABLE b (id int PRIMARY KEY, first varchar(20), n int);",
            after: "-- migrate:renamed-from b\nCREATE TABLE a (\n  id int PRIMARY KEY,\n  -- migrate:renamed-from n\n  first int,\n  -- migrate:renamed-from first\n  n varchar(20)\n);\n-- migrate:renamed-from a\nCREATE TABLE b (id int PRIMARY KEY, x varchar(20));",
            seed: "INSERT INTO a VALUES (1, 'one'), (2, 'two'); INSERT INTO b VALUES (1, 'ada', 7);",
            rows: &[("a", 1), ("b", 2)],
            check: "SELECT CAST((SELECT COUNT(*) FROM b WHERE x IN ('one', 'two')) = 2 AND (SELECT n FROM a) = 'ada' AND (SELECT first FROM a) = 7 AS SIGNED)",
        },
        duplicate_keys_and_checks_under_two_names => Case {
            before: "CREATE TABLE parent (id int PRIMARY KEY); CREATE TABLE child (id int PRIMARY KEY, pid int, CONSTRAINT fk_one FOREIGN KEY (pid) REFERENCES parent (id), CONSTRAINT small CHECK (pid < 100));",
            after: "CREATE TABLE parent (id int PRIMARY KEY, UNIQUE KEY parent_id (id), UNIQUE KEY parent_id_again (id)); CREATE TABLE child (id int PRIMARY KEY, pid int, CONSTRAINT fk_first FOREIGN KEY (pid) REFERENCES parent (id), CONSTRAINT fk_two FOREIGN KEY (pid) REFERENCES parent (id), CONSTRAINT below_100 CHECK (pid < 100), CONSTRAINT also_small CHECK (pid < 100));",
            seed: "INSERT INTO parent VALUES (1), (2); INSERT INTO child VALUES (1, 1), (2, 2);",
            rows: &[("parent", 2), ("child", 2)],
            check: "SELECT CAST(COUNT(*) = 2 AS SIGNED) FROM information_schema.referential_constraints WHERE constraint_schema = DATABASE()",
        },
    });

    #[tokio::test]
    async fn what_is_not_generated_is_named() {
        let Some(a) = db::fresh().await else { return };
        let Some(b) = db::fresh().await else { return };
        schema::run_script(&a.pool, "CREATE TABLE t (id int, n int);", "before.sql")
            .await
            .unwrap();
        schema::run_script(
            &b.pool,
            "CREATE TABLE t (id int, n int) COMMENT 'things'; CREATE TRIGGER t_ins BEFORE INSERT ON t FOR EACH ROW SET NEW.n = NEW.n + 1; CREATE FUNCTION twice(x int) RETURNS int DETERMINISTIC RETURN x * 2;",
            "after.sql",
        )
        .await
        .unwrap();
        let (before, after) = (read(&a.pool).await, read(&b.pool).await);
        let generated = schema::generate(
            schema::Dialect::Mysql,
            &before,
            &after,
            &schema::Renames::default(),
            true,
        )
        .unwrap();
        for name in [
            "trigger \"t_ins\" (added)",
            "function \"twice\" (added)",
            "comment on table \"t\" (added)",
        ] {
            assert!(
                generated.not_generated.iter().any(|n| n == name),
                "{name} in {:?}",
                generated.not_generated
            );
        }
        assert_eq!(generated.not_generated.len(), 3, "{:?}", generated.not_generated);
    }
}
