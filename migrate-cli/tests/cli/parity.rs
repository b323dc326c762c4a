//! The command line and `embed_migrations!` see the same thing: the list
//! loaded from a folder at run time equals the embedded one, and `check`
//! prints the diagnostics of the failed build.

use crate::support::{fails, migrate, ok, repo};
use migrate::{Migration, Migrations};

fn same(embedded: &Migrations, folder: &str) {
    // The path as the macro resolved it: relative to the package root
    // (migrate-cli/), which is where integration tests run.
    let loaded = migrate::load(folder).expect("the folder is valid");
    let fields = |m: &Migration| {
        (
            m.revision().to_owned(),
            m.down_revisions().map(str::to_owned).collect::<Vec<_>>(),
            m.message().to_owned(),
            m.checksum(),
            m.upgrade_sql().to_owned(),
            m.downgrade_sql().map(str::to_owned),
            m.no_transaction(),
            m.file().to_owned(),
        )
    };
    let a: Vec<_> = embedded.iter().map(fields).collect();
    let b: Vec<_> = loaded.iter().map(fields).collect();
    assert!(!a.is_empty());
    assert_eq!(a, b, "{folder}");
    // A squash baseline's replaced ids and each squash's release and point.
    let squash = |m: &Migration| {
        (
            m.replaces().map(str::to_owned).collect::<Vec<_>>(),
            m.squashed().map(str::to_owned),
            m.squash_groups()
                .map(|(r, p)| (r.to_owned(), p.to_owned()))
                .collect::<Vec<_>>(),
        )
    };
    let a: Vec<_> = embedded.iter().map(squash).collect();
    let b: Vec<_> = loaded.iter().map(squash).collect();
    assert_eq!(a, b, "{folder}");
    // The repeatables, in the order they are applied, with what orders them.
    let repeatable = |m: &Migration| (fields(m), m.runs_after().map(str::to_owned).collect::<Vec<_>>());
    let a: Vec<_> = embedded.repeatables().iter().map(repeatable).collect();
    let b: Vec<_> = loaded.repeatables().iter().map(repeatable).collect();
    assert_eq!(a, b, "{folder}: repeatables");
    assert_eq!(embedded.applied_digest(), loaded.applied_digest(), "{folder}");
}

#[test]
fn loaded_list_equals_embedded_list() {
    static MERGE: Migrations = migrate::embed_migrations!("../tests/fixtures/merge");
    static LINEAR: Migrations = migrate::embed_migrations!("../tests/fixtures/linear");
    static IRREVERSIBLE: Migrations = migrate::embed_migrations!("../tests/fixtures/irreversible");
    static NO_TRANSACTION: Migrations = migrate::embed_migrations!("../tests/fixtures/no_transaction/postgres");
    static CHAIN: Migrations = migrate::embed_migrations!("../migrations");
    static REPEATABLES: Migrations = migrate::embed_migrations!("../tests/fixtures/repeatables/v2");
    static SQUASHED_TWICE: Migrations = migrate::embed_migrations!("../tests/fixtures/squashed_twice");
    same(&MERGE, "../tests/fixtures/merge");
    same(&LINEAR, "../tests/fixtures/linear");
    same(&IRREVERSIBLE, "../tests/fixtures/irreversible");
    same(&NO_TRANSACTION, "../tests/fixtures/no_transaction/postgres");
    same(&CHAIN, "../migrations");
    same(&REPEATABLES, "../tests/fixtures/repeatables/v2");
    same(&SQUASHED_TWICE, "../tests/fixtures/squashed_twice");
    let baseline = SQUASHED_TWICE.get("8a0c41d2e6f7").expect("the baseline");
    assert_eq!(baseline.squashed(), Some("v2.0"));
    assert_eq!(baseline.squash_groups().collect::<Vec<_>>(), [("v1.0", "2000bb")]);
    // Dependency first (`a_count` needs `active`), then names.
    let order: Vec<&str> = REPEATABLES.repeatables().iter().map(|m| m.revision()).collect();
    assert_eq!(order, ["repeatable:active", "repeatable:a_count", "repeatable:total"]);

    // Through the binary: every revision, its checksum and its SQL, as `show` prints them.
    for m in MERGE.iter() {
        let shown = ok(
            &mut migrate(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))),
            &["show", m.revision(), "--dir", "../tests/fixtures/merge"],
        );
        assert!(shown.contains(&format!("Checksum: {}\n", m.checksum())), "{shown}");
        assert!(
            shown.contains(&format!("-- migrate:upgrade\n{}\n", m.upgrade_sql())),
            "{shown}"
        );
        assert!(shown.contains(&format!("Path: {}\n", m.file())), "{shown}");
    }
}

/// The `error:`, `-->` and `= help:` lines of each diagnostic in a trybuild
/// snapshot, without the pointer at the macro call that rustc adds.
fn snapshot_lines(stderr: &str) -> Vec<String> {
    stderr
        .split("\n\n")
        .flat_map(|block| {
            block
                .lines()
                .take_while(|l| !l.starts_with(" --> tests/ui/"))
                .map(|l| l.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn check_prints_what_the_failed_build_prints() {
    let mut compared = 0;
    for category in ["file", "folder", "graph"] {
        let dir = repo().join("tests/ui").join(category);
        let mut cases: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "stderr"))
            .collect();
        cases.sort();
        for case in cases {
            let source = std::fs::read_to_string(case.with_extension("rs")).unwrap();
            let folder = source.split('"').nth(1).expect("the macro's literal");
            let want = snapshot_lines(&std::fs::read_to_string(&case).unwrap());
            let said = fails(&mut migrate(&repo()), &["check", "--dir", folder], 1);
            let mut got: Vec<String> = said
                .lines()
                .map(|l| l.trim().to_owned())
                .filter(|l| !l.is_empty())
                .collect();
            if got.len() > 1
                && got
                    .last()
                    .is_some_and(|l| l.starts_with("error: ") && l.contains(" problems in "))
            {
                got.pop();
            }
            assert_eq!(got, want, "{}", case.display());
            compared += 1;
        }
    }
    assert!(compared >= 10, "only {compared} snapshots compared");
    // A valid folder passes.
    let said = ok(&mut migrate(&repo()), &["check", "--dir", "tests/ui/pass/valid"]);
    assert_eq!(said, "tests/ui/pass/valid: 4 revision(s), head m: ok\n");
}
