//! `migrate squash --to REV`: the revisions from the base to REV become one
//! baseline revision, its SQL written from the schema they produce, proven on
//! scratch databases before any file changes (see `docs/squash.md`).
//!
//! The proof: a scratch database upgraded through the old revisions to REV
//! and one upgraded through the baseline compare equal (autogenerate's
//! comparison); on the second, the revisions above REV round-trip, then the
//! baseline's downgrade leaves it empty. Only then the folder changes: the
//! new files are staged in a hidden folder, and the moves are undone if one
//! fails.

use crate::author::{new_revision, now_utc, slug};
use crate::config::Settings;
use crate::database;
use crate::error::{CliError, io};
use crate::output::Output;
use crate::schema::{self, Interrupt, with_scratch};
use migrate_core::graph::Graph;
use migrate_core::load::load_dir;
use migrate_core::schema::{Renames, Schema};
use migrate_core::squash::{Range, carried, range, replaced_ids};
use migrate_core::{Migration, format};
use migrate_runtime::{Dialect, Migrations};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The folder, under the migrations folder, where squashed files go: one
/// folder per baseline, which neither `load` nor `embed_migrations!` reads.
pub(crate) const SQUASHED: &str = "squashed";

/// What `migrate squash` was asked.
pub(crate) struct Request<'a> {
    /// The squash point (id or unique prefix).
    pub(crate) to: &'a str,
    /// The last release that has the revisions, if given (`--release`).
    pub(crate) release: Option<&'a str>,
    /// Delete the squashed files instead of moving them (`--delete`).
    pub(crate) delete: bool,
    /// The baseline's message (`-m`), if given.
    pub(crate) message: Option<&'a str>,
}

/// The files a squash writes, before any is.
struct Squashed {
    /// The baseline's id and file name.
    id: String,
    name: String,
    /// The squashed files' names.
    old: Vec<String>,
    /// The files above the point whose header now names the baseline: name, new text.
    rewritten: Vec<(String, String)>,
}

/// `squash --to REV`.
pub(crate) async fn squash(s: &Settings, req: &Request<'_>, out: &Output) -> Result<(), CliError> {
    let d = schema::dialect(s, out)?;
    schema::needs_server(d, s)?;
    let list = load_dir(&s.dir, &s.dir_shown)?;
    let graph = Graph::new(&list)?;
    let point = graph.resolve(req.to)?;
    let range = range(&graph, point).map_err(|e| CliError::Refused(e.to_string()))?;
    refuse_range(&graph, &range)?;
    let release = release_of(s, req.release)?;
    let point_id = graph.get(point).revision().to_owned();
    let taken: HashSet<&str> = list.iter().map(Migration::revision).collect();
    let id = new_revision(&taken);
    let message = req.message.map_or_else(
        || format!("baseline: {} revisions squashed up to {point_id}", range.squashed.len()),
        str::to_owned,
    );
    warn_rows(&graph, &range, d, out);
    let plan = files(s, &graph, &range, &id, &message)?;
    let mut interrupt = Interrupt::new();
    let old = Migrations::load(&s.dir, &s.dir_shown)?;
    let exclude = schema::own_tables(s);
    let scratch = schema::on_scratch(s);
    let before = with_scratch(d, s.dev_database_url.as_deref(), out, &mut interrupt, async |db, _| {
        database::migrator(&old, &scratch, out)
            .upgrade(&mut *db, point_id.as_str())
            .await?;
        Ok(migrate_runtime::catalog::read_schema(db, &exclude).await?)
    })
    .await?;
    out.note(&format!(
        "Upgraded a scratch database through the {} squashed revisions to {point_id}",
        range.squashed.len()
    ));
    let generated = migrate_core::schema::generate(d, &Schema::default(), &before, &Renames::default(), true)
        .map_err(|e| CliError::Refused(e.to_string()))?;
    let replaced = replaced_ids(&graph, &range);
    let release_lines: Vec<String> = carried(&graph, &range).into_iter().chain([release.clone()]).collect();
    let text = baseline_text(
        &generated.file(&message, &id, &[], &now_utc()),
        &replaced,
        &release_lines,
    );
    let staging = Staging::new(s, &id)?;
    let staged = staging.folder(s, &plan, &text)?;
    let new = Migrations::load(&staged, &s.dir_shown)?;
    let proof = Proof {
        d,
        s: &scratch,
        old: &old,
        new: &new,
        point: &point_id,
        baseline: &plan.id,
        out,
    };
    proof.run(&before, &mut interrupt).await?;
    if interrupt.has_fired() {
        // Ctrl-C after the last scratch database: nothing is written.
        return Err(CliError::Refused("interrupted; nothing was written".into()));
    }
    staging.commit(&s.dir, &plan, req.delete, |from, to| std::fs::rename(from, to))?;
    out.result(&format!("{}/{}", s.dir_shown, plan.name));
    let gone = if req.delete {
        "deleted".to_owned()
    } else {
        format!("moved to {}/{SQUASHED}/{}/", s.dir_shown, plan.id)
    };
    out.note(&format!(
        "{} revisions replaced by the baseline {} (release {release}); their files {gone}; {} revision(s) above now descend from it",
        plan.old.len(),
        plan.id,
        plan.rewritten.len()
    ));
    Ok(())
}

/// What cannot be squashed: a Rust revision (only the application runs it,
/// and the header of one above would change its checksum), a folder with no
/// room for the squashed files.
fn refuse_range(graph: &Graph<'_>, range: &Range) -> Result<(), CliError> {
    if let Some(m) = range.squashed.iter().map(|&i| graph.get(i)).find(|m| m.is_rust()) {
        return Err(CliError::Refused(format!(
            "revision `{}` ({}) is a Rust revision, which only the application embedding the folder runs, so the squash cannot prove the baseline on a scratch database; squash to a revision below it",
            m.revision(),
            m.file()
        )));
    }
    let inside: Vec<bool> = (0..graph.len()).map(|i| range.squashed.contains(&i)).collect();
    for i in (0..graph.len()).filter(|&i| !inside[i]) {
        let m = graph.get(i);
        let point = graph.get(range.point).revision();
        if m.is_rust() && m.down_revisions().chain(m.runs_after()).any(|r| r == point) {
            return Err(CliError::Refused(format!(
                "revision `{}` ({}) is a Rust revision above the squash point: its header would have to name the baseline, and a Rust revision's checksum covers its whole file; squash to its parent's parent, or above it",
                m.revision(),
                m.file()
            )));
        }
    }
    if range.squashed.len() < 2 {
        return Err(CliError::Refused(format!(
            "there is nothing to squash up to `{}`: it is the only revision of its range",
            graph.get(range.point).revision()
        )));
    }
    Ok(())
}

/// The baseline holds the schema only: says which squashed revisions also
/// wrote rows (seed data, backfills), which a database made from it lacks.
fn warn_rows(graph: &Graph<'_>, range: &Range, d: Dialect, out: &Output) {
    const ROW_VERBS: [&str; 5] = ["insert", "update", "delete", "copy", "merge"];
    let mut writers = Vec::new();
    for m in range.squashed.iter().map(|&i| graph.get(i)) {
        let statements = migrate_core::sql::split::statements(m.upgrade_sql(), d);
        let verbs: HashSet<String> = statements
            .iter()
            .filter_map(|st| {
                let code = st
                    .text
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with("--"))?;
                let word = code
                    .split(|c: char| !c.is_ascii_alphabetic())
                    .next()?
                    .to_ascii_lowercase();
                ROW_VERBS.contains(&word.as_str()).then_some(word.to_ascii_uppercase())
            })
            .collect();
        if !verbs.is_empty() || m.backfill().is_some() {
            writers.push(m.revision().to_owned());
        }
    }
    if !writers.is_empty() {
        out.warn(&format!(
            "{} squashed revision(s) also write rows ({}): the baseline holds the schema only, so a database made from it starts without those rows; carry seed data the application needs in a revision above the baseline",
            writers.len(),
            writers.join(", ")
        ));
    }
}

/// The release the squash records: `--release`, else `git describe` of the folder.
fn release_of(s: &Settings, given: Option<&str>) -> Result<String, CliError> {
    if let Some(r) = given.map(str::trim).filter(|r| !r.is_empty()) {
        return Ok(r.to_owned());
    }
    let described = std::process::Command::new("git")
        .arg("-C")
        .arg(&s.dir)
        .args(["describe", "--always", "--tags"])
        .output();
    match described {
        Ok(o) if o.status.success() && !o.stdout.trim_ascii().is_empty() => {
            Ok(String::from_utf8_lossy(o.stdout.trim_ascii()).into_owned())
        }
        _ => Err(CliError::Usage(format!(
            "the squash records the last release that has the squashed revisions, for the databases still inside them: pass --release NAME (a version or tag); {} is not in a git repository `git describe` can name",
            s.dir_shown
        ))),
    }
}

/// The baseline's file: the generated one with its `-- migrate:replaces:` and
/// `-- migrate:squashed:` lines after `created:` (`releases`: the earlier
/// squashes it carries, then its own release).
fn baseline_text(generated: &str, replaced: &[String], releases: &[String]) -> String {
    let generated = generated.replacen(
        "-- Written by `migrate revision --autogenerate`: read it before it runs, above all every `-- REVIEW:` line.",
        "-- Written by `migrate squash` from the schema the replaced revisions give, proven equal to it on a scratch database.",
        1,
    );
    let generated = generated.as_str();
    let mut lines = format!("-- migrate:replaces: {}\n", replaced.join(", "));
    for release in releases {
        lines.push_str(&format!("-- migrate:squashed: {release}\n"));
    }
    match generated.find("\n-- created: ") {
        Some(at) => {
            let end = generated[at + 1..].find('\n').map_or(generated.len(), |e| at + 2 + e);
            format!("{}{lines}{}", &generated[..end], &generated[end..])
        }
        None => format!("{lines}{generated}"),
    }
}

/// The baseline's name, the squashed files and the rewritten headers.
fn files(s: &Settings, graph: &Graph<'_>, range: &Range, id: &str, message: &str) -> Result<Squashed, CliError> {
    let point = graph.get(range.point).revision();
    let file_name = |m: &Migration| m.file().rsplit('/').next().unwrap_or_default().to_owned();
    let mut rewritten = Vec::new();
    for i in (0..graph.len()).filter(|i| !range.squashed.contains(i)) {
        let m = graph.get(i);
        if !m.down_revisions().chain(m.runs_after()).any(|r| r == point) {
            continue;
        }
        let name = file_name(m);
        let path = s.dir.join(&name);
        let text = std::fs::read_to_string(&path).map_err(io(format!("cannot read {}/{name}", s.dir_shown)))?;
        rewritten.push((name, reparent(&text, point, id)));
    }
    let slug = slug(message);
    Ok(Squashed {
        id: id.to_owned(),
        name: if slug.is_empty() {
            format!("{id}.sql")
        } else {
            format!("{id}_{slug}.sql")
        },
        old: range.squashed.iter().map(|&i| file_name(graph.get(i))).collect(),
        rewritten,
    })
}

/// `text` with `point` named `baseline` in its `down_revision:` and
/// `depends_on:` header lines (a SQL file's; the checksum covers only the
/// upgrade section, so databases that ran it see no change).
fn reparent(text: &str, point: &str, baseline: &str) -> String {
    let mut out = String::with_capacity(text.len() + baseline.len());
    let mut header = true;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == format::UPGRADE_MARKER {
            header = false;
        }
        let body = line.trim_end_matches(['\n', '\r']);
        let key = body
            .strip_prefix("--")
            .map(str::trim_start)
            .and_then(|b| ["down_revision:", "depends_on:"].into_iter().find(|k| b.starts_with(k)));
        match key {
            Some(key) if header => {
                let (lead, items) = body.split_at(body.find(key).unwrap_or_default() + key.len());
                let items: Vec<&str> = items
                    .split(',')
                    .map(str::trim)
                    .filter(|i| !i.is_empty())
                    .map(|i| if i == point { baseline } else { i })
                    .collect();
                out.push_str(lead);
                out.push(' ');
                out.push_str(&items.join(", "));
                out.push_str(&line[body.len()..]);
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// What the proof compares: the folder before and after, on one dialect.
struct Proof<'a> {
    d: Dialect,
    /// The settings of runs on scratch databases ([`schema::on_scratch`]).
    s: &'a Settings,
    /// The folder as it is, and as it will be.
    old: &'a Migrations,
    new: &'a Migrations,
    /// The squash point and the baseline's id.
    point: &'a str,
    baseline: &'a str,
    out: &'a Output,
}

impl Proof<'_> {
    /// The proof on scratch databases: the baseline gives `before`, its
    /// downgrade leaves an empty database, and the revisions above round-trip
    /// on it as they did on the old revisions.
    async fn run(&self, before: &Schema, interrupt: &mut Interrupt) -> Result<(), CliError> {
        let (d, s, out, baseline) = (self.d, self.s, self.out, self.baseline);
        let exclude = schema::own_tables(s);
        let dev = s.dev_database_url.as_deref();
        let trips = with_scratch(d, dev, out, interrupt, async |db, _| {
            let migrator = database::migrator(self.new, s, out);
            migrator.upgrade(&mut *db, baseline).await?;
            let after = migrate_runtime::catalog::read_schema(&mut *db, &exclude).await?;
            let differs = differences(before, &after);
            if !differs.is_empty() {
                for line in &differs {
                    out.result(&format!("differs     {line}"));
                }
                let hint = match differs.iter().any(|l| l.starts_with("Not generated")) {
                    true => ": what autogenerate does not write (`Not generated`) cannot be in a baseline; squash to a revision below the one that creates it",
                    false => "",
                };
                return Err(CliError::Refused(format!(
                    "the baseline does not give the schema the squashed revisions give ({} difference(s) above, read as autogenerate reads them){hint}; nothing was written",
                    differs.len()
                )));
            }
            out.note("The baseline gives the same schema as the squashed revisions");
            // Its own round trip: down to empty, then up again for the walk above it.
            migrator.downgrade(&mut *db, "base").await?;
            let left = differences(&Schema::default(), &migrate_runtime::catalog::read_schema(&mut *db, &exclude).await?);
            if !left.is_empty() {
                return Err(CliError::Refused(format!(
                    "the baseline's downgrade leaves {}; nothing was written",
                    left.join("; ")
                )));
            }
            migrator.upgrade(&mut *db, baseline).await?;
            Ok(migrator.verify_pending_round_trips(&mut *db).await?)
        })
        .await?;
        schema::print_round_trips(&trips, d, Some(baseline), out);
        if trips.is_ok() {
            return Ok(());
        }
        // What does not round-trip above the point may not have before either: then the squash changed nothing.
        let old_trips = with_scratch(d, dev, out, interrupt, async |db, _| {
            let migrator = database::migrator(self.old, s, out);
            migrator.upgrade(&mut *db, self.point).await?;
            Ok(migrator.verify_pending_round_trips(&mut *db).await?)
        })
        .await?;
        if same_walk(&trips, &old_trips) {
            out.warn(&format!(
                "the revisions above {} do not all round-trip, and did not on the old revisions either (the same report): the squash changes nothing for them; `migrate test` reports them",
                self.point
            ));
            return Ok(());
        }
        Err(CliError::Refused(match &trips.stopped {
            Some(why) => format!("the revisions above the squash point stopped on the baseline: {why}; nothing was written"),
            None => "the revisions above the squash point do not round-trip on the baseline as they do on the old revisions (each line above says what a downgrade left); nothing was written".into(),
        }))
    }
}

/// Whether two walks of the same revisions found the same: each revision's
/// outcome, where they stopped, what was left at the start.
fn same_walk(a: &migrate_runtime::RoundTrips, b: &migrate_runtime::RoundTrips) -> bool {
    let outcomes = |r: &migrate_runtime::RoundTrips| -> Vec<(String, migrate_runtime::RoundTripOutcome)> {
        r.revisions
            .iter()
            .map(|t| (t.revision.clone(), t.outcome.clone()))
            .collect()
    };
    outcomes(a) == outcomes(b) && a.at_base == b.at_base && a.stopped.is_some() == b.stopped.is_some()
}

/// What separates two schemas, as autogenerate and `check --schema` read it.
fn differences(before: &Schema, after: &Schema) -> Vec<String> {
    match migrate_core::schema::compare(before, after, &Renames::default(), true) {
        Ok(d) => {
            let mut lines: Vec<String> = d.detected().into_iter().map(|l| l.text).collect();
            lines.extend(d.not_generated.iter().map(|n| format!("Not generated: {n} differs")));
            lines
        }
        Err(e) => vec![e.to_string()],
    }
}

/// A hidden folder inside the migrations folder (which `load` never reads)
/// where the new folder is put together and the old files wait.
struct Staging {
    root: PathBuf,
    /// Left in place when dropped: it holds files a failed undo stranded.
    keep: bool,
}

impl Staging {
    fn new(s: &Settings, id: &str) -> Result<Staging, CliError> {
        let root = s.dir.join(format!(".squash-{id}.partial"));
        std::fs::create_dir(&root).map_err(io(format!("cannot create {}", root.display())))?;
        Ok(Staging { root, keep: false })
    }

    /// The folder as it will be, whole, to load and prove: the files left as
    /// they are, the rewritten ones, the baseline.
    fn folder(&self, s: &Settings, plan: &Squashed, baseline: &str) -> Result<PathBuf, CliError> {
        let folder = self.root.join("folder");
        std::fs::create_dir(&folder).map_err(io(format!("cannot create {}", folder.display())))?;
        let skip: HashSet<&str> = plan
            .old
            .iter()
            .chain(plan.rewritten.iter().map(|(n, _)| n))
            .map(String::as_str)
            .collect();
        let (sources, _) = migrate_core::load::read_dir(&s.dir, &s.dir_shown);
        for source in sources {
            let name = source.path.rsplit('/').next().unwrap_or_default();
            if !skip.contains(name) {
                write(&folder.join(name), &source.bytes)?;
            }
        }
        for (name, text) in &plan.rewritten {
            write(&folder.join(name), text.as_bytes())?;
        }
        write(&folder.join(&plan.name), baseline.as_bytes())?;
        // Repeatable revisions stay as they are, and run in the proof as they will.
        let repeatable = s.dir.join(migrate_core::repeatable::FOLDER);
        if let Ok(entries) = std::fs::read_dir(&repeatable) {
            let into = folder.join(migrate_core::repeatable::FOLDER);
            std::fs::create_dir(&into).map_err(io(format!("cannot create {}", into.display())))?;
            for path in entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()) {
                let bytes = std::fs::read(&path).map_err(io(format!("cannot read {}", path.display())))?;
                write(&into.join(path.file_name().unwrap_or_default()), &bytes)?;
            }
        }
        Ok(folder)
    }

    /// The moves, undone in reverse if one fails. The staging folder (with
    /// `previous/`, the rewritten files as they were, and with `--delete`
    /// `deleted/`, the squashed files) is removed once every move is done,
    /// or once every done move is undone; kept, and named, when an undo fails.
    /// `rename` makes each move (`std::fs::rename`; a test injects failures).
    fn commit(
        mut self,
        dir: &Path,
        plan: &Squashed,
        delete: bool,
        rename: impl FnMut(&Path, &Path) -> std::io::Result<()>,
    ) -> Result<(), CliError> {
        let moved = dir.join(SQUASHED).join(&plan.id);
        let kept = if delete {
            self.root.join("deleted")
        } else {
            moved.clone()
        };
        let previous = self.root.join("previous");
        let folder = self.root.join("folder");
        let undo_dirs = || {
            if !delete {
                let _ = std::fs::remove_dir(&moved);
                let _ = std::fs::remove_dir(dir.join(SQUASHED));
            }
        };
        for dir in [&kept, &previous] {
            if let Err(e) = std::fs::create_dir_all(dir) {
                undo_dirs();
                return Err(io(format!("cannot create {} (the folder is as it was)", dir.display()))(e));
            }
        }
        let mut moves: Vec<(PathBuf, PathBuf)> = plan.old.iter().map(|n| (dir.join(n), kept.join(n))).collect();
        for (name, _) in &plan.rewritten {
            moves.push((dir.join(name), previous.join(name)));
            moves.push((folder.join(name), dir.join(name)));
        }
        moves.push((folder.join(&plan.name), dir.join(&plan.name)));
        let failed = match move_all(&moves, rename) {
            Ok(()) => return Ok(()),
            Err(failed) => failed,
        };
        if failed.not_undone.is_empty() {
            undo_dirs();
            return Err(io(format!(
                "cannot move {} to {} (the folder is as it was)",
                failed.from.display(),
                failed.to.display()
            ))(failed.error));
        }
        // What is left in the staging folder may be the only copy of a file.
        self.keep = true;
        let stranded: Vec<String> = failed
            .not_undone
            .iter()
            .map(|(at, home, e)| format!("{} is at {} ({e})", home.display(), at.display()))
            .collect();
        Err(io(format!(
            "cannot move {} to {}, and undoing the moves done failed too, so the folder is NOT as it was: {}; the original files are in {} (the rewritten ones in {}/, the squashed ones in {}/), kept for you to put back by hand",
            failed.from.display(),
            failed.to.display(),
            stranded.join("; "),
            self.root.display(),
            previous.display(),
            kept.display(),
        ))(failed.error))
    }
}

/// A move of [`move_all`] that failed: which, why, and the done moves that
/// could not be undone (where the file is, where it belongs, why).
#[derive(Debug)]
struct MoveFailed {
    from: PathBuf,
    to: PathBuf,
    error: std::io::Error,
    not_undone: Vec<(PathBuf, PathBuf, std::io::Error)>,
}

/// Makes each move `(from, to)` with `rename`, in order; on the first that
/// fails, undoes the done ones in reverse and says which could not be.
fn move_all(
    moves: &[(PathBuf, PathBuf)],
    mut rename: impl FnMut(&Path, &Path) -> std::io::Result<()>,
) -> Result<(), MoveFailed> {
    for (n, (from, to)) in moves.iter().enumerate() {
        if let Err(error) = rename(from, to) {
            let not_undone = moves[..n]
                .iter()
                .rev()
                .filter_map(|(home, at)| rename(at, home).err().map(|e| (at.clone(), home.clone(), e)))
                .collect();
            return Err(MoveFailed {
                from: from.clone(),
                to: to.clone(),
                error,
                not_undone,
            });
        }
    }
    Ok(())
}

impl Drop for Staging {
    fn drop(&mut self) {
        // A failed proof or an interrupted run leaves nothing behind.
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// Writes a staged file.
fn write(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, bytes).map_err(io(format!("cannot write {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder with the squashed files a, b, the file n above them, and a
    /// staging folder holding n rewritten and the baseline.
    fn staged(dir: &Path) -> (Staging, Squashed) {
        for (name, text) in [("a.sql", "a"), ("b.sql", "b"), ("n.sql", "n old")] {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let root = dir.join(".squash-base9.partial");
        std::fs::create_dir_all(root.join("folder")).unwrap();
        std::fs::write(root.join("folder/n.sql"), "n new").unwrap();
        std::fs::write(root.join("folder/base9.sql"), "baseline").unwrap();
        let plan = Squashed {
            id: "base9".into(),
            name: "base9.sql".into(),
            old: vec!["a.sql".into(), "b.sql".into()],
            rewritten: vec![("n.sql".into(), "n new".into())],
        };
        (Staging { root, keep: false }, plan)
    }

    /// A move that fails undoes the ones done, and the folder is as it was.
    #[test]
    fn a_failed_move_is_undone_and_the_staging_folder_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (staging, plan) = staged(dir);
        let root = staging.root.clone();
        let said = staging
            .commit(dir, &plan, true, |from, to| match from.ends_with("folder/n.sql") {
                true => Err(std::io::Error::other("disk full")),
                false => std::fs::rename(from, to),
            })
            .unwrap_err()
            .to_string();
        assert!(
            said.contains("the folder is as it was") && said.contains("disk full"),
            "{said}"
        );
        for (name, text) in [("a.sql", "a"), ("b.sql", "b"), ("n.sql", "n old")] {
            assert_eq!(std::fs::read_to_string(dir.join(name)).unwrap(), text);
        }
        assert!(!root.exists());
    }

    /// When an undo fails too, the staging folder, which holds the only copy
    /// of the files not put back, is kept, and the error names it and them.
    #[test]
    fn a_failed_undo_keeps_the_staging_folder_and_says_the_folder_changed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (staging, plan) = staged(dir);
        let root = staging.root.clone();
        let said = staging
            .commit(dir, &plan, true, |from, to| {
                // The move of n's new text fails, and so does putting b back.
                if from.ends_with("folder/n.sql") || (to.ends_with("b.sql") && from.ends_with("deleted/b.sql")) {
                    return Err(std::io::Error::other("disk full"));
                }
                std::fs::rename(from, to)
            })
            .unwrap_err()
            .to_string();
        assert!(said.contains("the folder is NOT as it was"), "{said}");
        let b_at = root.join("deleted/b.sql");
        assert!(said.contains(&format!("is at {}", b_at.display())), "{said}");
        assert!(said.contains(&root.display().to_string()), "{said}");
        assert_eq!(
            std::fs::read_to_string(&b_at).unwrap(),
            "b",
            "the only copy of b is kept"
        );
        // What could be put back was.
        assert_eq!(std::fs::read_to_string(dir.join("a.sql")).unwrap(), "a");
        assert_eq!(std::fs::read_to_string(dir.join("n.sql")).unwrap(), "n old");
    }

    /// Every move done: the old files gone (`--delete`), the new ones in place, no staging folder.
    #[test]
    fn a_commit_that_succeeds_leaves_no_staging_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (staging, plan) = staged(dir);
        let root = staging.root.clone();
        staging
            .commit(dir, &plan, true, |from, to| std::fs::rename(from, to))
            .unwrap();
        assert!(!dir.join("a.sql").exists() && !dir.join("b.sql").exists());
        assert_eq!(std::fs::read_to_string(dir.join("n.sql")).unwrap(), "n new");
        assert_eq!(std::fs::read_to_string(dir.join("base9.sql")).unwrap(), "baseline");
        assert!(!root.exists());
    }

    #[test]
    fn the_point_is_renamed_in_the_header_only() {
        let text = "-- add email\n--\n-- revision: c3\n-- down_revision: b2, p1\n-- depends_on: p1\n-- created: x\n\n-- migrate:upgrade\n-- down_revision: p1\nSELECT 1;\n";
        assert_eq!(
            reparent(text, "p1", "base9"),
            "-- add email\n--\n-- revision: c3\n-- down_revision: b2, base9\n-- depends_on: base9\n-- created: x\n\n-- migrate:upgrade\n-- down_revision: p1\nSELECT 1;\n"
        );
    }

    #[test]
    fn the_baseline_header_carries_the_replaced_ids_and_the_release() {
        let file = format::render(
            "baseline",
            "base9",
            &[],
            "2026-01-01T00:00:00Z",
            "CREATE TABLE t (id int);",
            "DROP TABLE t;",
        );
        let text = baseline_text(&file, &["a".into(), "b".into()], &["v1.4.0".into()]);
        let parsed = format::parse("migrations/base9_baseline.sql", &text).expect("a valid baseline");
        assert_eq!(parsed.migration.replaces().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(parsed.migration.squashed(), Some("v1.4.0"));
        assert!(
            text.contains("-- created: 2026-01-01T00:00:00Z\n-- migrate:replaces: a, b\n-- migrate:squashed: v1.4.0\n"),
            "{text}"
        );
    }
}
