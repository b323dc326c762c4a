//! `migrate upgrade [TARGET] --rehearse`: the runtime's rehearsal
//! ([`migrate_runtime::Migrator::rehearse`]) on the settings' database, its
//! report printed step by step on stdout, exit 1 when a step failed or went
//! over its lock budget.

use crate::config::Settings;
use crate::database;
use crate::error::CliError;
use crate::output::{Output, Style};
use migrate_core::{Dialect, Phase, Target};
use migrate_runtime::{Migrations, Rehearsal, RehearsedOn, RehearsedStep, StepOutcome};
use std::time::Duration;

/// Rehearses the upgrade to `target` on the database at `url` and prints what it did.
pub(crate) async fn run(
    migrations: &Migrations,
    s: &Settings,
    url: &str,
    phase: Option<Phase>,
    target: &Target,
    out: &Output,
) -> Result<(), CliError> {
    database::refuse_transient(url)?;
    // A missing SQLite file stays missing: a rehearsal creates nothing.
    let mut db = database::open(s, url, false, out).await?;
    let mut migrator = database::migrator(migrations, s, out);
    if let Some(phase) = phase {
        migrator = migrator.phase(phase);
    }
    let rehearsal = migrator.rehearse(&mut db, target).await;
    let due = match &rehearsal {
        Ok(done) => {
            let steps = done.steps.iter().map(|st| st.revision.as_str()).collect();
            crate::repeatables::due_on(&migrator, migrations, &mut db, (target, steps), phase).await
        }
        Err(_) => Ok(Vec::new()),
    };
    database::close(db, out).await;
    let (rehearsal, due) = (rehearsal?, due?);
    out.result(&header(&rehearsal));
    for step in &rehearsal.steps {
        print_step(out, rehearsal.dialect, step);
    }
    if !due.is_empty() {
        out.result(&format!(
            "Then the repeatables due, not rehearsed (an upgrade to head applies them after these steps, each its own step): {}",
            due.join(", ")
        ));
    }
    for name in &rehearsal.left_behind.dropped {
        out.note(&format!(
            "dropped {name}, the scratch database of an earlier rehearsal of this database that ended before it could drop it (killed, say)"
        ));
    }
    for (name, why) in &rehearsal.left_behind.kept {
        out.note(&format!(
            "{name} looks like the scratch database of an earlier rehearsal of this database, left behind; it was kept ({why}): drop it once no rehearsal uses it"
        ));
    }
    if let Some(why) = &rehearsal.locks_unavailable {
        out.result(&format!("Locks: not measured: {why}"));
    }
    if !rehearsal.sequences_advanced.is_empty() {
        let moved: Vec<String> = rehearsal
            .sequences_advanced
            .iter()
            .map(|q| match q.before {
                Some(before) => format!("{} {before} -> {} (+{})", q.sequence, q.after, q.after - before),
                None => format!("{} unused -> {}", q.sequence, q.after),
            })
            .collect();
        out.note(&format!(
            "the rehearsal advanced sequences, which a rollback does not set back: {}; left as they are (other sessions may have taken values since), so the next values have gaps",
            moved.join(", ")
        ));
    }
    if let Some(step) = rehearsal.not_rehearsable() {
        let after = rehearsal
            .steps
            .iter()
            .filter(|s| s.outcome == StepOutcome::NotReached)
            .count();
        out.note(&format!(
            "{} is `-- migrate:no-transaction`: it cannot run inside the transaction a rehearsal rolls back, so the rehearsal stopped before it ({after} later step{} not reached).",
            out.paint(&step.revision, Style::Id),
            if after == 1 { "" } else { "s" }
        ));
    }
    match rehearsal.failure() {
        None => Ok(()),
        Some(step) => Err(CliError::Refused(failure(&rehearsal, step))),
    }
}

/// The report's first line: where it ran, and that nothing was kept.
fn header(r: &Rehearsal) -> String {
    let pending = r.steps.len();
    let steps = format!("{pending} pending step{}", if pending == 1 { "" } else { "s" });
    match &r.on {
        RehearsedOn::SchemaCopy { database } => format!(
            "Rehearsal of {steps} on {} on a copy of the schema without its data (scratch database {database}, dropped): nothing was kept",
            r.dialect
        ),
        _ => format!(
            "Rehearsal of {steps} on {} in one transaction, rolled back: nothing was kept",
            r.dialect
        ),
    }
}

/// One step and its statements.
fn print_step(out: &Output, dialect: Dialect, step: &RehearsedStep) {
    let id = out.paint(&step.revision, Style::Id);
    let budget = step.max_lock.map(|b| format!(", max-lock {b}")).unwrap_or_default();
    let what = match &step.outcome {
        StepOutcome::Ran => format!("ran in {}", ms(step.duration)),
        StepOutcome::OverBudget { .. } => format!("ran in {}, OVER ITS LOCK BUDGET", ms(step.duration)),
        StepOutcome::Failed { statement, line, error } => {
            format!("FAILED at statement {statement} (line {line}): {error}")
        }
        StepOutcome::NotRehearsable { .. } => "not rehearsable (what it would run, or why, below)".into(),
        StepOutcome::NotReached => "not reached".into(),
        _ => "?".into(),
    };
    out.result(&format!("{id} {}: {what}{budget} ({})", step.message, step.file));
    for (k, st) in step.statements.iter().enumerate() {
        let first_line = st.sql.lines().next().unwrap_or_default();
        let shown: String = first_line.chars().take(60).collect();
        let more = if shown.len() < st.sql.trim_end().len() {
            "…"
        } else {
            ""
        };
        let rows = if st.rows > 0 {
            format!(", {} rows", st.rows)
        } else {
            String::new()
        };
        let locks = st
            .locks
            .iter()
            .map(|l| {
                let over = if l.over_budget { " (over budget)" } else { "" };
                format!("{} {}{over}", l.lock.database_name(dialect), l.table)
            })
            .collect::<Vec<_>>();
        let locks = if st.locks_unseen {
            ", locks: not seen (its implicit commit released them)".to_owned()
        } else if locks.is_empty() {
            String::new()
        } else {
            format!(", locks: {}", locks.join(", "))
        };
        out.result(&format!(
            "  {}. line {}: {shown}{more} ({}{rows}{locks})",
            k + 1,
            st.line,
            ms(st.duration)
        ));
    }
    if let StepOutcome::NotRehearsable { sql } = &step.outcome {
        for line in sql.lines() {
            out.result(&format!("  | {line}"));
        }
    }
}

/// The error of a failed rehearsal: the revision, where, and the database's word.
fn failure(r: &Rehearsal, step: &RehearsedStep) -> String {
    let kept = "the database is unchanged";
    match &step.outcome {
        StepOutcome::OverBudget {
            statement,
            line,
            table,
            lock,
            budget,
        } => format!(
            "the rehearsal failed: revision {} ({}:{line}), statement {statement} takes {} on {table}, over its budget `-- migrate:max-lock: {budget}`; {kept}",
            step.revision,
            step.file,
            lock.database_name(r.dialect)
        ),
        StepOutcome::Failed { statement, line, error } => format!(
            "the rehearsal failed: revision {} ({}:{line}), statement {statement}: {error}; {kept}",
            step.revision, step.file
        ),
        _ => format!("the rehearsal failed at revision {}; {kept}", step.revision),
    }
}

/// A duration in milliseconds, as the report prints it.
fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
