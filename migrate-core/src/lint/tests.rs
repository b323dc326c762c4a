//! The rules, each on its unsafe form, its safe form, a table the same
//! revision created and a waiver, through one `check`.

use super::*;
use crate::migration::{Directives, MigrationParts};
use std::time::Duration;

/// Lints a history written as revisions, each after a line `@ id flags`
/// (flags: `notx`, `contract`, `fkoff`, `nolock` for no lock timeout,
/// `allow:RULE`), each the child of the one before; `expect` is the
/// findings as `rule@revision:line`, space-separated.
fn check(dialect: Dialect, spec: &str, expect: &str) {
    let list = history(spec);
    let got = lint(&list, dialect, &Config::default()).unwrap();
    let got: Vec<String> = got
        .findings
        .iter()
        .map(|f| format!("{}@{}:{}", f.rule, f.revision, f.line))
        .collect();
    assert_eq!(got.join(" "), expect, "{spec}");
}

fn history(spec: &str) -> Vec<Migration> {
    let mut list: Vec<Migration> = Vec::new();
    let mut current: Option<(String, Vec<String>)> = None;
    let mut sql = String::new();
    let flush = |current: &mut Option<(String, Vec<String>)>, sql: &mut String, list: &mut Vec<Migration>| {
        let Some((id, flags)) = current.take() else { return };
        let has = |f: &str| flags.iter().any(|x| x == f);
        let parent = list.last().map(|m| m.revision().to_owned());
        let m = Migration::new(MigrationParts {
            revision: id.clone(),
            down_revisions: parent.into_iter().collect(),
            upgrade: std::mem::take(sql).trim().to_owned(),
            no_transaction: has("notx"),
            directives: Directives {
                phase: has("contract").then_some(Phase::Contract),
                lock_timeout: (!has("nolock")).then_some(Duration::from_secs(5)),
                statement_timeout: None,
                foreign_keys_off: has("fkoff"),
                max_lock: None,
            },
            file: format!("migrations/{id}_m.sql"),
            ..Default::default()
        });
        let allowed = flags
            .iter()
            .filter_map(|f| f.strip_prefix("allow:"))
            .map(str::to_owned)
            .collect();
        list.push(m.located(1, allowed));
    };
    for line in spec.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(head) = line.strip_prefix('@') {
            flush(&mut current, &mut sql, &mut list);
            let mut words = head.split_whitespace().map(str::to_owned);
            current = Some((words.next().unwrap(), words.collect()));
        } else {
            sql.push_str(line);
            sql.push('\n');
        }
    }
    flush(&mut current, &mut sql, &mut list);
    list
}

const PG: Dialect = Dialect::Postgres;
const MY: Dialect = Dialect::Mysql;
const LITE: Dialect = Dialect::Sqlite;

/// The table `t` created by the first revision, `a`.
const T: &str = "@ a\nCREATE TABLE t (id int, name varchar(20), price numeric(10, 2), net cidr, c text);\n";

#[test]
fn index_without_concurrently() {
    check(
        PG,
        &format!("{T}@ b\nCREATE INDEX i ON t (id);"),
        "index-without-concurrently@b:1",
    );
    check(
        PG,
        &format!("{T}@ b\nCREATE UNIQUE INDEX i ON public.t (id);"),
        "index-without-concurrently@b:1",
    );
    check(PG, &format!("{T}@ b notx\nCREATE INDEX CONCURRENTLY i ON t (id);"), "");
    // The same revision made the table: it is empty.
    check(PG, "@ a\nCREATE TABLE t (id int);\nCREATE INDEX i ON t (id);", "");
    // A table no revision created existed before the history.
    check(
        PG,
        "@ a\nCREATE INDEX i ON legacy (id);",
        "index-without-concurrently@a:1",
    );
    check(
        PG,
        &format!("{T}@ b allow:index-without-concurrently\nCREATE INDEX i ON t (id);"),
        "",
    );
}

/// `DROP INDEX` locks the table out while it waits and drops; `REINDEX`
/// blocks its writes while it rebuilds: both with `CONCURRENTLY` outside a
/// transaction, unless the table is new.
#[test]
fn index_dropped_or_rebuilt_without_concurrently() {
    let made = "@ b notx\nCREATE INDEX CONCURRENTLY ti ON t (id);\n";
    check(
        PG,
        &format!("{T}{made}@ c\nDROP INDEX ti;"),
        "index-without-concurrently@c:1",
    );
    check(
        PG,
        &format!("{T}{made}@ c\nDROP INDEX IF EXISTS public.ti, legacy_i;"),
        "index-without-concurrently@c:1 index-without-concurrently@c:1",
    );
    check(
        PG,
        &format!("{T}{made}@ c\nREINDEX INDEX ti;\nREINDEX (VERBOSE) TABLE t;"),
        "index-without-concurrently@c:1 index-without-concurrently@c:2",
    );
    check(
        PG,
        &format!("{T}{made}@ c notx\nDROP INDEX CONCURRENTLY ti;\nREINDEX TABLE CONCURRENTLY t;"),
        "",
    );
    // On a table this revision made: nothing to wait for.
    check(
        PG,
        "@ a\nCREATE TABLE n (id int);\nCREATE INDEX ni ON n (id);\nDROP INDEX ni;\nREINDEX TABLE n;",
        "",
    );
}

/// A unique, primary key or exclusion constraint builds its index under
/// the strongest lock; one that takes an index built concurrently does not.
#[test]
fn unique_constraint_builds_index() {
    for add in [
        "ADD CONSTRAINT u UNIQUE (name)",
        "ADD PRIMARY KEY (id)",
        "ADD COLUMN code int UNIQUE",
        "ADD CONSTRAINT ex EXCLUDE USING gist (net inet_ops WITH &&)",
        "ADD CONSTRAINT u UNIQUE (name) USING INDEX TABLESPACE fast",
    ] {
        check(
            PG,
            &format!("{T}@ b\nALTER TABLE t {add};"),
            "unique-constraint-builds-index@b:1",
        );
    }
    check(
        PG,
        &format!(
            "{T}@ b notx\nCREATE UNIQUE INDEX CONCURRENTLY tn ON t (name);\n@ c\nALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX tn;\nALTER TABLE t ADD CONSTRAINT p PRIMARY KEY USING INDEX tn;"
        ),
        "",
    );
    check(
        PG,
        "@ a\nCREATE TABLE n (id int);\nALTER TABLE n ADD PRIMARY KEY (id);",
        "",
    );
    check(
        PG,
        &format!("{T}@ b allow:unique-constraint-builds-index\nALTER TABLE t ADD UNIQUE (id);"),
        "",
    );
}

/// `NOT NULL` without a default fails on the first existing row.
#[test]
fn required_column_without_default() {
    check(
        PG,
        &format!("{T}@ b\nALTER TABLE t ADD COLUMN done boolean NOT NULL;"),
        "required-column-without-default@b:1",
    );
    for fine in [
        "ADD COLUMN done boolean NOT NULL DEFAULT false",
        "ADD COLUMN done boolean",
        "ADD COLUMN n bigint NOT NULL GENERATED BY DEFAULT AS IDENTITY",
        "ADD COLUMN d int NOT NULL GENERATED ALWAYS AS (id * 2) STORED",
    ] {
        let found = format!("{T}@ b\nALTER TABLE t {fine};");
        let got = lint(&history(&found), PG, &Config::default()).unwrap();
        assert!(
            got.findings.iter().all(|f| f.rule != "required-column-without-default"),
            "{fine}: {:?}",
            got.findings
        );
    }
    check(
        PG,
        "@ a\nCREATE TABLE n (id int);\nALTER TABLE n ADD COLUMN done boolean NOT NULL;",
        "",
    );
}

/// What rewrites the whole table, found by the server's own measure
/// (its file changes): stored generated and identity columns added,
/// persistence, tablespace and access method changes, `VACUUM FULL`, `CLUSTER`.
#[test]
fn table_rewrite() {
    for rewrites in [
        "ALTER TABLE t ADD COLUMN d int GENERATED ALWAYS AS (id * 2) STORED;",
        "ALTER TABLE t ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY;",
        "ALTER TABLE t SET UNLOGGED;",
        "ALTER TABLE t SET LOGGED;",
        "ALTER TABLE t SET TABLESPACE fast;",
        "ALTER TABLE t SET ACCESS METHOD heap2;",
        "VACUUM FULL t;",
        "VACUUM (FULL, ANALYZE) t;",
        "CLUSTER t USING t_pkey;",
    ] {
        check(PG, &format!("{T}@ b notx\n{rewrites}"), "table-rewrite@b:1");
    }
    for fine in [
        "ALTER TABLE t ADD COLUMN d int GENERATED ALWAYS AS (id * 2) VIRTUAL;",
        "VACUUM t;",
        "VACUUM FULL;",
        "ALTER TABLE t SET (fillfactor = 90);",
    ] {
        check(PG, &format!("{T}@ b notx\n{fine}"), "");
    }
    check(PG, "@ a\nCREATE TABLE n (id int);\nALTER TABLE n SET UNLOGGED;", "");
}

/// Lines point at the statement, not at the comments above it.
#[test]
fn lines_skip_the_comments_above_a_statement() {
    check(
        PG,
        &format!("{T}@ b\nSELECT 1;\n-- speed up lookups\n/* ticket 42 */\nCREATE INDEX i ON t (c);"),
        "index-without-concurrently@b:4",
    );
}

/// A partitioned table takes no `CONCURRENTLY`: its index is made `ON ONLY`
/// it (nothing built) and attached partition by partition, which the
/// finding says.
#[test]
fn indexes_of_a_partitioned_table() {
    let made = "@ a\nCREATE TABLE m (id int, at date) PARTITION BY RANGE (at);\nCREATE TABLE m1 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\n";
    check(PG, &format!("{made}@ b\nCREATE INDEX m_at ON ONLY m (at);"), "");
    let whole = history(&format!("{made}@ b\nCREATE INDEX m_at ON m (at);"));
    let found = lint(&whole, PG, &Config::default()).unwrap().findings;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].message.contains("ATTACH PARTITION"), "{}", found[0].message);
}

#[test]
fn concurrently_in_transaction() {
    check(
        PG,
        &format!("{T}@ b\nCREATE INDEX CONCURRENTLY i ON t (id);"),
        "concurrently-in-transaction@b:1",
    );
    check(
        PG,
        &format!("{T}@ b\nSELECT 1;\nDROP INDEX CONCURRENTLY i;"),
        "concurrently-in-transaction@b:2",
    );
    check(
        PG,
        &format!("{T}@ b\nREINDEX INDEX CONCURRENTLY i;"),
        "concurrently-in-transaction@b:1",
    );
    check(
        PG,
        &format!("{T}@ b notx\nDROP INDEX CONCURRENTLY i;\nREINDEX TABLE CONCURRENTLY t;"),
        "",
    );
    check(
        PG,
        &format!("{T}@ b allow:concurrently-in-transaction\nDROP INDEX CONCURRENTLY i;"),
        "",
    );
}

#[test]
fn constraint_without_not_valid() {
    let fk = "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES u (id)";
    check(PG, &format!("{T}@ b\n{fk};"), "constraint-without-not-valid@b:1");
    check(
        PG,
        &format!("{T}@ b\nALTER TABLE t ADD CHECK (id > 0);"),
        "constraint-without-not-valid@b:1",
    );
    check(
        PG,
        &format!("{T}@ b\nALTER TABLE t ADD COLUMN u int REFERENCES u;"),
        "constraint-without-not-valid@b:1",
    );
    check(
        PG,
        &format!("{T}@ b\n{fk} NOT VALID;\n@ c\nALTER TABLE t VALIDATE CONSTRAINT fk;"),
        "",
    );
    check(PG, &format!("@ a\nCREATE TABLE t (id int);\n{fk};"), "");
    check(PG, &format!("{T}@ b allow:constraint-without-not-valid\n{fk};"), "");
    // Validated in the transaction that added it: the addition's lock is held while it reads.
    let both = format!("{fk} NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT fk;");
    check(PG, &format!("{T}@ b\n{both}"), "constraint-without-not-valid@b:2");
    check(PG, &format!("{T}@ b notx\n{both}"), "");
}

#[test]
fn set_not_null() {
    let set = "ALTER TABLE t ALTER COLUMN name SET NOT NULL;";
    check(PG, &format!("{T}@ b\n{set}"), "set-not-null@b:1");
    // A validated check first, in an earlier revision or earlier in the same one.
    let checked = "ALTER TABLE t ADD CONSTRAINT n CHECK (name IS NOT NULL) NOT VALID;";
    check(
        PG,
        &format!("{T}@ b\n{checked}\n@ c\nALTER TABLE t VALIDATE CONSTRAINT n;\n{set}"),
        "",
    );
    check(
        PG,
        &format!("{T}@ b\n{checked}\n@ c\nALTER TABLE t VALIDATE CONSTRAINT n;\n@ d\n{set}"),
        "",
    );
    // Not validated: the check does not help.
    check(PG, &format!("{T}@ b\n{checked}\n@ c\n{set}"), "set-not-null@c:1");
    check(PG, &format!("@ a\nCREATE TABLE t (name text);\n{set}"), "");
    check(PG, &format!("{T}@ b allow:set-not-null\n{set}"), "");
}

#[test]
fn column_type_rewrite() {
    let to = |ty: &str| format!("{T}@ b\nALTER TABLE t ALTER COLUMN {ty};");
    check(PG, &to("id TYPE bigint"), "column-type-rewrite@b:1");
    check(PG, &to("name TYPE varchar(10)"), "column-type-rewrite@b:1");
    check(PG, &to("price TYPE numeric(12, 3)"), "column-type-rewrite@b:1");
    check(PG, &to("c TYPE varchar(5)"), "column-type-rewrite@b:1");
    check(PG, &to("unknown TYPE text"), "column-type-rewrite@b:1");
    for safe in [
        "name TYPE varchar(40)",
        "name SET DATA TYPE character varying(20)",
        "name TYPE text",
        "name TYPE varchar",
        "price TYPE numeric(12, 2)",
        "price TYPE numeric",
        "net TYPE inet",
    ] {
        check(PG, &to(safe), "");
    }
    // An array is rewritten even where its element type would widen; more
    // fractional seconds are not.
    let arrays = "@ a\nCREATE TABLE t (tags varchar(10)[], at timestamp(3), zt timestamptz(3), lt timestamp);\n";
    check(
        PG,
        &format!("{arrays}@ b\nALTER TABLE t ALTER tags TYPE varchar(20)[];"),
        "column-type-rewrite@b:1",
    );
    check(
        PG,
        &format!(
            "{arrays}@ b\nALTER TABLE t ALTER at TYPE timestamp(6), ALTER zt TYPE timestamp with time zone, ALTER lt TYPE timestamp(6);"
        ),
        "",
    );
    check(
        PG,
        &format!("{arrays}@ b\nALTER TABLE t ALTER lt TYPE timestamp(3);"),
        "column-type-rewrite@b:1",
    );
    let zone = lint(
        &history(&format!("{arrays}@ b\nALTER TABLE t ALTER lt TYPE timestamptz;")),
        PG,
        &Config::default(),
    )
    .unwrap();
    assert!(
        zone.findings[0]
            .message
            .ends_with("unless the server's `TimeZone` is UTC"),
        "{:?}",
        zone.findings
    );
    // The type an earlier change left is the one read.
    check(
        PG,
        &format!("{T}@ b\nALTER TABLE t ALTER name TYPE text;\n@ c\nALTER TABLE t ALTER name TYPE varchar(5);"),
        "column-type-rewrite@c:1",
    );
    check(
        PG,
        &format!("{T}@ b\nALTER TABLE t ADD COLUMN v varchar(5);\n@ c\nALTER TABLE t ALTER v TYPE varchar(9);"),
        "",
    );
    check(
        PG,
        "@ a\nCREATE TABLE t (id int);\nALTER TABLE t ALTER id TYPE bigint;",
        "",
    );
    check(
        PG,
        &format!("{T}@ b allow:column-type-rewrite\nALTER TABLE t ALTER id TYPE bigint;"),
        "",
    );
}

#[test]
fn volatile_default() {
    check(
        PG,
        &format!("{T}@ b\nALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();"),
        "volatile-default@b:1",
    );
    check(
        PG,
        &format!("{T}@ b\nALTER TABLE t ADD r float8 NOT NULL DEFAULT random();"),
        "volatile-default@b:1",
    );
    check(
        PG,
        &format!("{T}@ b\nALTER TABLE t ADD COLUMN n bigserial;"),
        "volatile-default@b:1",
    );
    check(
        PG,
        &format!("{T}@ b\nALTER TABLE t ADD COLUMN at timestamptz DEFAULT now(), ADD z int DEFAULT 0;"),
        "",
    );
    check(
        PG,
        &format!("{T}@ b\nALTER TABLE t ADD COLUMN at timestamptz DEFAULT CURRENT_TIMESTAMP;"),
        "",
    );
    check(
        PG,
        "@ a\nCREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();",
        "",
    );
    check(
        PG,
        &format!("{T}@ b allow:volatile-default\nALTER TABLE t ADD COLUMN n serial;"),
        "",
    );
}

#[test]
fn rename_or_drop_outside_contract() {
    for dialect in [PG, MY, LITE] {
        check(
            dialect,
            &format!("{T}@ b\nDROP TABLE t;"),
            "rename-or-drop-outside-contract@b:1",
        );
        check(
            dialect,
            &format!("{T}@ b\nALTER TABLE t DROP COLUMN c;"),
            "rename-or-drop-outside-contract@b:1",
        );
        check(
            dialect,
            &format!("{T}@ b\nALTER TABLE t RENAME COLUMN c TO d;"),
            "rename-or-drop-outside-contract@b:1",
        );
        check(
            dialect,
            &format!("{T}@ b\nALTER TABLE t RENAME TO u;"),
            "rename-or-drop-outside-contract@b:1",
        );
        check(
            dialect,
            &format!("{T}@ b contract\nDROP TABLE t;\nALTER TABLE u DROP COLUMN c;"),
            "",
        );
        check(
            dialect,
            "@ a\nCREATE TABLE t (id int);\nALTER TABLE t DROP COLUMN id;\nDROP TABLE t;",
            "",
        );
        check(
            dialect,
            &format!("{T}@ b allow:rename-or-drop-outside-contract\nDROP TABLE t;"),
            "",
        );
    }
    check(
        MY,
        &format!("{T}@ b\nRENAME TABLE t TO u;"),
        "rename-or-drop-outside-contract@b:1",
    );
    check(
        MY,
        &format!("{T}@ b\nALTER TABLE t CHANGE c d text, ALGORITHM=INSTANT;"),
        "rename-or-drop-outside-contract@b:1",
    );
    check(
        PG,
        &format!("{T}@ b\nALTER TABLE t DROP CONSTRAINT k, ALTER c DROP DEFAULT;"),
        "",
    );
}

#[test]
fn missing_lock_timeout() {
    let t = T.replace("@ a", "@ a nolock");
    check(
        PG,
        &format!("{t}@ b nolock\nSELECT 1;\nALTER TABLE t ADD COLUMN x int;\nALTER TABLE t ADD COLUMN y int;"),
        "missing-lock-timeout@b:2",
    );
    check(
        MY,
        &format!("{t}@ b nolock\nALTER TABLE t ADD COLUMN x int, ALGORITHM=INSTANT;"),
        "missing-lock-timeout@b:1",
    );
    check(PG, &format!("{t}@ b\nALTER TABLE t ADD COLUMN x int;"), "");
    check(LITE, &format!("{t}@ b nolock\nALTER TABLE t ADD COLUMN x int;"), "");
    check(
        PG,
        &format!("{t}@ b nolock allow:missing-lock-timeout\nALTER TABLE t ADD COLUMN x int;"),
        "",
    );
    // A lock timeout for every run (ddl_lock_timeout) is one for this revision.
    let list = history(&format!("{t}@ b nolock\nALTER TABLE t ADD COLUMN x int;"));
    let config = Config {
        run_lock_timeout: true,
        ..Config::default()
    };
    assert!(lint(&list, PG, &config).unwrap().findings.is_empty());
}

#[test]
fn enum_value_used_in_transaction() {
    let add = "@ a\nALTER TYPE mood ADD VALUE 'meh';";
    check(
        PG,
        &format!("{add}\nUPDATE t SET m = 'meh';"),
        "enum-value-used-in-transaction@a:2",
    );
    check(PG, &format!("{add}\nUPDATE t SET m = 'fine';"), "");
    check(PG, &format!("{add}\n@ b\nUPDATE t SET m = 'meh';"), "");
    check(
        PG,
        "@ a notx\nALTER TYPE mood ADD VALUE 'meh';\nUPDATE t SET m = 'meh';",
        "",
    );
    check(
        PG,
        "@ a allow:enum-value-used-in-transaction\nALTER TYPE mood ADD VALUE 'meh';\nUPDATE t SET m = 'meh';",
        "",
    );
}

#[test]
fn mysql_table_copy() {
    check(
        MY,
        &format!("{T}@ b\nALTER TABLE t MODIFY name varchar(50);"),
        "mysql-table-copy@b:1",
    );
    check(
        MY,
        &format!("{T}@ b\nALTER TABLE t ADD PRIMARY KEY (id);"),
        "mysql-table-copy@b:1",
    );
    check(
        MY,
        &format!("{T}@ b\nALTER TABLE t CONVERT TO CHARACTER SET utf8mb4;"),
        "mysql-table-copy@b:1",
    );
    check(
        MY,
        &format!("{T}@ b\nALTER TABLE t ENGINE=InnoDB;"),
        "mysql-table-copy@b:1",
    );
    check(
        MY,
        &format!("{T}@ b\nALTER TABLE t MODIFY name varchar(50), ALGORITHM=INPLACE, LOCK=NONE;"),
        "",
    );
    check(
        MY,
        &format!("{T}@ b\nALTER TABLE t MODIFY name varchar(50), ALGORITHM=INPLACE;"),
        "mysql-table-copy@b:1",
    );
    check(
        MY,
        &format!("{T}@ b\nALTER TABLE t ADD COLUMN x int, ALGORITHM=INSTANT;"),
        "",
    );
    check(MY, &format!("{T}@ b\nALTER TABLE t ADD COLUMN x int;"), "");
    check(MY, "@ a\nCREATE TABLE t (id int);\nALTER TABLE t MODIFY id bigint;", "");
    check(MY, &format!("{T}@ b allow:mysql-table-copy\nALTER TABLE t FORCE;"), "");
    // What MariaDB refuses to do in place with writes going on (checked on the server).
    for copies in [
        "ADD COLUMN g int AS (id * 2) STORED",
        "ADD COLUMN g int GENERATED ALWAYS AS (id * 2) PERSISTENT",
        "ADD COLUMN n int AUTO_INCREMENT UNIQUE",
        "ADD CONSTRAINT ck CHECK (id > 0)",
        "ADD FULLTEXT INDEX f (c)",
        "ADD SPATIAL INDEX s (c)",
        "ADD COLUMN x int, ALGORITHM=COPY",
    ] {
        check(MY, &format!("{T}@ b\nALTER TABLE t {copies};"), "mysql-table-copy@b:1");
    }
    check(
        MY,
        &format!("{T}@ b\nALTER TABLE t ADD COLUMN g int AS (id * 2) VIRTUAL;"),
        "",
    );
}

/// A copy of a table swapped in for it: SQLite's rebuild (its write lock
/// holds writes off), elsewhere writes made after the copy are lost.
#[test]
fn a_copy_swapped_in_loses_writes_outside_sqlite() {
    let swap =
        "CREATE TABLE t2 (id int);\nINSERT INTO t2 SELECT id FROM t;\nDROP TABLE t;\nALTER TABLE t2 RENAME TO t;";
    // Where the copy takes the table's name, in any phase.
    check(PG, &format!("{T}@ b\n{swap}"), "table-rewrite@b:4");
    check(PG, &format!("{T}@ b contract\n{swap}"), "table-rewrite@b:4");
    check(MY, &format!("{T}@ b\n{swap}"), "mysql-table-copy@b:4");
    check(LITE, &format!("{T}@ b fkoff\n{swap}"), "");
    // MySQL's own swap: `RENAME TABLE` of both at once.
    check(
        MY,
        &format!(
            "{T}@ b contract\nCREATE TABLE t_new LIKE t;\nINSERT INTO t_new SELECT * FROM t;\nRENAME TABLE t TO t_old, t_new TO t;\nDROP TABLE t_old;"
        ),
        "mysql-table-copy@b:3",
    );
    // A table dropped and made again empty copies nothing.
    check(
        PG,
        &format!("{T}@ b\nDROP TABLE IF EXISTS t;\nCREATE TABLE t (k text);"),
        "",
    );
}

/// The index of a dropped table went with it: dropping it again waits for nothing.
#[test]
fn an_index_gone_with_its_table() {
    check(
        PG,
        &format!(
            "{T}@ b notx\nCREATE INDEX CONCURRENTLY ti ON t (id);\n@ c contract\nDROP TABLE t;\nDROP INDEX IF EXISTS ti;\n@ d\nDROP INDEX IF EXISTS ti;"
        ),
        "",
    );
}

/// A MariaDB anonymous block runs its statements where it stands: they are
/// linted as if written alone.
#[test]
fn mysql_anonymous_blocks_are_read_inside() {
    check(
        MY,
        &format!("{T}@ b\nBEGIN NOT ATOMIC\nDECLARE x INT;\nALTER TABLE t DROP COLUMN c;\nEND;"),
        "rename-or-drop-outside-contract@b:3",
    );
    check(
        MY,
        &format!("{T}@ b contract\nBEGIN NOT ATOMIC\nDECLARE x INT;\nALTER TABLE t DROP COLUMN c;\nEND;"),
        "",
    );
}

#[test]
fn mysql_foreign_key_existing() {
    let fk = "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES u (id)";
    check(MY, &format!("{T}@ b\n{fk};"), "mysql-foreign-key-existing@b:1");
    check(MY, &format!("{T}@ b fkoff\n{fk}, ALGORITHM=INPLACE, LOCK=NONE;"), "");
    check(MY, &format!("@ a\nCREATE TABLE t (id int);\n{fk};"), "");
    check(MY, &format!("{T}@ b allow:mysql-foreign-key-existing\n{fk};"), "");
}

#[test]
fn mysql_unique_index_existing() {
    check(
        MY,
        &format!("{T}@ b\nCREATE UNIQUE INDEX u ON t (id);"),
        "mysql-unique-index-existing@b:1",
    );
    check(
        MY,
        &format!("{T}@ b\nALTER TABLE t ADD UNIQUE KEY u (id), ALGORITHM=INPLACE, LOCK=NONE;"),
        "mysql-unique-index-existing@b:1",
    );
    check(
        MY,
        &format!("{T}@ b\nALTER TABLE t ADD CONSTRAINT u UNIQUE (id);"),
        "mysql-unique-index-existing@b:1",
    );
    check(MY, &format!("{T}@ b\nCREATE INDEX i ON t (id);"), "");
    check(
        MY,
        "@ a\nCREATE TABLE t (id int);\nCREATE UNIQUE INDEX u ON t (id);",
        "",
    );
    check(
        MY,
        &format!("{T}@ b allow:mysql-unique-index-existing\nCREATE UNIQUE INDEX u ON t (id);"),
        "",
    );
}

#[test]
fn sqlite_rebuild_without_foreign_keys_off() {
    let rebuild = "CREATE TABLE t_new (id int NOT NULL);\nINSERT INTO t_new SELECT id FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;";
    check(
        LITE,
        &format!("{T}@ b\n{rebuild}"),
        "sqlite-rebuild-without-foreign-keys-off@b:3",
    );
    check(LITE, &format!("{T}@ b fkoff\n{rebuild}"), "");
    check(LITE, &format!("@ a\nCREATE TABLE t (id int);\n{rebuild}"), "");
    check(
        LITE,
        &format!("{T}@ b allow:sqlite-rebuild-without-foreign-keys-off\n{rebuild}"),
        "",
    );
    // The rule is SQLite's; elsewhere the same copy loses writes (`a_copy_swapped_in_…`).
    check(PG, &format!("{T}@ b\n{rebuild}"), "table-rewrite@b:4");
}

#[test]
fn lint_from_shipped_and_levels() {
    let spec = format!("{T}@ b\nCREATE INDEX i ON t (id);\n@ c\nCREATE INDEX j ON t (id);");
    let list = history(&spec);
    let found = |config: Config| {
        let report = lint(&list, PG, &config).unwrap();
        report
            .findings
            .iter()
            .map(|f| format!("{}:{}", f.revision, f.severity.as_str()))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(found(Config::default()), "b:error c:error");
    assert_eq!(
        found(Config {
            from: Some("b".into()),
            ..Config::default()
        }),
        "c:error"
    );
    assert_eq!(
        found(Config {
            shipped: ["c".to_owned()].into(),
            ..Config::default()
        }),
        "b:error"
    );
    let levels = |level| [("index-without-concurrently".to_owned(), level)].into();
    assert_eq!(
        found(Config {
            levels: levels(Level::Warning),
            ..Config::default()
        }),
        "b:warning c:warning"
    );
    assert_eq!(
        found(Config {
            levels: levels(Level::Off),
            ..Config::default()
        }),
        ""
    );
    let unknown = Config {
        levels: [("no-such-rule".to_owned(), Level::Off)].into(),
        ..Config::default()
    };
    assert!(matches!(lint(&list, PG, &unknown), Err(LintError::UnknownRule(_))));
    let from = Config {
        from: Some("zz".into()),
        ..Config::default()
    };
    assert!(matches!(lint(&list, PG, &from), Err(LintError::UnknownFrom(..))));
}

#[test]
fn lint_from_a_squashed_revision_starts_after_its_baseline() {
    // `a` and `b` squashed into the baseline `z`; `c` above it.
    let mut list = history(&format!(
        "@ z
CREATE TABLE t (id int);
CREATE INDEX i ON t (id);
@ c
CREATE INDEX j ON t (id);"
    ));
    list[0] = list[0].clone().with_squash(vec!["a".into(), "b".into()], "v1".into());
    let from = |rev: &str| Config {
        from: Some(rev.into()),
        ..Config::default()
    };
    for squashed in ["a", "b"] {
        let report = lint(&list, PG, &from(squashed)).unwrap();
        let found: Vec<&str> = report.findings.iter().map(|f| f.revision.as_str()).collect();
        assert_eq!(found, ["c"], "lint_from = {squashed}");
    }
    assert!(matches!(lint(&list, PG, &from("zz")), Err(LintError::UnknownFrom(..))));
}

#[test]
fn lines_are_the_files_and_waivers_are_read_from_the_header() {
    let file = "-- add index\n--\n-- revision: b\n-- down_revision: a\n-- migrate:lock-timeout: 5s\n\n-- migrate:upgrade\n\nSELECT 1;\n\nCREATE INDEX i ON t (id);\n";
    let parsed = crate::format::parse("migrations/b_x.sql", file).unwrap();
    let report = lint(&[parsed.migration], PG, &Config::default()).unwrap();
    assert_eq!(report.findings.len(), 1);
    let f = &report.findings[0];
    assert_eq!((f.rule, f.line), ("index-without-concurrently", 11));
    assert_eq!(
        f.to_string().lines().take(2).collect::<Vec<_>>(),
        [
            "error[index-without-concurrently]: `CREATE INDEX` on the existing table `t` without `CONCURRENTLY`: writes to `t` wait until the index is built",
            "  --> migrations/b_x.sql:11"
        ]
    );
    let waived = file.replace(
        "-- migrate:upgrade",
        "-- migrate:allow index-without-concurrently: t holds ten rows\n-- migrate:upgrade",
    );
    let parsed = crate::format::parse("migrations/b_x.sql", &waived).unwrap();
    let report = lint(&[parsed.migration], PG, &Config::default()).unwrap();
    assert_eq!((report.findings.len(), report.waived), (0, 1));
}

#[test]
fn a_waiver_needs_a_known_rule_and_a_reason() {
    let with = |line: &str| {
        let file = format!("-- m\n-- revision: b\n-- down_revision:\n{line}\n-- migrate:upgrade\nSELECT 1;\n");
        let e = crate::format::parse("migrations/b_x.sql", &file).unwrap_err();
        assert_eq!(
            (e[0].kind, e[0].line),
            (crate::DiagnosticKind::BadHeader, Some(4)),
            "{line}"
        );
        (e[0].message.clone(), e[0].help.clone().unwrap_or_default())
    };
    let (message, help) = with("-- migrate:allow set-not-null");
    assert!(
        message.contains("gives no reason") && help.contains("-- migrate:allow set-not-null: <why>"),
        "{message} {help}"
    );
    let (message, _) = with("-- migrate:allow set-not-null:   ");
    assert!(message.contains("gives no reason"), "{message}");
    let (message, help) = with("-- migrate:allow no-such-rule: because");
    assert!(
        message.contains("no lint rule is called `no-such-rule`") && help.contains("set-not-null"),
        "{message} {help}"
    );
    let (message, _) = with("-- migrate:allow: because");
    assert!(message.contains("names no lint rule"), "{message}");
}

#[test]
fn what_cannot_run_is_refused_when_the_file_is_parsed() {
    let file = |header: &str, sql: &str| {
        format!("-- m\n-- revision: b\n-- down_revision:\n{header}\n-- migrate:upgrade\n{sql}\n")
    };
    let e = crate::format::parse(
        "migrations/b_x.sql",
        &file("", "SELECT 1;\nCREATE INDEX CONCURRENTLY i ON t (id);"),
    )
    .unwrap_err();
    assert_eq!((e[0].kind, e[0].line), (crate::DiagnosticKind::CannotRun, Some(7)));
    assert!(
        e[0].message.contains("[concurrently-in-transaction]"),
        "{}",
        e[0].message
    );
    let e = crate::format::parse(
        "migrations/b_x.sql",
        &file("", "ALTER TYPE m ADD VALUE 'x';\nSELECT 'x'::m;"),
    )
    .unwrap_err();
    assert_eq!((e[0].kind, e[0].line), (crate::DiagnosticKind::CannotRun, Some(7)));
    // The line the message names is the file's too.
    assert!(e[0].message.contains("added on line 6 "), "{}", e[0].message);
    for (header, sql) in [
        ("-- migrate:no-transaction", "CREATE INDEX CONCURRENTLY i ON t (id);"),
        (
            "-- migrate:allow concurrently-in-transaction: CockroachDB runs it",
            "CREATE INDEX CONCURRENTLY i ON t (id);",
        ),
        ("", "CREATE INDEX i ON t (id);"),
    ] {
        crate::format::parse("migrations/b_x.sql", &file(header, sql)).unwrap();
    }
}
