//! `migrate import alembic`: an Alembic project's history as a folder. A
//! Python migration can do anything, so nothing here reads Python: the
//! project's own Alembic, in its own Python environment, runs `upgrade
//! heads` and `downgrade base` on scratch databases of `--dev-database-url`
//! while the driver (`alembic.py`, beside this file) records the SQL each
//! revision sends. Each revision becomes one file with Alembic's id,
//! parents, message and date; Alembic's order is kept with `depends_on`
//! where the folder's own order would differ.

use super::write_folder;
use crate::author::slug;
use crate::config::Settings;
use crate::error::CliError;
use crate::output::Output;
use crate::schema::{Interrupt, with_scratch};
use migrate_core::{Dialect, Graph, Migration, format};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The driver the project's Python runs.
const DRIVER: &str = include_str!("alembic.py");

/// What the driver is asked to do on one scratch database.
#[derive(Serialize)]
struct Request<'a> {
    config: &'a Path,
    url: &'a str,
    upgrade_to: Vec<String>,
    capture_upgrade: bool,
    downgrade: bool,
}

/// What it did.
#[derive(Deserialize, Default)]
struct Captured {
    revisions: Vec<Revision>,
    upgrade_order: Vec<String>,
    upgrades: HashMap<String, Vec<String>>,
    downgrade_order: Vec<String>,
    downgrades: HashMap<String, Vec<String>>,
    no_transaction: Vec<String>,
    failed: Option<Failed>,
}

/// One Alembic revision as its script declares it.
#[derive(Deserialize, Clone)]
struct Revision {
    id: String,
    down: Vec<String>,
    depends_on: Vec<String>,
    message: String,
    date: Option<String>,
    file: String,
}

/// Where Alembic stopped, and its exception.
#[derive(Deserialize, Clone)]
struct Failed {
    stage: String,
    revision: Option<String>,
    message: String,
}

/// `import alembic [PROJECT]`: writes the folder `s.dir` from the Alembic
/// project at `project` (its alembic.ini, or the folder holding it), run by
/// `python`.
pub(crate) async fn import(s: &Settings, project: Option<&Path>, python: &str, out: &Output) -> Result<(), CliError> {
    let ini = alembic_ini(project)?;
    super::refuse_non_empty(&s.dir, &s.dir_shown)?;
    let dev = s.dev_database_url.as_deref().ok_or_else(|| {
        CliError::Usage(
            "import alembic runs Alembic on scratch databases: pass --dev-database-url URL, a PostgreSQL or MySQL server where this tool may create and drop databases (never the database you deploy to)".into(),
        )
    })?;
    let dialect = crate::database::dialect_of(dev, &out.redacted(dev))?;
    if dialect == Dialect::Sqlite {
        return Err(CliError::Usage(
            "import alembic needs a server for its scratch databases (Alembic runs in another process): pass a PostgreSQL or MySQL --dev-database-url".into(),
        ));
    }
    let driver = tempfile::tempdir().map_err(|source| CliError::Io {
        context: "creating a folder for the Alembic driver".into(),
        source,
    })?;
    let script = driver.path().join("alembic_driver.py");
    std::fs::write(&script, DRIVER).map_err(|source| CliError::Io {
        context: format!("writing {}", script.display()),
        source,
    })?;
    let run = Runner {
        ini: &ini,
        python,
        script: &script,
        dialect,
        dev,
        out,
    };
    out.info("Running Alembic's `upgrade heads` and `downgrade base` on a scratch database…");
    let first = run.once(vec!["heads".into()], true).await?;
    if let Some(f) = first
        .failed
        .as_ref()
        .filter(|f| f.stage == "up" || f.stage == "upgrade" || f.stage == "import")
    {
        return Err(alembic_failed("Alembic's `upgrade heads` failed", f));
    }
    let revisions = first.revisions.clone();
    let downgrades = run
        .every_downgrade(first.clone_downgrades(), &first.upgrade_order, &revisions)
        .await?;
    let files = files(&revisions, &first, &downgrades, dialect)?;
    write_folder(&s.dir, &s.dir_shown, &files)?;
    let without: Vec<&str> = revisions
        .iter()
        .filter(|r| match downgrades.sql.get(&r.id) {
            None => true,
            Some(d) => d.is_empty() && first.upgrades.get(&r.id).is_some_and(|u| !u.is_empty()),
        })
        .map(|r| r.id.as_str())
        .collect();
    for r in &without {
        let why = match (downgrades.failed.get(*r), downgrades.unreached.get(*r)) {
            (Some(f), _) => format!("Alembic's downgrade failed: {}", first_line(&f.message)),
            (None, Some(e)) => format!(
                "Alembic's downgrade stops above it, and applying it again without the revisions above it failed: {e}"
            ),
            (None, None) => "Alembic's downgrade sends no SQL".to_owned(),
        };
        out.note(&format!(
            "{r}: no downgrade section ({why}); the revision is irreversible here"
        ));
    }
    out.info(&format!(
        "Imported {} revision(s) from {} into {}: {} with a downgrade, {} without. Next: `migrate check`, then `migrate adopt alembic` on each database Alembic migrated.",
        revisions.len(),
        ini.display(),
        s.dir_shown,
        revisions.len() - without.len(),
        without.len()
    ));
    Ok(())
}

/// alembic.ini: `project` itself, or the one in it (default: the current folder's).
fn alembic_ini(project: Option<&Path>) -> Result<PathBuf, CliError> {
    let given = project.unwrap_or(Path::new("."));
    let ini = if given.is_dir() {
        given.join("alembic.ini")
    } else {
        given.to_path_buf()
    };
    if !ini.is_file() {
        return Err(CliError::Usage(format!(
            "`{}` is not an Alembic project's configuration: give its alembic.ini, or the folder holding it",
            ini.display()
        )));
    }
    std::path::absolute(&ini).map_err(|source| CliError::Io {
        context: format!("resolving {}", ini.display()),
        source,
    })
}

/// The first line of a Python exception's text (`Type: message`).
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

fn alembic_failed(what: &str, f: &Failed) -> CliError {
    let at = f
        .revision
        .as_deref()
        .map(|r| format!(" at revision {r}"))
        .unwrap_or_default();
    CliError::Refused(format!(
        "{what}{at}; nothing was written:\n{}\n  = help: the project's own `alembic upgrade heads` must run on an empty database; its env.py must connect to `sqlalchemy.url` (which the import sets to the scratch database)",
        f.message
    ))
}

/// The downgrades Alembic could run, and where it could not.
#[derive(Default)]
struct Downgrades {
    sql: BTreeMap<String, Vec<String>>,
    failed: BTreeMap<String, Failed>,
    /// Revisions no downgrade reached: applied again without the ones above
    /// them, Alembic failed (a history that relies on its sibling order),
    /// with its message.
    unreached: BTreeMap<String, String>,
}

impl Captured {
    fn clone_downgrades(&self) -> Captured {
        Captured {
            downgrade_order: self.downgrade_order.clone(),
            downgrades: self.downgrades.clone(),
            failed: self.failed.clone(),
            ..Captured::default()
        }
    }
}

/// Runs the driver with what it needs.
struct Runner<'a> {
    ini: &'a Path,
    python: &'a str,
    script: &'a Path,
    dialect: Dialect,
    dev: &'a str,
    out: &'a Output,
}

impl Runner<'_> {
    /// One run on a fresh scratch database: upgrade to `targets` (recording
    /// it when `capture`), then downgrade to base, recorded.
    async fn once(&self, targets: Vec<String>, capture: bool) -> Result<Captured, CliError> {
        let mut interrupt = Interrupt::new();
        with_scratch(
            self.dialect,
            Some(self.dev),
            self.out,
            &mut interrupt,
            async |_, url| {
                let request = Request {
                    config: self.ini,
                    url: &sqlalchemy_url(url),
                    upgrade_to: targets,
                    capture_upgrade: capture,
                    downgrade: true,
                };
                self.python(&request).await
            },
        )
        .await
    }

    async fn python(&self, request: &Request<'_>) -> Result<Captured, CliError> {
        let io = |context: &str| {
            let context = context.to_owned();
            move |source| CliError::Io { context, source }
        };
        let dir = self.script.parent().unwrap_or(Path::new("."));
        let (req, res) = (dir.join("request.json"), dir.join("result.json"));
        let text = serde_json::to_string(request).unwrap_or_default();
        std::fs::write(&req, text).map_err(io("writing the request of the Alembic driver"))?;
        let _ = std::fs::remove_file(&res);
        let project = self.ini.parent().unwrap_or(Path::new("."));
        let output = tokio::process::Command::new(self.python)
            .arg(self.script)
            .arg(&req)
            .arg(&res)
            .current_dir(project)
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| {
                CliError::Refused(format!(
                    "cannot run `{}` ({e}): pass the project's Python with --python",
                    self.python
                ))
            })?;
        let captured = std::fs::read_to_string(&res)
            .ok()
            .and_then(|t| serde_json::from_str::<Captured>(&t).ok());
        match captured {
            Some(c) => Ok(c),
            None => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
                Err(CliError::Refused(format!(
                    "the project's Alembic stopped before it could report ({}); nothing was written:\n{}",
                    output.status,
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )))
            }
        }
    }

    /// Every downgrade Alembic can run: after a failure, the revisions it
    /// did not reach (those applied before the failing one) are applied
    /// again on a fresh database, one `upgrade` each in the order `order` of
    /// the whole upgrade (an upgrade to just their heads could take another
    /// order, which histories that rely on sibling order do not survive),
    /// and downgraded from there, until each has been tried.
    async fn every_downgrade(
        &self,
        mut run: Captured,
        order: &[String],
        revisions: &[Revision],
    ) -> Result<Downgrades, CliError> {
        let mut done = Downgrades::default();
        let mut left: BTreeSet<String> = order.iter().cloned().collect();
        loop {
            for id in &run.downgrade_order {
                left.remove(id);
            }
            let failed = run
                .failed
                .as_ref()
                .filter(|f| f.stage == "down")
                .and_then(|f| f.revision.clone());
            for (id, sql) in std::mem::take(&mut run.downgrades) {
                if Some(&id) != failed.as_ref() {
                    done.sql.insert(id, sql);
                }
            }
            match (failed, run.failed.take()) {
                (Some(id), Some(f)) => {
                    done.failed.insert(id, f);
                }
                (None, Some(f)) => return Err(alembic_failed("Alembic's `downgrade base` failed", &f)),
                _ => return Ok(done),
            }
            if left.is_empty() {
                return Ok(done);
            }
            let prefix: Vec<&String> = order.iter().filter(|id| left.contains(*id)).collect();
            self.out.info(&format!(
                "Downgrading the {} revision(s) applied before it, from a fresh database…",
                left.len()
            ));
            run = self.once(chain_ends(&prefix, revisions), false).await?;
            if let Some(f) = run.failed.as_ref().filter(|f| f.stage != "down") {
                let why = first_line(&f.message).to_owned();
                done.unreached = left.into_iter().map(|id| (id, why.clone())).collect();
                return Ok(done);
            }
        }
    }
}

/// The `upgrade` targets that apply `prefix` (an upgrade order's revisions
/// below a failed downgrade, so each one's ancestors come before it) in
/// exactly that order: one target per revision, except that a run of
/// revisions each of whose only parent is the one before it, with no
/// `depends_on`, is one target, its last (Alembic can only apply that run in
/// its order, and starts its scripts once instead of once a revision).
fn chain_ends(prefix: &[&String], revisions: &[Revision]) -> Vec<String> {
    let by_id: HashMap<&str, &Revision> = revisions.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut targets: Vec<String> = Vec::new();
    for (k, id) in prefix.iter().enumerate() {
        let extends = k > 0
            && by_id.get(id.as_str()).is_some_and(|r| {
                r.depends_on.is_empty() && matches!(r.down.as_slice(), [parent] if parent == prefix[k - 1])
            });
        if extends {
            targets.pop();
        }
        targets.push((*id).clone());
    }
    targets
}

/// The scratch database's URL as SQLAlchemy spells it.
fn sqlalchemy_url(url: &str) -> String {
    for (ours, theirs) in [
        ("postgres://", "postgresql://"),
        ("mariadb://", "mysql+pymysql://"),
        ("mysql://", "mysql+pymysql://"),
    ] {
        if let Some(rest) = url.strip_prefix(ours) {
            return format!("{theirs}{rest}");
        }
    }
    url.to_owned()
}

/// One revision's file, and the sections it must read back as.
struct Rendered {
    name: String,
    text: String,
    upgrade: String,
    downgrade: Option<String>,
}

/// The folder's files, in Alembic's order, each checked by the parser, with
/// `depends_on` added where the folder's own order would differ.
fn files(
    revisions: &[Revision],
    up: &Captured,
    down: &Downgrades,
    dialect: Dialect,
) -> Result<Vec<(String, String)>, CliError> {
    let by_id: HashMap<&str, &Revision> = revisions.iter().map(|r| (r.id.as_str(), r)).collect();
    for r in revisions {
        if !format::is_valid_revision(&r.id) {
            return Err(CliError::Refused(format!(
                "Alembic revision `{}` ({}) has an id this format cannot hold (1 to 64 of A-Z, a-z, 0-9 and _); nothing was written",
                r.id, r.file
            )));
        }
    }
    let order = &up.upgrade_order;
    let mut extra: HashMap<String, Vec<String>> = HashMap::new();
    for _ in 0..=revisions.len() {
        let rendered = order
            .iter()
            .map(|id| {
                render(
                    by_id[id.as_str()],
                    up,
                    down,
                    extra.get(id).map_or(&[][..], Vec::as_slice),
                    dialect,
                )
            })
            .collect::<Result<Vec<Rendered>, CliError>>()?;
        let parsed = parse(&rendered)?;
        let graph = Graph::new(&parsed).map_err(|d| {
            CliError::Refused(format!(
                "the imported history is not a valid graph; nothing was written:\n{d}\n  = help: an Alembic project with several heads needs `alembic merge heads` first"
            ))
        })?;
        let ours: Vec<&str> = graph.iter().map(Migration::revision).collect();
        match ours.iter().zip(order).position(|(a, b)| *a != b.as_str()) {
            None => return Ok(rendered.into_iter().map(|r| (r.name, r.text)).collect()),
            // Alembic ran `order[k]` where the folder would run `ours[k]`: make that one wait.
            Some(k) => extra.entry(ours[k].to_owned()).or_default().push(order[k].clone()),
        }
    }
    Err(CliError::Refused(
        "could not reproduce Alembic's order with depends_on; nothing was written".into(),
    ))
}

/// Parses the rendered files as a build would, and checks that each reads
/// back with exactly the SQL written into it: nothing is written that the
/// format would read otherwise.
fn parse(files: &[Rendered]) -> Result<Vec<Migration>, CliError> {
    let mut list = Vec::with_capacity(files.len());
    for f in files {
        let refused =
            |why: String| CliError::Refused(format!("the file written for {} {why}; nothing was written", f.name));
        let parsed = format::parse(&f.name, &f.text)
            .map_err(|d| refused(format!("does not read back:\n{}", migrate_core::Diagnostics::new(d))))?;
        let m = parsed.migration;
        if m.upgrade_sql() != f.upgrade.trim() || m.downgrade_sql() != f.downgrade.as_deref().map(str::trim) {
            return Err(refused(
                "reads back with other SQL than Alembic ran (please report it)".into(),
            ));
        }
        list.push(m);
    }
    Ok(list)
}

/// One revision's file.
fn render(
    r: &Revision,
    up: &Captured,
    down: &Downgrades,
    after: &[String],
    dialect: Dialect,
) -> Result<Rendered, CliError> {
    let mut slugged = slug(&r.message);
    if slugged.is_empty() {
        slugged = "imported".into();
    }
    let name = format!("{}_{slugged}.sql", r.id);
    let sql = |list: &[String]| {
        statements(list, dialect).map_err(|why| {
            CliError::Refused(format!(
                "Alembic revision {} ({}) sends {why}; nothing was written",
                r.id, r.file
            ))
        })
    };
    let upgrade = sql(up.upgrades.get(&r.id).map_or(&[][..], Vec::as_slice))?;
    // A downgrade that sends nothing undoes nothing, unless there is nothing to undo (a merge).
    let downgrade = match down.sql.get(&r.id) {
        Some(d) if d.is_empty() && !upgrade.is_empty() => None,
        Some(d) => Some(sql(d)?),
        None => None,
    };
    let mut text = String::new();
    let message = if r.message.trim().is_empty() {
        "(no message)"
    } else {
        r.message.trim()
    };
    text.push_str(&format!(
        "-- {message}\n--\n-- revision: {}\n-- down_revision: {}\n",
        r.id,
        r.down.join(", ")
    ));
    let depends: Vec<&str> = r.depends_on.iter().chain(after).map(String::as_str).collect();
    if !depends.is_empty() {
        text.push_str(&format!("-- depends_on: {}\n", depends.join(", ")));
    }
    if let Some(date) = &r.date {
        text.push_str(&format!("-- created: {date}\n"));
    }
    if up.no_transaction.contains(&r.id) {
        text.push_str("-- migrate:no-transaction\n");
    }
    text.push_str(super::no_variables(&[&upgrade, downgrade.as_deref().unwrap_or("")]));
    let source = Path::new(&r.file)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    text.push_str(&format!(
        "-- Imported from the Alembic revision file {source}, with the SQL Alembic ran.\n"
    ));
    text.push_str("\n-- migrate:upgrade\n");
    text.push_str(&upgrade);
    if let Some(d) = &downgrade {
        text.push_str("\n-- migrate:downgrade\n");
        text.push_str(d);
    }
    Ok(Rendered {
        name,
        text,
        upgrade,
        downgrade,
    })
}

/// Statements as a section's text: each ends with `;`, a blank line between.
fn statements(list: &[String], dialect: Dialect) -> Result<String, String> {
    let mut out = String::new();
    for s in list {
        let s = migrate_core::sql::escape::file_safe(s.trim(), dialect).map_err(|e| e.to_string())?;
        if s.is_empty() {
            continue;
        }
        out.push_str(&s);
        if !s.ends_with(';') {
            out.push(';');
        }
        out.push_str("\n\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(id: &str, down: &[&str], depends_on: &[&str]) -> Revision {
        Revision {
            id: id.into(),
            down: down.iter().map(|s| s.to_string()).collect(),
            depends_on: depends_on.iter().map(|s| s.to_string()).collect(),
            message: String::new(),
            date: None,
            file: format!("{id}.py"),
        }
    }

    /// A chain is one target; a branch, a merge, a `depends_on`, or a revision
    /// whose parent is not the one just before it in the order starts another.
    #[test]
    fn chains_are_upgraded_to_their_last_revision_and_the_rest_one_by_one() {
        let revisions = [
            revision("a", &[], &[]),
            revision("b", &["a"], &[]),
            revision("c", &["b"], &[]),
            // Two branches from c: d1 then e1 on one, d2 on the other (Alembic's order).
            revision("d1", &["c"], &[]),
            revision("e1", &["d1"], &[]),
            revision("d2", &["c"], &[]),
            revision("m", &["e1", "d2"], &[]),
            revision("n", &["m"], &[]),
            revision("o", &["n"], &["a"]),
            revision("p", &["o"], &[]),
        ];
        let order = ["a", "b", "c", "d1", "e1", "d2", "m", "n", "o", "p"].map(String::from);
        let prefix: Vec<&String> = order.iter().collect();
        assert_eq!(chain_ends(&prefix, &revisions), ["e1", "d2", "n", "p"]);
        assert_eq!(chain_ends(&prefix[..3], &revisions), ["c"]);
        assert_eq!(chain_ends(&prefix[..0], &revisions), Vec::<String>::new());
    }
}
