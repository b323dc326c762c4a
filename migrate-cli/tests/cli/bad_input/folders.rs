//! Migration folders and the files the tool writes into them.

use super::*;

#[test]
fn broken_folders_stop_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let e = fails(
        &mut migrate(tmp.path()),
        &["upgrade", "head", "--database-url", "sqlite::memory:"],
        1,
    );
    assert!(
        e.starts_with("error: cannot read the migrations folder `migrations`"),
        "{e}"
    );
    assert!(e.contains("= help: create it (`migrate init migrations`)"), "{e}");
    let e = fails(
        &mut migrate(&repo()),
        &["revision", "-m", "x", "--dir", "tests/ui/graph/cycle"],
        1,
    );
    assert!(e.contains("form a cycle"), "{e}");
}

#[test]
fn a_message_that_reads_as_a_header_line_writes_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("migrations")).unwrap();
    for message in [
        "revision: x",
        "down_revision: abc",
        "created: today",
        "migrate: upgrade",
    ] {
        let e = fails(&mut migrate(tmp.path()), &["revision", "-m", message], 2);
        assert!(
            e.contains("would be read as part of the file's header"),
            "{message}: {e}"
        );
    }
    let left = std::fs::read_dir(tmp.path().join("migrations")).unwrap().count();
    assert_eq!(left, 0, "no file was written");
    // Messages that merely mention those words are fine, and check accepts what was written.
    crate::support::ok(
        &mut migrate(tmp.path()),
        &["revision", "-m", "store the revision: history"],
    );
    crate::support::ok(&mut migrate(tmp.path()), &["check"]);
}
