//! `upgrade`, `downgrade`, `current` and `stamp` on many databases
//! (`--each FILE`) or many schemas of one (`--schemas PATTERN`), `--jobs` at
//! a time: a line per database as it finishes, a bar on a terminal, a
//! summary, `--json`, and an exit status that says whether any failed.

use super::args::Fleet;
use super::config::Settings;
use super::database;
use super::error::CliError;
use super::output::{Output, Style};
use super::verbs::Change;
use migrate_core::Target;
use migrate_runtime::fleet::{Entry, Outcome};
use migrate_runtime::{Migrations, Report};
use serde_json::{Value, json};
use std::cell::Cell;

/// What to do on each database: one of the verbs that move it to a target, or `current`.
#[derive(Debug, Clone)]
pub(crate) enum Verb {
    Change(Change, Target),
    Current,
}

/// What one database gave.
enum Done {
    Changed(Report),
    Current(Vec<String>),
}

/// One database of the fleet: how it is named in output, and how it is reached.
struct Member {
    /// As output names it (a URL with its password masked, a schema).
    name: String,
    url: String,
    schema: Option<String>,
}

/// The databases `--each FILE` lists, or the schemas `--schemas PATTERN` matches.
async fn members(fleet: &Fleet, s: &Settings, out: &Output) -> Result<Vec<(String, Member)>, CliError> {
    if let Some(file) = &fleet.each {
        return each_file(file);
    }
    let pattern = fleet.schemas.as_deref().unwrap_or("%");
    let url = s.database_url.as_deref().ok_or(CliError::MissingUrl)?;
    if migrate_runtime::Dialect::from_url(url) != Some(migrate_runtime::Dialect::Postgres) {
        return Err(CliError::Usage(
            "--schemas is for PostgreSQL: give a postgres:// database URL".into(),
        ));
    }
    let names = database::list_schemas(s, url, pattern, out).await?;
    if names.is_empty() {
        return Err(CliError::Refused(format!(
            "no schema of the database matches `{pattern}`"
        )));
    }
    Ok(names
        .into_iter()
        .map(|schema| {
            (
                schema.clone(),
                Member {
                    name: schema.clone(),
                    url: url.to_owned(),
                    schema: Some(schema),
                },
            )
        })
        .collect())
}

/// The databases a `--each` file lists, one URL a line (blank lines and `#`
/// comments skipped), each once: one database on two lines (however its URL
/// is written) would take a relative target twice, so that is an error
/// naming both lines, before anything runs.
fn each_file(file: &std::path::Path) -> Result<Vec<(String, Member)>, CliError> {
    let text = std::fs::read_to_string(file).map_err(super::error::io(format!("cannot read `{}`", file.display())))?;
    let listed: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if listed.is_empty() {
        return Err(CliError::Usage(format!("`{}` lists no database URL", file.display())));
    }
    let masked = |url: &str| {
        // Named in every line, JSON object and error with its password masked.
        let mut own = Output::new(true);
        own.hide_password_of(url);
        own.redacted(url)
    };
    let mut first_seen: std::collections::HashMap<String, (usize, &str)> = std::collections::HashMap::new();
    let mut twice = Vec::new();
    for &(line, url) in &listed {
        let Some(identity) = migrate_runtime::server::url::identity(url) else {
            continue;
        };
        match first_seen.get(&identity) {
            Some(&(first, first_url)) => twice.push(format!(
                "`{}` lists one database twice: line {first} (`{}`) and line {line} (`{}`)\n  --> {}:{line}",
                file.display(),
                masked(first_url),
                masked(url),
                file.display()
            )),
            None => {
                first_seen.insert(identity, (line, url));
            }
        }
    }
    if !twice.is_empty() {
        return Err(CliError::Usage(format!(
            "{}\n  = help: each database is run once per line, so a relative target (-1, +2) would move it once per line; remove the repeated line{}; nothing was run",
            twice.join("\n\nerror: "),
            if twice.len() > 1 { "s" } else { "" }
        )));
    }
    Ok(listed
        .into_iter()
        .map(|(_, url)| {
            let name = masked(url);
            (
                name.clone(),
                Member {
                    name,
                    url: url.to_owned(),
                    schema: None,
                },
            )
        })
        .collect())
}

/// Runs `verb` on one member, quietly: its lines would interleave with the others'.
async fn one(
    migrations: &Migrations,
    s: &Settings,
    verb: &Verb,
    lists: &[database::Dependent],
    member: Member,
) -> Result<Done, CliError> {
    let mut out = Output::new(true);
    out.hide_password_of(&member.url);
    database::refuse_transient(&member.url)?;
    let creates = matches!(verb, Verb::Change(change, _) if change.creates());
    let mut db = database::open_in(s, &member.url, creates, member.schema.as_deref(), &out).await?;
    let mut migrator = database::with_dependents(database::migrator(migrations, s, &out), s, lists);
    if let Some(schema) = &member.schema {
        migrator = migrator.history_schema(schema);
    }
    let done = match verb {
        Verb::Change(change, target) => change.apply(&mut db, migrator, target).await.map(Done::Changed),
        Verb::Current => migrator.current(&mut db).await.map(Done::Current),
    };
    database::close(db, &out).await;
    Ok(done?)
}

/// The whole fleet run.
pub(crate) async fn run(
    migrations: &Migrations,
    s: &Settings,
    verb: Verb,
    fleet: &Fleet,
    json: bool,
    out: &Output,
) -> Result<(), CliError> {
    let members = members(fleet, s, out).await?;
    let lists = &match &verb {
        Verb::Change(change, _) => change.dependents(s, out)?,
        Verb::Current => Vec::new(),
    };
    let total = members.len();
    let finished = &Cell::new(0usize);
    let verb = &verb;
    let entries: Vec<Entry<Done, CliError>> = migrate_runtime::fleet::each_until(
        members,
        usize::from(fleet.jobs),
        fleet.fail_fast,
        crate::stop::asked,
        |member| async move {
            let name = member.name.clone();
            let result = one(migrations, s, verb, lists, member).await;
            finished.set(finished.get() + 1);
            if !json {
                // A line per database as it finishes.
                let entry = Entry {
                    database: name,
                    outcome: match &result {
                        Ok(done) => Outcome::Done(done),
                        Err(e) => Outcome::Failed(e),
                    },
                };
                out.result(&entry_line(&entry, out));
            }
            out.fleet_progress(finished.get(), total);
            result
        },
    )
    .await;
    out.clear_bar();
    if json {
        let value: Vec<Value> = entries.iter().map(|e| entry_json(e, out)).collect();
        out.result(&Value::Array(value).to_string());
    } else {
        for e in entries.iter().filter(|e| matches!(e.outcome, Outcome::NotRun)) {
            out.result(&entry_line(e, out));
        }
    }
    let stopped = entries.iter().filter(|e| was_stopped(e)).count();
    let failed: Vec<&Entry<Done, CliError>> = entries.iter().filter(|e| e.failed() && !was_stopped(e)).collect();
    let not_run = entries.iter().filter(|e| matches!(e.outcome, Outcome::NotRun)).count();
    let changed = entries
        .iter()
        .filter(|e| matches!(&e.outcome, Outcome::Done(Done::Changed(r)) if !r.is_empty()))
        .count();
    let unchanged = entries.len() - failed.len() - stopped - not_run - changed;
    let stopped_part = match stopped {
        0 => String::new(),
        n => format!("{n} stopped, "),
    };
    let summary = match verb {
        Verb::Current => format!(
            "{total} databases: {} read, {} failed, {not_run} not run",
            total - failed.len() - not_run,
            failed.len()
        ),
        _ => format!(
            "{total} databases: {changed} changed, {unchanged} already at the target, {stopped_part}{} failed, {not_run} not run",
            failed.len()
        ),
    };
    out.note(&summary);
    if failed.is_empty() && not_run == 0 && stopped == 0 {
        return Ok(());
    }
    let names: Vec<&str> = failed.iter().map(|e| e.database.as_str()).collect();
    let why = if crate::stop::asked() { "stopped" } else { "--fail-fast" };
    if failed.is_empty() && crate::stop::asked() {
        return Err(CliError::Stopped(format!(
            "the fleet stopped, as asked: {stopped} database(s) stopped at a clean point, {not_run} not started; run the command again to go on"
        )));
    }
    Err(CliError::Refused(if failed.is_empty() {
        format!("{not_run} databases were not run ({why})")
    } else {
        format!(
            "{} of {total} databases failed: {}{}",
            failed.len(),
            names.join(", "),
            if not_run > 0 {
                format!("; {not_run} were not run ({why})")
            } else {
                String::new()
            }
        )
    }))
}

/// Whether `e`'s run stopped at a clean point, as a signal asked.
fn was_stopped<D, E: std::borrow::Borrow<CliError>>(e: &Entry<D, E>) -> bool {
    matches!(&e.outcome, Outcome::Failed(err) if matches!(err.borrow(), CliError::Runtime(migrate_runtime::Error::Stopped { .. })))
}

fn entry_line<D: std::borrow::Borrow<Done>, E: std::borrow::Borrow<CliError>>(e: &Entry<D, E>, out: &Output) -> String {
    let name = out.paint(&e.database, Style::Id);
    match &e.outcome {
        Outcome::Done(done) => match done.borrow() {
            Done::Changed(r) if r.is_empty() => format!("{name}: already at the target"),
            Done::Changed(r) => format!("{name}: {} step(s): {}", r.steps.len(), r.revisions().join(", ")),
            Done::Current(ids) if ids.is_empty() => format!("{name}: no revision applied"),
            Done::Current(ids) => format!("{name}: {}", ids.join(", ")),
        },
        Outcome::Failed(err) => {
            let label = if was_stopped(e) { "STOPPED" } else { "FAILED" };
            format!("{name}: {label}: {}", out.redacted(&err.borrow().to_string()))
        }
        Outcome::NotRun if crate::stop::asked() => format!("{name}: not run (stopped)"),
        Outcome::NotRun => format!("{name}: not run (--fail-fast)"),
    }
}

fn entry_json(e: &Entry<Done, CliError>, out: &Output) -> Value {
    match &e.outcome {
        Outcome::Done(Done::Changed(r)) => json!({
            "database": e.database,
            "status": if r.is_empty() { "unchanged" } else { "changed" },
            "revisions": r.revisions(),
        }),
        Outcome::Done(Done::Current(ids)) => json!({
            "database": e.database,
            "status": "read",
            "current": ids,
        }),
        Outcome::Failed(err) => json!({
            "database": e.database,
            "status": if was_stopped(e) { "stopped" } else { "failed" },
            "error": out.redacted(&err.to_string()),
        }),
        Outcome::NotRun => json!({
            "database": e.database,
            "status": "not_run",
        }),
    }
}
