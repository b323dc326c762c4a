//! dbmate's folder, read as dbmate reads it: `{version}_{name}.sql` in
//! file-name order, each file `-- migrate:up` then `-- migrate:down` with
//! their options (`transaction:false` runs the section outside a
//! transaction). Only comments may come before `-- migrate:up`. Both
//! sections run one way in migrate, so their `transaction` options must
//! agree. dbmate's `schema_migrations` stores no checksum.

use super::{Imported, Source, digits, in_order};
use crate::error::CliError;

pub(crate) fn read(src: &Source) -> Result<Vec<Imported>, CliError> {
    let mut list = Vec::new();
    for file in src.entries()? {
        let Some(stem) = file.strip_suffix(".sql") else {
            continue;
        };
        if src.is_dir(&file) {
            continue;
        }
        let Some((version, name)) = stem.split_once('_').filter(|(v, _)| digits(v)) else {
            return Err(src.refuse(
                &file,
                None,
                "dbmate needs `{version}_{name}.sql` with a version of digits",
            ));
        };
        let text = src.read(&file)?;
        let (up, down, no_transaction) = sections(src, &file, &text)?;
        list.push(Imported {
            repeatable: None,
            note: None,
            version: version.to_owned(),
            name: name.to_owned(),
            file: file.clone(),
            up,
            down,
            no_transaction,
            checksum: None,
        });
    }
    in_order(src, list, |m| m.file.clone())
}

/// The section a `-- migrate:up` / `-- migrate:down` line starts, and whether
/// its options say `transaction:false`.
fn marker(line: &str) -> Option<(&str, Vec<&str>)> {
    // At the start of its line, as dbmate's pattern (`^--\s*migrate:up`) reads it.
    let rest = line
        .trim_end()
        .strip_prefix("--")?
        .trim_start()
        .strip_prefix("migrate:")?;
    let mut words = rest.split_whitespace();
    let which = words.next()?;
    matches!(which, "up" | "down").then(|| (which, words.collect()))
}

fn sections(src: &Source, file: &str, text: &str) -> Result<(String, Option<String>, bool), CliError> {
    let (mut up, mut down) = (None::<String>, None::<String>);
    let mut flags: Vec<bool> = Vec::new();
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if let Some((which, options)) = marker(line) {
            for o in &options {
                if !matches!(*o, "transaction:false" | "transaction:true") {
                    return Err(src.refuse(
                        file,
                        Some(i + 1),
                        format!("the option `{o}`, which dbmate does not have"),
                    ));
                }
            }
            flags.push(options.contains(&"transaction:false"));
            let misplaced = match which {
                "up" => up.is_some(),
                _ => up.is_none() || down.is_some(),
            };
            if misplaced {
                return Err(src.refuse(file, Some(i + 1), format!("`-- migrate:{which}` out of place")));
            }
            match which {
                "up" => up = Some(String::new()),
                _ => down = Some(String::new()),
            }
            continue;
        }
        match (&mut up, &mut down) {
            (_, Some(d)) => d.push_str(line),
            (Some(u), None) => u.push_str(line),
            (None, None) if line.trim().is_empty() || line.trim_start().starts_with("--") => {}
            (None, None) => {
                return Err(src.refuse(file, Some(i + 1), "SQL before `-- migrate:up`, which dbmate refuses"));
            }
        }
    }
    let Some(up) = up else {
        return Err(src.refuse(file, None, "no `-- migrate:up`, which dbmate requires"));
    };
    // A section without a statement runs nothing, whichever way it would run.
    if down.as_deref().is_some_and(|d| src.holds_no_statement(d)) {
        flags.truncate(1);
    } else if flags.len() == 2 && src.holds_no_statement(&up) {
        flags.remove(0);
    }
    if flags.windows(2).any(|w| w[0] != w[1]) {
        return Err(src.refuse(
            file,
            None,
            "`transaction:false` on one section only: a migrate revision runs both its sections one way; put it on both, or on neither",
        ));
    }
    Ok((up, down, flags.first().copied().unwrap_or(false)))
}
