//! `show ID`: one revision (or a repeatable, `repeatable:<name>`) with its
//! parents, children, file, checksum, settings and SQL.

use crate::config::Settings;
use crate::error::CliError;
use crate::output::{Output, Style};
use crate::verbs::{Source, parents_or_base};
use migrate_core::graph::{children, find};
use migrate_core::{Migration, Phase};

/// Prints the revision (or repeatable) `id` of `source`.
pub(crate) fn show(source: Source<'_>, s: &Settings, id: &str, out: &Output) -> Result<(), CliError> {
    if crate::repeatables::is(id) {
        let repeatables = match source {
            Source::Embedded(m) => m.repeatables().to_vec(),
            Source::Folder => migrate_core::load::load_repeatables(&s.dir, &s.dir_shown)?,
        };
        let m = crate::repeatables::named(&repeatables, id)?;
        out.result(&crate::repeatables::shown(m, out));
        return Ok(());
    }
    let list = source.loose(s)?;
    let m = find(&list, id)?;
    revision(&list, m, out);
    Ok(())
}

/// `show ID`: metadata, then the file's sections.
fn revision(list: &[Migration], m: &Migration, out: &Output) {
    let parents: Vec<&str> = m.down_revisions().collect();
    let children = children(list, m.revision());
    let is_head = children.is_empty();
    let mut text = format!(
        "Rev: {}{}\nParent: {}\n",
        out.paint(m.revision(), Style::Id),
        if is_head {
            out.paint(" (head)", Style::Mark)
        } else {
            String::new()
        },
        parents_or_base(&parents)
    );
    if !children.is_empty() {
        text.push_str(&format!("Children: {}\n", children.join(", ")));
    }
    text.push_str(&format!(
        "Path: {}\nChecksum: {}\nPhase: {}\nTransaction: {}\nReversible: {}\n{}\n    {}\n\n",
        m.file(),
        m.checksum(),
        m.phase().map_or("none", Phase::as_str),
        if m.no_transaction() {
            "no (-- migrate:no-transaction)"
        } else {
            "yes"
        },
        if m.downgrade_sql().is_some() { "yes" } else { "no" },
        {
            let d = m.directives();
            let mut t = String::new();
            if let Some(l) = d.lock_timeout {
                t.push_str(&format!("Lock timeout: {}\n", migrate_core::duration::display(l)));
            }
            if let Some(l) = d.statement_timeout {
                t.push_str(&format!("Statement timeout: {}\n", migrate_core::duration::display(l)));
            }
            t
        },
        m.message(),
    ));
    if m.is_rust() {
        // No SQL: its code is the file, run only by the application embedding the folder.
        text.push_str("Language: Rust (its `upgrade` and `downgrade` functions run only in the application that embeds the folder)\n");
        return out.result(text.trim_end());
    }
    text.push_str(&format!("-- migrate:upgrade\n{}\n", m.upgrade_sql()));
    if let Some(down) = m.downgrade_sql() {
        text.push_str(&format!("\n-- migrate:downgrade\n{down}\n"));
    }
    out.result(text.trim_end());
}
