//! `check --base GIT-REF` and `test --from GIT-REF`: the migrations folder as
//! it was at a commit, read through `git` (the repository the folder is in),
//! for [`migrate_core::shipped::changed_since`] and [`crate::from_base`].

use crate::error::CliError;
use migrate_core::load::{Source, is_migration_file};
use std::io::{BufRead, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// The base: the reference as given with its commit, and the folder's files there.
pub(crate) struct Base {
    /// `REF (abc1234)`, as the findings name it.
    pub(crate) name: String,
    /// The folder's migration files at that commit, shown under `dir_shown` as
    /// the folder's files are now; none when the folder did not exist then.
    pub(crate) sources: Vec<Source>,
}

/// Runs `git -C dir ARGS`, its standard output, or what it said on failure.
fn git(dir: &Path, args: &[&str]) -> Result<String, CliError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| CliError::Io {
            context: "running `git` (--base and --from read the base through it; is git installed?)".into(),
            source: e,
        })?;
    if !out.status.success() {
        return Err(CliError::Refused(format!(
            "`git {}` in `{}` failed: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The folder `dir` (shown as `dir_shown`) as it was at `reference`.
pub(crate) fn folder_at(dir: &Path, dir_shown: &str, reference: &str) -> Result<Base, CliError> {
    if reference.starts_with('-') {
        return Err(CliError::Usage(format!(
            "--base takes a git reference (a branch, a tag, a commit), not `{reference}`"
        )));
    }
    let commit = git(dir, &["rev-parse", "--verify", "--quiet", &format!("{reference}^{{commit}}")])
        .map_err(|_| match git(dir, &["rev-parse", "--git-dir"]) {
            Err(_) => CliError::Refused(format!(
                "`{reference}` names no commit: `{dir_shown}` is not inside a git repository, and the folder as it was at a commit is read through git (run this in the repository's clone)"
            )),
            Ok(_) => CliError::Refused(format!(
                "`{reference}` names no commit of the git repository holding `{dir_shown}`: give a branch, a tag or a commit it has (`git fetch` it first in a shallow CI clone)"
            )),
        })?
        .trim()
        .to_owned();
    let short = &commit[..commit.len().min(12)];
    let name = format!("{reference} ({short})");
    // The folder's path inside the repository, to read the commit's tree at.
    let prefix = git(dir, &["rev-parse", "--show-prefix"])?.trim().to_owned();
    // A folder that did not exist at the base lists nothing: nothing of it shipped.
    let listed = git(dir, &["ls-tree", "-z", "--name-only", &commit, "--", "."]).unwrap_or_default();
    let names: Vec<&str> = listed
        .split('\0')
        .filter(|n| !n.is_empty() && !n.contains('/') && is_migration_file(n))
        .collect();
    let contents = blobs(dir, &commit, &prefix, &names)?;
    let shown = dir_shown.trim_end_matches('/');
    let sources = names
        .iter()
        .zip(contents)
        .map(|(n, bytes)| Source {
            path: format!("{shown}/{n}"),
            bytes,
        })
        .collect();
    Ok(Base { name, sources })
}

/// The contents of `names` (files of the folder at `prefix`) at `commit`, in
/// one `git cat-file --batch`.
fn blobs(dir: &Path, commit: &str, prefix: &str, names: &[&str]) -> Result<Vec<Vec<u8>>, CliError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let io = |context: &str| {
        let context = context.to_owned();
        move |source| CliError::Io { context, source }
    };
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(io("running `git cat-file`"))?;
    let mut stdin = child.stdin.take().expect("piped");
    let asked: String = names.iter().map(|n| format!("{commit}:{prefix}{n}\n")).collect();
    // Written from a thread: git answers as it reads, and a large folder would fill both pipes.
    let writer = std::thread::spawn(move || stdin.write_all(asked.as_bytes()));
    let mut out = std::io::BufReader::new(child.stdout.take().expect("piped"));
    let mut contents = Vec::with_capacity(names.len());
    for name in names {
        let mut header = String::new();
        out.read_line(&mut header).map_err(io("reading `git cat-file`"))?;
        let size: usize = match header.split_whitespace().collect::<Vec<_>>()[..] {
            [_, "blob", size] => size.parse().unwrap_or(0),
            _ => {
                return Err(CliError::Refused(format!(
                    "`git cat-file` could not read `{prefix}{name}` at {commit}: {}",
                    header.trim()
                )));
            }
        };
        let mut bytes = vec![0; size + 1];
        out.read_exact(&mut bytes).map_err(io("reading `git cat-file`"))?;
        bytes.pop();
        contents.push(bytes);
    }
    let _ = writer.join();
    let _ = child.wait();
    Ok(contents)
}
