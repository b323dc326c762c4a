//! Mistakes get one clear message on stderr and a non-zero exit, never a
//! panic (support's runner fails any test whose command panicked): exit 1
//! for errors, 2 for usage. Grouped by the kind of input that was wrong, so
//! a new kind of mistake has an obvious home.

pub(crate) use crate::support::{fails, migrate, repo};

pub(crate) fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite:{}", dir.join("app.db").display())
}

mod config;
mod directives;
mod dump_files;
mod durations;
mod embedded_flags;
mod flag_places;
mod fleet_duplicates;
mod folders;
mod full_disk;
mod results;
mod schema_files;
mod set_dependencies;
mod silent_servers;
mod targets;
mod untrue_notes;
mod urls;
