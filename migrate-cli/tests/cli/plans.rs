//! `migrate upgrade --plan FILE` and `--apply-plan FILE`: a plan a reviewer
//! approves runs exactly as written, and is refused, changing nothing, when
//! the schema (a column added by hand), the history (a revision applied by
//! another process) or the plan itself (its SQL edited) moved; a malformed
//! or future plan is a clear error naming the file. On SQLite and PostgreSQL.

use crate::databases::postgres;
use crate::support::{fails, id_of, migrate, ok, program, write_sql};
use serde_json::Value;
use std::path::Path;

/// A new revision in `cwd`'s folder running `upgrade`: its id.
fn revision(cwd: &Path, message: &str, upgrade: &str) -> String {
    let path = ok(&mut migrate(cwd), &["revision", "-m", message]);
    let path = cwd.join(path.trim());
    write_sql(&path, upgrade, "SELECT 1;");
    id_of(path.to_str().unwrap())
}

fn current(cwd: &Path, url: &str) -> String {
    ok(&mut migrate(cwd), &["current", "--database-url", url])
}

/// The whole story on one database: `by_hand` runs SQL outside migrate.
fn approve_and_apply(cwd: &Path, url: &str, by_hand: &dyn Fn(&str)) {
    std::fs::create_dir(cwd.join("migrations")).unwrap();
    let a = revision(
        cwd,
        "create t",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(40));",
    );
    ok(&mut migrate(cwd), &["upgrade", "-q", "--database-url", url]);
    let b = revision(cwd, "add note", "ALTER TABLE t ADD COLUMN note VARCHAR(40);");
    let c = revision(cwd, "create u", "CREATE TABLE u (id INTEGER PRIMARY KEY);");
    let plan = cwd.join("plan.json");
    let plan_arg = plan.to_str().unwrap();

    // The plan: written, printed, and nothing changed.
    let printed = ok(
        &mut migrate(cwd),
        &["upgrade", "head", "--plan", plan_arg, "--database-url", url],
    );
    assert!(printed.contains("Plan: 2 steps to `head`"), "{printed}");
    assert!(
        printed.contains(&b) && printed.contains(&c) && printed.contains("sha256:"),
        "{printed}"
    );
    assert!(current(cwd, url).starts_with(&a), "a plan changes nothing");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(json["migrate_plan"], 1);
    assert_eq!(json["target"], "head");
    assert_eq!(json["history_table"], "migrate_history");
    assert_eq!(json["applied"], serde_json::json!([a]));
    assert_eq!(json["steps"][0]["revision"], b.as_str());
    assert_eq!(json["steps"][0]["direction"], "upgrade");
    assert_eq!(json["steps"][0]["no_transaction"], false);
    assert!(
        json["steps"][1]["sql"].as_str().unwrap().contains("CREATE TABLE u"),
        "{json}"
    );
    assert!(json["schema"]["tables"]["t"].is_object(), "{json}");
    assert!(json["history_digest"].as_str().is_some_and(|d| !d.is_empty()), "{json}");

    // An edited plan: its SQL is not what the file runs.
    let tampered = cwd.join("tampered.json");
    let mut edited = json.clone();
    edited["steps"][1]["sql"] = Value::from("DROP TABLE t;\n");
    std::fs::write(&tampered, serde_json::to_string_pretty(&edited).unwrap()).unwrap();
    let error = fails(
        &mut migrate(cwd),
        &[
            "upgrade",
            "--apply-plan",
            tampered.to_str().unwrap(),
            "--database-url",
            url,
        ],
        1,
    );
    assert!(error.contains(&format!("the SQL of revision `{c}`")), "{error}");
    assert!(
        error.contains("nothing was changed") && error.contains("tampered.json"),
        "{error}"
    );
    assert!(current(cwd, url).starts_with(&a));

    // Malformed, and from a newer migrate: clear errors naming the file.
    let bad = cwd.join("bad.json");
    std::fs::write(&bad, "{\"migrate_plan\": 1, \"steps\": [").unwrap();
    let error = fails(
        &mut migrate(cwd),
        &["upgrade", "--apply-plan", bad.to_str().unwrap(), "--database-url", url],
        1,
    );
    assert!(error.contains("bad.json") && error.contains("is not JSON"), "{error}");
    edited["migrate_plan"] = Value::from(2);
    std::fs::write(&bad, edited.to_string()).unwrap();
    let error = fails(
        &mut migrate(cwd),
        &["upgrade", "--apply-plan", bad.to_str().unwrap(), "--database-url", url],
        1,
    );
    assert!(error.contains("bad.json") && error.contains("plan format 2"), "{error}");

    // A column added by hand: refused, naming the table and the column.
    by_hand("ALTER TABLE t ADD COLUMN extra INTEGER");
    let error = fails(
        &mut migrate(cwd),
        &["upgrade", "--apply-plan", plan_arg, "--database-url", url],
        1,
    );
    assert!(
        error.contains("the schema changed since the plan was written"),
        "{error}"
    );
    assert!(error.contains("added column \"t\".\"extra\""), "{error}");
    assert!(current(cwd, url).starts_with(&a), "refused, nothing changed");

    // Written again, then another process applies a revision: refused, naming it.
    ok(
        &mut migrate(cwd),
        &["upgrade", "--plan", plan_arg, "--database-url", url],
    );
    ok(&mut migrate(cwd), &["upgrade", "+1", "-q", "--database-url", url]);
    let error = fails(
        &mut migrate(cwd),
        &["upgrade", "--apply-plan", plan_arg, "--database-url", url],
        1,
    );
    assert!(
        error.contains(&format!("revision `{b}` was applied since the plan was written")),
        "{error}"
    );
    assert!(current(cwd, url).starts_with(&b), "refused, nothing changed");

    // Written again and applied: exactly its one step.
    let printed = ok(
        &mut migrate(cwd),
        &["upgrade", "--plan", plan_arg, "--database-url", url],
    );
    assert!(printed.contains("Plan: 1 step to `head`"), "{printed}");
    let printed = ok(
        &mut migrate(cwd),
        &["upgrade", "--apply-plan", plan_arg, "--database-url", url],
    );
    assert!(printed.contains("Applied the 1 step of the plan"), "{printed}");
    assert!(current(cwd, url).starts_with(&format!("{c} (head)")));
    let history = ok(&mut migrate(cwd), &["history", "--json", "--database-url", url]);
    let history: Value = serde_json::from_str(&history).unwrap();
    let applied: Vec<&str> = history["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["applied"].is_object())
        .map(|r| r["revision"].as_str().unwrap())
        .collect();
    assert_eq!(applied, [c.as_str(), b.as_str(), a.as_str()]);
}

#[test]
fn sqlite_plans_run_as_approved_or_not_at_all() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let file = cwd.join("app.db");
    let url = format!("sqlite:{}", file.display());
    let by_hand = |sql: &str| {
        program("sqlite3", &[file.to_str().unwrap(), sql], None);
    };
    approve_and_apply(cwd, &url, &by_hand);
}

#[test]
fn postgres_plans_run_as_approved_or_not_at_all() {
    let Some(server) = postgres::reachable() else { return };
    let db = postgres::db(&server);
    let tmp = tempfile::tempdir().unwrap();
    let by_hand = |sql: &str| {
        postgres::psql(&db.url, &["-c", sql], None);
    };
    approve_and_apply(tmp.path(), &db.url, &by_hand);
}
