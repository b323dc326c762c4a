//! `migrate adopt TOOL`: a database sqlx, refinery, diesel, golang-migrate,
//! goose, dbmate or Flyway migrated,
//! recorded as applied without running anything. Each applied version in
//! the tool's history table is matched to the imported revision whose
//! `-- imported-from:` header line keeps it, the checksum the tool stored
//! compared with the one kept there; the applied versions must be the
//! chain's first ones; then the last is stamped (it and every revision
//! below it recorded with this folder's checksums). The tool's table is
//! only read. Alembic's adoption is `super::adopt_alembic`.

use super::{IMPORTED_FROM, tool_name};
use crate::args::Tool;
use crate::config::Settings;
use crate::database;
use crate::error::CliError;
use crate::output::{Output, Style};
use migrate_runtime::{Migrations, ToolHistory, ToolRow};
use std::collections::HashMap;

/// What an imported revision's header keeps of its source.
struct Kept {
    revision: String,
    checksums: Vec<String>,
}

/// `adopt TOOL [--version-table NAME] [--sql]`.
pub(crate) async fn adopt(
    s: &Settings,
    tool: Tool,
    table: Option<&str>,
    sql: bool,
    out: &Output,
) -> Result<(), CliError> {
    let table = table.unwrap_or(super::version_table(tool));
    let history = match tool {
        Tool::Alembic => return super::adopt_alembic(s, table, sql, out).await,
        Tool::Sqlx => ToolHistory::Sqlx,
        Tool::Refinery => ToolHistory::Refinery,
        Tool::Diesel => ToolHistory::Diesel,
        Tool::GolangMigrate => ToolHistory::GolangMigrate,
        Tool::Goose => ToolHistory::Goose,
        Tool::Dbmate => ToolHistory::Dbmate,
        Tool::Flyway => ToolHistory::Flyway,
    };
    let name = tool_name(tool);
    let migrations = Migrations::load(&s.dir, &s.dir_shown)?;
    let (chain, kept) = imported(s, &migrations, name)?;
    let kept_repeatables = match tool {
        Tool::Flyway => repeatables_kept(s, &migrations, name)?,
        _ => Vec::new(),
    };
    let url = s.database_url.as_deref().ok_or(CliError::MissingUrl)?;
    let mut db = database::open(s, url, !sql, out).await?;
    let migrator = database::migrator(&migrations, s, out);
    let rows = match migrator.tool_history(&mut db, history, table).await {
        Ok(rows) => rows,
        Err(e) => {
            database::close(db, out).await;
            return Err(CliError::Refused(format!(
                "{e}\n  = help: is this a database {name} migrated? Its configuration may name another table: pass --version-table NAME"
            )));
        }
    };
    // Flyway's repeatables: recorded applied where its history holds them at the file's checksum.
    let repeatables = super::flyway::repeatables_applied(&rows, &kept_repeatables);
    let rows = applied_rows(history, rows, &chain, &kept);
    let head = match last_applied(name, table, &rows, &chain, &kept) {
        Ok(head) => head,
        Err(e) => {
            database::close(db, out).await;
            return Err(e);
        }
    };
    let ours = migrator.current(&mut db).await.unwrap_or_default();
    if !ours.is_empty() {
        // A rerun after the repeatables' recording failed: those still without a row.
        let unrecorded = match (ours == [head.clone()], sql || repeatables.is_empty()) {
            (true, false) => unrecorded(&migrator, &mut db, &repeatables).await,
            _ => Ok(Vec::new()),
        };
        let recorded = match unrecorded {
            Ok(names) if !names.is_empty() => migrator
                .stamp_repeatables(&mut db, &names)
                .await
                .map(|_| names)
                .map_err(CliError::from),
            other => other,
        };
        database::close(db, out).await;
        return match ours == [head.clone()] {
            true if !sql => {
                let recorded = recorded?;
                match recorded.is_empty() {
                    true => out.note(&format!(
                        "Already adopted: the history records {head}, as {name}'s table does; nothing to do."
                    )),
                    false => out.info(&format!(
                        "Already adopted up to {head}; repeatables recorded as applied now ({name}'s history holds them at their file's checksum, and an earlier adopt did not record them): {}",
                        recorded.join(", ")
                    )),
                }
                Ok(())
            }
            // The script of nothing to record, saying why.
            true => {
                print!("-- Already adopted: the history records {head}, as {name}'s table does; nothing to record.\n");
                Ok(())
            }
            false => Err(CliError::Refused(format!(
                "the history table already records this database at {}, and `{table}` says {head}: it was adopted before, and migrate has run on it since; nothing was changed",
                ours.join(", ")
            ))),
        };
    }
    if sql {
        let script = migrations.record_script(db.dialect(), &s.table, std::slice::from_ref(&head));
        let again = migrations.record_repeatables_script(db.dialect(), &s.table, &repeatables);
        database::close(db, out).await;
        print!("{}{}", script?, again?);
        return Ok(());
    }
    let mut result = migrator.stamp(&mut db, head.as_str()).await;
    if let (Ok(_), false) = (&result, repeatables.is_empty()) {
        result = migrator.stamp_repeatables(&mut db, &repeatables).await.and(result);
    }
    database::close(db, out).await;
    let report = result?;
    out.info(&format!(
        "Adopted: {} {name} migration(s), up to {}, recorded as applied; no migration ran, and `{table}` is left as it was.",
        report.steps.len(),
        out.paint(&head, Style::Id)
    ));
    if !kept_repeatables.is_empty() {
        out.info(&format!(
            "Repeatables: {} recorded as applied ({name}'s history holds them at their file's checksum), {} left for the next upgrade to head to apply.",
            repeatables.len(),
            kept_repeatables.len() - repeatables.len()
        ));
    }
    Ok(())
}

/// Of `repeatables`, those the history holds no row of.
async fn unrecorded(
    migrator: &migrate_runtime::Migrator<'_>,
    db: &mut migrate_runtime::server::Database,
    repeatables: &[String],
) -> Result<Vec<String>, CliError> {
    let history = migrator.history(&mut *db).await?;
    Ok(repeatables
        .iter()
        .filter(|r| !history.iter().any(|e| &e.revision == *r && e.applied.is_some()))
        .cloned()
        .collect())
}

/// The folder's revisions in application order, and what each imported
/// one keeps of `tool`'s version and checksums, by version.
fn imported(
    s: &Settings,
    migrations: &Migrations,
    tool: &str,
) -> Result<(Vec<String>, HashMap<String, Kept>), CliError> {
    let graph = migrations.graph()?;
    let mut chain = Vec::new();
    let mut kept = HashMap::new();
    for m in graph.iter() {
        chain.push(m.revision().to_owned());
        let file = std::path::Path::new(m.file()).file_name().unwrap_or_default();
        let text = std::fs::read_to_string(s.dir.join(file)).map_err(|source| CliError::Io {
            context: format!("reading {}", m.file()),
            source,
        })?;
        let Some(line) = text.lines().find_map(|l| l.strip_prefix(IMPORTED_FROM)) else {
            continue;
        };
        let Some((source, checksum)) = imported_from(line, tool) else {
            continue;
        };
        let checksums = checksum.map_or_else(Vec::new, |c| c.split(',').map(str::to_owned).collect());
        kept.insert(
            source.to_owned(),
            Kept {
                revision: m.revision().to_owned(),
                checksums,
            },
        );
    }
    Ok((chain, kept))
}

/// The repeatables imported from `tool`, each as `(revision, the tool's
/// description, the checksum kept)`: Flyway's description is the source
/// file's after `R__`, `_` read as a space.
fn repeatables_kept(
    s: &Settings,
    migrations: &Migrations,
    tool: &str,
) -> Result<Vec<(String, String, String)>, CliError> {
    let mut out = Vec::new();
    for m in migrations.repeatables() {
        let file = std::path::Path::new(m.file()).file_name().unwrap_or_default();
        let path = s.dir.join(migrate_core::repeatable::FOLDER).join(file);
        let text = std::fs::read_to_string(&path).map_err(|source| CliError::Io {
            context: format!("reading {}", m.file()),
            source,
        })?;
        let Some(line) = text.lines().find_map(|l| l.strip_prefix(IMPORTED_FROM)) else {
            continue;
        };
        if let Some((source, Some(c))) = imported_from(line, tool) {
            let stem = source.rsplit('/').next().unwrap_or(source).trim_end_matches(".sql");
            let description = stem.split_once("__").map_or(stem, |(_, d)| d).replace('_', " ");
            out.push((m.revision().to_owned(), description, c.to_owned()));
        }
    }
    Ok(out)
}

/// What an `-- imported-from:` line of `tool` says, its source (a version,
/// or a file's path, which may hold spaces) and the checksum it kept.
fn imported_from<'l>(line: &'l str, tool: &str) -> Option<(&'l str, Option<&'l str>)> {
    let rest = line.trim().strip_prefix(tool)?.strip_prefix(' ')?.trim();
    match rest.rsplit_once(" checksum ") {
        Some((source, c)) if !c.trim().is_empty() && !c.contains(' ') => Some((source.trim(), Some(c.trim()))),
        _ => (!rest.is_empty()).then_some((rest, None)),
    }
}

/// The rows as one per applied version: golang-migrate keeps only the
/// last version (every imported version up to it in the chain is applied;
/// a dirty one stays a failed row), goose a row per apply and rollback (the
/// last row of each version says; its version 0 is no migration), Flyway
/// a row per run of any kind (`super::flyway::applied` reads them).
fn applied_rows(
    history: ToolHistory,
    rows: Vec<ToolRow>,
    chain: &[String],
    kept: &HashMap<String, Kept>,
) -> Vec<ToolRow> {
    match history {
        ToolHistory::GolangMigrate => {
            let Some(last) = rows.last().filter(|r| r.success) else {
                return rows;
            };
            let Some(at) = kept
                .get(&last.version)
                .and_then(|k| chain.iter().position(|r| *r == k.revision))
            else {
                return rows;
            };
            let mut below: Vec<ToolRow> = kept
                .iter()
                .filter(|(_, k)| chain.iter().position(|r| *r == k.revision).is_some_and(|i| i <= at))
                .map(|(v, _)| ToolRow {
                    version: v.clone(),
                    checksum: None,
                    success: true,
                    kind: None,
                    description: None,
                })
                .collect();
            below.sort_by(|a, b| a.version.cmp(&b.version));
            below
        }
        ToolHistory::Goose => {
            let mut last: Vec<ToolRow> = Vec::new();
            for row in rows.into_iter().filter(|r| r.version != "0") {
                last.retain(|r| r.version != row.version);
                last.push(row);
            }
            last.into_iter().filter(|r| r.success).collect()
        }
        ToolHistory::Flyway => super::flyway::applied(rows, kept.keys().map(String::as_str)),
        _ => rows,
    }
}

/// The revision of the last version the tool applied, once every row is
/// checked: successful, imported, its checksum the one kept, and the
/// applied versions the chain's first ones.
fn last_applied(
    tool: &str,
    table: &str,
    rows: &[ToolRow],
    chain: &[String],
    kept: &HashMap<String, Kept>,
) -> Result<String, CliError> {
    if rows.is_empty() {
        return Err(CliError::Refused(format!(
            "`{table}` has no row: {tool} applied nothing there; there is nothing to adopt, and `upgrade head` applies every revision"
        )));
    }
    let mut applied = Vec::new();
    for row in rows {
        let v = &row.version;
        if !row.success {
            return Err(CliError::Refused(format!(
                "{tool} recorded version {v} as failed or dirty (`{table}`): it may be half-applied; repair it with {tool} first (or by hand), then adopt; nothing was changed"
            )));
        }
        let Some(k) = kept.get(v) else {
            return Err(CliError::Refused(format!(
                "{tool} applied version {v}, which no revision of this folder was imported from: import the {tool} folder again from the release that database runs; nothing was changed"
            )));
        };
        if let Some(stored) = &row.checksum
            && !k.checksums.is_empty()
            && !k.checksums.iter().any(|c| c.eq_ignore_ascii_case(stored))
        {
            return Err(CliError::Refused(format!(
                "version {v}: the checksum {tool} stored when it applied it differs from the file it was imported from (revision {}): the file was edited after {tool} ran it, so the database may not hold what the folder says; import the files that ran, or make the database match the file; nothing was changed",
                k.revision
            )));
        }
        applied.push(chain.iter().position(|r| *r == k.revision).unwrap_or(usize::MAX));
    }
    let last = applied.iter().copied().max().unwrap_or_default();
    for (i, revision) in chain.iter().enumerate().take(last + 1) {
        if !applied.contains(&i) {
            let version = kept
                .iter()
                .find(|(_, k)| k.revision == *revision)
                .map_or(String::new(), |(v, _)| format!(" (version {v})"));
            return Err(CliError::Refused(format!(
                "revision {revision}{version} comes before versions {tool} applied, and `{table}` does not record it: adopting would mark it applied without running it; apply it with {tool} first; nothing was changed"
            )));
        }
    }
    Ok(chain[last].clone())
}

#[cfg(test)]
mod tests {
    use super::imported_from;

    #[test]
    fn an_imported_from_line_holds_a_path_with_spaces() {
        assert_eq!(imported_from(" flyway 3.1", "flyway"), Some(("3.1", None)));
        assert_eq!(
            imported_from(" flyway sql/R__my view.sql checksum -1234", "flyway"),
            Some(("sql/R__my view.sql", Some("-1234")))
        );
        assert_eq!(
            imported_from(" sqlx 20240101 checksum ab12,cd34", "sqlx"),
            Some(("20240101", Some("ab12,cd34")))
        );
        assert_eq!(imported_from(" flywayx 1", "flyway"), None);
        assert_eq!(imported_from(" goose 5", "flyway"), None);
    }
}
