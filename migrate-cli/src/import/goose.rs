//! goose's folder, read as its SQL parser reads it: `{version}_{name}.sql`
//! ordered by the integer version, `-- +goose Up` and `-- +goose Down`
//! starting the sections, `-- +goose StatementBegin` … `StatementEnd`
//! around a statement that holds semicolons, `-- +goose NO TRANSACTION`.
//! The annotation lines are dropped, the rest kept as it is: a
//! `StatementBegin` block must be one statement for this tool's splitter, or
//! statements every reading of it agrees on, or the file is refused at the
//! block's line; one goose sends without its `;` gets one. A `.go` file without a version is passed by, as goose
//! passes it by (an `embed.go`). A Go migration (`.go`) and
//! `ENVSUB` (environment substitution, which depends on where it runs) are
//! refused. goose's `goose_db_version` stores no checksum.

use super::{Imported, Source, in_order};
use crate::error::CliError;

pub(crate) fn read(src: &Source) -> Result<Vec<Imported>, CliError> {
    let mut list = Vec::new();
    for file in src.entries()? {
        let (stem, ext) = file.rsplit_once('.').unwrap_or((&file, ""));
        if src.is_dir(&file) || !matches!(ext, "sql" | "go") || file.ends_with("_test.go") {
            continue;
        }
        let Some((version, name)) = stem.split_once('_').filter(|(v, _)| v.parse::<i64>().is_ok()) else {
            if ext == "go" {
                // Not a migration (an `embed.go` beside the files): goose passes it by too.
                continue;
            }
            return Err(src.refuse(&file, None, "goose needs `{version}_{name}` with an integer version"));
        };
        if ext == "go" {
            return Err(src.refuse(
                &file,
                None,
                "a Go migration: its code runs in goose, not as SQL; write the SQL it sends as a `.sql` migration of its version, and import again",
            ));
        }
        let text = src.read(&file)?;
        let (up, down, no_transaction) = sections(src, &file, &text)?;
        list.push(Imported {
            repeatable: None,
            note: None,
            version: version.parse::<i64>().unwrap_or_default().to_string(),
            name: name.to_owned(),
            file: file.clone(),
            up,
            down,
            no_transaction,
            checksum: None,
        });
    }
    in_order(src, list, |m| m.version.parse::<i64>().unwrap_or_default())
}

/// Which section a line is in.
#[derive(PartialEq)]
enum At {
    Before,
    Up,
    Down,
}

/// The upgrade, the downgrade (if there is a `Down`) and `NO TRANSACTION`.
fn sections(src: &Source, file: &str, text: &str) -> Result<(String, Option<String>, bool), CliError> {
    let (mut up, mut down, mut no_transaction) = (String::new(), None::<String>, false);
    let mut at = At::Before;
    // The open StatementBegin: its line and its text so far.
    let mut block: Option<(usize, String)> = None;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let n = i + 1;
        let Some(cmd) = annotation(line) else {
            if let Some((_, b)) = block.as_mut() {
                b.push_str(line);
            }
            match at {
                At::Up => up.push_str(line),
                At::Down => down.get_or_insert_default().push_str(line),
                At::Before if line.trim().is_empty() || line.trim_start().starts_with("--") => {}
                At::Before => return Err(src.refuse(file, Some(n), "SQL before `-- +goose Up`, which goose refuses")),
            }
            continue;
        };
        match cmd.to_ascii_lowercase().as_str() {
            "up" if at == At::Before => at = At::Up,
            "down" if at != At::Down && block.is_none() => {
                at = At::Down;
                down.get_or_insert_default();
            }
            "statementbegin" if block.is_none() && at != At::Before => block = Some((n, String::new())),
            "statementend" => match block.take() {
                // Several statements (`goose create`'s template puts its `SELECT` and
                // the user's DDL in one block) run as goose runs them where every
                // reading agrees on them; where readings differ, one of them may be a
                // statement cut in pieces.
                Some((from, b)) if !src.one_statement(&b) && !src.reads_alike(&b) => {
                    return Err(src.refuse(
                        file,
                        Some(from),
                        "this StatementBegin block is more than one statement to migrate's splitter, and the databases' readings of it differ, so it could be sent in pieces: pass --dialect (or a database URL) to read it as your database does, split it into blocks of one statement each, or report the statement",
                    ));
                }
                // goose sends a block on its own, so its `;` may be left out: the
                // file's text gets one, or the next statement would join it.
                Some((_, b)) if src.needs_terminator(&b) => match at {
                    At::Down => down.get_or_insert_default().push_str(";\n"),
                    _ => up.push_str(";\n"),
                },
                Some(_) => {}
                None => return Err(src.refuse(file, Some(n), "`StatementEnd` with no `StatementBegin`")),
            },
            "no transaction" => no_transaction = true,
            other if other.starts_with("envsub") => {
                return Err(src.refuse(
                    file,
                    Some(n),
                    "`ENVSUB` substitutes environment variables where goose runs, which a file cannot keep: write the values in, and import again",
                ));
            }
            _ => {
                return Err(src.refuse(
                    file,
                    Some(n),
                    format!("the annotation `-- +goose {cmd}` out of place, or one this import does not know"),
                ));
            }
        }
    }
    if let Some((from, _)) = block {
        return Err(src.refuse(file, Some(from), "`StatementBegin` with no `StatementEnd`"));
    }
    if at == At::Before {
        return Err(src.refuse(file, None, "no `-- +goose Up` annotation, which goose requires"));
    }
    Ok((up, down, no_transaction))
}

/// The command of a `-- +goose …` line.
fn annotation(line: &str) -> Option<&str> {
    let rest = line.trim().strip_prefix("--")?.trim_start();
    Some(rest.strip_prefix("+goose")?.trim())
}
