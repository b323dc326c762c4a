//! diesel's folder, read as `diesel_migrations::FileBasedMigrations` reads
//! it: one folder per migration, `<version>_<name>` (the version is the
//! name up to its first `_`, dashes removed, as diesel stores it), holding
//! `up.sql`, an optional `down.sql` and an optional `metadata.toml` whose
//! `run_in_transaction = false` runs it outside a transaction; files and
//! folders starting with `.` beside them are skipped, as diesel skips them.
//! diesel stores no checksum.

use super::{Imported, Source, in_order};
use crate::error::CliError;

/// `metadata.toml`, as `migrations_internals::TomlMetadata` reads it: a
/// file without the key runs outside a transaction (serde's `bool`
/// default), one that does not parse inside one (diesel's `unwrap_or_default`),
/// other keys ignored.
#[derive(serde::Deserialize)]
struct Metadata {
    #[serde(default)]
    run_in_transaction: bool,
}

pub(crate) fn read(src: &Source) -> Result<Vec<Imported>, CliError> {
    let mut list = Vec::new();
    for dir in src.entries()? {
        if dir.starts_with('.') || !src.is_dir(&dir) {
            continue;
        }
        let version = dir.split('_').next().unwrap_or_default().replace('-', "");
        let name = dir.split_once('_').map_or("", |(_, n)| n).to_owned();
        if src.exists(&format!("{dir}/up.rs")) && !src.exists(&format!("{dir}/up.sql")) {
            return Err(src.refuse(
                &dir,
                None,
                "a Rust migration: write the SQL it sends as up.sql, and import again",
            ));
        }
        let up_file = format!("{dir}/up.sql");
        if !src.exists(&up_file) {
            return Err(src.refuse(&dir, None, "no up.sql: not a migration folder diesel can run"));
        }
        let up = src.read(&up_file)?;
        if up.is_empty() {
            return Err(src.refuse(&up_file, None, "empty: diesel refuses to run an empty migration"));
        }
        let down_file = format!("{dir}/down.sql");
        let down = match src.exists(&down_file) {
            true => Some(src.read(&down_file)?),
            false => None,
        };
        let meta_file = format!("{dir}/metadata.toml");
        let in_transaction = match src.exists(&meta_file) {
            true => toml::from_str::<Metadata>(&src.read(&meta_file)?).map_or(true, |m| m.run_in_transaction),
            false => true,
        };
        list.push(Imported {
            repeatable: None,
            note: None,
            version,
            name,
            file: dir.clone(),
            up,
            down,
            no_transaction: !in_transaction,
            checksum: None,
        });
    }
    in_order(src, list, |m| m.version.clone())
}
