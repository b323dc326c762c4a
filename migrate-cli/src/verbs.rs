//! The [`DbCommand`] verbs, shared by `migrate` and the embedded command
//! line: only where the migration list comes from differs ([`Source`]).

use super::args::{DbCommand, GraphFormat};
use super::config::Settings;
use super::database;
use super::error::CliError;
use super::output::{Output, Style};
use super::picture::current_heads;
use migrate_core::graph::{find, heads};
use migrate_core::load::load_dir_allowing_fork;
use migrate_core::{Direction, Graph, Migration, Phase, State, Target, history, plan};
use migrate_runtime::server::DEFAULT_CONNECT_TIMEOUT;
use migrate_runtime::server::Database;
use migrate_runtime::{HistoryEntry, Migrations, Migrator, Report, Resolution, ScriptRange};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::time::{Duration, Instant};

/// Where the migrations come from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source<'a> {
    /// The folder of the settings, read now.
    Folder,
    /// The list `embed_migrations!` built into the binary.
    Embedded(&'a Migrations),
}

impl<'a> Source<'a> {
    /// The validated list, in application order.
    fn migrations(self, s: &Settings) -> Result<Cow<'a, Migrations>, CliError> {
        match self {
            Source::Embedded(m) => Ok(Cow::Borrowed(m)),
            Source::Folder => Ok(Cow::Owned(Migrations::load(&s.dir, &s.dir_shown)?)),
        }
    }

    /// The list, also when the folder's only problem is a fork (for `heads`, `show`).
    pub(crate) fn loose(self, s: &Settings) -> Result<Cow<'a, [Migration]>, CliError> {
        match self {
            Source::Embedded(m) => Ok(Cow::Borrowed(m.iter().as_slice())),
            Source::Folder => Ok(Cow::Owned(load_dir_allowing_fork(&s.dir, &s.dir_shown)?)),
        }
    }
}

fn url(s: &Settings) -> Result<&str, CliError> {
    s.database_url.as_deref().ok_or(CliError::MissingUrl)
}

fn target(text: &str) -> Result<Target, CliError> {
    if text.contains(':') {
        return Err(CliError::Usage(format!(
            "`{text}` is a FROM:TO range, which only offline scripts take: add --sql"
        )));
    }
    Ok(text.parse()?)
}

/// Runs one verb: each `DbCommand` goes to its own function, which makes
/// its one runtime call and prints what that returned.
pub(crate) async fn run(command: DbCommand, source: Source<'_>, s: &Settings, out: &Output) -> Result<(), CliError> {
    if let Some((verb, fleet, json)) = fleet_of(&command)? {
        let migrations = source.migrations(s)?;
        return super::fleet::run(&migrations, s, verb, &fleet, json, out).await;
    }
    match command {
        DbCommand::Upgrade {
            sql: true,
            phase: Some(_),
            ..
        } => Err(CliError::Usage(
            "--phase reads the database to find where to stop; a script takes its range instead: `upgrade --sql FROM:TO`, TO being the last revision before the contract phase".into(),
        )),
        DbCommand::Downgrade {
            sql: true,
            use_stored_downgrade: true,
            ..
        } => Err(CliError::Usage(
            "--use-stored-downgrade reads the SQL from the database's history rows, which a script cannot: run it against the database".into(),
        )),
        DbCommand::Upgrade {
            target: t, sql: true, ..
        } => offline(source, s, Direction::Upgrade, &t, out),
        DbCommand::Downgrade {
            target: t, sql: true, ..
        } => offline(source, s, Direction::Downgrade, &t, out),
        DbCommand::Upgrade {
            target: t, plan: Some(file), ..
        } => {
            let (migrations, target) = (source.migrations(s)?, target(&t)?);
            crate::plans::write(&migrations, s, url(s)?, &target, &file, out).await
        }
        DbCommand::Upgrade {
            apply_plan: Some(file), ..
        } => {
            let migrations = source.migrations(s)?;
            crate::plans::apply(&migrations, s, url(s)?, &file, out).await
        }
        DbCommand::Upgrade {
            target: t,
            phase,
            rehearse: true,
            ..
        } => {
            let (migrations, target) = (source.migrations(s)?, target(&t)?);
            crate::rehearse::run(&migrations, s, url(s)?, phase, &target, out).await
        }
        DbCommand::Upgrade {
            target: t,
            phase,
            batch_pause,
            max_duration,
            ..
        } => {
            let pace = Pace {
                batch_pause,
                max_duration,
            };
            change(source, s, Change::Upgrade { phase, pace }, &t, out).await
        }
        DbCommand::Downgrade {
            target: t,
            use_stored_downgrade,
            ..
        } => change(source, s, Change::Downgrade { use_stored_downgrade }, &t, out).await,
        DbCommand::Stamp { target: t, purge, .. } => change(source, s, Change::Stamp { purge }, &t, out).await,
        DbCommand::Resolve { id, retry: true, .. } => {
            let retried = on_database(source, s, out, async |m, db| m.resolve_retry(db, &id).await).await?;
            let done = match retried.steps.first().map(|s| s.direction) {
                Some(Direction::Downgrade) => "unapplied",
                _ => "applied",
            };
            out.info(&format!(
                "Ran {} again from its failed statement: {done}",
                out.paint(&id, Style::Id)
            ));
            Ok(())
        }
        DbCommand::Wait { timeout, .. } => wait(source, s, timeout, out).await,
        DbCommand::Resolve { id, applied, .. } => {
            let resolution = if applied {
                Resolution::Applied
            } else {
                Resolution::NotApplied
            };
            on_database(source, s, out, async |m, db| m.resolve(db, &id, resolution).await).await?;
            out.info(&format!(
                "Resolved {} as {}",
                out.paint(&id, Style::Id),
                if applied { "applied" } else { "not applied" }
            ));
            Ok(())
        }
        DbCommand::Current { json, check: false, .. } => current(source, s, json, out).await,
        DbCommand::Current { json, check: true, .. } => current_check(source, s, json, out).await,
        DbCommand::Heads { json, .. } => print_heads(source, s, json, out),
        DbCommand::History {
            rev_range,
            verbose,
            json,
            graph,
            format,
            ..
        } => {
            let view = match format {
                Some(format) => View::Picture(Some(format)),
                None if graph => View::Picture(None),
                None => View::List { verbose, json },
            };
            history(source, s, rev_range.as_deref(), view, out).await
        }
        DbCommand::Show { id, .. } => crate::show::show(source, s, &id, out),
    }
}

/// Runs one runtime call that changes the settings' database (refused when
/// it cannot outlive the command) with the migrator the settings describe,
/// then closes the database.
async fn on_database<T>(
    source: Source<'_>,
    s: &Settings,
    out: &Output,
    call: impl AsyncFnOnce(&Migrator<'_>, &mut Database) -> migrate_runtime::Result<T>,
) -> Result<T, CliError> {
    let migrations = source.migrations(s)?;
    database::refuse_transient(url(s)?)?;
    let mut db = database::open(s, url(s)?, false, out).await?;
    let migrator = database::migrator(&migrations, s, out);
    let done = call(&migrator, &mut db).await;
    database::close(db, out).await;
    Ok(done?)
}

/// `wait`: until the database holds every revision, `timeout` bounding the
/// whole call, connecting included (which gets at least a second, so that a
/// short wait still reads the database once).
async fn wait(source: Source<'_>, s: &Settings, timeout: Duration, out: &Output) -> Result<(), CliError> {
    let started = Instant::now();
    let migrations = source.migrations(s)?;
    database::refuse_transient(url(s)?)?;
    let connect = s.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    let bound = connect.min(timeout.max(Duration::from_secs(1)));
    let bounded = Settings {
        connect_timeout: Some(bound),
        ..s.clone()
    };
    let mut db = match database::open(&bounded, url(s)?, false, out).await {
        Err(CliError::ConnectTimeout {
            url, timeout: waited, ..
        }) if bound < connect => {
            return Err(CliError::ConnectTimeout {
                url,
                timeout: waited,
                bound: "that is the whole of `wait --timeout`, which bounds connecting too",
            });
        }
        opened => opened?,
    };
    let left = timeout.saturating_sub(started.elapsed());
    let migrator = database::migrator(&migrations, s, out);
    let done = migrator.wait_until_current(&mut db, left).await;
    database::close(db, out).await;
    done?;
    out.note("The database holds every revision.");
    Ok(())
}

/// `heads`: the revisions nothing descends from.
fn print_heads(source: Source<'_>, s: &Settings, json: bool, out: &Output) -> Result<(), CliError> {
    let list = source.loose(s)?;
    let heads = heads(&list);
    if json {
        let value: Vec<Value> = heads
            .iter()
            .map(|m| {
                json!({
                    "revision": m.revision(),
                    "down_revisions": m.down_revisions().collect::<Vec<_>>(),
                    "message": m.message(),
                    "file": m.file(),
                })
            })
            .collect();
        out.result(&Value::Array(value).to_string());
        return Ok(());
    }
    for m in heads {
        out.result(&format!(
            "{} {}",
            out.paint(m.revision(), Style::Id),
            out.paint("(head)", Style::Mark)
        ));
    }
    Ok(())
}

/// The fleet form of a command (`--each`, `--schemas`), if it is one.
fn fleet_of(command: &DbCommand) -> Result<Option<(super::fleet::Verb, crate::Fleet, bool)>, CliError> {
    use super::fleet::Verb;
    let (verb, fleet, json, sql) = match command {
        DbCommand::Upgrade {
            target: t,
            sql,
            phase,
            json,
            fleet,
            batch_pause,
            max_duration,
            ..
        } if fleet.is_many() => (
            Verb::Change(
                Change::Upgrade {
                    phase: *phase,
                    pace: Pace {
                        batch_pause: *batch_pause,
                        max_duration: *max_duration,
                    },
                },
                target(t)?,
            ),
            fleet,
            *json,
            *sql,
        ),
        DbCommand::Downgrade {
            target: t,
            sql,
            use_stored_downgrade,
            json,
            fleet,
            ..
        } if fleet.is_many() => (
            Verb::Change(
                Change::Downgrade {
                    use_stored_downgrade: *use_stored_downgrade,
                },
                target(t)?,
            ),
            fleet,
            *json,
            *sql,
        ),
        DbCommand::Stamp {
            target: t,
            purge,
            json,
            fleet,
            ..
        } if fleet.is_many() => (
            Verb::Change(Change::Stamp { purge: *purge }, target(t)?),
            fleet,
            *json,
            false,
        ),
        DbCommand::Current { json, check, fleet, .. } if fleet.is_many() => {
            if *check {
                return Err(CliError::Usage(
                    "--check says where one database stands; for many, read the `current --each … --json` output"
                        .into(),
                ));
            }
            (Verb::Current, fleet, *json, false)
        }
        _ => return Ok(None),
    };
    if sql {
        return Err(CliError::Usage(
            "--sql prints one script; --each and --schemas run against databases".into(),
        ));
    }
    Ok(Some((verb, fleet.clone(), json)))
}

/// `upgrade --sql` and `downgrade --sql`: the script, on stdout.
fn offline(source: Source<'_>, s: &Settings, direction: Direction, text: &str, out: &Output) -> Result<(), CliError> {
    let range: ScriptRange = text.parse()?;
    if direction == Direction::Downgrade && range.from.is_none() {
        return Err(CliError::Usage(format!(
            "downgrade --sql needs a FROM:TO range (e.g. `head:{text}`): a script cannot read where the database stands"
        )));
    }
    let dialect = match (s.dialect, s.database_url.as_deref()) {
        (Some(d), _) => d,
        (None, Some(url)) => database::dialect_of(url, &out.redacted(url))?,
        (None, None) => return Err(CliError::NoDialect),
    };
    let migrations = source.migrations(s)?;
    let migrator = database::migrator(&migrations, s, out);
    out.raw(&migrator.script(dialect, direction, &range)?);
    Ok(())
}

/// How an upgrade paces and bounds its backfills (`--batch-pause`, `--max-duration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pace {
    pub(crate) batch_pause: Option<std::time::Duration>,
    pub(crate) max_duration: Option<std::time::Duration>,
}

/// The verbs that move the database to a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Upgrade { phase: Option<Phase>, pace: Pace },
    Downgrade { use_stored_downgrade: bool },
    Stamp { purge: bool },
}

impl Change {
    /// Whether a missing SQLite file is created for it: the verbs that write the first rows.
    pub(crate) fn creates(self) -> bool {
        !matches!(self, Change::Downgrade { .. })
    }

    /// The lists a downgrade of the settings' set must check, loaded (none
    /// for the other verbs, or for the application's own list, which has no
    /// set name another list could depend on).
    pub(crate) fn dependents(self, s: &Settings, out: &Output) -> Result<Vec<database::Dependent>, CliError> {
        let (Change::Downgrade { .. }, Some(name)) = (self, &s.set_name) else {
            return Ok(Vec::new());
        };
        let mut lists = Vec::new();
        for list in &s.other_lists {
            if !list.dir.is_dir() {
                out.note(&format!(
                    "`{}` does not exist, so nothing in it can depend on the set `{name}`",
                    list.dir_shown
                ));
                continue;
            }
            let migrations = Migrations::load(&list.dir, &list.dir_shown).map_err(|d| {
                out.note(&format!(
                    "`{}` is read before the set `{name}` is downgraded: its revisions may depend on that set's",
                    list.dir_shown
                ));
                CliError::from(d)
            })?;
            lists.push(database::Dependent {
                set: list.set.clone(),
                table: list.table.clone(),
                migrations,
            });
        }
        Ok(lists)
    }

    /// Runs it to `target` on `db` with `migrator`, configured for it.
    pub(crate) async fn apply(
        self,
        db: &mut Database,
        migrator: migrate_runtime::Migrator<'_>,
        target: &Target,
    ) -> Result<Report, migrate_runtime::Error> {
        let migrator = match self {
            Change::Upgrade { phase, pace } => {
                let migrator = match phase {
                    Some(phase) => migrator.phase(phase),
                    None => migrator,
                };
                let migrator = match pace.batch_pause {
                    Some(pause) => migrator.batch_pause(pause),
                    None => migrator,
                };
                match pace.max_duration {
                    Some(limit) => migrator.max_duration(limit),
                    None => migrator,
                }
            }
            Change::Downgrade {
                use_stored_downgrade: true,
            } => migrator.use_stored_downgrade(),
            _ => migrator,
        };
        match self {
            Change::Upgrade { .. } => migrator.upgrade(db, target).await,
            Change::Downgrade { .. } => migrator.downgrade(db, target).await,
            Change::Stamp { purge: false } => migrator.stamp(db, target).await,
            Change::Stamp { purge: true } => migrator.stamp_purge(db, target).await,
        }
    }
}

/// `upgrade`, `downgrade` or `stamp` against the database.
async fn change(source: Source<'_>, s: &Settings, change: Change, t: &str, out: &Output) -> Result<(), CliError> {
    let (migrations, target) = (source.migrations(s)?, target(t)?);
    database::refuse_transient(url(s)?)?;
    if t == "heads" {
        out.note("`heads` is every head, as in Alembic; this history has one, so it is `head`.");
    }
    let lists = change.dependents(s, out)?;
    let sets = match change {
        Change::Upgrade { .. } => database::depended_on(s, &migrations, out),
        _ => Vec::new(),
    };
    let mut db = database::open(s, url(s)?, change.creates(), out).await?;
    if db.dialect() == migrate_runtime::Dialect::Sqlite
        && (s.ddl_lock_timeout.is_some() || s.statement_timeout.is_some())
    {
        out.note("SQLite has no lock timeout or statement timeout (a run holds its one write lock): --ddl-lock-timeout and --statement-timeout are ignored.");
    }
    let migrator = database::with_sets(
        database::with_dependents(database::migrator(&migrations, s, out), s, &lists),
        &sets,
    );
    let report = change.apply(&mut db, migrator, &target).await;
    // Where the database stands, when nothing ran: what the note says must be true.
    let at = match &report {
        Ok(r) if r.is_empty() && r.held_back.is_none() => {
            database::migrator(&migrations, s, out).current(&mut db).await.ok()
        }
        _ => None,
    };
    database::close(db, out).await;
    let report = report?;
    for step in &report.steps {
        if let Some(sql) = &step.stored_downgrade {
            out.info(&format!(
                "Ran the downgrade stored for {} when it was applied (this folder has no file for it):\n{sql}",
                out.paint(&step.revision, Style::Id)
            ));
        }
    }
    if let Some(note) = crate::repeatables::left_note(&report) {
        out.info(&note);
    }
    if let Some(paused) = &report.paused {
        out.info(&format!(
            "Stopped between two batches of the backfill {} (--max-duration): it stays in progress, and the next upgrade resumes it after its last committed batch.",
            out.paint(paused, Style::Id)
        ));
    } else if let Some(held) = &report.held_back {
        let next = migrations.get(held).and_then(Migration::phase);
        out.info(&match next {
            Some(Phase::Backfill) => format!(
                "Stopped before {}, the first revision of the backfill phase: deploy the new code, then run the backfills with `upgrade --phase backfill` (from a job), then upgrade without --phase.",
                out.paint(held, Style::Id)
            ),
            _ => format!(
                "Stopped before {}, the first revision of the contract phase: deploy the code that no longer needs what it removes, then upgrade without --phase.",
                out.paint(held, Style::Id)
            ),
        });
    } else if let Some(at) = at {
        out.note(&nothing_to_do(&migrations, change, t, &at));
    }
    Ok(())
}

/// `current --check`: where the database stands, as the exit status.
async fn current_check(source: Source<'_>, s: &Settings, json: bool, out: &Output) -> Result<(), CliError> {
    let migrations = source.migrations(s)?;
    let mut db = database::open(s, url(s)?, false, out).await?;
    let migrator = database::migrator(&migrations, s, out);
    let status = migrator.status(&mut db).await;
    database::close(db, out).await;
    // One reading of the history, the runtime's (`history::status`): a failed
    // migration is an error; one in progress (another process is applying it) is
    // pending; drift or a missing ancestor is an error, as every run would say.
    let status = status?;
    let (unknown_refused, problems): (Vec<_>, Vec<_>) = status
        .problems
        .into_iter()
        .partition(|p| matches!(p, history::HistoryProblem::Unknown { .. }));
    if !problems.is_empty() {
        return Err(migrate_runtime::Error::History(problems).into());
    }
    // Exit 4 names every revision the folder does not know, as documented; the
    // ones marked `expand` are those a run of this build accepts and runs beside.
    if !status.unknown.is_empty() {
        out.note(&format!(
            "{} unknown to this folder, which a run of this build accepts ({} marked `expand`, or unknown revisions ignored) and runs beside {}",
            status.unknown.join(", "),
            if status.unknown.len() == 1 { "it" } else { "them" },
            if status.unknown.len() == 1 { "it" } else { "them" },
        ));
    }
    let mut unknown = status.unknown;
    unknown.extend(unknown_refused.into_iter().filter_map(|p| match p {
        history::HistoryProblem::Unknown { revision } => Some(revision),
        _ => None,
    }));
    let pending = status.pending;
    if !status.backfilling.is_empty() {
        out.note(&format!(
            "{} in progress: a backfill stopped between batches, which the next upgrade resumes after its last committed batch",
            status.backfilling.join(", ")
        ));
    }
    if json {
        let mut value = json!({
            "at_head": unknown.is_empty() && pending.is_empty(),
            "pending": pending,
            "unknown": unknown,
        });
        if !status.backfilling.is_empty() {
            value["in_progress"] = json!(status.backfilling);
        }
        out.result(&value.to_string());
    }
    if !unknown.is_empty() {
        return Err(CliError::Unknown(unknown));
    }
    if !pending.is_empty() {
        return Err(CliError::Pending(pending));
    }
    if !json {
        let head = migrations.iter().last().map_or("base", Migration::revision);
        out.result(&format!(
            "{} {}",
            out.paint(head, Style::Id),
            out.paint("(head)", Style::Mark)
        ));
    }
    Ok(())
}

/// The note of a run that changed nothing, the database being `at` these
/// heads: "already at" only when it is, else why the verb went nowhere and
/// which one goes there (an upgrade never unapplies, a downgrade never applies).
fn nothing_to_do(list: &Migrations, change: Change, t: &str, at: &[String]) -> String {
    // A squash point names its baseline (`squash::target`, as the run resolved it).
    let baseline = list.graph().ok().and_then(|g| {
        let b = migrate_core::squash::target(&g, t)?.ok()?;
        Some(g.get(b).revision().to_owned())
    });
    let t_shown = match &baseline {
        Some(b) => format!("{t}` (squashed into the baseline `{b}`)"),
        None => format!("{t}`"),
    };
    let already = format!("Nothing to do: the database is already at `{t_shown}.");
    let shown = if at.is_empty() {
        "base".to_owned()
    } else {
        at.join(", ")
    };
    // The one revision `t` names, when it names one without counting steps.
    let named = match t {
        "base" => None,
        "head" | "heads" => list.iter().last().map(|m| m.revision().to_owned()),
        other if other.contains(['+', '-']) => return already,
        other => baseline.clone().or_else(|| {
            find(list.iter().as_slice(), other)
                .ok()
                .map(|m| m.revision().to_owned())
        }),
    };
    let there = match &named {
        None => at.is_empty(),
        Some(id) => at == std::slice::from_ref(id),
    };
    match change {
        _ if there => already,
        Change::Upgrade { .. } if named.is_none() => format!(
            "Nothing to do: the database is at {shown}, above `base`, and upgrade never unapplies revisions; to unapply them all, use `downgrade base`."
        ),
        Change::Upgrade { .. } => format!(
            "Nothing to do: `{t_shown} is applied and the database is at {shown}, beyond it, and upgrade never unapplies revisions; to go back to `{t}`, use `downgrade {t}`."
        ),
        Change::Downgrade { .. } => format!(
            "Nothing to do: the database is at {shown} and holds nothing above `{t_shown} to unapply, and downgrade never applies revisions; to go up to `{t}`, use `upgrade {t}`."
        ),
        Change::Stamp { .. } => already,
    }
}

/// `current`: the applied heads, one a line, id first.
async fn current(source: Source<'_>, s: &Settings, json: bool, out: &Output) -> Result<(), CliError> {
    let migrations = source.migrations(s)?;
    let mut db = database::open(s, url(s)?, false, out).await?;
    let migrator = database::migrator(&migrations, s, out);
    let ids = migrator.current(&mut db).await;
    // A revision whose downgrade failed part-way is still applied, and half undone: say so.
    // A backfill stopped between batches is in progress: say where it stands.
    let entries = match &ids {
        Ok(_) => migrator.history(&mut db).await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let with_state = |state| {
        entries
            .iter()
            .filter(move |e| e.applied.as_ref().is_some_and(|a| a.state == state))
    };
    let failed: Vec<String> = with_state(State::DowngradeFailed).map(|e| e.revision.clone()).collect();
    for e in with_state(State::Backfilling) {
        let at = e
            .applied
            .as_ref()
            .and_then(|a| a.backfill.as_ref())
            .map(crate::output::backfill_text);
        out.note(&format!(
            "{}: a backfill in progress ({}); the next upgrade resumes it after its last committed batch",
            e.revision,
            at.unwrap_or_else(|| "not begun".into())
        ));
    }
    database::close(db, out).await;
    let ids = ids?;
    let head = migrations.iter().last().map(Migration::revision);
    if json {
        let value: Vec<Value> = ids
            .iter()
            .map(|id| {
                let mut value = json!({
                    "revision": id,
                    // A row the list has no file for (a revision a squash replaced, a
                    // newer build's): the message its history row stored.
                    "message": migrations.get(id).map(Migration::message).or_else(|| {
                        entries.iter().find(|e| e.revision == *id).map(|e| e.message.as_str())
                    }),
                    "head": Some(id.as_str()) == head,
                });
                if failed.contains(id) {
                    value["downgrade_failed"] = Value::Bool(true);
                }
                if migrations.get(id).is_none() && migrations.iter().any(|m| m.replaces().any(|r| r == id)) {
                    value["squashed"] = Value::Bool(true);
                }
                value
            })
            .collect();
        out.result(&Value::Array(value).to_string());
        return Ok(());
    }
    let failed_mark = match source {
        Source::Folder => " (downgrade failed: see `migrate history --verbose`, then `migrate resolve`)",
        Source::Embedded(_) => " (downgrade failed: see the `history --verbose` command, then `resolve`)",
    };
    for id in &ids {
        let mut mark = match migrations.get(id) {
            // The database's row of a revision a baseline replaced: it stands for the baseline.
            None if migrations.iter().any(|m| m.replaces().any(|r| r == id)) => " (squashed into a baseline)",
            None => " (unknown to this build)",
            Some(_) if Some(id.as_str()) == head => " (head)",
            Some(_) => "",
        }
        .to_owned();
        if failed.contains(id) {
            mark.push_str(failed_mark);
        }
        out.result(&format!(
            "{}{}",
            out.paint(id, Style::Id),
            out.paint(&mark, Style::Mark)
        ));
    }
    if ids.is_empty() {
        out.note("No revision is applied.");
    }
    Ok(())
}

/// The revision a range end names (`None`: base), through the plan that
/// would upgrade an empty database to it: its last step is the revision.
fn range_end(graph: &Graph<'_>, text: &str) -> Result<Option<usize>, CliError> {
    let t: Target = match text {
        "heads" => Target::Head,
        other => other.parse()?,
    };
    let nothing = vec![false; graph.len()];
    let steps = plan::upgrade(graph, &nothing, &t)
        .map_err(migrate_runtime::Error::from)?
        .steps;
    Ok(steps.last().copied())
}

/// Which positions `-r START:END` keeps (both ends included, either may be empty).
fn in_range(graph: &Graph<'_>, range: Option<&str>) -> Result<Vec<bool>, CliError> {
    let all = vec![true; graph.len()];
    let Some(range) = range else { return Ok(all) };
    let Some((start, end)) = range.split_once(':') else {
        return Err(CliError::Usage(format!(
            "`{range}` is not a range: use START:END, START: or :END (e.g. base:ae10, ae10:, :head)"
        )));
    };
    let below = match start.trim() {
        "" | "base" => all.clone(),
        text => match range_end(graph, text)? {
            Some(i) => graph.descendants(i),
            None => all.clone(),
        },
    };
    let above = match end.trim() {
        "" => all,
        "base" => vec![false; graph.len()],
        text => match range_end(graph, text)? {
            Some(i) => graph.ancestors(i),
            None => vec![false; graph.len()],
        },
    };
    Ok(below.iter().zip(&above).map(|(a, b)| *a && *b).collect())
}

pub(crate) fn parents_or_base(parents: &[&str]) -> String {
    migrate_core::migration::parents_text(parents.iter().copied())
}

/// How `history` shows the revisions.
enum View {
    /// One line (or block, `verbose`) a revision, or JSON.
    List { verbose: bool, json: bool },
    /// The graph drawn (`--graph`), or written as dot or Mermaid (`--format`).
    Picture(Option<GraphFormat>),
}

/// `history`: newest first, Alembic's `parent -> rev (marks), message`.
async fn history(
    source: Source<'_>,
    s: &Settings,
    range: Option<&str>,
    view: View,
    out: &Output,
) -> Result<(), CliError> {
    let migrations = source.migrations(s)?;
    let graph = migrations.graph()?;
    let keep = in_range(&graph, range)?;
    let entries: Option<Vec<HistoryEntry>> = match &s.database_url {
        None => None,
        Some(url) => {
            let mut db = database::open(s, url, false, out).await?;
            let migrator = database::migrator(&migrations, s, out);
            let entries = migrator.history(&mut db).await;
            database::close(db, out).await;
            Some(entries?)
        }
    };
    let (verbose, json) = match view {
        View::List { verbose, json } => (verbose, json),
        View::Picture(format) => {
            crate::picture::print(&graph, entries.as_deref(), format, out);
            return Ok(());
        }
    };
    let rows = history_rows(&graph, migrations.repeatables(), &keep, entries.as_deref());
    if json {
        let value = json!({
            "database": entries.is_some(),
            "revisions": rows.iter().map(Row::json).collect::<Vec<_>>(),
        });
        out.result(&value.to_string());
        return Ok(());
    }
    for row in &rows {
        out.result(&row.text(out, verbose, entries.is_some()));
    }
    Ok(())
}

/// The lines of `history`, newest first: applied revisions this list does
/// not know and the `repeatables` (with their files; without a database,
/// from the list), then the list's revisions that `keep` keeps, with their marks.
fn history_rows<'a>(
    graph: &'a Graph<'a>,
    repeatables: &'a [Migration],
    keep: &[bool],
    entries: Option<&'a [HistoryEntry]>,
) -> Vec<Row<'a>> {
    let file_of = |id: &str| repeatables.iter().find(|m| m.revision() == id).map(Migration::file);
    let mut rows: Vec<Row<'a>> = Vec::new();
    if entries.is_none() {
        rows.extend(repeatables.iter().map(|m| Row {
            revision: m.revision(),
            parents: Vec::new(),
            message: m.message(),
            file: Some(m.file()),
            known: true,
            marks: vec!["repeatable"],
            applied: None,
        }));
    }
    let entries = entries.unwrap_or_default();
    let applied_row = |id: &str| {
        entries
            .iter()
            .find(|e| e.revision == id)
            .and_then(|e| e.applied.as_ref())
    };
    let current = current_heads(graph, entries);

    // Applied revisions this list does not know are the newest: list them first.
    let replaced = migrate_core::squash::Replaced::of(graph);
    for e in entries.iter().filter(|e| crate::repeatables::listed(e)) {
        rows.push(Row {
            revision: &e.revision,
            parents: e.down_revisions.iter().map(String::as_str).collect(),
            message: &e.message,
            file: file_of(&e.revision).filter(|_| e.known),
            known: e.known,
            marks: crate::repeatables::marks(&replaced, repeatables, e),
            applied: e.applied.as_ref(),
        });
    }
    for i in (0..graph.len()).rev().filter(|&i| keep[i]) {
        let m = graph.get(i);
        // A baseline with no row of its own stands on its squash point's row (the runtime's reading).
        let applied = applied_row(m.revision());
        let is_applied = applied.is_some_and(|a| a.state == State::Applied);
        let mut marks = marks(graph, i, current.contains(&m.revision()), is_applied);
        match applied.map(|a| a.state) {
            Some(State::Backfilling) => marks.push("backfill in progress"),
            // A row a run left failed or under way: what `resolve` reads.
            Some(state) if state != State::Applied => marks.push(state.as_str()),
            _ => {}
        }
        rows.push(Row {
            revision: m.revision(),
            parents: m.down_revisions().collect(),
            message: m.message(),
            file: Some(m.file()),
            known: true,
            marks,
            applied,
        });
    }
    rows
}

/// The marks of revision `i` in `history`: head, current or applied, branch and merge points, phase.
fn marks(graph: &Graph<'_>, i: usize, current: bool, applied: bool) -> Vec<&'static str> {
    let mut marks = Vec::new();
    if graph.head() == Some(i) {
        marks.push("head");
    }
    if current {
        marks.push("current");
    } else if applied {
        marks.push("applied");
    }
    if graph.children(i).len() > 1 {
        marks.push("branchpoint");
    }
    if graph.parents(i).len() > 1 {
        marks.push("mergepoint");
    }
    if let Some(phase) = graph.get(i).phase() {
        marks.push(phase.as_str());
    }
    marks
}

/// One line of `history`.
struct Row<'a> {
    revision: &'a str,
    parents: Vec<&'a str>,
    message: &'a str,
    file: Option<&'a str>,
    /// A revision or repeatable of the list (its file may be gone: `no file`).
    known: bool,
    marks: Vec<&'static str>,
    applied: Option<&'a migrate_runtime::Applied>,
}

impl Row<'_> {
    /// The row as `history` prints it: one line, or with `verbose` a block
    /// (with what the database recorded, when `database` was read).
    fn text(&self, out: &Output, verbose: bool, database: bool) -> String {
        let marks: String = self.marks.iter().map(|m| format!(" ({m})")).collect();
        let id = out.paint(self.revision, Style::Id);
        let marks = out.paint(&marks, Style::Mark);
        // A repeatable stands outside the graph: no parents, no `<base> ->`.
        let repeatable = crate::repeatables::is(self.revision);
        if !verbose {
            let from = if repeatable {
                String::new()
            } else {
                format!("{} -> ", parents_or_base(&self.parents))
            };
            return format!("{from}{id}{marks}, {}", self.message);
        }
        let mut block = format!("Rev: {id}{marks}\n");
        if !repeatable {
            block.push_str(&format!("Parent: {}\n", parents_or_base(&self.parents)));
        }
        if let Some(file) = self.file {
            block.push_str(&format!("Path: {file}\n"));
        }
        if database {
            match self.applied {
                Some(a) => block.push_str(&format!(
                    "Applied: {} ({} ms){}\n",
                    a.applied_at,
                    a.execution_time.as_millis(),
                    if a.state == State::Applied {
                        String::new()
                    } else {
                        format!(", state {}", a.state)
                    }
                )),
                None => block.push_str("Applied: no\n"),
            }
            if let Some(b) = self.applied.and_then(|a| a.backfill.as_ref()) {
                block.push_str(&format!("Backfill: {}\n", crate::output::backfill_text(b)));
            }
        }
        block.push_str(&format!("\n    {}\n", self.message));
        block
    }

    fn json(&self) -> Value {
        let phase = ["expand", "backfill", "contract"]
            .into_iter()
            .find(|p| self.marks.contains(p));
        json!({
            "revision": self.revision,
            "down_revisions": self.parents,
            "message": self.message,
            "file": self.file,
            "head": self.marks.contains(&"head"),
            "current": self.marks.contains(&"current"),
            "phase": phase,
            "known": self.known,
            "applied": self.applied.map(|a| json!({
                "applied_at": a.applied_at,
                "execution_ms": a.execution_time.as_millis() as u64,
                "state": a.state.as_str(),
                "checksum": a.checksum,
                "backfill": a.backfill.map(|b| json!({
                    "rows": b.rows,
                    "batches_done": b.batches_done,
                    "batches": b.batches,
                    "next": b.next.to_string(),
                    "last": b.last.to_string(),
                })),
            })),
        })
    }
}
