//! Targets and usage: what names no revision, or is no command.

use super::*;

#[test]
fn unknown_target_and_ambiguous_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let url = sqlite_url(tmp.path());
    let m = || {
        let mut cmd = migrate(&repo());
        cmd.args(["--dir", "tests/fixtures/merge", "--database-url", &url]);
        cmd
    };
    let e = fails(&mut m(), &["upgrade", "zz"], 1);
    assert_eq!(
        e,
        "error: no revision matches `zz`; `migrate history` lists the revisions\n"
    );
    let e = fails(&mut m(), &["upgrade", "b"], 1);
    assert_eq!(
        e,
        "error: `b` is ambiguous: it starts b10001, b20001; give more characters\n"
    );
    let e = fails(&mut m(), &["show", "b"], 1);
    assert!(e.contains("`b` is ambiguous"), "{e}");
    let e = fails(&mut m(), &["upgrade", "nota+target"], 1);
    assert!(e.starts_with("error: `nota+target` is not a target"), "{e}");
    let e = fails(&mut m(), &["downgrade", "+1"], 1);
    assert!(e.contains("`+1` is an upgrade target"), "{e}");
    let e = fails(&mut m(), &["upgrade", "--sql", "--dialect", "sqlite", "b:head"], 1);
    assert!(e.contains("`b` is ambiguous"), "{e}");
}

#[test]
fn usage_errors_exit_2() {
    let m = || migrate(&repo());
    let e = fails(&mut m(), &["upgrade", "--bogus"], 2);
    assert!(e.contains("--bogus"), "{e}");
    fails(&mut m(), &["frobnicate"], 2);
    fails(&mut m(), &["revision"], 2);
    fails(&mut m(), &["resolve", "abc"], 2);
    fails(&mut m(), &["current", "--dialect", "oracle"], 2);
    let e = fails(&mut m(), &["downgrade", "--sql", "--dialect", "sqlite", "base"], 2);
    assert!(e.contains("needs a FROM:TO range (e.g. `head:base`)"), "{e}");
    let e = fails(
        &mut m(),
        &["upgrade", "base:head", "--database-url", "sqlite::memory:"],
        2,
    );
    assert!(e.contains("only offline scripts take: add --sql"), "{e}");
    let e = fails(&mut m(), &["upgrade", "--sql"], 1);
    assert!(e.contains("an offline script needs a dialect"), "{e}");
}

#[test]
fn alembics_heads_is_accepted_and_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let url = sqlite_url(tmp.path());
    let r = crate::support::run(
        &mut migrate(&repo()),
        &[
            "upgrade",
            "heads",
            "--dir",
            "tests/fixtures/linear",
            "--database-url",
            &url,
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("`heads` is every head"), "{r:?}");
    let current = crate::support::ok(
        &mut migrate(&repo()),
        &["current", "--dir", "tests/fixtures/linear", "--database-url", &url],
    );
    assert_eq!(current, "4000dd (head)\n");
}
