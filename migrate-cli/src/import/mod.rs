//! `migrate import` and `migrate adopt`: arriving from another tool. Each
//! tool's reader lives in a file of its own; this file writes the folder
//! (all files or none) and records an adopted database.

mod alembic;

pub(crate) use alembic::import as alembic;

use crate::config::Settings;
use crate::database;
use crate::error::CliError;
use crate::output::{Output, Style};
use migrate_runtime::Migrations;
use std::path::Path;

/// Writes `files` (name, text) as the folder `dir`, which must not exist or
/// be empty: into a fresh folder beside it first, then moved into place, so
/// that an error leaves nothing behind.
fn write_folder(dir: &Path, shown: &str, files: &[(String, String)]) -> Result<(), CliError> {
    let io = |context: String| move |source| CliError::Io { context, source };
    refuse_non_empty(dir, shown)?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(format!("creating {}", parent.display())))?;
    let staging = tempfile::Builder::new()
        .prefix(".migrate-import-")
        .tempdir_in(&parent)
        .map_err(io(format!("creating a folder in {}", parent.display())))?;
    for (name, text) in files {
        std::fs::write(staging.path().join(name), text).map_err(io(format!("writing {name}")))?;
    }
    if dir.exists() {
        // Empty: each file moves in (same file system, so a rename each).
        for (name, _) in files {
            std::fs::rename(staging.path().join(name), dir.join(name))
                .map_err(io(format!("moving {name} into {shown}")))?;
        }
    } else {
        let kept = staging.keep();
        std::fs::rename(&kept, dir).map_err(io(format!("moving the imported files to {shown}")))?;
    }
    Ok(())
}

/// Refuses a folder that holds anything: an import never mixes with, or
/// overwrites, files that are there.
fn refuse_non_empty(dir: &Path, shown: &str) -> Result<(), CliError> {
    let occupied = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    match occupied {
        true => Err(CliError::Refused(format!(
            "`{shown}` is not empty; an import writes a new folder and never mixes with or overwrites files: choose another with --dir, or move these away"
        ))),
        false => Ok(()),
    }
}

/// `adopt alembic`: the database's `alembic_version` heads, and everything
/// they need, recorded as applied with this folder's checksums; no
/// migration runs. With `sql`, prints the statements instead.
pub(crate) async fn adopt_alembic(s: &Settings, version_table: &str, sql: bool, out: &Output) -> Result<(), CliError> {
    let migrations = Migrations::load(&s.dir, &s.dir_shown)?;
    let url = s.database_url.as_deref().ok_or(CliError::MissingUrl)?;
    let mut db = database::open(s, url, !sql, out).await?;
    let migrator = database::migrator(&migrations, s, out);
    let heads = migrator.alembic_heads(&mut db, version_table).await;
    let heads = match heads {
        Ok(h) => h,
        Err(e) => {
            database::close(db, out).await;
            return Err(CliError::Refused(format!(
                "{e}\n  = help: is this a database Alembic migrated? Its env.py may name another version table: pass --version-table NAME"
            )));
        }
    };
    let unknown: Vec<&String> = heads.iter().filter(|h| migrations.get(h).is_none()).collect();
    let refusal = if heads.is_empty() {
        Some(format!(
            "`{version_table}` has no row: Alembic's record of a database at base; there is nothing to adopt, and `upgrade head` applies every revision"
        ))
    } else if !unknown.is_empty() {
        Some(format!(
            "the database is at Alembic revision {}, which `{}` does not have: import the project again (`migrate import alembic`) from the release that database runs",
            unknown.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", "),
            s.dir_shown
        ))
    } else {
        None
    };
    // A database migrate already records is not adopted again: stamping
    // would rewrite its history to Alembic's older word.
    let ours = match refusal {
        Some(_) => Vec::new(),
        None => migrator.current(&mut db).await.unwrap_or_default(),
    };
    let refusal = refusal.or_else(|| {
        let mut ours = ours.clone();
        ours.sort();
        (!ours.is_empty() && ours != heads).then(|| {
            format!(
                "the history table already records this database at {}, and `{version_table}` says {}: it was adopted before, and migrate has run on it since; nothing was changed",
                ours.join(", "),
                heads.join(", ")
            )
        })
    });
    if let Some(refusal) = refusal {
        database::close(db, out).await;
        return Err(CliError::Refused(refusal));
    }
    if !ours.is_empty() && !sql {
        database::close(db, out).await;
        out.note(&format!(
            "Already adopted: the history records {} as Alembic does; nothing to do.",
            heads.join(", ")
        ));
        return Ok(());
    }
    if sql {
        let script = migrations.record_script(db.dialect(), &s.table, &heads);
        database::close(db, out).await;
        print!("{}", script?);
        return Ok(());
    }
    let mut recorded = 0;
    let mut result: Result<(), CliError> = Ok(());
    for head in &heads {
        match migrator.stamp(&mut db, head.as_str()).await {
            Ok(report) => recorded += report.steps.len(),
            Err(e) => {
                result = Err(e.into());
                break;
            }
        }
    }
    database::close(db, out).await;
    result?;
    out.info(&format!(
        "Adopted: Alembic's heads {} and what they need, {recorded} revision(s), recorded as applied; no migration ran, and `{version_table}` is left as it was.",
        heads.iter().map(|h| out.paint(h, Style::Id)).collect::<Vec<_>>().join(", ")
    ));
    Ok(())
}
