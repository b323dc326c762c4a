//! Compile-time checks of `embed_migrations!`, `revisions!` (`revisions/`) and `#[migrate::test]`
//! (`test_attr/`), grouped by the mistake:
//! `tests/ui/<category>/<case>.rs`, each with its fixture folder beside it.
//! Regenerate the `.stderr` snapshots with `TRYBUILD=overwrite` and read the diff.

use std::path::Path;

/// trybuild compiles each case in its own project under the target
/// directory, where the macro resolves paths against that project's
/// `CARGO_MANIFEST_DIR`. Link the project's `tests` to ours so the
/// fixture folders resolve exactly as they would in a user's crate.
fn link_fixtures() {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent");
    let project = target.join("tests").join("trybuild").join(env!("CARGO_PKG_NAME"));
    std::fs::create_dir_all(&project).expect("create the trybuild project folder");
    let link = project.join("tests");
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    if std::fs::read_link(&link).ok().as_deref() != Some(ours.as_path()) {
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&ours, &link).expect("link the fixtures into the trybuild project");
    }
}

#[test]
fn ui() {
    link_fixtures();
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/graph/*.rs");
    t.compile_fail("tests/ui/file/*.rs");
    t.compile_fail("tests/ui/folder/*.rs");
    t.compile_fail("tests/ui/usage/*.rs");
    t.compile_fail("tests/ui/rust/*.rs");
    t.compile_fail("tests/ui/test_attr/*.rs");
    t.compile_fail("tests/ui/revisions/*.rs");
}
