//! SQLite's rule: its table rebuild with foreign keys enforced.

use super::{Cx, Stmt, alter_table};

/// Every SQLite rule on one statement.
pub(super) fn check(cx: &mut Cx, s: &Stmt<'_>) {
    rebuild_without_foreign_keys_off(cx, s);
}

/// `ALTER TABLE new RENAME TO old`, `new` created and `old` (an existing
/// table) dropped earlier in the revision: the rebuild pattern, reported at
/// the `DROP TABLE`, unless the revision runs with foreign keys off.
fn rebuild_without_foreign_keys_off(cx: &mut Cx, s: &Stmt<'_>) {
    if cx.foreign_keys_off {
        return;
    }
    let Some((new, actions)) = alter_table(&s.w) else {
        return;
    };
    let Some((_, a)) = actions.first() else { return };
    if !(a.key(0) == "RENAME" && a.key(1) == "TO") || cx.existing(&new) {
        return;
    }
    let Some((old, _)) = a.name(2) else { return };
    if let Some(&line) = cx.dropped.get(&old) {
        cx.report(
            "sqlite-rebuild-without-foreign-keys-off",
            line,
            format!("`{old}` is rebuilt (dropped here, `{new}` renamed to it on line {}) with foreign keys enforced: dropping it deletes or refuses the rows that reference it", s.line),
        );
    }
}
