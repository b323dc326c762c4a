//! Tests of [`super`].

use super::*;
use crate::schema::model::ConstraintKind;

fn col(name: &str, ty: &str) -> Column {
    Column {
        name: name.into(),
        data_type: ty.into(),
        nullable: true,
        ..Column::default()
    }
}

fn schema(tables: Vec<Table>) -> Schema {
    Schema {
        tables: tables.into_iter().map(|t| (t.name.clone(), t)).collect(),
        ..Schema::default()
    }
}

fn tbl(name: &str, columns: Vec<Column>) -> Table {
    Table {
        name: name.into(),
        columns,
        ..Table::default()
    }
}

#[test]
fn a_same_typed_swap_is_refused_without_a_rename() {
    let before = schema(vec![tbl("a", vec![col("id", "integer"), col("mail", "text")])]);
    let after = schema(vec![tbl("a", vec![col("id", "integer"), col("email", "text")])]);
    let err = compare(&before, &after, &Renames::default(), false).unwrap_err();
    assert!(err.to_string().contains("-- migrate:renamed-from mail"), "{err}");
    let d = compare(&before, &after, &Renames::default(), true).unwrap();
    assert_eq!(d.tables_changed[0].columns_added.len(), 1);
    assert_eq!(d.tables_changed[0].columns_removed.len(), 1);
    let mut r = Renames::default();
    r.columns.insert(("a".into(), "email".into()), "mail".into());
    let d = compare(&before, &after, &r, false).unwrap();
    assert_eq!(d.tables_changed[0].columns_renamed.len(), 1);
    assert!(d.tables_changed[0].columns_added.is_empty());
}

fn con(name: &str, kind: ConstraintKind, columns: &[&str], definition: &str) -> Constraint {
    Constraint {
        name: name.into(),
        kind,
        columns: columns.iter().map(|c| c.to_string()).collect(),
        references: None,
        definition: definition.into(),
        index: None,
    }
}

fn sql(r: &crate::schema::Rendered) -> Vec<&str> {
    r.statements.iter().map(|s| s.sql.as_str()).collect()
}

#[test]
fn names_the_server_chose_match_by_definition_others_by_name() {
    let check = |name: &str| con(name, ConstraintKind::Check, &["x"], "CHECK ((x > 0))");
    let mut b = tbl("a", vec![col("x", "int")]);
    b.constraints.push(check("a_x_check"));
    let mut a = b.clone();
    // The server's counter differs: the same constraint.
    a.constraints[0].name = "a_x_check1".into();
    let (before, after) = (schema(vec![b.clone()]), schema(vec![a.clone()]));
    assert!(compare(&before, &after, &Renames::default(), false).unwrap().agrees());
    // A name the file chose: renamed.
    a.constraints[0].name = "positive".into();
    let after = schema(vec![a]);
    let g = crate::schema::generate(crate::Dialect::Postgres, &before, &after, &Renames::default(), false).unwrap();
    assert_eq!(
        sql(&g.upgrade),
        ["ALTER TABLE a RENAME CONSTRAINT a_x_check TO positive"]
    );
    assert_eq!(
        sql(&g.downgrade),
        ["ALTER TABLE a RENAME CONSTRAINT positive TO a_x_check"]
    );
    assert_eq!(
        g.detected[0].text,
        "Detected renamed check constraint \"a_x_check\" to \"positive\" on \"a\""
    );
    // MySQL cannot rename a check: dropped and added under the new name.
    let g = crate::schema::generate(crate::Dialect::Mysql, &before, &after, &Renames::default(), false).unwrap();
    assert_eq!(
        sql(&g.upgrade),
        [
            "ALTER TABLE a DROP CONSTRAINT a_x_check",
            "ALTER TABLE a ADD CONSTRAINT positive CHECK ((x > 0))"
        ]
    );
}

#[test]
fn constraints_of_one_definition_are_as_many_as_each_side_has() {
    let fk = |name: &str| {
        con(
            name,
            ConstraintKind::ForeignKey,
            &["p"],
            "FOREIGN KEY (p) REFERENCES parent(id)",
        )
    };
    let mut b = tbl("child", vec![col("id", "int"), col("p", "int")]);
    b.constraints.push(con(
        "child_pkey",
        ConstraintKind::PrimaryKey,
        &["id"],
        "PRIMARY KEY (id)",
    ));
    b.constraints.push(fk("child_p_fkey"));
    let mut a = b.clone();
    a.constraints
        .push(con("child_id_key", ConstraintKind::Unique, &["id"], "UNIQUE (id)"));
    a.constraints.push(fk("fk_child_parent"));
    let (before, after) = (schema(vec![b]), schema(vec![a]));
    let d = compare(&before, &after, &Renames::default(), false).unwrap();
    let added: Vec<&str> = d.tables_changed[0]
        .constraints_added
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(added, ["child_id_key", "fk_child_parent"]);
    assert!(d.tables_changed[0].constraints_removed.is_empty());
    let back = compare(&after, &before, &Renames::default(), false).unwrap();
    let removed: Vec<&str> = back.tables_changed[0]
        .constraints_removed
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(removed, ["child_id_key", "fk_child_parent"]);
}

#[test]
fn a_renamed_table_renames_its_default_named_key_and_a_swap_swaps_them() {
    let t = |name: &str, pkey: &str| {
        let mut t = tbl(name, vec![col("id", "int")]);
        t.constraints
            .push(con(pkey, ConstraintKind::PrimaryKey, &["id"], "PRIMARY KEY (id)"));
        t
    };
    let before = schema(vec![t("customer", "customer_pkey")]);
    let after = schema(vec![t("account", "account_pkey")]);
    let r = renames(&[("account", "customer")], &[]);
    let g = crate::schema::generate(crate::Dialect::Postgres, &before, &after, &r, false).unwrap();
    assert_eq!(
        sql(&g.upgrade),
        [
            "ALTER TABLE customer RENAME TO account",
            "ALTER TABLE account RENAME CONSTRAINT customer_pkey TO account_pkey"
        ]
    );
    // What the upgrade leaves: nothing more to do.
    assert!(compare(&after, &after, &r, false).unwrap().agrees());
    // Two tables swapped: their keys' names, which the whole schema shares, through a temporary one.
    let with_n = |name: &str, pkey: &str| {
        let mut t = t(name, pkey);
        t.columns.push(col("n", "int"));
        t
    };
    let before = schema(vec![t("a", "a_pkey"), with_n("b", "b_pkey")]);
    let r = renames(&[("a", "b"), ("b", "a")], &[]);
    let after = schema(vec![with_n("a", "a_pkey"), t("b", "b_pkey")]);
    let d = compare(&before, &after, &r, true).unwrap();
    let steps: Vec<(String, String)> = d.name_steps.iter().map(|s| (s.from.clone(), s.to.clone())).collect();
    assert_eq!(
        steps,
        [
            ("b_pkey".to_owned(), "b_pkey_swap1".to_owned()),
            ("a_pkey".to_owned(), "b_pkey".to_owned()),
            ("b_pkey_swap1".to_owned(), "a_pkey".to_owned())
        ]
    );
    // `b_pkey` is on the table called `a` by then.
    assert_eq!(d.name_steps[0].table, "a");
    assert_eq!(d.name_steps[1].table, "b");
}

#[test]
fn renamed_tables_compare_their_contents() {
    let before = schema(vec![tbl("customer", vec![col("id", "int")])]);
    let after = schema(vec![tbl("account", vec![col("id", "int"), col("n", "int")])]);
    let mut r = Renames::default();
    r.tables.insert("account".into(), "customer".into());
    let d = compare(&before, &after, &r, false).unwrap();
    assert!(d.tables_added.is_empty() && d.tables_removed.is_empty());
    assert!(d.tables_changed[0].renamed());
    let lines: Vec<String> = d.detected().into_iter().map(|l| l.text).collect();
    assert_eq!(
        lines,
        vec![
            "Detected renamed table \"customer\" to \"account\"",
            "Detected added column \"account\".\"n\""
        ]
    );
    let mut wrong = Renames::default();
    wrong.tables.insert("account".into(), "nobody".into());
    assert!(matches!(
        compare(&before, &after, &wrong, false),
        Err(RenameError::UnknownOld { .. })
    ));
}

fn renames(tables: &[(&str, &str)], columns: &[(&str, &str, &str)]) -> Renames {
    Renames {
        tables: tables.iter().map(|(n, o)| (n.to_string(), o.to_string())).collect(),
        columns: columns
            .iter()
            .map(|(t, n, o)| ((t.to_string(), n.to_string()), o.to_string()))
            .collect(),
    }
}

#[test]
fn a_table_swap_goes_through_a_temporary_name_both_ways() {
    let before = schema(vec![
        tbl("a", vec![col("id", "int"), col("x", "text")]),
        tbl("b", vec![col("id", "int"), col("y", "int")]),
    ]);
    let after = schema(vec![
        tbl("a", vec![col("id", "int"), col("y", "int")]),
        tbl("b", vec![col("id", "int"), col("x", "text")]),
    ]);
    let r = renames(&[("a", "b"), ("b", "a")], &[]);
    let g = crate::schema::generate(crate::Dialect::Sqlite, &before, &after, &r, false).unwrap();
    let up: Vec<&str> = g.upgrade.statements.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(
        up,
        [
            "ALTER TABLE b RENAME TO b_swap1",
            "ALTER TABLE a RENAME TO b",
            "ALTER TABLE b_swap1 RENAME TO a"
        ]
    );
    let down: Vec<&str> = g.downgrade.statements.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(down, up, "the swap back is the same swap");
    let lines: Vec<&str> = g.detected.iter().map(|d| d.text.as_str()).collect();
    assert_eq!(
        lines,
        [
            "Detected renamed table \"b\" to \"a\"",
            "Detected renamed table \"a\" to \"b\""
        ]
    );
    // Once made, the same lines find nothing to do.
    let again = compare(&after, &after, &r, false).unwrap();
    assert!(again.agrees(), "{:?}", again.detected());
}

#[test]
fn a_column_swap_goes_through_a_temporary_name() {
    let before = schema(vec![tbl("t", vec![col("first", "text"), col("n", "int")])]);
    let after = schema(vec![tbl("t", vec![col("n", "text"), col("first", "int")])]);
    let r = renames(&[], &[("t", "n", "first"), ("t", "first", "n")]);
    let d = compare(&before, &after, &r, false).unwrap();
    let t = &d.tables_changed[0];
    assert!(t.columns_changed.is_empty() && t.columns_added.is_empty());
    assert_eq!(
        t.column_renames,
        [
            ("first".to_owned(), "first_swap1".to_owned()),
            ("n".to_owned(), "first".to_owned()),
            ("first_swap1".to_owned(), "n".to_owned())
        ]
    );
    let up = crate::schema::render(crate::Dialect::Postgres, &d, &before, &after);
    assert_eq!(up.statements[0].sql, "ALTER TABLE t RENAME COLUMN first TO first_swap1");
    // Made already: nothing to do.
    assert!(compare(&after, &after, &r, false).unwrap().agrees());
}

#[test]
fn a_table_swap_is_judged_with_the_column_renames_inside_it() {
    let before = schema(vec![
        tbl("a", vec![col("id", "int"), col("x", "text")]),
        tbl("b", vec![col("id", "int"), col("first", "text"), col("n", "int")]),
    ]);
    let after = schema(vec![
        tbl("a", vec![col("id", "int"), col("first", "int"), col("n", "text")]),
        tbl("b", vec![col("id", "int"), col("x", "text")]),
    ]);
    let r = renames(&[("a", "b"), ("b", "a")], &[("a", "first", "n"), ("a", "n", "first")]);
    let d = compare(&before, &after, &r, false).unwrap();
    let lines: Vec<String> = d.detected().into_iter().map(|l| l.text).collect();
    assert_eq!(
        lines,
        [
            "Detected renamed table \"b\" to \"a\"",
            "Detected renamed column \"a\".\"n\" to \"first\"",
            "Detected renamed column \"a\".\"first\" to \"n\"",
            "Detected renamed table \"a\" to \"b\""
        ]
    );
    assert!(compare(&after, &after, &r, false).unwrap().agrees());
}

#[test]
fn a_swap_of_the_same_shape_cannot_be_told_from_one_made() {
    let s = schema(vec![tbl("t", vec![col("first", "text"), col("last", "text")])]);
    let r = renames(&[], &[("t", "first", "last"), ("t", "last", "first")]);
    let e = compare(&s, &s, &r, false).unwrap_err();
    assert_eq!(
        e,
        RenameError::Undecidable {
            names: vec!["t.first".into(), "t.last".into()]
        }
    );
    assert!(e.to_string().contains("remove those lines"), "{e}");
}

#[test]
fn chains_rename_in_an_order_that_runs() {
    let before = schema(vec![tbl("b", vec![col("x", "int")]), tbl("c", vec![col("y", "int")])]);
    let after = schema(vec![tbl("a", vec![col("x", "int")]), tbl("b", vec![col("y", "int")])]);
    let r = renames(&[("a", "b"), ("b", "c")], &[]);
    let d = compare(&before, &after, &r, false).unwrap();
    assert_eq!(
        d.table_renames,
        [("b".to_owned(), "a".to_owned()), ("c".to_owned(), "b".to_owned())]
    );
    assert!(d.tables_added.is_empty() && d.tables_removed.is_empty());
    // Made already (the old `c` is gone): nothing to do.
    assert!(compare(&after, &after, &r, false).unwrap().agrees());
}

#[test]
fn contradicting_renames_are_refused() {
    let customer = || tbl("customer", vec![col("id", "int")]);
    let before = schema(vec![customer()]);
    // Renamed from a table the file still declares.
    let after = schema(vec![tbl("account", vec![col("id", "int")]), customer()]);
    let e = compare(&before, &after, &renames(&[("account", "customer")], &[]), false).unwrap_err();
    assert_eq!(
        e,
        RenameError::StillDeclared {
            new: "account".into(),
            old: "customer".into()
        }
    );
    // Two tables from one.
    let after = schema(vec![
        tbl("account", vec![col("id", "int")]),
        tbl("client", vec![col("id", "int")]),
    ]);
    let e = compare(
        &before,
        &after,
        &renames(&[("account", "customer"), ("client", "customer")], &[]),
        false,
    )
    .unwrap_err();
    assert!(matches!(e, RenameError::Twice { .. }), "{e}");
    // Onto a name the migrations keep for a table that goes.
    let before = schema(vec![customer(), tbl("account", vec![col("n", "text")])]);
    let after = schema(vec![tbl("account", vec![col("id", "int")])]);
    let e = compare(&before, &after, &renames(&[("account", "customer")], &[]), false).unwrap_err();
    assert!(matches!(e, RenameError::Occupied { .. }), "{e}");
    // Columns too.
    let before = schema(vec![tbl("t", vec![col("mail", "text")])]);
    let after = schema(vec![tbl("t", vec![col("mail", "text"), col("email", "text")])]);
    let e = compare(&before, &after, &renames(&[], &[("t", "email", "mail")]), true).unwrap_err();
    assert_eq!(
        e,
        RenameError::StillDeclared {
            new: "t.email".into(),
            old: "mail".into()
        }
    );
}

#[test]
fn rename_steps_never_loop() {
    let avoid: BTreeSet<&str> = ["a", "b", "c", "a_swap1"].into();
    // A rotation of three.
    let steps = rename_steps(&[("a", "b"), ("b", "c"), ("c", "a")], ["a", "b", "c"].into(), &avoid);
    assert_eq!(steps.len(), 4);
    assert_eq!(steps[0], ("a".to_owned(), "a_swap2".to_owned()));
    // A target held by something not renamed: written as is, not looped on.
    let steps = rename_steps(&[("a", "b")], ["a", "b"].into(), &avoid);
    assert_eq!(steps, [("a".to_owned(), "b".to_owned())]);
}

#[test]
fn an_extension_is_created_first_and_dropped_last() {
    let citext = Object {
        name: "citext".into(),
        table: None,
        definition: "CREATE EXTENSION IF NOT EXISTS \"citext\"".into(),
        drop_as: None,
    };
    let mut after = schema(vec![tbl("t", vec![col("email", "citext")])]);
    after.extensions.insert("citext".into(), citext);
    let before = Schema::default();
    let g = crate::schema::generate(crate::Dialect::Postgres, &before, &after, &Renames::default(), true).unwrap();
    let up: Vec<&str> = g.upgrade.statements.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(up.first(), Some(&"CREATE EXTENSION IF NOT EXISTS \"citext\""), "{up:?}");
    let down: Vec<&str> = g.downgrade.statements.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(down.last(), Some(&"DROP EXTENSION citext"), "{down:?}");
    assert!(
        g.detected
            .iter()
            .any(|d| d.text == "Detected added extension \"citext\"")
    );
}

/// A PostgreSQL function as `pg_get_functiondef` prints it.
fn function(header: &str, returns: &str, body: &str) -> Object {
    Object {
        name: "f".into(),
        table: None,
        definition: format!(
            "CREATE OR REPLACE FUNCTION public.f({header})\n RETURNS {returns}\n LANGUAGE sql\nAS $function$ {body} $function$\n"
        ),
        drop_as: Some("f(n integer)".into()),
    }
}

/// The upgrade that turns `before`'s `f` into `after`'s.
fn turning(before: Object, after: Object) -> Vec<String> {
    let (mut b, mut a) = (Schema::default(), Schema::default());
    b.functions.insert("f(n integer)".into(), before);
    a.functions.insert("f(n integer)".into(), after);
    let g = crate::schema::generate(crate::Dialect::Postgres, &b, &a, &Renames::default(), true).unwrap();
    g.upgrade.statements.iter().map(|s| s.sql.clone()).collect()
}

#[test]
fn a_function_is_dropped_first_only_where_create_or_replace_refuses() {
    let drops = |up: &[String]| {
        up.iter()
            .filter(|s| s.starts_with("DROP FUNCTION f(n integer)"))
            .count()
    };
    // The body alone: replaced where it stands (what depends on it stays).
    let up = turning(
        function("n integer", "integer", "SELECT 1"),
        function("n integer", "integer", "SELECT 2"),
    );
    assert_eq!(drops(&up), 0, "{up:?}");
    // Its result, a default taken away: dropped, then made again.
    for (header, returns) in [("n integer", "bigint"), ("n integer", "TABLE(a integer)")] {
        let up = turning(
            function("n integer", "integer", "SELECT 1"),
            function(header, returns, "SELECT 1"),
        );
        assert_eq!(drops(&up), 1, "{up:?}");
        let drop = up.iter().position(|s| s.starts_with("DROP FUNCTION")).unwrap();
        assert!(
            up[drop + 1].starts_with("CREATE OR REPLACE FUNCTION public.f("),
            "{up:?}"
        );
    }
    let up = turning(
        function("n integer DEFAULT 1", "integer", "SELECT 1"),
        function("n integer", "integer", "SELECT 1"),
    );
    assert_eq!(drops(&up), 1, "{up:?}");
}

/// A foreign key whose deferrability alone changes is altered in place,
/// unless the key it references is made again, which it must not outlive:
/// then it is dropped and added, and the lines say so.
#[test]
fn a_foreign_key_is_altered_only_when_its_referenced_key_stays() {
    let key = |definition: &str| Constraint {
        name: "p_pkey".into(),
        kind: ConstraintKind::PrimaryKey,
        columns: vec!["id".into()],
        references: None,
        definition: definition.into(),
        index: None,
    };
    let fk = crate::schema::model::test_foreign_key;
    let with = |pk: &str, f: &str| {
        let mut p = tbl("p", vec![col("id", "integer"), col("code", "integer")]);
        p.constraints.push(key(pk));
        let mut c = tbl("c", vec![col("p", "integer")]);
        c.constraints.push(fk(f));
        schema(vec![p, c])
    };
    let plain = "FOREIGN KEY (p) REFERENCES p(id)";
    let deferred = "FOREIGN KEY (p) REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED";
    let generated = |before: &Schema, after: &Schema| {
        let g = crate::schema::generate(crate::Dialect::Postgres, before, after, &Renames::default(), true).unwrap();
        let sql: Vec<String> = g.upgrade.statements.iter().map(|s| s.sql.clone()).collect();
        let lines: Vec<String> = g.detected.iter().map(|d| d.text.clone()).collect();
        (sql, lines)
    };
    let (sql, lines) = generated(&with("PRIMARY KEY (id)", plain), &with("PRIMARY KEY (id)", deferred));
    assert_eq!(
        sql,
        ["ALTER TABLE c ALTER CONSTRAINT c_p_fkey DEFERRABLE INITIALLY DEFERRED"]
    );
    assert_eq!(
        lines,
        ["Detected changed deferrability of foreign key \"c_p_fkey\" on \"c\" (to DEFERRABLE INITIALLY DEFERRED)"]
    );
    let (sql, lines) = generated(
        &with("PRIMARY KEY (id)", plain),
        &with("PRIMARY KEY (id, code)", deferred),
    );
    assert!(
        sql.iter().any(|s| s == "ALTER TABLE c DROP CONSTRAINT c_p_fkey"),
        "{sql:?}"
    );
    assert!(!sql.iter().any(|s| s.contains("ALTER CONSTRAINT")), "{sql:?}");
    assert!(
        lines.iter().any(|l| l.starts_with("Detected removed foreign key")),
        "{lines:?}"
    );
}
