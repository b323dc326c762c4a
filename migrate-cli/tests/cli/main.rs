//! The `migrate` binary and the embedded `db` subcommand, run as users run
//! them (`assert_cmd`), grouped by what users do.

#[path = "../common/outside.rs"]
mod outside;
mod support;

mod autogenerate;
mod backfills;
mod bad_input;
mod databases;
mod deploying;
mod embedded;
mod fleets;
mod from_alembic;
mod graph_picture;
mod import_edges;
mod import_tools;
mod lint;
mod output;
mod parity;
mod plans;
mod project;
mod rehearse;
mod repeatables;
mod round_trips;
mod rust_backfills;
mod rust_revisions;
mod session;
mod sets;
mod shipped;
mod squash;
mod squash_databases;
mod stopping;
mod test_from;
mod variables;
