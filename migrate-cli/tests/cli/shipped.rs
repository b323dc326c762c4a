//! What shipped stays as it shipped: `check --base GIT-REF` compares the
//! folder with the same folder at a commit of its git repository.

use crate::support::{fails, git, migrate, ok};
use std::path::Path;

fn revision(root: &Path, id: &str, parents: &str, name: &str, sql: &str) {
    std::fs::write(
        root.join("migrations").join(format!("{id}_{name}.sql")),
        format!("-- {name}\n--\n-- revision: {id}\n-- down_revision: {parents}\n\n-- migrate:upgrade\n{sql}\n"),
    )
    .unwrap();
}

/// A repository whose `main` holds a1 and b2, the folder one level down
/// (`db/migrations`), so paths inside the repository are tested too.
fn shipped() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("db");
    std::fs::create_dir_all(root.join("migrations")).unwrap();
    git(tmp.path(), &["init", "-q", "-b", "main"]);
    revision(&root, "a1", "", "one", "CREATE TABLE one (id INTEGER);");
    revision(&root, "b2", "a1", "two", "CREATE TABLE two (id INTEGER);");
    git(tmp.path(), &["add", "-A"]);
    git(tmp.path(), &["commit", "-q", "-m", "release 1"]);
    git(tmp.path(), &["tag", "v1"]);
    (tmp, root)
}

#[test]
fn an_edited_shipped_revision_is_refused_naming_the_commit() {
    let (_tmp, root) = shipped();
    let same = ok(&mut migrate(&root), &["check", "--base", "v1"]);
    assert!(
        same.contains("the 2 revision(s) of v1 (") && same.contains("are as they shipped"),
        "{same}"
    );
    revision(&root, "b2", "a1", "two", "CREATE TABLE two (id BIGINT);");
    let e = fails(&mut migrate(&root), &["check", "--base", "v1"], 1);
    assert!(e.contains("migrations/b2_two.sql"), "{e}");
    assert!(e.contains("revision `b2` was edited since v1 ("), "{e}");
    assert!(e.contains("new revision"), "{e}");
    // Committed, the edit is still one against the release.
    git(&root, &["commit", "-q", "-am", "edit b2"]);
    let e = fails(&mut migrate(&root), &["check", "--base", "v1"], 1);
    assert!(e.contains("edited since v1"), "{e}");
    // Against the commit that holds the edit, nothing has changed.
    ok(&mut migrate(&root), &["check", "--base", "HEAD"]);
}

#[test]
fn a_deleted_and_a_renamed_revision_are_refused() {
    let (_tmp, root) = shipped();
    std::fs::rename(
        root.join("migrations/b2_two.sql"),
        root.join("migrations/b2_second.sql"),
    )
    .unwrap();
    let e = fails(&mut migrate(&root), &["check", "--base", "v1"], 1);
    assert!(e.contains("shipped as `migrations/b2_two.sql`"), "{e}");
    assert!(e.contains("git mv"), "{e}");
    std::fs::remove_file(root.join("migrations/b2_second.sql")).unwrap();
    let e = fails(&mut migrate(&root), &["check", "--base", "v1"], 1);
    assert!(
        e.contains("revision `b2` shipped at v1") && e.contains("is gone"),
        "{e}"
    );
}

#[test]
fn revisions_added_on_a_branch_and_merged_pass() {
    let (_tmp, root) = shipped();
    git(&root, &["checkout", "-q", "-b", "feature"]);
    revision(&root, "c3", "b2", "three", "CREATE TABLE three (id INTEGER);");
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "c3"]);
    git(&root, &["checkout", "-q", "main"]);
    revision(&root, "d4", "b2", "four", "CREATE TABLE four (id INTEGER);");
    revision(&root, "e5", "c3, d4", "merge", "");
    git(&root, &["merge", "-q", "--no-edit", "feature"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "d4 and the merge"]);
    let passed = ok(&mut migrate(&root), &["check", "--base", "v1"]);
    assert!(passed.contains("the 2 revision(s) of v1 ("), "{passed}");
}

#[test]
fn an_unknown_reference_and_a_folder_outside_git_are_clear_errors() {
    let (_tmp, root) = shipped();
    let e = fails(&mut migrate(&root), &["check", "--base", "no-such-branch"], 1);
    assert!(e.contains("`no-such-branch` names no commit"), "{e}");
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir(outside.path().join("migrations")).unwrap();
    revision(outside.path(), "a1", "", "one", "CREATE TABLE one (id INTEGER);");
    let e = fails(&mut migrate(outside.path()), &["check", "--base", "main"], 1);
    assert!(e.contains("names no commit"), "{e}");
}

/// After `migrate squash`, the squashed revisions are gone from the folder
/// but not from the databases: the baseline stands for them, and `check
/// --base` of the release that shipped them passes; a repeatable edited
/// since is no shipped revision either (it is applied again by design).
#[test]
fn a_squash_and_an_edited_repeatable_pass_check_base() {
    let (_tmp, root) = shipped();
    revision(&root, "c3", "b2", "three", "CREATE TABLE three (id INTEGER);");
    std::fs::create_dir_all(root.join("migrations/repeatable")).unwrap();
    std::fs::write(
        root.join("migrations/repeatable/v.sql"),
        "-- a view\n-- migrate:upgrade\nDROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT id FROM one;\n",
    )
    .unwrap();
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "release 2"]);
    git(&root, &["tag", "v2"]);
    ok(
        &mut migrate(&root),
        &["squash", "--to", "b2", "--release", "v2", "--dialect", "sqlite"],
    );
    assert!(!root.join("migrations/a1_one.sql").exists());
    std::fs::write(
        root.join("migrations/repeatable/v.sql"),
        "-- a view\n-- migrate:upgrade\nDROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT id, 1 AS one FROM one;\n",
    )
    .unwrap();
    let passed = ok(&mut migrate(&root), &["check", "--base", "v2"]);
    assert!(passed.contains("are as they shipped"), "{passed}");
    // A revision that is gone without a baseline standing for it is still refused.
    std::fs::remove_file(root.join("migrations/c3_three.sql")).unwrap();
    let e = fails(&mut migrate(&root), &["check", "--base", "v2"], 1);
    assert!(
        e.contains("revision `c3` shipped at v2 (") && e.contains("is gone"),
        "{e}"
    );
    assert!(!e.contains("`a1`") && !e.contains("`b2`"), "{e}");
}
