//! `test --from GIT-REF`: the upgrade path production takes. A scratch
//! database is migrated with the folder as it was at the base (read through
//! git by [`crate::base`]) to the base's head, then walked with today's
//! folder: each revision new since the base upgraded from there, downgraded,
//! compared and upgraded again
//! ([`migrate_runtime::Migrator::verify_pending_round_trips`]).

use crate::config::Settings;
use crate::database;
use crate::error::CliError;
use crate::output::Output;
use migrate_core::history::HistoryProblem;
use migrate_runtime::server::Database;
use migrate_runtime::{Migrations, RoundTrips};

/// The base a walk starts from: its migrations as they were there.
pub(crate) struct Base {
    /// The reference as given, for the advice (`check --base REF`).
    pub(crate) reference: String,
    /// `REF (abc1234)`, as messages name it.
    pub(crate) name: String,
    /// The folder's migrations at that commit, validated, in application order.
    pub(crate) migrations: Migrations,
}

/// The folder at `reference`; `None` when it held no migration there (the
/// walk is then `migrate test`'s, from an empty database).
pub(crate) fn load(s: &Settings, reference: &str, out: &Output) -> Result<Option<Base>, CliError> {
    let at = crate::base::folder_at(&s.dir, &s.dir_shown, reference)?;
    if at.sources.is_empty() {
        out.note(&format!(
            "{} holds no migration in `{}`: the walk starts from an empty database, as `migrate test`'s does",
            at.name, s.dir_shown
        ));
        return Ok(None);
    }
    // A file that does not parse, or a graph that does not validate, at the base.
    let (list, mut problems) = migrate_core::load::parse_each(at.sources);
    let migrations = Migrations::new(list).map_err(|d| problems.extend(d.into_vec()));
    let migrations = match migrations {
        Ok(m) if problems.is_empty() => m,
        _ => return Err(invalid_base(&at.name, migrate_core::Diagnostics::new(problems))),
    };
    Ok(Some(Base {
        reference: reference.to_owned(),
        name: at.name,
        migrations,
    }))
}

/// The base's folder does not load: no database could stand at its head.
fn invalid_base(name: &str, problems: migrate_core::Diagnostics) -> CliError {
    CliError::Refused(format!(
        "the migrations folder as it was at {name} is not a valid history, so no database stands at its head to upgrade from:\n{problems}\n  = help: give --from a reference whose folder loads (the release tag your databases run)"
    ))
}

/// Migrates `db` (empty) to the base's head with the base's files, then walks
/// today's revisions new since the base from there.
pub(crate) async fn walk(
    base: &Base,
    today: &Migrations,
    s: &Settings,
    out: &Output,
    db: &mut Database,
) -> Result<RoundTrips, CliError> {
    let report = database::migrator(&base.migrations, s, out)
        .upgrade(&mut *db, "head")
        .await
        .map_err(|e| {
            CliError::Refused(format!(
                "applying the base's revisions, the folder as it was at {}, failed before any of today's files ran: {e}",
                base.name
            ))
        })?;
    out.note(&format!(
        "Migrated the scratch database to {}'s head with its own files ({} revision(s)); upgrading it with today's",
        base.name,
        report.revisions().len()
    ));
    database::migrator(today, s, out)
        .verify_pending_round_trips(&mut *db)
        .await
        .map_err(|e| match e {
            migrate_runtime::Error::History(problems) => diverged(base, &problems),
            e => CliError::Refused(format!("upgrading from {} with today's files failed: {e}", base.name)),
        })
}

/// Today's folder cannot continue from the base's history: what a database
/// there would refuse, revision by revision.
fn diverged(base: &Base, problems: &[HistoryProblem]) -> CliError {
    let name = &base.name;
    let lines: Vec<String> = problems
        .iter()
        .map(|p| match p {
            HistoryProblem::ChecksumMismatch {
                revision,
                file,
                recorded,
                expected,
            } => format!(
                "revision `{revision}` ({file}) was edited since {name}: it ran there as {recorded} and today's file hashes to {expected}"
            ),
            HistoryProblem::Unknown { revision } => format!(
                "revision `{revision}` ran at {name} and is not in today's folder (deleted, or given a new id)"
            ),
            other => other.to_string(),
        })
        .collect();
    CliError::Refused(format!(
        "upgrading from {name} with today's files cannot start: a database at {name} refuses today's folder, and a deploy would fail the same way:\n  {}\n  = help: what shipped stays as it shipped: restore the file as it was at {name} and put the change in a new revision; `migrate check --base {}` lists every revision edited, deleted or renamed since",
        lines.join("\n  "),
        base.reference
    ))
}
