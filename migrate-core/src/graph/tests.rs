//! The graph's tests: validation, order and the questions plans ask.

use super::*;
use crate::migration::MigrationParts;
use crate::testing::fixture;

/// Checks a topology: either its order (ids joined by spaces) or the
/// kinds and messages of its problems.
fn check(spec: &str, expect: &str) {
    let ms = fixture(spec);
    let got = match Graph::new(&ms) {
        Ok(g) => g.iter().map(Migration::revision).collect::<Vec<_>>().join(" "),
        Err(e) => e
            .iter()
            .map(|d| format!("{:?}: {}", d.kind, d.message))
            .collect::<Vec<_>>()
            .join("\n"),
    };
    assert_eq!(got, expect.trim(), "for graph:\n{spec}");
}

#[test]
fn depends_on_orders_siblings_without_merging_them() {
    // Without the dependency, `b`'s line would run first (file names).
    check("a <-\nb <- a\nc <- a\nm <- b, c", "a c b m");
    check("a <-\nb <- a; after c\nc <- a\nm <- b, c", "a c b m");
    check("a <-\nb <- a\nc <- a; after b\nm <- c, b", "a b c m");
    // Still two heads: a dependency is not a merge.
    let ms = fixture("a <-\nb <- a\nc <- a; after b");
    let e = Graph::new(&ms).unwrap_err();
    assert!(e.iter().any(|d| d.kind == DiagnosticKind::UnmergedHeads), "{e:?}");
}

#[test]
fn depends_on_closes_upgrades_and_downgrades() {
    let ms = fixture("a <-\nb <- a\nc <- a; after b\nm <- c, b");
    let g = Graph::new(&ms).unwrap();
    let ids = |set: Vec<bool>| -> String {
        (0..g.len())
            .filter(|&i| set[i])
            .map(|i| g.get(i).revision())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let at = |id: &str| g.position(id).unwrap();
    assert_eq!(ids(g.ancestors(at("c"))), "a b c", "an upgrade to c applies b");
    assert_eq!(ids(g.descendants(at("b"))), "b c m", "unapplying b unapplies c");
    assert_eq!(ids(g.above(at("a"))), "b c m");
    assert_eq!(ids(g.above(at("b"))), "m", "c depends on b, which stays");
    let applied = g.ancestors(at("c"));
    let heads: Vec<&str> = g.heads_of(&applied).iter().map(|&i| g.get(i).revision()).collect();
    assert_eq!(heads, ["c"], "b is needed by c: one head, as alembic_version holds it");
}

#[test]
fn depends_on_problems() {
    check(
        "a <-\nb <- a; after zz\nm <- b",
        "Dependency: depends_on `zz` of revision `b` names no revision of this folder",
    );
    check(
        "a <-\nb <- a; after c\nc <- b",
        "Cycle: the down_revision and depends_on links form a cycle: b -> c -> b (each revision is a down_revision or a depends_on of the next)",
    );
}

#[test]
fn linear() {
    check("c <- b\na <-\nb <- a", "a b c");
}

#[test]
fn empty_is_valid() {
    check("", "");
}

#[test]
fn diamond_merge_applies_its_first_parent_last() {
    check("a <-\nz <- a\nb <- a\nm <- z, b\nn <- m", "a b z m n");
    check("a <-\nz <- a\nb <- a\nm <- b, z\nn <- m", "a z b m n");
}

#[test]
fn unmerged_fork() {
    check(
        "a <-\nb <- a\nc <- b\nd <- b",
        "UnmergedHeads: the revision graph has 2 heads: `c` (migrations/c_m.sql), `d` (migrations/d_m.sql), forking from `b`",
    );
}

#[test]
fn unmerged_fork_help_names_the_merge() {
    let ms = fixture("a <-\nb <- a\nc <- a");
    let e = Graph::new(&ms).unwrap_err();
    let d = e.iter().next().unwrap();
    assert_eq!(d.file.as_deref(), Some("migrations/b_m.sql"));
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .contains("merge revision whose down_revision lists b, c")
    );
}

#[test]
fn two_roots_joined() {
    check("a <-\nb <-\nm <- a, b", "b a m");
    check(
        "x1 <-\nx2 <- x1\ny1 <-\nm1 <- x2, y1\nz1 <-\nm2 <- m1, z1\nt <- m2",
        "y1 z1 x1 x2 m1 m2 t",
    );
}

#[test]
fn stray_root() {
    check(
        "a <-\nb <- a\nc <- b\nx <-",
        "UnmergedHeads: the revision graph has 2 heads: `c` (migrations/c_m.sql), `x` (migrations/x_m.sql), with no common ancestor",
    );
    let ms = fixture("a <-\nb <- a\nc <- b\nx <-");
    let e = Graph::new(&ms).unwrap_err();
    let d = e.iter().next().unwrap();
    assert_eq!(d.file.as_deref(), Some("migrations/x_m.sql"), "the stray is named");
    assert_eq!(
        d.help.as_deref(),
        Some(
            "if `x` should follow the history, set its down_revision to `c`; if it starts an independent history, add a merge revision whose down_revision lists c, x (`migrate merge -m \"merge heads\"` writes it)"
        )
    );
}

#[test]
fn self_loop() {
    check(
        "a <-\nb <- b, a",
        "Cycle: revision `b` lists itself as its down_revision",
    );
}

#[test]
fn long_cycle() {
    check(
        "a <-\nb <- a, e\nc <- b\nd <- c\ne <- d",
        "Cycle: the down_revision links form a cycle: b -> c -> d -> e -> b (each revision is the down_revision of the next)",
    );
}

#[test]
fn all_in_a_cycle_has_no_root_but_reports_the_cycle() {
    check(
        "a <- b\nb <- a",
        "Cycle: the down_revision links form a cycle: a -> b -> a (each revision is the down_revision of the next)",
    );
}

#[test]
fn dangling_parent() {
    check(
        "a <-\nb <- a\nc <- bx",
        "DanglingParent: down_revision `bx` of revision `c` names no revision",
    );
}

#[test]
fn duplicate_revision() {
    let mut ms = fixture("a <-\nb <- a");
    let mut parts = MigrationParts {
        revision: "b".into(),
        down_revisions: vec!["a".into()],
        upgrade: "SELECT 2".into(),
        file: "migrations/b_other.sql".into(),
        ..Default::default()
    };
    ms.push(Migration::new(parts.clone()));
    let e = Graph::new(&ms).unwrap_err();
    let d: Vec<_> = e.iter().collect();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].kind, DiagnosticKind::DuplicateRevision);
    assert_eq!(
        d[0].file.as_deref(),
        Some("migrations/b_other.sql"),
        "the second file by name is reported"
    );
    assert!(d[0].message.contains("also defined in migrations/b_m.sql"));
    parts.file = "migrations/b_zzz.sql".into();
    assert!(Graph::new(&[ms[0].clone(), Migration::new(parts.clone()), Migration::new(parts)]).is_err());
}

#[test]
fn every_problem_at_once() {
    let ms = fixture("a <-\nb <- zz\nc <-\nd <- e\ne <- d\nf <- a\ng <- a");
    let e = Graph::new(&ms).unwrap_err();
    let mut kinds: Vec<_> = e.iter().map(|d| d.kind).collect();
    kinds.sort();
    assert_eq!(kinds, [DiagnosticKind::DanglingParent, DiagnosticKind::Cycle]);
}

#[test]
fn resolve_ids_and_prefixes() {
    let ms = fixture("abc1 <-\nabc2 <- abc1\nbcd <- abc2");
    let g = Graph::new(&ms).unwrap();
    assert_eq!(g.resolve("abc1"), Ok(0));
    assert_eq!(g.resolve("b"), Ok(2));
    assert_eq!(
        g.resolve("ab"),
        Err(TargetError::AmbiguousPrefix {
            prefix: "ab".into(),
            candidates: vec!["abc1".into(), "abc2".into()]
        })
    );
    assert_eq!(g.resolve("x"), Err(TargetError::UnknownRevision { id: "x".into() }));
}

#[test]
fn an_ordered_list_is_indexed_and_anything_else_analysed() {
    let ms = fixture("a <-\nb <- a\nc <- a\nm <- b, c");
    let full = Graph::new(&ms).unwrap();
    let ordered: Vec<Migration> = full.iter().cloned().collect();
    let fast = Graph::of_ordered(&ordered).unwrap();
    assert_eq!(
        fast.iter().map(Migration::revision).collect::<Vec<_>>(),
        full.iter().map(Migration::revision).collect::<Vec<_>>()
    );
    assert_eq!(fast.children(0), full.children(0));
    assert_eq!(fast.parents(3), full.parents(3));
    // Out of order, in another topological order, forked, or cyclic: the full analysis speaks.
    let backwards: Vec<Migration> = ordered.iter().rev().cloned().collect();
    assert_eq!(
        Graph::of_ordered(&backwards)
            .unwrap()
            .iter()
            .map(Migration::revision)
            .collect::<Vec<_>>(),
        ["a", "c", "b", "m"]
    );
    let other = fixture("a <-\nb <- a\nc <- a\nm <- b, c");
    assert_eq!(
        Graph::of_ordered(&other)
            .unwrap()
            .iter()
            .map(Migration::revision)
            .collect::<Vec<_>>(),
        ["a", "c", "b", "m"]
    );
    assert!(Graph::of_ordered(&fixture("a <-\nb <- a\nc <- a")).is_err());
    assert!(Graph::of_ordered(&fixture("a <- b\nb <- a")).is_err());
}

#[test]
fn questions_about_a_forked_list() {
    let ms = fixture("a <-\nb <- a\nc1 <- b\nc2 <- b");
    let head_ids: Vec<&str> = heads(&ms).into_iter().map(Migration::revision).collect();
    assert_eq!(head_ids, ["c1", "c2"]);
    assert_eq!(children(&ms, "b"), ["c1", "c2"]);
    assert_eq!(children(&ms, "c1"), Vec::<&str>::new());
    assert_eq!(find(&ms, "a").map(Migration::revision), Ok("a"));
    assert_eq!(find(&ms, "c2").map(Migration::revision), Ok("c2"));
    assert_eq!(
        find(&ms, "head"),
        Err(TargetError::AmbiguousHead {
            heads: vec!["c1".into(), "c2".into()]
        })
    );
    assert_eq!(
        find(&ms, "c"),
        Err(TargetError::AmbiguousPrefix {
            prefix: "c".into(),
            candidates: vec!["c1".into(), "c2".into()]
        })
    );
    let linear = fixture("a <-\nb <- a");
    assert_eq!(find(&linear, "head").map(Migration::revision), Ok("b"));
    assert_eq!(
        find(&[], "head"),
        Err(TargetError::UnknownRevision { id: "head".into() })
    );
}

#[test]
fn heads_of_applied_set() {
    let ms = fixture("a <-\nb <- a\nc <- a\nm <- b, c");
    let g = Graph::new(&ms).unwrap();
    let ids = |v: Vec<usize>| v.into_iter().map(|i| g.get(i).revision()).collect::<Vec<_>>();
    assert_eq!(ids(g.heads_of(&[true, true, true, false])), ["c", "b"]);
    assert_eq!(ids(g.heads_of(&[true, true, true, true])), ["m"]);
    assert_eq!(ids(g.heads_of(&[false; 4])), Vec::<&str>::new());
}
