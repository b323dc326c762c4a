//! The revision id of a file path that `revision`, `merge` or `squash`
//! prints, shared by the `cli` tests (through `support`) and
//! `alembic_histories.rs`.

/// The revision id of a file path printed by `revision` or `merge`.
pub fn id_of(path: &str) -> String {
    let name = path.trim().rsplit('/').next().unwrap();
    name.split(['_', '.']).next().unwrap().to_owned()
}
