//! SQLite's side of rendering: which table changes `ALTER TABLE` can make
//! in place, and the rebuild (new table, rows copied, old one dropped, new
//! one renamed) that makes the others.

use super::{Statement, Writer};
use crate::schema::compare::TableDiff;
use crate::schema::model::Column;
use crate::schema::text::{mentions, rename_create_table};

/// Whether SQLite can make this table's changes with `ALTER TABLE`, or must rebuild it.
pub(super) fn in_place(t: &TableDiff<'_>) -> bool {
    // A constraint's name is in the table's statement: renamed, it is rebuilt too.
    let constraints = [
        t.constraints_added.len(),
        t.constraints_removed.len(),
        t.constraints_renamed.len(),
    ];
    if !t.columns_changed.is_empty() || constraints.iter().any(|n| *n > 0) {
        return false;
    }
    if t.autoincrement_changed {
        return false;
    }
    let addable = |c: &Column| {
        let stored = c
            .generated
            .as_deref()
            .is_some_and(|g| g.to_ascii_uppercase().contains("STORED"));
        let default_ok = c.default.as_deref().is_none_or(|d| {
            let d = d.trim().to_ascii_uppercase();
            !d.starts_with('(') && !d.starts_with("CURRENT_")
        });
        !stored && default_ok && (c.nullable || c.default.is_some())
    };
    let kept_indexes: Vec<_> = t
        .before
        .indexes
        .iter()
        .filter(|i| !t.indexes_removed.iter().any(|r| r.name == i.name))
        .filter(|i| !t.indexes_renamed.iter().any(|(r, _)| r.name == i.name))
        .collect();
    let droppable = |c: &Column| {
        !t.before
            .constraints
            .iter()
            .any(|k| k.columns.contains(&c.name) || mentions(&k.definition, &c.name))
            && !kept_indexes
                .iter()
                .any(|i| i.columns.contains(&c.name) || mentions(&i.definition, &c.name))
    };
    t.columns_added.iter().all(|c| addable(c)) && t.columns_removed.iter().all(|c| droppable(c))
}

/// SQLite's table rebuild: a new table under a new name, the rows copied,
/// the old one dropped, the new one renamed, its indexes and triggers made
/// again, `sqlite_sequence` kept (foreign keys off: the migration's
/// `-- migrate:foreign-keys-off`).
pub(super) fn rebuild(w: &mut Writer<'_>, t: &TableDiff<'_>) {
    w.out.foreign_keys_off = true;
    let name = &t.after.name;
    let temp = format!("new_{name}");
    let Some(create) = t
        .after
        .sql
        .as_deref()
        .and_then(|sql| rename_create_table(sql, &w.q(&temp)))
    else {
        // No stored statement to run under a new name: write it from the model.
        let mut copy = t.after.clone();
        copy.name = temp.clone();
        copy.sql = None;
        w.create_table(&copy);
        return finish_rebuild(w, t, &temp);
    };
    w.out.statements.push(Statement {
        sql: create,
        review: None,
        note: Some(format!(
            "SQLite cannot make this change to \"{name}\" in place: the table is rebuilt (new table, rows copied, old one dropped, new one renamed)"
        )),
    });
    finish_rebuild(w, t, &temp);
}

fn finish_rebuild(w: &mut Writer<'_>, t: &TableDiff<'_>, temp: &str) {
    let name = &t.after.name;
    // Columns that keep their data: in both, by name or declared rename, not generated now.
    let mut into = Vec::new();
    let mut from = Vec::new();
    for a in t.after.columns.iter().filter(|c| c.generated.is_none()) {
        let source = t
            .columns_renamed
            .iter()
            .find(|(_, to)| to.name == a.name)
            .map(|(b, _)| *b)
            .or_else(|| t.before.column(&a.name));
        // A generated column made plain keeps the values it had (a query reads them).
        if let Some(b) = source {
            into.push(w.q(&a.name));
            from.push(w.q(&b.name));
        }
    }
    if !into.is_empty() {
        let sql = format!(
            "INSERT INTO {} ({}) SELECT {} FROM {}",
            w.q(temp),
            into.join(", "),
            from.join(", "),
            w.q(name)
        );
        let added_required: Vec<&str> = t
            .columns_added
            .iter()
            .filter(|c| !c.nullable && c.default.is_none() && c.generated.is_none())
            .map(|c| c.name.as_str())
            .collect();
        let tightened: Vec<&str> = t
            .columns_changed
            .iter()
            .filter(|(b, a)| b.nullable && !a.nullable)
            .map(|(_, a)| a.name.as_str())
            .collect();
        if !added_required.is_empty() || !tightened.is_empty() {
            let cols: Vec<&str> = added_required.into_iter().chain(tightened).collect();
            w.review(
                sql,
                format!(
                    "fails if \"{name}\" has rows with no value for NOT NULL column(s) {}",
                    cols.join(", ")
                ),
            );
        } else {
            w.push(sql);
        }
    }
    if t.before.autoincrement && t.after.autoincrement {
        let d = w.d;
        let lit = |s: &str| d.literal(s);
        // The copy set the new table's counter to its largest rowid; keep the old one's (deleted rows' ids stay used).
        w.push(format!("DELETE FROM sqlite_sequence WHERE name = {}", lit(temp)));
        w.push(format!(
            "INSERT INTO sqlite_sequence (name, seq) SELECT {}, seq FROM sqlite_sequence WHERE name = {}",
            lit(temp),
            lit(name)
        ));
    }
    let drop = format!("DROP TABLE {}", w.q(name));
    if t.columns_removed.is_empty() {
        w.push(drop);
    } else {
        let cols: Vec<String> = t.columns_removed.iter().map(|c| format!("\"{}\"", c.name)).collect();
        w.review(
            drop,
            format!(
                "the rebuilt \"{name}\" leaves out column(s) {} and their data",
                cols.join(", ")
            ),
        );
    }
    let sql = w.alter(temp, &format!("RENAME TO {}", w.q(name)));
    w.push(sql);
    for i in &t.after.indexes {
        w.push(i.definition.clone());
    }
    let triggers: Vec<String> = w
        .after
        .triggers
        .values()
        .filter(|x| x.table.as_deref() == Some(name.as_str()))
        .map(|x| x.definition.trim().trim_end_matches(';').to_owned())
        .collect();
    for sql in triggers {
        w.push(sql);
    }
}
