//! PostgreSQL sequences: created (and changed) before the tables whose
//! defaults draw from them, owned (`OWNED BY`) once those tables and columns
//! exist, let go of before an owner that stays is dropped, and dropped after
//! the tables. No statement here sets a sequence's current value: `ALTER
//! SEQUENCE` is written without `RESTART`, so numbers already handed out are
//! never handed out again.

use super::Writer;
use crate::schema::compare::Diff;
use crate::schema::compare::sequences::{kept_serial, option_changes};
use crate::schema::model::{Column, Sequence};

/// The options of `a` that differ from `b`'s, as `ALTER SEQUENCE` sets them.
pub(super) fn changes(b: &Sequence, a: &Sequence) -> Vec<String> {
    let mut out = Vec::new();
    if b.data_type != a.data_type {
        out.push(format!("AS {}", a.data_type));
    }
    for (what, x, y) in [
        ("INCREMENT BY", b.increment, a.increment),
        ("MINVALUE", b.min, a.min),
        ("MAXVALUE", b.max, a.max),
        ("START WITH", b.start, a.start),
        ("CACHE", b.cache, a.cache),
    ] {
        // Bounds set even when only the type changes: `AS` alone may move them.
        if x != y || (b.data_type != a.data_type && matches!(what, "MINVALUE" | "MAXVALUE")) {
            out.push(format!("{what} {y}"));
        }
    }
    if b.cycle != a.cycle {
        out.push(if a.cycle { "CYCLE" } else { "NO CYCLE" }.to_owned());
    }
    out
}

fn owner(w: &Writer<'_>, o: &Option<(String, String)>) -> String {
    match o {
        Some((t, c)) => format!("{}.{}", w.q(t), w.q(c)),
        None => "NONE".to_owned(),
    }
}

/// PostgreSQL: the sequence of a column of `table` that is a serial on one
/// side and its plain type on the other while that serial's sequence stays
/// (`compare::sequences::kept_serial`): the same sequence, kept, the
/// column's default alone changing, never a sequence made or dropped.
pub(super) fn kept_sequence(w: &Writer<'_>, table: &str, b: &Column, a: &Column) -> Option<String> {
    if w.d != crate::Dialect::Postgres {
        return None;
    }
    kept_serial(
        (table, b, a),
        |name| w.after.sequences.get(name),
        |name| w.before.sequences.get(name),
    )
}

/// The [`kept_sequence`]s of `diff`'s changed tables.
fn kept_serials(w: &Writer<'_>, diff: &Diff<'_>) -> Vec<String> {
    diff.tables_changed
        .iter()
        .flat_map(|t| {
            t.columns_changed
                .iter()
                .filter_map(|(b, a)| kept_sequence(w, &t.after.name, b, a))
        })
        .collect()
}

/// Whether `name` is one of the `kept` sequences.
fn kept(kept: &[String], name: &str) -> bool {
    kept.iter().any(|k| k == name)
}

/// Step 3a: Sequences whose owner changes let go of it (so that dropping
/// that table or column leaves them), then sequences created, and changed.
pub(super) fn create_and_change(w: &mut Writer<'_>, diff: &Diff<'_>) {
    let serials = kept_serials(w, diff);
    for (b, _) in diff.sequences_reowned.iter().filter(|(b, _)| b.owned_by.is_some()) {
        w.push(format!("ALTER SEQUENCE {} OWNED BY NONE", w.q(&b.name)));
    }
    for s in diff.sequences.added.iter().filter(|s| !kept(&serials, &s.name)) {
        let mut sql = format!("CREATE SEQUENCE {}", w.q(&s.name));
        for o in s.options() {
            sql.push(' ');
            sql.push_str(&o);
        }
        w.push(sql);
    }
    for (b, a) in &diff.sequences.changed {
        let sql = format!("ALTER SEQUENCE {} {}", w.q(&a.name), changes(b, a).join(" "));
        if a.min > b.min || a.max < b.max {
            w.review(
                sql,
                format!(
                    "narrows sequence \"{}\" ({}): fails if its current value is outside the new bounds",
                    a.name,
                    option_changes(b, a)
                ),
            );
        } else {
            w.push(sql);
        }
    }
}

/// Step 11a: Sequences owned by their column, now that it exists.
pub(super) fn own(w: &mut Writer<'_>, diff: &Diff<'_>) {
    let serials = kept_serials(w, diff);
    let owned = diff
        .sequences
        .added
        .iter()
        .copied()
        .chain(diff.sequences_reowned.iter().map(|(_, a)| *a))
        .filter(|s| s.owned_by.is_some() && !kept(&serials, &s.name));
    let sql: Vec<String> = owned
        .map(|s| format!("ALTER SEQUENCE {} OWNED BY {}", w.q(&s.name), owner(w, &s.owned_by)))
        .collect();
    for s in sql {
        w.push(s);
    }
}

/// Step 12a: Sequences going away, after the tables and defaults that used
/// them; one whose owner was dropped went with it.
pub(super) fn drop(w: &mut Writer<'_>, diff: &Diff<'_>) {
    let serials = kept_serials(w, diff);
    for s in diff.sequences.removed.iter().filter(|s| !kept(&serials, &s.name)) {
        let gone_with_owner = s.owned_by.as_ref().is_some_and(|(table, column)| {
            diff.tables_removed.iter().any(|t| t.name == *table)
                || diff
                    .tables_changed
                    .iter()
                    .filter(|t| t.before.name == *table)
                    .any(|t| t.columns_removed.iter().any(|c| c.name == *column))
        });
        if gone_with_owner {
            continue;
        }
        w.review(
            format!("DROP SEQUENCE {}", w.q(&s.name)),
            format!("drops sequence \"{}\" and its current value", s.name),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::schema::model::{Column, Schema, Sequence, Table};
    use crate::schema::{Dialect, Renames, generate};

    fn with(sequences: Vec<Sequence>, tables: Vec<Table>) -> Schema {
        Schema {
            sequences: sequences.into_iter().map(|s| (s.name.clone(), s)).collect(),
            tables: tables.into_iter().map(|t| (t.name.clone(), t)).collect(),
            ..Schema::default()
        }
    }

    fn sql(r: &crate::schema::Rendered) -> Vec<&str> {
        r.statements.iter().map(|s| s.sql.as_str()).collect()
    }

    #[test]
    fn a_serial_whose_default_is_dropped_keeps_its_sequence() {
        let column = |data_type: &str| Column {
            name: "user_id".into(),
            data_type: data_type.into(),
            nullable: false,
            ..Column::default()
        };
        let table = |c: Column| Table {
            name: "s".into(),
            columns: vec![c],
            ..Table::default()
        };
        let mut seq = Sequence::new("s_user_id_seq", "bigint");
        seq.owned_by = Some(("s".into(), "user_id".into()));
        let before = with(vec![], vec![table(column("bigserial"))]);
        let after = with(vec![seq], vec![table(column("bigint"))]);
        let g = generate(Dialect::Postgres, &before, &after, &Renames::default(), false).unwrap();
        assert_eq!(sql(&g.upgrade), ["ALTER TABLE s ALTER COLUMN user_id DROP DEFAULT"]);
        assert_eq!(
            sql(&g.downgrade),
            ["ALTER TABLE s ALTER COLUMN user_id SET DEFAULT nextval('s_user_id_seq'::regclass)"]
        );
        let lines: Vec<(&str, bool)> = g.detected.iter().map(|d| (d.text.as_str(), d.destructive)).collect();
        assert_eq!(
            lines,
            [(
                "Detected bigserial \"s\".\"user_id\" made bigint without its default, keeping its sequence \"s_user_id_seq\"",
                false
            )]
        );
    }

    #[test]
    fn made_before_the_table_owned_after_it_and_gone_with_it() {
        let mut s = Sequence::new("ticket_no", "integer");
        s.start = 1000;
        s.increment = 10;
        s.owned_by = Some(("t".into(), "n".into()));
        let t = Table {
            name: "t".into(),
            columns: vec![Column {
                name: "n".into(),
                data_type: "integer".into(),
                nullable: true,
                default: Some("nextval('ticket_no'::regclass)".into()),
                ..Column::default()
            }],
            ..Table::default()
        };
        let (before, after) = (Schema::default(), with(vec![s.clone()], vec![t]));
        let g = generate(Dialect::Postgres, &before, &after, &Renames::default(), false).unwrap();
        assert_eq!(
            sql(&g.upgrade),
            [
                "CREATE SEQUENCE ticket_no AS integer INCREMENT BY 10 START WITH 1000",
                "CREATE TABLE t (\n    n integer DEFAULT nextval('ticket_no'::regclass)\n)",
                "ALTER SEQUENCE ticket_no OWNED BY t.n"
            ]
        );
        // Dropping the table drops the sequence it owns: no DROP SEQUENCE after it.
        assert_eq!(sql(&g.downgrade), ["DROP TABLE t"]);

        // Options changed: only those, and never RESTART.
        let mut changed = s.clone();
        changed.increment = 5;
        changed.cycle = true;
        let (t0, t1) = (
            after.clone(),
            with(vec![changed], after.tables.values().cloned().collect()),
        );
        let g = generate(Dialect::Postgres, &t0, &t1, &Renames::default(), false).unwrap();
        assert_eq!(sql(&g.upgrade), ["ALTER SEQUENCE ticket_no INCREMENT BY 5 CYCLE"]);
        assert_eq!(sql(&g.downgrade), ["ALTER SEQUENCE ticket_no INCREMENT BY 10 NO CYCLE"]);
        assert_eq!(
            g.detected[0].text,
            "Detected changed sequence \"ticket_no\" (increment 10 to 5, cycle false to true)"
        );
    }

    /// An identity column's clause carries its sequence's options that are
    /// not the defaults, and reads back to the same sequence.
    #[test]
    fn identity_clauses_carry_their_options() {
        let kind = "GENERATED ALWAYS AS IDENTITY";
        let plain = Sequence::new("", "integer");
        assert_eq!(plain.identity(kind), kind);
        let mut s = Sequence::new("", "integer");
        (s.start, s.increment, s.cache, s.cycle) = (1000, 5, 10, true);
        let clause = s.identity(kind);
        assert_eq!(
            clause,
            "GENERATED ALWAYS AS IDENTITY (INCREMENT BY 5 START WITH 1000 CACHE 10 CYCLE)"
        );
        let mut down = Sequence::new("", "smallint");
        (down.increment, down.min, down.max, down.start) = (-1, -500, -1, -1);
        let mut bounded = Sequence::new("", "bigint");
        (bounded.min, bounded.max, bounded.start) = (-10, 5000, 1);
        for (seq, data_type) in [
            (&plain, "integer"),
            (&s, "integer"),
            (&down, "smallint"),
            (&bounded, "bigint"),
        ] {
            let clause = seq.identity(kind);
            assert_eq!(
                Sequence::of_identity(&clause, data_type).as_ref(),
                Some(seq),
                "{clause}"
            );
        }
        assert_eq!(
            down.identity(kind),
            "GENERATED ALWAYS AS IDENTITY (INCREMENT BY -1 MINVALUE -500)"
        );
        assert_eq!(
            Sequence::of_identity("GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME x)", "integer"),
            None
        );
    }

    /// A changed identity sets what changes, kind and options, and never
    /// restarts; narrowing its bounds is a line to review.
    #[test]
    fn identity_changes_set_options_without_restart() {
        let table = |identity: &str| Table {
            name: "t".into(),
            columns: vec![Column {
                name: "id".into(),
                data_type: "integer".into(),
                identity: Some(identity.into()),
                ..Column::default()
            }],
            ..Table::default()
        };
        let before = with(vec![], vec![table("GENERATED BY DEFAULT AS IDENTITY (START WITH 100)")]);
        let after = with(
            vec![],
            vec![table("GENERATED ALWAYS AS IDENTITY (MAXVALUE 5000 CACHE 20)")],
        );
        let g = generate(Dialect::Postgres, &before, &after, &Renames::default(), false).unwrap();
        assert_eq!(
            sql(&g.upgrade),
            ["ALTER TABLE t ALTER COLUMN id SET GENERATED ALWAYS SET MAXVALUE 5000 SET START WITH 1 SET CACHE 20"]
        );
        assert!(g.upgrade.statements[0].review.is_some(), "narrowing is reviewed");
        assert_eq!(
            sql(&g.downgrade),
            [
                "ALTER TABLE t ALTER COLUMN id SET GENERATED BY DEFAULT SET MAXVALUE 2147483647 SET START WITH 100 SET CACHE 1"
            ]
        );
        assert!(g.downgrade.statements[0].review.is_none());
    }
}
