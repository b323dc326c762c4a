//! `revision --autogenerate`, `check --schema` and `schema dump`: the
//! migrations' end state and `schema.sql`, each made in a scratch database
//! of its own and read back through the catalogs, compared, and written as
//! a revision.
//!
//! Scratch databases: SQLite in memory; on PostgreSQL and MySQL, databases
//! of unique names (`migrate_scratch_<seconds>_<pid>_<n>`) created on the
//! server `--dev-database-url` names and dropped afterwards, also when the
//! command fails or is interrupted (Ctrl-C, SIGTERM). Ones a killed run left are
//! dropped by a later run once they are an hour old, or at once when the
//! server is on this machine and their process is gone. Never the user's
//! database. The life of a scratch database is the runtime's
//! ([`migrate_runtime::server::Throwaway`]), the same as a test database's.

use super::config::Settings;
use super::database;
use super::error::CliError;
use super::output::{Output, Style};
use migrate_core::schema::{self, Generated, Renames, Schema};
use migrate_runtime::server::{self, Database, OpenOptions, SCRATCH};
use migrate_runtime::{Dialect, Migrations};

/// The refusal when the dev server will not create a scratch database,
/// naming the privilege its user lacks.
fn no_privilege(privilege: &str, shown: &str, e: server::Error) -> CliError {
    CliError::Refused(format!(
        "cannot create a scratch database on `{shown}`: {}\n  = help: the dev database's user needs {privilege}; point --dev-database-url (or `dev_database_url` in migrate.toml) at a server where it has it, never at the database you deploy to",
        e.short()
    ))
}

/// The dev server could not be reached (or its URL read).
fn unreachable(shown: &str, e: server::Error) -> CliError {
    match e.into_sqlx() {
        Ok(source) => CliError::Connect {
            url: shown.to_owned(),
            source,
        },
        Err(other) => database::open_error(other, shown),
    }
}

/// Ctrl-C (SIGINT) or SIGTERM, listened for from the start of a command to
/// its end, so that one that arrives between two scratch databases is not lost.
pub(crate) struct Interrupt {
    #[cfg(unix)]
    signals: [Option<tokio::signal::unix::Signal>; 2],
    fired: bool,
}

impl Interrupt {
    /// Starts listening (on Unix; elsewhere Ctrl-C ends the process as usual).
    pub(crate) fn new() -> Interrupt {
        #[cfg(unix)]
        use tokio::signal::unix::{SignalKind, signal};
        Interrupt {
            #[cfg(unix)]
            signals: [SignalKind::interrupt(), SignalKind::terminate()].map(|kind| signal(kind).ok()),
            fired: false,
        }
    }

    /// Whether Ctrl-C has been pressed (or SIGTERM sent), now or earlier, without waiting.
    pub(crate) fn has_fired(&mut self) -> bool {
        self.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
            .is_ready()
    }

    /// Ready once Ctrl-C has been pressed, now or earlier.
    fn fired(&mut self) -> impl std::future::Future<Output = ()> + '_ {
        std::future::poll_fn(|cx| self.poll(cx))
    }

    fn poll(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.fired {
            return std::task::Poll::Ready(());
        }
        #[cfg(unix)]
        for signal in self.signals.iter_mut().flatten() {
            if signal.poll_recv(cx).is_ready() {
                self.fired = true;
                return std::task::Poll::Ready(());
            }
        }
        let _ = cx;
        std::task::Poll::Pending
    }
}

/// Runs `work` on a fresh scratch database and drops it afterwards,
/// whether `work` succeeds, fails, or the user presses Ctrl-C: the
/// runtime's throw-away database of kind [`SCRATCH`], in memory for SQLite.
pub(crate) async fn with_scratch<T, F>(
    dialect: Dialect,
    dev_url: Option<&str>,
    out: &Output,
    interrupt: &mut Interrupt,
    work: F,
) -> Result<T, CliError>
where
    F: AsyncFnOnce(&mut Database, &str) -> Result<T, CliError>,
{
    let shown = dev_url.map(|u| out.redacted(u)).unwrap_or_default();
    let mut dev = server::scratch_server(dialect, dev_url.unwrap_or_default())
        .await
        .map_err(|e| unreachable(&shown, e))?;
    let made = SCRATCH.create(&mut *dev, None).await;
    let privilege = dev.create_privilege();
    dev.close().await;
    let scratch = made.map_err(|e| no_privilege(privilege, &shown, e))?;
    let result = match Database::open(scratch.url(), &OpenOptions::new()).await {
        Err(e) => Err(unreachable(&shown, e)),
        Ok(mut db) => {
            let done = scratch.until(interrupt.fired(), work(&mut db, scratch.url())).await;
            match done {
                Some(done) => {
                    db.close().await;
                    done
                }
                None => {
                    // Interrupted: a statement may still be running (SQLite's worker
                    // thread cannot be told to stop from here), so the connections are
                    // dropped, not waited for, and the scratch database dropped below.
                    drop(db);
                    Err(CliError::Refused(
                        "interrupted; the scratch database was dropped".into(),
                    ))
                }
            }
        }
    };
    if interrupt.fired {
        // Ctrl-C ends the command: dropping the scratch database gets a bounded time
        // (a server that keeps a running statement's locks is left to the next sweep).
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), scratch.finish(None)).await;
    } else {
        scratch.finish(None).await;
    }
    result
}

/// The settings of a run on a scratch database: every history table in
/// the database's current schema. `history_schema` names where the deployed
/// database keeps its history; a scratch database, made empty, has no such
/// schema (on MySQL it would be another database of the dev server, shared
/// by every scratch run).
pub(crate) fn on_scratch(s: &Settings) -> Settings {
    let mut s = s.clone();
    s.table = s.table.without_schema();
    for (_, table) in &mut s.set_tables {
        *table = table.clone().without_schema();
    }
    for list in &mut s.other_lists {
        list.table = list.table.clone().without_schema();
    }
    s
}

/// Refuses a server dialect with no dev server to make scratch databases on.
pub(crate) fn needs_server(d: Dialect, s: &Settings) -> Result<(), CliError> {
    if d == Dialect::Sqlite || s.dev_database_url.is_some() {
        return Ok(());
    }
    Err(CliError::Usage(format!(
        "the {} schemas are made in scratch databases on a server of their own: pass --dev-database-url URL (or set `dev_database_url` in migrate.toml), a server where this tool may create and drop databases; never the database you deploy to",
        schema::Dialect::from(d).name()
    )))
}

/// The tables the runtime keeps, which no schema file describes.
pub(crate) fn own_tables(s: &Settings) -> Vec<String> {
    migrate_runtime::catalog::own_tables(&s.table, s.set_tables.iter().map(|(_, t)| t))
}

/// The dialect of generated SQL: the dev database's, else the database
/// URL's, else `--dialect`.
pub(crate) fn dialect(s: &Settings, out: &Output) -> Result<Dialect, CliError> {
    if let Some(url) = &s.dev_database_url {
        return database::dialect_of(url, &out.redacted(url));
    }
    if let Some(url) = &s.database_url {
        return database::dialect_of(url, &out.redacted(url));
    }
    s.dialect.ok_or_else(|| {
        CliError::Usage(
            "autogenerate needs a dialect: pass --dialect sqlite|postgres|mysql, --dev-database-url URL, or a database URL"
                .into(),
        )
    })
}

/// The migrations' end state: the folder applied to a scratch database.
async fn migrations_state(
    d: Dialect,
    migrations: &Migrations,
    s: &Settings,
    out: &Output,
    interrupt: &mut Interrupt,
) -> Result<Schema, CliError> {
    let exclude = own_tables(s);
    with_scratch(d, s.dev_database_url.as_deref(), out, interrupt, async |db, _| {
        database::with_vars(migrations.migrator(), s)
            .history_table(s.table.name())
            .upgrade(&mut *db, "head")
            .await?;
        Ok(migrate_runtime::catalog::read_schema(db, &exclude).await?)
    })
    .await
}

/// What `schema.sql` makes: the file run in a scratch database.
async fn file_state(
    d: Dialect,
    text: &str,
    s: &Settings,
    out: &Output,
    interrupt: &mut Interrupt,
) -> Result<Schema, CliError> {
    with_scratch(d, s.dev_database_url.as_deref(), out, interrupt, async |db, _| {
        migrate_runtime::catalog::run_script(&mut *db, text, &s.schema_shown)
            .await
            .map_err(|e| match e {
                migrate_runtime::Error::Script(problems) => CliError::Invalid(problems),
                e => CliError::Refused(format!(
                    "{e}\n  = help: {} must run as it is on an empty {} database",
                    s.schema_shown,
                    schema::Dialect::from(d).name()
                )),
            })?;
        // A dump of a migrated database holds the runtime's own tables: they are on neither side.
        Ok(migrate_runtime::catalog::read_schema(db, &own_tables(s)).await?)
    })
    .await
}

fn read_schema_file(s: &Settings) -> Result<(String, Renames), CliError> {
    let text = std::fs::read_to_string(&s.schema_file).map_err(|e| {
        CliError::Refused(format!(
            "cannot read the schema file `{}`: {e}\n  = help: write the schema you want there (`migrate schema dump > {}` gives the migrations' end state to start from), or name another with --schema FILE or `schema` in migrate.toml",
            s.schema_shown, s.schema_shown
        ))
    })?;
    schema::check_file(&s.schema_shown, &text)?;
    let renames = schema::renames(&text).map_err(|e| CliError::Refused(format!("{}:{}", s.schema_shown, e)))?;
    Ok((text, renames))
}

/// Both states and what separates them.
async fn compared(s: &Settings, allow_destructive: bool, out: &Output) -> Result<(Dialect, Generated), CliError> {
    let d = dialect(s, out)?;
    needs_server(d, s)?;
    let migrations = Migrations::load(&s.dir, &s.dir_shown)?;
    let (text, renames) = read_schema_file(s)?;
    // Nothing of a file that would act beyond its scratch database runs: refused before any scratch is made.
    schema::script::read(&s.schema_shown, &text, d.into())?;
    let mut interrupt = Interrupt::new();
    let before = migrations_state(d, &migrations, s, out, &mut interrupt).await?;
    let after = file_state(d, &text, s, out, &mut interrupt).await?;
    let generated = schema::generate(d.into(), &before, &after, &renames, allow_destructive)
        .map_err(|e| CliError::Refused(e.to_string()))?;
    Ok((d, generated))
}

fn print_detected(g: &Generated, out: &Output, result: bool) {
    for line in &g.detected {
        if result {
            out.result(&line.text);
        } else if line.destructive {
            out.warn(&format!("{} (can lose data: read its -- REVIEW: line)", line.text));
        } else {
            out.note(&line.text);
        }
    }
    for name in &g.not_generated {
        let text = format!("Not generated: {name} differs; write it by hand");
        if result {
            out.result(&text);
        } else {
            out.warn(&text);
        }
    }
}

/// `revision --autogenerate -m MSG`.
pub(crate) async fn autogenerate(
    s: &Settings,
    message: &str,
    allow_destructive: bool,
    out: &Output,
) -> Result<(), CliError> {
    let (_, generated) = compared(s, allow_destructive, out).await?;
    print_detected(&generated, out, false);
    if generated.is_empty() {
        out.note(&format!(
            "No changes detected: the migrations already give {}; nothing written",
            s.schema_shown
        ));
        return Ok(());
    }
    super::author::write_generated(s, message, out, |revision, parents, created| {
        generated.file(message, revision, parents, created)
    })
    .map_err(|e| match e {
        // The build would refuse the generated SQL: said as what it is, with the file's place.
        CliError::Invalid(problems) => {
            out.error(&problems.to_string(), true);
            let text = problems.to_string();
            let hint = if text.contains("enum value") {
                ": a revision cannot use an enum value it adds (PostgreSQL commits the value first); write the value's revision first, then autogenerate again"
            } else {
                ""
            };
            CliError::Refused(format!(
                "the generated revision was not written (the file named above does not exist): the build would refuse its SQL{hint}"
            ))
        }
        other => other,
    })
}

/// `check --schema`: exit 1 and print the differences when the migrations'
/// end state and the schema file differ.
pub(crate) async fn check(s: &Settings, out: &Output) -> Result<(), CliError> {
    super::author::check(s, out)?;
    let (_, generated) = compared(s, true, out).await?;
    if generated.detected.is_empty() && generated.not_generated.is_empty() {
        out.info(&format!("{}: the migrations give exactly this schema", s.schema_shown));
        return Ok(());
    }
    print_detected(&generated, out, true);
    Err(CliError::Refused(format!(
        "the migrations' end state differs from {} ({} difference(s)); `migrate revision --autogenerate -m MSG` writes a revision for them",
        s.schema_shown,
        generated.detected.len() + generated.not_generated.len()
    )))
}

/// `schema dump`: the migrations' end state (or, with `live`, the
/// database's) as a schema file.
pub(crate) async fn dump(s: &Settings, live: bool, out: &Output) -> Result<(), CliError> {
    let state = if live {
        let url = s.database_url.as_deref().ok_or(CliError::MissingUrl)?;
        let mut db = database::open(s, url, false, out).await?;
        let d = db.dialect();
        let exclude = own_tables(s);
        let state = migrate_runtime::catalog::read_schema(&mut db, &exclude).await;
        database::close(db, out).await;
        (d, state?)
    } else {
        let d = dialect(s, out)?;
        needs_server(d, s)?;
        let migrations = Migrations::load(&s.dir, &s.dir_shown)?;
        (
            d,
            migrations_state(d, &migrations, s, out, &mut Interrupt::new()).await?,
        )
    };
    let (d, state) = state;
    let empty = Schema::default();
    let g = schema::generate(d.into(), &empty, &state, &Renames::default(), true)
        .map_err(|e| CliError::Refused(e.to_string()))?;
    let mut text = format!(
        "-- The schema, as `migrate schema dump` read it ({}).\n",
        schema::Dialect::from(d).name()
    );
    for st in &g.upgrade.statements {
        text.push_str(&st.sql);
        text.push_str(";\n");
    }
    for name in &g.not_generated {
        text.push_str(&format!("-- not written: {name}\n"));
    }
    out.result(text.trim_end());
    Ok(())
}

/// How the walk's end reads: after `downgrade base` on an empty database, or
/// after the new revisions went down on the base's schema (`test --from`).
fn print_end(r: &migrate_runtime::RoundTrips, from: Option<&str>, out: &Output) {
    let (start, all, left) = match from {
        None => ("base", "everything", "the empty database".to_owned()),
        Some(name) => (name, "every new revision", format!("{name}'s schema")),
    };
    match &r.at_base {
        Some(lines) if lines.is_empty() => out.result(&format!("ok          {start}: downgrading {all} leaves {left}")),
        Some(lines) => {
            let beside = from.map(|_| format!(", beside {left}")).unwrap_or_default();
            out.result(&format!("BROKEN      {start}: downgrading {all} leaves{beside}:"));
            for l in lines {
                out.result(&format!("              {l}"));
            }
        }
        None if r.stopped.is_none() => {
            let upgraded_only = if from.is_some() {
                ", or upgraded without its trip as noted above"
            } else {
                ""
            };
            out.note(&format!("{start} not checked: a revision that cannot be downgraded (irreversible, or recorded without running after its downgrade left something behind{upgraded_only}) keeps the walk above it"))
        }
        None => {}
    }
}

pub(crate) fn print_round_trips(r: &migrate_runtime::RoundTrips, dialect: Dialect, from: Option<&str>, out: &Output) {
    use migrate_runtime::RoundTripOutcome as O;
    for t in &r.revisions {
        let id = out.paint(&t.revision, Style::Id);
        match &t.outcome {
            O::Restored => out.result(&format!("ok          {id} {}", t.message)),
            O::Irreversible => out.result(&format!("irreversible {id} {} (no downgrade section)", t.message)),
            O::Differs(lines) => {
                out.result(&format!(
                    "BROKEN      {id} {}: its downgrade does not restore the schema:",
                    t.message
                ));
                for l in lines {
                    out.result(&format!("              {l}"));
                }
            }
            O::DowngradeFailed(e) => out.result(&format!("BROKEN      {id} {}: its downgrade failed: {e}", t.message)),
        }
        if let Some(step) = &t.locks {
            print_locks(step, dialect, out);
        }
    }
    for n in &r.notes {
        out.note(n);
    }
    print_end(r, from, out);
    for rev in &r.repeatables {
        out.result(&format!(
            "ok          {}: applied on top of head",
            out.paint(rev, Style::Id)
        ));
    }
}

/// The locks a revision's upgrade took, short: each statement that took one
/// (or whose locks were not seen), by line.
fn print_locks(step: &migrate_runtime::RehearsedStep, dialect: Dialect, out: &Output) {
    let budget = step.max_lock.map(|b| format!(" (max-lock {b})")).unwrap_or_default();
    let shown: Vec<String> = step
        .statements
        .iter()
        .filter_map(|st| {
            let locks: Vec<String> = st
                .locks
                .iter()
                .map(|l| {
                    let over = if l.over_budget { " OVER BUDGET" } else { "" };
                    format!("{} {}{over}", l.lock.database_name(dialect), l.table)
                })
                .collect();
            match (st.locks_unseen, locks.is_empty()) {
                (true, _) => Some(format!("line {}: locks: not seen", st.line)),
                (false, true) => None,
                (false, false) => Some(format!("line {}: {}", st.line, locks.join(", "))),
            }
        })
        .collect();
    if !shown.is_empty() {
        out.result(&format!("              locks{budget}: {}", shown.join("; ")));
    }
}

/// The error of a revision whose upgrade went over its lock budget.
fn over_budget(t: &migrate_runtime::RoundTrip, dialect: Dialect) -> Option<String> {
    let step = t.locks.as_ref()?;
    match &step.outcome {
        migrate_runtime::StepOutcome::OverBudget {
            statement,
            line,
            table,
            lock,
            budget,
        } => Some(format!(
            "revision {} ({}:{line}): statement {statement} takes {} on {table}, over its budget `-- migrate:max-lock: {budget}`",
            t.revision,
            step.file,
            lock.database_name(dialect)
        )),
        _ => None,
    }
}

/// The database `test` walks: a scratch one (its dialect and dev server), or
/// the empty one `--database-url` names on the command line. What the
/// command line names wins over the config file's dev server; naming both
/// on the command line is refused, as the one to walk is then unclear.
fn walked_database<'s>(s: &'s Settings, flags: TestFlags, out: &Output) -> Result<Walked<'s>, CliError> {
    let given = s.database_url.as_deref().filter(|_| flags.database_url);
    match (given, &s.dev_database_url, s.dialect) {
        (Some(_), Some(_), _) if flags.dev_database_url => Err(CliError::Usage(
            "`migrate test` walks one database: pass --database-url URL (an empty database, walked as it is) or --dev-database-url URL (a server where a scratch database is made and dropped), not both".into(),
        )),
        (Some(url), _, _) => Ok(Walked::Given(url)),
        (None, Some(dev), _) => Ok(Walked::Scratch(
            database::dialect_of(dev, &out.redacted(dev))?,
            Some(dev.as_str()),
        )),
        (None, None, Some(Dialect::Sqlite)) => Ok(Walked::Scratch(Dialect::Sqlite, None)),
        (None, None, Some(d)) => Err(needs_server(d, s).err().unwrap_or(CliError::MissingUrl)),
        (None, None, None) => {
            let configured = if s.database_url.is_some() {
                "; the database URL of DATABASE_URL or migrate.toml is the one you deploy to, which `migrate test` never walks (pass it as --database-url to walk it, if it is empty and meant for this)"
            } else {
                ""
            };
            Err(CliError::Usage(format!(
                "`migrate test` needs a database to walk: --dev-database-url URL (a scratch database is made and dropped), --dialect sqlite (one in memory), or --database-url URL of an empty database{configured}"
            )))
        }
    }
}

/// Which of `test`'s databases the command line itself named (before or
/// after `test`), as against the config file or the environment.
#[derive(Clone, Copy)]
pub(crate) struct TestFlags {
    /// `--database-url`.
    pub(crate) database_url: bool,
    /// `--dev-database-url`.
    pub(crate) dev_database_url: bool,
}

/// Where `test` walks.
enum Walked<'s> {
    /// A scratch database of this dialect, on this dev server (none for SQLite in memory).
    Scratch(Dialect, Option<&'s str>),
    /// The database of this URL, which must be empty.
    Given(&'s str),
}

/// The walk on `db`: from empty, or from the base's head (`test --from`).
async fn walk(
    db: &mut Database,
    migrations: &Migrations,
    base: Option<&super::from_base::Base>,
    s: &Settings,
    out: &Output,
) -> Result<migrate_runtime::RoundTrips, CliError> {
    match base {
        None => Ok(database::migrator(migrations, s, out).verify_round_trips(db).await?),
        Some(base) => super::from_base::walk(base, migrations, s, out, db).await,
    }
}

/// `test`: the round trip of every revision, on a scratch database; with
/// `from`, a git reference, the round trip of every revision new since it,
/// on a database first migrated with the folder as it was there.
///
/// It walks only a database given for it: the one `--database-url` names
/// on the command line (before or after `test`), a scratch one on
/// `--dev-database-url`, or, with `--dialect sqlite`, one in memory;
/// never the database `DATABASE_URL` or `database_url` in the config file
/// name, which is the one you deploy to.
pub(crate) async fn round_trips(
    s: &Settings,
    flags: TestFlags,
    from: Option<&str>,
    out: &Output,
) -> Result<(), CliError> {
    let migrations = Migrations::load(&s.dir, &s.dir_shown)?;
    let walked = walked_database(s, flags, out)?;
    // The base is read through git before any database is made.
    let base = match from {
        Some(reference) => super::from_base::load(s, reference, out)?,
        None => None,
    };
    let base = base.as_ref();
    let (report, dialect) = match walked {
        Walked::Scratch(d, dev) => {
            let s = &on_scratch(s);
            let report = with_scratch(d, dev, out, &mut Interrupt::new(), async |db, _| {
                walk(db, &migrations, base, s, out).await
            })
            .await?;
            (report, d)
        }
        Walked::Given(url) => {
            let mut db = database::open(s, url, true, out).await?;
            let d = db.dialect();
            let report = walk(&mut db, &migrations, base, s, out).await;
            database::close(db, out).await;
            (report?, d)
        }
    };
    let from = base.map(|b| b.name.as_str());
    print_round_trips(&report, dialect, from, out);
    if let Some(why) = &report.stopped {
        return Err(CliError::Refused(match from {
            None => format!("the walk stopped: {why}"),
            Some(name) => format!("the upgrade from {name} with today's files stopped: {why}"),
        }));
    }
    let over: Vec<String> = report
        .revisions
        .iter()
        .filter_map(|t| over_budget(t, dialect))
        .collect();
    if !over.is_empty() {
        return Err(CliError::Refused(format!(
            "{} revision(s) take a lock over their budget: {}",
            over.len(),
            over.join("; ")
        )));
    }
    if !report.is_ok() {
        let broken = report
            .revisions
            .iter()
            .filter(|r| {
                !matches!(
                    r.outcome,
                    migrate_runtime::RoundTripOutcome::Restored | migrate_runtime::RoundTripOutcome::Irreversible
                )
            })
            .count();
        return Err(CliError::Refused(format!(
            "{broken} revision(s) do not round-trip: fix their downgrade sections (each line above says what the downgrade left)"
        )));
    }
    match from {
        None => out.note(&format!("{} revision(s) round-trip", report.revisions.len())),
        Some(name) => out.note(&format!(
            "{} revision(s) new since {name} round-trip on the upgrade from it",
            report.revisions.len()
        )),
    }
    Ok(())
}
