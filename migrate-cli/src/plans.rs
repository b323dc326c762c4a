//! `migrate upgrade [TARGET] --plan FILE` and `migrate upgrade --apply-plan
//! FILE`: plans a reviewer approves. The runtime gives the plan
//! ([`migrate_runtime::Migrator::plan_upgrade`]) and runs exactly it or
//! refuses ([`migrate_runtime::Migrator::upgrade_exactly`]); this file owns
//! the plan file, its JSON shape (docs/deploying.md, "Plans a reviewer
//! approves"), written whole through a temporary file, and what is printed.

use crate::config::Settings;
use crate::database;
use crate::error::CliError;
use crate::output::{Output, Style};
use crate::plan_schema;
use migrate_core::{Direction, Target};
use migrate_runtime::{Dialect, HistoryTable, Migrations, PendingPlan, PlannedStep};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// The plan file format this build writes and reads (`"migrate_plan": 1`).
pub(crate) const FORMAT: u64 = 1;

/// A plan file: [`PendingPlan`] as JSON, field names stable within a format.
#[derive(Debug, Serialize, Deserialize)]
struct PlanFile {
    migrate_plan: u64,
    written_by: String,
    target: String,
    dialect: String,
    history_table: String,
    history_schema: Option<String>,
    applied: Vec<String>,
    history_digest: String,
    steps: Vec<StepFile>,
    schema_fingerprint: Option<String>,
    schema: Option<Value>,
}

/// One step of a plan file.
#[derive(Debug, Serialize, Deserialize)]
struct StepFile {
    revision: String,
    message: String,
    file: String,
    direction: String,
    checksum: String,
    no_transaction: bool,
    sql: String,
}

/// `upgrade TARGET --plan FILE`: what the upgrade would run, written to
/// `file`, changing nothing in the database; a summary on stdout.
pub(crate) async fn write(
    migrations: &Migrations,
    s: &Settings,
    url: &str,
    target: &Target,
    file: &Path,
    out: &Output,
) -> Result<(), CliError> {
    database::refuse_transient(url)?;
    // A plan changes nothing: a missing SQLite file stays missing.
    let mut db = database::open(s, url, false, out).await?;
    let migrator = database::migrator(migrations, s, out);
    let planned = migrator.plan_upgrade(&mut db, target).await;
    let due = match &planned {
        Ok(done) => {
            let steps = done.steps.iter().map(|st| st.revision.as_str()).collect();
            crate::repeatables::due_on(&migrator, migrations, &mut db, (target, steps), None).await
        }
        Err(_) => Ok(Vec::new()),
    };
    database::close(db, out).await;
    let (planned, due) = (planned?, due?);
    let mut text = serde_json::to_string_pretty(&to_file(&planned))
        .map_err(|e| CliError::Refused(format!("cannot write the plan `{}` as JSON: {e}", file.display())))?;
    text.push('\n');
    crate::author::write_replacing(file, &text).map_err(|source| CliError::Io {
        context: format!("cannot write the plan `{}`", file.display()),
        source,
    })?;
    summary(&planned, file, out);
    if !due.is_empty() {
        // Their SQL is read when the plan is applied, not written in the plan.
        out.result(&format!(
            "Then the repeatables due, applied after the steps by `--apply-plan` (a plan to head), from their files as they are then: {}",
            due.join(", ")
        ));
    }
    Ok(())
}

/// `upgrade --apply-plan FILE`: exactly the plan's steps, or a refusal
/// naming what moved since it was written, having changed nothing.
pub(crate) async fn apply(
    migrations: &Migrations,
    s: &Settings,
    url: &str,
    file: &Path,
    out: &Output,
) -> Result<(), CliError> {
    let planned = read(file)?;
    database::refuse_transient(url)?;
    let mut db = database::open(s, url, false, out).await?;
    let migrator = database::migrator(migrations, s, out);
    let report = migrator.upgrade_exactly(&mut db, &planned).await;
    database::close(db, out).await;
    let report = report.map_err(|e| match e {
        e @ migrate_runtime::Error::PlanMoved(_) => CliError::Refused(format!(
            "{}: {e}\n  = help: write a new plan (`upgrade {} --plan FILE`) from where the database stands, review it, and apply that one",
            file.display(),
            planned.target
        )),
        e => CliError::Runtime(e),
    })?;
    let n = report.steps.len();
    if n == 0 {
        out.info(&format!("Nothing to do: the plan `{}` has no step.", file.display()));
    } else {
        out.info(&format!(
            "Applied the {n} step{} of the plan `{}`.",
            if n == 1 { "" } else { "s" },
            file.display()
        ));
    }
    Ok(())
}

/// The plan as its file holds it.
fn to_file(p: &PendingPlan) -> PlanFile {
    PlanFile {
        migrate_plan: FORMAT,
        written_by: format!("migrate {}", env!("CARGO_PKG_VERSION")),
        target: p.target.to_string(),
        dialect: p.dialect.name().to_owned(),
        history_table: p.table.name().to_owned(),
        history_schema: p.table.schema().map(str::to_owned),
        applied: p.applied.clone(),
        history_digest: p.digest.clone(),
        steps: p
            .steps
            .iter()
            .map(|st| StepFile {
                revision: st.revision.clone(),
                message: st.message.clone(),
                file: st.file.clone(),
                direction: st.direction.to_string(),
                checksum: st.checksum.clone(),
                no_transaction: st.no_transaction,
                sql: st.sql.clone(),
            })
            .collect(),
        schema_fingerprint: p.schema.as_ref().map(plan_schema::fingerprint),
        schema: p.schema.as_ref().map(plan_schema::to_json),
    }
}

/// The plan `file` holds, or why it holds none (malformed, another format,
/// a schema that no longer matches its fingerprint).
fn read(file: &Path) -> Result<PendingPlan, CliError> {
    let shown = file.display();
    let bad = |why: String| CliError::Refused(format!("the plan `{shown}` cannot be used: {why}"));
    let text = std::fs::read_to_string(file).map_err(|source| CliError::Io {
        context: format!("cannot read the plan `{shown}`"),
        source,
    })?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("it is not JSON ({e}); write it again with --plan")))?;
    match value.get("migrate_plan").and_then(Value::as_u64) {
        Some(FORMAT) => {}
        Some(n) if n > FORMAT => {
            return Err(bad(format!(
                "it is in plan format {n}, written by a newer migrate, and this one reads format {FORMAT}: apply it with the version that wrote it"
            )));
        }
        _ => {
            return Err(bad(format!(
                "it has no `\"migrate_plan\": {FORMAT}`, so it is no plan this version wrote; write one with `upgrade TARGET --plan {shown}`"
            )));
        }
    }
    let f: PlanFile = serde_json::from_value(value).map_err(|e| bad(format!("{e}")))?;
    from_file(f).map_err(bad)
}

/// [`read`]'s plan from its fields.
fn from_file(f: PlanFile) -> Result<PendingPlan, String> {
    let target: Target = f.target.parse().map_err(|e| format!("its target: {e}"))?;
    let dialect: Dialect = f.dialect.parse().map_err(|e| format!("its dialect: {e}"))?;
    let mut table = HistoryTable::new(&f.history_table).map_err(|e| format!("its history_table: {e}"))?;
    if let Some(schema) = &f.history_schema {
        table = table
            .in_schema(schema)
            .map_err(|e| format!("its history_schema: {e}"))?;
    }
    let schema = match (&f.schema, &f.schema_fingerprint) {
        (None, None) => None,
        (Some(value), Some(fingerprint)) => {
            let schema = plan_schema::from_json(value, "schema")?;
            if plan_schema::fingerprint(&schema) != *fingerprint {
                return Err(
                    "its schema does not hash to its schema_fingerprint: the plan was edited after it was written"
                        .into(),
                );
            }
            Some(schema)
        }
        _ => return Err("it holds one of schema and schema_fingerprint without the other".into()),
    };
    let mut steps = Vec::new();
    for st in f.steps {
        if st.direction != "upgrade" {
            return Err(format!(
                "step `{}` has direction `{}`, and a plan upgrades",
                st.revision, st.direction
            ));
        }
        steps.push(PlannedStep {
            revision: st.revision,
            message: st.message,
            file: st.file,
            direction: Direction::Upgrade,
            checksum: st.checksum,
            no_transaction: st.no_transaction,
            sql: st.sql,
        });
    }
    Ok(PendingPlan {
        target,
        dialect,
        table,
        applied: f.applied,
        digest: f.history_digest,
        steps,
        schema,
    })
}

/// What `--plan` prints: where the database stands and each step.
fn summary(p: &PendingPlan, file: &Path, out: &Output) {
    let n = p.steps.len();
    out.result(&format!(
        "Plan: {n} step{} to `{}` on {}, history table {}",
        if n == 1 { "" } else { "s" },
        p.target,
        p.dialect,
        p.table.name()
    ));
    for st in &p.steps {
        let mode = if st.no_transaction { ", no transaction" } else { "" };
        out.result(&format!(
            "  upgrade {}, {} ({}{mode})",
            out.paint(&st.revision, Style::Id),
            st.message,
            st.file
        ));
    }
    let applied = if p.applied.is_empty() {
        "none".to_owned()
    } else {
        p.applied.join(", ")
    };
    out.result(&format!("Applied now: {applied} (history digest {})", p.digest));
    if let Some(schema) = &p.schema {
        out.result(&format!(
            "Schema: {} ({} table{})",
            plan_schema::fingerprint(schema),
            schema.tables.len(),
            if schema.tables.len() == 1 { "" } else { "s" }
        ));
    }
    out.result(&format!(
        "Written to {}; once reviewed, run it with `upgrade --apply-plan {}`",
        file.display(),
        file.display()
    ));
}
